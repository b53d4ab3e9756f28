/* controller.c — see controller.h. */
#include "controller.h"
#include "clock.h"
#include "informer.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "leader.h"
#include "log.h"
#include "monitor.h"
#include "prober.h"
#include "metrics.h"
#include "reconcile.h"
#include "vkc_spec.h"
#include "workqueue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Distinct ValkeyClusters queued at once (one key each). The tables are calloc'ed, so pages
 * that are never touched cost nothing; a cluster refused by a full queue is counted in
 * gungnir_workqueue_dropped_total and logged, and the 30 s resync of the others frees room. */
#define QUEUE_CAPACITY 100000
#define WORKERS_MAX 64
#define OWNED_SELECTOR "app.kubernetes.io/managed-by=gungnir"

enum { INF_CLUSTERS, INF_PODS, INF_STATEFULSETS, INF_SERVICES, INF_CONFIGMAPS, INF_SECRETS, INF_PDBS, INF_COUNT };

/* Metrics (registered once per process; the registry returns the same series again). */
static metrics_series *m_reconciles[3], *m_writes, *m_duration, *m_leader, *m_queue, *m_dropped;

static void register_metrics(void)
{
    static const double bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15};
    static const char *const results[] = {"done", "requeue", "error"};
    char labels[64];
    for (int i = 0; i < 3; i++) {
        snprintf(labels, sizeof(labels), "result=\"%s\"", results[i]);
        m_reconciles[i] = metrics_counter("gungnir_controller_reconciles_total", "Reconciles of ValkeyClusters by result.", labels);
    }
    m_writes = metrics_counter("gungnir_controller_api_writes_total",
                               "Write calls (apply, create, patch, events, status) made to the API server.", NULL);
    m_duration = metrics_histogram("gungnir_controller_reconcile_duration_seconds", "Time one reconcile takes.",
                                   NULL, bounds, sizeof(bounds) / sizeof(bounds[0]));
    m_dropped = metrics_counter("gungnir_workqueue_dropped_total",
                                "Events of ValkeyClusters dropped because the work queue was full.", NULL);
    m_leader = metrics_gauge("gungnir_controller_leader", "1 while this process leads and may write.", NULL);
    m_queue = metrics_gauge("gungnir_controller_workqueue_depth", "ValkeyClusters ready to be reconciled.", NULL);
}

struct controller {
    struct kube_config kc;
    struct kube_client_options opts;
    workqueue *queue;
    struct informer *inf[INF_COUNT];
    struct leader *leader;
    struct monitor *monitor;
    char pdb_version[32], pdb_path[48];
    pthread_t workers[WORKERS_MAX];
    int nworkers;
    struct fence never_fenced; /* the fence when there is no election: open for good */
};

/* Queues a cluster's key; a full queue is counted and said, never silent. (A key already queued
 * or being processed holds its place, so only a new key can be refused.) */
static void queue_cluster(struct controller *c, const char *key)
{
    if (workqueue_add(c->queue, key) != 0) {
        metrics_inc(m_dropped);
        log_write(LOG_ERROR, "work queue full: this cluster's event is dropped until its next event", "valkeycluster",
                  key, NULL);
    }
}

/* Maps an event on any watched object to the ValkeyCluster it belongs to, and queues that. */
static void on_event(void *ctx, enum informer_event ev, const json_t *obj)
{
    struct controller *c = ctx;
    const json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *owner = NULL;
    char key[WORKQUEUE_KEY_MAX];
    (void)ev;

    if (!ns)
        return;
    if (kind && strcmp(kind, VKC_KIND) == 0) {
        owner = json_string_value(json_object_get(md, "name"));
    } else {
        size_t i;
        const json_t *r;
        json_array_foreach(json_object_get(md, "ownerReferences"), i, r)
        {
            const char *k = json_string_value(json_object_get(r, "kind"));
            if (k && strcmp(k, VKC_KIND) == 0 && json_is_true(json_object_get(r, "controller")))
                owner = json_string_value(json_object_get(r, "name"));
        }
        if (!owner) /* pods are owned by the StatefulSet: use their instance label */
            owner = json_string_value(json_object_get(json_object_get(md, "labels"), "app.kubernetes.io/instance"));
    }
    if (!owner)
        return;
    snprintf(key, sizeof(key), "%s/%s", ns, owner);
    queue_cluster(c, key);
}

static void *worker_main(void *arg)
{
    struct controller *c = arg;
    char err[256], key[WORKQUEUE_KEY_MAX];
    struct kube_client *client = kube_client_new(&c->opts, err, sizeof(err));
    if (!client) {
        log_write(LOG_ERROR, "worker cannot make a kube client", "error", err, NULL);
        return NULL;
    }
    const struct fence *fence = c->leader ? leader_fence(c->leader) : &c->never_fenced;
    kube_client_set_fence(client, fence);
    struct kube_api api;
    kube_api_for_client(&api, client);
    struct reconcile_env env = {
        .api = &api, .clusters = c->inf[INF_CLUSTERS], .pods = c->inf[INF_PODS],
        .statefulsets = c->inf[INF_STATEFULSETS], .services = c->inf[INF_SERVICES],
        .configmaps = c->inf[INF_CONFIGMAPS], .secrets = c->inf[INF_SECRETS], .pdbs = c->inf[INF_PDBS],
        .pdb_api_version = c->pdb_version, .pdb_path = c->pdb_path, .valkey_timeout_ms = 500,
        .monitor = c->monitor, .prober = prober_new(), .fence = fence,
    };
    if (!env.prober) {
        log_write(LOG_ERROR, "worker cannot make a prober", NULL);
        kube_client_free(client);
        return NULL;
    }

    for (;;) {
        int got = workqueue_get(c->queue, key, sizeof(key), 1000);
        metrics_set(m_leader, fence_closed(fence) ? 0 : 1);
        if (got < 0)
            break;
        if (got == 0)
            continue;
        if (fence_closed(fence) || !controller_synced(c)) {
            /* Not leading (or caches not filled yet): look again later. */
            workqueue_done(c->queue, key);
            workqueue_add_after(c->queue, key, 2000);
            continue;
        }
        char ns[WORKQUEUE_KEY_MAX];
        snprintf(ns, sizeof(ns), "%s", key);
        char *slash = strchr(ns, '/');
        if (!slash) {
            workqueue_done(c->queue, key);
            continue;
        }
        *slash = '\0';
        unsigned long writes_before = api.writes;
        int64_t t0 = clock_now_ms();
        struct reconcile_result r = reconcile_cluster(&env, ns, slash + 1);
        metrics_observe(m_duration, (double)(clock_now_ms() - t0) / 1000.0);
        metrics_add(m_writes, api.writes - writes_before);
        metrics_inc(m_reconciles[r.kind == RECONCILE_DONE ? 0 : r.kind == RECONCILE_REQUEUE_AFTER ? 1 : 2]);
        metrics_set(m_queue, (double)workqueue_len(c->queue));
        switch (r.kind) {
        case RECONCILE_DONE:
            workqueue_forget(c->queue, key);
            break;
        case RECONCILE_REQUEUE_AFTER:
            workqueue_forget(c->queue, key);
            workqueue_add_after(c->queue, key, r.after_ms);
            break;
        case RECONCILE_ERROR:
            log_write(LOG_WARN, "reconcile failed; retrying with backoff", "valkeycluster", key, "error", r.err, NULL);
            workqueue_add_rate_limited(c->queue, key);
            break;
        }
        workqueue_done(c->queue, key);
    }
    prober_free(env.prober);
    kube_client_free(client);
    return NULL;
}

/* The monitor found a primary down: reconcile its cluster now. */
static void on_primary_down(void *ctx, const char *key)
{
    queue_cluster(ctx, key);
}

static int start_informer(struct controller *c, int which, const char *name, const char *path,
                          const char *selector, char *err, size_t errlen)
{
    struct informer_options o = {.name = name, .path = path, .selector = selector, .on_event = on_event, .ctx = c};
    c->inf[which] = informer_start(&o, &c->opts, err, errlen);
    return c->inf[which] ? 0 : -1;
}

/* policy/v1 PodDisruptionBudgets came in Kubernetes 1.21; older servers have v1beta1. */
static int discover_pdb_version(struct controller *c, char *err, size_t errlen)
{
    struct kube_client *client = kube_client_new(&c->opts, err, errlen);
    if (!client)
        return -1;
    long code = kube_get(client, "/apis/policy/v1", NULL);
    if (code < 0) {
        snprintf(err, errlen, "cannot reach the API server: %s", kube_client_errstr(client));
        kube_client_free(client);
        return -1;
    }
    kube_client_free(client);
    snprintf(c->pdb_version, sizeof(c->pdb_version), "%s", code == 200 ? "policy/v1" : "policy/v1beta1");
    snprintf(c->pdb_path, sizeof(c->pdb_path), "/apis/%s", c->pdb_version);
    return 0;
}

struct controller *controller_start(const struct gungnir_config *cfg, char *err, size_t errlen)
{
    struct controller *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fence_init_open(&c->never_fenced); /* zeroed memory would be a closed fence */
    register_metrics();
    if (kubeconfig_resolve(cfg->kubeconfig[0] ? cfg->kubeconfig : NULL, &c->kc, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    c->opts = (struct kube_client_options){
        .server = c->kc.server, .ca_pem = c->kc.ca_pem, .ca_pem_len = c->kc.ca_pem_len,
        .cert_pem = c->kc.client_cert_pem, .cert_pem_len = c->kc.client_cert_pem_len,
        .key_pem = c->kc.client_key_pem, .key_pem_len = c->kc.client_key_pem_len,
        .token = c->kc.token_file ? NULL : c->kc.token, .token_file = c->kc.token_file,
        .tls_server_name = c->kc.tls_server_name, .proxy_url = c->kc.proxy_url,
        .insecure = c->kc.insecure_skip_tls_verify,
    };
    if (discover_pdb_version(c, err, errlen) != 0)
        goto fail;
    c->queue = workqueue_new(QUEUE_CAPACITY, NULL);
    if (!c->queue) {
        snprintf(err, errlen, "cannot make the work queue");
        goto fail;
    }

    char pdbs[96];
    snprintf(pdbs, sizeof(pdbs), "%s/poddisruptionbudgets", c->pdb_path);
    if (start_informer(c, INF_CLUSTERS, "valkeyclusters", "/apis/" VKC_GROUP "/" VKC_VERSION "/valkeyclusters", NULL, err, errlen) ||
        start_informer(c, INF_PODS, "pods", "/api/v1/pods", OWNED_SELECTOR, err, errlen) ||
        start_informer(c, INF_STATEFULSETS, "statefulsets", "/apis/apps/v1/statefulsets", OWNED_SELECTOR, err, errlen) ||
        start_informer(c, INF_SERVICES, "services", "/api/v1/services", OWNED_SELECTOR, err, errlen) ||
        start_informer(c, INF_CONFIGMAPS, "configmaps", "/api/v1/configmaps", OWNED_SELECTOR, err, errlen) ||
        start_informer(c, INF_SECRETS, "secrets", "/api/v1/secrets", OWNED_SELECTOR, err, errlen) ||
        start_informer(c, INF_PDBS, "poddisruptionbudgets", pdbs, OWNED_SELECTOR, err, errlen))
        goto fail;

    c->monitor = monitor_start(c->inf[INF_CLUSTERS], c->inf[INF_PODS], c->inf[INF_SECRETS], on_primary_down, c,
                               err, errlen);
    if (!c->monitor)
        goto fail;

    if (cfg->leader_elect) {
        char identity[128];
        const char *ns = cfg->lease_namespace[0] ? cfg->lease_namespace : getenv("POD_NAMESPACE");
        if (!ns || !ns[0])
            ns = c->kc.namespace;
        leader_make_identity(identity, sizeof(identity));
        struct leader_options lo = {.namespace_ = ns, .name = "gungnir-leader", .identity = identity,
                                    .lease_duration_s = cfg->lease_duration_s,
                                    .renew_deadline_s = cfg->renew_deadline_s,
                                    .retry_period_s = cfg->retry_period_s};
        c->leader = leader_start(&lo, &c->opts, err, errlen);
        if (!c->leader)
            goto fail;
        log_write(LOG_INFO, "campaigning for the leader Lease", "namespace", ns, "identity", identity, NULL);
    }
    c->nworkers = cfg->reconcile_workers > 0 && cfg->reconcile_workers <= WORKERS_MAX ? cfg->reconcile_workers : 2;
    for (int i = 0; i < c->nworkers; i++)
        if (pthread_create(&c->workers[i], NULL, worker_main, c) != 0) {
            c->nworkers = i;
            snprintf(err, errlen, "cannot start the reconcile workers");
            goto fail;
        }
    log_write(LOG_INFO, "controller started", "server", c->kc.server, "pdb", c->pdb_version, NULL);
    return c;
fail:
    controller_stop(c);
    return NULL;
}

bool controller_synced(struct controller *c)
{
    for (int i = 0; i < INF_COUNT; i++)
        if (!c->inf[i] || !informer_synced(c->inf[i]))
            return false;
    return true;
}

void controller_stop(struct controller *c)
{
    if (!c)
        return;
    if (c->queue)
        workqueue_shutdown(c->queue);
    for (int i = 0; i < c->nworkers; i++)
        pthread_join(c->workers[i], NULL);
    monitor_stop(c->monitor);
    leader_stop(c->leader);
    for (int i = 0; i < INF_COUNT; i++)
        informer_stop(c->inf[i]);
    workqueue_free(c->queue);
    kube_config_free(&c->kc);
    free(c);
}
