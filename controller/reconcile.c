/* reconcile.c — see reconcile.h. */
#include "reconcile.h"
#include "cluster_password.h"
#include "cluster_status.h"
#include "desired.h"
#include "failover.h"
#include "failover_select.h"
#include "field_errors.h"
#include "log.h"
#include "metrics.h"
#include "valkey_node.h"
#include "vkc_defaults.h"
#include "vkc_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATH_LEN 512
#define PASSWORD_MAX 256
#define PODS_MAX VKC_REPLICAS_MAX * 2
#define REQUEUE_WAITING_MS 2000
#define RESYNC_MS 30000
#define SWITCHOVER_WAIT_MS 15000

/* One pod of the cluster as the reconcile sees it. */
struct pod_view {
    const json_t *obj; /* borrowed from the pods list */
    const char *name;
    const char *ip;
    const char *role; /* the gungnir.dev/role label or NULL */
    const char *revision; /* the controller-revision-hash label (the template it runs) */
    long ordinal;
    bool ready;
    bool deleting;
    bool probed;
    struct valkey_info info;
};

struct cluster_ctx {
    struct reconcile_env *env;
    const char *ns, *name, *uid;
    const json_t *vkc;
    struct vkc_spec spec;
    json_t *spec_json; /* the defaulted spec (owned by the defaulted copy) */
    char password[PASSWORD_MAX];
    struct pod_view pods[PODS_MAX];
    size_t npods;
    char blocked[384]; /* why the cluster cannot progress (e.g. no replica to promote) */
    char down_primary[FAILOVER_NAME_MAX]; /* the primary that is down with no one to replace it */
};

static struct reconcile_result done(void) { return (struct reconcile_result){.kind = RECONCILE_DONE}; }

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

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

/* ---- writes ---------------------------------------------------------------------------- */

/* Server-side apply of obj (borrowed) at collection/name. Returns 0, or -1 with err set. */
static int apply(struct cluster_ctx *c, const char *collection, const json_t *obj, char *err, size_t errlen)
{
    char path[PATH_LEN];
    const char *oname = str_at(obj, "metadata", "name");
    snprintf(path, sizeof(path), "%s/%s?fieldManager=gungnir&force=true", collection, oname);
    log_write(LOG_INFO, "applying", "valkeycluster", c->name, "kind", str_at(obj, "kind", NULL), "name", oname, NULL);
    c->env->writes++;
    long code = kube_send_json(c->env->client, "PATCH", path, "application/apply-patch+yaml", obj, NULL);
    if (code >= 200 && code < 300)
        return 0;
    snprintf(err, errlen, "%s", kube_client_errstr(c->env->client));
    return -1;
}

static void emit_event(struct cluster_ctx *c, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void emit_event(struct cluster_ctx *c, const char *type, const char *reason, const char *fmt, ...)
{
    char msg[512], now[32], path[PATH_LEN], gen[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cluster_status_now(now, sizeof(now));
    snprintf(gen, sizeof(gen), "%s.", c->name);
    json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s,"
                           " s:s, s:s, s:i, s:{s:s}}",
                           "apiVersion", "v1", "kind", "Event", "metadata", "generateName", gen,
                           "namespace", c->ns, "involvedObject", "apiVersion", VKC_API_VERSION,
                           "kind", VKC_KIND, "name", c->name, "namespace", c->ns, "uid", c->uid,
                           "type", type, "reason", reason, "message", msg, "firstTimestamp", now,
                           "lastTimestamp", now, "count", 1, "source", "component", "gungnir");
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", c->ns);
    c->env->writes++;
    if (ev && kube_send_json(c->env->client, "POST", path, NULL, ev, NULL) >= 300)
        log_write(LOG_WARN, "cannot record an event", "valkeycluster", c->name, "error",
                  kube_client_errstr(c->env->client), NULL);
    log_write(LOG_INFO, msg, "valkeycluster", c->name, "namespace", c->ns, "reason", reason, NULL);
    json_decref(ev);
}

/* Sets the role label of a pod (a merge patch). Returns 0 or -1. */
/* role NULL removes the label. */
static int label_pod(struct cluster_ctx *c, struct pod_view *p, const char *role)
{
    char path[PATH_LEN];
    if ((!p->role && !role) || (p->role && role && strcmp(p->role, role) == 0))
        return 0;
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", c->ns, p->name);
    json_t *patch = json_pack("{s:{s:{s:o}}}", "metadata", "labels", DESIRED_ROLE_LABEL,
                              role ? json_string(role) : json_null());
    c->env->writes++;
    long code = kube_send_json(c->env->client, "PATCH", path, "application/merge-patch+json", patch, NULL);
    json_decref(patch);
    if (code < 200 || code >= 300) {
        log_write(LOG_WARN, "cannot label pod", "pod", p->name, "error", kube_client_errstr(c->env->client), NULL);
        return -1;
    }
    p->role = role;
    return 0;
}

/* ---- owned objects --------------------------------------------------------------------- */

/* desired_matches for a whole object, without apiVersion and kind: items of a list answer do
 * not carry them. */
static bool matches_ignoring_type(const json_t *desired, const json_t *observed)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)desired, k, v)
    {
        if (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0)
            continue;
        if (!desired_matches(v, json_object_get(observed, k)))
            return false;
    }
    return true;
}

/* Applies desired (stolen) when the cached object differs. Returns 0 or -1. */
static int ensure(struct cluster_ctx *c, struct informer *inf, const char *collection, json_t *desired,
                  bool *created, char *err, size_t errlen)
{
    if (!desired)
        return 0;
    json_t *observed = informer_get(inf, c->ns, str_at(desired, "metadata", "name"));
    int rc = 0;
    if (observed) {
        /* Someone else's object of the same name is not taken over. */
        const json_t *refs = json_object_get(json_object_get(observed, "metadata"), "ownerReferences");
        size_t i;
        const json_t *r;
        bool ours = false;
        json_array_foreach(refs, i, r) if (json_is_true(json_object_get(r, "controller")))
            ours = ours || (str_at(r, "uid", NULL) && strcmp(str_at(r, "uid", NULL), c->uid) == 0);
        if (!ours && json_array_size(refs) > 0) {
            snprintf(err, errlen, "%s %s exists and is controlled by another owner",
                     str_at(desired, "kind", NULL), str_at(desired, "metadata", "name"));
            rc = -1;
        } else if (!matches_ignoring_type(desired, observed)) {
            rc = apply(c, collection, desired, err, errlen);
        }
    } else {
        rc = apply(c, collection, desired, err, errlen);
        if (rc == 0 && created)
            *created = true;
    }
    json_decref(observed);
    json_decref(desired);
    return rc;
}

/* The auth Secret is created once and never rewritten (the password must not change). */
static int ensure_auth_secret(struct cluster_ctx *c, const struct desired_input *in, char *err, size_t errlen)
{
    struct desired_names n;
    desired_names_of(c->name, &c->spec, &n);
    if (!c->spec.auth_enabled || c->spec.auth_secret_name)
        return 0;
    json_t *observed = informer_get(c->env->secrets, c->ns, n.auth_secret);
    if (observed) {
        json_decref(observed);
        return 0;
    }
    /* The cache may lag a create we made a moment ago: ask the API server itself. */
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", c->ns, n.auth_secret);
    if (kube_get(c->env->client, path, NULL) == 200)
        return 0;
    json_t *secret = desired_auth_secret(in);
    if (!secret) {
        snprintf(err, errlen, "cannot make a password");
        return -1;
    }
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets", c->ns);
    c->env->writes++;
    long code = kube_send_json(c->env->client, "POST", path, NULL, secret, NULL);
    json_decref(secret);
    if (code == 409 || (code >= 200 && code < 300))
        return 0;
    snprintf(err, errlen, "%s", kube_client_errstr(c->env->client));
    return -1;
}

/* The password from the auth Secret into c->password ("" when auth is off or the Secret is
 * not there yet). */
static void read_password(struct cluster_ctx *c)
{
    struct desired_names n;
    c->password[0] = '\0';
    if (!c->spec.auth_enabled)
        return;
    desired_names_of(c->name, &c->spec, &n);
    cluster_password(c->env->secrets, c->spec.auth_secret_name ? c->env->client : NULL, c->ns,
                     n.auth_secret, c->password, sizeof(c->password));
}

/* ---- pods and roles -------------------------------------------------------------------- */

static bool pod_is_ready(const json_t *pod)
{
    size_t i;
    const json_t *cond;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, cond)
    {
        const char *t = str_at(cond, "type", NULL), *s = str_at(cond, "status", NULL);
        if (t && s && strcmp(t, "Ready") == 0)
            return strcmp(s, "True") == 0;
    }
    return false;
}

static void load_pods(struct cluster_ctx *c, json_t *list)
{
    size_t i;
    const json_t *pod;
    c->npods = 0;
    json_array_foreach(list, i, pod)
    {
        if (c->npods >= PODS_MAX)
            break;
        const json_t *md = json_object_get(pod, "metadata");
        const char *name = str_at(md, "name", NULL);
        const char *dash = name ? strrchr(name, '-') : NULL;
        if (!dash || strncmp(name, c->name, (size_t)(dash - name)) != 0 || (size_t)(dash - name) != strlen(c->name))
            continue; /* not one of this StatefulSet's pods */
        struct pod_view *p = &c->pods[c->npods++];
        memset(p, 0, sizeof(*p));
        p->obj = pod;
        p->name = name;
        p->ordinal = strtol(dash + 1, NULL, 10);
        p->ip = str_at(json_object_get(pod, "status"), "podIP", NULL);
        p->role = str_at(json_object_get(md, "labels"), DESIRED_ROLE_LABEL, NULL);
        p->revision = str_at(json_object_get(md, "labels"), "controller-revision-hash", NULL);
        p->ready = pod_is_ready(pod);
        p->deleting = json_object_get(md, "deletionTimestamp") != NULL;
    }
    /* By ordinal, so choices are deterministic. */
    for (size_t x = 1; x < c->npods; x++)
        for (size_t y = x; y > 0 && c->pods[y - 1].ordinal > c->pods[y].ordinal; y--) {
            struct pod_view t = c->pods[y];
            c->pods[y] = c->pods[y - 1];
            c->pods[y - 1] = t;
        }
}

static bool usable(const struct pod_view *p) { return p->ready && !p->deleting && p->ip && p->ip[0]; }

static struct valkey_node *connect_pod(struct cluster_ctx *c, const struct pod_view *p)
{
    char err[256];
    struct valkey_node *n = valkey_node_connect(p->ip, DESIRED_PORT, c->password[0] ? c->password : NULL,
                                                c->env->valkey_timeout_ms, err, sizeof(err));
    if (!n)
        log_write(LOG_WARN, "cannot reach pod", "pod", p->name, "error", err, NULL);
    return n;
}

/* INFO of every usable pod into p->info (p->probed says which answered). */
static void probe_pods(struct cluster_ctx *c)
{
    struct probe_target targets[PODS_MAX];
    struct probe_result results[PODS_MAX];
    size_t map[PODS_MAX], n = 0;

    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        p->probed = false;
        if (!usable(p))
            continue;
        struct probe_target *t = &targets[n];
        snprintf(t->key, sizeof(t->key), "%s/%s", c->ns, p->name);
        snprintf(t->host, sizeof(t->host), "%s", p->ip);
        t->port = DESIRED_PORT;
        snprintf(t->password, sizeof(t->password), "%s", c->password);
        map[n++] = i;
    }
    if (n == 0)
        return;
    prober_round(c->env->prober, targets, n, c->env->valkey_timeout_ms, results);
    for (size_t k = 0; k < n; k++) {
        struct pod_view *p = &c->pods[map[k]];
        p->probed = results[k].ok;
        if (p->probed)
            p->info = results[k].info;
        else
            log_write(LOG_DEBUG, "probe failed", "pod", p->name, "error", results[k].err, NULL);
    }
}

/* The best pod to lead among those probed, with ordinal < max_ordinal (failover_select's
 * order: priority, then offset, then name). NULL when none is eligible. */
static struct pod_view *best_candidate(struct cluster_ctx *c, const struct pod_view *exclude, long max_ordinal)
{
    struct failover_candidate cands[PODS_MAX];
    struct pod_view *map[PODS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (p == exclude || p->ordinal >= max_ordinal)
            continue;
        cands[n] = (struct failover_candidate){.name = p->name, .priority = vkc_spec_pod_priority(&c->spec, p->ordinal),
                                               .reachable = p->probed, .is_replica = p->probed && !p->info.is_primary,
                                               .offset = p->info.repl_offset};
        map[n++] = p;
    }
    int pick = failover_select(cands, n, 0, -1, NULL, 0);
    return pick < 0 ? NULL : map[pick];
}

static struct pod_view *labelled_primary(struct cluster_ctx *c)
{
    for (size_t i = 0; i < c->npods; i++)
        if (c->pods[i].role && strcmp(c->pods[i].role, DESIRED_ROLE_PRIMARY) == 0)
            return &c->pods[i];
    return NULL;
}

/* Chooses and promotes the first primary. Returns it, or NULL when it cannot yet. */
static struct pod_view *elect_first_primary(struct cluster_ctx *c)
{
    /* A pod already serving as primary (promoted before its label was written) keeps the role. */
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (p->probed && p->info.is_primary && label_pod(c, p, DESIRED_ROLE_PRIMARY) == 0)
            return p;
    }
    /* Otherwise wait until every pod is up, so the one with the most data is chosen. */
    for (size_t i = 0; i < c->npods; i++)
        if (!c->pods[i].probed)
            return NULL;
    struct pod_view *p = best_candidate(c, NULL, (long)c->spec.replicas);
    if (!p)
        return NULL;
    struct valkey_node *n = connect_pod(c, p);
    if (!n)
        return NULL;
    int rc = valkey_node_replicaof(n, NULL, 0);
    if (rc != 0)
        log_write(LOG_WARN, "REPLICAOF NO ONE failed", "pod", p->name, "error", valkey_node_errstr(n), NULL);
    valkey_node_free(n);
    if (rc != 0 || label_pod(c, p, DESIRED_ROLE_PRIMARY) != 0)
        return NULL;
    p->info.is_primary = true;
    emit_event(c, "Normal", "PrimaryElected", "pod %s elected primary (offset %lld)", p->name,
               p->info.repl_offset);
    return p;
}

/* Points every other usable pod at the primary and labels it replica. Returns how many pods
 * still need work (not yet replicating). */
static int attach_replicas(struct cluster_ctx *c, const struct pod_view *primary)
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
        bool attached = !p->info.is_primary && strcmp(p->info.master_host, primary->ip) == 0 &&
                        p->info.master_port == DESIRED_PORT;
        if (!attached) {
            struct valkey_node *n = connect_pod(c, p);
            if (n && valkey_node_replicaof(n, primary->ip, DESIRED_PORT) == 0)
                log_write(LOG_INFO, "replica attached", "pod", p->name, "primary", primary->name, NULL);
            else
                pending++;
            valkey_node_free(n);
        } else if (!p->info.master_link_up) {
            log_write(LOG_DEBUG, "replica still syncing", "pod", p->name, NULL);
            pending++; /* still syncing */
        }
        label_pod(c, p, DESIRED_ROLE_REPLICA);
    }
    return pending;
}

/* Moves the primary to a pod that survives a scale-down to `replicas` (FAILOVER TO: writes pause
 * until the target has caught up, so no acknowledged write is lost). Returns 0 when done. */
/* Moves the primary role to target with FAILOVER TO (writes pause until the target has caught
 * up, so no acknowledged write is lost), then moves the labels. why is for the Event. Returns
 * 0 when done. */
static int switchover_to(struct cluster_ctx *c, struct pod_view *primary, struct pod_view *target, const char *why)
{
    if (!target || target == primary || !target->probed || target->info.is_primary)
        return -1;
    struct valkey_node *n = connect_pod(c, primary);
    if (!n)
        return -1;
    int rc = valkey_node_failover_to(n, target->ip, DESIRED_PORT, SWITCHOVER_WAIT_MS - 5000);
    if (rc != 0)
        log_write(LOG_WARN, "FAILOVER TO failed", "pod", primary->name, "error", valkey_node_errstr(n), NULL);
    valkey_node_free(n);
    if (rc != 0)
        return -1;
    /* Wait (bounded) until the target reports itself primary. */
    for (int waited = 0; waited < SWITCHOVER_WAIT_MS; waited += 100) {
        struct valkey_node *t = connect_pod(c, target);
        struct valkey_info info;
        bool promoted = t && valkey_node_info(t, &info) == 0 && info.is_primary;
        valkey_node_free(t);
        if (promoted) {
            /* The old primary's label goes first: never two pods labelled primary. */
            if (label_pod(c, primary, DESIRED_ROLE_REPLICA) != 0 || label_pod(c, target, DESIRED_ROLE_PRIMARY) != 0)
                return -1;
            emit_event(c, "Normal", "Switchover", "primary moved from %s to %s %s", primary->name, target->name, why);
            monitor_reset(c->env->monitor, c->ns, c->name);
            return 0;
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* ---- failover -------------------------------------------------------------------------- */

static metrics_series *failovers_metric(const char *reason)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
    return metrics_counter("gungnir_failovers_total", "Failovers run, by what started them.", labels);
}

static struct pod_view *pod_named(struct cluster_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->npods && name; i++)
        if (strcmp(c->pods[i].name, name) == 0)
            return &c->pods[i];
    return NULL;
}

/* A user asks for a switchover with the annotation gungnir.dev/switchover-to=<pod>. It is done
 * once (then the annotation is removed); while the pod cannot take over, the request waits and
 * says so in the log. Returns 1 while the request is pending. */
static int requested_switchover(struct cluster_ctx *c, struct pod_view **primary)
{
    const json_t *ann = json_object_get(json_object_get(c->vkc, "metadata"), "annotations");
    const char *want = json_string_value(json_object_get(ann, DESIRED_SWITCHOVER_ANNOTATION));
    if (!want)
        return 0;
    struct pod_view *target = pod_named(c, want);
    if (!(target && target == *primary)) {
        if (!target || !target->probed || target->info.is_primary || target->ordinal >= c->spec.replicas) {
            log_write(LOG_WARN, "requested switchover waits: the pod is not a reachable replica", "valkeycluster",
                      c->name, "pod", want, NULL);
            return 1;
        }
        if (switchover_to(c, *primary, target, "as requested by the gungnir.dev/switchover-to annotation") != 0)
            return 1;
        *primary = labelled_primary(c);
    }
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "/apis/%s/%s/namespaces/%s/valkeyclusters/%s", VKC_GROUP, VKC_VERSION, c->ns, c->name);
    json_t *patch = json_pack("{s:{s:{s:n}}}", "metadata", "annotations", DESIRED_SWITCHOVER_ANNOTATION);
    c->env->writes++;
    kube_send_json(c->env->client, "PATCH", path, "application/merge-patch+json", patch, NULL);
    json_decref(patch);
    return 0;
}

/* PATCH of the status subresource (a merge patch; patch is stolen). With rv, the write only
 * succeeds on that resourceVersion. Returns the HTTP code or -1. */
static long patch_status(struct cluster_ctx *c, json_t *status, const char *rv)
{
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "/apis/%s/%s/namespaces/%s/valkeyclusters/%s/status", VKC_GROUP,
             VKC_VERSION, c->ns, c->name);
    json_t *patch = json_pack("{s:o}", "status", status);
    if (patch && rv)
        json_object_set_new(patch, "metadata", json_pack("{s:s}", "resourceVersion", rv));
    c->env->writes++;
    long code = kube_send_json(c->env->client, "PATCH", path, "application/merge-patch+json", patch, NULL);
    json_decref(patch);
    return code;
}

struct failover_ctx {
    struct cluster_ctx *c;
    const char *reason;
    char now[32];
};

static int hook_record(void *ctx, long long epoch, const char *from, const char *cand)
{
    struct failover_ctx *f = ctx;
    const char *rv = str_at(f->c->vkc, "metadata", "resourceVersion");
    json_t *st = json_pack("{s:s, s:{s:I, s:b, s:s, s:s, s:s, s:s}}", "phase", "FailingOver", "failover",
                           "epoch", (json_int_t)epoch, "inProgress", 1, "candidate", cand, "from", from,
                           "startedAt", f->now, "phase", "Promoting");
    long code = patch_status(f->c, st, rv);
    if (code == 409) {
        log_write(LOG_WARN, "failover not started: the ValkeyCluster changed meanwhile (409)", "valkeycluster",
                  f->c->name, NULL);
        return -1;
    }
    return code >= 200 && code < 300 ? 0 : -1;
}

static int hook_role(void *ctx, const char *pod, const char *role)
{
    struct failover_ctx *f = ctx;
    struct pod_view *p = pod_named(f->c, pod);
    return p ? label_pod(f->c, p, role) : -1;
}

static void hook_finish(void *ctx, long long epoch, const char *from, const char *to, long ms, bool ok,
                        const char *why)
{
    struct failover_ctx *f = ctx;
    char now[32];
    cluster_status_now(now, sizeof(now));
    json_t *st = json_pack("{s:{s:I, s:b, s:s, s:s, s:s}}", "failover", "epoch", (json_int_t)epoch, "inProgress", 0,
                           "candidate", to, "from", from, "phase", ok ? "Completed" : "Failed");
    if (ok) {
        json_object_set_new(st, "lastFailover", json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "time", now, "from", from,
                                                          "to", to, "reason", f->reason, "durationMilliseconds",
                                                          (json_int_t)ms, "epoch", (json_int_t)epoch));
        json_object_set_new(st, "primary", json_string(to));
    }
    if (patch_status(f->c, st, NULL) >= 300)
        log_write(LOG_WARN, "cannot write the failover's end to status", "valkeycluster", f->c->name, "error",
                  kube_client_errstr(f->c->env->client), NULL);
    if (ok) {
        char labels[320];
        snprintf(labels, sizeof(labels), "namespace=\"%s\",valkeycluster=\"%s\"", f->c->ns, f->c->name);
        metrics_set(metrics_gauge("gungnir_failover_last_duration_seconds",
                                  "How long the last failover of a ValkeyCluster took, from its start to the new primary.",
                                  labels),
                    (double)ms / 1000.0);
    }
    if (ok)
        emit_event(f->c, "Warning", "FailoverCompleted", "primary %s was down (%s); promoted %s in %ld ms (epoch %lld)",
                   from[0] ? from : "(gone)", f->reason, to, ms, epoch);
    else
        emit_event(f->c, "Warning", "FailoverFailed", "promoting %s failed: %s (epoch %lld)", to, why, epoch);
}

/* Promotes the best replica in place of old (which may be NULL: its pod is gone). Returns the
 * new primary's view, or NULL. */
static struct pod_view *run_failover(struct cluster_ctx *c, struct pod_view *old, const char *reason,
                                     const char *metric_reason)
{
    struct failover_node *nodes = calloc(FAILOVER_NODES_MAX, sizeof(*nodes));
    const json_t *fo = json_object_get(json_object_get(c->vkc, "status"), "failover");
    long long epoch = (long long)json_integer_value(json_object_get(fo, "epoch"));
    struct failover_ctx f = {.c = c, .reason = reason};
    struct failover_hooks hooks = {hook_record, hook_role, hook_finish};
    char err[256], why[320];
    int old_index = -1;

    if (!nodes) {
        snprintf(c->blocked, sizeof(c->blocked), "out of memory");
        return NULL;
    }
    cluster_status_now(f.now, sizeof(f.now));
    size_t n = 0;
    for (size_t i = 0; i < c->npods && n < FAILOVER_NODES_MAX; i++) {
        struct pod_view *p = &c->pods[i];
        if (p->deleting && p != old)
            continue;
        struct failover_node *node = &nodes[n];
        snprintf(node->name, sizeof(node->name), "%s", p->name);
        snprintf(node->host, sizeof(node->host), "%s", p->ip ? p->ip : "");
        node->port = DESIRED_PORT;
        node->priority = vkc_spec_pod_priority(&c->spec, p->ordinal);
        node->reachable = p->probed && p != old;
        node->info = p->info;
        if (p == old)
            old_index = (int)n;
        n++;
    }
    struct failover_plan plan = {.nodes = nodes, .n = n, .old_primary = old_index, .epoch = epoch + 1,
                                 .max_lag_bytes = c->spec.max_lag_bytes,
                                 .password = c->password, .timeout_ms = c->env->valkey_timeout_ms,
                                 .hooks = &hooks, .ctx = &f};
    int promoted = failover_run(&plan, err, sizeof(err));
    char promoted_name[FAILOVER_NAME_MAX] = "";
    if (promoted >= 0)
        snprintf(promoted_name, sizeof(promoted_name), "%s", nodes[promoted].name);
    free(nodes);

    if (promoted < 0) {
        snprintf(why, sizeof(why), "primary %s is down (%s) and %s", old ? old->name : "(gone)", reason, err);
        snprintf(c->blocked, sizeof(c->blocked), "%s", why);
        /* status.primary keeps naming it, so the next reconcile tries again (and stays Degraded)
         * until a replica can be promoted. */
        const char *was = old ? old->name : str_at(json_object_get(c->vkc, "status"), "primary", NULL);
        if (was)
            snprintf(c->down_primary, sizeof(c->down_primary), "%s", was);
        /* Clients must not be sent to a server that cannot take writes: the old primary loses
         * its label (it gets a role back once it serves again, or a replica is promoted). */
        if (old && !(old->probed && old->info.is_primary))
            label_pod(c, old, NULL);
        /* Said once, when it starts; the Degraded condition keeps saying it. */
        const char *phase = str_at(json_object_get(c->vkc, "status"), "phase", NULL);
        if (!phase || strcmp(phase, "Degraded") != 0) {
            log_write(LOG_ERROR, "failover impossible", "valkeycluster", c->name, "why", why, NULL);
            emit_event(c, "Warning", "FailoverImpossible", "%s", why);
        }
        return NULL;
    }
    metrics_inc(failovers_metric(metric_reason));
    monitor_reset(c->env->monitor, c->ns, c->name);
    struct pod_view *np = pod_named(c, promoted_name);
    if (np) {
        np->info.is_primary = true;
        np->role = DESIRED_ROLE_PRIMARY;
    }
    return np;
}

/* After a controller restart: an attempt recorded but not finished is finished when its
 * candidate is serving as primary, and closed otherwise (a new attempt gets a new epoch). */
static void resume_failover(struct cluster_ctx *c)
{
    const json_t *fo = json_object_get(json_object_get(c->vkc, "status"), "failover");
    if (!json_is_true(json_object_get(fo, "inProgress")))
        return;
    /* The cache may not have seen this controller's own end of the attempt yet: ask the API
     * server before touching anything. */
    char path[PATH_LEN];
    json_t *live = NULL;
    snprintf(path, sizeof(path), "/apis/%s/%s/namespaces/%s/valkeyclusters/%s", VKC_GROUP, VKC_VERSION, c->ns, c->name);
    if (kube_get(c->env->client, path, &live) != 200 ||
        !json_is_true(json_object_get(json_object_get(json_object_get(live, "status"), "failover"), "inProgress"))) {
        json_decref(live);
        return;
    }
    json_decref(live);
    long long epoch = (long long)json_integer_value(json_object_get(fo, "epoch"));
    const char *cand = str_at(fo, "candidate", NULL);
    const char *from = str_at(fo, "from", NULL);
    struct pod_view *p = pod_named(c, cand);
    struct failover_ctx f = {.c = c, .reason = "resumed after a controller restart"};
    cluster_status_now(f.now, sizeof(f.now));
    if (p && p->probed && p->info.is_primary) {
        struct pod_view *old = pod_named(c, from);
        if (old && old != p)
            label_pod(c, old, NULL);
        label_pod(c, p, DESIRED_ROLE_PRIMARY);
        hook_finish(&f, epoch, from ? from : "", cand, 0, true, "");
    } else {
        hook_finish(&f, epoch, from ? from : "", cand ? cand : "", 0, false,
                    "the candidate was not promoted before the controller restarted");
    }
}

/* The old primary, fenced: if its pod runs (per the API) but its server does not answer, the
 * pod is deleted so that stale client connections end; it comes back fenced and rejoins. */
static void fence_old_primary(struct cluster_ctx *c, const struct pod_view *primary)
{
    const char *from = str_at(json_object_get(json_object_get(c->vkc, "status"), "lastFailover"), "from", NULL);
    struct pod_view *old = pod_named(c, from);
    if (!old || old == primary || old->deleting || old->probed || old->role || !old->ready)
        return;
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", c->ns, old->name);
    c->env->writes++;
    long code = kube_request(c->env->client, "DELETE", path, NULL, NULL, 0, NULL);
    if (code >= 200 && code < 300)
        emit_event(c, "Warning", "Fenced", "deleted pod %s: it was primary before the failover, runs, and does not answer",
                   old->name);
}

/* ---- rolling update ---------------------------------------------------------------------- */

/* Rolls pods onto the StatefulSet's update revision one at a time, once every pod is ready:
 * replicas first (highest ordinal first), then the primary after a switchover to an updated
 * replica. Returns 1 while a pod is being rolled (the cluster is not settled), else 0. */
static int roll_pods(struct cluster_ctx *c, struct pod_view *primary, const char *update_revision)
{
    char path[PATH_LEN];
    if (!update_revision || !primary)
        return 0;
    for (size_t i = 0; i < c->npods; i++)
        if (c->pods[i].deleting || !c->pods[i].ready || !c->pods[i].probed)
            return 1; /* one at a time: wait for the last one to be back */
    struct pod_view *victim = NULL;
    for (size_t i = c->npods; i-- > 0 && !victim;) {
        struct pod_view *p = &c->pods[i];
        if (p != primary && p->revision && strcmp(p->revision, update_revision) != 0)
            victim = p;
    }
    if (!victim && primary->revision && strcmp(primary->revision, update_revision) != 0) {
        /* Only the primary is left on the old template: move the role first. */
        struct pod_view *target = best_candidate(c, primary, (long)c->spec.replicas);
        if (!target || switchover_to(c, primary, target, "for a rolling update") != 0)
            return 1;
        return 1; /* the old primary is now a replica on the old template: rolled next time */
    }
    if (!victim)
        return 0;
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", c->ns, victim->name);
    c->env->writes++;
    long code = kube_request(c->env->client, "DELETE", path, NULL, NULL, 0, NULL);
    if (code >= 200 && code < 300)
        emit_event(c, "Normal", "RollingUpdate", "restarting pod %s on the new template (revision %s)", victim->name,
                   update_revision);
    return 1;
}

/* ---- status ---------------------------------------------------------------------------- */

static void write_status(struct cluster_ctx *c, const struct status_facts *f)
{
    char now[32], path[PATH_LEN];
    const json_t *old = json_object_get(c->vkc, "status");
    cluster_status_now(now, sizeof(now));
    json_t *st = cluster_status_build(old, f, now);
    if (!st || cluster_status_unchanged(old, st)) {
        json_decref(st);
        return;
    }
    snprintf(path, sizeof(path), "/apis/%s/%s/namespaces/%s/valkeyclusters/%s/status", VKC_GROUP,
             VKC_VERSION, c->ns, c->name);
    json_t *patch = json_pack("{s:o}", "status", st);
    c->env->writes++;
    long code = kube_send_json(c->env->client, "PATCH", path, "application/merge-patch+json", patch, NULL);
    if (code < 200 || code >= 300)
        log_write(LOG_WARN, "cannot write status", "valkeycluster", c->name, "error",
                  kube_client_errstr(c->env->client), NULL);
    json_decref(patch);
}

/* gungnir_valkeycluster_pods{namespace,valkeycluster,role}: pods by role label. */
static void publish_roles(struct cluster_ctx *c)
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

/* ---- the reconcile --------------------------------------------------------------------- */

struct reconcile_result reconcile_cluster(struct reconcile_env *env, const char *ns, const char *name)
{
    struct cluster_ctx *c = calloc(1, sizeof(*c));
    struct reconcile_result res = done();
    json_t *vkc = informer_get(env->clusters, ns, name);
    json_t *copy = NULL, *pods = NULL;
    char err[512] = "", selector[256], coll[PATH_LEN];
    ferr_list *errs = calloc(1, sizeof(*errs));

    if (!c || !errs) {
        res = failed("out of memory");
        goto out;
    }
    if (!vkc || json_object_get(json_object_get(vkc, "metadata"), "deletionTimestamp"))
        goto out; /* gone or going: garbage collection removes what it owned */

    c->env = env;
    c->ns = ns;
    c->name = name;
    c->vkc = vkc;
    c->uid = str_at(vkc, "metadata", "uid");
    int64_t generation = json_integer_value(json_object_get(json_object_get(vkc, "metadata"), "generation"));
    desired_selector_text(name, selector, sizeof(selector));

    /* The same rules as the webhook: an object admitted while it was down must not slip through. */
    copy = json_deep_copy(vkc);
    ferr_init(errs);
    if (!copy || vkc_default(copy, NULL) < 0) {
        res = failed("out of memory");
        goto out;
    }
    if (vkc_validate_object(copy, errs, NULL, &c->spec) != 0) {
        char msg[2048];
        ferr_render(errs, VKC_KIND_GROUP, name, msg, sizeof(msg));
        struct status_facts f = {.generation = generation, .replicas = c->spec.replicas,
                                 .selector = selector, .invalid = true, .invalid_message = msg};
        write_status(c, &f);
        log_write(LOG_WARN, "invalid spec: nothing is created", "valkeycluster", name, "error", msg, NULL);
        goto out;
    }
    c->spec_json = json_object_get(copy, "spec");

    struct desired_input in = {.name = name, .namespace_ = ns, .uid = c->uid, .spec = &c->spec,
                               .spec_json = c->spec_json, .pdb_api_version = env->pdb_api_version};
    bool sts_created = false;
    int rc = ensure_auth_secret(c, &in, err, sizeof(err));
    snprintf(coll, sizeof(coll), "/api/v1/namespaces/%s/configmaps", ns);
    if (rc == 0)
        rc = ensure(c, env->configmaps, coll, desired_config_map(&in), NULL, err, sizeof(err));
    snprintf(coll, sizeof(coll), "/api/v1/namespaces/%s/services", ns);
    if (rc == 0)
        rc = ensure(c, env->services, coll, desired_headless_service(&in), NULL, err, sizeof(err));
    if (rc == 0)
        rc = ensure(c, env->services, coll, desired_primary_service(&in), NULL, err, sizeof(err));
    if (rc == 0)
        rc = ensure(c, env->services, coll, desired_replica_service(&in), NULL, err, sizeof(err));
    snprintf(coll, sizeof(coll), "%s/namespaces/%s/poddisruptionbudgets", env->pdb_path, ns);
    if (rc == 0)
        rc = ensure(c, env->pdbs, coll, desired_pdb(&in), NULL, err, sizeof(err));
    if (rc != 0) {
        struct status_facts f = {.generation = generation, .replicas = c->spec.replicas,
                                 .selector = selector, .blocked_message = err};
        write_status(c, &f);
        res = failed("%s", err);
        goto out;
    }

    /* Pods, roles and the StatefulSet (whose size may wait for a switchover). */
    read_password(c);
    pods = informer_list(env->pods, ns, "app.kubernetes.io/instance", name);
    load_pods(c, pods);
    probe_pods(c);

    resume_failover(c);
    struct pod_view *primary = labelled_primary(c);
    char why[200] = "";
    const char *metric_reason = NULL;
    if (primary && primary->deleting) {
        snprintf(why, sizeof(why), "its pod is being deleted");
        metric_reason = "pod_deleted";
    } else if (primary && monitor_primary_down(env->monitor, ns, name, primary->name, why, sizeof(why))) {
        metric_reason = "sdown";
    } else if (primary && primary->probed && !primary->info.is_primary &&
               strcmp(primary->info.master_host, DESIRED_FENCE_HOST) == 0) {
        snprintf(why, sizeof(why), "its server restarted (it came back fenced)");
        metric_reason = "restarted";
    } else if (!primary) {
        /* The pod that was primary is gone (its label went with it): promote from what is left. */
        const char *was = str_at(json_object_get(vkc, "status"), "primary", NULL);
        struct pod_view *old = pod_named(c, was);
        bool serving = old && old->probed && old->info.is_primary;
        if (was && was[0] && !serving) {
            snprintf(why, sizeof(why), "its pod %s is gone or was replaced", was);
            metric_reason = "pod_gone";
            primary = old; /* may be NULL */
        }
    }
    if (metric_reason && c->npods == 1 && primary) {
        /* A single pod: there is no one to fail over to; it leads again with what it has. */
        label_pod(c, primary, NULL);
        primary = NULL;
        metric_reason = NULL;
    } else if (metric_reason && c->spec.failover_enabled) {
        log_write(LOG_DEBUG, "primary is down: failing over", "valkeycluster", name, "why", why, NULL);
        primary = run_failover(c, primary, why, metric_reason);
    } else if (metric_reason) {
        snprintf(c->blocked, sizeof(c->blocked), "the primary is down (%s) and spec.failover.enabled is false", why);
        primary = NULL;
    }
    if (!primary && !metric_reason)
        primary = elect_first_primary(c);
    if (primary)
        fence_old_primary(c, primary);
    int pending = c->npods == 0 ? 1 : 0;
    int64_t sts_replicas = c->spec.replicas;
    if (primary && primary->probed && primary->info.is_primary) {
        pending += attach_replicas(c, primary);
        pending += requested_switchover(c, &primary);
        if (primary->ordinal >= c->spec.replicas) {
            /* Scaling down past the primary: keep the pods until it has moved. */
            json_t *sts = informer_get(env->statefulsets, ns, name);
            int64_t current = json_integer_value(json_object_get(json_object_get(sts, "spec"), "replicas"));
            json_decref(sts);
            if (current > sts_replicas)
                sts_replicas = current;
            pending++;
            char because[96];
            snprintf(because, sizeof(because), "before scaling down to %lld", (long long)c->spec.replicas);
            if (switchover_to(c, primary, best_candidate(c, primary, (long)c->spec.replicas), because) == 0)
                primary = labelled_primary(c);
        }
    } else if (c->npods > 0) {
        pending++; /* no working primary yet (or it is down: the failover engine's case) */
    }

    struct vkc_spec sized = c->spec;
    sized.replicas = sts_replicas;
    in.spec = &sized;
    snprintf(coll, sizeof(coll), "/apis/apps/v1/namespaces/%s/statefulsets", ns);
    json_t *old_sts = informer_get(env->statefulsets, ns, name);
    int64_t old_replicas = old_sts ? json_integer_value(json_object_get(json_object_get(old_sts, "spec"), "replicas")) : 0;
    char update_revision[128] = "";
    const char *ur = str_at(json_object_get(old_sts, "status"), "updateRevision", NULL);
    if (ur)
        snprintf(update_revision, sizeof(update_revision), "%s", ur);
    json_decref(old_sts);
    rc = ensure(c, env->statefulsets, coll, desired_statefulset(&in), &sts_created, err, sizeof(err));
    if (rc != 0) {
        struct status_facts f = {.generation = generation, .replicas = c->spec.replicas,
                                 .selector = selector, .blocked_message = err};
        write_status(c, &f);
        res = failed("%s", err);
        goto out;
    }
    if (!sts_created && pending == 0 && update_revision[0])
        pending += roll_pods(c, primary, update_revision);
    if (sts_created)
        emit_event(c, "Normal", "Created", "created StatefulSet %s with %lld pods", name, (long long)sts_replicas);
    else if (old_replicas && old_replicas != sts_replicas)
        emit_event(c, "Normal", "Scaled", "StatefulSet %s scaled from %lld to %lld pods", name,
                   (long long)old_replicas, (long long)sts_replicas);

    int64_t ready = 0;
    for (size_t i = 0; i < c->npods; i++)
        if (c->pods[i].ready && !c->pods[i].deleting && c->pods[i].ordinal < c->spec.replicas)
            ready++;
    struct status_facts f = {.generation = generation, .replicas = c->spec.replicas,
                             .pods = (int64_t)c->npods, .ready = ready, .selector = selector,
                             .primary = primary ? primary->name : (c->down_primary[0] ? c->down_primary : NULL),
                             .blocked_message = c->blocked[0] ? c->blocked : NULL};
    write_status(c, &f);
    publish_roles(c);
    res = pending > 0 || ready < c->spec.replicas ? requeue(REQUEUE_WAITING_MS) : requeue(RESYNC_MS);
    if (res.after_ms == REQUEUE_WAITING_MS) {
        char detail[64];
        snprintf(detail, sizeof(detail), "pending %d, ready %lld of %lld", pending, (long long)ready,
                 (long long)c->spec.replicas);
        log_write(LOG_DEBUG, "not settled yet", "valkeycluster", name, "detail", detail, NULL);
    }

out:
    json_decref(pods);
    json_decref(copy);
    json_decref(vkc);
    free(errs);
    free(c);
    return res;
}
