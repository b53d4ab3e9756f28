/* test_config.c — unit tests for shared/config.c (command-line flags). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define MAX_ARGS 32

static struct gungnir_config cfg;
static char err[512];

/* Parses the flags in args (NULL-terminated, without the program name) into a defaulted cfg. */
static int parse_args(const char *const *args)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"gungnir";
    for (size_t i = 0; args[i]; i++) {
        assert_true(argc < MAX_ARGS);
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    config_defaults(&cfg);
    err[0] = '\0';
    return config_parse(&cfg, argc, argv, err, sizeof(err));
}

#define PARSE(...) parse_args((const char *const[]){__VA_ARGS__, NULL})

/* Expects the flags to be refused with a message holding part. */
#define REFUSED(part, ...)                                                                        \
    do {                                                                                          \
        int rc_ = PARSE(__VA_ARGS__);                                                             \
        if (rc_ != -1 || !strstr(err, part))                                                      \
            print_error("rc %d, err \"%s\", want \"%s\"\n", rc_, err, part);                     \
        assert_int_equal(rc_, -1);                                                                \
        assert_non_null(strstr(err, part));                                                       \
    } while (0)

static void assert_bind(const struct bind_address *b, bool enabled, const char *host, int port)
{
    assert_int_equal(b->enabled, enabled);
    assert_string_equal(b->host, host);
    assert_int_equal(b->port, port);
}

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(parse_args((const char *const[]){NULL}), 0);
    assert_bind(&cfg.webhook_bind, true, "", 9443);
    assert_bind(&cfg.health_bind, true, "", 8081);
    assert_bind(&cfg.metrics_bind, true, "", 8080);
    assert_string_equal(cfg.webhook_cert_dir, "/tmp/k8s-webhook-server/serving-certs");
    assert_string_equal(cfg.kubeconfig, "");
    assert_false(cfg.disable_controller);
    assert_false(cfg.disable_webhook);
    assert_false(cfg.leader_elect);
    assert_int_equal(cfg.webhook_threads, 0);
    assert_int_equal(cfg.webhook_max_connections, 1024);
    assert_int_equal(cfg.webhook_idle_timeout_s, 60);
    assert_int_equal(cfg.cert_reload_interval_s, 2);
    assert_int_equal(cfg.log_level, LOG_INFO);
}

static void test_every_flag_with_equals(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--webhook-bind-address=127.0.0.1:10443", "--webhook-cert-dir=/etc/certs",
                           "--health-probe-bind-address=:18081", "--metrics-bind-address=0.0.0.0:18080",
                           "--kubeconfig=/home/me/.kube/config", "--disable-controller", "--leader-elect",
                           "--webhook-threads=8", "--webhook-max-connections=4096",
                           "--webhook-idle-timeout=30", "--cert-reload-interval=10", "--log-level=debug"),
                     0);
    assert_bind(&cfg.webhook_bind, true, "127.0.0.1", 10443);
    assert_bind(&cfg.health_bind, true, "", 18081);
    assert_bind(&cfg.metrics_bind, true, "0.0.0.0", 18080);
    assert_string_equal(cfg.webhook_cert_dir, "/etc/certs");
    assert_string_equal(cfg.kubeconfig, "/home/me/.kube/config");
    assert_true(cfg.disable_controller);
    assert_false(cfg.disable_webhook);
    assert_true(cfg.leader_elect);
    assert_int_equal(cfg.webhook_threads, 8);
    assert_int_equal(cfg.webhook_max_connections, 4096);
    assert_int_equal(cfg.webhook_idle_timeout_s, 30);
    assert_int_equal(cfg.cert_reload_interval_s, 10);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
}

static void test_every_flag_with_space(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--webhook-bind-address", ":9444", "--webhook-cert-dir", "/certs",
                           "--health-probe-bind-address", "0", "--metrics-bind-address", "0",
                           "--kubeconfig", "/kc", "--disable-webhook", "--webhook-threads", "2",
                           "--webhook-max-connections", "1", "--webhook-idle-timeout", "3600",
                           "--cert-reload-interval", "1", "--log-level", "error"),
                     0);
    assert_bind(&cfg.webhook_bind, true, "", 9444);
    assert_false(cfg.health_bind.enabled);
    assert_false(cfg.metrics_bind.enabled);
    assert_string_equal(cfg.webhook_cert_dir, "/certs");
    assert_string_equal(cfg.kubeconfig, "/kc");
    assert_true(cfg.disable_webhook);
    assert_int_equal(cfg.webhook_threads, 2);
    assert_int_equal(cfg.webhook_max_connections, 1);
    assert_int_equal(cfg.webhook_idle_timeout_s, 3600);
    assert_int_equal(cfg.cert_reload_interval_s, 1);
    assert_int_equal(cfg.log_level, LOG_ERROR);
}

static void test_bool_flags(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--leader-elect=true"), 0);
    assert_true(cfg.leader_elect);
    assert_int_equal(PARSE("--leader-elect", "--leader-elect=false"), 0);
    assert_false(cfg.leader_elect);
    assert_int_equal(PARSE("--disable-controller=true"), 0);
    assert_true(cfg.disable_controller);
    REFUSED("--leader-elect", "--leader-elect=yes");
    REFUSED("--disable-webhook", "--disable-webhook=1");
    /* A bool flag takes no separate value: the next word is an argument. */
    REFUSED("unexpected argument", "--leader-elect", "false");
}

static void test_log_levels(void **state)
{
    (void)state;
    static const char *const names[] = {"debug", "info", "warn", "error"};
    static const enum log_level levels[] = {LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR};
    for (size_t i = 0; i < 4; i++) {
        char flag[64];
        snprintf(flag, sizeof(flag), "--log-level=%s", names[i]);
        assert_int_equal(PARSE(flag), 0);
        assert_int_equal(cfg.log_level, levels[i]);
    }
    REFUSED("--log-level", "--log-level=verbose");
    REFUSED("--log-level", "--log-level=");
}

static void test_bind_addresses(void **state)
{
    (void)state;
    struct bind_address b;
    assert_int_equal(config_parse_bind(":9443", &b), 0);
    assert_bind(&b, true, "", 9443);
    assert_int_equal(config_parse_bind("10.0.0.1:1", &b), 0);
    assert_bind(&b, true, "10.0.0.1", 1);
    assert_int_equal(config_parse_bind("localhost:65535", &b), 0);
    assert_bind(&b, true, "localhost", 65535);
    assert_int_equal(config_parse_bind("[::1]:8443", &b), 0);
    assert_bind(&b, true, "::1", 8443);
    assert_int_equal(config_parse_bind("[::]:8080", &b), 0);
    assert_bind(&b, true, "::", 8080);
    assert_int_equal(config_parse_bind("0", &b), 0);
    assert_false(b.enabled);

    static const char *const bad[] = {"", "9443", ":", ":0", ":65536", ":-1", ":http", "host:",
                                      ":94x3", ":9443 ", "0.0", "00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (config_parse_bind(bad[i], &b) != -1)
            print_error("\"%s\" accepted\n", bad[i]);
        assert_int_equal(config_parse_bind(bad[i], &b), -1);
    }
    char host[CONFIG_HOST_MAX + 16];
    memset(host, 'h', CONFIG_HOST_MAX);
    snprintf(host + CONFIG_HOST_MAX, 16, ":80");
    assert_int_equal(config_parse_bind(host, &b), -1);
    snprintf(host + CONFIG_HOST_MAX - 1, 16, ":80"); /* 255 characters of host fit */
    assert_int_equal(config_parse_bind(host, &b), 0);
    assert_int_equal(strlen(b.host), CONFIG_HOST_MAX - 1);

    REFUSED("--webhook-bind-address", "--webhook-bind-address=9443");
    REFUSED("--metrics-bind-address", "--metrics-bind-address=:99999");
    REFUSED("--health-probe-bind-address", "--health-probe-bind-address", "nope");
}

/* "0" turns off the metrics and health listeners only (config.h): the webhook needs its port. */
static void test_webhook_bind_zero_refused(void **state)
{
    (void)state;
    int rc = PARSE("--webhook-bind-address=0", "--disable-controller");
    if (rc == 0)
        print_error("accepted: webhook enabled=%d port=%d\n", cfg.webhook_bind.enabled, cfg.webhook_bind.port);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "--webhook-bind-address"));
}

static void test_int_bounds(void **state)
{
    (void)state;
    struct bounds {
        const char *flag;
        int lo, hi;
    };
    static const struct bounds flags[] = {
        {"webhook-threads", 0, 256},
        {"webhook-max-connections", 1, 65536},
        {"webhook-idle-timeout", 1, 3600},
        {"cert-reload-interval", 1, 3600},
    };
    for (size_t i = 0; i < 4; i++) {
        char arg[96], name[64];
        snprintf(name, sizeof(name), "--%s", flags[i].flag);
        snprintf(arg, sizeof(arg), "--%s=%d", flags[i].flag, flags[i].lo);
        assert_int_equal(PARSE(arg), 0);
        snprintf(arg, sizeof(arg), "--%s=%d", flags[i].flag, flags[i].hi);
        assert_int_equal(PARSE(arg), 0);
        snprintf(arg, sizeof(arg), "--%s=%d", flags[i].flag, flags[i].lo - 1);
        REFUSED(name, arg);
        snprintf(arg, sizeof(arg), "--%s=%d", flags[i].flag, flags[i].hi + 1);
        REFUSED(name, arg);
        static const char *const junk[] = {"", "x", "12abc", "1.5", "1e3", "99999999999999999999"};
        for (size_t k = 0; k < sizeof(junk) / sizeof(junk[0]); k++) {
            snprintf(arg, sizeof(arg), "--%s=%s", flags[i].flag, junk[k]);
            REFUSED(name, arg);
        }
    }
    assert_int_equal(PARSE("--webhook-threads=4"), 0);
    assert_int_equal(cfg.webhook_threads, 4);
}

static void test_error_messages(void **state)
{
    (void)state;
    /* The bad value and the flag are both named. */
    REFUSED("invalid value \"lots\" for --webhook-threads", "--webhook-threads=lots");
    /* A flag without its value. */
    REFUSED("--webhook-threads", "--webhook-threads");
    REFUSED("(none)", "--kubeconfig");
    REFUSED("unknown flag --webhook-port", "--webhook-port=9443");
    REFUSED("unknown flag --webhook", "--webhook");
    REFUSED("unknown flag --leader-elect-x", "--leader-elect-x");
    REFUSED("unexpected argument \"serve\"", "serve");
    REFUSED("unexpected argument", "-leader-elect");
    REFUSED("--disable-controller and --disable-webhook", "--disable-controller", "--disable-webhook");
}

/* A path longer than CONFIG_PATH_MAX is refused, and the message (in a buffer the size main()
 * uses) still names the flag. */
static void test_long_value_error_names_flag(void **state)
{
    (void)state;
    static char longpath[CONFIG_PATH_MAX + 32];
    memset(longpath, 'p', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    memcpy(longpath, "--kubeconfig=", 13);
    REFUSED("--kubeconfig", longpath);
}

static void test_last_flag_wins(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--webhook-threads=2", "--webhook-threads", "4", "--log-level=warn", "--log-level=info"), 0);
    assert_int_equal(cfg.webhook_threads, 4);
    assert_int_equal(cfg.log_level, LOG_INFO);
}

static void test_help(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--help"), 1);
    assert_int_equal(PARSE("-h"), 1);
    assert_int_equal(PARSE("--leader-elect", "--help", "--bogus"), 1);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_usage(f);
    fclose(f);
    static const char *const names[] = {
        "Usage: gungnir", "--webhook-bind-address", "--webhook-cert-dir", "--health-probe-bind-address",
        "--metrics-bind-address", "--kubeconfig", "--disable-controller", "--disable-webhook",
        "--leader-elect", "--webhook-threads", "--webhook-max-connections", "--webhook-idle-timeout",
        "--cert-reload-interval", "--log-level", "--help", ":9443", ":8081", ":8080",
    };
    size_t missing = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strstr(text, names[i])) {
            print_error("usage lacks %s\n", names[i]);
            missing++;
        }
    }
    free(text);
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_flag_with_equals),
        cmocka_unit_test(test_every_flag_with_space),
        cmocka_unit_test(test_bool_flags),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_bind_addresses),
        cmocka_unit_test(test_webhook_bind_zero_refused),
        cmocka_unit_test(test_int_bounds),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_long_value_error_names_flag),
        cmocka_unit_test(test_last_flag_wins),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
