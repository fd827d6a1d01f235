/* test_pool.c - unit tests of the pool API (tf_map and friends), on loop */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "results.h"
#include "tf_test.h"

static const int worker_counts[] = {1, 2, 4};
#define NCOUNTS (sizeof(worker_counts) / sizeof(worker_counts[0]))

/* The variables a worker sets for its libraries when the user did not. */
static const char *const thread_vars[] = {"OMP_NUM_THREADS",
                                          "OPENBLAS_NUM_THREADS",
                                          "MKL_NUM_THREADS"};
#define NVARS (sizeof(thread_vars) / sizeof(thread_vars[0]))

/* ------------------------------------------------------ task functions */

/* Workers are threads of this process on the loop transport, so what the
 * initializer sets up for a worker is thread-local here. */
static _Thread_local int tls_initialised;
static _Thread_local uint64_t tls_tasks_since_init;

static atomic_int init_count;
static atomic_int square_calls;

/* The initializer: counts its runs through ARG (&init_count). */
static int
count_init(void *arg)
{
    atomic_int *count = arg;

    atomic_fetch_add(count, 1);
    tls_initialised = 1;
    tls_tasks_since_init = 0;
    return 0;
}

static int
fail_init(void *arg)
{
    (void)arg;
    return TF_EINPUT;
}

/* Reads the task as one int64; a task of another size fails. */
static int
get_i64(const struct tf_task *task, struct tf_result *res, int64_t *x)
{
    if (task->len != sizeof(*x)) {
        res->status = 1;
        (void)tf_buf_printf(&res->err, "task of %zu bytes", task->len);
        return 1;
    }
    memcpy(x, task->data, sizeof(*x));
    return 0;
}

static int
put_i64(struct tf_result *res, int64_t x)
{
    return tf_buf_append(&res->out, &x, sizeof(x));
}

/* "square": x -> x * x, for int64. */
static int
square(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int64_t x;

    (void)arg;
    atomic_fetch_add(&square_calls, 1);
    if (get_i64(task, res, &x) != 0)
        return 0;
    return put_i64(res, x * x);
}

/* "usage": says that task x used x ms + 1 us of CPU and x MiB, and, for
 * x % 3 == 2, was ended by the out-of-memory killer (status 137). */
static int
usage(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int64_t x;

    (void)arg;
    if (get_i64(task, res, &x) != 0)
        return 0;
    if (x % 3 == 2)
        res->status = 137;
    tf_result_set_usage(res, (uint64_t)x * 1000 + 1, (uint64_t)x << 20,
                        x % 3 == 2 ? TF_USAGE_OOM : 0);
    return put_i64(res, x);
}

/* "busy": burns x ms of its thread's CPU time, and says nothing of it. */
static int
busy(void *arg, const struct tf_task *task, struct tf_result *res)
{
    struct timespec t0, t;
    int64_t x;

    (void)arg;
    if (get_i64(task, res, &x) != 0)
        return 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) <
           x * 1000000L);
    return put_i64(res, x);
}

/* "square_shuffled": as square, after a pause that depends on x, so that
 * tasks finish out of order on several workers. */
static int
square_shuffled(void *arg, const struct tf_task *task, struct tf_result *res)
{
    struct timespec pause = {0, 0};
    int64_t x;

    (void)arg;
    if (get_i64(task, res, &x) != 0)
        return 0;
    pause.tv_nsec = (long)((x * 7919) % 5) * 20000L;
    nanosleep(&pause, NULL);
    return put_i64(res, x * x);
}

/* "slow_but_0": as square, after 20 ms except for x == 0, so that a run
 * stopped at the result of 0 leaves the other workers busy. */
static int
slow_but_0(void *arg, const struct tf_task *task, struct tf_result *res)
{
    struct timespec pause = {0, 20000000};
    int64_t x;

    (void)arg;
    if (get_i64(task, res, &x) != 0)
        return 0;
    if (x != 0)
        nanosleep(&pause, NULL);
    return put_i64(res, x * x);
}

/* "echo": the result is the task's bytes. */
static int
echo(void *arg, const struct tf_task *task, struct tf_result *res)
{
    (void)arg;
    return tf_buf_append(&res->out, task->data, task->len);
}

/* "place": where the task ran, five int32: worker, node, nnodes, local
 * worker, local nworkers. */
static int
place(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int32_t p[5] = {task->worker, task->node, task->nnodes,
                    task->local_worker, task->local_nworkers};

    (void)arg;
    return tf_buf_append(&res->out, p, sizeof(p));
}

/* "cpus": where the task may run: its local worker, the number of its
 * CPUs, its OMP_NUM_THREADS (0 if unset), and the mask of its CPUs below
 * 64. */
struct cpus_out {
    int32_t local_worker;
    int32_t count;
    int32_t threads;
    uint64_t mask;
};

static int
cpus(void *arg, const struct tf_task *task, struct tf_result *res)
{
    struct cpus_out o;
    const char *threads = getenv("OMP_NUM_THREADS");
    cpu_set_t set;
    int c;

    (void)arg;
    memset(&o, 0, sizeof(o));
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return TF_ESYS;
    o.local_worker = task->local_worker;
    o.count = CPU_COUNT(&set);
    o.threads = threads != NULL ? atoi(threads) : 0;
    for (c = 0; c < 64; c++)
        if (CPU_ISSET(c, &set))
            o.mask |= (uint64_t)1 << c;
    return tf_buf_append(&res->out, &o, sizeof(o));
}

/* "fail_some": x -> x * x, except that x % 7 == 3 fails with status 1
 * and a message. */
static int
fail_some(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int64_t x;

    (void)arg;
    if (get_i64(task, res, &x) != 0)
        return 0;
    if (x % 7 == 3) {
        res->status = 1;
        return tf_buf_printf(&res->err, "bad input %" PRId64 "\n", x);
    }
    return put_i64(res, x * x);
}

/* "wrong_size": x -> x * x in 8 bytes, except 4 bytes for x == 5. */
static int
wrong_size(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int64_t x;
    int32_t small;

    (void)arg;
    if (get_i64(task, res, &x) != 0)
        return 0;
    if (x == 5) {
        small = 25;
        return tf_buf_append(&res->out, &small, sizeof(small));
    }
    return put_i64(res, x * x);
}

/* "shared": the result is what tf_pool_share() sent, or "(none)". */
static int
shared(void *arg, const struct tf_task *task, struct tf_result *res)
{
    (void)arg;
    if (task->shared == NULL)
        return tf_buf_puts(&res->out, "(none)");
    return tf_buf_append(&res->out, task->shared, task->shared_len);
}

/* "flaky": task i (an int64 input) fails its first FLAKY_FAILS runs when
 * i is odd; every run records its worker. The result is the run count. */
#define FLAKY_MAX 64
static int flaky_fails;
static atomic_int flaky_runs[FLAKY_MAX];
static atomic_int flaky_worker[FLAKY_MAX][8];

static int
flaky(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int64_t i;
    int64_t run;

    (void)arg;
    memcpy(&i, task->data, sizeof(i));
    if (i < 0 || i >= FLAKY_MAX)
        return TF_EINPUT;
    run = atomic_fetch_add(&flaky_runs[i], 1);
    if (run < 8)
        atomic_store(&flaky_worker[i][run], task->worker);
    if (i % 2 == 1 && run < flaky_fails) {
        res->status = 7;
        return tf_buf_puts(&res->err, "flaky failure");
    }
    return tf_buf_append(&res->out, &run, sizeof(run));
}

static void
flaky_reset(int fails)
{
    int i, k;

    flaky_fails = fails;
    for (i = 0; i < FLAKY_MAX; i++) {
        atomic_store(&flaky_runs[i], 0);
        for (k = 0; k < 8; k++)
            atomic_store(&flaky_worker[i][k], -1);
    }
}

/* "limit": the task's time limit and kill grace (two uint64). */
static int
limit(void *arg, const struct tf_task *task, struct tf_result *res)
{
    uint64_t v[2] = {task->time_limit_us, task->kill_grace_us};

    (void)arg;
    return tf_buf_append(&res->out, v, sizeof(v));
}

/* FNV-1a of LEN bytes at P. */
static uint64_t
fnv(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325u;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

/* "mark": writes the task's index (its int64 input) into slot INDEX of the
 * writable shared buffer, which must be there; the result is empty. */
static int
mark(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int64_t x;

    (void)arg;
    if (task->len != sizeof(x) || task->shared_rw == NULL) {
        res->status = 1;
        return 0;
    }
    memcpy(&x, task->data, sizeof(x));
    if (x < 0 || (size_t)(x + 1) * sizeof(x) > task->shared_len) {
        res->status = 2;
        return 0;
    }
    memcpy((unsigned char *)task->shared_rw + (size_t)x * sizeof(x), &x,
           sizeof(x));
    return 0;
}

/* "shared_sum": the length of what tf_pool_share() sent and its FNV-1a
 * hash (two uint64), and whether it is 16-byte aligned (a third). */
static int
shared_sum(void *arg, const struct tf_task *task, struct tf_result *res)
{
    uint64_t v[3];

    (void)arg;
    v[0] = task->shared_len;
    v[1] = fnv(task->shared, task->shared_len);
    v[2] = ((uintptr_t)task->shared % 16) == 0;
    return tf_buf_append(&res->out, v, sizeof(v));
}

/* "init_state": whether this worker's initializer ran, and how many tasks
 * it has run since then, this one included (two int64). */
static int
init_state(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int64_t v[2];

    (void)arg;
    (void)task;
    tls_tasks_since_init++;
    v[0] = tls_initialised;
    v[1] = (int64_t)tls_tasks_since_init;
    return tf_buf_append(&res->out, v, sizeof(v));
}

/* "getenv": the value of the variable the task names, or status 1. */
static int
get_env(void *arg, const struct tf_task *task, struct tf_result *res)
{
    char name[64];
    const char *v;

    (void)arg;
    if (task->len >= sizeof(name))
        return TF_EINPUT;
    memcpy(name, task->data, task->len);
    name[task->len] = '\0';
    v = getenv(name);
    if (v == NULL) {
        res->status = 1;
        return tf_buf_printf(&res->err, "%s is not set", name);
    }
    return tf_buf_puts(&res->out, v);
}

/* "whoami": task id, worker and nworkers (three int64), after 200 us, so
 * that a run of a few of them spreads over every worker. */
static int
whoami(void *arg, const struct tf_task *task, struct tf_result *res)
{
    struct timespec pause = {0, 200000};
    int64_t v[3];

    (void)arg;
    nanosleep(&pause, NULL);
    v[0] = (int64_t)task->id;
    v[1] = task->worker;
    v[2] = task->nworkers;
    return tf_buf_append(&res->out, v, sizeof(v));
}

/* "worker_fails": a failure of the worker itself (negative return). */
static int
worker_fails(void *arg, const struct tf_task *task, struct tf_result *res)
{
    (void)arg;
    (void)task;
    (void)res;
    return TF_ENOMEM;
}


/* ------------------------------------------- tasks that submit tasks */

/* A graph of GRAPH_N nodes where node n links to (7n + 3) mod N and
 * (5n + 1) mod N: cycles and shared children, as a crawl's pages have. */
#define GRAPH_N 5000u

static uint64_t
read_u64(const struct tf_task *task)
{
    uint64_t v = 0;

    if (task->len == sizeof(v))
        memcpy(&v, task->data, sizeof(v));
    return v;
}

/* Node n of a binary tree of ARG's nodes (a uint64_t count) submits its
 * children 2n and 2n + 1 below the count, and returns n. */
static int
tree(void *arg, const struct tf_task *task, struct tf_result *res)
{
    uint64_t n = read_u64(task), limit = *(const uint64_t *)arg;
    uint64_t k;
    int rc;

    for (k = 2 * n; k <= 2 * n + 1; k++) {
        if (k >= limit)
            break;
        rc = tf_result_submit(res, &k, sizeof(k));
        if (rc < 0)
            return rc;
    }
    return tf_buf_append(&res->out, &n, sizeof(n));
}

static uint64_t tree_nodes = 3000;

/* Node n of the graph submits both of its links, seen or not. */
static int
graph(void *arg, const struct tf_task *task, struct tf_result *res)
{
    uint64_t n = read_u64(task);
    uint64_t links[2] = {(7 * n + 3) % GRAPH_N, (5 * n + 1) % GRAPH_N};
    int rc;

    (void)arg;
    rc = tf_result_submit(res, &links[0], sizeof(links[0]));
    if (rc == 0)
        rc = tf_result_submit(res, &links[1], sizeof(links[1]));
    if (rc == 0)
        rc = tf_buf_append(&res->out, &n, sizeof(n));
    return rc;
}

/* Kills its worker the first time a task runs it (DIE_MARKER does not
 * exist yet), else squares. */
static char die_marker[40];

static int
die_once(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int fd = open(die_marker, O_WRONLY | O_CREAT | O_EXCL, 0600);

    if (fd >= 0) {
        close(fd);
        raise(SIGKILL);
    }
    return square(arg, task, res);
}

static int
register_all(void **state)
{
    (void)state;
    /* Set before any worker thread runs, so that workers never grow the
     * environment while another thread reads it. */
    for (size_t i = 0; i < NVARS; i++)
        setenv(thread_vars[i], "1", 1);
    if (tf_register("square", square, NULL) != 0 ||
        tf_register("square_shuffled", square_shuffled, NULL) != 0 ||
        tf_register("slow_but_0", slow_but_0, NULL) != 0 ||
        tf_register("echo", echo, NULL) != 0 ||
        tf_register("place", place, NULL) != 0 ||
        tf_register("cpus", cpus, NULL) != 0 ||
        tf_register("fail_some", fail_some, NULL) != 0 ||
        tf_register("wrong_size", wrong_size, NULL) != 0 ||
        tf_register("shared", shared, NULL) != 0 ||
        tf_register("shared_sum", shared_sum, NULL) != 0 ||
        tf_register("mark", mark, NULL) != 0 ||
        tf_register("flaky", flaky, NULL) != 0 ||
        tf_register("limit", limit, NULL) != 0 ||
        tf_register("init_state", init_state, NULL) != 0 ||
        tf_register("getenv", get_env, NULL) != 0 ||
        tf_register("whoami", whoami, NULL) != 0 ||
        tf_register("worker_fails", worker_fails, NULL) != 0 ||
        tf_register("tree", tree, &tree_nodes) != 0 ||
        tf_register("graph", graph, NULL) != 0 ||
        tf_register("die_once", die_once, NULL) != 0 ||
        tf_register("usage", usage, NULL) != 0 ||
        tf_register("busy", busy, NULL) != 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------- helpers */

static struct tf_config
loop_cfg(int nworkers)
{
    struct tf_config cfg;

    tf_config_init(&cfg);
    cfg.backend = "loop";
    cfg.nworkers = nworkers;
    return cfg;
}

/* The pool a test has open, so that a test failing half-way still
 * finalizes it (in finalize_leftover()) and the next test can start one. */
static struct tf_pool *live_pool;

static struct tf_pool *
open_pool(const struct tf_config *cfg)
{
    struct tf_pool *pool = NULL;
    struct tf_error err;
    int rc;

    tf_error_init(&err);
    rc = tf_init(cfg, &pool, &err);
    if (rc != 0)
        fail_msg("tf_init: %d %s", rc, err.msg);
    assert_non_null(pool);
    live_pool = pool;
    assert_int_equal(tf_pool_nworkers(pool), cfg->nworkers);
    return pool;
}

static void
close_pool(struct tf_pool *pool)
{
    struct tf_error err;
    int rc;

    tf_error_init(&err);
    live_pool = NULL;
    rc = tf_finalize(pool, &err);
    if (rc != 0)
        fail_msg("tf_finalize: %d %s", rc, err.msg);
}

/* Finalizes POOL after a failure, when tf_finalize() may report it. */
static void
finalize_any(struct tf_pool *pool)
{
    struct tf_error err;

    live_pool = NULL;
    tf_error_init(&err);
    (void)tf_finalize(pool, &err);
}

static int
finalize_leftover(void **state)
{
    (void)state;
    if (live_pool != NULL)
        finalize_any(live_pool);
    return 0;
}

/*
 * Checks of a pool after a failure go on in a child process, so that a
 * pool that hangs fails its test instead of stopping the whole run, and a
 * pool left broken does not break the tests after it. The child reports
 * through a pipe, in steps, so that a hang says where it was; it uses no
 * cmocka assertion, which would go on with the tests in the child.
 */
static int child_fd = -1;

static void
say(const char *fmt, ...)
{
    char line[600];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    if (n > 0 && write(child_fd, line, (size_t)n) < 0)
        return;
}

/* Runs FN in a child process: it passes when FN returns 0 within 30 s
 * (far more than it takes), and fails with what FN said otherwise. */
static void
expect_in_child(int (*fn)(void))
{
    struct timespec pause = {0, 50000000};
    char said[2048];
    size_t len = 0;
    ssize_t n;
    pid_t pid;
    int fds[2];
    int status = 0;
    int i;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_fd = fds[1];
        _exit(fn() == 0 ? 0 : 1);
    }
    close(fds[1]);
    for (i = 0; i < 600 && waitpid(pid, &status, WNOHANG) == 0; i++)
        nanosleep(&pause, NULL);
    if (i == 600) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    while (len < sizeof(said) - 1 &&
           (n = read(fds[0], said + len, sizeof(said) - 1 - len)) > 0)
        len += (size_t)n;
    said[len] = '\0';
    close(fds[0]);
    if (i == 600)
        fail_msg("%s... no end after 30 s: the pool hangs", said);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s", said);
}

/* Inputs i - n/2 for i in 0..n-1, so some are negative. */
static int64_t *
make_inputs(size_t n)
{
    int64_t *in = malloc(n * sizeof(*in));
    size_t i;

    assert_non_null(in);
    for (i = 0; i < n; i++)
        in[i] = (int64_t)i - (int64_t)(n / 2);
    return in;
}

static int64_t
result_i64(const struct tf_result *res)
{
    int64_t v = INT64_MIN; /* no int64 for another size */

    if (res->out.len == sizeof(v))
        memcpy(&v, res->out.data, sizeof(v));
    return v;
}

/* ---------------------------------------------------------- group 1 */

static void
test_init_with_no_task_function_registered_is_eusage(void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool = (struct tf_pool *)&cfg;
    struct tf_error err;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf_init(&cfg, &pool, &err), TF_EUSAGE);
    assert_null(pool);
    assert_non_null(strstr(err.msg, "no task function registered"));
}

/* ------------------------------------------------------------- tf_map */

static void
test_map_puts_10000_results_in_place_and_in_order(void **state)
{
    static const uint64_t chunks[] = {0, 1, 100};
    const size_t n = 10000;
    int64_t *in = make_inputs(n);
    int64_t *out = malloc(n * sizeof(*out));
    size_t w, c, i;

    (void)state;
    assert_non_null(out);
    for (w = 0; w < NCOUNTS; w++) {
        for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            struct tf_config cfg = loop_cfg(worker_counts[w]);
            struct tf_pool *pool;
            struct tf_error err;
            int rc;

            cfg.chunksize = chunks[c];
            pool = open_pool(&cfg);
            for (i = 0; i < n; i++)
                out[i] = -1;
            atomic_store(&square_calls, 0);
            tf_error_init(&err);
            rc = tf_map(pool, "square", in, sizeof(in[0]), out,
                        sizeof(out[0]), n, &err);
            if (rc != 0)
                fail_msg("%d workers, chunk %" PRIu64 ": %d %s",
                         worker_counts[w], chunks[c], rc, err.msg);
            for (i = 0; i < n; i++)
                if (out[i] != in[i] * in[i])
                    fail_msg("%d workers, chunk %" PRIu64 ": out[%zu] = "
                             "%" PRId64 ", expected %" PRId64,
                             worker_counts[w], chunks[c], i, out[i],
                             in[i] * in[i]);
            assert_int_equal(atomic_load(&square_calls), n);
            close_pool(pool);
        }
    }
    free(in);
    free(out);
}

/* Every task knows its worker's place: on one machine, node 0 of 1, its
 * index among the node's workers that of the worker, and all of them. */
static void
test_tasks_know_their_node_and_local_worker(void **state)
{
    const char *backends[] = {"loop", "fork"};
    struct tf_error err;
    int32_t out[40][5];
    int64_t in[40];
    bool seen[3];
    size_t b;
    size_t i;

    (void)state;
    memset(in, 0, sizeof(in));
    for (b = 0; b < 2; b++) {
        struct tf_config cfg = loop_cfg(3);
        struct tf_pool *pool;

        cfg.backend = backends[b];
        cfg.chunksize = 1;
        pool = open_pool(&cfg);
        memset(seen, 0, sizeof(seen));
        assert_int_equal(tf_map(pool, "place", in, sizeof(in[0]), out,
                                sizeof(out[0]), 40, &err),
                         0);
        for (i = 0; i < 40; i++) {
            assert_in_range(out[i][0], 0, 2);
            assert_int_equal(out[i][1], 0);
            assert_int_equal(out[i][2], 1);
            assert_int_equal(out[i][3], out[i][0]);
            assert_int_equal(out[i][4], 3);
            seen[out[i][0]] = true;
        }
        assert_true(seen[0] || seen[1] || seen[2]);
        close_pool(pool);
    }
}

/* GPUs are given to worker processes: threads share one environment. */
static void
test_gpus_per_worker_are_refused_on_the_loop_backend(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = NULL;
    struct tf_error err;

    (void)state;
    cfg.gpus_per_worker = 1;
    cfg.gpus = "0,1";
    tf_error_init(&err);
    assert_int_equal(tf_init(&cfg, &pool, &err), TF_EUSAGE);
    assert_null(pool);
    assert_non_null(strstr(err.msg, "not the loop backend"));
    cfg.gpus_per_worker = -1;
    assert_int_equal(tf_init(&cfg, &pool, &err), TF_EUSAGE);
}

/* Forked workers bound to cores (cfg.bind) each run on a block of their own
 * of the CPUs, their share, with as many OpenMP threads; too many workers
 * for the CPUs fail the run. */
static void
test_workers_bound_to_cores_run_on_cpus_of_their_own(void **state)
{
    struct cpus_out out[20];
    uint64_t masks[2] = {0, 0};
    int64_t in[20];
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool;
    struct tf_error err;
    bool user_threads = getenv("OMP_NUM_THREADS") != NULL;
    cpu_set_t set;
    uint64_t all = 0;
    int ncpus;
    int c;
    size_t i;

    (void)state;
    assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
    ncpus = CPU_COUNT(&set);
    for (c = 0; c < 64; c++)
        if (CPU_ISSET(c, &set))
            all |= (uint64_t)1 << c;
    memset(in, 0, sizeof(in));
    cfg.backend = "fork";
    cfg.nworkers = ncpus >= 2 ? 2 : 1;
    cfg.chunksize = 1;
    cfg.bind = TF_BIND_CORES;
    pool = open_pool(&cfg);
    assert_int_equal(tf_map(pool, "cpus", in, sizeof(in[0]), out,
                            sizeof(out[0]), 20, &err),
                     0);
    for (i = 0; i < 20; i++) {
        int w = out[i].local_worker;

        assert_in_range(w, 0, cfg.nworkers - 1);
        assert_int_equal(out[i].count, ncpus / cfg.nworkers);
        if (!user_threads)
            assert_int_equal(out[i].threads, out[i].count);
        assert_int_equal(out[i].mask & ~all, 0);
        if (masks[w] == 0)
            masks[w] = out[i].mask;
        assert_int_equal(out[i].mask, masks[w]); /* one set per worker */
    }
    assert_int_equal(masks[0] & masks[1], 0);
    close_pool(pool);

    cfg.nworkers = ncpus + 1;
    pool = open_pool(&cfg);
    tf_error_init(&err);
    assert_int_equal(tf_map(pool, "cpus", in, sizeof(in[0]), out,
                            sizeof(out[0]), 20, &err),
                     TF_EUSAGE);
    assert_non_null(strstr(err.msg, "fewer than one each"));
    finalize_any(pool);
}

/* ... and so are CPUs: the loop's threads are not pinned one by one. */
static void
test_binding_to_cores_is_refused_on_the_loop_backend(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = NULL;
    struct tf_error err;

    (void)state;
    cfg.bind = TF_BIND_CORES;
    tf_error_init(&err);
    assert_int_equal(tf_init(&cfg, &pool, &err), TF_EUSAGE);
    assert_null(pool);
    assert_non_null(strstr(err.msg, "not the loop backend"));
    cfg.bind = 7;
    assert_int_equal(tf_init(&cfg, &pool, &err), TF_EUSAGE);
    assert_non_null(strstr(err.msg, "bind 7"));
}

static void
test_map_of_no_inputs_runs_nothing_and_succeeds(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    int64_t in[1] = {3};
    int64_t out[1] = {-1};

    (void)state;
    atomic_store(&square_calls, 0);
    assert_int_equal(tf_map(pool, "square", in, sizeof(in[0]), out,
                            sizeof(out[0]), 0, &err),
                     0);
    assert_int_equal(out[0], -1);
    assert_int_equal(atomic_load(&square_calls), 0);
    close_pool(pool);
}

static void
test_map_with_an_unregistered_function_is_eusage_naming_it(void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    int64_t in[2] = {1, 2};
    int64_t out[2];

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf_map(pool, "no_such_fn", in, sizeof(in[0]), out,
                            sizeof(out[0]), 2, &err),
                     TF_EUSAGE);
    assert_non_null(strstr(err.msg, "no_such_fn"));
    close_pool(pool);
}

static void
test_several_maps_in_a_row_on_one_pool_all_succeed(void **state)
{
    struct tf_config cfg = loop_cfg(3);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    struct tf_buf one;
    size_t n, i;
    int round;

    (void)state;
    tf_buf_init(&one, 0);
    for (round = 0; round < 6; round++) {
        int64_t *in;
        int64_t *out;

        /* 1, 10, 100 ... inputs, with an apply between maps. */
        n = 1;
        for (i = 0; i < (size_t)round; i++)
            n *= 10;
        in = make_inputs(n);
        out = calloc(n, sizeof(*out));
        assert_non_null(out);
        for (i = 0; i < n; i++)
            in[i] += round;
        assert_int_equal(tf_map(pool, round % 2 ? "square_shuffled" : "square",
                                in, sizeof(in[0]), out, sizeof(out[0]), n,
                                &err),
                         0);
        for (i = 0; i < n; i++)
            assert_true(out[i] == in[i] * in[i]);
        tf_buf_reset(&one);
        assert_int_equal(tf_apply(pool, "echo", "between", 7, &one, &err), 0);
        assert_int_equal(one.len, 7);
        assert_memory_equal(one.data, "between", 7);
        free(in);
        free(out);
    }
    tf_buf_cleanup(&one);
    close_pool(pool);
}

/* ------------------------------------------------------------- records */

/* Names task INDEX "x=VALUE". */
static int
label_x(void *arg, uint64_t index, const void *task, size_t len,
        struct tf_buf *out)
{
    int64_t x;

    (void)arg;
    (void)index;
    if (len != sizeof(x))
        return TF_EINPUT;
    memcpy(&x, task, sizeof(x));
    return tf_buf_printf(out, "x=%lld", (long long)x);
}

/* Column K (0-based) of a TAB-separated LINE, in a static buffer. */
static const char *
column(const char *line, int k)
{
    static char col[64];

    for (; k > 0 && line != NULL; k--) {
        line = strchr(line, '\t');
        line = line != NULL ? line + 1 : NULL;
    }
    if (line == NULL)
        return "";
    snprintf(col, sizeof(col), "%.*s", (int)strcspn(line, "\t"), line);
    return col;
}

/* What a results file holds: each task record's id, status, text and
 * output, in file order. */
struct stored {
    size_t n;
    uint64_t ids[64];
    int status[64];
    char text[64][32];
    int64_t out[64];
};

static int
store_rec(void *arg, const struct tf__result_rec *rec)
{
    struct stored *s = arg;

    if (s->n == 64)
        return 0;
    s->ids[s->n] = rec->id;
    s->status[s->n] = rec->status;
    snprintf(s->text[s->n], sizeof(s->text[0]), "%.*s", (int)rec->cmd_len,
             (const char *)rec->cmd);
    s->out[s->n] = INT64_MIN;
    if (rec->out_len == sizeof(int64_t))
        memcpy(&s->out[s->n], rec->out, sizeof(int64_t));
    s->n++;
    return 0;
}

static void
test_records_of_every_task_go_to_the_joblog_and_results_file(void **state)
{
    struct tf_config cfg = loop_cfg(3);
    struct tf_records r;
    struct tf_pool *pool;
    struct tf_error err;
    struct stored st;
    struct tf_buf log;
    int64_t in[20], out[20];
    char joblog[40], results[40];
    char line[128];
    const char *p;
    size_t i;

    (void)state;
    tf_test_temp_path(joblog, "records_log");
    tf_test_temp_path(results, "records_res");
    for (i = 0; i < 20; i++)
        in[i] = (int64_t)i;
    pool = open_pool(&cfg);
    memset(&r, 0, sizeof(r));
    r.joblog = joblog;
    r.results = results;
    r.label = label_x;
    tf_error_init(&err);
    assert_int_equal(tf_pool_records(pool, &r, &err), 0);
    /* Two runs: 10 tasks that all succeed, 10 of which some fail. */
    assert_int_equal(tf_map(pool, "square", in, sizeof(in[0]), out,
                            sizeof(out[0]), 10, &err),
                     0);
    assert_int_equal(tf_map(pool, "fail_some", in + 10, sizeof(in[0]), out,
                            sizeof(out[0]), 10, &err),
                     TF_ETASK);
    close_pool(pool);
    /* The joblog: its header, then one line a task, numbered on across
     * the runs, named by the label, with its exit status. */
    tf_buf_init(&log, 0);
    tf_test_slurp(joblog, &log);
    p = (const char *)log.data;
    assert_non_null(p);
    assert_int_equal(strncmp(p, "Seq\tHost\t", 9), 0);
    for (i = 0; i < 20; i++) {
        char want[32];

        p = strchr(p, '\n') + 1;
        snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
        /* Seq, Exitval and Command: the 1st, 7th and 9th columns. */
        snprintf(want, sizeof(want), "%zu", i + 1);
        assert_string_equal(column(line, 0), want);
        assert_string_equal(column(line, 6),
                            i >= 10 && in[i] % 7 == 3 ? "1" : "0");
        snprintf(want, sizeof(want), "x=%zu", i);
        assert_string_equal(column(line, 8), want);
    }
    /* ... and nothing after. */
    assert_string_equal(strchr(p, '\n'), "\n");
    /* The results file: the same tasks, with their output. */
    memset(&st, 0, sizeof(st));
    assert_int_equal(tf__results_read(results, store_rec, &st, NULL, &err),
                     0);
    assert_int_equal(st.n, 20);
    for (i = 0; i < 20; i++) {
        char want[32];

        snprintf(want, sizeof(want), "x=%zu", i);
        assert_int_equal(st.ids[i], i + 1);
        assert_string_equal(st.text[i], want);
        assert_int_equal(st.status[i], i >= 10 && in[i] % 7 == 3);
        if (st.status[i] == 0)
            assert_true(st.out[i] == in[i] * in[i]);
    }
    tf_buf_cleanup(&log);
    unlink(joblog);
    unlink(results);
}

/* What the results file says each task used, in file order. */
struct used {
    size_t n;
    uint64_t cpu_us[16];
    uint64_t peak[16];
    uint32_t flags[16];
    int status[16];
};

static int
store_used(void *arg, const struct tf__result_rec *rec)
{
    struct used *u = arg;

    if (u->n == 16)
        return 0;
    u->cpu_us[u->n] = rec->cpu_us;
    u->peak[u->n] = rec->peak_bytes;
    u->flags[u->n] = rec->flags;
    u->status[u->n] = rec->status;
    u->n++;
    return 0;
}

static void
test_records_hold_what_each_task_used(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_records r;
    struct tf_pool *pool;
    struct tf_error err;
    struct used u;
    int64_t in[6] = {0, 1, 2, 3, 4, 5}, out[6];
    int64_t ms[2] = {30, 30};
    char results[40];
    size_t i;

    (void)state;
    tf_test_temp_path(results, "used_res");
    pool = open_pool(&cfg);
    memset(&r, 0, sizeof(r));
    r.results = results;
    r.label = label_x;
    tf_error_init(&err);
    assert_int_equal(tf_pool_records(pool, &r, &err), 0);
    assert_int_equal(tf_map(pool, "usage", in, sizeof(in[0]), out,
                            sizeof(out[0]), 6, &err),
                     TF_ETASK);
    assert_int_equal(tf_map(pool, "busy", ms, sizeof(ms[0]), out,
                            sizeof(out[0]), 2, &err),
                     0);
    close_pool(pool);
    memset(&u, 0, sizeof(u));
    assert_int_equal(tf__results_read(results, store_used, &u, NULL, &err),
                     0);
    assert_int_equal(u.n, 8);
    /* What the task said, through the wire and the record; the killer's
     * flag. Records follow completion order: find each by its CPU time. */
    for (i = 0; i < 6; i++) {
        size_t k;

        for (k = 0; k < 6 && u.cpu_us[k] != (uint64_t)in[i] * 1000 + 1; k++)
            ;
        assert_true(k < 6);
        assert_true(u.peak[k] == (uint64_t)in[i] << 20);
        assert_int_equal((u.flags[k] & TF__REC_OOM) != 0, in[i] % 3 == 2);
        assert_int_equal(u.status[k], in[i] % 3 == 2 ? 137 : 0);
    }
    /* A task that says nothing: the CPU time its worker used, at least
     * what it burnt, and no peak memory. */
    for (i = 6; i < 8; i++) {
        assert_true(u.cpu_us[i] >= 30000);
        assert_true(u.peak[i] == 0);
        assert_int_equal(u.flags[i] & TF__REC_OOM, 0);
    }
    unlink(results);
}

static void
test_task_needing_more_memory_than_there_is_fails_without_waiting(
    void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool;
    struct tf_error err;
    int64_t in[4] = {1, 2, 3, 4}, out[4];

    (void)state;
    /* Far more than any machine: each fails at once, not run. */
    cfg.mem_per_task = (uint64_t)1 << 62;
    pool = open_pool(&cfg);
    tf_error_init(&err);
    atomic_store(&square_calls, 0);
    assert_int_equal(tf_map(pool, "square", in, sizeof(in[0]), out,
                            sizeof(out[0]), 4, &err),
                     TF_ETASK);
    assert_non_null(strstr(err.msg, "memory"));
    assert_int_equal(atomic_load(&square_calls), 0);
    close_pool(pool);
    /* A need the machine has runs as usual. */
    cfg.mem_per_task = 1;
    pool = open_pool(&cfg);
    assert_int_equal(tf_map(pool, "square", in, sizeof(in[0]), out,
                            sizeof(out[0]), 4, &err),
                     0);
    assert_true(out[3] == 16);
    close_pool(pool);
}

static void
test_records_by_hand_are_the_programs_alone(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_records r;
    struct tf_record rec;
    struct tf_pool *pool;
    struct tf_error err;
    struct tf_buf log;
    int64_t in[5], out[5];
    char joblog[40];

    (void)state;
    tf_test_temp_path(joblog, "records_hand");
    memset(in, 0, sizeof(in));
    pool = open_pool(&cfg);
    tf_error_init(&err);
    memset(&rec, 0, sizeof(rec));
    rec.text = "https://example.org/";
    rec.len = strlen(rec.text);
    /* None kept yet: dropped. */
    assert_int_equal(tf_pool_record(pool, &rec, &err), 0);
    memset(&r, 0, sizeof(r));
    r.joblog = joblog;
    r.by_hand = true;
    assert_int_equal(tf_pool_records(pool, &r, &err), 0);
    assert_int_equal(tf_map(pool, "square", in, sizeof(in[0]), out,
                            sizeof(out[0]), 5, &err),
                     0);
    rec.host = "web1";
    rec.start_us = 1700000000123456;
    rec.runtime_us = 1500000;
    rec.status = 1;
    rec.out = "abc";
    rec.out_len = 3;
    rec.receive = 153;
    assert_int_equal(tf_pool_record(pool, &rec, &err), 0);
    /* A second joblog replaces the first, which is closed. */
    close_pool(pool);
    tf_buf_init(&log, 0);
    tf_test_slurp(joblog, &log);
    assert_string_equal((const char *)log.data,
                        "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\t"
                        "Exitval\tSignal\tCommand\n"
                        "1\tweb1\t1700000000.123\t     1.500\t0\t153\t1\t0\t"
                        "https://example.org/\n");
    tf_buf_cleanup(&log);
    unlink(joblog);
}

static void
test_records_name_text_tasks_by_their_text_and_binary_ones_by_size(void **
                                                                       state)
{
    static const char *const words[] = {"alpha", "be\ta", "gam\nma"};
    static const size_t lens[] = {5, 4, 7};
    struct tf_config cfg = loop_cfg(2);
    struct tf_records r;
    struct tf_pool *pool;
    struct tf_error err;
    struct tf_buf log;
    int64_t in[2] = {3, 4}, out[2];
    char joblog[40], line[128];
    const char *p;
    int i;

    (void)state;
    tf_test_temp_path(joblog, "records_names");
    pool = open_pool(&cfg);
    memset(&r, 0, sizeof(r));
    r.joblog = joblog;
    tf_error_init(&err);
    assert_int_equal(tf_pool_records(pool, &r, &err), 0);
    assert_int_equal(tf_starmap(pool, "echo", (const void *const *)words,
                                lens, 3, NULL, NULL, &err),
                     0);
    assert_int_equal(tf_map(pool, "square", in, sizeof(in[0]), out,
                            sizeof(out[0]), 2, &err),
                     0);
    close_pool(pool);
    tf_buf_init(&log, 0);
    tf_test_slurp(joblog, &log);
    p = strchr((const char *)log.data, '\n') + 1;
    for (i = 0; i < 5; i++) {
        static const char *const want[] = {"alpha", "be\ta",
                                           "binary task of 7 bytes",
                                           "binary task of 8 bytes",
                                           "binary task of 8 bytes"};
        const char *tab = p;
        int k;

        snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
        for (k = 0; k < 8; k++)
            tab = strchr(tab, '\t') + 1;
        /* A TAB in the text stays; a line break would end the line. */
        if (strncmp(tab, want[i], strlen(want[i])) != 0)
            fail_msg("line %d: %s", i, line);
        p = strchr(p, '\n') + 1;
    }
    assert_string_equal(p, "");
    tf_buf_cleanup(&log);
    unlink(joblog);
}

static void
test_records_refuse_a_joblog_that_cannot_be_written(void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_records r;
    struct tf_pool *pool;
    struct tf_error err;

    (void)state;
    pool = open_pool(&cfg);
    memset(&r, 0, sizeof(r));
    r.joblog = "/nonexistent-dir/x.log";
    tf_error_init(&err);
    assert_int_equal(tf_pool_records(pool, &r, &err), TF_EUSAGE);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.log"));
    close_pool(pool);
}

/* -------------------------------------------------- tf_imap_unordered */

struct seen {
    const int64_t *in;
    size_t n;
    int *count;      /* per index */
    size_t calls;
    size_t bad;      /* results that were not in[i]^2 */
};

static int
seen_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct seen *s = arg;

    s->calls++;
    if (index >= s->n) {
        s->bad++;
        return 0;
    }
    s->count[index]++;
    if (res->status != 0 || res->out.len != sizeof(int64_t) ||
        result_i64(res) != s->in[index] * s->in[index])
        s->bad++;
    return 0;
}

static void
test_imap_unordered_delivers_each_index_exactly_once(void **state)
{
    const size_t n = 10000;
    int64_t *in = make_inputs(n);
    size_t w, i;

    (void)state;
    for (w = 0; w < NCOUNTS; w++) {
        struct tf_config cfg = loop_cfg(worker_counts[w]);
        struct tf_pool *pool = open_pool(&cfg);
        struct tf_error err;
        struct seen s;

        memset(&s, 0, sizeof(s));
        s.in = in;
        s.n = n;
        s.count = calloc(n, sizeof(*s.count));
        assert_non_null(s.count);
        tf_error_init(&err);
        assert_int_equal(tf_imap_unordered(pool, "square_shuffled", in,
                                           sizeof(in[0]), n, seen_done, &s,
                                           &err),
                         0);
        assert_int_equal(s.calls, n);
        assert_int_equal(s.bad, 0);
        for (i = 0; i < n; i++)
            if (s.count[i] != 1)
                fail_msg("%d workers: index %zu delivered %d times",
                         worker_counts[w], i, s.count[i]);
        free(s.count);
        close_pool(pool);
    }
    free(in);
}

/* ---------------------------------------------------------- tf_starmap */

struct in_order {
    const void *const *args;
    const size_t *lens;
    size_t n;
    uint64_t next;  /* the index expected next */
    size_t bad;
};

static int
in_order_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct in_order *o = arg;

    if (index != o->next || index >= o->n || res->status != 0 ||
        res->out.len != o->lens[index] ||
        (res->out.len > 0 &&
         memcmp(res->out.data, o->args[index], res->out.len) != 0))
        o->bad++;
    o->next++;
    return 0;
}

static void
test_starmap_of_variable_length_inputs_delivers_them_in_order(void **state)
{
    enum { N = 300 };
    static unsigned char bytes[N][N + 1];
    const void *args[N];
    size_t lens[N];
    size_t w, i;

    (void)state;
    /* Lengths 0, 1, 2 ... with 0 and a long one among them; every byte
     * value appears. */
    for (i = 0; i < N; i++) {
        lens[i] = (i * 37) % (N + 1);
        memset(bytes[i], (int)(i & 0xff), sizeof(bytes[i]));
        args[i] = bytes[i];
    }
    lens[0] = 0;
    lens[N - 1] = N + 1;
    for (w = 0; w < NCOUNTS; w++) {
        struct tf_config cfg = loop_cfg(worker_counts[w]);
        struct tf_pool *pool;
        struct tf_error err;
        struct in_order o;

        cfg.chunksize = w == 1 ? 1 : 0;
        pool = open_pool(&cfg);
        memset(&o, 0, sizeof(o));
        o.args = args;
        o.lens = lens;
        o.n = N;
        tf_error_init(&err);
        assert_int_equal(tf_starmap(pool, "echo", args, lens, N,
                                    in_order_done, &o, &err),
                         0);
        assert_int_equal(o.next, N);
        assert_int_equal(o.bad, 0);
        close_pool(pool);
    }
}

static void
test_starmap_of_only_empty_inputs_gives_empty_results(void **state)
{
    const void *args[3] = {"", "", ""};
    size_t lens[3] = {0, 0, 0};
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    struct in_order o;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.args = args;
    o.lens = lens;
    o.n = 3;
    assert_int_equal(
        tf_starmap(pool, "echo", args, lens, 3, in_order_done, &o, &err), 0);
    assert_int_equal(o.next, 3);
    assert_int_equal(o.bad, 0);
    close_pool(pool);
}

/* ------------------------------------------------------------ tf_apply */

static void
test_apply_appends_the_one_result_to_out(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    struct tf_buf out;
    int64_t x = -12;

    (void)state;
    tf_buf_init(&out, 0);
    assert_int_equal(tf_buf_puts(&out, "kept:"), 0);
    assert_int_equal(tf_apply(pool, "echo", "hello", 5, &out, &err), 0);
    assert_string_equal((char *)out.data, "kept:hello");
    tf_buf_reset(&out);
    assert_int_equal(tf_apply(pool, "square", &x, sizeof(x), &out, &err), 0);
    assert_int_equal(out.len, sizeof(x));
    memcpy(&x, out.data, sizeof(x));
    assert_int_equal(x, 144);
    /* An empty task. */
    tf_buf_reset(&out);
    assert_int_equal(tf_apply(pool, "echo", NULL, 0, &out, &err), 0);
    assert_int_equal(out.len, 0);
    tf_buf_cleanup(&out);
    close_pool(pool);
}

static void
test_apply_of_a_failing_task_is_etask_with_its_message(void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    struct tf_buf out;
    int64_t x = 10; /* 10 % 7 == 3: fails */

    (void)state;
    tf_buf_init(&out, 0);
    tf_error_init(&err);
    assert_int_equal(tf_apply(pool, "fail_some", &x, sizeof(x), &out, &err),
                     TF_ETASK);
    assert_int_equal(err.code, TF_ETASK);
    assert_non_null(strstr(err.msg, "bad input 10"));
    assert_int_equal(out.len, 0);
    tf_buf_cleanup(&out);
    close_pool(pool);
}

/* --------------------------------------------------------- tf_pool_run */

struct gen {
    uint64_t n;
    uint64_t calls;
    uint64_t expect; /* the index next should be asked for */
    size_t bad;
    int stop_code;   /* returned for index stop_at, if non-zero */
    uint64_t stop_at;
};

static int
gen_next(void *arg, uint64_t index, struct tf_buf *task)
{
    struct gen *g = arg;
    int64_t x = (int64_t)index;

    g->calls++;
    if (index != g->expect)
        g->bad++;
    g->expect = index + 1;
    if (g->stop_code != 0 && index == g->stop_at)
        return g->stop_code;
    if (index >= g->n)
        return 0;
    return tf_buf_append(task, &x, sizeof(x)) < 0 ? TF_ENOMEM : 1;
}

struct collect {
    uint64_t next;   /* index expected next, when ordered */
    uint64_t calls;
    size_t out_of_order;
    size_t wrong;
    size_t failed;   /* results with a non-zero status */
    size_t failed_wrong; /* ... without the expected message */
    int stop_code;   /* returned for index stop_at, if non-zero */
    uint64_t stop_at;
};

static int
collect_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct collect *c = arg;
    int64_t x = (int64_t)index;

    c->calls++;
    if (index != c->next)
        c->out_of_order++;
    c->next = index + 1;
    if (res->status != 0) {
        char want[64];

        c->failed++;
        snprintf(want, sizeof(want), "bad input %" PRId64 "\n", x);
        if (res->status != 1 || res->err.len != strlen(want) ||
            memcmp(res->err.data, want, res->err.len) != 0 ||
            res->out.len != 0)
            c->failed_wrong++;
    } else if (res->out.len != sizeof(x) || result_i64(res) != x * x) {
        c->wrong++;
    }
    if (c->stop_code != 0 && index == c->stop_at)
        return c->stop_code;
    return 0;
}

static void
test_pool_run_asks_the_generator_in_order_until_it_stops(void **state)
{
    size_t w;

    (void)state;
    for (w = 0; w < NCOUNTS; w++) {
        struct tf_config cfg = loop_cfg(worker_counts[w]);
        struct tf_pool *pool;
        struct tf_error err;
        struct collect c;
        struct gen g;

        cfg.chunksize = 1;
        pool = open_pool(&cfg);
        memset(&g, 0, sizeof(g));
        memset(&c, 0, sizeof(c));
        g.n = 2000;
        tf_error_init(&err);
        assert_int_equal(tf_pool_run(pool, "square_shuffled", gen_next, &g,
                                     collect_done, &c, 0, &err),
                         0);
        /* Asked for 0, 1, ..., 2000, where it said "no more". */
        assert_int_equal(g.calls, 2001);
        assert_int_equal(g.bad, 0);
        /* The results came in task order. */
        assert_int_equal(c.calls, 2000);
        assert_int_equal(c.out_of_order, 0);
        assert_int_equal(c.wrong, 0);
        assert_int_equal(c.failed, 0);
        close_pool(pool);
    }
}

static void
test_pool_run_unordered_delivers_each_index_once(void **state)
{
    struct tf_config cfg = loop_cfg(4);
    struct tf_pool *pool;
    struct tf_error err;
    struct seen s;
    struct gen g;
    const size_t n = 3000;
    int64_t *in = malloc(n * sizeof(*in));
    size_t i;

    (void)state;
    assert_non_null(in);
    for (i = 0; i < n; i++)
        in[i] = (int64_t)i;
    cfg.chunksize = 1;
    pool = open_pool(&cfg);
    memset(&g, 0, sizeof(g));
    g.n = n;
    memset(&s, 0, sizeof(s));
    s.in = in;
    s.n = n;
    s.count = calloc(n, sizeof(*s.count));
    assert_non_null(s.count);
    assert_int_equal(tf_pool_run(pool, "square_shuffled", gen_next, &g,
                                 seen_done, &s, TF_UNORDERED, &err),
                     0);
    assert_int_equal(s.calls, n);
    assert_int_equal(s.bad, 0);
    for (i = 0; i < n; i++)
        assert_int_equal(s.count[i], 1);
    free(s.count);
    free(in);
    close_pool(pool);
}

static void
test_pool_run_task_ids_are_index_plus_one(void **state)
{
    struct tf_config cfg = loop_cfg(3);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    int64_t in[50];
    int64_t out[50][3];
    size_t i;

    (void)state;
    for (i = 0; i < 50; i++)
        in[i] = 0;
    assert_int_equal(tf_map(pool, "whoami", in, sizeof(in[0]), out,
                            sizeof(out[0]), 50, &err),
                     0);
    for (i = 0; i < 50; i++) {
        assert_int_equal(out[i][0], i + 1);
        assert_in_range(out[i][1], 0, 2);
        assert_int_equal(out[i][2], 3);
    }
    close_pool(pool);
}

/* ------------------------------------------------------ failed tasks */

static void
test_failed_task_is_etask_naming_the_first_failed_index(void **state)
{
    size_t w;

    (void)state;
    for (w = 0; w < NCOUNTS; w++) {
        int flags;

        for (flags = 0; flags <= TF_UNORDERED; flags += TF_UNORDERED) {
            struct tf_config cfg = loop_cfg(worker_counts[w]);
            struct tf_pool *pool;
            struct tf_error err;
            struct collect c;
            struct gen g;

            cfg.chunksize = 1;
            pool = open_pool(&cfg);
            memset(&g, 0, sizeof(g));
            memset(&c, 0, sizeof(c));
            g.n = 100;
            tf_error_init(&err);
            assert_int_equal(tf_pool_run(pool, "fail_some", gen_next, &g,
                                         collect_done, &c, flags, &err),
                             TF_ETASK);
            assert_int_equal(err.code, TF_ETASK);
            /* Index 3 is the first of 3, 10, 17 ... that fail, whichever
             * failure arrived first; the message lost its newline. */
            assert_string_equal(err.msg, "task 3 failed: bad input 3");
            /* Every task ran and reached the callback. */
            assert_int_equal(c.calls, 100);
            assert_int_equal(c.failed, 14);
            assert_int_equal(c.failed_wrong, 0);
            assert_int_equal(c.wrong, 0);
            if (flags == 0)
                assert_int_equal(c.out_of_order, 0);
            close_pool(pool);
        }
    }
}

static void
test_map_with_failed_tasks_is_etask_and_fills_the_other_results(void **state)
{
    const size_t n = 1000;
    int64_t *in = malloc(n * sizeof(*in));
    int64_t *out = malloc(n * sizeof(*out));
    struct tf_config cfg = loop_cfg(4);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    size_t i;

    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    for (i = 0; i < n; i++) {
        in[i] = (int64_t)i + 4; /* 10, the first failure, is index 6 */
        out[i] = -1;
    }
    tf_error_init(&err);
    assert_int_equal(tf_map(pool, "fail_some", in, sizeof(in[0]), out,
                            sizeof(out[0]), n, &err),
                     TF_ETASK);
    assert_string_equal(err.msg, "task 6 failed: bad input 10");
    for (i = 0; i < n; i++) {
        if (in[i] % 7 == 3)
            assert_int_equal(out[i], 0);
        else
            assert_true(out[i] == in[i] * in[i]);
    }
    free(in);
    free(out);
    close_pool(pool);
}

static void
test_map_result_of_the_wrong_size_is_etask_naming_it(void **state)
{
    int64_t in[10];
    int64_t out[10];
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    size_t i;

    (void)state;
    for (i = 0; i < 10; i++) {
        in[i] = (int64_t)i;
        out[i] = -1;
    }
    tf_error_init(&err);
    assert_int_equal(tf_map(pool, "wrong_size", in, sizeof(in[0]), out,
                            sizeof(out[0]), 10, &err),
                     TF_ETASK);
    assert_int_equal(err.code, TF_ETASK);
    assert_non_null(strstr(err.msg, "task 5 "));
    assert_non_null(strstr(err.msg, "4 bytes"));
    for (i = 0; i < 10; i++)
        assert_int_equal(out[i], i == 5 ? 0 : in[i] * in[i]);
    close_pool(pool);
}

/*
 * Runs 20 tasks of FN on a pool of 1, 2 and then 4 workers (with INIT as
 * initializer), which must end with WANT and a message holding WHAT; then
 * tf_finalize() must return (whatever it reports) and a new pool must work.
 */
static int
failure_ends_run_and_pool(const char *fn, int (*init)(void *), int want,
                          const char *what)
{
    int64_t in[20] = {0};
    int64_t out[20];
    size_t w;

    for (w = 0; w < NCOUNTS; w++) {
        struct tf_config cfg = loop_cfg(worker_counts[w]);
        struct tf_pool *pool = NULL;
        struct tf_error err;
        int rc;

        cfg.chunksize = 1;
        cfg.initializer = init;
        tf_error_init(&err);
        if (tf_init(&cfg, &pool, &err) != 0) {
            say("tf_init: %s", err.msg);
            return 1;
        }
        say("%d workers: ", worker_counts[w]);
        rc = tf_map(pool, fn, in, sizeof(in[0]), out, sizeof(out[0]), 20,
                    &err);
        say("tf_map returned %d (%s); ", rc, err.msg);
        if (rc != want || strstr(err.msg, what) == NULL) {
            say("expected %d and a message with '%s'", want, what);
            return 1;
        }
        say("tf_finalize");
        rc = tf_finalize(pool, &err);
        say(" returned %d; ", rc);
    }
    return 0;
}

static int
worker_failure(void)
{
    return failure_ends_run_and_pool("worker_fails", NULL, TF_ENOMEM,
                                     ": out of memory");
}

static void
test_worker_failure_ends_the_run_with_the_workers_code(void **state)
{
    (void)state;
    expect_in_child(worker_failure);
}

static int
initializer_failure(void)
{
    return failure_ends_run_and_pool("square", fail_init, TF_EINPUT,
                                     "initializer");
}

static void
test_failing_initializer_fails_the_run_with_its_code(void **state)
{
    (void)state;
    expect_in_child(initializer_failure);
}

/* ------------------------------------------------- callbacks that stop */

static void
test_negative_done_return_stops_pool_run_with_that_code(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    struct collect c;
    struct gen g;

    (void)state;
    memset(&g, 0, sizeof(g));
    memset(&c, 0, sizeof(c));
    g.n = 1000;
    c.stop_code = -42;
    c.stop_at = 10;
    tf_error_init(&err);
    assert_int_equal(tf_pool_run(pool, "square", gen_next, &g, collect_done,
                                 &c, 0, &err),
                     -42);
    assert_int_equal(err.code, -42);
    assert_non_null(strstr(err.msg, "task 10"));
    /* No result after the one that stopped it. */
    assert_int_equal(c.calls, 11);
    /* What tf_finalize() says after a stopped run is the next test's. */
    finalize_any(pool);
}

/* Opens a pool of 4 workers with chunks of 1, runs tasks until every
 * worker has run one (so all take part in the next run), then starts a run
 * of N tasks and stops it at the first result, task 0's, while the other
 * workers are still busy with theirs. Returns the pool, or NULL after saying
 * why. */
static struct tf_pool *
pool_with_a_stopped_run(size_t n)
{
    struct tf_config cfg = loop_cfg(4);
    struct tf_pool *pool = NULL;
    struct tf_error err;
    struct collect c;
    struct gen g;
    int64_t in[64] = {0};
    int64_t out[64][3];
    int seen = 0;
    int tries;
    int i;
    int rc;

    cfg.chunksize = 1;
    tf_error_init(&err);
    if (tf_init(&cfg, &pool, &err) != 0) {
        say("tf_init: %s", err.msg);
        return NULL;
    }
    for (tries = 0; tries < 100 && seen != 0xf; tries++) {
        if (tf_map(pool, "whoami", in, sizeof(in[0]), out, sizeof(out[0]), 64,
                   &err) != 0) {
            say("tf_map: %s", err.msg);
            return NULL;
        }
        for (i = 0; i < 64; i++)
            seen |= 1 << out[i][1];
    }
    if (seen != 0xf) {
        say("not every worker ran a task (seen: %#x)", seen);
        return NULL;
    }
    memset(&g, 0, sizeof(g));
    memset(&c, 0, sizeof(c));
    g.n = n;
    c.stop_code = TF_EINPUT;
    c.stop_at = 0;
    rc = tf_pool_run(pool, "slow_but_0", gen_next, &g, collect_done, &c, 0,
                     &err);
    if (rc != TF_EINPUT || c.calls != 1) {
        say("the stopped run returned %d after %llu results", rc,
            (unsigned long long)c.calls);
        return NULL;
    }
    say("a run of %zu tasks stopped at its first result; ", n);
    return pool;
}

static int
finalize_after_a_stopped_run(void)
{
    struct tf_pool *pool = pool_with_a_stopped_run(5000);
    struct tf_error err;
    int rc;

    if (pool == NULL)
        return 1;
    tf_error_init(&err);
    rc = tf_finalize(pool, &err);
    if (rc != 0) {
        say("then tf_finalize returned %d: %s", rc, err.msg);
        return 1;
    }
    return 0;
}

static void
test_finalize_after_a_callback_stopped_a_run_returns_0(void **state)
{
    (void)state;
    expect_in_child(finalize_after_a_stopped_run);
}

static int
imap_after_a_stopped_run(void)
{
    const size_t n = 5000;
    struct tf_pool *pool = pool_with_a_stopped_run(n);
    struct tf_error err;
    struct seen s;
    int64_t in[5000];
    size_t i;
    int rc;

    if (pool == NULL)
        return 1;
    for (i = 0; i < n; i++)
        in[i] = (int64_t)i + 100000;
    memset(&s, 0, sizeof(s));
    s.in = in;
    s.n = n;
    s.count = calloc(n, sizeof(*s.count));
    if (s.count == NULL)
        return 1;
    say("then tf_imap_unordered of %zu tasks", n);
    tf_error_init(&err);
    rc = tf_imap_unordered(pool, "square", in, sizeof(in[0]), n, seen_done,
                           &s, &err);
    say(" returned %d %s; ", rc, err.msg);
    /* Each of its indices once, with its own result, and nothing else. */
    for (i = 0; i < n && s.count[i] == 1; i++)
        continue;
    if (rc != 0 || s.calls != n || s.bad != 0 || i < n) {
        say("it made %zu calls for %zu tasks, %zu with a result that is not "
            "its own; index %zu was delivered %d times",
            (size_t)s.calls, n, s.bad, i < n ? i : 0,
            i < n ? s.count[i] : 1);
        free(s.count);
        return 1;
    }
    free(s.count);
    tf_finalize(pool, &err);
    return 0;
}

static void
test_run_after_a_stopped_run_gets_only_its_own_results(void **state)
{
    (void)state;
    expect_in_child(imap_after_a_stopped_run);
}

static void
test_negative_next_return_stops_pool_run_after_the_tasks_before(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    struct collect c;
    struct gen g;

    (void)state;
    memset(&g, 0, sizeof(g));
    memset(&c, 0, sizeof(c));
    g.n = 1000;
    g.stop_code = -77;
    g.stop_at = 25;
    tf_error_init(&err);
    assert_int_equal(tf_pool_run(pool, "square", gen_next, &g, collect_done,
                                 &c, 0, &err),
                     -77);
    assert_non_null(strstr(err.msg, "task 25"));
    assert_int_equal(g.calls, 26);
    assert_int_equal(c.calls, 25);
    assert_int_equal(c.out_of_order, 0);
    assert_int_equal(c.wrong, 0);
    close_pool(pool);
}

/* -------------------------------------------------------- tf_pool_share */

struct expect_text {
    const char *want;
    uint64_t calls;
    size_t bad;
};

static int
expect_text_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct expect_text *e = arg;

    (void)index;
    e->calls++;
    if (res->status != 0 || res->out.len != strlen(e->want) ||
        memcmp(res->out.data, e->want, res->out.len) != 0)
        e->bad++;
    return 0;
}

/* Runs N "shared" tasks and checks that each saw WANT. */
static void
all_tasks_see(struct tf_pool *pool, const char *want, size_t n)
{
    struct expect_text e;
    struct tf_error err;
    struct gen g;

    memset(&g, 0, sizeof(g));
    g.n = n;
    memset(&e, 0, sizeof(e));
    e.want = want;
    tf_error_init(&err);
    if (tf_pool_run(pool, "shared", gen_next, &g, expect_text_done, &e,
                    TF_UNORDERED, &err) != 0)
        fail_msg("tf_pool_run: %s", err.msg);
    assert_int_equal(e.calls, n);
    if (e.bad != 0)
        fail_msg("%zu of %zu tasks did not see '%s'", e.bad, n, want);
}

static void
test_share_is_seen_by_every_task_and_a_second_share_replaces_it(void **state)
{
    static const char big_want[] = "a longer second share, seen instead";
    size_t w;

    (void)state;
    for (w = 0; w < NCOUNTS; w++) {
        struct tf_config cfg = loop_cfg(worker_counts[w]);
        struct tf_pool *pool;
        struct tf_error err;

        cfg.chunksize = 1;
        pool = open_pool(&cfg);
        all_tasks_see(pool, "(none)", 50);
        assert_int_equal(tf_pool_share(pool, "first", 5, &err), 0);
        all_tasks_see(pool, "first", 200);
        assert_int_equal(
            tf_pool_share(pool, big_want, sizeof(big_want) - 1, &err), 0);
        all_tasks_see(pool, big_want, 200);
        assert_int_equal(tf_pool_share(pool, "2nd", 3, &err), 0);
        all_tasks_see(pool, "2nd", 200);
        close_pool(pool);
    }
}

struct expect_sum {
    uint64_t len;
    uint64_t hash;
    uint64_t calls;
    uint64_t bad;
    uint64_t workers; /* bit per worker that ran a task */
};

static int
expect_sum_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct expect_sum *e = arg;
    uint64_t v[3];

    (void)index;
    e->calls++;
    if (res->status != 0 || res->out.len != sizeof(v)) {
        e->bad++;
        return 0;
    }
    memcpy(v, res->out.data, sizeof(v));
    if (v[0] != e->len || v[1] != e->hash || v[2] != 1)
        e->bad++;
    return 0;
}

/* Runs N "shared_sum" tasks; returns how many did not see LEN bytes
 * hashing to HASH, 16-byte aligned (or -1 when the run failed). */
static long
tasks_not_seeing(struct tf_pool *pool, uint64_t len, uint64_t hash, size_t n,
                 struct tf_error *err)
{
    struct expect_sum e;
    struct gen g;

    memset(&g, 0, sizeof(g));
    g.n = n;
    memset(&e, 0, sizeof(e));
    e.len = len;
    e.hash = hash;
    if (tf_pool_run(pool, "shared_sum", gen_next, &g, expect_sum_done, &e,
                    TF_UNORDERED, err) != 0)
        return -1;
    return e.calls == n ? (long)e.bad : (long)n;
}

/* With retries, failed tasks run again until they succeed, callers see
 * only the last attempt, and a retry runs on another worker. */
static void
test_retries_run_failed_tasks_again_on_another_worker(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool;
    struct tf_error err;
    int64_t in[FLAKY_MAX];
    int64_t out[FLAKY_MAX];
    int i;

    (void)state;
    for (i = 0; i < FLAKY_MAX; i++)
        in[i] = i;
    cfg.chunksize = 1;
    cfg.retries = 2;
    pool = open_pool(&cfg);
    flaky_reset(2);
    tf_error_init(&err);
    assert_int_equal(tf_map(pool, "flaky", in, sizeof(in[0]), out,
                            sizeof(out[0]), FLAKY_MAX, &err),
                     0);
    for (i = 0; i < FLAKY_MAX; i++) {
        /* The result is the last run's: run 0 for even, run 2 for odd. */
        assert_int_equal(out[i], i % 2 == 1 ? 2 : 0);
        assert_int_equal(atomic_load(&flaky_runs[i]), i % 2 == 1 ? 3 : 1);
        if (i % 2 == 1) {
            assert_int_not_equal(atomic_load(&flaky_worker[i][1]),
                                 atomic_load(&flaky_worker[i][0]));
            assert_int_not_equal(atomic_load(&flaky_worker[i][2]),
                                 atomic_load(&flaky_worker[i][1]));
        }
    }
    /* One retry is not enough for two failures: those tasks fail. */
    close_pool(pool);
    cfg.retries = 1;
    pool = open_pool(&cfg);
    flaky_reset(2);
    assert_int_equal(tf_map(pool, "flaky", in, sizeof(in[0]), out,
                            sizeof(out[0]), FLAKY_MAX, &err),
                     TF_ETASK);
    for (i = 0; i < FLAKY_MAX; i++)
        assert_int_equal(atomic_load(&flaky_runs[i]), i % 2 == 1 ? 2 : 1);
    close_pool(pool);
}

/* cfg.timeout_us reaches every task; with cfg.timeout_pct the limit is
 * none until 3 tasks succeeded, then that percentage of their median. */
static void
test_time_limits_reach_the_tasks(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool;
    struct tf_error err;
    uint64_t in[40];
    uint64_t out[40][2];
    size_t i;

    (void)state;
    memset(in, 0, sizeof(in));
    cfg.timeout_us = 123456;
    cfg.kill_grace_us = 789;
    pool = open_pool(&cfg);
    tf_error_init(&err);
    assert_int_equal(tf_map(pool, "limit", in, sizeof(in[0]), out,
                            sizeof(out[0]), 40, &err),
                     0);
    for (i = 0; i < 40; i++) {
        assert_int_equal(out[i][0], 123456);
        assert_int_equal(out[i][1], 789);
    }
    close_pool(pool);
    cfg = loop_cfg(1);
    cfg.chunksize = 1;
    cfg.timeout_pct = 200;
    pool = open_pool(&cfg);
    assert_int_equal(tf_map(pool, "limit", in, sizeof(in[0]), out,
                            sizeof(out[0]), 40, &err),
                     0);
    assert_int_equal(out[0][0], 0);
    /* The tasks take microseconds: the limit is the 1 ms floor. */
    assert_int_equal(out[39][0], 1000);
    assert_int_equal(out[39][1], 2000000); /* the default grace */
    close_pool(pool);
}

static void
test_share_buffer_is_filled_in_place_then_committed(void **state)
{
    struct tf_config cfg = loop_cfg(3);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    unsigned char *p;
    size_t i, len = 100000;

    (void)state;
    tf_error_init(&err);
    /* A commit with no buffer asked for is a usage error. */
    assert_int_equal(tf_pool_share_commit(pool, &err), TF_EUSAGE);
    p = tf_pool_share_buffer(pool, len, &err);
    assert_non_null(p);
    assert_true((uintptr_t)p % 16 == 0);
    for (i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(tf_pool_share_commit(pool, &err), 0);
    assert_int_equal(tasks_not_seeing(pool, len, fnv(p, len), 300, &err), 0);
    /* Committed once: a second commit has nothing to send. */
    assert_int_equal(tf_pool_share_commit(pool, &err), TF_EUSAGE);
    close_pool(pool);
}

/* On forked workers: a large share travels as one mapped file, a second
 * replaces it, and a small one after them is sent as bytes. */
static int
fork_shares(void)
{
    static const size_t lens[] = {3u << 20, 5u << 20, 10};
    struct tf_config cfg;
    struct tf_pool *pool = NULL;
    struct tf_error err;
    unsigned char *p;
    size_t k, i;
    long bad;

    tf_config_init(&cfg);
    cfg.backend = "fork";
    cfg.nworkers = 2;
    cfg.chunksize = 1;
    tf_error_init(&err);
    if (tf_init(&cfg, &pool, &err) != 0) {
        say("tf_init: %s", err.msg);
        return 1;
    }
    for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        p = tf_pool_share_buffer(pool, lens[k], &err);
        if (p == NULL) {
            say("tf_pool_share_buffer(%zu): %s", lens[k], err.msg);
            return 1;
        }
        for (i = 0; i < lens[k]; i++)
            p[i] = (unsigned char)(i * (k + 3) + (i >> 12));
        if (tf_pool_share_commit(pool, &err) != 0) {
            say("tf_pool_share_commit: %s", err.msg);
            return 1;
        }
        bad = tasks_not_seeing(pool, lens[k], fnv(p, lens[k]), 100, &err);
        if (bad != 0) {
            say("share of %zu bytes: %ld of 100 tasks saw other bytes (%s)",
                lens[k], bad, err.msg);
            return 1;
        }
    }
    if (tf_finalize(pool, &err) != 0) {
        say("tf_finalize: %s", err.msg);
        return 1;
    }
    return 0;
}

static void
test_large_shares_reach_forked_workers_intact(void **state)
{
    (void)state;
    expect_in_child(fork_shares);
}

/* What a log function was given: messages and their levels. */
struct said {
    char text[4096];
    size_t len;
    int warnings;
};

static void
log_into(void *arg, int level, int worker, const char *msg)
{
    struct said *s = arg;
    int n = snprintf(s->text + s->len, sizeof(s->text) - s->len, "%d %s\n",
                     worker, msg);

    if (n > 0 && (size_t)n < sizeof(s->text) - s->len)
        s->len += (size_t)n;
    if (level == TF_LOG_WARN)
        s->warnings++;
}

/*
 * A pool of forked workers one of which dies under a task and is
 * replaced: with LOG the library tells it there, and without one it
 * writes nothing at all to standard output or error.
 */
static int
fork_quiet_or_logged(bool log)
{
    int64_t in[20], out[20];
    struct said said;
    struct tf_config cfg;
    struct tf_pool *pool = NULL;
    struct tf_error err;
    char path[40] = "/tmp/tf_test_pool_std_XXXXXX";
    int fd = mkstemp(path);
    struct stat st;
    size_t i;
    int rc;

    memset(&said, 0, sizeof(said));
    if (fd < 0) {
        say("mkstemp: %s", strerror(errno));
        return 1;
    }
    unlink(path);
    /* Standard output and error both go to the file. */
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    for (i = 0; i < 20; i++)
        in[i] = (int64_t)i;
    tf_config_init(&cfg);
    cfg.backend = "fork";
    cfg.nworkers = 2;
    cfg.chunksize = 1;
    if (log) {
        cfg.log = log_into;
        cfg.log_arg = &said;
        tf_log_set_level(TF_LOG_WARN);
    }
    tf_error_init(&err);
    rc = tf_init(&cfg, &pool, &err);
    if (rc == 0)
        rc = tf_map(pool, "die_once", in, sizeof(in[0]), out, sizeof(out[0]),
                    20, &err);
    if (rc == 0)
        rc = tf_finalize(pool, &err);
    if (rc != 0) {
        say("%d %s", rc, err.msg);
        return 1;
    }
    for (i = 0; i < 20; i++) {
        if (out[i] != in[i] * in[i]) {
            say("out[%zu] = %lld", i, (long long)out[i]);
            return 1;
        }
    }
    if (fstat(fd, &st) != 0 || st.st_size != 0) {
        say("%lld bytes on standard output and error",
            (long long)st.st_size);
        return 1;
    }
    if (log && (said.warnings != 1 ||
                strstr(said.text, "-1 worker ") == NULL ||
                strstr(said.text, "a new one takes its place") == NULL)) {
        say("the log got %d warnings: %s", said.warnings, said.text);
        return 1;
    }
    return 0;
}

static int
fork_quiet(void)
{
    return fork_quiet_or_logged(false);
}

static int
fork_logged(void)
{
    return fork_quiet_or_logged(true);
}

static void
test_the_library_writes_nothing_and_logs_only_to_its_log_function(void **state)
{
    (void)state;
    tf_test_temp_path(die_marker, "die");
    expect_in_child(fork_quiet);
    unlink(die_marker);
    expect_in_child(fork_logged);
    unlink(die_marker);
}

/* Counts the "mark" results that failed. */
static int
count_failed(void *arg, uint64_t index, const struct tf_result *res)
{
    (void)index;
    if (res->status != 0)
        (*(size_t *)arg)++;
    return 0;
}

/* On forked workers a large share is the master's own memory: what tasks
 * write into task->shared_rw, the master reads in its buffer. */
static int
fork_share_written(void)
{
    enum { N = 5000 };
    const size_t len = (size_t)1 << 21; /* 2 MiB: mapped */
    struct tf_config cfg;
    struct tf_pool *pool = NULL;
    struct tf_error err;
    struct gen g;
    int64_t *slot;
    size_t failed = 0, i;

    tf_config_init(&cfg);
    cfg.backend = "fork";
    cfg.nworkers = 3;
    tf_error_init(&err);
    if (tf_init(&cfg, &pool, &err) != 0) {
        say("tf_init: %s", err.msg);
        return 1;
    }
    if (tf_pool_share_maps(pool, len) != 1 || tf_pool_share_maps(pool, 10)) {
        say("tf_pool_share_maps: %d for 2 MiB, %d for 10 bytes",
            tf_pool_share_maps(pool, len), tf_pool_share_maps(pool, 10));
        return 1;
    }
    slot = tf_pool_share_buffer(pool, len, &err);
    if (slot == NULL || tf_pool_share_commit(pool, &err) != 0) {
        say("share: %s", err.msg);
        return 1;
    }
    memset(&g, 0, sizeof(g));
    g.n = N;
    for (i = 0; i < N; i++)
        slot[i] = -1;
    if (tf_pool_run(pool, "mark", gen_next, &g, count_failed, &failed,
                    TF_UNORDERED, &err) != 0 ||
        failed != 0) {
        say("run: %zu tasks failed (%s)", failed, err.msg);
        return 1;
    }
    for (i = 0; i < N; i++) {
        if (slot[i] != (int64_t)i) {
            say("slot %zu holds %lld after the run", i, (long long)slot[i]);
            return 1;
        }
    }
    if (tf_finalize(pool, &err) != 0) {
        say("tf_finalize: %s", err.msg);
        return 1;
    }
    return 0;
}

static void
test_forked_workers_write_a_large_share_the_master_reads(void **state)
{
    (void)state;
    expect_in_child(fork_share_written);
}

static void
test_threads_of_the_loop_transport_get_copies_of_a_share(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    struct gen g;
    size_t failed = 0;
    void *p;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf_pool_share_maps(pool, (size_t)1 << 21), 0);
    p = tf_pool_share_buffer(pool, (size_t)1 << 21, &err);
    assert_non_null(p);
    assert_int_equal(tf_pool_share_commit(pool, &err), 0);
    memset(&g, 0, sizeof(g));
    g.n = 10;
    /* Without a writable share every "mark" task fails, as it should. */
    assert_int_equal(tf_pool_run(pool, "mark", gen_next, &g, count_failed,
                                 &failed, TF_UNORDERED, &err),
                     TF_ETASK);
    assert_int_equal(failed, 10);
    close_pool(pool);
}

static void
test_share_right_after_init_reaches_workers_starting_up(void **state)
{
    struct tf_config cfg = loop_cfg(4);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    char data[100];

    (void)state;
    /* Copied: changing the caller's bytes afterwards changes nothing. */
    strcpy(data, "shared before any worker said hello");
    assert_int_equal(tf_pool_share(pool, data, strlen(data), &err), 0);
    memset(data, 'x', sizeof(data) - 1);
    all_tasks_see(pool, "shared before any worker said hello", 400);
    close_pool(pool);
}

/* ---------------------------------------------------------- initializer */

struct init_check {
    uint64_t calls;
    size_t uninitialised;   /* tasks that ran before their initializer */
    size_t malformed;       /* results that are not two int64 */
    int64_t most_since_init;
};

static int
init_check_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct init_check *c = arg;
    int64_t v[2];

    (void)index;
    c->calls++;
    /* No assert here: a failure must not jump out of the pool's loop. */
    if (res->status != 0 || res->out.len != sizeof(v)) {
        c->malformed++;
        return 0;
    }
    memcpy(v, res->out.data, sizeof(v));
    if (v[0] != 1)
        c->uninitialised++;
    if (v[1] > c->most_since_init)
        c->most_since_init = v[1];
    return 0;
}

static void
run_init_state(struct tf_pool *pool, uint64_t n, struct init_check *c)
{
    struct tf_error err;
    struct gen g;

    memset(&g, 0, sizeof(g));
    g.n = n;
    memset(c, 0, sizeof(*c));
    tf_error_init(&err);
    if (tf_pool_run(pool, "init_state", gen_next, &g, init_check_done, c, 0,
                    &err) != 0)
        fail_msg("tf_pool_run: %s", err.msg);
    assert_int_equal(c->calls, n);
    assert_int_equal(c->malformed, 0);
}

static void
test_initializer_runs_once_on_each_worker_before_its_first_task(void **state)
{
    size_t w;

    (void)state;
    for (w = 0; w < NCOUNTS; w++) {
        struct tf_config cfg = loop_cfg(worker_counts[w]);
        struct tf_pool *pool;
        struct init_check c;

        cfg.initializer = count_init;
        cfg.initarg = &init_count;
        cfg.chunksize = 1;
        atomic_store(&init_count, 0);
        pool = open_pool(&cfg);
        run_init_state(pool, 500, &c);
        assert_int_equal(c.uninitialised, 0);
        run_init_state(pool, 500, &c);
        assert_int_equal(c.uninitialised, 0);
        close_pool(pool);
        /* Every worker ran it once, whether or not it got a task. */
        assert_int_equal(atomic_load(&init_count), worker_counts[w]);
    }
}

static void
test_max_tasks_per_worker_3_reruns_the_initializer_every_3_tasks(void **state)
{
    static const uint64_t chunks[] = {0, 1, 2, 100};
    size_t c;

    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        struct tf_config cfg = loop_cfg(1);
        struct tf_pool *pool;
        struct init_check ic;

        cfg.initializer = count_init;
        cfg.initarg = &init_count;
        cfg.max_tasks_per_worker = 3;
        cfg.chunksize = chunks[c];
        atomic_store(&init_count, 0);
        pool = open_pool(&cfg);
        run_init_state(pool, 31, &ic);
        assert_int_equal(ic.uninitialised, 0);
        /* No task ran as the 4th since an initializer. */
        if (ic.most_since_init != 3)
            fail_msg("chunk %" PRIu64 ": up to %" PRId64 " tasks ran "
                     "between initializers, the limit is 3",
                     chunks[c], ic.most_since_init);
        close_pool(pool);
        /* A thread is not replaced: its initializer runs again after
         * tasks 3, 6, ... 30 (the start, then 10 resets). */
        assert_int_equal(atomic_load(&init_count), 11);
    }
}

static void
test_max_tasks_per_worker_holds_on_several_workers(void **state)
{
    struct tf_config cfg = loop_cfg(4);
    struct tf_pool *pool;
    struct init_check ic;

    (void)state;
    cfg.initializer = count_init;
    cfg.initarg = &init_count;
    cfg.max_tasks_per_worker = 3;
    atomic_store(&init_count, 0);
    pool = open_pool(&cfg);
    run_init_state(pool, 600, &ic);
    assert_int_equal(ic.uninitialised, 0);
    assert_in_range(ic.most_since_init, 1, 3);
    close_pool(pool);
    /* 600 tasks, at most 3 per initializer run. */
    assert_true(atomic_load(&init_count) >= 200);
}

/* -------------------------------------------------- threads per worker */

/* Runs the "getenv" task for NAME on POOL and returns its value. */
static void
env_seen_by_task(struct tf_pool *pool, const char *name, struct tf_buf *out)
{
    struct tf_error err;

    tf_buf_reset(out);
    tf_error_init(&err);
    if (tf_apply(pool, "getenv", name, strlen(name), out, &err) != 0)
        fail_msg("getenv %s: %s", name, err.msg);
}

static void
test_threads_per_worker_3_sets_omp_num_threads_when_unset(void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool;
    struct tf_buf out;
    size_t i;

    (void)state;
    for (i = 0; i < NVARS; i++)
        unsetenv(thread_vars[i]);
    tf_buf_init(&out, 0);
    cfg.threads_per_worker = 3;
    pool = open_pool(&cfg);
    for (i = 0; i < NVARS; i++) {
        env_seen_by_task(pool, thread_vars[i], &out);
        assert_string_equal((char *)out.data, "3");
    }
    close_pool(pool);
    tf_buf_cleanup(&out);
    for (i = 0; i < NVARS; i++)
        setenv(thread_vars[i], "1", 1);
}

static void
test_threads_per_worker_leaves_a_value_the_user_set(void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool;
    struct tf_buf out;

    (void)state;
    setenv("OMP_NUM_THREADS", "5", 1);
    tf_buf_init(&out, 0);
    cfg.threads_per_worker = 3;
    pool = open_pool(&cfg);
    env_seen_by_task(pool, "OMP_NUM_THREADS", &out);
    assert_string_equal((char *)out.data, "5");
    close_pool(pool);
    tf_buf_cleanup(&out);
    setenv("OMP_NUM_THREADS", "1", 1);
}

/* ----------------------------------------------- registration and init */

static void
test_register_rejects_duplicates_empty_names_and_calls_after_init(
    void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool;
    struct tf_error err;
    struct tf_buf out;

    (void)state;
    assert_int_equal(tf_register("square", echo, NULL), TF_EUSAGE);
    assert_int_equal(tf_register("echo", echo, NULL), TF_EUSAGE);
    assert_int_equal(tf_register("", echo, NULL), TF_EUSAGE);
    assert_int_equal(tf_register(NULL, echo, NULL), TF_EUSAGE);
    assert_int_equal(tf_register("no_function", NULL, NULL), TF_EUSAGE);
    pool = open_pool(&cfg);
    assert_int_equal(tf_register("too_late", echo, NULL), TF_EUSAGE);
    close_pool(pool);
    /* The rejected names were not registered ... */
    pool = open_pool(&cfg);
    tf_buf_init(&out, 0);
    assert_int_equal(tf_apply(pool, "too_late", "x", 1, &out, &err),
                     TF_EUSAGE);
    assert_int_equal(tf_apply(pool, "no_function", "x", 1, &out, &err),
                     TF_EUSAGE);
    /* ... and "square" is still the square. */
    {
        int64_t x = 7;

        assert_int_equal(tf_apply(pool, "square", &x, sizeof(x), &out, &err),
                         0);
        memcpy(&x, out.data, sizeof(x));
        assert_int_equal(x, 49);
    }
    close_pool(pool);
    tf_buf_cleanup(&out);
}

static void
test_register_after_finalize_is_allowed_for_the_next_pool(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool;
    struct tf_error err;
    struct tf_buf out;

    (void)state;
    /* pool.c clears its started flag in tf_finalize(), so a later pool in
     * the same process may use functions registered in between. */
    pool = open_pool(&cfg);
    close_pool(pool);
    assert_int_equal(tf_register("registered_late", echo, NULL), 0);
    assert_int_equal(tf_register("registered_late", echo, NULL), TF_EUSAGE);
    pool = open_pool(&cfg);
    tf_buf_init(&out, 0);
    assert_int_equal(tf_apply(pool, "registered_late", "late", 4, &out, &err),
                     0);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "late", 4);
    tf_buf_cleanup(&out);
    close_pool(pool);
}

static void
test_init_with_an_unknown_backend_is_eusage_and_leaves_no_pool(void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool = (struct tf_pool *)&cfg;
    struct tf_error err;

    (void)state;
    cfg.backend = "carrier-pigeon";
    tf_error_init(&err);
    assert_int_equal(tf_init(&cfg, &pool, &err), TF_EUSAGE);
    assert_null(pool);
    assert_int_equal(err.code, TF_EUSAGE);
    assert_non_null(strstr(err.msg, "carrier-pigeon"));
    /* The failure left nothing started: a pool can be made now. */
    cfg.backend = "loop";
    pool = open_pool(&cfg);
    close_pool(pool);
}

static void
test_init_with_negative_counts_is_eusage(void **state)
{
    struct tf_config cfg = loop_cfg(-1);
    struct tf_pool *pool = NULL;
    struct tf_error err;

    (void)state;
    assert_int_equal(tf_init(&cfg, &pool, &err), TF_EUSAGE);
    assert_null(pool);
    cfg = loop_cfg(1);
    cfg.threads_per_worker = -2;
    assert_int_equal(tf_init(&cfg, &pool, &err), TF_EUSAGE);
    assert_null(pool);
}

static void
test_init_while_a_pool_is_active_is_eusage(void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_pool *second = NULL;
    struct tf_error err;
    struct tf_buf out;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf_init(&cfg, &second, &err), TF_EUSAGE);
    assert_null(second);
    /* The first pool is unharmed. */
    tf_buf_init(&out, 0);
    assert_int_equal(tf_apply(pool, "echo", "ok", 2, &out, &err), 0);
    assert_int_equal(out.len, 2);
    tf_buf_cleanup(&out);
    close_pool(pool);
}

static void
test_finalize_of_null_is_a_no_op(void **state)
{
    struct tf_error err;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf_finalize(NULL, &err), 0);
    assert_int_equal(err.code, 0);
}

/* Last: it fills the table of functions, which the tests above need. */
static void
test_register_rejects_the_65th_function(void **state)
{
    static char names[64][16];
    int i;
    int rc = 0;

    (void)state;
    for (i = 0; i < 64 && rc == 0; i++) {
        snprintf(names[i], sizeof(names[i]), "filler%d", i);
        rc = tf_register(names[i], echo, NULL);
    }
    /* The table holds 64; the ones registered before count too. */
    assert_int_equal(rc, TF_EUSAGE);
    assert_true(i > 1 && i < 64);
    assert_int_equal(tf_register("one_more", echo, NULL), TF_EUSAGE);
}


/* ------------------------------------------- tasks that submit tasks */

/* What a growing run saw: how often each node was done, and the order. */
struct grow {
    uint64_t n;            /* nodes */
    unsigned *count;       /* owned: done per node */
    uint64_t calls;
    uint64_t bad;          /* results that are no node, or out of order */
    uint64_t last_index;
    unsigned char *seen;   /* owned: nodes the submit hook let through */
    uint64_t hook_calls;
    uint64_t *frontier;    /* owned: nodes for `next`, in grow_later mode */
    size_t nfront;
    uint64_t start;        /* the first task */
    bool started;
    bool ordered;
};

static void
grow_init(struct grow *g, uint64_t n, bool ordered)
{
    memset(g, 0, sizeof(*g));
    g->n = n;
    g->ordered = ordered;
    g->count = calloc(n, sizeof(*g->count));
    g->seen = calloc(n, 1);
    g->frontier = malloc(2 * n * sizeof(*g->frontier) + 8);
    assert_non_null(g->count);
    assert_non_null(g->seen);
    assert_non_null(g->frontier);
}

static void
grow_cleanup(struct grow *g)
{
    free(g->count);
    free(g->seen);
    free(g->frontier);
}

/* `next` of a run that starts from one task and then has no more. */
static int
grow_start(void *arg, uint64_t index, struct tf_buf *task)
{
    struct grow *g = arg;

    (void)index;
    if (g->started)
        return 0;
    g->started = true;
    g->seen[g->start] = 1;
    return tf_buf_append(task, &g->start, sizeof(g->start)) < 0 ? TF_ENOMEM
                                                                 : 1;
}

/* `next` of a run whose tasks come from its own frontier: TF_LATER when it
 * is empty, never 0. */
static int
grow_later(void *arg, uint64_t index, struct tf_buf *task)
{
    struct grow *g = arg;
    uint64_t v;

    (void)index;
    if (!g->started) {
        g->started = true;
        g->seen[g->start] = 1;
        g->frontier[g->nfront++] = g->start;
    }
    if (g->nfront == 0)
        return TF_LATER;
    v = g->frontier[--g->nfront];
    return tf_buf_append(task, &v, sizeof(v)) < 0 ? TF_ENOMEM : 1;
}

static int
grow_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct grow *g = arg;
    uint64_t v;

    if (g->ordered && g->calls > 0 && index != g->last_index + 1)
        g->bad++;
    g->last_index = index;
    g->calls++;
    if (res->status != 0 || res->out.len != sizeof(v)) {
        g->bad++;
        return 0;
    }
    memcpy(&v, res->out.data, sizeof(v));
    if (v >= g->n)
        g->bad++;
    else
        g->count[v]++;
    return 0;
}

/* What both hooks do first: counts the call and reads the node into *V;
 * returns 1 for a node not seen before (now marked seen), 0 for one seen,
 * or TF_EINPUT for bytes that are no node. */
static int
grow_new(struct grow *g, const void *data, size_t len, uint64_t *v)
{
    g->hook_calls++;
    if (len != sizeof(*v))
        return TF_EINPUT;
    memcpy(v, data, sizeof(*v));
    if (*v >= g->n || g->seen[*v])
        return 0;
    g->seen[*v] = 1;
    return 1;
}

/* The hook that de-duplicates: queues a node the first time only. */
static int
grow_dedup(void *arg, struct tf_pool *pool, uint64_t parent,
           const void *data, size_t len)
{
    uint64_t v;

    (void)pool;
    (void)parent;
    return grow_new(arg, data, len, &v);
}

/* The hook that keeps new nodes in the run's own frontier. */
static int
grow_keep(void *arg, struct tf_pool *pool, uint64_t parent, const void *data,
          size_t len)
{
    struct grow *g = arg;
    uint64_t v;
    int rc;

    (void)pool;
    (void)parent;
    rc = grow_new(g, data, len, &v);
    if (rc == 1)
        g->frontier[g->nfront++] = v;
    return rc < 0 ? rc : 0;
}

/* The nodes of the graph reachable from START, found serially. */
static uint64_t
graph_reachable(uint64_t start, unsigned char *reach)
{
    uint64_t *stack = malloc(2 * GRAPH_N * sizeof(*stack));
    size_t top = 0;
    uint64_t count = 0;

    assert_non_null(stack);
    memset(reach, 0, GRAPH_N);
    stack[top++] = start;
    reach[start] = 1;
    while (top > 0) {
        uint64_t n = stack[--top];
        uint64_t links[2] = {(7 * n + 3) % GRAPH_N, (5 * n + 1) % GRAPH_N};

        count++;
        for (int k = 0; k < 2; k++) {
            if (!reach[links[k]]) {
                reach[links[k]] = 1;
                stack[top++] = links[k];
            }
        }
    }
    free(stack);
    return count;
}

static void
test_tasks_that_submit_children_run_a_whole_tree_once_each(void **state)
{
    size_t w;
    int ordered;

    (void)state;
    for (w = 0; w < NCOUNTS; w++) {
        for (ordered = 0; ordered <= 1; ordered++) {
            struct tf_config cfg = loop_cfg(worker_counts[w]);
            struct tf_pool *pool = open_pool(&cfg);
            struct tf_error err;
            struct grow g;
            uint64_t i;

            grow_init(&g, tree_nodes, ordered);
            g.start = 1;
            tf_error_init(&err);
            /* No hook: every submitted task is queued as it is. */
            assert_int_equal(tf_pool_run(pool, "tree", grow_start, &g,
                                         grow_done, &g,
                                         ordered ? 0 : TF_UNORDERED, &err),
                             0);
            assert_int_equal(g.bad, 0);
            assert_int_equal(g.calls, tree_nodes - 1);
            for (i = 1; i < tree_nodes; i++)
                assert_int_equal(g.count[i], 1);
            assert_int_equal(g.count[0], 0);
            grow_cleanup(&g);
            close_pool(pool);
        }
    }
}

/*
 * Runs the graph from START on 1, 2 and 4 workers with NEXT and the submit
 * hook HOOK: each reachable node must be done exactly once, and no other.
 */
static void
run_graph(uint64_t start, tf_next_fn next, tf_submit_fn hook, int flags)
{
    unsigned char *reach = malloc(GRAPH_N);
    uint64_t want;
    size_t w;

    assert_non_null(reach);
    want = graph_reachable(start, reach);
    /* The graph must be worth the test: far more than one node, fewer than
     * all, with cycles (more links than nodes). */
    assert_true(want > 100 && want < GRAPH_N);
    for (w = 0; w < NCOUNTS; w++) {
        struct tf_config cfg = loop_cfg(worker_counts[w]);
        struct tf_pool *pool = open_pool(&cfg);
        struct tf_error err;
        struct grow g;
        uint64_t i;

        grow_init(&g, GRAPH_N, (flags & TF_UNORDERED) == 0);
        g.start = start;
        tf_pool_on_submit(pool, hook, &g);
        tf_error_init(&err);
        assert_int_equal(tf_pool_run(pool, "graph", next, &g, grow_done, &g,
                                     flags, &err),
                         0);
        assert_int_equal(g.bad, 0);
        assert_int_equal(g.calls, want);
        /* Every node submitted both of its links. */
        assert_int_equal(g.hook_calls, 2 * want);
        assert_int_equal(g.nfront, 0);
        for (i = 0; i < GRAPH_N; i++)
            assert_int_equal(g.count[i], reach[i] ? 1 : 0);
        tf_pool_on_submit(pool, NULL, NULL);
        grow_cleanup(&g);
        close_pool(pool);
    }
    free(reach);
}

static void
test_submit_hook_dedups_a_cyclic_graph_to_its_reachable_nodes(void **state)
{
    (void)state;
    run_graph(1, grow_start, grow_dedup, TF_UNORDERED);
}

static void
test_next_saying_later_ends_the_run_when_nothing_runs(void **state)
{
    (void)state;
    /* `next` never says 0: the run ends because its frontier is empty and
     * no task is left running that could fill it. */
    run_graph(2, grow_later, grow_keep, 0);
}

/* `next` that says TF_LATER at once: a run with nothing to do. */
static int
nothing_later(void *arg, uint64_t index, struct tf_buf *task)
{
    (void)arg;
    (void)index;
    (void)task;
    return TF_LATER;
}

static void
test_run_whose_next_says_later_at_once_ends_with_no_task(void **state)
{
    struct tf_config cfg = loop_cfg(2);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    struct grow g;

    (void)state;
    grow_init(&g, 10, false);
    tf_error_init(&err);
    assert_int_equal(tf_pool_run(pool, "graph", nothing_later, NULL,
                                 grow_done, &g, 0, &err),
                     0);
    assert_int_equal(g.calls, 0);
    grow_cleanup(&g);
    close_pool(pool);
}

static void
test_pool_submit_outside_a_run_is_eusage(void **state)
{
    struct tf_config cfg = loop_cfg(1);
    struct tf_pool *pool = open_pool(&cfg);
    struct tf_error err;
    uint64_t v = 1;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf_pool_submit(pool, &v, sizeof(v), &err), TF_EUSAGE);
    assert_non_null(strstr(err.msg, "no run"));
    close_pool(pool);
}

/* On forked workers, the submitted tasks cross the socketpairs. */
static int
fork_tree(void)
{
    struct tf_config cfg;
    struct tf_pool *pool = NULL;
    struct tf_error err;
    struct grow g;
    uint64_t i;

    tf_config_init(&cfg);
    cfg.backend = "fork";
    cfg.nworkers = 3;
    tf_error_init(&err);
    if (tf_init(&cfg, &pool, &err) != 0) {
        say("tf_init: %s", err.msg);
        return 1;
    }
    grow_init(&g, tree_nodes, true);
    g.start = 1;
    if (tf_pool_run(pool, "tree", grow_start, &g, grow_done, &g, 0, &err) !=
        0) {
        say("tf_pool_run: %s", err.msg);
        return 1;
    }
    if (g.bad != 0 || g.calls != tree_nodes - 1) {
        say("%llu results, %llu bad", (unsigned long long)g.calls,
            (unsigned long long)g.bad);
        return 1;
    }
    for (i = 1; i < tree_nodes; i++) {
        if (g.count[i] != 1) {
            say("node %llu done %u times", (unsigned long long)i,
                g.count[i]);
            return 1;
        }
    }
    grow_cleanup(&g);
    if (tf_finalize(pool, &err) != 0) {
        say("tf_finalize: %s", err.msg);
        return 1;
    }
    return 0;
}

static void
test_forked_workers_submit_tasks_over_their_sockets(void **state)
{
    (void)state;
    expect_in_child(fork_tree);
}

#define POOL_TEST(f) cmocka_unit_test_teardown(f, finalize_leftover)

int
main(void)
{
    const struct CMUnitTest before_registration[] = {
        cmocka_unit_test(test_init_with_no_task_function_registered_is_eusage),
    };
    const struct CMUnitTest tests[] = {
        POOL_TEST(test_map_puts_10000_results_in_place_and_in_order),
        POOL_TEST(test_map_of_no_inputs_runs_nothing_and_succeeds),
        POOL_TEST(test_map_with_an_unregistered_function_is_eusage_naming_it),
        POOL_TEST(test_several_maps_in_a_row_on_one_pool_all_succeed),
        POOL_TEST(test_imap_unordered_delivers_each_index_exactly_once),
        POOL_TEST(
            test_starmap_of_variable_length_inputs_delivers_them_in_order),
        POOL_TEST(test_starmap_of_only_empty_inputs_gives_empty_results),
        POOL_TEST(test_apply_appends_the_one_result_to_out),
        POOL_TEST(test_apply_of_a_failing_task_is_etask_with_its_message),
        POOL_TEST(test_pool_run_asks_the_generator_in_order_until_it_stops),
        POOL_TEST(test_pool_run_unordered_delivers_each_index_once),
        POOL_TEST(test_pool_run_task_ids_are_index_plus_one),
        POOL_TEST(test_failed_task_is_etask_naming_the_first_failed_index),
        POOL_TEST(
            test_map_with_failed_tasks_is_etask_and_fills_the_other_results),
        POOL_TEST(test_map_result_of_the_wrong_size_is_etask_naming_it),
        POOL_TEST(test_worker_failure_ends_the_run_with_the_workers_code),
        POOL_TEST(test_negative_done_return_stops_pool_run_with_that_code),
        POOL_TEST(test_finalize_after_a_callback_stopped_a_run_returns_0),
        POOL_TEST(test_run_after_a_stopped_run_gets_only_its_own_results),
        POOL_TEST(
            test_negative_next_return_stops_pool_run_after_the_tasks_before),
        POOL_TEST(
            test_share_is_seen_by_every_task_and_a_second_share_replaces_it),
        POOL_TEST(test_share_right_after_init_reaches_workers_starting_up),
        POOL_TEST(test_share_buffer_is_filled_in_place_then_committed),
        cmocka_unit_test(
            test_forked_workers_write_a_large_share_the_master_reads),
        POOL_TEST(test_threads_of_the_loop_transport_get_copies_of_a_share),
        POOL_TEST(test_retries_run_failed_tasks_again_on_another_worker),
        POOL_TEST(test_time_limits_reach_the_tasks),
        cmocka_unit_test(test_large_shares_reach_forked_workers_intact),
        POOL_TEST(
            test_initializer_runs_once_on_each_worker_before_its_first_task),
        POOL_TEST(
            test_max_tasks_per_worker_3_reruns_the_initializer_every_3_tasks),
        POOL_TEST(test_max_tasks_per_worker_holds_on_several_workers),
        POOL_TEST(test_failing_initializer_fails_the_run_with_its_code),
        POOL_TEST(test_threads_per_worker_3_sets_omp_num_threads_when_unset),
        POOL_TEST(test_threads_per_worker_leaves_a_value_the_user_set),
        POOL_TEST(
            test_register_rejects_duplicates_empty_names_and_calls_after_init),
        POOL_TEST(test_register_after_finalize_is_allowed_for_the_next_pool),
        POOL_TEST(
            test_init_with_an_unknown_backend_is_eusage_and_leaves_no_pool),
        POOL_TEST(test_init_with_negative_counts_is_eusage),
        POOL_TEST(test_init_while_a_pool_is_active_is_eusage),
        POOL_TEST(test_finalize_of_null_is_a_no_op),
        POOL_TEST(test_tasks_that_submit_children_run_a_whole_tree_once_each),
        POOL_TEST(
            test_submit_hook_dedups_a_cyclic_graph_to_its_reachable_nodes),
        POOL_TEST(test_next_saying_later_ends_the_run_when_nothing_runs),
        POOL_TEST(test_run_whose_next_says_later_at_once_ends_with_no_task),
        POOL_TEST(test_pool_submit_outside_a_run_is_eusage),
        cmocka_unit_test(test_forked_workers_submit_tasks_over_their_sockets),
        cmocka_unit_test(
            test_records_of_every_task_go_to_the_joblog_and_results_file),
        cmocka_unit_test(test_records_by_hand_are_the_programs_alone),
        cmocka_unit_test(test_records_hold_what_each_task_used),
        cmocka_unit_test(
            test_task_needing_more_memory_than_there_is_fails_without_waiting),
        cmocka_unit_test(
            test_records_name_text_tasks_by_their_text_and_binary_ones_by_size),
        cmocka_unit_test(test_tasks_know_their_node_and_local_worker),
        cmocka_unit_test(test_gpus_per_worker_are_refused_on_the_loop_backend),
        cmocka_unit_test(test_binding_to_cores_is_refused_on_the_loop_backend),
        cmocka_unit_test(test_workers_bound_to_cores_run_on_cpus_of_their_own),
        cmocka_unit_test(test_records_refuse_a_joblog_that_cannot_be_written),
        cmocka_unit_test(
            test_the_library_writes_nothing_and_logs_only_to_its_log_function),
        POOL_TEST(test_register_rejects_the_65th_function),
    };
    int failed;

    failed = cmocka_run_group_tests(before_registration, NULL, NULL);
    failed += cmocka_run_group_tests(tests, register_all, NULL);
    return failed;
}
