/* reconcile.c — see reconcile.h. */
#include "reconcile.h"
#include "cluster_status.h"
#include "cluster_writes.h"
#include "desired.h"
#include "failover_glue.h"
#include "field_errors.h"
#include "live_config.h"
#include "log.h"
#include "owned_objects.h"
#include "password_rotation.h"
#include "planned_moves.h"
#include "quantity.h"
#include "roles.h"
#include "storage_growth.h"
#include "vkc_defaults.h"
#include "vkc_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct reconcile_result requeue(int64_t ms)
{
    return (struct reconcile_result){.kind = RECONCILE_REQUEUE_AFTER, .after_ms = ms};
}

static struct reconcile_result failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct reconcile_result failed(const char *fmt, ...)
{
    struct reconcile_result r = {.kind = RECONCILE_ERROR};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.err, sizeof(r.err), fmt, ap);
    va_end(ap);
    return r;
}

/* Defaults a copy of the cached object and checks it with the webhook's rules (an object
 * admitted while the webhook was down, or a scale through the subresource, which cannot see
 * every rule, must not slip through). Returns the copy (new; its "spec" is the defaulted spec)
 * with c->spec filled, or NULL: out of memory (*oom), or invalid (the field errors in invalid). */
static json_t *defaulted_valid_copy(struct cluster_ctx *c, bool *oom, char *invalid, size_t invalid_len)
{
    json_t *copy = json_deep_copy(c->vkc);
    ferr_list *errs = calloc(1, sizeof(*errs));
    *oom = !copy || !errs;
    if (!*oom) {
        ferr_init(errs);
        *oom = vkc_default(copy, NULL) < 0;
    }
    if (!*oom && vkc_validate_object(copy, errs, NULL, &c->spec) != 0) {
        ferr_render(errs, VKC_KIND_GROUP, c->name, invalid, invalid_len);
        json_decref(copy);
        copy = NULL;
    }
    free(errs);
    if (*oom) {
        json_decref(copy);
        copy = NULL;
    }
    return copy;
}

/* The cluster as it was last carried out: a copy of the cached object with the spec the
 * StatefulSet records (DESIRED_APPLIED_SPEC_ANNOTATION) when that StatefulSet is this
 * cluster's and the spec still passes. Returns the copy (new) with c->spec filled, or NULL. */
static json_t *last_valid_copy(struct cluster_ctx *c)
{
    json_t *sts = informer_get(c->env->statefulsets, c->ns, c->name);
    const json_t *md = json_object_get(sts, "metadata");
    const json_t *owner = json_array_get(json_object_get(md, "ownerReferences"), 0);
    const char *owner_uid = cluster_str_at(owner, "uid", NULL);
    const char *text = cluster_str_at(json_object_get(md, "annotations"), DESIRED_APPLIED_SPEC_ANNOTATION, NULL);
    json_t *spec = text && owner_uid && c->uid && strcmp(owner_uid, c->uid) == 0 ? json_loads(text, 0, NULL) : NULL;
    json_decref(sts);
    json_t *copy = spec ? json_deep_copy(c->vkc) : NULL;
    ferr_list *errs = calloc(1, sizeof(*errs));
    if (copy && errs) {
        ferr_init(errs);
        json_object_set(copy, "spec", spec);
        if (vkc_validate_object(copy, errs, NULL, &c->spec) != 0) {
            json_decref(copy);
            copy = NULL;
        }
    } else {
        json_decref(copy);
        copy = NULL;
    }
    free(errs);
    json_decref(spec);
    return copy;
}

/* A spec the controller refuses: with a last valid spec, keep running that one (failover
 * included) and say the new one is refused; without one, create nothing and say why (*status_rc:
 * that status write's result). Returns the copy to run (new) or NULL. */
static json_t *refused_spec(struct cluster_ctx *c, const char *invalid, int *status_rc)
{
    json_t *copy = last_valid_copy(c);
    if (copy) {
        snprintf(c->refused, sizeof(c->refused), "the new spec is refused, the cluster keeps its last valid spec: %s",
                 invalid);
        log_write(LOG_WARN, "invalid spec: the last valid spec stays in force", "valkeycluster", c->name, "error",
                  invalid, NULL);
        cluster_warn_once(c, "SpecRefused", c->refused);
        return copy;
    }
    char selector[256];
    desired_selector_text(c->name, selector, sizeof(selector));
    struct status_facts f = {
        .generation = json_integer_value(json_object_get(json_object_get(c->vkc, "metadata"), "generation")),
        .replicas = c->spec.replicas, .selector = selector, .invalid = true, .invalid_message = invalid};
    *status_rc = cluster_write_status(c, &f);
    log_write(LOG_WARN, "invalid spec: nothing is created", "valkeycluster", c->name, "error", invalid, NULL);
    return NULL;
}

/* Roles once a primary serves: replicas attached, a requested switchover, a scale-down past
 * the primary (which keeps the StatefulSet's size in *sts_replicas while it waits). Returns
 * how many things are still pending. */
static int settle_roles(struct cluster_ctx *c, struct pod_view **primary, int64_t *sts_replicas)
{
    if (!*primary || !(*primary)->probed || !(*primary)->info.is_primary)
        return c->npods > 0 ? 1 : 0; /* no working primary yet (or it is down: failover's case) */
    int pending = roles_attach_replicas(c, *primary);
    pending += live_config_step(c);
    pending += moves_requested_switchover(c, primary);
    if (*primary)
        pending += moves_scale_down(c, primary, sts_replicas);
    return pending;
}

/* The StatefulSet at sts_replicas pods, then the rolling update when all else is settled.
 * Returns 0 or -1 (err set); *pending grows while a pod is being rolled. */
static int apply_statefulset(struct cluster_ctx *c, struct desired_input *in, struct pod_view *primary,
                             int64_t sts_replicas, int *pending, char *err, size_t errlen)
{
    struct vkc_spec sized = c->spec;
    sized.replicas = sts_replicas;
    int64_t claim_bytes;
    int grow = storage_growth_step(c, &claim_bytes, err, errlen);
    if (grow < 0)
        return -1;
    if (grow == STORAGE_WAIT) {
        (*pending)++;
        return 0;
    }
    if (c->spec.has_storage_size && claim_bytes != quantity_value(c->spec.storage_size))
        sized.storage_size.milli = claim_bytes * 1000; /* a refused growth keeps the old size */
    in->spec = &sized;
    json_t *old = informer_get(c->env->statefulsets, c->ns, c->name);
    int64_t old_replicas = json_integer_value(json_object_get(json_object_get(old, "spec"), "replicas"));
    const char *ur = cluster_str_at(json_object_get(old, "status"), "updateRevision", NULL);
    char update_revision[128];
    snprintf(update_revision, sizeof(update_revision), "%s", ur ? ur : "");
    json_decref(old);
    bool created = false;
    int rc = owned_apply_statefulset(c, in, &created, err, errlen);
    in->spec = &c->spec;
    if (rc != 0)
        return -1;
    if (created && c->npods > 0) /* recreated around running pods (storage growth) */
        cluster_event(c, "Normal", "Recreated", "created StatefulSet %s again; it adopts the %zu running pods", c->name,
                      c->npods);
    else if (created)
        cluster_event(c, "Normal", "Created", "created StatefulSet %s with %lld pods", c->name, (long long)sts_replicas);
    else if (old_replicas && old_replicas != sts_replicas)
        cluster_event(c, "Normal", "Scaled", "StatefulSet %s scaled from %lld to %lld pods", c->name,
                      (long long)old_replicas, (long long)sts_replicas);
    if (!created && *pending == 0)
        *pending += moves_roll_pods(c, primary, update_revision, sts_replicas);
    return 0;
}

/* The status of a cluster that got through every step, and when to look again. */
static struct reconcile_result finish(struct cluster_ctx *c, const struct pod_view *primary, int pending)
{
    char selector[256];
    int64_t ready = 0;
    for (size_t i = 0; i < c->npods; i++)
        if (c->pods[i].ready && !c->pods[i].deleting && c->pods[i].ordinal < c->spec.replicas)
            ready++;
    desired_selector_text(c->name, selector, sizeof(selector));
    struct status_facts f = {
        .generation = json_integer_value(json_object_get(json_object_get(c->vkc, "metadata"), "generation")),
        .replicas = c->spec.replicas, .pods = (int64_t)c->npods, .ready = ready, .selector = selector,
        .primary = primary ? primary->name : (c->down_primary[0] ? c->down_primary : NULL),
        .blocked_message = c->blocked[0] ? c->blocked : NULL, .refused_message = c->refused[0] ? c->refused : NULL};
    int status_rc = cluster_write_status(c, &f);
    if (!c->blocked[0])
        cluster_forget_warnings(c->ns, c->name); /* the problem is over: a new one is said again */
    roles_publish(c);
    if (pending > 0 || ready < c->spec.replicas || status_rc != 0) {
        char detail[64];
        snprintf(detail, sizeof(detail), "pending %d, ready %lld of %lld", pending, (long long)ready,
                 (long long)c->spec.replicas);
        log_write(LOG_DEBUG, "not settled yet", "valkeycluster", c->name, "detail", detail, NULL);
        return requeue(RECONCILE_WAITING_MS);
    }
    return requeue(RECONCILE_RESYNC_MS);
}

/* Every step, in order, for a cluster whose spec is valid. */
static struct reconcile_result run_steps(struct cluster_ctx *c, const json_t *spec_json)
{
    char err[512] = "";
    struct desired_input in = {.name = c->name, .namespace_ = c->ns, .uid = c->uid, .spec = &c->spec,
                               .spec_json = spec_json, .pdb_api_version = c->env->pdb_api_version};
    if (owned_apply_before_pods(c, &in, err, sizeof(err)) != 0) {
        cluster_write_blocked(c, err);
        return failed("%s", err);
    }
    json_t *pods = informer_list(c->env->pods, c->ns, "app.kubernetes.io/instance", c->name);
    if (!pods || cluster_ctx_load_pods(c, pods) != 0) {
        json_decref(pods);
        return failed("out of memory");
    }
    if (owned_read_password(c) != 0) {
        /* Without the password no server can be probed or commanded: say why, change nothing. */
        struct reconcile_result res = finish(c, cluster_labelled_primary(c), 1);
        json_decref(pods);
        return res;
    }
    cluster_probe_pods(c);
    password_rotation_step(c);

    failover_glue_resume(c);
    bool down = false;
    struct pod_view *primary = failover_glue_step(c, &down);
    if (!primary && !down)
        primary = roles_elect_first_primary(c);
    if (primary)
        failover_glue_fence_old_primary(c, primary);
    int64_t sts_replicas = c->spec.replicas;
    int pending = (c->npods == 0 ? 1 : 0) + settle_roles(c, &primary, &sts_replicas);

    struct reconcile_result res;
    if (apply_statefulset(c, &in, primary, sts_replicas, &pending, err, sizeof(err)) != 0) {
        cluster_write_blocked(c, err);
        res = failed("%s", err);
    } else {
        res = finish(c, primary, pending);
    }
    json_decref(pods); /* last: the pod views borrow from it */
    return res;
}

struct reconcile_result reconcile_cluster(struct reconcile_env *env, const char *ns, const char *name)
{
    struct reconcile_result res = {.kind = RECONCILE_DONE};
    json_t *vkc = informer_get(env->clusters, ns, name);
    if (!vkc || json_object_get(json_object_get(vkc, "metadata"), "deletionTimestamp")) {
        password_rotation_forget(ns, name);
        live_config_forget(ns, name);
        cluster_forget_warnings(ns, name);
        roles_forget_metrics(ns, name); /* last: nothing of this reconcile publishes after it */
        json_decref(vkc);
        return res; /* gone or going: garbage collection removes what it owned */
    }
    struct cluster_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        json_decref(vkc);
        return failed("out of memory");
    }
    *c = (struct cluster_ctx){.env = env, .ns = ns, .name = name, .vkc = vkc,
                              .uid = cluster_str_at(vkc, "metadata", "uid")};
    bool oom = false;
    char invalid[2048] = "";
    int status_rc = 0;
    json_t *copy = defaulted_valid_copy(c, &oom, invalid, sizeof(invalid));
    if (!copy && !oom)
        copy = refused_spec(c, invalid, &status_rc);
    if (copy)
        res = run_steps(c, json_object_get(copy, "spec"));
    else if (oom)
        res = failed("out of memory");
    else if (status_rc != 0)
        res = failed("cannot write the status of an invalid spec: %s", kube_api_errstr(env->api));
    json_decref(copy);
    cluster_ctx_release(c);
    free(c);
    json_decref(vkc);
    return res;
}
