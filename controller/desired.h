/* desired.h — what a ValkeyCluster should own: pure builders of the Kubernetes objects
 * (api.md, "What the controller owns"), and the comparison that decides whether an observed
 * object already matches. No I/O; every builder returns a new json_t (NULL on allocation
 * failure) that is a complete server-side-apply body (apiVersion, kind, metadata with the
 * owner reference, and the fields Gungnir manages — nothing else). */
#ifndef GUNGNIR_DESIRED_H
#define GUNGNIR_DESIRED_H

#include "vkc_spec.h"

#include <jansson.h>
#include <stdbool.h>

#define DESIRED_PORT 6379
#define DESIRED_FENCE_HOST "192.0.2.1" /* TEST-NET-1: never routed; pods boot as its replica */
#define DESIRED_FENCE_PORT 6379
#define DESIRED_ROLE_LABEL "gungnir.dev/role"
#define DESIRED_ROLE_PRIMARY "primary"
#define DESIRED_ROLE_REPLICA "replica"
#define DESIRED_PASSWORD_KEY "password"
#define DESIRED_SWITCHOVER_ANNOTATION "gungnir.dev/switchover-to" /* on the ValkeyCluster: <pod> */
/* On the StatefulSet: the defaulted spec it was made from (compact JSON, sorted keys), so that
 * a later spec the controller refuses leaves it the last valid one, across restarts too. */
#define DESIRED_APPLIED_SPEC_ANNOTATION "gungnir.dev/applied-spec"
#define DESIRED_NAME_MAX 64
#define DESIRED_METRICS_PORT 9121 /* the exporter sidecar's metrics port (spec.metrics.enabled) */
/* The exporter sidecar's image: the standard Redis/Valkey exporter (Debian packages the same
 * program as prometheus-redis-exporter). */
#define DESIRED_EXPORTER_IMAGE "oliver006/redis_exporter:v1.67.0"

/* The names of everything a cluster owns, derived from its name. */
struct desired_names {
    char auth_secret[DESIRED_NAME_MAX + 8]; /* spec.auth.secretName or <name>-auth */
    char config_map[DESIRED_NAME_MAX + 8];  /* <name>-config */
    char headless[DESIRED_NAME_MAX + 12];   /* <name>-headless */
    char primary_service[DESIRED_NAME_MAX]; /* <name> */
    char replica_service[DESIRED_NAME_MAX + 12]; /* <name>-replicas */
    char statefulset[DESIRED_NAME_MAX];     /* <name> */
    char pdb[DESIRED_NAME_MAX];             /* <name> */
};

/* The ValkeyCluster being reconciled: its identity and its parsed (defaulted) spec. */
struct desired_input {
    const char *name, *namespace_, *uid;
    const struct vkc_spec *spec;
    const json_t *spec_json;     /* the defaulted spec the struct was parsed from (borrowed) */
    const char *pdb_api_version; /* "policy/v1" or "policy/v1beta1" */
};

void desired_names_of(const char *name, const struct vkc_spec *s, struct desired_names *out);

/* The labels every owned object and pod carries (new object): app.kubernetes.io/name=valkey,
 * app.kubernetes.io/instance=<name>, app.kubernetes.io/managed-by=gungnir. */
json_t *desired_labels(const char *name);

/* The selector's matchLabels (new): the labels of a cluster's pods that never change over its
 * life. */
json_t *desired_selector_labels(const char *name);

/* The label selector of a cluster's pods as text for a list call ("a=b,c=d"). */
void desired_selector_text(const char *name, char *buf, size_t size);

/* Secret <name>-auth holding a new random password (base64 in data.password). Only created,
 * never updated: the password must not change under running clients. NULL when auth is off or
 * the user names their own Secret. */
json_t *desired_auth_secret(const struct desired_input *in);

/* The valkey.conf text the ConfigMap carries (new string, free() it). */
char *desired_valkey_conf(const struct vkc_spec *s);

/* The same with every spec.config line that is applied live (conf_key_needs_restart false)
 * reduced to its key: the text whose change needs the pods restarted (its hash is a pod
 * template annotation). Adding or removing a live key changes it; changing its value does
 * not (controller/live_config.h applies that with CONFIG SET). New string, free() it. */
char *desired_restart_conf(const struct vkc_spec *s);

json_t *desired_config_map(const struct desired_input *in);
json_t *desired_headless_service(const struct desired_input *in);
json_t *desired_primary_service(const struct desired_input *in);
json_t *desired_replica_service(const struct desired_input *in);
json_t *desired_statefulset(const struct desired_input *in);
/* NULL when spec.podDisruptionBudget.enabled is false or replicas < 2. */
json_t *desired_pdb(const struct desired_input *in);

/* True when every field of desired is present and equal in observed (fields the server or
 * other writers added to observed are ignored). Arrays must have the same length; an empty
 * list or map in desired matches an absent one (the API server omits them). Strings inside
 * "requests" and "limits" maps are compared as quantities ("1Gi" equals "1073741824"), and only
 * there. Both borrowed. */
bool desired_matches(const json_t *desired, const json_t *observed);

#endif
