/* sink.c - where finished tasks go: output blocks, the joblog and the
 * results file, each record after the output it promises */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "results.h"
#include "spool.h"
#include "util.h"

/* Blocks are gathered up to this size and written with one write(). */
#define FLUSH_AT (256 * 1024)

/* Output of a task written whole through the buffer is about this large at
 * most; a larger one is written straight from where it is. */
#define BIG_AT (64 * 1024)

/* One output stream: standard output (or --output), standard error. */
struct stream {
    int fd;
    const char *name;  /* for messages */
    bool seekable;     /* a regular file: a torn write can be cut back */
    struct tf_buf buf; /* owned: tasks' output not yet written */
};

/*
 * A task whose output is in the buffers: where that output ends there, and
 * where its records start among those waiting, so that after a failed
 * write the records stop at the last task written whole.
 */
struct pend {
    size_t out_end;
    size_t err_end;
    size_t log_start;
    size_t res_start;
    size_t spool_start;
};

struct tf__sink {
    struct stream out;
    struct stream err;
    char *out_name;       /* owned: the --output path, or NULL */
    uint64_t out_size;    /* with --output: its size, written so far */
    int log_fd;
    char *log_path;       /* owned, or NULL */
    struct tf_buf log;    /* owned: joblog lines not yet written */
    bool tag;
    struct tf__results *results; /* borrowed, or NULL */
    struct tf__results *spool;   /* owned: the joblog's spool, once a task
                                    was kept without a results file */
    char *spool_path;     /* owned; NULL without a joblog */
    uint64_t sync_us;
    int (*label)(void *arg, const struct tf__done *d, struct tf_buf *out);
    void *label_arg;
    struct tf_buf text;   /* owned: a label, a tagged part */
    /* Whether the run resumed holds task ID's output unwritten, or NULL:
     * tf__sink_start()'s UNMARKED and its ARG. */
    bool (*unmarked)(void *arg, uint64_t id);
    void *unmarked_arg;
    struct pend *pend;    /* owned */
    size_t npend;
    size_t pcap;
    int failed;           /* the code of the failure, or 0 */
    struct tf_error fail; /* its message */
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
    p += tf__fmt_u64(p, d->receive != 0 ? d->receive : tf__done_out_len(d));
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
tf__tag_more(struct tf_buf *buf, uint64_t id, const void *p, size_t n,
             bool *at_line_start)
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

        rc = 0;
        if (*at_line_start)
            rc = tf_buf_append(buf, prefix, plen);
        if (rc == 0)
            rc = tf_buf_append(buf, s, len);
        if (rc < 0)
            return rc;
        *at_line_start = nl != NULL;
        s += len;
    }
    return 0;
}

int
tf__tag_lines(struct tf_buf *buf, uint64_t id, const void *p, size_t n)
{
    bool at_line_start = true;
    int rc;

    rc = tf__tag_more(buf, id, p, n, &at_line_start);
    if (rc == 0 && !at_line_start)
        rc = tf_buf_append(buf, "\n", 1);
    return rc;
}

uint64_t
tf__done_out_len(const struct tf__done *d)
{
    return (d->out_blob != NULL ? d->out_blob->len : 0) + d->out_len;
}

uint64_t
tf__done_err_len(const struct tf__done *d)
{
    return (d->err_blob != NULL ? d->err_blob->len : 0) + d->err_len;
}


/* ----------------------------------------------------------------- state */

/* Returns again the error that stopped the sink. */
static int
failed_again(const struct tf__sink *s, struct tf_error *err)
{
    if (err != NULL)
        *err = s->fail;
    return s->failed;
}

/* Stops the sink for good with CODE and the errno E of writing WHAT. */
static int
stop(struct tf__sink *s, int code, int e, const char *what,
     struct tf_error *err)
{
    if (e != 0)
        s->failed = tf__error_errno(&s->fail, code, e, "writing %s", what);
    else
        s->failed = tf__error(&s->fail, code, "writing %s", what);
    return failed_again(s, err);
}

/* Stops the sink for good with the error in E. */
static int
stop_with(struct tf__sink *s, const struct tf_error *e, struct tf_error *err)
{
    s->fail = *e;
    s->failed = e->code < 0 ? e->code : TF_ESYS;
    return failed_again(s, err);
}

/* Where FD is now, for a regular file; -1 for anything else. */
static off_t
position(const struct stream *st)
{
    return st->seekable ? lseek(st->fd, 0, SEEK_CUR) : -1;
}

/* Cuts the regular file of ST back to AT (from position()), so that it
 * ends with a whole task's output. */
static void
cut_back(const struct stream *st, off_t at)
{
    if (at < 0)
        return;
    if (ftruncate(st->fd, at) < 0 || lseek(st->fd, at, SEEK_SET) < 0)
        tf__log(TF_LOG_WARN, "%s: cannot cut off a part-written output",
                st->name);
}

/* The file of records that hold output before its turn: the results
 * file, else the joblog's spool, opened now when it is not yet. */
static int
store(struct tf__sink *s, struct tf__results **out, struct tf_error *err)
{
    int rc;

    if (s->results != NULL) {
        *out = s->results;
        return 0;
    }
    if (s->spool == NULL) {
        if (s->spool_path == NULL)
            return tf__error(err, TF_EUSAGE, "no record is kept: neither "
                                             "a joblog nor a results file");
        rc = tf__results_open(s->spool_path, s->sync_us, &s->spool, err);
        if (rc < 0)
            return rc;
    }
    *out = s->spool;
    return 0;
}

/* ---------------------------------------------------------- the records */

/* Fills REC for task D's record of KIND with FLAGS, without its output. */
static void
rec_of(const struct tf__done *d, uint32_t kind, uint32_t flags,
       struct tf__result_rec *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->kind = kind;
    rec->id = d->id;
    rec->hash = tf__task_hash(d->cmd, d->cmd_len);
    rec->status = d->status;
    rec->signal = d->signal;
    rec->flags = d->flags | flags;
    rec->attempt = d->attempt;
    rec->worker = d->worker;
    rec->start_us = d->start_us;
    rec->runtime_us = d->runtime_us;
    rec->cpu_us = d->cpu_us;
    rec->peak_bytes = d->peak_bytes;
    rec->host = d->host;
    rec->host_len = d->host_len;
    if (kind == TF__REC_TASK) {
        rec->cmd = d->cmd;
        rec->cmd_len = d->cmd_len;
    }
}

/* Adds a mark to the store: task D's output is written, the output file
 * ending at OUT_END. */
static int
add_mark(struct tf__sink *s, const struct tf__done *d, uint64_t out_end,
         struct tf_error *err)
{
    struct tf__result_rec rec;
    struct tf__results *r = NULL;
    int rc;

    rc = store(s, &r, err);
    if (rc < 0)
        return rc;
    rec_of(d, TF__REC_MARK, 0, &rec);
    rec.out_end = s->out_name != NULL ? out_end : 0;
    return tf__results_add(r, &rec, err);
}

/* Appends task D's joblog line, with the label as its command. */
static int
add_joblog_line(struct tf__sink *s, const struct tf__done *d,
                struct tf_error *err)
{
    struct tf__done j;
    int rc;

    if (s->log_fd < 0)
        return 0;
    if (s->label != NULL) {
        tf_buf_reset(&s->text);
        rc = s->label(s->label_arg, d, &s->text);
        if (rc < 0)
            return tf__error(err, rc, "task %llu: cannot make its command",
                             (unsigned long long)d->id);
        j = *d;
        j.cmd = s->text.data != NULL ? (const void *)s->text.data : "";
        j.cmd_len = s->text.len;
        d = &j;
    }
    rc = tf__joblog_format(&s->log, d);
    if (rc < 0)
        return tf__error(err, rc, "out of memory");
    return 0;
}

/*
 * The records of task D, whose output (when EMITTED) has just been put
 * where it goes, the output file then ending at OUT_END: a mark for a task
 * kept before; else its results record and joblog line, and a mark for a
 * task the joblog's spool of an earlier run holds. A task kept now
 * (!EMITTED) gets its results record and its line; its output (inline, or
 * in pieces added before) is in the store.
 */
static int
add_records(struct tf__sink *s, const struct tf__done *d, bool emitted,
            bool pieces, uint64_t out_end, struct tf_error *err)
{
    struct tf__result_rec rec;
    struct tf__results *r = s->results;
    int rc = 0;

    if (emitted && d->recorded)
        return add_mark(s, d, out_end, err);
    if (!emitted) {
        rc = store(s, &r, err);
        if (rc < 0)
            return rc;
    }
    if (r != NULL) {
        rec_of(d, TF__REC_TASK,
               (emitted ? TF__REC_EMITTED : 0) | (pieces ? TF__REC_PIECES : 0),
               &rec);
        rec.out_end = emitted && s->out_name != NULL ? out_end : 0;
        if (!pieces) {
            rec.out = d->out;
            rec.out_len = d->out_len;
            rec.err = d->err;
            rec.err_len = d->err_len;
        }
        rc = tf__results_add(r, &rec, err);
    }
    if (rc == 0 && emitted && s->results == NULL && s->unmarked != NULL &&
        s->unmarked(s->unmarked_arg, d->id))
        rc = add_mark(s, d, out_end, err);
    if (rc == 0)
        rc = add_joblog_line(s, d, err);
    return rc;
}

/* Pieces of a task's output for the store, gathered up to a piece. */
struct pieces {
    struct tf__sink *s;
    struct tf__results *r;
    const struct tf__done *d;
    struct tf_buf buf; /* owned */
    bool err;          /* the stream being gathered */
};

static int
put_piece(struct pieces *pc, struct tf_error *err)
{
    struct tf__result_rec rec;
    int rc;

    if (pc->buf.len == 0)
        return 0;
    rec_of(pc->d, TF__REC_PIECE, 0, &rec);
    if (pc->err) {
        rec.err = pc->buf.data;
        rec.err_len = pc->buf.len;
    } else {
        rec.out = pc->buf.data;
        rec.out_len = pc->buf.len;
    }
    rc = tf__results_add(pc->r, &rec, err);
    tf_buf_reset(&pc->buf);
    /* Pieces are no promise: written as they come, to keep memory low. */
    if (rc == 0)
        rc = tf__results_flush(pc->r, false, err);
    return rc;
}

static int
gather_piece(void *arg, const void *p, size_t n, struct tf_error *err)
{
    struct pieces *pc = arg;
    const char *c = p;
    int rc;

    while (n > 0) {
        size_t room = TF__RESULTS_PIECE - pc->buf.len;
        size_t k = n < room ? n : room;

        if (tf_buf_append(&pc->buf, c, k) < 0)
            return tf__error(err, TF_ENOMEM, "out of memory");
        c += k;
        n -= k;
        if (pc->buf.len == TF__RESULTS_PIECE) {
            rc = put_piece(pc, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Adds task D's whole output to the store R as pieces. */
static int
add_pieces(struct tf__sink *s, struct tf__results *r, const struct tf__done *d,
           struct tf_error *err)
{
    struct pieces pc;
    int rc = 0;

    pc.s = s;
    pc.r = r;
    pc.d = d;
    pc.err = false;
    tf_buf_init(&pc.buf, 0);
    if (d->out_blob != NULL)
        rc = tf__blob_each(d->spool, d->out_blob, gather_piece, &pc, err);
    if (rc == 0)
        rc = gather_piece(&pc, d->out, d->out_len, err);
    if (rc == 0)
        rc = put_piece(&pc, err);
    pc.err = true;
    if (rc == 0 && d->err_blob != NULL)
        rc = tf__blob_each(d->spool, d->err_blob, gather_piece, &pc, err);
    if (rc == 0)
        rc = gather_piece(&pc, d->err, d->err_len, err);
    if (rc == 0)
        rc = put_piece(&pc, err);
    tf_buf_cleanup(&pc.buf);
    return rc;
}

/* ---------------------------------------------------------------- writing */

/*
 * Writes the records waiting: the results file, the joblog's spool, then
 * the joblog, so that a joblog line never comes before the output it
 * stands for is safe. When one fails and nothing written so far promised
 * the output of this batch, the output files are cut back to OUT_AT and
 * ERR_AT (the batch's start; -1: they cannot be), so that the tasks run
 * again without their output twice.
 */
static int
write_records(struct tf__sink *s, off_t out_at, off_t err_at,
              uint64_t out_size_at, struct tf_error *err)
{
    struct tf_error e;
    bool promised = false;
    int rc = 0;

    tf_error_init(&e);
    if (s->results != NULL) {
        bool any = tf__results_pending(s->results) > 0;

        rc = tf__results_flush(s->results, false, &e);
        promised = rc == 0 && any;
    }
    if (rc == 0 && s->spool != NULL) {
        bool any = tf__results_pending(s->spool) > 0;

        rc = tf__results_flush(s->spool, false, &e);
        promised = promised || (rc == 0 && any);
    }
    if (rc == 0 && s->log.len > 0) {
        off_t at = lseek(s->log_fd, 0, SEEK_END);
        size_t done;

        if (tf__write_count(s->log_fd, s->log.data, s->log.len, &done) < 0) {
            int code = errno;

            /* A part-written line is taken back: the file still ends with
             * a whole line. */
            if (done > 0 && at >= 0 && ftruncate(s->log_fd, at) < 0)
                tf__log(TF_LOG_WARN, "%s: cannot cut off a part-written line",
                        s->log_path);
            rc = tf__error_errno(&e, TF_ESYS, code, "writing %s",
                                 s->log_path);
        }
        tf_buf_reset(&s->log);
    }
    if (rc == 0)
        return 0;
    if (!promised) {
        cut_back(&s->out, out_at);
        cut_back(&s->err, err_at);
        s->out_size = out_size_at;
    }
    return stop_with(s, &e, err);
}

/* Cuts the records waiting back to those of the first K tasks in the
 * buffers (and the records added before them). */
static void
cut_records(struct tf__sink *s, size_t k)
{
    const struct pend *p;

    if (k >= s->npend)
        return;
    p = &s->pend[k];
    s->log.len = p->log_start;
    if (s->results != NULL)
        tf__results_cut(s->results, p->res_start);
    if (s->spool != NULL)
        tf__results_cut(s->spool, p->spool_start);
}

int
tf__sink_flush(struct tf__sink *s, struct tf_error *err)
{
    off_t out_at, err_at;
    uint64_t size_at = s->out_size;
    size_t n_out = 0, n_err = 0;
    size_t k, want_err;
    int code = 0;
    const char *what = NULL;

    if (s->failed)
        return failed_again(s, err);
    out_at = s->out.buf.len > 0 ? position(&s->out) : -1;
    err_at = s->err.buf.len > 0 ? position(&s->err) : -1;
    if (tf__write_count(s->out.fd, s->out.buf.data, s->out.buf.len, &n_out) <
        0) {
        code = errno;
        what = s->out.name;
    }
    /* The tasks whose stdout went out whole; their stderr follows. */
    for (k = 0; k < s->npend && s->pend[k].out_end <= n_out; k++)
        ;
    want_err = code == 0 ? s->err.buf.len : k > 0 ? s->pend[k - 1].err_end : 0;
    if (tf__write_count(s->err.fd, s->err.buf.data, want_err, &n_err) < 0 &&
        code == 0) {
        code = errno;
        what = s->err.name;
    }
    while (k > 0 && s->pend[k - 1].err_end > n_err)
        k--;
    s->out_size += n_out;
    if (code != 0) {
        /* Records only for the tasks written whole; a regular file is cut
         * back to the end of the last of them. */
        cut_back(&s->out, out_at < 0 ? -1
                                      : out_at + (off_t)(k > 0 ? s->pend[k - 1]
                                                                      .out_end
                                                                : 0));
        cut_back(&s->err, err_at < 0 ? -1
                                      : err_at + (off_t)(k > 0 ? s->pend[k - 1]
                                                                      .err_end
                                                                : 0));
        s->out_size = size_at + (k > 0 ? s->pend[k - 1].out_end : 0);
        cut_records(s, k);
        tf_buf_reset(&s->out.buf);
        tf_buf_reset(&s->err.buf);
        s->npend = 0;
        (void)write_records(s, -1, -1, s->out_size, NULL);
        return stop(s, TF_ESYS, code, what, err);
    }
    tf_buf_reset(&s->out.buf);
    tf_buf_reset(&s->err.buf);
    s->npend = 0;
    return write_records(s, out_at, err_at, size_at, err);
}

/* Writes the N bytes at P to stream ST, or tags them first. */
struct direct {
    struct tf__sink *s;
    struct stream *st;
    uint64_t id;
    bool at_line_start;
    uint64_t written;
};

static int
direct_part(void *arg, const void *p, size_t n, struct tf_error *err)
{
    struct direct *dw = arg;
    int rc;

    if (dw->s->tag) {
        tf_buf_reset(&dw->s->text);
        rc = tf__tag_more(&dw->s->text, dw->id, p, n, &dw->at_line_start);
        if (rc < 0)
            return tf__error(err, TF_ENOMEM, "out of memory");
        p = dw->s->text.data;
        n = dw->s->text.len;
    }
    if (n > 0 && tf__write_all(dw->st->fd, p, n) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "writing %s",
                               dw->st->name);
    dw->written += n;
    return 0;
}

/* Ends a tagged stream whose last line has no newline with one. */
static int
direct_end(struct direct *dw, struct tf_error *err)
{
    if (!dw->s->tag || dw->at_line_start)
        return 0;
    dw->at_line_start = true;
    if (tf__write_all(dw->st->fd, "\n", 1) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "writing %s",
                               dw->st->name);
    dw->written++;
    return 0;
}

/* A part of a replayed output, for whichever stream it is. */
struct replay {
    struct direct out;
    struct direct err;
};

static int
replay_part(void *arg, bool is_err, const void *p, size_t n,
            struct tf_error *err)
{
    struct replay *rp = arg;

    return direct_part(is_err ? &rp->err : &rp->out, p, n, err);
}

/*
 * Writes task D's output (or, with RD, that of the records from PIECES_OFF
 * to REC_OFF) straight to the output files, after what waits; on success
 * *OUT_AT and *ERR_AT are where it starts (-1: not a regular file).
 */
static int
write_direct(struct tf__sink *s, const struct tf__done *d,
             struct tf__results_reader *rd, uint64_t pieces_off,
             uint64_t rec_off, off_t *out_at, off_t *err_at,
             struct tf_error *err)
{
    struct replay rp;
    struct tf_error e;
    int rc;

    rc = tf__sink_flush(s, err);
    if (rc < 0)
        return rc;
    memset(&rp, 0, sizeof(rp));
    rp.out.s = rp.err.s = s;
    rp.out.st = &s->out;
    rp.err.st = &s->err;
    rp.out.id = rp.err.id = d->id;
    rp.out.at_line_start = rp.err.at_line_start = true;
    *out_at = position(&s->out);
    *err_at = position(&s->err);
    tf_error_init(&e);
    if (rd != NULL) {
        rc = tf__results_reader_output(rd, pieces_off, rec_off, replay_part,
                                       &rp, &e);
    } else {
        rc = 0;
        if (d->out_blob != NULL)
            rc = tf__blob_each(d->spool, d->out_blob, direct_part, &rp.out,
                               &e);
        if (rc == 0)
            rc = direct_part(&rp.out, d->out, d->out_len, &e);
        if (rc == 0 && d->err_blob != NULL)
            rc = tf__blob_each(d->spool, d->err_blob, direct_part, &rp.err,
                               &e);
        if (rc == 0)
            rc = direct_part(&rp.err, d->err, d->err_len, &e);
    }
    if (rc == 0)
        rc = direct_end(&rp.out, &e);
    if (rc == 0)
        rc = direct_end(&rp.err, &e);
    if (rc < 0) {
        cut_back(&s->out, *out_at);
        cut_back(&s->err, *err_at);
        return stop_with(s, &e, err);
    }
    s->out_size += rp.out.written;
    return 0;
}

/* Whether task D's output goes through the buffer: small, and in one
 * part. */
static bool
small(const struct tf__done *d)
{
    return (d->out_blob == NULL || d->out_blob->len == 0) &&
           (d->err_blob == NULL || d->err_blob->len == 0) &&
           d->out_len + d->err_len <= BIG_AT;
}

/* Appends the N bytes at P of task ID's stream to B, tagged when asked. */
static int
put_block(struct tf__sink *s, struct tf_buf *b, uint64_t id, const void *p,
          size_t n, struct tf_error *err)
{
    int rc;

    if (n == 0)
        return 0;
    rc = s->tag ? tf__tag_lines(b, id, p, n) : tf_buf_append(b, p, n);
    if (rc < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    return 0;
}

/* Takes back what a task written straight out put in the output files,
 * after its records could not be made. */
static int
undo_direct(struct tf__sink *s, off_t out_at, off_t err_at, uint64_t size_at,
            const struct tf_error *e, struct tf_error *err)
{
    cut_back(&s->out, out_at);
    cut_back(&s->err, err_at);
    s->out_size = size_at;
    return stop_with(s, e, err);
}

/* Task D's records alone, for a sink without an output: its output goes
 * in the results file. */
static int
records_only(struct tf__sink *s, const struct tf__done *d,
             struct tf_error *err)
{
    bool pieces = !small(d) && s->results != NULL;
    struct tf_error e;
    int rc;

    tf_error_init(&e);
    rc = pieces ? add_pieces(s, s->results, d, &e) : 0;
    if (rc == 0)
        rc = add_records(s, d, true, pieces, 0, &e);
    if (rc < 0)
        return stop_with(s, &e, err);
    if (pieces || s->log.len > FLUSH_AT)
        return tf__sink_flush(s, err);
    return 0;
}

int
tf__sink_emit(struct tf__sink *s, const struct tf__done *d,
              struct tf_error *err)
{
    struct tf_error e;
    struct pend *p;
    off_t out_at, err_at;
    uint64_t size_at;
    int rc;

    if (s->failed)
        return failed_again(s, err);
    tf_error_init(&e);
    if (s->out.fd < 0)
        return records_only(s, d, err);
    if (!small(d)) {
        bool pieces = !d->recorded && s->results != NULL;

        size_at = s->out_size;
        rc = write_direct(s, d, NULL, 0, 0, &out_at, &err_at, err);
        if (rc < 0)
            return rc;
        rc = pieces ? add_pieces(s, s->results, d, &e) : 0;
        if (rc == 0)
            rc = add_records(s, d, true, pieces, s->out_size, &e);
        if (rc < 0)
            return undo_direct(s, out_at, err_at, size_at, &e, err);
        return write_records(s, out_at, err_at, size_at, err);
    }
    if (s->npend == s->pcap) {
        size_t cap = s->pcap ? s->pcap * 2 : 64;
        struct pend *np = realloc(s->pend, cap * sizeof(*np));

        if (np == NULL)
            return tf__error(err, TF_ENOMEM, "out of memory");
        s->pend = np;
        s->pcap = cap;
    }
    p = &s->pend[s->npend];
    p->log_start = s->log.len;
    p->res_start = s->results != NULL ? tf__results_pending(s->results) : 0;
    p->spool_start = s->spool != NULL ? tf__results_pending(s->spool) : 0;
    rc = put_block(s, &s->out.buf, d->id, d->out, d->out_len, &e);
    if (rc == 0)
        rc = put_block(s, &s->err.buf, d->id, d->err, d->err_len, &e);
    p->out_end = s->out.buf.len;
    p->err_end = s->err.buf.len;
    s->npend++;
    if (rc == 0)
        rc = add_records(s, d, true, false, s->out_size + s->out.buf.len,
                         &e);
    if (rc < 0)
        return stop_with(s, &e, err);
    if (s->out.buf.len > FLUSH_AT || s->err.buf.len > FLUSH_AT ||
        s->log.len > FLUSH_AT)
        return tf__sink_flush(s, err);
    return 0;
}

int
tf__sink_keep(struct tf__sink *s, const struct tf__done *d,
              struct tf_error *err)
{
    struct tf__results *r = NULL;
    struct tf_error e;
    int rc;

    if (s->failed)
        return failed_again(s, err);
    tf_error_init(&e);
    rc = store(s, &r, &e);
    if (rc == 0 && !small(d)) {
        /* A large output goes in pieces, written as they come: what waits
         * first, so that the file keeps its order. */
        rc = tf__sink_flush(s, err);
        if (rc < 0)
            return rc;
        rc = add_pieces(s, r, d, &e);
        if (rc == 0)
            rc = add_records(s, d, false, true, 0, &e);
        if (rc == 0)
            return write_records(s, -1, -1, s->out_size, err);
    } else if (rc == 0) {
        rc = add_records(s, d, false, false, 0, &e);
    }
    if (rc < 0)
        return stop_with(s, &e, err);
    return 0;
}

int
tf__sink_replay(struct tf__sink *s, struct tf__results_reader *rd,
                uint64_t id, uint64_t pieces_off, uint64_t rec_off,
                struct tf_error *err)
{
    struct tf__done d;
    struct tf_error e;
    off_t out_at, err_at;
    uint64_t size_at = s->out_size;
    int rc;

    if (s->failed)
        return failed_again(s, err);
    memset(&d, 0, sizeof(d));
    d.id = id;
    d.recorded = true;
    tf_error_init(&e);
    rc = write_direct(s, &d, rd, pieces_off, rec_off, &out_at, &err_at, err);
    if (rc < 0)
        return rc;
    rc = add_mark(s, &d, s->out_size, &e);
    if (rc < 0)
        return undo_direct(s, out_at, err_at, size_at, &e, err);
    return write_records(s, out_at, err_at, size_at, err);
}

/* ------------------------------------------------------------ open, close */

int
tf__sink_spool_path(const char *joblog, struct tf_buf *buf)
{
    tf_buf_reset(buf);
    return tf_buf_printf(buf, "%s.spool", joblog);
}

/* Opens, locks and readies the joblog. */
static int
open_joblog(struct tf__sink *s, const struct tf__sink_opts *o,
            struct tf_error *err)
{
    struct tf_buf path;
    struct stat st;
    int rc;

    s->log_path = strdup(o->joblog);
    if (s->log_path == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    /* Not truncated yet: another run may have it open. */
    s->log_fd = open(o->joblog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                     0666);
    if (s->log_fd < 0 || fstat(s->log_fd, &st) < 0)
        return tf__error_errno(err, TF_EUSAGE, errno, "%s", o->joblog);
    if (flock(s->log_fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
        return tf__error(err, TF_EUSAGE, "%s: in use by another taskfarm run",
                         o->joblog);
    if (!o->append && S_ISREG(st.st_mode) && st.st_size > 0) {
        if (ftruncate(s->log_fd, 0) < 0)
            return tf__error_errno(err, TF_EUSAGE, errno, "%s", o->joblog);
        st.st_size = 0;
    }
    rc = 0;
    if (st.st_size == 0)
        rc = tf_buf_puts(&s->log, TF__JOBLOG_HEADER);
    if (rc == 0 && tf__write_all(s->log_fd, s->log.data, s->log.len) < 0)
        rc = tf__error_errno(err, TF_ESYS, errno, "writing %s", o->joblog);
    tf_buf_reset(&s->log);
    if (rc < 0)
        return rc;
    tf_buf_init(&path, 0);
    rc = tf__sink_spool_path(o->joblog, &path);
    if (rc == 0)
        s->spool_path = strdup((char *)path.data);
    tf_buf_cleanup(&path);
    if (rc < 0 || s->spool_path == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    return 0;
}

static void
stream_init(struct stream *st, int fd, const char *name)
{
    struct stat sb;

    st->fd = fd;
    st->name = name;
    st->seekable = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
    tf_buf_init(&st->buf, 0);
}

int
tf__sink_open(const struct tf__sink_opts *o, struct tf__sink **out,
              struct tf_error *err)
{
    struct tf__sink *s;
    int rc = 0;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    s->log_fd = -1;
    s->tag = o->tag;
    s->results = o->results;
    s->sync_us = o->sync_us;
    s->label = o->label;
    s->label_arg = o->label_arg;
    tf_buf_init(&s->log, 0);
    tf_buf_init(&s->text, 0);
    if (o->out_path != NULL) {
        s->out_name = strdup(o->out_path);
        if (s->out_name == NULL)
            rc = tf__error(err, TF_ENOMEM, "out of memory");
    }
    stream_init(&s->out, o->out_fd,
                s->out_name != NULL ? s->out_name : "standard output");
    stream_init(&s->err, o->err_fd, "standard error");
    if (rc == 0 && o->joblog != NULL)
        rc = open_joblog(s, o, err);
    if (rc < 0) {
        tf__sink_close(s, NULL);
        return rc;
    }
    *out = s;
    return 0;
}

int
tf__sink_start(struct tf__sink *s, bool (*unmarked)(void *arg, uint64_t id),
               void *arg, struct tf_error *err)
{
    struct tf__result_rec rec;
    char *path;
    off_t end;
    int rc;

    s->unmarked = unmarked;
    s->unmarked_arg = arg;
    if (s->out_name == NULL)
        return 0;
    end = lseek(s->out.fd, 0, SEEK_END);
    s->out_size = end > 0 ? (uint64_t)end : 0;
    if (s->results == NULL)
        return 0;
    /* Which file the offsets of this run's records are in. */
    path = realpath(s->out_name, NULL);
    if (path == NULL)
        return tf__error_errno(err, TF_ESYS, errno, "%s", s->out_name);
    memset(&rec, 0, sizeof(rec));
    rec.kind = TF__REC_MARK;
    rec.cmd = path;
    rec.cmd_len = strlen(path);
    rec.out_end = s->out_size;
    rc = tf__results_add(s->results, &rec, err);
    free(path);
    return rc;
}

int
tf__sink_close(struct tf__sink *s, struct tf_error *err)
{
    int rc = 0;
    int rc2;

    if (s == NULL)
        return 0;
    if (err != NULL)
        rc = tf__sink_flush(s, err);
    rc2 = tf__results_close(s->spool, rc == 0 && err != NULL ? err : NULL);
    if (rc == 0 && err != NULL)
        rc = rc2;
    /* A run that wrote every task's output needs no spool any more. */
    if (rc == 0 && err != NULL && !s->failed && s->spool_path != NULL &&
        unlink(s->spool_path) < 0 && errno != ENOENT)
        tf__log(TF_LOG_WARN, "%s: cannot remove it", s->spool_path);
    if (s->log_fd >= 0 && close(s->log_fd) < 0 && rc == 0 && err != NULL)
        rc = tf__error_errno(err, TF_ESYS, errno, "%s", s->log_path);
    tf_buf_cleanup(&s->out.buf);
    tf_buf_cleanup(&s->err.buf);
    tf_buf_cleanup(&s->log);
    tf_buf_cleanup(&s->text);
    free(s->pend);
    free(s->out_name);
    free(s->log_path);
    free(s->spool_path);
    free(s);
    return rc;
}
