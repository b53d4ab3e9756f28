/* failover_select.h — which replica to promote: one pure function, a total order.
 *
 * Eligible: reachable, a replica, priority > 0, and (when max_lag_bytes > 0) no further behind
 * the most advanced known offset than max_lag_bytes. Among the eligible: the highest priority,
 * then the highest replication offset, then the lowest pod name (strcmp). Priority 0 is never
 * chosen, whatever its offset. */
#ifndef GUNGNIR_FAILOVER_SELECT_H
#define GUNGNIR_FAILOVER_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct failover_candidate {
    const char *name;   /* pod name (borrowed) */
    int64_t priority;   /* 0..1000; 0 = never promoted */
    bool reachable;     /* answered its last probe */
    bool is_replica;    /* reports role:slave */
    long long offset;   /* its replication offset */
};

/* Returns the index of the replica to promote, or -1 when none is eligible; then why (if not
 * NULL) says why in words ("no reachable replica", "every reachable replica has priority 0",
 * "every promotable replica is more than N bytes behind (spec.failover.maxLagBytes)"). reference_offset is the offset the lag is
 * measured from (the old primary's last known offset, or -1 to use the highest candidate's). */
int failover_select(const struct failover_candidate *c, size_t n, long long max_lag_bytes,
                    long long reference_offset, char *why, size_t whylen);

/* The order alone: < 0 when a should be promoted before b, > 0 after, 0 only for the same
 * name. Both must be eligible. */
int failover_order(const struct failover_candidate *a, const struct failover_candidate *b);

#endif
