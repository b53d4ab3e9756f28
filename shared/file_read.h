/* file_read.h — the one bounded reader of small files (kubeconfigs and the files they name,
 * service account tokens, serving certificates and keys). */
#ifndef GUNGNIR_FILE_READ_H
#define GUNGNIR_FILE_READ_H

#include <stddef.h>

/* Reads the whole regular file at path, which may hold at most max bytes (max < SIZE_MAX).
 * Symbolic links are followed (a mounted Secret is a chain of them); anything that is not a
 * regular file in the end (a directory, a FIFO, a device) is refused without reading it, and
 * opening never blocks. Returns a new buffer (free() it) holding the bytes followed by one NUL
 * that *len does not count (len may be NULL), or NULL with errno set and "PATH: reason" in err
 * (err may be NULL): the open or read error (strerror), "not a regular file" (errno EINVAL),
 * "larger than MAX bytes" (errno EFBIG, also when the file grows past max while being read),
 * "out of memory" (ENOMEM). */
char *file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
