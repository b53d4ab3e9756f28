/* vkc_defaults.c — the Defaulter (see vkc_defaults.h). */
#include "vkc_defaults.h"

#include "quantity.h"
#include "vkc_spec.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct defaulter {
    jsonpatch *patch;
    int set;    /* fields set */
    int failed; /* allocation failure */
};

static bool missing(const json_t *parent, const char *key)
{
    const json_t *v = json_object_get(parent, key);
    return !v || json_is_null(v);
}

/* Sets parent[key] = value (stolen) when missing, recording the patch op at
 * <parent_ptr>/<key>. */
static void set_default(struct defaulter *d, json_t *parent, const char *parent_ptr,
                        const char *key, json_t *value)
{
    char ptr[JSONPATCH_POINTER_MAX];

    if (!value) {
        d->failed = 1;
        return;
    }
    if (!missing(parent, key)) {
        json_decref(value);
        return;
    }
    snprintf(ptr, sizeof(ptr), "%s", parent_ptr);
    if (jsonpatch_pointer_append(ptr, sizeof(ptr), key) != 0 ||
        json_object_set(parent, key, value) != 0 ||
        (d->patch && jsonpatch_add(d->patch, ptr, value) != 0))
        d->failed = 1;
    json_decref(value);
    d->set++;
}

/* Returns parent[key] as an object, creating it when missing; NULL when it holds another type.
 * Writes its pointer to ptr. */
static json_t *child_object(struct defaulter *d, json_t *parent, const char *parent_ptr,
                            const char *key, char *ptr, size_t ptr_size)
{
    snprintf(ptr, ptr_size, "%s", parent_ptr);
    if (jsonpatch_pointer_append(ptr, ptr_size, key) != 0)
        return NULL;
    set_default(d, parent, parent_ptr, key, json_object());
    json_t *child = json_object_get(parent, key);
    return json_is_object(child) ? child : NULL;
}

/* With qosClass Guaranteed, a lone cpu or memory request is copied to the limit and a lone
 * limit to the request. */
static void default_guaranteed(struct defaulter *d, json_t *spec)
{
    static const char *const names[] = {"cpu", "memory"};
    char rptr[JSONPATCH_POINTER_MAX], qptr[JSONPATCH_POINTER_MAX], lptr[JSONPATCH_POINTER_MAX];
    json_t *res = child_object(d, spec, "/spec", "resources", rptr, sizeof(rptr));
    if (!res)
        return;
    json_t *req = json_object_get(res, "requests"), *lim = json_object_get(res, "limits");
    for (int i = 0; i < 2; i++) {
        json_t *r = json_is_object(req) ? json_object_get(req, names[i]) : NULL;
        json_t *l = json_is_object(lim) ? json_object_get(lim, names[i]) : NULL;
        if (r && !json_is_null(r) && (!l || json_is_null(l))) {
            lim = child_object(d, res, rptr, "limits", lptr, sizeof(lptr));
            if (lim)
                set_default(d, lim, lptr, names[i], json_deep_copy(r));
        } else if (l && !json_is_null(l) && (!r || json_is_null(r))) {
            req = child_object(d, res, rptr, "requests", qptr, sizeof(qptr));
            if (req)
                set_default(d, req, qptr, names[i], json_deep_copy(l));
        }
    }
}

/* qosClass from the resources, and maxmemory at 80% of the memory limit. */
static void default_from_resources(struct defaulter *d, json_t *spec)
{
    const json_t *res = json_object_get(spec, "resources");
    struct vkc_resource_set requests, limits;

    if (res && !json_is_null(res) && !json_is_object(res))
        return;
    if (vkc_spec_resource_set(json_object_get(res, "requests"), "spec.resources.requests", &requests, NULL) != 0 ||
        vkc_spec_resource_set(json_object_get(res, "limits"), "spec.resources.limits", &limits, NULL) != 0)
        return; /* the Validator reports the bad quantity */
    set_default(d, spec, "/spec", "qosClass",
                json_string(vkc_qos_names[vkc_spec_derived_qos(&requests, &limits)]));
    if (limits.has_memory && missing(spec, "maxmemory")) {
        int64_t bytes = quantity_value(limits.memory);
        int64_t max = bytes / 100 * VKC_MAXMEMORY_PERCENT + bytes % 100 * VKC_MAXMEMORY_PERCENT / 100;
        if (max < 1)
            max = 1; /* a limit of a byte or two: "0" would mean no limit to Valkey */
        char text[32];
        snprintf(text, sizeof(text), "%" PRId64, max);
        set_default(d, spec, "/spec", "maxmemory", json_string(text));
    }
}

int vkc_default(json_t *obj, jsonpatch *patch)
{
    struct defaulter d = {patch, 0, 0};
    char p[JSONPATCH_POINTER_MAX];
    json_t *o;

    if (!json_is_object(obj))
        return 0;
    json_t *spec = child_object(&d, obj, "", "spec", p, sizeof(p));
    if (!spec)
        return d.failed ? -1 : d.set;

    set_default(&d, spec, "/spec", "replicas", json_integer(VKC_DEFAULT_REPLICAS));
    set_default(&d, spec, "/spec", "image", json_string(VKC_DEFAULT_IMAGE));
    set_default(&d, spec, "/spec", "imagePullPolicy", json_string(VKC_DEFAULT_PULL_POLICY));

    const char *qos = json_string_value(json_object_get(spec, "qosClass"));
    if (qos && strcmp(qos, "Guaranteed") == 0)
        default_guaranteed(&d, spec); /* first, so maxmemory sees a copied memory limit */
    default_from_resources(&d, spec);
    qos = json_string_value(json_object_get(spec, "qosClass"));
    if (qos && strcmp(qos, "Guaranteed") == 0)
        default_guaranteed(&d, spec); /* derived Guaranteed: requests equal the limits */

    const json_t *storage = json_object_get(spec, "storage");
    quantity_t size;
    bool has_storage = json_is_object(storage) &&
                       vkc_spec_quantity(json_object_get(storage, "size"), "spec.storage.size", &size, NULL) == 0;
    if ((o = child_object(&d, spec, "/spec", "persistence", p, sizeof(p))))
        set_default(&d, o, p, "mode", json_string(has_storage ? "rdb" : "none"));

    if ((o = child_object(&d, spec, "/spec", "auth", p, sizeof(p))))
        set_default(&d, o, p, "enabled", json_true());

    if ((o = child_object(&d, spec, "/spec", "tls", p, sizeof(p)))) {
        set_default(&d, o, p, "enabled", json_false());
        json_t *issuer = json_object_get(o, "issuerRef");
        if (json_is_object(issuer)) {
            char ip[JSONPATCH_POINTER_MAX];
            snprintf(ip, sizeof(ip), "%s", p);
            jsonpatch_pointer_append(ip, sizeof(ip), "issuerRef");
            set_default(&d, issuer, ip, "kind", json_string(VKC_DEFAULT_ISSUER_KIND));
            set_default(&d, issuer, ip, "group", json_string(VKC_DEFAULT_ISSUER_GROUP));
        }
    }

    if ((o = child_object(&d, spec, "/spec", "failover", p, sizeof(p)))) {
        set_default(&d, o, p, "enabled", json_true());
        set_default(&d, o, p, "probeIntervalMilliseconds", json_integer(VKC_DEFAULT_PROBE_INTERVAL_MS));
        set_default(&d, o, p, "failureThreshold", json_integer(VKC_DEFAULT_FAILURE_THRESHOLD));
        set_default(&d, o, p, "replicaPriority", json_integer(VKC_DEFAULT_REPLICA_PRIORITY));
        set_default(&d, o, p, "priorities", json_array());
        set_default(&d, o, p, "maxLagBytes", json_integer(0));
    }

    set_default(&d, spec, "/spec", "config", json_object());
    set_default(&d, spec, "/spec", "antiAffinity", json_string("preferred"));
    if ((o = child_object(&d, spec, "/spec", "service", p, sizeof(p))))
        set_default(&d, o, p, "type", json_string("ClusterIP"));
    if ((o = child_object(&d, spec, "/spec", "podDisruptionBudget", p, sizeof(p))))
        set_default(&d, o, p, "enabled", json_true());
    if ((o = child_object(&d, spec, "/spec", "metrics", p, sizeof(p))))
        set_default(&d, o, p, "enabled", json_false());

    return d.failed ? -1 : d.set;
}
