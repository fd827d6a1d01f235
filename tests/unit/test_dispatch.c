/* test_dispatch.c - unit tests of the master's dispatcher, run by simulated
 * workers on a simulated clock */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "tf_test.h"

/* ------------------------------------------------------------- harness */

/*
 * A farm on a simulated clock around the real dispatcher. The harness is
 * the master's comm, recording every call the dispatcher makes, and it
 * plays the workers. A worker runs the chunks it is sent one after another,
 * in the order sent, and spends OVERHEAD_US on each chunk besides its tasks
 * (messages, decoding), which is not counted as busy time. It reports a
 * chunk in one RESULTS message when the chunk ends: tf__dispatch_result for
 * each of its tasks, then tf__dispatch_results_end with their count and
 * run time. A task's scripted outcome may instead kill its worker as the
 * task ends: the results of the chunk are lost with the worker, and the
 * dispatcher hears of it through tf__dispatch_lost. Time moves from one
 * event to the next (a hello, the end of a chunk, a worker that was told to
 * stop ending, a held result due to be kept) and the dispatcher is ticked
 * after each, as the master does. No real time passes.
 *
 * A result's output is a pointer into OUT_BYTES and a length, and its frame
 * a token for the message that carried it: the harness counts the
 * references to each frame the dispatcher takes and drops, so that a
 * reference dropped twice, or never, fails the test.
 */
#define T0 1000000u      /* the clock when a batch begins (us) */
#define OVERHEAD_US 200u /* a worker's cost of a chunk, not busy time */
#define SPAWN_US 5000u   /* from a worker started to its hello */
#define KILL INT32_MIN   /* an outcome: the task kills its worker */
#define MAX_HELD 2       /* chunks a worker holds at most (the prefetch) */
#define MAX_OUTCOMES 4
#define MAX_SUBMITS 2
#define BIG_OUT (((size_t)4 << 20) + 1000)

/* What the results' outputs point into: attempt K of a task at OUT_BYTES +
 * K, so that the output of each attempt is told apart. */
static char out_bytes[BIG_OUT + 64];

enum call_kind {
    CALL_SEND_WORK,
    CALL_SEND_STOP,
    CALL_SEND_RESET,
    CALL_SEND_LIMIT,
    CALL_RESPAWN,
    CALL_EMIT,
    CALL_KEEP,
    CALL_DROP,
    CALL_SUBMIT,
    CALL_LOG
};

/* One call of the comm, as the dispatcher made it. */
struct call {
    int kind;
    int w; /* the worker it went to, or the task's worker */
    uint64_t now;
    uint64_t id;       /* the task (send_work: the first one sent; submit:
                          the parent) */
    uint32_t n;        /* send_work: tasks sent */
    uint64_t end_us;   /* send_work: when the worker is done with them */
    size_t held;       /* send_work: output bytes of results held then */
    uint64_t limit_us; /* send_limit */
    int32_t status;
    int32_t signal;
    unsigned attempts;
    bool recorded;
    bool lost;
    bool timed_out;
    bool halted;     /* emit: the batch had halted */
    const void *out; /* emit: the output it carried */
    size_t out_len;
    size_t err_len;
    uintptr_t frame; /* emit, drop: the output's frame token */
    int level;       /* log */
};

/* A task of the batch, ids 1..ntasks. */
struct stask {
    uint64_t dur_us;
    uint64_t est_us;               /* what `next` says of it (0: not known) */
    size_t out_len;                /* bytes of output of each result */
    int32_t outcome[MAX_OUTCOMES]; /* status of each attempt, or KILL;
                                      past NOUT, the last (none: 0) */
    unsigned nout;
    const char *submit[MAX_SUBMITS]; /* what its first run submits */
    char text[32];
    size_t len;
    /* What befell it. */
    unsigned runs; /* attempts that ended (a result, or a death) */
    unsigned sent;
    unsigned emitted;
    unsigned kept;
    int holder;        /* the worker that holds it, or 0 */
    size_t last_frame; /* the frame of its last result, + 1 */
    uint64_t done_us;  /* when its last result arrived */
    bool held;         /* counted in HELD_BYTES */
};

/* A chunk a worker was sent. */
struct schunk {
    uint32_t n;
    uint64_t *ids; /* owned */
    uint64_t start_us;
    uint64_t end_us; /* its results are sent, or its worker dies */
    uint64_t busy_us;
    uint32_t die_at; /* the task that kills the worker, or N */
};

enum sw_state { SW_STARTING, SW_UP, SW_STOPPING, SW_DEAD, SW_ENDED };

struct sworker {
    int state;
    uint64_t hello_us;         /* SW_STARTING: when it says hello */
    uint64_t free_us;          /* when it is done with what it holds */
    uint64_t stop_us;          /* when it was told to stop */
    struct schunk q[MAX_HELD]; /* held, oldest first */
    int nq;
    uint64_t since_reset; /* tasks sent since its hello or reset */
};

struct logline {
    int level;
    char msg[256];
};

struct sim {
    int nworkers;
    struct tf__dispatch_cfg cfg;
    struct tf__dispatch_batch batch;
    struct tf__halt halt;
    bool no_respawn; /* the comm cannot start workers */
    uint64_t overhead_us;
    uint64_t spawn_us;
    int kill_sig; /* the signal a killed worker dies of */
    bool stopped; /* the test stopped the batch */
    bool lean;    /* record only send_work (large workloads) */

    struct tf__dispatch *d;
    uint64_t now;
    struct stask *t; /* owned: [1..ntasks] */
    uint64_t ntasks;
    uint64_t tasks_cap;
    uint64_t nread;
    struct sworker *w; /* owned: [1..nworkers] */

    struct call *calls; /* owned */
    size_t ncalls;
    size_t calls_cap;
    struct call scratch;  /* what is not recorded, when lean */
    struct logline *logs; /* owned: what the dispatcher logged */
    size_t nlogs;
    unsigned *refs; /* owned: references to each frame */
    size_t nframes;
    size_t frames_cap;
    uint64_t taken;   /* references the dispatcher took */
    uint64_t dropped; /* and dropped */
    uint64_t *order;  /* owned: tasks in the order their results came */
    size_t norder;
    size_t order_cap;

    uint64_t nemitted;
    uint64_t last_emitted; /* the task emitted last */
    uint64_t emitted_back; /* tasks emitted after a later one */
    size_t held_bytes;     /* output of results finished and not emitted */
    uint64_t cap_hit_us;   /* when HELD_BYTES first reached TF__HOLD_CAP */
    uint64_t halted_us;    /* when the batch was first seen halted */
    uint64_t deaths;
    uint64_t respawns;
    uint64_t ends;
    uint64_t ends_recycling; /* of which the dispatcher was recycling */
    uint64_t last_seq;       /* of the last chunk sent, + 1 */
    int late_w;              /* work went out to it after a halt or stop */
    uint64_t late_id;
    uint64_t makespan_us; /* from T0 to the last chunk's end */
};

/* The farms not yet freed: a test that fails leaves its own to the group's
 * teardown. */
#define MAX_LIVE 4
static struct sim *live[MAX_LIVE];

static void
check_rc(int rc, const struct tf_error *err, const char *what)
{
    if (rc != 0)
        fail_msg("%s: %d (%s)", what, rc, err->msg);
}

static void *
frame_token(size_t k)
{
    return (void *)(uintptr_t)(k + 1);
}

static int32_t
outcome(const struct stask *t, unsigned attempt)
{
    if (t->nout == 0)
        return 0;
    return t->outcome[attempt < t->nout ? attempt : t->nout - 1];
}

static struct call *
record(struct sim *s, int kind)
{
    struct call *c;

    if (s->lean && kind != CALL_SEND_WORK) {
        c = &s->scratch;
        memset(c, 0, sizeof(*c));
        return c;
    }
    if (s->ncalls == s->calls_cap) {
        s->calls_cap = s->calls_cap != 0 ? s->calls_cap * 2 : 1024;
        s->calls = realloc(s->calls, s->calls_cap * sizeof(*s->calls));
        assert_non_null(s->calls);
    }
    c = &s->calls[s->ncalls++];
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->now = s->now;
    return c;
}

/* Adds a task of LEN bytes of TEXT; it is given the next id. The task
 * array never moves, as `next` hands out pointers into it. */
static struct stask *
add_task(struct sim *s, const void *text, size_t len)
{
    struct stask *t;

    assert_true(s->ntasks + 1 < s->tasks_cap);
    assert_true(len < sizeof(t->text));
    t = &s->t[++s->ntasks]; /* zeroed by calloc */
    memcpy(t->text, text, len);
    t->len = len;
    return t;
}

/* ---------------------------------------------------------- the comm */

static int
sim_next(void *arg, uint64_t *id, const void **text, size_t *len,
         uint64_t *est_us, bool may_block, struct tf_error *err)
{
    struct sim *s = arg;
    struct stask *t;

    (void)may_block;
    (void)err;
    if (s->nread == s->ntasks) {
        /* A batch that grows waits, as the pool's does, while a task
         * that may still submit more has not been passed on. */
        if (s->batch.grows && s->nemitted < s->nread)
            return TF__DISPATCH_WAIT;
        return 0;
    }
    t = &s->t[++s->nread];
    *id = s->nread;
    *text = t->text;
    *len = t->len;
    *est_us = t->est_us;
    return 1;
}

/* Expected time worker W needs for what it holds, by the estimates; 0 when
 * a task it holds has none. */
static uint64_t
held_estimate(const struct sim *s, int w)
{
    const struct sworker *sw = &s->w[w];
    uint64_t sum = 0;
    int i;
    uint32_t k;

    for (i = 0; i < sw->nq; i++) {
        for (k = 0; k < sw->q[i].n; k++) {
            uint64_t est = s->t[sw->q[i].ids[k]].est_us;

            if (est == 0)
                return 0;
            sum += est;
        }
    }
    return sum;
}

static int
sim_send_work(void *arg, int w, const struct tf__dchunk *c, uint32_t from,
              uint32_t to, uint64_t seq, struct tf_error *err)
{
    struct sim *s = arg;
    struct tf__dispatch_state st;
    struct sworker *sw;
    struct schunk *k;
    struct call *rec;
    uint64_t at;
    uint32_t i;

    (void)err;
    assert_true(w >= 1 && w <= s->nworkers);
    sw = &s->w[w];
    if (sw->state != SW_UP)
        fail_msg("work sent to worker %d, which is not up (state %d)", w,
                 sw->state);
    if (sw->nq >= MAX_HELD)
        fail_msg("worker %d sent a chunk while it holds %d", w, sw->nq);
    assert_true(from < to && to <= c->n);
    /* Noted, and failed once the dispatcher's call is over, so that the
     * dispatcher is left whole. */
    tf__dispatch_state(s->d, &st);
    if ((st.halted || s->stopped) && s->late_w == 0) {
        s->late_w = w;
        s->late_id = c->tasks[from].id;
    }
    /* Chunks are numbered in the order sent. */
    if (seq + 1 <= s->last_seq)
        fail_msg("chunk %llu sent after chunk %llu", (unsigned long long)seq,
                 (unsigned long long)(s->last_seq - 1));
    s->last_seq = seq + 1;
    k = &sw->q[sw->nq++];
    memset(k, 0, sizeof(*k));
    k->n = to - from;
    k->ids = malloc(k->n * sizeof(*k->ids));
    assert_non_null(k->ids);
    k->die_at = k->n;
    at = sw->free_us > s->now ? sw->free_us : s->now;
    k->start_us = at;
    at += s->overhead_us;
    for (i = 0; i < k->n; i++) {
        const struct tf__dtask *dt = &c->tasks[from + i];
        struct stask *t;

        assert_true(dt->id >= 1 && dt->id <= s->ntasks);
        t = &s->t[dt->id];
        /* Its text, whatever way it went (a chunk, a retry, an orphan sent
         * again). */
        assert_int_equal(dt->cmd_len, t->len);
        assert_memory_equal(tf__dchunk_text(c, dt), t->text, t->len);
        if (t->holder != 0)
            fail_msg("task %llu sent to worker %d while worker %d holds it",
                     (unsigned long long)dt->id, w, t->holder);
        t->holder = w;
        t->sent++;
        k->ids[i] = dt->id;
        if (k->die_at < k->n)
            continue; /* never runs: its worker dies before */
        at += t->dur_us;
        k->busy_us += t->dur_us;
        if (outcome(t, t->runs) == KILL)
            k->die_at = i;
    }
    k->end_us = at;
    sw->free_us = at;
    sw->since_reset += k->n;
    if (s->cfg.max_tasks_per_worker != 0 &&
        sw->since_reset > s->cfg.max_tasks_per_worker)
        fail_msg("worker %d was sent %llu tasks, past its share of %llu", w,
                 (unsigned long long)sw->since_reset,
                 (unsigned long long)s->cfg.max_tasks_per_worker);
    if (s->batch.deadline_us != 0) {
        uint64_t est = held_estimate(s, w);
        uint64_t limit = s->batch.deadline_us - s->batch.margin_us;

        if (est != 0 && s->now + est > limit)
            fail_msg(
                "worker %d was sent task %llu at %llu us, expected to "
                "end at %llu us, past %llu us",
                w, (unsigned long long)k->ids[0], (unsigned long long)s->now,
                (unsigned long long)(s->now + est), (unsigned long long)limit);
    }
    rec = record(s, CALL_SEND_WORK);
    rec->w = w;
    rec->id = k->ids[0];
    rec->n = k->n;
    rec->end_us = k->end_us;
    rec->held = s->held_bytes;
    return 0;
}

static int
sim_send_stop(void *arg, int w, struct tf_error *err)
{
    struct sim *s = arg;

    (void)err;
    if (s->w[w].state != SW_UP)
        fail_msg("worker %d told to stop in state %d", w, s->w[w].state);
    s->w[w].state = SW_STOPPING;
    s->w[w].stop_us = s->now;
    record(s, CALL_SEND_STOP)->w = w;
    return 0;
}

static int
sim_send_reset(void *arg, int w, struct tf_error *err)
{
    struct sim *s = arg;

    (void)err;
    if (s->w[w].state != SW_UP)
        fail_msg("worker %d reset in state %d", w, s->w[w].state);
    s->w[w].since_reset = 0;
    record(s, CALL_SEND_RESET)->w = w;
    return 0;
}

static int
sim_send_limit(void *arg, int w, uint64_t limit_us, struct tf_error *err)
{
    struct sim *s = arg;
    struct call *rec;

    (void)err;
    if (s->w[w].state != SW_UP)
        fail_msg("worker %d sent a limit in state %d", w, s->w[w].state);
    rec = record(s, CALL_SEND_LIMIT);
    rec->w = w;
    rec->limit_us = limit_us;
    return 0;
}

static int
sim_respawn(void *arg, int w, struct tf_error *err)
{
    struct sim *s = arg;
    struct sworker *sw = &s->w[w];

    (void)err;
    if (sw->state != SW_DEAD && sw->state != SW_ENDED)
        fail_msg("a new worker %d started while the old one runs (state "
                 "%d)",
                 w, sw->state);
    sw->state = SW_STARTING;
    sw->hello_us = s->now + s->spawn_us;
    sw->nq = 0;
    s->respawns++;
    record(s, CALL_RESPAWN)->w = w;
    return 0;
}

static void
fill_task_call(struct call *rec, const struct tf__dtask *t)
{
    rec->w = t->worker;
    rec->id = t->id;
    rec->status = t->status;
    rec->signal = t->signal;
    rec->attempts = t->attempts;
    rec->recorded = t->recorded;
    rec->lost = t->lost;
    rec->timed_out = t->timed_out;
    rec->out = t->out.out;
    rec->out_len = t->out.out_len;
    rec->err_len = t->out.err_len;
    rec->frame = (uintptr_t)t->out.frame;
}

static int
sim_emit(void *arg, const struct tf__dchunk *c, struct tf__dtask *t,
         struct tf_error *err)
{
    struct sim *s = arg;
    struct tf__dispatch_state st;
    struct stask *task;
    struct call *rec;

    (void)err;
    assert_true(t->id >= 1 && t->id <= s->ntasks);
    task = &s->t[t->id];
    assert_true(t->done);
    if (task->emitted++ > 0)
        fail_msg("task %llu emitted twice", (unsigned long long)t->id);
    /* C holds T: the text is T's. */
    assert_memory_equal(tf__dchunk_text(c, t), task->text, task->len);
    /* Its output is that of its last result. */
    if (!t->lost && t->out.frame != frame_token(task->last_frame - 1))
        fail_msg("task %llu emitted with the output of another result",
                 (unsigned long long)t->id);
    rec = record(s, CALL_EMIT);
    fill_task_call(rec, t);
    tf__dispatch_state(s->d, &st);
    rec->halted = st.halted;
    s->nemitted++;
    if (t->id < s->last_emitted)
        s->emitted_back++;
    s->last_emitted = t->id;
    if (task->held) {
        s->held_bytes -= task->out_len;
        task->held = false;
    }
    return 0;
}

static int
sim_keep(void *arg, const struct tf__dchunk *c, struct tf__dtask *t,
         struct tf_error *err)
{
    struct sim *s = arg;
    struct stask *task;

    (void)err;
    assert_true(t->id >= 1 && t->id <= s->ntasks);
    task = &s->t[t->id];
    assert_true(t->done);
    assert_false(t->emitted);
    if (task->kept++ > 0)
        fail_msg("task %llu kept twice", (unsigned long long)t->id);
    assert_memory_equal(tf__dchunk_text(c, t), task->text, task->len);
    fill_task_call(record(s, CALL_KEEP), t);
    return 0;
}

static void
sim_drop(void *arg, struct tf__dtask *t)
{
    struct sim *s = arg;
    struct call *rec = record(s, CALL_DROP);

    rec->id = t->id;
    rec->frame = (uintptr_t)t->out.frame;
    if (t->out.frame != NULL) {
        size_t k = (uintptr_t)t->out.frame - 1;

        if (k >= s->nframes)
            fail_msg("task %llu dropped a frame it was never given",
                     (unsigned long long)t->id);
        if (s->refs[k] == 0)
            fail_msg("frame %zu dropped more often than taken", k);
        s->refs[k]--;
        s->dropped++;
    }
    memset(&t->out, 0, sizeof(t->out));
}

static int
sim_spill(void *arg, struct tf__dtask *t, struct tf_error *err)
{
    (void)arg;
    (void)err;
    fail_msg("task %llu spilled in a batch that does not spill",
             (unsigned long long)t->id);
    return 0;
}

/* Nothing waits to be written: emit wrote it. */
static int
sim_flush(void *arg, struct tf_error *err)
{
    (void)arg;
    (void)err;
    return 0;
}

static int
sim_submit(void *arg, uint64_t parent, const void *data, size_t len,
           struct tf_error *err)
{
    struct sim *s = arg;
    struct stask *t;

    (void)err;
    record(s, CALL_SUBMIT)->id = parent;
    t = add_task(s, data, len);
    t->dur_us = 1000;
    return 1;
}

static void
sim_log(void *arg, int level, const char *msg)
{
    struct sim *s = arg;

    record(s, CALL_LOG)->level = level;
    s->logs = realloc(s->logs, (s->nlogs + 1) * sizeof(*s->logs));
    assert_non_null(s->logs);
    s->logs[s->nlogs].level = level;
    snprintf(s->logs[s->nlogs].msg, sizeof(s->logs[s->nlogs].msg), "%s", msg);
    s->nlogs++;
}

/* ------------------------------------------------------- the workers */

/* A farm of NWORKERS workers (each saying hello at T0) and NTASKS tasks of
 * DUR_US each, "task 1" to "task N"; the test adjusts it, then calls
 * sim_begin(). */
static struct sim *
sim_new(int nworkers, uint64_t ntasks, uint64_t dur_us)
{
    struct sim *s = calloc(1, sizeof(*s));
    uint64_t i;
    int w;

    assert_non_null(s);
    for (w = 0; w < MAX_LIVE && live[w] != NULL; w++)
        continue;
    assert_true(w < MAX_LIVE);
    live[w] = s;
    s->nworkers = nworkers;
    s->cfg.nworkers = nworkers;
    s->overhead_us = OVERHEAD_US;
    s->spawn_us = SPAWN_US;
    s->kill_sig = SIGSEGV;
    s->now = T0;
    s->tasks_cap = ntasks + 1 + 16; /* room for submitted tasks */
    s->t = calloc(s->tasks_cap, sizeof(*s->t));
    s->w = calloc((size_t)nworkers + 1, sizeof(*s->w));
    assert_non_null(s->t);
    assert_non_null(s->w);
    for (i = 1; i <= ntasks; i++) {
        char text[32];
        int n =
            snprintf(text, sizeof(text), "task %llu", (unsigned long long)i);

        add_task(s, text, (size_t)n)->dur_us = dur_us;
    }
    for (w = 1; w <= nworkers; w++) {
        s->w[w].state = SW_STARTING;
        s->w[w].hello_us = T0;
    }
    return s;
}

/* Notes when the batch halted, and fails if work went out after that or
 * after the test stopped it. */
static void
note_halt(struct sim *s)
{
    struct tf__dispatch_state st;

    if (s->late_w != 0)
        fail_msg("task %llu sent to worker %d after the batch %s",
                 (unsigned long long)s->late_id, s->late_w,
                 s->stopped ? "was stopped" : "halted");
    if (s->halted_us != 0)
        return;
    tf__dispatch_state(s->d, &st);
    if (st.halted)
        s->halted_us = s->now;
}

static void
sim_begin(struct sim *s)
{
    struct tf__dispatch_comm comm;
    struct tf_error err;
    int rc;

    memset(&comm, 0, sizeof(comm));
    comm.arg = s;
    comm.next = sim_next;
    comm.send_work = sim_send_work;
    comm.send_stop = sim_send_stop;
    comm.send_reset = sim_send_reset;
    comm.send_limit = sim_send_limit;
    comm.respawn = s->no_respawn ? NULL : sim_respawn;
    comm.emit = sim_emit;
    comm.keep = sim_keep;
    comm.drop = sim_drop;
    comm.spill = sim_spill;
    comm.flush = sim_flush;
    comm.submit = sim_submit;
    comm.log = sim_log;
    tf_error_init(&err);
    rc = tf__dispatch_new(&s->cfg, &comm, &s->d, &err);
    check_rc(rc, &err, "tf__dispatch_new");
    rc = tf__dispatch_begin(s->d, &s->batch, s->now, &err);
    check_rc(rc, &err, "tf__dispatch_begin");
}

static size_t
new_frame(struct sim *s)
{
    if (s->nframes == s->frames_cap) {
        s->frames_cap = s->frames_cap != 0 ? s->frames_cap * 2 : 256;
        s->refs = realloc(s->refs, s->frames_cap * sizeof(*s->refs));
        assert_non_null(s->refs);
    }
    s->refs[s->nframes] = 1; /* the harness's own, while it delivers */
    return s->nframes++;
}

static void
free_chunk(struct sim *s, struct schunk *k)
{
    uint32_t i;

    for (i = 0; i < k->n; i++)
        s->t[k->ids[i]].holder = 0;
    free(k->ids);
    k->ids = NULL;
}

/* Worker W dies as its chunk K's task K->die_at ends. */
static void
worker_dies(struct sim *s, int w, struct schunk *k)
{
    struct sworker *sw = &s->w[w];
    struct tf_error err;
    int rc;
    int i;

    s->t[k->ids[k->die_at]].runs++;
    free_chunk(s, k);
    for (i = 0; i < sw->nq; i++)
        free_chunk(s, &sw->q[i]);
    sw->nq = 0;
    sw->state = SW_DEAD;
    s->deaths++;
    tf_error_init(&err);
    rc = tf__dispatch_lost(s->d, w, true, s->kill_sig, s->now, &err);
    check_rc(rc, &err, "tf__dispatch_lost");
}

/* Worker W's oldest chunk ends: one RESULTS message, or its death. */
static void
chunk_ends(struct sim *s, int w)
{
    struct sworker *sw = &s->w[w];
    struct schunk k = sw->q[0];
    struct tf_error err;
    uint64_t at;
    uint32_t i;
    size_t f;
    int rc;
    int j;

    for (j = 1; j < sw->nq; j++)
        sw->q[j - 1] = sw->q[j];
    sw->nq--;
    if (k.die_at < k.n) {
        worker_dies(s, w, &k);
        return;
    }
    tf_error_init(&err);
    /* What its tasks submitted comes first, as a worker sends it. */
    for (i = 0; i < k.n; i++) {
        unsigned m;

        for (m = 0; m < MAX_SUBMITS; m++) {
            const char *sub = s->t[k.ids[i]].submit[m];

            if (sub == NULL || s->t[k.ids[i]].runs > 0)
                continue;
            rc = tf__dispatch_submitted(s->d, w, k.ids[i], sub, strlen(sub),
                                        &err);
            check_rc(rc, &err, "tf__dispatch_submitted");
        }
    }
    f = new_frame(s);
    at = k.start_us + s->overhead_us;
    for (i = 0; i < k.n; i++) {
        struct stask *t = &s->t[k.ids[i]];
        struct tf__dispatch_state st;
        struct tf__dresult r;
        struct tf__dout o;
        uint64_t finished;

        memset(&r, 0, sizeof(r));
        r.id = k.ids[i];
        r.status = outcome(t, t->runs);
        r.start_us = (int64_t)at;
        r.runtime_us = t->dur_us;
        at += t->dur_us;
        memset(&o, 0, sizeof(o));
        o.frame = frame_token(f);
        o.out = out_bytes + t->runs % 64;
        o.out_len = t->out_len;
        tf__dispatch_state(s->d, &st);
        finished = st.finished;
        s->refs[f]++;
        /* Set first: an unordered batch passes the task on in the call. */
        t->last_frame = f + 1;
        t->done_us = s->now;
        rc = tf__dispatch_result(s->d, w, &r, &o, s->now, &err);
        check_rc(rc, &err, "tf__dispatch_result");
        if (o.frame != NULL)
            fail_msg("the result of task %llu was not taken",
                     (unsigned long long)r.id);
        s->taken++;
        t->holder = 0;
        t->runs++;
        if (s->norder == s->order_cap) {
            s->order_cap = s->order_cap != 0 ? s->order_cap * 2 : 1024;
            s->order = realloc(s->order, s->order_cap * sizeof(*s->order));
            assert_non_null(s->order);
        }
        s->order[s->norder++] = r.id;
        tf__dispatch_state(s->d, &st);
        if (st.finished > finished && t->emitted == 0) {
            /* Finished, and held for its turn. */
            t->held = true;
            s->held_bytes += t->out_len;
            if (s->held_bytes >= TF__HOLD_CAP && s->cap_hit_us == 0)
                s->cap_hit_us = s->now;
        }
    }
    s->refs[f]--;
    free(k.ids);
    rc = tf__dispatch_results_end(s->d, w, k.n, k.busy_us, s->now, &err);
    check_rc(rc, &err, "tf__dispatch_results_end");
    if (s->now - T0 > s->makespan_us)
        s->makespan_us = s->now - T0;
}

enum { EV_NONE, EV_HELLO, EV_CHUNK, EV_END, EV_TICK };

/* The next event and its time: the earliest; a worker's before a tick. */
static int
next_event(struct sim *s, uint64_t *when, int *who)
{
    struct tf__dispatch_state st;
    uint64_t best = UINT64_MAX;
    int kind = EV_NONE;
    int w;

    for (w = 1; w <= s->nworkers; w++) {
        const struct sworker *sw = &s->w[w];
        uint64_t at;
        int k;

        if (sw->state == SW_STARTING) {
            at = sw->hello_us;
            k = EV_HELLO;
        } else if ((sw->state == SW_UP || sw->state == SW_STOPPING) &&
                   sw->nq > 0) {
            at = sw->q[0].end_us;
            k = EV_CHUNK;
        } else if (sw->state == SW_STOPPING) {
            at = sw->stop_us;
            k = EV_END;
        } else {
            continue;
        }
        if (at < s->now)
            at = s->now;
        if (at < best) {
            best = at;
            kind = k;
            *who = w;
        }
    }
    /* A held result due to be kept: the master wakes up for it. */
    tf__dispatch_state(s->d, &st);
    if (st.next_due_us != UINT64_MAX && st.next_due_us > s->now &&
        st.next_due_us < best) {
        best = st.next_due_us;
        kind = EV_TICK;
        *who = 0;
    }
    *when = best;
    return kind;
}

/* Takes the next event if it comes at UNTIL or before; false if none. */
static bool
sim_step(struct sim *s, uint64_t until)
{
    struct tf_error err;
    uint64_t when;
    int w = 0;
    int kind = next_event(s, &when, &w);
    int rc;

    if (kind == EV_NONE || when > until)
        return false;
    s->now = when;
    tf_error_init(&err);
    switch (kind) {
    case EV_HELLO:
        s->w[w].state = SW_UP;
        s->w[w].free_us = s->now;
        s->w[w].since_reset = 0;
        rc = tf__dispatch_hello(s->d, w, "node1", 5, s->now, &err);
        check_rc(rc, &err, "tf__dispatch_hello");
        break;
    case EV_CHUNK:
        chunk_ends(s, w);
        break;
    case EV_END:
        s->w[w].state = SW_ENDED;
        s->ends++;
        if (tf__dispatch_wstate(s->d, w) == TF__W_RECYCLING)
            s->ends_recycling++;
        rc = tf__dispatch_ended(s->d, w, &err);
        check_rc(rc, &err, "tf__dispatch_ended");
        break;
    default:
        break;
    }
    note_halt(s);
    rc = tf__dispatch_tick(s->d, s->now, &err);
    check_rc(rc, &err, "tf__dispatch_tick");
    note_halt(s);
    return true;
}

/* Takes every event up to UNTIL, then ticks the dispatcher at UNTIL. */
static void
sim_advance(struct sim *s, uint64_t until)
{
    struct tf_error err;
    bool more = true;
    int rc;

    while (more)
        more = sim_step(s, until);
    if (until > s->now)
        s->now = until;
    tf_error_init(&err);
    rc = tf__dispatch_tick(s->d, s->now, &err);
    check_rc(rc, &err, "tf__dispatch_tick");
    note_halt(s);
}

static size_t
frames_live(const struct sim *s)
{
    size_t n = 0;
    size_t k;

    for (k = 0; k < s->nframes; k++)
        n += s->refs[k];
    return n;
}

/* Runs the batch until the dispatcher says it is finished, as the master's
 * loop does; a batch that waits for nothing is stuck, and fails. */
static void
sim_run(struct sim *s)
{
    struct tf__dispatch_state st;
    struct tf_error err;
    int rc;

    tf_error_init(&err);
    for (;;) {
        if (tf__dispatch_idle(s->d)) {
            rc = tf__dispatch_poll_input(s->d, s->now, &err);
            check_rc(rc, &err, "tf__dispatch_poll_input");
        }
        if (tf__dispatch_finished(s->d))
            break;
        if (!sim_step(s, UINT64_MAX)) {
            tf__dispatch_state(s->d, &st);
            fail_msg("the batch is stuck at %llu us: %d active, %d busy, "
                     "%d chunks out, %d waiting, %llu pending, %llu of %llu "
                     "emitted",
                     (unsigned long long)(s->now - T0), st.active, st.busy,
                     st.inflight, st.nwaiting, (unsigned long long)st.pending,
                     (unsigned long long)s->nemitted,
                     (unsigned long long)s->ntasks);
        }
    }
    /* Everything passed on, every reference it took is dropped. */
    if (frames_live(s) != 0)
        fail_msg("%zu frame references left at the end of the batch",
                 frames_live(s));
}

/* Frees S and what the dispatcher holds, without a check. */
static void
sim_release(struct sim *s)
{
    int w;
    int i;

    for (w = 0; w < MAX_LIVE; w++)
        if (live[w] == s)
            live[w] = NULL;
    if (s->d != NULL) {
        tf__dispatch_end(s->d);
        tf__dispatch_free(s->d);
    }
    for (w = 1; w <= s->nworkers; w++)
        for (i = 0; i < s->w[w].nq; i++)
            free(s->w[w].q[i].ids);
    free(s->t);
    free(s->w);
    free(s->calls);
    free(s->logs);
    free(s->refs);
    free(s->order);
    free(s);
}

static void
sim_free(struct sim *s)
{
    size_t left;
    uint64_t taken;
    uint64_t dropped;

    if (s->d != NULL) {
        tf__dispatch_end(s->d);
        tf__dispatch_free(s->d);
        s->d = NULL;
    }
    left = frames_live(s);
    taken = s->taken;
    dropped = s->dropped;
    sim_release(s);
    /* Each reference taken was dropped, exactly once. */
    if (left != 0)
        fail_msg("%zu frame references never dropped", left);
    assert_int_equal(taken, dropped);
}

static int
release_left(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < MAX_LIVE; i++)
        if (live[i] != NULL)
            sim_release(live[i]);
    return 0;
}

/* ---------------------------------------------------- reading the record */

static size_t
count_calls(const struct sim *s, int kind, int w)
{
    size_t n = 0;
    size_t i;

    for (i = 0; i < s->ncalls; i++)
        if (s->calls[i].kind == kind && (w == 0 || s->calls[i].w == w))
            n++;
    return n;
}

/* The index of call KIND of task ID (for send_work: the Nth chunk that
 * holds it, from 0), or SIZE_MAX. */
static size_t
find_call(const struct sim *s, int kind, uint64_t id, unsigned nth)
{
    size_t i;

    for (i = 0; i < s->ncalls; i++) {
        const struct call *c = &s->calls[i];
        bool has = kind == CALL_SEND_WORK ? id >= c->id && id < c->id + c->n
                                          : c->id == id;

        if (c->kind == kind && has && nth-- == 0)
            return i;
    }
    return SIZE_MAX;
}

static const struct call *
emit_of(const struct sim *s, uint64_t id)
{
    size_t i = find_call(s, CALL_EMIT, id, 0);

    if (i == SIZE_MAX)
        fail_msg("task %llu was never emitted", (unsigned long long)id);
    return &s->calls[i];
}

/* The Nth chunk that held task ID. This relies on a chunk's tasks being
 * consecutive ids, which holds for every batch here but a growing one. */
static const struct call *
send_of(const struct sim *s, uint64_t id, unsigned nth)
{
    size_t i = find_call(s, CALL_SEND_WORK, id, nth);

    if (i == SIZE_MAX)
        fail_msg("task %llu was not sent %u times", (unsigned long long)id,
                 nth + 1);
    return &s->calls[i];
}

static void
assert_each_sent_and_emitted_once(const struct sim *s)
{
    uint64_t i;

    for (i = 1; i <= s->ntasks; i++)
        if (s->t[i].sent != 1 || s->t[i].emitted != 1)
            fail_msg("task %llu of %llu was sent %u times and emitted %u",
                     (unsigned long long)i, (unsigned long long)s->ntasks,
                     s->t[i].sent, s->t[i].emitted);
}

/* Every task emitted once, in id order. */
static void
assert_emitted_in_id_order(const struct sim *s)
{
    uint64_t next = 1;
    size_t i;

    for (i = 0; i < s->ncalls; i++) {
        if (s->calls[i].kind != CALL_EMIT)
            continue;
        if (s->calls[i].id != next)
            fail_msg("task %llu emitted where task %llu was due",
                     (unsigned long long)s->calls[i].id,
                     (unsigned long long)next);
        next++;
    }
    assert_int_equal(next - 1, s->ntasks);
}

/* The tasks emitted, in id order (a batch that passes over tasks). */
static void
assert_emitted_ascending(const struct sim *s)
{
    uint64_t last = 0;
    size_t i;

    for (i = 0; i < s->ncalls; i++) {
        if (s->calls[i].kind != CALL_EMIT)
            continue;
        if (s->calls[i].id <= last)
            fail_msg("task %llu emitted after task %llu",
                     (unsigned long long)s->calls[i].id,
                     (unsigned long long)last);
        last = s->calls[i].id;
    }
}

/* Whether a line of the log at LEVEL says PART. */
static bool
logged(const struct sim *s, int level, const char *part)
{
    size_t i;

    for (i = 0; i < s->nlogs; i++)
        if (s->logs[i].level == level && strstr(s->logs[i].msg, part) != NULL)
            return true;
    return false;
}

/* ----------------------------------------------------------- emitting */

static void
test_ordered_batch_emits_every_task_once_in_id_order(void **state)
{
    struct sim *s = sim_new(4, 500, 0);
    uint64_t i;

    (void)state;
    for (i = 1; i <= 500; i++)
        s->t[i].dur_us = 100 + (i * 7919) % 5000;
    sim_begin(s);
    sim_run(s);
    assert_each_sent_and_emitted_once(s);
    assert_emitted_in_id_order(s);
    sim_free(s);
}

static void
test_unordered_batch_emits_every_task_once_as_it_completes(void **state)
{
    struct sim *s = sim_new(4, 500, 0);
    bool inverted = false;
    size_t k = 0;
    size_t i;

    (void)state;
    for (i = 1; i <= 500; i++)
        s->t[i].dur_us = 100 + (i * 7919) % 5000;
    s->batch.unordered = true;
    sim_begin(s);
    sim_run(s);
    assert_each_sent_and_emitted_once(s);
    /* In the order the results came, which is not the order of the ids. */
    assert_int_equal(s->norder, 500);
    for (i = 0; i < s->ncalls; i++) {
        if (s->calls[i].kind != CALL_EMIT)
            continue;
        assert_true(k < s->norder);
        if (s->calls[i].id != s->order[k])
            fail_msg("emit %zu is task %llu, completion %zu task %llu", k,
                     (unsigned long long)s->calls[i].id, k,
                     (unsigned long long)s->order[k]);
        if (k > 0 && s->order[k] < s->order[k - 1])
            inverted = true;
        k++;
    }
    assert_int_equal(k, 500);
    assert_true(inverted);
    sim_free(s);
}

/* ------------------------------------------------------------ retries */

static void
test_failed_task_runs_again_on_another_idle_worker(void **state)
{
    struct sim *s = sim_new(2, 2, 1000);
    const struct call *first, *again, *e;
    size_t drop, resend;

    (void)state;
    /* Worker 1 ends task 1 at once and is idle when task 2 fails on
     * worker 2. */
    s->cfg.chunk = 1;
    s->cfg.retries = 2;
    s->t[2].dur_us = 5000;
    s->t[2].outcome[0] = 1;
    s->t[2].outcome[1] = 0;
    s->t[2].nout = 2;
    s->t[2].out_len = 100;
    sim_begin(s);
    sim_run(s);
    first = send_of(s, 2, 0);
    again = send_of(s, 2, 1);
    assert_int_equal(first->w, 2);
    assert_int_equal(again->w, 1);
    assert_int_equal(again->n, 1);
    /* At once: when the failure came. */
    assert_int_equal(again->now, first->end_us);
    assert_int_equal(s->t[2].sent, 2);
    assert_int_equal(s->t[2].emitted, 1);
    /* Only the last attempt is emitted, with its output. */
    e = emit_of(s, 2);
    assert_int_equal(e->status, 0);
    assert_int_equal(e->attempts, 1);
    assert_int_equal(e->w, 1);
    assert_ptr_equal(e->out, out_bytes + 1);
    assert_int_equal(e->out_len, 100);
    assert_int_equal(count_calls(s, CALL_EMIT, 0), 2);
    /* The failed attempt's output was let go before it ran again. */
    drop = find_call(s, CALL_DROP, 2, 0);
    resend = (size_t)(again - s->calls);
    assert_true(drop < resend);
    assert_int_not_equal(s->calls[drop].frame, 0);
    assert_int_not_equal(s->calls[drop].frame, e->frame);
    sim_free(s);
}

static void
test_failed_task_waits_for_another_worker_not_the_one_it_failed_on(void **state)
{
    struct sim *s = sim_new(2, 2, 1000);
    const struct call *again;

    (void)state;
    /* Task 2 fails on worker 2, which is idle then; worker 1 is busy with
     * task 1 for 50 ms. */
    s->cfg.chunk = 1;
    s->cfg.retries = 1;
    s->t[1].dur_us = 50000;
    s->t[2].outcome[0] = 1;
    s->t[2].outcome[1] = 0;
    s->t[2].nout = 2;
    sim_begin(s);
    sim_run(s);
    again = send_of(s, 2, 1);
    assert_int_equal(again->w, 1);
    assert_int_equal(again->now, send_of(s, 1, 0)->end_us);
    assert_int_equal(count_calls(s, CALL_SEND_WORK, 2), 1);
    assert_int_equal(emit_of(s, 2)->attempts, 1);
    assert_int_equal(emit_of(s, 2)->status, 0);
    sim_free(s);
}

static void
test_always_failing_task_is_emitted_once_with_its_last_status(void **state)
{
    struct sim *s = sim_new(3, 6, 1000);
    struct tf__dispatch_state st;
    const struct call *e;
    unsigned k;

    (void)state;
    s->cfg.chunk = 1;
    s->cfg.retries = 2;
    s->t[3].outcome[0] = 1;
    s->t[3].outcome[1] = 2;
    s->t[3].outcome[2] = 3;
    s->t[3].nout = 3;
    sim_begin(s);
    sim_run(s);
    assert_int_equal(s->t[3].sent, 3);
    for (k = 1; k < 3; k++)
        assert_int_not_equal(send_of(s, 3, k)->w, send_of(s, 3, k - 1)->w);
    e = emit_of(s, 3);
    assert_int_equal(e->status, 3);
    assert_int_equal(e->attempts, 2);
    assert_ptr_equal(e->out, out_bytes + 2);
    assert_emitted_in_id_order(s);
    tf__dispatch_state(s->d, &st);
    assert_int_equal(st.emitted, 6);
    assert_int_equal(st.emitted_failed, 1);
    assert_int_equal(st.finished_failed, 1);
    /* Two failed attempts' outputs dropped, then the last one's once
     * emitted. */
    assert_true(find_call(s, CALL_DROP, 3, 1) <
                (size_t)(send_of(s, 3, 2) - s->calls));
    sim_free(s);
}

/* ------------------------------------------------------- lost workers */

static void
test_task_that_kills_its_worker_alone_three_times_fails_as_lost(void **state)
{
    struct sim *s = sim_new(3, 12, 1000);
    const struct call *e;
    unsigned alone = 0;
    unsigned k;
    uint64_t id;

    (void)state;
    /* Chunks of 4: worker 2 holds tasks 5 to 8, and task 6 kills it. */
    s->cfg.chunk = 4;
    s->t[6].outcome[0] = KILL;
    s->t[6].nout = 1;
    sim_begin(s);
    sim_run(s);
    assert_int_equal(send_of(s, 6, 0)->w, 2);
    assert_int_equal(send_of(s, 6, 0)->n, 4);
    /* Once in its chunk, then alone three times. */
    assert_int_equal(s->t[6].sent, 4);
    for (k = 1; k < 4; k++)
        if (send_of(s, 6, k)->n == 1)
            alone++;
    assert_int_equal(alone, 3);
    assert_int_equal(s->deaths, 4);
    assert_int_equal(s->respawns, 4);
    assert_int_equal(count_calls(s, CALL_RESPAWN, 0), 4);
    e = emit_of(s, 6);
    assert_true(e->lost);
    assert_int_equal(e->status, -1);
    assert_int_equal(e->signal, SIGSEGV);
    assert_true(e->err_len > 0);
    /* The other tasks of the dead worker's chunk went again, one at a
     * time, and succeeded. */
    for (id = 5; id <= 8; id++) {
        if (id == 6)
            continue;
        assert_true(s->t[id].sent >= 2);
        for (k = 1; k < s->t[id].sent; k++)
            assert_int_equal(send_of(s, id, k)->n, 1);
        assert_false(emit_of(s, id)->lost);
        assert_int_equal(emit_of(s, id)->status, 0);
    }
    for (id = 1; id <= 12; id++)
        assert_int_equal(s->t[id].emitted, 1);
    assert_emitted_in_id_order(s);
    assert_true(logged(s, TF_LOG_WARN, "worker 2 died"));
    sim_free(s);
}

static void
test_without_respawn_a_lost_workers_work_goes_to_the_busy_others(void **state)
{
    struct sim *s = sim_new(3, 30, 1000);
    struct tf__dispatch_state st;
    uint64_t id;

    (void)state;
    /* Worker 2 holds tasks 3 and 4; task 4 kills it once. */
    s->no_respawn = true;
    s->cfg.chunk = 2;
    s->t[4].outcome[0] = KILL;
    s->t[4].outcome[1] = 0;
    s->t[4].nout = 2;
    sim_begin(s);
    sim_run(s);
    assert_int_equal(s->deaths, 1);
    assert_int_equal(s->respawns, 0);
    for (id = 3; id <= 4; id++) {
        assert_int_equal(s->t[id].sent, 2);
        assert_int_equal(send_of(s, id, 1)->n, 1);
        assert_int_not_equal(send_of(s, id, 1)->w, 2);
        assert_int_equal(emit_of(s, id)->status, 0);
    }
    for (id = 1; id <= 30; id++)
        assert_int_equal(s->t[id].emitted, 1);
    assert_emitted_in_id_order(s);
    tf__dispatch_state(s->d, &st);
    assert_int_equal(st.active, 2);
    assert_true(logged(s, TF_LOG_WARN, "worker 2"));
    assert_true(logged(s, TF_LOG_WARN, " is lost (at "));
    /* The one line that names the workers lost for good, and when. */
    {
        char line[128];
        char tiny[16];
        size_t len = 0;
        const char *host = tf__dispatch_host(s->d, 2, &len);
        char want[64];

        snprintf(want, sizeof(want), "worker 2%s%.*s at ",
                 len > 0 ? " on " : "", (int)len, host);
        assert_int_equal(tf__dispatch_lost_line(s->d, line, sizeof(line)),
                         1);
        assert_memory_equal(line, want, strlen(want));
        /* HH:MM:SS after it, and nothing else. */
        assert_int_equal(strlen(line), strlen(want) + 8);
        assert_true(line[strlen(want) + 2] == ':');
        /* Cut to fit, it ends with an ellipsis. */
        assert_int_equal(tf__dispatch_lost_line(s->d, tiny, sizeof(tiny)),
                         1);
        assert_string_equal(tiny + sizeof(tiny) - 4, "...");
    }
    sim_free(s);
}

static void
test_without_respawn_a_lost_workers_work_goes_to_an_idle_worker(void **state)
{
    struct sim *s = sim_new(2, 2, 1000);

    (void)state;
    /* Worker 1 ends task 1 and waits, the input at its end; then task 2
     * kills worker 2. Only worker 1 is left to run it. */
    s->no_respawn = true;
    s->cfg.chunk = 1;
    s->t[2].dur_us = 5000;
    s->t[2].outcome[0] = KILL;
    s->t[2].outcome[1] = 0;
    s->t[2].nout = 2;
    sim_begin(s);
    sim_run(s);
    assert_int_equal(s->deaths, 1);
    assert_int_equal(s->t[2].sent, 2);
    assert_int_equal(send_of(s, 2, 1)->w, 1);
    assert_int_equal(emit_of(s, 2)->status, 0);
    assert_emitted_in_id_order(s);
    sim_free(s);
}

/* ------------------------------------------------------------ hold cap */

static void
test_ordered_batch_holds_work_past_the_hold_cap_until_task_1_ends(void **state)
{
    struct sim *s = sim_new(2, 40, 1000);
    uint64_t end1;
    uint64_t before = 0;
    uint64_t last_before = 0;
    bool resumed = false;
    uint64_t id;
    size_t i;

    (void)state;
    /* Task 1 runs 10 s; the others return 4 MiB each, so that 16 held
     * results pass the 64 MiB cap. */
    s->cfg.chunk = 1;
    s->t[1].dur_us = 10000000;
    for (id = 2; id <= 40; id++)
        s->t[id].out_len = BIG_OUT;
    sim_begin(s);
    sim_run(s);
    end1 = s->t[1].done_us;
    assert_int_equal(emit_of(s, 1)->now, end1);
    assert_true(s->cap_hit_us != 0 && s->cap_hit_us < end1);
    for (i = 0; i < s->ncalls; i++) {
        const struct call *c = &s->calls[i];

        if (c->kind != CALL_SEND_WORK)
            continue;
        if (c->now < end1) {
            /* Sent only while what is held is under the cap... */
            if (c->held >= TF__HOLD_CAP)
                fail_msg("task %llu sent with %zu bytes held",
                         (unsigned long long)c->id, c->held);
            before += c->n;
            last_before = c->now;
        } else if (c->now == end1 && c->w == 2) {
            resumed = true; /* the waiting worker, served at once */
        }
    }
    /* ... so none between the cap and the end of task 1: besides task 1,
     * the 16 results that reach the cap went out, and what worker 2 held
     * then (up to two chunks of one); the 21 or more after them waited. */
    assert_true(last_before < s->cap_hit_us);
    assert_true(before >= 1 + 16);
    assert_true(before <= 1 + 16 + MAX_HELD);
    assert_true(resumed);
    assert_each_sent_and_emitted_once(s);
    assert_emitted_in_id_order(s);
    sim_free(s);
}

static void
test_unordered_batch_is_not_held_back_by_a_slow_first_task(void **state)
{
    struct sim *s = sim_new(2, 40, 1000);
    uint64_t id;

    (void)state;
    s->batch.unordered = true;
    s->cfg.chunk = 1;
    s->t[1].dur_us = 10000000;
    for (id = 2; id <= 40; id++)
        s->t[id].out_len = BIG_OUT;
    sim_begin(s);
    sim_run(s);
    for (id = 2; id <= 40; id++)
        assert_true(emit_of(s, id)->now < s->t[1].done_us);
    assert_int_equal(s->cap_hit_us, 0);
    assert_each_sent_and_emitted_once(s);
    sim_free(s);
}

/* ------------------------------------------------------------ deadline */

static void
test_deadline_sends_no_task_expected_to_end_past_it_less_margin(void **state)
{
    struct sim *s = sim_new(2, 40, 10000);
    struct tf__dispatch_state st;
    uint64_t sent = 0;
    uint64_t id;

    (void)state;
    /* 400 ms of work for two workers, a deadline 100 ms away with 20 ms
     * of margin. sim_send_work() checks each chunk against it. */
    for (id = 1; id <= 40; id++)
        s->t[id].est_us = 10000;
    s->batch.deadline_us = T0 + 100000;
    s->batch.margin_us = 20000;
    sim_begin(s);
    sim_run(s);
    tf__dispatch_state(s->d, &st);
    assert_true(st.deadline_hit);
    assert_non_null(strstr(st.deadline_why, "deadline"));
    assert_int_equal(st.pending, 0);
    assert_false(st.input_left);
    for (id = 1; id <= 40; id++) {
        assert_true(s->t[id].sent <= 1);
        /* What went out ended and was passed on; the rest never. */
        assert_int_equal(s->t[id].emitted, s->t[id].sent);
        sent += s->t[id].sent;
    }
    assert_true(sent >= 8);
    assert_true(sent < 40);
    assert_int_equal(st.emitted, sent);
    /* Work ended before the deadline itself: the margin covers what the
     * estimates leave out. */
    assert_true(T0 + s->makespan_us <= s->batch.deadline_us);
    sim_free(s);
}

/* ---------------------------------------------------------- recycling */

static void
test_worker_past_its_share_is_stopped_and_a_new_one_started(void **state)
{
    struct sim *s = sim_new(2, 20, 1000);
    bool worked_again = false;
    size_t i;
    size_t j;
    int w;

    (void)state;
    /* sim_send_work() checks no worker is sent more than 3 tasks. */
    s->cfg.max_tasks_per_worker = 3;
    sim_begin(s);
    sim_run(s);
    assert_true(count_calls(s, CALL_SEND_STOP, 0) >= 5);
    assert_int_equal(count_calls(s, CALL_SEND_RESET, 0), 0);
    /* Each one stopped was recycling when it ended, and was replaced. */
    assert_int_equal(s->ends, count_calls(s, CALL_SEND_STOP, 0));
    assert_int_equal(s->ends_recycling, s->ends);
    assert_int_equal(s->respawns, s->ends);
    /* A new worker's hello got it work. */
    for (i = 0; i < s->ncalls; i++) {
        if (s->calls[i].kind != CALL_RESPAWN)
            continue;
        for (j = i; j < s->ncalls; j++)
            if (s->calls[j].kind == CALL_SEND_WORK &&
                s->calls[j].w == s->calls[i].w &&
                s->calls[j].now == s->calls[i].now + SPAWN_US)
                worked_again = true;
    }
    assert_true(worked_again);
    for (w = 1; w <= 2; w++)
        assert_int_not_equal(tf__dispatch_wstate(s->d, w), TF__W_RECYCLING);
    assert_each_sent_and_emitted_once(s);
    assert_emitted_in_id_order(s);
    sim_free(s);
}

static void
test_worker_past_its_share_is_reset_where_none_can_be_started(void **state)
{
    struct sim *s = sim_new(2, 20, 1000);

    (void)state;
    s->no_respawn = true;
    s->cfg.max_tasks_per_worker = 3;
    sim_begin(s);
    sim_run(s);
    assert_true(count_calls(s, CALL_SEND_RESET, 0) >= 5);
    assert_int_equal(count_calls(s, CALL_SEND_STOP, 0), 0);
    assert_int_equal(s->respawns, 0);
    assert_each_sent_and_emitted_once(s);
    assert_emitted_in_id_order(s);
    sim_free(s);
}

/* --------------------------------------------------------------- halt */

static void
test_halt_acts_on_a_failure_completing_behind_a_slow_first_task(void **state)
{
    struct sim *s = sim_new(3, 30, 1000);
    struct tf__dispatch_state st;
    uint64_t sent = 0;
    uint64_t id;

    (void)state;
    /* sim_send_work() checks nothing is sent once halted. */
    s->cfg.chunk = 1;
    s->t[1].dur_us = 1000000;
    s->t[3].outcome[0] = 1;
    s->t[3].nout = 1;
    s->halt.count = 1; /* --halt soon,fail=1 */
    s->batch.halt = &s->halt;
    sim_begin(s);
    sim_run(s);
    /* Halted as task 3 ended, while task 1 still ran... */
    assert_int_equal(s->halted_us, s->t[3].done_us);
    assert_true(s->halted_us < s->t[1].done_us);
    /* ... and before task 3 was passed on, in its turn. */
    assert_true(emit_of(s, 3)->halted);
    assert_int_equal(emit_of(s, 3)->now, s->t[1].done_us);
    tf__dispatch_state(s->d, &st);
    assert_true(st.halted);
    assert_non_null(strstr(st.halt_why, "1 task failed"));
    for (id = 1; id <= 30; id++) {
        assert_int_equal(s->t[id].emitted, s->t[id].sent);
        sent += s->t[id].sent;
    }
    assert_true(sent < 30);
    assert_int_equal(st.emitted_failed, 1);
    assert_emitted_ascending(s);
    sim_free(s);
}

/* --------------------------------------------------------------- keep */

static void
test_held_result_is_kept_once_it_waited_keep_after_us(void **state)
{
    struct sim *s = sim_new(2, 2, 5000000);
    struct tf__dispatch_state st;
    uint64_t done2;
    size_t kept;

    (void)state;
    /* Task 2 ends 5 s before task 1, its turn. */
    s->cfg.chunk = 1;
    s->t[2].dur_us = 10000;
    s->batch.keep = true;
    s->batch.keep_after_us = 1000000;
    sim_begin(s);
    sim_advance(s, T0 + 20000);
    done2 = s->t[2].done_us;
    assert_true(done2 != 0);
    tf__dispatch_state(s->d, &st);
    assert_int_equal(st.next_due_us, done2 + 1000000);
    sim_advance(s, done2 + 500000);
    assert_int_equal(count_calls(s, CALL_KEEP, 0), 0);
    sim_advance(s, done2 + 999999);
    assert_int_equal(count_calls(s, CALL_KEEP, 0), 0);
    sim_advance(s, done2 + 1000000);
    kept = find_call(s, CALL_KEEP, 2, 0);
    assert_int_not_equal(kept, SIZE_MAX);
    assert_int_equal(s->calls[kept].now, done2 + 1000000);
    assert_int_equal(s->calls[kept].status, 0);
    tf__dispatch_state(s->d, &st);
    assert_int_equal(st.next_due_us, UINT64_MAX);
    assert_int_equal(count_calls(s, CALL_EMIT, 0), 0);
    sim_run(s);
    /* Then both in their turn; task 2 says it was kept. */
    assert_emitted_in_id_order(s);
    assert_false(emit_of(s, 1)->recorded);
    assert_true(emit_of(s, 2)->recorded);
    assert_int_equal(s->t[1].kept, 0);
    assert_int_equal(s->t[2].kept, 1);
    sim_free(s);
}

static void
test_held_result_is_found_by_the_loop_when_due(void **state)
{
    struct sim *s = sim_new(2, 2, 5000000);
    size_t kept;

    (void)state;
    /* The master sleeps until next_due_us; sim_run() wakes up then. */
    s->cfg.chunk = 1;
    s->t[2].dur_us = 10000;
    s->batch.keep = true;
    s->batch.keep_after_us = 1000000;
    sim_begin(s);
    sim_run(s);
    kept = find_call(s, CALL_KEEP, 2, 0);
    assert_int_not_equal(kept, SIZE_MAX);
    assert_int_equal(s->calls[kept].now, s->t[2].done_us + 1000000);
    assert_true(emit_of(s, 2)->recorded);
    sim_free(s);
}

static void
test_keep_after_zero_keeps_at_once_unless_next_in_turn(void **state)
{
    struct sim *s = sim_new(2, 2, 5000000);
    size_t kept;

    (void)state;
    s->cfg.chunk = 1;
    s->t[2].dur_us = 10000;
    s->batch.keep = true;
    s->batch.keep_after_us = 0;
    sim_begin(s);
    sim_run(s);
    kept = find_call(s, CALL_KEEP, 2, 0);
    assert_int_not_equal(kept, SIZE_MAX);
    assert_int_equal(s->calls[kept].now, s->t[2].done_us);
    /* Task 1 was next in turn: passed on, never kept. */
    assert_int_equal(find_call(s, CALL_KEEP, 1, 0), SIZE_MAX);
    assert_false(emit_of(s, 1)->recorded);
    assert_true(emit_of(s, 2)->recorded);
    assert_true(kept < find_call(s, CALL_EMIT, 2, 0));
    assert_emitted_in_id_order(s);
    sim_free(s);
}

/* ------------------------------------------------------------ timeout */

static void
test_timeout_pct_sends_every_worker_the_limit_after_3_successes(void **state)
{
    struct sim *s = sim_new(4, 9, 40000);
    size_t i;
    int w;

    (void)state;
    /* Tasks 1 to 3 end first, after 10, 20 and 30 ms; worker 4 says hello
     * late. */
    s->cfg.chunk = 1;
    s->cfg.timeout_pct = 200;
    s->t[1].dur_us = 10000;
    s->t[2].dur_us = 20000;
    s->t[3].dur_us = 30000;
    s->w[4].hello_us = T0 + 100000;
    sim_begin(s);
    sim_run(s);
    /* 200% of the median, 20 ms, to the three workers up, when the third
     * success came. */
    assert_int_equal(count_calls(s, CALL_SEND_LIMIT, 0), 4);
    for (i = 0; i < s->ncalls; i++) {
        const struct call *c = &s->calls[i];

        if (c->kind != CALL_SEND_LIMIT)
            continue;
        assert_int_equal(c->limit_us, 40000);
        if (c->w == 4)
            assert_int_equal(c->now, T0 + 100000); /* at its hello */
        else
            assert_int_equal(c->now, s->t[3].done_us);
    }
    for (w = 1; w <= 4; w++)
        assert_int_equal(count_calls(s, CALL_SEND_LIMIT, w), 1);
    assert_int_equal(tf__dispatch_limit(s->d), 40000);
    assert_each_sent_and_emitted_once(s);
    sim_free(s);
}

static void
test_timeout_sends_a_fixed_limit_at_each_hello(void **state)
{
    struct sim *s = sim_new(2, 4, 1000);

    (void)state;
    s->cfg.timeout_us = 3000000;
    sim_begin(s);
    sim_run(s);
    assert_int_equal(count_calls(s, CALL_SEND_LIMIT, 1), 1);
    assert_int_equal(count_calls(s, CALL_SEND_LIMIT, 2), 1);
    assert_int_equal(s->calls[0].kind, CALL_SEND_LIMIT);
    assert_int_equal(s->calls[0].limit_us, 3000000);
    assert_int_equal(tf__dispatch_limit(s->d), 3000000);
    sim_free(s);
}

/* ----------------------------------------------------- protocol errors */

/* Hands the dispatcher a result of task ID from worker W, with an output
 * the harness does not count; returns the code, and checks a refused
 * output is not taken. */
static int
stray_result(struct sim *s, int w, uint64_t id, struct tf_error *err)
{
    static char frame;
    struct tf__dresult r;
    struct tf__dout o;
    int rc;

    memset(&r, 0, sizeof(r));
    r.id = id;
    memset(&o, 0, sizeof(o));
    o.frame = &frame;
    o.out = out_bytes;
    o.out_len = 10;
    tf_error_init(err);
    rc = tf__dispatch_result(s->d, w, &r, &o, s->now, err);
    if (rc < 0)
        assert_ptr_equal(o.frame, &frame);
    return rc;
}

static void
test_result_out_of_turn_is_eproto_and_its_output_not_taken(void **state)
{
    struct sim *s = sim_new(4, 6, 1000);
    struct tf_error err;

    (void)state;
    /* Workers 1 and 2 hold tasks 1-3 and 4-6; worker 3 holds nothing;
     * worker 4 has not said hello. */
    s->cfg.chunk = 3;
    s->w[4].hello_us = T0 + 1000000;
    sim_begin(s);
    sim_advance(s, T0);
    assert_int_equal(tf__dispatch_inflight(s->d, 1), 1);
    assert_int_equal(tf__dispatch_inflight(s->d, 2), 1);
    assert_int_equal(tf__dispatch_inflight(s->d, 3), 0);
    /* Out of order. */
    assert_int_equal(stray_result(s, 1, 2, &err), TF_EPROTO);
    assert_non_null(strstr(err.msg, "task 2 where task 1 was expected"));
    /* Another worker's task, and one of no worker. */
    assert_int_equal(stray_result(s, 1, 4, &err), TF_EPROTO);
    assert_int_equal(stray_result(s, 1, 99, &err), TF_EPROTO);
    /* A worker that holds nothing, or has not said hello. */
    assert_int_equal(stray_result(s, 3, 1, &err), TF_EPROTO);
    assert_non_null(strstr(err.msg, "does not hold"));
    assert_int_equal(stray_result(s, 4, 1, &err), TF_EPROTO);
    /* A second hello. */
    assert_int_equal(tf__dispatch_hello(s->d, 1, "x", 1, s->now, &err),
                     TF_EPROTO);
    /* Nothing of that changed the batch. */
    assert_int_equal(tf__dispatch_inflight(s->d, 1), 1);
    sim_run(s);
    assert_each_sent_and_emitted_once(s);
    assert_emitted_in_id_order(s);
    sim_free(s);
}

/* ------------------------------------------------------------ growing */

static void
test_growing_batch_runs_the_tasks_its_tasks_submit(void **state)
{
    struct sim *s = sim_new(2, 3, 1000);
    size_t sub;

    (void)state;
    s->batch.grows = true;
    s->t[2].submit[0] = "sub a";
    s->t[2].submit[1] = "sub b";
    sim_begin(s);
    sim_run(s);
    assert_int_equal(s->ntasks, 5);
    assert_int_equal(count_calls(s, CALL_SUBMIT, 0), 2);
    sub = find_call(s, CALL_SUBMIT, 2, 0);
    assert_int_not_equal(sub, SIZE_MAX);
    assert_memory_equal(s->t[4].text, "sub a", 5);
    assert_memory_equal(s->t[5].text, "sub b", 5);
    /* sim_send_work() checks the text each task went out with. */
    assert_each_sent_and_emitted_once(s);
    assert_emitted_in_id_order(s);
    sim_free(s);
}

static void
test_batch_that_does_not_grow_refuses_submitted_tasks(void **state)
{
    struct sim *s = sim_new(1, 3, 1000);
    struct tf_error err;

    (void)state;
    sim_begin(s);
    sim_advance(s, T0);
    assert_int_equal(tf__dispatch_inflight(s->d, 1), 1);
    tf_error_init(&err);
    assert_int_equal(tf__dispatch_submitted(s->d, 1, 1, "x", 1, &err),
                     TF_EUSAGE);
    assert_int_equal(count_calls(s, CALL_SUBMIT, 0), 0);
    sim_run(s);
    assert_int_equal(s->ntasks, 3);
    assert_each_sent_and_emitted_once(s);
    sim_free(s);
}

/* --------------------------------------------------------------- stop */

static void
test_stop_sends_nothing_more_and_emit_arrived_passes_the_gaps(void **state)
{
    struct sim *s = sim_new(3, 20, 1000);
    struct tf__dispatch_state st;
    struct tf_error err;
    uint64_t arrived = 0;
    uint64_t id;

    (void)state;
    /* Task 1 runs 10 s; the others end quickly and wait for it. */
    s->cfg.chunk = 1;
    s->t[1].dur_us = 10000000;
    sim_begin(s);
    sim_advance(s, T0 + 3000);
    assert_int_equal(count_calls(s, CALL_EMIT, 0), 0);
    tf__dispatch_stop(s->d);
    s->stopped = true; /* sim_send_work() fails from now on */
    sim_advance(s, T0 + 100000);
    tf__dispatch_state(s->d, &st);
    assert_int_equal(st.pending, 0);
    assert_false(st.input_left);
    assert_int_equal(st.inflight, 1); /* task 1 */
    assert_int_equal(count_calls(s, CALL_EMIT, 0), 0);
    tf_error_init(&err);
    check_rc(tf__dispatch_emit_arrived(s->d, &err), &err,
             "tf__dispatch_emit_arrived");
    /* Every task that ended, in task order, past task 1. */
    for (id = 1; id <= 20; id++) {
        assert_int_equal(s->t[id].emitted, s->t[id].runs);
        arrived += s->t[id].runs;
    }
    assert_int_equal(s->t[1].emitted, 0);
    assert_true(arrived >= 5);
    assert_true(arrived < 19);
    assert_int_equal(count_calls(s, CALL_EMIT, 0), arrived);
    assert_emitted_ascending(s);
    sim_free(s);
}

static void
test_stop_sends_no_retry_of_a_task_that_fails_after_it(void **state)
{
    struct sim *s = sim_new(3, 3, 1000);

    (void)state;
    /* Task 2 fails after the stop, while worker 3 is idle. */
    s->cfg.chunk = 1;
    s->cfg.retries = 1;
    s->t[1].dur_us = 10000000;
    s->t[2].dur_us = 5000;
    s->t[2].outcome[0] = 1;
    s->t[2].outcome[1] = 0;
    s->t[2].nout = 2;
    sim_begin(s);
    sim_advance(s, T0 + 2000);
    tf__dispatch_stop(s->d);
    s->stopped = true;
    sim_advance(s, T0 + 20000000);
    assert_int_equal(s->t[2].sent, 1);
    sim_free(s);
}

static void
test_stopped_batch_does_not_replace_a_worker_that_dies(void **state)
{
    struct sim *s = sim_new(2, 2, 1000);
    struct tf__dispatch_state st;

    (void)state;
    s->cfg.chunk = 1;
    s->t[2].dur_us = 5000;
    s->t[2].outcome[0] = KILL;
    s->t[2].nout = 1;
    sim_begin(s);
    sim_advance(s, T0 + 2000);
    tf__dispatch_stop(s->d);
    s->stopped = true;
    sim_advance(s, T0 + 100000);
    assert_int_equal(s->deaths, 1);
    assert_int_equal(s->respawns, 0);
    tf__dispatch_state(s->d, &st);
    assert_int_equal(st.active, 1);
    assert_int_equal(tf__dispatch_wstate(s->d, 2), TF__W_GONE);
    sim_free(s);
}

/* ------------------------------------------------- simulated workloads */

/*
 * Workloads that judge the chunk policy (schedule.h) as the dispatcher
 * applies it: each worker pays the given overhead a chunk besides its tasks
 * and holds what the dispatcher gives it, up to its prefetch depth. The
 * makespan runs from T0 to the end of the last chunk.
 */

/* A farm of NWORKERS workers over tasks of DUR_US[0..NTASKS), in chunks of
 * FIXED (0: auto). */
static struct sim *
workload(const uint64_t *dur_us, uint64_t ntasks, int nworkers, uint64_t fixed,
         uint64_t overhead_us)
{
    struct sim *s = sim_new(nworkers, ntasks, 0);
    uint64_t i;

    for (i = 0; i < ntasks; i++)
        s->t[i + 1].dur_us = dur_us[i];
    s->cfg.chunk = fixed;
    s->overhead_us = overhead_us;
    s->lean = true;
    sim_begin(s);
    sim_run(s);
    assert_each_sent_and_emitted_once(s);
    return s;
}

/* total / workers + longest task: no schedule of these tasks in this order
 * needs to be worse. */
static uint64_t
ideal_us(const uint64_t *dur_us, uint64_t ntasks, int nworkers)
{
    uint64_t total = 0;
    uint64_t longest = 0;
    uint64_t i;

    for (i = 0; i < ntasks; i++) {
        total += dur_us[i];
        if (dur_us[i] > longest)
            longest = dur_us[i];
    }
    return total / (uint64_t)nworkers + longest;
}

/* The last chunk sent to worker W, or NULL. */
static const struct call *
last_chunk_of(const struct sim *s, int w)
{
    size_t i;

    for (i = s->ncalls; i > 0; i--)
        if (s->calls[i - 1].kind == CALL_SEND_WORK && s->calls[i - 1].w == w)
            return &s->calls[i - 1];
    return NULL;
}

static uint64_t *
uniform(uint64_t ntasks, uint64_t us)
{
    uint64_t *d = malloc(ntasks * sizeof(*d));
    uint64_t i;

    assert_non_null(d);
    for (i = 0; i < ntasks; i++)
        d[i] = us;
    return d;
}

static void
test_sim_sends_and_emits_every_task_once_for_any_policy(void **state)
{
    static const uint64_t fixed[] = {0, 1, 3, 7, 1000, 100000};
    static const int workers[] = {1, 2, 3, 4, 7, 16};
    static const uint64_t counts[] = {1, 2, 5, 99, 1000, 12345};
    uint64_t *d = malloc(12345 * sizeof(*d));
    uint64_t i;
    size_t f;
    size_t w;
    size_t c;

    (void)state;
    assert_non_null(d);
    for (i = 0; i < 12345; i++)
        d[i] = 50 + (i * 7919) % 3000;
    for (f = 0; f < 6; f++) {
        for (w = 0; w < 6; w++) {
            for (c = 0; c < 6; c++) {
                /* workload() checks each task went out and was passed on
                 * exactly once. */
                struct sim *s =
                    workload(d, counts[c], workers[w], fixed[f], 100);

                /* In id order, as the batch is ordered. */
                assert_int_equal(s->emitted_back, 0);
                sim_free(s);
            }
        }
    }
    free(d);
}

static void
test_sim_uniform_tasks_finish_within_ten_percent_of_ideal(void **state)
{
    static const int workers[] = {1, 4, 16, 64};
    const uint64_t ntasks = 100000;
    uint64_t *d = uniform(ntasks, 1000);
    size_t wi;

    (void)state;
    for (wi = 0; wi < 4; wi++) {
        uint64_t ideal = ideal_us(d, ntasks, workers[wi]);
        struct sim *s = workload(d, ntasks, workers[wi], 0, 200);

        if (s->makespan_us * 10 > ideal * 11)
            fail_msg("%d workers: makespan %llu us, ideal %llu us", workers[wi],
                     (unsigned long long)s->makespan_us,
                     (unsigned long long)ideal);
        /* Tighter still: a steady chunk lasts 20 ms and pays 0.2 ms of
         * overhead, 1%; the ramp and the tail may add another 1%. */
        if (s->makespan_us * 100 > ideal * 102)
            fail_msg("%d workers: makespan %llu us is over 2%% above the "
                     "ideal %llu us",
                     workers[wi], (unsigned long long)s->makespan_us,
                     (unsigned long long)ideal);
        sim_free(s);
    }
    free(d);
}

static void
test_sim_uniform_tasks_end_with_small_chunks_and_a_short_tail(void **state)
{
    static const int workers[] = {2, 4, 16};
    const uint64_t ntasks = 100000;
    uint64_t *d = uniform(ntasks, 1000);
    size_t wi;

    (void)state;
    for (wi = 0; wi < 3; wi++) {
        int nw = workers[wi];
        uint64_t first_done = UINT64_MAX;
        uint64_t largest = 0;
        const struct call *last = NULL;
        struct sim *s = workload(d, ntasks, nw, 0, 200);
        size_t i;
        int w;

        for (i = 0; i < s->ncalls; i++) {
            if (s->calls[i].kind != CALL_SEND_WORK)
                continue;
            if (s->calls[i].n > largest)
                largest = s->calls[i].n;
            last = &s->calls[i];
        }
        /* In steady state a chunk holds target / mean = 20 tasks. */
        assert_int_equal(largest, 20);
        for (w = 1; w <= nw; w++) {
            const struct call *c = last_chunk_of(s, w);

            assert_non_null(c);
            /* Each worker's last chunk is a tenth of the steady size or
             * less... */
            if (c->n > 2)
                fail_msg("%d workers: worker %d ends with %u tasks", nw, w,
                         c->n);
            if (c->end_us < first_done)
                first_done = c->end_us;
        }
        /* ... and the very last chunks hold one task... */
        assert_non_null(last);
        assert_int_equal(last->n, 1);
        /* ... and all workers finish within a quarter of a steady chunk
         * (20 ms) of each other. */
        if (T0 + s->makespan_us - first_done > 5000)
            fail_msg("%d workers: tail of %llu us", nw,
                     (unsigned long long)(T0 + s->makespan_us - first_done));
        sim_free(s);
    }
    free(d);
}

static void
test_sim_one_long_task_costs_no_more_than_itself(void **state)
{
    static const uint64_t where[] = {0, 1, 5000, 9990, 9999};
    const uint64_t ntasks = 10000;
    size_t k;

    (void)state;
    for (k = 0; k < 5; k++) {
        uint64_t *d = uniform(ntasks, 1000);
        uint64_t ideal;
        uint64_t rest;
        struct sim *s;

        d[where[k]] = 10000000; /* 10 s among 1 ms tasks */
        ideal = ideal_us(d, ntasks, 4);
        s = workload(d, ntasks, 4, 0, 200);
        if (s->makespan_us * 10 > ideal * 11)
            fail_msg("long task %llu: makespan %llu us, ideal %llu us",
                     (unsigned long long)where[k],
                     (unsigned long long)s->makespan_us,
                     (unsigned long long)ideal);
        /* The others finish the 9999 short tasks (10 s of work over 3
         * workers) while the long one runs, so the run ends soon after the
         * long task, however late in the input it comes: at most the work
         * ahead of it shared over 4 workers, then the long task and what
         * else its worker holds, two steady chunks (20 tasks each), plus
         * one chunk of slack. */
        rest = where[k] * 1000 / 4 + 10000000 + 3 * (20 * 1000 + 200);
        if (s->makespan_us > rest)
            fail_msg("long task %llu: makespan %llu us, bound %llu us",
                     (unsigned long long)where[k],
                     (unsigned long long)s->makespan_us,
                     (unsigned long long)rest);
        sim_free(s);
        free(d);
    }
}

static void
test_sim_mixed_durations_finish_within_ten_percent_of_ideal(void **state)
{
    const uint64_t ntasks = 50000;
    uint64_t *d = malloc(ntasks * sizeof(*d));
    uint64_t x = 0x9e3779b97f4a7c15u;
    uint64_t i;
    int nw;

    (void)state;
    assert_non_null(d);
    /* Mostly 0.1 to 5 ms, one in a hundred 50 to 500 ms. */
    for (i = 0; i < ntasks; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        d[i] = x % 100 == 0 ? 50000 + (x >> 8) % 450000 : 100 + (x >> 8) % 4900;
    }
    for (nw = 1; nw <= 32; nw *= 2) {
        uint64_t ideal = ideal_us(d, ntasks, nw);
        struct sim *s = workload(d, ntasks, nw, 0, 200);

        if (s->makespan_us * 10 > ideal * 11)
            fail_msg("%d workers: makespan %llu us, ideal %llu us", nw,
                     (unsigned long long)s->makespan_us,
                     (unsigned long long)ideal);
        sim_free(s);
    }
    free(d);
}

static void
test_sim_bound_tells_auto_from_chunks_of_one_or_huge_chunks(void **state)
{
    const uint64_t ntasks = 100000;
    uint64_t *d = uniform(ntasks, 1000);
    uint64_t ideal = ideal_us(d, ntasks, 4);
    struct sim *s;

    (void)state;
    /* The simulated overhead matters: one task a chunk pays it per task. */
    s = workload(d, ntasks, 4, 1, 200);
    assert_true(s->makespan_us * 10 > ideal * 11);
    sim_free(s);
    /* Huge fixed chunks leave workers idle at the end: 10 chunks of 10 s
     * over 4 workers take three rounds. */
    s = workload(d, ntasks, 4, 10000, 200);
    assert_true(s->makespan_us * 10 > ideal * 11);
    sim_free(s);
    s = workload(d, ntasks, 4, 0, 200);
    assert_true(s->makespan_us * 10 <= ideal * 11);
    sim_free(s);
    free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordered_batch_emits_every_task_once_in_id_order),
        cmocka_unit_test(
            test_unordered_batch_emits_every_task_once_as_it_completes),
        cmocka_unit_test(test_failed_task_runs_again_on_another_idle_worker),
        cmocka_unit_test(
            test_failed_task_waits_for_another_worker_not_the_one_it_failed_on),
        cmocka_unit_test(
            test_always_failing_task_is_emitted_once_with_its_last_status),
        cmocka_unit_test(
            test_task_that_kills_its_worker_alone_three_times_fails_as_lost),
        cmocka_unit_test(
            test_without_respawn_a_lost_workers_work_goes_to_the_busy_others),
        cmocka_unit_test(
            test_without_respawn_a_lost_workers_work_goes_to_an_idle_worker),
        cmocka_unit_test(
            test_ordered_batch_holds_work_past_the_hold_cap_until_task_1_ends),
        cmocka_unit_test(
            test_unordered_batch_is_not_held_back_by_a_slow_first_task),
        cmocka_unit_test(
            test_deadline_sends_no_task_expected_to_end_past_it_less_margin),
        cmocka_unit_test(
            test_worker_past_its_share_is_stopped_and_a_new_one_started),
        cmocka_unit_test(
            test_worker_past_its_share_is_reset_where_none_can_be_started),
        cmocka_unit_test(
            test_halt_acts_on_a_failure_completing_behind_a_slow_first_task),
        cmocka_unit_test(test_held_result_is_kept_once_it_waited_keep_after_us),
        cmocka_unit_test(test_held_result_is_found_by_the_loop_when_due),
        cmocka_unit_test(
            test_keep_after_zero_keeps_at_once_unless_next_in_turn),
        cmocka_unit_test(
            test_timeout_pct_sends_every_worker_the_limit_after_3_successes),
        cmocka_unit_test(test_timeout_sends_a_fixed_limit_at_each_hello),
        cmocka_unit_test(
            test_result_out_of_turn_is_eproto_and_its_output_not_taken),
        cmocka_unit_test(test_growing_batch_runs_the_tasks_its_tasks_submit),
        cmocka_unit_test(test_batch_that_does_not_grow_refuses_submitted_tasks),
        cmocka_unit_test(
            test_stop_sends_nothing_more_and_emit_arrived_passes_the_gaps),
        cmocka_unit_test(
            test_stop_sends_no_retry_of_a_task_that_fails_after_it),
        cmocka_unit_test(
            test_stopped_batch_does_not_replace_a_worker_that_dies),
        cmocka_unit_test(
            test_sim_sends_and_emits_every_task_once_for_any_policy),
        cmocka_unit_test(
            test_sim_uniform_tasks_finish_within_ten_percent_of_ideal),
        cmocka_unit_test(
            test_sim_uniform_tasks_end_with_small_chunks_and_a_short_tail),
        cmocka_unit_test(test_sim_one_long_task_costs_no_more_than_itself),
        cmocka_unit_test(
            test_sim_mixed_durations_finish_within_ten_percent_of_ideal),
        cmocka_unit_test(
            test_sim_bound_tells_auto_from_chunks_of_one_or_huge_chunks),
    };

    return cmocka_run_group_tests(tests, NULL, release_left);
}
