/* vkc_validate.c — the Validator (see vkc_validate.h). */
#include "vkc_validate.h"
#include "conf_keys.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- names ---------------------------------------------------------------------------- */

static int is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static int is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

int vkc_is_dns1035_label(const char *s, size_t max_len)
{
    size_t n = strlen(s);
    if (n == 0 || n > max_len || s[0] < 'a' || s[0] > 'z' || !is_lower_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return 0;
    }
    return 1;
}

/* One DNS-1123 label in s[0..n). */
static int is_dns1123_label_n(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return 0;
    }
    return 1;
}

static int is_dns1123_subdomain_n(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!is_dns1123_label_n(s + start, i - start))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

int vkc_is_dns1123_subdomain(const char *s) { return is_dns1123_subdomain_n(s, strlen(s)); }

/* The name part of a qualified name or a non-empty label value: at most 63 characters,
 * alphanumerics with '-', '_' or '.' between. */
static int is_name_part(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    }
    return 1;
}

int vkc_is_qualified_name(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return is_name_part(s, strlen(s));
    if (strchr(slash + 1, '/'))
        return 0;
    return is_dns1123_subdomain_n(s, (size_t)(slash - s)) && is_name_part(slash + 1, strlen(slash + 1));
}

int vkc_is_label_value(const char *s) { return s[0] == '\0' || is_name_part(s, strlen(s)); }

/* ---- helpers -------------------------------------------------------------------------- */

static void warn(struct vkc_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct vkc_warnings *w, const char *fmt, ...)
{
    if (!w || w->count >= VKC_WARNINGS_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->items[w->count], VKC_WARNING_TEXT_MAX, fmt, ap);
    va_end(ap);
    utf8_trim(w->items[w->count++]);
}

/* An Invalid-value error for an integer field. */
static void bad_int(ferr_list *e, const char *field, int64_t v, const char *detail)
{
    json_t *j = json_integer((json_int_t)v);
    ferr_add(e, FERR_INVALID, field, j, "%s", detail);
    json_decref(j);
}

static void check_range(ferr_list *e, const char *field, int64_t v, int64_t lo, int64_t hi)
{
    char detail[96];
    if (v >= lo && v <= hi)
        return;
    snprintf(detail, sizeof(detail), "must be between %lld and %lld", (long long)lo, (long long)hi);
    bad_int(e, field, v, detail);
}

/* The JSON value at spec.<a>[.<b>], for messages. Borrowed, may be NULL. */
static const json_t *raw(const json_t *spec, const char *a, const char *b)
{
    const json_t *v = json_object_get(spec, a);
    return b ? json_object_get(v, b) : v;
}

static const char *const spec_fields[] = {
    "replicas", "image", "imagePullPolicy", "resources", "qosClass", "storage", "persistence",
    "maxmemory", "auth", "tls", "failover", "config", "pod", "antiAffinity", "service",
    "podDisruptionBudget", "metrics", NULL};
static const char *const pod_fields[] = {
    "labels", "annotations", "nodeSelector", "tolerations", "affinity",
    "topologySpreadConstraints", "priorityClassName", NULL};
static const char *const operator_labels[] = {
    "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
    "gungnir.dev/role", NULL};

static int in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcmp(s, list[i]) == 0)
            return 1;
    }
    return 0;
}

static void warn_unknown_fields(const json_t *obj, const char *path, const char *const *known,
                                struct vkc_warnings *w)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        (void)v;
        if (!in_list(key, known))
            warn(w, "%s.%s: unknown field, ignored", path, key);
    }
}

/* ---- spec rules ----------------------------------------------------------------------- */

static void check_image(const char *image, ferr_list *e, struct vkc_warnings *w)
{
    if (!image || !image[0]) {
        ferr_add(e, FERR_REQUIRED, "spec.image", NULL, NULL);
        return;
    }
    for (const char *c = image; *c; c++) {
        if ((unsigned char)*c <= ' ') {
            json_t *j = json_string(image);
            ferr_add(e, FERR_INVALID, "spec.image", j, "must not contain spaces or control characters");
            json_decref(j);
            return;
        }
    }
    if (strchr(image, '@'))
        return; /* pinned by digest */
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(slash ? slash : image, ':');
    int shown = (int)utf8_cut(image, strnlen(image, 160));
    if (!colon)
        warn(w, "spec.image: \"%.*s\" has no tag, which means \"latest\"; pin a version so every pod runs the same server", shown, image);
    else if (strcmp(colon + 1, "latest") == 0)
        warn(w, "spec.image: \"%.*s\" uses the tag \"latest\"; pin a version so every pod runs the same server", shown, image);
}

static void check_qos(const json_t *spec, const struct vkc_spec *s, ferr_list *e)
{
    if (!s->has_qos)
        return;
    enum vkc_qos derived = vkc_spec_derived_qos(&s->requests, &s->limits);
    if (derived == s->qos)
        return;
    const char *detail;
    switch (s->qos) {
    case VKC_QOS_GUARANTEED:
        detail = "needs cpu and memory requests and limits, each request equal to its limit";
        break;
    case VKC_QOS_BEST_EFFORT:
        detail = "must have no cpu or memory requests or limits";
        break;
    default:
        detail = derived == VKC_QOS_BEST_EFFORT
                     ? "needs at least one cpu or memory request or limit"
                     : "the resources make the pod Guaranteed (cpu and memory requests equal their limits); set qosClass to Guaranteed";
        break;
    }
    ferr_add(e, FERR_INVALID, "spec.qosClass", raw(spec, "qosClass", NULL), "%s", detail);
}

static void check_storage(const json_t *spec, const struct vkc_spec *s, ferr_list *e)
{
    if (s->has_storage_size && s->storage_size.milli <= 0)
        ferr_add(e, FERR_INVALID, "spec.storage.size", raw(spec, "storage", "size"), "must be greater than 0");
    if (s->storage_class && !s->storage_class[0])
        ferr_add(e, FERR_INVALID, "spec.storage.storageClassName", raw(spec, "storage", "storageClassName"),
                 "must not be empty when set");
    if (s->persistence != VKC_PERSIST_NONE && !s->has_storage_size)
        ferr_add(e, FERR_INVALID, "spec.persistence.mode", raw(spec, "persistence", "mode"),
                 "needs spec.storage.size: %s files must live on a persistent volume",
                 s->persistence == VKC_PERSIST_RDB ? "RDB" : "AOF");
    if (s->has_maxmemory && s->limits.has_memory) {
        if (quantity_cmp(s->maxmemory, s->limits.memory) > 0)
            ferr_add(e, FERR_INVALID, "spec.maxmemory", raw(spec, "maxmemory", NULL),
                     "must be less than or equal to the memory limit (%lld bytes)",
                     (long long)quantity_value(s->limits.memory));
        else if (s->maxmemory.milli == 0)
            ferr_add(e, FERR_INVALID, "spec.maxmemory", raw(spec, "maxmemory", NULL),
                     "must be greater than 0 when a memory limit is set");
    }
}

static void check_secret_name(ferr_list *e, const char *field, const char *name, const json_t *v)
{
    if (name && !vkc_is_dns1123_subdomain(name))
        ferr_add(e, FERR_INVALID, field, v,
                 "a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
}

static void check_auth_tls(const json_t *spec, const struct vkc_spec *s, ferr_list *e)
{
    const json_t *tls = json_object_get(spec, "tls");
    check_secret_name(e, "spec.auth.secretName", s->auth_secret_name, raw(spec, "auth", "secretName"));
    check_secret_name(e, "spec.tls.secretName", s->tls_secret_name, raw(spec, "tls", "secretName"));
    if (s->has_issuer) {
        const json_t *issuer = json_object_get(tls, "issuerRef");
        if (!s->issuer_name || !s->issuer_name[0])
            ferr_add(e, FERR_REQUIRED, "spec.tls.issuerRef.name", NULL, NULL);
        else
            check_secret_name(e, "spec.tls.issuerRef.name", s->issuer_name, json_object_get(issuer, "name"));
        if (s->issuer_group && !s->issuer_group[0])
            ferr_add(e, FERR_INVALID, "spec.tls.issuerRef.group", json_object_get(issuer, "group"),
                     "must not be empty");
    }
    if (!s->tls_enabled)
        return;
    if (s->tls_secret_name && s->has_issuer)
        ferr_add(e, FERR_FORBIDDEN, "spec.tls.issuerRef", NULL,
                 "may not be set together with spec.tls.secretName: exactly one of them must be set");
    else if (!s->tls_secret_name && !s->has_issuer)
        ferr_add(e, FERR_REQUIRED, "spec.tls.secretName", NULL,
                 "spec.tls.enabled needs exactly one of spec.tls.secretName and spec.tls.issuerRef");
}

static void check_failover(const struct vkc_spec *s, ferr_list *e, struct vkc_warnings *w)
{
    char field[FERR_FIELD_MAX], sub[FERR_FIELD_MAX], detail[128];
    int seen[VKC_REPLICAS_MAX] = {0};

    check_range(e, "spec.failover.probeIntervalMilliseconds", s->probe_interval_ms, 100, 60000);
    check_range(e, "spec.failover.failureThreshold", s->failure_threshold, 1, 100);
    check_range(e, "spec.failover.replicaPriority", s->replica_priority, 0, 1000);
    if (s->max_lag_bytes < 0)
        bad_int(e, "spec.failover.maxLagBytes", s->max_lag_bytes, "must be greater than or equal to 0");

    for (size_t i = 0; i < s->n_priorities; i++) {
        const struct vkc_priority *p = &s->priorities[i];
        ferr_path_index(field, sizeof(field), "spec.failover.priorities", i);
        ferr_path_field(sub, sizeof(sub), field, "podOrdinal");
        if (p->ordinal < 0) {
            bad_int(e, sub, p->ordinal, "must be greater than or equal to 0");
        } else if (p->ordinal >= VKC_REPLICAS_MAX) {
            snprintf(detail, sizeof(detail), "must be less than %d (the most pods a cluster can have)", VKC_REPLICAS_MAX);
            bad_int(e, sub, p->ordinal, detail);
        } else {
            /* A pod the cluster does not have (yet, or after a scale-down, which the scale
             * subresource may do without this spec being checked): the entry waits. */
            if (s->replicas >= VKC_REPLICAS_MIN && p->ordinal >= s->replicas)
                warn(w, "%s: pod ordinal %lld does not exist with spec.replicas %lld; the entry applies once it does",
                     sub, (long long)p->ordinal, (long long)s->replicas);
            if (seen[p->ordinal]) {
                json_t *j = json_integer((json_int_t)p->ordinal);
                ferr_add(e, FERR_DUPLICATE, sub, j, NULL);
                json_decref(j);
            }
            seen[p->ordinal] = 1;
        }
        ferr_path_field(sub, sizeof(sub), field, "priority");
        check_range(e, sub, p->priority, 0, 1000);
    }

    if (s->replicas < VKC_REPLICAS_MIN || s->replicas > VKC_REPLICAS_MAX || !s->failover_enabled)
        return;
    if (s->replicas == 1) {
        warn(w, "spec.replicas: 1 pod has no replica to promote; failover cannot happen until spec.replicas is at least 2");
        return;
    }
    int64_t promotable = 0;
    for (int64_t ord = 0; ord < s->replicas; ord++) {
        if (vkc_spec_pod_priority(s, ord) > 0)
            promotable++;
    }
    if (promotable < 2) {
        char shown[64];
        snprintf(shown, sizeof(shown), "%lld of %lld pods", (long long)promotable, (long long)s->replicas);
        json_t *j = json_string(shown);
        ferr_add(e, FERR_INVALID, "spec.failover.priorities", j,
                 "with failover enabled at least two pods need a priority above 0 (see spec.failover.replicaPriority)");
        json_decref(j);
    }
}

/* Whether Valkey can split value into arguments (its sdssplitargs rules): at least one
 * argument, quotes closed, and a closing quote followed by a space or the end. */
static bool config_value_splits(const char *v)
{
    size_t args = 0;
    while (*v) {
        while (*v == ' ' || *v == '\t')
            v++;
        if (!*v)
            break;
        args++;
        if (*v == '"' || *v == '\'') {
            char q = *v++;
            while (*v && *v != q) {
                if (q == '"' && *v == '\\' && v[1])
                    v++;
                v++;
            }
            if (!*v)
                return false; /* unbalanced quote */
            v++;
            if (*v && *v != ' ' && *v != '\t')
                return false; /* closing quote must end the argument */
        } else {
            while (*v && *v != ' ' && *v != '\t')
                v++;
        }
    }
    return args > 0;
}

static void check_config(const json_t *config, ferr_list *e)
{
    const char *key;
    const json_t *v;
    char field[FERR_FIELD_MAX];

    json_object_foreach((json_t *)config, key, v)
    {
        ferr_path_key(field, sizeof(field), "spec.config", key);
        size_t n = strlen(key);
        int ok = n > 0 && n <= 128;
        for (size_t i = 0; ok && i < n; i++)
            ok = is_lower_alnum(key[i]) || key[i] == '-';
        if (!ok) {
            json_t *j = json_string(key);
            ferr_add(e, FERR_INVALID, field, j, "keys must match [a-z0-9-]+ (at most 128 characters)");
            json_decref(j);
            continue;
        }
        const struct conf_key *rule = conf_key_lookup(key);
        if (rule && rule->policy == CONF_KEY_OWNED) {
            if (rule->instead)
                ferr_add(e, FERR_FORBIDDEN, field, NULL, "set by the operator; use %s", rule->instead);
            else
                ferr_add(e, FERR_FORBIDDEN, field, NULL, "set by the operator");
            continue;
        }
        if (!json_is_string(v))
            ferr_add(e, FERR_TYPE, field, v, "string");
        else if (strpbrk(json_string_value(v), "\r\n") || strlen(json_string_value(v)) != json_string_length(v))
            ferr_add(e, FERR_INVALID, field, v, "must not contain a newline or NUL");
        else if (!config_value_splits(json_string_value(v)))
            ferr_add(e, FERR_INVALID, field, v,
                     "must hold at least one value, with every quote closed (as valkey.conf reads it)");
    }
}

enum map_kind {
    MAP_ANNOTATIONS,   /* any string values */
    MAP_LABELS,        /* label values; the operator's own keys are refused */
    MAP_NODE_SELECTOR, /* label values; any key (they name node labels) */
};

/* A map of qualified-name keys to string values (pod.labels, annotations, nodeSelector). */
static void check_string_map(const json_t *pod, const char *key, enum map_kind kind, ferr_list *e)
{
    const json_t *m = json_object_get(pod, key);
    const char *k;
    const json_t *v;
    char field[FERR_FIELD_MAX], item[FERR_FIELD_MAX];

    if (!m || json_is_null(m))
        return;
    ferr_path_field(field, sizeof(field), "spec.pod", key);
    if (!json_is_object(m)) {
        ferr_add(e, FERR_TYPE, field, m, "object");
        return;
    }
    json_object_foreach((json_t *)m, k, v)
    {
        ferr_path_key(item, sizeof(item), field, k);
        json_t *jk = json_string(k);
        if (!vkc_is_qualified_name(k))
            ferr_add(e, FERR_INVALID, item, jk,
                     "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'");
        else if (kind == MAP_LABELS && in_list(k, operator_labels))
            ferr_add(e, FERR_FORBIDDEN, item, NULL, "set by the operator");
        json_decref(jk);
        if (!json_is_string(v))
            ferr_add(e, FERR_TYPE, item, v, "string");
        else if (kind != MAP_ANNOTATIONS && !vkc_is_label_value(json_string_value(v)))
            ferr_add(e, FERR_INVALID, item, v,
                     "a valid label value must be 63 characters or less and must be empty or begin and end with an alphanumeric character");
    }
}

static void check_pod(const json_t *pod, ferr_list *e, struct vkc_warnings *w)
{
    const json_t *v;

    check_string_map(pod, "labels", MAP_LABELS, e);
    check_string_map(pod, "annotations", MAP_ANNOTATIONS, e);
    check_string_map(pod, "nodeSelector", MAP_NODE_SELECTOR, e);
    if ((v = json_object_get(pod, "tolerations")) && !json_is_null(v) && !json_is_array(v))
        ferr_add(e, FERR_TYPE, "spec.pod.tolerations", v, "array");
    if ((v = json_object_get(pod, "topologySpreadConstraints")) && !json_is_null(v) && !json_is_array(v))
        ferr_add(e, FERR_TYPE, "spec.pod.topologySpreadConstraints", v, "array");
    if ((v = json_object_get(pod, "affinity")) && !json_is_null(v) && !json_is_object(v))
        ferr_add(e, FERR_TYPE, "spec.pod.affinity", v, "object");
    if ((v = json_object_get(pod, "priorityClassName")) && !json_is_null(v)) {
        if (!json_is_string(v))
            ferr_add(e, FERR_TYPE, "spec.pod.priorityClassName", v, "string");
        else
            check_secret_name(e, "spec.pod.priorityClassName", json_string_value(v), v);
    }
    warn_unknown_fields(pod, "spec.pod", pod_fields, w);
}

static void validate_spec(const json_t *spec, const struct vkc_spec *s, ferr_list *e,
                          struct vkc_warnings *w)
{
    check_range(e, "spec.replicas", s->replicas, VKC_REPLICAS_MIN, VKC_REPLICAS_MAX);
    check_image(s->image, e, w);
    check_qos(spec, s, e);
    check_storage(spec, s, e);
    check_auth_tls(spec, s, e);
    check_failover(s, e, w);
    if (s->config)
        check_config(s->config, e);
    if (s->pod)
        check_pod(s->pod, e, w);
    warn_unknown_fields(spec, "spec", spec_fields, w);
}

/* ---- objects -------------------------------------------------------------------------- */

static void check_metadata(const json_t *obj, ferr_list *e)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const json_t *name = json_object_get(meta, "name");
    const json_t *gen = json_object_get(meta, "generateName");
    const char *n = json_string_value(name);

    if (meta && !json_is_object(meta)) {
        ferr_add(e, FERR_TYPE, "metadata", meta, "object");
        return;
    }
    if (name && !json_is_null(name) && !json_is_string(name)) {
        ferr_add(e, FERR_TYPE, "metadata.name", name, "string");
        return;
    }
    if ((!n || !n[0]) && json_is_string(gen) && json_string_length(gen) > 0) {
        /* The API server appends 5 characters to generateName. */
        const char *g = json_string_value(gen);
        size_t len = strlen(g);
        if (len > VKC_NAME_MAX - 5)
            ferr_add(e, FERR_TOO_LONG, "metadata.generateName", NULL, "must have at most %d bytes", VKC_NAME_MAX - 5);
        else if (g[0] < 'a' || g[0] > 'z' || strspn(g, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
            ferr_add(e, FERR_INVALID, "metadata.generateName", gen,
                     "must start with a lower case letter and hold only lower case alphanumeric characters or '-'");
        return;
    }
    if (!n || !n[0]) {
        ferr_add(e, FERR_REQUIRED, "metadata.name", NULL, "name or generateName is required");
    } else if (strlen(n) > VKC_NAME_MAX) {
        ferr_add(e, FERR_TOO_LONG, "metadata.name", NULL,
                 "must have at most %d bytes (so <name>-<ordinal> pod names and StatefulSet labels fit in 63)", VKC_NAME_MAX);
    } else if (!vkc_is_dns1035_label(n, VKC_NAME_MAX)) {
        ferr_add(e, FERR_INVALID, "metadata.name", name,
                 "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
    }
}

int vkc_validate_object(const json_t *obj, ferr_list *errs, struct vkc_warnings *warns,
                        struct vkc_spec *out)
{
    size_t before = errs->count + errs->dropped;
    struct vkc_spec local;
    struct vkc_spec *s = out ? out : &local;

    if (!json_is_object(obj)) {
        ferr_add(errs, FERR_TYPE, "object", obj, "object");
        return -1;
    }
    check_metadata(obj, errs);
    const json_t *spec = json_object_get(obj, "spec");
    vkc_spec_parse(spec, s, errs);
    if (json_is_object(spec))
        validate_spec(spec, s, errs, warns);
    return errs->count + errs->dropped == before ? 0 : -1;
}

static int is_being_deleted(const json_t *obj)
{
    const json_t *ts = json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp");
    return ts && !json_is_null(ts);
}

/* Adds a Forbidden error marked as a broken transition rule. */
static void forbid(ferr_list *e, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void forbid(ferr_list *e, const char *field, const char *fmt, ...)
{
    char detail[FERR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    ferr_mark_transition(ferr_add(e, FERR_FORBIDDEN, field, NULL, "%s", detail));
}

static const char *shown(const json_t *v, char *buf, size_t size)
{
    if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, size, "none");
    return buf;
}

int vkc_validate_update(const json_t *old_obj, const json_t *new_obj, ferr_list *errs,
                        struct vkc_warnings *warns)
{
    size_t before = errs->count + errs->dropped;
    struct vkc_spec nw, old;
    ferr_list scratch;
    char a[64], b[64];

    if (is_being_deleted(new_obj))
        return 0; /* finalizer removal must always go through */
    vkc_validate_object(new_obj, errs, warns, &nw);
    ferr_init(&scratch);
    const json_t *old_spec = json_object_get(old_obj, "spec");
    const json_t *new_spec = json_object_get(new_obj, "spec");
    if (vkc_spec_parse(old_spec, &old, &scratch) != 0 || !json_is_object(new_spec))
        return errs->count + errs->dropped == before ? 0 : -1; /* nothing sound to compare with */

    const json_t *osize = raw(old_spec, "storage", "size"), *nsize = raw(new_spec, "storage", "size");
    if (old.has_storage_size && nw.has_storage_size && quantity_cmp(nw.storage_size, old.storage_size) < 0)
        forbid(errs, "spec.storage.size", "may not shrink (from %s to %s)", shown(osize, a, sizeof(a)),
               shown(nsize, b, sizeof(b)));
    else if (old.has_storage_size && (!nsize || json_is_null(nsize)))
        forbid(errs, "spec.storage.size", "may not be removed (it was %s)", shown(osize, a, sizeof(a)));
    else if (!old.has_storage_size && nw.has_storage_size)
        forbid(errs, "spec.storage.size", "may not be added to an existing cluster (its pods run on emptyDir)");

    if (old.has_storage_size) {
        const char *oc = old.storage_class ? old.storage_class : "";
        const char *nc = nw.storage_class ? nw.storage_class : "";
        if (strcmp(oc, nc) != 0)
            forbid(errs, "spec.storage.storageClassName", "field is immutable (it is %s)",
                   oc[0] ? oc : "unset");
        if (old.persistence != nw.persistence)
            forbid(errs, "spec.persistence.mode", "field is immutable with storage (it is %s)",
                   vkc_persistence_names[old.persistence]);
    }

    const json_t *fo = json_object_get(json_object_get(old_obj, "status"), "failover");
    if (json_is_true(json_object_get(fo, "inProgress")) && old.replicas != nw.replicas)
        forbid(errs, "spec.replicas", "may not change while a failover is in progress (epoch %s); retry after the failover",
               shown(json_object_get(fo, "epoch"), a, sizeof(a)));

    return errs->count + errs->dropped == before ? 0 : -1;
}

int vkc_validate_scale(const json_t *scale, ferr_list *errs)
{
    size_t before = errs->count + errs->dropped;
    const json_t *r = json_object_get(json_object_get(scale, "spec"), "replicas");

    if (!r || json_is_null(r))
        ferr_add(errs, FERR_REQUIRED, "spec.replicas", NULL, NULL);
    else if (!json_is_integer(r))
        ferr_add(errs, FERR_TYPE, "spec.replicas", r, "integer");
    else
        check_range(errs, "spec.replicas", json_integer_value(r), VKC_REPLICAS_MIN, VKC_REPLICAS_MAX);
    return errs->count + errs->dropped == before ? 0 : -1;
}
