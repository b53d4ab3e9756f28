/* test_fault_point.c — the fault points of the fault-injection tests: the names of API writes,
 * GUNGNIR_FAULT's actions at the n-th hit, the trace of every hit, and a malformed setting
 * ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault_point.h"

static int reset(void **state)
{
    (void)state;
    unsetenv("GUNGNIR_FAULT");
    unsetenv("GUNGNIR_FAULT_TRACE");
    fault_point_reset();
    return 0;
}

static void test_api_names_say_verb_resource_and_subresource(void **state)
{
    (void)state;
    char b[FAULT_POINT_NAME_MAX];
    assert_string_equal(fault_point_api_name(b, sizeof(b), "patch", "/api/v1/namespaces/shop/pods/cache-0"),
                        "api.patch.pods");
    assert_string_equal(fault_point_api_name(b, sizeof(b), "patch",
                                             "/apis/gungnir.dev/v1alpha1/namespaces/shop/valkeyclusters/cache/status"),
                        "api.patch.valkeyclusters.status");
    assert_string_equal(fault_point_api_name(b, sizeof(b), "apply",
                                             "/apis/apps/v1/namespaces/shop/statefulsets/cache?fieldManager=gungnir&force=true"),
                        "api.apply.statefulsets");
    assert_string_equal(fault_point_api_name(b, sizeof(b), "create", "/api/v1/namespaces/shop/events"),
                        "api.create.events");
    assert_string_equal(fault_point_api_name(b, sizeof(b), "update",
                                             "/apis/coordination.k8s.io/v1/namespaces/gungnir-system/leases/gungnir-leader"),
                        "api.update.leases");
    /* Truncated, never overrun. */
    char small[8];
    assert_string_equal(fault_point_api_name(small, sizeof(small), "delete", "/api/v1/namespaces/x/pods/p"), "api.del");
}

static void test_fail_acts_at_the_nth_hit_of_its_point_only(void **state)
{
    (void)state;
    setenv("GUNGNIR_FAULT", "valkey.replicaof:3:fail", 1);
    assert_int_equal(fault_point_hit("valkey.replicaof"), 0);
    assert_int_equal(fault_point_hit("api.patch.pods"), 0); /* another point does not count */
    assert_int_equal(fault_point_hit("valkey.replicaof"), 0);
    assert_int_equal(fault_point_hit("valkey.replicaof"), -1); /* the 3rd */
    assert_int_equal(fault_point_hit("valkey.replicaof"), 0);  /* once only */
}

static void test_exit_ends_the_process_at_the_hit(void **state)
{
    (void)state;
    setenv("GUNGNIR_FAULT", "api.patch.pods:2:exit", 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fault_point_hit("api.patch.pods");
        fault_point_hit("api.patch.pods"); /* exits here */
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 86);
}

static void test_hang_stops_the_calling_thread(void **state)
{
    (void)state;
    setenv("GUNGNIR_FAULT", "valkey.failover:1:hang", 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fault_point_hit("valkey.failover");
        _exit(0); /* not reached */
    }
    usleep(300 * 1000);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still there */
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
}

static void test_trace_lists_every_hit_with_its_number(void **state)
{
    (void)state;
    char path[] = "/tmp/gungnir-fault-trace-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    setenv("GUNGNIR_FAULT_TRACE", path, 1);
    fault_point_hit("api.patch.pods");
    fault_point_hit("valkey.replicaof");
    fault_point_hit("api.patch.pods");
    fault_point_reset(); /* closes the trace */
    char text[256] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    assert_string_equal(text, "api.patch.pods 1\nvalkey.replicaof 1\napi.patch.pods 2\n");
}

static void test_malformed_setting_injects_nothing(void **state)
{
    (void)state;
    const char *bad[] = {"valkey.replicaof", "valkey.replicaof:0:fail", "valkey.replicaof:1:explode",
                         "valkey.replicaof:x:fail", ":1:fail"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fault_point_reset();
        setenv("GUNGNIR_FAULT", bad[i], 1);
        for (int k = 0; k < 3; k++)
            assert_int_equal(fault_point_hit("valkey.replicaof"), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_api_names_say_verb_resource_and_subresource, reset),
        cmocka_unit_test_setup(test_fail_acts_at_the_nth_hit_of_its_point_only, reset),
        cmocka_unit_test_setup(test_exit_ends_the_process_at_the_hit, reset),
        cmocka_unit_test_setup(test_hang_stops_the_calling_thread, reset),
        cmocka_unit_test_setup(test_trace_lists_every_hit_with_its_number, reset),
        cmocka_unit_test_setup(test_malformed_setting_injects_nothing, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
