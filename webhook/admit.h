/* admit.h — the mutating (Defaulter) and validating (Validator) webhook handlers, as pure
 * functions from an AdmissionReview request body to the response body. No I/O: the HTTP
 * server, the tests and the fuzzer all call these. */
#ifndef GUNGNIR_ADMIT_H
#define GUNGNIR_ADMIT_H

#include <stddef.h>

enum admit_result {
    ADMIT_ALLOWED,     /* allowed, nothing to change */
    ADMIT_PATCHED,     /* allowed with a JSON Patch (mutating only) */
    ADMIT_DENIED,      /* refused: the AdmissionReview carries allowed=false and a Status */
    ADMIT_BAD_REQUEST, /* the body was not a usable AdmissionReview: HTTP 400 */
    ADMIT_ERROR        /* out of memory: HTTP 500 */
};

struct admit_answer {
    enum admit_result result;
    int http_status;          /* 200, 400 or 500 */
    const char *content_type; /* "application/json" or "text/plain; charset=utf-8" */
    char *body;               /* new: free() it */
    size_t len;
};

/* The mutating webhook: defaults a ValkeyCluster on CREATE and UPDATE (a JSON Patch of the
 * fields it adds), allows everything else unchanged. Always fills *out. */
void admit_mutate(const char *body, size_t len, struct admit_answer *out);

/* The validating webhook: every rule of api.md on CREATE and UPDATE (UPDATE with the
 * transition rules against oldObject), replica bounds on the scale subresource, DELETE
 * allowed. Always fills *out. */
void admit_validate(const char *body, size_t len, struct admit_answer *out);

/* Short name of a result for metrics labels: "allowed", "patched", "denied", "bad_request",
 * "error". */
const char *admit_result_name(enum admit_result r);

#endif
