/* test_failover_select.c — unit and property tests for controller/failover_select.c.
 *
 * The property tests generate thousands of replica sets from a seeded PRNG (the seed is printed
 * on a failure, so a failing set can be replayed) and check failover_select against a brute-force
 * model written from the rule in docs/api.md and the design (architecture.md, "Select"), not from
 * failover_select.c:
 *   eligible: a reachable replica, priority above 0, and, when maxLagBytes is above 0, no more
 *             than maxLagBytes behind any offset known to be reached: the old primary's (the
 *             reference, -1 when unknown) and every reachable replica's;
 *   choice:   the eligible one that no other eligible one beats, where b beats a when b has the
 *             higher priority, or the same priority and the higher offset, or the same priority,
 *             the same offset and the lower pod name (byte order, as strcmp).
 * The model checks every pair and every known offset directly; it has no running maximum and no
 * comparator shared with the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "failover_select.h"

#define MAXN 16
#define TRIALS 20000

/* ---- a small seeded PRNG (xorshift64*) ------------------------------------------------- */

static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s ? s : 0x9E3779B97F4A7C15ull; }

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n). */
static uint64_t rng_below(uint64_t n) { return n ? rng_next() % n : 0; }

/* ---- generated replica sets ------------------------------------------------------------- */

struct set {
    size_t n;
    char names[MAXN][16];
    struct failover_candidate c[MAXN];
    long long max_lag;
    long long reference;
};

/* A replica set with many ties (priorities and offsets from small pools) so that every level
 * of the order is exercised. Names are unique. */
static void gen_set(struct set *s)
{
    static const int64_t prios[] = {0, 0, 1, 50, 100, 100, 100, 1000};
    static const long long offs[] = {-1, 0, 100, 1000, 1000, 5000, 5000, 5001, 100000};
    static const long long lags[] = {0, 0, 0, -5, 1, 100, 1000, 4000, 5000, 99000};
    bool used[100] = {false};

    memset(s, 0, sizeof(*s));
    s->n = (size_t)rng_below(MAXN + 1);
    for (size_t i = 0; i < s->n; i++) {
        unsigned id;
        do
            id = (unsigned)rng_below(100);
        while (used[id]);
        used[id] = true;
        /* Names of different lengths too ("pod-7" < "pod-70" < "pod-8"). */
        snprintf(s->names[i], sizeof(s->names[i]), "pod-%u", id);
        struct failover_candidate *c = &s->c[i];
        c->name = s->names[i];
        c->priority = rng_below(4) == 0 ? (int64_t)rng_below(1001)
                                        : prios[rng_below(sizeof(prios) / sizeof(prios[0]))];
        c->reachable = rng_below(10) < 8;
        c->is_replica = rng_below(10) < 9;
        c->offset = rng_below(4) == 0 ? (long long)rng_below(200000)
                                      : offs[rng_below(sizeof(offs) / sizeof(offs[0]))];
    }
    s->max_lag = lags[rng_below(sizeof(lags) / sizeof(lags[0]))];
    s->reference = rng_below(2) ? -1 : (long long)rng_below(120000);
}

/* ---- the model --------------------------------------------------------------------------- */

/* A reachable replica: the only pods a failover can promote. */
static bool model_live_replica(const struct failover_candidate *c) { return c->reachable && c->is_replica; }

/* Within maxLagBytes of every offset known to be reached (0 or less: no limit). */
static bool model_within_lag(const struct set *s, const struct failover_candidate *c)
{
    if (s->max_lag <= 0)
        return true;
    if (s->reference != -1 && s->reference - c->offset > s->max_lag)
        return false;
    for (size_t j = 0; j < s->n; j++)
        if (model_live_replica(&s->c[j]) && s->c[j].offset - c->offset > s->max_lag)
            return false;
    return true;
}

static bool model_eligible(const struct set *s, size_t i)
{
    const struct failover_candidate *c = &s->c[i];
    return model_live_replica(c) && c->priority > 0 && model_within_lag(s, c);
}

/* True when b beats a by the written rule (a and b have distinct names). */
static bool model_beats(const struct failover_candidate *b, const struct failover_candidate *a)
{
    bool higher_priority = b->priority > a->priority;
    bool same_priority_higher_offset = b->priority == a->priority && b->offset > a->offset;
    bool same_both_lower_name = b->priority == a->priority && b->offset == a->offset && strcmp(b->name, a->name) < 0;
    return higher_priority || same_priority_higher_offset || same_both_lower_name;
}

/* The index of the model's choice by brute force: the eligible one no other eligible one
 * beats; -1 when none is eligible. */
static int model_select(const struct set *s)
{
    int best = -1;
    for (size_t i = 0; i < s->n; i++) {
        if (!model_eligible(s, i))
            continue;
        bool beaten = false;
        for (size_t j = 0; j < s->n; j++)
            if (j != i && model_eligible(s, j) && model_beats(&s->c[j], &s->c[i]))
                beaten = true;
        if (!beaten) {
            assert_int_equal(best, -1); /* the rule leaves exactly one unbeaten */
            best = (int)i;
        }
    }
    return best;
}

/* The reason the header promises when nothing is eligible. */
static void model_why(const struct set *s, char *buf, size_t len)
{
    bool any_live = false, any_promotable = false;
    for (size_t i = 0; i < s->n; i++) {
        any_live = any_live || model_live_replica(&s->c[i]);
        any_promotable = any_promotable || (model_live_replica(&s->c[i]) && s->c[i].priority > 0);
    }
    if (!any_live)
        snprintf(buf, len, "no reachable replica");
    else if (!any_promotable)
        snprintf(buf, len, "every reachable replica has priority 0");
    else
        snprintf(buf, len, "every promotable replica is more than %lld bytes behind", s->max_lag);
}

static void dump_set(const struct set *s, uint64_t seed, int trial)
{
    print_error("seed %" PRIu64 " trial %d: n=%zu max_lag=%lld reference=%lld\n", seed, trial, s->n,
                s->max_lag, s->reference);
    for (size_t i = 0; i < s->n; i++)
        print_error("  [%zu] %s prio=%" PRId64 " reachable=%d replica=%d offset=%lld\n", i, s->c[i].name,
                    s->c[i].priority, s->c[i].reachable, s->c[i].is_replica, s->c[i].offset);
}

static void shuffle(struct set *s)
{
    for (size_t i = s->n; i > 1; i--) {
        size_t j = (size_t)rng_below(i);
        struct failover_candidate t = s->c[i - 1];
        s->c[i - 1] = s->c[j];
        s->c[j] = t;
    }
}

/* ---- property tests ---------------------------------------------------------------------- */

static void check_one(const struct set *s, uint64_t seed, int trial)
{
    char why[256] = "", why2[256] = "", want_why[256] = "";
    int want = model_select(s);
    int got = failover_select(s->c, s->n, s->max_lag, s->reference, why, sizeof(why));

    if (got != want) {
        dump_set(s, seed, trial);
        print_error("got %d (%s), want %d\n", got, got >= 0 ? s->c[got].name : why,
                    want);
    }
    assert_int_equal(got, want);
    if (got >= 0) {
        const struct failover_candidate *c = &s->c[got];
        assert_true(c->priority > 0);
        assert_true(c->reachable);
        assert_true(c->is_replica);
        assert_true(model_within_lag(s, c));
    } else {
        model_why(s, want_why, sizeof(want_why));
        if (strncmp(why, want_why, strlen(want_why)) != 0) {
            dump_set(s, seed, trial);
            print_error("why \"%s\", want it to start with \"%s\"\n", why, want_why);
        }
        assert_true(strncmp(why, want_why, strlen(want_why)) == 0);
        /* -1 exactly when nothing is eligible */
        for (size_t i = 0; i < s->n; i++)
            assert_false(model_eligible(s, i));
    }

    /* Deterministic: the same input gives the same answer and the same reason. */
    int again = failover_select(s->c, s->n, s->max_lag, s->reference, why2, sizeof(why2));
    assert_int_equal(again, got);
    if (got < 0)
        assert_string_equal(why2, why);
    /* why may be NULL. */
    assert_int_equal(failover_select(s->c, s->n, s->max_lag, s->reference, NULL, 0), got);
}

static void test_select_property(void **state)
{
    (void)state;
    const uint64_t seeds[] = {1, 42, 20261124, 0xDEADBEEFull};
    int none = 0, some = 0;
    for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
        rng_seed(seeds[k]);
        for (int t = 0; t < TRIALS / 4; t++) {
            struct set s;
            gen_set(&s);
            check_one(&s, seeds[k], t);
            if (model_select(&s) < 0)
                none++;
            else
                some++;
        }
    }
    /* The generator must exercise both outcomes in volume. */
    assert_true(none > 500);
    assert_true(some > 5000);
}

/* Independent of input order: every shuffle picks the same pod (by name). */
static void test_select_shuffle_invariant(void **state)
{
    (void)state;
    const uint64_t seed = 7;
    rng_seed(seed);
    for (int t = 0; t < 5000; t++) {
        struct set s;
        gen_set(&s);
        int first = failover_select(s.c, s.n, s.max_lag, s.reference, NULL, 0);
        const char *name = first >= 0 ? s.c[first].name : NULL;
        for (int k = 0; k < 4; k++) {
            shuffle(&s);
            int got = failover_select(s.c, s.n, s.max_lag, s.reference, NULL, 0);
            if ((got < 0) != (first < 0) || (got >= 0 && strcmp(s.c[got].name, name) != 0)) {
                dump_set(&s, seed, t);
                print_error("after a shuffle: %s, before: %s\n", got >= 0 ? s.c[got].name : "(none)",
                            name ? name : "(none)");
                fail();
            }
            check_one(&s, seed, t);
        }
    }
}

static int sign(int v) { return (v > 0) - (v < 0); }

/* failover_order is a total order on eligible candidates with distinct names: reflexive zero,
 * antisymmetric, transitive, and agrees with the model. */
static void test_order_total(void **state)
{
    (void)state;
    const uint64_t seed = 99;
    rng_seed(seed);
    for (int t = 0; t < 4000; t++) {
        struct set s;
        gen_set(&s);
        /* every candidate, eligible or not: the order itself only reads priority, offset, name */
        for (size_t i = 0; i < s.n; i++) {
            assert_int_equal(failover_order(&s.c[i], &s.c[i]), 0);
            for (size_t j = 0; j < s.n; j++) {
                if (i == j)
                    continue;
                int ij = failover_order(&s.c[i], &s.c[j]), ji = failover_order(&s.c[j], &s.c[i]);
                assert_int_not_equal(ij, 0); /* 0 only for the same name */
                assert_int_equal(sign(ij), -sign(ji));
                assert_int_equal(ij < 0, model_beats(&s.c[i], &s.c[j]));
                for (size_t k = 0; k < s.n; k++) {
                    if (k == i || k == j)
                        continue;
                    if (ij < 0 && failover_order(&s.c[j], &s.c[k]) < 0)
                        assert_true(failover_order(&s.c[i], &s.c[k]) < 0);
                }
            }
        }
    }
}

/* ---- hand-written cases ------------------------------------------------------------------ */

#define CAND(n, p, r, rep, o) {.name = (n), .priority = (p), .reachable = (r), .is_replica = (rep), .offset = (o)}

static int sel(const struct failover_candidate *c, size_t n, long long lag, long long ref, char *why)
{
    return failover_select(c, n, lag, ref, why, 256);
}

static void test_priority_beats_offset(void **state)
{
    (void)state;
    struct failover_candidate c[] = {CAND("a", 100, true, true, 9000), CAND("b", 200, true, true, 10),
                                     CAND("c", 150, true, true, 50000)};
    char why[256];
    assert_int_equal(sel(c, 3, 0, -1, why), 1);
}

static void test_offset_beats_name(void **state)
{
    (void)state;
    struct failover_candidate c[] = {CAND("a", 100, true, true, 10), CAND("b", 100, true, true, 11),
                                     CAND("c", 100, true, true, 11)};
    char why[256];
    assert_int_equal(sel(c, 3, 0, -1, why), 1); /* b and c tie on offset; b is the lower name */
}

static void test_priority_zero_never(void **state)
{
    (void)state;
    struct failover_candidate c[] = {CAND("a", 0, true, true, 1000000), CAND("b", 1, true, true, 0)};
    char why[256];
    assert_int_equal(sel(c, 2, 0, -1, why), 1);
    /* and with a lag limit the priority-0 replica's offset is still the reference */
    assert_int_equal(sel(c, 2, 100, -1, why), -1);
    assert_true(strncmp(why, "every promotable replica is more than 100 bytes behind", 54) == 0);
    c[1].priority = 0;
    assert_int_equal(sel(c, 2, 0, -1, why), -1);
    assert_string_equal(why, "every reachable replica has priority 0");
}

static void test_unreachable_and_primary_never(void **state)
{
    (void)state;
    struct failover_candidate c[] = {CAND("a", 1000, false, true, 99), CAND("b", 1000, true, false, 99),
                                     CAND("c", 1, true, true, 1)};
    char why[256];
    assert_int_equal(sel(c, 3, 0, -1, why), 2);
    c[2].reachable = false;
    assert_int_equal(sel(c, 3, 0, -1, why), -1);
    assert_string_equal(why, "no reachable replica");
    assert_int_equal(sel(c, 0, 0, -1, why), -1);
    assert_string_equal(why, "no reachable replica");
}

static void test_max_lag_reference(void **state)
{
    (void)state;
    struct failover_candidate c[] = {CAND("a", 200, true, true, 1000), CAND("b", 100, true, true, 4000)};
    char why[256];
    /* reference -1: top is b's 4000; a is 3000 behind */
    assert_int_equal(sel(c, 2, 3000, -1, why), 0); /* exactly max_lag behind: allowed */
    assert_int_equal(sel(c, 2, 2999, -1, why), 1);
    /* reference above every replica: the old primary's offset is the top */
    assert_int_equal(sel(c, 2, 3000, 5000, why), 1);
    assert_int_equal(sel(c, 2, 999, 5000, why), -1);
    assert_string_equal(why, "every promotable replica is more than 999 bytes behind (spec.failover.maxLagBytes)");
    /* reference below the replicas: ignored */
    assert_int_equal(sel(c, 2, 3000, 10, why), 0);
    /* 0 (and, defensively, a negative value) means no limit */
    assert_int_equal(sel(c, 2, 0, 1000000, why), 0);
    assert_int_equal(sel(c, 2, -1, 1000000, why), 0);
    /* an unreachable replica's stale offset does not move the top */
    struct failover_candidate d[] = {CAND("a", 100, true, true, 1000), CAND("z", 100, false, true, 900000)};
    assert_int_equal(sel(d, 2, 10, -1, why), 0);
}

static void test_why_truncated_safely(void **state)
{
    (void)state;
    struct failover_candidate c[] = {CAND("a", 0, true, true, 1)};
    char why[8];
    memset(why, 'x', sizeof(why));
    assert_int_equal(failover_select(c, 1, 0, -1, why, sizeof(why)), -1);
    assert_string_equal(why, "every r");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_property),
        cmocka_unit_test(test_select_shuffle_invariant),
        cmocka_unit_test(test_order_total),
        cmocka_unit_test(test_priority_beats_offset),
        cmocka_unit_test(test_offset_beats_name),
        cmocka_unit_test(test_priority_zero_never),
        cmocka_unit_test(test_unreachable_and_primary_never),
        cmocka_unit_test(test_max_lag_reference),
        cmocka_unit_test(test_why_truncated_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
