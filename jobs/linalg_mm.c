/* linalg_mm.c - the linalg job's matrix files: Matrix Market text, raw
 * little-endian doubles, and the directory of systems that solve --mtx
 * reads */
#include "linalg.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "taskfarm.h"

/* Systems read from --mtx are kept encoded in memory up to this many bytes;
 * past it a file is read again when its task is made. */
#define MTX_KEEP_BYTES ((size_t)256 << 20)

void
la__mm_free(struct la__mm_matrix *m)
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

int
la__mm_parse(const char *name, const char *text, size_t len,
             struct la__mm_matrix *m, struct tf_error *err)
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
            if (t2 == NULL || !token_u64(tok, tlen, 1, LA__MAX_N, &rows) ||
                !token_u64(t2, l2, 1, LA__MAX_N, &cols) ||
                (coordinate &&
                 (t3 == NULL || !token_u64(t3, l3, 0, UINT64_MAX, &nnz))) ||
                (!coordinate && t3 != NULL) ||
                (coordinate && next_token(&p, le, &tlen) != NULL))
                return tf_error_set(
                    err, TF_EINPUT,
                    "%s:%llu: expected the size line '%s' with "
                    "dimensions from 1 to %d",
                    name, (unsigned long long)line,
                    coordinate ? "ROWS COLS ENTRIES" : "ROWS COLS", LA__MAX_N);
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
mm_read(const char *path, struct la__mm_matrix *m, struct tf_error *err)
{
    char *text;
    size_t len;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = slurp(path, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = la__mm_parse(path, text, len, m, err);
    free(text);
    return rc;
}

int
la__read_square(const char *path, const char *what, uint64_t n,
                struct la__mm_matrix *m, struct tf_error *err)
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
        rc = la__mm_parse(path, text, len, m, err);
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
            la__mm_free(m);
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
    if (k * k != count || k > LA__MAX_N) {
        free(text);
        if (n != 0)
            return tf_error_set(err, TF_EINPUT,
                                "%s: %llu doubles, not %llux%llu (from --n)",
                                path, (unsigned long long)count,
                                (unsigned long long)n, (unsigned long long)n);
        return tf_error_set(err, TF_EINPUT,
                            "%s: %llu doubles do not make a square matrix of "
                            "order 1 to %d",
                            path, (unsigned long long)count, LA__MAX_N);
    }
    m->rows = m->cols = k;
    if (LA__HOST_LE) {
        /* The text buffer came from malloc, so it is aligned: keep it. */
        m->v = (double *)(void *)text;
        return 0;
    }
    m->v = malloc(count * sizeof(double));
    if (m->v == NULL) {
        free(text);
        return tf_error_set(err, TF_ENOMEM, "%s: out of memory", path);
    }
    la__get_doubles(m->v, (const unsigned char *)text, count);
    free(text);
    return 0;
}

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

int
la__mtx_encode(const char *dir, const struct la__mtx_system *sys,
               struct tf_buf *task, uint64_t *n_out, struct tf_error *err)
{
    struct la__mm_matrix a, b;
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
    rc = la__solve_task_encode(task, a.v, rhs, n);
    if (rc < 0) {
        rc = tf_error_set(err, rc, "%s: %s", path, tf_strerror(rc));
        goto out;
    }
    *n_out = n;
out:
    la__mm_free(&a);
    la__mm_free(&b);
    free(ones);
    free(path);
    free(rpath);
    return rc;
}

void
la__mtx_free(struct la__mtx_system *sys, uint64_t count)
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

int
la__mtx_load(const char *dir, struct la__mtx_system **out, uint64_t *count_out,
             struct tf_error *err)
{
    struct la__mtx_system *sys = NULL;
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
        rc = la__mtx_encode(dir, &sys[i], &task, &sys[i].n, &e);
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
    la__mtx_free(sys, nnames);
    return rc;
}
