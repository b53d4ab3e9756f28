/* utf8.c — see utf8.h. */
#include "utf8.h"

#include <string.h>

/* Bytes in the sequence a lead byte starts: 1 for ASCII, 2..4, or 0 for a continuation or an
 * invalid lead. */
static size_t sequence_length(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        return 2;
    if ((c & 0xF0) == 0xE0)
        return 3;
    if ((c & 0xF8) == 0xF0)
        return 4;
    return 0;
}

size_t utf8_cut(const char *s, size_t len)
{
    /* Walk back over at most three continuation bytes to the lead byte of the last sequence. */
    size_t i = len;
    size_t back = 0;
    while (i > 0 && back < 4) {
        unsigned char c = (unsigned char)s[i - 1];
        if ((c & 0xC0) != 0x80) {
            size_t need = sequence_length(c);
            /* Complete (or not a lead byte at all): keep everything. */
            if (need == 0 || need <= back + 1)
                return len;
            return i - 1; /* the last sequence is incomplete: cut before its lead byte */
        }
        i--;
        back++;
    }
    return len;
}

void utf8_trim(char *s)
{
    size_t len = strlen(s);
    s[utf8_cut(s, len)] = '\0';
}
