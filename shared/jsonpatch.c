/* jsonpatch.c — RFC 6902 builder and applier (see jsonpatch.h). */
#include "jsonpatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jsonpatch_init(jsonpatch *p)
{
    strbuf_init(&p->text, JSONPATCH_TEXT_MAX);
    p->count = 0;
    return strbuf_puts(&p->text, "[]");
}

void jsonpatch_free(jsonpatch *p)
{
    strbuf_free(&p->text);
    p->count = 0;
}

int jsonpatch_add(jsonpatch *p, const char *pointer, const json_t *value)
{
    struct strbuf *b = &p->text;
    if (b->failed || !value)
        return -1;
    b->len--; /* reopen the array: drop "]" */
    strbuf_puts(b, p->count ? ",{\"op\":\"add\",\"path\":" : "{\"op\":\"add\",\"path\":");
    strbuf_json_string(b, pointer, strlen(pointer));
    strbuf_puts(b, ",\"value\":");
    strbuf_json_value(b, value);
    strbuf_puts(b, "}]");
    if (b->failed)
        return -1;
    p->count++;
    return 0;
}

size_t jsonpatch_count(const jsonpatch *p) { return p->count; }

const char *jsonpatch_text(const jsonpatch *p, size_t *len)
{
    if (p->text.failed || !p->text.data)
        return NULL;
    if (len)
        *len = p->text.len;
    return p->text.data;
}

int jsonpatch_pointer_append(char *buf, size_t size, const char *key)
{
    size_t pos = strlen(buf);
    size_t start = pos;

    if (pos + 1 >= size)
        return -1;
    buf[pos++] = '/';
    for (const char *k = key; *k; k++) {
        const char *put = *k == '~' ? "~0" : *k == '/' ? "~1" : NULL;
        size_t n = put ? 2 : 1;
        if (pos + n >= size) {
            buf[start] = '\0';
            return -1;
        }
        if (put) {
            buf[pos++] = put[0];
            buf[pos++] = put[1];
        } else {
            buf[pos++] = *k;
        }
    }
    buf[pos] = '\0';
    return 0;
}

/* Decodes one reference token (between slashes) into out. Returns 0, or -1 on a bad escape or
 * a token too long. */
static int token_decode(const char *tok, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = tok[i];
        if (c == '~') {
            if (i + 1 >= len || (tok[i + 1] != '0' && tok[i + 1] != '1'))
                return -1;
            c = tok[i + 1] == '0' ? '~' : '/';
            i++;
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* Parses an array index token: digits without a leading zero, or "-" (the end) when allow_end.
 * Returns the index, or -1. */
static long array_index(const char *tok, size_t arr_size, int allow_end)
{
    if (allow_end && strcmp(tok, "-") == 0)
        return (long)arr_size;
    if (!tok[0] || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
        return -1;
    for (const char *c = tok; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
    }
    return strtol(tok, NULL, 10);
}

/* Walks to the parent of pointer's last token. Returns the parent (borrowed) and the decoded
 * last token in last, or NULL with err set. */
static json_t *walk_parent(json_t *doc, const char *pointer, char *last, size_t last_size,
                           char *err, size_t errlen)
{
    json_t *cur = doc;
    const char *p = pointer;

    if (*p != '/') {
        snprintf(err, errlen, "path %s: must start with /", pointer);
        return NULL;
    }
    for (;;) {
        const char *tok = p + 1;
        const char *next = strchr(tok, '/');
        size_t len = next ? (size_t)(next - tok) : strlen(tok);
        if (token_decode(tok, len, last, last_size) != 0) {
            snprintf(err, errlen, "path %s: bad reference token", pointer);
            return NULL;
        }
        if (!next)
            return cur;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, last);
        } else if (json_is_array(cur)) {
            long i = array_index(last, json_array_size(cur), 0);
            cur = i < 0 ? NULL : json_array_get(cur, (size_t)i);
        } else {
            cur = NULL;
        }
        if (!cur) {
            snprintf(err, errlen, "path %s: parent does not exist", pointer);
            return NULL;
        }
        p = next;
    }
}

static int apply_one(json_t **doc, const json_t *op, char *err, size_t errlen)
{
    const char *kind = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    json_t *value = json_object_get(op, "value");
    char last[JSONPATCH_POINTER_MAX];

    if (!kind || !path) {
        snprintf(err, errlen, "operation needs op and path");
        return -1;
    }
    int is_add = strcmp(kind, "add") == 0, is_replace = strcmp(kind, "replace") == 0;
    int is_remove = strcmp(kind, "remove") == 0, is_test = strcmp(kind, "test") == 0;
    if (!is_add && !is_replace && !is_remove && !is_test) {
        snprintf(err, errlen, "op %s: not supported", kind);
        return -1;
    }
    if (!is_remove && !value) {
        snprintf(err, errlen, "op %s at %s: needs a value", kind, path);
        return -1;
    }
    if (path[0] == '\0') { /* the whole document */
        if (is_test)
            return json_equal(*doc, value) ? 0 : -1;
        if (is_remove) {
            snprintf(err, errlen, "cannot remove the root");
            return -1;
        }
        json_decref(*doc);
        *doc = json_deep_copy(value);
        return *doc ? 0 : -1;
    }
    json_t *parent = walk_parent(*doc, path, last, sizeof(last), err, errlen);
    if (!parent)
        return -1;
    if (json_is_object(parent)) {
        json_t *cur = json_object_get(parent, last);
        if ((is_replace || is_remove || is_test) && !cur) {
            snprintf(err, errlen, "op %s at %s: no such member", kind, path);
            return -1;
        }
        if (is_test)
            return json_equal(cur, value) ? 0 : (snprintf(err, errlen, "test failed at %s", path), -1);
        if (is_remove)
            return json_object_del(parent, last);
        return json_object_set_new(parent, last, json_deep_copy(value));
    }
    if (json_is_array(parent)) {
        long i = array_index(last, json_array_size(parent), is_add);
        size_t n = json_array_size(parent);
        if (i < 0 || (size_t)i > n || (!is_add && (size_t)i == n)) {
            snprintf(err, errlen, "op %s at %s: index out of range", kind, path);
            return -1;
        }
        if (is_test)
            return json_equal(json_array_get(parent, (size_t)i), value) ? 0 : -1;
        if (is_remove)
            return json_array_remove(parent, (size_t)i);
        if (is_replace)
            return json_array_set_new(parent, (size_t)i, json_deep_copy(value));
        return json_array_insert_new(parent, (size_t)i, json_deep_copy(value));
    }
    snprintf(err, errlen, "op %s at %s: parent is not a container", kind, path);
    return -1;
}

int jsonpatch_apply(json_t **doc, const json_t *ops, char *err, size_t errlen)
{
    size_t i;
    json_t *op;

    if (errlen)
        err[0] = '\0';
    if (!json_is_array(ops)) {
        snprintf(err, errlen, "a patch must be a JSON array");
        return -1;
    }
    json_array_foreach(ops, i, op)
    {
        if (apply_one(doc, op, err, errlen) != 0) {
            if (!err[0])
                snprintf(err, errlen, "operation %zu failed", i);
            return -1;
        }
    }
    return 0;
}
