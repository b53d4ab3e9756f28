/* test_admission.c — unit tests for webhook/admission.c (the AdmissionReview v1 codec) and
 * webhook/admit.c (the mutating and validating handlers, end to end in-process). */
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
#include <openssl/evp.h>

#include "admission.h"
#include "admit.h"
#include "field_errors.h"
#include "jsonpatch.h"
#include "vkc_validate.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        print_error("cannot parse %s: %s\n", text, jerr.text);
    assert_non_null(v);
    return v;
}

/* A ValkeyCluster (JSON text) named name with spec (JSON text). */
static json_t *cluster(const char *name, const char *spec)
{
    json_t *obj = parse("{\"apiVersion\":\"gungnir.dev/v1alpha1\",\"kind\":\"ValkeyCluster\","
                        "\"metadata\":{\"namespace\":\"ns\"}}");
    json_object_set_new(json_object_get(obj, "metadata"), "name", json_string(name));
    json_object_set_new(obj, "spec", parse(spec));
    return obj;
}

/* The request part of a review. obj and old are stolen (may be NULL). */
static json_t *request(const char *op, const char *group, const char *kind, const char *sub,
                       json_t *obj, json_t *old)
{
    json_t *r = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:s, s:{s:s}}",
                          "uid", "705ab4f5-6393-11e8-b7cc-42010a800002", "operation", op,
                          "kind", "group", group, "version", strcmp(kind, "Scale") == 0 ? "v1" : "v1alpha1",
                          "kind", kind, "resource", "group", "gungnir.dev", "version", "v1alpha1",
                          "resource", "valkeyclusters", "name", "cache", "namespace", "ns",
                          "userInfo", "username", "admin");
    assert_non_null(r);
    if (sub)
        json_object_set_new(r, "subResource", json_string(sub));
    json_object_set_new(r, "object", obj ? obj : json_null());
    json_object_set_new(r, "oldObject", old ? old : json_null());
    return r;
}

/* A whole AdmissionReview body around request r (stolen). free() the result. */
static char *review(json_t *r)
{
    json_t *root = json_pack("{s:s, s:s, s:o}", "apiVersion", "admission.k8s.io/v1", "kind",
                             "AdmissionReview", "request", r);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_non_null(text);
    return text;
}

/* A ValkeyCluster review body. */
static char *vkc_review(const char *op, json_t *obj, json_t *old)
{
    return review(request(op, "gungnir.dev", "ValkeyCluster", NULL, obj, old));
}

/* Decodes body expecting failure; returns 1 when err holds part. */
static void decode_fails(const char *body, const char *part)
{
    struct admission_request req;
    char err[512] = "";
    int rc = admission_decode(body, strlen(body), &req, err, sizeof(err));
    if (rc != -1 || !strstr(err, part))
        print_error("decode of %.200s: rc %d, err \"%s\", want \"%s\"\n", body, rc, err, part);
    if (rc == 0)
        admission_request_free(&req);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, part));
}

/* Decodes base64 text (n bytes) to a new NUL-terminated string. */
static char *base64_decode(const char *text, size_t n)
{
    char *out = malloc(n + 1);
    assert_non_null(out);
    int got = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)text, (int)n);
    assert_true(got >= 0);
    while (n > 0 && text[n - 1] == '=') { /* EVP_DecodeBlock keeps the padding bytes */
        got--;
        n--;
    }
    out[got] = '\0';
    return out;
}

/* An answer's body parsed as an AdmissionReview response (fails the test when not JSON). */
struct response {
    json_t *root;
    json_t *r;          /* root.response */
    bool allowed;
    int code;           /* status.code, 0 when none */
    const char *reason; /* status.reason */
    const char *message;
    char *patch;        /* decoded patch text (free()), NULL when none */
};

static struct response read_response(const struct admit_answer *a)
{
    struct response out = {0};
    json_error_t jerr;
    assert_int_equal(a->http_status, 200);
    assert_string_equal(a->content_type, "application/json");
    assert_non_null(a->body);
    assert_int_equal(a->len, strlen(a->body));
    out.root = json_loadb(a->body, a->len, 0, &jerr);
    if (!out.root)
        print_error("answer is not JSON (%s): %.300s\n", jerr.text, a->body);
    assert_non_null(out.root);
    assert_string_equal(json_string_value(json_object_get(out.root, "apiVersion")), "admission.k8s.io/v1");
    assert_string_equal(json_string_value(json_object_get(out.root, "kind")), "AdmissionReview");
    out.r = json_object_get(out.root, "response");
    assert_true(json_is_object(out.r));
    assert_string_equal(json_string_value(json_object_get(out.r, "uid")), "705ab4f5-6393-11e8-b7cc-42010a800002");
    out.allowed = json_is_true(json_object_get(out.r, "allowed"));
    json_t *st = json_object_get(out.r, "status");
    out.code = (int)json_integer_value(json_object_get(st, "code"));
    out.reason = json_string_value(json_object_get(st, "reason"));
    out.message = json_string_value(json_object_get(st, "message"));
    const char *p = json_string_value(json_object_get(out.r, "patch"));
    if (p) {
        assert_string_equal(json_string_value(json_object_get(out.r, "patchType")), "JSONPatch");
        out.patch = base64_decode(p, strlen(p));
    } else {
        assert_null(json_object_get(out.r, "patchType"));
    }
    return out;
}

static void response_free(struct response *r)
{
    json_decref(r->root);
    free(r->patch);
}

/* ---- admission_json_depth --------------------------------------------------------------- */

static void test_json_depth(void **state)
{
    (void)state;
    struct depth_case {
        const char *text;
        size_t depth;
    };
    static const struct depth_case cases[] = {
        {"", 0}, {"1", 0}, {"\"[[[\"", 0}, {"{}", 1}, {"[]", 1}, {"[[[]]]", 3},
        {"{\"a\":[{\"b\":[]}],\"c\":{}}", 4}, {"[\"[[[\"]", 1}, {"[\"\\\"[[\"]", 1},
        {"[\"\\\\\",[[]]]", 3}, /* an escaped backslash ends the escape */
        {"]]]][", 1}, {"[][][]", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got = admission_json_depth(cases[i].text, strlen(cases[i].text), 64);
        if (got != cases[i].depth)
            print_error("%s: depth %zu, want %zu\n", cases[i].text, got, cases[i].depth);
        assert_int_equal(got, cases[i].depth);
    }
    char deep[2001];
    memset(deep, '[', 2000);
    deep[2000] = '\0';
    assert_int_equal(admission_json_depth(deep, 2000, 64), 65); /* stops at limit + 1 */
    assert_int_equal(admission_json_depth(deep, 10, 64), 10);   /* only len bytes */
}

/* ---- admission_decode ------------------------------------------------------------------- */

static void test_decode_create(void **state)
{
    (void)state;
    json_t *r = request("CREATE", "gungnir.dev", "ValkeyCluster", NULL, cluster("cache", "{}"), NULL);
    json_object_set_new(r, "dryRun", json_true());
    char *body = review(r);
    struct admission_request req;
    char err[256];
    assert_int_equal(admission_decode(body, strlen(body), &req, err, sizeof(err)), 0);
    free(body);
    assert_string_equal(req.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_int_equal(req.op, ADMISSION_CREATE);
    assert_string_equal(req.group, "gungnir.dev");
    assert_string_equal(req.kind, "ValkeyCluster");
    assert_string_equal(req.sub_resource, "");
    assert_string_equal(req.name, "cache");
    assert_string_equal(req.namespace_, "ns");
    assert_true(req.dry_run);
    assert_non_null(req.object);
    assert_string_equal(json_string_value(json_object_get(json_object_get(req.object, "metadata"), "name")), "cache");
    assert_null(req.old_object);
    admission_request_free(&req);
    assert_null(req.root);
    admission_request_free(&req); /* twice is safe */
}

static void test_decode_operations(void **state)
{
    (void)state;
    static const char *const ops[] = {"CREATE", "UPDATE", "DELETE", "CONNECT"};
    static const enum admission_op want[] = {ADMISSION_CREATE, ADMISSION_UPDATE, ADMISSION_DELETE,
                                             ADMISSION_CONNECT};
    for (size_t i = 0; i < 4; i++) {
        char *body = review(request(ops[i], "gungnir.dev", "ValkeyCluster", NULL, NULL, NULL));
        struct admission_request req;
        char err[256];
        assert_int_equal(admission_decode(body, strlen(body), &req, err, sizeof(err)), 0);
        free(body);
        assert_int_equal(req.op, want[i]);
        assert_null(req.object);
        assert_false(req.dry_run);
        admission_request_free(&req);
    }
}

static void test_decode_refusals(void **state)
{
    (void)state;
    decode_fails("", "empty");
    decode_fails("not json", "JSON");
    decode_fails("{\"apiVersion\":", "JSON");
    decode_fails("[]", "AdmissionReview");
    decode_fails("\"AdmissionReview\"", "AdmissionReview");
    decode_fails("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\",\"request\":{}}", "kind");
    decode_fails("{\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{}}", "kind");
    decode_fails("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\"}}",
                 "apiVersion");
    decode_fails("{\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\"}}", "apiVersion");
    decode_fails("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "request");
    decode_fails("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":[]}", "request");
    decode_fails("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":\"u\"}}", "request");
}

/* Decodes a review whose request member `key` is replaced by value (JSON text; NULL removes
 * it), expecting a refusal naming part. */
static void request_member_fails(const char *key, const char *value, const char *part)
{
    json_t *r = request("CREATE", "gungnir.dev", "ValkeyCluster", NULL, cluster("cache", "{}"), NULL);
    if (value)
        json_object_set_new(r, key, parse(value));
    else
        json_object_del(r, key);
    char *body = review(r);
    decode_fails(body, part);
    free(body);
}

static void test_decode_request_members(void **state)
{
    (void)state;
    request_member_fails("uid", NULL, "uid");
    request_member_fails("uid", "\"\"", "uid");
    request_member_fails("uid", "42", "uid");
    request_member_fails("operation", NULL, "operation");
    request_member_fails("operation", "\"PATCH\"", "operation");
    request_member_fails("operation", "\"create\"", "operation");
    request_member_fails("kind", NULL, "request.kind");
    request_member_fails("kind", "\"ValkeyCluster\"", "request.kind");
    request_member_fails("kind", "{\"group\":\"gungnir.dev\"}", "request.kind");
    request_member_fails("object", "\"x\"", "request.object");
    request_member_fails("object", "[1]", "request.object");
    request_member_fails("oldObject", "7", "request.oldObject");
}

static void test_decode_uid_length(void **state)
{
    (void)state;
    char uid[ADMISSION_UID_MAX + 1];
    memset(uid, 'u', sizeof(uid));
    for (size_t n = ADMISSION_UID_MAX - 1; n <= ADMISSION_UID_MAX; n++) {
        uid[n] = '\0';
        json_t *r = request("DELETE", "gungnir.dev", "ValkeyCluster", NULL, NULL, NULL);
        json_object_set_new(r, "uid", json_string(uid));
        char *body = review(r);
        struct admission_request req;
        char err[256] = "";
        int rc = admission_decode(body, strlen(body), &req, err, sizeof(err));
        free(body);
        if (n < ADMISSION_UID_MAX) {
            assert_int_equal(rc, 0);
            assert_string_equal(req.uid, uid);
            admission_request_free(&req);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "uid"));
        }
        uid[n] = 'u';
    }
}

/* A review whose object holds `levels` nested arrays. */
static char *deep_review(size_t levels)
{
    char *nest = malloc(2 * levels + 16);
    assert_non_null(nest);
    size_t k = 0;
    for (size_t i = 0; i < levels; i++)
        nest[k++] = '[';
    for (size_t i = 0; i < levels; i++)
        nest[k++] = ']';
    nest[k] = '\0';
    json_t *obj = cluster("cache", "{}");
    json_t *deep = parse(nest);
    free(nest);
    json_object_set_new(obj, "deep", deep);
    return vkc_review("CREATE", obj, NULL);
}

static void test_decode_depth_limit(void **state)
{
    (void)state;
    /* root { request { object { arrays... : 3 levels before the arrays. */
    char *ok = deep_review(ADMISSION_DEPTH_MAX - 3);
    assert_int_equal(admission_json_depth(ok, strlen(ok), 1000), ADMISSION_DEPTH_MAX);
    struct admission_request req;
    char err[256];
    assert_int_equal(admission_decode(ok, strlen(ok), &req, err, sizeof(err)), 0);
    admission_request_free(&req);
    free(ok);

    char *too_deep = deep_review(ADMISSION_DEPTH_MAX - 2);
    decode_fails(too_deep, "deep");
    free(too_deep);

    /* Far deeper: refused before jansson sees it. */
    size_t n = 100000;
    char *bomb = malloc(n + 1);
    assert_non_null(bomb);
    memset(bomb, '[', n);
    bomb[n] = '\0';
    decode_fails(bomb, "deep");
    free(bomb);
}

/* ---- admission_encode ------------------------------------------------------------------ */

static json_t *encode_parse(const char *uid, const struct admission_verdict *v)
{
    size_t len = 0;
    char *text = admission_encode(uid, v, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root)
        print_error("not JSON (%s): %s\n", jerr.text, text);
    free(text);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "apiVersion")), "admission.k8s.io/v1");
    assert_string_equal(json_string_value(json_object_get(root, "kind")), "AdmissionReview");
    return root;
}

static void test_encode_allowed(void **state)
{
    (void)state;
    struct admission_verdict v = {.allowed = true};
    json_t *root = encode_parse("uid-1", &v);
    json_t *r = json_object_get(root, "response");
    assert_string_equal(json_string_value(json_object_get(r, "uid")), "uid-1");
    assert_true(json_is_true(json_object_get(r, "allowed")));
    assert_null(json_object_get(r, "status"));
    assert_null(json_object_get(r, "patch"));
    assert_null(json_object_get(r, "patchType"));
    assert_null(json_object_get(r, "warnings"));
    json_decref(root);
}

static void test_encode_patch_is_base64(void **state)
{
    (void)state;
    /* Lengths 0, 1 and 2 mod 3 exercise the base64 padding. */
    static const char *const patches[] = {
        "[{\"op\":\"add\",\"path\":\"/spec/replicas\",\"value\":3}]",
        "[{\"op\":\"add\",\"path\":\"/spec/replicas\",\"value\":30}]",
        "[{\"op\":\"add\",\"path\":\"/spec/replicas\",\"value\":300}]",
    };
    for (size_t i = 0; i < 3; i++) {
        struct admission_verdict v = {.allowed = true, .patch = patches[i], .patch_len = strlen(patches[i])};
        json_t *root = encode_parse("u", &v);
        json_t *r = json_object_get(root, "response");
        assert_string_equal(json_string_value(json_object_get(r, "patchType")), "JSONPatch");
        const char *b64 = json_string_value(json_object_get(r, "patch"));
        assert_non_null(b64);
        assert_int_equal(strlen(b64) % 4, 0);
        char *decoded = base64_decode(b64, strlen(b64));
        assert_string_equal(decoded, patches[i]);
        free(decoded);
        json_decref(root);
    }
    /* patch_len 0: no patch at all. */
    struct admission_verdict v = {.allowed = true, .patch = "[]", .patch_len = 0};
    json_t *root = encode_parse("u", &v);
    assert_null(json_object_get(json_object_get(root, "response"), "patch"));
    json_decref(root);
}

static void test_encode_escapes_uid_and_warnings(void **state)
{
    (void)state;
    static const char uid[] = "a\"b\\c\n\t\x01\x1f/</script>";
    const char *warnings[] = {"spec.image: \"valkey:latest\" uses the tag \"latest\"", "line\nbreak\\"};
    struct admission_verdict v = {.allowed = true, .warnings = warnings, .nwarnings = 2};
    json_t *root = encode_parse(uid, &v);
    json_t *r = json_object_get(root, "response");
    assert_string_equal(json_string_value(json_object_get(r, "uid")), uid);
    json_t *w = json_object_get(r, "warnings");
    assert_true(json_is_array(w));
    assert_int_equal(json_array_size(w), 2);
    assert_string_equal(json_string_value(json_array_get(w, 0)), warnings[0]);
    assert_string_equal(json_string_value(json_array_get(w, 1)), warnings[1]);
    json_decref(root);

    /* A NULL uid encodes as "". */
    root = encode_parse(NULL, &v);
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "response"), "uid")), "");
    json_decref(root);
}

static void test_encode_refusal_status(void **state)
{
    (void)state;
    json_t *causes = parse("[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: 0: must be between 1 and 100\",\"field\":\"spec.replicas\"}]");
    const char *msg = "ValkeyCluster.gungnir.dev \"cache\" is invalid: spec.replicas: Invalid value: 0: must be between 1 and 100";
    struct admission_verdict v = {.allowed = false, .code = 422, .reason = "Invalid", .message = msg,
                                  .causes = causes, .kind = "ValkeyCluster", .group = "gungnir.dev",
                                  .name = "cache"};
    json_t *root = encode_parse("u", &v);
    json_t *r = json_object_get(root, "response");
    assert_true(json_is_false(json_object_get(r, "allowed")));
    json_t *st = json_object_get(r, "status");
    assert_string_equal(json_string_value(json_object_get(st, "status")), "Failure");
    assert_string_equal(json_string_value(json_object_get(st, "message")), msg);
    assert_string_equal(json_string_value(json_object_get(st, "reason")), "Invalid");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 422);
    json_t *d = json_object_get(st, "details");
    assert_string_equal(json_string_value(json_object_get(d, "name")), "cache");
    assert_string_equal(json_string_value(json_object_get(d, "group")), "gungnir.dev");
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "ValkeyCluster");
    assert_true(json_equal(json_object_get(d, "causes"), causes));
    json_decref(root);
    json_decref(causes);

    /* Without code, reason or details: 400, and no details member. */
    struct admission_verdict bare = {.allowed = false, .message = "bad \"thing\"\n"};
    root = encode_parse("u", &bare);
    st = json_object_get(json_object_get(root, "response"), "status");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 400);
    assert_string_equal(json_string_value(json_object_get(st, "message")), "bad \"thing\"\n");
    assert_null(json_object_get(st, "details"));
    json_decref(root);
}

/* ---- the handlers, end to end ------------------------------------------------------------- */

/* Runs admit_mutate or admit_validate on body (freed). */
static struct admit_answer run(void (*handler)(const char *, size_t, struct admit_answer *), char *body)
{
    struct admit_answer a;
    handler(body, strlen(body), &a);
    free(body);
    return a;
}

static void test_mutate_create_patch_yields_valid_object(void **state)
{
    (void)state;
    json_t *obj = cluster("cache", "{\"replicas\":5,\"storage\":{\"size\":\"10Gi\"},"
                                   "\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}");
    json_t *original = json_deep_copy(obj);
    struct admit_answer a = run(admit_mutate, vkc_review("CREATE", obj, NULL));
    assert_int_equal(a.result, ADMIT_PATCHED);
    struct response resp = read_response(&a);
    assert_true(resp.allowed);
    assert_non_null(resp.patch);

    /* The patch applies to what the user sent, and the result passes the Validator. */
    json_t *ops = parse(resp.patch);
    char err[256];
    assert_int_equal(jsonpatch_apply(&original, ops, err, sizeof(err)), 0);
    json_t *spec = json_object_get(original, "spec");
    assert_int_equal(json_integer_value(json_object_get(spec, "replicas")), 5); /* kept */
    assert_string_equal(json_string_value(json_object_get(spec, "image")), "valkey/valkey:8.1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(spec, "persistence"), "mode")), "rdb");
    assert_string_equal(json_string_value(json_object_get(spec, "maxmemory")), "858993459");
    static ferr_list errs;
    ferr_init(&errs);
    assert_int_equal(vkc_validate_object(original, &errs, NULL, NULL), 0);

    /* The patched object goes through the validating webhook. */
    struct admit_answer v = run(admit_validate, vkc_review("CREATE", json_deep_copy(original), NULL));
    assert_int_equal(v.result, ADMIT_ALLOWED);
    struct response vr = read_response(&v);
    assert_true(vr.allowed);
    /* and through the mutating one again without a patch. */
    struct admit_answer m2 = run(admit_mutate, vkc_review("CREATE", json_deep_copy(original), NULL));
    assert_int_equal(m2.result, ADMIT_ALLOWED);
    struct response mr2 = read_response(&m2);
    assert_null(mr2.patch);

    response_free(&mr2);
    free(m2.body);
    response_free(&vr);
    free(v.body);
    json_decref(ops);
    json_decref(original);
    response_free(&resp);
    free(a.body);
}

static void test_mutate_update_delete_scale(void **state)
{
    (void)state;
    /* UPDATE is defaulted too. */
    struct admit_answer a = run(admit_mutate, vkc_review("UPDATE", cluster("cache", "{}"), cluster("cache", "{}")));
    assert_int_equal(a.result, ADMIT_PATCHED);
    struct response r = read_response(&a);
    assert_true(r.allowed);
    assert_non_null(r.patch);
    response_free(&r);
    free(a.body);

    /* DELETE: allowed, nothing to patch. */
    a = run(admit_mutate, vkc_review("DELETE", NULL, cluster("cache", "{}")));
    assert_int_equal(a.result, ADMIT_ALLOWED);
    r = read_response(&a);
    assert_true(r.allowed);
    assert_null(r.patch);
    response_free(&r);
    free(a.body);

    /* The scale subresource is not defaulted. */
    json_t *scale = parse("{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"Scale\",\"spec\":{\"replicas\":4}}");
    a = run(admit_mutate, review(request("UPDATE", "autoscaling", "Scale", "scale", scale, NULL)));
    assert_int_equal(a.result, ADMIT_ALLOWED);
    r = read_response(&a);
    assert_true(r.allowed);
    assert_null(r.patch);
    response_free(&r);
    free(a.body);
}

static void test_validate_invalid_create_lists_every_error(void **state)
{
    (void)state;
    json_t *obj = cluster("cache", "{\"replicas\":0,\"image\":\"\",\"config\":{\"port\":\"7000\"}}");
    struct admit_answer a = run(admit_validate, vkc_review("CREATE", obj, NULL));
    assert_int_equal(a.result, ADMIT_DENIED);
    struct response r = read_response(&a);
    assert_false(r.allowed);
    assert_int_equal(r.code, 422);
    assert_string_equal(r.reason, "Invalid");
    assert_non_null(r.message);
    assert_non_null(strstr(r.message, "ValkeyCluster.gungnir.dev \"cache\" is invalid: ["));
    assert_non_null(strstr(r.message, "spec.replicas: Invalid value: 0: must be between 1 and 100"));
    assert_non_null(strstr(r.message, "spec.image: Required value"));
    assert_non_null(strstr(r.message, "spec.config[port]: Forbidden"));
    json_t *d = json_object_get(json_object_get(r.r, "status"), "details");
    assert_string_equal(json_string_value(json_object_get(d, "name")), "cache");
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "ValkeyCluster");
    assert_string_equal(json_string_value(json_object_get(d, "group")), "gungnir.dev");
    json_t *causes = json_object_get(d, "causes");
    assert_int_equal(json_array_size(causes), 3);
    static const char *const fields[] = {"spec.replicas", "spec.image", "spec.config[port]"};
    for (size_t i = 0; i < 3; i++) {
        bool seen = false;
        size_t k;
        json_t *c;
        json_array_foreach(causes, k, c)
        {
            const char *f = json_string_value(json_object_get(c, "field"));
            seen = seen || (f && strcmp(f, fields[i]) == 0);
        }
        assert_true(seen);
    }
    response_free(&r);
    free(a.body);
}

static void test_validate_dry_run_same_answer(void **state)
{
    (void)state;
    for (int dry = 0; dry < 2; dry++) {
        json_t *req = request("CREATE", "gungnir.dev", "ValkeyCluster", NULL,
                              cluster("cache", "{\"replicas\":101}"), NULL);
        json_object_set_new(req, "dryRun", json_boolean(dry));
        struct admit_answer a = run(admit_validate, review(req));
        assert_int_equal(a.result, ADMIT_DENIED);
        struct response r = read_response(&a);
        assert_int_equal(r.code, 422);
        assert_non_null(strstr(r.message, "spec.replicas: Invalid value: 101"));
        response_free(&r);
        free(a.body);

        req = request("CREATE", "gungnir.dev", "ValkeyCluster", NULL, cluster("cache", "{}"), NULL);
        json_object_set_new(req, "dryRun", json_boolean(dry));
        a = run(admit_validate, review(req));
        assert_int_equal(a.result, ADMIT_ALLOWED);
        free(a.body);

        req = request("CREATE", "gungnir.dev", "ValkeyCluster", NULL, cluster("cache", "{}"), NULL);
        json_object_set_new(req, "dryRun", json_boolean(dry));
        a = run(admit_mutate, review(req));
        assert_int_equal(a.result, ADMIT_PATCHED);
        free(a.body);
    }
}

static void test_validate_update_forbidden(void **state)
{
    (void)state;
    struct admit_answer a = run(admit_validate,
                                vkc_review("UPDATE", cluster("cache", "{\"storage\":{\"size\":\"5Gi\"}}"),
                                           cluster("cache", "{\"storage\":{\"size\":\"10Gi\"}}")));
    assert_int_equal(a.result, ADMIT_DENIED);
    struct response r = read_response(&a);
    assert_false(r.allowed);
    assert_int_equal(r.code, 403);
    assert_string_equal(r.reason, "Forbidden");
    assert_non_null(strstr(r.message, "spec.storage.size: Forbidden: may not shrink (from 10Gi to 5Gi)"));
    response_free(&r);
    free(a.body);

    /* Replicas during a failover. */
    json_t *old = cluster("cache", "{\"replicas\":3}");
    json_object_set_new(old, "status", parse("{\"failover\":{\"inProgress\":true,\"epoch\":4}}"));
    a = run(admit_validate, vkc_review("UPDATE", cluster("cache", "{\"replicas\":4}"), old));
    assert_int_equal(a.result, ADMIT_DENIED);
    r = read_response(&a);
    assert_int_equal(r.code, 403);
    assert_non_null(strstr(r.message, "retry after the failover"));
    response_free(&r);
    free(a.body);

    /* Growing storage is fine. */
    a = run(admit_validate, vkc_review("UPDATE", cluster("cache", "{\"storage\":{\"size\":\"20Gi\"}}"),
                                       cluster("cache", "{\"storage\":{\"size\":\"10Gi\"}}")));
    assert_int_equal(a.result, ADMIT_ALLOWED);
    free(a.body);

    /* An UPDATE without oldObject cannot be judged: refused with 400 in the review. */
    a = run(admit_validate, vkc_review("UPDATE", cluster("cache", "{}"), NULL));
    assert_int_equal(a.result, ADMIT_DENIED);
    r = read_response(&a);
    assert_int_equal(r.code, 400);
    response_free(&r);
    free(a.body);
}

static void test_validate_delete_and_deleting(void **state)
{
    (void)state;
    struct admit_answer a = run(admit_validate, vkc_review("DELETE", NULL, cluster("cache", "{\"replicas\":0}")));
    assert_int_equal(a.result, ADMIT_ALLOWED);
    struct response r = read_response(&a);
    assert_true(r.allowed);
    response_free(&r);
    free(a.body);

    /* An UPDATE that only removes a finalizer of an object being deleted goes through. */
    json_t *nw = cluster("cache", "{\"replicas\":0,\"storage\":{\"size\":\"1Gi\"}}");
    json_object_set_new(json_object_get(nw, "metadata"), "deletionTimestamp", json_string("2025-01-01T00:00:00Z"));
    a = run(admit_validate, vkc_review("UPDATE", nw, cluster("cache", "{\"storage\":{\"size\":\"10Gi\"}}")));
    assert_int_equal(a.result, ADMIT_ALLOWED);
    free(a.body);
}

static void test_validate_scale_subresource(void **state)
{
    (void)state;
    struct scale_case {
        int replicas;
        bool allowed;
    };
    static const struct scale_case cases[] = {{0, false}, {1, true}, {5, true}, {100, true}, {101, false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *scale = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i}}", "apiVersion", "autoscaling/v1",
                                  "kind", "Scale", "metadata", "name", "cache", "namespace", "ns",
                                  "spec", "replicas", cases[i].replicas);
        json_t *old = parse("{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"Scale\",\"spec\":{\"replicas\":3}}");
        struct admit_answer a = run(admit_validate, review(request("UPDATE", "autoscaling", "Scale", "scale", scale, old)));
        struct response r = read_response(&a);
        if (r.allowed != cases[i].allowed)
            print_error("scale to %d: allowed %d\n", cases[i].replicas, r.allowed);
        assert_int_equal(r.allowed, cases[i].allowed);
        if (!cases[i].allowed) {
            assert_int_equal(r.code, 422);
            assert_non_null(strstr(r.message, "spec.replicas: Invalid value"));
            assert_non_null(strstr(r.message, "must be between 1 and 100"));
        }
        response_free(&r);
        free(a.body);
    }
}

static void test_wrong_kind_is_400_in_review(void **state)
{
    (void)state;
    void (*handlers[])(const char *, size_t, struct admit_answer *) = {admit_mutate, admit_validate};
    for (size_t h = 0; h < 2; h++) {
        json_t *pod = parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}");
        struct admit_answer a = run(handlers[h], review(request("CREATE", "", "Pod", NULL, pod, NULL)));
        assert_int_equal(a.result, ADMIT_DENIED);
        struct response r = read_response(&a);
        assert_false(r.allowed);
        assert_int_equal(r.code, 400);
        assert_string_equal(r.reason, "BadRequest");
        assert_non_null(strstr(r.message, "ValkeyCluster"));
        response_free(&r);
        free(a.body);

        /* Same kind name, another group. */
        a = run(handlers[h], review(request("CREATE", "example.com", "ValkeyCluster", NULL, cluster("c", "{}"), NULL)));
        assert_int_equal(a.result, ADMIT_DENIED);
        r = read_response(&a);
        assert_int_equal(r.code, 400);
        response_free(&r);
        free(a.body);

        /* CREATE without an object. */
        a = run(handlers[h], vkc_review("CREATE", NULL, NULL));
        assert_int_equal(a.result, ADMIT_DENIED);
        r = read_response(&a);
        assert_int_equal(r.code, 400);
        response_free(&r);
        free(a.body);
    }
}

static void test_bad_body_is_http_400(void **state)
{
    (void)state;
    void (*handlers[])(const char *, size_t, struct admit_answer *) = {admit_mutate, admit_validate};
    static const char *const bodies[] = {"", "{", "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}"};
    for (size_t h = 0; h < 2; h++) {
        for (size_t i = 0; i < 3; i++) {
            struct admit_answer a;
            handlers[h](bodies[i], strlen(bodies[i]), &a);
            assert_int_equal(a.result, ADMIT_BAD_REQUEST);
            assert_int_equal(a.http_status, 400);
            assert_string_equal(a.content_type, "text/plain; charset=utf-8");
            assert_non_null(a.body);
            assert_true(a.len > 1);
            assert_int_equal(a.body[a.len - 1], '\n');
            free(a.body);
        }
    }
}

static void test_validate_warnings_in_answer(void **state)
{
    (void)state;
    struct admit_answer a = run(admit_validate, vkc_review("CREATE", cluster("cache", "{\"image\":\"valkey/valkey:latest\",\"replica\":2}"), NULL));
    assert_int_equal(a.result, ADMIT_ALLOWED);
    struct response r = read_response(&a);
    assert_true(r.allowed);
    json_t *w = json_object_get(r.r, "warnings");
    assert_int_equal(json_array_size(w), 2);
    response_free(&r);
    free(a.body);
}

/* Whatever the user puts in a field, the answer is valid JSON (UTF-8): here a long image name
 * of two-byte characters, which the warning about its tag quotes. */
static void test_answer_is_valid_json_for_long_utf8_values(void **state)
{
    (void)state;
    char image[512] = "r";
    for (int i = 0; i < 120; i++)
        strcat(image, "\xc3\xa9"); /* é */
    strcat(image, ":latest");
    json_t *obj = cluster("cache", "{}");
    json_object_set_new(json_object_get(obj, "spec"), "image", json_string(image));
    struct admit_answer a = run(admit_validate, vkc_review("CREATE", obj, NULL));
    json_error_t jerr;
    json_t *root = json_loadb(a.body, a.len, 0, &jerr);
    bool is_json = root != NULL;
    if (!is_json)
        print_error("answer is not JSON: %s\n", jerr.text);
    json_decref(root);
    free(a.body);
    assert_true(is_json);
}

/* The same with a long non-ASCII value shown in an error. */
static void test_error_answer_is_valid_json_for_long_utf8_values(void **state)
{
    (void)state;
    json_t *obj = cluster("cache", "{}");
    char bad[512] = "";
    for (int i = 0; i < 120; i++)
        strcat(bad, "\xc3\xa9");
    json_object_set_new(json_object_get(obj, "spec"), "imagePullPolicy", json_string(bad));
    struct admit_answer a = run(admit_validate, vkc_review("CREATE", obj, NULL));
    json_error_t jerr;
    json_t *root = json_loadb(a.body, a.len, 0, &jerr);
    bool is_json = root != NULL;
    if (!is_json)
        print_error("answer is not JSON: %s\n", jerr.text);
    json_t *causes = json_object_get(json_object_get(json_object_get(json_object_get(root, "response"), "status"), "details"), "causes");
    bool has_causes = json_array_size(causes) == 1;
    json_decref(root);
    free(a.body);
    assert_true(is_json);
    assert_true(has_causes);
}

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(admit_result_name(ADMIT_ALLOWED), "allowed");
    assert_string_equal(admit_result_name(ADMIT_PATCHED), "patched");
    assert_string_equal(admit_result_name(ADMIT_DENIED), "denied");
    assert_string_equal(admit_result_name(ADMIT_BAD_REQUEST), "bad_request");
    assert_string_equal(admit_result_name(ADMIT_ERROR), "error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_decode_create),
        cmocka_unit_test(test_decode_operations),
        cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_decode_request_members),
        cmocka_unit_test(test_decode_uid_length),
        cmocka_unit_test(test_decode_depth_limit),
        cmocka_unit_test(test_encode_allowed),
        cmocka_unit_test(test_encode_patch_is_base64),
        cmocka_unit_test(test_encode_escapes_uid_and_warnings),
        cmocka_unit_test(test_encode_refusal_status),
        cmocka_unit_test(test_mutate_create_patch_yields_valid_object),
        cmocka_unit_test(test_mutate_update_delete_scale),
        cmocka_unit_test(test_validate_invalid_create_lists_every_error),
        cmocka_unit_test(test_validate_dry_run_same_answer),
        cmocka_unit_test(test_validate_update_forbidden),
        cmocka_unit_test(test_validate_delete_and_deleting),
        cmocka_unit_test(test_validate_scale_subresource),
        cmocka_unit_test(test_wrong_kind_is_400_in_review),
        cmocka_unit_test(test_bad_body_is_http_400),
        cmocka_unit_test(test_validate_warnings_in_answer),
        cmocka_unit_test(test_answer_is_valid_json_for_long_utf8_values),
        cmocka_unit_test(test_error_answer_is_valid_json_for_long_utf8_values),
        cmocka_unit_test(test_result_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
