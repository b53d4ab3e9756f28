/* sdown.c — see sdown.h. */
#include "sdown.h"

#include <stdio.h>
#include <string.h>

void sdown_init(struct sdown *s, int threshold)
{
    memset(s, 0, sizeof(*s));
    s->threshold = threshold > 0 ? threshold : 1;
    s->offset = -1;
}

enum sdown_state sdown_observe(struct sdown *s, bool ok, const char *run_id, long long offset)
{
    if (!ok) {
        if (s->failures < s->threshold)
            s->failures++;
        return s->failures >= s->threshold || s->restarted ? SDOWN_DOWN : SDOWN_SUSPECT;
    }
    if (s->restarted)
        return SDOWN_DOWN; /* stays down: a restarted primary is never trusted again */
    if (run_id && run_id[0]) {
        if (s->run_id[0] && strcmp(s->run_id, run_id) != 0)
            s->restarted = true;
        else if (!s->run_id[0])
            snprintf(s->run_id, sizeof(s->run_id), "%s", run_id);
    }
    if (offset >= 0) {
        if (s->offset >= 0 && offset < s->offset)
            s->restarted = true;
        else
            s->offset = offset;
    }
    if (s->restarted)
        return SDOWN_DOWN;
    s->failures = 0;
    return SDOWN_UP;
}
