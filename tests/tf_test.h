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
#include <string.h>
#include <unistd.h>

#include "taskfarm.h"

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

#endif /* TF_TEST_H */
