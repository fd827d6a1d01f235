/* error.h - filling struct tf_error and logging diagnostics */
#ifndef TF_ERROR_H
#define TF_ERROR_H

#include "taskfarm.h"

enum tf__log_level { TF_LOG_ERROR, TF_LOG_WARN, TF_LOG_INFO, TF_LOG_DEBUG };

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
 * Prints one diagnostic line on stderr with the prefix "taskfarm: " (or
 * "taskfarm[worker N]: " once tf__log_set_worker() was called). FMT has no
 * trailing newline. Messages above the level set by tf__log_set_level() are
 * dropped.
 */
void tf__log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tf__log_set_level(int level);
void tf__log_set_worker(int worker);

#endif /* TF_ERROR_H */
