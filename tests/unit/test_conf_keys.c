/* test_conf_keys.c — the one table of valkey.conf keys the operator renders (shared/conf_keys.h)
 * as the webhook and the renderer both use it: every owned key of spec.config is refused with a
 * Kubernetes field error, every tunable key is accepted and then written exactly once with the
 * user's value, and the rendered valkey.conf never says one key twice. */
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

#include "conf_keys.h"
#include "desired.h"
#include "field_errors.h"
#include "vkc_defaults.h"
#include "vkc_validate.h"

/* A defaulted ValkeyCluster "cache" with spec (JSON text), validated: returns the result, the
 * errors in *errs and the parsed spec in *spec (borrowing from *obj, which the caller frees). */
static int admit(const char *spec_text, json_t **obj, ferr_list *errs, struct vkc_spec *spec)
{
    json_error_t e;
    *obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "gungnir.dev/v1alpha1", "kind", "ValkeyCluster",
                     "metadata", "name", "cache", "namespace", "ns", "spec", json_loads(spec_text, 0, &e));
    assert_non_null(*obj);
    assert_true(vkc_default(*obj, NULL) >= 0);
    ferr_init(errs);
    return vkc_validate_object(*obj, errs, NULL, spec);
}

/* How many lines of conf start with "key " (the key as valkey.conf reads it). */
static int lines_with_key(const char *conf, const char *key)
{
    int n = 0;
    size_t klen = strlen(key);
    for (const char *line = conf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            n++;
    return n;
}

static void test_owned_keys_are_refused_with_a_field_error(void **state)
{
    (void)state;
    /* The keys the issue found drifting, an alias, a prefix, and one with a field to use. */
    static const struct {
        const char *key, *message;
    } cases[] = {
        {"protected-mode", "spec.config[protected-mode]: Forbidden: set by the operator"},
        {"replica-read-only", "spec.config[replica-read-only]: Forbidden: set by the operator"},
        {"slave-read-only", "spec.config[slave-read-only]: Forbidden: set by the operator"},
        {"tls-port", "spec.config[tls-port]: Forbidden: set by the operator; use spec.tls"},
        {"masterauth", "spec.config[masterauth]: Forbidden: set by the operator; use spec.auth"},
        {"appendonly", "spec.config[appendonly]: Forbidden: set by the operator; use spec.persistence.mode"},
        {"cluster-enabled", "spec.config[cluster-enabled]: Forbidden: set by the operator"},
        {"rename-command", "spec.config[rename-command]: Forbidden: set by the operator"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char spec[256];
        json_t *obj;
        ferr_list errs;
        snprintf(spec, sizeof(spec), "{\"config\": {\"%s\": \"no\"}}", cases[i].key);
        assert_int_equal(admit(spec, &obj, &errs, NULL), -1);
        assert_int_equal(errs.count, 1);
        assert_string_equal(errs.items[0].text, cases[i].message);
        json_decref(obj);
    }
}

static void test_every_owned_key_of_the_table_is_refused(void **state)
{
    (void)state;
    unsigned n;
    const struct conf_key *all = conf_keys_all(&n);
    assert_true(n >= 20);
    for (unsigned i = 0; i < n; i++) {
        char spec[256], key[64];
        json_t *obj;
        ferr_list errs;
        snprintf(key, sizeof(key), "%s%s", all[i].key, all[i].prefix ? "x" : "");
        snprintf(spec, sizeof(spec), "{\"config\": {\"%s\": \"1\"}}", key);
        int rc = admit(spec, &obj, &errs, NULL);
        if (all[i].policy == CONF_KEY_OWNED) {
            assert_int_equal(rc, -1);
            assert_int_equal(errs.items[0].type, FERR_FORBIDDEN);
        } else {
            assert_int_equal(rc, 0);
        }
        assert_non_null(all[i].why);
        json_decref(obj);
    }
}

static void test_a_tunable_key_replaces_the_operator_default_once(void **state)
{
    (void)state;
    json_t *obj;
    ferr_list errs;
    struct vkc_spec spec;
    assert_int_equal(admit("{\"storage\": {\"size\": \"1Gi\"}, \"persistence\": {\"mode\": \"aof\"}, \"config\": {\"appendfsync\": \"always\","
                           " \"repl-diskless-sync-delay\": \"5\"}}",
                           &obj, &errs, &spec),
                     0);
    char *conf = desired_valkey_conf(&spec);
    assert_non_null(conf);
    assert_int_equal(lines_with_key(conf, "appendfsync"), 1);
    assert_non_null(strstr(conf, "\nappendfsync always\n"));
    assert_null(strstr(conf, "appendfsync everysec"));
    assert_int_equal(lines_with_key(conf, "repl-diskless-sync-delay"), 1);
    assert_non_null(strstr(conf, "\nrepl-diskless-sync-delay 5\n"));
    free(conf);
    json_decref(obj);
}

static void test_the_defaults_stand_when_the_user_says_nothing(void **state)
{
    (void)state;
    json_t *obj;
    ferr_list errs;
    struct vkc_spec spec;
    assert_int_equal(admit("{\"storage\": {\"size\": \"1Gi\"}, \"persistence\": {\"mode\": \"aof\"}, \"config\": {\"maxclients\": \"100\"}}", &obj, &errs,
                           &spec),
                     0);
    char *conf = desired_valkey_conf(&spec);
    assert_non_null(conf);
    assert_non_null(strstr(conf, "\nappendfsync everysec\n"));
    assert_non_null(strstr(conf, "\nrepl-diskless-sync-delay 0\n"));
    assert_non_null(strstr(conf, "\nreplica-read-only yes\n"));
    assert_non_null(strstr(conf, "\nprotected-mode no\n"));
    assert_non_null(strstr(conf, "\nmaxclients 100\n"));
    free(conf);
    json_decref(obj);
}

static void test_no_key_is_rendered_twice(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "{}",
        "{\"storage\": {\"size\": \"1Gi\"}, \"persistence\": {\"mode\": \"rdb\"}, \"config\": {\"hz\": \"20\", \"appendfsync\": \"no\"}}",
        "{\"storage\": {\"size\": \"1Gi\"}, \"persistence\": {\"mode\": \"aof\"}, \"config\": {\"repl-diskless-sync-delay\": \"1\", \"maxclients\": \"9\"}}",
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        json_t *obj;
        ferr_list errs;
        struct vkc_spec spec;
        assert_int_equal(admit(specs[i], &obj, &errs, &spec), 0);
        char *conf = desired_valkey_conf(&spec);
        assert_non_null(conf);
        for (const char *line = conf; *line; line = strchr(line, '\n') + 1) {
            char key[64];
            size_t len = strcspn(line, " \n");
            if (line[0] != '#' && len > 0 && len < sizeof(key)) {
                memcpy(key, line, len);
                key[len] = '\0';
                if (lines_with_key(conf, key) != 1)
                    fail_msg("key %s appears %d times in:\n%s", key, lines_with_key(conf, key), conf);
            }
            if (!strchr(line, '\n'))
                break;
        }
        free(conf);
        json_decref(obj);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owned_keys_are_refused_with_a_field_error),
        cmocka_unit_test(test_every_owned_key_of_the_table_is_refused),
        cmocka_unit_test(test_a_tunable_key_replaces_the_operator_default_once),
        cmocka_unit_test(test_the_defaults_stand_when_the_user_says_nothing),
        cmocka_unit_test(test_no_key_is_rendered_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
