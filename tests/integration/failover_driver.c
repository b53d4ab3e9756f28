/* failover_driver.c — drives Gungnir's failover engine against real Valkey-protocol servers,
 * without Kubernetes: the same prober, SDOWN counter, selection and promotion the controller
 * uses. For the integration tests and bench/failover.sh.
 *
 *   failover_driver --node NAME=HOST:PORT[:PRIORITY] ... --primary NAME
 *                   [--interval-ms 100] [--threshold 3] [--timeout-ms 250] [--password P]
 *                   [--max-lag-bytes N] [--max-seconds 30]
 *                   [--kill-pid PID --kill-after-ms MS]   SIGKILL (or --stop: SIGSTOP) that pid
 *                   [--writes]  write keys acknowledged with WAIT 1 until the kill, then check
 *                               every acknowledged key on the new primary
 *
 * Prints one JSON object a line (events), and at the end a "result" line with the timings:
 * detection_ms (kill to SDOWN), promoted_ms (kill to REPLICAOF NO ONE done), write_ms (kill to
 * the first successful write on the new primary), acked, lost. Exit 0 after a promotion, 3
 * when no replica could be promoted, 2 on a timeout or bad arguments. */
#include "clock.h"
#include "failover.h"
#include "prober.h"
#include "sdown.h"
#include "valkey_node.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define NODES_MAX 16

static struct failover_node nodes[NODES_MAX];
static struct probe_target targets[NODES_MAX];
static size_t nnodes;
static const char *password = "";

static void sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)((long long)(ms * 1e6) % 1000000000LL)};
    nanosleep(&ts, NULL);
}

static int hook_record(void *ctx, long long epoch, const char *from, const char *cand)
{
    (void)ctx;
    printf("{\"event\":\"record\",\"epoch\":%lld,\"from\":\"%s\",\"candidate\":\"%s\"}\n", epoch, from, cand);
    return 0;
}

static int hook_role(void *ctx, const char *pod, const char *role)
{
    (void)ctx;
    printf("{\"event\":\"role\",\"pod\":\"%s\",\"role\":\"%s\"}\n", pod, role ? role : "");
    return 0;
}

static void hook_finish(void *ctx, long long epoch, const char *from, const char *to, long ms, bool ok,
                        const char *why)
{
    (void)ctx;
    printf("{\"event\":\"finish\",\"epoch\":%lld,\"from\":\"%s\",\"to\":\"%s\",\"ms\":%ld,\"ok\":%s,\"why\":\"%s\"}\n",
           epoch, from, to, ms, ok ? "true" : "false", why);
}

static int parse_node(const char *arg)
{
    char name[FAILOVER_NAME_MAX], host[FAILOVER_HOST_MAX];
    int port = 0;
    long long prio = 100;
    if (nnodes >= NODES_MAX || sscanf(arg, "%63[^=]=%63[^:]:%d:%lld", name, host, &port, &prio) < 3)
        return -1;
    struct failover_node *n = &nodes[nnodes];
    snprintf(n->name, sizeof(n->name), "%s", name);
    snprintf(n->host, sizeof(n->host), "%s", host);
    n->port = port;
    n->priority = prio;
    snprintf(targets[nnodes].key, sizeof(targets[nnodes].key), "%s", name);
    snprintf(targets[nnodes].host, sizeof(targets[nnodes].host), "%s", host);
    targets[nnodes].port = port;
    nnodes++;
    return 0;
}

/* One acknowledged write: SET key value, then WAIT 1 (a replica has it). Returns 1 when
 * acknowledged by a replica, 0 when written but not acknowledged, -1 on failure. */
static int acked_write(redisContext *c, const char *key)
{
    redisReply *r = redisCommand(c, "SET %s v", key);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    r = redisCommand(c, "WAIT 1 200");
    int acked = r && r->type == REDIS_REPLY_INTEGER && r->integer >= 1;
    if (r)
        freeReplyObject(r);
    return r ? acked : -1;
}

static redisContext *connect_node(const struct failover_node *n, long timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(n->host, n->port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (password[0]) {
        redisReply *r = redisCommand(c, "AUTH %s", password);
        if (r)
            freeReplyObject(r);
    }
    return c;
}

int main(int argc, char **argv)
{
    const char *primary_name = NULL;
    long interval = 100, threshold = 3, timeout = 250, max_seconds = 30, kill_after = -1;
    long long max_lag = 0;
    pid_t kill_pid = 0;
    int kill_sig = SIGKILL;
    bool writes = false;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN); /* a write to a dead server is an error, not the end */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--node") == 0 && v && parse_node(v) == 0) i++;
        else if (strcmp(a, "--primary") == 0 && v) primary_name = argv[++i];
        else if (strcmp(a, "--interval-ms") == 0 && v) interval = atol(argv[++i]);
        else if (strcmp(a, "--threshold") == 0 && v) threshold = atol(argv[++i]);
        else if (strcmp(a, "--timeout-ms") == 0 && v) timeout = atol(argv[++i]);
        else if (strcmp(a, "--password") == 0 && v) password = argv[++i];
        else if (strcmp(a, "--max-lag-bytes") == 0 && v) max_lag = atoll(argv[++i]);
        else if (strcmp(a, "--max-seconds") == 0 && v) max_seconds = atol(argv[++i]);
        else if (strcmp(a, "--kill-pid") == 0 && v) kill_pid = (pid_t)atol(argv[++i]);
        else if (strcmp(a, "--kill-after-ms") == 0 && v) kill_after = atol(argv[++i]);
        else if (strcmp(a, "--stop") == 0) kill_sig = SIGSTOP;
        else if (strcmp(a, "--writes") == 0) writes = true;
        else {
            fprintf(stderr, "failover_driver: bad argument %s (see the comment at the top of the source)\n", a);
            return 2;
        }
    }
    int primary = -1;
    for (size_t i = 0; i < nnodes; i++) {
        snprintf(targets[i].password, sizeof(targets[i].password), "%s", password);
        if (primary_name && strcmp(nodes[i].name, primary_name) == 0)
            primary = (int)i;
    }
    if (primary < 0 || nnodes < 2) {
        fprintf(stderr, "failover_driver: give at least two --node and --primary naming one of them\n");
        return 2;
    }

    struct prober *prober = prober_new();
    struct probe_result results[NODES_MAX];
    struct sdown sd;
    sdown_init(&sd, (int)threshold);
    int64_t start = clock_now_ms(), kill_at = -1, down_at = -1;
    long acked = 0, attempted = 0;
    redisContext *writer = writes ? connect_node(&nodes[primary], timeout) : NULL;
    int64_t next_probe = start;

    for (;;) {
        int64_t t = clock_now_ms();
        if (t - start > (int64_t)max_seconds * 1000) {
            printf("{\"event\":\"timeout\"}\n");
            prober_free(prober);
            return 2;
        }
        if (kill_pid > 0 && kill_at < 0 && kill_after >= 0 && t - start >= (int64_t)kill_after) {
            kill(kill_pid, kill_sig);
            kill_at = clock_now_ms();
            printf("{\"event\":\"killed\",\"pid\":%ld,\"signal\":\"%s\"}\n", (long)kill_pid,
                   kill_sig == SIGKILL ? "KILL" : "STOP");
        }
        /* A connect or a reply that timed out on a busy machine leaves no usable connection
         * (hiredis keeps its error): connect again, until the kill. */
        if (writer && writer->err) {
            redisFree(writer);
            writer = NULL;
        }
        if (writes && !writer && kill_at < 0)
            writer = connect_node(&nodes[primary], timeout);
        if (writer && kill_at < 0) {
            char key[32];
            snprintf(key, sizeof(key), "k%ld", attempted);
            int w = acked_write(writer, key);
            if (w >= 0)
                attempted++;
            if (w == 1)
                acked = attempted; /* every key up to this one is acknowledged */
        }
        if (t < next_probe) {
            sleep_ms(writer && kill_at < 0 ? 0 : 1);
            continue;
        }
        next_probe = t + (int64_t)interval;
        prober_round(prober, targets, nnodes, timeout, results);
        for (size_t i = 0; i < nnodes; i++) {
            nodes[i].reachable = results[i].ok;
            if (results[i].ok)
                nodes[i].info = results[i].info;
        }
        enum sdown_state st = sdown_observe(&sd, results[primary].ok, results[primary].info.run_id,
                                            results[primary].ok ? results[primary].info.repl_offset : -1);
        if (st != SDOWN_DOWN)
            continue;
        down_at = clock_now_ms();
        printf("{\"event\":\"sdown\",\"primary\":\"%s\",\"why\":\"%s\"}\n", nodes[primary].name,
               results[primary].ok ? "restarted" : results[primary].err);
        break;
    }

    struct failover_hooks hooks = {hook_record, hook_role, hook_finish};
    struct failover_plan plan = {.nodes = nodes, .n = nnodes, .old_primary = primary, .epoch = 1,
                                 .max_lag_bytes = max_lag, .password = password, .timeout_ms = timeout,
                                 .hooks = &hooks};
    char err[256];
    int promoted = failover_run(&plan, err, sizeof(err));
    int64_t promoted_at = clock_now_ms();
    if (promoted < 0) {
        printf("{\"event\":\"no_promotion\",\"why\":\"%s\"}\n", err);
        prober_free(prober);
        if (writer)
            redisFree(writer);
        return 3;
    }
    /* The first successful write on the new primary, and the acknowledged keys. */
    int64_t write_at = -1;
    long lost = 0;
    for (int tries = 0; tries < 1000 && write_at < 0; tries++) {
        redisContext *c = connect_node(&nodes[promoted], timeout);
        redisReply *r = c ? redisCommand(c, "SET gungnir-probe-write 1") : NULL;
        if (r && r->type == REDIS_REPLY_STATUS)
            write_at = clock_now_ms();
        if (r)
            freeReplyObject(r);
        if (writes && write_at >= 0 && c) {
            for (long k = 0; k < acked; k++) {
                redisReply *g = redisCommand(c, "EXISTS k%ld", k);
                if (!g || g->type != REDIS_REPLY_INTEGER || g->integer != 1)
                    lost++;
                if (g)
                    freeReplyObject(g);
            }
        }
        if (c)
            redisFree(c);
        if (write_at < 0)
            sleep_ms(5);
    }
    int64_t base = kill_at >= 0 ? kill_at : start;
    printf("{\"event\":\"result\",\"promoted\":\"%s\",\"detection_config_ms\":%ld,\"detection_ms\":%lld,"
           "\"promoted_ms\":%lld,\"write_ms\":%lld,\"acked\":%ld,\"lost\":%ld}\n",
           nodes[promoted].name, interval * threshold, (long long)(down_at - base), (long long)(promoted_at - base),
           write_at >= 0 ? (long long)(write_at - base) : -1LL, acked, lost);
    prober_free(prober);
    if (writer)
        redisFree(writer);
    return 0;
}
