/* session.h - the master's side of a run: a session of workers, fed one
 * batch of tasks at a time over any transport */
#ifndef TF_SESSION_H
#define TF_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "done.h"
#include "taskfarm.h"
#include "transport.h"

/* A registered task function. */
struct tf__fn {
    const char *name;
    tf_task_fn fn;
    void *arg;
};

/* How a session's workers are started and fed. */
struct tf__session_cfg {
    const struct tf__transport_ops *transport;
    int nworkers;                  /* fork and loop */
    uint64_t chunk;                /* 0: auto */
    uint64_t max_tasks_per_worker; /* 0: no limit */
    int threads_per_worker;        /* 0: the node's CPUs / its workers */
    int gpus_per_worker;           /* 0: none (tf_config.gpus_per_worker) */
    const char *gpus;              /* NULL: from the environment */
    int bind;                      /* enum tf_bind */
    uint64_t mem_per_task;         /* bytes a task needs, 0: not said */
    unsigned retries;              /* runs again of a failed task */
    uint64_t timeout_us;           /* a task's time limit, or 0 */
    unsigned timeout_pct;          /* or % of the median success runtime */
    uint64_t kill_grace_us;        /* SIGTERM to SIGKILL */
    int (*initializer)(void *arg);
    void *initarg;
    const struct tf__fn *fns;      /* borrowed; the same on every rank */
    int nfns;
};

struct tf__session;

/*
 * Starts the workers. On the master returns 0 with *OUT. On a worker rank it
 * serves until the master closes the session and returns TF__WORKER_DONE
 * with the worker's status in *WORKER_RC (fork workers end instead).
 */
int tf__session_open(const struct tf__session_cfg *cfg,
                     struct tf__session **out, int *worker_rc,
                     struct tf_error *err);

/*
 * One batch of tasks: where they come from and where their results go.
 * `next` returns 1 with the next task (ID, and DATA of LEN bytes valid until
 * the next call), 0 at the end, TF__BATCH_WAIT when a stream has nothing
 * ready and MAY_BLOCK is false, or a negative code: the tasks before it
 * still run and the batch then returns that code. `done` gets each finished
 * task, in task order unless `unordered`; a negative return ends the batch.
 * `flush` (may be NULL) runs before the master waits for workers.
 */
#define TF__BATCH_WAIT TF__DISPATCH_WAIT
/* A batch --halt stopped: *ERR says why. */
#define TF__EHALTED (-101)

struct tf__batch {
    uint32_t fn;
    bool unordered;
    bool keep_text; /* pass each task's text to done (d->cmd) */
    bool measure;   /* the CPU time of tasks that run in the worker is
                       wanted (a results file): two system calls a task */
    int (*next)(void *arg, uint64_t *id, const void **data, size_t *len,
                bool may_block, struct tf_error *err);
    void *next_arg;
    int (*done)(void *arg, const struct tf__done *d, struct tf_error *err);
    void *done_arg;
    /*
     * Records kept safe before their turn (may be NULL: none): in task
     * order, a finished task waits for the tasks before it. `keep` gets
     * such a task once it has waited KEEP_AFTER_US (0: at once) since it
     * ended, so that its record need not wait for the slow tasks before
     * it; its output still goes to `done` in its turn, with D->recorded
     * set. A negative return ends the batch as a failing `done` does.
     */
    int (*keep)(void *arg, const struct tf__done *d, struct tf_error *err);
    void *keep_arg;
    uint64_t keep_after_us;
    /*
     * Whether output held for its turn, and the output of a task that
     * streams it (tf_result_flush()), may be kept in a temporary file
     * (in SPOOL_DIR, NULL: $TMPDIR or /tmp) once it passes the master's
     * memory budget; `done` then gets it as blobs. Without it, `done`
     * gets every output whole in memory.
     */
    bool spool;
    const char *spool_dir;
    /* A batch that fails (a callback's error) returns at once, leaving
     * the workers to their tasks: the caller then aborts the session.
     * Without it the batch first waits for the tasks handed out, so that
     * the session serves the next batch. */
    bool end_on_error;
    int (*flush)(void *arg, struct tf_error *err);
    void *flush_arg;
    /*
     * Tasks that tasks submitted (tf_result_submit()), as they arrive, with
     * the id of the task that submitted each; NULL when the batch takes
     * none. It returns 1 when `next` may have tasks again (even after it
     * returned 0), 0 when not, or a negative code. A batch that grows
     * while it runs has `next` return TF__BATCH_WAIT while tasks that may
     * submit more still run, and 0 at the end.
     */
    int (*submit)(void *arg, uint64_t parent, const void *data, size_t len,
                  struct tf_error *err);
    void *submit_arg;
    const struct tf__halt *halt; /* or NULL */
    uint64_t total;              /* tasks in all, 0 when not known */
    /*
     * A deadline (tf__now_us() time, 0: none): no task goes out that is
     * expected to end later than MARGIN_US before it. A task's expected
     * runtime is what `estimate` says (may be NULL; 0: not known), else the
     * mean of this run's tasks so far; a task with neither goes out.
     */
    uint64_t deadline_us;
    uint64_t margin_us;
    uint64_t (*estimate)(void *arg, uint64_t id, const void *data,
                         size_t len);
    /* The memory in bytes a task needs (may be NULL; 0: not known), given
     * ESTIMATE_ARG, when the session's mem_per_task does not say: its
     * worker starts it only once its node has that much available. */
    uint64_t (*mem_estimate)(void *arg, uint64_t id, const void *data,
                             size_t len);
    void *estimate_arg;
    const uint64_t *skipped; /* or NULL: how many tasks `next` passed
                                over (done before), for the progress
                                line; `next` counts them */
    /* filled by the run */
    uint64_t tasks;
    uint64_t failed;
};
/* A batch that stopped handing out tasks for its deadline or
 * tf__request_drain(), with tasks left: *ERR says why. */
#define TF__EDEADLINE (-102)

/*
 * Asks the batch running to hand out no more tasks and to end when the
 * tasks already handed out have ended, from a signal handler (SIG, e.g.
 * SIGUSR1, a batch system's warning that the job's time is nearly up).
 * The batch then returns TF__EDEADLINE if tasks were left. Async-signal-
 * safe.
 */
void tf__request_drain(int sig);

/*
 * Asks the batch running to stop, from a signal handler (SIG, e.g.
 * SIGTERM): no more tasks are handed out, the workers are passed SIG (they
 * end their tasks), the results that arrived are written, and the batch
 * returns TF__ESTOPPED. Async-signal-safe.
 */
void tf__request_stop(int sig);
/*
 * Asks the batch running to write a snapshot to standard error: each
 * worker's task in hand and how long it has run, the longest-running
 * tasks, the tasks waiting. From a signal handler (SIGUSR2). Async-signal-
 * safe.
 */
void tf__request_snapshot(int sig);

/*
 * Master: what a watcher of S's batches (the taskfarm command's progress
 * line and snapshot) is told; W is copied, NULL stops it. The library
 * itself shows nothing.
 */
struct tf__session_watch {
    void *arg;
    /* Microseconds from NOW (tf__now_us()) until `show` wants a call,
     * UINT64_MAX when never. */
    uint64_t (*wait_us)(void *arg, uint64_t now);
    /* Called when wait_us said it is due, after the output that waited
     * was written (the tool's line goes below it). */
    void (*show)(void *arg, const struct tf__session *s, uint64_t now);
    /* Called before a result goes to the batch's `done`. */
    void (*clear)(void *arg);
    /* tf__request_snapshot() was called (the output that waited was
     * written first). */
    void (*snapshot)(void *arg, const struct tf__session *s, uint64_t now);
};
void tf__session_watch(struct tf__session *s,
                       const struct tf__session_watch *w);

/* Where S's batch stands. */
struct tf__session_status {
    uint64_t done;    /* tasks with their last result, failed included */
    uint64_t failed;  /* of which failed */
    uint64_t running; /* workers holding work */
    uint64_t total;   /* the batch's total, 0 when not known */
    uint64_t skipped; /* what the batch's SKIPPED says */
};
void tf__session_status(const struct tf__session *s,
                        struct tf__session_status *st);
/* Each worker's task in hand (see tf__dispatch_running_tasks()). */
size_t tf__session_running(const struct tf__session *s, uint64_t now,
                           struct tf__running *out, size_t max,
                           uint64_t *queued);
/* Worker W's (0-based) host, of *LEN bytes, and its enum tf__wstate. */
const char *tf__session_worker(const struct tf__session *s, int w,
                               size_t *len, int *state);

/* The signal tf__request_stop() was given, or 0. */
int tf__stop_signal(void);
#define TF__ESTOPPED (-100)

/* Master: runs one batch to its end. Returns 0 or a negative code. */
int tf__session_batch(struct tf__session *s, struct tf__batch *b,
                      struct tf_error *err);

/* Master: sends DATA to every worker, now and to any worker started later;
 * tasks see it as task->shared. */
int tf__session_share(struct tf__session *s, const void *data, size_t len,
                      struct tf_error *err);
/* Master: the two halves of tf__session_share, for a caller that fills the
 * LEN bytes in place: returns where (or NULL with ERR set), then sends. */
void *tf__session_share_buffer(struct tf__session *s, size_t len,
                               struct tf_error *err);
int tf__session_share_commit(struct tf__session *s, struct tf_error *err);
/* Master: whether shared data of LEN bytes reaches every worker as a
 * mapping of this process's memory, writable (see tf_pool_share_maps()). */
bool tf__session_share_maps(const struct tf__session *s, size_t len);

int tf__session_nworkers(const struct tf__session *s);
/* Master: whether workers still run tasks of a batch that ended early (a
 * halt or a stop under MPI, whose ranks end their tasks only when the job
 * ends): the session is then aborted rather than closed. */
bool tf__session_busy(const struct tf__session *s);
const char *tf__session_transport(const struct tf__session *s);

/* Master: stops the workers and frees S. NULL is a no-op. */
int tf__session_close(struct tf__session *s, struct tf_error *err);
/* Master: ends S at once after a failure (see transport abort). */
void tf__session_abort(struct tf__session *s);

/* ------------------------------------------------------------ worker.c */

/* A worker's share of threads: CFG's, srun -c N, or the node's CPUs
 * divided among the NODE_WORKERS workers there. */
int tf__thread_share(const struct tf__session_cfg *cfg, int node_workers);

/* The worker's loop, as a transport starts it (ARG: the session's
 * struct tf__session_cfg); returns the worker's exit status. */
int tf__worker_main(struct tf__transport *t, void *arg);

#endif /* TF_SESSION_H */
