/* file_read.c — see file_read.h. */
#include "file_read.h"

#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIRST_CHUNK 4096u

/* Fills err with "PATH: reason", closes fd (when >= 0), frees buf, sets errno to e. */
static char *fail(const char *path, int fd, char *buf, int e, const char *reason, size_t max,
                  char *err, size_t errlen)
{
    if (fd >= 0)
        close(fd);
    free(buf);
    if (err && errlen) {
        if (e == EFBIG)
            snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
        else
            snprintf(err, errlen, "%s: %s", path, reason ? reason : strerror(e));
        utf8_trim(err); /* a long path may have been cut inside a character */
    }
    errno = e;
    return NULL;
}

char *file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    if (len)
        *len = 0;
    if (max == SIZE_MAX)
        max = SIZE_MAX - 1;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return fail(path, -1, NULL, errno, NULL, max, err, errlen);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return fail(path, fd, NULL, errno, NULL, max, err, errlen);
    if (!S_ISREG(st.st_mode))
        return fail(path, fd, NULL, EINVAL, "not a regular file", max, err, errlen);
    if (st.st_size < 0 || (uintmax_t)st.st_size > max)
        return fail(path, fd, NULL, EFBIG, NULL, max, err, errlen);

    /* Room for the size fstat gave and one more byte, so that growth is seen; files that
     * report no size (as some in /proc do) grow the buffer as they are read. */
    size_t cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
    if (cap < FIRST_CHUNK && max >= FIRST_CHUNK)
        cap = FIRST_CHUNK;
    char *buf = malloc(cap + 1);
    if (!buf)
        return fail(path, fd, NULL, ENOMEM, "out of memory", max, err, errlen);
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap > max)
                return fail(path, fd, buf, EFBIG, NULL, max, err, errlen);
            size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb)
                return fail(path, fd, buf, ENOMEM, "out of memory", max, err, errlen);
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail(path, fd, buf, errno, NULL, max, err, errlen);
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max)
            return fail(path, fd, buf, EFBIG, NULL, max, err, errlen);
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
