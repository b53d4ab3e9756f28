/* test_informer.c — the informer without its thread: what it does after a watch ends; its list
 * (pages, the cache replaced, what is reported, the resourceVersion kept) through the fake
 * kube_api (tests/support/fake_api.h) with pages as canned answers; and what each watch event
 * does. */
#include "fake_api.h"
#include "informer.h"

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

/* A watch the server ended normally (its timeoutSeconds): resume from the last version, no
 * list (a list of everything every few minutes is what the watch exists to avoid). */
static void test_normal_end_resumes(void **state)
{
    (void)state;
    assert_int_equal(informer_after_watch(200, false), INFORMER_RESUME);
}

/* 410 Gone, as the answer's status or as an ERROR event inside a 200 stream: the version is too
 * old to resume from, list again at once. */
static void test_gone_relists(void **state)
{
    (void)state;
    assert_int_equal(informer_after_watch(410, false), INFORMER_RELIST);
    assert_int_equal(informer_after_watch(200, true), INFORMER_RELIST);
    assert_int_equal(informer_after_watch(-1, true), INFORMER_RELIST);
}

/* Other HTTP errors (403 after an RBAC change, 500 while the API server restarts): back off,
 * then list again, since events may have been missed. */
static void test_http_errors_relist_later(void **state)
{
    (void)state;
    assert_int_equal(informer_after_watch(403, false), INFORMER_RELIST_LATER);
    assert_int_equal(informer_after_watch(500, false), INFORMER_RELIST_LATER);
    assert_int_equal(informer_after_watch(503, false), INFORMER_RELIST_LATER);
}

/* A broken connection (API server gone, idle watch cut): back off, then watch again from the
 * last version seen — no list needed. */
static void test_transport_failure_retries(void **state)
{
    (void)state;
    assert_int_equal(informer_after_watch(-1, false), INFORMER_RETRY_LATER);
    assert_int_equal(informer_after_watch(0, false), INFORMER_RETRY_LATER);
}

/* ---- the list, through the fake API ----------------------------------------------------- */

#define COLL "/api/v1/pods"
#define FIRST COLL "?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dgungnir&limit=500"
#define EVENTS_MAX 32

struct world {
    struct fake_api fake;
    struct informer *inf;
    size_t nevents;
    enum informer_event ev[EVENTS_MAX];
    char key[EVENTS_MAX][64];
};

static void record(void *ctx, enum informer_event ev, const json_t *obj)
{
    struct world *w = ctx;
    const json_t *md = json_object_get(obj, "metadata");
    assert_true(w->nevents < EVENTS_MAX);
    w->ev[w->nevents] = ev;
    snprintf(w->key[w->nevents], sizeof(w->key[0]), "%s/%s", json_string_value(json_object_get(md, "namespace")),
             json_string_value(json_object_get(md, "name")));
    w->nevents++;
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    fake_api_init(&w->fake);
    struct informer_options o = {.name = "pods", .path = COLL, .selector = "app.kubernetes.io/managed-by=gungnir",
                                 .on_event = record, .ctx = w};
    w->inf = informer_new(&o);
    assert_non_null(w->inf);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    assert_false(w->fake.overflow);
    informer_stop(w->inf);
    fake_api_free(&w->fake);
    free(w);
    return 0;
}

/* A pod ns/name at resourceVersion rv (new). */
static json_t *obj(const char *name, const char *rv)
{
    json_t *o = json_pack("{s:s, s:{s:s, s:s, s:s}}", "kind", "Pod", "metadata", "name", name, "namespace", "shop",
                          "resourceVersion", rv);
    assert_non_null(o);
    return o;
}

/* A list page (new): items (stolen), the list's resourceVersion, continue token (NULL: last). */
static json_t *page(json_t *items, const char *rv, const char *cont)
{
    json_t *md = json_pack("{s:s}", "resourceVersion", rv);
    if (cont)
        json_object_set_new(md, "continue", json_string(cont));
    json_t *p = json_pack("{s:s, s:o, s:o}", "kind", "PodList", "metadata", md, "items", items);
    assert_non_null(p);
    return p;
}

/* The next list's pages, in order: GET answers one page each. */
static void next_page(struct world *w, json_t *p) { fake_api_answer(&w->fake, "GET", COLL, 200, p, 1); }

static bool cached(struct world *w, const char *name)
{
    json_t *o = informer_get(w->inf, "shop", name);
    json_decref(o);
    return o != NULL;
}

static const char *cached_rv(struct world *w, const char *name)
{
    static char rv[64];
    json_t *o = informer_get(w->inf, "shop", name);
    snprintf(rv, sizeof(rv), "%s",
             o ? json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion")) : "");
    json_decref(o);
    return rv;
}

static const char *list_rv(struct world *w)
{
    static char rv[64];
    informer_resource_version(w->inf, rv, sizeof(rv));
    return rv;
}

static void forget_events(struct world *w)
{
    w->nevents = 0;
    fake_api_clear_calls(&w->fake);
}

/* The list walks every page (limit 500, then the continue token, escaped), fills the cache
 * with all of them, reports each as ADDED, keeps the list's resourceVersion and is synced. */
static void test_list_walks_every_page(void **state)
{
    struct world *w = *state;
    next_page(w, page(json_pack("[o, o]", obj("a", "90"), obj("b", "91")), "100", "tok/1="));
    next_page(w, page(json_pack("[o]", obj("c", "95")), "100", NULL));
    assert_false(informer_synced(w->inf));

    assert_int_equal(informer_relist(w->inf, &w->fake.api), 0);

    assert_int_equal(w->fake.ncalls, 2);
    assert_string_equal(w->fake.calls[0].method, "GET");
    assert_string_equal(w->fake.calls[0].path, FIRST);
    assert_string_equal(w->fake.calls[1].path, FIRST "&continue=tok%2F1%3D");
    assert_true(cached(w, "a") && cached(w, "b") && cached(w, "c"));
    assert_int_equal(w->nevents, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(w->ev[i], INFORMER_ADDED);
    assert_string_equal(list_rv(w), "100");
    assert_true(informer_synced(w->inf));
    assert_int_equal(informer_list_count(w->inf), 1);
    assert_int_equal(w->fake.api.writes, 0);
}

/* A relist (after a 410) replaces the cache: an object gone from the new list is dropped and
 * reported DELETED, one still there MODIFIED (with its new version), a new one ADDED; the new
 * list's resourceVersion is the one the watch resumes from. */
static void test_relist_reports_what_vanished(void **state)
{
    struct world *w = *state;
    next_page(w, page(json_pack("[o, o]", obj("a", "90"), obj("b", "91")), "100", NULL));
    assert_int_equal(informer_relist(w->inf, &w->fake.api), 0);
    forget_events(w);

    next_page(w, page(json_pack("[o, o]", obj("b", "150"), obj("c", "160")), "200", NULL));
    assert_int_equal(informer_relist(w->inf, &w->fake.api), 0);

    assert_false(cached(w, "a"));
    assert_string_equal(cached_rv(w, "b"), "150");
    assert_true(cached(w, "c"));
    assert_int_equal(w->nevents, 3);
    assert_int_equal(w->ev[0], INFORMER_DELETED);
    assert_string_equal(w->key[0], "shop/a");
    bool saw_b = false, saw_c = false;
    for (size_t i = 1; i < 3; i++) {
        if (strcmp(w->key[i], "shop/b") == 0)
            saw_b = w->ev[i] == INFORMER_MODIFIED;
        if (strcmp(w->key[i], "shop/c") == 0)
            saw_c = w->ev[i] == INFORMER_ADDED;
    }
    assert_true(saw_b && saw_c);
    assert_string_equal(list_rv(w), "200");
    assert_int_equal(informer_list_count(w->inf), 2);
}

/* An empty list after a full one: everything reported DELETED, the cache empty. */
static void test_relist_to_empty_deletes_all(void **state)
{
    struct world *w = *state;
    next_page(w, page(json_pack("[o, o]", obj("a", "90"), obj("b", "91")), "100", NULL));
    assert_int_equal(informer_relist(w->inf, &w->fake.api), 0);
    forget_events(w);
    next_page(w, page(json_array(), "300", NULL));
    assert_int_equal(informer_relist(w->inf, &w->fake.api), 0);
    assert_int_equal(w->nevents, 2);
    assert_int_equal(w->ev[0], INFORMER_DELETED);
    assert_int_equal(w->ev[1], INFORMER_DELETED);
    json_t *all = informer_list(w->inf, NULL, NULL, NULL);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
}

/* A page that fails mid-way (500 on the second page, or no answer): the list fails and the old
 * cache, its resourceVersion and the list count stay untouched; nothing is reported, not even
 * the first page's objects. */
static void test_failed_page_keeps_the_old_cache(void **state)
{
    struct world *w = *state;
    next_page(w, page(json_pack("[o]", obj("a", "90")), "100", NULL));
    assert_int_equal(informer_relist(w->inf, &w->fake.api), 0);
    forget_events(w);

    next_page(w, page(json_pack("[o]", obj("b", "150")), "200", "more"));
    fake_api_answer(&w->fake, "GET", COLL, 500, NULL, 1);
    assert_int_equal(informer_relist(w->inf, &w->fake.api), -1);
    assert_int_equal(w->fake.ncalls, 2);
    assert_true(cached(w, "a"));
    assert_false(cached(w, "b"));
    assert_int_equal(w->nevents, 0);
    assert_string_equal(list_rv(w), "100");
    assert_int_equal(informer_list_count(w->inf), 1);

    fake_api_answer(&w->fake, "GET", COLL, -1, NULL, 1);
    assert_int_equal(informer_relist(w->inf, &w->fake.api), -1);
    assert_true(cached(w, "a"));
    assert_int_equal(w->nevents, 0);
}

/* A first list that fails leaves the informer unsynced (the controller waits for it). */
static void test_failed_first_list_is_not_synced(void **state)
{
    struct world *w = *state;
    fake_api_answer(&w->fake, "GET", COLL, 403, NULL, 1);
    assert_int_equal(informer_relist(w->inf, &w->fake.api), -1);
    assert_false(informer_synced(w->inf));
    assert_int_equal(informer_list_count(w->inf), 0);
}

/* A continue token that does not fit the request fails the list: stopping there would take the
 * first page for the whole list and report every later object DELETED. */
static void test_unfit_continue_token_fails_the_list(void **state)
{
    struct world *w = *state;
    next_page(w, page(json_pack("[o, o]", obj("a", "90"), obj("b", "91")), "100", NULL));
    assert_int_equal(informer_relist(w->inf, &w->fake.api), 0);
    forget_events(w);

    char token[1500];
    memset(token, '/', sizeof(token) - 1); /* each escapes to 3 characters */
    token[sizeof(token) - 1] = '\0';
    next_page(w, page(json_pack("[o]", obj("a", "95")), "200", token));
    assert_int_equal(informer_relist(w->inf, &w->fake.api), -1);
    assert_true(cached(w, "b"));
    assert_int_equal(w->nevents, 0);
    assert_string_equal(list_rv(w), "100");
}

/* ---- watch events ------------------------------------------------------------------------ */

/* ADDED, MODIFIED and DELETED change the cache, are reported, and move the resourceVersion;
 * BOOKMARK only moves it. */
static void test_watch_events_apply(void **state)
{
    struct world *w = *state;
    json_t *o = obj("x", "300");
    assert_int_equal(informer_watch_event(w->inf, "ADDED", o), INFORMER_RESUME);
    json_decref(o);
    assert_true(cached(w, "x"));
    assert_string_equal(list_rv(w), "300");
    o = obj("x", "301");
    assert_int_equal(informer_watch_event(w->inf, "MODIFIED", o), INFORMER_RESUME);
    json_decref(o);
    assert_string_equal(cached_rv(w, "x"), "301");
    o = json_pack("{s:{s:s}}", "metadata", "resourceVersion", "350");
    assert_int_equal(informer_watch_event(w->inf, "BOOKMARK", o), INFORMER_RESUME);
    json_decref(o);
    assert_string_equal(list_rv(w), "350");
    o = obj("x", "360");
    assert_int_equal(informer_watch_event(w->inf, "DELETED", o), INFORMER_RESUME);
    json_decref(o);
    assert_false(cached(w, "x"));
    assert_string_equal(list_rv(w), "360");

    assert_int_equal(w->nevents, 3);
    assert_int_equal(w->ev[0], INFORMER_ADDED);
    assert_int_equal(w->ev[1], INFORMER_MODIFIED);
    assert_int_equal(w->ev[2], INFORMER_DELETED);
}

/* An ERROR event with code 410: the version is too old, list again at once. */
static void test_watch_error_gone_relists(void **state)
{
    struct world *w = *state;
    json_t *st = json_pack("{s:s, s:s, s:s, s:i}", "kind", "Status", "status", "Failure", "reason", "Expired", "code",
                           410);
    assert_int_equal(informer_watch_event(w->inf, "ERROR", st), INFORMER_RELIST);
    json_decref(st);
}

/* Any other ERROR event (500, 403, no code at all): events may have been missed, so the watch
 * stops and the informer lists again after a backoff — not a resume from the old version. The
 * cache and the version are left as they were. */
static void test_watch_error_other_relists_later(void **state)
{
    struct world *w = *state;
    json_t *o = obj("x", "300");
    informer_watch_event(w->inf, "ADDED", o);
    json_decref(o);
    w->nevents = 0;

    static const int codes[] = {500, 403, 0};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        json_t *st = json_pack("{s:s, s:s, s:s}", "kind", "Status", "status", "Failure", "message", "boom");
        if (codes[i])
            json_object_set_new(st, "code", json_integer(codes[i]));
        assert_int_equal(informer_watch_event(w->inf, "ERROR", st), INFORMER_RELIST_LATER);
        json_decref(st);
    }
    assert_true(cached(w, "x"));
    assert_string_equal(list_rv(w), "300");
    assert_int_equal(w->nevents, 0);
}

/* An event that cannot be applied (an unknown type, an object without a name) is not put in the
 * cache; the watch stops and the informer lists again later. */
static void test_watch_event_not_understood_relists_later(void **state)
{
    struct world *w = *state;
    json_t *o = obj("y", "400");
    assert_int_equal(informer_watch_event(w->inf, "REPLACED", o), INFORMER_RELIST_LATER);
    json_decref(o);
    o = json_pack("{s:s, s:{s:s, s:s}}", "kind", "Pod", "metadata", "namespace", "shop", "resourceVersion", "401");
    assert_int_equal(informer_watch_event(w->inf, "ADDED", o), INFORMER_RELIST_LATER);
    json_decref(o);
    json_t *all = informer_list(w->inf, NULL, NULL, NULL);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    assert_int_equal(w->nevents, 0);
    assert_string_equal(list_rv(w), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_end_resumes),
        cmocka_unit_test(test_gone_relists),
        cmocka_unit_test(test_http_errors_relist_later),
        cmocka_unit_test(test_transport_failure_retries),
        cmocka_unit_test_setup_teardown(test_list_walks_every_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relist_reports_what_vanished, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relist_to_empty_deletes_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_page_keeps_the_old_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_first_list_is_not_synced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unfit_continue_token_fails_the_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_events_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_error_gone_relists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_error_other_relists_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_event_not_understood_relists_later, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
