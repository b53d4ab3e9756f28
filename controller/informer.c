/* informer.c — see informer.h. */
#include "informer.h"
#include "backoff.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RV_MAX 64
#define PATH_MAX_LEN 2048
#define LIST_PAGE 500

struct informer {
    char name[64];
    char path[PATH_MAX_LEN / 2];
    char selector[256];
    informer_event_fn on_event;
    void *ctx;
    long watch_timeout_s;

    struct kube_client *client; /* the thread's own (watch); NULL without a thread */
    struct kube_api api;        /* lists go through it: over client */
    pthread_t thread;
    bool threaded; /* false for a cache filled by hand (informer_new_cache) */
    atomic_int stop;

    pthread_rwlock_t lock;
    json_t *cache; /* "namespace/name" -> object */
    bool synced;
    unsigned long lists;
    char rv[RV_MAX]; /* the last resourceVersion seen */
};

static void cache_key(const json_t *obj, char *buf, size_t size)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    snprintf(buf, size, "%s/%s", ns ? ns : "", name ? name : "");
}

static void remember_rv(struct informer *inf, const json_t *obj)
{
    const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    if (rv && strlen(rv) < sizeof(inf->rv)) {
        pthread_rwlock_wrlock(&inf->lock);
        snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
        pthread_rwlock_unlock(&inf->lock);
    }
}

/* Applies one change to the cache, then tells the owner. */
static void apply_event(struct informer *inf, enum informer_event ev, json_t *obj)
{
    char key[512];
    cache_key(obj, key, sizeof(key));
    pthread_rwlock_wrlock(&inf->lock);
    if (ev == INFORMER_DELETED)
        json_object_del(inf->cache, key);
    else
        json_object_set(inf->cache, key, obj);
    pthread_rwlock_unlock(&inf->lock);
    if (inf->on_event)
        inf->on_event(inf->ctx, ev, obj);
}

/* The collection path with the selector and extra query parameters. */
static int build_path(struct informer *inf, char *buf, size_t size, const char *extra)
{
    char sel[768] = "";
    if (inf->selector[0]) {
        char esc[700];
        if (kube_query_escape(inf->selector, esc, sizeof(esc)) != 0)
            return -1;
        snprintf(sel, sizeof(sel), "labelSelector=%s&", esc);
    }
    size_t n = (size_t)snprintf(buf, size, "%s?%s%s", inf->path, sel, extra);
    return n < size ? 0 : -1;
}

int informer_relist(struct informer *inf, struct kube_api *api)
{
    json_t *fresh = json_object();
    char cont[1024] = "", path[PATH_MAX_LEN], extra[1200];
    char rv[RV_MAX] = "";

    for (;;) {
        json_t *page = NULL;
        snprintf(extra, sizeof(extra), "limit=%d%s%s", LIST_PAGE, cont[0] ? "&continue=" : "", cont);
        if (build_path(inf, path, sizeof(path), extra) != 0) {
            json_decref(fresh);
            return -1;
        }
        long code = kube_api_get(api, path, &page);
        if (code != 200) {
            log_write(LOG_WARN, "list failed", "informer", inf->name, "error", kube_api_errstr(api), NULL);
            json_decref(page);
            json_decref(fresh);
            return -1;
        }
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(page, "items"), i, item)
        {
            char key[512];
            cache_key(item, key, sizeof(key));
            json_object_set(fresh, key, item);
        }
        const json_t *meta = json_object_get(page, "metadata");
        const char *next = json_string_value(json_object_get(meta, "continue"));
        const char *prv = json_string_value(json_object_get(meta, "resourceVersion"));
        if (prv && strlen(prv) < sizeof(rv))
            snprintf(rv, sizeof(rv), "%s", prv);
        bool more = next && next[0];
        if (more && kube_query_escape(next, cont, sizeof(cont)) != 0) {
            /* Stopping here would take a partial list for the whole and report the rest as
             * DELETED. */
            log_write(LOG_WARN, "list failed", "informer", inf->name, "error", "continue token too long", NULL);
            json_decref(page);
            json_decref(fresh);
            return -1;
        }
        json_decref(page);
        if (!more)
            break;
    }

    /* Swap in the new cache, then report: vanished objects as DELETED, the rest as ADDED or
     * MODIFIED (a handler that de-duplicates by key treats both the same). */
    pthread_rwlock_wrlock(&inf->lock);
    json_t *old = inf->cache;
    inf->cache = fresh;
    inf->synced = true;
    inf->lists++;
    snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
    json_incref(fresh);
    pthread_rwlock_unlock(&inf->lock);

    const char *key;
    json_t *obj;
    if (inf->on_event) {
        json_object_foreach(old, key, obj) if (!json_object_get(fresh, key))
            inf->on_event(inf->ctx, INFORMER_DELETED, obj);
        json_object_foreach(fresh, key, obj)
            inf->on_event(inf->ctx, json_object_get(old, key) ? INFORMER_MODIFIED : INFORMER_ADDED, obj);
    }
    json_decref(fresh);
    json_decref(old);
    return 0;
}

enum informer_next informer_watch_event(struct informer *inf, const char *type, json_t *obj)
{
    if (strcmp(type, "BOOKMARK") == 0) {
        remember_rv(inf, obj);
        return INFORMER_RESUME;
    }
    if (strcmp(type, "ERROR") == 0) {
        long code = (long)json_integer_value(json_object_get(obj, "code"));
        char msg[256];
        if (code == 410)
            return INFORMER_RELIST;
        log_write(LOG_WARN, "watch error; listing again", "informer", inf->name, "error",
                  kube_status_message(obj, code, msg, sizeof(msg)), NULL);
        return INFORMER_RELIST_LATER;
    }
    enum informer_event ev = INFORMER_ADDED;
    bool known = true;
    if (strcmp(type, "MODIFIED") == 0)
        ev = INFORMER_MODIFIED;
    else if (strcmp(type, "DELETED") == 0)
        ev = INFORMER_DELETED;
    else if (strcmp(type, "ADDED") != 0)
        known = false;
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (!known || !name || !name[0]) {
        log_write(LOG_WARN, "watch event not understood; listing again", "informer", inf->name, "type", type, NULL);
        return INFORMER_RELIST_LATER;
    }
    remember_rv(inf, obj);
    apply_event(inf, ev, obj);
    return INFORMER_RESUME;
}

struct watch_ctx {
    struct informer *inf;
    enum informer_next then; /* RESUME unless an event stopped the watch: what to do next */
};

static int on_watch_event(void *ctx, const char *type, json_t *obj)
{
    struct watch_ctx *w = ctx;
    if (atomic_load(&w->inf->stop))
        return 1;
    w->then = informer_watch_event(w->inf, type, obj);
    return w->then != INFORMER_RESUME;
}

static void sleep_ms(struct informer *inf, int64_t ms)
{
    while (ms > 0 && !atomic_load(&inf->stop)) {
        int64_t step = ms > 200 ? 200 : ms;
        struct timespec ts = {step / 1000, (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

enum informer_next informer_after_watch(long code, bool gone)
{
    if (gone || code == 410)
        return INFORMER_RELIST;
    if (code == 200)
        return INFORMER_RESUME;
    if (code >= 400)
        return INFORMER_RELIST_LATER;
    return INFORMER_RETRY_LATER;
}

static void *informer_main(void *arg)
{
    struct informer *inf = arg;
    const struct backoff_policy policy = {.base_ms = 200, .max_ms = 30000, .jitter = 0.5};
    uint64_t rng = (uint64_t)(uintptr_t)inf ^ (uint64_t)time(NULL);
    unsigned failures = 0;
    bool need_list = true;

    while (!atomic_load(&inf->stop)) {
        if (need_list) {
            if (informer_relist(inf, &inf->api) != 0) {
                sleep_ms(inf, backoff_delay_ms(&policy, failures++, &rng));
                continue;
            }
            need_list = false;
        }
        char path[PATH_MAX_LEN], extra[256];
        snprintf(extra, sizeof(extra), "watch=1&allowWatchBookmarks=true&timeoutSeconds=%ld&resourceVersion=%s",
                 inf->watch_timeout_s, inf->rv);
        if (build_path(inf, path, sizeof(path), extra) != 0)
            break;
        struct watch_ctx w = {.inf = inf, .then = INFORMER_RESUME};
        long code = kube_watch(inf->client, path, inf->watch_timeout_s + 30, on_watch_event, &w);
        if (atomic_load(&inf->stop))
            break;
        /* An event that stopped the watch decides; else how the watch ended. */
        switch (w.then != INFORMER_RESUME ? w.then : informer_after_watch(code, false)) {
        case INFORMER_RELIST:
            log_write(LOG_INFO, "watch expired (410 Gone); listing again", "informer", inf->name, NULL);
            need_list = true;
            break;
        case INFORMER_RESUME:
            failures = 0;
            break;
        case INFORMER_RELIST_LATER:
            need_list = true;
            /* fall through */
        case INFORMER_RETRY_LATER:
            if (w.then == INFORMER_RESUME) /* an event that stopped the watch said why already */
                log_write(LOG_WARN, "watch failed; retrying", "informer", inf->name, "error",
                          kube_client_errstr(inf->client), NULL);
            sleep_ms(inf, backoff_delay_ms(&policy, failures++, &rng));
            break;
        }
    }
    return NULL;
}

struct informer *informer_start(const struct informer_options *opt,
                                const struct kube_client_options *client, char *err, size_t errlen)
{
    struct informer *inf = calloc(1, sizeof(*inf));
    if (!inf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(inf->name, sizeof(inf->name), "%s", opt->name);
    snprintf(inf->path, sizeof(inf->path), "%s", opt->path);
    snprintf(inf->selector, sizeof(inf->selector), "%s", opt->selector ? opt->selector : "");
    inf->on_event = opt->on_event;
    inf->ctx = opt->ctx;
    inf->watch_timeout_s = opt->watch_timeout_s > 0 ? opt->watch_timeout_s : 300;
    inf->cache = json_object();
    pthread_rwlock_init(&inf->lock, NULL);
    inf->client = kube_client_new(client, err, errlen);
    if (!inf->client || !inf->cache) {
        json_decref(inf->cache);
        kube_client_free(inf->client);
        pthread_rwlock_destroy(&inf->lock);
        free(inf);
        return NULL;
    }
    kube_client_set_abort_flag(inf->client, &inf->stop);
    kube_api_for_client(&inf->api, inf->client);
    inf->threaded = true;
    if (pthread_create(&inf->thread, NULL, informer_main, inf) != 0) {
        snprintf(err, errlen, "cannot start the %s informer thread", opt->name);
        kube_client_free(inf->client);
        json_decref(inf->cache);
        pthread_rwlock_destroy(&inf->lock);
        free(inf);
        return NULL;
    }
    return inf;
}

void informer_stop(struct informer *inf)
{
    if (!inf)
        return;
    atomic_store(&inf->stop, 1);
    if (inf->threaded)
        pthread_join(inf->thread, NULL);
    kube_client_free(inf->client);
    json_decref(inf->cache);
    pthread_rwlock_destroy(&inf->lock);
    free(inf);
}

bool informer_synced(struct informer *inf)
{
    pthread_rwlock_rdlock(&inf->lock);
    bool s = inf->synced;
    pthread_rwlock_unlock(&inf->lock);
    return s;
}

unsigned long informer_list_count(struct informer *inf)
{
    pthread_rwlock_rdlock(&inf->lock);
    unsigned long n = inf->lists;
    pthread_rwlock_unlock(&inf->lock);
    return n;
}

json_t *informer_get(struct informer *inf, const char *namespace_, const char *name)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", namespace_ ? namespace_ : "", name);
    pthread_rwlock_rdlock(&inf->lock);
    json_t *obj = json_incref(json_object_get(inf->cache, key));
    pthread_rwlock_unlock(&inf->lock);
    return obj;
}

json_t *informer_list(struct informer *inf, const char *namespace_, const char *label_key,
                      const char *label_value)
{
    json_t *out = json_array();
    const char *key;
    json_t *obj;

    pthread_rwlock_rdlock(&inf->lock);
    json_object_foreach(inf->cache, key, obj)
    {
        const json_t *md = json_object_get(obj, "metadata");
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        if (namespace_ && (!ns || strcmp(ns, namespace_) != 0))
            continue;
        if (label_key) {
            const char *v = json_string_value(json_object_get(json_object_get(md, "labels"), label_key));
            if (!v || !label_value || strcmp(v, label_value) != 0)
                continue;
        }
        json_array_append(out, obj);
    }
    pthread_rwlock_unlock(&inf->lock);
    return out;
}

struct informer *informer_new(const struct informer_options *opt)
{
    struct informer *inf = calloc(1, sizeof(*inf));
    if (!inf)
        return NULL;
    snprintf(inf->name, sizeof(inf->name), "%s", opt->name);
    snprintf(inf->path, sizeof(inf->path), "%s", opt->path ? opt->path : "");
    snprintf(inf->selector, sizeof(inf->selector), "%s", opt->selector ? opt->selector : "");
    inf->on_event = opt->on_event;
    inf->ctx = opt->ctx;
    inf->watch_timeout_s = opt->watch_timeout_s > 0 ? opt->watch_timeout_s : 300;
    inf->cache = json_object();
    if (!inf->cache) {
        free(inf);
        return NULL;
    }
    pthread_rwlock_init(&inf->lock, NULL);
    return inf;
}

struct informer *informer_new_cache(const char *name)
{
    struct informer_options o = {.name = name};
    struct informer *inf = informer_new(&o);
    if (inf)
        inf->synced = true;
    return inf;
}

void informer_resource_version(struct informer *inf, char *buf, size_t size)
{
    pthread_rwlock_rdlock(&inf->lock);
    snprintf(buf, size, "%s", inf->rv);
    pthread_rwlock_unlock(&inf->lock);
}

void informer_cache_apply(struct informer *inf, enum informer_event ev, json_t *obj)
{
    apply_event(inf, ev, obj);
}
