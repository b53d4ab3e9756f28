/* test_field_errors.c — unit tests for shared/field_errors.c. */
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

#define KIND_GROUP "ValkeyCluster.gungnir.dev"

/* Checks one stored error's rendered text, printing both on a mismatch. */
static void assert_text(const struct ferr *e, const char *want)
{
    assert_non_null(e);
    if (strcmp(e->text, want) != 0)
        print_error("got:  %s\nwant: %s\n", e->text, want);
    assert_string_equal(e->text, want);
}

/* 1 when s[0..n) is well-formed UTF-8 (no cut multi-byte sequence). */
static int is_utf8(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t more = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                                  : (c & 0xF8) == 0xF0 ? 3 : 9;
        if (more == 9 || i + more >= n)
            return 0;
        for (size_t k = 1; k <= more; k++) {
            if (((unsigned char)s[i + k] & 0xC0) != 0x80)
                return 0;
        }
        i += more + 1;
    }
    return 1;
}

/* The list under test: static, so a failed assertion leaks nothing. */
static ferr_list the_list;

static ferr_list *new_list(void)
{
    ferr_init(&the_list);
    return &the_list;
}

/* ---- one error of each type ------------------------------------------------------------ */

static void test_invalid_integer(void **state)
{
    (void)state;
    ferr_list *l = new_list();
    json_t *v = json_integer(0);
    assert_text(ferr_add(l, FERR_INVALID, "spec.replicas", v, "must be between %d and %d", 1, 100),
                "spec.replicas: Invalid value: 0: must be between 1 and 100");
    assert_int_equal(l->count, 1);
    assert_string_equal(l->items[0].field, "spec.replicas");
    assert_int_equal(l->items[0].type, FERR_INVALID);
    assert_false(l->items[0].transition);
    json_decref(v);
}

static void test_invalid_string_is_quoted(void **state)
{
    (void)state;
    ferr_list *l = new_list();
    json_t *v = json_string("My_Name");
    assert_text(ferr_add(l, FERR_INVALID, "metadata.name", v, "a DNS-1035 label"),
                "metadata.name: Invalid value: \"My_Name\": a DNS-1035 label");
    json_decref(v);

    /* Quotes and backslashes inside the value are shown JSON-escaped. */
    v = json_string("a\"b\\c");
    assert_text(ferr_add(l, FERR_INVALID, "spec.image", v, "bad"),
                "spec.image: Invalid value: \"a\\\"b\\\\c\": bad");
    json_decref(v);

    /* A NULL value reads as null; objects and booleans as compact JSON. */
    assert_text(ferr_add(l, FERR_INVALID, "spec.x", NULL, "d"), "spec.x: Invalid value: null: d");
    v = json_pack("{s:i}", "a", 1);
    assert_text(ferr_add(l, FERR_INVALID, "spec.y", v, "d"), "spec.y: Invalid value: {\"a\":1}: d");
    json_decref(v);
    assert_text(ferr_add(l, FERR_INVALID, "spec.z", json_true(), NULL), "spec.z: Invalid value: true");
}

static void test_required(void **state)
{
    (void)state;
    ferr_list *l = new_list();
    json_t *v = json_string("ignored");
    assert_text(ferr_add(l, FERR_REQUIRED, "spec.image", NULL, NULL), "spec.image: Required value");
    /* A Required error never shows a value, even when one is passed. */
    assert_text(ferr_add(l, FERR_REQUIRED, "spec.image", v, NULL), "spec.image: Required value");
    assert_text(ferr_add(l, FERR_REQUIRED, "metadata.name", NULL, "name or generateName is required"),
                "metadata.name: Required value: name or generateName is required");
    json_decref(v);
}

static void test_unsupported_lists_every_value(void **state)
{
    (void)state;
    static const char *const policies[] = {"Always", "IfNotPresent", "Never", NULL};
    static const char *const one[] = {"only", NULL};
    ferr_list *l = new_list();
    json_t *v = json_string("Sometimes");
    assert_text(ferr_unsupported(l, "spec.imagePullPolicy", v, policies),
                "spec.imagePullPolicy: Unsupported value: \"Sometimes\": supported values: "
                "\"Always\", \"IfNotPresent\", \"Never\"");
    assert_int_equal(l->items[0].type, FERR_UNSUPPORTED);
    assert_text(ferr_unsupported(l, "spec.x", v, one),
                "spec.x: Unsupported value: \"Sometimes\": supported values: \"only\"");
    json_decref(v);
}

static void test_unsupported_long_list_is_bounded(void **state)
{
    (void)state;
    static const char *names[64];
    static char storage[63][20];
    ferr_list *l = new_list();
    for (int i = 0; i < 63; i++) {
        snprintf(storage[i], sizeof(storage[i]), "value-number-%02d", i);
        names[i] = storage[i];
    }
    names[63] = NULL;
    json_t *v = json_string("x");
    struct ferr *e = ferr_unsupported(l, "spec.f", v, names);
    assert_non_null(e);
    assert_true(strlen(e->text) < FERR_TEXT_MAX);
    assert_non_null(strstr(e->text, "spec.f: Unsupported value: \"x\": supported values: \"value-number-00\""));
    json_decref(v);
}

static void test_forbidden(void **state)
{
    (void)state;
    ferr_list *l = new_list();
    json_t *v = json_string("10Gi");
    assert_text(ferr_add(l, FERR_FORBIDDEN, "spec.storage.size", NULL, "may not shrink (from %s to %s)",
                         "10Gi", "5Gi"),
                "spec.storage.size: Forbidden: may not shrink (from 10Gi to 5Gi)");
    /* Forbidden never shows the value. */
    assert_text(ferr_add(l, FERR_FORBIDDEN, "spec.config[port]", v, "set by the operator"),
                "spec.config[port]: Forbidden: set by the operator");
    json_decref(v);
}

static void test_duplicate_too_long_type(void **state)
{
    (void)state;
    ferr_list *l = new_list();
    json_t *two = json_integer(2);
    json_t *str = json_string("three");
    assert_text(ferr_add(l, FERR_DUPLICATE, "spec.failover.priorities[1].podOrdinal", two, NULL),
                "spec.failover.priorities[1].podOrdinal: Duplicate value: 2");
    assert_text(ferr_add(l, FERR_TOO_LONG, "metadata.name", NULL, "must have at most %d bytes", 52),
                "metadata.name: Too long: must have at most 52 bytes");
    assert_text(ferr_add(l, FERR_TYPE, "spec.replicas", str, "integer"),
                "spec.replicas: Invalid value: \"three\": must be of type integer");
    json_decref(two);
    json_decref(str);
}

/* ---- values and fields that do not fit ------------------------------------------------- */

static void test_long_value_is_cut(void **state)
{
    (void)state;
    char big[1000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ferr_list *l = new_list();
    json_t *v = json_string(big);
    struct ferr *e = ferr_add(l, FERR_INVALID, "spec.image", v, "too big");
    json_decref(v);
    assert_non_null(e);
    if (strncmp(e->text, "spec.image: Invalid value: \"aaaa", 32) != 0)
        print_error("got: %s\n", e->text);
    assert_true(strlen(e->text) < FERR_TEXT_MAX);
    assert_true(strlen(e->text) < 200); /* the value is shortened, not the whole 1000 bytes */
    assert_non_null(strstr(e->text, "..."));
    assert_int_equal(strncmp(e->text, "spec.image: Invalid value: \"aaaa", 32), 0);
    assert_non_null(strstr(e->text, ": too big"));
}

static void test_long_detail_and_field_are_bounded(void **state)
{
    (void)state;
    char detail[2000], field[600];
    memset(detail, 'd', sizeof(detail) - 1);
    detail[sizeof(detail) - 1] = '\0';
    memset(field, 'f', sizeof(field) - 1);
    field[sizeof(field) - 1] = '\0';
    ferr_list *l = new_list();
    struct ferr *e = ferr_add(l, FERR_FORBIDDEN, "spec.x", NULL, "%s", detail);
    assert_non_null(e);
    assert_int_equal(strlen(e->text), FERR_TEXT_MAX - 1);
    assert_int_equal(strncmp(e->text, "spec.x: Forbidden: ddd", 22), 0);

    e = ferr_add(l, FERR_REQUIRED, field, NULL, NULL);
    assert_non_null(e);
    assert_int_equal(strlen(e->field), FERR_FIELD_MAX - 1);
    assert_true(strlen(e->text) < FERR_TEXT_MAX);
}

/* A cut value must not split a multi-byte UTF-8 character: the text goes out in JSON (the
 * AdmissionReview Status and causes), which must be valid UTF-8. */
static void test_long_utf8_value_stays_utf8(void **state)
{
    (void)state;
    char big[600] = "";
    for (int i = 0; i < 150; i++)
        strcat(big, "\xc3\xa9"); /* é */
    for (int shift = 0; shift < 4; shift++) {
        char value[700];
        snprintf(value, sizeof(value), "%.*s%s", shift, "xxx", big);
        ferr_list *l = new_list();
        json_t *v = json_string(value);
        assert_non_null(v);
        struct ferr *e = ferr_add(l, FERR_INVALID, "spec.image", v, "bad");
        json_decref(v);
        assert_non_null(e);
        json_t *causes = ferr_causes(l);
        bool have_causes = causes != NULL; /* jansson refuses invalid UTF-8 strings */
        json_decref(causes);
        if (!is_utf8(e->text, strlen(e->text)))
            print_error("shift %d: rendered text is not valid UTF-8: %s\n", shift, e->text);
        assert_true(is_utf8(e->text, strlen(e->text)));
        assert_true(have_causes);
        }
}

/* ---- the list --------------------------------------------------------------------------- */

static void test_render_one_error_has_no_brackets(void **state)
{
    (void)state;
    char buf[1024];
    ferr_list *l = new_list();
    json_t *v = json_integer(0);
    ferr_add(l, FERR_INVALID, "spec.replicas", v, "must be between 1 and 100");
    size_t n = ferr_render(l, KIND_GROUP, "cache", buf, sizeof(buf));
    assert_string_equal(buf, "ValkeyCluster.gungnir.dev \"cache\" is invalid: "
                             "spec.replicas: Invalid value: 0: must be between 1 and 100");
    assert_int_equal(n, strlen(buf));
    assert_int_equal(ferr_http_code(l), 422);
    assert_string_equal(ferr_reason(l), "Invalid");
    json_decref(v);
}

static void test_render_several_errors(void **state)
{
    (void)state;
    char buf[2048];
    ferr_list *l = new_list();
    json_t *zero = json_integer(0);
    ferr_add(l, FERR_INVALID, "spec.replicas", zero, "must be between 1 and 100");
    ferr_add(l, FERR_REQUIRED, "spec.image", NULL, NULL);
    size_t n = ferr_render(l, KIND_GROUP, "cache", buf, sizeof(buf));
    assert_string_equal(buf, "ValkeyCluster.gungnir.dev \"cache\" is invalid: ["
                             "spec.replicas: Invalid value: 0: must be between 1 and 100, "
                             "spec.image: Required value]");
    assert_int_equal(n, strlen(buf));

    /* A name that is not known yet renders as "". */
    ferr_render(l, KIND_GROUP, NULL, buf, sizeof(buf));
    assert_int_equal(strncmp(buf, "ValkeyCluster.gungnir.dev \"\" is invalid: [", 42), 0);
    json_decref(zero);
}

static void test_render_is_cut_safely(void **state)
{
    (void)state;
    char full[2048], small[40];
    ferr_list *l = new_list();
    ferr_add(l, FERR_REQUIRED, "spec.image", NULL, NULL);
    ferr_add(l, FERR_REQUIRED, "spec.replicas", NULL, NULL);
    ferr_render(l, KIND_GROUP, "cache", full, sizeof(full));
    memset(small, 'Z', sizeof(small));
    size_t n = ferr_render(l, KIND_GROUP, "cache", small, sizeof(small));
    assert_int_equal(n, sizeof(small) - 1);
    assert_int_equal(small[sizeof(small) - 1], '\0');
    assert_memory_equal(small, full, sizeof(small) - 1);
    assert_int_equal(ferr_render(l, KIND_GROUP, "cache", small, 0), 0);
}

static void test_many_errors_are_counted(void **state)
{
    (void)state;
    ferr_list *l = new_list();
    char field[32];
    for (int i = 0; i < FERR_MAX + 5; i++) {
        snprintf(field, sizeof(field), "spec.f%d", i);
        struct ferr *e = ferr_add(l, FERR_REQUIRED, field, NULL, NULL);
        if (i < FERR_MAX)
            assert_non_null(e);
        else
            assert_null(e);
    }
    assert_int_equal(l->count, FERR_MAX);
    assert_int_equal(l->dropped, 5);

    size_t size = FERR_MAX * FERR_TEXT_MAX + 512;
    char *buf = malloc(size);
    assert_non_null(buf);
    size_t n = ferr_render(l, KIND_GROUP, "cache", buf, size);
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "[spec.f0: Required value, spec.f1: Required value"));
    assert_non_null(strstr(buf, "spec.f47: Required value, and 5 more]"));
    assert_null(strstr(buf, "spec.f48"));

    json_t *causes = ferr_causes(l);
    assert_non_null(causes);
    assert_int_equal(json_array_size(causes), FERR_MAX);
    json_decref(causes);
    free(buf);
}

static void test_http_code_and_reason(void **state)
{
    (void)state;
    char buf[512];
    ferr_list *l = new_list();
    assert_int_equal(ferr_http_code(l), 0);

    ferr_mark_transition(ferr_add(l, FERR_FORBIDDEN, "spec.storage.size", NULL, "may not shrink"));
    assert_true(l->items[0].transition);
    assert_int_equal(ferr_http_code(l), 403);
    assert_string_equal(ferr_reason(l), "Forbidden");
    ferr_render(l, KIND_GROUP, "c", buf, sizeof(buf));
    assert_string_equal(buf, "ValkeyCluster.gungnir.dev \"c\" is forbidden: "
                             "spec.storage.size: Forbidden: may not shrink");

    /* One ordinary error among transition errors makes the whole answer 422. */
    ferr_add(l, FERR_REQUIRED, "spec.image", NULL, NULL);
    assert_int_equal(ferr_http_code(l), 422);
    assert_string_equal(ferr_reason(l), "Invalid");

    ferr_mark_transition(NULL); /* harmless */
}

static void test_causes_json(void **state)
{
    (void)state;
    static const char *const modes[] = {"none", "rdb", "aof", NULL};
    ferr_list *l = new_list();
    json_t *zero = json_integer(0), *bad = json_string("fast");
    ferr_add(l, FERR_INVALID, "spec.replicas", zero, "must be between 1 and 100");
    ferr_add(l, FERR_REQUIRED, "spec.image", NULL, NULL);
    ferr_unsupported(l, "spec.persistence.mode", bad, modes);
    ferr_add(l, FERR_FORBIDDEN, "spec.config[port]", NULL, "set by the operator");
    ferr_add(l, FERR_DUPLICATE, "spec.failover.priorities[1].podOrdinal", zero, NULL);
    ferr_add(l, FERR_TOO_LONG, "metadata.name", NULL, "must have at most 52 bytes");
    ferr_add(l, FERR_TYPE, "spec.replicas", bad, "integer");

    static const char *const want[][3] = {
        {"FieldValueInvalid", "Invalid value: 0: must be between 1 and 100", "spec.replicas"},
        {"FieldValueRequired", "Required value", "spec.image"},
        {"FieldValueNotSupported",
         "Unsupported value: \"fast\": supported values: \"none\", \"rdb\", \"aof\"",
         "spec.persistence.mode"},
        {"FieldValueForbidden", "Forbidden: set by the operator", "spec.config[port]"},
        {"FieldValueDuplicate", "Duplicate value: 0", "spec.failover.priorities[1].podOrdinal"},
        {"FieldValueTooLong", "Too long: must have at most 52 bytes", "metadata.name"},
        {"FieldValueTypeInvalid", "Invalid value: \"fast\": must be of type integer", "spec.replicas"},
    };
    json_t *causes = ferr_causes(l);
    assert_non_null(causes);
    assert_int_equal(json_array_size(causes), 7);

    /* It survives a dump and parse round trip as JSON. */
    char *text = json_dumps(causes, JSON_COMPACT);
    assert_non_null(text);
    json_error_t jerr;
    json_t *back = json_loads(text, 0, &jerr);
    assert_non_null(back);
    for (size_t i = 0; i < 7; i++) {
        json_t *c = json_array_get(back, i);
        assert_int_equal(json_object_size(c), 3);
        assert_string_equal(json_string_value(json_object_get(c, "reason")), want[i][0]);
        assert_string_equal(json_string_value(json_object_get(c, "message")), want[i][1]);
        assert_string_equal(json_string_value(json_object_get(c, "field")), want[i][2]);
    }
    json_decref(back);
    free(text);
    json_decref(causes);

    ferr_init(l);
    causes = ferr_causes(l);
    assert_non_null(causes);
    assert_int_equal(json_array_size(causes), 0);
    json_decref(causes);
    json_decref(zero);
    json_decref(bad);
}

static void test_init_empties(void **state)
{
    (void)state;
    ferr_list *l = new_list();
    for (int i = 0; i < FERR_MAX + 2; i++)
        ferr_add(l, FERR_REQUIRED, "spec.x", NULL, NULL);
    ferr_init(l);
    assert_int_equal(l->count, 0);
    assert_int_equal(l->dropped, 0);
    assert_int_equal(ferr_http_code(l), 0);
}

/* ---- paths ------------------------------------------------------------------------------ */

static void test_paths(void **state)
{
    (void)state;
    char buf[FERR_FIELD_MAX];
    assert_int_equal(ferr_path_field(buf, sizeof(buf), "", "spec"), 0);
    assert_string_equal(buf, "spec");
    assert_int_equal(ferr_path_field(buf, sizeof(buf), "spec", "failover"), 0);
    assert_string_equal(buf, "spec.failover");
    assert_int_equal(ferr_path_index(buf, sizeof(buf), "spec.failover.priorities", 12), 0);
    assert_string_equal(buf, "spec.failover.priorities[12]");
    assert_int_equal(ferr_path_key(buf, sizeof(buf), "spec.config", "maxmemory-policy"), 0);
    assert_string_equal(buf, "spec.config[maxmemory-policy]");

    /* Exactly fitting, then one byte short. */
    char small[6];
    assert_int_equal(ferr_path_field(small, sizeof(small), "ab", "cd"), 0);
    assert_string_equal(small, "ab.cd");
    assert_int_equal(ferr_path_field(small, sizeof(small), "ab", "cde"), -1);
    assert_string_equal(small, "ab.cd"); /* cut, still terminated */
    assert_int_equal(ferr_path_index(small, sizeof(small), "ab", 100), -1);
    assert_int_equal(ferr_path_key(small, sizeof(small), "abc", "k"), -1);
    assert_int_equal(ferr_path_key(small, sizeof(small), "ab", "k"), 0);
    assert_string_equal(small, "ab[k]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_integer),
        cmocka_unit_test(test_invalid_string_is_quoted),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_unsupported_lists_every_value),
        cmocka_unit_test(test_unsupported_long_list_is_bounded),
        cmocka_unit_test(test_forbidden),
        cmocka_unit_test(test_duplicate_too_long_type),
        cmocka_unit_test(test_long_value_is_cut),
        cmocka_unit_test(test_long_detail_and_field_are_bounded),
        cmocka_unit_test(test_long_utf8_value_stays_utf8),
        cmocka_unit_test(test_render_one_error_has_no_brackets),
        cmocka_unit_test(test_render_several_errors),
        cmocka_unit_test(test_render_is_cut_safely),
        cmocka_unit_test(test_many_errors_are_counted),
        cmocka_unit_test(test_http_code_and_reason),
        cmocka_unit_test(test_causes_json),
        cmocka_unit_test(test_init_empties),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
