/* jobs.h - the table of built-in job kinds */
#ifndef TF_JOBS_H
#define TF_JOBS_H

#include "taskfarm.h"

/* Every built-in job kind, ending with NULL. */
extern const struct tf_job_kind *const tf__jobs[];

/* A job kind that this build left out: the CMake option that builds it,
 * and what it needs. */
struct tf__job_left_out {
    const char *name;
    const char *option;
    const char *needs;
};

/* Every job kind this build left out, ending with a NULL name. */
extern const struct tf__job_left_out tf__jobs_left_out[];

/* Returns the built-in job kind called NAME, or NULL. */
const struct tf_job_kind *tf__job_find(const char *name);

/* Returns the job kind called NAME if this build left it out, or NULL. */
const struct tf__job_left_out *tf__job_left_out(const char *name);

#endif /* TF_JOBS_H */
