/* owned_objects.h — the objects a ValkeyCluster owns (auth Secret, ConfigMap, Services, PDB,
 * StatefulSet), brought to their desired state (desired.h): each is compared with the cached
 * copy and applied only when it differs, so a settled cluster costs no write. An object of the
 * same name controlled by someone else is never taken over. */
#ifndef GUNGNIR_OWNED_OBJECTS_H
#define GUNGNIR_OWNED_OBJECTS_H

#include "cluster_ctx.h"
#include "desired.h"

#include <stdbool.h>
#include <stddef.h>

/* The auth Secret (created once, never rewritten), the ConfigMap, the three Services and the
 * PDB (deleted when the spec no longer asks for one: podDisruptionBudget.enabled false, or one
 * pod). Returns 0, or -1 with err naming the object and why. */
int owned_apply_before_pods(struct cluster_ctx *c, const struct desired_input *in, char *err, size_t errlen);

/* The StatefulSet for in (whose spec may carry a replica count other than the cluster's, while
 * a scale-down waits for the primary to move). *created says it did not exist. Returns 0 or -1
 * with err set. */
int owned_apply_statefulset(struct cluster_ctx *c, const struct desired_input *in, bool *created, char *err,
                            size_t errlen);

/* The cluster's password into c->password ("" when auth is off): from the cache of our
 * Secrets, or for a user's Secret (spec.auth.secretName, which carries none of our labels) from
 * the API server. Returns 0, or -1 when the user's Secret cannot be used: c->blocked then says
 * why (missing, no "password" key, not usable) and a Warning Event says it once. Our own Secret
 * missing from the cache is not an error (it was created a moment ago). */
int owned_read_password(struct cluster_ctx *c);

#endif
