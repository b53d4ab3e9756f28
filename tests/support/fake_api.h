/* fake_api.h — a kube_api (controller/kube_api.h) for unit tests, the C equivalent of
 * controller-runtime's fake client: it records every call (method, path, content type, a
 * copy of the body) and answers from canned rules, so a test drives a reconcile step and then
 * asserts on the writes it made.
 *
 * Rules are matched in the order they were added, by method and path prefix; a rule with
 * times > 0 is used that many times, then skipped. Without a matching rule a GET answers 404
 * and every other call 200 with no body. */
#ifndef GUNGNIR_FAKE_API_H
#define GUNGNIR_FAKE_API_H

#include "kube_api.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define FAKE_API_CALLS_MAX 256
#define FAKE_API_RULES_MAX 32

struct fake_call {
    char method[8];
    char path[512];
    char content_type[64];
    json_t *body; /* a copy of the body sent (owned), or NULL */
};

struct fake_rule {
    char method[8];
    char path_prefix[512];
    long code;     /* -1: a transport failure */
    json_t *body;  /* answer (owned; a new reference is handed to the caller), or NULL */
    int times;     /* 0: always */
    int used;
};

struct fake_api {
    struct kube_api api; /* hand &f->api to the code under test */
    struct fake_call calls[FAKE_API_CALLS_MAX];
    size_t ncalls;
    bool overflow; /* more calls than FAKE_API_CALLS_MAX were made (a test failure) */
    struct fake_rule rules[FAKE_API_RULES_MAX];
    size_t nrules;
    char err[256];
};

void fake_api_init(struct fake_api *f);
void fake_api_free(struct fake_api *f);

/* Adds a rule: method ("GET", "PATCH", ... or "*") on paths starting with path_prefix answers
 * code with body (stolen, may be NULL), times times (0: always). */
void fake_api_answer(struct fake_api *f, const char *method, const char *path_prefix, long code, json_t *body,
                     int times);

/* Forgets the recorded calls (the rules stay). */
void fake_api_clear_calls(struct fake_api *f);

/* How many calls matched method ("*": any) and path prefix. */
size_t fake_api_count(const struct fake_api *f, const char *method, const char *path_prefix);

/* The nth (from 0) call that matched, or NULL (borrowed). */
const struct fake_call *fake_api_find(const struct fake_api *f, const char *method, const char *path_prefix,
                                      size_t nth);

/* Calls other than GET. */
size_t fake_api_writes(const struct fake_api *f);

#endif
