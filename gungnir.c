/* gungnir.c — the gungnir binary: wires the webhook, the controller and the health/metrics
 * servers into one process, like a controller-runtime manager. The only file that includes
 * both halves (webhook/ and controller/). Runs until SIGTERM or SIGINT, then shuts down
 * cleanly: in-flight requests finish, every resource is freed. */
#include "cert_store.h"
#include "config.h"
#include "controller.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "ops_server.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static atomic_bool webhook_ready;

static bool is_ready(void) { return atomic_load(&webhook_ready); }

static int fail(const char *msg, const char *err)
{
    log_write(LOG_ERROR, msg, "error", err, NULL);
    return 1;
}

/* Everything main starts; NULL when not started. stop_parts stops what is set. */
struct parts {
    struct cert_store *certs;
    struct webhook_server *webhook;
    struct ops_server *health, *metrics;
    struct controller *controller;
};

/* Fills *cfg from the defaults and the flags. Returns -1 to go on, or the exit code: 0 after
 * printing the usage for --help, 2 after a message on stderr for bad flags. */
static int parse_flags(struct gungnir_config *cfg, int argc, char **argv)
{
    char err[512];
    config_defaults(cfg);
    int parsed = config_parse(cfg, argc, argv, err, sizeof(err));
    if (parsed == 1) {
        config_usage(stdout);
        return 0;
    }
    if (parsed < 0) {
        fprintf(stderr, "gungnir: %s\n", err);
        return 2;
    }
    log_set_level(cfg->log_level);
    return -1;
}

/* Signals are taken synchronously by this thread (wait_for_stop); every thread started after
 * this inherits the mask, so none of them is interrupted. */
static void block_stop_signals(sigset_t *stop_signals)
{
    sigemptyset(stop_signals);
    sigaddset(stop_signals, SIGTERM);
    sigaddset(stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The monitor holds one connection per watched primary and the prober one per probed pod:
 * raise the soft limit of open files to the hard one, as servers do, so that thousands of
 * clusters are not capped at the usual 1024 descriptors. A failure is said, not fatal. */
static void raise_open_files_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    char want[32];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)rl.rlim_max);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_write(LOG_WARN, "cannot raise the open files limit", "want", want, NULL);
}

/* Starts the health probe and the metrics servers (one server when they share an address).
 * Returns 0, or 1 after logging the error. */
static int start_ops(const struct gungnir_config *cfg, struct parts *p)
{
    char err[512];
    bool same_ops = cfg->health_bind.enabled && cfg->metrics_bind.enabled &&
                    cfg->health_bind.port == cfg->metrics_bind.port &&
                    strcmp(cfg->health_bind.host, cfg->metrics_bind.host) == 0;
    if (cfg->health_bind.enabled &&
        !(p->health = ops_server_start(&cfg->health_bind, true, same_ops, is_ready, err, sizeof(err))))
        return fail("cannot start the health probe server", err);
    if (cfg->metrics_bind.enabled && !same_ops &&
        !(p->metrics = ops_server_start(&cfg->metrics_bind, false, true, NULL, err, sizeof(err))))
        return fail("cannot start the metrics server", err);
    return 0;
}

/* Loads and watches the serving certificate and starts the webhook server, then reports
 * ready. Returns 0, or 1 after logging the error. */
static int start_webhook(const struct gungnir_config *cfg, struct parts *p)
{
    char err[512];
    p->certs = cert_store_open(cfg->webhook_cert_dir, err, sizeof(err));
    if (!p->certs)
        return fail("cannot load the webhook serving certificate", err);
    cert_store_activate(p->certs);
    if (cert_store_watch(p->certs, cfg->cert_reload_interval_s) != 0)
        return fail("cannot start the certificate watcher", "pthread_create failed");
    p->webhook = webhook_server_start(cfg, err, sizeof(err));
    if (!p->webhook)
        return fail("cannot start the webhook server", err);
    char port[16];
    snprintf(port, sizeof(port), "%d", cfg->webhook_bind.port);
    log_write(LOG_INFO, "webhook serving", "host", cfg->webhook_bind.host[0] ? cfg->webhook_bind.host : "*",
              "port", port, "certDir", cfg->webhook_cert_dir, NULL);
    atomic_store(&webhook_ready, true);
    return 0;
}

/* Starts the controller; without the webhook, readiness is the controller's start. Returns
 * 0, or 1 after logging the error. */
static int start_controller(const struct gungnir_config *cfg, struct parts *p)
{
    char err[512];
    p->controller = controller_start(cfg, err, sizeof(err));
    if (!p->controller)
        return fail("cannot start the controller", err);
    if (cfg->disable_webhook)
        atomic_store(&webhook_ready, true);
    return 0;
}

/* Starts every enabled part in order. Returns 0, or 1 at the first that fails (what started
 * is left in *p for stop_parts). */
static int start_parts(const struct gungnir_config *cfg, struct parts *p)
{
    if (start_ops(cfg, p) != 0)
        return 1;
    if (!cfg->disable_webhook && start_webhook(cfg, p) != 0)
        return 1;
    if (!cfg->disable_controller && start_controller(cfg, p) != 0)
        return 1;
    return 0;
}

/* Blocks until SIGTERM or SIGINT, then reports not ready. */
static void wait_for_stop(const sigset_t *stop_signals)
{
    int sig = 0;
    sigwait(stop_signals, &sig);
    log_write(LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    atomic_store(&webhook_ready, false);
}

/* Stops what was started, the controller first, and frees it all. */
static void stop_parts(struct parts *p)
{
    controller_stop(p->controller);
    webhook_server_stop(p->webhook);
    cert_store_close(p->certs);
    ops_server_stop(p->health);
    ops_server_stop(p->metrics);
    metrics_reset();
}

int main(int argc, char **argv)
{
    struct gungnir_config cfg;
    struct parts parts = {0};
    sigset_t stop_signals;

    int exit_code = parse_flags(&cfg, argc, argv);
    if (exit_code >= 0)
        return exit_code;
    block_stop_signals(&stop_signals);
    raise_open_files_limit();
    int rc = start_parts(&cfg, &parts);
    if (rc == 0)
        wait_for_stop(&stop_signals);
    stop_parts(&parts);
    return rc;
}
