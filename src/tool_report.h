/* tool_report.h - `taskfarm report`: a run's timeline and numbers,
 * as HTML or text */
#ifndef TF_TOOL_REPORT_H
#define TF_TOOL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * A report reads a joblog (GNU Parallel's format, as --joblog writes it) or
 * a results file (--results), works out which worker ran what when, and
 * writes one self-contained HTML page or a few lines of text.
 *
 * Worker lanes. A results file names each task's worker, and a lane is a
 * worker. A joblog does not: its lanes are rebuilt per Host by greedy
 * interval assignment. The records of a host, sorted by start time, each go
 * to the lane, of those free when the record starts, that became free last
 * (the lowest-numbered of equals), a new lane when none is free. Any choice
 * of free lane gives as many lanes as tasks ran at once on the host, which
 * is its worker count when its workers were kept busy; this one follows how
 * a worker that has just finished a task takes the next, where the
 * lowest-numbered free lane would move the last tasks of a run onto a
 * worker that had long run out of work, and hide the tail. A joblog rounds
 * times to milliseconds, so a lane counts as free up to
 * TF__REPORT_SLACK_US before its last task's end. A results file with a
 * record of no known worker (index below 0) is laid out like a joblog.
 *
 * Resumed runs and retries append records: every record is a task run and
 * is drawn, timed and counted in the durations, while whether a task failed
 * is decided by its last record in the file.
 */

/* Bytes of each command kept for display; longer ones are cut. */
#define TF__REPORT_CMD_KEEP 256
/* How early a joblog lane counts as free (its times are rounded). */
#define TF__REPORT_SLACK_US 2000

/* Values of struct tf__report_task.flags. */
#define TF__REPORT_FAILED 1u /* nonzero exit, a signal, lost or timed out */
#define TF__REPORT_LAST 2u   /* the last record of its task number */
#define TF__REPORT_OOM 4u    /* the out-of-memory killer ended it */

/* One record: a task run. */
struct tf__report_task {
    uint64_t seq;     /* task number */
    int64_t start_us; /* wall clock, microseconds since the epoch */
    uint64_t runtime_us;
    uint64_t cmd_off; /* where its command is in struct tf__report.cmds */
    uint32_t cmd_len; /* the command's whole length (capped at 2^32-1) */
    uint32_t host;    /* index into struct tf__report.hosts */
    int32_t worker;   /* the worker of a results file, or -1 */
    uint32_t lane;    /* set by tf__report_analyse() */
    int32_t status;   /* exit status */
    int32_t signal;
    uint32_t flags;      /* TF__REPORT_* */
    uint64_t cpu_us;     /* CPU time, 0: not known (a joblog) */
    uint64_t peak_bytes; /* peak memory, 0: not known */
};

/* The numbers of a run, as tf__report_analyse() works them out. */
struct tf__report_stats {
    uint64_t tasks;       /* distinct task numbers */
    uint64_t runs;        /* records */
    uint64_t failed;      /* tasks whose last record failed */
    uint64_t failed_runs; /* records that failed */
    uint64_t workers;     /* lanes */
    int64_t start_us;     /* first start */
    int64_t end_us;       /* last end */
    uint64_t makespan_us; /* end_us - start_us */
    double total_s;       /* sum of the runtimes (task time) */
    double efficiency;    /* total_s / (workers * makespan); 0 if undefined */
    uint64_t tail_us;     /* end_us - the end of the lane that ended first:
                             since then a worker had no more tasks */
    uint64_t mean_us;     /* runtimes: mean, and by nearest rank the */
    uint64_t median_us;   /* median, 95th percentile, */
    uint64_t p95_us;
    uint64_t max_us;   /* and the largest and */
    uint64_t min_us;   /* smallest */
    double runs_per_s; /* runs / makespan; 0 if undefined */
    uint64_t measured; /* runs whose peak memory is known */
    double cpu_s;      /* their CPU time added up */
    uint64_t peak_median_bytes; /* their peak memory: median by nearest */
    uint64_t peak_max_bytes;    /* rank, and the largest */
    uint64_t oom;               /* runs the out-of-memory killer ended */
};

struct tf__report {
    char *path;                /* owned: the file read */
    bool results;              /* read from a results file */
    uint64_t lines;            /* joblog lines read, header included */
    uint64_t torn_bytes;       /* bytes of a cut-short end left out */
    struct tf__report_task *t; /* owned */
    size_t n;
    size_t cap;
    struct tf_buf cmds; /* owned: the kept bytes of commands */
    char **hosts;       /* owned, each owned, NUL-terminated */
    uint32_t *host_len; /* owned */
    size_t nhosts;
    size_t hosts_cap;
    uint32_t *host_slot; /* owned: hash table of host indexes + 1 */
    size_t host_slots;
    uint32_t last_host; /* cache: the host of the last record */
    /* Set by tf__report_analyse(): */
    uint32_t *lane_host;  /* owned: each lane's host */
    int32_t *lane_worker; /* owned: each lane's worker number */
    size_t nlanes;
    struct tf__report_stats stats;
    bool analysed;
};

/* Makes an empty report of PATH (copied; may be NULL). Returns 0 and the
 * report in *OUT, or TF_ENOMEM. */
int tf__report_new(const char *path, struct tf__report **out,
                   struct tf_error *err);
/* Frees R and everything it owns. NULL is a no-op. */
void tf__report_free(struct tf__report *r);

/*
 * Adds one record: T's seq, start_us, runtime_us, worker, status, signal
 * and TF__REPORT_FAILED flag (the other fields are filled in), with the
 * HOST and CMD bytes (copied; CMD is kept up to TF__REPORT_CMD_KEEP bytes).
 * Times are clamped to 0 .. 10^17 µs and runtimes to 10^15 µs. Returns 0 or
 * TF_ENOMEM.
 */
int tf__report_add(struct tf__report *r, const struct tf__report_task *t,
                   const char *host, size_t host_len, const void *cmd,
                   size_t cmd_len, struct tf_error *err);

/*
 * Reads PATH into a new report: a results file when it starts with
 * TF__RESULTS_MAGIC, else a joblog. Joblog header lines (starting
 * "Seq\tHost\t") and empty lines are skipped; a last line without its
 * newline is taken when it is whole and otherwise ignored with a warning.
 * Returns 0 and the report in *OUT, or: TF_EINPUT for a missing, unreadable
 * or not regular file, a line that is not a joblog line (the message names
 * the file, the line number and the field) or a corrupt results file;
 * TF_ENOMEM; TF_ESYS for a read error. A file of no records is not an
 * error: the report has no tasks.
 */
int tf__report_load(const char *path, struct tf__report **out,
                    struct tf_error *err);

/*
 * Assigns the lanes (see above) and works out the numbers, in R->stats.
 * Reorders R->t. Returns 0 or TF_ENOMEM.
 */
int tf__report_analyse(struct tf__report *r, struct tf_error *err);

/* What tf__report_html() and tf__report_txt() show. */
struct tf__report_opts {
    const char *title; /* NULL: "taskfarm report: FILE" */
    size_t slowest;    /* task runs listed as the slowest */
    size_t failed;     /* failed tasks listed at most */
};

/*
 * Appends the HTML page of analysed report R to OUT: inline CSS and SVG, no
 * script. Its size is bounded whatever the number of records: the timeline
 * draws one rectangle per task up to a few thousand records and busy
 * fractions of about 1000 time columns per row beyond, on at most 200 rows.
 * Returns 0 or TF_ENOMEM.
 */
int tf__report_html(const struct tf__report *r,
                    const struct tf__report_opts *opts, struct tf_buf *out);

/* Appends the numbers and the slowest and failed tasks of analysed report
 * R as text to OUT. Returns 0 or TF_ENOMEM. */
int tf__report_txt(const struct tf__report *r,
                   const struct tf__report_opts *opts, struct tf_buf *out);

/*
 * Appends the N bytes at S to OUT as HTML text: & < > " ' as entities,
 * control characters other than TAB and bytes that are not well-formed
 * UTF-8 as "\xNN" in a <span class="x">. Returns 0 or TF_ENOMEM.
 */
int tf__report_html_escape(struct tf_buf *out, const void *s, size_t n);

/*
 * `taskfarm report FILE [-o OUT] [--format html|txt] [--title T]
 * [--slowest N] [--failed N]`: the whole subcommand; ARGV[0] is "report".
 * Writes the HTML page to OUT (default FILE.html) or the text to OUT
 * (default standard output), "-" being standard output. A file is written
 * to a temporary file in its directory and renamed, so it is never seen
 * half-written. Returns the exit status: 0 done, 2 usage error, a missing,
 * unreadable or malformed input, or an output that cannot be created, 3 a
 * read or write error.
 */
int tf__report_main(int argc, char **argv);

#endif /* TF_TOOL_REPORT_H */
