/* test_affinity.c - unit tests of the workers' blocks of CPUs (--bind
 * cores): their sizes, core order, lists and pinning */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "affinity.h"
#include "tf_test.h"

static void
test_blocks_of_the_workers_of_a_node_never_share_a_cpu(void **state)
{
    int n;
    int sharers;
    int want;

    (void)state;
    for (n = 1; n <= 17; n++)
        for (sharers = 1; sharers <= 20; sharers++)
            for (want = 0; want <= 5; want++) {
                int size = tf__cpu_block_size(n, sharers, want);

                if (size == 0)
                    continue;
                /* The last worker's block ends within the N CPUs. */
                assert_true(size * sharers <= n);
                if (want > 0)
                    assert_int_equal(size, want);
            }
}

static void
test_block_size_is_the_share_or_the_threads_asked_for(void **state)
{
    (void)state;
    assert_int_equal(tf__cpu_block_size(8, 2, 0), 4);
    assert_int_equal(tf__cpu_block_size(5, 2, 0), 2);
    assert_int_equal(tf__cpu_block_size(2, 2, 0), 1);
    assert_int_equal(tf__cpu_block_size(8, 2, 3), 3);
    assert_int_equal(tf__cpu_block_size(3, 1, 0), 3);
    assert_int_equal(tf__cpu_block_size(3, 0, 0), 3); /* unknown: alone */
}

static void
test_block_size_is_zero_when_cpus_are_fewer_than_one_each(void **state)
{
    (void)state;
    assert_int_equal(tf__cpu_block_size(2, 3, 0), 0);
    assert_int_equal(tf__cpu_block_size(4, 2, 3), 0);
    assert_int_equal(tf__cpu_block_size(2, 1, 3), 0);
    assert_int_equal(tf__cpu_block_size(0, 1, 0), 0);
}

static void
test_cpus_sort_puts_the_hardware_threads_of_a_core_together(void **state)
{
    /* Two cores of two threads, numbered as Intel does: 0,2 and 1,3. */
    int ids[] = {0, 1, 2, 3};
    long keys[] = {0, 1, 0, 1};
    /* Two packages, core ids that repeat in each; CPUs unknown (-1) go
     * first, in number order. */
    int ids2[] = {7, 4, 5, 6, 9, 8};
    long keys2[] = {(1L << 24) + 0, 0, 1, (1L << 24) + 1, -1, -1};
    const int want[] = {0, 2, 1, 3};
    const int want2[] = {8, 9, 4, 5, 7, 6};

    (void)state;
    tf__cpus_sort(ids, keys, 4);
    assert_memory_equal(ids, want, sizeof(want));
    tf__cpus_sort(ids2, keys2, 6);
    assert_memory_equal(ids2, want2, sizeof(want2));
}

static void
test_cpu_list_writes_runs_as_ranges_in_ascending_order(void **state)
{
    const int ids[] = {11, 3, 0, 1, 2, 8, 10};
    const int one[] = {5};
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 0);
    assert_int_equal(tf__cpu_list(ids, 7, &out), 0);
    assert_string_equal((const char *)out.data, "0-3,8,10-11");
    tf_buf_reset(&out);
    assert_int_equal(tf__cpu_list(one, 1, &out), 0);
    assert_string_equal((const char *)out.data, "5");
    tf_buf_reset(&out);
    assert_int_equal(tf__cpu_list(ids, 0, &out), 0);
    assert_int_equal(out.len, 0);
    tf_buf_cleanup(&out);
}

static void
test_cpus_allowed_are_those_of_the_process(void **state)
{
    int ids[CPU_SETSIZE];
    cpu_set_t set;
    int n;
    int i;

    (void)state;
    assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
    n = tf__cpus_allowed(ids, CPU_SETSIZE, NULL);
    assert_int_equal(n, CPU_COUNT(&set));
    for (i = 0; i < n; i++)
        assert_true(CPU_ISSET(ids[i], &set));
}

/* In a child, so that this process keeps its CPUs. */
static void
test_cpu_bind_pins_the_process_and_what_it_starts(void **state)
{
    int ids[CPU_SETSIZE];
    int n;
    int status;
    pid_t pid;

    (void)state;
    n = tf__cpus_allowed(ids, CPU_SETSIZE, NULL);
    assert_true(n >= 1);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cpu_set_t set;
        pid_t grandchild;

        if (tf__cpu_bind(&ids[n - 1], 1, NULL) < 0)
            _exit(10);
        grandchild = fork();
        if (grandchild == 0) {
            CPU_ZERO(&set);
            if (sched_getaffinity(0, sizeof(set), &set) < 0 ||
                CPU_COUNT(&set) != 1 || !CPU_ISSET(ids[n - 1], &set))
                _exit(11);
            _exit(0);
        }
        if (grandchild < 0 || waitpid(grandchild, &status, 0) != grandchild)
            _exit(12);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 13);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_of_the_workers_of_a_node_never_share_a_cpu),
        cmocka_unit_test(test_block_size_is_the_share_or_the_threads_asked_for),
        cmocka_unit_test(
            test_block_size_is_zero_when_cpus_are_fewer_than_one_each),
        cmocka_unit_test(
            test_cpus_sort_puts_the_hardware_threads_of_a_core_together),
        cmocka_unit_test(
            test_cpu_list_writes_runs_as_ranges_in_ascending_order),
        cmocka_unit_test(test_cpus_allowed_are_those_of_the_process),
        cmocka_unit_test(test_cpu_bind_pins_the_process_and_what_it_starts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
