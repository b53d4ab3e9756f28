/* quantity.c — exact Kubernetes quantity parsing (see quantity.h).
 *
 * Integer arithmetic only. A quantity is read as
 *     sign * D * 10^E * 2^B   milli-units
 * where D is the string of mantissa digits (the decimal point removed, leading and trailing
 * zeros stripped), E = (decimal suffix exponent) + 3 - (fraction digits) + (trailing zeros
 * stripped), and B is 10..60 for a binary suffix (Ki..Ei), 0 otherwise.
 *
 * When E >= 0 the result is an integer: D * 10^E * 2^B, every step checked for overflow.
 * When E < 0 the last -E digits of D are a fraction. The whole part is multiplied by 2^B;
 * the fraction f (0 <= f < 1) gives floor(f * 2^B) by a right-to-left long division
 * (Horner's rule on f = 0.d1 d2 ... dK), which also tells whether anything was left over.
 *
 * Rounding: a value that is not a whole number of milli-units is rounded toward +infinity
 * (ceil), for negative values too: "-1.5m" -> -1 milli, "-0.1m" -> 0 milli.
 *
 * Range: the magnitude must be at most INT64_MAX milli-units (INT64_MIN is refused too, so
 * every accepted value can be negated). */
#include "quantity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MSG_FORMAT                                                                               \
    "quantities must match the regular expression "                                              \
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define MSG_TOO_LARGE "value is too large"

/* A decimal exponent written after "e" is clamped here; anything this large overflows (or,
 * negative, rounds to at most one milli-unit) whatever the mantissa. */
#define EXPONENT_CLAMP 1000000000000000LL

/* The mantissa digits of the input: int_len digits at int_digits, then frac_len digits at
 * frac_digits (the '.' between them is skipped). */
struct mantissa {
    const char *int_digits;
    size_t int_len;
    const char *frac_digits;
    size_t frac_len;
};

/* Returns the value (0..9) of mantissa digit i, counting from the most significant. */
static unsigned digit_at(const struct mantissa *m, size_t i)
{
    if (i < m->int_len)
        return (unsigned)(m->int_digits[i] - '0');
    return (unsigned)(m->frac_digits[i - m->int_len] - '0');
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Returns -1 after writing msg into err (when err is usable). */
static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return -1;
}

/* Parses the suffix at s (everything after the mantissa). Sets *exp10 (decimal exponent) and
 * *bin (power of two). Returns true if s is a whole valid suffix. */
static bool parse_suffix(const char *s, long long *exp10, unsigned *bin)
{
    static const struct {
        const char *text;
        int exp10;
        unsigned bin;
    } table[] = {
        {"", 0, 0},    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},
        {"M", 6, 0},   {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},
        {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50},
        {"Ei", 0, 60},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(s, table[i].text) == 0) {
            *exp10 = table[i].exp10;
            *bin = table[i].bin;
            return true;
        }
    }

    /* Decimal exponent: e or E, an optional sign, then at least one digit. */
    if (s[0] != 'e' && s[0] != 'E')
        return false;
    s++;
    bool negative = false;
    if (*s == '+' || *s == '-') {
        negative = *s == '-';
        s++;
    }
    if (!is_digit(*s))
        return false;
    long long value = 0;
    for (; is_digit(*s); s++) {
        if (value < EXPONENT_CLAMP)
            value = value * 10 + (*s - '0');
    }
    if (*s != '\0')
        return false;
    if (value > EXPONENT_CLAMP)
        value = EXPONENT_CLAMP;
    *exp10 = negative ? -value : value;
    *bin = 0;
    return true;
}

/* Reads mantissa digits [from, from + count) as an integer into *out. Returns false if the
 * value exceeds INT64_MAX. */
static bool digits_value(const struct mantissa *m, size_t from, size_t count, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = from; i < from + count; i++) {
        if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, digit_at(m, i), &v))
            return false;
        if (v > (uint64_t)INT64_MAX)
            return false;
    }
    *out = v;
    return true;
}

/* Computes the magnitude in milli-units of D * 10^e * 2^bin, D being mantissa digits
 * [first, last] (no leading or trailing zeros), rounded up when round_up is set and down
 * otherwise. Returns false if it exceeds INT64_MAX. */
static bool magnitude(const struct mantissa *m, size_t first, size_t last, long long e,
                      unsigned bin, bool round_up, uint64_t *out)
{
    const size_t n = last - first + 1;
    const uint64_t limit = (uint64_t)INT64_MAX;
    uint64_t v;

    if (e >= 0) {
        /* A whole number of milli-units. */
        if (!digits_value(m, first, n, &v))
            return false;
        for (long long i = 0; i < e; i++) {
            if (v > limit / 10)
                return false;
            v *= 10;
        }
        if (v > (limit >> bin))
            return false;
        *out = v << bin;
        return true;
    }

    /* e < 0: the last k digits of D (with implied leading zeros when k > n) are a fraction. */
    const unsigned long long k = (unsigned long long)-e;
    uint64_t whole = 0;
    size_t frac_from = first;
    if (k < n) {
        const size_t whole_len = n - (size_t)k;
        if (!digits_value(m, first, whole_len, &whole) || whole > (limit >> bin))
            return false;
        whole <<= bin;
        frac_from = first + whole_len;
    }

    /* floor(f * 2^bin) for f = 0.d1 d2 ... dk, by long division from the right: carry stays
     * below 2^bin, so digit * 2^bin + carry < 10 * 2^60 fits in 64 bits. */
    const uint64_t scale = (uint64_t)1 << bin;
    uint64_t carry = 0;
    bool remainder = false;
    for (size_t i = last + 1; i-- > frac_from;) {
        uint64_t t = digit_at(m, i) * scale + carry;
        if (t % 10 != 0)
            remainder = true;
        carry = t / 10;
    }
    if (k > n) {
        /* Implied zeros between the point and the first digit: each divides by ten. */
        for (unsigned long long z = k - n; z > 0 && carry > 0; z--) {
            if (carry % 10 != 0)
                remainder = true;
            carry /= 10;
        }
    }

    if (__builtin_add_overflow(whole, carry, &v) || v > limit)
        return false;
    if (remainder && round_up) {
        if (v == limit)
            return false;
        v++;
    }
    *out = v;
    return true;
}

int quantity_parse(const char *s, quantity_t *q, char *err, size_t errlen)
{
    struct mantissa m = {0};
    const char *p = s;
    bool negative = false;

    if (!s || !q)
        return fail(err, errlen, MSG_FORMAT);

    if (*p == '+' || *p == '-') {
        negative = *p == '-';
        p++;
    }
    m.int_digits = p;
    while (is_digit(*p))
        p++;
    m.int_len = (size_t)(p - m.int_digits);
    m.frac_digits = p;
    if (*p == '.') {
        p++;
        m.frac_digits = p;
        while (is_digit(*p))
            p++;
        m.frac_len = (size_t)(p - m.frac_digits);
    }
    if (m.int_len == 0 && m.frac_len == 0)
        return fail(err, errlen, MSG_FORMAT); /* "", "+", ".", "Mi", ... */

    long long exp10;
    unsigned bin;
    if (!parse_suffix(p, &exp10, &bin))
        return fail(err, errlen, MSG_FORMAT);

    /* Strip leading and trailing zeros of the digit string. */
    const size_t total = m.int_len + m.frac_len;
    size_t first = 0;
    while (first < total && digit_at(&m, first) == 0)
        first++;
    if (first == total) {
        q->milli = 0;
        return 0;
    }
    size_t last = total - 1;
    while (digit_at(&m, last) == 0)
        last--;

    /* e = exp10 + 3 - frac_len + trailing zeros. |exp10| <= 1e15 and the lengths are bounded
     * by the string's size, so this cannot overflow a long long. */
    long long e = exp10 + 3 - (long long)m.frac_len + (long long)(total - 1 - last);

    uint64_t mag;
    if (!magnitude(&m, first, last, e, bin, !negative, &mag))
        return fail(err, errlen, MSG_TOO_LARGE);
    q->milli = negative ? -(int64_t)mag : (int64_t)mag;
    return 0;
}

int64_t quantity_value(quantity_t q)
{
    int64_t v = q.milli / 1000; /* truncates toward zero: already ceil for negatives */
    if (q.milli % 1000 > 0)
        v++;
    return v;
}

int quantity_cmp(quantity_t a, quantity_t b)
{
    if (a.milli < b.milli)
        return -1;
    return a.milli > b.milli ? 1 : 0;
}
