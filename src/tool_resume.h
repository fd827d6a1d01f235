/* tool_resume.h - which tasks a run killed before finished: --resume */
#ifndef TF_TOOL_RESUME_H
#define TF_TOOL_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * The tasks an earlier run recorded, keyed on the task number and a hash of
 * the task's text, so that a task file changed since then never skips the
 * wrong work: a task is skipped only when both match.
 */
struct tf__resume;
struct tf__template;

int tf__resume_new(struct tf__resume **out, struct tf_error *err);
void tf__resume_free(struct tf__resume *r);

/*
 * The run's --template (borrowed; NULL: none), set before the joblog is
 * loaded: a joblog line then stands for the task whose command as run the
 * template makes (GNU Parallel writes that command, and taskfarm too), as
 * tf__template_matches() compares them, as well as for the task whose text
 * is the Command column itself.
 */
void tf__resume_set_template(struct tf__resume *r,
                             const struct tf__template *t);

/*
 * Adds the tasks of the joblog PATH (GNU Parallel's format, as --joblog
 * writes it). A missing or empty file adds nothing. A last line without its
 * newline (the run was killed while writing it) is ignored, and
 * *VALID_BYTES (if not NULL) is the length of the file without it, so that
 * a run appending to the file can cut it off first. Any other line that is
 * not a joblog line is TF_EINPUT naming the file and line.
 */
int tf__resume_load_joblog(struct tf__resume *r, const char *path,
                           uint64_t *valid_bytes, struct tf_error *err);

/* One line of a joblog, as tf__joblog_read() passes it. */
struct tf__joblog_line {
    uint64_t seq;
    double runtime; /* JobRuntime, seconds */
    int64_t exitval;
    int64_t signal;
    const char *cmd; /* borrowed: the Command field */
    size_t cmd_len;
};

/*
 * Calls FN for each line of the joblog PATH, as tf__resume_load_joblog()
 * reads it: a missing file has none, a torn last line is ignored (see
 * VALID_BYTES), any other bad line is TF_EINPUT naming the file and line. A
 * negative return from FN stops the scan (reported as out of memory).
 */
int tf__joblog_read(const char *path,
                    int (*fn)(void *arg, const struct tf__joblog_line *line),
                    void *arg, uint64_t *valid_bytes, struct tf_error *err);

/*
 * Adds the tasks of the results file PATH (see results.h); a missing file
 * adds nothing; a torn tail is ignored. It is also the store: see
 * tf__resume_load_store().
 */
int tf__resume_load_results(struct tf__resume *r, const char *path,
                            struct tf_error *err);

/*
 * Reads the results-format file PATH as the store of an earlier run: the
 * file that holds the output of tasks recorded before their turn (the
 * results file, or without one the joblog's spool). A task whose last
 * record there is such a record, with no mark after it, has output that
 * never got written: it is "unmarked". A missing file holds none. Marks
 * also tell how large the --output file was once its last recorded task's
 * output was in it.
 */
int tf__resume_load_store(struct tf__resume *r, const char *path,
                          struct tf_error *err);

/* Whether the store holds task ID's output unwritten. */
bool tf__resume_unmarked(const struct tf__resume *r, uint64_t id);

/*
 * Where in the store task ID's unwritten output is, for
 * tf__sink_replay(): its first piece and its record. Returns false when
 * it has none.
 */
bool tf__resume_stored_at(const struct tf__resume *r, uint64_t id,
                          uint64_t *pieces_off, uint64_t *rec_off);

/* The path of the store loaded, or NULL. */
const char *tf__resume_store_path(const struct tf__resume *r);

/*
 * The size the --output file PATH had when the last task the store records
 * as written was in it: returns true with *SIZE when the earlier run wrote
 * to PATH (the same name) and recorded that, else false.
 */
bool tf__resume_output_size(const struct tf__resume *r, const char *path,
                            uint64_t *size);

/*
 * Whether task ID with text DATA (LEN bytes) finished in the recorded run,
 * with the same text: successfully, or at all unless RERUN_FAILED.
 */
bool tf__resume_done(const struct tf__resume *r, uint64_t id,
                     const void *data, size_t len, bool rerun_failed);

/* Tasks recorded (distinct task numbers). */
uint64_t tf__resume_count(const struct tf__resume *r);

#endif /* TF_TOOL_RESUME_H */
