/* owned_objects.c — see owned_objects.h. */
#include "owned_objects.h"
#include "cluster_password.h"
#include "cluster_writes.h"

#include <stdio.h>
#include <string.h>

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

/* True when observed carries no owner reference at all, or this cluster is its controller. */
static bool controlled_by_us(const struct cluster_ctx *c, const json_t *observed)
{
    const json_t *refs = json_object_get(json_object_get(observed, "metadata"), "ownerReferences");
    size_t i;
    const json_t *r;
    json_array_foreach(refs, i, r)
    {
        if (!json_is_true(json_object_get(r, "controller")))
            continue;
        const char *uid = cluster_str_at(r, "uid", NULL);
        if (uid && c->uid && strcmp(uid, c->uid) == 0)
            return true;
    }
    return json_array_size(refs) == 0;
}

/* Applies desired (stolen) when the cached object differs. Returns 0 or -1. */
static int ensure(struct cluster_ctx *c, struct informer *cache, const char *collection, json_t *desired,
                  bool *created, char *err, size_t errlen)
{
    if (!desired)
        return 0;
    json_t *observed = informer_get(cache, c->ns, cluster_str_at(desired, "metadata", "name"));
    int rc = 0;
    if (observed && !controlled_by_us(c, observed)) {
        snprintf(err, errlen, "%s %s exists and is controlled by another owner", cluster_str_at(desired, "kind", NULL),
                 cluster_str_at(desired, "metadata", "name"));
        rc = -1;
    } else if (!observed || !matches_ignoring_type(desired, observed)) {
        rc = cluster_apply(c, collection, desired, err, errlen);
        if (rc == 0 && !observed && created)
            *created = true;
    }
    json_decref(observed);
    json_decref(desired);
    return rc;
}

/* Deletes collection/name when the cache holds it and this cluster controls it (an object the
 * spec no longer asks for, e.g. the PDB after podDisruptionBudget.enabled: false). Returns 0
 * (deleted, or nothing of ours to delete) or -1 with err set. */
static int remove_owned(struct cluster_ctx *c, struct informer *cache, const char *collection, const char *kind,
                        const char *name, char *err, size_t errlen)
{
    char path[CLUSTER_PATH_LEN];
    json_t *observed = informer_get(cache, c->ns, name);
    bool ours = observed && controlled_by_us(c, observed) &&
                json_array_size(json_object_get(json_object_get(observed, "metadata"), "ownerReferences")) > 0;
    json_decref(observed);
    if (!ours)
        return 0;
    int len = snprintf(path, sizeof(path), "%s/%s", collection, name);
    if (len < 0 || (size_t)len >= sizeof(path)) {
        snprintf(err, errlen, "%s %s: path too long", kind, name);
        return -1;
    }
    long code = kube_api_delete(c->env->api, path, NULL);
    if (kube_api_ok(code) || code == 404) {
        cluster_event(c, "Normal", "Deleted", "deleted %s %s: the spec no longer asks for it", kind, name);
        return 0;
    }
    snprintf(err, errlen, "%s", kube_api_errstr(c->env->api));
    return -1;
}

/* The auth Secret is created once and never rewritten (the password must not change). */
static int ensure_auth_secret(struct cluster_ctx *c, const struct desired_input *in, char *err, size_t errlen)
{
    struct desired_names n;
    char path[CLUSTER_PATH_LEN];
    desired_names_of(c->name, &c->spec, &n);
    if (!c->spec.auth_enabled || c->spec.auth_secret_name)
        return 0;
    json_t *observed = informer_get(c->env->secrets, c->ns, n.auth_secret);
    if (observed) {
        json_decref(observed);
        return 0;
    }
    /* The cache may lag a create we made a moment ago: ask the API server itself. */
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", c->ns, n.auth_secret);
    if (kube_api_get(c->env->api, path, NULL) == 200)
        return 0;
    json_t *secret = desired_auth_secret(in);
    if (!secret) {
        snprintf(err, errlen, "cannot make a password");
        return -1;
    }
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets", c->ns);
    long code = kube_api_create(c->env->api, path, secret);
    json_decref(secret);
    if (code == 409 || kube_api_ok(code))
        return 0;
    snprintf(err, errlen, "%s", kube_api_errstr(c->env->api));
    return -1;
}

int owned_apply_before_pods(struct cluster_ctx *c, const struct desired_input *in, char *err, size_t errlen)
{
    char coll[CLUSTER_PATH_LEN];
    if (ensure_auth_secret(c, in, err, errlen) != 0)
        return -1;
    snprintf(coll, sizeof(coll), "/api/v1/namespaces/%s/configmaps", c->ns);
    if (ensure(c, c->env->configmaps, coll, desired_config_map(in), NULL, err, errlen) != 0)
        return -1;
    snprintf(coll, sizeof(coll), "/api/v1/namespaces/%s/services", c->ns);
    if (ensure(c, c->env->services, coll, desired_headless_service(in), NULL, err, errlen) != 0 ||
        ensure(c, c->env->services, coll, desired_primary_service(in), NULL, err, errlen) != 0 ||
        ensure(c, c->env->services, coll, desired_replica_service(in), NULL, err, errlen) != 0)
        return -1;
    snprintf(coll, sizeof(coll), "%s/namespaces/%s/poddisruptionbudgets", c->env->pdb_path, c->ns);
    json_t *pdb = desired_pdb(in);
    if (pdb)
        return ensure(c, c->env->pdbs, coll, pdb, NULL, err, errlen);
    struct desired_names n;
    desired_names_of(c->name, &c->spec, &n);
    return remove_owned(c, c->env->pdbs, coll, "PodDisruptionBudget", n.pdb, err, errlen);
}

int owned_apply_statefulset(struct cluster_ctx *c, const struct desired_input *in, bool *created, char *err,
                            size_t errlen)
{
    char coll[CLUSTER_PATH_LEN];
    *created = false;
    snprintf(coll, sizeof(coll), "/apis/apps/v1/namespaces/%s/statefulsets", c->ns);
    return ensure(c, c->env->statefulsets, coll, desired_statefulset(in), created, err, errlen);
}

int owned_read_password(struct cluster_ctx *c)
{
    struct desired_names n;
    char why[320];
    c->password[0] = '\0';
    if (!c->spec.auth_enabled)
        return 0;
    desired_names_of(c->name, &c->spec, &n);
    if (cluster_password(c->env->secrets, c->spec.auth_secret_name ? c->env->api : NULL, c->ns, n.auth_secret,
                         c->password, sizeof(c->password), why, sizeof(why)) == 0) {
        if (c->spec.auth_secret_name) /* the monitor's Secret cache does not hold the user's */
            monitor_set_password(c->env->monitor, c->ns, c->name, c->password);
        return 0;
    }
    if (!c->spec.auth_secret_name)
        return 0; /* ours, just created: the cache has not seen it yet */
    snprintf(c->blocked, sizeof(c->blocked), "spec.auth.secretName: %s", why);
    cluster_warn_once(c, "AuthSecretUnusable", c->blocked);
    return -1;
}
