/* farm.c - the master and worker loops over any transport */
#include "farm.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "history.h"
#include "lines.h"
#include "progress.h"
#include "results.h"
#include "resume.h"
#include "schedule.h"
#include "sink.h"
#include "source.h"
#include "spool.h"
#include "util.h"
#include "wire.h"

/* A worker holds at most this many chunks: the one it runs and the next
 * (tf__sched_prefetch() says when it gets the next one early). */
#define PREFETCH 2
/* Bytes of task text in one chunk, beyond its first task. */
#define CHUNK_BYTES ((size_t)1 << 20)
/* Successful runtimes kept for the median of --timeout N%. */
#define SAMPLES 4096
/* A task whose worker died under it this often fails instead. */
#define MAX_STRIKES 3
/* Workers that die before saying hello, per worker, before the run fails. */
#define MAX_EARLY_DEATHS 3
/* Tasks read ahead of need stop at this many bytes, so that large tasks
 * go out as they are read rather than after a long read-ahead. */
#define LOOKAHEAD_BYTES (2 * CHUNK_BYTES)
/* Results held back for ordered output, past which no new work goes out
 * until the oldest unfinished task is done. */
#define HOLD_CAP ((size_t)64 << 20)
/* Bookkeeping cost of one held result, counted against HOLD_CAP. */
#define HOLD_TASK 64
/* Output in the master's memory, held or streamed, past which a batch that
 * may spool moves it to the spool file. */
#define SPILL_AT ((size_t)16 << 20)
/* A worker sends what it has after this long even mid-chunk. */
#define PARTIAL_US 100000u
/* ... or once its results reach this size. */
#define PARTIAL_BYTES ((size_t)4 << 20)
/* How long the master sleeps in one wait when nothing arrives. */
#define WAIT_MS 1000
/* ... and when workers wait for input from a pipe that had none ready. */
#define INPUT_WAIT_MS 10

/* ---------------------------------------------------------------- master */

/* The signal that asked the run to stop (tf__request_stop), or 0. */
static volatile sig_atomic_t stop_sig;
/* The signal that asked the run to drain (tf__request_drain), or 0. */
static volatile sig_atomic_t drain_sig;
/* Set by tf__request_snapshot(), cleared when the snapshot is written. */
static volatile sig_atomic_t snapshot_sig;

struct rframe {
    int refs;
    struct tf_buf buf; /* owned: a RESULTS frame */
};

/* The output of a task that it streamed (tf_result_flush()) or that was
 * moved to the spool: the bytes before those of its result. */
struct taskout {
    struct tf__blob out;
    struct tf__blob err;
};

struct task_rec {
    uint64_t id;
    size_t cmd_off;
    size_t cmd_len;
    bool done;
    bool emitted;      /* passed to the batch's `done` */
    bool recorded;     /* passed to the batch's `keep` before that */
    uint64_t done_us;  /* when its last result came (tf__now_us()) */
    struct taskout *big; /* owned, or NULL */
    uint8_t strikes;   /* workers that died while it ran alone */
    int worker;        /* the worker whose result it is */
    unsigned attempts; /* runs that failed and were retried */
    bool lost;         /* failed because its workers died */
    bool timed_out;    /* ended for passing its time limit */
    int32_t status;
    int32_t signal;
    int64_t start_us;
    uint64_t runtime_us;
    uint64_t est_us;   /* its expected runtime, 0: not known */
    struct rframe *rf; /* a reference while the result is held */
    const void *out;
    size_t out_len;
    const void *err;
    size_t err_len;
};

struct chunk {
    struct chunk *next;        /* all chunks, in the order handed out */
    struct chunk *next_worker; /* the chunks its worker holds, or the
                                  orphans */
    int worker;
    uint32_t n;
    uint32_t nresults;
    uint32_t sent_upto;        /* tasks [nresults, sent_upto) are out */
    bool single;               /* re-sent one task at a time */
    struct chunk *parent;      /* a retry: its one task is parent's, which
                                  TASKS points into and CMDS is empty */
    uint32_t nemitted;
    struct tf_buf cmds;        /* owned: the tasks' text */
    struct task_rec *tasks;    /* owned */
};

enum { W_NEW, W_ACTIVE, W_STOPPED, W_GONE, W_RECYCLING };

struct wslot {
    int state;
    uint64_t tasks; /* handed to it since it started or was last reset */
    bool waiting; /* on the master's list of workers short of work */
    char host[256];
    size_t host_len;
    uint64_t busy_since_us; /* when its task in hand started, about: when
                               it got work while idle, or last sent a
                               result */
    struct chunk *head; /* chunks held, oldest first */
    struct chunk *tail;
    int inflight;
};

struct pend {
    uint64_t id;
    size_t off;
    size_t len;
    uint64_t est_us; /* the batch's estimate of its runtime, 0: none */
};

struct tf__session {
    struct tf__session_cfg cfg;
    struct tf__transport t;
    struct tf__sched sched;
    struct wslot *w; /* owned: [1..nworkers] */
    int active;      /* workers not stopped or gone */
    struct tf__batch *b; /* the batch running, or NULL */
    bool discard;        /* a failed batch's results are being dropped */
    struct tf__frame_ref *share; /* a reference: the SHARE frame, or NULL */
    struct tf__frame_ref *share_next; /* being filled by the caller */

    struct pend *q; /* owned ring of tasks read and not handed out */
    size_t qhead;
    size_t qlen;
    size_t qcap;
    struct tf_buf qbytes; /* owned: their text */
    size_t qbytes_start;
    bool eof;
    int input_rc;
    struct tf_error input_err;

    struct chunk *chunks; /* owned: handed out, not yet all written */
    struct chunk *chunks_tail;
    struct chunk *orphans; /* in chunks: held by a worker that was lost,
                              linked by next_worker */
    int early_deaths; /* workers that died before saying hello */
    bool stopping;    /* a signal asked the run to stop */
    bool halted;      /* --halt's condition was met */
    char halt_why[128];
    bool deadline_hit; /* tasks were left for the deadline or a drain */
    char deadline_why[192];
    uint64_t limit_us;    /* the time limit the workers were sent */
    uint64_t *samples;    /* owned: runtimes of successful tasks, a
                             reservoir of at most SAMPLES for the median */
    size_t nsamples;
    uint64_t nsuccess;
    uint64_t rng;
    struct chunk *retries; /* owned: failed tasks to run again, oldest
                              first, linked by next_worker */
    struct chunk *retries_tail;
    uint64_t next_chunk;
    size_t held;
    int *hungry; /* owned: workers short of work, waiting for input or
                    for held results to drain */
    int nhungry;
    int inflight; /* chunks held by all workers */

    struct tf__spool *spool; /* owned: the batch's, made when it first
                                has output to move there, or NULL */
    size_t held_mem;         /* output bytes in memory: of held results
                                and of tasks that stream theirs */
    uint64_t nunrecorded;    /* held results not yet passed to `keep` */
    uint64_t now_us;         /* tf__now_us() of the message being taken */
    uint64_t next_keep_us;   /* when held results may next be due */
    struct tf_buf joined;    /* owned: a streamed output made whole */

    struct tf__progress *progress; /* borrowed, or NULL: none shown */
    uint64_t finished;             /* tasks of the batch with a last result */
    uint64_t finished_failed;      /* of which failed */

    struct tf_buf frame; /* owned: receive buffer */
    struct tf_buf out;   /* owned: send buffer */
};

/* The master's state is the session; "m" reads better in the loops. */
#define master tf__session

static void
rframe_unref(struct rframe *rf)
{
    if (rf != NULL && --rf->refs == 0) {
        tf_buf_cleanup(&rf->buf);
        free(rf);
    }
}

/* Output bytes that task TR holds in memory. */
static size_t
task_mem(const struct task_rec *tr)
{
    size_t n = tr->out_len + tr->err_len;

    if (tr->big != NULL)
        n += tr->big->out.mem.len + tr->big->err.mem.len;
    return n;
}

/* Drops the output TR holds: its blobs and its part of a result frame. */
static void
drop_output(struct master *m, struct task_rec *tr)
{
    size_t n;

    if (tr->big == NULL && tr->rf == NULL && tr->out_len + tr->err_len == 0)
        return;
    n = task_mem(tr);
    m->held_mem -= n < m->held_mem ? n : m->held_mem;
    if (tr->big != NULL) {
        tf__blob_release(m->spool, &tr->big->out);
        tf__blob_release(m->spool, &tr->big->err);
        free(tr->big);
        tr->big = NULL;
    }
    rframe_unref(tr->rf);
    tr->rf = NULL;
    tr->out = tr->err = NULL;
    tr->out_len = tr->err_len = 0;
}

static void
chunk_free(struct master *m, struct chunk *c)
{
    uint32_t i;

    if (c == NULL)
        return;
    if (c->parent != NULL) {
        free(c); /* a retry: its task belongs to the parent */
        return;
    }
    if (c->tasks != NULL)
        for (i = 0; i < c->n; i++)
            drop_output(m, &c->tasks[i]);
    tf_buf_cleanup(&c->cmds);
    free(c->tasks);
    free(c);
}

/*
 * Reads tasks until WANT are pending or the input ends. It stops early,
 * rather than wait, when a pipe has nothing ready, except that with
 * MAY_BLOCK it waits for one task when none is pending.
 */
static int
read_ahead(struct master *m, uint64_t want, bool may_block)
{
    while (!m->eof && m->qlen < want &&
           (m->qlen == 0 ||
            m->qbytes.len - m->qbytes_start < LOOKAHEAD_BYTES)) {
        uint64_t id;
        const void *line;
        size_t len;
        struct pend *p;
        int rc;

        /* Wait for the first task at most, never for a full lookahead. */
        rc = m->b->next(m->b->next_arg, &id, &line, &len,
                        may_block && m->qlen == 0, &m->input_err);
        if (rc == TF__BATCH_WAIT)
            break;
        if (rc <= 0) {
            /* A bad task ends the input; the tasks before it still run. */
            m->eof = true;
            m->input_rc = rc;
            break;
        }
        if (m->qlen == m->qcap) {
            size_t cap = m->qcap ? m->qcap * 2 : 1024;
            struct pend *nq = malloc(cap * sizeof(*nq));
            size_t i;

            if (nq == NULL)
                return TF_ENOMEM;
            for (i = 0; i < m->qlen; i++)
                nq[i] = m->q[(m->qhead + i) % m->qcap];
            free(m->q);
            m->q = nq;
            m->qhead = 0;
            m->qcap = cap;
        }
        p = &m->q[(m->qhead + m->qlen) % m->qcap];
        p->id = id;
        p->off = m->qbytes.len;
        p->len = len;
        p->est_us = m->b->estimate != NULL
                        ? m->b->estimate(m->b->estimate_arg, id, line, len)
                        : 0;
        rc = tf_buf_append(&m->qbytes, line, len);
        if (rc < 0)
            return rc;
        m->qlen++;
    }
    return 0;
}

/* Drops text of tasks already handed out once it is half the arena. */
static void
compact_pending(struct master *m)
{
    size_t i;
    size_t start = m->qbytes_start;

    if (m->qlen == 0) {
        tf_buf_reset(&m->qbytes);
        m->qbytes_start = 0;
        return;
    }
    if (start < m->qbytes.len / 2 || start < 65536)
        return;
    memmove(m->qbytes.data, m->qbytes.data + start, m->qbytes.len - start);
    m->qbytes.len -= start;
    for (i = 0; i < m->qlen; i++)
        m->q[(m->qhead + i) % m->qcap].off -= start;
    m->qbytes_start = 0;
}

/* Worker W now holds C, after the chunks it held already. */
static void
hold(struct master *m, int w, struct chunk *c)
{
    c->next_worker = NULL;
    if (m->w[w].tail != NULL) {
        m->w[w].tail->next_worker = c;
    } else {
        m->w[w].head = c;
        m->w[w].busy_since_us = tf__now_us();
    }
    m->w[w].tail = c;
    m->w[w].inflight++;
    m->inflight++;
}

/* Ends the input here: the tasks read and not handed out are dropped (a
 * resumed run does them). */
static void
hand_out_no_more(struct master *m)
{
    m->eof = true;
    m->qlen = 0;
    m->qhead = 0;
}

/* Expected runtime of a task the batch estimated at EST_US (0: not
 * known): that, else the mean of the tasks measured so far, else 0. */
static uint64_t
task_est(const struct master *m, uint64_t est_us)
{
    if (est_us != 0)
        return est_us;
    return m->sched.tasks > 0 ? m->sched.busy_us / m->sched.tasks : 0;
}

/* Expected time worker W needs for the tasks it holds and has not ended. */
static uint64_t
held_us(const struct master *m, int w)
{
    const struct chunk *c;
    uint64_t sum = 0;
    uint32_t k;

    for (c = m->w[w].head; c != NULL; c = c->next_worker)
        for (k = c->nresults; k < c->sent_upto && k < c->n; k++)
            if (!c->tasks[k].done)
                sum += task_est(m, c->tasks[k].est_us);
    return sum;
}

/* Hands out nothing more for the deadline or a drain, saying WHY. */
static void
deadline_stop(struct master *m, const char *why)
{
    m->deadline_hit = true;
    hand_out_no_more(m);
    snprintf(m->deadline_why, sizeof(m->deadline_why), "%s", why);
}

/* Cuts the next chunk from the pending tasks and sends it to worker W. */
static int
send_chunk(struct master *m, int w, struct tf_error *err)
{
    struct chunk *c;
    uint64_t n;
    uint32_t i;
    size_t bytes = 0;
    uint64_t avail = UINT64_MAX, used = 0;
    int rc;

    if (m->b->deadline_us != 0) {
        /* What fits before the deadline, after what W holds. */
        uint64_t now = tf__now_us();
        uint64_t limit = m->b->deadline_us > m->b->margin_us
                             ? m->b->deadline_us - m->b->margin_us
                             : 0;
        uint64_t held = held_us(m, w);
        uint64_t e = task_est(m, m->q[m->qhead].est_us);

        avail = limit > now + held ? limit - now - held : 0;
        if (now >= limit || e > avail) {
            char why[192];

            snprintf(why, sizeof(why),
                     "the deadline is %.1f s away, less its margin of "
                     "%.1f s, and the next task is expected to take %.1f s",
                     m->b->deadline_us > now
                         ? (double)(m->b->deadline_us - now) / 1e6
                         : 0.0,
                     (double)m->b->margin_us / 1e6, (double)e / 1e6);
            deadline_stop(m, why);
            return 0;
        }
    }

    n = tf__sched_next(&m->sched, m->qlen, m->eof);
    if (n > m->qlen)
        n = m->qlen;
    if (m->cfg.max_tasks_per_worker != 0 &&
        n > m->cfg.max_tasks_per_worker - m->w[w].tasks)
        n = m->cfg.max_tasks_per_worker - m->w[w].tasks;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    tf_buf_init(&c->cmds, 0);
    c->worker = w;
    c->tasks = malloc(n * sizeof(*c->tasks));
    if (c->tasks == NULL) {
        chunk_free(m, c);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    rc = tf__wire_work_begin(&m->out, m->next_chunk, m->b->fn);
    for (i = 0; rc == 0 && i < n; i++) {
        struct pend *p = &m->q[m->qhead];
        const unsigned char *text = m->qbytes.data + p->off;
        struct task_rec *tr = &c->tasks[i];

        if (i > 0 && bytes + p->len > CHUNK_BYTES)
            break;
        if (avail != UINT64_MAX) {
            uint64_t e = task_est(m, p->est_us);

            if (i > 0 && used + e > avail)
                break; /* the rest would end past the deadline */
            used += e;
        }
        memset(tr, 0, sizeof(*tr));
        tr->id = p->id;
        tr->est_us = p->est_us;
        tr->cmd_off = c->cmds.len;
        tr->cmd_len = p->len;
        /* Kept, so that the task can be sent again if its worker dies. */
        rc = tf_buf_append(&c->cmds, text, p->len);
        if (rc == 0)
            rc = tf__wire_work_add(&m->out, p->id, text, p->len);
        bytes += p->len;
        m->qbytes_start = p->off + p->len;
        m->qhead = (m->qhead + 1) % m->qcap;
        m->qlen--;
        c->n = i + 1;
    }
    if (rc == 0)
        rc = tf__wire_work_end(&m->out, c->n, err);
    if (rc < 0) {
        chunk_free(m, c);
        return tf__error(err, rc, "cannot build a chunk of work");
    }
    compact_pending(m);
    rc = m->t.ops->send(&m->t, w, &m->out, err);
    if (rc < 0) {
        chunk_free(m, c);
        return rc;
    }
    m->next_chunk++;
    c->sent_upto = c->n;
    if (m->chunks_tail != NULL)
        m->chunks_tail->next = c;
    else
        m->chunks = c;
    m->chunks_tail = c;
    hold(m, w, c);
    m->w[w].tasks += c->n;
    return 0;
}

/* Sends task TR of chunk C (or of its parent) to worker W, alone. */
static int
send_one(struct master *m, int w, const struct chunk *c,
         const struct task_rec *tr, struct tf_error *err)
{
    const struct chunk *owner = c->parent != NULL ? c->parent : c;
    int rc;

    rc = tf__wire_work_begin(&m->out, m->next_chunk, m->b->fn);
    if (rc == 0)
        rc = tf__wire_work_add(&m->out, tr->id,
                               owner->cmds.data + tr->cmd_off, tr->cmd_len);
    if (rc == 0)
        rc = tf__wire_work_end(&m->out, 1, err);
    if (rc < 0)
        return tf__error(err, rc, "cannot build a chunk of work");
    rc = m->t.ops->send(&m->t, w, &m->out, err);
    if (rc == 0)
        m->next_chunk++;
    return rc;
}

/*
 * Takes a retry for worker W off the list: the oldest whose last attempt
 * ran on another worker, or, when W is the only worker left, the oldest.
 * NULL if none. (A retry waits for another worker rather than run where it
 * failed: the failure may be the worker's or its node's.)
 */
static struct chunk *
take_retry(struct master *m, int w)
{
    bool any = m->active <= 1;
    struct chunk **pp;
    struct chunk *prev = NULL;

    for (pp = &m->retries; *pp != NULL; prev = *pp, pp = &(*pp)->next_worker) {
        struct chunk *c = *pp;

        if (c->tasks[0].worker != w || any) {
            *pp = c->next_worker;
            if (m->retries_tail == c)
                m->retries_tail = prev;
            c->next_worker = NULL;
            return c;
        }
    }
    return NULL;
}

/* Sends a retry to worker W, if there is one for it. Returns 1 if sent. */
static int
send_retry(struct master *m, int w, struct tf_error *err)
{
    struct chunk *c = take_retry(m, w);
    int rc;

    if (c == NULL)
        return 0;
    rc = send_one(m, w, c, &c->tasks[0], err);
    if (rc < 0) {
        chunk_free(m, c);
        return rc;
    }
    c->worker = w;
    c->nresults = 0;
    c->sent_upto = 1;
    c->single = true;
    hold(m, w, c);
    m->w[w].tasks++;
    return 1;
}

/*
 * Task TR of chunk C failed and may run again: its result is dropped and a
 * retry (a chunk of one task, pointing at TR) joins the list.
 */
static int
schedule_retry(struct master *m, struct chunk *c, struct task_rec *tr,
               struct tf_error *err)
{
    struct chunk *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    r->parent = c->parent != NULL ? c->parent : c;
    r->tasks = tr;
    r->n = 1;
    tr->attempts++;
    tr->done = false;
    drop_output(m, tr);
    if (m->retries_tail != NULL)
        m->retries_tail->next_worker = r;
    else
        m->retries = r;
    m->retries_tail = r;
    return 0;
}

/*
 * Sends again the first unreported task of the oldest orphan to worker W,
 * alone, so that if W dies too the task that was running is known.
 */
static int
resend_orphan(struct master *m, int w, struct tf_error *err)
{
    struct chunk *c = m->orphans;
    struct task_rec *tr = &c->tasks[c->nresults];
    int rc;

    rc = send_one(m, w, c, tr, err);
    if (rc < 0)
        return rc;
    m->orphans = c->next_worker;
    c->next_worker = NULL;
    c->worker = w;
    c->single = true;
    c->sent_upto = c->nresults + 1;
    hold(m, w, c);
    m->w[w].tasks++;
    return 0;
}

static void
wait_for_work(struct master *m, int w)
{
    if (!m->w[w].waiting) {
        m->w[w].waiting = true;
        m->hungry[m->nhungry++] = w;
    }
}

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

static bool
holding_too_much(const struct master *m)
{
    return !m->b->unordered && m->held >= HOLD_CAP;
}

/* A worker that ran its share of tasks is replaced (fork) or reset. */
static int
recycle(struct master *m, int w, struct tf_error *err)
{
    struct wslot *ws = &m->w[w];
    int rc;

    if (m->t.ops->respawn != NULL) {
        rc = send_plain(m, w, TF__MSG_STOP, err);
        ws->state = W_RECYCLING;
        return rc;
    }
    ws->tasks = 0;
    return send_plain(m, w, TF__MSG_RESET, err);
}

/* Gives worker W work up to its prefetch depth. A worker that cannot be
 * given work yet goes on the waiting list. */
static int
refill(struct master *m, int w, struct tf_error *err)
{
    struct wslot *ws = &m->w[w];
    int rc;

    if (ws->state != W_ACTIVE || m->b == NULL)
        return 0;
    if (m->cfg.max_tasks_per_worker != 0 &&
        ws->tasks >= m->cfg.max_tasks_per_worker) {
        if (ws->inflight > 0)
            return 0; /* recycled once what it holds is done */
        rc = recycle(m, w, err);
        if (rc < 0 || ws->state != W_ACTIVE)
            return rc;
    }
    while (ws->inflight < tf__sched_prefetch(&m->sched)) {
        bool may_block = m->inflight == 0;

        if (m->cfg.max_tasks_per_worker != 0 &&
            ws->tasks >= m->cfg.max_tasks_per_worker)
            return 0; /* recycled once what it holds is done */

        if (m->orphans != NULL) {
            /* Work a lost worker left comes first, one task at a time. */
            rc = resend_orphan(m, w, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (m->retries != NULL) {
            /* Then failed tasks that may run again. */
            rc = send_retry(m, w, err);
            if (rc < 0)
                return rc;
            if (rc == 1)
                continue;
        }
        if (holding_too_much(m)) {
            wait_for_work(m, w);
            return 0;
        }
        if (may_block && !m->eof && m->b->flush != NULL) {
            /* About to wait for input with nothing running: show what is
             * done first. */
            rc = m->b->flush(m->b->flush_arg, err);
            if (rc < 0)
                return rc;
        }
        rc = read_ahead(m, tf__sched_lookahead(&m->sched), may_block);
        if (rc < 0)
            return tf__error(err, rc, "out of memory");
        if (m->qlen == 0) {
            if (!m->eof)
                wait_for_work(m, w);
            return 0;
        }
        rc = send_chunk(m, w, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Tries again to give work to the workers on the waiting list. */
static int
serve_waiting(struct master *m, struct tf_error *err)
{
    int n = m->nhungry;
    int i;
    int rc;

    if (n == 0 || holding_too_much(m))
        return 0;
    m->nhungry = 0;
    for (i = 0; i < n; i++)
        m->w[m->hungry[i]].waiting = false;
    for (i = 0; i < n; i++) {
        rc = refill(m, m->hungry[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Whether the --halt condition is met; then hands out nothing more. */
static void
check_halt(struct master *m)
{
    const struct tf__halt *h = m->b->halt;
    uint64_t n = h->on_success ? m->finished - m->finished_failed
                               : m->finished_failed;
    uint64_t of = m->b->total != 0 ? m->b->total : m->finished;

    if (n == 0 || (h->pct != 0 ? n * 100 < (uint64_t)h->pct * of
                               : n < h->count))
        return;
    m->halted = true;
    hand_out_no_more(m);
    snprintf(m->halt_why, sizeof(m->halt_why),
             "%llu task%s %s (--halt %s,%s=%llu%s)", (unsigned long long)n,
             n == 1 ? "" : "s", h->on_success ? "succeeded" : "failed",
             h->now ? "now" : "soon", h->on_success ? "success" : "fail",
             (unsigned long long)(h->pct != 0 ? h->pct : h->count),
             h->pct != 0 ? "%" : "");
}

/* Fills D with finished task TR of chunk C (the owner of its text). */
static void
fill_done(struct master *m, const struct chunk *c, const struct task_rec *tr,
          struct tf__done *d)
{
    d->id = tr->id;
    d->host = m->w[tr->worker].host;
    d->host_len = m->w[tr->worker].host_len;
    d->start_us = tr->start_us;
    d->runtime_us = tr->runtime_us;
    d->send_bytes = tr->cmd_len;
    d->status = tr->status;
    d->worker = tr->worker - 1;
    d->attempt = tr->attempts + 1;
    d->flags = (tr->lost ? TF__REC_LOST : 0) |
               (tr->timed_out ? TF__REC_TIMEOUT : 0);
    d->signal = tr->signal;
    d->recorded = tr->recorded;
    d->cmd = m->b->keep_text ? c->cmds.data + tr->cmd_off : NULL;
    d->cmd_len = m->b->keep_text ? tr->cmd_len : 0;
    d->out = tr->out;
    d->out_len = tr->out_len;
    d->err = tr->err;
    d->err_len = tr->err_len;
    d->spool = m->spool;
    d->out_blob = tr->big != NULL ? &tr->big->out : NULL;
    d->err_blob = tr->big != NULL ? &tr->big->err : NULL;
}

static int
join_part(void *arg, const void *p, size_t n, struct tf_error *err)
{
    if (tf_buf_append(arg, p, n) < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    return 0;
}

/*
 * For a batch that takes its output whole: makes D's stream (a blob and
 * the bytes after it) one run of bytes in BUF and points D at it.
 */
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
emit(struct master *m, struct chunk *c, struct task_rec *tr,
     struct tf_error *err)
{
    struct tf__done d;
    struct tf_buf errbuf;
    int rc = 0;

    fill_done(m, c, tr, &d);
    tf_buf_init(&errbuf, 0);
    if (tr->big != NULL && !m->b->spool) {
        rc = join_stream(m, &tr->big->out, &d.out, &d.out_len, &m->joined,
                         err);
        if (rc == 0)
            rc = join_stream(m, &tr->big->err, &d.err, &d.err_len, &errbuf,
                             err);
        d.out_blob = d.err_blob = NULL;
    }
    if (m->progress != NULL)
        tf__progress_clear(m->progress);
    if (rc == 0 && !m->discard)
        rc = m->b->done(m->b->done_arg, &d, err);
    tf_buf_cleanup(&errbuf);
    if (m->joined.cap > SPILL_AT)
        tf_buf_cleanup(&m->joined);
    m->b->tasks++;
    if (tr->status != 0)
        m->b->failed++;
    c->nemitted++;
    tr->emitted = true;
    if (!tr->recorded && m->b->keep != NULL && m->nunrecorded > 0)
        m->nunrecorded--;
    m->held -= HOLD_TASK + task_mem(tr);
    drop_output(m, tr);
    return rc;
}

/*
 * Passes held task TR of chunk C to the batch's `keep`, so that its record
 * is written before its turn comes.
 */
static int
keep_task(struct master *m, struct chunk *c, struct task_rec *tr,
          struct tf_error *err)
{
    struct tf__done d;

    fill_done(m, c, tr, &d);
    tr->recorded = true;
    m->nunrecorded--;
    if (m->discard)
        return 0;
    return m->b->keep(m->b->keep_arg, &d, err);
}

/*
 * With `keep`: passes the held results that have waited for their turn
 * KEEP_AFTER_US or more to it, and notes when the next may be due. Called
 * as time passes; it looks only when one may be due.
 */
static int
keep_aged(struct master *m, uint64_t now, struct tf_error *err)
{
    uint64_t after = m->b->keep_after_us;
    uint64_t oldest = UINT64_MAX;
    struct chunk *c;
    uint32_t k;
    int rc;

    if (m->b->keep == NULL || m->nunrecorded == 0 || now < m->next_keep_us)
        return 0;
    for (c = m->chunks; c != NULL && m->nunrecorded > 0; c = c->next) {
        for (k = c->nemitted; k < c->n; k++) {
            struct task_rec *tr = &c->tasks[k];

            if (!tr->done || tr->emitted || tr->recorded)
                continue;
            if (tr->done_us + after <= now) {
                rc = keep_task(m, c, tr, err);
                if (rc < 0)
                    return rc;
            } else if (tr->done_us < oldest) {
                oldest = tr->done_us;
            }
        }
    }
    m->next_keep_us = oldest != UINT64_MAX ? oldest + after : now + after;
    return 0;
}

/*
 * Moves output the master holds in memory to the spool file, for a batch
 * that may spool: of the held results and the tasks streaming their output
 * that hold at least MIN bytes.
 */
static int
spill_from(struct master *m, size_t min, struct tf_error *err)
{
    struct chunk *c;
    uint32_t k;
    int rc;

    for (c = m->chunks; c != NULL; c = c->next) {
        for (k = c->nemitted; k < c->n; k++) {
            struct task_rec *tr = &c->tasks[k];
            size_t before = task_mem(tr);

            if (tr->emitted || before == 0 || before < min ||
                (!tr->done && tr->big == NULL))
                continue;
            if (tr->big == NULL) {
                tr->big = calloc(1, sizeof(*tr->big));
                if (tr->big == NULL)
                    return tf__error(err, TF_ENOMEM, "out of memory");
                tf__blob_init(&tr->big->out);
                tf__blob_init(&tr->big->err);
            }
            /* A held result's own part joins its blob first. */
            if (tr->done && (tr->out_len > 0 || tr->err_len > 0)) {
                if (tf__blob_append(&tr->big->out, tr->out, tr->out_len) <
                        0 ||
                    tf__blob_append(&tr->big->err, tr->err, tr->err_len) < 0)
                    return tf__error(err, TF_ENOMEM, "out of memory");
                rframe_unref(tr->rf);
                tr->rf = NULL;
                tr->out = tr->err = NULL;
                tr->out_len = tr->err_len = 0;
            }
            rc = tf__blob_spill(m->spool, &tr->big->out, err);
            if (rc == 0)
                rc = tf__blob_spill(m->spool, &tr->big->err, err);
            if (rc < 0)
                return rc;
            m->held_mem -= before - task_mem(tr);
            if (tr->done)
                m->held -= before - task_mem(tr);
        }
    }
    return 0;
}

/* Spills when the output in memory has passed the budget: the large
 * outputs first, the small ones too only when that was not enough. */
static int
spill_if_due(struct master *m, struct tf_error *err)
{
    int rc;

    if (!m->b->spool || m->held_mem < SPILL_AT)
        return 0;
    if (m->spool == NULL) {
        rc = tf__spool_new(m->b->spool_dir, &m->spool, err);
        if (rc < 0)
            return rc;
    }
    rc = spill_from(m, SPILL_AT / 256, err);
    if (rc == 0 && m->held_mem >= SPILL_AT / 2)
        rc = spill_from(m, 0, err);
    return rc;
}

/*
 * Task TR of chunk C (the chunk whose tasks array holds it) has its last
 * result: it counts as finished (for --halt, too), and is passed on at
 * once when the batch takes results as they complete, else held until its
 * turn.
 */
static int
task_finished(struct master *m, struct chunk *c, struct task_rec *tr,
              struct tf_error *err)
{
    tr->done = true;
    tr->done_us = m->now_us;
    m->held += HOLD_TASK + task_mem(tr);
    m->finished++;
    if (tr->status != 0)
        m->finished_failed++;
    if (m->b->halt != NULL && !m->halted)
        check_halt(m);
    if (m->b->unordered)
        return emit(m, c, tr, err);
    if (m->b->keep == NULL)
        return 0;
    m->nunrecorded++;
    /* Kept at once, unless it is next in turn. */
    if (m->b->keep_after_us == 0 &&
        !(c == m->chunks && tr == &c->tasks[c->nemitted]))
        return keep_task(m, c, tr, err);
    if (m->nunrecorded == 1)
        m->next_keep_us = tr->done_us + m->b->keep_after_us;
    return 0;
}

/* Writes every result that may be written now, in task order, and frees
 * chunks that are finished. */
static int
drain(struct master *m, struct tf_error *err)
{
    while (m->chunks != NULL) {
        struct chunk *c = m->chunks;
        int rc;

        while (!m->b->unordered && c->nemitted < c->n &&
               c->tasks[c->nemitted].done) {
            rc = emit(m, c, &c->tasks[c->nemitted], err);
            if (rc < 0)
                return rc;
        }
        if (c->nemitted < c->n)
            break;
        m->chunks = c->next;
        if (m->chunks == NULL)
            m->chunks_tail = NULL;
        chunk_free(m, c);
    }
    /* Unordered runs free finished chunks wherever they are in the list. */
    if (m->b->unordered && m->chunks != NULL) {
        struct chunk *prev = m->chunks;

        while (prev->next != NULL) {
            struct chunk *c = prev->next;

            if (c->nemitted == c->n) {
                prev->next = c->next;
                if (m->chunks_tail == c)
                    m->chunks_tail = prev;
                chunk_free(m, c);
            } else {
                prev = c;
            }
        }
    }
    return 0;
}

/* Tells worker W the time limit of its tasks from now on. */
static int
send_limit(struct master *m, int w, struct tf_error *err)
{
    int rc;

    rc = tf__wire_begin(&m->out, TF__MSG_LIMIT);
    if (rc == 0)
        rc = tf__wire_put_u64(&m->out, m->limit_us);
    if (rc == 0)
        rc = tf__wire_put_u64(&m->out, m->cfg.kill_grace_us);
    if (rc == 0)
        rc = tf__wire_end(&m->out, err);
    if (rc < 0)
        return tf__error(err, rc, "cannot encode a message");
    return m->t.ops->send(&m->t, w, &m->out, err);
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * With --timeout N%: a task of RUNTIME_US succeeded. Keeps a sample of the
 * runtimes, and when N% of their median moved by more than a twentieth,
 * sends the new limit to every worker.
 */
static int
observe_success(struct master *m, uint64_t runtime_us, struct tf_error *err)
{
    uint64_t *copy;
    uint64_t limit;
    size_t i;
    int rc;

    if (m->cfg.timeout_pct == 0)
        return 0;
    if (m->samples == NULL) {
        m->samples = malloc(SAMPLES * sizeof(*m->samples));
        if (m->samples == NULL)
            return tf__error(err, TF_ENOMEM, "out of memory");
    }
    m->nsuccess++;
    if (m->nsamples < SAMPLES) {
        m->samples[m->nsamples++] = runtime_us;
    } else {
        m->rng = m->rng * 6364136223846793005u + 1442695040888963407u;
        i = (size_t)((m->rng >> 33) % m->nsuccess);
        if (i < SAMPLES)
            m->samples[i] = runtime_us;
    }
    /* Recomputed at 3 successes, then every 32. */
    if (m->nsuccess < 3 || (m->nsuccess > 3 && m->nsuccess % 32 != 0))
        return 0;
    copy = malloc(m->nsamples * sizeof(*copy));
    if (copy == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    memcpy(copy, m->samples, m->nsamples * sizeof(*copy));
    qsort(copy, m->nsamples, sizeof(*copy), cmp_u64);
    limit = copy[m->nsamples / 2] / 100 * m->cfg.timeout_pct;
    free(copy);
    if (limit < 1000)
        limit = 1000; /* at least a millisecond */
    if (m->limit_us != 0 && limit < m->limit_us + m->limit_us / 20 &&
        limit + limit / 20 > m->limit_us)
        return 0;
    m->limit_us = limit;
    for (i = 1; i <= (size_t)m->t.nworkers; i++) {
        if (m->w[i].state != W_ACTIVE)
            continue;
        rc = send_limit(m, (int)i, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
on_results(struct master *m, int w, struct tf_error *err)
{
    struct wslot *ws = &m->w[w];
    struct tf__results_reader rr;
    struct tf__wire_result res;
    struct rframe *rf;
    uint32_t k;
    int rc;

    if (ws->state != W_ACTIVE || m->b == NULL)
        return tf__error(err, TF_EPROTO, "results from worker %d, which "
                                         "holds no work", w);
    rc = tf__wire_results_open(&rr, m->frame.data + TF__WIRE_HDR,
                               m->frame.len - TF__WIRE_HDR, err);
    if (rc < 0)
        return rc;
    /* One clock reading for the message's results. */
    m->now_us = tf__now_us();
    rf = calloc(1, sizeof(*rf));
    if (rf == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    /* The results point into the frame: keep it, and receive into a new
     * buffer next time. */
    rf->buf = m->frame;
    rf->refs = 1;
    tf_buf_init(&m->frame, 0);
    for (k = 0; k < rr.count; k++) {
        struct chunk *c = ws->head;
        struct task_rec *tr;

        (void)tf__wire_results_next(&rr, &res);
        if (c == NULL || c->nresults >= c->sent_upto) {
            rframe_unref(rf);
            return tf__error(err, TF_EPROTO,
                             "worker %d sent a result for work it does not "
                             "hold",
                             w);
        }
        tr = &c->tasks[c->nresults];
        if (tr->id != res.id) {
            rframe_unref(rf);
            return tf__error(err, TF_EPROTO,
                             "worker %d sent the result of task %llu where "
                             "task %llu was expected",
                             w, (unsigned long long)res.id,
                             (unsigned long long)tr->id);
        }
        tr->done = true;
        tr->worker = w;
        tr->status = res.status;
        tr->signal = res.signal & ~TF__SIG_TIMED_OUT;
        tr->timed_out = (res.signal & TF__SIG_TIMED_OUT) != 0;
        if (tr->status == 0) {
            rc = observe_success(m, res.runtime_us, err);
            if (rc < 0) {
                rframe_unref(rf);
                return rc;
            }
        }
        tr->start_us = res.start_us;
        tr->runtime_us = res.runtime_us;
        tr->out = res.out;
        tr->out_len = res.out_len;
        tr->err = res.err;
        tr->err_len = res.err_len;
        tr->rf = rf;
        rf->refs++;
        m->held_mem += res.out_len + res.err_len;
        c->nresults++;
        if (tr->status != 0 && tr->attempts < m->cfg.retries &&
            !m->discard)
            rc = schedule_retry(m, c, tr, err);
        else
            rc = task_finished(m, c->parent != NULL ? c->parent : c, tr,
                               err);
        if (rc < 0) {
            rframe_unref(rf);
            return rc;
        }
        if (c->nresults == c->sent_upto) {
            ws->head = c->next_worker;
            if (ws->head == NULL)
                ws->tail = NULL;
            ws->inflight--;
            m->inflight--;
            if (c->parent != NULL) {
                chunk_free(m, c); /* a retry, done */
            } else if (c->nresults < c->n) {
                /* A re-sent task is done; the rest of its chunk goes out
                 * next, the same way. */
                c->next_worker = m->orphans;
                m->orphans = c;
            }
        }
    }
    rframe_unref(rf);
    ws->busy_since_us = m->now_us;
    tf__sched_observe(&m->sched, rr.count, rr.busy_us);
    rc = drain(m, err);
    if (rc == 0)
        rc = spill_if_due(m, err);
    if (rc < 0)
        return rc;
    /* A retry goes to an idle worker other than the one it failed on. */
    for (k = 1; m->retries != NULL && k <= (uint32_t)m->t.nworkers; k++) {
        if ((int)k != w && m->w[k].state == W_ACTIVE &&
            m->w[k].inflight == 0) {
            rc = refill(m, (int)k, err);
            if (rc < 0)
                return rc;
        }
    }
    rc = refill(m, w, err);
    if (rc < 0)
        return rc;
    return serve_waiting(m, err);
}

/* The task with ID among those worker W holds and has not reported, or
 * NULL. */
static struct task_rec *
held_task(struct master *m, int w, uint64_t id)
{
    struct chunk *c;
    uint32_t k;

    for (c = m->w[w].head; c != NULL; c = c->next_worker)
        for (k = c->nresults; k < c->sent_upto && k < c->n; k++)
            if (c->tasks[k].id == id)
                return &c->tasks[k];
    return NULL;
}

/* A part of the output of a task worker W is running: it joins the task's
 * blobs, which may then go to the spool. */
static int
on_output(struct master *m, int w, struct tf_error *err)
{
    struct tf__wire_output o;
    struct task_rec *tr;
    int rc;

    if (m->w[w].state != W_ACTIVE || m->b == NULL)
        return tf__error(err, TF_EPROTO, "output from worker %d, which "
                                         "holds no work",
                         w);
    rc = tf__wire_get_output(m->frame.data + TF__WIRE_HDR,
                             m->frame.len - TF__WIRE_HDR, &o, err);
    if (rc < 0)
        return rc;
    tr = held_task(m, w, o.id);
    if (tr == NULL)
        return tf__error(err, TF_EPROTO,
                         "worker %d sent output of task %llu, which it does "
                         "not hold",
                         w, (unsigned long long)o.id);
    if (tr->big == NULL) {
        tr->big = calloc(1, sizeof(*tr->big));
        if (tr->big == NULL)
            return tf__error(err, TF_ENOMEM, "out of memory");
        tf__blob_init(&tr->big->out);
        tf__blob_init(&tr->big->err);
    }
    if (tf__blob_append(&tr->big->out, o.out, o.out_len) < 0 ||
        tf__blob_append(&tr->big->err, o.err, o.err_len) < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    m->held_mem += o.out_len + o.err_len;
    return spill_if_due(m, err);
}

/* Tasks that worker W's tasks submitted: each goes to the batch's submit
 * callback (which queues it for `next`), or, in a batch that does not
 * take them, is an error of the worker's. */
static int
on_submit(struct master *m, int w, struct tf_error *err)
{
    struct tf__submit_reader sr;
    uint64_t parent;
    const void *p;
    size_t n;
    int rc;

    if (m->w[w].state != W_ACTIVE || m->b == NULL)
        return tf__error(err, TF_EPROTO, "submitted tasks from worker %d, "
                                         "which holds no work",
                         w);
    rc = tf__wire_submit_open(&sr, m->frame.data + TF__WIRE_HDR,
                              m->frame.len - TF__WIRE_HDR, err);
    if (rc < 0)
        return rc;
    if (m->b->submit == NULL)
        return tf__error(err, TF_EUSAGE, "a task submitted tasks in a run "
                                         "that takes none");
    while (tf__wire_submit_next(&sr, &parent, &p, &n) == 1) {
        if (m->discard || m->stopping || m->halted || m->deadline_hit)
            continue; /* the batch hands out nothing more */
        rc = m->b->submit(m->b->submit_arg, parent, p, n, err);
        if (rc < 0)
            return rc;
        /* 1: there may be tasks for `next` again, past an end it saw. */
        if (rc == 1)
            m->eof = false;
    }
    return 0;
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

static int
on_hello(struct master *m, int w, struct tf_error *err)
{
    struct tf__hello h;
    int rc;

    if (m->w[w].state != W_NEW)
        return tf__error(err, TF_EPROTO, "worker %d said hello twice", w);
    rc = tf__wire_get_hello(m->frame.data + TF__WIRE_HDR,
                            m->frame.len - TF__WIRE_HDR, &h, err);
    if (rc < 0)
        return rc;
    memcpy(m->w[w].host, h.host, h.host_len);
    m->w[w].host_len = h.host_len;
    m->w[w].state = W_ACTIVE;
    m->w[w].tasks = 0;
    if (m->share != NULL) {
        rc = send_share(m, w, err);
        if (rc < 0)
            return rc;
    }
    if (m->limit_us != 0) {
        rc = send_limit(m, w, err);
        if (rc < 0)
            return rc;
    }
    return refill(m, w, err);
}

/*
 * Worker W is gone: it no longer counts, and the chunks it held go to the
 * front of the orphans, oldest first, whose unreported tasks are sent again
 * one at a time. When it DIED (rather than said it failed) while running a
 * task that was sent to it alone, that task gets a strike, and a task with
 * MAX_STRIKES fails with signal SIG (or SIGKILL) instead of being sent
 * again.
 */
static int
worker_lost(struct master *m, int w, bool died, int sig, struct tf_error *err)
{
    static const char why[] = "taskfarm: the worker running this task died "
                              "each time it ran\n";
    struct wslot *ws = &m->w[w];
    struct chunk *c = ws->head;
    struct chunk **tail;
    struct chunk *k;
    int rc = 0;

    if (ws->state == W_GONE)
        return 0;
    if (ws->state != W_STOPPED)
        m->active--;
    ws->state = W_GONE;
    /* What the tasks it held streamed of their output goes with them: a
     * task sent again starts its output again. */
    for (k = c; k != NULL; k = k->next_worker) {
        uint32_t i;

        for (i = k->nresults; i < k->sent_upto && i < k->n; i++)
            drop_output(m, &k->tasks[i]);
    }
    if (died && c != NULL && c->single && c->nresults < c->sent_upto &&
        ++c->tasks[c->nresults].strikes >= MAX_STRIKES && m->b != NULL) {
        struct task_rec *tr = &c->tasks[c->nresults];

        tr->worker = w;
        tr->start_us = tf__wall_us();
        tr->lost = true;
        tr->status = -1;
        tr->signal = sig > 0 ? sig : SIGKILL;
        tr->err = why;
        tr->err_len = sizeof(why) - 1;
        m->held_mem += tr->err_len;
        m->now_us = tf__now_us();
        c->nresults++;
        rc = task_finished(m, c->parent != NULL ? c->parent : c, tr, err);
    }
    /* Its chunks, in order, before the orphans there are. */
    tail = &ws->head;
    while (*tail != NULL) {
        k = *tail;
        ws->inflight--;
        m->inflight--;
        if (k->nresults == k->n) {
            *tail = k->next_worker; /* finished by the strike above */
            if (k->parent != NULL)
                chunk_free(m, k);
            continue;
        }
        tail = &k->next_worker;
    }
    *tail = m->orphans;
    m->orphans = ws->head;
    ws->head = ws->tail = NULL;
    return rc;
}

static int
on_message(struct master *m, int w, struct tf_error *err)
{
    struct tf_error werr;
    size_t payload;
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
        rc = tf__error(err, code, "worker %d on %.*s: %s", w,
                       (int)m->w[w].host_len, m->w[w].host, werr.msg);
        (void)worker_lost(m, w, false, 0, &werr);
        return rc;
    }
    return tf__error(err, TF_EPROTO, "unexpected message of type %d from "
                                     "worker %d",
                     type, w);
}

/*
 * Worker W died (its process ended without a word: killed, out of memory,
 * crashed). What it held goes to the other workers and, where the
 * transport can, a new worker takes its place; the run goes on. ERR holds
 * the transport's report of the loss.
 */
static int
worker_died(struct master *m, int w, struct tf_error *err)
{
    bool early = m->w[w].state == W_NEW;
    int sig = m->t.peer_signal;
    int rc;

    rc = worker_lost(m, w, true, sig, err);
    if (rc < 0)
        return rc;
    if (early && ++m->early_deaths > MAX_EARLY_DEATHS * m->t.nworkers)
        return tf__error(err, TF_EPEER,
                         "workers keep dying before they start (the last: "
                         "worker %d%s%s)",
                         w, sig > 0 ? ", " : "", sig > 0 ? strsignal(sig) : "");
    if (m->stopping || stop_sig != 0)
        return 0; /* it was told to end, or soon will be */
    if (m->t.ops->respawn != NULL) {
        tf__log(TF_LOG_WARN, "worker %d died%s%s; a new one takes its place",
                w, sig > 0 ? ": " : "", sig > 0 ? strsignal(sig) : "");
        rc = m->t.ops->respawn(&m->t, w, err);
        if (rc < 0)
            return rc;
        m->w[w].state = W_NEW;
        m->active++;
        return 0;
    }
    if (m->active > 0) {
        tf__log(TF_LOG_WARN, "worker %d is lost; the others take its work",
                w);
        return 0;
    }
    return tf__error(err, TF_EPEER, "every worker is lost (the last: %s)",
                     err->msg);
}

/* Takes one message or event and acts on it; waits up to WAIT_MS. */
/* Where the batch stands, for the progress line and the snapshot. */
static void
progress_snap(const struct master *m, uint64_t now,
              struct tf__progress_snap *snap)
{
    int i;

    memset(snap, 0, sizeof(*snap));
    snap->done = m->finished;
    snap->failed = m->finished_failed;
    snap->total = m->b->total;
    snap->skipped = m->b->skipped != NULL ? *m->b->skipped : 0;
    for (i = 1; i <= m->t.nworkers; i++)
        if (m->w[i].state == W_ACTIVE && m->w[i].head != NULL)
            snap->running++;
    if (m->progress != NULL && now > m->progress->start_us)
        snap->elapsed_us = now - m->progress->start_us;
}

/* Appends the N bytes of TEXT to B, on one line: bytes that are not
 * printable become '?', and a long text ends in "...". */
static void
put_text(struct tf_buf *b, const unsigned char *text, size_t n, size_t max)
{
    size_t i;

    for (i = 0; i < n && i < max; i++) {
        char ch = text[i] >= 0x20 && text[i] < 0x7f ? (char)text[i] : '?';

        tf_buf_append(b, &ch, 1);
    }
    if (n > max)
        tf_buf_puts(b, "...");
}

/* A task running now: which, on which worker, since when. */
struct running {
    uint64_t id;
    int worker;
    uint64_t us;
    const unsigned char *text;
    size_t len;
};

static int
cmp_running(const void *a, const void *b)
{
    const struct running *x = a, *y = b;

    if (x->us != y->us)
        return x->us > y->us ? -1 : 1;
    return x->worker - y->worker;
}

/*
 * Writes the snapshot SIGUSR2 asks for to standard error: the counts, each
 * worker's task in hand and how long it has run, the longest-running
 * tasks, and the tasks waiting. A worker's task in hand is the first of its
 * oldest chunk that has no result; it started, about, when the worker last
 * sent results or got work while idle.
 */
static void
write_snapshot(struct master *m)
{
    uint64_t now = tf__now_us();
    struct tf__progress_snap snap;
    struct running *run;
    struct tf_buf b;
    uint64_t queued = m->qlen, left;
    char clock[32], line[512];
    size_t nrun = 0, k;
    int i;

    if (m->progress != NULL)
        tf__progress_clear(m->progress);
    progress_snap(m, now, &snap);
    run = calloc((size_t)m->t.nworkers + 1, sizeof(*run));
    tf_buf_init(&b, 0);
    for (i = 1; i <= m->t.nworkers; i++) {
        const struct chunk *c;

        for (c = m->w[i].head; c != NULL; c = c->next_worker)
            queued += c->sent_upto - c->nresults;
    }
    queued -= snap.running < queued ? snap.running : queued;
    left = snap.total > snap.done + snap.skipped + snap.running
               ? snap.total - snap.done - snap.skipped - snap.running
               : 0;
    tf__progress_format_status(&snap, "snapshot", line, sizeof(line));
    tf_buf_puts(&b, line);
    snprintf(line, sizeof(line), "\ntaskfarm:   %llu tasks %s\n",
             (unsigned long long)(snap.total != 0 ? left : queued),
             snap.total != 0 ? "waiting" : "read and waiting");
    tf_buf_puts(&b, line);
    for (i = 1; i <= m->t.nworkers; i++) {
        const struct wslot *ws = &m->w[i];
        const struct chunk *c = ws->head;

        snprintf(line, sizeof(line), "taskfarm:   worker %d (%.*s): ", i - 1,
                 (int)ws->host_len, ws->host);
        tf_buf_puts(&b, line);
        if (ws->state != W_ACTIVE && ws->state != W_RECYCLING) {
            tf_buf_puts(&b, ws->state == W_NEW ? "starting\n" : "gone\n");
            continue;
        }
        if (c == NULL || c->nresults >= c->sent_upto) {
            tf_buf_puts(&b, "idle\n");
            continue;
        }
        {
            const struct task_rec *tr = &c->tasks[c->nresults];
            const struct chunk *t = c->parent != NULL ? c->parent : c;
            uint64_t us = now > ws->busy_since_us ? now - ws->busy_since_us : 0;

            if (run != NULL) {
                run[nrun].id = tr->id;
                run[nrun].worker = i - 1;
                run[nrun].us = us;
                run[nrun].text = t->cmds.data + tr->cmd_off;
                run[nrun].len = m->b->keep_text ? tr->cmd_len : 0;
                nrun++;
            }
            tf__progress_duration(us, clock, sizeof(clock));
            snprintf(line, sizeof(line), "task %llu, %s",
                     (unsigned long long)tr->id, clock);
            tf_buf_puts(&b, line);
            if (m->b->keep_text) {
                tf_buf_puts(&b, ": ");
                put_text(&b, t->cmds.data + tr->cmd_off, tr->cmd_len, 60);
            }
            tf_buf_puts(&b, "\n");
        }
    }
    if (nrun > 0) {
        qsort(run, nrun, sizeof(*run), cmp_running);
        tf_buf_puts(&b, "taskfarm:   longest running:\n");
        for (k = 0; k < nrun && k < 5; k++) {
            tf__progress_duration(run[k].us, clock, sizeof(clock));
            snprintf(line, sizeof(line),
                     "taskfarm:     %s, task %llu on "
                     "worker %d",
                     clock, (unsigned long long)run[k].id, run[k].worker);
            tf_buf_puts(&b, line);
            if (run[k].len > 0) {
                tf_buf_puts(&b, ": ");
                put_text(&b, run[k].text, run[k].len, 60);
            }
            tf_buf_puts(&b, "\n");
        }
    }
    if (b.data != NULL)
        (void)!write(STDERR_FILENO, b.data, b.len);
    tf_buf_cleanup(&b);
    free(run);
}

/*
 * Shows the batch's progress when it is due, after writing the output
 * that waits (the line goes below it), and the snapshot SIGUSR2 asked for.
 */
static int
progress_tick(struct master *m, struct tf_error *err)
{
    struct tf__progress_snap snap;
    uint64_t now;
    int rc;

    if (snapshot_sig != 0) {
        snapshot_sig = 0;
        if (m->b->flush != NULL) {
            rc = m->b->flush(m->b->flush_arg, err);
            if (rc < 0)
                return rc;
        }
        write_snapshot(m);
    }
    if (m->progress == NULL)
        return 0;
    now = tf__now_us();
    if (!tf__progress_due(m->progress, now))
        return 0;
    if (m->b->flush != NULL) {
        rc = m->b->flush(m->b->flush_arg, err);
        if (rc < 0)
            return rc;
    }
    progress_snap(m, now, &snap);
    tf__progress_show(m->progress, &snap, now);
    return 0;
}

/* How long the master may sleep waiting for a message. */
static int
wait_ms(const struct master *m)
{
    int ms = m->nhungry > 0 ? INPUT_WAIT_MS : WAIT_MS;

    if (m->b != NULL && m->b->keep != NULL && m->nunrecorded > 0) {
        uint64_t now = tf__now_us();
        uint64_t us = m->next_keep_us > now ? m->next_keep_us - now : 0;

        if (us / 1000 < (uint64_t)ms)
            ms = (int)(us / 1000) + 1;
    }

    if (m->progress != NULL) {
        uint64_t us = tf__progress_wait_us(m->progress, tf__now_us());

        if (us / 1000 < (uint64_t)ms)
            ms = (int)(us / 1000) + 1;
    }
    return ms;
}

static int
master_step(struct master *m, struct tf_error *err)
{
    int peer = 0;
    int rc;

    rc = serve_waiting(m, err);
    if (rc < 0)
        return rc;
    rc = m->t.ops->recv(&m->t, &peer, &m->frame, 0, err);
    if (rc == 0) {
        /* Nothing waiting: write what is buffered, then sleep, briefly
         * when workers wait for input that may come. */
        if (m->b != NULL && m->b->flush != NULL && !m->discard) {
            rc = m->b->flush(m->b->flush_arg, err);
            if (rc < 0)
                return rc;
        }
        rc = m->t.ops->recv(&m->t, &peer, &m->frame, wait_ms(m), err);
    }
    if (rc == TF_EPEER) {
        if (peer >= 1 && peer <= m->t.nworkers &&
            (m->w[peer].state == W_STOPPED || m->w[peer].state == W_GONE)) {
            m->w[peer].state = W_GONE;
            return 0;
        }
        if (peer >= 1 && peer <= m->t.nworkers &&
            m->w[peer].state == W_RECYCLING) {
            /* A recycled worker ended: start a fresh one in its place. */
            rc = m->t.ops->respawn(&m->t, peer, err);
            if (rc < 0)
                return rc;
            m->w[peer].state = W_NEW;
            return 0;
        }
        if (peer >= 1 && peer <= m->t.nworkers)
            return worker_died(m, peer, err);
        return rc;
    }
    if (rc <= 0)
        return rc;
    return on_message(m, peer, err);
}

/* Frees the retries in a list linked by next_worker (the other chunks
 * there are on the list of all chunks, and freed from it). */
static void
free_retry_chunks(struct master *m, struct chunk *c)
{
    while (c != NULL) {
        struct chunk *next = c->next_worker;

        if (c->parent != NULL)
            chunk_free(m, c);
        c = next;
    }
}

static void
drop_retries(struct master *m)
{
    while (m->retries != NULL) {
        struct chunk *c = m->retries;

        m->retries = c->next_worker;
        chunk_free(m, c);
    }
    m->retries_tail = NULL;
}

static bool
batch_finished(const struct master *m)
{
    int i;

    if (!m->eof || m->qlen > 0 || m->inflight > 0 || m->chunks != NULL ||
        m->retries != NULL)
        return false;
    /* A worker being replaced may not be left half started. */
    for (i = 1; i <= m->t.nworkers; i++)
        if (m->w[i].state == W_RECYCLING)
            return false;
    return true;
}

/*
 * After a batch stopped early (a callback failed), lets the workers finish
 * what they hold and drops those results, so the session is ready for the
 * next batch. A transport failure ends this too.
 */
static void
discard_rest(struct master *m)
{
    struct tf_error ignored;
    int rc;
    int i;

    m->discard = true;
    m->eof = true;
    m->qlen = 0;
    m->qhead = 0;
    tf_buf_reset(&m->qbytes);
    m->qbytes_start = 0;
    while (m->inflight > 0) {
        int inflight = m->inflight;
        int active = m->active;

        rc = master_step(m, &ignored);
        /* Another worker failing is no reason to stop waiting for the
         * rest; a failure that changes nothing (the transport's) is. */
        if (rc < 0 && m->inflight == inflight && m->active == active)
            break;
    }
    /* What is left either was lost with its worker or cannot come now. */
    for (i = 1; i <= m->t.nworkers; i++) {
        free_retry_chunks(m, m->w[i].head);
        m->inflight -= m->w[i].inflight;
        m->w[i].inflight = 0;
        m->w[i].head = m->w[i].tail = NULL;
    }
    free_retry_chunks(m, m->orphans);
    while (m->chunks != NULL) {
        struct chunk *c = m->chunks;

        m->chunks = c->next;
        chunk_free(m, c);
    }
    m->chunks_tail = NULL;
    m->orphans = NULL;
    drop_retries(m);
    m->held = 0;
    m->held_mem = 0;
    m->nunrecorded = 0;
    m->discard = false;
}

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

void
tf__session_set_progress(struct tf__session *s, struct tf__progress *p)
{
    s->progress = p;
}

/* How long a stopping batch waits for the workers to end their tasks; and,
 * where the transport cannot pass the signal on (MPI ranks, which end
 * their tasks when the launcher ends them), for results already on their
 * way. */
#define STOP_WAIT_US 10000000u
#define STOP_WAIT_UNSIGNALLED_US 1000000u

/*
 * The batch was asked to stop: hands out nothing more, passes the signal to
 * the workers (who end their tasks and exit), waits a while for what is
 * still coming, then writes every result that arrived, in task order
 * where it can and past the gaps the stopped tasks leave.
 */
static int
stop_batch(struct master *m, int sig, struct tf_error *err)
{
    uint64_t until = tf__now_us() + (m->t.ops->signal != NULL
                                          ? STOP_WAIT_US
                                          : STOP_WAIT_UNSIGNALLED_US);
    struct chunk *c;
    int rc = 0;

    m->stopping = true;
    m->eof = true;
    m->qlen = 0;
    m->qhead = 0;
    drop_retries(m);
    if (m->t.ops->signal != NULL)
        m->t.ops->signal(&m->t, sig);
    while (m->active > 0 && m->inflight > 0 && tf__now_us() < until) {
        struct tf_error ignored;

        if (master_step(m, &ignored) == TF_ETRANSPORT)
            break;
    }
    for (c = m->chunks; c != NULL && rc == 0; c = c->next) {
        uint32_t k;

        for (k = c->nemitted; k < c->n && rc == 0; k++) {
            struct task_rec *tr = &c->tasks[k];

            if (tr->done && !tr->emitted)
                rc = emit(m, c, tr, err);
        }
    }
    if (rc == 0 && m->b->flush != NULL)
        rc = m->b->flush(m->b->flush_arg, err);
    if (rc < 0)
        return rc;
    return tf__error(err, TF__ESTOPPED, "stopped by %s", strsignal(sig));
}

int
tf__session_batch(struct tf__session *m, struct tf__batch *b,
                  struct tf_error *err)
{
    int rc = 0;
    int i;

    b->tasks = 0;
    b->failed = 0;
    m->finished = 0;
    m->finished_failed = 0;
    m->nunrecorded = 0;
    m->next_keep_us = 0;
    m->b = b;
    m->eof = false;
    m->input_rc = 0;
    tf_error_init(&m->input_err);
    tf__sched_init(&m->sched, m->t.nworkers, m->cfg.chunk);
    for (i = 1; i <= m->t.nworkers && rc == 0; i++)
        rc = refill(m, i, err);
    m->halted = false;
    m->deadline_hit = false;
    while (rc == 0 && !batch_finished(m)) {
        if (drain_sig != 0 && !m->deadline_hit && (!m->eof || m->qlen > 0)) {
            char why[64];

            snprintf(why, sizeof(why), "%s asked the run to finish",
                     strsignal(drain_sig));
            deadline_stop(m, why);
        }
        if (stop_sig != 0 || (m->halted && b->halt->now)) {
            rc = stop_batch(m, stop_sig != 0 ? stop_sig : SIGTERM, err);
            break;
        }
        if (m->active == 0) {
            rc = tf__error(err, TF_EPEER, "no workers left");
            break;
        }
        if (b->submit != NULL && !m->eof && m->qlen == 0 &&
            m->inflight == 0 && m->retries == NULL && m->orphans == NULL) {
            /* A batch that grows as it runs ends when its `next` says so
             * with nothing running: ask it here too, for when no worker
             * did (a worker being recycled, say). */
            rc = read_ahead(m, 1, false);
            if (rc < 0) {
                rc = tf__error(err, rc, "out of memory");
                break;
            }
            if (m->qlen > 0)
                rc = serve_waiting(m, err);
            if (rc < 0 || batch_finished(m))
                break;
        }
        rc = master_step(m, err);
        if (rc == 0)
            rc = drain(m, err);
        if (rc == 0)
            rc = keep_aged(m, tf__now_us(), err);
        if (rc == 0)
            rc = progress_tick(m, err);
    }
    if (m->progress != NULL)
        tf__progress_clear(m->progress);
    if (rc < 0 && rc != TF_ETRANSPORT && rc != TF_EPROTO &&
        rc != TF__ESTOPPED && !b->end_on_error)
        discard_rest(m);
    /* What arrived is written before a halt or deadline is reported (a
     * stopped batch wrote it already). */
    if (rc == 0 && b->flush != NULL)
        rc = b->flush(b->flush_arg, err);
    if ((rc == 0 || (rc == TF__ESTOPPED && stop_sig == 0)) && m->halted)
        rc = tf__error(err, TF__EHALTED, "halted: %s", m->halt_why);
    else if (rc == 0 && m->deadline_hit)
        rc = tf__error(err, TF__EDEADLINE,
                       "handed out no more tasks: %s", m->deadline_why);
    if (rc == 0 && m->input_rc < 0) {
        *err = m->input_err;
        rc = m->input_rc;
    }
    /* Whatever the batch left (after a failure) is dropped. */
    m->nhungry = 0;
    for (i = 1; i <= m->t.nworkers; i++)
        m->w[i].waiting = false;
    if (m->spool != NULL && tf__spool_live(m->spool) == 0) {
        tf__spool_free(m->spool);
        m->spool = NULL;
    }
    tf_buf_cleanup(&m->joined);
    m->b = NULL;
    return rc;
}

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
    f = tf__frame_ref_alloc(TF__WIRE_BYTES_HEAD + len);
    if (f == NULL) {
        tf__error(err, TF_ENOMEM, "cannot keep %zu shared bytes", len);
        return NULL;
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
    for (i = 1; i <= m->t.nworkers; i++) {
        if (m->w[i].state != W_ACTIVE)
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

bool
tf__session_busy(const struct tf__session *s)
{
    return s->inflight > 0 && s->active > 0;
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
    drop_retries(m);
    free(m->samples);
    while (m->chunks != NULL) {
        struct chunk *c = m->chunks;

        m->chunks = c->next;
        chunk_free(m, c);
    }
    tf__spool_free(m->spool);
    tf_buf_cleanup(&m->joined);
    free(m->w);
    free(m->q);
    free(m->hungry);
    tf__frame_ref_put(m->share);
    tf__frame_ref_put(m->share_next);
    tf_buf_cleanup(&m->qbytes);
    tf_buf_cleanup(&m->frame);
    tf_buf_cleanup(&m->out);
    free(m);
}

int
tf__session_close(struct tf__session *m, struct tf_error *err)
{
    int rc = 0;
    int i;

    if (m == NULL)
        return 0;
    /* Workers still saying hello are stopped once they have. */
    while (rc == 0 && m->active > 0) {
        for (i = 1; i <= m->t.nworkers && rc == 0; i++) {
            if (m->w[i].state == W_ACTIVE && m->w[i].inflight == 0) {
                rc = send_plain(m, i, TF__MSG_STOP, err);
                m->w[i].state = W_STOPPED;
                m->active--;
            }
        }
        if (rc == 0 && m->active > 0)
            rc = master_step(m, err);
    }
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

/* ---------------------------------------------------------------- worker */

struct worker {
    const struct tf__session_cfg *cfg;
    struct tf__transport *t;
    struct tf_buf share;  /* owned: the last SHARE frame received */
    const void *share_p;  /* its bytes, in share */
    size_t share_len;
    void *share_rw;       /* share_p when mapped from the master's memory,
                             where writes reach the master; else NULL */
    uint64_t limit_us;    /* the tasks' time limit (TF__MSG_LIMIT), or 0 */
    uint64_t grace_us;
    char host[256];
    struct tf_buf *queue; /* owned: WORK frames received, oldest first */
    int nqueue;
    struct tf_buf res;    /* owned: the RESULTS frame being built */
    uint32_t nres;
    struct tf_buf sub;    /* owned: the SUBMIT frame being built */
    uint32_t nsub;
    uint64_t busy_us;
    uint64_t last_send_us;
    struct tf_buf frame;  /* owned */
    struct tf_buf outf;   /* owned: an OUTPUT frame */
    uint64_t task_id;     /* the task running */
    bool stop;
};

int
tf_result_flush(struct tf_result *res)
{
    struct worker *wk = res->engine;
    struct tf__wire_output o;
    struct tf_error err;
    size_t out_at = 0, err_at = 0;
    int rc;

    if (wk == NULL)
        return 0;
    while (out_at < res->out.len || err_at < res->err.len) {
        o.id = wk->task_id;
        o.out = res->out.data + out_at;
        o.out_len = res->out.len - out_at;
        o.err = res->err.data + err_at;
        o.err_len = res->err.len - err_at;
        if (o.out_len > TF__WIRE_OUTPUT_MAX)
            o.out_len = TF__WIRE_OUTPUT_MAX;
        if (o.err_len > TF__WIRE_OUTPUT_MAX)
            o.err_len = TF__WIRE_OUTPUT_MAX;
        rc = tf__wire_put_output(&wk->outf, &o, &err);
        if (rc == 0)
            rc = wk->t->ops->send(wk->t, 0, &wk->outf, &err);
        if (rc < 0)
            return rc;
        out_at += o.out_len;
        err_at += o.err_len;
    }
    tf_buf_reset(&res->out);
    tf_buf_reset(&res->err);
    /* A large buffer is given back rather than kept for the next task. */
    if (res->out.cap > 4 * TF__WIRE_OUTPUT_MAX)
        tf_buf_cleanup(&res->out);
    if (res->err.cap > 4 * TF__WIRE_OUTPUT_MAX)
        tf_buf_cleanup(&res->err);
    return 0;
}

void
tf_result_set_pgid(struct tf_result *res, int pgid)
{
    struct worker *wk = res->engine;

    if (wk != NULL && wk->t->task_pgid != NULL)
        *wk->t->task_pgid = pgid;
}

static int
worker_send_results(struct worker *wk, uint32_t chunks_done,
                    struct tf_error *err)
{
    int rc = 0;

    /* What the tasks submitted goes first, so the master has it by the
     * time it sees them done. */
    if (wk->nsub > 0) {
        rc = tf__wire_submit_end(&wk->sub, wk->nsub, err);
        if (rc == 0)
            rc = wk->t->ops->send(wk->t, 0, &wk->sub, err);
        wk->nsub = 0;
        if (rc == 0)
            rc = tf__wire_submit_begin(&wk->sub);
        if (rc < 0)
            return rc;
    }
    rc = tf__wire_results_end(&wk->res, chunks_done, wk->busy_us, wk->nres,
                              err);
    if (rc == 0)
        rc = wk->t->ops->send(wk->t, 0, &wk->res, err);
    wk->nres = 0;
    wk->busy_us = 0;
    wk->last_send_us = tf__now_us();
    if (rc == 0)
        rc = tf__wire_results_begin(&wk->res);
    return rc;
}

/* A worker's share of threads: --threads-per-worker, srun -c N, or the
 * node's CPUs divided among the NODE_WORKERS workers there. */
static int
thread_share(const struct tf__session_cfg *cfg, int node_workers)
{
    const char *cpus_per_task = getenv("SLURM_CPUS_PER_TASK");
    int n = cfg->threads_per_worker;

    if (n <= 0 && getenv("SLURM_STEP_ID") != NULL && cpus_per_task != NULL)
        n = atoi(cpus_per_task); /* srun -c N: N each */
    if (n <= 0)
        n = tf__online_cpus() / (node_workers > 0 ? node_workers : 1);
    return n < 1 ? 1 : n;
}

/* Sets the worker's share of threads for the BLAS and OpenMP libraries its
 * tasks use, unless the user did, and runs the initializer. */
static int
worker_init(struct worker *wk, struct tf_error *err)
{
    static const char *const vars[] = {"OMP_NUM_THREADS",
                                       "OPENBLAS_NUM_THREADS",
                                       "MKL_NUM_THREADS", NULL};
    char value[16];
    int n = thread_share(wk->cfg, wk->t->node_workers);
    int i;
    int rc;

    snprintf(value, sizeof(value), "%d", n);
    for (i = 0; vars[i] != NULL; i++)
        setenv(vars[i], value, 0);
    tf__set_library_threads(n);
    if (wk->cfg->initializer == NULL)
        return 0;
    rc = wk->cfg->initializer(wk->cfg->initarg);
    if (rc < 0)
        return tf__error(err, rc, "the worker initializer failed: %s",
                         tf_strerror(rc));
    return 0;
}

/* Takes one message: WORK joins the queue, STOP ends the loop. */
static int
worker_take(struct worker *wk, int timeout_ms, struct tf_error *err)
{
    size_t payload;
    int peer;
    int type;
    int rc;

    rc = wk->t->ops->recv(wk->t, &peer, &wk->frame, timeout_ms, err);
    if (rc <= 0)
        return rc;
    rc = tf__wire_header(wk->frame.data, wk->frame.len, &type, &payload, err);
    if (rc < 0)
        return rc;
    if (type == TF__MSG_STOP) {
        wk->stop = true;
        return 1;
    }
    if (type == TF__MSG_SHARE) {
        struct tf__wire_reader r;
        struct tf_buf tmp;
        const void *p;
        size_t n;

        tf__wire_reader_init(&r, wk->frame.data + TF__WIRE_HDR, payload);
        p = tf__wire_get_bytes(&r, &n);
        if (r.bad || r.p != r.end)
            return tf__error(err, TF_EPROTO, "malformed SHARE message");
        /* Keep the frame itself: no copy of what may be a large blob. */
        tmp = wk->share;
        wk->share = wk->frame;
        wk->frame = tmp;
        tf_buf_reset(&wk->frame);
        wk->share_p = p;
        wk->share_len = n;
        wk->share_rw = NULL;
        return 1;
    }
    if (type == TF__MSG_MAPPED) {
        /* A SHARE frame the transport mapped in place. */
        struct tf__wire_reader r;
        const unsigned char *f = wk->t->mapped;
        const void *p;
        size_t n;

        if (f == NULL ||
            tf__wire_header(f, wk->t->mapped_len, &type, &payload, err) < 0 ||
            type != TF__MSG_SHARE)
            return tf__error(err, TF_EPROTO, "malformed MAPPED message");
        tf__wire_reader_init(&r, f + TF__WIRE_HDR, payload);
        p = tf__wire_get_bytes(&r, &n);
        if (r.bad || r.p != r.end)
            return tf__error(err, TF_EPROTO, "malformed SHARE message");
        tf_buf_reset(&wk->share);
        wk->share_p = p;
        wk->share_len = n;
        /* The transport maps it read-write, shared with the master. */
        wk->share_rw = (void *)(uintptr_t)p;
        return 1;
    }
    if (type == TF__MSG_LIMIT) {
        struct tf__wire_reader r;

        tf__wire_reader_init(&r, wk->frame.data + TF__WIRE_HDR, payload);
        wk->limit_us = tf__wire_get_u64(&r);
        wk->grace_us = tf__wire_get_u64(&r);
        if (r.bad || r.p != r.end)
            return tf__error(err, TF_EPROTO, "malformed LIMIT message");
        return 1;
    }
    if (type == TF__MSG_RESET)
        return worker_init(wk, err) < 0 ? -1 : 1;
    if (type != TF__MSG_WORK || wk->nqueue >= PREFETCH + 1)
        return tf__error(err, TF_EPROTO, "unexpected message of type %d",
                         type);
    wk->queue[wk->nqueue++] = wk->frame;
    tf_buf_init(&wk->frame, 0);
    return 1;
}

/* Moves the tasks task ID submitted (packed as wire byte strings in SUB)
 * into the SUBMIT frame being built. */
static int
add_submitted(struct worker *wk, uint64_t id, const struct tf_buf *sub,
              struct tf_error *err)
{
    struct tf__wire_reader r;
    const void *p;
    size_t n;
    int rc;

    tf__wire_reader_init(&r, sub->data, sub->len);
    while (r.p < r.end) {
        p = tf__wire_get_bytes(&r, &n);
        if (r.bad)
            return tf__error(err, TF_EPROTO, "task %llu: its submitted "
                                             "tasks are garbled",
                             (unsigned long long)id);
        rc = tf__wire_submit_add(&wk->sub, id, p, n);
        if (rc < 0)
            return tf__error(err, rc, "task %llu: submitted tasks too large",
                             (unsigned long long)id);
        wk->nsub++;
    }
    return 0;
}

static int
worker_run_chunk(struct worker *wk, struct tf_result *r, struct tf_error *err)
{
    struct tf__work_reader wr;
    struct tf_buf chunk = wk->queue[0];
    const struct tf__fn *fn = NULL;
    struct tf_task task;
    const void *p;
    size_t n;
    int64_t wall0;
    uint64_t mono0;
    uint64_t t1;
    int i;
    int rc;

    for (i = 1; i < wk->nqueue; i++)
        wk->queue[i - 1] = wk->queue[i];
    wk->nqueue--;
    rc = tf__wire_work_open(&wr, chunk.data + TF__WIRE_HDR,
                            chunk.len - TF__WIRE_HDR, err);
    if (rc == 0 && wr.fn >= (uint32_t)wk->cfg->nfns)
        rc = tf__error(err, TF_EPROTO, "work for task function %u of %d",
                       (unsigned)wr.fn, wk->cfg->nfns);
    if (rc == 0)
        fn = &wk->cfg->fns[wr.fn];
    task.worker = wk->t->rank - 1;
    task.nworkers = wk->t->nworkers;
    task.host = wk->host;
    task.shared = wk->share_len > 0 ? wk->share_p : NULL;
    task.shared_len = wk->share_len;
    task.shared_rw = wk->share_len > 0 ? wk->share_rw : NULL;
    task.time_limit_us = wk->limit_us;
    task.kill_grace_us = wk->grace_us;
    /* One clock read per task: a task starts when the one before it ended,
     * and wall-clock starts are derived from the chunk's first reading. */
    wall0 = tf__wall_us();
    t1 = mono0 = tf__now_us();
    while (rc == 0 && tf__wire_work_next(&wr, &task.id, &p, &n) == 1) {
        struct tf__wire_result wres;
        uint64_t t0 = t1;

        task.data = p;
        task.len = n;
        tf_buf_reset(&r->out);
        tf_buf_reset(&r->err);
        tf_buf_reset(&r->submitted);
        r->status = 0;
        r->signal = 0;
        r->timed_out = 0;
        r->engine = wk;
        wk->task_id = task.id;
        wres.start_us = wall0 + (int64_t)(t0 - mono0);
        rc = fn->fn(fn->arg, &task, r);
        t1 = tf__now_us();
        /* A large output left whole goes as parts too, so that no
         * message has to carry it. */
        if (rc == 0 && r->out.len + r->err.len > TF__WIRE_OUTPUT_MAX)
            rc = tf_result_flush(r);
        /* (Read before written: most tasks start no process.) */
        if (wk->t->task_pgid != NULL && *wk->t->task_pgid != 0)
            *wk->t->task_pgid = 0;
        if (rc < 0) {
            rc = tf__error(err, rc, "task %llu: %s",
                           (unsigned long long)task.id, tf_strerror(rc));
            break;
        }
        /* Past its time limit is a failure, whatever its exit said. */
        if (r->timed_out && r->status == 0)
            r->status = 124;
        if (r->submitted.len > 0) {
            rc = add_submitted(wk, task.id, &r->submitted, err);
            if (rc < 0)
                break;
        }
        wres.id = task.id;
        wres.status = r->status;
        wres.signal = r->signal | (r->timed_out ? TF__SIG_TIMED_OUT : 0);
        wres.runtime_us = t1 - t0;
        wres.out = r->out.data;
        wres.out_len = r->out.len;
        wres.err = r->err.data;
        wres.err_len = r->err.len;
        rc = tf__wire_results_add(&wk->res, &wres);
        if (rc < 0) {
            rc = tf__error(err, rc, "task %llu: output too large",
                           (unsigned long long)task.id);
            break;
        }
        wk->nres++;
        wk->busy_us += t1 - t0;
        if (wr.done < wr.count &&
            (t1 - wk->last_send_us > PARTIAL_US ||
             wk->res.len + wk->sub.len > PARTIAL_BYTES))
            rc = worker_send_results(wk, 0, err);
    }
    tf_buf_cleanup(&chunk);
    if (rc < 0)
        return rc;
    return worker_send_results(wk, 1, err);
}

static int
worker_loop(struct worker *wk, struct tf_error *err)
{
    struct tf__hello h;
    struct tf_result r;
    const char *node = getenv("SLURMD_NODENAME");
    int rc;

    /* Slurm's name for the node where it has one (a host may call itself
     * by a longer name), else the host's. */
    if (node != NULL && node[0] != '\0')
        snprintf(wk->host, sizeof(wk->host), "%s", node);
    else if (gethostname(wk->host, sizeof(wk->host) - 1) < 0)
        strcpy(wk->host, "localhost");
    h.pid = (uint32_t)getpid();
    h.cpus = (uint32_t)tf__online_cpus();
    h.host = wk->host;
    h.host_len = strlen(wk->host);
    rc = worker_init(wk, err);
    if (rc == 0)
        rc = tf__wire_put_hello(&wk->frame, &h, err);
    if (rc == 0)
        rc = wk->t->ops->send(wk->t, 0, &wk->frame, err);
    if (rc == 0)
        rc = tf__wire_results_begin(&wk->res);
    if (rc == 0)
        rc = tf__wire_submit_begin(&wk->sub);
    if (rc < 0)
        return rc;
    tf_buf_init(&r.out, 0);
    tf_buf_init(&r.err, 0);
    tf_buf_init(&r.submitted, 0);
    r.engine = NULL;
    wk->last_send_us = tf__now_us();
    while (rc >= 0 && !(wk->stop && wk->nqueue == 0)) {
        if (wk->nqueue == 0) {
            rc = worker_take(wk, -1, err);
            continue;
        }
        /* Pick up a chunk that arrived meanwhile, then run the oldest. */
        rc = worker_take(wk, 0, err);
        if (rc >= 0)
            rc = worker_run_chunk(wk, &r, err);
    }
    tf_buf_cleanup(&r.out);
    tf_buf_cleanup(&r.err);
    tf_buf_cleanup(&r.submitted);
    return rc < 0 ? rc : 0;
}

static int
worker_main(struct tf__transport *t, void *arg)
{
    const struct tf__session_cfg *cfg = arg;
    struct tf_buf queue[PREFETCH + 1];
    struct tf_error err;
    struct worker wk;
    int rc;
    int i;

    memset(&wk, 0, sizeof(wk));
    wk.cfg = cfg;
    wk.t = t;
    wk.queue = queue;
    tf_buf_init(&wk.res, 0);
    tf_buf_init(&wk.sub, 0);
    tf_buf_init(&wk.frame, 0);
    tf_buf_init(&wk.outf, 0);
    tf_buf_init(&wk.share, 0);
    tf_error_init(&err);
    tf__log_set_worker(t->rank - 1);
    rc = worker_loop(&wk, &err);
    if (rc < 0 && rc != TF_EPEER) {
        struct tf_buf msg;
        struct tf_error ignored;

        /* Tell the master why; it decides what happens to the run. */
        tf_buf_init(&msg, 0);
        if (tf__wire_put_error(&msg, rc, err.msg, &ignored) == 0)
            (void)t->ops->send(t, 0, &msg, &ignored);
        tf_buf_cleanup(&msg);
    } else if (rc == TF_EPEER) {
        tf__log(TF_LOG_ERROR, "lost the master; stopping");
    }
    for (i = 0; i < wk.nqueue; i++)
        tf_buf_cleanup(&queue[i]);
    tf_buf_cleanup(&wk.res);
    tf_buf_cleanup(&wk.sub);
    tf_buf_cleanup(&wk.frame);
    tf_buf_cleanup(&wk.outf);
    tf_buf_cleanup(&wk.share);
    return rc < 0 ? 3 : 0;
}

/* ---------------------------------------------------------------- entry */

int
tf__session_open(const struct tf__session_cfg *cfg, struct tf__session **out,
                 int *worker_rc, struct tf_error *err)
{
    struct tf__session *m;
    int rc;

    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    m->cfg = *cfg;
    tf_buf_init(&m->qbytes, 0);
    tf_buf_init(&m->frame, 0);
    tf_buf_init(&m->out, 0);
    tf_buf_init(&m->joined, 0);
    m->t.ops = cfg->transport;
    /* The libraries' thread counts are set here already, to the share of
     * workers that are started from this process (forked): those then
     * find theirs set, and start no thread pool of their own. */
    tf__set_library_threads(thread_share(cfg, cfg->nworkers));
    /* The workers read the configuration that M holds, which stays put. */
    rc = m->t.ops->open(&m->t, cfg->nworkers, worker_main, &m->cfg, err);
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
    m->active = m->t.nworkers;
    m->limit_us = cfg->timeout_pct == 0 ? cfg->timeout_us : 0;
    m->rng = 0x853c49e6748fea9bu;
    m->w = calloc((size_t)m->t.nworkers + 1, sizeof(*m->w));
    m->hungry = calloc((size_t)m->t.nworkers + 1, sizeof(*m->hungry));
    if (m->w == NULL || m->hungry == NULL) {
        tf__session_abort(m);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    *out = m;
    return 0;
}

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
        /* Estimates serve the deadline alone. */
        if (plan->history != NULL && plan->deadline_us != 0) {
            b.estimate = lines_estimate;
            b.estimate_arg = &l;
        }
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
