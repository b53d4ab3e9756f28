/* fault_point.h — named fault points for the fault-injection tests.
 *
 * A call site names the step it is about to take:
 *
 *   if (FAULT_POINT("valkey.replicaof") != 0)
 *       return fail("fault injected");
 *
 * In the release build FAULT_POINT(name) is the constant 0 and no code is compiled in. In the
 * test build (CMake option GUNGNIR_FAULT_POINTS=ON) it calls fault_point_hit, which reads two
 * environment variables once, at the first hit:
 *
 *   GUNGNIR_FAULT=<name>:<n>:<action>   at the n-th hit (1-based) of point <name>:
 *                                       exit  — the process ends at once (_exit 86), as a crash;
 *                                       hang  — the calling thread sleeps for ever;
 *                                       fail  — this one call returns -1 (the step fails).
 *   GUNGNIR_FAULT_TRACE=<file>          every hit of every point appends "<name> <k>\n" (k: the
 *                                       hit's number for that name) to <file>, so a test can
 *                                       list the points a scenario reaches.
 *
 * Points are named "<layer>.<what>": "api.<verb>.<resource>[.<subresource>]" for each API write
 * (kube_api.c) and "valkey.<command>" for each Valkey command that changes a server
 * (valkey_node.c). Thread-safe. */
#ifndef GUNGNIR_FAULT_POINT_H
#define GUNGNIR_FAULT_POINT_H

#include <stddef.h>

#define FAULT_POINT_NAME_MAX 128

/* Counts a hit of point name; acts when GUNGNIR_FAULT names this hit. Returns 0 (go on) or -1
 * (the "fail" action: the caller fails this one call). Does not return for "exit" and "hang". */
int fault_point_hit(const char *name);

/* The fault point of an API write: "api.<verb>.<resource>[.<subresource>]" from the request's
 * method ("PATCH" -> "patch") and path ("/api/v1/namespaces/x/pods/p?..." -> "pods",
 * ".../valkeyclusters/c/status" -> "valkeyclusters.status"). Writes the name into buf
 * (truncated to size) and returns buf. */
char *fault_point_api_name(char *buf, size_t size, const char *method, const char *path);

/* Forgets the parsed environment and every count (tests only; not thread-safe). */
void fault_point_reset(void);

#ifdef GUNGNIR_FAULT_POINTS
#define FAULT_POINT(name) (fault_point_hit(name))
#else
#define FAULT_POINT(name) ((void)(name), 0)
#endif

#endif
