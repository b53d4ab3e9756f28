/* conf_keys.c — see conf_keys.h. */
#include "conf_keys.h"

#include <string.h>

static const struct conf_key table[] = {
    {"port", false, CONF_KEY_OWNED, NULL, "the Services, probes and replication use port 6379"},
    {"bind", false, CONF_KEY_OWNED, NULL, "other pods and the operator must reach the server"},
    {"protected-mode", false, CONF_KEY_OWNED, NULL, "with auth off, protected mode would refuse other pods"},
    {"replicaof", false, CONF_KEY_OWNED, NULL, "pods boot fenced; only the operator chooses the primary"},
    {"slaveof", false, CONF_KEY_OWNED, NULL, "the old name of replicaof"},
    {"replica-read-only", false, CONF_KEY_OWNED, NULL, "a writable replica would diverge from its primary"},
    {"slave-read-only", false, CONF_KEY_OWNED, NULL, "the old name of replica-read-only"},
    {"tls-", true, CONF_KEY_OWNED, "spec.tls", "TLS files and ports come from spec.tls"},
    {"requirepass", false, CONF_KEY_OWNED, "spec.auth", "the password comes from the auth Secret"},
    {"masterauth", false, CONF_KEY_OWNED, "spec.auth", "replicas authenticate with the auth Secret's password"},
    {"masteruser", false, CONF_KEY_OWNED, "spec.auth", "replicas authenticate as the default user"},
    {"aclfile", false, CONF_KEY_OWNED, NULL, "the operator's own connections use the default user"},
    {"user", false, CONF_KEY_OWNED, NULL, "the operator's own connections use the default user"},
    {"dir", false, CONF_KEY_OWNED, NULL, "data lives on the data volume at /data"},
    {"dbfilename", false, CONF_KEY_OWNED, NULL, "the data volume's layout is the operator's"},
    {"appendonly", false, CONF_KEY_OWNED, "spec.persistence.mode", "persistence follows spec.persistence.mode"},
    {"save", false, CONF_KEY_OWNED, "spec.persistence.mode", "persistence follows spec.persistence.mode"},
    {"cluster-", true, CONF_KEY_OWNED, NULL, "a ValkeyCluster is one primary with replicas, not Valkey Cluster"},
    {"daemonize", false, CONF_KEY_OWNED, NULL, "the server must stay in the foreground of its container"},
    {"include", false, CONF_KEY_OWNED, NULL, "every line comes from the spec"},
    {"rename-command", false, CONF_KEY_OWNED, NULL, "the operator needs REPLICAOF, FAILOVER, INFO and CONFIG"},
    {"maxmemory", false, CONF_KEY_OWNED, "spec.maxmemory", "derived from the memory limit"},
    {"repl-diskless-sync-delay", false, CONF_KEY_TUNABLE, NULL,
     "default 0: a new replica starts its full sync at once (Valkey's own default waits 5 s)"},
    {"appendfsync", false, CONF_KEY_TUNABLE, NULL, "default everysec with persistence mode aof"},
};

const struct conf_key *conf_key_lookup(const char *key)
{
    for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const struct conf_key *k = &table[i];
        if (k->prefix ? strncmp(key, k->key, strlen(k->key)) == 0 : strcmp(key, k->key) == 0)
            return k;
    }
    return NULL;
}

const struct conf_key *conf_keys_all(unsigned *n)
{
    *n = (unsigned)(sizeof(table) / sizeof(table[0]));
    return table;
}

/* Keys a user may set that Valkey takes only at start (IMMUTABLE in its config table, or
 * directives that are no config parameter at all). */
static const char *const restart_keys[] = {
    "databases",         "io-threads",          "io-threads-do-reads", "supervised",      "pidfile",
    "logfile",           "syslog-enabled",      "syslog-ident",        "syslog-facility", "unixsocket",
    "unixsocketperm",    "always-show-logo",    "set-proc-title",      "proc-title-template",
    "disable-thp",       "enable-debug-command", "enable-module-command", "enable-protected-configs",
    "tcp-backlog",       "appenddirname",       "loadmodule",          "server-cpulist",  "bio-cpulist",
    "aof-rewrite-cpulist", "bgsave-cpulist",    "ignore-warnings",     "locale-collate",  "oom-score-adj",
};

bool conf_key_needs_restart(const char *key)
{
    for (unsigned i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++)
        if (strcmp(key, restart_keys[i]) == 0)
            return true;
    return false;
}
