/* config.c — command-line flags (see config.h). */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void config_defaults(struct gungnir_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    config_parse_bind(":9443", &cfg->webhook_bind);
    config_parse_bind(":8081", &cfg->health_bind);
    config_parse_bind(":8080", &cfg->metrics_bind);
    snprintf(cfg->webhook_cert_dir, sizeof(cfg->webhook_cert_dir), "%s",
             "/tmp/k8s-webhook-server/serving-certs");
    cfg->webhook_threads = 0;
    cfg->webhook_max_connections = 1024;
    cfg->webhook_idle_timeout_s = 60;
    cfg->cert_reload_interval_s = 2;
    cfg->log_level = LOG_INFO;
    cfg->lease_duration_s = 15;
    cfg->renew_deadline_s = 10;
    cfg->retry_period_s = 2;
    cfg->reconcile_workers = 2;
}

int config_parse_bind(const char *text, struct bind_address *out)
{
    const char *colon = strrchr(text, ':');
    char *end;
    long port;

    if (strcmp(text, "0") == 0) {
        out->enabled = false;
        out->host[0] = '\0';
        out->port = 0;
        return 0;
    }
    if (!colon || (size_t)(colon - text) >= sizeof(out->host))
        return -1;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
        return -1;
    const char *host = text;
    size_t hlen = (size_t)(colon - text);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') { /* [::1]:9443 */
        host++;
        hlen -= 2;
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->port = (int)port;
    out->enabled = true;
    return 0;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

enum flag_kind { FLAG_BOOL, FLAG_BIND, FLAG_PATH, FLAG_NAME, FLAG_INT, FLAG_LEVEL };

struct flag {
    const char *name;
    enum flag_kind kind;
    size_t offset;
    int lo, hi;
    const char *help;
};

#define OFF(f) offsetof(struct gungnir_config, f)
static const struct flag flags[] = {
    {"webhook-bind-address", FLAG_BIND, OFF(webhook_bind), 1, 0, "address the webhook serves HTTPS on (default :9443)"},
    {"webhook-cert-dir", FLAG_PATH, OFF(webhook_cert_dir), 0, 0, "folder holding tls.crt and tls.key (default /tmp/k8s-webhook-server/serving-certs)"},
    {"health-probe-bind-address", FLAG_BIND, OFF(health_bind), 0, 0, "address of /healthz and /readyz (default :8081; 0 turns it off)"},
    {"metrics-bind-address", FLAG_BIND, OFF(metrics_bind), 0, 0, "address of /metrics (default :8080; 0 turns it off)"},
    {"kubeconfig", FLAG_PATH, OFF(kubeconfig), 0, 0, "kubeconfig file (default $KUBECONFIG, then in-cluster config)"},
    {"disable-controller", FLAG_BOOL, OFF(disable_controller), 0, 0, "serve the webhook only; needs no API server"},
    {"disable-webhook", FLAG_BOOL, OFF(disable_webhook), 0, 0, "run the controller only"},
    {"leader-elect", FLAG_BOOL, OFF(leader_elect), 0, 0, "elect a leader with a Lease before the controller writes"},
    {"webhook-threads", FLAG_INT, OFF(webhook_threads), 0, 256, "webhook worker threads (default 0: one per core)"},
    {"webhook-max-connections", FLAG_INT, OFF(webhook_max_connections), 1, 65536, "open webhook connections at most (default 1024)"},
    {"webhook-idle-timeout", FLAG_INT, OFF(webhook_idle_timeout_s), 1, 3600, "seconds before an idle or stalled connection is closed (default 60)"},
    {"cert-reload-interval", FLAG_INT, OFF(cert_reload_interval_s), 1, 3600, "seconds between checks of the cert dir for new files (default 2)"},
    {"log-level", FLAG_LEVEL, OFF(log_level), 0, 0, "debug, info, warn or error (default info)"},
    {"leader-elect-lease-duration", FLAG_INT, OFF(lease_duration_s), 2, 3600, "seconds a leader's Lease lasts without renewal (default 15)"},
    {"leader-elect-renew-deadline", FLAG_INT, OFF(renew_deadline_s), 1, 3600, "seconds the leader keeps trying to renew before it stops writing (default 10)"},
    {"leader-elect-retry-period", FLAG_INT, OFF(retry_period_s), 1, 3600, "seconds between attempts to acquire or renew the Lease (default 2)"},
    {"leader-elect-resource-namespace", FLAG_NAME, OFF(lease_namespace), 0, 0, "namespace of the Lease (default: the pod's namespace, else the kubeconfig's)"},
    {"max-concurrent-reconciles", FLAG_INT, OFF(reconcile_workers), 1, 64, "ValkeyClusters reconciled at once (default 2)"},
};
#undef OFF

void config_usage(FILE *out)
{
    fprintf(out, "Usage: gungnir [flags]\n\nGungnir runs the ValkeyCluster admission webhook and controller.\n\nFlags:\n");
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        fprintf(out, "  --%-28s %s\n", flags[i].name, flags[i].help);
    fprintf(out, "  --%-28s %s\n", "help", "print this text");
}

static int apply_flag(struct gungnir_config *cfg, const struct flag *f, const char *value,
                      char *err, size_t errlen)
{
    char *field = (char *)cfg + f->offset;
    switch (f->kind) {
    case FLAG_BOOL:
        if (!value || strcmp(value, "true") == 0)
            *(bool *)field = true;
        else if (strcmp(value, "false") == 0)
            *(bool *)field = false;
        else
            goto bad;
        return 0;
    case FLAG_BIND:
        /* lo = 1: the listener is required ("0" may not turn it off) */
        if (!value || config_parse_bind(value, (struct bind_address *)field) != 0 ||
            (f->lo == 1 && !((struct bind_address *)field)->enabled))
            goto bad;
        return 0;
    case FLAG_NAME: /* a Kubernetes namespace name: a DNS-1123 label */
        if (!value || !value[0] || strlen(value) > 63 ||
            strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(value) || value[0] == '-')
            goto bad;
        snprintf(field, CONFIG_HOST_MAX, "%s", value);
        return 0;
    case FLAG_PATH:
        if (!value || strlen(value) >= CONFIG_PATH_MAX)
            goto bad;
        snprintf(field, CONFIG_PATH_MAX, "%s", value);
        return 0;
    case FLAG_INT:
        if (!value || parse_int(value, f->lo, f->hi, (int *)field) != 0)
            goto bad;
        return 0;
    case FLAG_LEVEL:
        if (!value || log_level_parse(value, (enum log_level *)field) != 0)
            goto bad;
        return 0;
    }
bad:
    /* The value is shown cut, so a long value cannot push the flag name out of err. */
    snprintf(err, errlen, "invalid value %s%.128s%s%s for --%s: %s", value ? "\"" : "",
             value ? value : "(none)", value && strlen(value) > 128 ? "..." : "", value ? "\"" : "",
             f->name, f->help);
    return -1;
}

int config_parse(struct gungnir_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return 1;
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument \"%s\" (flags start with --)", arg);
            return -1;
        }
        arg += 2;
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct flag *f = NULL;
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
            if (strlen(flags[k].name) == nlen && strncmp(flags[k].name, arg, nlen) == 0)
                f = &flags[k];
        }
        if (!f) {
            snprintf(err, errlen, "unknown flag --%.*s (see --help)", (int)nlen, arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && f->kind != FLAG_BOOL && i + 1 < argc)
            value = argv[++i];
        if (apply_flag(cfg, f, value, err, errlen) != 0)
            return -1;
    }
    if (cfg->renew_deadline_s >= cfg->lease_duration_s || cfg->retry_period_s >= cfg->renew_deadline_s) {
        snprintf(err, errlen, "leader election needs --leader-elect-retry-period (%d) < --leader-elect-renew-deadline (%d) < --leader-elect-lease-duration (%d)",
                 cfg->retry_period_s, cfg->renew_deadline_s, cfg->lease_duration_s);
        return -1;
    }
    if (cfg->disable_controller && cfg->disable_webhook) {
        snprintf(err, errlen, "--disable-controller and --disable-webhook together leave nothing to run");
        return -1;
    }
    return 0;
}
