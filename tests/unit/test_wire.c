/* test_wire.c - unit tests of message framing, encoding and decoding */
#include <stdio.h>
#include <stdlib.h>

#include "tf_test.h"
#include "transport.h"
#include "wire.h"

/* A copy of N bytes in a heap block of exactly N bytes, so that ASan
 * reports a decoder that reads one byte past what it was given. */
static unsigned char *
exact_copy(const void *p, size_t n)
{
    unsigned char *c = malloc(n > 0 ? n : 1);

    assert_non_null(c);
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Checks FRAME's header says TYPE and the length of the rest of FRAME. */
static void
frame_is(const struct tf_buf *frame, int type)
{
    struct tf_error err;
    size_t payload = 12345;
    int got = -1;

    assert_true(frame->len >= TF__WIRE_HDR);
    assert_int_equal(
        tf__wire_header(frame->data, frame->len, &got, &payload, &err), 0);
    assert_int_equal(got, type);
    assert_int_equal(payload, frame->len - TF__WIRE_HDR);
}

/* A 12-byte header written by hand, independent of tf__wire_begin. */
static void
make_header(unsigned char *h, uint32_t magic, int version, int type,
            uint32_t len)
{
    put_le32(h, magic);
    h[4] = (unsigned char)version;
    h[5] = (unsigned char)type;
    h[6] = 0;
    h[7] = 0;
    put_le32(h + 8, len);
}

/* The last message type; the one after it is unknown. */
#define LAST_MSG TF__MSG_WINDOW

static int
header_rc(const unsigned char *h, size_t len, struct tf_error *err)
{
    size_t payload;
    int type;

    tf_error_init(err);
    return tf__wire_header(h, len, &type, &payload, err);
}

/* ------------------------------------------------------------ builders */

struct task_spec {
    uint64_t id;
    const void *p;
    size_t n;
};

/* The memory need the tests give task ID: every bit of it varies; none for
 * even ids (the need is then left out of the message). */
#define MEM_OF(id)                                                           \
    ((id) % 2 == 0 ? 0 : (uint64_t)(id) ^ 0xa5a5a5a5a5a5a5a5u)

static void
build_work(struct tf_buf *buf, uint64_t chunk, const struct task_spec *t,
           uint32_t count)
{
    struct tf_error err;
    uint32_t i;

    assert_int_equal(tf__wire_work_begin(buf, chunk, 3), 0);
    for (i = 0; i < count; i++)
        assert_int_equal(
            tf__wire_work_add(buf, t[i].id, MEM_OF(t[i].id), t[i].p, t[i].n),
            0);
    assert_int_equal(tf__wire_work_end(buf, count, &err), 0);
    frame_is(buf, TF__MSG_WORK);
}

/* Decodes the WORK payload at P and checks it holds exactly T. */
static void
work_holds(const void *p, size_t len, uint64_t chunk, const struct task_spec *t,
           uint32_t count)
{
    unsigned char *copy = exact_copy(p, len);
    struct tf__work_reader w;
    struct tf_error err;
    const void *data;
    uint64_t id;
    uint64_t mem;
    size_t n;
    uint32_t i;

    assert_int_equal(tf__wire_work_open(&w, copy, len, &err), 0);
    assert_int_equal(w.chunk, chunk);
    assert_int_equal(w.count, count);
    assert_int_equal(w.fn, 3); /* what build_work() wrote */
    for (i = 0; i < count; i++) {
        assert_int_equal(tf__wire_work_next(&w, &id, &mem, &data, &n), 1);
        assert_int_equal(id, t[i].id);
        assert_int_equal(mem, MEM_OF(t[i].id));
        assert_int_equal(n, t[i].n);
        if (n > 0)
            assert_memory_equal(data, t[i].p, n);
    }
    assert_int_equal(tf__wire_work_next(&w, &id, &mem, &data, &n), 0);
    assert_int_equal(tf__wire_work_next(&w, &id, &mem, &data, &n), 0);
    free(copy);
}

static void
build_results(struct tf_buf *buf, uint32_t chunks_done, uint64_t busy_us,
              const struct tf__wire_result *r, uint32_t count)
{
    struct tf_error err;
    uint32_t i;

    assert_int_equal(tf__wire_results_begin(buf), 0);
    for (i = 0; i < count; i++)
        assert_int_equal(tf__wire_results_add(buf, &r[i]), 0);
    assert_int_equal(
        tf__wire_results_end(buf, chunks_done, busy_us, count, &err), 0);
    frame_is(buf, TF__MSG_RESULTS);
}

static void
results_hold(const void *p, size_t len, uint32_t chunks_done, uint64_t busy_us,
             const struct tf__wire_result *want, uint32_t count)
{
    unsigned char *copy = exact_copy(p, len);
    struct tf__results_reader rr;
    struct tf__wire_result got;
    struct tf_error err;
    uint32_t i;

    assert_int_equal(tf__wire_results_open(&rr, copy, len, &err), 0);
    assert_int_equal(rr.chunks_done, chunks_done);
    assert_int_equal(rr.busy_us, busy_us);
    assert_int_equal(rr.count, count);
    for (i = 0; i < count; i++) {
        assert_int_equal(tf__wire_results_next(&rr, &got), 1);
        assert_int_equal(got.id, want[i].id);
        assert_int_equal(got.status, want[i].status);
        assert_int_equal(got.signal, want[i].signal);
        assert_true(got.start_us == want[i].start_us);
        assert_int_equal(got.runtime_us, want[i].runtime_us);
        assert_int_equal(got.cpu_us, want[i].cpu_us);
        assert_int_equal(got.peak_bytes, want[i].peak_bytes);
        assert_int_equal(got.out_len, want[i].out_len);
        assert_int_equal(got.err_len, want[i].err_len);
        if (got.out_len > 0)
            assert_memory_equal(got.out, want[i].out, got.out_len);
        if (got.err_len > 0)
            assert_memory_equal(got.err, want[i].err, got.err_len);
    }
    assert_int_equal(tf__wire_results_next(&rr, &got), 0);
    free(copy);
}

static const unsigned char binary[] = {0x00, 0xff, 0x0a, 0x0d, 0x00, 0x80,
                                       0x7f, 0x01, 'T',  'F',  'R',  'M'};

/* A WORK payload with a spread of task shapes, used by the truncation
 * and corruption tests. */
static void
sample_work(struct tf_buf *buf)
{
    static const struct task_spec t[] = {
        {1, "first", 5},
        {2, "", 0},
        {UINT64_MAX, binary, sizeof(binary)},
        {40, "a somewhat longer task line with spaces", 39},
    };

    build_work(buf, 99, t, 4);
}

static void
sample_results(struct tf_buf *buf)
{
    static const struct tf__wire_result r[] = {
        {1, 0, 0, 1700000000000000, 12, 11, 4096, "out\n", 4, "", 0},
        {2, -1, 9, -5, 0, 0, 0, "", 0, "err", 3},
        {UINT64_MAX, 127, 0, 0, UINT64_MAX, UINT64_MAX, UINT64_MAX, binary,
         sizeof(binary), binary, sizeof(binary)},
    };

    build_results(buf, 1, 777, r, 3);
}

/* ---------------------------------------------------------------- HELLO */

static void
test_hello_round_trips_pid_cpus_and_host(void **state)
{
    struct tf__hello h = {4242, 128, "node017.cluster", 15};
    struct tf__hello got;
    struct tf_error err;
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(tf__wire_put_hello(&buf, &h, &err), 0);
    frame_is(&buf, TF__MSG_HELLO);
    assert_int_equal(tf__wire_get_hello(buf.data + TF__WIRE_HDR,
                                        buf.len - TF__WIRE_HDR, &got, &err),
                     0);
    assert_int_equal(got.pid, 4242);
    assert_int_equal(got.cpus, 128);
    assert_int_equal(got.host_len, 15);
    assert_memory_equal(got.host, "node017.cluster", 15);
    tf_buf_cleanup(&buf);
}

static void
test_hello_round_trips_extreme_values_and_empty_host(void **state)
{
    struct tf__hello h = {UINT32_MAX, 0, "", 0};
    struct tf__hello got;
    struct tf_error err;
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(tf__wire_put_hello(&buf, &h, &err), 0);
    assert_int_equal(tf__wire_get_hello(buf.data + TF__WIRE_HDR,
                                        buf.len - TF__WIRE_HDR, &got, &err),
                     0);
    assert_int_equal(got.pid, UINT32_MAX);
    assert_int_equal(got.cpus, 0);
    assert_int_equal(got.host_len, 0);
    tf_buf_cleanup(&buf);
}

static void
test_hello_rejects_every_truncation_and_trailing_bytes(void **state)
{
    struct tf__hello h = {1, 2, "host", 4};
    struct tf__hello got;
    struct tf_error err;
    struct tf_buf buf;
    const unsigned char *payload;
    size_t len;
    size_t k;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(tf__wire_put_hello(&buf, &h, &err), 0);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    for (k = 0; k < len; k++) {
        unsigned char *c = exact_copy(payload, k);

        if (tf__wire_get_hello(c, k, &got, &err) != TF_EPROTO)
            fail_msg("a HELLO cut to %zu of %zu bytes was accepted", k, len);
        free(c);
    }
    /* One byte too many. */
    assert_int_equal(tf_buf_append(&buf, "x", 1), 0);
    assert_int_equal(
        tf__wire_get_hello(buf.data + TF__WIRE_HDR, len + 1, &got, &err),
        TF_EPROTO);
    assert_non_null(strstr(err.msg, "HELLO"));
    tf_buf_cleanup(&buf);
}

static void
test_hello_rejects_host_longer_than_255_bytes(void **state)
{
    char host[256];
    struct tf__hello h = {1, 1, host, 0};
    struct tf__hello got;
    struct tf_error err;
    struct tf_buf buf;

    (void)state;
    memset(host, 'h', sizeof(host));
    tf_buf_init(&buf, 0);
    h.host_len = 255;
    assert_int_equal(tf__wire_put_hello(&buf, &h, &err), 0);
    assert_int_equal(tf__wire_get_hello(buf.data + TF__WIRE_HDR,
                                        buf.len - TF__WIRE_HDR, &got, &err),
                     0);
    assert_int_equal(got.host_len, 255);
    h.host_len = 256;
    assert_int_equal(tf__wire_put_hello(&buf, &h, &err), 0);
    assert_int_equal(tf__wire_get_hello(buf.data + TF__WIRE_HDR,
                                        buf.len - TF__WIRE_HDR, &got, &err),
                     TF_EPROTO);
    tf_buf_cleanup(&buf);
}

/* ---------------------------------------------------------------- ERROR */

static void
test_error_round_trips_code_and_message(void **state)
{
    static const int codes[] = {TF_EUSAGE,     TF_EINPUT, TF_ENOMEM, TF_ESYS,
                                TF_ETRANSPORT, TF_EPROTO, TF_ETASK,  TF_EPEER};
    struct tf_error err;
    struct tf_error out;
    struct tf_buf buf;
    size_t i;
    int code;

    (void)state;
    tf_buf_init(&buf, 0);
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char msg[64];

        snprintf(msg, sizeof(msg), "task %zu: cannot run 'x'", i);
        assert_int_equal(tf__wire_put_error(&buf, codes[i], msg, &err), 0);
        frame_is(&buf, TF__MSG_ERROR);
        code = 0;
        tf_error_init(&out);
        assert_int_equal(tf__wire_get_error(buf.data + TF__WIRE_HDR,
                                            buf.len - TF__WIRE_HDR, &code, &out,
                                            &err),
                         0);
        assert_int_equal(code, codes[i]);
        assert_int_equal(out.code, codes[i]);
        assert_string_equal(out.msg, msg);
    }
    tf_buf_cleanup(&buf);
}

static void
test_error_round_trips_empty_message(void **state)
{
    struct tf_error err;
    struct tf_error out;
    struct tf_buf buf;
    int code;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(tf__wire_put_error(&buf, TF_ESYS, "", &err), 0);
    strcpy(out.msg, "stale");
    assert_int_equal(tf__wire_get_error(buf.data + TF__WIRE_HDR,
                                        buf.len - TF__WIRE_HDR, &code, &out,
                                        &err),
                     0);
    assert_int_equal(code, TF_ESYS);
    assert_string_equal(out.msg, "");
    tf_buf_cleanup(&buf);
}

static void
test_error_cuts_overlong_message_to_fit_and_terminates_it(void **state)
{
    char msg[2000];
    struct tf_error err;
    struct tf_error out;
    struct tf_buf buf;
    int code;

    (void)state;
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    tf_buf_init(&buf, 0);
    assert_int_equal(tf__wire_put_error(&buf, TF_EINPUT, msg, &err), 0);
    assert_int_equal(tf__wire_get_error(buf.data + TF__WIRE_HDR,
                                        buf.len - TF__WIRE_HDR, &code, &out,
                                        &err),
                     0);
    assert_int_equal(strlen(out.msg), sizeof(out.msg) - 1);
    assert_memory_equal(out.msg, msg, sizeof(out.msg) - 1);
    tf_buf_cleanup(&buf);
}

static void
test_error_rejects_zero_or_out_of_range_code(void **state)
{
    unsigned char p[8];
    struct tf_error err;
    struct tf_error out;
    int code;

    (void)state;
    put_le32(p + 4, 0); /* empty message */
    put_le32(p, 0);
    assert_int_equal(tf__wire_get_error(p, 8, &code, &out, &err), TF_EPROTO);
    put_le32(p, 101);
    assert_int_equal(tf__wire_get_error(p, 8, &code, &out, &err), TF_EPROTO);
    put_le32(p, UINT32_MAX);
    assert_int_equal(tf__wire_get_error(p, 8, &code, &out, &err), TF_EPROTO);
    put_le32(p, 100);
    assert_int_equal(tf__wire_get_error(p, 8, &code, &out, &err), 0);
    assert_int_equal(code, -100);
}

static void
test_error_rejects_every_truncation_and_bad_message_length(void **state)
{
    struct tf_error err;
    struct tf_error out;
    struct tf_buf buf;
    unsigned char *payload;
    size_t len;
    size_t k;
    int code;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(tf__wire_put_error(&buf, TF_ESYS, "worker broke", &err),
                     0);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    for (k = 0; k < len; k++) {
        unsigned char *c = exact_copy(payload, k);

        if (tf__wire_get_error(c, k, &code, &out, &err) != TF_EPROTO)
            fail_msg("an ERROR cut to %zu of %zu bytes was accepted", k, len);
        free(c);
    }
    /* The message length points one byte past the end. */
    put_le32(payload + 4, (uint32_t)(len - 8 + 1));
    assert_int_equal(tf__wire_get_error(payload, len, &code, &out, &err),
                     TF_EPROTO);
    put_le32(payload + 4, UINT32_MAX);
    assert_int_equal(tf__wire_get_error(payload, len, &code, &out, &err),
                     TF_EPROTO);
    /* Shorter than what follows: trailing bytes. */
    put_le32(payload + 4, (uint32_t)(len - 8 - 1));
    assert_int_equal(tf__wire_get_error(payload, len, &code, &out, &err),
                     TF_EPROTO);
    tf_buf_cleanup(&buf);
}

/* ----------------------------------------------------------------- WORK */

static void
test_work_round_trips_empty_chunk(void **state)
{
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    build_work(&buf, 0, NULL, 0);
    assert_int_equal(buf.len, TF__WIRE_HDR + 16);
    work_holds(buf.data + TF__WIRE_HDR, buf.len - TF__WIRE_HDR, 0, NULL, 0);
    tf_buf_cleanup(&buf);
}

static void
test_work_round_trips_one_task(void **state)
{
    static const struct task_spec t[] = {{17, "gzip -9 file.txt", 16}};
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    build_work(&buf, 5, t, 1);
    assert_int_equal(buf.len, TF__WIRE_HDR + 16 + 20 + 16);
    work_holds(buf.data + TF__WIRE_HDR, buf.len - TF__WIRE_HDR, 5, t, 1);
    tf_buf_cleanup(&buf);
}

static void
test_work_round_trips_empty_and_binary_payloads_and_big_ids(void **state)
{
    static const struct task_spec t[] = {
        {0, "", 0},
        {1, binary, sizeof(binary)},
        {UINT64_MAX, "", 0},
        {UINT64_MAX - 1, binary, 1},
        {(uint64_t)1 << 40, "\0\0\0", 3},
    };
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    build_work(&buf, UINT64_MAX, t, 5);
    work_holds(buf.data + TF__WIRE_HDR, buf.len - TF__WIRE_HDR, UINT64_MAX, t,
               5);
    tf_buf_cleanup(&buf);
}

static void
test_work_round_trips_many_tasks_of_varied_length(void **state)
{
    enum { N = 2000 };
    static unsigned char bytes[N * 7];
    static struct task_spec t[N];
    struct tf_buf buf;
    size_t off = 0;
    uint32_t i;

    (void)state;
    for (i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)(i * 131 + 7);
    for (i = 0; i < N; i++) {
        t[i].id = (uint64_t)i * 1000003u + 1;
        t[i].n = i % 13;
        t[i].p = bytes + off;
        off += t[i].n;
    }
    tf_buf_init(&buf, 0);
    build_work(&buf, 3, t, N);
    work_holds(buf.data + TF__WIRE_HDR, buf.len - TF__WIRE_HDR, 3, t, N);
    tf_buf_cleanup(&buf);
}

static void
test_work_begin_empties_the_buffer_for_reuse(void **state)
{
    static const struct task_spec a[] = {{1, "aaaa", 4}, {2, "bb", 2}};
    static const struct task_spec b[] = {{3, "c", 1}};
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    build_work(&buf, 1, a, 2);
    build_work(&buf, 2, b, 1);
    work_holds(buf.data + TF__WIRE_HDR, buf.len - TF__WIRE_HDR, 2, b, 1);
    tf_buf_cleanup(&buf);
}

static void
test_work_open_rejects_every_truncation(void **state)
{
    struct tf__work_reader w;
    struct tf_error err;
    struct tf_buf buf;
    const unsigned char *payload;
    size_t len;
    size_t k;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_work(&buf);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    for (k = 0; k < len; k++) {
        unsigned char *c = exact_copy(payload, k);
        int rc;

        tf_error_init(&err);
        rc = tf__wire_work_open(&w, c, k, &err);
        if (rc != TF_EPROTO)
            fail_msg("a WORK payload cut to %zu of %zu bytes gave %d", k, len,
                     rc);
        assert_non_null(strstr(err.msg, "WORK"));
        free(c);
    }
    tf_buf_cleanup(&buf);
}

/* Runs work_open over a private copy of PAYLOAD with the u32 at OFF set to
 * V, and returns its result. */
static int
work_open_patched(const unsigned char *payload, size_t len, size_t off,
                  uint32_t v)
{
    unsigned char *c = exact_copy(payload, len);
    struct tf__work_reader w;
    struct tf_error err;
    int rc;

    put_le32(c + off, v);
    rc = tf__wire_work_open(&w, c, len, &err);
    free(c);
    return rc;
}

static void
test_work_open_rejects_corrupted_count(void **state)
{
    struct tf_buf buf;
    const unsigned char *payload;
    size_t len;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_work(&buf);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    assert_int_equal(get_le32(payload + 8), 4);
    assert_int_equal(work_open_patched(payload, len, 8, 4), 0);
    /* One task more than present, and absurd counts. */
    assert_int_equal(work_open_patched(payload, len, 8, 5), TF_EPROTO);
    assert_int_equal(work_open_patched(payload, len, 8, 1000), TF_EPROTO);
    assert_int_equal(work_open_patched(payload, len, 8, UINT32_MAX), TF_EPROTO);
    /* Fewer than present: the rest is trailing garbage. */
    assert_int_equal(work_open_patched(payload, len, 8, 3), TF_EPROTO);
    assert_int_equal(work_open_patched(payload, len, 8, 0), TF_EPROTO);
    tf_buf_cleanup(&buf);
}

static void
test_work_open_rejects_task_length_past_the_end(void **state)
{
    struct tf_buf buf;
    const unsigned char *payload;
    size_t len;
    size_t first_len_at = 16 + 8; /* after chunk, count, fn and the first
                                     id; its memory need follows */
    size_t last_len_at;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_work(&buf);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    last_len_at = len - 39 - 4;
    assert_int_equal(get_le32(payload + first_len_at), 5 | 0x80000000u);
    assert_int_equal(get_le32(payload + last_len_at), 39);
    assert_int_equal(work_open_patched(payload, len, last_len_at, 40),
                     TF_EPROTO);
    assert_int_equal(work_open_patched(payload, len, last_len_at, UINT32_MAX),
                     TF_EPROTO);
    assert_int_equal(
        work_open_patched(payload, len, first_len_at, (uint32_t)len),
        TF_EPROTO);
    assert_int_equal(work_open_patched(payload, len, first_len_at, UINT32_MAX),
                     TF_EPROTO);
    assert_int_equal(
        work_open_patched(payload, len, first_len_at, UINT32_MAX - 3),
        TF_EPROTO);
    /* A length one short leaves a byte over at the end. */
    assert_int_equal(work_open_patched(payload, len, last_len_at, 38),
                     TF_EPROTO);
    tf_buf_cleanup(&buf);
}

static void
test_work_open_rejects_trailing_garbage(void **state)
{
    struct tf__work_reader w;
    struct tf_error err;
    struct tf_buf buf;
    size_t len;
    size_t extra;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_work(&buf);
    len = buf.len - TF__WIRE_HDR;
    for (extra = 1; extra <= 16; extra++) {
        unsigned char *c = calloc(1, len + extra);

        assert_non_null(c);
        memcpy(c, buf.data + TF__WIRE_HDR, len);
        assert_int_equal(tf__wire_work_open(&w, c, len + extra, &err),
                         TF_EPROTO);
        free(c);
    }
    tf_buf_cleanup(&buf);
}

/* -------------------------------------------------------------- RESULTS */

static void
test_results_round_trip_outputs_and_extreme_values(void **state)
{
    static const struct tf__wire_result r[] = {
        {1, 0, 0, 1700000000123456, 1234567, 1000000, 209715200, "hello\n", 6,
         "", 0},
        {2, -1, 0, 0, 0, 0, 0, "", 0, "warning: x\n", 11},
        {3, INT32_MIN, INT32_MAX & ~TF__SIG_USAGE, INT64_MIN, UINT64_MAX,
         UINT64_MAX, 1, binary,
         sizeof(binary), binary + 1, sizeof(binary) - 1},
        {UINT64_MAX, 128 + 9, 9 | TF__SIG_OOM, INT64_MAX, 1, 2, 3, "o", 1, "e",
         1},
        {(uint64_t)1 << 63, -127, ~TF__SIG_USAGE, -1, 42, 0, (uint64_t)1 << 63,
         "", 0, "", 0},
    };
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    build_results(&buf, 2, UINT64_MAX, r, 5);
    results_hold(buf.data + TF__WIRE_HDR, buf.len - TF__WIRE_HDR, 2, UINT64_MAX,
                 r, 5);
    tf_buf_cleanup(&buf);
}

/* A result without measurements leaves their 16 bytes out; the wire's own
 * bit in the signal field cannot be sent. */
static void
test_results_leave_out_usage_when_none(void **state)
{
    struct tf__wire_result r[] = {
        {7, 0, 0, 1, 2, 0, 0, "x", 1, "", 0},
        {8, 0, 0, 1, 2, 0, 5, "x", 1, "", 0},
    };
    struct tf_buf a;
    struct tf_buf b;

    (void)state;
    tf_buf_init(&a, 0);
    tf_buf_init(&b, 0);
    build_results(&a, 0, 0, r, 1);
    build_results(&b, 0, 0, r + 1, 1);
    assert_int_equal(b.len - a.len, 16);
    results_hold(a.data + TF__WIRE_HDR, a.len - TF__WIRE_HDR, 0, 0, r, 1);
    results_hold(b.data + TF__WIRE_HDR, b.len - TF__WIRE_HDR, 0, 0, r + 1, 1);
    r[0].signal = TF__SIG_USAGE;
    assert_int_equal(tf__wire_results_add(&a, &r[0]), TF_EINPUT);
    tf_buf_cleanup(&a);
    tf_buf_cleanup(&b);
}

static void
test_results_round_trip_none_and_partial_message(void **state)
{
    static const struct tf__wire_result r[] = {
        {10, 0, 0, 5, 6, 7, 8, "x\n", 2, "", 0},
    };
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    build_results(&buf, 0, 0, NULL, 0);
    assert_int_equal(buf.len, TF__WIRE_HDR + 16);
    results_hold(buf.data + TF__WIRE_HDR, buf.len - TF__WIRE_HDR, 0, 0, NULL,
                 0);
    build_results(&buf, 0, 99, r, 1);
    results_hold(buf.data + TF__WIRE_HDR, buf.len - TF__WIRE_HDR, 0, 99, r, 1);
    tf_buf_cleanup(&buf);
}

static void
test_results_round_trip_many_results(void **state)
{
    enum { N = 500 };
    static struct tf__wire_result r[N];
    static char text[N][24];
    struct tf_buf buf;
    uint32_t i;

    (void)state;
    for (i = 0; i < N; i++) {
        int n = snprintf(text[i], sizeof(text[i]), "%u\n", (unsigned)i);

        r[i].id = (uint64_t)i * 7919u + 1;
        r[i].status = (int32_t)(i % 3) - 1;
        r[i].signal = (int32_t)(i % 5);
        r[i].start_us = (int64_t)i * 1000 - 250000;
        r[i].runtime_us = (uint64_t)i * i;
        r[i].cpu_us = (uint64_t)i * 3;
        r[i].peak_bytes = (uint64_t)i << 20;
        r[i].out = text[i];
        r[i].out_len = (size_t)n;
        r[i].err = text[i];
        r[i].err_len = i % 2 == 0 ? 0 : (size_t)n - 1;
    }
    tf_buf_init(&buf, 0);
    build_results(&buf, 1, 123456789, r, N);
    results_hold(buf.data + TF__WIRE_HDR, buf.len - TF__WIRE_HDR, 1, 123456789,
                 r, N);
    tf_buf_cleanup(&buf);
}

static void
test_results_open_rejects_every_truncation(void **state)
{
    struct tf__results_reader rr;
    struct tf_error err;
    struct tf_buf buf;
    const unsigned char *payload;
    size_t len;
    size_t k;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_results(&buf);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    for (k = 0; k < len; k++) {
        unsigned char *c = exact_copy(payload, k);
        int rc;

        tf_error_init(&err);
        rc = tf__wire_results_open(&rr, c, k, &err);
        if (rc != TF_EPROTO)
            fail_msg("a RESULTS payload cut to %zu of %zu bytes gave %d", k,
                     len, rc);
        assert_non_null(strstr(err.msg, "RESULTS"));
        free(c);
    }
    tf_buf_cleanup(&buf);
}

static int
results_open_patched(const unsigned char *payload, size_t len, size_t off,
                     uint32_t v)
{
    unsigned char *c = exact_copy(payload, len);
    struct tf__results_reader rr;
    struct tf_error err;
    int rc;

    put_le32(c + off, v);
    rc = tf__wire_results_open(&rr, c, len, &err);
    free(c);
    return rc;
}

static void
test_results_open_rejects_corrupted_counts(void **state)
{
    struct tf_buf buf;
    const unsigned char *payload;
    size_t len;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_results(&buf);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    assert_int_equal(get_le32(payload + 12), 3);
    assert_int_equal(results_open_patched(payload, len, 12, 3), 0);
    assert_int_equal(results_open_patched(payload, len, 12, 4), TF_EPROTO);
    assert_int_equal(results_open_patched(payload, len, 12, 100), TF_EPROTO);
    assert_int_equal(results_open_patched(payload, len, 12, UINT32_MAX),
                     TF_EPROTO);
    assert_int_equal(results_open_patched(payload, len, 12, 2), TF_EPROTO);
    assert_int_equal(results_open_patched(payload, len, 12, 0), TF_EPROTO);
    /* A message completes at most the chunk being run and the one before. */
    assert_int_equal(results_open_patched(payload, len, 0, 2), 0);
    assert_int_equal(results_open_patched(payload, len, 0, 3), TF_EPROTO);
    assert_int_equal(results_open_patched(payload, len, 0, UINT32_MAX),
                     TF_EPROTO);
    tf_buf_cleanup(&buf);
}

static void
test_results_open_rejects_byte_lengths_past_the_end(void **state)
{
    struct tf_buf buf;
    const unsigned char *payload;
    size_t len;
    size_t out_len_at = 16 + 48;            /* first result's out length */
    size_t err_len_at = out_len_at + 4 + 4; /* after "out\n" */
    size_t last_err_len_at;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_results(&buf);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    last_err_len_at = len - sizeof(binary) - 4;
    assert_int_equal(get_le32(payload + out_len_at), 4);
    assert_int_equal(get_le32(payload + err_len_at), 0);
    assert_int_equal(get_le32(payload + last_err_len_at), sizeof(binary));
    assert_int_equal(
        results_open_patched(payload, len, out_len_at, (uint32_t)len),
        TF_EPROTO);
    assert_int_equal(results_open_patched(payload, len, out_len_at, UINT32_MAX),
                     TF_EPROTO);
    assert_int_equal(
        results_open_patched(payload, len, err_len_at, UINT32_MAX - 1),
        TF_EPROTO);
    assert_int_equal(
        results_open_patched(payload, len, last_err_len_at, sizeof(binary) + 1),
        TF_EPROTO);
    assert_int_equal(
        results_open_patched(payload, len, last_err_len_at, sizeof(binary) - 1),
        TF_EPROTO);
    tf_buf_cleanup(&buf);
}

static void
test_results_open_rejects_trailing_garbage(void **state)
{
    struct tf__results_reader rr;
    struct tf_error err;
    struct tf_buf buf;
    size_t len;
    size_t extra;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_results(&buf);
    len = buf.len - TF__WIRE_HDR;
    for (extra = 1; extra <= 48; extra++) {
        unsigned char *c = calloc(1, len + extra);

        assert_non_null(c);
        memcpy(c, buf.data + TF__WIRE_HDR, len);
        assert_int_equal(tf__wire_results_open(&rr, c, len + extra, &err),
                         TF_EPROTO);
        free(c);
    }
    tf_buf_cleanup(&buf);
}

/* --------------------------------------------------------------- submit */

/* A SUBMIT frame of three tasks: empty, binary, and from a big parent id. */
static void
sample_submit(struct tf_buf *buf)
{
    assert_int_equal(tf__wire_submit_begin(buf), 0);
    assert_int_equal(tf__wire_submit_add(buf, 1, "", 0), 0);
    assert_int_equal(tf__wire_submit_add(buf, 7, "a\0b\n", 4), 0);
    assert_int_equal(tf__wire_submit_add(buf, UINT64_MAX, "page", 4), 0);
    assert_int_equal(tf__wire_submit_end(buf, 3, NULL), 0);
}

static void
test_submit_round_trips_tasks_and_parent_ids(void **state)
{
    struct tf__submit_reader sr;
    struct tf_error err;
    struct tf_buf buf;
    const void *p;
    uint64_t parent;
    size_t n;
    int type;
    size_t payload;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_submit(&buf);
    assert_int_equal(tf__wire_header(buf.data, buf.len, &type, &payload,
                                     &err),
                     0);
    assert_int_equal(type, TF__MSG_SUBMIT);
    assert_int_equal(payload, buf.len - TF__WIRE_HDR);
    assert_int_equal(tf__wire_submit_open(&sr, buf.data + TF__WIRE_HDR,
                                          payload, &err),
                     0);
    assert_int_equal(sr.count, 3);
    assert_int_equal(tf__wire_submit_next(&sr, &parent, &p, &n), 1);
    assert_int_equal(parent, 1);
    assert_int_equal(n, 0);
    assert_int_equal(tf__wire_submit_next(&sr, &parent, &p, &n), 1);
    assert_int_equal(parent, 7);
    assert_int_equal(n, 4);
    assert_memory_equal(p, "a\0b\n", 4);
    assert_int_equal(tf__wire_submit_next(&sr, &parent, &p, &n), 1);
    assert_true(parent == UINT64_MAX);
    assert_memory_equal(p, "page", 4);
    assert_int_equal(tf__wire_submit_next(&sr, &parent, &p, &n), 0);
    tf_buf_cleanup(&buf);
}

static void
test_submit_open_rejects_every_truncation_and_a_bad_count(void **state)
{
    struct tf__submit_reader sr;
    struct tf_error err;
    struct tf_buf buf;
    const unsigned char *payload;
    unsigned char *c;
    size_t len;
    size_t k;

    (void)state;
    tf_buf_init(&buf, 0);
    sample_submit(&buf);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    for (k = 0; k < len; k++) {
        c = exact_copy(payload, k);
        tf_error_init(&err);
        if (tf__wire_submit_open(&sr, c, k, &err) != TF_EPROTO)
            fail_msg("a SUBMIT payload cut to %zu of %zu bytes was taken",
                     k, len);
        assert_non_null(strstr(err.msg, "SUBMIT"));
        free(c);
    }
    /* A count of 4 where there are 3, and of 2 (trailing bytes). */
    c = exact_copy(payload, len);
    put_le32(c, 4);
    assert_int_equal(tf__wire_submit_open(&sr, c, len, &err), TF_EPROTO);
    put_le32(c, 2);
    assert_int_equal(tf__wire_submit_open(&sr, c, len, &err), TF_EPROTO);
    /* A task length past the end. */
    put_le32(c, 3);
    put_le32(c + 4 + 8, 1000);
    assert_int_equal(tf__wire_submit_open(&sr, c, len, &err), TF_EPROTO);
    free(c);
    tf_buf_cleanup(&buf);
}

/* --------------------------------------------------------------- OUTPUT */

/* An OUTPUT frame of task ID with stdout OUT (N_OUT bytes) and stderr ERR
 * (N_ERR bytes). */
static void
make_output(struct tf_buf *buf, uint64_t id, const void *out, size_t n_out,
            const void *err, size_t n_err)
{
    struct tf__wire_output o;
    struct tf_error e;

    o.id = id;
    o.out = out;
    o.out_len = n_out;
    o.err = err;
    o.err_len = n_err;
    tf_error_init(&e);
    assert_int_equal(tf__wire_put_output(buf, &o, &e), 0);
}

static void
test_output_round_trips_id_and_both_streams(void **state)
{
    /* The id, stdout's length and bytes, stderr's length. */
    static const unsigned char want[] = "\xfe\xff\xff\xff\xff\xff\xff\xff"
                                        "\x04\0\0\0a\0b\n"
                                        "\0\0\0\0";
    struct tf__wire_output o;
    struct tf_error err;
    struct tf_buf buf;
    size_t n = sizeof(want) - 1;
    unsigned char *c;

    (void)state;
    tf_buf_init(&buf, 0);
    make_output(&buf, UINT64_MAX - 1, "a\0b\n", 4, "", 0);
    frame_is(&buf, TF__MSG_OUTPUT);
    assert_int_equal(buf.len, TF__WIRE_HDR + n);
    assert_memory_equal(buf.data + TF__WIRE_HDR, want, n);
    c = exact_copy(buf.data + TF__WIRE_HDR, n);
    tf_error_init(&err);
    assert_int_equal(tf__wire_get_output(c, n, &o, &err), 0);
    assert_true(o.id == UINT64_MAX - 1);
    assert_int_equal(o.out_len, 4);
    assert_ptr_equal(o.out, c + 12);
    assert_int_equal(o.err_len, 0);
    free(c);

    /* Stderr only, and an id of 0. */
    make_output(&buf, 0, "", 0, "oops\n", 5);
    frame_is(&buf, TF__MSG_OUTPUT);
    assert_int_equal(tf__wire_get_output(buf.data + TF__WIRE_HDR,
                                         buf.len - TF__WIRE_HDR, &o, &err),
                     0);
    assert_true(o.id == 0);
    assert_int_equal(o.out_len, 0);
    assert_int_equal(o.err_len, 5);
    assert_memory_equal(o.err, "oops\n", 5);
    tf_buf_cleanup(&buf);
}

static void
test_output_round_trips_parts_of_the_largest_size(void **state)
{
    size_t max = TF__WIRE_OUTPUT_MAX;
    struct tf__wire_output o;
    struct tf_error err;
    struct tf_buf buf;
    unsigned char *out;
    unsigned char *errb;
    size_t i;

    (void)state;
    out = malloc(max);
    errb = malloc(max);
    assert_non_null(out);
    assert_non_null(errb);
    for (i = 0; i < max; i++) {
        out[i] = (unsigned char)(i * 13 + i / 256);
        errb[i] = (unsigned char)(i * 7 + 1);
    }
    tf_buf_init(&buf, 0);
    make_output(&buf, 42, out, max, errb, max);
    frame_is(&buf, TF__MSG_OUTPUT);
    assert_int_equal(buf.len, TF__WIRE_HDR + 8 + 4 + max + 4 + max);
    tf_error_init(&err);
    assert_int_equal(tf__wire_get_output(buf.data + TF__WIRE_HDR,
                                         buf.len - TF__WIRE_HDR, &o, &err),
                     0);
    assert_true(o.id == 42);
    assert_int_equal(o.out_len, max);
    assert_int_equal(o.err_len, max);
    assert_memory_equal(o.out, out, max);
    assert_memory_equal(o.err, errb, max);
    free(out);
    free(errb);
    tf_buf_cleanup(&buf);
}

static void
test_output_part_over_the_limit_is_refused_on_both_sides(void **state)
{
    size_t over = TF__WIRE_OUTPUT_MAX + 1;
    struct tf__wire_output o;
    struct tf_error err;
    struct tf_buf buf;
    struct tf_buf big;
    unsigned char *p;
    int which;

    (void)state;
    p = calloc(1, over);
    assert_non_null(p);
    tf_buf_init(&buf, 0);
    tf_buf_init(&big, 0);
    for (which = 0; which < 2; which++) {
        /* Encoding refuses it and leaves the buffer as it was. */
        make_output(&buf, 1, "x", 1, "", 0);
        o.id = 31;
        o.out = p;
        o.out_len = which == 0 ? over : 0;
        o.err = p;
        o.err_len = which == 1 ? over : 0;
        tf_error_init(&err);
        assert_int_equal(tf__wire_put_output(&buf, &o, &err), TF_EINPUT);
        assert_non_null(strstr(err.msg, "task 31"));
        assert_int_equal(buf.len, TF__WIRE_HDR + 8 + 4 + 1 + 4);
        frame_is(&buf, TF__MSG_OUTPUT);

        /* Decoding refuses such a payload, built by hand. */
        tf_buf_reset(&big);
        assert_int_equal(tf__wire_put_u64(&big, 31), 0);
        assert_int_equal(tf__wire_put_bytes(&big, p, which == 0 ? over : 0), 0);
        assert_int_equal(tf__wire_put_bytes(&big, p, which == 1 ? over : 0), 0);
        tf_error_init(&err);
        assert_int_equal(tf__wire_get_output(big.data, big.len, &o, &err),
                         TF_EPROTO);
        assert_non_null(strstr(err.msg, "OUTPUT"));
    }
    free(p);
    tf_buf_cleanup(&buf);
    tf_buf_cleanup(&big);
}

static void
test_output_get_rejects_every_truncation_and_garbled_lengths(void **state)
{
    struct tf__wire_output o;
    struct tf_error err;
    struct tf_buf buf;
    const unsigned char *payload;
    unsigned char *c;
    size_t len;
    size_t k;

    (void)state;
    tf_buf_init(&buf, 0);
    make_output(&buf, 9, "out\n", 4, "err\n", 4);
    payload = buf.data + TF__WIRE_HDR;
    len = buf.len - TF__WIRE_HDR;
    for (k = 0; k < len; k++) {
        c = exact_copy(payload, k);
        tf_error_init(&err);
        if (tf__wire_get_output(c, k, &o, &err) != TF_EPROTO)
            fail_msg("an OUTPUT payload cut to %zu of %zu bytes was taken", k,
                     len);
        assert_non_null(strstr(err.msg, "OUTPUT"));
        free(c);
    }
    /* A byte after the end. */
    c = malloc(len + 1);
    assert_non_null(c);
    memcpy(c, payload, len);
    c[len] = 0;
    assert_int_equal(tf__wire_get_output(c, len + 1, &o, &err), TF_EPROTO);
    /* Stdout's length past the end, and short of it (what follows is then
     * not a whole stderr). */
    put_le32(c + 8, 1000);
    assert_int_equal(tf__wire_get_output(c, len, &o, &err), TF_EPROTO);
    put_le32(c + 8, 3);
    assert_int_equal(tf__wire_get_output(c, len, &o, &err), TF_EPROTO);
    /* Stderr's length one past the end, then one short. */
    put_le32(c + 8, 4);
    put_le32(c + 16, 5);
    assert_int_equal(tf__wire_get_output(c, len, &o, &err), TF_EPROTO);
    put_le32(c + 16, 3);
    assert_int_equal(tf__wire_get_output(c, len, &o, &err), TF_EPROTO);
    /* Put back, it is taken. */
    put_le32(c + 16, 4);
    assert_int_equal(tf__wire_get_output(c, len, &o, &err), 0);
    assert_true(o.id == 9);
    assert_memory_equal(o.err, "err\n", 4);
    free(c);
    tf_buf_cleanup(&buf);
}

/* --------------------------------------------------------------- header */

static void
test_header_accepts_each_known_type(void **state)
{
    unsigned char h[TF__WIRE_HDR];
    struct tf_error err;
    size_t payload;
    int type;
    int t;

    (void)state;
    for (t = TF__MSG_HELLO; t <= LAST_MSG; t++) {
        make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, t, 77);
        assert_int_equal(tf__wire_header(h, sizeof(h), &type, &payload, &err),
                         0);
        assert_int_equal(type, t);
        assert_int_equal(payload, 77);
    }
    /* The magic is the four bytes "TFRM" on the wire. */
    assert_memory_equal(h, "TFRM", 4);
}

static void
test_header_of_begin_end_is_what_the_format_says(void **state)
{
    struct tf_error err;
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(tf__wire_begin(&buf, TF__MSG_STOP), 0);
    assert_int_equal(tf__wire_put_u32(&buf, 0x04030201u), 0);
    assert_int_equal(tf__wire_put_u64(&buf, 0x0c0b0a0908070605u), 0);
    assert_int_equal(tf__wire_put_bytes(&buf, "xy", 2), 0);
    assert_int_equal(tf__wire_end(&buf, &err), 0);
    assert_int_equal(buf.len, 12 + 4 + 8 + 4 + 2);
    assert_memory_equal(buf.data,
                        "TFRM\x02\x04\x00\x00\x12\x00\x00\x00"
                        "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
                        "\x02\x00\x00\x00xy",
                        buf.len);
    tf_buf_cleanup(&buf);
}

static void
test_header_rejects_bad_magic(void **state)
{
    unsigned char h[TF__WIRE_HDR];
    struct tf_error err;
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, TF__MSG_WORK, 0);
        h[i] ^= 0x20;
        assert_int_equal(header_rc(h, sizeof(h), &err), TF_EPROTO);
        assert_non_null(strstr(err.msg, "magic"));
    }
}

static void
test_header_rejects_wrong_version(void **state)
{
    unsigned char h[TF__WIRE_HDR];
    struct tf_error err;

    (void)state;
    make_header(h, TF__WIRE_MAGIC, 0, TF__MSG_WORK, 0);
    assert_int_equal(header_rc(h, sizeof(h), &err), TF_EPROTO);
    assert_non_null(strstr(err.msg, "version 0"));
    make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION + 1, TF__MSG_WORK, 0);
    assert_int_equal(header_rc(h, sizeof(h), &err), TF_EPROTO);
    make_header(h, TF__WIRE_MAGIC, 255, TF__MSG_WORK, 0);
    assert_int_equal(header_rc(h, sizeof(h), &err), TF_EPROTO);
}

static void
test_header_rejects_unknown_type(void **state)
{
    static const int bad[] = {0, LAST_MSG + 1, 100, 255};
    unsigned char h[TF__WIRE_HDR];
    struct tf_error err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, bad[i], 0);
        assert_int_equal(header_rc(h, sizeof(h), &err), TF_EPROTO);
        assert_non_null(strstr(err.msg, "type"));
    }
}

static void
test_header_rejects_payload_over_the_limit(void **state)
{
    unsigned char h[TF__WIRE_HDR];
    struct tf_error err;
    size_t payload = 0;
    int type;

    (void)state;
    make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, TF__MSG_RESULTS,
                (uint32_t)TF__WIRE_MAX_PAYLOAD);
    assert_int_equal(tf__wire_header(h, sizeof(h), &type, &payload, &err), 0);
    assert_int_equal(payload, TF__WIRE_MAX_PAYLOAD);
    make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, TF__MSG_RESULTS,
                (uint32_t)TF__WIRE_MAX_PAYLOAD + 1);
    assert_int_equal(header_rc(h, sizeof(h), &err), TF_EPROTO);
    make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, TF__MSG_RESULTS,
                UINT32_MAX);
    assert_int_equal(header_rc(h, sizeof(h), &err), TF_EPROTO);
}

static void
test_header_rejects_every_short_header(void **state)
{
    unsigned char h[TF__WIRE_HDR];
    struct tf_error err;
    size_t k;

    (void)state;
    make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, TF__MSG_HELLO, 0);
    for (k = 0; k < TF__WIRE_HDR; k++) {
        unsigned char *c = exact_copy(h, k);

        assert_int_equal(header_rc(c, k, &err), TF_EPROTO);
        free(c);
    }
    assert_non_null(strstr(err.msg, "11 bytes"));
}

static void
test_header_accepts_frame_whose_payload_is_still_to_come(void **state)
{
    unsigned char h[TF__WIRE_HDR + 3];
    struct tf_error err;
    size_t payload;
    int type;

    (void)state;
    make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, TF__MSG_WORK, 1000);
    assert_int_equal(tf__wire_header(h, sizeof(h), &type, &payload, &err), 0);
    assert_int_equal(payload, 1000);
}

static void
test_end_rejects_frame_without_header(void **state)
{
    struct tf_error err;
    struct tf_buf buf;

    (void)state;
    tf_buf_init(&buf, 0);
    assert_int_equal(tf_buf_append(&buf, "TFRM", 4), 0);
    assert_int_equal(tf__wire_end(&buf, &err), TF_EPROTO);
    assert_int_equal(tf__wire_work_end(&buf, 0, &err), TF_EPROTO);
    assert_int_equal(tf__wire_results_end(&buf, 0, 0, 0, &err), TF_EPROTO);
    tf_buf_cleanup(&buf);
}

/* --------------------------------------------------------------- reader */

static void
test_reader_overrun_is_sticky_and_yields_zeroes(void **state)
{
    static const unsigned char p[] = {1, 0, 0, 0, 2, 0, 0, 0, 9, 9};
    struct tf__wire_reader r;
    const void *b;
    size_t n = 99;

    (void)state;
    tf__wire_reader_init(&r, p, sizeof(p));
    assert_int_equal(tf__wire_get_u32(&r), 1);
    assert_int_equal(r.bad, 0);
    assert_int_equal(tf__wire_get_u64(&r), 0); /* 6 bytes left */
    assert_int_equal(r.bad, 1);
    /* Four bytes are there, but after an overrun nothing is read. */
    assert_int_equal(tf__wire_get_u32(&r), 0);
    b = tf__wire_get_bytes(&r, &n);
    assert_non_null(b);
    assert_int_equal(n, 0);
    assert_int_equal(r.bad, 1);
}

static void
test_reader_bytes_longer_than_rest_is_an_overrun(void **state)
{
    static const unsigned char p[] = {3, 0, 0, 0, 'a', 'b'};
    struct tf__wire_reader r;
    size_t n = 99;

    (void)state;
    tf__wire_reader_init(&r, p, sizeof(p));
    (void)tf__wire_get_bytes(&r, &n);
    assert_int_equal(n, 0);
    assert_int_equal(r.bad, 1);
}

/* ------------------------------------------------------ take_frame */

/* Builds three different frames in F and their concatenation in STREAM. */
static void
three_frames(struct tf_buf *f, struct tf_buf *stream)
{
    struct tf__hello h = {7, 8, "n1", 2};
    struct tf_error err;
    int i;

    for (i = 0; i < 3; i++)
        tf_buf_init(&f[i], 0);
    assert_int_equal(tf__wire_put_hello(&f[0], &h, &err), 0);
    sample_work(&f[1]);
    sample_results(&f[2]);
    tf_buf_init(stream, 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(tf_buf_append(stream, f[i].data, f[i].len), 0);
}

static void
frame_equals(const struct tf_buf *got, const struct tf_buf *want)
{
    assert_int_equal(got->len, want->len);
    assert_memory_equal(got->data, want->data, want->len);
}

static void
test_take_frame_splits_two_and_a_half_frames(void **state)
{
    struct tf_buf f[3];
    struct tf_buf all;
    struct tf_buf in;
    struct tf_buf frame;
    struct tf_error err;
    size_t off = 0;
    size_t half;

    (void)state;
    three_frames(f, &all);
    half = f[0].len + f[1].len + f[2].len / 2;
    tf_buf_init(&in, 0);
    tf_buf_init(&frame, 0);
    assert_int_equal(tf_buf_append(&in, all.data, half), 0);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err), 1);
    frame_equals(&frame, &f[0]);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err), 1);
    frame_equals(&frame, &f[1]);
    /* Half a frame: more bytes are needed, and asking again changes
     * nothing. */
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err), 0);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err), 0);
    assert_int_equal(in.len - off, f[2].len / 2);
    assert_memory_equal(in.data + off, f[2].data, f[2].len / 2);
    assert_int_equal(tf_buf_append(&in, all.data + half, all.len - half), 0);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err), 1);
    frame_equals(&frame, &f[2]);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err), 0);
    assert_int_equal(in.len - off, 0);
    tf_buf_cleanup(&in);
    tf_buf_cleanup(&frame);
    tf_buf_cleanup(&all);
    tf_buf_cleanup(&f[0]);
    tf_buf_cleanup(&f[1]);
    tf_buf_cleanup(&f[2]);
}

static void
test_take_frame_returns_zero_until_header_and_payload_are_in(void **state)
{
    struct tf_buf f[3];
    struct tf_buf all;
    struct tf_buf in;
    struct tf_buf frame;
    struct tf_error err;
    size_t off = 0;
    size_t k;

    (void)state;
    three_frames(f, &all);
    tf_buf_init(&in, 0);
    tf_buf_init(&frame, 0);
    for (k = 0; k + 1 < f[1].len; k++) {
        assert_int_equal(tf_buf_append(&in, f[1].data + k, 1), 0);
        if (tf__transport_take_frame(&in, &off, &frame, &err) != 0)
            fail_msg("a frame was taken from %zu of its %zu bytes", k + 1,
                     f[1].len);
    }
    assert_int_equal(tf_buf_append(&in, f[1].data + k, 1), 0);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err), 1);
    frame_equals(&frame, &f[1]);
    tf_buf_cleanup(&in);
    tf_buf_cleanup(&frame);
    tf_buf_cleanup(&all);
    tf_buf_cleanup(&f[0]);
    tf_buf_cleanup(&f[1]);
    tf_buf_cleanup(&f[2]);
}

static void
test_take_frame_reassembles_stream_fed_in_odd_pieces(void **state)
{
    static const size_t pieces[] = {1, 5, 11, 13, 64, 3};
    struct tf_buf f[3];
    struct tf_buf all;
    struct tf_buf in;
    struct tf_buf frame;
    struct tf_error err;
    size_t off = 0;
    size_t fed = 0;
    int got = 0;
    int round;
    int rc;

    (void)state;
    three_frames(f, &all);
    tf_buf_init(&in, 0);
    tf_buf_init(&frame, 0);
    /* The same three frames many times over, so the buffer compacts. */
    for (round = 0; fed < all.len * 20; round++) {
        size_t n = pieces[round % 6];
        size_t pos = fed % all.len;

        if (n > all.len - pos)
            n = all.len - pos;
        assert_int_equal(tf_buf_append(&in, all.data + pos, n), 0);
        fed += n;
        for (;;) {
            rc = tf__transport_take_frame(&in, &off, &frame, &err);
            assert_true(rc == 0 || rc == 1);
            if (rc == 0)
                break;
            frame_equals(&frame, &f[got % 3]);
            got++;
        }
    }
    assert_int_equal(got, 60);
    assert_int_equal(in.len - off, 0);
    tf_buf_cleanup(&in);
    tf_buf_cleanup(&frame);
    tf_buf_cleanup(&all);
    tf_buf_cleanup(&f[0]);
    tf_buf_cleanup(&f[1]);
    tf_buf_cleanup(&f[2]);
}

static void
test_take_frame_rejects_bad_header_with_eproto(void **state)
{
    struct tf_buf in;
    struct tf_buf frame;
    struct tf_error err;
    unsigned char h[TF__WIRE_HDR];
    size_t off = 0;

    (void)state;
    tf_buf_init(&in, 0);
    tf_buf_init(&frame, 0);
    assert_int_equal(tf_buf_puts(&in, "GET / HTTP/1.1\r\nHost: x\r\n"), 0);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err),
                     TF_EPROTO);
    tf_buf_reset(&in);
    make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, LAST_MSG + 1, 0);
    assert_int_equal(tf_buf_append(&in, h, sizeof(h)), 0);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err),
                     TF_EPROTO);
    tf_buf_reset(&in);
    make_header(h, TF__WIRE_MAGIC, TF__WIRE_VERSION, TF__MSG_WORK, UINT32_MAX);
    assert_int_equal(tf_buf_append(&in, h, sizeof(h)), 0);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err),
                     TF_EPROTO);
    tf_buf_cleanup(&in);
    tf_buf_cleanup(&frame);
}

static void
test_take_frame_rejects_bad_header_after_a_good_frame(void **state)
{
    struct tf_buf f[3];
    struct tf_buf all;
    struct tf_buf in;
    struct tf_buf frame;
    struct tf_error err;
    size_t off = 0;

    (void)state;
    three_frames(f, &all);
    tf_buf_init(&in, 0);
    tf_buf_init(&frame, 0);
    assert_int_equal(tf_buf_append(&in, f[0].data, f[0].len), 0);
    assert_int_equal(tf_buf_puts(&in, "garbage garbage garbage"), 0);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err), 1);
    frame_equals(&frame, &f[0]);
    assert_int_equal(tf__transport_take_frame(&in, &off, &frame, &err),
                     TF_EPROTO);
    tf_buf_cleanup(&in);
    tf_buf_cleanup(&frame);
    tf_buf_cleanup(&all);
    tf_buf_cleanup(&f[0]);
    tf_buf_cleanup(&f[1]);
    tf_buf_cleanup(&f[2]);
}

/* A frame begun with tf__wire_bytes_head and filled in place is the same
 * frame as one built with tf__wire_put_bytes, and decodes the same. */
static void
test_bytes_head_builds_the_frame_put_bytes_builds(void **state)
{
    static const size_t lens[] = {0, 1, 17, 70000};
    size_t k;

    (void)state;
    for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t n = lens[k];
        unsigned char *data = malloc(n + 1);
        unsigned char *f = malloc(TF__WIRE_BYTES_HEAD + n);
        struct tf_buf want;
        struct tf_error err;
        size_t i;

        assert_non_null(data);
        assert_non_null(f);
        for (i = 0; i < n; i++)
            data[i] = (unsigned char)(i * 13 + k);
        tf_buf_init(&want, 0);
        assert_int_equal(tf__wire_begin(&want, TF__MSG_SHARE), 0);
        assert_int_equal(tf__wire_put_bytes(&want, data, n), 0);
        assert_int_equal(tf__wire_end(&want, &err), 0);
        assert_int_equal(tf__wire_bytes_head(f, TF__MSG_SHARE, n, &err), 0);
        memcpy(f + TF__WIRE_BYTES_HEAD, data, n);
        assert_int_equal(want.len, TF__WIRE_BYTES_HEAD + n);
        assert_memory_equal(f, want.data, want.len);
        tf_buf_cleanup(&want);
        free(f);
        free(data);
    }
}

static void
test_bytes_head_rejects_a_payload_over_the_limit(void **state)
{
    unsigned char f[TF__WIRE_BYTES_HEAD];
    struct tf_error err;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__wire_bytes_head(f, TF__MSG_SHARE,
                                         TF__WIRE_MAX_PAYLOAD - 3, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, "limit"));
    assert_int_equal(tf__wire_bytes_head(f, TF__MSG_SHARE,
                                         TF__WIRE_MAX_PAYLOAD - 4, &err),
                     0);
}

/* Large buffers are kept for reuse: what a buffer held survives its
 * growth through a kept one, and two live buffers never share memory. */
static void
test_large_buffers_are_reused_without_mixing_contents(void **state)
{
    struct tf_buf a, b;
    size_t i, n = (size_t)3 << 20;

    (void)state;
    tf_buf_init(&a, 0);
    tf_buf_init(&b, 0);
    /* Leave a 4 MiB-class buffer behind for the growth below to take. */
    assert_int_equal(tf_buf_reserve(&a, n), 0);
    memset(a.data, 0xee, n);
    tf_buf_cleanup(&a);
    for (i = 0; i < 1000; i++)
        assert_int_equal(tf_buf_append(&b, &i, sizeof(i)), 0);
    assert_int_equal(tf_buf_reserve(&b, n), 0);
    assert_int_equal(tf_buf_reserve(&a, n), 0);
    assert_true(a.data + a.cap <= b.data || b.data + b.cap <= a.data);
    for (i = 0; i < 1000; i++) {
        size_t v;

        memcpy(&v, b.data + i * sizeof(v), sizeof(v));
        assert_int_equal(v, i);
    }
    assert_int_equal(b.len, 1000 * sizeof(size_t));
    assert_int_equal(b.data[b.len], '\0');
    tf_buf_cleanup(&a);
    tf_buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_round_trips_pid_cpus_and_host),
        cmocka_unit_test(test_hello_round_trips_extreme_values_and_empty_host),
        cmocka_unit_test(
            test_hello_rejects_every_truncation_and_trailing_bytes),
        cmocka_unit_test(test_hello_rejects_host_longer_than_255_bytes),
        cmocka_unit_test(test_error_round_trips_code_and_message),
        cmocka_unit_test(test_error_round_trips_empty_message),
        cmocka_unit_test(
            test_error_cuts_overlong_message_to_fit_and_terminates_it),
        cmocka_unit_test(test_error_rejects_zero_or_out_of_range_code),
        cmocka_unit_test(
            test_error_rejects_every_truncation_and_bad_message_length),
        cmocka_unit_test(test_submit_round_trips_tasks_and_parent_ids),
        cmocka_unit_test(
            test_submit_open_rejects_every_truncation_and_a_bad_count),
        cmocka_unit_test(test_output_round_trips_id_and_both_streams),
        cmocka_unit_test(test_output_round_trips_parts_of_the_largest_size),
        cmocka_unit_test(
            test_output_part_over_the_limit_is_refused_on_both_sides),
        cmocka_unit_test(
            test_output_get_rejects_every_truncation_and_garbled_lengths),
        cmocka_unit_test(test_work_round_trips_empty_chunk),
        cmocka_unit_test(test_work_round_trips_one_task),
        cmocka_unit_test(
            test_work_round_trips_empty_and_binary_payloads_and_big_ids),
        cmocka_unit_test(test_work_round_trips_many_tasks_of_varied_length),
        cmocka_unit_test(test_work_begin_empties_the_buffer_for_reuse),
        cmocka_unit_test(test_work_open_rejects_every_truncation),
        cmocka_unit_test(test_work_open_rejects_corrupted_count),
        cmocka_unit_test(test_work_open_rejects_task_length_past_the_end),
        cmocka_unit_test(test_work_open_rejects_trailing_garbage),
        cmocka_unit_test(test_results_round_trip_outputs_and_extreme_values),
        cmocka_unit_test(test_results_leave_out_usage_when_none),
        cmocka_unit_test(test_results_round_trip_none_and_partial_message),
        cmocka_unit_test(test_results_round_trip_many_results),
        cmocka_unit_test(test_results_open_rejects_every_truncation),
        cmocka_unit_test(test_results_open_rejects_corrupted_counts),
        cmocka_unit_test(test_results_open_rejects_byte_lengths_past_the_end),
        cmocka_unit_test(test_results_open_rejects_trailing_garbage),
        cmocka_unit_test(test_header_accepts_each_known_type),
        cmocka_unit_test(test_header_of_begin_end_is_what_the_format_says),
        cmocka_unit_test(test_header_rejects_bad_magic),
        cmocka_unit_test(test_header_rejects_wrong_version),
        cmocka_unit_test(test_header_rejects_unknown_type),
        cmocka_unit_test(test_bytes_head_builds_the_frame_put_bytes_builds),
        cmocka_unit_test(test_bytes_head_rejects_a_payload_over_the_limit),
        cmocka_unit_test(
            test_large_buffers_are_reused_without_mixing_contents),
        cmocka_unit_test(test_header_rejects_payload_over_the_limit),
        cmocka_unit_test(test_header_rejects_every_short_header),
        cmocka_unit_test(
            test_header_accepts_frame_whose_payload_is_still_to_come),
        cmocka_unit_test(test_end_rejects_frame_without_header),
        cmocka_unit_test(test_reader_overrun_is_sticky_and_yields_zeroes),
        cmocka_unit_test(test_reader_bytes_longer_than_rest_is_an_overrun),
        cmocka_unit_test(test_take_frame_splits_two_and_a_half_frames),
        cmocka_unit_test(
            test_take_frame_returns_zero_until_header_and_payload_are_in),
        cmocka_unit_test(test_take_frame_reassembles_stream_fed_in_odd_pieces),
        cmocka_unit_test(test_take_frame_rejects_bad_header_with_eproto),
        cmocka_unit_test(test_take_frame_rejects_bad_header_after_a_good_frame),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
