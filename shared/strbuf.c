/* strbuf.c — bounded growable strings (see strbuf.h). */
#include "strbuf.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->failed = false;
}

void strbuf_free(struct strbuf *b)
{
    free(b->data);
    strbuf_init(b, b->max);
}

/* Makes room for extra more bytes plus the NUL. Returns 0, or -1 (failed set). */
static int reserve(struct strbuf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra > b->max - b->len) {
        b->failed = true;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = true;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

int strbuf_append(struct strbuf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int strbuf_puts(struct strbuf *b, const char *s) { return strbuf_append(b, s, strlen(s)); }

int strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return -1;
    }
    if ((size_t)n < sizeof(small))
        return strbuf_append(b, small, (size_t)n);
    if (reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int strbuf_json_string(struct strbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t escaped = 2; /* the quotes */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        escaped += (c == '"' || c == '\\' || c == '\n') ? 2 : c < 0x20 ? 6 : 1;
    }
    if (reserve(b, escaped) != 0)
        return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c < 0x20) {
            *o++ = '\\';
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int strbuf_json_value(struct strbuf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strbuf_json_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return strbuf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_TRUE:
        return strbuf_puts(b, "true");
    case JSON_FALSE:
        return strbuf_puts(b, "false");
    case JSON_NULL:
        return strbuf_puts(b, "null");
    default:
        break;
    }
    if ((json_is_object(v) && json_object_size(v) == 0))
        return strbuf_puts(b, "{}");
    if ((json_is_array(v) && json_array_size(v) == 0))
        return strbuf_puts(b, "[]");
    size_t need = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    if (need == 0 || reserve(b, need) != 0) {
        b->failed = true;
        return -1;
    }
    b->len += json_dumpb(v, b->data + b->len, need, JSON_COMPACT | JSON_ENCODE_ANY);
    b->data[b->len] = '\0';
    return 0;
}

int strbuf_base64(struct strbuf *b, const char *data, size_t n)
{
    size_t out = 4 * ((n + 2) / 3);
    if (n > (size_t)INT32_MAX || reserve(b, out) != 0) {
        b->failed = true;
        return -1;
    }
    EVP_EncodeBlock((unsigned char *)b->data + b->len, (const unsigned char *)data, (int)n);
    b->len += out;
    b->data[b->len] = '\0';
    return 0;
}

char *strbuf_take(struct strbuf *b, size_t *len)
{
    char *d = b->failed ? NULL : b->data;
    if (len)
        *len = d ? b->len : 0;
    if (!d)
        free(b->data);
    strbuf_init(b, b->max);
    return d;
}
