/* roles.c — see roles.h. */
#include "roles.h"
#include "cluster_writes.h"
#include "desired.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>

struct pod_view *roles_elect_first_primary(struct cluster_ctx *c)
{
    /* A pod already serving as primary (promoted before its label was written) keeps the role. */
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (p->probed && p->info.is_primary && cluster_label_pod(c, p, DESIRED_ROLE_PRIMARY) == 0)
            return p;
    }
    /* Otherwise wait until every pod is up, so the one with the most data is chosen. */
    for (size_t i = 0; i < c->npods; i++)
        if (!c->pods[i].probed)
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
