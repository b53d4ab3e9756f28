/* log.c — JSON-lines logger (see log.h). */
#include "log.h"

#include "clock.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static atomic_int min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level) { atomic_store(&min_level, (int)level); }

int log_level_parse(const char *name, enum log_level *level)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Appends s to buf at *pos as JSON string content (no quotes). Stops at the buffer's end. */
static void append_escaped(char *buf, size_t size, size_t *pos, const char *s)
{
    for (; *s && *pos + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = (char)c;
        } else if (c == '\n') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = 'n';
        } else if (c < 0x20) {
            *pos += (size_t)snprintf(buf + *pos, size - *pos, "\\u%04x", c);
        } else {
            buf[(*pos)++] = (char)c;
        }
    }
}

static void append_raw(char *buf, size_t size, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n + 2 >= size)
        n = size > *pos + 2 ? size - *pos - 2 : 0;
    memcpy(buf + *pos, s, n);
    *pos += n;
}

void log_write(enum log_level level, const char *msg, ...)
{
    if ((int)level < atomic_load(&min_level))
        return;

    char line[LOG_LINE_MAX];
    size_t pos = 0;
    char when[CLOCK_RFC3339_MAX];

    clock_wall_rfc3339(when, sizeof(when), 3);
    pos = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", when,
                           level_names[level]);
    append_escaped(line, sizeof(line), &pos, msg);
    append_raw(line, sizeof(line), &pos, "\"");

    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        append_raw(line, sizeof(line), &pos, ",\"");
        append_escaped(line, sizeof(line), &pos, key);
        append_raw(line, sizeof(line), &pos, "\":\"");
        append_escaped(line, sizeof(line), &pos, value ? value : "");
        append_raw(line, sizeof(line), &pos, "\"");
    }
    va_end(ap);
    line[pos++] = '}';
    line[pos++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, pos);
    (void)ignored;
}
