/* yaml.c — a strict YAML subset to jansson (see yaml.h).
 *
 * The parser walks the text with one cursor. Block structure is read line by line: a node
 * owns every following content line indented like it, and a "- " item or a "key: " value may
 * start a nested node in the middle of a line, whose column is then the nested node's
 * indentation. Flow collections and quoted scalars are read character by character and may
 * cross lines. Each open collection costs one level of recursion, checked against
 * YAML_MAX_DEPTH before it is entered. */
#include "yaml.h"

#include "strbuf.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct parser {
    const char *s;
    size_t len;
    size_t pos;        /* the cursor */
    size_t line_start; /* offset of the first byte of the cursor's line */
    int line;          /* 1-based line of the cursor */
    bool eof;          /* no content line left (or stopped at a "---"/"..." marker) */
    char marker;       /* '-' or '.' when eof was set by a document marker, else 0 */
    bool failed;
    const char *name;
    char *err;
    size_t errlen;
};

/* Records the first error, prefixed with the cursor's line. */
__attribute__((format(printf, 2, 3))) static void fail(struct parser *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (!p->err || !p->errlen)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->name)
        snprintf(p->err, p->errlen, "%s:%d: %s", p->name, p->line, msg);
    else
        snprintf(p->err, p->errlen, "line %d: %s", p->line, msg);
    utf8_trim(p->err);
}

/* Describes the character c for a message: 'x' for printable ASCII, else a generic phrase. */
static const char *show(char c, char buf[8])
{
    if (c > 0x20 && c < 0x7F) {
        snprintf(buf, 8, "'%c'", c);
        return buf;
    }
    return c == ' ' || c == '\t' ? "white space" : "a character";
}

/* Copies the key k into buf (at most 100 bytes, not cutting a UTF-8 sequence). */
static const char *show_key(const char *k, char buf[104])
{
    size_t n = strnlen(k, 100);
    n = utf8_cut(k, n);
    memcpy(buf, k, n);
    buf[n] = '\0';
    return buf;
}

static size_t col(const struct parser *p)
{
    return p->pos - p->line_start;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* True when offset i is at the end of a line or of the input. */
static bool at_eol(const struct parser *p, size_t i)
{
    if (i >= p->len || p->s[i] == '\n')
        return true;
    return p->s[i] == '\r' && (i + 1 >= p->len || p->s[i + 1] == '\n');
}

/* True when offset i holds whitespace or ends a line (what must follow "-", ":" or "?"). */
static bool sep_at(const struct parser *p, size_t i)
{
    return at_eol(p, i) || is_ws(p->s[i]);
}

static char peek(const struct parser *p)
{
    return p->pos < p->len ? p->s[p->pos] : '\0';
}

/* Moves the cursor to the start of the next line (or the end of the input). */
static void next_line(struct parser *p)
{
    while (!at_eol(p, p->pos))
        p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '\r')
        p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '\n')
        p->pos++;
    p->line++;
    p->line_start = p->pos;
}

/* From the start of a line, skips blank and comment lines and leaves the cursor on the first
 * character of the next content line (its column is the line's indentation), or sets eof.
 * A "---" or "..." at column 0 also sets eof (and marker). */
static void skip_blank_lines(struct parser *p)
{
    for (;;) {
        if (p->pos >= p->len) {
            p->eof = true;
            return;
        }
        size_t i = p->line_start;
        while (i < p->len && p->s[i] == ' ')
            i++;
        size_t j = i;
        while (j < p->len && is_ws(p->s[j]))
            j++;
        if (at_eol(p, j) || p->s[j] == '#') {
            p->pos = j;
            next_line(p);
            continue;
        }
        if (j != i) {
            fail(p, "tab character in indentation (indent with spaces)");
            p->eof = true;
            return;
        }
        if (i == p->line_start && p->len - i >= 3 &&
            (memcmp(p->s + i, "---", 3) == 0 || memcmp(p->s + i, "...", 3) == 0) &&
            sep_at(p, i + 3)) {
            p->pos = i;
            p->eof = true;
            p->marker = p->s[i];
            return;
        }
        p->pos = i;
        return;
    }
}

/* After a node that ends its line: allows trailing spaces and a comment, then moves to the
 * next content line. */
static void end_line(struct parser *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && is_ws(p->s[p->pos]))
        p->pos++;
    if (peek(p) == '#' && p->pos > start) {
        next_line(p);
    } else if (!at_eol(p, p->pos)) {
        char cb[8];
        fail(p, "unexpected %s after the value", show(p->s[p->pos], cb));
        return;
    } else {
        next_line(p);
    }
    skip_blank_lines(p);
}

/* Refuses the indicators outside the subset at the cursor. Returns 0, or -1 (failed). */
static int check_indicator(struct parser *p)
{
    char c = peek(p);
    switch (c) {
    case '&':
        fail(p, "anchors (&) are not supported");
        return -1;
    case '*':
        fail(p, "aliases (*) are not supported");
        return -1;
    case '!':
        fail(p, "tags (!) are not supported");
        return -1;
    case '%':
        fail(p, "directives (%%) are not supported");
        return -1;
    case '@':
    case '`':
        fail(p, "'%c' is a reserved indicator (quote the value)", c);
        return -1;
    case '?':
        if (sep_at(p, p->pos + 1)) {
            fail(p, "complex keys (?) are not supported");
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- scalars ---- */

/* Types a plain scalar: null, boolean, integer or string. Returns a new reference or NULL. */
static json_t *plain_value(const char *s, size_t n)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL"};
    static const char *const trues[] = {"true", "True", "TRUE"};
    static const char *const falses[] = {"false", "False", "FALSE"};
    if (n == 0)
        return json_null();
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strlen(nulls[i]) == n && memcmp(s, nulls[i], n) == 0)
            return json_null();
    for (size_t i = 0; i < 3; i++) {
        if (strlen(trues[i]) == n && memcmp(s, trues[i], n) == 0)
            return json_true();
        if (strlen(falses[i]) == n && memcmp(s, falses[i], n) == 0)
            return json_false();
    }
    size_t i = (s[0] == '-') ? 1 : 0;
    if (i < n && (s[i] != '0' || n == i + 1)) {
        uint64_t v = 0;
        uint64_t limit = (s[0] == '-') ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        size_t k = i;
        for (; k < n && s[k] >= '0' && s[k] <= '9'; k++) {
            unsigned d = (unsigned)(s[k] - '0');
            if (v > (limit - d) / 10)
                break;
            v = v * 10 + d;
        }
        if (k == n) {
            if (s[0] != '-')
                return json_integer((json_int_t)v);
            if (v == (uint64_t)INT64_MAX + 1)
                return json_integer((json_int_t)INT64_MIN);
            return json_integer(-(json_int_t)v);
        }
    }
    return json_stringn(s, n);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads n hex digits after the cursor's escape letter. Returns the value or -1. */
static long read_hex(struct parser *p, size_t at, int n)
{
    long v = 0;
    for (int k = 0; k < n; k++) {
        if (at + (size_t)k >= p->len)
            return -1;
        int h = hexval(p->s[at + (size_t)k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static void put_utf8(struct strbuf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    strbuf_append(b, u, n);
}

/* Decodes the escape after a backslash at the cursor (the cursor is on the letter) into b and
 * moves past it. Returns 0 or -1 (failed). */
static int read_escape(struct parser *p, struct strbuf *b)
{
    char e = p->s[p->pos];
    const char *simple = NULL;
    switch (e) {
    case '0': fail(p, "NUL characters (\\0) are not supported in strings"); return -1;
    case 'a': simple = "\a"; break;
    case 'b': simple = "\b"; break;
    case 't': case '\t': simple = "\t"; break;
    case 'n': simple = "\n"; break;
    case 'v': simple = "\v"; break;
    case 'f': simple = "\f"; break;
    case 'r': simple = "\r"; break;
    case 'e': simple = "\x1b"; break;
    case ' ': simple = " "; break;
    case '"': simple = "\""; break;
    case '/': simple = "/"; break;
    case '\\': simple = "\\"; break;
    case 'N': simple = "\xc2\x85"; break;
    case '_': simple = "\xc2\xa0"; break;
    case 'L': simple = "\xe2\x80\xa8"; break;
    case 'P': simple = "\xe2\x80\xa9"; break;
    default: break;
    }
    if (simple) {
        strbuf_puts(b, simple);
        p->pos++;
        return 0;
    }
    int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (!digits) {
        char cb[8];
        fail(p, "unknown escape \\%s in a double-quoted string", show(e, cb));
        return -1;
    }
    long cp = read_hex(p, p->pos + 1, digits);
    if (cp < 0) {
        fail(p, "escape '\\%c' needs %d hex digits", e, digits);
        return -1;
    }
    p->pos += 1 + (size_t)digits;
    if (e == 'u' && cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = -1;
        if (p->len - p->pos >= 6 && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u')
            lo = read_hex(p, p->pos + 2, 4);
        if (lo < 0xDC00 || lo > 0xDFFF) {
            fail(p, "unpaired surrogate \\u%04lX in a double-quoted string", cp);
            return -1;
        }
        p->pos += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) {
        fail(p, "NUL characters are not supported in strings");
        return -1;
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
        fail(p, "escape \\%c%0*lX is not a valid character", e, digits, cp);
        return -1;
    }
    put_utf8(b, (unsigned long)cp);
    return 0;
}

/* Folds a line break inside a quoted scalar: the cursor is at the break. Trailing white space
 * of the line (after keep) is dropped; empty lines each give "\n", otherwise one space. */
static void fold_break(struct parser *p, struct strbuf *b, size_t keep)
{
    if (!b->failed && b->len > keep) {
        b->len = keep;
        b->data[keep] = '\0';
    }
    int empty = 0;
    for (;;) {
        next_line(p);
        while (p->pos < p->len && is_ws(p->s[p->pos]))
            p->pos++;
        if (p->pos >= p->len || !at_eol(p, p->pos))
            break;
        empty++;
    }
    if (empty == 0)
        strbuf_puts(b, " ");
    for (int k = 0; k < empty; k++)
        strbuf_puts(b, "\n");
}

/* Reads a quoted scalar at the cursor (on the opening quote). Returns a new string or NULL. */
static json_t *parse_quoted(struct parser *p)
{
    char q = p->s[p->pos];
    int open_line = p->line;
    struct strbuf b;
    strbuf_init(&b, YAML_MAX_INPUT);
    size_t keep = 0; /* the length without trailing unescaped white space */
    p->pos++;
    for (;;) {
        if (p->pos >= p->len) {
            fail(p, "unterminated %s-quoted string (opened on line %d)",
                 q == '"' ? "double" : "single", open_line);
            goto bad;
        }
        char c = p->s[p->pos];
        if (c == q) {
            if (q == '\'' && p->pos + 1 < p->len && p->s[p->pos + 1] == '\'') {
                strbuf_puts(&b, "'");
                p->pos += 2;
                keep = b.len;
                continue;
            }
            p->pos++;
            break;
        }
        if (at_eol(p, p->pos)) {
            fold_break(p, &b, keep);
            keep = b.len;
            continue;
        }
        if (q == '"' && c == '\\') {
            p->pos++;
            if (at_eol(p, p->pos)) {
                /* an escaped line break: joins the lines without a space */
                next_line(p);
                while (p->pos < p->len && is_ws(p->s[p->pos]))
                    p->pos++;
                keep = b.len;
                continue;
            }
            if (read_escape(p, &b) < 0)
                goto bad;
            keep = b.len;
            continue;
        }
        strbuf_append(&b, &c, 1);
        p->pos++;
        if (!is_ws(c))
            keep = b.len;
    }
    if (b.failed) {
        fail(p, "out of memory");
        goto bad;
    }
    json_t *v = json_stringn(b.data ? b.data : "", b.len);
    strbuf_free(&b);
    if (!v)
        fail(p, "out of memory");
    return v;
bad:
    strbuf_free(&b);
    return NULL;
}

/* Reads a block scalar (| or >) whose header is at the cursor; parent_col is the indentation
 * of the collection holding it (-1 at the top level). Leaves the cursor on the next content
 * line. Returns a new string or NULL. */
static json_t *parse_block_scalar(struct parser *p, long parent_col)
{
    bool folded = p->s[p->pos] == '>';
    char chomp = 0; /* 0 clip, '-' strip, '+' keep */
    long indent = 0;
    p->pos++;
    for (int k = 0; k < 2 && p->pos < p->len; k++) {
        char c = p->s[p->pos];
        if ((c == '-' || c == '+') && !chomp)
            chomp = c;
        else if (c >= '1' && c <= '9' && !indent)
            indent = (parent_col < 0 ? 0 : parent_col) + (c - '0');
        else
            break;
        p->pos++;
    }
    size_t hdr = p->pos;
    while (p->pos < p->len && is_ws(p->s[p->pos]))
        p->pos++;
    if (!at_eol(p, p->pos) && !(peek(p) == '#' && p->pos > hdr)) {
        fail(p, "unexpected text after a block scalar header");
        return NULL;
    }
    next_line(p);
    if (!indent) {
        /* the first non-blank line sets the indentation */
        size_t i = p->pos;
        while (i < p->len) {
            size_t sp = 0;
            while (i < p->len && p->s[i] == ' ') {
                i++;
                sp++;
            }
            if (!at_eol(p, i)) {
                indent = (long)sp;
                break;
            }
            while (i < p->len && p->s[i] != '\n')
                i++;
            if (i < p->len)
                i++;
        }
        if (indent <= parent_col)
            indent = parent_col + 1;
    }

    struct strbuf b;
    strbuf_init(&b, YAML_MAX_INPUT);
    int breaks = 0;            /* line breaks seen since the last content line */
    bool have_line = false;    /* a content line was read */
    bool prev_plain = false;   /* the last content line started with a non-space */
    for (;;) {
        if (p->pos >= p->len)
            break;
        size_t i = p->line_start;
        long sp = 0;
        while (i < p->len && p->s[i] == ' ' && sp < indent) {
            i++;
            sp++;
        }
        if (at_eol(p, i)) { /* a blank line */
            p->pos = i;
            next_line(p);
            breaks++;
            continue;
        }
        if (sp < indent)
            break;
        size_t end = i;
        while (!at_eol(p, end))
            end++;
        bool plain_line = !is_ws(p->s[i]);
        if (have_line) {
            if (folded && prev_plain && plain_line) {
                if (breaks == 1)
                    strbuf_puts(&b, " ");
                for (int k = 1; k < breaks; k++)
                    strbuf_puts(&b, "\n");
            } else {
                for (int k = 0; k < breaks; k++)
                    strbuf_puts(&b, "\n");
            }
        } else {
            for (int k = 0; k < breaks; k++) /* leading empty lines are kept */
                strbuf_puts(&b, "\n");
        }
        strbuf_append(&b, p->s + i, end - i);
        have_line = true;
        prev_plain = plain_line;
        p->pos = end;
        next_line(p);
        breaks = 1;
    }
    if (have_line) {
        /* breaks counts the break ending the last line plus the empty lines after it */
        if (chomp == 0)
            strbuf_puts(&b, "\n");
        else if (chomp == '+')
            for (int k = 0; k < breaks; k++)
                strbuf_puts(&b, "\n");
    } else if (chomp == '+') {
        for (int k = 0; k < breaks; k++)
            strbuf_puts(&b, "\n");
    }
    if (b.failed) {
        strbuf_free(&b);
        fail(p, "out of memory");
        return NULL;
    }
    json_t *v = json_stringn(b.data ? b.data : "", b.len);
    strbuf_free(&b);
    if (!v) {
        fail(p, "out of memory");
        return NULL;
    }
    p->pos = p->line_start;
    skip_blank_lines(p);
    return v;
}

/* ---- flow collections ---- */

static json_t *parse_flow_node(struct parser *p, int depth);

/* Skips spaces, line breaks and comments inside a flow collection. */
static void skip_flow_ws(struct parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (is_ws(c)) {
            p->pos++;
        } else if (at_eol(p, p->pos)) {
            next_line(p);
        } else if (c == '#' && (p->pos == p->line_start || is_ws(p->s[p->pos - 1]))) {
            while (!at_eol(p, p->pos))
                p->pos++;
        } else {
            break;
        }
    }
}

static bool is_flow_indicator(char c)
{
    return c == ',' || c == '[' || c == ']' || c == '{' || c == '}';
}

/* Reads a plain scalar inside a flow collection; sets *start and *n to its text. */
static int flow_plain(struct parser *p, size_t *start, size_t *n)
{
    if (check_indicator(p) < 0)
        return -1;
    char c = peek(p);
    if (c == '|' || c == '>' || c == '#' || c == ':' || c == '\'' || c == '"' ||
        (c == '-' && sep_at(p, p->pos + 1))) {
        char cb[8];
        fail(p, "unexpected %s in a flow collection", show(c, cb));
        return -1;
    }
    *start = p->pos;
    size_t last = p->pos; /* end of the last non-space */
    while (!at_eol(p, p->pos)) {
        c = p->s[p->pos];
        if (is_flow_indicator(c))
            break;
        if (c == ':' && (sep_at(p, p->pos + 1) || is_flow_indicator(p->s[p->pos + 1])))
            break;
        if (is_ws(c) && p->pos + 1 < p->len && p->s[p->pos + 1] == '#')
            break;
        p->pos++;
        if (!is_ws(c))
            last = p->pos;
    }
    *n = last - *start;
    if (*n == 0) {
        char cb[8];
        if (p->pos >= p->len)
            fail(p, "unexpected end of input in a flow collection");
        else
            fail(p, "unexpected %s in a flow collection", show(p->s[p->pos], cb));
        return -1;
    }
    return 0;
}

static json_t *parse_flow_map(struct parser *p, int depth)
{
    int open_line = p->line;
    if (depth > YAML_MAX_DEPTH) {
        fail(p, "nesting deeper than %d levels", YAML_MAX_DEPTH);
        return NULL;
    }
    json_t *obj = json_object();
    if (!obj) {
        fail(p, "out of memory");
        return NULL;
    }
    p->pos++;
    for (;;) {
        skip_flow_ws(p);
        if (p->pos >= p->len)
            goto unterminated;
        if (peek(p) == '}') {
            p->pos++;
            return obj;
        }
        json_t *key;
        char c = peek(p);
        if (c == '"' || c == '\'') {
            key = parse_quoted(p);
        } else if (c == '{' || c == '[') {
            fail(p, "only scalar mapping keys are supported");
            goto bad;
        } else {
            size_t start, n;
            if (flow_plain(p, &start, &n) < 0)
                goto bad;
            key = json_stringn(p->s + start, n);
            if (!key)
                fail(p, "out of memory");
        }
        if (!key)
            goto bad;
        const char *k = json_string_value(key);
        size_t klen = json_string_length(key);
        if (json_object_getn(obj, k, klen)) {
            char kb[104];
            fail(p, "duplicate key \"%s\"", show_key(k, kb));
            json_decref(key);
            goto bad;
        }
        skip_flow_ws(p);
        if (peek(p) != ':') {
            if (p->pos >= p->len) {
                json_decref(key);
                goto unterminated;
            }
            char kb[104];
            fail(p, "expected ':' after the key \"%s\"", show_key(k, kb));
            json_decref(key);
            goto bad;
        }
        p->pos++;
        skip_flow_ws(p);
        json_t *val;
        if (peek(p) == ',' || peek(p) == '}')
            val = json_null();
        else
            val = parse_flow_node(p, depth);
        if (!val) {
            json_decref(key);
            goto bad;
        }
        if (json_object_setn_new(obj, k, klen, val) < 0) {
            json_decref(key);
            fail(p, "out of memory");
            goto bad;
        }
        json_decref(key);
        skip_flow_ws(p);
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) == '}')
            continue;
        if (p->pos >= p->len)
            goto unterminated;
        char cb[8];
        fail(p, "expected ',' or '}' in a flow mapping, found %s", show(peek(p), cb));
        goto bad;
    }
unterminated:
    fail(p, "unterminated '{' (opened on line %d)", open_line);
bad:
    json_decref(obj);
    return NULL;
}

static json_t *parse_flow_seq(struct parser *p, int depth)
{
    int open_line = p->line;
    if (depth > YAML_MAX_DEPTH) {
        fail(p, "nesting deeper than %d levels", YAML_MAX_DEPTH);
        return NULL;
    }
    json_t *arr = json_array();
    if (!arr) {
        fail(p, "out of memory");
        return NULL;
    }
    p->pos++;
    for (;;) {
        skip_flow_ws(p);
        if (p->pos >= p->len)
            goto unterminated;
        if (peek(p) == ']') {
            p->pos++;
            return arr;
        }
        json_t *val = parse_flow_node(p, depth);
        if (!val)
            goto bad;
        if (json_array_append_new(arr, val) < 0) {
            fail(p, "out of memory");
            goto bad;
        }
        skip_flow_ws(p);
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) == ']')
            continue;
        if (p->pos >= p->len)
            goto unterminated;
        char cb[8];
        if (peek(p) == ':')
            fail(p, "mappings inside a flow sequence must be written as {key: value}");
        else
            fail(p, "expected ',' or ']' in a flow sequence, found %s", show(peek(p), cb));
        goto bad;
    }
unterminated:
    fail(p, "unterminated '[' (opened on line %d)", open_line);
bad:
    json_decref(arr);
    return NULL;
}

/* A node inside a flow collection (or a flow collection itself); depth counts the open
 * collections around it. */
static json_t *parse_flow_node(struct parser *p, int depth)
{
    char c = peek(p);
    if (p->pos >= p->len) {
        fail(p, "unexpected end of input");
        return NULL;
    }
    if (c == '{')
        return parse_flow_map(p, depth + 1);
    if (c == '[')
        return parse_flow_seq(p, depth + 1);
    if (c == '"' || c == '\'')
        return parse_quoted(p);
    size_t start, n;
    if (flow_plain(p, &start, &n) < 0)
        return NULL;
    json_t *v = plain_value(p->s + start, n);
    if (!v)
        fail(p, "out of memory");
    return v;
}

/* ---- block collections ---- */

static json_t *parse_block_node(struct parser *p, long parent_col, int depth);
static json_t *parse_block_seq(struct parser *p, int depth);

static bool at_seq_item(const struct parser *p)
{
    return peek(p) == '-' && sep_at(p, p->pos + 1);
}

/* If the line at the cursor starts with "key:" (plain or quoted key, then ':' and white space
 * or the end of the line), sets *colon to the offset of that ':' and returns true. */
static bool find_key(const struct parser *p, size_t *colon)
{
    size_t i = p->pos;
    char c = p->s[i];
    if (c == '"' || c == '\'') {
        for (i++; !at_eol(p, i); i++) {
            if (c == '"' && p->s[i] == '\\' && !at_eol(p, i + 1)) {
                i++;
            } else if (p->s[i] == c) {
                if (c == '\'' && i + 1 < p->len && p->s[i + 1] == '\'') {
                    i++;
                    continue;
                }
                break;
            }
        }
        if (at_eol(p, i))
            return false;
        i++;
        while (i < p->len && is_ws(p->s[i]))
            i++;
        if (i < p->len && p->s[i] == ':' && sep_at(p, i + 1)) {
            *colon = i;
            return true;
        }
        return false;
    }
    if (c == '{' || c == '[' || c == '|' || c == '>' || c == '#')
        return false;
    for (; !at_eol(p, i); i++) {
        if (p->s[i] == ':' && sep_at(p, i + 1)) {
            *colon = i;
            return true;
        }
        if (is_ws(p->s[i]) && i + 1 < p->len && p->s[i + 1] == '#')
            return false;
    }
    return false;
}

/* A scalar, a flow collection or a block scalar that starts at the cursor and ends its line
 * (the block scalar ends with its last content line). parent_col is the indentation of the
 * enclosing block collection. Leaves the cursor on the next content line. */
static json_t *parse_inline_value(struct parser *p, long parent_col, int depth)
{
    if (check_indicator(p) < 0)
        return NULL;
    char c = peek(p);
    json_t *v;
    if (c == '|' || c == '>')
        return parse_block_scalar(p, parent_col);
    if (c == '{' || c == '[' || c == '"' || c == '\'') {
        v = parse_flow_node(p, depth);
    } else if (at_seq_item(p)) {
        fail(p, "a block sequence cannot start on the same line as its key");
        return NULL;
    } else if (c == ',' || c == ']' || c == '}') {
        char cb[8];
        fail(p, "unexpected %s", show(c, cb));
        return NULL;
    } else {
        size_t start = p->pos, last = p->pos;
        while (!at_eol(p, p->pos)) {
            char ch = p->s[p->pos];
            if (is_ws(ch) && p->pos + 1 < p->len && p->s[p->pos + 1] == '#')
                break;
            if (ch == ':' && sep_at(p, p->pos + 1)) {
                fail(p, "': ' inside a plain value (quote the value)");
                return NULL;
            }
            p->pos++;
            if (!is_ws(ch))
                last = p->pos;
        }
        v = plain_value(p->s + start, last - start);
        if (!v)
            fail(p, "out of memory");
    }
    if (!v)
        return NULL;
    end_line(p);
    if (p->failed) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* A block mapping whose first key is at the cursor; its column is the mapping's indentation. */
static json_t *parse_block_map(struct parser *p, int depth)
{
    size_t indent = col(p);
    if (depth > YAML_MAX_DEPTH) {
        fail(p, "nesting deeper than %d levels", YAML_MAX_DEPTH);
        return NULL;
    }
    json_t *obj = json_object();
    if (!obj) {
        fail(p, "out of memory");
        return NULL;
    }
    for (;;) {
        size_t colon;
        if (at_seq_item(p)) {
            fail(p, "a sequence item where a mapping key was expected");
            goto bad;
        }
        if (check_indicator(p) < 0)
            goto bad;
        if (!find_key(p, &colon)) {
            fail(p, "expected \"key: value\"");
            goto bad;
        }
        json_t *key;
        if (peek(p) == '"' || peek(p) == '\'') {
            key = parse_quoted(p);
            if (!key)
                goto bad;
        } else {
            size_t end = colon;
            while (end > p->pos && is_ws(p->s[end - 1]))
                end--;
            if (end == p->pos) {
                fail(p, "a mapping key is missing before ':'");
                goto bad;
            }
            key = json_stringn(p->s + p->pos, end - p->pos);
            if (!key) {
                fail(p, "out of memory");
                goto bad;
            }
        }
        const char *k = json_string_value(key);
        size_t klen = json_string_length(key);
        if (json_object_getn(obj, k, klen)) {
            char kb[104];
            fail(p, "duplicate key \"%s\"", show_key(k, kb));
            json_decref(key);
            goto bad;
        }
        p->pos = colon + 1;
        while (p->pos < p->len && is_ws(p->s[p->pos]))
            p->pos++;
        json_t *val;
        if (at_eol(p, p->pos) || peek(p) == '#') {
            /* the value, if any, is on the following lines */
            next_line(p);
            skip_blank_lines(p);
            if (p->failed)
                val = NULL;
            else if (!p->eof && col(p) > indent)
                val = parse_block_node(p, (long)indent, depth);
            else if (!p->eof && col(p) == indent && at_seq_item(p))
                val = parse_block_seq(p, depth + 1);
            else
                val = json_null();
        } else {
            val = parse_inline_value(p, (long)indent, depth);
        }
        if (!val) {
            json_decref(key);
            goto bad;
        }
        bool was_string = json_is_string(val);
        if (json_object_setn_new(obj, k, klen, val) < 0) {
            json_decref(key);
            fail(p, "out of memory");
            goto bad;
        }
        json_decref(key);
        if (p->failed)
            goto bad;
        if (p->eof || col(p) < indent)
            return obj;
        if (col(p) > indent) {
            fail(p, was_string ? "unexpected indentation (a multi-line plain value? quote it)"
                                : "unexpected indentation");
            goto bad;
        }
    }
bad:
    json_decref(obj);
    return NULL;
}

/* A block sequence whose first "-" is at the cursor; its column is the indentation. Ends at a
 * line less indented or, at the same indentation, not starting with "- " (a sequence written
 * at its key's indentation is followed by the mapping's next key). */
static json_t *parse_block_seq(struct parser *p, int depth)
{
    size_t indent = col(p);
    if (depth > YAML_MAX_DEPTH) {
        fail(p, "nesting deeper than %d levels", YAML_MAX_DEPTH);
        return NULL;
    }
    json_t *arr = json_array();
    if (!arr) {
        fail(p, "out of memory");
        return NULL;
    }
    for (;;) {
        p->pos++; /* the '-' */
        while (p->pos < p->len && is_ws(p->s[p->pos]))
            p->pos++;
        json_t *item;
        if (at_eol(p, p->pos) || peek(p) == '#') {
            next_line(p);
            skip_blank_lines(p);
            if (p->failed)
                item = NULL;
            else if (!p->eof && col(p) > indent)
                item = parse_block_node(p, (long)indent, depth);
            else
                item = json_null();
        } else {
            item = parse_block_node(p, (long)indent, depth);
        }
        if (!item)
            goto bad;
        bool was_string = json_is_string(item);
        if (json_array_append_new(arr, item) < 0) {
            fail(p, "out of memory");
            goto bad;
        }
        if (p->failed)
            goto bad;
        if (p->eof || col(p) < indent)
            return arr;
        if (col(p) > indent) {
            fail(p, was_string ? "unexpected indentation (a multi-line plain value? quote it)"
                                : "unexpected indentation");
            goto bad;
        }
        if (!at_seq_item(p))
            return arr;
    }
bad:
    json_decref(arr);
    return NULL;
}

/* Any node at the cursor: a block sequence, a block mapping, or a value ending its line.
 * depth counts the collections around it. */
static json_t *parse_block_node(struct parser *p, long parent_col, int depth)
{
    size_t colon;
    if (at_seq_item(p))
        return parse_block_seq(p, depth + 1);
    if (check_indicator(p) < 0)
        return NULL;
    if (find_key(p, &colon))
        return parse_block_map(p, depth + 1);
    return parse_inline_value(p, parent_col, depth);
}

/* ---- input checks and the document ---- */

/* Checks that the input is UTF-8 without NULs or control characters (other than tab and line
 * breaks). Returns 0, or -1 with the line in the error. */
static int check_bytes(struct parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t i = 0;
    while (i < p->len) {
        unsigned c = s[i];
        if (c == '\n') {
            p->line++;
            i++;
            continue;
        }
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7F) {
                fail(p, "control character 0x%02X is not allowed", c);
                return -1;
            }
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            cp = c & 0x07;
        } else {
            goto invalid;
        }
        if (p->len - i < n)
            goto invalid;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                goto invalid;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            goto invalid;
        i += n;
    }
    p->line = 1;
    return 0;
invalid:
    fail(p, "invalid UTF-8");
    return -1;
}

/* After "---" or "..." at the cursor: the rest of the line must be blank or a comment. */
static int skip_marker_line(struct parser *p)
{
    p->pos += 3;
    p->eof = false;
    p->marker = 0;
    size_t start = p->pos;
    while (p->pos < p->len && is_ws(p->s[p->pos]))
        p->pos++;
    if (!at_eol(p, p->pos) && !(peek(p) == '#' && p->pos > start)) {
        fail(p, "content on a document marker line is not supported (start it on the next line)");
        return -1;
    }
    next_line(p);
    skip_blank_lines(p);
    return 0;
}

json_t *yaml_parse_named(const char *text, size_t len, const char *name, char *err,
                         size_t errlen)
{
    struct parser p = {.s = text, .len = len, .line = 1, .name = name, .err = err,
                       .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    if (len > YAML_MAX_INPUT) {
        fail(&p, "input is larger than %d bytes", YAML_MAX_INPUT);
        return NULL;
    }
    if (!text)
        p.len = 0;
    if (check_bytes(&p) < 0)
        return NULL;
    if (p.len >= 3 && memcmp(p.s, "\xEF\xBB\xBF", 3) == 0)
        p.pos = p.line_start = 3;

    json_t *root = NULL;
    skip_blank_lines(&p);
    if (p.marker == '-' && skip_marker_line(&p) < 0)
        return NULL;
    if (p.failed)
        return NULL;
    if (p.eof)
        root = json_null();
    else
        root = parse_block_node(&p, -1, 0);
    if (!root)
        return NULL;
    if (!p.failed && !p.eof)
        fail(&p, col(&p) > 0 ? "unexpected indentation" : "unexpected content after the document");
    if (!p.failed && p.marker == '.') {
        if (skip_marker_line(&p) == 0 && (!p.eof || p.marker))
            fail(&p, "content after the end of the document (\"...\")");
    }
    if (!p.failed && p.marker == '-')
        fail(&p, "multiple documents are not supported");
    if (p.failed) {
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *yaml_parse(const char *text, size_t len, char *err, size_t errlen)
{
    return yaml_parse_named(text, len, NULL, err, errlen);
}
