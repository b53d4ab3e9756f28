/* test_memo.c — controller/memo.c: values by key, replaced, forgotten one at a time or by
 * prefix, and set from several threads at once without losing one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "memo.h"

static void test_set_get_replace_forget(void **state)
{
    (void)state;
    struct memo m = MEMO_INIT;
    assert_null(memo_get(&m, "ns/a")); /* nothing yet, not even a map */
    assert_int_equal(memo_set(&m, "ns/a", json_string("one")), 0);
    json_t *v = memo_get(&m, "ns/a");
    assert_string_equal(json_string_value(v), "one");
    json_decref(v);
    assert_int_equal(memo_set(&m, "ns/a", json_string("two")), 0);
    v = memo_get(&m, "ns/a");
    assert_string_equal(json_string_value(v), "two");
    json_decref(v);
    memo_forget(&m, "ns/a");
    assert_null(memo_get(&m, "ns/a"));
    assert_int_equal(memo_set(&m, "ns/b", NULL), -1); /* nothing to steal: refused */
    memo_forget_prefix(&m, "");
    json_decref(m.map);
}

static void test_forget_prefix(void **state)
{
    (void)state;
    struct memo m = MEMO_INIT;
    memo_set(&m, "shop/cache/x", json_true());
    memo_set(&m, "shop/cache/y", json_true());
    memo_set(&m, "shop/cachex/z", json_true());
    memo_set(&m, "other/cache/x", json_true());
    memo_forget_prefix(&m, "shop/cache/");
    json_t *v;
    assert_null(memo_get(&m, "shop/cache/x"));
    assert_null(memo_get(&m, "shop/cache/y"));
    assert_non_null(v = memo_get(&m, "shop/cachex/z"));
    json_decref(v);
    assert_non_null(v = memo_get(&m, "other/cache/x"));
    json_decref(v);
    json_decref(m.map);
}

static struct memo shared = MEMO_INIT;

static void *writer(void *arg)
{
    int id = *(int *)arg;
    for (int i = 0; i < 500; i++) {
        char key[32];
        snprintf(key, sizeof(key), "t%d/%d", id, i);
        memo_set(&shared, key, json_integer(i));
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    int ids[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, &ids[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(json_object_size(shared.map), 2000);
    memo_forget_prefix(&shared, "t2/");
    assert_int_equal(json_object_size(shared.map), 1500);
    json_decref(shared.map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_replace_forget),
        cmocka_unit_test(test_forget_prefix),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
