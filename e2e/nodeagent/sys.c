/* sys.c — the node agent's system helpers: commands, files, network namespaces. */
#include "nodeagent.h"

#include "base64.h"
#include "clock.h"
#include "file_read.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int na_fmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

void na_time(char out[32], time_t t)
{
    struct timespec ts = t == 0 ? clock_wall_now() : (struct timespec){.tv_sec = t};
    clock_rfc3339(out, 32, &ts, 0);
}

int na_run(const char *const argv[], int timeout_s, char *err, size_t errlen)
{
    int pfd[2];
    if (errlen)
        err[0] = '\0';
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        na_fmt(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        na_fmt(err, errlen, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        dup2(pfd[1], 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char buf[512];
    size_t n = 0;
    int64_t deadline = clock_now_ms() + (int64_t)timeout_s * 1000;
    bool timed_out = false;
    for (;;) {
        int64_t left = deadline - clock_now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        char tmp[256];
        ssize_t got = read(pfd[0], tmp, sizeof(tmp));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        for (ssize_t i = 0; i < got && n + 1 < sizeof(buf); i++)
            buf[n++] = tmp[i];
    }
    close(pfd[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    if (timed_out) {
        na_fmt(err, errlen, "%s: timed out after %d s", argv[0], timeout_s);
        return -1;
    }
    if (WIFEXITED(st)) {
        if (WEXITSTATUS(st) != 0)
            na_fmt(err, errlen, "%s", buf[0] ? buf : "failed");
        return WEXITSTATUS(st);
    }
    na_fmt(err, errlen, "%s: killed by signal %d", argv[0], WTERMSIG(st));
    return -1;
}

int na_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int na_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

char *na_read_file(const char *path, size_t max, size_t *len)
{
    return file_read(path, max, len, NULL, 0);
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int na_write_file(const char *path, const void *data, size_t len, mode_t mode, bool *changed)
{
    size_t old_len = 0;
    char *old = na_read_file(path, len + 1, &old_len);
    struct stat st;
    if (old && old_len == len && memcmp(old, data, len) == 0 && stat(path, &st) == 0 &&
        (st.st_mode & 07777) == mode) {
        free(old);
        if (changed)
            *changed = false;
        return 0;
    }
    free(old);
    char tmp[PATH_MAX];
    if ((size_t)na_fmt(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid()) >= sizeof(tmp))
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    if (write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    if (changed)
        *changed = true;
    return 0;
}

int na_write_inplace(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, data, len);
    close(fd);
    return rc;
}

unsigned char *na_base64_decode(const char *in, size_t *outlen)
{
    return base64_decode(in, strlen(in), outlen, NULL, NULL, 0);
}

void na_veth_name(const char *pod, char out[16])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const char hex[] = "0123456789abcdef";
    EVP_Digest(pod, strlen(pod), md, &mdlen, EVP_sha1(), NULL);
    memcpy(out, "gh-", 3);
    for (int i = 0; i < 5; i++) {
        out[3 + 2 * i] = hex[md[i] >> 4];
        out[4 + 2 * i] = hex[md[i] & 15];
    }
    out[13] = '\0';
}

bool na_netns_exists(const char *name)
{
    char p[PATH_MAX];
    na_fmt(p, sizeof(p), "/run/netns/%s", name);
    return access(p, F_OK) == 0;
}

int na_netns_signal(const char *name, int sig)
{
    char p[PATH_MAX];
    struct stat ns;
    na_fmt(p, sizeof(p), "/run/netns/%s", name);
    if (stat(p, &ns) != 0)
        return 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int count = 0;
    struct dirent *e;
    pid_t self = getpid();
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        struct stat st;
        na_fmt(p, sizeof(p), "/proc/%ld/ns/net", pid);
        if (stat(p, &st) != 0 || st.st_ino != ns.st_ino || st.st_dev != ns.st_dev)
            continue;
        if (kill((pid_t)pid, sig) == 0)
            count++;
    }
    closedir(d);
    return count;
}

static void flush_neigh(const struct agent *a, const char *ip)
{
    char err[256];
    const char *host[] = {a->ip_bin, "neigh", "flush", "to", ip, "dev", a->bridge, NULL};
    na_run(host, 10, err, sizeof(err));
    DIR *d = opendir("/run/netns");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, NA_NETNS_PREFIX, strlen(NA_NETNS_PREFIX)) != 0)
            continue;
        const char *in[] = {a->ip_bin, "-n", e->d_name, "neigh", "flush", "to", ip, NULL};
        na_run(in, 10, err, sizeof(err));
    }
    closedir(d);
}

int na_netns_add(const struct agent *a, const char *pod, const char *ip, char *err, size_t errlen)
{
    char ns[300], host[16], peer[16], cidr[40], gw[40];
    na_fmt(ns, sizeof(ns), NA_NETNS_PREFIX "%s", pod);
    na_veth_name(pod, host);
    na_fmt(peer, sizeof(peer), "gp-%s", host + 3);
    na_fmt(cidr, sizeof(cidr), "%s/24", ip);
    na_fmt(gw, sizeof(gw), "%s", a->host_ip);
    const char *ipb = a->ip_bin;
    const char *const steps[][10] = {
        {ipb, "netns", "add", ns, NULL},
        {ipb, "link", "add", host, "type", "veth", "peer", "name", peer, NULL},
        {ipb, "link", "set", peer, "netns", ns, NULL},
        {ipb, "-n", ns, "link", "set", peer, "name", "eth0", NULL},
        {ipb, "-n", ns, "addr", "add", cidr, "dev", "eth0", NULL},
        {ipb, "-n", ns, "link", "set", "eth0", "up", NULL},
        {ipb, "-n", ns, "link", "set", "lo", "up", NULL},
        {ipb, "-n", ns, "route", "add", "default", "via", gw, NULL},
        {ipb, "link", "set", host, "master", a->bridge, NULL},
        {ipb, "link", "set", host, "up", NULL},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        char e[256];
        if (na_run(steps[i], 10, e, sizeof(e)) != 0) {
            na_fmt(err, errlen, "setting up netns %s: ip %s %s %s: %s", ns, steps[i][1],
                     steps[i][2], steps[i][3], e);
            const char *del_link[] = {ipb, "link", "del", host, NULL};
            const char *del_ns[] = {ipb, "netns", "del", ns, NULL};
            na_run(del_link, 10, e, sizeof(e));
            na_run(del_ns, 10, e, sizeof(e));
            return -1;
        }
    }
    flush_neigh(a, ip);
    return 0;
}

void na_netns_del(const struct agent *a, const char *pod, const char *ip)
{
    char ns[300], host[16], err[256];
    na_fmt(ns, sizeof(ns), NA_NETNS_PREFIX "%s", pod);
    na_veth_name(pod, host);
    const char *del_link[] = {a->ip_bin, "link", "del", host, NULL};
    na_run(del_link, 10, err, sizeof(err));
    if (na_netns_exists(ns)) {
        if (na_netns_signal(ns, SIGKILL) > 0) {
            for (int i = 0; i < 50 && na_netns_signal(ns, 0) > 0; i++)
                usleep(20000);
        }
        const char *del_ns[] = {a->ip_bin, "netns", "del", ns, NULL};
        if (na_run(del_ns, 10, err, sizeof(err)) != 0)
            log_write(LOG_WARN, "could not delete netns", "netns", ns, "error", err, NULL);
    }
    if (ip && ip[0])
        flush_neigh(a, ip);
}
