/* kube_api.h — the one narrow door through which the reconcile steps talk to the API server.
 *
 * A kube_api is a table of one call plus a context: the real one forwards to a kube_client
 * (kube_api_for_client); a test supplies its own (tests/unit/fake_api.h records every call and
 * answers with canned objects and errors), the C equivalent of controller-runtime's fake
 * client. The helpers below build the usual requests and count writes.
 *
 * Every helper returns the HTTP status code, or -1 on a transport failure; kube_api_errstr
 * then says why (borrowed, valid until the next call). A 4xx/5xx answer is not -1. */
#ifndef GUNGNIR_KUBE_API_H
#define GUNGNIR_KUBE_API_H

#include "kube_client.h"

#include <jansson.h>
#include <stdbool.h>

/* One request: method, path (with query), content type (NULL: application/json), body
 * (borrowed, may be NULL). When out is not NULL, *out receives the decoded answer (new
 * reference, or NULL). Returns the HTTP status or -1. */
typedef long (*kube_api_call_fn)(void *ctx, const char *method, const char *path,
                                 const char *content_type, const json_t *body, json_t **out);
typedef const char *(*kube_api_errstr_fn)(void *ctx);

struct kube_api {
    kube_api_call_fn call;
    kube_api_errstr_fn errstr;
    void *ctx;
    unsigned long writes; /* write calls made through the helpers (a counter for metrics) */
    char fault[160];      /* test builds: the fault point that failed the last write, or "" */
};

/* Points api at client (borrowed; it must outlive api). */
void kube_api_for_client(struct kube_api *api, struct kube_client *client);

/* The last error text (borrowed). */
const char *kube_api_errstr(struct kube_api *api);

/* GET path; *out (may be NULL) as kube_api_call_fn. Not a write. */
long kube_api_get(struct kube_api *api, const char *path, json_t **out);

/* Server-side apply of obj (borrowed) as field manager "gungnir" (forced):
 * PATCH collection/<metadata.name>. */
long kube_api_apply(struct kube_api *api, const char *collection, const json_t *obj);

/* POST obj (borrowed) to collection. */
long kube_api_create(struct kube_api *api, const char *collection, const json_t *obj);

/* PUT obj (borrowed) to path: a whole-object update, conditional on the metadata.resourceVersion
 * obj carries (the API server answers 409 when the object changed since it was read). */
long kube_api_update(struct kube_api *api, const char *path, const json_t *obj);

/* JSON merge patch (RFC 7386) of the object at path; patch is borrowed. */
long kube_api_merge_patch(struct kube_api *api, const char *path, const json_t *patch);

/* DELETE of the object at path. With uid (not NULL), only if the object still has that uid
 * (DeleteOptions preconditions: 409 when a new object of the same name has replaced it). */
long kube_api_delete(struct kube_api *api, const char *path, const char *uid);

/* True for a 2xx code. (A function, not a macro: the argument is often a call.) */
static inline bool kube_api_ok(long code) { return code >= 200 && code < 300; }

#endif
