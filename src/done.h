/* done.h - a finished task, as the master hands it to where results go */
#ifndef TF_DONE_H
#define TF_DONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tf__blob;
struct tf__spool;

/*
 * One finished task (its last attempt). Pointers are borrowed and valid
 * during the call that passes it. Its output is, for each stream, the
 * bytes of a blob (OUT_BLOB, ERR_BLOB; NULL when none: the output came in
 * one part) followed by OUT/ERR; a blob's bytes that are in a file are
 * read through SPOOL.
 */
struct tf__done {
    uint64_t id;
    const char *host;
    size_t host_len;
    int64_t start_us;    /* wall clock */
    uint64_t runtime_us;
    uint64_t cpu_us;     /* user + system CPU time */
    uint64_t peak_bytes; /* peak resident memory, 0: not known */
    uint64_t send_bytes; /* size of the task's input */
    int status;
    int signal;
    int worker;          /* 0-based */
    unsigned attempt;    /* 1: the first run */
    uint64_t receive;    /* the joblog's Receive, when not the stdout's
                            size (0: its size) */
    unsigned flags;      /* TF__REC_TIMEOUT, TF__REC_LOST, TF__REC_OOM of
                            results.h */
    bool recorded;       /* its record was written before (see the batch's
                            `keep`): only its output is still to go */
    const void *cmd;
    size_t cmd_len;
    const struct tf__blob *out_blob;
    const struct tf__blob *err_blob;
    struct tf__spool *spool;
    const void *out;
    size_t out_len;
    const void *err;
    size_t err_len;
};

/* The bytes of D's stdout and stderr in all. */
uint64_t tf__done_out_len(const struct tf__done *d);
uint64_t tf__done_err_len(const struct tf__done *d);

#endif /* TF_DONE_H */
