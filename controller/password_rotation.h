/* password_rotation.h — a new password in the auth Secret applied to the running servers, with
 * no restart and no moment when the primary refuses both passwords.
 *
 * The operator remembers, per cluster, the password it last saw every server accept alone.
 * When servers refuse the Secret's password (it was changed), it connects to each of them
 * with the remembered one and adds the new one (ACL SETUSER default >new: both work now) and
 * sets masterauth to it, primary first. Once every server accepts the new password, clients
 * have PASSWORD_OVERLAP_MS to move over; then it drops the old one (CONFIG SET requirepass new)
 * and remembers the new one. Pods that restart take
 * the new password from the Secret. Without a remembered password (the operator restarted
 * after the Secret changed) it cannot log in: the cluster is Degraded with a message saying
 * so, and nothing else is done to it. */
#ifndef GUNGNIR_PASSWORD_ROTATION_H
#define GUNGNIR_PASSWORD_ROTATION_H

#include "cluster_ctx.h"

#define PASSWORD_OVERLAP_MS 30000 /* both passwords work this long once every server has the new one */

/* Runs after cluster_probe_pods. Adds the new password where it is refused (then probes the
 * pods again), or drops the old one once every pod accepts the new one. Sets c->blocked when a
 * pod refuses the password and no old one is known. */
void password_rotation_step(struct cluster_ctx *c);

/* Forgets what is remembered of cluster namespace/name (it was deleted). */
void password_rotation_forget(const char *namespace_, const char *name);

#endif
