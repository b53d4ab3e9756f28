/* jsonpatch.h — builds and applies RFC 6902 JSON Patches, with RFC 6901 pointers.
 *
 * The builder writes the operations straight to JSON text (no tree, no copies); the defaulter
 * records one "add" a missing field. The applier exists so tests (and the controller) can check what a patch does. */
#ifndef GUNGNIR_JSONPATCH_H
#define GUNGNIR_JSONPATCH_H

#include "strbuf.h"

#include <jansson.h>
#include <stddef.h>

#define JSONPATCH_POINTER_MAX 512

#define JSONPATCH_TEXT_MAX (1u << 20)

/* A patch under construction, kept as its JSON text: always a complete array "[...]". */
typedef struct jsonpatch {
    struct strbuf text;
    size_t count;
} jsonpatch;

/* Initialises an empty patch ("[]"). Returns 0, or -1 on allocation failure. */
int jsonpatch_init(jsonpatch *p);

/* Releases the text. Safe on a zeroed or already-freed patch. */
void jsonpatch_free(jsonpatch *p);

/* Appends {"op":"add","path":pointer,"value":value}. value is borrowed (written out at once).
 * Returns 0, or -1 when out of memory or past JSONPATCH_TEXT_MAX (the patch is then failed
 * and jsonpatch_text returns NULL). */
int jsonpatch_add(jsonpatch *p, const char *pointer, const json_t *value);

/* Number of operations. */
size_t jsonpatch_count(const jsonpatch *p);

/* The patch as JSON text (borrowed: valid until the next add or free) and its length in *len,
 * or NULL when an add failed. */
const char *jsonpatch_text(const jsonpatch *p, size_t *len);

/* Appends one reference token for key to the pointer in buf ("" is the whole document):
 * "/" then key with "~" written "~0" and "/" written "~1". Returns 0, or -1 when the result
 * would not fit in size bytes (buf is then left unchanged). */
int jsonpatch_pointer_append(char *buf, size_t size, const char *key);

/* Applies the operations in ops (a JSON array: add, remove, replace, test) to *doc, in order.
 * *doc may be replaced (a patch on the root path ""); the old value is then released.
 * Returns 0, or -1 with a reason in err, leaving *doc partly patched. */
int jsonpatch_apply(json_t **doc, const json_t *ops, char *err, size_t errlen);

#endif
