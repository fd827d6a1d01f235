/* opts.h - option values handed to a job kind, and the reading of
 * numbers, sizes, durations and choices they share with the command */
#ifndef TF_OPTS_H
#define TF_OPTS_H

#include "taskfarm.h"

#define TF__OPTS_MAX 256

/* Names and values are borrowed (from argv or the option tables). */
struct tf_opts {
    int n;
    const char *names[TF__OPTS_MAX];
    const char *values[TF__OPTS_MAX];
    uint64_t numbers[TF__OPTS_MAX]; /* what tf_option_check() read */
};

void tf__opts_init(struct tf_opts *o);
/* Sets NAME to VALUE, replacing an earlier value. Returns 0 or TF_EUSAGE
 * when the table is full. */
int tf__opts_set(struct tf_opts *o, const char *name, const char *value);
/* ... with the NUMBER it holds (tf_opts_number()). */
int tf__opts_set_number(struct tf_opts *o, const char *name, const char *value,
                        uint64_t number);
/* Adds VALUE with its NUMBER to NAME, after the values NAME has. Returns
 * 0 or TF_EUSAGE when the table is full. */
int tf__opts_push(struct tf_opts *o, const char *name, const char *value,
                  uint64_t number);
/* tf_option_check(), its messages naming the option WHAT, as it was
 * written ("-j"). */
int tf__option_check(const struct tf_option *opt, const char *what,
                     const char *value, uint64_t *number, struct tf_error *err);
/* Adds VALUE (NULL for a flag) to option NAME of TABLE once
 * tf_option_check() took it; the values of an option given again are all
 * kept (tf_opts_nth()), the last is its value. Returns 0 or TF_EUSAGE: an
 * option TABLE does not have, a value it refuses, a full table. */
int tf__opts_add(struct tf_opts *o, const struct tf_option *table,
                 const char *name, const char *value, struct tf_error *err);

#endif /* TF_OPTS_H */
