/* fence.h — whether this process may act now, as a deadline on the monotonic clock.
 *
 * The leader opens the fence until its last successful renewal's start + the renew deadline.
 * Every API request and every Valkey command checks fence_closed() first, so a process that
 * was paused (SIGSTOP, a long GC-like stall, a frozen VM) past its Lease is fenced the moment
 * it runs again, by the clock alone, before its election thread has even noticed: a deposed
 * leader never sends one more write. Thread-safe (one C11 atomic). */
#ifndef GUNGNIR_FENCE_H
#define GUNGNIR_FENCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct fence {
    atomic_llong open_until_ms; /* clock_now_ms() reading; INT64_MAX: open for good; 0: closed */
};

/* A fence that is open for good (no election), or closed until opened. */
void fence_init_open(struct fence *f);
void fence_init_closed(struct fence *f);

/* Opens f until the monotonic time until_ms (clock_now_ms), or closes it at once. */
void fence_open_until(struct fence *f, int64_t until_ms);
void fence_close(struct fence *f);

/* True when f (NULL: never) is closed now: this process may not act. */
bool fence_closed(const struct fence *f);

#endif
