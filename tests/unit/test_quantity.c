/* test_quantity.c — unit tests for shared/quantity.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "quantity.h"

#define MSG_FORMAT                                                                               \
    "quantities must match the regular expression "                                              \
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define MSG_TOO_LARGE "value is too large"

struct ok_case {
    const char *text;
    int64_t milli;
};

/* Parses text, expecting success; returns the milli value. */
static int64_t parse_ok(const char *text)
{
    quantity_t q = {.milli = 42};
    char err[256] = "";
    int rc = quantity_parse(text, &q, err, sizeof(err));
    if (rc != 0)
        print_error("unexpected failure for \"%s\": %s\n", text, err);
    assert_int_equal(rc, 0);
    return q.milli;
}

/* Parses text, expecting failure with message msg; checks *q is left untouched. */
static void parse_fails(const char *text, const char *msg)
{
    quantity_t q = {.milli = 42};
    char err[256] = "";
    int rc = quantity_parse(text, &q, err, sizeof(err));
    if (rc != -1)
        print_error("unexpected success for \"%s\": %" PRId64 "\n", text, q.milli);
    assert_int_equal(rc, -1);
    assert_int_equal(q.milli, 42);
    assert_string_equal(err, msg);
}

static void check_table(const struct ok_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t got = parse_ok(cases[i].text);
        if (got != cases[i].milli)
            print_error("\"%s\": got %" PRId64 ", want %" PRId64 "\n", cases[i].text, got,
                        cases[i].milli);
        assert_int_equal(got, cases[i].milli);
    }
}

static void test_every_suffix(void **state)
{
    (void)state;
    static const struct ok_case cases[] = {
        {"1n", 1},                       /* 0.000001 milli, rounded up */
        {"1u", 1},                       /* 0.001 milli, rounded up */
        {"1m", 1},
        {"1", 1000},
        {"1k", 1000000},
        {"1M", 1000000000},
        {"1G", 1000000000000},
        {"1T", 1000000000000000},
        {"1P", 1000000000000000000},
        {"2n", 1},
        {"2u", 1},
        {"2m", 2},
        {"2", 2000},
        {"2k", 2000000},
        {"2M", 2000000000},
        {"2G", 2000000000000},
        {"2T", 2000000000000000},
        {"2P", 2000000000000000000},
        {"0.001E", 1000000000000000000}, /* 1E itself (1e21 milli) does not fit */
        {"1Ki", 1024000},
        {"1Mi", 1048576000},
        {"1Gi", 1073741824000},
        {"1Ti", 1099511627776000},
        {"1Pi", 1125899906842624000},
        {"0.001Ei", 1152921504606846976}, /* 2^60 milli-units */
        {"3Ki", 3072000},
        {"12Mi", 12582912000},
        {"5Gi", 5368709120000},
    };
    check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_plain_numbers(void **state)
{
    (void)state;
    static const struct ok_case cases[] = {
        {"0", 0},
        {"00000", 0},
        {"-0", 0},
        {"+0", 0},
        {"0.0", 0},
        {".0", 0},
        {"0.", 0},
        {"0Gi", 0},
        {"-0Ki", 0},
        {"1", 1000},
        {"-1", -1000},
        {"+5", 5000},
        {"500m", 500},
        {"-500m", -500},
        {"1.", 1000},
        {".5", 500},
        {"+.5", 500},
        {"-.5", -500},
        {"007", 7000},
        {"100", 100000},
        {"1000m", 1000},
        {"0.1", 100},
        {"1.25", 1250},
        {"100n", 1},
        {"1000000n", 1},
        {"1000001n", 2},
        {"999999n", 1},
        {"1.5m", 2},
        {"-1.5m", -1}, /* ceil toward +inf for negatives too */
        {"-0.1m", 0},
        {"0.5n", 1},
        {"100000000000000000000000n", 100000000000000000}, /* many digits, small value */
        {"0.00000000000000000000000000000000000000000001", 1},
        {"-0.00000000000000000000000000000000000000000001", 0},
        {"123456789.123456789m", 123456790},
    };
    check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Expected values computed independently with exact rational arithmetic. */
static void test_fractions(void **state)
{
    (void)state;
    static const struct ok_case cases[] = {
        {"1.5Gi", 1610612736000},
        {"0.5Ki", 512000},
        {"0.0001Ki", 103},
        {"-0.0001Ki", -102},
        {"123.456789Mi", 129453825983},
        {"0.000000001Ei", 1152921504607},
        {"0.0000000000000000001Ei", 116},
        {"3.14159265358979323846Gi", 3373259426131},
        {"-3.14159265358979323846Gi", -3373259426130},
        {"0.1Ki", 102400},
        {"0.3333Mi", 349490381},
        {"-0.3333Mi", -349490380},
        {"7.999Pi", 9006073354834149376},
        {"0.00097656250Ki", 1000},
        {".9765625Ki", 1000000},
        {"-.9765625Ki", -1000000},
        /* 2^-70 Ei = 2^-10 units = 0.9765625 milli, and just above it */
        {"0.000000000000000000000867361737988403547205962240695953369140625Ei", 1},
        {"0.000000000000000000000867361737988403547205962240695953369140626Ei", 2},
        {"1.00000000000000000000001", 1001},
        {"1.00000000000000000000001n", 1},
        {"-1.00000000000000000000001", -1000},
        {"0.5000000000000000000000000000001Ki", 512001},
        {"0.4999999999999999999999999999999Ki", 512000},
    };
    check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_exponents(void **state)
{
    (void)state;
    static const struct ok_case cases[] = {
        {"1e3", 1000000},
        {"1E3", 1000000},
        {"1e+3", 1000000},
        {"12e+2", 1200000},
        {"1.5E-3", 2},
        {"1.5e-3", 2},
        {"1e0", 1000},
        {"1e-0", 1000},
        {"1e-3", 1},
        {"1e-4", 1},
        {"-1e-4", 0},
        {"-1e-3", -1},
        {"2.5e-1", 250},
        {"1e15", 1000000000000000000},
        {"9.223372036854775807e15", INT64_MAX},
        {"0e999999999", 0},
        {"0.000e99999999999999999999999999", 0},
        {"1e-999999999", 1},
        {"-1e-999999999", 0},
        {"1e-99999999999999999999999999999", 1},
        {"100e-2", 1000},
        {"1e0003", 1000000},
        {".5e1", 5000},
        {"5.e1", 50000},
    };
    check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_boundaries(void **state)
{
    (void)state;
    static const struct ok_case fits[] = {
        {"9223372036854775807m", INT64_MAX},
        {"-9223372036854775807m", -INT64_MAX},
        {"9223372036854775.807", INT64_MAX},
        {"9223372036854775.8069", INT64_MAX},
        {"-9223372036854775.8071", -INT64_MAX}, /* ceil of a negative rounds toward zero */
        {"9.223372036854775807P", INT64_MAX},
        {"9P", 9000000000000000000},
        {"9223372036854775807000000n", INT64_MAX},
        {"9223372036854775807e-3", INT64_MAX},
        {"9007199254740Ki", 9223372036853760000},
        {"8796093022Mi", 9223372036636672000},
        {"8589934Gi", 9223371401199616000},
        {"8388Ti", 9222703533785088000},
        {"8Pi", 9007199254740992000},
        {"-8Pi", -9007199254740992000},
        {"9007199254740.991Ki", 9223372036854774784},
        {"9007199254740.9911Ki", 9223372036854774887},
        {"0.007Ei", 8070450532247928832},
    };
    check_table(fits, sizeof(fits) / sizeof(fits[0]));

    static const char *const too_large[] = {
        "9223372036854775808m",
        "-9223372036854775808m", /* INT64_MIN itself is refused: every value can be negated */
        "9223372036854775.808",
        "9223372036854775.8071",
        "9223372036854776",
        "9.223372036854775808P",
        "10P",
        "1E",
        "1Ei",
        "16Ei",
        "-16Ei",
        "0.008Ei",
        "9007199254741Ki",
        "9007199254740.992Ki",
        "8796093023Mi",
        "8589935Gi",
        "8389Ti",
        "9Pi",
        "1e16",
        "1e19",
        "1e999999999",
        "-1e999999999",
        "1e99999999999999999999999999999",
        "12345678901234567890",
        "12345678901234567890123456789012345678901234567890",
        "123456789012345678901234567890m",
    };
    for (size_t i = 0; i < sizeof(too_large) / sizeof(too_large[0]); i++)
        parse_fails(too_large[i], MSG_TOO_LARGE);
    /* 20 significant digits with a small exponent are not "too large". */
    assert_int_equal(parse_ok("99999999999999999999e-20"), 1000);
    assert_int_equal(parse_ok("99999999999999999999e-17"), 1000000);
    assert_int_equal(parse_ok("0.99999999999999999999"), 1000);
}

static void test_garbage(void **state)
{
    (void)state;
    static const char *const garbage[] = {
        "",      "abc",   "1.2.3", "1Kb",   "1 Gi",  "--1",   "-+1",   "1e",    "1E+",
        "1e-",   ".",     "+",     "-",     "+.",    "Mi",    "Ki",    "m",     "e3",
        "1ii",   "1Gi ",  " 1Gi",  "1 ",    " 1",    "1\t",   "1\n",   "1K",    "1ki",
        "1mi",   "1.1.M", "1+1.0M", "0.1am", "aoeu",  ".5i",   "1i",    "-3.01i", "-3.01e-",
        "1e3.5", "1e3Ki", "1Ki3",  "1KiB",  "1kk",   "1MM",   "1Gii",  "1GiGi", "1e1e1",
        "1,5",   "1_000", "0x10",  "1E3E",  "1..",   "..1",   "1e+-3", "1e--3", "∞",
        "1Ei1",  "NaN",   "Inf",   "1EI",   "1mI",   "1b",    "1B",    "1m ",   "1.e",
        "1%",
    };
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
        parse_fails(garbage[i], MSG_FORMAT);

    /* The string ends at the first NUL: "1Gi\0xyz" is "1Gi". */
    static const char embedded[] = "1Gi\0xyz";
    assert_int_equal(parse_ok(embedded), 1073741824000);
}

static void test_error_buffer(void **state)
{
    (void)state;
    quantity_t q = {.milli = 7};

    /* err may be NULL. */
    assert_int_equal(quantity_parse("nope", &q, NULL, 0), -1);
    assert_int_equal(quantity_parse("1e99", &q, NULL, 0), -1);
    assert_int_equal(quantity_parse("1", &q, NULL, 0), 0);
    assert_int_equal(q.milli, 1000);

    /* A small buffer is filled and terminated, never overrun. */
    char small[8];
    memset(small, 'x', sizeof(small));
    assert_int_equal(quantity_parse("1e99", &q, small, sizeof(small)), -1);
    assert_string_equal(small, "value i");
    assert_int_equal(q.milli, 1000);

    /* errlen 0 writes nothing. */
    char none[4] = "abc";
    assert_int_equal(quantity_parse("x", &q, none, 0), -1);
    assert_string_equal(none, "abc");
}

static void test_value(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t value;
    } cases[] = {
        {"500m", 1},    {"1.5Gi", 1610612736}, {"0", 0},       {"1", 1},
        {"1000m", 1},   {"1001m", 2},          {"999m", 1},    {"1m", 1},
        {"-500m", 0},   {"-1500m", -1},        {"-1", -1},     {"-1001m", -1},
        {"12Mi", 12582912},                    {"1e3", 1000},  {"100n", 1},
        {"9223372036854775807m", 9223372036854776},
        {"-9223372036854775807m", -9223372036854775},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        quantity_t q = {.milli = parse_ok(cases[i].text)};
        assert_int_equal(quantity_value(q), cases[i].value);
    }
    assert_int_equal(quantity_value((quantity_t){.milli = INT64_MIN}), INT64_MIN / 1000);
}

static void test_cmp(void **state)
{
    (void)state;
    /* Strictly ascending. */
    static const char *const ordered[] = {
        "-9223372036854775807m", "-8Pi", "-1Gi", "-1G", "-1", "-1m", "0", "1n", "2m",
        "0.5",                   "1",    "1001m", "1k", "1Ki", "1M", "1Mi", "1G", "1Gi",
        "1T",                    "1Ti",  "1P",   "1Pi", "9P", "8Pi", "9223372036854775807m",
    };
    const size_t n = sizeof(ordered) / sizeof(ordered[0]);
    for (size_t i = 0; i < n; i++) {
        quantity_t a = {.milli = parse_ok(ordered[i])};
        for (size_t j = 0; j < n; j++) {
            quantity_t b = {.milli = parse_ok(ordered[j])};
            int want = i < j ? -1 : (i > j ? 1 : 0);
            assert_int_equal(quantity_cmp(a, b), want);
        }
    }

    /* Different spellings of the same amount compare equal. */
    static const char *const same[][2] = {
        {"1000m", "1"},   {"0.5", "500m"}, {"1Ki", "1024"}, {"1e3", "1k"},
        {"1.5Gi", "1536Mi"}, {"0.001", "1m"}, {"1000000u", "1"}, {"-0", "0"},
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        quantity_t a = {.milli = parse_ok(same[i][0])};
        quantity_t b = {.milli = parse_ok(same[i][1])};
        assert_int_equal(quantity_cmp(a, b), 0);
    }
    quantity_t lo = {.milli = INT64_MIN}, hi = {.milli = INT64_MAX};
    assert_int_equal(quantity_cmp(lo, hi), -1);
    assert_int_equal(quantity_cmp(hi, lo), 1);
}

/* A small deterministic generator (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

/* A random int64 in [-INT64_MAX, INT64_MAX] with a random magnitude (0 to 63 bits). */
static int64_t rng_int(void)
{
    unsigned bits = (unsigned)(rng_next() % 64);
    int64_t v = bits == 0 ? 0 : (int64_t)(rng_next() >> (64 - bits));
    return (rng_next() & 1) ? -v : v;
}

/* ceil(a / d) for d > 0. */
static int64_t ceil_div(int64_t a, int64_t d)
{
    int64_t q = a / d;
    if (a % d > 0)
        q++;
    return q;
}

/* Computes n * 10^p10 * 2^p2 * 1000 milli-units (rounded up when p10 < -3). Returns false when
 * it does not fit in [-INT64_MAX, INT64_MAX]. */
static bool expected_milli(int64_t n, int p10, int p2, int64_t *out)
{
    int64_t v = n;
    int e = p10 + 3;
    for (int i = 0; i < e; i++) {
        if (__builtin_mul_overflow(v, (int64_t)10, &v))
            return false;
    }
    for (int i = 0; i < p2; i++) {
        if (__builtin_mul_overflow(v, (int64_t)2, &v))
            return false;
    }
    if (e < 0) {
        int64_t d = 1;
        for (int i = 0; i < -e && d <= INT64_MAX / 10; i++)
            d *= 10;
        if (-e > 18)
            v = n > 0 ? 1 : 0; /* |n| < 10^19 <= d: ceil is 1 for positives, 0 otherwise */
        else
            v = ceil_div(v, d);
    }
    if (v == INT64_MIN)
        return false;
    *out = v;
    return true;
}

static const struct {
    const char *text;
    int p10;
    int p2;
} suffixes[] = {
    {"n", -9, 0}, {"u", -6, 0},  {"m", -3, 0},  {"", 0, 0},    {"k", 3, 0},   {"M", 6, 0},
    {"G", 9, 0},  {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
    {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
};

/* Checks parse(text) against the independently computed expectation. */
static void check_property(const char *text, bool fits, int64_t want)
{
    quantity_t q = {.milli = 42};
    char err[256] = "";
    int rc = quantity_parse(text, &q, err, sizeof(err));
    if (fits) {
        if (rc != 0 || q.milli != want)
            print_error("\"%s\": rc %d (%s) got %" PRId64 " want %" PRId64 "\n", text, rc, err,
                        q.milli, want);
        assert_int_equal(rc, 0);
        assert_int_equal(q.milli, want);
    } else {
        if (rc != -1)
            print_error("\"%s\": expected too large, got %" PRId64 "\n", text, q.milli);
        assert_int_equal(rc, -1);
        assert_string_equal(err, MSG_TOO_LARGE);
    }
}

/* parse(format(n, suffix)) == n * multiplier for many generated pairs. */
static void test_property_integers(void **state)
{
    (void)state;
    const size_t nsuffix = sizeof(suffixes) / sizeof(suffixes[0]);
    unsigned checked_fit = 0, checked_large = 0;

    for (int round = 0; round < 200000; round++) {
        int64_t n = rng_int();
        char text[64];
        int64_t want = 0;
        bool fits;

        if (round % 4 == 3) {
            /* Decimal exponent form: n e<exp>, exp in -25..25. */
            int exp = (int)(rng_next() % 51) - 25;
            snprintf(text, sizeof(text), "%" PRId64 "%s%d", n, (rng_next() & 1) ? "e" : "E", exp);
            fits = expected_milli(n, exp, 0, &want);
        } else {
            size_t k = (size_t)(rng_next() % nsuffix);
            snprintf(text, sizeof(text), "%" PRId64 "%s", n, suffixes[k].text);
            fits = expected_milli(n, suffixes[k].p10, suffixes[k].p2, &want);
        }
        check_property(text, fits, want);
        if (fits)
            checked_fit++;
        else
            checked_large++;
    }
    /* Both outcomes must be well represented. */
    assert_true(checked_fit > 50000);
    assert_true(checked_large > 20000);
}

/* parse("w.fff" suffix) for many generated whole parts w, thousandths fff and suffixes equals
 * (w * 1000 + fff) * 10^p10 * 2^p2 milli-units (rounded up for n and u), computed independently. */
static void test_property_fractions(void **state)
{
    (void)state;
    const size_t nsuffix = sizeof(suffixes) / sizeof(suffixes[0]);

    for (int round = 0; round < 100000; round++) {
        int64_t w = rng_int();
        bool negative = w < 0;
        uint64_t mag = negative ? (uint64_t)-w : (uint64_t)w;
        if (rng_next() % 2)
            mag >>= rng_next() % 64; /* plenty of small whole parts too */
        int frac = (int)(rng_next() % 1000);
        size_t k = (size_t)(rng_next() % nsuffix);
        char text[64];
        snprintf(text, sizeof(text), "%s%" PRIu64 ".%03d%s", negative ? "-" : "", mag, frac,
                 suffixes[k].text);

        int64_t want = 0;
        bool fits;
        if (suffixes[k].p10 < 0) {
            /* m, u, n: milli = (mag + frac/1000) / div with div = 1, 1000 or 10^6; its floor
             * is mag / div, and anything left over rounds a positive value up. */
            int64_t div = suffixes[k].p10 == -3 ? 1 : (suffixes[k].p10 == -6 ? 1000 : 1000000);
            int64_t whole = (int64_t)(mag / (uint64_t)div);
            bool rest = mag % (uint64_t)div != 0 || frac != 0;
            want = negative ? -whole : whole + (rest ? 1 : 0);
            fits = true;
        } else {
            /* The value in thousandths of a unit, scaled by the suffix. */
            int64_t thousandths = 0;
            fits = !__builtin_mul_overflow((int64_t)mag, (int64_t)1000, &thousandths) &&
                   !__builtin_add_overflow(thousandths, (int64_t)frac, &thousandths);
            if (fits)
                fits = expected_milli(negative ? -thousandths : thousandths,
                                      suffixes[k].p10 - 3, suffixes[k].p2, &want);
        }
        check_property(text, fits, want);
    }
}

/* Random short strings over the grammar's alphabet: never crash, always a known outcome, and
 * a success agrees with re-parsing its canonical milli form. */
static void test_random_strings(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789..+-eEinumkKMGTP ";
    for (int round = 0; round < 200000; round++) {
        char text[16];
        size_t len = (size_t)(rng_next() % (sizeof(text) - 1));
        for (size_t i = 0; i < len; i++)
            text[i] = alphabet[rng_next() % (sizeof(alphabet) - 1)];
        text[len] = '\0';

        quantity_t q = {.milli = 42};
        char err[256] = "";
        if (quantity_parse(text, &q, err, sizeof(err)) == 0) {
            char canon[32];
            snprintf(canon, sizeof(canon), "%" PRId64 "m", q.milli);
            assert_int_equal(parse_ok(canon), q.milli);
        } else {
            assert_int_equal(q.milli, 42);
            if (strcmp(err, MSG_FORMAT) != 0)
                assert_string_equal(err, MSG_TOO_LARGE);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_suffix),     cmocka_unit_test(test_plain_numbers),
        cmocka_unit_test(test_fractions),        cmocka_unit_test(test_exponents),
        cmocka_unit_test(test_boundaries),       cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_error_buffer),     cmocka_unit_test(test_value),
        cmocka_unit_test(test_cmp),              cmocka_unit_test(test_property_integers),
        cmocka_unit_test(test_property_fractions), cmocka_unit_test(test_random_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
