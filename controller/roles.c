/* roles.c — see roles.h. */
#include "roles.h"
#include "clock.h"
#include "cluster_writes.h"
#include "desired.h"
#include "first_election.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True when no container of pod (borrowed) ever ran: Pending, and no container status that is
 * running, terminated, or restarted. */
static bool never_started(const json_t *pod)
{
    const json_t *st = json_object_get(pod, "status");
    const char *phase = cluster_str_at(st, "phase", NULL);
    if (!phase || strcmp(phase, "Pending") != 0)
        return false;
    size_t i;
    const json_t *cs;
    json_array_foreach(json_object_get(st, "containerStatuses"), i, cs)
    {
        const json_t *state = json_object_get(cs, "state"), *last = json_object_get(cs, "lastState");
        if (json_integer_value(json_object_get(cs, "restartCount")) > 0 || json_object_get(state, "running") ||
            json_object_get(state, "terminated") || json_object_get(last, "terminated") ||
            json_object_get(last, "running"))
            return false;
    }
    return true;
}

/* Milliseconds since the object (borrowed) was created, or -1 when that is unknown. */
static int64_t age_ms(const json_t *obj)
{
    int64_t created;
    const char *ts = cluster_str_at(json_object_get(obj, "metadata"), "creationTimestamp", NULL);
    return ts && clock_parse_rfc3339(ts, &created) == 0 ? clock_wall_ms() - created : -1;
}

/* The claim of pod p (the StatefulSet's "data" volume claim), read from the API server. */
static enum election_claim read_claim(struct cluster_ctx *c, const struct pod_view *p)
{
    char path[CLUSTER_PATH_LEN];
    json_t *claim = NULL;
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/persistentvolumeclaims/data-%s", c->ns, p->name);
    long code = kube_api_get(c->env->api, path, &claim);
    int64_t claim_ms, cluster_ms;
    const char *cts = cluster_str_at(json_object_get(claim, "metadata"), "creationTimestamp", NULL);
    const char *vts = cluster_str_at(json_object_get(c->vkc, "metadata"), "creationTimestamp", NULL);
    enum election_claim verdict = CLAIM_UNKNOWN;
    if (code == 404)
        verdict = CLAIM_MISSING;
    else if (code == 200 && cts && vts && clock_parse_rfc3339(cts, &claim_ms) == 0 &&
             clock_parse_rfc3339(vts, &cluster_ms) == 0)
        verdict = claim_ms >= cluster_ms ? CLAIM_NEW : CLAIM_OLD;
    json_decref(claim);
    return verdict;
}

/* Whether the first election may go on now (first_election.h); when it waits past the bound,
 * c->blocked says for which pods and why. */
static bool election_may_go_on(struct cluster_ctx *c)
{
    const json_t *status = json_object_get(c->vkc, "status");
    const char *was = cluster_str_at(status, "primary", NULL);
    bool had_primary = (was && was[0]) || json_object_get(status, "lastFailover") ||
                       json_integer_value(json_object_get(json_object_get(status, "failover"), "epoch")) > 0;
    struct election_pod *pods = calloc(c->npods ? c->npods : 1, sizeof(*pods));
    if (!pods)
        return false;
    bool overdue = false;
    for (size_t i = 0; i < c->npods; i++) {
        const struct pod_view *p = &c->pods[i];
        pods[i] = (struct election_pod){.name = p->name, .answered = p->probed, .never_started = never_started(p->obj),
                                        .age_ms = age_ms(p->obj),
                                        .claim = c->spec.has_storage_size ? CLAIM_UNKNOWN : CLAIM_EMPTYDIR};
        if (first_election_needs_claim(&pods[i], had_primary))
            pods[i].claim = read_claim(c, p);
        overdue |= !p->probed && pods[i].age_ms >= FIRST_ELECTION_WAIT_MS;
    }
    char why[256];
    bool ok = first_election_may_go_on(pods, c->npods, had_primary, why, sizeof(why));
    free(pods);
    if (!ok && overdue)
        snprintf(c->blocked, sizeof(c->blocked), "the first election of a primary is %s", why);
    else if (ok && overdue)
        log_write(LOG_WARN, "first election without the pods that never started", "valkeycluster", c->name, NULL);
    return ok;
}

struct pod_view *roles_elect_first_primary(struct cluster_ctx *c)
{
    /* A pod already serving as primary (promoted before its label was written) keeps the role. */
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (p->probed && p->info.is_primary && cluster_label_pod(c, p, DESIRED_ROLE_PRIMARY) == 0)
            return p;
    }
    /* Otherwise wait for every pod, so that the one with the most data is chosen; after a bound,
     * go on without the pods that cannot hold data (first_election.h). */
    if (!election_may_go_on(c))
        return NULL;
    struct pod_view *p = cluster_best_candidate(c, NULL, (long)c->spec.replicas);
    if (!p)
        return NULL;
    struct valkey_node *n = cluster_connect_pod(c, p);
    if (!n)
        return NULL;
    int rc = valkey_node_replicaof(n, NULL, 0);
    if (rc != 0)
        log_write(LOG_WARN, "REPLICAOF NO ONE failed", "pod", p->name, "error", valkey_node_errstr(n), NULL);
    valkey_node_free(n);
    if (rc != 0 || cluster_label_pod(c, p, DESIRED_ROLE_PRIMARY) != 0)
        return NULL;
    p->info.is_primary = true;
    cluster_event(c, "Normal", "PrimaryElected", "pod %s elected primary (offset %lld)", p->name, p->info.repl_offset);
    return p;
}

/* True when p replicates from primary (pointed at it; the link may still be syncing). */
static bool points_at(const struct pod_view *p, const struct pod_view *primary)
{
    return !p->info.is_primary && strcmp(p->info.master_host, primary->ip) == 0 &&
           p->info.master_port == DESIRED_PORT;
}

int roles_attach_replicas(struct cluster_ctx *c, const struct pod_view *primary)
{
    int pending = 0;
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (p == primary)
            continue;
        if (!p->probed) {
            log_write(LOG_DEBUG, "replica not probed", "pod", p->name, NULL);
            pending++;
            continue;
        }
        if (!points_at(p, primary)) {
            struct valkey_node *n = cluster_connect_pod(c, p);
            if (n && valkey_node_replicaof(n, primary->ip, DESIRED_PORT) == 0)
                log_write(LOG_INFO, "replica attached", "pod", p->name, "primary", primary->name, NULL);
            else
                pending++;
            valkey_node_free(n);
        } else if (!p->info.master_link_up) {
            log_write(LOG_DEBUG, "replica still syncing", "pod", p->name, NULL);
            pending++;
        }
        if (cluster_label_pod(c, p, DESIRED_ROLE_REPLICA) != 0)
            pending++; /* the replica Service misses it until the label is written */
    }
    return pending;
}

void roles_publish(const struct cluster_ctx *c)
{
    static const char *const roles[] = {DESIRED_ROLE_PRIMARY, DESIRED_ROLE_REPLICA, "none"};
    int counts[3] = {0, 0, 0};
    for (size_t i = 0; i < c->npods; i++) {
        const char *r = c->pods[i].role;
        counts[!r ? 2 : strcmp(r, DESIRED_ROLE_PRIMARY) == 0 ? 0 : 1]++;
    }
    for (int k = 0; k < 3; k++) {
        char labels[320];
        snprintf(labels, sizeof(labels), "namespace=\"%s\",valkeycluster=\"%s\",role=\"%s\"", c->ns, c->name, roles[k]);
        metrics_set(metrics_gauge("gungnir_valkeycluster_pods", "Pods of a ValkeyCluster by their gungnir.dev/role label.",
                                  labels),
                    counts[k]);
    }
}

size_t roles_forget_metrics(const char *namespace_, const char *name)
{
    const struct metrics_label cluster[] = {{"namespace", namespace_}, {"valkeycluster", name}};
    return metrics_remove_matching(cluster, sizeof(cluster) / sizeof(cluster[0]));
}
