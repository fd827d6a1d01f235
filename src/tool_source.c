/* tool_source.c - task sources: the lines of a file or of standard input */
#include "tool_source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define READ_SIZE (1u << 20)

struct tf__source {
    int fd;
    bool own_fd;
    bool regular;
    bool eof;
    bool nonblocking;
    bool every_line;   /* no line is a comment */
    char *name;        /* owned */
    size_t max_line;
    char *buf;         /* owned */
    size_t cap;
    size_t start;      /* first unread byte */
    size_t end;        /* one past the last byte read */
    uint64_t lineno;
};

const char *
tf__source_name(const struct tf__source *src)
{
    return src->name;
}

void
tf__source_close(struct tf__source *src)
{
    if (src == NULL)
        return;
    if (src->own_fd && src->fd >= 0)
        close(src->fd);
    free(src->name);
    free(src->buf);
    free(src);
}

int
tf__source_open(const char *path, size_t max_line, struct tf__source **out,
                struct tf_error *err)
{
    struct tf__source *src;
    struct stat st;
    int rc;

    *out = NULL;
    src = calloc(1, sizeof(*src));
    if (src == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    src->fd = -1;
    src->max_line = max_line;
    src->name = strdup(strcmp(path, "-") == 0 ? "stdin" : path);
    src->cap = READ_SIZE > max_line + 1 ? READ_SIZE : max_line + 1;
    src->buf = malloc(src->cap);
    if (src->name == NULL || src->buf == NULL) {
        rc = tf__error(err, TF_ENOMEM, "out of memory");
        goto fail;
    }
    if (strcmp(path, "-") == 0) {
        src->fd = STDIN_FILENO;
    } else {
        src->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (src->fd < 0) {
            rc = tf__error_errno(err, TF_EINPUT, errno, "%s", path);
            goto fail;
        }
        src->own_fd = true;
    }
    if (fstat(src->fd, &st) < 0) {
        rc = tf__error_errno(err, TF_EINPUT, errno, "%s", src->name);
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = tf__error(err, TF_EINPUT, "%s: is a directory", src->name);
        goto fail;
    }
    src->regular = S_ISREG(st.st_mode);
    *out = src;
    return 0;
fail:
    tf__source_close(src);
    return rc;
}

void
tf__source_set_every_line(struct tf__source *src, bool every_line)
{
    src->every_line = every_line;
}

void
tf__source_set_blocking(struct tf__source *src, bool blocking)
{
    src->nonblocking = !blocking;
}

/* Reads more input after the unread bytes. Returns 1 when bytes were read,
 * 0 at EOF, TF__SOURCE_WAIT when none are ready and we may not wait. */
static int
fill(struct tf__source *src, struct tf_error *err)
{
    ssize_t r;

    if (src->nonblocking && !src->regular) {
        struct pollfd pfd = {.fd = src->fd, .events = POLLIN};
        int n;

        /* A poll a signal interrupted says nothing about the pipe: ask
         * again rather than fall through to a read that may block. */
        for (;;) {
            n = poll(&pfd, 1, 0);
            if (n >= 0 || errno != EINTR)
                break;
        }
        if (n == 0)
            return TF__SOURCE_WAIT;
        if (n < 0)
            return tf__error_errno(err, TF_EINPUT, errno, "%s", src->name);
    }
    if (src->start > 0) {
        memmove(src->buf, src->buf + src->start, src->end - src->start);
        src->end -= src->start;
        src->start = 0;
    }
    for (;;) {
        r = read(src->fd, src->buf + src->end, src->cap - src->end);
        if (r >= 0)
            break;
        if (errno != EINTR)
            return tf__error_errno(err, TF_EINPUT, errno, "%s", src->name);
    }
    if (r == 0)
        src->eof = true;
    src->end += (size_t)r;
    return (int)(r > 0);
}

static int
too_long(struct tf__source *src, struct tf_error *err)
{
    return tf__error(err, TF_EINPUT, "%s:%llu: line longer than %zu bytes",
                     src->name, (unsigned long long)src->lineno + 1,
                     src->max_line);
}

int
tf__source_next(struct tf__source *src, uint64_t *id, const char **line,
                size_t *len, struct tf_error *err)
{
    for (;;) {
        char *p = src->buf + src->start;
        size_t avail = src->end - src->start;
        char *nl = memchr(p, '\n', avail);
        size_t n;
        size_t i;
        int rc;

        if (nl == NULL) {
            if (avail > src->max_line)
                return too_long(src, err);
            if (!src->eof) {
                rc = fill(src, err);
                if (rc < 0 || rc == TF__SOURCE_WAIT)
                    return rc;
                continue;
            }
            if (avail == 0)
                return 0;
            n = avail; /* a last line without a newline */
            src->start = src->end;
        } else {
            n = (size_t)(nl - p);
            src->start += n + 1;
        }
        src->lineno++;
        if (n > src->max_line)
            return tf__error(err, TF_EINPUT,
                             "%s:%llu: line longer than %zu bytes", src->name,
                             (unsigned long long)src->lineno, src->max_line);
        if (memchr(p, '\0', n) != NULL)
            return tf__error(err, TF_EINPUT, "%s:%llu: NUL byte in line",
                             src->name, (unsigned long long)src->lineno);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
            ;
        if (!src->every_line && (i == n || p[i] == '#'))
            continue;
        *id = src->lineno;
        *line = p;
        *len = n;
        return 1;
    }
}

int
tf__source_prescan(struct tf__source *src, uint64_t *count,
                   struct tf_error *err)
{
    uint64_t n = 0;
    uint64_t id;
    const char *line;
    size_t len;
    int rc;

    if (!src->regular)
        return 1;
    for (;;) {
        rc = tf__source_next(src, &id, &line, &len, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        n++;
    }
    if (lseek(src->fd, 0, SEEK_SET) < 0)
        return 1; /* cannot rewind: treat as a stream */
    src->start = 0;
    src->end = 0;
    src->eof = false;
    src->lineno = 0;
    *count = n;
    return 0;
}
