/* yaml_json.c — libyaml events to a jansson tree (see yaml_json.h). */
#include "yaml_json.h"

#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define TAG_PREFIX "tag:yaml.org,2002:"

/* One open collection. */
struct frame {
    json_t *node;     /* the object or array being filled (owned) */
    json_t *merged;   /* mappings: what "<<" brought in (owned), or NULL */
    char *anchor;     /* its anchor, registered when it closes (owned), or NULL */
    char *key;        /* mappings: the key waiting for its value (owned), or NULL */
    bool merge_key;   /* that key is the merge key "<<" */
    size_t key_line;  /* where the key is, for a duplicate */
    size_t nodes_at;  /* conv.nodes before this collection started */
};

struct conv {
    const char *text;
    size_t len;
    const char *name;
    char *err;
    size_t errlen;
    struct frame stack[YAML_JSON_MAX_DEPTH];
    size_t depth;
    json_t *root;    /* the document's node once complete (owned) */
    json_t *anchors; /* name -> [node, weight] */
    size_t nodes;    /* nodes so far, aliases expanded */
    int documents;
};

__attribute__((format(printf, 3, 4))) static int fail(struct conv *c, size_t line,
                                                      const char *fmt, ...)
{
    if (!c->err || !c->errlen)
        return -1;
    int n;
    if (c->name && line)
        n = snprintf(c->err, c->errlen, "%s:%zu: ", c->name, line);
    else if (c->name)
        n = snprintf(c->err, c->errlen, "%s: ", c->name);
    else if (line)
        n = snprintf(c->err, c->errlen, "line %zu: ", line);
    else
        n = 0;
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    utf8_trim(c->err);
    return -1;
}

/* The 1-based line of a libyaml mark. */
static size_t line_of(yaml_mark_t m) { return m.line + 1; }

/* Counts the lines up to byte offset off of the input (for reader errors, which carry an
 * offset, not a mark). */
static size_t line_at(const struct conv *c, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off && i < c->len; i++)
        if (c->text[i] == '\n')
            line++;
    return line;
}

/* Writes tag shortened to "!!x" for the standard ones into buf. */
static const char *short_tag(const char *tag, char *buf, size_t n)
{
    size_t pl = strlen(TAG_PREFIX);
    if (strncmp(tag, TAG_PREFIX, pl) == 0)
        snprintf(buf, n, "!!%.100s", tag + pl);
    else
        snprintf(buf, n, "%.100s", tag);
    utf8_trim(buf);
    return buf;
}

/* Checks that tag (NULL: none) is one of the accepted ones for a node of kind "str", "map"
 * or "seq". */
static int check_tag(struct conv *c, const yaml_char_t *tag, const char *kind, size_t line)
{
    if (!tag)
        return 0;
    const char *t = (const char *)tag;
    if (strcmp(t, "!") == 0)
        return 0;
    size_t pl = strlen(TAG_PREFIX);
    if (strncmp(t, TAG_PREFIX, pl) == 0 && strcmp(t + pl, kind) == 0)
        return 0;
    char buf[128];
    return fail(c, line, "tag %s is not supported here (only !!str, !!map and !!seq are)",
                short_tag(t, buf, sizeof(buf)));
}

/* An untagged plain scalar, typed as yaml_json.h says. Returns a new reference or NULL. */
static json_t *plain_scalar(const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '~') ||
        (n == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
                    memcmp(s, "NULL", 4) == 0)))
        return json_null();
    if (n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "True", 4) == 0 ||
                   memcmp(s, "TRUE", 4) == 0))
        return json_true();
    if (n == 5 && (memcmp(s, "false", 5) == 0 || memcmp(s, "False", 5) == 0 ||
                   memcmp(s, "FALSE", 5) == 0))
        return json_false();
    size_t i = s[0] == '-' ? 1 : 0;
    bool integer = i < n && n - i <= 19 && !(s[i] == '0' && n - i > 1) &&
                   !(s[i] == '0' && i == 1);
    for (size_t k = i; integer && k < n; k++)
        integer = s[k] >= '0' && s[k] <= '9';
    if (integer) {
        char buf[24];
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        char *end;
        long long v = strtoll(buf, &end, 10);
        if (errno == 0 && *end == '\0')
            return json_integer((json_int_t)v);
    }
    return json_stringn(s, n);
}

/* Counts w more nodes. Returns 0, or -1 past the bound. */
static int count_nodes(struct conv *c, size_t w, size_t line)
{
    if (w > YAML_JSON_MAX_NODES - c->nodes)
        return fail(c, line,
                    "the document expands to more than %d nodes (aliases are counted as copies "
                    "of what they name)",
                    YAML_JSON_MAX_NODES);
    c->nodes += w;
    return 0;
}

/* Remembers node (borrowed) of weight w under anchor. Returns 0 or -1. */
static int define_anchor(struct conv *c, const char *anchor, json_t *node, size_t w)
{
    json_t *entry = json_pack("[OI]", node, (json_int_t)w);
    if (!entry || json_object_set_new(c->anchors, anchor, entry) != 0)
        return fail(c, 0, "out of memory");
    return 0;
}

/* Adds the keys of mapping m (borrowed) that f->merged does not hold yet. */
static int merge_one(struct conv *c, struct frame *f, json_t *m)
{
    const char *k;
    json_t *v;
    if (!f->merged && !(f->merged = json_object()))
        return fail(c, 0, "out of memory");
    json_object_foreach(m, k, v)
    {
        if (!json_object_get(f->merged, k) && json_object_set(f->merged, k, v) != 0)
            return fail(c, 0, "out of memory");
    }
    return 0;
}

/* Places v (stolen) where the document is: the root, the next item of a sequence, or the
 * value of the waiting key of a mapping. */
static int deliver(struct conv *c, json_t *v, size_t line)
{
    if (!v)
        return fail(c, line, "out of memory");
    if (c->depth == 0) {
        c->root = v;
        return 0;
    }
    struct frame *f = &c->stack[c->depth - 1];
    if (json_is_array(f->node)) {
        if (json_array_append_new(f->node, v) != 0)
            return fail(c, line, "out of memory");
        return 0;
    }
    char *key = f->key;
    f->key = NULL;
    int rc = 0;
    if (f->merge_key) {
        f->merge_key = false;
        if (json_is_object(v)) {
            rc = merge_one(c, f, v);
        } else if (json_is_array(v)) {
            size_t i;
            json_t *m;
            json_array_foreach(v, i, m)
            {
                if (!json_is_object(m)) {
                    rc = fail(c, line, "the merge key (<<) takes a mapping or a list of "
                                       "mappings; item %zu is not a mapping",
                              i);
                    break;
                }
                if ((rc = merge_one(c, f, m)) != 0)
                    break;
            }
        } else {
            rc = fail(c, line, "the merge key (<<) takes a mapping or a list of mappings");
        }
        json_decref(v);
    } else if (json_object_get(f->node, key)) {
        char q[220];
        size_t l = utf8_cut(key, strnlen(key, 200));
        snprintf(q, sizeof(q), "%.*s", (int)l, key);
        rc = fail(c, f->key_line, "duplicate key \"%s\"", q);
        json_decref(v);
    } else if (json_object_set_new(f->node, key, v) != 0) {
        rc = fail(c, line, "out of memory");
    }
    free(key);
    return rc;
}

/* True when the innermost collection is a mapping waiting for a key. */
static bool wants_key(const struct conv *c)
{
    if (c->depth == 0)
        return false;
    const struct frame *f = &c->stack[c->depth - 1];
    return json_is_object(f->node) && !f->key && !f->merge_key;
}

static int on_scalar(struct conv *c, const yaml_event_t *ev)
{
    size_t line = line_of(ev->start_mark);
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const yaml_char_t *tag = ev->data.scalar.tag;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    if (check_tag(c, tag, "str", line) < 0 || count_nodes(c, 1, line) < 0)
        return -1;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag;

    if (wants_key(c)) {
        struct frame *f = &c->stack[c->depth - 1];
        if (memchr(s, '\0', n))
            return fail(c, line, "a mapping key holds a NUL character");
        if (plain && n == 2 && memcmp(s, "<<", 2) == 0) {
            f->merge_key = true;
            return 0;
        }
        if (!(f->key = strndup(s, n)))
            return fail(c, line, "out of memory");
        f->key_line = line;
        if (anchor) {
            json_t *k = json_stringn(s, n);
            int rc = k ? define_anchor(c, anchor, k, 1) : fail(c, line, "out of memory");
            json_decref(k);
            return rc;
        }
        return 0;
    }
    json_t *v = plain ? plain_scalar(s, n) : json_stringn(s, n);
    if (v && anchor && define_anchor(c, anchor, v, 1) < 0) {
        json_decref(v);
        return -1;
    }
    return deliver(c, v, line);
}

static int on_alias(struct conv *c, const yaml_event_t *ev)
{
    size_t line = line_of(ev->start_mark);
    const char *name = (const char *)ev->data.alias.anchor;
    json_t *entry = json_object_get(c->anchors, name);
    if (!entry) {
        char q[120];
        snprintf(q, sizeof(q), "%.100s", name);
        utf8_trim(q);
        return fail(c, line, "alias *%s names no anchor defined before it", q);
    }
    if (wants_key(c))
        return fail(c, line, "aliases are not supported as mapping keys");
    json_t *node = json_array_get(entry, 0);
    size_t w = (size_t)json_integer_value(json_array_get(entry, 1));
    if (count_nodes(c, w, line) < 0)
        return -1;
    return deliver(c, json_incref(node), line);
}

static int on_start(struct conv *c, const yaml_event_t *ev, bool mapping)
{
    size_t line = line_of(ev->start_mark);
    const yaml_char_t *tag = mapping ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    const yaml_char_t *anchor =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if (wants_key(c))
        return fail(c, line, "only scalar mapping keys are supported");
    if (check_tag(c, tag, mapping ? "map" : "seq", line) < 0)
        return -1;
    if (c->depth == YAML_JSON_MAX_DEPTH)
        return fail(c, line, "nesting deeper than %d levels", YAML_JSON_MAX_DEPTH);
    struct frame *f = &c->stack[c->depth];
    memset(f, 0, sizeof(*f));
    f->nodes_at = c->nodes;
    if (count_nodes(c, 1, line) < 0)
        return -1;
    f->node = mapping ? json_object() : json_array();
    if (!f->node)
        return fail(c, line, "out of memory");
    c->depth++;
    if (anchor && !(f->anchor = strdup((const char *)anchor)))
        return fail(c, line, "out of memory");
    return 0;
}

static void frame_free(struct frame *f)
{
    json_decref(f->node);
    json_decref(f->merged);
    free(f->anchor);
    free(f->key);
    memset(f, 0, sizeof(*f));
}

static int on_end(struct conv *c, const yaml_event_t *ev)
{
    size_t line = line_of(ev->start_mark);
    struct frame *f = &c->stack[c->depth - 1];
    if (f->merged) {
        const char *k;
        json_t *v;
        json_object_foreach(f->merged, k, v)
        {
            if (!json_object_get(f->node, k) && json_object_set(f->node, k, v) != 0)
                return fail(c, line, "out of memory");
        }
    }
    json_t *node = f->node;
    f->node = NULL;
    int rc = 0;
    if (f->anchor)
        rc = define_anchor(c, f->anchor, node, c->nodes - f->nodes_at);
    frame_free(f);
    c->depth--;
    if (rc < 0) {
        json_decref(node);
        return -1;
    }
    return deliver(c, node, line);
}

/* Fills err from the parser's own error. */
static int parser_error(struct conv *c, const yaml_parser_t *p)
{
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return fail(c, 0, "out of memory");
    case YAML_READER_ERROR:
        if (p->problem_value != -1)
            return fail(c, line_at(c, p->problem_offset), "%s (byte 0x%02x)",
                        p->problem ? p->problem : "cannot read the input",
                        (unsigned)p->problem_value & 0xffu);
        return fail(c, line_at(c, p->problem_offset), "%s",
                    p->problem ? p->problem : "cannot read the input");
    default:
        break;
    }
    const char *problem = p->problem ? p->problem : "syntax error";
    if (p->context && p->context_mark.line != p->problem_mark.line)
        return fail(c, line_of(p->problem_mark), "%s (%s on line %zu)", problem, p->context,
                    line_of(p->context_mark));
    if (p->context)
        return fail(c, line_of(p->problem_mark), "%s (%s)", problem, p->context);
    return fail(c, line_of(p->problem_mark), "%s", problem);
}

/* Handles one event. Returns 1 at the end of the stream, 0 to go on, -1 on an error. */
static int on_event(struct conv *c, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++c->documents > 1)
            return fail(c, line_of(ev->start_mark),
                        "a second document (\"---\"): one document is supported");
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(c, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(c, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(c, ev, false);
    case YAML_MAPPING_START_EVENT:
        return on_start(c, ev, true);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(c, ev);
    case YAML_STREAM_END_EVENT:
        return 1;
    default: /* stream start, document end, no event */
        return 0;
    }
}

json_t *yaml_json_load(const char *text, size_t len, const char *name, char *err,
                       size_t errlen)
{
    struct conv *c = calloc(1, sizeof(*c));
    if (err && errlen)
        err[0] = '\0';
    if (!c) {
        if (err && errlen)
            snprintf(err, errlen, "%s%sout of memory", name ? name : "", name ? ": " : "");
        return NULL;
    }
    c->text = text;
    c->len = len;
    c->name = name;
    c->err = err;
    c->errlen = errlen;

    json_t *out = NULL;
    yaml_parser_t p;
    bool parser_ready = false;
    if (len > YAML_JSON_MAX_INPUT) {
        fail(c, 1, "input is larger than %d bytes", YAML_JSON_MAX_INPUT);
        goto done;
    }
    c->anchors = json_object();
    if (!c->anchors || !yaml_parser_initialize(&p)) {
        fail(c, 0, "out of memory");
        goto done;
    }
    parser_ready = true;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            parser_error(c, &p);
            goto done;
        }
        int rc = on_event(c, &ev);
        yaml_event_delete(&ev);
        if (rc < 0)
            goto done;
        if (rc > 0)
            break;
    }
    out = c->root ? c->root : json_null();
    c->root = NULL;
done:
    if (parser_ready)
        yaml_parser_delete(&p);
    while (c->depth > 0)
        frame_free(&c->stack[--c->depth]);
    json_decref(c->root);
    json_decref(c->anchors);
    free(c);
    return out;
}
