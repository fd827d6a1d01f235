/* registry.c - the table of built-in job kinds, built from jobs.def, and of
 * those this build left out */
#include "jobs.h"

#include <string.h>

/* TF_IF_<option>(YES, NO) is YES when the build has that part. */
#ifdef TF_WITH_LINALG
#define TF_IF_TASKFARM_LINALG(yes, no) yes
#else
#define TF_IF_TASKFARM_LINALG(yes, no) no
#endif
#ifdef TF_WITH_LINKCHECK
#define TF_IF_TASKFARM_LINKCHECK(yes, no) yes
#else
#define TF_IF_TASKFARM_LINKCHECK(yes, no) no
#endif
#define TF_NO_JOB(...)

#define TF_JOB(name) extern const struct tf_job_kind tf_job_##name;
#define TF_JOB_PART(name, option, needs) TF_IF_##option(TF_JOB, TF_NO_JOB)(name)
#include "jobs.def"
#undef TF_JOB

const struct tf_job_kind *const tf__jobs[] = {
#define TF_JOB(name) &tf_job_##name,
#include "jobs.def"
#undef TF_JOB
    NULL,
};

#define TF_JOB(name)
#define TF_JOB_LEFT_OUT(name, option, needs) {#name, #option, needs},
#undef TF_JOB_PART
#define TF_JOB_PART(name, option, needs)                                     \
    TF_IF_##option(TF_NO_JOB, TF_JOB_LEFT_OUT)(name, option, needs)
const struct tf__job_left_out tf__jobs_left_out[] = {
#include "jobs.def"
    {NULL, NULL, NULL},
};
#undef TF_JOB
#undef TF_JOB_PART

const struct tf_job_kind *
tf__job_find(const char *name)
{
    size_t i;

    for (i = 0; tf__jobs[i] != NULL; i++)
        if (strcmp(tf__jobs[i]->name, name) == 0)
            return tf__jobs[i];
    return NULL;
}

const struct tf__job_left_out *
tf__job_left_out(const char *name)
{
    size_t i;

    for (i = 0; tf__jobs_left_out[i].name != NULL; i++)
        if (strcmp(tf__jobs_left_out[i].name, name) == 0)
            return &tf__jobs_left_out[i];
    return NULL;
}
