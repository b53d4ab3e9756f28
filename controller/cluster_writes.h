/* cluster_writes.h — the writes a reconcile makes for one ValkeyCluster, each one request
 * through env->api (kube_api.h): server-side apply, a pod's role label, an Event, a status
 * patch, a pod deletion, the switchover annotation's removal. Every failure is logged here
 * with what was being written; the return value lets the step decide what comes next. */
#ifndef GUNGNIR_CLUSTER_WRITES_H
#define GUNGNIR_CLUSTER_WRITES_H

#include "cluster_ctx.h"
#include "cluster_status.h"

#include <jansson.h>
#include <stddef.h>

/* Server-side apply of obj (borrowed) into collection. Returns 0, or -1 with err set. */
int cluster_apply(struct cluster_ctx *c, const char *collection, const json_t *obj, char *err, size_t errlen);

/* Sets p's gungnir.dev/role label to role (NULL removes it) when it differs, and p->role with
 * it. Returns 0 (also when nothing had to change), or -1. */
int cluster_label_pod(struct cluster_ctx *c, struct pod_view *p, const char *role);

/* Records an Event on the ValkeyCluster (type "Normal" or "Warning") and logs its message. A
 * failed Event is logged, never fatal. */
void cluster_event(struct cluster_ctx *c, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A Warning Event with reason and message, unless the cached status already reports message
 * in its Degraded condition or this process warned of it last for this cluster and reason (so a
 * problem that lasts is said once, not every reconcile, even while the cache lags). */
void cluster_warn_once(struct cluster_ctx *c, const char *reason, const char *message);

/* True when key was the last thing warned about for (c, reason) by this process; remembers key
 * otherwise. For a warning said once while a problem lasts (cluster_warn_once uses it with the
 * message as key). */
bool cluster_warned_before(const struct cluster_ctx *c, const char *reason, const char *key);

/* Forgets the warnings of cluster namespace/name (it was deleted). */
void cluster_forget_warnings(const char *namespace_, const char *name);

/* Merge patch of the status subresource with {"status": status} (status is stolen). With rv,
 * the write only succeeds on that resourceVersion (409 otherwise). Returns the HTTP code or -1. */
long cluster_patch_status(struct cluster_ctx *c, json_t *status, const char *rv);

/* Writes the status that facts imply when it says something the cached status does not.
 * Returns 0 (written, or nothing to write) or -1 (logged). */
int cluster_write_status(struct cluster_ctx *c, const struct status_facts *facts);

/* The status for a cluster that cannot progress: phase and conditions from why, as facts
 * (generation, selector and replicas from c) would. Returns as cluster_write_status. */
int cluster_write_blocked(struct cluster_ctx *c, const char *why);

/* Deletes p's pod, after reading it again from the API server: only the pod p saw (by uid),
 * and not when it is already being deleted. Returns 0 when deleted now, 1 when it was already
 * going, gone or replaced (nothing done), -1 on an API error (logged). */
int cluster_delete_pod(struct cluster_ctx *c, const struct pod_view *p);

/* Removes the gungnir.dev/switchover-to annotation from the ValkeyCluster. Returns 0 or -1. */
int cluster_clear_switchover_request(struct cluster_ctx *c);

#endif
