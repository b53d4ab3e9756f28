/* cluster_ctx.c — see cluster_ctx.h. */
#include "cluster_ctx.h"
#include "desired.h"
#include "failover_select.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cluster_str_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

static bool pod_is_ready(const json_t *pod)
{
    size_t i;
    const json_t *cond;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, cond)
    {
        const char *t = cluster_str_at(cond, "type", NULL), *s = cluster_str_at(cond, "status", NULL);
        if (t && s && strcmp(t, "Ready") == 0)
            return strcmp(s, "True") == 0;
    }
    return false;
}

static int by_ordinal(const void *a, const void *b)
{
    long x = ((const struct pod_view *)a)->ordinal, y = ((const struct pod_view *)b)->ordinal;
    return (x > y) - (x < y);
}

int cluster_ctx_load_pods(struct cluster_ctx *c, const json_t *list)
{
    size_t i, cap = json_array_size(list);
    const json_t *pod;
    free(c->pods);
    c->pods = NULL;
    c->npods = 0;
    if (cap == 0)
        return 0;
    c->pods = calloc(cap, sizeof(*c->pods));
    if (!c->pods)
        return -1;
    size_t namelen = strlen(c->name);
    json_array_foreach(list, i, pod)
    {
        const json_t *md = json_object_get(pod, "metadata");
        const char *name = cluster_str_at(md, "name", NULL);
        const char *dash = name ? strrchr(name, '-') : NULL;
        if (!dash || (size_t)(dash - name) != namelen || strncmp(name, c->name, namelen) != 0)
            continue; /* not one of this StatefulSet's pods */
        struct pod_view *p = &c->pods[c->npods++];
        p->obj = pod;
        p->name = name;
        p->ordinal = strtol(dash + 1, NULL, 10);
        p->ip = cluster_str_at(json_object_get(pod, "status"), "podIP", NULL);
        p->role = cluster_str_at(json_object_get(md, "labels"), DESIRED_ROLE_LABEL, NULL);
        p->revision = cluster_str_at(json_object_get(md, "labels"), "controller-revision-hash", NULL);
        p->ready = pod_is_ready(pod);
        p->deleting = json_object_get(md, "deletionTimestamp") != NULL;
    }
    /* By ordinal, so choices are deterministic. */
    qsort(c->pods, c->npods, sizeof(*c->pods), by_ordinal);
    return 0;
}

void cluster_ctx_release(struct cluster_ctx *c)
{
    free(c->pods);
    c->pods = NULL;
    c->npods = 0;
}

bool cluster_pod_usable(const struct pod_view *p) { return p->ready && !p->deleting && p->ip && p->ip[0]; }

bool cluster_fenced(const struct cluster_ctx *c) { return fence_closed(c->env->fence); }

struct valkey_node *cluster_connect_pod(struct cluster_ctx *c, const struct pod_view *p)
{
    char err[256];
    struct valkey_node *n = valkey_node_connect(p->ip, DESIRED_PORT, c->password[0] ? c->password : NULL,
                                                c->env->valkey_timeout_ms, err, sizeof(err));
    if (!n)
        log_write(LOG_WARN, "cannot reach pod", "pod", p->name, "error", err, NULL);
    else
        valkey_node_set_fence(n, c->env->fence);
    return n;
}

void cluster_probe_pods(struct cluster_ctx *c)
{
    struct probe_target *targets = calloc(c->npods ? c->npods : 1, sizeof(*targets));
    struct probe_result *results = calloc(c->npods ? c->npods : 1, sizeof(*results));
    size_t *map = calloc(c->npods ? c->npods : 1, sizeof(*map));
    size_t n = 0;

    for (size_t i = 0; i < c->npods; i++)
        c->pods[i].probed = c->pods[i].auth_refused = false;
    if (!targets || !results || !map || !c->env->prober)
        goto out; /* nothing probed: every step then waits, and the next reconcile tries again */
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (!cluster_pod_usable(p))
            continue;
        struct probe_target *t = &targets[n];
        snprintf(t->key, sizeof(t->key), "%s/%s", c->ns, p->name);
        snprintf(t->host, sizeof(t->host), "%s", p->ip);
        t->port = DESIRED_PORT;
        snprintf(t->password, sizeof(t->password), "%s", c->password);
        map[n++] = i;
    }
    if (n > 0)
        prober_round(c->env->prober, targets, n, c->env->valkey_timeout_ms, results);
    for (size_t k = 0; k < n; k++) {
        struct pod_view *p = &c->pods[map[k]];
        p->probed = results[k].ok;
        if (p->probed)
            p->info = results[k].info;
        else
            log_write(LOG_DEBUG, "probe failed", "pod", p->name, "error", results[k].err, NULL);
        p->auth_refused = results[k].auth_refused;
    }
out:
    free(targets);
    free(results);
    free(map);
}

struct pod_view *cluster_pod_named(struct cluster_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->npods && name; i++)
        if (strcmp(c->pods[i].name, name) == 0)
            return &c->pods[i];
    return NULL;
}

struct pod_view *cluster_labelled_primary(struct cluster_ctx *c)
{
    for (size_t i = 0; i < c->npods; i++)
        if (c->pods[i].role && strcmp(c->pods[i].role, DESIRED_ROLE_PRIMARY) == 0)
            return &c->pods[i];
    return NULL;
}

struct pod_view *cluster_best_candidate(struct cluster_ctx *c, const struct pod_view *exclude, long max_ordinal)
{
    struct failover_candidate *cands = calloc(c->npods ? c->npods : 1, sizeof(*cands));
    struct pod_view **map = calloc(c->npods ? c->npods : 1, sizeof(*map));
    struct pod_view *best = NULL;
    size_t n = 0;
    if (!cands || !map)
        goto out;
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (p == exclude || p->ordinal >= max_ordinal)
            continue;
        cands[n] = (struct failover_candidate){.name = p->name,
                                               .priority = vkc_spec_pod_priority(&c->spec, p->ordinal),
                                               .reachable = p->probed,
                                               .is_replica = p->probed && !p->info.is_primary,
                                               .offset = p->info.repl_offset};
        map[n++] = p;
    }
    int pick = failover_select(cands, n, 0, -1, NULL, 0);
    best = pick < 0 ? NULL : map[pick];
out:
    free(cands);
    free(map);
    return best;
}

void cluster_self_path(const struct cluster_ctx *c, const char *suffix, char *buf, size_t size)
{
    snprintf(buf, size, "/apis/%s/%s/namespaces/%s/valkeyclusters/%s%s", VKC_GROUP, VKC_VERSION, c->ns, c->name,
             suffix ? suffix : "");
}
