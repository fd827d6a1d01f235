/* util.h - checked number parsing, clocks and small helpers */
#ifndef TF_UTIL_H
#define TF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * Parses a whole decimal integer at [P, END), with a leading '-' when NEG_OK.
 * Rejects an empty span, blanks, other text and magnitudes above
 * 9223372036854775799. Returns true with *OUT set, or false leaving it
 * alone. Reads no byte at END.
 */
bool tf__parse_i64_span(const char *p, const char *end, bool neg_ok,
                        int64_t *out);

/* Microseconds on the monotonic clock. */
uint64_t tf__now_us(void);
/* Microseconds since the epoch. */
int64_t tf__wall_us(void);

/* Writes all N bytes to FD, retrying on EINTR and short writes. Returns 0
 * or -1 with errno set. */
int tf__write_all(int fd, const void *p, size_t n);
/* As tf__write_all(), and *DONE is how many bytes were written, also when it
 * fails part way. */
int tf__write_count(int fd, const void *p, size_t n, size_t *done);

/*
 * Formats V in decimal at P (which must have 20 bytes); returns the length.
 * Much faster than snprintf on the master's per-task path.
 */
size_t tf__fmt_u64(char *p, uint64_t v);

/* Writes BYTES for people into BUF (SIZE bytes, 12 are enough): "512 B",
 * "3.2 KiB", "200 MiB", "1.50 GiB", with three significant digits. */
const char *tf__fmt_bytes(char *buf, size_t size, uint64_t bytes);

/*
 * Tells the OpenMP, OpenBLAS and MKL runtimes linked into this process, if
 * any, to use the thread counts in OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
 * MKL_NUM_THREADS, or N where one is not set. They read those variables
 * only when loaded, so setting them is too late for a running worker. A
 * runtime that has that count already is left alone.
 */
void tf__set_library_threads(int n);

/*
 * Frees the large buffers kept for reuse. A forked worker calls it first,
 * so that it does not write into memory it shares copy-on-write with the
 * master.
 */
void tf__big_forget(void);

/* Little-endian integers in byte buffers, as the wire and files use. */
static inline void
tf__store_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void
tf__store_u64(unsigned char *p, uint64_t v)
{
    tf__store_u32(p, (uint32_t)v);
    tf__store_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t
tf__load_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t
tf__load_u64(const unsigned char *p)
{
    return (uint64_t)tf__load_u32(p) | (uint64_t)tf__load_u32(p + 4) << 32;
}

/* Number of CPUs this process may run on (at least 1). */
int tf__online_cpus(void);

/*
 * The optimal string alignment distance between the NUL-terminated strings A
 * and B: the fewest one-byte insertions, deletions and substitutions and
 * swaps of two adjacent bytes that turn A into B, no part of the text being
 * edited twice (the restricted Damerau-Levenshtein distance). Bytes are
 * compared as they are, case counts. The command line uses it to suggest the
 * option or job a misspelt name meant. Returns SIZE_MAX when out of memory.
 * A and B are borrowed. Any rank may call it.
 */
size_t tf__edit_distance(const char *a, const char *b);

#endif /* TF_UTIL_H */
