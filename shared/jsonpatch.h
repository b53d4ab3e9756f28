/* jsonpatch.h — builds and applies RFC 6902 JSON Patches, with RFC 6901 pointers.
 *
 * The builder keeps the operations as a jansson array; the defaulter records one "add" a
 * missing field. The applier exists so tests (and the controller) can check what a patch does. */
#ifndef GUNGNIR_JSONPATCH_H
#define GUNGNIR_JSONPATCH_H

#include <jansson.h>
#include <stddef.h>

#define JSONPATCH_POINTER_MAX 512

typedef struct jsonpatch {
    json_t *ops; /* owned array of {"op","path","value"} */
} jsonpatch;

/* Initialises an empty patch. Returns 0, or -1 on allocation failure. */
int jsonpatch_init(jsonpatch *p);

/* Releases the operations. Safe on a zeroed or already-freed patch. */
void jsonpatch_free(jsonpatch *p);

/* Appends {"op":"add","path":pointer,"value":value}. Steals value (also on failure).
 * Returns 0, or -1 on allocation failure. */
int jsonpatch_add(jsonpatch *p, const char *pointer, json_t *value);

/* Number of operations. */
size_t jsonpatch_count(const jsonpatch *p);

/* Appends one reference token for key to the pointer in buf ("" is the whole document):
 * "/" then key with "~" written "~0" and "/" written "~1". Returns 0, or -1 when the result
 * would not fit in size bytes (buf is then left unchanged). */
int jsonpatch_pointer_append(char *buf, size_t size, const char *key);

/* Applies the operations in ops (a JSON array: add, remove, replace, test) to *doc, in order.
 * *doc may be replaced (a patch on the root path ""); the old value is then released.
 * Returns 0, or -1 with a reason in err, leaving *doc partly patched. */
int jsonpatch_apply(json_t **doc, const json_t *ops, char *err, size_t errlen);

#endif
