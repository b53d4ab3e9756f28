/* test_cluster_status.c — unit tests for controller/cluster_status.c: the phase and the four
 * conditions of api.md from the facts a reconcile observed, lastTransitionTime kept while a
 * condition's status holds, never an empty message, and the "nothing to write" comparison. */
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

#include "cluster_status.h"

#define T0 "2026-11-24T10:00:00Z"
#define T1 "2026-11-24T10:05:00Z"
#define T2 "2026-11-24T10:10:00Z"
#define SELECTOR "app.kubernetes.io/name=valkey,app.kubernetes.io/instance=cache"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Statuses built by a test, freed by teardown so a failed assertion leaks nothing. */
#define KEPT_MAX 16
static json_t *kept[KEPT_MAX];
static size_t nkept;

static json_t *keep(json_t *v)
{
    assert_non_null(v);
    assert_true(nkept < KEPT_MAX);
    kept[nkept++] = v;
    return v;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nkept; i++)
        json_decref(kept[i]);
    nkept = 0;
    return 0;
}

static json_t *build(const json_t *old, const struct status_facts *f, const char *now)
{
    return keep(cluster_status_build(old, f, now));
}

/* Facts of a healthy three-pod cluster at generation 4. */
static struct status_facts healthy(void)
{
    struct status_facts f = {.generation = 4, .replicas = 3, .pods = 3, .ready = 3,
                             .selector = SELECTOR, .primary = "cache-0"};
    return f;
}

static const char *phase(const json_t *st)
{
    return json_string_value(json_object_get(st, "phase"));
}

static const json_t *cond(const json_t *st, const char *type)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0)
            return c;
    }
    print_error("no condition %s\n", type);
    fail();
    return NULL;
}

static const char *cond_field(const json_t *st, const char *type, const char *field)
{
    const char *v = json_string_value(json_object_get(cond(st, type), field));
    if (!v)
        print_error("condition %s has no string %s\n", type, field);
    assert_non_null(v);
    return v;
}

/* Checks one condition's status and reason. */
static void check_cond(const json_t *st, const char *type, const char *status, const char *reason)
{
    assert_string_equal(cond_field(st, type, "status"), status);
    assert_string_equal(cond_field(st, type, "reason"), reason);
}

/* The invariants every status must keep: exactly the four conditions of api.md, each with a
 * type, a True/False status, a reason, a non-empty message, a lastTransitionTime and the
 * status's observedGeneration; the counts and the selector. */
static void check_shape(const json_t *st, const struct status_facts *f)
{
    static const char *const types[] = {"Ready", "Progressing", "Degraded", "FailoverInProgress"};
    const json_t *conds = json_object_get(st, "conditions");
    assert_true(json_is_array(conds));
    assert_int_equal(json_array_size(conds), 4);
    for (size_t t = 0; t < 4; t++) {
        const json_t *c = cond(st, types[t]);
        const char *status = cond_field(st, types[t], "status");
        assert_true(strcmp(status, "True") == 0 || strcmp(status, "False") == 0);
        assert_true(cond_field(st, types[t], "reason")[0] != '\0');
        const char *msg = cond_field(st, types[t], "message");
        if (!msg[0])
            print_error("condition %s has an empty message\n", types[t]);
        assert_true(msg[0] != '\0');
        assert_true(cond_field(st, types[t], "lastTransitionTime")[0] != '\0');
        assert_true(json_is_integer(json_object_get(c, "observedGeneration")));
        assert_int_equal(json_integer_value(json_object_get(c, "observedGeneration")), f->generation);
    }
    assert_int_equal(json_integer_value(json_object_get(st, "observedGeneration")), f->generation);
    assert_int_equal(json_integer_value(json_object_get(st, "replicas")), f->replicas);
    assert_int_equal(json_integer_value(json_object_get(st, "readyReplicas")), f->ready);
    assert_string_equal(json_string_value(json_object_get(st, "selector")), f->selector ? f->selector : "");
    const json_t *primary = json_object_get(st, "primary");
    if (f->primary)
        assert_string_equal(json_string_value(primary), f->primary);
    else
        assert_true(!primary || json_is_null(primary));
    /* fields the failover engine owns are not written here */
    assert_null(json_object_get(st, "failover"));
    assert_null(json_object_get(st, "lastFailover"));
}

/* ---- phases ----------------------------------------------------------------------------- */

static void test_running(void **state)
{
    (void)state;
    struct status_facts f = healthy();
    json_t *st = build(NULL, &f, T0);
    check_shape(st, &f);
    assert_string_equal(phase(st), "Running");
    check_cond(st, "Ready", "True", "AllPodsReady");
    check_cond(st, "Progressing", "False", "Reconciled");
    check_cond(st, "Degraded", "False", "AsExpected");
    check_cond(st, "FailoverInProgress", "False", "NoFailover");
    assert_non_null(strstr(cond_field(st, "Ready", "message"), "cache-0"));
    assert_non_null(strstr(cond_field(st, "Ready", "message"), "3 of 3"));
    /* more pods than replicas (a scale-down in flight) is still all ready */
    f.pods = 4;
    f.ready = 4;
    st = build(NULL, &f, T0);
    assert_string_equal(phase(st), "Running");
}

static void test_pending(void **state)
{
    (void)state;
    struct status_facts f = healthy();
    f.pods = 0;
    f.ready = 0;
    f.primary = NULL;
    json_t *st = build(NULL, &f, T0);
    check_shape(st, &f);
    assert_string_equal(phase(st), "Pending");
    check_cond(st, "Ready", "False", "NotAllPodsReady");
    check_cond(st, "Progressing", "True", "Reconciling");
    check_cond(st, "Degraded", "False", "AsExpected");
    check_cond(st, "FailoverInProgress", "False", "NoFailover");
    assert_non_null(strstr(cond_field(st, "Ready", "message"), "0 of 3"));
}

static void test_creating(void **state)
{
    (void)state;
    /* pods exist, not all ready */
    struct status_facts f = healthy();
    f.ready = 1;
    json_t *st = build(NULL, &f, T0);
    check_shape(st, &f);
    assert_string_equal(phase(st), "Creating");
    check_cond(st, "Ready", "False", "NotAllPodsReady");
    check_cond(st, "Progressing", "True", "Reconciling");
    check_cond(st, "Degraded", "False", "AsExpected");

    /* all ready, but no primary elected yet */
    f = healthy();
    f.primary = NULL;
    st = build(NULL, &f, T0);
    check_shape(st, &f);
    assert_string_equal(phase(st), "Creating");
    check_cond(st, "Ready", "False", "NotAllPodsReady");

    /* fewer pods than replicas (a scale-up), all of them ready */
    f = healthy();
    f.replicas = 5;
    f.ready = 3;
    st = build(NULL, &f, T0);
    assert_string_equal(phase(st), "Creating");
    check_cond(st, "Ready", "False", "NotAllPodsReady");
}

static void test_degraded_invalid(void **state)
{
    (void)state;
    struct status_facts f = {.generation = 2, .replicas = 0, .selector = SELECTOR, .invalid = true,
                             .invalid_message = "ValkeyCluster.gungnir.dev \"cache\" is invalid: "
                                                "spec.replicas: Invalid value: 0"};
    json_t *st = build(NULL, &f, T0);
    check_shape(st, &f);
    assert_string_equal(phase(st), "Degraded");
    check_cond(st, "Ready", "False", "NotAllPodsReady");
    check_cond(st, "Progressing", "False", "InvalidSpec");
    check_cond(st, "Degraded", "True", "InvalidSpec");
    assert_string_equal(cond_field(st, "Degraded", "message"), f.invalid_message);

    /* invalid beats everything, even running pods and a failover */
    f = healthy();
    f.invalid = true;
    f.invalid_message = "spec.image: Required value";
    f.failover_in_progress = true;
    st = build(NULL, &f, T0);
    assert_string_equal(phase(st), "Degraded");
    check_cond(st, "Degraded", "True", "InvalidSpec");
}

static void test_degraded_blocked(void **state)
{
    (void)state;
    /* pods exist, progress is blocked */
    struct status_facts f = healthy();
    f.ready = 2;
    f.blocked_message = "Service cache exists and is controlled by another owner";
    json_t *st = build(NULL, &f, T0);
    check_shape(st, &f);
    assert_string_equal(phase(st), "Degraded");
    check_cond(st, "Degraded", "True", "Blocked");
    assert_string_equal(cond_field(st, "Degraded", "message"), f.blocked_message);
    check_cond(st, "Progressing", "True", "Reconciling");
    check_cond(st, "Ready", "False", "NotAllPodsReady");
}

/* The phase never contradicts the Degraded condition. reconcile.c reports a blocked write
 * (a foreign object in the way, an apply refused) with facts that count no pods: the cluster
 * is then Degraded, not Pending. */
static void test_blocked_before_pods_is_degraded(void **state)
{
    (void)state;
    struct status_facts f = {.generation = 1, .replicas = 3, .selector = SELECTOR,
                             .blocked_message = "Service cache exists and is controlled by another owner"};
    json_t *st = build(NULL, &f, T0);
    check_shape(st, &f);
    check_cond(st, "Degraded", "True", "Blocked");
    if (strcmp(phase(st), "Degraded") != 0)
        print_error("blocked with no pods: phase %s while condition Degraded is True\n", phase(st));
    assert_string_equal(phase(st), "Degraded");
}

static void test_failing_over(void **state)
{
    (void)state;
    struct status_facts f = healthy();
    f.ready = 2;
    f.primary = NULL;
    f.failover_in_progress = true;
    json_t *st = build(NULL, &f, T0);
    check_shape(st, &f);
    assert_string_equal(phase(st), "FailingOver");
    check_cond(st, "FailoverInProgress", "True", "Promoting");
    check_cond(st, "Ready", "False", "NotAllPodsReady");
    check_cond(st, "Progressing", "True", "Reconciling");
    check_cond(st, "Degraded", "False", "AsExpected");
    /* a failover wins over "all ready with a primary" and over "no pods" */
    f = healthy();
    f.failover_in_progress = true;
    st = build(NULL, &f, T0);
    assert_string_equal(phase(st), "FailingOver");
    check_cond(st, "Ready", "False", "NotAllPodsReady");
    f.pods = f.ready = 0;
    st = build(NULL, &f, T0);
    assert_string_equal(phase(st), "FailingOver");
}

/* ---- messages --------------------------------------------------------------------------- */

/* An empty message would be turned into null by the 1.20 API server in a merge patch and the
 * patch refused: every message has text, whatever the facts say. */
static void test_no_empty_message(void **state)
{
    (void)state;
    struct status_facts f = healthy();
    f.invalid = true;
    f.invalid_message = "";
    check_shape(build(NULL, &f, T0), &f);
    f.invalid_message = NULL;
    check_shape(build(NULL, &f, T0), &f);
    f = healthy();
    f.blocked_message = "";
    f.ready = 0;
    check_shape(build(NULL, &f, T0), &f);
    f = healthy();
    f.selector = NULL;
    f.primary = NULL;
    check_shape(build(NULL, &f, T0), &f);
}

/* ---- lastTransitionTime ----------------------------------------------------------------- */

static void test_transition_time_kept(void **state)
{
    (void)state;
    struct status_facts f = healthy();
    f.ready = 1;
    json_t *s0 = build(NULL, &f, T0); /* Creating */
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(s0, "conditions"), i),
                                                              "lastTransitionTime")),
                            T0);

    /* more pods ready, same statuses: every time stays T0 although the message changed */
    f.ready = 2;
    json_t *s1 = build(s0, &f, T1);
    assert_string_not_equal(cond_field(s1, "Ready", "message"), cond_field(s0, "Ready", "message"));
    assert_string_equal(cond_field(s1, "Ready", "lastTransitionTime"), T0);
    assert_string_equal(cond_field(s1, "Progressing", "lastTransitionTime"), T0);
    assert_string_equal(cond_field(s1, "Degraded", "lastTransitionTime"), T0);
    assert_string_equal(cond_field(s1, "FailoverInProgress", "lastTransitionTime"), T0);

    /* all ready: Ready and Progressing flip (T2), the others keep T0 */
    f.ready = 3;
    json_t *s2 = build(s1, &f, T2);
    assert_string_equal(phase(s2), "Running");
    assert_string_equal(cond_field(s2, "Ready", "lastTransitionTime"), T2);
    assert_string_equal(cond_field(s2, "Progressing", "lastTransitionTime"), T2);
    assert_string_equal(cond_field(s2, "Degraded", "lastTransitionTime"), T0);
    assert_string_equal(cond_field(s2, "FailoverInProgress", "lastTransitionTime"), T0);

    /* a reason change without a status change keeps the time: invalid spec while not ready
     * (Degraded False→True flips; Ready stays False) */
    f = healthy();
    f.ready = 1;
    json_t *c0 = build(NULL, &f, T0);
    f.invalid = true;
    f.invalid_message = "spec.replicas: Invalid value: 0";
    json_t *c1 = build(c0, &f, T1);
    assert_string_equal(cond_field(c1, "Ready", "lastTransitionTime"), T0);
    assert_string_equal(cond_field(c1, "Degraded", "lastTransitionTime"), T1);
    /* Progressing True/Reconciling -> False/InvalidSpec: a transition */
    assert_string_equal(cond_field(c1, "Progressing", "lastTransitionTime"), T1);
}

static void test_transition_time_odd_old_status(void **state)
{
    (void)state;
    struct status_facts f = healthy();
    /* an old condition without a time, one with another status, unknown types, no conditions */
    json_t *old = keep(json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:i}]}",
                                 "phase", "Running", "conditions", "type", "Ready", "status", "True",
                                 "type", "Degraded", "status", "True", "lastTransitionTime", T0,
                                 "type", "Foo", "status", "False", "lastTransitionTime", T0, "x", 1));
    json_t *st = build(old, &f, T1);
    check_shape(st, &f);
    assert_string_equal(cond_field(st, "Ready", "lastTransitionTime"), T1);    /* no old time */
    assert_string_equal(cond_field(st, "Degraded", "lastTransitionTime"), T1); /* True -> False */
    assert_string_equal(cond_field(st, "Progressing", "lastTransitionTime"), T1); /* new */
    json_t *empty = keep(json_object());
    st = build(empty, &f, T2);
    check_shape(st, &f);
    assert_string_equal(cond_field(st, "Ready", "lastTransitionTime"), T2);
    json_t *not_array = keep(json_pack("{s:s}", "conditions", "oops"));
    st = build(not_array, &f, T2);
    check_shape(st, &f);
}

/* ---- observedGeneration ----------------------------------------------------------------- */

static void test_observed_generation(void **state)
{
    (void)state;
    struct status_facts f = healthy();
    json_t *s0 = build(NULL, &f, T0);
    f.generation = 5;
    json_t *s1 = build(s0, &f, T1);
    check_shape(s1, &f); /* status and every condition say 5 */
    assert_false(cluster_status_unchanged(s0, s1));
    /* the times are kept across a generation bump with no status change */
    assert_string_equal(cond_field(s1, "Ready", "lastTransitionTime"), T0);
}

/* ---- cluster_status_unchanged ----------------------------------------------------------- */

static void test_unchanged(void **state)
{
    (void)state;
    struct status_facts f = healthy();
    json_t *s0 = build(NULL, &f, T0);
    /* the next reconcile, later, same facts: no write */
    json_t *s1 = build(s0, &f, T1);
    assert_true(cluster_status_unchanged(s0, s1));
    assert_true(cluster_status_unchanged(s0, s0));

    /* what the server stores carries fields this module does not own */
    json_t *stored = keep(json_deep_copy(s0));
    json_object_set_new(stored, "failover", json_pack("{s:i, s:b}", "epoch", 3, "inProgress", 0));
    json_object_set_new(stored, "lastFailover", json_pack("{s:s}", "to", "cache-1"));
    assert_true(cluster_status_unchanged(stored, s1));

    /* no old status: write */
    assert_false(cluster_status_unchanged(NULL, s1));
    json_t *empty = keep(json_object());
    assert_false(cluster_status_unchanged(empty, s1));

    /* a null primary equals an absent one */
    f.primary = NULL;
    f.ready = 1;
    json_t *n0 = build(NULL, &f, T0);
    assert_true(json_is_null(json_object_get(n0, "primary")));
    json_t *absent = keep(json_deep_copy(n0));
    json_object_del(absent, "primary");
    json_t *n1 = build(absent, &f, T1);
    assert_true(cluster_status_unchanged(absent, n1));
    /* ...but a primary that went away is a change */
    assert_false(cluster_status_unchanged(s0, n1));
}

/* Any field that differs means a write. */
static void test_changed_fields(void **state)
{
    (void)state;
    struct status_facts base = healthy();
    json_t *s0 = build(NULL, &base, T0);
    struct status_facts variants[6];
    for (size_t i = 0; i < 6; i++)
        variants[i] = base;
    variants[0].ready = 2;                    /* readyReplicas, phase, conditions */
    variants[1].replicas = 5;                 /* replicas */
    variants[2].primary = "cache-1";          /* primary and the Ready message */
    variants[3].selector = "app.kubernetes.io/instance=other"; /* selector */
    variants[4].generation = 9;               /* observedGeneration */
    variants[5].failover_in_progress = true;  /* phase and FailoverInProgress */
    for (size_t i = 0; i < 6; i++) {
        json_t *s = build(s0, &variants[i], T1);
        if (cluster_status_unchanged(s0, s))
            print_error("variant %zu reads as unchanged\n", i);
        assert_false(cluster_status_unchanged(s0, s));
        teardown(NULL); /* kept[] is small */
        s0 = build(NULL, &base, T0);
    }
    /* one condition message differs in the stored status */
    json_t *s1 = build(s0, &base, T1);
    json_t *stored = keep(json_deep_copy(s0));
    json_object_set_new(json_array_get(json_object_get(stored, "conditions"), 2), "message",
                        json_string("something else"));
    assert_false(cluster_status_unchanged(stored, s1));
    /* a lastTransitionTime differs */
    stored = keep(json_deep_copy(s0));
    json_object_set_new(json_array_get(json_object_get(stored, "conditions"), 0), "lastTransitionTime",
                        json_string(T2));
    json_t *s2 = build(NULL, &base, T0);
    assert_false(cluster_status_unchanged(stored, s2));
    /* a condition missing */
    stored = keep(json_deep_copy(s0));
    json_array_remove(json_object_get(stored, "conditions"), 3);
    assert_false(cluster_status_unchanged(stored, s1));
    /* a phase differs */
    stored = keep(json_deep_copy(s0));
    json_object_set_new(stored, "phase", json_string("Creating"));
    assert_false(cluster_status_unchanged(stored, s1));
}

/* ---- now ---------------------------------------------------------------------------------- */

static void test_now_format(void **state)
{
    (void)state;
    char buf[64];
    cluster_status_now(buf, sizeof(buf));
    /* 2026-11-24T16:20:00Z */
    assert_int_equal(strlen(buf), 20);
    for (size_t i = 0; i < 20; i++) {
        char c = buf[i];
        if (i == 4 || i == 7)
            assert_int_equal(c, '-');
        else if (i == 10)
            assert_int_equal(c, 'T');
        else if (i == 13 || i == 16)
            assert_int_equal(c, ':');
        else if (i == 19)
            assert_int_equal(c, 'Z');
        else
            assert_true(c >= '0' && c <= '9');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_running, teardown),
        cmocka_unit_test_teardown(test_pending, teardown),
        cmocka_unit_test_teardown(test_creating, teardown),
        cmocka_unit_test_teardown(test_degraded_invalid, teardown),
        cmocka_unit_test_teardown(test_degraded_blocked, teardown),
        cmocka_unit_test_teardown(test_blocked_before_pods_is_degraded, teardown),
        cmocka_unit_test_teardown(test_failing_over, teardown),
        cmocka_unit_test_teardown(test_no_empty_message, teardown),
        cmocka_unit_test_teardown(test_transition_time_kept, teardown),
        cmocka_unit_test_teardown(test_transition_time_odd_old_status, teardown),
        cmocka_unit_test_teardown(test_observed_generation, teardown),
        cmocka_unit_test_teardown(test_unchanged, teardown),
        cmocka_unit_test_teardown(test_changed_fields, teardown),
        cmocka_unit_test(test_now_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
