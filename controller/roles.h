/* roles.h — who leads and who follows in a cluster that has no failover to run: the first
 * election of a primary, replicas pointed at it, and the gungnir.dev/role labels that route the
 * Services. Pods boot fenced (replicas of an unreachable address): only these steps, the
 * failover engine and the planned moves ever make a server primary. */
#ifndef GUNGNIR_ROLES_H
#define GUNGNIR_ROLES_H

#include "cluster_ctx.h"

/* Chooses and promotes the first primary (REPLICAOF NO ONE, then the label and an Event). A
 * pod already serving as primary keeps the role. Otherwise every pod must have answered, so
 * that the one with the most data is chosen. Returns the primary, or NULL when it cannot yet. */
struct pod_view *roles_elect_first_primary(struct cluster_ctx *c);

/* Points every other answering pod at primary (REPLICAOF) and labels it replica. Returns how
 * many pods still need work (not answering, not yet pointed, or still syncing). */
int roles_attach_replicas(struct cluster_ctx *c, const struct pod_view *primary);

/* gungnir_valkeycluster_pods{namespace,valkeycluster,role}: the pods by role label. */
void roles_publish(const struct cluster_ctx *c);

/* Removes every metric series of the ValkeyCluster namespace_/name, of any metric: those whose
 * labels carry namespace="namespace_" and valkeycluster="name" (this module's
 * gungnir_valkeycluster_pods and failover_glue's gungnir_failover_last_duration_seconds). Call
 * it once the ValkeyCluster is deleted; a later roles_publish of the same cluster registers
 * them again. Thread-safe (metrics_remove_matching). Returns how many series were removed. */
size_t roles_forget_metrics(const char *namespace_, const char *name);

#endif
