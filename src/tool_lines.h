/* tool_lines.h - a run's task lines: read, passed over when done before, and
 * ordered longest first */
#ifndef TF_TOOL_LINES_H
#define TF_TOOL_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

struct tf__history;
struct tf__resume;
struct tf__source;
struct tf__lpt_task;

/* The tasks of a line run, in the order they start. Fill the fields up to
 * SKIP_ARG (the rest zeroed) and call tf__lines_next(). */
struct tf__lines {
    struct tf__source *src;            /* borrowed */
    const struct tf__resume *resume;   /* or NULL: skip what it holds as
                                          done (--resume), borrowed */
    bool rerun_failed;                 /* --resume-failed */
    const struct tf__history *history; /* or NULL, borrowed */
    bool lpt; /* --order lpt: every task read first, the longest in
                 HISTORY first */
    /* Called with each task RESUME holds as done, as it is passed over
     * (may be NULL); a negative return ends the reading with that code. */
    int (*on_skip)(void *arg, uint64_t id, struct tf_error *err);
    void *skip_arg;
    /* kept by tf__lines_next() */
    uint64_t skipped; /* tasks RESUME holds as done */
    bool sorted;
    struct tf__lpt_task *tasks; /* owned */
    size_t ntasks;
    size_t next;
    struct tf_buf text; /* owned: the sorted tasks' text */
};

/*
 * The next task: returns 1 with its ID and DATA of LEN bytes (valid until
 * the next call), 0 at the end, TF__SOURCE_WAIT when a pipe has nothing
 * ready and MAY_BLOCK is false, or the source's error. --order lpt reads
 * every task at the first call, blocking.
 */
int tf__lines_next(struct tf__lines *l, uint64_t *id, const void **data,
                   size_t *len, bool may_block, struct tf_error *err);

/* The estimated runtime (microseconds, 0: not known) of the task that
 * tf__lines_next() returned last, task ID with DATA of LEN bytes. */
uint64_t tf__lines_estimate(const struct tf__lines *l, uint64_t id,
                            const void *data, size_t len);

/* Frees what L holds (not the source). */
void tf__lines_cleanup(struct tf__lines *l);

#endif /* TF_TOOL_LINES_H */
