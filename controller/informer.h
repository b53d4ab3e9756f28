/* informer.h — a resumable list+watch of one resource and an in-memory cache of it.
 *
 * Each informer runs one thread with its own kube client: it lists (paged), then watches from
 * the list's resourceVersion with bookmarks, and on any end of the watch resumes from the last
 * resourceVersion it saw. A 410 Gone (the version is too old) makes it list again, and objects
 * that vanished meanwhile are reported as DELETED. Errors back off exponentially with jitter.
 *
 * The cache holds the objects as the API server sent them. They are shared and must be
 * treated as read-only: informer_get and informer_list hand out new references to them. */
#ifndef GUNGNIR_INFORMER_H
#define GUNGNIR_INFORMER_H

#include "kube_api.h"
#include "kube_client.h"

#include <jansson.h>
#include <stdbool.h>

enum informer_event { INFORMER_ADDED, INFORMER_MODIFIED, INFORMER_DELETED };

/* Called on the informer's thread after the cache has taken the change. obj is borrowed. */
typedef void (*informer_event_fn)(void *ctx, enum informer_event ev, const json_t *obj);

struct informer_options {
    const char *name;      /* for logs: "valkeyclusters", "pods", ... */
    const char *path;      /* collection path, e.g. "/apis/apps/v1/statefulsets" */
    const char *selector;  /* label selector or NULL (e.g. "app.kubernetes.io/managed-by=gungnir") */
    informer_event_fn on_event;
    void *ctx;
    long watch_timeout_s;  /* server-side watch timeout (0: 300); the watch then resumes */
};

struct informer;

/* Starts the informer's thread. Returns it, or NULL with a reason in err. */
struct informer *informer_start(const struct informer_options *opt,
                                const struct kube_client_options *client, char *err, size_t errlen);

/* A cache with no thread and no client: filled by hand with informer_cache_apply (the unit
 * tests' canned objects, or any code that keeps a cache of objects it was handed). Synced from
 * the start. Free with informer_stop. Returns NULL when out of memory. */
struct informer *informer_new_cache(const char *name);

/* An informer set up as informer_start would (opt as there) but with no thread and no client:
 * not synced until its first informer_relist, which the caller runs through a kube_api of its
 * own (the unit tests' fake), as it feeds informer_watch_event. Free with informer_stop.
 * Returns NULL when out of memory. */
struct informer *informer_new(const struct informer_options *opt);

/* One list of the collection through api (borrowed), as the thread makes it at its start and
 * after a 410: GET path?labelSelector=..&limit=500, then &continue=<token> for every further
 * page. Once every page is in, the cache is replaced by them at once (synced, one more list
 * counted, the list's metadata.resourceVersion kept for the watch) and on_event reports each
 * object gone from it as DELETED and every listed one as MODIFIED (it was cached) or ADDED.
 * When a page fails (an answer other than 200, no answer, a continue token that does not fit),
 * the cache, the resourceVersion and the count stay as they were and nothing is reported.
 * Returns 0 or -1. */
int informer_relist(struct informer *inf, struct kube_api *api);

/* What one watch event does (the watch's callback; public for the unit tests). ADDED, MODIFIED
 * and DELETED are applied to the cache, reported, and move the resourceVersion; BOOKMARK only
 * moves it. Returns INFORMER_RESUME to go on watching, or, for an event that ends the watch,
 * what to do next: INFORMER_RELIST for an ERROR event with code 410 (Gone);
 * INFORMER_RELIST_LATER for any other ERROR event, an unknown type or an object without
 * metadata.name (events may have been missed: back off, then list again). */
enum informer_next informer_watch_event(struct informer *inf, const char *type, json_t *obj);

/* Copies into buf the resourceVersion the next watch starts from ("" before the first list). */
void informer_resource_version(struct informer *inf, char *buf, size_t size);

/* Applies one change to the cache as a watch event would (obj borrowed; the cache keeps a
 * reference), then calls the on_event handler if there is one. */
void informer_cache_apply(struct informer *inf, enum informer_event ev, json_t *obj);

/* Stops the thread (within about a second) and frees everything. */
void informer_stop(struct informer *inf);

/* True once the first list has filled the cache. */
bool informer_synced(struct informer *inf);

/* The cached object namespace/name: a new reference, or NULL. */
json_t *informer_get(struct informer *inf, const char *namespace_, const char *name);

/* The cached objects of namespace (NULL: all) whose label key equals value (key NULL: all),
 * as a new array (elements shared, read-only). */
json_t *informer_list(struct informer *inf, const char *namespace_, const char *label_key,
                      const char *label_value);

/* What the informer does after a watch ended (the resume logic, pure for tests). */
enum informer_next {
    INFORMER_RESUME,        /* a normal end (200): watch again from the last resourceVersion */
    INFORMER_RELIST,        /* 410 Gone (as status or as an ERROR event): list again at once */
    INFORMER_RELIST_LATER,  /* another HTTP error: back off, then list again */
    INFORMER_RETRY_LATER,   /* a transport failure: back off, then watch from the last version */
};

/* code is kube_watch's result (an HTTP status, or -1); gone says the stream carried a 410 ERROR
 * event. */
enum informer_next informer_after_watch(long code, bool gone);

/* How many list calls the informer has made (1 after a clean start; more after 410s). */
unsigned long informer_list_count(struct informer *inf);

#endif
