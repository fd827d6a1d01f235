/* test_sink.c - unit tests of the joblog format, tagging and the sink */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results.h"
#include "tool_resume.h"
#include "sink.h"
#include "spool.h"
#include "util.h"
#include "tf_test.h"

/* A struct tf__done with the fields the joblog tests share. */
static struct tf__done
done_of(uint64_t id, const char *out, const char *err, const char *cmd)
{
    struct tf__done d;

    memset(&d, 0, sizeof(d));
    d.id = id;
    d.host = "node1";
    d.host_len = 5;
    d.start_us = 1700000000123456;
    d.runtime_us = 1234567;
    d.send_bytes = cmd != NULL ? strlen(cmd) : 0;
    d.cmd = cmd;
    d.cmd_len = cmd != NULL ? strlen(cmd) : 0;
    d.out = out;
    d.out_len = out != NULL ? strlen(out) : 0;
    d.err = err;
    d.err_len = err != NULL ? strlen(err) : 0;
    return d;
}

static void
joblog_is(const struct tf__done *d, const char *want)
{
    struct tf_buf buf;

    tf_buf_init(&buf, 0);
    assert_int_equal(tf__joblog_format(&buf, d), 0);
    assert_non_null(buf.data);
    assert_string_equal((const char *)buf.data, want);
    assert_int_equal(buf.len, strlen(want));
    tf_buf_cleanup(&buf);
}

/* Tags the N bytes at IN and checks the result is the WANT_LEN bytes at
 * WANT. */
static void
tagged_is_n(uint64_t id, const char *in, size_t n, const char *want,
            size_t want_len)
{
    struct tf_buf buf;

    tf_buf_init(&buf, 0);
    assert_int_equal(tf__tag_lines(&buf, id, in, n), 0);
    assert_int_equal(buf.len, want_len);
    if (buf.len > 0)
        assert_memory_equal(buf.data, want, buf.len);
    tf_buf_cleanup(&buf);
}

static void
tagged_is(uint64_t id, const char *in, size_t n, const char *want)
{
    tagged_is_n(id, in, n, want, strlen(want));
}

/* A new empty temporary file: its path in PATH (40 bytes), its fd. */
static int
temp_fd(char *path)
{
    int fd;

    strcpy(path, "/tmp/tf_test_sink_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    return fd;
}


static void
file_is(const char *path, const void *want, size_t n)
{
    struct tf_buf got;

    tf_buf_init(&got, 0);
    tf_test_slurp(path, &got);
    if (got.len != n)
        fail_msg("%s has %zu bytes, expected %zu", path, got.len, n);
    if (n > 0)
        assert_memory_equal(got.data, want, n);
    tf_buf_cleanup(&got);
}

static void
file_is_str(const char *path, const char *want)
{
    file_is(path, want, strlen(want));
}

/* tf__sink_open() with the options of the tests: OUT_FD, ERR_FD, JOBLOG
 * (NULL: none), TAG. */
static int
sink_open(int out_fd, int err_fd, const char *joblog, bool tag,
          struct tf__sink **out, struct tf_error *err)
{
    struct tf__sink_opts o;
    int rc;

    memset(&o, 0, sizeof(o));
    o.out_fd = out_fd;
    o.err_fd = err_fd;
    o.joblog = joblog;
    o.tag = tag;
    rc = tf__sink_open(&o, out, err);
    if (rc == 0)
        rc = tf__sink_start(*out, NULL, NULL, err);
    return rc;
}

/* ---------------------------------------------------------- joblog line */

static void
test_joblog_header_is_gnu_parallels(void **state)
{
    (void)state;
    assert_string_equal(TF__JOBLOG_HEADER,
                        "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\t"
                        "Exitval\tSignal\tCommand\n");
}

static void
test_joblog_line_has_the_gnu_parallel_columns_byte_for_byte(void **state)
{
    struct tf__done d = done_of(7, "hello", "warn", "gzip -9 'a b.txt'");

    (void)state;
    d.send_bytes = 16;
    d.status = 3;
    d.signal = 0;
    joblog_is(&d, "7\tnode1\t1700000000.123\t     1.235\t16\t5\t3\t0\t"
                  "gzip -9 'a b.txt'\n");
}

static void
test_joblog_writes_signal_and_big_numbers(void **state)
{
    struct tf__done d = done_of(UINT64_MAX, "", "", "sleep 100");

    (void)state;
    d.status = 128 + 9;
    d.signal = 9;
    d.send_bytes = UINT64_MAX;
    d.out_len = 0;
    joblog_is(&d, "18446744073709551615\tnode1\t1700000000.123\t     1.235\t"
                  "18446744073709551615\t0\t137\t9\tsleep 100\n");
}

static void
test_joblog_rounds_to_milliseconds_with_carry(void **state)
{
    struct tf__done d = done_of(1, NULL, NULL, "x");

    (void)state;
    d.start_us = 1699999999999500; /* rounds up into the next second */
    d.runtime_us = 999500;
    joblog_is(&d, "1\tnode1\t1700000000.000\t     1.000\t1\t0\t0\t0\tx\n");
    d.start_us = 1700000000000499; /* rounds down */
    d.runtime_us = 499;
    joblog_is(&d, "1\tnode1\t1700000000.000\t     0.000\t1\t0\t0\t0\tx\n");
    d.start_us = 5;
    d.runtime_us = 60000000 + 7000; /* a minute and 7 ms */
    joblog_is(&d, "1\tnode1\t0.000\t    60.007\t1\t0\t0\t0\tx\n");
}

static void
test_joblog_runtime_wider_than_ten_columns_is_not_cut(void **state)
{
    struct tf__done d = done_of(2, NULL, NULL, "x");

    (void)state;
    d.runtime_us = 123456789012ull; /* 123456.789012 s: exactly 10 */
    joblog_is(&d, "2\tnode1\t1700000000.123\t123456.789\t1\t0\t0\t0\tx\n");
    d.runtime_us = 12345678901234ull; /* 12 characters */
    joblog_is(&d, "2\tnode1\t1700000000.123\t12345678.901\t1\t0\t0\t0\tx\n");
}

static void
test_joblog_negative_status_keeps_its_sign(void **state)
{
    struct tf__done d = done_of(3, NULL, NULL, "x");

    (void)state;
    d.status = -1;
    joblog_is(&d, "3\tnode1\t1700000000.123\t     1.235\t1\t0\t-1\t0\tx\n");
}

static void
test_joblog_turns_newline_and_cr_in_command_into_spaces(void **state)
{
    struct tf__done d = done_of(4, NULL, NULL, "echo a\nb\r\nc\n");

    (void)state;
    d.send_bytes = 12;
    joblog_is(&d,
              "4\tnode1\t1700000000.123\t     1.235\t12\t0\t0\t0\techo a b  c "
              "\n");
}

static void
test_joblog_uses_host_len_and_cmd_len_not_nul(void **state)
{
    struct tf__done d = done_of(5, NULL, NULL, "abc def");

    (void)state;
    d.host = "node12345";
    d.host_len = 6;
    d.cmd_len = 3;
    d.send_bytes = 3;
    joblog_is(&d, "5\tnode12\t1700000000.123\t     1.235\t3\t0\t0\t0\tabc\n");
}

static void
test_joblog_appends_after_existing_content(void **state)
{
    struct tf__done a = done_of(1, "o", NULL, "a");
    struct tf__done b = done_of(2, NULL, NULL, "b");
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(tf_buf_puts(&buf, TF__JOBLOG_HEADER), 0);
    assert_int_equal(tf__joblog_format(&buf, &a), 0);
    assert_int_equal(tf__joblog_format(&buf, &b), 0);
    assert_string_equal(
        (const char *)buf.data, TF__JOBLOG_HEADER
        "1\tnode1\t1700000000.123\t     1.235\t1\t1\t0\t0\ta\n"
        "2\tnode1\t1700000000.123\t     1.235\t1\t0\t0\t0\tb\n");
    tf_buf_cleanup(&buf);
}

static void
test_joblog_over_cap_fails_and_keeps_buffer(void **state)
{
    struct tf__done d = done_of(1, NULL, NULL, "x");
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 20);
    assert_int_equal(tf_buf_puts(&buf, "keep"), 0);
    assert_int_equal(tf__joblog_format(&buf, &d), TF_EINPUT);
    assert_int_equal(buf.len, 4);
    assert_string_equal((const char *)buf.data, "keep");
    tf_buf_cleanup(&buf);
}

/* ------------------------------------------------------------ tag lines */

static void
test_tag_lines_prefixes_every_line_with_id_and_tab(void **state)
{
    (void)state;
    tagged_is(12, "a\nb\n", 4, "12\ta\n12\tb\n");
    tagged_is(1, "one\n\nthree\n", 11, "1\tone\n1\t\n1\tthree\n");
    tagged_is(UINT64_MAX, "x\n", 2, "18446744073709551615\tx\n");
    tagged_is(0, "\n", 1, "0\t\n");
}

static void
test_tag_lines_ends_last_line_with_newline(void **state)
{
    (void)state;
    tagged_is(12, "a\nb", 3, "12\ta\n12\tb\n");
    tagged_is(3, "no newline", 10, "3\tno newline\n");
}

static void
test_tag_lines_of_nothing_is_nothing(void **state)
{
    (void)state;
    tagged_is(5, "", 0, "");
}

static void
test_tag_lines_keeps_cr_and_binary_bytes(void **state)
{
    static const char want[] = "9\ta\r\n9\t\0b\xff\n";

    (void)state;
    tagged_is_n(9, "a\r\n\0b\xff\n", 7, want, sizeof(want) - 1);
}

static void
test_tag_lines_appends_after_existing_content(void **state)
{
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(tf__tag_lines(&buf, 1, "a", 1), 0);
    assert_int_equal(tf__tag_lines(&buf, 2, "b\nc\n", 4), 0);
    assert_string_equal((const char *)buf.data, "1\ta\n2\tb\n2\tc\n");
    tf_buf_cleanup(&buf);
}

/* ----------------------------------------------------------------- sink */

struct files {
    char out[40];
    char err[40];
    char log[40];
    int out_fd;
    int err_fd;
};

static void
files_open(struct files *f)
{
    int fd;

    f->out_fd = temp_fd(f->out);
    f->err_fd = temp_fd(f->err);
    fd = temp_fd(f->log);
    close(fd);
}

static void
files_close(struct files *f)
{
    close(f->out_fd);
    close(f->err_fd);
    unlink(f->out);
    unlink(f->err);
    unlink(f->log);
}

static void
test_sink_writes_joblog_header_at_open(void **state)
{
    static const char old[] = "old content, longer than the header line "
                              "of a joblog, which is 66 bytes long.\n";
    struct files f;
    int fd;
    struct tf__sink *s;
    struct tf_error err;
    struct stat st;

    (void)state;
    files_open(&f);
    /* What was there before is truncated. */
    fd = open(f.log, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, old, strlen(old)), (ssize_t)strlen(old));
    close(fd);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, f.log, false, &s, &err),
                     0);
    file_is(f.log, TF__JOBLOG_HEADER, strlen(TF__JOBLOG_HEADER));
    assert_int_equal(tf__sink_close(s, &err), 0);
    file_is(f.log, TF__JOBLOG_HEADER, strlen(TF__JOBLOG_HEADER));
    assert_int_equal(fstat(f.out_fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    files_close(&f);
}

static void
test_sink_emits_blocks_whole_and_in_call_order(void **state)
{
    static const char *const outs[] = {"out 1\nline 2 of 1\n", "", "out 3",
                                       "out 4\n"};
    static const char *const errs[] = {"", "err 2\n", "err 3\nmore\n", "err 4"};
    static const char *const cmds[] = {"a", "bb", "c c", "d"};
    struct files f;
    struct tf__sink *s;
    struct tf_error err;
    struct tf_buf log;
    int i;

    (void)state;
    files_open(&f);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, f.log, false, &s, &err),
                     0);
    tf_buf_init(&log, 0);
    assert_int_equal(tf_buf_puts(&log, TF__JOBLOG_HEADER), 0);
    for (i = 0; i < 4; i++) {
        struct tf__done d =
            done_of((uint64_t)(10 + i), outs[i], errs[i], cmds[i]);

        d.status = i;
        assert_int_equal(tf__sink_emit(s, &d, &err), 0);
        assert_int_equal(tf__joblog_format(&log, &d), 0);
    }
    assert_int_equal(tf__sink_flush(s, &err), 0);
    file_is_str(f.out, "out 1\nline 2 of 1\nout 3out 4\n");
    file_is_str(f.err, "err 2\nerr 3\nmore\nerr 4");
    file_is(f.log, log.data, log.len);
    /* The joblog lines are these, whatever tf__joblog_format says. */
    assert_non_null(strstr((const char *)log.data,
                           "\n12\tnode1\t1700000000.123\t     1.235\t3\t5\t2\t0"
                           "\tc c\n"));
    assert_int_equal(tf__sink_close(s, &err), 0);
    file_is_str(f.out, "out 1\nline 2 of 1\nout 3out 4\n");
    tf_buf_cleanup(&log);
    files_close(&f);
}

static void
test_sink_writes_everything_by_close_without_flush(void **state)
{
    struct files f;
    struct tf__sink *s;
    struct tf_error err;
    struct tf__done d = done_of(1, "o\n", "e\n", "c");

    (void)state;
    files_open(&f);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, NULL, false, &s, &err),
                     0);
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    assert_int_equal(tf__sink_close(s, &err), 0);
    file_is(f.out, "o\n", 2);
    file_is(f.err, "e\n", 2);
    /* No joblog was asked for, so none was written. */
    file_is(f.log, "", 0);
    files_close(&f);
}

static void
test_sink_keeps_order_around_blocks_too_big_to_buffer(void **state)
{
    size_t big = 300 * 1024;
    char *block = malloc(big + 1);
    struct files f;
    struct tf__sink *s;
    struct tf_error err;
    struct tf_buf want_out;
    struct tf_buf want_err;
    int i;

    (void)state;
    assert_non_null(block);
    memset(block, 'B', big);
    block[big] = '\0';
    files_open(&f);
    tf_buf_init(&want_out, 0);
    tf_buf_init(&want_err, 0);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, NULL, false, &s, &err),
                     0);
    for (i = 0; i < 6; i++) {
        char small[32];
        struct tf__done d;

        snprintf(small, sizeof(small), "small %d\n", i);
        block[0] = (char)('0' + i);
        /* Big blocks on stdout for even tasks, on stderr for odd ones. */
        d = done_of((uint64_t)i + 1, i % 2 == 0 ? block : small,
                    i % 2 == 0 ? small : block, "x");
        assert_int_equal(tf__sink_emit(s, &d, &err), 0);
        assert_int_equal(tf_buf_puts(&want_out, d.out), 0);
        assert_int_equal(tf_buf_puts(&want_err, d.err), 0);
    }
    assert_int_equal(tf__sink_close(s, &err), 0);
    file_is(f.out, want_out.data, want_out.len);
    file_is(f.err, want_err.data, want_err.len);
    tf_buf_cleanup(&want_out);
    tf_buf_cleanup(&want_err);
    files_close(&f);
    free(block);
}

static void
test_sink_with_tag_prefixes_lines_of_both_streams(void **state)
{
    struct files f;
    struct tf__sink *s;
    struct tf_error err;
    struct tf__done a = done_of(3, "x\ny\n", "warn", "a");
    struct tf__done b = done_of(17, "z", "", "b");

    (void)state;
    files_open(&f);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, NULL, true, &s, &err),
                     0);
    assert_int_equal(tf__sink_emit(s, &a, &err), 0);
    assert_int_equal(tf__sink_emit(s, &b, &err), 0);
    assert_int_equal(tf__sink_close(s, &err), 0);
    file_is_str(f.out, "3\tx\n3\ty\n17\tz\n");
    file_is_str(f.err, "3\twarn\n");
    files_close(&f);
}

static void
test_sink_writes_into_a_pipe(void **state)
{
    struct tf__sink *s;
    struct tf_error err;
    struct tf__done d = done_of(1, "through a pipe\n", NULL, "c");
    char got[64];
    int fds[2];
    int null_fd;
    ssize_t n;

    (void)state;
    assert_int_equal(pipe(fds), 0);
    null_fd = open("/dev/null", O_WRONLY);
    assert_true(null_fd >= 0);
    assert_int_equal(sink_open(fds[1], null_fd, NULL, false, &s, &err), 0);
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    assert_int_equal(tf__sink_flush(s, &err), 0);
    n = read(fds[0], got, sizeof(got));
    assert_int_equal(n, 15);
    assert_memory_equal(got, "through a pipe\n", 15);
    assert_int_equal(tf__sink_close(s, &err), 0);
    /* The sink does not close descriptors it was given. */
    assert_int_equal(write(fds[1], "!", 1), 1);
    close(fds[0]);
    close(fds[1]);
    close(null_fd);
}

static void
test_sink_unwritable_joblog_is_eusage_naming_the_path(void **state)
{
    static const char path[] = "/nonexistent/dir/x";
    struct tf__sink *s = (struct tf__sink *)&s;
    struct tf_error err;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(sink_open(1, 2, path, false, &s, &err), TF_EUSAGE);
    assert_null(s);
    assert_int_equal(err.code, TF_EUSAGE);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));
}

static void
test_sink_joblog_on_a_full_device_fails_at_open(void **state)
{
    struct tf__sink *s = (struct tf__sink *)&s;
    struct tf_error err;

    (void)state;
    tf_error_init(&err);
    assert_true(sink_open(1, 2, "/dev/full", false, &s, &err) < 0);
    assert_null(s);
    assert_non_null(strstr(err.msg, "/dev/full"));
}

static void
test_sink_flush_to_full_device_is_esys(void **state)
{
    struct tf__sink *s;
    struct tf_error err;
    struct tf__done d = done_of(1, "lost\n", NULL, "c");
    int full;

    (void)state;
    full = open("/dev/full", O_WRONLY);
    assert_true(full >= 0);
    assert_int_equal(sink_open(full, 2, NULL, false, &s, &err), 0);
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    tf_error_init(&err);
    assert_int_equal(tf__sink_flush(s, &err), TF_ESYS);
    assert_int_equal(err.code, TF_ESYS);
    assert_non_null(strstr(err.msg, "standard output"));
    assert_non_null(strstr(err.msg, strerror(ENOSPC)));
    tf__sink_close(s, NULL);
    close(full);
}

static void
test_sink_close_to_full_device_is_esys(void **state)
{
    struct tf__sink *s;
    struct tf_error err;
    struct tf__done d = done_of(1, NULL, "lost\n", "c");
    int full;

    (void)state;
    full = open("/dev/full", O_WRONLY);
    assert_true(full >= 0);
    assert_int_equal(sink_open(1, full, NULL, false, &s, &err), 0);
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    tf_error_init(&err);
    assert_int_equal(tf__sink_close(s, &err), TF_ESYS);
    assert_non_null(strstr(err.msg, "standard error"));
    close(full);
}

static void
test_sink_emit_of_big_block_to_full_device_is_esys(void **state)
{
    size_t big = 300 * 1024;
    char *block = malloc(big + 1);
    struct tf__sink *s;
    struct tf_error err;
    struct tf__done d;
    int full;

    (void)state;
    assert_non_null(block);
    memset(block, 'B', big);
    block[big] = '\0';
    d = done_of(1, block, NULL, "c");
    full = open("/dev/full", O_WRONLY);
    assert_true(full >= 0);
    assert_int_equal(sink_open(full, 2, NULL, false, &s, &err), 0);
    assert_int_equal(tf__sink_emit(s, &d, &err), TF_ESYS);
    assert_non_null(strstr(err.msg, "standard output"));
    tf__sink_close(s, NULL);
    close(full);
    free(block);
}

static void
test_sink_close_of_null_is_a_no_op(void **state)
{
    struct tf_error err;

    (void)state;
    assert_int_equal(tf__sink_close(NULL, &err), 0);
    assert_int_equal(tf__sink_close(NULL, NULL), 0);
}

/* ------------------------------------------------- records after output */

/* A fresh path for a file that does not exist yet (PATH: 40 bytes). */
static void
temp_path(char *path)
{
    tf_test_temp_path(path, "sink");
}

static uint64_t
file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* N bytes of a pattern that differs with SEED, in memory of its own. */
static char *
pattern(size_t n, unsigned seed)
{
    char *p = malloc(n + 1);
    size_t i;

    assert_non_null(p);
    for (i = 0; i < n; i++)
        p[i] = (char)('a' + (i * 7 + seed) % 26);
    p[n] = '\0';
    return p;
}

/* The options of the tests below: OUT_FD, ERR_FD, JOBLOG (NULL: none),
 * RESULTS (NULL: none); the rest zero. */
static struct tf__sink_opts
opts_of(int out_fd, int err_fd, const char *joblog, struct tf__results *results)
{
    struct tf__sink_opts o;

    memset(&o, 0, sizeof(o));
    o.out_fd = out_fd;
    o.err_fd = err_fd;
    o.joblog = joblog;
    o.results = results;
    return o;
}

/* tf__sink_open() and tf__sink_start() with O; returns the first error. */
static int
open_started(const struct tf__sink_opts *o, struct tf__sink **out,
             struct tf_error *err)
{
    int rc;

    rc = tf__sink_open(o, out, err);
    if (rc == 0)
        rc = tf__sink_start(*out, NULL, NULL, err);
    return rc;
}

/* The joblog a sink writes for D[0..N-1]: its header and their lines. */
static void
joblog_of(const struct tf__done *d, size_t n, struct tf_buf *want)
{
    size_t i;

    tf_buf_reset(want);
    assert_int_equal(tf_buf_puts(want, TF__JOBLOG_HEADER), 0);
    for (i = 0; i < n; i++)
        assert_int_equal(tf__joblog_format(want, &d[i]), 0);
}

/* Checks that the joblog PATH is what a sink writes for D[0..N-1]. */
static void
log_is(const char *path, const struct tf__done *d, size_t n)
{
    struct tf_buf want;

    tf_buf_init(&want, 0);
    joblog_of(d, n, &want);
    file_is(path, want.data, want.len);
    tf_buf_cleanup(&want);
}

/* A record of a results file, as a scan passed it: the fixed fields, the
 * command and the start of stdout. */
struct rec_copy {
    uint32_t kind;
    uint64_t id;
    uint32_t flags;
    uint64_t out_end;
    uint64_t out_total;
    uint64_t err_total;
    size_t out_len;
    size_t err_len;
    char cmd[512];
    char out[64];
    uint64_t off;
};

struct recs {
    struct rec_copy r[16];
    size_t n;
};

static int
copy_rec(void *arg, const struct tf__result_rec *rec, uint64_t off,
         uint64_t len)
{
    struct recs *g = arg;
    struct rec_copy *c;

    (void)len;
    if (g->n >= sizeof(g->r) / sizeof(g->r[0]))
        fail_msg("more than %zu records", g->n);
    c = &g->r[g->n++];
    memset(c, 0, sizeof(*c));
    c->kind = rec->kind;
    c->id = rec->id;
    c->flags = rec->flags;
    c->out_end = rec->out_end;
    c->out_total = rec->out_total;
    c->err_total = rec->err_total;
    c->out_len = rec->out_len;
    c->err_len = rec->err_len;
    assert_true(rec->cmd_len < sizeof(c->cmd));
    if (rec->cmd_len > 0)
        memcpy(c->cmd, rec->cmd, rec->cmd_len);
    if (rec->out_len > 0)
        memcpy(c->out, rec->out,
               rec->out_len < sizeof(c->out) ? rec->out_len
                                             : sizeof(c->out) - 1);
    c->off = off;
    return 0;
}

/* Every record of the results file PATH, in file order; no torn tail. */
static void
scan_recs(const char *path, struct recs *g)
{
    struct tf_error err;
    uint64_t tail = UINT64_MAX;
    int rc;

    g->n = 0;
    tf_error_init(&err);
    rc = tf__results_scan(path, copy_rec, g, &tail, &err);
    if (rc != 0)
        fail_msg("scanning %s: %d %s", path, rc, err.msg);
    assert_true(tail == 0);
}

/* What a child process saw: the return codes and messages of the calls it
 * made, in order, and whether it could set up what it was to run. */
struct seen {
    int setup; /* 0, or the line of the setup that failed */
    int n;
    int rc[8];
    struct tf_error err[8];
};

/* Notes the return code RC and the message of ERR in SEEN. */
static void
saw(struct seen *seen, int rc, const struct tf_error *err)
{
    if (seen->n >= 8)
        return;
    seen->rc[seen->n] = rc;
    /* The message alone: the bytes after its end were never written, and
     * all of SEEN goes through a pipe. */
    tf_error_init(&seen->err[seen->n]);
    if (rc < 0) {
        seen->err[seen->n].code = err->code;
        snprintf(seen->err[seen->n].msg, sizeof(seen->err[seen->n].msg), "%s",
                 err->msg);
    }
    seen->n++;
}

/* Runs FN(ARG, SEEN) in a child process, so that what it does to the
 * process (a file size limit) stays there, and puts what it saw in
 * *SEEN. FN may not use cmocka's asserts. */
static void
run_in_child(void (*fn)(void *arg, struct seen *seen), void *arg,
             struct seen *seen)
{
    size_t got = 0;
    ssize_t n;
    pid_t pid;
    int fds[2];
    int status = 0;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        memset(seen, 0, sizeof(*seen));
        fn(arg, seen);
        _exit(tf__write_all(fds[1], seen, sizeof(*seen)) < 0 ? 1 : 0);
    }
    close(fds[1]);
    while (got < sizeof(*seen) &&
           (n = read(fds[0], (char *)seen + got, sizeof(*seen) - got)) > 0)
        got += (size_t)n;
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(got, sizeof(*seen));
    if (seen->setup != 0)
        fail_msg("the child's setup failed at line %d", seen->setup);
}

/* Makes writes to any file past BYTES fail with EFBIG (in a child). */
static int
limit_file_size(uint64_t bytes)
{
    struct rlimit lim;

    signal(SIGXFSZ, SIG_IGN);
    if (getrlimit(RLIMIT_FSIZE, &lim) < 0)
        return -1;
    lim.rlim_cur = (rlim_t)bytes;
    return setrlimit(RLIMIT_FSIZE, &lim);
}

static void
test_sink_writes_joblog_lines_only_once_the_output_is_written(void **state)
{
    struct files f;
    struct tf__sink *s;
    struct tf_error err;
    struct tf__done d = done_of(1, "out\n", "err\n", "c");

    (void)state;
    files_open(&f);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, f.log, false, &s, &err),
                     0);
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    /* The output waits in the sink, and so does its record. */
    file_is_str(f.out, "");
    log_is(f.log, &d, 0);
    assert_int_equal(tf__sink_flush(s, &err), 0);
    file_is_str(f.out, "out\n");
    file_is_str(f.err, "err\n");
    log_is(f.log, &d, 1);
    assert_int_equal(tf__sink_close(s, &err), 0);
    log_is(f.log, &d, 1);
    files_close(&f);
}

/* Five tasks of 5000 bytes of stdout each, flushed at once into files no
 * larger than 12000 bytes; a results file with them. */
#define TORN_TASKS 5
#define TORN_BYTES 5000
#define TORN_LIMIT 12000

struct torn {
    struct files f;
    char results[40];
    struct tf__done d[TORN_TASKS];
};

static void
torn_write(void *arg, struct seen *seen)
{
    struct torn *t = arg;
    struct tf__sink_opts o;
    struct tf__results *r;
    struct tf__sink *s;
    struct tf_error err;
    int i;

    tf_error_init(&err);
    if (tf__results_open(t->results, 0, &r, &err) < 0) {
        seen->setup = __LINE__;
        return;
    }
    o = opts_of(t->f.out_fd, t->f.err_fd, t->f.log, r);
    if (open_started(&o, &s, &err) < 0 || limit_file_size(TORN_LIMIT) < 0) {
        seen->setup = __LINE__;
        return;
    }
    for (i = 0; i < TORN_TASKS; i++)
        if (tf__sink_emit(s, &t->d[i], &err) < 0)
            seen->setup = __LINE__;
    saw(seen, tf__sink_flush(s, &err), &err);
    saw(seen, tf__sink_emit(s, &t->d[0], &err), &err);
    saw(seen, tf__sink_flush(s, &err), &err);
    saw(seen, tf__sink_keep(s, &t->d[0], &err), &err);
    tf__sink_close(s, NULL);
    tf__results_close(r, NULL);
}

static void
test_sink_failed_output_write_records_only_the_tasks_written_whole(
    void **state)
{
    struct torn t;
    struct seen seen;
    struct recs g;
    char *out[TORN_TASKS];
    struct tf_buf want;
    int i;

    (void)state;
    files_open(&t.f);
    temp_path(t.results);
    tf_buf_init(&want, 0);
    for (i = 0; i < TORN_TASKS; i++) {
        out[i] = pattern(TORN_BYTES, (unsigned)i);
        t.d[i] = done_of((uint64_t)i + 1, out[i], NULL, "c");
    }
    run_in_child(torn_write, &t, &seen);
    assert_int_equal(seen.n, 4);
    assert_int_equal(seen.rc[0], TF_ESYS);
    assert_non_null(strstr(seen.err[0].msg, "standard output"));
    assert_non_null(strstr(seen.err[0].msg, strerror(EFBIG)));
    /* The output file ends with the last task written whole... */
    assert_true(file_size(t.f.out) == 2 * TORN_BYTES);
    for (i = 0; i < 2; i++)
        assert_int_equal(tf_buf_append(&want, out[i], TORN_BYTES), 0);
    file_is(t.f.out, want.data, want.len);
    /* ... and the records are those of the tasks in it. */
    log_is(t.f.log, t.d, 2);
    scan_recs(t.results, &g);
    assert_int_equal(g.n, 2);
    assert_true(g.r[0].id == 1 && g.r[1].id == 2);
    assert_true(g.r[1].flags & TF__REC_EMITTED);
    /* Every later call returns the same error. */
    for (i = 1; i < 4; i++) {
        assert_int_equal(seen.rc[i], TF_ESYS);
        assert_string_equal(seen.err[i].msg, seen.err[0].msg);
    }
    for (i = 0; i < TORN_TASKS; i++)
        free(out[i]);
    tf_buf_cleanup(&want);
    unlink(t.results);
    files_close(&t.f);
}

/* A task whose record does not fit in a results file that a size limit
 * lets grow by 50 bytes only. */
struct unrecorded {
    struct files f;
    char results[40];
    struct tf__done d;
};

static void
unrecorded_write(void *arg, struct seen *seen)
{
    struct unrecorded *u = arg;
    struct tf__result_rec rec;
    struct tf__sink_opts o;
    struct tf__results *r;
    struct tf__sink *s;
    struct tf_error err;
    struct stat st;
    char *fill = pattern(200 * 1024, 9);
    int rc;

    tf_error_init(&err);
    /* An earlier task's record, larger than the task's output. */
    memset(&rec, 0, sizeof(rec));
    rec.id = 100;
    rec.flags = TF__REC_EMITTED;
    rec.out = fill;
    rec.out_len = 200 * 1024;
    if (tf__results_open(u->results, 0, &r, &err) < 0 ||
        tf__results_add(r, &rec, &err) < 0 ||
        tf__results_flush(r, true, &err) < 0 || stat(u->results, &st) < 0) {
        seen->setup = __LINE__;
        return;
    }
    free(fill);
    o = opts_of(u->f.out_fd, u->f.err_fd, u->f.log, r);
    if (open_started(&o, &s, &err) < 0 ||
        limit_file_size((uint64_t)st.st_size + 50) < 0) {
        seen->setup = __LINE__;
        return;
    }
    /* A small output fails at the flush, a large one at once. */
    rc = tf__sink_emit(s, &u->d, &err);
    if (rc == 0)
        rc = tf__sink_flush(s, &err);
    saw(seen, rc, &err);
    saw(seen, tf__sink_emit(s, &u->d, &err), &err);
    tf__sink_close(s, NULL);
    tf__results_close(r, NULL);
}

/* Runs the task of OUT_BYTES of stdout whose record cannot be written and
 * checks that its output was taken back. */
static void
unrecorded_is_taken_back(size_t out_bytes)
{
    struct unrecorded u;
    struct seen seen;
    struct recs g;
    char *out = pattern(out_bytes, 1);

    files_open(&u.f);
    temp_path(u.results);
    u.d = done_of(1, out, "e\n", "c");
    run_in_child(unrecorded_write, &u, &seen);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.rc[0], TF_ESYS);
    assert_non_null(strstr(seen.err[0].msg, u.results));
    assert_non_null(strstr(seen.err[0].msg, strerror(EFBIG)));
    assert_int_equal(seen.rc[1], TF_ESYS);
    assert_string_equal(seen.err[1].msg, seen.err[0].msg);
    /* Nothing recorded it: it runs again, and its output is not kept to
     * be there twice. */
    file_is_str(u.f.out, "");
    file_is_str(u.f.err, "");
    log_is(u.f.log, &u.d, 0);
    scan_recs(u.results, &g);
    assert_int_equal(g.n, 1);
    assert_true(g.r[0].id == 100);
    free(out);
    unlink(u.results);
    files_close(&u.f);
}

static void
test_sink_record_that_cannot_be_written_takes_the_output_back(void **state)
{
    (void)state;
    unrecorded_is_taken_back(100);
}

static void
test_sink_record_that_cannot_be_written_takes_a_large_output_back(
    void **state)
{
    (void)state;
    unrecorded_is_taken_back(100 * 1024);
}

static void
test_sink_keep_records_the_output_and_its_emit_writes_it_and_marks(
    void **state)
{
    struct tf__sink_opts o;
    struct tf__results *r;
    struct tf__sink *s;
    struct tf_error err;
    struct files f;
    struct recs g;
    char results[40];
    struct tf__done d = done_of(3, "kept out\n", "kept err\n", "c3");

    (void)state;
    files_open(&f);
    temp_path(results);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(results, 0, &r, &err), 0);
    o = opts_of(f.out_fd, f.err_fd, f.log, r);
    assert_int_equal(open_started(&o, &s, &err), 0);
    assert_int_equal(tf__sink_keep(s, &d, &err), 0);
    assert_int_equal(tf__sink_flush(s, &err), 0);
    /* The record holds the output, which is not written yet. */
    scan_recs(results, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.r[0].kind, TF__REC_TASK);
    assert_true(g.r[0].id == 3);
    assert_int_equal(g.r[0].flags & TF__REC_EMITTED, 0);
    assert_int_equal(g.r[0].out_len, 9);
    assert_string_equal(g.r[0].out, "kept out\n");
    assert_int_equal(g.r[0].err_len, 9);
    assert_string_equal(g.r[0].cmd, "c3");
    log_is(f.log, &d, 1);
    file_is_str(f.out, "");
    file_is_str(f.err, "");
    /* In its turn: the output, a mark, and no second joblog line. */
    d.recorded = true;
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    assert_int_equal(tf__sink_flush(s, &err), 0);
    file_is_str(f.out, "kept out\n");
    file_is_str(f.err, "kept err\n");
    scan_recs(results, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.r[1].kind, TF__REC_MARK);
    assert_true(g.r[1].id == 3);
    assert_int_equal(g.r[1].out_len, 0);
    log_is(f.log, &d, 1);
    assert_int_equal(tf__sink_close(s, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    unlink(results);
    files_close(&f);
}

/* Whether PATH exists. */
static bool
exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static void
test_sink_keep_without_results_spools_and_a_clean_close_removes_it(
    void **state)
{
    struct tf__sink *s;
    struct tf_error err;
    struct tf_buf spool;
    struct files f;
    struct tf__done d = done_of(4, "four\n", NULL, "c4");

    (void)state;
    files_open(&f);
    tf_buf_init(&spool, 0);
    assert_int_equal(tf__sink_spool_path(f.log, &spool), 0);
    assert_string_equal((const char *)spool.data + strlen(f.log), ".spool");
    assert_int_equal(sink_open(f.out_fd, f.err_fd, f.log, false, &s, &err),
                     0);
    assert_false(exists((const char *)spool.data));
    assert_int_equal(tf__sink_keep(s, &d, &err), 0);
    assert_int_equal(tf__sink_flush(s, &err), 0);
    assert_true(exists((const char *)spool.data));
    log_is(f.log, &d, 1);
    file_is_str(f.out, "");
    d.recorded = true;
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    assert_int_equal(tf__sink_close(s, &err), 0);
    /* Every task's output is written: the spool is not needed. */
    assert_false(exists((const char *)spool.data));
    file_is_str(f.out, "four\n");
    log_is(f.log, &d, 1);
    tf_buf_cleanup(&spool);
    files_close(&f);
}

static void
test_sink_spool_of_a_failed_run_holds_its_kept_task_unmarked(void **state)
{
    struct tf__resume *res;
    struct tf__sink *s;
    struct tf_error err;
    struct tf_buf spool;
    struct files f;
    struct tf__done d = done_of(4, "four\n", NULL, "c4");
    uint64_t pieces_off;
    uint64_t rec_off;

    (void)state;
    files_open(&f);
    tf_buf_init(&spool, 0);
    assert_int_equal(tf__sink_spool_path(f.log, &spool), 0);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, f.log, false, &s, &err),
                     0);
    assert_int_equal(tf__sink_keep(s, &d, &err), 0);
    assert_int_equal(tf__sink_flush(s, &err), 0);
    assert_int_equal(tf__sink_close(s, NULL), 0);
    assert_true(exists((const char *)spool.data));
    file_is_str(f.out, "");
    /* A resumed run finds the task's output there, not yet written. */
    assert_int_equal(tf__resume_new(&res, &err), 0);
    assert_int_equal(
        tf__resume_load_store(res, (const char *)spool.data, &err), 0);
    assert_true(tf__resume_unmarked(res, 4));
    assert_false(tf__resume_unmarked(res, 3));
    assert_true(tf__resume_stored_at(res, 4, &pieces_off, &rec_off));
    assert_true(pieces_off == rec_off);
    tf__resume_free(res);
    unlink((const char *)spool.data);
    tf_buf_cleanup(&spool);
    files_close(&f);
}

/* Makes B a blob of the N bytes at P in three parts: two spans of SPOOL's
 * file (with one of OTHER's in between) and one in memory. */
static void
blob_of(struct tf__spool *spool, struct tf__blob *b, struct tf__blob *other,
        const char *p, size_t n)
{
    struct tf_error err;
    size_t third = n / 3;

    tf_error_init(&err);
    tf__blob_init(b);
    tf__blob_init(other);
    assert_int_equal(tf__blob_append(b, p, third), 0);
    assert_int_equal(tf__blob_spill(spool, b, &err), 0);
    assert_int_equal(tf__blob_append(other, "other", 5), 0);
    assert_int_equal(tf__blob_spill(spool, other, &err), 0);
    assert_int_equal(tf__blob_append(b, p + third, third), 0);
    assert_int_equal(tf__blob_spill(spool, b, &err), 0);
    assert_int_equal(tf__blob_append(b, p + 2 * third, n - 2 * third), 0);
    assert_int_equal(b->next, 2);
    assert_true(b->len == n);
}

/* Collects a task's output from tf__results_reader_output(). */
struct output {
    struct tf_buf out;
    struct tf_buf err;
};

static int
take_output(void *arg, bool is_err, const void *p, size_t n,
            struct tf_error *e)
{
    struct output *o = arg;

    (void)e;
    assert_int_equal(tf_buf_append(is_err ? &o->err : &o->out, p, n), 0);
    return 0;
}

/* The output of the task whose record is at REC_OFF of the results file
 * PATH, its pieces from PIECES_OFF, in O (initialised by the caller). */
static void
stored_output(const char *path, uint64_t pieces_off, uint64_t rec_off,
              struct output *o)
{
    struct tf__results_reader *rd;
    struct tf_error err;

    tf_error_init(&err);
    assert_int_equal(tf__results_reader_open(path, &rd, &err), 0);
    assert_int_equal(tf__results_reader_output(rd, pieces_off, rec_off,
                                               take_output, o, &err),
                     0);
    tf__results_reader_close(rd);
}

static void
test_sink_writes_a_blob_then_its_tail_and_records_them_in_pieces(
    void **state)
{
    size_t blob_bytes = 1400 * 1024;
    size_t tail_bytes = 50 * 1024;
    struct tf__sink_opts o;
    struct tf__results *r;
    struct tf__spool *spool;
    struct tf__sink *s;
    struct tf__blob b;
    struct tf__blob other;
    struct tf_error err;
    struct output got;
    struct files f;
    struct recs g;
    char results[40];
    char *bytes = pattern(blob_bytes + tail_bytes, 3);
    struct tf__done d = done_of(5, NULL, "warning\n", "c5");
    size_t i;

    (void)state;
    files_open(&f);
    temp_path(results);
    tf_error_init(&err);
    assert_int_equal(tf__spool_new(NULL, &spool, &err), 0);
    blob_of(spool, &b, &other, bytes, blob_bytes);
    d.out_blob = &b;
    d.spool = spool;
    d.out = bytes + blob_bytes;
    d.out_len = tail_bytes;
    assert_int_equal(tf__results_open(results, 0, &r, &err), 0);
    o = opts_of(f.out_fd, f.err_fd, f.log, r);
    assert_int_equal(open_started(&o, &s, &err), 0);
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    assert_int_equal(tf__sink_close(s, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    file_is(f.out, bytes, blob_bytes + tail_bytes);
    file_is_str(f.err, "warning\n");
    /* Pieces of at most TF__RESULTS_PIECE bytes, then the task's record. */
    scan_recs(results, &g);
    assert_true(g.n >= 3);
    for (i = 0; i + 1 < g.n; i++) {
        assert_int_equal(g.r[i].kind, TF__REC_PIECE);
        assert_true(g.r[i].id == 5);
        assert_true(g.r[i].out_len + g.r[i].err_len <= TF__RESULTS_PIECE);
    }
    assert_int_equal(g.r[i].kind, TF__REC_TASK);
    assert_true(g.r[i].id == 5);
    assert_int_equal(g.r[i].flags, TF__REC_PIECES | TF__REC_EMITTED);
    assert_true(g.r[i].out_total == blob_bytes + tail_bytes);
    assert_true(g.r[i].err_total == 8);
    /* Read back, they are the whole output. */
    tf_buf_init(&got.out, 0);
    tf_buf_init(&got.err, 0);
    stored_output(results, g.r[0].off, g.r[i].off, &got);
    assert_int_equal(got.out.len, blob_bytes + tail_bytes);
    assert_memory_equal(got.out.data, bytes, got.out.len);
    assert_int_equal(got.err.len, 8);
    assert_memory_equal(got.err.data, "warning\n", 8);
    log_is(f.log, &d, 1);
    tf_buf_cleanup(&got.out);
    tf_buf_cleanup(&got.err);
    tf__blob_release(spool, &b);
    tf__blob_release(spool, &other);
    tf__spool_free(spool);
    free(bytes);
    unlink(results);
    files_close(&f);
}

static void
test_sink_with_tag_tags_each_line_of_a_blob_once(void **state)
{
    static const char *const parts[] = {"first li", "ne\nsec", "ond line\n",
                                        "\nno newline"};
    struct tf__spool *spool;
    struct tf__sink *s;
    struct tf__blob b;
    struct tf__blob other;
    struct tf_error err;
    struct files f;
    struct tf__done d = done_of(7, NULL, NULL, "c");
    size_t i;

    (void)state;
    files_open(&f);
    tf_error_init(&err);
    assert_int_equal(tf__spool_new(NULL, &spool, &err), 0);
    /* Lines split across two spans of the file, memory and the tail. */
    tf__blob_init(&b);
    tf__blob_init(&other);
    for (i = 0; i < 3; i++) {
        assert_int_equal(tf__blob_append(&b, parts[i], strlen(parts[i])), 0);
        if (i < 2)
            assert_int_equal(tf__blob_spill(spool, &b, &err), 0);
        if (i == 0) {
            assert_int_equal(tf__blob_append(&other, "x", 1), 0);
            assert_int_equal(tf__blob_spill(spool, &other, &err), 0);
        }
    }
    assert_int_equal(b.next, 2);
    d.out_blob = &b;
    d.spool = spool;
    d.out = parts[3];
    d.out_len = strlen(parts[3]);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, NULL, true, &s, &err), 0);
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    assert_int_equal(tf__sink_close(s, &err), 0);
    file_is_str(f.out, "7\tfirst line\n7\tsecond line\n7\t\n7\tno newline\n");
    file_is_str(f.err, "");
    tf__blob_release(spool, &b);
    tf__blob_release(spool, &other);
    tf__spool_free(spool);
    files_close(&f);
}

static void
test_sink_replay_writes_a_kept_output_and_marks_it(void **state)
{
    size_t out_bytes = 1200 * 1024;
    struct tf__results_reader *rd;
    struct tf__sink_opts o;
    struct tf__results *r;
    struct tf__resume *res;
    struct tf__spool *spool;
    struct tf__sink *s;
    struct tf__blob b;
    struct tf__blob other;
    struct tf_error err;
    struct files f;
    struct recs g;
    char results[40];
    char *bytes = pattern(out_bytes, 5);
    struct tf__done d = done_of(6, NULL, "err 6\n", "c6");
    uint64_t pieces_off = 0;
    uint64_t rec_off = 0;

    (void)state;
    files_open(&f);
    temp_path(results);
    tf_error_init(&err);
    /* A run keeps task 6, in pieces, and fails before its turn. */
    assert_int_equal(tf__spool_new(NULL, &spool, &err), 0);
    blob_of(spool, &b, &other, bytes, out_bytes);
    d.out_blob = &b;
    d.spool = spool;
    assert_int_equal(tf__results_open(results, 0, &r, &err), 0);
    o = opts_of(f.out_fd, f.err_fd, NULL, r);
    assert_int_equal(open_started(&o, &s, &err), 0);
    assert_int_equal(tf__sink_keep(s, &d, &err), 0);
    assert_int_equal(tf__sink_close(s, NULL), 0);
    assert_int_equal(tf__results_close(r, NULL), 0);
    file_is_str(f.out, "");
    scan_recs(results, &g);
    assert_true(g.n >= 3);
    assert_int_equal(g.r[g.n - 1].kind, TF__REC_TASK);
    assert_int_equal(g.r[g.n - 1].flags, TF__REC_PIECES);
    /* The next run writes it first. */
    assert_int_equal(tf__resume_new(&res, &err), 0);
    assert_int_equal(tf__resume_load_store(res, results, &err), 0);
    assert_true(tf__resume_stored_at(res, 6, &pieces_off, &rec_off));
    assert_true(pieces_off == g.r[0].off && rec_off == g.r[g.n - 1].off);
    tf__resume_free(res);
    assert_int_equal(tf__results_open(results, 0, &r, &err), 0);
    assert_int_equal(tf__results_reader_open(results, &rd, &err), 0);
    o = opts_of(f.out_fd, f.err_fd, NULL, r);
    assert_int_equal(open_started(&o, &s, &err), 0);
    assert_int_equal(
        tf__sink_replay(s, rd, 6, pieces_off, rec_off, &err), 0);
    assert_int_equal(tf__sink_close(s, &err), 0);
    tf__results_reader_close(rd);
    assert_int_equal(tf__results_close(r, &err), 0);
    file_is(f.out, bytes, out_bytes);
    file_is_str(f.err, "err 6\n");
    scan_recs(results, &g);
    assert_int_equal(g.r[g.n - 1].kind, TF__REC_MARK);
    assert_true(g.r[g.n - 1].id == 6);
    /* So a third run has nothing of it to write. */
    assert_int_equal(tf__resume_new(&res, &err), 0);
    assert_int_equal(tf__resume_load_store(res, results, &err), 0);
    assert_false(tf__resume_unmarked(res, 6));
    tf__resume_free(res);
    tf__blob_release(spool, &b);
    tf__blob_release(spool, &other);
    tf__spool_free(spool);
    free(bytes);
    unlink(results);
    files_close(&f);
}

static void
test_sink_with_output_file_records_its_size_after_each_task(void **state)
{
    static const size_t sizes[] = {10, 200, 3000, 100 * 1024};
    struct tf__sink_opts o;
    struct tf__results *r;
    struct tf__sink *s;
    struct tf_error err;
    struct files f;
    struct recs g;
    char results[40];
    char real[PATH_MAX];
    char *out[4];
    uint64_t end = 7;
    size_t i;
    size_t k;

    (void)state;
    files_open(&f);
    temp_path(results);
    tf_error_init(&err);
    /* What an earlier run left in the file stays before this run's. */
    assert_int_equal(write(f.out_fd, "before\n", 7), 7);
    assert_int_equal(lseek(f.out_fd, 0, SEEK_SET), 0);
    assert_int_equal(tf__results_open(results, 0, &r, &err), 0);
    o = opts_of(f.out_fd, f.err_fd, NULL, r);
    o.out_path = f.out;
    assert_int_equal(open_started(&o, &s, &err), 0);
    for (i = 0; i < 4; i++) {
        struct tf__done d;

        out[i] = pattern(sizes[i], (unsigned)i);
        d = done_of(i + 1, out[i], NULL, "c");
        assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    }
    assert_int_equal(tf__sink_flush(s, &err), 0);
    scan_recs(results, &g);
    /* First, which file and how large. */
    assert_non_null(realpath(f.out, real));
    assert_int_equal(g.r[0].kind, TF__REC_MARK);
    assert_true(g.r[0].id == 0);
    assert_string_equal(g.r[0].cmd, real);
    assert_true(g.r[0].out_end == 7);
    /* Then the tasks' records (the last one's output in pieces before
     * it). */
    k = 1;
    for (i = 0; i < 4; i++) {
        while (k < g.n && g.r[k].kind == TF__REC_PIECE)
            k++;
        assert_true(k < g.n);
        end += sizes[i];
        assert_int_equal(g.r[k].kind, TF__REC_TASK);
        assert_true(g.r[k].id == i + 1);
        assert_true(g.r[k].flags & TF__REC_EMITTED);
        if (g.r[k].out_end != end)
            fail_msg("task %zu: out_end %" PRIu64 ", expected %" PRIu64,
                     i + 1, g.r[k].out_end, end);
        k++;
    }
    assert_int_equal(k, g.n);
    assert_true(file_size(f.out) == end);
    assert_int_equal(tf__sink_close(s, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    for (i = 0; i < 4; i++)
        free(out[i]);
    unlink(results);
    files_close(&f);
}

static void
test_sink_joblog_open_in_another_sink_is_eusage(void **state)
{
    struct tf__sink_opts o;
    struct tf__sink *s;
    struct tf__sink *s2 = (struct tf__sink *)&s2;
    struct tf_error err;
    struct files f;
    struct tf__done d = done_of(1, "one\n", NULL, "c");

    (void)state;
    files_open(&f);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, f.log, false, &s, &err),
                     0);
    assert_int_equal(tf__sink_emit(s, &d, &err), 0);
    assert_int_equal(tf__sink_flush(s, &err), 0);
    tf_error_init(&err);
    assert_int_equal(sink_open(f.out_fd, f.err_fd, f.log, false, &s2, &err),
                     TF_EUSAGE);
    assert_null(s2);
    assert_non_null(strstr(err.msg, f.log));
    assert_non_null(strstr(err.msg, "in use by another taskfarm run"));
    /* The first run's joblog is as it was. */
    log_is(f.log, &d, 1);
    assert_int_equal(tf__sink_close(s, &err), 0);
    /* Closed, it is free again. */
    o = opts_of(f.out_fd, f.err_fd, f.log, NULL);
    o.append = true;
    assert_int_equal(open_started(&o, &s2, &err), 0);
    assert_int_equal(tf__sink_close(s2, &err), 0);
    log_is(f.log, &d, 1);
    files_close(&f);
}

/* The joblog's command of a task: "job ID of LABEL_ARG". */
static int
label_of(void *arg, const struct tf__done *d, struct tf_buf *out)
{
    return tf_buf_printf(out, "job %" PRIu64 " of %s", d->id,
                         (const char *)arg);
}

static void
test_sink_label_gives_the_joblog_command_column(void **state)
{
    static char run[] = "run";
    struct tf__sink_opts o;
    struct tf__sink *s;
    struct tf_error err;
    struct files f;
    struct tf__done d[2] = {done_of(8, "a\n", NULL, "task text"),
                            done_of(9, "b\n", NULL, "more text")};
    struct tf__done want[2];
    int i;

    (void)state;
    files_open(&f);
    o = opts_of(f.out_fd, f.err_fd, f.log, NULL);
    o.label = label_of;
    o.label_arg = run;
    assert_int_equal(open_started(&o, &s, &err), 0);
    for (i = 0; i < 2; i++)
        assert_int_equal(tf__sink_emit(s, &d[i], &err), 0);
    assert_int_equal(tf__sink_close(s, &err), 0);
    /* Those lines, with the label for the task's text. */
    want[0] = d[0];
    want[0].cmd = "job 8 of run";
    want[0].cmd_len = 12;
    want[1] = d[1];
    want[1].cmd = "job 9 of run";
    want[1].cmd_len = 12;
    log_is(f.log, want, 2);
    file_is_str(f.out, "a\nb\n");
    files_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joblog_header_is_gnu_parallels),
        cmocka_unit_test(
            test_joblog_line_has_the_gnu_parallel_columns_byte_for_byte),
        cmocka_unit_test(test_joblog_writes_signal_and_big_numbers),
        cmocka_unit_test(test_joblog_rounds_to_milliseconds_with_carry),
        cmocka_unit_test(test_joblog_runtime_wider_than_ten_columns_is_not_cut),
        cmocka_unit_test(test_joblog_negative_status_keeps_its_sign),
        cmocka_unit_test(
            test_joblog_turns_newline_and_cr_in_command_into_spaces),
        cmocka_unit_test(test_joblog_uses_host_len_and_cmd_len_not_nul),
        cmocka_unit_test(test_joblog_appends_after_existing_content),
        cmocka_unit_test(test_joblog_over_cap_fails_and_keeps_buffer),
        cmocka_unit_test(test_tag_lines_prefixes_every_line_with_id_and_tab),
        cmocka_unit_test(test_tag_lines_ends_last_line_with_newline),
        cmocka_unit_test(test_tag_lines_of_nothing_is_nothing),
        cmocka_unit_test(test_tag_lines_keeps_cr_and_binary_bytes),
        cmocka_unit_test(test_tag_lines_appends_after_existing_content),
        cmocka_unit_test(test_sink_writes_joblog_header_at_open),
        cmocka_unit_test(test_sink_emits_blocks_whole_and_in_call_order),
        cmocka_unit_test(test_sink_writes_everything_by_close_without_flush),
        cmocka_unit_test(test_sink_keeps_order_around_blocks_too_big_to_buffer),
        cmocka_unit_test(test_sink_with_tag_prefixes_lines_of_both_streams),
        cmocka_unit_test(test_sink_writes_into_a_pipe),
        cmocka_unit_test(test_sink_unwritable_joblog_is_eusage_naming_the_path),
        cmocka_unit_test(test_sink_joblog_on_a_full_device_fails_at_open),
        cmocka_unit_test(test_sink_flush_to_full_device_is_esys),
        cmocka_unit_test(test_sink_close_to_full_device_is_esys),
        cmocka_unit_test(test_sink_emit_of_big_block_to_full_device_is_esys),
        cmocka_unit_test(test_sink_close_of_null_is_a_no_op),
        cmocka_unit_test(
            test_sink_writes_joblog_lines_only_once_the_output_is_written),
        cmocka_unit_test(
            test_sink_failed_output_write_records_only_the_tasks_written_whole),
        cmocka_unit_test(
            test_sink_record_that_cannot_be_written_takes_the_output_back),
        cmocka_unit_test(
            test_sink_record_that_cannot_be_written_takes_a_large_output_back),
        cmocka_unit_test(
            test_sink_keep_records_the_output_and_its_emit_writes_it_and_marks),
        cmocka_unit_test(
            test_sink_keep_without_results_spools_and_a_clean_close_removes_it),
        cmocka_unit_test(
            test_sink_spool_of_a_failed_run_holds_its_kept_task_unmarked),
        cmocka_unit_test(
            test_sink_writes_a_blob_then_its_tail_and_records_them_in_pieces),
        cmocka_unit_test(test_sink_with_tag_tags_each_line_of_a_blob_once),
        cmocka_unit_test(test_sink_replay_writes_a_kept_output_and_marks_it),
        cmocka_unit_test(
            test_sink_with_output_file_records_its_size_after_each_task),
        cmocka_unit_test(test_sink_joblog_open_in_another_sink_is_eusage),
        cmocka_unit_test(test_sink_label_gives_the_joblog_command_column),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
