/* wire.c - framing and encoding of the messages between master and workers */
#include "wire.h"

#include <string.h>

#include "error.h"
#include "util.h"

int
tf__wire_begin(struct tf_buf *buf, int type)
{
    unsigned char hdr[TF__WIRE_HDR];

    tf__store_u32(hdr, TF__WIRE_MAGIC);
    hdr[4] = TF__WIRE_VERSION;
    hdr[5] = (unsigned char)type;
    hdr[6] = 0;
    hdr[7] = 0;
    tf__store_u32(hdr + 8, 0);
    tf_buf_reset(buf);
    return tf_buf_append(buf, hdr, sizeof(hdr));
}

int
tf__wire_end(struct tf_buf *buf, struct tf_error *err)
{
    size_t n;

    if (buf->len < TF__WIRE_HDR)
        return tf__error(err, TF_EPROTO, "frame without a header");
    n = buf->len - TF__WIRE_HDR;
    if (n > TF__WIRE_MAX_PAYLOAD)
        return tf__error(err, TF_EINPUT,
                         "message of %zu bytes is larger than the limit of "
                         "%zu bytes",
                         n, TF__WIRE_MAX_PAYLOAD);
    tf__store_u32(buf->data + 8, (uint32_t)n);
    return 0;
}

int
tf__wire_bytes_head(unsigned char *p, int type, size_t n,
                    struct tf_error *err)
{
    if (n > TF__WIRE_MAX_PAYLOAD - 4)
        return tf__error(err, TF_EINPUT,
                         "message of %zu bytes is larger than the limit of "
                         "%zu bytes",
                         n + 4, TF__WIRE_MAX_PAYLOAD);
    tf__store_u32(p, TF__WIRE_MAGIC);
    p[4] = TF__WIRE_VERSION;
    p[5] = (unsigned char)type;
    p[6] = 0;
    p[7] = 0;
    tf__store_u32(p + 8, (uint32_t)(n + 4));
    tf__store_u32(p + 12, (uint32_t)n);
    return 0;
}

int
tf__wire_put_u32(struct tf_buf *buf, uint32_t v)
{
    unsigned char b[4];

    tf__store_u32(b, v);
    return tf_buf_append(buf, b, sizeof(b));
}

int
tf__wire_put_u64(struct tf_buf *buf, uint64_t v)
{
    unsigned char b[8];

    tf__store_u64(b, v);
    return tf_buf_append(buf, b, sizeof(b));
}

int
tf__wire_put_bytes(struct tf_buf *buf, const void *p, size_t n)
{
    int rc;

    if (n > TF__WIRE_MAX_PAYLOAD)
        return TF_EINPUT;
    rc = tf_buf_reserve(buf, 4 + n);
    if (rc < 0)
        return rc;
    tf__store_u32(buf->data + buf->len, (uint32_t)n);
    if (n > 0)
        memcpy(buf->data + buf->len + 4, p, n);
    buf->len += 4 + n;
    buf->data[buf->len] = '\0';
    return 0;
}

int
tf__wire_header(const void *p, size_t len, int *type, size_t *payload_len,
                struct tf_error *err)
{
    const unsigned char *h = p;
    uint32_t n;

    if (len < TF__WIRE_HDR)
        return tf__error(err, TF_EPROTO, "truncated message header (%zu bytes)",
                         len);
    if (tf__load_u32(h) != TF__WIRE_MAGIC)
        return tf__error(err, TF_EPROTO, "message with a bad magic number");
    if (h[4] != TF__WIRE_VERSION)
        return tf__error(err, TF_EPROTO,
                         "message of protocol version %u, expected %u",
                         (unsigned)h[4], (unsigned)TF__WIRE_VERSION);
    if (h[5] < TF__MSG_HELLO || h[5] > TF__MSG_WINDOW)
        return tf__error(err, TF_EPROTO, "message of unknown type %u",
                         (unsigned)h[5]);
    n = tf__load_u32(h + 8);
    if (n > TF__WIRE_MAX_PAYLOAD)
        return tf__error(err, TF_EPROTO, "message of %u bytes is too large",
                         (unsigned)n);
    *type = h[5];
    *payload_len = n;
    return 0;
}

void
tf__wire_reader_init(struct tf__wire_reader *r, const void *payload,
                     size_t len)
{
    r->p = payload;
    r->end = r->p + len;
    r->bad = 0;
}

uint32_t
tf__wire_get_u32(struct tf__wire_reader *r)
{
    uint32_t v;

    if (r->bad || (size_t)(r->end - r->p) < 4) {
        r->bad = 1;
        return 0;
    }
    v = tf__load_u32(r->p);
    r->p += 4;
    return v;
}

uint64_t
tf__wire_get_u64(struct tf__wire_reader *r)
{
    uint64_t v;

    if (r->bad || (size_t)(r->end - r->p) < 8) {
        r->bad = 1;
        return 0;
    }
    v = tf__load_u64(r->p);
    r->p += 8;
    return v;
}

/* Takes the next LEN bytes of R: returns where they are, LEN in *N. */
static const void *
get_raw(struct tf__wire_reader *r, uint32_t len, size_t *n)
{
    const unsigned char *p;

    if (r->bad || (size_t)(r->end - r->p) < len) {
        r->bad = 1;
        *n = 0;
        return "";
    }
    p = r->p;
    r->p += len;
    *n = len;
    return p;
}

const void *
tf__wire_get_bytes(struct tf__wire_reader *r, size_t *n)
{
    uint32_t len = tf__wire_get_u32(r);

    return get_raw(r, len, n);
}

int
tf__wire_put_hello(struct tf_buf *buf, const struct tf__hello *h,
                   struct tf_error *err)
{
    int rc;

    rc = tf__wire_begin(buf, TF__MSG_HELLO);
    if (rc == 0)
        rc = tf__wire_put_u32(buf, h->pid);
    if (rc == 0)
        rc = tf__wire_put_u32(buf, h->cpus);
    if (rc == 0)
        rc = tf__wire_put_bytes(buf, h->host, h->host_len);
    if (rc < 0)
        return tf__error(err, rc, "cannot encode a message");
    return tf__wire_end(buf, err);
}

int
tf__wire_get_hello(const void *payload, size_t len, struct tf__hello *h,
                   struct tf_error *err)
{
    struct tf__wire_reader r;

    tf__wire_reader_init(&r, payload, len);
    h->pid = tf__wire_get_u32(&r);
    h->cpus = tf__wire_get_u32(&r);
    h->host = tf__wire_get_bytes(&r, &h->host_len);
    if (r.bad || r.p != r.end || h->host_len > 255)
        return tf__error(err, TF_EPROTO, "malformed HELLO message");
    return 0;
}

int
tf__wire_put_error(struct tf_buf *buf, int code, const char *msg,
                   struct tf_error *err)
{
    int rc;

    rc = tf__wire_begin(buf, TF__MSG_ERROR);
    if (rc == 0)
        rc = tf__wire_put_u32(buf, (uint32_t)(-code));
    if (rc == 0)
        rc = tf__wire_put_bytes(buf, msg, strlen(msg));
    if (rc < 0)
        return tf__error(err, rc, "cannot encode a message");
    return tf__wire_end(buf, err);
}

int
tf__wire_get_error(const void *payload, size_t len, int *code,
                   struct tf_error *out, struct tf_error *err)
{
    struct tf__wire_reader r;
    const char *msg;
    size_t n;
    uint32_t c;

    tf__wire_reader_init(&r, payload, len);
    c = tf__wire_get_u32(&r);
    msg = tf__wire_get_bytes(&r, &n);
    if (r.bad || r.p != r.end || c == 0 || c > 100)
        return tf__error(err, TF_EPROTO, "malformed ERROR message");
    if (n >= sizeof(out->msg))
        n = sizeof(out->msg) - 1;
    *code = -(int)c;
    out->code = *code;
    memcpy(out->msg, msg, n);
    out->msg[n] = '\0';
    return 0;
}

int
tf__wire_work_begin(struct tf_buf *buf, uint64_t chunk, uint32_t fn)
{
    int rc;

    rc = tf__wire_begin(buf, TF__MSG_WORK);
    if (rc == 0)
        rc = tf__wire_put_u64(buf, chunk);
    if (rc == 0)
        rc = tf__wire_put_u32(buf, 0);
    if (rc == 0)
        rc = tf__wire_put_u32(buf, fn);
    return rc;
}

/* A task's length with this bit: its memory need follows (else it is 0). */
#define WORK_MEM 0x80000000u

int
tf__wire_work_add(struct tf_buf *buf, uint64_t id, uint64_t mem, const void *p,
                  size_t n)
{
    size_t head = mem != 0 ? 20 : 12;
    unsigned char *d;
    int rc;

    if (n > TF__WIRE_MAX_PAYLOAD)
        return TF_EINPUT;
    rc = tf_buf_reserve(buf, head + n);
    if (rc < 0)
        return rc;
    d = buf->data + buf->len;
    tf__store_u64(d, id);
    tf__store_u32(d + 8, (uint32_t)n | (mem != 0 ? WORK_MEM : 0));
    if (mem != 0)
        tf__store_u64(d + 12, mem);
    if (n > 0)
        memcpy(d + head, p, n);
    buf->len += head + n;
    buf->data[buf->len] = '\0';
    return 0;
}

int
tf__wire_work_end(struct tf_buf *buf, uint32_t count, struct tf_error *err)
{
    if (buf->len < TF__WIRE_HDR + 16)
        return tf__error(err, TF_EPROTO, "WORK frame without its header");
    tf__store_u32(buf->data + TF__WIRE_HDR + 8, count);
    return tf__wire_end(buf, err);
}

/* Reads a task of a WORK payload; returns its bytes (in the payload). */
static const void *
get_task(struct tf__wire_reader *r, uint64_t *id, uint64_t *mem, size_t *n)
{
    uint32_t len;

    *id = tf__wire_get_u64(r);
    len = tf__wire_get_u32(r);
    *mem = (len & WORK_MEM) != 0 ? tf__wire_get_u64(r) : 0;
    /* One encoding of each task: a need of 0 is left out. */
    if ((len & WORK_MEM) != 0 && *mem == 0)
        r->bad = 1;
    return get_raw(r, len & ~WORK_MEM, n);
}

int
tf__wire_work_open(struct tf__work_reader *w, const void *payload, size_t len,
                   struct tf_error *err)
{
    struct tf__wire_reader check;
    uint32_t i;

    tf__wire_reader_init(&w->r, payload, len);
    w->chunk = tf__wire_get_u64(&w->r);
    w->count = tf__wire_get_u32(&w->r);
    w->fn = tf__wire_get_u32(&w->r);
    w->done = 0;
    if (w->r.bad || w->count > len / 12)
        return tf__error(err, TF_EPROTO, "malformed WORK message");
    check = w->r;
    for (i = 0; i < w->count; i++) {
        uint64_t id, mem;
        size_t n;

        (void)get_task(&check, &id, &mem, &n);
    }
    if (check.bad || check.p != check.end)
        return tf__error(err, TF_EPROTO,
                         "malformed WORK message (task %u of %u)",
                         (unsigned)i, (unsigned)w->count);
    return 0;
}

int
tf__wire_work_next(struct tf__work_reader *w, uint64_t *id, uint64_t *mem,
                   const void **p, size_t *n)
{
    if (w->done >= w->count)
        return 0;
    w->done++;
    *p = get_task(&w->r, id, mem, n);
    return 1;
}

/* The bytes of a result with no output and no usage (TF__SIG_USAGE). */
#define RESULT_MIN 40

int
tf__wire_results_begin(struct tf_buf *buf)
{
    int rc;

    rc = tf__wire_begin(buf, TF__MSG_RESULTS);
    if (rc == 0)
        rc = tf__wire_put_u32(buf, 0);
    if (rc == 0)
        rc = tf__wire_put_u64(buf, 0);
    if (rc == 0)
        rc = tf__wire_put_u32(buf, 0);
    return rc;
}

int
tf__wire_results_add(struct tf_buf *buf, const struct tf__wire_result *res)
{
    bool usage = res->cpu_us != 0 || res->peak_bytes != 0;
    size_t size = RESULT_MIN + (usage ? 16 : 0);
    unsigned char *d;
    int rc;

    if (res->out_len > TF__WIRE_MAX_PAYLOAD ||
        res->err_len > TF__WIRE_MAX_PAYLOAD ||
        (res->signal & TF__SIG_USAGE) != 0)
        return TF_EINPUT;
    rc = tf_buf_reserve(buf, size + res->out_len + res->err_len);
    if (rc < 0)
        return rc;
    d = buf->data + buf->len;
    tf__store_u64(d, res->id);
    tf__store_u32(d + 8, (uint32_t)res->status);
    tf__store_u32(d + 12, (uint32_t)res->signal |
                              (usage ? TF__SIG_USAGE : 0));
    tf__store_u64(d + 16, (uint64_t)res->start_us);
    tf__store_u64(d + 24, res->runtime_us);
    d += 32;
    if (usage) {
        tf__store_u64(d, res->cpu_us);
        tf__store_u64(d + 8, res->peak_bytes);
        d += 16;
    }
    tf__store_u32(d, (uint32_t)res->out_len);
    d += 4;
    if (res->out_len > 0)
        memcpy(d, res->out, res->out_len);
    d += res->out_len;
    tf__store_u32(d, (uint32_t)res->err_len);
    d += 4;
    if (res->err_len > 0)
        memcpy(d, res->err, res->err_len);
    buf->len += size + res->out_len + res->err_len;
    buf->data[buf->len] = '\0';
    return 0;
}

int
tf__wire_results_end(struct tf_buf *buf, uint32_t chunks_done,
                     uint64_t busy_us, uint32_t count, struct tf_error *err)
{
    if (buf->len < TF__WIRE_HDR + 16)
        return tf__error(err, TF_EPROTO, "RESULTS frame without its header");
    tf__store_u32(buf->data + TF__WIRE_HDR, chunks_done);
    tf__store_u64(buf->data + TF__WIRE_HDR + 4, busy_us);
    tf__store_u32(buf->data + TF__WIRE_HDR + 12, count);
    return tf__wire_end(buf, err);
}

static void
get_result(struct tf__wire_reader *r, struct tf__wire_result *res)
{
    res->id = tf__wire_get_u64(r);
    res->status = (int32_t)tf__wire_get_u32(r);
    res->signal = (int32_t)tf__wire_get_u32(r);
    res->start_us = (int64_t)tf__wire_get_u64(r);
    res->runtime_us = tf__wire_get_u64(r);
    res->cpu_us = 0;
    res->peak_bytes = 0;
    if ((res->signal & TF__SIG_USAGE) != 0) {
        res->signal &= ~TF__SIG_USAGE;
        res->cpu_us = tf__wire_get_u64(r);
        res->peak_bytes = tf__wire_get_u64(r);
        /* One encoding of each result: no measurement is left out. */
        if (res->cpu_us == 0 && res->peak_bytes == 0)
            r->bad = 1;
    }
    res->out = tf__wire_get_bytes(r, &res->out_len);
    res->err = tf__wire_get_bytes(r, &res->err_len);
}

int
tf__wire_results_open(struct tf__results_reader *rr, const void *payload,
                      size_t len, struct tf_error *err)
{
    struct tf__wire_reader check;
    struct tf__wire_result res;
    uint32_t i;

    tf__wire_reader_init(&rr->r, payload, len);
    rr->chunks_done = tf__wire_get_u32(&rr->r);
    rr->busy_us = tf__wire_get_u64(&rr->r);
    rr->count = tf__wire_get_u32(&rr->r);
    rr->done = 0;
    if (rr->r.bad || rr->count > len / RESULT_MIN || rr->chunks_done > 2)
        return tf__error(err, TF_EPROTO, "malformed RESULTS message");
    check = rr->r;
    for (i = 0; i < rr->count && !check.bad; i++)
        get_result(&check, &res);
    if (check.bad || check.p != check.end)
        return tf__error(err, TF_EPROTO,
                         "malformed RESULTS message (result %u of %u)",
                         (unsigned)i, (unsigned)rr->count);
    return 0;
}

int
tf__wire_results_next(struct tf__results_reader *rr,
                      struct tf__wire_result *res)
{
    if (rr->done >= rr->count)
        return 0;
    rr->done++;
    get_result(&rr->r, res);
    return 1;
}

int
tf__wire_submit_begin(struct tf_buf *buf)
{
    int rc;

    rc = tf__wire_begin(buf, TF__MSG_SUBMIT);
    if (rc == 0)
        rc = tf__wire_put_u32(buf, 0);
    return rc;
}

int
tf__wire_submit_add(struct tf_buf *buf, uint64_t parent, const void *p,
                    size_t n)
{
    int rc;

    if (n > TF__WIRE_MAX_PAYLOAD)
        return TF_EINPUT;
    rc = tf__wire_put_u64(buf, parent);
    if (rc == 0)
        rc = tf__wire_put_bytes(buf, p, n);
    return rc;
}

int
tf__wire_submit_end(struct tf_buf *buf, uint32_t count, struct tf_error *err)
{
    if (buf->len < TF__WIRE_HDR + 4)
        return tf__error(err, TF_EPROTO, "SUBMIT frame without its header");
    tf__store_u32(buf->data + TF__WIRE_HDR, count);
    return tf__wire_end(buf, err);
}

int
tf__wire_submit_open(struct tf__submit_reader *sr, const void *payload,
                     size_t len, struct tf_error *err)
{
    struct tf__wire_reader check;
    uint32_t i;
    size_t n;

    tf__wire_reader_init(&sr->r, payload, len);
    sr->count = tf__wire_get_u32(&sr->r);
    sr->done = 0;
    if (sr->r.bad || sr->count > len / 12)
        return tf__error(err, TF_EPROTO, "malformed SUBMIT message");
    check = sr->r;
    for (i = 0; i < sr->count && !check.bad; i++) {
        (void)tf__wire_get_u64(&check);
        (void)tf__wire_get_bytes(&check, &n);
    }
    if (check.bad || check.p != check.end)
        return tf__error(err, TF_EPROTO,
                         "malformed SUBMIT message (task %u of %u)",
                         (unsigned)i, (unsigned)sr->count);
    return 0;
}

int
tf__wire_submit_next(struct tf__submit_reader *sr, uint64_t *parent,
                     const void **p, size_t *n)
{
    if (sr->done >= sr->count)
        return 0;
    sr->done++;
    *parent = tf__wire_get_u64(&sr->r);
    *p = tf__wire_get_bytes(&sr->r, n);
    return 1;
}

int
tf__wire_put_output(struct tf_buf *buf, const struct tf__wire_output *o,
                    struct tf_error *err)
{
    int rc;

    if (o->out_len > TF__WIRE_OUTPUT_MAX || o->err_len > TF__WIRE_OUTPUT_MAX)
        return tf__error(err, TF_EINPUT, "an OUTPUT part of task %llu is too "
                                         "large",
                         (unsigned long long)o->id);
    rc = tf__wire_begin(buf, TF__MSG_OUTPUT);
    if (rc == 0)
        rc = tf_buf_reserve(buf, 16 + o->out_len + o->err_len);
    if (rc == 0)
        rc = tf__wire_put_u64(buf, o->id);
    if (rc == 0)
        rc = tf__wire_put_bytes(buf, o->out, o->out_len);
    if (rc == 0)
        rc = tf__wire_put_bytes(buf, o->err, o->err_len);
    if (rc < 0)
        return tf__error(err, rc, "cannot encode an OUTPUT message");
    return tf__wire_end(buf, err);
}

int
tf__wire_get_output(const void *payload, size_t len, struct tf__wire_output *o,
                    struct tf_error *err)
{
    struct tf__wire_reader r;

    tf__wire_reader_init(&r, payload, len);
    o->id = tf__wire_get_u64(&r);
    o->out = tf__wire_get_bytes(&r, &o->out_len);
    o->err = tf__wire_get_bytes(&r, &o->err_len);
    if (r.bad || r.p != r.end || o->out_len > TF__WIRE_OUTPUT_MAX ||
        o->err_len > TF__WIRE_OUTPUT_MAX)
        return tf__error(err, TF_EPROTO, "malformed OUTPUT message");
    return 0;
}
