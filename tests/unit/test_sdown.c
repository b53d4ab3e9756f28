/* test_sdown.c — unit tests for controller/sdown.c (the SDOWN counter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "sdown.h"

#define RID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define RID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static enum sdown_state ok(struct sdown *s, const char *rid, long long off) { return sdown_observe(s, true, rid, off); }
static enum sdown_state bad(struct sdown *s) { return sdown_observe(s, false, NULL, -1); }

static void test_threshold_consecutive(void **state)
{
    (void)state;
    struct sdown s;
    sdown_init(&s, 3);
    assert_int_equal(ok(&s, RID_A, 100), SDOWN_UP);
    assert_int_equal(bad(&s), SDOWN_SUSPECT);
    assert_int_equal(bad(&s), SDOWN_SUSPECT);
    assert_int_equal(bad(&s), SDOWN_DOWN);
    assert_int_equal(bad(&s), SDOWN_DOWN); /* stays down while it fails */
    assert_int_equal(bad(&s), SDOWN_DOWN);
}

static void test_success_resets(void **state)
{
    (void)state;
    struct sdown s;
    sdown_init(&s, 3);
    assert_int_equal(ok(&s, RID_A, 100), SDOWN_UP);
    for (int round = 0; round < 5; round++) {
        assert_int_equal(bad(&s), SDOWN_SUSPECT);
        assert_int_equal(bad(&s), SDOWN_SUSPECT);
        assert_int_equal(ok(&s, RID_A, 100 + round), SDOWN_UP); /* never three in a row */
        assert_int_equal(s.failures, 0);
    }
    assert_int_equal(bad(&s), SDOWN_SUSPECT);
    assert_int_equal(bad(&s), SDOWN_SUSPECT);
    assert_int_equal(bad(&s), SDOWN_DOWN);
    /* a plain outage (same run_id, offset not back) that ends: up again */
    assert_int_equal(ok(&s, RID_A, 200), SDOWN_UP);
    assert_int_equal(bad(&s), SDOWN_SUSPECT);
}

static void test_threshold_one_and_bounds(void **state)
{
    (void)state;
    struct sdown s;
    sdown_init(&s, 1);
    assert_int_equal(ok(&s, RID_A, 1), SDOWN_UP);
    assert_int_equal(bad(&s), SDOWN_DOWN);
    assert_int_equal(ok(&s, RID_A, 1), SDOWN_UP);
    assert_int_equal(bad(&s), SDOWN_DOWN);
    /* a threshold below 1 acts as 1 */
    sdown_init(&s, 0);
    assert_int_equal(bad(&s), SDOWN_DOWN);
    sdown_init(&s, -7);
    assert_int_equal(bad(&s), SDOWN_DOWN);
    /* a failure before any answer counts too */
    sdown_init(&s, 2);
    assert_int_equal(bad(&s), SDOWN_SUSPECT);
    assert_int_equal(bad(&s), SDOWN_DOWN);
}

static void test_run_id_change_is_down_and_stays(void **state)
{
    (void)state;
    struct sdown s;
    sdown_init(&s, 3);
    assert_int_equal(ok(&s, RID_A, 5000), SDOWN_UP);
    assert_int_equal(ok(&s, RID_A, 6000), SDOWN_UP);
    /* restarted: answers, new run_id — down at once, with no failed probe */
    assert_int_equal(ok(&s, RID_B, 6000), SDOWN_DOWN);
    assert_true(s.restarted);
    /* stays down whatever it answers next */
    assert_int_equal(ok(&s, RID_B, 7000), SDOWN_DOWN);
    assert_int_equal(ok(&s, RID_A, 8000), SDOWN_DOWN);
    assert_int_equal(bad(&s), SDOWN_DOWN);
    assert_int_equal(ok(&s, RID_B, 9000), SDOWN_DOWN);
    /* a new run_id after some failures (below the threshold) */
    sdown_init(&s, 3);
    assert_int_equal(ok(&s, RID_A, 10), SDOWN_UP);
    assert_int_equal(bad(&s), SDOWN_SUSPECT);
    assert_int_equal(ok(&s, RID_B, 0), SDOWN_DOWN);
}

static void test_offset_back_is_down(void **state)
{
    (void)state;
    struct sdown s;
    sdown_init(&s, 3);
    assert_int_equal(ok(&s, RID_A, 1000), SDOWN_UP);
    assert_int_equal(ok(&s, RID_A, 1000), SDOWN_UP); /* equal is fine */
    assert_int_equal(ok(&s, RID_A, 2000), SDOWN_UP);
    assert_int_equal(ok(&s, RID_A, 1999), SDOWN_DOWN); /* same run_id, data went back */
    assert_int_equal(ok(&s, RID_A, 5000), SDOWN_DOWN);
    /* an unknown offset (-1) is no evidence either way */
    sdown_init(&s, 3);
    assert_int_equal(ok(&s, RID_A, 1000), SDOWN_UP);
    assert_int_equal(ok(&s, RID_A, -1), SDOWN_UP);
    assert_int_equal(ok(&s, RID_A, 1000), SDOWN_UP);
    /* an empty restart: new run_id and offset 0 */
    sdown_init(&s, 3);
    assert_int_equal(ok(&s, RID_A, 123456), SDOWN_UP);
    assert_int_equal(ok(&s, RID_B, 0), SDOWN_DOWN);
}

static void test_first_answer_is_baseline(void **state)
{
    (void)state;
    struct sdown s;
    sdown_init(&s, 3);
    assert_int_equal(s.offset, -1);
    assert_string_equal(s.run_id, "");
    /* whatever the first answer shows is accepted */
    assert_int_equal(ok(&s, RID_B, 777), SDOWN_UP);
    assert_string_equal(s.run_id, RID_B);
    assert_int_equal(s.offset, 777);
    assert_int_equal(ok(&s, RID_A, 777), SDOWN_DOWN); /* ... and later ones are compared to it */
    /* failures before the first answer do not set a baseline */
    sdown_init(&s, 5);
    assert_int_equal(bad(&s), SDOWN_SUSPECT);
    assert_int_equal(ok(&s, RID_A, 0), SDOWN_UP);
    assert_int_equal(ok(&s, RID_A, 50), SDOWN_UP);
    assert_int_equal(ok(&s, RID_A, 49), SDOWN_DOWN);
    /* answers without a run_id: only the offset is checked; a later run_id becomes the baseline */
    sdown_init(&s, 3);
    assert_int_equal(ok(&s, "", 10), SDOWN_UP);
    assert_int_equal(ok(&s, NULL, 20), SDOWN_UP);
    assert_int_equal(ok(&s, RID_A, 30), SDOWN_UP);
    assert_int_equal(ok(&s, RID_A, 40), SDOWN_UP);
    assert_int_equal(ok(&s, RID_B, 50), SDOWN_DOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_consecutive),
        cmocka_unit_test(test_success_resets),
        cmocka_unit_test(test_threshold_one_and_bounds),
        cmocka_unit_test(test_run_id_change_is_down_and_stays),
        cmocka_unit_test(test_offset_back_is_down),
        cmocka_unit_test(test_first_answer_is_baseline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
