/* fault_point.c — see fault_point.h. */
#include "fault_point.h"
#include "log.h"

#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAULT_EXIT_CODE 86
#define TRACE_NAMES_MAX 256 /* distinct names counted for the trace; more are traced with k = 0 */

enum fault_action { ACTION_NONE, ACTION_EXIT, ACTION_HANG, ACTION_FAIL };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int parsed;
static char target[FAULT_POINT_NAME_MAX];
static long target_hit;
static enum fault_action action;
static long target_count;
static int trace_fd = -1;
static struct {
    char name[FAULT_POINT_NAME_MAX];
    long hits;
} counts[TRACE_NAMES_MAX];
static size_t ncounts;

/* Reads GUNGNIR_FAULT and GUNGNIR_FAULT_TRACE. A malformed GUNGNIR_FAULT is said once and
 * ignored (no fault), never guessed at. Called with lock held. */
static void parse_env(void)
{
    parsed = 1;
    const char *spec = getenv("GUNGNIR_FAULT");
    if (spec && spec[0]) {
        char copy[FAULT_POINT_NAME_MAX + 64];
        snprintf(copy, sizeof(copy), "%s", spec);
        char *act = strrchr(copy, ':');
        char *num = NULL;
        if (act) {
            *act++ = '\0';
            num = strrchr(copy, ':');
        }
        char *end = NULL;
        long n = num ? strtol(num + 1, &end, 10) : 0;
        if (num)
            *num = '\0';
        action = !act ? ACTION_NONE
                 : strcmp(act, "exit") == 0 ? ACTION_EXIT
                 : strcmp(act, "hang") == 0 ? ACTION_HANG
                 : strcmp(act, "fail") == 0 ? ACTION_FAIL
                                            : ACTION_NONE;
        size_t len = strlen(copy);
        if (action == ACTION_NONE || !num || !end || *end || n < 1 || !len || len >= sizeof(target)) {
            action = ACTION_NONE;
            log_write(LOG_ERROR, "GUNGNIR_FAULT ignored: want <point>:<n>:<exit|hang|fail>", "value", spec, NULL);
        } else {
            memcpy(target, copy, len + 1);
            target_hit = n;
        }
    }
    const char *trace = getenv("GUNGNIR_FAULT_TRACE");
    if (trace && trace[0]) {
        trace_fd = open(trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (trace_fd < 0)
            log_write(LOG_ERROR, "GUNGNIR_FAULT_TRACE cannot be opened", "file", trace, NULL);
    }
}

/* The hit number of name for the trace (1-based), or 0 when the table is full. Lock held. */
static long count_hit(const char *name)
{
    for (size_t i = 0; i < ncounts; i++)
        if (strcmp(counts[i].name, name) == 0)
            return ++counts[i].hits;
    if (ncounts == TRACE_NAMES_MAX)
        return 0;
    snprintf(counts[ncounts].name, sizeof(counts[ncounts].name), "%s", name);
    counts[ncounts].hits = 1;
    return counts[ncounts++].hits;
}

int fault_point_hit(const char *name)
{
    pthread_mutex_lock(&lock);
    if (!parsed)
        parse_env();
    if (trace_fd >= 0) {
        char line[FAULT_POINT_NAME_MAX + 32];
        int len = snprintf(line, sizeof(line), "%s %ld\n", name, count_hit(name));
        if (len > 0 && (size_t)len < sizeof(line) && write(trace_fd, line, (size_t)len) != len)
            log_write(LOG_WARN, "fault trace write failed", "point", name, NULL);
    }
    enum fault_action act = ACTION_NONE;
    if (action != ACTION_NONE && strcmp(name, target) == 0 && ++target_count == target_hit)
        act = action;
    pthread_mutex_unlock(&lock);

    char hit[32];
    snprintf(hit, sizeof(hit), "%ld", target_hit);
    switch (act) {
    case ACTION_EXIT:
        log_write(LOG_ERROR, "fault point: exiting", "point", name, "hit", hit, NULL);
        _exit(FAULT_EXIT_CODE);
    case ACTION_HANG:
        log_write(LOG_ERROR, "fault point: hanging", "point", name, "hit", hit, NULL);
        for (;;)
            pause();
    case ACTION_FAIL:
        log_write(LOG_WARN, "fault point: failing the call", "point", name, "hit", hit, NULL);
        return -1;
    case ACTION_NONE:
        break;
    }
    return 0;
}

/* Copies the lower-cased text of [s, s+len) onto the end of buf (room left: *room). */
static void append_lower(char **at, size_t *room, const char *s, size_t len)
{
    for (size_t i = 0; i < len && *room > 1; i++, (*room)--)
        *(*at)++ = (char)tolower((unsigned char)s[i]);
    **at = '\0';
}

char *fault_point_api_name(char *buf, size_t size, const char *method, const char *path)
{
    if (!size)
        return buf;
    char *at = buf;
    size_t room = size;
    buf[0] = '\0';
    append_lower(&at, &room, "api.", 4);
    append_lower(&at, &room, method, strlen(method));
    /* The segments after "namespaces/<ns>/": resource, name, subresource. A cluster-scoped or
     * collection path keeps what it has. */
    const char *end = path + strcspn(path, "?");
    const char *ns = strstr(path, "/namespaces/");
    const char *p = ns && ns < end ? ns + strlen("/namespaces/") : path;
    if (ns && ns < end)
        p += strcspn(p, "/"); /* skip the namespace's name */
    int seg = 0;
    while (p < end && seg < 3) {
        while (p < end && *p == '/')
            p++;
        size_t len = strcspn(p, "/?");
        if (p + len > end)
            len = (size_t)(end - p);
        if (len && seg != 1) { /* segment 1 is the object's name: not part of the point */
            append_lower(&at, &room, ".", 1);
            append_lower(&at, &room, p, len);
        }
        p += len;
        seg++;
    }
    return buf;
}

void fault_point_reset(void)
{
    pthread_mutex_lock(&lock);
    parsed = 0;
    target[0] = '\0';
    target_hit = target_count = 0;
    action = ACTION_NONE;
    if (trace_fd >= 0)
        close(trace_fd);
    trace_fd = -1;
    ncounts = 0;
    pthread_mutex_unlock(&lock);
}
