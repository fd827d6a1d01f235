/* dispatch.c - the master's policy: which tasks go to which worker, and
 * what becomes of each result, with no I/O of its own */
#include "dispatch.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"

/* Bytes of task text in one chunk, beyond its first task. */
#define CHUNK_BYTES ((size_t)1 << 20)
/* Tasks read ahead of need stop at this many bytes, so that large tasks
 * go out as they are read rather than after a long read-ahead. */
#define LOOKAHEAD_BYTES (2 * CHUNK_BYTES)
/* Successful runtimes kept for the median of --timeout N%. */
#define SAMPLES 4096
/* A task whose worker died under it this often fails instead. */
#define MAX_STRIKES 3
/* Workers that die before saying hello, per worker, before the run fails. */
#define MAX_EARLY_DEATHS 3
/* Bookkeeping cost of one held result, counted against TF__HOLD_CAP. */
#define HOLD_TASK 64

struct wslot {
    int state;      /* enum tf__wstate */
    uint64_t tasks; /* handed to it since it started or was last reset */
    bool waiting;   /* on the list of workers short of work */
    char host[256];
    size_t host_len;
    uint64_t busy_since_us; /* when its task in hand started, about: when
                               it got work while idle, or last sent a
                               result */
    struct tf__dchunk *head; /* chunks held, oldest first */
    struct tf__dchunk *tail;
    int inflight;
    time_t lost_at; /* when it was lost for good (no one took its place),
                       or 0 */
};

/* A task read and not yet handed out; its text is in QBYTES. */
struct pend {
    uint64_t id;
    size_t off;
    size_t len;
    uint64_t est_us;
};

struct tf__dispatch {
    struct tf__dispatch_cfg cfg;
    struct tf__dispatch_comm comm;
    const struct tf__dispatch_batch *b; /* the batch running, or NULL */
    struct tf__sched sched;
    struct wslot *w; /* owned: [1..nworkers] */
    int active;      /* workers not stopped or gone */
    bool discard;    /* a failed batch's results are being dropped */
    bool stopping;   /* the batch was asked to stop */

    struct pend *q; /* owned ring of tasks read and not handed out */
    size_t qhead;
    size_t qlen;
    size_t qcap;
    struct tf_buf qbytes; /* owned: their text */
    size_t qbytes_start;
    bool eof;
    int input_rc;
    struct tf_error input_err;

    struct tf__dchunk *chunks; /* owned: handed out, not yet all passed
                                  on */
    struct tf__dchunk *chunks_tail;
    struct tf__dchunk *orphans; /* in chunks: held by a worker that was
                                   lost, linked by next_worker */
    struct tf__dchunk *retries; /* owned: failed tasks to run again,
                                   oldest first, linked by next_worker */
    struct tf__dchunk *retries_tail;
    int early_deaths; /* workers that died before saying hello */
    bool halted;      /* --halt's condition was met */
    char halt_why[128];
    bool deadline_hit; /* tasks were left for the deadline or a drain */
    char deadline_why[192];
    uint64_t limit_us; /* the time limit the workers were sent */
    uint64_t *samples; /* owned: runtimes of successful tasks, a reservoir
                          of at most SAMPLES for the median */
    size_t nsamples;
    uint64_t nsuccess;
    uint64_t rng;
    uint64_t next_chunk;
    size_t held;     /* held results: bookkeeping and bytes in memory */
    size_t held_mem; /* output bytes in memory: of held results and of
                        tasks that stream theirs */
    int *hungry;     /* owned: workers short of work, waiting for input or
                        for held results to drain */
    int nhungry;
    int inflight;    /* chunks held by all workers */
    uint64_t nunrecorded; /* held results not yet kept */
    uint64_t next_keep_us; /* when a held result may next be due */
    uint64_t now_us;       /* of the event being taken */
    uint64_t finished;        /* tasks of the batch with a last result */
    uint64_t finished_failed; /* of which failed */
    uint64_t emitted;         /* tasks passed on */
    uint64_t emitted_failed;  /* of which failed */
};

/* ------------------------------------------------------------- chunks */

const void *
tf__dchunk_text(const struct tf__dchunk *c, const struct tf__dtask *t)
{
    const struct tf__dchunk *owner = c->parent != NULL ? c->parent : c;

    return owner->cmds.data + t->cmd_off;
}

/* Output bytes that task T holds in memory. */
static size_t
task_mem(const struct tf__dtask *t)
{
    return t->out.out_len + t->out.err_len + t->out.big_mem;
}

/* Lets go of task T's output. */
static void
drop_output(struct tf__dispatch *d, struct tf__dtask *t)
{
    size_t n;

    if (t->out.frame == NULL && t->out.big == NULL &&
        t->out.out_len + t->out.err_len == 0)
        return;
    n = task_mem(t);
    d->held_mem -= n < d->held_mem ? n : d->held_mem;
    d->comm.drop(d->comm.arg, t);
    memset(&t->out, 0, sizeof(t->out));
}

static void
chunk_free(struct tf__dispatch *d, struct tf__dchunk *c)
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
            drop_output(d, &c->tasks[i]);
    tf_buf_cleanup(&c->cmds);
    free(c->tasks);
    free(c);
}

static void
log_msg(struct tf__dispatch *d, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
log_msg(struct tf__dispatch *d, int level, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (d->comm.log != NULL)
        d->comm.log(d->comm.arg, level, msg);
}

/* Writes T as the local time of day, HH:MM:SS, to BUF. */
static void
wall_clock(time_t t, char *buf, size_t size)
{
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL ||
        strftime(buf, size, "%H:%M:%S", &tm) == 0)
        snprintf(buf, size, "?");
}

/* ------------------------------------------------------- reading tasks */

/*
 * Reads tasks until WANT are pending or the input ends. It stops early,
 * rather than wait, when a stream has nothing ready, except that with
 * MAY_BLOCK it waits for one task when none is pending.
 */
static int
read_ahead(struct tf__dispatch *d, uint64_t want, bool may_block)
{
    while (!d->eof && d->qlen < want &&
           (d->qlen == 0 ||
            d->qbytes.len - d->qbytes_start < LOOKAHEAD_BYTES)) {
        uint64_t id, est = 0;
        const void *text;
        size_t len;
        struct pend *p;
        int rc;

        /* Wait for the first task at most, never for a full lookahead. */
        rc = d->comm.next(d->comm.arg, &id, &text, &len, &est,
                          may_block && d->qlen == 0, &d->input_err);
        if (rc == TF__DISPATCH_WAIT)
            break;
        if (rc <= 0) {
            /* A bad task ends the input; the tasks before it still run. */
            d->eof = true;
            d->input_rc = rc;
            break;
        }
        if (d->qlen == d->qcap) {
            size_t cap = d->qcap ? d->qcap * 2 : 1024;
            struct pend *nq = malloc(cap * sizeof(*nq));
            size_t i;

            if (nq == NULL)
                return TF_ENOMEM;
            for (i = 0; i < d->qlen; i++)
                nq[i] = d->q[(d->qhead + i) % d->qcap];
            free(d->q);
            d->q = nq;
            d->qhead = 0;
            d->qcap = cap;
        }
        p = &d->q[(d->qhead + d->qlen) % d->qcap];
        p->id = id;
        p->off = d->qbytes.len;
        p->len = len;
        p->est_us = est;
        rc = tf_buf_append(&d->qbytes, text, len);
        if (rc < 0)
            return rc;
        d->qlen++;
    }
    return 0;
}

/* Drops text of tasks already handed out once it is half the arena. */
static void
compact_pending(struct tf__dispatch *d)
{
    size_t i;
    size_t start = d->qbytes_start;

    if (d->qlen == 0) {
        tf_buf_reset(&d->qbytes);
        d->qbytes_start = 0;
        return;
    }
    if (start < d->qbytes.len / 2 || start < 65536)
        return;
    memmove(d->qbytes.data, d->qbytes.data + start, d->qbytes.len - start);
    d->qbytes.len -= start;
    for (i = 0; i < d->qlen; i++)
        d->q[(d->qhead + i) % d->qcap].off -= start;
    d->qbytes_start = 0;
}

/* ------------------------------------------------------ handing out */

/* Worker W now holds C, after the chunks it held already. */
static void
hold(struct tf__dispatch *d, int w, struct tf__dchunk *c)
{
    c->next_worker = NULL;
    if (d->w[w].tail != NULL) {
        d->w[w].tail->next_worker = c;
    } else {
        d->w[w].head = c;
        d->w[w].busy_since_us = d->now_us;
    }
    d->w[w].tail = c;
    d->w[w].inflight++;
    d->inflight++;
}

void
tf__dispatch_no_more(struct tf__dispatch *d, const char *why)
{
    d->eof = true;
    d->qlen = 0;
    d->qhead = 0;
    if (why != NULL) {
        d->deadline_hit = true;
        snprintf(d->deadline_why, sizeof(d->deadline_why), "%s", why);
    }
}

/* Expected runtime of a task estimated at EST_US (0: not known): that,
 * else the mean of the tasks measured so far, else 0. */
static uint64_t
task_est(const struct tf__dispatch *d, uint64_t est_us)
{
    if (est_us != 0)
        return est_us;
    return d->sched.tasks > 0 ? d->sched.busy_us / d->sched.tasks : 0;
}

/* Expected time worker W needs for the tasks it holds and has not ended. */
static uint64_t
held_us(const struct tf__dispatch *d, int w)
{
    const struct tf__dchunk *c;
    uint64_t sum = 0;
    uint32_t k;

    for (c = d->w[w].head; c != NULL; c = c->next_worker)
        for (k = c->nresults; k < c->sent_upto && k < c->n; k++)
            if (!c->tasks[k].done)
                sum += task_est(d, c->tasks[k].est_us);
    return sum;
}

/*
 * What of the deadline is left for worker W's next chunk, after what it
 * holds (UINT64_MAX: no deadline); 0 when no task fits, and the batch then
 * hands out nothing more.
 */
static uint64_t
deadline_room(struct tf__dispatch *d, int w)
{
    const struct tf__dispatch_batch *b = d->b;
    uint64_t now = d->now_us;
    uint64_t limit, held, e, avail;
    char why[192];

    if (b->deadline_us == 0)
        return UINT64_MAX;
    limit = b->deadline_us > b->margin_us ? b->deadline_us - b->margin_us
                                           : 0;
    held = held_us(d, w);
    e = task_est(d, d->q[d->qhead].est_us);
    avail = limit > now + held ? limit - now - held : 0;
    if (now < limit && e <= avail)
        return avail;
    snprintf(why, sizeof(why),
             "the deadline is %.1f s away, less its margin of %.1f s, and "
             "the next task is expected to take %.1f s",
             b->deadline_us > now ? (double)(b->deadline_us - now) / 1e6
                                  : 0.0,
             (double)b->margin_us / 1e6, (double)e / 1e6);
    tf__dispatch_no_more(d, why);
    return 0;
}

/* Cuts the next chunk from the pending tasks and sends it to worker W. */
static int
send_chunk(struct tf__dispatch *d, int w, struct tf_error *err)
{
    struct tf__dchunk *c;
    uint64_t avail = deadline_room(d, w), used = 0;
    uint64_t n;
    uint32_t i;
    size_t bytes = 0;
    int rc = 0;

    if (avail == 0)
        return 0;
    n = tf__sched_next(&d->sched, d->qlen, d->eof);
    if (n > d->qlen)
        n = d->qlen;
    if (d->cfg.max_tasks_per_worker != 0 &&
        n > d->cfg.max_tasks_per_worker - d->w[w].tasks)
        n = d->cfg.max_tasks_per_worker - d->w[w].tasks;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    tf_buf_init(&c->cmds, 0);
    c->worker = w;
    c->tasks = malloc(n * sizeof(*c->tasks));
    if (c->tasks == NULL) {
        chunk_free(d, c);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    for (i = 0; rc == 0 && i < n; i++) {
        struct pend *p = &d->q[d->qhead];
        struct tf__dtask *t = &c->tasks[i];

        if (i > 0 && bytes + p->len > CHUNK_BYTES)
            break;
        if (avail != UINT64_MAX) {
            uint64_t e = task_est(d, p->est_us);

            if (i > 0 && used + e > avail)
                break; /* the rest would end past the deadline */
            used += e;
        }
        memset(t, 0, sizeof(*t));
        t->id = p->id;
        t->est_us = p->est_us;
        t->cmd_off = c->cmds.len;
        t->cmd_len = p->len;
        /* Kept, so that the task can be sent again if its worker dies. */
        rc = tf_buf_append(&c->cmds, d->qbytes.data + p->off, p->len);
        bytes += p->len;
        d->qbytes_start = p->off + p->len;
        d->qhead = (d->qhead + 1) % d->qcap;
        d->qlen--;
        c->n = i + 1;
    }
    if (rc == 0)
        rc = d->comm.send_work(d->comm.arg, w, c, 0, c->n, d->next_chunk,
                               err);
    compact_pending(d);
    if (rc < 0) {
        chunk_free(d, c);
        return rc == TF_ENOMEM ? tf__error(err, rc, "out of memory") : rc;
    }
    d->next_chunk++;
    c->sent_upto = c->n;
    if (d->chunks_tail != NULL)
        d->chunks_tail->next = c;
    else
        d->chunks = c;
    d->chunks_tail = c;
    hold(d, w, c);
    d->w[w].tasks += c->n;
    return 0;
}

/* Sends task number K of chunk C to worker W, alone. */
static int
send_one(struct tf__dispatch *d, int w, const struct tf__dchunk *c,
         uint32_t k, struct tf_error *err)
{
    int rc;

    rc = d->comm.send_work(d->comm.arg, w, c, k, k + 1, d->next_chunk, err);
    if (rc == 0)
        d->next_chunk++;
    return rc;
}

/*
 * Takes a retry for worker W off the list: the oldest whose last attempt
 * ran on another worker, or, when W is the only worker left, the oldest.
 * NULL if none. (A retry waits for another worker rather than run where it
 * failed: the failure may be the worker's or its node's.)
 */
static struct tf__dchunk *
take_retry(struct tf__dispatch *d, int w)
{
    bool any = d->active <= 1;
    struct tf__dchunk **pp;
    struct tf__dchunk *prev = NULL;

    for (pp = &d->retries; *pp != NULL;
         prev = *pp, pp = &(*pp)->next_worker) {
        struct tf__dchunk *c = *pp;

        if (c->tasks[0].worker != w || any) {
            *pp = c->next_worker;
            if (d->retries_tail == c)
                d->retries_tail = prev;
            c->next_worker = NULL;
            return c;
        }
    }
    return NULL;
}

/* Sends a retry to worker W, if there is one for it. Returns 1 if sent. */
static int
send_retry(struct tf__dispatch *d, int w, struct tf_error *err)
{
    struct tf__dchunk *c = take_retry(d, w);
    int rc;

    if (c == NULL)
        return 0;
    rc = send_one(d, w, c, 0, err);
    if (rc < 0) {
        chunk_free(d, c);
        return rc;
    }
    c->worker = w;
    c->nresults = 0;
    c->sent_upto = 1;
    c->single = true;
    hold(d, w, c);
    d->w[w].tasks++;
    return 1;
}

/*
 * Task T of chunk C failed and may run again: its result is dropped and a
 * retry (a chunk of one task, pointing at T) joins the list.
 */
static int
schedule_retry(struct tf__dispatch *d, struct tf__dchunk *c,
               struct tf__dtask *t, struct tf_error *err)
{
    struct tf__dchunk *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    r->parent = c->parent != NULL ? c->parent : c;
    r->tasks = t;
    r->n = 1;
    t->attempts++;
    t->done = false;
    drop_output(d, t);
    if (d->retries_tail != NULL)
        d->retries_tail->next_worker = r;
    else
        d->retries = r;
    d->retries_tail = r;
    return 0;
}

/*
 * Sends again the first unreported task of the oldest orphan to worker W,
 * alone, so that if W dies too the task that was running is known.
 */
static int
resend_orphan(struct tf__dispatch *d, int w, struct tf_error *err)
{
    struct tf__dchunk *c = d->orphans;
    int rc;

    rc = send_one(d, w, c, c->nresults, err);
    if (rc < 0)
        return rc;
    d->orphans = c->next_worker;
    c->next_worker = NULL;
    c->worker = w;
    c->single = true;
    c->sent_upto = c->nresults + 1;
    hold(d, w, c);
    d->w[w].tasks++;
    return 0;
}

static void
wait_for_work(struct tf__dispatch *d, int w)
{
    if (!d->w[w].waiting) {
        d->w[w].waiting = true;
        d->hungry[d->nhungry++] = w;
    }
}

static bool
holding_too_much(const struct tf__dispatch *d)
{
    return !d->b->unordered && d->held >= TF__HOLD_CAP;
}

/* A worker that ran its share of tasks is replaced (fork) or reset. */
static int
recycle(struct tf__dispatch *d, int w, struct tf_error *err)
{
    struct wslot *ws = &d->w[w];
    int rc;

    if (d->comm.respawn != NULL) {
        rc = d->comm.send_stop(d->comm.arg, w, err);
        ws->state = TF__W_RECYCLING;
        return rc;
    }
    ws->tasks = 0;
    return d->comm.send_reset(d->comm.arg, w, err);
}

/* Gives worker W work up to its prefetch depth. A worker that cannot be
 * given work yet goes on the waiting list. */
static int
refill(struct tf__dispatch *d, int w, struct tf_error *err)
{
    struct wslot *ws = &d->w[w];
    int rc;

    if (ws->state != TF__W_ACTIVE || d->b == NULL || d->stopping)
        return 0;
    if (d->cfg.max_tasks_per_worker != 0 &&
        ws->tasks >= d->cfg.max_tasks_per_worker) {
        if (ws->inflight > 0)
            return 0; /* recycled once what it holds is done */
        rc = recycle(d, w, err);
        if (rc < 0 || ws->state != TF__W_ACTIVE)
            return rc;
    }
    while (ws->inflight < tf__sched_prefetch(&d->sched)) {
        bool may_block = d->inflight == 0;

        if (d->cfg.max_tasks_per_worker != 0 &&
            ws->tasks >= d->cfg.max_tasks_per_worker)
            return 0; /* recycled once what it holds is done */
        if (d->orphans != NULL) {
            /* Work a lost worker left comes first, one task at a time. */
            rc = resend_orphan(d, w, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (d->retries != NULL) {
            /* Then failed tasks that may run again. */
            rc = send_retry(d, w, err);
            if (rc < 0)
                return rc;
            if (rc == 1)
                continue;
        }
        if (holding_too_much(d)) {
            wait_for_work(d, w);
            return 0;
        }
        if (may_block && !d->eof && d->comm.flush != NULL) {
            /* About to wait for input with nothing running: write what is
             * done first. */
            rc = d->comm.flush(d->comm.arg, err);
            if (rc < 0)
                return rc;
        }
        rc = read_ahead(d, tf__sched_lookahead(&d->sched), may_block);
        if (rc < 0)
            return tf__error(err, rc, "out of memory");
        if (d->qlen == 0) {
            if (!d->eof)
                wait_for_work(d, w);
            return 0;
        }
        rc = send_chunk(d, w, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Tries again to give work to the workers on the waiting list. */
static int
serve_waiting(struct tf__dispatch *d, struct tf_error *err)
{
    int n = d->nhungry;
    int i;
    int rc;

    if (n == 0 || holding_too_much(d))
        return 0;
    d->nhungry = 0;
    for (i = 0; i < n; i++)
        d->w[d->hungry[i]].waiting = false;
    for (i = 0; i < n; i++) {
        rc = refill(d, d->hungry[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Gives work to the workers but BUT that hold none: for work that may
 * not wait for them to ask (a retry, a lost worker's tasks). */
static int
refill_idle(struct tf__dispatch *d, int but, struct tf_error *err)
{
    int k;
    int rc;

    for (k = 1; k <= d->cfg.nworkers; k++) {
        if (k != but && d->w[k].state == TF__W_ACTIVE &&
            d->w[k].inflight == 0) {
            rc = refill(d, k, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ results */

/* Whether the --halt condition is met; then hands out nothing more. */
static void
check_halt(struct tf__dispatch *d)
{
    const struct tf__halt *h = d->b->halt;
    uint64_t n = h->on_success ? d->finished - d->finished_failed
                               : d->finished_failed;
    uint64_t of = d->b->total != 0 ? d->b->total : d->finished;

    if (n == 0 ||
        (h->pct != 0 ? n * 100 < (uint64_t)h->pct * of : n < h->count))
        return;
    d->halted = true;
    tf__dispatch_no_more(d, NULL);
    snprintf(d->halt_why, sizeof(d->halt_why),
             "%llu task%s %s (--halt %s,%s=%llu%s)", (unsigned long long)n,
             n == 1 ? "" : "s", h->on_success ? "succeeded" : "failed",
             h->now ? "now" : "soon", h->on_success ? "success" : "fail",
             (unsigned long long)(h->pct != 0 ? h->pct : h->count),
             h->pct != 0 ? "%" : "");
}

/* Passes task T of chunk C (the chunk that holds it) on in its turn. */
static int
emit(struct tf__dispatch *d, struct tf__dchunk *c, struct tf__dtask *t,
     struct tf_error *err)
{
    int rc = 0;

    if (!d->discard)
        rc = d->comm.emit(d->comm.arg, c, t, err);
    d->emitted++;
    if (t->status != 0)
        d->emitted_failed++;
    c->nemitted++;
    t->emitted = true;
    if (!t->recorded && d->b->keep && d->nunrecorded > 0)
        d->nunrecorded--;
    d->held -= HOLD_TASK + task_mem(t);
    drop_output(d, t);
    return rc;
}

/* Passes held task T of chunk C to the comm's keep, so that its record is
 * written before its turn comes. */
static int
keep_task(struct tf__dispatch *d, struct tf__dchunk *c, struct tf__dtask *t,
          struct tf_error *err)
{
    t->recorded = true;
    d->nunrecorded--;
    if (d->discard)
        return 0;
    return d->comm.keep(d->comm.arg, c, t, err);
}

/*
 * With `keep`: passes the held results that have waited for their turn
 * KEEP_AFTER_US or more to it, and notes when the next may be due. Called
 * as time passes; it looks only when one may be due.
 */
static int
keep_aged(struct tf__dispatch *d, struct tf_error *err)
{
    uint64_t after = d->b->keep_after_us;
    uint64_t now = d->now_us;
    uint64_t oldest = UINT64_MAX;
    struct tf__dchunk *c;
    uint32_t k;
    int rc;

    if (!d->b->keep || d->nunrecorded == 0 || now < d->next_keep_us)
        return 0;
    for (c = d->chunks; c != NULL && d->nunrecorded > 0; c = c->next) {
        for (k = c->nemitted; k < c->n; k++) {
            struct tf__dtask *t = &c->tasks[k];

            if (!t->done || t->emitted || t->recorded)
                continue;
            if (t->done_us + after <= now) {
                rc = keep_task(d, c, t, err);
                if (rc < 0)
                    return rc;
            } else if (t->done_us < oldest) {
                oldest = t->done_us;
            }
        }
    }
    d->next_keep_us = oldest != UINT64_MAX ? oldest + after : now + after;
    return 0;
}

/* Moves out of memory the output of the held results and of the tasks
 * streaming theirs that hold at least MIN bytes there. */
static int
spill_from(struct tf__dispatch *d, size_t min, struct tf_error *err)
{
    struct tf__dchunk *c;
    uint32_t k;
    int rc;

    for (c = d->chunks; c != NULL; c = c->next) {
        for (k = c->nemitted; k < c->n; k++) {
            struct tf__dtask *t = &c->tasks[k];
            size_t before = task_mem(t);
            size_t after;

            if (t->emitted || before == 0 || before < min ||
                (!t->done && t->out.big == NULL))
                continue;
            rc = d->comm.spill(d->comm.arg, t, err);
            if (rc < 0)
                return rc;
            after = task_mem(t);
            d->held_mem -= before - after;
            if (t->done)
                d->held -= before - after;
        }
    }
    return 0;
}

/* Spills when the output in memory has passed the budget: the large
 * outputs first, the small ones too only when that was not enough. */
static int
spill_if_due(struct tf__dispatch *d, struct tf_error *err)
{
    int rc;

    if (!d->b->spill || d->held_mem < TF__SPILL_AT)
        return 0;
    rc = spill_from(d, TF__SPILL_AT / 256, err);
    if (rc == 0 && d->held_mem >= TF__SPILL_AT / 2)
        rc = spill_from(d, 0, err);
    return rc;
}

/*
 * Task T of chunk C (the chunk whose tasks array holds it) has its last
 * result: it counts as finished (for --halt, too), and is passed on at
 * once when the batch takes results as they end, else held until its turn.
 */
static int
task_finished(struct tf__dispatch *d, struct tf__dchunk *c,
              struct tf__dtask *t, struct tf_error *err)
{
    t->done = true;
    t->done_us = d->now_us;
    d->held += HOLD_TASK + task_mem(t);
    d->finished++;
    if (t->status != 0)
        d->finished_failed++;
    if (d->b->halt != NULL && !d->halted)
        check_halt(d);
    if (d->b->unordered)
        return emit(d, c, t, err);
    if (!d->b->keep)
        return 0;
    d->nunrecorded++;
    /* Kept at once, unless it is next in turn. */
    if (d->b->keep_after_us == 0 &&
        !(c == d->chunks && t == &c->tasks[c->nemitted]))
        return keep_task(d, c, t, err);
    if (d->nunrecorded == 1)
        d->next_keep_us = t->done_us + d->b->keep_after_us;
    return 0;
}

/* Passes on every result that may be passed on now, in task order, and
 * frees chunks that are finished. */
static int
drain(struct tf__dispatch *d, struct tf_error *err)
{
    while (d->chunks != NULL) {
        struct tf__dchunk *c = d->chunks;
        int rc;

        while (!d->b->unordered && c->nemitted < c->n &&
               c->tasks[c->nemitted].done) {
            rc = emit(d, c, &c->tasks[c->nemitted], err);
            if (rc < 0)
                return rc;
        }
        if (c->nemitted < c->n)
            break;
        d->chunks = c->next;
        if (d->chunks == NULL)
            d->chunks_tail = NULL;
        chunk_free(d, c);
    }
    /* Unordered runs free finished chunks wherever they are in the list. */
    if (d->b->unordered && d->chunks != NULL) {
        struct tf__dchunk *prev = d->chunks;

        while (prev->next != NULL) {
            struct tf__dchunk *c = prev->next;

            if (c->nemitted == c->n) {
                prev->next = c->next;
                if (d->chunks_tail == c)
                    d->chunks_tail = prev;
                chunk_free(d, c);
            } else {
                prev = c;
            }
        }
    }
    return 0;
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
observe_success(struct tf__dispatch *d, uint64_t runtime_us,
                struct tf_error *err)
{
    uint64_t *copy;
    uint64_t limit;
    size_t i;
    int rc;

    if (d->cfg.timeout_pct == 0)
        return 0;
    if (d->samples == NULL) {
        d->samples = malloc(SAMPLES * sizeof(*d->samples));
        if (d->samples == NULL)
            return tf__error(err, TF_ENOMEM, "out of memory");
    }
    d->nsuccess++;
    if (d->nsamples < SAMPLES) {
        d->samples[d->nsamples++] = runtime_us;
    } else {
        d->rng = d->rng * 6364136223846793005u + 1442695040888963407u;
        i = (size_t)((d->rng >> 33) % d->nsuccess);
        if (i < SAMPLES)
            d->samples[i] = runtime_us;
    }
    /* Recomputed at 3 successes, then every 32. */
    if (d->nsuccess < 3 || (d->nsuccess > 3 && d->nsuccess % 32 != 0))
        return 0;
    copy = malloc(d->nsamples * sizeof(*copy));
    if (copy == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    memcpy(copy, d->samples, d->nsamples * sizeof(*copy));
    qsort(copy, d->nsamples, sizeof(*copy), cmp_u64);
    limit = copy[d->nsamples / 2] / 100 * d->cfg.timeout_pct;
    free(copy);
    if (limit < 1000)
        limit = 1000; /* at least a millisecond */
    if (d->limit_us != 0 && limit < d->limit_us + d->limit_us / 20 &&
        limit + limit / 20 > d->limit_us)
        return 0;
    d->limit_us = limit;
    for (i = 1; i <= (size_t)d->cfg.nworkers; i++) {
        if (d->w[i].state != TF__W_ACTIVE)
            continue;
        rc = d->comm.send_limit(d->comm.arg, (int)i, limit, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
tf__dispatch_result(struct tf__dispatch *d, int w,
                    const struct tf__dresult *r, struct tf__dout *out,
                    uint64_t now, struct tf_error *err)
{
    struct wslot *ws = &d->w[w];
    struct tf__dchunk *c = ws->head;
    struct tf__dtask *t;
    int rc;

    d->now_us = now;
    if (ws->state != TF__W_ACTIVE || d->b == NULL)
        return tf__error(err, TF_EPROTO,
                         "results from worker %d, which holds no work", w);
    if (c == NULL || c->nresults >= c->sent_upto)
        return tf__error(err, TF_EPROTO,
                         "worker %d sent a result for work it does not "
                         "hold",
                         w);
    t = &c->tasks[c->nresults];
    if (t->id != r->id)
        return tf__error(err, TF_EPROTO,
                         "worker %d sent the result of task %llu where task "
                         "%llu was expected",
                         w, (unsigned long long)r->id,
                         (unsigned long long)t->id);
    /* Its result's part of the output joins what it streamed. */
    t->out.frame = out->frame;
    t->out.out = out->out;
    t->out.out_len = out->out_len;
    t->out.err = out->err;
    t->out.err_len = out->err_len;
    d->held_mem += out->out_len + out->err_len;
    memset(out, 0, sizeof(*out));
    t->worker = w;
    t->status = r->status;
    t->signal = r->signal;
    t->timed_out = r->timed_out;
    t->oom = r->oom;
    t->start_us = r->start_us;
    t->runtime_us = r->runtime_us;
    t->cpu_us = r->cpu_us;
    t->peak_bytes = r->peak_bytes;
    c->nresults++;
    /* A stopped batch runs nothing again: the task ends as it failed. */
    if (t->status != 0 && t->attempts < d->cfg.retries && !d->discard &&
        !d->stopping)
        rc = schedule_retry(d, c, t, err);
    else
        rc = task_finished(d, c->parent != NULL ? c->parent : c, t, err);
    if (rc < 0)
        return rc;
    if (c->nresults == c->sent_upto) {
        ws->head = c->next_worker;
        if (ws->head == NULL)
            ws->tail = NULL;
        ws->inflight--;
        d->inflight--;
        if (c->parent != NULL) {
            chunk_free(d, c); /* a retry, done */
        } else if (c->nresults < c->n) {
            /* A re-sent task is done; the rest of its chunk goes out next,
             * the same way. */
            c->next_worker = d->orphans;
            d->orphans = c;
        }
    }
    return r->status == 0 ? observe_success(d, r->runtime_us, err) : 0;
}

int
tf__dispatch_results_end(struct tf__dispatch *d, int w, uint32_t count,
                         uint64_t busy_us, uint64_t now, struct tf_error *err)
{
    int rc;

    d->now_us = now;
    d->w[w].busy_since_us = now;
    tf__sched_observe(&d->sched, count, busy_us);
    rc = drain(d, err);
    if (rc == 0)
        rc = spill_if_due(d, err);
    if (rc < 0)
        return rc;
    /* A retry goes to an idle worker other than the one it failed on. */
    if (d->retries != NULL) {
        rc = refill_idle(d, w, err);
        if (rc < 0)
            return rc;
    }
    rc = refill(d, w, err);
    if (rc < 0)
        return rc;
    return serve_waiting(d, err);
}

struct tf__dtask *
tf__dispatch_running(struct tf__dispatch *d, int w, uint64_t id)
{
    struct tf__dchunk *c;
    uint32_t k;

    if (w < 1 || w > d->cfg.nworkers || d->w[w].state != TF__W_ACTIVE ||
        d->b == NULL)
        return NULL;
    for (c = d->w[w].head; c != NULL; c = c->next_worker)
        for (k = c->nresults; k < c->sent_upto && k < c->n; k++)
            if (c->tasks[k].id == id)
                return &c->tasks[k];
    return NULL;
}

int
tf__dispatch_output_added(struct tf__dispatch *d, struct tf__dtask *t,
                          size_t n, struct tf_error *err)
{
    (void)t;
    d->held_mem += n;
    return spill_if_due(d, err);
}

int
tf__dispatch_submitted(struct tf__dispatch *d, int w, uint64_t parent,
                       const void *data, size_t len, struct tf_error *err)
{
    int rc;

    if (d->w[w].state != TF__W_ACTIVE || d->b == NULL)
        return tf__error(err, TF_EPROTO,
                         "submitted tasks from worker %d, which holds no "
                         "work",
                         w);
    if (!d->b->grows)
        return tf__error(err, TF_EUSAGE, "a task submitted tasks in a run "
                                         "that takes none");
    if (d->discard || d->stopping || d->halted || d->deadline_hit)
        return 0; /* the batch hands out nothing more */
    rc = d->comm.submit(d->comm.arg, parent, data, len, err);
    if (rc < 0)
        return rc;
    /* 1: there may be tasks for `next` again, past an end it saw. */
    if (rc == 1)
        d->eof = false;
    return 0;
}

/* ------------------------------------------------------ lost workers */

/*
 * Worker W is gone: it no longer counts, and the chunks it held go to the
 * front of the orphans, oldest first, whose unreported tasks are sent again
 * one at a time. When it DIED (rather than said it failed) while running a
 * task that was sent to it alone, that task gets a strike, and a task with
 * MAX_STRIKES fails with signal SIG (or SIGKILL) instead of being sent
 * again.
 */
static int
worker_lost(struct tf__dispatch *d, int w, bool died, int sig,
            struct tf_error *err)
{
    static const char why[] = "taskfarm: the worker running this task died "
                              "each time it ran\n";
    struct wslot *ws = &d->w[w];
    struct tf__dchunk *c = ws->head;
    struct tf__dchunk **tail;
    struct tf__dchunk *k;
    int rc = 0;

    if (ws->state == TF__W_GONE)
        return 0;
    if (ws->state != TF__W_STOPPED)
        d->active--;
    ws->state = TF__W_GONE;
    /* What the tasks it held streamed of their output goes with them: a
     * task sent again starts its output again. */
    for (k = c; k != NULL; k = k->next_worker) {
        uint32_t i;

        for (i = k->nresults; i < k->sent_upto && i < k->n; i++)
            drop_output(d, &k->tasks[i]);
    }
    if (died && c != NULL && c->single && c->nresults < c->sent_upto &&
        ++c->tasks[c->nresults].strikes >= MAX_STRIKES && d->b != NULL) {
        struct tf__dtask *t = &c->tasks[c->nresults];

        t->worker = w;
        t->start_us = 0;
        t->lost = true;
        t->cpu_us = t->peak_bytes = 0;
        t->status = -1;
        t->signal = sig > 0 ? sig : SIGKILL;
        t->out.err = why;
        t->out.err_len = sizeof(why) - 1;
        d->held_mem += t->out.err_len;
        c->nresults++;
        rc = task_finished(d, c->parent != NULL ? c->parent : c, t, err);
    }
    /* Its chunks, in order, before the orphans there are. */
    tail = &ws->head;
    while (*tail != NULL) {
        k = *tail;
        ws->inflight--;
        d->inflight--;
        if (k->nresults == k->n) {
            *tail = k->next_worker; /* finished by the strike above */
            if (k->parent != NULL)
                chunk_free(d, k);
            continue;
        }
        tail = &k->next_worker;
    }
    *tail = d->orphans;
    d->orphans = ws->head;
    ws->head = ws->tail = NULL;
    return rc;
}

int
tf__dispatch_lost(struct tf__dispatch *d, int w, bool died, int sig,
                  uint64_t now, struct tf_error *err)
{
    bool early = d->w[w].state == TF__W_NEW;
    int rc;

    d->now_us = now;
    rc = worker_lost(d, w, died, sig, err);
    /* Its work goes to the workers that hold none, at once: they would
     * not ask. */
    if (rc == 0 && d->b != NULL)
        rc = refill_idle(d, w, err);
    if (rc < 0 || !died)
        return rc;
    if (early && ++d->early_deaths > MAX_EARLY_DEATHS * d->cfg.nworkers)
        return tf__error(err, TF_EPEER,
                         "workers keep dying before they start (the last: "
                         "worker %d%s%s)",
                         w, sig > 0 ? ", " : "", sig > 0 ? strsignal(sig) : "");
    if (d->stopping)
        return 0; /* it was told to end, or soon will be */
    if (d->comm.respawn != NULL) {
        log_msg(d, TF_LOG_WARN, "worker %d died%s%s; a new one takes its place",
                w, sig > 0 ? ": " : "", sig > 0 ? strsignal(sig) : "");
        rc = d->comm.respawn(d->comm.arg, w, err);
        if (rc < 0)
            return rc;
        d->w[w].state = TF__W_NEW;
        d->active++;
        return 0;
    }
    d->w[w].lost_at = time(NULL);
    if (d->active > 0) {
        char at[16];

        wall_clock(d->w[w].lost_at, at, sizeof(at));
        log_msg(d, TF_LOG_WARN,
                "worker %d%s%.*s is lost (at %s); the others take its work",
                w, d->w[w].host_len > 0 ? " on " : "",
                (int)d->w[w].host_len, d->w[w].host, at);
        return 0;
    }
    return tf__error(err, TF_EPEER, "every worker is lost (the last: worker "
                                    "%d)",
                     w);
}

int
tf__dispatch_ended(struct tf__dispatch *d, int w, struct tf_error *err)
{
    struct wslot *ws = &d->w[w];
    int rc;

    if (ws->state == TF__W_RECYCLING) {
        /* A recycled worker ended: start a fresh one in its place. */
        rc = d->comm.respawn(d->comm.arg, w, err);
        if (rc < 0)
            return rc;
        ws->state = TF__W_NEW;
        return 0;
    }
    ws->state = TF__W_GONE;
    return 0;
}

/* ------------------------------------------------------------- events */

int
tf__dispatch_hello(struct tf__dispatch *d, int w, const char *host,
                   size_t host_len, uint64_t now, struct tf_error *err)
{
    struct wslot *ws = &d->w[w];
    int rc;

    d->now_us = now;
    if (ws->state != TF__W_NEW)
        return tf__error(err, TF_EPROTO, "worker %d said hello twice", w);
    if (host_len >= sizeof(ws->host))
        host_len = sizeof(ws->host) - 1;
    memcpy(ws->host, host, host_len);
    ws->host[host_len] = '\0';
    ws->host_len = host_len;
    ws->state = TF__W_ACTIVE;
    ws->tasks = 0;
    if (d->limit_us != 0) {
        rc = d->comm.send_limit(d->comm.arg, w, d->limit_us, err);
        if (rc < 0)
            return rc;
    }
    return refill(d, w, err);
}

int
tf__dispatch_tick(struct tf__dispatch *d, uint64_t now, struct tf_error *err)
{
    int rc;

    d->now_us = now;
    if (d->b == NULL)
        return 0;
    rc = drain(d, err);
    if (rc == 0)
        rc = keep_aged(d, err);
    if (rc == 0)
        rc = serve_waiting(d, err);
    return rc;
}

bool
tf__dispatch_idle(const struct tf__dispatch *d)
{
    return d->b != NULL && d->b->grows && !d->eof &&
           d->qlen == 0 && d->inflight == 0 && d->retries == NULL &&
           d->orphans == NULL;
}

int
tf__dispatch_poll_input(struct tf__dispatch *d, uint64_t now,
                        struct tf_error *err)
{
    int rc;

    d->now_us = now;
    rc = read_ahead(d, 1, false);
    if (rc < 0)
        return tf__error(err, rc, "out of memory");
    if (d->qlen > 0)
        rc = serve_waiting(d, err);
    return rc;
}

void
tf__dispatch_drop_retries(struct tf__dispatch *d)
{
    while (d->retries != NULL) {
        struct tf__dchunk *c = d->retries;

        d->retries = c->next_worker;
        chunk_free(d, c);
    }
    d->retries_tail = NULL;
}

void
tf__dispatch_stop(struct tf__dispatch *d)
{
    d->stopping = true;
    tf__dispatch_no_more(d, NULL);
    tf__dispatch_drop_retries(d);
}

int
tf__dispatch_emit_arrived(struct tf__dispatch *d, struct tf_error *err)
{
    struct tf__dchunk *c;
    int rc = 0;

    for (c = d->chunks; c != NULL && rc == 0; c = c->next) {
        uint32_t k;

        for (k = c->nemitted; k < c->n && rc == 0; k++) {
            struct tf__dtask *t = &c->tasks[k];

            if (t->done && !t->emitted)
                rc = emit(d, c, t, err);
        }
    }
    return rc;
}

void
tf__dispatch_discard(struct tf__dispatch *d)
{
    d->discard = true;
    tf__dispatch_no_more(d, NULL);
    tf_buf_reset(&d->qbytes);
    d->qbytes_start = 0;
}

/* Frees the retries in a list linked by next_worker (the other chunks
 * there are on the list of all chunks, and freed from it). */
static void
free_retry_chunks(struct tf__dispatch *d, struct tf__dchunk *c)
{
    while (c != NULL) {
        struct tf__dchunk *next = c->next_worker;

        if (c->parent != NULL)
            chunk_free(d, c);
        c = next;
    }
}

/* Drops every chunk, held or not, and their tasks' output. */
static void
drop_chunks(struct tf__dispatch *d)
{
    int i;

    for (i = 1; i <= d->cfg.nworkers; i++) {
        free_retry_chunks(d, d->w[i].head);
        d->inflight -= d->w[i].inflight;
        d->w[i].inflight = 0;
        d->w[i].head = d->w[i].tail = NULL;
    }
    free_retry_chunks(d, d->orphans);
    d->orphans = NULL;
    while (d->chunks != NULL) {
        struct tf__dchunk *c = d->chunks;

        d->chunks = c->next;
        chunk_free(d, c);
    }
    d->chunks_tail = NULL;
    tf__dispatch_drop_retries(d);
    d->held = 0;
    d->held_mem = 0;
    d->nunrecorded = 0;
}

bool
tf__dispatch_finished(const struct tf__dispatch *d)
{
    int i;

    if (!d->eof || d->qlen > 0 || d->inflight > 0 || d->chunks != NULL ||
        d->retries != NULL)
        return false;
    /* A worker being replaced may not be left half started. */
    for (i = 1; i <= d->cfg.nworkers; i++)
        if (d->w[i].state == TF__W_RECYCLING)
            return false;
    return true;
}

/* --------------------------------------------------------- the batch */

int
tf__dispatch_begin(struct tf__dispatch *d, const struct tf__dispatch_batch *b,
                   uint64_t now, struct tf_error *err)
{
    int i;
    int rc = 0;

    d->b = b;
    d->now_us = now;
    d->eof = false;
    d->input_rc = 0;
    tf_error_init(&d->input_err);
    d->halted = false;
    d->deadline_hit = false;
    d->stopping = false;
    d->discard = false;
    d->finished = d->finished_failed = 0;
    d->emitted = d->emitted_failed = 0;
    d->nunrecorded = 0;
    d->next_keep_us = 0;
    tf__sched_init(&d->sched, d->cfg.nworkers, d->cfg.chunk);
    for (i = 1; i <= d->cfg.nworkers && rc == 0; i++)
        rc = refill(d, i, err);
    return rc;
}

void
tf__dispatch_end(struct tf__dispatch *d)
{
    int i;

    if (d->discard)
        drop_chunks(d);
    d->discard = false;
    d->nhungry = 0;
    for (i = 1; i <= d->cfg.nworkers; i++)
        d->w[i].waiting = false;
    d->b = NULL;
}

int
tf__dispatch_new(const struct tf__dispatch_cfg *cfg,
                 const struct tf__dispatch_comm *comm,
                 struct tf__dispatch **out, struct tf_error *err)
{
    struct tf__dispatch *d;

    *out = NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    d->cfg = *cfg;
    d->comm = *comm;
    tf_buf_init(&d->qbytes, 0);
    d->active = cfg->nworkers;
    d->limit_us = cfg->timeout_pct == 0 ? cfg->timeout_us : 0;
    d->rng = 0x853c49e6748fea9bu;
    d->w = calloc((size_t)cfg->nworkers + 1, sizeof(*d->w));
    d->hungry = calloc((size_t)cfg->nworkers + 1, sizeof(*d->hungry));
    if (d->w == NULL || d->hungry == NULL) {
        tf__dispatch_free(d);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    *out = d;
    return 0;
}

void
tf__dispatch_free(struct tf__dispatch *d)
{
    if (d == NULL)
        return;
    if (d->w != NULL)
        drop_chunks(d);
    free(d->samples);
    free(d->w);
    free(d->q);
    free(d->hungry);
    tf_buf_cleanup(&d->qbytes);
    free(d);
}

/* ------------------------------------------------------------- queries */

void
tf__dispatch_state(const struct tf__dispatch *d,
                   struct tf__dispatch_state *st)
{
    int i;

    st->active = d->active;
    st->busy = 0;
    for (i = 1; i <= d->cfg.nworkers; i++)
        if (d->w[i].state == TF__W_ACTIVE && d->w[i].head != NULL)
            st->busy++;
    st->inflight = d->inflight;
    st->nwaiting = d->nhungry;
    st->halted = d->halted;
    st->halt_why = d->halt_why;
    st->deadline_hit = d->deadline_hit;
    st->deadline_why = d->deadline_why;
    st->input_rc = d->input_rc;
    st->input_err = &d->input_err;
    st->finished = d->finished;
    st->finished_failed = d->finished_failed;
    st->emitted = d->emitted;
    st->emitted_failed = d->emitted_failed;
    st->pending = d->qlen;
    st->input_left = !d->eof || d->qlen > 0;
    st->next_due_us = d->b != NULL && d->b->keep && d->nunrecorded > 0
                          ? d->next_keep_us
                          : UINT64_MAX;
}

int
tf__dispatch_lost_line(const struct tf__dispatch *d, char *buf, size_t size)
{
    size_t used = 0;
    int n = 0;
    int w;

    buf[0] = '\0';
    for (w = 1; w <= d->cfg.nworkers; w++) {
        const struct wslot *ws = &d->w[w];
        char at[16];
        int k;

        if (ws->lost_at == 0)
            continue;
        wall_clock(ws->lost_at, at, sizeof(at));
        k = snprintf(buf + used, size - used, "%sworker %d%s%.*s at %s",
                     n > 0 ? ", " : "", w, ws->host_len > 0 ? " on " : "",
                     (int)ws->host_len, ws->host, at);
        n++;
        if (k < 0 || (size_t)k >= size - used) {
            /* Cut: end it with an ellipsis where it fits. */
            if (size > 4)
                memcpy(buf + size - 4, "...", 4);
            used = size - 1;
        } else {
            used += (size_t)k;
        }
    }
    return n;
}

const char *
tf__dispatch_host(const struct tf__dispatch *d, int w, size_t *len)
{
    *len = d->w[w].host_len;
    return d->w[w].host;
}

int
tf__dispatch_wstate(const struct tf__dispatch *d, int w)
{
    return d->w[w].state;
}

void
tf__dispatch_stopped(struct tf__dispatch *d, int w)
{
    if (d->w[w].state != TF__W_STOPPED && d->w[w].state != TF__W_GONE)
        d->active--;
    d->w[w].state = TF__W_STOPPED;
}

int
tf__dispatch_inflight(const struct tf__dispatch *d, int w)
{
    return d->w[w].inflight;
}

uint64_t
tf__dispatch_limit(const struct tf__dispatch *d)
{
    return d->limit_us;
}

size_t
tf__dispatch_running_tasks(const struct tf__dispatch *d, uint64_t now,
                           struct tf__running *out, size_t max,
                           uint64_t *queued)
{
    size_t n = 0;
    int running = 0;
    int i;

    *queued = d->qlen;
    for (i = 1; i <= d->cfg.nworkers; i++) {
        const struct wslot *ws = &d->w[i];
        const struct tf__dchunk *c;

        for (c = ws->head; c != NULL; c = c->next_worker)
            *queued += c->sent_upto - c->nresults;
        c = ws->head;
        if (ws->state != TF__W_ACTIVE || c == NULL ||
            c->nresults >= c->sent_upto)
            continue;
        running++;
        if (n < max) {
            const struct tf__dtask *t = &c->tasks[c->nresults];

            out[n].id = t->id;
            out[n].worker = i - 1;
            out[n].us = now > ws->busy_since_us ? now - ws->busy_since_us
                                                : 0;
            out[n].text = tf__dchunk_text(c, t);
            out[n].len = t->cmd_len;
            n++;
        }
    }
    *queued -= (uint64_t)running < *queued ? (uint64_t)running : *queued;
    return n;
}
