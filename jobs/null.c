/* null.c - each task's result is its own input line, computed in-process */
#include <stddef.h>

#include "taskfarm.h"

/* No fork, no exec: what is left of a run is the farm's own cost. */
static int
null_run(void *state, const struct tf_task *task, struct tf_result *res)
{
    int rc;

    (void)state;
    rc = tf_buf_reserve(&res->out, task->len + 1);
    if (rc < 0)
        return rc;
    rc = tf_buf_append(&res->out, task->data, task->len);
    if (rc == 0)
        rc = tf_buf_append(&res->out, "\n", 1);
    return rc;
}

const struct tf_job_kind tf_job_null = {
    .name = "null",
    .summary = "print each input line back; measures the farm's own overhead",
    .usage = "[options] FILE|-",
    .reads_lines = true,
    .run = null_run,
};
