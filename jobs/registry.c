/* registry.c - the table of built-in job kinds, built from jobs.def */
#include "jobs.h"

#include <string.h>

#define TF_JOB(name) extern const struct tf_job_kind tf_job_##name;
#include "jobs.def"
#undef TF_JOB

const struct tf_job_kind *const tf__jobs[] = {
#define TF_JOB(name) &tf_job_##name,
#include "jobs.def"
#undef TF_JOB
    NULL,
};

const struct tf_job_kind *
tf__job_find(const char *name)
{
    size_t i;

    for (i = 0; tf__jobs[i] != NULL; i++)
        if (strcmp(tf__jobs[i]->name, name) == 0)
            return tf__jobs[i];
    return NULL;
}
