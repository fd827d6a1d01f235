/* opts.h - option values handed to a job kind */
#ifndef TF_OPTS_H
#define TF_OPTS_H

#include "taskfarm.h"

#define TF__OPTS_MAX 64

/* Names and values are borrowed (from argv or the option tables). */
struct tf_opts {
    int n;
    const char *names[TF__OPTS_MAX];
    const char *values[TF__OPTS_MAX];
};

void tf__opts_init(struct tf_opts *o);
/* Sets NAME to VALUE, replacing an earlier value. Returns 0 or TF_EUSAGE
 * when the table is full. */
int tf__opts_set(struct tf_opts *o, const char *name, const char *value);

#endif /* TF_OPTS_H */
