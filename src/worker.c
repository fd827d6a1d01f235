/* worker.c - the worker's loop: takes chunks of tasks, runs them, sends
 * their results and output back */
#include "session.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"
#include "cgroup.h"
#include "error.h"
#include "schedule.h"
#include "util.h"
#include "wire.h"

/* A worker holds at most this many chunks: the one it runs and the next
 * (tf__sched_prefetch() says when it gets the next one early). */
#define PREFETCH 2
/* A worker sends what it has after this long even mid-chunk. */
#define PARTIAL_US 100000u
/* ... or once its results reach this size. */
#define PARTIAL_BYTES ((size_t)4 << 20)

struct worker {
    bool gpus_given; /* worker_gpus() ran: once, a RESET keeps them */
    int ncpus;       /* worker_bind() ran: the CPUs it is pinned to */
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
    bool usage_set;       /* the task said what it used */
    uint64_t cpu_us;      /* ... its CPU time */
    uint64_t peak_bytes;  /* ... its peak memory, 0: not known */
    unsigned usage_flags; /* ... TF_USAGE_* */
    bool procs;           /* ... it started processes */
    uint64_t oom_base;    /* tf__oom_kills() when last read, or UINT64_MAX */
    uint64_t oom_read_us; /* ... when it was read */
    bool reserved;        /* it holds a reservation of memory */
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

    if (wk == NULL)
        return;
    if (wk->t->task_pgid != NULL)
        *wk->t->task_pgid = pgid;
    /* The count to compare with should the task die of SIGKILL: read
     * again when a second old (a read costs some microseconds, as much as
     * a small task's other bookkeeping). */
    if (pgid != 0) {
        uint64_t now = tf__now_us();

        wk->procs = true;
        if (wk->oom_base == UINT64_MAX || now - wk->oom_read_us >= 1000000u) {
            wk->oom_base = tf__oom_kills();
            wk->oom_read_us = now;
        }
    }
}

void
tf_result_set_usage(struct tf_result *res, uint64_t cpu_us,
                    uint64_t peak_bytes, unsigned flags)
{
    struct worker *wk = res->engine;

    if (wk == NULL)
        return;
    wk->usage_set = true;
    wk->cpu_us = cpu_us;
    wk->peak_bytes = peak_bytes;
    wk->usage_flags = flags;
}

/* Whether task R, which started processes, was ended by the kernel's
 * out-of-memory killer: SIGKILL (or a shell's 137) while the count of
 * such kills rose, and not by its time limit. */
static bool
killed_for_memory(struct worker *wk, const struct tf_result *r)
{
    uint64_t base = wk->oom_base;
    uint64_t now;

    if (!wk->procs || base == UINT64_MAX || r->timed_out ||
        (r->signal != SIGKILL && r->status != 128 + SIGKILL))
        return false;
    now = tf__oom_kills();
    wk->oom_base = now;
    wk->oom_read_us = tf__now_us();
    return now != UINT64_MAX && now > base;
}

/*
 * Waits until the node has the NEED bytes task ID needs (--mem-per-task,
 * or, with TF__MEM_ESTIMATED, what --history estimates) and reserves them.
 * Returns 0 to run it, 1 when it can never have them (R then holds its
 * failure), or a negative code. An estimate larger than all there is
 * holds nothing back: the task runs as it would without.
 */
static int
wait_for_memory(struct worker *wk, uint64_t id, uint64_t need,
                struct tf_result *r)
{
    uint64_t nap_us = 10000;
    uint64_t told_us = 0;
    uint64_t avail, total;
    char b1[16], b2[16];
    struct timespec nap;
    int got;

    bool estimated = (need & TF__MEM_ESTIMATED) != 0;

    need &= ~TF__MEM_ESTIMATED;
    for (;;) {
        got = tf__mem_reserve(need, &avail, &total);
        if (got == 1 || (got < 0 && avail >= need)) {
            wk->reserved = got == 1;
            if (told_us != 0)
                tf__log(TF_LOG_INFO, "task %llu: %s available, starting it",
                        (unsigned long long)id,
                        tf__fmt_bytes(b1, sizeof(b1), avail));
            return 0;
        }
        if (need > total && estimated) {
            tf__log(TF_LOG_INFO,
                    "task %llu: its peak in --history, %s, is more than the "
                    "%s of %s: started without waiting",
                    (unsigned long long)id,
                    tf__fmt_bytes(b1, sizeof(b1), need),
                    tf__fmt_bytes(b2, sizeof(b2), total), wk->host);
            return 0;
        }
        if (need > total) {
            /* It fails with a message on its stderr, where its output
             * goes, rather than wait for ever. */
            r->status = 1;
            tf__fmt_bytes(b1, sizeof(b1), need);
            tf__fmt_bytes(b2, sizeof(b2), total);
            return tf_buf_printf(&r->err,
                                 "taskfarm: the task needs %s of memory, "
                                 "more than the %s of %s: not run\n",
                                 b1, b2, wk->host) < 0
                       ? TF_ENOMEM
                       : 1;
        }
        /* Said at once, then once a minute while it lasts. */
        if (told_us == 0 || tf__now_us() - told_us >= 60000000u) {
            tf__log(TF_LOG_INFO,
                    "waits for memory: task %llu needs %s, %s has %s "
                    "free for it",
                    (unsigned long long)id,
                    tf__fmt_bytes(b1, sizeof(b1), need), wk->host,
                    tf__fmt_bytes(b2, sizeof(b2), avail));
            told_us = tf__now_us();
        }
        nap.tv_sec = (time_t)(nap_us / 1000000u);
        nap.tv_nsec = (long)(nap_us % 1000000u) * 1000;
        nanosleep(&nap, NULL);
        if (nap_us < 1000000)
            nap_us *= 2;
    }
}

/* CPU time, user and system, of the worker so far: of its process, with
 * the threads a task starts (OpenMP), where the worker is one; of its
 * thread where workers are threads of one process. */
static uint64_t
worker_cpu_us(const struct worker *wk)
{
    struct rusage ru;

    if (getrusage(wk->t->ops == &tf__transport_loop ? RUSAGE_THREAD
                                                    : RUSAGE_SELF,
                  &ru) < 0)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
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

int
tf__thread_share(const struct tf__session_cfg *cfg, int node_workers)
{
    const char *cpus_per_task = getenv("SLURM_CPUS_PER_TASK");
    int n = cfg->threads_per_worker;

    if (n <= 0 && getenv("SLURM_STEP_ID") != NULL && cpus_per_task != NULL)
        n = atoi(cpus_per_task); /* srun -c N: N each */
    if (n <= 0)
        n = tf__online_cpus() / (node_workers > 0 ? node_workers : 1);
    return n < 1 ? 1 : n;
}

/* The variables that name a node's GPUs, and the one each lets through. */
static const char *const gpu_vars[] = {"CUDA_VISIBLE_DEVICES",
                                       "ROCR_VISIBLE_DEVICES",
                                       "HIP_VISIBLE_DEVICES",
                                       "ZE_AFFINITY_MASK", NULL};

/*
 * Gives the worker its cfg->gpus_per_worker GPUs of its node's: the K
 * starting at K times its local index, of the --gpus list or of the first
 * of gpu_vars that is set. They replace that variable (all of them for a
 * --gpus list) and are TASKFARM_GPUS, for the worker and its tasks.
 */
static int
worker_gpus(struct worker *wk, struct tf_error *err)
{
    int k = wk->cfg->gpus_per_worker;
    int need = k * wk->t->node_workers;
    int first = k * wk->t->local_worker;
    const char *var = NULL;
    const char *list = wk->cfg->gpus;
    struct tf_buf mine;
    const char *p;
    int n = 0;
    int i;
    int rc = 0;

    for (i = 0; list == NULL && gpu_vars[i] != NULL; i++) {
        list = getenv(gpu_vars[i]);
        var = gpu_vars[i];
        if (list != NULL && list[0] == '\0')
            list = NULL;
    }
    if (list == NULL)
        return tf__error(err, TF_EUSAGE,
                         "--gpus-per-worker %d: no GPUs named on %s (none of "
                         "CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES, "
                         "HIP_VISIBLE_DEVICES, ZE_AFFINITY_MASK is set; "
                         "--gpus LIST names them)",
                         k, wk->host);
    tf_buf_init(&mine, 0);
    for (p = list; rc == 0 && *p != '\0'; n++) {
        size_t len = strcspn(p, ",");

        if (len == 0)
            rc = tf__error(err, TF_EUSAGE, "%s: an empty GPU name in '%s'",
                           var != NULL ? var : "--gpus", list);
        else if (n >= first && n < first + k)
            rc = tf_buf_printf(&mine, "%s%.*s", n > first ? "," : "",
                               (int)len, p);
        p += len + (p[len] == ',');
    }
    if (rc == 0 && n < need)
        rc = tf__error(err, TF_EUSAGE,
                       "--gpus-per-worker %d: the %d workers on %s need %d "
                       "GPUs, and %s names %d",
                       k, wk->t->node_workers, wk->host, need,
                       var != NULL ? var : "--gpus", n);
    for (i = 0; rc == 0 && gpu_vars[i] != NULL; i++)
        if ((var == NULL || strcmp(var, gpu_vars[i]) == 0) &&
            setenv(gpu_vars[i], (const char *)mine.data, 1) < 0)
            rc = tf__error_errno(err, TF_ESYS, errno, "setenv");
    if (rc == 0 && setenv("TASKFARM_GPUS", (const char *)mine.data, 1) < 0)
        rc = tf__error_errno(err, TF_ESYS, errno, "setenv");
    tf_buf_cleanup(&mine);
    return rc;
}

/*
 * Pins the worker (--bind cores) and the processes it starts to its own
 * block of the CPUs it shares with the other workers of its node:
 * cfg->threads_per_worker CPUs, else its share, in core order, from its
 * index among them times that. Names them in TASKFARM_CPUS and, unless the
 * user set them, OMP_PLACES and OMP_PROC_BIND; sets wk->ncpus.
 */
static int
worker_bind(struct worker *wk, struct tf_error *err)
{
    int ids[CPU_SETSIZE];
    int sharers = wk->t->cpu_sharers > 0 ? wk->t->cpu_sharers : 1;
    int want = wk->cfg->threads_per_worker;
    struct tf_buf all;
    struct tf_buf mine;
    struct tf_buf places;
    const int *block;
    int size = 0;
    int n;
    int i;
    int rc;

    n = tf__cpus_allowed(ids, CPU_SETSIZE, err);
    if (n < 0)
        return n;
    tf_buf_init(&all, 0);
    tf_buf_init(&mine, 0);
    tf_buf_init(&places, 0);
    rc = tf__cpu_list(ids, n, &all);
    if (rc == 0 && wk->t->cpus_overlap)
        rc = tf__error(err, TF_EUSAGE,
                       "--bind cores: the launcher gave the workers on %s "
                       "CPU sets that overlap and differ (this one %s); "
                       "have it bind each rank to cores of its own, or to "
                       "none",
                       wk->host, (const char *)all.data);
    else if (rc == 0)
        size = tf__cpu_block_size(n, sharers, want);
    if (rc == 0 && size == 0 && want > 0)
        rc = tf__error(err, TF_EUSAGE,
                       "--bind cores: the workers on %s (%d) need %d CPUs "
                       "for --threads-per-worker %d, and share %d (%s)",
                       wk->host, sharers, sharers * want, want, n,
                       (const char *)all.data);
    else if (rc == 0 && size == 0)
        rc = tf__error(err, TF_EUSAGE,
                       "--bind cores: the workers on %s (%d) share %d CPUs "
                       "(%s), fewer than one each; run fewer workers or "
                       "--bind none",
                       wk->host, sharers, n, (const char *)all.data);
    block = ids + (size_t)wk->t->cpu_sharer * (size_t)size;
    if (rc == 0)
        rc = tf__cpu_bind(block, size, err);
    if (rc == 0)
        rc = tf__cpu_list(block, size, &mine);
    for (i = 0; rc == 0 && i < size; i++)
        rc = tf_buf_printf(&places, "%s{%d}", i > 0 ? "," : "", block[i]);
    /* (The lists' own failures, which name no reason.) */
    if (rc == TF_ENOMEM || rc == TF_EINPUT)
        rc = tf__error(err, rc, "out of memory");
    if (rc == 0 &&
        (setenv("TASKFARM_CPUS", (const char *)mine.data, 1) < 0 ||
         setenv("OMP_PLACES", (const char *)places.data, 0) < 0 ||
         setenv("OMP_PROC_BIND", "close", 0) < 0))
        rc = tf__error_errno(err, TF_ESYS, errno, "setenv");
    if (rc == 0)
        wk->ncpus = size;
    tf_buf_cleanup(&all);
    tf_buf_cleanup(&mine);
    tf_buf_cleanup(&places);
    return rc;
}

/* Pins the worker to its CPUs (--bind cores), sets its share of threads
 * for the BLAS and OpenMP libraries its tasks use, unless the user did,
 * gives it its GPUs, and runs the initializer. */
static int
worker_init(struct worker *wk, struct tf_error *err)
{
    static const char *const vars[] = {"OMP_NUM_THREADS",
                                       "OPENBLAS_NUM_THREADS",
                                       "MKL_NUM_THREADS", NULL};
    char value[16];
    int n;
    int i;
    int rc;

    /* Once: a RESET keeps the CPUs, and the set it would split is now the
     * worker's own. */
    if (wk->cfg->bind == TF_BIND_CORES && wk->ncpus == 0) {
        rc = worker_bind(wk, err);
        if (rc < 0)
            return rc;
    }
    n = wk->ncpus > 0 ? wk->ncpus
                      : tf__thread_share(wk->cfg, wk->t->node_workers);
    snprintf(value, sizeof(value), "%d", n);
    for (i = 0; vars[i] != NULL; i++)
        setenv(vars[i], value, 0);
    tf__set_library_threads(n);
    if (wk->cfg->gpus_per_worker > 0 && !wk->gpus_given) {
        rc = worker_gpus(wk, err);
        if (rc < 0)
            return rc;
        wk->gpus_given = true;
    }
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
        /* The transport maps it read-write, shared with the master when
         * the master maps the same memory. */
        wk->share_rw = wk->t->mapped_shared ? (void *)(uintptr_t)p : NULL;
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
    uint64_t cpu0 = 0;
    uint64_t mem;
    bool measure;
    uint64_t t1;
    int i;
    int rc;

    for (i = 1; i < wk->nqueue; i++)
        wk->queue[i - 1] = wk->queue[i];
    wk->nqueue--;
    rc = tf__wire_work_open(&wr, chunk.data + TF__WIRE_HDR,
                            chunk.len - TF__WIRE_HDR, err);
    measure = (wr.fn & TF__WORK_MEASURE) != 0;
    wr.fn &= ~TF__WORK_MEASURE;
    if (rc == 0 && wr.fn >= (uint32_t)wk->cfg->nfns)
        rc = tf__error(err, TF_EPROTO, "work for task function %u of %d",
                       (unsigned)wr.fn, wk->cfg->nfns);
    if (rc == 0)
        fn = &wk->cfg->fns[wr.fn];
    task.worker = wk->t->rank - 1;
    task.nworkers = wk->t->nworkers;
    task.host = wk->host;
    task.node = wk->t->node;
    task.nnodes = wk->t->nnodes;
    task.local_worker = wk->t->local_worker;
    task.local_nworkers = wk->t->node_workers;
    task.shared = wk->share_len > 0 ? wk->share_p : NULL;
    task.shared_len = wk->share_len;
    task.shared_rw = wk->share_len > 0 ? wk->share_rw : NULL;
    task.time_limit_us = wk->limit_us;
    task.kill_grace_us = wk->grace_us;
    /* One clock read per task: a task starts when the one before it ended,
     * and wall-clock starts are derived from the chunk's first reading. */
    wall0 = tf__wall_us();
    t1 = mono0 = tf__now_us();
    while (rc == 0 &&
           tf__wire_work_next(&wr, &task.id, &mem, &p, &n) == 1) {
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
        wk->usage_set = false;
        wk->procs = false;
        if (mem != 0) {
            rc = wait_for_memory(wk, task.id, mem, r);
            /* The wait is not the task's time. */
            t0 = tf__now_us();
            wall0 = tf__wall_us() - (int64_t)(t0 - mono0);
        }
        wres.start_us = wall0 + (int64_t)(t0 - mono0);
        if (measure)
            cpu0 = worker_cpu_us(wk);
        if (rc == 0)
            rc = fn->fn(fn->arg, &task, r);
        else if (rc == 1)
            rc = 0; /* failed without running */
        t1 = tf__now_us();
        if (wk->reserved) {
            tf__mem_release();
            wk->reserved = false;
        }
        /* A task in the worker used what the worker did meanwhile; one
         * that ran processes says what they used. */
        if (!wk->usage_set) {
            wk->cpu_us = measure ? worker_cpu_us(wk) - cpu0 : 0;
            wk->peak_bytes = 0;
            wk->usage_flags = 0;
        }
        if (rc == 0 && killed_for_memory(wk, r)) {
            char b[16];

            wk->usage_flags |= TF_USAGE_OOM;
            tf__log(TF_LOG_WARN,
                    "task %llu was killed by the kernel for lack of memory "
                    "(peak %s)",
                    (unsigned long long)task.id,
                    tf__fmt_bytes(b, sizeof(b), wk->peak_bytes));
        }
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
        /* Measurements go to the master when a results file keeps them. */
        wres.cpu_us = measure ? wk->cpu_us : 0;
        wres.peak_bytes = measure ? wk->peak_bytes : 0;
        if (wk->usage_flags & TF_USAGE_OOM)
            wres.signal |= TF__SIG_OOM;
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

int
tf__worker_main(struct tf__transport *t, void *arg)
{
    const struct tf__session_cfg *cfg = arg;
    struct tf_buf queue[PREFETCH + 1];
    struct tf_error err;
    struct worker wk;
    int rc;
    int i;

    memset(&wk, 0, sizeof(wk));
    wk.oom_base = UINT64_MAX;
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

