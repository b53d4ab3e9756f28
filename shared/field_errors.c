/* field_errors.c — Kubernetes-style field errors (see field_errors.h). */
#include "field_errors.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_SHOWN_MAX 96 /* longer rendered values are cut and end in "..." */

static const char *const type_phrase[] = {
    [FERR_INVALID] = "Invalid value",  [FERR_REQUIRED] = "Required value",
    [FERR_UNSUPPORTED] = "Unsupported value", [FERR_FORBIDDEN] = "Forbidden",
    [FERR_DUPLICATE] = "Duplicate value", [FERR_TOO_LONG] = "Too long",
    [FERR_TYPE] = "Invalid value",
};
static const char *const type_reason[] = {
    [FERR_INVALID] = "FieldValueInvalid",      [FERR_REQUIRED] = "FieldValueRequired",
    [FERR_UNSUPPORTED] = "FieldValueNotSupported", [FERR_FORBIDDEN] = "FieldValueForbidden",
    [FERR_DUPLICATE] = "FieldValueDuplicate",  [FERR_TOO_LONG] = "FieldValueTooLong",
    [FERR_TYPE] = "FieldValueTypeInvalid",
};

void ferr_init(ferr_list *l)
{
    l->count = 0;
    l->dropped = 0;
}

/* Renders value as compact JSON into buf, cut at VALUE_SHOWN_MAX with "...". */
static void render_value(const json_t *value, char *buf, size_t size)
{
    char *text;
    size_t need;

    if (!value) {
        snprintf(buf, size, "null");
        return;
    }
    if (json_is_string(value) && json_string_length(value) > VALUE_SHOWN_MAX) {
        /* Quote only a prefix: dumping a huge string just to cut it would be wasted work. */
        size_t cut = utf8_cut(json_string_value(value), VALUE_SHOWN_MAX);
        json_t *prefix = json_stringn(json_string_value(value), cut);
        text = prefix ? json_dumps(prefix, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(prefix);
    } else {
        text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    if (!text) {
        snprintf(buf, size, "<unprintable>");
        return;
    }
    need = strlen(text);
    if (need > VALUE_SHOWN_MAX || (json_is_string(value) && json_string_length(value) > VALUE_SHOWN_MAX))
        snprintf(buf, size, "%.*s...", (int)utf8_cut(text, need < VALUE_SHOWN_MAX ? need : VALUE_SHOWN_MAX), text);
    else
        snprintf(buf, size, "%s", text);
    free(text);
}

static bool type_shows_value(enum ferr_type t)
{
    return t == FERR_INVALID || t == FERR_UNSUPPORTED || t == FERR_DUPLICATE || t == FERR_TYPE;
}

static struct ferr *ferr_addv(ferr_list *l, enum ferr_type type, const char *field,
                              const json_t *value, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static struct ferr *ferr_addv(ferr_list *l, enum ferr_type type, const char *field,
                              const json_t *value, const char *fmt, va_list ap)
{
    if (l->count >= FERR_MAX) {
        l->dropped++;
        return NULL;
    }
    struct ferr *e = &l->items[l->count++];
    char shown[VALUE_SHOWN_MAX + 8];
    char detail[FERR_TEXT_MAX];
    int n;

    e->type = type;
    e->transition = false;
    snprintf(e->field, sizeof(e->field), "%s", field);
    detail[0] = '\0';
    if (fmt)
        vsnprintf(detail, sizeof(detail), fmt, ap);
    utf8_trim(detail);

    n = snprintf(e->text, sizeof(e->text), "%s: %s", field, type_phrase[type]);
    if (type_shows_value(type)) {
        render_value(value, shown, sizeof(shown));
        if (n >= 0 && (size_t)n < sizeof(e->text))
            n += snprintf(e->text + n, sizeof(e->text) - (size_t)n, ": %s", shown);
    }
    if (detail[0] && n >= 0 && (size_t)n < sizeof(e->text)) {
        snprintf(e->text + n, sizeof(e->text) - (size_t)n,
                 type == FERR_TYPE ? ": must be of type %s" : ": %s", detail);
    }
    utf8_trim(e->text);
    return e;
}

struct ferr *ferr_add(ferr_list *l, enum ferr_type type, const char *field, const json_t *value,
                      const char *detail_fmt, ...)
{
    va_list ap;
    va_start(ap, detail_fmt);
    struct ferr *e = ferr_addv(l, type, field, value, detail_fmt, ap);
    va_end(ap);
    return e;
}

struct ferr *ferr_unsupported(ferr_list *l, const char *field, const json_t *value,
                              const char *const *supported)
{
    char list[FERR_TEXT_MAX];
    size_t pos = 0;

    list[0] = '\0';
    for (size_t i = 0; supported[i] && pos < sizeof(list); i++) {
        int n = snprintf(list + pos, sizeof(list) - pos, "%s\"%s\"", i ? ", " : "", supported[i]);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
    return ferr_add(l, FERR_UNSUPPORTED, field, value, "supported values: %s", list);
}

void ferr_mark_transition(struct ferr *e)
{
    if (e)
        e->transition = true;
}

int ferr_http_code(const ferr_list *l)
{
    if (l->count == 0)
        return 0;
    for (size_t i = 0; i < l->count; i++) {
        if (!l->items[i].transition)
            return 422;
    }
    return 403;
}

const char *ferr_reason(const ferr_list *l)
{
    return ferr_http_code(l) == 403 ? "Forbidden" : "Invalid";
}

size_t ferr_render(const ferr_list *l, const char *kind_group, const char *name, char *buf,
                   size_t size)
{
    size_t pos = 0;
    bool many = l->count + l->dropped > 1;

#define PUT(...)                                                                                  \
    do {                                                                                          \
        if (pos < size) {                                                                         \
            int n_ = snprintf(buf + pos, size - pos, __VA_ARGS__);                                \
            if (n_ > 0)                                                                           \
                pos = pos + (size_t)n_ < size ? pos + (size_t)n_ : size - 1;                      \
        }                                                                                         \
    } while (0)

    if (size == 0)
        return 0;
    buf[0] = '\0';
    PUT("%s \"%s\" is %s: %s", kind_group, name && *name ? name : "",
        ferr_http_code(l) == 403 ? "forbidden" : "invalid", many ? "[" : "");
    for (size_t i = 0; i < l->count; i++)
        PUT("%s%s", i ? ", " : "", l->items[i].text);
    if (l->dropped)
        PUT(", and %zu more", l->dropped);
    if (many)
        PUT("]");
#undef PUT
    return pos;
}

json_t *ferr_causes(const ferr_list *l)
{
    json_t *causes = json_array();
    if (!causes)
        return NULL;
    for (size_t i = 0; i < l->count; i++) {
        const struct ferr *e = &l->items[i];
        size_t flen = strlen(e->field);
        /* Kubernetes puts the text after "<field>: " in message. */
        const char *message = strncmp(e->text, e->field, flen) == 0 && e->text[flen] == ':'
                                  ? e->text + flen + 2
                                  : e->text;
        json_t *c = json_pack("{s:s, s:s, s:s}", "reason", type_reason[e->type], "message",
                              message, "field", e->field);
        if (!c || json_array_append_new(causes, c) != 0) {
            json_decref(causes);
            return NULL;
        }
    }
    return causes;
}

/* 0 when snprintf's result n fitted in size bytes, else -1. */
static int path_fitted(size_t size, int n)
{
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int ferr_path_field(char *buf, size_t size, const char *parent, const char *name)
{
    return path_fitted(size,
                    snprintf(buf, size, "%s%s%s", parent, parent[0] ? "." : "", name));
}

int ferr_path_index(char *buf, size_t size, const char *parent, size_t index)
{
    return path_fitted(size, snprintf(buf, size, "%s[%zu]", parent, index));
}

int ferr_path_key(char *buf, size_t size, const char *parent, const char *key)
{
    return path_fitted(size, snprintf(buf, size, "%s[%s]", parent, key));
}
