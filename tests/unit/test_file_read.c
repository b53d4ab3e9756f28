/* test_file_read.c — unit tests for shared/file_read.c (the one bounded file reader). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_read.h"

static char tmp[256];

static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmp, name); }

/* Writes n bytes of data to tmp/name. */
static void write_file(const char *name, const char *data, size_t n)
{
    char path[512];
    path_of(path, sizeof(path), name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof(tmp), "/tmp/test_file_read.XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_reads(void **state)
{
    (void)state;
    char path[512], err[600];
    size_t len = 99;
    write_file("a", "hello\n", 6);
    path_of(path, sizeof(path), "a");
    char *s = file_read(path, 100, &len, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(len, 6);
    assert_string_equal(s, "hello\n");
    free(s);
    /* exactly the bound is fine; len may be NULL */
    s = file_read(path, 6, NULL, err, sizeof(err));
    assert_non_null(s);
    assert_string_equal(s, "hello\n");
    free(s);
    /* empty file: an empty string */
    write_file("empty", "", 0);
    path_of(path, sizeof(path), "empty");
    s = file_read(path, 0, &len, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    free(s);
    /* NUL bytes are data: len counts them, a NUL follows */
    write_file("nul", "a\0b", 3);
    path_of(path, sizeof(path), "nul");
    s = file_read(path, 10, &len, NULL, 0);
    assert_non_null(s);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 4);
    free(s);
    /* a symbolic link to a regular file is followed (mounted Secrets are links) */
    char link[512];
    path_of(link, sizeof(link), "link");
    path_of(path, sizeof(path), "a");
    assert_int_equal(symlink(path, link), 0);
    s = file_read(link, 100, &len, err, sizeof(err));
    assert_non_null(s);
    assert_string_equal(s, "hello\n");
    free(s);
    /* a file larger than the first chunk is read whole */
    size_t big_n = 100000;
    char *big = malloc(big_n);
    assert_non_null(big);
    for (size_t i = 0; i < big_n; i++)
        big[i] = (char)('a' + i % 26);
    write_file("big", big, big_n);
    path_of(path, sizeof(path), "big");
    s = file_read(path, big_n, &len, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(len, big_n);
    assert_memory_equal(s, big, big_n);
    free(s);
    free(big);
    /* a regular file that reports no size (procfs) is read too */
    s = file_read("/proc/self/stat", 65536, &len, err, sizeof(err));
    assert_non_null(s);
    assert_true(len > 0);
    assert_int_equal(strlen(s), len);
    free(s);
}

static void test_refusals(void **state)
{
    (void)state;
    char path[512], err[600], want[700];
    size_t len = 99;
    write_file("seven", "1234567", 7);
    path_of(path, sizeof(path), "seven");
    errno = 0;
    assert_null(file_read(path, 6, &len, err, sizeof(err)));
    assert_int_equal(errno, EFBIG);
    snprintf(want, sizeof(want), "%s: larger than 6 bytes", path);
    assert_string_equal(err, want);
    assert_int_equal(len, 0);

    path_of(path, sizeof(path), "missing");
    assert_null(file_read(path, 6, &len, err, sizeof(err)));
    assert_int_equal(errno, ENOENT);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    assert_string_equal(err, want);

    assert_null(file_read(tmp, 100, &len, err, sizeof(err)));
    assert_int_equal(errno, EINVAL);
    snprintf(want, sizeof(want), "%s: not a regular file", tmp);
    assert_string_equal(err, want);

    /* a FIFO is refused at once, not waited on */
    path_of(path, sizeof(path), "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_null(file_read(path, 100, &len, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: not a regular file", path);
    assert_string_equal(err, want);
    assert_null(file_read("/dev/null", 100, &len, NULL, 0));
    assert_int_equal(errno, EINVAL);

    /* permission denied (unless running as root, who may read anything) */
    write_file("secret", "x", 1);
    path_of(path, sizeof(path), "secret");
    chmod(path, 0);
    if (geteuid() != 0) {
        assert_null(file_read(path, 100, &len, err, sizeof(err)));
        snprintf(want, sizeof(want), "%s: Permission denied", path);
        assert_string_equal(err, want);
    }
    /* a short error buffer is cut, not overrun */
    char tiny[5];
    path_of(path, sizeof(path), "missing");
    assert_null(file_read(path, 6, NULL, tiny, sizeof(tiny)));
    assert_int_equal(strlen(tiny), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
