/* test_monitor.c — the primary monitor (controller/monitor.c) without its thread: caches filled
 * by hand (informer_new_cache), rounds run by hand (monitor_refresh, monitor_due,
 * monitor_record) and probe results given by the test. Which pod of which cluster is probed,
 * with which password, how often; when a primary is down (SDOWN) and on_down is called; what
 * monitor_reset and a moved primary forget. No Valkey server is contacted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "desired.h"
#include "informer.h"
#include "log.h"
#include "monitor.h"

#define NS "shop"
#define TARGETS 16
#define MANY 12 /* more primaries than the old fixed table of 8 down keys */

struct world {
    struct informer *clusters, *pods, *secrets;
    struct monitor *m;
    int downs;          /* on_down calls */
    char down_key[256]; /* the last key on_down was given */
    struct probe_target t[TARGETS];
};

static void on_down(void *ctx, const char *key)
{
    struct world *w = ctx;
    w->downs++;
    snprintf(w->down_key, sizeof(w->down_key), "%s", key);
}

static int setup(void **state)
{
    char err[128];
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->clusters = informer_new_cache("valkeyclusters");
    w->pods = informer_new_cache("pods");
    w->secrets = informer_new_cache("secrets");
    w->m = monitor_new(w->clusters, w->pods, w->secrets, on_down, w, err, sizeof(err));
    assert_non_null(w->m);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    monitor_stop(w->m);
    informer_stop(w->clusters);
    informer_stop(w->pods);
    informer_stop(w->secrets);
    free(w);
    return 0;
}

/* Puts a ValkeyCluster into the cache: namespace, name, spec as JSON text (defaults fill the
 * rest), and whether it is being deleted. */
static void cluster(struct world *w, const char *ns, const char *name, const char *spec, bool deleting)
{
    json_error_t e;
    json_t *sp = json_loads(spec, 0, &e);
    assert_non_null(sp);
    json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "gungnir.dev/v1alpha1", "kind",
                          "ValkeyCluster", "metadata", "name", name, "namespace", ns, "spec", sp);
    assert_non_null(o);
    if (deleting)
        json_object_set_new(json_object_get(o, "metadata"), "deletionTimestamp", json_string("2026-11-24T16:00:00Z"));
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);
}

/* Puts a pod into the cache: namespace, name, instance label, role label (NULL: none), IP
 * (NULL: none yet), whether it is being deleted. */
static void pod(struct world *w, const char *ns, const char *name, const char *instance, const char *role,
                const char *ip, bool deleting)
{
    json_t *labels = json_pack("{s:s}", "app.kubernetes.io/instance", instance);
    if (role)
        json_object_set_new(labels, DESIRED_ROLE_LABEL, json_string(role));
    json_t *o = json_pack("{s:{s:s, s:s, s:o}, s:{}}", "metadata", "name", name, "namespace", ns, "labels", labels,
                          "status");
    assert_non_null(o);
    if (ip)
        json_object_set_new(json_object_get(o, "status"), "podIP", json_string(ip));
    if (deleting)
        json_object_set_new(json_object_get(o, "metadata"), "deletionTimestamp", json_string("2026-11-24T16:00:00Z"));
    informer_cache_apply(w->pods, INFORMER_MODIFIED, o);
    json_decref(o);
}

/* The auth Secret name in ns with data.password = b64 (base64 text). */
static void secret(struct world *w, const char *ns, const char *name, const char *b64)
{
    json_t *o = json_pack("{s:{s:s, s:s}, s:{s:s}}", "metadata", "name", name, "namespace", ns, "data", "password", b64);
    assert_non_null(o);
    informer_cache_apply(w->secrets, INFORMER_ADDED, o);
    json_decref(o);
}

/* Cluster "cache" in NS with the given spec, its primary cache-0 at 10.0.0.10, a replica
 * cache-1, and its auth Secret (password "s3cret"). */
static void one_cluster(struct world *w, const char *spec)
{
    cluster(w, NS, "cache", spec, false);
    pod(w, NS, "cache-0", "cache", DESIRED_ROLE_PRIMARY, "10.0.0.10", false);
    pod(w, NS, "cache-1", "cache", DESIRED_ROLE_REPLICA, "10.0.0.11", false);
    secret(w, NS, "cache-auth", "czNjcmV0");
}

static struct probe_result failed(void)
{
    struct probe_result r = {.ok = false};
    snprintf(r.err, sizeof(r.err), "connect: Connection refused");
    return r;
}

/* An answer: primary or not, with its run_id and offset. */
static struct probe_result answered(bool primary, const char *run_id, long long offset)
{
    struct probe_result r = {.ok = true, .latency_ms = 0.3};
    r.info.is_primary = primary;
    r.info.repl_offset = offset;
    snprintf(r.info.run_id, sizeof(r.info.run_id), "%s", run_id);
    return r;
}

/* One round at now_ms where the single due target gets result r. Returns monitor_record's
 * answer (how many went down). */
static size_t probe_once(struct world *w, int64_t now_ms, struct probe_result r)
{
    assert_int_equal(monitor_due(w->m, now_ms, w->t, TARGETS, NULL), 1);
    return monitor_record(w->m, w->t, &r, 1);
}

/* ---- which pod, which password, how often ------------------------------------------------ */

/* Only the primary-labelled pod of a cluster with failover enabled is probed: not its replica,
 * not a cluster with failover off, not one being deleted, not a pod of another instance. */
static void test_targets_from_the_caches(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{}");
    cluster(w, NS, "nofail", "{\"failover\": {\"enabled\": false}}", false);
    pod(w, NS, "nofail-0", "nofail", DESIRED_ROLE_PRIMARY, "10.0.1.10", false);
    cluster(w, NS, "gone", "{}", true);
    pod(w, NS, "gone-0", "gone", DESIRED_ROLE_PRIMARY, "10.0.2.10", false);
    secret(w, NS, "gone-auth", "czNjcmV0");
    pod(w, NS, "cachex-0", "cachex", DESIRED_ROLE_PRIMARY, "10.0.3.10", false); /* no such cluster */
    cluster(w, "other", "empty", "{}", false);                                  /* no primary yet */
    secret(w, "other", "empty-auth", "czNjcmV0");

    assert_int_equal(monitor_refresh(w->m), 1);
    long timeout = 0;
    assert_int_equal(monitor_due(w->m, 0, w->t, TARGETS, &timeout), 1);
    assert_string_equal(w->t[0].key, NS "/cache/cache-0");
    assert_string_equal(w->t[0].host, "10.0.0.10");
    assert_int_equal(w->t[0].port, DESIRED_PORT);
    assert_string_equal(w->t[0].password, "s3cret");
    assert_int_equal(timeout, 500);
}

/* A primary pod being deleted, or with no IP yet, is not probed. */
static void test_primary_deleting_or_without_ip_is_not_probed(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{}");
    pod(w, NS, "cache-0", "cache", DESIRED_ROLE_PRIMARY, "10.0.0.10", true);
    assert_int_equal(monitor_refresh(w->m), 0);
    pod(w, NS, "cache-0", "cache", DESIRED_ROLE_PRIMARY, NULL, false);
    assert_int_equal(monitor_refresh(w->m), 0);
    assert_int_equal(monitor_due(w->m, 0, w->t, TARGETS, NULL), 0);
}

/* With auth on, the primary is probed only once the password is known (probing without it would
 * only fail and fail over a healthy primary); with auth off, with no password. */
static void test_password_from_the_secret_cache(void **state)
{
    struct world *w = *state;
    cluster(w, NS, "cache", "{}", false);
    pod(w, NS, "cache-0", "cache", DESIRED_ROLE_PRIMARY, "10.0.0.10", false);
    assert_int_equal(monitor_refresh(w->m), 0);
    secret(w, NS, "cache-auth", "b3RoZXI="); /* "other" */
    assert_int_equal(monitor_refresh(w->m), 1);
    assert_int_equal(monitor_due(w->m, 0, w->t, TARGETS, NULL), 1);
    assert_string_equal(w->t[0].password, "other");

    cluster(w, NS, "open", "{\"auth\": {\"enabled\": false}}", false);
    pod(w, NS, "open-0", "open", DESIRED_ROLE_PRIMARY, "10.0.4.10", false);
    assert_int_equal(monitor_refresh(w->m), 2);
    assert_int_equal(monitor_due(w->m, 0, w->t, TARGETS, NULL), 1);
    assert_string_equal(w->t[0].key, NS "/open/open-0");
    assert_string_equal(w->t[0].password, "");
}

/* A user's Secret (spec.auth.secretName) has none of our labels, so the Secret cache never
 * holds it: the reconcile hands the password over, and the primary is probed with it (before,
 * such a cluster was never probed, so a hung primary was never replaced). */
static void test_a_user_secrets_password_is_handed_over(void **state)
{
    struct world *w = *state;
    cluster(w, NS, "cache", "{\"auth\": {\"secretName\": \"mine\"}}", false);
    pod(w, NS, "cache-0", "cache", DESIRED_ROLE_PRIMARY, "10.0.0.10", false);
    assert_int_equal(monitor_refresh(w->m), 0); /* no password known: probing would only fail */

    monitor_set_password(w->m, NS, "cache", "us3r pw");
    assert_int_equal(monitor_refresh(w->m), 1);
    assert_int_equal(monitor_due(w->m, 0, w->t, TARGETS, NULL), 1);
    assert_string_equal(w->t[0].password, "us3r pw");

    /* A rotated one replaces it. */
    monitor_set_password(w->m, NS, "cache", "n3w pw");
    monitor_refresh(w->m);
    assert_int_equal(monitor_due(w->m, 5000, w->t, TARGETS, NULL), 1);
    assert_string_equal(w->t[0].password, "n3w pw");

    /* Forgotten: not probed any more. */
    monitor_set_password(w->m, NS, "cache", NULL);
    assert_int_equal(monitor_refresh(w->m), 0);
}

/* A server that refuses the password answered: it is up. Refusals are not failures (a failover
 * could not reach the replicas with that password either), and do not reset a count. */
static void test_a_refused_password_is_not_a_failure(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{}");
    monitor_refresh(w->m);
    struct probe_result refused = {.ok = false, .auth_refused = true};
    snprintf(refused.err, sizeof(refused.err), "WRONGPASS invalid username-password pair");
    for (int i = 0; i < 10; i++)
        assert_int_equal(probe_once(w, i * 1000, refused), 0);
    assert_int_equal(w->downs, 0);
    assert_false(monitor_primary_down(w->m, NS, "cache", "cache-0", NULL, 0));
    /* Real failures still count to the threshold. */
    assert_int_equal(probe_once(w, 10000, failed()), 0);
    assert_int_equal(probe_once(w, 11000, failed()), 0);
    assert_int_equal(probe_once(w, 12000, failed()), 1);
}

/* Each primary at its own probeIntervalMilliseconds: due at once, then every interval; the
 * round's timeout is the smallest due interval (at most 500 ms). */
static void test_each_at_its_interval(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{\"failover\": {\"probeIntervalMilliseconds\": 2000}}");
    cluster(w, NS, "fast", "{\"auth\": {\"enabled\": false}, \"failover\": {\"probeIntervalMilliseconds\": 200}}",
            false);
    pod(w, NS, "fast-0", "fast", DESIRED_ROLE_PRIMARY, "10.0.5.10", false);
    assert_int_equal(monitor_refresh(w->m), 2);

    long timeout = 0;
    assert_int_equal(monitor_due(w->m, 1000, w->t, TARGETS, &timeout), 2);
    assert_int_equal(timeout, 200);
    assert_int_equal(monitor_due(w->m, 1199, w->t, TARGETS, &timeout), 0);
    assert_int_equal(monitor_due(w->m, 1200, w->t, TARGETS, &timeout), 1);
    assert_string_equal(w->t[0].key, NS "/fast/fast-0");
    assert_int_equal(timeout, 200);
    assert_int_equal(monitor_due(w->m, 2999, w->t, TARGETS, &timeout), 1); /* fast again, not cache */
    assert_string_equal(w->t[0].key, NS "/fast/fast-0");
    assert_int_equal(monitor_due(w->m, 3000, w->t, TARGETS, &timeout), 1);
    assert_string_equal(w->t[0].key, NS "/cache/cache-0");
    assert_int_equal(timeout, 500);
}

/* ---- the verdict ------------------------------------------------------------------------ */

/* failureThreshold (3) consecutive failed probes: down, on_down once with the cluster's key,
 * the reason kept; a down primary is not probed again and on_down is not repeated. */
static void test_down_after_threshold_failures(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{}");
    monitor_refresh(w->m);
    assert_int_equal(probe_once(w, 0, failed()), 0);
    assert_int_equal(probe_once(w, 1000, failed()), 0);
    assert_int_equal(w->downs, 0);
    assert_false(monitor_primary_down(w->m, NS, "cache", "cache-0", NULL, 0));
    assert_int_equal(probe_once(w, 2000, failed()), 1);

    assert_int_equal(w->downs, 1);
    assert_string_equal(w->down_key, NS "/cache");
    char why[160];
    assert_true(monitor_primary_down(w->m, NS, "cache", "cache-0", why, sizeof(why)));
    assert_string_equal(why, "3 probes failed: connect: Connection refused");
    assert_false(monitor_primary_down(w->m, NS, "cache", "cache-1", NULL, 0)); /* not that pod */
    assert_false(monitor_primary_down(w->m, NS, "other", "cache-0", NULL, 0));

    monitor_refresh(w->m);
    assert_int_equal(monitor_due(w->m, 10000, w->t, TARGETS, NULL), 0);
    struct probe_result r = failed();
    assert_int_equal(monitor_record(w->m, w->t, &r, 1), 0); /* a late result of the same target */
    assert_int_equal(w->downs, 1);
}

/* An answer in between starts the count again. */
static void test_an_answer_resets_the_count(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{}");
    monitor_refresh(w->m);
    probe_once(w, 0, failed());
    probe_once(w, 1000, failed());
    probe_once(w, 2000, answered(true, "aaaa", 100));
    probe_once(w, 3000, failed());
    assert_int_equal(probe_once(w, 4000, failed()), 0);
    assert_int_equal(w->downs, 0);
    assert_int_equal(probe_once(w, 5000, failed()), 1);
}

/* A server that answers but is no longer a primary fails its probe too. */
static void test_answering_replica_counts_as_failure(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{\"failover\": {\"failureThreshold\": 2}}");
    monitor_refresh(w->m);
    assert_int_equal(probe_once(w, 0, answered(false, "aaaa", 100)), 0);
    assert_int_equal(probe_once(w, 1000, answered(false, "aaaa", 100)), 1);
    char why[160];
    assert_true(monitor_primary_down(w->m, NS, "cache", "cache-0", why, sizeof(why)));
    assert_string_equal(why, "2 probes found it is not a primary");
}

/* A primary that restarted (new run_id) is down at the first answer that shows it. */
static void test_restart_is_down_at_once(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{}");
    monitor_refresh(w->m);
    assert_int_equal(probe_once(w, 0, answered(true, "aaaa", 5000)), 0);
    assert_int_equal(probe_once(w, 1000, answered(true, "bbbb", 0)), 1);
    char why[160];
    assert_true(monitor_primary_down(w->m, NS, "cache", "cache-0", why, sizeof(why)));
    assert_string_equal(why, "restarted (its run_id changed or its offset went back)");
    assert_int_equal(w->downs, 1);
}

/* ---- forgetting ------------------------------------------------------------------------- */

/* monitor_reset (after a failover) forgets the cluster: not down any more, and the primary the
 * caches name is watched again from a clean start, due at once. */
static void test_reset_starts_clean(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{\"failover\": {\"failureThreshold\": 1}}");
    monitor_refresh(w->m);
    assert_int_equal(probe_once(w, 0, failed()), 1);
    monitor_reset(w->m, NS, "cache");
    assert_false(monitor_primary_down(w->m, NS, "cache", "cache-0", NULL, 0));
    assert_int_equal(monitor_refresh(w->m), 1);
    assert_int_equal(probe_once(w, 1, answered(true, "cccc", 10)), 0); /* due at once */
    assert_int_equal(probe_once(w, 1001, failed()), 1);
    assert_int_equal(w->downs, 2);
}

/* The primary label moved to another pod: the new one is probed from a clean count, and a late
 * result for the old pod is not counted. */
static void test_moved_primary_starts_clean(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{}");
    monitor_refresh(w->m);
    probe_once(w, 0, failed());
    assert_int_equal(probe_once(w, 1000, failed()), 0);
    struct probe_target old = w->t[0];

    pod(w, NS, "cache-0", "cache", DESIRED_ROLE_REPLICA, "10.0.0.10", false);
    pod(w, NS, "cache-1", "cache", DESIRED_ROLE_PRIMARY, "10.0.0.11", false);
    assert_int_equal(monitor_refresh(w->m), 1);
    struct probe_result r = failed();
    assert_int_equal(monitor_record(w->m, &old, &r, 1), 0);
    assert_int_equal(probe_once(w, 2000, failed()), 0);
    assert_string_equal(w->t[0].key, NS "/cache/cache-1");
    assert_string_equal(w->t[0].host, "10.0.0.11");
    assert_int_equal(probe_once(w, 3000, failed()), 0);
    assert_int_equal(w->downs, 0);
    assert_int_equal(probe_once(w, 4000, failed()), 1);
    assert_true(monitor_primary_down(w->m, NS, "cache", "cache-1", NULL, 0));
}

/* A cluster gone from the cache (or whose failover was turned off) is forgotten. */
static void test_gone_cluster_is_forgotten(void **state)
{
    struct world *w = *state;
    one_cluster(w, "{\"failover\": {\"failureThreshold\": 1}}");
    monitor_refresh(w->m);
    assert_int_equal(probe_once(w, 0, failed()), 1);
    cluster(w, NS, "cache", "{\"failover\": {\"enabled\": false}}", false);
    assert_int_equal(monitor_refresh(w->m), 0);
    assert_false(monitor_primary_down(w->m, NS, "cache", "cache-0", NULL, 0));
    assert_int_equal(monitor_due(w->m, 5000, w->t, TARGETS, NULL), 0);
}

/* Several primaries down in one round: on_down for each. */
static void test_many_down_in_one_round(void **state)
{
    struct world *w = *state;
    char name[32], pname[32], ip[32];
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        snprintf(pname, sizeof(pname), "c%d-0", i);
        snprintf(ip, sizeof(ip), "10.0.9.%d", i + 1);
        cluster(w, NS, name, "{\"auth\": {\"enabled\": false}, \"failover\": {\"failureThreshold\": 1}}", false);
        pod(w, NS, pname, name, DESIRED_ROLE_PRIMARY, ip, false);
    }
    assert_int_equal(monitor_refresh(w->m), MANY);
    struct probe_result r[MANY];
    for (int i = 0; i < MANY; i++)
        r[i] = failed();
    assert_int_equal(monitor_due(w->m, 0, w->t, TARGETS, NULL), MANY);
    assert_int_equal(monitor_record(w->m, w->t, r, MANY), MANY);
    assert_int_equal(w->downs, MANY);
}


/* ---- no cap on the number of clusters -------------------------------------------------- */

#define THOUSANDS 1500 /* past the old fixed table of 1024 */

/* 1,500 clusters with failover: every primary is watched, due in one round, recorded, and goes
 * down; when half of the clusters are deleted the other half is still watched, and the table
 * shrinks without losing them. The pods get loopback IPs only (nothing is dialled here). */
static void test_thousands_of_clusters_are_all_monitored(void **state)
{
    struct world *w = *state;
    char name[32], pname[32], ip[32];
    log_set_level(LOG_ERROR); /* not 1,500 lines of "primary is down" */
    for (int i = 0; i < THOUSANDS; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        snprintf(pname, sizeof(pname), "c%d-0", i);
        snprintf(ip, sizeof(ip), "127.0.0.%d", 1 + i % 250);
        cluster(w, NS, name, "{\"auth\": {\"enabled\": false}, \"failover\": {\"failureThreshold\": 1}}", false);
        pod(w, NS, pname, name, DESIRED_ROLE_PRIMARY, ip, false);
    }
    assert_int_equal(monitor_refresh(w->m), THOUSANDS);
    assert_int_equal(monitor_refresh(w->m), THOUSANDS); /* found again, not added twice */

    struct probe_target *t = calloc(THOUSANDS + 10, sizeof(*t));
    struct probe_result *r = calloc(THOUSANDS + 10, sizeof(*r));
    bool *seen = calloc(THOUSANDS, sizeof(*seen));
    assert_non_null(t);
    assert_non_null(r);
    assert_non_null(seen);
    assert_int_equal(monitor_due(w->m, 0, t, THOUSANDS + 10, NULL), THOUSANDS);
    for (int k = 0; k < THOUSANDS; k++) {
        int i = -1, j = -2;
        assert_int_equal(sscanf(t[k].key, NS "/c%d/c%d-0", &i, &j), 2);
        assert_int_equal(i, j);
        assert_true(i >= 0 && i < THOUSANDS);
        assert_false(seen[i]);
        seen[i] = true;
        assert_int_equal(strncmp(t[k].host, "127.0.0.", 8), 0);
    }
    /* A caller with less room gets the rest at the next call. */
    assert_int_equal(monitor_due(w->m, 0, t, THOUSANDS, NULL), 0); /* none due again before 1 s */
    assert_int_equal(monitor_due(w->m, 1000, t, 1000, NULL), 1000);
    assert_int_equal(monitor_due(w->m, 1000, t + 1000, 1000, NULL), THOUSANDS - 1000);

    for (int k = 0; k < THOUSANDS; k++)
        r[k] = failed();
    assert_int_equal(monitor_record(w->m, t, r, THOUSANDS), THOUSANDS);
    assert_int_equal(w->downs, THOUSANDS);
    assert_true(monitor_primary_down(w->m, NS, "c1499", "c1499-0", NULL, 0));
    assert_int_equal(monitor_due(w->m, 5000, t, THOUSANDS, NULL), 0); /* all down */

    /* Half of them deleted: the other half is still watched, from where it was. */
    for (int i = 0; i < THOUSANDS; i += 2) {
        snprintf(name, sizeof(name), "c%d", i);
        json_t *o = json_pack("{s:{s:s, s:s}}", "metadata", "name", name, "namespace", NS);
        informer_cache_apply(w->clusters, INFORMER_DELETED, o);
        json_decref(o);
    }
    assert_int_equal(monitor_refresh(w->m), THOUSANDS / 2);
    assert_false(monitor_primary_down(w->m, NS, "c0", "c0-0", NULL, 0));
    assert_true(monitor_primary_down(w->m, NS, "c1", "c1-0", NULL, 0));
    for (int i = 1; i < THOUSANDS; i += 2) {
        snprintf(name, sizeof(name), "c%d", i);
        monitor_reset(w->m, NS, name);
    }
    assert_int_equal(monitor_refresh(w->m), THOUSANDS / 2);
    assert_int_equal(monitor_due(w->m, 6000, t, THOUSANDS, NULL), THOUSANDS / 2);
    for (int k = 0; k < THOUSANDS / 2; k++)
        r[k] = answered(true, "aaaa", 1);
    assert_int_equal(monitor_record(w->m, t, r, THOUSANDS / 2), 0);
    log_set_level(LOG_INFO);
    free(t);
    free(r);
    free(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_targets_from_the_caches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_primary_deleting_or_without_ip_is_not_probed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_from_the_secret_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_user_secrets_password_is_handed_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_refused_password_is_not_a_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_at_its_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_after_threshold_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_answer_resets_the_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answering_replica_counts_as_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_is_down_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_starts_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_primary_starts_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_cluster_is_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_down_in_one_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thousands_of_clusters_are_all_monitored, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
