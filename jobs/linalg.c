/* linalg.c - dense linear algebra over the pool: C = A*B by row blocks of A,
 * and many systems Ax = b, each solved by LAPACK on a worker (the matrix
 * files are read by linalg_mm.c) */
#include "linalg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <lapacke.h>

#include "taskfarm.h"

/* The name the CLI registers this kind's task function under. */
#define LINALG_FN "linalg"

#define MAX_COUNT 1000000000u

/* Tags of a solve task's payload. */
#define SOLVE_GENERATED 1 /* u64 tag, seed, index, n: the worker makes it */
#define SOLVE_EXPLICIT 2  /* u64 tag, n, then A (n*n, row-major) and b */
#define SOLVE_BAD                                                              \
    3 /* u64 tag, then why the system could not be read:                       \
         the task fails with that message */

#define GEMM_HEADER 24  /* u64 first row, u64 rows, u64 n */
#define SOLVE_RESULT 16 /* u64 n, double scaled residual; then x */

static const struct tf_option linalg_options[] = {
    {"op", 0, "gemm|solve",
     "what to compute, as the first argument gemm or solve does (one of the "
     "two is required)",
     TF_OPT_CHOICE, 0, 0, "gemm|solve"},
    {"n", 0, "N",
     "matrix order: gemm multiplies N x N matrices; solve "
     "makes N x N systems (required, except with gemm --a or --b, whose "
     "file gives it, and solve --mtx)",
     TF_OPT_INT, 1, LA__MAX_N, NULL},
    {"seed", 0, "S", "seed of the generated matrices (default 1)",
     TF_OPT_INT, 0, 0, NULL},
    {"a", 0, "FILE",
     "gemm: read A from FILE, raw little-endian doubles or Matrix Market "
     "(default: generated from --seed)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"b", 0, "FILE", "gemm: read B from FILE, as --a (default: generated)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"block", 0, "ROWS",
     "gemm: rows of C per task (default: what is left over twice the "
     "number of workers, at least 64: shrinking as the work runs out)",
     TF_OPT_INT, 1, LA__MAX_N, NULL},
    {"check", 0, NULL,
     "gemm: compare C with one single-threaded cblas_dgemm of the whole "
     "product on the master",
     TF_OPT_TEXT, 0, 0, NULL},
    {"print-checksum", 0, NULL,
     "gemm: print a checksum of C's bytes and the sum of its elements",
     TF_OPT_TEXT, 0, 0, NULL},
    {"kernel-only", 0, NULL,
     "gemm: time one single-threaded cblas_dgemm "
     "in this process instead; run no tasks",
     TF_OPT_TEXT, 0, 0, NULL},
    {"count", 0, "N",
     "solve: number of generated systems (required unless --mtx)",
     TF_OPT_INT, 1, MAX_COUNT, NULL},
    {"mtx", 0, "DIR",
     "solve: one system per *.mtx file in DIR (NAME_b.mtx "
     "or NAME.rhs.mtx is its right-hand side)",
     TF_OPT_TEXT, 0, 0, NULL},
    {0},
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --------------------------------------------------------- wire encoding */

void
la__put_doubles(unsigned char *p, const double *v, size_t count)
{
    size_t i;
    uint64_t u;

    if (LA__HOST_LE) {
        memcpy(p, v, count * sizeof(double));
        return;
    }
    for (i = 0; i < count; i++) {
        memcpy(&u, &v[i], sizeof(u));
        tf_store_u64(p + 8 * i, u);
    }
}

void
la__get_doubles(double *v, const unsigned char *p, size_t count)
{
    size_t i;
    uint64_t u;

    if (LA__HOST_LE) {
        memcpy(v, p, count * sizeof(double));
        return;
    }
    for (i = 0; i < count; i++) {
        u = tf_load_u64(p + 8 * i);
        memcpy(&v[i], &u, sizeof(u));
    }
}

double
la__get_double(const unsigned char *p)
{
    double d;

    la__get_doubles(&d, p, 1);
    return d;
}

static bool
aligned(const void *p)
{
    return (uintptr_t)p % _Alignof(double) == 0;
}

/*
 * Returns COUNT doubles encoded at P as an array: P itself when the host is
 * little-endian and P is aligned (no copy of a large shared matrix), else a
 * decoded copy put in *COPY, which the caller frees. NULL: out of memory.
 */
static const double *
view_doubles(const unsigned char *p, size_t count, double **copy)
{
    *copy = NULL;
    if (LA__HOST_LE && aligned(p))
        return (const double *)(const void *)p;
    *copy = malloc(count * sizeof(double) + 1);
    if (*copy == NULL)
        return NULL;
    la__get_doubles(*copy, p, count);
    return *copy;
}

/* Appends COUNT doubles to BUF, little-endian. */
static int
append_doubles(struct tf_buf *buf, const double *v, size_t count)
{
    int rc;

    if (LA__HOST_LE)
        return tf_buf_append(buf, v, count * sizeof(double));
    rc = tf_buf_reserve(buf, count * sizeof(double));
    if (rc < 0)
        return rc;
    la__put_doubles(buf->data + buf->len, v, count);
    buf->len += count * sizeof(double);
    buf->data[buf->len] = '\0';
    return 0;
}

static int
append_u64(struct tf_buf *buf, uint64_t v)
{
    unsigned char b[8];

    tf_store_u64(b, v);
    return tf_buf_append(buf, b, sizeof(b));
}

/* ------------------------------------------------------- random matrices */

/* SplitMix64's output function. */
static uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The starting state of stream STREAM (one per matrix) under SEED. */
static uint64_t
stream_key(uint64_t seed, uint64_t stream)
{
    return mix64(mix64(seed) ^ (stream * 0xd1b54a32d192ed03u + 1));
}

/*
 * Element INDEX of the SplitMix64 stream that starts at KEY, uniform in
 * [-1, 1). SplitMix64's state only counts, so any element is computed
 * directly: a matrix is the same whoever makes it, in whatever order.
 */
static double
uniform(uint64_t key, uint64_t index)
{
    uint64_t z = mix64(key + (index + 1) * 0x9e3779b97f4a7c15u);

    return (double)(z >> 11) * 0x1p-52 - 1.0;
}

void
la__gen_matrix(double *m, uint64_t n, uint64_t seed, uint64_t stream)
{
    uint64_t key = stream_key(seed, stream);
    uint64_t i;

    for (i = 0; i < n * n; i++)
        m[i] = uniform(key, i);
}

void
la__gen_system(double *a_col, double *b, uint64_t n, uint64_t seed,
               uint64_t index)
{
    uint64_t ka = stream_key(seed, LA__STREAM_SOLVE(index));
    uint64_t kb = stream_key(seed, LA__STREAM_SOLVE(index) + 1);
    uint64_t i, j;

    /* Element (i, j) is element i*n + j of the stream; written column by
     * column, where LAPACK wants it. */
    for (j = 0; j < n; j++)
        for (i = 0; i < n; i++)
            a_col[i + j * n] = uniform(ka, i * n + j);
    for (i = 0; i < n; i++) {
        a_col[i + i * n] += (double)n;
        b[i] = uniform(kb, i);
    }
}

/* ------------------------------------------------------------- options */

static int
check_file(const char *path, const char *what, bool dir, struct tf_error *err)
{
    struct stat sb;

    if (stat(path, &sb) != 0)
        return tf_error_set(err, TF_EINPUT, "%s %s: %s", what, path,
                            strerror(errno));
    if (dir && !S_ISDIR(sb.st_mode))
        return tf_error_set(err, TF_EINPUT, "%s %s: not a directory", what,
                            path);
    if (!dir && S_ISDIR(sb.st_mode))
        return tf_error_set(err, TF_EINPUT, "%s %s: is a directory", what,
                            path);
    if (access(path, R_OK) != 0)
        return tf_error_set(err, TF_EINPUT, "%s %s: %s", what, path,
                            strerror(errno));
    return 0;
}

/* Options that belong to one operation only. */
static const char *const gemm_only[] = {
    "a", "b", "block", "check", "print-checksum", "kernel-only", NULL};
static const char *const solve_only[] = {"count", "mtx", NULL};

static void
linalg_fini(void *state)
{
    free(state);
}

static int
linalg_init(void **state, const struct tf_opts *opts, struct tf_error *err)
{
    const char *const *other;
    struct la__state *st;
    const char *op, *v;
    int rc = 0;
    int i;

    *state = NULL;
    /* The operation is the first positional argument (the CLI passes
     * those as options "1", "2", ...), or --op. */
    op = tf_opts_get(opts, "1");
    v = tf_opts_get(opts, "op");
    if (op != NULL && v != NULL && strcmp(op, v) != 0)
        return tf_error_set(err, TF_EUSAGE, "'%s' and --op %s disagree", op, v);
    if (op == NULL)
        op = v;
    if (op == NULL)
        return tf_error_set(err, TF_EUSAGE,
                            "say what to compute: gemm or solve");
    v = tf_opts_get(opts, "2");
    if (v != NULL)
        return tf_error_set(err, TF_EUSAGE, "unexpected argument '%s'", v);
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return tf_error_set(err, TF_ENOMEM, "out of memory");
    st->seed = 1;
    if (strcmp(op, "gemm") == 0) {
        st->op = LA__OP_GEMM;
        other = solve_only;
    } else if (strcmp(op, "solve") == 0) {
        st->op = LA__OP_SOLVE;
        other = gemm_only;
    } else {
        rc = tf_error_set(err, TF_EUSAGE,
                          "unknown operation '%s' (gemm or solve)", op);
        goto fail;
    }
    for (i = 0; other[i] != NULL; i++) {
        if (tf_opts_get(opts, other[i]) != NULL) {
            rc = tf_error_set(err, TF_EUSAGE, "--%s is not an option of %s",
                              other[i], op);
            goto fail;
        }
    }
    st->n = tf_opts_number(opts, "n", 0);
    st->seed = tf_opts_number(opts, "seed", 1);
    if (st->op == LA__OP_GEMM) {
        st->a_path = tf_opts_get(opts, "a");
        st->b_path = tf_opts_get(opts, "b");
        st->check = tf_opts_flag(opts, "check");
        st->kernel_only = tf_opts_flag(opts, "kernel-only");
        st->print_checksum = tf_opts_flag(opts, "print-checksum");
        st->block = tf_opts_number(opts, "block", 0);
        if (st->a_path != NULL) {
            rc = check_file(st->a_path, "--a", false, err);
            if (rc < 0)
                goto fail;
        }
        if (st->b_path != NULL) {
            rc = check_file(st->b_path, "--b", false, err);
            if (rc < 0)
                goto fail;
        }
        if (st->n == 0 && st->a_path == NULL && st->b_path == NULL) {
            rc = tf_error_set(err, TF_EUSAGE,
                              "gemm needs --n N, or matrices "
                              "from --a FILE and --b FILE");
            goto fail;
        }
    } else {
        st->mtx_dir = tf_opts_get(opts, "mtx");
        st->count = tf_opts_number(opts, "count", 0);
        if (st->mtx_dir != NULL) {
            if (st->count != 0 || st->n != 0) {
                rc = tf_error_set(err, TF_EUSAGE,
                                  "--mtx takes the systems from "
                                  "files: drop --count and --n");
                goto fail;
            }
            rc = check_file(st->mtx_dir, "--mtx", true, err);
            if (rc < 0)
                goto fail;
        } else if (st->count == 0 || st->n == 0) {
            rc = tf_error_set(err, TF_EUSAGE,
                              "solve needs --count N and --n N, "
                              "or --mtx DIR");
            goto fail;
        }
    }
    *state = st;
    return 0;
fail:
    free(st);
    return rc;
}

/* ------------------------------------------------------------- workers */

/* The threading calls of the BLAS libraries that have them; weak, so that
 * the job builds and links with any BLAS, and calls only the one it has. */
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void MKL_Set_Num_Threads(int n) __attribute__((weak));
extern void bli_thread_set_num_threads(long n) __attribute__((weak));

/* Has the BLAS run N threads per call. OpenBLAS starts its thread pool at
 * every set, so a set is made only where the count changes. */
static void
blas_threads(int n)
{
    if (openblas_set_num_threads != NULL &&
        (openblas_get_num_threads == NULL || openblas_get_num_threads() != n))
        openblas_set_num_threads(n);
    if (MKL_Set_Num_Threads != NULL)
        MKL_Set_Num_Threads(n);
    if (bli_thread_set_num_threads != NULL)
        bli_thread_set_num_threads(n);
}

/*
 * Gives this process's BLAS its share of the node's cores: the pool puts
 * it in OPENBLAS_NUM_THREADS for each worker, but OpenBLAS read that
 * variable when it was loaded, before an MPI rank or a forked worker got
 * its share. Without the variable: one thread.
 */
static void
use_thread_share(void)
{
    const char *v = getenv("OPENBLAS_NUM_THREADS");
    int want = 1;

    if (v != NULL) {
        char *end;
        long t = strtol(v, &end, 10);

        if (end != v && *end == '\0' && t >= 1 && t <= 1024)
            want = (int)t;
    }
    blas_threads(want);
}

static int task_fail(struct tf_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Marks the task failed with a one-line message; the run goes on. */
static int
task_fail(struct tf_result *res, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    res->status = 1;
    tf_buf_reset(&res->out);
    if (tf_buf_puts(&res->err, msg) < 0)
        return TF_ENOMEM;
    return 0;
}

int
la__gemm_task_encode(struct tf_buf *task, uint64_t n, uint64_t first,
                     uint64_t rows)
{
    int rc;

    rc = append_u64(task, first);
    if (rc == 0)
        rc = append_u64(task, rows);
    if (rc == 0)
        rc = append_u64(task, n);
    return rc;
}

int
la__gemm_task_decode(const void *data, size_t len, struct la__gemm_task *t,
                     struct tf_error *err)
{
    const unsigned char *p = data;

    if (len != GEMM_HEADER)
        return tf_error_set(err, TF_EPROTO,
                            "gemm task of %zu bytes: not the %d of its "
                            "header",
                            len, GEMM_HEADER);
    t->first = tf_load_u64(p);
    t->rows = tf_load_u64(p + 8);
    t->n = tf_load_u64(p + 16);
    if (t->n == 0 || t->n > LA__MAX_N || t->rows == 0 || t->rows > t->n ||
        t->first > t->n - t->rows)
        return tf_error_set(
            err, TF_EPROTO, "gemm task: rows %llu+%llu of n=%llu",
            (unsigned long long)t->first, (unsigned long long)t->rows,
            (unsigned long long)t->n);
    return 0;
}

/*
 * The shared A and B: u64 n, then A and B, n*n little-endian doubles
 * each, row-major; and, when the workers map the master's memory, room
 * for C after them (*C_OFF is its offset then, else 0).
 */
static int
gemm_shared_decode(const void *shared, size_t len, uint64_t n,
                   const unsigned char **a, const unsigned char **b,
                   size_t *c_off, struct tf_error *err)
{
    if (shared == NULL)
        return tf_error_set(err, TF_EPROTO,
                            "gemm task without a shared A and B");
    if (len < 8 || tf_load_u64(shared) != n ||
        ((uint64_t)len != 8 + 2 * n * n * 8 &&
         (uint64_t)len != 8 + 3 * n * n * 8))
        return tf_error_set(err, TF_EPROTO,
                            "shared A and B of %zu bytes are not %llux%llu",
                            len, (unsigned long long)n, (unsigned long long)n);
    *a = (const unsigned char *)shared + 8;
    *b = *a + n * n * 8;
    *c_off = (uint64_t)len == 8 + 3 * n * n * 8 ? 8 + 2 * n * n * 8 : 0;
    return 0;
}

/* Worker: rows of C = those rows of the shared A times the shared B: the
 * result is the task's header, followed by the rows unless they went
 * straight into C in memory shared with the master. */
static int
gemm_run(const struct tf_task *task, struct tf_result *res)
{
    struct tf_error e;
    struct la__gemm_task t;
    const unsigned char *a_le = NULL, *b_le = NULL;
    const double *a, *b;
    double *a_copy = NULL, *b_copy = NULL, *c_copy = NULL, *c;
    size_t count, bytes, c_off = 0;
    bool in_place;
    unsigned char *p;
    int rc;

    memset(&t, 0, sizeof(t));
    if (la__gemm_task_decode(task->data, task->len, &t, &e) < 0 ||
        gemm_shared_decode(task->shared, task->shared_len, t.n, &a_le, &b_le,
                           &c_off, &e) < 0)
        return task_fail(res, "%s", e.msg);
    use_thread_share();
    count = t.rows * t.n;
    in_place = LA__HOST_LE && c_off != 0 && task->shared_rw != NULL &&
               aligned((unsigned char *)task->shared_rw + c_off);
    bytes = GEMM_HEADER + (in_place ? 0 : count * sizeof(double));
    rc = tf_buf_reserve(&res->out, bytes);
    if (rc == TF_EINPUT)
        return task_fail(res, "a result of %zu bytes is over the cap", bytes);
    if (rc < 0)
        return rc;
    a = view_doubles(a_le + t.first * t.n * 8, count, &a_copy);
    b = view_doubles(b_le, t.n * t.n, &b_copy);
    p = res->out.data + res->out.len;
    if (in_place)
        c = (double *)(void *)((unsigned char *)task->shared_rw + c_off) +
            t.first * t.n;
    else if (LA__HOST_LE && aligned(p + GEMM_HEADER))
        c = (double *)(void *)(p + GEMM_HEADER);
    else
        c = (c_copy = malloc(count * sizeof(double)));
    if (a == NULL || b == NULL || c == NULL) {
        rc = TF_ENOMEM;
        goto out;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)t.rows,
                (int)t.n, (int)t.n, 1.0, a, (int)t.n, b, (int)t.n, 0.0, c,
                (int)t.n);
    tf_store_u64(p, t.first);
    tf_store_u64(p + 8, t.rows);
    tf_store_u64(p + 16, t.n);
    if (c == c_copy)
        la__put_doubles(p + GEMM_HEADER, c, count);
    res->out.len += bytes;
    res->out.data[res->out.len] = '\0';
    res->status = 0;
out:
    free(a_copy);
    free(b_copy);
    free(c_copy);
    return rc;
}

int
la__solve_task_encode(struct tf_buf *task, const double *a, const double *b,
                      uint64_t n)
{
    int rc;

    rc = tf_buf_reserve(task, 16 + (n * n + n) * sizeof(double));
    if (rc < 0)
        return rc;
    rc = append_u64(task, SOLVE_EXPLICIT);
    if (rc == 0)
        rc = append_u64(task, n);
    if (rc == 0)
        rc = append_doubles(task, a, n * n);
    if (rc == 0)
        rc = append_doubles(task, b, n);
    return rc;
}

int
la__solve_task_generated(struct tf_buf *task, uint64_t seed, uint64_t index,
                         uint64_t n)
{
    int rc;

    rc = append_u64(task, SOLVE_GENERATED);
    if (rc == 0)
        rc = append_u64(task, seed);
    if (rc == 0)
        rc = append_u64(task, index);
    if (rc == 0)
        rc = append_u64(task, n);
    return rc;
}

int
la__solve_task_decode(const void *data, size_t len, uint64_t *n_out,
                      double **a_out, double **b_out, struct tf_error *err)
{
    const unsigned char *p = data;
    uint64_t tag, n, i, j;
    double *a, *b;

    *a_out = *b_out = NULL;
    if (len < 16)
        return tf_error_set(err, TF_EPROTO, "solve task of %zu bytes", len);
    tag = tf_load_u64(p);
    if (tag == SOLVE_GENERATED) {
        if (len != 32)
            return tf_error_set(err, TF_EPROTO,
                                "generated solve task of %zu bytes, not 32",
                                len);
        n = tf_load_u64(p + 24);
    } else if (tag == SOLVE_EXPLICIT) {
        n = tf_load_u64(p + 8);
    } else {
        return tf_error_set(err, TF_EPROTO, "solve task of unknown kind %llu",
                            (unsigned long long)tag);
    }
    if (n == 0 || n > LA__MAX_N)
        return tf_error_set(err, TF_EPROTO, "solve task with n=%llu",
                            (unsigned long long)n);
    if (tag == SOLVE_EXPLICIT && (uint64_t)len != 16 + (n * n + n) * 8)
        return tf_error_set(
            err, TF_EPROTO, "solve task of %zu bytes: n=%llu needs %llu", len,
            (unsigned long long)n, (unsigned long long)(16 + (n * n + n) * 8));
    a = malloc(n * n * sizeof(double));
    b = malloc(n * sizeof(double));
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return tf_error_set(err, TF_ENOMEM, "out of memory for n=%llu",
                            (unsigned long long)n);
    }
    if (tag == SOLVE_GENERATED) {
        la__gen_system(a, b, n, tf_load_u64(p + 8), tf_load_u64(p + 16));
    } else {
        for (i = 0; i < n; i++)
            for (j = 0; j < n; j++)
                a[i + j * n] = la__get_double(p + 16 + (i * n + j) * 8);
        la__get_doubles(b, p + 16 + n * n * 8, n);
    }
    *n_out = n;
    *a_out = a;
    *b_out = b;
    return 0;
}

/* Worker: x = A \ b by LU with partial pivoting; the result is n, the
 * scaled residual ||Ax - b|| / (||A|| ||x||) in the infinity norm, and x. */
static int
solve_run(const struct tf_task *task, struct tf_result *res)
{
    struct tf_error e;
    double *a = NULL, *b = NULL, *lu = NULL, *x = NULL;
    lapack_int *ipiv = NULL;
    double anorm = 0, xnorm = 0, rnorm = 0, resid;
    unsigned char out[SOLVE_RESULT];
    uint64_t n = 0, i, j;
    lapack_int info;
    int rc;

    if (task->len >= 8 && tf_load_u64(task->data) == SOLVE_BAD)
        return task_fail(res, "%.*s", (int)(task->len - 8),
                         (const char *)task->data + 8);
    rc = la__solve_task_decode(task->data, task->len, &n, &a, &b, &e);
    if (rc == TF_EPROTO)
        return task_fail(res, "%s", e.msg);
    if (rc < 0)
        return rc;
    use_thread_share();
    lu = malloc(n * n * sizeof(double));
    x = malloc(n * sizeof(double));
    ipiv = malloc(n * sizeof(*ipiv));
    if (lu == NULL || x == NULL || ipiv == NULL) {
        rc = TF_ENOMEM;
        goto out;
    }
    memcpy(lu, a, n * n * sizeof(double));
    memcpy(x, b, n * sizeof(double));
    /* The _work form skips LAPACKE's scan of A and b for NaNs: the master
     * accepts finite numbers only. */
    info = LAPACKE_dgesv_work(LAPACK_COL_MAJOR, (lapack_int)n, 1, lu,
                              (lapack_int)n, ipiv, x, (lapack_int)n);
    if (info > 0) {
        rc = task_fail(res, "singular matrix (U(%d,%d) = 0)", (int)info,
                       (int)info);
        goto out;
    }
    if (info < 0) {
        rc =
            task_fail(res, "LAPACKE_dgesv: argument %d is invalid", (int)-info);
        goto out;
    }
    /* b := b - A x; the row sums of |A| go to LU, no longer needed. */
    cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)n, -1.0, a, (int)n, x,
                1, 1.0, b, 1);
    memset(lu, 0, n * sizeof(double));
    for (j = 0; j < n; j++)
        for (i = 0; i < n; i++)
            lu[i] += fabs(a[i + j * n]);
    for (i = 0; i < n; i++) {
        anorm = lu[i] > anorm ? lu[i] : anorm;
        xnorm = fabs(x[i]) > xnorm ? fabs(x[i]) : xnorm;
        rnorm = fabs(b[i]) > rnorm ? fabs(b[i]) : rnorm;
    }
    resid = anorm * xnorm > 0 ? rnorm / (anorm * xnorm) : rnorm;
    tf_store_u64(out, n);
    la__put_doubles(out + 8, &resid, 1);
    rc = tf_buf_append(&res->out, out, sizeof(out));
    if (rc == 0)
        rc = append_doubles(&res->out, x, n);
    if (rc == TF_EINPUT) {
        rc = task_fail(res, "a result of %llu bytes is over the cap",
                       (unsigned long long)(SOLVE_RESULT + n * 8));
        goto out;
    }
    res->status = 0;
out:
    free(a);
    free(b);
    free(lu);
    free(x);
    free(ipiv);
    return rc;
}

static int
linalg_run(void *state, const struct tf_task *task, struct tf_result *res)
{
    const struct la__state *st = state;

    if (st != NULL && st->op == LA__OP_SOLVE)
        return solve_run(task, res);
    return gemm_run(task, res);
}

/* -------------------------------------------------------------- gemm */

struct gemm_master {
    uint64_t n;
    uint64_t ntasks;
    uint64_t *start; /* owned: task i has rows start[i] .. start[i+1]-1 */
    double *c;
    bool c_shared; /* C is in the shared buffer, which workers write */
    uint64_t failed;
    struct tf_error err; /* our reason when a callback stops the run */
};

/*
 * Cuts the n rows of C into tasks: BLOCK rows each when given, else
 * blocks that shrink as the work runs out (guided self-scheduling): what
 * is left over twice the number of workers, NWORKERS, down to 64 rows.
 * Big blocks early keep the cost a task adds small: each dgemm call packs
 * all of B once, so that one of 64 rows runs at about 0.8 of the rate of
 * the whole product, 256 rows at 0.9 and 1024 at 0.99 (n = 4096, one
 * thread). Small blocks last let the workers finish together. Every block
 * but the last starts on a multiple of 8 rows; with one BLAS thread per
 * worker, C is the same bit for bit whatever the blocks, and so whatever
 * the number of workers, and the same as one dgemm of the whole product.
 */
static int
plan_blocks(uint64_t n, uint64_t block, int nworkers, uint64_t **start_out,
            uint64_t *ntasks_out)
{
    uint64_t share = 2 * (uint64_t)(nworkers > 0 ? nworkers : 1);
    uint64_t *start, k = 0, row = 0;

    start = malloc((n + 1) * sizeof(*start));
    if (start == NULL)
        return TF_ENOMEM;
    while (row < n) {
        uint64_t left = n - row;
        uint64_t rows = block;

        if (rows == 0) {
            rows = left / share / 8 * 8;
            rows = rows < 64 ? 64 : rows;
        }
        start[k++] = row;
        row += rows < left ? rows : left;
    }
    start[k] = n;
    *start_out = start;
    *ntasks_out = k;
    return 0;
}

/* "128", or "256 to 64" when the blocks differ, in BUF. */
static const char *
block_sizes(const struct gemm_master *g, char *buf, size_t len)
{
    uint64_t i, lo = UINT64_MAX, hi = 0;

    /* The last block is whatever is left: not a size of the plan. */
    for (i = 0; i + 1 < g->ntasks || i == 0; i++) {
        uint64_t r = g->start[i + 1] - g->start[i];

        lo = r < lo ? r : lo;
        hi = r > hi ? r : hi;
    }
    if (lo == hi)
        snprintf(buf, len, "%llu", (unsigned long long)lo);
    else
        snprintf(buf, len, "%llu to %llu", (unsigned long long)hi,
                 (unsigned long long)lo);
    return buf;
}

static int
gemm_next(void *arg, uint64_t index, struct tf_buf *task)
{
    struct gemm_master *g = arg;
    uint64_t first, rows;

    if (index >= g->ntasks)
        return 0;
    first = g->start[index];
    rows = g->start[index + 1] - first;
    return la__gemm_task_encode(task, g->n, first, rows) < 0 ? TF_ENOMEM : 1;
}

static int
gemm_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct gemm_master *g = arg;
    const unsigned char *p = res->out.data;
    uint64_t first, rows;

    if (index >= g->ntasks)
        return tf_error_set(&g->err, TF_EPROTO,
                            "gemm: a result for task %llu "
                            "of %llu",
                            (unsigned long long)index,
                            (unsigned long long)g->ntasks);
    first = g->start[index];
    rows = g->start[index + 1] - first;

    if (res->status != 0) {
        g->failed++;
        tf_log(TF_LOG_ERROR, "linalg: rows %llu-%llu failed: %.*s",
               (unsigned long long)first,
               (unsigned long long)(first + rows - 1),
               (int)(res->err.len > 200 ? 200 : res->err.len),
               res->err.len > 0 ? (const char *)res->err.data : "");
        return 0;
    }
    /* Rows the worker wrote into the shared C come with the header alone. */
    if ((res->out.len != GEMM_HEADER + rows * g->n * 8 &&
         !(g->c_shared && res->out.len == GEMM_HEADER)) ||
        tf_load_u64(p) != first || tf_load_u64(p + 8) != rows ||
        tf_load_u64(p + 16) != g->n)
        return tf_error_set(
            &g->err, TF_EPROTO,
            "gemm: the result of rows %llu-%llu is malformed (%zu "
            "bytes)",
            (unsigned long long)first, (unsigned long long)(first + rows - 1),
            res->out.len);
    if (res->out.len > GEMM_HEADER)
        la__get_doubles(g->c + first * g->n, p + GEMM_HEADER, rows * g->n);
    return 0;
}

/* Loads or generates A and B, n x n. */
static int
gemm_inputs(const struct la__state *st, struct la__mm_matrix *a,
            struct la__mm_matrix *b, struct tf_error *err)
{
    uint64_t n = st->n;
    int rc;

    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    if (st->a_path != NULL) {
        rc = la__read_square(st->a_path, "--a", n, a, err);
        if (rc < 0)
            return rc;
        if (n != 0 && a->rows != n) {
            la__mm_free(a);
            return tf_error_set(err, TF_EINPUT,
                                "--a %s is %llux%llu, but --n is "
                                "%llu",
                                st->a_path, (unsigned long long)a->rows,
                                (unsigned long long)a->rows,
                                (unsigned long long)n);
        }
        n = a->rows;
    }
    if (st->b_path != NULL) {
        /* With A from a file, B's own size is read and compared. */
        rc = la__read_square(st->b_path, "--b", st->a_path != NULL ? 0 : n, b,
                             err);
        if (rc < 0) {
            la__mm_free(a);
            return rc;
        }
        if (n != 0 && b->rows != n) {
            if (st->a_path != NULL)
                rc = tf_error_set(err, TF_EINPUT,
                                  "dimension mismatch: --a %s is "
                                  "%llux%llu, --b %s is %llux%llu",
                                  st->a_path, (unsigned long long)n,
                                  (unsigned long long)n, st->b_path,
                                  (unsigned long long)b->rows,
                                  (unsigned long long)b->rows);
            else
                rc = tf_error_set(err, TF_EINPUT,
                                  "--b %s is %llux%llu, but --n is "
                                  "%llu",
                                  st->b_path, (unsigned long long)b->rows,
                                  (unsigned long long)b->rows,
                                  (unsigned long long)n);
            la__mm_free(a);
            la__mm_free(b);
            return rc;
        }
        n = b->rows;
    }
    a->rows = a->cols = b->rows = b->cols = n;
    if (a->v == NULL) {
        a->v = malloc(n * n * sizeof(double));
        if (a->v != NULL)
            la__gen_matrix(a->v, n, st->seed, LA__STREAM_GEMM_A);
    }
    if (b->v == NULL) {
        b->v = malloc(n * n * sizeof(double));
        if (b->v != NULL)
            la__gen_matrix(b->v, n, st->seed, LA__STREAM_GEMM_B);
    }
    if (a->v == NULL || b->v == NULL) {
        la__mm_free(a);
        la__mm_free(b);
        return tf_error_set(err, TF_ENOMEM,
                            "out of memory for two %llux%llu "
                            "matrices",
                            (unsigned long long)n, (unsigned long long)n);
    }
    return 0;
}

static void
dgemm(const double *a, const double *b, double *c, uint64_t n)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n,
                (int)n, 1.0, a, (int)n, b, (int)n, 0.0, c, (int)n);
}

/* FNV-1a over the little-endian bytes of the N doubles at C. */
static uint64_t
checksum(const double *c, size_t count)
{
    uint64_t h = 0xcbf29ce484222325u;
    unsigned char b[8];
    size_t i;
    int k;

    for (i = 0; i < count; i++) {
        la__put_doubles(b, &c[i], 1);
        for (k = 0; k < 8; k++)
            h = (h ^ b[k]) * 0x100000001b3u;
    }
    return h;
}

/* Writes what waits of OUT; a failed write fails the job. */
static int
flush_out(FILE *out, int rc, struct tf_error *err)
{
    if ((fflush(out) == EOF || ferror(out)) && rc >= 0)
        return tf_error_set(err, TF_ESYS, "cannot write the result: %s",
                            strerror(errno));
    return rc;
}

static int
gemm_master(const struct la__state *st, struct tf_pool *pool, FILE *out,
            struct tf_error *err)
{
    struct gemm_master g;
    struct la__mm_matrix a, b;
    unsigned char *shared = NULL;
    double *c = NULL, *ref = NULL;
    double t0, secs, flops;
    char sizes[64];
    size_t count;
    uint64_t n;
    int rc;

    memset(&g, 0, sizeof(g));
    rc = gemm_inputs(st, &a, &b, err);
    if (rc < 0)
        return rc;
    n = a.rows;
    count = n * n;
    flops = 2.0 * (double)n * (double)n * (double)n;
    if (st->kernel_only) {
        c = malloc(count * sizeof(double));
        if (c == NULL) {
            rc = tf_error_set(err, TF_ENOMEM, "out of memory");
            goto out;
        }
        blas_threads(1);
        /* One untimed call of the same size settles pages and caches. */
        dgemm(a.v, b.v, c, n);
        t0 = now_s();
        dgemm(a.v, b.v, c, n);
        secs = now_s() - t0;
        fprintf(out, "kernel n=%llu: %.3f s, %.2f GFLOP/s, 1 thread\n",
                (unsigned long long)n, secs, flops / secs / 1e9);
        goto out;
    }
    g.n = n;
    rc = plan_blocks(n, st->block, tf_pool_nworkers(pool), &g.start, &g.ntasks);
    if (rc < 0) {
        tf_error_set(err, rc, "out of memory");
        goto out;
    }
    tf_error_init(&g.err);
    /* A and B go to every worker once, in the pool's shared buffer (the
     * pool makes no copy of it: forked workers map it), and a task is
     * only which rows of C to make. Where the workers map the master's
     * memory, C is there too, and they write their rows straight into it:
     * a result is then its header alone. */
    g.c_shared = LA__HOST_LE && tf_pool_share_maps(pool, 8 + 3 * count * 8);
    shared = tf_pool_share_buffer(
        pool, 8 + (g.c_shared ? 3 : 2) * count * sizeof(double), err);
    if (shared == NULL) {
        rc = err != NULL && err->code != 0 ? err->code : TF_ENOMEM;
        goto out;
    }
    if (g.c_shared)
        g.c = (double *)(void *)(shared + 8 + 2 * count * sizeof(double));
    else
        c = g.c = calloc(count + 1, sizeof(double));
    if (g.c == NULL) {
        rc = tf_error_set(err, TF_ENOMEM, "out of memory for n=%llu",
                          (unsigned long long)n);
        goto out;
    }
    /* Touch C now, as the kernel's warm-up does for its C, so that the
     * timed part does not include the system's first-touch cost. */
    memset(g.c, 0, count * sizeof(double));
    tf_store_u64(shared, n);
    la__put_doubles(shared + 8, a.v, count);
    la__put_doubles(shared + 8 + count * sizeof(double), b.v, count);
    t0 = now_s();
    rc = tf_pool_share_commit(pool, err);
    shared = NULL;
    if (rc < 0)
        goto out;
    rc = tf_pool_run(pool, LINALG_FN, gemm_next, &g, gemm_done, &g,
                     TF_UNORDERED, err);
    secs = now_s() - t0;
    if (rc < 0 && rc != TF_ETASK && g.err.code != 0) {
        /* The pool's message would only say that a callback failed. */
        if (err != NULL)
            *err = g.err;
        rc = g.err.code;
        goto out;
    }
    if (rc == TF_ETASK || g.failed > 0) {
        tf_log(TF_LOG_ERROR, "linalg: %llu of %llu blocks failed; C is "
                             "incomplete",
               (unsigned long long)g.failed, (unsigned long long)g.ntasks);
        rc = 1;
        goto out;
    }
    if (rc < 0)
        goto out;
    fprintf(out,
            "gemm n=%llu: %.3f s, %.2f GFLOP/s, %d worker%s, %llu block%s of "
            "%s rows\n",
            (unsigned long long)n, secs, flops / secs / 1e9,
            tf_pool_nworkers(pool), tf_pool_nworkers(pool) == 1 ? "" : "s",
            (unsigned long long)g.ntasks, g.ntasks == 1 ? "" : "s",
            block_sizes(&g, sizes, sizeof(sizes)));
    if (st->print_checksum) {
        double sum = 0;
        size_t i;

        for (i = 0; i < count; i++)
            sum += g.c[i];
        fprintf(out, "checksum: %016llx (sum %.17g)\n",
                (unsigned long long)checksum(g.c, count), sum);
    }
    if (st->check) {
        double diff = 0, big = 0;
        size_t i;

        ref = malloc(count * sizeof(double));
        if (ref == NULL) {
            rc = tf_error_set(err, TF_ENOMEM, "out of memory for the check");
            goto out;
        }
        /* One thread, as the workers have when they have one each: then
         * C must match bit for bit, and any difference is a fault. */
        blas_threads(1);
        dgemm(a.v, b.v, ref, n);
        for (i = 0; i < count; i++) {
            double d = fabs(g.c[i] - ref[i]);

            diff = d > diff ? d : diff;
            big = fabs(ref[i]) > big ? fabs(ref[i]) : big;
        }
        fprintf(out, "check: max relative error %.3g\n",
                big > 0 ? diff / big : diff);
    }
    rc = 0;
out:
    rc = flush_out(out, rc, err);
    free(c);
    free(ref);
    free(g.start);
    la__mm_free(&a);
    la__mm_free(&b);
    return rc;
}

/* -------------------------------------------------------------- solve */

int
la__solve_task_bad(struct tf_buf *task, const char *msg)
{
    int rc = append_u64(task, SOLVE_BAD);

    return rc == 0 ? tf_buf_puts(task, msg) : rc;
}

struct solve_master {
    const struct la__state *st;
    uint64_t count;
    struct la__mtx_system *sys; /* NULL: generated systems */
    uint64_t failed;
    double max_resid;
    FILE *out;
    struct tf_error err; /* our reason when a callback stops the run */
};

static int
solve_next(void *arg, uint64_t index, struct tf_buf *task)
{
    struct solve_master *s = arg;
    uint64_t n;
    int rc;

    if (index >= s->count)
        return 0;
    if (s->sys == NULL)
        rc = la__solve_task_generated(task, s->st->seed, index, s->st->n);
    else if (s->sys[index].bad != NULL)
        rc = la__solve_task_bad(task, s->sys[index].bad);
    else if (s->sys[index].payload != NULL)
        rc = tf_buf_append(task, s->sys[index].payload, s->sys[index].len);
    else
        rc = la__mtx_encode(s->st->mtx_dir, &s->sys[index], task, &n, &s->err);
    return rc < 0 ? rc : 1;
}

static int
solve_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct solve_master *s = arg;
    char label[64];
    const char *name = label;
    uint64_t n;
    double resid;

    if (s->sys != NULL)
        name = s->sys[index].name;
    else
        snprintf(label, sizeof(label), "%llu", (unsigned long long)(index + 1));
    n = s->sys != NULL ? s->sys[index].n : s->st->n;
    if (res->status != 0) {
        size_t len = res->err.len;

        while (len > 0 && res->err.data[len - 1] == '\n')
            len--;
        s->failed++;
        if (s->sys != NULL && s->sys[index].bad != NULL)
            fprintf(s->out, "%s failed: %s\n", name, s->sys[index].bad);
        else
            fprintf(s->out, "%s n=%llu failed: %.*s\n", name,
                    (unsigned long long)n, (int)(len > 200 ? 200 : len),
                    len > 0 ? (const char *)res->err.data : "");
        return 0;
    }
    if (res->out.len != SOLVE_RESULT + n * 8 || tf_load_u64(res->out.data) != n)
        return tf_error_set(&s->err, TF_EPROTO,
                            "solve: the result of system %s is malformed (%zu "
                            "bytes)",
                            name, res->out.len);
    resid = la__get_double(res->out.data + 8);
    if (!(resid <= s->max_resid))
        s->max_resid = resid;
    fprintf(s->out, "%s n=%llu residual %.3g\n", name, (unsigned long long)n,
            resid);
    return 0;
}

static int
solve_master(const struct la__state *st, struct tf_pool *pool, FILE *out,
             struct tf_error *err)
{
    struct solve_master s;
    double t0, secs;
    int rc;

    memset(&s, 0, sizeof(s));
    s.st = st;
    s.out = out;
    s.count = st->count;
    tf_error_init(&s.err);
    if (st->mtx_dir != NULL) {
        rc = la__mtx_load(st->mtx_dir, &s.sys, &s.count, err);
        if (rc < 0)
            return rc;
    }
    t0 = now_s();
    rc = tf_pool_run(pool, LINALG_FN, solve_next, &s, solve_done, &s, 0, err);
    secs = now_s() - t0;
    if (rc < 0 && rc != TF_ETASK && s.err.code != 0) {
        /* The pool's message would only say that a callback failed. */
        if (err != NULL)
            *err = s.err;
        rc = s.err.code;
    }
    if (rc == 0 || rc == TF_ETASK) {
        fprintf(out,
                "solve: %llu systems, %llu failed, max residual %.3g, %.3f "
                "s, %.1f systems/s, %d worker%s\n",
                (unsigned long long)s.count, (unsigned long long)s.failed,
                s.max_resid, secs, secs > 0 ? (double)s.count / secs : 0.0,
                tf_pool_nworkers(pool),
                tf_pool_nworkers(pool) == 1 ? "" : "s");
        rc = s.failed > 0 || rc == TF_ETASK ? 1 : 0;
    }
    rc = flush_out(out, rc, err);
    la__mtx_free(s.sys, s.count);
    return rc;
}

/* A task's name in the records: the rows of C it makes, or the system. */
static int
linalg_label(void *state, uint64_t index, const void *task, size_t len,
             struct tf_buf *out)
{
    const struct la__state *st = state;
    const unsigned char *p = task;

    if (st->op == LA__OP_GEMM && len == 24) {
        uint64_t first = tf_load_u64(p), rows = tf_load_u64(p + 8);

        return tf_buf_printf(out, "gemm rows %llu-%llu of %llu",
                             (unsigned long long)first,
                             (unsigned long long)(first + rows - 1),
                             (unsigned long long)tf_load_u64(p + 16));
    }
    return tf_buf_printf(out, "%s %llu", st->op == LA__OP_GEMM ? "gemm" : "solve",
                         (unsigned long long)(index + 1));
}

static int
linalg_master(void *state, struct tf_pool *pool, const struct tf_job_io *io,
              struct tf_error *err)
{
    const struct la__state *st = state;

    if (st->op == LA__OP_SOLVE)
        return solve_master(st, pool, io->out, err);
    return gemm_master(st, pool, io->out, err);
}

const struct tf_job_kind tf_job_linalg = {
    .name = "linalg",
    .summary = "dense linear algebra: C = A*B by row blocks (gemm), or "
               "many systems Ax = b (solve)",
    .usage = "gemm|solve [options]",
    .options = linalg_options,
    .init = linalg_init,
    .run = linalg_run,
    .master = linalg_master,
    .fini = linalg_fini,
    .label = linalg_label,
    .examples =
        "taskfarm linalg gemm --n 4096 --check        # generated A and B\n"
        "taskfarm linalg gemm --a A.mtx --b B.bin     # A and B from files\n"
        "mpirun -np 9 taskfarm linalg gemm --n 16384  # 8 worker ranks\n"
        "taskfarm linalg solve --count 1000 --n 512   # generated systems\n"
        "taskfarm linalg solve --mtx systems/         # a system per .mtx\n",
};
