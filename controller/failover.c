/* failover.c — see failover.h. */
#include "failover.h"
#include "clock.h"
#include "failover_select.h"
#include "log.h"
#include "valkey_node.h"

#include <stdio.h>
#include <string.h>

/* Milliseconds since t0 (a clock_now_ms reading). */
static long elapsed_ms(int64_t t0) { return (long)(clock_now_ms() - t0); }

/* REPLICAOF on one node (host NULL: NO ONE). Returns 0, or -1 with why. */
static int replicaof(const struct failover_plan *p, const struct failover_node *node, const char *host,
                     int port, char *why, size_t whylen)
{
    char err[256];
    struct valkey_node *n = valkey_node_connect(node->host, node->port,
                                                p->password && p->password[0] ? p->password : NULL,
                                                p->timeout_ms, err, sizeof(err));
    if (!n) {
        snprintf(why, whylen, "%s: %.160s", node->name, err);
        return -1;
    }
    valkey_node_set_fence(n, p->fence);
    int rc = valkey_node_replicaof(n, host, port);
    if (rc != 0)
        snprintf(why, whylen, "%s: %s", node->name, valkey_node_errstr(n));
    valkey_node_free(n);
    return rc;
}

int failover_run(const struct failover_plan *p, char *err, size_t errlen)
{
    struct failover_candidate cands[FAILOVER_NODES_MAX];
    int map[FAILOVER_NODES_MAX];
    size_t nc = 0;
    char why[256] = "";
    const char *from = p->old_primary >= 0 ? p->nodes[p->old_primary].name : "";
    long long reference = p->old_primary >= 0 ? p->nodes[p->old_primary].info.repl_offset : -1;

    int64_t t0 = clock_now_ms();
    for (size_t i = 0; i < p->n && nc < FAILOVER_NODES_MAX; i++) {
        if ((int)i == p->old_primary)
            continue;
        const struct failover_node *node = &p->nodes[i];
        cands[nc] = (struct failover_candidate){
            .name = node->name, .priority = node->priority, .reachable = node->reachable,
            .is_replica = node->reachable && !node->info.is_primary, .offset = node->info.repl_offset};
        map[nc++] = (int)i;
    }
    int pick = failover_select(cands, nc, p->max_lag_bytes, reference, why, sizeof(why));
    if (pick < 0) {
        snprintf(err, errlen, "no replica can be promoted: %s", why);
        return -1;
    }
    const struct failover_node *cand = &p->nodes[map[pick]];
    const struct failover_hooks *h = p->hooks;

    /* Record, then act. */
    if (h && h->record && h->record(p->ctx, p->epoch, from, cand->name) != 0) {
        snprintf(err, errlen, "the attempt was not recorded (another writer acted first)");
        return -1;
    }
    log_write(LOG_INFO, "failover: promoting", "from", from, "to", cand->name, NULL);
    /* Clients leave the old primary first; if its label cannot be removed, promoting would
     * leave two pods labelled primary: stop. */
    if (p->old_primary >= 0 && h && h->set_role && h->set_role(p->ctx, from, NULL) != 0) {
        snprintf(err, errlen, "the old primary's role label could not be removed");
        if (h->finish)
            h->finish(p->ctx, p->epoch, from, cand->name, elapsed_ms(t0), false, err);
        return -1;
    }
    if (replicaof(p, cand, NULL, 0, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "REPLICAOF NO ONE failed: %s", why);
        if (h && h->finish)
            h->finish(p->ctx, p->epoch, from, cand->name, elapsed_ms(t0), false, err);
        return -1;
    }
    if (h && h->set_role && h->set_role(p->ctx, cand->name, "primary") != 0)
        log_write(LOG_WARN, "failover: the new primary's label is not set yet; the next reconcile sets it",
                  "pod", cand->name, NULL);
    long promoted_ms = elapsed_ms(t0);

    /* Repoint the others; one that fails is retried by the next reconcile (it stays without a
     * role until it follows the new primary). */
    for (size_t i = 0; i < p->n; i++) {
        const struct failover_node *node = &p->nodes[i];
        if (node == cand || (int)i == p->old_primary || !node->reachable)
            continue;
        if (replicaof(p, node, cand->host, cand->port, why, sizeof(why)) == 0) {
            if (h && h->set_role)
                h->set_role(p->ctx, node->name, "replica");
        } else {
            log_write(LOG_WARN, "failover: a replica could not be repointed yet", "error", why, NULL);
        }
    }
    if (h && h->finish)
        h->finish(p->ctx, p->epoch, from, cand->name, promoted_ms, true, "");
    return map[pick];
}
