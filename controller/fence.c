/* fence.c — see fence.h. */
#include "fence.h"
#include "clock.h"

void fence_init_open(struct fence *f) { atomic_init(&f->open_until_ms, INT64_MAX); }

void fence_init_closed(struct fence *f) { atomic_init(&f->open_until_ms, 0); }

void fence_open_until(struct fence *f, int64_t until_ms) { atomic_store(&f->open_until_ms, until_ms); }

void fence_close(struct fence *f) { atomic_store(&f->open_until_ms, 0); }

bool fence_closed(const struct fence *f)
{
    if (!f)
        return false;
    int64_t until = atomic_load(&((struct fence *)f)->open_until_ms);
    return until != INT64_MAX && clock_now_ms() >= until;
}
