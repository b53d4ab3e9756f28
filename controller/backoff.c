/* backoff.c — exponential backoff with jitter and a token bucket. */
#include "backoff.h"

#include <math.h>

/* Longest debt a token bucket may run up: 2^50 µs, about 35 years. */
#define BUCKET_MAX_DEBT_US ((int64_t)1 << 50)
/* now_ms is clamped to ±2^52 ms so that its microseconds fit with room to spare. */
#define BUCKET_MAX_NOW_MS ((int64_t)1 << 52)

uint64_t backoff_rand(uint64_t *rng)
{
    uint64_t z = (*rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double rand_unit(uint64_t *rng)
{
    return (double)(backoff_rand(rng) >> 11) * 0x1.0p-53;
}

/* min(max, base * 2^attempt) without overflow; base and max are >= 0. */
static int64_t capped_exponential(int64_t base, int64_t max, unsigned attempt)
{
    if (base >= max)
        return max;
    if (base == 0)
        return 0;
    if (attempt >= 63 || base > (max >> attempt))
        return max;
    return base << attempt; /* <= max, so it fits */
}

int64_t backoff_delay_ms(const struct backoff_policy *p, unsigned attempt, uint64_t *rng)
{
    int64_t base = p->base_ms > 0 ? p->base_ms : 0;
    int64_t max = p->max_ms > 0 ? p->max_ms : 0;
    int64_t d = capped_exponential(base, max, attempt);

    double j = p->jitter;
    if (!rng || !(j > 0.0) || d == 0) /* !(j > 0) also catches NaN */
        return d;
    if (j > 1.0)
        j = 1.0;
    /* Subtract a uniform share of j * d: the result lies in [d * (1 - j), d]. */
    double cut = (double)d * j * rand_unit(rng);
    int64_t cut_ms = cut >= (double)d ? d : (int64_t)cut;
    return d - cut_ms;
}

int token_bucket_init(struct token_bucket *b, double rate_per_s, unsigned burst)
{
    if (!isfinite(rate_per_s) || rate_per_s < TOKEN_BUCKET_MIN_RATE || rate_per_s > 1e6)
        return -1;
    if (burst < 1 || burst > TOKEN_BUCKET_MAX_BURST)
        return -1;
    int64_t interval = (int64_t)llround(1e6 / rate_per_s);
    b->interval_us = interval > 0 ? interval : 1;
    b->burst = (int64_t)burst;
    b->empty_us = 0;
    b->started = false;
    return 0;
}

int64_t token_bucket_reserve(struct token_bucket *b, int64_t now_ms)
{
    if (now_ms > BUCKET_MAX_NOW_MS)
        now_ms = BUCKET_MAX_NOW_MS;
    else if (now_ms < -BUCKET_MAX_NOW_MS)
        now_ms = -BUCKET_MAX_NOW_MS;
    int64_t now_us = now_ms * 1000;

    /* The bucket holds (now - empty) / interval tokens, at most burst: an empty time further
     * back than burst intervals means a full bucket. */
    int64_t full_empty_us = now_us - b->burst * b->interval_us;
    if (!b->started || b->empty_us < full_empty_us) {
        b->empty_us = full_empty_us;
        b->started = true;
    }
    b->empty_us += b->interval_us; /* take one token */
    if (b->empty_us - now_us > BUCKET_MAX_DEBT_US)
        b->empty_us = now_us + BUCKET_MAX_DEBT_US;

    int64_t wait_us = b->empty_us - now_us;
    if (wait_us <= 0)
        return 0;
    return (wait_us + 999) / 1000;
}
