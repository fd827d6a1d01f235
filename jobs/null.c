/* null.c - each task's result is its own input line, computed in-process */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "taskfarm.h"

/* Longest --task-us: a minute. */
#define MAX_TASK_US 60000000ull

static const struct tf_option null_options[] = {
    {"task-us", 0, "N",
     "each task first sleeps N microseconds (default 0): tasks of a known "
     "length that use no CPU, to load the master as many more ranks with "
     "longer tasks would (bench/scale.sh)",
     TF_OPT_INT, 0, MAX_TASK_US, NULL},
    {0},
};

static int
null_init(void **state, const struct tf_opts *opts, struct tf_error *err)
{
    (void)err;
    /* The state is the sleep itself, kept in the pointer: nothing to free. */
    *state = (void *)(uintptr_t)tf_opts_number(opts, "task-us", 0);
    return 0;
}

/* No fork, no exec: what is left of a run is the farm's own cost. */
static int
null_run(void *state, const struct tf_task *task, struct tf_result *res)
{
    uint64_t us = (uint64_t)(uintptr_t)state;
    int rc;

    if (us > 0) {
        struct timespec ts = {(time_t)(us / 1000000),
                              (long)(us % 1000000) * 1000};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
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
    .options = null_options,
    .reads_lines = true,
    .init = null_init,
    .run = null_run,
    .examples =
        "seq 1000000 | taskfarm -j 2 null - > out.txt  # the farm's own cost\n"
        "seq 10000 | taskfarm null --task-us 1000 -    # 1 ms tasks, no CPU\n",
};
