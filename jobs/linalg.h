/* linalg.h - what the files of the linalg job share (linalg.c, the BLAS
 * and LAPACK work, and linalg_mm.c, the matrix files); included by them and
 * the job's tests alone */
#ifndef TF_LINALG_H
#define TF_LINALG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/* Largest matrix dimension accepted anywhere: 32768^2 doubles are 8 GiB. */
#define LA__MAX_N 32768

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LA__HOST_LE 1
#else
#define LA__HOST_LE 0
#endif

enum la__op { LA__OP_GEMM = 1, LA__OP_SOLVE = 2 };

/* Parsed options; read-only once init returns, so the worker threads of the
 * loop backend may share it. */
struct la__state {
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

/* The job kind, defined in linalg.c. */
extern const struct tf_job_kind tf_job_linalg;

/* ------------------------------------------------ linalg.c: the wire */

/* Numbers on the wire are little-endian: a u64 in 8 bytes at P, a double
 * as the u64 of its bits. COUNT doubles at P go to or come from V. */
void la__put_doubles(unsigned char *p, const double *v, size_t count);
void la__get_doubles(double *v, const unsigned char *p, size_t count);
double la__get_double(const unsigned char *p);

/* One gemm task as decoded from the wire: which rows of C to make. */
struct la__gemm_task {
    uint64_t first;
    uint64_t rows;
    uint64_t n;
};

/* Appends the gemm task of rows FIRST .. FIRST+ROWS-1 of C (n x n) to
 * TASK: its header alone, as A and B are shared. Returns 0 or the tf_buf
 * error. */
int la__gemm_task_encode(struct tf_buf *task, uint64_t n, uint64_t first,
                         uint64_t rows);

/* Checks a gemm task's payload into T; TF_EPROTO with the reason in ERR
 * otherwise. */
int la__gemm_task_decode(const void *data, size_t len, struct la__gemm_task *t,
                         struct tf_error *err);

/* Appends a solve task for the system A (row-major n x n) and b. Returns 0
 * or the tf_buf error. */
int la__solve_task_encode(struct tf_buf *task, const double *a, const double *b,
                          uint64_t n);

/* Appends the solve task of generated system INDEX of order N under SEED,
 * which the worker makes itself. */
int la__solve_task_generated(struct tf_buf *task, uint64_t seed, uint64_t index,
                             uint64_t n);

/* Appends the task of a system that could not be read: it fails with MSG. */
int la__solve_task_bad(struct tf_buf *task, const char *msg);

/*
 * Decodes a solve task into A (column-major, for LAPACK) and b, both
 * allocated here (the caller frees them); TF_EPROTO for a bad payload,
 * TF_ENOMEM.
 */
int la__solve_task_decode(const void *data, size_t len, uint64_t *n_out,
                          double **a_out, double **b_out, struct tf_error *err);

/* ---------------------------------------- linalg.c: random matrices */

/* The streams of generated matrices under a seed, one per matrix. */
#define LA__STREAM_GEMM_A 1
#define LA__STREAM_GEMM_B 2
#define LA__STREAM_SOLVE(index) (3 + 2 * (index)) /* A; b is the next one */

/* Fills M (row-major n x n) from stream STREAM under SEED: the same
 * matrix whoever makes it, in whatever order. */
void la__gen_matrix(double *m, uint64_t n, uint64_t seed, uint64_t stream);

/*
 * Generated system INDEX: A in column-major order (uniform plus n on the
 * diagonal, so strictly diagonally dominant and well conditioned) and b.
 */
void la__gen_system(double *a_col, double *b, uint64_t n, uint64_t seed,
                    uint64_t index);

/* ---------------------------------------- linalg_mm.c: matrix files */

/* A matrix read from a file: row-major, with where its size was given. */
struct la__mm_matrix {
    uint64_t rows;
    uint64_t cols;
    double *v;          /* owned: rows * cols */
    uint64_t size_line; /* line of the size line; 0 for raw files */
};

/* Frees M's values; M may be zeroed or freed already. */
void la__mm_free(struct la__mm_matrix *m);

/*
 * Parses the Matrix Market text TEXT of LEN bytes (NAME for messages):
 * "matrix array" or "matrix coordinate", real or integer, general, symmetric
 * or skew-symmetric, of 1 to LA__MAX_N rows and columns. Each value must
 * be a finite number; coordinate entries given twice add up. On success
 * fills M
 * (the caller frees it with la__mm_free()); else M holds no memory and it
 * returns TF_EINPUT with ERR as "NAME:LINE: reason", or TF_ENOMEM.
 */
int la__mm_parse(const char *name, const char *text, size_t len,
                 struct la__mm_matrix *m, struct tf_error *err);

/*
 * Reads a square matrix for gemm from PATH: Matrix Market when the text
 * starts with its banner, else raw little-endian doubles (n*n of them; N,
 * when not 0, says how many). WHAT ("--a") names it in messages. Returns
 * 0, TF_EINPUT or TF_ENOMEM.
 */
int la__read_square(const char *path, const char *what, uint64_t n,
                    struct la__mm_matrix *m, struct tf_error *err);

/* One system of --mtx. */
struct la__mtx_system {
    char *name; /* owned: the matrix's file name */
    char *rhs;  /* owned: its right-hand side's, or NULL */
    uint64_t n;
    unsigned char *payload; /* owned: the encoded task, or NULL to re-read */
    size_t len;
    char *bad; /* owned: why it cannot be read, or NULL */
};

/*
 * Reads system SYS of DIR and encodes its task into TASK: the matrix, which
 * must be square, and its right-hand side (a vector of n entries), or
 * b = A * ones; sets *N_OUT to its order. Returns 0, TF_EINPUT or TF_ESYS
 * with ERR naming the file, or TF_ENOMEM.
 */
int la__mtx_encode(const char *dir, const struct la__mtx_system *sys,
                   struct tf_buf *task, uint64_t *n_out, struct tf_error *err);

/*
 * Lists the systems of DIR in name order (NAME_b.mtx and NAME.rhs.mtx are
 * right-hand sides when NAME.mtx is there) and checks every file, so that
 * a bad one stops the run before any task: on the master, before the pool
 * runs anything. A system that cannot be read has its reason in `bad`.
 * Sets *OUT (free it with la__mtx_free()) and *COUNT_OUT; returns 0, or
 * TF_EINPUT or TF_ENOMEM with ERR.
 */
int la__mtx_load(const char *dir, struct la__mtx_system **out,
                 uint64_t *count_out, struct tf_error *err);

/* Frees the COUNT systems SYS; NULL is a no-op. */
void la__mtx_free(struct la__mtx_system *sys, uint64_t count);

#endif /* TF_LINALG_H */
