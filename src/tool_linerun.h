/* tool_linerun.h - the taskfarm command's line run: the lines of a task
 * file as the tasks of a job kind, their output and records to a sink */
#ifndef TF_TOOL_LINERUN_H
#define TF_TOOL_LINERUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "sink.h"
#include "taskfarm.h"

struct tf__farm_cfg {
    const struct tf_job_kind *kind;
    void *job_state;         /* borrowed: what kind->init made */
    const char *input;       /* FILE or "-" when kind->reads_lines */
    size_t max_line;
    const struct tf__transport_ops *transport;
    int nworkers;            /* fork and loop; MPI takes the job size */
    uint64_t chunk;          /* 0: auto */
    bool unordered;          /* write results as they complete */
    bool tag;                /* prefix output lines with the task id */
    const char *joblog;      /* NULL: none */
    int out_fd;              /* task stdout goes here (1) */
    int err_fd;              /* task stderr goes here (2) */
    int threads_per_worker;
};

struct tf__farm_stats {
    uint64_t tasks;    /* finished tasks */
    uint64_t failed;   /* of which with a non-zero status */
    uint64_t skipped;  /* finished in the run resumed (--resume) */
    uint64_t wall_us;
    int nworkers;
    const char *transport;
};

/*
 * Runs the lines of CFG->input as tasks of CFG->kind, writing output and
 * joblog: the whole of a line-reading job. Returns 0 on the master (tasks
 * may have failed: see STATS) or a negative code (TF_EINPUT for bad input,
 * TF_EUSAGE for an unwritable joblog, else a system or transport error). On
 * a worker rank returns TF__WORKER_DONE with its status in *WORKER_RC.
 */
int tf__farm_run(const struct tf__farm_cfg *cfg, struct tf__farm_stats *stats,
                 int *worker_rc, struct tf_error *err);

/* When a line run's tasks go out, and until when. */
struct tf__history;
struct tf__plan {
    uint64_t deadline_us; /* see struct tf__batch; 0: none */
    uint64_t margin_us;
    const struct tf__history *history; /* runtimes of an earlier run, or
                                          NULL */
    bool lpt; /* longest first by HISTORY: reads every task first */
};

/* A line run: the master's part of tf__farm_run(), for a session opened
 * by the caller. Zero what is not used. */
struct tf__resume;
struct tf__results_reader;
struct tf__linerun {
    uint32_t fn;
    const char *input;      /* FILE or "-" */
    size_t max_line;
    bool every_line;        /* --template: a line is data, never a comment */
    struct tf__sink *sink;  /* borrowed */
    bool unordered;
    const struct tf__resume *resume; /* skip what it holds as done, or
                                        NULL */
    bool rerun_failed;
    /* With RESUME: the store whose unwritten output of a task passed over
     * is written now (tf__sink_replay()), or NULL. */
    struct tf__results_reader *replay;
    const struct tf__halt *halt;     /* or NULL */
    const struct tf__plan *plan;     /* or NULL */
    bool keep;              /* records are kept: a finished task's record
                               is written (tf__sink_keep()) once it has
                               waited KEEP_AFTER_US for its turn */
    uint64_t keep_after_us;
    const char *spool_dir;  /* for output held in a file, or NULL */
    bool end_on_error;      /* see struct tf__batch */
    bool measure;           /* see struct tf__batch: a results file */
};

/* Reads the lines of LR->input and writes results to LR->sink in session
 * S. */
int tf__farm_lines(struct tf__session *s, const struct tf__linerun *lr,
                   struct tf__farm_stats *stats, struct tf_error *err);

#endif /* TF_TOOL_LINERUN_H */
