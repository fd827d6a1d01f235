/* schedule.h - chunk sizes for self-scheduling workers; pure logic, no I/O */
#ifndef TF_SCHEDULE_H
#define TF_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The chunk policy. With `fixed` set every chunk has that many tasks. In
 * auto mode a chunk is sized to last about `target_us` at the mean task
 * time measured so far (so messaging is a small share of a chunk however
 * short the tasks are), is at most twice the largest chunk handed out
 * before it (a first estimate from a few tasks is not trusted with the
 * whole input),
 * and, once the end of the input is known, is at most pending / (2 x
 * workers) (guided self-scheduling), so the last chunks are small and the
 * tail is short. The first chunks hold one task each, to measure. With more
 * than TF__SCHED_WORKERS_PER_TARGET workers the target grows in proportion,
 * so that the master serves at most that many workers per target time
 * (12,800 requests a second), whatever the number of workers
 * (docs/design.md).
 */
struct tf__sched {
    int nworkers;
    uint64_t fixed;     /* 0: auto */
    uint64_t target_us; /* auto: how long a chunk should last */
    uint64_t max_chunk; /* auto: upper bound on tasks per chunk */
    uint64_t last;      /* auto: size of the largest chunk handed out */
    uint64_t tasks;     /* tasks measured */
    uint64_t busy_us;   /* their total run time */
};

#define TF__SCHED_TARGET_US 20000u
#define TF__SCHED_WORKERS_PER_TARGET 256
#define TF__SCHED_MAX_CHUNK 32768u

/* Sets up S for NWORKERS workers and a fixed chunk size (0: auto). */
void tf__sched_init(struct tf__sched *s, int nworkers, uint64_t fixed);

/*
 * Returns the size of the next chunk (at least 1) given PENDING tasks read
 * and not yet handed out and whether the input is known to end there (EOF).
 * With EOF the result is at most PENDING. Records the size for the growth
 * limit.
 */
uint64_t tf__sched_next(struct tf__sched *s, uint64_t pending, bool eof);

/* Records that NTASKS tasks took BUSY_US microseconds of worker time. */
void tf__sched_observe(struct tf__sched *s, uint64_t ntasks, uint64_t busy_us);

/*
 * How many chunks a worker should hold: 2 (the one it runs and the next, so
 * it never waits for the master between chunks) once tasks are known to
 * take less than a second on average, else 1. For longer tasks a round trip
 * is a small part of a task, while a second chunk could sit behind a
 * straggler for a long time as another worker goes idle. Before anything is
 * measured a worker holds 1, so the first tasks spread over all workers.
 */
#define TF__SCHED_PREFETCH_BELOW_US 1000000u
int tf__sched_prefetch(const struct tf__sched *s);

/* How many tasks the master should have read ahead to size chunks well. */
uint64_t tf__sched_lookahead(const struct tf__sched *s);

#endif /* TF_SCHEDULE_H */
