/* admission.h — the AdmissionReview v1 codec: decodes a request body into what the handlers
 * need, and encodes their answer. Pure: no I/O, no globals, safe from any thread. */
#ifndef GUNGNIR_ADMISSION_H
#define GUNGNIR_ADMISSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define ADMISSION_BODY_MAX (7u * 1024u * 1024u) /* the API server's own request limit is 3 MiB */
#define ADMISSION_DEPTH_MAX 64                  /* deeper JSON is refused before parsing */
#define ADMISSION_UID_MAX 128

enum admission_op { ADMISSION_CREATE, ADMISSION_UPDATE, ADMISSION_DELETE, ADMISSION_CONNECT };

struct admission_request {
    json_t *root;             /* new: the whole decoded body; owns the borrowed pointers below */
    char uid[ADMISSION_UID_MAX];
    enum admission_op op;
    const char *group;        /* request.kind.group, e.g. "gungnir.dev" or "autoscaling" */
    const char *kind;         /* request.kind.kind, e.g. "ValkeyCluster" or "Scale" */
    const char *sub_resource; /* "" or "scale" */
    const char *name;         /* "" when the API server has not named the object yet */
    const char *namespace_;
    bool dry_run;
    json_t *object;     /* borrowed, may be NULL (DELETE) */
    json_t *old_object; /* borrowed, may be NULL (CREATE) */
};

/* Decodes an AdmissionReview v1 request of len bytes. Returns 0 and fills req (free it with
 * admission_request_free); or -1 with a message for a 400 answer in err (req then needs no
 * free). Refuses: not JSON, nesting deeper than ADMISSION_DEPTH_MAX, another apiVersion or
 * kind, no request, no or over-long uid, an unknown operation, objects that are not objects. */
int admission_decode(const char *body, size_t len, struct admission_request *req, char *err,
                     size_t errlen);

void admission_request_free(struct admission_request *req);

/* What a handler decided. */
struct admission_verdict {
    bool allowed;
    int code;                 /* HTTP-style status code when refused: 400, 403, 422 */
    const char *reason;       /* Status reason when refused: "Invalid", "Forbidden", "BadRequest" */
    const char *message;      /* borrowed; the Status message when refused */
    json_t *causes;           /* borrowed, may be NULL: Status details.causes */
    const char *kind;         /* details.kind, e.g. "ValkeyCluster" (may be NULL) */
    const char *group;        /* details.group (may be NULL) */
    const char *name;         /* details.name (may be NULL) */
    const char *patch;        /* borrowed, may be NULL: JSON Patch text (a JSON array) */
    size_t patch_len;         /* bytes of patch; 0 means no patch */
    const char *const *warnings; /* borrowed, nwarnings entries */
    size_t nwarnings;
};

/* Encodes the AdmissionReview v1 response for uid. Returns a new NUL-terminated string
 * (free() it) and its length in *len, or NULL on allocation failure. The patch goes out as
 * base64 with patchType JSONPatch. */
char *admission_encode(const char *uid, const struct admission_verdict *v, size_t *len);

/* The deepest nesting of objects and arrays in a JSON text (strings are skipped correctly),
 * scanning at most len bytes; stops counting at limit+1. */
size_t admission_json_depth(const char *text, size_t len, size_t limit);

#endif
