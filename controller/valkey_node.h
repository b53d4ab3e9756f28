/* valkey_node.h — one blocking, time-bounded connection to a Valkey server (hiredis 0.14 API),
 * for the controller's commands: AUTH, INFO, REPLICAOF, FAILOVER. Every call is bounded by the
 * timeout given at connect. The commands that change a server are fault points in test builds
 * ("valkey.replicaof", "valkey.failover", "valkey.config_set", "valkey.acl_setuser";
 * shared/fault_point.h). Errors are hiredis-style: -1 and valkey_node_errstr(). */
#ifndef GUNGNIR_VALKEY_NODE_H
#define GUNGNIR_VALKEY_NODE_H

#include "valkey_info.h"

#include "fence.h"

struct valkey_node;

/* Connects to host:port and authenticates with password (NULL: none). Returns a new node, or
 * NULL with the reason in err. */
struct valkey_node *valkey_node_connect(const char *host, int port, const char *password,
                                        long timeout_ms, char *err, size_t errlen);

void valkey_node_free(struct valkey_node *n);

/* The last error (borrowed). */
const char *valkey_node_errstr(const struct valkey_node *n);

/* Makes every later command of n fail at once (-1, "aborted ...") while the fence f (borrowed;
 * it must outlive n; NULL: never) is closed: the leader's fence, so that a process that has
 * lost its Lease stops moving primaries between two commands of a failover or switchover. */
void valkey_node_set_fence(struct valkey_node *n, const struct fence *f);

/* INFO (server + replication sections) into *out. Returns 0, or -1. */
int valkey_node_info(struct valkey_node *n, struct valkey_info *out);

/* REPLICAOF host port, or REPLICAOF NO ONE when host is NULL. Returns 0, or -1. */
int valkey_node_replicaof(struct valkey_node *n, const char *host, int port);

/* FAILOVER TO host port TIMEOUT timeout_ms on a primary: a coordinated switchover that pauses
 * writes until the replica has caught up. Returns 0 once the server accepted it (it completes
 * asynchronously: poll the replica's role), or -1. */
int valkey_node_failover_to(struct valkey_node *n, const char *host, int port, long timeout_ms);

/* CONFIG SET key value. Returns 0, or -1. */
int valkey_node_config_set(struct valkey_node *n, const char *key, const char *value);

/* ACL SETUSER default >password: the default user accepts password as well as the ones it
 * had. Returns 0, or -1. */
int valkey_node_acl_add_password(struct valkey_node *n, const char *password);

/* Whether password is the only password of the default user (ACL GETUSER default compares
 * SHA-256 hashes; the server never shows a password). Returns 1 (only it), 0 (others too, or
 * not it), or -1. */
int valkey_node_password_is_only(struct valkey_node *n, const char *password);

/* SET key value, GET key into buf (for tests and checks). Return 0 (GET: 1 found, 0 missing),
 * or -1. */
int valkey_node_set(struct valkey_node *n, const char *key, const char *value);
int valkey_node_get(struct valkey_node *n, const char *key, char *buf, size_t size);

#endif
