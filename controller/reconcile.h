/* reconcile.h — brings one ValkeyCluster's world to its spec, as controller-runtime's Reconcile:
 * read from the informers' caches, compare with the desired objects, write only what differs
 * (server-side apply, field manager "gungnir"), manage replication roles, write status.
 * A reconcile that finds nothing to change makes no write call.
 *
 * It is the list of its steps, each a module of its own: owned_objects (desired state, compare,
 * apply), failover_glue (monitor verdict -> failover engine, fencing), roles (first election,
 * replica attach, labels), planned_moves (switchover, scale-down of the primary, rolling
 * update), and the status written through cluster_writes. */
#ifndef GUNGNIR_RECONCILE_H
#define GUNGNIR_RECONCILE_H

#include "cluster_ctx.h"

#include <stdint.h>

enum reconcile_kind { RECONCILE_DONE, RECONCILE_REQUEUE_AFTER, RECONCILE_ERROR };

struct reconcile_result {
    enum reconcile_kind kind;
    int64_t after_ms; /* RECONCILE_REQUEUE_AFTER */
    char err[256];    /* RECONCILE_ERROR: why (the work queue retries with backoff) */
};

#define RECONCILE_WAITING_MS 2000 /* requeue while the cluster is not settled */
#define RECONCILE_RESYNC_MS 30000 /* requeue of a settled cluster */

/* Reconciles namespace/name once. Writes go through env->api (env->api->writes counts them). */
struct reconcile_result reconcile_cluster(struct reconcile_env *env, const char *namespace_,
                                          const char *name);

#endif
