/* monitor.c — see monitor.h. */
#include "monitor.h"
#include "clock.h"
#include "cluster_password.h"
#include "desired.h"
#include "log.h"
#include "metrics.h"
#include "prober.h"
#include "sdown.h"
#include "vkc_defaults.h"
#include "vkc_spec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REFRESH_MS 500
#define PROBE_TIMEOUT_MAX_MS 500

struct watched {
    bool used, seen;
    char key[256];
    char ns[128], name[128];
    char primary[128], host[PROBER_HOST_MAX];
    char password[CLUSTER_PASSWORD_MAX];
    long interval_ms;
    int threshold;
    int64_t next_ms;
    struct sdown sd;
    bool down;
    char why[160];
};

struct monitor {
    struct informer *clusters, *pods, *secrets;
    monitor_down_fn on_down;
    void *ctx;
    pthread_t thread;
    bool threaded;
    volatile int stop;
    pthread_mutex_t lock;
    json_t *handed; /* "namespace/name" -> the password of a user's Secret (monitor_set_password) */
    struct watched w[MONITOR_CLUSTERS_MAX];
    size_t slot[MONITOR_CLUSTERS_MAX]; /* the last monitor_due: targets[k] is w[slot[k]] */
    size_t nslot;
    metrics_series *latency;
    /* The thread's rounds (monitor_start only). */
    struct prober *prober;
    struct probe_target targets[MONITOR_CLUSTERS_MAX];
    struct probe_result results[MONITOR_CLUSTERS_MAX];
};

/* The password the reconcile handed over for cluster key (monitor_set_password) into buf, or
 * "". Called with the lock held. */
static void handed_password(struct monitor *m, const char *key, char *buf, size_t size)
{
    const char *p = json_string_value(json_object_get(m->handed, key));
    snprintf(buf, size, "%s", p ? p : "");
}

/* Drops the handed passwords of clusters that are no longer in the cache. Lock held. */
static void forget_handed(struct monitor *m)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(m->handed, tmp, key, v)
    {
        char ns[256];
        snprintf(ns, sizeof(ns), "%s", key);
        char *slash = strchr(ns, '/');
        json_t *obj = slash ? (*slash = '\0', informer_get(m->clusters, ns, slash + 1)) : NULL;
        if (!obj)
            json_object_del(m->handed, key);
        json_decref(obj);
    }
}

static struct watched *find(struct monitor *m, const char *key, bool make)
{
    struct watched *free_slot = NULL;
    for (size_t i = 0; i < MONITOR_CLUSTERS_MAX; i++) {
        if (m->w[i].used && strcmp(m->w[i].key, key) == 0)
            return &m->w[i];
        if (!m->w[i].used && !free_slot)
            free_slot = &m->w[i];
    }
    if (!make || !free_slot)
        return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = true;
    snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
    return free_slot;
}

size_t monitor_refresh(struct monitor *m)
{
    json_t *list = informer_list(m->clusters, NULL, NULL, NULL);
    size_t i;
    const json_t *vkc;

    pthread_mutex_lock(&m->lock);
    for (size_t k = 0; k < MONITOR_CLUSTERS_MAX; k++)
        m->w[k].seen = false;
    json_array_foreach(list, i, vkc)
    {
        const json_t *md = json_object_get(vkc, "metadata");
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        const char *name = json_string_value(json_object_get(md, "name"));
        if (!ns || !name || json_object_get(md, "deletionTimestamp"))
            continue;
        json_t *copy = json_deep_copy(vkc);
        struct vkc_spec spec;
        ferr_list *errs = calloc(1, sizeof(*errs));
        bool ok = copy && errs && vkc_default(copy, NULL) >= 0;
        if (ok) {
            ferr_init(errs);
            ok = vkc_spec_parse(json_object_get(copy, "spec"), &spec, errs) == 0 && spec.failover_enabled;
        }
        char key[256];
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        /* The labelled primary of this cluster. */
        const char *primary = NULL, *ip = NULL;
        json_t *pods = ok ? informer_list(m->pods, ns, DESIRED_ROLE_LABEL, DESIRED_ROLE_PRIMARY) : NULL;
        size_t j;
        const json_t *pod;
        json_array_foreach(pods, j, pod)
        {
            const json_t *pmd = json_object_get(pod, "metadata");
            const char *inst = json_string_value(json_object_get(json_object_get(pmd, "labels"), "app.kubernetes.io/instance"));
            if (inst && strcmp(inst, name) == 0 && !json_object_get(pmd, "deletionTimestamp")) {
                primary = json_string_value(json_object_get(pmd, "name"));
                ip = json_string_value(json_object_get(json_object_get(pod, "status"), "podIP"));
            }
        }
        struct watched *w = ok && primary && ip ? find(m, key, true) : NULL;
        if (w) {
            w->seen = true;
            snprintf(w->ns, sizeof(w->ns), "%s", ns);
            snprintf(w->name, sizeof(w->name), "%s", name);
            if (strcmp(w->primary, primary) != 0 || strcmp(w->host, ip) != 0) {
                /* A new primary (or it moved): watch it from a clean start. */
                snprintf(w->primary, sizeof(w->primary), "%s", primary);
                snprintf(w->host, sizeof(w->host), "%s", ip);
                sdown_init(&w->sd, (int)spec.failure_threshold);
                w->down = false;
                w->why[0] = '\0';
            }
            w->interval_ms = (long)spec.probe_interval_ms;
            w->threshold = (int)spec.failure_threshold;
            w->sd.threshold = w->threshold;
            struct desired_names dn;
            desired_names_of(name, &spec, &dn);
            if (spec.auth_enabled && cluster_password(m->secrets, NULL, ns, dn.auth_secret, w->password,
                                                      sizeof(w->password), NULL, 0) != 0)
                handed_password(m, key, w->password, sizeof(w->password)); /* a user's Secret */
            else if (!spec.auth_enabled)
                w->password[0] = '\0';
            if (spec.auth_enabled && !w->password[0])
                w->seen = false; /* the password is not known yet: probing would only fail */
        }
        json_decref(pods);
        json_decref(copy);
        free(errs);
    }
    size_t watched = 0;
    for (size_t k = 0; k < MONITOR_CLUSTERS_MAX; k++) {
        if (m->w[k].used && !m->w[k].seen)
            m->w[k].used = false;
        watched += m->w[k].used;
    }
    forget_handed(m);
    pthread_mutex_unlock(&m->lock);
    json_decref(list);
    return watched;
}

/* The probe key of w's primary: "namespace/name/pod". */
static void target_key(const struct watched *w, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", w->key, w->primary);
}

size_t monitor_due(struct monitor *m, int64_t now_ms, struct probe_target *targets, size_t max,
                   long *timeout_ms)
{
    size_t n = 0;
    long timeout = PROBE_TIMEOUT_MAX_MS;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < MONITOR_CLUSTERS_MAX && n < max; i++) {
        struct watched *w = &m->w[i];
        if (!w->used || w->down || now_ms < w->next_ms)
            continue;
        struct probe_target *t = &targets[n];
        target_key(w, t->key, sizeof(t->key));
        snprintf(t->host, sizeof(t->host), "%s", w->host);
        t->port = DESIRED_PORT;
        snprintf(t->password, sizeof(t->password), "%s", w->password);
        if (w->interval_ms < timeout)
            timeout = w->interval_ms;
        w->next_ms = now_ms + w->interval_ms;
        m->slot[n++] = i;
    }
    m->nslot = n;
    pthread_mutex_unlock(&m->lock);
    if (timeout_ms)
        *timeout_ms = timeout;
    return n;
}

/* The watched primary that target k of the last round probed, or NULL when the table no longer
 * holds it. Call with the lock held. */
static struct watched *watched_of(struct monitor *m, size_t k, const struct probe_target *t)
{
    char key[PROBER_KEY_MAX];
    if (k < m->nslot) {
        struct watched *w = &m->w[m->slot[k]];
        target_key(w, key, sizeof(key));
        if (w->used && strcmp(key, t->key) == 0)
            return w;
    }
    for (size_t i = 0; i < MONITOR_CLUSTERS_MAX; i++) {
        struct watched *w = &m->w[i];
        if (!w->used)
            continue;
        target_key(w, key, sizeof(key));
        if (strcmp(key, t->key) == 0)
            return w;
    }
    return NULL;
}

/* Feeds one probe result to w's SDOWN state. Returns true when it made the primary down. */
static bool observe(struct monitor *m, struct watched *w, const struct probe_result *r)
{
    if (r->ok)
        metrics_observe(m->latency, r->latency_ms / 1000.0);
    if (r->auth_refused) {
        /* It answered: it is up. The password changed (or is wrong): not a reason to fail over,
         * which could not reach the replicas with it either. The reconcile reports it. */
        log_write(LOG_DEBUG, "primary refused the password; not counted", "valkeycluster", w->key, "pod", w->primary,
                  NULL);
        return false;
    }
    bool ok = r->ok && r->info.is_primary;
    enum sdown_state st = sdown_observe(&w->sd, ok, r->ok ? r->info.run_id : NULL, r->ok ? r->info.repl_offset : -1);
    if (st != SDOWN_DOWN || w->down)
        return false;
    w->down = true;
    if (w->sd.restarted)
        snprintf(w->why, sizeof(w->why), "restarted (its run_id changed or its offset went back)");
    else if (r->ok)
        snprintf(w->why, sizeof(w->why), "%d probes found it is not a primary", w->threshold);
    else
        snprintf(w->why, sizeof(w->why), "%d probes failed: %.100s", w->threshold, r->err);
    log_write(LOG_WARN, "primary is down (SDOWN)", "valkeycluster", w->key, "pod", w->primary, "why", w->why, NULL);
    return true;
}

size_t monitor_record(struct monitor *m, const struct probe_target *targets, const struct probe_result *results,
                      size_t n)
{
    size_t ndown = 0;
    char(*down_keys)[sizeof(m->w[0].key)] = n ? calloc(n, sizeof(*down_keys)) : NULL;
    if (n && !down_keys) {
        log_write(LOG_ERROR, "out of memory; a probe round is not recorded", NULL);
        return 0;
    }
    pthread_mutex_lock(&m->lock);
    for (size_t k = 0; k < n; k++) {
        struct watched *w = watched_of(m, k, &targets[k]);
        if (w && observe(m, w, &results[k]))
            snprintf(down_keys[ndown++], sizeof(down_keys[0]), "%s", w->key);
    }
    pthread_mutex_unlock(&m->lock);
    for (size_t k = 0; k < ndown; k++)
        if (m->on_down)
            m->on_down(m->ctx, down_keys[k]);
    free(down_keys);
    return ndown;
}

static void *monitor_main(void *arg)
{
    struct monitor *m = arg;
    int64_t next_refresh = 0;

    while (!m->stop) {
        int64_t now = clock_now_ms();
        if (now >= next_refresh) {
            monitor_refresh(m);
            next_refresh = now + REFRESH_MS;
        }
        /* Every cluster whose probe is due, in one round. */
        long timeout;
        size_t n = monitor_due(m, now, m->targets, MONITOR_CLUSTERS_MAX, &timeout);
        if (n == 0) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        prober_round(m->prober, m->targets, n, timeout, m->results);
        monitor_record(m, m->targets, m->results, n);
    }
    return NULL;
}

struct monitor *monitor_new(struct informer *clusters, struct informer *pods, struct informer *secrets,
                            monitor_down_fn on_down, void *ctx, char *err, size_t errlen)
{
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5};
    struct monitor *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->clusters = clusters;
    m->pods = pods;
    m->secrets = secrets;
    m->on_down = on_down;
    m->ctx = ctx;
    m->latency = metrics_histogram("gungnir_failover_probe_duration_seconds",
                                   "Time a probe of a primary took (PING, INFO server, INFO replication).", NULL,
                                   bounds, sizeof(bounds) / sizeof(bounds[0]));
    m->handed = json_object();
    if (!m->handed) {
        snprintf(err, errlen, "out of memory");
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

struct monitor *monitor_start(struct informer *clusters, struct informer *pods, struct informer *secrets,
                              monitor_down_fn on_down, void *ctx, char *err, size_t errlen)
{
    struct monitor *m = monitor_new(clusters, pods, secrets, on_down, ctx, err, errlen);
    if (!m)
        return NULL;
    if (!(m->prober = prober_new())) {
        snprintf(err, errlen, "out of memory");
        monitor_stop(m);
        return NULL;
    }
    if (pthread_create(&m->thread, NULL, monitor_main, m) != 0) {
        snprintf(err, errlen, "cannot start the monitor thread");
        monitor_stop(m);
        return NULL;
    }
    m->threaded = true;
    return m;
}

void monitor_stop(struct monitor *m)
{
    if (!m)
        return;
    m->stop = 1;
    if (m->threaded)
        pthread_join(m->thread, NULL);
    prober_free(m->prober);
    json_decref(m->handed);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

bool monitor_primary_down(struct monitor *m, const char *ns, const char *name, const char *primary,
                          char *why, size_t whylen)
{
    char key[256];
    bool down = false;
    if (!m)
        return false;
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    pthread_mutex_lock(&m->lock);
    struct watched *w = find(m, key, false);
    if (w && w->down && strcmp(w->primary, primary) == 0) {
        down = true;
        if (why)
            snprintf(why, whylen, "%s", w->why);
    }
    pthread_mutex_unlock(&m->lock);
    return down;
}

void monitor_reset(struct monitor *m, const char *ns, const char *name)
{
    char key[256];
    if (!m)
        return;
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    pthread_mutex_lock(&m->lock);
    struct watched *w = find(m, key, false);
    if (w)
        w->used = false; /* the next refresh watches the new primary from a clean start */
    pthread_mutex_unlock(&m->lock);
}

void monitor_set_password(struct monitor *m, const char *namespace_, const char *name, const char *password)
{
    char key[256];
    if (!m)
        return;
    snprintf(key, sizeof(key), "%s/%s", namespace_, name);
    pthread_mutex_lock(&m->lock);
    const char *old = json_string_value(json_object_get(m->handed, key));
    if (!password)
        json_object_del(m->handed, key);
    else if (!old || strcmp(old, password) != 0)
        json_object_set_new(m->handed, key, json_string(password));
    pthread_mutex_unlock(&m->lock);
}
