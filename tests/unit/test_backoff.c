/* test_backoff.c — unit tests for controller/backoff.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdbool.h>

#include "backoff.h"

/* controller-runtime's per-item limiter: 5 ms doubling to 1000 s. */
static const struct backoff_policy default_policy = {.base_ms = 5, .max_ms = 1000000};

static void test_growth_and_cap(void **state)
{
    (void)state;
    uint64_t rng = 1;
    int64_t want = 5;
    for (unsigned attempt = 0; attempt < 18; attempt++) {
        assert_int_equal(backoff_delay_ms(&default_policy, attempt, &rng), want);
        want *= 2;
    }
    /* 5 * 2^18 = 1310720 > 1000000: capped from there on. */
    assert_int_equal(backoff_delay_ms(&default_policy, 17, &rng), 655360);
    assert_int_equal(backoff_delay_ms(&default_policy, 18, &rng), 1000000);
    assert_int_equal(backoff_delay_ms(&default_policy, 19, &rng), 1000000);
    assert_int_equal(rng, 1); /* no jitter: the generator is not touched */
}

static void test_no_overflow(void **state)
{
    (void)state;
    uint64_t rng = 7;
    const unsigned attempts[] = {62, 63, 64, 65, 100, 1000, 100000, UINT_MAX - 1, UINT_MAX};
    for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++)
        assert_int_equal(backoff_delay_ms(&default_policy, attempts[i], &rng), 1000000);

    /* A cap near INT64_MAX: the doubling must stop at the cap, not wrap. */
    struct backoff_policy huge = {.base_ms = 3, .max_ms = INT64_MAX};
    int64_t prev = 0;
    for (unsigned attempt = 0; attempt <= 1000; attempt++) {
        int64_t d = backoff_delay_ms(&huge, attempt, &rng);
        assert_true(d >= prev);
        assert_true(d > 0);
        prev = d;
    }
    assert_int_equal(prev, INT64_MAX);
    assert_int_equal(backoff_delay_ms(&huge, 61, &rng), (int64_t)3 << 61);
    assert_int_equal(backoff_delay_ms(&huge, 62, &rng), INT64_MAX);

    /* Full jitter at the largest cap stays in range. */
    huge.jitter = 1.0;
    for (int i = 0; i < 1000; i++) {
        int64_t d = backoff_delay_ms(&huge, 1000, &rng);
        assert_true(d >= 0 && d <= INT64_MAX);
    }
}

static void test_odd_policies(void **state)
{
    (void)state;
    uint64_t rng = 0;
    /* base above the cap: the cap wins from the first attempt. */
    struct backoff_policy p = {.base_ms = 500, .max_ms = 100};
    assert_int_equal(backoff_delay_ms(&p, 0, &rng), 100);
    /* Zero or negative values mean no delay, not a negative one. */
    p = (struct backoff_policy){.base_ms = -5, .max_ms = 100};
    assert_int_equal(backoff_delay_ms(&p, 3, &rng), 0);
    p = (struct backoff_policy){.base_ms = 5, .max_ms = -1, .jitter = 0.5};
    assert_int_equal(backoff_delay_ms(&p, 3, &rng), 0);
    /* NaN or negative jitter counts as none; NULL rng disables jitter. */
    p = (struct backoff_policy){.base_ms = 8, .max_ms = 1000, .jitter = NAN};
    assert_int_equal(backoff_delay_ms(&p, 2, &rng), 32);
    p.jitter = -1.0;
    assert_int_equal(backoff_delay_ms(&p, 2, &rng), 32);
    p.jitter = 1.0;
    assert_int_equal(backoff_delay_ms(&p, 2, NULL), 32);
}

/* Draws n delays for attempt and checks they lie in [lo, hi]; returns min and max seen. */
static void draw(const struct backoff_policy *p, unsigned attempt, uint64_t *rng, int n,
                 int64_t lo, int64_t hi, int64_t *min, int64_t *max)
{
    *min = INT64_MAX;
    *max = INT64_MIN;
    for (int i = 0; i < n; i++) {
        int64_t d = backoff_delay_ms(p, attempt, rng);
        if (d < lo || d > hi)
            print_error("attempt %u: %lld not in [%lld, %lld]\n", attempt, (long long)d,
                        (long long)lo, (long long)hi);
        assert_true(d >= lo && d <= hi);
        if (d < *min)
            *min = d;
        if (d > *max)
            *max = d;
    }
}

static void test_jitter_bounds(void **state)
{
    (void)state;
    uint64_t rng = 42;
    int64_t min, max;

    /* Proportional: 25% jitter on 1000 ms gives [750, 1000], and spreads across it. */
    struct backoff_policy p = {.base_ms = 125, .max_ms = 100000, .jitter = 0.25};
    draw(&p, 3, &rng, 2000, 750, 1000, &min, &max);
    assert_true(min < 775);
    assert_true(max > 975);

    /* Full: [0, d]; the spread covers most of it. */
    p.jitter = 1.0;
    draw(&p, 3, &rng, 2000, 0, 1000, &min, &max);
    assert_true(min < 50);
    assert_true(max > 950);

    /* Jitter above 1 is full jitter, never a negative delay. */
    p.jitter = 3.0;
    draw(&p, 3, &rng, 2000, 0, 1000, &min, &max);

    /* Jitter applies after the cap: never above max_ms. */
    p = (struct backoff_policy){.base_ms = 5, .max_ms = 1000, .jitter = 0.5};
    draw(&p, 40, &rng, 2000, 500, 1000, &min, &max);
    assert_true(max > 990);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct backoff_policy p = {.base_ms = 10, .max_ms = 60000, .jitter = 0.8};
    uint64_t a = 12345, b = 12345, c = 54321;
    bool differs = false;
    for (unsigned i = 0; i < 200; i++) {
        int64_t da = backoff_delay_ms(&p, i % 16, &a);
        int64_t db = backoff_delay_ms(&p, i % 16, &b);
        int64_t dc = backoff_delay_ms(&p, i % 16, &c);
        assert_int_equal(da, db);
        if (da != dc)
            differs = true;
    }
    assert_true(differs);
    assert_int_equal(a, b);

    /* Seed 0 is a valid seed: the sequence is not stuck. */
    uint64_t z = 0;
    uint64_t r1 = backoff_rand(&z), r2 = backoff_rand(&z);
    assert_true(r1 != r2);
    assert_true(r1 != 0 || r2 != 0);
}

static void test_bucket_burst_then_rate(void **state)
{
    (void)state;
    /* controller-runtime's overall limiter: 10 per second, burst 100. */
    struct token_bucket b;
    assert_int_equal(token_bucket_init(&b, 10.0, 100), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(token_bucket_reserve(&b, 5000), 0);
    assert_int_equal(token_bucket_reserve(&b, 5000), 100);
    assert_int_equal(token_bucket_reserve(&b, 5000), 200);
    assert_int_equal(token_bucket_reserve(&b, 5000), 300);
    /* 100 ms later one token has come back; the debt of three is now two ahead. */
    assert_int_equal(token_bucket_reserve(&b, 5100), 300);
    /* Long idle refills to the burst, not beyond. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(token_bucket_reserve(&b, 100000), 0);
    assert_int_equal(token_bucket_reserve(&b, 100000), 100);
}

static void test_bucket_steady_rate(void **state)
{
    (void)state;
    struct token_bucket b;
    assert_int_equal(token_bucket_init(&b, 4.0, 1), 0); /* one token every 250 ms */
    assert_int_equal(token_bucket_reserve(&b, 0), 0);
    assert_int_equal(token_bucket_reserve(&b, 0), 250);
    assert_int_equal(token_bucket_reserve(&b, 100), 400);
    /* A caller that waits as told always finds its next token exactly then. */
    assert_int_equal(token_bucket_reserve(&b, 1000), 0);
    for (int64_t t = 1250; t < 10000; t += 250)
        assert_int_equal(token_bucket_reserve(&b, t), 0);
    /* Fractional intervals round the delay up, never down. */
    assert_int_equal(token_bucket_init(&b, 3.0, 1), 0); /* 333.333 ms */
    assert_int_equal(token_bucket_reserve(&b, 0), 0);
    assert_int_equal(token_bucket_reserve(&b, 0), 334);
    /* A clock that goes back earns nothing. */
    assert_int_equal(token_bucket_init(&b, 10.0, 1), 0);
    assert_int_equal(token_bucket_reserve(&b, 1000), 0);
    assert_int_equal(token_bucket_reserve(&b, 500), 600);
}

static void test_bucket_bounds(void **state)
{
    (void)state;
    struct token_bucket b = {.interval_us = 77};
    assert_int_equal(token_bucket_init(&b, 0.0, 10), -1);
    assert_int_equal(token_bucket_init(&b, -1.0, 10), -1);
    assert_int_equal(token_bucket_init(&b, NAN, 10), -1);
    assert_int_equal(token_bucket_init(&b, INFINITY, 10), -1);
    assert_int_equal(token_bucket_init(&b, 10.0, 0), -1);
    assert_int_equal(token_bucket_init(&b, 10.0, TOKEN_BUCKET_MAX_BURST + 1), -1);
    assert_int_equal(b.interval_us, 77); /* untouched on failure */

    /* Millions of reservations at the slowest rate never overflow: the delay saturates. */
    assert_int_equal(token_bucket_init(&b, TOKEN_BUCKET_MIN_RATE, 1), 0);
    int64_t prev = -1;
    for (int i = 0; i < 3000000; i++) {
        int64_t d = token_bucket_reserve(&b, INT64_MAX);
        assert_true(d >= prev);
        prev = d;
    }
    assert_true(prev > 0);
    assert_true(prev < INT64_MAX / 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growth_and_cap),      cmocka_unit_test(test_no_overflow),
        cmocka_unit_test(test_odd_policies),        cmocka_unit_test(test_jitter_bounds),
        cmocka_unit_test(test_deterministic),       cmocka_unit_test(test_bucket_burst_then_rate),
        cmocka_unit_test(test_bucket_steady_rate),  cmocka_unit_test(test_bucket_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
