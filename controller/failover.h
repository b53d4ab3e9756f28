/* failover.h — promoting a replica when the primary is down: the engine, free of Kubernetes.
 *
 * The caller gives the nodes as its last probes saw them; the engine selects the candidate
 * (failover_select.h), then — record, then act — asks the caller to record the attempt (for the
 * controller: status.failover with a new epoch, written with the resourceVersion it read, so a
 * 409 means someone else acted and the attempt stops), removes the old primary's role, runs
 * REPLICAOF NO ONE on the candidate, repoints every other reachable node at it, gives the
 * candidate the primary role and the others the replica role, and reports the outcome. Every
 * command to a server is bounded by timeout_ms. The old primary is not touched: it is fenced
 * when it answers again (made a replica of the new primary before it gets a role back). */
#ifndef GUNGNIR_FAILOVER_H
#define GUNGNIR_FAILOVER_H

#include "valkey_info.h"

#include "fence.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAILOVER_NAME_MAX 64
#define FAILOVER_HOST_MAX 64
#define FAILOVER_NODES_MAX 128

struct failover_node {
    char name[FAILOVER_NAME_MAX]; /* pod name */
    char host[FAILOVER_HOST_MAX]; /* IP address */
    int port;
    int64_t priority;
    bool reachable;               /* answered its last probe */
    struct valkey_info info;      /* that probe's INFO */
};

/* Hooks into the caller; ctx is the plan's. Each returns 0, or non-zero to stop. */
struct failover_hooks {
    /* Before anything changes: record that epoch promotes candidate in place of from. */
    int (*record)(void *ctx, long long epoch, const char *from, const char *candidate);
    /* Give pod the role "primary" or "replica", or none (role NULL). */
    int (*set_role)(void *ctx, const char *pod, const char *role);
    /* The end of an attempt that was recorded: ok, or why not. */
    void (*finish)(void *ctx, long long epoch, const char *from, const char *to, long duration_ms,
                   bool ok, const char *why);
};

struct failover_plan {
    const struct failover_node *nodes;
    size_t n;
    int old_primary;          /* index in nodes, or -1 when the old primary is gone */
    long long epoch;          /* the new epoch (the last one + 1) */
    long long max_lag_bytes;  /* 0: no limit */
    const char *password;     /* NULL or "" for none */
    long timeout_ms;          /* bound of each server command */
    const struct fence *fence; /* closed: stop (the Lease is lost); NULL: never */
    const struct failover_hooks *hooks;
    void *ctx;
};

/* Runs one attempt. Returns the index of the promoted node, or -1 with why in err: no eligible
 * replica (nothing was recorded or changed), the record hook refused (someone else acted), or
 * the candidate could not be promoted (recorded; finish reports it). */
int failover_run(const struct failover_plan *plan, char *err, size_t errlen);

#endif
