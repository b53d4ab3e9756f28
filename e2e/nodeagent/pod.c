/* pod.c — the pods this node runs: volumes, env, the containers, probes, status, teardown.
 *
 * Every pod bound to this node gets a runtime record (keyed by UID, so a StatefulSet pod
 * recreated under the same name is a new record, started only once the old one is gone). The
 * record sets up what the pod's containers share (IP, network namespace, /etc/hosts, volumes)
 * and then runs every container as its own process, each with its own restarts, probes and
 * status. The main loop calls pods_sync with the cache's snapshot, then pods_step. All API
 * calls here are on the main thread's client. */
#include "nodeagent.h"

#include "backoff.h"
#include "log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MOUNTS 32
#define MAX_CONTAINERS 16
#define MAX_GROUPS 32
#define MAX_ARGS 256
#define MAX_ENV 256
#define MAX_OWN_DEPTH 32
#define PREPARE_RETRY_MS 2000
#define STATUS_RETRY_MS 1000
#define VOLUME_REFRESH_MS 30000
#define BACKOFF_RESET_MS 60000

enum rt_state {
    RT_PREPARING, /* waiting for what the containers share: IP, netns, volumes */
    RT_RUNNING,   /* set up: every container goes its own way (struct ctr) */
    RT_DONE,      /* every container exited for good (restartPolicy); torn down, status kept */
    RT_STOPPING,  /* the pod is being deleted: TERM sent, KILL at kill_at */
    RT_DELETING,  /* torn down; the API object still has to go (DELETE grace 0) */
};

enum ctr_state {
    CT_WAITING, /* not started yet (waiting_reason says why) */
    CT_RUNNING, /* its process runs */
    CT_BACKOFF, /* it exited; restarts at retry_at */
    CT_DONE,    /* it exited for good (restartPolicy) */
};

struct mnt {
    char src[PATH_MAX];
    char dst[PATH_MAX];
    bool is_file;
    bool ro;
};

/* A volume of the pod, materialised in a host folder that the containers bind-mount. */
struct vol {
    char name[64];
    char dir[PATH_MAX];
    bool ro; /* configMap, secret: mounted read-only */
};

/* One container of a pod: its process, restarts, probe and status. */
struct ctr {
    char name[64];
    size_t index; /* in spec.containers */
    enum ctr_state state;
    pid_t pid;
    int64_t started_ms;
    char started_at[32];
    int restart_count;
    unsigned backoff_attempt;
    int64_t retry_at; /* CT_WAITING / CT_BACKOFF: next attempt */
    char waiting_reason[64];
    char waiting_message[512];
    bool have_last;   /* lastState.terminated */
    int last_exit;
    char last_reason[32];
    char last_started[32];
    char last_finished[32];

    /* what the process runs with (built before each start) */
    char exe[PATH_MAX];
    char *argv[MAX_ARGS + 1];
    char *envp[MAX_ENV + 4];
    char cwd[PATH_MAX];
    struct mnt *mounts;
    int nmounts;
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    int ngroups;
    bool no_new_privs; /* allowPrivilegeEscalation: false */
    bool drop_caps;    /* capabilities.drop: [ALL] */

    /* readiness */
    bool ready;
    int probe_ok, probe_fail;
    pid_t probe_pid;
    int64_t probe_deadline;
    int64_t next_probe;
};

struct pod_rt {
    struct pod_rt *next;
    char ns[64];
    char name[256];
    char uid[64];
    char key[330];    /* ns.name: the netns.sh POD name */
    char netns[340];  /* gpod-ns.name */
    char dir[PATH_MAX];
    char ip[32];
    json_t *pod;      /* the latest object seen (own reference) */
    enum rt_state state;
    bool net_up;
    bool api_gone;
    bool seen;

    char start_time[32]; /* pod startTime */
    int64_t retry_at;    /* RT_PREPARING: next attempt */
    int64_t kill_at;     /* RT_STOPPING */
    bool term_sent;
    int64_t volumes_at;
    char hostname[64];
    char hosts_file[PATH_MAX];
    struct vol *vols;
    int nvols, vols_cap;
    long long fs_group;       /* securityContext.fsGroup, or -1 */
    bool fs_on_root_mismatch; /* fsGroupChangePolicy: OnRootMismatch */

    struct ctr *ctrs;
    int nctrs;

    char ready_since[32];
    char scheduled_at[32];

    /* status */
    json_t *last_status; /* last written */
    int64_t status_retry_at;
};

/* ---------------------------------------------------------------- small helpers */

static const char *js(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static json_t *jget(const json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    return b ? json_object_get(v, b) : v;
}

static long long jint(const json_t *o, const char *k, long long dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n && v[i]; i++) {
        free(v[i]);
        v[i] = NULL;
    }
}

static void set_waiting(struct ctr *ct, const char *reason, const char *msg)
{
    na_fmt(ct->waiting_reason, sizeof(ct->waiting_reason), "%s", reason);
    na_fmt(ct->waiting_message, sizeof(ct->waiting_message), "%s", msg ? msg : "");
}

/* Every container not running waits for the same reason (the pod's setup failed). */
static void set_all_waiting(struct pod_rt *r, const char *reason, const char *msg)
{
    for (int i = 0; i < r->nctrs; i++)
        if (r->ctrs[i].state == CT_WAITING || r->ctrs[i].state == CT_BACKOFF)
            set_waiting(&r->ctrs[i], reason, msg);
}

/* The container's object in the pod spec (found by name: the index is only a hint). */
static json_t *container_json(const struct pod_rt *r, const struct ctr *ct)
{
    json_t *cs = jget(r->pod, "spec", "containers");
    json_t *c = json_array_get(cs, ct->index);
    if (c && js(c, "name") && strcmp(js(c, "name"), ct->name) == 0)
        return c;
    size_t i;
    json_array_foreach(cs, i, c) {
        if (js(c, "name") && strcmp(js(c, "name"), ct->name) == 0)
            return c;
    }
    return NULL;
}

static bool all_done(const struct pod_rt *r)
{
    for (int i = 0; i < r->nctrs; i++)
        if (r->ctrs[i].state != CT_DONE)
            return false;
    return r->nctrs > 0;
}

/* Ready: every container runs and passes its readiness probe (or has none). */
static bool pod_ready(const struct pod_rt *r)
{
    if (r->state != RT_RUNNING || r->nctrs == 0)
        return false;
    for (int i = 0; i < r->nctrs; i++)
        if (r->ctrs[i].state != CT_RUNNING || !r->ctrs[i].ready)
            return false;
    return true;
}

static json_t *api_get(struct agent *a, const char *kind, const char *ns, const char *name, long *code)
{
    char path[1024];
    json_t *out = NULL;
    na_fmt(path, sizeof(path), "/api/v1/namespaces/%s/%s/%s", ns, kind, name);
    *code = kube_get(a->kc, path, &out);
    if (*code != 200) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---------------------------------------------------------------- volumes */

/* A relative path without "..", "." or empty components. */
static bool safe_rel(const char *p)
{
    if (!p || !*p || p[0] == '/')
        return false;
    const char *s = p;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n;
        if (*s == '/')
            s++;
    }
    return true;
}

static int write_key(const char *dir, const char *rel, const void *data, size_t len, mode_t mode,
                     char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (!safe_rel(rel) || (size_t)na_fmt(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path)) {
        na_fmt(err, errlen, "bad volume item path '%s'", rel ? rel : "");
        return -1;
    }
    char *slash = strrchr(path, '/');
    *slash = '\0';
    int rc = na_mkdir_p(path, 0755);
    *slash = '/';
    if (rc != 0 || na_write_file(path, data, len, mode, NULL) != 0) {
        na_fmt(err, errlen, "writing %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The value of key in a ConfigMap (data, or binaryData decoded) or Secret (data decoded): a new
 * buffer, or NULL. */
static unsigned char *source_value(const json_t *src, bool secret, const char *key, size_t *len)
{
    const char *v = js(json_object_get(src, "data"), key);
    if (v && !secret) {
        *len = strlen(v);
        return (unsigned char *)strdup(v);
    }
    if (!v && !secret)
        v = js(json_object_get(src, "binaryData"), key);
    return v ? na_base64_decode(v, len) : NULL;
}

/* Writes a configMap/secret volume into dir. */
static int fill_source_volume(struct agent *a, struct pod_rt *r, const json_t *vs, bool secret,
                              const char *dir, char *err, size_t errlen)
{
    const char *name = js(vs, secret ? "secretName" : "name");
    bool optional = json_is_true(json_object_get(vs, "optional"));
    long code;
    json_t *src = name ? api_get(a, secret ? "secrets" : "configmaps", r->ns, name, &code) : NULL;
    if (!src) {
        if (optional)
            return 0;
        na_fmt(err, errlen, "%s \"%s\" not found", secret ? "secret" : "configmap", name ? name : "");
        return -1;
    }
    /* with an fsGroup the kubelet makes every file group-readable (SetVolumeOwnership) */
    mode_t extra = r->fs_group >= 0 ? 0440 : 0;
    mode_t dmode = ((mode_t)jint(vs, "defaultMode", 0644) & 0777) | extra;
    json_t *items = json_object_get(vs, "items");
    int rc = 0;
    if (json_array_size(items) > 0) {
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
            const char *key = js(it, "key");
            size_t len = 0;
            unsigned char *val = key ? source_value(src, secret, key, &len) : NULL;
            if (!val) {
                if (optional)
                    continue;
                na_fmt(err, errlen, "key \"%s\" not found in %s \"%s\"", key ? key : "",
                         secret ? "secret" : "configmap", name);
                rc = -1;
                break;
            }
            mode_t m = ((mode_t)jint(it, "mode", dmode) & 0777) | extra;
            rc = write_key(dir, js(it, "path"), val, len, m, err, errlen);
            free(val);
            if (rc != 0)
                break;
        }
    } else {
        for (int pass = 0; pass < 2 && rc == 0; pass++) {
            const char *key;
            json_t *v;
            json_object_foreach(json_object_get(src, pass == 0 ? "data" : "binaryData"), key, v) {
                size_t len = 0;
                unsigned char *val = source_value(src, secret, key, &len);
                if (!val)
                    continue;
                rc = write_key(dir, key, val, len, dmode, err, errlen);
                free(val);
                if (rc != 0)
                    break;
            }
        }
    }
    json_decref(src);
    return rc;
}

/* Marks a Pending PVC Bound (there is no provisioner; its data lives in the state dir). */
static void bind_pvc(struct agent *a, const json_t *pvc)
{
    const char *phase = js(jget(pvc, "status", NULL), "phase");
    if (phase && strcmp(phase, "Bound") == 0)
        return;
    json_t *spec = json_object_get(pvc, "spec");
    json_t *req = jget(json_object_get(spec, "resources"), "requests", NULL);
    json_t *status = json_pack("{s:s, s:O?, s:O?}", "phase", "Bound", "accessModes",
                               json_object_get(spec, "accessModes"), "capacity", req);
    json_t *patch = json_pack("{s:o}", "status", status);
    char path[1024];
    na_fmt(path, sizeof(path), "/api/v1/namespaces/%s/persistentvolumeclaims/%s/status",
             js(jget(pvc, "metadata", NULL), "namespace"), js(jget(pvc, "metadata", NULL), "name"));
    long code = kube_send_json(a->kc, "PATCH", path, "application/merge-patch+json", patch, NULL);
    if (code != 200)
        log_write(LOG_WARN, "could not mark the PVC Bound", "path", path, "error",
                  kube_client_errstr(a->kc), NULL);
    json_decref(patch);
}

/* What the kubelet does for an fsGroup (SetVolumeOwnership): every file and folder under path
 * group-owned by gid, with the mask's group bits (read, plus write unless the volume is
 * read-only); folders also group-searchable and setgid, so that what the containers create there
 * keeps the group. Symbolic links are left alone. path is a buffer of cap bytes (extended and
 * restored on the way down). Returns 0, or -1 (errno) at the first failure. */
static int own_tree(char *path, size_t cap, gid_t gid, mode_t mask, int depth)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return -1;
    if (S_ISLNK(st.st_mode))
        return 0;
    if (st.st_gid != gid && lchown(path, (uid_t)-1, gid) != 0)
        return -1;
    mode_t want = (st.st_mode & 07777) | mask;
    if (S_ISDIR(st.st_mode))
        want |= S_ISGID | 0110;
    /* chown clears setgid on files: compare with what it was, chmod always after a chown */
    if ((want != (st.st_mode & 07777) || st.st_gid != gid) && chmod(path, want) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode) || depth >= MAX_OWN_DEPTH)
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    size_t len = strlen(path);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (na_fmt(path + len, cap - len, "/%s", e->d_name) != 0) {
            errno = ENAMETOOLONG;
            rc = -1;
        } else {
            rc = own_tree(path, cap, gid, mask, depth + 1);
        }
        path[len] = '\0';
    }
    closedir(d);
    return rc;
}

/* Applies the pod's fsGroup to a volume folder. With fsGroupChangePolicy OnRootMismatch a
 * folder whose top already has the group and the bits is left as it is (read-only volumes are
 * always done: they are small and rewritten by the agent). */
static int apply_fs_group(const struct pod_rt *r, const char *dir, bool ro, char *err, size_t errlen)
{
    if (r->fs_group < 0)
        return 0;
    gid_t gid = (gid_t)r->fs_group;
    mode_t mask = ro ? 0440 : 0660;
    struct stat st;
    if (!ro && r->fs_on_root_mismatch && stat(dir, &st) == 0 && st.st_gid == gid &&
        (st.st_mode & (mask | S_ISGID | 0110)) == (mask | S_ISGID | 0110))
        return 0;
    char path[PATH_MAX];
    if (na_fmt(path, sizeof(path), "%s", dir) != 0 || own_tree(path, sizeof(path), gid, mask, 0) != 0) {
        na_fmt(err, errlen, "fsGroup %lld on %s: %s", r->fs_group, path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Materialises every volume of the pod (configMap/secret/emptyDir in r->dir/volumes, PVCs in
 * state_dir/pvc, hostPath as is) and records them in r->vols for the containers' mounts;
 * applies the fsGroup. refresh_only: just rewrite configMap/secret contents. */
static int prepare_volumes(struct agent *a, struct pod_rt *r, bool refresh_only, char *err, size_t errlen)
{
    json_t *vols = jget(r->pod, "spec", "volumes");
    json_t *ctrs = jget(r->pod, "spec", "containers");
    char vdir[PATH_MAX];
    size_t i;
    json_t *v;
    if (!refresh_only)
        r->nvols = 0;
    json_array_foreach(vols, i, v) {
        const char *vname = js(v, "name");
        if (!vname || !safe_rel(vname) || strchr(vname, '/') || strlen(vname) >= sizeof(r->vols[0].name))
            continue;
        bool used = false;
        size_t j, k;
        json_t *c, *m;
        json_array_foreach(ctrs, k, c) {
            json_array_foreach(json_object_get(c, "volumeMounts"), j, m) {
                const char *mn = js(m, "name");
                if (mn && strcmp(mn, vname) == 0)
                    used = true;
            }
        }
        na_fmt(vdir, sizeof(vdir), "%s/volumes/%s", r->dir, vname);
        json_t *pvc_src = json_object_get(v, "persistentVolumeClaim");
        json_t *hp = json_object_get(v, "hostPath");
        bool cm = json_object_get(v, "configMap") != NULL;
        bool sec = json_object_get(v, "secret") != NULL;
        if (pvc_src) {
            if (refresh_only || !used)
                continue;
            long code;
            const char *claim = js(pvc_src, "claimName");
            json_t *pvc = claim ? api_get(a, "persistentvolumeclaims", r->ns, claim, &code) : NULL;
            if (!pvc) {
                na_fmt(err, errlen, "persistentvolumeclaim \"%s\" not found", claim ? claim : "");
                return -1;
            }
            na_fmt(vdir, sizeof(vdir), "%s/pvc/%s_%s_%s", a->state_dir, r->ns, claim,
                     js(jget(pvc, "metadata", NULL), "uid") ? js(jget(pvc, "metadata", NULL), "uid") : "x");
            bind_pvc(a, pvc);
            json_decref(pvc);
            if (na_mkdir_p(vdir, 0755) != 0) {
                na_fmt(err, errlen, "mkdir %s: %s", vdir, strerror(errno));
                return -1;
            }
            if (apply_fs_group(r, vdir, false, err, errlen) != 0)
                return -1;
        } else if (hp) {
            if (refresh_only || !used)
                continue;
            na_fmt(vdir, sizeof(vdir), "%s", js(hp, "path") ? js(hp, "path") : "/nonexistent");
        } else {
            if (refresh_only && !cm && !sec)
                continue;
            if (na_mkdir_p(vdir, 0755) != 0) {
                na_fmt(err, errlen, "mkdir %s: %s", vdir, strerror(errno));
                return -1;
            }
            if (cm || sec) {
                if (fill_source_volume(a, r, json_object_get(v, cm ? "configMap" : "secret"), sec, vdir,
                                       err, errlen) != 0)
                    return -1;
            } else {
                if (!json_object_get(v, "emptyDir")) {
                    const char *kind = "unknown";
                    const char *kk;
                    json_t *x;
                    json_object_foreach(v, kk, x) if (strcmp(kk, "name") != 0) kind = kk;
                    log_write(LOG_WARN, "volume type not supported: an empty folder stands in",
                              "pod", r->key, "volume", vname, "type", kind, NULL);
                }
                /* the kubelet makes an emptyDir world-writable */
                if (!refresh_only && chmod(vdir, 0777) != 0) {
                    na_fmt(err, errlen, "chmod %s: %s", vdir, strerror(errno));
                    return -1;
                }
            }
            if (apply_fs_group(r, vdir, cm || sec, err, errlen) != 0)
                return -1;
        }
        if (refresh_only || r->nvols >= r->vols_cap)
            continue;
        struct vol *vo = &r->vols[r->nvols++];
        na_fmt(vo->name, sizeof(vo->name), "%s", vname);
        na_fmt(vo->dir, sizeof(vo->dir), "%s", vdir);
        vo->ro = cm || sec;
    }
    return 0;
}

static int mount_depth(const char *p)
{
    int n = 0;
    for (; *p; p++)
        n += *p == '/';
    return n;
}

/* ct->mounts from the container's volumeMounts (parents before what is mounted inside them). */
static int container_mounts(struct pod_rt *r, const json_t *c, struct ctr *ct, char *err, size_t errlen)
{
    json_t *vmounts = json_object_get(c, "volumeMounts");
    size_t n = json_array_size(vmounts);
    free(ct->mounts);
    ct->mounts = NULL;
    ct->nmounts = 0;
    if (n == 0)
        return 0;
    if (n > MAX_MOUNTS) {
        na_fmt(err, errlen, "more than %d volume mounts", MAX_MOUNTS);
        return -1;
    }
    ct->mounts = calloc(n, sizeof(*ct->mounts));
    if (!ct->mounts) {
        na_fmt(err, errlen, "out of memory");
        return -1;
    }
    size_t i;
    json_t *m;
    json_array_foreach(vmounts, i, m) {
        const char *mn = js(m, "name");
        const char *path = js(m, "mountPath");
        if (!mn || !path || path[0] != '/')
            continue;
        const struct vol *vo = NULL;
        for (int k = 0; k < r->nvols && !vo; k++)
            if (strcmp(r->vols[k].name, mn) == 0)
                vo = &r->vols[k];
        if (!vo) {
            na_fmt(err, errlen, "volumeMount %s: the pod has no volume \"%s\" this agent can provide", path, mn);
            return -1;
        }
        struct mnt *mt = &ct->mounts[ct->nmounts];
        const char *sub = js(m, "subPath");
        if (sub && *sub) {
            if (!safe_rel(sub)) {
                na_fmt(err, errlen, "bad subPath '%s'", sub);
                return -1;
            }
            na_fmt(mt->src, sizeof(mt->src), "%s/%s", vo->dir, sub);
        } else {
            na_fmt(mt->src, sizeof(mt->src), "%s", vo->dir);
        }
        struct stat st;
        if (stat(mt->src, &st) != 0) {
            na_mkdir_p(mt->src, 0755);
            if (stat(mt->src, &st) != 0) {
                na_fmt(err, errlen, "volume %s: %s: %s", mn, mt->src, strerror(errno));
                return -1;
            }
        }
        mt->is_file = !S_ISDIR(st.st_mode);
        na_fmt(mt->dst, sizeof(mt->dst), "%s", path);
        mt->ro = vo->ro || json_is_true(json_object_get(m, "readOnly"));
        ct->nmounts++;
    }
    /* stable insertion sort by depth: /etc/valkey before /etc/valkey/extra */
    for (int x = 1; x < ct->nmounts; x++) {
        for (int y = x; y > 0 && mount_depth(ct->mounts[y - 1].dst) > mount_depth(ct->mounts[y].dst); y--) {
            struct mnt t = ct->mounts[y];
            ct->mounts[y] = ct->mounts[y - 1];
            ct->mounts[y - 1] = t;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- env and command */

struct envb {
    char **v;
    size_t n;
};

static const char *env_lookup(const struct envb *e, const char *name, size_t nlen)
{
    for (size_t i = e->n; i-- > 0;) {
        if (strncmp(e->v[i], name, nlen) == 0 && e->v[i][nlen] == '=')
            return e->v[i] + nlen + 1;
    }
    return NULL;
}

/* Kubernetes' $(VAR) expansion: $(NAME) of a defined variable is replaced, $$ is $, the rest
 * stays as written. Returns a new string. */
static char *expand(const char *s, const struct envb *e)
{
    size_t cap = strlen(s) + 1, n = 0;
    char *out = malloc(cap);
    while (out && *s) {
        const char *val = NULL;
        size_t skip = 1;
        if (s[0] == '$' && s[1] == '$') {
            val = "$";
            skip = 2;
        } else if (s[0] == '$' && s[1] == '(') {
            const char *close = strchr(s + 2, ')');
            if (close) {
                val = env_lookup(e, s + 2, (size_t)(close - s - 2));
                if (val)
                    skip = (size_t)(close - s) + 1;
            }
        }
        size_t add = val ? strlen(val) : 1;
        if (n + add + 1 > cap) {
            cap = (n + add + 1) * 2;
            char *nb = realloc(out, cap);
            if (!nb) {
                free(out);
                return NULL;
            }
            out = nb;
        }
        if (val) {
            memcpy(out + n, val, add);
        } else {
            out[n] = s[0];
        }
        n += add;
        s += skip;
    }
    if (out)
        out[n] = '\0';
    return out;
}

static int env_add(struct envb *e, const char *name, const char *value)
{
    if (e->n >= MAX_ENV)
        return -1;
    size_t len = strlen(name) + strlen(value) + 2;
    char *kv = malloc(len);
    if (!kv)
        return -1;
    na_fmt(kv, len, "%s=%s", name, value);
    /* a later definition replaces an earlier one */
    size_t nl = strlen(name);
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->v[i], name, nl) == 0 && e->v[i][nl] == '=') {
            free(e->v[i]);
            e->v[i] = kv;
            return 0;
        }
    }
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
    return 0;
}

static char *field_value(struct agent *a, struct pod_rt *r, const char *fp)
{
    json_t *meta = json_object_get(r->pod, "metadata");
    if (strcmp(fp, "metadata.name") == 0)
        return strdup(r->name);
    if (strcmp(fp, "metadata.namespace") == 0)
        return strdup(r->ns);
    if (strcmp(fp, "metadata.uid") == 0)
        return strdup(r->uid);
    if (strcmp(fp, "status.podIP") == 0)
        return strdup(r->ip);
    if (strcmp(fp, "status.hostIP") == 0)
        return strdup(a->host_ip);
    if (strcmp(fp, "spec.nodeName") == 0)
        return strdup(a->node_name);
    if (strcmp(fp, "spec.serviceAccountName") == 0) {
        const char *s = js(json_object_get(r->pod, "spec"), "serviceAccountName");
        return strdup(s ? s : "");
    }
    const char *pfx[] = {"metadata.labels['", "metadata.annotations['"};
    for (int i = 0; i < 2; i++) {
        size_t pl = strlen(pfx[i]);
        size_t fl = strlen(fp);
        if (strncmp(fp, pfx[i], pl) == 0 && fl > pl + 2 && strcmp(fp + fl - 2, "']") == 0) {
            char k[256];
            na_fmt(k, sizeof(k), "%.*s", (int)(fl - pl - 2), fp + pl);
            const char *v = js(json_object_get(meta, i == 0 ? "labels" : "annotations"), k);
            return strdup(v ? v : "");
        }
    }
    return NULL;
}

/* A key of a ConfigMap/Secret for env: new string; NULL with *missing_ok when optional. */
static char *key_ref(struct agent *a, struct pod_rt *r, const json_t *ref, bool secret, char *err,
                     size_t errlen, bool *skip)
{
    const char *name = js(ref, "name"), *key = js(ref, "key");
    bool optional = json_is_true(json_object_get(ref, "optional"));
    long code;
    *skip = false;
    json_t *src = name ? api_get(a, secret ? "secrets" : "configmaps", r->ns, name, &code) : NULL;
    size_t len = 0;
    unsigned char *v = src && key ? source_value(src, secret, key, &len) : NULL;
    json_decref(src);
    if (!v) {
        if (optional) {
            *skip = true;
            return NULL;
        }
        na_fmt(err, errlen, "%s \"%s\" (key \"%s\") not found", secret ? "secret" : "configmap",
                 name ? name : "", key ? key : "");
        return NULL;
    }
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, v, len);
        s[len] = '\0';
    }
    free(v);
    return s;
}

static int build_env(struct agent *a, struct pod_rt *r, struct ctr *ct, const json_t *c, char *err, size_t errlen)
{
    struct envb e = {.v = ct->envp, .n = 0};
    free_strv(ct->envp, MAX_ENV + 4);
    ct->envp[0] = NULL;
    env_add(&e, "PATH", a->path_env);
    env_add(&e, "HOSTNAME", r->hostname);
    /* what a runtime sets for a user the image's /etc/passwd does not know */
    env_add(&e, "HOME", ct->uid == 0 ? "/root" : "/");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(c, "envFrom"), i, x) {
        json_t *cm = json_object_get(x, "configMapRef"), *sec = json_object_get(x, "secretRef");
        json_t *ref = cm ? cm : sec;
        long code;
        json_t *src = js(ref, "name") ? api_get(a, cm ? "configmaps" : "secrets", r->ns, js(ref, "name"), &code) : NULL;
        if (!src) {
            if (json_is_true(json_object_get(ref, "optional")))
                continue;
            na_fmt(err, errlen, "envFrom: %s \"%s\" not found", cm ? "configmap" : "secret",
                     js(ref, "name") ? js(ref, "name") : "");
            return -1;
        }
        const char *pfx = js(x, "prefix") ? js(x, "prefix") : "";
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(src, "data"), k, v) {
            size_t len = 0;
            unsigned char *val = source_value(src, !cm, k, &len);
            if (!val)
                continue;
            char *s = malloc(len + 1);
            char name[512];
            if (s) {
                memcpy(s, val, len);
                s[len] = '\0';
                na_fmt(name, sizeof(name), "%s%s", pfx, k);
                env_add(&e, name, s);
            }
            free(s);
            free(val);
        }
        json_decref(src);
    }
    json_array_foreach(json_object_get(c, "env"), i, x) {
        const char *name = js(x, "name");
        if (!name)
            continue;
        json_t *vf = json_object_get(x, "valueFrom");
        char *val = NULL;
        if (!vf) {
            val = expand(js(x, "value") ? js(x, "value") : "", &e);
        } else if (json_object_get(vf, "fieldRef")) {
            const char *fp = js(json_object_get(vf, "fieldRef"), "fieldPath");
            val = fp ? field_value(a, r, fp) : NULL;
            if (!val) {
                na_fmt(err, errlen, "env %s: fieldRef %s is not supported", name, fp ? fp : "");
                return -1;
            }
        } else if (json_object_get(vf, "secretKeyRef") || json_object_get(vf, "configMapKeyRef")) {
            bool sec = json_object_get(vf, "secretKeyRef") != NULL;
            bool skip;
            val = key_ref(a, r, json_object_get(vf, sec ? "secretKeyRef" : "configMapKeyRef"), sec, err,
                          errlen, &skip);
            if (!val && skip)
                continue;
            if (!val)
                return -1;
        } else {
            log_write(LOG_WARN, "env valueFrom not supported; set to empty", "pod", r->key, "env",
                      name, NULL);
            val = strdup("");
        }
        if (!val || env_add(&e, name, val) != 0) {
            free(val);
            na_fmt(err, errlen, "env %s: out of memory or too many variables", name);
            return -1;
        }
        free(val);
    }
    return 0;
}

/* The executable for name: as is when it has a '/', else searched on the pods' PATH. */
static int resolve_exe(const struct agent *a, const char *name, char *out, size_t size)
{
    if (strchr(name, '/')) {
        na_fmt(out, size, "%s", name);
        return access(out, X_OK);
    }
    const char *p = a->path_env;
    while (*p) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        na_fmt(out, size, "%.*s/%s", (int)n, p, name);
        if (access(out, X_OK) == 0)
            return 0;
        p += n;
        if (*p == ':')
            p++;
    }
    return -1;
}

/* The entrypoint of an image the agent knows, for a container without a command, or NULL (then
 * args is the command). The exporter image's entrypoint is redis_exporter (args are its flags:
 * the shim runs Debian's prometheus-redis-exporter); the valkey images' runs valkey-server when
 * there are no args or the args start with '-' or name a .conf. */
static const char *image_entrypoint(const char *image, const json_t *args)
{
    if (!image)
        return NULL;
    if (strstr(image, "redis_exporter"))
        return "redis_exporter";
    const char *a0 = json_string_value(json_array_get(args, 0));
    size_t l = a0 ? strlen(a0) : 0;
    if (strstr(image, "valkey") && (!a0 || a0[0] == '-' || (l > 5 && strcmp(a0 + l - 5, ".conf") == 0)))
        return "valkey-server";
    return NULL;
}

/* argv from a command + args pair (both arrays of strings), expanded with envp; image (or NULL)
 * gives the entrypoint when there is no command. */
static int build_argv(const struct agent *a, char **argv, char *exe, size_t exe_size, const json_t *command,
                      const json_t *args, char **envp, const char *image, char *err, size_t errlen)
{
    struct envb e = {.v = envp, .n = 0};
    while (envp[e.n])
        e.n++;
    size_t n = 0;
    free_strv(argv, MAX_ARGS + 1);
    const json_t *parts[2] = {command, args};
    const char *entry = json_array_size(command) == 0 ? image_entrypoint(image, args) : NULL;
    if (entry)
        argv[n++] = strdup(entry);
    for (int p = 0; p < 2; p++) {
        size_t i;
        json_t *v;
        json_array_foreach(parts[p], i, v) {
            if (n >= MAX_ARGS) {
                na_fmt(err, errlen, "more than %d arguments", MAX_ARGS);
                return -1;
            }
            argv[n++] = expand(json_string_value(v) ? json_string_value(v) : "", &e);
        }
    }
    argv[n] = NULL;
    if (n == 0 || !argv[0]) {
        na_fmt(err, errlen, "no command (the node agent has no images: set command or args)");
        return -1;
    }
    if (resolve_exe(a, argv[0], exe, exe_size) != 0) {
        na_fmt(err, errlen, "executable \"%s\" not found on PATH %s", argv[0], a->path_env);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- securityContext */

static void add_group(struct ctr *ct, long long g)
{
    if (g < 0 || g > INT32_MAX || ct->ngroups >= MAX_GROUPS)
        return;
    for (int i = 0; i < ct->ngroups; i++)
        if (ct->groups[i] == (gid_t)g)
            return;
    ct->groups[ct->ngroups++] = (gid_t)g;
}

/* The container's user, groups and privileges from the pod's and the container's
 * securityContext (the container's fields win), as a runtime applies them before exec. There are
 * no images: an unset runAsUser is uid 0, an unset runAsGroup gid 0. runAsNonRoot refuses a
 * container that would run as uid 0, with the kubelet's messages. Returns 0, or -1 with err. */
static int build_security(const struct pod_rt *r, const json_t *c, struct ctr *ct, char *err, size_t errlen)
{
    const json_t *psc = jget(r->pod, "spec", "securityContext");
    const json_t *csc = json_object_get(c, "securityContext");
    const json_t *uidj = json_object_get(csc, "runAsUser");
    const json_t *gidj = json_object_get(csc, "runAsGroup");
    const json_t *nonroot = json_object_get(csc, "runAsNonRoot");
    if (!json_is_integer(uidj))
        uidj = json_object_get(psc, "runAsUser");
    if (!json_is_integer(gidj))
        gidj = json_object_get(psc, "runAsGroup");
    if (!json_is_boolean(nonroot))
        nonroot = json_object_get(psc, "runAsNonRoot");
    long long uid = json_is_integer(uidj) ? json_integer_value(uidj) : 0;
    long long gid = json_is_integer(gidj) ? json_integer_value(gidj) : 0;
    if (uid < 0 || uid > INT32_MAX || gid < 0 || gid > INT32_MAX) {
        na_fmt(err, errlen, "runAsUser %lld / runAsGroup %lld out of range", uid, gid);
        return -1;
    }
    if (json_is_true(nonroot) && uid == 0) {
        if (json_is_integer(uidj))
            na_fmt(err, errlen, "container's runAsUser breaks non-root policy (pod: \"%s_%s(%s)\", container: %s)",
                   r->name, r->ns, r->uid, ct->name);
        else
            na_fmt(err, errlen,
                   "container has runAsNonRoot and image will run as root (pod: \"%s_%s(%s)\", container: %s)",
                   r->name, r->ns, r->uid, ct->name);
        return -1;
    }
    ct->uid = (uid_t)uid;
    ct->gid = (gid_t)gid;
    ct->ngroups = 0;
    add_group(ct, r->fs_group);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(psc, "supplementalGroups"), i, g) {
        if (json_is_integer(g))
            add_group(ct, json_integer_value(g));
    }
    ct->no_new_privs = json_is_false(json_object_get(csc, "allowPrivilegeEscalation"));
    ct->drop_caps = false;
    json_array_foreach(jget(csc, "capabilities", "drop"), i, g) {
        if (json_string_value(g) && strcmp(json_string_value(g), "ALL") == 0)
            ct->drop_caps = true;
    }
    return 0;
}

/* ---------------------------------------------------------------- pod files */

static void pod_file(const struct pod_rt *r, const char *name, char *out, size_t size)
{
    na_fmt(out, size, "%s/%s", r->dir, name);
}

static void write_small(const struct pod_rt *r, const char *name, const char *content)
{
    char p[PATH_MAX];
    pod_file(r, name, p, sizeof(p));
    na_write_file(p, content, strlen(content), 0644, NULL);
}

/* A container's files in the pod folder: "pid" -> pid-NAME; "log" -> container.log for the
 * first container (as before there were several), container-NAME.log for the others. */
static void ctr_file(const struct pod_rt *r, const struct ctr *ct, const char *what, char *out, size_t size)
{
    if (strcmp(what, "log") == 0 && ct->index == 0)
        na_fmt(out, size, "%s/container.log", r->dir);
    else if (strcmp(what, "log") == 0)
        na_fmt(out, size, "%s/container-%s.log", r->dir, ct->name);
    else
        na_fmt(out, size, "%s/%s-%s", r->dir, what, ct->name);
}

/* ---------------------------------------------------------------- /etc/hosts */

static char *hosts_for(const struct pod_rt *r, const char *peers)
{
    const json_t *spec = json_object_get(r->pod, "spec");
    const char *sub = js(spec, "subdomain");
    char own[1024];
    if (sub && *sub)
        na_fmt(own, sizeof(own), "%s\t%s.%s.%s.svc.cluster.local\t%s\n", r->ip, r->hostname, sub, r->ns,
                 r->hostname);
    else
        na_fmt(own, sizeof(own), "%s\t%s\n", r->ip, r->hostname);
    const char *head = "# Kubernetes-managed hosts file (gungnir-nodeagent).\n"
                       "127.0.0.1\tlocalhost\n"
                       "::1\tlocalhost ip6-localhost ip6-loopback\n"
                       "fe00::0\tip6-localnet\n"
                       "fe00::0\tip6-mcastprefix\n"
                       "fe00::1\tip6-allnodes\n"
                       "fe00::2\tip6-allrouters\n";
    size_t len = strlen(head) + strlen(own) + strlen(peers) + 64;
    char *s = malloc(len);
    if (s)
        na_fmt(s, len, "%s%s# peers (what cluster DNS would answer)\n%s", head, own, peers);
    return s;
}

static void write_hosts(const struct agent *a, struct pod_rt *r)
{
    char *s = hosts_for(r, a->hosts_peers ? a->hosts_peers : "");
    if (s && na_write_inplace(r->hosts_file, s, strlen(s)) != 0)
        log_write(LOG_WARN, "could not write the pod's hosts file", "path", r->hosts_file, NULL);
    free(s);
}

void pods_update_hosts(struct agent *a, json_t *snapshot)
{
    /* Pods with an IP, a hostname and a subdomain, not terminal, not being deleted: what CoreDNS
     * answers for a headless Service's pods. Sorted by key (json_object_foreach order is not). */
    const char **keys = malloc(sizeof(char *) * (json_object_size(snapshot) + 1));
    size_t nk = 0;
    const char *key;
    json_t *pod;
    if (!keys)
        return;
    json_object_foreach(snapshot, key, pod) keys[nk++] = key;
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    size_t cap = 4096, n = 0;
    char *peers = malloc(cap);
    if (peers)
        peers[0] = '\0';
    for (size_t i = 0; i < nk && peers; i++) {
        pod = json_object_get(snapshot, keys[i]);
        json_t *spec = json_object_get(pod, "spec"), *st = json_object_get(pod, "status");
        json_t *meta = json_object_get(pod, "metadata");
        const char *ip = js(st, "podIP"), *phase = js(st, "phase");
        const char *host = js(spec, "hostname"), *sub = js(spec, "subdomain");
        if (!ip || !*ip || !host || !*host || !sub || !*sub || json_object_get(meta, "deletionTimestamp"))
            continue;
        if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
            continue;
        char line[1024];
        const char *ns = js(meta, "namespace");
        int l = snprintf(line, sizeof(line), "%s\t%s.%s.%s.svc.cluster.local\t%s.%s.%s.svc\n", ip, host, sub,
                         ns, host, sub, ns);
        if (l <= 0 || (size_t)l >= sizeof(line))
            continue;
        if (n + (size_t)l + 1 > cap) {
            cap = (n + (size_t)l + 1) * 2;
            char *nb = realloc(peers, cap);
            if (!nb) {
                free(peers);
                peers = NULL;
                break;
            }
            peers = nb;
        }
        memcpy(peers + n, line, (size_t)l + 1);
        n += (size_t)l;
    }
    free(keys);
    if (!peers)
        return;
    if (a->hosts_peers && strcmp(a->hosts_peers, peers) == 0) {
        free(peers);
        return;
    }
    free(a->hosts_peers);
    a->hosts_peers = peers;
    for (struct pod_rt *r = a->pods; r; r = r->next)
        if (r->net_up)
            write_hosts(a, r);
}

/* ---------------------------------------------------------------- the process */

/* In the child, after fork: only system calls until execve. */
static void child_fail(const char *what)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "gungnir-nodeagent: %s: %s\n", what, strerror(errno));
    if (n > 0 && write(2, buf, (size_t)n) < 0)
        _exit(127);
    _exit(127);
}

static void child_reset(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
}

static int child_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

/* The container's user before exec (in a child, after the namespace and mount setup that needs
 * root): the capability bounding set emptied for capabilities.drop [ALL] (while root can still do
 * it), supplementary groups (fsGroup, supplementalGroups), gid, uid — leaving uid 0 clears every
 * capability —, uid 0 with drop [ALL] also loses its own, and no_new_privs for
 * allowPrivilegeEscalation: false. */
static void child_drop_privileges(const struct ctr *ct)
{
    if (ct->drop_caps) {
        for (unsigned long cap = 0; cap < 64; cap++) {
            if (prctl(PR_CAPBSET_DROP, cap, 0UL, 0UL, 0UL) != 0) {
                if (errno == EINVAL)
                    break; /* past the last capability this kernel knows */
                child_fail("dropping the capability bounding set");
            }
        }
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL);
    }
    if (setgroups((size_t)ct->ngroups, ct->groups) != 0)
        child_fail("setgroups");
    if (setgid(ct->gid) != 0)
        child_fail("setgid");
    if (setuid(ct->uid) != 0)
        child_fail("setuid");
    if (ct->drop_caps && ct->uid == 0) {
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[2];
        memset(data, 0, sizeof(data));
        if (syscall(SYS_capset, &hdr, data) != 0)
            child_fail("capset");
    }
    if (ct->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0)
        child_fail("no_new_privs");
}

static void child_run(const struct pod_rt *r, const struct ctr *ct, int logfd)
{
    child_reset();
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    char p[PATH_MAX];
    na_fmt(p, sizeof(p), "/run/netns/%s", r->netns);
    int nfd = open(p, O_RDONLY | O_CLOEXEC);
    if (nfd < 0 || setns(nfd, CLONE_NEWNET) != 0)
        child_fail("entering the network namespace");
    if (unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0)
        child_fail("unshare");
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        child_fail("making / private");
    if (sethostname(r->hostname, strlen(r->hostname)) != 0)
        child_fail("sethostname");
    for (int i = 0; i < ct->nmounts; i++) {
        const struct mnt *m = &ct->mounts[i];
        if (m->is_file) {
            char d[PATH_MAX];
            na_fmt(d, sizeof(d), "%s", m->dst);
            char *slash = strrchr(d, '/');
            if (slash && slash != d) {
                *slash = '\0';
                child_mkdir_p(d);
            }
            int fd = open(m->dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd >= 0)
                close(fd);
        } else {
            child_mkdir_p(m->dst);
        }
        if (mount(m->src, m->dst, NULL, MS_BIND | MS_REC, NULL) != 0)
            child_fail(m->dst);
        if (m->ro && mount(NULL, m->dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
            child_fail(m->dst);
    }
    if (mount(r->hosts_file, "/etc/hosts", NULL, MS_BIND, NULL) != 0)
        child_fail("/etc/hosts");
    child_drop_privileges(ct);
    if (chdir(ct->cwd) != 0)
        child_fail(ct->cwd);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execve(ct->exe, ct->argv, ct->envp);
    child_fail(ct->exe);
}

/* Signals a process group (pgid = the leader's pid; it exists while any member lives). */
static void kill_group(pid_t pid, int sig)
{
    if (pid > 0)
        kill(-pid, sig);
}

static int start_container(struct pod_rt *r, struct ctr *ct)
{
    char logp[PATH_MAX];
    ctr_file(r, ct, "log", logp, sizeof(logp));
    int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        set_waiting(ct, "RunContainerError", strerror(errno));
        return -1;
    }
    char stamp[32], line[256];
    na_time(stamp, 0);
    int ln = snprintf(line, sizeof(line), "--- %s gungnir-nodeagent: starting container %s (restart %d, uid %u)\n",
                      stamp, ct->name, ct->restart_count, (unsigned)ct->uid);
    if (ln > 0 && write(logfd, line, (size_t)ln) < 0)
        log_write(LOG_WARN, "could not write the container log", "path", logp, NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        set_waiting(ct, "RunContainerError", strerror(errno));
        return -1;
    }
    if (pid == 0)
        child_run(r, ct, logfd);
    close(logfd);
    setpgid(pid, pid); /* the child does it too: no race with kill(-pid) */
    ct->pid = pid;
    ct->started_ms = clock_now_ms();
    na_time(ct->started_at, 0);
    if (!r->start_time[0])
        na_time(r->start_time, 0);
    ct->state = CT_RUNNING;
    ct->ready = false;
    ct->probe_ok = ct->probe_fail = 0;
    json_t *probe = json_object_get(container_json(r, ct), "readinessProbe");
    ct->next_probe = ct->started_ms + jint(probe, "initialDelaySeconds", 0) * 1000;
    char pids[32], p[PATH_MAX];
    na_fmt(pids, sizeof(pids), "%d\n", (int)pid);
    ctr_file(r, ct, "pid", p, sizeof(p));
    na_write_file(p, pids, strlen(pids), 0644, NULL);
    if (ct->index == 0)
        write_small(r, "pid", pids);
    pids[strcspn(pids, "\n")] = '\0';
    char uid[16];
    na_fmt(uid, sizeof(uid), "%u", (unsigned)ct->uid);
    log_write(LOG_INFO, "started a container", "pod", r->key, "container", ct->name, "pid", pids, "ip", r->ip,
              "exe", ct->exe, "uid", uid, NULL);
    return 0;
}

/* ---------------------------------------------------------------- probes */

static int probe_port(const json_t *c, const json_t *port)
{
    if (json_is_integer(port))
        return (int)json_integer_value(port);
    const char *name = json_string_value(port);
    if (!name)
        return -1;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(c, "ports"), i, p) {
        if (js(p, "name") && strcmp(js(p, "name"), name) == 0)
            return (int)jint(p, "containerPort", -1);
    }
    return atoi(name) > 0 ? atoi(name) : -1;
}

static void probe_child_net(const struct pod_rt *r, const json_t *probe, const json_t *c)
{
    json_t *tcp = json_object_get(probe, "tcpSocket"), *http = json_object_get(probe, "httpGet");
    json_t *spec = tcp ? tcp : http;
    int port = probe_port(c, json_object_get(spec, "port"));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, r->ip, &sa.sin_addr) != 1)
        _exit(2);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        _exit(1);
    if (tcp)
        _exit(0);
    char req[1024];
    const char *path = js(http, "path") ? js(http, "path") : "/";
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s:%d\r\nUser-Agent: kube-probe/1.20\r\n\r\n", path,
                     r->ip, port);
    if (n <= 0 || write(fd, req, (size_t)n) != n)
        _exit(1);
    char buf[64];
    size_t got = 0;
    while (got < 12) {
        ssize_t k = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (k <= 0)
            _exit(1);
        got += (size_t)k;
    }
    buf[got] = '\0';
    int code = atoi(buf + 9);
    _exit(code >= 200 && code < 400 ? 0 : 1);
}

/* Starts the container's probe: exec inside its network and mount namespaces, with its env,
 * working dir and user; tcpSocket/httpGet from inside the pod's network namespace. */
static void start_probe(struct agent *a, struct pod_rt *r, struct ctr *ct, const json_t *c, const json_t *probe)
{
    json_t *ex = json_object_get(probe, "exec");
    char exe[PATH_MAX];
    char *argv[MAX_ARGS + 1] = {0};
    char err[512];
    if (ex && build_argv(a, argv, exe, sizeof(exe), json_object_get(ex, "command"), NULL, ct->envp, NULL, err,
                         sizeof(err)) != 0) {
        free_strv(argv, MAX_ARGS + 1);
        ct->probe_pid = -1; /* counts as a failure */
        return;
    }
    if (!ex && !json_object_get(probe, "tcpSocket") && !json_object_get(probe, "httpGet")) {
        ct->probe_pid = -2; /* unsupported (grpc): counts as a success */
        return;
    }
    char pns[64], nns[64];
    na_fmt(pns, sizeof(pns), "/proc/%d/ns/mnt", (int)ct->pid);
    na_fmt(nns, sizeof(nns), "/proc/%d/ns/net", (int)ct->pid);
    pid_t pid = fork();
    if (pid == 0) {
        child_reset();
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        int nfd = open(nns, O_RDONLY | O_CLOEXEC);
        if (nfd < 0 || setns(nfd, CLONE_NEWNET) != 0)
            _exit(3);
        alarm((unsigned)jint(probe, "timeoutSeconds", 1) + 1);
        if (!ex)
            probe_child_net(r, probe, c);
        int mfd = open(pns, O_RDONLY | O_CLOEXEC);
        if (mfd < 0 || setns(mfd, CLONE_NEWNS) != 0)
            _exit(3);
        child_drop_privileges(ct);
        if (chdir(ct->cwd) != 0 && chdir("/") != 0)
            _exit(3);
        syscall(SYS_close_range, 3U, ~0U, 0U);
        execve(exe, argv, ct->envp);
        _exit(127);
    }
    free_strv(argv, MAX_ARGS + 1);
    if (pid < 0) {
        ct->probe_pid = -1;
        return;
    }
    setpgid(pid, pid);
    ct->probe_pid = pid;
    ct->probe_deadline = clock_now_ms() + jint(probe, "timeoutSeconds", 1) * 1000;
}

static void probe_result(struct ctr *ct, const json_t *probe, bool ok)
{
    if (ok) {
        ct->probe_fail = 0;
        if (++ct->probe_ok >= jint(probe, "successThreshold", 1))
            ct->ready = true;
    } else {
        ct->probe_ok = 0;
        if (++ct->probe_fail >= jint(probe, "failureThreshold", 3))
            ct->ready = false;
    }
}

/* Collects a finished probe and records its result; force: kill it, no result. */
static void probe_reap(const struct pod_rt *r, struct ctr *ct, bool force)
{
    if (ct->probe_pid <= 0)
        return;
    int st = 0;
    pid_t w;
    if (force)
        kill_group(ct->probe_pid, SIGKILL);
    while ((w = waitpid(ct->probe_pid, &st, force ? 0 : WNOHANG)) < 0 && errno == EINTR)
        ;
    if (w == 0)
        return;
    if (!force && w > 0)
        probe_result(ct, json_object_get(container_json(r, ct), "readinessProbe"),
                     WIFEXITED(st) && WEXITSTATUS(st) == 0);
    kill_group(ct->probe_pid, SIGKILL); /* whatever the probe left behind */
    ct->probe_pid = 0;
}

static void run_probes(struct agent *a, struct pod_rt *r, struct ctr *ct, int64_t now)
{
    json_t *c = container_json(r, ct);
    json_t *probe = json_object_get(c, "readinessProbe");
    if (!probe) {
        ct->ready = true;
        return;
    }
    if (ct->probe_pid > 0) {
        if (now > ct->probe_deadline) {
            probe_result(ct, probe, false);
            kill_group(ct->probe_pid, SIGKILL);
            while (waitpid(ct->probe_pid, NULL, 0) < 0 && errno == EINTR)
                ;
            ct->probe_pid = 0;
        } else {
            probe_reap(r, ct, false);
        }
        return;
    }
    if (now < ct->next_probe)
        return;
    ct->next_probe = now + jint(probe, "periodSeconds", 10) * 1000;
    start_probe(a, r, ct, c, probe);
    if (ct->probe_pid < 0) {
        probe_result(ct, probe, ct->probe_pid == -2);
        ct->probe_pid = 0;
    }
}

/* ---------------------------------------------------------------- status */

static json_t *condition(const char *type, bool ok, const char *since, const char *reason, const char *msg)
{
    json_t *c = json_pack("{s:s, s:s, s:n, s:s}", "type", type, "status", ok ? "True" : "False", "lastProbeTime",
                          "lastTransitionTime", since);
    if (reason)
        json_object_set_new(c, "reason", json_string(reason));
    if (msg)
        json_object_set_new(c, "message", json_string(msg));
    return c;
}

static json_t *container_status(const struct pod_rt *r, const struct ctr *ct)
{
    json_t *c = container_json(r, ct);
    bool running = ct->state == CT_RUNNING;
    json_t *state;
    if (running) {
        state = json_pack("{s:{s:s}}", "running", "startedAt", ct->started_at);
    } else if (ct->state == CT_DONE && ct->have_last) {
        state = json_pack("{s:{s:i, s:s, s:s, s:s}}", "terminated", "exitCode", ct->last_exit, "reason",
                          ct->last_reason, "startedAt", ct->last_started, "finishedAt", ct->last_finished);
    } else {
        state = json_pack("{s:{s:s}}", "waiting", "reason",
                          ct->waiting_reason[0] ? ct->waiting_reason : "ContainerCreating");
        if (ct->waiting_message[0])
            json_object_set_new(json_object_get(state, "waiting"), "message", json_string(ct->waiting_message));
    }
    json_t *last = json_object();
    if (ct->have_last && ct->state != CT_DONE)
        json_object_set_new(last, "terminated",
                            json_pack("{s:i, s:s, s:s, s:s}", "exitCode", ct->last_exit, "reason", ct->last_reason,
                                      "startedAt", ct->last_started, "finishedAt", ct->last_finished));
    json_t *cs = json_pack("{s:s, s:b, s:b, s:i, s:s, s:s, s:o, s:o}", "name", ct->name, "ready",
                           running && ct->ready, "started", running, "restartCount", ct->restart_count, "image",
                           js(c, "image") ? js(c, "image") : "", "imageID", "", "state", state, "lastState", last);
    if (running) {
        char cid[64];
        na_fmt(cid, sizeof(cid), "gungnir://%d", (int)ct->pid);
        json_object_set_new(cs, "containerID", json_string(cid));
    }
    return cs;
}

static json_t *build_status(struct agent *a, struct pod_rt *r)
{
    bool ready = pod_ready(r);
    bool started = false, all_zero = true;
    json_t *statuses = json_array();
    char unready[512] = "";
    size_t un = 0;
    for (int i = 0; i < r->nctrs; i++) {
        const struct ctr *ct = &r->ctrs[i];
        started = started || ct->state == CT_RUNNING || ct->have_last;
        all_zero = all_zero && ct->have_last && ct->last_exit == 0;
        json_array_append_new(statuses, container_status(r, ct));
        if (!(ct->state == CT_RUNNING && ct->ready) && un < sizeof(unready)) {
            int n = snprintf(unready + un, sizeof(unready) - un, "%s%s", un ? " " : "", ct->name);
            un += n > 0 ? (size_t)n : 0;
        }
    }
    const char *phase = "Pending";
    if (r->state == RT_DONE)
        phase = all_zero ? "Succeeded" : "Failed";
    else if (started)
        phase = "Running";
    char note[600];
    na_fmt(note, sizeof(note), "containers with unready status: [%s]", unready);
    const char *since = r->ready_since[0] ? r->ready_since : r->scheduled_at;
    json_t *conds = json_array();
    json_array_append_new(conds, condition("Initialized", true, r->scheduled_at, NULL, NULL));
    json_array_append_new(conds,
                          condition("Ready", ready, since, ready ? NULL : "ContainersNotReady", ready ? NULL : note));
    json_array_append_new(conds, condition("ContainersReady", ready, since, ready ? NULL : "ContainersNotReady",
                                           ready ? NULL : note));
    json_array_append_new(conds, condition("PodScheduled", true, r->scheduled_at, NULL, NULL));
    json_t *st = json_pack("{s:s, s:s, s:o, s:o}", "phase", phase, "hostIP", a->host_ip, "conditions", conds,
                           "containerStatuses", statuses);
    if (r->ip[0] && r->state != RT_DONE) {
        json_object_set_new(st, "podIP", json_string(r->ip));
        json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", r->ip));
    }
    if (r->start_time[0])
        json_object_set_new(st, "startTime", json_string(r->start_time));
    return st;
}

static void write_status(struct agent *a, struct pod_rt *r, bool force)
{
    if (r->api_gone || r->state == RT_DELETING)
        return;
    bool ready = pod_ready(r);
    char now[32];
    na_time(now, 0);
    json_t *st = build_status(a, r);
    /* the Ready transition time: compare with what was written */
    json_t *old_ready = NULL;
    size_t i;
    json_t *cond;
    json_array_foreach(json_object_get(r->last_status, "conditions"), i, cond) {
        if (js(cond, "type") && strcmp(js(cond, "type"), "Ready") == 0)
            old_ready = cond;
    }
    if (old_ready && strcmp(js(old_ready, "status"), ready ? "True" : "False") != 0) {
        na_fmt(r->ready_since, sizeof(r->ready_since), "%s", now);
        json_decref(st);
        st = build_status(a, r);
    }
    if (!force && r->last_status && json_equal(st, r->last_status)) {
        json_decref(st);
        return;
    }
    if (!force && clock_now_ms() < r->status_retry_at) {
        json_decref(st);
        return;
    }
    char path[1024];
    na_fmt(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/status", r->ns, r->name);
    json_t *patch = json_pack("{s:O}", "status", st);
    long code = kube_send_json(a->kc, "PATCH", path, "application/merge-patch+json", patch, NULL);
    json_decref(patch);
    if (code == 200) {
        json_decref(r->last_status);
        r->last_status = st;
        r->status_retry_at = 0;
        log_write(LOG_DEBUG, "wrote pod status", "pod", r->key, NULL);
        return;
    }
    json_decref(st);
    r->status_retry_at = clock_now_ms() + STATUS_RETRY_MS;
    if (code == 404)
        return;
    log_write(LOG_WARN, "could not write pod status", "pod", r->key, "error", kube_client_errstr(a->kc), NULL);
}

/* ---------------------------------------------------------------- lifecycle */

static struct pod_rt *rt_find(struct agent *a, const char *uid)
{
    for (struct pod_rt *r = a->pods; r; r = r->next)
        if (strcmp(r->uid, uid) == 0)
            return r;
    return NULL;
}

static bool ip_in_use(const struct agent *a, const char *ip, const struct pod_rt *self)
{
    for (const struct pod_rt *r = a->pods; r; r = r->next)
        if (r != self && r->ip[0] && strcmp(r->ip, ip) == 0)
            return true;
    return false;
}

static int alloc_ip(struct agent *a, struct pod_rt *r)
{
    if (r->ip[0])
        return 0;
    const char *prev = js(jget(r->pod, "status", NULL), "podIP");
    size_t pl = strlen(a->pod_prefix);
    if (prev && strncmp(prev, a->pod_prefix, pl) == 0 && prev[pl] == '.') {
        int last = atoi(prev + pl + 1);
        if (last >= a->ip_first && last <= a->ip_last && !ip_in_use(a, prev, r)) {
            na_fmt(r->ip, sizeof(r->ip), "%s", prev);
            return 0;
        }
    }
    for (int i = a->ip_first; i <= a->ip_last; i++) {
        char ip[32];
        na_fmt(ip, sizeof(ip), "%s.%d", a->pod_prefix, i);
        if (!ip_in_use(a, ip, r)) {
            na_fmt(r->ip, sizeof(r->ip), "%s", ip);
            return 0;
        }
    }
    return -1;
}

static bool pid_running(const struct pod_rt *r)
{
    for (int i = 0; i < r->nctrs; i++)
        if (r->ctrs[i].pid > 0)
            return true;
    return false;
}

/* What the containers share: IP, netns, /etc/hosts, volumes. On failure every waiting container
 * says why, and the pod retries. */
static int prepare_pod(struct agent *a, struct pod_rt *r)
{
    char err[768] = "";
    if (r->nctrs == 0) {
        set_all_waiting(r, "CreateContainerConfigError", "the pod has no container");
        return -1;
    }
    /* an older pod of the same name (StatefulSet recreation) must be gone first */
    for (struct pod_rt *o = a->pods; o; o = o->next) {
        if (o != r && strcmp(o->key, r->key) == 0 && (o->net_up || pid_running(o))) {
            set_all_waiting(r, "ContainerCreating", "waiting for the previous pod of this name to stop");
            return -1;
        }
    }
    if (alloc_ip(a, r) != 0) {
        set_all_waiting(r, "ContainerCreating", "no free pod IP");
        return -1;
    }
    if (na_mkdir_p(r->dir, 0755) != 0) {
        set_all_waiting(r, "ContainerCreating", strerror(errno));
        return -1;
    }
    if (!r->net_up) {
        if (na_netns_exists(r->netns))
            na_netns_del(a, r->key, NULL); /* left over: start clean */
        if (na_netns_add(a, r->key, r->ip, err, sizeof(err)) != 0) {
            set_all_waiting(r, "ContainerCreating", err);
            log_write(LOG_WARN, "pod network setup failed", "pod", r->key, "error", err, NULL);
            return -1;
        }
        r->net_up = true;
        write_small(r, "netns", r->netns);
        char ipl[40];
        na_fmt(ipl, sizeof(ipl), "%s\n", r->ip);
        write_small(r, "ip", ipl);
        write_hosts(a, r);
    }
    if (prepare_volumes(a, r, false, err, sizeof(err)) != 0) {
        set_all_waiting(r, "ContainerCreating", err);
        return -1;
    }
    r->volumes_at = clock_now_ms();
    return 0;
}

/* The container's waiting reason; logged when it changes (not at every retry). */
static void container_waits(const struct pod_rt *r, struct ctr *ct, const char *reason, const char *msg)
{
    bool changed = strcmp(ct->waiting_reason, reason) != 0 || strcmp(ct->waiting_message, msg) != 0;
    set_waiting(ct, reason, msg);
    if (changed)
        log_write(LOG_WARN, "a container cannot start", "pod", r->key, "container", ct->name, "reason", reason,
                  "message", msg, NULL);
}

/* Everything one container's process needs; on failure it waits (reason set) and retries. */
static int prepare_container(struct agent *a, struct pod_rt *r, struct ctr *ct)
{
    char err[768] = "";
    json_t *c = container_json(r, ct);
    if (!c) {
        container_waits(r, ct, "CreateContainerConfigError", "the container is no longer in the pod spec");
        return -1;
    }
    if (build_security(r, c, ct, err, sizeof(err)) != 0 || container_mounts(r, c, ct, err, sizeof(err)) != 0 ||
        build_env(a, r, ct, c, err, sizeof(err)) != 0) {
        container_waits(r, ct, "CreateContainerConfigError", err);
        return -1;
    }
    if (build_argv(a, ct->argv, ct->exe, sizeof(ct->exe), json_object_get(c, "command"), json_object_get(c, "args"),
                   ct->envp, js(c, "image"), err, sizeof(err)) != 0) {
        container_waits(r, ct, "CreateContainerError", err);
        return -1;
    }
    const char *wd = js(c, "workingDir");
    ct->cwd[0] = '\0';
    if (wd && wd[0] == '/')
        na_fmt(ct->cwd, sizeof(ct->cwd), "%s", wd);
    for (int i = 0; i < ct->nmounts && !ct->cwd[0]; i++)
        if (strcmp(ct->mounts[i].dst, "/data") == 0)
            na_fmt(ct->cwd, sizeof(ct->cwd), "/data");
    if (!ct->cwd[0]) {
        /* a scratch folder of its own (so a redis dump.rdb never lands in /), the user's */
        na_fmt(ct->cwd, sizeof(ct->cwd), "%s/root/%s", r->dir, ct->name);
        if (na_mkdir_p(ct->cwd, 0755) != 0 || (ct->uid != 0 && chown(ct->cwd, ct->uid, ct->gid) != 0)) {
            na_fmt(err, sizeof(err), "working folder %s: %s", ct->cwd, strerror(errno));
            container_waits(r, ct, "CreateContainerError", err);
            return -1;
        }
    }
    return 0;
}

static void unlink_pid_files(const struct pod_rt *r, const struct ctr *ct)
{
    char p[PATH_MAX];
    ctr_file(r, ct, "pid", p, sizeof(p));
    unlink(p);
    if (ct->index == 0) {
        pod_file(r, "pid", p, sizeof(p));
        unlink(p);
    }
}

static void teardown(struct agent *a, struct pod_rt *r)
{
    for (int i = 0; i < r->nctrs; i++) {
        probe_reap(r, &r->ctrs[i], true);
        unlink_pid_files(r, &r->ctrs[i]);
    }
    if (r->net_up || na_netns_exists(r->netns))
        na_netns_del(a, r->key, r->ip);
    r->net_up = false;
    char p[PATH_MAX];
    pod_file(r, "pid", p, sizeof(p));
    unlink(p);
    pod_file(r, "netns", p, sizeof(p));
    unlink(p);
    pod_file(r, "ip", p, sizeof(p));
    unlink(p);
    pod_file(r, "volumes", p, sizeof(p));
    na_rm_rf(p);
    pod_file(r, "root", p, sizeof(p));
    na_rm_rf(p);
    r->ip[0] = '\0';
}

static void rt_free(struct pod_rt *r)
{
    for (int i = 0; i < r->nctrs; i++) {
        free_strv(r->ctrs[i].argv, MAX_ARGS + 1);
        free_strv(r->ctrs[i].envp, MAX_ENV + 4);
        free(r->ctrs[i].mounts);
    }
    free(r->ctrs);
    free(r->vols);
    json_decref(r->pod);
    json_decref(r->last_status);
    free(r);
}

static void begin_stop(struct pod_rt *r, int64_t now)
{
    if (r->state == RT_STOPPING || r->state == RT_DELETING)
        return;
    json_t *meta = json_object_get(r->pod, "metadata");
    long long grace = jint(meta, "deletionGracePeriodSeconds",
                           jint(json_object_get(r->pod, "spec"), "terminationGracePeriodSeconds", 30));
    if (grace > NA_GRACE_CAP_S)
        grace = NA_GRACE_CAP_S;
    if (grace < 0)
        grace = 0;
    r->state = RT_STOPPING;
    r->kill_at = now + grace * 1000;
    r->term_sent = false;
    char g[16];
    na_fmt(g, sizeof(g), "%lld", grace);
    log_write(LOG_INFO, "stopping the pod", "pod", r->key, "grace_seconds", g, NULL);
}

static struct pod_rt *rt_new(struct agent *a, json_t *pod)
{
    json_t *meta = json_object_get(pod, "metadata");
    json_t *spec = json_object_get(pod, "spec");
    const char *ns = js(meta, "namespace"), *name = js(meta, "name"), *uid = js(meta, "uid");
    if (!ns || !name || !uid || strlen(ns) >= 64 || strlen(name) >= 254 || strlen(uid) >= 64)
        return NULL;
    json_t *containers = json_object_get(spec, "containers");
    size_t nc = json_array_size(containers);
    if (nc > MAX_CONTAINERS) {
        log_write(LOG_WARN, "too many containers: only the first ones run", "pod", name, NULL);
        nc = MAX_CONTAINERS;
    }
    struct pod_rt *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    size_t nv = json_array_size(json_object_get(spec, "volumes"));
    r->ctrs = calloc(nc ? nc : 1, sizeof(*r->ctrs));
    r->vols = calloc(nv ? nv : 1, sizeof(*r->vols));
    if (!r->ctrs || !r->vols) {
        free(r->ctrs);
        free(r->vols);
        free(r);
        return NULL;
    }
    r->vols_cap = (int)nv;
    na_fmt(r->ns, sizeof(r->ns), "%s", ns);
    na_fmt(r->name, sizeof(r->name), "%s", name);
    na_fmt(r->uid, sizeof(r->uid), "%s", uid);
    na_fmt(r->key, sizeof(r->key), "%s.%s", ns, name);
    na_fmt(r->netns, sizeof(r->netns), NA_NETNS_PREFIX "%s", r->key);
    na_fmt(r->dir, sizeof(r->dir), "%s/pods/%s_%s", a->state_dir, ns, name);
    na_fmt(r->hosts_file, sizeof(r->hosts_file), "%s/hosts", r->dir);
    const char *hn = js(spec, "hostname");
    na_fmt(r->hostname, sizeof(r->hostname), "%.63s", hn && *hn ? hn : name);
    json_t *psc = json_object_get(spec, "securityContext");
    r->fs_group = jint(psc, "fsGroup", -1);
    const char *fs_policy = js(psc, "fsGroupChangePolicy");
    r->fs_on_root_mismatch = fs_policy && strcmp(fs_policy, "OnRootMismatch") == 0;
    r->pod = json_incref(pod);
    r->state = RT_PREPARING;
    na_time(r->scheduled_at, 0);
    json_t *statuses = jget(pod, "status", "containerStatuses");
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c) {
        if ((size_t)r->nctrs >= nc)
            break;
        struct ctr *ct = &r->ctrs[r->nctrs];
        const char *cn = js(c, "name");
        if (!cn || !*cn || strlen(cn) >= sizeof(ct->name) || strchr(cn, '/') || cn[0] == '.')
            continue; /* the API server allows only DNS labels */
        na_fmt(ct->name, sizeof(ct->name), "%s", cn);
        ct->index = i;
        ct->state = CT_WAITING;
        set_waiting(ct, "ContainerCreating", NULL);
        /* an agent restart continues the count the API already shows */
        size_t j;
        json_t *cs;
        json_array_foreach(statuses, j, cs) {
            if (!js(cs, "name") || strcmp(js(cs, "name"), cn) != 0)
                continue;
            ct->restart_count = (int)jint(cs, "restartCount", 0);
            if (json_object_get(cs, "state") && !json_object_get(json_object_get(cs, "state"), "waiting"))
                ct->restart_count++;
        }
        r->nctrs++;
    }
    const char *st = js(jget(pod, "status", NULL), "startTime");
    if (st)
        na_fmt(r->start_time, sizeof(r->start_time), "%s", st);
    r->next = a->pods;
    a->pods = r;
    char n[16];
    na_fmt(n, sizeof(n), "%d", r->nctrs);
    log_write(LOG_INFO, "running a pod on this node", "pod", r->key, "uid", uid, "containers", n, NULL);
    return r;
}

static bool node_selector_matches(const struct agent *a, const json_t *pod)
{
    json_t *sel = jget(pod, "spec", "nodeSelector");
    const char *k;
    json_t *v;
    json_object_foreach(sel, k, v) {
        const char *want = json_string_value(v);
        if (strcmp(k, "kubernetes.io/hostname") == 0) {
            if (!want || strcmp(want, a->node_name) != 0)
                return false;
        } else if (strcmp(k, "kubernetes.io/os") == 0) {
            if (!want || strcmp(want, "linux") != 0)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

static void bind_pod(struct agent *a, json_t *pod)
{
    json_t *meta = json_object_get(pod, "metadata");
    const char *ns = js(meta, "namespace"), *name = js(meta, "name"), *uid = js(meta, "uid");
    int64_t now = clock_now_ms();
    json_t *retry = json_object_get(a->bind_retry, uid);
    if (retry && json_integer_value(retry) > now)
        return;
    char path[1024];
    na_fmt(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/binding", ns, name);
    json_t *b = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind", "Binding",
                          "metadata", "name", name, "uid", uid, "target", "apiVersion", "v1", "kind", "Node", "name",
                          a->node_name);
    long code = kube_send_json(a->kc, "POST", path, NULL, b, NULL);
    json_decref(b);
    if (code == 201 || code == 200) {
        log_write(LOG_INFO, "bound a pod to this node", "pod", path, NULL);
        json_object_del(a->bind_retry, uid);
        return;
    }
    log_write(LOG_WARN, "binding failed", "pod", path, "error", kube_client_errstr(a->kc), NULL);
    json_object_set_new(a->bind_retry, uid, json_integer(now + 2000));
}

static void delete_api_pod(struct agent *a, struct pod_rt *r, const char *ns, const char *name, const char *uid)
{
    char path[1024];
    na_fmt(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ns, name);
    json_t *opt = json_pack("{s:s, s:s, s:i, s:{s:s}}", "apiVersion", "v1", "kind", "DeleteOptions",
                            "gracePeriodSeconds", 0, "preconditions", "uid", uid);
    long code = kube_send_json(a->kc, "DELETE", path, NULL, opt, NULL);
    json_decref(opt);
    if (code == 200 || code == 202 || code == 404 || code == 409) {
        log_write(LOG_INFO, "deleted the pod object", "pod", path, NULL);
        if (r)
            r->api_gone = true;
        return;
    }
    log_write(LOG_WARN, "could not delete the pod object", "pod", path, "error", kube_client_errstr(a->kc), NULL);
}

void pods_sync(struct agent *a, json_t *snapshot, bool synced)
{
    int64_t now = clock_now_ms();
    /* forget retry times long past (the map stays as small as the pods being retried) */
    const char *uidk;
    json_t *when;
    void *tmp;
    json_object_foreach_safe(a->bind_retry, tmp, uidk, when) {
        if (json_integer_value(when) < now - 60000)
            json_object_del(a->bind_retry, uidk);
    }
    for (struct pod_rt *r = a->pods; r; r = r->next)
        r->seen = false;
    const char *key;
    json_t *pod;
    json_object_foreach(snapshot, key, pod) {
        json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
        const char *uid = js(meta, "uid"), *node = js(spec, "nodeName");
        const char *phase = js(json_object_get(pod, "status"), "phase");
        bool deleting = json_object_get(meta, "deletionTimestamp") != NULL;
        bool terminal = phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
        if (!uid)
            continue;
        if (!node || !*node) {
            if (!deleting && !terminal && node_selector_matches(a, pod))
                bind_pod(a, pod);
            continue;
        }
        if (strcmp(node, a->node_name) != 0)
            continue;
        struct pod_rt *r = rt_find(a, uid);
        if (!r) {
            if (deleting) {
                /* nothing of it runs here: let the object go */
                json_t *retry = json_object_get(a->bind_retry, uid);
                if (!retry || json_integer_value(retry) <= now) {
                    delete_api_pod(a, NULL, js(meta, "namespace"), js(meta, "name"), uid);
                    json_object_set_new(a->bind_retry, uid, json_integer(now + 2000));
                }
                continue;
            }
            if (terminal)
                continue;
            r = rt_new(a, pod);
            if (!r)
                continue;
        } else if (r->pod != pod) {
            json_decref(r->pod);
            r->pod = json_incref(pod);
        }
        r->seen = true;
        if (deleting)
            begin_stop(r, now);
    }
    if (!synced)
        return;
    for (struct pod_rt *r = a->pods; r; r = r->next) {
        if (!r->seen && !r->api_gone) {
            r->api_gone = true;
            log_write(LOG_INFO, "the pod object is gone", "pod", r->key, NULL);
            begin_stop(r, now);
        }
    }
}

/* A container's process exited with status st: record it and decide what comes next. */
static void container_exited(struct agent *a, struct pod_rt *r, struct ctr *ct, int st)
{
    int64_t now = clock_now_ms();
    ct->have_last = true;
    ct->last_exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    na_fmt(ct->last_reason, sizeof(ct->last_reason), "%s", ct->last_exit == 0 ? "Completed" : "Error");
    na_fmt(ct->last_started, sizeof(ct->last_started), "%s", ct->started_at);
    na_time(ct->last_finished, 0);
    char code[16];
    na_fmt(code, sizeof(code), "%d", ct->last_exit);
    log_write(LOG_INFO, "a container exited", "pod", r->key, "container", ct->name, "exit_code", code, NULL);
    probe_reap(r, ct, true);
    kill_group(ct->pid, SIGKILL); /* its children (a BGSAVE fork) go with it */
    ct->pid = 0;
    ct->ready = false;
    ct->started_at[0] = '\0';
    unlink_pid_files(r, ct);
    if (r->state == RT_STOPPING)
        return;
    const char *policy = js(json_object_get(r->pod, "spec"), "restartPolicy");
    bool restart = !policy || strcmp(policy, "Always") == 0 ||
                   (strcmp(policy, "OnFailure") == 0 && ct->last_exit != 0);
    if (!restart) {
        ct->state = CT_DONE;
        if (all_done(r)) {
            r->state = RT_DONE;
            teardown(a, r);
        }
        return;
    }
    if (now - ct->started_ms >= BACKOFF_RESET_MS)
        ct->backoff_attempt = 0;
    struct backoff_policy bp = {.base_ms = 1000, .max_ms = 30000, .jitter = 0};
    int64_t delay = backoff_delay_ms(&bp, ct->backoff_attempt++, NULL);
    ct->retry_at = now + delay;
    ct->state = CT_BACKOFF;
    char msg[160];
    na_fmt(msg, sizeof(msg), "back-off %llds restarting failed container=%s pod=%s", (long long)(delay / 1000),
           ct->name, r->name);
    set_waiting(ct, "CrashLoopBackOff", msg);
}

static void step_container(struct agent *a, struct pod_rt *r, struct ctr *ct, int64_t now)
{
    switch (ct->state) {
    case CT_WAITING:
    case CT_BACKOFF:
        if (now < ct->retry_at)
            break;
        if (prepare_container(a, r, ct) != 0) {
            ct->retry_at = now + PREPARE_RETRY_MS;
            break;
        }
        bool restart = ct->state == CT_BACKOFF;
        if (restart)
            ct->restart_count++;
        if (start_container(r, ct) != 0) {
            if (restart)
                ct->restart_count--;
            ct->retry_at = now + PREPARE_RETRY_MS;
        }
        break;
    case CT_RUNNING:
        run_probes(a, r, ct, now);
        break;
    case CT_DONE:
        break;
    }
}

void pods_step(struct agent *a)
{
    int64_t now = clock_now_ms();
    for (struct pod_rt **pp = &a->pods; *pp;) {
        struct pod_rt *r = *pp;
        /* reap */
        for (int i = 0; i < r->nctrs; i++) {
            struct ctr *ct = &r->ctrs[i];
            if (ct->pid <= 0)
                continue;
            int st;
            pid_t w = waitpid(ct->pid, &st, WNOHANG);
            if (w == ct->pid)
                container_exited(a, r, ct, st);
        }
        switch (r->state) {
        case RT_PREPARING:
            if (now < r->retry_at)
                break;
            if (prepare_pod(a, r) != 0) {
                r->retry_at = now + PREPARE_RETRY_MS;
                break;
            }
            r->state = RT_RUNNING;
            /* fall through */
        case RT_RUNNING:
            for (int i = 0; i < r->nctrs && r->state == RT_RUNNING; i++)
                step_container(a, r, &r->ctrs[i], now);
            if (r->state == RT_RUNNING && now - r->volumes_at >= VOLUME_REFRESH_MS) {
                char err[512];
                r->volumes_at = now;
                if (prepare_volumes(a, r, true, err, sizeof(err)) != 0)
                    log_write(LOG_WARN, "volume refresh failed", "pod", r->key, "error", err, NULL);
            }
            break;
        case RT_STOPPING:
            if (!r->term_sent) {
                for (int i = 0; i < r->nctrs; i++)
                    kill_group(r->ctrs[i].pid, SIGTERM);
                r->term_sent = true;
            }
            if (pid_running(r) && now >= r->kill_at) {
                log_write(LOG_INFO, "grace period over: SIGKILL", "pod", r->key, NULL);
                for (int i = 0; i < r->nctrs; i++)
                    kill_group(r->ctrs[i].pid, SIGKILL);
                r->kill_at = now + 1000;
            }
            if (pid_running(r))
                break;
            teardown(a, r);
            r->state = RT_DELETING;
            r->retry_at = 0;
            /* fall through */
        case RT_DELETING:
            if (!r->api_gone && now >= r->retry_at) {
                delete_api_pod(a, r, r->ns, r->name, r->uid);
                r->retry_at = now + 2000;
            }
            if (r->api_gone) {
                *pp = r->next;
                log_write(LOG_INFO, "pod stopped and removed", "pod", r->key, NULL);
                rt_free(r);
                continue;
            }
            break;
        case RT_DONE:
            if (r->api_gone) {
                *pp = r->next;
                rt_free(r);
                continue;
            }
            break;
        }
        if (r->state != RT_STOPPING && r->state != RT_DELETING)
            write_status(a, r, false);
        pp = &r->next;
    }
}

void pods_shutdown(struct agent *a)
{
    int64_t deadline = clock_now_ms() + NA_SHUTDOWN_GRACE_S * 1000;
    for (struct pod_rt *r = a->pods; r; r = r->next) {
        for (int i = 0; i < r->nctrs; i++) {
            probe_reap(r, &r->ctrs[i], true);
            kill_group(r->ctrs[i].pid, SIGTERM);
        }
    }
    for (;;) {
        bool left = false;
        for (struct pod_rt *r = a->pods; r; r = r->next) {
            for (int i = 0; i < r->nctrs; i++) {
                struct ctr *ct = &r->ctrs[i];
                if (ct->pid <= 0)
                    continue;
                int st;
                pid_t w = waitpid(ct->pid, &st, WNOHANG);
                if (w == ct->pid || (w < 0 && errno == ECHILD)) {
                    kill_group(ct->pid, SIGKILL);
                    ct->pid = 0;
                } else {
                    left = true;
                }
            }
        }
        if (!left)
            break;
        if (clock_now_ms() >= deadline || a->signals > 1) {
            for (struct pod_rt *r = a->pods; r; r = r->next) {
                for (int i = 0; i < r->nctrs; i++) {
                    struct ctr *ct = &r->ctrs[i];
                    if (ct->pid <= 0)
                        continue;
                    kill_group(ct->pid, SIGKILL);
                    while (waitpid(ct->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                    ct->pid = 0;
                }
            }
            break;
        }
        usleep(50000);
    }
    for (struct pod_rt *r = a->pods; r; r = r->next) {
        bool was_running = r->state == RT_RUNNING;
        teardown(a, r);
        if (!was_running || r->api_gone)
            continue;
        /* best effort: tell the API the pod no longer runs here */
        for (int i = 0; i < r->nctrs; i++) {
            struct ctr *ct = &r->ctrs[i];
            if (ct->state != CT_RUNNING)
                continue;
            ct->state = CT_BACKOFF;
            ct->ready = false;
            ct->have_last = true;
            ct->last_exit = 143;
            na_fmt(ct->last_reason, sizeof(ct->last_reason), "NodeAgentStopped");
            na_fmt(ct->last_started, sizeof(ct->last_started), "%s",
                   ct->started_at[0] ? ct->started_at : r->scheduled_at);
            na_time(ct->last_finished, 0);
            set_waiting(ct, "NodeAgentStopped", "gungnir-nodeagent stopped");
        }
        write_status(a, r, true);
    }
    while (a->pods) {
        struct pod_rt *r = a->pods;
        a->pods = r->next;
        rt_free(r);
    }
}

/* Removes the pid files of a pod folder ("pid" and every "pid-CONTAINER"). */
static void remove_pid_files(const char *pod_dir)
{
    DIR *d = opendir(pod_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "pid") != 0 && strncmp(e->d_name, "pid-", 4) != 0)
            continue;
        char p[PATH_MAX];
        if (na_fmt(p, sizeof(p), "%s/%s", pod_dir, e->d_name) == 0)
            unlink(p);
    }
    closedir(d);
}

void pods_recover_stale(struct agent *a)
{
    char dir[PATH_MAX];
    na_fmt(dir, sizeof(dir), "%s/pods", a->state_dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        na_fmt(p, sizeof(p), "%s/%s/netns", dir, e->d_name);
        char *ns = na_read_file(p, 400, NULL);
        if (!ns)
            continue;
        ns[strcspn(ns, "\n")] = '\0';
        if (strncmp(ns, NA_NETNS_PREFIX, strlen(NA_NETNS_PREFIX)) == 0) {
            na_fmt(p, sizeof(p), "%s/%s/ip", dir, e->d_name);
            char *ip = na_read_file(p, 64, NULL);
            if (ip)
                ip[strcspn(ip, "\n")] = '\0';
            log_write(LOG_WARN, "cleaning up what a previous agent left", "netns", ns, NULL);
            na_netns_del(a, ns + strlen(NA_NETNS_PREFIX), ip);
            free(ip);
        }
        free(ns);
        const char *files[] = {"netns", "ip"};
        for (size_t i = 0; i < 2; i++) {
            na_fmt(p, sizeof(p), "%s/%s/%s", dir, e->d_name, files[i]);
            unlink(p);
        }
        na_fmt(p, sizeof(p), "%s/%s", dir, e->d_name);
        remove_pid_files(p);
        na_fmt(p, sizeof(p), "%s/%s/volumes", dir, e->d_name);
        na_rm_rf(p);
        na_fmt(p, sizeof(p), "%s/%s/root", dir, e->d_name);
        na_rm_rf(p);
    }
    closedir(d);
}
