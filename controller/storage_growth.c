/* storage_growth.c — see storage_growth.h. */
#include "storage_growth.h"
#include "cluster_writes.h"
#include "log.h"
#include "quantity.h"

#include <stdio.h>
#include <string.h>

#define CLAIM "data"

/* The bytes a "storage" quantity string says, or -1. */
static int64_t storage_bytes(const json_t *v)
{
    quantity_t q;
    char err[64];
    if (!json_is_string(v) || quantity_parse(json_string_value(v), &q, err, sizeof(err)) != 0)
        return -1;
    return quantity_value(q);
}

/* The request of the StatefulSet's data claim template, or -1 without one. */
static int64_t template_bytes(const json_t *sts)
{
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(json_object_get(sts, "spec"), "volumeClaimTemplates"), i, t)
    {
        const char *name = cluster_str_at(t, "metadata", "name");
        if (name && strcmp(name, CLAIM) == 0)
            return storage_bytes(json_object_get(
                json_object_get(json_object_get(json_object_get(t, "spec"), "resources"), "requests"), "storage"));
    }
    return -1;
}

/* Writes status.storage {size, phase, message} when it differs from the cached one. */
static void report(struct cluster_ctx *c, int64_t bytes, const char *phase, const char *message)
{
    char size[32];
    snprintf(size, sizeof(size), "%lld", (long long)bytes);
    const json_t *old = json_object_get(json_object_get(c->vkc, "status"), "storage");
    const char *os = cluster_str_at(old, "size", NULL), *op = cluster_str_at(old, "phase", NULL);
    const char *om = cluster_str_at(old, "message", NULL);
    if (os && op && om && strcmp(os, size) == 0 && strcmp(op, phase) == 0 && strcmp(om, message) == 0)
        return;
    json_t *st = json_pack("{s:{s:s, s:s, s:s}}", "storage", "size", size, "phase", phase, "message", message);
    if (!st || !kube_api_ok(cluster_patch_status(c, st, NULL)))
        log_write(LOG_WARN, "cannot write status.storage", "valkeycluster", c->name, "error",
                  kube_api_errstr(c->env->api), NULL);
}

/* True when status.storage already says phase for this size. */
static bool reported(const struct cluster_ctx *c, int64_t bytes, const char *phase)
{
    char size[32];
    snprintf(size, sizeof(size), "%lld", (long long)bytes);
    const json_t *st = json_object_get(json_object_get(c->vkc, "status"), "storage");
    const char *os = cluster_str_at(st, "size", NULL), *op = cluster_str_at(st, "phase", NULL);
    return os && op && strcmp(os, size) == 0 && strcmp(op, phase) == 0;
}

/* The claim data-<name>-<i> (new), or NULL; *code is the GET's answer. */
static json_t *get_claim(struct cluster_ctx *c, int64_t i, long *code)
{
    char path[CLUSTER_PATH_LEN];
    json_t *pvc = NULL;
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/persistentvolumeclaims/%s-%s-%lld", c->ns, CLAIM, c->name,
             (long long)i);
    *code = kube_api_get(c->env->api, path, &pvc);
    if (*code != 200) {
        json_decref(pvc);
        return NULL;
    }
    return pvc;
}

/* True when every existing data claim reports at least want bytes of capacity. */
static bool claims_have_capacity(struct cluster_ctx *c, int64_t pods, int64_t want)
{
    for (int64_t i = 0; i < pods; i++) {
        long code;
        json_t *pvc = get_claim(c, i, &code);
        if (!pvc && code == 404)
            continue;
        int64_t cap = storage_bytes(json_object_get(json_object_get(json_object_get(pvc, "status"), "capacity"), "storage"));
        json_decref(pvc);
        if (!pvc || cap < want)
            return false;
    }
    return true;
}

/* Raises the request of each existing data claim below want. Returns 0 when every claim asks
 * for want, 1 when the API server refused one (why set), -1 on another error (err set). */
static int grow_claims(struct cluster_ctx *c, int64_t pods, int64_t want, char *why, size_t whylen, char *err,
                       size_t errlen)
{
    char path[CLUSTER_PATH_LEN], size[32];
    snprintf(size, sizeof(size), "%lld", (long long)want);
    for (int64_t i = 0; i < pods; i++) {
        long code;
        json_t *pvc = get_claim(c, i, &code);
        if (!pvc && code == 404)
            continue; /* never created (or deleted): the new template makes it at the new size */
        if (!pvc) {
            snprintf(err, errlen, "%s", kube_api_errstr(c->env->api));
            return -1;
        }
        int64_t have = storage_bytes(json_object_get(
            json_object_get(json_object_get(json_object_get(pvc, "spec"), "resources"), "requests"), "storage"));
        json_decref(pvc);
        if (have >= want)
            continue;
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/persistentvolumeclaims/%s-%s-%lld", c->ns, CLAIM, c->name,
                 (long long)i);
        json_t *patch = json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests", "storage", size);
        code = patch ? kube_api_merge_patch(c->env->api, path, patch) : -1;
        json_decref(patch);
        if (code == 403 || code == 422) {
            snprintf(why, whylen, "%s", kube_api_errstr(c->env->api));
            return 1;
        }
        if (!kube_api_ok(code)) {
            snprintf(err, errlen, "%s", kube_api_errstr(c->env->api));
            return -1;
        }
    }
    return 0;
}

/* Deletes the StatefulSet and leaves its pods (and claims) alone. Returns 0 or -1 (err set). */
static int delete_orphaning(struct cluster_ctx *c, char *err, size_t errlen)
{
    char path[CLUSTER_PATH_LEN];
    snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/%s/statefulsets/%s?propagationPolicy=Orphan", c->ns,
             c->name);
    long code = kube_api_delete(c->env->api, path, NULL);
    if (kube_api_ok(code) || code == 404)
        return 0;
    snprintf(err, errlen, "%s", kube_api_errstr(c->env->api));
    return -1;
}

int storage_growth_step(struct cluster_ctx *c, int64_t *claim_bytes, char *err, size_t errlen)
{
    *claim_bytes = c->spec.has_storage_size ? quantity_value(c->spec.storage_size) : 0;
    json_t *sts = informer_get(c->env->statefulsets, c->ns, c->name);
    if (!sts || !c->spec.has_storage_size) {
        json_decref(sts);
        return STORAGE_APPLY;
    }
    bool deleting = json_object_get(json_object_get(sts, "metadata"), "deletionTimestamp") != NULL;
    int64_t have = template_bytes(sts);
    int64_t pods = json_integer_value(json_object_get(json_object_get(sts, "spec"), "replicas"));
    json_decref(sts);
    if (deleting)
        return STORAGE_WAIT; /* the orphaning delete is still running */
    int64_t want = *claim_bytes;
    if (have < 0)
        return STORAGE_APPLY;
    if (want <= have) {
        /* No growth to start (a shrink is refused at admission); one under way ends when every
         * claim reports the capacity. */
        if (reported(c, want, "Resizing") && claims_have_capacity(c, pods, want))
            report(c, want, "Resized", "every data claim has the requested capacity");
        return STORAGE_APPLY;
    }
    if (reported(c, want, "Refused")) {
        *claim_bytes = have; /* asked once for this size and refused: see status.storage */
        return STORAGE_APPLY;
    }

    char why[512] = "";
    int rc = grow_claims(c, pods, want, why, sizeof(why), err, errlen);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        /* The storage layer said no: everything else goes on at the old size. */
        char msg[640];
        snprintf(msg, sizeof(msg), "growing the data volumes was refused: %s", why);
        report(c, want, "Refused", msg);
        cluster_warn_once(c, "StorageResizeRefused", msg);
        *claim_bytes = have;
        return STORAGE_APPLY;
    }
    if (delete_orphaning(c, err, errlen) != 0)
        return -1;
    report(c, want, "Resizing", "claims asked to grow; the StatefulSet is recreated with the new size");
    cluster_event(c, "Normal", "StorageResize",
                  "data volumes asked to grow to %lld bytes; StatefulSet %s recreated without touching its pods",
                  (long long)want, c->name);
    return STORAGE_WAIT;
}
