/* nodeagent.h — the local test cluster's node agent (a tiny kubelet stand-in; see README.md).
 *
 * One process: a watch thread keeps a cache of every Pod (list + watch, re-list on 410); the
 * main thread binds pending Pods to this node, runs the Pods bound here (one real process per
 * container, in the Pod's network namespace, each in a private mount namespace with the Pod's
 * volumes, as its securityContext's user), probes them, writes their status, and keeps the Node
 * and its Lease fresh. Only the main thread forks and owns the pod runtimes; the cache is shared
 * under agent.mu. */
#ifndef GUNGNIR_NODEAGENT_H
#define GUNGNIR_NODEAGENT_H

#include "kube_client.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NA_NETNS_PREFIX "gpod-"
#define NA_GRACE_CAP_S 30
#define NA_SHUTDOWN_GRACE_S 10

struct pod_rt; /* one Pod this agent runs (pod.c) */

struct agent {
    /* flags */
    const char *node_name;
    const char *state_dir;
    const char *pod_prefix; /* "10.250.0" */
    const char *bridge;
    const char *shim_dir;
    int ip_first, ip_last;
    char host_ip[32];     /* prefix.1 */
    char ip_bin[64];      /* absolute path of `ip` */
    char path_env[PATH_MAX + 128]; /* PATH= for pod processes: the shim dir first */
    struct kube_client_options kopt;

    /* main thread */
    struct kube_client *kc;
    struct pod_rt *pods;
    json_t *bind_retry;  /* uid -> next attempt (ms), for failed bindings */
    char *hosts_peers;   /* last /etc/hosts peer block written */

    /* shared with the watch thread, under mu */
    pthread_mutex_t mu;
    json_t *cache;       /* "ns/name" -> Pod */
    bool synced;
    unsigned long cache_gen;

    int wake_fd[2];      /* a byte on [1] wakes the main loop */
    atomic_int stop;     /* SIGTERM/SIGINT seen; also the watch client's abort flag */
    volatile sig_atomic_t signals;
};

/* ---- sys.c: processes, files, network namespaces ---- */

/* snprintf that says whether it fit: 0, or -1 when the output was cut (buf still ends in NUL). */
int na_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* RFC 3339 UTC ("2026-01-02T03:04:05Z") of t, or of now when t is 0. */
void na_time(char out[32], time_t t);
/* Runs argv (argv[0] an absolute path) with stdin/stdout on /dev/null, waiting at most
 * timeout_s. Returns the exit status (0 ok), or -1; stderr's first line goes into err. */
int na_run(const char *const argv[], int timeout_s, char *err, size_t errlen);
int na_mkdir_p(const char *path, mode_t mode);
/* Removes path and everything below it (never following symlinks). Missing is fine. */
int na_rm_rf(const char *path);
/* Writes data to path atomically (temp file + rename) when its content differs.
 * Returns 0 (and sets *changed when not NULL), or -1. */
int na_write_file(const char *path, const void *data, size_t len, mode_t mode, bool *changed);
/* Rewrites a file in place (it may be bind-mounted: a rename would not be seen). */
int na_write_inplace(const char *path, const char *data, size_t len);
/* A regular file of at most max bytes into a new NUL-terminated buffer (file_read.h); NULL
 * (errno set) when it cannot be read or is larger. */
char *na_read_file(const char *path, size_t max, size_t *len);
/* base64 (base64.h: standard alphabet, padding required) into a new NUL-terminated buffer.
 * Returns NULL when invalid. */
unsigned char *na_base64_decode(const char *in, size_t *outlen);
/* Host-side veth of a pod: "gh-" + the first 10 hex digits of sha1(pod) (as netns.sh). */
void na_veth_name(const char *pod, char out[16]);
/* Creates netns gpod-<pod> with eth0 = ip/24 on the bridge (as `netns.sh add`). */
int na_netns_add(const struct agent *a, const char *pod, const char *ip, char *err, size_t errlen);
/* Kills what runs in it, deletes the veth and the netns, flushes neighbour entries of ip. */
void na_netns_del(const struct agent *a, const char *pod, const char *ip);
/* Sends sig to every process in netns `name` (full name). Returns how many. */
int na_netns_signal(const char *name, int sig);
bool na_netns_exists(const char *name);

/* ---- pod.c: the pods this node runs ---- */

/* One pass over the pods: snapshot is "ns/name" -> Pod (borrowed), synced says it is complete. */
void pods_sync(struct agent *a, json_t *snapshot, bool synced);
/* Advances every pod's state machine (reap, probe, restart, stop, status). */
void pods_step(struct agent *a);
/* Keeps every running pod's /etc/hosts current. */
void pods_update_hosts(struct agent *a, json_t *snapshot);
/* Stops every process and netns this agent made (bounded by NA_SHUTDOWN_GRACE_S). */
void pods_shutdown(struct agent *a);
/* Cleans what a previous agent that died left in state_dir/pods (processes, netns). */
void pods_recover_stale(struct agent *a);

#endif
