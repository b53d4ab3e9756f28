/* leader.h — leader election with a coordination.k8s.io/v1 Lease, as client-go does it.
 *
 * A thread tries to acquire the Lease every retry period and, once it holds it, renews it.
 * Another holder's lease counts as expired when its record has not changed for a whole lease
 * duration by this process's own monotonic clock (no trust in remote clocks). When a renewal
 * has not succeeded for renew_deadline the leadership is dropped at once: leader_fence() turns
 * non-zero before anything else happens, so writers guarded by it stop in the middle of what
 * they do. Every update carries the resourceVersion it read, so two candidates never both win. */
#ifndef GUNGNIR_LEADER_H
#define GUNGNIR_LEADER_H

#include "kube_client.h"

#include <stdbool.h>

struct leader_options {
    const char *namespace_;  /* where the Lease lives */
    const char *name;        /* the Lease's name, e.g. "gungnir-leader" */
    const char *identity;    /* this candidate (hostname + random suffix) */
    long lease_duration_s;   /* 15 */
    long renew_deadline_s;   /* 10 */
    long retry_period_s;     /* 2 */
};

struct leader;

/* Starts campaigning on a thread with its own client. Returns NULL with err on failure. */
struct leader *leader_start(const struct leader_options *opt, const struct kube_client_options *client,
                            char *err, size_t errlen);

/* Stops the thread; a held Lease is released (holder cleared) so a successor need not wait. */
void leader_stop(struct leader *l);

/* True while this process holds the Lease. */
bool leader_is_leader(struct leader *l);

/* A flag for kube_client_set_abort_flag: non-zero whenever this process is not the leader. */
const volatile int *leader_fence(struct leader *l);

/* Writes a fresh identity "<hostname>_<8 hex>" into buf. */
void leader_make_identity(char *buf, size_t size);

#endif
