/* base64.c — see base64.h. */
#include "base64.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static bool is_alphabet(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Sets *bad_at and err ("what", or "invalid character 0xNN at byte N" when c >= 0). */
static unsigned char *fail(size_t *bad_at, size_t at, char *err, size_t errlen, const char *what,
                           int c)
{
    if (bad_at)
        *bad_at = at;
    if (err && errlen) {
        if (c >= 0)
            snprintf(err, errlen, "invalid character 0x%02x at byte %zu", (unsigned)c, at);
        else
            snprintf(err, errlen, "%s", what);
    }
    return NULL;
}

unsigned char *base64_decode(const char *in, size_t n, size_t *outlen, size_t *bad_at,
                             char *err, size_t errlen)
{
    *outlen = 0;
    if (n > (size_t)INT_MAX / 2)
        return fail(bad_at, 0, err, errlen, "input too large", -1);

    /* Pass 1: check every byte and count what EVP_DecodeBlock will see. */
    size_t chars = 0, pad = 0, first_pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_space(c))
            continue;
        if (c == '=') {
            if (pad == 0)
                first_pad = i;
            if (++pad > 2)
                return fail(bad_at, i, err, errlen, "more than two '=' of padding", -1);
            chars++;
            continue;
        }
        if (!is_alphabet(c))
            return fail(bad_at, i, err, errlen, NULL, c);
        if (pad) {
            if (err && errlen)
                snprintf(err, errlen, "'=' padding in the middle (at byte %zu)", first_pad);
            if (bad_at)
                *bad_at = first_pad;
            return NULL;
        }
        chars++;
    }
    if (chars % 4 != 0)
        return fail(bad_at, n, err, errlen, "length is not a multiple of 4 (missing '=' padding?)",
                    -1);

    /* Pass 2: a copy without white space, which EVP_DecodeBlock requires. */
    unsigned char *compact = malloc(chars + 1);
    unsigned char *out = malloc(chars / 4 * 3 + 1);
    if (!compact || !out) {
        free(compact);
        free(out);
        return fail(bad_at, 0, err, errlen, "out of memory", -1);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_space((unsigned char)in[i]))
            compact[k++] = (unsigned char)in[i];
    int got = chars ? EVP_DecodeBlock(out, compact, (int)chars) : 0;
    OPENSSL_cleanse(compact, chars);
    free(compact);
    /* EVP_DecodeBlock counts the bytes the padding stands for: 3 per 4 characters. */
    if (got < 0 || (size_t)got != chars / 4 * 3) {
        OPENSSL_cleanse(out, chars / 4 * 3);
        free(out);
        return fail(bad_at, 0, err, errlen, "not valid base64", -1);
    }
    *outlen = (size_t)got - pad;
    out[*outlen] = '\0';
    return out;
}
