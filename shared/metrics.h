/* metrics.h — a small fixed registry of Prometheus series, rendered in the text exposition
 * format (version 0.0.4). Registration happens at start-up; updates are lock-free atomics and
 * safe from any thread. The registry holds at most METRICS_MAX_SERIES series. */
#ifndef GUNGNIR_METRICS_H
#define GUNGNIR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_SERIES 1024
#define METRICS_MAX_BUCKETS 16

typedef struct metrics_series metrics_series; /* opaque; lives as long as the process */

/* Registers a counter. name: "gungnir_webhook_requests_total"; help: one line; labels: the
 * label set as Prometheus text without braces ("path=\"/mutate\",result=\"allowed\"") or NULL.
 * Series that share a name must share help and type. Returns a borrowed handle, or NULL when
 * the registry is full. Not thread-safe: call before serving. */
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

/* Current value of a counter or gauge (tests). */
double metrics_value(const metrics_series *s);

/* Renders every series. Returns a new NUL-terminated string (free() it) and its length in
 * *len, or NULL on allocation failure. */
char *metrics_render(size_t *len);

/* Drops every series (tests only; not thread-safe). */
void metrics_reset(void);

#endif
