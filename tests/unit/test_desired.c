/* test_desired.c — unit tests for controller/desired.c: the objects a ValkeyCluster owns
 * (api.md, "What the controller owns") and desired_matches, which decides whether the
 * controller writes. Inputs are built as reconcile.c builds them: a ValkeyCluster JSON,
 * vkc_default on a copy, vkc_validate_object into a struct vkc_spec, a struct desired_input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "desired.h"
#include "field_errors.h"
#include "vkc_defaults.h"
#include "vkc_spec.h"
#include "vkc_validate.h"

#define UID "6f1c2a3e-8d4b-4c2a-9e1f-0a1b2c3d4e5f"
#define NS "prod"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Everything a test allocates is kept here and freed by teardown, so a failed assertion
 * leaks nothing. */
#define KEPT_MAX 256
static json_t *kept[KEPT_MAX];
static size_t nkept;
static char *kept_text[KEPT_MAX];
static size_t nkept_text;
static ferr_list errs;

static json_t *keep(json_t *v)
{
    assert_true(nkept < KEPT_MAX);
    kept[nkept++] = v;
    return v;
}

static char *keep_text(char *s)
{
    assert_non_null(s);
    assert_true(nkept_text < KEPT_MAX);
    kept_text[nkept_text++] = s;
    return s;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nkept; i++)
        json_decref(kept[i]);
    for (size_t i = 0; i < nkept_text; i++)
        free(kept_text[i]);
    nkept = nkept_text = 0;
    return 0;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        print_error("cannot parse %s: %s\n", text, jerr.text);
    assert_non_null(v);
    return keep(v);
}

/* One reconciled cluster: the defaulted copy, its parsed spec, the builders' input. */
struct cluster {
    json_t *copy;
    struct vkc_spec spec;
    struct desired_input in;
};

/* Loads ValkeyCluster `name` in NS with spec (JSON text) the way reconcile.c does. */
static void load(struct cluster *c, const char *name, const char *spec)
{
    json_t *obj = parse("{\"apiVersion\":\"gungnir.dev/v1alpha1\",\"kind\":\"ValkeyCluster\","
                        "\"metadata\":{\"namespace\":\"" NS "\",\"uid\":\"" UID "\",\"generation\":1}}");
    json_object_set_new(json_object_get(obj, "metadata"), "name", json_string(name));
    json_object_set(obj, "spec", parse(spec));
    c->copy = keep(json_deep_copy(obj));
    assert_true(vkc_default(c->copy, NULL) >= 0);
    ferr_init(&errs);
    memset(&c->spec, 0, sizeof(c->spec));
    if (vkc_validate_object(c->copy, &errs, NULL, &c->spec) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            print_error("  error: %s\n", errs.items[i].text);
        fail_msg("spec %s is not valid", spec);
    }
    c->in = (struct desired_input){.name = json_string_value(json_object_get(json_object_get(c->copy, "metadata"), "name")),
                                   .namespace_ = NS, .uid = UID, .spec = &c->spec,
                                   .spec_json = json_object_get(c->copy, "spec"),
                                   .pdb_api_version = "policy/v1"};
}

/* The value at a path of object keys and array indices ("0", "1", ...), or NULL. */
static const json_t *at(const json_t *root, ...)
{
    va_list ap;
    const char *k;
    const json_t *v = root;
    va_start(ap, root);
    while (v && (k = va_arg(ap, const char *)) != NULL) {
        if (json_is_array(v))
            v = json_array_get(v, (size_t)strtoul(k, NULL, 10));
        else
            v = json_object_get(v, k);
    }
    va_end(ap);
    return v;
}

#define AT(...) at(__VA_ARGS__, (const char *)NULL)
#define STR(...) json_string_value(AT(__VA_ARGS__))

static void assert_json_equal(const json_t *got, const char *want_text)
{
    json_t *want = parse(want_text);
    if (!json_equal((json_t *)got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        print_error("got  %s\nwant %s\n", g ? g : "(null)", want_text);
        free(g);
        fail();
    }
}

static const json_t *container(const json_t *sts)
{
    const json_t *c = AT(sts, "spec", "template", "spec", "containers", "0");
    assert_non_null(c);
    assert_int_equal(json_array_size(AT(sts, "spec", "template", "spec", "containers")), 1);
    return c;
}

/* The entry of array list whose "name" is name, or NULL. */
static const json_t *named(const json_t *list, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && strcmp(n, name) == 0)
            return v;
    }
    return NULL;
}

static const char *config_hash(const json_t *sts)
{
    const char *h = STR(sts, "spec", "template", "metadata", "annotations", "gungnir.dev/config-hash");
    assert_non_null(h);
    assert_true(h[0] != '\0');
    return h;
}

/* The valkey.conf of spec (kept). */
static const char *conf_of(const struct cluster *c)
{
    return keep_text(desired_valkey_conf(c->in.spec));
}

/* How many lines of text equal line exactly. */
static int count_lines(const char *text, const char *line)
{
    int n = 0;
    size_t len = strlen(line);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == len && memcmp(p, line, len) == 0)
            n++;
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

static void assert_has_line(const char *conf, const char *line)
{
    if (count_lines(conf, line) != 1)
        print_error("valkey.conf has %d lines \"%s\":\n%s\n", count_lines(conf, line), line, conf);
    assert_int_equal(count_lines(conf, line), 1);
}

/* The first line that starts with prefix, or NULL. */
static const char *line_starting(const char *conf, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = conf; p && *p;) {
        if (strncmp(p, prefix, n) == 0)
            return p;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes standard base64 (with padding) into out; returns the length, or -1. */
static int b64_decode(const char *in, char *out, size_t size)
{
    size_t len = strlen(in), o = 0;
    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++)
            v[j] = in[i + j] == '=' ? 0 : b64_value(in[i + j]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
            return -1;
        unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        int bytes = in[i + 2] == '=' ? 1 : in[i + 3] == '=' ? 2 : 3;
        for (int j = 0; j < bytes; j++) {
            if (o + 1 >= size)
                return -1;
            out[o++] = (char)(triple >> (16 - 8 * j) & 0xff);
        }
    }
    out[o] = '\0';
    return (int)o;
}

/* ---- names and labels ------------------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    struct cluster c;
    struct desired_names n;
    load(&c, "cache", "{}");
    desired_names_of("cache", &c.spec, &n);
    assert_string_equal(n.auth_secret, "cache-auth");
    assert_string_equal(n.config_map, "cache-config");
    assert_string_equal(n.headless, "cache-headless");
    assert_string_equal(n.primary_service, "cache");
    assert_string_equal(n.replica_service, "cache-replicas");
    assert_string_equal(n.statefulset, "cache");
    assert_string_equal(n.pdb, "cache");

    load(&c, "cache", "{\"auth\":{\"secretName\":\"my-password\"}}");
    desired_names_of("cache", &c.spec, &n);
    assert_string_equal(n.auth_secret, "my-password");

    /* the longest name the API allows: every derived name is whole */
    char name[VKC_NAME_MAX + 1];
    memset(name, 'a', VKC_NAME_MAX);
    name[VKC_NAME_MAX] = '\0';
    desired_names_of(name, NULL, &n);
    assert_int_equal(strlen(n.replica_service), VKC_NAME_MAX + strlen("-replicas"));
    assert_int_equal(strlen(n.headless), VKC_NAME_MAX + strlen("-headless"));
    assert_int_equal(strlen(n.config_map), VKC_NAME_MAX + strlen("-config"));
    assert_int_equal(strlen(n.auth_secret), VKC_NAME_MAX + strlen("-auth"));
}

static void test_labels_and_selector_text(void **state)
{
    (void)state;
    json_t *l = keep(desired_labels("cache"));
    assert_json_equal(l, "{\"app.kubernetes.io/name\":\"valkey\",\"app.kubernetes.io/instance\":\"cache\","
                         "\"app.kubernetes.io/managed-by\":\"gungnir\"}");
    char buf[256];
    desired_selector_text("cache", buf, sizeof(buf));
    assert_string_equal(buf, "app.kubernetes.io/name=valkey,app.kubernetes.io/instance=cache");
}

/* ---- what every owned object carries ------------------------------------------------------ */

/* api.md's labels and owner reference of every object the cluster "cache" owns, as JSON text. */
#define CACHE_LABELS \
    "{\"app.kubernetes.io/name\":\"valkey\",\"app.kubernetes.io/instance\":\"cache\"," \
    "\"app.kubernetes.io/managed-by\":\"gungnir\"}"
#define CACHE_OWNER \
    "[{\"apiVersion\":\"gungnir.dev/v1alpha1\",\"kind\":\"ValkeyCluster\",\"name\":\"cache\"," \
    "\"uid\":\"" UID "\",\"controller\":true,\"blockOwnerDeletion\":true}]"
/* The head of an owned object of "cache" (JSON members, no braces). */
#define CACHE_HEAD(api_version, kind, name) \
    "\"apiVersion\":\"" api_version "\",\"kind\":\"" kind "\",\"metadata\":{\"name\":\"" name "\"," \
    "\"namespace\":\"" NS "\",\"labels\":" CACHE_LABELS ",\"ownerReferences\":" CACHE_OWNER "}"

static void check_head(const json_t *obj, const char *api_version, const char *kind, const char *name)
{
    assert_non_null(obj);
    assert_string_equal(STR(obj, "apiVersion"), api_version);
    assert_string_equal(STR(obj, "kind"), kind);
    assert_string_equal(STR(obj, "metadata", "name"), name);
    assert_string_equal(STR(obj, "metadata", "namespace"), NS);
    assert_json_equal(AT(obj, "metadata", "labels"), CACHE_LABELS);
    assert_json_equal(AT(obj, "metadata", "ownerReferences"), CACHE_OWNER);
    /* a server-side apply body: nothing the server owns */
    assert_null(AT(obj, "status"));
    assert_null(AT(obj, "metadata", "resourceVersion"));
    assert_null(AT(obj, "metadata", "uid"));
}

static void test_every_object_head(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{}");
    check_head(keep(desired_auth_secret(&c.in)), "v1", "Secret", "cache-auth");
    check_head(keep(desired_config_map(&c.in)), "v1", "ConfigMap", "cache-config");
    check_head(keep(desired_headless_service(&c.in)), "v1", "Service", "cache-headless");
    check_head(keep(desired_primary_service(&c.in)), "v1", "Service", "cache");
    check_head(keep(desired_replica_service(&c.in)), "v1", "Service", "cache-replicas");
    check_head(keep(desired_statefulset(&c.in)), "apps/v1", "StatefulSet", "cache");
    check_head(keep(desired_pdb(&c.in)), "policy/v1", "PodDisruptionBudget", "cache");
}

/* ---- Services --------------------------------------------------------------------------- */

static void test_services(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{}");
    static const char ports[] = "[{\"name\":\"valkey\",\"port\":6379,\"targetPort\":6379,\"protocol\":\"TCP\"}]";

    json_t *h = keep(desired_headless_service(&c.in));
    assert_string_equal(STR(h, "spec", "clusterIP"), "None");
    assert_true(json_is_true(AT(h, "spec", "publishNotReadyAddresses")));
    /* every pod, whatever its role */
    assert_json_equal(AT(h, "spec", "selector"),
                      "{\"app.kubernetes.io/name\":\"valkey\",\"app.kubernetes.io/instance\":\"cache\"}");
    assert_json_equal(AT(h, "spec", "ports"), ports);

    json_t *p = keep(desired_primary_service(&c.in));
    assert_json_equal(AT(p, "spec", "selector"),
                      "{\"app.kubernetes.io/name\":\"valkey\",\"app.kubernetes.io/instance\":\"cache\","
                      "\"gungnir.dev/role\":\"primary\"}");
    assert_string_equal(STR(p, "spec", "type"), "ClusterIP");
    assert_json_equal(AT(p, "spec", "ports"), ports);
    assert_null(AT(p, "spec", "clusterIP")); /* allocated by the server */

    json_t *r = keep(desired_replica_service(&c.in));
    assert_json_equal(AT(r, "spec", "selector"),
                      "{\"app.kubernetes.io/name\":\"valkey\",\"app.kubernetes.io/instance\":\"cache\","
                      "\"gungnir.dev/role\":\"replica\"}");
    assert_string_equal(STR(r, "spec", "type"), "ClusterIP");
    assert_json_equal(AT(r, "spec", "ports"), ports);

    /* spec.service.type reaches the clients' Services, not the headless one */
    load(&c, "cache", "{\"service\":{\"type\":\"LoadBalancer\"}}");
    p = keep(desired_primary_service(&c.in));
    r = keep(desired_replica_service(&c.in));
    h = keep(desired_headless_service(&c.in));
    assert_string_equal(STR(p, "spec", "type"), "LoadBalancer");
    assert_string_equal(STR(r, "spec", "type"), "LoadBalancer");
    assert_string_equal(STR(h, "spec", "clusterIP"), "None");
    assert_null(AT(h, "spec", "type")); /* left to the server's default */
    load(&c, "cache", "{\"service\":{\"type\":\"NodePort\"}}");
    p = keep(desired_primary_service(&c.in));
    assert_string_equal(STR(p, "spec", "type"), "NodePort");
}

/* ---- StatefulSet ------------------------------------------------------------------------ */

static void test_statefulset_basics(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{}");
    json_t *sts = keep(desired_statefulset(&c.in));
    assert_int_equal(json_integer_value(AT(sts, "spec", "replicas")), 3);
    assert_string_equal(STR(sts, "spec", "serviceName"), "cache-headless");
    assert_string_equal(STR(sts, "spec", "podManagementPolicy"), "Parallel");
    assert_json_equal(AT(sts, "spec", "selector"),
                      "{\"matchLabels\":{\"app.kubernetes.io/name\":\"valkey\","
                      "\"app.kubernetes.io/instance\":\"cache\"}}");
    /* the template's labels: api.md's pod labels, which the selector matches; never a role */
    const json_t *labels = AT(sts, "spec", "template", "metadata", "labels");
    assert_string_equal(STR(labels, "app.kubernetes.io/name"), "valkey");
    assert_string_equal(STR(labels, "app.kubernetes.io/instance"), "cache");
    assert_string_equal(STR(labels, "app.kubernetes.io/managed-by"), "gungnir");
    assert_null(AT(labels, "gungnir.dev/role"));

    const json_t *ct = container(sts);
    assert_string_equal(STR(ct, "image"), "valkey/valkey:8.1");
    assert_string_equal(STR(ct, "imagePullPolicy"), "IfNotPresent");
    assert_null(AT(ct, "resources")); /* none in the spec: BestEffort */
    assert_int_equal(json_integer_value(AT(named(AT(ct, "ports"), "valkey"), "containerPort")), 6379);
    assert_string_equal(STR(named(AT(ct, "volumeMounts"), "config"), "mountPath"), "/etc/valkey");
    assert_string_equal(STR(named(AT(ct, "volumeMounts"), "data"), "mountPath"), "/data");
    const json_t *vols = AT(sts, "spec", "template", "spec", "volumes");
    assert_string_equal(STR(named(vols, "config"), "configMap", "name"), "cache-config");
    assert_json_equal(AT(ct, "readinessProbe"),
                      "{\"exec\":{\"command\":[\"sh\",\"-c\",\"valkey-cli ping | grep -q PONG\"]},"
                      "\"periodSeconds\":2,\"timeoutSeconds\":2,\"failureThreshold\":2,\"successThreshold\":1}");

    load(&c, "cache", "{\"replicas\":5,\"image\":\"registry.example/valkey:8.1.1\","
                      "\"imagePullPolicy\":\"Always\"}");
    sts = keep(desired_statefulset(&c.in));
    assert_int_equal(json_integer_value(AT(sts, "spec", "replicas")), 5);
    ct = container(sts);
    assert_string_equal(STR(ct, "image"), "registry.example/valkey:8.1.1");
    assert_string_equal(STR(ct, "imagePullPolicy"), "Always");
    load(&c, "cache", "{\"replicas\":1,\"imagePullPolicy\":\"Never\"}");
    sts = keep(desired_statefulset(&c.in));
    assert_int_equal(json_integer_value(AT(sts, "spec", "replicas")), 1);
    assert_string_equal(STR(container(sts), "imagePullPolicy"), "Never");
}

static void test_statefulset_resources(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"512Mi\"},"
                      "\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}");
    json_t *sts = keep(desired_statefulset(&c.in));
    assert_json_equal(AT(container(sts), "resources"),
                      "{\"requests\":{\"cpu\":\"250m\",\"memory\":\"512Mi\"},"
                      "\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}");
    /* the defaulted resources (Guaranteed copies a lone limit to the request) */
    load(&c, "cache", "{\"qosClass\":\"Guaranteed\",\"resources\":{\"limits\":{\"cpu\":\"2\",\"memory\":\"2Gi\"}}}");
    sts = keep(desired_statefulset(&c.in));
    assert_json_equal(AT(container(sts), "resources"), "{\"requests\":{\"cpu\":\"2\",\"memory\":\"2Gi\"},"
                                                       "\"limits\":{\"cpu\":\"2\",\"memory\":\"2Gi\"}}");
}

static void test_pod_passthrough(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache",
         "{\"pod\":{\"labels\":{\"team\":\"payments\",\"tier\":\"cache\"},"
         "\"annotations\":{\"prometheus.io/scrape\":\"true\"},"
         "\"nodeSelector\":{\"disktype\":\"ssd\"},"
         "\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"valkey\",\"effect\":\"NoSchedule\"}],"
         "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":"
         "[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}]}}},"
         "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"zone\",\"whenUnsatisfiable\":\"DoNotSchedule\","
         "\"labelSelector\":{\"matchLabels\":{\"app.kubernetes.io/instance\":\"cache\"}}}],"
         "\"priorityClassName\":\"high\"}}");
    json_t *sts = keep(desired_statefulset(&c.in));
    const json_t *meta = AT(sts, "spec", "template", "metadata");
    const json_t *pod = AT(sts, "spec", "template", "spec");
    assert_string_equal(STR(meta, "labels", "team"), "payments");
    assert_string_equal(STR(meta, "labels", "tier"), "cache");
    assert_string_equal(STR(meta, "labels", "app.kubernetes.io/instance"), "cache");
    assert_string_equal(STR(meta, "annotations", "prometheus.io/scrape"), "true");
    assert_non_null(STR(meta, "annotations", "gungnir.dev/config-hash"));
    assert_json_equal(AT(pod, "nodeSelector"), "{\"disktype\":\"ssd\"}");
    assert_json_equal(AT(pod, "tolerations"), "[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"valkey\","
                                              "\"effect\":\"NoSchedule\"}]");
    assert_json_equal(AT(pod, "affinity", "nodeAffinity"),
                      "{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":"
                      "[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}]}}");
    /* the user's node affinity and the default anti-affinity together */
    assert_non_null(AT(pod, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution"));
    assert_int_equal(json_array_size(AT(pod, "topologySpreadConstraints")), 1);
    assert_string_equal(STR(pod, "topologySpreadConstraints", "0", "topologyKey"), "zone");
    assert_string_equal(STR(pod, "priorityClassName"), "high");
    /* the object's own labels stay the operator's (pod.labels are for pods only) */
    assert_null(AT(sts, "metadata", "labels", "team"));

    /* nothing passed through when spec.pod is absent */
    load(&c, "cache", "{}");
    sts = keep(desired_statefulset(&c.in));
    pod = AT(sts, "spec", "template", "spec");
    assert_null(AT(pod, "nodeSelector"));
    assert_null(AT(pod, "tolerations"));
    assert_null(AT(pod, "topologySpreadConstraints"));
    assert_null(AT(pod, "priorityClassName"));
    assert_int_equal(json_object_size(AT(sts, "spec", "template", "metadata", "labels")), 3);
    assert_int_equal(json_object_size(AT(sts, "spec", "template", "metadata", "annotations")), 1);
}

static void test_anti_affinity(void **state)
{
    (void)state;
    struct cluster c;
    static const char term[] = "{\"labelSelector\":{\"matchLabels\":{\"app.kubernetes.io/name\":\"valkey\","
                               "\"app.kubernetes.io/instance\":\"cache\"}},\"topologyKey\":\"kubernetes.io/hostname\"}";
    char want[1024];

    load(&c, "cache", "{}"); /* default: preferred */
    json_t *sts = keep(desired_statefulset(&c.in));
    snprintf(want, sizeof(want), "{\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":100,"
                                 "\"podAffinityTerm\":%s}]}", term);
    assert_json_equal(AT(sts, "spec", "template", "spec", "affinity", "podAntiAffinity"), want);

    load(&c, "cache", "{\"antiAffinity\":\"required\"}");
    sts = keep(desired_statefulset(&c.in));
    snprintf(want, sizeof(want), "{\"requiredDuringSchedulingIgnoredDuringExecution\":[%s]}", term);
    assert_json_equal(AT(sts, "spec", "template", "spec", "affinity", "podAntiAffinity"), want);

    load(&c, "cache", "{\"antiAffinity\":\"none\"}");
    sts = keep(desired_statefulset(&c.in));
    assert_null(AT(sts, "spec", "template", "spec", "affinity"));

    /* none keeps the user's own affinity */
    load(&c, "cache", "{\"antiAffinity\":\"none\",\"pod\":{\"affinity\":{\"podAffinity\":{"
                      "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":1,\"podAffinityTerm\":"
                      "{\"topologyKey\":\"zone\"}}]}}}}");
    sts = keep(desired_statefulset(&c.in));
    assert_non_null(AT(sts, "spec", "template", "spec", "affinity", "podAffinity"));
    assert_null(AT(sts, "spec", "template", "spec", "affinity", "podAntiAffinity"));

    /* a podAntiAffinity the user wrote is theirs, not replaced */
    load(&c, "cache", "{\"antiAffinity\":\"required\",\"pod\":{\"affinity\":{\"podAntiAffinity\":{"
                      "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":7,\"podAffinityTerm\":"
                      "{\"topologyKey\":\"zone\"}}]}}}}");
    sts = keep(desired_statefulset(&c.in));
    assert_int_equal(json_integer_value(AT(sts, "spec", "template", "spec", "affinity", "podAntiAffinity",
                                           "preferredDuringSchedulingIgnoredDuringExecution", "0", "weight")),
                     7);
}

/* The config hash on the pod template rolls the pods when valkey.conf changes, and only then. */
static void test_config_hash(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\"}}");
    const char *base = config_hash(keep(desired_statefulset(&c.in)));
    assert_int_equal(strlen(base), 16);
    /* the same spec again */
    load(&c, "cache", "{\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\"}}");
    assert_string_equal(config_hash(keep(desired_statefulset(&c.in))), base);
    /* the same config in another JSON order */
    load(&c, "cache", "{\"config\":{\"maxmemory-policy\":\"allkeys-lru\",\"hz\":\"20\"}}");
    assert_string_equal(config_hash(keep(desired_statefulset(&c.in))), base);
    /* changes that are not valkey.conf */
    static const char *const same[] = {
        "{\"replicas\":7,\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\"}}",
        "{\"image\":\"valkey/valkey:8.1.2\",\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\"}}",
        "{\"pod\":{\"labels\":{\"a\":\"b\"}},\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\"}}",
        "{\"antiAffinity\":\"required\",\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\"}}",
        "{\"service\":{\"type\":\"NodePort\"},\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\"}}",
        "{\"auth\":{\"enabled\":false},\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\"}}",
        /* a new value of a key Valkey takes at run time: applied with CONFIG SET, no restart */
        "{\"config\":{\"hz\":\"21\",\"maxmemory-policy\":\"allkeys-lru\"}}",
        "{\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"volatile-lru\"}}",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        load(&c, "cache", same[i]);
        const char *h = config_hash(keep(desired_statefulset(&c.in)));
        if (strcmp(h, base) != 0)
            print_error("hash changed for %s\n", same[i]);
        assert_string_equal(h, base);
    }
    /* changes of spec.config that need a restart: a key added or removed (a removed key's
     * default is only had back by a restart), a key Valkey reads only at start */
    static const char *const differ[] = {
        "{\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\",\"databases\":\"32\"}}",
        "{\"config\":{\"hz\":\"20\"}}",
        "{\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\",\"timeout\":\"300\"}}",
        "{}",
    };
    for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
        load(&c, "cache", differ[i]);
        const char *h = config_hash(keep(desired_statefulset(&c.in)));
        if (strcmp(h, base) == 0)
            print_error("hash unchanged for %s\n", differ[i]);
        assert_string_not_equal(h, base);
    }
    /* a user annotation of the same name does not replace it */
    load(&c, "cache", "{\"pod\":{\"annotations\":{\"gungnir.dev/config-hash\":\"x\"}},"
                      "\"config\":{\"hz\":\"20\",\"maxmemory-policy\":\"allkeys-lru\"}}");
    assert_string_equal(config_hash(keep(desired_statefulset(&c.in))), base);
}

static void test_storage(void **state)
{
    (void)state;
    struct cluster c;
    /* no storage: emptyDir, no claims */
    load(&c, "cache", "{}");
    json_t *sts = keep(desired_statefulset(&c.in));
    assert_null(AT(sts, "spec", "volumeClaimTemplates"));
    const json_t *vols = AT(sts, "spec", "template", "spec", "volumes");
    assert_non_null(named(vols, "data"));
    assert_json_equal(AT(named(vols, "data"), "emptyDir"), "{}");

    /* storage.size: a claim template named data, no emptyDir */
    load(&c, "cache", "{\"storage\":{\"size\":\"10Gi\"}}");
    sts = keep(desired_statefulset(&c.in));
    /* The claim asks for 10Gi written in bytes, 10 * 2^30; no storageClassName: the cluster's
     * default class. */
    const json_t *claims = AT(sts, "spec", "volumeClaimTemplates");
    assert_json_equal(claims, "[{\"metadata\":{\"name\":\"data\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
                              "\"resources\":{\"requests\":{\"storage\":\"10737418240\"}}}}]");
    /* the API server gives it back as "10Gi": the same quantity, no write */
    assert_true(desired_matches(AT(claims, "0", "spec", "resources"),
                                parse("{\"requests\":{\"storage\":\"10Gi\"}}")));
    assert_false(desired_matches(AT(claims, "0", "spec", "resources"),
                                 parse("{\"requests\":{\"storage\":\"10G\"}}")));
    vols = AT(sts, "spec", "template", "spec", "volumes");
    assert_null(named(vols, "data"));
    assert_non_null(named(vols, "config"));
    assert_string_equal(STR(named(AT(container(sts), "volumeMounts"), "data"), "mountPath"), "/data");

    /* with a class */
    load(&c, "cache", "{\"storage\":{\"size\":\"1Gi\",\"storageClassName\":\"fast-ssd\"}}");
    sts = keep(desired_statefulset(&c.in));
    assert_json_equal(AT(sts, "spec", "volumeClaimTemplates"),
                      "[{\"metadata\":{\"name\":\"data\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
                      "\"resources\":{\"requests\":{\"storage\":\"1073741824\"}},\"storageClassName\":\"fast-ssd\"}}]");
    /* a decimal size: 10G is 10^10 bytes */
    load(&c, "cache", "{\"storage\":{\"size\":\"10G\"}}");
    sts = keep(desired_statefulset(&c.in));
    assert_string_equal(STR(sts, "spec", "volumeClaimTemplates", "0", "spec", "resources", "requests", "storage"),
                        "10000000000");

    /* a class without a size is not a claim */
    load(&c, "cache", "{\"storage\":{\"storageClassName\":\"fast-ssd\"}}");
    sts = keep(desired_statefulset(&c.in));
    assert_null(AT(sts, "spec", "volumeClaimTemplates"));
    assert_non_null(AT(named(AT(sts, "spec", "template", "spec", "volumes"), "data"), "emptyDir"));
}

static void test_password_env(void **state)
{
    (void)state;
    struct cluster c;
    /* auth on (the default): the password comes from <name>-auth */
    load(&c, "cache", "{}");
    json_t *sts = keep(desired_statefulset(&c.in));
    const json_t *ct = container(sts);
    assert_json_equal(AT(ct, "env"), "[{\"name\":\"VALKEY_PASSWORD\",\"valueFrom\":{\"secretKeyRef\":"
                                     "{\"name\":\"cache-auth\",\"key\":\"password\"}}},"
                                     "{\"name\":\"VALKEYCLI_AUTH\",\"valueFrom\":{\"secretKeyRef\":"
                                     "{\"name\":\"cache-auth\",\"key\":\"password\"}}},"
                                     "{\"name\":\"REDISCLI_AUTH\",\"valueFrom\":{\"secretKeyRef\":"
                                     "{\"name\":\"cache-auth\",\"key\":\"password\"}}}]");
    /* On stdin from a here-document, never an argument (test_pod_template.c says more). */
    const char *cmd = STR(ct, "command", "2");
    assert_non_null(strstr(cmd, "\nrequirepass \"$VALKEY_PASSWORD\"\n"));
    assert_non_null(strstr(cmd, "\nmasterauth \"$VALKEY_PASSWORD\"\n"));
    assert_null(strstr(cmd, "--requirepass"));

    /* the user's own Secret */
    load(&c, "cache", "{\"auth\":{\"secretName\":\"shared-valkey-password\"}}");
    sts = keep(desired_statefulset(&c.in));
    assert_string_equal(STR(container(sts), "env", "0", "valueFrom", "secretKeyRef", "name"), "shared-valkey-password");
    assert_string_equal(STR(container(sts), "env", "0", "valueFrom", "secretKeyRef", "key"), "password");

    /* auth off: no password anywhere */
    load(&c, "cache", "{\"auth\":{\"enabled\":false}}");
    sts = keep(desired_statefulset(&c.in));
    ct = container(sts);
    assert_json_equal(AT(ct, "env"), "[]"); /* the server leaves it out; desired_matches allows that */
    char *all = keep_text(json_dumps(sts, 0));
    assert_null(strstr(all, "VALKEY_PASSWORD"));
    assert_null(strstr(all, "requirepass"));
    assert_null(strstr(all, "secretKeyRef"));
}

/* ---- valkey.conf ------------------------------------------------------------------------ */

static void test_conf_fenced(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{}");
    const char *conf = conf_of(&c);
    /* boot fenced: every pod starts as a replica of an unroutable address */
    assert_has_line(conf, "replicaof 192.0.2.1 6379");
    assert_has_line(conf, "port 6379");
    assert_has_line(conf, "dir /data");
    assert_null(line_starting(conf, "slaveof"));
    /* the password is never in the ConfigMap */
    assert_null(strstr(conf, "requirepass"));
    assert_null(strstr(conf, "masterauth"));
    assert_null(line_starting(conf, "maxmemory ")); /* no limit, no maxmemory */
    assert_true(conf[strlen(conf) - 1] == '\n');

    json_t *cm = keep(desired_config_map(&c.in));
    assert_string_equal(STR(cm, "data", "valkey.conf"), conf);
    assert_int_equal(json_object_size(AT(cm, "data")), 1);
    /* the Secret's password is not in the ConfigMap */
    json_t *secret = keep(desired_auth_secret(&c.in));
    char pw[64];
    assert_int_equal(b64_decode(STR(secret, "data", "password"), pw, sizeof(pw)), 24);
    assert_null(strstr(STR(cm, "data", "valkey.conf"), pw));
}

static void test_conf_maxmemory(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{\"maxmemory\":\"100Mi\"}");
    assert_has_line(conf_of(&c), "maxmemory 104857600");
    load(&c, "cache", "{\"maxmemory\":\"1G\"}");
    assert_has_line(conf_of(&c), "maxmemory 1000000000");
    /* the default: 80% of the memory limit */
    load(&c, "cache", "{\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}");
    assert_has_line(conf_of(&c), "maxmemory 858993459");
    load(&c, "cache", "{\"resources\":{\"limits\":{\"memory\":\"1Gi\"}},\"maxmemory\":\"512Mi\"}");
    assert_has_line(conf_of(&c), "maxmemory 536870912");
    /* maxmemory changes valkey.conf, so the pods roll */
    load(&c, "cache", "{\"maxmemory\":\"100Mi\"}");
    const char *h1 = config_hash(keep(desired_statefulset(&c.in)));
    load(&c, "cache", "{\"maxmemory\":\"200Mi\"}");
    assert_string_not_equal(config_hash(keep(desired_statefulset(&c.in))), h1);
}

static void test_conf_persistence(void **state)
{
    (void)state;
    struct cluster c;
    const char *conf;
    /* without storage the default is none */
    load(&c, "cache", "{}");
    conf = conf_of(&c);
    assert_has_line(conf, "save \"\"");
    assert_has_line(conf, "appendonly no");
    load(&c, "cache", "{\"persistence\":{\"mode\":\"none\"}}");
    conf = conf_of(&c);
    assert_has_line(conf, "save \"\"");
    assert_has_line(conf, "appendonly no");
    /* with storage the default is rdb */
    load(&c, "cache", "{\"storage\":{\"size\":\"1Gi\"}}");
    conf = conf_of(&c);
    assert_has_line(conf, "appendonly no");
    const char *save = line_starting(conf, "save ");
    assert_non_null(save);
    assert_true(strncmp(save, "save \"\"", 7) != 0); /* snapshots on */
    assert_has_line(conf, "save 3600 1 300 100 60 10000");
    load(&c, "cache", "{\"storage\":{\"size\":\"1Gi\"},\"persistence\":{\"mode\":\"aof\"}}");
    conf = conf_of(&c);
    assert_has_line(conf, "appendonly yes");
    assert_int_equal(count_lines(conf, "appendonly no"), 0);
    assert_has_line(conf, "appendfsync everysec");
    load(&c, "cache", "{\"storage\":{\"size\":\"1Gi\"},\"persistence\":{\"mode\":\"none\"}}");
    conf = conf_of(&c);
    assert_has_line(conf, "save \"\"");
    assert_has_line(conf, "appendonly no");
}

static void test_conf_user_config_sorted(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{\"config\":{\"zset-max-listpack-entries\":\"256\",\"hz\":\"20\","
                      "\"client-output-buffer-limit\":\"pubsub 32mb 8mb 60\",\"activedefrag\":\"yes\","
                      "\"maxmemory-policy\":\"allkeys-lru\"}}");
    const char *conf = conf_of(&c);
    static const char *const order[] = {"activedefrag yes", "client-output-buffer-limit pubsub 32mb 8mb 60",
                                        "hz 20", "maxmemory-policy allkeys-lru", "zset-max-listpack-entries 256"};
    const char *prev = NULL;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        assert_has_line(conf, order[i]);
        const char *p = line_starting(conf, order[i]);
        if (prev)
            assert_true(p > prev);
        prev = p;
    }
    /* the user's directives come after the operator's (a later line wins in valkey.conf, and
     * the owned keys are refused by the webhook) */
    assert_true(line_starting(conf, "activedefrag") > line_starting(conf, "replicaof"));
    /* no config, no extra lines */
    load(&c, "cache", "{}");
    const char *plain = conf_of(&c);
    load(&c, "cache", "{\"config\":{}}");
    assert_string_equal(conf_of(&c), plain);
}

/* ---- Secret ----------------------------------------------------------------------------- */

static void test_auth_secret(void **state)
{
    (void)state;
    struct cluster c;
    char pw1[64], pw2[64];
    load(&c, "cache", "{}");
    json_t *s1 = keep(desired_auth_secret(&c.in));
    json_t *s2 = keep(desired_auth_secret(&c.in));
    assert_non_null(s1);
    assert_string_equal(STR(s1, "type"), "Opaque");
    assert_int_equal(json_object_size(AT(s1, "data")), 1);
    assert_null(AT(s1, "stringData"));
    assert_int_equal(b64_decode(STR(s1, "data", "password"), pw1, sizeof(pw1)), 24);
    assert_int_equal(b64_decode(STR(s2, "data", "password"), pw2, sizeof(pw2)), 24);
    for (size_t i = 0; i < 24; i++) {
        assert_true(isalnum((unsigned char)pw1[i]));
        assert_true(isalnum((unsigned char)pw2[i]));
    }
    /* random: a new password on every call */
    assert_string_not_equal(pw1, pw2);
    for (int i = 0; i < 20; i++) {
        json_t *s = keep(desired_auth_secret(&c.in));
        char pw[64];
        assert_int_equal(b64_decode(STR(s, "data", "password"), pw, sizeof(pw)), 24);
        assert_string_not_equal(pw, pw1);
        json_decref(s);
        nkept--;
    }

    load(&c, "cache", "{\"auth\":{\"enabled\":false}}");
    assert_null(desired_auth_secret(&c.in));
    load(&c, "cache", "{\"auth\":{\"enabled\":true,\"secretName\":\"mine\"}}");
    assert_null(desired_auth_secret(&c.in));
}

/* ---- PodDisruptionBudget ---------------------------------------------------------------- */

static void test_pdb(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{}");
    json_t *pdb = keep(desired_pdb(&c.in));
    assert_string_equal(STR(pdb, "apiVersion"), "policy/v1");
    assert_int_equal(json_integer_value(AT(pdb, "spec", "maxUnavailable")), 1);
    assert_null(AT(pdb, "spec", "minAvailable"));
    assert_json_equal(AT(pdb, "spec", "selector"),
                      "{\"matchLabels\":{\"app.kubernetes.io/name\":\"valkey\","
                      "\"app.kubernetes.io/instance\":\"cache\"}}");
    /* the version the server serves (1.20: policy/v1beta1) */
    c.in.pdb_api_version = "policy/v1beta1";
    pdb = keep(desired_pdb(&c.in));
    assert_string_equal(STR(pdb, "apiVersion"), "policy/v1beta1");
    check_head(pdb, "policy/v1beta1", "PodDisruptionBudget", "cache");

    load(&c, "cache", "{\"replicas\":2}");
    assert_non_null(keep(desired_pdb(&c.in)));
    load(&c, "cache", "{\"replicas\":1}");
    assert_null(desired_pdb(&c.in));
    load(&c, "cache", "{\"podDisruptionBudget\":{\"enabled\":false}}");
    assert_null(desired_pdb(&c.in));
}

/* ---- desired_matches -------------------------------------------------------------------- */

/* What the API server returns for a desired object: the same fields plus its own. */
static json_t *as_observed(const json_t *desired)
{
    json_t *o = keep(json_deep_copy(desired));
    json_t *meta = json_object_get(o, "metadata");
    json_object_set_new(meta, "uid", json_string("0000-1111"));
    json_object_set_new(meta, "resourceVersion", json_string("12345"));
    json_object_set_new(meta, "creationTimestamp", json_string("2026-11-24T10:00:00Z"));
    json_object_set_new(meta, "managedFields", json_pack("[{s:s}]", "manager", "gungnir"));
    json_object_set_new(o, "status", json_pack("{s:i}", "replicas", 3));
    return o;
}

/* The objects test_matches_objects' cluster owns (storage, a memory request, no limit), written
 * out from api.md ("Owned objects", "Defaulting") rather than taken from desired.c. */
#define CACHE_SELECTOR "\"app.kubernetes.io/name\":\"valkey\",\"app.kubernetes.io/instance\":\"cache\""
#define VALKEY_PORTS "[{\"name\":\"valkey\",\"port\":6379,\"targetPort\":6379,\"protocol\":\"TCP\"}]"
static const char want_config_map[] =
    "{" CACHE_HEAD("v1", "ConfigMap", "cache-config") ",\"data\":{\"valkey.conf\":"
    "\"# Written by gungnir; edit spec.config of the ValkeyCluster instead.\\n"
    "port 6379\\nbind * -::*\\nprotected-mode no\\ndir /data\\nreplicaof 192.0.2.1 6379\\nreplica-read-only yes\\n"
    "repl-diskless-sync-delay 0\\nsave 3600 1 300 100 60 10000\\nappendonly no\\n\"}}";
static const char want_headless[] =
    "{" CACHE_HEAD("v1", "Service", "cache-headless") ",\"spec\":{\"clusterIP\":\"None\",\"publishNotReadyAddresses\":true,"
    "\"selector\":{" CACHE_SELECTOR "},\"ports\":" VALKEY_PORTS "}}";
static const char want_primary_service[] =
    "{" CACHE_HEAD("v1", "Service", "cache") ",\"spec\":{\"type\":\"ClusterIP\","
    "\"selector\":{" CACHE_SELECTOR ",\"gungnir.dev/role\":\"primary\"},\"ports\":" VALKEY_PORTS "}}";
static const char want_replica_service[] =
    "{" CACHE_HEAD("v1", "Service", "cache-replicas") ",\"spec\":{\"type\":\"ClusterIP\","
    "\"selector\":{" CACHE_SELECTOR ",\"gungnir.dev/role\":\"replica\"},\"ports\":" VALKEY_PORTS "}}";
static const char want_pdb[] = "{" CACHE_HEAD("policy/v1", "PodDisruptionBudget", "cache") ",\"spec\":{"
                               "\"maxUnavailable\":1,\"selector\":{\"matchLabels\":{" CACHE_SELECTOR "}}}}";

static void test_matches_objects(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{\"storage\":{\"size\":\"1Gi\"},\"resources\":{\"requests\":{\"memory\":\"1Gi\"}},"
                      "\"pod\":{\"tolerations\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}}");
    json_t *objs[] = {keep(desired_config_map(&c.in)), keep(desired_headless_service(&c.in)),
                      keep(desired_primary_service(&c.in)), keep(desired_replica_service(&c.in)),
                      keep(desired_statefulset(&c.in)), keep(desired_pdb(&c.in)), keep(desired_auth_secret(&c.in))};
    for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
        assert_non_null(objs[i]);

    /* Each small object is exactly the one written out above, and matches what the API server
     * returns for it: that text with the server's own fields added (metadata, status, and the
     * Service fields the server fills in). */
    static const char served_headless[] = "{\"type\":\"ClusterIP\",\"clusterIPs\":[\"None\"],\"sessionAffinity\":\"None\","
                                          "\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\"}";
    static const char served_client[] = "{\"clusterIP\":\"10.96.0.12\",\"clusterIPs\":[\"10.96.0.12\"],"
                                        "\"sessionAffinity\":\"None\",\"ipFamilies\":[\"IPv4\"],"
                                        "\"ipFamilyPolicy\":\"SingleStack\",\"internalTrafficPolicy\":\"Cluster\"}";
    const struct {
        const json_t *got;
        const char *want, *served_spec;
    } exact[] = {
        {objs[0], want_config_map, NULL},
        {objs[1], want_headless, served_headless},
        {objs[2], want_primary_service, served_client},
        {objs[3], want_replica_service, served_client},
        {objs[5], want_pdb, NULL},
    };
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        assert_json_equal(exact[i].got, exact[i].want);
        json_t *served = as_observed(parse(exact[i].want));
        if (exact[i].served_spec)
            assert_int_equal(json_object_update(json_object_get(served, "spec"), parse(exact[i].served_spec)), 0);
        assert_true(desired_matches(exact[i].got, served));
    }
    /* The StatefulSet (checked field by field in the tests above) and the Secret: the server's
     * own fields do not cause a write. */
    assert_true(desired_matches(objs[4], as_observed(objs[4])));
    assert_true(desired_matches(objs[6], as_observed(objs[6])));
    /* built again from the same spec: the same StatefulSet (the config hash is stable) */
    assert_true(desired_matches(objs[4], keep(desired_statefulset(&c.in))));
    /* a new random password each time: a Secret is only created, never compared for update */
    assert_false(desired_matches(objs[6], keep(desired_auth_secret(&c.in))));
    assert_false(desired_matches(objs[0], NULL));

    /* server-defaulted fields inside the StatefulSet do not cause a write */
    json_t *o = as_observed(objs[4]);
    json_t *ct = (json_t *)AT(o, "spec", "template", "spec", "containers", "0");
    json_object_set_new(ct, "terminationMessagePath", json_string("/dev/termination-log"));
    json_object_set_new((json_t *)AT(o, "spec", "template", "spec"), "dnsPolicy", json_string("ClusterFirst"));
    json_object_set_new((json_t *)AT(o, "spec"), "revisionHistoryLimit", json_integer(10));
    json_object_set_new((json_t *)AT(o, "spec", "template", "spec", "volumes", "0", "configMap"), "defaultMode",
                        json_integer(420));
    /* and the server's spelling of quantities */
    json_object_set_new((json_t *)AT(o, "spec", "volumeClaimTemplates", "0", "spec", "resources", "requests"),
                        "storage", json_string("1Gi"));
    assert_true(desired_matches(objs[4], o));

    /* a changed scalar: replicas */
    o = as_observed(objs[4]);
    json_object_set_new((json_t *)AT(o, "spec"), "replicas", json_integer(4));
    assert_false(desired_matches(objs[4], o));
    /* a changed string deep inside: the image */
    o = as_observed(objs[4]);
    json_object_set_new(json_array_get(AT(o, "spec", "template", "spec", "containers"), 0), "image",
                        json_string("valkey/valkey:7.2"));
    assert_false(desired_matches(objs[4], o));
    /* an array of another length: one more toleration */
    o = as_observed(objs[4]);
    json_array_append_new((json_t *)AT(o, "spec", "template", "spec", "tolerations"),
                          json_pack("{s:s}", "operator", "Exists"));
    assert_false(desired_matches(objs[4], o));
    /* a missing field: the config hash annotation */
    o = as_observed(objs[4]);
    json_object_del((json_t *)AT(o, "spec", "template", "metadata", "annotations"), "gungnir.dev/config-hash");
    assert_false(desired_matches(objs[4], o));
    /* a Service whose selector lost the role label */
    o = as_observed(objs[2]);
    json_object_del((json_t *)AT(o, "spec", "selector"), "gungnir.dev/role");
    assert_false(desired_matches(objs[2], o));
    /* an edited ConfigMap */
    o = as_observed(objs[0]);
    json_object_set_new((json_t *)AT(o, "data"), "valkey.conf", json_string("port 6379\n"));
    assert_false(desired_matches(objs[0], o));
    /* the owner reference taken away */
    o = as_observed(objs[3]);
    json_array_clear((json_t *)AT(o, "metadata", "ownerReferences"));
    assert_false(desired_matches(objs[3], o));
    /* publishNotReadyAddresses turned off */
    o = as_observed(objs[1]);
    json_object_set_new((json_t *)AT(o, "spec"), "publishNotReadyAddresses", json_false());
    assert_false(desired_matches(objs[1], o));
}

static void test_matches_values(void **state)
{
    (void)state;
    struct {
        const char *desired, *observed;
        bool match;
    } cases[] = {
        {"{}", "{}", true},
        {"{}", "{\"a\":1}", true},
        {"{\"a\":1}", "{\"a\":1,\"b\":{\"c\":[1,2]}}", true},
        {"{\"a\":1}", "{}", false},
        {"{\"a\":1}", "{\"a\":null}", false},
        {"{\"a\":1}", "{\"a\":2}", false},
        {"{\"a\":1}", "{\"a\":\"1\"}", false},
        {"{\"a\":\"1\"}", "{\"a\":1}", false},
        {"{\"a\":true}", "{\"a\":false}", false},
        {"{\"a\":true}", "{\"a\":true}", true},
        {"{\"a\":\"x\"}", "{\"a\":\"y\"}", false},
        {"{\"a\":{\"b\":1}}", "{\"a\":[]}", false},
        {"{\"a\":{\"b\":1}}", "{\"a\":\"b\"}", false},
        {"{\"a\":[1,2]}", "{\"a\":[1,2]}", true},
        {"{\"a\":[1,2]}", "{\"a\":[1,2,3]}", false},
        {"{\"a\":[1,2,3]}", "{\"a\":[1,2]}", false},
        {"{\"a\":[1,2]}", "{\"a\":[2,1]}", false},
        {"{\"a\":[]}", "{\"a\":[]}", true},
        {"{\"a\":[]}", "{\"a\":{}}", false},
        /* objects inside arrays: extra fields of each item are the server's */
        {"{\"a\":[{\"x\":1}]}", "{\"a\":[{\"x\":1,\"y\":2}]}", true},
        {"{\"a\":[{\"x\":1}]}", "{\"a\":[{\"y\":2}]}", false},
        /* quantities compare by value inside requests/limits maps, and only there */
        {"{\"m\":\"1Gi\"}", "{\"m\":\"1073741824\"}", false},
        {"{\"requests\":{\"m\":\"1Gi\"}}", "{\"requests\":{\"m\":\"1073741824\"}}", true},
        {"{\"limits\":{\"m\":\"1073741824\"}}", "{\"limits\":{\"m\":\"1Gi\"}}", true},
        {"{\"requests\":{\"c\":\"0.5\"}}", "{\"requests\":{\"c\":\"500m\"}}", true},
        {"{\"limits\":{\"c\":\"1000m\"}}", "{\"limits\":{\"c\":\"1\"}}", true},
        {"{\"m\":\"1Gi\"}", "{\"m\":\"1G\"}", false},
        {"{\"m\":\"1Gi\"}", "{\"m\":\"2Gi\"}", false},
        {"{\"m\":\"1Gi\"}", "{\"m\":1073741824}", false},
        {"{\"s\":\"Parallel\"}", "{\"s\":\"OrderedReady\"}", false},
        {"{\"s\":\"\"}", "{\"s\":\"\"}", true},
        {"{\"s\":\"\"}", "{\"s\":\"0\"}", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = desired_matches(parse(cases[i].desired), parse(cases[i].observed));
        if (got != cases[i].match)
            print_error("desired %s observed %s: got %d\n", cases[i].desired, cases[i].observed, got);
        assert_int_equal(got, cases[i].match);
    }
    assert_false(desired_matches(parse("{}"), NULL));
    assert_false(desired_matches(parse("{}"), parse("[]")));
}

/* What the API server returns omits empty lists and maps (Go's omitempty: env, tolerations,
 * nodeSelector, topologySpreadConstraints). A desired object that says "env": [] can then
 * never match, and the controller would re-apply the StatefulSet on every reconcile. */
static json_t *without_empty(const json_t *v)
{
    json_t *out = keep(json_deep_copy(v));
    json_t *stack[256];
    size_t n = 0;
    stack[n++] = out;
    while (n > 0) {
        json_t *cur = stack[--n];
        if (json_is_object(cur)) {
            const char *k;
            json_t *x;
            void *tmp;
            json_object_foreach_safe(cur, tmp, k, x)
            {
                if ((json_is_array(x) && json_array_size(x) == 0) ||
                    (json_is_object(x) && json_object_size(x) == 0 && strcmp(k, "emptyDir") != 0))
                    json_object_del(cur, k);
                else if ((json_is_object(x) || json_is_array(x)) && n < 256)
                    stack[n++] = x;
            }
        } else if (json_is_array(cur)) {
            size_t i;
            json_t *x;
            json_array_foreach(cur, i, x) if ((json_is_object(x) || json_is_array(x)) && n < 256) stack[n++] = x;
        }
    }
    return out;
}

static void test_matches_server_omits_empty(void **state)
{
    (void)state;
    struct cluster c;
    static const char *const specs[] = {
        "{}",
        "{\"auth\":{\"enabled\":false}}",
        "{\"pod\":{\"tolerations\":[],\"nodeSelector\":{},\"topologySpreadConstraints\":[]}}",
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        load(&c, "cache", specs[i]);
        json_t *sts = keep(desired_statefulset(&c.in));
        json_t *observed = as_observed(without_empty(sts));
        if (!desired_matches(sts, observed))
            print_error("spec %s: the StatefulSet the server returns never matches (an apply on "
                        "every reconcile)\n", specs[i]);
        assert_true(desired_matches(sts, observed));
    }
}

/* Strings that only look like quantities (a label "1.10", an annotation) are compared as
 * text: a user who changes a pod label from "1.1" to "1.10" gets the change applied. And
 * quantities that differ below a milli-unit are different values. */
static void test_matches_quantity_lookalikes(void **state)
{
    (void)state;
    struct cluster c;
    load(&c, "cache", "{\"pod\":{\"labels\":{\"release\":\"1.10\"},\"annotations\":{\"retries\":\"1e3\"}}}");
    json_t *sts = keep(desired_statefulset(&c.in));
    json_t *o = as_observed(sts);
    json_object_set_new((json_t *)AT(o, "spec", "template", "metadata", "labels"), "release", json_string("1.1"));
    if (desired_matches(sts, o))
        print_error("pod label release 1.1 -> 1.10 is not applied\n");
    assert_false(desired_matches(sts, o));
    o = as_observed(sts);
    json_object_set_new((json_t *)AT(o, "spec", "template", "metadata", "annotations"), "retries",
                        json_string("1000"));
    assert_false(desired_matches(sts, o));
    /* 1u and 1n are different quantities */
    assert_false(desired_matches(parse("{\"cpu\":\"2u\"}"), parse("{\"cpu\":\"1u\"}")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_names, teardown),
        cmocka_unit_test_teardown(test_labels_and_selector_text, teardown),
        cmocka_unit_test_teardown(test_every_object_head, teardown),
        cmocka_unit_test_teardown(test_services, teardown),
        cmocka_unit_test_teardown(test_statefulset_basics, teardown),
        cmocka_unit_test_teardown(test_statefulset_resources, teardown),
        cmocka_unit_test_teardown(test_pod_passthrough, teardown),
        cmocka_unit_test_teardown(test_anti_affinity, teardown),
        cmocka_unit_test_teardown(test_config_hash, teardown),
        cmocka_unit_test_teardown(test_storage, teardown),
        cmocka_unit_test_teardown(test_password_env, teardown),
        cmocka_unit_test_teardown(test_conf_fenced, teardown),
        cmocka_unit_test_teardown(test_conf_maxmemory, teardown),
        cmocka_unit_test_teardown(test_conf_persistence, teardown),
        cmocka_unit_test_teardown(test_conf_user_config_sorted, teardown),
        cmocka_unit_test_teardown(test_auth_secret, teardown),
        cmocka_unit_test_teardown(test_pdb, teardown),
        cmocka_unit_test_teardown(test_matches_objects, teardown),
        cmocka_unit_test_teardown(test_matches_values, teardown),
        cmocka_unit_test_teardown(test_matches_server_omits_empty, teardown),
        cmocka_unit_test_teardown(test_matches_quantity_lookalikes, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
