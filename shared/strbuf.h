/* strbuf.h — a growable string with a hard size cap and a sticky error flag (hiredis-style):
 * after a failed append every later append is a no-op, and the caller checks `failed` once at
 * the end. Used to write JSON answers without building a jansson tree first. */
#ifndef GUNGNIR_STRBUF_H
#define GUNGNIR_STRBUF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *data;  /* NUL-terminated while !failed; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;  /* the length may never exceed this */
    bool failed; /* out of memory, or max reached */
};

/* Initialises an empty buffer that may grow up to max bytes. */
void strbuf_init(struct strbuf *b, size_t max);

/* Frees the contents; the buffer can be reused after strbuf_init. */
void strbuf_free(struct strbuf *b);

/* Appends n bytes / a C string / printf output. Return 0, or -1 (and set failed). */
int strbuf_append(struct strbuf *b, const char *s, size_t n);
int strbuf_puts(struct strbuf *b, const char *s);
int strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s (n bytes) as a quoted JSON string, escaping '"', '\\' and control characters. */
int strbuf_json_string(struct strbuf *b, const char *s, size_t n);

/* Appends v (borrowed) as compact JSON. */
int strbuf_json_value(struct strbuf *b, const json_t *v);

/* Appends the base64 encoding of n bytes of data. */
int strbuf_base64(struct strbuf *b, const char *data, size_t n);

/* Hands the contents to the caller (free() it) and empties b. Returns NULL when b failed or
 * is empty. */
char *strbuf_take(struct strbuf *b, size_t *len);

#endif
