/* results.h - the results file: one checksummed record per finished task */
#ifndef TF_RESULTS_H
#define TF_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * The file is a 16-byte header ("TFRESULT", u32 format version, u32
 * reserved 0) and then records, each:
 *
 *   magic "TFR\x20" | u32 body length N | u32 header check | body | u32 CRC
 *
 * The header check is the CRC-32C of the record's byte offset in the file
 * (u64) followed by its first 8 bytes, so a record copied anywhere else (a
 * task that prints a results file) is never taken for one. The CRC is the
 * CRC-32C of the N body bytes. The body holds the fixed fields of struct
 * tf__result_rec (see results.c for their offsets) and then host, command,
 * stdout and stderr, each a u32 length and the bytes. Integers are
 * little-endian. Format version 1 had records with the magic "TFR\x1e" and
 * a shorter fixed part (no kind, offset or totals), version 2 "TFR\x1f"
 * and no CPU time or peak memory; they are still read, and an older file
 * that a run appends to becomes version 3 (its old records stay as they
 * are). docs/results-format.md describes the format in full.
 */
#define TF__RESULTS_VERSION 3
/* The header's first 8 bytes. */
#define TF__RESULTS_MAGIC "TFRESULT"
/* The largest body. A large output goes into records of at most
 * TF__RESULTS_PIECE bytes each (see TF__REC_PIECE), so only a task line
 * near the 1 GiB --max-line limit comes near it. Anything larger is
 * corrupt. */
#define TF__RESULTS_MAX_BODY ((size_t)1 << 31)
/* The largest piece: an output too large to go through a writer's buffer
 * whole (tens of KiB) is written in pieces of at most this. */
#define TF__RESULTS_PIECE ((size_t)1 << 20)

/* Values of struct tf__result_rec.kind. */
#define TF__REC_TASK 0u  /* a finished task (the only kind of version 1) */
#define TF__REC_PIECE 1u /* a part of the output of attempt ATTEMPT of task
                            ID, in OUT (stdout) and ERR (stderr): its pieces
                            come in order right before the task's record,
                            which has TF__REC_PIECES and the rest */
#define TF__REC_MARK 2u  /* the output of task ID, as its last record holds
                            it, was written where it was going; OUT_END is
                            the size of --output then, or 0 */

/* Values of struct tf__result_rec.flags. */
#define TF__REC_TIMEOUT 1u /* ended by --timeout */
#define TF__REC_LOST 2u    /* its worker died under it */
#define TF__REC_EMITTED 4u /* its output was written where it was going
                              before this record was (else a later
                              TF__REC_MARK says so, or it was not yet) */
#define TF__REC_PIECES 8u  /* TF__REC_PIECE records right before this one
                              hold the start of its output */
#define TF__REC_OOM 16u    /* the out-of-memory killer ended it */

/* One record. Pointers are borrowed. */
struct tf__result_rec {
    uint32_t kind;    /* TF__REC_TASK, TF__REC_PIECE or TF__REC_MARK */
    uint64_t id;      /* task number (1-based) */
    uint64_t hash;    /* tf__task_hash() of the task's bytes */
    int32_t status;   /* exit status (0 ok); -1 when it never ran to an
                         exit */
    int32_t signal;   /* signal that ended it, or 0 */
    uint32_t flags;   /* TF__REC_* */
    uint32_t attempt; /* 1 for the first run, 2 for the first retry, ... */
    int32_t worker;   /* 0-based worker index */
    int64_t start_us; /* wall clock, microseconds since the epoch */
    uint64_t runtime_us;
    uint64_t cpu_us;     /* user + system CPU time; 0 in records of
                            versions 1 and 2 */
    uint64_t peak_bytes; /* peak resident memory; 0: not known (an
                            in-process task, or versions 1 and 2) */
    uint64_t out_end;   /* with TF__REC_EMITTED, and in a mark: the size of
                           the --output file once this task's output was in
                           it; 0 when the output went elsewhere */
    uint64_t out_total; /* stdout bytes in all, pieces included; a writer
                           may leave it 0 when there are no pieces */
    uint64_t err_total; /* stderr bytes in all, likewise */
    const char *host;
    size_t host_len;
    const void *cmd; /* the task's text or input (may be empty) */
    size_t cmd_len;
    const void *out; /* stdout, or its last part after the pieces */
    size_t out_len;
    const void *err; /* stderr, or its last part */
    size_t err_len;
};

/* FNV-1a (64 bits) of the N bytes at P: the hash of a task's bytes. */
uint64_t tf__task_hash(const void *p, size_t n);

/*
 * CRC-32C (Castagnoli, as in iSCSI and ext4) of the N bytes at P, going on
 * from CRC (0 to start). tf__crc32c(0, "123456789", 9) is 0xe3069283.
 */
uint32_t tf__crc32c(uint32_t crc, const void *p, size_t n);

struct tf__results;

/*
 * Opens PATH (master only) for appending records. A missing or empty file
 * is created with a file header. An existing one must be a results file:
 * its header is checked and its records read; a torn tail (the end of a
 * record a killed run was writing) is truncated away, with a warning, so
 * new records follow the last whole one. The file is locked (flock) while
 * open. SYNC_US: records written are on disk (fdatasync) at most this many
 * microseconds later, given the calls that tf__results_due_us() asks for;
 * 0 syncs at every flush.
 *
 * Returns 0 and the handle in *OUT, or: TF_EUSAGE when PATH cannot be
 * opened or created or another run has it open; TF_EINPUT when it is not a
 * results file, or is corrupt before its end (the message names the byte
 * offset; the file is then left as it was); TF_ESYS for an I/O error.
 */
int tf__results_open(const char *path, uint64_t sync_us,
                     struct tf__results **out, struct tf_error *err);

/*
 * Adds one record (REC and what it points to are copied) to those waiting
 * to be written: nothing is written until tf__results_flush(), so that a
 * caller decides what must be in place first (a task's output). The writer
 * fills OUT_TOTAL and ERR_TOTAL of a task record with TF__REC_PIECES from
 * the pieces added before it. Returns 0, TF_EINPUT for a record larger
 * than TF__RESULTS_MAX_BODY (nothing is added), TF_ENOMEM, or the error of
 * an earlier failed write.
 */
int tf__results_add(struct tf__results *r, const struct tf__result_rec *rec,
                    struct tf_error *err);

/* Bytes added and not yet written: a point to cut back to (see
 * tf__results_cut()). */
size_t tf__results_pending(const struct tf__results *r);

/* Drops the records added after the first POINT bytes that
 * tf__results_pending() counted: records that must not be written after
 * all (the output they promise could not be). */
void tf__results_cut(struct tf__results *r, size_t point);

/*
 * Writes the records added, then fdatasyncs when SYNC is true, the sync
 * interval is 0, or the oldest record not yet synced is that old. A write
 * or sync that fails is TF_ESYS naming the file; a partly written batch is
 * first cut off (ftruncate) so the file ends with a whole record. After
 * such a failure nothing more is written: every later add, flush and close
 * returns the same error.
 */
int tf__results_flush(struct tf__results *r, bool sync, struct tf_error *err);

/*
 * Microseconds until tf__results_flush(R, false, ...) must be called for the
 * records written so far to be synced within the interval: 0 when it is
 * due now, UINT64_MAX when every record is synced. The master bounds its
 * waits by it.
 */
uint64_t tf__results_due_us(const struct tf__results *r);

/* The file's path. */
const char *tf__results_path(const struct tf__results *r);

/*
 * Closes, and frees R; NULL is a no-op. With ERR not NULL it first writes
 * and syncs what was added and returns the first error; with ERR NULL what
 * was added and not written is dropped (a run that failed).
 */
int tf__results_close(struct tf__results *r, struct tf_error *err);

/*
 * Reads every whole, valid task record (TF__REC_TASK) of PATH in file
 * order, calling FN for each (REC and what it points to are valid only
 * during the call; OUT_TOTAL and ERR_TOTAL are filled, OUT and ERR are
 * only the last part of an output written in pieces); a nonzero return
 * from FN stops the scan, and tf__results_read() returns that value. The
 * file is checked whole before the first call, so on an error FN was never
 * called. A torn or corrupt tail is not an error: *TAIL_BYTES (when not
 * NULL) says how many bytes at the end were ignored. A bad record followed
 * by valid ones is TF_EINPUT naming the file and the bad record's byte
 * offset; a file that is not a results file is TF_EINPUT; an unreadable
 * file is TF_EINPUT naming it; a read error is TF_ESYS. Records appended
 * while it reads are not seen.
 */
int tf__results_read(const char *path,
                     int (*fn)(void *arg, const struct tf__result_rec *rec),
                     void *arg, uint64_t *tail_bytes, struct tf_error *err);

/*
 * As tf__results_read(), but FN gets every record, of every kind, with its
 * byte offset OFF in the file and its length LEN, for a caller that reads
 * records again later (tf__results_reader_at()).
 */
int tf__results_scan(const char *path,
                     int (*fn)(void *arg, const struct tf__result_rec *rec,
                               uint64_t off, uint64_t len),
                     void *arg, uint64_t *tail_bytes, struct tf_error *err);

/*
 * Follows the records of a scan to find where each task's pieces start:
 * zero it, then pass it every record in file order. For a task record at
 * OFF with TF__REC_PIECES, returns the offset of the first of the pieces of
 * the same task and attempt right before it (OFF when there are none);
 * for any other record, OFF.
 */
struct tf__piece_run {
    bool on;
    uint64_t off;
    uint64_t id;
    uint32_t attempt;
};
uint64_t tf__piece_run_next(struct tf__piece_run *pr,
                            const struct tf__result_rec *rec, uint64_t off);

/* A reader of records at known offsets of a results file. */
struct tf__results_reader;

/* Opens PATH for tf__results_reader_at(). TF_EINPUT when it cannot be
 * read or is not a results file. */
int tf__results_reader_open(const char *path,
                            struct tf__results_reader **out,
                            struct tf_error *err);
/*
 * Reads the record at byte OFF into REC (valid until the next call) and
 * sets *NEXT to the offset after it. Returns 0, TF_EINPUT when there is no
 * valid record there (the file changed), or TF_ESYS.
 */
int tf__results_reader_at(struct tf__results_reader *rd, uint64_t off,
                          struct tf__result_rec *rec, uint64_t *next,
                          struct tf_error *err);
/* NULL is a no-op. */
void tf__results_reader_close(struct tf__results_reader *rd);

/*
 * Calls FN with the bytes of the output of the task whose record is at
 * REC_OFF, stream by stream in order: its pieces from PIECES_OFF (the
 * offset of the first piece; equal to REC_OFF when there are none), then
 * the record's own last parts. ERR says which stream (false: stdout). A
 * negative return from FN stops it and is returned.
 */
int tf__results_reader_output(struct tf__results_reader *rd,
                              uint64_t pieces_off, uint64_t rec_off,
                              int (*fn)(void *arg, bool err, const void *p,
                                        size_t n, struct tf_error *e),
                              void *arg, struct tf_error *err);

#endif /* TF_RESULTS_H */
