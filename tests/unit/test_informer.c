/* test_informer.c — the informer's resume logic: what it does after a watch ends. */
#include "informer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* A watch the server ended normally (its timeoutSeconds): resume from the last version, no
 * list (a list of everything every few minutes is what the watch exists to avoid). */
static void test_normal_end_resumes(void **state)
{
    (void)state;
    assert_int_equal(informer_after_watch(200, false), INFORMER_RESUME);
}

/* 410 Gone, as the answer's status or as an ERROR event inside a 200 stream: the version is too
 * old to resume from, list again at once. */
static void test_gone_relists(void **state)
{
    (void)state;
    assert_int_equal(informer_after_watch(410, false), INFORMER_RELIST);
    assert_int_equal(informer_after_watch(200, true), INFORMER_RELIST);
    assert_int_equal(informer_after_watch(-1, true), INFORMER_RELIST);
}

/* Other HTTP errors (403 after an RBAC change, 500 while the API server restarts): back off,
 * then list again, since events may have been missed. */
static void test_http_errors_relist_later(void **state)
{
    (void)state;
    assert_int_equal(informer_after_watch(403, false), INFORMER_RELIST_LATER);
    assert_int_equal(informer_after_watch(500, false), INFORMER_RELIST_LATER);
    assert_int_equal(informer_after_watch(503, false), INFORMER_RELIST_LATER);
}

/* A broken connection (API server gone, idle watch cut): back off, then watch again from the
 * last version seen — no list needed. */
static void test_transport_failure_retries(void **state)
{
    (void)state;
    assert_int_equal(informer_after_watch(-1, false), INFORMER_RETRY_LATER);
    assert_int_equal(informer_after_watch(0, false), INFORMER_RETRY_LATER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_end_resumes),
        cmocka_unit_test(test_gone_relists),
        cmocka_unit_test(test_http_errors_relist_later),
        cmocka_unit_test(test_transport_failure_retries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
