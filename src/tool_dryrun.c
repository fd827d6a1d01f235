/* tool_dryrun.c - --dry-run: the commands a line-reading job would run */
#include "tool_dryrun.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "tool_lines.h"
#include "tool_source.h"
#include "template.h"
#include "util.h"

/* Output is gathered and written this many bytes at a time. */
#define FLUSH_BYTES ((size_t)1 << 16)

static int
flush(struct tf_buf *out, int fd, struct tf_error *err)
{
    int e;

    if (out->len == 0)
        return 0;
    if (tf__write_all(fd, out->data, out->len) < 0) {
        e = errno;
        tf_buf_reset(out);
        if (e == EPIPE)
            return TF__DRYRUN_CLOSED;
        return tf__error_errno(err, TF_ESYS, e, "writing %s",
                               fd == STDOUT_FILENO ? "stdout" : "output");
    }
    tf_buf_reset(out);
    return 0;
}

/* Appends the command of task ID, whose line is LINE (LEN bytes), to OUT,
 * and writes OUT when it has grown large. */
static int
emit(struct tf__dryrun *d, uint64_t id, const char *line, size_t len,
     struct tf_buf *out, int fd, struct tf_error *err)
{
    int slot = (int)(d->tasks % (uint64_t)d->nslots) + 1;
    char num[24];
    size_t n;
    int rc = 0;

    if (d->tag) {
        n = tf__fmt_u64(num, id);
        num[n++] = '\t';
        rc = tf_buf_append(out, num, n);
    }
    if (rc == 0 && d->tmpl != NULL)
        rc = tf__template_apply(d->tmpl, line, len, id, slot, out);
    else if (rc == 0)
        rc = tf_buf_append(out, line, len);
    if (rc == 0)
        rc = tf_buf_append(out, "\n", 1);
    if (rc < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    d->tasks++;
    if (out->len >= FLUSH_BYTES)
        return flush(out, fd, err);
    return 0;
}

int
tf__dryrun_lines(struct tf__dryrun *d, int out_fd, struct tf_error *err)
{
    struct tf__source *src = NULL;
    struct tf__lines l;
    struct tf_buf out;
    uint64_t count;
    uint64_t id;
    size_t len;
    int rc;

    d->tasks = 0;
    d->skipped = 0;
    if (d->nslots < 1)
        d->nslots = 1;
    tf_buf_init(&out, 0);
    rc = tf__source_open(d->input, d->max_line, &src, err);
    if (rc == 0) {
        tf__source_set_every_line(src, d->tmpl != NULL);
        /* As in the run: a task file is checked whole first. */
        rc = tf__source_prescan(src, &count, err);
        if (rc > 0)
            rc = 0;
    }
    memset(&l, 0, sizeof(l));
    l.src = src;
    l.resume = d->resume;
    l.rerun_failed = d->rerun_failed;
    l.history = d->history;
    l.lpt = d->lpt && d->history != NULL;
    while (rc == 0) {
        const void *line;

        rc = tf__lines_next(&l, &id, &line, &len, true, err);
        if (rc != 1)
            break;
        rc = emit(d, id, line, len, &out, out_fd, err);
    }
    d->skipped = l.skipped;
    tf__lines_cleanup(&l);
    /* What came before a bad line of a pipe is written, as it would have
     * run; the error is the one to report. */
    if (rc < 0)
        flush(&out, out_fd, NULL);
    else if (rc == 0)
        rc = flush(&out, out_fd, err);
    tf_buf_cleanup(&out);
    tf__source_close(src);
    return rc;
}
