/* error.h - filling struct tf_error and logging diagnostics */
#ifndef TF_ERROR_H
#define TF_ERROR_H

#include "taskfarm.h"

/*
 * Fills ERR (when non-NULL) with CODE and the formatted message and returns
 * CODE, so a failure is one statement: `return tf__error(err, ...);`. The
 * library's name for the public tf_error_set().
 */
#define tf__error tf_error_set

/* Like tf__error(), appending ": strerror(errno_value)". */
int tf__error_errno(struct tf_error *err, int code, int errno_value,
                    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The library's name for the public tf_log(): a message, without a
 * trailing newline, to the log function tf__log_set() installed (none:
 * dropped), with the worker tf__log_set_worker() named (-1: the master).
 */
#define tf__log tf_log
#define tf__log_set_level tf_log_set_level
void tf__log_set(tf_log_fn fn, void *arg);
void tf__log_set_worker(int worker);

#endif /* TF_ERROR_H */
