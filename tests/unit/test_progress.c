/* test_progress.c - unit tests of the progress line and status lines */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_progress.h"
#include "tf_test.h"

static struct tf__progress_snap
snap_of(uint64_t done, uint64_t failed, uint64_t running, uint64_t total,
        uint64_t elapsed_s)
{
    struct tf__progress_snap s;

    memset(&s, 0, sizeof(s));
    s.done = done;
    s.failed = failed;
    s.running = running;
    s.total = total;
    s.elapsed_us = elapsed_s * 1000000u;
    return s;
}

static void
test_clock_formats_minutes_hours_and_days(void **state)
{
    char buf[32];

    (void)state;
    tf__progress_clock(0, buf, sizeof(buf));
    assert_string_equal(buf, "0:00");
    tf__progress_clock(59999999u, buf, sizeof(buf));
    assert_string_equal(buf, "0:59");
    tf__progress_clock(61000000u, buf, sizeof(buf));
    assert_string_equal(buf, "1:01");
    tf__progress_clock(3723000000u, buf, sizeof(buf));
    assert_string_equal(buf, "1:02:03");
    tf__progress_clock((uint64_t)(2 * 86400 + 3 * 3600 + 4 * 60 + 5) * 1000000u,
                       buf, sizeof(buf));
    assert_string_equal(buf, "2d 03:04:05");
    tf__progress_duration(4200000u, buf, sizeof(buf));
    assert_string_equal(buf, "4.2 s");
    tf__progress_duration(125000000u, buf, sizeof(buf));
    assert_string_equal(buf, "2:05");
}

static void
test_eta_follows_the_rate_so_far(void **state)
{
    struct tf__progress_snap s = snap_of(25, 0, 2, 100, 10);

    (void)state;
    /* 25 tasks in 10 s: the other 75 in 30 s. */
    assert_int_equal(tf__progress_eta_us(&s), 30000000u);
    /* Tasks done before (a resumed run) are not left to do. */
    s.skipped = 50;
    assert_int_equal(tf__progress_eta_us(&s), 10000000u);
    /* Nothing done yet, or no total: not known. */
    s = snap_of(0, 0, 2, 100, 10);
    assert_true(tf__progress_eta_us(&s) == UINT64_MAX);
    s = snap_of(25, 0, 2, 0, 10);
    assert_true(tf__progress_eta_us(&s) == UINT64_MAX);
    /* All done: nothing left. */
    s = snap_of(100, 0, 0, 100, 10);
    assert_int_equal(tf__progress_eta_us(&s), 0);
}

static void
test_line_shows_every_count_with_a_total(void **state)
{
    struct tf__progress_snap s = snap_of(1234, 3, 2, 5000, 92);
    char buf[256];
    size_t len;

    (void)state;
    len = tf__progress_format_line(&s, 200, buf, sizeof(buf));
    assert_int_equal(len, strlen(buf));
    assert_non_null(strstr(buf, "1234/5000 done"));
    assert_non_null(strstr(buf, "3 failed"));
    assert_non_null(strstr(buf, "2 running"));
    assert_non_null(strstr(buf, "13 tasks/s"));
    assert_non_null(strstr(buf, "1:32 elapsed"));
    /* 3766 left at 1234 per 92 s: 280.8 s. */
    assert_non_null(strstr(buf, "ETA 4:40"));
    /* A wide terminal has room for the bar: a quarter of it filled. */
    assert_true(buf[0] == '[');
    assert_non_null(strstr(buf, "]  24% "));
    assert_int_equal(strspn(buf + 1, "#"), 7);
    assert_int_equal(strspn(buf + 8, "."), 23);
    assert_true(buf[31] == ']');
}

static void
test_line_never_fills_the_terminal_width(void **state)
{
    struct tf__progress_snap s =
        snap_of(123456789, 12345, 64, 987654321, 100000);
    char buf[512];
    int width;

    (void)state;
    for (width = 1; width <= 200; width++) {
        size_t len = tf__progress_format_line(&s, width, buf, sizeof(buf));

        assert_int_equal(len, strlen(buf));
        /* Narrower than 20 columns counts as 20. */
        assert_true(len <= (size_t)(width < 20 ? 19 : width - 1));
        assert_true(len > 0);
    }
    /* 80 columns: the short form, whole. */
    tf__progress_format_line(&s, 80, buf, sizeof(buf));
    assert_non_null(strstr(buf, "123456789/987654321, 12345 failed, 64 run"));
    /* A small buffer is cut, and ends in a NUL. */
    assert_int_equal(tf__progress_format_line(&s, 200, buf, 8), 7);
    assert_int_equal(strlen(buf), 7);
}

static void
test_line_without_a_total_has_no_bar_and_no_eta(void **state)
{
    struct tf__progress_snap s = snap_of(7, 1, 2, 0, 2);
    char buf[256];

    (void)state;
    tf__progress_format_line(&s, 200, buf, sizeof(buf));
    assert_string_equal(buf, "7 done, 1 failed, 2 running, 3.5 tasks/s, "
                             "0:02 elapsed");
}

static void
test_status_line_names_what_and_the_tasks_done_before(void **state)
{
    struct tf__progress_snap s = snap_of(10, 0, 1, 100, 5);
    char buf[256];

    (void)state;
    s.skipped = 60;
    tf__progress_format_status(&s, "status", buf, sizeof(buf));
    assert_true(strncmp(buf, "taskfarm: ", 10) == 0);
    /* Of the 40 this run has to do, 10 are done. */
    assert_non_null(strstr(buf, " status: 25%, 10/40 done"));
    assert_non_null(strstr(buf, ", 60 done before"));
    assert_null(strchr(buf, '\n'));
    tf__progress_format_status(&s, "snapshot", buf, sizeof(buf));
    assert_non_null(strstr(buf, " snapshot: 25%"));
}

static void
test_status_lines_are_due_each_interval_and_lines_at_once(void **state)
{
    struct tf__progress p;

    (void)state;
    tf__progress_init(&p, TF__PROGRESS_STATUS, -1, 0, 1000);
    assert_false(tf__progress_due(&p, 1000));
    assert_int_equal(tf__progress_wait_us(&p, 1000), 60000000u);
    assert_true(tf__progress_due(&p, 1000 + 60000000u));
    tf__progress_init(&p, TF__PROGRESS_STATUS, -1, 500000, 1000);
    assert_true(tf__progress_due(&p, 501000));
    tf__progress_init(&p, TF__PROGRESS_LINE, -1, 0, 1000);
    assert_true(tf__progress_due(&p, 1000));
    assert_int_equal(p.interval_us, 250000u);
    tf__progress_init(&p, TF__PROGRESS_OFF, -1, 0, 1000);
    assert_false(tf__progress_due(&p, UINT64_MAX));
    assert_true(tf__progress_wait_us(&p, 0) == UINT64_MAX);
}

/* Reads what was written to the read end FD, up to N-1 bytes. */
static size_t
drain_pipe(int fd, char *buf, size_t n)
{
    ssize_t k = read(fd, buf, n - 1);

    assert_true(k >= 0);
    buf[k] = '\0';
    return (size_t)k;
}

static void
test_show_redraws_in_place_and_clear_erases_once(void **state)
{
    struct tf__progress_snap s = snap_of(1, 0, 1, 4, 1);
    struct tf__progress p;
    char buf[1024];
    int fds[2];

    (void)state;
    assert_int_equal(pipe(fds), 0);
    tf__progress_init(&p, TF__PROGRESS_LINE, fds[1], 0, 0);
    tf__progress_show(&p, &s, 5000000u);
    assert_true(p.drawn);
    assert_false(tf__progress_due(&p, 5000000u));
    assert_true(tf__progress_due(&p, 5250000u));
    drain_pipe(fds[0], buf, sizeof(buf));
    assert_true(buf[0] == '\r');
    assert_non_null(strstr(buf, "1/4 done"));
    assert_non_null(strstr(buf, "\033[K"));
    assert_null(strchr(buf, '\n'));
    tf__progress_clear(&p);
    assert_false(p.drawn);
    assert_int_equal(drain_pipe(fds[0], buf, sizeof(buf)), 4);
    assert_string_equal(buf, "\r\033[K");
    /* Nothing drawn: nothing to clear. */
    tf__progress_clear(&p);
    tf__progress_init(&p, TF__PROGRESS_STATUS, fds[1], 0, 0);
    tf__progress_show(&p, &s, 60000000u);
    assert_false(p.drawn);
    drain_pipe(fds[0], buf, sizeof(buf));
    assert_true(strncmp(buf, "taskfarm: ", 10) == 0);
    assert_non_null(strstr(buf, " status: 25%, 1/4 done"));
    assert_true(buf[strlen(buf) - 1] == '\n');
    close(fds[0]);
    close(fds[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_formats_minutes_hours_and_days),
        cmocka_unit_test(test_eta_follows_the_rate_so_far),
        cmocka_unit_test(test_line_shows_every_count_with_a_total),
        cmocka_unit_test(test_line_never_fills_the_terminal_width),
        cmocka_unit_test(test_line_without_a_total_has_no_bar_and_no_eta),
        cmocka_unit_test(test_status_line_names_what_and_the_tasks_done_before),
        cmocka_unit_test(
            test_status_lines_are_due_each_interval_and_lines_at_once),
        cmocka_unit_test(test_show_redraws_in_place_and_clear_erases_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
