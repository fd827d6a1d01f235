/* util.h - checked number parsing, clocks and small helpers */
#ifndef TF_UTIL_H
#define TF_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * Parses a whole decimal unsigned number in [MIN, MAX]. Rejects signs,
 * blanks, trailing text and overflow. Returns 0 or TF_EUSAGE (with a message
 * naming WHAT, e.g. "-j").
 */
int tf__parse_u64(const char *s, uint64_t min, uint64_t max, const char *what,
                  uint64_t *out, struct tf_error *err);

/* Microseconds on the monotonic clock. */
uint64_t tf__now_us(void);
/* Microseconds since the epoch. */
int64_t tf__wall_us(void);

/* Writes all N bytes to FD, retrying on EINTR and short writes. Returns 0
 * or -1 with errno set. */
int tf__write_all(int fd, const void *p, size_t n);

/*
 * Formats V in decimal at P (which must have 20 bytes); returns the length.
 * Much faster than snprintf on the master's per-task path.
 */
size_t tf__fmt_u64(char *p, uint64_t v);

/*
 * Tells the OpenMP, OpenBLAS and MKL runtimes linked into this process, if
 * any, to use the thread counts in OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
 * MKL_NUM_THREADS. They read those variables only when loaded, so setting
 * them is too late for a running worker.
 */
void tf__set_library_threads(void);

/*
 * Frees the large buffers kept for reuse. A forked worker calls it first,
 * so that it does not write into memory it shares copy-on-write with the
 * master.
 */
void tf__big_forget(void);

/* Number of CPUs this process may run on (at least 1). */
int tf__online_cpus(void);

#endif /* TF_UTIL_H */
