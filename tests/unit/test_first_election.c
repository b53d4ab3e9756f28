/* test_first_election.c — when the first election may go on without the pods that do not
 * answer: never before the wait, never without a pod that may hold data, never with no pod. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "first_election.h"

#define LONG_AGO (FIRST_ELECTION_WAIT_MS + 1)

static struct election_pod up(const char *name)
{
    return (struct election_pod){.name = name, .answered = true, .age_ms = 5000, .claim = CLAIM_EMPTYDIR};
}

static struct election_pod pending(const char *name, int64_t age_ms, enum election_claim claim)
{
    return (struct election_pod){.name = name, .never_started = true, .age_ms = age_ms, .claim = claim};
}

static void test_every_pod_answers(void **state)
{
    (void)state;
    struct election_pod pods[] = {up("c-0"), up("c-1"), up("c-2")};
    char why[256];
    assert_true(first_election_may_go_on(pods, 3, false, why, sizeof(why)));
}

static void test_a_pending_pod_is_waited_for_until_the_bound_then_left_out(void **state)
{
    (void)state;
    char why[256];
    struct election_pod pods[] = {up("c-0"), up("c-1"), pending("c-2", 10000, CLAIM_EMPTYDIR)};
    assert_false(first_election_may_go_on(pods, 3, false, why, sizeof(why)));
    assert_string_equal(why, "waiting for c-2 (not up yet)");
    pods[2].age_ms = LONG_AGO;
    assert_true(first_election_may_go_on(pods, 3, false, why, sizeof(why)));
}

static void test_a_slow_pod_that_runs_is_always_waited_for(void **state)
{
    (void)state;
    char why[256];
    struct election_pod pods[] = {up("c-0"), pending("c-1", LONG_AGO * 10, CLAIM_EMPTYDIR)};
    pods[1].never_started = false; /* loading its data: merely slow */
    assert_false(first_election_may_go_on(pods, 2, false, why, sizeof(why)));
    assert_string_equal(why, "waiting for c-1 (its server ran and may hold data)");
}

static void test_after_a_first_primary_every_pod_is_waited_for(void **state)
{
    (void)state;
    char why[256];
    struct election_pod pods[] = {up("c-0"), pending("c-1", LONG_AGO, CLAIM_EMPTYDIR)};
    assert_false(first_election_may_go_on(pods, 2, true, why, sizeof(why)));
    assert_non_null(strstr(why, "had a primary"));
}

static void test_claims_from_before_the_cluster_keep_the_pod_in(void **state)
{
    (void)state;
    char why[256];
    struct election_pod pods[] = {up("c-0"), pending("c-1", LONG_AGO, CLAIM_UNKNOWN)};
    assert_true(first_election_needs_claim(&pods[1], false));
    assert_false(first_election_needs_claim(&pods[0], false));
    assert_false(first_election_may_go_on(pods, 2, false, why, sizeof(why)));
    pods[1].claim = CLAIM_OLD;
    assert_false(first_election_needs_claim(&pods[1], false));
    assert_false(first_election_may_go_on(pods, 2, false, why, sizeof(why)));
    assert_non_null(strstr(why, "older than the ValkeyCluster"));
    pods[1].claim = CLAIM_NEW;
    assert_true(first_election_may_go_on(pods, 2, false, why, sizeof(why)));
    pods[1].claim = CLAIM_MISSING;
    assert_true(first_election_may_go_on(pods, 2, false, why, sizeof(why)));
}

static void test_no_pod_answering_is_no_election(void **state)
{
    (void)state;
    char why[256];
    struct election_pod pods[] = {pending("c-0", LONG_AGO, CLAIM_EMPTYDIR), pending("c-1", LONG_AGO, CLAIM_EMPTYDIR)};
    assert_false(first_election_may_go_on(pods, 2, false, why, sizeof(why)));
    assert_string_equal(why, "no pod answers yet");
    assert_false(first_election_may_go_on(NULL, 0, false, why, sizeof(why)));
}

static void test_why_is_bounded(void **state)
{
    (void)state;
    char why[24];
    struct election_pod pods[] = {up("c-0"), pending("cache-with-a-long-name-1", 1, CLAIM_EMPTYDIR),
                                  pending("cache-with-a-long-name-2", 1, CLAIM_EMPTYDIR)};
    assert_false(first_election_may_go_on(pods, 3, false, why, sizeof(why)));
    assert_int_equal(strlen(why), sizeof(why) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pod_answers),
        cmocka_unit_test(test_a_pending_pod_is_waited_for_until_the_bound_then_left_out),
        cmocka_unit_test(test_a_slow_pod_that_runs_is_always_waited_for),
        cmocka_unit_test(test_after_a_first_primary_every_pod_is_waited_for),
        cmocka_unit_test(test_claims_from_before_the_cluster_keep_the_pod_in),
        cmocka_unit_test(test_no_pod_answering_is_no_election),
        cmocka_unit_test(test_why_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
