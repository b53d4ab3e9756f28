/* utf8.h — cutting text without splitting a character. Messages that quote user input are
 * bounded; a cut in the middle of a multi-byte UTF-8 sequence would make the JSON that carries
 * them invalid. */
#ifndef GUNGNIR_UTF8_H
#define GUNGNIR_UTF8_H

#include <stddef.h>

/* Returns the largest n <= len such that the first n bytes of s do not end inside a UTF-8
 * sequence (the bytes before are not checked). Use it to choose where to cut s. */
size_t utf8_cut(const char *s, size_t len);

/* Shortens the NUL-terminated string s in place so that it does not end inside a UTF-8
 * sequence (after a snprintf that may have cut it). */
void utf8_trim(char *s);

#endif
