/* taskfarm.h - the public API of taskfarm: buffers, errors and job kinds */
#ifndef TASKFARM_H
#define TASKFARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TF_VERSION_MAJOR 0
#define TF_VERSION_MINOR 1
#define TF_VERSION_PATCH 0
#define TF_VERSION_STRING "0.1.0"

/*
 * Error codes. Every fallible function returns 0 on success or one of these
 * negative codes; tf_strerror() gives a short text for each.
 */
enum tf_errcode {
    TF_OK = 0,
    TF_EUSAGE = -1,     /* bad option or argument */
    TF_EINPUT = -2,     /* bad input: task file, matrix, line too long */
    TF_ENOMEM = -3,     /* out of memory */
    TF_ESYS = -4,       /* a system call failed */
    TF_ETRANSPORT = -5, /* MPI or socket failure */
    TF_EPROTO = -6,     /* a malformed or unexpected message */
    TF_ETASK = -7,      /* a task failed (its status says how) */
    TF_EPEER = -8       /* a worker was lost */
};

/* Returns a static string describing CODE; never NULL. */
const char *tf_strerror(int code);

/*
 * struct tf_error carries the reason for a failure: the code and one line of
 * text that names the file and line where that matters. Functions that take
 * a `struct tf_error *err` fill it on failure; NULL is allowed.
 */
struct tf_error {
    int code;
    char msg[512];
};

void tf_error_init(struct tf_error *err);

/*
 * struct tf_buf is a growable byte buffer with a cap. An append that would
 * grow it past `max` bytes fails with TF_EINPUT and leaves it unchanged, so
 * an oversized line or output is a clean error rather than an exhausted
 * machine. `data` is owned by the buffer and is always NUL-terminated when
 * non-NULL (the NUL is not counted in `len`).
 */
struct tf_buf {
    unsigned char *data; /* owned */
    size_t len;
    size_t cap;
    size_t max;
};

/* Initialises an empty buffer that may grow to MAX bytes (0: no cap). */
void tf_buf_init(struct tf_buf *buf, size_t max);
/* Frees the buffer's memory and leaves it empty and reusable. */
void tf_buf_cleanup(struct tf_buf *buf);
/* Appends N bytes from P. Returns 0, TF_EINPUT past the cap, TF_ENOMEM. */
int tf_buf_append(struct tf_buf *buf, const void *p, size_t n);
/* Appends a NUL-terminated string. */
int tf_buf_puts(struct tf_buf *buf, const char *s);
/* Appends printf-style text. */
int tf_buf_printf(struct tf_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Makes room for N more bytes without changing `len`. */
int tf_buf_reserve(struct tf_buf *buf, size_t n);
/* Empties the buffer, keeping its memory. */
void tf_buf_reset(struct tf_buf *buf);

/*
 * Appends to OUT the N bytes at S quoted for /bin/sh as one word: S itself
 * when it has only characters safe unquoted, else single-quoted. Returns 0,
 * TF_EINPUT past OUT's cap or TF_ENOMEM; OUT is then unchanged.
 */
int tf_shell_quote(const char *s, size_t n, struct tf_buf *out);

/*
 * Expands a command template with GNU Parallel's replacement strings for one
 * input LINE of LEN bytes and appends it to OUT: {} the line, {.} without
 * its extension, {/} basename, {//} dirname, {/.} basename without
 * extension, {#} the task id SEQ, {%} the job slot SLOT. Values from the
 * line are shell-quoted, so input is data, never code. A template with none
 * of these gets " {}" appended. Returns 0, TF_EINPUT past OUT's cap or
 * TF_ENOMEM; OUT is then unchanged.
 */
int tf_template_expand(const char *tmpl, const char *line, size_t len,
                       uint64_t seq, int slot, struct tf_buf *out);

/*
 * One task as a worker sees it. `data` is the task's payload (for task-file
 * jobs, the line without its newline) and is valid only during the call.
 */
struct tf_task {
    uint64_t id;      /* stable 1-based id: the line number in a task file */
    const void *data; /* borrowed */
    size_t len;
    int worker;       /* 0-based index of the worker running it */
    int nworkers;
    const char *host; /* the worker's host name */
};

/*
 * What a task produced. The worker fills `out` (stdout, or the result bytes
 * of an in-process task) and `err` (stderr, or an error message), and sets
 * `status` (0 is success; shell conventions for commands: 126 cannot
 * execute, 127 not found, 128+N killed by signal N) and `signal`.
 */
struct tf_result {
    int status;
    int signal;
    struct tf_buf out;
    struct tf_buf err;
};

/*
 * Option values given to a job kind: `get` returns the value of a long option
 * (without the dashes) or NULL when it was not given; a flag's value is "1".
 */
struct tf_opts;
const char *tf_opts_get(const struct tf_opts *opts, const char *name);

/* One option of a job kind, for parsing and for the help text. */
struct tf_option {
    const char *name;  /* long name without dashes */
    int short_name;    /* 0 when none */
    const char *arg;   /* name of its argument, NULL for a flag */
    const char *help;  /* one sentence */
};

/*
 * A job kind: what the workers do with each task. Only `name` and `run` are
 * required; `init` and `fini` default to doing nothing.
 *
 * `init` runs on every rank (master and workers) with the parsed options,
 * before any task, and may allocate `*state`; `fini` frees it. `run` runs on
 * a worker for each task; it returns 0 when the task ran (whatever its
 * status) and a negative code only for a failure of the worker itself.
 */
struct tf_job_kind {
    const char *name;
    const char *summary;                /* one line for --help */
    const char *usage;                  /* e.g. "[options] FILE|-" */
    const struct tf_option *options;    /* ends with a zeroed entry */
    bool reads_lines;                   /* tasks are the lines of FILE|- */
    int (*init)(void **state, const struct tf_opts *opts,
                struct tf_error *err);
    int (*run)(void *state, const struct tf_task *task,
               struct tf_result *res);
    void (*fini)(void *state);
};

#ifdef __cplusplus
}
#endif

#endif /* TASKFARM_H */
