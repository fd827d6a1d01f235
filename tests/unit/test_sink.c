/* test_sink.c - unit tests of the joblog format, tagging and the sink */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink.h"
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
        rc = tf__sink_start(*out, NULL, err);
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
