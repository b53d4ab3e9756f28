/* first_election.h — whether the first election of a cluster's primary may go on without the
 * pods that do not answer. Pure: the caller says what it knows of each pod.
 *
 * The election wants every pod, so that the one with the most data is chosen. It waits
 * FIRST_ELECTION_WAIT_MS (from each pod's creation) for a pod to answer; after that it goes on
 * without a pod only when that pod cannot hold data the others lack:
 *   - its server never started in this pod's life (Pending, no container ever ran), and
 *   - the cluster never had a primary (nothing was ever written to it), and
 *   - it has no volume of its own from before: emptyDir, or its claim does not exist yet or was
 *     created at or after the ValkeyCluster (a claim kept from an earlier cluster of the same
 *     name may hold that cluster's data).
 * A pod that runs but is slow (loading a large RDB, say) is always waited for. */
#ifndef GUNGNIR_FIRST_ELECTION_H
#define GUNGNIR_FIRST_ELECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIRST_ELECTION_WAIT_MS 60000

/* What is known of a pod's data volume. */
enum election_claim {
    CLAIM_EMPTYDIR, /* no claim: emptyDir, born empty with the pod */
    CLAIM_UNKNOWN,  /* not read (yet): assume it may hold data */
    CLAIM_MISSING,  /* the claim does not exist yet */
    CLAIM_NEW,      /* created at or after the ValkeyCluster */
    CLAIM_OLD,      /* created before the ValkeyCluster: may hold an earlier cluster's data */
};

struct election_pod {
    const char *name;   /* borrowed */
    bool answered;      /* its server answered the probe */
    bool never_started; /* Pending, and no container of it ever ran */
    int64_t age_ms;     /* since the pod was created (-1: unknown) */
    enum election_claim claim;
};

/* Returns true when the election may go on among the pods that answered (at least one did, and
 * every other may be left out by the rules above); else false with the reason in why (the
 * pods waited for and why each is). A pod that answered is never left out. */
bool first_election_may_go_on(const struct election_pod *pods, size_t n, bool had_primary, char *why, size_t whylen);

/* True when the caller should read pod's claim to decide (its claim is CLAIM_UNKNOWN and it is
 * the only thing that keeps the pod in). */
bool first_election_needs_claim(const struct election_pod *pod, bool had_primary);

#endif
