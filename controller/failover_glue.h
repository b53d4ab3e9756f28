/* failover_glue.h — from the monitor's verdict to the failover engine (failover.h) inside a
 * reconcile: decides whether the labelled primary is down (SDOWN from the monitor, its pod being
 * deleted, its server restarted fenced, or its pod gone), runs the engine with hooks that
 * record the attempt in status.failover, move the role labels and write lastFailover and an
 * Event; finishes or closes an attempt a controller restart interrupted; and fences an old
 * primary that runs but does not answer. */
#ifndef GUNGNIR_FAILOVER_GLUE_H
#define GUNGNIR_FAILOVER_GLUE_H

#include "cluster_ctx.h"

#include <stdbool.h>

/* An attempt recorded (status.failover.inProgress) but not finished — as the API server, not
 * the cache, says — is finished when its candidate serves as primary, and closed otherwise. */
void failover_glue_resume(struct cluster_ctx *c);

/* The primary after this step: the labelled primary when it is well; when it is down, the
 * replica promoted in its place, or NULL (c->blocked then says why, and *down is true). A
 * single-pod cluster whose primary restarted loses the label and is elected again. A labelled
 * primary that follows another pod serving as primary (a switchover whose labels were not
 * written before its controller stopped) is not down: the labels move to the pod that serves.
 * *down says a failure of the primary was seen (or the labels could not be moved). */
struct pod_view *failover_glue_step(struct cluster_ctx *c, bool *down);

/* After a failover: when the old primary (status.lastFailover.from) has a ready pod whose
 * server does not answer, that pod is deleted so stale client connections end; it comes back
 * fenced and rejoins as a replica. */
void failover_glue_fence_old_primary(struct cluster_ctx *c, const struct pod_view *primary);

#endif
