/* metrics.h — the registry of Prometheus series, rendered in the text exposition format
 * (version 0.0.4).
 *
 * Thread safety: every function here may be called from any thread at any time (except
 * metrics_reset). Registration, removal and rendering take one mutex around the registry's
 * structure; the updates (metrics_inc, _add, _set, _observe) are lock-free atomics on a handle.
 *
 * Size: the registry grows as series are registered; there is no cap. When memory runs out a
 * registration returns NULL (every update ignores a NULL handle), is counted in the counter
 * gungnir_metrics_registration_failures_total (rendered once it is not zero) and the first such
 * failure is logged.
 *
 * Handle lifetime: a handle stays valid until metrics_reset, even after its series was removed
 * (metrics_remove_matching). A removed series is only unlinked from the registry, so it is no
 * longer found or rendered; its handle keeps accepting updates that nobody sees, so a thread
 * that looked it up just before the removal never writes to freed memory. Its memory (the value
 * cells, about 64 bytes for a counter or gauge; its label text is freed at once) is kept on a
 * retired list until metrics_reset. Whoever wants the series back registers it again, which
 * makes a new series starting from zero; that is why per-object series are best registered at
 * each update (metrics_set(metrics_gauge(...), v)), as the controller does, rather than cached. */
#ifndef GUNGNIR_METRICS_H
#define GUNGNIR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_BUCKETS 16

typedef struct metrics_series metrics_series; /* opaque; valid until metrics_reset */

/* Registers a counter. name: "gungnir_webhook_requests_total"; help: one line; labels: the
 * label set as Prometheus text without braces ("path=\"/mutate\",result=\"allowed\"") or NULL.
 * Series that share a name must share help and type. Registering the same name and labels
 * again returns the same handle. Returns a borrowed handle, or NULL when the arguments are
 * invalid or conflict with an existing series, or when memory ran out (counted, see above). */
metrics_series *metrics_counter(const char *name, const char *help, const char *labels);

/* Registers a gauge (same rules as metrics_counter). */
metrics_series *metrics_gauge(const char *name, const char *help, const char *labels);

/* Registers a histogram with nbuckets ascending upper bounds (at most METRICS_MAX_BUCKETS;
 * +Inf is implied). */
metrics_series *metrics_histogram(const char *name, const char *help, const char *labels,
                                  const double *bounds, size_t nbuckets);

/* Updates. A NULL series is ignored, so a failed registration never crashes a caller. */
void metrics_inc(metrics_series *s);
void metrics_add(metrics_series *s, uint64_t n);
void metrics_set(metrics_series *s, double value);
void metrics_observe(metrics_series *s, double value);

/* Current value of a counter or gauge, or the observation count of a histogram (tests). */
double metrics_value(const metrics_series *s);

/* One label a series must carry: name="value" (value unescaped, as the caller knows it). */
struct metrics_label {
    const char *name;
    const char *value;
};

/* Removes every series, of any name, whose label set carries all n labels of match (n >= 1;
 * with n == 0 nothing is removed), e.g. {{"namespace", ns}, {"valkeycluster", name}} for the
 * series of one deleted ValkeyCluster. Removed series are no longer rendered or found; their
 * handles stay valid (see the top of this header). A name left with no series renders nothing.
 * Returns how many series were removed. */
size_t metrics_remove_matching(const struct metrics_label *match, size_t n);

/* Renders every series. Returns a new NUL-terminated string (free() it) and its length in
 * *len, or NULL on allocation failure. */
char *metrics_render(size_t *len);

/* Drops and frees every series, removed ones too, and zeroes the failure count: every handle
 * becomes invalid. Tests and process shutdown only, when no other thread uses the registry. */
void metrics_reset(void);

#endif
