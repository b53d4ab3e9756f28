/* field_errors.h — a bounded list of field errors in the form Kubernetes users know:
 *
 *   spec.replicas: Invalid value: 0: must be between 1 and 100
 *   spec.image: Required value
 *   spec.imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"
 *   spec.storage.size: Forbidden: may not shrink (from 10Gi to 5Gi)
 *
 * The list holds at most FERR_MAX errors; later ones are counted in `dropped` and rendered as
 * "and N more". Each rendered error is cut at FERR_TEXT_MAX bytes. Nothing here allocates. */
#ifndef GUNGNIR_FIELD_ERRORS_H
#define GUNGNIR_FIELD_ERRORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define FERR_MAX 48
#define FERR_FIELD_MAX 160
#define FERR_TEXT_MAX 400

enum ferr_type {
    FERR_INVALID,     /* Invalid value: <value>: <detail> */
    FERR_REQUIRED,    /* Required value[: <detail>] */
    FERR_UNSUPPORTED, /* Unsupported value: <value>: supported values: "a", "b" */
    FERR_FORBIDDEN,   /* Forbidden: <detail> */
    FERR_DUPLICATE,   /* Duplicate value: <value> */
    FERR_TOO_LONG,    /* Too long: <detail> */
    FERR_TYPE         /* Invalid value: <value>: must be of type <detail> */
};

struct ferr {
    enum ferr_type type;
    bool transition;             /* broken transition rule (UPDATE): answered with 403 */
    char field[FERR_FIELD_MAX];  /* "spec.failover.priorities[1].priority" */
    char text[FERR_TEXT_MAX];    /* the whole rendered error, field included */
};

typedef struct ferr_list {
    size_t count;
    size_t dropped;
    struct ferr items[FERR_MAX];
} ferr_list;

void ferr_init(ferr_list *l);

/* Adds an error. value (borrowed, may be NULL) is rendered as JSON (strings quoted, long ones
 * cut); detail is a printf format (may be NULL). Returns the stored error, or NULL if full. */
struct ferr *ferr_add(ferr_list *l, enum ferr_type type, const char *field, const json_t *value,
                      const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Shorthands. ferr_unsupported's supported list ends with NULL. */
struct ferr *ferr_unsupported(ferr_list *l, const char *field, const json_t *value,
                              const char *const *supported);

/* Marks the whole list's newest error as a transition error (403 rather than 422). */
void ferr_mark_transition(struct ferr *e);

/* 0 when the list is empty; 403 when every error is a transition error; else 422. */
int ferr_http_code(const ferr_list *l);

/* The Kubernetes Status reason for ferr_http_code: "Forbidden" or "Invalid". */
const char *ferr_reason(const ferr_list *l);

/* Renders the status message: `<kind>.<group> "<name>" is invalid: <err>` for one error and
 * `... is invalid: [<err>, <err>, and 2 more]` for several. Returns the length written (always
 * NUL-terminated; cut at size-1). */
size_t ferr_render(const ferr_list *l, const char *kind_group, const char *name, char *buf,
                   size_t size);

/* Returns a new JSON array of Status causes ({reason, message, field}), or NULL on allocation
 * failure. reason is FieldValueInvalid, FieldValueRequired, ... as Kubernetes names them. */
json_t *ferr_causes(const ferr_list *l);

/* Builds a field path: appends ".name" (or "name" when path is empty) / "[index]" / "[key]"
 * to buf. Return 0, or -1 when it does not fit (buf then holds a cut path). */
int ferr_path_field(char *buf, size_t size, const char *parent, const char *name);
int ferr_path_index(char *buf, size_t size, const char *parent, size_t index);
int ferr_path_key(char *buf, size_t size, const char *parent, const char *key);

#endif
