/* sink.c - where finished tasks go: output blocks and the joblog */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "results.h"
#include "util.h"

/* Blocks are gathered up to this size and written with one write(). */
#define FLUSH_AT (256 * 1024)

struct tf__sink {
    int out_fd;
    int err_fd;
    int log_fd;
    bool tag;
    char *log_path; /* owned */
    struct tf_buf out; /* owned */
    struct tf_buf err; /* owned */
    struct tf_buf log; /* owned */
    struct tf__results *results; /* borrowed, or NULL */
};

/* Appends "S.mmm" for a count of microseconds, rounded to milliseconds. */
static size_t
fmt_seconds(char *p, uint64_t us)
{
    uint64_t ms = (us + 500) / 1000;
    size_t n;

    n = tf__fmt_u64(p, ms / 1000);
    p[n++] = '.';
    p[n++] = (char)('0' + ms / 100 % 10);
    p[n++] = (char)('0' + ms / 10 % 10);
    p[n++] = (char)('0' + ms % 10);
    return n;
}

int
tf__joblog_format(struct tf_buf *buf, const struct tf__done *d)
{
    char *p;
    char *start;
    size_t n;
    size_t i;
    char secs[32];
    int rc;

    rc = tf_buf_reserve(buf, 160 + d->host_len + d->cmd_len);
    if (rc < 0)
        return rc;
    start = p = (char *)buf->data + buf->len;
    p += tf__fmt_u64(p, d->id);
    *p++ = '\t';
    memcpy(p, d->host, d->host_len);
    p += d->host_len;
    *p++ = '\t';
    p += fmt_seconds(p, d->start_us < 0 ? 0 : (uint64_t)d->start_us);
    *p++ = '\t';
    n = fmt_seconds(secs, d->runtime_us);
    for (i = n; i < 10; i++)
        *p++ = ' ';
    memcpy(p, secs, n);
    p += n;
    *p++ = '\t';
    p += tf__fmt_u64(p, d->send_bytes);
    *p++ = '\t';
    p += tf__fmt_u64(p, d->out_len);
    *p++ = '\t';
    if (d->status < 0) {
        *p++ = '-';
        p += tf__fmt_u64(p, (uint64_t)(-(int64_t)d->status));
    } else {
        p += tf__fmt_u64(p, (uint64_t)d->status);
    }
    *p++ = '\t';
    p += tf__fmt_u64(p, (uint64_t)(d->signal < 0 ? 0 : d->signal));
    *p++ = '\t';
    for (i = 0; i < d->cmd_len; i++) {
        char c = ((const char *)d->cmd)[i];

        *p++ = (c == '\n' || c == '\r') ? ' ' : c;
    }
    *p++ = '\n';
    buf->len += (size_t)(p - start);
    buf->data[buf->len] = '\0';
    return 0;
}

int
tf__tag_lines(struct tf_buf *buf, uint64_t id, const void *p, size_t n)
{
    const char *s = p;
    const char *end = s + n;
    char prefix[24];
    size_t plen;
    int rc;

    plen = tf__fmt_u64(prefix, id);
    prefix[plen++] = '\t';
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl != NULL ? (size_t)(nl - s) + 1 : (size_t)(end - s);

        rc = tf_buf_append(buf, prefix, plen);
        if (rc == 0)
            rc = tf_buf_append(buf, s, len);
        if (rc == 0 && nl == NULL)
            rc = tf_buf_append(buf, "\n", 1);
        if (rc < 0)
            return rc;
        s += len;
    }
    return 0;
}

static int
write_buf(int fd, struct tf_buf *b, const char *what, struct tf_error *err)
{
    if (b->len == 0)
        return 0;
    if (tf__write_all(fd, b->data, b->len) < 0) {
        int e = errno;

        tf_buf_reset(b);
        return tf__error_errno(err, TF_ESYS, e, "writing %s", what);
    }
    tf_buf_reset(b);
    return 0;
}

int
tf__sink_flush(struct tf__sink *s, struct tf_error *err)
{
    int rc;

    rc = write_buf(s->out_fd, &s->out, "standard output", err);
    if (rc == 0)
        rc = write_buf(s->err_fd, &s->err, "standard error", err);
    if (rc == 0 && (s->log.len > 0 || s->results != NULL)) {
        /* A joblog write that fails part way (a full disk) is taken back,
         * so the file still ends with a whole line; so are the joblog's
         * lines when the results file could not take the same tasks, so
         * that both record the same tasks. */
        off_t at = s->log_fd >= 0 ? lseek(s->log_fd, 0, SEEK_END) : -1;

        if (s->log_fd >= 0)
            rc = write_buf(s->log_fd, &s->log, s->log_path, err);
        if (rc == 0 && s->results != NULL)
            rc = tf__results_flush(s->results, false, err);
        else if (rc < 0)
            tf__results_discard(s->results);
        if (rc < 0 && at >= 0 && ftruncate(s->log_fd, at) < 0)
            tf__log(TF_LOG_WARN, "%s: cannot cut off a part-written line",
                    s->log_path);
    }
    return rc;
}

int
tf__sink_open(int out_fd, int err_fd, const char *joblog, bool tag,
              struct tf__sink **out, struct tf_error *err)
{
    return tf__sink_open_ex(out_fd, err_fd, joblog, false, tag, out, err);
}

void
tf__sink_set_results(struct tf__sink *s, struct tf__results *r)
{
    s->results = r;
}

int
tf__sink_open_ex(int out_fd, int err_fd, const char *joblog, bool append,
                 bool tag, struct tf__sink **out, struct tf_error *err)
{
    struct stat st;
    struct tf__sink *s;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    s->out_fd = out_fd;
    s->err_fd = err_fd;
    s->log_fd = -1;
    s->tag = tag;
    tf_buf_init(&s->out, 0);
    tf_buf_init(&s->err, 0);
    tf_buf_init(&s->log, 0);
    if (joblog != NULL) {
        s->log_path = strdup(joblog);
        if (s->log_path == NULL) {
            rc = tf__error(err, TF_ENOMEM, "out of memory");
            goto fail;
        }
        s->log_fd = open(joblog,
                         O_WRONLY | O_CREAT | O_CLOEXEC |
                             (append ? O_APPEND : O_TRUNC),
                         0666);
        if (s->log_fd < 0 || fstat(s->log_fd, &st) < 0) {
            rc = tf__error_errno(err, TF_EUSAGE, errno, "%s", joblog);
            goto fail;
        }
        rc = 0;
        if (st.st_size == 0)
            rc = tf_buf_puts(&s->log, TF__JOBLOG_HEADER);
        if (rc == 0)
            rc = write_buf(s->log_fd, &s->log, joblog, err);
        if (rc < 0)
            goto fail;
    }
    *out = s;
    return 0;
fail:
    tf__sink_close(s, NULL);
    return rc;
}

static int
put_block(struct tf__sink *s, int fd, struct tf_buf *b, uint64_t id,
          const void *p, size_t n, const char *what, struct tf_error *err)
{
    int rc;

    if (n == 0)
        return 0;
    if (s->tag) {
        rc = tf__tag_lines(b, id, p, n);
        if (rc < 0)
            return tf__error(err, rc, "out of memory");
    } else if (b->len + n > FLUSH_AT) {
        /* A big block goes out directly rather than through the buffer. */
        rc = tf__sink_flush(s, err);
        if (rc < 0)
            return rc;
        if (tf__write_all(fd, p, n) < 0)
            return tf__error_errno(err, TF_ESYS, errno, "writing %s", what);
        return 0;
    } else {
        rc = tf_buf_append(b, p, n);
        if (rc < 0)
            return tf__error(err, rc, "out of memory");
    }
    return 0;
}

int
tf__sink_emit(struct tf__sink *s, const struct tf__done *d,
              struct tf_error *err)
{
    int rc;

    rc = put_block(s, s->out_fd, &s->out, d->id, d->out, d->out_len,
                   "standard output", err);
    if (rc == 0)
        rc = put_block(s, s->err_fd, &s->err, d->id, d->err, d->err_len,
                       "standard error", err);
    if (rc == 0 && s->log_fd >= 0) {
        rc = tf__joblog_format(&s->log, d);
        if (rc < 0)
            return tf__error(err, rc, "out of memory");
    }
    if (rc == 0 && s->results != NULL) {
        struct tf__result_rec rec;

        rec.id = d->id;
        rec.hash = tf__task_hash(d->cmd, d->cmd_len);
        rec.status = d->status;
        rec.signal = d->signal;
        rec.flags = d->flags;
        rec.attempt = d->attempt;
        rec.worker = d->worker;
        rec.start_us = d->start_us;
        rec.runtime_us = d->runtime_us;
        rec.host = d->host;
        rec.host_len = d->host_len;
        rec.cmd = d->cmd;
        rec.cmd_len = d->cmd_len;
        rec.out = d->out;
        rec.out_len = d->out_len;
        rec.err = d->err;
        rec.err_len = d->err_len;
        rc = tf__results_add(s->results, &rec, err);
    }
    if (rc == 0 &&
        (s->out.len > FLUSH_AT || s->err.len > FLUSH_AT ||
         s->log.len > FLUSH_AT))
        rc = tf__sink_flush(s, err);
    return rc;
}

int
tf__sink_close(struct tf__sink *s, struct tf_error *err)
{
    int rc = 0;

    if (s == NULL)
        return 0;
    if (err != NULL)
        rc = tf__sink_flush(s, err);
    if (s->log_fd >= 0 && close(s->log_fd) < 0 && rc == 0)
        rc = tf__error_errno(err, TF_ESYS, errno, "%s", s->log_path);
    tf_buf_cleanup(&s->out);
    tf_buf_cleanup(&s->err);
    tf_buf_cleanup(&s->log);
    free(s->log_path);
    free(s);
    return rc;
}
