/* reconcile.h — brings one ValkeyCluster's world to its spec, as controller-runtime's Reconcile:
 * read from the informers' caches, compare with the desired objects, write only what differs
 * (server-side apply, field manager "gungnir"), manage replication roles, write status.
 * A reconcile that finds nothing to change makes no write call. */
#ifndef GUNGNIR_RECONCILE_H
#define GUNGNIR_RECONCILE_H

#include "informer.h"
#include "kube_client.h"
#include "monitor.h"
#include "prober.h"

#include <stdint.h>

enum reconcile_kind { RECONCILE_DONE, RECONCILE_REQUEUE_AFTER, RECONCILE_ERROR };

struct reconcile_result {
    enum reconcile_kind kind;
    int64_t after_ms; /* RECONCILE_REQUEUE_AFTER */
    char err[256];    /* RECONCILE_ERROR: why (the work queue retries with backoff) */
};

/* What reconciles read and write through. Informers are shared by all workers; the client is
 * the calling worker's own. */
struct reconcile_env {
    struct kube_client *client;
    struct informer *clusters, *pods, *statefulsets, *services, *configmaps, *secrets, *pdbs;
    const char *pdb_api_version; /* "policy/v1" or "policy/v1beta1" */
    const char *pdb_path;        /* "/apis/policy/v1" or "/apis/policy/v1beta1" */
    long valkey_timeout_ms;      /* bound of each command to a pod's server */
    struct monitor *monitor;     /* says when a primary is down (may be NULL) */
    struct prober *prober;       /* the worker's own, for probing a cluster's pods at once */
    unsigned long writes;        /* write calls made (a counter for tests and metrics) */
};

/* Reconciles namespace/name once. */
struct reconcile_result reconcile_cluster(struct reconcile_env *env, const char *namespace_,
                                          const char *name);

#endif
