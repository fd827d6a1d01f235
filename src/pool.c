/* pool.c - tf_pool_*: Pool.map and friends for C, over the farm's session */
#include "pool.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "results.h"
#include "session.h"
#include "sink.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#define MAX_FNS 64

/* Task functions are registered per process, before tf_init(), the same on
 * every rank; the index in this table is what goes over the wire. */
static struct tf__fn fns[MAX_FNS];
static int nfns;
static bool initialised;

struct run_ctx;

struct tf_pool {
    struct tf__session *session; /* owned */
    struct run_ctx *run;         /* the tf_pool_run() going on, or NULL */
    tf_submit_fn on_submit;
    void *on_submit_arg;
    /* tf_pool_records(): where the tasks' records go, or NULL */
    struct tf__sink *sink;       /* owned */
    struct tf__results *results; /* owned */
    struct tf_records rec;       /* its label */
    uint64_t seq;                /* tasks recorded by the runs before */
    struct tf_buf label;         /* owned */
};

static int records_close(struct tf_pool *pool, struct tf_error *err);

int
tf_register(const char *name, tf_task_fn fn, void *arg)
{
    int i;

    if (initialised || name == NULL || name[0] == '\0' || fn == NULL ||
        nfns == MAX_FNS)
        return TF_EUSAGE;
    for (i = 0; i < nfns; i++)
        if (strcmp(fns[i].name, name) == 0)
            return TF_EUSAGE;
    fns[nfns].name = name;
    fns[nfns].fn = fn;
    fns[nfns].arg = arg;
    nfns++;
    return 0;
}

void
tf_config_init(struct tf_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
}

int
tf_init(const struct tf_config *cfg, struct tf_pool **out,
        struct tf_error *err)
{
    struct tf__session_cfg scfg;
    struct tf_config defaults;
    struct tf_pool *pool;
    const char *name;
    int worker_rc = 0;
    int rc;

    *out = NULL;
    if (cfg == NULL) {
        tf_config_init(&defaults);
        cfg = &defaults;
    }
    if (initialised)
        return tf__error(err, TF_EUSAGE, "tf_init: the pool was started "
                                         "already");
    if (nfns == 0)
        return tf__error(err, TF_EUSAGE,
                         "tf_init: no task function registered");
    name = cfg->backend;
    if (name == NULL || strcmp(name, "auto") == 0)
        name = tf__mpi_launched() ? "mpi" : "fork";
    memset(&scfg, 0, sizeof(scfg));
    scfg.transport = tf__transport_find(name);
    if (scfg.transport == NULL)
        return tf__error(err, TF_EUSAGE, "tf_init: no backend '%s'%s", name,
                         strcmp(name, "mpi") == 0 ? " (built without MPI)"
                                                   : "");
    if (cfg->nworkers < 0 || cfg->threads_per_worker < 0 ||
        cfg->gpus_per_worker < 0)
        return tf__error(err, TF_EUSAGE, "tf_init: negative worker, thread "
                                         "or GPU count");
    /* Threads share one environment: GPUs are given to processes. */
    if (cfg->gpus_per_worker > 0 && strcmp(name, "loop") == 0)
        return tf__error(err, TF_EUSAGE, "tf_init: GPUs per worker need "
                                         "worker processes (fork or mpi), "
                                         "not the loop backend");
    /* ... and so are CPUs: the loop's threads are not pinned one by one. */
    if (cfg->bind != TF_BIND_NONE && cfg->bind != TF_BIND_CORES)
        return tf__error(err, TF_EUSAGE, "tf_init: bind %d is neither "
                                         "TF_BIND_NONE nor TF_BIND_CORES",
                         cfg->bind);
    if (cfg->bind == TF_BIND_CORES && strcmp(name, "loop") == 0)
        return tf__error(err, TF_EUSAGE, "tf_init: binding workers to cores "
                                         "needs worker processes (fork or "
                                         "mpi), not the loop backend");
    scfg.nworkers = cfg->nworkers > 0 ? cfg->nworkers : tf__online_cpus();
    scfg.chunk = cfg->chunksize;
    scfg.max_tasks_per_worker = cfg->max_tasks_per_worker;
    scfg.retries = cfg->retries;
    scfg.timeout_us = cfg->timeout_us;
    scfg.timeout_pct = cfg->timeout_pct;
    scfg.kill_grace_us =
        cfg->kill_grace_us != 0 ? cfg->kill_grace_us : 2000000;
    scfg.threads_per_worker = cfg->threads_per_worker;
    scfg.gpus_per_worker = cfg->gpus_per_worker;
    scfg.mem_per_task = cfg->mem_per_task;
    scfg.gpus = cfg->gpus;
    scfg.bind = cfg->bind;
    scfg.initializer = cfg->initializer;
    scfg.initarg = cfg->initarg;
    scfg.fns = fns;
    scfg.nfns = nfns;
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    initialised = true;
    tf__log_set(cfg->log, cfg->log_arg);
    rc = tf__session_open(&scfg, &pool->session, &worker_rc, err);
    if (rc != 0) {
        free(pool);
        if (rc == TF__WORKER_DONE) {
            if (worker_rc != 0)
                return tf__error(err, TF_ESYS, "the worker failed");
            return TF_WORKER_DONE;
        }
        initialised = false;
        return rc;
    }
    *out = pool;
    return 0;
}

int
tf_finalize(struct tf_pool *pool, struct tf_error *err)
{
    int rc, rc2;

    if (pool == NULL)
        return 0;
    rc = tf_pool_records(pool, NULL, err);
    rc2 = tf__session_close(pool->session, rc == 0 ? err : NULL);
    tf_buf_cleanup(&pool->label);
    free(pool);
    initialised = false;
    return rc < 0 ? rc : rc2;
}

/* Closes the files of the pool's records: in order with ERR, else
 * dropping what waits (a pool that failed). */
static int
records_close(struct tf_pool *pool, struct tf_error *err)
{
    int rc = tf__sink_close(pool->sink, err);
    int rc2 = tf__results_close(pool->results, rc == 0 ? err : NULL);

    pool->sink = NULL;
    pool->results = NULL;
    return rc < 0 ? rc : rc2;
}

int
tf_pool_records(struct tf_pool *pool, const struct tf_records *r,
                struct tf_error *err)
{
    struct tf__sink_opts so;
    int rc;

    if (pool == NULL || pool->run != NULL)
        return tf__error(err, TF_EUSAGE, "tf_pool_records: %s",
                         pool == NULL ? "no pool" : "a run is going on");
    rc = records_close(pool, err);
    if (rc < 0 || r == NULL || (r->joblog == NULL && r->results == NULL))
        return rc;
    pool->rec = *r;
    memset(&so, 0, sizeof(so));
    so.out_fd = -1; /* records only: the run's `done` has the output */
    so.err_fd = -1;
    so.joblog = r->joblog;
    so.append = r->append;
    so.sync_us = r->sync_us;
    if (r->results != NULL)
        rc = tf__results_open(r->results, r->sync_us, &pool->results, err);
    so.results = pool->results;
    if (rc == 0)
        rc = tf__sink_open(&so, &pool->sink, err);
    if (rc == 0)
        rc = tf__sink_start(pool->sink, NULL, NULL, err);
    if (rc < 0)
        (void)records_close(pool, NULL);
    return rc;
}

struct tf__session *
tf__pool_session(struct tf_pool *pool)
{
    return pool->session;
}

void
tf__pool_abort(struct tf_pool *pool)
{
    if (pool == NULL)
        return;
    (void)records_close(pool, NULL);
    tf__session_abort(pool->session);
    tf_buf_cleanup(&pool->label);
    free(pool);
    initialised = false;
}

int
tf_pool_nworkers(const struct tf_pool *pool)
{
    return tf__session_nworkers(pool->session);
}

const char *
tf_pool_backend(const struct tf_pool *pool)
{
    return tf__session_transport(pool->session);
}

int
tf_mpi_version(char *buf, size_t size)
{
#ifdef TF_HAVE_MPI
    tf__mpi_version(buf, size);
    return 0;
#else
    buf[0] = '\0';
    (void)size;
    return TF_EUSAGE;
#endif
}

void *
tf_pool_share_buffer(struct tf_pool *pool, size_t len, struct tf_error *err)
{
    return tf__session_share_buffer(pool->session, len, err);
}

int
tf_pool_share_maps(const struct tf_pool *pool, size_t len)
{
    return tf__session_share_maps(pool->session, len) ? 1 : 0;
}

int
tf_pool_share_commit(struct tf_pool *pool, struct tf_error *err)
{
    return tf__session_share_commit(pool->session, err);
}

int
tf_pool_share(struct tf_pool *pool, const void *data, size_t len,
              struct tf_error *err)
{
    return tf__session_share(pool->session, data, len, err);
}

/* Finds FN in the table. */
static int
fn_index(const char *fn, uint32_t *out, struct tf_error *err)
{
    int i;

    for (i = 0; i < nfns; i++) {
        if (strcmp(fns[i].name, fn) == 0) {
            *out = (uint32_t)i;
            return 0;
        }
    }
    return tf__error(err, TF_EUSAGE, "no task function '%s' was registered",
                     fn);
}

/* ------------------------------------------------------------ tf_pool_run */

struct run_ctx {
    struct tf_pool *pool;
    tf_next_fn next;
    void *next_arg;
    tf_done_fn done;
    void *done_arg;
    struct tf_buf task; /* owned */
    uint64_t index;     /* tasks handed out */
    uint64_t finished;  /* of which `done` has seen */
    bool next_ended;    /* `next` returned 0 */
    /* Tasks queued by tf_pool_submit(), not handed out yet: wire byte
     * strings, the first at QHEAD. */
    struct tf_buf queue; /* owned */
    size_t qhead;
    uint64_t first_failed; /* index + 1 of the first failed task, or 0 */
    char failed_msg[256];
};

int
tf_result_submit(struct tf_result *res, const void *data, size_t len)
{
    if (len > UINT32_MAX)
        return TF_EINPUT;
    return tf__wire_put_bytes(&res->submitted, data, len);
}

int
tf_pool_submit(struct tf_pool *pool, const void *data, size_t len,
               struct tf_error *err)
{
    struct run_ctx *c = pool != NULL ? pool->run : NULL;
    int rc;

    if (c == NULL)
        return tf__error(err, TF_EUSAGE, "tf_pool_submit: no run is going "
                                         "on");
    if (len > UINT32_MAX)
        return tf__error(err, TF_EINPUT, "tf_pool_submit: a task of %zu "
                                         "bytes is too large",
                         len);
    rc = tf__wire_put_bytes(&c->queue, data, len);
    if (rc < 0)
        return tf__error(err, rc, "out of memory");
    return 0;
}

void
tf_pool_on_submit(struct tf_pool *pool, tf_submit_fn fn, void *arg)
{
    pool->on_submit = fn;
    pool->on_submit_arg = arg;
}

/* Takes the oldest task tf_pool_submit() queued into C->task; returns 1,
 * or 0 when none is queued. */
static int
take_queued(struct run_ctx *c)
{
    struct tf__wire_reader r;
    const void *p;
    size_t n;

    if (c->qhead >= c->queue.len) {
        tf_buf_reset(&c->queue);
        c->qhead = 0;
        return 0;
    }
    tf__wire_reader_init(&r, c->queue.data + c->qhead,
                         c->queue.len - c->qhead);
    p = tf__wire_get_bytes(&r, &n);
    c->qhead = (size_t)(r.p - c->queue.data);
    /* The queue is ours and well formed; TASK has no cap. */
    (void)tf_buf_append(&c->task, p, n);
    /* Keep the queue from growing without bound: drop what was taken once
     * it is most of the buffer. */
    if (c->qhead > 65536 && c->qhead > c->queue.len / 2) {
        memmove(c->queue.data, c->queue.data + c->qhead,
                c->queue.len - c->qhead);
        c->queue.len -= c->qhead;
        c->queue.data[c->queue.len] = '\0';
        c->qhead = 0;
    }
    return 1;
}

static int
run_next(void *arg, uint64_t *id, const void **data, size_t *len,
         bool may_block, struct tf_error *err)
{
    struct run_ctx *c = arg;
    int rc;

    (void)may_block;
    tf_buf_reset(&c->task);
    rc = take_queued(c);
    if (rc == 0 && !c->next_ended) {
        rc = c->next(c->next_arg, c->index, &c->task);
        if (rc < 0)
            return tf__error(err, rc, "task %llu could not be made: %s",
                             (unsigned long long)c->index, tf_strerror(rc));
        if (rc == TF_LATER) {
            /* Nothing now, and maybe more later: `next` may have queued
             * tasks instead; else the run ends when nothing runs, as no
             * task is left that could make more. */
            tf_buf_reset(&c->task);
            if (take_queued(c) == 0)
                return c->index == c->finished ? 0 : TF__BATCH_WAIT;
            rc = 1;
        } else if (rc != 1) {
            /* The end of `next`'s tasks (what tasks submit later still
             * runs: the farm asks again). */
            c->next_ended = true;
            tf_buf_reset(&c->task);
            rc = take_queued(c);
        }
    }
    if (rc == 0)
        return 0;
    c->index++;
    *id = c->index; /* ids are 1-based */
    *data = c->task.data != NULL ? (const void *)c->task.data : "";
    *len = c->task.len;
    return 1;
}

/* Whether the N bytes at P are text a record can show: printable ASCII,
 * tabs and bytes of UTF-8 (not checked further). */
static bool
printable(const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i;

    for (i = 0; i < n; i++)
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
            return false;
    return true;
}

/* Writes the record of task D of a run: numbered on from the runs before,
 * and named by the label when there is one. */
static int
record(struct tf_pool *pool, const struct tf__done *d, struct tf_error *err)
{
    struct tf__done r = *d;
    int rc;

    r.id = pool->seq + d->id;
    if (pool->rec.label == NULL && !printable(d->cmd, d->cmd_len)) {
        tf_buf_reset(&pool->label);
        if (tf_buf_printf(&pool->label, "binary task of %zu bytes",
                          d->cmd_len) < 0)
            return tf__error(err, TF_ENOMEM, "out of memory");
        r.cmd = pool->label.data;
        r.cmd_len = pool->label.len;
    } else if (pool->rec.label != NULL) {
        tf_buf_reset(&pool->label);
        rc = pool->rec.label(pool->rec.label_arg, d->id - 1, d->cmd,
                             d->cmd_len, &pool->label);
        if (rc < 0)
            return tf__error(err, rc, "task %llu: its label could not be "
                                      "made: %s",
                             (unsigned long long)(d->id - 1),
                             tf_strerror(rc));
        r.cmd = pool->label.data != NULL ? (const void *)pool->label.data
                                         : "";
        r.cmd_len = pool->label.len;
    }
    return tf__sink_emit(pool->sink, &r, err);
}

int
tf_pool_record(struct tf_pool *pool, const struct tf_record *rec,
               struct tf_error *err)
{
    char host[256];
    struct tf__done d;

    if (pool == NULL)
        return tf__error(err, TF_EUSAGE, "tf_pool_record: no pool");
    if (pool->sink == NULL)
        return 0; /* none kept */
    memset(&d, 0, sizeof(d));
    if (rec->host == NULL && gethostname(host, sizeof(host) - 1) < 0)
        strcpy(host, "localhost");
    host[sizeof(host) - 1] = '\0';
    d.id = ++pool->seq;
    d.host = rec->host != NULL ? rec->host : host;
    d.host_len = strlen(d.host);
    d.start_us = rec->start_us;
    d.runtime_us = rec->runtime_us;
    d.status = rec->status;
    d.signal = rec->signal;
    d.worker = -1;
    d.attempt = 1;
    d.cmd = rec->text;
    d.cmd_len = rec->len;
    d.receive = rec->receive;
    d.out = rec->out;
    d.out_len = rec->out_len;
    d.err = rec->err;
    d.err_len = rec->err_len;
    return tf__sink_emit(pool->sink, &d, err);
}

static int
run_done(void *arg, const struct tf__done *d, struct tf_error *err)
{
    struct run_ctx *c = arg;
    struct tf_result res;
    uint64_t index = d->id - 1;
    int rc;

    c->finished++;
    /* A read-only view of the result: the callback must not keep it. */
    memset(&res, 0, sizeof(res));
    res.status = d->status;
    res.signal = d->signal;
    res.out.data = (unsigned char *)d->out;
    res.out.len = d->out_len;
    res.out.cap = 0;
    res.out.max = 0;
    res.err.data = (unsigned char *)d->err;
    res.err.len = d->err_len;
    res.err.cap = 0;
    res.err.max = 0;
    if (d->status != 0 &&
        (c->first_failed == 0 || index + 1 < c->first_failed)) {
        size_t n = d->err_len < sizeof(c->failed_msg) - 1
                       ? d->err_len
                       : sizeof(c->failed_msg) - 1;

        c->first_failed = index + 1;
        memcpy(c->failed_msg, d->err, n);
        while (n > 0 && (c->failed_msg[n - 1] == '\n'))
            n--;
        c->failed_msg[n] = '\0';
    }
    rc = c->done != NULL ? c->done(c->done_arg, index, &res) : 0;
    if (rc < 0)
        return tf__error(err, rc, "the result callback of task %llu "
                                  "failed: %s",
                         (unsigned long long)index, tf_strerror(rc));
    /* Its record, once the run has taken its result. */
    if (c->pool->sink == NULL || c->pool->rec.by_hand)
        return 0;
    return record(c->pool, d, err);
}

static int
run_flush(void *arg, struct tf_error *err)
{
    struct run_ctx *c = arg;

    return tf__sink_flush(c->pool->sink, err);
}

static int
run_submit(void *arg, uint64_t parent, const void *data, size_t len,
           struct tf_error *err)
{
    struct run_ctx *c = arg;
    struct tf_pool *pool = c->pool;
    int rc = 1;

    if (pool->on_submit != NULL) {
        rc = pool->on_submit(pool->on_submit_arg, pool, parent - 1, data,
                             len);
        if (rc < 0)
            return tf__error(err, rc, "the submit hook failed on a task "
                                      "that task %llu submitted: %s",
                             (unsigned long long)(parent - 1),
                             tf_strerror(rc));
    }
    if (rc == 0)
        return 1; /* the hook may have queued others: ask `next` again */
    rc = tf_pool_submit(pool, data, len, err);
    return rc < 0 ? rc : 1;
}

int
tf_pool_run(struct tf_pool *pool, const char *fn, tf_next_fn next,
            void *next_arg, tf_done_fn done, void *done_arg, int flags,
            struct tf_error *err)
{
    struct tf__batch b;
    struct run_ctx c;
    int rc;

    if (pool == NULL || next == NULL)
        return tf__error(err, TF_EUSAGE, "tf_pool_run: no pool or no task "
                                         "generator");
    memset(&b, 0, sizeof(b));
    rc = fn_index(fn, &b.fn, err);
    if (rc < 0)
        return rc;
    memset(&c, 0, sizeof(c));
    c.next = next;
    c.next_arg = next_arg;
    c.done = done;
    c.done_arg = done_arg;
    if (pool->run != NULL)
        return tf__error(err, TF_EUSAGE, "tf_pool_run: a run is going on "
                                         "already");
    c.pool = pool;
    tf_buf_init(&c.task, 0);
    tf_buf_init(&c.queue, 0);
    b.unordered = (flags & TF_UNORDERED) != 0;
    b.next = run_next;
    b.next_arg = &c;
    b.done = run_done;
    b.done_arg = &c;
    b.submit = run_submit;
    b.submit_arg = &c;
    b.measure = pool->results != NULL;
    if (pool->sink != NULL) {
        b.keep_text = true;
        b.flush = run_flush;
        b.flush_arg = &c;
    }
    pool->run = &c;
    rc = tf__session_batch(pool->session, &b, err);
    pool->run = NULL;
    if (!pool->rec.by_hand)
        pool->seq += c.index;
    tf_buf_cleanup(&c.task);
    tf_buf_cleanup(&c.queue);
    if (rc == 0 && c.first_failed != 0)
        rc = tf__error(err, TF_ETASK, "task %llu failed%s%s",
                       (unsigned long long)(c.first_failed - 1),
                       c.failed_msg[0] ? ": " : "", c.failed_msg);
    return rc;
}

/* ------------------------------------------------- map, starmap, apply */

struct array_ctx {
    const unsigned char *in;
    size_t in_size;
    size_t n;
    const void *const *args;
    const size_t *lens;
    unsigned char *out;
    size_t out_size;
    uint64_t first_bad; /* index + 1 of the first result of a wrong size */
    size_t bad_len;
    tf_done_fn done;
    void *done_arg;
    struct tf_buf *one; /* tf_apply's output */
};

static int
array_next(void *arg, uint64_t index, struct tf_buf *task)
{
    struct array_ctx *a = arg;

    if (index >= a->n)
        return 0;
    if (a->args != NULL)
        return tf_buf_append(task, a->args[index], a->lens[index]) < 0
                   ? TF_ENOMEM
                   : 1;
    return tf_buf_append(task, a->in + index * a->in_size, a->in_size) < 0
               ? TF_ENOMEM
               : 1;
}

static int
map_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct array_ctx *a = arg;
    unsigned char *slot = a->out + index * a->out_size;

    if (res->status == 0 && res->out.len == a->out_size) {
        memcpy(slot, res->out.data, a->out_size);
        return 0;
    }
    memset(slot, 0, a->out_size);
    if (res->status == 0 && (a->first_bad == 0 || index + 1 < a->first_bad)) {
        a->first_bad = index + 1;
        a->bad_len = res->out.len;
    }
    return 0;
}

int
tf_map(struct tf_pool *pool, const char *fn, const void *in, size_t in_size,
       void *out, size_t out_size, size_t n, struct tf_error *err)
{
    struct array_ctx a;
    int rc;

    memset(&a, 0, sizeof(a));
    a.in = in;
    a.in_size = in_size;
    a.n = n;
    a.out = out;
    a.out_size = out_size;
    rc = tf_pool_run(pool, fn, array_next, &a, map_done, &a, 0, err);
    if (rc == 0 && a.first_bad != 0)
        rc = tf__error(err, TF_ETASK,
                       "task %llu returned %zu bytes where %zu were expected",
                       (unsigned long long)(a.first_bad - 1), a.bad_len,
                       out_size);
    return rc;
}

int
tf_imap_unordered(struct tf_pool *pool, const char *fn, const void *in,
                  size_t in_size, size_t n, tf_done_fn done, void *arg,
                  struct tf_error *err)
{
    struct array_ctx a;

    memset(&a, 0, sizeof(a));
    a.in = in;
    a.in_size = in_size;
    a.n = n;
    return tf_pool_run(pool, fn, array_next, &a, done, arg, TF_UNORDERED,
                       err);
}

int
tf_starmap(struct tf_pool *pool, const char *fn, const void *const *args,
           const size_t *lens, size_t n, tf_done_fn done, void *arg,
           struct tf_error *err)
{
    struct array_ctx a;

    if (n > 0 && (args == NULL || lens == NULL))
        return tf__error(err, TF_EUSAGE, "tf_starmap: no arguments");
    memset(&a, 0, sizeof(a));
    a.args = args;
    a.lens = lens;
    a.n = n;
    return tf_pool_run(pool, fn, array_next, &a, done, arg, 0, err);
}

static int
apply_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct array_ctx *a = arg;

    (void)index;
    if (res->status != 0)
        return 0;
    return tf_buf_append(a->one, res->out.data, res->out.len);
}

int
tf_apply(struct tf_pool *pool, const char *fn, const void *in, size_t len,
         struct tf_buf *out, struct tf_error *err)
{
    struct array_ctx a;
    const void *args[1];
    size_t lens[1];

    args[0] = in != NULL ? in : "";
    lens[0] = len;
    memset(&a, 0, sizeof(a));
    a.args = args;
    a.lens = lens;
    a.n = 1;
    a.one = out;
    return tf_pool_run(pool, fn, array_next, &a, apply_done, &a, 0, err);
}
