/* test_workqueue.c — unit tests for controller/workqueue.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "workqueue.h"

/* A clock the test moves by hand. Atomic: a worker thread may read it while the test moves
 * it. */
struct fake_clock {
    _Atomic int64_t now;
};

static int64_t fake_now(void *ctx)
{
    struct fake_clock *c = ctx;
    return atomic_load(&c->now);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A queue on a fake clock, without the overall bucket unless qps is given. */
static workqueue *fake_queue(size_t capacity, struct fake_clock *clock, double qps,
                             unsigned burst)
{
    struct workqueue_options opt = {
        .item_backoff = {.base_ms = 5, .max_ms = 1000},
        .bucket_qps = qps,
        .bucket_burst = burst,
        .now_ms = fake_now,
        .clock_ctx = clock,
    };
    workqueue *q = workqueue_new(capacity, &opt);
    assert_non_null(q);
    return q;
}

/* Gets without waiting and checks the key. */
static void expect_get(workqueue *q, const char *want)
{
    char key[WORKQUEUE_KEY_MAX];
    int rc = workqueue_get(q, key, sizeof(key), 0);
    if (rc != 1)
        print_error("wanted \"%s\", get returned %d\n", want, rc);
    assert_int_equal(rc, 1);
    assert_string_equal(key, want);
}

static void expect_empty(workqueue *q)
{
    char key[WORKQUEUE_KEY_MAX] = "";
    int rc = workqueue_get(q, key, sizeof(key), 0);
    if (rc != 0)
        print_error("wanted nothing, get returned %d (\"%s\")\n", rc, key);
    assert_int_equal(rc, 0);
}

static void test_dedup_and_fifo(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(16, NULL);
    assert_non_null(q);
    assert_int_equal(workqueue_add(q, "ns/b"), 0);
    assert_int_equal(workqueue_add(q, "ns/a"), 0);
    assert_int_equal(workqueue_add(q, "ns/b"), 0); /* keeps its first place */
    assert_int_equal(workqueue_add(q, "ns/c"), 0);
    assert_int_equal(workqueue_add(q, "ns/a"), 0);
    assert_int_equal(workqueue_len(q), 3);
    expect_get(q, "ns/b");
    expect_get(q, "ns/a");
    assert_int_equal(workqueue_len(q), 1);
    expect_get(q, "ns/c");
    assert_int_equal(workqueue_len(q), 0);
    expect_empty(q);
    workqueue_done(q, "ns/a");
    workqueue_done(q, "ns/b");
    workqueue_done(q, "ns/c");
    expect_empty(q); /* done without a new add does not re-queue */
    workqueue_free(q);
}

static void test_bad_keys(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(4, NULL);
    assert_non_null(q);
    char longest[WORKQUEUE_KEY_MAX];
    memset(longest, 'k', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    assert_int_equal(workqueue_add(q, NULL), -1);
    assert_int_equal(workqueue_add(q, ""), -1);
    char too_long[WORKQUEUE_KEY_MAX + 1];
    memset(too_long, 'k', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    assert_int_equal(workqueue_add(q, too_long), -1);
    assert_int_equal(workqueue_add_after(q, too_long, 10), -1);
    assert_int_equal(workqueue_add_rate_limited(q, too_long), -1);
    assert_int_equal(workqueue_len(q), 0);

    assert_int_equal(workqueue_add(q, longest), 0); /* 255 bytes: fits */
    char small[64];
    assert_int_equal(workqueue_get(q, small, sizeof(small), 0), -1); /* refused, not lost */
    assert_int_equal(workqueue_len(q), 1);
    char key[WORKQUEUE_KEY_MAX];
    assert_int_equal(workqueue_get(q, key, sizeof(key), 0), 1);
    assert_string_equal(key, longest);
    workqueue_done(q, key);

    assert_null(workqueue_new(0, NULL));
    assert_null(workqueue_new(WORKQUEUE_MAX_CAPACITY + 1, NULL));
    struct workqueue_options bad = {.bucket_qps = 10.0, .bucket_burst = TOKEN_BUCKET_MAX_BURST + 1};
    assert_null(workqueue_new(4, &bad));
    workqueue_free(q);
    workqueue_free(NULL);
}

static void test_add_while_processing(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(8, NULL);
    assert_non_null(q);
    assert_int_equal(workqueue_add(q, "ns/x"), 0);
    expect_get(q, "ns/x");
    /* Added twice while processed: not handed out again until done, then once. */
    assert_int_equal(workqueue_add(q, "ns/x"), 0);
    assert_int_equal(workqueue_add(q, "ns/x"), 0);
    assert_int_equal(workqueue_len(q), 0);
    expect_empty(q);
    assert_int_equal(workqueue_add(q, "ns/y"), 0);
    workqueue_done(q, "ns/x");
    assert_int_equal(workqueue_len(q), 2);
    expect_get(q, "ns/y");
    expect_get(q, "ns/x");
    workqueue_done(q, "ns/x");
    workqueue_done(q, "ns/y");
    expect_empty(q);
    /* done for a key nobody holds changes nothing. */
    workqueue_done(q, "ns/x");
    workqueue_done(q, "ns/never");
    expect_empty(q);
    workqueue_free(q);
}

static void test_add_after_ordering(void **state)
{
    (void)state;
    struct fake_clock clock = {1000};
    workqueue *q = fake_queue(16, &clock, -1.0, 0);
    assert_int_equal(workqueue_add_after(q, "ns/late", 300), 0);
    assert_int_equal(workqueue_add_after(q, "ns/early", 100), 0);
    assert_int_equal(workqueue_add_after(q, "ns/mid", 200), 0);
    assert_int_equal(workqueue_add_after(q, "ns/mid2", 200), 0); /* same time: scheduled later */
    assert_int_equal(workqueue_len(q), 0);
    expect_empty(q);

    atomic_store(&clock.now, 1099);
    expect_empty(q);
    atomic_store(&clock.now, 1100);
    assert_int_equal(workqueue_len(q), 1);
    expect_get(q, "ns/early");
    atomic_store(&clock.now, 1250);
    assert_int_equal(workqueue_len(q), 2);
    expect_get(q, "ns/mid");
    expect_get(q, "ns/mid2");
    expect_empty(q);
    atomic_store(&clock.now, 5000);
    expect_get(q, "ns/late");
    workqueue_done(q, "ns/early");
    workqueue_done(q, "ns/mid");
    workqueue_done(q, "ns/mid2");
    workqueue_done(q, "ns/late");

    /* An earlier delay for the same key wins; a later one does not push it back. */
    atomic_store(&clock.now, 0);
    assert_int_equal(workqueue_add_after(q, "ns/k", 500), 0);
    assert_int_equal(workqueue_add_after(q, "ns/k", 50), 0);
    assert_int_equal(workqueue_add_after(q, "ns/k", 900), 0);
    assert_int_equal(workqueue_add_after(q, "ns/other", 60), 0);
    atomic_store(&clock.now, 50);
    expect_get(q, "ns/k");
    expect_empty(q);
    workqueue_done(q, "ns/k");
    atomic_store(&clock.now, 10000);
    expect_get(q, "ns/other"); /* k does not come back from its superseded 500 or 900 */
    expect_empty(q);
    workqueue_done(q, "ns/other");

    /* A plain add supersedes a pending delay; a delay does not hold back a ready key. */
    assert_int_equal(workqueue_add_after(q, "ns/k", 100), 0);
    assert_int_equal(workqueue_add(q, "ns/k"), 0);
    assert_int_equal(workqueue_add_after(q, "ns/k", 100), 0);
    expect_get(q, "ns/k");
    workqueue_done(q, "ns/k");
    atomic_store(&clock.now, 20000);
    expect_empty(q);

    /* A zero or negative delay is a plain add. */
    assert_int_equal(workqueue_add_after(q, "ns/now", 0), 0);
    assert_int_equal(workqueue_add_after(q, "ns/past", -5), 0);
    expect_get(q, "ns/now");
    expect_get(q, "ns/past");
    workqueue_free(q); /* keys still held are freed too */
}

static void test_delay_while_processing(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    workqueue *q = fake_queue(4, &clock, -1.0, 0);
    assert_int_equal(workqueue_add(q, "ns/x"), 0);
    expect_get(q, "ns/x");
    assert_int_equal(workqueue_add_after(q, "ns/x", 100), 0);
    /* Its time comes while it is still processed: it waits for done. */
    atomic_store(&clock.now, 200);
    expect_empty(q);
    workqueue_done(q, "ns/x");
    expect_get(q, "ns/x");
    workqueue_done(q, "ns/x");
    /* Delayed, then done before the time: it still comes at its time. */
    assert_int_equal(workqueue_add(q, "ns/y"), 0);
    expect_get(q, "ns/y");
    assert_int_equal(workqueue_add_after(q, "ns/y", 100), 0);
    workqueue_done(q, "ns/y");
    expect_empty(q);
    atomic_store(&clock.now, 300);
    expect_get(q, "ns/y");
    workqueue_done(q, "ns/y");
    workqueue_free(q);
}

/* Adds key rate-limited at the clock's time; checks it is not ready before want ms and is
 * ready at want ms, then takes and finishes it. */
static void expect_rate_limited(workqueue *q, struct fake_clock *clock, const char *key,
                                int64_t want)
{
    int64_t t0 = atomic_load(&clock->now);
    assert_int_equal(workqueue_add_rate_limited(q, key), 0);
    if (want > 0) {
        atomic_store(&clock->now, t0 + want - 1);
        expect_empty(q);
    }
    atomic_store(&clock->now, t0 + want);
    expect_get(q, key);
    workqueue_done(q, key);
}

static void test_rate_limited_per_item(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    workqueue *q = fake_queue(8, &clock, -1.0, 0);
    assert_int_equal(workqueue_failures(q, "ns/a"), 0);
    expect_rate_limited(q, &clock, "ns/a", 5);
    assert_int_equal(workqueue_failures(q, "ns/a"), 1);
    expect_rate_limited(q, &clock, "ns/a", 10);
    expect_rate_limited(q, &clock, "ns/a", 20);
    expect_rate_limited(q, &clock, "ns/a", 40);
    assert_int_equal(workqueue_failures(q, "ns/a"), 4);
    /* Another key has its own count. */
    expect_rate_limited(q, &clock, "ns/b", 5);
    assert_int_equal(workqueue_failures(q, "ns/b"), 1);
    /* The count survives the key leaving the queue, and the delay reaches the cap. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(workqueue_add_rate_limited(q, "ns/a"), 0);
    assert_int_equal(workqueue_failures(q, "ns/a"), 14);
    atomic_store(&clock.now, atomic_load(&clock.now) + 80);
    expect_get(q, "ns/a"); /* due after the first of those adds (80 ms) */
    workqueue_done(q, "ns/a");
    expect_rate_limited(q, &clock, "ns/a", 1000);
    /* forget resets the count: back to the base delay. */
    workqueue_forget(q, "ns/a");
    assert_int_equal(workqueue_failures(q, "ns/a"), 0);
    expect_rate_limited(q, &clock, "ns/a", 5);
    expect_rate_limited(q, &clock, "ns/a", 10);
    assert_int_equal(workqueue_failures(q, "ns/b"), 1);
    workqueue_forget(q, "ns/unknown");
    workqueue_free(q);
}

static void test_rate_limited_bucket(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    /* Overall 10 per second, burst 2: the third distinct key waits for the bucket (100 ms),
     * which is longer than its own 5 ms. */
    workqueue *q = fake_queue(8, &clock, 10.0, 2);
    assert_int_equal(workqueue_add_rate_limited(q, "ns/a"), 0);
    assert_int_equal(workqueue_add_rate_limited(q, "ns/b"), 0);
    assert_int_equal(workqueue_add_rate_limited(q, "ns/c"), 0);
    atomic_store(&clock.now, 5);
    expect_get(q, "ns/a");
    expect_get(q, "ns/b");
    atomic_store(&clock.now, 99);
    expect_empty(q);
    atomic_store(&clock.now, 100);
    expect_get(q, "ns/c");
    workqueue_free(q);

    /* Defaults (NULL options): controller-runtime's 5 ms item delay on the real clock. */
    q = workqueue_new(4, NULL);
    assert_non_null(q);
    int64_t t0 = clock_now_ms();
    assert_int_equal(workqueue_add_rate_limited(q, "ns/d"), 0);
    char key[WORKQUEUE_KEY_MAX];
    assert_int_equal(workqueue_get(q, key, sizeof(key), 2000), 1);
    assert_true(clock_now_ms() - t0 >= 5);
    assert_string_equal(key, "ns/d");
    workqueue_free(q);
}

static void test_capacity(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    workqueue *q = fake_queue(3, &clock, -1.0, 0);
    assert_int_equal(workqueue_add(q, "ns/a"), 0);
    assert_int_equal(workqueue_add(q, "ns/b"), 0);
    assert_int_equal(workqueue_add_after(q, "ns/c", 100), 0); /* delayed keys count */
    assert_int_equal(workqueue_add(q, "ns/d"), -1);
    assert_int_equal(workqueue_add_after(q, "ns/d", 10), -1);
    assert_int_equal(workqueue_add_rate_limited(q, "ns/d"), -1);
    assert_int_equal(workqueue_failures(q, "ns/d"), 0);
    assert_int_equal(workqueue_add(q, "ns/a"), 0); /* a key already held is fine */
    assert_int_equal(workqueue_add_after(q, "ns/c", 50), 0);

    /* A key being processed still holds its place. */
    expect_get(q, "ns/a");
    assert_int_equal(workqueue_add(q, "ns/d"), -1);
    assert_int_equal(workqueue_add(q, "ns/a"), 0); /* re-queued at done, no new place */
    workqueue_done(q, "ns/a");
    expect_get(q, "ns/b");
    expect_get(q, "ns/a");
    workqueue_done(q, "ns/a");
    assert_int_equal(workqueue_add(q, "ns/d"), 0); /* a's place is free again */
    assert_int_equal(workqueue_add(q, "ns/e"), -1);
    workqueue_free(q);

    /* A key remembered only for its failure count gives its place to a new key. */
    q = fake_queue(1, &clock, -1.0, 0);
    assert_int_equal(workqueue_add_rate_limited(q, "ns/a"), 0);
    atomic_store(&clock.now, 1000);
    expect_get(q, "ns/a");
    workqueue_done(q, "ns/a");
    assert_int_equal(workqueue_failures(q, "ns/a"), 1);
    assert_int_equal(workqueue_add(q, "ns/b"), 0);
    assert_int_equal(workqueue_failures(q, "ns/a"), 0);
    assert_int_equal(workqueue_add(q, "ns/a"), -1);
    workqueue_free(q);
}

static void test_many_keys(void **state)
{
    (void)state;
    /* Enough keys to make the hash table probe and shift, added and removed in waves. */
    enum { N = 2000 };
    struct fake_clock clock = {0};
    workqueue *q = fake_queue(N, &clock, -1.0, 0);
    char key[WORKQUEUE_KEY_MAX];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            snprintf(key, sizeof(key), "ns-%d/vkc-%d", i % 7, i);
            if (i % 3 == 0)
                assert_int_equal(workqueue_add_after(q, key, (N - i) % 97 + 1), 0);
            else
                assert_int_equal(workqueue_add(q, key), 0);
        }
        assert_int_equal(workqueue_add(q, "ns/one-too-many"), -1);
        atomic_store(&clock.now, atomic_load(&clock.now) + 100);
        assert_int_equal(workqueue_len(q), N);
        static bool seen[N];
        memset(seen, 0, sizeof(seen));
        int got = 0;
        while (workqueue_get(q, key, sizeof(key), 0) == 1) {
            int ns, i;
            assert_int_equal(sscanf(key, "ns-%d/vkc-%d", &ns, &i), 2);
            assert_true(i >= 0 && i < N && !seen[i]);
            seen[i] = true;
            got++;
            workqueue_done(q, key);
        }
        assert_int_equal(got, N);
    }
    workqueue_free(q);
}

static void test_get_timeout(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(4, NULL);
    assert_non_null(q);
    char key[WORKQUEUE_KEY_MAX];
    int64_t t0 = clock_now_ms();
    assert_int_equal(workqueue_get(q, key, sizeof(key), 50), 0);
    int64_t waited = clock_now_ms() - t0;
    assert_true(waited >= 50);
    assert_true(waited < 3000);

    /* A delayed key not due within the timeout: still a timeout. */
    assert_int_equal(workqueue_add_after(q, "ns/later", 5000), 0);
    assert_int_equal(workqueue_get(q, key, sizeof(key), 30), 0);

    /* A delayed key due within the timeout wakes the waiter at its time. */
    t0 = clock_now_ms();
    assert_int_equal(workqueue_add_after(q, "ns/soon", 40), 0);
    assert_int_equal(workqueue_get(q, key, sizeof(key), 3000), 1);
    waited = clock_now_ms() - t0;
    assert_string_equal(key, "ns/soon");
    assert_true(waited >= 40);
    assert_true(waited < 2000);
    workqueue_done(q, key);
    workqueue_free(q);
}

struct blocked_get {
    workqueue *q;
    int64_t timeout_ms;
    int rc;
    char key[WORKQUEUE_KEY_MAX];
};

static void *blocked_get_main(void *arg)
{
    struct blocked_get *g = arg;
    g->rc = workqueue_get(g->q, g->key, sizeof(g->key), g->timeout_ms);
    return NULL;
}

static void test_shutdown(void **state)
{
    (void)state;
    /* A get blocked without a timeout is woken with -1. */
    workqueue *q = workqueue_new(4, NULL);
    assert_non_null(q);
    struct blocked_get g[2] = {{.q = q, .timeout_ms = -1, .rc = 9},
                               {.q = q, .timeout_ms = 20000, .rc = 9}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, blocked_get_main, &g[i]), 0);
    sleep_ms(50);
    int64_t t0 = clock_now_ms();
    workqueue_shutdown(q);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_true(clock_now_ms() - t0 < 5000);
    assert_int_equal(g[0].rc, -1);
    assert_int_equal(g[1].rc, -1);
    assert_int_equal(workqueue_add(q, "ns/a"), -1);
    workqueue_shutdown(q); /* idempotent */
    workqueue_free(q);

    /* Ready keys are drained first; delayed ones are dropped; adds are refused. */
    q = workqueue_new(8, NULL);
    assert_non_null(q);
    assert_int_equal(workqueue_add(q, "ns/a"), 0);
    assert_int_equal(workqueue_add(q, "ns/b"), 0);
    assert_int_equal(workqueue_add_after(q, "ns/c", 1), 0);
    expect_get(q, "ns/a");
    assert_int_equal(workqueue_add(q, "ns/a"), 0); /* dirty before shutdown */
    workqueue_shutdown(q);
    sleep_ms(5);
    assert_int_equal(workqueue_add(q, "ns/d"), -1);
    assert_int_equal(workqueue_add_after(q, "ns/d", 5), -1);
    assert_int_equal(workqueue_add_rate_limited(q, "ns/d"), -1);
    assert_int_equal(workqueue_len(q), 1);
    expect_get(q, "ns/b");
    workqueue_done(q, "ns/a"); /* re-queued for the drain */
    expect_get(q, "ns/a");
    char key[WORKQUEUE_KEY_MAX];
    assert_int_equal(workqueue_get(q, key, sizeof(key), -1), -1);
    assert_int_equal(workqueue_get(q, key, sizeof(key), 0), -1);
    workqueue_done(q, "ns/a");
    workqueue_done(q, "ns/b");
    workqueue_free(q);
}

static void test_blocked_get_sees_fake_clock(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    workqueue *q = fake_queue(4, &clock, -1.0, 0);
    assert_int_equal(workqueue_add_after(q, "ns/k", 3000), 0);
    struct blocked_get g = {.q = q, .timeout_ms = 20000, .rc = 9};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, blocked_get_main, &g), 0);
    sleep_ms(30);
    int64_t t0 = clock_now_ms();
    atomic_store(&clock.now, 3000);
    assert_int_equal(pthread_join(th, NULL), 0);
    /* Noticed within a few polls, not after 3000 ms of real time or the timeout. */
    assert_true(clock_now_ms() - t0 < 1000);
    assert_int_equal(g.rc, 1);
    assert_string_equal(g.key, "ns/k");
    workqueue_free(q);
}

/* ---- concurrency: a key is never held by two workers at once ---- */

enum { STRESS_KEYS = 64, STRESS_WORKERS = 4, STRESS_PRODUCERS = 2, STRESS_ROUNDS = 100 };

struct stress {
    workqueue *q;
    _Atomic int holders[STRESS_KEYS];   /* workers holding the key right now */
    _Atomic int adds[STRESS_KEYS];      /* adds made so far */
    _Atomic int seen[STRESS_KEYS];      /* adds made when its latest processing began */
    _Atomic int processed[STRESS_KEYS]; /* times handed out */
    _Atomic int overlaps;               /* times a key was handed out while held */
    _Atomic int bad_keys;
    _Atomic int refused;
};

static void *stress_worker(void *arg)
{
    struct stress *s = arg;
    char key[WORKQUEUE_KEY_MAX];
    unsigned spin = 0;
    for (;;) {
        int rc = workqueue_get(s->q, key, sizeof(key), 100);
        if (rc < 0)
            break;
        if (rc == 0)
            continue;
        int k = -1;
        if (sscanf(key, "stress/k%d", &k) != 1 || k < 0 || k >= STRESS_KEYS) {
            atomic_fetch_add(&s->bad_keys, 1);
            workqueue_done(s->q, key);
            continue;
        }
        if (atomic_fetch_add(&s->holders[k], 1) != 0)
            atomic_fetch_add(&s->overlaps, 1);
        atomic_store(&s->seen[k], atomic_load(&s->adds[k]));
        atomic_fetch_add(&s->processed[k], 1);
        /* Hold it a while, so that adds and other workers race with the processing. */
        struct timespec hold = {.tv_sec = 0, .tv_nsec = (++spin % 4 == 0) ? 200000 : 20000};
        nanosleep(&hold, NULL);
        atomic_fetch_sub(&s->holders[k], 1);
        workqueue_done(s->q, key);
    }
    return NULL;
}

static void *stress_producer(void *arg)
{
    struct stress *s = arg;
    char key[WORKQUEUE_KEY_MAX];
    /* Odd rounds add in bursts (the queue fills, adds collapse); even rounds add slowly, so
     * the queue is short and keys are often added while a worker holds them. */
    for (int r = 0; r < STRESS_ROUNDS; r++) {
        for (int i = 0; i < STRESS_KEYS; i++) {
            int k = (i * 37 + r) % STRESS_KEYS;
            snprintf(key, sizeof(key), "stress/k%d", k);
            atomic_fetch_add(&s->adds[k], 1);
            if (workqueue_add(s->q, key) != 0)
                atomic_fetch_add(&s->refused, 1);
            if (r % 2 == 0) {
                struct timespec pause = {.tv_sec = 0, .tv_nsec = 10000};
                nanosleep(&pause, NULL);
            }
        }
    }
    return NULL;
}

static void test_concurrent_workers(void **state)
{
    (void)state;
    struct stress *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->q = workqueue_new(STRESS_KEYS, NULL);
    assert_non_null(s->q);

    pthread_t workers[STRESS_WORKERS], producers[STRESS_PRODUCERS];
    for (int i = 0; i < STRESS_WORKERS; i++)
        assert_int_equal(pthread_create(&workers[i], NULL, stress_worker, s), 0);
    for (int i = 0; i < STRESS_PRODUCERS; i++)
        assert_int_equal(pthread_create(&producers[i], NULL, stress_producer, s), 0);
    for (int i = 0; i < STRESS_PRODUCERS; i++)
        assert_int_equal(pthread_join(producers[i], NULL), 0);
    /* Shut down right away: the drain must still process every key added before. */
    workqueue_shutdown(s->q);
    for (int i = 0; i < STRESS_WORKERS; i++)
        assert_int_equal(pthread_join(workers[i], NULL), 0);

    assert_int_equal(atomic_load(&s->overlaps), 0);
    assert_int_equal(atomic_load(&s->bad_keys), 0);
    assert_int_equal(atomic_load(&s->refused), 0);
    long total = 0;
    for (int k = 0; k < STRESS_KEYS; k++) {
        int adds = atomic_load(&s->adds[k]);
        assert_int_equal(adds, STRESS_PRODUCERS * STRESS_ROUNDS);
        /* Its last processing began after its last add: nothing added was lost. */
        if (atomic_load(&s->seen[k]) != adds)
            print_error("key %d: last processed after add %d of %d\n", k,
                        atomic_load(&s->seen[k]), adds);
        assert_int_equal(atomic_load(&s->seen[k]), adds);
        int processed = atomic_load(&s->processed[k]);
        assert_true(processed >= 1 && processed <= adds);
        total += processed;
    }
    /* De-duplication did collapse adds (there were far more adds than hand-outs). */
    assert_true(total < (long)STRESS_KEYS * STRESS_PRODUCERS * STRESS_ROUNDS);
    assert_int_equal(workqueue_len(s->q), 0);
    workqueue_free(s->q);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedup_and_fifo),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_add_while_processing),
        cmocka_unit_test(test_add_after_ordering),
        cmocka_unit_test(test_delay_while_processing),
        cmocka_unit_test(test_rate_limited_per_item),
        cmocka_unit_test(test_rate_limited_bucket),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_get_timeout),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_blocked_get_sees_fake_clock),
        cmocka_unit_test(test_concurrent_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
