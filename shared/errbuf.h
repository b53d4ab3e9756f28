/* errbuf.h — the caller's error buffer, filled hiredis-style: a function that fails writes
 * why into (err, errlen) and returns -1. */
#ifndef GUNGNIR_ERRBUF_H
#define GUNGNIR_ERRBUF_H

#include <stddef.h>

/* printf into err (at most errlen bytes, NUL-terminated, cut when longer). err may be NULL or
 * errlen 0: nothing is written. */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
