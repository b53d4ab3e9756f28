/* test_jsonpatch.c — unit tests for shared/jsonpatch.c (RFC 6902 patches, RFC 6901 pointers). */
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

/* Parses JSON text that the test itself wrote; fails the test when it does not parse. */
static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        print_error("cannot parse %s: %s\n", text, jerr.text);
    assert_non_null(v);
    return v;
}

/* 1 when a and b (JSON texts) hold equal values. */
static int json_text_equal(const char *a, const char *b)
{
    json_t *ja = parse(a), *jb = parse(b);
    int eq = json_equal(ja, jb);
    json_decref(ja);
    json_decref(jb);
    return eq;
}

/* Applies the patch text ops to the document text doc. Returns jsonpatch_apply's result;
 * the resulting document (dumped, sorted keys) goes to out (free() it) and the reason to err. */
static int apply_text(const char *doc, const char *ops, char **out, char *err, size_t errlen)
{
    json_t *d = parse(doc), *o = parse(ops);
    int rc = jsonpatch_apply(&d, o, err, errlen);
    *out = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(d);
    json_decref(o);
    return rc;
}

/* Applies ops to doc and expects success with the document want. */
static void apply_ok(const char *doc, const char *ops, const char *want)
{
    char err[256] = "", *got = NULL;
    int rc = apply_text(doc, ops, &got, err, sizeof(err));
    int eq = got && json_text_equal(got, want);
    if (rc != 0 || !eq)
        print_error("apply %s to %s: rc %d (%s), got %s, want %s\n", ops, doc, rc, err,
                    got ? got : "(null)", want);
    free(got);
    assert_int_equal(rc, 0);
    assert_true(eq);
}

/* Applies ops to doc and expects failure; err must be set. */
static void apply_fails(const char *doc, const char *ops)
{
    char err[256] = "", *got = NULL;
    int rc = apply_text(doc, ops, &got, err, sizeof(err));
    if (rc != -1)
        print_error("apply %s to %s: unexpected success, got %s\n", ops, doc, got);
    free(got);
    assert_int_equal(rc, -1);
    assert_true(err[0] != '\0');
}

/* ---- the builder ------------------------------------------------------------------------ */

static void test_empty_patch(void **state)
{
    (void)state;
    jsonpatch p;
    size_t len = 99;
    assert_int_equal(jsonpatch_init(&p), 0);
    assert_int_equal(jsonpatch_count(&p), 0);
    const char *text = jsonpatch_text(&p, &len);
    assert_non_null(text);
    assert_string_equal(text, "[]");
    assert_int_equal(len, 2);
    jsonpatch_free(&p);
    jsonpatch_free(&p); /* twice is safe */

    jsonpatch zero;
    memset(&zero, 0, sizeof(zero));
    jsonpatch_free(&zero); /* a zeroed patch is safe too */
}

static void test_add_writes_text(void **state)
{
    (void)state;
    jsonpatch p;
    size_t len = 0;
    assert_int_equal(jsonpatch_init(&p), 0);

    json_t *three = json_integer(3);
    assert_int_equal(jsonpatch_add(&p, "/spec/replicas", three), 0);
    json_decref(three); /* the value is borrowed: written out at once */
    json_t *obj = json_pack("{s:b, s:[i,s]}", "enabled", 1, "list", 1, "x");
    assert_int_equal(jsonpatch_add(&p, "/spec/failover", obj), 0);
    json_object_set_new(obj, "later", json_true()); /* changes after add do not show */
    json_decref(obj);
    json_t *empty = json_object();
    assert_int_equal(jsonpatch_add(&p, "/spec/config", empty), 0);
    json_decref(empty);
    assert_int_equal(jsonpatch_count(&p), 3);

    const char *text = jsonpatch_text(&p, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_true(json_text_equal(text, "[{\"op\":\"add\",\"path\":\"/spec/replicas\",\"value\":3},"
                                      "{\"op\":\"add\",\"path\":\"/spec/failover\","
                                      "\"value\":{\"enabled\":true,\"list\":[1,\"x\"]}},"
                                      "{\"op\":\"add\",\"path\":\"/spec/config\",\"value\":{}}]"));
    jsonpatch_free(&p);
}

static void test_add_every_value_type(void **state)
{
    (void)state;
    jsonpatch p;
    assert_int_equal(jsonpatch_init(&p), 0);
    json_t *vals = parse("[null, true, false, -7, 1.5, \"s\\\"q\\n\", [], {}, [[1],{\"a\":{}}]]");
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
        char ptr[32];
        snprintf(ptr, sizeof(ptr), "/v%zu", i);
        assert_int_equal(jsonpatch_add(&p, ptr, v), 0);
    }
    assert_int_equal(jsonpatch_add(&p, "/none", NULL), -1); /* no value: refused */
    assert_int_equal(jsonpatch_count(&p), json_array_size(vals));

    /* The text parses back as an array of add operations carrying the same values. */
    json_t *ops = parse(jsonpatch_text(&p, NULL));
    assert_true(json_is_array(ops));
    assert_int_equal(json_array_size(ops), json_array_size(vals));
    json_array_foreach(ops, i, v)
    {
        char ptr[32];
        snprintf(ptr, sizeof(ptr), "/v%zu", i);
        assert_int_equal(json_object_size(v), 3);
        assert_string_equal(json_string_value(json_object_get(v, "op")), "add");
        assert_string_equal(json_string_value(json_object_get(v, "path")), ptr);
        assert_true(json_equal(json_object_get(v, "value"), json_array_get(vals, i)));
    }

    /* Applied to {} it yields {v0: null, v1: true, ...}. */
    json_t *doc = json_object();
    char err[128];
    assert_int_equal(jsonpatch_apply(&doc, ops, err, sizeof(err)), 0);
    json_array_foreach(vals, i, v)
    {
        char key[32];
        snprintf(key, sizeof(key), "v%zu", i);
        assert_true(json_equal(json_object_get(doc, key), v));
    }
    json_decref(doc);
    json_decref(ops);
    json_decref(vals);
    jsonpatch_free(&p);
}

static void test_path_is_escaped_in_text(void **state)
{
    (void)state;
    jsonpatch p;
    assert_int_equal(jsonpatch_init(&p), 0);
    json_t *v = json_string("x");
    /* A key with a quote or a backslash still gives valid JSON text. */
    assert_int_equal(jsonpatch_add(&p, "/metadata/annotations/a\"b\\c", v), 0);
    json_decref(v);
    json_t *ops = parse(jsonpatch_text(&p, NULL));
    assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 0), "path")),
                        "/metadata/annotations/a\"b\\c");
    json_decref(ops);
    jsonpatch_free(&p);
}

/* A value of about n bytes of JSON: an array of 7-digit integers. */
static json_t *big_array(size_t n)
{
    json_t *a = json_array();
    assert_non_null(a);
    for (size_t i = 0; i < n / 8; i++)
        json_array_append_new(a, json_integer(1000000));
    return a;
}

static void test_size_limit_fails_the_patch(void **state)
{
    (void)state;
    jsonpatch p;
    assert_int_equal(jsonpatch_init(&p), 0);
    json_t *v = big_array(JSONPATCH_TEXT_MAX / 4); /* a quarter of the limit: four and the framing do not fit */
    int rc = 0, adds = 0;
    while (rc == 0 && adds < 10) {
        rc = jsonpatch_add(&p, "/big", v);
        adds += rc == 0;
    }
    json_decref(v);
    size_t len = 7;
    const char *text = jsonpatch_text(&p, &len);
    size_t count = jsonpatch_count(&p);

    /* A failed patch stays failed. */
    json_t *small = json_integer(1);
    int rc_small = jsonpatch_add(&p, "/small", small);
    json_decref(small);
    const char *text_after = jsonpatch_text(&p, NULL);
    jsonpatch_free(&p);

    assert_int_equal(rc, -1);
    assert_int_equal(adds, 3);
    assert_int_equal(count, 3);
    assert_null(text);
    assert_int_equal(rc_small, -1);
    assert_null(text_after);

    /* After free and init the patch is usable again. */
    assert_int_equal(jsonpatch_init(&p), 0);
    int empty = strcmp(jsonpatch_text(&p, NULL), "[]") == 0;
    jsonpatch_free(&p);
    assert_true(empty);
}

/* A string value whose JSON text fits well within JSONPATCH_TEXT_MAX is written out: the
 * limit is on the patch text, not on a worst-case estimate of it. */
static void test_large_string_value_within_limit(void **state)
{
    (void)state;
    jsonpatch p;
    size_t n = JSONPATCH_TEXT_MAX / 4; /* 256 KiB of plain letters: 256 KiB + 2 of JSON */
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'x', n);
    big[n] = '\0';
    json_t *v = json_string(big);
    free(big);
    assert_int_equal(jsonpatch_init(&p), 0);
    int rc = jsonpatch_add(&p, "/big", v);
    size_t len = 0;
    const char *text = jsonpatch_text(&p, &len);
    json_decref(v);
    bool ok = text && len > n && len < n + 64;
    jsonpatch_free(&p);
    assert_int_equal(rc, 0);
    assert_true(ok);
}

/* ---- pointers --------------------------------------------------------------------------- */

static void test_pointer_append_escapes(void **state)
{
    (void)state;
    char buf[64] = "";
    assert_int_equal(jsonpatch_pointer_append(buf, sizeof(buf), "spec"), 0);
    assert_string_equal(buf, "/spec");
    assert_int_equal(jsonpatch_pointer_append(buf, sizeof(buf), "a/b"), 0);
    assert_string_equal(buf, "/spec/a~1b");
    assert_int_equal(jsonpatch_pointer_append(buf, sizeof(buf), "m~n"), 0);
    assert_string_equal(buf, "/spec/a~1b/m~0n");
    assert_int_equal(jsonpatch_pointer_append(buf, sizeof(buf), "~1/"), 0);
    assert_string_equal(buf, "/spec/a~1b/m~0n/~01~1");
    assert_int_equal(jsonpatch_pointer_append(buf, sizeof(buf), ""), 0);
    assert_string_equal(buf, "/spec/a~1b/m~0n/~01~1/");

    /* A typical label key. */
    char lbl[64] = "/metadata/labels";
    assert_int_equal(jsonpatch_pointer_append(lbl, sizeof(lbl), "app.kubernetes.io/name"), 0);
    assert_string_equal(lbl, "/metadata/labels/app.kubernetes.io~1name");
}

static void test_pointer_append_bounds(void **state)
{
    (void)state;
    char buf[8] = "/ab";
    /* "/ab" + "/cde" = 7 bytes + NUL = 8: fits exactly. */
    assert_int_equal(jsonpatch_pointer_append(buf, sizeof(buf), "cde"), 0);
    assert_string_equal(buf, "/ab/cde");

    char b2[8] = "/ab";
    assert_int_equal(jsonpatch_pointer_append(b2, sizeof(b2), "cdef"), -1);
    assert_string_equal(b2, "/ab"); /* unchanged */
    assert_int_equal(jsonpatch_pointer_append(b2, sizeof(b2), "c/d"), -1); /* "~1" does not fit */
    assert_string_equal(b2, "/ab");

    char b3[4] = "/ab";
    assert_int_equal(jsonpatch_pointer_append(b3, sizeof(b3), ""), -1);
    assert_string_equal(b3, "/ab");
}

/* Pointers built with jsonpatch_pointer_append address the right member when applied. */
static void test_escaped_pointer_round_trip(void **state)
{
    (void)state;
    static const char *const keys[] = {"a/b", "m~n", "~1", "~0/", "", "plain", "a~1b"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char ptr[JSONPATCH_POINTER_MAX] = "/obj";
        assert_int_equal(jsonpatch_pointer_append(ptr, sizeof(ptr), keys[i]), 0);
        jsonpatch p;
        assert_int_equal(jsonpatch_init(&p), 0);
        json_t *v = json_integer((json_int_t)i);
        assert_int_equal(jsonpatch_add(&p, ptr, v), 0);
        json_decref(v);
        json_t *ops = parse(jsonpatch_text(&p, NULL));
        json_t *doc = parse("{\"obj\":{}}");
        char err[128];
        assert_int_equal(jsonpatch_apply(&doc, ops, err, sizeof(err)), 0);
        json_t *obj = json_object_get(doc, "obj");
        assert_int_equal(json_object_size(obj), 1);
        assert_int_equal(json_integer_value(json_object_get(obj, keys[i])), (json_int_t)i);
        json_decref(doc);
        json_decref(ops);
        jsonpatch_free(&p);
    }
}

/* ---- the applier ------------------------------------------------------------------------ */

static void test_apply_add(void **state)
{
    (void)state;
    apply_ok("{}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":1}]", "{\"a\":1}");
    apply_ok("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":2}]", "{\"a\":2}"); /* replaces */
    apply_ok("{\"a\":{}}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":[1]}]", "{\"a\":{\"b\":[1]}}");
    apply_ok("{}", "[{\"op\":\"add\",\"path\":\"/n\",\"value\":null}]", "{\"n\":null}");
    apply_ok("{}", "[{\"op\":\"add\",\"path\":\"/\",\"value\":1}]", "{\"\":1}"); /* key "" */
    apply_ok("{}", "[{\"op\":\"add\",\"path\":\"/x~1y~0z\",\"value\":1}]", "{\"x/y~z\":1}");
    /* Arrays: insert at an index, at the end ("-" or the length). */
    apply_ok("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/0\",\"value\":0}]", "{\"l\":[0,1,2]}");
    apply_ok("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/1\",\"value\":9}]", "{\"l\":[1,9,2]}");
    apply_ok("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/2\",\"value\":3}]", "{\"l\":[1,2,3]}");
    apply_ok("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/-\",\"value\":3}]", "{\"l\":[1,2,3]}");
    apply_ok("{\"l\":[]}", "[{\"op\":\"add\",\"path\":\"/l/-\",\"value\":{}}]", "{\"l\":[{}]}");
    apply_ok("{\"l\":[{\"a\":1}]}", "[{\"op\":\"add\",\"path\":\"/l/0/b\",\"value\":2}]",
             "{\"l\":[{\"a\":1,\"b\":2}]}");
    /* The root. */
    apply_ok("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":[1,2]}]", "[1,2]");
    /* Several in order, each seeing the previous. */
    apply_ok("{}", "[{\"op\":\"add\",\"path\":\"/s\",\"value\":{}},"
                   "{\"op\":\"add\",\"path\":\"/s/r\",\"value\":3}]",
             "{\"s\":{\"r\":3}}");
    apply_ok("{}", "[]", "{}");
}

static void test_apply_remove_replace(void **state)
{
    (void)state;
    apply_ok("{\"a\":1,\"b\":2}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", "{\"b\":2}");
    apply_ok("{\"l\":[1,2,3]}", "[{\"op\":\"remove\",\"path\":\"/l/1\"}]", "{\"l\":[1,3]}");
    apply_ok("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":{\"x\":[]}}]",
             "{\"a\":{\"x\":[]}}");
    apply_ok("{\"l\":[1,2,3]}", "[{\"op\":\"replace\",\"path\":\"/l/2\",\"value\":\"z\"}]",
             "{\"l\":[1,2,\"z\"]}");
    apply_ok("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}");

    apply_fails("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]");            /* no member */
    apply_fails("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]"); /* no member */
    apply_fails("{\"l\":[1]}", "[{\"op\":\"remove\",\"path\":\"/l/1\"}]");        /* out of range */
    apply_fails("{\"l\":[1]}", "[{\"op\":\"replace\",\"path\":\"/l/1\",\"value\":1}]");
    apply_fails("{\"l\":[1]}", "[{\"op\":\"remove\",\"path\":\"/l/-\"}]");        /* "-" is add only */
    apply_fails("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]");              /* the root */
    apply_fails("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\"}]");           /* no value */
}

static void test_apply_test_op(void **state)
{
    (void)state;
    apply_ok("{\"a\":{\"b\":[1,2]}}", "[{\"op\":\"test\",\"path\":\"/a/b\",\"value\":[1,2]}]",
             "{\"a\":{\"b\":[1,2]}}");
    apply_ok("{\"l\":[\"x\"]}", "[{\"op\":\"test\",\"path\":\"/l/0\",\"value\":\"x\"}]",
             "{\"l\":[\"x\"]}");
    apply_ok("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"\",\"value\":{\"a\":1}}]", "{\"a\":1}");

    apply_fails("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]");
    apply_fails("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":\"1\"}]");
    apply_fails("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/b\",\"value\":1}]");
    apply_fails("{\"l\":[1]}", "[{\"op\":\"test\",\"path\":\"/l/0\",\"value\":2}]");
    apply_fails("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"\",\"value\":{}}]");

    /* A failed test stops the patch: the later add is not applied. */
    char err[128] = "", *got = NULL;
    int rc = apply_text("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2},"
                                     "{\"op\":\"add\",\"path\":\"/b\",\"value\":1}]",
                        &got, err, sizeof(err));
    int unchanged = json_text_equal(got, "{\"a\":1}");
    free(got);
    assert_int_equal(rc, -1);
    assert_true(unchanged);
}

static void test_apply_errors(void **state)
{
    (void)state;
    /* Missing parent. */
    apply_fails("{}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]");
    apply_fails("{\"l\":[]}", "[{\"op\":\"add\",\"path\":\"/l/0/x\",\"value\":1}]");
    apply_fails("{\"l\":[1]}", "[{\"op\":\"add\",\"path\":\"/l/-/x\",\"value\":1}]");
    /* Parent is a scalar. */
    apply_fails("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]");
    apply_fails("{\"a\":\"s\"}", "[{\"op\":\"add\",\"path\":\"/a/b/c\",\"value\":1}]");
    /* Bad pointers. */
    apply_fails("{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]");     /* no leading / */
    apply_fails("{}", "[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":1}]");  /* bad escape */
    apply_fails("{}", "[{\"op\":\"add\",\"path\":\"/a~\",\"value\":1}]");   /* cut escape */
    /* Bad array indexes. */
    apply_fails("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/3\",\"value\":1}]");
    apply_fails("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/01\",\"value\":1}]");
    apply_fails("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/-1\",\"value\":1}]");
    apply_fails("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/x\",\"value\":1}]");
    apply_fails("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/\",\"value\":1}]");
    apply_fails("{\"l\":[1,2]}", "[{\"op\":\"replace\",\"path\":\"/l/99999999999\",\"value\":1}]");
    /* Bad operations. */
    apply_fails("{}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b\"}]");
    apply_fails("{}", "[{\"op\":\"add\",\"value\":1}]");
    apply_fails("{}", "[{\"path\":\"/a\",\"value\":1}]");
    apply_fails("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]");
    apply_fails("{}", "[{\"op\":1,\"path\":\"/a\",\"value\":1}]");
    apply_fails("{}", "[1]");
    apply_fails("{}", "{\"op\":\"add\",\"path\":\"/a\",\"value\":1}"); /* not an array */
    /* A token longer than the pointer limit. */
    size_t n = JSONPATCH_POINTER_MAX + 10;
    char *ops = malloc(n + 64);
    assert_non_null(ops);
    int k = snprintf(ops, n + 64, "[{\"op\":\"add\",\"path\":\"/");
    memset(ops + k, 'k', n);
    snprintf(ops + k + n, 64, "\",\"value\":1}]");
    char err[128], *got = NULL;
    int rc = apply_text("{}", ops, &got, err, sizeof(err));
    free(got);
    free(ops);
    assert_int_equal(rc, -1);
}

/* What the defaulter builds (nested objects created then filled) applies to the original. */
static void test_built_patch_applies(void **state)
{
    (void)state;
    jsonpatch p;
    assert_int_equal(jsonpatch_init(&p), 0);
    json_t *empty = json_object(), *three = json_integer(3), *img = json_string("valkey/valkey:8.1");
    json_t *t = json_true();
    assert_int_equal(jsonpatch_add(&p, "/spec", empty), 0);
    assert_int_equal(jsonpatch_add(&p, "/spec/replicas", three), 0);
    assert_int_equal(jsonpatch_add(&p, "/spec/image", img), 0);
    assert_int_equal(jsonpatch_add(&p, "/spec/failover", empty), 0);
    assert_int_equal(jsonpatch_add(&p, "/spec/failover/enabled", t), 0);
    assert_int_equal(jsonpatch_add(&p, "/metadata/labels/a~1b", img), 0);
    json_decref(empty);
    json_decref(three);
    json_decref(img);

    json_t *ops = parse(jsonpatch_text(&p, NULL));
    json_t *doc = parse("{\"metadata\":{\"name\":\"c\",\"labels\":{}}}");
    char err[128];
    int rc = jsonpatch_apply(&doc, ops, err, sizeof(err));
    json_t *want = parse("{\"metadata\":{\"name\":\"c\",\"labels\":{\"a/b\":\"valkey/valkey:8.1\"}},"
                         "\"spec\":{\"replicas\":3,\"image\":\"valkey/valkey:8.1\","
                         "\"failover\":{\"enabled\":true}}}");
    int eq = json_equal(doc, want);
    json_decref(want);
    json_decref(doc);
    json_decref(ops);
    jsonpatch_free(&p);
    assert_int_equal(rc, 0);
    assert_true(eq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_patch),
        cmocka_unit_test(test_add_writes_text),
        cmocka_unit_test(test_add_every_value_type),
        cmocka_unit_test(test_path_is_escaped_in_text),
        cmocka_unit_test(test_size_limit_fails_the_patch),
        cmocka_unit_test(test_large_string_value_within_limit),
        cmocka_unit_test(test_pointer_append_escapes),
        cmocka_unit_test(test_pointer_append_bounds),
        cmocka_unit_test(test_escaped_pointer_round_trip),
        cmocka_unit_test(test_apply_add),
        cmocka_unit_test(test_apply_remove_replace),
        cmocka_unit_test(test_apply_test_op),
        cmocka_unit_test(test_apply_errors),
        cmocka_unit_test(test_built_patch_applies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
