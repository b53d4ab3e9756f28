/* vkc_spec.c — typed parse of a ValkeyCluster spec (see vkc_spec.h). */
#include "vkc_spec.h"
#include "vkc_defaults.h"

#include <stdio.h>
#include <string.h>

const char *const vkc_pull_policy_names[] = {"IfNotPresent", "Always", "Never", NULL};
const char *const vkc_qos_names[] = {"BestEffort", "Burstable", "Guaranteed", NULL};
const char *const vkc_persistence_names[] = {"none", "rdb", "aof", NULL};
const char *const vkc_anti_affinity_names[] = {"preferred", "none", "required", NULL};
const char *const vkc_service_type_names[] = {"ClusterIP", "NodePort", "LoadBalancer", NULL};
const char *const vkc_issuer_kind_names[] = {"Issuer", "ClusterIssuer", NULL};

/* A field of an object, or NULL when it is missing or JSON null. Borrowed. */
static const json_t *field(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

/* The path "<parent>.<key>" in buf. */
static const char *path_of(char *buf, size_t size, const char *parent, const char *key)
{
    ferr_path_field(buf, size, parent, key);
    return buf;
}

static int type_error(ferr_list *e, const char *parent, const char *key, const json_t *v,
                      const char *type)
{
    char p[FERR_FIELD_MAX];
    ferr_add(e, FERR_TYPE, path_of(p, sizeof(p), parent, key), v, "%s", type);
    return -1;
}

/* Each reader returns 1 when the field is present and well typed (out set), 0 when missing
 * (out untouched), -1 after adding a type error. */
static int read_int(ferr_list *e, const json_t *obj, const char *parent, const char *key,
                    int64_t *out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return type_error(e, parent, key, v, "integer");
    *out = (int64_t)json_integer_value(v);
    return 1;
}

static int read_bool(ferr_list *e, const json_t *obj, const char *parent, const char *key,
                     bool *out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return type_error(e, parent, key, v, "boolean");
    *out = json_is_true(v);
    return 1;
}

static int read_string(ferr_list *e, const json_t *obj, const char *parent, const char *key,
                       const char **out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return type_error(e, parent, key, v, "string");
    *out = json_string_value(v);
    return 1;
}

static int read_object(ferr_list *e, const json_t *obj, const char *parent, const char *key,
                       const json_t **out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 0;
    if (!json_is_object(v))
        return type_error(e, parent, key, v, "object");
    *out = v;
    return 1;
}

/* Reads a string that must be one of names; stores its index. */
static int read_enum(ferr_list *e, const json_t *obj, const char *parent, const char *key,
                     const char *const *names, int *out)
{
    const char *s = NULL;
    int r = read_string(e, obj, parent, key, &s);
    if (r <= 0)
        return r;
    for (int i = 0; names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 1;
        }
    }
    char p[FERR_FIELD_MAX];
    ferr_unsupported(e, path_of(p, sizeof(p), parent, key), field(obj, key), names);
    return -1;
}

int vkc_spec_quantity(const json_t *v, const char *path, quantity_t *out, ferr_list *errs)
{
    char reason[160];
    char digits[32];
    const char *s;

    if (json_is_integer(v)) {
        snprintf(digits, sizeof(digits), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = digits;
    } else if (json_is_string(v)) {
        s = json_string_value(v);
    } else {
        if (errs)
            ferr_add(errs, FERR_TYPE, path, v, "string");
        return -1;
    }
    if (quantity_parse(s, out, reason, sizeof(reason)) != 0) {
        if (errs)
            ferr_add(errs, FERR_INVALID, path, v, "%s", reason);
        return -1;
    }
    if (out->milli < 0) {
        if (errs)
            ferr_add(errs, FERR_INVALID, path, v, "must be greater than or equal to 0");
        return -1;
    }
    return 0;
}

static int read_quantity(ferr_list *e, const json_t *obj, const char *parent, const char *key,
                         quantity_t *out)
{
    const json_t *v = field(obj, key);
    char p[FERR_FIELD_MAX];
    if (!v)
        return 0;
    return vkc_spec_quantity(v, path_of(p, sizeof(p), parent, key), out, e) == 0 ? 1 : -1;
}

int vkc_spec_resource_set(const json_t *set, const char *path, struct vkc_resource_set *out,
                          ferr_list *errs)
{
    const char *name;
    const json_t *v;
    char p[FERR_FIELD_MAX];
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (!set || json_is_null(set))
        return 0;
    if (!json_is_object(set)) {
        if (errs)
            ferr_add(errs, FERR_TYPE, path, set, "object");
        return -1;
    }
    json_object_foreach((json_t *)set, name, v)
    {
        quantity_t q;
        ferr_path_key(p, sizeof(p), path, name);
        out->count++;
        if (vkc_spec_quantity(v, p, &q, errs) != 0) {
            rc = -1;
            continue;
        }
        if (strcmp(name, "cpu") == 0) {
            out->has_cpu = true;
            out->cpu = q;
        } else if (strcmp(name, "memory") == 0) {
            out->has_memory = true;
            out->memory = q;
        }
    }
    return rc;
}

/* request <= limit for every resource named on both sides. */
static void check_requests_within_limits(ferr_list *e, const json_t *res)
{
    const json_t *req = field(res, "requests"), *lim = field(res, "limits");
    const char *name;
    const json_t *rv;

    if (!json_is_object(req) || !json_is_object(lim))
        return;
    json_object_foreach((json_t *)req, name, rv)
    {
        const json_t *lv = json_object_get(lim, name);
        quantity_t rq, lq;
        char p[FERR_FIELD_MAX];

        /* syntax errors are already reported by vkc_spec_resource_set */
        if (!lv || vkc_spec_quantity(rv, "", &rq, NULL) != 0 || vkc_spec_quantity(lv, "", &lq, NULL) != 0)
            continue;
        if (quantity_cmp(rq, lq) > 0) {
            ferr_path_key(p, sizeof(p), "spec.resources.requests", name);
            if (json_is_string(lv))
                ferr_add(e, FERR_INVALID, p, rv, "must be less than or equal to %s limit of %s",
                         name, json_string_value(lv));
            else
                ferr_add(e, FERR_INVALID, p, rv, "must be less than or equal to %s limit of %g",
                         name, json_number_value(lv));
        }
    }
}

static void parse_priorities(ferr_list *e, const json_t *failover, struct vkc_spec *s)
{
    const json_t *list = field(failover, "priorities");
    const json_t *item;
    size_t i;
    char p[FERR_FIELD_MAX];

    if (!list)
        return;
    if (!json_is_array(list)) {
        type_error(e, "spec.failover", "priorities", list, "array");
        return;
    }
    if (json_array_size(list) > VKC_PRIORITIES_MAX) {
        ferr_add(e, FERR_TOO_LONG, "spec.failover.priorities", NULL,
                 "must have at most %d items", VKC_PRIORITIES_MAX);
        return;
    }
    json_array_foreach(list, i, item)
    {
        struct vkc_priority pr = {-1, -1};
        ferr_path_index(p, sizeof(p), "spec.failover.priorities", i);
        if (!json_is_object(item)) {
            ferr_add(e, FERR_TYPE, p, item, "object");
            continue;
        }
        int ro = read_int(e, item, p, "podOrdinal", &pr.ordinal);
        int rp = read_int(e, item, p, "priority", &pr.priority);
        char fp[FERR_FIELD_MAX];
        if (ro == 0)
            ferr_add(e, FERR_REQUIRED, path_of(fp, sizeof(fp), p, "podOrdinal"), NULL, NULL);
        if (rp == 0)
            ferr_add(e, FERR_REQUIRED, path_of(fp, sizeof(fp), p, "priority"), NULL, NULL);
        if (ro == 1 && rp == 1)
            s->priorities[s->n_priorities++] = pr;
    }
}

/* The server itself: replicas, image and pull policy, resources and QoS class. */
static void read_workload(ferr_list *errs, const json_t *spec, struct vkc_spec *s)
{
    const json_t *obj = NULL;
    int en;
    read_int(errs, spec, "spec", "replicas", &s->replicas);
    if (read_string(errs, spec, "spec", "image", &s->image) < 0)
        s->image = VKC_DEFAULT_IMAGE;
    if (read_enum(errs, spec, "spec", "imagePullPolicy", vkc_pull_policy_names, &en) > 0)
        s->pull_policy = (enum vkc_pull_policy)en;

    if (read_object(errs, spec, "spec", "resources", &obj) > 0) {
        vkc_spec_resource_set(field(obj, "requests"), "spec.resources.requests", &s->requests, errs);
        vkc_spec_resource_set(field(obj, "limits"), "spec.resources.limits", &s->limits, errs);
        check_requests_within_limits(errs, obj);
    }
    if (read_enum(errs, spec, "spec", "qosClass", vkc_qos_names, &en) > 0) {
        s->has_qos = true;
        s->qos = (enum vkc_qos)en;
    }
}

/* The data: spec.storage, spec.persistence and spec.maxmemory. */
static void read_storage(ferr_list *errs, const json_t *spec, struct vkc_spec *s)
{
    const json_t *obj = NULL;
    int en;
    if (read_object(errs, spec, "spec", "storage", &obj) > 0) {
        s->has_storage_size = read_quantity(errs, obj, "spec.storage", "size", &s->storage_size) > 0;
        read_string(errs, obj, "spec.storage", "storageClassName", &s->storage_class);
    }
    obj = NULL;
    if (read_object(errs, spec, "spec", "persistence", &obj) > 0 &&
        read_enum(errs, obj, "spec.persistence", "mode", vkc_persistence_names, &en) > 0)
        s->persistence = (enum vkc_persistence)en;
    s->has_maxmemory = read_quantity(errs, spec, "spec", "maxmemory", &s->maxmemory) > 0;
}

/* Who may talk to the servers: spec.auth and spec.tls with its issuerRef. */
static void read_auth_tls(ferr_list *errs, const json_t *spec, struct vkc_spec *s)
{
    const json_t *obj = NULL;
    int en;
    if (read_object(errs, spec, "spec", "auth", &obj) > 0) {
        read_bool(errs, obj, "spec.auth", "enabled", &s->auth_enabled);
        read_string(errs, obj, "spec.auth", "secretName", &s->auth_secret_name);
    }

    obj = NULL;
    if (read_object(errs, spec, "spec", "tls", &obj) > 0) {
        const json_t *issuer = NULL;
        read_bool(errs, obj, "spec.tls", "enabled", &s->tls_enabled);
        read_string(errs, obj, "spec.tls", "secretName", &s->tls_secret_name);
        if (read_object(errs, obj, "spec.tls", "issuerRef", &issuer) > 0) {
            s->has_issuer = true;
            read_string(errs, issuer, "spec.tls.issuerRef", "name", &s->issuer_name);
            read_string(errs, issuer, "spec.tls.issuerRef", "group", &s->issuer_group);
            if (read_enum(errs, issuer, "spec.tls.issuerRef", "kind", vkc_issuer_kind_names, &en) > 0)
                s->issuer_kind = vkc_issuer_kind_names[en];
        }
    }
}

/* spec.failover: probing, the threshold, priorities and the lag bound. */
static void read_failover(ferr_list *errs, const json_t *spec, struct vkc_spec *s)
{
    const json_t *obj = NULL;
    if (read_object(errs, spec, "spec", "failover", &obj) > 0) {
        read_bool(errs, obj, "spec.failover", "enabled", &s->failover_enabled);
        read_int(errs, obj, "spec.failover", "probeIntervalMilliseconds", &s->probe_interval_ms);
        read_int(errs, obj, "spec.failover", "failureThreshold", &s->failure_threshold);
        read_int(errs, obj, "spec.failover", "replicaPriority", &s->replica_priority);
        read_int(errs, obj, "spec.failover", "maxLagBytes", &s->max_lag_bytes);
        parse_priorities(errs, obj, s);
    }
}

/* What surrounds the servers: spec.config, spec.pod, spec.antiAffinity, spec.service,
 * spec.podDisruptionBudget and spec.metrics. */
static void read_pod_service(ferr_list *errs, const json_t *spec, struct vkc_spec *s)
{
    const json_t *obj = NULL;
    int en;
    if (read_object(errs, spec, "spec", "config", &obj) > 0)
        s->config = obj;
    obj = NULL;
    if (read_object(errs, spec, "spec", "pod", &obj) > 0)
        s->pod = obj;
    if (read_enum(errs, spec, "spec", "antiAffinity", vkc_anti_affinity_names, &en) > 0)
        s->anti_affinity = (enum vkc_anti_affinity)en;

    obj = NULL;
    if (read_object(errs, spec, "spec", "service", &obj) > 0 &&
        read_enum(errs, obj, "spec.service", "type", vkc_service_type_names, &en) > 0)
        s->service_type = (enum vkc_service_type)en;
    obj = NULL;
    if (read_object(errs, spec, "spec", "podDisruptionBudget", &obj) > 0)
        read_bool(errs, obj, "spec.podDisruptionBudget", "enabled", &s->pdb_enabled);
    obj = NULL;
    if (read_object(errs, spec, "spec", "metrics", &obj) > 0)
        read_bool(errs, obj, "spec.metrics", "enabled", &s->metrics_enabled);
}

int vkc_spec_parse(const json_t *spec, struct vkc_spec *s, ferr_list *errs)
{
    size_t before = errs->count + errs->dropped;

    memset(s, 0, sizeof(*s));
    if (!spec) {
        ferr_add(errs, FERR_REQUIRED, "spec", NULL, NULL);
        return -1;
    }
    if (!json_is_object(spec)) {
        ferr_add(errs, FERR_TYPE, "spec", spec, "object");
        return -1;
    }

    /* A field that is missing or of the wrong type keeps its default, so that a type error is
     * not followed by a range error about a value the user never wrote. */
    s->replicas = VKC_DEFAULT_REPLICAS;
    s->probe_interval_ms = VKC_DEFAULT_PROBE_INTERVAL_MS;
    s->failure_threshold = VKC_DEFAULT_FAILURE_THRESHOLD;
    s->replica_priority = VKC_DEFAULT_REPLICA_PRIORITY;

    read_workload(errs, spec, s);
    read_storage(errs, spec, s);
    read_auth_tls(errs, spec, s);
    read_failover(errs, spec, s);
    read_pod_service(errs, spec, s);
    return errs->count + errs->dropped == before ? 0 : -1;
}

int64_t vkc_spec_pod_priority(const struct vkc_spec *s, int64_t ordinal)
{
    for (size_t i = 0; i < s->n_priorities; i++) {
        if (s->priorities[i].ordinal == ordinal)
            return s->priorities[i].priority;
    }
    return s->replica_priority;
}

enum vkc_qos vkc_spec_derived_qos(const struct vkc_resource_set *requests,
                                  const struct vkc_resource_set *limits)
{
    /* Kubernetes derives the QoS class from cpu and memory only. */
    if (!requests->has_cpu && !requests->has_memory && !limits->has_cpu && !limits->has_memory)
        return VKC_QOS_BEST_EFFORT;
    if (limits->has_cpu && limits->has_memory &&
        (!requests->has_cpu || quantity_cmp(requests->cpu, limits->cpu) == 0) &&
        (!requests->has_memory || quantity_cmp(requests->memory, limits->memory) == 0))
        return VKC_QOS_GUARANTEED;
    return VKC_QOS_BURSTABLE;
}
