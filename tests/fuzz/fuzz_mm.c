/* fuzz_mm.c - libFuzzer target: the linalg job's Matrix Market reader
 * (la__mm_parse, jobs/linalg_mm.c) and the solve task it makes of a file
 * (la__mtx_encode) */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "linalg.h"

/*
 * The input is a Matrix Market file: any bytes. The properties:
 *   - it is accepted, or refused with TF_EINPUT and "NAME:LINE: reason"
 *     (TF_ENOMEM when a matrix is too big for memory, see below), and a
 *     refusal leaves no memory behind;
 *   - an accepted matrix has 1 to LA__MAX_N rows and columns; written back
 *     as Matrix Market (coordinate, each value as "%.17g", which strtod
 *     reads back exactly) it parses to the same size and the same values,
 *     bit for bit. Values are finite one by one, but entries given twice
 *     add up and may overflow: a matrix holding an infinity cannot be
 *     written back, and is only checked to be refused then;
 *   - small ones also round-trip written as an array, column by column;
 *   - the solve task of a square matrix read from a file (la__mtx_encode)
 *     holds its order, its values row by row and b = A * ones, summed as
 *     the job sums it.
 * A matrix of more than MAX_ELEMS values gets no memory, as on a small
 * machine: calloc() is wrapped (-Wl,--wrap=calloc), so that a size line of
 * 32768 x 32768 fails at once with TF_ENOMEM instead of asking the fuzzer
 * for 8 GiB.
 */
#define MAX_ELEMS ((size_t)1 << 20)
#define ARRAY_ELEMS 4096 /* largest matrix also written as an array */
#define NAME "fuzz.mtx"

void *__real_calloc(size_t nmemb, size_t size);
void *__wrap_calloc(size_t nmemb, size_t size);

void *
__wrap_calloc(size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > MAX_ELEMS * sizeof(double) / size)
        return NULL;
    return __real_calloc(nmemb, size);
}

static uint64_t
get64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static bool
same_double(double a, const unsigned char *le)
{
    uint64_t u;

    memcpy(&u, &a, sizeof(u));
    return u == get64(le);
}

/* Parses TEXT (N bytes) into M, checking what holds for any text. */
static int
parse(const char *text, size_t n, struct la__mm_matrix *m)
{
    struct tf_error err;
    int rc;

    tf_error_init(&err);
    rc = la__mm_parse(NAME, text, n, m, &err);
    if (rc == 0) {
        FUZZ_CHECK(m->rows >= 1 && m->rows <= LA__MAX_N);
        FUZZ_CHECK(m->cols >= 1 && m->cols <= LA__MAX_N);
        FUZZ_CHECK(m->v != NULL && m->size_line >= 2);
        return 0;
    }
    FUZZ_CHECK(rc == TF_EINPUT || rc == TF_ENOMEM);
    FUZZ_CHECK(err.code == rc);
    FUZZ_CHECK(strncmp(err.msg, NAME ":", strlen(NAME ":")) == 0);
    FUZZ_CHECK(m->v == NULL);
    return rc;
}

static bool
all_finite(const struct la__mm_matrix *m)
{
    size_t i;

    for (i = 0; i < m->rows * m->cols; i++)
        if (!isfinite(m->v[i]))
            return false;
    return true;
}

/* Writes M as Matrix Market text into a malloc'd string, as coordinate
 * entries (the values that are not 0) or as an array. */
static char *
write_mm(const struct la__mm_matrix *m, bool array, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    uint64_t nnz = 0;
    uint64_t r;
    uint64_t c;

    FUZZ_CHECK(f != NULL);
    for (r = 0; r < m->rows * m->cols; r++)
        nnz += m->v[r] != 0;
    fprintf(f, "%%%%MatrixMarket matrix %s real general\n",
            array ? "array" : "coordinate");
    fprintf(f, "%% written back by fuzz_mm\n");
    if (array) {
        fprintf(f, "%" PRIu64 " %" PRIu64 "\n", m->rows, m->cols);
        for (c = 0; c < m->cols; c++)
            for (r = 0; r < m->rows; r++)
                fprintf(f, "%.17g\n", m->v[r * m->cols + c]);
    } else {
        fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", m->rows, m->cols,
                nnz);
        for (r = 0; r < m->rows; r++)
            for (c = 0; c < m->cols; c++)
                if (m->v[r * m->cols + c] != 0)
                    fprintf(f, "%" PRIu64 " %" PRIu64 " %.17g\n", r + 1, c + 1,
                            m->v[r * m->cols + c]);
    }
    FUZZ_CHECK(fclose(f) == 0);
    return text;
}

/* M written back (as an array or not) parses to M again. */
static void
check_round_trip(const struct la__mm_matrix *m, bool array)
{
    struct la__mm_matrix back;
    size_t len = 0;
    char *text = write_mm(m, array, &len);

    FUZZ_CHECK(parse(text, len, &back) == 0);
    FUZZ_CHECK(back.rows == m->rows && back.cols == m->cols);
    FUZZ_CHECK(back.size_line == 3);
    FUZZ_CHECK(memcmp(back.v, m->v, m->rows * m->cols * sizeof(double)) == 0);
    la__mm_free(&back);
    free(text);
}

/* The solve task la__mtx_encode() makes of the file holding DATA, which
 * parsed to M. */
static void
check_task(const uint8_t *data, size_t size, const struct la__mm_matrix *m)
{
    struct la__mtx_system sys;
    struct tf_error err;
    struct tf_buf task;
    char path[64];
    char *slash;
    uint64_t n = 0;
    uint64_t i;
    uint64_t j;
    int rc;

    fuzz_memfile(data, size, path);
    slash = strrchr(path, '/');
    *slash = '\0';
    memset(&sys, 0, sizeof(sys));
    sys.name = slash + 1;
    tf_buf_init(&task, 0);
    tf_error_init(&err);
    rc = la__mtx_encode(path, &sys, &task, &n, &err);
    if (m->rows != m->cols) {
        FUZZ_CHECK(rc == TF_EINPUT);
        FUZZ_CHECK(strstr(err.msg, "not square") != NULL);
        tf_buf_cleanup(&task);
        return;
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(n == m->rows);
    FUZZ_CHECK(task.len == 16 + (n * n + n) * 8);
    FUZZ_CHECK(get64(task.data) == 2 && get64(task.data + 8) == n);
    for (i = 0; i < n; i++) {
        double b = 0;

        for (j = 0; j < n; j++) {
            FUZZ_CHECK(
                same_double(m->v[i * n + j], task.data + 16 + (i * n + j) * 8));
            b += m->v[i * n + j];
        }
        FUZZ_CHECK(same_double(b, task.data + 16 + (n * n + i) * 8));
    }
    tf_buf_cleanup(&task);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct la__mm_matrix m;

    if (parse((const char *)data, size, &m) != 0)
        return 0;
    if (all_finite(&m)) {
        check_round_trip(&m, false);
        if (m.rows * m.cols <= ARRAY_ELEMS)
            check_round_trip(&m, true);
    } else {
        struct la__mm_matrix back;
        size_t len = 0;
        char *text = write_mm(&m, false, &len);

        FUZZ_CHECK(parse(text, len, &back) == TF_EINPUT);
        free(text);
    }
    check_task(data, size, &m);
    la__mm_free(&m);
    return 0;
}
