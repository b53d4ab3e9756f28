/* backoff.h — retry delays: exponential backoff with jitter and a cap, and a token bucket for
 * an overall rate limit. Pure logic, no locks: a caller that shares a policy's RNG state or a
 * bucket between threads serialises the calls itself (the work queue does, under its mutex).
 * Time comes from the caller, read with clock_now_ms (clock.h).
 *
 * The shape is controller-runtime's default rate limiter: a per-item exponential delay
 * (5 ms doubling up to 1000 s) combined with an overall bucket (10 per second, burst 100); the
 * delay a caller waits is the larger of the two.
 *
 *   struct backoff_policy p = {.base_ms = 5, .max_ms = 1000000, .jitter = 0.0};
 *   uint64_t rng = seed;
 *   int64_t d = backoff_delay_ms(&p, failures, &rng);
 */
#ifndef GUNGNIR_BACKOFF_H
#define GUNGNIR_BACKOFF_H

#include "clock.h" /* clock_now_ms, for the callers of token_bucket_reserve */

#include <stdbool.h>
#include <stdint.h>

/* ---- exponential backoff ---- */

struct backoff_policy {
    int64_t base_ms; /* delay of attempt 0; values below 0 count as 0 */
    int64_t max_ms;  /* cap on every delay, jitter included; values below 0 count as 0 */
    double jitter;   /* 0: none; 0 < j < 1: proportional, the delay d is drawn uniformly from
                      * [d * (1 - j), d]; 1 (or more): full jitter, uniformly from [0, d].
                      * Negative or NaN counts as 0. */
};

/* Returns the delay in ms before retry number `attempt` (0 for the first retry):
 * min(max_ms, base_ms * 2^attempt), then jittered downwards as the policy says, so the result
 * is always in [0, max_ms]. Never overflows, whatever attempt is (attempt UINT_MAX gives the
 * cap). rng is the caller's generator state (any value, 0 included, is a valid seed); it is
 * advanced only when jitter applies. rng may be NULL, which disables jitter. */
int64_t backoff_delay_ms(const struct backoff_policy *p, unsigned attempt, uint64_t *rng);

/* Returns the next 64-bit value of the generator (splitmix64) and advances *rng. The same seed
 * gives the same sequence, so tests are deterministic. */
uint64_t backoff_rand(uint64_t *rng);

/* ---- token bucket ---- */

/* An overall rate limit: `burst` tokens are available at once, refilled at `rate` per second.
 * A reservation always succeeds and tells the caller how long to wait (the tokens it takes may
 * be borrowed from the future, as with golang.org/x/time/rate's Reserve). Times are integer
 * microseconds, so the arithmetic is exact. Fields are private; use the functions. */
struct token_bucket {
    int64_t interval_us; /* time to earn one token */
    int64_t burst;       /* most tokens held at once */
    int64_t empty_us;    /* when the bucket was (or will be) empty; meaningful once started */
    bool started;        /* false until the first reservation */
};

#define TOKEN_BUCKET_MAX_BURST 1000000
#define TOKEN_BUCKET_MIN_RATE 0.001 /* per second: one token every 1000 s */

/* Initialises b with rate_per_s tokens a second (at least TOKEN_BUCKET_MIN_RATE, at most one
 * per microsecond) and a burst of 1 to TOKEN_BUCKET_MAX_BURST tokens. The bucket starts full
 * at its first reservation. Returns 0, or -1 (b untouched) when a value is out of range or
 * not finite. */
int token_bucket_init(struct token_bucket *b, double rate_per_s, unsigned burst);

/* Takes one token at time now_ms (any monotonic clock, the same one on every call). Returns
 * the delay in ms (rounded up) the caller waits before proceeding: 0 while the burst lasts,
 * then 1000 / rate per token taken ahead of the refill. A clock that goes back earns no
 * tokens. The debt is bounded (delays saturate at about 35 years), never overflowing. */
int64_t token_bucket_reserve(struct token_bucket *b, int64_t now_ms);

#endif
