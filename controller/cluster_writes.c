/* cluster_writes.c — see cluster_writes.h. */
#include "cluster_writes.h"
#include "desired.h"
#include "log.h"
#include "memo.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cluster_apply(struct cluster_ctx *c, const char *collection, const json_t *obj, char *err, size_t errlen)
{
    const char *oname = cluster_str_at(obj, "metadata", "name");
    log_write(LOG_INFO, "applying", "valkeycluster", c->name, "kind", cluster_str_at(obj, "kind", NULL), "name",
              oname, NULL);
    long code = kube_api_apply(c->env->api, collection, obj);
    if (kube_api_ok(code))
        return 0;
    snprintf(err, errlen, "%s", kube_api_errstr(c->env->api));
    return -1;
}

int cluster_label_pod(struct cluster_ctx *c, struct pod_view *p, const char *role)
{
    char path[CLUSTER_PATH_LEN];
    if ((!p->role && !role) || (p->role && role && strcmp(p->role, role) == 0))
        return 0;
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", c->ns, p->name);
    json_t *patch = json_pack("{s:{s:{s:o}}}", "metadata", "labels", DESIRED_ROLE_LABEL,
                              role ? json_string(role) : json_null());
    long code = patch ? kube_api_merge_patch(c->env->api, path, patch) : -1;
    json_decref(patch);
    if (!kube_api_ok(code)) {
        log_write(LOG_WARN, "cannot label pod", "pod", p->name, "role", role ? role : "(none)", "error",
                  patch ? kube_api_errstr(c->env->api) : "out of memory", NULL);
        return -1;
    }
    p->role = role;
    return 0;
}

void cluster_event(struct cluster_ctx *c, const char *type, const char *reason, const char *fmt, ...)
{
    char msg[512], now[32], path[CLUSTER_PATH_LEN], gen[96];
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
                           "kind", VKC_KIND, "name", c->name, "namespace", c->ns, "uid", c->uid ? c->uid : "",
                           "type", type, "reason", reason, "message", msg, "firstTimestamp", now,
                           "lastTimestamp", now, "count", 1, "source", "component", "gungnir");
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", c->ns);
    if (!ev || !kube_api_ok(kube_api_create(c->env->api, path, ev)))
        log_write(LOG_WARN, "cannot record an event", "valkeycluster", c->name, "reason", reason, "error",
                  ev ? kube_api_errstr(c->env->api) : "out of memory", NULL);
    log_write(LOG_INFO, msg, "valkeycluster", c->name, "namespace", c->ns, "reason", reason, NULL);
    json_decref(ev);
}

/* "namespace/name/reason" -> the message last warned about: the cache may not show the status
 * written after the first warning when the next reconcile runs. */
static struct memo warned = MEMO_INIT;

bool cluster_warned_before(const struct cluster_ctx *c, const char *reason, const char *message)
{
    char key[400];
    snprintf(key, sizeof(key), "%s/%s/%s", c->ns, c->name, reason);
    json_t *last = memo_get(&warned, key);
    bool same = last && strcmp(json_string_value(last), message) == 0;
    json_decref(last);
    if (!same)
        memo_set(&warned, key, json_string(message));
    return same;
}

void cluster_forget_warnings(const char *namespace_, const char *name)
{
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "%s/%s/", namespace_, name);
    memo_forget_prefix(&warned, prefix);
}

void cluster_warn_once(struct cluster_ctx *c, const char *reason, const char *message)
{
    size_t i;
    const json_t *cond;
    json_array_foreach(json_object_get(json_object_get(c->vkc, "status"), "conditions"), i, cond)
    {
        const char *type = cluster_str_at(cond, "type", NULL), *msg = cluster_str_at(cond, "message", NULL);
        if (type && msg && strcmp(type, "Degraded") == 0 && strcmp(msg, message) == 0)
            return;
    }
    if (cluster_warned_before(c, reason, message))
        return;
    cluster_event(c, "Warning", reason, "%s", message);
}

long cluster_patch_status(struct cluster_ctx *c, json_t *status, const char *rv)
{
    char path[CLUSTER_PATH_LEN];
    cluster_self_path(c, "/status", path, sizeof(path));
    json_t *patch = json_pack("{s:o}", "status", status);
    if (patch && rv)
        json_object_set_new(patch, "metadata", json_pack("{s:s}", "resourceVersion", rv));
    long code = patch ? kube_api_merge_patch(c->env->api, path, patch) : -1;
    json_decref(patch);
    return code;
}

int cluster_write_status(struct cluster_ctx *c, const struct status_facts *facts)
{
    char now[32];
    const json_t *old = json_object_get(c->vkc, "status");
    cluster_status_now(now, sizeof(now));
    json_t *st = cluster_status_build(old, facts, now);
    if (!st) {
        log_write(LOG_WARN, "cannot build status", "valkeycluster", c->name, "error", "out of memory", NULL);
        return -1;
    }
    if (cluster_status_unchanged(old, st)) {
        json_decref(st);
        return 0;
    }
    if (!kube_api_ok(cluster_patch_status(c, st, NULL))) {
        log_write(LOG_WARN, "cannot write status", "valkeycluster", c->name, "error",
                  kube_api_errstr(c->env->api), NULL);
        return -1;
    }
    return 0;
}

int cluster_write_blocked(struct cluster_ctx *c, const char *why)
{
    char selector[256];
    desired_selector_text(c->name, selector, sizeof(selector));
    struct status_facts f = {
        .generation = json_integer_value(json_object_get(json_object_get(c->vkc, "metadata"), "generation")),
        .replicas = c->spec.replicas, .selector = selector, .blocked_message = why,
        .refused_message = c->refused[0] ? c->refused : NULL};
    return cluster_write_status(c, &f);
}

int cluster_delete_pod(struct cluster_ctx *c, const struct pod_view *p)
{
    char path[CLUSTER_PATH_LEN];
    json_t *live = NULL;
    const char *uid = cluster_str_at(json_object_get(p->obj, "metadata"), "uid", NULL);
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", c->ns, p->name);
    /* The cache may lag: read the pod again before a destructive step. */
    long code = kube_api_get(c->env->api, path, &live);
    const json_t *md = json_object_get(live, "metadata");
    const char *live_uid = cluster_str_at(md, "uid", NULL);
    bool gone = code == 404 || (code == 200 && (json_object_get(md, "deletionTimestamp") ||
                                                (uid && live_uid && strcmp(uid, live_uid) != 0)));
    json_decref(live);
    if (gone)
        return 1; /* already going, gone, or replaced by a new pod of the same name */
    if (code != 200) {
        log_write(LOG_WARN, "cannot read pod before deleting it", "pod", p->name, "error", kube_api_errstr(c->env->api),
                  NULL);
        return -1;
    }
    code = kube_api_delete(c->env->api, path, uid);
    if (kube_api_ok(code))
        return 0;
    if (code == 404 || code == 409)
        return 1;
    log_write(LOG_WARN, "cannot delete pod", "pod", p->name, "error", kube_api_errstr(c->env->api), NULL);
    return -1;
}

int cluster_clear_switchover_request(struct cluster_ctx *c)
{
    char path[CLUSTER_PATH_LEN];
    cluster_self_path(c, NULL, path, sizeof(path));
    json_t *patch = json_pack("{s:{s:{s:n}}}", "metadata", "annotations", DESIRED_SWITCHOVER_ANNOTATION);
    long code = patch ? kube_api_merge_patch(c->env->api, path, patch) : -1;
    json_decref(patch);
    if (kube_api_ok(code))
        return 0;
    log_write(LOG_WARN, "cannot remove the switchover annotation", "valkeycluster", c->name, "error",
              patch ? kube_api_errstr(c->env->api) : "out of memory", NULL);
    return -1;
}
