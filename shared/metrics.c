/* metrics.c — fixed registry of Prometheus series (see metrics.h).
 *
 * Every series lives in one static array; registration fills the next slot and never
 * allocates. Values are C11 atomics updated with relaxed ordering (each value is independent):
 *   counter    a uint64 count
 *   gauge      a double kept as its IEEE-754 bit pattern in a uint64 (set = store; add = CAS)
 *   histogram  one count per bucket (not cumulative; the last is the +Inf bucket) and the sum
 *              as double bits (CAS). The rendered _count is the sum of the bucket counts, so
 *              the +Inf bucket and _count always agree even while observations race a render.
 *
 * Registration rules beyond the header: name must be a valid metric name
 * ([a-zA-Z_:][a-zA-Z0-9_:]*); name, help and labels must fit their fixed buffers (127, 511
 * and 511 characters); labels must not hold a raw newline; histogram bounds must be finite and
 * strictly ascending; series sharing a name must share type and help. Otherwise NULL. Registering the same name and labels again returns the existing series
 * (when type, help and bounds agree), so a duplicate never appears in the exposition. */
#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 128
#define HELP_MAX_LEN 512
#define LABELS_MAX_LEN 512

enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

struct metrics_series {
    enum metric_kind kind;
    char name[NAME_MAX_LEN];
    char help[HELP_MAX_LEN];
    char labels[LABELS_MAX_LEN]; /* "" when the series has no labels */
    _Atomic uint64_t value;      /* counter count, or gauge double bits */
    size_t nbuckets;
    double bounds[METRICS_MAX_BUCKETS];
    _Atomic uint64_t buckets[METRICS_MAX_BUCKETS + 1]; /* [nbuckets] is the +Inf bucket */
    _Atomic uint64_t sum_bits;                          /* histogram sum, double bits */
};

static struct metrics_series registry[METRICS_MAX_SERIES];
static size_t registered; /* slots in use; written only by registration and reset */

static const char *const kind_names[] = {
    [KIND_COUNTER] = "counter", [KIND_GAUGE] = "gauge", [KIND_HISTOGRAM] = "histogram"};

/* Returns the bit pattern of d. */
static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

/* Returns the double whose bit pattern is u. */
static double bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

/* Atomically adds delta to the double stored as bits at *target. */
static void atomic_add_double(_Atomic uint64_t *target, double delta)
{
    uint64_t old = atomic_load_explicit(target, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(target, &old,
                                                  double_bits(bits_double(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed)) {
        /* old now holds the current value; try again */
    }
}

/* Returns true if name is a valid Prometheus metric name. */
static bool valid_name(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (p != name && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* Returns true if histogram s has exactly these bounds. */
static bool same_bounds(const struct metrics_series *s, const double *bounds, size_t nbuckets)
{
    if (s->nbuckets != nbuckets)
        return false;
    for (size_t i = 0; i < nbuckets; i++) {
        if (s->bounds[i] != bounds[i])
            return false;
    }
    return true;
}

/* Registers a series of the given kind. Returns the new (or identical existing) series, or
 * NULL when the arguments are invalid, conflict with an existing series or the registry is
 * full. */
static metrics_series *register_series(enum metric_kind kind, const char *name, const char *help,
                                       const char *labels, const double *bounds,
                                       size_t nbuckets)
{
    if (!help)
        help = "";
    if (!labels)
        labels = "";
    if (!valid_name(name) || strlen(name) >= NAME_MAX_LEN || strlen(help) >= HELP_MAX_LEN ||
        strlen(labels) >= LABELS_MAX_LEN || strchr(labels, '\n'))
        return NULL;
    if (kind == KIND_HISTOGRAM) {
        if (nbuckets > METRICS_MAX_BUCKETS || (nbuckets > 0 && !bounds))
            return NULL;
        for (size_t i = 0; i < nbuckets; i++) {
            if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i])))
                return NULL;
        }
    }

    for (size_t i = 0; i < registered; i++) {
        struct metrics_series *s = &registry[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (s->kind != kind || strcmp(s->help, help) != 0)
            return NULL;
        if (strcmp(s->labels, labels) == 0) {
            if (kind == KIND_HISTOGRAM && !same_bounds(s, bounds, nbuckets))
                return NULL;
            return s;
        }
    }
    if (registered >= METRICS_MAX_SERIES)
        return NULL;

    struct metrics_series *s = &registry[registered];
    s->kind = kind;
    snprintf(s->name, sizeof(s->name), "%s", name); /* lengths were checked above */
    snprintf(s->help, sizeof(s->help), "%s", help);
    snprintf(s->labels, sizeof(s->labels), "%s", labels);
    atomic_store_explicit(&s->value, kind == KIND_GAUGE ? double_bits(0.0) : 0,
                          memory_order_relaxed);
    s->nbuckets = kind == KIND_HISTOGRAM ? nbuckets : 0;
    for (size_t i = 0; i < METRICS_MAX_BUCKETS; i++)
        s->bounds[i] = i < s->nbuckets ? bounds[i] : 0.0;
    for (size_t i = 0; i <= METRICS_MAX_BUCKETS; i++)
        atomic_store_explicit(&s->buckets[i], 0, memory_order_relaxed);
    atomic_store_explicit(&s->sum_bits, double_bits(0.0), memory_order_relaxed);
    registered++;
    return s;
}

metrics_series *metrics_counter(const char *name, const char *help, const char *labels)
{
    return register_series(KIND_COUNTER, name, help, labels, NULL, 0);
}

metrics_series *metrics_gauge(const char *name, const char *help, const char *labels)
{
    return register_series(KIND_GAUGE, name, help, labels, NULL, 0);
}

metrics_series *metrics_histogram(const char *name, const char *help, const char *labels,
                                  const double *bounds, size_t nbuckets)
{
    return register_series(KIND_HISTOGRAM, name, help, labels, bounds, nbuckets);
}

/* Counters and gauges go up by one; histograms ignore it. */
void metrics_inc(metrics_series *s) { metrics_add(s, 1); }

/* Counters and gauges go up by n; histograms ignore it. */
void metrics_add(metrics_series *s, uint64_t n)
{
    if (!s)
        return;
    if (s->kind == KIND_COUNTER)
        atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
    else if (s->kind == KIND_GAUGE)
        atomic_add_double(&s->value, (double)n);
}

/* Gauges only: counters never go down, histograms observe. */
void metrics_set(metrics_series *s, double value)
{
    if (s && s->kind == KIND_GAUGE)
        atomic_store_explicit(&s->value, double_bits(value), memory_order_relaxed);
}

/* Histograms only. The value lands in the first bucket whose bound is >= value (Prometheus
 * "le" is inclusive); larger values and NaN land in +Inf. */
void metrics_observe(metrics_series *s, double value)
{
    if (!s || s->kind != KIND_HISTOGRAM)
        return;
    size_t i = 0;
    while (i < s->nbuckets && !(value <= s->bounds[i]))
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&s->sum_bits, value);
}

/* Returns the count of a counter, the value of a gauge, the number of observations of a
 * histogram, or 0 for NULL. */
double metrics_value(const metrics_series *s)
{
    if (!s)
        return 0.0;
    if (s->kind == KIND_COUNTER)
        return (double)atomic_load_explicit(&s->value, memory_order_relaxed);
    if (s->kind == KIND_GAUGE)
        return bits_double(atomic_load_explicit(&s->value, memory_order_relaxed));
    uint64_t total = 0;
    for (size_t i = 0; i <= s->nbuckets; i++)
        total += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    return (double)total;
}

/* ---- rendering ---- */

struct text {
    char *data;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed; everything after is dropped */
};

/* Appends n bytes of s. */
static void put_n(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

/* Appends the string s. */
static void put(struct text *t, const char *s) { put_n(t, s, strlen(s)); }

/* Appends help text escaped for a HELP line (backslash and newline). */
static void put_help(struct text *t, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(t, "\\\\");
        else if (*s == '\n')
            put(t, "\\n");
        else
            put_n(t, s, 1);
    }
}

/* Appends v in decimal. */
static void put_u64(struct text *t, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    put(t, buf);
}

/* Writes v into buf (at least 32 bytes) as Prometheus parses it: "+Inf", "-Inf", "NaN", whole
 * numbers below 1e15 without exponent or decimals ("3", "-42"), anything else in the shortest
 * %g form that reads back as the same double ("0.001", "2.5", "1e+20"). Returns buf. */
static const char *format_double(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (v == 0.0) {
        snprintf(buf, size, "0"); /* also for -0 */
    } else if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v) {
        snprintf(buf, size, "%" PRId64, (int64_t)v);
    } else {
        for (int precision = 15; precision <= 17; precision++) {
            snprintf(buf, size, "%.*g", precision, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
    return buf;
}

/* Appends v formatted by format_double. */
static void put_double(struct text *t, double v)
{
    char buf[40];
    put(t, format_double(buf, sizeof(buf), v));
}

/* Appends "name<suffix>{labels[,extra]}" (no braces when there is nothing inside them). */
static void put_series_name(struct text *t, const struct metrics_series *s, const char *suffix,
                            const char *extra)
{
    put(t, s->name);
    put(t, suffix);
    bool have_labels = s->labels[0] != '\0';
    if (!have_labels && !extra)
        return;
    put(t, "{");
    put(t, s->labels);
    if (extra) {
        if (have_labels)
            put(t, ",");
        put(t, extra);
    }
    put(t, "}");
}

/* Appends the cumulative buckets, _sum and _count of histogram s. */
static void render_histogram(struct text *t, const struct metrics_series *s)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= s->nbuckets; i++) {
        char bound[40], le[48];
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < s->nbuckets)
            format_double(bound, sizeof(bound), s->bounds[i]);
        else
            snprintf(bound, sizeof(bound), "+Inf");
        snprintf(le, sizeof(le), "le=\"%s\"", bound);
        put_series_name(t, s, "_bucket", le);
        put(t, " ");
        put_u64(t, cumulative);
        put(t, "\n");
    }
    put_series_name(t, s, "_sum", NULL);
    put(t, " ");
    put_double(t, bits_double(atomic_load_explicit(&s->sum_bits, memory_order_relaxed)));
    put(t, "\n");
    put_series_name(t, s, "_count", NULL);
    put(t, " ");
    put_u64(t, cumulative);
    put(t, "\n");
}

/* Appends the sample line(s) of s. */
static void render_series(struct text *t, const struct metrics_series *s)
{
    if (s->kind == KIND_HISTOGRAM) {
        render_histogram(t, s);
        return;
    }
    put_series_name(t, s, "", NULL);
    put(t, " ");
    if (s->kind == KIND_COUNTER)
        put_u64(t, atomic_load_explicit(&s->value, memory_order_relaxed));
    else
        put_double(t, bits_double(atomic_load_explicit(&s->value, memory_order_relaxed)));
    put(t, "\n");
}

/* Returns the rendered exposition (caller frees) with its length in *len, or NULL. Each name
 * gets one HELP and TYPE block, at the place it was first registered, followed by all of its
 * series in registration order. */
char *metrics_render(size_t *len)
{
    struct text t = {0};
    put(&t, ""); /* an empty registry renders as "" rather than NULL */

    for (size_t i = 0; i < registered; i++) {
        const struct metrics_series *s = &registry[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(registry[j].name, s->name) == 0;
        if (seen)
            continue;

        put(&t, "# HELP ");
        put(&t, s->name);
        put(&t, " ");
        put_help(&t, s->help);
        put(&t, "\n# TYPE ");
        put(&t, s->name);
        put(&t, " ");
        put(&t, kind_names[s->kind]);
        put(&t, "\n");
        for (size_t j = i; j < registered; j++) {
            if (strcmp(registry[j].name, s->name) == 0)
                render_series(&t, &registry[j]);
        }
    }

    if (t.failed) {
        free(t.data);
        return NULL;
    }
    if (len)
        *len = t.len;
    return t.data;
}

/* Forgets every series; their slots are re-initialised when registered again. */
void metrics_reset(void)
{
    for (size_t i = 0; i < registered; i++)
        registry[i].name[0] = '\0';
    registered = 0;
}
