/* test_history.c - unit tests of --history: runtimes of an earlier run */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "error.h"
#include "tool_history.h"
#include "results.h"
#include "tf_test.h"

/* Writes TEXT to a fresh temporary file whose name goes to PATH (40 B). */
static void
temp_file(char *path, const char *text)
{
    int fd;

    strcpy(path, "/tmp/tf_test_history_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

#define HEADER "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"

static void
test_joblog(void **state)
{
    struct tf__history *h = NULL;
    struct tf_error err;
    char path[40];
    bool known;

    (void)state;
    temp_file(path, HEADER
              "1\th\t1700000000.000\t2.500\t0\t0\t0\t0\tsleep 2.5\n"
              "2\th\t1700000000.000\t0.125\t0\t0\t1\t0\tfalse\n"
              "3\th\t1700000000.000\t1.000\t0\t0\t0\t0\tsleep 1\n"
              "3\th\t1700000001.000\t4.000\t0\t0\t0\t0\tsleep 1\n");
    assert_int_equal(tf__history_load(path, &h, &err), 0);
    assert_int_equal(tf__history_count(h), 4);
    /* By text first, whatever the task number now is. */
    assert_int_equal(tf__history_get(h, 99, "sleep 2.5", 9, &known), 2500000);
    assert_true(known);
    /* A task recorded twice (a retry, a resumed run) keeps the last. */
    assert_int_equal(tf__history_get(h, 3, "sleep 1", 7, &known), 4000000);
    /* Failed tasks count: a runtime is a runtime. */
    assert_int_equal(tf__history_get(h, 2, "false", 5, &known), 125000);
    /* Unknown text: the task number's record. */
    assert_int_equal(tf__history_get(h, 1, "other", 5, &known), 2500000);
    assert_true(known);
    /* Neither: the mean of all records, and not known. */
    assert_int_equal(tf__history_get(h, 50, "new", 3, &known),
                     (2500000 + 125000 + 1000000 + 4000000) / 4);
    assert_false(known);
    tf__history_free(h);
    unlink(path);
}

static void
test_joblog_torn_and_bad(void **state)
{
    struct tf__history *h = NULL;
    struct tf_error err;
    char path[40];

    (void)state;
    /* A last line without its newline (a killed run) is ignored. */
    temp_file(path, HEADER "1\th\t1\t2.0\t0\t0\t0\t0\ta\n2\th\t1\t3.0\t0");
    assert_int_equal(tf__history_load(path, &h, &err), 0);
    assert_int_equal(tf__history_count(h), 1);
    tf__history_free(h);
    unlink(path);
    /* Anything else that is not a joblog line names the file and line. */
    temp_file(path, HEADER "1\th\t1\t2.0\t0\t0\t0\t0\ta\n2\th\t1\tslow\t0\t0\t0\t0\tb\n");
    assert_int_equal(tf__history_load(path, &h, &err), TF_EUSAGE);
    assert_null(h);
    assert_non_null(strstr(err.msg, ":3: not a joblog line"));
    assert_non_null(strstr(err.msg, path));
    unlink(path);
    /* A missing file is the user's error, named. */
    assert_int_equal(tf__history_load("/nonexistent/h.log", &h, &err),
                     TF_EUSAGE);
    assert_non_null(strstr(err.msg, "/nonexistent/h.log"));
}

static void
test_empty(void **state)
{
    struct tf__history *h = NULL;
    struct tf_error err;
    char path[40];
    bool known = true;

    (void)state;
    temp_file(path, "");
    assert_int_equal(tf__history_load(path, &h, &err), 0);
    assert_int_equal(tf__history_count(h), 0);
    assert_int_equal(tf__history_get(h, 1, "x", 1, &known), 0);
    assert_false(known);
    tf__history_free(h);
    unlink(path);
    /* No history at all estimates nothing. */
    assert_int_equal(tf__history_get(NULL, 1, "x", 1, NULL), 0);
}

static void
test_results_file(void **state)
{
    struct tf__results *r = NULL;
    struct tf__history *h = NULL;
    struct tf__result_rec rec;
    struct tf_error err;
    char path[40];
    int fd;

    (void)state;
    strcpy(path, "/tmp/tf_test_history_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    memset(&rec, 0, sizeof(rec));
    rec.id = 7;
    rec.cmd = "task seven";
    rec.cmd_len = strlen(rec.cmd);
    rec.hash = tf__task_hash(rec.cmd, rec.cmd_len);
    rec.runtime_us = 1234567;
    rec.attempt = 1;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    assert_int_equal(tf__history_load(path, &h, &err), 0);
    assert_int_equal(tf__history_count(h), 1);
    assert_int_equal(tf__history_get(h, 1, "task seven", 10, NULL), 1234567);
    assert_int_equal(tf__history_get(h, 7, "changed", 7, NULL), 1234567);
    tf__history_free(h);
    unlink(path);
}

/* Adds a task record of task ID with text CMD and PEAK bytes to R. */
static void
add_peak(struct tf__results *r, uint64_t id, const char *cmd, uint64_t peak)
{
    struct tf__result_rec rec;
    struct tf_error err;

    memset(&rec, 0, sizeof(rec));
    rec.id = id;
    rec.cmd = cmd;
    rec.cmd_len = strlen(cmd);
    rec.hash = tf__task_hash(cmd, rec.cmd_len);
    rec.runtime_us = 1000;
    rec.peak_bytes = peak;
    rec.attempt = 1;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
}

static void
test_results_file_estimates_memory_as_it_estimates_time(void **state)
{
    struct tf__results *r = NULL;
    struct tf__history *h = NULL;
    struct tf_error err;
    char path[40];

    (void)state;
    tf_test_temp_path(path, "history");
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    add_peak(r, 1, "small", 100 << 20);
    add_peak(r, 2, "big", (uint64_t)3 << 30);
    add_peak(r, 3, "in-process", 0); /* not measured */
    add_peak(r, 2, "big", (uint64_t)2 << 30); /* run again: the last */
    assert_int_equal(tf__results_close(r, &err), 0);
    assert_int_equal(tf__history_load(path, &h, &err), 0);
    /* By text, whatever the task number now is, the last record's. */
    assert_true(tf__history_mem(h, 9, "big", 3) == (uint64_t)2 << 30);
    assert_true(tf__history_mem(h, 9, "small", 5) == 100 << 20);
    /* By number when the text is new. */
    assert_true(tf__history_mem(h, 1, "changed", 7) == 100 << 20);
    /* Unknown, or known without a peak: the mean of the peaks recorded
     * (the records with none do not count). */
    assert_true(tf__history_mem(h, 50, "new", 3) ==
                ((uint64_t)(100 << 20) + ((uint64_t)3 << 30) +
                 ((uint64_t)2 << 30)) / 3);
    assert_true(tf__history_mem(h, 3, "in-process", 10) ==
                tf__history_mem(h, 50, "new", 3));
    tf__history_free(h);
    unlink(path);
    assert_int_equal(tf__history_mem(NULL, 1, "x", 1), 0);
}

static void
test_joblog_estimates_no_memory(void **state)
{
    struct tf__history *h = NULL;
    struct tf_error err;
    char path[40];

    (void)state;
    temp_file(path, HEADER "1\th\t1700000000.000\t2.500\t0\t0\t0\t0\tx\n");
    assert_int_equal(tf__history_load(path, &h, &err), 0);
    assert_int_equal(tf__history_mem(h, 1, "x", 1), 0);
    assert_int_equal(tf__history_mem(h, 2, "y", 1), 0);
    tf__history_free(h);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joblog),
        cmocka_unit_test(test_joblog_torn_and_bad),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_results_file),
        cmocka_unit_test(
            test_results_file_estimates_memory_as_it_estimates_time),
        cmocka_unit_test(test_joblog_estimates_no_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
