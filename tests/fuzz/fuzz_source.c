/* fuzz_source.c - libFuzzer target: the task-file reader (src/source.c) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "tool_source.h"

/*
 * Input: one control byte, then the task file.
 *   bits 0-1  --max-line: 1, 3, 8 or 64 bytes, so inputs of a few bytes
 *             already reach the overlong-line errors;
 *   bits 2-3  how the file is read: 0 a regular file; 1 a regular file,
 *             prescanned first; 2 a pipe in non-blocking mode, fed in
 *             pieces only when the reader says it would wait, so lines are
 *             split across reads; 3 a pipe written whole and then closed,
 *             read blocking;
 *   bits 4-7  the piece size for mode 2: 1 + 13 * (bits 4-7) bytes.
 * Whatever the mode, the tasks and the error must be those of a plain
 * reading of the whole input, written out below in want_tasks().
 *
 * In mode 2 every other poll() the source makes fails with EINTR, the
 * first of them while the pipe is still empty, as when a signal arrives
 * during the call: the source must poll again, never fall through to a
 * read that blocks (the writer is this process, so that would hang).
 * The target is linked with -Wl,--wrap=poll for this.
 */
static const size_t max_lines[4] = {1, 3, 8, 64};

int __real_poll(struct pollfd *fds, nfds_t n, int timeout);
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout);

static bool interrupt_polls;
static unsigned long npolls;

int
__wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (interrupt_polls && npolls++ % 2 == 0) {
        errno = EINTR;
        return -1;
    }
    return __real_poll(fds, n, timeout);
}

/* One task as want_tasks() sees it: line number and bytes of the input. */
struct want {
    uint64_t id;
    size_t off;
    size_t len;
};

/* How the reading ends. */
struct want_end {
    uint64_t bad_line; /* 0: at the end of the input, without error */
    bool too_long;     /* else a NUL byte */
};

/*
 * The specification of tf__source_next(), applied to the whole input at
 * once: fills W (room for N + 1 tasks) and END, returns the task count.
 */
static size_t
want_tasks(const char *p, size_t n, size_t max_line, struct want *w,
           struct want_end *end)
{
    uint64_t lineno = 0;
    size_t off = 0;
    size_t k = 0;

    end->bad_line = 0;
    end->too_long = false;
    while (off < n) {
        const char *nl = memchr(p + off, '\n', n - off);
        size_t len = nl == NULL ? n - off : (size_t)(nl - (p + off));
        size_t l = len;
        size_t i = 0;

        lineno++;
        if (len > max_line || memchr(p + off, '\0', len) != NULL) {
            end->bad_line = lineno;
            end->too_long = len > max_line;
            return k;
        }
        if (l > 0 && p[off + l - 1] == '\r')
            l--;
        while (i < l && (p[off + i] == ' ' || p[off + i] == '\t'))
            i++;
        if (i < l && p[off + i] != '#') {
            w[k].id = lineno;
            w[k].off = off;
            w[k].len = l;
            k++;
        }
        off += len + (nl != NULL);
    }
    return k;
}

/* Checks that ERR reports END: the line number and the reason. */
static void
check_error(int rc, const struct tf_error *err, const struct want_end *end)
{
    char num[32];

    FUZZ_CHECK(rc == TF_EINPUT);
    FUZZ_CHECK(end->bad_line != 0);
    snprintf(num, sizeof(num), ":%llu: ", (unsigned long long)end->bad_line);
    FUZZ_CHECK(strstr(err->msg, num) != NULL);
    if (end->too_long)
        FUZZ_CHECK(strstr(err->msg, "line longer than") != NULL);
    else
        FUZZ_CHECK(strstr(err->msg, "NUL byte") != NULL);
}

/* Where the bytes of a pipe come from, and how many are in it already. */
struct feeder {
    int wfd; /* -1 once closed */
    const char *p;
    size_t n;
    size_t done;
    size_t piece;
};

/* Writes the next piece into the pipe, or closes it after the last. */
static void
feed(struct feeder *f)
{
    size_t k = f->n - f->done;

    FUZZ_CHECK(f->wfd >= 0); /* a reader waiting after EOF never returns */
    if (k == 0) {
        close(f->wfd);
        f->wfd = -1;
        return;
    }
    if (k > f->piece)
        k = f->piece;
    /* The reader waits only on an empty pipe, so this never blocks. */
    FUZZ_CHECK(write(f->wfd, f->p + f->done, k) == (ssize_t)k);
    f->done += k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    struct feeder f = {-1, text, n, 0, 0};
    struct tf__source *src = NULL;
    struct want_end end;
    struct tf_error err;
    struct want *w;
    char path[64];
    size_t max_line;
    size_t nwant;
    size_t k = 0;
    int mode;
    int rfd = -1;
    int rc;

    if (size == 0)
        return 0;
    max_line = max_lines[data[0] & 3];
    mode = (data[0] >> 2) & 3;
    f.piece = 1 + 13 * (size_t)(data[0] >> 4);
    /* A pipe written whole must hold the input: Linux pipes hold 64 KiB. */
    if (mode == 3 && n > 60000)
        mode = 2;

    w = malloc((n + 1) * sizeof(*w));
    FUZZ_CHECK(w != NULL);
    nwant = want_tasks(text, n, max_line, w, &end);

    tf_error_init(&err);
    if (mode < 2) {
        fuzz_memfile(text, n, path);
    } else {
        int fds[2];

        FUZZ_CHECK(pipe2(fds, O_CLOEXEC) == 0);
        rfd = fds[0];
        f.wfd = fds[1];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", rfd);
        if (mode == 3) {
            f.piece = n;
            if (n > 0)
                feed(&f);
            feed(&f);
        }
    }
    rc = tf__source_open(path, max_line, &src, &err);
    FUZZ_CHECK(rc == 0);
    if (mode == 2)
        tf__source_set_blocking(src, false);
    interrupt_polls = mode == 2;
    npolls = 0;

    if (mode == 1) {
        uint64_t count = 0;

        rc = tf__source_prescan(src, &count, &err);
        if (end.bad_line != 0) {
            /* Bad input is reported before any task runs. */
            check_error(rc, &err, &end);
            goto done;
        }
        FUZZ_CHECK(rc == 0);
        FUZZ_CHECK(count == nwant);
    }

    for (;;) {
        const char *line = NULL;
        uint64_t id = 0;
        size_t len = 0;

        rc = tf__source_next(src, &id, &line, &len, &err);
        if (rc == TF__SOURCE_WAIT) {
            FUZZ_CHECK(mode == 2);
            feed(&f);
            continue;
        }
        if (rc != 1)
            break;
        FUZZ_CHECK(k < nwant);
        FUZZ_CHECK(id == w[k].id);
        FUZZ_CHECK(len == w[k].len);
        FUZZ_CHECK(len <= max_line);
        FUZZ_CHECK(memcmp(line, text + w[k].off, len) == 0);
        k++;
    }
    FUZZ_CHECK(k == nwant);
    if (end.bad_line == 0) {
        FUZZ_CHECK(rc == 0);
        /* The end stays the end. */
        FUZZ_CHECK(tf__source_next(src, &(uint64_t){0}, &(const char *){NULL},
                                   &(size_t){0}, &err) == 0);
    } else {
        check_error(rc, &err, &end);
    }
done:
    interrupt_polls = false;
    tf__source_close(src);
    if (f.wfd >= 0)
        close(f.wfd);
    if (rfd >= 0)
        close(rfd);
    free(w);
    return 0;
}
