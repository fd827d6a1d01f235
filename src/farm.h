/* farm.h - the master and worker loops over any transport */
#ifndef TF_FARM_H
#define TF_FARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"
#include "transport.h"

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
};

struct tf__farm_stats {
    uint64_t tasks;    /* finished tasks */
    uint64_t failed;   /* of which with a non-zero status */
    uint64_t wall_us;
    int nworkers;
    const char *transport;
};

/*
 * Runs the farm. On the master, reads the tasks, hands them out, writes the
 * results and returns 0 (even when tasks failed: see STATS) or a negative
 * code with ERR filled (TF_EINPUT for bad input, TF_EUSAGE for a bad
 * option such as an unwritable joblog, else a system or transport error).
 * On a worker rank it serves tasks until the master stops it and returns
 * TF__WORKER_DONE, with the worker's status in *WORKER_RC.
 */
int tf__farm_run(const struct tf__farm_cfg *cfg, struct tf__farm_stats *stats,
                 int *worker_rc, struct tf_error *err);

#endif /* TF_FARM_H */
