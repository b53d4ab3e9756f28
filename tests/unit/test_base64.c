/* test_base64.c — unit tests for shared/base64.c (the one base64 decoder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "strbuf.h"

/* Decodes in expecting n bytes equal to want. */
static void decodes(const char *in, const char *want, size_t n)
{
    char err[128] = "";
    size_t len = 99;
    unsigned char *out = base64_decode(in, strlen(in), &len, NULL, err, sizeof(err));
    if (!out)
        print_error("\"%s\": unexpected failure: %s\n", in, err);
    assert_non_null(out);
    assert_int_equal(len, n);
    assert_memory_equal(out, want, n);
    assert_int_equal(out[len], '\0'); /* NUL-terminated beyond the data */
    free(out);
}

/* Decodes in expecting failure with msg and the offset bad_at. */
static void refuses(const char *in, const char *msg, size_t at)
{
    char err[128] = "";
    size_t len = 99, bad_at = 99;
    unsigned char *out = base64_decode(in, strlen(in), &len, &bad_at, err, sizeof(err));
    if (out)
        print_error("\"%s\": unexpected success\n", in);
    assert_null(out);
    assert_string_equal(err, msg);
    assert_int_equal(bad_at, at);
    assert_int_equal(len, 0);
}

/* RFC 4648 section 10 test vectors, and the padding gives the real length. */
static void test_vectors(void **state)
{
    (void)state;
    decodes("", "", 0);
    decodes("Zg==", "f", 1);
    decodes("Zm8=", "fo", 2);
    decodes("Zm9v", "foo", 3);
    decodes("Zm9vYg==", "foob", 4);
    decodes("Zm9vYmE=", "fooba", 5);
    decodes("Zm9vYmFy", "foobar", 6);
    decodes("+/+/", "\xfb\xff\xbf", 3);
    decodes("AAECAw==", "\x00\x01\x02\x03", 4); /* NUL bytes are data */
}

/* PEM and YAML wrap base64: white space is skipped wherever it is. */
static void test_white_space(void **state)
{
    (void)state;
    decodes("Zm9v\nYmFy\n", "foobar", 6);
    decodes("Zm9v\r\nYmE=\r\n", "fooba", 5);
    decodes("  Zm 9v\tYg =\n=  ", "foob", 4);
    decodes("\n\n", "", 0);
    /* a long PEM body wrapped at 64 and 76 columns */
    char raw[300], wrapped[600];
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (char)(i * 7 + 3);
    struct strbuf b;
    strbuf_init(&b, 1024);
    assert_int_equal(strbuf_base64(&b, raw, sizeof(raw)), 0);
    for (size_t wrap = 64; wrap <= 76; wrap += 12) {
        size_t o = 0;
        for (size_t i = 0; i < b.len; i++) {
            wrapped[o++] = b.data[i];
            if ((i + 1) % wrap == 0)
                wrapped[o++] = '\n';
        }
        wrapped[o] = '\0';
        size_t len;
        unsigned char *out = base64_decode(wrapped, o, &len, NULL, NULL, 0);
        assert_non_null(out);
        assert_int_equal(len, sizeof(raw));
        assert_memory_equal(out, raw, sizeof(raw));
        free(out);
    }
    strbuf_free(&b);
}

static void test_refusals(void **state)
{
    (void)state;
    refuses("LS0t!", "invalid character 0x21 at byte 4", 4);
    refuses("Zm9v-YmFy", "invalid character 0x2d at byte 4", 4); /* base64url is not base64 */
    refuses("Zm9v_", "invalid character 0x5f at byte 4", 4);
    refuses("Zm\x01" "9v", "invalid character 0x01 at byte 2", 2);
    refuses("Zm9", "length is not a multiple of 4 (missing '=' padding?)", 3);
    refuses("Zg", "length is not a multiple of 4 (missing '=' padding?)", 2);
    refuses("Zm9vY", "length is not a multiple of 4 (missing '=' padding?)", 5);
    refuses("Zg==Zg==", "'=' padding in the middle (at byte 2)", 2);
    refuses("Z=g=", "'=' padding in the middle (at byte 1)", 1);
    refuses("Zg=\n=Zm8=", "'=' padding in the middle (at byte 2)", 2);
    refuses("Z===", "more than two '=' of padding", 3);
    refuses("====", "more than two '=' of padding", 2);
    /* the length counts, not the terminator */
    size_t len;
    char err[64];
    assert_null(base64_decode("Zm9v\0YmFy", 9, &len, NULL, err, sizeof(err)));
    assert_string_equal(err, "invalid character 0x00 at byte 4");
    unsigned char *out = base64_decode("Zm9vYmFy", 4, &len, NULL, NULL, 0);
    assert_non_null(out);
    assert_int_equal(len, 3);
    free(out);
}

/* Round trip against the encoder for every length 0..64. */
static void test_round_trip(void **state)
{
    (void)state;
    char raw[64];
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (char)(255 - i * 13);
    for (size_t n = 0; n <= sizeof(raw); n++) {
        struct strbuf b;
        strbuf_init(&b, 256);
        assert_int_equal(strbuf_base64(&b, raw, n), 0);
        size_t len;
        unsigned char *out = base64_decode(b.data ? b.data : "", b.len, &len, NULL, NULL, 0);
        assert_non_null(out);
        assert_int_equal(len, n);
        assert_memory_equal(out, raw, n);
        free(out);
        strbuf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_white_space),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
