/* test_leader.c — Lease-based leader election (controller/leader.c) against the fake kube_api
 * (tests/support/fake_api.h), with the clock given by the test: which requests each round
 * makes (method, path, the Lease's fields, the resourceVersion carried), when a candidate may
 * take a Lease, and when the fence goes up. No thread, no API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "fake_api.h"
#include "leader.h"

#define NS "gungnir-system"
#define LEASES "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases"
#define LEASE LEASES "/gungnir-leader"
#define ME "op-a_0000beef"
#define OTHER "op-b_0000cafe"
#define T0 "2026-11-24T16:20:00.000000Z"
#define T1 "2026-11-24T16:20:02.000000Z"
#define T2 "2026-11-24T16:20:16.000000Z"
#define SEC 1000 /* ms */

struct world {
    struct fake_api fake;
    struct leader *l;
};

/* The test's time 0 on the monotonic clock: the fence compares with the real clock. */
static int64_t base;

static int setup(void **state)
{
    base = clock_now_ms();
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    fake_api_init(&w->fake);
    struct leader_options o = {.namespace_ = NS, .name = "gungnir-leader", .identity = ME,
                               .lease_duration_s = 15, .renew_deadline_s = 10, .retry_period_s = 2};
    w->l = leader_new(&o, &w->fake.api);
    assert_non_null(w->l);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    assert_false(w->fake.overflow);
    leader_stop(w->l);
    fake_api_free(&w->fake);
    free(w);
    return 0;
}

/* A Lease as the API server returns it (new): holder ("" for none), renewTime, resourceVersion,
 * leaseTransitions, leaseDurationSeconds. */
static json_t *lease(const char *holder, const char *renew, const char *rv, int transitions, int duration)
{
    json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:i, s:s, s:s, s:i}}", "apiVersion",
                          "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", "gungnir-leader",
                          "namespace", NS, "resourceVersion", rv, "spec", "holderIdentity", holder,
                          "leaseDurationSeconds", duration, "acquireTime", "2026-11-24T16:00:00.000000Z",
                          "renewTime", renew, "leaseTransitions", transitions);
    assert_non_null(o);
    return o;
}

/* The Lease GET answers this (once). */
static void lease_is(struct world *w, json_t *obj) { fake_api_answer(&w->fake, "GET", LEASE, 200, obj, 1); }

/* One round at now_ms with wall time wall, then the fence as the thread would settle it. */
static enum leader_result round_at(struct world *w, int64_t now_ms, const char *wall)
{
    enum leader_result r = leader_attempt(w->l, base + now_ms, wall);
    leader_settle(w->l, r, base + now_ms);
    return r;
}

static const json_t *spec_of(const struct fake_call *c) { return json_object_get(c->body, "spec"); }

static const char *str_at(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static json_int_t int_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static bool fenced(struct world *w) { return fence_closed(leader_fence(w->l)); }

/* Leads at 0 s: our own Lease renewed once (resourceVersion "10"). */
static void lead(struct world *w)
{
    lease_is(w, lease(ME, T0, "10", 1, 15));
    assert_int_equal(round_at(w, 0, T0), LEADER_HELD);
    assert_false(fenced(w));
    fake_api_clear_calls(&w->fake);
}

/* ---- acquiring -------------------------------------------------------------------------- */

/* No Lease yet (GET 404): one POST to the collection naming us, with our duration, acquireTime
 * and renewTime now and no transitions; the fence lifts. */
static void test_absent_lease_is_created(void **state)
{
    struct world *w = *state;
    assert_true(fenced(w));
    assert_int_equal(round_at(w, 0, T0), LEADER_HELD);

    assert_int_equal(w->fake.ncalls, 2);
    assert_string_equal(w->fake.calls[0].method, "GET");
    assert_string_equal(w->fake.calls[0].path, LEASE);
    const struct fake_call *c = &w->fake.calls[1];
    assert_string_equal(c->method, "POST");
    assert_string_equal(c->path, LEASES);
    assert_string_equal(str_at(c->body, "kind"), "Lease");
    assert_string_equal(str_at(c->body, "apiVersion"), "coordination.k8s.io/v1");
    const json_t *md = json_object_get(c->body, "metadata");
    assert_string_equal(str_at(md, "name"), "gungnir-leader");
    assert_string_equal(str_at(md, "namespace"), NS);
    assert_string_equal(str_at(spec_of(c), "holderIdentity"), ME);
    assert_int_equal(int_at(spec_of(c), "leaseDurationSeconds"), 15);
    assert_string_equal(str_at(spec_of(c), "acquireTime"), T0);
    assert_string_equal(str_at(spec_of(c), "renewTime"), T0);
    assert_int_equal(int_at(spec_of(c), "leaseTransitions"), 0);
    assert_false(fenced(w));
    assert_true(leader_is_leader(w->l));
    assert_int_equal(w->fake.api.writes, 1);
}

/* Another candidate created the Lease between our GET and our POST: 409, we do not lead. */
static void test_create_conflict_is_not_held(void **state)
{
    struct world *w = *state;
    fake_api_answer(&w->fake, "POST", LEASES, 409, NULL, 1);
    assert_int_equal(round_at(w, 0, T0), LEADER_NOT_HELD);
    assert_int_equal(fake_api_count(&w->fake, "POST", LEASES), 1);
    assert_true(fenced(w));
}

/* Our own Lease: a PUT of the object read, carrying its resourceVersion, with renewTime now;
 * the holder, acquireTime and leaseTransitions stay as they were. */
static void test_own_lease_is_renewed(void **state)
{
    struct world *w = *state;
    lease_is(w, lease(ME, T0, "4711", 3, 15));
    assert_int_equal(round_at(w, 2 * SEC, T1), LEADER_HELD);

    assert_int_equal(fake_api_writes(&w->fake), 1);
    const struct fake_call *c = fake_api_find(&w->fake, "PUT", LEASE, 0);
    assert_non_null(c);
    assert_string_equal(c->path, LEASE);
    assert_string_equal(str_at(json_object_get(c->body, "metadata"), "resourceVersion"), "4711");
    assert_string_equal(str_at(spec_of(c), "holderIdentity"), ME);
    assert_string_equal(str_at(spec_of(c), "renewTime"), T1);
    assert_string_equal(str_at(spec_of(c), "acquireTime"), "2026-11-24T16:00:00.000000Z");
    assert_int_equal(int_at(spec_of(c), "leaseTransitions"), 3);
    assert_int_equal(int_at(spec_of(c), "leaseDurationSeconds"), 15);
    assert_false(fenced(w));
}

/* A Lease held and renewed by another: never written, however long we watch, as long as its
 * record keeps changing within its duration. */
static void test_live_lease_of_another_is_left_alone(void **state)
{
    struct world *w = *state;
    lease_is(w, lease(OTHER, "2026-11-24T16:19:58.000000Z", "20", 1, 15));
    assert_int_equal(round_at(w, 0, T0), LEADER_NOT_HELD);
    lease_is(w, lease(OTHER, "2026-11-24T16:20:10.000000Z", "21", 1, 15)); /* renewed */
    assert_int_equal(round_at(w, 14 * SEC, T1), LEADER_NOT_HELD);
    lease_is(w, lease(OTHER, "2026-11-24T16:20:10.000000Z", "21", 1, 15)); /* 15 s unchanged: not yet */
    assert_int_equal(round_at(w, 29 * SEC, T2), LEADER_NOT_HELD);

    assert_int_equal(fake_api_count(&w->fake, "GET", LEASE), 3);
    assert_int_equal(fake_api_writes(&w->fake), 0);
    assert_true(fenced(w));
}

/* Another's record unchanged for more than its duration by our clock: taken over with a PUT
 * naming us, leaseTransitions + 1, acquireTime and renewTime now, our duration, and the
 * resourceVersion read (so two candidates cannot both take it). */
static void test_expired_lease_is_taken_over(void **state)
{
    struct world *w = *state;
    lease_is(w, lease(OTHER, T0, "30", 4, 15));
    assert_int_equal(round_at(w, 1 * SEC, T0), LEADER_NOT_HELD);
    lease_is(w, lease(OTHER, T0, "30", 4, 15));
    assert_int_equal(round_at(w, 16 * SEC + 1, T2), LEADER_HELD);

    assert_int_equal(fake_api_writes(&w->fake), 1);
    const struct fake_call *c = fake_api_find(&w->fake, "PUT", LEASE, 0);
    assert_non_null(c);
    assert_string_equal(str_at(json_object_get(c->body, "metadata"), "resourceVersion"), "30");
    assert_string_equal(str_at(spec_of(c), "holderIdentity"), ME);
    assert_int_equal(int_at(spec_of(c), "leaseTransitions"), 5);
    assert_string_equal(str_at(spec_of(c), "acquireTime"), T2);
    assert_string_equal(str_at(spec_of(c), "renewTime"), T2);
    assert_int_equal(int_at(spec_of(c), "leaseDurationSeconds"), 15);
    assert_false(fenced(w));
}

/* The holder's own leaseDurationSeconds counts, not ours: a 40 s Lease is not taken at 20 s. */
static void test_expiry_follows_the_holders_duration(void **state)
{
    struct world *w = *state;
    lease_is(w, lease(OTHER, T0, "31", 0, 40));
    assert_int_equal(round_at(w, 0, T0), LEADER_NOT_HELD);
    lease_is(w, lease(OTHER, T0, "31", 0, 40));
    assert_int_equal(round_at(w, 20 * SEC, T1), LEADER_NOT_HELD);
    lease_is(w, lease(OTHER, T0, "31", 0, 40));
    assert_int_equal(round_at(w, 41 * SEC, T2), LEADER_HELD);
    assert_int_equal(fake_api_count(&w->fake, "PUT", LEASE), 1);
}

/* A released Lease (holderIdentity "") is taken at once, without waiting a duration. */
static void test_free_lease_is_taken_at_once(void **state)
{
    struct world *w = *state;
    lease_is(w, lease("", T0, "40", 2, 1));
    assert_int_equal(round_at(w, 0, T1), LEADER_HELD);
    const struct fake_call *c = fake_api_find(&w->fake, "PUT", LEASE, 0);
    assert_non_null(c);
    assert_string_equal(str_at(spec_of(c), "holderIdentity"), ME);
    assert_int_equal(int_at(spec_of(c), "leaseTransitions"), 3);
    assert_string_equal(str_at(json_object_get(c->body, "metadata"), "resourceVersion"), "40");
}

/* A Lease read without a resourceVersion is never written (the PUT would be unconditional). */
static void test_no_resource_version_no_write(void **state)
{
    struct world *w = *state;
    json_t *o = lease("", T0, "x", 0, 15);
    json_object_del(json_object_get(o, "metadata"), "resourceVersion");
    lease_is(w, o);
    assert_int_equal(round_at(w, 0, T0), LEADER_FAILED);
    assert_int_equal(fake_api_writes(&w->fake), 0);
    assert_true(fenced(w));
}

/* ---- losing it -------------------------------------------------------------------------- */

/* Our renewal answered 409: another candidate changed the Lease after we read it. We lost the
 * race: the fence goes up at once, not at the renew deadline. */
static void test_update_conflict_fences_at_once(void **state)
{
    struct world *w = *state;
    lead(w);
    lease_is(w, lease(ME, T0, "11", 1, 15));
    fake_api_answer(&w->fake, "PUT", LEASE, 409, NULL, 1);
    assert_int_equal(round_at(w, 2 * SEC, T1), LEADER_NOT_HELD);
    assert_int_equal(fake_api_count(&w->fake, "PUT", LEASE), 1);
    assert_true(fenced(w));
    assert_false(leader_is_leader(w->l));
}

/* The Lease names another live holder while we lead (it was taken from us): fenced at once. */
static void test_lease_of_another_fences_a_leader(void **state)
{
    struct world *w = *state;
    lead(w);
    lease_is(w, lease(OTHER, T1, "12", 2, 15));
    assert_int_equal(round_at(w, 2 * SEC, T1), LEADER_NOT_HELD);
    assert_int_equal(fake_api_writes(&w->fake), 0);
    assert_true(fenced(w));
}

/* Renewals that fail (no answer, 500) keep the leadership until renew_deadline (10 s) has
 * passed since the last good one, then the fence goes up. */
static void test_failed_renewals_fence_after_the_deadline(void **state)
{
    struct world *w = *state;
    lead(w); /* renewed at 0 s */
    fake_api_answer(&w->fake, "GET", LEASE, -1, NULL, 1);
    assert_int_equal(round_at(w, 2 * SEC, T1), LEADER_FAILED);
    assert_false(fenced(w));
    fake_api_answer(&w->fake, "GET", LEASE, 500, NULL, 1);
    assert_int_equal(round_at(w, 10 * SEC, T1), LEADER_FAILED);
    assert_false(fenced(w)); /* exactly the deadline: still leading */
    lease_is(w, lease(ME, T0, "13", 1, 15));
    fake_api_answer(&w->fake, "PUT", LEASE, 503, NULL, 1);
    assert_int_equal(round_at(w, 10 * SEC + 1, T2), LEADER_FAILED);
    assert_true(fenced(w));
    /* A later renewal that works leads again. */
    lease_is(w, lease(ME, T0, "14", 1, 15));
    assert_int_equal(round_at(w, 12 * SEC, T2), LEADER_HELD);
    assert_false(fenced(w));
}

/* The deadline counts from the start of the last good renewal, not from when it returned. */
static void test_deadline_counts_from_the_attempts_start(void **state)
{
    struct world *w = *state;
    lease_is(w, lease(ME, T0, "15", 1, 15));
    enum leader_result r = leader_attempt(w->l, base, T0);
    leader_settle(w->l, r, base + 3 * SEC); /* the renewal took 3 s */
    assert_false(fenced(w));
    fake_api_answer(&w->fake, "GET", LEASE, -1, NULL, 1);
    r = leader_attempt(w->l, base + 9 * SEC, T1);
    leader_settle(w->l, r, base + 10 * SEC + 1);
    assert_true(fenced(w));
}

/* A process paused (SIGSTOP, a frozen VM) past its renew deadline is fenced the moment it runs
 * again, by the clock alone: no election round has to run first, so its workers cannot send
 * one more write or Valkey command in between. */
static void test_a_paused_leader_is_fenced_by_the_clock_alone(void **state)
{
    struct world *w = *state;
    lease_is(w, lease(ME, T0, "18", 1, 15));
    /* The last good renewal started 10 s + 50 ms ago (by the real clock); nothing ran since. */
    assert_int_equal(round_at(w, -(10 * SEC + 50), T0), LEADER_HELD);
    assert_true(fenced(w));
    assert_false(leader_is_leader(w->l));
    /* A renewal that started just now opens it again. */
    lease_is(w, lease(ME, T0, "19", 1, 15));
    assert_int_equal(round_at(w, 0, T1), LEADER_HELD);
    assert_false(fenced(w));
}

/* ---- releasing -------------------------------------------------------------------------- */

/* Stopping gives our Lease up: holder "", duration 1 s, renewTime now, resourceVersion kept;
 * the fence is up before the write. */
static void test_release_clears_the_holder(void **state)
{
    struct world *w = *state;
    lead(w);
    lease_is(w, lease(ME, T0, "16", 1, 15));
    assert_int_equal(leader_release(w->l, T2), 0);
    assert_true(fenced(w));
    const struct fake_call *c = fake_api_find(&w->fake, "PUT", LEASE, 0);
    assert_non_null(c);
    assert_string_equal(str_at(spec_of(c), "holderIdentity"), "");
    assert_int_equal(int_at(spec_of(c), "leaseDurationSeconds"), 1);
    assert_string_equal(str_at(spec_of(c), "renewTime"), T2);
    assert_string_equal(str_at(json_object_get(c->body, "metadata"), "resourceVersion"), "16");
}

/* A Lease that already names another is not ours to release: no write. */
static void test_release_leaves_anothers_lease(void **state)
{
    struct world *w = *state;
    lease_is(w, lease(OTHER, T0, "17", 1, 15));
    assert_int_equal(leader_release(w->l, T2), 0);
    assert_int_equal(fake_api_writes(&w->fake), 0);
    fake_api_answer(&w->fake, "GET", LEASE, -1, NULL, 1);
    assert_int_equal(leader_release(w->l, T2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_absent_lease_is_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_conflict_is_not_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_lease_is_renewed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_lease_of_another_is_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_lease_is_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_follows_the_holders_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_lease_is_taken_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_resource_version_no_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_conflict_fences_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_of_another_fences_a_leader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_renewals_fence_after_the_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_counts_from_the_attempts_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_paused_leader_is_fenced_by_the_clock_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_clears_the_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_leaves_anothers_lease, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
