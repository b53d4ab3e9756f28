/* prober.h — health probes of many Valkey servers at once, on persistent non-blocking
 * connections (hiredis's reader and writer, our own poll loop).
 *
 * A round sends PING, INFO server and INFO replication (after AUTH on a new connection) to every
 * target together and waits for all answers until one deadline: a slow or hung server (SIGSTOP)
 * costs the round at most timeout_ms and never delays the others' answers. A target that fails
 * or times out has its connection closed (its replies could arrive late and out of step); the
 * next round reconnects. Not thread-safe: one prober per thread.
 *
 * There is no cap on the number of targets: the connections and a round's buffers grow with
 * them, and a connection is freed as soon as a round no longer names its key (each open
 * connection is a file descriptor: RLIMIT_NOFILE must allow one per target). When memory runs
 * out, a target that cannot get a connection is not probed: its result says skipped, the
 * round logs it and counts it in gungnir_prober_skipped_total, never silent. */
#ifndef GUNGNIR_PROBER_H
#define GUNGNIR_PROBER_H

#include "valkey_info.h"

#include <stdbool.h>
#include <stddef.h>

#define PROBER_KEY_MAX 400
#define PROBER_HOST_MAX 64
#define PROBER_PASSWORD_MAX 256

struct probe_target {
    char key[PROBER_KEY_MAX];   /* identifies the connection across rounds ("ns/pod") */
    char host[PROBER_HOST_MAX]; /* an IP address */
    int port;
    char password[PROBER_PASSWORD_MAX]; /* "" for none */
};

struct probe_result {
    bool ok;                 /* every command answered in time, INFO parsed */
    double latency_ms;       /* from sending to the last answer */
    struct valkey_info info; /* when ok */
    char err[128];           /* when not ok */
    bool auth_refused;       /* not ok because the server refused the password (WRONGPASS,
                              * NOAUTH, invalid password): it is up, the password is wrong */
    bool skipped;            /* not ok because it was not probed at all (the prober ran out of
                              * memory): says nothing about the server */
};

struct prober;

/* Returns a new prober with no connection (free it with prober_free), or NULL when out of
 * memory. */
struct prober *prober_new(void);

/* Closes every connection and frees p. NULL is a no-op. */
void prober_free(struct prober *p);

/* Probes targets[0..n) (any n; keys distinct) and fills out[0..n). Connections of keys not in
 * this round are closed and freed. Returns within about timeout_ms. */
void prober_round(struct prober *p, const struct probe_target *targets, size_t n, long timeout_ms,
                  struct probe_result *out);

#endif
