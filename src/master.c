/* master.c - the master's loop: messages from the workers go to the
 * dispatcher, whose calls go out over the transport; and the output held
 * until it is passed on */
#include "session.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "results.h"
#include "spool.h"
#include "util.h"
#include "wire.h"

/* How long the master sleeps in one wait when nothing arrives. */
#define WAIT_MS 1000
/* ... and when workers wait for input from a pipe that had none ready. */
#define INPUT_WAIT_MS 10
/* How long a stopping batch waits for the workers to end their tasks; and,
 * where the transport cannot pass the signal on (MPI ranks, which end
 * their tasks when the launcher ends them), for results already on their
 * way. */
#define STOP_WAIT_US 10000000u
#define STOP_WAIT_UNSIGNALLED_US 1000000u

/* The signal that asked the run to stop (tf__request_stop), or 0. */
static volatile sig_atomic_t stop_sig;
/* The signal that asked the run to drain (tf__request_drain), or 0. */
static volatile sig_atomic_t drain_sig;
/* Set by tf__request_snapshot(), cleared when the snapshot is taken. */
static volatile sig_atomic_t snapshot_sig;

/* A RESULTS frame, kept while a task's output points into it. */
struct rframe {
    int refs;
    struct tf_buf buf; /* owned */
};

/* The output of a task that it streamed (tf_result_flush()) or that was
 * moved to the spool: the bytes before those of its result. */
struct taskout {
    struct tf__blob out;
    struct tf__blob err;
};

struct tf__session {
    struct tf__session_cfg cfg;
    struct tf__transport t;
    struct tf__dispatch *d;          /* owned */
    struct tf__batch *b;             /* the batch running, or NULL */
    struct tf__dispatch_batch db;    /* what the dispatcher knows of it */
    struct tf__frame_ref *share;     /* a reference: the SHARE frame, or
                                        NULL */
    struct tf__frame_ref *share_next; /* being filled by the caller */
    struct tf__spool *spool;         /* owned: the batch's, made when it
                                        first has output to move there */
    struct tf_buf joined;            /* owned: a streamed output made
                                        whole */
    struct tf__session_watch watch;  /* all NULL: none */
    bool discarding;                 /* a failed batch's results are being
                                        dropped */
    struct tf_buf frame;             /* owned: receive buffer */
    struct tf_buf out;               /* owned: send buffer */
};

/* The master's state is the session; "m" reads better in the loops. */
#define master tf__session

/* ------------------------------------------------------------- output */

static void
rframe_unref(struct rframe *rf)
{
    if (rf != NULL && --rf->refs == 0) {
        tf_buf_cleanup(&rf->buf);
        free(rf);
    }
}

static struct taskout *
taskout_get(struct tf__dtask *t)
{
    struct taskout *o = t->out.big;

    if (o == NULL) {
        o = calloc(1, sizeof(*o));
        if (o == NULL)
            return NULL;
        tf__blob_init(&o->out);
        tf__blob_init(&o->err);
        t->out.big = o;
    }
    return o;
}

static void
comm_drop(void *arg, struct tf__dtask *t)
{
    struct master *m = arg;
    struct taskout *o = t->out.big;

    if (o != NULL) {
        tf__blob_release(m->spool, &o->out);
        tf__blob_release(m->spool, &o->err);
        free(o);
    }
    rframe_unref(t->out.frame);
    memset(&t->out, 0, sizeof(t->out));
}

/* Moves task T's output out of memory, to the batch's spool file. */
static int
comm_spill(void *arg, struct tf__dtask *t, struct tf_error *err)
{
    struct master *m = arg;
    struct taskout *o;
    int rc;

    if (m->spool == NULL) {
        rc = tf__spool_new(m->b->spool_dir, &m->spool, err);
        if (rc < 0)
            return rc;
    }
    o = taskout_get(t);
    if (o == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    /* A held result's own part joins its blob first. */
    if (t->done && (t->out.out_len > 0 || t->out.err_len > 0)) {
        if (tf__blob_append(&o->out, t->out.out, t->out.out_len) < 0 ||
            tf__blob_append(&o->err, t->out.err, t->out.err_len) < 0)
            return tf__error(err, TF_ENOMEM, "out of memory");
        rframe_unref(t->out.frame);
        t->out.frame = NULL;
        t->out.out = t->out.err = NULL;
        t->out.out_len = t->out.err_len = 0;
    }
    rc = tf__blob_spill(m->spool, &o->out, err);
    if (rc == 0)
        rc = tf__blob_spill(m->spool, &o->err, err);
    t->out.big_mem = o->out.mem.len + o->err.mem.len;
    return rc;
}

/* Fills D with finished task T of chunk C. */
static void
fill_done(struct master *m, const struct tf__dchunk *c, struct tf__dtask *t,
          struct tf__done *d)
{
    const struct taskout *o = t->out.big;

    /* A task its workers' deaths failed ended when the last one died. */
    if (t->lost && t->start_us == 0)
        t->start_us = tf__wall_us();
    d->id = t->id;
    d->host = tf__dispatch_host(m->d, t->worker, &d->host_len);
    d->start_us = t->start_us;
    d->runtime_us = t->runtime_us;
    d->cpu_us = t->cpu_us;
    d->peak_bytes = t->peak_bytes;
    d->send_bytes = t->cmd_len;
    d->status = t->status;
    d->worker = t->worker - 1;
    d->attempt = t->attempts + 1;
    d->receive = 0;
    d->flags = (t->lost ? TF__REC_LOST : 0) |
               (t->timed_out ? TF__REC_TIMEOUT : 0) |
               (t->oom ? TF__REC_OOM : 0);
    d->signal = t->signal;
    d->recorded = t->recorded;
    d->cmd = m->b->keep_text ? tf__dchunk_text(c, t) : NULL;
    d->cmd_len = m->b->keep_text ? t->cmd_len : 0;
    d->out = t->out.out;
    d->out_len = t->out.out_len;
    d->err = t->out.err;
    d->err_len = t->out.err_len;
    d->spool = m->spool;
    d->out_blob = o != NULL ? &o->out : NULL;
    d->err_blob = o != NULL ? &o->err : NULL;
}

static int
join_part(void *arg, const void *p, size_t n, struct tf_error *err)
{
    if (tf_buf_append(arg, p, n) < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    return 0;
}

/* For a batch that takes its output whole: makes a stream (a blob and the
 * bytes *P after it) one run of bytes in BUF and points *P at it. */
static int
join_stream(struct master *m, const struct tf__blob *blob, const void **p,
            size_t *n, struct tf_buf *buf, struct tf_error *err)
{
    int rc;

    tf_buf_reset(buf);
    rc = tf__blob_each(m->spool, blob, join_part, buf, err);
    if (rc == 0)
        rc = join_part(buf, *p, *n, err);
    if (rc < 0)
        return rc;
    *p = buf->data;
    *n = buf->len;
    return 0;
}

static int
comm_emit(void *arg, const struct tf__dchunk *c, struct tf__dtask *t,
          struct tf_error *err)
{
    struct master *m = arg;
    struct tf__done d;
    struct tf_buf errbuf;
    int rc = 0;

    fill_done(m, c, t, &d);
    tf_buf_init(&errbuf, 0);
    if (t->out.big != NULL && !m->b->spool) {
        rc = join_stream(m, d.out_blob, &d.out, &d.out_len, &m->joined, err);
        if (rc == 0)
            rc = join_stream(m, d.err_blob, &d.err, &d.err_len, &errbuf,
                             err);
        d.out_blob = d.err_blob = NULL;
    }
    if (m->watch.clear != NULL)
        m->watch.clear(m->watch.arg);
    if (rc == 0)
        rc = m->b->done(m->b->done_arg, &d, err);
    tf_buf_cleanup(&errbuf);
    if (m->joined.cap > TF__SPILL_AT)
        tf_buf_cleanup(&m->joined);
    return rc;
}

static int
comm_keep(void *arg, const struct tf__dchunk *c, struct tf__dtask *t,
          struct tf_error *err)
{
    struct master *m = arg;
    struct tf__done d;

    fill_done(m, c, t, &d);
    return m->b->keep(m->b->keep_arg, &d, err);
}

/* --------------------------------------------------------- sending */

static int
send_plain(struct master *m, int w, int type, struct tf_error *err)
{
    int rc;

    rc = tf__wire_begin(&m->out, type);
    if (rc == 0)
        rc = tf__wire_end(&m->out, err);
    if (rc < 0)
        return rc;
    return m->t.ops->send(&m->t, w, &m->out, err);
}

static int
comm_send_work(void *arg, int w, const struct tf__dchunk *c, uint32_t from,
               uint32_t to, uint64_t seq, struct tf_error *err)
{
    struct master *m = arg;
    uint32_t k;
    int rc;

    rc = tf__wire_work_begin(&m->out, seq,
                             m->b->fn | (m->b->measure ? TF__WORK_MEASURE : 0));
    for (k = from; rc == 0 && k < to; k++) {
        const char *text = tf__dchunk_text(c, &c->tasks[k]);
        uint64_t mem = m->cfg.mem_per_task;

        /* Said for every task, or estimated for each. */
        if (mem == 0 && m->b->mem_estimate != NULL) {
            mem = m->b->mem_estimate(m->b->estimate_arg, c->tasks[k].id,
                                     text, c->tasks[k].cmd_len);
            if (mem != 0)
                mem |= TF__MEM_ESTIMATED;
        }
        rc = tf__wire_work_add(&m->out, c->tasks[k].id, mem, text,
                               c->tasks[k].cmd_len);
    }
    if (rc == 0)
        rc = tf__wire_work_end(&m->out, to - from, err);
    if (rc < 0)
        return tf__error(err, rc, "cannot build a chunk of work");
    return m->t.ops->send(&m->t, w, &m->out, err);
}

static int
comm_send_stop(void *arg, int w, struct tf_error *err)
{
    return send_plain(arg, w, TF__MSG_STOP, err);
}

static int
comm_send_reset(void *arg, int w, struct tf_error *err)
{
    return send_plain(arg, w, TF__MSG_RESET, err);
}

static int
comm_send_limit(void *arg, int w, uint64_t limit_us, struct tf_error *err)
{
    struct master *m = arg;
    int rc;

    rc = tf__wire_begin(&m->out, TF__MSG_LIMIT);
    if (rc == 0)
        rc = tf__wire_put_u64(&m->out, limit_us);
    if (rc == 0)
        rc = tf__wire_put_u64(&m->out, m->cfg.kill_grace_us);
    if (rc == 0)
        rc = tf__wire_end(&m->out, err);
    if (rc < 0)
        return tf__error(err, rc, "cannot encode a message");
    return m->t.ops->send(&m->t, w, &m->out, err);
}

static int
comm_respawn(void *arg, int w, struct tf_error *err)
{
    struct master *m = arg;

    return m->t.ops->respawn(&m->t, w, err);
}

static int
send_share(struct master *m, int w, struct tf_error *err)
{
    int rc;

    if (m->t.ops->send_ref != NULL)
        return m->t.ops->send_ref(&m->t, w, m->share, err);
    tf_buf_reset(&m->out);
    rc = tf_buf_append(&m->out, m->share->buf.data, m->share->buf.len);
    if (rc < 0)
        return tf__error(err, rc, "cannot copy %zu shared bytes",
                         m->share->buf.len);
    return m->t.ops->send(&m->t, w, &m->out, err);
}

/* ---------------------------------------------------- the batch's parts */

static int
comm_next(void *arg, uint64_t *id, const void **text, size_t *len,
          uint64_t *est_us, bool may_block, struct tf_error *err)
{
    struct master *m = arg;
    struct tf__batch *b = m->b;
    int rc;

    rc = b->next(b->next_arg, id, text, len, may_block, err);
    *est_us = rc == 1 && b->estimate != NULL
                  ? b->estimate(b->estimate_arg, *id, *text, *len)
                  : 0;
    return rc;
}

static int
comm_flush(void *arg, struct tf_error *err)
{
    struct master *m = arg;

    return m->b->flush != NULL ? m->b->flush(m->b->flush_arg, err) : 0;
}

static int
comm_submit(void *arg, uint64_t parent, const void *data, size_t len,
            struct tf_error *err)
{
    struct master *m = arg;

    return m->b->submit(m->b->submit_arg, parent, data, len, err);
}

static void
comm_log(void *arg, int level, const char *msg)
{
    (void)arg;
    tf__log(level, "%s", msg);
}

/* ---------------------------------------------------------- messages */

static bool
holds_work(const struct master *m, int w)
{
    return m->b != NULL && tf__dispatch_wstate(m->d, w) == TF__W_ACTIVE;
}

static int
on_results(struct master *m, int w, struct tf_error *err)
{
    struct tf__results_reader rr;
    struct tf__wire_result res;
    struct rframe *rf;
    uint64_t now;
    uint32_t k;
    int rc = 0;

    if (!holds_work(m, w))
        return tf__error(err, TF_EPROTO, "results from worker %d, which "
                                         "holds no work", w);
    rc = tf__wire_results_open(&rr, m->frame.data + TF__WIRE_HDR,
                               m->frame.len - TF__WIRE_HDR, err);
    if (rc < 0)
        return rc;
    /* One clock reading for the message's results. */
    now = tf__now_us();
    rf = calloc(1, sizeof(*rf));
    if (rf == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    /* The results point into the frame: keep it, and receive into a new
     * buffer next time. */
    rf->buf = m->frame;
    rf->refs = 1;
    tf_buf_init(&m->frame, 0);
    for (k = 0; k < rr.count && rc == 0; k++) {
        struct tf__dresult r;
        struct tf__dout o;

        (void)tf__wire_results_next(&rr, &res);
        r.id = res.id;
        r.status = res.status;
        r.signal = res.signal & TF__SIG_MASK;
        r.timed_out = (res.signal & TF__SIG_TIMED_OUT) != 0;
        r.oom = (res.signal & TF__SIG_OOM) != 0;
        r.start_us = res.start_us;
        r.runtime_us = res.runtime_us;
        r.cpu_us = res.cpu_us;
        r.peak_bytes = res.peak_bytes;
        memset(&o, 0, sizeof(o));
        o.frame = rf;
        o.out = res.out;
        o.out_len = res.out_len;
        o.err = res.err;
        o.err_len = res.err_len;
        rf->refs++;
        rc = tf__dispatch_result(m->d, w, &r, &o, now, err);
        if (o.frame != NULL)
            rf->refs--; /* not taken */
    }
    rframe_unref(rf);
    if (rc < 0)
        return rc;
    return tf__dispatch_results_end(m->d, w, rr.count, rr.busy_us, now, err);
}

/* A part of the output of a task worker W is running: it joins the task's
 * blobs, which may then go to the spool. */
static int
on_output(struct master *m, int w, struct tf_error *err)
{
    struct tf__wire_output o;
    struct tf__dtask *t;
    struct taskout *to;
    int rc;

    if (!holds_work(m, w))
        return tf__error(err, TF_EPROTO, "output from worker %d, which "
                                         "holds no work",
                         w);
    rc = tf__wire_get_output(m->frame.data + TF__WIRE_HDR,
                             m->frame.len - TF__WIRE_HDR, &o, err);
    if (rc < 0)
        return rc;
    t = tf__dispatch_running(m->d, w, o.id);
    if (t == NULL)
        return tf__error(err, TF_EPROTO,
                         "worker %d sent output of task %llu, which it does "
                         "not hold",
                         w, (unsigned long long)o.id);
    to = taskout_get(t);
    if (to == NULL || tf__blob_append(&to->out, o.out, o.out_len) < 0 ||
        tf__blob_append(&to->err, o.err, o.err_len) < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    t->out.big_mem += o.out_len + o.err_len;
    return tf__dispatch_output_added(m->d, t, o.out_len + o.err_len, err);
}

/* Tasks that worker W's tasks submitted, to the batch's submit. */
static int
on_submit(struct master *m, int w, struct tf_error *err)
{
    struct tf__submit_reader sr;
    uint64_t parent;
    const void *p;
    size_t n;
    int rc;

    if (!holds_work(m, w))
        return tf__error(err, TF_EPROTO, "submitted tasks from worker %d, "
                                         "which holds no work",
                         w);
    rc = tf__wire_submit_open(&sr, m->frame.data + TF__WIRE_HDR,
                              m->frame.len - TF__WIRE_HDR, err);
    while (rc == 0 && tf__wire_submit_next(&sr, &parent, &p, &n) == 1)
        rc = tf__dispatch_submitted(m->d, w, parent, p, n, err);
    return rc;
}

static int
on_hello(struct master *m, int w, struct tf_error *err)
{
    struct tf__hello h;
    int rc;

    rc = tf__wire_get_hello(m->frame.data + TF__WIRE_HDR,
                            m->frame.len - TF__WIRE_HDR, &h, err);
    if (rc < 0)
        return rc;
    if (tf__dispatch_wstate(m->d, w) != TF__W_NEW)
        return tf__error(err, TF_EPROTO, "worker %d said hello twice", w);
    /* The shared data goes before any work (share_all sent it to every
     * worker already). */
    if (m->share != NULL && m->t.ops->share_all == NULL) {
        rc = send_share(m, w, err);
        if (rc < 0)
            return rc;
    }
    return tf__dispatch_hello(m->d, w, h.host, h.host_len, tf__now_us(),
                              err);
}

static int
on_message(struct master *m, int w, struct tf_error *err)
{
    struct tf_error werr;
    size_t payload, hlen;
    const char *host;
    int type;
    int code;
    int rc;

    if (w < 1 || w > m->t.nworkers)
        return tf__error(err, TF_EPROTO, "message from unknown rank %d", w);
    rc = tf__wire_header(m->frame.data, m->frame.len, &type, &payload, err);
    if (rc < 0)
        return rc;
    if (payload != m->frame.len - TF__WIRE_HDR)
        return tf__error(err, TF_EPROTO, "message of %zu bytes says %zu",
                         m->frame.len, payload + TF__WIRE_HDR);
    switch (type) {
    case TF__MSG_HELLO:
        return on_hello(m, w, err);
    case TF__MSG_RESULTS:
        return on_results(m, w, err);
    case TF__MSG_SUBMIT:
        return on_submit(m, w, err);
    case TF__MSG_OUTPUT:
        return on_output(m, w, err);
    case TF__MSG_ERROR:
        rc = tf__wire_get_error(m->frame.data + TF__WIRE_HDR, payload, &code,
                                &werr, err);
        if (rc < 0)
            return rc;
        /* The worker ends after saying why. */
        /* (Before its hello, a worker's host is not known.) */
        host = tf__dispatch_host(m->d, w, &hlen);
        if (hlen > 0)
            rc = tf__error(err, code, "worker %d on %.*s: %s", w, (int)hlen,
                           host, werr.msg);
        else
            rc = tf__error(err, code, "worker %d: %s", w, werr.msg);
        (void)tf__dispatch_lost(m->d, w, false, 0, tf__now_us(), &werr);
        return rc;
    }
    return tf__error(err, TF_EPROTO, "unexpected message of type %d from "
                                     "worker %d",
                     type, w);
}

/* Worker PEER's process ended (ERR says how the transport saw it). */
static int
on_ended(struct master *m, int peer, int rc, struct tf_error *err)
{
    int state;

    if (peer < 1 || peer > m->t.nworkers)
        return rc;
    state = tf__dispatch_wstate(m->d, peer);
    if (state == TF__W_STOPPED || state == TF__W_GONE ||
        state == TF__W_RECYCLING)
        return tf__dispatch_ended(m->d, peer, err);
    /* It died: killed, out of memory, crashed. A worker that died as the
     * run stops is not replaced. */
    if (stop_sig != 0)
        tf__dispatch_stop(m->d);
    return tf__dispatch_lost(m->d, peer, true, m->t.peer_signal,
                             tf__now_us(), err);
}

/* ---------------------------------------------------------- the loop */

/* How long the master may sleep waiting for a message. */
static int
wait_ms(const struct master *m)
{
    struct tf__dispatch_state st;
    uint64_t now = tf__now_us();
    uint64_t us;
    int ms;

    tf__dispatch_state(m->d, &st);
    ms = st.nwaiting > 0 ? INPUT_WAIT_MS : WAIT_MS;
    us = st.next_due_us == UINT64_MAX
             ? UINT64_MAX
             : st.next_due_us > now ? st.next_due_us - now : 0;
    if (m->watch.wait_us != NULL && m->b != NULL) {
        uint64_t w = m->watch.wait_us(m->watch.arg, now);

        us = w < us ? w : us;
    }
    if (us / 1000 < (uint64_t)ms)
        ms = (int)(us / 1000) + 1;
    return ms;
}

/* Takes one message or event and acts on it; waits up to wait_ms(). */
static int
master_step(struct master *m, struct tf_error *err)
{
    int peer = 0;
    int rc;

    rc = m->t.ops->recv(&m->t, &peer, &m->frame, 0, err);
    if (rc == 0) {
        /* Nothing waiting: write what is buffered, then sleep, briefly
         * when workers wait for input that may come. */
        if (m->b != NULL && m->b->flush != NULL && !m->discarding) {
            rc = m->b->flush(m->b->flush_arg, err);
            if (rc < 0)
                return rc;
        }
        rc = m->t.ops->recv(&m->t, &peer, &m->frame, wait_ms(m), err);
    }
    if (rc == TF_EPEER)
        rc = on_ended(m, peer, rc, err);
    else if (rc > 0)
        rc = on_message(m, peer, err);
    if (rc == 0 && m->b != NULL)
        rc = tf__dispatch_tick(m->d, tf__now_us(), err);
    return rc;
}

/* Tells the watcher what it asked for: a snapshot, the progress line. */
static int
watch_tick(struct master *m, struct tf_error *err)
{
    uint64_t now;
    int rc;

    if (snapshot_sig != 0) {
        snapshot_sig = 0;
        rc = comm_flush(m, err);
        if (rc < 0)
            return rc;
        if (m->watch.snapshot != NULL)
            m->watch.snapshot(m->watch.arg, m, tf__now_us());
    }
    if (m->watch.show == NULL)
        return 0;
    now = tf__now_us();
    if (m->watch.wait_us(m->watch.arg, now) > 0)
        return 0;
    rc = comm_flush(m, err);
    if (rc == 0)
        m->watch.show(m->watch.arg, m, now);
    return rc;
}

/*
 * After a batch stopped early (a callback failed), lets the workers finish
 * what they hold and drops those results, so the session is ready for the
 * next batch. A transport failure ends this too.
 */
static void
discard_rest(struct master *m)
{
    struct tf__dispatch_state st;

    m->discarding = true;
    tf__dispatch_discard(m->d);
    tf__dispatch_state(m->d, &st);
    while (st.inflight > 0) {
        struct tf_error ignored;
        int inflight = st.inflight;
        int active = st.active;
        int rc = master_step(m, &ignored);

        tf__dispatch_state(m->d, &st);
        /* Another worker failing is no reason to stop waiting for the
         * rest; a failure that changes nothing (the transport's) is. */
        if (rc < 0 && st.inflight == inflight && st.active == active)
            break;
    }
    m->discarding = false;
}

/*
 * The batch was asked to stop: hands out nothing more, passes the signal to
 * the workers (who end their tasks and exit), waits a while for what is
 * still coming, then passes on every result that arrived, in task order
 * where it can and past the gaps the stopped tasks leave.
 */
static int
stop_batch(struct master *m, int sig, struct tf_error *err)
{
    uint64_t until = tf__now_us() + (m->t.ops->signal != NULL
                                          ? STOP_WAIT_US
                                          : STOP_WAIT_UNSIGNALLED_US);
    struct tf__dispatch_state st;
    int rc;

    tf__dispatch_stop(m->d);
    if (m->t.ops->signal != NULL)
        m->t.ops->signal(&m->t, sig);
    tf__dispatch_state(m->d, &st);
    while (st.active > 0 && st.inflight > 0 && tf__now_us() < until) {
        struct tf_error ignored;

        if (master_step(m, &ignored) == TF_ETRANSPORT)
            break;
        tf__dispatch_state(m->d, &st);
    }
    rc = tf__dispatch_emit_arrived(m->d, err);
    if (rc == 0)
        rc = comm_flush(m, err);
    if (rc < 0)
        return rc;
    return tf__error(err, TF__ESTOPPED, "stopped by %s", strsignal(sig));
}

/* One turn of a batch's loop: signals, input, a message, the watcher.
 * Returns 1 when the batch is over. */
static int
batch_turn(struct master *m, struct tf_error *err)
{
    struct tf__batch *b = m->b;
    struct tf__dispatch_state st;
    int rc;

    tf__dispatch_state(m->d, &st);
    if (drain_sig != 0 && !st.deadline_hit && st.input_left) {
        char why[64];

        snprintf(why, sizeof(why), "%s asked the run to finish",
                 strsignal(drain_sig));
        tf__dispatch_no_more(m->d, why);
    }
    if (stop_sig != 0 || (st.halted && b->halt->now)) {
        rc = stop_batch(m, stop_sig != 0 ? stop_sig : SIGTERM, err);
        return rc < 0 ? rc : 1;
    }
    if (st.active == 0)
        return tf__error(err, TF_EPEER, "no workers left");
    if (tf__dispatch_idle(m->d)) {
        /* A batch that grows as it runs ends when its `next` says so
         * with nothing running: ask it here too, for when no worker did
         * (a worker being recycled, say). */
        rc = tf__dispatch_poll_input(m->d, tf__now_us(), err);
        if (rc < 0 || tf__dispatch_finished(m->d))
            return rc < 0 ? rc : 1;
    }
    rc = master_step(m, err);
    if (rc == 0)
        rc = watch_tick(m, err);
    return rc;
}

int
tf__session_batch(struct tf__session *m, struct tf__batch *b,
                  struct tf_error *err)
{
    struct tf__dispatch_batch *db = &m->db;
    struct tf__dispatch_state st;
    int rc;

    memset(db, 0, sizeof(*db));
    db->unordered = b->unordered;
    db->keep = b->keep != NULL;
    db->keep_after_us = b->keep_after_us;
    db->spill = b->spool;
    db->grows = b->submit != NULL;
    db->halt = b->halt;
    db->total = b->total;
    db->deadline_us = b->deadline_us;
    db->margin_us = b->margin_us;
    b->tasks = 0;
    b->failed = 0;
    m->b = b;
    rc = tf__dispatch_begin(m->d, db, tf__now_us(), err);
    while (rc == 0 && !tf__dispatch_finished(m->d))
        rc = batch_turn(m, err);
    if (rc == 1)
        rc = 0;
    if (m->watch.clear != NULL)
        m->watch.clear(m->watch.arg);
    if (rc < 0 && rc != TF_ETRANSPORT && rc != TF_EPROTO &&
        rc != TF__ESTOPPED && !b->end_on_error)
        discard_rest(m);
    /* What arrived is written before a halt or deadline is reported (a
     * stopped batch wrote it already). */
    if (rc == 0)
        rc = comm_flush(m, err);
    tf__dispatch_state(m->d, &st);
    if ((rc == 0 || (rc == TF__ESTOPPED && stop_sig == 0)) && st.halted)
        rc = tf__error(err, TF__EHALTED, "halted: %s", st.halt_why);
    else if (rc == 0 && st.deadline_hit)
        rc = tf__error(err, TF__EDEADLINE, "handed out no more tasks: %s",
                       st.deadline_why);
    if (rc == 0 && st.input_rc < 0) {
        *err = *st.input_err;
        rc = st.input_rc;
    }
    b->tasks = st.emitted;
    b->failed = st.emitted_failed;
    /* Whatever the batch left (after a failure) is dropped. */
    tf__dispatch_end(m->d);
    if (m->spool != NULL && tf__spool_live(m->spool) == 0) {
        tf__spool_free(m->spool);
        m->spool = NULL;
    }
    tf_buf_cleanup(&m->joined);
    m->b = NULL;
    return rc;
}

/* ------------------------------------------------------------ signals */

void
tf__request_stop(int sig)
{
    stop_sig = sig;
}

int
tf__stop_signal(void)
{
    return stop_sig;
}

void
tf__request_drain(int sig)
{
    drain_sig = sig;
}

void
tf__request_snapshot(int sig)
{
    snapshot_sig = sig;
}

/* ------------------------------------------------------------- status */

void
tf__session_watch(struct tf__session *s, const struct tf__session_watch *w)
{
    if (w != NULL)
        s->watch = *w;
    else
        memset(&s->watch, 0, sizeof(s->watch));
}

void
tf__session_status(const struct tf__session *s, struct tf__session_status *st)
{
    struct tf__dispatch_state ds;

    tf__dispatch_state(s->d, &ds);
    memset(st, 0, sizeof(*st));
    st->done = ds.finished;
    st->failed = ds.finished_failed;
    st->running = (uint64_t)ds.busy;
    if (s->b != NULL) {
        st->total = s->b->total;
        st->skipped = s->b->skipped != NULL ? *s->b->skipped : 0;
    }
}

size_t
tf__session_running(const struct tf__session *s, uint64_t now,
                    struct tf__running *out, size_t max, uint64_t *queued)
{
    size_t n = tf__dispatch_running_tasks(s->d, now, out, max, queued);
    size_t i;

    /* A batch that does not keep its tasks' text shows none. */
    for (i = 0; s->b != NULL && !s->b->keep_text && i < n; i++)
        out[i].len = 0;
    return n;
}

const char *
tf__session_worker(const struct tf__session *s, int w, size_t *len,
                   int *state)
{
    *state = tf__dispatch_wstate(s->d, w + 1);
    return tf__dispatch_host(s->d, w + 1, len);
}

/* ------------------------------------------------------ shared data */

void *
tf__session_share_buffer(struct tf__session *m, size_t len,
                         struct tf_error *err)
{
    struct tf__frame_ref *f;

    /* Built once, in place; every worker is sent the same frame. */
    if (len > TF__WIRE_MAX_PAYLOAD - 4) {
        tf__error(err, TF_EINPUT, "cannot share %zu bytes: the limit is %zu",
                  len, TF__WIRE_MAX_PAYLOAD - 4);
        return NULL;
    }
    if (m->t.ops->share_alloc != NULL) {
        f = m->t.ops->share_alloc(&m->t, TF__WIRE_BYTES_HEAD + len, err);
        if (f == NULL)
            return NULL;
    } else {
        f = tf__frame_ref_alloc(TF__WIRE_BYTES_HEAD + len);
        if (f == NULL) {
            tf__error(err, TF_ENOMEM, "cannot keep %zu shared bytes", len);
            return NULL;
        }
    }
    if (tf__wire_bytes_head(f->buf.data, TF__MSG_SHARE, len, err) < 0) {
        tf__frame_ref_put(f);
        return NULL;
    }
    tf__frame_ref_put(m->share_next);
    m->share_next = f;
    return f->buf.data + TF__WIRE_BYTES_HEAD;
}

bool
tf__session_share_maps(const struct tf__session *m, size_t len)
{
    return m->t.ops->maps != NULL &&
           m->t.ops->maps(&m->t, TF__WIRE_BYTES_HEAD + len);
}

int
tf__session_share_commit(struct tf__session *m, struct tf_error *err)
{
    int rc;
    int i;

    if (m->share_next == NULL)
        return tf__error(err, TF_EUSAGE, "nothing to share: no buffer was "
                                         "asked for");
    tf__frame_ref_put(m->share);
    m->share = m->share_next;
    m->share_next = NULL;
    if (m->t.ops->share_all != NULL)
        return m->t.ops->share_all(&m->t, m->share, err);
    for (i = 1; i <= m->t.nworkers; i++) {
        if (tf__dispatch_wstate(m->d, i) != TF__W_ACTIVE)
            continue; /* a worker that says hello later gets it then */
        rc = send_share(m, i, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
tf__session_share(struct tf__session *m, const void *data, size_t len,
                  struct tf_error *err)
{
    void *p = tf__session_share_buffer(m, len, err);

    if (p == NULL)
        return err != NULL && err->code != 0 ? err->code : TF_ENOMEM;
    if (len > 0)
        memcpy(p, data, len);
    return tf__session_share_commit(m, err);
}

/* ------------------------------------------------------------ session */

bool
tf__session_busy(const struct tf__session *s)
{
    struct tf__dispatch_state st;

    tf__dispatch_state(s->d, &st);
    return st.inflight > 0 && st.active > 0;
}

int
tf__session_nworkers(const struct tf__session *s)
{
    return s->t.nworkers;
}

const char *
tf__session_transport(const struct tf__session *s)
{
    return s->t.ops->name;
}

static void
session_free(struct tf__session *m)
{
    /* The dispatcher's tasks hand their output back to the spool. */
    tf__dispatch_free(m->d);
    tf__spool_free(m->spool);
    tf_buf_cleanup(&m->joined);
    tf__frame_ref_put(m->share);
    tf__frame_ref_put(m->share_next);
    tf_buf_cleanup(&m->frame);
    tf_buf_cleanup(&m->out);
    free(m);
}

/* Says in one line which workers the run lost for good, and when. */
static void
lost_summary(struct tf__session *m)
{
    char line[768];
    int n = tf__dispatch_lost_line(m->d, line, sizeof(line));

    if (n > 0)
        tf__log(TF_LOG_WARN, "lost %d of %d worker%s: %s", n, m->t.nworkers,
                m->t.nworkers == 1 ? "" : "s", line);
}

int
tf__session_close(struct tf__session *m, struct tf_error *err)
{
    struct tf__dispatch_state st;
    int rc = 0;
    int i;

    if (m == NULL)
        return 0;
    /* Workers still saying hello are stopped once they have. */
    tf__dispatch_state(m->d, &st);
    while (rc == 0 && st.active > 0) {
        for (i = 1; i <= m->t.nworkers && rc == 0; i++) {
            if (tf__dispatch_wstate(m->d, i) == TF__W_ACTIVE &&
                tf__dispatch_inflight(m->d, i) == 0) {
                rc = send_plain(m, i, TF__MSG_STOP, err);
                tf__dispatch_stopped(m->d, i);
            }
        }
        tf__dispatch_state(m->d, &st);
        if (rc == 0 && st.active > 0)
            rc = master_step(m, err);
        tf__dispatch_state(m->d, &st);
    }
    lost_summary(m);
    if (rc < 0)
        m->t.ops->abort(&m->t);
    else
        m->t.ops->close(&m->t);
    session_free(m);
    return rc;
}

void
tf__session_abort(struct tf__session *m)
{
    if (m == NULL)
        return;
    m->t.ops->abort(&m->t);
    session_free(m);
}

int
tf__session_open(const struct tf__session_cfg *cfg, struct tf__session **out,
                 int *worker_rc, struct tf_error *err)
{
    struct tf__dispatch_comm comm;
    struct tf__dispatch_cfg dcfg;
    struct tf__session *m;
    int rc;

    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    m->cfg = *cfg;
    tf_buf_init(&m->frame, 0);
    tf_buf_init(&m->out, 0);
    tf_buf_init(&m->joined, 0);
    m->t.ops = cfg->transport;
    /* The libraries' thread counts are set here already, to the share of
     * workers that are started from this process (forked): those then
     * find theirs set, and start no thread pool of their own. */
    tf__set_library_threads(tf__thread_share(cfg, cfg->nworkers));
    /* The workers read the configuration that M holds, which stays put. */
    rc = m->t.ops->open(&m->t, cfg->nworkers, tf__worker_main, &m->cfg, err);
    if (rc == TF__WORKER_DONE) {
        *worker_rc = m->t.worker_rc;
        m->t.ops->close(&m->t);
        session_free(m);
        return TF__WORKER_DONE;
    }
    if (rc < 0) {
        session_free(m);
        return rc;
    }
    memset(&dcfg, 0, sizeof(dcfg));
    dcfg.nworkers = m->t.nworkers;
    dcfg.chunk = cfg->chunk;
    dcfg.max_tasks_per_worker = cfg->max_tasks_per_worker;
    dcfg.retries = cfg->retries;
    dcfg.timeout_us = cfg->timeout_us;
    dcfg.timeout_pct = cfg->timeout_pct;
    memset(&comm, 0, sizeof(comm));
    comm.arg = m;
    comm.next = comm_next;
    comm.send_work = comm_send_work;
    comm.send_stop = comm_send_stop;
    comm.send_reset = comm_send_reset;
    comm.send_limit = comm_send_limit;
    comm.respawn = m->t.ops->respawn != NULL ? comm_respawn : NULL;
    comm.emit = comm_emit;
    comm.keep = comm_keep;
    comm.drop = comm_drop;
    comm.spill = comm_spill;
    comm.flush = comm_flush;
    comm.submit = comm_submit;
    comm.log = comm_log;
    rc = tf__dispatch_new(&dcfg, &comm, &m->d, err);
    if (rc < 0) {
        tf__session_abort(m);
        return rc;
    }
    *out = m;
    return 0;
}
