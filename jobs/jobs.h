/* jobs.h - the table of built-in job kinds */
#ifndef TF_JOBS_H
#define TF_JOBS_H

#include "taskfarm.h"

/* Every built-in job kind, ending with NULL. */
extern const struct tf_job_kind *const tf__jobs[];

/* Returns the built-in job kind called NAME, or NULL. */
const struct tf_job_kind *tf__job_find(const char *name);

#endif /* TF_JOBS_H */
