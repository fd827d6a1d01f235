/* linalg.c - dense linear algebra over the pool: C = A*B by row blocks of A,
 * and many systems Ax = b, each solved by LAPACK on a worker */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <lapacke.h>

#include "taskfarm.h"

/* The name the CLI registers this kind's task function under. */
#define LINALG_FN "linalg"

/* Largest matrix dimension accepted anywhere: 32768^2 doubles are 8 GiB. */
#define MAX_N 32768
#define MAX_COUNT 1000000000u

/* Systems read from --mtx are kept encoded in memory up to this many bytes;
 * past it a file is read again when its task is made. */
#define MTX_KEEP_BYTES ((size_t)256 << 20)

/* Tags of a solve task's payload. */
#define SOLVE_GENERATED 1 /* u64 tag, seed, index, n: the worker makes it */
#define SOLVE_EXPLICIT 2  /* u64 tag, n, then A (n*n, row-major) and b */
#define SOLVE_BAD                                                              \
    3 /* u64 tag, then why the system could not be read:                       \
         the task fails with that message */

#define GEMM_HEADER 24  /* u64 first row, u64 rows, u64 n */
#define SOLVE_RESULT 16 /* u64 n, double scaled residual; then x */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1
#else
#define HOST_LE 0
#endif

enum op { OP_GEMM = 1, OP_SOLVE = 2 };

/* Parsed options; read-only once init returns, so the worker threads of the
 * loop backend may share it. */
struct linalg {
    int op;
    uint64_t n; /* 0: from the files (gemm) */
    uint64_t seed;
    uint64_t block; /* rows per gemm task; 0: chosen from n */
    uint64_t count;
    const char *a_path;  /* borrowed from the options */
    const char *b_path;  /* borrowed */
    const char *mtx_dir; /* borrowed */
    bool check;
    bool kernel_only;
    bool print_checksum;
};

static const struct tf_option linalg_options[] = {
    {"op", 0, "gemm|solve",
     "what to compute, as the first argument gemm or solve does (one of the "
     "two is required)"},
    {"n", 0, "N",
     "matrix order: gemm multiplies N x N matrices; solve "
     "makes N x N systems (required, except with gemm --a or --b, whose "
     "file gives it, and solve --mtx)"},
    {"seed", 0, "S", "seed of the generated matrices (default 1)"},
    {"a", 0, "FILE",
     "gemm: read A from FILE, raw little-endian doubles or Matrix Market "
     "(default: generated from --seed)"},
    {"b", 0, "FILE", "gemm: read B from FILE, as --a (default: generated)"},
    {"block", 0, "ROWS",
     "gemm: rows of C per task (default: what is left over twice the "
     "number of workers, at least 64: shrinking as the work runs out)"},
    {"check", 0, NULL,
     "gemm: compare C with one single-threaded cblas_dgemm of the whole "
     "product on the master"},
    {"print-checksum", 0, NULL,
     "gemm: print a checksum of C's bytes and the sum of its elements"},
    {"kernel-only", 0, NULL,
     "gemm: time one single-threaded cblas_dgemm "
     "in this process instead; run no tasks"},
    {"count", 0, "N",
     "solve: number of generated systems (required unless --mtx)"},
    {"mtx", 0, "DIR",
     "solve: one system per *.mtx file in DIR (NAME_b.mtx "
     "or NAME.rhs.mtx is its right-hand side)"},
    {NULL, 0, NULL, NULL},
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --------------------------------------------------------- wire encoding */

static void
put_u64(unsigned char *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void
put_doubles(unsigned char *p, const double *v, size_t count)
{
    size_t i;
    uint64_t u;

    if (HOST_LE) {
        memcpy(p, v, count * sizeof(double));
        return;
    }
    for (i = 0; i < count; i++) {
        memcpy(&u, &v[i], sizeof(u));
        put_u64(p + 8 * i, u);
    }
}

static void
get_doubles(double *v, const unsigned char *p, size_t count)
{
    size_t i;
    uint64_t u;

    if (HOST_LE) {
        memcpy(v, p, count * sizeof(double));
        return;
    }
    for (i = 0; i < count; i++) {
        u = get_u64(p + 8 * i);
        memcpy(&v[i], &u, sizeof(u));
    }
}

static double
get_double(const unsigned char *p)
{
    double d;

    get_doubles(&d, p, 1);
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
    if (HOST_LE && aligned(p))
        return (const double *)(const void *)p;
    *copy = malloc(count * sizeof(double) + 1);
    if (*copy == NULL)
        return NULL;
    get_doubles(*copy, p, count);
    return *copy;
}

/* Appends COUNT doubles to BUF, little-endian. */
static int
append_doubles(struct tf_buf *buf, const double *v, size_t count)
{
    int rc;

    if (HOST_LE)
        return tf_buf_append(buf, v, count * sizeof(double));
    rc = tf_buf_reserve(buf, count * sizeof(double));
    if (rc < 0)
        return rc;
    put_doubles(buf->data + buf->len, v, count);
    buf->len += count * sizeof(double);
    buf->data[buf->len] = '\0';
    return 0;
}

static int
append_u64(struct tf_buf *buf, uint64_t v)
{
    unsigned char b[8];

    put_u64(b, v);
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

#define STREAM_GEMM_A 1
#define STREAM_GEMM_B 2
#define STREAM_SOLVE(index) (3 + 2 * (index)) /* A; b is the next one */

/* Fills M (row-major n x n) from stream STREAM under SEED. */
static void
gen_matrix(double *m, uint64_t n, uint64_t seed, uint64_t stream)
{
    uint64_t key = stream_key(seed, stream);
    uint64_t i;

    for (i = 0; i < n * n; i++)
        m[i] = uniform(key, i);
}

/*
 * Generated system INDEX: A in column-major order (uniform plus n on the
 * diagonal, so strictly diagonally dominant and well conditioned) and b.
 */
static void
gen_system(double *a_col, double *b, uint64_t n, uint64_t seed, uint64_t index)
{
    uint64_t ka = stream_key(seed, STREAM_SOLVE(index));
    uint64_t kb = stream_key(seed, STREAM_SOLVE(index) + 1);
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

/* ----------------------------------------------------------- Matrix Market */

/* A matrix read from a file: row-major, with where its size was given. */
struct mm_matrix {
    uint64_t rows;
    uint64_t cols;
    double *v;          /* owned: rows * cols */
    uint64_t size_line; /* line of the size line; 0 for raw files */
};

static void
mm_free(struct mm_matrix *m)
{
    free(m->v);
    m->v = NULL;
}

/* Reads a line's next blank-separated token at *P; NULL at the line's end. */
static const char *
next_token(const char **p, const char *end, size_t *len)
{
    const char *s = *p;
    const char *t;

    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    if (s == end) {
        *p = s;
        return NULL;
    }
    t = s;
    while (t < end && *t != ' ' && *t != '\t' && *t != '\r')
        t++;
    *len = (size_t)(t - s);
    *p = t;
    return s;
}

static bool
token_is(const char *tok, size_t len, const char *word)
{
    size_t i;

    if (strlen(word) != len)
        return false;
    for (i = 0; i < len; i++)
        if (tolower((unsigned char)tok[i]) != word[i])
            return false;
    return true;
}

/* Parses a whole token as an unsigned decimal number in [MIN, MAX]. */
static bool
token_u64(const char *tok, size_t len, uint64_t min, uint64_t max,
          uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0 || len > 19)
        return false;
    for (i = 0; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(tok[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Parses a whole token as a finite double. */
static bool
token_double(const char *tok, size_t len, double *out)
{
    char buf[64];
    char *end;
    double d;

    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, tok, len);
    buf[len] = '\0';
    d = strtod(buf, &end);
    if (*end != '\0' || !isfinite(d))
        return false;
    *out = d;
    return true;
}

enum mm_symmetry { MM_GENERAL, MM_SYMMETRIC, MM_SKEW };

/*
 * Parses the Matrix Market text TEXT of LEN bytes (NAME for messages):
 * "matrix array" or "matrix coordinate", real or integer, general, symmetric
 * or skew-symmetric. On success fills M (the caller frees it with
 * mm_free()); else returns TF_EINPUT with ERR as "NAME:LINE: reason".
 */
static int
mm_parse(const char *name, const char *text, size_t len, struct mm_matrix *m,
         struct tf_error *err)
{
    const char *p = text;
    const char *end = text + len;
    const char *tok;
    size_t tlen;
    uint64_t line = 0;
    bool coordinate;
    int sym;
    uint64_t rows = 0, cols = 0, nnz = 0, want, got = 0;
    uint64_t ar = 0, ac = 0; /* where the next array value goes */
    bool have_size = false;
    double *v = NULL;
    static const char *const banner[] = {"%%matrixmarket", "matrix"};
    int i;

    memset(m, 0, sizeof(*m));
    /* The banner: %%MatrixMarket matrix FORMAT FIELD SYMMETRY */
    {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol != NULL ? eol : end;
        const char *fmt, *field, *symm;
        size_t flen, fdlen, slen;

        line = 1;
        for (i = 0; i < 2; i++) {
            tok = next_token(&p, le, &tlen);
            if (tok == NULL || !token_is(tok, tlen, banner[i]))
                return tf_error_set(
                    err, TF_EINPUT,
                    "%s:1: not a Matrix Market header (expected "
                    "'%%%%MatrixMarket matrix ...')",
                    name);
        }
        fmt = next_token(&p, le, &flen);
        field = fmt != NULL ? next_token(&p, le, &fdlen) : NULL;
        symm = field != NULL ? next_token(&p, le, &slen) : NULL;
        if (symm == NULL || next_token(&p, le, &tlen) != NULL)
            return tf_error_set(err, TF_EINPUT,
                                "%s:1: the header needs FORMAT FIELD SYMMETRY "
                                "after 'matrix'",
                                name);
        if (token_is(fmt, flen, "coordinate"))
            coordinate = true;
        else if (token_is(fmt, flen, "array"))
            coordinate = false;
        else
            return tf_error_set(
                err, TF_EINPUT,
                "%s:1: unknown format '%.*s' (array or coordinate)", name,
                (int)flen, fmt);
        if (!token_is(field, fdlen, "real") &&
            !token_is(field, fdlen, "integer") &&
            !token_is(field, fdlen, "double"))
            return tf_error_set(
                err, TF_EINPUT,
                "%s:1: unsupported field '%.*s' (real or integer)", name,
                (int)fdlen, field);
        if (token_is(symm, slen, "general"))
            sym = MM_GENERAL;
        else if (token_is(symm, slen, "symmetric"))
            sym = MM_SYMMETRIC;
        else if (token_is(symm, slen, "skew-symmetric"))
            sym = MM_SKEW;
        else
            return tf_error_set(err, TF_EINPUT,
                                "%s:1: unsupported symmetry '%.*s' (general, "
                                "symmetric or skew-symmetric)",
                                name, (int)slen, symm);
        p = eol != NULL ? eol + 1 : end;
    }
    want = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol != NULL ? eol : end;

        line++;
        tok = next_token(&p, le, &tlen);
        if (tok == NULL || tok[0] == '%') {
            p = eol != NULL ? eol + 1 : end;
            continue;
        }
        if (!have_size) {
            const char *t2, *t3;
            size_t l2 = 0, l3 = 0;

            t2 = next_token(&p, le, &l2);
            t3 = t2 != NULL ? next_token(&p, le, &l3) : NULL;
            if (t2 == NULL || !token_u64(tok, tlen, 1, MAX_N, &rows) ||
                !token_u64(t2, l2, 1, MAX_N, &cols) ||
                (coordinate &&
                 (t3 == NULL || !token_u64(t3, l3, 0, UINT64_MAX, &nnz))) ||
                (!coordinate && t3 != NULL) ||
                (coordinate && next_token(&p, le, &tlen) != NULL))
                return tf_error_set(
                    err, TF_EINPUT,
                    "%s:%llu: expected the size line '%s' with "
                    "dimensions from 1 to %d",
                    name, (unsigned long long)line,
                    coordinate ? "ROWS COLS ENTRIES" : "ROWS COLS", MAX_N);
            if (sym != MM_GENERAL && rows != cols)
                return tf_error_set(
                    err, TF_EINPUT,
                    "%s:%llu: a symmetric matrix must be square, "
                    "not %llux%llu",
                    name, (unsigned long long)line, (unsigned long long)rows,
                    (unsigned long long)cols);
            if (coordinate && nnz > rows * cols)
                return tf_error_set(
                    err, TF_EINPUT,
                    "%s:%llu: %llu entries do not fit a %llux%llu "
                    "matrix",
                    name, (unsigned long long)line, (unsigned long long)nnz,
                    (unsigned long long)rows, (unsigned long long)cols);
            if (coordinate)
                want = nnz;
            else if (sym == MM_SYMMETRIC)
                want = rows * (rows + 1) / 2;
            else if (sym == MM_SKEW)
                want = rows * (rows - 1) / 2;
            else
                want = rows * cols;
            v = calloc(rows * cols + 1, sizeof(double));
            if (v == NULL)
                return tf_error_set(err, TF_ENOMEM,
                                    "%s: out of memory for a "
                                    "%llux%llu matrix",
                                    name, (unsigned long long)rows,
                                    (unsigned long long)cols);
            m->size_line = line;
            have_size = true;
            ar = sym == MM_SKEW ? 1 : 0;
            p = eol != NULL ? eol + 1 : end;
            continue;
        }
        /* Entries: coordinate "I J V" one per line; array values, one or
         * more per line, column by column. */
        for (; tok != NULL; tok = next_token(&p, le, &tlen)) {
            uint64_t r, c;
            double d;

            if (got == want)
                goto too_many;
            if (coordinate) {
                const char *tj, *tv;
                size_t lj, lv;

                tj = next_token(&p, le, &lj);
                tv = tj != NULL ? next_token(&p, le, &lv) : NULL;
                if (tv == NULL || next_token(&p, le, &tlen) != NULL) {
                    free(v);
                    return tf_error_set(
                        err, TF_EINPUT,
                        "%s:%llu: expected an entry 'ROW COL VALUE'", name,
                        (unsigned long long)line);
                }
                if (!token_u64(tok, tlen, 1, rows, &r) ||
                    !token_u64(tj, lj, 1, cols, &c)) {
                    free(v);
                    return tf_error_set(
                        err, TF_EINPUT,
                        "%s:%llu: index out of range (the matrix "
                        "is %llux%llu)",
                        name, (unsigned long long)line,
                        (unsigned long long)rows, (unsigned long long)cols);
                }
                r--;
                c--;
                tok = tv;
                tlen = lv;
            } else {
                /* Column by column; with symmetry only the lower triangle
                 * (below the diagonal for skew-symmetric) is stored. */
                r = ar;
                c = ac;
                if (++ar == rows) {
                    ac++;
                    ar = sym == MM_GENERAL ? 0 : sym == MM_SKEW ? ac + 1 : ac;
                }
            }
            if (!token_double(tok, tlen, &d)) {
                free(v);
                return tf_error_set(err, TF_EINPUT,
                                    "%s:%llu: '%.*s' is not a finite number",
                                    name, (unsigned long long)line,
                                    (int)(tlen > 40 ? 40 : tlen), tok);
            }
            if (sym == MM_SKEW && r == c) {
                free(v);
                return tf_error_set(err, TF_EINPUT,
                                    "%s:%llu: a skew-symmetric matrix has no "
                                    "diagonal entries",
                                    name, (unsigned long long)line);
            }
            /* Coordinate duplicates add up, as in most readers. */
            v[r * cols + c] += d;
            if (sym == MM_SYMMETRIC && r != c)
                v[c * cols + r] += d;
            else if (sym == MM_SKEW)
                v[c * cols + r] -= d;
            got++;
            if (coordinate)
                break;
        }
        p = eol != NULL ? eol + 1 : end;
    }
    if (!have_size)
        return tf_error_set(err, TF_EINPUT, "%s:%llu: no size line", name,
                            (unsigned long long)line);
    if (got < want) {
        free(v);
        return tf_error_set(
            err, TF_EINPUT, "%s:%llu: expected %llu %s, found %llu", name,
            (unsigned long long)line, (unsigned long long)want,
            coordinate ? "entries" : "values", (unsigned long long)got);
    }
    m->rows = rows;
    m->cols = cols;
    m->v = v;
    return 0;
too_many:
    free(v);
    return tf_error_set(err, TF_EINPUT,
                        "%s:%llu: more than the %llu %s announced", name,
                        (unsigned long long)line, (unsigned long long)want,
                        coordinate ? "entries" : "values");
}

/* Reads all of PATH into *TEXT (owned by the caller, NUL-terminated). */
static int
slurp(const char *path, char **text, size_t *len, struct tf_error *err)
{
    FILE *f;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    struct stat sb;

    *text = NULL;
    f = fopen(path, "rbe");
    if (f == NULL)
        return tf_error_set(err, TF_EINPUT, "%s: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        return tf_error_set(err, TF_EINPUT, "%s: is a directory", path);
    }
    /* Room for the whole file, the NUL and the read that sees the end. */
    cap = sb.st_size > 0 ? (size_t)sb.st_size + 2 : 65536;
    for (;;) {
        if (n + 1 >= cap || buf == NULL) {
            char *nb;

            if (buf != NULL)
                cap *= 2;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return tf_error_set(err, TF_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return tf_error_set(err, TF_EINPUT, "%s: read error", path);
    }
    fclose(f);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static bool
is_matrix_market(const char *text, size_t len)
{
    return len >= 14 && strncasecmp(text, "%%MatrixMarket", 14) == 0;
}

/* Reads a Matrix Market file into M. */
static int
mm_read(const char *path, struct mm_matrix *m, struct tf_error *err)
{
    char *text;
    size_t len;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = slurp(path, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = mm_parse(path, text, len, m, err);
    free(text);
    return rc;
}

/*
 * Reads a square matrix for gemm from PATH: Matrix Market when the text
 * starts with its banner, else raw little-endian doubles (n*n of them; N,
 * when not 0, says how many). WHAT ("--a") names it in messages.
 */
static int
read_square(const char *path, const char *what, uint64_t n, struct mm_matrix *m,
            struct tf_error *err)
{
    char *text;
    size_t len;
    uint64_t count, k;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = slurp(path, &text, &len, err);
    if (rc < 0)
        return rc;
    if (is_matrix_market(text, len)) {
        rc = mm_parse(path, text, len, m, err);
        free(text);
        if (rc < 0)
            return rc;
        if (m->rows != m->cols) {
            rc = tf_error_set(err, TF_EINPUT,
                              "%s:%llu: %s must be square, not "
                              "%llux%llu",
                              path, (unsigned long long)m->size_line, what,
                              (unsigned long long)m->rows,
                              (unsigned long long)m->cols);
            mm_free(m);
        }
        return rc;
    }
    if (len == 0 || len % 8 != 0) {
        free(text);
        return tf_error_set(err, TF_EINPUT,
                            "%s: %zu bytes: neither Matrix Market nor a whole "
                            "number of doubles",
                            path, len);
    }
    count = len / 8;
    k = n;
    if (k == 0) {
        k = (uint64_t)sqrt((double)count);
        while (k * k > count)
            k--;
        while ((k + 1) * (k + 1) <= count)
            k++;
    }
    if (k * k != count || k > MAX_N) {
        free(text);
        if (n != 0)
            return tf_error_set(err, TF_EINPUT,
                                "%s: %llu doubles, not %llux%llu (from --n)",
                                path, (unsigned long long)count,
                                (unsigned long long)n, (unsigned long long)n);
        return tf_error_set(err, TF_EINPUT,
                            "%s: %llu doubles do not make a square matrix of "
                            "order 1 to %d",
                            path, (unsigned long long)count, MAX_N);
    }
    m->rows = m->cols = k;
    if (HOST_LE) {
        /* The text buffer came from malloc, so it is aligned: keep it. */
        m->v = (double *)(void *)text;
        return 0;
    }
    m->v = malloc(count * sizeof(double));
    if (m->v == NULL) {
        free(text);
        return tf_error_set(err, TF_ENOMEM, "%s: out of memory", path);
    }
    get_doubles(m->v, (const unsigned char *)text, count);
    free(text);
    return 0;
}

/* ------------------------------------------------------------- options */

static int
parse_num(const char *s, uint64_t min, uint64_t max, const char *what,
          uint64_t *out, struct tf_error *err)
{
    uint64_t v = 0;
    const char *p;

    if (s == NULL || *s == '\0')
        return tf_error_set(err, TF_EUSAGE, "%s: missing number", what);
    for (p = s; *p != '\0'; p++) {
        unsigned d;

        if (*p < '0' || *p > '9')
            return tf_error_set(err, TF_EUSAGE,
                                "%s: '%s' is not a whole number", what, s);
        d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return tf_error_set(err, TF_EUSAGE, "%s: '%s' is too large", what,
                                s);
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return tf_error_set(err, TF_EUSAGE,
                            "%s: %s is out of range (%llu to %llu)", what, s,
                            (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return 0;
}

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
    struct linalg *st;
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
        st->op = OP_GEMM;
        other = solve_only;
    } else if (strcmp(op, "solve") == 0) {
        st->op = OP_SOLVE;
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
    v = tf_opts_get(opts, "n");
    if (v != NULL) {
        rc = parse_num(v, 1, MAX_N, "--n", &st->n, err);
        if (rc < 0)
            goto fail;
    }
    v = tf_opts_get(opts, "seed");
    if (v != NULL) {
        rc = parse_num(v, 0, UINT64_MAX, "--seed", &st->seed, err);
        if (rc < 0)
            goto fail;
    }
    if (st->op == OP_GEMM) {
        st->a_path = tf_opts_get(opts, "a");
        st->b_path = tf_opts_get(opts, "b");
        st->check = tf_opts_get(opts, "check") != NULL;
        st->kernel_only = tf_opts_get(opts, "kernel-only") != NULL;
        st->print_checksum = tf_opts_get(opts, "print-checksum") != NULL;
        v = tf_opts_get(opts, "block");
        if (v != NULL) {
            rc = parse_num(v, 1, MAX_N, "--block", &st->block, err);
            if (rc < 0)
                goto fail;
        }
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
        v = tf_opts_get(opts, "count");
        if (v != NULL) {
            rc = parse_num(v, 1, MAX_COUNT, "--count", &st->count, err);
            if (rc < 0)
                goto fail;
        }
        if (st->mtx_dir != NULL) {
            if (v != NULL || st->n != 0) {
                rc = tf_error_set(err, TF_EUSAGE,
                                  "--mtx takes the systems from "
                                  "files: drop --count and --n");
                goto fail;
            }
            rc = check_file(st->mtx_dir, "--mtx", true, err);
            if (rc < 0)
                goto fail;
        } else if (v == NULL || st->n == 0) {
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
    if (openblas_get_num_threads() != want)
        openblas_set_num_threads(want);
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

/* One gemm task as decoded from the wire: which rows of C to make. */
struct gemm_task {
    uint64_t first;
    uint64_t rows;
    uint64_t n;
};

/* Appends the gemm task of rows FIRST .. FIRST+ROWS-1 of C (n x n) to
 * TASK: its header alone, as A and B are shared. */
static int
gemm_task_encode(struct tf_buf *task, uint64_t n, uint64_t first, uint64_t rows)
{
    int rc;

    rc = append_u64(task, first);
    if (rc == 0)
        rc = append_u64(task, rows);
    if (rc == 0)
        rc = append_u64(task, n);
    return rc;
}

/* Checks a gemm task's payload; TF_EPROTO with the reason otherwise. */
static int
gemm_task_decode(const void *data, size_t len, struct gemm_task *t,
                 struct tf_error *err)
{
    const unsigned char *p = data;

    if (len != GEMM_HEADER)
        return tf_error_set(err, TF_EPROTO,
                            "gemm task of %zu bytes: not the %d of its "
                            "header",
                            len, GEMM_HEADER);
    t->first = get_u64(p);
    t->rows = get_u64(p + 8);
    t->n = get_u64(p + 16);
    if (t->n == 0 || t->n > MAX_N || t->rows == 0 || t->rows > t->n ||
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
    if (len < 8 || get_u64(shared) != n ||
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
    struct gemm_task t;
    const unsigned char *a_le = NULL, *b_le = NULL;
    const double *a, *b;
    double *a_copy = NULL, *b_copy = NULL, *c_copy = NULL, *c;
    size_t count, bytes, c_off = 0;
    bool in_place;
    unsigned char *p;
    int rc;

    memset(&t, 0, sizeof(t));
    if (gemm_task_decode(task->data, task->len, &t, &e) < 0 ||
        gemm_shared_decode(task->shared, task->shared_len, t.n, &a_le, &b_le,
                           &c_off, &e) < 0)
        return task_fail(res, "%s", e.msg);
    use_thread_share();
    count = t.rows * t.n;
    in_place = HOST_LE && c_off != 0 && task->shared_rw != NULL &&
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
    else if (HOST_LE && aligned(p + GEMM_HEADER))
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
    put_u64(p, t.first);
    put_u64(p + 8, t.rows);
    put_u64(p + 16, t.n);
    if (c == c_copy)
        put_doubles(p + GEMM_HEADER, c, count);
    res->out.len += bytes;
    res->out.data[res->out.len] = '\0';
    res->status = 0;
out:
    free(a_copy);
    free(b_copy);
    free(c_copy);
    return rc;
}

/* Appends a solve task for the system A (row-major n x n) and b. */
static int
solve_task_encode(struct tf_buf *task, const double *a, const double *b,
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

static int
solve_task_generated(struct tf_buf *task, uint64_t seed, uint64_t index,
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

/*
 * Decodes a solve task into A (column-major, for LAPACK) and b, both
 * allocated here (the caller frees them); TF_EPROTO for a bad payload,
 * TF_ENOMEM.
 */
static int
solve_task_decode(const void *data, size_t len, uint64_t *n_out, double **a_out,
                  double **b_out, struct tf_error *err)
{
    const unsigned char *p = data;
    uint64_t tag, n, i, j;
    double *a, *b;

    *a_out = *b_out = NULL;
    if (len < 16)
        return tf_error_set(err, TF_EPROTO, "solve task of %zu bytes", len);
    tag = get_u64(p);
    if (tag == SOLVE_GENERATED) {
        if (len != 32)
            return tf_error_set(err, TF_EPROTO,
                                "generated solve task of %zu bytes, not 32",
                                len);
        n = get_u64(p + 24);
    } else if (tag == SOLVE_EXPLICIT) {
        n = get_u64(p + 8);
    } else {
        return tf_error_set(err, TF_EPROTO, "solve task of unknown kind %llu",
                            (unsigned long long)tag);
    }
    if (n == 0 || n > MAX_N)
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
        gen_system(a, b, n, get_u64(p + 8), get_u64(p + 16));
    } else {
        for (i = 0; i < n; i++)
            for (j = 0; j < n; j++)
                a[i + j * n] = get_double(p + 16 + (i * n + j) * 8);
        get_doubles(b, p + 16 + n * n * 8, n);
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

    if (task->len >= 8 && get_u64(task->data) == SOLVE_BAD)
        return task_fail(res, "%.*s", (int)(task->len - 8),
                         (const char *)task->data + 8);
    rc = solve_task_decode(task->data, task->len, &n, &a, &b, &e);
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
    put_u64(out, n);
    put_doubles(out + 8, &resid, 1);
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
    const struct linalg *st = state;

    if (st != NULL && st->op == OP_SOLVE)
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
    return gemm_task_encode(task, g->n, first, rows) < 0 ? TF_ENOMEM : 1;
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
        fprintf(stderr, "taskfarm: linalg: rows %llu-%llu failed: %.*s\n",
                (unsigned long long)first,
                (unsigned long long)(first + rows - 1),
                (int)(res->err.len > 200 ? 200 : res->err.len),
                res->err.len > 0 ? (const char *)res->err.data : "");
        return 0;
    }
    /* Rows the worker wrote into the shared C come with the header alone. */
    if ((res->out.len != GEMM_HEADER + rows * g->n * 8 &&
         !(g->c_shared && res->out.len == GEMM_HEADER)) ||
        get_u64(p) != first || get_u64(p + 8) != rows ||
        get_u64(p + 16) != g->n)
        return tf_error_set(
            &g->err, TF_EPROTO,
            "gemm: the result of rows %llu-%llu is malformed (%zu "
            "bytes)",
            (unsigned long long)first, (unsigned long long)(first + rows - 1),
            res->out.len);
    if (res->out.len > GEMM_HEADER)
        get_doubles(g->c + first * g->n, p + GEMM_HEADER, rows * g->n);
    return 0;
}

/* Loads or generates A and B, n x n. */
static int
gemm_inputs(const struct linalg *st, struct mm_matrix *a, struct mm_matrix *b,
            struct tf_error *err)
{
    uint64_t n = st->n;
    int rc;

    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    if (st->a_path != NULL) {
        rc = read_square(st->a_path, "--a", n, a, err);
        if (rc < 0)
            return rc;
        if (n != 0 && a->rows != n) {
            mm_free(a);
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
        rc = read_square(st->b_path, "--b", st->a_path != NULL ? 0 : n, b, err);
        if (rc < 0) {
            mm_free(a);
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
            mm_free(a);
            mm_free(b);
            return rc;
        }
        n = b->rows;
    }
    a->rows = a->cols = b->rows = b->cols = n;
    if (a->v == NULL) {
        a->v = malloc(n * n * sizeof(double));
        if (a->v != NULL)
            gen_matrix(a->v, n, st->seed, STREAM_GEMM_A);
    }
    if (b->v == NULL) {
        b->v = malloc(n * n * sizeof(double));
        if (b->v != NULL)
            gen_matrix(b->v, n, st->seed, STREAM_GEMM_B);
    }
    if (a->v == NULL || b->v == NULL) {
        mm_free(a);
        mm_free(b);
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
        put_doubles(b, &c[i], 1);
        for (k = 0; k < 8; k++)
            h = (h ^ b[k]) * 0x100000001b3u;
    }
    return h;
}

static int
gemm_master(const struct linalg *st, struct tf_pool *pool, struct tf_error *err)
{
    struct gemm_master g;
    struct mm_matrix a, b;
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
        openblas_set_num_threads(1);
        /* One untimed call of the same size settles pages and caches. */
        dgemm(a.v, b.v, c, n);
        t0 = now_s();
        dgemm(a.v, b.v, c, n);
        secs = now_s() - t0;
        printf("kernel n=%llu: %.3f s, %.2f GFLOP/s, 1 thread\n",
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
    g.c_shared = HOST_LE && tf_pool_share_maps(pool, 8 + 3 * count * 8);
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
    put_u64(shared, n);
    put_doubles(shared + 8, a.v, count);
    put_doubles(shared + 8 + count * sizeof(double), b.v, count);
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
        fprintf(stderr,
                "taskfarm: linalg: %llu of %llu blocks failed; C "
                "is incomplete\n",
                (unsigned long long)g.failed, (unsigned long long)g.ntasks);
        rc = 1;
        goto out;
    }
    if (rc < 0)
        goto out;
    printf("gemm n=%llu: %.3f s, %.2f GFLOP/s, %d worker%s, %llu block%s of "
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
        printf("checksum: %016llx (sum %.17g)\n",
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
        openblas_set_num_threads(1);
        dgemm(a.v, b.v, ref, n);
        for (i = 0; i < count; i++) {
            double d = fabs(g.c[i] - ref[i]);

            diff = d > diff ? d : diff;
            big = fabs(ref[i]) > big ? fabs(ref[i]) : big;
        }
        printf("check: max relative error %.3g\n", big > 0 ? diff / big : diff);
    }
    rc = 0;
out:
    fflush(stdout);
    free(c);
    free(ref);
    free(g.start);
    mm_free(&a);
    mm_free(&b);
    return rc;
}

/* -------------------------------------------------------------- solve */

/* One system of --mtx. */
struct mtx_system {
    char *name; /* owned: the matrix's file name */
    char *rhs;  /* owned: its right-hand side's, or NULL */
    uint64_t n;
    unsigned char *payload; /* owned: the encoded task, or NULL to re-read */
    size_t len;
    char *bad; /* owned: why it cannot be read, or NULL */
};

/* Appends the task of a system that could not be read: it fails with MSG. */
static int
solve_task_bad(struct tf_buf *task, const char *msg)
{
    int rc = append_u64(task, SOLVE_BAD);

    return rc == 0 ? tf_buf_puts(task, msg) : rc;
}

struct solve_master {
    const struct linalg *st;
    uint64_t count;
    struct mtx_system *sys; /* NULL: generated systems */
    uint64_t failed;
    double max_resid;
    struct tf_error err; /* our reason when a callback stops the run */
};

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int
cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static char *
join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "%s%s%s", dir,
                 dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/",
                 name);
    return p;
}

/*
 * Reads system SYS of DIR and encodes its task into TASK: the matrix, which
 * must be square, and its right-hand side (a vector of n entries), or
 * b = A * ones.
 */
static int
mtx_encode(const char *dir, const struct mtx_system *sys, struct tf_buf *task,
           uint64_t *n_out, struct tf_error *err)
{
    struct mm_matrix a, b;
    char *path, *rpath = NULL;
    double *ones = NULL;
    const double *rhs;
    uint64_t n = 0, i, j;
    int rc;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    path = join(dir, sys->name);
    if (path == NULL)
        return tf_error_set(err, TF_ENOMEM, "out of memory");
    rc = mm_read(path, &a, err);
    if (rc < 0)
        goto out;
    if (a.rows != a.cols) {
        rc = tf_error_set(err, TF_EINPUT,
                          "%s:%llu: the matrix is %llux%llu, not "
                          "square",
                          path, (unsigned long long)a.size_line,
                          (unsigned long long)a.rows,
                          (unsigned long long)a.cols);
        goto out;
    }
    n = a.rows;
    if (sys->rhs != NULL) {
        rpath = join(dir, sys->rhs);
        if (rpath == NULL) {
            rc = tf_error_set(err, TF_ENOMEM, "out of memory");
            goto out;
        }
        rc = mm_read(rpath, &b, err);
        if (rc < 0)
            goto out;
        if ((b.cols != 1 && b.rows != 1) || b.rows * b.cols != n) {
            rc = tf_error_set(
                err, TF_EINPUT,
                "%s:%llu: the right-hand side is %llux%llu; %s is "
                "%llux%llu",
                rpath, (unsigned long long)b.size_line,
                (unsigned long long)b.rows, (unsigned long long)b.cols,
                sys->name, (unsigned long long)n, (unsigned long long)n);
            goto out;
        }
        rhs = b.v;
    } else {
        ones = calloc(n, sizeof(double));
        if (ones == NULL) {
            rc = tf_error_set(err, TF_ENOMEM, "out of memory");
            goto out;
        }
        for (i = 0; i < n; i++)
            for (j = 0; j < n; j++)
                ones[i] += a.v[i * n + j];
        rhs = ones;
    }
    rc = solve_task_encode(task, a.v, rhs, n);
    if (rc < 0) {
        rc = tf_error_set(err, rc, "%s: %s", path, tf_strerror(rc));
        goto out;
    }
    *n_out = n;
out:
    mm_free(&a);
    mm_free(&b);
    free(ones);
    free(path);
    free(rpath);
    return rc;
}

static void
mtx_free(struct mtx_system *sys, uint64_t count)
{
    uint64_t i;

    if (sys == NULL)
        return;
    for (i = 0; i < count; i++) {
        free(sys[i].name);
        free(sys[i].rhs);
        free(sys[i].payload);
        free(sys[i].bad);
    }
    free(sys);
}

/*
 * Lists the systems of DIR in name order and checks every file, so that a
 * bad one stops the run before any task: on the master, before the pool
 * runs anything.
 */
static int
mtx_load(const char *dir, struct mtx_system **out, uint64_t *count_out,
         struct tf_error *err)
{
    struct mtx_system *sys = NULL;
    char **names = NULL;
    size_t nnames = 0, cap = 0, i, k, kept = 0;
    uint64_t count = 0;
    struct dirent *de;
    struct tf_buf task;
    struct tf_error e;
    DIR *d;
    int rc = 0;

    *out = NULL;
    *count_out = 0;
    d = opendir(dir);
    if (d == NULL)
        return tf_error_set(err, TF_EINPUT, "--mtx %s: %s", dir,
                            strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!ends_with(de->d_name, ".mtx") || de->d_name[0] == '.')
            continue;
        if (nnames == cap) {
            char **nn;

            cap = cap ? 2 * cap : 64;
            nn = realloc(names, cap * sizeof(*names));
            if (nn == NULL) {
                rc = tf_error_set(err, TF_ENOMEM, "out of memory");
                goto out;
            }
            names = nn;
        }
        names[nnames] = strdup(de->d_name);
        if (names[nnames] == NULL) {
            rc = tf_error_set(err, TF_ENOMEM, "out of memory");
            goto out;
        }
        nnames++;
    }
    if (nnames == 0) {
        rc = tf_error_set(err, TF_EINPUT, "--mtx %s: no .mtx files", dir);
        goto out;
    }
    qsort(names, nnames, sizeof(*names), cmp_names);
    sys = calloc(nnames, sizeof(*sys));
    if (sys == NULL) {
        rc = tf_error_set(err, TF_ENOMEM, "out of memory");
        goto out;
    }
    /* NAME_b.mtx and NAME.rhs.mtx are right-hand sides when NAME.mtx is
     * there; otherwise they are systems of their own. */
    for (i = 0; i < nnames; i++) {
        static const char *const rhs_suffix[] = {"_b.mtx", ".rhs.mtx"};
        bool is_rhs = false;
        int s;

        for (s = 0; s < 2 && !is_rhs; s++) {
            size_t stem = strlen(names[i]) - strlen(rhs_suffix[s]);
            char *m;

            if (!ends_with(names[i], rhs_suffix[s]) || stem == 0)
                continue;
            m = malloc(stem + 5);
            if (m == NULL) {
                rc = tf_error_set(err, TF_ENOMEM, "out of memory");
                goto out;
            }
            memcpy(m, names[i], stem);
            memcpy(m + stem, ".mtx", 5);
            is_rhs =
                bsearch(&m, names, nnames, sizeof(*names), cmp_names) != NULL;
            free(m);
        }
        if (is_rhs)
            continue;
        sys[count].name = strdup(names[i]);
        if (sys[count].name == NULL) {
            rc = tf_error_set(err, TF_ENOMEM, "out of memory");
            goto out;
        }
        count++;
    }
    for (i = 0; i < count; i++) {
        size_t stem = strlen(sys[i].name) - 4;
        static const char *const rhs_suffix[] = {"_b.mtx", ".rhs.mtx"};
        int s;

        for (s = 0; s < 2 && sys[i].rhs == NULL; s++) {
            char *r = malloc(stem + strlen(rhs_suffix[s]) + 1);
            char **hit;

            if (r == NULL) {
                rc = tf_error_set(err, TF_ENOMEM, "out of memory");
                goto out;
            }
            memcpy(r, sys[i].name, stem);
            strcpy(r + stem, rhs_suffix[s]);
            hit = bsearch(&r, names, nnames, sizeof(*names), cmp_names);
            if (hit != NULL)
                sys[i].rhs = r;
            else
                free(r);
        }
    }
    tf_buf_init(&task, 0);
    for (i = 0; i < count; i++) {
        tf_buf_reset(&task);
        tf_error_init(&e);
        rc = mtx_encode(dir, &sys[i], &task, &sys[i].n, &e);
        if (rc == TF_EINPUT || rc == TF_ESYS) {
            /* A malformed or unreadable system fails alone, as its task. */
            sys[i].bad = strdup(e.msg);
            if (sys[i].bad == NULL) {
                rc = tf_error_set(err, TF_ENOMEM, "out of memory");
                break;
            }
            rc = 0;
            continue;
        }
        if (rc < 0) {
            if (err != NULL)
                *err = e;
            break;
        }
        if (kept + task.len <= MTX_KEEP_BYTES) {
            sys[i].payload = malloc(task.len);
            if (sys[i].payload == NULL) {
                rc = tf_error_set(err, TF_ENOMEM, "out of memory");
                break;
            }
            memcpy(sys[i].payload, task.data, task.len);
            sys[i].len = task.len;
            kept += task.len;
        }
    }
    tf_buf_cleanup(&task);
    if (rc < 0)
        goto out;
    *out = sys;
    *count_out = count;
    sys = NULL;
out:
    closedir(d);
    for (k = 0; k < nnames; k++)
        free(names[k]);
    free(names);
    mtx_free(sys, nnames);
    return rc;
}

static int
solve_next(void *arg, uint64_t index, struct tf_buf *task)
{
    struct solve_master *s = arg;
    uint64_t n;
    int rc;

    if (index >= s->count)
        return 0;
    if (s->sys == NULL)
        rc = solve_task_generated(task, s->st->seed, index, s->st->n);
    else if (s->sys[index].bad != NULL)
        rc = solve_task_bad(task, s->sys[index].bad);
    else if (s->sys[index].payload != NULL)
        rc = tf_buf_append(task, s->sys[index].payload, s->sys[index].len);
    else
        rc = mtx_encode(s->st->mtx_dir, &s->sys[index], task, &n, &s->err);
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
            printf("%s failed: %s\n", name, s->sys[index].bad);
        else
            printf("%s n=%llu failed: %.*s\n", name, (unsigned long long)n,
                   (int)(len > 200 ? 200 : len),
                   len > 0 ? (const char *)res->err.data : "");
        return 0;
    }
    if (res->out.len != SOLVE_RESULT + n * 8 || get_u64(res->out.data) != n)
        return tf_error_set(&s->err, TF_EPROTO,
                            "solve: the result of system %s is malformed (%zu "
                            "bytes)",
                            name, res->out.len);
    resid = get_double(res->out.data + 8);
    if (!(resid <= s->max_resid))
        s->max_resid = resid;
    printf("%s n=%llu residual %.3g\n", name, (unsigned long long)n, resid);
    return 0;
}

static int
solve_master(const struct linalg *st, struct tf_pool *pool,
             struct tf_error *err)
{
    struct solve_master s;
    double t0, secs;
    int rc;

    memset(&s, 0, sizeof(s));
    s.st = st;
    s.count = st->count;
    tf_error_init(&s.err);
    if (st->mtx_dir != NULL) {
        rc = mtx_load(st->mtx_dir, &s.sys, &s.count, err);
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
        printf("solve: %llu systems, %llu failed, max residual %.3g, %.3f "
               "s, %.1f systems/s, %d worker%s\n",
               (unsigned long long)s.count, (unsigned long long)s.failed,
               s.max_resid, secs, secs > 0 ? (double)s.count / secs : 0.0,
               tf_pool_nworkers(pool), tf_pool_nworkers(pool) == 1 ? "" : "s");
        rc = s.failed > 0 || rc == TF_ETASK ? 1 : 0;
    }
    fflush(stdout);
    mtx_free(s.sys, s.count);
    return rc;
}

static int
linalg_master(void *state, struct tf_pool *pool, struct tf_error *err)
{
    const struct linalg *st = state;

    if (st->op == OP_SOLVE)
        return solve_master(st, pool, err);
    return gemm_master(st, pool, err);
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
    .examples =
        "taskfarm linalg gemm --n 4096 --check        # generated A and B\n"
        "taskfarm linalg gemm --a A.mtx --b B.bin     # A and B from files\n"
        "mpirun -np 9 taskfarm linalg gemm --n 16384  # 8 worker ranks\n"
        "taskfarm linalg solve --count 1000 --n 512   # generated systems\n"
        "taskfarm linalg solve --mtx systems/         # a system per .mtx\n",
};
