/* fuzz_results.c - libFuzzer target: the results-file readers and the
 * opening of a file for appending (src/results.c) */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "results.h"

/*
 * The input is a results file as a killed run, a full disk or a stray
 * write may leave it: any bytes. The readers must either refuse the file
 * before calling back once, or call back for whole records only and report
 * how many bytes at the end they ignored.
 *
 * tf__results_scan() passes every record with its offset and length. The
 * record layout of results.h lets the target check each against the input:
 * the records follow one another from the end of the 16-byte file header;
 * each starts with "TFR" and the byte of its version and takes a 12-byte
 * head, the fixed part of its version (56 bytes for version 1, 80 for
 * version 2, 96 for version 3), four u32-counted strings (host, command,
 * stdout, stderr) and a 4-byte CRC; and with the ignored tail they account
 * for every byte of the file. tf__results_read() must pass the same
 * records of kind TF__REC_TASK, in the same order. A reader opened on the
 * file finds each record again at its offset, and the output of a task (the pieces right
 * before its record, then the record) comes out part by part as the input
 * holds it. Last, a run that opens the file to append keeps every record,
 * drops only the tail, and leaves the file of format version 3.
 */
#define FILE_HDR 16
#define REC_HDR 12
#define FIXED_V1 56
#define FIXED_V2 80
#define FIXED_V3 96
#define REC_MIN (REC_HDR + FIXED_V1 + 4 * 4 + 4)

/* Return this from the callback to stop the scan. */
#define STOP 7

/* A record as the scan saw it, and where its strings are in the input. */
struct seen_rec {
    uint64_t off;
    uint64_t len;
    uint64_t id;
    uint32_t kind;
    uint32_t flags;
    uint64_t out_total;
    uint64_t err_total;
    size_t out_at; /* offset of its stdout bytes in the input */
    size_t out_len;
    size_t err_at;
    size_t err_len;
};

struct seen {
    const uint8_t *data; /* the input */
    size_t size;
    struct seen_rec *recs; /* in file order (room for MAX) */
    size_t max;
    size_t records;
    uint64_t end;   /* offset after the last record */
    uint32_t sum;   /* of every byte the records point to */
    size_t stop_at; /* return STOP at this record (1-based), 0: never */
    size_t tasks;   /* for the task reader: task records seen so far */
};

static uint32_t
sum_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint32_t s = 0;
    size_t i;

    for (i = 0; i < n; i++)
        s = s * 31 + b[i];
    return s;
}

/* Checks that the N bytes at P are those of the input at *AT, a u32
 * length N and the bytes, and moves *AT past them. */
static void
check_string(const struct seen *s, size_t *at, const void *p, size_t n)
{
    const uint8_t *q = s->data + *at;

    FUZZ_CHECK(*at + 4 + n <= s->size);
    FUZZ_CHECK(((size_t)q[0] | (size_t)q[1] << 8 | (size_t)q[2] << 16 |
                (size_t)q[3] << 24) == n);
    FUZZ_CHECK(n == 0 || memcmp(q + 4, p, n) == 0);
    *at += 4 + n;
}

static int
on_scan(void *arg, const struct tf__result_rec *rec, uint64_t off, uint64_t len)
{
    struct seen *s = arg;
    struct seen_rec *e;
    size_t at;
    size_t fixed;
    bool v2;

    FUZZ_CHECK(rec != NULL);
    FUZZ_CHECK(s->records < s->max);
    /* Right after the header or the record before. */
    FUZZ_CHECK(off == (s->records == 0 ? FILE_HDR : s->end));
    FUZZ_CHECK(len >= REC_MIN && off + len <= s->size);
    FUZZ_CHECK(memcmp(s->data + off, "TFR", 3) == 0);
    FUZZ_CHECK(s->data[off + 3] >= 0x1e && s->data[off + 3] <= 0x20);
    v2 = s->data[off + 3] >= 0x1f;
    fixed = s->data[off + 3] == 0x1e   ? FIXED_V1
            : s->data[off + 3] == 0x1f ? FIXED_V2
                                       : FIXED_V3;
    /* Older records have no CPU time or peak memory. */
    FUZZ_CHECK(fixed == FIXED_V3 || (rec->cpu_us == 0 && rec->peak_bytes == 0));
    FUZZ_CHECK(len == REC_HDR + fixed + 4 * 4 +
                          rec->host_len + rec->cmd_len + rec->out_len +
                          rec->err_len + 4);
    FUZZ_CHECK(rec->kind <= TF__REC_MARK);
    FUZZ_CHECK(v2 || rec->kind == TF__REC_TASK);
    FUZZ_CHECK(rec->out_total >= rec->out_len);
    FUZZ_CHECK(rec->err_total >= rec->err_len);
    /* The strings are the input's bytes where the layout puts them. */
    at = (size_t)off + REC_HDR + fixed;
    check_string(s, &at, rec->host, rec->host_len);
    check_string(s, &at, rec->cmd, rec->cmd_len);
    e = &s->recs[s->records++];
    e->out_at = at + 4;
    check_string(s, &at, rec->out, rec->out_len);
    e->err_at = at + 4;
    check_string(s, &at, rec->err, rec->err_len);
    FUZZ_CHECK(at + 4 == off + len);
    e->off = off;
    e->len = len;
    e->id = rec->id;
    e->kind = rec->kind;
    e->flags = rec->flags;
    e->out_total = rec->out_total;
    e->err_total = rec->err_total;
    e->out_len = rec->out_len;
    e->err_len = rec->err_len;
    s->end = off + len;
    /* Every byte a record points to is readable during the call. */
    s->sum += sum_bytes(rec->host, rec->host_len);
    s->sum += sum_bytes(rec->cmd, rec->cmd_len);
    s->sum += sum_bytes(rec->out, rec->out_len);
    s->sum += sum_bytes(rec->err, rec->err_len);
    return s->records == s->stop_at ? STOP : 0;
}

/* The task reader's callback: the next task record of those of ALL. */
static int
on_task(void *arg, const struct tf__result_rec *rec)
{
    struct seen *s = arg;
    const struct seen_rec *e;

    FUZZ_CHECK(rec != NULL && rec->kind == TF__REC_TASK);
    while (s->records < s->max && s->recs[s->records].kind != TF__REC_TASK)
        s->records++;
    FUZZ_CHECK(s->records < s->max);
    e = &s->recs[s->records++];
    FUZZ_CHECK(rec->id == e->id && rec->flags == e->flags);
    FUZZ_CHECK(rec->out_len == e->out_len && rec->err_len == e->err_len);
    FUZZ_CHECK(rec->out_total == e->out_total);
    FUZZ_CHECK(rec->err_total == e->err_total);
    FUZZ_CHECK(rec->out_len == 0 ||
               memcmp(rec->out, s->data + e->out_at, rec->out_len) == 0);
    s->tasks++;
    return s->tasks == s->stop_at ? STOP : 0;
}

/* The parts tf__results_reader_output() should hand out, in order. */
struct parts {
    const struct seen *s;
    size_t rec;  /* the record the next part comes from */
    size_t last; /* the task record */
    bool err;    /* the next part is its stderr */
};

/* Moves P to the next part that has bytes; false when there is none. */
static bool
next_part(struct parts *p)
{
    while (p->rec <= p->last) {
        const struct seen_rec *e = &p->s->recs[p->rec];

        if (!p->err && e->out_len > 0)
            return true;
        if (e->err_len > 0) {
            p->err = true;
            return true;
        }
        p->rec++;
        p->err = false;
    }
    return false;
}

static int
on_part(void *arg, bool is_err, const void *q, size_t n, struct tf_error *e)
{
    struct parts *p = arg;
    const struct seen_rec *r;

    (void)e;
    FUZZ_CHECK(next_part(p));
    r = &p->s->recs[p->rec];
    FUZZ_CHECK(is_err == p->err);
    FUZZ_CHECK(n == (is_err ? r->err_len : r->out_len));
    FUZZ_CHECK(memcmp(q, p->s->data + (is_err ? r->err_at : r->out_at), n) ==
               0);
    if (is_err) {
        p->rec++;
        p->err = false;
    } else {
        p->err = true;
    }
    return 0;
}

/* Reads every record of ALL again at its offset, and the output of each
 * task record with the pieces right before it. */
static void
check_reader(const char *path, const struct seen *all)
{
    struct tf__results_reader *rd = NULL;
    struct tf__result_rec rec;
    struct tf_error err;
    size_t first = 0; /* the first of the pieces before record i */
    size_t i;

    tf_error_init(&err);
    FUZZ_CHECK(tf__results_reader_open(path, &rd, &err) == 0);
    for (i = 0; i < all->records; i++) {
        const struct seen_rec *e = &all->recs[i];
        uint64_t next = 0;

        FUZZ_CHECK(tf__results_reader_at(rd, e->off, &rec, &next, &err) == 0);
        FUZZ_CHECK(next == e->off + e->len);
        FUZZ_CHECK(rec.id == e->id && rec.kind == e->kind);
        FUZZ_CHECK(rec.out_len == e->out_len && rec.err_len == e->err_len);
        /* "TFR" cannot start one byte on. */
        FUZZ_CHECK(tf__results_reader_at(rd, e->off + 1, &rec, &next, &err) ==
                   TF_EINPUT);
        if (e->kind == TF__REC_PIECE)
            continue;
        if (e->kind == TF__REC_TASK) {
            struct parts p = {all, first, i, false};

            FUZZ_CHECK(tf__results_reader_output(rd, all->recs[first].off,
                                                 e->off, on_part, &p,
                                                 &err) == 0);
            FUZZ_CHECK(!next_part(&p));
        }
        first = i + 1;
    }
    tf__results_reader_close(rd);
}

/* Opens the file to append and closes it: it must keep the records but
 * the pieces at the end that no task record follows, lose the tail and end
 * up of version 2. */
static void
check_append(const char *path, const struct seen *all, uint64_t tail)
{
    struct tf__results *r = NULL;
    struct tf_error err;
    unsigned char h[FILE_HDR];
    struct seen again;
    struct stat st;
    size_t kept = all->records;
    size_t i;
    int fd;

    tf_error_init(&err);
    FUZZ_CHECK(tf__results_open(path, 0, &r, &err) == 0);
    FUZZ_CHECK(tf__results_close(r, &err) == 0);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(fstat(fd, &st) == 0);
    FUZZ_CHECK(pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h));
    close(fd);
    /* (The reserved u32 after the version is not checked by readers.) */
    FUZZ_CHECK(memcmp(h, "TFRESULT\3\0\0\0", 12) == 0);
    if (all->size < FILE_HDR) {
        FUZZ_CHECK(st.st_size == FILE_HDR);
        return;
    }
    /* Pieces with no task record after them go with the tail. */
    while (kept > 0 && all->recs[kept - 1].kind == TF__REC_PIECE)
        kept--;
    FUZZ_CHECK((uint64_t)st.st_size == (kept < all->records
                                            ? all->recs[kept].off
                                            : all->size - tail));
    memset(&again, 0, sizeof(again));
    again.data = all->data;
    again.size = (size_t)st.st_size;
    again.max = all->max;
    again.recs = malloc(again.max * sizeof(*again.recs));
    FUZZ_CHECK(again.recs != NULL);
    FUZZ_CHECK(tf__results_scan(path, on_scan, &again, &tail, &err) == 0);
    FUZZ_CHECK(tail == 0);
    FUZZ_CHECK(again.records == kept);
    for (i = 0; i < kept; i++)
        FUZZ_CHECK(again.recs[i].off == all->recs[i].off &&
                   again.recs[i].kind == all->recs[i].kind);
    if (kept == all->records)
        FUZZ_CHECK(again.sum == all->sum);
    free(again.recs);
}

/* A run refuses to append to the file of SIZE bytes and leaves it so. */
static void
check_refused(const char *path, size_t size)
{
    struct tf__results *r = NULL;
    struct tf_error err;
    struct stat st;

    tf_error_init(&err);
    FUZZ_CHECK(tf__results_open(path, 0, &r, &err) < 0);
    FUZZ_CHECK(r == NULL);
    FUZZ_CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen all = {0};
    struct seen part = {0};
    struct tf_error err;
    uint64_t tail_bytes = UINT64_MAX;
    uint64_t tail2 = UINT64_MAX;
    char path[64];
    size_t tasks = 0;
    size_t i;
    int rc;

    fuzz_memfile(data, size, path);
    all.data = data;
    all.size = size;
    all.max = size / REC_MIN + 1;
    all.recs = malloc(all.max * sizeof(*all.recs));
    FUZZ_CHECK(all.recs != NULL);

    tf_error_init(&err);
    rc = tf__results_scan(path, on_scan, &all, &tail_bytes, &err);
    if (rc < 0) {
        /* The file is checked whole first: a refusal calls back never. */
        FUZZ_CHECK(err.code == rc);
        FUZZ_CHECK(all.records == 0);
        /* The task reader refuses it too, and a run will not take it,
         * leaving it as it was. */
        FUZZ_CHECK(tf__results_read(path, on_task, &part, NULL, &err) == rc);
        check_refused(path, size);
        goto done;
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(tail_bytes <= size);
    if (size < FILE_HDR) {
        /* At most the start of a header: a file a run began to create. */
        FUZZ_CHECK(all.records == 0 && tail_bytes == size);
    } else {
        FUZZ_CHECK((all.records == 0 ? FILE_HDR : all.end) + tail_bytes ==
                   size);
    }
    for (i = 0; i < all.records; i++)
        tasks += all.recs[i].kind == TF__REC_TASK;

    /* The task reader passes the task records, and the same tail. */
    part = all;
    part.records = 0;
    part.tasks = 0;
    rc = tf__results_read(path, on_task, &part, &tail2, &err);
    FUZZ_CHECK(rc == 0 && part.tasks == tasks && tail2 == tail_bytes);

    /* A callback that returns nonzero stops either scan, which returns
     * it. */
    if (all.records > 0) {
        memset(&part, 0, sizeof(part));
        part.data = data;
        part.size = size;
        part.max = all.max;
        part.recs = malloc(part.max * sizeof(*part.recs));
        FUZZ_CHECK(part.recs != NULL);
        part.stop_at = all.records / 2 + 1;
        rc = tf__results_scan(path, on_scan, &part, NULL, &err);
        FUZZ_CHECK(rc == STOP);
        FUZZ_CHECK(part.records == part.stop_at);
        for (i = 0; i < part.records; i++)
            FUZZ_CHECK(part.recs[i].off == all.recs[i].off);
        free(part.recs);
    }
    if (tasks > 0) {
        part = all;
        part.records = 0;
        part.tasks = 0;
        part.stop_at = tasks / 2 + 1;
        rc = tf__results_read(path, on_task, &part, NULL, &err);
        FUZZ_CHECK(rc == STOP && part.tasks == part.stop_at);
    }

    check_reader(path, &all);
    check_append(path, &all, tail_bytes);
done:
    free(all.recs);
    return 0;
}
