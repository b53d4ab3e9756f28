/* valkey_node.c — see valkey_node.h. */
#include "valkey_node.h"
#include "fault_point.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFO_MAX (1u << 20)

struct valkey_node {
    redisContext *ctx;
    const struct fence *fence; /* borrowed; commands fail while it is closed */
    char errstr[256];
};

static void set_err(struct valkey_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct valkey_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->errstr, sizeof(n->errstr), fmt, ap);
    va_end(ap);
}

/* Runs argv; returns the reply (caller frees) or NULL with errstr set (also for error replies). */
static redisReply *command(struct valkey_node *n, int argc, const char **argv)
{
    if (fence_closed(n->fence)) {
        set_err(n, "%s: aborted (this process is no longer the leader)", argv[0]);
        return NULL;
    }
    redisReply *r = redisCommandArgv(n->ctx, argc, argv, NULL);
    if (!r) {
        set_err(n, "%s: %s", argv[0], n->ctx->errstr[0] ? n->ctx->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_err(n, "%s: %s", argv[0], r->str ? r->str : "error");
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

struct valkey_node *valkey_node_connect(const char *host, int port, const char *password,
                                        long timeout_ms, char *err, size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    struct valkey_node *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->ctx = redisConnectWithTimeout(host, port, tv);
    if (!n->ctx || n->ctx->err) {
        snprintf(err, errlen, "connect %s:%d: %s", host, port, n->ctx ? n->ctx->errstr : "out of memory");
        valkey_node_free(n);
        return NULL;
    }
    redisSetTimeout(n->ctx, tv);
    if (password && password[0]) {
        const char *argv[] = {"AUTH", password};
        redisReply *r = command(n, 2, argv);
        if (!r) {
            snprintf(err, errlen, "%s:%d: %s", host, port, n->errstr);
            valkey_node_free(n);
            return NULL;
        }
        freeReplyObject(r);
    }
    return n;
}

void valkey_node_free(struct valkey_node *n)
{
    if (!n)
        return;
    if (n->ctx)
        redisFree(n->ctx);
    free(n);
}

const char *valkey_node_errstr(const struct valkey_node *n) { return n->errstr; }

void valkey_node_set_fence(struct valkey_node *n, const struct fence *f) { n->fence = f; }

/* The fault point of a command that changes the server (test builds). Returns 0, or -1 with
 * errstr set. */
static int fault(struct valkey_node *n, const char *point)
{
    if (FAULT_POINT(point) != 0) {
        set_err(n, "fault injected at %s", point);
        return -1;
    }
    return 0;
}

static int info_section(struct valkey_node *n, const char *section, char *text, size_t *used,
                        size_t cap)
{
    const char *argv[] = {"INFO", section};
    redisReply *r = command(n, 2, argv);
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_STRING || (size_t)r->len >= cap - *used) {
        set_err(n, "INFO %s: unexpected reply", section);
        freeReplyObject(r);
        return -1;
    }
    memcpy(text + *used, r->str, (size_t)r->len);
    *used += (size_t)r->len;
    text[(*used)++] = '\n';
    freeReplyObject(r);
    return 0;
}

int valkey_node_info(struct valkey_node *n, struct valkey_info *out)
{
    char *text = malloc(INFO_MAX);
    size_t used = 0;
    int rc = -1;
    if (!text) {
        set_err(n, "out of memory");
        return -1;
    }
    if (info_section(n, "server", text, &used, INFO_MAX) == 0 &&
        info_section(n, "replication", text, &used, INFO_MAX) == 0) {
        rc = valkey_info_parse(text, used, out);
        if (rc != 0)
            set_err(n, "INFO: the reply could not be parsed");
    }
    free(text);
    return rc;
}

int valkey_node_replicaof(struct valkey_node *n, const char *host, int port)
{
    if (fault(n, "valkey.replicaof") != 0)
        return -1;
    char p[16];
    snprintf(p, sizeof(p), "%d", port);
    const char *argv[] = {"REPLICAOF", host ? host : "NO", host ? p : "ONE"};
    redisReply *r = command(n, 3, argv);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int valkey_node_failover_to(struct valkey_node *n, const char *host, int port, long timeout_ms)
{
    if (fault(n, "valkey.failover") != 0)
        return -1;
    char p[16], t[24];
    snprintf(p, sizeof(p), "%d", port);
    snprintf(t, sizeof(t), "%ld", timeout_ms);
    const char *argv[] = {"FAILOVER", "TO", host, p, "TIMEOUT", t};
    redisReply *r = command(n, 6, argv);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int valkey_node_set(struct valkey_node *n, const char *key, const char *value)
{
    const char *argv[] = {"SET", key, value};
    redisReply *r = command(n, 3, argv);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int valkey_node_get(struct valkey_node *n, const char *key, char *buf, size_t size)
{
    const char *argv[] = {"GET", key};
    redisReply *r = command(n, 2, argv);
    int found = 0;
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_STRING) {
        snprintf(buf, size, "%.*s", (int)r->len, r->str);
        found = 1;
    }
    freeReplyObject(r);
    return found;
}

int valkey_node_config_set(struct valkey_node *n, const char *key, const char *value)
{
    if (fault(n, "valkey.config_set") != 0)
        return -1;
    const char *argv[] = {"CONFIG", "SET", key, value};
    redisReply *r = command(n, 4, argv);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int valkey_node_acl_add_password(struct valkey_node *n, const char *password)
{
    if (fault(n, "valkey.acl_setuser") != 0)
        return -1;
    char rule[300];
    int len = snprintf(rule, sizeof(rule), ">%s", password);
    if (len < 0 || (size_t)len >= sizeof(rule)) {
        set_err(n, "ACL SETUSER: password too long");
        return -1;
    }
    const char *argv[] = {"ACL", "SETUSER", "default", rule};
    redisReply *r = command(n, 4, argv);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int valkey_node_password_is_only(struct valkey_node *n, const char *password)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    SHA256((const unsigned char *)password, strlen(password), digest);
    for (size_t i = 0; i < sizeof(digest); i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    const char *argv[] = {"ACL", "GETUSER", "default"};
    redisReply *r = command(n, 3, argv);
    if (!r)
        return -1;
    int only = -1;
    /* A flat list of field, value pairs; "passwords" is a list of hex SHA-256 hashes. */
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING && k->type != REDIS_REPLY_STATUS)
            continue;
        if (strcmp(k->str, "passwords") != 0 || v->type != REDIS_REPLY_ARRAY)
            continue;
        only = v->elements == 1 && v->element[0]->type == REDIS_REPLY_STRING && strcmp(v->element[0]->str, hex) == 0;
    }
    if (only < 0)
        set_err(n, "ACL GETUSER default: no passwords field");
    freeReplyObject(r);
    return only;
}
