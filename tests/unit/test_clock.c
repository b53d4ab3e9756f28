/* test_clock.c — unit tests for shared/clock.c: the monotonic readings never go back and agree
 * with each other, deadlines are normalised and clamped, and RFC 3339 text is exact for known
 * instants, every fraction width, and refuses what it cannot write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define NS_PER_S 1000000000L

/* t (a clock_deadline answer) minus now on CLOCK_MONOTONIC, in ms. */
static int64_t ms_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

static void test_monotonic(void **state)
{
    (void)state;
    int64_t t0 = clock_now_ms();
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 30 * 1000000L};
    nanosleep(&pause, NULL);
    int64_t t1 = clock_now_ms();
    assert_true(t1 - t0 >= 30);
    assert_true(t1 - t0 < 5000);
    for (int i = 0; i < 1000; i++) {
        int64_t t = clock_now_ms();
        assert_true(t >= t1);
        t1 = t;
    }
    int64_t n1 = clock_now_ns();
    for (int i = 0; i < 1000; i++) {
        int64_t n = clock_now_ns();
        assert_true(n >= n1);
        n1 = n;
    }
}

static void test_ms_and_ns_agree(void **state)
{
    (void)state;
    int64_t ms = clock_now_ms();
    int64_t ns = clock_now_ns();
    int64_t ms2 = clock_now_ms();
    assert_true(ns / 1000000 >= ms);
    assert_true(ns / 1000000 <= ms2);
}

static void test_deadline(void **state)
{
    (void)state;
    struct timespec d = clock_deadline(1500);
    assert_true(d.tv_nsec >= 0 && d.tv_nsec < NS_PER_S);
    int64_t left = ms_until(&d);
    assert_true(left > 1000 && left <= 1500);

    /* 999 ms more than any tv_nsec: the carry must land in tv_sec. */
    for (int i = 0; i < 100; i++) {
        d = clock_deadline(999);
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < NS_PER_S);
    }

    d = clock_deadline(0);
    assert_true(ms_until(&d) <= 0);
    d = clock_deadline(-5000); /* counts as 0: not in the past */
    assert_true(ms_until(&d) > -1000);
    assert_true(d.tv_nsec >= 0 && d.tv_nsec < NS_PER_S);

    d = clock_deadline(INT64_MAX); /* clamped to 2^31 s */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    assert_true((int64_t)(d.tv_sec - now.tv_sec) <= ((int64_t)1 << 31));
    assert_true((int64_t)(d.tv_sec - now.tv_sec) >= ((int64_t)1 << 31) - 1);
}

static void test_rfc3339_known(void **state)
{
    (void)state;
    char buf[CLOCK_RFC3339_MAX];
    struct timespec epoch = {0, 0};
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &epoch, 0), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");

    struct timespec t = {1764001200, 123456789}; /* 2025-11-24T16:20:00.123456789Z */
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &t, 0), 0);
    assert_string_equal(buf, "2025-11-24T16:20:00Z");
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &t, 1), 0);
    assert_string_equal(buf, "2025-11-24T16:20:00.1Z");
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &t, 3), 0);
    assert_string_equal(buf, "2025-11-24T16:20:00.123Z");
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &t, 6), 0);
    assert_string_equal(buf, "2025-11-24T16:20:00.123456Z");
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &t, 9), 0);
    assert_string_equal(buf, "2025-11-24T16:20:00.123456789Z");
    assert_int_equal(strlen(buf) + 1, 31); /* CLOCK_RFC3339_MAX has room */

    /* Leading zeros of the fraction are kept; truncated, never rounded up to the next second. */
    struct timespec z = {1764001200, 5000000};
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &z, 3), 0);
    assert_string_equal(buf, "2025-11-24T16:20:00.005Z");
    struct timespec nine = {1764001199, 999999999};
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &nine, 3), 0);
    assert_string_equal(buf, "2025-11-24T16:19:59.999Z");

    /* The end of a leap year, and the last second RFC 3339 can write. */
    struct timespec leap = {1735689599, 0};
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &leap, 0), 0);
    assert_string_equal(buf, "2024-12-31T23:59:59Z");
    struct timespec last = {253402300799, 0};
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &last, 0), 0);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
}

static void test_rfc3339_refusals(void **state)
{
    (void)state;
    char buf[CLOCK_RFC3339_MAX];
    struct timespec t = {1764001200, 123456789};

    /* Exactly enough room, then one byte short: "" and -1, never a cut timestamp. */
    assert_int_equal(clock_rfc3339(buf, 21, &t, 0), 0);
    assert_string_equal(buf, "2025-11-24T16:20:00Z");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(clock_rfc3339(buf, 20, &t, 0), -1);
    assert_string_equal(buf, "");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(clock_rfc3339(buf, 27, &t, 6), -1);
    assert_string_equal(buf, "");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(clock_rfc3339(buf, 10, &t, 6), -1);
    assert_string_equal(buf, "");
    assert_int_equal(clock_rfc3339(buf, 0, &t, 0), -1);
    assert_int_equal(clock_rfc3339(NULL, 10, &t, 0), -1);

    assert_int_equal(clock_rfc3339(buf, sizeof(buf), NULL, 0), -1);
    assert_string_equal(buf, "");
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &t, -1), -1);
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &t, 10), -1);
    struct timespec bad = {0, NS_PER_S};
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &bad, 0), -1);
    bad.tv_nsec = -1;
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &bad, 0), -1);
    struct timespec far = {253402300800, 0}; /* year 10000 */
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &far, 0), -1);
    assert_string_equal(buf, "");
    struct timespec before = {-62167219201, 0}; /* the second before 0000-01-01 */
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &before, 0), -1);
}

/* 2026-11-24T16:20:00Z plus digits fraction digits: shape only (the value is now). */
static void assert_shape(const char *s, int digits)
{
    size_t len = 20 + (digits ? (size_t)digits + 1 : 0);
    assert_int_equal(strlen(s), len);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (i == 4 || i == 7)
            assert_int_equal(c, '-');
        else if (i == 10)
            assert_int_equal(c, 'T');
        else if (i == 13 || i == 16)
            assert_int_equal(c, ':');
        else if (i == 19 && digits)
            assert_int_equal(c, '.');
        else if (i == len - 1)
            assert_int_equal(c, 'Z');
        else
            assert_true(c >= '0' && c <= '9');
    }
}

static void test_parse_rfc3339(void **state)
{
    (void)state;
    int64_t ms = 7;
    assert_int_equal(clock_parse_rfc3339("1970-01-01T00:00:01Z", &ms), 0);
    assert_int_equal(ms, 1000);
    assert_int_equal(clock_parse_rfc3339("2026-11-24T16:20:00Z", &ms), 0);
    assert_int_equal(ms, 1795537200000LL);
    assert_int_equal(clock_parse_rfc3339("2026-11-24T16:20:00.123456Z", &ms), 0);
    assert_int_equal(ms % 1000, 123);
    assert_int_equal(clock_parse_rfc3339("2026-11-24T16:20:00.5Z", &ms), 0);
    assert_int_equal(ms % 1000, 500);
    /* A round trip through clock_rfc3339. */
    struct timespec t = {1795537200, 250000000};
    char buf[CLOCK_RFC3339_MAX];
    assert_int_equal(clock_rfc3339(buf, sizeof(buf), &t, 3), 0);
    assert_int_equal(clock_parse_rfc3339(buf, &ms), 0);
    assert_int_equal(ms, 1795537200250LL);
    const char *bad[] = {"", "2026-11-24", "2026-11-24T16:20:00", "2026-11-24T16:20:00+01:00", "2026-11-24T16:20:00.Z",
                         "2026-11-24T16:20:00.1234567890Z", "2026-11-24 16:20:00Z", "2026-11-24T16:20:00Zjunk"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = 7;
        assert_int_equal(clock_parse_rfc3339(bad[i], &ms), -1);
        assert_int_equal(ms, 7);
    }
    assert_int_equal(clock_parse_rfc3339(NULL, &ms), -1);
    assert_true(clock_wall_ms() > 1795537200000LL - 86400000LL * 366 * 2);
}

static void test_wall(void **state)
{
    (void)state;
    struct timespec now = clock_wall_now();
    assert_true(now.tv_sec > 1700000000); /* after 2023 */
    assert_true(now.tv_nsec >= 0 && now.tv_nsec < NS_PER_S);

    char buf[CLOCK_RFC3339_MAX];
    int widths[] = {0, 3, 6};
    for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        assert_int_equal(clock_wall_rfc3339(buf, sizeof(buf), widths[i]), 0);
        assert_shape(buf, widths[i]);
    }
    assert_int_equal(clock_wall_rfc3339(buf, 5, 0), -1);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic),     cmocka_unit_test(test_ms_and_ns_agree),
        cmocka_unit_test(test_deadline),      cmocka_unit_test(test_rfc3339_known),
        cmocka_unit_test(test_rfc3339_refusals), cmocka_unit_test(test_wall),
        cmocka_unit_test(test_parse_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
