/* leader.h — leader election with a coordination.k8s.io/v1 Lease, as client-go does it.
 *
 * A thread tries to acquire the Lease every retry period and, once it holds it, renews it.
 * Another holder's lease counts as expired when its record has not changed for a whole lease
 * duration by this process's own monotonic clock (no trust in remote clocks). When a renewal
 * has not succeeded for renew_deadline the leadership is dropped at once: leader_fence() turns
 * non-zero before anything else happens, so writers guarded by it stop in the middle of what
 * they do. Losing the Lease outright (another holder's live record, or a write answered 409)
 * drops it at once too. Every update carries the resourceVersion it read, so two candidates
 * never both win.
 *
 * Each round is leader_attempt (one GET and at most one POST or PUT, through a kube_api) then
 * leader_settle (the fence); both take the time from the caller, so the unit tests drive them
 * with a fake kube_api and a clock of their own. */
#ifndef GUNGNIR_LEADER_H
#define GUNGNIR_LEADER_H

#include "kube_api.h"
#include "kube_client.h"

#include <stdbool.h>
#include <stdint.h>

struct leader_options {
    const char *namespace_;  /* where the Lease lives */
    const char *name;        /* the Lease's name, e.g. "gungnir-leader" */
    const char *identity;    /* this candidate (hostname + random suffix) */
    long lease_duration_s;   /* 15 */
    long renew_deadline_s;   /* 10 */
    long retry_period_s;     /* 2 */
};

struct leader;

/* Starts campaigning on a thread with its own client. Its requests time out well within the
 * gap between the renew deadline and the lease duration, so a hung request cannot keep this
 * process leading after another may have taken over. Returns NULL with err on failure. */
struct leader *leader_start(const struct leader_options *opt, const struct kube_client_options *client,
                            char *err, size_t errlen);

/* A candidate with no thread that talks through api (borrowed; it must outlive the leader):
 * the caller runs the rounds with leader_attempt and leader_settle. Fenced at first. Free with
 * leader_stop. Returns NULL when out of memory. */
struct leader *leader_new(const struct leader_options *opt, struct kube_api *api);

/* Stops the thread, if any (a held Lease is then released: holder cleared, so a successor need
 * not wait), and frees l. NULL is a no-op. */
void leader_stop(struct leader *l);

/* What one attempt found. */
enum leader_result {
    LEADER_HELD,     /* created, taken over or renewed: this candidate holds the Lease */
    LEADER_NOT_HELD, /* another holder's record is live, or our write lost the race (409) */
    LEADER_FAILED,   /* no answer or an error answer: whether we hold it is unknown */
};

/* One attempt at now_ms (monotonic milliseconds) with now_wall the MicroTime text written as
 * renewTime / acquireTime ("2026-11-24T16:20:00.123456Z"): GET the Lease; absent, POST a new
 * one naming us (leaseTransitions 0); ours, PUT it renewed; free (no holder) or another's whose
 * holder and renewTime have not changed for more than its leaseDurationSeconds by our clock,
 * PUT it naming us (leaseTransitions + 1); another's live record: nothing. Every PUT is the
 * object read, with its metadata.resourceVersion. Does not touch the fence. */
enum leader_result leader_attempt(struct leader *l, int64_t now_ms, const char *now_wall);

/* Applies an attempt's result at now_ms (monotonic, after the attempt): HELD lifts the fence
 * and counts as a renewal at the attempt's start; NOT_HELD sets the fence at once; FAILED sets
 * it only when no renewal has succeeded for more than renew_deadline. */
void leader_settle(struct leader *l, enum leader_result r, int64_t now_ms);

/* Sets the fence, then gives the Lease up if it names us: PUT with holderIdentity "",
 * leaseDurationSeconds 1 and renewTime now_wall, so a successor takes over at once. Returns 0
 * when the Lease no longer names us (released, absent or another's), -1 when that is not known. */
int leader_release(struct leader *l, const char *now_wall);

/* True while this process holds the Lease. */
bool leader_is_leader(struct leader *l);

/* The fence of kube_client_set_fence and valkey_node_set_fence (borrowed, lives as long as l):
 * closed whenever this process is not the leader — also, by the clock alone, once
 * renew_deadline has passed since the start of the last successful renewal, so a process that
 * was paused past its Lease is fenced before its election thread runs again. */
const struct fence *leader_fence(struct leader *l);

/* Writes a fresh identity "<hostname>_<8 hex>" into buf. */
void leader_make_identity(char *buf, size_t size);

#endif
