/* tf_test.h - the includes every cmocka unit test of taskfarm starts with */
#ifndef TF_TEST_H
#define TF_TEST_H

/* cmocka 1.1.5 needs these four, in this order, before <cmocka.h>. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "taskfarm.h"
#include "tool_log.h"

/* Puts in PATH (40 bytes) a fresh name "/tmp/tf_test_TAG_XXXXXX", made
 * unique, for a file that does not exist yet. */
static inline void
tf_test_temp_path(char *path, const char *tag)
{
    int fd;

    assert_true(snprintf(path, 40, "/tmp/tf_test_%s_XXXXXX", tag) < 40);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
}

/* Creates or truncates PATH and writes the N bytes at P to it; a failure
 * fails the test. */
static inline void
tf_test_write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    if (n > 0)
        assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

/* Reads the whole content of PATH into BUF; a failure fails the test. */
static inline void
tf_test_slurp(const char *path, struct tf_buf *buf)
{
    char chunk[65536];
    ssize_t n;
    int fd;

    tf_buf_reset(buf);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        assert_int_equal(tf_buf_append(buf, chunk, (size_t)n), 0);
    }
    assert_int_equal(n, 0);
    close(fd);
}

/*
 * Runs MAIN_FN, a subcommand's main, with ARGS (NULL-terminated, at most 15)
 * as its argv, at the log level the command runs at, and puts its standard
 * output and error in OUT and ERR (both initialised by the caller). Returns
 * its exit status; a failure to redirect fails the test.
 */
static inline int
tf_test_run_main(int (*main_fn)(int, char **), const char *const *args,
                 struct tf_buf *out, struct tf_buf *err)
{
    char out_path[40] = "/tmp/tf_test_main_out_XXXXXX";
    char err_path[40] = "/tmp/tf_test_main_err_XXXXXX";
    char *argv[16];
    int out_fd = mkstemp(out_path);
    int err_fd = mkstemp(err_path);
    int saved_out;
    int saved_err;
    int argc = 0;
    int status;

    assert_true(out_fd >= 0 && err_fd >= 0);
    while (args[argc] != NULL) {
        assert_true(argc < 15);
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(STDOUT_FILENO);
    saved_err = dup(STDERR_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    tf__tool_log_start(TF_LOG_WARN); /* as the command runs it */
    status = main_fn(argc, argv);
    tf__log_set_level(TF_LOG_ERROR);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    close(out_fd);
    close(err_fd);
    tf_test_slurp(out_path, out);
    tf_test_slurp(err_path, err);
    unlink(out_path);
    unlink(err_path);
    return status;
}

#endif /* TF_TEST_H */
