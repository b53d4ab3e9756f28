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

struct leader {
    char ns[64], name[128], identity[128];
    long lease_s, renew_deadline_s, retry_s;
    struct kube_client *client;
    pthread_t thread;
    volatile int stop;
    volatile int fenced; /* 1 unless leading */

    /* The last Lease record seen: its holder, renewTime and transitions, and when (by our clock)
     * it last changed. */
    char seen_holder[128], seen_renew[48];
    int64_t seen_changed_ms;
    int64_t last_renew_ms; /* our last successful acquire or renew */
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

static void set_leading(struct leader *l, bool leading)
{
    bool was = !l->fenced;
    l->fenced = leading ? 0 : 1;
    if (leading && !was)
        log_write(LOG_INFO, "became the leader", "lease", l->name, "identity", l->identity, NULL);
    else if (!leading && was)
        log_write(LOG_WARN, "lost the leadership; writes stop", "lease", l->name, "identity", l->identity, NULL);
}

/* One attempt to acquire or renew. Returns true when we hold the lease afterwards. */
static bool try_acquire_or_renew(struct leader *l)
{
    char path[512], now[CLOCK_RFC3339_MAX];
    json_t *lease = NULL;
    int64_t now_ms = clock_now_ms();

    clock_wall_rfc3339(now, sizeof(now), 6); /* MicroTime: 2026-11-24T16:20:00.123456Z */
    lease_path(l, path, sizeof(path), true);
    long code = kube_get(l->client, path, &lease);
    if (code == 404) {
        json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s, s:s, s:i}}", "apiVersion",
                                 "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", l->name,
                                 "namespace", l->ns, "spec", "holderIdentity", l->identity,
                                 "leaseDurationSeconds", (int)l->lease_s, "acquireTime", now, "renewTime", now,
                                 "leaseTransitions", 0);
        lease_path(l, path, sizeof(path), false);
        code = kube_send_json(l->client, "POST", path, NULL, body, NULL);
        json_decref(body);
        json_decref(lease);
        return code == 201 || code == 200;
    }
    if (code != 200 || !lease) {
        json_decref(lease);
        return false;
    }

    json_t *spec = json_object_get(lease, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(lease, "spec", spec);
    }
    const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
    const char *renew = json_string_value(json_object_get(spec, "renewTime"));
    long duration = (long)json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
    if (duration <= 0)
        duration = l->lease_s;
    if (strcmp(holder ? holder : "", l->seen_holder) != 0 || strcmp(renew ? renew : "", l->seen_renew) != 0) {
        snprintf(l->seen_holder, sizeof(l->seen_holder), "%s", holder ? holder : "");
        snprintf(l->seen_renew, sizeof(l->seen_renew), "%s", renew ? renew : "");
        l->seen_changed_ms = now_ms;
    }
    bool mine = holder && strcmp(holder, l->identity) == 0;
    bool free_lease = !holder || !holder[0];
    bool expired = now_ms - l->seen_changed_ms > duration * 1000;
    if (!mine && !free_lease && !expired) {
        json_decref(lease);
        return false;
    }
    if (!mine) {
        long transitions = (long)json_integer_value(json_object_get(spec, "leaseTransitions"));
        json_object_set_new(spec, "holderIdentity", json_string(l->identity));
        json_object_set_new(spec, "acquireTime", json_string(now));
        json_object_set_new(spec, "leaseTransitions", json_integer(transitions + 1));
    }
    json_object_set_new(spec, "renewTime", json_string(now));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(l->lease_s));
    /* PUT with the resourceVersion we read: a 409 means another candidate got there first. */
    code = kube_send_json(l->client, "PUT", path, NULL, lease, NULL);
    json_decref(lease);
    return code == 200;
}

static void release(struct leader *l)
{
    char path[512], now[CLOCK_RFC3339_MAX];
    json_t *lease = NULL;
    lease_path(l, path, sizeof(path), true);
    if (kube_get(l->client, path, &lease) == 200) {
        json_t *spec = json_object_get(lease, "spec");
        const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
        if (holder && strcmp(holder, l->identity) == 0) {
            clock_wall_rfc3339(now, sizeof(now), 6);
            json_object_set_new(spec, "holderIdentity", json_string(""));
            json_object_set_new(spec, "renewTime", json_string(now));
            json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
            kube_send_json(l->client, "PUT", path, NULL, lease, NULL);
        }
    }
    json_decref(lease);
}

static void *leader_main(void *arg)
{
    struct leader *l = arg;
    while (!l->stop) {
        bool ok = try_acquire_or_renew(l);
        int64_t now = clock_now_ms();
        if (ok) {
            l->last_renew_ms = now;
            set_leading(l, true);
        } else if (!l->fenced && now - l->last_renew_ms > l->renew_deadline_s * 1000) {
            set_leading(l, false);
        } else if (l->fenced) {
            /* not leading: keep trying */
        }
        for (long waited = 0; waited < l->retry_s * 1000 && !l->stop; waited += 100) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (!l->fenced) {
        set_leading(l, false);
        release(l);
    }
    return NULL;
}

struct leader *leader_start(const struct leader_options *opt, const struct kube_client_options *client,
                            char *err, size_t errlen)
{
    struct leader *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(l->ns, sizeof(l->ns), "%s", opt->namespace_);
    snprintf(l->name, sizeof(l->name), "%s", opt->name);
    snprintf(l->identity, sizeof(l->identity), "%s", opt->identity);
    l->lease_s = opt->lease_duration_s > 0 ? opt->lease_duration_s : 15;
    l->renew_deadline_s = opt->renew_deadline_s > 0 ? opt->renew_deadline_s : 10;
    l->retry_s = opt->retry_period_s > 0 ? opt->retry_period_s : 2;
    l->fenced = 1;
    l->client = kube_client_new(client, err, errlen);
    if (!l->client) {
        free(l);
        return NULL;
    }
    /* A request must not outlive the renew deadline. */
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
    l->stop = 1;
    pthread_join(l->thread, NULL);
    kube_client_free(l->client);
    free(l);
}

bool leader_is_leader(struct leader *l) { return l->fenced == 0; }

const volatile int *leader_fence(struct leader *l) { return &l->fenced; }
