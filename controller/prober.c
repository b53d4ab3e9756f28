/* prober.c — see prober.h. */
#include "prober.h"

#include "clock.h"
#include "grow.h"
#include "log.h"
#include "metrics.h"

#include <assert.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define INFO_TEXT_MAX (64u * 1024u)

struct conn {
    bool used; /* in this round */
    char key[PROBER_KEY_MAX], host[PROBER_HOST_MAX], password[PROBER_PASSWORD_MAX];
    int port;
    redisContext *ctx;
    bool connecting; /* the non-blocking connect has not completed yet */
    bool authed;
    /* this round */
    int expect;      /* replies still to come */
    bool pong, failed, done;
    bool auth_refused; /* the server answered, refusing the password */
    bool written;    /* every queued command has been written */
    int64_t ended_ns; /* when this target's round ended (answered or failed), clock_now_ns */
    size_t text_len;
    char *text;      /* INFO server + INFO replication, INFO_TEXT_MAX bytes */
    char err[128];
};

struct prober {
    /* The connections, conns[0..nconns): each allocated on its own, so that growing the array
     * never moves a connection a round points at. */
    struct conn **conns;
    size_t nconns, cap;
    size_t hint; /* where conn_for looks first: just after the connection it found last */
    /* A round's buffers, room for scratch_cap targets, grown to the largest round. */
    struct conn **round;
    struct pollfd *fds;
    size_t *map;
    size_t scratch_cap;
    metrics_series *skipped;
};

struct prober *prober_new(void)
{
    struct prober *p = calloc(1, sizeof(struct prober));
    if (p)
        p->skipped = metrics_counter("gungnir_prober_skipped_total",
                                     "Probes not made for lack of memory in the prober (the target's result says "
                                     "skipped).",
                                     NULL);
    return p;
}

static void conn_close(struct conn *c)
{
    if (c->ctx)
        redisFree(c->ctx);
    c->ctx = NULL;
    c->connecting = false;
    c->authed = false;
}

/* Closes c and frees it. */
static void conn_free(struct conn *c)
{
    conn_close(c);
    free(c->text);
    free(c);
}

void prober_free(struct prober *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nconns; i++)
        conn_free(p->conns[i]);
    free(p->conns);
    free(p->round);
    free(p->fds);
    free(p->map);
    free(p);
}

/* The connection of key, or NULL. The search starts at hint: the targets of a round come in
 * the same order round after round, so the next one is usually right there. */
static struct conn *conn_find(struct prober *p, const char *key)
{
    for (size_t k = 0; k < p->nconns; k++) {
        size_t i = (p->hint + k) % p->nconns;
        if (strcmp(p->conns[i]->key, key) == 0) {
            p->hint = i + 1;
            return p->conns[i];
        }
    }
    return NULL;
}

/* The connection for t, found by key or made. NULL when out of memory. */
static struct conn *conn_for(struct prober *p, const struct probe_target *t)
{
    struct conn *c = conn_find(p, t->key);
    if (c && (strcmp(c->host, t->host) != 0 || c->port != t->port || strcmp(c->password, t->password) != 0))
        conn_close(c); /* the pod moved or the password changed */
    if (!c) {
        struct conn **grown = grow_array(p->conns, &p->cap, p->nconns + 1, sizeof(*p->conns));
        if (!grown)
            return NULL;
        p->conns = grown;
        if (!(c = calloc(1, sizeof(*c))))
            return NULL;
        p->conns[p->nconns++] = c;
        snprintf(c->key, sizeof(c->key), "%s", t->key);
    }
    snprintf(c->host, sizeof(c->host), "%s", t->host);
    snprintf(c->password, sizeof(c->password), "%s", t->password);
    c->port = t->port;
    c->used = true;
    return c;
}

static void fail(struct conn *c, const char *what)
{
    if (c->failed || c->done)
        return;
    c->failed = true;
    c->ended_ns = clock_now_ns();
    snprintf(c->err, sizeof(c->err), "%s", what);
    conn_close(c); /* late replies would be out of step with the next round */
}

/* Queues this round's commands. */
static void queue_commands(struct conn *c)
{
    c->expect = 0;
    if (!c->authed && c->password[0]) {
        const char *argv[] = {"AUTH", c->password};
        redisAppendCommandArgv(c->ctx, 2, argv, NULL);
        c->expect++;
    }
    redisAppendCommand(c->ctx, "PING");
    redisAppendCommand(c->ctx, "INFO server");
    redisAppendCommand(c->ctx, "INFO replication");
    c->expect += 3;
}

/* Starts (or reuses) the connection and queues the commands. */
static void start(struct conn *c)
{
    c->pong = c->failed = c->done = c->written = c->auth_refused = false;
    c->text_len = 0;
    c->err[0] = '\0';
    if (!c->text && !(c->text = malloc(INFO_TEXT_MAX))) {
        fail(c, "out of memory");
        return;
    }
    if (!c->ctx) {
        c->ctx = redisConnectNonBlock(c->host, c->port);
        if (!c->ctx || c->ctx->err) {
            char why[128];
            snprintf(why, sizeof(why), "connect: %.100s", c->ctx ? c->ctx->errstr : "out of memory");
            fail(c, why);
            return;
        }
        c->connecting = true;
    }
    queue_commands(c);
}

/* Takes every complete reply off the reader. */
/* True for the error replies of a wrong or missing password (Valkey, Redis 6+ and older). */
static bool is_auth_refusal(const char *reply)
{
    return strncmp(reply, "WRONGPASS", 9) == 0 || strncmp(reply, "NOAUTH", 6) == 0 ||
           strncmp(reply, "ERR invalid password", 20) == 0 || strncmp(reply, "ERR AUTH", 8) == 0;
}

static void take_replies(struct conn *c)
{
    void *r = NULL;
    while (!c->failed && c->expect > 0) {
        if (redisGetReply(c->ctx, &r) != REDIS_OK) {
            fail(c, "protocol error");
            return;
        }
        if (!r)
            return;
        redisReply *reply = r;
        bool was_auth = !c->authed && c->password[0] && !c->pong && c->text_len == 0 &&
                        c->expect == 4;
        if (reply->type == REDIS_REPLY_ERROR) {
            char why[128];
            snprintf(why, sizeof(why), "%s", reply->str ? reply->str : "error reply");
            c->auth_refused = is_auth_refusal(why);
            freeReplyObject(reply);
            fail(c, why);
            return;
        }
        if (was_auth) {
            c->authed = true;
        } else if (!c->pong) {
            c->pong = reply->type == REDIS_REPLY_STATUS && reply->str && strcmp(reply->str, "PONG") == 0;
        } else if (reply->type == REDIS_REPLY_STRING && (size_t)reply->len < INFO_TEXT_MAX - c->text_len - 1) {
            memcpy(c->text + c->text_len, reply->str, (size_t)reply->len);
            c->text_len += (size_t)reply->len;
            c->text[c->text_len++] = '\n';
        } else {
            freeReplyObject(reply);
            fail(c, "unexpected INFO reply");
            return;
        }
        freeReplyObject(reply);
        c->expect--;
    }
    if (c->expect == 0 && !c->failed) {
        c->done = true;
        c->ended_ns = clock_now_ns();
    }
}

static void on_writable(struct conn *c)
{
    int done = 0;
    if (c->connecting) {
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (getsockopt(c->ctx->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
            char why[128];
            snprintf(why, sizeof(why), "connect: %s", strerror(soerr ? soerr : errno));
            fail(c, why);
            return;
        }
        c->connecting = false;
    }
    if (redisBufferWrite(c->ctx, &done) != REDIS_OK)
        fail(c, c->ctx->errstr[0] ? c->ctx->errstr : "write failed");
    else if (done)
        c->written = true;
}

static void on_readable(struct conn *c)
{
    if (redisBufferRead(c->ctx) != REDIS_OK) {
        fail(c, c->ctx->errstr[0] ? c->ctx->errstr : "connection closed");
        return;
    }
    take_replies(c);
}

/* Grows the round's buffers to room for n targets. Returns how many they have room for: n, or
 * fewer when memory ran out. */
static size_t round_room(struct prober *p, size_t n)
{
    if (n <= p->scratch_cap)
        return n;
    size_t rcap = p->scratch_cap, fcap = p->scratch_cap, mcap = p->scratch_cap;
    struct conn **round = grow_array(p->round, &rcap, n, sizeof(*round));
    if (round)
        p->round = round;
    struct pollfd *fds = round ? grow_array(p->fds, &fcap, n, sizeof(*fds)) : NULL;
    if (fds)
        p->fds = fds;
    size_t *map = fds ? grow_array(p->map, &mcap, n, sizeof(*map)) : NULL;
    if (map)
        p->map = map;
    if (!map)
        return p->scratch_cap; /* each buffer still has at least that room */
    assert(rcap == fcap && fcap == mcap);
    p->scratch_cap = rcap;
    return n;
}

/* Drops the connections this round does not use: closed, freed, the others kept in order. */
static void drop_unused(struct prober *p)
{
    size_t kept = 0;
    for (size_t i = 0; i < p->nconns; i++) {
        if (p->conns[i]->used)
            p->conns[kept++] = p->conns[i];
        else
            conn_free(p->conns[i]);
    }
    p->nconns = kept;
    p->hint = 0;
}

/* Says that targets were skipped for lack of memory: counted and logged. */
static void report_skipped(struct prober *p, size_t skipped, size_t n)
{
    char a[32], b[32];
    metrics_add(p->skipped, skipped);
    snprintf(a, sizeof(a), "%zu", skipped);
    snprintf(b, sizeof(b), "%zu", n);
    log_write(LOG_ERROR, "out of memory: targets not probed this round", "skipped", a, "targets", b, NULL);
}

void prober_round(struct prober *p, const struct probe_target *targets, size_t n, long timeout_ms,
                  struct probe_result *out)
{
    int64_t t0 = clock_now_ns(), deadline = t0 + (int64_t)timeout_ms * 1000000;
    size_t room = round_room(p, n), skipped = 0;
    struct conn **round = p->round;
    struct pollfd *fds = p->fds;
    size_t *map = p->map;

    for (size_t i = 0; i < p->nconns; i++)
        p->conns[i]->used = false;
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        struct conn *c = i < room ? conn_for(p, &targets[i]) : NULL;
        if (i < room)
            round[i] = c;
        if (!c) {
            out[i].skipped = true;
            snprintf(out[i].err, sizeof(out[i].err), "not probed: out of memory");
            skipped++;
            continue;
        }
        start(c);
    }
    if (skipped)
        report_skipped(p, skipped, n);
    n = room; /* the targets past the room were skipped above */
    drop_unused(p);

    for (;;) {
        size_t nfds = 0;
        for (size_t i = 0; i < n; i++) {
            struct conn *c = round[i];
            if (!c || c->failed || c->done)
                continue;
            short ev = POLLIN;
            if (c->connecting || !c->written)
                ev |= POLLOUT;
            fds[nfds] = (struct pollfd){.fd = c->ctx->fd, .events = ev};
            map[nfds++] = i;
        }
        int64_t left = deadline - clock_now_ns();
        if (nfds == 0 || left <= 0)
            break;
        int ready = poll(fds, nfds, (int)(left / 1000000 + 1));
        if (ready < 0 && errno != EINTR)
            break;
        for (size_t k = 0; k < nfds && ready > 0; k++) {
            struct conn *c = round[map[k]];
            if (fds[k].revents & (POLLERR | POLLHUP | POLLNVAL) && !(fds[k].revents & POLLIN)) {
                if (c->connecting)
                    on_writable(c); /* reports the connect error */
                else
                    fail(c, "connection closed");
                continue;
            }
            if (fds[k].revents & POLLOUT)
                on_writable(c);
            if (!c->failed && (fds[k].revents & POLLIN))
                on_readable(c);
        }
    }

    for (size_t i = 0; i < n; i++) {
        struct conn *c = round[i];
        if (!c)
            continue;
        if (!c->done && !c->failed)
            fail(c, c->connecting ? "connect timed out" : "timed out");
        if (c->done && (!c->pong || valkey_info_parse(c->text, c->text_len, &out[i].info) != 0))
            fail(c, c->pong ? "INFO could not be parsed" : "no PONG");
        out[i].ok = c->done && !c->failed;
        out[i].auth_refused = !out[i].ok && c->auth_refused;
        out[i].latency_ms = (double)(c->ended_ns - t0) / 1e6;
        if (!out[i].ok)
            snprintf(out[i].err, sizeof(out[i].err), "%s", c->err);
    }
}
