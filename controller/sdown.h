/* sdown.h — deciding that a primary is subjectively down (SDOWN), from consecutive probes.
 *
 * failure_threshold consecutive failed probes make it down. A probe that answers but shows a
 * different run_id than before (the server restarted) or an offset lower than before (its data
 * went back) also counts as down at once: such a server may have lost acknowledged writes and
 * must not stay primary. Pure: the caller owns one struct per primary. */
#ifndef GUNGNIR_SDOWN_H
#define GUNGNIR_SDOWN_H

#include <stdbool.h>

#define SDOWN_RUN_ID_MAX 41

enum sdown_state { SDOWN_UP, SDOWN_SUSPECT, SDOWN_DOWN };

struct sdown {
    int threshold;     /* consecutive failures that make SDOWN */
    int failures;      /* consecutive failed probes so far */
    char run_id[SDOWN_RUN_ID_MAX];
    long long offset;  /* highest offset seen, -1 before the first answer */
    bool restarted;    /* the last answer showed a new run_id or an offset gone back */
};

/* Starts watching a primary. */
void sdown_init(struct sdown *s, int threshold);

/* Records one probe: ok (answered), with its run_id and offset when ok. Returns the state after
 * it: UP, SUSPECT (failing, below the threshold), or DOWN. */
enum sdown_state sdown_observe(struct sdown *s, bool ok, const char *run_id, long long offset);

#endif
