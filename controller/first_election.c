/* first_election.c — see first_election.h. */
#include "first_election.h"

#include <stdio.h>
#include <string.h>

/* Why pod must be waited for, or NULL when the election may go on without it. */
static const char *keeps_waiting(const struct election_pod *p, bool had_primary)
{
    if (p->answered)
        return NULL;
    if (p->age_ms < 0 || p->age_ms < FIRST_ELECTION_WAIT_MS)
        return "not up yet";
    if (!p->never_started)
        return "its server ran and may hold data";
    if (had_primary)
        return "the cluster had a primary, so any pod may hold data";
    switch (p->claim) {
    case CLAIM_EMPTYDIR:
    case CLAIM_MISSING:
    case CLAIM_NEW:
        return NULL;
    case CLAIM_UNKNOWN:
        return "its claim could not be read";
    case CLAIM_OLD:
        return "its claim is older than the ValkeyCluster and may hold data";
    }
    return "unknown";
}

bool first_election_needs_claim(const struct election_pod *p, bool had_primary)
{
    return p->claim == CLAIM_UNKNOWN && !p->answered && p->age_ms >= FIRST_ELECTION_WAIT_MS && p->never_started &&
           !had_primary;
}

bool first_election_may_go_on(const struct election_pod *pods, size_t n, bool had_primary, char *why, size_t whylen)
{
    size_t answered = 0, used = 0;
    bool ok = true;
    if (whylen)
        why[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *reason = keeps_waiting(&pods[i], had_primary);
        answered += pods[i].answered;
        if (!reason)
            continue;
        ok = false;
        if (used < whylen) {
            int w = snprintf(why + used, whylen - used, "%s%s (%s)", used ? ", " : "waiting for ", pods[i].name, reason);
            used = w < 0 ? whylen : used + (size_t)w;
        }
    }
    if (ok && answered == 0) {
        snprintf(why, whylen, "no pod answers yet");
        return false;
    }
    return ok;
}
