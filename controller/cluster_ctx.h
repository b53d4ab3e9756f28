/* cluster_ctx.h — one ValkeyCluster as one reconcile sees it: the world it reads and writes
 * through (reconcile_env), the defaulted spec, its pods with what their servers answered, and
 * what blocks it. Every reconcile step (owned_objects, roles, planned_moves, failover_glue)
 * takes a cluster_ctx; the queries here are the ones they share.
 *
 * Lifetime: reconcile_cluster fills one per call and frees it at the end; the strings and
 * json_t pointers in it are borrowed from the objects that call holds. */
#ifndef GUNGNIR_CLUSTER_CTX_H
#define GUNGNIR_CLUSTER_CTX_H

#include "failover.h"
#include "informer.h"
#include "kube_api.h"
#include "monitor.h"
#include "prober.h"
#include "valkey_info.h"
#include "valkey_node.h"
#include "vkc_spec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CLUSTER_PASSWORD_LEN 256
#define CLUSTER_PATH_LEN 512

/* What reconciles read and write through. The informers' caches are shared by all workers;
 * api and prober are the calling worker's own. */
struct reconcile_env {
    struct kube_api *api;
    struct informer *clusters, *pods, *statefulsets, *services, *configmaps, *secrets, *pdbs;
    const char *pdb_api_version; /* "policy/v1" or "policy/v1beta1" */
    const char *pdb_path;        /* "/apis/policy/v1" or "/apis/policy/v1beta1" */
    long valkey_timeout_ms;      /* bound of each command to a pod's server */
    struct monitor *monitor;     /* says when a primary is down (may be NULL) */
    struct prober *prober;       /* for probing a cluster's pods at once (may be NULL: none probed) */
    const struct fence *fence;   /* closed while this process may not act (not the leader): every
                                    Valkey command then fails at once; NULL: never fenced */
};

/* One pod of the cluster. */
struct pod_view {
    const json_t *obj;    /* borrowed from the pods list */
    const char *name;
    const char *ip;
    const char *role;     /* the gungnir.dev/role label or NULL */
    const char *revision; /* the controller-revision-hash label (the template it runs) */
    long ordinal;
    bool ready;
    bool deleting;
    bool probed;          /* its server answered INFO in this reconcile: info is valid */
    bool auth_refused;    /* its server answered, refusing the cluster's password */
    struct valkey_info info;
};

struct cluster_ctx {
    struct reconcile_env *env;
    const char *ns, *name, *uid;
    const json_t *vkc;   /* the ValkeyCluster as cached (borrowed) */
    struct vkc_spec spec; /* its defaulted, validated spec */
    char password[CLUSTER_PASSWORD_LEN];
    struct pod_view *pods; /* by ordinal; owned (cluster_ctx_release) */
    size_t npods;
    char blocked[384];   /* why the cluster cannot progress (e.g. no replica to promote), or "" */
    char refused[1024];  /* why the newest spec is refused while the last valid one runs, or "" */
    char down_primary[FAILOVER_NAME_MAX]; /* the primary that is down with no one to replace it */
};

/* The string at obj.a (b NULL) or obj.a.b, borrowed; NULL when absent or not a string. */
const char *cluster_str_at(const json_t *obj, const char *a, const char *b);

/* Fills c->pods from list (a pods array, borrowed and kept alive by the caller) with the pods
 * of this cluster's StatefulSet (<name>-<ordinal>), sorted by ordinal. Returns 0, or -1 when
 * out of memory. */
int cluster_ctx_load_pods(struct cluster_ctx *c, const json_t *list);

/* Frees what c owns (not c). */
void cluster_ctx_release(struct cluster_ctx *c);

/* Ready, not being deleted, and with an IP: worth talking to. */
bool cluster_pod_usable(const struct pod_view *p);

/* True while this process may not act on the cluster (env->fence is closed: not the leader). */
bool cluster_fenced(const struct cluster_ctx *c);

/* INFO of every usable pod at once into p->info (p->probed says which answered; p->auth_refused
 * which refused the password: the Secret changed under a running cluster, see
 * password_rotation.h). */
void cluster_probe_pods(struct cluster_ctx *c);

/* The pod called name, or NULL (name may be NULL). */
struct pod_view *cluster_pod_named(struct cluster_ctx *c, const char *name);

/* The pod labelled primary, or NULL. */
struct pod_view *cluster_labelled_primary(struct cluster_ctx *c);

/* The best pod to lead among those probed, other than exclude, with ordinal < max_ordinal
 * (failover_select's order: priority, then offset, then name). NULL when none is eligible. */
struct pod_view *cluster_best_candidate(struct cluster_ctx *c, const struct pod_view *exclude,
                                        long max_ordinal);

/* A blocking connection to the pod's server with the cluster's password, or NULL (logged).
 * Free with valkey_node_free. */
struct valkey_node *cluster_connect_pod(struct cluster_ctx *c, const struct pod_view *p);

/* "/apis/gungnir.dev/v1alpha1/namespaces/<ns>/valkeyclusters/<name>" + suffix into buf. */
void cluster_self_path(const struct cluster_ctx *c, const char *suffix, char *buf, size_t size);

#endif
