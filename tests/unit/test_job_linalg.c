/* test_job_linalg.c - the linalg job: Matrix Market reader, task encoding,
 * and its task function on gemm blocks and linear systems */
#include "tf_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "linalg.h"
#include "opts.h"

/* Parses TEXT as the file "x.mtx"; returns la__mm_parse()'s code. */
static int
parse(const char *text, struct la__mm_matrix *m, struct tf_error *err)
{
    tf_error_init(err);
    return la__mm_parse("x.mtx", text, strlen(text), m, err);
}

/* Asserts that TEXT is rejected with TF_EINPUT and a message holding
 * NEEDLE. */
static void
assert_rejected(const char *text, const char *needle)
{
    struct la__mm_matrix m;
    struct tf_error err;

    assert_int_equal(parse(text, &m, &err), TF_EINPUT);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
    assert_null(m.v);
}

static void
test_mm_array_is_column_major_and_skips_comments(void **state)
{
    struct la__mm_matrix m;
    struct tf_error err;
    static const double want[] = {1, 3, 5, 2, 4, 6};
    size_t i;

    (void)state;
    assert_int_equal(parse("%%MatrixMarket matrix array real general\n"
                           "% a comment\n"
                           "\n"
                           "  %indented comment\n"
                           "2 3\n"
                           "1\n2\n"
                           "% between values\n"
                           "3 4\n"
                           "5\r\n6e0\n",
                           &m, &err),
                     0);
    assert_int_equal(m.rows, 2);
    assert_int_equal(m.cols, 3);
    assert_int_equal(m.size_line, 5);
    for (i = 0; i < 6; i++)
        assert_true(m.v[i] == want[i]);
    la__mm_free(&m);
}

static void
test_mm_coordinate_adds_duplicates_and_fills_zeros(void **state)
{
    struct la__mm_matrix m;
    struct tf_error err;

    (void)state;
    assert_int_equal(parse("%%MatrixMarket Matrix Coordinate Real General\n"
                           "%%comment\n"
                           "3 2 4\n"
                           "1 1 1.5\n"
                           "3 2 -2\n"
                           "1 1 0.25\n"
                           "2 1 7\n",
                           &m, &err),
                     0);
    assert_int_equal(m.rows, 3);
    assert_int_equal(m.cols, 2);
    assert_true(m.v[0] == 1.75);
    assert_true(m.v[1] == 0);
    assert_true(m.v[2] == 7);
    assert_true(m.v[3] == 0);
    assert_true(m.v[4] == 0);
    assert_true(m.v[5] == -2);
    la__mm_free(&m);
}

static void
test_mm_symmetric_forms_mirror_the_lower_triangle(void **state)
{
    struct la__mm_matrix m;
    struct tf_error err;

    (void)state;
    assert_int_equal(parse("%%MatrixMarket matrix coordinate integer "
                           "symmetric\n2 2 2\n1 1 3\n2 1 5\n",
                           &m, &err),
                     0);
    assert_true(m.v[0] == 3 && m.v[1] == 5 && m.v[2] == 5 && m.v[3] == 0);
    la__mm_free(&m);
    /* array: columns of the lower triangle, 1 2 3 | 4 5 | 6 */
    assert_int_equal(parse("%%MatrixMarket matrix array real symmetric\n"
                           "3 3\n1\n2\n3\n4\n5\n6\n",
                           &m, &err),
                     0);
    assert_true(m.v[0] == 1 && m.v[1] == 2 && m.v[2] == 3);
    assert_true(m.v[3] == 2 && m.v[4] == 4 && m.v[5] == 5);
    assert_true(m.v[6] == 3 && m.v[7] == 5 && m.v[8] == 6);
    la__mm_free(&m);
    assert_int_equal(parse("%%MatrixMarket matrix array real "
                           "skew-symmetric\n2 2\n4\n",
                           &m, &err),
                     0);
    assert_true(m.v[0] == 0 && m.v[1] == -4 && m.v[2] == 4 && m.v[3] == 0);
    la__mm_free(&m);
}

static void
test_mm_rejects_bad_headers_with_line_one(void **state)
{
    (void)state;
    assert_rejected("", "x.mtx:1: not a Matrix Market header");
    assert_rejected("3 3\n1\n", "x.mtx:1: not a Matrix Market header");
    assert_rejected("%%MatrixMarket vector array real general\n1 1\n1\n",
                    "x.mtx:1: not a Matrix Market header");
    assert_rejected("%%MatrixMarket matrix array real\n1 1\n1\n",
                    "x.mtx:1: the header needs FORMAT FIELD SYMMETRY");
    assert_rejected("%%MatrixMarket matrix dense real general\n1 1\n1\n",
                    "x.mtx:1: unknown format 'dense'");
    assert_rejected("%%MatrixMarket matrix array complex general\n1 1\n1 0\n",
                    "x.mtx:1: unsupported field 'complex'");
    assert_rejected("%%MatrixMarket matrix coordinate pattern general\n"
                    "1 1 1\n1 1\n",
                    "x.mtx:1: unsupported field 'pattern'");
    assert_rejected("%%MatrixMarket matrix array real hermitian\n1 1\n1\n",
                    "x.mtx:1: unsupported symmetry 'hermitian'");
}

static void
test_mm_rejects_bad_size_lines_and_counts_with_their_line(void **state)
{
    (void)state;
    assert_rejected("%%MatrixMarket matrix array real general\n%c\n",
                    "x.mtx:2: no size line");
    assert_rejected("%%MatrixMarket matrix array real general\n0 3\n",
                    "x.mtx:2: expected the size line 'ROWS COLS'");
    assert_rejected("%%MatrixMarket matrix array real general\n2 x\n",
                    "x.mtx:2: expected the size line");
    assert_rejected("%%MatrixMarket matrix coordinate real general\n2 2\n",
                    "x.mtx:2: expected the size line 'ROWS COLS ENTRIES'");
    assert_rejected("%%MatrixMarket matrix array real general\n99999 1\n",
                    "x.mtx:2: expected the size line");
    assert_rejected("%%MatrixMarket matrix coordinate real general\n"
                    "2 2 5\n",
                    "x.mtx:2: 5 entries do not fit a 2x2 matrix");
    assert_rejected("%%MatrixMarket matrix array real symmetric\n2 3\n",
                    "x.mtx:2: a symmetric matrix must be square, not 2x3");
    /* a wrong count: too few values, too few entries, too many */
    assert_rejected("%%MatrixMarket matrix array real general\n"
                    "2 2\n1\n2\n3\n",
                    "x.mtx:5: expected 4 values, found 3");
    assert_rejected("%%MatrixMarket matrix coordinate real general\n"
                    "2 2 3\n1 1 1\n2 2 1\n",
                    "x.mtx:4: expected 3 entries, found 2");
    assert_rejected("%%MatrixMarket matrix array real general\n"
                    "1 2\n1\n2\n3\n",
                    "x.mtx:5: more than the 2 values announced");
    assert_rejected("%%MatrixMarket matrix coordinate real general\n"
                    "2 2 1\n1 1 1\n2 2 2\n",
                    "x.mtx:4: more than the 1 entries announced");
}

static void
test_mm_rejects_bad_entries_with_their_line(void **state)
{
    (void)state;
    assert_rejected("%%MatrixMarket matrix array real general\n"
                    "1 2\n1\nabc\n",
                    "x.mtx:4: 'abc' is not a finite number");
    assert_rejected("%%MatrixMarket matrix array real general\n"
                    "1 1\nnan\n",
                    "x.mtx:3: 'nan' is not a finite number");
    assert_rejected("%%MatrixMarket matrix coordinate real general\n"
                    "2 2 1\n3 1 1\n",
                    "x.mtx:3: index out of range (the matrix is 2x2)");
    assert_rejected("%%MatrixMarket matrix coordinate real general\n"
                    "2 2 1\n0 1 1\n",
                    "x.mtx:3: index out of range");
    assert_rejected("%%MatrixMarket matrix coordinate real general\n"
                    "2 2 1\n1 1\n",
                    "x.mtx:3: expected an entry 'ROW COL VALUE'");
    assert_rejected("%%MatrixMarket matrix array real skew-symmetric\n"
                    "2 2\n1\n2\n",
                    "x.mtx:4: more than the 1 values announced");
}

/* ------------------------------------------------------------ files */

static char tmpdir[64];

static int
make_tmpdir(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/tf-linalg.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
remove_tmpdir(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void
write_text(const char *name, const char *text)
{
    write_file(name, text, strlen(text));
}

static void
test_gemm_file_must_hold_a_square_matrix(void **state)
{
    struct la__mm_matrix m;
    struct tf_error err;
    char path[256];
    double raw[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

    (void)state;
    write_text("rect.mtx", "%%MatrixMarket matrix array real general\n"
                           "% 2 rows, 3 columns\n2 3\n1\n2\n3\n4\n5\n6\n");
    snprintf(path, sizeof(path), "%s/rect.mtx", tmpdir);
    tf_error_init(&err);
    assert_int_equal(la__read_square(path, "--a", 0, &m, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "rect.mtx:3: --a must be square, not "
                                    "2x3"));
    /* raw doubles: the count must be a square, or n*n for a given n */
    write_file("raw9.bin", raw, sizeof(raw));
    snprintf(path, sizeof(path), "%s/raw9.bin", tmpdir);
    assert_int_equal(la__read_square(path, "--a", 0, &m, &err), 0);
    assert_int_equal(m.rows, 3);
    assert_true(m.v[5] == 6);
    la__mm_free(&m);
    assert_int_equal(la__read_square(path, "--a", 2, &m, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "raw9.bin: 9 doubles, not 2x2"));
    write_file("raw8.bin", raw, 8 * sizeof(double));
    snprintf(path, sizeof(path), "%s/raw8.bin", tmpdir);
    assert_int_equal(la__read_square(path, "--a", 0, &m, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "8 doubles do not make a square"));
    write_file("odd.bin", raw, 13);
    snprintf(path, sizeof(path), "%s/odd.bin", tmpdir);
    assert_int_equal(la__read_square(path, "--a", 0, &m, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "odd.bin: 13 bytes"));
    snprintf(path, sizeof(path), "%s/missing.bin", tmpdir);
    assert_int_equal(la__read_square(path, "--a", 0, &m, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "missing.bin: No such file"));
}

static void
test_mtx_dir_pairs_right_hand_sides_in_name_order(void **state)
{
    struct la__mtx_system *sys;
    struct tf_error err;
    uint64_t count;
    char dir[128];

    (void)state;
    snprintf(dir, sizeof(dir), "%s/ok", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_text("ok/b.mtx", "%%MatrixMarket matrix array real general\n"
                           "1 1\n2\n");
    write_text("ok/b.rhs.mtx", "%%MatrixMarket matrix array real general\n"
                               "1 1\n4\n");
    write_text("ok/a.mtx", "%%MatrixMarket matrix coordinate real general\n"
                           "2 2 2\n1 1 1\n2 2 2\n");
    write_text("ok/a_b.mtx", "%%MatrixMarket matrix array real general\n"
                             "1 2\n3\n4\n");
    write_text("ok/notes.txt", "not a matrix\n");
    tf_error_init(&err);
    assert_int_equal(la__mtx_load(dir, &sys, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_string_equal(sys[0].name, "a.mtx");
    assert_string_equal(sys[0].rhs, "a_b.mtx");
    assert_int_equal(sys[0].n, 2);
    assert_string_equal(sys[1].name, "b.mtx");
    assert_string_equal(sys[1].rhs, "b.rhs.mtx");
    assert_non_null(sys[1].payload);
    assert_int_equal(sys[1].len, 16 + 2 * 8);
    la__mtx_free(sys, count);
}

/* Non-square matrices and short right-hand sides are kept as systems that
 * fail alone, with the file and line in their message. */
static void
test_mtx_dir_marks_nonsquare_and_short_rhs_files_bad(void **state)
{
    struct la__mtx_system *sys;
    struct tf_error err;
    uint64_t count;
    char dir[128];

    (void)state;
    snprintf(dir, sizeof(dir), "%s/rect", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_text("rect/a.mtx", "%%MatrixMarket matrix array real general\n"
                             "1 1\n2\n");
    write_text("rect/r.mtx", "%%MatrixMarket matrix array real general\n"
                             "%\n2 1\n1\n2\n");
    tf_error_init(&err);
    assert_int_equal(la__mtx_load(dir, &sys, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_null(sys[0].bad);
    assert_non_null(sys[0].payload);
    assert_non_null(sys[1].bad);
    assert_null(sys[1].payload);
    assert_non_null(strstr(sys[1].bad, "rect/r.mtx:3: the matrix is 2x1, not "
                                       "square"));
    la__mtx_free(sys, count);
    snprintf(dir, sizeof(dir), "%s/rhs", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_text("rhs/a.mtx", "%%MatrixMarket matrix array real general\n"
                            "2 2\n1\n0\n0\n1\n");
    write_text("rhs/a_b.mtx", "%%MatrixMarket matrix array real general\n"
                              "3 1\n1\n2\n3\n");
    assert_int_equal(la__mtx_load(dir, &sys, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_non_null(sys[0].bad);
    assert_non_null(strstr(sys[0].bad, "rhs/a_b.mtx:2: the right-hand side is "
                                       "3x1; a.mtx is 2x2"));
    la__mtx_free(sys, count);
    snprintf(dir, sizeof(dir), "%s/empty", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(la__mtx_load(dir, &sys, &count, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "no .mtx files"));
}

/* ------------------------------------------------------------ options */

static int
init_with(const char *const *kv, struct la__state **st, struct tf_error *err)
{
    struct tf_opts opts;
    void *state = NULL;
    int rc;

    /* As the command line is read: positional arguments as they are,
     * options checked by the job's table, then the job's init. */
    tf__opts_init(&opts);
    tf_error_init(err);
    for (rc = 0; rc == 0 && kv[0] != NULL; kv += 2) {
        if (kv[0][0] >= '1' && kv[0][0] <= '9')
            assert_int_equal(tf__opts_set(&opts, kv[0], kv[1]), 0);
        else
            rc = tf__opts_add(&opts, tf_job_linalg.options, kv[0], kv[1], err);
    }
    if (rc == 0)
        rc = tf_job_linalg.init(&state, &opts, err);
    *st = state;
    return rc;
}

static void
test_init_rejects_bad_numbers_and_mixed_options(void **state)
{
    static const char *const n0[] = {"1", "gemm", "n", "0", NULL};
    static const char *const nneg[] = {"1", "gemm", "n", "-1", NULL};
    static const char *const count[] = {"1", "solve", "count", "abc",
                                        "n", "4",     NULL};
    static const char *const mixed[] = {"1", "solve", "count", "3", "n",
                                        "4", "check", "1",     NULL};
    static const char *const op[] = {"1", "gemm", "op", "solve", NULL};
    static const char *const none[] = {"n", "4", NULL};
    static const char *const nofile[] = {"1", "gemm", "a", "/nonexistent/a.bin",
                                         NULL};
    static const char *const nodir[] = {"op", "solve", "mtx", "/nonexistent",
                                        NULL};
    static const char *const good[] = {"op",    "gemm", "n", "8",
                                       "block", "3",    NULL};
    struct la__state *st;
    struct tf_error err;

    (void)state;
    assert_int_equal(init_with(n0, &st, &err), TF_EUSAGE);
    assert_string_equal(err.msg, "--n: 0 is out of range (1 to 32768)");
    assert_int_equal(init_with(nneg, &st, &err), TF_EUSAGE);
    assert_string_equal(err.msg,
                        "--n: '-1' is not a whole number (like 250, 1e6 or "
                        "10k)");
    assert_int_equal(init_with(count, &st, &err), TF_EUSAGE);
    assert_string_equal(err.msg,
                        "--count: 'abc' is not a whole number (like 250, 1e6 "
                        "or 10k)");
    assert_int_equal(init_with(mixed, &st, &err), TF_EUSAGE);
    assert_string_equal(err.msg, "--check is not an option of solve");
    assert_int_equal(init_with(op, &st, &err), TF_EUSAGE);
    assert_int_equal(init_with(none, &st, &err), TF_EUSAGE);
    assert_int_equal(init_with(nofile, &st, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "--a /nonexistent/a.bin: No such file"));
    assert_int_equal(init_with(nodir, &st, &err), TF_EINPUT);
    assert_int_equal(init_with(good, &st, &err), 0);
    assert_int_equal(st->op, LA__OP_GEMM);
    assert_int_equal(st->n, 8);
    assert_int_equal(st->block, 3);
    tf_job_linalg.fini(st);
}

/* ------------------------------------------------------------ wire */

static void
test_gemm_task_round_trips_and_rejects_bad_lengths(void **state)
{
    struct la__gemm_task t;
    struct tf_error err;
    struct tf_buf buf;
    unsigned char *p;
    size_t i;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(la__gemm_task_encode(&buf, 4, 1, 2), 0);
    assert_int_equal(buf.len, 24);
    assert_int_equal(la__gemm_task_decode(buf.data, buf.len, &t, &err), 0);
    assert_int_equal(t.first, 1);
    assert_int_equal(t.rows, 2);
    assert_int_equal(t.n, 4);
    /* every truncation and one extra byte */
    for (i = 0; i < buf.len; i++)
        assert_int_equal(la__gemm_task_decode(buf.data, i, &t, &err),
                         TF_EPROTO);
    assert_int_equal(tf_buf_append(&buf, "x", 1), 0);
    assert_int_equal(la__gemm_task_decode(buf.data, buf.len, &t, &err),
                     TF_EPROTO);
    assert_non_null(strstr(err.msg, "gemm task of 25 bytes: not the 24 of "
                                    "its header"));
    buf.len--;
    /* rows past the end, no rows, n = 0, a huge n that would overflow */
    p = buf.data;
    tf_store_u64(p, 3);
    assert_int_equal(la__gemm_task_decode(p, buf.len, &t, &err), TF_EPROTO);
    tf_store_u64(p, 0);
    tf_store_u64(p + 8, 0);
    assert_int_equal(la__gemm_task_decode(p, buf.len, &t, &err), TF_EPROTO);
    tf_store_u64(p + 8, 2);
    tf_store_u64(p + 16, 0);
    assert_int_equal(la__gemm_task_decode(p, buf.len, &t, &err), TF_EPROTO);
    tf_store_u64(p + 16, UINT64_MAX / 2);
    assert_int_equal(la__gemm_task_decode(p, buf.len, &t, &err), TF_EPROTO);
    tf_buf_cleanup(&buf);
}

static void
test_solve_task_round_trips_to_column_major(void **state)
{
    static const double a[] = {1, 2, 3, 4}; /* row-major [1 2; 3 4] */
    static const double b[] = {5, 6};
    double *ca, *cb;
    struct tf_error err;
    struct tf_buf buf;
    uint64_t n;
    size_t i;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(la__solve_task_encode(&buf, a, b, 2), 0);
    assert_int_equal(buf.len, 16 + 6 * 8);
    assert_int_equal(
        la__solve_task_decode(buf.data, buf.len, &n, &ca, &cb, &err), 0);
    assert_int_equal(n, 2);
    assert_true(ca[0] == 1 && ca[1] == 3 && ca[2] == 2 && ca[3] == 4);
    assert_true(cb[0] == 5 && cb[1] == 6);
    free(ca);
    free(cb);
    for (i = 0; i < buf.len; i++)
        assert_int_equal(la__solve_task_decode(buf.data, i, &n, &ca, &cb, &err),
                         TF_EPROTO);
    tf_store_u64(buf.data, 9);
    assert_int_equal(
        la__solve_task_decode(buf.data, buf.len, &n, &ca, &cb, &err),
        TF_EPROTO);
    tf_buf_reset(&buf);
    assert_int_equal(la__solve_task_generated(&buf, 7, 3, 5), 0);
    assert_int_equal(buf.len, 32);
    assert_int_equal(la__solve_task_decode(buf.data, 31, &n, &ca, &cb, &err),
                     TF_EPROTO);
    tf_buf_cleanup(&buf);
}

/* ------------------------------------------------------------ run() */

/* Runs the job's task function on DATA with SHARED, writable at
 * SHARED_RW (or NULL); RES is fresh. */
static int
run_task_rw(int op, const void *data, size_t len, void *shared_rw,
            const void *shared, size_t shared_len, struct tf_result *res)
{
    struct la__state st;
    struct tf_task task;

    memset(&st, 0, sizeof(st));
    st.op = op;
    memset(&task, 0, sizeof(task));
    task.id = 1;
    task.data = data;
    task.len = len;
    task.nworkers = 1;
    task.host = "test";
    task.shared = shared;
    task.shared_len = shared_len;
    task.shared_rw = shared_rw;
    memset(res, 0, sizeof(*res));
    tf_buf_init(&res->out, 0);
    tf_buf_init(&res->err, 0);
    return tf_job_linalg.run(&st, &task, res);
}

/* Runs the job's task function on DATA with SHARED; RES is fresh. */
static int
run_task(int op, const void *data, size_t len, const void *shared,
         size_t shared_len, struct tf_result *res)
{
    return run_task_rw(op, data, len, NULL, shared, shared_len, res);
}

static void
result_cleanup(struct tf_result *res)
{
    tf_buf_cleanup(&res->out);
    tf_buf_cleanup(&res->err);
}

static void
test_gemm_block_matches_a_naive_product(void **state)
{
    enum { N = 13, FIRST = 4, ROWS = 6 };
    double a[N * N], b[N * N], c[ROWS * N];
    unsigned char shared[8 + 2 * N * N * 8];
    unsigned char *odd;
    struct tf_result res;
    struct tf_buf task;
    size_t i, j, k;

    (void)state;
    la__gen_matrix(a, N, 42, LA__STREAM_GEMM_A);
    la__gen_matrix(b, N, 42, LA__STREAM_GEMM_B);
    tf_store_u64(shared, N);
    la__put_doubles(shared + 8, a, N * N);
    la__put_doubles(shared + 8 + N * N * 8, b, N * N);
    tf_buf_init(&task, 0);
    assert_int_equal(la__gemm_task_encode(&task, N, FIRST, ROWS), 0);
    assert_int_equal(run_task(LA__OP_GEMM, task.data, task.len, shared,
                              sizeof(shared), &res),
                     0);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.out.len, 24 + ROWS * N * 8);
    assert_int_equal(tf_load_u64(res.out.data), FIRST);
    assert_int_equal(tf_load_u64(res.out.data + 8), ROWS);
    assert_int_equal(tf_load_u64(res.out.data + 16), N);
    la__get_doubles(c, res.out.data + 24, ROWS * N);
    for (i = 0; i < ROWS; i++) {
        for (j = 0; j < N; j++) {
            double want = 0;

            for (k = 0; k < N; k++)
                want += a[(FIRST + i) * N + k] * b[k * N + j];
            assert_true(fabs(c[i * N + j] - want) <= 1e-13);
        }
    }
    result_cleanup(&res);

    /* Shared matrices at an odd address are copied, not read in place. */
    odd = malloc(sizeof(shared) + 1);
    assert_non_null(odd);
    memcpy(odd + 1, shared, sizeof(shared));
    assert_int_equal(run_task(LA__OP_GEMM, task.data, task.len, odd + 1,
                              sizeof(shared), &res),
                     0);
    assert_int_equal(res.status, 0);
    assert_int_equal(memcmp(res.out.data + 24, c, sizeof(c)), 0);
    result_cleanup(&res);
    free(odd);

    /* A short payload and shared matrices of another size fail the task
     * (the worker goes on), with a reason. */
    assert_int_equal(run_task(LA__OP_GEMM, task.data, task.len - 8, shared,
                              sizeof(shared), &res),
                     0);
    assert_int_not_equal(res.status, 0);
    assert_int_equal(res.out.len, 0);
    assert_non_null(strstr((char *)res.err.data, "gemm task of"));
    result_cleanup(&res);
    assert_int_equal(run_task(LA__OP_GEMM, task.data, task.len, shared,
                              sizeof(shared) - 8, &res),
                     0);
    assert_int_not_equal(res.status, 0);
    assert_non_null(strstr((char *)res.err.data, "shared A and B of"));
    result_cleanup(&res);
    assert_int_equal(run_task(LA__OP_GEMM, task.data, task.len, NULL, 0, &res),
                     0);
    assert_int_not_equal(res.status, 0);
    result_cleanup(&res);
    tf_buf_cleanup(&task);
}

/* With room for C in a share the worker can write, the rows go there and
 * the result is the header alone; the same share given read-only gets the
 * rows in the result. */
static void
test_gemm_block_goes_straight_into_a_writable_shared_c(void **state)
{
    enum { N = 11, FIRST = 3, ROWS = 5 };
    double a[N * N], b[N * N], c[ROWS * N], want[ROWS * N];
    static double shared_d[1 + 3 * N * N]; /* aligned like doubles */
    unsigned char *shared = (unsigned char *)shared_d;
    const size_t len = 8 + 3 * N * N * 8;
    struct tf_result res;
    struct tf_buf task;
    size_t i, j, k;

    (void)state;
    la__gen_matrix(a, N, 7, LA__STREAM_GEMM_A);
    la__gen_matrix(b, N, 7, LA__STREAM_GEMM_B);
    memset(shared_d, 0, sizeof(shared_d));
    tf_store_u64(shared, N);
    la__put_doubles(shared + 8, a, N * N);
    la__put_doubles(shared + 8 + N * N * 8, b, N * N);
    for (i = 0; i < ROWS; i++) {
        for (j = 0; j < N; j++) {
            want[i * N + j] = 0;
            for (k = 0; k < N; k++)
                want[i * N + j] += a[(FIRST + i) * N + k] * b[k * N + j];
        }
    }
    tf_buf_init(&task, 0);
    assert_int_equal(la__gemm_task_encode(&task, N, FIRST, ROWS), 0);
    assert_int_equal(run_task_rw(LA__OP_GEMM, task.data, task.len, shared,
                                 shared, len, &res),
                     0);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.out.len, 24);
    assert_int_equal(tf_load_u64(res.out.data), FIRST);
    la__get_doubles(c, shared + 8 + 2 * N * N * 8 + FIRST * N * 8, ROWS * N);
    for (i = 0; i < ROWS * N; i++)
        assert_true(fabs(c[i] - want[i]) <= 1e-13);
    /* Only those rows: the one before and after stay as they were. */
    for (j = 0; j < N; j++) {
        assert_true(la__get_double(shared + 8 + 2 * N * N * 8 +
                                   ((FIRST - 1) * N + j) * 8) == 0);
        assert_true(la__get_double(shared + 8 + 2 * N * N * 8 +
                                   ((FIRST + ROWS) * N + j) * 8) == 0);
    }
    result_cleanup(&res);
    assert_int_equal(
        run_task(LA__OP_GEMM, task.data, task.len, shared, len, &res), 0);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.out.len, 24 + ROWS * N * 8);
    la__get_doubles(c, res.out.data + 24, ROWS * N);
    for (i = 0; i < ROWS * N; i++)
        assert_true(fabs(c[i] - want[i]) <= 1e-13);
    result_cleanup(&res);
    tf_buf_cleanup(&task);
}

static void
test_solve_finds_x_of_a_known_system(void **state)
{
    /* [4 1; 2 3] x = [1; 2] has x = [0.1; 0.6] */
    static const double a[] = {4, 1, 2, 3};
    static const double b[] = {1, 2};
    struct tf_result res;
    struct tf_buf task;
    double x[2];

    (void)state;
    tf_buf_init(&task, 0);
    assert_int_equal(la__solve_task_encode(&task, a, b, 2), 0);
    assert_int_equal(run_task(LA__OP_SOLVE, task.data, task.len, NULL, 0, &res),
                     0);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.out.len, 16 + 2 * 8);
    assert_int_equal(tf_load_u64(res.out.data), 2);
    assert_true(la__get_double(res.out.data + 8) < 1e-15);
    la__get_doubles(x, res.out.data + 16, 2);
    assert_true(fabs(x[0] - 0.1) < 1e-15);
    assert_true(fabs(x[1] - 0.6) < 1e-15);
    result_cleanup(&res);
    tf_buf_cleanup(&task);
}

static void
test_solve_reports_a_singular_matrix_as_the_tasks_failure(void **state)
{
    static const double a[] = {1, 2, 3, 2, 4, 6, 0, 1, 1};
    static const double b[] = {1, 2, 3};
    struct tf_result res;
    struct tf_buf task;

    (void)state;
    tf_buf_init(&task, 0);
    assert_int_equal(la__solve_task_encode(&task, a, b, 3), 0);
    assert_int_equal(run_task(LA__OP_SOLVE, task.data, task.len, NULL, 0, &res),
                     0);
    assert_int_equal(res.status, 1);
    assert_int_equal(res.out.len, 0);
    assert_string_equal((char *)res.err.data, "singular matrix (U(3,3) = 0)");
    result_cleanup(&res);
    tf_buf_cleanup(&task);
}

static void
test_solve_of_an_unreadable_system_fails_with_its_message(void **state)
{
    struct tf_result res;
    struct tf_buf task;

    (void)state;
    tf_buf_init(&task, 0);
    assert_int_equal(la__solve_task_bad(&task, "d/x.mtx:4: expected 4 values"),
                     0);
    assert_int_equal(run_task(LA__OP_SOLVE, task.data, task.len, NULL, 0, &res),
                     0);
    assert_int_equal(res.status, 1);
    assert_int_equal(res.out.len, 0);
    assert_string_equal((char *)res.err.data, "d/x.mtx:4: expected 4 values");
    result_cleanup(&res);
    tf_buf_cleanup(&task);
}

static void
test_generated_systems_are_solved_to_full_accuracy(void **state)
{
    struct tf_result res;
    struct tf_buf task;
    uint64_t i;

    (void)state;
    tf_buf_init(&task, 0);
    for (i = 0; i < 4; i++) {
        tf_buf_reset(&task);
        assert_int_equal(la__solve_task_generated(&task, 1, i, 50), 0);
        assert_int_equal(
            run_task(LA__OP_SOLVE, task.data, task.len, NULL, 0, &res), 0);
        assert_int_equal(res.status, 0);
        assert_int_equal(tf_load_u64(res.out.data), 50);
        assert_true(la__get_double(res.out.data + 8) < 1e-14);
        result_cleanup(&res);
    }
    tf_buf_cleanup(&task);
}

static void
test_generated_matrices_depend_only_on_seed_and_index(void **state)
{
    double a1[9], a2[9], b1[3], b2[3], c[9];
    size_t i;
    bool differ = false;

    (void)state;
    la__gen_system(a1, b1, 3, 5, 2);
    la__gen_system(a2, b2, 3, 5, 2);
    assert_memory_equal(a1, a2, sizeof(a1));
    assert_memory_equal(b1, b2, sizeof(b1));
    la__gen_system(a2, b2, 3, 5, 3);
    la__gen_matrix(c, 3, 6, LA__STREAM_GEMM_A);
    for (i = 0; i < 9; i++) {
        differ = differ || a1[i] != a2[i];
        assert_true(c[i] >= -1 && c[i] < 1);
    }
    assert_true(differ);
    /* the diagonal carries n */
    assert_true(a1[0] > 2 && a1[4] > 2 && a1[8] > 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mm_array_is_column_major_and_skips_comments),
        cmocka_unit_test(test_mm_coordinate_adds_duplicates_and_fills_zeros),
        cmocka_unit_test(test_mm_symmetric_forms_mirror_the_lower_triangle),
        cmocka_unit_test(test_mm_rejects_bad_headers_with_line_one),
        cmocka_unit_test(
            test_mm_rejects_bad_size_lines_and_counts_with_their_line),
        cmocka_unit_test(test_mm_rejects_bad_entries_with_their_line),
        cmocka_unit_test(test_gemm_file_must_hold_a_square_matrix),
        cmocka_unit_test(test_mtx_dir_pairs_right_hand_sides_in_name_order),
        cmocka_unit_test(test_mtx_dir_marks_nonsquare_and_short_rhs_files_bad),
        cmocka_unit_test(test_init_rejects_bad_numbers_and_mixed_options),
        cmocka_unit_test(test_gemm_task_round_trips_and_rejects_bad_lengths),
        cmocka_unit_test(
            test_gemm_block_goes_straight_into_a_writable_shared_c),
        cmocka_unit_test(test_solve_task_round_trips_to_column_major),
        cmocka_unit_test(test_gemm_block_matches_a_naive_product),
        cmocka_unit_test(test_solve_finds_x_of_a_known_system),
        cmocka_unit_test(
            test_solve_reports_a_singular_matrix_as_the_tasks_failure),
        cmocka_unit_test(
            test_solve_of_an_unreadable_system_fails_with_its_message),
        cmocka_unit_test(test_generated_systems_are_solved_to_full_accuracy),
        cmocka_unit_test(test_generated_matrices_depend_only_on_seed_and_index),
    };

    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
