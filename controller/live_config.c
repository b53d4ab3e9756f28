/* live_config.c — see live_config.h. */
#include "live_config.h"
#include "cluster_writes.h"
#include "conf_keys.h"
#include "log.h"
#include "memo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "namespace/pod" -> "<run_id> <fingerprint of the live lines applied>". */
static struct memo applied = MEMO_INIT;

/* FNV-1a over the live lines, sorted by key: what a server should have. */
static unsigned long long fingerprint(const json_t *config)
{
    unsigned long long h = 1469598103934665603ULL;
    const char *k;
    const json_t *v;
    /* Keys are unique and the hash of each pair is combined by addition: order does not matter. */
    unsigned long long sum = 0;
    json_object_foreach((json_t *)config, k, v)
    {
        if (conf_key_needs_restart(k))
            continue;
        unsigned long long x = h;
        for (const char *p = k; *p; p++)
            x = (x ^ (unsigned char)*p) * 1099511628211ULL;
        x = (x ^ '=') * 1099511628211ULL;
        for (const char *p = json_string_value(v); p && *p; p++)
            x = (x ^ (unsigned char)*p) * 1099511628211ULL;
        sum += x;
    }
    return sum;
}

static void memo_text(const struct pod_view *p, unsigned long long fp, char *buf, size_t size)
{
    snprintf(buf, size, "%s %016llx", p->info.run_id, fp);
}

static bool already_applied(const struct cluster_ctx *c, const struct pod_view *p, const char *memo)
{
    char key[300];
    snprintf(key, sizeof(key), "%s/%s", c->ns, p->name);
    json_t *m = memo_get(&applied, key);
    bool same = m && strcmp(json_string_value(m), memo) == 0;
    json_decref(m);
    return same;
}

static void remember(const struct cluster_ctx *c, const struct pod_view *p, const char *memo)
{
    char key[300];
    snprintf(key, sizeof(key), "%s/%s", c->ns, p->name);
    memo_set(&applied, key, json_string(memo));
}

void live_config_forget(const char *ns, const char *name)
{
    /* "ns/name-" also matches the pods of a cluster "name-x": they are only sent their values
     * again once. */
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "%s/%s-", ns, name);
    memo_forget_prefix(&applied, prefix);
}

/* CONFIG SET of every live key on p. Returns 0, or -1 with why set (the key and Valkey's
 * words, or the connection's error). */
static int apply_to(struct cluster_ctx *c, const struct pod_view *p, char *why, size_t whylen)
{
    const char *k;
    const json_t *v;
    struct valkey_node *n = cluster_connect_pod(c, p);
    if (!n) {
        snprintf(why, whylen, "pod %s cannot be reached", p->name);
        return -1;
    }
    int rc = 0;
    json_object_foreach((json_t *)c->spec.config, k, v)
    {
        if (conf_key_needs_restart(k))
            continue;
        if (valkey_node_config_set(n, k, json_string_value(v)) != 0) {
            snprintf(why, whylen, "spec.config[%s]: Valkey refused %s: %s", k, json_string_value(v),
                     valkey_node_errstr(n));
            log_write(LOG_WARN, "CONFIG SET refused", "valkeycluster", c->name, "pod", p->name, "error", why, NULL);
            rc = -1;
            break;
        }
    }
    valkey_node_free(n);
    return rc;
}

int live_config_step(struct cluster_ctx *c)
{
    char memo[128], why[384];
    int pending = 0;
    if (!c->spec.config || json_object_size(c->spec.config) == 0)
        return 0;
    unsigned long long fp = fingerprint(c->spec.config);
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (!p->probed)
            continue; /* not up: it reads the ConfigMap when it starts */
        memo_text(p, fp, memo, sizeof(memo));
        if (already_applied(c, p, memo))
            continue;
        if (apply_to(c, p, why, sizeof(why)) == 0) {
            remember(c, p, memo);
            log_write(LOG_INFO, "spec.config applied live", "valkeycluster", c->name, "pod", p->name, NULL);
            continue;
        }
        pending++;
        if (!c->blocked[0]) {
            /* The same words for every pod, so the Event is said once while the status says it. */
            snprintf(c->blocked, sizeof(c->blocked), "%s", why);
            cluster_warn_once(c, "ConfigRefused", c->blocked);
        }
    }
    return pending;
}
