/* test_vkc_validate.c — unit tests for shared/vkc_validate.c and shared/vkc_spec.c: every rule
 * of api.md, all errors at once, wrong JSON types, warnings, and the UPDATE transition rules. */
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

#include "field_errors.h"
#include "vkc_defaults.h"
#include "vkc_spec.h"
#include "vkc_validate.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* The lists under test: static, so a failed assertion leaks nothing. */
static ferr_list errs;
static struct vkc_warnings warns;

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        print_error("cannot parse %s: %s\n", text, jerr.text);
    assert_non_null(v);
    return v;
}

static void print_errors(void)
{
    for (size_t i = 0; i < errs.count; i++)
        print_error("  error: %s\n", errs.items[i].text);
    for (size_t i = 0; i < warns.count; i++)
        print_error("  warning: %s\n", warns.items[i]);
}

/* A ValkeyCluster named name with spec (JSON text), defaulted as the admission chain does. */
static json_t *cluster(const char *name, const char *spec)
{
    json_t *obj = parse("{\"apiVersion\":\"gungnir.dev/v1alpha1\",\"kind\":\"ValkeyCluster\","
                        "\"metadata\":{\"namespace\":\"ns\"}}");
    if (name)
        json_object_set_new(json_object_get(obj, "metadata"), "name", json_string(name));
    if (spec)
        json_object_set_new(obj, "spec", parse(spec));
    assert_true(vkc_default(obj, NULL) >= 0);
    return obj;
}

/* Validates obj; returns vkc_validate_object's result. errs and warns hold the outcome. */
static int validate(const json_t *obj)
{
    ferr_init(&errs);
    memset(&warns, 0, sizeof(warns));
    return vkc_validate_object(obj, &errs, &warns, NULL);
}

/* Validates cluster("cache", spec) and frees it. */
static int validate_spec(const char *spec)
{
    json_t *obj = cluster("cache", spec);
    int rc = validate(obj);
    json_decref(obj);
    return rc;
}

/* The first error on field (of any type when type < 0), or NULL. */
static const struct ferr *find(const char *field, int type)
{
    for (size_t i = 0; i < errs.count; i++) {
        if (strcmp(errs.items[i].field, field) == 0 && (type < 0 || (int)errs.items[i].type == type))
            return &errs.items[i];
    }
    return NULL;
}

/* The first error whose field starts with prefix, or NULL. */
static const struct ferr *find_under(const char *prefix, int type)
{
    for (size_t i = 0; i < errs.count; i++) {
        if (strncmp(errs.items[i].field, prefix, strlen(prefix)) == 0 &&
            (type < 0 || (int)errs.items[i].type == type))
            return &errs.items[i];
    }
    return NULL;
}

static size_t count_on(const char *field)
{
    size_t n = 0;
    for (size_t i = 0; i < errs.count; i++)
        n += strcmp(errs.items[i].field, field) == 0;
    return n;
}

/* Expects an error on field of the given type whose text holds part (part may be NULL). */
static void expect_error(const char *field, int type, const char *part)
{
    const struct ferr *e = find(field, type);
    if (!e || (part && !strstr(e->text, part))) {
        print_error("no error on %s (type %d) with \"%s\"; got:\n", field, type, part ? part : "");
        print_errors();
    }
    assert_non_null(e);
    if (part)
        assert_non_null(strstr(e->text, part));
}

/* Expects one error with exactly this text. */
static void expect_text(const char *text)
{
    for (size_t i = 0; i < errs.count; i++) {
        if (strcmp(errs.items[i].text, text) == 0)
            return;
    }
    print_error("no error \"%s\"; got:\n", text);
    print_errors();
    fail();
}

static void expect_valid(const char *spec)
{
    int rc = validate_spec(spec);
    if (rc != 0 || errs.count != 0) {
        print_error("spec %s should be valid; got:\n", spec);
        print_errors();
    }
    assert_int_equal(rc, 0);
    assert_int_equal(errs.count, 0);
}

static void expect_invalid(const char *spec, const char *field, int type, const char *part)
{
    int rc = validate_spec(spec);
    if (rc != -1)
        print_error("spec %s should be invalid\n", spec);
    assert_int_equal(rc, -1);
    expect_error(field, type, part);
}

static bool has_warning(const char *part)
{
    for (size_t i = 0; i < warns.count; i++) {
        if (strstr(warns.items[i], part))
            return true;
    }
    return false;
}

/* ---- valid objects ---------------------------------------------------------------------- */

static void test_defaulted_empty_spec_is_valid(void **state)
{
    (void)state;
    struct vkc_spec s;
    json_t *obj = cluster("cache", NULL);
    ferr_init(&errs);
    memset(&warns, 0, sizeof(warns));
    int rc = vkc_validate_object(obj, &errs, &warns, &s);
    print_errors();
    assert_int_equal(rc, 0);
    assert_int_equal(errs.count, 0);
    assert_int_equal(warns.count, 0); /* the default image is pinned */
    /* The parsed spec holds the defaults. */
    assert_int_equal(s.replicas, 3);
    assert_string_equal(s.image, "valkey/valkey:8.1");
    assert_int_equal(s.pull_policy, VKC_PULL_IF_NOT_PRESENT);
    assert_true(s.has_qos);
    assert_int_equal(s.qos, VKC_QOS_BEST_EFFORT);
    assert_int_equal(s.persistence, VKC_PERSIST_NONE);
    assert_true(s.auth_enabled);
    assert_false(s.tls_enabled);
    assert_true(s.failover_enabled);
    assert_int_equal(s.probe_interval_ms, 1000);
    assert_int_equal(s.failure_threshold, 3);
    assert_int_equal(s.replica_priority, 100);
    assert_int_equal(s.n_priorities, 0);
    assert_int_equal(s.max_lag_bytes, 0);
    assert_int_equal(s.anti_affinity, VKC_ANTI_AFFINITY_PREFERRED);
    assert_int_equal(s.service_type, VKC_SERVICE_CLUSTER_IP);
    assert_true(s.pdb_enabled);
    assert_false(s.metrics_enabled);
    json_decref(obj);
}

static void test_full_valid_spec(void **state)
{
    (void)state;
    expect_valid("{\"replicas\":5,\"image\":\"valkey/valkey:8.1.1\",\"imagePullPolicy\":\"Always\","
                 "\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"2Gi\"},\"limits\":{\"cpu\":\"1\",\"memory\":\"2Gi\"}},"
                 "\"qosClass\":\"Guaranteed\",\"storage\":{\"size\":\"10Gi\",\"storageClassName\":\"fast\"},"
                 "\"persistence\":{\"mode\":\"aof\"},\"maxmemory\":\"1Gi\","
                 "\"auth\":{\"enabled\":true,\"secretName\":\"cache-password\"},"
                 "\"tls\":{\"enabled\":true,\"issuerRef\":{\"name\":\"ca-issuer\",\"kind\":\"ClusterIssuer\"}},"
                 "\"failover\":{\"enabled\":true,\"probeIntervalMilliseconds\":500,\"failureThreshold\":5,"
                 "\"replicaPriority\":50,\"priorities\":[{\"podOrdinal\":0,\"priority\":0},{\"podOrdinal\":4,\"priority\":1000}],"
                 "\"maxLagBytes\":1048576},"
                 "\"config\":{\"maxmemory-policy\":\"allkeys-lru\",\"hz\":\"20\"},"
                 "\"pod\":{\"labels\":{\"team\":\"cache\"},\"annotations\":{\"example.com/owner\":\"me\"},"
                 "\"nodeSelector\":{\"disk\":\"ssd\"},\"tolerations\":[],\"affinity\":{},"
                 "\"topologySpreadConstraints\":[],\"priorityClassName\":\"high\"},"
                 "\"antiAffinity\":\"required\",\"service\":{\"type\":\"LoadBalancer\"},"
                 "\"podDisruptionBudget\":{\"enabled\":false},\"metrics\":{\"enabled\":true}}");
    assert_int_equal(warns.count, 0);
}

/* ---- one rule at a time --------------------------------------------------------------- */

static void test_replicas_bounds(void **state)
{
    (void)state;
    validate_spec("{\"replicas\":0}");
    expect_text("spec.replicas: Invalid value: 0: must be between 1 and 100");
    validate_spec("{\"replicas\":101}");
    expect_text("spec.replicas: Invalid value: 101: must be between 1 and 100");
    validate_spec("{\"replicas\":-3}");
    expect_text("spec.replicas: Invalid value: -3: must be between 1 and 100");
    expect_valid("{\"replicas\":1}");
    expect_valid("{\"replicas\":2}");
    expect_valid("{\"replicas\":100}");
}

static void test_image(void **state)
{
    (void)state;
    validate_spec("{\"image\":\"\"}");
    expect_text("spec.image: Required value");
    expect_invalid("{\"image\":\"valkey/valkey:8.1 \"}", "spec.image", FERR_INVALID, NULL);
    expect_invalid("{\"image\":\"valkey/\\nvalkey:8.1\"}", "spec.image", FERR_INVALID, NULL);
    expect_valid("{\"image\":\"registry.example.com:5000/valkey/valkey:8.1\"}");
}

static void test_image_pull_policy(void **state)
{
    (void)state;
    expect_valid("{\"imagePullPolicy\":\"Always\"}");
    expect_valid("{\"imagePullPolicy\":\"Never\"}");
    expect_valid("{\"imagePullPolicy\":\"IfNotPresent\"}");
    expect_invalid("{\"imagePullPolicy\":\"Sometimes\"}", "spec.imagePullPolicy", FERR_UNSUPPORTED,
                   "spec.imagePullPolicy: Unsupported value: \"Sometimes\": supported values: ");
    const struct ferr *e = find("spec.imagePullPolicy", FERR_UNSUPPORTED);
    assert_non_null(strstr(e->text, "\"Always\""));
    assert_non_null(strstr(e->text, "\"IfNotPresent\""));
    assert_non_null(strstr(e->text, "\"Never\""));
    expect_invalid("{\"imagePullPolicy\":\"always\"}", "spec.imagePullPolicy", FERR_UNSUPPORTED, NULL);
}

static void test_resource_quantities(void **state)
{
    (void)state;
    expect_invalid("{\"resources\":{\"requests\":{\"cpu\":\"one\"}}}", "spec.resources.requests[cpu]",
                   FERR_INVALID, "spec.resources.requests[cpu]: Invalid value: \"one\": quantities must match");
    expect_invalid("{\"resources\":{\"limits\":{\"memory\":\"1GB\"}}}", "spec.resources.limits[memory]",
                   FERR_INVALID, "\"1GB\"");
    expect_invalid("{\"resources\":{\"limits\":{\"memory\":\"-1Gi\"}}}", "spec.resources.limits[memory]",
                   FERR_INVALID, NULL);
    expect_invalid("{\"resources\":{\"requests\":{\"cpu\":true}}}", "spec.resources.requests[cpu]",
                   FERR_TYPE, NULL);
    expect_invalid("{\"resources\":{\"requests\":{\"ephemeral-storage\":\"lots\"}}}",
                   "spec.resources.requests[ephemeral-storage]", FERR_INVALID, NULL);
    expect_valid("{\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"},\"limits\":{\"cpu\":2,\"memory\":\"1e9\"}}}");
}

static void test_request_within_limit(void **state)
{
    (void)state;
    expect_invalid("{\"resources\":{\"requests\":{\"cpu\":\"2\"},\"limits\":{\"cpu\":\"1\"}}}",
                   "spec.resources.requests[cpu]", FERR_INVALID,
                   "spec.resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1");
    expect_invalid("{\"resources\":{\"requests\":{\"memory\":\"1025Mi\"},\"limits\":{\"memory\":\"1Gi\"}}}",
                   "spec.resources.requests[memory]", FERR_INVALID, "1Gi");
    expect_valid("{\"resources\":{\"requests\":{\"cpu\":\"1000m\",\"memory\":\"1Gi\"},\"limits\":{\"cpu\":\"1\",\"memory\":\"1024Mi\"}}}");
    expect_valid("{\"resources\":{\"requests\":{\"cpu\":\"500m\"},\"limits\":{\"cpu\":\"1\"}}}");
}

/* The limit is named in the message however it was written (a JSON integer is a quantity). */
static void test_request_within_integer_limit_message(void **state)
{
    (void)state;
    expect_invalid("{\"resources\":{\"requests\":{\"memory\":\"2000\"},\"limits\":{\"memory\":1000}}}",
                   "spec.resources.requests[memory]", FERR_INVALID,
                   "must be less than or equal to memory limit of 1000");
}

static void test_qos_class(void **state)
{
    (void)state;
    expect_valid("{\"qosClass\":\"BestEffort\"}");
    expect_valid("{\"qosClass\":\"Burstable\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}");
    expect_valid("{\"qosClass\":\"Guaranteed\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}");
    /* Guaranteed needs cpu and memory, each request equal to its limit. */
    expect_invalid("{\"qosClass\":\"Guaranteed\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}",
                   "spec.qosClass", FERR_INVALID, "spec.qosClass: Invalid value: \"Guaranteed\"");
    expect_invalid("{\"qosClass\":\"Guaranteed\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},"
                   "\"limits\":{\"cpu\":\"2\",\"memory\":\"1Gi\"}}}",
                   "spec.qosClass", FERR_INVALID, NULL);
    expect_invalid("{\"qosClass\":\"Guaranteed\"}", "spec.qosClass", FERR_INVALID, NULL);
    /* BestEffort: no resources at all. */
    expect_invalid("{\"qosClass\":\"BestEffort\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}",
                   "spec.qosClass", FERR_INVALID, NULL);
    expect_invalid("{\"qosClass\":\"BestEffort\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}",
                   "spec.qosClass", FERR_INVALID, NULL);
    /* Burstable needs some resources, and not Guaranteed ones. */
    expect_invalid("{\"qosClass\":\"Burstable\"}", "spec.qosClass", FERR_INVALID, NULL);
    expect_invalid("{\"qosClass\":\"Burstable\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}",
                   "spec.qosClass", FERR_INVALID, NULL);
    expect_invalid("{\"qosClass\":\"Platinum\"}", "spec.qosClass", FERR_UNSUPPORTED, "\"Platinum\"");
}

static void test_storage_and_persistence(void **state)
{
    (void)state;
    expect_valid("{\"storage\":{\"size\":\"1Gi\"}}");
    expect_valid("{\"storage\":{\"size\":\"1Gi\"},\"persistence\":{\"mode\":\"aof\"}}");
    expect_valid("{\"storage\":{\"size\":\"1Gi\"},\"persistence\":{\"mode\":\"none\"}}");
    expect_invalid("{\"storage\":{\"size\":\"0\"}}", "spec.storage.size", FERR_INVALID,
                   "spec.storage.size: Invalid value: \"0\"");
    expect_invalid("{\"storage\":{\"size\":\"-5Gi\"}}", "spec.storage.size", FERR_INVALID, NULL);
    expect_invalid("{\"storage\":{\"size\":\"lots\"}}", "spec.storage.size", FERR_INVALID, NULL);
    /* rdb and aof need storage.size. */
    expect_invalid("{\"persistence\":{\"mode\":\"rdb\"}}", "spec.persistence.mode", FERR_INVALID,
                   "spec.persistence.mode: Invalid value: \"rdb\"");
    expect_invalid("{\"persistence\":{\"mode\":\"aof\"},\"storage\":{\"storageClassName\":\"fast\"}}",
                   "spec.persistence.mode", FERR_INVALID, "spec.storage.size");
    expect_invalid("{\"persistence\":{\"mode\":\"always\"}}", "spec.persistence.mode", FERR_UNSUPPORTED,
                   "\"always\"");
}

static void test_maxmemory(void **state)
{
    (void)state;
    expect_valid("{\"maxmemory\":\"1Gi\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}");
    expect_valid("{\"maxmemory\":\"100Mi\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}");
    expect_invalid("{\"maxmemory\":\"1025Mi\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}",
                   "spec.maxmemory", FERR_INVALID, "spec.maxmemory: Invalid value: \"1025Mi\"");
    expect_invalid("{\"maxmemory\":\"lots\"}", "spec.maxmemory", FERR_INVALID, NULL);
    /* The defaulted maxmemory (80% of the limit) is valid. */
    expect_valid("{\"resources\":{\"limits\":{\"memory\":\"3Gi\"}}}");
}

static void test_auth(void **state)
{
    (void)state;
    expect_valid("{\"auth\":{\"enabled\":false}}");
    expect_valid("{\"auth\":{\"secretName\":\"cache-auth.v2\"}}");
    expect_invalid("{\"auth\":{\"secretName\":\"Cache_Auth\"}}", "spec.auth.secretName", FERR_INVALID,
                   "spec.auth.secretName: Invalid value: \"Cache_Auth\"");
    expect_invalid("{\"auth\":{\"secretName\":\"-x\"}}", "spec.auth.secretName", FERR_INVALID, NULL);
    expect_invalid("{\"auth\":{\"secretName\":\"a..b\"}}", "spec.auth.secretName", FERR_INVALID, NULL);
}

static void test_tls(void **state)
{
    (void)state;
    expect_valid("{\"tls\":{\"enabled\":false}}");
    expect_valid("{\"tls\":{\"enabled\":true,\"secretName\":\"cache-tls\"}}");
    expect_valid("{\"tls\":{\"enabled\":true,\"issuerRef\":{\"name\":\"ca\"}}}");
    expect_valid("{\"tls\":{\"enabled\":true,\"issuerRef\":{\"name\":\"ca\",\"kind\":\"ClusterIssuer\",\"group\":\"cert-manager.io\"}}}");

    /* Enabled: exactly one of secretName and issuerRef. */
    int rc = validate_spec("{\"tls\":{\"enabled\":true}}");
    assert_int_equal(rc, -1);
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.items[0].text, "spec.tls.secretName"));
    assert_non_null(strstr(errs.items[0].text, "spec.tls.issuerRef"));

    rc = validate_spec("{\"tls\":{\"enabled\":true,\"secretName\":\"t\",\"issuerRef\":{\"name\":\"ca\"}}}");
    assert_int_equal(rc, -1);
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.items[0].text, "spec.tls.secretName"));
    assert_non_null(strstr(errs.items[0].text, "spec.tls.issuerRef"));

    expect_invalid("{\"tls\":{\"enabled\":true,\"issuerRef\":{\"name\":\"ca\",\"kind\":\"Vault\"}}}",
                   "spec.tls.issuerRef.kind", FERR_UNSUPPORTED, "\"Vault\"");
    expect_invalid("{\"tls\":{\"enabled\":true,\"issuerRef\":{\"kind\":\"Issuer\"}}}",
                   "spec.tls.issuerRef.name", FERR_REQUIRED, NULL);
    expect_invalid("{\"tls\":{\"enabled\":true,\"secretName\":\"Bad Name\"}}", "spec.tls.secretName",
                   FERR_INVALID, NULL);
}

static void test_failover_ranges(void **state)
{
    (void)state;
    struct range {
        const char *key;
        long long lo, hi;
    };
    static const struct range ranges[] = {
        {"probeIntervalMilliseconds", 100, 60000},
        {"failureThreshold", 1, 100},
        {"replicaPriority", 0, 1000},
    };
    for (size_t i = 0; i < 3; i++) {
        char spec[128], field[96], text[160];
        long long ok[] = {ranges[i].lo, ranges[i].hi};
        long long bad[] = {ranges[i].lo - 1, ranges[i].hi + 1};
        snprintf(field, sizeof(field), "spec.failover.%s", ranges[i].key);
        for (int k = 0; k < 2; k++) {
            /* One replica: no promotable-pods rule in the way of replicaPriority 0. */
            snprintf(spec, sizeof(spec), "{\"replicas\":1,\"failover\":{\"%s\":%lld}}", ranges[i].key, ok[k]);
            expect_valid(spec);
            snprintf(spec, sizeof(spec), "{\"replicas\":1,\"failover\":{\"%s\":%lld}}", ranges[i].key, bad[k]);
            snprintf(text, sizeof(text), "%s: Invalid value: %lld: must be between %lld and %lld", field,
                     bad[k], ranges[i].lo, ranges[i].hi);
            assert_int_equal(validate_spec(spec), -1);
            expect_text(text);
        }
    }
    expect_valid("{\"failover\":{\"maxLagBytes\":0}}");
    expect_valid("{\"failover\":{\"maxLagBytes\":10000000000}}");
    expect_invalid("{\"failover\":{\"maxLagBytes\":-1}}", "spec.failover.maxLagBytes", FERR_INVALID,
                   "spec.failover.maxLagBytes: Invalid value: -1");
}

static void test_failover_priorities(void **state)
{
    (void)state;
    expect_valid("{\"replicas\":3,\"failover\":{\"priorities\":[{\"podOrdinal\":0,\"priority\":0},"
                 "{\"podOrdinal\":2,\"priority\":1000}]}}");
    /* Unique ordinals. */
    expect_invalid("{\"replicas\":3,\"failover\":{\"priorities\":[{\"podOrdinal\":1,\"priority\":5},"
                   "{\"podOrdinal\":1,\"priority\":6}]}}",
                   "spec.failover.priorities[1].podOrdinal", FERR_DUPLICATE,
                   "spec.failover.priorities[1].podOrdinal: Duplicate value: 1");
    /* An ordinal the cluster does not have is a warning (a scale-down through the scale
     * subresource must not make the stored spec invalid); 100 and above can never exist. */
    expect_valid("{\"replicas\":3,\"failover\":{\"priorities\":[{\"podOrdinal\":3,\"priority\":5}]}}");
    assert_true(has_warning("pod ordinal 3 does not exist with spec.replicas 3"));
    expect_invalid("{\"replicas\":3,\"failover\":{\"priorities\":[{\"podOrdinal\":100,\"priority\":5}]}}",
                   "spec.failover.priorities[0].podOrdinal", FERR_INVALID, "Invalid value: 100");
    expect_invalid("{\"replicas\":3,\"failover\":{\"priorities\":[{\"podOrdinal\":-1,\"priority\":5}]}}",
                   "spec.failover.priorities[0].podOrdinal", FERR_INVALID, NULL);
    /* Priority 0..1000. */
    validate_spec("{\"replicas\":3,\"failover\":{\"priorities\":[{\"podOrdinal\":0,\"priority\":1001}]}}");
    expect_text("spec.failover.priorities[0].priority: Invalid value: 1001: must be between 0 and 1000");
    validate_spec("{\"replicas\":3,\"failover\":{\"priorities\":[{\"podOrdinal\":0,\"priority\":-1}]}}");
    expect_text("spec.failover.priorities[0].priority: Invalid value: -1: must be between 0 and 1000");
    /* Both members required. */
    expect_invalid("{\"failover\":{\"priorities\":[{\"priority\":5}]}}",
                   "spec.failover.priorities[0].podOrdinal", FERR_REQUIRED, NULL);
    expect_invalid("{\"failover\":{\"priorities\":[{\"podOrdinal\":0}]}}",
                   "spec.failover.priorities[0].priority", FERR_REQUIRED, NULL);
    /* At most one entry a pod. */
    char big[4096] = "{\"replicas\":100,\"failover\":{\"priorities\":[";
    for (int i = 0; i < 101; i++) {
        char item[48];
        snprintf(item, sizeof(item), "%s{\"podOrdinal\":%d,\"priority\":1}", i ? "," : "", i % 100);
        strcat(big, item);
    }
    strcat(big, "]}}");
    expect_invalid(big, "spec.failover.priorities", FERR_TOO_LONG, NULL);
}

static void test_failover_two_promotable_pods(void **state)
{
    (void)state;
    /* replicaPriority 0 with one pod above 0: only one candidate. */
    expect_invalid("{\"replicas\":3,\"failover\":{\"replicaPriority\":0,\"priorities\":[{\"podOrdinal\":1,\"priority\":10}]}}",
                   "spec.failover.priorities", FERR_INVALID, NULL);
    /* Two pods above 0: fine. */
    expect_valid("{\"replicas\":3,\"failover\":{\"replicaPriority\":0,\"priorities\":[{\"podOrdinal\":1,\"priority\":10},"
                 "{\"podOrdinal\":2,\"priority\":1}]}}");
    /* Two replicas, one of them never promoted. */
    expect_invalid("{\"replicas\":2,\"failover\":{\"priorities\":[{\"podOrdinal\":0,\"priority\":0}]}}",
                   "spec.failover.priorities", FERR_INVALID, NULL);
    /* Not with failover disabled, nor with one replica. */
    expect_valid("{\"replicas\":3,\"failover\":{\"enabled\":false,\"replicaPriority\":0}}");
    expect_valid("{\"replicas\":1,\"failover\":{\"replicaPriority\":0}}");
}

static void test_config(void **state)
{
    (void)state;
    expect_valid("{\"config\":{\"maxmemory-policy\":\"allkeys-lru\",\"hz\":\"10\",\"lazyfree-lazy-eviction\":\"yes\"}}");
    expect_invalid("{\"config\":{\"Max_Memory\":\"1\"}}", "spec.config[Max_Memory]", FERR_INVALID, NULL);
    expect_invalid("{\"config\":{\"\":\"1\"}}", "spec.config[]", FERR_INVALID, NULL);
    expect_invalid("{\"config\":{\"hz\":\"10\\nrequirepass x\"}}", "spec.config[hz]", FERR_INVALID, NULL);
    expect_invalid("{\"config\":{\"hz\":\"10\\r\"}}", "spec.config[hz]", FERR_INVALID, NULL);
    expect_invalid("{\"config\":{\"hz\":10}}", "spec.config[hz]", FERR_TYPE, NULL);

    /* Every key the operator owns is refused by name. */
    static const char *const owned[] = {
        "port", "bind", "replicaof", "slaveof", "tls-port", "tls-cert-file", "requirepass",
        "masterauth", "dir", "dbfilename", "appendonly", "save", "cluster-enabled",
        "cluster-config-file", "daemonize", "include", "rename-command", "maxmemory",
    };
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        char spec[128], field[96];
        snprintf(spec, sizeof(spec), "{\"config\":{\"%s\":\"x\"}}", owned[i]);
        snprintf(field, sizeof(field), "spec.config[%s]", owned[i]);
        expect_invalid(spec, field, FERR_FORBIDDEN, NULL);
    }
    /* Keys that only start like an owned one are the user's. */
    expect_valid("{\"config\":{\"maxmemory-samples\":\"5\",\"save-x\":\"1\",\"portal\":\"1\"}}");
}

static void test_enums(void **state)
{
    (void)state;
    expect_valid("{\"antiAffinity\":\"none\"}");
    expect_valid("{\"antiAffinity\":\"required\"}");
    expect_invalid("{\"antiAffinity\":\"always\"}", "spec.antiAffinity", FERR_UNSUPPORTED, NULL);
    expect_valid("{\"service\":{\"type\":\"NodePort\"}}");
    expect_invalid("{\"service\":{\"type\":\"ExternalName\"}}", "spec.service.type", FERR_UNSUPPORTED, NULL);
}

static void test_pod_passthrough(void **state)
{
    (void)state;
    expect_invalid("{\"pod\":{\"labels\":{\"app.kubernetes.io/name\":\"x\"}}}",
                   "spec.pod.labels[app.kubernetes.io/name]", FERR_FORBIDDEN, NULL);
    expect_invalid("{\"pod\":{\"labels\":{\"gungnir.dev/role\":\"primary\"}}}",
                   "spec.pod.labels[gungnir.dev/role]", FERR_FORBIDDEN, NULL);
    /* A bad key: reported on the map or on the item, with the key shown. */
    assert_int_equal(validate_spec("{\"pod\":{\"labels\":{\"bad key!\":\"x\"}}}"), -1);
    const struct ferr *e = find_under("spec.pod.labels", FERR_INVALID);
    if (!e)
        print_errors();
    assert_non_null(e);
    assert_non_null(strstr(e->text, "\"bad key!\""));
    expect_invalid("{\"pod\":{\"labels\":{\"team\":\"-bad-\"}}}", "spec.pod.labels[team]", FERR_INVALID, NULL);
    expect_invalid("{\"pod\":{\"priorityClassName\":\"High_Priority\"}}", "spec.pod.priorityClassName",
                   FERR_INVALID, NULL);
    /* Annotations may hold any value. */
    expect_valid("{\"pod\":{\"annotations\":{\"example.com/note\":\"any text, even -this-\"}}}");
}

/* ---- metadata.name and generateName --------------------------------------------------- */

static int validate_named(const char *name, const char *generate_name)
{
    json_t *obj = cluster(name, "{}");
    if (generate_name)
        json_object_set_new(json_object_get(obj, "metadata"), "generateName", json_string(generate_name));
    int rc = validate(obj);
    json_decref(obj);
    return rc;
}

static void test_metadata_name(void **state)
{
    (void)state;
    char n52[53], n53[54];
    memset(n52, 'a', 52);
    n52[52] = '\0';
    memset(n53, 'a', 53);
    n53[53] = '\0';

    static const char *const good[] = {"a", "cache", "my-cache-1", "a1"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(validate_named(good[i], NULL), 0);
    assert_int_equal(validate_named(n52, NULL), 0);

    assert_int_equal(validate_named(n53, NULL), -1);
    expect_error("metadata.name", FERR_TOO_LONG, "52");

    static const char *const bad[] = {"Cache", "1cache", "-cache", "cache-", "my_cache", "my.cache", "caché"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (validate_named(bad[i], NULL) != -1)
            print_error("name %s accepted\n", bad[i]);
        assert_int_equal(errs.count, 1);
        expect_error("metadata.name", FERR_INVALID, "DNS-1035");
    }

    assert_int_equal(validate_named("", NULL), -1);
    expect_error("metadata.name", FERR_REQUIRED, NULL);
    assert_int_equal(validate_named(NULL, NULL), -1);
    expect_error("metadata.name", FERR_REQUIRED, NULL);
}

static void test_generate_name(void **state)
{
    (void)state;
    char g47[48], g48[49];
    memset(g47, 'g', 47);
    g47[47] = '\0';
    memset(g48, 'g', 48);
    g48[48] = '\0';

    assert_int_equal(validate_named(NULL, "cache-"), 0);
    assert_int_equal(validate_named("", "cache-"), 0);
    assert_int_equal(validate_named(NULL, g47), 0); /* + 5 random characters = 52 */
    assert_int_equal(validate_named(NULL, g48), -1);
    expect_error("metadata.generateName", FERR_TOO_LONG, NULL);
    assert_int_equal(validate_named(NULL, "Cache-"), -1);
    expect_error("metadata.generateName", FERR_INVALID, NULL);
    assert_int_equal(validate_named(NULL, "1cache-"), -1);
    expect_error("metadata.generateName", FERR_INVALID, NULL);
    /* A name wins over generateName. */
    assert_int_equal(validate_named("Bad", "cache-"), -1);
    expect_error("metadata.name", FERR_INVALID, NULL);
}

/* ---- every error at once ----------------------------------------------------------------- */

static void test_every_error_listed_at_once(void **state)
{
    (void)state;
    json_t *obj = cluster("Bad_Name", "{\"replicas\":0,\"image\":\"\",\"imagePullPolicy\":\"Sometimes\","
                                      "\"storage\":{\"size\":\"0\"},\"persistence\":{\"mode\":\"bogus\"},"
                                      "\"auth\":{\"secretName\":\"UPPER\"},\"tls\":{\"enabled\":true},"
                                      "\"failover\":{\"probeIntervalMilliseconds\":5,\"failureThreshold\":0,"
                                      "\"replicaPriority\":2000,\"maxLagBytes\":-1},"
                                      "\"config\":{\"port\":\"7000\",\"Bad\":\"x\"},"
                                      "\"antiAffinity\":\"x\",\"service\":{\"type\":\"x\"}}");
    int rc = validate(obj);
    json_decref(obj);
    assert_int_equal(rc, -1);
    static const char *const fields[] = {
        "metadata.name", "spec.replicas", "spec.image", "spec.imagePullPolicy", "spec.storage.size",
        "spec.persistence.mode", "spec.auth.secretName", "spec.tls.secretName",
        "spec.failover.probeIntervalMilliseconds", "spec.failover.failureThreshold",
        "spec.failover.replicaPriority", "spec.failover.maxLagBytes", "spec.config[port]",
        "spec.config[Bad]", "spec.antiAffinity", "spec.service.type",
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        expect_error(fields[i], -1, NULL);
    assert_int_equal(errs.dropped, 0);
    assert_int_equal(ferr_http_code(&errs), 422);

    /* All of them in the one message a user sees. */
    size_t size = FERR_MAX * FERR_TEXT_MAX + 512;
    char *msg = malloc(size);
    assert_non_null(msg);
    ferr_render(&errs, VKC_KIND_GROUP, "Bad_Name", msg, size);
    size_t missing = 0;
    for (size_t i = 0; i < errs.count; i++)
        missing += strstr(msg, errs.items[i].text) == NULL;
    static const char want_prefix[] = "ValkeyCluster.gungnir.dev \"Bad_Name\" is invalid: [";
    bool prefix = strncmp(msg, want_prefix, strlen(want_prefix)) == 0;
    free(msg);
    assert_int_equal(missing, 0);
    assert_true(prefix);
}

/* ---- wrong JSON types ---------------------------------------------------------------------- */

struct type_case {
    const char *spec;
    const char *field;
};

static void test_wrong_types_give_field_errors(void **state)
{
    (void)state;
    static const struct type_case cases[] = {
        {"{\"replicas\":\"3\"}", "spec.replicas"},
        {"{\"replicas\":2.5}", "spec.replicas"},
        {"{\"image\":5}", "spec.image"},
        {"{\"imagePullPolicy\":1}", "spec.imagePullPolicy"},
        {"{\"resources\":\"big\"}", "spec.resources"},
        {"{\"resources\":{\"requests\":[]}}", "spec.resources.requests"},
        {"{\"resources\":{\"limits\":{\"cpu\":[1]}}}", "spec.resources.limits[cpu]"},
        {"{\"qosClass\":1}", "spec.qosClass"},
        {"{\"storage\":\"10Gi\"}", "spec.storage"},
        {"{\"storage\":{\"size\":true}}", "spec.storage.size"},
        {"{\"storage\":{\"size\":\"1Gi\",\"storageClassName\":5}}", "spec.storage.storageClassName"},
        {"{\"persistence\":\"rdb\"}", "spec.persistence"},
        {"{\"persistence\":{\"mode\":1}}", "spec.persistence.mode"},
        {"{\"maxmemory\":[]}", "spec.maxmemory"},
        {"{\"auth\":true}", "spec.auth"},
        {"{\"auth\":{\"enabled\":\"yes\"}}", "spec.auth.enabled"},
        {"{\"auth\":{\"secretName\":1}}", "spec.auth.secretName"},
        {"{\"tls\":[]}", "spec.tls"},
        {"{\"tls\":{\"enabled\":\"true\"}}", "spec.tls.enabled"},
        {"{\"tls\":{\"secretName\":{}}}", "spec.tls.secretName"},
        {"{\"tls\":{\"issuerRef\":\"ca\"}}", "spec.tls.issuerRef"},
        {"{\"tls\":{\"issuerRef\":{\"name\":1}}}", "spec.tls.issuerRef.name"},
        {"{\"tls\":{\"issuerRef\":{\"name\":\"ca\",\"kind\":2}}}", "spec.tls.issuerRef.kind"},
        {"{\"failover\":1}", "spec.failover"},
        {"{\"failover\":{\"enabled\":\"no\"}}", "spec.failover.enabled"},
        {"{\"failover\":{\"probeIntervalMilliseconds\":\"1000\"}}", "spec.failover.probeIntervalMilliseconds"},
        {"{\"failover\":{\"failureThreshold\":true}}", "spec.failover.failureThreshold"},
        {"{\"failover\":{\"replicaPriority\":1.5}}", "spec.failover.replicaPriority"},
        {"{\"failover\":{\"maxLagBytes\":\"0\"}}", "spec.failover.maxLagBytes"},
        {"{\"failover\":{\"priorities\":{}}}", "spec.failover.priorities"},
        {"{\"failover\":{\"priorities\":[1]}}", "spec.failover.priorities[0]"},
        {"{\"failover\":{\"priorities\":[{\"podOrdinal\":\"0\",\"priority\":1}]}}", "spec.failover.priorities[0].podOrdinal"},
        {"{\"config\":[]}", "spec.config"},
        {"{\"config\":{\"hz\":null}}", "spec.config[hz]"},
        {"{\"pod\":\"x\"}", "spec.pod"},
        {"{\"pod\":{\"labels\":[]}}", "spec.pod.labels"},
        {"{\"pod\":{\"labels\":{\"team\":1}}}", "spec.pod.labels[team]"},
        {"{\"pod\":{\"annotations\":\"x\"}}", "spec.pod.annotations"},
        {"{\"pod\":{\"nodeSelector\":1}}", "spec.pod.nodeSelector"},
        {"{\"pod\":{\"tolerations\":{}}}", "spec.pod.tolerations"},
        {"{\"pod\":{\"affinity\":[]}}", "spec.pod.affinity"},
        {"{\"pod\":{\"topologySpreadConstraints\":\"x\"}}", "spec.pod.topologySpreadConstraints"},
        {"{\"pod\":{\"priorityClassName\":1}}", "spec.pod.priorityClassName"},
        {"{\"antiAffinity\":true}", "spec.antiAffinity"},
        {"{\"service\":\"ClusterIP\"}", "spec.service"},
        {"{\"service\":{\"type\":1}}", "spec.service.type"},
        {"{\"podDisruptionBudget\":1}", "spec.podDisruptionBudget"},
        {"{\"podDisruptionBudget\":{\"enabled\":\"yes\"}}", "spec.podDisruptionBudget.enabled"},
        {"{\"metrics\":[]}", "spec.metrics"},
        {"{\"metrics\":{\"enabled\":0}}", "spec.metrics.enabled"},
        {"\"spec\"", "spec"},
        {"[]", "spec"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = validate_spec(cases[i].spec);
        if (rc != -1 || !find(cases[i].field, -1)) {
            print_error("%s: no error on %s\n", cases[i].spec, cases[i].field);
            print_errors();
        }
        assert_int_equal(rc, -1);
        assert_non_null(find(cases[i].field, -1));
    }

    /* The whole object and its metadata. */
    json_t *obj = parse("[1,2]");
    assert_int_equal(validate(obj), -1);
    json_decref(obj);
    obj = parse("{\"metadata\":\"cache\",\"spec\":{}}");
    vkc_default(obj, NULL);
    assert_int_equal(validate(obj), -1);
    expect_error("metadata", FERR_TYPE, NULL);
    json_decref(obj);
    obj = parse("{\"metadata\":{\"name\":5},\"spec\":{}}");
    vkc_default(obj, NULL);
    assert_int_equal(validate(obj), -1);
    expect_error("metadata.name", FERR_TYPE, NULL);
    json_decref(obj);
    assert_int_equal(validate(NULL), -1);
}

/* A name of the wrong type is an error even when generateName is set too. */
static void test_wrong_type_name_with_generate_name(void **state)
{
    (void)state;
    json_t *obj = parse("{\"metadata\":{\"name\":5,\"generateName\":\"cache-\"},\"spec\":{}}");
    vkc_default(obj, NULL);
    int rc = validate(obj);
    json_decref(obj);
    assert_int_equal(rc, -1);
    expect_error("metadata.name", FERR_TYPE, NULL);
}

/* A field of the wrong type is reported once, with the value the user wrote: no second error
 * about a value (0, or a missing field) the user never gave. */
static void test_wrong_type_reported_once(void **state)
{
    (void)state;
    static const struct type_case cases[] = {
        {"{\"replicas\":\"three\"}", "spec.replicas"},
        {"{\"image\":5}", "spec.image"},
        {"{\"failover\":{\"probeIntervalMilliseconds\":\"1000\"}}", "spec.failover.probeIntervalMilliseconds"},
        {"{\"failover\":{\"failureThreshold\":\"3\"}}", "spec.failover.failureThreshold"},
    };
    size_t wrong = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        validate_spec(cases[i].spec);
        if (errs.count != 1 || count_on(cases[i].field) != 1) {
            print_error("%s: want one error on %s, got:\n", cases[i].spec, cases[i].field);
            print_errors();
            wrong++;
        }
    }
    /* A failover that is not an object: one error on it, none on the fields inside. */
    validate_spec("{\"failover\":true}");
    if (errs.count != 1 || count_on("spec.failover") != 1) {
        print_error("{\"failover\":true}: want one error on spec.failover, got:\n");
        print_errors();
        wrong++;
    }
    assert_int_equal(wrong, 0);
}

/* ---- warnings ------------------------------------------------------------------------------ */

static void test_warnings(void **state)
{
    (void)state;
    /* Unknown fields. */
    assert_int_equal(validate_spec("{\"replica\":3,\"pod\":{\"label\":{}}}"), 0);
    assert_true(has_warning("spec.replica"));
    assert_true(has_warning("spec.pod.label"));
    assert_int_equal(warns.count, 2);

    /* Image tags. */
    assert_int_equal(validate_spec("{\"image\":\"valkey/valkey:latest\"}"), 0);
    assert_int_equal(warns.count, 1);
    assert_true(has_warning("spec.image"));
    assert_true(has_warning("latest"));
    static const char *const untagged[] = {"valkey/valkey", "valkey", "localhost:5000/valkey/valkey"};
    for (size_t i = 0; i < 3; i++) {
        char spec[128];
        snprintf(spec, sizeof(spec), "{\"image\":\"%s\"}", untagged[i]);
        assert_int_equal(validate_spec(spec), 0);
        if (warns.count != 1)
            print_error("%s: no warning\n", untagged[i]);
        assert_int_equal(warns.count, 1);
        assert_true(has_warning("spec.image"));
    }
    static const char *const pinned[] = {"valkey/valkey:8.1", "localhost:5000/valkey/valkey:8.1",
                                         "valkey/valkey@sha256:0123456789abcdef"};
    for (size_t i = 0; i < 3; i++) {
        char spec[128];
        snprintf(spec, sizeof(spec), "{\"image\":\"%s\"}", pinned[i]);
        assert_int_equal(validate_spec(spec), 0);
        if (warns.count != 0)
            print_error("%s: warned: %s\n", pinned[i], warns.items[0]);
        assert_int_equal(warns.count, 0);
    }

    /* One replica with failover: nothing to promote. */
    assert_int_equal(validate_spec("{\"replicas\":1}"), 0);
    assert_int_equal(warns.count, 1);
    assert_true(has_warning("spec.replicas"));
    assert_int_equal(validate_spec("{\"replicas\":1,\"failover\":{\"enabled\":false}}"), 0);
    assert_int_equal(warns.count, 0);

    /* Many warnings are bounded; warns may be NULL. */
    char spec[1024] = "{";
    for (int i = 0; i < 20; i++) {
        char item[32];
        snprintf(item, sizeof(item), "%s\"unknown%d\":1", i ? "," : "", i);
        strcat(spec, item);
    }
    strcat(spec, "}");
    assert_int_equal(validate_spec(spec), 0);
    assert_int_equal(warns.count, VKC_WARNINGS_MAX);
    json_t *obj = cluster("cache", spec);
    ferr_init(&errs);
    assert_int_equal(vkc_validate_object(obj, &errs, NULL, NULL), 0);
    json_decref(obj);
}

/* ---- name checks ----------------------------------------------------------------------------- */

static void test_name_checks(void **state)
{
    (void)state;
    assert_true(vkc_is_dns1035_label("abc-1", 63));
    assert_false(vkc_is_dns1035_label("abc", 2));
    assert_false(vkc_is_dns1035_label("", 63));
    assert_false(vkc_is_dns1035_label("1abc", 63));
    assert_false(vkc_is_dns1035_label("abc-", 63));
    assert_false(vkc_is_dns1035_label("aBc", 63));

    assert_true(vkc_is_dns1123_subdomain("a"));
    assert_true(vkc_is_dns1123_subdomain("1a.b-c.d"));
    assert_false(vkc_is_dns1123_subdomain(""));
    assert_false(vkc_is_dns1123_subdomain("a..b"));
    assert_false(vkc_is_dns1123_subdomain(".a"));
    assert_false(vkc_is_dns1123_subdomain("a."));
    assert_false(vkc_is_dns1123_subdomain("A"));
    assert_false(vkc_is_dns1123_subdomain("a_b"));
    char long_sub[300];
    memset(long_sub, 'a', 254);
    long_sub[254] = '\0';
    for (int i = 50; i < 254; i += 51)
        long_sub[i] = '.';
    assert_false(vkc_is_dns1123_subdomain(long_sub)); /* 254 characters */
    long_sub[253] = '\0';
    assert_true(vkc_is_dns1123_subdomain(long_sub)); /* 253 */

    assert_true(vkc_is_qualified_name("app"));
    assert_true(vkc_is_qualified_name("example.com/My_Key.1"));
    assert_false(vkc_is_qualified_name("example.com/"));
    assert_false(vkc_is_qualified_name("/key"));
    assert_false(vkc_is_qualified_name("a/b/c"));
    assert_false(vkc_is_qualified_name("-key"));
    assert_false(vkc_is_qualified_name("Example.com/key"));

    assert_true(vkc_is_label_value(""));
    assert_true(vkc_is_label_value("v1.2_a-b"));
    assert_false(vkc_is_label_value("-v"));
    assert_false(vkc_is_label_value("a b"));
    char v64[65];
    memset(v64, 'v', 64);
    v64[64] = '\0';
    assert_false(vkc_is_label_value(v64));
    v64[63] = '\0';
    assert_true(vkc_is_label_value(v64));
}

static void test_pod_priority_lookup(void **state)
{
    (void)state;
    struct vkc_spec s;
    json_t *obj = cluster("cache", "{\"replicas\":4,\"failover\":{\"replicaPriority\":7,"
                                   "\"priorities\":[{\"podOrdinal\":2,\"priority\":900}]}}");
    ferr_init(&errs);
    assert_int_equal(vkc_validate_object(obj, &errs, NULL, &s), 0);
    assert_int_equal(vkc_spec_pod_priority(&s, 0), 7);
    assert_int_equal(vkc_spec_pod_priority(&s, 2), 900);
    assert_int_equal(vkc_spec_pod_priority(&s, 3), 7);
    json_decref(obj);
}

/* ---- UPDATE ------------------------------------------------------------------------------------ */

/* Validates the update old_spec -> new_spec (both defaulted; old_status may be NULL). */
static int validate_update(const char *old_spec, const char *new_spec, const char *old_status)
{
    json_t *old_obj = cluster("cache", old_spec), *new_obj = cluster("cache", new_spec);
    if (old_status) {
        json_object_set_new(old_obj, "status", parse(old_status));
        json_object_set_new(new_obj, "status", parse(old_status));
    }
    ferr_init(&errs);
    memset(&warns, 0, sizeof(warns));
    int rc = vkc_validate_update(old_obj, new_obj, &errs, &warns);
    json_decref(old_obj);
    json_decref(new_obj);
    return rc;
}

static void expect_forbidden(const char *old_spec, const char *new_spec, const char *status,
                             const char *field, const char *part)
{
    int rc = validate_update(old_spec, new_spec, status);
    if (rc != -1 || ferr_http_code(&errs) != 403) {
        print_error("update %s -> %s should be forbidden; got:\n", old_spec, new_spec);
        print_errors();
    }
    assert_int_equal(rc, -1);
    assert_int_equal(ferr_http_code(&errs), 403);
    assert_string_equal(ferr_reason(&errs), "Forbidden");
    expect_error(field, FERR_FORBIDDEN, part);
    assert_true(find(field, FERR_FORBIDDEN)->transition);
}

static void expect_allowed(const char *old_spec, const char *new_spec, const char *status)
{
    int rc = validate_update(old_spec, new_spec, status);
    if (rc != 0) {
        print_error("update %s -> %s should be allowed; got:\n", old_spec, new_spec);
        print_errors();
    }
    assert_int_equal(rc, 0);
}

static void test_update_storage_size(void **state)
{
    (void)state;
    expect_forbidden("{\"storage\":{\"size\":\"10Gi\"}}", "{\"storage\":{\"size\":\"5Gi\"}}", NULL,
                     "spec.storage.size", "spec.storage.size: Forbidden: may not shrink (from 10Gi to 5Gi)");
    expect_forbidden("{\"storage\":{\"size\":\"1Gi\"}}", "{\"storage\":{\"size\":\"1023Mi\"}}", NULL,
                     "spec.storage.size", NULL);
    expect_allowed("{\"storage\":{\"size\":\"10Gi\"}}", "{\"storage\":{\"size\":\"20Gi\"}}", NULL);
    expect_allowed("{\"storage\":{\"size\":\"1Gi\"}}", "{\"storage\":{\"size\":\"1024Mi\"}}", NULL);
    /* Removed, or added to a cluster on emptyDir. */
    expect_forbidden("{\"storage\":{\"size\":\"10Gi\"}}", "{}", NULL, "spec.storage.size", NULL);
    expect_forbidden("{\"storage\":{\"size\":\"10Gi\"}}", "{\"storage\":{}}", NULL, "spec.storage.size", NULL);
    expect_forbidden("{}", "{\"storage\":{\"size\":\"10Gi\"}}", NULL, "spec.storage.size", NULL);
}

static void test_update_storage_class_and_mode(void **state)
{
    (void)state;
    expect_forbidden("{\"storage\":{\"size\":\"10Gi\",\"storageClassName\":\"fast\"}}",
                     "{\"storage\":{\"size\":\"10Gi\",\"storageClassName\":\"slow\"}}", NULL,
                     "spec.storage.storageClassName", "fast");
    expect_forbidden("{\"storage\":{\"size\":\"10Gi\",\"storageClassName\":\"fast\"}}",
                     "{\"storage\":{\"size\":\"10Gi\"}}", NULL, "spec.storage.storageClassName", NULL);
    expect_allowed("{\"storage\":{\"size\":\"10Gi\",\"storageClassName\":\"fast\"}}",
                   "{\"storage\":{\"size\":\"20Gi\",\"storageClassName\":\"fast\"}}", NULL);
    expect_forbidden("{\"storage\":{\"size\":\"10Gi\"},\"persistence\":{\"mode\":\"rdb\"}}",
                     "{\"storage\":{\"size\":\"10Gi\"},\"persistence\":{\"mode\":\"aof\"}}", NULL,
                     "spec.persistence.mode", "rdb");
    /* The defaulted mode (rdb) counts as set. */
    expect_forbidden("{\"storage\":{\"size\":\"10Gi\"}}",
                     "{\"storage\":{\"size\":\"10Gi\"},\"persistence\":{\"mode\":\"none\"}}", NULL,
                     "spec.persistence.mode", NULL);
}

static void test_update_replicas_during_failover(void **state)
{
    (void)state;
    static const char *const failing_over = "{\"failover\":{\"inProgress\":true,\"epoch\":7}}";
    expect_forbidden("{\"replicas\":3}", "{\"replicas\":5}", failing_over, "spec.replicas",
                     "retry after the failover");
    expect_forbidden("{\"replicas\":3}", "{\"replicas\":2}", failing_over, "spec.replicas", NULL);
    expect_allowed("{\"replicas\":3}", "{\"replicas\":3,\"image\":\"valkey/valkey:8.1.2\"}", failing_over);
    expect_allowed("{\"replicas\":3}", "{\"replicas\":5}", "{\"failover\":{\"inProgress\":false,\"epoch\":7}}");
    expect_allowed("{\"replicas\":3}", "{\"replicas\":5}", NULL);
}

static void test_update_mixed_errors_are_422(void **state)
{
    (void)state;
    int rc = validate_update("{\"storage\":{\"size\":\"10Gi\"}}", "{\"replicas\":0,\"storage\":{\"size\":\"5Gi\"}}", NULL);
    assert_int_equal(rc, -1);
    expect_error("spec.replicas", FERR_INVALID, NULL);
    expect_error("spec.storage.size", FERR_FORBIDDEN, NULL);
    assert_int_equal(ferr_http_code(&errs), 422);
}

static void test_update_while_deleting_is_allowed(void **state)
{
    (void)state;
    json_t *old_obj = cluster("cache", "{\"storage\":{\"size\":\"10Gi\"}}");
    json_t *new_obj = cluster("cache", "{\"replicas\":0,\"storage\":{\"size\":\"1Gi\"}}");
    json_object_set_new(json_object_get(new_obj, "metadata"), "deletionTimestamp",
                        json_string("2025-01-01T00:00:00Z"));
    json_object_set_new(old_obj, "status", parse("{\"failover\":{\"inProgress\":true}}"));
    ferr_init(&errs);
    int rc = vkc_validate_update(old_obj, new_obj, &errs, NULL);
    json_decref(old_obj);
    json_decref(new_obj);
    assert_int_equal(rc, 0);
    assert_int_equal(errs.count, 0);
}

static void test_update_validates_new_object(void **state)
{
    (void)state;
    int rc = validate_update("{}", "{\"imagePullPolicy\":\"Sometimes\"}", NULL);
    assert_int_equal(rc, -1);
    expect_error("spec.imagePullPolicy", FERR_UNSUPPORTED, NULL);
    assert_int_equal(ferr_http_code(&errs), 422);
    /* An old object that does not parse does not stop the new one being judged. */
    json_t *old_obj = parse("{\"spec\":\"garbage\"}");
    json_t *new_obj = cluster("cache", "{\"replicas\":0}");
    ferr_init(&errs);
    rc = vkc_validate_update(old_obj, new_obj, &errs, NULL);
    json_decref(old_obj);
    json_decref(new_obj);
    assert_int_equal(rc, -1);
    expect_error("spec.replicas", FERR_INVALID, NULL);
}

/* ---- the scale subresource ----------------------------------------------------------------- */

static int validate_scale(const char *scale)
{
    json_t *s = parse(scale);
    ferr_init(&errs);
    int rc = vkc_validate_scale(s, &errs);
    json_decref(s);
    return rc;
}

static void test_scale(void **state)
{
    (void)state;
    assert_int_equal(validate_scale("{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"Scale\",\"spec\":{\"replicas\":1}}"), 0);
    assert_int_equal(validate_scale("{\"spec\":{\"replicas\":100}}"), 0);
    assert_int_equal(validate_scale("{\"spec\":{\"replicas\":0}}"), -1);
    expect_text("spec.replicas: Invalid value: 0: must be between 1 and 100");
    assert_int_equal(validate_scale("{\"spec\":{\"replicas\":101}}"), -1);
    expect_text("spec.replicas: Invalid value: 101: must be between 1 and 100");
    assert_int_equal(validate_scale("{\"spec\":{}}"), -1);
    expect_error("spec.replicas", FERR_REQUIRED, NULL);
    assert_int_equal(validate_scale("{}"), -1);
    expect_error("spec.replicas", FERR_REQUIRED, NULL);
    assert_int_equal(validate_scale("{\"spec\":{\"replicas\":\"5\"}}"), -1);
    expect_error("spec.replicas", FERR_TYPE, NULL);
    assert_int_equal(validate_scale("{\"spec\":\"x\"}"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaulted_empty_spec_is_valid),
        cmocka_unit_test(test_full_valid_spec),
        cmocka_unit_test(test_replicas_bounds),
        cmocka_unit_test(test_image),
        cmocka_unit_test(test_image_pull_policy),
        cmocka_unit_test(test_resource_quantities),
        cmocka_unit_test(test_request_within_limit),
        cmocka_unit_test(test_request_within_integer_limit_message),
        cmocka_unit_test(test_qos_class),
        cmocka_unit_test(test_storage_and_persistence),
        cmocka_unit_test(test_maxmemory),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_failover_ranges),
        cmocka_unit_test(test_failover_priorities),
        cmocka_unit_test(test_failover_two_promotable_pods),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_pod_passthrough),
        cmocka_unit_test(test_metadata_name),
        cmocka_unit_test(test_generate_name),
        cmocka_unit_test(test_every_error_listed_at_once),
        cmocka_unit_test(test_wrong_types_give_field_errors),
        cmocka_unit_test(test_wrong_type_name_with_generate_name),
        cmocka_unit_test(test_wrong_type_reported_once),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_name_checks),
        cmocka_unit_test(test_pod_priority_lookup),
        cmocka_unit_test(test_update_storage_size),
        cmocka_unit_test(test_update_storage_class_and_mode),
        cmocka_unit_test(test_update_replicas_during_failover),
        cmocka_unit_test(test_update_mixed_errors_are_422),
        cmocka_unit_test(test_update_while_deleting_is_allowed),
        cmocka_unit_test(test_update_validates_new_object),
        cmocka_unit_test(test_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
