/* pod_template.c — see pod_template.h. */
#include "pod_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a of the config text: a pod template annotation, so a config change rolls the pods. */
static unsigned long long config_hash(const char *text)
{
    unsigned long long h = 1469598103934665603ULL;
    for (; *text; text++) {
        h ^= (unsigned char)*text;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Copies spec.pod.<key> (borrowed) into target when set. */
static void pass_through(json_t *target, const json_t *pod, const char *key)
{
    const json_t *v = json_object_get(pod, key);
    if (v && !json_is_null(v))
        json_object_set_new(target, key, json_deep_copy(v));
}

static json_t *anti_affinity(const struct desired_input *in)
{
    json_t *term = json_pack("{s:{s:o}, s:s}", "labelSelector", "matchLabels",
                             desired_selector_labels(in->name), "topologyKey", "kubernetes.io/hostname");
    if (!term)
        return NULL;
    if (in->spec->anti_affinity == VKC_ANTI_AFFINITY_REQUIRED)
        return json_pack("{s:[o]}", "requiredDuringSchedulingIgnoredDuringExecution", term);
    return json_pack("{s:[{s:i, s:o}]}", "preferredDuringSchedulingIgnoredDuringExecution",
                     "weight", 100, "podAffinityTerm", term);
}

/* The shell script that starts the server. With auth, the password reaches valkey-server as
 * config lines on its standard input (the trailing "-" argument: valkey-server reads more config
 * from stdin), from a here-document the shell fills from the environment: it is never in an
 * argument list (ps), the ConfigMap, the pod spec (only the Secret reference is) or a log. The
 * Secret's password must not hold '"', '\\' or a control character (cluster_password.h refuses
 * them) so that the double quotes below keep it one value. */
static const char *start_command(bool auth)
{
    return auth ? "exec valkey-server /etc/valkey/valkey.conf - <<EOF\n"
                  "requirepass \"$VALKEY_PASSWORD\"\n"
                  "masterauth \"$VALKEY_PASSWORD\"\n"
                  "EOF\n"
                : "exec valkey-server /etc/valkey/valkey.conf";
}

/* The readiness probe: valkey-cli takes the password from VALKEYCLI_AUTH (REDISCLI_AUTH before
 * Valkey 8), never from -a. */
static const char *probe_command(void) { return "valkey-cli ping | grep -q PONG"; }

/* The uid and gid of the valkey user in the official valkey images. */
#define VALKEY_UID 999

/* The pod's securityContext: non-root, with the data volume's group, and the runtime's seccomp
 * profile — what the "restricted" Pod Security Standard asks for. New. */
static json_t *pod_security_context(void)
{
    return json_pack("{s:b, s:i, s:i, s:i, s:s, s:{s:s}}", "runAsNonRoot", 1, "runAsUser", VALKEY_UID, "runAsGroup",
                     VALKEY_UID, "fsGroup", VALKEY_UID, "fsGroupChangePolicy", "OnRootMismatch", "seccompProfile",
                     "type", "RuntimeDefault");
}

/* The container's securityContext: no privilege escalation, no capability. New. */
static json_t *container_security_context(void)
{
    return json_pack("{s:b, s:{s:[s]}}", "allowPrivilegeEscalation", 0, "capabilities", "drop", "ALL");
}

/* The env of the valkey container (new): the password by Secret reference, under the names
 * the start script and valkey-cli read. */
static json_t *valkey_env(const struct vkc_spec *s, const struct desired_names *n)
{
    static const char *const names[] = {"VALKEY_PASSWORD", "VALKEYCLI_AUTH", "REDISCLI_AUTH"};
    json_t *env = json_array();
    for (size_t i = 0; s->auth_enabled && env && i < sizeof(names) / sizeof(names[0]); i++)
        json_array_append_new(env, json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", names[i], "valueFrom", "secretKeyRef",
                                             "name", n->auth_secret, "key", DESIRED_PASSWORD_KEY));
    return env;
}

/* The pod template's labels (ours, then the user's that do not clash) and annotations (the
 * user's, then the config hash that rolls the pods when a line of valkey.conf changes that
 * Valkey reads only at start: desired_restart_conf). Both new.
 * Returns 0, or -1 when the config could not be rendered (out of memory). */
static int pod_metadata(const struct desired_input *in, json_t **labels, json_t **annotations)
{
    const json_t *pod = in->spec->pod;
    const char *k;
    const json_t *v;
    char hash[32];
    char *conf = desired_restart_conf(in->spec);
    *labels = desired_labels(in->name);
    *annotations = json_object();
    json_object_foreach((json_t *)json_object_get(pod, "labels"), k, v)
        if (!json_object_get(*labels, k))
            json_object_set_new(*labels, k, json_deep_copy(v));
    json_object_foreach((json_t *)json_object_get(pod, "annotations"), k, v)
        json_object_set_new(*annotations, k, json_deep_copy(v));
    if (!conf)
        return -1;
    snprintf(hash, sizeof(hash), "%016llx", config_hash(conf));
    json_object_set_new(*annotations, "gungnir.dev/config-hash", json_string(hash));
    free(conf);
    if (in->spec->metrics_enabled) {
        /* Where Prometheus' usual kubernetes-pods scrape job finds the exporter. */
        char port[16];
        snprintf(port, sizeof(port), "%d", DESIRED_METRICS_PORT);
        json_object_set_new(*annotations, "prometheus.io/scrape", json_string("true"));
        json_object_set_new(*annotations, "prometheus.io/port", json_string(port));
        json_object_set_new(*annotations, "prometheus.io/path", json_string("/metrics"));
    }
    return 0;
}

/* The valkey container (new). */
static json_t *valkey_container(const struct desired_input *in, const struct desired_names *n)
{
    const struct vkc_spec *s = in->spec;
    json_t *container = json_pack(
        "{s:s, s:s, s:s, s:[s, s, s], s:o, s:[{s:s, s:i, s:s}], s:[{s:s, s:s}, {s:s, s:s}],"
        " s:{s:{s:[s, s, s]}, s:i, s:i, s:i, s:i}, s:o}",
        "name", "valkey", "image", s->image, "imagePullPolicy", vkc_pull_policy_names[s->pull_policy],
        "command", "sh", "-c", start_command(s->auth_enabled), "env", valkey_env(s, n),
        "ports", "name", "valkey", "containerPort", DESIRED_PORT, "protocol", "TCP",
        "volumeMounts", "name", "config", "mountPath", "/etc/valkey", "name", "data", "mountPath", "/data",
        "readinessProbe", "exec", "command", "sh", "-c", probe_command(),
        "periodSeconds", 2, "timeoutSeconds", 2, "failureThreshold", 2, "successThreshold", 1,
        "securityContext", container_security_context());
    const json_t *res = in->spec_json ? json_object_get(in->spec_json, "resources") : NULL;
    if (container && json_is_object(res) && json_object_size(res) > 0)
        json_object_set_new(container, "resources", json_deep_copy(res));
    return container;
}

/* The exporter's resources (new), so that the pod keeps the QoS class spec.qosClass names: a
 * Guaranteed pod needs limits equal to requests in every container, a BestEffort pod none. */
static json_t *exporter_resources(const struct vkc_spec *s)
{
    enum vkc_qos qos = s->has_qos ? s->qos : vkc_spec_derived_qos(&s->requests, &s->limits);
    switch (qos) {
    case VKC_QOS_GUARANTEED:
        return json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "requests", "cpu", "50m", "memory", "64Mi", "limits", "cpu",
                         "50m", "memory", "64Mi");
    case VKC_QOS_BURSTABLE:
        return json_pack("{s:{s:s, s:s}, s:{s:s}}", "requests", "cpu", "10m", "memory", "32Mi", "limits", "memory",
                         "64Mi");
    case VKC_QOS_BEST_EFFORT:
        break;
    }
    return NULL;
}

/* The metrics sidecar (new): the exporter scrapes the server on localhost and serves
 * /metrics on DESIRED_METRICS_PORT, with the password by Secret reference. */
static json_t *exporter_container(const struct vkc_spec *s, const struct desired_names *n)
{
    char listen[16];
    snprintf(listen, sizeof(listen), ":%d", DESIRED_METRICS_PORT);
    json_t *env = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "REDIS_ADDR", "value", "redis://localhost:6379", "name",
                            "REDIS_EXPORTER_WEB_LISTEN_ADDRESS", "value", listen);
    if (env && s->auth_enabled)
        json_array_append_new(env, json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", "REDIS_PASSWORD", "valueFrom",
                                             "secretKeyRef", "name", n->auth_secret, "key", DESIRED_PASSWORD_KEY));
    json_t *c = json_pack("{s:s, s:s, s:s, s:o, s:[{s:s, s:i, s:s}], s:o}", "name", "metrics", "image",
                          DESIRED_EXPORTER_IMAGE, "imagePullPolicy", vkc_pull_policy_names[s->pull_policy], "env", env,
                          "ports", "name", "metrics", "containerPort", DESIRED_METRICS_PORT, "protocol", "TCP",
                          "securityContext", container_security_context());
    json_t *res = exporter_resources(s);
    if (c && res)
        json_object_set_new(c, "resources", res);
    else
        json_decref(res);
    return c;
}

/* The pod spec (new): the container, the config volume (and an emptyDir for data without
 * storage), scheduling fields passed through, anti-affinity unless the user gave their own. */
static json_t *pod_spec_of(const struct desired_input *in, const struct desired_names *n)
{
    const struct vkc_spec *s = in->spec;
    const json_t *pod = s->pod;
    json_t *volumes = json_pack("[{s:s, s:{s:s}}]", "name", "config", "configMap", "name", n->config_map);
    if (volumes && !s->has_storage_size)
        json_array_append_new(volumes, json_pack("{s:s, s:{}}", "name", "data", "emptyDir"));
    json_t *pod_spec = json_pack("{s:[o], s:o, s:i, s:o}", "containers", valkey_container(in, n), "volumes", volumes,
                                 "terminationGracePeriodSeconds", 30, "securityContext", pod_security_context());
    if (!pod_spec)
        return NULL;
    if (s->metrics_enabled)
        json_array_append_new(json_object_get(pod_spec, "containers"), exporter_container(s, n));
    pass_through(pod_spec, pod, "nodeSelector");
    pass_through(pod_spec, pod, "tolerations");
    pass_through(pod_spec, pod, "topologySpreadConstraints");
    pass_through(pod_spec, pod, "priorityClassName");
    const json_t *aff = json_object_get(pod, "affinity");
    json_t *affinity = json_is_object(aff) ? json_deep_copy(aff) : json_object();
    if (s->anti_affinity != VKC_ANTI_AFFINITY_NONE && !json_object_get(affinity, "podAntiAffinity"))
        json_object_set_new(affinity, "podAntiAffinity", anti_affinity(in));
    if (json_object_size(affinity) > 0)
        json_object_set_new(pod_spec, "affinity", affinity);
    else
        json_decref(affinity);
    return pod_spec;
}

json_t *pod_template(const struct desired_input *in)
{
    struct desired_names n;
    json_t *labels, *annotations;
    desired_names_of(in->name, in->spec, &n);
    bool hashed = pod_metadata(in, &labels, &annotations) == 0;
    json_t *tmpl = json_pack("{s:{s:o, s:o}, s:o}", "metadata", "labels", labels, "annotations", annotations, "spec",
                             pod_spec_of(in, &n));
    if (tmpl && !hashed) {
        json_decref(tmpl);
        return NULL;
    }
    return tmpl;
}
