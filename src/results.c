/* results.c - the results file: one checksummed record per finished task */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

/*
 * File header: "TFRESULT", u32 version, u32 reserved (0).
 * Record: magic (4), u32 body length (4), u32 header check (4), body, u32
 * CRC-32C of the body.
 * Body: the fixed part below, then host, command, stdout and stderr, each a
 * u32 length and the bytes, filling the body exactly. A record of an
 * older version (the magic's last byte says which) has the first FIXED_V1
 * (version 1, with 0 where the kind is) or FIXED_V2 bytes of the fixed
 * part; the fields it lacks read as 0.
 */
#define FILE_MAGIC TF__RESULTS_MAGIC
#define FILE_HDR 16
#define REC_HDR 12
#define REC_TRAILER 4
#define OFF_ID 0
#define OFF_HASH 8
#define OFF_STATUS 16
#define OFF_SIGNAL 20
#define OFF_FLAGS 24
#define OFF_ATTEMPT 28
#define OFF_WORKER 32
#define OFF_KIND 36
#define OFF_START 40
#define OFF_RUNTIME 48
#define FIXED_V1 56
#define OFF_OUT_END 56
#define OFF_OUT_TOTAL 64
#define OFF_ERR_TOTAL 72
#define FIXED_V2 80
#define OFF_CPU 80
#define OFF_PEAK 88
#define FIXED 96
#define BODY_MIN (FIXED + 4 * 4)
#define REC_MIN (REC_HDR + FIXED_V1 + 4 * 4 + REC_TRAILER)

/* The magic of a record: "TFR" and the byte of its version: REC_V1 + 0
 * for version 1, + 1 for version 2, + 2 for version 3. */
static const unsigned char rec_magic[3] = {'T', 'F', 'R'};
#define REC_V1 0x1e

/* The fixed part of a record of each version, from 1. */
static const size_t fixed_of[TF__RESULTS_VERSION + 1] = {0, FIXED_V1,
                                                         FIXED_V2, FIXED};

/* A write buffer grown larger than this for a big record is given back. */
#define KEEP_AT ((size_t)4 << 20)
/* The reader reads the file this many bytes at a time. */
#define READ_AT ((size_t)1 << 20)

/* ------------------------------------------------------------ checksums */

uint64_t
tf__task_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325u;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3u;
    }
    return h;
}

/* Tables for CRC-32C eight bytes at a time ("slicing by 8"). */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
    uint32_t i;
    int k;

    for (i = 0; i < 256; i++) {
        uint32_t c = i;

        for (k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (i = 0; i < 256; i++)
        for (k = 1; k < 8; k++)
            crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
                              crc_table[0][crc_table[k - 1][i] & 0xff];
}

uint32_t
tf__crc32c(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;

    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ tf__load_u32(s);
        uint32_t hi = tf__load_u32(s + 4);

        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
              crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        s += 8;
        n -= 8;
    }
    while (n-- > 0)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *s++) & 0xff];
    return ~crc;
}

/* The header check of the record at OFF whose first 8 bytes are at P. */
static uint32_t
header_check(uint64_t off, const unsigned char *p)
{
    unsigned char b[16];

    tf__store_u64(b, off);
    memcpy(b + 8, p, 8);
    return tf__crc32c(0, b, sizeof(b));
}

/* -------------------------------------------------------------- decoding */

/* Fills REC from the N body bytes at P of a record of format version V;
 * false when they do not make a body. REC's pointers point into P. */
static bool
decode_body(const unsigned char *p, size_t n, unsigned v,
            struct tf__result_rec *rec)
{
    size_t fixed = fixed_of[v];
    bool v2 = v >= 2;
    const unsigned char *q;
    size_t left;
    const void *s[4];
    size_t len[4];
    int i;

    if (n < fixed + 4 * 4)
        return false;
    rec->id = tf__load_u64(p + OFF_ID);
    rec->hash = tf__load_u64(p + OFF_HASH);
    rec->status = (int32_t)tf__load_u32(p + OFF_STATUS);
    rec->signal = (int32_t)tf__load_u32(p + OFF_SIGNAL);
    rec->flags = tf__load_u32(p + OFF_FLAGS);
    rec->attempt = tf__load_u32(p + OFF_ATTEMPT);
    rec->worker = (int32_t)tf__load_u32(p + OFF_WORKER);
    rec->kind = v2 ? tf__load_u32(p + OFF_KIND) : TF__REC_TASK;
    rec->start_us = (int64_t)tf__load_u64(p + OFF_START);
    rec->runtime_us = tf__load_u64(p + OFF_RUNTIME);
    rec->out_end = v2 ? tf__load_u64(p + OFF_OUT_END) : 0;
    rec->out_total = v2 ? tf__load_u64(p + OFF_OUT_TOTAL) : 0;
    rec->err_total = v2 ? tf__load_u64(p + OFF_ERR_TOTAL) : 0;
    rec->cpu_us = v >= 3 ? tf__load_u64(p + OFF_CPU) : 0;
    rec->peak_bytes = v >= 3 ? tf__load_u64(p + OFF_PEAK) : 0;
    if (rec->kind > TF__REC_MARK)
        return false;
    q = p + fixed;
    left = n - fixed;
    for (i = 0; i < 4; i++) {
        if (left < 4)
            return false;
        len[i] = tf__load_u32(q);
        q += 4;
        left -= 4;
        if (len[i] > left)
            return false;
        s[i] = q;
        q += len[i];
        left -= len[i];
    }
    if (left != 0)
        return false;
    rec->host = s[0];
    rec->host_len = len[0];
    rec->cmd = s[1];
    rec->cmd_len = len[1];
    rec->out = s[2];
    rec->out_len = len[2];
    rec->err = s[3];
    rec->err_len = len[3];
    /* A writer with no pieces may leave the totals out. */
    if (rec->out_total < rec->out_len)
        rec->out_total = rec->out_len;
    if (rec->err_total < rec->err_len)
        rec->err_total = rec->err_len;
    return true;
}

/*
 * A sequential reader over a window of the file. `size` bounds what is
 * read: the file's size when reading began, so records a running farm
 * appends meanwhile are not seen half-written.
 */
struct reader {
    int fd;
    const char *path;
    uint64_t size;
    uint64_t base;     /* file offset of win.data[0] */
    struct tf_buf win; /* owned */
    uint32_t version;  /* the file header's */
};

/*
 * Points *P at the N bytes at file offset OFF; OFF + N <= rd->size. The
 * pointer is valid until the next call. Reading on from the window reads
 * ahead; a jump elsewhere (the records of `taskfarm results` in task
 * order) reads only the N bytes.
 */
static int
get(struct reader *rd, uint64_t off, size_t n, const unsigned char **p,
    struct tf_error *err)
{
    uint64_t want = n;
    int rc;

    if (off >= rd->base && off - rd->base <= rd->win.len &&
        n <= rd->win.len - (off - rd->base)) {
        *p = rd->win.data + (off - rd->base);
        return 0;
    }
    if (off >= rd->base && off - rd->base <= rd->win.len) {
        size_t skip = (size_t)(off - rd->base);

        if (skip > 0 && skip < rd->win.len)
            memmove(rd->win.data, rd->win.data + skip, rd->win.len - skip);
        rd->win.len -= skip;
        if (want < READ_AT)
            want = READ_AT;
        if (want > rd->size - off)
            want = rd->size - off;
    } else {
        rd->win.len = 0;
    }
    rd->base = off;
    rc = tf_buf_reserve(&rd->win, (size_t)want - rd->win.len);
    if (rc < 0)
        return tf__error(err, rc,
                         "%s: out of memory reading a record of %zu "
                         "bytes",
                         rd->path, n);
    while (rd->win.len < want) {
        ssize_t got =
            pread(rd->fd, rd->win.data + rd->win.len,
                  (size_t)want - rd->win.len, (off_t)(rd->base + rd->win.len));

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return tf__error_errno(err, TF_ESYS, errno, "reading %s", rd->path);
        if (got == 0) {
            if (rd->win.len >= n)
                break;
            return tf__error(err, TF_EINPUT,
                             "%s: the file shrank while being read", rd->path);
        }
        rd->win.len += (size_t)got;
    }
    rd->win.data[rd->win.len] = '\0';
    *p = rd->win.data;
    return 0;
}

/*
 * Checks the record at OFF. Returns 1 when a whole, valid record is there
 * (REC then points into the window, and *NEXT is the offset after it), 0
 * when not, or a negative code for a read error.
 */
static int
record_at(struct reader *rd, uint64_t off, struct tf__result_rec *rec,
          uint64_t *next, struct tf_error *err)
{
    const unsigned char *p;
    uint32_t n;
    unsigned v;
    int rc;

    if (off > rd->size || rd->size - off < REC_MIN)
        return 0;
    rc = get(rd, off, REC_HDR, &p, err);
    if (rc < 0)
        return rc;
    if (memcmp(p, rec_magic, 3) != 0 || p[3] < REC_V1 ||
        p[3] > REC_V1 + TF__RESULTS_VERSION - 1)
        return 0;
    v = (unsigned)(p[3] - REC_V1) + 1;
    n = tf__load_u32(p + 4);
    if (n < fixed_of[v] + 4 * 4 || n > TF__RESULTS_MAX_BODY ||
        (uint64_t)n + REC_HDR + REC_TRAILER > rd->size - off)
        return 0;
    if (header_check(off, p) != tf__load_u32(p + 8))
        return 0;
    rc = get(rd, off, REC_HDR + (size_t)n + REC_TRAILER, &p, err);
    if (rc < 0)
        return rc;
    if (tf__crc32c(0, p + REC_HDR, n) != tf__load_u32(p + REC_HDR + n))
        return 0;
    if (!decode_body(p + REC_HDR, n, v, rec))
        return 0;
    *next = off + REC_HDR + n + REC_TRAILER;
    return 1;
}

/* Points *P at the bytes from file offset OFF on that the window holds, at
 * least MIN of them (OFF + MIN <= rd->size), and sets *N to their number. */
static int
get_some(struct reader *rd, uint64_t off, size_t min, const unsigned char **p,
         size_t *n, struct tf_error *err)
{
    int rc;

    if (off < rd->base || off - rd->base > rd->win.len ||
        rd->win.len - (off - rd->base) < min) {
        uint64_t want = rd->size - off;

        if (want > READ_AT)
            want = READ_AT;
        rc = get(rd, off, want < min ? min : (size_t)want, p, err);
        if (rc < 0)
            return rc;
    }
    *p = rd->win.data + (off - rd->base);
    *n = rd->win.len - (size_t)(off - rd->base);
    if (*n > rd->size - off)
        *n = (size_t)(rd->size - off);
    return 0;
}

/* Finds the first valid record after offset FROM. Returns 1 (with its
 * offset in *FOUND), 0 when there is none, or a negative code. Each place
 * where the record magic occurs costs a 16-byte check, and only a place
 * that passes it (which takes the right offset) a whole record's. */
static int
valid_after(struct reader *rd, uint64_t from, uint64_t *found,
            struct tf_error *err)
{
    uint64_t pos = from + 1;

    while (pos < rd->size && rd->size - pos >= REC_MIN) {
        const unsigned char *p;
        const unsigned char *q;
        struct tf__result_rec rec;
        uint64_t next = 0;
        uint64_t cand;
        size_t n;
        int rc;

        rc = get_some(rd, pos, REC_MIN, &p, &n, err);
        if (rc < 0)
            return rc;
        q = memmem(p, n, rec_magic, sizeof(rec_magic));
        if (q == NULL) {
            /* The magic may straddle the end of what was searched. */
            pos += n - (sizeof(rec_magic) - 1);
            continue;
        }
        /* record_at() checks the version byte after "TFR". */
        cand = pos + (uint64_t)(q - p);
        rc = record_at(rd, cand, &rec, &next, err);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *found = cand;
            return 1;
        }
        pos = cand + 1;
    }
    return 0;
}

/*
 * Checks the file header. Sets *START to the offset of the first record, or
 * to 0 with rd->size 0 when the file is empty or holds only the beginning
 * of a header (a run killed as it created the file).
 */
static int
check_header(struct reader *rd, uint64_t *start, struct tf_error *err)
{
    const unsigned char *p;
    unsigned char want[TF__RESULTS_VERSION][FILE_HDR];
    uint32_t version;
    int rc;
    int v;

    for (v = 0; v < TF__RESULTS_VERSION; v++) {
        memset(want[v], 0, FILE_HDR);
        memcpy(want[v], FILE_MAGIC, 8);
        tf__store_u32(want[v] + 8, (uint32_t)v + 1);
    }
    rd->version = TF__RESULTS_VERSION;
    if (rd->size < FILE_HDR) {
        if (rd->size > 0) {
            rc = get(rd, 0, (size_t)rd->size, &p, err);
            if (rc < 0)
                return rc;
            for (v = 0; v < TF__RESULTS_VERSION &&
                        memcmp(p, want[v], (size_t)rd->size) != 0;
                 v++)
                ;
            if (v == TF__RESULTS_VERSION)
                return tf__error(err, TF_EINPUT,
                                 "%s: not a taskfarm results file", rd->path);
        }
        rd->size = 0;
        *start = 0;
        return 0;
    }
    rc = get(rd, 0, FILE_HDR, &p, err);
    if (rc < 0)
        return rc;
    if (memcmp(p, FILE_MAGIC, 8) != 0)
        return tf__error(err, TF_EINPUT, "%s: not a taskfarm results file",
                         rd->path);
    version = tf__load_u32(p + 8);
    if (version < 1 || version > TF__RESULTS_VERSION)
        return tf__error(err, TF_EINPUT,
                         "%s: results file of format version %" PRIu32
                         "; this taskfarm reads versions 1 to %d",
                         rd->path, version, TF__RESULTS_VERSION);
    rd->version = version;
    *start = FILE_HDR;
    return 0;
}

/* Called with each record, its offset and its length in the file. */
typedef int (*scan_fn)(void *arg, const struct tf__result_rec *rec,
                       uint64_t off, uint64_t len);

/*
 * Reads the records from START, calling FN (when not NULL) for each with its
 * offset, and sets *END to the offset after the last whole one. A bad record
 * with a valid one anywhere after it is TF_EINPUT; otherwise it starts the
 * ignored tail. STRICT (for a second pass up to a known end) makes any bad
 * record an error. FN may have been called when this returns an error.
 */
static int
scan(struct reader *rd, uint64_t start, bool strict, scan_fn fn, void *arg,
     uint64_t *end, struct tf_error *err)
{
    uint64_t off = start;
    int rc;

    while (off < rd->size) {
        struct tf__result_rec rec;
        uint64_t next = 0;
        uint64_t found = 0;

        rc = record_at(rd, off, &rec, &next, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (strict)
                return tf__error(err, TF_EINPUT,
                                 "%s: the record at byte %" PRIu64
                                 " changed while being read",
                                 rd->path, off);
            rc = valid_after(rd, off, &found, err);
            if (rc < 0)
                return rc;
            if (rc == 1)
                return tf__error(err, TF_EINPUT,
                                 "%s: corrupt record at byte %" PRIu64
                                 " (a valid record follows at byte %" PRIu64
                                 ")",
                                 rd->path, off, found);
            break;
        }
        if (fn != NULL) {
            rc = fn(arg, &rec, off, next - off);
            if (rc != 0)
                return rc;
        }
        off = next;
    }
    *end = off;
    return 0;
}

/* Opens PATH for a reader; TF_EINPUT naming it when it cannot be read. */
static int
reader_open(struct reader *rd, const char *path, struct tf_error *err)
{
    struct stat st;

    memset(rd, 0, sizeof(*rd));
    tf_buf_init(&rd->win, 0);
    rd->path = path;
    /* O_NONBLOCK: a FIFO given by mistake is refused below instead of
     * waiting for a writer. */
    rd->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (rd->fd < 0)
        return tf__error_errno(err, TF_EINPUT, errno, "%s", path);
    if (fstat(rd->fd, &st) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "%s", path);
    if (!S_ISREG(st.st_mode))
        return tf__error(err, TF_EINPUT, "%s: not a regular file", path);
    rd->size = (uint64_t)st.st_size;
    return 0;
}

static void
reader_close(struct reader *rd)
{
    if (rd->fd >= 0)
        close(rd->fd);
    rd->fd = -1;
    tf_buf_cleanup(&rd->win);
}

/*
 * Reads PATH: checks it whole first, so that an error comes before any
 * call of FN, then calls FN with each record up to the end found.
 */
static int
read_file(const char *path, scan_fn fn, void *arg, uint64_t *tail_bytes,
          struct tf_error *err)
{
    struct reader rd;
    uint64_t size;
    uint64_t start = 0;
    uint64_t end = 0;
    int rc;

    rc = reader_open(&rd, path, err);
    size = rd.size;
    if (rc == 0)
        rc = check_header(&rd, &start, err);
    if (rc == 0)
        rc = scan(&rd, start, false, NULL, NULL, &end, err);
    if (rc == 0 && fn != NULL) {
        rd.size = end;
        rc = scan(&rd, start, true, fn, arg, &end, err);
    }
    if (rc == 0 && tail_bytes != NULL)
        *tail_bytes = size - end;
    reader_close(&rd);
    return rc;
}

/*
 * Task records alone, for tf__results_read().
 */
struct task_fn {
    int (*fn)(void *arg, const struct tf__result_rec *rec);
    void *arg;
};

static int
call_task(void *arg, const struct tf__result_rec *rec, uint64_t off,
          uint64_t len)
{
    struct task_fn *u = arg;

    (void)len;
    (void)off;
    if (rec->kind != TF__REC_TASK)
        return 0;
    return u->fn(u->arg, rec);
}

int
tf__results_read(const char *path,
                 int (*fn)(void *arg, const struct tf__result_rec *rec),
                 void *arg, uint64_t *tail_bytes, struct tf_error *err)
{
    struct task_fn u;

    u.fn = fn;
    u.arg = arg;
    return read_file(path, fn != NULL ? call_task : NULL, &u, tail_bytes,
                     err);
}

int
tf__results_scan(const char *path,
                 int (*fn)(void *arg, const struct tf__result_rec *rec,
                           uint64_t off, uint64_t len),
                 void *arg, uint64_t *tail_bytes, struct tf_error *err)
{
    return read_file(path, fn, arg, tail_bytes, err);
}

uint64_t
tf__piece_run_next(struct tf__piece_run *pr, const struct tf__result_rec *rec,
                   uint64_t off)
{
    uint64_t at = off;

    if (rec->kind == TF__REC_PIECE) {
        if (!pr->on || pr->id != rec->id || pr->attempt != rec->attempt) {
            pr->on = true;
            pr->off = off;
            pr->id = rec->id;
            pr->attempt = rec->attempt;
        }
        return off;
    }
    if (rec->kind == TF__REC_TASK && (rec->flags & TF__REC_PIECES) &&
        pr->on && pr->id == rec->id && pr->attempt == rec->attempt)
        at = pr->off;
    pr->on = false;
    return at;
}

struct tf__results_reader {
    struct reader rd;
    uint64_t start; /* the first record's offset */
};

int
tf__results_reader_open(const char *path, struct tf__results_reader **out,
                        struct tf_error *err)
{
    struct tf__results_reader *r;
    int rc;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    rc = reader_open(&r->rd, path, err);
    if (rc == 0)
        rc = check_header(&r->rd, &r->start, err);
    if (rc < 0) {
        tf__results_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void
tf__results_reader_close(struct tf__results_reader *r)
{
    if (r == NULL)
        return;
    reader_close(&r->rd);
    free(r);
}

int
tf__results_reader_at(struct tf__results_reader *r, uint64_t off,
                      struct tf__result_rec *rec, uint64_t *next,
                      struct tf_error *err)
{
    int rc;

    rc = off < r->start ? 0 : record_at(&r->rd, off, rec, next, err);
    if (rc == 0)
        return tf__error(err, TF_EINPUT,
                         "%s: no record at byte %" PRIu64
                         " (the file changed while being read)",
                         r->rd.path, off);
    return rc < 0 ? rc : 0;
}

int
tf__results_reader_output(struct tf__results_reader *r, uint64_t pieces_off,
                          uint64_t rec_off,
                          int (*fn)(void *arg, bool err, const void *p,
                                    size_t n, struct tf_error *e),
                          void *arg, struct tf_error *err)
{
    struct tf__result_rec rec;
    uint64_t off = pieces_off;
    uint64_t next = 0;
    int rc = 0;

    while (rc == 0 && off <= rec_off) {
        rc = tf__results_reader_at(r, off, &rec, &next, err);
        if (rc == 0 && off < rec_off && rec.kind != TF__REC_PIECE)
            rc = tf__error(err, TF_EINPUT,
                           "%s: expected a piece of output at byte %" PRIu64,
                           r->rd.path, off);
        if (rc == 0 && rec.out_len > 0)
            rc = fn(arg, false, rec.out, rec.out_len, err);
        if (rc == 0 && rec.err_len > 0)
            rc = fn(arg, true, rec.err, rec.err_len, err);
        off = next;
    }
    return rc;
}

/* --------------------------------------------------------------- writing */

struct tf__results {
    int fd;
    char *path;    /* owned */
    uint64_t size; /* bytes of the file written whole */
    uint64_t sync_us;
    bool dirty;           /* records written but not yet synced */
    uint64_t dirty_since; /* when the oldest of them was written */
    struct tf_buf buf;    /* owned: encoded records not yet written */
    uint64_t piece_out;   /* stdout and stderr bytes of the pieces added */
    uint64_t piece_err;   /* since the last task record */
    size_t piece_at;      /* where in BUF the first of them waits, or
                             SIZE_MAX */
    uint64_t piece_out_at; /* the two counts before it */
    uint64_t piece_err_at;
    int failed;           /* the code of a failed write, or 0 */
    struct tf_error fail; /* its message */
};

/* Returns again the error of the write that stopped writing. */
static int
fail_with(struct tf__results *r, struct tf_error *err)
{
    if (err != NULL)
        *err = r->fail;
    return r->failed;
}

/* Syncs the directory holding PATH, so that a file just created is found
 * after a crash. Some file systems refuse; that is not an error. */
static void
sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd;

    if (slash == NULL) {
        dir = strdup(".");
    } else {
        dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    }
    if (dir == NULL)
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Writes a fresh file header over an empty or torn file. */
static int
write_header(struct tf__results *r, struct tf_error *err)
{
    unsigned char h[FILE_HDR];

    memset(h, 0, sizeof(h));
    memcpy(h, FILE_MAGIC, 8);
    tf__store_u32(h + 8, TF__RESULTS_VERSION);
    if (ftruncate(r->fd, 0) < 0 || tf__write_all(r->fd, h, sizeof(h)) < 0 ||
        fdatasync(r->fd) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "writing %s", r->path);
    r->size = FILE_HDR;
    sync_dir(r->path);
    return 0;
}

/* Marks an older file as of this format version, before records of this
 * version are added to it. (The file is open for appending: the header is
 * written through a second descriptor.) */
static int
upgrade_header(struct tf__results *r, struct tf_error *err)
{
    unsigned char v[4];
    int fd;
    int rc = 0;

    tf__store_u32(v, TF__RESULTS_VERSION);
    fd = open(r->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || pwrite(fd, v, sizeof(v), 8) != (ssize_t)sizeof(v) ||
        fdatasync(fd) < 0)
        rc = tf__error_errno(err, TF_ESYS, errno, "writing %s", r->path);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Notes in *ARG where the pieces that end the file start (UINT64_MAX:
 * it does not end with pieces). */
static int
trailing_pieces(void *arg, const struct tf__result_rec *rec, uint64_t off,
                uint64_t len)
{
    uint64_t *trail = arg;

    (void)len;
    if (rec->kind != TF__REC_PIECE)
        *trail = UINT64_MAX;
    else if (*trail == UINT64_MAX)
        *trail = off;
    return 0;
}

int
tf__results_open(const char *path, uint64_t sync_us, struct tf__results **out,
                 struct tf_error *err)
{
    uint64_t trail = UINT64_MAX;
    struct tf__results *r;
    struct reader rd;
    struct stat st;
    uint64_t start = 0;
    uint64_t end = 0;
    int rc;

    *out = NULL;
    memset(&rd, 0, sizeof(rd));
    tf_buf_init(&rd.win, 0);
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    r->fd = -1;
    r->sync_us = sync_us;
    r->piece_at = SIZE_MAX;
    tf_buf_init(&r->buf, 0);
    r->path = strdup(path);
    if (r->path == NULL) {
        rc = tf__error(err, TF_ENOMEM, "out of memory");
        goto fail;
    }
    r->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (r->fd < 0) {
        rc = tf__error_errno(err, TF_EUSAGE, errno, "%s", path);
        goto fail;
    }
    /* Two runs appending to one file would interleave their records. File
     * systems without locks (ENOSYS, ENOLCK) are let through. */
    if (flock(r->fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
        rc = tf__error(err, TF_EUSAGE, "%s: in use by another taskfarm run",
                       path);
        goto fail;
    }
    if (fstat(r->fd, &st) < 0) {
        rc = tf__error_errno(err, TF_ESYS, errno, "%s", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = tf__error(err, TF_EUSAGE, "%s: not a regular file", path);
        goto fail;
    }
    rd.fd = r->fd;
    rd.path = r->path;
    rd.size = (uint64_t)st.st_size;
    rc = check_header(&rd, &start, err);
    if (rc == 0)
        rc = scan(&rd, start, false, trailing_pieces, &trail, &end, err);
    if (rc < 0)
        goto fail;
    /* Pieces of a task whose record never followed: a run killed while
     * writing a large output. They go with any torn tail, so that the
     * next pieces of that task are not taken for their sequel. */
    if (trail != UINT64_MAX && trail < end) {
        tf__log(TF_LOG_WARN,
                "%s: dropped %" PRIu64 " bytes of output of a task whose "
                "record an earlier run did not get to write",
                path, end - trail);
        end = trail;
    }
    if (end == 0) {
        rc = write_header(r, err);
        if (rc < 0)
            goto fail;
    } else {
        if (end < (uint64_t)st.st_size) {
            if (ftruncate(r->fd, (off_t)end) < 0 || fdatasync(r->fd) < 0) {
                rc =
                    tf__error_errno(err, TF_ESYS, errno, "truncating %s", path);
                goto fail;
            }
            tf__log(TF_LOG_WARN,
                    "%s: dropped the last %" PRIu64 " bytes, a record cut "
                    "short when an earlier run was killed",
                    path, (uint64_t)st.st_size - end);
        }
        r->size = end;
        if (rd.version < TF__RESULTS_VERSION) {
            rc = upgrade_header(r, err);
            if (rc < 0)
                goto fail;
        }
    }
    tf_buf_cleanup(&rd.win);
    *out = r;
    return 0;
fail:
    tf_buf_cleanup(&rd.win);
    tf__results_close(r, NULL);
    return rc;
}

/* Appends the u32 length N and the N bytes at S at P; returns the end. */
static unsigned char *
put_bytes(unsigned char *p, const void *s, size_t n)
{
    tf__store_u32(p, (uint32_t)n);
    if (n > 0)
        memcpy(p + 4, s, n);
    return p + 4 + n;
}

int
tf__results_add(struct tf__results *r, const struct tf__result_rec *rec,
                struct tf_error *err)
{
    unsigned char *start;
    unsigned char *p;
    uint64_t out_total = rec->out_total;
    uint64_t err_total = rec->err_total;
    uint64_t off;
    size_t n;
    int rc;

    if (r->failed)
        return fail_with(r, err);
    if (rec->kind > TF__REC_MARK)
        return tf__error(err, TF_EINPUT, "%s: no record of kind %u",
                         r->path, (unsigned)rec->kind);
    if (rec->host_len > TF__RESULTS_MAX_BODY ||
        rec->cmd_len > TF__RESULTS_MAX_BODY ||
        rec->out_len > TF__RESULTS_MAX_BODY ||
        rec->err_len > TF__RESULTS_MAX_BODY ||
        BODY_MIN + rec->host_len + rec->cmd_len + rec->out_len + rec->err_len >
            TF__RESULTS_MAX_BODY)
        return tf__error(err, TF_EINPUT,
                         "%s: the record of task %" PRIu64
                         " is larger than the limit of %zu bytes",
                         r->path, rec->id, TF__RESULTS_MAX_BODY);
    n = BODY_MIN + rec->host_len + rec->cmd_len + rec->out_len + rec->err_len;
    rc = tf_buf_reserve(&r->buf, REC_HDR + n + REC_TRAILER);
    if (rc < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    if (rec->kind == TF__REC_PIECE) {
        if (r->piece_at == SIZE_MAX) {
            r->piece_at = r->buf.len;
            r->piece_out_at = r->piece_out;
            r->piece_err_at = r->piece_err;
        }
        r->piece_out += rec->out_len;
        r->piece_err += rec->err_len;
    } else if (rec->kind == TF__REC_TASK) {
        if (rec->flags & TF__REC_PIECES) {
            out_total = r->piece_out + rec->out_len;
            err_total = r->piece_err + rec->err_len;
        }
        r->piece_out = r->piece_err = 0;
        r->piece_at = SIZE_MAX;
    }
    if (out_total < rec->out_len)
        out_total = rec->out_len;
    if (err_total < rec->err_len)
        err_total = rec->err_len;
    off = r->size + r->buf.len;
    start = r->buf.data + r->buf.len;
    memcpy(start, rec_magic, 3);
    start[3] = REC_V1 + TF__RESULTS_VERSION - 1;
    tf__store_u32(start + 4, (uint32_t)n);
    tf__store_u32(start + 8, header_check(off, start));
    p = start + REC_HDR;
    tf__store_u64(p + OFF_ID, rec->id);
    tf__store_u64(p + OFF_HASH, rec->hash);
    tf__store_u32(p + OFF_STATUS, (uint32_t)rec->status);
    tf__store_u32(p + OFF_SIGNAL, (uint32_t)rec->signal);
    tf__store_u32(p + OFF_FLAGS, rec->flags);
    tf__store_u32(p + OFF_ATTEMPT, rec->attempt);
    tf__store_u32(p + OFF_WORKER, (uint32_t)rec->worker);
    tf__store_u32(p + OFF_KIND, rec->kind);
    tf__store_u64(p + OFF_START, (uint64_t)rec->start_us);
    tf__store_u64(p + OFF_RUNTIME, rec->runtime_us);
    tf__store_u64(p + OFF_OUT_END, rec->out_end);
    tf__store_u64(p + OFF_OUT_TOTAL, out_total);
    tf__store_u64(p + OFF_ERR_TOTAL, err_total);
    tf__store_u64(p + OFF_CPU, rec->cpu_us);
    tf__store_u64(p + OFF_PEAK, rec->peak_bytes);
    p += FIXED;
    p = put_bytes(p, rec->host, rec->host_len);
    p = put_bytes(p, rec->cmd, rec->cmd_len);
    p = put_bytes(p, rec->out, rec->out_len);
    p = put_bytes(p, rec->err, rec->err_len);
    tf__store_u32(p, tf__crc32c(0, start + REC_HDR, n));
    r->buf.len += REC_HDR + n + REC_TRAILER;
    r->buf.data[r->buf.len] = '\0';
    return 0;
}

size_t
tf__results_pending(const struct tf__results *r)
{
    return r->buf.len;
}

void
tf__results_cut(struct tf__results *r, size_t point)
{
    /* Pieces dropped no longer count towards their task's totals. */
    if (r->piece_at != SIZE_MAX && point <= r->piece_at) {
        r->piece_out = r->piece_out_at;
        r->piece_err = r->piece_err_at;
        r->piece_at = SIZE_MAX;
    }
    if (point < r->buf.len) {
        r->buf.len = point;
        if (r->buf.data != NULL)
            r->buf.data[point] = '\0';
    }
}

const char *
tf__results_path(const struct tf__results *r)
{
    return r->path;
}

int
tf__results_flush(struct tf__results *r, bool sync, struct tf_error *err)
{
    if (r->failed)
        return fail_with(r, err);
    if (r->buf.len > 0) {
        if (tf__write_all(r->fd, r->buf.data, r->buf.len) < 0) {
            int e = errno;
            int cut;

            /* Part of the batch may be in the file: cut it off, so the
             * file still ends with a whole record. If even that fails,
             * the next open drops the piece as a torn tail. */
            cut = ftruncate(r->fd, (off_t)r->size);
            r->failed =
                tf__error_errno(&r->fail, TF_ESYS, e, "writing %s%s", r->path,
                                cut < 0 ? " (a partial record is "
                                          "left at its end)"
                                        : "");
            tf_buf_cleanup(&r->buf);
            return fail_with(r, err);
        }
        r->size += r->buf.len;
        r->piece_at = SIZE_MAX;
        if (!r->dirty) {
            r->dirty = true;
            r->dirty_since = tf__now_us();
        }
        if (r->buf.cap > KEEP_AT)
            tf_buf_cleanup(&r->buf);
        else
            tf_buf_reset(&r->buf);
    }
    if (r->dirty && (sync || r->sync_us == 0 ||
                     tf__now_us() - r->dirty_since >= r->sync_us)) {
        if (fdatasync(r->fd) < 0) {
            /* After a failed sync the kernel may have dropped the data;
             * nothing written later could be trusted either. */
            r->failed = tf__error_errno(&r->fail, TF_ESYS, errno, "syncing %s",
                                        r->path);
            return fail_with(r, err);
        }
        r->dirty = false;
    }
    return 0;
}

uint64_t
tf__results_due_us(const struct tf__results *r)
{
    uint64_t age;

    if (!r->dirty || r->failed)
        return UINT64_MAX;
    age = tf__now_us() - r->dirty_since;
    return age >= r->sync_us ? 0 : r->sync_us - age;
}

int
tf__results_close(struct tf__results *r, struct tf_error *err)
{
    int rc = 0;

    if (r == NULL)
        return 0;
    if (r->fd >= 0) {
        if (err == NULL)
            tf_buf_reset(&r->buf); /* a failed run: drop what waits */
        if (r->path != NULL && (r->failed || r->dirty || r->buf.len > 0))
            rc = tf__results_flush(r, true, err);
        if (close(r->fd) < 0 && rc == 0)
            rc = tf__error_errno(err, TF_ESYS, errno, "closing %s", r->path);
    }
    tf_buf_cleanup(&r->buf);
    free(r->path);
    free(r);
    return rc;
}
