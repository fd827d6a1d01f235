/* test_source.c - unit tests of task sources: lines of a file or stdin */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool_source.h"
#include "tf_test.h"

/* Writes the N bytes at P to a new temporary file; returns its path, which
 * the caller unlinks and frees. */
static char *
temp_file(const void *p, size_t n)
{
    char *path = strdup("/tmp/tf_test_source_XXXXXX");
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
    return path;
}

static void
remove_temp(char *path)
{
    unlink(path);
    free(path);
}

struct line {
    uint64_t id;
    const char *text;
};

/* Reads the source at PATH and checks it yields exactly WANT, then the
 * end, and the end again. */
static void
reads_exactly(const char *path, size_t max_line, const struct line *want,
              size_t nwant)
{
    struct tf__source *src;
    struct tf_error err;
    const char *line;
    uint64_t id;
    size_t len;
    size_t i;

    tf_error_init(&err);
    assert_int_equal(tf__source_open(path, max_line, &src, &err), 0);
    for (i = 0; i < nwant; i++) {
        int rc = tf__source_next(src, &id, &line, &len, &err);

        if (rc != 1)
            fail_msg("task %zu: got %d (%s)", i, rc, err.msg);
        assert_int_equal(id, want[i].id);
        assert_int_equal(len, strlen(want[i].text));
        assert_memory_equal(line, want[i].text, len);
    }
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 0);
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 0);
    tf__source_close(src);
}

/* Writes TEXT to a file and checks reading it gives WANT. */
static void
text_reads(const char *text, size_t n, size_t max_line, const struct line *want,
           size_t nwant)
{
    char *path = temp_file(text, n);

    reads_exactly(path, max_line, want, nwant);
    remove_temp(path);
}

/*
 * Writes TEXT to a file and reads it with lines of at most MAX_LINE bytes.
 * Returns the first non-1 result of tf__source_next, having checked the
 * tasks before it numbered 1, 2, ... up to NGOOD; ERR's message is prefixed
 * with the path replaced by "FILE".
 */
static int
read_until_error(const char *text, size_t n, size_t max_line, size_t ngood,
                 struct tf_error *err)
{
    char *path = temp_file(text, n);
    struct tf__source *src;
    const char *line;
    uint64_t id;
    size_t len;
    size_t good = 0;
    int rc;

    tf_error_init(err);
    assert_int_equal(tf__source_open(path, max_line, &src, err), 0);
    for (;;) {
        rc = tf__source_next(src, &id, &line, &len, err);
        if (rc != 1)
            break;
        good++;
    }
    assert_int_equal(good, ngood);
    if (rc < 0) {
        size_t plen = strlen(path);

        /* The message names the file first. */
        assert_memory_equal(err->msg, path, plen);
        memmove(err->msg + 4, err->msg + plen, strlen(err->msg + plen) + 1);
        memcpy(err->msg, "FILE", 4);
    }
    tf__source_close(src);
    remove_temp(path);
    return rc;
}

static void
test_ids_are_line_numbers_skipping_blank_and_comment_lines(void **state)
{
    static const char text[] = "first\n"
                               "\n"
                               "# a comment\n"
                               "   # x\n"
                               "\t#tab comment\n"
                               "   \t  \n"
                               "second line\n"
                               "  indented\n"
                               "not # a comment\n"
                               "#\n"
                               "last\n";
    static const struct line want[] = {
        {1, "first"},           {7, "second line"}, {8, "  indented"},
        {9, "not # a comment"}, {11, "last"},
    };

    (void)state;
    text_reads(text, sizeof(text) - 1, 100, want, 5);
}

static void
test_trailing_cr_is_stripped_but_only_one(void **state)
{
    static const char text[] = "dos\r\n"
                               "two\r\r\n"
                               "mid\rdle\n"
                               "\r\n"
                               "  \r\n"
                               "#c\r\n"
                               "end\r";
    static const struct line want[] = {
        {1, "dos"},
        {2, "two\r"},
        {3, "mid\rdle"},
        {7, "end"},
    };

    (void)state;
    text_reads(text, sizeof(text) - 1, 100, want, 4);
}

static void
test_last_line_without_newline_is_a_task(void **state)
{
    static const char text[] = "a\nb\nc";
    static const struct line want[] = {{1, "a"}, {2, "b"}, {3, "c"}};

    (void)state;
    text_reads(text, sizeof(text) - 1, 100, want, 3);
    /* And a single line without any newline. */
    text_reads("only", 4, 100, (const struct line[]){{1, "only"}}, 1);
}

static void
test_empty_file_and_only_comments_give_no_tasks(void **state)
{
    static const char text[] = "# header\n\n   \n#x";

    (void)state;
    text_reads("", 0, 100, NULL, 0);
    text_reads(text, sizeof(text) - 1, 100, NULL, 0);
}

static void
test_line_keeps_inner_and_trailing_blanks_and_any_other_byte(void **state)
{
    static const char text[] = "a  b\t \n"
                               "\xff\xfe\x01\x7f\n"
                               "$(rm -rf ~) 'q'\n";
    static const struct line want[] = {
        {1, "a  b\t "},
        {2, "\xff\xfe\x01\x7f"},
        {3, "$(rm -rf ~) 'q'"},
    };

    (void)state;
    text_reads(text, sizeof(text) - 1, 100, want, 3);
}

static void
test_nul_byte_is_einput_naming_file_and_line(void **state)
{
    static const char text[] = "one\ntwo\n# c\nfo\0ur\nfive\n";
    struct tf_error err;

    (void)state;
    assert_int_equal(read_until_error(text, sizeof(text) - 1, 100, 2, &err),
                     TF_EINPUT);
    assert_int_equal(err.code, TF_EINPUT);
    assert_non_null(strstr(err.msg, "FILE:4: NUL byte"));
}

static void
test_nul_byte_in_a_comment_or_last_line_is_still_einput(void **state)
{
    static const char comment[] = "ok\n#\0\n";
    static const char last[] = "ok\nx\0";
    struct tf_error err;

    (void)state;
    assert_int_equal(
        read_until_error(comment, sizeof(comment) - 1, 100, 1, &err),
        TF_EINPUT);
    assert_non_null(strstr(err.msg, "FILE:2: NUL byte"));
    assert_int_equal(read_until_error(last, sizeof(last) - 1, 100, 1, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, "FILE:2: NUL byte"));
}

static void
test_overlong_line_is_einput_naming_line_and_limit(void **state)
{
    static const char text[] = "a\n"
                               "0123456789abcdefg\n" /* 17 bytes */
                               "b\n";
    struct tf_error err;

    (void)state;
    assert_int_equal(read_until_error(text, sizeof(text) - 1, 16, 1, &err),
                     TF_EINPUT);
    assert_string_equal(err.msg, "FILE:2: line longer than 16 bytes");
}

static void
test_overlong_last_line_without_newline_is_einput(void **state)
{
    static const char text[] = "a\n"
                               "# c\n"
                               "0123456789abcdefg"; /* 17 bytes */
    struct tf_error err;

    (void)state;
    assert_int_equal(read_until_error(text, sizeof(text) - 1, 16, 1, &err),
                     TF_EINPUT);
    assert_string_equal(err.msg, "FILE:3: line longer than 16 bytes");
}

static void
test_line_of_exactly_max_line_bytes_is_accepted(void **state)
{
    static const char with_nl[] = "0123456789abcdef\nx\n";
    static const char without_nl[] = "x\n0123456789abcdef";
    static const struct line want1[] = {{1, "0123456789abcdef"}, {2, "x"}};
    static const struct line want2[] = {{1, "x"}, {2, "0123456789abcdef"}};

    (void)state;
    text_reads(with_nl, sizeof(with_nl) - 1, 16, want1, 2);
    text_reads(without_nl, sizeof(without_nl) - 1, 16, want2, 2);
}

static void
test_line_longer_than_the_read_buffer_is_einput(void **state)
{
    size_t n = (3u << 20) + 5;
    char *text = malloc(n);
    struct tf_error err;

    (void)state;
    assert_non_null(text);
    memcpy(text, "ok\n", 3);
    memset(text + 3, 'x', n - 4);
    text[n - 1] = '\n';
    assert_int_equal(read_until_error(text, n, 1000, 1, &err), TF_EINPUT);
    assert_string_equal(err.msg, "FILE:2: line longer than 1000 bytes");
    /* The same with the default limit of 1 MiB. */
    assert_int_equal(read_until_error(text, n, TF__DEFAULT_MAX_LINE, 1, &err),
                     TF_EINPUT);
    assert_string_equal(err.msg, "FILE:2: line longer than 1048576 bytes");
    free(text);
}

static void
test_line_of_default_max_accepted_and_one_more_rejected(void **state)
{
    size_t max = TF__DEFAULT_MAX_LINE;
    char *text = malloc(max + 3);
    char *path;
    struct tf__source *src;
    struct tf_error err;
    const char *line;
    uint64_t id;
    size_t len;

    (void)state;
    assert_non_null(text);
    memset(text, 'y', max + 1);
    text[max] = '\n';
    text[max + 1] = 'z';
    path = temp_file(text, max + 2);
    assert_int_equal(tf__source_open(path, max, &src, &err), 0);
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 1);
    assert_int_equal(id, 1);
    assert_int_equal(len, max);
    assert_int_equal(line[0], 'y');
    assert_int_equal(line[max - 1], 'y');
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 1);
    assert_int_equal(id, 2);
    assert_int_equal(len, 1);
    assert_int_equal(line[0], 'z');
    tf__source_close(src);
    remove_temp(path);
    memset(text, 'y', max + 1);
    text[max + 1] = '\n';
    assert_int_equal(read_until_error(text, max + 2, max, 0, &err), TF_EINPUT);
    assert_string_equal(err.msg, "FILE:1: line longer than 1048576 bytes");
    free(text);
}

static void
test_missing_file_is_einput_naming_the_path(void **state)
{
    static const char path[] = "/nonexistent/tf_test/tasks.txt";
    struct tf__source *src = (struct tf__source *)&src;
    struct tf_error err;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__source_open(path, 100, &src, &err), TF_EINPUT);
    assert_null(src);
    assert_int_equal(err.code, TF_EINPUT);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));
}

static void
test_directory_is_einput_naming_the_path(void **state)
{
    char dir[] = "/tmp/tf_test_dir_XXXXXX";
    struct tf__source *src = (struct tf__source *)&src;
    struct tf_error err;

    (void)state;
    assert_non_null(mkdtemp(dir));
    tf_error_init(&err);
    assert_int_equal(tf__source_open(dir, 100, &src, &err), TF_EINPUT);
    assert_null(src);
    assert_non_null(strstr(err.msg, dir));
    assert_non_null(strstr(err.msg, "directory"));
    assert_int_equal(rmdir(dir), 0);
}

static void
test_name_is_the_path_or_stdin(void **state)
{
    static const char text[] = "x\n";
    char *path = temp_file(text, 2);
    struct tf__source *src;
    struct tf_error err;

    (void)state;
    assert_int_equal(tf__source_open(path, 100, &src, &err), 0);
    assert_string_equal(tf__source_name(src), path);
    tf__source_close(src);
    assert_int_equal(tf__source_open("-", 100, &src, &err), 0);
    assert_string_equal(tf__source_name(src), "stdin");
    tf__source_close(src);
    tf__source_close(NULL);
    remove_temp(path);
}

static void
test_prescan_counts_tasks_then_reading_gives_the_same_tasks(void **state)
{
    static const char text[] = "# list\n"
                               "a\n"
                               "\n"
                               "b\r\n"
                               "  # no\n"
                               "c";
    static const struct line want[] = {{2, "a"}, {4, "b"}, {6, "c"}};
    char *path = temp_file(text, sizeof(text) - 1);
    struct tf__source *src;
    struct tf_error err;
    const char *line;
    uint64_t count = 0;
    uint64_t id;
    size_t len;
    size_t i;

    (void)state;
    assert_int_equal(tf__source_open(path, 100, &src, &err), 0);
    assert_int_equal(tf__source_prescan(src, &count, &err), 0);
    assert_int_equal(count, 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 1);
        assert_int_equal(id, want[i].id);
        assert_int_equal(len, strlen(want[i].text));
        assert_memory_equal(line, want[i].text, len);
    }
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 0);
    tf__source_close(src);
    remove_temp(path);
}

static void
test_prescan_reports_bad_line_before_any_task_is_read(void **state)
{
    static const char text[] = "a\nb\nc\n0123456789abcdefg\nd\n";
    char *path = temp_file(text, sizeof(text) - 1);
    struct tf__source *src;
    struct tf_error err;
    uint64_t count = 99;

    (void)state;
    assert_int_equal(tf__source_open(path, 16, &src, &err), 0);
    assert_int_equal(tf__source_prescan(src, &count, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, ":4: line longer than 16 bytes"));
    tf__source_close(src);
    remove_temp(path);
}

static void
test_prescan_of_empty_file_counts_zero(void **state)
{
    char *path = temp_file("", 0);
    struct tf__source *src;
    struct tf_error err;
    const char *line;
    uint64_t count = 99;
    uint64_t id;
    size_t len;

    (void)state;
    assert_int_equal(tf__source_open(path, 100, &src, &err), 0);
    assert_int_equal(tf__source_prescan(src, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 0);
    tf__source_close(src);
    remove_temp(path);
}

static void
test_prescan_of_pipe_on_stdin_returns_one_and_leaves_it_unread(void **state)
{
    static const char text[] = "p1\n#c\np3\n";
    struct tf__source *src;
    struct tf_error err;
    const char *line;
    uint64_t count = 99;
    uint64_t id;
    size_t len;
    int saved;
    int fds[2];

    (void)state;
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], text, sizeof(text) - 1),
                     (ssize_t)sizeof(text) - 1);
    assert_int_equal(close(fds[1]), 0);
    saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    assert_int_equal(close(fds[0]), 0);

    assert_int_equal(tf__source_open("-", 100, &src, &err), 0);
    assert_int_equal(tf__source_prescan(src, &count, &err), 1);
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 1);
    assert_int_equal(id, 1);
    assert_int_equal(len, 2);
    assert_memory_equal(line, "p1", 2);
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 1);
    assert_int_equal(id, 3);
    assert_memory_equal(line, "p3", 2);
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 0);
    tf__source_close(src);
    /* The source does not close the stdin it did not open. */
    assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);

    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    assert_int_equal(close(saved), 0);
}

/* Length of line I of the big file: mostly short, some long, a few of
 * several hundred KiB. */
static size_t
big_line_len(uint64_t i)
{
    uint64_t x = i * 0x9e3779b97f4a7c15u;

    x ^= x >> 29;
    if (i % 97 == 5)
        return 200000 + (size_t)(x % 300000);
    if (i % 11 == 3)
        return 1000 + (size_t)(x % 20000);
    return (size_t)(x % 300);
}

/* Byte J of line I; a line never starts with '#', which would make it a
 * comment. */
static char
big_byte(uint64_t i, size_t j)
{
    if (j == 0)
        return 'L';
    return (char)('!' + (i * 31 + j * 7) % 90);
}

static void
test_lines_across_read_buffer_boundaries_are_read_intact(void **state)
{
    const size_t max_line = 600000; /* the read buffer is then 1 MiB */
    struct tf_buf text;
    struct tf__source *src;
    struct tf_error err;
    const char *line;
    char *path;
    uint64_t nlines = 0;
    uint64_t crossings = 0;
    uint64_t id;
    uint64_t i;
    size_t len;
    size_t j;

    (void)state;
    tf_buf_init(&text, 0);
    for (i = 1; text.len < (3u << 20) + 12345 || crossings < 3; i++) {
        size_t n = big_line_len(i);
        size_t start = text.len;

        assert_int_equal(tf_buf_reserve(&text, n + 1), 0);
        for (j = 0; j < n; j++)
            text.data[text.len++] = (unsigned char)big_byte(i, j);
        text.data[text.len++] = '\n';
        /* Count lines that straddle a multiple of 1 MiB. */
        if (start >> 20 != (text.len - 1) >> 20)
            crossings++;
        nlines = i;
    }
    path = temp_file(text.data, text.len);
    assert_int_equal(tf__source_open(path, max_line, &src, &err), 0);
    for (i = 1; i <= nlines; i++) {
        size_t n = big_line_len(i);

        if (n == 0)
            continue;
        assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 1);
        assert_int_equal(id, i);
        assert_int_equal(len, n);
        for (j = 0; j < n; j++) {
            if (line[j] != big_byte(i, j))
                fail_msg("line %llu differs at byte %zu", (unsigned long long)i,
                         j);
        }
    }
    assert_int_equal(tf__source_next(src, &id, &line, &len, &err), 0);
    tf__source_close(src);
    remove_temp(path);
    tf_buf_cleanup(&text);
}

static void
test_lines_across_buffer_boundaries_with_default_max(void **state)
{
    struct tf_buf text;
    struct tf__source *src;
    struct tf_error err;
    const char *line;
    char *path;
    uint64_t id = 0;
    uint64_t count = 0;
    uint64_t i;
    size_t len;
    size_t pos = 0;

    (void)state;
    /* Lines of 1 to 1000 bytes with their number in them, 4 MiB. */
    tf_buf_init(&text, 0);
    for (i = 1; text.len < (4u << 20); i++) {
        size_t n = 1 + (size_t)((i * 7919) % 1000);
        size_t j;

        assert_int_equal(tf_buf_printf(&text, "%llu:", (unsigned long long)i),
                         0);
        for (j = 0; j < n; j++)
            assert_int_equal(tf_buf_append(&text, &"abcdefgh"[j % 8], 1), 0);
        assert_int_equal(tf_buf_append(&text, "\n", 1), 0);
    }
    path = temp_file(text.data, text.len);
    assert_int_equal(tf__source_open(path, TF__DEFAULT_MAX_LINE, &src, &err),
                     0);
    assert_int_equal(tf__source_prescan(src, &count, &err), 0);
    assert_int_equal(count, i - 1);
    /* Reading gives back the file byte for byte, line by line. */
    while (tf__source_next(src, &id, &line, &len, &err) == 1) {
        const char *nl = memchr(text.data + pos, '\n', text.len - pos);

        assert_non_null(nl);
        assert_int_equal(len, (size_t)(nl - (const char *)text.data) - pos);
        assert_memory_equal(line, text.data + pos, len);
        pos += len + 1;
    }
    assert_int_equal(pos, text.len);
    assert_int_equal(id, count);
    tf__source_close(src);
    remove_temp(path);
    tf_buf_cleanup(&text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_ids_are_line_numbers_skipping_blank_and_comment_lines),
        cmocka_unit_test(test_trailing_cr_is_stripped_but_only_one),
        cmocka_unit_test(test_last_line_without_newline_is_a_task),
        cmocka_unit_test(test_empty_file_and_only_comments_give_no_tasks),
        cmocka_unit_test(
            test_line_keeps_inner_and_trailing_blanks_and_any_other_byte),
        cmocka_unit_test(test_nul_byte_is_einput_naming_file_and_line),
        cmocka_unit_test(
            test_nul_byte_in_a_comment_or_last_line_is_still_einput),
        cmocka_unit_test(test_overlong_line_is_einput_naming_line_and_limit),
        cmocka_unit_test(test_overlong_last_line_without_newline_is_einput),
        cmocka_unit_test(test_line_of_exactly_max_line_bytes_is_accepted),
        cmocka_unit_test(test_line_longer_than_the_read_buffer_is_einput),
        cmocka_unit_test(
            test_line_of_default_max_accepted_and_one_more_rejected),
        cmocka_unit_test(test_missing_file_is_einput_naming_the_path),
        cmocka_unit_test(test_directory_is_einput_naming_the_path),
        cmocka_unit_test(test_name_is_the_path_or_stdin),
        cmocka_unit_test(
            test_prescan_counts_tasks_then_reading_gives_the_same_tasks),
        cmocka_unit_test(test_prescan_reports_bad_line_before_any_task_is_read),
        cmocka_unit_test(test_prescan_of_empty_file_counts_zero),
        cmocka_unit_test(
            test_prescan_of_pipe_on_stdin_returns_one_and_leaves_it_unread),
        cmocka_unit_test(
            test_lines_across_read_buffer_boundaries_are_read_intact),
        cmocka_unit_test(test_lines_across_buffer_boundaries_with_default_max),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
