/* tool_source.h - task sources: the lines of a file or of standard input */
#ifndef TF_TOOL_SOURCE_H
#define TF_TOOL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

#define TF__DEFAULT_MAX_LINE ((size_t)1 << 20)

struct tf__source;

/*
 * Opens PATH ("-": standard input) as a task source whose lines may be at
 * most MAX_LINE bytes. A missing, unreadable or directory PATH is an
 * error (TF_EINPUT) naming it.
 */
int tf__source_open(const char *path, size_t max_line,
                    struct tf__source **out, struct tf_error *err);

/*
 * Returns 1 with the next task: *ID is its 1-based line number and *LINE
 * (not NUL-terminated, valid until the next call) its text without the
 * newline or a trailing CR. Empty lines, blank lines and lines whose first
 * non-blank character is '#' are skipped, unless every line is a task (see
 * tf__source_set_every_line()). Returns 0 at the end, or
 * TF_EINPUT for a NUL byte or an overlong line, naming "PATH:LINE".
 */
int tf__source_next(struct tf__source *src, uint64_t *id, const char **line,
                    size_t *len, struct tf_error *err);

/*
 * With EVERY_LINE, every line is a task, empty, blank or starting with '#'
 * as well (with --template a line is data, never a comment). Set it before
 * the first read.
 */
void tf__source_set_every_line(struct tf__source *src, bool every_line);

/*
 * With BLOCKING false, tf__source_next() returns TF__SOURCE_WAIT instead of
 * waiting when it needs more input from a pipe and none is ready, so the
 * master can go on serving workers meanwhile. The default is blocking.
 */
#define TF__SOURCE_WAIT 2
void tf__source_set_blocking(struct tf__source *src, bool blocking);

/*
 * For a regular file, reads it once ahead and checks every line, so bad
 * input is reported before any task runs. Stores the number of tasks in
 * *COUNT and returns 0; returns 1 when the source is not a regular file
 * (a pipe) and cannot be checked up front.
 */
int tf__source_prescan(struct tf__source *src, uint64_t *count,
                       struct tf_error *err);

/* The name used in messages ("-" is "stdin"). */
const char *tf__source_name(const struct tf__source *src);

void tf__source_close(struct tf__source *src);

#endif /* TF_TOOL_SOURCE_H */
