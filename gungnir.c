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
#include <unistd.h>

static atomic_bool webhook_ready;

static bool is_ready(void) { return atomic_load(&webhook_ready); }

static int fail(const char *msg, const char *err)
{
    log_write(LOG_ERROR, msg, "error", err, NULL);
    return 1;
}

int main(int argc, char **argv)
{
    struct gungnir_config cfg;
    char err[512];
    struct cert_store *certs = NULL;
    struct webhook_server *webhook = NULL;
    struct ops_server *health = NULL, *metrics = NULL;
    struct controller *controller = NULL;
    sigset_t stop_signals;
    int sig = 0, rc = 1;

    config_defaults(&cfg);
    int parsed = config_parse(&cfg, argc, argv, err, sizeof(err));
    if (parsed == 1) {
        config_usage(stdout);
        return 0;
    }
    if (parsed < 0) {
        fprintf(stderr, "gungnir: %s\n", err);
        return 2;
    }
    log_set_level(cfg.log_level);

    /* Signals are taken synchronously by this thread; every thread started below inherits
     * the mask, so none of them is interrupted. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    bool same_ops = cfg.health_bind.enabled && cfg.metrics_bind.enabled &&
                    cfg.health_bind.port == cfg.metrics_bind.port &&
                    strcmp(cfg.health_bind.host, cfg.metrics_bind.host) == 0;
    if (cfg.health_bind.enabled &&
        !(health = ops_server_start(&cfg.health_bind, true, same_ops, is_ready, err, sizeof(err)))) {
        rc = fail("cannot start the health probe server", err);
        goto out;
    }
    if (cfg.metrics_bind.enabled && !same_ops &&
        !(metrics = ops_server_start(&cfg.metrics_bind, false, true, NULL, err, sizeof(err)))) {
        rc = fail("cannot start the metrics server", err);
        goto out;
    }

    if (!cfg.disable_webhook) {
        certs = cert_store_open(cfg.webhook_cert_dir, err, sizeof(err));
        if (!certs) {
            rc = fail("cannot load the webhook serving certificate", err);
            goto out;
        }
        cert_store_activate(certs);
        if (cert_store_watch(certs, cfg.cert_reload_interval_s) != 0) {
            rc = fail("cannot start the certificate watcher", "pthread_create failed");
            goto out;
        }
        webhook = webhook_server_start(&cfg, err, sizeof(err));
        if (!webhook) {
            rc = fail("cannot start the webhook server", err);
            goto out;
        }
        char port[16];
        snprintf(port, sizeof(port), "%d", cfg.webhook_bind.port);
        log_write(LOG_INFO, "webhook serving", "host", cfg.webhook_bind.host[0] ? cfg.webhook_bind.host : "*",
                  "port", port, "certDir", cfg.webhook_cert_dir, NULL);
        atomic_store(&webhook_ready, true);
    }

    if (!cfg.disable_controller) {
        controller = controller_start(&cfg, err, sizeof(err));
        if (!controller) {
            rc = fail("cannot start the controller", err);
            goto out;
        }
        if (cfg.disable_webhook)
            atomic_store(&webhook_ready, true);
    }

    sigwait(&stop_signals, &sig);
    log_write(LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    atomic_store(&webhook_ready, false);
    rc = 0;
out:
    controller_stop(controller);
    webhook_server_stop(webhook);
    cert_store_close(certs);
    ops_server_stop(health);
    ops_server_stop(metrics);
    metrics_reset();
    return rc;
}
