/* clock.c — the one clock (see clock.h). */
#include "clock.h"

#include <stdio.h>
#include <string.h>

#define NS_PER_S 1000000000L
/* clock_deadline's cap: 2^31 s, about 68 years, so a 32-bit time_t cannot overflow either. */
#define DEADLINE_MAX_S ((int64_t)1 << 31)

static struct timespec read_clock(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return (struct timespec){0, 0};
    return ts;
}

int64_t clock_now_ms(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_ns(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

struct timespec clock_deadline(int64_t ms)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    int64_t s = ms > 0 ? ms / 1000 : 0;
    long ns = ms > 0 ? (long)(ms % 1000) * 1000000L : 0;
    if (s >= DEADLINE_MAX_S) {
        s = DEADLINE_MAX_S;
        ns = 0;
    }
    ts.tv_sec += (time_t)s;
    ts.tv_nsec += ns;
    if (ts.tv_nsec >= NS_PER_S) {
        ts.tv_sec++;
        ts.tv_nsec -= NS_PER_S;
    }
    return ts;
}

struct timespec clock_wall_now(void) { return read_clock(CLOCK_REALTIME); }

int clock_rfc3339(char *buf, size_t size, const struct timespec *t, int frac_digits)
{
    struct tm tm;
    if (!buf || size == 0)
        return -1;
    buf[0] = '\0';
    if (!t || t->tv_nsec < 0 || t->tv_nsec >= NS_PER_S || frac_digits < 0 || frac_digits > 9)
        return -1;
    if (!gmtime_r(&t->tv_sec, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
        return -1;

    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n < 0 || (size_t)n >= size) {
        buf[0] = '\0';
        return -1;
    }
    int m;
    if (frac_digits > 0) {
        long frac = t->tv_nsec;
        for (int d = frac_digits; d < 9; d++)
            frac /= 10;
        m = snprintf(buf + n, size - (size_t)n, ".%0*ldZ", frac_digits, frac);
    } else {
        m = snprintf(buf + n, size - (size_t)n, "Z");
    }
    if (m < 0 || (size_t)m >= size - (size_t)n) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

int clock_wall_rfc3339(char *buf, size_t size, int frac_digits)
{
    struct timespec now = clock_wall_now();
    return clock_rfc3339(buf, size, &now, frac_digits);
}

int clock_parse_rfc3339(const char *text, int64_t *ms)
{
    struct tm tm = {0};
    const char *rest = text ? strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest || strlen(text) < 20 || text[4] != '-' || text[10] != 'T')
        return -1;
    int64_t frac_ms = 0;
    if (*rest == '.') {
        int digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*rest - '0');
        if (digits == 0 || digits > 9)
            return -1;
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    if (strcmp(rest, "Z") != 0)
        return -1;
    time_t secs = timegm(&tm);
    if (secs == (time_t)-1)
        return -1;
    *ms = (int64_t)secs * 1000 + frac_ms;
    return 0;
}

int64_t clock_wall_ms(void)
{
    struct timespec t = clock_wall_now();
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
