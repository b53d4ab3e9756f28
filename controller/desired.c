/* desired.c — see desired.h. */
#include "desired.h"
#include "pod_template.h"
#include "conf_keys.h"
#include "strbuf.h"

#include <assert.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_MAX (256u * 1024u)

void desired_names_of(const char *name, const struct vkc_spec *s, struct desired_names *out)
{
    if (s && s->auth_secret_name)
        snprintf(out->auth_secret, sizeof(out->auth_secret), "%s", s->auth_secret_name);
    else
        snprintf(out->auth_secret, sizeof(out->auth_secret), "%s-auth", name);
    snprintf(out->config_map, sizeof(out->config_map), "%s-config", name);
    snprintf(out->headless, sizeof(out->headless), "%s-headless", name);
    snprintf(out->primary_service, sizeof(out->primary_service), "%s", name);
    snprintf(out->replica_service, sizeof(out->replica_service), "%s-replicas", name);
    snprintf(out->statefulset, sizeof(out->statefulset), "%s", name);
    snprintf(out->pdb, sizeof(out->pdb), "%s", name);
}

json_t *desired_labels(const char *name)
{
    return json_pack("{s:s, s:s, s:s}", "app.kubernetes.io/name", "valkey",
                     "app.kubernetes.io/instance", name, "app.kubernetes.io/managed-by", "gungnir");
}

void desired_selector_text(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "app.kubernetes.io/name=valkey,app.kubernetes.io/instance=%s", name);
}

json_t *desired_selector_labels(const char *name)
{
    return json_pack("{s:s, s:s}", "app.kubernetes.io/name", "valkey", "app.kubernetes.io/instance", name);
}

/* apiVersion, kind and metadata {name, namespace, labels, ownerReferences}. */
static json_t *object_head(const struct desired_input *in, const char *api_version,
                           const char *kind, const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}}",
                     "apiVersion", api_version, "kind", kind, "metadata", "name", name,
                     "namespace", in->namespace_, "labels", desired_labels(in->name),
                     "ownerReferences", "apiVersion", VKC_API_VERSION, "kind", VKC_KIND, "name",
                     in->name, "uid", in->uid, "controller", 1, "blockOwnerDeletion", 1);
}

json_t *desired_auth_secret(const struct desired_input *in)
{
    unsigned char raw[24];
    char password[64];
    struct strbuf b64;
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    if (!in->spec->auth_enabled || in->spec->auth_secret_name)
        return NULL;
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return NULL;
    /* 24 characters from 62: about 143 bits, and no character a shell or URL treats specially. */
    for (size_t i = 0; i < sizeof(raw); i++)
        password[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
    password[sizeof(raw)] = '\0';

    struct desired_names n;
    desired_names_of(in->name, in->spec, &n);
    json_t *s = object_head(in, "v1", "Secret", n.auth_secret);
    strbuf_init(&b64, 256);
    strbuf_base64(&b64, password, strlen(password));
    if (s && !b64.failed) {
        json_object_set_new(s, "type", json_string("Opaque"));
        json_object_set_new(s, "data", json_pack("{s:s}", DESIRED_PASSWORD_KEY, b64.data));
    }
    strbuf_free(&b64);
    return s;
}

/* qsort comparator of an array of C strings: strcmp order. */
static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True when spec.config sets key (a tunable key's default then gives way). */
static bool user_sets(const struct vkc_spec *s, const char *key)
{
    assert(conf_key_lookup(key) && conf_key_lookup(key)->policy == CONF_KEY_TUNABLE);
    return s->config && json_object_get(s->config, key) != NULL;
}

/* How render_conf writes the lines of spec.config. */
enum conf_text {
    CONF_FULL,       /* every line: valkey.conf as the pods read it */
    CONF_FOR_HASH,   /* keys applied live with their name only: the text whose change needs a restart */
};

static char *render_conf(const struct vkc_spec *s, enum conf_text mode)
{
    struct strbuf b;
    strbuf_init(&b, CONF_MAX);
    strbuf_puts(&b, "# Written by gungnir; edit spec.config of the ValkeyCluster instead.\n");
    strbuf_printf(&b, "port %d\n", DESIRED_PORT);
    strbuf_puts(&b, "bind * -::*\n");
    /* Reachable from other pods; with auth off, protected mode would refuse them. */
    strbuf_puts(&b, "protected-mode no\n");
    strbuf_puts(&b, "dir /data\n");
    /* Boot fenced: a pod never starts as a primary (architecture.md, failover protocol 1). */
    strbuf_printf(&b, "replicaof %s %d\n", DESIRED_FENCE_HOST, DESIRED_FENCE_PORT);
    strbuf_puts(&b, "replica-read-only yes\n");
    /* Tunable defaults (conf_keys.h): a line of spec.config replaces them. */
    if (!user_sets(s, "repl-diskless-sync-delay"))
        strbuf_puts(&b, "repl-diskless-sync-delay 0\n");
    if (s->has_maxmemory)
        strbuf_printf(&b, "maxmemory %lld\n", (long long)quantity_value(s->maxmemory));
    switch (s->persistence) {
    case VKC_PERSIST_NONE:
        strbuf_puts(&b, "save \"\"\nappendonly no\n");
        break;
    case VKC_PERSIST_RDB:
        strbuf_puts(&b, "save 3600 1 300 100 60 10000\nappendonly no\n");
        break;
    case VKC_PERSIST_AOF:
        strbuf_puts(&b, "save \"\"\nappendonly yes\n");
        if (!user_sets(s, "appendfsync"))
            strbuf_puts(&b, "appendfsync everysec\n");
        break;
    }
    if (s->config) {
        const char *k;
        const json_t *v;
        /* Sorted keys so the text (and the pods' config hash) does not depend on JSON order. */
        size_t n = json_object_size(s->config), i = 0;
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        if (!keys) {
            strbuf_free(&b);
            return NULL;
        }
        json_object_foreach((json_t *)s->config, k, v) keys[i++] = k;
        qsort(keys, n, sizeof(*keys), by_key);
        for (i = 0; i < n; i++) {
            if (mode == CONF_FOR_HASH && !conf_key_needs_restart(keys[i]))
                strbuf_printf(&b, "%s (applied live)\n", keys[i]); /* its value is set with CONFIG SET */
            else
                strbuf_printf(&b, "%s %s\n", keys[i], json_string_value(json_object_get(s->config, keys[i])));
        }
        free(keys);
    }
    return strbuf_take(&b, NULL);
}

char *desired_valkey_conf(const struct vkc_spec *s) { return render_conf(s, CONF_FULL); }

char *desired_restart_conf(const struct vkc_spec *s) { return render_conf(s, CONF_FOR_HASH); }

json_t *desired_config_map(const struct desired_input *in)
{
    struct desired_names n;
    char *conf = desired_valkey_conf(in->spec);
    if (!conf)
        return NULL;
    desired_names_of(in->name, in->spec, &n);
    json_t *cm = object_head(in, "v1", "ConfigMap", n.config_map);
    if (cm)
        json_object_set_new(cm, "data", json_pack("{s:s}", "valkey.conf", conf));
    free(conf);
    return cm;
}

static json_t *service_ports(void)
{
    return json_pack("[{s:s, s:i, s:i, s:s}]", "name", "valkey", "port", DESIRED_PORT,
                     "targetPort", DESIRED_PORT, "protocol", "TCP");
}

/* The headless Service's ports: valkey, and the exporter's "metrics" (for a ServiceMonitor or
 * a scrape job on endpoints) when spec.metrics.enabled. New. */
static json_t *headless_ports(const struct vkc_spec *s)
{
    json_t *ports = service_ports();
    if (ports && s->metrics_enabled)
        json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}", "name", "metrics", "port", DESIRED_METRICS_PORT,
                                               "targetPort", DESIRED_METRICS_PORT, "protocol", "TCP"));
    return ports;
}

json_t *desired_headless_service(const struct desired_input *in)
{
    struct desired_names n;
    desired_names_of(in->name, in->spec, &n);
    json_t *svc = object_head(in, "v1", "Service", n.headless);
    if (svc)
        json_object_set_new(svc, "spec", json_pack("{s:s, s:b, s:o, s:o}", "clusterIP", "None",
                                                   "publishNotReadyAddresses", 1, "selector",
                                                   desired_selector_labels(in->name), "ports", headless_ports(in->spec)));
    return svc;
}

static json_t *role_service(const struct desired_input *in, const char *name, const char *role)
{
    json_t *svc = object_head(in, "v1", "Service", name);
    json_t *sel = desired_selector_labels(in->name);
    if (!svc || !sel) {
        json_decref(svc);
        json_decref(sel);
        return NULL;
    }
    json_object_set_new(sel, DESIRED_ROLE_LABEL, json_string(role));
    json_object_set_new(svc, "spec", json_pack("{s:s, s:o, s:o}", "type",
                                               vkc_service_type_names[in->spec->service_type],
                                               "selector", sel, "ports", service_ports()));
    return svc;
}

json_t *desired_primary_service(const struct desired_input *in)
{
    struct desired_names n;
    desired_names_of(in->name, in->spec, &n);
    return role_service(in, n.primary_service, DESIRED_ROLE_PRIMARY);
}

json_t *desired_replica_service(const struct desired_input *in)
{
    struct desired_names n;
    desired_names_of(in->name, in->spec, &n);
    return role_service(in, n.replica_service, DESIRED_ROLE_REPLICA);
}

/* The data volume's claim template (new), or NULL without spec.storage.size. */
static json_t *data_claim(const struct vkc_spec *s)
{
    char size[32];
    if (!s->has_storage_size)
        return NULL;
    snprintf(size, sizeof(size), "%lld", (long long)quantity_value(s->storage_size));
    json_t *claim = json_pack("{s:{s:s}, s:{s:[s], s:{s:{s:s}}}}", "metadata", "name", "data", "spec", "accessModes",
                              "ReadWriteOnce", "resources", "requests", "storage", size);
    if (claim && s->storage_class)
        json_object_set_new(json_object_get(claim, "spec"), "storageClassName", json_string(s->storage_class));
    return claim;
}

json_t *desired_statefulset(const struct desired_input *in)
{
    const struct vkc_spec *s = in->spec;
    struct desired_names n;
    desired_names_of(in->name, s, &n);

    /* OnDelete: the controller rolls the pods itself, replicas first and the primary last after a
     * switchover, so an upgrade never costs an unplanned failover. */
    json_t *sts = object_head(in, "apps/v1", "StatefulSet", n.statefulset);
    json_t *tmpl = pod_template(in);
    json_t *spec = tmpl ? json_pack("{s:i, s:s, s:s, s:{s:o}, s:{s:s}, s:o}", "replicas", (int)s->replicas,
                                    "serviceName", n.headless, "podManagementPolicy", "Parallel", "selector",
                                    "matchLabels", desired_selector_labels(in->name), "updateStrategy", "type",
                                    "OnDelete", "template", tmpl)
                        : NULL;
    if (!sts || !spec) {
        json_decref(sts);
        json_decref(spec);
        return NULL;
    }
    json_t *claim = data_claim(s);
    if (claim)
        json_object_set_new(spec, "volumeClaimTemplates", json_pack("[o]", claim));
    json_object_set_new(sts, "spec", spec);
    char *applied = in->spec_json ? json_dumps(in->spec_json, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (applied)
        json_object_set_new(json_object_get(sts, "metadata"), "annotations",
                            json_pack("{s:s}", DESIRED_APPLIED_SPEC_ANNOTATION, applied));
    free(applied);
    return sts;
}

json_t *desired_pdb(const struct desired_input *in)
{
    struct desired_names n;
    if (!in->spec->pdb_enabled || in->spec->replicas < 2)
        return NULL;
    desired_names_of(in->name, in->spec, &n);
    json_t *pdb = object_head(in, in->pdb_api_version ? in->pdb_api_version : "policy/v1",
                              "PodDisruptionBudget", n.pdb);
    if (pdb)
        json_object_set_new(pdb, "spec", json_pack("{s:i, s:{s:o}}", "maxUnavailable", 1, "selector",
                                                   "matchLabels", desired_selector_labels(in->name)));
    return pdb;
}

/* Two strings that are both Kubernetes quantities compare by value. */
static bool same_quantity(const char *a, const char *b)
{
    quantity_t qa, qb;
    char err[8];
    return quantity_parse(a, &qa, err, sizeof(err)) == 0 && quantity_parse(b, &qb, err, sizeof(err)) == 0 &&
           quantity_cmp(qa, qb) == 0;
}

static bool is_empty(const json_t *v)
{
    return (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0);
}

/* quantities: inside a "requests" or "limits" map, where strings are quantities that the API
 * server may write in another form ("1Gi" comes back as "1Gi", "1000m" as "1"). */
static bool matches(const json_t *d, const json_t *o, bool quantities)
{
    if (!o || json_is_null(o))
        return is_empty(d); /* the API server leaves empty lists and maps out */
    if (json_is_object(d)) {
        const char *k;
        const json_t *v;
        if (!json_is_object(o))
            return false;
        json_object_foreach((json_t *)d, k, v)
        {
            bool q = quantities || strcmp(k, "requests") == 0 || strcmp(k, "limits") == 0;
            if (!matches(v, json_object_get(o, k), q))
                return false;
        }
        return true;
    }
    if (json_is_array(d)) {
        if (!json_is_array(o) || json_array_size(d) != json_array_size(o))
            return false;
        for (size_t i = 0; i < json_array_size(d); i++)
            if (!matches(json_array_get(d, i), json_array_get(o, i), false))
                return false;
        return true;
    }
    if (json_is_string(d) && json_is_string(o))
        return strcmp(json_string_value(d), json_string_value(o)) == 0 ||
               (quantities && same_quantity(json_string_value(d), json_string_value(o)));
    return json_equal((json_t *)d, (json_t *)o);
}

bool desired_matches(const json_t *d, const json_t *o)
{
    if (!o)
        return false;
    return matches(d, o, false);
}
