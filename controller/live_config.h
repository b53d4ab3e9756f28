/* live_config.h — spec.config applied to running servers with CONFIG SET, without a restart,
 * for every key Valkey takes at run time (conf_key_needs_restart false). A key it reads only at
 * start, or a key added or removed, changes the pod template's config hash instead and is
 * applied by the rolling update (planned_moves.h). The ConfigMap always holds every line, so a
 * pod that restarts reads the same values.
 *
 * What was applied to each server is remembered (by pod and the server's run_id), so a
 * settled cluster sends no command; after an operator restart each server gets the values once
 * more (CONFIG SET of the same value is harmless). A value Valkey refuses is reported: the
 * cluster is Degraded with Valkey's words and one Warning Event ConfigRefused. */
#ifndef GUNGNIR_LIVE_CONFIG_H
#define GUNGNIR_LIVE_CONFIG_H

#include "cluster_ctx.h"

/* Applies the live keys of spec.config to every pod that answered its probe. Returns how many
 * pods still need it (refused or unreachable). */
int live_config_step(struct cluster_ctx *c);

/* Forgets what was applied to the pods of cluster namespace/name (it was deleted). */
void live_config_forget(const char *namespace_, const char *name);

#endif
