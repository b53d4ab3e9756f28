/* metrics.c — the registry of Prometheus series (see metrics.h).
 *
 * The registry is a growing array of families (one per metric name, in the order of their
 * first registration), each with a growing array of its series (in registration order). One
 * mutex guards that structure: registration, removal and rendering hold it; updates do not.
 * Values are C11 atomics updated with relaxed ordering (each value is independent):
 *   counter    a uint64 count
 *   gauge      a double kept as its IEEE-754 bit pattern in a uint64 (set = store; add = CAS)
 *   histogram  one count per bucket (not cumulative; the last is the +Inf bucket) and the sum
 *              as double bits (CAS). The rendered _count is the sum of the bucket counts, so
 *              the +Inf bucket and _count always agree even while observations race a render.
 * What an update reads besides the atomics (kind, nbuckets, bounds, the bucket array) is
 * written once before the handle is first handed out (under the mutex) and never again until
 * metrics_reset, so updates need no lock. A removed series is unlinked from its family and put
 * on the retired list with its label text freed; its cells stay until metrics_reset.
 *
 * Registration rules beyond the header: name must be a valid metric name
 * ([a-zA-Z_:][a-zA-Z0-9_:]*); name, help and labels are at most 127, 511 and 511 characters;
 * labels must not hold a raw newline; histogram bounds must be finite and strictly ascending;
 * series sharing a name must share type and help (a name keeps them while it has no series,
 * until metrics_reset). Otherwise NULL. Registering the same name and labels again returns the
 * existing series (when type, help and bounds agree), so a duplicate never appears in the
 * exposition. */
#include "metrics.h"

#include "log.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 128
#define HELP_MAX_LEN 512
#define LABELS_MAX_LEN 512

#define FAILURES_NAME "gungnir_metrics_registration_failures_total"
#define FAILURES_HELP "Metric series that could not be registered for lack of memory (their updates are lost)."

enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

struct metrics_series {
    enum metric_kind kind;
    char *labels;           /* owned; "" when the series has no labels; NULL once removed */
    _Atomic uint64_t value; /* counter count, or gauge double bits */
    size_t nbuckets;
    double *bounds;             /* histograms: nbuckets bounds (owned), else NULL */
    _Atomic uint64_t *buckets;  /* histograms: nbuckets + 1 counts, [nbuckets] is +Inf (owned) */
    _Atomic uint64_t sum_bits;  /* histogram sum, double bits */
    struct metrics_series *next_retired; /* on the retired list once removed */
};

/* Every series of one name. */
struct family {
    enum metric_kind kind;
    char *name, *help;              /* owned */
    struct metrics_series **series; /* owned array of owned series, registration order */
    size_t nseries, cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct family **families; /* guarded by lock, as is everything below but the atomics */
static size_t nfamilies, families_cap;
static struct metrics_series *retired; /* removed series, freed by metrics_reset */
static _Atomic uint64_t registration_failures;
static atomic_bool failure_logged;

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

/* Returns true if the arguments of a registration are valid (see the top of this file). */
static bool valid_registration(enum metric_kind kind, const char *name, const char *help,
                               const char *labels, const double *bounds, size_t nbuckets)
{
    if (!valid_name(name) || strlen(name) >= NAME_MAX_LEN || strlen(help) >= HELP_MAX_LEN ||
        strlen(labels) >= LABELS_MAX_LEN || strchr(labels, '\n'))
        return false;
    if (kind != KIND_HISTOGRAM)
        return true;
    if (nbuckets > METRICS_MAX_BUCKETS || (nbuckets > 0 && !bounds))
        return false;
    for (size_t i = 0; i < nbuckets; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i])))
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

/* Returns arr grown to hold at least need elements of size elem (capacity doubled, at least
 * 8; *cap updated), arr itself when it is large enough, or NULL when memory ran out (arr and
 * *cap are then unchanged and arr still owned by the caller). */
static void *grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    size_t cap2 = *cap ? *cap : 8;
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2)
            return NULL;
        cap2 *= 2;
    }
    if (cap2 > SIZE_MAX / elem)
        return NULL;
    void *grown = realloc(arr, cap2 * elem);
    if (grown)
        *cap = cap2;
    return grown;
}

/* Returns a new copy of s, or NULL. */
static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

/* Frees s and what it owns. NULL is a no-op. */
static void series_free(struct metrics_series *s)
{
    if (!s)
        return;
    free(s->labels);
    free(s->bounds);
    free(s->buckets);
    free(s);
}

/* Frees f, its series and what they own. */
static void family_free(struct family *f)
{
    for (size_t i = 0; i < f->nseries; i++)
        series_free(f->series[i]);
    free(f->series);
    free(f->name);
    free(f->help);
    free(f);
}

/* Counts a registration refused for lack of memory; logs the first one. Returns NULL. */
static metrics_series *out_of_memory(const char *name)
{
    atomic_fetch_add_explicit(&registration_failures, 1, memory_order_relaxed);
    if (!atomic_exchange(&failure_logged, true))
        log_write(LOG_ERROR, "out of memory: a metrics series was not registered (this is logged once; "
                             "every one is counted in " FAILURES_NAME ")",
                  "name", name, NULL);
    return NULL;
}

/* Returns the family of name, or NULL. Lock held. */
static struct family *family_of(const char *name)
{
    for (size_t i = 0; i < nfamilies; i++) {
        if (strcmp(families[i]->name, name) == 0)
            return families[i];
    }
    return NULL;
}

/* Returns a new family appended to the registry, or NULL when memory ran out. Lock held. */
static struct family *family_add(enum metric_kind kind, const char *name, const char *help)
{
    struct family **grown = grow_array(families, &families_cap, nfamilies + 1, sizeof(*families));
    if (!grown)
        return NULL;
    families = grown;
    struct family *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->kind = kind;
    f->name = copy_string(name);
    f->help = copy_string(help);
    if (!f->name || !f->help) {
        family_free(f);
        return NULL;
    }
    families[nfamilies++] = f;
    return f;
}

/* Returns a new series of f's kind, zeroed, or NULL when memory ran out. */
static struct metrics_series *series_new(const struct family *f, const char *labels,
                                         const double *bounds, size_t nbuckets)
{
    struct metrics_series *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->kind = f->kind;
    s->labels = copy_string(labels);
    atomic_init(&s->value, f->kind == KIND_GAUGE ? double_bits(0.0) : 0);
    atomic_init(&s->sum_bits, double_bits(0.0));
    bool ok = s->labels != NULL;
    if (ok && f->kind == KIND_HISTOGRAM) {
        s->nbuckets = nbuckets;
        s->bounds = nbuckets ? malloc(nbuckets * sizeof(*s->bounds)) : NULL;
        s->buckets = malloc((nbuckets + 1) * sizeof(*s->buckets));
        ok = s->buckets && (s->bounds || nbuckets == 0);
        for (size_t i = 0; ok && i < nbuckets; i++)
            s->bounds[i] = bounds[i];
        for (size_t i = 0; ok && i <= nbuckets; i++)
            atomic_init(&s->buckets[i], 0);
    }
    if (!ok) {
        series_free(s);
        return NULL;
    }
    return s;
}

/* Registers a series under the lock: the existing one of that name and labels, a new one, or
 * NULL (a conflict, or out of memory). */
static metrics_series *register_locked(enum metric_kind kind, const char *name, const char *help,
                                       const char *labels, const double *bounds, size_t nbuckets)
{
    struct family *f = family_of(name);
    if (f && (f->kind != kind || strcmp(f->help, help) != 0))
        return NULL;
    for (size_t i = 0; f && i < f->nseries; i++) {
        struct metrics_series *s = f->series[i];
        if (strcmp(s->labels, labels) == 0) {
            if (kind == KIND_HISTOGRAM && !same_bounds(s, bounds, nbuckets))
                return NULL;
            return s;
        }
    }
    if (!f && !(f = family_add(kind, name, help)))
        return out_of_memory(name);
    struct metrics_series **grown = grow_array(f->series, &f->cap, f->nseries + 1, sizeof(*f->series));
    if (!grown)
        return out_of_memory(name);
    f->series = grown;
    struct metrics_series *s = series_new(f, labels, bounds, nbuckets);
    if (!s)
        return out_of_memory(name);
    assert(f->nseries < f->cap);
    f->series[f->nseries++] = s;
    return s;
}

/* Registers a series of the given kind. Returns the new (or identical existing) series, or
 * NULL when the arguments are invalid, conflict with an existing series or memory ran out. */
static metrics_series *register_series(enum metric_kind kind, const char *name, const char *help,
                                       const char *labels, const double *bounds,
                                       size_t nbuckets)
{
    if (!help)
        help = "";
    if (!labels)
        labels = "";
    if (!valid_registration(kind, name, help, labels, bounds, nbuckets))
        return NULL;
    pthread_mutex_lock(&lock);
    metrics_series *s = register_locked(kind, name, help, labels, bounds, nbuckets);
    pthread_mutex_unlock(&lock);
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
static void put_series_name(struct text *t, const char *name, const struct metrics_series *s,
                            const char *suffix, const char *extra)
{
    put(t, name);
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

/* Appends the cumulative buckets, _sum and _count of histogram s of that name. */
static void render_histogram(struct text *t, const char *name, const struct metrics_series *s)
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
        put_series_name(t, name, s, "_bucket", le);
        put(t, " ");
        put_u64(t, cumulative);
        put(t, "\n");
    }
    put_series_name(t, name, s, "_sum", NULL);
    put(t, " ");
    put_double(t, bits_double(atomic_load_explicit(&s->sum_bits, memory_order_relaxed)));
    put(t, "\n");
    put_series_name(t, name, s, "_count", NULL);
    put(t, " ");
    put_u64(t, cumulative);
    put(t, "\n");
}

/* Appends the sample line(s) of s, a series of that name. */
static void render_series(struct text *t, const char *name, const struct metrics_series *s)
{
    if (s->kind == KIND_HISTOGRAM) {
        render_histogram(t, name, s);
        return;
    }
    put_series_name(t, name, s, "", NULL);
    put(t, " ");
    if (s->kind == KIND_COUNTER)
        put_u64(t, atomic_load_explicit(&s->value, memory_order_relaxed));
    else
        put_double(t, bits_double(atomic_load_explicit(&s->value, memory_order_relaxed)));
    put(t, "\n");
}

/* Appends the HELP and TYPE lines of a name. */
static void put_header(struct text *t, const char *name, const char *help, enum metric_kind kind)
{
    put(t, "# HELP ");
    put(t, name);
    put(t, " ");
    put_help(t, help);
    put(t, "\n# TYPE ");
    put(t, name);
    put(t, " ");
    put(t, kind_names[kind]);
    put(t, "\n");
}

/* Returns the rendered exposition (caller frees) with its length in *len, or NULL. Each name
 * with series gets one HELP and TYPE block, in the order names were first registered, followed
 * by all of its series in registration order; then the registration failures, if any. */
char *metrics_render(size_t *len)
{
    struct text t = {0};
    put(&t, ""); /* an empty registry renders as "" rather than NULL */

    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nfamilies; i++) {
        const struct family *f = families[i];
        if (f->nseries == 0)
            continue;
        put_header(&t, f->name, f->help, f->kind);
        for (size_t j = 0; j < f->nseries; j++) {
            assert(f->series[j]->labels); /* a removed series is never linked */
            render_series(&t, f->name, f->series[j]);
        }
    }
    pthread_mutex_unlock(&lock);

    uint64_t failures = atomic_load_explicit(&registration_failures, memory_order_relaxed);
    if (failures > 0) {
        put_header(&t, FAILURES_NAME, FAILURES_HELP, KIND_COUNTER);
        put(&t, FAILURES_NAME " ");
        put_u64(&t, failures);
        put(&t, "\n");
    }

    if (t.failed) {
        free(t.data);
        return NULL;
    }
    if (len)
        *len = t.len;
    return t.data;
}

/* ---- removal ---- */

/* Reads one label pair of Prometheus label text at *p (name="value", the value escaped with
 * \\, \" and \n), skipping the comma and blanks after it. Writes the name and the unescaped
 * value into name and value (NUL-terminated; labels are at most LABELS_MAX_LEN, so both fit)
 * and advances *p. Returns false at the end or on malformed text. */
static bool next_label(const char **p, char name[LABELS_MAX_LEN], char value[LABELS_MAX_LEN])
{
    const char *c = *p;
    size_t n = 0;
    while (*c == ' ' || *c == ',')
        c++;
    while (*c && *c != '=' && n < LABELS_MAX_LEN - 1)
        name[n++] = *c++;
    name[n] = '\0';
    while (n > 0 && name[n - 1] == ' ')
        name[--n] = '\0';
    if (n == 0 || c[0] != '=' || c[1] != '"')
        return false;
    c += 2;
    n = 0;
    while (*c && *c != '"' && n < LABELS_MAX_LEN - 1) {
        if (*c == '\\' && c[1]) {
            c++;
            value[n++] = *c == 'n' ? '\n' : *c;
        } else {
            value[n++] = *c;
        }
        c++;
    }
    value[n] = '\0';
    if (*c != '"')
        return false;
    *p = c + 1;
    return true;
}

/* Returns true if the label text carries name="value". */
static bool has_label(const char *labels, const char *name, const char *value)
{
    char n[LABELS_MAX_LEN], v[LABELS_MAX_LEN];
    const char *p = labels;
    while (next_label(&p, n, v)) {
        if (strcmp(n, name) == 0)
            return strcmp(v, value) == 0;
    }
    return false;
}

/* Returns true if series s carries every label of match[0..n). */
static bool matches(const struct metrics_series *s, const struct metrics_label *match, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!match[i].name || !match[i].value || !has_label(s->labels, match[i].name, match[i].value))
            return false;
    }
    return true;
}

size_t metrics_remove_matching(const struct metrics_label *match, size_t n)
{
    size_t removed = 0;
    if (n == 0 || !match)
        return 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nfamilies; i++) {
        struct family *f = families[i];
        size_t kept = 0;
        for (size_t j = 0; j < f->nseries; j++) {
            struct metrics_series *s = f->series[j];
            if (!matches(s, match, n)) {
                f->series[kept++] = s;
                continue;
            }
            /* Unlinked, not freed: a caller may still hold the handle (see metrics.h). */
            free(s->labels);
            s->labels = NULL;
            s->next_retired = retired;
            retired = s;
            removed++;
        }
        f->nseries = kept;
    }
    pthread_mutex_unlock(&lock);
    return removed;
}

/* Frees every family, series and retired series; the registry starts empty. */
void metrics_reset(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nfamilies; i++)
        family_free(families[i]);
    free(families);
    families = NULL;
    nfamilies = families_cap = 0;
    while (retired) {
        struct metrics_series *next = retired->next_retired;
        series_free(retired);
        retired = next;
    }
    atomic_store(&registration_failures, 0);
    atomic_store(&failure_logged, false);
    pthread_mutex_unlock(&lock);
}
