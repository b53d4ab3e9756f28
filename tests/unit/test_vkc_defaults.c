/* test_vkc_defaults.c — unit tests for shared/vkc_defaults.c: every default of api.md, and
 * idempotence as a property over seeded random objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonpatch.h"
#include "vkc_defaults.h"

/* The spec api.md gives an object that sets nothing (no resources, no storage). */
#define ALL_DEFAULTS_SPEC                                                                          \
    "{\"replicas\":3,\"image\":\"valkey/valkey:8.1\",\"imagePullPolicy\":\"IfNotPresent\","      \
    "\"qosClass\":\"BestEffort\",\"persistence\":{\"mode\":\"none\"},\"auth\":{\"enabled\":true},"  \
    "\"tls\":{\"enabled\":false},"                                                                 \
    "\"failover\":{\"enabled\":true,\"probeIntervalMilliseconds\":1000,\"failureThreshold\":3,"    \
    "\"replicaPriority\":100,\"priorities\":[],\"maxLagBytes\":0},"                                \
    "\"config\":{},\"antiAffinity\":\"preferred\",\"service\":{\"type\":\"ClusterIP\"},"            \
    "\"podDisruptionBudget\":{\"enabled\":true},\"metrics\":{\"enabled\":false}}"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        print_error("cannot parse %s: %s\n", text, jerr.text);
    assert_non_null(v);
    return v;
}

/* A ValkeyCluster named "c" with the given spec (JSON text, or NULL for no spec). */
static json_t *object_with_spec(const char *spec)
{
    json_t *obj = parse("{\"apiVersion\":\"gungnir.dev/v1alpha1\",\"kind\":\"ValkeyCluster\","
                        "\"metadata\":{\"name\":\"c\",\"namespace\":\"ns\"}}");
    if (spec)
        json_object_set_new(obj, "spec", parse(spec));
    return obj;
}

/* What one run of the defaulter did. */
struct run {
    int set;      /* vkc_default's return */
    size_t count; /* operations in its patch */
    json_t *ops;  /* the patch, parsed (NULL when the text did not parse) */
    bool applies; /* the patch applied to the original gives the defaulted object */
};

/* Defaults obj in place and checks the patch against a copy of the original. */
static struct run run_defaults(json_t *obj)
{
    struct run r = {0};
    jsonpatch p;
    char err[256];
    json_t *copy = json_deep_copy(obj);

    if (jsonpatch_init(&p) != 0)
        return r;
    r.set = vkc_default(obj, &p);
    r.count = jsonpatch_count(&p);
    const char *text = jsonpatch_text(&p, NULL);
    r.ops = text ? json_loads(text, 0, NULL) : NULL;
    if (r.ops && jsonpatch_apply(&copy, r.ops, err, sizeof(err)) == 0)
        r.applies = json_equal(copy, obj);
    else if (r.ops)
        print_error("patch does not apply: %s\n%s\n", err, text);
    json_decref(copy);
    jsonpatch_free(&p);
    return r;
}

/* The value at a JSON Pointer made of plain tokens (no escapes), or NULL. */
static json_t *at(json_t *doc, const char *pointer)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", pointer);
    json_t *cur = doc;
    for (char *tok = strtok(buf, "/"); tok && cur; tok = strtok(NULL, "/"))
        cur = json_object_get(cur, tok);
    return cur;
}

/* Sets (value given) or removes (value NULL) the member at pointer. */
static void put(json_t *doc, const char *pointer, json_t *value)
{
    char parent[256];
    snprintf(parent, sizeof(parent), "%s", pointer);
    char *slash = strrchr(parent, '/');
    assert_non_null(slash);
    *slash = '\0';
    json_t *p = parent[0] ? at(doc, parent) : doc;
    assert_non_null(p);
    if (value)
        json_object_set_new(p, slash + 1, value);
    else
        json_object_del(p, slash + 1);
}

/* Checks that obj's spec equals want (JSON text); prints both on a mismatch. */
static void assert_spec(json_t *obj, const char *want)
{
    json_t *w = parse(want);
    int eq = json_equal(json_object_get(obj, "spec"), w);
    if (!eq) {
        char *got = json_dumps(json_object_get(obj, "spec"), JSON_SORT_KEYS | JSON_COMPACT);
        char *exp = json_dumps(w, JSON_SORT_KEYS | JSON_COMPACT);
        print_error("spec:\n  got  %s\n  want %s\n", got, exp);
        free(got);
        free(exp);
    }
    json_decref(w);
    assert_true(eq);
}

/* ---- every default ---------------------------------------------------------------------- */

static void test_empty_object_gets_every_default(void **state)
{
    (void)state;
    static const char *const specs[] = {NULL, "{}", "null"};
    for (size_t i = 0; i < 3; i++) {
        json_t *obj = object_with_spec(specs[i]);
        struct run r = run_defaults(obj);
        assert_true(r.applies);
        assert_int_equal(r.set, (int)r.count);
        assert_true(r.count >= 18);
        assert_spec(obj, ALL_DEFAULTS_SPEC);
        /* Nothing outside spec is touched. */
        assert_string_equal(json_string_value(at(obj, "/metadata/name")), "c");
        assert_int_equal(json_object_size(json_object_get(obj, "metadata")), 2);
        assert_int_equal(json_object_size(obj), 4);
        json_decref(r.ops);
        json_decref(obj);
    }
}

/* Each default, one by one: removed from (or nulled in) a defaulted object, it comes back
 * with exactly one add at its path; given another value, it is left alone. */
struct one_default {
    const char *pointer;
    const char *value;     /* the default (JSON) */
    const char *non_default; /* a user's value (JSON) */
};

static const struct one_default every_default[] = {
    {"/spec/replicas", "3", "5"},
    {"/spec/image", "\"valkey/valkey:8.1\"", "\"valkey/valkey:7.2.5\""},
    {"/spec/imagePullPolicy", "\"IfNotPresent\"", "\"Always\""},
    {"/spec/qosClass", "\"BestEffort\"", "\"Burstable\""},
    {"/spec/persistence/mode", "\"none\"", "\"aof\""},
    {"/spec/auth/enabled", "true", "false"},
    {"/spec/tls/enabled", "false", "true"},
    {"/spec/failover/enabled", "true", "false"},
    {"/spec/failover/probeIntervalMilliseconds", "1000", "250"},
    {"/spec/failover/failureThreshold", "3", "7"},
    {"/spec/failover/replicaPriority", "100", "0"},
    {"/spec/failover/priorities", "[]", "[{\"podOrdinal\":0,\"priority\":5}]"},
    {"/spec/failover/maxLagBytes", "0", "1048576"},
    {"/spec/config", "{}", "{\"maxmemory-policy\":\"allkeys-lru\"}"},
    {"/spec/antiAffinity", "\"preferred\"", "\"required\""},
    {"/spec/service/type", "\"ClusterIP\"", "\"LoadBalancer\""},
    {"/spec/podDisruptionBudget/enabled", "true", "false"},
    {"/spec/metrics/enabled", "false", "true"},
};

static void test_each_default_one_by_one(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(every_default) / sizeof(every_default[0]); i++) {
        const struct one_default *d = &every_default[i];
        for (int how = 0; how < 2; how++) { /* 0: removed, 1: null */
            json_t *obj = object_with_spec(ALL_DEFAULTS_SPEC);
            put(obj, d->pointer, how ? json_null() : NULL);
            struct run r = run_defaults(obj);
            json_t *want = parse(d->value);
            json_t *op = json_array_get(r.ops, 0);
            bool ok = r.applies && r.count == 1 && r.set == 1 &&
                      strcmp(json_string_value(json_object_get(op, "op")), "add") == 0 &&
                      strcmp(json_string_value(json_object_get(op, "path")), d->pointer) == 0 &&
                      json_equal(json_object_get(op, "value"), want) &&
                      json_equal(at(obj, d->pointer), want);
            if (!ok)
                print_error("%s (%s): not defaulted to %s\n", d->pointer, how ? "null" : "missing",
                            d->value);
            json_decref(want);
            json_decref(r.ops);
            json_decref(obj);
            assert_true(ok);
        }
    }
}

static void test_existing_values_untouched(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(every_default) / sizeof(every_default[0]); i++) {
        const struct one_default *d = &every_default[i];
        json_t *obj = object_with_spec(ALL_DEFAULTS_SPEC);
        put(obj, d->pointer, parse(d->non_default));
        json_t *before = json_deep_copy(obj);
        struct run r = run_defaults(obj);
        bool ok = r.count == 0 && r.set == 0 && json_equal(obj, before);
        if (!ok)
            print_error("%s = %s was changed (%zu ops)\n", d->pointer, d->non_default, r.count);
        json_decref(before);
        json_decref(r.ops);
        json_decref(obj);
        assert_true(ok);
    }
}

static void test_missing_parent_objects_are_created(void **state)
{
    (void)state;
    static const char *const parents[] = {"/spec/persistence", "/spec/auth", "/spec/tls",
                                          "/spec/failover", "/spec/service",
                                          "/spec/podDisruptionBudget", "/spec/metrics"};
    json_t *full = object_with_spec(ALL_DEFAULTS_SPEC);
    for (size_t i = 0; i < sizeof(parents) / sizeof(parents[0]); i++) {
        json_t *obj = object_with_spec(ALL_DEFAULTS_SPEC);
        put(obj, parents[i], NULL);
        struct run r = run_defaults(obj);
        bool ok = r.applies && json_equal(obj, full) && r.count == 1 + json_object_size(at(full, parents[i]));
        const char *first = json_string_value(json_object_get(json_array_get(r.ops, 0), "path"));
        ok = ok && first && strcmp(first, parents[i]) == 0; /* the parent is added first */
        if (!ok)
            print_error("%s: not recreated with its defaults\n", parents[i]);
        json_decref(r.ops);
        json_decref(obj);
        assert_true(ok);
    }
    json_decref(full);
}

static void test_wrong_types_left_alone(void **state)
{
    (void)state;
    json_t *obj = object_with_spec("{\"replicas\":\"three\",\"failover\":\"yes\",\"auth\":[],"
                                   "\"tls\":5,\"config\":\"x\",\"resources\":\"big\"}");
    struct run r = run_defaults(obj);
    assert_true(r.applies);
    assert_string_equal(json_string_value(at(obj, "/spec/replicas")), "three");
    assert_string_equal(json_string_value(at(obj, "/spec/failover")), "yes");
    assert_true(json_is_array(at(obj, "/spec/auth")));
    assert_int_equal(json_integer_value(at(obj, "/spec/tls")), 5);
    assert_string_equal(json_string_value(at(obj, "/spec/config")), "x");
    assert_string_equal(json_string_value(at(obj, "/spec/resources")), "big");
    /* The rest is still defaulted. */
    assert_string_equal(json_string_value(at(obj, "/spec/image")), "valkey/valkey:8.1");
    assert_string_equal(json_string_value(at(obj, "/spec/service/type")), "ClusterIP");
    json_decref(r.ops);
    json_decref(obj);

    /* A spec that is not an object, or an object that is not one: nothing to do. */
    obj = object_with_spec("[1]");
    r = run_defaults(obj);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.set, 0);
    json_decref(r.ops);
    json_decref(obj);
    json_t *arr = parse("[]");
    assert_int_equal(vkc_default(arr, NULL), 0);
    assert_int_equal(vkc_default(NULL, NULL), 0);
    json_decref(arr);
}

static void test_without_patch(void **state)
{
    (void)state;
    json_t *a = object_with_spec("{\"storage\":{\"size\":\"1Gi\"}}");
    json_t *b = json_deep_copy(a);
    struct run r = run_defaults(a);
    int set = vkc_default(b, NULL);
    assert_int_equal(set, r.set);
    assert_true(json_equal(a, b));
    json_decref(r.ops);
    json_decref(a);
    json_decref(b);
}

/* ---- qosClass, resources, maxmemory -------------------------------------------------- */

struct qos_case {
    const char *resources; /* JSON, or NULL for none */
    const char *qos;
};

static void test_qos_derivation(void **state)
{
    (void)state;
    static const struct qos_case cases[] = {
        {NULL, "BestEffort"},
        {"{}", "BestEffort"},
        {"{\"requests\":{},\"limits\":{}}", "BestEffort"},
        {"{\"requests\":{\"cpu\":\"100m\"}}", "Burstable"},
        {"{\"requests\":{\"memory\":\"1Gi\"}}", "Burstable"},
        {"{\"limits\":{\"memory\":\"1Gi\"}}", "Burstable"},
        {"{\"limits\":{\"cpu\":\"1\"}}", "Burstable"},
        {"{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"},\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}", "Burstable"},
        {"{\"requests\":{\"cpu\":\"1\",\"memory\":\"512Mi\"},\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}", "Burstable"},
        {"{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}", "Guaranteed"},
        /* Equal quantities written differently are equal. */
        {"{\"requests\":{\"cpu\":\"1000m\",\"memory\":\"1024Mi\"},\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}", "Guaranteed"},
        {"{\"requests\":{\"cpu\":1,\"memory\":1073741824},\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}", "Guaranteed"},
        /* Kubernetes: limits alone make requests equal to them. */
        {"{\"limits\":{\"cpu\":\"2\",\"memory\":\"2Gi\"}}", "Guaranteed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char spec[512];
        if (cases[i].resources)
            snprintf(spec, sizeof(spec), "{\"resources\":%s}", cases[i].resources);
        else
            snprintf(spec, sizeof(spec), "{}");
        json_t *obj = object_with_spec(spec);
        struct run r = run_defaults(obj);
        const char *got = json_string_value(at(obj, "/spec/qosClass"));
        bool ok = r.applies && got && strcmp(got, cases[i].qos) == 0;
        if (!ok)
            print_error("resources %s: qosClass %s, want %s\n", spec, got ? got : "(none)", cases[i].qos);
        json_decref(r.ops);
        json_decref(obj);
        assert_true(ok);
    }
}

static void test_qos_given_is_kept(void **state)
{
    (void)state;
    json_t *obj = object_with_spec("{\"qosClass\":\"Burstable\"}");
    struct run r = run_defaults(obj);
    assert_string_equal(json_string_value(at(obj, "/spec/qosClass")), "Burstable");
    json_decref(r.ops);
    json_decref(obj);
}

static void test_guaranteed_copies_lone_request_or_limit(void **state)
{
    (void)state;
    /* Lone requests become the limits. */
    json_t *obj = object_with_spec("{\"qosClass\":\"Guaranteed\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}}");
    struct run r = run_defaults(obj);
    assert_true(r.applies);
    json_t *want = parse("{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"},\"limits\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}");
    assert_true(json_equal(at(obj, "/spec/resources"), want));
    json_decref(want);
    assert_string_equal(json_string_value(at(obj, "/spec/qosClass")), "Guaranteed");
    /* and the copied memory limit sets maxmemory: 80% of 1Gi (1073741824 bytes). */
    assert_string_equal(json_string_value(at(obj, "/spec/maxmemory")), "858993459");
    json_decref(r.ops);
    json_decref(obj);

    /* Lone limits become the requests. */
    obj = object_with_spec("{\"qosClass\":\"Guaranteed\",\"resources\":{\"limits\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}}}");
    r = run_defaults(obj);
    assert_true(r.applies);
    want = parse("{\"requests\":{\"cpu\":\"2\",\"memory\":\"4Gi\"},\"limits\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}}");
    assert_true(json_equal(at(obj, "/spec/resources"), want));
    json_decref(want);
    json_decref(r.ops);
    json_decref(obj);

    /* One of each: cpu request -> cpu limit, memory limit -> memory request. */
    obj = object_with_spec("{\"qosClass\":\"Guaranteed\",\"resources\":{\"requests\":{\"cpu\":\"1\"},\"limits\":{\"memory\":\"1Gi\"}}}");
    r = run_defaults(obj);
    assert_true(r.applies);
    want = parse("{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}");
    assert_true(json_equal(at(obj, "/spec/resources"), want));
    json_decref(want);
    json_decref(r.ops);
    json_decref(obj);

    /* Both sides set (even unequal): nothing is copied; the Validator judges. */
    obj = object_with_spec("{\"qosClass\":\"Guaranteed\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"limits\":{\"cpu\":\"2\",\"memory\":\"2Gi\"}}}");
    json_t *res_before = json_deep_copy(at(obj, "/spec/resources"));
    r = run_defaults(obj);
    assert_true(json_equal(at(obj, "/spec/resources"), res_before));
    json_decref(res_before);
    json_decref(r.ops);
    json_decref(obj);

    /* Without Guaranteed, lone requests are not copied. */
    obj = object_with_spec("{\"qosClass\":\"Burstable\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}");
    r = run_defaults(obj);
    assert_null(at(obj, "/spec/resources/limits"));
    json_decref(r.ops);
    json_decref(obj);
}

/* Limits alone make the pod Guaranteed; defaulting the result again must change nothing. */
static void test_derived_guaranteed_is_idempotent(void **state)
{
    (void)state;
    json_t *obj = object_with_spec("{\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}");
    struct run first = run_defaults(obj);
    struct run second = run_defaults(obj);
    const char *qos = json_string_value(at(obj, "/spec/qosClass"));
    bool guaranteed = qos && strcmp(qos, "Guaranteed") == 0;
    if (second.count != 0) {
        char *ops = json_dumps(second.ops, JSON_COMPACT);
        print_error("second defaulting patched: %s\n", ops);
        free(ops);
    }
    size_t second_count = second.count;
    json_decref(first.ops);
    json_decref(second.ops);
    json_decref(obj);
    assert_true(guaranteed);
    assert_int_equal(second_count, 0);
}

struct maxmemory_case {
    const char *limit; /* JSON */
    const char *maxmemory;
};

static void test_maxmemory_is_80_percent_of_memory_limit(void **state)
{
    (void)state;
    static const struct maxmemory_case cases[] = {
        {"\"1Gi\"", "858993459"},    /* 1073741824 * 0.8 = 858993459.2 */
        {"\"100Mi\"", "83886080"},   /* 104857600 * 0.8 */
        {"\"512Mi\"", "429496729"},  /* 536870912 * 0.8 = 429496729.6 */
        {"\"1.5Gi\"", "1288490188"}, /* 1610612736 * 0.8 = 1288490188.8 */
        {"\"1G\"", "800000000"},
        {"\"1000\"", "800"},
        {"1000", "800"},             /* a plain integer is a quantity too */
        {"\"16Ti\"", "14073748835532"}, /* 17592186044416 * 0.8 = 14073748835532.8 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char spec[256];
        snprintf(spec, sizeof(spec), "{\"resources\":{\"limits\":{\"memory\":%s}}}", cases[i].limit);
        json_t *obj = object_with_spec(spec);
        struct run r = run_defaults(obj);
        const char *got = json_string_value(at(obj, "/spec/maxmemory"));
        bool ok = r.applies && got && strcmp(got, cases[i].maxmemory) == 0;
        if (!ok)
            print_error("limit %s: maxmemory %s, want %s\n", cases[i].limit, got ? got : "(none)",
                        cases[i].maxmemory);
        json_decref(r.ops);
        json_decref(obj);
        assert_true(ok);
    }
}

static void test_maxmemory_not_set_without_limit_or_when_given(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "{}",
        "{\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}}",
        "{\"resources\":{\"limits\":{\"cpu\":\"1\"}}}",
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *obj = object_with_spec(specs[i]);
        struct run r = run_defaults(obj);
        bool absent = at(obj, "/spec/maxmemory") == NULL;
        json_decref(r.ops);
        json_decref(obj);
        assert_true(absent);
    }
    json_t *obj = object_with_spec("{\"maxmemory\":\"100Mi\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}");
    struct run r = run_defaults(obj);
    assert_string_equal(json_string_value(at(obj, "/spec/maxmemory")), "100Mi");
    json_decref(r.ops);
    json_decref(obj);
}

/* ---- persistence, tls.issuerRef -------------------------------------------------------- */

static void test_persistence_mode(void **state)
{
    (void)state;
    static const char *const with_storage[] = {
        "{\"storage\":{\"size\":\"10Gi\"}}",
        "{\"storage\":{\"size\":\"10Gi\",\"storageClassName\":\"fast\"},\"persistence\":{}}",
        "{\"storage\":{\"size\":1000000},\"persistence\":null}",
    };
    static const char *const without[] = {
        "{}", "{\"storage\":{}}", "{\"storage\":{\"size\":null}}",
        "{\"storage\":{\"storageClassName\":\"fast\"}}", "{\"storage\":null}",
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *obj = object_with_spec(with_storage[i]);
        struct run r = run_defaults(obj);
        const char *mode = json_string_value(at(obj, "/spec/persistence/mode"));
        bool ok = r.applies && mode && strcmp(mode, "rdb") == 0;
        json_decref(r.ops);
        json_decref(obj);
        if (!ok)
            print_error("%s: mode %s, want rdb\n", with_storage[i], mode ? mode : "(none)");
        assert_true(ok);
    }
    for (size_t i = 0; i < 5; i++) {
        json_t *obj = object_with_spec(without[i]);
        struct run r = run_defaults(obj);
        const char *mode = json_string_value(at(obj, "/spec/persistence/mode"));
        bool ok = r.applies && mode && strcmp(mode, "none") == 0;
        json_decref(r.ops);
        json_decref(obj);
        if (!ok)
            print_error("%s: mode %s, want none\n", without[i], mode ? mode : "(none)");
        assert_true(ok);
    }
    /* A mode the user chose is kept. */
    json_t *obj = object_with_spec("{\"storage\":{\"size\":\"1Gi\"},\"persistence\":{\"mode\":\"aof\"}}");
    struct run r = run_defaults(obj);
    assert_string_equal(json_string_value(at(obj, "/spec/persistence/mode")), "aof");
    json_decref(r.ops);
    json_decref(obj);
}

static void test_issuer_ref_defaults(void **state)
{
    (void)state;
    json_t *obj = object_with_spec("{\"tls\":{\"enabled\":true,\"issuerRef\":{\"name\":\"ca\"}}}");
    struct run r = run_defaults(obj);
    assert_true(r.applies);
    json_t *want = parse("{\"name\":\"ca\",\"kind\":\"Issuer\",\"group\":\"cert-manager.io\"}");
    assert_true(json_equal(at(obj, "/spec/tls/issuerRef"), want));
    json_decref(want);
    assert_true(json_is_true(at(obj, "/spec/tls/enabled")));
    json_decref(r.ops);
    json_decref(obj);

    obj = object_with_spec("{\"tls\":{\"issuerRef\":{\"name\":\"ca\",\"kind\":\"ClusterIssuer\",\"group\":\"example.com\"}}}");
    r = run_defaults(obj);
    want = parse("{\"name\":\"ca\",\"kind\":\"ClusterIssuer\",\"group\":\"example.com\"}");
    assert_true(json_equal(at(obj, "/spec/tls/issuerRef"), want));
    json_decref(want);
    json_decref(r.ops);
    json_decref(obj);

    /* No issuerRef: none is made up (secretName users need none). */
    obj = object_with_spec("{\"tls\":{\"enabled\":true,\"secretName\":\"tls\"}}");
    r = run_defaults(obj);
    assert_null(at(obj, "/spec/tls/issuerRef"));
    json_decref(r.ops);
    json_decref(obj);
}

static void test_no_defaults_for_optional_fields(void **state)
{
    (void)state;
    /* api.md: storage, auth.secretName, tls.secretName have no default. */
    json_t *obj = object_with_spec("{}");
    struct run r = run_defaults(obj);
    assert_null(at(obj, "/spec/storage"));
    assert_null(at(obj, "/spec/auth/secretName"));
    assert_null(at(obj, "/spec/tls/secretName"));
    assert_null(at(obj, "/spec/tls/issuerRef"));
    assert_null(at(obj, "/spec/resources"));
    assert_null(at(obj, "/spec/maxmemory"));
    json_decref(r.ops);
    json_decref(obj);
}

/* ---- idempotence as a property -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t pick(size_t n) { return (size_t)(rng() % n); }
static bool chance(unsigned percent) { return pick(100) < percent; }

/* One JSON value (text) from a list, parsed. */
static json_t *one_of(const char *const *list, size_t n) { return parse(list[pick(n)]); }
#define ONE_OF(list) one_of(list, sizeof(list) / sizeof(list[0]))

static const char *const quantities[] = {
    "\"100m\"", "\"1\"", "\"2\"", "\"500m\"", "\"1Gi\"", "\"512Mi\"", "\"1000\"", "1000", "\"0\"",
    "\"1.5Gi\"", "\"bad\"", "null", "true", "\"1e3\"", "\"2Gi\"", "\"-1\"",
};

/* A resources side: a random subset of cpu and memory (and now and then another resource). */
static json_t *random_resource_set(void)
{
    if (chance(10))
        return parse(chance(50) ? "null" : "\"x\"");
    json_t *set = json_object();
    if (chance(60))
        json_object_set_new(set, "cpu", ONE_OF(quantities));
    if (chance(60))
        json_object_set_new(set, "memory", ONE_OF(quantities));
    if (chance(10))
        json_object_set_new(set, "ephemeral-storage", parse("\"1Gi\""));
    return set;
}

/* Sets spec[key] = v (stolen) with some probability, sometimes to null. */
static void maybe(json_t *obj, const char *key, unsigned percent, json_t *v)
{
    if (!chance(percent)) {
        json_decref(v);
    } else if (chance(8)) {
        json_decref(v);
        json_object_set_new(obj, key, json_null());
    } else {
        json_object_set_new(obj, key, v);
    }
}

static json_t *random_object(void)
{
    static const char *const replicas[] = {"1", "2", "3", "0", "100", "101", "-1", "\"3\"", "2.5"};
    static const char *const images[] = {"\"valkey/valkey:8.0\"", "\"\"", "\"valkey\"", "\"valkey:latest\"", "7"};
    static const char *const policies[] = {"\"Always\"", "\"IfNotPresent\"", "\"Never\"", "\"Sometimes\""};
    static const char *const qos[] = {"\"Guaranteed\"", "\"Burstable\"", "\"BestEffort\"", "\"Gold\"", "1"};
    static const char *const storage[] = {
        "{}", "{\"size\":\"1Gi\"}", "{\"size\":\"0\"}", "{\"size\":null}", "{\"size\":\"10Gi\",\"storageClassName\":\"fast\"}",
        "{\"storageClassName\":\"fast\"}", "{\"size\":10}", "\"big\"",
    };
    static const char *const persistence[] = {"{}", "{\"mode\":\"none\"}", "{\"mode\":\"rdb\"}", "{\"mode\":\"aof\"}", "{\"mode\":null}", "[]", "{\"mode\":\"x\"}"};
    static const char *const auth[] = {"{}", "{\"enabled\":false}", "{\"secretName\":\"s\"}", "{\"enabled\":null}", "5"};
    static const char *const tls[] = {
        "{}", "{\"enabled\":true,\"secretName\":\"t\"}", "{\"enabled\":true,\"issuerRef\":{\"name\":\"ca\"}}",
        "{\"issuerRef\":{\"name\":\"ca\",\"kind\":\"ClusterIssuer\"}}", "{\"issuerRef\":{\"group\":null}}",
        "{\"issuerRef\":\"ca\"}", "{\"enabled\":\"yes\"}",
    };
    static const char *const failover[] = {
        "{}", "{\"enabled\":false}", "{\"probeIntervalMilliseconds\":100}", "{\"failureThreshold\":null}",
        "{\"priorities\":[{\"podOrdinal\":0,\"priority\":5}]}", "{\"replicaPriority\":0,\"maxLagBytes\":-1}",
        "{\"enabled\":true,\"probeIntervalMilliseconds\":60000,\"failureThreshold\":100,\"replicaPriority\":1000,\"priorities\":[],\"maxLagBytes\":0}",
        "[]",
    };
    static const char *const configs[] = {"{}", "{\"maxmemory-policy\":\"allkeys-lru\"}", "{\"a/b~c\":\"1\"}", "[]"};
    static const char *const pods[] = {"{}", "{\"labels\":{\"team\":\"a\"}}", "{\"nodeSelector\":{\"k\":\"v\"},\"tolerations\":[]}"};
    static const char *const anti[] = {"\"none\"", "\"preferred\"", "\"required\"", "\"x\""};
    static const char *const service[] = {"{}", "{\"type\":\"NodePort\"}", "{\"type\":null}", "\"LoadBalancer\""};
    static const char *const toggles[] = {"{}", "{\"enabled\":true}", "{\"enabled\":false}", "{\"enabled\":null}", "false"};
    static const char *const maxmem[] = {"\"100Mi\"", "\"0\"", "1024", "\"bad\""};

    json_t *obj = object_with_spec(NULL);
    if (chance(5))
        return obj; /* no spec */
    if (chance(3)) {
        json_object_set_new(obj, "spec", json_null());
        return obj;
    }
    json_t *spec = json_object();
    maybe(spec, "replicas", 50, ONE_OF(replicas));
    maybe(spec, "image", 50, ONE_OF(images));
    maybe(spec, "imagePullPolicy", 40, ONE_OF(policies));
    if (chance(60)) {
        json_t *res = json_object();
        maybe(res, "requests", 70, random_resource_set());
        maybe(res, "limits", 70, random_resource_set());
        maybe(spec, "resources", 100, res);
    }
    maybe(spec, "qosClass", 40, ONE_OF(qos));
    maybe(spec, "storage", 50, ONE_OF(storage));
    maybe(spec, "persistence", 40, ONE_OF(persistence));
    maybe(spec, "maxmemory", 20, ONE_OF(maxmem));
    maybe(spec, "auth", 40, ONE_OF(auth));
    maybe(spec, "tls", 40, ONE_OF(tls));
    maybe(spec, "failover", 50, ONE_OF(failover));
    maybe(spec, "config", 30, ONE_OF(configs));
    maybe(spec, "pod", 20, ONE_OF(pods));
    maybe(spec, "antiAffinity", 30, ONE_OF(anti));
    maybe(spec, "service", 30, ONE_OF(service));
    maybe(spec, "podDisruptionBudget", 30, ONE_OF(toggles));
    maybe(spec, "metrics", 30, ONE_OF(toggles));
    maybe(spec, "unknownField", 10, json_integer(1));
    json_object_set_new(obj, "spec", spec);
    if (chance(20))
        json_object_set_new(obj, "status", parse("{\"phase\":\"Running\",\"failover\":{\"epoch\":2}}"));
    return obj;
}

/* 1 when every non-null value of orig is still in got: objects member by member (defaults
 * may add members), everything else equal. */
static int preserved(const json_t *orig, const json_t *got)
{
    if (!json_is_object(orig) || !json_is_object(got))
        return json_equal(orig, got);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)orig, key, v)
    {
        if (json_is_null(v))
            continue;
        if (!preserved(v, json_object_get(got, key)))
            return 0;
    }
    return 1;
}

/* Runs the property on one object. Returns NULL, or a description of the failure (free()). */
static char *check_property(json_t *orig)
{
    json_t *obj = json_deep_copy(orig);
    struct run first = run_defaults(obj);
    struct run second = run_defaults(obj);
    const char *what = NULL;

    if (first.set < 0)
        what = "vkc_default failed";
    else if (!first.ops)
        what = "the patch text does not parse";
    else if (!first.applies)
        what = "the patch applied to the original differs from the defaulted object";
    else if ((size_t)first.set != first.count)
        what = "the return value differs from the number of patch operations";
    else if (!preserved(orig, obj))
        what = "a value the object had was changed";
    else if (second.count != 0 || second.set != 0)
        what = "defaulting a defaulted object patched it again";

    char *msg = NULL;
    if (what) {
        char *o = json_dumps(orig, JSON_COMPACT);
        char *p1 = json_dumps(first.ops, JSON_COMPACT);
        char *p2 = json_dumps(second.ops, JSON_COMPACT);
        size_t n = strlen(what) + (o ? strlen(o) : 0) + (p1 ? strlen(p1) : 0) + (p2 ? strlen(p2) : 0) + 64;
        msg = malloc(n);
        if (msg)
            snprintf(msg, n, "%s\n  second patch: %s\n  object: %s\n  patch: %s", what,
                     p2 ? p2 : "", o ? o : "", p1 ? p1 : "");
        free(o);
        free(p1);
        free(p2);
    }
    json_decref(first.ops);
    json_decref(second.ops);
    json_decref(obj);
    return msg;
}

static void test_idempotence_property(void **state)
{
    (void)state;
    enum { OBJECTS = 1000 };
    rng_state = 0x9E3779B97F4A7C15ULL;
    size_t failures = 0;
    char *first_failure = NULL;
    int first_index = -1;
    for (int i = 0; i < OBJECTS; i++) {
        json_t *orig = random_object();
        char *msg = check_property(orig);
        json_decref(orig);
        if (msg) {
            failures++;
            if (!first_failure) {
                first_failure = msg;
                first_index = i;
            } else {
                /* GUNGNIR_TEST_VERBOSE=1 lists every failing object, not only the first. */
                if (getenv("GUNGNIR_TEST_VERBOSE"))
                    print_error("#%d: %s\n", i, msg);
                free(msg);
            }
        }
    }
    if (first_failure) {
        print_error("%zu of %d random objects break the property; first (#%d): %s\n", failures,
                    OBJECTS, first_index, first_failure);
        free(first_failure);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_object_gets_every_default),
        cmocka_unit_test(test_each_default_one_by_one),
        cmocka_unit_test(test_existing_values_untouched),
        cmocka_unit_test(test_missing_parent_objects_are_created),
        cmocka_unit_test(test_wrong_types_left_alone),
        cmocka_unit_test(test_without_patch),
        cmocka_unit_test(test_qos_derivation),
        cmocka_unit_test(test_qos_given_is_kept),
        cmocka_unit_test(test_guaranteed_copies_lone_request_or_limit),
        cmocka_unit_test(test_derived_guaranteed_is_idempotent),
        cmocka_unit_test(test_maxmemory_is_80_percent_of_memory_limit),
        cmocka_unit_test(test_maxmemory_not_set_without_limit_or_when_given),
        cmocka_unit_test(test_persistence_mode),
        cmocka_unit_test(test_issuer_ref_defaults),
        cmocka_unit_test(test_no_defaults_for_optional_fields),
        cmocka_unit_test(test_idempotence_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
