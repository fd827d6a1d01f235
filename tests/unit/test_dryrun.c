/* test_dryrun.c - unit tests of --dry-run: the commands a run would start */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tool_dryrun.h"
#include "tool_history.h"
#include "tool_resume.h"
#include "template.h"
#include "tf_test.h"

#define HEADER                                                                 \
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\t"       \
    "Command\n"

/* Writes TEXT to a fresh temporary file whose name goes to PATH (40 B). */
static void
temp_file(char *path, const char *text)
{
    int fd;

    strcpy(path, "/tmp/tf_test_dryrun_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Runs tf__dryrun_lines() on D into a temporary file and stores what it
 * wrote in OUT (NUL-terminated). Returns its return value. */
static int
dry(struct tf__dryrun *d, struct tf_buf *out, struct tf_error *err)
{
    char path[40];
    int fd;
    int rc;

    strcpy(path, "/tmp/tf_test_dryrun_out_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    rc = tf__dryrun_lines(d, fd, err);
    close(fd);
    tf_test_slurp(path, out);
    assert_int_equal(tf_buf_append(out, "", 1), 0);
    out->len--;
    unlink(path);
    return rc;
}

static void
test_dryrun_writes_each_line_as_is_without_template(void **state)
{
    struct tf__dryrun d;
    struct tf_error err;
    struct tf_buf out;
    char path[40];

    (void)state;
    temp_file(path, "echo a\n# a comment\n\n   \necho 'b c' | wc -c\r\n");
    memset(&d, 0, sizeof(d));
    d.input = path;
    d.max_line = 1024;
    tf_buf_init(&out, 0);
    assert_int_equal(dry(&d, &out, &err), 0);
    assert_string_equal((char *)out.data, "echo a\necho 'b c' | wc -c\n");
    assert_int_equal(d.tasks, 2);
    assert_int_equal(d.skipped, 0);
    tf_buf_cleanup(&out);
    unlink(path);
}

static void
test_dryrun_expands_template_with_ids_and_round_robin_slots(void **state)
{
    struct tf__template *t = NULL;
    struct tf__dryrun d;
    struct tf_error err;
    struct tf_buf out;
    char path[40];

    (void)state;
    /* With a template every line is data: "#skip" too. */
    temp_file(path, "dir/a.txt\n#skip\nb c.tar.gz\nx\n");
    memset(&d, 0, sizeof(d));
    d.input = path;
    d.max_line = 1024;
    assert_int_equal(tf__template_compile("cmd {} {.} {/} {//} {/.} {#} {%}",
                                          NULL, &t, &err),
                     0);
    d.tmpl = t;
    d.nslots = 2;
    d.tag = true;
    tf_buf_init(&out, 0);
    assert_int_equal(dry(&d, &out, &err), 0);
    assert_string_equal((char *)out.data,
                        "1\tcmd dir/a.txt dir/a a.txt dir a 1 1\n"
                        "2\tcmd '#skip' '#skip' '#skip' . '#skip' 2 2\n"
                        "3\tcmd 'b c.tar.gz' 'b c.tar' 'b c.tar.gz' . "
                        "'b c.tar' 3 1\n"
                        "4\tcmd x x x . x 4 2\n");
    tf_buf_cleanup(&out);
    tf__template_free(t);
    unlink(path);
}

static void
test_dryrun_leaves_out_what_resume_holds_as_done(void **state)
{
    struct tf__resume *r = NULL;
    struct tf__dryrun d;
    struct tf_error err;
    struct tf_buf out;
    char tasks[40], log[40];

    (void)state;
    temp_file(tasks, "echo 1\necho 2\necho 3\necho 4\n");
    /* 1 succeeded, 2 failed, 3 succeeded with other text: only 1 is done,
     * and 2 as well unless failed tasks run again. */
    temp_file(log, HEADER "1\th\t1700000000.000\t0.001\t0\t0\t0\t0\techo 1\n"
                          "2\th\t1700000000.000\t0.001\t0\t0\t1\t0\techo 2\n"
                          "3\th\t1700000000.000\t0.001\t0\t0\t0\t0\techo x\n");
    assert_int_equal(tf__resume_new(&r, &err), 0);
    assert_int_equal(tf__resume_load_joblog(r, log, NULL, &err), 0);
    memset(&d, 0, sizeof(d));
    d.input = tasks;
    d.max_line = 1024;
    d.resume = r;
    tf_buf_init(&out, 0);
    assert_int_equal(dry(&d, &out, &err), 0);
    assert_string_equal((char *)out.data, "echo 3\necho 4\n");
    assert_int_equal(d.skipped, 2);
    d.rerun_failed = true;
    assert_int_equal(dry(&d, &out, &err), 0);
    assert_string_equal((char *)out.data, "echo 2\necho 3\necho 4\n");
    assert_int_equal(d.skipped, 1);
    tf_buf_cleanup(&out);
    tf__resume_free(r);
    unlink(tasks);
    unlink(log);
}

static void
test_dryrun_orders_longest_first_by_history(void **state)
{
    struct tf__history *h = NULL;
    struct tf__dryrun d;
    struct tf_error err;
    struct tf_buf out;
    char tasks[40], log[40];

    (void)state;
    temp_file(tasks, "short\nlong\nmiddle\nnew\n");
    temp_file(log, HEADER "1\th\t1700000000.000\t1.000\t0\t0\t0\t0\tshort\n"
                          "2\th\t1700000000.000\t9.000\t0\t0\t0\t0\tlong\n"
                          "3\th\t1700000000.000\t4.000\t0\t0\t0\t0\tmiddle\n");
    assert_int_equal(tf__history_load(log, &h, &err), 0);
    memset(&d, 0, sizeof(d));
    d.input = tasks;
    d.max_line = 1024;
    d.history = h;
    d.lpt = true;
    tf_buf_init(&out, 0);
    assert_int_equal(dry(&d, &out, &err), 0);
    /* "new" is not in the history: it counts as the mean, 4.667 s. */
    assert_string_equal((char *)out.data, "long\nnew\nmiddle\nshort\n");
    d.lpt = false;
    assert_int_equal(dry(&d, &out, &err), 0);
    assert_string_equal((char *)out.data, "short\nlong\nmiddle\nnew\n");
    tf_buf_cleanup(&out);
    tf__history_free(h);
    unlink(tasks);
    unlink(log);
}

static void
test_dryrun_bad_file_writes_nothing_and_names_the_line(void **state)
{
    static const char text[] = "echo a\necho b\0c\necho d\n";
    struct tf__dryrun d;
    struct tf_error err;
    struct tf_buf out;
    char path[40], want[64];
    int fd;

    (void)state;
    strcpy(path, "/tmp/tf_test_dryrun_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1),
                     (ssize_t)sizeof(text) - 1);
    close(fd);
    memset(&d, 0, sizeof(d));
    d.input = path;
    d.max_line = 1024;
    tf_buf_init(&out, 0);
    tf_error_init(&err);
    assert_int_equal(dry(&d, &out, &err), TF_EINPUT);
    assert_int_equal(out.len, 0);
    snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
    assert_string_equal(err.msg, want);
    d.max_line = 4;
    assert_int_equal(dry(&d, &out, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, ":1: line longer than 4 bytes"));
    tf_buf_cleanup(&out);
    unlink(path);
}

static void
test_dryrun_missing_file_is_input_error(void **state)
{
    struct tf__dryrun d;
    struct tf_error err;

    (void)state;
    memset(&d, 0, sizeof(d));
    d.input = "/nonexistent/tasks.txt";
    d.max_line = 1024;
    tf_error_init(&err);
    assert_int_equal(tf__dryrun_lines(&d, -1, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "/nonexistent/tasks.txt"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dryrun_writes_each_line_as_is_without_template),
        cmocka_unit_test(
            test_dryrun_expands_template_with_ids_and_round_robin_slots),
        cmocka_unit_test(test_dryrun_leaves_out_what_resume_holds_as_done),
        cmocka_unit_test(test_dryrun_orders_longest_first_by_history),
        cmocka_unit_test(
            test_dryrun_bad_file_writes_nothing_and_names_the_line),
        cmocka_unit_test(test_dryrun_missing_file_is_input_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
