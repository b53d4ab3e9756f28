/* test_pod_template.c — what the StatefulSet's pod template promises a security review: the
 * pods run as a non-root user under the "restricted" Pod Security Standard, and the password
 * reaches valkey-server and valkey-cli without being written into an argument list, the
 * ConfigMap or the pod spec (only a reference to the Secret is there). */
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

#include "desired.h"
#include "field_errors.h"
#include "vkc_defaults.h"
#include "vkc_validate.h"

struct rendered {
    json_t *vkc; /* the defaulted object the spec borrows from */
    struct vkc_spec spec;
    json_t *sts;
};

static void render(struct rendered *r, const char *spec_text)
{
    json_error_t e;
    ferr_list errs;
    r->vkc = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:o}", "apiVersion", "gungnir.dev/v1alpha1", "kind",
                       "ValkeyCluster", "metadata", "name", "cache", "namespace", "ns", "uid", "u-1", "spec",
                       json_loads(spec_text, 0, &e));
    assert_non_null(r->vkc);
    assert_true(vkc_default(r->vkc, NULL) >= 0);
    ferr_init(&errs);
    assert_int_equal(vkc_validate_object(r->vkc, &errs, NULL, &r->spec), 0);
    struct desired_input in = {.name = "cache", .namespace_ = "ns", .uid = "u-1", .spec = &r->spec,
                               .spec_json = json_object_get(r->vkc, "spec"), .pdb_api_version = "policy/v1"};
    r->sts = desired_statefulset(&in);
    assert_non_null(r->sts);
}

static void release(struct rendered *r)
{
    json_decref(r->sts);
    json_decref(r->vkc);
}

static const json_t *pod_spec(const struct rendered *r)
{
    return json_object_get(json_object_get(json_object_get(r->sts, "spec"), "template"), "spec");
}

static const json_t *container(const struct rendered *r)
{
    return json_array_get(json_object_get(pod_spec(r), "containers"), 0);
}

static void test_pods_run_as_non_root_under_the_restricted_standard(void **state)
{
    (void)state;
    struct rendered r;
    render(&r, "{}");
    const json_t *psc = json_object_get(pod_spec(&r), "securityContext");
    assert_true(json_is_true(json_object_get(psc, "runAsNonRoot")));
    assert_true(json_integer_value(json_object_get(psc, "runAsUser")) > 0);
    assert_true(json_integer_value(json_object_get(psc, "runAsGroup")) > 0);
    /* The data volume is the group's, so the server can write it. */
    assert_int_equal(json_integer_value(json_object_get(psc, "fsGroup")),
                     json_integer_value(json_object_get(psc, "runAsGroup")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(psc, "seccompProfile"), "type")),
                        "RuntimeDefault");
    const json_t *csc = json_object_get(container(&r), "securityContext");
    assert_true(json_is_false(json_object_get(csc, "allowPrivilegeEscalation")));
    const json_t *drop = json_object_get(json_object_get(csc, "capabilities"), "drop");
    assert_int_equal(json_array_size(drop), 1);
    assert_string_equal(json_string_value(json_array_get(drop, 0)), "ALL");
    assert_null(json_object_get(json_object_get(csc, "capabilities"), "add"));
    assert_null(json_object_get(csc, "privileged"));
    release(&r);
}

/* True when any string anywhere in v contains needle. */
static bool any_string_contains(const json_t *v, const char *needle)
{
    if (json_is_string(v))
        return strstr(json_string_value(v), needle) != NULL;
    size_t i;
    const char *k;
    const json_t *x;
    if (json_is_array(v))
        json_array_foreach(v, i, x) if (any_string_contains(x, needle)) return true;
    if (json_is_object(v))
        json_object_foreach((json_t *)v, k, x) if (any_string_contains(x, needle)) return true;
    return false;
}

static void test_the_password_is_never_an_argument(void **state)
{
    (void)state;
    struct rendered r;
    render(&r, "{}");
    const json_t *ct = container(&r);
    const char *script = json_string_value(json_array_get(json_object_get(ct, "command"), 2));
    assert_non_null(script);
    /* valkey-server gets it as config lines on stdin (the "-" argument), from a here-document. */
    assert_null(strstr(script, "--requirepass"));
    assert_null(strstr(script, "--masterauth"));
    assert_non_null(strstr(script, "valkey.conf - <<EOF\n"));
    assert_non_null(strstr(script, "\nrequirepass \"$VALKEY_PASSWORD\"\n"));
    assert_non_null(strstr(script, "\nmasterauth \"$VALKEY_PASSWORD\"\n"));
    assert_non_null(strstr(script, "\nEOF\n"));
    /* valkey-cli reads it from the environment, never from -a. */
    const char *probe = json_string_value(
        json_array_get(json_object_get(json_object_get(json_object_get(ct, "readinessProbe"), "exec"), "command"), 2));
    assert_non_null(probe);
    assert_null(strstr(probe, "-a "));
    assert_null(strstr(probe, "PASSWORD"));
    /* Every variable that carries it is a Secret reference, not a value. */
    size_t i;
    const json_t *e;
    int refs = 0;
    json_array_foreach(json_object_get(ct, "env"), i, e)
    {
        assert_null(json_object_get(e, "value"));
        const json_t *ref = json_object_get(json_object_get(e, "valueFrom"), "secretKeyRef");
        assert_string_equal(json_string_value(json_object_get(ref, "name")), "cache-auth");
        assert_string_equal(json_string_value(json_object_get(ref, "key")), "password");
        refs++;
    }
    assert_int_equal(refs, 3); /* VALKEY_PASSWORD, VALKEYCLI_AUTH, REDISCLI_AUTH */
    release(&r);
}

static void test_a_user_secret_is_referenced_as_it_is(void **state)
{
    (void)state;
    struct rendered r;
    render(&r, "{\"auth\": {\"secretName\": \"shop-pass\"}}");
    assert_true(any_string_contains(json_object_get(container(&r), "env"), "shop-pass"));
    assert_false(any_string_contains(r.sts, "cache-auth"));
    release(&r);
}

static void test_without_auth_there_is_no_password_at_all(void **state)
{
    (void)state;
    struct rendered r;
    render(&r, "{\"auth\": {\"enabled\": false}}");
    assert_int_equal(json_array_size(json_object_get(container(&r), "env")), 0);
    assert_false(any_string_contains(r.sts, "requirepass"));
    assert_false(any_string_contains(r.sts, "PASSWORD"));
    /* Non-root all the same. */
    assert_true(json_is_true(json_object_get(json_object_get(pod_spec(&r), "securityContext"), "runAsNonRoot")));
    release(&r);
}

static const json_t *container_named(const struct rendered *r, const char *name)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(pod_spec(r), "containers"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return c;
    }
    return NULL;
}

static void test_metrics_adds_the_exporter_sidecar_and_says_where_to_scrape(void **state)
{
    (void)state;
    struct rendered r;
    render(&r, "{\"metrics\": {\"enabled\": true}}");
    const json_t *m = container_named(&r, "metrics");
    assert_non_null(m);
    assert_non_null(strstr(json_string_value(json_object_get(m, "image")), "redis_exporter"));
    const json_t *port = json_array_get(json_object_get(m, "ports"), 0);
    assert_string_equal(json_string_value(json_object_get(port, "name")), "metrics");
    assert_int_equal(json_integer_value(json_object_get(port, "containerPort")), DESIRED_METRICS_PORT);
    /* It scrapes its own pod's server, with the password by reference. */
    size_t i;
    const json_t *e;
    bool addr = false, pass = false;
    json_array_foreach(json_object_get(m, "env"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (strcmp(name, "REDIS_ADDR") == 0)
            addr = strcmp(json_string_value(json_object_get(e, "value")), "redis://localhost:6379") == 0;
        if (strcmp(name, "REDIS_PASSWORD") == 0)
            pass = json_object_get(json_object_get(json_object_get(e, "valueFrom"), "secretKeyRef"), "name") != NULL &&
                   json_object_get(e, "value") == NULL;
    }
    assert_true(addr);
    assert_true(pass);
    assert_true(json_is_false(json_object_get(json_object_get(m, "securityContext"), "allowPrivilegeEscalation")));
    const json_t *ann = json_object_get(json_object_get(json_object_get(json_object_get(r.sts, "spec"), "template"),
                                                        "metadata"),
                                        "annotations");
    assert_string_equal(json_string_value(json_object_get(ann, "prometheus.io/scrape")), "true");
    assert_string_equal(json_string_value(json_object_get(ann, "prometheus.io/port")), "9121");
    release(&r);

    render(&r, "{\"metrics\": {\"enabled\": false}}");
    assert_int_equal(json_array_size(json_object_get(pod_spec(&r), "containers")), 1);
    assert_false(any_string_contains(r.sts, "prometheus.io"));
    release(&r);
}

static void test_the_exporter_keeps_the_pods_qos_class(void **state)
{
    (void)state;
    struct rendered r;
    render(&r, "{\"metrics\": {\"enabled\": true}, \"resources\": {\"requests\": {\"cpu\": \"1\", \"memory\": \"1Gi\"},"
               " \"limits\": {\"cpu\": \"1\", \"memory\": \"1Gi\"}}}");
    const json_t *res = json_object_get(container_named(&r, "metrics"), "resources");
    assert_true(json_equal(json_object_get(res, "requests"), json_object_get(res, "limits")));
    assert_non_null(json_object_get(json_object_get(res, "limits"), "cpu"));
    release(&r);

    render(&r, "{\"metrics\": {\"enabled\": true}}"); /* BestEffort: no container may ask for anything */
    assert_null(json_object_get(container_named(&r, "metrics"), "resources"));
    release(&r);
}

static void test_the_headless_service_names_the_metrics_port(void **state)
{
    (void)state;
    struct rendered r;
    render(&r, "{\"metrics\": {\"enabled\": true}}");
    struct desired_input in = {.name = "cache", .namespace_ = "ns", .uid = "u-1", .spec = &r.spec,
                               .spec_json = json_object_get(r.vkc, "spec"), .pdb_api_version = "policy/v1"};
    json_t *svc = desired_headless_service(&in);
    const json_t *ports = json_object_get(json_object_get(svc, "spec"), "ports");
    assert_int_equal(json_array_size(ports), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 1), "name")), "metrics");
    json_decref(svc);
    release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pods_run_as_non_root_under_the_restricted_standard),
        cmocka_unit_test(test_the_password_is_never_an_argument),
        cmocka_unit_test(test_a_user_secret_is_referenced_as_it_is),
        cmocka_unit_test(test_without_auth_there_is_no_password_at_all),
        cmocka_unit_test(test_metrics_adds_the_exporter_sidecar_and_says_where_to_scrape),
        cmocka_unit_test(test_the_exporter_keeps_the_pods_qos_class),
        cmocka_unit_test(test_the_headless_service_names_the_metrics_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
