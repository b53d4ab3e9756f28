/* test_reconcile_steps.c — the reconcile and each of its steps (owned_objects, roles,
 * planned_moves, failover_glue) against the fake kube_api (tests/support/fake_api.h) and
 * caches filled by hand: which writes each step makes, in which order, and what it does when
 * the API server answers with an error. No API server and no Valkey server: pods are given
 * the probe results a real prober would have written, and the only Valkey commands tried go
 * to 127.0.0.2:6379, where nothing listens, so they fail at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "cluster_writes.h"
#include "desired.h"
#include "failover_glue.h"
#include "fake_api.h"
#include "field_errors.h"
#include "first_election.h"
#include "metrics.h"
#include "owned_objects.h"
#include "planned_moves.h"
#include "reconcile.h"
#include "roles.h"
#include "storage_growth.h"
#include "vkc_defaults.h"
#include "vkc_validate.h"

#define NS "shop"
#define UID "6a1f0c2e-0000-4000-8000-000000000001"
#define RV "4711"
#define NOBODY "127.0.0.2" /* loopback, nothing listens on 6379: commands fail at once */

#define VKC_PATH "/apis/gungnir.dev/v1alpha1/namespaces/" NS "/valkeyclusters/cache"
#define STATUS_PATH VKC_PATH "/status"
#define PODS_PATH "/api/v1/namespaces/" NS "/pods/"
#define EVENTS_PATH "/api/v1/namespaces/" NS "/events"

/* ---- the world: a fake API, caches, an env ------------------------------------------------ */

struct world {
    struct fake_api fake;
    struct informer *clusters, *pods, *statefulsets, *services, *configmaps, *secrets, *pdbs;
    struct reconcile_env env;
    struct cluster_ctx c;
    json_t *vkc;      /* the defaulted copy c.spec borrows from */
    json_t *pod_list; /* the pods c.pods borrow from */
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    fake_api_init(&w->fake);
    w->clusters = informer_new_cache("valkeyclusters");
    w->pods = informer_new_cache("pods");
    w->statefulsets = informer_new_cache("statefulsets");
    w->services = informer_new_cache("services");
    w->configmaps = informer_new_cache("configmaps");
    w->secrets = informer_new_cache("secrets");
    w->pdbs = informer_new_cache("pdbs");
    w->env = (struct reconcile_env){.api = &w->fake.api, .clusters = w->clusters, .pods = w->pods,
                                    .statefulsets = w->statefulsets, .services = w->services,
                                    .configmaps = w->configmaps, .secrets = w->secrets, .pdbs = w->pdbs,
                                    .pdb_api_version = "policy/v1", .pdb_path = "/apis/policy/v1",
                                    .valkey_timeout_ms = 200};
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    cluster_ctx_release(&w->c);
    json_decref(w->vkc);
    json_decref(w->pod_list);
    fake_api_free(&w->fake);
    informer_stop(w->clusters);
    informer_stop(w->pods);
    informer_stop(w->statefulsets);
    informer_stop(w->services);
    informer_stop(w->configmaps);
    informer_stop(w->secrets);
    informer_stop(w->pdbs);
    free(w);
    return 0;
}

/* A ValkeyCluster "cache" in NS as the API server stores it (new). spec and status are JSON
 * text ("{}" for none). */
static json_t *make_vkc(const char *spec, const char *status)
{
    json_error_t e;
    json_t *sp = json_loads(spec, 0, &e), *st = json_loads(status, 0, &e);
    assert_non_null(sp);
    assert_non_null(st);
    json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:I}, s:o, s:o}", "apiVersion", "gungnir.dev/v1alpha1",
                          "kind", "ValkeyCluster", "metadata", "name", "cache", "namespace", NS, "uid", UID,
                          "resourceVersion", RV, "generation", (json_int_t)3, "spec", sp, "status", st);
    assert_non_null(o);
    return o;
}

/* Puts the cluster into the cache and fills w->c from it (defaulted and validated). */
static void use_cluster(struct world *w, const char *spec, const char *status)
{
    json_t *o = make_vkc(spec, status);
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    w->vkc = json_deep_copy(o);
    json_decref(o);
    ferr_list errs;
    ferr_init(&errs);
    assert_true(vkc_default(w->vkc, NULL) >= 0);
    assert_int_equal(vkc_validate_object(w->vkc, &errs, NULL, &w->c.spec), 0);
    w->c.env = &w->env;
    w->c.ns = NS;
    w->c.name = "cache";
    w->c.uid = UID;
    w->c.vkc = w->vkc;
}

/* A pod of the cluster: ordinal, IP, role label (NULL: none), Ready, template revision. */
static json_t *make_pod(int ordinal, const char *ip, const char *role, bool ready, const char *revision)
{
    char name[32];
    snprintf(name, sizeof(name), "cache-%d", ordinal);
    json_t *labels = json_pack("{s:s, s:s}", "app.kubernetes.io/instance", "cache", "controller-revision-hash",
                               revision ? revision : "rev-1");
    if (role)
        json_object_set_new(labels, DESIRED_ROLE_LABEL, json_string(role));
    char uid[48];
    snprintf(uid, sizeof(uid), "uid-%s", name);
    json_t *pod = json_pack("{s:{s:s, s:s, s:s, s:o}, s:{s:s, s:[{s:s, s:s}]}}", "metadata", "name", name, "namespace",
                            NS, "uid", uid, "labels", labels, "status", "podIP", ip, "conditions", "type", "Ready",
                            "status", ready ? "True" : "False");
    assert_non_null(pod);
    return pod;
}

/* Loads the pods (stolen) into w->c, as cluster_ctx_load_pods does in a reconcile. */
static void use_pods(struct world *w, json_t *pods)
{
    json_decref(w->pod_list);
    w->pod_list = pods;
    assert_int_equal(cluster_ctx_load_pods(&w->c, pods), 0);
}

/* The API server answers GETs of every pod in w->pod_list with the pod as it is there. */
static void pods_live(struct world *w)
{
    size_t i;
    json_t *pod;
    json_array_foreach(w->pod_list, i, pod)
    {
        char path[256];
        snprintf(path, sizeof(path), PODS_PATH "%s", json_string_value(json_object_get(json_object_get(pod, "metadata"), "name")));
        fake_api_answer(&w->fake, "GET", path, 200, json_deep_copy(pod), 0);
    }
}

/* What a probe saw: a primary, or a replica of master_ip with offset and link state. */
static void probed_primary(struct pod_view *p, long long offset)
{
    p->probed = true;
    memset(&p->info, 0, sizeof(p->info));
    p->info.is_primary = true;
    p->info.repl_offset = offset;
}

static void probed_replica(struct pod_view *p, const char *master_ip, long long offset, bool link_up)
{
    p->probed = true;
    memset(&p->info, 0, sizeof(p->info));
    snprintf(p->info.master_host, sizeof(p->info.master_host), "%s", master_ip);
    p->info.master_port = DESIRED_PORT;
    p->info.master_link_up = link_up;
    p->info.repl_offset = offset;
}

/* The role label a recorded pod PATCH sets: "primary", "replica", "null" (removed). */
static const char *label_in(const struct fake_call *call)
{
    static char buf[16];
    const json_t *v = json_object_get(json_object_get(json_object_get(call->body, "metadata"), "labels"),
                                      DESIRED_ROLE_LABEL);
    snprintf(buf, sizeof(buf), "%s", json_is_null(v) ? "null" : json_string_value(v) ? json_string_value(v) : "?");
    return buf;
}

/* The index of the first recorded call matching, or -1. */
static int index_of(const struct fake_api *f, const char *method, const char *prefix)
{
    const struct fake_call *c = fake_api_find(f, method, prefix, 0);
    return c ? (int)(c - f->calls) : -1;
}

/* True when an Event with this reason was posted. */
static bool event_posted(const struct fake_api *f, const char *reason)
{
    for (size_t i = 0; i < fake_api_count(f, "POST", EVENTS_PATH); i++) {
        const struct fake_call *c = fake_api_find(f, "POST", EVENTS_PATH, i);
        const char *r = json_string_value(json_object_get(c->body, "reason"));
        if (r && strcmp(r, reason) == 0)
            return true;
    }
    return false;
}

/* Feeds every object the fake saw applied or created back into the caches, and the last status
 * patch into the cached ValkeyCluster: the API server's state after those writes. */
static void replay_writes_into_caches(struct world *w)
{
    json_t *vkc = informer_get(w->clusters, NS, "cache");
    json_t *next = json_deep_copy(vkc);
    json_decref(vkc);
    for (size_t i = 0; i < w->fake.ncalls; i++) {
        const struct fake_call *call = &w->fake.calls[i];
        if (!call->body)
            continue;
        const char *kind = json_string_value(json_object_get(call->body, "kind"));
        struct informer *to = NULL;
        if (strstr(call->path, "/status")) {
            json_t *st = json_deep_copy(json_object_get(next, "status"));
            json_object_update(st, json_object_get(call->body, "status"));
            json_object_set_new(next, "status", st);
            continue;
        }
        if (!kind)
            continue;
        if (strcmp(kind, "ConfigMap") == 0)
            to = w->configmaps;
        else if (strcmp(kind, "Service") == 0)
            to = w->services;
        else if (strcmp(kind, "Secret") == 0)
            to = w->secrets;
        else if (strcmp(kind, "PodDisruptionBudget") == 0)
            to = w->pdbs;
        else if (strcmp(kind, "StatefulSet") == 0)
            to = w->statefulsets;
        if (!to)
            continue;
        /* As a list item: no apiVersion/kind, plus fields the server adds. */
        json_t *stored = json_deep_copy(call->body);
        json_object_del(stored, "apiVersion");
        json_object_del(stored, "kind");
        json_object_set_new(json_object_get(stored, "metadata"), "resourceVersion", json_string("900"));
        json_object_set_new(json_object_get(stored, "metadata"), "creationTimestamp", json_string("2026-11-29T00:00:00Z"));
        informer_cache_apply(to, INFORMER_ADDED, stored);
        json_decref(stored);
    }
    informer_cache_apply(w->clusters, INFORMER_MODIFIED, next);
    json_decref(next);
}

/* ---- reconcile_cluster: owned objects and status ------------------------------------------ */

static void test_new_cluster_gets_every_owned_object_then_status(void **state)
{
    struct world *w = *state;
    json_t *o = make_vkc("{\"replicas\": 3}", "{}");
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);

    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache");

    assert_int_equal(r.kind, RECONCILE_REQUEUE_AFTER);
    assert_int_equal(r.after_ms, RECONCILE_WAITING_MS); /* no pods yet */
    assert_false(w->fake.overflow);
    /* The generated password Secret: looked up on the server (the cache may lag), then created. */
    assert_true(index_of(&w->fake, "GET", "/api/v1/namespaces/" NS "/secrets/cache-auth") >= 0);
    const struct fake_call *secret = fake_api_find(&w->fake, "POST", "/api/v1/namespaces/" NS "/secrets", 0);
    assert_non_null(secret);
    assert_string_equal(json_string_value(json_object_get(json_object_get(secret->body, "metadata"), "name")),
                        "cache-auth");
    /* Each owned object once, by server-side apply, in this order. */
    static const char *const applied[] = {
        "/api/v1/namespaces/" NS "/configmaps/cache-config?",   "/api/v1/namespaces/" NS "/services/cache-headless?",
        "/api/v1/namespaces/" NS "/services/cache?",            "/api/v1/namespaces/" NS "/services/cache-replicas?",
        "/apis/policy/v1/namespaces/" NS "/poddisruptionbudgets/cache?",
        "/apis/apps/v1/namespaces/" NS "/statefulsets/cache?"};
    int last = -1;
    for (size_t i = 0; i < sizeof(applied) / sizeof(applied[0]); i++) {
        int at = index_of(&w->fake, "PATCH", applied[i]);
        assert_true(at > last);
        assert_string_equal(w->fake.calls[at].content_type, "application/apply-patch+yaml");
        assert_non_null(strstr(w->fake.calls[at].path, "fieldManager=gungnir"));
        assert_int_equal(fake_api_count(&w->fake, "PATCH", applied[i]), 1);
        last = at;
    }
    /* Every owned object names the cluster as its controller. */
    const struct fake_call *sts = &w->fake.calls[last];
    const json_t *ref = json_array_get(json_object_get(json_object_get(sts->body, "metadata"), "ownerReferences"), 0);
    assert_string_equal(json_string_value(json_object_get(ref, "uid")), UID);
    assert_true(json_is_true(json_object_get(ref, "controller")));
    assert_true(event_posted(&w->fake, "Created"));
    /* Then the status, last. */
    int st = index_of(&w->fake, "PATCH", STATUS_PATH);
    assert_true(st > last);
    const json_t *status = json_object_get(w->fake.calls[st].body, "status");
    assert_string_equal(json_string_value(json_object_get(status, "phase")), "Pending"); /* no pod yet */
    assert_int_equal(json_integer_value(json_object_get(status, "observedGeneration")), 3);
}

static void test_settled_cluster_makes_no_write(void **state)
{
    struct world *w = *state;
    json_t *o = make_vkc("{\"replicas\": 3}", "{}");
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);
    reconcile_cluster(&w->env, NS, "cache");
    assert_true(fake_api_writes(&w->fake) >= 8);

    replay_writes_into_caches(w);
    fake_api_clear_calls(&w->fake);
    w->fake.api.writes = 0;
    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache");

    assert_int_equal(r.kind, RECONCILE_REQUEUE_AFTER);
    assert_int_equal(fake_api_writes(&w->fake), 0);
    assert_int_equal(w->fake.api.writes, 0);
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0); /* not even a GET: the caches hold it all */
}

static void test_object_of_another_owner_is_not_taken_over(void **state)
{
    struct world *w = *state;
    json_t *o = make_vkc("{\"replicas\": 3}", "{}");
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);
    json_t *cm = json_pack("{s:{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:b}]}, s:{s:s}}", "metadata", "name", "cache-config",
                           "namespace", NS, "ownerReferences", "apiVersion", "apps/v1", "kind", "Deployment", "name",
                           "other", "uid", "someone-else", "controller", 1, "data", "x", "y");
    informer_cache_apply(w->configmaps, INFORMER_ADDED, cm);
    json_decref(cm);

    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache");

    assert_int_equal(r.kind, RECONCILE_ERROR);
    assert_string_equal(r.err, "ConfigMap cache-config exists and is controlled by another owner");
    assert_int_equal(fake_api_count(&w->fake, "PATCH", "/api/v1/namespaces/" NS "/configmaps/"), 0);
    assert_int_equal(fake_api_count(&w->fake, "PATCH", "/apis/apps/v1/"), 0); /* nothing after it either */
    const struct fake_call *st = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(st);
    char *text = json_dumps(st->body, 0);
    assert_non_null(strstr(text, "controlled by another owner"));
    free(text);
}

static void test_apply_refused_by_the_api_server_is_an_error_with_its_message(void **state)
{
    struct world *w = *state;
    json_t *o = make_vkc("{\"replicas\": 3}", "{}");
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);
    fake_api_answer(&w->fake, "PATCH", "/api/v1/namespaces/" NS "/services/cache-headless", 422, NULL, 0);

    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache");

    assert_int_equal(r.kind, RECONCILE_ERROR);
    assert_non_null(strstr(r.err, "services/cache-headless"));
    assert_non_null(strstr(r.err, "422"));
    assert_int_equal(fake_api_count(&w->fake, "PATCH", "/api/v1/namespaces/" NS "/services/cache?"), 0);
    assert_int_equal(fake_api_count(&w->fake, "PATCH", "/apis/apps/v1/"), 0);
}

static void test_invalid_spec_writes_only_its_status(void **state)
{
    struct world *w = *state;
    json_t *o = make_vkc("{\"replicas\": 0}", "{}");
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);

    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache");

    assert_int_equal(r.kind, RECONCILE_DONE);
    assert_int_equal(fake_api_writes(&w->fake), 1);
    const struct fake_call *st = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(st);
    char *text = json_dumps(st->body, 0);
    assert_non_null(strstr(text, "spec.replicas: Invalid value: 0"));
    assert_non_null(strstr(text, "\"Degraded\""));
    free(text);
}

static void test_a_refused_spec_keeps_the_last_valid_one_running(void **state)
{
    struct world *w = *state;
    /* Valid at 3 pods (pods 1 and 2 may lead); a scale to 2 through the subresource, which
     * cannot see the priorities, leaves one pod that may lead: refused. */
    const char *valid = "{\"replicas\": 3, \"failover\": {\"priorities\": [{\"podOrdinal\": 0, \"priority\": 0}]}}";
    json_t *o = make_vkc(valid, "{}");
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);
    reconcile_cluster(&w->env, NS, "cache");
    replay_writes_into_caches(w);
    json_t *vkc = informer_get(w->clusters, NS, "cache");
    json_object_set_new(json_object_get(vkc, "spec"), "replicas", json_integer(2));
    informer_cache_apply(w->clusters, INFORMER_MODIFIED, vkc);
    json_decref(vkc);
    json_t *svc = informer_get(w->services, NS, "cache-replicas"); /* someone deleted it meanwhile */
    assert_non_null(svc);
    informer_cache_apply(w->services, INFORMER_DELETED, svc);
    json_decref(svc);
    fake_api_clear_calls(&w->fake);

    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache");

    assert_int_equal(r.kind, RECONCILE_REQUEUE_AFTER);
    /* The steps still run on the last valid spec: the Service comes back, the StatefulSet keeps
     * its 3 pods (it is not even written: nothing of it changed). */
    assert_int_equal(fake_api_count(&w->fake, "PATCH", "/api/v1/namespaces/" NS "/services/cache-replicas?"), 1);
    assert_int_equal(fake_api_count(&w->fake, "PATCH", "/apis/apps/v1/"), 0);
    /* The refusal is said in status and in one Event. */
    const struct fake_call *st = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(st);
    char *text = json_dumps(st->body, 0);
    assert_non_null(strstr(text, "\"SpecRefused\""));
    assert_non_null(strstr(text, "spec.failover.priorities"));
    free(text);
    assert_true(event_posted(&w->fake, "SpecRefused"));
    cluster_forget_warnings(NS, "cache");
}

static void test_a_statefulset_of_another_cluster_gives_no_last_valid_spec(void **state)
{
    struct world *w = *state;
    json_t *o = make_vkc("{\"replicas\": 3}", "{}");
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);
    reconcile_cluster(&w->env, NS, "cache");
    replay_writes_into_caches(w);
    /* A new ValkeyCluster of the same name (another uid) with an invalid spec: the old
     * StatefulSet's record is not its own. */
    json_t *vkc = informer_get(w->clusters, NS, "cache");
    json_object_set_new(json_object_get(vkc, "metadata"), "uid", json_string("another-uid"));
    json_object_set_new(json_object_get(vkc, "spec"), "replicas", json_integer(0));
    informer_cache_apply(w->clusters, INFORMER_MODIFIED, vkc);
    json_decref(vkc);
    fake_api_clear_calls(&w->fake);

    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache");

    assert_int_equal(r.kind, RECONCILE_DONE);
    assert_int_equal(fake_api_writes(&w->fake), 1); /* the status only */
    const struct fake_call *st = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(st);
    char *text = json_dumps(st->body, 0);
    assert_non_null(strstr(text, "\"InvalidSpec\""));
    free(text);
}

static void test_a_failed_status_write_of_an_invalid_spec_is_retried(void **state)
{
    struct world *w = *state;
    json_t *o = make_vkc("{\"replicas\": 0}", "{}");
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);
    fake_api_answer(&w->fake, "PATCH", STATUS_PATH, 500, NULL, 0);

    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache");

    /* Not "done": the work queue tries again (with backoff) until the user can read why. */
    assert_int_equal(r.kind, RECONCILE_ERROR);
    assert_non_null(strstr(r.err, "invalid spec"));
}

static void test_deleted_or_deleting_cluster_is_left_to_garbage_collection(void **state)
{
    struct world *w = *state;
    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache"); /* not in the cache */
    assert_int_equal(r.kind, RECONCILE_DONE);
    json_t *o = make_vkc("{}", "{}");
    json_object_set_new(json_object_get(o, "metadata"), "deletionTimestamp", json_string("2026-11-29T00:00:00Z"));
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);
    r = reconcile_cluster(&w->env, NS, "cache");
    assert_int_equal(r.kind, RECONCILE_DONE);
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0);
}

/* True when /metrics shows a series with text in it. */
static bool metrics_show(const char *text)
{
    size_t len;
    char *all = metrics_render(&len);
    assert_non_null(all);
    bool found = strstr(all, text) != NULL;
    free(all);
    return found;
}

static void test_a_deleted_cluster_leaves_no_metric_series(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 2}", "{}");
    use_pods(w, json_pack("[o, o]", make_pod(0, NOBODY, "primary", true, NULL), make_pod(1, NOBODY, "replica", true, NULL)));
    roles_publish(&w->c);
    assert_true(metrics_show("valkeycluster=\"cache\""));

    informer_cache_apply(w->clusters, INFORMER_DELETED, w->vkc);
    reconcile_cluster(&w->env, NS, "cache");

    assert_false(metrics_show("valkeycluster=\"cache\""));
}

/* A PDB "cache" in the cache, controlled by owner_uid. */
static void cached_pdb(struct world *w, const char *owner_uid)
{
    json_t *pdb = json_pack("{s:{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:b}]}, s:{s:i}}", "metadata", "name", "cache",
                            "namespace", NS, "ownerReferences", "apiVersion", "gungnir.dev/v1alpha1", "kind",
                            "ValkeyCluster", "name", "cache", "uid", owner_uid, "controller", 1, "spec",
                            "maxUnavailable", 1);
    informer_cache_apply(w->pdbs, INFORMER_ADDED, pdb);
    json_decref(pdb);
}

static void test_a_disabled_pdb_is_deleted(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 3, \"podDisruptionBudget\": {\"enabled\": false}}", "{}");
    cached_pdb(w, UID);
    struct desired_input in = {.name = "cache", .namespace_ = NS, .uid = UID, .spec = &w->c.spec,
                               .spec_json = json_object_get(w->vkc, "spec"), .pdb_api_version = "policy/v1"};
    char err[256] = "";

    assert_int_equal(owned_apply_before_pods(&w->c, &in, err, sizeof(err)), 0);

    assert_int_equal(fake_api_count(&w->fake, "DELETE", "/apis/policy/v1/namespaces/" NS "/poddisruptionbudgets/cache"), 1);
    assert_int_equal(fake_api_count(&w->fake, "PATCH", "/apis/policy/v1/"), 0);
    assert_true(event_posted(&w->fake, "Deleted"));

    /* Once it is gone from the cache, nothing more is written. */
    json_t *gone = informer_get(w->pdbs, NS, "cache");
    informer_cache_apply(w->pdbs, INFORMER_DELETED, gone);
    json_decref(gone);
    fake_api_clear_calls(&w->fake);
    assert_int_equal(owned_apply_before_pods(&w->c, &in, err, sizeof(err)), 0);
    assert_int_equal(fake_api_count(&w->fake, "DELETE", ""), 0);
}

static void test_a_pdb_of_another_owner_is_never_deleted(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 3, \"podDisruptionBudget\": {\"enabled\": false}}", "{}");
    cached_pdb(w, "someone-else");
    struct desired_input in = {.name = "cache", .namespace_ = NS, .uid = UID, .spec = &w->c.spec,
                               .spec_json = json_object_get(w->vkc, "spec"), .pdb_api_version = "policy/v1"};
    char err[256] = "";

    assert_int_equal(owned_apply_before_pods(&w->c, &in, err, sizeof(err)), 0);
    assert_int_equal(fake_api_count(&w->fake, "DELETE", ""), 0);
}

/* ---- storage growth ---------------------------------------------------------------------------- */

#define PVC_PATH "/api/v1/namespaces/" NS "/persistentvolumeclaims/data-cache-"
#define GI (1024LL * 1024 * 1024)

/* A StatefulSet "cache" of `pods` pods whose claim template asks for claim ("1Gi"). */
static void cached_sts(struct world *w, int pods, const char *claim, bool deleting)
{
    json_t *sts = json_pack("{s:{s:s, s:s}, s:{s:i, s:[{s:{s:s}, s:{s:{s:{s:s}}}}]}}", "metadata", "name", "cache",
                            "namespace", NS, "spec", "replicas", pods, "volumeClaimTemplates", "metadata", "name",
                            "data", "spec", "resources", "requests", "storage", claim);
    if (deleting)
        json_object_set_new(json_object_get(sts, "metadata"), "deletionTimestamp", json_string("2026-11-29T00:00:00Z"));
    informer_cache_apply(w->statefulsets, INFORMER_ADDED, sts);
    json_decref(sts);
}

static json_t *claim_of(const char *request, const char *capacity)
{
    return json_pack("{s:{s:{s:{s:s}}}, s:{s:{s:s}}}", "spec", "resources", "requests", "storage", request, "status",
                     "capacity", "storage", capacity);
}

static void test_storage_growth_raises_each_claim_then_recreates_the_statefulset(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 3, \"storage\": {\"size\": \"2Gi\"}}", "{}");
    cached_sts(w, 3, "1Gi", false);
    fake_api_answer(&w->fake, "GET", PVC_PATH "0", 200, claim_of("1Gi", "1Gi"), 0);
    fake_api_answer(&w->fake, "GET", PVC_PATH "1", 200, claim_of("2Gi", "1Gi"), 0); /* asked already */
    /* data-cache-2 was never made: 404 */
    int64_t bytes = 0;
    char err[256] = "";

    assert_int_equal(storage_growth_step(&w->c, &bytes, err, sizeof(err)), STORAGE_WAIT);

    assert_int_equal(fake_api_count(&w->fake, "PATCH", PVC_PATH), 1);
    const struct fake_call *p = fake_api_find(&w->fake, "PATCH", PVC_PATH "0", 0);
    assert_non_null(p);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_get(p->body, "spec"), "resources"), "requests"), "storage")),
        "2147483648");
    /* Then the StatefulSet goes, leaving its pods, after the claims. */
    int del = index_of(&w->fake, "DELETE", "/apis/apps/v1/namespaces/" NS "/statefulsets/cache");
    assert_true(del > index_of(&w->fake, "PATCH", PVC_PATH "0"));
    assert_non_null(strstr(w->fake.calls[del].path, "propagationPolicy=Orphan"));
    const struct fake_call *st = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(st->body, "status"), "storage"),
                                                          "phase")),
                        "Resizing");
    assert_true(event_posted(&w->fake, "StorageResize"));
}

static void test_storage_growth_refused_keeps_the_old_size_and_asks_once(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 2, \"storage\": {\"size\": \"2Gi\"}}", "{}");
    cached_sts(w, 2, "1Gi", false);
    fake_api_answer(&w->fake, "GET", PVC_PATH, 200, claim_of("1Gi", "1Gi"), 0);
    fake_api_answer(&w->fake, "PATCH", PVC_PATH, 403, NULL, 0);
    int64_t bytes = 0;
    char err[256] = "";

    assert_int_equal(storage_growth_step(&w->c, &bytes, err, sizeof(err)), STORAGE_APPLY);

    assert_int_equal(bytes, 1 * GI); /* the StatefulSet is applied as it is */
    assert_int_equal(fake_api_count(&w->fake, "DELETE", ""), 0);
    assert_true(event_posted(&w->fake, "StorageResizeRefused"));
    const struct fake_call *st = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(st);
    const json_t *storage = json_object_get(json_object_get(st->body, "status"), "storage");
    assert_string_equal(json_string_value(json_object_get(storage, "phase")), "Refused");
    assert_string_equal(json_string_value(json_object_get(storage, "size")), "2147483648");

    /* Said in the status: the next reconcile does not ask again for this size. */
    json_decref(w->vkc);
    w->vkc = NULL;
    use_cluster(w, "{\"replicas\": 2, \"storage\": {\"size\": \"2Gi\"}}",
                "{\"storage\": {\"size\": \"2147483648\", \"phase\": \"Refused\", \"message\": \"x\"}}");
    fake_api_clear_calls(&w->fake);
    assert_int_equal(storage_growth_step(&w->c, &bytes, err, sizeof(err)), STORAGE_APPLY);
    assert_int_equal(bytes, 1 * GI);
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0);
}

static void test_storage_growth_waits_while_the_statefulset_is_deleted(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 2, \"storage\": {\"size\": \"2Gi\"}}", "{}");
    cached_sts(w, 2, "1Gi", true);
    int64_t bytes = 0;
    char err[256] = "";
    assert_int_equal(storage_growth_step(&w->c, &bytes, err, sizeof(err)), STORAGE_WAIT);
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0);
}

static void test_storage_growth_is_resized_when_every_claim_has_the_capacity(void **state)
{
    struct world *w = *state;
    const char *resizing = "{\"storage\": {\"size\": \"2147483648\", \"phase\": \"Resizing\", \"message\": \"x\"}}";
    use_cluster(w, "{\"replicas\": 2, \"storage\": {\"size\": \"2Gi\"}}", resizing);
    cached_sts(w, 2, "2Gi", false);
    fake_api_answer(&w->fake, "GET", PVC_PATH "0", 200, claim_of("2Gi", "2Gi"), 0);
    fake_api_answer(&w->fake, "GET", PVC_PATH "1", 200, claim_of("2Gi", "1Gi"), 1); /* not yet, then done */
    fake_api_answer(&w->fake, "GET", PVC_PATH "1", 200, claim_of("2Gi", "2Gi"), 0);
    int64_t bytes = 0;
    char err[256] = "";

    assert_int_equal(storage_growth_step(&w->c, &bytes, err, sizeof(err)), STORAGE_APPLY);
    assert_int_equal(fake_api_writes(&w->fake), 0); /* still Resizing */

    assert_int_equal(storage_growth_step(&w->c, &bytes, err, sizeof(err)), STORAGE_APPLY);
    const struct fake_call *st = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(st->body, "status"), "storage"),
                                                          "phase")),
                        "Resized");
    assert_int_equal(bytes, 2 * GI);
}

/* ---- the user's password Secret ------------------------------------------------------------ */

static void test_a_missing_user_secret_is_said_once_and_nothing_is_done(void **state)
{
    struct world *w = *state;
    json_t *o = make_vkc("{\"replicas\": 3, \"auth\": {\"secretName\": \"mine\"}}", "{}");
    informer_cache_apply(w->clusters, INFORMER_ADDED, o);
    json_decref(o);

    struct reconcile_result r = reconcile_cluster(&w->env, NS, "cache");

    assert_int_equal(r.kind, RECONCILE_REQUEUE_AFTER);
    /* Looked up on the API server: the user's Secret carries none of our labels. */
    assert_int_equal(fake_api_count(&w->fake, "GET", "/api/v1/namespaces/" NS "/secrets/mine"), 1);
    assert_int_equal(fake_api_count(&w->fake, "POST", "/api/v1/namespaces/" NS "/secrets"), 0); /* never ours */
    assert_true(event_posted(&w->fake, "AuthSecretUnusable"));
    assert_int_equal(fake_api_count(&w->fake, "PATCH", "/apis/apps/v1/"), 0); /* no pods without a password */
    const struct fake_call *st = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(st);
    char *text = json_dumps(st->body, 0);
    assert_non_null(strstr(text, "spec.auth.secretName: Secret shop/mine not found"));
    free(text);

    /* The next reconcile finds it in the status already: no second Event, no write at all. */
    replay_writes_into_caches(w);
    fake_api_clear_calls(&w->fake);
    reconcile_cluster(&w->env, NS, "cache");
    assert_false(event_posted(&w->fake, "AuthSecretUnusable"));
    assert_int_equal(fake_api_writes(&w->fake), 0);
}

static void test_a_user_secret_with_an_unusable_password_is_refused(void **state)
{
    struct world *w = *state;
    static const struct {
        const char *data, *says;
    } cases[] = {
        {"{\"other\": \"eA==\"}", "has no key \"password\""},
        {"{\"password\": \"not base64!\"}", "is not base64"},
        {"{\"password\": \"YSJi\"}", "holds"}, /* a"b */
        {"{\"password\": \"YQpi\"}", "holds"}, /* a\nb */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        use_cluster(w, "{\"replicas\": 3, \"auth\": {\"secretName\": \"mine\"}}", "{}");
        json_error_t e;
        json_t *secret = json_pack("{s:{s:s, s:s}, s:o}", "metadata", "name", "mine", "namespace", NS, "data",
                                   json_loads(cases[i].data, 0, &e));
        fake_api_answer(&w->fake, "GET", "/api/v1/namespaces/" NS "/secrets/mine", 200, secret, 1);
        assert_int_equal(owned_read_password(&w->c), -1);
        if (!strstr(w->c.blocked, cases[i].says))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, w->c.blocked, cases[i].says);
        assert_string_equal(w->c.password, "");
        json_decref(w->vkc);
        w->vkc = NULL;
    }
}

static void test_a_usable_user_password_is_read(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 3, \"auth\": {\"secretName\": \"mine\"}}", "{}");
    json_t *secret = json_pack("{s:{s:s, s:s}, s:{s:s}}", "metadata", "name", "mine", "namespace", NS, "data",
                               "password", "czNjIHIzdCE="); /* s3c r3t! */
    fake_api_answer(&w->fake, "GET", "/api/v1/namespaces/" NS "/secrets/mine", 200, secret, 0);
    assert_int_equal(owned_read_password(&w->c), 0);
    assert_string_equal(w->c.password, "s3c r3t!");
    assert_string_equal(w->c.blocked, "");
    assert_int_equal(fake_api_writes(&w->fake), 0);
}

/* ---- cluster_ctx ----------------------------------------------------------------------------- */

static void test_pods_of_this_statefulset_only_by_ordinal_without_a_cap(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{}", "{}");
    json_t *list = json_array();
    for (int i = 249; i >= 0; i--) /* more than any fixed table the old code had (200) */
        json_array_append_new(list, make_pod(i, "127.0.0.4", NULL, true, NULL));
    json_t *other = make_pod(1, "127.0.0.4", NULL, true, NULL);
    json_object_set_new(json_object_get(other, "metadata"), "name", json_string("cache-extra-1"));
    json_array_append_new(list, other);
    json_t *prefix = make_pod(1, "127.0.0.4", NULL, true, NULL);
    json_object_set_new(json_object_get(prefix, "metadata"), "name", json_string("cachex-1"));
    json_array_append_new(list, prefix);

    use_pods(w, list);

    assert_int_equal(w->c.npods, 250);
    for (size_t i = 0; i < w->c.npods; i++)
        assert_int_equal(w->c.pods[i].ordinal, (long)i);
    assert_string_equal(w->c.pods[10].name, "cache-10");
}

/* ---- roles ----------------------------------------------------------------------------------- */

static void test_first_election_waits_for_every_pod(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 3}", "{}");
    use_pods(w, json_pack("[o, o, o]", make_pod(0, NOBODY, NULL, true, NULL), make_pod(1, NOBODY, NULL, true, NULL),
                          make_pod(2, NOBODY, NULL, false, NULL)));
    probed_replica(&w->c.pods[0], DESIRED_FENCE_HOST, 100, false);
    probed_replica(&w->c.pods[1], DESIRED_FENCE_HOST, 200, false);

    assert_null(roles_elect_first_primary(&w->c));
    assert_int_equal(fake_api_writes(&w->fake), 0);
}

/* A Valkey-protocol stand-in on 127.0.0.9:6379 that answers +OK to every command of one
 * connection (for the election's REPLICAOF NO ONE). */
#define OK_SERVER_IP "127.0.0.9"
struct ok_server {
    int fd;
    pthread_t thread;
    atomic_int commands;
};

static void *ok_server_main(void *arg)
{
    struct ok_server *srv = arg;
    for (;;) {
        int conn = accept(srv->fd, NULL, NULL);
        if (conn < 0)
            return NULL;
        char buf[4096];
        ssize_t n;
        while ((n = read(conn, buf, sizeof(buf))) > 0)
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] == '*' && (i == 0 || buf[i - 1] == '\n')) {
                    atomic_fetch_add(&srv->commands, 1);
                    if (write(conn, "+OK\r\n", 5) != 5)
                        break;
                }
        close(conn);
    }
}

/* Starts the stand-in; skips the test when the address is taken. */
static void ok_server_start(struct ok_server *srv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(DESIRED_PORT)};
    inet_pton(AF_INET, OK_SERVER_IP, &a.sin_addr);
    srv->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(srv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    atomic_init(&srv->commands, 0);
    if (srv->fd < 0 || bind(srv->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(srv->fd, 4) != 0) {
        close(srv->fd);
        skip();
    }
    assert_int_equal(pthread_create(&srv->thread, NULL, ok_server_main, srv), 0);
}

static void ok_server_stop(struct ok_server *srv)
{
    shutdown(srv->fd, SHUT_RDWR);
    close(srv->fd);
    pthread_join(srv->thread, NULL);
}

/* pod (borrowed) as the kubelet shows one that was created seconds_ago and never started: Pending,
 * no podIP, its container waiting. */
static void make_pending(json_t *pod, int seconds_ago)
{
    char ts[CLOCK_RFC3339_MAX];
    struct timespec t = clock_wall_now();
    t.tv_sec -= seconds_ago;
    assert_int_equal(clock_rfc3339(ts, sizeof(ts), &t, 0), 0);
    json_object_set_new(json_object_get(pod, "metadata"), "creationTimestamp", json_string(ts));
    json_t *st = json_object_get(pod, "status");
    json_object_set_new(st, "phase", json_string("Pending"));
    json_object_del(st, "podIP");
    json_object_set_new(st, "containerStatuses",
                        json_pack("[{s:s, s:i, s:{s:{s:s}}}]", "name", "valkey", "restartCount", 0, "state", "waiting",
                                  "reason", "ContainerCreating"));
}

static void test_first_election_goes_on_without_a_pod_pending_past_the_bound(void **state)
{
    struct world *w = *state;
    struct ok_server srv;
    ok_server_start(&srv);
    use_cluster(w, "{\"replicas\": 3}", "{}");
    json_t *stuck = make_pod(2, NOBODY, NULL, false, NULL);
    make_pending(stuck, FIRST_ELECTION_WAIT_MS / 1000 + 30); /* say, a required anti-affinity */
    use_pods(w, json_pack("[o, o, o]", make_pod(0, OK_SERVER_IP, NULL, true, NULL),
                          make_pod(1, OK_SERVER_IP, NULL, true, NULL), stuck));
    probed_replica(&w->c.pods[0], DESIRED_FENCE_HOST, 0, false);
    probed_replica(&w->c.pods[1], DESIRED_FENCE_HOST, 0, false);

    struct pod_view *p = roles_elect_first_primary(&w->c);
    ok_server_stop(&srv);

    assert_non_null(p);
    assert_string_equal(p->name, "cache-0");
    assert_true(atomic_load(&srv.commands) >= 1); /* REPLICAOF NO ONE */
    const struct fake_call *l = fake_api_find(&w->fake, "PATCH", PODS_PATH "cache-0", 0);
    assert_non_null(l);
    assert_string_equal(label_in(l), "primary");
}

static void test_first_election_waits_for_a_pending_pod_until_the_bound(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 2}", "{}");
    json_t *young = make_pod(1, NOBODY, NULL, false, NULL);
    make_pending(young, 5);
    use_pods(w, json_pack("[o, o]", make_pod(0, NOBODY, NULL, true, NULL), young));
    probed_replica(&w->c.pods[0], DESIRED_FENCE_HOST, 0, false);

    assert_null(roles_elect_first_primary(&w->c));
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0);
    assert_string_equal(w->c.blocked, ""); /* a normal start: nothing to report yet */
}

static void test_first_election_waits_for_a_pod_whose_claim_predates_the_cluster(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 2, \"storage\": {\"size\": \"1Gi\"}}", "{}");
    json_object_set_new(json_object_get(w->vkc, "metadata"), "creationTimestamp", json_string("2026-11-29T08:00:00Z"));
    json_t *stuck = make_pod(1, NOBODY, NULL, false, NULL);
    make_pending(stuck, FIRST_ELECTION_WAIT_MS / 1000 + 30);
    use_pods(w, json_pack("[o, o]", make_pod(0, NOBODY, NULL, true, NULL), stuck));
    probed_replica(&w->c.pods[0], DESIRED_FENCE_HOST, 0, false);
    fake_api_answer(&w->fake, "GET", "/api/v1/namespaces/" NS "/persistentvolumeclaims/data-cache-1", 200,
                    json_pack("{s:{s:s, s:s}}", "metadata", "name", "data-cache-1", "creationTimestamp",
                              "2026-01-01T00:00:00Z"),
                    0);

    assert_null(roles_elect_first_primary(&w->c));
    assert_int_equal(fake_api_writes(&w->fake), 0);
    assert_non_null(strstr(w->c.blocked, "cache-1 (its claim is older than the ValkeyCluster"));
}

static void test_first_election_waits_for_a_slow_pod_that_ran(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 2}", "{}");
    json_t *slow = make_pod(1, NOBODY, NULL, false, NULL); /* Running, not Ready: loading its data */
    make_pending(slow, FIRST_ELECTION_WAIT_MS / 1000 + 300);
    json_t *st = json_object_get(slow, "status");
    json_object_set_new(st, "phase", json_string("Running"));
    json_object_set_new(st, "containerStatuses",
                        json_pack("[{s:s, s:i, s:{s:{}}}]", "name", "valkey", "restartCount", 0, "state", "running"));
    use_pods(w, json_pack("[o, o]", make_pod(0, NOBODY, NULL, true, NULL), slow));
    probed_replica(&w->c.pods[0], DESIRED_FENCE_HOST, 0, false);

    assert_null(roles_elect_first_primary(&w->c));
    assert_int_equal(fake_api_writes(&w->fake), 0);
    assert_non_null(strstr(w->c.blocked, "cache-1 (its server ran and may hold data)"));
}

static void test_a_pod_already_serving_as_primary_keeps_the_role(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 3}", "{}");
    use_pods(w, json_pack("[o, o, o]", make_pod(0, NOBODY, NULL, true, NULL), make_pod(1, NOBODY, NULL, true, NULL),
                          make_pod(2, NOBODY, NULL, true, NULL)));
    probed_replica(&w->c.pods[0], DESIRED_FENCE_HOST, 100, false);
    probed_primary(&w->c.pods[1], 50); /* promoted before its label was written */
    probed_replica(&w->c.pods[2], DESIRED_FENCE_HOST, 300, false);

    struct pod_view *p = roles_elect_first_primary(&w->c);

    assert_non_null(p);
    assert_string_equal(p->name, "cache-1");
    assert_int_equal(fake_api_writes(&w->fake), 1);
    const struct fake_call *l = fake_api_find(&w->fake, "PATCH", PODS_PATH "cache-1", 0);
    assert_non_null(l);
    assert_string_equal(l->content_type, "application/merge-patch+json");
    assert_string_equal(label_in(l), "primary");
}

static void test_attach_labels_replicas_and_counts_what_is_pending(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 4}", "{}");
    use_pods(w, json_pack("[o, o, o, o]", make_pod(0, "127.0.0.3", "primary", true, NULL),
                          make_pod(1, NOBODY, "replica", true, NULL), make_pod(2, NOBODY, NULL, true, NULL),
                          make_pod(3, NOBODY, "replica", true, NULL)));
    probed_primary(&w->c.pods[0], 1000);
    probed_replica(&w->c.pods[1], "127.0.0.3", 1000, true);  /* settled */
    probed_replica(&w->c.pods[2], "127.0.0.3", 1000, true);  /* settled, label missing */
    probed_replica(&w->c.pods[3], "127.0.0.3", 10, false);   /* still syncing */

    int pending = roles_attach_replicas(&w->c, &w->c.pods[0]);

    assert_int_equal(pending, 1);
    assert_int_equal(fake_api_writes(&w->fake), 1);
    const struct fake_call *l = fake_api_find(&w->fake, "PATCH", PODS_PATH "cache-2", 0);
    assert_non_null(l);
    assert_string_equal(label_in(l), "replica");
}

static void test_a_failed_label_write_keeps_the_replica_pending(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 2}", "{}");
    use_pods(w, json_pack("[o, o]", make_pod(0, "127.0.0.3", "primary", true, NULL), make_pod(1, NOBODY, NULL, true, NULL)));
    probed_primary(&w->c.pods[0], 1000);
    probed_replica(&w->c.pods[1], "127.0.0.3", 1000, true);
    fake_api_answer(&w->fake, "PATCH", PODS_PATH, 500, NULL, 0);

    assert_int_equal(roles_attach_replicas(&w->c, &w->c.pods[0]), 1);
    assert_null(w->c.pods[1].role);
}

/* ---- failover_glue --------------------------------------------------------------------------- */

/* Three pods: cache-0 labelled primary and being deleted, two replicas with offsets a and b. */
static void primary_deleting(struct world *w, long long a, long long b, const char *spec, const char *status)
{
    use_cluster(w, spec, status);
    json_t *p0 = make_pod(0, NOBODY, "primary", true, NULL);
    json_object_set_new(json_object_get(p0, "metadata"), "deletionTimestamp", json_string("2026-11-29T00:00:00Z"));
    use_pods(w, json_pack("[o, o, o]", p0, make_pod(1, NOBODY, "replica", true, NULL),
                          make_pod(2, NOBODY, "replica", true, NULL)));
    probed_replica(&w->c.pods[1], NOBODY, a, true);
    probed_replica(&w->c.pods[2], NOBODY, b, true);
}

static void test_failover_records_before_it_acts_and_a_409_stops_it(void **state)
{
    struct world *w = *state;
    primary_deleting(w, 500, 900, "{\"replicas\": 3}", "{\"failover\": {\"epoch\": 6}, \"phase\": \"Running\"}");
    fake_api_answer(&w->fake, "PATCH", STATUS_PATH, 409, NULL, 0);
    bool down = false;

    assert_null(failover_glue_step(&w->c, &down));

    assert_true(down);
    /* The record: epoch + 1, the candidate with the higher offset, on the resourceVersion read. */
    const struct fake_call *rec = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(rec);
    const json_t *fo = json_object_get(json_object_get(rec->body, "status"), "failover");
    assert_int_equal(json_integer_value(json_object_get(fo, "epoch")), 7);
    assert_true(json_is_true(json_object_get(fo, "inProgress")));
    assert_string_equal(json_string_value(json_object_get(fo, "candidate")), "cache-2");
    assert_string_equal(json_string_value(json_object_get(fo, "from")), "cache-0");
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec->body, "metadata"), "resourceVersion")), RV);
    /* Someone else acted: the candidate is left alone (only the deleted old primary may lose its
     * label), and there is no second status write. */
    assert_int_equal(fake_api_count(&w->fake, "PATCH", PODS_PATH "cache-1"), 0);
    assert_int_equal(fake_api_count(&w->fake, "PATCH", PODS_PATH "cache-2"), 0);
    const struct fake_call *l = fake_api_find(&w->fake, "PATCH", PODS_PATH, 0);
    if (l)
        assert_string_equal(label_in(l), "null");
    assert_int_equal(fake_api_count(&w->fake, "PATCH", STATUS_PATH), 1);
    assert_true(w->c.blocked[0] != '\0');
}

static void test_failover_that_cannot_promote_is_recorded_as_failed(void **state)
{
    struct world *w = *state;
    primary_deleting(w, 900, 500, "{\"replicas\": 3}", "{\"failover\": {\"epoch\": 2}}");
    bool down = false;

    assert_null(failover_glue_step(&w->c, &down)); /* REPLICAOF NO ONE to NOBODY fails */

    int rec = index_of(&w->fake, "PATCH", STATUS_PATH);
    int unlabel = index_of(&w->fake, "PATCH", PODS_PATH "cache-0");
    assert_true(rec >= 0);
    assert_true(unlabel > rec); /* record, then act */
    assert_string_equal(label_in(&w->fake.calls[unlabel]), "null");
    const struct fake_call *end = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 1);
    assert_non_null(end);
    const json_t *fo = json_object_get(json_object_get(end->body, "status"), "failover");
    assert_false(json_is_true(json_object_get(fo, "inProgress")));
    assert_string_equal(json_string_value(json_object_get(fo, "phase")), "Failed");
    assert_string_equal(json_string_value(json_object_get(fo, "candidate")), "cache-1");
    assert_null(json_object_get(json_object_get(end->body, "status"), "lastFailover"));
    assert_true(event_posted(&w->fake, "FailoverFailed"));
    assert_int_equal(fake_api_count(&w->fake, "PATCH", PODS_PATH "cache-1"), 0); /* never labelled primary */
}

/* The condition of type in the status a recorded call wrote: its "status" ("True"/"False"), or
 * NULL when the write carried no such condition. */
static const char *condition_in(const struct fake_call *call, const char *type)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(call->body, "status"), "conditions"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0)
            return json_string_value(json_object_get(c, "status"));
    }
    return NULL;
}

static void test_failover_in_progress_is_true_while_it_runs_and_false_after(void **state)
{
    struct world *w = *state;
    const char *st = "{\"failover\": {\"epoch\": 2}, \"phase\": \"Running\", \"conditions\": ["
                     "{\"type\": \"Ready\", \"status\": \"True\", \"reason\": \"AllPodsReady\", \"message\": \"-\","
                     " \"lastTransitionTime\": \"2026-11-29T00:00:00Z\", \"observedGeneration\": 3},"
                     "{\"type\": \"FailoverInProgress\", \"status\": \"False\", \"reason\": \"NoFailover\","
                     " \"message\": \"-\", \"lastTransitionTime\": \"2026-11-29T00:00:00Z\", \"observedGeneration\": 3}]}";
    primary_deleting(w, 900, 500, "{\"replicas\": 3}", st);
    bool down = false;

    assert_null(failover_glue_step(&w->c, &down)); /* the promotion itself fails: NOBODY */

    const struct fake_call *rec = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    const struct fake_call *end = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 1);
    assert_non_null(rec);
    assert_non_null(end);
    assert_non_null(condition_in(rec, "FailoverInProgress"));
    assert_string_equal(condition_in(rec, "FailoverInProgress"), "True");
    assert_string_equal(condition_in(rec, "Ready"), "True"); /* the other conditions are kept */
    assert_non_null(condition_in(end, "FailoverInProgress"));
    assert_string_equal(condition_in(end, "FailoverInProgress"), "False");
}

static void test_failover_impossible_is_said_once_while_the_cache_lags(void **state)
{
    struct world *w = *state;
    /* Two reconciles that both still see phase Running (the Degraded status of the first is not
     * in the cache yet): one Event. */
    cluster_forget_warnings(NS, "cache");
    for (int round = 0; round < 2; round++) {
        if (round) {
            teardown(state);
            setup(state);
            w = *state;
        }
        primary_deleting(w, 1, 2, "{\"replicas\": 3}", "{\"phase\": \"Running\", \"primary\": \"cache-0\"}");
        w->c.pods[1].probed = w->c.pods[2].probed = false;
        bool down = false;
        assert_null(failover_glue_step(&w->c, &down));
        assert_true(event_posted(&w->fake, "FailoverImpossible") == (round == 0));
    }
    cluster_forget_warnings(NS, "cache");
}

static void test_failover_disabled_says_so_and_changes_nothing(void **state)
{
    struct world *w = *state;
    primary_deleting(w, 1, 2, "{\"replicas\": 3, \"failover\": {\"enabled\": false}}", "{}");
    bool down = false;

    assert_null(failover_glue_step(&w->c, &down));

    assert_true(down);
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0);
    assert_non_null(strstr(w->c.blocked, "spec.failover.enabled is false"));
}

static void test_failover_impossible_is_said_once(void **state)
{
    struct world *w = *state;
    /* Neither replica answers: nobody can be promoted. */
    primary_deleting(w, 1, 2, "{\"replicas\": 3}", "{\"phase\": \"Running\", \"primary\": \"cache-0\"}");
    w->c.pods[1].probed = w->c.pods[2].probed = false;
    bool down = false;

    assert_null(failover_glue_step(&w->c, &down));
    assert_true(event_posted(&w->fake, "FailoverImpossible"));
    assert_int_equal(fake_api_count(&w->fake, "PATCH", STATUS_PATH), 0); /* nothing was recorded */
    assert_string_equal(w->c.down_primary, "cache-0");

    /* The next reconcile finds the cluster Degraded already: no second Event. */
    teardown(state);
    setup(state);
    w = *state;
    primary_deleting(w, 1, 2, "{\"replicas\": 3}", "{\"phase\": \"Degraded\", \"primary\": \"cache-0\"}");
    w->c.pods[1].probed = w->c.pods[2].probed = false;
    assert_null(failover_glue_step(&w->c, &down));
    assert_false(event_posted(&w->fake, "FailoverImpossible"));
    cluster_forget_warnings(NS, "cache");
}

static void test_single_pod_that_restarted_is_elected_again(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 1}", "{\"primary\": \"cache-0\"}");
    use_pods(w, json_pack("[o]", make_pod(0, NOBODY, "primary", true, NULL)));
    probed_replica(&w->c.pods[0], DESIRED_FENCE_HOST, 0, false); /* came back fenced */
    bool down = true;

    assert_null(failover_glue_step(&w->c, &down));

    assert_false(down); /* the caller elects it again */
    const struct fake_call *l = fake_api_find(&w->fake, "PATCH", PODS_PATH "cache-0", 0);
    assert_non_null(l);
    assert_string_equal(label_in(l), "null");
}

static void test_resume_finishes_an_attempt_whose_candidate_serves(void **state)
{
    struct world *w = *state;
    const char *st = "{\"failover\": {\"epoch\": 4, \"inProgress\": true, \"candidate\": \"cache-1\", \"from\": \"cache-0\"}}";
    use_cluster(w, "{\"replicas\": 3}", st);
    fake_api_answer(&w->fake, "GET", VKC_PATH, 200, make_vkc("{}", st), 0);
    use_pods(w, json_pack("[o, o, o]", make_pod(0, NOBODY, "primary", true, NULL), make_pod(1, NOBODY, "replica", true, NULL),
                          make_pod(2, NOBODY, "replica", true, NULL)));
    probed_primary(&w->c.pods[1], 700);

    failover_glue_resume(&w->c);

    int off = index_of(&w->fake, "PATCH", PODS_PATH "cache-0");
    int on = index_of(&w->fake, "PATCH", PODS_PATH "cache-1");
    assert_true(off >= 0 && on > off); /* never two pods labelled primary */
    assert_string_equal(label_in(&w->fake.calls[off]), "null");
    assert_string_equal(label_in(&w->fake.calls[on]), "primary");
    const struct fake_call *end = fake_api_find(&w->fake, "PATCH", STATUS_PATH, 0);
    assert_non_null(end);
    const json_t *status = json_object_get(end->body, "status");
    assert_string_equal(json_string_value(json_object_get(status, "primary")), "cache-1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(status, "lastFailover"), "epoch")), 4);
    assert_true(event_posted(&w->fake, "FailoverCompleted"));
}

static void test_resume_trusts_the_api_server_over_the_cache(void **state)
{
    struct world *w = *state;
    const char *st = "{\"failover\": {\"epoch\": 4, \"inProgress\": true, \"candidate\": \"cache-1\", \"from\": \"cache-0\"}}";
    use_cluster(w, "{\"replicas\": 3}", st);
    /* The server already has the end of the attempt that the cache has not seen. */
    fake_api_answer(&w->fake, "GET", VKC_PATH, 200,
                    make_vkc("{}", "{\"failover\": {\"epoch\": 4, \"inProgress\": false}}"), 0);
    use_pods(w, json_pack("[o, o]", make_pod(0, NOBODY, NULL, true, NULL), make_pod(1, NOBODY, "primary", true, NULL)));

    failover_glue_resume(&w->c);

    assert_int_equal(fake_api_count(&w->fake, "GET", VKC_PATH), 1);
    assert_int_equal(fake_api_writes(&w->fake), 0);
}

static void test_an_old_primary_that_runs_but_does_not_answer_is_fenced(void **state)
{
    struct world *w = *state;
    use_cluster(w, "{\"replicas\": 3}", "{\"lastFailover\": {\"from\": \"cache-0\", \"to\": \"cache-1\"}}");
    use_pods(w, json_pack("[o, o, o]", make_pod(0, NOBODY, NULL, true, NULL), make_pod(1, NOBODY, "primary", true, NULL),
                          make_pod(2, NOBODY, "replica", true, NULL)));
    probed_primary(&w->c.pods[1], 10);
    pods_live(w);

    failover_glue_fence_old_primary(&w->c, &w->c.pods[1]);

    assert_int_equal(fake_api_count(&w->fake, "DELETE", PODS_PATH "cache-0"), 1);
    /* Only the pod it saw: the uid is a precondition of the delete. */
    const struct fake_call *del = fake_api_find(&w->fake, "DELETE", PODS_PATH "cache-0", 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(del->body, "preconditions"), "uid")),
                        "uid-cache-0");
    assert_true(event_posted(&w->fake, "Fenced"));

    /* Once it answers (it is then demoted by the attach step), it is left alone. */
    fake_api_clear_calls(&w->fake);
    probed_replica(&w->c.pods[0], DESIRED_FENCE_HOST, 0, false);
    failover_glue_fence_old_primary(&w->c, &w->c.pods[1]);
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0);
}

/* ---- planned_moves --------------------------------------------------------------------------- */

static void three_settled(struct world *w, const char *spec, const char *annotations, const char *r0, const char *r1,
                          const char *r2)
{
    json_t *o = make_vkc(spec, "{}");
    if (annotations) {
        json_error_t e;
        json_object_set_new(json_object_get(o, "metadata"), "annotations", json_loads(annotations, 0, &e));
    }
    char *text = json_dumps(json_object_get(o, "metadata"), 0);
    json_decref(o);
    use_cluster(w, spec, "{}");
    json_error_t e;
    json_object_set_new(w->vkc, "metadata", json_loads(text, 0, &e));
    free(text);
    use_pods(w, json_pack("[o, o, o]", make_pod(0, "127.0.0.3", "primary", true, r0), make_pod(1, NOBODY, "replica", true, r1),
                          make_pod(2, NOBODY, "replica", true, r2)));
    probed_primary(&w->c.pods[0], 100);
    probed_replica(&w->c.pods[1], "127.0.0.3", 100, true);
    probed_replica(&w->c.pods[2], "127.0.0.3", 100, true);
    pods_live(w);
}

static void test_switchover_to_the_current_primary_only_removes_the_annotation(void **state)
{
    struct world *w = *state;
    three_settled(w, "{\"replicas\": 3}", "{\"gungnir.dev/switchover-to\": \"cache-0\"}", NULL, NULL, NULL);
    struct pod_view *primary = &w->c.pods[0];

    assert_int_equal(moves_requested_switchover(&w->c, &primary), 0);

    assert_ptr_equal(primary, &w->c.pods[0]);
    assert_int_equal(fake_api_writes(&w->fake), 1);
    const struct fake_call *p = fake_api_find(&w->fake, "PATCH", VKC_PATH, 0);
    assert_non_null(p);
    assert_string_equal(p->path, VKC_PATH);
    assert_true(json_is_null(json_object_get(json_object_get(json_object_get(p->body, "metadata"), "annotations"),
                                             "gungnir.dev/switchover-to")));
}

static void test_switchover_to_a_pod_that_cannot_lead_waits(void **state)
{
    struct world *w = *state;
    const char *targets[] = {"{\"gungnir.dev/switchover-to\": \"cache-7\"}", /* no such pod */
                             "{\"gungnir.dev/switchover-to\": \"cache-2\"}"}; /* beyond spec.replicas 2 */
    for (size_t i = 0; i < 2; i++) {
        three_settled(w, "{\"replicas\": 2}", targets[i], NULL, NULL, NULL);
        struct pod_view *primary = &w->c.pods[0];
        assert_int_equal(moves_requested_switchover(&w->c, &primary), 1);
        assert_int_equal(fake_api_count(&w->fake, "*", ""), 0);
        json_decref(w->vkc);
        w->vkc = NULL;
    }
}

static void test_a_fenced_switchover_sends_no_command_and_does_not_wait(void **state)
{
    struct world *w = *state;
    struct ok_server srv;
    ok_server_start(&srv);
    struct fence fence;
    fence_init_closed(&fence); /* the Lease is lost */
    w->env.fence = &fence;
    use_cluster(w, "{\"replicas\": 2}", "{}");
    use_pods(w, json_pack("[o, o]", make_pod(0, OK_SERVER_IP, "primary", true, NULL),
                          make_pod(1, OK_SERVER_IP, "replica", true, NULL)));
    probed_primary(&w->c.pods[0], 100);
    probed_replica(&w->c.pods[1], OK_SERVER_IP, 100, true);

    int64_t t0 = clock_now_ms();
    int rc = moves_switchover(&w->c, &w->c.pods[0], &w->c.pods[1], "in a test");
    int64_t took = clock_now_ms() - t0;
    ok_server_stop(&srv);

    assert_int_equal(rc, -1);
    assert_int_equal(atomic_load(&srv.commands), 0); /* no FAILOVER reached the server */
    assert_true(took < MOVES_SWITCHOVER_WAIT_MS / 3);
    assert_int_equal(fake_api_writes(&w->fake), 0);
}

static void test_a_fenced_failover_sends_no_command_to_the_servers(void **state)
{
    struct world *w = *state;
    struct ok_server srv;
    ok_server_start(&srv);
    struct fence fence;
    fence_init_closed(&fence);
    w->env.fence = &fence;
    use_cluster(w, "{\"replicas\": 3}", "{\"failover\": {\"epoch\": 1}}");
    json_t *p0 = make_pod(0, NOBODY, "primary", true, NULL);
    json_object_set_new(json_object_get(p0, "metadata"), "deletionTimestamp", json_string("2026-11-29T00:00:00Z"));
    use_pods(w, json_pack("[o, o, o]", p0, make_pod(1, OK_SERVER_IP, "replica", true, NULL),
                          make_pod(2, OK_SERVER_IP, "replica", true, NULL)));
    probed_replica(&w->c.pods[1], NOBODY, 100, true);
    probed_replica(&w->c.pods[2], NOBODY, 50, true);
    bool down = false;

    assert_null(failover_glue_step(&w->c, &down));
    ok_server_stop(&srv);

    assert_int_equal(atomic_load(&srv.commands), 0); /* no REPLICAOF NO ONE, no repointing */
}

static void test_a_switchover_found_done_moves_the_labels_without_a_failover(void **state)
{
    struct world *w = *state;
    /* FAILOVER TO cache-1 completed, but its controller lost the Lease before the labels: cache-0
     * (labelled primary) follows cache-1, which serves as primary. */
    use_cluster(w, "{\"replicas\": 3}", "{\"primary\": \"cache-0\", \"failover\": {\"epoch\": 2}}");
    use_pods(w, json_pack("[o, o, o]", make_pod(0, NOBODY, "primary", true, NULL),
                          make_pod(1, "127.0.0.7", "replica", true, NULL), make_pod(2, NOBODY, "replica", true, NULL)));
    probed_replica(&w->c.pods[0], "127.0.0.7", 500, true);
    probed_primary(&w->c.pods[1], 500);
    probed_replica(&w->c.pods[2], "127.0.0.7", 500, true);
    bool down = true;

    struct pod_view *p = failover_glue_step(&w->c, &down);

    assert_non_null(p);
    assert_string_equal(p->name, "cache-1");
    assert_false(down);
    int old = index_of(&w->fake, "PATCH", PODS_PATH "cache-0");
    int now = index_of(&w->fake, "PATCH", PODS_PATH "cache-1");
    assert_true(old >= 0 && now > old); /* the old primary's label first */
    assert_string_equal(label_in(&w->fake.calls[old]), "replica");
    assert_string_equal(label_in(&w->fake.calls[now]), "primary");
    assert_int_equal(fake_api_count(&w->fake, "PATCH", STATUS_PATH), 0); /* no failover recorded */
    assert_true(event_posted(&w->fake, "Switchover"));
}

static void test_scale_down_past_the_primary_keeps_the_pods_until_it_moved(void **state)
{
    struct world *w = *state;
    three_settled(w, "{\"replicas\": 2}", NULL, NULL, NULL, NULL);
    /* The primary is the last pod, which the scale-down would remove. */
    w->c.pods[0].role = DESIRED_ROLE_REPLICA;
    w->c.pods[2].role = DESIRED_ROLE_PRIMARY;
    probed_primary(&w->c.pods[2], 100);
    probed_replica(&w->c.pods[0], "127.0.0.5", 100, true);
    w->c.pods[1].probed = false;
    w->c.pods[0].probed = false; /* no reachable replica: the switchover cannot happen yet */
    json_t *sts = json_pack("{s:{s:s, s:s}, s:{s:i}}", "metadata", "name", "cache", "namespace", NS, "spec", "replicas", 3);
    informer_cache_apply(w->statefulsets, INFORMER_ADDED, sts);
    json_decref(sts);
    struct pod_view *primary = &w->c.pods[2];
    int64_t sts_replicas = 2;

    assert_int_equal(moves_scale_down(&w->c, &primary, &sts_replicas), 1);

    assert_int_equal(sts_replicas, 3);
    assert_ptr_equal(primary, &w->c.pods[2]);
    assert_int_equal(fake_api_writes(&w->fake), 0);
}

static void test_rolling_update_restarts_the_highest_replica_first(void **state)
{
    struct world *w = *state;
    three_settled(w, "{\"replicas\": 3}", NULL, "old", "new", "old");

    assert_int_equal(moves_roll_pods(&w->c, &w->c.pods[0], "new", 3), 1);

    assert_int_equal(fake_api_count(&w->fake, "DELETE", ""), 1);
    assert_int_equal(fake_api_count(&w->fake, "DELETE", PODS_PATH "cache-2"), 1);
    assert_true(event_posted(&w->fake, "RollingUpdate"));
}

static void test_rolling_update_reads_the_pod_again_before_deleting_it(void **state)
{
    struct world *w = *state;
    three_settled(w, "{\"replicas\": 3}", NULL, "old", "new", "old");
    /* The cache still shows cache-2 as it was; the API server has it being deleted already
     * (an earlier reconcile rolled it): no second delete, no second Event. */
    json_t *going = make_pod(2, NOBODY, "replica", true, "old");
    json_object_set_new(json_object_get(going, "metadata"), "deletionTimestamp", json_string("2026-11-29T00:00:00Z"));
    fake_api_free(&w->fake);
    fake_api_answer(&w->fake, "GET", PODS_PATH "cache-2", 200, going, 0);
    assert_int_equal(moves_roll_pods(&w->c, &w->c.pods[0], "new", 3), 1);
    assert_int_equal(fake_api_count(&w->fake, "DELETE", ""), 0);
    assert_false(event_posted(&w->fake, "RollingUpdate"));

    /* A new pod of the same name has replaced it: it is not the one to delete either. */
    json_t *successor = make_pod(2, NOBODY, NULL, false, "new");
    json_object_set_new(json_object_get(successor, "metadata"), "uid", json_string("uid-new"));
    fake_api_free(&w->fake);
    fake_api_answer(&w->fake, "GET", PODS_PATH "cache-2", 200, successor, 0);
    assert_int_equal(moves_roll_pods(&w->c, &w->c.pods[0], "new", 3), 1);
    assert_int_equal(fake_api_count(&w->fake, "DELETE", ""), 0);
}

static void test_rolling_update_waits_for_the_last_pod_and_stops_when_done(void **state)
{
    struct world *w = *state;
    three_settled(w, "{\"replicas\": 3}", NULL, "old", "new", "old");
    w->c.pods[1].ready = false; /* the one rolled last time is not back yet */
    assert_int_equal(moves_roll_pods(&w->c, &w->c.pods[0], "new", 3), 1);
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0);

    w->c.pods[1].ready = true;
    w->c.pods[0].revision = w->c.pods[2].revision = "new";
    assert_int_equal(moves_roll_pods(&w->c, &w->c.pods[0], "new", 3), 0);
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0);
}

static void test_rolling_update_waits_while_a_rolled_pod_has_no_successor_yet(void **state)
{
    struct world *w = *state;
    three_settled(w, "{\"replicas\": 3}", NULL, "old", "old", "new");
    /* cache-2 was rolled a moment ago: deleted, and the StatefulSet has not made it again. */
    w->c.npods = 2;
    assert_int_equal(moves_roll_pods(&w->c, &w->c.pods[0], "new", 3), 1);
    assert_int_equal(fake_api_count(&w->fake, "*", ""), 0); /* cache-1 stays: never two replicas down */
}

static void test_rolling_update_never_deletes_the_primary(void **state)
{
    struct world *w = *state;
    three_settled(w, "{\"replicas\": 3}", NULL, "old", "new", "new");
    /* Only the primary is on the old template: it must move first (FAILOVER TO fails here: nobody
     * listens), and its pod is not deleted. */
    assert_int_equal(moves_roll_pods(&w->c, &w->c.pods[0], "new", 3), 1);
    assert_int_equal(fake_api_count(&w->fake, "DELETE", ""), 0);
    assert_int_equal(fake_api_count(&w->fake, "PATCH", PODS_PATH), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_cluster_gets_every_owned_object_then_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settled_cluster_makes_no_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_of_another_owner_is_not_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_refused_by_the_api_server_is_an_error_with_its_message, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid_spec_writes_only_its_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_refused_spec_keeps_the_last_valid_one_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_statefulset_of_another_cluster_gives_no_last_valid_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_status_write_of_an_invalid_spec_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_or_deleting_cluster_is_left_to_garbage_collection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_deleted_cluster_leaves_no_metric_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_disabled_pdb_is_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_pdb_of_another_owner_is_never_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_growth_raises_each_claim_then_recreates_the_statefulset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_storage_growth_refused_keeps_the_old_size_and_asks_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_growth_waits_while_the_statefulset_is_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_growth_is_resized_when_every_claim_has_the_capacity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_missing_user_secret_is_said_once_and_nothing_is_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_user_secret_with_an_unusable_password_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_usable_user_password_is_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pods_of_this_statefulset_only_by_ordinal_without_a_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_election_waits_for_every_pod, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_election_goes_on_without_a_pod_pending_past_the_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_election_waits_for_a_pending_pod_until_the_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_election_waits_for_a_pod_whose_claim_predates_the_cluster, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_election_waits_for_a_slow_pod_that_ran, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_pod_already_serving_as_primary_keeps_the_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_labels_replicas_and_counts_what_is_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_label_write_keeps_the_replica_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_records_before_it_acts_and_a_409_stops_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_that_cannot_promote_is_recorded_as_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_in_progress_is_true_while_it_runs_and_false_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_impossible_is_said_once_while_the_cache_lags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_disabled_says_so_and_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_impossible_is_said_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_pod_that_restarted_is_elected_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_finishes_an_attempt_whose_candidate_serves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_trusts_the_api_server_over_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_old_primary_that_runs_but_does_not_answer_is_fenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_switchover_to_the_current_primary_only_removes_the_annotation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_switchover_to_a_pod_that_cannot_lead_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_fenced_switchover_sends_no_command_and_does_not_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_fenced_failover_sends_no_command_to_the_servers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_switchover_found_done_moves_the_labels_without_a_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scale_down_past_the_primary_keeps_the_pods_until_it_moved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolling_update_restarts_the_highest_replica_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolling_update_reads_the_pod_again_before_deleting_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolling_update_waits_for_the_last_pod_and_stops_when_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolling_update_waits_while_a_rolled_pod_has_no_successor_yet, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rolling_update_never_deletes_the_primary, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
