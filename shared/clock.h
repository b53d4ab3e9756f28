/* clock.h — the one clock of the process: monotonic time for timeouts, deadlines and
 * latencies, and UTC wall time as RFC 3339 text for logs and API objects.
 *
 *   int64_t t0 = clock_now_ms();
 *   ...
 *   long took = (long)(clock_now_ms() - t0);
 *
 *   char ts[CLOCK_RFC3339_MAX];
 *   clock_wall_rfc3339(ts, sizeof(ts), 3);   -> "2026-11-24T16:20:00.123Z"
 *
 * "now" is always CLOCK_MONOTONIC (an arbitrary origin, never goes back, unaffected by the
 * wall clock being set); "wall" is CLOCK_REALTIME (UTC, may jump). Durations are measured on
 * the first, never the second. Thread-safe; no state. */
#ifndef GUNGNIR_CLOCK_H
#define GUNGNIR_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Room for the longest RFC 3339 text clock_rfc3339 writes (9 fraction digits), NUL included. */
#define CLOCK_RFC3339_MAX 32

/* ---- monotonic ---- */

/* Returns milliseconds on CLOCK_MONOTONIC, or 0 if the clock cannot be read. */
int64_t clock_now_ms(void);

/* Returns nanoseconds on CLOCK_MONOTONIC (for latencies finer than a millisecond), or 0 if
 * the clock cannot be read. */
int64_t clock_now_ns(void);

/* Returns the CLOCK_MONOTONIC instant ms milliseconds from now, normalised (tv_nsec below one
 * second): the absolute time pthread_cond_timedwait takes on a condition variable whose clock
 * was set to CLOCK_MONOTONIC (pthread_condattr_setclock). ms < 0 counts as 0; ms beyond
 * 2^31 seconds counts as that. */
struct timespec clock_deadline(int64_t ms);

/* ---- wall ---- */

/* Returns now on CLOCK_REALTIME (zero if the clock cannot be read). For a condition variable
 * with the default clock, and for timestamps; never for durations. */
struct timespec clock_wall_now(void);

/* Writes t as RFC 3339 in UTC into buf: "2026-11-24T16:20:00Z" with frac_digits 0,
 * "2026-11-24T16:20:00.123Z" with 3, "...00.123456Z" with 6 (Kubernetes MicroTime); any of 0
 * to 9 digits, truncated, not rounded. Returns 0, or -1 with buf "" (when size > 0) if buf is
 * too small (CLOCK_RFC3339_MAX always suffices), frac_digits is outside 0..9, t->tv_nsec is
 * outside [0, 1e9) or the year is outside 0000..9999. */
int clock_rfc3339(char *buf, size_t size, const struct timespec *t, int frac_digits);

/* clock_rfc3339 of clock_wall_now(): the current UTC time. Returns 0 or -1 as that does. */
int clock_wall_rfc3339(char *buf, size_t size, int frac_digits);

/* Reads RFC 3339 UTC text as the API server writes it ("2026-11-24T16:20:00Z", with an optional
 * fraction of up to 9 digits) into milliseconds since the Unix epoch in *ms. Returns 0, or -1
 * (and *ms untouched) for anything else, offsets other than Z included. */
int clock_parse_rfc3339(const char *text, int64_t *ms);

/* Milliseconds since the Unix epoch on CLOCK_REALTIME (0 if the clock cannot be read): to
 * compare with clock_parse_rfc3339's API timestamps, never for durations. */
int64_t clock_wall_ms(void);

#endif
