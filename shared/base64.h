/* base64.h — the one base64 decoder (RFC 4648 section 4, the standard alphabet), on OpenSSL's
 * EVP_DecodeBlock. Used for kubeconfig *-data fields, Secret data and anything else that
 * arrives base64-encoded. (Encoding: strbuf_base64 in strbuf.h.)
 *
 * Accepted: the characters A-Z a-z 0-9 + /, then zero, one or two '=' so that the number of
 * those characters is a multiple of 4 (padding is required, as Go's base64.StdEncoding and
 * therefore kubectl and the API server require it). Space, tab, CR and LF are skipped
 * wherever they appear (PEM blobs and YAML block scalars wrap lines). Refused: any other
 * byte, '=' anywhere but at the end, more than two '=', and a length that is not a multiple
 * of 4 after skipping white space. An empty input (or only white space) decodes to zero
 * bytes. */
#ifndef GUNGNIR_BASE64_H
#define GUNGNIR_BASE64_H

#include <stddef.h>

/* Decodes the n bytes at in (need not be NUL-terminated). Returns a new buffer (free() it)
 * holding *outlen decoded bytes followed by one NUL that *outlen does not count (decoded
 * data may itself hold NUL bytes), or NULL with err set, in words that name the offset:
 * "invalid character 0x21 at byte 4", "'=' padding in the middle (at byte 2)",
 * "length is not a multiple of 4 (missing '=' padding?)", "out of memory". On failure
 * *bad_at (when bad_at is not NULL) is the offset in in of the offending byte (n when the
 * input ends too early). Intermediate copies are cleansed (the data may be a private key).
 * err may be NULL. */
unsigned char *base64_decode(const char *in, size_t n, size_t *outlen, size_t *bad_at,
                             char *err, size_t errlen);

#endif
