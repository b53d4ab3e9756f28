/* cluster_status.h — the status a reconcile writes: phase, counts and the four conditions of
 * api.md, computed from what the reconcile observed. Pure (the time is passed in), so the
 * rules are unit-tested; a condition keeps its lastTransitionTime while its status holds. */
#ifndef GUNGNIR_CLUSTER_STATUS_H
#define GUNGNIR_CLUSTER_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* What the reconcile saw. Strings are borrowed. */
struct status_facts {
    int64_t generation;    /* metadata.generation */
    int64_t replicas;      /* spec.replicas */
    int64_t pods;          /* pods that exist */
    int64_t ready;         /* pods Ready */
    const char *selector;  /* label selector text of the pods */
    const char *primary;   /* pod name of the primary, or NULL */
    bool invalid;          /* the spec breaks a rule: nothing is created */
    const char *invalid_message;
    const char *blocked_message; /* something stops progress (e.g. a foreign object), or NULL */
    const char *refused_message; /* the newest spec was refused; the last valid one runs, or NULL */
    bool failover_in_progress;
};

/* Returns the new status object (new reference): phase, replicas, readyReplicas, selector,
 * primary, observedGeneration and conditions. old_status (borrowed, may be NULL) supplies
 * lastTransitionTime of conditions whose status did not change. now is RFC 3339. Fields this
 * function does not own (failover, lastFailover) are not included. */
json_t *cluster_status_build(const json_t *old_status, const struct status_facts *f, const char *now);

/* The conditions of old_status (borrowed, may be NULL) with the one of type set to status,
 * reason and message (the others as they are; lastTransitionTime kept while its status holds):
 * for a status write that changes one condition, as the failover's record and end do. Returns
 * a new array, or NULL when out of memory. */
json_t *cluster_status_set_condition(const json_t *old_status, const char *type, bool status, const char *reason,
                                     const char *message, int64_t generation, const char *now);

/* True when new_status says nothing old_status does not already say (no write needed). */
bool cluster_status_unchanged(const json_t *old_status, const json_t *new_status);

/* Writes the current UTC time as RFC 3339 in whole seconds ("2026-11-24T16:20:00Z") into buf:
 * clock_wall_rfc3339(buf, size, 0), under the name the reconcile steps call. buf is "" when it
 * is too small (CLOCK_RFC3339_MAX suffices). */
void cluster_status_now(char *buf, size_t size);

#endif
