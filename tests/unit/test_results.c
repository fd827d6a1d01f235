/* test_results.c - unit tests of the results file and `taskfarm results` */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "results.h"
#include "tool_results.h"
#include "util.h"
#include "tf_test.h"

/* ------------------------------------------------------------- helpers */

/* A fresh path for a file that does not exist yet (PATH: 40 bytes). */
static void
temp_path(char *path)
{
    tf_test_temp_path(path, "results");
}

static uint64_t
file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Record number I of the tests: every field varies, with empty strings,
 * NUL bytes, binary data, extreme numbers and one 1.5 MiB output. */
struct gen {
    struct tf__result_rec rec;
    char host[32];
    unsigned char cmd[80];
    unsigned char err[8];
    unsigned char *out; /* owned */
};

static void
gen(int i, struct gen *g)
{
    size_t k;
    size_t n;

    memset(g, 0, sizeof(*g));
    g->rec.id = i == 9 ? UINT64_MAX : (uint64_t)i + 1;
    g->rec.status = i % 7 == 0 ? -1 : i % 256;
    g->rec.signal = i % 5 == 0 ? 9 : 0;
    g->rec.flags = (uint32_t)i % 4;
    g->rec.attempt = 1 + (uint32_t)i % 3;
    g->rec.worker = i % 17 - 1;
    g->rec.start_us = i == 3   ? INT64_MIN
                      : i == 4 ? INT64_MAX
                               : 1700000000000000 + i;
    g->rec.runtime_us = i == 5 ? UINT64_MAX : (uint64_t)i * 1000;
    g->rec.cpu_us = i == 6 ? UINT64_MAX : (uint64_t)i * 999 + 1;
    g->rec.peak_bytes = i == 7 ? UINT64_MAX : (uint64_t)i << 20;
    if (i % 11 == 10)
        g->rec.flags |= TF__REC_OOM;
    if (i % 3 != 0)
        snprintf(g->host, sizeof(g->host), "node%d", i);
    g->rec.host = g->host;
    g->rec.host_len = strlen(g->host);
    switch (i % 4) {
    case 0:
        n = 0;
        break;
    case 1:
        n = 11;
        memcpy(g->cmd, "echo \t\n\\ x", n);
        break;
    case 2:
        n = (size_t)i % 50;
        for (k = 0; k < n; k++)
            g->cmd[k] = k % 3 == 0 ? 0 : (unsigned char)(k * 31 + (size_t)i);
        break;
    default:
        n = (size_t)snprintf((char *)g->cmd, sizeof(g->cmd), "task %d", i);
        break;
    }
    g->rec.cmd = g->cmd;
    g->rec.cmd_len = n;
    g->rec.hash = tf__task_hash(g->cmd, n);
    n = i == 50 ? (size_t)1536 * 1024 : (size_t)(i * 37) % 3000;
    g->out = malloc(n + 1);
    assert_non_null(g->out);
    for (k = 0; k < n; k++)
        g->out[k] = (unsigned char)((size_t)i * 7 + k * 13);
    g->rec.out = g->out;
    g->rec.out_len = n;
    n = (size_t)i % 5;
    for (k = 0; k < n; k++)
        g->err[k] = k == 1 ? 0 : 'e';
    g->rec.err = g->err;
    g->rec.err_len = n;
}

static void
gen_free(struct gen *g)
{
    free(g->out);
}

/* The layout of a record: head, fixed part of the body (versions 1, 2
 * and 3), the four string lengths, CRC. */
#define REC_HDR 12
#define FIXED_V1 56
#define FIXED_V2 80
#define FIXED_V3 96
#define REC_CRC 4
#define BODY_MIN_V3 (FIXED_V3 + 4 * 4)

/* Bytes a version 3 record with strings of N bytes in all takes. */
static uint64_t
rec_bytes(size_t n)
{
    return REC_HDR + BODY_MIN_V3 + n + REC_CRC;
}

/* Bytes record number I takes in the file. */
static uint64_t
gen_bytes(int i)
{
    struct gen g;
    uint64_t n;

    gen(i, &g);
    n = rec_bytes(g.rec.host_len + g.rec.cmd_len + g.rec.out_len +
                  g.rec.err_len);
    gen_free(&g);
    return n;
}

/* The total a reader reports for a stream of N bytes of which the writer
 * was given TOTAL: the larger. */
static uint64_t
total_of(uint64_t total, size_t n)
{
    return total > n ? total : (uint64_t)n;
}

/* Checks A, as read back, is B, as written (without pieces) in the
 * current format. */
static void
assert_rec_equal(const struct tf__result_rec *a, const struct tf__result_rec *b)
{
    assert_true(a->cpu_us == b->cpu_us);
    assert_true(a->peak_bytes == b->peak_bytes);
    assert_int_equal(a->kind, b->kind);
    assert_true(a->id == b->id);
    assert_true(a->hash == b->hash);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->signal, b->signal);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->attempt, b->attempt);
    assert_int_equal(a->worker, b->worker);
    assert_true(a->start_us == b->start_us);
    assert_true(a->runtime_us == b->runtime_us);
    assert_true(a->out_end == b->out_end);
    assert_true(a->out_total == total_of(b->out_total, b->out_len));
    assert_true(a->err_total == total_of(b->err_total, b->err_len));
    assert_int_equal(a->host_len, b->host_len);
    assert_int_equal(a->cmd_len, b->cmd_len);
    assert_int_equal(a->out_len, b->out_len);
    assert_int_equal(a->err_len, b->err_len);
    if (a->host_len > 0)
        assert_memory_equal(a->host, b->host, a->host_len);
    if (a->cmd_len > 0)
        assert_memory_equal(a->cmd, b->cmd, a->cmd_len);
    if (a->out_len > 0)
        assert_memory_equal(a->out, b->out, a->out_len);
    if (a->err_len > 0)
        assert_memory_equal(a->err, b->err, a->err_len);
}

/* Appends records WANT[0..N) to PATH (created when missing). */
static void
add_gen(const char *path, const int *want, size_t n)
{
    struct tf__results *r;
    struct tf_error err;
    size_t i;

    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    for (i = 0; i < n; i++) {
        struct gen g;

        gen(want[i], &g);
        assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
        gen_free(&g);
    }
    assert_int_equal(tf__results_close(r, &err), 0);
}

/* A reader callback that checks each record is the next of WANT, written
 * in the format versions VERSIONS says (NULL: the current one). */
struct check {
    const int *want;
    size_t nwant;
    size_t seen;
    const int *versions;
};

static int
check_rec(void *arg, const struct tf__result_rec *rec)
{
    struct check *c = arg;
    struct gen g;

    if (c->seen >= c->nwant)
        fail_msg("more records than the %zu expected", c->nwant);
    gen(c->want[c->seen], &g);
    /* Older formats have no CPU time or peak memory: they read as 0. */
    if (c->versions != NULL && c->versions[c->seen] < 3)
        g.rec.cpu_us = g.rec.peak_bytes = 0;
    assert_rec_equal(rec, &g.rec);
    gen_free(&g);
    c->seen++;
    return 0;
}

/* Reads PATH and checks it holds exactly records WANT[0..N), of format
 * versions VERSIONS[0..N) (NULL: the current one), and TAIL ignored
 * bytes. */
static void
read_is_of(const char *path, const int *want, const int *versions, size_t n,
           uint64_t tail)
{
    struct check c = {want, n, 0, versions};
    struct tf_error err;
    uint64_t got_tail = UINT64_MAX;
    int rc;

    tf_error_init(&err);
    rc = tf__results_read(path, check_rec, &c, &got_tail, &err);
    if (rc != 0)
        fail_msg("reading %s: %d %s", path, rc, err.msg);
    assert_int_equal(c.seen, n);
    if (got_tail != tail)
        fail_msg("%s: tail of %" PRIu64 " bytes, expected %" PRIu64, path,
                 got_tail, tail);
}

static void
read_is(const char *path, const int *want, size_t n, uint64_t tail)
{
    read_is_of(path, want, NULL, n, tail);
}

static int
count_rec(void *arg, const struct tf__result_rec *rec)
{
    (void)rec;
    (*(size_t *)arg)++;
    return 0;
}

static void
buf_is(const struct tf_buf *b, const void *want, size_t n)
{
    if (b->len != n || (n > 0 && memcmp(b->data, want, n) != 0))
        fail_msg("got %zu bytes:\n%.*s\nexpected %zu bytes:\n%.*s", b->len,
                 (int)b->len, b->data ? (const char *)b->data : "", n, (int)n,
                 (const char *)want);
}

static void
buf_is_str(const struct tf_buf *b, const char *want)
{
    buf_is(b, want, strlen(want));
}

/* Exactly one line. */
static void
one_line(const struct tf_buf *b)
{
    assert_true(b->len > 0);
    assert_int_equal(b->data[b->len - 1], '\n');
    assert_null(memchr(b->data, '\n', b->len - 1));
}

/* ------------------------------------------------------ hash and CRC */

static void
test_task_hash_is_fnv1a_64(void **state)
{
    (void)state;
    assert_true(tf__task_hash("", 0) == 0xcbf29ce484222325u);
    assert_true(tf__task_hash("a", 1) == 0xaf63dc4c8601ec8cu);
    assert_true(tf__task_hash("foobar", 6) == 0x85944171f73967e8u);
}

/* Bit by bit, as the definition reads. */
static uint32_t
crc32c_bitwise(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
    }
    return ~crc;
}

static void
test_crc32c_is_castagnoli_and_continues_across_pieces(void **state)
{
    unsigned char b[1100];
    size_t i;

    (void)state;
    assert_int_equal(tf__crc32c(0, "123456789", 9), 0xe3069283u);
    /* The test vectors of RFC 3720, B.4. */
    memset(b, 0, 32);
    assert_int_equal(tf__crc32c(0, b, 32), 0x8a9136aau);
    memset(b, 0xff, 32);
    assert_int_equal(tf__crc32c(0, b, 32), 0x62a8ab43u);
    for (i = 0; i < 32; i++)
        b[i] = (unsigned char)i;
    assert_int_equal(tf__crc32c(0, b, 32), 0x46dd794eu);
    for (i = 0; i < sizeof(b); i++)
        b[i] = (unsigned char)(i * 131 + 7);
    for (i = 0; i < 16; i++)
        assert_int_equal(tf__crc32c(0, b + i, sizeof(b) - 16),
                         crc32c_bitwise(b + i, sizeof(b) - 16));
    for (i = 0; i <= sizeof(b); i += 7)
        assert_int_equal(tf__crc32c(tf__crc32c(0, b, i), b + i, sizeof(b) - i),
                         crc32c_bitwise(b, sizeof(b)));
}

/* ------------------------------------------------------- file format */

/* The format's integers, read as a reader of the file would. */
#define le32 tf__load_u32
#define le64 tf__load_u64

static void
test_file_has_the_documented_header_and_record_layout(void **state)
{
    static const unsigned char header[16] = "TFRESULT\3\0\0\0\0\0\0\0";
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error err;
    struct tf_buf f;
    unsigned char check[16];
    const unsigned char *p;
    const unsigned char *b;
    char path[40];
    size_t n;

    (void)state;
    temp_path(path);
    memset(&rec, 0, sizeof(rec));
    rec.id = 0x0102030405060708u;
    rec.hash = tf__task_hash("ls", 2);
    rec.status = -1;
    rec.signal = 15;
    rec.flags = TF__REC_TIMEOUT | TF__REC_LOST | TF__REC_EMITTED | TF__REC_OOM;
    rec.attempt = 2;
    rec.worker = 7;
    rec.start_us = -5;
    rec.runtime_us = 0xa0b0c0d0e0f00010u;
    rec.out_end = 0x1112131415161718u;
    rec.cpu_us = 0x2122232425262728u;
    rec.peak_bytes = 0x3132333435363738u;
    rec.err_total = 9; /* more than its 0 bytes: kept */
    rec.host = "h1";
    rec.host_len = 2;
    rec.cmd = "ls";
    rec.cmd_len = 2;
    rec.out = "x\n";
    rec.out_len = 2;
    rec.err = "";
    rec.err_len = 0;
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);

    tf_buf_init(&f, 0);
    tf_test_slurp(path, &f);
    n = 96 + 4 + 2 + 4 + 2 + 4 + 2 + 4;
    assert_int_equal(f.len, 16 + 12 + n + 4);
    assert_memory_equal(f.data, header, 16);
    p = f.data + 16;
    assert_memory_equal(p, "TFR\x20", 4);
    assert_int_equal(le32(p + 4), n);
    memcpy(check, "\x10\0\0\0\0\0\0\0", 8); /* the offset, 16 */
    memcpy(check + 8, p, 8);
    assert_int_equal(le32(p + 8), tf__crc32c(0, check, 16));
    b = p + 12;
    assert_true(le64(b) == rec.id);
    assert_true(le64(b + 8) == rec.hash);
    assert_int_equal(le32(b + 16), 0xffffffffu);
    assert_int_equal(le32(b + 20), 15);
    assert_int_equal(le32(b + 24), 23);
    assert_int_equal(le32(b + 28), 2);
    assert_int_equal(le32(b + 32), 7);
    assert_int_equal(le32(b + 36), TF__REC_TASK); /* the kind */
    assert_true(le64(b + 40) == (uint64_t)-5);
    assert_true(le64(b + 48) == rec.runtime_us);
    assert_true(le64(b + 56) == rec.out_end);
    /* Totals: at least the bytes the record holds. */
    assert_true(le64(b + 64) == 2);
    assert_true(le64(b + 72) == 9);
    assert_true(le64(b + 80) == rec.cpu_us);
    assert_true(le64(b + 88) == rec.peak_bytes);
    assert_memory_equal(b + 96, "\2\0\0\0h1\2\0\0\0ls\2\0\0\0x\n\0\0\0\0", 22);
    assert_int_equal(le32(b + n), tf__crc32c(0, b, n));
    tf_buf_cleanup(&f);
    unlink(path);
}

/* ---------------------------------------------------------- round trip */

static void
test_round_trip_of_many_records_with_odd_contents(void **state)
{
    int want[300];
    char path[40];
    uint64_t size = 16;
    size_t i;

    (void)state;
    for (i = 0; i < 300; i++) {
        want[i] = (int)i;
        size += gen_bytes((int)i);
    }
    temp_path(path);
    add_gen(path, want, 300);
    assert_true(file_size(path) == size);
    read_is(path, want, 300, 0);
    unlink(path);
}

static void
test_reopen_appends_after_existing_records(void **state)
{
    static const int first[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const int second[] = {10, 11, 12, 50, 13};
    static const int all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 50, 13};
    char path[40];

    (void)state;
    temp_path(path);
    add_gen(path, first, 10);
    read_is(path, first, 10, 0);
    add_gen(path, second, 5);
    read_is(path, all, 15, 0);
    /* Opening and closing without records changes nothing. */
    add_gen(path, NULL, 0);
    read_is(path, all, 15, 0);
    unlink(path);
}

static void
test_empty_and_header_only_files_have_no_records(void **state)
{
    static const int one[] = {1};
    char path[40];

    (void)state;
    temp_path(path);
    tf_test_write_file(path, "", 0);
    read_is(path, NULL, 0, 0);
    /* An empty file is taken over: it gets a header. */
    add_gen(path, NULL, 0);
    assert_true(file_size(path) == 16);
    read_is(path, NULL, 0, 0);
    add_gen(path, one, 1);
    read_is(path, one, 1, 0);
    unlink(path);
}

/* --------------------------------------------------- torn and corrupt */

static void
test_file_cut_anywhere_in_its_last_record_reads_the_records_before(void **state)
{
    static const int three[] = {1, 2, 7};
    static const int after[] = {1, 2, 11};
    struct tf_buf f;
    char path[40];
    char cut_path[40];
    uint64_t last;
    size_t cut;

    (void)state;
    temp_path(path);
    temp_path(cut_path);
    add_gen(path, three, 3);
    tf_buf_init(&f, 0);
    tf_test_slurp(path, &f);
    last = 16 + gen_bytes(1) + gen_bytes(2);
    assert_true(f.len == last + gen_bytes(7));
    for (cut = (size_t)last; cut < f.len; cut++) {
        tf_test_write_file(cut_path, f.data, cut);
        read_is(cut_path, three, 2, cut - last);
        /* Opening it to append drops the torn piece, and a new record
         * follows the last whole one. */
        add_gen(cut_path, after + 2, 1);
        assert_true(file_size(cut_path) == last + gen_bytes(11));
        read_is(cut_path, after, 3, 0);
    }
    tf_buf_cleanup(&f);
    unlink(path);
    unlink(cut_path);
}

static void
test_file_cut_inside_its_header_has_no_records(void **state)
{
    static const int one[] = {4};
    struct tf_buf f;
    char path[40];
    char cut_path[40];
    size_t cut;

    (void)state;
    temp_path(path);
    temp_path(cut_path);
    add_gen(path, one, 1);
    tf_buf_init(&f, 0);
    tf_test_slurp(path, &f);
    for (cut = 1; cut < 16; cut++) {
        tf_test_write_file(cut_path, f.data, cut);
        read_is(cut_path, NULL, 0, cut);
        add_gen(cut_path, one, 1);
        assert_true(file_size(cut_path) == f.len);
        read_is(cut_path, one, 1, 0);
    }
    tf_buf_cleanup(&f);
    unlink(path);
    unlink(cut_path);
}

/* A log function that keeps what it is given, a line a message. */
static void
log_into(void *arg, int level, int worker, const char *msg)
{
    struct tf_buf *b = arg;

    tf_buf_printf(b, "%d %d %s\n", level, worker, msg);
}

static void
test_open_warns_when_it_drops_a_torn_tail(void **state)
{
    static const int two[] = {1, 2};
    struct tf__results *r;
    struct tf_error err;
    struct tf_buf f;
    struct tf_buf said;
    char path[40];
    char want[200];

    (void)state;
    temp_path(path);
    add_gen(path, two, 2);
    tf_buf_init(&f, 0);
    tf_buf_init(&said, 0);
    tf_test_slurp(path, &f);
    tf_test_write_file(path, f.data, f.len - 1);
    /* The library says it through the log it was given, and only so. */
    tf__log_set(log_into, &said);
    tf__log_set_level(TF_LOG_WARN);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    tf__log_set(NULL, NULL);
    tf__log_set_level(TF_LOG_ERROR);
    assert_int_equal(tf__results_close(r, &err), 0);
    snprintf(want, sizeof(want),
             "%d -1 %s: dropped the last %" PRIu64 " bytes, a record cut "
             "short when an earlier run was killed\n",
             TF_LOG_WARN, path, gen_bytes(2) - 1);
    buf_is_str(&said, want);
    read_is(path, two, 1, 0);
    tf_buf_cleanup(&f);
    tf_buf_cleanup(&said);
    unlink(path);
}

static void
test_flipped_byte_in_a_middle_record_is_einput_naming_its_offset(void **state)
{
    static const int three[] = {1, 2, 7};
    struct tf__results *r;
    struct tf_error err;
    struct tf_buf f;
    struct tf_buf after;
    char path[40];
    char bad_path[40];
    char where[64];
    uint64_t mid;
    uint64_t last;
    size_t i;

    (void)state;
    temp_path(path);
    temp_path(bad_path);
    add_gen(path, three, 3);
    tf_buf_init(&f, 0);
    tf_buf_init(&after, 0);
    tf_test_slurp(path, &f);
    mid = 16 + gen_bytes(1);
    last = mid + gen_bytes(2);
    snprintf(where, sizeof(where), "corrupt record at byte %" PRIu64, mid);
    for (i = (size_t)mid; i < last; i++) {
        size_t calls = 0;
        uint64_t tail = 12345;

        f.data[i] ^= 0x5a;
        tf_test_write_file(bad_path, f.data, f.len);
        f.data[i] ^= 0x5a;
        tf_error_init(&err);
        assert_int_equal(
            tf__results_read(bad_path, count_rec, &calls, &tail, &err),
            TF_EINPUT);
        assert_int_equal(err.code, TF_EINPUT);
        assert_non_null(strstr(err.msg, bad_path));
        if (strstr(err.msg, where) == NULL)
            fail_msg("flip at %zu: '%s' lacks '%s'", i, err.msg, where);
        /* The whole file is checked before any record is handed out. */
        assert_int_equal(calls, 0);
        assert_int_equal(tail, 12345);
        /* Appending to it is refused, and it is left as it was. */
        r = (struct tf__results *)&r;
        assert_int_equal(tf__results_open(bad_path, 0, &r, &err), TF_EINPUT);
        assert_null(r);
        assert_non_null(strstr(err.msg, where));
        tf_test_slurp(bad_path, &after);
        assert_int_equal(after.len, f.len);
        assert_int_equal(after.data[i], f.data[i] ^ 0x5a);
    }
    tf_buf_cleanup(&f);
    tf_buf_cleanup(&after);
    unlink(path);
    unlink(bad_path);
}

static void
test_flipped_byte_in_the_last_record_is_a_torn_tail(void **state)
{
    static const int three[] = {1, 2, 7};
    struct tf_buf f;
    char path[40];
    char bad_path[40];
    uint64_t last;
    size_t i;

    (void)state;
    temp_path(path);
    temp_path(bad_path);
    add_gen(path, three, 3);
    tf_buf_init(&f, 0);
    tf_test_slurp(path, &f);
    last = 16 + gen_bytes(1) + gen_bytes(2);
    for (i = (size_t)last; i < f.len; i++) {
        f.data[i] ^= 0x01;
        tf_test_write_file(bad_path, f.data, f.len);
        f.data[i] ^= 0x01;
        read_is(bad_path, three, 2, f.len - last);
    }
    /* Opening it to append cuts the bad record off. */
    add_gen(bad_path, NULL, 0);
    assert_true(file_size(bad_path) == last);
    read_is(bad_path, three, 2, 0);
    tf_buf_cleanup(&f);
    unlink(path);
    unlink(bad_path);
}

static void
test_record_inside_a_task_output_is_not_taken_for_a_record(void **state)
{
    static const int inner_recs[] = {1, 2, 3, 4};
    static const int first[] = {5};
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error err;
    struct tf_buf inner;
    struct tf_buf f;
    char inner_path[40];
    char path[40];
    char cut_path[40];
    size_t calls = 0;
    uint64_t start;
    uint64_t inner_at;
    size_t cut;

    (void)state;
    temp_path(inner_path);
    temp_path(path);
    temp_path(cut_path);
    add_gen(inner_path, inner_recs, 4);
    tf_buf_init(&inner, 0);
    tf_buf_init(&f, 0);
    tf_test_slurp(inner_path, &inner);

    /* A task whose output is a whole results file. */
    add_gen(path, first, 1);
    memset(&rec, 0, sizeof(rec));
    rec.id = 6;
    rec.cmd = "cat r";
    rec.cmd_len = 5;
    rec.out = inner.data;
    rec.out_len = inner.len;
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    assert_int_equal(tf__results_read(path, count_rec, &calls, NULL, &err), 0);
    assert_int_equal(calls, 2);

    /* Cut short (or damaged) anywhere in the records inside it or after
     * them, it is still a torn tail: they are not at the offsets they were
     * written for. */
    tf_test_slurp(path, &f);
    start = 16 + gen_bytes(5);
    /* Its stdout follows the fixed part, the host, and the command. */
    inner_at = start + REC_HDR + FIXED_V3 + 4 + 0 + 4 + 5 + 4;
    assert_true(f.len == inner_at + inner.len + 4 + REC_CRC);
    assert_memory_equal(f.data + inner_at, inner.data, inner.len);
    for (cut = (size_t)inner_at + 16; cut < f.len; cut++) {
        tf_test_write_file(cut_path, f.data, cut);
        read_is(cut_path, first, 1, cut - start);
    }
    f.data[f.len - 1] ^= 0xff;
    tf_test_write_file(cut_path, f.data, f.len);
    read_is(cut_path, first, 1, f.len - start);
    tf_buf_cleanup(&inner);
    tf_buf_cleanup(&f);
    unlink(inner_path);
    unlink(path);
    unlink(cut_path);
}

/* The last byte of the magic of a record of versions 1, 2 and 3. */
#define MAGIC_V1 0x1e
#define MAGIC_V2 0x1f
#define MAGIC_V3 0x20

/* Appends to F a record at offset F->len with the magic "TFR" VERSION_BYTE,
 * the N body bytes at BODY and right header check and CRC, whatever the
 * body holds. */
static void
put_record(struct tf_buf *f, unsigned char version_byte,
           const unsigned char *body, size_t n)
{
    unsigned char h[16];
    unsigned char crc[4];
    uint64_t off = f->len;
    uint32_t v;
    int i;

    for (i = 0; i < 8; i++)
        h[i] = (unsigned char)(off >> (8 * i));
    memcpy(h + 8, "TFR", 3);
    h[11] = version_byte;
    for (i = 0; i < 4; i++)
        h[12 + i] = (unsigned char)(n >> (8 * i));
    v = tf__crc32c(0, h, 16);
    assert_int_equal(tf_buf_append(f, h + 8, 8), 0);
    for (i = 0; i < 4; i++)
        crc[i] = (unsigned char)(v >> (8 * i));
    assert_int_equal(tf_buf_append(f, crc, 4), 0);
    assert_int_equal(tf_buf_append(f, body, n), 0);
    v = tf__crc32c(0, body, n);
    for (i = 0; i < 4; i++)
        crc[i] = (unsigned char)(v >> (8 * i));
    assert_int_equal(tf_buf_append(f, crc, 4), 0);
}

static void
test_record_with_right_checksums_but_a_bad_body_is_not_read(void **state)
{
    static const int recs[] = {1, 2};
    struct tf_buf f;
    struct tf_buf body;
    char path[40];
    uint64_t first_end;
    size_t n;
    int which;

    (void)state;
    temp_path(path);
    add_gen(path, recs, 2);
    tf_buf_init(&f, 0);
    tf_buf_init(&body, 0);
    tf_test_slurp(path, &f);
    first_end = 16 + gen_bytes(1);
    n = (size_t)(gen_bytes(2) - 16);
    for (which = 0; which < 6; which++) {
        size_t len = n;

        /* Record 2's body, and a spare zero byte after it. */
        tf_test_slurp(path, &f);
        tf_buf_reset(&body);
        assert_int_equal(tf_buf_append(&body, f.data + first_end + 12, n), 0);
        assert_int_equal(tf_buf_append(&body, "", 1), 0);
        if (which == 1)
            len = n + 1; /* a byte after the last string */
        else if (which == 2)
            body.data[n - 2 - 4] += 1; /* stderr ("e\0") overruns */
        else if (which == 3)
            body.data[FIXED_V3 + 3] = 0x80; /* the host overruns */
        else if (which == 4)
            len = FIXED_V3 + 15; /* too short for four lengths */
        else if (which == 5)
            body.data[36] = 3; /* a kind after TF__REC_MARK */
        f.len = (size_t)first_end;
        put_record(&f, MAGIC_V3, body.data, len);
        tf_test_write_file(path, f.data, f.len);
        if (which == 0)
            read_is(path, recs, 2, 0); /* as written: read */
        else
            read_is(path, recs, 1, f.len - first_end);
    }
    tf_buf_cleanup(&f);
    tf_buf_cleanup(&body);
    unlink(path);
}

static void
test_not_a_results_file_is_einput(void **state)
{
    static const char text[] = "echo hello\necho world, a task file\n";
    unsigned char v4[16] = "TFRESULT\4\0\0\0\0\0\0\0";
    unsigned char v0[16] = "TFRESULT\0\0\0\0\0\0\0\0";
    struct tf__results *r;
    struct tf_error err;
    struct tf_buf f;
    char path[40];
    size_t calls = 0;

    (void)state;
    temp_path(path);
    tf_buf_init(&f, 0);
    tf_test_write_file(path, text, sizeof(text) - 1);
    tf_error_init(&err);
    assert_int_equal(tf__results_read(path, count_rec, &calls, NULL, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "not a taskfarm results file"));
    /* Opening it to append refuses and leaves it alone. */
    assert_int_equal(tf__results_open(path, 0, &r, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "not a taskfarm results file"));
    tf_test_slurp(path, &f);
    assert_int_equal(f.len, sizeof(text) - 1);
    assert_memory_equal(f.data, text, f.len);
    /* Shorter than a header, and not the start of one. */
    tf_test_write_file(path, "TFRX", 4);
    assert_int_equal(tf__results_read(path, count_rec, &calls, NULL, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, "not a taskfarm results file"));
    /* A later version of the format, and none. */
    tf_test_write_file(path, v4, sizeof(v4));
    assert_int_equal(tf__results_read(path, count_rec, &calls, NULL, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, "version 4"));
    assert_non_null(strstr(err.msg, "versions 1 to 3"));
    assert_int_equal(tf__results_open(path, 0, &r, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "version 4"));
    tf_test_write_file(path, v0, sizeof(v0));
    assert_int_equal(tf__results_read(path, count_rec, &calls, NULL, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, "version 0"));
    assert_int_equal(calls, 0);
    unlink(path);
    /* Missing, and a directory. */
    assert_int_equal(tf__results_read(path, count_rec, &calls, NULL, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));
    assert_int_equal(tf__results_read("/tmp", count_rec, &calls, NULL, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, "/tmp: not a regular file"));
    tf_buf_cleanup(&f);
}

/* Stops the scan at the third record with 7. */
static int
stop_at_third(void *arg, const struct tf__result_rec *rec)
{
    size_t *n = arg;

    (void)rec;
    return ++*n == 3 ? 7 : 0;
}

static void
test_callback_return_value_stops_the_scan(void **state)
{
    static const int five[] = {1, 2, 3, 4, 5};
    struct tf_error err;
    char path[40];
    size_t n = 0;

    (void)state;
    temp_path(path);
    add_gen(path, five, 5);
    tf_error_init(&err);
    assert_int_equal(tf__results_read(path, stop_at_third, &n, NULL, &err), 7);
    assert_int_equal(n, 3);
    unlink(path);
}

/* -------------------------------------------------------- mutations */

/* xorshift64*: the same sequence on every run. */
static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1du;
}

/* Records delivered from a damaged file are always a prefix of those
 * written, and the tail is what follows the last of them. */
struct prefix {
    const int *want;
    size_t nwant;
    size_t seen;
    uint64_t end; /* offset after the last record seen */
};

static int
prefix_rec(void *arg, const struct tf__result_rec *rec)
{
    struct prefix *p = arg;
    struct gen g;

    assert_true(p->seen < p->nwant);
    gen(p->want[p->seen], &g);
    assert_rec_equal(rec, &g.rec);
    gen_free(&g);
    p->end += gen_bytes(p->want[p->seen]);
    p->seen++;
    return 0;
}

static void
test_damaged_files_never_yield_a_wrong_record(void **state)
{
    static const int recs[] = {1, 2, 3, 6, 11, 14};
    struct tf_buf f;
    struct tf_buf m;
    char path[40];
    char bad_path[40];
    uint64_t seed = 0x9e3779b97f4a7c15u;
    int iter;

    (void)state;
    temp_path(path);
    temp_path(bad_path);
    add_gen(path, recs, 6);
    tf_buf_init(&f, 0);
    tf_buf_init(&m, 0);
    tf_test_slurp(path, &f);
    for (iter = 0; iter < 3000; iter++) {
        struct prefix p = {recs, 6, 0, 16};
        struct tf_error err;
        uint64_t tail = UINT64_MAX;
        int kind = (int)(next_rand(&seed) % 5);
        size_t at = (size_t)(next_rand(&seed) % f.len);
        int rc;

        tf_buf_reset(&m);
        assert_int_equal(tf_buf_append(&m, f.data, f.len), 0);
        if (kind == 0) { /* flip a few bytes */
            int k = 1 + (int)(next_rand(&seed) % 3);

            while (k-- > 0)
                m.data[next_rand(&seed) % m.len] ^=
                    (unsigned char)(1 + next_rand(&seed) % 255);
        } else if (kind == 1) { /* cut */
            m.len = at;
        } else if (kind == 2) { /* a record magic and garbage inserted */
            unsigned char junk[40];
            size_t k;

            for (k = 0; k < sizeof(junk); k++)
                junk[k] = (unsigned char)next_rand(&seed);
            memcpy(junk, "TFR", 3);
            junk[3] = iter % 3 == 0   ? MAGIC_V3
                      : iter % 3 == 1 ? MAGIC_V2
                                      : MAGIC_V1;
            m.len = at;
            assert_int_equal(tf_buf_append(&m, junk, sizeof(junk)), 0);
            assert_int_equal(tf_buf_append(&m, f.data + at, f.len - at), 0);
        } else if (kind == 3) { /* a length field set to anything */
            size_t k = 16 + 4;

            while (k + 4 < m.len && next_rand(&seed) % 3 != 0)
                k += 12 + le32(f.data + k) + 4;
            if (k + 4 <= m.len) {
                uint32_t v = (uint32_t)next_rand(&seed);

                memcpy(m.data + k, &v, 4);
            }
        } else { /* random bytes from some point on */
            size_t k;

            for (k = at; k < m.len; k++)
                m.data[k] = (unsigned char)next_rand(&seed);
        }
        tf_test_write_file(bad_path, m.data, m.len);
        tf_error_init(&err);
        rc = tf__results_read(bad_path, prefix_rec, &p, &tail, &err);
        if (rc != 0 && rc != TF_EINPUT)
            fail_msg("mutation %d: rc %d: %s", iter, rc, err.msg);
        if (rc == 0 && p.seen > 0 && tail != m.len - p.end)
            fail_msg("mutation %d: tail %" PRIu64 " after %zu records", iter,
                     tail, p.seen);
        if (rc == 0 && iter % 20 == 0) {
            struct prefix again = {recs, 6, 0, 16};
            size_t seen = p.seen;

            /* Taken over for appending, it keeps the same records. */
            add_gen(bad_path, NULL, 0);
            read_is(bad_path, recs, seen, 0);
            assert_int_equal(
                tf__results_read(bad_path, prefix_rec, &again, NULL, &err), 0);
            assert_int_equal(again.seen, seen);
        }
    }
    tf_buf_cleanup(&f);
    tf_buf_cleanup(&m);
    unlink(path);
    unlink(bad_path);
}

/* ----------------------------------------------------------- writing */

static void
test_write_failure_leaves_the_file_ending_with_a_whole_record(void **state)
{
    static const int three[] = {1, 2, 3};
    struct tf__results *r;
    struct tf_error err;
    struct rlimit old;
    struct rlimit lim;
    struct gen g;
    char path[40];
    uint64_t size;
    int rc;

    (void)state;
    temp_path(path);
    add_gen(path, three, 3);
    size = file_size(path);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    /* Two records, the second of which does not fit under a file size
     * limit: the first write of the batch is cut short, the next fails
     * with EFBIG. */
    gen(4, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    gen(17, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)(size + gen_bytes(4) + 10);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = tf__results_flush(r, false, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(rc, TF_ESYS);
    assert_int_equal(err.code, TF_ESYS);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, strerror(EFBIG)));
    /* Nothing of the batch is left in the file. */
    assert_true(file_size(path) == size);
    read_is(path, three, 3, 0);
    /* Nothing more is written: each later call returns the error. */
    gen(5, &g);
    tf_error_init(&err);
    assert_int_equal(tf__results_add(r, &g.rec, &err), TF_ESYS);
    assert_non_null(strstr(err.msg, strerror(EFBIG)));
    gen_free(&g);
    assert_int_equal(tf__results_flush(r, true, &err), TF_ESYS);
    assert_int_equal(tf__results_close(r, &err), TF_ESYS);
    assert_true(file_size(path) == size);
    read_is(path, three, 3, 0);
    unlink(path);
}

static void
test_record_over_the_size_limit_is_einput_and_writes_nothing(void **state)
{
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error err;
    char path[40];

    (void)state;
    temp_path(path);
    memset(&rec, 0, sizeof(rec));
    rec.id = 5;
    rec.out = "";
    rec.out_len = (size_t)3 << 30; /* never read: the size is checked */
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    assert_int_equal(tf__results_add(r, &rec, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "task 5"));
    /* A body one byte over the limit. */
    rec.out_len = TF__RESULTS_MAX_BODY - BODY_MIN_V3;
    rec.err_len = 1;
    rec.err = "";
    assert_int_equal(tf__results_add(r, &rec, &err), TF_EINPUT);
    assert_int_equal(tf__results_pending(r), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    read_is(path, NULL, 0, 0);
    assert_true(file_size(path) == 16);
    unlink(path);
}

static void
test_second_open_of_a_file_in_use_is_eusage(void **state)
{
    struct tf__results *r;
    struct tf__results *r2 = (struct tf__results *)&r2;
    struct tf_error err;
    char path[40];

    (void)state;
    temp_path(path);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    assert_int_equal(tf__results_open(path, 0, &r2, &err), TF_EUSAGE);
    assert_null(r2);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "in use"));
    assert_int_equal(tf__results_close(r, &err), 0);
    assert_int_equal(tf__results_open(path, 0, &r2, &err), 0);
    assert_int_equal(tf__results_close(r2, &err), 0);
    unlink(path);
}

static void
test_open_of_an_unwritable_path_is_eusage_naming_it(void **state)
{
    static const char path[] = "/nonexistent/dir/results.tfr";
    struct tf__results *r = (struct tf__results *)&r;
    struct tf_error err;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), TF_EUSAGE);
    assert_null(r);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));
    assert_int_equal(tf__results_open("/tmp", 0, &r, &err), TF_EUSAGE);
    assert_null(r);
}

static void
test_records_wait_for_a_flush_and_due_follows_the_interval(void **state)
{
    static const int one[] = {2};
    static const int two[] = {2, 3};
    struct tf__results *r;
    struct tf_error err;
    struct gen g;
    char path[40];
    uint64_t hour = 3600u * 1000000u;
    uint64_t due;

    (void)state;
    temp_path(path);
    tf_error_init(&err);
    /* Interval 0: every flush syncs. */
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    assert_true(tf__results_due_us(r) == UINT64_MAX);
    assert_int_equal(tf__results_pending(r), 0);
    gen(2, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    assert_true(tf__results_pending(r) == gen_bytes(2));
    /* A record stays in memory until a flush; nothing written, nothing to
     * sync. */
    assert_true(tf__results_due_us(r) == UINT64_MAX);
    read_is(path, NULL, 0, 0);
    assert_int_equal(tf__results_flush(r, false, &err), 0);
    assert_int_equal(tf__results_pending(r), 0);
    read_is(path, one, 1, 0);
    assert_true(tf__results_due_us(r) == UINT64_MAX);
    assert_int_equal(tf__results_close(r, &err), 0);

    /* An hour: a flush writes, but the sync waits. */
    assert_int_equal(tf__results_open(path, hour, &r, &err), 0);
    gen(3, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    assert_true(tf__results_due_us(r) == UINT64_MAX);
    read_is(path, one, 1, 0);
    assert_int_equal(tf__results_flush(r, false, &err), 0);
    read_is(path, two, 2, 0);
    due = tf__results_due_us(r);
    assert_true(due > 0 && due <= hour);
    assert_int_equal(tf__results_flush(r, true, &err), 0);
    assert_true(tf__results_due_us(r) == UINT64_MAX);
    assert_int_equal(tf__results_close(r, &err), 0);
    read_is(path, two, 2, 0);
    unlink(path);
}

static void
test_big_records_wait_for_a_flush_as_small_ones_do(void **state)
{
    static const int big[] = {50, 1};
    struct tf__results *r;
    struct tf_error err;
    struct gen g;
    char path[40];
    size_t calls = 0;

    (void)state;
    temp_path(path);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    gen(50, &g); /* 1.5 MiB */
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    gen(1, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    assert_true(tf__results_pending(r) == gen_bytes(50) + gen_bytes(1));
    assert_int_equal(tf__results_read(path, count_rec, &calls, NULL, &err), 0);
    assert_int_equal(calls, 0);
    assert_true(file_size(path) == 16);
    assert_int_equal(tf__results_flush(r, false, &err), 0);
    assert_int_equal(tf__results_pending(r), 0);
    read_is(path, big, 2, 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    unlink(path);
}

static void
test_close_of_null_is_a_no_op(void **state)
{
    struct tf_error err;

    (void)state;
    assert_int_equal(tf__results_close(NULL, &err), 0);
    assert_int_equal(tf__results_close(NULL, NULL), 0);
}

/* ------------------------------------------- version 1, pieces and marks */

/* Appends to B the body of REC laid out by hand as format VERSION says: 1,
 * the 56-byte fixed part with 0 where version 2 has the kind; 2, the
 * 80-byte one; 3, the 96-byte one. */
static void
put_body(struct tf_buf *b, const struct tf__result_rec *rec, int version)
{
    static const size_t fixed_len[4] = {0, FIXED_V1, FIXED_V2, FIXED_V3};
    unsigned char fixed[FIXED_V3];
    unsigned char len[4];
    const void *s[4];
    size_t n[4];
    int i;

    memset(fixed, 0, sizeof(fixed));
    tf__store_u64(fixed, rec->id);
    tf__store_u64(fixed + 8, rec->hash);
    tf__store_u32(fixed + 16, (uint32_t)rec->status);
    tf__store_u32(fixed + 20, (uint32_t)rec->signal);
    tf__store_u32(fixed + 24, rec->flags);
    tf__store_u32(fixed + 28, rec->attempt);
    tf__store_u32(fixed + 32, (uint32_t)rec->worker);
    if (version >= 2)
        tf__store_u32(fixed + 36, rec->kind);
    tf__store_u64(fixed + 40, (uint64_t)rec->start_us);
    tf__store_u64(fixed + 48, rec->runtime_us);
    if (version >= 2) {
        tf__store_u64(fixed + 56, rec->out_end);
        tf__store_u64(fixed + 64, rec->out_total);
        tf__store_u64(fixed + 72, rec->err_total);
    }
    if (version >= 3) {
        tf__store_u64(fixed + 80, rec->cpu_us);
        tf__store_u64(fixed + 88, rec->peak_bytes);
    }
    assert_int_equal(tf_buf_append(b, fixed, fixed_len[version]), 0);
    s[0] = rec->host;
    n[0] = rec->host_len;
    s[1] = rec->cmd;
    n[1] = rec->cmd_len;
    s[2] = rec->out;
    n[2] = rec->out_len;
    s[3] = rec->err;
    n[3] = rec->err_len;
    for (i = 0; i < 4; i++) {
        tf__store_u32(len, (uint32_t)n[i]);
        assert_int_equal(tf_buf_append(b, len, 4), 0);
        if (n[i] > 0)
            assert_int_equal(tf_buf_append(b, s[i], n[i]), 0);
    }
}

/* Appends REC to F as a record of format VERSION at offset F->len. */
static void
put_rec(struct tf_buf *f, const struct tf__result_rec *rec, int version)
{
    struct tf_buf body;

    tf_buf_init(&body, 0);
    put_body(&body, rec, version);
    put_record(f, (unsigned char)(MAGIC_V1 + version - 1), body.data,
               body.len);
    tf_buf_cleanup(&body);
}

/* Empties F and puts in it the header of a file of format VERSION. */
static void
put_file_header(struct tf_buf *f, int version)
{
    unsigned char h[16] = "TFRESULT";

    h[8] = (unsigned char)version;
    tf_buf_reset(f);
    assert_int_equal(tf_buf_append(f, h, sizeof(h)), 0);
}

/* Appends records WANT[0..N) of the tests to F, of format VERSION each. */
static void
put_gen(struct tf_buf *f, const int *want, size_t n, int version)
{
    size_t i;

    for (i = 0; i < n; i++) {
        struct gen g;

        gen(want[i], &g);
        put_rec(f, &g.rec, version);
        gen_free(&g);
    }
}

/* Bytes a version 1 and a version 2 record of the tests take. */
static uint64_t
gen_bytes_v1(int i)
{
    return gen_bytes(i) - (FIXED_V3 - FIXED_V1);
}

static uint64_t
gen_bytes_v2(int i)
{
    return gen_bytes(i) - (FIXED_V3 - FIXED_V2);
}

/* What a reader passed on, copied. */
struct got_rec {
    uint32_t kind;
    uint64_t id;
    uint32_t flags;
    uint32_t attempt;
    uint64_t out_end;
    uint64_t out_total;
    uint64_t err_total;
    size_t out_len;
    size_t err_len;
    char cmd[64];
    size_t cmd_len;
    uint64_t off;
    uint64_t len;
};

struct got {
    struct got_rec r[16];
    size_t n;
};

static int
got_scan(void *arg, const struct tf__result_rec *rec, uint64_t off,
         uint64_t len)
{
    struct got *g = arg;
    struct got_rec *e;

    if (g->n >= sizeof(g->r) / sizeof(g->r[0]))
        fail_msg("more than %zu records", g->n);
    e = &g->r[g->n++];
    e->kind = rec->kind;
    e->id = rec->id;
    e->flags = rec->flags;
    e->attempt = rec->attempt;
    e->out_end = rec->out_end;
    e->out_total = rec->out_total;
    e->err_total = rec->err_total;
    e->out_len = rec->out_len;
    e->err_len = rec->err_len;
    assert_true(rec->cmd_len < sizeof(e->cmd));
    if (rec->cmd_len > 0)
        memcpy(e->cmd, rec->cmd, rec->cmd_len);
    e->cmd[rec->cmd_len] = '\0';
    e->cmd_len = rec->cmd_len;
    e->off = off;
    e->len = len;
    return 0;
}

static int
got_task(void *arg, const struct tf__result_rec *rec)
{
    return got_scan(arg, rec, 0, 0);
}

/* Reads PATH with tf__results_read() into *G; no tail. */
static void
read_tasks(const char *path, struct got *g)
{
    struct tf_error err;
    uint64_t tail = UINT64_MAX;
    int rc;

    g->n = 0;
    tf_error_init(&err);
    rc = tf__results_read(path, got_task, g, &tail, &err);
    if (rc != 0)
        fail_msg("reading %s: %d %s", path, rc, err.msg);
    assert_true(tail == 0);
}

/* Reads PATH with tf__results_scan() into *G; no tail. */
static void
scan_all(const char *path, struct got *g)
{
    struct tf_error err;
    uint64_t tail = UINT64_MAX;
    int rc;

    g->n = 0;
    tf_error_init(&err);
    rc = tf__results_scan(path, got_scan, g, &tail, &err);
    if (rc != 0)
        fail_msg("scanning %s: %d %s", path, rc, err.msg);
    assert_true(tail == 0);
}

static void
test_version_1_file_reads_back_every_field_as_task_records(void **state)
{
    static const int want[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 50};
    static const int ones[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    size_t n = sizeof(want) / sizeof(want[0]);
    struct tf_buf f;
    struct got g;
    char path[40];
    uint64_t off = 16;
    size_t i;

    (void)state;
    temp_path(path);
    tf_buf_init(&f, 0);
    put_file_header(&f, 1);
    put_gen(&f, want, n, 1);
    tf_test_write_file(path, f.data, f.len);
    /* Every field, kind TASK, totals equal to the lengths, no CPU time or
     * peak memory (check_rec). */
    read_is_of(path, want, ones, n, 0);
    /* Each takes the bytes of version 1, one after the other. */
    scan_all(path, &g);
    assert_int_equal(g.n, n);
    for (i = 0; i < n; i++) {
        assert_int_equal(g.r[i].kind, TF__REC_TASK);
        assert_true(g.r[i].off == off);
        assert_true(g.r[i].len == gen_bytes_v1(want[i]));
        off += g.r[i].len;
    }
    assert_true(off == f.len);
    tf_buf_cleanup(&f);
    unlink(path);
}

static void
test_older_file_opened_for_appending_becomes_version_3(void **state)
{
    static const int old[] = {1, 2, 3};
    static const int added[] = {7, 11};
    static const int all[] = {1, 2, 3, 7, 11};
    int versions[5];
    struct tf_buf f;
    struct tf_buf v1;
    struct tf_buf torn;
    struct got g;
    char path[40];
    int version;
    size_t i;

    (void)state;
    temp_path(path);
    tf_buf_init(&f, 0);
    tf_buf_init(&v1, 0);
    tf_buf_init(&torn, 0);
    for (version = 1; version <= 2; version++) {
        for (i = 0; i < 5; i++)
            versions[i] = i < 3 ? version : 3;
        put_file_header(&v1, version);
        put_gen(&v1, old, 3, version);
        /* And the start of a fourth, cut short. */
        tf_buf_reset(&torn);
        assert_int_equal(tf_buf_append(&torn, v1.data, v1.len), 0);
        put_gen(&torn, added, 1, version);
        torn.len -= 7;

        /* Opened and closed with nothing added: only the version
         * changes. */
        tf_test_write_file(path, v1.data, v1.len);
        add_gen(path, NULL, 0);
        tf_test_slurp(path, &f);
        assert_int_equal(f.len, v1.len);
        assert_memory_equal(f.data, "TFRESULT\3\0\0\0\0\0\0\0", 16);
        assert_memory_equal(f.data + 16, v1.data + 16, v1.len - 16);
        read_is_of(path, old, versions, 3, 0);

        /* Torn, with records added: the tail goes, the old records stay
         * as they were, and the new ones are of version 3. */
        tf_test_write_file(path, torn.data, torn.len);
        add_gen(path, added, 2);
        tf_test_slurp(path, &f);
        assert_true(f.len ==
                    v1.len + gen_bytes(added[0]) + gen_bytes(added[1]));
        assert_memory_equal(f.data, "TFRESULT\3\0\0\0\0\0\0\0", 16);
        assert_memory_equal(f.data + 16, v1.data + 16, v1.len - 16);
        scan_all(path, &g);
        assert_int_equal(g.n, 5);
        for (i = 0; i < 5; i++)
            assert_int_equal(f.data[g.r[i].off + 3],
                             MAGIC_V1 + versions[i] - 1);
        assert_true(g.r[3].off == v1.len);
        read_is_of(path, all, versions, 5, 0);
    }
    tf_buf_cleanup(&f);
    tf_buf_cleanup(&v1);
    tf_buf_cleanup(&torn);
    unlink(path);
}

static void
test_file_mixing_versions_1_2_and_3_records_reads_all(void **state)
{
    static const int want[] = {1, 2, 3, 4, 5, 6, 50, 7};
    static const int versions[] = {3, 1, 2, 3, 1, 2, 3, 1};
    size_t n = sizeof(want) / sizeof(want[0]);
    struct tf_buf f;
    struct got g;
    char path[40];
    int version;
    size_t i;

    (void)state;
    temp_path(path);
    tf_buf_init(&f, 0);
    /* Whatever the header says, each record is read as its magic says. */
    for (version = 1; version <= 3; version++) {
        uint64_t off = 16;

        put_file_header(&f, version);
        for (i = 0; i < n; i++)
            put_gen(&f, want + i, 1, versions[i]);
        tf_test_write_file(path, f.data, f.len);
        read_is_of(path, want, versions, n, 0);
        scan_all(path, &g);
        assert_int_equal(g.n, n);
        for (i = 0; i < n; i++) {
            uint64_t len = versions[i] == 1   ? gen_bytes_v1(want[i])
                           : versions[i] == 2 ? gen_bytes_v2(want[i])
                                              : gen_bytes(want[i]);

            assert_true(g.r[i].off == off);
            assert_true(g.r[i].len == len);
            off += g.r[i].len;
        }
        assert_true(off == f.len);
    }
    tf_buf_cleanup(&f);
    unlink(path);
}

static void
test_version_2_body_under_a_version_3_magic_is_not_a_record(void **state)
{
    static const int one[] = {1};
    static const int two[] = {1, 2};
    static const int v2[] = {3, 2};
    struct tf_buf f;
    struct tf_buf body;
    char path[40];
    uint64_t bad_at;
    struct gen g;

    (void)state;
    temp_path(path);
    tf_buf_init(&f, 0);
    tf_buf_init(&body, 0);
    put_file_header(&f, 3);
    put_gen(&f, one, 1, 3);
    bad_at = f.len;
    gen(2, &g);
    put_body(&body, &g.rec, 2);
    /* Its own magic: a record. */
    put_record(&f, MAGIC_V2, body.data, body.len);
    tf_test_write_file(path, f.data, f.len);
    read_is_of(path, two, v2, 2, 0);
    /* Under the magic of version 3 the fixed part is 16 bytes short: the
     * strings do not fill the body as they must. */
    f.len = (size_t)bad_at;
    put_record(&f, MAGIC_V3, body.data, body.len);
    tf_test_write_file(path, f.data, f.len);
    read_is(path, one, 1, f.len - bad_at);
    /* And a body of version 3 under the magic of version 2 is not one
     * either. */
    f.len = (size_t)bad_at;
    tf_buf_reset(&body);
    put_body(&body, &g.rec, 3);
    put_record(&f, MAGIC_V2, body.data, body.len);
    tf_test_write_file(path, f.data, f.len);
    read_is(path, one, 1, f.len - bad_at);
    gen_free(&g);
    tf_buf_cleanup(&body);
    tf_buf_cleanup(&f);
    unlink(path);
}

static void
test_record_of_an_unknown_kind_is_not_a_record(void **state)
{
    static const int one[] = {1};
    static const int two[] = {1, 2};
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error err;
    struct tf_buf f;
    char path[40];
    char where[64];
    size_t calls = 0;
    uint64_t bad_at;
    uint64_t tail = 0;
    struct gen g;

    (void)state;
    temp_path(path);
    tf_buf_init(&f, 0);
    put_file_header(&f, 3);
    put_gen(&f, one, 1, 3);
    bad_at = f.len;
    gen(2, &g);
    rec = g.rec;
    rec.kind = TF__REC_MARK + 1;
    put_rec(&f, &rec, 3);
    /* Last in the file: a torn tail. */
    tf_test_write_file(path, f.data, f.len);
    read_is(path, one, 1, f.len - bad_at);
    /* With a valid record after it: corrupt. */
    put_gen(&f, two + 1, 1, 3);
    tf_test_write_file(path, f.data, f.len);
    tf_error_init(&err);
    assert_int_equal(tf__results_scan(path, NULL, NULL, &tail, &err),
                     TF_EINPUT);
    snprintf(where, sizeof(where), "corrupt record at byte %" PRIu64, bad_at);
    assert_non_null(strstr(err.msg, where));
    assert_int_equal(tf__results_read(path, count_rec, &calls, NULL, &err),
                     TF_EINPUT);
    assert_int_equal(calls, 0);
    /* The same bytes with kind TASK are a record. */
    rec.kind = TF__REC_TASK;
    f.len = (size_t)bad_at;
    put_rec(&f, &rec, 3);
    tf_test_write_file(path, f.data, f.len);
    read_is(path, two, 2, 0);
    /* Appending after the torn one drops it. */
    f.len = (size_t)bad_at;
    rec.kind = TF__REC_MARK + 1;
    put_rec(&f, &rec, 3);
    tf_test_write_file(path, f.data, f.len);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    assert_true(file_size(path) == bad_at);
    gen_free(&g);
    tf_buf_cleanup(&f);
    unlink(path);
}

/* A record of KIND for task ID with stdout OUT (N_OUT bytes) and stderr ERR
 * (N_ERR bytes); pieces and marks have no command, as the farm writes
 * them. */
static struct tf__result_rec
kind_rec(uint32_t kind, uint64_t id, uint32_t flags, const void *out,
         size_t n_out, const void *err, size_t n_err)
{
    struct tf__result_rec rec;

    memset(&rec, 0, sizeof(rec));
    rec.kind = kind;
    rec.id = id;
    rec.flags = flags;
    rec.attempt = 2;
    rec.worker = 3;
    rec.host = "n1";
    rec.host_len = 2;
    rec.start_us = 1700000000123456;
    rec.runtime_us = 1234567;
    if (kind == TF__REC_TASK) {
        rec.cmd = "task";
        rec.cmd_len = 4;
    }
    rec.hash = tf__task_hash(rec.cmd, rec.cmd_len);
    rec.out = out;
    rec.out_len = n_out;
    rec.err = err;
    rec.err_len = n_err;
    return rec;
}

/* Task 7 in three pieces and its record with the last part of its output;
 * task 8 whole; task 9 flagged as in pieces with none before it. */
static const struct pieces_spec {
    uint32_t kind;
    uint64_t id;
    uint32_t flags;
    const char *out;
    size_t out_len;
    const char *err;
    size_t err_len;
} pieces_file[] = {
    {TF__REC_PIECE, 7, 0, "first piece\n", 12, "", 0},
    {TF__REC_PIECE, 7, 0, "", 0, "warn\0ing\n", 9},
    {TF__REC_PIECE, 7, 0, "second\n", 7, "e2", 2},
    {TF__REC_TASK, 7, TF__REC_PIECES | TF__REC_EMITTED, "tail\n", 5, "E", 1},
    {TF__REC_TASK, 8, 0, "eight\n", 6, "", 0},
    {TF__REC_TASK, 9, TF__REC_PIECES, "n", 1, "", 0},
};
#define PIECES_FILE_N (sizeof(pieces_file) / sizeof(pieces_file[0]))

/* Writes the records of pieces_file to PATH (new) through the writer and
 * puts their offsets in OFF[0..PIECES_FILE_N], the last the file's end. */
static void
write_pieces_file(const char *path, uint64_t *off)
{
    struct tf__results *r;
    struct tf_error err;
    size_t i;

    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    off[0] = 16;
    for (i = 0; i < PIECES_FILE_N; i++) {
        const struct pieces_spec *s = &pieces_file[i];
        struct tf__result_rec rec = kind_rec(s->kind, s->id, s->flags, s->out,
                                             s->out_len, s->err, s->err_len);

        assert_int_equal(tf__results_add(r, &rec, &err), 0);
        off[i + 1] = off[i] + rec_bytes(rec.host_len + rec.cmd_len +
                                        rec.out_len + rec.err_len);
    }
    assert_int_equal(tf__results_close(r, &err), 0);
    assert_true(file_size(path) == off[PIECES_FILE_N]);
}

static void
test_pieces_add_up_to_the_totals_of_their_task_record(void **state)
{
    uint64_t off[PIECES_FILE_N + 1];
    struct got g;
    char path[40];
    size_t i;

    (void)state;
    temp_path(path);
    write_pieces_file(path, off);
    /* The reader passes task records only, with the pieces' bytes in
     * their totals. */
    read_tasks(path, &g);
    assert_int_equal(g.n, 3);
    assert_true(g.r[0].id == 7);
    assert_int_equal(g.r[0].flags, TF__REC_PIECES | TF__REC_EMITTED);
    assert_true(g.r[0].out_total == 12 + 7 + 5);
    assert_true(g.r[0].err_total == 9 + 2 + 1);
    assert_int_equal(g.r[0].out_len, 5);
    assert_int_equal(g.r[0].err_len, 1);
    /* The next task's totals start from nothing. */
    assert_true(g.r[1].id == 8);
    assert_true(g.r[1].out_total == 6 && g.r[1].err_total == 0);
    assert_true(g.r[2].id == 9);
    assert_true(g.r[2].out_total == 1 && g.r[2].err_total == 0);
    /* A scan passes every record, pieces too, where it is. */
    scan_all(path, &g);
    assert_int_equal(g.n, PIECES_FILE_N);
    for (i = 0; i < PIECES_FILE_N; i++) {
        assert_int_equal(g.r[i].kind, pieces_file[i].kind);
        assert_true(g.r[i].id == pieces_file[i].id);
        assert_int_equal(g.r[i].attempt, 2);
        assert_int_equal(g.r[i].out_len, pieces_file[i].out_len);
        assert_int_equal(g.r[i].err_len, pieces_file[i].err_len);
        assert_true(g.r[i].off == off[i]);
        assert_true(g.r[i].len == off[i + 1] - off[i]);
    }
    unlink(path);
}

static void
test_task_record_without_pieces_keeps_a_larger_given_total(void **state)
{
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error err;
    struct got g;
    char path[40];

    (void)state;
    temp_path(path);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    /* Totals the caller knows of: kept, as they are larger. */
    rec = kind_rec(TF__REC_TASK, 1, 0, "abc", 3, "d", 1);
    rec.out_total = 1000;
    rec.err_total = 77;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    /* Smaller than the bytes held: the bytes held. */
    rec = kind_rec(TF__REC_TASK, 2, 0, "abc", 3, "d", 1);
    rec.out_total = 1;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    /* With pieces, the pieces count and a given total does not. */
    rec = kind_rec(TF__REC_PIECE, 3, 0, "xy", 2, "", 0);
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    rec = kind_rec(TF__REC_TASK, 3, TF__REC_PIECES, "z", 1, "", 0);
    rec.out_total = 1000;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    read_tasks(path, &g);
    assert_int_equal(g.n, 3);
    assert_true(g.r[0].out_total == 1000 && g.r[0].err_total == 77);
    assert_true(g.r[1].out_total == 3 && g.r[1].err_total == 1);
    assert_true(g.r[2].out_total == 3 && g.r[2].err_total == 0);
    unlink(path);
}

/* The output tf__results_reader_output() hands out: the bytes of each
 * stream, and a log of the calls ("o12 e9 " for 12 bytes of stdout, then 9
 * of stderr). */
struct output {
    struct tf_buf out;
    struct tf_buf err;
    struct tf_buf calls;
    int fail_at; /* return TF_ESYS at this call (1-based), 0: never */
    int ncalls;
};

static int
take_output(void *arg, bool is_err, const void *p, size_t n, struct tf_error *e)
{
    struct output *o = arg;

    assert_true(n > 0);
    if (++o->ncalls == o->fail_at)
        return tf__error(e, TF_ESYS, "stop here");
    assert_int_equal(tf_buf_append(is_err ? &o->err : &o->out, p, n), 0);
    assert_int_equal(tf_buf_printf(&o->calls, "%c%zu ", is_err ? 'e' : 'o', n),
                     0);
    return 0;
}

static void
output_init(struct output *o)
{
    memset(o, 0, sizeof(*o));
    tf_buf_init(&o->out, 0);
    tf_buf_init(&o->err, 0);
    tf_buf_init(&o->calls, 0);
}

static void
output_reset(struct output *o)
{
    tf_buf_reset(&o->out);
    tf_buf_reset(&o->err);
    tf_buf_reset(&o->calls);
    o->ncalls = 0;
    o->fail_at = 0;
}

static void
output_cleanup(struct output *o)
{
    tf_buf_cleanup(&o->out);
    tf_buf_cleanup(&o->err);
    tf_buf_cleanup(&o->calls);
}

static void
test_reader_output_yields_the_pieces_then_the_record_in_order(void **state)
{
    uint64_t off[PIECES_FILE_N + 1];
    struct tf__results_reader *rd;
    struct output o;
    struct tf_error err;
    char path[40];

    (void)state;
    temp_path(path);
    write_pieces_file(path, off);
    output_init(&o);
    tf_error_init(&err);
    assert_int_equal(tf__results_reader_open(path, &rd, &err), 0);
    assert_int_equal(
        tf__results_reader_output(rd, off[0], off[3], take_output, &o, &err),
        0);
    buf_is_str(&o.out, "first piece\nsecond\ntail\n");
    buf_is(&o.err, "warn\0ing\ne2E", 12);
    buf_is_str(&o.calls, "o12 e9 o7 e2 o5 e1 ");
    /* A task without pieces: its own bytes. */
    output_reset(&o);
    assert_int_equal(
        tf__results_reader_output(rd, off[4], off[4], take_output, &o, &err),
        0);
    buf_is_str(&o.out, "eight\n");
    buf_is_str(&o.calls, "o6 ");
    /* From a later piece: the rest. */
    output_reset(&o);
    assert_int_equal(
        tf__results_reader_output(rd, off[2], off[3], take_output, &o, &err),
        0);
    buf_is_str(&o.out, "second\ntail\n");
    buf_is_str(&o.err, "e2E");
    /* A task record where a piece should be is an error. */
    output_reset(&o);
    assert_int_equal(
        tf__results_reader_output(rd, off[3], off[4], take_output, &o, &err),
        TF_EINPUT);
    assert_non_null(strstr(err.msg, "expected a piece"));
    /* No record there. */
    output_reset(&o);
    assert_int_equal(tf__results_reader_output(rd, off[0] + 1, off[3],
                                               take_output, &o, &err),
                     TF_EINPUT);
    assert_int_equal(o.ncalls, 0);
    /* The callback's error stops it and is returned. */
    output_reset(&o);
    o.fail_at = 3;
    assert_int_equal(
        tf__results_reader_output(rd, off[0], off[3], take_output, &o, &err),
        TF_ESYS);
    assert_int_equal(o.ncalls, 3);
    assert_non_null(strstr(err.msg, "stop here"));
    tf__results_reader_close(rd);
    tf__results_reader_close(NULL);
    output_cleanup(&o);
    unlink(path);
}

static void
test_reader_at_finds_each_record_at_its_offset_and_nothing_between(void **state)
{
    uint64_t off[PIECES_FILE_N + 1];
    struct tf__results_reader *rd = (struct tf__results_reader *)&rd;
    struct tf__result_rec rec;
    struct tf_error err;
    char path[40];
    uint64_t next;
    size_t i;

    (void)state;
    temp_path(path);
    write_pieces_file(path, off);
    tf_error_init(&err);
    assert_int_equal(tf__results_reader_open(path, &rd, &err), 0);
    /* Backwards, as `taskfarm results` reads them in task order. */
    for (i = PIECES_FILE_N; i-- > 0;) {
        next = 0;
        assert_int_equal(tf__results_reader_at(rd, off[i], &rec, &next, &err),
                         0);
        assert_int_equal(rec.kind, pieces_file[i].kind);
        assert_true(rec.id == pieces_file[i].id);
        assert_int_equal(rec.out_len, pieces_file[i].out_len);
        if (rec.out_len > 0)
            assert_memory_equal(rec.out, pieces_file[i].out, rec.out_len);
        assert_true(next == off[i + 1]);
        assert_int_equal(
            tf__results_reader_at(rd, off[i] + 1, &rec, &next, &err),
            TF_EINPUT);
        assert_non_null(strstr(err.msg, path));
    }
    assert_int_equal(tf__results_reader_at(rd, 0, &rec, &next, &err),
                     TF_EINPUT);
    assert_int_equal(
        tf__results_reader_at(rd, off[PIECES_FILE_N], &rec, &next, &err),
        TF_EINPUT);
    tf__results_reader_close(rd);
    /* Not a results file. */
    tf_test_write_file(path, "hello\n", 6);
    assert_int_equal(tf__results_reader_open(path, &rd, &err), TF_EINPUT);
    assert_null(rd);
    unlink(path);
    assert_int_equal(tf__results_reader_open(path, &rd, &err), TF_EINPUT);
    assert_null(rd);
}

static void
test_mark_round_trips_and_is_not_a_task_record(void **state)
{
    static const char out_path[] = "/scratch/run/out.txt";
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error err;
    struct tf_buf f;
    struct got g;
    char path[40];

    (void)state;
    temp_path(path);
    tf_buf_init(&f, 0);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    /* A run's start: the --output it writes and its size then. */
    rec = kind_rec(TF__REC_MARK, 0, 0, "", 0, "", 0);
    rec.cmd = out_path;
    rec.cmd_len = strlen(out_path);
    rec.out_end = 100;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    rec = kind_rec(TF__REC_TASK, 3, 0, "x\n", 2, "", 0);
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    /* Task 3's output written later, the file then 4242 bytes. */
    rec = kind_rec(TF__REC_MARK, 3, 0, "", 0, "", 0);
    rec.out_end = 4242;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);

    read_tasks(path, &g);
    assert_int_equal(g.n, 1);
    assert_true(g.r[0].id == 3);
    assert_int_equal(g.r[0].kind, TF__REC_TASK);
    scan_all(path, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.r[0].kind, TF__REC_MARK);
    assert_true(g.r[0].id == 0);
    assert_true(g.r[0].out_end == 100);
    assert_string_equal(g.r[0].cmd, out_path);
    assert_int_equal(g.r[2].kind, TF__REC_MARK);
    assert_true(g.r[2].id == 3);
    assert_true(g.r[2].out_end == 4242);
    assert_int_equal(g.r[2].out_len, 0);
    /* On disk the kind is the u32 at byte 36 of the body. */
    tf_test_slurp(path, &f);
    assert_int_equal(le32(f.data + g.r[0].off + 12 + 36), TF__REC_MARK);
    assert_int_equal(le32(f.data + g.r[1].off + 12 + 36), TF__REC_TASK);
    assert_true(le64(f.data + g.r[2].off + 12 + 56) == 4242);
    tf_buf_cleanup(&f);
    unlink(path);
}

static void
test_cut_drops_exactly_the_records_added_after_the_point(void **state)
{
    static const int kept[] = {1, 4, 6};
    struct tf__results *r;
    struct tf_error err;
    struct gen g;
    char path[40];
    size_t point;
    int i;

    (void)state;
    temp_path(path);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    gen(1, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    point = tf__results_pending(r);
    assert_true(point == gen_bytes(1));
    for (i = 2; i <= 3; i++) {
        gen(i, &g);
        assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
        gen_free(&g);
    }
    tf__results_cut(r, point);
    assert_int_equal(tf__results_pending(r), point);
    /* A point past what waits changes nothing. */
    tf__results_cut(r, point + 1000);
    assert_int_equal(tf__results_pending(r), point);
    /* A record added after the cut takes the place of those cut. */
    gen(4, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    assert_int_equal(tf__results_flush(r, false, &err), 0);
    read_is(path, kept, 2, 0);
    assert_true(file_size(path) == 16 + gen_bytes(1) + gen_bytes(4));
    /* Cut to nothing after a flush: the next record follows the last
     * written. */
    gen(5, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    tf__results_cut(r, 0);
    assert_int_equal(tf__results_pending(r), 0);
    gen(6, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    assert_int_equal(tf__results_close(r, &err), 0);
    read_is(path, kept, 3, 0);
    unlink(path);
}

static void
test_close_without_an_error_buffer_writes_nothing_pending(void **state)
{
    static const int one[] = {1};
    struct tf__results *r;
    struct tf_error err;
    struct gen g;
    char path[40];
    int i;

    (void)state;
    temp_path(path);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    gen(1, &g);
    assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
    gen_free(&g);
    assert_int_equal(tf__results_flush(r, false, &err), 0);
    for (i = 2; i <= 3; i++) {
        gen(i, &g);
        assert_int_equal(tf__results_add(r, &g.rec, &err), 0);
        gen_free(&g);
    }
    assert_true(tf__results_pending(r) > 0);
    assert_int_equal(tf__results_close(r, NULL), 0);
    assert_true(file_size(path) == 16 + gen_bytes(1));
    read_is(path, one, 1, 0);
    /* The file is free again, and the next run appends after record 1. */
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    unlink(path);
}

static void
test_open_drops_trailing_pieces_so_a_later_run_reads_only_its_own(
    void **state)
{
    static const char *const later[] = {"new piece 1\n", "new piece 2\n"};
    struct tf__piece_run run;
    struct tf__results_reader *rd;
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error err;
    struct output o;
    struct got g;
    char path[40];
    uint64_t whole;
    uint64_t pieces_off = 0;
    size_t i;

    (void)state;
    temp_path(path);
    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    rec = kind_rec(TF__REC_TASK, 4, 0, "four\n", 5, "", 0);
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    assert_int_equal(tf__results_flush(r, false, &err), 0);
    whole = file_size(path);
    /* A piece of task 5 is written, and the run is killed before its
     * record. */
    rec = kind_rec(TF__REC_PIECE, 5, 0, "old piece\n", 10, "", 0);
    rec.attempt = 1;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    assert_int_equal(tf__results_flush(r, false, &err), 0);
    assert_true(file_size(path) > whole);
    assert_int_equal(tf__results_close(r, NULL), 0);
    /* The next run's open cuts the file back to task 4's record. */
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    assert_true(file_size(path) == whole);
    /* Task 5 runs again, as attempt 1 again, in pieces. */
    for (i = 0; i < 2; i++) {
        rec = kind_rec(TF__REC_PIECE, 5, 0, later[i], strlen(later[i]), "",
                       0);
        rec.attempt = 1;
        assert_int_equal(tf__results_add(r, &rec, &err), 0);
    }
    rec = kind_rec(TF__REC_TASK, 5, TF__REC_PIECES, "tail\n", 5, "", 0);
    rec.attempt = 1;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
    /* Its pieces start where this run's do, and hold only its bytes. */
    scan_all(path, &g);
    assert_int_equal(g.n, 4);
    memset(&run, 0, sizeof(run));
    for (i = 0; i < g.n; i++) {
        memset(&rec, 0, sizeof(rec));
        rec.kind = g.r[i].kind;
        rec.id = g.r[i].id;
        rec.flags = g.r[i].flags;
        rec.attempt = g.r[i].attempt;
        pieces_off = tf__piece_run_next(&run, &rec, g.r[i].off);
    }
    assert_int_equal(g.r[3].kind, TF__REC_TASK);
    assert_true(g.r[3].id == 5);
    assert_true(pieces_off == g.r[1].off);
    assert_true(pieces_off == whole);
    output_init(&o);
    assert_int_equal(tf__results_reader_open(path, &rd, &err), 0);
    assert_int_equal(tf__results_reader_output(rd, pieces_off, g.r[3].off,
                                               take_output, &o, &err),
                     0);
    buf_is_str(&o.out, "new piece 1\nnew piece 2\ntail\n");
    buf_is_str(&o.err, "");
    tf__results_reader_close(rd);
    output_cleanup(&o);
    unlink(path);
}

/* ------------------------------------------------ `taskfarm results` */

/* Runs tf__results_main with ARGS (NULL-terminated) and its standard
 * output and error in OUT and ERR. Returns its exit status. */
static int
run_main(const char *const *args, struct tf_buf *out, struct tf_buf *err)
{
    return tf_test_run_main(tf__results_main, args, out, err);
}

static struct tf__result_rec
cli_rec(uint64_t id, uint32_t attempt, const char *cmd, const char *out,
        const char *err)
{
    struct tf__result_rec rec;

    memset(&rec, 0, sizeof(rec));
    rec.id = id;
    rec.attempt = attempt;
    rec.host = "n1";
    rec.host_len = 2;
    rec.start_us = 1700000000123456;
    rec.runtime_us = 1234567;
    rec.cmd = cmd;
    rec.cmd_len = strlen(cmd);
    rec.hash = tf__task_hash(cmd, rec.cmd_len);
    rec.out = out;
    rec.out_len = strlen(out);
    rec.err = err;
    rec.err_len = strlen(err);
    return rec;
}

/* Tasks 3, 1, 2 (lost, killed), 2 again (retried), 4 (binary output). */
static void
write_cli_file(const char *path)
{
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error err;

    tf_error_init(&err);
    assert_int_equal(tf__results_open(path, 0, &r, &err), 0);
    rec = cli_rec(3, 1, "echo c", "c\n", "");
    rec.flags = TF__REC_OOM;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    rec = cli_rec(1, 1, "printf 'a\\tb'\t\n", "a\tb", "");
    rec.worker = 1;
    rec.cpu_us = 2500400;
    rec.peak_bytes = 209715200;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    rec = cli_rec(2, 1, "sleep 9", "", "partial\n");
    rec.status = 137;
    rec.signal = 9;
    rec.flags = TF__REC_LOST;
    rec.worker = 2;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    rec = cli_rec(2, 2, "sleep 9", "done\n", "");
    rec.flags = TF__REC_TIMEOUT | TF__REC_LOST;
    rec.status = -1;
    rec.runtime_us = 499;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    rec = cli_rec(4, 1, "bin", "", "");
    rec.out = "o\0\xff\n";
    rec.out_len = 4;
    rec.err = "e\0r";
    rec.err_len = 3;
    rec.worker = -1;
    rec.host = "";
    rec.host_len = 0;
    assert_int_equal(tf__results_add(r, &rec, &err), 0);
    assert_int_equal(tf__results_close(r, &err), 0);
}

/* The hash of S as `taskfarm results` prints it. */
static const char *
hex_hash(const char *s, char *b)
{
    snprintf(b, 17, "%016" PRIx64, tf__task_hash(s, strlen(s)));
    return b;
}

#define TSV_HEAD                                                               \
    "id\thash\tstatus\tsignal\tflags\tattempt\tworker\thost\tstart\t"          \
    "runtime\tstdout_bytes\tstderr_bytes\tcpu\tmax_rss\tcommand\n"

static void
test_results_main_prints_last_record_of_each_task_in_task_order(void **state)
{
    struct tf_buf out;
    struct tf_buf err;
    struct tf_buf want;
    char path[40];
    char h[4][17];

    (void)state;
    temp_path(path);
    write_cli_file(path);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    tf_buf_init(&want, 0);
    assert_int_equal(
        run_main((const char *const[]){"results", path, NULL}, &out, &err), 0);
    assert_int_equal(
        tf_buf_printf(
            &want,
            TSV_HEAD "1\t%s\t0\t0\t-\t1\t1\tn1\t1700000000.123\t1.235\t3\t0\t"
                     "2.500\t209715200\tprintf 'a\\\\tb'\\t\\n\n"
                     "2\t%s\t-1\t0\ttimeout,lost\t2\t0\tn1\t1700000000.123\t"
                     "0.000\t5\t0\t0.000\t0\tsleep 9\n"
                     "3\t%s\t0\t0\toom\t1\t0\tn1\t1700000000.123\t1.235\t2\t"
                     "0\t0.000\t0\techo c\n"
                     "4\t%s\t0\t0\t-\t1\t-1\t\t1700000000.123\t1.235\t4\t3\t"
                     "0.000\t0\tbin\n",
            hex_hash("printf 'a\\tb'\t\n", h[0]), hex_hash("sleep 9", h[1]),
            hex_hash("echo c", h[2]), hex_hash("bin", h[3])),
        0);
    buf_is(&out, want.data, want.len);
    buf_is_str(&err, "");
    /* --format tsv is the default. */
    assert_int_equal(run_main((const char *const[]){"results", "--format",
                                                    "tsv", path, NULL},
                              &out, &err),
                     0);
    buf_is(&out, want.data, want.len);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    tf_buf_cleanup(&want);
    unlink(path);
}

static void
test_results_main_all_prints_every_record_in_file_order(void **state)
{
    struct tf_buf out;
    struct tf_buf err;
    char path[40];
    const char *p;
    static const char *const ids[] = {"3\t", "1\t", "2\t", "2\t", "4\t"};
    size_t i;

    (void)state;
    temp_path(path);
    write_cli_file(path);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--all", NULL}, &out,
                 &err),
        0);
    buf_is_str(&err, "");
    p = (const char *)out.data;
    assert_int_equal(strncmp(p, TSV_HEAD, strlen(TSV_HEAD)), 0);
    p += strlen(TSV_HEAD);
    for (i = 0; i < 5; i++) {
        assert_int_equal(strncmp(p, ids[i], 2), 0);
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    assert_int_equal(*p, '\0');
    /* Both records of task 2: the lost attempt and the retry. */
    assert_non_null(strstr((const char *)out.data,
                           "\t137\t9\tlost\t1\t2\tn1\t1700000000.123\t1.235\t"
                           "0\t8\t0.000\t0\tsleep 9\n"));
    assert_non_null(strstr((const char *)out.data, "\ttimeout,lost\t2\t"));
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    unlink(path);
}

static void
test_results_main_jsonl_has_every_field_and_bytes_as_base64(void **state)
{
    struct tf_buf out;
    struct tf_buf err;
    struct tf_buf want;
    char path[40];
    char h[4][17];

    (void)state;
    temp_path(path);
    write_cli_file(path);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    tf_buf_init(&want, 0);
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--format=jsonl", NULL},
                 &out, &err),
        0);
    assert_int_equal(
        tf_buf_printf(
            &want,
            "{\"id\":1,\"hash\":\"%s\",\"status\":0,\"signal\":0,\"flags\":[],"
            "\"attempt\":1,\"worker\":1,\"host\":\"n1\",\"start\":"
            "1700000000.123,\"runtime\":1.235,\"stdout_bytes\":3,"
            "\"stderr_bytes\":0,\"cpu\":2.500,\"max_rss\":209715200,"
            "\"command\":\"printf 'a\\\\tb'\\t\\n\","
            "\"stdout\":\"a\\tb\",\"stderr\":\"\"}\n"
            "{\"id\":2,\"hash\":\"%s\",\"status\":-1,\"signal\":0,\"flags\":"
            "[\"timeout\",\"lost\"],\"attempt\":2,\"worker\":0,\"host\":"
            "\"n1\",\"start\":1700000000.123,\"runtime\":0.000,"
            "\"stdout_bytes\":5,\"stderr_bytes\":0,\"cpu\":0.000,"
            "\"max_rss\":0,\"command\":\"sleep 9\","
            "\"stdout\":\"done\\n\",\"stderr\":\"\"}\n"
            "{\"id\":3,\"hash\":\"%s\",\"status\":0,\"signal\":0,\"flags\":"
            "[\"oom\"],\"attempt\":1,\"worker\":0,\"host\":\"n1\",\"start\":"
            "1700000000.123,\"runtime\":1.235,\"stdout_bytes\":2,"
            "\"stderr_bytes\":0,\"cpu\":0.000,\"max_rss\":0,"
            "\"command\":\"echo c\",\"stdout\":\"c\\n\","
            "\"stderr\":\"\"}\n"
            "{\"id\":4,\"hash\":\"%s\",\"status\":0,\"signal\":0,\"flags\":[],"
            "\"attempt\":1,\"worker\":-1,\"host\":\"\",\"start\":"
            "1700000000.123,\"runtime\":1.235,\"stdout_bytes\":4,"
            "\"stderr_bytes\":3,\"cpu\":0.000,\"max_rss\":0,"
            "\"command\":\"bin\",\"stdout_b64\":"
            "\"bwD/Cg==\",\"stderr\":\"e\\u0000r\"}\n",
            hex_hash("printf 'a\\tb'\t\n", h[0]), hex_hash("sleep 9", h[1]),
            hex_hash("echo c", h[2]), hex_hash("bin", h[3])),
        0);
    buf_is(&out, want.data, want.len);
    buf_is_str(&err, "");
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    tf_buf_cleanup(&want);
    unlink(path);
}

/* The JSON line of one record whose stdout is the N bytes at S. */
static void
json_of_output(const char *s, size_t n, struct tf_buf *out)
{
    struct tf__result_rec rec = cli_rec(1, 1, "", "", "");
    struct tf__results *r;
    struct tf_error e;
    struct tf_buf err;
    char path[40];

    temp_path(path);
    rec.out = s;
    rec.out_len = n;
    tf_error_init(&e);
    assert_int_equal(tf__results_open(path, 0, &r, &e), 0);
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    assert_int_equal(tf__results_close(r, &e), 0);
    tf_buf_init(&err, 0);
    assert_int_equal(run_main((const char *const[]){"results", "--format",
                                                    "jsonl", path, NULL},
                              out, &err),
                     0);
    tf_buf_cleanup(&err);
    unlink(path);
}

/* Checks the stdout of a record comes out in JSON as "stdout":"WANT", or
 * as "stdout_b64":"WANT" when B64. */
static void
json_output_is(const char *s, size_t n, bool b64, const char *want)
{
    struct tf_buf out;
    char field[256];

    tf_buf_init(&out, 0);
    json_of_output(s, n, &out);
    snprintf(field, sizeof(field), ",\"stdout%s\":\"%s\",\"stderr\"",
             b64 ? "_b64" : "", want);
    if (strstr((const char *)out.data, field) == NULL)
        fail_msg("%s lacks %s", (const char *)out.data, field);
    tf_buf_cleanup(&out);
}

static void
test_results_main_jsonl_escapes_text_and_encodes_other_bytes(void **state)
{
    (void)state;
    /* Quote, backslash and every control character are escaped. */
    json_output_is("say \"hi\" \\ /", 12, false, "say \\\"hi\\\" \\\\ /");
    json_output_is("\b\f\n\r\t", 5, false, "\\b\\f\\n\\r\\t");
    json_output_is("\x01\x1f\x7f\0", 4, false, "\\u0001\\u001f\\u007f\\u0000");
    /* UTF-8 passes as it is, at every length and at the edges. */
    json_output_is("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, false,
                   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    json_output_is("\xc2\x80\xdf\xbf", 4, false, "\xc2\x80\xdf\xbf");
    json_output_is("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80", 9, false,
                   "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80");
    json_output_is("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8, false,
                   "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
    /* Anything else is base64, with each padding. */
    json_output_is("\xff", 1, true, "/w==");
    json_output_is("\xff\xfe", 2, true, "//4=");
    json_output_is("\xff\xfe\xfd", 3, true, "//79");
    json_output_is("a\x80", 2, true, "YYA=");        /* stray continuation */
    json_output_is("\xc0\x80", 2, true, "wIA=");     /* overlong NUL */
    json_output_is("\xc1\xbf", 2, true, "wb8=");     /* overlong */
    json_output_is("\xe0\x9f\xbf", 3, true, "4J+/"); /* overlong */
    json_output_is("\xed\xa0\x80", 3, true, "7aCA"); /* surrogate */
    json_output_is("\xf0\x8f\xbf\xbf", 4, true, "8I+/vw=="); /* overlong */
    json_output_is("\xf4\x90\x80\x80", 4, true, "9JCAgA=="); /* > U+10FFFF */
    json_output_is("\xf5\x80\x80\x80", 4, true, "9YCAgA==");
    json_output_is("\xe2\x82", 2, true, "4oI=");     /* cut short */
    json_output_is("\xe2\x28\xa1", 3, true, "4iih"); /* bad continuation */
}

static void
test_results_main_task_prints_its_output_bytes_exactly(void **state)
{
    struct tf_buf out;
    struct tf_buf err;
    char path[40];

    (void)state;
    temp_path(path);
    write_cli_file(path);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--task", "4", NULL},
                 &out, &err),
        0);
    buf_is(&out, "o\0\xff\n", 4);
    buf_is(&err, "e\0r", 3);
    /* The last record of a task that has two. */
    assert_int_equal(
        run_main((const char *const[]){"results", "--task=2", path, NULL}, &out,
                 &err),
        0);
    buf_is_str(&out, "done\n");
    buf_is_str(&err, "");
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    unlink(path);
}

static void
test_results_main_task_without_a_record_exits_1(void **state)
{
    struct tf_buf out;
    struct tf_buf err;
    char path[40];

    (void)state;
    temp_path(path);
    write_cli_file(path);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--task", "9", NULL},
                 &out, &err),
        1);
    buf_is_str(&out, "");
    one_line(&err);
    assert_non_null(strstr((const char *)err.data, "no record of task 9"));
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    unlink(path);
}

static void
usage_error(const char *const *args, const char *says)
{
    struct tf_buf out;
    struct tf_buf err;

    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    assert_int_equal(run_main(args, &out, &err), 2);
    buf_is_str(&out, "");
    one_line(&err);
    if (strstr((const char *)err.data, says) == NULL)
        fail_msg("'%s' lacks '%s'", (const char *)err.data, says);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
}

static void
test_results_main_usage_errors_exit_2_with_one_line(void **state)
{
    char path[40];

    (void)state;
    temp_path(path);
    write_cli_file(path);
    usage_error((const char *const[]){"results", NULL}, "no file given");
    usage_error((const char *const[]){"results", path, "--bogus", NULL},
                "unknown option '--bogus'");
    usage_error((const char *const[]){"results", path, "x", NULL},
                "unexpected argument 'x'");
    usage_error((const char *const[]){"results", path, "--format", "xml", NULL},
                "'xml' is not tsv or jsonl");
    usage_error((const char *const[]){"results", path, "--format", NULL},
                "needs a value");
    usage_error((const char *const[]){"results", path, "--task", "abc", NULL},
                "'abc' is not a whole number");
    usage_error((const char *const[]){"results", path, "--task", "0", NULL},
                "out of range");
    usage_error(
        (const char *const[]){"results", path, "--task", "1", "--all", NULL},
        "--task");
    unlink(path);
    usage_error((const char *const[]){"results", path, NULL}, path);
    usage_error((const char *const[]){"results", "/tmp", NULL},
                "not a regular file");
    tf_test_write_file(path, "id\thash\n", 8);
    usage_error((const char *const[]){"results", path, NULL},
                "not a taskfarm results file");
    unlink(path);
}

static void
test_results_main_help_prints_usage_and_exits_0(void **state)
{
    struct tf_buf out;
    struct tf_buf err;

    (void)state;
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    assert_int_equal(
        run_main((const char *const[]){"results", "--help", NULL}, &out, &err),
        0);
    assert_non_null(strstr((const char *)out.data, "Usage: taskfarm results"));
    assert_non_null(strstr((const char *)out.data, "--task N"));
    buf_is_str(&err, "");
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
}

static void
test_results_main_notes_a_torn_tail_and_prints_the_rest(void **state)
{
    static const int two[] = {1, 2};
    struct tf_buf out;
    struct tf_buf err;
    struct tf_buf f;
    char path[40];
    char note[80];

    (void)state;
    temp_path(path);
    add_gen(path, two, 2);
    tf_buf_init(&f, 0);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    tf_test_slurp(path, &f);
    tf_test_write_file(path, f.data, f.len - 5);
    assert_int_equal(
        run_main((const char *const[]){"results", path, NULL}, &out, &err), 0);
    assert_non_null(strstr((const char *)out.data, TSV_HEAD "2\t"));
    assert_null(strstr((const char *)out.data, "\n3\t"));
    one_line(&err);
    snprintf(note, sizeof(note), "ignored the last %" PRIu64 " bytes",
             gen_bytes(2) - 5);
    assert_non_null(strstr((const char *)err.data, note));
    /* A corrupt record in the middle prints nothing. */
    f.data[16 + 20] ^= 1;
    tf_test_write_file(path, f.data, f.len);
    usage_error((const char *const[]){"results", path, "--all", NULL},
                "corrupt record at byte 16");
    usage_error((const char *const[]){"results", path, NULL},
                "corrupt record at byte 16");
    tf_buf_cleanup(&f);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    unlink(path);
}

/* Fills the N bytes at P with a pattern that SEED sets apart. */
static void
fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + seed + i / 251);
}

static void
test_results_main_task_writes_its_pieces_then_its_record(void **state)
{
    size_t piece = TF__RESULTS_PIECE;
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error e;
    struct tf_buf want;
    struct tf_buf out;
    struct tf_buf err;
    unsigned char *big;
    char tail[1000];
    char path[40];

    (void)state;
    temp_path(path);
    big = malloc(2 * piece);
    assert_non_null(big);
    fill_pattern(big, 2 * piece, 1);
    memset(tail, 'z', sizeof(tail));
    tf_buf_init(&want, 0);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    tf_error_init(&e);
    assert_int_equal(tf__results_open(path, 0, &r, &e), 0);
    rec = kind_rec(TF__REC_TASK, 1, 0, "one\n", 4, "", 0);
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    /* Task 2's first attempt, lost, with a piece of its own. */
    rec = kind_rec(TF__REC_PIECE, 2, 0, "old piece\n", 10, "", 0);
    rec.attempt = 1;
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    rec = kind_rec(TF__REC_TASK, 2, TF__REC_PIECES | TF__REC_LOST, "old\n", 4,
                   "", 0);
    rec.attempt = 1;
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    /* A piece of task 9, and the run killed before its record. */
    rec = kind_rec(TF__REC_PIECE, 9, 0, "orphan\n", 7, "", 0);
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    assert_int_equal(tf__results_flush(r, false, &e), 0);
    assert_int_equal(tf__results_close(r, NULL), 0);
    /* The next run: task 2's retry, in two whole pieces of stdout, one of
     * stderr, and the record with the rest. */
    assert_int_equal(tf__results_open(path, 0, &r, &e), 0);
    rec = kind_rec(TF__REC_PIECE, 2, 0, big, piece, "", 0);
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    rec = kind_rec(TF__REC_PIECE, 2, 0, big + piece, piece, "", 0);
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    rec = kind_rec(TF__REC_PIECE, 2, 0, "", 0, "err:", 4);
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    rec = kind_rec(TF__REC_TASK, 2, TF__REC_PIECES, tail, sizeof(tail), "end\n",
                   4);
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    rec = kind_rec(TF__REC_TASK, 3, 0, "three\n", 6, "", 0);
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    assert_int_equal(tf__results_close(r, &e), 0);

    assert_int_equal(
        run_main((const char *const[]){"results", path, "--task", "2", NULL},
                 &out, &err),
        0);
    assert_int_equal(tf_buf_append(&want, big, 2 * piece), 0);
    assert_int_equal(tf_buf_append(&want, tail, sizeof(tail)), 0);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.data, want.data, want.len);
    buf_is_str(&err, "err:end\n");
    /* Its neighbours' output is their own. */
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--task", "1", NULL},
                 &out, &err),
        0);
    buf_is_str(&out, "one\n");
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--task", "3", NULL},
                 &out, &err),
        0);
    buf_is_str(&out, "three\n");
    buf_is_str(&err, "");
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--task", "9", NULL},
                 &out, &err),
        1);
    buf_is_str(&out, "");
    /* The listing counts every byte of the last attempt. */
    assert_int_equal(
        run_main((const char *const[]){"results", path, NULL}, &out, &err), 0);
    tf_buf_reset(&want);
    assert_int_equal(tf_buf_printf(&want,
                                   "\tpieces\t2\t3\tn1\t1700000000.123\t"
                                   "1.235\t%zu\t8\t0.000\t0\ttask\n3\t",
                                   2 * piece + sizeof(tail)),
                     0);
    if (strstr((const char *)out.data, (const char *)want.data) == NULL)
        fail_msg("'%s' lacks '%s'", (const char *)out.data,
                 (const char *)want.data);
    free(big);
    tf_buf_cleanup(&want);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    unlink(path);
}

static void
test_results_main_lists_totals_and_whole_output_of_tasks_in_pieces(void **state)
{
    uint64_t off[PIECES_FILE_N + 1];
    struct tf_buf out;
    struct tf_buf err;
    struct tf_buf want;
    char path[40];
    char h[17];

    (void)state;
    temp_path(path);
    write_pieces_file(path, off);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    tf_buf_init(&want, 0);
    hex_hash("task", h);
    assert_int_equal(
        tf_buf_printf(&want,
                      TSV_HEAD "7\t%s\t0\t0\twritten,pieces\t2\t3\tn1\t"
                               "1700000000.123\t1.235\t24\t12\t0.000\t0\ttask\n"
                               "8\t%s\t0\t0\t-\t2\t3\tn1\t1700000000.123\t"
                               "1.235\t6\t0\t0.000\t0\ttask\n"
                               "9\t%s\t0\t0\tpieces\t2\t3\tn1\t1700000000.123\t"
                               "1.235\t1\t0\t0.000\t0\ttask\n",
                      h, h, h),
        0);
    assert_int_equal(
        run_main((const char *const[]){"results", path, NULL}, &out, &err), 0);
    buf_is(&out, want.data, want.len);
    buf_is_str(&err, "");
    /* Pieces are not records of their own in a listing. */
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--all", NULL}, &out,
                 &err),
        0);
    buf_is(&out, want.data, want.len);

    /* In JSON the output is whole. */
    tf_buf_reset(&want);
    assert_int_equal(
        tf_buf_printf(
            &want,
            "{\"id\":7,\"hash\":\"%s\",\"status\":0,\"signal\":0,\"flags\":"
            "[\"written\",\"pieces\"],\"attempt\":2,\"worker\":3,\"host\":"
            "\"n1\",\"start\":1700000000.123,\"runtime\":1.235,"
            "\"stdout_bytes\":24,\"stderr_bytes\":12,\"cpu\":0.000,"
            "\"max_rss\":0,\"command\":\"task\","
            "\"stdout\":\"first piece\\nsecond\\ntail\\n\",\"stderr\":"
            "\"warn\\u0000ing\\ne2E\"}\n"
            "{\"id\":8,\"hash\":\"%s\",\"status\":0,\"signal\":0,\"flags\":"
            "[],\"attempt\":2,\"worker\":3,\"host\":\"n1\",\"start\":"
            "1700000000.123,\"runtime\":1.235,\"stdout_bytes\":6,"
            "\"stderr_bytes\":0,\"cpu\":0.000,\"max_rss\":0,"
            "\"command\":\"task\",\"stdout\":"
            "\"eight\\n\",\"stderr\":\"\"}\n"
            "{\"id\":9,\"hash\":\"%s\",\"status\":0,\"signal\":0,\"flags\":"
            "[\"pieces\"],\"attempt\":2,\"worker\":3,\"host\":\"n1\","
            "\"start\":1700000000.123,\"runtime\":1.235,\"stdout_bytes\":1,"
            "\"stderr_bytes\":0,\"cpu\":0.000,\"max_rss\":0,"
            "\"command\":\"task\",\"stdout\":\"n\","
            "\"stderr\":\"\"}\n",
            h, h, h),
        0);
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--format=jsonl", NULL},
                 &out, &err),
        0);
    buf_is(&out, want.data, want.len);
    buf_is_str(&err, "");
    assert_int_equal(run_main((const char *const[]){"results", path, "--all",
                                                    "--format=jsonl", NULL},
                              &out, &err),
                     0);
    buf_is(&out, want.data, want.len);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    tf_buf_cleanup(&want);
    unlink(path);
}

static void
test_results_main_lists_no_marks(void **state)
{
    struct tf__result_rec rec;
    struct tf__results *r;
    struct tf_error e;
    struct tf_buf out;
    struct tf_buf err;
    char path[40];
    const char *line;

    (void)state;
    temp_path(path);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    tf_error_init(&e);
    assert_int_equal(tf__results_open(path, 0, &r, &e), 0);
    rec = kind_rec(TF__REC_MARK, 0, 0, "", 0, "", 0);
    rec.cmd = "/out";
    rec.cmd_len = 4;
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    rec = kind_rec(TF__REC_TASK, 3, 0, "x\n", 2, "", 0);
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    rec = kind_rec(TF__REC_MARK, 3, 0, "", 0, "", 0);
    rec.out_end = 99;
    assert_int_equal(tf__results_add(r, &rec, &e), 0);
    assert_int_equal(tf__results_close(r, &e), 0);
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--all", NULL}, &out,
                 &err),
        0);
    line = (const char *)out.data + strlen(TSV_HEAD);
    assert_int_equal(strncmp(line, "3\t", 2), 0);
    assert_non_null(strchr(line, '\n'));
    assert_int_equal(strchr(line, '\n')[1], '\0');
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--task", "3", NULL},
                 &out, &err),
        0);
    buf_is_str(&out, "x\n");
    /* A mark is no record of a task. */
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--task", "1", NULL},
                 &out, &err),
        1);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    unlink(path);
}

static void
test_results_main_reads_a_version_1_file(void **state)
{
    struct tf__result_rec rec;
    struct tf_buf f;
    struct tf_buf out;
    struct tf_buf err;
    struct tf_buf want;
    char path[40];
    char h[17];

    (void)state;
    temp_path(path);
    tf_buf_init(&f, 0);
    tf_buf_init(&out, 0);
    tf_buf_init(&err, 0);
    tf_buf_init(&want, 0);
    put_file_header(&f, 1);
    rec = cli_rec(2, 1, "echo b", "bb\n", "e");
    put_rec(&f, &rec, 1);
    rec = cli_rec(1, 1, "echo a", "a\n", "");
    rec.flags = TF__REC_TIMEOUT;
    put_rec(&f, &rec, 1);
    tf_test_write_file(path, f.data, f.len);
    assert_int_equal(tf_buf_printf(&want,
                                   TSV_HEAD
                                   "1\t%s\t0\t0\ttimeout\t1\t0\tn1\t"
                                   "1700000000.123\t1.235\t2\t0\t0.000\t0\t"
                                   "echo a\n",
                                   hex_hash("echo a", h)),
                     0);
    assert_int_equal(tf_buf_printf(&want,
                                   "2\t%s\t0\t0\t-\t1\t0\tn1\t1700000000.123\t"
                                   "1.235\t3\t1\t0.000\t0\techo b\n",
                                   hex_hash("echo b", h)),
                     0);
    assert_int_equal(
        run_main((const char *const[]){"results", path, NULL}, &out, &err), 0);
    buf_is(&out, want.data, want.len);
    buf_is_str(&err, "");
    assert_int_equal(
        run_main((const char *const[]){"results", path, "--task", "2", NULL},
                 &out, &err),
        0);
    buf_is_str(&out, "bb\n");
    buf_is_str(&err, "e");
    /* Reading it leaves it as it was. */
    tf_test_slurp(path, &out);
    assert_int_equal(out.len, f.len);
    assert_memory_equal(out.data, f.data, f.len);
    tf_buf_cleanup(&f);
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&err);
    tf_buf_cleanup(&want);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_hash_is_fnv1a_64),
        cmocka_unit_test(test_crc32c_is_castagnoli_and_continues_across_pieces),
        cmocka_unit_test(test_file_has_the_documented_header_and_record_layout),
        cmocka_unit_test(test_round_trip_of_many_records_with_odd_contents),
        cmocka_unit_test(test_reopen_appends_after_existing_records),
        cmocka_unit_test(test_empty_and_header_only_files_have_no_records),
        cmocka_unit_test(
            test_file_cut_anywhere_in_its_last_record_reads_the_records_before),
        cmocka_unit_test(test_file_cut_inside_its_header_has_no_records),
        cmocka_unit_test(test_open_warns_when_it_drops_a_torn_tail),
        cmocka_unit_test(
            test_flipped_byte_in_a_middle_record_is_einput_naming_its_offset),
        cmocka_unit_test(test_flipped_byte_in_the_last_record_is_a_torn_tail),
        cmocka_unit_test(
            test_record_inside_a_task_output_is_not_taken_for_a_record),
        cmocka_unit_test(
            test_record_with_right_checksums_but_a_bad_body_is_not_read),
        cmocka_unit_test(test_not_a_results_file_is_einput),
        cmocka_unit_test(test_callback_return_value_stops_the_scan),
        cmocka_unit_test(test_damaged_files_never_yield_a_wrong_record),
        cmocka_unit_test(
            test_write_failure_leaves_the_file_ending_with_a_whole_record),
        cmocka_unit_test(
            test_record_over_the_size_limit_is_einput_and_writes_nothing),
        cmocka_unit_test(test_second_open_of_a_file_in_use_is_eusage),
        cmocka_unit_test(test_open_of_an_unwritable_path_is_eusage_naming_it),
        cmocka_unit_test(
            test_records_wait_for_a_flush_and_due_follows_the_interval),
        cmocka_unit_test(test_big_records_wait_for_a_flush_as_small_ones_do),
        cmocka_unit_test(test_close_of_null_is_a_no_op),
        cmocka_unit_test(
            test_version_1_file_reads_back_every_field_as_task_records),
        cmocka_unit_test(
            test_older_file_opened_for_appending_becomes_version_3),
        cmocka_unit_test(test_file_mixing_versions_1_2_and_3_records_reads_all),
        cmocka_unit_test(
            test_version_2_body_under_a_version_3_magic_is_not_a_record),
        cmocka_unit_test(test_record_of_an_unknown_kind_is_not_a_record),
        cmocka_unit_test(test_pieces_add_up_to_the_totals_of_their_task_record),
        cmocka_unit_test(
            test_task_record_without_pieces_keeps_a_larger_given_total),
        cmocka_unit_test(
            test_reader_output_yields_the_pieces_then_the_record_in_order),
        cmocka_unit_test(
            test_reader_at_finds_each_record_at_its_offset_and_nothing_between),
        cmocka_unit_test(test_mark_round_trips_and_is_not_a_task_record),
        cmocka_unit_test(
            test_cut_drops_exactly_the_records_added_after_the_point),
        cmocka_unit_test(
            test_close_without_an_error_buffer_writes_nothing_pending),
        cmocka_unit_test(
            test_open_drops_trailing_pieces_so_a_later_run_reads_only_its_own),
        cmocka_unit_test(
            test_results_main_prints_last_record_of_each_task_in_task_order),
        cmocka_unit_test(
            test_results_main_all_prints_every_record_in_file_order),
        cmocka_unit_test(
            test_results_main_jsonl_has_every_field_and_bytes_as_base64),
        cmocka_unit_test(
            test_results_main_jsonl_escapes_text_and_encodes_other_bytes),
        cmocka_unit_test(
            test_results_main_task_prints_its_output_bytes_exactly),
        cmocka_unit_test(test_results_main_task_without_a_record_exits_1),
        cmocka_unit_test(test_results_main_usage_errors_exit_2_with_one_line),
        cmocka_unit_test(test_results_main_help_prints_usage_and_exits_0),
        cmocka_unit_test(
            test_results_main_notes_a_torn_tail_and_prints_the_rest),
        cmocka_unit_test(
            test_results_main_task_writes_its_pieces_then_its_record),
        cmocka_unit_test(
            test_results_main_lists_totals_and_whole_output_of_tasks_in_pieces),
        cmocka_unit_test(test_results_main_lists_no_marks),
        cmocka_unit_test(test_results_main_reads_a_version_1_file),
    };

    /* Opening a torn file warns; one test checks the warning, the others
     * need not print it. */
    tf__log_set_level(TF_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
