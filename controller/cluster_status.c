/* cluster_status.c — see cluster_status.h. */
#include "cluster_status.h"
#include "clock.h"
#include "desired.h"

#include <stdio.h>
#include <string.h>

void cluster_status_now(char *buf, size_t size) { clock_wall_rfc3339(buf, size, 0); }

/* The old condition of this type (borrowed) or NULL. */
static const json_t *old_condition(const json_t *old_status, const char *type)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(old_status, "conditions"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

static void add_condition(json_t *list, const json_t *old_status, const char *type, bool status,
                          const char *reason, const char *message, int64_t generation, const char *now)
{
    const char *value = status ? "True" : "False";
    /* Never an empty message: the 1.20 API server turns "" inside a list-map item of a merge
     * patch into null and then refuses it. */
    if (!message || !message[0])
        message = "-";
    const json_t *old = old_condition(old_status, type);
    const char *since = now;
    const char *old_value = json_string_value(json_object_get(old, "status"));
    const char *old_since = json_string_value(json_object_get(old, "lastTransitionTime"));
    if (old_value && old_since && strcmp(old_value, value) == 0)
        since = old_since;
    json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", type, "status", value,
                                          "reason", reason, "message", message ? message : "",
                                          "lastTransitionTime", since, "observedGeneration",
                                          (json_int_t)generation));
}

json_t *cluster_status_build(const json_t *old_status, const struct status_facts *f, const char *now)
{
    const char *phase;
    char msg[512];
    bool all_ready = f->ready >= f->replicas && f->pods >= f->replicas;
    json_t *conds = json_array();

    if (f->invalid)
        phase = "Degraded";
    else if (f->failover_in_progress)
        phase = "FailingOver";
    else if (f->blocked_message || f->refused_message)
        phase = "Degraded";
    else if (f->pods == 0)
        phase = "Pending";
    else if (all_ready && f->primary)
        phase = "Running";
    else
        phase = "Creating";

    bool running = strcmp(phase, "Running") == 0;
    if (running)
        snprintf(msg, sizeof(msg), "%lld of %lld pods ready; primary %s", (long long)f->ready,
                 (long long)f->replicas, f->primary);
    else
        snprintf(msg, sizeof(msg), "%lld of %lld pods ready; %s", (long long)f->ready,
                 (long long)f->replicas, f->primary ? "primary elected" : "no primary yet");
    add_condition(conds, old_status, "Ready", running, running ? "AllPodsReady" : "NotAllPodsReady",
                  msg, f->generation, now);

    bool progressing = !f->invalid && !running;
    add_condition(conds, old_status, "Progressing", progressing,
                  progressing ? "Reconciling" : (f->invalid ? "InvalidSpec" : "Reconciled"),
                  progressing ? "bringing pods and roles to the spec"
                              : (f->invalid ? "waiting for a valid spec" : "pods and roles match the spec"),
                  f->generation, now);

    if (f->invalid)
        add_condition(conds, old_status, "Degraded", true, "InvalidSpec", f->invalid_message,
                      f->generation, now);
    else if (f->blocked_message)
        add_condition(conds, old_status, "Degraded", true, "Blocked", f->blocked_message,
                      f->generation, now);
    else if (f->refused_message)
        add_condition(conds, old_status, "Degraded", true, "SpecRefused", f->refused_message,
                      f->generation, now);
    else
        add_condition(conds, old_status, "Degraded", false, "AsExpected", "no problem found", f->generation, now);

    add_condition(conds, old_status, "FailoverInProgress", f->failover_in_progress,
                  f->failover_in_progress ? "Promoting" : "NoFailover",
                  f->failover_in_progress ? "promoting a replica" : "no failover running", f->generation, now);

    json_t *st = json_pack("{s:s, s:I, s:I, s:s, s:I, s:o}", "phase", phase, "replicas",
                           (json_int_t)f->replicas, "readyReplicas", (json_int_t)f->ready,
                           "selector", f->selector ? f->selector : "", "observedGeneration",
                           (json_int_t)f->generation, "conditions", conds);
    if (st)
        json_object_set_new(st, "primary", f->primary ? json_string(f->primary) : json_null());
    return st;
}

json_t *cluster_status_set_condition(const json_t *old_status, const char *type, bool status, const char *reason,
                                     const char *message, int64_t generation, const char *now)
{
    json_t *list = json_array();
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(old_status, "conditions"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (list && (!t || strcmp(t, type) != 0))
            json_array_append_new(list, json_deep_copy(c));
    }
    if (list)
        add_condition(list, old_status, type, status, reason, message, generation, now);
    return list;
}

bool cluster_status_unchanged(const json_t *old_status, const json_t *new_status)
{
    /* A null primary equals an absent one. */
    const char *k;
    const json_t *v;
    if (!json_is_object(old_status))
        return false;
    json_object_foreach((json_t *)new_status, k, v)
    {
        const json_t *o = json_object_get(old_status, k);
        if (json_is_null(v) && (!o || json_is_null(o)))
            continue;
        if (!o || !json_equal((json_t *)v, (json_t *)o))
            return false;
    }
    return true;
}
