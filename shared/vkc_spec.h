/* vkc_spec.h — the ValkeyCluster spec (gungnir.dev/v1alpha1) as a typed C struct.
 *
 * vkc_spec_parse reads a spec JSON object that has been through vkc_default (vkc_defaults.h);
 * it checks types, enum values and quantity syntax, and fills the struct. Range and cross-field
 * rules are vkc_validate.h's job. Strings and objects in the struct are borrowed from the JSON,
 * which must outlive the struct. A missing field reads as zero / false / NULL. */
#ifndef GUNGNIR_VKC_SPEC_H
#define GUNGNIR_VKC_SPEC_H

#include "field_errors.h"
#include "quantity.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define VKC_GROUP "gungnir.dev"
#define VKC_VERSION "v1alpha1"
#define VKC_API_VERSION "gungnir.dev/v1alpha1"
#define VKC_KIND "ValkeyCluster"
#define VKC_KIND_GROUP "ValkeyCluster.gungnir.dev"
#define VKC_NAME_MAX 52
#define VKC_REPLICAS_MIN 1
#define VKC_REPLICAS_MAX 100
#define VKC_PRIORITIES_MAX VKC_REPLICAS_MAX

enum vkc_pull_policy { VKC_PULL_IF_NOT_PRESENT, VKC_PULL_ALWAYS, VKC_PULL_NEVER };
enum vkc_qos { VKC_QOS_BEST_EFFORT, VKC_QOS_BURSTABLE, VKC_QOS_GUARANTEED };
enum vkc_persistence { VKC_PERSIST_NONE, VKC_PERSIST_RDB, VKC_PERSIST_AOF };
enum vkc_anti_affinity { VKC_ANTI_AFFINITY_PREFERRED, VKC_ANTI_AFFINITY_NONE, VKC_ANTI_AFFINITY_REQUIRED };
enum vkc_service_type { VKC_SERVICE_CLUSTER_IP, VKC_SERVICE_NODE_PORT, VKC_SERVICE_LOAD_BALANCER };

/* Name tables, indexed by the enums above; each ends with NULL. */
extern const char *const vkc_pull_policy_names[];
extern const char *const vkc_qos_names[];
extern const char *const vkc_persistence_names[];
extern const char *const vkc_anti_affinity_names[];
extern const char *const vkc_service_type_names[];
extern const char *const vkc_issuer_kind_names[];

/* cpu and memory of one side (requests or limits) of spec.resources. */
struct vkc_resource_set {
    bool has_cpu, has_memory;
    quantity_t cpu, memory;
    size_t count; /* how many resource names this side lists (cpu, memory and any other) */
};

struct vkc_priority {
    int64_t ordinal;
    int64_t priority;
};

struct vkc_spec {
    int64_t replicas;
    const char *image;
    enum vkc_pull_policy pull_policy;
    struct vkc_resource_set requests, limits;
    bool has_qos;
    enum vkc_qos qos;
    bool has_storage_size;
    quantity_t storage_size;
    const char *storage_class; /* NULL when unset */
    enum vkc_persistence persistence;
    bool has_maxmemory;
    quantity_t maxmemory;
    bool auth_enabled;
    const char *auth_secret_name; /* NULL: the controller makes <name>-auth */
    bool tls_enabled;
    const char *tls_secret_name;
    bool has_issuer;
    const char *issuer_name, *issuer_kind, *issuer_group;
    bool failover_enabled;
    int64_t probe_interval_ms;
    int64_t failure_threshold;
    int64_t replica_priority;
    size_t n_priorities;
    struct vkc_priority priorities[VKC_PRIORITIES_MAX];
    int64_t max_lag_bytes;
    const json_t *config; /* object of string values, or NULL */
    const json_t *pod;    /* spec.pod passthrough, or NULL */
    enum vkc_anti_affinity anti_affinity;
    enum vkc_service_type service_type;
    bool pdb_enabled;
    bool metrics_enabled;
};

/* Parses spec (borrowed) into *out. Type, enum and quantity errors go to errs with their field
 * paths under "spec". Returns 0 when no error was added, else -1 (*out is then filled as far as
 * it could be). */
int vkc_spec_parse(const json_t *spec, struct vkc_spec *out, ferr_list *errs);

/* Reads v (borrowed; may be NULL) as Kubernetes accepts a quantity in JSON: a string or a plain
 * integer, >= 0. Returns 0 with *out set; or -1, after adding an error at path to errs when errs
 * is not NULL (not a string or integer, the parser's message, or below 0). */
int vkc_spec_quantity(const json_t *v, const char *path, quantity_t *out, ferr_list *errs);

/* Reads one side of spec.resources into *out: set (borrowed) is the requests or limits object,
 * NULL or JSON null for none; path is its field path ("spec.resources.requests"). A value that is
 * not a quantity >= 0 is counted but not stored and adds an error at "<path>[<name>]"; a set that
 * is not an object reads as empty and adds a type error at path. errs may be NULL. Returns 0 when
 * every value was read, else -1. The Defaulter and vkc_spec_parse both read resources with it. */
int vkc_spec_resource_set(const json_t *set, const char *path, struct vkc_resource_set *out,
                          ferr_list *errs);

/* The failover priority of the pod with this ordinal: its entry in failover.priorities, else
 * failover.replicaPriority. */
int64_t vkc_spec_pod_priority(const struct vkc_spec *s, int64_t ordinal);

/* The QoS class that s's resources give a pod (Kubernetes' rules: no requests or limits at all
 * is BestEffort; cpu and memory limits set with equal or absent requests is Guaranteed). */
enum vkc_qos vkc_spec_derived_qos(const struct vkc_resource_set *requests,
                                  const struct vkc_resource_set *limits);

#endif
