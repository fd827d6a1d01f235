/* sink.h - where finished tasks go: output blocks and the joblog */
#ifndef TF_SINK_H
#define TF_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/* One finished task, as the sink writes it. Pointers are borrowed. */
struct tf__done {
    uint64_t id;
    const char *host;
    size_t host_len;
    int64_t start_us;    /* wall clock */
    uint64_t runtime_us;
    uint64_t send_bytes; /* size of the task's input */
    int status;
    int signal;
    int worker;          /* 0-based */
    unsigned attempt;    /* 1: the first run */
    unsigned flags;      /* TF__REC_* of results.h */
    const void *cmd;
    size_t cmd_len;
    const void *out;
    size_t out_len;
    const void *err;
    size_t err_len;
};

/* The header line of a joblog, as GNU Parallel writes it. */
#define TF__JOBLOG_HEADER                                                     \
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\t"     \
    "Command\n"

/*
 * Appends D's joblog line to BUF: TAB-separated Seq, Host, Starttime (epoch
 * seconds, 3 decimals), JobRuntime (seconds, 3 decimals, right-aligned in 10
 * columns), Send, Receive (stdout bytes), Exitval, Signal, Command, newline.
 * A newline or carriage return inside Command is written as a space, so one
 * task is always one line.
 */
int tf__joblog_format(struct tf_buf *buf, const struct tf__done *d);

/*
 * Appends the N bytes at P to BUF with "ID<TAB>" before each line (a last
 * line without a newline gets one).
 */
int tf__tag_lines(struct tf_buf *buf, uint64_t id, const void *p, size_t n);

struct tf__sink;

/*
 * Opens a sink writing task output to OUT_FD and ERR_FD and, when JOBLOG is
 * not NULL, a joblog (created or truncated, header written at once). An
 * unwritable JOBLOG is TF_EUSAGE naming it.
 */
int tf__sink_open(int out_fd, int err_fd, const char *joblog, bool tag,
                  struct tf__sink **out, struct tf_error *err);
/* The same, but with APPEND an existing JOBLOG is appended to (its header
 * written only when it is empty), for a resumed run. */
int tf__sink_open_ex(int out_fd, int err_fd, const char *joblog, bool append,
                     bool tag, struct tf__sink **out, struct tf_error *err);

struct tf__results;
/* Also writes a record of every task to R (borrowed; the caller closes
 * it after the sink). */
void tf__sink_set_results(struct tf__sink *s, struct tf__results *r);

/*
 * Writes one finished task: its stdout block to OUT_FD, its stderr block to
 * ERR_FD (each whole, never mixed with another task's) and its joblog line.
 * Small blocks are buffered until tf__sink_flush(); call that before the
 * master waits.
 */
int tf__sink_emit(struct tf__sink *s, const struct tf__done *d,
                  struct tf_error *err);
int tf__sink_flush(struct tf__sink *s, struct tf_error *err);
/* Flushes and closes. Returns the first error of the flush or close. */
int tf__sink_close(struct tf__sink *s, struct tf_error *err);

#endif /* TF_SINK_H */
