/* config.h — gungnir's command-line flags (kubebuilder conventions).
 *
 *   --webhook-bind-address=:9443   --webhook-cert-dir=DIR   --health-probe-bind-address=:8081
 *   --metrics-bind-address=:8080   --disable-controller     --disable-webhook
 *   --kubeconfig=FILE  --leader-elect  --webhook-threads=N  --webhook-max-connections=N
 *   --webhook-idle-timeout=SECONDS  --cert-reload-interval=SECONDS  --log-level=LEVEL  --help
 *   --leader-elect-lease-duration=S --leader-elect-renew-deadline=S --leader-elect-retry-period=S
 *   --leader-elect-resource-namespace=NS  --max-concurrent-reconciles=N
 *
 * A bind address is "[host]:port"; an empty host means every address; "0" turns the listener
 * off (metrics and health only). Flags take "--flag=value" or "--flag value". */
#ifndef GUNGNIR_CONFIG_H
#define GUNGNIR_CONFIG_H

#include "log.h"

#include <stdbool.h>
#include <stdio.h>

#define CONFIG_PATH_MAX 1024
#define CONFIG_HOST_MAX 256

struct bind_address {
    bool enabled;
    char host[CONFIG_HOST_MAX]; /* "" = every address */
    int port;
};

struct gungnir_config {
    struct bind_address webhook_bind;
    struct bind_address health_bind;
    struct bind_address metrics_bind;
    char webhook_cert_dir[CONFIG_PATH_MAX];
    char kubeconfig[CONFIG_PATH_MAX];
    bool disable_controller;
    bool disable_webhook;
    bool leader_elect;
    int webhook_threads;         /* 0 = one per core */
    int webhook_max_connections;
    int webhook_idle_timeout_s;
    int cert_reload_interval_s;
    enum log_level log_level;
    int lease_duration_s;        /* --leader-elect-lease-duration (15) */
    int renew_deadline_s;        /* --leader-elect-renew-deadline (10) */
    int retry_period_s;          /* --leader-elect-retry-period (2) */
    char lease_namespace[CONFIG_HOST_MAX]; /* --leader-elect-resource-namespace ("": the pod's) */
    int reconcile_workers;       /* --max-concurrent-reconciles (2) */
};

/* Fills cfg with the defaults. */
void config_defaults(struct gungnir_config *cfg);

/* Parses argv into cfg (which should hold the defaults). Returns 0; 1 when --help was asked
 * (the caller prints config_usage and exits 0); or -1 with a message in err naming the flag. */
int config_parse(struct gungnir_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* Parses "[host]:port" or "0" into *out. Returns 0, or -1. */
int config_parse_bind(const char *text, struct bind_address *out);

/* Prints the usage text. */
void config_usage(FILE *out);

#endif
