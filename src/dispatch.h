/* dispatch.h - the master's policy: which tasks go to which worker, and
 * what becomes of each result, with no I/O of its own */
#ifndef TF_DISPATCH_H
#define TF_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schedule.h"
#include "taskfarm.h"

/*
 * The dispatcher holds what the master knows of a batch: the tasks read and
 * not yet handed out, the chunks each worker holds, results held for their
 * turn, failed tasks waiting to run again, and the work of lost workers. It
 * takes events — a worker said hello, results or a part of an output
 * arrived, a worker was lost, time passed (an explicit NOW, in the
 * microseconds of tf__now_us()) — and acts through the calls of its comm:
 * send this chunk to that worker, stop it, start a new one in its place,
 * pass this task on in its turn. It reads no clock, touches no transport,
 * wire, signal or file, so that every policy (retries on another worker,
 * three strikes for a task that kills its worker, the hold cap, the
 * deadline, halting, recycling, keeping records before their turn) is
 * tested on a simulated clock with a comm that records what it is asked.
 * The comm's calls happen inside the event, so a task or chunk passed to
 * one is valid during that call only. Master only; not thread-safe.
 */
struct tf__dispatch;

/*
 * A task's output as the master keeps it: where its result's bytes are,
 * and its other parts. The dispatcher only counts the bytes in memory
 * (OUT_LEN, ERR_LEN, BIG_MEM) and hands the task back to the comm's drop,
 * spill, emit and keep, which own the rest.
 */
struct tf__dout {
    void *frame;     /* the master's: what keeps OUT and ERR valid */
    const void *out;
    size_t out_len;
    const void *err;
    size_t err_len;
    void *big;       /* the master's: a part of the output kept apart (a
                        stream, or what was spilled), or NULL */
    size_t big_mem;  /* bytes of BIG in memory */
};

/* One task. The dispatcher's but for OUT, which is the master's. */
struct tf__dtask {
    uint64_t id;
    size_t cmd_off;    /* its text, in its chunk's CMDS */
    size_t cmd_len;
    uint64_t est_us;   /* its expected runtime, 0: not known */
    bool done;         /* its last result is in */
    bool emitted;      /* passed to the comm's emit */
    bool recorded;     /* passed to the comm's keep before that */
    bool lost;         /* failed because its workers died */
    bool timed_out;    /* ended for passing its time limit */
    bool oom;          /* ended by the out-of-memory killer */
    uint8_t strikes;   /* workers that died while it ran alone */
    unsigned attempts; /* runs that failed and were retried */
    int worker;        /* the worker of its result (1-based) */
    int32_t status;
    int32_t signal;
    int64_t start_us;  /* wall clock */
    uint64_t runtime_us;
    uint64_t cpu_us;     /* user + system CPU time */
    uint64_t peak_bytes; /* peak resident memory, 0: not known */
    uint64_t done_us;  /* when its last result came */
    struct tf__dout out;
};

/* A chunk of tasks handed to a worker as one WORK message. */
struct tf__dchunk {
    struct tf__dchunk *next;        /* all chunks, in the order handed
                                       out */
    struct tf__dchunk *next_worker; /* the chunks its worker holds, or the
                                       orphans, or the retries */
    int worker;
    uint32_t n;
    uint32_t nresults;
    uint32_t sent_upto;             /* tasks [nresults, sent_upto) are
                                       out */
    bool single;                    /* re-sent one task at a time */
    struct tf__dchunk *parent;      /* a retry: its one task is parent's,
                                       which TASKS points into */
    uint32_t nemitted;
    struct tf_buf cmds;             /* owned: the tasks' text */
    struct tf__dtask *tasks;        /* owned */
};

/* The text of task T of chunk C (the chunk that holds it, or a retry). */
const void *tf__dchunk_text(const struct tf__dchunk *c,
                            const struct tf__dtask *t);

/* --halt: when to stop a run early. */
struct tf__halt {
    bool now;         /* also end the running tasks (else: soon) */
    bool on_success;  /* count successes (else failures) */
    uint64_t count;   /* stop at this many, or */
    unsigned pct;     /* at this percentage of the tasks (of all when known,
                         else of those finished) */
};

/* What the dispatcher asks of the master. Every call but `log` may fail
 * with a negative code, which the event then returns. */
struct tf__dispatch_comm {
    void *arg;
    /*
     * The batch's next task: returns 1 with its ID, TEXT of LEN bytes
     * (valid until the next call) and EST_US (0: not known), 0 at the end,
     * TF__DISPATCH_WAIT when a stream has nothing now and MAY_BLOCK is
     * false, or a negative code (the tasks before it still run; the batch
     * ends with that error).
     */
    int (*next)(void *arg, uint64_t *id, const void **text, size_t *len,
                uint64_t *est_us, bool may_block, struct tf_error *err);
    /* Sends tasks [FROM, TO) of chunk C to worker W, as chunk number
     * SEQ. */
    int (*send_work)(void *arg, int w, const struct tf__dchunk *c,
                     uint32_t from, uint32_t to, uint64_t seq,
                     struct tf_error *err);
    /* Tells worker W to stop (it ends once its work is done). */
    int (*send_stop)(void *arg, int w, struct tf_error *err);
    /* Tells worker W to run the initializer again (recycling where a new
     * process cannot be started). */
    int (*send_reset)(void *arg, int w, struct tf_error *err);
    /* Sends worker W the time limit of its tasks from now on. */
    int (*send_limit)(void *arg, int w, uint64_t limit_us,
                      struct tf_error *err);
    /* Starts a new worker in W's place (its process ended); NULL when the
     * transport cannot. */
    int (*respawn)(void *arg, int w, struct tf_error *err);
    /* Task T of chunk C (the chunk that holds it) in its turn: its output
     * goes where it goes. */
    int (*emit)(void *arg, const struct tf__dchunk *c, struct tf__dtask *t,
                struct tf_error *err);
    /* Task T, ended and waiting for its turn: its record now. */
    int (*keep)(void *arg, const struct tf__dchunk *c, struct tf__dtask *t,
                struct tf_error *err);
    /* Task T's output is no longer wanted (a failed attempt, a lost
     * worker, a dropped batch): release it and zero T->out. */
    void (*drop)(void *arg, struct tf__dtask *t);
    /* Moves task T's output out of memory; T->out's counts then say what
     * is left there. */
    int (*spill)(void *arg, struct tf__dtask *t, struct tf_error *err);
    /* Writes what waits before the master waits for input; may be NULL. */
    int (*flush)(void *arg, struct tf_error *err);
    /* A task submitted by task PARENT, in a batch that grows; returns 1
     * when `next` may have tasks again, 0, or a negative code. */
    int (*submit)(void *arg, uint64_t parent, const void *data, size_t len,
                  struct tf_error *err);
    /* A line for the log (TF_LOG_* of error.h). */
    void (*log)(void *arg, int level, const char *msg);
};

#define TF__DISPATCH_WAIT 2

/* How the session's workers are run. */
struct tf__dispatch_cfg {
    int nworkers;
    uint64_t chunk;                /* tasks per chunk; 0: adapt */
    uint64_t max_tasks_per_worker; /* 0: no limit */
    unsigned retries;              /* runs again of a failed task */
    uint64_t timeout_us;           /* a task's time limit, or 0 */
    unsigned timeout_pct;          /* or % of the median success runtime */
};

/* One batch: how its results are passed on, and when it stops early. */
struct tf__dispatch_batch {
    bool unordered;                /* pass results on as they end */
    bool keep;                     /* use the comm's keep (see
                                      keep_after_us) */
    uint64_t keep_after_us;        /* a result waiting for its turn this
                                      long is kept (0: at once) */
    bool spill;                    /* output past the budget may move out
                                      of memory (the comm's spill) */
    bool grows;                    /* takes the tasks tasks submit: its
                                      `next` may say TF__DISPATCH_WAIT
                                      while tasks run */
    const struct tf__halt *halt;   /* or NULL */
    uint64_t total;                /* tasks in all, 0: not known */
    uint64_t deadline_us;          /* no task goes out expected to end
                                      later than MARGIN_US before it (0:
                                      none) */
    uint64_t margin_us;
};

/* Output bytes in the master's memory past which output is spilled, and
 * held results (with their bookkeeping) past which no new work goes out
 * until the oldest task is done. */
#define TF__SPILL_AT ((size_t)16 << 20)
#define TF__HOLD_CAP ((size_t)64 << 20)

int tf__dispatch_new(const struct tf__dispatch_cfg *cfg,
                     const struct tf__dispatch_comm *comm,
                     struct tf__dispatch **out, struct tf_error *err);
/* Frees D and every task it holds (their output through the comm's drop).
 * NULL is a no-op. */
void tf__dispatch_free(struct tf__dispatch *d);

/* Starts batch B (borrowed until it ends) and gives every worker that is
 * ready its first work. */
int tf__dispatch_begin(struct tf__dispatch *d,
                       const struct tf__dispatch_batch *b, uint64_t now,
                       struct tf_error *err);
/* Ends the batch: what it left (after a failure) is dropped. */
void tf__dispatch_end(struct tf__dispatch *d);

/* Worker W said hello from HOST (HOST_LEN bytes): it is ready for work. */
int tf__dispatch_hello(struct tf__dispatch *d, int w, const char *host,
                       size_t host_len, uint64_t now, struct tf_error *err);

/* A result worker W sent, as the RESULTS message carries it. */
struct tf__dresult {
    uint64_t id;
    int32_t status;
    int32_t signal;    /* its signal, without the timed-out bit */
    bool timed_out;
    bool oom;          /* ended by the out-of-memory killer */
    int64_t start_us;
    uint64_t runtime_us;
    uint64_t cpu_us;     /* user + system CPU time */
    uint64_t peak_bytes; /* peak resident memory, 0: not known */
};

/*
 * A result of worker W, the first it has not reported of the tasks it
 * holds (else TF_EPROTO naming what it sent): OUT, the output it carries,
 * joins the task's, which takes it (and zeroes OUT: a FRAME still set
 * after the call was not taken); the task then ends (and may be passed
 * on) or is to run again.
 */
int tf__dispatch_result(struct tf__dispatch *d, int w,
                        const struct tf__dresult *r, struct tf__dout *out,
                        uint64_t now, struct tf_error *err);
/* After the results of one message of worker W (COUNT tasks, BUSY_US of
 * work): passes on what may be, and gives out more work. */
int tf__dispatch_results_end(struct tf__dispatch *d, int w, uint32_t count,
                             uint64_t busy_us, uint64_t now,
                             struct tf_error *err);

/* The task with ID among those worker W holds and has not reported, for a
 * part of its output (NULL: none such). Once the master has added the
 * part to its output, tf__dispatch_output_added() says how much. */
struct tf__dtask *tf__dispatch_running(struct tf__dispatch *d, int w,
                                       uint64_t id);
int tf__dispatch_output_added(struct tf__dispatch *d, struct tf__dtask *t,
                              size_t n, struct tf_error *err);

/* A task that worker W's task PARENT submitted (TF_EPROTO when W holds no
 * work, TF_EUSAGE when the batch does not grow); the comm's submit takes
 * it unless the batch hands out nothing more. */
int tf__dispatch_submitted(struct tf__dispatch *d, int w, uint64_t parent,
                           const void *data, size_t len,
                           struct tf_error *err);

/*
 * Worker W is gone: DIED (its process ended without a word; signal SIG
 * when known, else 0), or it said why it failed. Its work goes to the
 * others, one task at a time; a task whose worker died under it three
 * times fails with signal SIG (or SIGKILL). A worker that died is started
 * anew where the comm can. Returns 0, or TF_EPEER when every worker is
 * lost or workers keep dying before they start.
 */
int tf__dispatch_lost(struct tf__dispatch *d, int w, bool died, int sig,
                      uint64_t now, struct tf_error *err);
/* Worker W, which was told to stop (or to be replaced), has ended. Returns
 * 0, or the error of starting its replacement. */
int tf__dispatch_ended(struct tf__dispatch *d, int w, struct tf_error *err);

/* Time passed: results that waited their KEEP_AFTER_US are kept, workers
 * waiting for input or held results get another try. */
int tf__dispatch_tick(struct tf__dispatch *d, uint64_t now,
                      struct tf_error *err);

/* Hands out nothing more: for the deadline, a drain (WHY says what) or a
 * stop. The tasks read and not handed out are dropped. */
void tf__dispatch_no_more(struct tf__dispatch *d, const char *why);
/* Drops the failed tasks waiting to run again. */
void tf__dispatch_drop_retries(struct tf__dispatch *d);
/* The batch was asked to stop: it hands out nothing more, not even the
 * failed tasks waiting to run again, takes no submitted task, and a worker
 * that dies is not replaced. */
void tf__dispatch_stop(struct tf__dispatch *d);
/* Passes on every result that arrived and was not yet, in task order
 * where it can and past the gaps of tasks that did not end (a stopped
 * batch). */
int tf__dispatch_emit_arrived(struct tf__dispatch *d, struct tf_error *err);
/* Drops the results of the chunks workers hold (a failed batch waits for
 * them and drops them): from now on, what arrives is not passed on. */
void tf__dispatch_discard(struct tf__dispatch *d);

/* Whether the batch is done: every task read, handed out, ended and passed
 * on, and no worker half replaced. */
bool tf__dispatch_finished(const struct tf__dispatch *d);
/* Whether the input needs reading when the workers that hold no work
 * have none (a batch that grows, whose `next` said TF__DISPATCH_WAIT):
 * then tf__dispatch_poll_input() reads it. */
bool tf__dispatch_idle(const struct tf__dispatch *d);
int tf__dispatch_poll_input(struct tf__dispatch *d, uint64_t now,
                            struct tf_error *err);

/* The state the master reports. */
struct tf__dispatch_state {
    int active;               /* workers not stopped or gone */
    int busy;                 /* workers holding work */
    int inflight;             /* chunks workers hold */
    int nwaiting;             /* workers waiting for input or for held
                                 results to drain */
    bool halted;              /* --halt's condition was met */
    const char *halt_why;
    bool deadline_hit;        /* tasks were left for the deadline or a
                                 drain */
    const char *deadline_why;
    int input_rc;             /* the input's error, or 0 */
    const struct tf_error *input_err;
    uint64_t finished;        /* tasks with a last result */
    uint64_t finished_failed; /* of which failed */
    uint64_t emitted;         /* tasks passed on */
    uint64_t emitted_failed;  /* of which failed */
    uint64_t pending;         /* tasks read and not handed out */
    bool input_left;          /* tasks may still be read or handed out */
    uint64_t next_due_us;     /* when a held result is next due to be
                                 kept (UINT64_MAX: none) */
};
void tf__dispatch_state(const struct tf__dispatch *d,
                        struct tf__dispatch_state *st);

/*
 * Writes the workers lost for good (none took their places) to BUF, each
 * as "worker W on HOST at HH:MM:SS", comma-separated (cut with "..." to fit
 * SIZE). Returns how many there are.
 */
int tf__dispatch_lost_line(const struct tf__dispatch *d, char *buf,
                           size_t size);

/* Worker W's host (borrowed from the dispatcher) and state. */
const char *tf__dispatch_host(const struct tf__dispatch *d, int w,
                              size_t *len);
enum tf__wstate { TF__W_NEW, TF__W_ACTIVE, TF__W_STOPPED, TF__W_GONE,
                  TF__W_RECYCLING };
int tf__dispatch_wstate(const struct tf__dispatch *d, int w);
/* Marks W told to stop (the session is closing). */
void tf__dispatch_stopped(struct tf__dispatch *d, int w);
/* Chunks worker W holds. */
int tf__dispatch_inflight(const struct tf__dispatch *d, int w);
/* The time limit the workers were sent (0: none). */
uint64_t tf__dispatch_limit(const struct tf__dispatch *d);

/* A task in hand, for a snapshot of the run. */
struct tf__running {
    uint64_t id;
    int worker;            /* 0-based */
    uint64_t us;           /* how long it has run, about */
    const void *text;      /* its text (borrowed), LEN bytes */
    size_t len;
};
/*
 * Each worker's task in hand at NOW, in WORKER order, at most MAX of them
 * in OUT; returns how many. *QUEUED gets the tasks handed out and not
 * begun. A worker's task in hand is the first of its oldest chunk without
 * a result; it started, about, when the worker last sent results or got
 * work while idle.
 */
size_t tf__dispatch_running_tasks(const struct tf__dispatch *d, uint64_t now,
                                  struct tf__running *out, size_t max,
                                  uint64_t *queued);

#endif /* TF_DISPATCH_H */
