/* failover_glue.c — see failover_glue.h. */
#include "failover_glue.h"
#include "cluster_status.h"
#include "cluster_writes.h"
#include "desired.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct failover_ctx {
    struct cluster_ctx *c;
    const char *reason;
    char now[32];
};

static metrics_series *failovers_metric(const char *reason)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
    return metrics_counter("gungnir_failovers_total", "Failovers run, by what started them.", labels);
}

static const json_t *status_of(const struct cluster_ctx *c) { return json_object_get(c->vkc, "status"); }

static int64_t generation_of(const struct cluster_ctx *c)
{
    return json_integer_value(json_object_get(json_object_get(c->vkc, "metadata"), "generation"));
}

static int hook_record(void *ctx, long long epoch, const char *from, const char *cand)
{
    struct failover_ctx *f = ctx;
    const char *rv = cluster_str_at(f->c->vkc, "metadata", "resourceVersion");
    char msg[320];
    snprintf(msg, sizeof(msg), "promoting %s in place of %s (epoch %lld)", cand, from[0] ? from : "(gone)", epoch);
    json_t *st = json_pack("{s:s, s:{s:I, s:b, s:s, s:s, s:s, s:s}, s:o*}", "phase", "FailingOver", "failover", "epoch",
                           (json_int_t)epoch, "inProgress", 1, "candidate", cand, "from", from, "startedAt", f->now,
                           "phase", "Promoting", "conditions",
                           cluster_status_set_condition(status_of(f->c), "FailoverInProgress", true, "Promoting", msg,
                                                        generation_of(f->c), f->now));
    long code = st ? cluster_patch_status(f->c, st, rv) : -1;
    if (code == 409) {
        log_write(LOG_WARN, "failover not started: the ValkeyCluster changed meanwhile (409)", "valkeycluster",
                  f->c->name, NULL);
        return -1;
    }
    return kube_api_ok(code) ? 0 : -1;
}

static int hook_role(void *ctx, const char *pod, const char *role)
{
    struct failover_ctx *f = ctx;
    struct pod_view *p = cluster_pod_named(f->c, pod);
    return p ? cluster_label_pod(f->c, p, role) : -1;
}

static void publish_duration(const struct cluster_ctx *c, long ms)
{
    char labels[320];
    snprintf(labels, sizeof(labels), "namespace=\"%s\",valkeycluster=\"%s\"", c->ns, c->name);
    metrics_set(metrics_gauge("gungnir_failover_last_duration_seconds",
                              "How long the last failover of a ValkeyCluster took, from its start to the new primary.",
                              labels),
                (double)ms / 1000.0);
}

static void hook_finish(void *ctx, long long epoch, const char *from, const char *to, long ms, bool ok, const char *why)
{
    struct failover_ctx *f = ctx;
    char now[32];
    cluster_status_now(now, sizeof(now));
    char msg[320];
    snprintf(msg, sizeof(msg), "the failover of epoch %lld %s", epoch, ok ? "completed" : "failed");
    json_t *st = json_pack("{s:{s:I, s:b, s:s, s:s, s:s}, s:o*}", "failover", "epoch", (json_int_t)epoch, "inProgress", 0,
                           "candidate", to, "from", from, "phase", ok ? "Completed" : "Failed", "conditions",
                           cluster_status_set_condition(status_of(f->c), "FailoverInProgress", false,
                                                        ok ? "Completed" : "Failed", msg, generation_of(f->c), now));
    if (st && ok) {
        json_object_set_new(st, "lastFailover",
                            json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "time", now, "from", from, "to", to, "reason",
                                      f->reason, "durationMilliseconds", (json_int_t)ms, "epoch", (json_int_t)epoch));
        json_object_set_new(st, "primary", json_string(to));
    }
    if (!st || !kube_api_ok(cluster_patch_status(f->c, st, NULL)))
        log_write(LOG_WARN, "cannot write the failover's end to status", "valkeycluster", f->c->name, "error",
                  st ? kube_api_errstr(f->c->env->api) : "out of memory", NULL);
    if (ok) {
        publish_duration(f->c, ms);
        cluster_event(f->c, "Warning", "FailoverCompleted", "primary %s was down (%s); promoted %s in %ld ms (epoch %lld)",
                      from[0] ? from : "(gone)", f->reason, to, ms, epoch);
    } else {
        cluster_event(f->c, "Warning", "FailoverFailed", "promoting %s failed: %s (epoch %lld)", to, why, epoch);
    }
}

/* The engine's view of the pods: all but those being deleted (the old primary stays, marked
 * unreachable). Returns a new array of *n nodes (free()), with *old_index set, or NULL. */
static struct failover_node *engine_nodes(struct cluster_ctx *c, const struct pod_view *old, size_t *n, int *old_index)
{
    struct failover_node *nodes = calloc(c->npods ? c->npods : 1, sizeof(*nodes));
    *n = 0;
    *old_index = -1;
    if (!nodes)
        return NULL;
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (p->deleting && p != old)
            continue;
        struct failover_node *node = &nodes[*n];
        snprintf(node->name, sizeof(node->name), "%s", p->name);
        snprintf(node->host, sizeof(node->host), "%s", p->ip ? p->ip : "");
        node->port = DESIRED_PORT;
        node->priority = vkc_spec_pod_priority(&c->spec, p->ordinal);
        node->reachable = p->probed && p != old;
        node->info = p->info;
        if (p == old)
            *old_index = (int)*n;
        (*n)++;
    }
    return nodes;
}

/* No replica could be promoted: say why (once, when it starts), keep status.primary naming the
 * down primary so every reconcile tries again, and take the label off a primary that cannot
 * take writes. */
static void failover_blocked(struct cluster_ctx *c, struct pod_view *old, const char *reason, const char *err)
{
    char why[320];
    snprintf(why, sizeof(why), "primary %s is down (%s) and %s", old ? old->name : "(gone)", reason, err);
    snprintf(c->blocked, sizeof(c->blocked), "%s", why);
    const char *was = old ? old->name : cluster_str_at(status_of(c), "primary", NULL);
    if (was)
        snprintf(c->down_primary, sizeof(c->down_primary), "%s", was);
    if (old && !(old->probed && old->info.is_primary))
        cluster_label_pod(c, old, NULL);
    /* Said once while it lasts: the status may say Degraded already, or the cache may not show
     * that yet (the memo of cluster_warned_before covers the lag). */
    const char *phase = cluster_str_at(status_of(c), "phase", NULL);
    if ((!phase || strcmp(phase, "Degraded") != 0) &&
        !cluster_warned_before(c, "FailoverImpossible", c->down_primary[0] ? c->down_primary : "(gone)")) {
        log_write(LOG_ERROR, "failover impossible", "valkeycluster", c->name, "why", why, NULL);
        cluster_event(c, "Warning", "FailoverImpossible", "%s", why);
    }
}

/* Promotes the best replica in place of old (NULL: its pod is gone). Returns the new primary's
 * view, or NULL. */
static struct pod_view *run_failover(struct cluster_ctx *c, struct pod_view *old, const char *reason,
                                     const char *metric_reason)
{
    const json_t *fo = json_object_get(status_of(c), "failover");
    struct failover_ctx f = {.c = c, .reason = reason};
    struct failover_hooks hooks = {hook_record, hook_role, hook_finish};
    char err[256], promoted_name[FAILOVER_NAME_MAX] = "";
    size_t n;
    int old_index;

    struct failover_node *nodes = engine_nodes(c, old, &n, &old_index);
    if (!nodes) {
        snprintf(c->blocked, sizeof(c->blocked), "out of memory");
        return NULL;
    }
    cluster_status_now(f.now, sizeof(f.now));
    struct failover_plan plan = {.nodes = nodes, .n = n, .old_primary = old_index,
                                 .epoch = (long long)json_integer_value(json_object_get(fo, "epoch")) + 1,
                                 .max_lag_bytes = c->spec.max_lag_bytes, .password = c->password,
                                 .timeout_ms = c->env->valkey_timeout_ms, .fence = c->env->fence, .hooks = &hooks, .ctx = &f};
    int promoted = failover_run(&plan, err, sizeof(err));
    if (promoted >= 0)
        snprintf(promoted_name, sizeof(promoted_name), "%s", nodes[promoted].name);
    free(nodes);
    if (promoted < 0) {
        failover_blocked(c, old, reason, err);
        return NULL;
    }
    metrics_inc(failovers_metric(metric_reason));
    monitor_reset(c->env->monitor, c->ns, c->name);
    struct pod_view *np = cluster_pod_named(c, promoted_name);
    if (np) {
        np->info.is_primary = true;
        np->role = DESIRED_ROLE_PRIMARY;
    }
    return np;
}

void failover_glue_resume(struct cluster_ctx *c)
{
    const json_t *fo = json_object_get(status_of(c), "failover");
    if (!json_is_true(json_object_get(fo, "inProgress")))
        return;
    /* The cache may not have seen this controller's own end of the attempt yet: ask the API
     * server before touching anything. */
    char path[CLUSTER_PATH_LEN];
    json_t *live = NULL;
    cluster_self_path(c, NULL, path, sizeof(path));
    bool open = kube_api_get(c->env->api, path, &live) == 200 &&
                json_is_true(json_object_get(json_object_get(json_object_get(live, "status"), "failover"), "inProgress"));
    json_decref(live);
    if (!open)
        return;
    long long epoch = (long long)json_integer_value(json_object_get(fo, "epoch"));
    const char *cand = cluster_str_at(fo, "candidate", NULL);
    const char *from = cluster_str_at(fo, "from", NULL);
    struct pod_view *p = cluster_pod_named(c, cand);
    struct failover_ctx f = {.c = c, .reason = "resumed after a controller restart"};
    cluster_status_now(f.now, sizeof(f.now));
    if (p && p->probed && p->info.is_primary) {
        struct pod_view *old = cluster_pod_named(c, from);
        /* The old primary's label goes first (never two labelled primary); the attempt ends
         * only once both labels are right, else the next reconcile tries again. */
        if ((old && old != p && cluster_label_pod(c, old, NULL) != 0) ||
            cluster_label_pod(c, p, DESIRED_ROLE_PRIMARY) != 0) {
            snprintf(c->blocked, sizeof(c->blocked), "the failover of epoch %lld waits: the role labels could not be written",
                     epoch);
            return;
        }
        hook_finish(&f, epoch, from ? from : "", cand, 0, true, "");
    } else {
        hook_finish(&f, epoch, from ? from : "", cand ? cand : "", 0, false,
                    "the candidate was not promoted before the controller restarted");
    }
}

/* Why the labelled primary (or the one status.primary names, when no pod carries the label) is
 * down, into why; *primary may be replaced by the named one. Returns the metric's reason, or
 * NULL when the primary is well (or there never was one). */
static const char *primary_down_reason(struct cluster_ctx *c, struct pod_view **primary, char *why, size_t whylen)
{
    struct pod_view *p = *primary;
    if (p && p->deleting) {
        snprintf(why, whylen, "its pod is being deleted");
        return "pod_deleted";
    }
    if (p && monitor_primary_down(c->env->monitor, c->ns, c->name, p->name, why, whylen))
        return "sdown";
    if (p && p->probed && !p->info.is_primary && strcmp(p->info.master_host, DESIRED_FENCE_HOST) == 0) {
        snprintf(why, whylen, "its server restarted (it came back fenced)");
        return "restarted";
    }
    if (p)
        return NULL;
    /* The pod that was primary is gone (its label went with it): promote from what is left. */
    const char *was = cluster_str_at(status_of(c), "primary", NULL);
    struct pod_view *old = cluster_pod_named(c, was);
    if (!was || !was[0] || (old && old->probed && old->info.is_primary))
        return NULL;
    snprintf(why, whylen, "its pod %s is gone or was replaced", was);
    *primary = old; /* may be NULL */
    return "pod_gone";
}

/* A labelled primary whose server now follows another pod that serves as primary was moved by a
 * switchover (FAILOVER TO: the new primary had caught up before it took over) whose labels
 * were never written — its controller stopped or lost the Lease between the two. Returns the
 * pod that serves, or NULL. */
static struct pod_view *switched_to(struct cluster_ctx *c, const struct pod_view *old)
{
    if (!old || !old->probed || old->info.is_primary || old->info.master_port != DESIRED_PORT)
        return NULL;
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *q = &c->pods[i];
        if (q != old && q->probed && q->info.is_primary && !q->deleting && q->ip &&
            strcmp(old->info.master_host, q->ip) == 0)
            return q;
    }
    return NULL;
}

/* Writes the labels of a switchover found done (the old primary's first: never two labelled
 * primary). Returns the new primary, or NULL when a label could not be written. */
static struct pod_view *adopt_switchover(struct cluster_ctx *c, struct pod_view *old, struct pod_view *now)
{
    if (cluster_label_pod(c, old, DESIRED_ROLE_REPLICA) != 0 || cluster_label_pod(c, now, DESIRED_ROLE_PRIMARY) != 0)
        return NULL;
    cluster_event(c, "Normal", "Switchover", "primary moved from %s to %s (a switchover found done: %s follows %s)",
                  old->name, now->name, old->name, now->name);
    monitor_reset(c->env->monitor, c->ns, c->name);
    return now;
}

struct pod_view *failover_glue_step(struct cluster_ctx *c, bool *down)
{
    struct pod_view *primary = cluster_labelled_primary(c);
    struct pod_view *moved = switched_to(c, primary);
    if (moved) {
        /* Not a failure: no promotion, no new epoch, no data thrown away. Until both labels are
         * written, no election either (*down): it would label the serving pod next to the old. */
        struct pod_view *now = adopt_switchover(c, primary, moved);
        *down = now == NULL;
        if (!now)
            snprintf(c->blocked, sizeof(c->blocked), "the labels of a switchover to %s found done could not be written",
                     moved->name);
        return now;
    }
    char why[200] = "";
    const char *metric_reason = primary_down_reason(c, &primary, why, sizeof(why));
    *down = metric_reason != NULL;
    if (!metric_reason)
        return primary;
    if (c->npods == 1 && primary) {
        /* A single pod: there is no one to fail over to; it leads again with what it has. */
        cluster_label_pod(c, primary, NULL);
        *down = false;
        return NULL;
    }
    if (!c->spec.failover_enabled) {
        snprintf(c->blocked, sizeof(c->blocked), "the primary is down (%s) and spec.failover.enabled is false", why);
        return NULL;
    }
    log_write(LOG_DEBUG, "primary is down: failing over", "valkeycluster", c->name, "why", why, NULL);
    return run_failover(c, primary, why, metric_reason);
}

void failover_glue_fence_old_primary(struct cluster_ctx *c, const struct pod_view *primary)
{
    const char *from = cluster_str_at(json_object_get(status_of(c), "lastFailover"), "from", NULL);
    struct pod_view *old = cluster_pod_named(c, from);
    if (!old || old == primary || old->deleting || old->probed || old->role || !old->ready)
        return;
    if (cluster_delete_pod(c, old) == 0)
        cluster_event(c, "Warning", "Fenced", "deleted pod %s: it was primary before the failover, runs, and does not answer",
                      old->name);
}
