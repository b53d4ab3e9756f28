/* valkey_info.c — see valkey_info.h. */
#include "valkey_info.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Copies the n-byte value into buf (size bytes). Returns 0, or -1 when it does not fit. */
static int copy_value(char *buf, size_t size, const char *v, size_t n)
{
    if (n >= size || memchr(v, '\0', n))
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return 0;
}

/* Parses an n-byte decimal into *out within [lo, hi]. Returns 0, or -1. */
static int parse_number(const char *v, size_t n, long long lo, long long hi, long long *out)
{
    char tmp[32];
    char *end;
    if (n == 0 || n >= sizeof(tmp) || memchr(v, '\0', n))
        return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

static bool key_is(const char *k, size_t klen, const char *want)
{
    return strlen(want) == klen && memcmp(k, want, klen) == 0;
}

int valkey_info_parse(const char *text, size_t len, struct valkey_info *out)
{
    bool have_role = false;
    long long replica_offset = -1, master_offset = -1, num;

    memset(out, 0, sizeof(*out));
    out->repl_offset = -1;
    for (size_t pos = 0; pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0 || line[0] == '#')
            continue;
        const char *colon = memchr(line, ':', n);
        if (!colon)
            continue;
        size_t klen = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vlen = n - klen - 1;

        if (key_is(line, klen, "role")) {
            if (vlen == 6 && memcmp(v, "master", 6) == 0)
                out->is_primary = true;
            else if (vlen == 5 && memcmp(v, "slave", 5) == 0)
                out->is_primary = false;
            else
                return -1;
            have_role = true;
        } else if (key_is(line, klen, "master_host")) {
            if (copy_value(out->master_host, sizeof(out->master_host), v, vlen) != 0)
                return -1;
        } else if (key_is(line, klen, "master_port")) {
            if (parse_number(v, vlen, 0, 65535, &num) != 0)
                return -1;
            out->master_port = (int)num;
        } else if (key_is(line, klen, "master_link_status")) {
            out->master_link_up = vlen == 2 && memcmp(v, "up", 2) == 0;
        } else if (key_is(line, klen, "master_repl_offset")) {
            if (parse_number(v, vlen, 0, LLONG_MAX, &master_offset) != 0)
                return -1;
        } else if (key_is(line, klen, "slave_repl_offset")) {
            if (parse_number(v, vlen, 0, LLONG_MAX, &replica_offset) != 0)
                return -1;
        } else if (key_is(line, klen, "master_replid")) {
            if (copy_value(out->replid, sizeof(out->replid), v, vlen) != 0)
                return -1;
        } else if (key_is(line, klen, "run_id")) {
            if (copy_value(out->run_id, sizeof(out->run_id), v, vlen) != 0)
                return -1;
        } else if (key_is(line, klen, "connected_slaves")) {
            if (parse_number(v, vlen, 0, INT_MAX, &num) != 0)
                return -1;
            out->connected_replicas = (int)num;
        }
    }
    if (!have_role)
        return -1;
    out->repl_offset = (!out->is_primary && replica_offset >= 0) ? replica_offset : master_offset;
    return 0;
}
