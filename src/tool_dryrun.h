/* tool_dryrun.h - --dry-run: the commands a line-reading job would run */
#ifndef TF_TOOL_DRYRUN_H
#define TF_TOOL_DRYRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

struct tf__history;
struct tf__resume;
struct tf__template;

/* What tf__dryrun_lines() reads, and how it writes each task's command. */
struct tf__dryrun {
    const char *input; /* FILE, or "-" for standard input */
    size_t max_line;   /* the longest line accepted (--max-line) */
    const struct tf__template *tmpl; /* the job's --template (borrowed),
                          or NULL: the line itself is the command, and a
                          comment or blank line is no task */
    int nslots;        /* {%} goes round 1..NSLOTS in the order the tasks
                          are written, as if that many workers took one
                          task each in turn (at least 1) */
    bool tag;          /* prefix each command with its task id and a TAB */
    const struct tf__resume *resume;   /* or NULL: skip what it holds as
                                          done (--resume), borrowed */
    bool rerun_failed;                 /* --resume-failed */
    const struct tf__history *history; /* runtimes for LPT, borrowed */
    bool lpt; /* --order lpt: longest in HISTORY first, as the run starts
                 them */
    /* filled in by tf__dryrun_lines() */
    uint64_t tasks;   /* commands written */
    uint64_t skipped; /* tasks RESUME holds as done */
};

/*
 * Reads the task lines of D->input with the run's own task source, so that
 * comments, blank lines (each a task with a template), --max-line and bad
 * input are treated as in a real run, and writes to OUT_FD the command of each task, one per line (more
 * when the template holds a newline), in the order the run would start the
 * tasks. A regular file is checked whole first, so that bad input writes
 * nothing; from a pipe, the commands before the bad line are written. No
 * task runs, no worker starts, and no file but D->input is opened.
 *
 * Returns 0; TF__DRYRUN_CLOSED when the reader of OUT_FD closed it (as
 * `| head` does: not an error); TF_EINPUT for bad input, naming
 * "FILE:LINE"; TF_ESYS when a write to OUT_FD fails (naming "stdout" for
 * fd 1); TF_ENOMEM. Master only.
 */
#define TF__DRYRUN_CLOSED 3
int tf__dryrun_lines(struct tf__dryrun *d, int out_fd, struct tf_error *err);

#endif /* TF_TOOL_DRYRUN_H */
