/* tool_history.h - how long tasks took and how much memory they used in an
 * earlier run: --history */
#ifndef TF_TOOL_HISTORY_H
#define TF_TOOL_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * Runtimes (and, from a results file, peak memory) read from an earlier
 * run's joblog or results file, looked up by a hash of a task's text first
 * (so a reordered or edited task file still finds its tasks) and by task
 * number when the text is not found.
 */
struct tf__history;

/*
 * Reads PATH, a joblog (GNU Parallel's format) or a results file (told
 * apart by its first bytes). A task recorded more than once keeps its last
 * runtime. A missing or unreadable file, or a line that is not a joblog
 * line, is TF_EUSAGE naming the file (and the line).
 */
int tf__history_load(const char *path, struct tf__history **out,
                     struct tf_error *err);
void tf__history_free(struct tf__history *h);

/*
 * The runtime of task ID with text DATA (LEN bytes) in microseconds, or the
 * mean of all recorded tasks when this one is not recorded, or 0 when
 * nothing is. *KNOWN (may be NULL) says whether the task itself was found.
 */
uint64_t tf__history_get(const struct tf__history *h, uint64_t id,
                         const void *data, size_t len, bool *known);

/*
 * The peak memory in bytes of task ID with text DATA (LEN bytes), found as
 * tf__history_get() finds its runtime, or the mean of the peaks recorded
 * when its own is not, or 0 when none is (a joblog records none).
 */
uint64_t tf__history_mem(const struct tf__history *h, uint64_t id,
                         const void *data, size_t len);

/* Tasks recorded. */
size_t tf__history_count(const struct tf__history *h);

#endif /* TF_TOOL_HISTORY_H */
