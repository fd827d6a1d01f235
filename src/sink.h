/* sink.h - where finished tasks go: output blocks and the joblog */
#ifndef TF_SINK_H
#define TF_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "done.h"
#include "taskfarm.h"

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

/*
 * Appends the N bytes at P of a stream whose lines are tagged with "ID<TAB>"
 * to BUF, going on from where an earlier call left it: *AT_LINE_START is
 * true at the start of a stream and after a newline. At the end of the
 * stream, a last line without a newline needs one (when !*AT_LINE_START).
 */
int tf__tag_more(struct tf_buf *buf, uint64_t id, const void *p, size_t n,
                 bool *at_line_start);

/*
 * A sink writes finished tasks where they go: each task's output to the
 * output and error descriptors, whole and never mixed with another's, and
 * its record to the joblog and the results file. A record is a promise: it
 * is written only once the task's output is where it was going (or, for a
 * task kept before its turn, in the results file or the joblog's spool
 * file), so that a resumed run neither loses nor doubles output. When an
 * output write fails, the run's records stop at the last task written
 * whole, and an output that is a regular file is cut back to that task's
 * end; when a record cannot be written, such an output is cut back to
 * before the tasks it would have recorded. After a failure every call
 * returns the same error.
 */
struct tf__sink;
struct tf__results;
struct tf__results_reader;

struct tf__sink_opts {
    int out_fd;            /* task stdout goes here; -1: nowhere (a sink of
                              records alone, which keeps the output in the
                              results file) */
    const char *out_path;  /* --output FILE that OUT_FD is (its size goes
                              in the records), or NULL: standard output */
    int err_fd;            /* task stderr goes here */
    const char *joblog;    /* or NULL */
    bool append;           /* append to JOBLOG (a resumed run); else it is
                              truncated */
    bool tag;              /* prefix output lines with "ID<TAB>" */
    struct tf__results *results; /* borrowed, or NULL */
    uint64_t sync_us;      /* the sync interval of the joblog's spool */
    /* The joblog's Command column of D appended to OUT (NULL: the task's
     * text); returns 0 or a negative code. */
    int (*label)(void *arg, const struct tf__done *d, struct tf_buf *out);
    void *label_arg;
};

/*
 * Opens a sink. The joblog is created (or truncated, or appended to) and
 * locked, and its header written at once when it is empty. A joblog that
 * cannot be opened, or that another run has open, is TF_EUSAGE naming it;
 * one whose header cannot be written (a full disk) is TF_ESYS.
 */
int tf__sink_open(const struct tf__sink_opts *o, struct tf__sink **out,
                  struct tf_error *err);

/*
 * Starts the run's writing, once the output is where the run appends to
 * it: notes its size (for the records' offsets; with --output and a results
 * file a first record says which file and how large). UNMARKED (NULL:
 * none) says, with ARG, whether the joblog spool of the run resumed holds
 * task ID's output unwritten: a record of such a task, when written, is
 * followed by a mark that its output now is.
 */
int tf__sink_start(struct tf__sink *s, bool (*unmarked)(void *arg, uint64_t id),
                   void *arg, struct tf_error *err);

/*
 * Writes finished task D in its turn: its output, then its record (or, for
 * a task kept before, D->recorded, a mark that its output is written).
 * Small output is gathered and written by tf__sink_flush(); call that
 * before the master waits.
 */
int tf__sink_emit(struct tf__sink *s, const struct tf__done *d,
                  struct tf_error *err);

/*
 * Records finished task D before its turn: with its output, in the results
 * file, or without one in the joblog's spool file (JOBLOG.spool), and then
 * its joblog line. A small output's records are written with the next
 * flush, a large one's at once. Its output is written later, by
 * tf__sink_emit() with D->recorded.
 */
int tf__sink_keep(struct tf__sink *s, const struct tf__done *d,
                  struct tf_error *err);

/*
 * Writes once more the output of task ID that an earlier run recorded but
 * never wrote: as the records from PIECES_OFF to REC_OFF of the results
 * file that RD reads hold it; then a mark. For a resumed run, before its
 * own tasks.
 */
int tf__sink_replay(struct tf__sink *s, struct tf__results_reader *rd,
                    uint64_t id, uint64_t pieces_off, uint64_t rec_off,
                    struct tf_error *err);

int tf__sink_flush(struct tf__sink *s, struct tf_error *err);

/*
 * With ERR: writes what waits, syncs and closes, and returns the first
 * error; a joblog spool whose every task was written is then removed. With
 * ERR NULL (a failed run): drops what waits and closes. Frees S; NULL is a
 * no-op.
 */
int tf__sink_close(struct tf__sink *s, struct tf_error *err);

/* The path of the spool file of JOBLOG, in BUF (JOBLOG.spool). */
int tf__sink_spool_path(const char *joblog, struct tf_buf *buf);

#endif /* TF_SINK_H */
