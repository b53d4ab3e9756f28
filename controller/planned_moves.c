/* planned_moves.c — see planned_moves.h. */
#include "planned_moves.h"
#include "cluster_writes.h"
#include "desired.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define POLL_MS 100

/* True when target's server says it is primary now. */
static bool serves_as_primary(struct cluster_ctx *c, const struct pod_view *target)
{
    struct valkey_node *t = cluster_connect_pod(c, target);
    struct valkey_info info;
    bool promoted = t && valkey_node_info(t, &info) == 0 && info.is_primary;
    valkey_node_free(t);
    return promoted;
}

int moves_switchover(struct cluster_ctx *c, struct pod_view *primary, struct pod_view *target, const char *why)
{
    if (!target || target == primary || !target->probed || target->info.is_primary)
        return -1;
    struct valkey_node *n = cluster_connect_pod(c, primary);
    if (!n)
        return -1;
    int rc = valkey_node_failover_to(n, target->ip, DESIRED_PORT, MOVES_SWITCHOVER_WAIT_MS - 5000);
    if (rc != 0)
        log_write(LOG_WARN, "FAILOVER TO failed", "pod", primary->name, "error", valkey_node_errstr(n), NULL);
    valkey_node_free(n);
    if (rc != 0)
        return -1;
    for (int waited = 0; waited < MOVES_SWITCHOVER_WAIT_MS && !cluster_fenced(c); waited += POLL_MS) {
        if (serves_as_primary(c, target)) {
            /* The old primary's label goes first: never two pods labelled primary. */
            if (cluster_label_pod(c, primary, DESIRED_ROLE_REPLICA) != 0 ||
                cluster_label_pod(c, target, DESIRED_ROLE_PRIMARY) != 0)
                return -1;
            cluster_event(c, "Normal", "Switchover", "primary moved from %s to %s %s", primary->name, target->name, why);
            monitor_reset(c->env->monitor, c->ns, c->name);
            return 0;
        }
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int moves_requested_switchover(struct cluster_ctx *c, struct pod_view **primary)
{
    const json_t *ann = json_object_get(json_object_get(c->vkc, "metadata"), "annotations");
    const char *want = json_string_value(json_object_get(ann, DESIRED_SWITCHOVER_ANNOTATION));
    if (!want)
        return 0;
    struct pod_view *target = cluster_pod_named(c, want);
    if (target != *primary) {
        if (!target || !target->probed || target->info.is_primary || target->ordinal >= c->spec.replicas) {
            log_write(LOG_WARN, "requested switchover waits: the pod is not a reachable replica", "valkeycluster",
                      c->name, "pod", want, NULL);
            return 1;
        }
        if (moves_switchover(c, *primary, target, "as requested by the gungnir.dev/switchover-to annotation") != 0)
            return 1;
        *primary = cluster_labelled_primary(c);
    }
    return cluster_clear_switchover_request(c) == 0 ? 0 : 1;
}

int moves_scale_down(struct cluster_ctx *c, struct pod_view **primary, int64_t *sts_replicas)
{
    if ((*primary)->ordinal < c->spec.replicas)
        return 0;
    /* Scaling down past the primary: keep the pods until it has moved. */
    json_t *sts = informer_get(c->env->statefulsets, c->ns, c->name);
    int64_t current = json_integer_value(json_object_get(json_object_get(sts, "spec"), "replicas"));
    json_decref(sts);
    if (current > *sts_replicas)
        *sts_replicas = current;
    char because[96];
    snprintf(because, sizeof(because), "before scaling down to %lld", (long long)c->spec.replicas);
    if (moves_switchover(c, *primary, cluster_best_candidate(c, *primary, (long)c->spec.replicas), because) == 0)
        *primary = cluster_labelled_primary(c);
    return 1;
}

/* The replica to roll next (highest ordinal first), or NULL when every replica is updated. */
static struct pod_view *next_replica_to_roll(struct cluster_ctx *c, const struct pod_view *primary,
                                             const char *update_revision)
{
    for (size_t i = c->npods; i-- > 0;) {
        struct pod_view *p = &c->pods[i];
        if (p != primary && p->revision && strcmp(p->revision, update_revision) != 0)
            return p;
    }
    return NULL;
}

/* True when every pod of ordinal 0..pods-1 exists, is not being deleted, is Ready and answered
 * its probe: the pod rolled last is back (its successor may not even exist yet: the gap
 * between a pod's deletion and the StatefulSet creating it again). */
static bool all_pods_back(const struct cluster_ctx *c, int64_t pods)
{
    int64_t present = 0;
    for (size_t i = 0; i < c->npods; i++) {
        const struct pod_view *p = &c->pods[i];
        if (p->deleting || !p->ready || !p->probed)
            return false;
        if (p->ordinal < pods)
            present++;
    }
    return present == pods;
}

int moves_roll_pods(struct cluster_ctx *c, struct pod_view *primary, const char *update_revision, int64_t pods)
{
    if (!update_revision || !update_revision[0] || !primary)
        return 0;
    if (!all_pods_back(c, pods))
        return 1; /* one at a time: wait for the last one to be back */
    struct pod_view *victim = next_replica_to_roll(c, primary, update_revision);
    if (!victim && primary->revision && strcmp(primary->revision, update_revision) != 0) {
        /* Only the primary is left on the old template: move the role first; the old primary,
         * now a replica on the old template, is rolled next time. */
        moves_switchover(c, primary, cluster_best_candidate(c, primary, (long)c->spec.replicas), "for a rolling update");
        return 1;
    }
    if (!victim)
        return 0;
    if (cluster_delete_pod(c, victim) == 0)
        cluster_event(c, "Normal", "RollingUpdate", "restarting pod %s on the new template (revision %s)", victim->name,
                      update_revision);
    return 1;
}
