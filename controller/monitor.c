/* monitor.c — see monitor.h. */
#include "monitor.h"
#include "clock.h"
#include "cluster_password.h"
#include "desired.h"
#include "grow.h"
#include "log.h"
#include "metrics.h"
#include "prober.h"
#include "sdown.h"
#include "vkc_defaults.h"
#include "vkc_spec.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
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
    atomic_int stop;
    pthread_mutex_t lock;
    json_t *handed; /* "namespace/name" -> the password of a user's Secret (monitor_set_password) */
    /* The watched primaries, w[0..nw) (an entry with !used is dropped at the next refresh),
     * grown by doubling (and shrunk) with the number of clusters. Lock held. */
    struct watched *w;
    size_t nw, wcap;
    size_t hint;  /* where find looks first: just after the entry it found last */
    size_t *slot; /* the last monitor_due: targets[k] is w[slot[k]] for k < nslot */
    size_t nslot, slot_cap;
    size_t unwatched; /* clusters the last refresh could not watch (out of memory) */
    metrics_series *latency, *dropped;
    /* The thread's rounds (monitor_start only): room for round_cap targets, grown to the
     * number watched. Only the thread touches them. */
    struct prober *prober;
    struct probe_target *targets;
    struct probe_result *results;
    size_t round_cap;
    bool round_short; /* growing them failed (logged once) */
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

/* The watched entry of key, or, with make, a new one (zeroed, used); NULL when there is none,
 * or when a new one could not be made (out of memory). The pointer is valid until the next
 * find or refresh. Lock held. The search starts at hint: clusters come back in the same order
 * at each refresh, so the next one is usually right there. */
static struct watched *find(struct monitor *m, const char *key, bool make)
{
    for (size_t k = 0; k < m->nw; k++) {
        size_t i = (m->hint + k) % m->nw;
        if (m->w[i].used && strcmp(m->w[i].key, key) == 0) {
            m->hint = i + 1;
            return &m->w[i];
        }
    }
    struct watched *grown = make ? grow_array(m->w, &m->wcap, m->nw + 1, sizeof(*m->w)) : NULL;
    if (!grown)
        return NULL;
    m->w = grown;
    struct watched *w = &m->w[m->nw++];
    memset(w, 0, sizeof(*w));
    w->used = true;
    snprintf(w->key, sizeof(w->key), "%s", key);
    m->hint = m->nw;
    return w;
}

/* Drops the entries no longer used, keeping the others in order, and gives memory back when
 * the table is mostly empty. The slots of the last monitor_due then no longer hold (the
 * results of that round are matched by key). Returns how many are watched. Lock held. */
static size_t compact(struct monitor *m)
{
    size_t kept = 0;
    for (size_t i = 0; i < m->nw; i++) {
        if (!m->w[i].used)
            continue;
        if (kept != i)
            m->w[kept] = m->w[i];
        kept++;
    }
    if (kept != m->nw)
        m->nslot = 0;
    m->nw = kept;
    m->hint = 0;
    if (m->wcap > 64 && kept < m->wcap / 4) {
        struct watched *w = realloc(m->w, m->wcap / 2 * sizeof(*w));
        if (w) { /* else it stays as large as it was */
            m->w = w;
            m->wcap /= 2;
        }
    }
    return kept;
}

/* Says, loudly, that clusters could not be watched for lack of memory: counted at every
 * refresh in gungnir_monitor_dropped_total, logged when their number changes. Lock held. */
static void report_unwatched(struct monitor *m, size_t unwatched)
{
    char n[32];
    metrics_add(m->dropped, unwatched);
    if (unwatched == m->unwatched)
        return;
    snprintf(n, sizeof(n), "%zu", unwatched);
    if (unwatched)
        log_write(LOG_ERROR, "out of memory: ValkeyClusters with failover are not monitored (their primaries "
                             "are not probed, so no failover would start)",
                  "clusters", n, NULL);
    else
        log_write(LOG_INFO, "every ValkeyCluster with failover is monitored again", NULL);
    m->unwatched = unwatched;
}

/* The primary-labelled pods not being deleted, by "namespace/instance" (the last one listed
 * when there are several, as before). Returns a new object (possibly empty), or NULL; adds to
 * *lost the pods that could not be indexed (out of memory). */
static json_t *primaries_by_cluster(struct monitor *m, size_t *lost)
{
    json_t *pods = informer_list(m->pods, NULL, DESIRED_ROLE_LABEL, DESIRED_ROLE_PRIMARY);
    json_t *by = json_object();
    size_t j;
    json_t *pod;
    json_array_foreach(pods, j, pod)
    {
        const json_t *pmd = json_object_get(pod, "metadata");
        const char *ns = json_string_value(json_object_get(pmd, "namespace"));
        const char *inst = json_string_value(json_object_get(json_object_get(pmd, "labels"), "app.kubernetes.io/instance"));
        if (!by || !ns || !inst || json_object_get(pmd, "deletionTimestamp"))
            continue;
        char key[256];
        snprintf(key, sizeof(key), "%s/%s", ns, inst);
        if (json_object_set(by, key, pod) != 0)
            (*lost)++; /* out of memory: that cluster looks as if it had no primary */
    }
    json_decref(pods);
    return by;
}

size_t monitor_refresh(struct monitor *m)
{
    json_t *list = informer_list(m->clusters, NULL, NULL, NULL);
    size_t i, unwatched = 0;
    json_t *primaries = primaries_by_cluster(m, &unwatched);
    const json_t *vkc;

    pthread_mutex_lock(&m->lock);
    for (size_t k = 0; k < m->nw; k++)
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
        const json_t *pod = ok ? json_object_get(primaries, key) : NULL;
        const char *primary = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
        const char *ip = json_string_value(json_object_get(json_object_get(pod, "status"), "podIP"));
        struct watched *w = ok && primary && ip ? find(m, key, true) : NULL;
        if (ok && primary && ip && !w)
            unwatched++;
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
        json_decref(copy);
        free(errs);
    }
    if (!primaries && json_array_size(list) > 0)
        unwatched = json_array_size(list); /* not even the index of the primaries was made */
    for (size_t k = 0; k < m->nw; k++) {
        if (m->w[k].used && !m->w[k].seen)
            m->w[k].used = false;
    }
    size_t watched = compact(m);
    report_unwatched(m, unwatched);
    forget_handed(m);
    pthread_mutex_unlock(&m->lock);
    json_decref(primaries);
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
    size_t room = max < m->nw ? max : m->nw;
    if (room > m->slot_cap) {
        size_t *slot = grow_array(m->slot, &m->slot_cap, room, sizeof(*m->slot));
        if (slot)
            m->slot = slot;
        else
            room = m->slot_cap; /* out of memory: the others stay due, for the next round */
    }
    for (size_t i = 0; i < m->nw && n < room; i++) {
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
        assert(n < m->slot_cap);
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
    if (k < m->nslot && m->slot[k] < m->nw) {
        struct watched *w = &m->w[m->slot[k]];
        target_key(w, key, sizeof(key));
        if (w->used && strcmp(key, t->key) == 0)
            return w;
    }
    for (size_t i = 0; i < m->nw; i++) {
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
    if (r->skipped) {
        /* Not probed at all (the prober ran out of memory): says nothing about the server. */
        log_write(LOG_DEBUG, "primary not probed this round; not counted", "valkeycluster", w->key, NULL);
        return false;
    }
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

/* Grows the thread's round buffers to room for want targets. When memory runs out they keep
 * their size: the rounds then take that many due primaries at a time, and the others, still
 * due, are taken by the next round at once (late, not dropped); logged once per shortage. */
static void grow_round(struct monitor *m, size_t want)
{
    if (want <= m->round_cap)
        return;
    size_t tcap = m->round_cap, rcap = m->round_cap;
    struct probe_target *t = grow_array(m->targets, &tcap, want, sizeof(*t));
    if (t)
        m->targets = t;
    struct probe_result *r = t ? grow_array(m->results, &rcap, want, sizeof(*r)) : NULL;
    if (r)
        m->results = r;
    if (t && r) {
        assert(tcap == rcap);
        m->round_cap = tcap;
        m->round_short = false;
    } else if (!m->round_short) {
        m->round_short = true;
        char n[32];
        snprintf(n, sizeof(n), "%zu", m->round_cap);
        log_write(LOG_ERROR, "out of memory: probe rounds take fewer primaries at a time (the others wait)",
                  "per_round", n, NULL);
    }
}

static void *monitor_main(void *arg)
{
    struct monitor *m = arg;
    int64_t next_refresh = 0;

    while (!atomic_load(&m->stop)) {
        int64_t now = clock_now_ms();
        if (now >= next_refresh) {
            grow_round(m, monitor_refresh(m));
            next_refresh = now + REFRESH_MS;
        }
        /* Every cluster whose probe is due, in one round. */
        long timeout;
        size_t n = m->round_cap ? monitor_due(m, now, m->targets, m->round_cap, &timeout) : 0;
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
    m->dropped = metrics_counter("gungnir_monitor_dropped_total",
                                 "ValkeyClusters with failover left unmonitored for lack of memory, counted at each "
                                 "refresh (every 500 ms) while it lasts.",
                                 NULL);
    atomic_init(&m->stop, 0);
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
    atomic_store(&m->stop, 1);
    if (m->threaded)
        pthread_join(m->thread, NULL);
    prober_free(m->prober);
    free(m->targets);
    free(m->results);
    free(m->w);
    free(m->slot);
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
