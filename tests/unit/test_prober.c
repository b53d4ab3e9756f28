/* test_prober.c — tests of controller/prober.c against real redis-server processes.
 *
 * The group set-up starts four redis-server processes on random free loopback ports (three
 * without a password, one with requirepass) in a private temp dir; each child gets
 * PR_SET_PDEATHSIG so it dies with this test even on a crash, and the group tear-down SIGCONTs
 * and SIGKILLs them and removes the dir. Every wait is bounded. When redis-server is missing
 * every test is skipped. The only timing check is the bound the header promises (a round
 * returns within about timeout_ms), with a wide margin: the machine is shared. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "prober.h"

#define PASSWORD "s3cret-pw"
#define NSRV 4
#define MARGIN_MS 2000.0 /* slack over timeout_ms for a loaded 2-core machine */

struct srv {
    pid_t pid;
    int port;
    const char *password; /* NULL for none */
    bool stopped;
};

static struct srv srvs[NSRV];
static char tmpdir[128];
static bool have_servers;

/* 0..2: no password; 3: requirepass */
#define A (&srvs[0])
#define B (&srvs[1])
#define C (&srvs[2])
#define P (&srvs[3])

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A port on 127.0.0.1 that nothing listens on now (bound with port 0, then released). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* A blocking admin connection (AUTH done); NULL when it cannot connect. */
static redisContext *admin(const struct srv *s)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (s->password) {
        redisReply *r = redisCommand(c, "AUTH %s", s->password);
        bool okay = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (!okay) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

static bool answers_ping(const struct srv *s)
{
    redisContext *c = admin(s);
    if (!c)
        return false;
    redisReply *r = redisCommand(c, "PING");
    bool okay = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return okay;
}

/* Starts redis-server on a free port; retries with another port when it does not come up. */
static int start_server(struct srv *s, const char *password)
{
    s->password = password;
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = free_port();
        if (s->port <= 0)
            return -1;
        char port[16], dir[160];
        snprintf(port, sizeof(port), "%d", s->port);
        snprintf(dir, sizeof(dir), "%s/%d", tmpdir, s->port);
        mkdir(dir, 0700);
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int devnull = open("/dev/null", O_RDWR);
            if (devnull >= 0) {
                dup2(devnull, 0);
                dup2(devnull, 1);
                dup2(devnull, 2);
            }
            char *argv[24];
            int n = 0;
            argv[n++] = "redis-server";
            argv[n++] = "--port";
            argv[n++] = port;
            argv[n++] = "--bind";
            argv[n++] = "127.0.0.1";
            argv[n++] = "--save";
            argv[n++] = "";
            argv[n++] = "--appendonly";
            argv[n++] = "no";
            argv[n++] = "--daemonize";
            argv[n++] = "no";
            argv[n++] = "--dir";
            argv[n++] = dir;
            if (password) {
                argv[n++] = "--requirepass";
                argv[n++] = (char *)password;
            }
            argv[n] = NULL;
            execvp("redis-server", argv);
            _exit(127);
        }
        s->pid = pid;
        for (int i = 0; i < 100; i++) { /* 5 s */
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                s->pid = 0;
                if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
                    return -1; /* no redis-server */
                break;         /* the port was taken meanwhile: another one */
            }
            if (answers_ping(s))
                return 0;
            sleep_ms(50);
        }
        if (s->pid) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
    }
    return -1;
}

static void stop_server(struct srv *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGCONT);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

static void pause_server(struct srv *s)
{
    assert_int_equal(kill(s->pid, SIGSTOP), 0);
    s->stopped = true;
}

static void resume_server(struct srv *s)
{
    assert_int_equal(kill(s->pid, SIGCONT), 0);
    s->stopped = false;
}

/* Room for at least want file descriptors: the soft limit raised towards the hard one. True
 * when there is that much room. */
static bool fd_room(rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur >= want;
}

#define THOUSANDS 1500 /* targets in one round: past the old fixed table of 1024 */
#define FDS_WANTED (THOUSANDS + 512)

static int group_setup(void **state)
{
    (void)state;
    /* Before the servers start, so that they inherit it too (a server's maxclients follows its
     * descriptor limit). */
    fd_room(FDS_WANTED);
    snprintf(tmpdir, sizeof(tmpdir), "%s/gungnir-test-prober.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    have_servers = true;
    for (int i = 0; i < NSRV && have_servers; i++)
        if (start_server(&srvs[i], i == 3 ? PASSWORD : NULL) != 0)
            have_servers = false;
    if (!have_servers)
        fprintf(stderr, "test_prober: redis-server could not be started; the tests are skipped\n");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NSRV; i++)
        stop_server(&srvs[i]);
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_prober: could not remove %s\n", tmpdir);
    }
    return 0;
}

/* Every test starts with every server running. */
static int test_setup(void **state)
{
    (void)state;
    for (int i = 0; i < NSRV; i++)
        if (srvs[i].stopped) {
            kill(srvs[i].pid, SIGCONT);
            srvs[i].stopped = false;
        }
    return 0;
}

#define NEED_SERVERS()                                                                           \
    do {                                                                                         \
        if (!have_servers)                                                                       \
            skip();                                                                              \
    } while (0)

static struct probe_target target(const char *key, const struct srv *s, const char *password)
{
    struct probe_target t;
    memset(&t, 0, sizeof(t));
    snprintf(t.key, sizeof(t.key), "%s", key);
    snprintf(t.host, sizeof(t.host), "127.0.0.1");
    t.port = s->port;
    snprintf(t.password, sizeof(t.password), "%s", password ? password : "");
    return t;
}

/* The ids of the clients of s other than the admin connection itself; returns how many. */
static int other_clients(const struct srv *s, long long *ids, int max)
{
    redisContext *c = admin(s);
    assert_non_null(c);
    redisReply *me = redisCommand(c, "CLIENT ID");
    assert_non_null(me);
    assert_int_equal(me->type, REDIS_REPLY_INTEGER);
    long long my_id = me->integer;
    freeReplyObject(me);
    redisReply *r = redisCommand(c, "CLIENT LIST");
    assert_non_null(r);
    assert_non_null(r->str);
    int n = 0;
    const char *line = r->str;
    while (line && *line) {
        long long id = -1;
        bool is_replica = strstr(line, "flags=S") != NULL; /* a replica's link is not ours */
        if (sscanf(line, "id=%lld", &id) == 1 && id != my_id && !is_replica) {
            if (n < max)
                ids[n] = id;
            n++;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    freeReplyObject(r);
    redisFree(c);
    return n;
}

/* The number of other clients of s once it is want, or what it is after 5 s (the server sees
 * closes a little later than they happen). */
static int clients_settle(const struct srv *s, int want)
{
    long long ids[1];
    int n = -1;
    for (int i = 0; i < 100 && n != want; i++) {
        n = other_clients(s, ids, 1);
        if (n != want)
            sleep_ms(50);
    }
    return n;
}

static long long connected_clients(const struct srv *s)
{
    redisContext *c = admin(s);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "INFO clients");
    assert_non_null(r);
    const char *p = strstr(r->str, "connected_clients:");
    assert_non_null(p);
    long long v = atoll(p + strlen("connected_clients:"));
    freeReplyObject(r);
    redisFree(c);
    return v;
}

static void run_id_of(const struct srv *s, char *out, size_t len)
{
    redisContext *c = admin(s);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "INFO server");
    assert_non_null(r);
    const char *p = strstr(r->str, "run_id:");
    assert_non_null(p);
    snprintf(out, len, "%.40s", p + 7);
    freeReplyObject(r);
    redisFree(c);
}

static void expect_ok(const struct probe_result *r, const char *what)
{
    if (!r->ok)
        print_error("%s: expected ok, got error \"%s\"\n", what, r->err);
    assert_true(r->ok);
}

static void expect_fail(const struct probe_result *r, const char *what, const char *needle)
{
    if (r->ok)
        print_error("%s: expected a failure (%s), got ok\n", what, needle);
    assert_false(r->ok);
    if (!strstr(r->err, needle))
        print_error("%s: expected the error to contain \"%s\", got \"%s\"\n", what, needle, r->err);
    assert_non_null(strstr(r->err, needle));
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_live_server(void **state)
{
    (void)state;
    NEED_SERVERS();
    struct prober *p = prober_new();
    assert_non_null(p);
    struct probe_target t[1] = {target("ns/a", A, NULL)};
    struct probe_result r[1];
    char rid[64];
    run_id_of(A, rid, sizeof(rid));
    prober_round(p, t, 1, 2000, r);
    expect_ok(&r[0], "live server");
    assert_true(r[0].info.is_primary);
    assert_string_equal(r[0].info.run_id, rid);
    assert_int_equal(strlen(r[0].info.run_id), 40);
    assert_true(r[0].info.repl_offset >= 0);
    assert_true(r[0].latency_ms >= 0);
    assert_string_equal(r[0].err, "");
    prober_free(p);
    prober_free(NULL);
}

/* The second round uses the first round's connection (same client id on the server). */
static void test_connection_reused(void **state)
{
    (void)state;
    NEED_SERVERS();
    struct prober *p = prober_new();
    struct probe_target t[2] = {target("ns/a", A, NULL), target("ns/b", B, NULL)};
    struct probe_result r[2];
    long long ids1[8], ids2[8];
    long long before = connected_clients(A);

    prober_round(p, t, 1, 2000, r);
    expect_ok(&r[0], "round 1");
    assert_int_equal(other_clients(A, ids1, 8), 1);
    for (int round = 2; round <= 5; round++) {
        prober_round(p, t, round < 4 ? 1 : 2, 2000, r); /* rounds 4 and 5 add b */
        expect_ok(&r[0], "later round");
        int n = other_clients(A, ids2, 8);
        if (n != 1 || ids2[0] != ids1[0])
            print_error("round %d: prober clients on the server: %d (first id %lld), want 1 (id %lld)\n", round, n,
                        n ? ids2[0] : -1, ids1[0]);
        assert_int_equal(n, 1);
        assert_int_equal(ids2[0], ids1[0]);
    }
    /* INFO clients agrees: the admin connection that asks + the prober's one */
    assert_int_equal(connected_clients(A), before + 1);
    prober_free(p);
}

/* A target left out of a round has its connection closed; it reconnects when it returns. */
static void test_dropped_target_closed(void **state)
{
    (void)state;
    NEED_SERVERS();
    struct prober *p = prober_new();
    struct probe_target t[2] = {target("ns/a", A, NULL), target("ns/b", B, NULL)};
    struct probe_result r[2];
    long long ida[8], idb[8], ids[8];

    prober_round(p, t, 2, 2000, r);
    expect_ok(&r[0], "a");
    expect_ok(&r[1], "b");
    assert_int_equal(other_clients(A, ida, 8), 1);
    assert_int_equal(other_clients(B, idb, 8), 1);

    prober_round(p, t, 1, 2000, r); /* b dropped */
    expect_ok(&r[0], "a alone");
    int n = -1;
    for (int i = 0; i < 60 && n != 0; i++) { /* the server sees the close (bounded: 3 s) */
        n = other_clients(B, ids, 8);
        if (n)
            sleep_ms(50);
    }
    if (n != 0)
        print_error("b's prober connection still open after it was dropped: %d client(s)\n", n);
    assert_int_equal(n, 0);
    assert_int_equal(other_clients(A, ids, 8), 1);
    assert_int_equal(ids[0], ida[0]); /* a's connection untouched */

    /* b comes back: a new connection, probed fine */
    prober_round(p, t, 2, 2000, r);
    expect_ok(&r[1], "b again");
    assert_int_equal(other_clients(B, ids, 8), 1);
    assert_int_not_equal(ids[0], idb[0]);

    /* the same key at another address (the pod moved): reconnects to the new one */
    struct probe_target moved[1] = {target("ns/b", C, NULL)};
    char rid_c[64];
    run_id_of(C, rid_c, sizeof(rid_c));
    prober_round(p, moved, 1, 2000, r);
    expect_ok(&r[0], "b moved to c's address");
    assert_string_equal(r[0].info.run_id, rid_c);
    for (int i = 0; i < 60 && n != 0; i++) {
        n = other_clients(B, ids, 8);
        if (n)
            sleep_ms(50);
    }
    assert_int_equal(n, 0);
    prober_free(p);
    /* prober_free closes what is left */
    for (int i = 0, m = -1; i < 60 && m != 0; i++) {
        m = other_clients(C, ids, 8);
        if (m && i == 59)
            fail_msg("c's prober connection still open after prober_free");
        if (m)
            sleep_ms(50);
    }
}

static void test_closed_port(void **state)
{
    (void)state;
    NEED_SERVERS();
    struct prober *p = prober_new();
    struct srv closed = {.port = free_port()};
    assert_true(closed.port > 0);
    struct probe_target t[2] = {target("ns/closed", &closed, NULL), target("ns/a", A, NULL)};
    struct probe_result r[2];
    for (int round = 0; round < 3; round++) {
        prober_round(p, t, 2, 2000, r);
        expect_fail(&r[0], "closed port", "connect");
        assert_false(r[0].auth_refused); /* no answer at all: a real failure */
        expect_ok(&r[1], "a beside a closed port");
    }
    prober_free(p);
}

static void test_password(void **state)
{
    (void)state;
    NEED_SERVERS();
    struct prober *p = prober_new();
    struct probe_result r[1];
    long long ids1[8], ids2[8];

    struct probe_target wrong[1] = {target("ns/p", P, "not-the-password")};
    prober_round(p, wrong, 1, 2000, r);
    expect_fail(&r[0], "wrong password", "WRONGPASS");
    assert_true(r[0].auth_refused); /* it answered: up, with another password */

    struct probe_target none[1] = {target("ns/p", P, NULL)};
    prober_round(p, none, 1, 2000, r);
    expect_fail(&r[0], "no password", "NOAUTH");
    assert_true(r[0].auth_refused);

    struct probe_target right[1] = {target("ns/p", P, PASSWORD)};
    prober_round(p, right, 1, 2000, r);
    expect_ok(&r[0], "right password");
    assert_false(r[0].auth_refused);
    assert_true(r[0].info.is_primary);
    assert_int_equal(other_clients(P, ids1, 8), 1);
    prober_round(p, right, 1, 2000, r); /* the authenticated connection is reused */
    expect_ok(&r[0], "right password, second round");
    assert_int_equal(other_clients(P, ids2, 8), 1);
    assert_int_equal(ids2[0], ids1[0]);

    /* the password changes (a rotated Secret): the prober reconnects and fails cleanly */
    prober_round(p, wrong, 1, 2000, r);
    expect_fail(&r[0], "wrong password after a right one", "WRONGPASS");
    prober_round(p, right, 1, 2000, r);
    expect_ok(&r[0], "right password again");
    prober_free(p);
}

/* Three targets, one SIGSTOPped: the round returns within timeout_ms (+ margin) and the two
 * live ones are ok; after SIGCONT the hung one is probed fine again. */
static void test_stopped_server(void **state)
{
    (void)state;
    NEED_SERVERS();
    const long timeout = 1000;
    struct prober *p = prober_new();
    struct probe_target t[3] = {target("ns/a", A, NULL), target("ns/c", C, NULL), target("ns/b", B, NULL)};
    struct probe_result r[3];

    prober_round(p, t, 3, timeout, r); /* connections up first */
    for (int i = 0; i < 3; i++)
        expect_ok(&r[i], "before the stop");

    pause_server(C);
    for (int round = 0; round < 3; round++) { /* established connection, then fresh ones */
        int64_t t0 = clock_now_ms();
        prober_round(p, t, 3, timeout, r);
        double took = (double)(clock_now_ms() - t0);
        if (took > (double)timeout + MARGIN_MS)
            print_error("round %d with a stopped server took %.0f ms; bound %ld + %.0f\n", round, took, timeout,
                        MARGIN_MS);
        assert_true(took <= (double)timeout + MARGIN_MS);
        expect_ok(&r[0], "a beside a stopped server");
        expect_ok(&r[2], "b beside a stopped server");
        expect_fail(&r[1], "stopped server", "timed out");
    }
    /* a new prober whose first connection goes to the stopped server */
    struct prober *fresh = prober_new();
    int64_t t0 = clock_now_ms();
    prober_round(fresh, t, 3, timeout, r);
    assert_true((double)(clock_now_ms() - t0) <= (double)timeout + MARGIN_MS);
    expect_fail(&r[1], "stopped server, fresh prober", "timed out");
    expect_ok(&r[0], "a, fresh prober");
    expect_ok(&r[2], "b, fresh prober");
    prober_free(fresh);

    resume_server(C);
    bool back = false;
    for (int i = 0; i < 20 && !back; i++) { /* bounded: it answers the first round after SIGCONT */
        prober_round(p, t, 3, timeout, r);
        back = r[0].ok && r[1].ok && r[2].ok;
    }
    if (!back)
        print_error("after SIGCONT: a %s, c %s, b %s\n", r[0].err, r[1].err, r[2].err);
    assert_true(back);
    prober_free(p);
}

/* latency_ms is documented as "from sending to the last answer": a live target beside a hung
 * one should report its own answer time, not the round's timeout. */
static void test_latency_per_target(void **state)
{
    (void)state;
    NEED_SERVERS();
    const long timeout = 3000;
    struct prober *p = prober_new();
    struct probe_target t[2] = {target("ns/a", A, NULL), target("ns/c", C, NULL)};
    struct probe_result r[2];
    prober_round(p, t, 2, timeout, r);
    expect_ok(&r[0], "a");
    pause_server(C);
    prober_round(p, t, 2, timeout, r);
    resume_server(C);
    expect_ok(&r[0], "a beside a stopped server");
    assert_false(r[1].ok);
    if (r[0].latency_ms >= (double)timeout / 2)
        print_error("a's latency_ms is %.0f (the stopped target's: %.0f): the round's duration, not a's own\n",
                    r[0].latency_ms, r[1].latency_ms);
    assert_true(r[0].latency_ms < (double)timeout / 2);
    prober_free(p);
}


/* 1,500 targets in one round (past the old fixed table of 1024): every one is probed and
 * answered, on a connection of its own (distinct keys), all to server a on 127.0.0.1; the next
 * round reuses those connections; a round that names one of them closes the others. */
static void test_thousands_of_targets(void **state)
{
    (void)state;
    NEED_SERVERS();
    if (!fd_room(FDS_WANTED)) {
        fprintf(stderr, "test_prober: fewer than %d file descriptors allowed; skipped\n", FDS_WANTED);
        skip();
    }
    struct probe_target *t = calloc(THOUSANDS, sizeof(*t));
    struct probe_result *r = calloc(THOUSANDS, sizeof(*r));
    assert_non_null(t);
    assert_non_null(r);
    for (int i = 0; i < THOUSANDS; i++) {
        char key[32];
        snprintf(key, sizeof(key), "ns/pod-%d", i);
        t[i] = target(key, A, NULL);
    }
    struct prober *p = prober_new();
    assert_non_null(p);
    for (int round = 0; round < 2; round++) {
        prober_round(p, t, THOUSANDS, 20000, r);
        for (int i = 0; i < THOUSANDS; i++) {
            if (!r[i].ok || r[i].skipped)
                fail_msg("round %d, target %d: not probed: \"%s\"", round, i, r[i].err);
            assert_true(r[i].info.is_primary);
        }
        /* One connection per target, the same ones in the second round. */
        assert_int_equal(clients_settle(A, THOUSANDS), THOUSANDS);
    }

    prober_round(p, t + 7, 1, 2000, r);
    expect_ok(&r[0], "one of them alone");
    assert_int_equal(clients_settle(A, 1), 1);
    prober_free(p);
    free(t);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_live_server, test_setup),
        cmocka_unit_test_setup(test_connection_reused, test_setup),
        cmocka_unit_test_setup(test_dropped_target_closed, test_setup),
        cmocka_unit_test_setup(test_closed_port, test_setup),
        cmocka_unit_test_setup(test_password, test_setup),
        cmocka_unit_test_setup(test_stopped_server, test_setup),
        cmocka_unit_test_setup(test_latency_per_target, test_setup),
        cmocka_unit_test_setup(test_thousands_of_targets, test_setup),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
