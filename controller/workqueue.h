/* workqueue.h — a thread-safe, bounded, de-duplicating, rate-limited queue of string keys
 * ("namespace/name"), with client-go's workqueue semantics:
 *
 *   - a key is queued once however often it is added;
 *   - a key is never handed to two workers at once: a key added while a worker processes it
 *     is queued again when that worker calls workqueue_done;
 *   - delayed adds become ready at their time (an earlier time for the same key wins);
 *   - rate-limited adds wait max(per-item exponential backoff, overall token bucket), and the
 *     per-item failure count grows until workqueue_forget.
 *
 * A worker's loop:
 *
 *   char key[WORKQUEUE_KEY_MAX];
 *   while (workqueue_get(q, key, sizeof(key), -1) == 1) {
 *       if (reconcile(key) == 0)
 *           workqueue_forget(q, key);
 *       else
 *           workqueue_add_rate_limited(q, key);
 *       workqueue_done(q, key);
 *   }
 *
 * Bounds: at most `capacity` distinct keys are queued, delayed or being processed at once; a key
 * remembered only for its failure count does not hold a place (it is dropped, count and all,
 * when a new key needs room). Memory is allocated only for a key the queue does not hold yet.
 * Every function may be called from any thread, except workqueue_free. */
#ifndef GUNGNIR_WORKQUEUE_H
#define GUNGNIR_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"

#define WORKQUEUE_KEY_MAX 256          /* bytes a key takes, its NUL included */
#define WORKQUEUE_MAX_CAPACITY 1000000 /* largest capacity workqueue_new accepts */
#define WORKQUEUE_POLL_MS 10           /* how often a waiting get re-reads an injected clock */

/* Defaults, controller-runtime's: 5 ms doubling to 1000 s per item, 10 per second burst 100
 * overall. */
#define WORKQUEUE_DEFAULT_BASE_MS 5
#define WORKQUEUE_DEFAULT_MAX_MS 1000000
#define WORKQUEUE_DEFAULT_QPS 10.0
#define WORKQUEUE_DEFAULT_BURST 100

typedef struct workqueue workqueue; /* opaque */

/* Options; a zero field takes its default, so `{.now_ms = fake, .clock_ctx = &t}` works. */
struct workqueue_options {
    struct backoff_policy item_backoff; /* base_ms <= 0: 5; max_ms <= 0: 1000000; jitter as is */
    double bucket_qps;                  /* 0: 10; negative: no overall limit */
    unsigned bucket_burst;              /* 0: 100 */
    uint64_t seed;                      /* jitter generator seed (only used with jitter) */
    int64_t (*now_ms)(void *ctx);       /* the queue's clock; NULL: clock_now_ms (clock.h) */
    void *clock_ctx;                    /* passed to now_ms */
};

/* Creates a queue for at most capacity (1 to WORKQUEUE_MAX_CAPACITY) distinct keys. opt may be
 * NULL (every default); it is copied. Returns a new queue (workqueue_free it), or NULL when
 * capacity or an option is out of range (see token_bucket_init) or memory runs out. */
workqueue *workqueue_new(size_t capacity, const struct workqueue_options *opt);

/* Makes key ready now, unless it is already ready (nothing changes: it keeps its place) or
 * being processed (it is queued again at workqueue_done). A pending delayed add of the same key
 * is superseded. key: 1 to WORKQUEUE_KEY_MAX - 1 bytes, copied. Returns 0, or -1 when the
 * queue is full (capacity distinct keys), shut down, the key is empty or too long, or memory
 * runs out. */
int workqueue_add(workqueue *q, const char *key);

/* Makes key ready after delay_ms on the queue's clock (delay_ms <= 0: workqueue_add). When the
 * key is already ready, or already due earlier, nothing changes; a later due time is moved
 * forward to the new one. A delayed key takes a place out of capacity. Returns as
 * workqueue_add. */
int workqueue_add_after(workqueue *q, const char *key, int64_t delay_ms);

/* workqueue_add_after with the rate limiter's delay: the larger of the item's backoff for its
 * failure count and the overall bucket's delay (which takes a token). Adds one to the item's
 * failure count, even when the key was already queued. Returns as workqueue_add. */
int workqueue_add_rate_limited(workqueue *q, const char *key);

/* Resets key's failure count to 0 (the next rate-limited add waits the base delay). Does not
 * remove the key from the queue. Unknown keys are ignored. */
void workqueue_forget(workqueue *q, const char *key);

/* Returns key's failure count: the rate-limited adds since the last forget (0 if unknown). */
unsigned workqueue_failures(workqueue *q, const char *key);

/* Waits for a ready key, hands it to the caller (who must call workqueue_done with it) and
 * copies it into key (keylen >= WORKQUEUE_KEY_MAX bytes). Ready keys come out in the order they
 * became ready. timeout_ms is wall time on CLOCK_MONOTONIC: < 0 waits for ever, 0 only looks.
 * Returns 1 with a key; 0 on timeout; -1 once the queue is shut down and has no ready key left
 * (keys still delayed at shutdown are dropped), or when keylen is too small. */
int workqueue_get(workqueue *q, char *key, size_t keylen, int64_t timeout_ms);

/* Tells the queue the worker has finished with key (from workqueue_get). If key was added while
 * it was processed, it is ready again now. Keys not being processed are ignored. */
void workqueue_done(workqueue *q, const char *key);

/* Refuses further adds and wakes every waiting get; ready keys can still be taken. Idempotent. */
void workqueue_shutdown(workqueue *q);

/* Returns the number of ready keys (delayed keys whose time has come included; keys being
 * processed excluded). */
size_t workqueue_len(workqueue *q);

/* Frees q and every key it holds. No other thread may use q any more (shut it down and join the
 * workers first). NULL is ignored. */
void workqueue_free(workqueue *q);

#endif
