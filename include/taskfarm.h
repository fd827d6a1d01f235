/* taskfarm.h - the public API of taskfarm: buffers, errors and job kinds */
#ifndef TASKFARM_H
#define TASKFARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version, in one place: the build reads it from here. */
#define TF_VERSION_MAJOR 0
#define TF_VERSION_MINOR 2
#define TF_VERSION_PATCH 0
#define TF__STR(x) #x
#define TF__XSTR(x) TF__STR(x)
#define TF_VERSION_STRING                                                    \
    TF__XSTR(TF_VERSION_MAJOR)                                               \
    "." TF__XSTR(TF_VERSION_MINOR) "." TF__XSTR(TF_VERSION_PATCH)

/* What this header declares is the shared library's interface; the rest of
 * the library is hidden (built with -fvisibility=hidden). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/*
 * Error codes. Every fallible function returns 0 on success or one of these
 * negative codes; tf_strerror() gives a short text for each.
 */
enum tf_errcode {
    TF_OK = 0,
    TF_EUSAGE = -1,     /* bad option or argument */
    TF_EINPUT = -2,     /* bad input: task file, matrix, line too long */
    TF_ENOMEM = -3,     /* out of memory */
    TF_ESYS = -4,       /* a system call failed */
    TF_ETRANSPORT = -5, /* MPI or socket failure */
    TF_EPROTO = -6,     /* a malformed or unexpected message */
    TF_ETASK = -7,      /* a task failed (its status says how) */
    TF_EPEER = -8       /* a worker was lost */
};

/* Returns a static string describing CODE; never NULL. */
const char *tf_strerror(int code);

/*
 * struct tf_error carries the reason for a failure: the code and one line of
 * text that names the file and line where that matters. Functions that take
 * a `struct tf_error *err` fill it on failure; NULL is allowed.
 */
struct tf_error {
    int code;
    char msg[512];
};

void tf_error_init(struct tf_error *err);

/*
 * Fills ERR (NULL allowed) with CODE and the printf-style message, cut to
 * fit, and returns CODE: a job or a program fails in one statement,
 * `return tf_error_set(err, TF_EUSAGE, "--n: '%s' is not a number", v);`.
 */
int tf_error_set(struct tf_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The log. The library writes nothing to standard output or error: what it
 * has to say beyond return codes (a worker died and a new one took its
 * place, a file could not be cut back) goes to the log function that
 * tf_config's `log` installs, one message at a time (no newline), with its
 * level and the 0-based worker that says it (-1: the master). Without one
 * the library is silent. tf_log() sends a message of a job or program the
 * same way; messages above TF_LOG_WARN are dropped unless
 * tf_log_set_level() raises the level.
 */
enum tf_log_level { TF_LOG_ERROR, TF_LOG_WARN, TF_LOG_INFO, TF_LOG_DEBUG };
typedef void (*tf_log_fn)(void *arg, int level, int worker, const char *msg);
void tf_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tf_log_set_level(int level);

/*
 * struct tf_buf is a growable byte buffer with a cap. An append that would
 * grow it past `max` bytes fails with TF_EINPUT and leaves it unchanged, so
 * an oversized line or output is a clean error rather than an exhausted
 * machine. `data` is owned by the buffer and is always NUL-terminated when
 * non-NULL (the NUL is not counted in `len`).
 */
struct tf_buf {
    unsigned char *data; /* owned */
    size_t len;
    size_t cap;
    size_t max;
};

/* Initialises an empty buffer that may grow to MAX bytes (0: no cap). */
void tf_buf_init(struct tf_buf *buf, size_t max);
/* Frees the buffer's memory and leaves it empty and reusable. */
void tf_buf_cleanup(struct tf_buf *buf);
/* Appends N bytes from P. Returns 0, TF_EINPUT past the cap, TF_ENOMEM. */
int tf_buf_append(struct tf_buf *buf, const void *p, size_t n);
/* Appends a NUL-terminated string. */
int tf_buf_puts(struct tf_buf *buf, const char *s);
/* Appends printf-style text. */
int tf_buf_printf(struct tf_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Makes room for N more bytes without changing `len`. */
int tf_buf_reserve(struct tf_buf *buf, size_t n);
/* Empties the buffer, keeping its memory. */
void tf_buf_reset(struct tf_buf *buf);

/* 64-bit integers in 8 bytes at P, little-endian whatever the machine: for
 * tasks and results that carry numbers between the master and workers. */
void tf_store_u64(void *p, uint64_t v);
uint64_t tf_load_u64(const void *p);

/*
 * Appends to OUT the N bytes at S quoted for /bin/sh as one word: S itself
 * when it has only characters safe unquoted, else single-quoted. Returns 0,
 * TF_EINPUT past OUT's cap or TF_ENOMEM; OUT is then unchanged.
 */
int tf_shell_quote(const char *s, size_t n, struct tf_buf *out);

/*
 * Expands a command template with GNU Parallel's replacement strings for one
 * input LINE of LEN bytes and appends it to OUT: {} the line, {.} without
 * its extension, {/} basename, {//} dirname, {/.} basename without
 * extension, {#} the task id SEQ, {%} the job slot SLOT. Values from the
 * line are shell-quoted, so input is data, never code. A template with none
 * of these gets " {}" appended. Returns 0, TF_EINPUT past OUT's cap or
 * TF_ENOMEM; OUT is then unchanged.
 */
int tf_template_expand(const char *tmpl, const char *line, size_t len,
                       uint64_t seq, int slot, struct tf_buf *out);

/*
 * A template compiled once, with columns: tf_template_compile() checks TMPL
 * (refusing, with TF_EUSAGE and a one-line message, any GNU Parallel
 * replacement string taskfarm does not know) and COLSEP (NULL: none), the
 * separator that splits a line into the columns {1}, {2}, ... ({N.}, {N/},
 * {N//} and {N/.} work on a column as {.} ... on the line): a literal
 * string where \t is a TAB and \s+ means runs of blanks (see `taskfarm run
 * --help`). tf_template_apply() appends what it makes of LINE as
 * tf_template_expand() does; tf_template_free(NULL) is a no-op. Any rank may
 * call them; a compiled template may be shared by threads.
 */
struct tf_template;
int tf_template_compile(const char *tmpl, const char *colsep,
                        struct tf_template **out, struct tf_error *err);
int tf_template_apply(const struct tf_template *t, const char *line,
                      size_t len, uint64_t seq, int slot, struct tf_buf *out);
void tf_template_free(struct tf_template *t);

/*
 * One task as a worker sees it. `data` is the task's payload (for task-file
 * jobs, the line without its newline) and is valid only during the call.
 */
struct tf_task {
    uint64_t id;        /* stable 1-based id: the line number in a task
                           file, index + 1 for the pool calls below */
    const void *data;   /* borrowed */
    size_t len;
    int worker;         /* 0-based index of the worker running it */
    int nworkers;
    const char *host;   /* the worker's host name */
    const void *shared; /* what tf_pool_share() sent, or NULL; borrowed */
    size_t shared_len;
    uint64_t time_limit_us; /* how long the task may run (--timeout), or 0
                               for no limit: a task that starts processes
                               ends them when it passes, and then sets
                               res->timed_out */
    uint64_t kill_grace_us; /* from SIGTERM to SIGKILL when it does */
    void *shared_rw;        /* SHARED, writable, when the worker maps the
                               master's own memory (see
                               tf_pool_share_maps()); else NULL */
    /* Where the worker is among the nodes of the run (ranks that share
     * memory; forked workers are all on node 0): */
    int node;           /* 0-based index of its node, the master's first */
    int nnodes;         /* nodes with a rank of the run */
    int local_worker;   /* 0-based index among the workers of its node */
    int local_nworkers; /* the workers of its node */
};

/*
 * What a task produced. The worker fills `out` (stdout, or the result bytes
 * of an in-process task) and `err` (stderr, or an error message), and sets
 * `status` (0 is success; shell conventions for commands: 126 cannot
 * execute, 127 not found, 128+N killed by signal N) and `signal`. A task
 * that passed its time limit fails: with `timed_out` set and `status` 0
 * (its processes had exited 0 before the limit ended what they left
 * running) the engine makes its status 124, as timeout(1) does.
 */
struct tf_result {
    int status;
    int signal;
    int timed_out; /* non-zero: ended for passing task->time_limit_us */
    struct tf_buf out;
    struct tf_buf err;
    struct tf_buf submitted; /* the engine's: what tf_result_submit() added;
                                empty in the view a done callback gets */
    void *engine;            /* the engine's; NULL in a done callback's
                                view */
};

/*
 * Worker, from inside a task function: sends what RES->out and RES->err
 * hold to the master as the next part of this task's output, and empties
 * them. A task that may write more output than a worker should hold calls
 * it as it goes (the `run` job does, for every MiB); its output is then
 * still delivered whole and in order, and the taskfarm command keeps what
 * waits for its turn in a temporary file rather than in memory. Output
 * left in RES when the task function returns is sent the same way when it
 * is large. If the task then fails and runs again, or its worker dies, the
 * parts sent are dropped. Returns 0, or a negative code when the master
 * cannot be reached (the task function should return it).
 */
int tf_result_flush(struct tf_result *res);

/*
 * Worker, from inside a task function that starts processes: PGID is the
 * process group they run in (0: none runs any more). When the worker dies
 * while the task runs (killed, out of memory), the master ends that group
 * (SIGKILL) before the task runs anywhere again, so that a task never runs
 * twice at once. Only forked workers have a master that can; elsewhere it
 * does nothing. Set it after the group exists and clear it before the
 * group's leader is reaped, so that a group id cannot have been reused.
 */
void tf_result_set_pgid(struct tf_result *res, int pgid);

/*
 * Worker, from inside a task function that starts processes: what they
 * used, as wait4() measured it, in place of the worker's own measure. CPU_US
 * is user plus system CPU time; PEAK_BYTES the peak resident memory (the
 * largest of the process and of the descendants it waited for, as
 * ru_maxrss counts it), 0 when not known; FLAGS TF_USAGE_OOM when the
 * kernel's out-of-memory killer ended the task. Without this call the
 * engine records the CPU time the worker used during the task (its
 * process's, or its thread's on the loop backend) and no peak memory. The
 * `run` job calls it for each command. The engine itself flags a task that
 * started processes (tf_result_set_pgid()) and died of SIGKILL while the
 * out-of-memory kills counted for its cgroup (or the node) rose.
 */
#define TF_USAGE_OOM 1u
void tf_result_set_usage(struct tf_result *res, uint64_t cpu_us,
                         uint64_t peak_bytes, unsigned flags);

/*
 * Worker, from inside a task function: adds a new task of LEN bytes at DATA
 * (copied) to the run this task belongs to, to be run by the same task
 * function: a task that discovers more work (a crawler's page, a directory
 * walk) submits it. The tasks travel to the master ahead of this task's
 * result, where the run's submit hook (tf_pool_on_submit()) sees each one,
 * or, without a hook, each is queued as it is. A task submitted by an
 * attempt that then failed or died is not taken back: de-duplicate in the
 * hook when that matters. Returns 0, or TF_ENOMEM.
 */
int tf_result_submit(struct tf_result *res, const void *data, size_t len);

/*
 * A task function: runs on a worker for each task, with ARG as given to
 * tf_register(). It writes its result bytes to RES->out and sets
 * RES->status (0: success); a failed task sets a non-zero status and may
 * put a message in RES->err, which reaches the master. It returns 0 when the
 * task ran, whatever its status, and a negative code only for a failure of
 * the worker itself, which ends the run.
 */
typedef int (*tf_task_fn)(void *arg, const struct tf_task *task,
                          struct tf_result *res);

/*
 * The kinds of option value. Every option of the command and of every job
 * reads numbers the same way, checked once, when the command line is
 * parsed, with one form of message:
 *   TF_OPT_INT       a whole number: 250, 1e6, 2.5e3, or with an SI
 *                    suffix k, M, G, T, P, E (times 1000 each: 10k, 4M)
 *   TF_OPT_SIZE      bytes: 4096, or with k, M, G, T, P, E (times 1024
 *                    each), optionally followed by B or iB: 64k, 10MiB, 1.5G
 *   TF_OPT_DURATION  a time, kept in microseconds: seconds by default (30,
 *                    1.5, 1e-3), or with a unit us, ms, s, m, h, d (250ms,
 *                    5m, 2h, 1d)
 *   TF_OPT_CHOICE    one of the words of `choices`, "a|b|c"
 *   TF_OPT_TEXT      anything (the default); a flag when `arg` is NULL
 */
enum tf_opt_type {
    TF_OPT_TEXT,
    TF_OPT_INT,
    TF_OPT_SIZE,
    TF_OPT_DURATION,
    TF_OPT_CHOICE
};

/*
 * Reads TEXT as a number of TYPE (TF_OPT_INT, _SIZE or _DURATION) from MIN
 * to MAX (0: no limit) into *OUT. Returns 0, or TF_EUSAGE with a message
 * that starts with WHAT (the option, "--samples"): "WHAT: 'x1' is not a
 * whole number (like 250, 1e6 or 10k)", "WHAT: 0 is out of range (1 to
 * 1000)".
 */
int tf_parse_number(const char *text, int type, uint64_t min, uint64_t max,
                    const char *what, uint64_t *out, struct tf_error *err);

/*
 * Option values given to a job kind: `get` returns the value of a long option
 * (without the dashes) or NULL when it was not given; a flag's value is "1".
 * The positional arguments of a job that does not read lines are "1", "2",
 * and so on, in order. `number` returns the value of a TF_OPT_INT, _SIZE
 * or _DURATION option as its table said to read it (checked against its
 * range already), or DEF when it was not given; `flag` whether a flag was.
 * An option given more than once has its last value; `nth` gives each
 * value in the order given (NTH from 0), and NULL past the last, for the
 * options a job lets its users repeat.
 */
struct tf_opts;
const char *tf_opts_get(const struct tf_opts *opts, const char *name);
uint64_t tf_opts_number(const struct tf_opts *opts, const char *name,
                        uint64_t def);
bool tf_opts_flag(const struct tf_opts *opts, const char *name);
const char *tf_opts_nth(const struct tf_opts *opts, const char *name,
                        size_t nth);

/* One option of a job kind, for parsing and for the help text. A table
 * of the four first fields alone is a table of text options and flags. */
struct tf_option {
    const char *name;    /* long name without dashes */
    int short_name;      /* 0 when none */
    const char *arg;     /* name of its argument, NULL for a flag */
    const char *help;    /* one sentence */
    int type;            /* enum tf_opt_type */
    uint64_t min;        /* a number's range: from MIN */
    uint64_t max;        /* to MAX (0: no limit) */
    const char *choices; /* TF_OPT_CHOICE: the words, "a|b|c" */
};

/*
 * Checks VALUE (NULL for a flag) against OPT's type and range and reads a
 * number; the message names the option ("--NAME: ..."). Returns 0 or
 * TF_EUSAGE. The command calls it for every option it parses.
 */
int tf_option_check(const struct tf_option *opt, const char *value,
                    uint64_t *number, struct tf_error *err);

struct tf_pool;

/*
 * A job kind of the taskfarm command: what the workers do with each task.
 * Only `name` and `run` are required.
 *
 * `init` runs on every rank (master and workers) with the parsed options,
 * before any task, and may allocate `*state`; `fini` frees it. `run` is the
 * task function (see tf_task_fn), called with `state`. With `reads_lines`
 * the tasks are the lines of FILE|- and the command writes each task's
 * output and the joblog; otherwise `master` runs on the master with the
 * pool and produces the tasks itself (for instance with tf_pool_run()),
 * writes what it has to say to IO->out (never to stdout itself), and
 * returns 0, 1 when some task failed, or a negative code. The command has
 * the pool keep the records that --joblog and --results ask for, one a
 * task (see tf_pool_records()), or, with `records_by_hand`, the ones the
 * master writes with tf_pool_record().
 *
 * `examples` are command lines that `taskfarm NAME --help` shows under
 * "Examples:", each ending with a newline; a line may end in a shell
 * comment that says what it does. Each option's `help` should say its
 * default, or that the option is required.
 */
struct tf_job_io {
    FILE *out; /* the job's output: standard output, or --output FILE */
};

struct tf_job_kind {
    const char *name;
    const char *summary;                /* one line for --help */
    const char *usage;                  /* e.g. "[options] FILE|-" */
    const struct tf_option *options;    /* ends with a zeroed entry */
    bool reads_lines;                   /* tasks are the lines of FILE|- */
    int (*init)(void **state, const struct tf_opts *opts,
                struct tf_error *err);
    tf_task_fn run;
    int (*master)(void *state, struct tf_pool *pool,
                  const struct tf_job_io *io, struct tf_error *err);
    void (*fini)(void *state);
    const char *examples; /* for --help; NULL: none */
    bool records_by_hand; /* the master writes the records, one for each
                             unit of its own (tf_pool_record()) */
    /* What a task's record calls it (see struct tf_records), with STATE;
     * NULL: its bytes when they are text. */
    int (*label)(void *state, uint64_t index, const void *task, size_t len,
                 struct tf_buf *out);
};

/* ------------------------------------------------------------------ pools */

/*
 * A pool farms out C functions, as Python's multiprocessing.Pool does, over
 * the ranks of an MPI job or over forked local workers. Every rank runs the
 * same program (SPMD): it registers its task functions, calls tf_init(), and
 * on the master goes on to submit work; on a worker tf_init() serves tasks
 * until the master calls tf_finalize(), and then returns TF_WORKER_DONE (or,
 * for forked workers, the worker process ends), so a program reads:
 *
 *     tf_register("square", square, NULL);
 *     rc = tf_init(&cfg, &pool, &err);
 *     if (rc == TF_WORKER_DONE)
 *         return 0;
 *     ... tf_map(pool, "square", in, sizeof(in[0]), out, sizeof(out[0]), n,
 *                &err) ...
 *     tf_finalize(pool, &err);
 */
#define TF_WORKER_DONE 1

/*
 * Registers FN under NAME, with ARG passed to every call. Task functions are
 * named because their addresses differ between processes: every rank must
 * register the same names before tf_init(). Returns 0, or TF_EUSAGE for a
 * duplicate or empty name, too many functions (64), or a call after
 * tf_init(). NAME is borrowed and must outlive the pool.
 */
int tf_register(const char *name, tf_task_fn fn, void *arg);

/* tf_config.bind: where workers run. */
enum tf_bind {
    TF_BIND_NONE = 0,
    TF_BIND_CORES = 1
};

struct tf_config {
    const char *backend;     /* NULL or "auto": MPI when started by mpirun or
                                srun with several ranks, else "fork";
                                "mpi", "fork", or "loop" (worker threads in
                                this process, for tests) */
    int nworkers;            /* fork and loop: 0 is one per online CPU; MPI:
                                the job's size minus the master */
    uint64_t chunksize;      /* tasks per chunk; 0 adapts (see docs/design.md) */
    uint64_t max_tasks_per_worker; /* 0: no limit. Past it a forked worker
                                is replaced by a fresh process; an MPI rank
                                or a thread cannot be, and runs the
                                initializer again instead */
    int (*initializer)(void *arg); /* on each worker before its first task;
                                a negative return fails the run */
    void *initarg;
    int threads_per_worker;  /* OMP/OpenBLAS/MKL threads per worker; 0: the
                                node's CPUs divided among its workers */
    int gpus_per_worker;     /* 0: none. Else each worker gets this many of
                                its node's GPUs, by its local index, in
                                CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES,
                                HIP_VISIBLE_DEVICES or ZE_AFFINITY_MASK
                                (whichever the node sets) and
                                TASKFARM_GPUS; worker processes only */
    const char *gpus;        /* the node's GPUs, comma-separated, instead
                                of those variables; NULL: from them */
    int bind;                /* TF_BIND_NONE (0): workers run where the
                                system puts them. TF_BIND_CORES: each worker
                                and the processes it starts are pinned to a
                                block of its own of the CPUs it may use
                                (threads_per_worker of them, else its share),
                                split among the workers of its node that the
                                launcher left the same CPUs; a node with fewer
                                CPUs than one each fails the run (TF_EUSAGE).
                                It sets TASKFARM_CPUS (the list), OMP_PLACES,
                                OMP_PROC_BIND and the thread counts to match
                                (but the user's OMP_ variables); worker
                                processes only */
    uint64_t timeout_us;     /* each task's time limit (task->time_limit_us),
                                0 for none */
    unsigned timeout_pct;    /* or, when not 0, this percentage of the median
                                runtime of the tasks that succeeded so far
                                (no limit until 3 have) */
    uint64_t kill_grace_us;  /* SIGTERM to SIGKILL; 0: 2 seconds */
    unsigned retries;        /* a task that fails (res->status != 0) runs
                                again, on another worker when there is one,
                                up to this many times; callers see only its
                                last attempt */
    tf_log_fn log;           /* the log, for this process and its workers
                                (see tf_log()); NULL: none */
    void *log_arg;
    uint64_t mem_per_task;   /* bytes a task needs, 0: not said. A worker
                                starts a task only while its node (or its
                                cgroup) has that much memory available, and
                                waits until it has; a task that needs more
                                than the node's total fails (status 1, a
                                message on its stderr) */
};

/* Fills CFG with the defaults (all zero: auto backend, adaptive chunks). */
void tf_config_init(struct tf_config *cfg);

/*
 * Starts the pool: forks the workers, or joins the MPI job. On the master
 * returns 0 with *OUT set. On a worker it serves tasks until the master
 * calls tf_finalize(), then returns TF_WORKER_DONE (MPI, loop) or ends the
 * process (fork). Returns a negative code on failure. Call it once.
 */
int tf_init(const struct tf_config *cfg, struct tf_pool **out,
            struct tf_error *err);

/* Master: stops the workers and frees POOL. Returns the first error met
 * while stopping them. NULL is a no-op. */
int tf_finalize(struct tf_pool *pool, struct tf_error *err);

/* Number of workers. */
int tf_pool_nworkers(const struct tf_pool *pool);

/* The backend the pool runs on: "mpi", "fork" or "loop". */
const char *tf_pool_backend(const struct tf_pool *pool);

/* Copies to BUF (SIZE bytes, SIZE > 0) the first line of the version of the
 * MPI library this libtaskfarm was built with ("Open MPI v4.1.4, ...",
 * "MPICH Version: 4.0.2"); callable at any time, MPI started or not.
 * Returns 0, or TF_EUSAGE (BUF empty) when it has no MPI transport. */
int tf_mpi_version(char *buf, size_t size);

/*
 * Master: sends the LEN bytes at DATA once to every worker, where each later
 * task sees them as task->shared (for instance a matrix every task
 * multiplies by). A later call replaces them. DATA is copied.
 */
int tf_pool_share(struct tf_pool *pool, const void *data, size_t len,
                  struct tf_error *err);

/*
 * Master: tf_pool_share() without the copy, for large data. Returns LEN
 * writable bytes (aligned for any type) to fill, or NULL with ERR set;
 * tf_pool_share_commit() then sends them to every worker as tf_pool_share()
 * does. The bytes belong to the pool: do not change them after the commit.
 * Large shared data (1 MiB or more) costs no memory or time per worker: on
 * the fork backend it lives in one shared memory file that every worker
 * maps; under MPI the buffer is in an MPI shared memory window of the
 * master's node, which the workers there map, and the commit broadcasts it
 * (a tree, not the master to each rank) to one window on each other node,
 * which that node's workers map. Under MPI, tf_pool_share_buffer() waits
 * for the workers on the master's node to reach it (a busy one finishes
 * its task first).
 */
void *tf_pool_share_buffer(struct tf_pool *pool, size_t len,
                           struct tf_error *err);
int tf_pool_share_commit(struct tf_pool *pool, struct tf_error *err);

/*
 * Returns 1 when shared data of LEN bytes from tf_pool_share_buffer()
 * reaches every worker as a mapping of the master's own memory (LEN of 1
 * MiB or more, with forked workers or MPI ranks all on the master's node):
 * tasks then see it also as
 * task->shared_rw, and what they write there, the master sees in the
 * buffer tf_pool_share_buffer() returned, once their results have
 * arrived. Tasks writing disjoint parts of it need no lock. Returns 0 when
 * the workers get copies (small data; MPI ranks on several nodes, where the
 * workers of each other node share a copy of their own): tasks then see
 * task->shared_rw NULL and send what they make in their results. A task
 * should check task->shared_rw itself, as a system that cannot make a
 * memory file gives copies after all.
 */
int tf_pool_share_maps(const struct tf_pool *pool, size_t len);

/*
 * Master-side callbacks of tf_pool_run(). `next` appends task INDEX (0, 1,
 * 2, ...) to TASK and returns 1, or returns 0 when there are no more tasks,
 * or a negative code to stop. `done` receives each finished task's result
 * (valid only during the call); a negative return stops the run.
 */
typedef int (*tf_next_fn)(void *arg, uint64_t index, struct tf_buf *task);
/* `next`'s answer for "no task now, but there may be once more results
 * arrive" (a crawler whose frontier is empty while pages are still being
 * fetched): the pool asks again after each result, and the run ends when
 * `next` says this, no submitted task is queued and no task is running. */
#define TF_LATER 2
typedef int (*tf_done_fn)(void *arg, uint64_t index,
                          const struct tf_result *res);

#define TF_UNORDERED 1 /* flag: deliver results as they complete */

/*
 * Master: runs the task function FN on every task NEXT produces, calling
 * DONE for each result: in task order, or as completed with TF_UNORDERED.
 * Tasks are produced as workers need them, so an endless or huge stream
 * never sits in memory. A run whose tasks submit tasks, or whose `next`
 * answers TF_LATER, grows as it goes and ends when nothing is left to do
 * and nothing runs. A task that fails does not stop the others: the run
 * returns TF_ETASK with ERR naming the first failed task (by index), after
 * all tasks ran. Other negative codes: a callback's, or a failure of the
 * pool.
 */
int tf_pool_run(struct tf_pool *pool, const char *fn, tf_next_fn next,
                void *next_arg, tf_done_fn done, void *done_arg, int flags,
                struct tf_error *err);

/*
 * Master, while tf_pool_run() runs (from its `next` or `done` callback, or a
 * submit hook): queues a task of LEN bytes at DATA (copied) for the run's
 * task function. Queued tasks go out before `next` is asked for more, in
 * the order they were queued, and get the next indexes. Returns 0,
 * TF_ENOMEM, or TF_EUSAGE when no run is going on.
 */
int tf_pool_submit(struct tf_pool *pool, const void *data, size_t len,
                   struct tf_error *err);

/*
 * The master's hook for the tasks that tasks submit (tf_result_submit()):
 * called for each, in the order they arrive, with the index of the task
 * that submitted it. It returns 1 to queue the task as it is, 0 to drop it
 * (it may queue other tasks with tf_pool_submit() instead, or keep the
 * work in its own list for `next` to hand out), or a negative code, which
 * ends the run as a failing `done` would. DATA is valid during the call.
 */
typedef int (*tf_submit_fn)(void *arg, struct tf_pool *pool, uint64_t parent,
                            const void *data, size_t len);

/* Master: sets the submit hook for the tf_pool_run() calls that follow
 * (NULL: queue every submitted task). */
void tf_pool_on_submit(struct tf_pool *pool, tf_submit_fn fn, void *arg);

/*
 * Master: keeps a record of every task the pool's runs finish from now on,
 * as the taskfarm command does of a task file's lines: a line of a joblog
 * (GNU Parallel's format) in JOBLOG, and a checksummed record with the
 * task's output in the results file RESULTS (read it with `taskfarm
 * results`); NULL for either: none. A task's record is written once the
 * run's `done` has taken its result, and names the task by the text LABEL
 * makes of it (the task INDEX of its run, its LEN bytes at TASK), else by
 * its bytes when they are printable text, else as "binary task of LEN
 * bytes". Tasks are numbered 1, 2, ... across the pool's runs. A joblog
 * is truncated unless APPEND; a results file is appended to. Each is
 * locked while open; records are synced at most SYNC_US later (0: at
 * once). tf_finalize(), or a call with R NULL, closes them. Returns 0, or
 * TF_EUSAGE (a file that cannot be opened, or another run has open),
 * TF_EINPUT (RESULTS is not a results file), TF_ESYS.
 */
struct tf_records {
    const char *joblog;
    const char *results;
    bool append;
    uint64_t sync_us;
    int (*label)(void *arg, uint64_t index, const void *task, size_t len,
                 struct tf_buf *out);
    void *label_arg;
    bool by_hand; /* the runs record nothing: the program writes each
                     record with tf_pool_record(), for a unit of work
                     that is not a task (a URL of a task's several) */
};
int tf_pool_records(struct tf_pool *pool, const struct tf_records *r,
                    struct tf_error *err);

/*
 * Master: one record written by hand (see tf_records' by_hand), numbered
 * on from the records before it: TEXT (LEN bytes) names what was done,
 * HOST where (NULL: this host), START_US when (microseconds since the
 * epoch), RUNTIME_US how long; STATUS (0: success) and SIGNAL how it ended;
 * OUT and ERR its output, kept in the results file (the joblog counts
 * OUT's bytes). A record is dropped when no records are kept. Returns 0,
 * or the error of writing them.
 */
struct tf_record {
    const void *text;
    size_t len;
    const char *host;
    int64_t start_us;
    uint64_t runtime_us;
    int status;
    int signal;
    const void *out;
    size_t out_len;
    const void *err;
    size_t err_len;
    uint64_t receive; /* the joblog's Receive, when not OUT_LEN: the
                         bytes the work took in (0: OUT_LEN) */
};
int tf_pool_record(struct tf_pool *pool, const struct tf_record *rec,
                   struct tf_error *err);

/*
 * Master: OUT[i] = FN(IN[i]) for N inputs of IN_SIZE bytes each; each
 * result must be OUT_SIZE bytes and lands in place, as Pool.map. A task that
 * fails or returns another size leaves its output zeroed and makes the call
 * return TF_ETASK naming the first such index.
 */
int tf_map(struct tf_pool *pool, const char *fn, const void *in,
           size_t in_size, void *out, size_t out_size, size_t n,
           struct tf_error *err);

/* Master: as tf_map(), but each result goes to DONE as it completes
 * (Pool.imap_unordered); use DONE to reduce results on the master. */
int tf_imap_unordered(struct tf_pool *pool, const char *fn, const void *in,
                      size_t in_size, size_t n, tf_done_fn done, void *arg,
                      struct tf_error *err);

/* Master: tasks of variable length: ARGS[i] of LENS[i] bytes (packed
 * arguments, as Pool.starmap); results go to DONE in task order. */
int tf_starmap(struct tf_pool *pool, const char *fn, const void *const *args,
               const size_t *lens, size_t n, tf_done_fn done, void *arg,
               struct tf_error *err);

/* Master: runs one task of LEN bytes and appends its result to OUT
 * (Pool.apply). Returns TF_ETASK with the task's message if it failed. */
int tf_apply(struct tf_pool *pool, const char *fn, const void *in, size_t len,
             struct tf_buf *out, struct tf_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* TASKFARM_H */
