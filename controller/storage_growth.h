/* storage_growth.h — a larger spec.storage.size applied to a running cluster. A StatefulSet's
 * volumeClaimTemplates cannot change, so the step (1) raises the request of every existing
 * data claim (data-<name>-<ordinal>), which the storage layer expands where its StorageClass
 * allows it; (2) deletes the StatefulSet with orphan propagation, leaving the pods running; (3)
 * lets the next reconcile create it again with the new template, which adopts the pods.
 * status.storage says how far it got: Resizing (asked, waiting for the storage layer),
 * Resized (every claim has the capacity), or Refused (the API server or the storage layer
 * said no: the claims and the StatefulSet stay at the old size). Nothing else waits for it. */
#ifndef GUNGNIR_STORAGE_GROWTH_H
#define GUNGNIR_STORAGE_GROWTH_H

#include "cluster_ctx.h"

#include <stdint.h>

enum storage_growth {
    STORAGE_APPLY,   /* apply the StatefulSet (its claim size in *claim_bytes) */
    STORAGE_WAIT,    /* the old StatefulSet is being deleted: apply nothing this time */
};

/* Decides what the StatefulSet apply of this reconcile does about storage, making the claim
 * patches, the orphaning delete and the status.storage write that takes. *claim_bytes is the
 * size the claim template must carry (the spec's, or the current one while a growth was
 * refused). Returns STORAGE_APPLY or STORAGE_WAIT, or -1 with err set (an API error: retried). */
int storage_growth_step(struct cluster_ctx *c, int64_t *claim_bytes, char *err, size_t errlen);

#endif
