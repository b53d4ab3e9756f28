/* failover_select.c — see failover_select.h. */
#include "failover_select.h"

#include <stdio.h>
#include <string.h>

int failover_order(const struct failover_candidate *a, const struct failover_candidate *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset > b->offset ? -1 : 1;
    return strcmp(a->name, b->name);
}

int failover_select(const struct failover_candidate *c, size_t n, long long max_lag_bytes,
                    long long reference_offset, char *why, size_t whylen)
{
    size_t reachable = 0, promotable = 0;
    long long top = reference_offset;
    int best = -1;

    for (size_t i = 0; i < n; i++)
        if (c[i].reachable && c[i].is_replica && c[i].offset > top)
            top = c[i].offset;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].reachable || !c[i].is_replica)
            continue;
        reachable++;
        if (c[i].priority <= 0)
            continue;
        promotable++;
        if (max_lag_bytes > 0 && top - c[i].offset > max_lag_bytes)
            continue;
        if (best < 0 || failover_order(&c[i], &c[best]) < 0)
            best = (int)i;
    }
    if (best < 0 && why) {
        if (reachable == 0)
            snprintf(why, whylen, "no reachable replica");
        else if (promotable == 0)
            snprintf(why, whylen, "every reachable replica has priority 0");
        else
            snprintf(why, whylen, "every promotable replica is more than %lld bytes behind (spec.failover.maxLagBytes)",
                     max_lag_bytes);
    }
    return best;
}
