/* test_report.c - unit tests of `taskfarm report` */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "tool_report.h"
#include "results.h"
#include "tf_test.h"
#include "util.h"

/* ------------------------------------------------------------- helpers */

/* A fresh path for a file that does not exist yet (PATH: 40 bytes). */
static void
temp_path(char *path)
{
    tf_test_temp_path(path, "report");
}

#define HEADER                                                                 \
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\t"       \
    "Command\n"

/* Loads TEXT as a joblog into *R (analysed); returns the load's code, with
 * the message in ERR. */
static int
load_text(const char *text, struct tf__report **r, struct tf_error *err)
{
    char path[40];
    int rc;

    temp_path(path);
    tf_test_write_file(path, text, strlen(text));
    tf_error_init(err);
    rc = tf__report_load(path, r, err);
    unlink(path);
    if (rc == 0)
        assert_int_equal(tf__report_analyse(*r, err), 0);
    return rc;
}

/* The record of task SEQ (the only one). */
static const struct tf__report_task *
task(const struct tf__report *r, uint64_t seq)
{
    const struct tf__report_task *found = NULL;
    size_t i;

    for (i = 0; i < r->n; i++) {
        if (r->t[i].seq == seq) {
            assert_null(found);
            found = &r->t[i];
        }
    }
    assert_non_null(found);
    return found;
}

static const char *
cmd_of(const struct tf__report *r, const struct tf__report_task *t)
{
    static char b[TF__REPORT_CMD_KEEP + 1];
    size_t n =
        t->cmd_len < TF__REPORT_CMD_KEEP ? t->cmd_len : TF__REPORT_CMD_KEEP;

    memcpy(b, r->cmds.data + t->cmd_off, n);
    b[n] = '\0';
    return b;
}

static size_t
count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* ------------------------------------------------------------- joblogs */

static void
test_joblog_lines_are_read_field_by_field(void **state)
{
    struct tf__report *r;
    struct tf_error err;
    const struct tf__report_task *t;

    (void)state;
    /* As taskfarm writes them: the runtime right-aligned, a TAB inside a
     * command, a host name. */
    assert_int_equal(
        load_text(HEADER "1\tnode7\t1700000000.125\t     0.500\t12\t3\t0\t0\t"
                         "echo a\tb\n"
                         "2\tnode7\t1700000000.250\t    12.003\t0\t0\t-1\t9\t"
                         "sleep 99\n",
                  &r, &err),
        0);
    assert_int_equal(r->n, 2);
    assert_false(r->results);
    assert_int_equal(r->lines, 3);
    t = task(r, 1);
    assert_int_equal(t->start_us, 1700000000125000);
    assert_int_equal(t->runtime_us, 500000);
    assert_int_equal(t->status, 0);
    assert_int_equal(t->flags & TF__REPORT_FAILED, 0);
    assert_string_equal(cmd_of(r, t), "echo a\tb");
    assert_string_equal(r->hosts[t->host], "node7");
    t = task(r, 2);
    assert_int_equal(t->start_us, 1700000000250000);
    assert_int_equal(t->runtime_us, 12003000);
    assert_int_equal(t->status, -1);
    assert_int_equal(t->signal, 9);
    assert_int_equal(t->flags & TF__REPORT_FAILED, TF__REPORT_FAILED);
    assert_string_equal(cmd_of(r, t), "sleep 99");
    tf__report_free(r);
}

static void
test_joblog_of_gnu_parallel_is_read(void **state)
{
    struct tf__report *r;
    struct tf_error err;

    (void)state;
    /* Written by GNU Parallel 20221122 (parallel --joblog): host ":", the
     * lines in the order the tasks ended. */
    assert_int_equal(
        load_text(
            HEADER
            "2\t:\t1796278384.050\t     0.003\t0\t0\t3\t0\texit 3\n"
            "3\t:\t1796278384.057\t     0.004\t0\t4\t0\t0\techo \"a\tb\"\n"
            "4\t:\t1796278384.064\t     0.004\t0\t0\t0\t9\tkill -9 $$\n"
            "1\t:\t1796278384.047\t     0.100\t0\t0\t0\t0\tsleep 0.1\n",
            &r, &err),
        0);
    assert_int_equal(r->stats.tasks, 4);
    assert_int_equal(r->stats.failed, 2);
    assert_int_equal(r->stats.workers, 2);
    assert_int_equal(r->nhosts, 1);
    assert_string_equal(r->hosts[0], ":");
    assert_int_equal(r->stats.start_us, 1796278384047000);
    assert_int_equal(r->stats.end_us, 1796278384147000);
    assert_int_equal(task(r, 4)->signal, 9);
    assert_string_equal(cmd_of(r, task(r, 3)), "echo \"a\tb\"");
    tf__report_free(r);
}

/* LINE as line 3 of a joblog fails to load with a message naming the file,
 * line 3 and SAYS. */
static void
bad_line(const char *line, const char *says)
{
    char text[512];
    char path[40];
    char want[80];
    struct tf__report *r = (struct tf__report *)1;
    struct tf_error err;

    snprintf(text, sizeof(text),
             HEADER "1\th\t100.000\t1.000\t0\t0\t0\t0\ttrue\n%s\n"
                    "3\th\t100.000\t1.000\t0\t0\t0\t0\ttrue\n",
             line);
    temp_path(path);
    tf_test_write_file(path, text, strlen(text));
    tf_error_init(&err);
    assert_int_equal(tf__report_load(path, &r, &err), TF_EINPUT);
    assert_null(r);
    snprintf(want, sizeof(want), "%s:3: not a joblog line: ", path);
    if (strstr(err.msg, want) == NULL || strstr(err.msg, says) == NULL)
        fail_msg("'%s' lacks '%s' or '%s'", err.msg, want, says);
    assert_null(strchr(err.msg, '\n'));
    unlink(path);
}

static void
test_malformed_joblog_line_is_einput_naming_file_line_and_field(void **state)
{
    (void)state;
    bad_line("2\th\t100.000\t1.000\t0\t0\t0\t0", "fewer than 9");
    bad_line("just some text", "fewer than 9");
    bad_line("x\th\t100.000\t1.000\t0\t0\t0\t0\ttrue", "Seq");
    bad_line("0\th\t100.000\t1.000\t0\t0\t0\t0\ttrue", "Seq");
    bad_line("2\th\t1e9\t1.000\t0\t0\t0\t0\ttrue", "Starttime");
    bad_line("2\th\t-5.0\t1.000\t0\t0\t0\t0\ttrue", "Starttime");
    bad_line("2\th\t\t1.000\t0\t0\t0\t0\ttrue", "Starttime");
    bad_line("2\th\t100.000\t1.0.0\t0\t0\t0\t0\ttrue", "JobRuntime");
    bad_line("2\th\t100.000\t-1\t0\t0\t0\t0\ttrue", "JobRuntime");
    bad_line("2\th\t100.000\t1.000\tx\t0\t0\t0\ttrue", "Send");
    bad_line("2\th\t100.000\t1.000\t0\t-4\t0\t0\ttrue", "Receive");
    bad_line("2\th\t100.000\t1.000\t0\t0\t9999999999\t0\ttrue", "Exitval");
    bad_line("2\th\t100.000\t1.000\t0\t0\t0\tKILL\ttrue", "Signal");
}

static void
test_headers_and_empty_lines_are_skipped(void **state)
{
    struct tf__report *r;
    struct tf_error err;

    (void)state;
    /* Two joblogs put together, an empty line, a CRLF line. */
    assert_int_equal(load_text(HEADER "1\th\t100.0\t1\t0\t0\t0\t0\ta\n"
                                      "\n" HEADER
                                      "2\th\t101.0\t1\t0\t0\t0\t0\tb\r\n",
                               &r, &err),
                     0);
    assert_int_equal(r->n, 2);
    assert_string_equal(cmd_of(r, task(r, 2)), "b");
    assert_int_equal(r->torn_bytes, 0);
    tf__report_free(r);
}

static void
test_torn_last_line_is_left_out_and_a_whole_one_taken(void **state)
{
    struct tf__report *r;
    struct tf_error err;

    (void)state;
    assert_int_equal(load_text(HEADER "1\th\t100.0\t1\t0\t0\t0\t0\ta\n"
                                      "2\th\t101.0\t1\t0",
                               &r, &err),
                     0);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->torn_bytes, strlen("2\th\t101.0\t1\t0"));
    tf__report_free(r);
    /* Whole but for its newline: taken. */
    assert_int_equal(load_text(HEADER "1\th\t100.0\t1\t0\t0\t0\t0\ta\n"
                                      "2\th\t101.0\t1\t0\t0\t0\t0\tb",
                               &r, &err),
                     0);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->torn_bytes, 0);
    tf__report_free(r);
}

static void
test_missing_and_unreadable_inputs_are_einput_naming_them(void **state)
{
    struct tf__report *r = NULL;
    struct tf_error err;
    char path[40];

    (void)state;
    temp_path(path);
    tf_error_init(&err);
    assert_int_equal(tf__report_load(path, &r, &err), TF_EINPUT);
    assert_null(r);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file"));
    assert_int_equal(tf__report_load("/tmp", &r, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "/tmp: not a regular file"));
    /* Binary junk is not a joblog. */
    tf_test_write_file(path, "\x89PNG\r\n\x1a\n\0\0", 10);
    assert_int_equal(tf__report_load(path, &r, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, ":1: not a joblog line"));
    /* A results file of another format version is refused. */
    tf_test_write_file(path, "TFRESULT\x63\0\0\0\0\0\0\0", 16);
    assert_int_equal(tf__report_load(path, &r, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "version 99"));
    unlink(path);
}

static void
test_empty_log_gives_a_report_of_no_tasks(void **state)
{
    static const char *const texts[] = {"", HEADER};
    struct tf__report_opts opts = {NULL, 10, 50};
    struct tf__report *r;
    struct tf_error err;
    struct tf_buf b;
    size_t i;

    (void)state;
    tf_buf_init(&b, 0);
    for (i = 0; i < 2; i++) {
        assert_int_equal(load_text(texts[i], &r, &err), 0);
        assert_int_equal(r->n, 0);
        assert_int_equal(r->stats.tasks, 0);
        assert_int_equal(r->stats.workers, 0);
        assert_int_equal(r->stats.makespan_us, 0);
        tf_buf_reset(&b);
        assert_int_equal(tf__report_html(r, &opts, &b), 0);
        assert_non_null(strstr((char *)b.data, "no task records"));
        assert_non_null(strstr((char *)b.data, "id=\"timeline\""));
        assert_non_null(strstr((char *)b.data, "id=\"busy\""));
        assert_non_null(strstr((char *)b.data, "id=\"histogram\""));
        tf_buf_reset(&b);
        assert_int_equal(tf__report_txt(r, &opts, &b), 0);
        assert_non_null(strstr((char *)b.data, "\ntasks             0\n"));
        assert_non_null(strstr((char *)b.data, "\nefficiency        -\n"));
        tf__report_free(r);
    }
    tf_buf_cleanup(&b);
}

static void
test_run_of_no_duration_gives_a_page(void **state)
{
    struct tf__report_opts opts = {NULL, 10, 50};
    struct tf__report *r;
    struct tf_error err;
    struct tf_buf b;

    (void)state;
    /* One task of 0 s: a makespan of 0, every time scale empty. */
    assert_int_equal(load_text(HEADER "1\th\t5\t0\t0\t0\t0\t0\tz\n", &r, &err),
                     0);
    assert_int_equal(r->stats.makespan_us, 0);
    tf_buf_init(&b, 0);
    assert_int_equal(tf__report_html(r, &opts, &b), 0);
    assert_true(b.len < 100000);
    assert_int_equal(count_of((char *)b.data, "<svg id=\""), 3);
    /* No coordinate is NaN or infinite. */
    assert_null(strstr((char *)b.data, "nan\""));
    assert_null(strstr((char *)b.data, "inf\""));
    tf_buf_cleanup(&b);
    tf__report_free(r);
}

/* --------------------------------------------------------------- lanes */

static void
test_each_task_takes_the_lane_that_became_free_last(void **state)
{
    struct tf__report *r;
    struct tf_error err;

    (void)state;
    /* a, b, c start together; a ends first (105), then c (110). d and e at
     * 112 find lanes 0 and 2 free: d takes 2, free since 110, e takes 0;
     * f, also at 112, needs a new lane, as b runs until 130. */
    assert_int_equal(load_text(HEADER "1\th\t100\t5\t0\t0\t0\t0\ta\n"
                                      "2\th\t100\t30\t0\t0\t0\t0\tb\n"
                                      "3\th\t100\t10\t0\t0\t0\t0\tc\n"
                                      "4\th\t112\t1\t0\t0\t0\t0\td\n"
                                      "5\th\t112\t1\t0\t0\t0\t0\te\n"
                                      "6\th\t112\t1\t0\t0\t0\t0\tf\n",
                               &r, &err),
                     0);
    assert_int_equal(task(r, 1)->lane, 0);
    assert_int_equal(task(r, 2)->lane, 1);
    assert_int_equal(task(r, 3)->lane, 2);
    assert_int_equal(task(r, 4)->lane, 2);
    assert_int_equal(task(r, 5)->lane, 0);
    assert_int_equal(task(r, 6)->lane, 3);
    assert_int_equal(r->stats.workers, 4);
    tf__report_free(r);
    /* Of lanes free since the same time, the lowest-numbered. */
    assert_int_equal(load_text(HEADER "1\th\t100\t5\t0\t0\t0\t0\ta\n"
                                      "2\th\t100\t5\t0\t0\t0\t0\tb\n"
                                      "3\th\t106\t1\t0\t0\t0\t0\tc\n",
                               &r, &err),
                     0);
    assert_int_equal(task(r, 3)->lane, 0);
    tf__report_free(r);
}

static void
test_lanes_are_rebuilt_per_host(void **state)
{
    struct tf__report *r;
    struct tf_error err;
    const struct tf__report_task *t;

    (void)state;
    assert_int_equal(load_text(HEADER "1\tA\t100\t10\t0\t0\t0\t0\ta\n"
                                      "2\tB\t100\t10\t0\t0\t0\t0\tb\n"
                                      "3\tA\t100\t10\t0\t0\t0\t0\tc\n",
                               &r, &err),
                     0);
    assert_int_equal(r->stats.workers, 3);
    t = task(r, 2);
    assert_string_equal(r->hosts[r->lane_host[t->lane]], "B");
    assert_int_equal(r->lane_worker[t->lane], 0);
    assert_true(task(r, 1)->lane != task(r, 3)->lane);
    assert_string_equal(r->hosts[r->lane_host[task(r, 3)->lane]], "A");
    tf__report_free(r);
}

static void
test_joblog_lane_is_free_within_the_rounding_slack(void **state)
{
    struct tf__report *r;
    struct tf_error err;

    (void)state;
    /* 1 ends 1 ms after 2 starts: rounding, the same worker. 4 starts 3 ms
     * before 3 ends: another worker. */
    assert_int_equal(load_text(HEADER "1\th\t200.000\t1.001\t0\t0\t0\t0\ta\n"
                                      "2\th\t201.000\t1.000\t0\t0\t0\t0\tb\n"
                                      "3\tg\t300.000\t1.000\t0\t0\t0\t0\tc\n"
                                      "4\tg\t300.997\t1.000\t0\t0\t0\t0\td\n",
                               &r, &err),
                     0);
    assert_int_equal(task(r, 1)->lane, task(r, 2)->lane);
    assert_true(task(r, 3)->lane != task(r, 4)->lane);
    assert_int_equal(r->stats.workers, 3);
    tf__report_free(r);
}

/* Writes a results file at PATH of N records: task I+1 on worker W[I],
 * starting at S[I] seconds for D[I] seconds, exit status X[I]. */
static void
write_results(const char *path, size_t n, const int *w, const double *s,
              const double *d, const int *x)
{
    struct tf__results *res;
    struct tf__result_rec rec;
    struct tf_error err;
    size_t i;

    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &res, &err), 0);
    for (i = 0; i < n; i++) {
        memset(&rec, 0, sizeof(rec));
        rec.id = i + 1;
        rec.attempt = 1;
        rec.worker = w[i];
        rec.start_us = 1700000000000000 + (int64_t)(s[i] * 1e6);
        rec.runtime_us = (uint64_t)(d[i] * 1e6);
        rec.status = x[i];
        rec.host = "n1";
        rec.host_len = 2;
        rec.cmd = "work";
        rec.cmd_len = 4;
        assert_int_equal(tf__results_add(res, &rec, &err), 0);
    }
    assert_int_equal(tf__results_close(res, &err), 0);
}

static void
test_results_file_lanes_are_its_workers(void **state)
{
    static const int w[] = {5, 2, 5, 9};
    static const int w2[] = {5, -1, 5, 9};
    static const double s[] = {0, 0, 1, 0};
    static const double d[] = {1, 2, 1, 2};
    static const int x[] = {0, 0, 1, 0};
    struct tf__report *r;
    struct tf_error err;
    char path[40];

    (void)state;
    temp_path(path);
    write_results(path, 4, w, s, d, x);
    tf_error_init(&err);
    assert_int_equal(tf__report_load(path, &r, &err), 0);
    assert_true(r->results);
    assert_int_equal(tf__report_analyse(r, &err), 0);
    assert_int_equal(r->stats.workers, 3);
    assert_int_equal(r->lane_worker[task(r, 1)->lane], 5);
    assert_int_equal(r->lane_worker[task(r, 2)->lane], 2);
    assert_int_equal(task(r, 1)->lane, task(r, 3)->lane);
    assert_int_equal(task(r, 2)->lane, 0);
    assert_int_equal(task(r, 4)->lane, 2);
    assert_int_equal(r->stats.failed, 1);
    assert_true(task(r, 3)->flags & TF__REPORT_FAILED);
    tf__report_free(r);
    /* A record of no known worker: laid out like a joblog. Tasks 1, 2 and
     * 4 start together, 3 follows 1. */
    unlink(path);
    write_results(path, 4, w2, s, d, x);
    assert_int_equal(tf__report_load(path, &r, &err), 0);
    assert_int_equal(tf__report_analyse(r, &err), 0);
    assert_int_equal(r->stats.workers, 3);
    assert_int_equal(task(r, 1)->lane, 0);
    assert_int_equal(task(r, 3)->lane, 0);
    assert_int_equal(task(r, 2)->lane, 1);
    assert_int_equal(task(r, 4)->lane, 2);
    tf__report_free(r);
    unlink(path);
}

/* ------------------------------------------------- CPU time and memory */

static void
test_results_file_gives_cpu_time_memory_and_out_of_memory(void **state)
{
    static const uint64_t peak[] = {100u << 20, (uint64_t)3 << 30, 0,
                                    200u << 20, 300u << 20};
    struct tf__report_opts opts = {NULL, 10, 50};
    struct tf__results *res;
    struct tf__result_rec rec;
    struct tf__report *r;
    struct tf_error err;
    struct tf_buf b;
    char path[40];
    size_t i;

    (void)state;
    temp_path(path);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &res, &err), 0);
    for (i = 0; i < 5; i++) {
        memset(&rec, 0, sizeof(rec));
        rec.id = i + 1;
        rec.attempt = 1;
        rec.worker = (int32_t)(i % 2);
        rec.start_us = 1700000000000000 + (int64_t)i * 1000000;
        rec.runtime_us = 2000000;
        rec.cpu_us = peak[i] > 0 ? 1500000 : 0;
        rec.peak_bytes = peak[i];
        rec.host = "n1";
        rec.host_len = 2;
        rec.cmd = "work";
        rec.cmd_len = 4;
        if (i == 4) { /* the killer's */
            rec.status = 137;
            rec.flags = TF__REC_OOM;
        }
        assert_int_equal(tf__results_add(res, &rec, &err), 0);
    }
    assert_int_equal(tf__results_close(res, &err), 0);
    assert_int_equal(tf__report_load(path, &r, &err), 0);
    assert_int_equal(tf__report_analyse(r, &err), 0);
    /* The run of no peak (an in-process task) does not count. */
    assert_int_equal(r->stats.measured, 4);
    assert_true(r->stats.cpu_s > 5.99 && r->stats.cpu_s < 6.01);
    assert_true(r->stats.peak_median_bytes == 200u << 20);
    assert_true(r->stats.peak_max_bytes == (uint64_t)3 << 30);
    assert_int_equal(r->stats.oom, 1);
    assert_true(task(r, 5)->flags & TF__REPORT_OOM);
    assert_true(task(r, 5)->flags & TF__REPORT_FAILED);
    assert_false(task(r, 4)->flags & TF__REPORT_OOM);
    tf_buf_init(&b, 0);
    assert_int_equal(tf__report_txt(r, &opts, &b), 0);
    assert_non_null(
        strstr((char *)b.data, "\nCPU time          6.000 s (60%)\n"));
    assert_non_null(strstr((char *)b.data, "\nmedian memory     200 MiB\n"));
    assert_non_null(strstr((char *)b.data, "\nmax memory        3.00 GiB\n"));
    assert_non_null(strstr((char *)b.data, "\nout of memory     1\n"));
    assert_non_null(strstr((char *)b.data, " CPU     memory  worker "));
    assert_non_null(strstr((char *)b.data, "    1.500 s   3.00 GiB  "));
    assert_non_null(strstr((char *)b.data, "    0.000 s          -  "));
    assert_non_null(strstr((char *)b.data, "    1.500 s        OOM  "));
    tf_buf_reset(&b);
    assert_int_equal(tf__report_html(r, &opts, &b), 0);
    assert_int_equal(count_of((char *)b.data, "<svg id=\"memory\""), 1);
    /* Above 1 GiB the chart counts in GiB. */
    assert_non_null(strstr((char *)b.data, ">GiB</text>"));
    assert_non_null(strstr((char *)b.data, "<th class=\"n\">memory</th>"));
    tf_buf_cleanup(&b);
    tf__report_free(r);
    unlink(path);
}

/* ------------------------------------------------------------- numbers */

static void
test_numbers_of_a_small_run_are_exact(void **state)
{
    struct tf__report *r;
    struct tf_error err;
    const struct tf__report_stats *s;

    (void)state;
    /* Lane 0 runs 1 (0-4 s) and 3 (4-6 s), lane 1 runs 2 (0-3 s): makespan
     * 6 s, task time 9 s, efficiency 9 / (2 x 6), and lane 1 is idle from
     * 3 s, a tail of 3 s. */
    assert_int_equal(load_text(HEADER "1\th\t1000.000\t4.000\t0\t0\t0\t0\ta\n"
                                      "2\th\t1000.000\t3.000\t0\t0\t0\t0\tb\n"
                                      "3\th\t1004.000\t2.000\t0\t0\t1\t0\tc\n",
                               &r, &err),
                     0);
    s = &r->stats;
    assert_int_equal(s->tasks, 3);
    assert_int_equal(s->runs, 3);
    assert_int_equal(s->failed, 1);
    assert_int_equal(s->workers, 2);
    assert_int_equal(task(r, 3)->lane, 0);
    assert_int_equal(s->start_us, 1000000000);
    assert_int_equal(s->end_us, 1006000000);
    assert_int_equal(s->makespan_us, 6000000);
    assert_true(s->total_s > 8.999999 && s->total_s < 9.000001);
    assert_true(s->efficiency > 0.749999 && s->efficiency < 0.750001);
    assert_int_equal(s->tail_us, 3000000);
    assert_int_equal(s->mean_us, 3000000);
    assert_int_equal(s->median_us, 3000000);
    assert_int_equal(s->p95_us, 4000000);
    assert_int_equal(s->max_us, 4000000);
    assert_int_equal(s->min_us, 2000000);
    assert_true(s->runs_per_s > 0.499999 && s->runs_per_s < 0.500001);
    tf__report_free(r);
}

static void
test_tail_starts_when_the_first_worker_ran_out_of_tasks(void **state)
{
    struct tf__report *r;
    struct tf_error err;

    (void)state;
    /* One worker ran 1 (0-1 s) and then had no more tasks; the other ran 2
     * (0-5 s), then 3 (5-6 s): 3 goes to 2's lane, which became free last,
     * and the tail is 5 s. (The lowest-numbered free lane would put 3 on
     * lane 0 and make the tail 1 s.) */
    assert_int_equal(load_text(HEADER "1\th\t100\t1\t0\t0\t0\t0\ta\n"
                                      "2\th\t100\t5\t0\t0\t0\t0\tb\n"
                                      "3\th\t105\t1\t0\t0\t0\t0\tc\n",
                               &r, &err),
                     0);
    assert_int_equal(task(r, 3)->lane, task(r, 2)->lane);
    assert_int_equal(r->stats.workers, 2);
    assert_int_equal(r->stats.tail_us, 5000000);
    tf__report_free(r);
    /* A task starting as another ends, within the slack, continues its
     * lane: both lanes run to the end, no tail. */
    assert_int_equal(load_text(HEADER "1\th\t100.000\t2.001\t0\t0\t0\t0\ta\n"
                                      "2\th\t100.000\t4.000\t0\t0\t0\t0\tb\n"
                                      "3\th\t102.000\t2.000\t0\t0\t0\t0\tc\n",
                               &r, &err),
                     0);
    assert_int_equal(r->stats.workers, 2);
    assert_int_equal(r->stats.tail_us, 0);
    tf__report_free(r);
}

static void
test_last_record_of_a_task_decides_whether_it_failed(void **state)
{
    struct tf__report *r;
    struct tf_error err;

    (void)state;
    /* A resumed run appended: 1 failed then succeeded, 2 succeeded then
     * failed (--resume-failed ran it again), 3 ran once. */
    assert_int_equal(load_text(HEADER "1\th\t100\t1\t0\t0\t1\t0\ta\n"
                                      "2\th\t100\t1\t0\t0\t0\t0\tb\n"
                                      "3\th\t100\t1\t0\t0\t0\t0\tc\n"
                                      "1\th\t200\t2\t0\t0\t0\t0\ta\n"
                                      "2\th\t200\t2\t0\t0\t0\t15\tb\n",
                               &r, &err),
                     0);
    assert_int_equal(r->stats.tasks, 3);
    assert_int_equal(r->stats.runs, 5);
    assert_int_equal(r->stats.failed, 1);
    assert_int_equal(r->stats.failed_runs, 2);
    assert_int_equal(r->stats.makespan_us, 102000000);
    assert_true(r->stats.total_s > 6.99999 && r->stats.total_s < 7.00001);
    tf__report_free(r);
}

/* ------------------------------------------------------------ the page */

static void
test_html_escape_of_specials_controls_and_bad_utf8(void **state)
{
    struct tf_buf b;

    (void)state;
    tf_buf_init(&b, 0);
    assert_int_equal(tf__report_html_escape(&b, "<a href='x'>&\"</a>", 18), 0);
    assert_string_equal((char *)b.data,
                        "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
    tf_buf_reset(&b);
    /* é and € pass, a TAB passes; \x01, DEL, a lone \xff, a cut \xe2\x82
     * and an overlong \xc0\xaf are shown as bytes. */
    assert_int_equal(
        tf__report_html_escape(
            &b, "\xc3\xa9\xe2\x82\xac\t\x01\x7f\xff\xe2\x82 \xc0\xaf", 14),
        0);
    assert_string_equal((char *)b.data, "\xc3\xa9\xe2\x82\xac\t"
                                        "<span class=\"x\">\\x01</span>"
                                        "<span class=\"x\">\\x7f</span>"
                                        "<span class=\"x\">\\xff</span>"
                                        "<span class=\"x\">\\xe2</span>"
                                        "<span class=\"x\">\\x82</span> "
                                        "<span class=\"x\">\\xc0</span>"
                                        "<span class=\"x\">\\xaf</span>");
    tf_buf_reset(&b);
    /* A NUL byte does not end the text. */
    assert_int_equal(tf__report_html_escape(&b, "a\0b", 3), 0);
    assert_string_equal((char *)b.data, "a<span class=\"x\">\\x00</span>b");
    tf_buf_cleanup(&b);
}

static void
test_html_page_has_its_charts_and_escaped_commands_and_no_script(void **state)
{
    struct tf__report_opts opts = {"<T&T>", 10, 50};
    struct tf__report *r;
    struct tf_error err;
    struct tf_buf b;
    const char *p;

    (void)state;
    assert_int_equal(load_text(HEADER
                               "1\th\t100\t1\t0\t0\t0\t0\techo '<b>' & \"x\"\n"
                               "2\th\t100\t2\t0\t0\t3\t0\tfalse \x01\xff\n",
                               &r, &err),
                     0);
    tf_buf_init(&b, 0);
    assert_int_equal(tf__report_html(r, &opts, &b), 0);
    p = (const char *)b.data;
    assert_int_equal(strncmp(p, "<!DOCTYPE html>", 15), 0);
    assert_non_null(strstr(p, "<title>&lt;T&amp;T&gt;</title>"));
    assert_non_null(strstr(p, "<h1>&lt;T&amp;T&gt;</h1>"));
    assert_int_equal(count_of(p, "<svg id=\"timeline\""), 1);
    assert_int_equal(count_of(p, "<svg id=\"busy\""), 1);
    assert_int_equal(count_of(p, "<svg id=\"histogram\""), 1);
    assert_int_equal(count_of(p, "<title id=\""), 3);
    /* One bar per task run, with its command in a tooltip. */
    assert_int_equal(count_of(p, "<rect class=\"t\""), 1);
    assert_int_equal(count_of(p, "<rect class=\"tf\""), 1);
    assert_non_null(strstr(p, "echo &#39;&lt;b&gt;&#39; &amp; &quot;x&quot;"));
    /* Bytes are text in SVG (an HTML tag there would end the SVG) and
     * marked up in the tables. */
    assert_non_null(strstr(p, "false \\x01\\xff</title>"));
    assert_non_null(strstr(p, "<code>false <span class=\"x\">\\x01</span><span "
                              "class=\"x\">\\xff</span></code>"));
    assert_null(strstr(p, "echo '<b>'"));
    assert_null(strstr(p, "\x01"));
    assert_null(strstr(p, "<script"));
    /* Nothing to fetch: the only URLs are the SVG namespace's. */
    assert_int_equal(count_of(p, "http"), 3);
    assert_int_equal(count_of(p, "http://www.w3.org/2000/svg"), 3);
    assert_non_null(strstr(p, "Failed tasks (1)"));
    assert_non_null(strstr(p, "time since the first task started (s)"));
    assert_non_null(strstr(p, "task duration (s)"));
    tf_buf_cleanup(&b);
    tf__report_free(r);
}

/* A synthetic run of N records on W workers, durations from 1 ms to 100 s
 * (log-uniform), one in 20 failed. */
static struct tf__report *
synthetic(size_t n, int w)
{
    struct tf__report *r;
    struct tf_error err;
    int64_t *clock = calloc((size_t)w, sizeof(*clock));
    uint64_t x = 88172645463325252u;
    size_t i;

    assert_non_null(clock);
    assert_int_equal(tf__report_new("synthetic", &r, &err), 0);
    r->results = true;
    for (i = 0; i < n; i++) {
        struct tf__report_task t;
        char cmd[64];
        double d = 1000;
        int k;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for (k = 0; k < (int)(x % 6); k++)
            d *= 10;
        memset(&t, 0, sizeof(t));
        t.seq = i + 1;
        t.worker = (int32_t)(i % (size_t)w);
        t.start_us = 1700000000000000 + clock[t.worker];
        t.runtime_us = (uint64_t)(d * (1 + (double)(x >> 40 & 1023) / 1024));
        clock[t.worker] += (int64_t)t.runtime_us + 100;
        t.status = i % 20 == 7 ? 1 : 0;
        t.flags = t.status != 0 ? TF__REPORT_FAILED : 0;
        snprintf(cmd, sizeof(cmd), "./simulate --case %zu <in >out", i);
        assert_int_equal(
            tf__report_add(r, &t, "node1", 5, cmd, strlen(cmd), &err), 0);
    }
    free(clock);
    assert_int_equal(tf__report_analyse(r, &err), 0);
    return r;
}

static void
test_html_of_200k_task_runs_is_bounded(void **state)
{
    struct tf__report_opts opts = {NULL, 10, 50};
    struct tf__report *r = synthetic(200000, 48);
    struct tf_buf b;
    const char *p;

    (void)state;
    assert_int_equal(r->stats.workers, 48);
    assert_int_equal(r->stats.failed, 10000);
    tf_buf_init(&b, 0);
    assert_int_equal(tf__report_html(r, &opts, &b), 0);
    p = (const char *)b.data;
    /* A few shade paths, not a rectangle per task. */
    assert_true(b.len < 2 * 1024 * 1024);
    assert_true(count_of(p, "<rect") < 200);
    assert_true(count_of(p, "<path class=\"b") >= 1);
    assert_int_equal(count_of(p, "<svg id=\""), 3);
    /* The lists: 10 slowest, 50 of the failed, and a note. */
    assert_int_equal(count_of(p, "./simulate --case"), 60);
    assert_non_null(strstr(p, "Failed tasks (10000)"));
    assert_non_null(strstr(p, "The first 50, in task order"));
    tf_buf_cleanup(&b);
    tf__report_free(r);
}

static void
test_more_lanes_than_rows_share_rows(void **state)
{
    struct tf__report_opts opts = {NULL, 10, 50};
    struct tf__report *r = synthetic(20000, 1000);
    struct tf_buf b;
    const char *p;

    (void)state;
    tf_buf_init(&b, 0);
    assert_int_equal(tf__report_html(r, &opts, &b), 0);
    p = (const char *)b.data;
    assert_non_null(strstr(p, "1000 lanes shown in 200 rows"));
    /* Row names give their lanes: w0-w4, the first of 5 lanes. */
    assert_non_null(strstr(p, ">w0\xe2\x80\x93w4</text>"));
    assert_true(b.len < 2 * 1024 * 1024);
    tf_buf_cleanup(&b);
    tf__report_free(r);
}

static void
test_txt_has_the_numbers_and_the_slowest_and_failed_tasks(void **state)
{
    struct tf__report_opts opts = {NULL, 2, 1};
    struct tf__report *r;
    struct tf_error err;
    struct tf_buf b;
    const char *p;

    (void)state;
    assert_int_equal(load_text(HEADER "1\th\t1000.000\t4.000\t0\t0\t0\t0\ta\n"
                                      "2\th\t1000.000\t3.000\t0\t0\t2\t0\tb\n"
                                      "3\th\t1004.000\t2.000\t0\t0\t1\t0\t"
                                      "c\x1b[31m\n",
                               &r, &err),
                     0);
    tf_buf_init(&b, 0);
    assert_int_equal(tf__report_txt(r, &opts, &b), 0);
    p = (const char *)b.data;
    assert_non_null(strstr(p, "\ntasks             3\n"));
    assert_non_null(strstr(p, "\nfailed            2\n"));
    assert_non_null(strstr(p, "\nworkers           2\n"));
    assert_non_null(strstr(p, "\nmakespan          6.000 s\n"));
    assert_non_null(strstr(p, "\ntotal task time   9.000 s\n"));
    assert_non_null(strstr(p, "\nefficiency        75.0%\n"));
    assert_non_null(strstr(p, "\ntail              3.000 s\n"));
    assert_non_null(strstr(p, "\nmedian duration   3.000 s\n"));
    assert_non_null(strstr(p, "\ntasks/s           0.50\n"));
    assert_non_null(strstr(p, "\nslowest 2 task runs:\n"));
    assert_non_null(strstr(p, "\nfailed tasks (2, the first 1):\n"));
    /* 1 then 2 are the slowest; of the failed, 2 is first. */
    assert_true(strstr(p, " a\n") < strstr(p, " b\n"));
    assert_int_equal(count_of(p, " b\n"), 2);
    assert_null(strstr(p, " c\\x1b"));
    tf_buf_cleanup(&b);
    /* A terminal escape is shown, not sent. */
    opts.failed = 5;
    tf_buf_init(&b, 0);
    assert_int_equal(tf__report_txt(r, &opts, &b), 0);
    assert_non_null(strstr((char *)b.data, " c\\x1b[31m\n"));
    assert_null(strchr((char *)b.data, '\x1b'));
    tf_buf_cleanup(&b);
    tf__report_free(r);
}

static void
test_a_cut_command_ends_at_a_character_boundary(void **state)
{
    struct tf__report_opts opts = {NULL, 1, 0};
    struct tf__report *r;
    struct tf_error err;
    struct tf__report_task t;
    char cmd[300];
    struct tf_buf b;

    (void)state;
    /* "é" (2 bytes) at bytes 255-256 straddles the cut at 256. */
    memset(cmd, 'a', sizeof(cmd));
    cmd[255] = '\xc3';
    cmd[256] = '\xa9';
    memset(&t, 0, sizeof(t));
    t.seq = 1;
    t.runtime_us = 1;
    assert_int_equal(tf__report_new("x", &r, &err), 0);
    assert_int_equal(tf__report_add(r, &t, "h", 1, cmd, sizeof(cmd), &err), 0);
    assert_int_equal(tf__report_analyse(r, &err), 0);
    tf_buf_init(&b, 0);
    assert_int_equal(tf__report_txt(r, &opts, &b), 0);
    assert_non_null(strstr((char *)b.data, "aaaa\xe2\x80\xa6 [300 bytes]\n"));
    assert_null(strstr((char *)b.data, "\\xc3"));
    tf_buf_cleanup(&b);
    tf__report_free(r);
}

/* ------------------------------------------------- `taskfarm report` */

/* Runs tf__report_main with ARGS (NULL-terminated) and its standard output
 * and error in OUT and ERR. Returns its exit status. */
static int
run_main(const char *const *args, struct tf_buf *out, struct tf_buf *err)
{
    return tf_test_run_main(tf__report_main, args, out, err);
}

/* Exactly one line in B. */
static void
one_line(const struct tf_buf *b)
{
    const char *nl = strchr((const char *)b->data, '\n');

    assert_non_null(nl);
    assert_int_equal((size_t)(nl - (const char *)b->data) + 1, b->len);
}

/* ARGS exit with STATUS, nothing on stdout and one line holding SAYS on
 * stderr. */
static void
main_fails(const char *const *args, int status, const char *says)
{
    struct tf_buf out;
    struct tf_buf err;

    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    assert_int_equal(run_main(args, &out, &err), status);
    assert_int_equal(out.len, 0);
    one_line(&err);
    if (strstr((const char *)err.data, says) == NULL)
        fail_msg("'%s' lacks '%s'", (const char *)err.data, says);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
}

#define SMALL_LOG HEADER "1\th\t100\t1\t0\t0\t0\t0\ta\n"

static void
test_report_main_usage_and_input_errors_exit_2_with_one_line(void **state)
{
    char path[40];
    char dir[48];
    char bad[80];

    (void)state;
    temp_path(path);
    tf_test_write_file(path, SMALL_LOG, strlen(SMALL_LOG));
    main_fails((const char *const[]){"report", NULL}, 2, "no file given");
    main_fails((const char *const[]){"report", path, "--bogus", NULL}, 2,
               "unknown option '--bogus'");
    main_fails((const char *const[]){"report", path, "x", NULL}, 2,
               "unexpected argument 'x'");
    main_fails((const char *const[]){"report", path, "--format", "pdf", NULL},
               2, "'pdf' is not html or txt");
    main_fails((const char *const[]){"report", path, "--title", NULL}, 2,
               "needs a value");
    main_fails((const char *const[]){"report", path, "--slowest=x", NULL}, 2,
               "--slowest");
    main_fails((const char *const[]){"report", path, "-o", path, NULL}, 2,
               "would overwrite the input");
    /* An output that cannot be created names it. */
    snprintf(bad, sizeof(bad), "%s/sub/out.html", path);
    main_fails((const char *const[]){"report", path, "-o", bad, NULL}, 2, bad);
    snprintf(dir, sizeof(dir), "%s.d", path);
    assert_int_equal(mkdir(dir, 0700), 0);
    main_fails((const char *const[]){"report", path, "-o", dir, NULL}, 2,
               "is a directory");
    rmdir(dir);
    tf_test_write_file(path, SMALL_LOG "2\th\n", strlen(SMALL_LOG) + 4);
    snprintf(bad, sizeof(bad), "%s:3: not a joblog line", path);
    main_fails((const char *const[]){"report", path, NULL}, 2, bad);
    unlink(path);
    main_fails((const char *const[]){"report", path, NULL}, 2, path);
}

static void
test_report_main_writes_file_html_atomically_by_default(void **state)
{
    struct tf_buf out;
    struct tf_buf err;
    struct tf_buf page;
    char path[40];
    char html[48];
    char tmp[128];
    struct stat st;
    mode_t mask;

    (void)state;
    temp_path(path);
    tf_test_write_file(path, SMALL_LOG, strlen(SMALL_LOG));
    snprintf(html, sizeof(html), "%s.html", path);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    tf_buf_init(&page, 0);
    assert_int_equal(
        run_main((const char *const[]){"report", path, NULL}, &out, &err), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(err.len, 0);
    tf_test_slurp(html, &page);
    assert_int_equal(strncmp((char *)page.data, "<!DOCTYPE html>", 15), 0);
    assert_non_null(strstr((char *)page.data, "</html>\n"));
    /* The mode the umask allows, as for any new file. */
    assert_int_equal(stat(html, &st), 0);
    mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
    /* No temporary file is left next to it. */
    snprintf(tmp, sizeof(tmp), "ls -a /tmp | grep -q '^\\.%s\\.html\\.'",
             path + 5);
    assert_int_not_equal(system(tmp), 0);
    /* txt goes to standard output by default, html with -o -. */
    assert_int_equal(
        run_main((const char *const[]){"report", path, "--format=txt", NULL},
                 &out, &err),
        0);
    assert_non_null(strstr((char *)out.data, "\ntasks             1\n"));
    assert_int_equal(
        run_main((const char *const[]){"report", "-o", "-", path, NULL}, &out,
                 &err),
        0);
    assert_int_equal(strncmp((char *)out.data, "<!DOCTYPE html>", 15), 0);
    unlink(html);
    unlink(path);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    tf_buf_cleanup(&page);
}

static void
test_report_main_warns_of_an_empty_log_and_of_a_torn_line(void **state)
{
    struct tf_buf out;
    struct tf_buf err;
    char path[40];

    (void)state;
    temp_path(path);
    tf_test_write_file(path, HEADER, strlen(HEADER));
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    assert_int_equal(
        run_main((const char *const[]){"report", path, "-o", "-", NULL}, &out,
                 &err),
        0);
    one_line(&err);
    assert_non_null(strstr((char *)err.data, "no task records"));
    assert_non_null(strstr((char *)out.data, "no task records"));
    tf_test_write_file(path, SMALL_LOG "2\th\t1", strlen(SMALL_LOG) + 6);
    assert_int_equal(
        run_main((const char *const[]){"report", path, "--format", "txt", NULL},
                 &out, &err),
        0);
    one_line(&err);
    assert_non_null(strstr((char *)err.data, "left out the last 6 bytes"));
    assert_non_null(strstr((char *)out.data, "\ntasks             1\n"));
    unlink(path);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
}

static void
test_report_main_help_prints_usage_and_exits_0(void **state)
{
    struct tf_buf out;
    struct tf_buf err;

    (void)state;
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    assert_int_equal(
        run_main((const char *const[]){"report", "--help", NULL}, &out, &err),
        0);
    assert_non_null(strstr((char *)out.data, "Usage: taskfarm report FILE"));
    assert_non_null(strstr((char *)out.data, "efficiency"));
    assert_int_equal(err.len, 0);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joblog_lines_are_read_field_by_field),
        cmocka_unit_test(test_joblog_of_gnu_parallel_is_read),
        cmocka_unit_test(
            test_malformed_joblog_line_is_einput_naming_file_line_and_field),
        cmocka_unit_test(test_headers_and_empty_lines_are_skipped),
        cmocka_unit_test(test_torn_last_line_is_left_out_and_a_whole_one_taken),
        cmocka_unit_test(
            test_missing_and_unreadable_inputs_are_einput_naming_them),
        cmocka_unit_test(test_empty_log_gives_a_report_of_no_tasks),
        cmocka_unit_test(test_run_of_no_duration_gives_a_page),
        cmocka_unit_test(test_each_task_takes_the_lane_that_became_free_last),
        cmocka_unit_test(test_lanes_are_rebuilt_per_host),
        cmocka_unit_test(test_joblog_lane_is_free_within_the_rounding_slack),
        cmocka_unit_test(test_results_file_lanes_are_its_workers),
        cmocka_unit_test(
            test_results_file_gives_cpu_time_memory_and_out_of_memory),
        cmocka_unit_test(test_numbers_of_a_small_run_are_exact),
        cmocka_unit_test(
            test_tail_starts_when_the_first_worker_ran_out_of_tasks),
        cmocka_unit_test(test_last_record_of_a_task_decides_whether_it_failed),
        cmocka_unit_test(test_html_escape_of_specials_controls_and_bad_utf8),
        cmocka_unit_test(
            test_html_page_has_its_charts_and_escaped_commands_and_no_script),
        cmocka_unit_test(test_html_of_200k_task_runs_is_bounded),
        cmocka_unit_test(test_more_lanes_than_rows_share_rows),
        cmocka_unit_test(
            test_txt_has_the_numbers_and_the_slowest_and_failed_tasks),
        cmocka_unit_test(test_a_cut_command_ends_at_a_character_boundary),
        cmocka_unit_test(
            test_report_main_usage_and_input_errors_exit_2_with_one_line),
        cmocka_unit_test(
            test_report_main_writes_file_html_atomically_by_default),
        cmocka_unit_test(
            test_report_main_warns_of_an_empty_log_and_of_a_torn_line),
        cmocka_unit_test(test_report_main_help_prints_usage_and_exits_0),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
