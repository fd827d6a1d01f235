/* tool_linerun.c - the taskfarm command's line run: the lines of a task
 * file as the tasks of a job kind, their output and records to a sink */
#include "tool_linerun.h"

#include <string.h>

#include "error.h"
#include "tool_history.h"
#include "tool_lines.h"
#include "tool_resume.h"
#include "tool_source.h"
#include "util.h"

/* The line run's source: lines of a task file or pipe. */
static int
lines_next(void *arg, uint64_t *id, const void **data, size_t *len,
           bool may_block, struct tf_error *err)
{
    int rc = tf__lines_next(arg, id, data, len, may_block, err);

    return rc == TF__SOURCE_WAIT ? TF__BATCH_WAIT : rc;
}

static uint64_t
lines_estimate(void *arg, uint64_t id, const void *data, size_t len)
{
    return tf__lines_estimate(arg, id, data, len);
}

/* The memory a task needs: its peak in --history. */
static uint64_t
lines_mem(void *arg, uint64_t id, const void *data, size_t len)
{
    const struct tf__lines *l = arg;

    return tf__history_mem(l->history, id, data, len);
}

static int
lines_done(void *arg, const struct tf__done *d, struct tf_error *err)
{
    return tf__sink_emit(arg, d, err);
}

static int
lines_keep(void *arg, const struct tf__done *d, struct tf_error *err)
{
    return tf__sink_keep(arg, d, err);
}

static int
lines_flush(void *arg, struct tf_error *err)
{
    return tf__sink_flush(arg, err);
}

/* A task the resumed run finished is passed over: the output the store
 * holds of it, never written, is written now. */
static int
lines_skip(void *arg, uint64_t id, struct tf_error *err)
{
    const struct tf__linerun *lr = arg;
    uint64_t pieces_off, rec_off;

    if (lr->replay == NULL ||
        !tf__resume_stored_at(lr->resume, id, &pieces_off, &rec_off))
        return 0;
    return tf__sink_replay(lr->sink, lr->replay, id, pieces_off, rec_off,
                           err);
}

int
tf__farm_lines(struct tf__session *s, const struct tf__linerun *lr,
               struct tf__farm_stats *stats, struct tf_error *err)
{
    const struct tf__plan *plan = lr->plan;
    bool counted = false;
    struct tf__source *src = NULL;
    struct tf__lines l;
    struct tf__batch b;
    uint64_t count;
    int rc;

    rc = tf__source_open(lr->input, lr->max_line, &src, err);
    if (rc == 0) {
        tf__source_set_every_line(src, lr->every_line);
        /* A task file is checked whole first, so bad input runs nothing. */
        rc = tf__source_prescan(src, &count, err);
        counted = rc == 0; /* a regular file: its tasks are counted */
        if (rc > 0)
            rc = 0;
    }
    if (rc < 0) {
        tf__source_close(src);
        return rc;
    }
    memset(&b, 0, sizeof(b));
    b.fn = lr->fn;
    b.unordered = lr->unordered;
    b.keep_text = true;
    b.measure = lr->measure;
    memset(&l, 0, sizeof(l));
    l.src = src;
    l.resume = lr->resume;
    l.rerun_failed = lr->rerun_failed;
    l.on_skip = lines_skip;
    l.skip_arg = (void *)lr;
    tf_buf_init(&l.text, 0);
    if (plan != NULL) {
        l.history = plan->history;
        l.lpt = plan->lpt;
        b.deadline_us = plan->deadline_us;
        b.margin_us = plan->margin_us;
        /* Runtimes serve the deadline alone; memory, the workers'
         * waits (unless --mem-per-task says). */
        if (plan->history != NULL && plan->deadline_us != 0)
            b.estimate = lines_estimate;
        if (plan->history != NULL)
            b.mem_estimate = lines_mem;
        b.estimate_arg = &l;
    }
    b.next = lines_next;
    b.next_arg = &l;
    b.skipped = &l.skipped;
    b.halt = lr->halt;
    b.total = counted ? count : 0;
    b.done = lines_done;
    b.done_arg = lr->sink;
    if (lr->keep) {
        b.keep = lines_keep;
        b.keep_arg = lr->sink;
        b.keep_after_us = lr->keep_after_us;
    }
    b.spool = true;
    b.spool_dir = lr->spool_dir;
    b.end_on_error = lr->end_on_error;
    b.flush = lines_flush;
    b.flush_arg = lr->sink;
    rc = tf__session_batch(s, &b, err);
    stats->tasks += b.tasks;
    stats->failed += b.failed;
    stats->skipped += l.skipped;
    tf__lines_cleanup(&l);
    tf__source_close(src);
    return rc;
}

int
tf__farm_run(const struct tf__farm_cfg *cfg, struct tf__farm_stats *stats,
             int *worker_rc, struct tf_error *err)
{
    struct tf__session_cfg scfg;
    struct tf__sink_opts so;
    struct tf__linerun lr;
    struct tf__session *s;
    struct tf__sink *sink = NULL;
    struct tf__fn fn;
    uint64_t t0;
    int rc;
    int rc2;

    memset(stats, 0, sizeof(*stats));
    memset(&scfg, 0, sizeof(scfg));
    fn.name = cfg->kind->name;
    fn.fn = cfg->kind->run;
    fn.arg = cfg->job_state;
    scfg.transport = cfg->transport;
    scfg.nworkers = cfg->nworkers;
    scfg.chunk = cfg->chunk;
    scfg.threads_per_worker = cfg->threads_per_worker;
    scfg.fns = &fn;
    scfg.nfns = 1;
    t0 = tf__now_us();
    rc = tf__session_open(&scfg, &s, worker_rc, err);
    if (rc != 0)
        return rc;
    stats->nworkers = tf__session_nworkers(s);
    stats->transport = tf__session_transport(s);
    memset(&so, 0, sizeof(so));
    so.out_fd = cfg->out_fd;
    so.err_fd = cfg->err_fd;
    so.joblog = cfg->joblog;
    so.tag = cfg->tag;
    rc = tf__sink_open(&so, &sink, err);
    if (rc == 0) {
        memset(&lr, 0, sizeof(lr));
        lr.input = cfg->input;
        lr.max_line = cfg->max_line;
        lr.sink = sink;
        lr.unordered = cfg->unordered;
        lr.keep = cfg->joblog != NULL;
        lr.keep_after_us = 1000000;
        rc = tf__farm_lines(s, &lr, stats, err);
    }
    rc2 = tf__sink_close(sink, rc < 0 ? NULL : err);
    if (rc == 0)
        rc = rc2;
    if (rc == 0 || rc == TF_EINPUT || rc == TF_EUSAGE) {
        /* The workers are idle and can be stopped in order. */
        struct tf_error cerr;

        rc2 = tf__session_close(s, rc == 0 ? err : &cerr);
        if (rc == 0)
            rc = rc2;
    } else {
        tf__session_abort(s);
    }
    stats->wall_us = tf__now_us() - t0;
    return rc;
}
