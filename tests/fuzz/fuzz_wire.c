/* fuzz_wire.c - libFuzzer target: the message decoders (src/wire.c) and the
 * framing of byte streams (tf__transport_take_frame, src/transport.c) */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "transport.h"
#include "wire.h"

/*
 * The input is what a worker or the master might receive: any bytes. Every
 * decoder runs on the whole input as a payload; then the input is read as a
 * byte stream of frames, once in one piece and once in pieces of 5 bytes
 * (so headers and payloads arrive split), and every frame taken is decoded
 * by its type. A payload a decoder accepts must encode back to the same
 * bytes: the format has one encoding per message, and a decoder that
 * accepted more would let a peer smuggle bytes past the checks.
 */

/* Checks that P lies inside [BASE, BASE + LEN] with N bytes after it. */
static void
check_inside(const void *p, size_t n, const void *base, size_t len)
{
    const unsigned char *b = base;
    const unsigned char *q = p;

    FUZZ_CHECK(q >= b && q <= b + len);
    FUZZ_CHECK(n <= (size_t)(b + len - q));
}

/* Checks that the frame in BUF has TYPE and the N bytes at P as payload. */
static void
check_frame(const struct tf_buf *buf, int type, const void *p, size_t n)
{
    size_t plen = 0;
    int t = 0;

    FUZZ_CHECK(buf->len == TF__WIRE_HDR + n);
    FUZZ_CHECK(tf__wire_header(buf->data, buf->len, &t, &plen, NULL) == 0);
    FUZZ_CHECK(t == type && plen == n);
    FUZZ_CHECK(n == 0 || memcmp(buf->data + TF__WIRE_HDR, p, n) == 0);
}

static void
decode_hello(const void *p, size_t n)
{
    struct tf__hello h;
    struct tf_error err;
    struct tf_buf buf;

    if (tf__wire_get_hello(p, n, &h, &err) < 0) {
        FUZZ_CHECK(err.code == TF_EPROTO);
        return;
    }
    check_inside(h.host, h.host_len, p, n);
    FUZZ_CHECK(h.host_len <= 255);
    tf_buf_init(&buf, 0);
    FUZZ_CHECK(tf__wire_put_hello(&buf, &h, NULL) == 0);
    check_frame(&buf, TF__MSG_HELLO, p, n);
    tf_buf_cleanup(&buf);
}

static void
decode_error(const void *p, size_t n)
{
    struct tf_error got;
    struct tf_error err;
    struct tf_buf buf;
    size_t msg_len;
    int code = 0;

    if (tf__wire_get_error(p, n, &code, &got, &err) < 0) {
        FUZZ_CHECK(err.code == TF_EPROTO);
        return;
    }
    FUZZ_CHECK(code < 0 && code >= -100 && got.code == code);
    FUZZ_CHECK(memchr(got.msg, '\0', sizeof(got.msg)) != NULL);
    /* u32 code, u32 length, the message: the whole payload. */
    FUZZ_CHECK(n >= 8);
    msg_len = n - 8;
    if (msg_len < sizeof(got.msg) &&
        memchr((const char *)p + 8, '\0', msg_len) == NULL) {
        tf_buf_init(&buf, 0);
        FUZZ_CHECK(tf__wire_put_error(&buf, code, got.msg, NULL) == 0);
        check_frame(&buf, TF__MSG_ERROR, p, n);
        tf_buf_cleanup(&buf);
    }
}

static void
decode_work(const void *p, size_t n)
{
    struct tf__work_reader w;
    struct tf_error err;
    struct tf_buf buf;
    uint32_t count = 0;
    const void *task;
    uint64_t id;
    uint64_t mem;
    size_t len;

    if (tf__wire_work_open(&w, p, n, &err) < 0) {
        FUZZ_CHECK(err.code == TF_EPROTO);
        return;
    }
    tf_buf_init(&buf, 0);
    FUZZ_CHECK(tf__wire_work_begin(&buf, w.chunk, w.fn) == 0);
    while (tf__wire_work_next(&w, &id, &mem, &task, &len) == 1) {
        check_inside(task, len, p, n);
        FUZZ_CHECK(tf__wire_work_add(&buf, id, mem, task, len) == 0);
        count++;
    }
    /* open checked every task, so reading them never overruns. */
    FUZZ_CHECK(!w.r.bad && count == w.count);
    FUZZ_CHECK(tf__wire_work_next(&w, &id, &mem, &task, &len) == 0);
    FUZZ_CHECK(tf__wire_work_end(&buf, count, NULL) == 0);
    check_frame(&buf, TF__MSG_WORK, p, n);
    tf_buf_cleanup(&buf);
}

static void
decode_results(const void *p, size_t n)
{
    struct tf__results_reader rr;
    struct tf__wire_result res;
    struct tf_error err;
    struct tf_buf buf;
    uint32_t count = 0;

    if (tf__wire_results_open(&rr, p, n, &err) < 0) {
        FUZZ_CHECK(err.code == TF_EPROTO);
        return;
    }
    tf_buf_init(&buf, 0);
    FUZZ_CHECK(tf__wire_results_begin(&buf) == 0);
    while (tf__wire_results_next(&rr, &res) == 1) {
        check_inside(res.out, res.out_len, p, n);
        check_inside(res.err, res.err_len, p, n);
        FUZZ_CHECK(tf__wire_results_add(&buf, &res) == 0);
        count++;
    }
    FUZZ_CHECK(!rr.r.bad && count == rr.count);
    FUZZ_CHECK(tf__wire_results_next(&rr, &res) == 0);
    FUZZ_CHECK(tf__wire_results_end(&buf, rr.chunks_done, rr.busy_us, count,
                                    NULL) == 0);
    check_frame(&buf, TF__MSG_RESULTS, p, n);
    tf_buf_cleanup(&buf);
}

static void
decode_submit(const void *p, size_t n)
{
    struct tf__submit_reader sr;
    struct tf_error err;
    struct tf_buf buf;
    uint32_t count = 0;
    const void *task;
    uint64_t parent;
    size_t len;

    if (tf__wire_submit_open(&sr, p, n, &err) < 0) {
        FUZZ_CHECK(err.code == TF_EPROTO);
        return;
    }
    tf_buf_init(&buf, 0);
    FUZZ_CHECK(tf__wire_submit_begin(&buf) == 0);
    while (tf__wire_submit_next(&sr, &parent, &task, &len) == 1) {
        check_inside(task, len, p, n);
        FUZZ_CHECK(tf__wire_submit_add(&buf, parent, task, len) == 0);
        count++;
    }
    FUZZ_CHECK(!sr.r.bad && count == sr.count);
    FUZZ_CHECK(tf__wire_submit_next(&sr, &parent, &task, &len) == 0);
    FUZZ_CHECK(tf__wire_submit_end(&buf, count, NULL) == 0);
    check_frame(&buf, TF__MSG_SUBMIT, p, n);
    tf_buf_cleanup(&buf);
}

static void
decode_output(const void *p, size_t n)
{
    struct tf__wire_output o;
    struct tf_error err;
    struct tf_buf buf;

    if (tf__wire_get_output(p, n, &o, &err) < 0) {
        FUZZ_CHECK(err.code == TF_EPROTO);
        return;
    }
    check_inside(o.out, o.out_len, p, n);
    check_inside(o.err, o.err_len, p, n);
    /* No part larger than a worker may send. */
    FUZZ_CHECK(o.out_len <= TF__WIRE_OUTPUT_MAX);
    FUZZ_CHECK(o.err_len <= TF__WIRE_OUTPUT_MAX);
    /* u64 id, then each stream as a u32 length and the bytes. */
    FUZZ_CHECK(n == 8 + 4 + o.out_len + 4 + o.err_len);
    tf_buf_init(&buf, 0);
    FUZZ_CHECK(tf__wire_put_output(&buf, &o, NULL) == 0);
    check_frame(&buf, TF__MSG_OUTPUT, p, n);
    tf_buf_cleanup(&buf);
}

/* Every decoder, on any bytes. */
static void
decode_all(const void *p, size_t n)
{
    struct tf_error err;
    size_t plen = 0;
    int type = 0;

    if (tf__wire_header(p, n, &type, &plen, &err) == 0) {
        /* Which types are known is for the unit tests; the type is the
         * header's own byte, one of the enum's (from TF__MSG_HELLO on). */
        FUZZ_CHECK(n >= TF__WIRE_HDR);
        FUZZ_CHECK(type == ((const unsigned char *)p)[5]);
        FUZZ_CHECK(type >= TF__MSG_HELLO);
        FUZZ_CHECK(plen <= TF__WIRE_MAX_PAYLOAD);
    } else {
        FUZZ_CHECK(err.code == TF_EPROTO);
    }
    decode_hello(p, n);
    decode_error(p, n);
    decode_work(p, n);
    decode_results(p, n);
    decode_submit(p, n);
    decode_output(p, n);
}

/* One frame taken from a stream: decode its payload as its type says. */
static void
decode_frame(const struct tf_buf *frame)
{
    const unsigned char *payload = frame->data + TF__WIRE_HDR;
    size_t n = frame->len - TF__WIRE_HDR;

    switch (frame->data[5]) {
    case TF__MSG_HELLO:
        decode_hello(payload, n);
        break;
    case TF__MSG_WORK:
        decode_work(payload, n);
        break;
    case TF__MSG_RESULTS:
        decode_results(payload, n);
        break;
    case TF__MSG_ERROR:
        decode_error(payload, n);
        break;
    case TF__MSG_SUBMIT:
        decode_submit(payload, n);
        break;
    case TF__MSG_OUTPUT:
        decode_output(payload, n);
        break;
    default:
        break;
    }
}

/*
 * Feeds the N bytes at P to tf__transport_take_frame PIECE bytes at a time,
 * as a transport does after each read, and appends every frame taken to
 * ALL. Returns the error that stopped the stream, or 0.
 *
 * The transports' buffers have no cap, so a header alone that claims the
 * largest payload (1 GiB) makes take_frame reserve room for it at once (2
 * GiB, as the buffer doubles). Here the buffer is capped a little above the
 * input's size instead: a frame that cannot fit is one this input can never
 * complete, and the stream stops there with TF_EINPUT ("cannot buffer"), as
 * it would wait forever for the rest in a transport.
 */
static int
stream(const uint8_t *p, size_t n, size_t piece, struct tf_buf *all)
{
    struct tf_buf in;
    struct tf_buf frame;
    struct tf_error err;
    size_t off = 0;
    size_t fed = 0;
    int rc = 0;

    /* Both: take_frame swaps them when IN holds exactly one frame. */
    tf_buf_init(&in, n + 2 * TF__WIRE_HDR);
    tf_buf_init(&frame, n + 2 * TF__WIRE_HDR);
    while (fed < n && rc >= 0) {
        size_t k = n - fed < piece ? n - fed : piece;

        FUZZ_CHECK(tf_buf_append(&in, p + fed, k) == 0);
        fed += k;
        for (;;) {
            size_t plen = 0;
            int type = 0;

            rc = tf__transport_take_frame(&in, &off, &frame, &err);
            if (rc <= 0)
                break;
            FUZZ_CHECK(frame.len >= TF__WIRE_HDR);
            FUZZ_CHECK(tf__wire_header(frame.data, frame.len, &type, &plen,
                                       NULL) == 0);
            FUZZ_CHECK(frame.len == TF__WIRE_HDR + plen);
            FUZZ_CHECK(off <= in.len);
            decode_frame(&frame);
            FUZZ_CHECK(tf_buf_append(all, frame.data, frame.len) == 0);
        }
        if (rc == TF_EINPUT) {
            size_t plen = 0;
            int type = 0;

            /* Only a frame longer than all the input left may not fit. */
            FUZZ_CHECK(tf__wire_header(in.data + off, in.len - off, &type,
                                       &plen, NULL) == 0);
            FUZZ_CHECK(TF__WIRE_HDR + plen > in.len - off + (n - fed));
            break;
        }
        if (rc < 0)
            FUZZ_CHECK(rc == TF_EPROTO && err.code == TF_EPROTO);
    }
    /* Whatever was not taken is the start of a frame still arriving. */
    FUZZ_CHECK(rc < 0 || all->len + (in.len - off) + (n - fed) == n);
    FUZZ_CHECK(rc != TF_EINPUT || all->len + (in.len - off) + (n - fed) == n);
    tf_buf_cleanup(&in);
    tf_buf_cleanup(&frame);
    return rc == TF_EPROTO ? rc : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tf_buf whole;
    struct tf_buf split;
    int rc_whole;
    int rc_split;

    decode_all(data, size);

    tf_buf_init(&whole, 0);
    tf_buf_init(&split, 0);
    rc_whole = stream(data, size, size > 0 ? size : 1, &whole);
    rc_split = stream(data, size, 5, &split);
    /* The frames taken are the input's own bytes, however they arrive. */
    FUZZ_CHECK(rc_whole == rc_split);
    FUZZ_CHECK(whole.len == split.len);
    FUZZ_CHECK(whole.len <= size);
    FUZZ_CHECK(whole.len == 0 || memcmp(whole.data, data, whole.len) == 0);
    FUZZ_CHECK(split.len == 0 || memcmp(split.data, data, split.len) == 0);
    tf_buf_cleanup(&whole);
    tf_buf_cleanup(&split);
    return 0;
}
