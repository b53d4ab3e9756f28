/* leader.c — see leader.h. */
#include "leader.h"
#include "clock.h"
#include "log.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEASE_RECORD_MAX 128

struct leader {
    char ns[64], name[128], identity[128];
    long lease_s, renew_deadline_s, retry_s;
    struct kube_client *client; /* leader_start's own; NULL for leader_new */
    struct kube_api own_api;    /* over client */
    struct kube_api *api;       /* every Lease request goes through it */
    pthread_t thread;
    bool threaded;
    atomic_int stop;
    struct fence fence; /* open until the last renewal's start + renew_deadline, while leading */
    atomic_bool leading; /* for the log lines of set_leading */

    /* The last Lease record seen: its holder and renewTime, and when (by our clock) it last
     * changed. */
    char seen_holder[LEASE_RECORD_MAX], seen_renew[LEASE_RECORD_MAX];
    int64_t seen_changed_ms;
    int64_t attempt_ms;    /* when the last attempt started */
    int64_t last_renew_ms; /* the start of our last successful acquire or renew */
};

void leader_make_identity(char *buf, size_t size)
{
    char host[64] = "gungnir";
    unsigned char r[4] = {0};
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    RAND_bytes(r, sizeof(r));
    snprintf(buf, size, "%s_%02x%02x%02x%02x", host, r[0], r[1], r[2], r[3]);
}

static void lease_path(const struct leader *l, char *buf, size_t size, bool item)
{
    snprintf(buf, size, "/apis/coordination.k8s.io/v1/namespaces/%s/leases%s%s", l->ns, item ? "/" : "",
             item ? l->name : "");
}

/* Opens the fence until the last renewal's start + renew_deadline (leading), or closes it. */
static void set_leading(struct leader *l, bool leading)
{
    bool was = atomic_exchange(&l->leading, leading);
    if (leading)
        fence_open_until(&l->fence, l->last_renew_ms + (int64_t)l->renew_deadline_s * 1000);
    else
        fence_close(&l->fence);
    if (leading && !was)
        log_write(LOG_INFO, "became the leader", "lease", l->name, "identity", l->identity, NULL);
    else if (!leading && was)
        log_write(LOG_WARN, "lost the leadership; writes stop", "lease", l->name, "identity", l->identity, NULL);
}

/* The answer to a write of the Lease. */
static enum leader_result write_result(struct leader *l, const char *what, long code)
{
    if (kube_api_ok(code))
        return LEADER_HELD;
    if (code == 409) {
        log_write(LOG_INFO, "another candidate wrote the Lease first", "lease", l->name, "write", what, NULL);
        return LEADER_NOT_HELD;
    }
    log_write(LOG_WARN, "cannot write the Lease", "lease", l->name, "write", what, "error", kube_api_errstr(l->api),
              NULL);
    return LEADER_FAILED;
}

static enum leader_result create_lease(struct leader *l, const char *now_wall)
{
    char path[512];
    json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:i}}", "apiVersion",
                             "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", l->name, "namespace",
                             l->ns, "spec", "holderIdentity", l->identity, "leaseDurationSeconds",
                             (json_int_t)l->lease_s, "acquireTime", now_wall, "renewTime", now_wall,
                             "leaseTransitions", 0);
    if (!body)
        return LEADER_FAILED;
    lease_path(l, path, sizeof(path), false);
    long code = kube_api_create(l->api, path, body);
    json_decref(body);
    return write_result(l, "create", code);
}

/* Notes the Lease's record (holder, renewTime) and when it last changed by our clock. */
static void observe_record(struct leader *l, const char *holder, const char *renew, int64_t now_ms)
{
    if (strcmp(holder, l->seen_holder) != 0 || strcmp(renew, l->seen_renew) != 0) {
        snprintf(l->seen_holder, sizeof(l->seen_holder), "%s", holder);
        snprintf(l->seen_renew, sizeof(l->seen_renew), "%s", renew);
        l->seen_changed_ms = now_ms;
    }
}

enum leader_result leader_attempt(struct leader *l, int64_t now_ms, const char *now_wall)
{
    char path[512];
    json_t *lease = NULL;

    l->attempt_ms = now_ms;
    lease_path(l, path, sizeof(path), true);
    long code = kube_api_get(l->api, path, &lease);
    if (code == 404) {
        json_decref(lease);
        return create_lease(l, now_wall);
    }
    json_t *md = json_object_get(lease, "metadata");
    const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
    if (code != 200 || !json_is_object(lease) || !rv || !rv[0]) {
        /* Without the resourceVersion an update would not be conditional: never send one. */
        log_write(LOG_WARN, "cannot read the Lease", "lease", l->name, "error",
                  code == 200 ? "no metadata.resourceVersion" : kube_api_errstr(l->api), NULL);
        json_decref(lease);
        return LEADER_FAILED;
    }

    json_t *spec = json_object_get(lease, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(lease, "spec", spec);
    }
    const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
    const char *renew = json_string_value(json_object_get(spec, "renewTime"));
    long duration = (long)json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
    if (!holder)
        holder = "";
    if (duration <= 0)
        duration = l->lease_s;
    observe_record(l, holder, renew ? renew : "", now_ms);

    bool mine = strcmp(holder, l->identity) == 0;
    bool free_lease = !holder[0];
    bool expired = now_ms - l->seen_changed_ms > (int64_t)duration * 1000;
    if (!mine && !free_lease && !expired) {
        json_decref(lease);
        return LEADER_NOT_HELD;
    }
    if (!mine) {
        json_int_t transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
        log_write(LOG_INFO, free_lease ? "taking the free Lease" : "taking over the expired Lease", "lease", l->name,
                  "holder", holder, NULL);
        json_object_set_new(spec, "holderIdentity", json_string(l->identity));
        json_object_set_new(spec, "acquireTime", json_string(now_wall));
        json_object_set_new(spec, "leaseTransitions", json_integer(transitions + 1));
    }
    json_object_set_new(spec, "renewTime", json_string(now_wall));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer((json_int_t)l->lease_s));
    /* PUT with the resourceVersion we read: a 409 means another candidate got there first. */
    code = kube_api_update(l->api, path, lease);
    json_decref(lease);
    return write_result(l, mine ? "renew" : "acquire", code);
}

void leader_settle(struct leader *l, enum leader_result r, int64_t now_ms)
{
    switch (r) {
    case LEADER_HELD:
        l->last_renew_ms = l->attempt_ms;
        set_leading(l, true);
        break;
    case LEADER_NOT_HELD:
        set_leading(l, false);
        break;
    case LEADER_FAILED:
        if (atomic_load(&l->leading) && now_ms - l->last_renew_ms > (int64_t)l->renew_deadline_s * 1000)
            set_leading(l, false);
        break;
    }
}

int leader_release(struct leader *l, const char *now_wall)
{
    char path[512];
    json_t *lease = NULL;
    int rc = -1;

    set_leading(l, false);
    lease_path(l, path, sizeof(path), true);
    long code = kube_api_get(l->api, path, &lease);
    if (code == 404)
        rc = 0;
    if (code == 200 && json_is_object(lease)) {
        json_t *spec = json_object_get(lease, "spec");
        const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
        if (!holder || strcmp(holder, l->identity) != 0) {
            rc = 0;
        } else {
            json_object_set_new(spec, "holderIdentity", json_string(""));
            json_object_set_new(spec, "renewTime", json_string(now_wall));
            json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
            rc = kube_api_ok(kube_api_update(l->api, path, lease)) ? 0 : -1;
        }
    }
    if (rc != 0)
        log_write(LOG_WARN, "cannot release the Lease; a successor waits for it to expire", "lease", l->name,
                  "error", kube_api_errstr(l->api), NULL);
    json_decref(lease);
    return rc;
}

static void *leader_main(void *arg)
{
    struct leader *l = arg;
    char wall[CLOCK_RFC3339_MAX];
    while (!atomic_load(&l->stop)) {
        clock_wall_rfc3339(wall, sizeof(wall), 6); /* MicroTime: 2026-11-24T16:20:00.123456Z */
        enum leader_result r = leader_attempt(l, clock_now_ms(), wall);
        leader_settle(l, r, clock_now_ms());
        for (long waited = 0; waited < l->retry_s * 1000 && !atomic_load(&l->stop); waited += 100) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (atomic_load(&l->leading)) {
        clock_wall_rfc3339(wall, sizeof(wall), 6);
        leader_release(l, wall);
    }
    return NULL;
}

static struct leader *leader_alloc(const struct leader_options *opt)
{
    struct leader *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    snprintf(l->ns, sizeof(l->ns), "%s", opt->namespace_);
    snprintf(l->name, sizeof(l->name), "%s", opt->name);
    snprintf(l->identity, sizeof(l->identity), "%s", opt->identity);
    l->lease_s = opt->lease_duration_s > 0 ? opt->lease_duration_s : 15;
    l->renew_deadline_s = opt->renew_deadline_s > 0 ? opt->renew_deadline_s : 10;
    l->retry_s = opt->retry_period_s > 0 ? opt->retry_period_s : 2;
    fence_init_closed(&l->fence);
    atomic_init(&l->leading, false);
    return l;
}

struct leader *leader_new(const struct leader_options *opt, struct kube_api *api)
{
    struct leader *l = leader_alloc(opt);
    if (l)
        l->api = api;
    return l;
}

struct leader *leader_start(const struct leader_options *opt, const struct kube_client_options *client,
                            char *err, size_t errlen)
{
    struct leader *l = leader_alloc(opt);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* A request must not outlive the renew deadline by much: the fence is only checked once it
     * returns, and a successor may take over lease_duration after our last renewal. Half the gap
     * between the two bounds every request (at least a second). */
    struct kube_client_options co = *client;
    long bound_ms = (l->lease_s - l->renew_deadline_s) * 1000 / 2;
    if (bound_ms < 1000)
        bound_ms = 1000;
    if (co.request_timeout_ms <= 0 || co.request_timeout_ms > bound_ms)
        co.request_timeout_ms = bound_ms;
    if (co.connect_timeout_ms <= 0 || co.connect_timeout_ms > bound_ms)
        co.connect_timeout_ms = bound_ms;
    l->client = kube_client_new(&co, err, errlen);
    if (!l->client) {
        free(l);
        return NULL;
    }
    kube_api_for_client(&l->own_api, l->client);
    l->api = &l->own_api;
    l->threaded = true;
    if (pthread_create(&l->thread, NULL, leader_main, l) != 0) {
        snprintf(err, errlen, "cannot start the leader election thread");
        kube_client_free(l->client);
        free(l);
        return NULL;
    }
    return l;
}

void leader_stop(struct leader *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, 1);
    if (l->threaded)
        pthread_join(l->thread, NULL);
    kube_client_free(l->client);
    free(l);
}

bool leader_is_leader(struct leader *l) { return !fence_closed(&l->fence); }

const struct fence *leader_fence(struct leader *l) { return &l->fence; }
