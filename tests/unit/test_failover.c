/* test_failover.c — the engine's order of steps (record, then act) and its refusals, with hooks
 * that record every call. The nodes' addresses are unreachable on purpose (127.0.0.1 port 1):
 * a step that would touch a server after a refusal shows up as a failed promotion. */
#include "failover.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct calls {
    int records, roles, finishes;
    int refuse_record, refuse_unlabel;
    char log[512];
    bool finish_ok;
};

static int rec(void *ctx, long long epoch, const char *from, const char *cand)
{
    struct calls *c = ctx;
    c->records++;
    size_t n = strlen(c->log);
    snprintf(c->log + n, sizeof(c->log) - n, "record(%lld,%s,%s);", epoch, from, cand);
    return c->refuse_record ? -1 : 0;
}

static int role(void *ctx, const char *pod, const char *r)
{
    struct calls *c = ctx;
    c->roles++;
    size_t n = strlen(c->log);
    snprintf(c->log + n, sizeof(c->log) - n, "role(%s,%s);", pod, r ? r : "none");
    return (!r && c->refuse_unlabel) ? -1 : 0;
}

static void fin(void *ctx, long long epoch, const char *from, const char *to, long ms, bool ok, const char *why)
{
    struct calls *c = ctx;
    (void)epoch, (void)from, (void)to, (void)ms, (void)why;
    c->finishes++;
    c->finish_ok = ok;
}

static const struct failover_hooks hooks = {rec, role, fin};

static void node(struct failover_node *n, const char *name, int64_t prio, bool reachable, bool primary,
                 long long offset)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", name);
    snprintf(n->host, sizeof(n->host), "127.0.0.1");
    n->port = 1; /* nothing listens: any REPLICAOF fails */
    n->priority = prio;
    n->reachable = reachable;
    n->info.is_primary = primary;
    n->info.repl_offset = offset;
}

static void three(struct failover_node *nodes)
{
    node(&nodes[0], "db-0", 100, false, true, 500);
    node(&nodes[1], "db-1", 100, true, false, 400);
    node(&nodes[2], "db-2", 100, true, false, 450);
}

/* No eligible replica: nothing is recorded and no label moves. */
static void test_nothing_eligible_changes_nothing(void **state)
{
    (void)state;
    struct failover_node nodes[3];
    struct calls c = {0};
    char err[256];
    three(nodes);
    nodes[1].reachable = nodes[2].reachable = false;
    struct failover_plan p = {.nodes = nodes, .n = 3, .old_primary = 0, .epoch = 7, .timeout_ms = 100,
                              .hooks = &hooks, .ctx = &c};
    assert_int_equal(failover_run(&p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no reachable replica"));
    assert_int_equal(c.records + c.roles + c.finishes, 0);
}

/* The record comes first, with the new epoch and the best candidate (highest offset); when it
 * is refused (a 409: someone else acted) nothing else happens. */
static void test_refused_record_stops_before_acting(void **state)
{
    (void)state;
    struct failover_node nodes[3];
    struct calls c = {.refuse_record = 1};
    char err[256];
    three(nodes);
    struct failover_plan p = {.nodes = nodes, .n = 3, .old_primary = 0, .epoch = 7, .timeout_ms = 100,
                              .hooks = &hooks, .ctx = &c};
    assert_int_equal(failover_run(&p, err, sizeof(err)), -1);
    assert_string_equal(c.log, "record(7,db-0,db-2);");
    assert_int_equal(c.roles, 0);
    assert_int_equal(c.finishes, 0);
}

/* The old primary's label must go before anything is promoted: when it cannot be removed the
 * attempt ends (finish with ok false) and no server is touched, so two pods never carry the
 * primary label. */
static void test_unlabel_failure_stops_promotion(void **state)
{
    (void)state;
    struct failover_node nodes[3];
    struct calls c = {.refuse_unlabel = 1};
    char err[256];
    three(nodes);
    struct failover_plan p = {.nodes = nodes, .n = 3, .old_primary = 0, .epoch = 3, .timeout_ms = 100,
                              .hooks = &hooks, .ctx = &c};
    assert_int_equal(failover_run(&p, err, sizeof(err)), -1);
    assert_string_equal(c.log, "record(3,db-0,db-2);role(db-0,none);");
    assert_int_equal(c.finishes, 1);
    assert_false(c.finish_ok);
    assert_non_null(strstr(err, "label"));
}

/* Record, un-label, then REPLICAOF NO ONE, which fails here (nothing listens): the attempt is
 * reported failed and the candidate is never labelled primary. */
static void test_failed_promotion_never_labels(void **state)
{
    (void)state;
    struct failover_node nodes[3];
    struct calls c = {0};
    char err[256];
    three(nodes);
    struct failover_plan p = {.nodes = nodes, .n = 3, .old_primary = 0, .epoch = 1, .timeout_ms = 100,
                              .hooks = &hooks, .ctx = &c};
    assert_int_equal(failover_run(&p, err, sizeof(err)), -1);
    assert_string_equal(c.log, "record(1,db-0,db-2);role(db-0,none);");
    assert_int_equal(c.finishes, 1);
    assert_false(c.finish_ok);
    assert_non_null(strstr(err, "REPLICAOF NO ONE failed"));
}

/* Without an old primary (its pod is gone) nothing is un-labelled; the record names "". */
static void test_gone_primary(void **state)
{
    (void)state;
    struct failover_node nodes[3];
    struct calls c = {.refuse_record = 1};
    char err[256];
    three(nodes);
    struct failover_plan p = {.nodes = nodes + 1, .n = 2, .old_primary = -1, .epoch = 2, .timeout_ms = 100,
                              .hooks = &hooks, .ctx = &c};
    assert_int_equal(failover_run(&p, err, sizeof(err)), -1);
    assert_string_equal(c.log, "record(2,,db-2);");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_eligible_changes_nothing),
        cmocka_unit_test(test_refused_record_stops_before_acting),
        cmocka_unit_test(test_unlabel_failure_stops_promotion),
        cmocka_unit_test(test_failed_promotion_never_labels),
        cmocka_unit_test(test_gone_primary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
