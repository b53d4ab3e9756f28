/* planned_moves.h — moving the primary on purpose, with FAILOVER TO (writes pause until the
 * target has caught up, so no acknowledged write is lost): a switchover a user asks for with
 * the gungnir.dev/switchover-to annotation, a scale-down past the primary's ordinal, and the
 * rolling update that puts every pod on the StatefulSet's new template one at a time. */
#ifndef GUNGNIR_PLANNED_MOVES_H
#define GUNGNIR_PLANNED_MOVES_H

#include "cluster_ctx.h"

#include <stdint.h>

#define MOVES_SWITCHOVER_WAIT_MS 15000 /* bound of one switchover, FAILOVER TO included */

/* Moves the primary role from primary to target (a reachable replica), waits (bounded) until
 * target reports itself primary, then moves the labels (the old primary's first: never two pods
 * labelled primary) and records an Event ending with why. Returns 0 when done, else -1. */
int moves_switchover(struct cluster_ctx *c, struct pod_view *primary, struct pod_view *target, const char *why);

/* Carries out the gungnir.dev/switchover-to=<pod> annotation once, then removes it; while the
 * pod cannot take over, the request waits (logged). *primary follows the move. Returns 1 while
 * the request is pending, else 0. */
int moves_requested_switchover(struct cluster_ctx *c, struct pod_view **primary);

/* When spec.replicas would remove the primary's pod: keeps the StatefulSet's current size in
 * *sts_replicas and moves the primary to the best pod that stays. *primary follows the move.
 * Returns 1 while the scale-down waits, else 0. */
int moves_scale_down(struct cluster_ctx *c, struct pod_view **primary, int64_t *sts_replicas);

/* Rolls pods onto update_revision one at a time, replicas first (highest ordinal first), then
 * the primary after a switchover to an updated replica. A pod is deleted only while all `pods`
 * pods of the StatefulSet (ordinals 0..pods-1) exist, are Ready and answer: never two out of
 * service at once. Returns 1 while a pod is being rolled (the cluster is not settled), else 0. */
int moves_roll_pods(struct cluster_ctx *c, struct pod_view *primary, const char *update_revision, int64_t pods);

#endif
