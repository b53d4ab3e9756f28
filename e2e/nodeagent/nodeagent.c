/* nodeagent.c — gungnir-nodeagent: flags, the Node and its Lease, the pod watch, the main loop.
 * See README.md for what it does and does not do. */
#include "nodeagent.h"

#include "backoff.h"
#include "kubeconfig.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HEARTBEAT_MS 10000
#define TICK_MS 100
#define WATCH_TIMEOUT_S 300

static struct agent *g_agent; /* for the signal handler */

static void on_signal(int sig)
{
    (void)sig;
    if (!g_agent)
        return;
    g_agent->stop = 1;
    g_agent->signals++;
    int saved = errno;
    if (write(g_agent->wake_fd[1], "s", 1) < 0) {
        /* the pipe is full: the loop wakes anyway */
    }
    errno = saved;
}

static void wake(struct agent *a)
{
    if (write(a->wake_fd[1], "w", 1) < 0) {
        /* full: already awake */
    }
}

/* ---------------------------------------------------------------- the pod watch thread */

struct watch_ctx {
    struct agent *a;
    char rv[64];
    bool relist;
};

static char *pod_key(const json_t *pod)
{
    json_t *meta = json_object_get(pod, "metadata");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    if (!ns || !name)
        return NULL;
    size_t n = strlen(ns) + strlen(name) + 2;
    char *k = malloc(n);
    if (k)
        na_fmt(k, n, "%s/%s", ns, name);
    return k;
}

static void set_rv(struct watch_ctx *w, const json_t *obj)
{
    const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    if (rv)
        na_fmt(w->rv, sizeof(w->rv), "%s", rv);
}

static int on_watch_event(void *ctx, const char *type, json_t *obj)
{
    struct watch_ctx *w = ctx;
    struct agent *a = w->a;
    if (a->stop)
        return 1;
    if (strcmp(type, "ERROR") == 0) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        log_write(LOG_INFO, "pod watch ended with an error event", "message",
                  json_string_value(json_object_get(obj, "message")), NULL);
        if (code == 410)
            w->relist = true;
        return 1;
    }
    set_rv(w, obj);
    if (strcmp(type, "BOOKMARK") == 0)
        return 0;
    char *key = pod_key(obj);
    if (!key)
        return 0;
    pthread_mutex_lock(&a->mu);
    if (strcmp(type, "DELETED") == 0)
        json_object_del(a->cache, key);
    else
        json_object_set(a->cache, key, obj);
    a->cache_gen++;
    pthread_mutex_unlock(&a->mu);
    free(key);
    wake(a);
    return 0;
}

static void sleep_unless_stopped(struct agent *a, int64_t ms)
{
    int64_t until = clock_now_ms() + ms;
    while (!a->stop && clock_now_ms() < until)
        usleep(50000);
}

/* Lists every pod (paged) into a fresh cache. Returns 0, or -1. */
static int list_pods(struct kube_client *kc, struct watch_ctx *w)
{
    json_t *fresh = json_object();
    char cont[2048] = "";
    for (;;) {
        char path[2600], esc[2100];
        if (cont[0] && kube_query_escape(cont, esc, sizeof(esc)) != 0)
            break;
        na_fmt(path, sizeof(path), "/api/v1/pods?limit=500%s%s", cont[0] ? "&continue=" : "",
                 cont[0] ? esc : "");
        json_t *list = NULL;
        long code = kube_get(kc, path, &list);
        if (code != 200) {
            log_write(LOG_WARN, "listing pods failed", "error", kube_client_errstr(kc), NULL);
            json_decref(list);
            json_decref(fresh);
            return -1;
        }
        size_t i;
        json_t *pod;
        json_array_foreach(json_object_get(list, "items"), i, pod) {
            char *key = pod_key(pod);
            if (key)
                json_object_set(fresh, key, pod);
            free(key);
        }
        json_t *meta = json_object_get(list, "metadata");
        const char *next = json_string_value(json_object_get(meta, "continue"));
        set_rv(w, list);
        na_fmt(cont, sizeof(cont), "%s", next ? next : "");
        json_decref(list);
        if (!cont[0])
            break;
    }
    struct agent *a = w->a;
    pthread_mutex_lock(&a->mu);
    json_decref(a->cache);
    a->cache = fresh;
    a->synced = true;
    a->cache_gen++;
    pthread_mutex_unlock(&a->mu);
    wake(a);
    return 0;
}

static void *watch_main(void *arg)
{
    struct agent *a = arg;
    char err[KUBE_ERR_MAX];
    struct kube_client *kc = kube_client_new(&a->kopt, err, sizeof(err));
    if (!kc) {
        log_write(LOG_ERROR, "pod watch: no client", "error", err, NULL);
        return NULL;
    }
    kube_client_set_abort_flag(kc, &a->stop);
    struct watch_ctx w = {.a = a};
    unsigned failures = 0;
    struct backoff_policy bp = {.base_ms = 500, .max_ms = 10000, .jitter = 0.2};
    uint64_t rng = (uint64_t)getpid();
    bool need_list = true;
    while (!a->stop) {
        if (need_list) {
            if (list_pods(kc, &w) != 0) {
                sleep_unless_stopped(a, backoff_delay_ms(&bp, failures++, &rng));
                continue;
            }
            need_list = false;
            failures = 0;
        }
        char path[256];
        na_fmt(path, sizeof(path),
                 "/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s",
                 WATCH_TIMEOUT_S, w.rv);
        w.relist = false;
        long code = kube_watch(kc, path, WATCH_TIMEOUT_S + 60, on_watch_event, &w);
        if (a->stop)
            break;
        if (w.relist || code == 410) {
            log_write(LOG_INFO, "pod watch: resourceVersion too old, listing again", NULL);
            need_list = true;
        } else if (code != 200) {
            log_write(LOG_WARN, "pod watch failed", "error", kube_client_errstr(kc), NULL);
            sleep_unless_stopped(a, backoff_delay_ms(&bp, failures++, &rng));
            if (failures > 5)
                need_list = true;
        } else {
            failures = 0;
        }
    }
    kube_client_free(kc);
    return NULL;
}

/* ---------------------------------------------------------------- the Node and its Lease */

static void node_register(struct agent *a)
{
    json_t *node = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s, s:s}}, s:{}}", "apiVersion", "v1", "kind", "Node",
                             "metadata", "name", a->node_name, "labels", "kubernetes.io/hostname", a->node_name,
                             "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64", "gungnir.dev/node-agent",
                             "true", "spec");
    long code = kube_send_json(a->kc, "POST", "/api/v1/nodes", NULL, node, NULL);
    json_decref(node);
    if (code != 201 && code != 409)
        log_write(LOG_WARN, "could not register the Node", "error", kube_client_errstr(a->kc), NULL);
    else
        log_write(LOG_INFO, code == 201 ? "registered the Node" : "the Node exists already", "node", a->node_name,
                  NULL);
}

static void node_heartbeat(struct agent *a, bool ready, const char *since)
{
    char now[32], path[512];
    na_time(now, 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long long mem_ki = (long long)sysconf(_SC_PHYS_PAGES) * (sysconf(_SC_PAGESIZE) / 1024);
    char cpu[32], mem[32];
    na_fmt(cpu, sizeof(cpu), "%ld", cpus > 0 ? cpus : 1);
    na_fmt(mem, sizeof(mem), "%lldKi", mem_ki > 0 ? mem_ki : 1048576);
    json_t *conds = json_array();
    const char *types[] = {"MemoryPressure", "DiskPressure", "PIDPressure"};
    for (int i = 0; i < 3; i++)
        json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", types[i], "status", "False",
                                               "reason", "KubeletHasSufficientResources", "message", "gungnir-nodeagent",
                                               "lastHeartbeatTime", now, "lastTransitionTime", since));
    json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "Ready", "status",
                                           ready ? "True" : "False", "reason", ready ? "KubeletReady" : "KubeletStopped",
                                           "message", ready ? "gungnir-nodeagent is posting ready status"
                                                            : "gungnir-nodeagent stopped",
                                           "lastHeartbeatTime", now, "lastTransitionTime", since));
    json_t *res = json_pack("{s:s, s:s, s:s}", "cpu", cpu, "memory", mem, "pods", "110");
    json_t *patch = json_pack(
        "{s:{s:o, s:[{s:s, s:s}, {s:s, s:s}], s:O, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:s}}}", "status", "conditions",
        conds, "addresses", "type", "InternalIP", "address", a->host_ip, "type", "Hostname", "address", a->node_name,
        "capacity", res, "allocatable", res, "nodeInfo", "kubeletVersion", "v1.20.0-gungnir-nodeagent",
        "kubeProxyVersion", "", "operatingSystem", "linux", "architecture", "amd64", "containerRuntimeVersion",
        "gungnir-nodeagent://1", "osImage", "local");
    na_fmt(path, sizeof(path), "/api/v1/nodes/%s/status", a->node_name);
    long code = kube_send_json(a->kc, "PATCH", path, "application/merge-patch+json", patch, NULL);
    json_decref(patch);
    if (code == 404) {
        node_register(a);
        return;
    }
    if (code != 200)
        log_write(LOG_WARN, "node heartbeat failed", "error", kube_client_errstr(a->kc), NULL);
}

static void lease_renew(struct agent *a)
{
    char path[512], now[40];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(now, 24, "%Y-%m-%dT%H:%M:%S", &tm);
    na_fmt(now + strlen(now), sizeof(now) - strlen(now), ".%06ldZ", (long)tv.tv_usec);
    na_fmt(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s", a->node_name);
    json_t *patch = json_pack("{s:{s:s, s:i, s:s}}", "spec", "holderIdentity", a->node_name, "leaseDurationSeconds", 40,
                              "renewTime", now);
    long code = kube_send_json(a->kc, "PATCH", path, "application/merge-patch+json", patch, NULL);
    json_decref(patch);
    if (code == 404) {
        json_t *lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s}}", "apiVersion", "coordination.k8s.io/v1",
                                  "kind", "Lease", "metadata", "name", a->node_name, "namespace", "kube-node-lease",
                                  "spec", "holderIdentity", a->node_name, "leaseDurationSeconds", 40, "renewTime", now);
        code = kube_send_json(a->kc, "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", NULL,
                              lease, NULL);
        json_decref(lease);
        if (code == 201)
            return;
    }
    if (code != 200)
        log_write(LOG_DEBUG, "lease renewal failed", "error", kube_client_errstr(a->kc), NULL);
}

/* ---------------------------------------------------------------- setup */

static char *read_all(const char *path, size_t *len)
{
    char *s = na_read_file(path, 1u << 20, len);
    if (!s)
        fprintf(stderr, "gungnir-nodeagent: cannot read %s: %s\n", path, strerror(errno));
    return s;
}

static int make_shims(struct agent *a)
{
    if (na_mkdir_p(a->shim_dir, 0755) != 0) {
        log_write(LOG_ERROR, "cannot create the shim dir", "path", a->shim_dir, "error", strerror(errno), NULL);
        return -1;
    }
    const char *links[][2] = {
        {"valkey-server", "/usr/bin/redis-server"},   {"valkey-cli", "/usr/bin/redis-cli"},
        {"valkey-benchmark", "/usr/bin/redis-benchmark"}, {"valkey-check-aof", "/usr/bin/redis-check-aof"},
        {"valkey-check-rdb", "/usr/bin/redis-check-rdb"},
        /* the oliver006/redis_exporter image's entrypoint (Debian: prometheus-redis-exporter) */
        {"redis_exporter", "/usr/bin/prometheus-redis-exporter"},
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        char p[PATH_MAX];
        na_fmt(p, sizeof(p), "%s/%s", a->shim_dir, links[i][0]);
        if (access(links[i][1], X_OK) != 0)
            continue;
        unlink(p);
        if (symlink(links[i][1], p) != 0) {
            log_write(LOG_ERROR, "cannot create a shim", "path", p, "error", strerror(errno), NULL);
            return -1;
        }
    }
    /* redis-server picks sentinel mode from its argv[0] or --sentinel */
    if (access("/usr/bin/redis-server", X_OK) == 0) {
        char p[PATH_MAX];
        const char *script = "#!/bin/sh\nexec /usr/bin/redis-server \"$@\" --sentinel\n";
        na_fmt(p, sizeof(p), "%s/valkey-sentinel", a->shim_dir);
        na_write_file(p, script, strlen(script), 0755, NULL);
    }
    na_fmt(a->path_env, sizeof(a->path_env), "%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             a->shim_dir);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gungnir-nodeagent (--server URL (--token-file F | --token T) [--ca-file F] | --kubeconfig F)\n"
            "                         [--node-name gungnir-node-0] [--state-dir DIR] [--shim-dir DIR]\n"
            "                         [--pod-cidr-prefix 10.250.0] [--pod-ip-range 10-250] [--bridge gungnir0]\n"
            "                         [--log-level info] [--insecure-skip-tls-verify]\n"
            "A node agent for Gungnir's local test cluster (see e2e/nodeagent/README.md).\n");
}

int main(int argc, char **argv)
{
    static struct agent agent;
    struct agent *a = &agent;
    const char *server = NULL, *token = NULL, *token_file = NULL, *ca_file = NULL, *kubeconfig = NULL;
    const char *range = "10-250";
    bool insecure = false;
    a->node_name = "gungnir-node-0";
    a->state_dir = "/tmp/gungnir-nodeagent";
    a->pod_prefix = "10.250.0";
    a->bridge = "gungnir0";
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'},      {"token", required_argument, NULL, 't'},
        {"token-file", required_argument, NULL, 'T'},  {"ca-file", required_argument, NULL, 'c'},
        {"kubeconfig", required_argument, NULL, 'k'},  {"node-name", required_argument, NULL, 'n'},
        {"state-dir", required_argument, NULL, 'd'},   {"pod-cidr-prefix", required_argument, NULL, 'p'},
        {"pod-ip-range", required_argument, NULL, 'r'}, {"shim-dir", required_argument, NULL, 'S'},
        {"bridge", required_argument, NULL, 'b'},      {"log-level", required_argument, NULL, 'l'},
        {"insecure-skip-tls-verify", no_argument, NULL, 'i'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 's': server = optarg; break;
        case 't': token = optarg; break;
        case 'T': token_file = optarg; break;
        case 'c': ca_file = optarg; break;
        case 'k': kubeconfig = optarg; break;
        case 'n': a->node_name = optarg; break;
        case 'd': a->state_dir = optarg; break;
        case 'p': a->pod_prefix = optarg; break;
        case 'r': range = optarg; break;
        case 'S': a->shim_dir = optarg; break;
        case 'b': a->bridge = optarg; break;
        case 'i': insecure = true; break;
        case 'l': {
            enum log_level lv;
            if (log_level_parse(optarg, &lv) != 0) {
                fprintf(stderr, "gungnir-nodeagent: bad --log-level %s\n", optarg);
                return 2;
            }
            log_set_level(lv);
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    struct kube_config kcfg = {0};
    if (kubeconfig) {
        char kerr[512];
        if (server || token || token_file || ca_file) {
            fprintf(stderr, "gungnir-nodeagent: --kubeconfig excludes --server/--token/--token-file/--ca-file\n");
            return 2;
        }
        if (kubeconfig_load(kubeconfig, NULL, &kcfg, kerr, sizeof(kerr)) != 0) {
            fprintf(stderr, "gungnir-nodeagent: %s\n", kerr);
            return 2;
        }
        server = kcfg.server;
        token = kcfg.token_file ? NULL : kcfg.token;
        token_file = kcfg.token_file;
        insecure = insecure || kcfg.insecure_skip_tls_verify;
    }
    if (!server || (!token && !token_file && !kcfg.client_cert_pem)) {
        fprintf(stderr, "gungnir-nodeagent: --server and --token-file (or --token) are required\n");
        usage(stderr);
        return 2;
    }
    if (sscanf(range, "%d-%d", &a->ip_first, &a->ip_last) != 2 || a->ip_first < 2 || a->ip_last > 254 ||
        a->ip_first > a->ip_last) {
        fprintf(stderr, "gungnir-nodeagent: bad --pod-ip-range %s (want FIRST-LAST within 2-254)\n", range);
        return 2;
    }
    int dots = 0;
    for (const char *p = a->pod_prefix; *p; p++)
        dots += *p == '.';
    if (dots != 2 || strlen(a->pod_prefix) > 16) {
        fprintf(stderr, "gungnir-nodeagent: bad --pod-cidr-prefix %s (want three octets, e.g. 10.250.0)\n",
                a->pod_prefix);
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "gungnir-nodeagent: must run as root (network and mount namespaces)\n");
        return 2;
    }
    na_fmt(a->host_ip, sizeof(a->host_ip), "%s.1", a->pod_prefix);
    const char *ips[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    for (size_t i = 0; i < 4 && !a->ip_bin[0]; i++)
        if (access(ips[i], X_OK) == 0)
            na_fmt(a->ip_bin, sizeof(a->ip_bin), "%s", ips[i]);
    if (!a->ip_bin[0]) {
        fprintf(stderr, "gungnir-nodeagent: no `ip` (iproute2)\n");
        return 1;
    }
    char shim_default[PATH_MAX];
    if (!a->shim_dir) {
        na_fmt(shim_default, sizeof(shim_default), "%s/shim", a->state_dir);
        a->shim_dir = shim_default;
    }
    char pods_dir[PATH_MAX];
    na_fmt(pods_dir, sizeof(pods_dir), "%s/pods", a->state_dir);
    if (na_mkdir_p(pods_dir, 0755) != 0) {
        fprintf(stderr, "gungnir-nodeagent: cannot create %s: %s\n", pods_dir, strerror(errno));
        return 1;
    }
    if (make_shims(a) != 0)
        return 1;

    size_t ca_len = 0;
    char *ca = NULL;
    if (ca_file && !(ca = read_all(ca_file, &ca_len)))
        return 1;
    if (!ca && kcfg.ca_pem) {
        ca = malloc(kcfg.ca_pem_len + 1);
        if (!ca)
            return 1;
        memcpy(ca, kcfg.ca_pem, kcfg.ca_pem_len + 1);
        ca_len = kcfg.ca_pem_len;
    }
    a->kopt = (struct kube_client_options){
        .server = server,
        .ca_pem = ca,
        .ca_pem_len = ca_len,
        .cert_pem = kcfg.client_cert_pem,
        .cert_pem_len = kcfg.client_cert_pem_len,
        .key_pem = kcfg.client_key_pem,
        .key_pem_len = kcfg.client_key_pem_len,
        .tls_server_name = kcfg.tls_server_name,
        .token = token,
        .token_file = token_file,
        .insecure = insecure,
        .request_timeout_ms = 10000,
        .user_agent = "gungnir-nodeagent",
    };
    char err[KUBE_ERR_MAX];
    a->kc = kube_client_new(&a->kopt, err, sizeof(err));
    if (!a->kc) {
        log_write(LOG_ERROR, "cannot create the kube client", "error", err, NULL);
        return 1;
    }
    a->cache = json_object();
    a->bind_retry = json_object();
    pthread_mutex_init(&a->mu, NULL);
    if (pipe2(a->wake_fd, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("pipe2");
        return 1;
    }
    g_agent = a;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_write(LOG_INFO, "gungnir-nodeagent starting", "node", a->node_name, "server", server, "state_dir",
              a->state_dir, "shim_dir", a->shim_dir, "pod_prefix", a->pod_prefix, NULL);
    pods_recover_stale(a);

    /* the watch thread gets no signals: they go to the main loop */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_t watcher;
    int prc = pthread_create(&watcher, NULL, watch_main, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        log_write(LOG_ERROR, "cannot start the watch thread", NULL);
        return 1;
    }

    char node_since[32];
    na_time(node_since, 0);
    node_register(a);
    node_heartbeat(a, true, node_since);
    lease_renew(a);
    int64_t next_beat = clock_now_ms() + HEARTBEAT_MS;
    unsigned long seen_gen = (unsigned long)-1;
    json_t *snap = json_object();
    bool synced = false;

    while (!a->stop) {
        pthread_mutex_lock(&a->mu);
        if (a->cache_gen != seen_gen) {
            json_decref(snap);
            snap = json_copy(a->cache); /* shallow: the pods are shared, read-only */
            seen_gen = a->cache_gen;
            synced = a->synced;
        }
        pthread_mutex_unlock(&a->mu);
        if (synced)
            pods_sync(a, snap, synced);
        pods_step(a);
        if (synced)
            pods_update_hosts(a, snap);
        if (clock_now_ms() >= next_beat) {
            node_heartbeat(a, true, node_since);
            lease_renew(a);
            next_beat = clock_now_ms() + HEARTBEAT_MS;
        }
        struct pollfd p = {.fd = a->wake_fd[0], .events = POLLIN};
        if (poll(&p, 1, TICK_MS) > 0) {
            char buf[256];
            while (read(a->wake_fd[0], buf, sizeof(buf)) > 0)
                ;
        }
    }

    log_write(LOG_INFO, "stopping: every pod process and netns goes", NULL);
    pods_shutdown(a);
    char stopped[32];
    na_time(stopped, 0);
    node_heartbeat(a, false, stopped);
    pthread_join(watcher, NULL);
    pthread_mutex_lock(&a->mu);
    json_decref(snap);
    json_decref(a->cache);
    pthread_mutex_unlock(&a->mu);
    json_decref(a->bind_retry);
    free(a->hosts_peers);
    kube_client_free(a->kc);
    free(ca);
    kube_config_free(&kcfg);
    log_write(LOG_INFO, "gungnir-nodeagent stopped", NULL);
    return 0;
}
