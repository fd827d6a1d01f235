/* wire.h - framing and encoding of the messages between master and workers */
#ifndef TF_WIRE_H
#define TF_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * Every message is a frame: a 12-byte header (magic "TFRM", protocol
 * version, type, two reserved bytes, payload length as little-endian u32)
 * followed by the payload. Integers are little-endian; byte strings are a
 * u32 length and the bytes. A decoder checks every length against what it
 * received before it reads, so a short or corrupted frame is an error.
 */
#define TF__WIRE_MAGIC 0x4d524654u /* "TFRM" read as a little-endian u32 */
#define TF__WIRE_VERSION 2
#define TF__WIRE_HDR 12
#define TF__WIRE_MAX_PAYLOAD ((size_t)1 << 30)

enum tf__msg_type {
    TF__MSG_HELLO = 1,   /* worker -> master: pid, cpus, host */
    TF__MSG_WORK = 2,    /* master -> worker: a chunk of tasks */
    TF__MSG_RESULTS = 3, /* worker -> master: results; asks for more */
    TF__MSG_STOP = 4,    /* master -> worker: no more work */
    TF__MSG_ERROR = 5,   /* worker -> master: the worker failed */
    TF__MSG_SHARE = 6,   /* master -> worker: bytes every task may read */
    TF__MSG_RESET = 7,   /* master -> worker: run the initializer again */
    TF__MSG_MAPPED = 8,  /* master -> worker: u64 length; the frame itself
                            is in the memory the transport mapped
                            (struct tf__transport.mapped) */
    TF__MSG_LIMIT = 9,   /* master -> worker: u64 time limit of the tasks
                            from now on (0: none), u64 kill grace, in us */
    TF__MSG_SUBMIT = 10, /* worker -> master: tasks that tasks submitted
                            (tf_result_submit), ahead of their results */
    TF__MSG_OUTPUT = 11, /* worker -> master: a part of the output of a
                            task still running (tf_result_flush), ahead
                            of its result */
    TF__MSG_WINDOW = 12  /* master -> worker, the MPI transport's own: u32
                            step, u64 length of a frame of shared data in a
                            node's shared memory window (never reaches the
                            worker loop) */
};

/* Starts a frame of TYPE in BUF (which it empties). */
int tf__wire_begin(struct tf_buf *buf, int type);
/* Writes the payload length into the header; call once the payload is in. */
int tf__wire_end(struct tf_buf *buf, struct tf_error *err);

/*
 * Writes at P the first TF__WIRE_BYTES_HEAD bytes of a frame of TYPE whose
 * payload is N bytes as tf__wire_put_bytes puts them; the caller puts the
 * N bytes right after. For a large frame built in place.
 */
#define TF__WIRE_BYTES_HEAD (TF__WIRE_HDR + 4)
int tf__wire_bytes_head(unsigned char *p, int type, size_t n,
                        struct tf_error *err);

int tf__wire_put_u32(struct tf_buf *buf, uint32_t v);
int tf__wire_put_u64(struct tf_buf *buf, uint64_t v);
int tf__wire_put_bytes(struct tf_buf *buf, const void *p, size_t n);

/*
 * Checks the header of the LEN bytes at P: magic, version, a known type and
 * a payload length within TF__WIRE_MAX_PAYLOAD. On success stores the type
 * and payload length. LEN may be shorter than the whole frame (the caller
 * then knows how much more to read) but not shorter than the header.
 */
int tf__wire_header(const void *p, size_t len, int *type, size_t *payload_len,
                    struct tf_error *err);

/*
 * A cursor over a received payload. Every get checks the remaining length;
 * after an overrun `bad` is set and every later get returns zeroes, so a
 * decoder checks `bad` once at the end.
 */
struct tf__wire_reader {
    const unsigned char *p;
    const unsigned char *end;
    int bad;
};

void tf__wire_reader_init(struct tf__wire_reader *r, const void *payload,
                          size_t len);
uint32_t tf__wire_get_u32(struct tf__wire_reader *r);
uint64_t tf__wire_get_u64(struct tf__wire_reader *r);
/* Returns a pointer into the payload (not copied) and its length. */
const void *tf__wire_get_bytes(struct tf__wire_reader *r, size_t *n);

/* HELLO */
struct tf__hello {
    uint32_t pid;
    uint32_t cpus;
    const char *host; /* points into the payload; not NUL-terminated */
    size_t host_len;
};
int tf__wire_put_hello(struct tf_buf *buf, const struct tf__hello *h,
                       struct tf_error *err);
int tf__wire_get_hello(const void *payload, size_t len, struct tf__hello *h,
                       struct tf_error *err);

/* ERROR */
int tf__wire_put_error(struct tf_buf *buf, int code, const char *msg,
                       struct tf_error *err);
int tf__wire_get_error(const void *payload, size_t len, int *code,
                       struct tf_error *out, struct tf_error *err);

/*
 * WORK payload: u64 chunk number, u32 count, u32 task function (its index
 * in the table every rank registered), then count times { u64 task id,
 * u32 payload length, [u64 memory the task needs in bytes, with
 * TF__MEM_ESTIMATED an estimate, when the length's top bit is set; else 0:
 * not said], the payload }.
 * tf__wire_work_begin() writes the fixed part with a placeholder count.
 */
#define TF__MEM_ESTIMATED ((uint64_t)1 << 63)
/* In the task function field: measure the CPU time of tasks that run in
 * the worker (it costs two system calls a task, as much as a short task
 * itself; tasks that run processes are measured by wait4 anyway). */
#define TF__WORK_MEASURE 0x80000000u
int tf__wire_work_begin(struct tf_buf *buf, uint64_t chunk, uint32_t fn);
int tf__wire_work_add(struct tf_buf *buf, uint64_t id, uint64_t mem,
                      const void *p, size_t n);
/* Patches the count and the frame length. */
int tf__wire_work_end(struct tf_buf *buf, uint32_t count,
                      struct tf_error *err);

struct tf__work_reader {
    struct tf__wire_reader r;
    uint64_t chunk;
    uint32_t count;
    uint32_t fn;
    uint32_t done;
};
/* Checks the whole payload (every task's length) before returning 0. */
int tf__wire_work_open(struct tf__work_reader *w, const void *payload,
                       size_t len, struct tf_error *err);
/* Returns 1 with the next task, 0 after the last. */
int tf__wire_work_next(struct tf__work_reader *w, uint64_t *id,
                       uint64_t *mem, const void **p, size_t *n);

/*
 * RESULTS payload: u32 chunks completed by this message (0 or more), u64
 * busy microseconds, u32 count, then count times { u64 id, u32 status,
 * u32 signal, u64 start (wall us), u64 runtime us, [u64 CPU us, u64 peak
 * memory bytes, when the signal field has TF__SIG_USAGE; else both 0],
 * bytes out, bytes err }. The signal field's bit TF__SIG_TIMED_OUT says
 * that the task passed its time limit, TF__SIG_OOM that the out-of-memory
 * killer ended it; the bits below them are the signal. Measurements cost
 * their bytes only when there are some.
 */
#define TF__SIG_TIMED_OUT 0x10000
#define TF__SIG_OOM 0x20000
#define TF__SIG_USAGE 0x40000 /* on the wire only: CPU and peak follow */
#define TF__SIG_MASK 0xffff
struct tf__wire_result {
    uint64_t id;
    int32_t status;
    int32_t signal;
    int64_t start_us;
    uint64_t runtime_us;
    uint64_t cpu_us;     /* user + system CPU time */
    uint64_t peak_bytes; /* peak resident memory, 0: not known */
    const void *out;
    size_t out_len;
    const void *err;
    size_t err_len;
};

int tf__wire_results_begin(struct tf_buf *buf);
int tf__wire_results_add(struct tf_buf *buf, const struct tf__wire_result *res);
int tf__wire_results_end(struct tf_buf *buf, uint32_t chunks_done,
                         uint64_t busy_us, uint32_t count,
                         struct tf_error *err);

struct tf__results_reader {
    struct tf__wire_reader r;
    uint32_t chunks_done;
    uint64_t busy_us;
    uint32_t count;
    uint32_t done;
};
int tf__wire_results_open(struct tf__results_reader *rr, const void *payload,
                          size_t len, struct tf_error *err);
int tf__wire_results_next(struct tf__results_reader *rr,
                          struct tf__wire_result *res);

/*
 * SUBMIT payload: u32 count, then count times { u64 id of the task that
 * submitted it, bytes the new task }. A worker sends it before the RESULTS
 * message that carries the submitting tasks' results, so the master has
 * queued what a task submitted by the time it sees that task done.
 */
int tf__wire_submit_begin(struct tf_buf *buf);
int tf__wire_submit_add(struct tf_buf *buf, uint64_t parent, const void *p,
                        size_t n);
int tf__wire_submit_end(struct tf_buf *buf, uint32_t count,
                        struct tf_error *err);

struct tf__submit_reader {
    struct tf__wire_reader r;
    uint32_t count;
    uint32_t done;
};
/* Checks the whole payload before returning 0. */
int tf__wire_submit_open(struct tf__submit_reader *sr, const void *payload,
                         size_t len, struct tf_error *err);
/* Returns 1 with the next task, 0 after the last. */
int tf__wire_submit_next(struct tf__submit_reader *sr, uint64_t *parent,
                         const void **p, size_t *n);

/*
 * OUTPUT payload: u64 task id, bytes of stdout, bytes of stderr: the next
 * part of the output of a task the worker holds, which its result (in a
 * later RESULTS message) ends. A worker sends no part larger than
 * TF__WIRE_OUTPUT_MAX of each stream.
 */
#define TF__WIRE_OUTPUT_MAX ((size_t)1 << 20)
struct tf__wire_output {
    uint64_t id;
    const void *out;
    size_t out_len;
    const void *err;
    size_t err_len;
};
int tf__wire_put_output(struct tf_buf *buf, const struct tf__wire_output *o,
                        struct tf_error *err);
/* Checks the whole payload; O's bytes point into it. */
int tf__wire_get_output(const void *payload, size_t len,
                        struct tf__wire_output *o, struct tf_error *err);

#endif /* TF_WIRE_H */
