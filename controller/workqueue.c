/* workqueue.c — a bounded, de-duplicating, rate-limited work queue of string keys.
 *
 * Every key the queue knows is one entry, allocated when the key first arrives and freed when
 * it has nothing left to remember. An entry is found through an open-addressing hash table
 * (linear probing, backward-shift deletion) at least twice the capacity in size. A ready entry
 * sits in a ring of capacity slots (FIFO); a delayed entry sits in a min-heap ordered by due
 * time, then by the order it was scheduled. An entry is in the ring at most once and in the heap
 * at most once, so neither can overflow. One mutex guards everything; one condition variable
 * (on CLOCK_MONOTONIC) wakes the workers. */
#include "workqueue.h"

#include "clock.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOT_IN_HEAP SIZE_MAX
#define MAX_WAIT_MS ((int64_t)3600 * 1000) /* a waiting get re-checks at least every hour */

struct wq_entry {
    uint64_t hash;
    int64_t due_ms;      /* when a delayed entry becomes ready (in the heap only) */
    uint64_t due_seq;    /* breaks ties between equal due times: first scheduled first */
    size_t heap_pos;     /* index in the heap, or NOT_IN_HEAP */
    unsigned failures;   /* rate-limited adds since the last forget */
    bool queued;         /* in the ready ring */
    bool processing;     /* handed out by get, not done yet */
    bool dirty;          /* added while processing: ready again at done */
    bool idle_counted;   /* counted in nidle: held only for its failure count */
    size_t len;
    char key[];          /* len bytes and a NUL */
};

struct workqueue {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    size_t capacity;
    size_t count;              /* entries held */
    size_t nidle;              /* of which held only for their failure count */

    struct wq_entry **slots;   /* hash table, mask + 1 slots */
    size_t mask;

    struct wq_entry **ring;    /* ready entries, capacity slots */
    size_t head;
    size_t nready;

    struct wq_entry **heap;    /* delayed entries, capacity slots */
    size_t nheap;
    uint64_t seq;

    struct backoff_policy policy;
    uint64_t rng;
    struct token_bucket bucket;
    bool bucket_on;

    int64_t (*now_ms)(void *ctx);
    void *clock_ctx;
    bool custom_clock;
    bool shutting_down;
};

/* ---- small helpers ---- */

static int64_t default_now(void *ctx)
{
    (void)ctx;
    return clock_now_ms();
}

static int64_t queue_now(const workqueue *q)
{
    return q->now_ms(q->clock_ctx);
}

/* FNV-1a, 64 bits. */
static uint64_t hash_key(const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3u;
    }
    return h;
}

/* Returns the key's length, or 0 when key is NULL, empty or too long. */
static size_t key_length(const char *key)
{
    if (!key)
        return 0;
    size_t len = strnlen(key, WORKQUEUE_KEY_MAX);
    return len < WORKQUEUE_KEY_MAX ? len : 0;
}

/* ---- hash table ---- */

/* Returns the slot holding key, or the empty slot where it would go (*found false). */
static size_t table_find(const workqueue *q, const char *key, size_t len, uint64_t h,
                         bool *found)
{
    size_t i = (size_t)h & q->mask;
    for (;;) {
        const struct wq_entry *e = q->slots[i];
        if (!e) {
            *found = false;
            return i;
        }
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & q->mask;
    }
}

static struct wq_entry *table_lookup(const workqueue *q, const char *key, size_t len)
{
    bool found;
    size_t i = table_find(q, key, len, hash_key(key, len), &found);
    return found ? q->slots[i] : NULL;
}

/* Empties slot i and shifts later members of its probe run back (no tombstones). */
static void table_delete_slot(workqueue *q, size_t i)
{
    q->slots[i] = NULL;
    size_t j = i;
    for (;;) {
        j = (j + 1) & q->mask;
        struct wq_entry *e = q->slots[j];
        if (!e)
            return;
        size_t home = (size_t)e->hash & q->mask;
        /* e may move to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        q->slots[i] = e;
        q->slots[j] = NULL;
        i = j;
    }
}

/* Unlinks and frees e (which is in no ring and no heap). */
static void entry_destroy(workqueue *q, struct wq_entry *e)
{
    bool found;
    size_t i = table_find(q, e->key, e->len, e->hash, &found);
    if (found)
        table_delete_slot(q, i);
    if (e->idle_counted)
        q->nidle--;
    q->count--;
    free(e);
}

/* Called after any change to e: frees an entry with nothing left to remember, and keeps nidle
 * (entries held only for a failure count, which may be evicted) up to date. */
static void entry_settle(workqueue *q, struct wq_entry *e)
{
    bool idle = !e->queued && !e->processing && e->heap_pos == NOT_IN_HEAP;
    if (idle && e->failures == 0) {
        entry_destroy(q, e);
        return;
    }
    if (idle && !e->idle_counted) {
        e->idle_counted = true;
        q->nidle++;
    } else if (!idle && e->idle_counted) {
        e->idle_counted = false;
        q->nidle--;
    }
}

/* Frees one entry held only for its failure count. Returns 0, or -1 when there is none. */
static int evict_idle(workqueue *q)
{
    if (q->nidle == 0)
        return -1;
    for (size_t i = 0; i <= q->mask; i++) {
        struct wq_entry *e = q->slots[i];
        if (e && e->idle_counted) {
            entry_destroy(q, e);
            return 0;
        }
    }
    return -1;
}

/* Finds key's entry or makes one (evicting a failure-count-only entry when full). Returns the
 * entry, or NULL when the queue is full or memory runs out. */
static struct wq_entry *entry_get(workqueue *q, const char *key, size_t len)
{
    uint64_t h = hash_key(key, len);
    bool found;
    size_t slot = table_find(q, key, len, h, &found);
    if (found)
        return q->slots[slot];
    if (q->count >= q->capacity) {
        if (evict_idle(q) != 0)
            return NULL;
        slot = table_find(q, key, len, h, &found); /* the deletion may have shifted the run */
    }
    struct wq_entry *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->hash = h;
    e->heap_pos = NOT_IN_HEAP;
    e->len = len;
    memcpy(e->key, key, len);
    e->key[len] = '\0';
    q->slots[slot] = e;
    q->count++;
    return e;
}

/* ---- ready ring ---- */

static void ring_push(workqueue *q, struct wq_entry *e)
{
    q->ring[(q->head + q->nready) % q->capacity] = e;
    q->nready++;
    e->queued = true;
}

static struct wq_entry *ring_pop(workqueue *q)
{
    struct wq_entry *e = q->ring[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->nready--;
    e->queued = false;
    return e;
}

/* ---- delay heap ---- */

static bool heap_before(const struct wq_entry *a, const struct wq_entry *b)
{
    if (a->due_ms != b->due_ms)
        return a->due_ms < b->due_ms;
    return a->due_seq < b->due_seq;
}

static void heap_place(workqueue *q, size_t pos, struct wq_entry *e)
{
    q->heap[pos] = e;
    e->heap_pos = pos;
}

static void heap_sift_up(workqueue *q, size_t pos)
{
    struct wq_entry *e = q->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!heap_before(e, q->heap[parent]))
            break;
        heap_place(q, pos, q->heap[parent]);
        pos = parent;
    }
    heap_place(q, pos, e);
}

static void heap_sift_down(workqueue *q, size_t pos)
{
    struct wq_entry *e = q->heap[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= q->nheap)
            break;
        if (child + 1 < q->nheap && heap_before(q->heap[child + 1], q->heap[child]))
            child++;
        if (!heap_before(q->heap[child], e))
            break;
        heap_place(q, pos, q->heap[child]);
        pos = child;
    }
    heap_place(q, pos, e);
}

static void heap_insert(workqueue *q, struct wq_entry *e)
{
    heap_place(q, q->nheap, e);
    q->nheap++;
    heap_sift_up(q, e->heap_pos);
}

static void heap_remove(workqueue *q, struct wq_entry *e)
{
    size_t pos = e->heap_pos;
    e->heap_pos = NOT_IN_HEAP;
    q->nheap--;
    if (pos == q->nheap)
        return;
    struct wq_entry *last = q->heap[q->nheap];
    heap_place(q, pos, last);
    heap_sift_up(q, pos);
    heap_sift_down(q, last->heap_pos);
}

/* ---- scheduling ---- */

/* Makes e ready now: into the ring, or dirty when a worker holds it. */
static void make_ready(workqueue *q, struct wq_entry *e)
{
    if (e->heap_pos != NOT_IN_HEAP)
        heap_remove(q, e);
    if (e->queued)
        return;
    if (e->processing) {
        e->dirty = true;
        return;
    }
    ring_push(q, e);
    pthread_cond_signal(&q->cond);
}

/* Makes e ready after delay_ms (> 0) from now, unless it will be ready sooner anyway. */
static void make_ready_after(workqueue *q, struct wq_entry *e, int64_t now, int64_t delay_ms)
{
    if (e->queued || e->dirty)
        return;
    int64_t due = (now > 0 && delay_ms > INT64_MAX - now) ? INT64_MAX : now + delay_ms;
    if (e->heap_pos != NOT_IN_HEAP) {
        if (due >= e->due_ms)
            return;
        e->due_ms = due;
        e->due_seq = q->seq++;
        heap_sift_up(q, e->heap_pos);
    } else {
        e->due_ms = due;
        e->due_seq = q->seq++;
        heap_insert(q, e);
    }
    if (e->heap_pos == 0)
        pthread_cond_broadcast(&q->cond); /* waiters may now have to wake up sooner */
}

/* Moves every delayed entry whose time has come to the ready side. */
static void promote_due(workqueue *q)
{
    if (q->nheap == 0 || q->shutting_down)
        return;
    int64_t now = queue_now(q);
    while (q->nheap > 0 && q->heap[0]->due_ms <= now) {
        struct wq_entry *e = q->heap[0];
        make_ready(q, e); /* takes it out of the heap */
        entry_settle(q, e);
    }
}

/* The common part of the adds: a delay <= 0 means now. */
static int add_locked(workqueue *q, const char *key, int64_t delay_ms, bool rate_limited)
{
    size_t len = key_length(key);
    if (len == 0 || q->shutting_down)
        return -1;
    struct wq_entry *e = entry_get(q, key, len);
    if (!e)
        return -1;
    int64_t now = 0;
    if (rate_limited || delay_ms > 0)
        now = queue_now(q);
    if (rate_limited) {
        delay_ms = backoff_delay_ms(&q->policy, e->failures, &q->rng);
        if (q->bucket_on) {
            int64_t bucket_ms = token_bucket_reserve(&q->bucket, now);
            if (bucket_ms > delay_ms)
                delay_ms = bucket_ms;
        }
        if (e->failures < UINT_MAX)
            e->failures++;
    }
    if (delay_ms <= 0)
        make_ready(q, e);
    else
        make_ready_after(q, e, now, delay_ms);
    entry_settle(q, e);
    return 0;
}

/* ---- public API ---- */

workqueue *workqueue_new(size_t capacity, const struct workqueue_options *opt)
{
    if (capacity < 1 || capacity > WORKQUEUE_MAX_CAPACITY)
        return NULL;
    struct workqueue_options o = {0};
    if (opt)
        o = *opt;

    workqueue *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->capacity = capacity;
    q->policy = o.item_backoff;
    if (q->policy.base_ms <= 0)
        q->policy.base_ms = WORKQUEUE_DEFAULT_BASE_MS;
    if (q->policy.max_ms <= 0)
        q->policy.max_ms = WORKQUEUE_DEFAULT_MAX_MS;
    q->rng = o.seed;
    double qps = o.bucket_qps == 0.0 ? WORKQUEUE_DEFAULT_QPS : o.bucket_qps;
    unsigned burst = o.bucket_burst == 0 ? WORKQUEUE_DEFAULT_BURST : o.bucket_burst;
    q->bucket_on = !(qps < 0.0);
    if (q->bucket_on && token_bucket_init(&q->bucket, qps, burst) != 0) {
        free(q);
        return NULL;
    }
    q->custom_clock = o.now_ms != NULL;
    q->now_ms = o.now_ms ? o.now_ms : default_now;
    q->clock_ctx = o.clock_ctx;

    size_t nslots = 16;
    while (nslots < 2 * capacity)
        nslots *= 2;
    q->mask = nslots - 1;
    q->slots = calloc(nslots, sizeof(*q->slots));
    q->ring = calloc(capacity, sizeof(*q->ring));
    q->heap = calloc(capacity, sizeof(*q->heap));
    if (!q->slots || !q->ring || !q->heap)
        goto fail;

    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        goto fail;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&q->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        goto fail;
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        pthread_cond_destroy(&q->cond);
        goto fail;
    }
    return q;

fail:
    free(q->slots);
    free(q->ring);
    free(q->heap);
    free(q);
    return NULL;
}

int workqueue_add(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int rc = add_locked(q, key, 0, false);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int workqueue_add_after(workqueue *q, const char *key, int64_t delay_ms)
{
    pthread_mutex_lock(&q->mu);
    int rc = add_locked(q, key, delay_ms, false);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int workqueue_add_rate_limited(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int rc = add_locked(q, key, 0, true);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void workqueue_forget(workqueue *q, const char *key)
{
    size_t len = key_length(key);
    if (len == 0)
        return;
    pthread_mutex_lock(&q->mu);
    struct wq_entry *e = table_lookup(q, key, len);
    if (e) {
        e->failures = 0;
        entry_settle(q, e);
    }
    pthread_mutex_unlock(&q->mu);
}

unsigned workqueue_failures(workqueue *q, const char *key)
{
    size_t len = key_length(key);
    if (len == 0)
        return 0;
    pthread_mutex_lock(&q->mu);
    const struct wq_entry *e = table_lookup(q, key, len);
    unsigned n = e ? e->failures : 0;
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* Waits on the condition variable for at most wait_ms (< 0: without a limit). */
static void wait_for(workqueue *q, int64_t wait_ms)
{
    if (wait_ms < 0) {
        pthread_cond_wait(&q->cond, &q->mu);
        return;
    }
    struct timespec ts = clock_deadline(wait_ms);
    pthread_cond_timedwait(&q->cond, &q->mu, &ts);
}

int workqueue_get(workqueue *q, char *key, size_t keylen, int64_t timeout_ms)
{
    if (!key || keylen < WORKQUEUE_KEY_MAX)
        return -1;
    int64_t deadline = timeout_ms >= 0 ? clock_now_ms() + timeout_ms : 0;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        promote_due(q);
        if (q->nready > 0) {
            struct wq_entry *e = ring_pop(q);
            e->processing = true;
            memcpy(key, e->key, e->len + 1);
            entry_settle(q, e);
            pthread_mutex_unlock(&q->mu);
            return 1;
        }
        if (q->shutting_down) {
            pthread_mutex_unlock(&q->mu);
            return -1;
        }

        int64_t wait_ms = -1; /* no limit */
        if (timeout_ms >= 0) {
            int64_t left = deadline - clock_now_ms();
            if (left <= 0) {
                pthread_mutex_unlock(&q->mu);
                return 0;
            }
            wait_ms = left;
        }
        if (q->nheap > 0) {
            int64_t until_due = q->heap[0]->due_ms - queue_now(q);
            if (until_due < 1)
                until_due = 1;
            if (wait_ms < 0 || until_due < wait_ms)
                wait_ms = until_due;
            if (q->custom_clock && wait_ms > WORKQUEUE_POLL_MS)
                wait_ms = WORKQUEUE_POLL_MS; /* nobody tells us when that clock moves */
        }
        if (wait_ms > MAX_WAIT_MS)
            wait_ms = MAX_WAIT_MS;
        wait_for(q, wait_ms);
    }
}

void workqueue_done(workqueue *q, const char *key)
{
    size_t len = key_length(key);
    if (len == 0)
        return;
    pthread_mutex_lock(&q->mu);
    struct wq_entry *e = table_lookup(q, key, len);
    if (e && e->processing) {
        e->processing = false;
        if (e->dirty) {
            e->dirty = false;
            ring_push(q, e);
            pthread_cond_signal(&q->cond);
        }
        entry_settle(q, e);
    }
    pthread_mutex_unlock(&q->mu);
}

void workqueue_shutdown(workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutting_down = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

size_t workqueue_len(workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    promote_due(q);
    size_t n = q->nready;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void workqueue_free(workqueue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i <= q->mask; i++)
        free(q->slots[i]);
    free(q->slots);
    free(q->ring);
    free(q->heap);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
