/* error.c - error codes, struct tf_error and the diagnostic log */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int log_level = TF_LOG_WARN;
/* Per thread: the loop transport runs its workers as threads. */
static _Thread_local int log_worker = -1;
static tf_log_fn log_fn;
static void *log_arg;

const char *
tf_strerror(int code)
{
    switch (code) {
    case TF_OK:
        return "success";
    case TF_EUSAGE:
        return "usage error";
    case TF_EINPUT:
        return "bad input";
    case TF_ENOMEM:
        return "out of memory";
    case TF_ESYS:
        return "system error";
    case TF_ETRANSPORT:
        return "transport error";
    case TF_EPROTO:
        return "protocol error";
    case TF_ETASK:
        return "task failed";
    case TF_EPEER:
        return "worker lost";
    }
    return "unknown error";
}

void
tf_error_init(struct tf_error *err)
{
    err->code = 0;
    err->msg[0] = '\0';
}

static void
fill(struct tf_error *err, int code, const char *fmt, va_list ap)
{
    char msg[sizeof(err->msg)];

    /* Formatted apart first: an argument may be ERR's own message. */
    vsnprintf(msg, sizeof(msg), fmt, ap);
    err->code = code;
    memcpy(err->msg, msg, sizeof(msg));
}

int
tf_error_set(struct tf_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    va_start(ap, fmt);
    fill(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int
tf__error_errno(struct tf_error *err, int code, int errno_value,
                const char *fmt, ...)
{
    va_list ap;
    size_t n;

    if (err == NULL)
        return code;
    va_start(ap, fmt);
    fill(err, code, fmt, ap);
    va_end(ap);
    n = strlen(err->msg);
    snprintf(err->msg + n, sizeof(err->msg) - n, ": %s",
             strerror(errno_value));
    return code;
}

void
tf__log_set(tf_log_fn fn, void *arg)
{
    log_fn = fn;
    log_arg = arg;
}

void
tf_log_set_level(int level)
{
    log_level = level;
}

void
tf__log_set_worker(int worker)
{
    log_worker = worker;
}

void
tf_log(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (log_fn == NULL || level > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_fn(log_arg, level, log_worker, msg);
}
