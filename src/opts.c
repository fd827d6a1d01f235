/* opts.c - option values handed to a job kind */
#include "opts.h"

#include <string.h>

void
tf__opts_init(struct tf_opts *o)
{
    o->n = 0;
}

int
tf__opts_set(struct tf_opts *o, const char *name, const char *value)
{
    int i;

    for (i = 0; i < o->n; i++) {
        if (strcmp(o->names[i], name) == 0) {
            o->values[i] = value;
            return 0;
        }
    }
    if (o->n == TF__OPTS_MAX)
        return TF_EUSAGE;
    o->names[o->n] = name;
    o->values[o->n] = value;
    o->n++;
    return 0;
}

const char *
tf_opts_get(const struct tf_opts *opts, const char *name)
{
    int i;

    if (opts == NULL)
        return NULL;
    for (i = 0; i < opts->n; i++)
        if (strcmp(opts->names[i], name) == 0)
            return opts->values[i];
    return NULL;
}
