/* test_metrics.c — unit tests for shared/metrics.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* Each test starts from an empty registry. */
static int reset_registry(void **state)
{
    (void)state;
    metrics_reset();
    return 0;
}

/* Renders the registry and compares it with want, checking the reported length. */
static void assert_render(const char *want)
{
    size_t len = 12345;
    char *got = metrics_render(&len);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        print_error("rendered:\n%s\nwanted:\n%s\n", got, want);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
}

static void test_empty(void **state)
{
    (void)state;
    assert_render("");
    char *text = metrics_render(NULL); /* len may be NULL */
    assert_non_null(text);
    assert_string_equal(text, "");
    free(text);
}

static void test_counter(void **state)
{
    (void)state;
    metrics_series *ok = metrics_counter("gungnir_webhook_requests_total", "Admission requests.",
                                         "path=\"/mutate\",result=\"ok\"");
    metrics_series *denied = metrics_counter("gungnir_webhook_requests_total",
                                             "Admission requests.",
                                             "path=\"/validate\",result=\"denied\"");
    metrics_series *plain = metrics_counter("gungnir_reconciles_total", "Reconciles.", NULL);
    assert_non_null(ok);
    assert_non_null(denied);
    assert_non_null(plain);

    for (int i = 0; i < 5; i++)
        metrics_inc(ok);
    metrics_add(denied, 1000000000000ULL);
    metrics_add(plain, 0);

    assert_true(metrics_value(ok) == 5.0);
    assert_true(metrics_value(denied) == 1e12);
    assert_true(metrics_value(plain) == 0.0);
    assert_render("# HELP gungnir_webhook_requests_total Admission requests.\n"
                  "# TYPE gungnir_webhook_requests_total counter\n"
                  "gungnir_webhook_requests_total{path=\"/mutate\",result=\"ok\"} 5\n"
                  "gungnir_webhook_requests_total{path=\"/validate\",result=\"denied\"} "
                  "1000000000000\n"
                  "# HELP gungnir_reconciles_total Reconciles.\n"
                  "# TYPE gungnir_reconciles_total counter\n"
                  "gungnir_reconciles_total 0\n");
}

static void test_counter_large(void **state)
{
    (void)state;
    metrics_series *c = metrics_counter("big_total", "Big.", "");
    metrics_add(c, UINT64_MAX - 1);
    metrics_inc(c);
    assert_render("# HELP big_total Big.\n"
                  "# TYPE big_total counter\n"
                  "big_total 18446744073709551615\n");
}

static void test_gauge(void **state)
{
    (void)state;
    static const struct {
        double value;
        const char *text;
    } cases[] = {
        {0.0, "0"},
        {-0.0, "0"},
        {1.0, "1"},
        {-3.0, "-3"},
        {2.5, "2.5"},
        {0.1, "0.1"},
        {0.001, "0.001"},
        {123456789012.0, "123456789012"},
        {999999999999999.0, "999999999999999"},
        {1e15, "1e+15"},
        {1e20, "1e+20"},
        {-1.5e-7, "-1.5e-07"},
        {1.0 / 3.0, "0.3333333333333333"},
        {0.1 + 0.2, "0.30000000000000004"},
        {HUGE_VAL, "+Inf"},
        {-HUGE_VAL, "-Inf"},
        {NAN, "NaN"},
    };
    metrics_series *g = metrics_gauge("gungnir_leader", "1 when this replica leads.", NULL);
    assert_non_null(g);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[256];
        snprintf(want, sizeof(want),
                 "# HELP gungnir_leader 1 when this replica leads.\n"
                 "# TYPE gungnir_leader gauge\n"
                 "gungnir_leader %s\n",
                 cases[i].text);
        metrics_set(g, cases[i].value);
        assert_render(want);
        if (!isnan(cases[i].value))
            assert_true(metrics_value(g) == cases[i].value);
        /* Whatever is printed must read back as the same double. */
        if (isfinite(cases[i].value))
            assert_true(strtod(cases[i].text, NULL) == cases[i].value);
    }

    /* A gauge can also be counted up. */
    metrics_set(g, 1.5);
    metrics_inc(g);
    metrics_add(g, 10);
    assert_true(metrics_value(g) == 12.5);
}

static void test_gauge_labels(void **state)
{
    (void)state;
    metrics_series *a = metrics_gauge("gungnir_cluster_replicas", "Ready replicas.",
                                      "namespace=\"default\",name=\"cache\"");
    metrics_series *b = metrics_gauge("gungnir_cluster_replicas", "Ready replicas.", "");
    metrics_set(a, 3);
    metrics_set(b, -1);
    assert_render("# HELP gungnir_cluster_replicas Ready replicas.\n"
                  "# TYPE gungnir_cluster_replicas gauge\n"
                  "gungnir_cluster_replicas{namespace=\"default\",name=\"cache\"} 3\n"
                  "gungnir_cluster_replicas -1\n");
}

static void test_histogram(void **state)
{
    (void)state;
    static const double bounds[] = {0.001, 0.25, 1, 2.5};
    metrics_series *h = metrics_histogram("gungnir_webhook_duration_seconds", "Latency.",
                                          "path=\"/mutate\"", bounds, 4);
    metrics_series *bare = metrics_histogram("gungnir_webhook_duration_seconds", "Latency.",
                                             NULL, bounds, 4);
    assert_non_null(h);
    assert_non_null(bare);

    /* 0.25 and 1 sit exactly on bounds: "le" is inclusive. */
    static const double observed[] = {0.25, 0.125, 1, 2, 4, 8};
    for (size_t i = 0; i < sizeof(observed) / sizeof(observed[0]); i++)
        metrics_observe(h, observed[i]);
    metrics_observe(bare, 0.0005);

    assert_true(metrics_value(h) == 6.0);
    assert_true(metrics_value(bare) == 1.0);
    assert_render(
        "# HELP gungnir_webhook_duration_seconds Latency.\n"
        "# TYPE gungnir_webhook_duration_seconds histogram\n"
        "gungnir_webhook_duration_seconds_bucket{path=\"/mutate\",le=\"0.001\"} 0\n"
        "gungnir_webhook_duration_seconds_bucket{path=\"/mutate\",le=\"0.25\"} 2\n"
        "gungnir_webhook_duration_seconds_bucket{path=\"/mutate\",le=\"1\"} 3\n"
        "gungnir_webhook_duration_seconds_bucket{path=\"/mutate\",le=\"2.5\"} 4\n"
        "gungnir_webhook_duration_seconds_bucket{path=\"/mutate\",le=\"+Inf\"} 6\n"
        "gungnir_webhook_duration_seconds_sum{path=\"/mutate\"} 15.375\n"
        "gungnir_webhook_duration_seconds_count{path=\"/mutate\"} 6\n"
        "gungnir_webhook_duration_seconds_bucket{le=\"0.001\"} 1\n"
        "gungnir_webhook_duration_seconds_bucket{le=\"0.25\"} 1\n"
        "gungnir_webhook_duration_seconds_bucket{le=\"1\"} 1\n"
        "gungnir_webhook_duration_seconds_bucket{le=\"2.5\"} 1\n"
        "gungnir_webhook_duration_seconds_bucket{le=\"+Inf\"} 1\n"
        "gungnir_webhook_duration_seconds_sum 0.0005\n"
        "gungnir_webhook_duration_seconds_count 1\n");
}

static void test_histogram_edge_cases(void **state)
{
    (void)state;
    /* No bounds at all: only +Inf. */
    metrics_series *h = metrics_histogram("only_inf", "Only +Inf.", NULL, NULL, 0);
    assert_non_null(h);
    metrics_observe(h, -2);
    metrics_observe(h, 3);
    /* Negative bounds, NaN and infinities. */
    static const double bounds[] = {-1, 0};
    metrics_series *n = metrics_histogram("signed", "Signed.", "k=\"v\"", bounds, 2);
    assert_non_null(n);
    metrics_observe(n, -5);
    metrics_observe(n, -1);
    metrics_observe(n, -0.5);
    metrics_observe(n, 0);
    metrics_observe(n, -HUGE_VAL);
    metrics_observe(n, 1);
    assert_render("# HELP only_inf Only +Inf.\n"
                  "# TYPE only_inf histogram\n"
                  "only_inf_bucket{le=\"+Inf\"} 2\n"
                  "only_inf_sum 1\n"
                  "only_inf_count 2\n"
                  "# HELP signed Signed.\n"
                  "# TYPE signed histogram\n"
                  "signed_bucket{k=\"v\",le=\"-1\"} 3\n"
                  "signed_bucket{k=\"v\",le=\"0\"} 5\n"
                  "signed_bucket{k=\"v\",le=\"+Inf\"} 6\n"
                  "signed_sum{k=\"v\"} -Inf\n"
                  "signed_count{k=\"v\"} 6\n");

    /* NaN goes to +Inf and makes the sum NaN. */
    metrics_observe(h, NAN);
    size_t len;
    char *text = metrics_render(&len);
    assert_non_null(text);
    assert_non_null(strstr(text, "only_inf_bucket{le=\"+Inf\"} 3\n"
                                 "only_inf_sum NaN\n"
                                 "only_inf_count 3\n"));
    free(text);

    /* The most buckets allowed. */
    double many[METRICS_MAX_BUCKETS + 1];
    for (size_t i = 0; i <= METRICS_MAX_BUCKETS; i++)
        many[i] = (double)i;
    assert_non_null(metrics_histogram("many", "Many.", NULL, many, METRICS_MAX_BUCKETS));
    assert_null(metrics_histogram("too_many", "Too many.", NULL, many, METRICS_MAX_BUCKETS + 1));
}

static void test_interleaved_grouping(void **state)
{
    (void)state;
    static const double bounds[] = {1};
    metrics_series *a1 = metrics_counter("a_total", "A.", "x=\"1\"");
    metrics_series *b1 = metrics_gauge("b", "B.", NULL);
    metrics_series *h1 = metrics_histogram("h", "H.", "x=\"1\"", bounds, 1);
    metrics_series *a2 = metrics_counter("a_total", "A.", "x=\"2\"");
    metrics_series *c1 = metrics_counter("c_total", "C.", NULL);
    metrics_series *h2 = metrics_histogram("h", "H.", "x=\"2\"", bounds, 1);
    metrics_series *b2 = metrics_gauge("b", "B.", "y=\"z\"");
    metrics_series *a3 = metrics_counter("a_total", "A.", "x=\"3\"");
    assert_non_null(a1);
    assert_non_null(b1);
    assert_non_null(h1);
    assert_non_null(a2);
    assert_non_null(c1);
    assert_non_null(h2);
    assert_non_null(b2);
    assert_non_null(a3);
    metrics_inc(a1);
    metrics_add(a2, 2);
    metrics_add(a3, 3);
    metrics_set(b1, 4);
    metrics_set(b2, 5);
    metrics_add(c1, 6);
    metrics_observe(h2, 0.5);
    assert_render("# HELP a_total A.\n"
                  "# TYPE a_total counter\n"
                  "a_total{x=\"1\"} 1\n"
                  "a_total{x=\"2\"} 2\n"
                  "a_total{x=\"3\"} 3\n"
                  "# HELP b B.\n"
                  "# TYPE b gauge\n"
                  "b 4\n"
                  "b{y=\"z\"} 5\n"
                  "# HELP h H.\n"
                  "# TYPE h histogram\n"
                  "h_bucket{x=\"1\",le=\"1\"} 0\n"
                  "h_bucket{x=\"1\",le=\"+Inf\"} 0\n"
                  "h_sum{x=\"1\"} 0\n"
                  "h_count{x=\"1\"} 0\n"
                  "h_bucket{x=\"2\",le=\"1\"} 1\n"
                  "h_bucket{x=\"2\",le=\"+Inf\"} 1\n"
                  "h_sum{x=\"2\"} 0.5\n"
                  "h_count{x=\"2\"} 1\n"
                  "# HELP c_total C.\n"
                  "# TYPE c_total counter\n"
                  "c_total 6\n");
}

static void test_help_escaping(void **state)
{
    (void)state;
    assert_non_null(metrics_counter("esc_total", "back\\slash and\nnewline", NULL));
    assert_non_null(metrics_counter("nohelp_total", NULL, NULL));
    assert_render("# HELP esc_total back\\\\slash and\\nnewline\n"
                  "# TYPE esc_total counter\n"
                  "esc_total 0\n"
                  "# HELP nohelp_total \n"
                  "# TYPE nohelp_total counter\n"
                  "nohelp_total 0\n");
}

static void test_null_series(void **state)
{
    (void)state;
    metrics_inc(NULL);
    metrics_add(NULL, 5);
    metrics_set(NULL, 1.0);
    metrics_observe(NULL, 1.0);
    assert_true(metrics_value(NULL) == 0.0);
    assert_render("");
}

static void test_wrong_kind_updates_ignored(void **state)
{
    (void)state;
    static const double bounds[] = {1};
    metrics_series *c = metrics_counter("c_total", "C.", NULL);
    metrics_series *h = metrics_histogram("h", "H.", NULL, bounds, 1);
    metrics_inc(c);
    metrics_set(c, 100);     /* counters never go down or jump */
    metrics_observe(c, 100); /* not a histogram */
    metrics_inc(h);
    metrics_add(h, 7);
    metrics_set(h, 3);
    assert_true(metrics_value(c) == 1.0);
    assert_true(metrics_value(h) == 0.0);
}

static void test_invalid_registration(void **state)
{
    (void)state;
    static const double ascending[] = {1, 2};
    static const double unsorted[] = {2, 1};
    static const double repeated[] = {1, 1};
    static const double with_nan[] = {1, NAN};
    static const double with_inf[] = {1, HUGE_VAL};

    assert_null(metrics_counter(NULL, "x", NULL));
    assert_null(metrics_counter("", "x", NULL));
    assert_null(metrics_counter("1abc", "x", NULL));
    assert_null(metrics_counter("has-dash", "x", NULL));
    assert_null(metrics_counter("has space", "x", NULL));
    assert_non_null(metrics_counter("ok:name_2", "x", NULL));
    assert_non_null(metrics_counter("_leading", "x", NULL));

    assert_null(metrics_histogram("h1", "x", NULL, unsorted, 2));
    assert_null(metrics_histogram("h2", "x", NULL, repeated, 2));
    assert_null(metrics_histogram("h3", "x", NULL, with_nan, 2));
    assert_null(metrics_histogram("h4", "x", NULL, with_inf, 2));
    assert_null(metrics_histogram("h5", "x", NULL, NULL, 2));

    /* Too long for the fixed buffers. */
    char long_text[2048];
    memset(long_text, 'a', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    assert_null(metrics_counter(long_text, "x", NULL));
    assert_null(metrics_counter("long_help", long_text, NULL));
    assert_null(metrics_counter("long_labels", "x", long_text));
    assert_null(metrics_counter("newline_labels", "x", "a=\"1\"\nb=\"2\""));

    /* A name keeps its type and help. */
    metrics_series *c = metrics_counter("shared_total", "Shared.", "a=\"1\"");
    assert_non_null(c);
    assert_null(metrics_gauge("shared_total", "Shared.", "a=\"2\""));
    assert_null(metrics_histogram("shared_total", "Shared.", "a=\"2\"", ascending, 2));
    assert_null(metrics_counter("shared_total", "Other help.", "a=\"2\""));

    /* The same series registered twice is one series. */
    assert_ptr_equal(metrics_counter("shared_total", "Shared.", "a=\"1\""), c);
    metrics_series *h = metrics_histogram("hist", "H.", NULL, ascending, 2);
    assert_non_null(h);
    assert_ptr_equal(metrics_histogram("hist", "H.", NULL, ascending, 2), h);
    assert_null(metrics_histogram("hist", "H.", NULL, ascending, 1));

    /* None of the refusals left anything behind. */
    assert_render("# HELP ok:name_2 x\n"
                  "# TYPE ok:name_2 counter\n"
                  "ok:name_2 0\n"
                  "# HELP _leading x\n"
                  "# TYPE _leading counter\n"
                  "_leading 0\n"
                  "# HELP shared_total Shared.\n"
                  "# TYPE shared_total counter\n"
                  "shared_total{a=\"1\"} 0\n"
                  "# HELP hist H.\n"
                  "# TYPE hist histogram\n"
                  "hist_bucket{le=\"1\"} 0\n"
                  "hist_bucket{le=\"2\"} 0\n"
                  "hist_bucket{le=\"+Inf\"} 0\n"
                  "hist_sum 0\n"
                  "hist_count 0\n");
}

/* No cap: 5,000 series (far past the old fixed table of 1024) all register, are found again by
 * name and labels, and render under one HELP and TYPE block. */
static void test_registry_grows(void **state)
{
    (void)state;
    enum { N = 5000 };
    metrics_series **all = calloc(N, sizeof(*all));
    assert_non_null(all);
    for (int i = 0; i < N; i++) {
        char labels[32];
        snprintf(labels, sizeof(labels), "i=\"%d\"", i);
        all[i] = metrics_counter("many_total", "Many.", labels);
        assert_non_null(all[i]);
        metrics_add(all[i], (uint64_t)i);
    }
    assert_non_null(metrics_gauge("another", "Another.", NULL));
    /* The same name and labels are the same series. */
    assert_ptr_equal(metrics_counter("many_total", "Many.", "i=\"7\""), all[7]);
    assert_ptr_equal(metrics_counter("many_total", "Many.", "i=\"4999\""), all[4999]);

    size_t len;
    char *text = metrics_render(&len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    for (int i = 0; i < N; i++) {
        char line[64];
        snprintf(line, sizeof(line), "many_total{i=\"%d\"} %d\n", i, i);
        if (!strstr(text, line))
            fail_msg("series %d is missing from the render", i);
    }
    assert_non_null(strstr(text, "another 0\n"));
    /* One HELP line for all the series of a name. */
    assert_ptr_equal(strstr(text, "# HELP many_total"), text);
    assert_null(strstr(text + 1, "# HELP many_total"));
    assert_null(strstr(text, "gungnir_metrics_registration_failures_total"));
    free(text);
    free(all);
}

/* ---- registration from many threads while another renders -------------------------------- */

#define REG_THREADS 4
#define REG_PER_THREAD 600 /* 2,400 series of each name in all: past the old cap of 1024 */

struct reg_args {
    int id;
    int failures; /* NULL handles, or a second registration that gave another handle */
};

/* Registers REG_PER_THREAD counters and gauges of its own (the way a reconcile worker registers
 * per-cluster series), updates them, and registers each again. */
static void *registrar(void *arg)
{
    struct reg_args *a = arg;
    for (int i = 0; i < REG_PER_THREAD; i++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "namespace=\"t%d\",valkeycluster=\"c%d\"", a->id, i);
        metrics_series *c = metrics_counter("conc_total", "Concurrent.", labels);
        metrics_series *g = metrics_gauge("conc_gauge", "Concurrent gauge.", labels);
        if (!c || !g) {
            a->failures++;
            continue;
        }
        metrics_add(c, (uint64_t)i);
        metrics_set(g, (double)i);
        if (metrics_counter("conc_total", "Concurrent.", labels) != c ||
            metrics_gauge("conc_gauge", "Concurrent gauge.", labels) != g)
            a->failures++;
    }
    return NULL;
}

/* How many lines of text start with prefix. */
static size_t lines_starting(const char *text, const char *prefix)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *line = text; *line;) {
        if (strncmp(line, prefix, plen) == 0)
            n++;
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return n;
}

struct render_args {
    _Atomic int stop;
    bool removals; /* series are also removed meanwhile: their count may go down */
    int renders, bad; /* renders done; renders that were malformed or went backwards */
};

/* Renders until told to stop. Each render must be whole: a well-formed exposition (every line
 * a HELP, a TYPE or a sample ending in a number), one HELP per name, and never fewer series
 * than the render before (series are only added). cmocka's asserts stay on the main thread. */
static void *watcher(void *arg)
{
    struct render_args *a = arg;
    size_t last = 0;
    while (!atomic_load(&a->stop) || a->renders == 0) {
        size_t len;
        char *text = metrics_render(&len);
        a->renders++;
        if (!text || strlen(text) != len) {
            a->bad++;
            free(text);
            continue;
        }
        size_t n = lines_starting(text, "conc_total{");
        if ((n < last && !a->removals) || lines_starting(text, "# HELP conc_total ") > 1 ||
            lines_starting(text, "# HELP conc_gauge ") > 1 ||
            lines_starting(text, "conc_gauge{") > REG_THREADS * REG_PER_THREAD)
            a->bad++;
        last = n;
        for (const char *line = text; *line;) {
            const char *nl = strchr(line, '\n');
            if (!nl || (line[0] != '#' && !(nl[-1] >= '0' && nl[-1] <= '9'))) {
                a->bad++;
                break;
            }
            line = nl + 1;
        }
        free(text);
    }
    return NULL;
}

static void test_concurrent_registration_and_render(void **state)
{
    (void)state;
    pthread_t threads[REG_THREADS], render_thread;
    struct reg_args args[REG_THREADS];
    struct render_args r = {.renders = 0};
    atomic_init(&r.stop, 0);
    assert_non_null(metrics_counter("before_total", "Registered before.", NULL));
    assert_int_equal(pthread_create(&render_thread, NULL, watcher, &r), 0);
    for (int i = 0; i < REG_THREADS; i++) {
        args[i] = (struct reg_args){.id = i};
        assert_int_equal(pthread_create(&threads[i], NULL, registrar, &args[i]), 0);
    }
    for (int i = 0; i < REG_THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
    atomic_store(&r.stop, 1);
    assert_int_equal(pthread_join(render_thread, NULL), 0);
    assert_true(r.renders > 0);
    assert_int_equal(r.bad, 0);

    /* Every series of every thread is rendered once, with its value. */
    size_t len;
    char *text = metrics_render(&len);
    assert_non_null(text);
    assert_int_equal(lines_starting(text, "conc_total{"), REG_THREADS * REG_PER_THREAD);
    assert_int_equal(lines_starting(text, "conc_gauge{"), REG_THREADS * REG_PER_THREAD);
    assert_int_equal(lines_starting(text, "# HELP conc_total "), 1);
    assert_int_equal(lines_starting(text, "# HELP conc_gauge "), 1);
    for (int t = 0; t < REG_THREADS; t++) {
        for (int i = 0; i < REG_PER_THREAD; i += 37) {
            char line[128];
            snprintf(line, sizeof(line), "conc_gauge{namespace=\"t%d\",valkeycluster=\"c%d\"} %d\n", t, i, i);
            if (!strstr(text, line))
                fail_msg("missing: %s", line);
        }
    }
    free(text);
}

/* ---- removal --------------------------------------------------------------------------- */

static metrics_series *pods_gauge(const char *ns, const char *name, const char *role)
{
    char labels[160];
    snprintf(labels, sizeof(labels), "namespace=\"%s\",valkeycluster=\"%s\",role=\"%s\"", ns, name, role);
    return metrics_gauge("gungnir_valkeycluster_pods", "Pods.", labels);
}

struct hammer_args {
    metrics_series *s;
    _Atomic int stop;
};

/* Updates one handle until told to stop: a reconcile still holding it while it is removed. */
static void *hammer(void *arg)
{
    struct hammer_args *a = arg;
    while (!atomic_load(&a->stop))
        metrics_add(a->s, 1);
    return NULL;
}

/* Removing a cluster's series drops exactly them from the render, of every name, and keeps
 * the other clusters' (same name in another namespace, a name that merely starts the same);
 * a handle updated while it is removed stays usable; registering again starts from zero. */
static void test_remove_matching(void **state)
{
    (void)state;
    static const char *const roles[] = {"primary", "replica", "none"};
    for (int k = 0; k < 3; k++) {
        metrics_set(pods_gauge("shop", "cache", roles[k]), 1 + k);
        metrics_set(pods_gauge("shop", "cache2", roles[k]), 4);
        metrics_set(pods_gauge("other", "cache", roles[k]), 5);
    }
    metrics_series *dur = metrics_gauge("gungnir_failover_last_duration_seconds", "Duration.",
                                        "namespace=\"shop\",valkeycluster=\"cache\"");
    metrics_set(dur, 2.5);
    metrics_series *alone = metrics_gauge("only_shop", "Only this cluster.",
                                          "valkeycluster=\"cache\",namespace=\"shop\"");
    /* Look-alikes that must stay: a value holding the text of the label, a value with quotes. */
    metrics_series *tricky = metrics_counter("tricky_total", "Tricky.",
                                             "note=\"namespace=\\\"shop\\\",valkeycluster=\\\"cache\\\"\"");
    metrics_series *quoted = metrics_counter("quoted_total", "Quoted.", "k=\"a\\\"b\",namespace=\"shop\"");
    metrics_series *plain = metrics_counter("plain_total", "Plain.", NULL);
    assert_non_null(dur);
    assert_non_null(alone);
    assert_non_null(tricky);
    assert_non_null(quoted);
    assert_non_null(plain);

    struct hammer_args h = {.s = dur};
    atomic_init(&h.stop, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hammer, &h), 0);

    const struct metrics_label cache[] = {{"namespace", "shop"}, {"valkeycluster", "cache"}};
    assert_int_equal(metrics_remove_matching(cache, 2), 5);
    assert_int_equal(metrics_remove_matching(cache, 2), 0); /* nothing left to remove */
    atomic_store(&h.stop, 1);
    assert_int_equal(pthread_join(t, NULL), 0);
    metrics_set(dur, 7); /* still a valid handle, only no longer rendered */
    assert_true(metrics_value(dur) == 7.0);
    assert_int_equal(metrics_remove_matching(cache, 0), 0); /* no labels: removes nothing */

    assert_render("# HELP gungnir_valkeycluster_pods Pods.\n"
                  "# TYPE gungnir_valkeycluster_pods gauge\n"
                  "gungnir_valkeycluster_pods{namespace=\"shop\",valkeycluster=\"cache2\",role=\"primary\"} 4\n"
                  "gungnir_valkeycluster_pods{namespace=\"other\",valkeycluster=\"cache\",role=\"primary\"} 5\n"
                  "gungnir_valkeycluster_pods{namespace=\"shop\",valkeycluster=\"cache2\",role=\"replica\"} 4\n"
                  "gungnir_valkeycluster_pods{namespace=\"other\",valkeycluster=\"cache\",role=\"replica\"} 5\n"
                  "gungnir_valkeycluster_pods{namespace=\"shop\",valkeycluster=\"cache2\",role=\"none\"} 4\n"
                  "gungnir_valkeycluster_pods{namespace=\"other\",valkeycluster=\"cache\",role=\"none\"} 5\n"
                  "# HELP tricky_total Tricky.\n"
                  "# TYPE tricky_total counter\n"
                  "tricky_total{note=\"namespace=\\\"shop\\\",valkeycluster=\\\"cache\\\"\"} 0\n"
                  "# HELP quoted_total Quoted.\n"
                  "# TYPE quoted_total counter\n"
                  "quoted_total{k=\"a\\\"b\",namespace=\"shop\"} 0\n"
                  "# HELP plain_total Plain.\n"
                  "# TYPE plain_total counter\n"
                  "plain_total 0\n");

    /* Values are compared unescaped. */
    const struct metrics_label quote[] = {{"k", "a\"b"}};
    assert_int_equal(metrics_remove_matching(quote, 1), 1);

    /* Registered again: a new series, from zero, rendered again under the old HELP. */
    metrics_series *again = metrics_gauge("gungnir_failover_last_duration_seconds", "Duration.",
                                          "namespace=\"shop\",valkeycluster=\"cache\"");
    assert_non_null(again);
    assert_ptr_not_equal(again, dur);
    assert_true(metrics_value(again) == 0.0);
    assert_ptr_equal(metrics_gauge("gungnir_failover_last_duration_seconds", "Duration.",
                                   "namespace=\"shop\",valkeycluster=\"cache\""),
                     again);
    /* A name keeps its type and help even while it has no series. */
    assert_null(metrics_counter("only_shop", "Something else.", NULL));
    size_t len;
    char *text = metrics_render(&len);
    assert_non_null(text);
    assert_non_null(strstr(text, "gungnir_failover_last_duration_seconds{namespace=\"shop\",valkeycluster=\"cache\"} 0\n"));
    assert_null(strstr(text, "quoted_total"));
    assert_null(strstr(text, "only_shop"));
    free(text);
}

/* Removing while other threads register and render: no crash, and what stays is whole. */
static void test_remove_while_registering(void **state)
{
    (void)state;
    pthread_t threads[REG_THREADS], render_thread;
    struct reg_args args[REG_THREADS];
    struct render_args r = {.removals = true};
    atomic_init(&r.stop, 0);
    assert_int_equal(pthread_create(&render_thread, NULL, watcher, &r), 0);
    for (int i = 0; i < REG_THREADS; i++) {
        args[i] = (struct reg_args){.id = i};
        assert_int_equal(pthread_create(&threads[i], NULL, registrar, &args[i]), 0);
    }
    /* Thread 0's clusters are deleted while they are being registered. */
    size_t removed = 0;
    for (int i = 0; i < REG_PER_THREAD; i++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        const struct metrics_label m[] = {{"namespace", "t0"}, {"valkeycluster", name}};
        removed += metrics_remove_matching(m, 2);
    }
    for (int i = 0; i < REG_THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    atomic_store(&r.stop, 1);
    assert_int_equal(pthread_join(render_thread, NULL), 0);
    assert_int_equal(r.bad, 0);
    (void)removed; /* how many depends on the interleaving */

    const struct metrics_label t0[] = {{"namespace", "t0"}};
    metrics_remove_matching(t0, 1);
    size_t len;
    char *text = metrics_render(&len);
    assert_non_null(text);
    assert_null(strstr(text, "namespace=\"t0\""));
    assert_int_equal(lines_starting(text, "conc_total{"), (REG_THREADS - 1) * REG_PER_THREAD);
    assert_int_equal(lines_starting(text, "conc_gauge{"), (REG_THREADS - 1) * REG_PER_THREAD);
    free(text);
}

static void test_reset(void **state)
{
    (void)state;
    metrics_series *c = metrics_counter("reused", "Was a counter.", NULL);
    metrics_add(c, 41);
    metrics_reset();
    assert_render("");

    /* After a reset a name may come back with another type, and starts from zero. */
    metrics_series *g = metrics_gauge("reused", "Now a gauge.", NULL);
    assert_non_null(g);
    assert_true(metrics_value(g) == 0.0);
    static const double bounds[] = {1};
    metrics_series *h = metrics_histogram("h", "H.", NULL, bounds, 1);
    metrics_observe(h, 0.5);
    metrics_reset();
    h = metrics_histogram("h", "H.", NULL, bounds, 1);
    assert_true(metrics_value(h) == 0.0);
    assert_render("# HELP h H.\n"
                  "# TYPE h histogram\n"
                  "h_bucket{le=\"1\"} 0\n"
                  "h_bucket{le=\"+Inf\"} 0\n"
                  "h_sum 0\n"
                  "h_count 0\n");
}

#define THREADS 4
#define PER_THREAD 100000

struct worker_args {
    metrics_series *counter;
    metrics_series *gauge;
    metrics_series *histogram;
};

static void *worker(void *arg)
{
    const struct worker_args *a = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_inc(a->counter);
        metrics_add(a->gauge, 1);
        metrics_observe(a->histogram, (i % 2) ? 0.5 : 2.0);
    }
    return NULL;
}

/* Renders while the workers update, to exercise concurrent reads. Sets *(int *)arg to the
 * number of renders that failed (cmocka's asserts must stay on the main thread). */
static void *renderer(void *arg)
{
    int *failures = arg;
    for (int i = 0; i < 50; i++) {
        size_t len;
        char *text = metrics_render(&len);
        if (!text || strlen(text) != len)
            (*failures)++;
        free(text);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    static const double bounds[] = {1};
    struct worker_args args = {
        .counter = metrics_counter("t_total", "T.", NULL),
        .gauge = metrics_gauge("t_gauge", "T.", NULL),
        .histogram = metrics_histogram("t_hist", "T.", NULL, bounds, 1),
    };
    pthread_t threads[THREADS + 1];
    int render_failures = 0;
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, worker, &args), 0);
    assert_int_equal(pthread_create(&threads[THREADS], NULL, renderer, &render_failures), 0);
    for (int i = 0; i <= THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(render_failures, 0);

    const double total = (double)THREADS * PER_THREAD;
    assert_true(metrics_value(args.counter) == total);
    assert_true(metrics_value(args.gauge) == total);
    assert_true(metrics_value(args.histogram) == total);
    /* Half of the observations were 0.5, half 2.0: every partial sum is exact in a double. */
    assert_render("# HELP t_total T.\n"
                  "# TYPE t_total counter\n"
                  "t_total 400000\n"
                  "# HELP t_gauge T.\n"
                  "# TYPE t_gauge gauge\n"
                  "t_gauge 400000\n"
                  "# HELP t_hist T.\n"
                  "# TYPE t_hist histogram\n"
                  "t_hist_bucket{le=\"1\"} 200000\n"
                  "t_hist_bucket{le=\"+Inf\"} 400000\n"
                  "t_hist_sum 500000\n"
                  "t_hist_count 400000\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty, reset_registry),
        cmocka_unit_test_setup(test_counter, reset_registry),
        cmocka_unit_test_setup(test_counter_large, reset_registry),
        cmocka_unit_test_setup(test_gauge, reset_registry),
        cmocka_unit_test_setup(test_gauge_labels, reset_registry),
        cmocka_unit_test_setup(test_histogram, reset_registry),
        cmocka_unit_test_setup(test_histogram_edge_cases, reset_registry),
        cmocka_unit_test_setup(test_interleaved_grouping, reset_registry),
        cmocka_unit_test_setup(test_help_escaping, reset_registry),
        cmocka_unit_test_setup(test_null_series, reset_registry),
        cmocka_unit_test_setup(test_wrong_kind_updates_ignored, reset_registry),
        cmocka_unit_test_setup(test_invalid_registration, reset_registry),
        cmocka_unit_test_setup(test_registry_grows, reset_registry),
        cmocka_unit_test_setup(test_concurrent_registration_and_render, reset_registry),
        cmocka_unit_test_setup(test_remove_matching, reset_registry),
        cmocka_unit_test_setup(test_remove_while_registering, reset_registry),
        cmocka_unit_test_setup(test_reset, reset_registry),
        cmocka_unit_test_setup(test_threads, reset_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
