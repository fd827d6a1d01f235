/* results.h - the results file: one checksummed record per finished task */
#ifndef TF_RESULTS_H
#define TF_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * The file is a 16-byte header ("TFRESULT", u32 format version 1, u32
 * reserved 0) and then records, each:
 *
 *   magic "TFR\x1e" | u32 body length N | u32 header check | body | u32 CRC
 *
 * The header check is the CRC-32C of the record's byte offset in the file
 * (u64) followed by its first 8 bytes, so a record copied anywhere else (a
 * task that prints a results file) is never taken for one. The CRC is the
 * CRC-32C of the N body bytes. The body holds the fixed fields of struct
 * tf__result_rec (see results.c for their offsets) and then host, command,
 * stdout and stderr, each a u32 length and the bytes. Integers are
 * little-endian. docs/results.md describes the format in full.
 */
#define TF__RESULTS_VERSION 1
/* The header's first 8 bytes. */
#define TF__RESULTS_MAGIC "TFRESULT"
/* The largest body: a task's output may be up to the 1 GiB message limit
 * and its line up to the 1 GiB --max-line limit. Anything larger is
 * corrupt. */
#define TF__RESULTS_MAX_BODY ((size_t)1 << 31)

/* Values of struct tf__result_rec.flags. */
#define TF__REC_TIMEOUT 1u /* ended by --timeout */
#define TF__REC_LOST 2u    /* its worker died under it */

/* One finished task's record. Pointers are borrowed. */
struct tf__result_rec {
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
    const char *host;
    size_t host_len;
    const void *cmd; /* the task's text or input (may be empty) */
    size_t cmd_len;
    const void *out; /* stdout */
    size_t out_len;
    const void *err; /* stderr */
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
 * open. SYNC_US: records added are on disk (fdatasync) at most this many
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
 * Adds one record (REC and what it points to are copied). Records are
 * buffered and written in batches of about 1 MiB, or sooner when the sync
 * interval has passed. Returns 0, TF_EINPUT for a record larger than
 * TF__RESULTS_MAX_BODY (nothing is written), TF_ENOMEM, or the TF_ESYS of
 * a failed write (see tf__results_flush()).
 */
int tf__results_add(struct tf__results *r, const struct tf__result_rec *rec,
                    struct tf_error *err);

/*
 * Writes the buffered records, then fdatasyncs when SYNC is true, the sync
 * interval is 0, or the oldest record not yet synced is that old. A write
 * or sync that fails is TF_ESYS naming the file; a partly written batch is
 * first cut off (ftruncate) so the file ends with a whole record. After
 * such a failure nothing more is written: every later add, flush and close
 * returns the same error.
 */
int tf__results_flush(struct tf__results *r, bool sync, struct tf_error *err);

/*
 * Microseconds until tf__results_flush(R, false, ...) must be called for the
 * records added so far to be synced within the interval: 0 when it is due
 * now, UINT64_MAX when every record is synced. The master bounds its waits
 * by it.
 */
uint64_t tf__results_due_us(const struct tf__results *r);

/* Flushes, syncs and closes, and frees R. NULL is a no-op. Returns the
 * first error. */
int tf__results_close(struct tf__results *r, struct tf_error *err);

/* Drops the records added and not yet written: after the run failed to
 * write its other records (the joblog), so both files hold the same tasks.
 * NULL is ignored. */
void tf__results_discard(struct tf__results *r);

/*
 * Reads every whole, valid record of PATH in file order, calling FN for each
 * (REC and what it points to are valid only during the call); a nonzero
 * return from FN stops the scan, and tf__results_read() returns that value.
 * The file is checked whole before the first call, so on an error FN was
 * never called. A torn or corrupt tail is not an error: *TAIL_BYTES (when
 * not NULL) says how many bytes at the end were ignored. A bad record
 * followed by valid ones is TF_EINPUT naming the file and the bad record's
 * byte offset; a file that is not a results file is TF_EINPUT; an unreadable
 * file is TF_EINPUT naming it; a read error is TF_ESYS. Records appended
 * while it reads are not seen.
 */
int tf__results_read(const char *path,
                     int (*fn)(void *arg, const struct tf__result_rec *rec),
                     void *arg, uint64_t *tail_bytes, struct tf_error *err);

/*
 * `taskfarm results FILE [--format tsv|jsonl] [--all]` and
 * `taskfarm results FILE --task N`: the whole subcommand; ARGV[0] is
 * "results". Prints to standard output the last record of each task in task
 * order (every record in file order with --all), as TSV or JSON lines; or,
 * with --task N, task N's stdout bytes to standard output and its stderr
 * bytes to standard error, exactly. Diagnostics go to standard error, one
 * line each, including a note when a torn tail was ignored. Returns the exit
 * status: 0 done, 1 no record of task N, 2 usage error or a missing,
 * unreadable, foreign or corrupt file, 3 a read or write error.
 */
int tf__results_main(int argc, char **argv);

#endif /* TF_RESULTS_H */
