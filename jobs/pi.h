/* pi.h - what the pi job shows its tests: its state, the random streams of
 * a task and each clone of its sampling kernel */
#ifndef TF_PI_H
#define TF_PI_H

#include <stdbool.h>
#include <stdint.h>

#include "taskfarm.h"

#define PI__LANES 16 /* random streams of a task, drawn from in turn */

/* The job's state, made by its init. */
struct pi__state {
    uint64_t samples; /* N */
    uint64_t seed;
    uint64_t task_samples; /* T */
    uint64_t ntasks;       /* ceil(N / T) */
    bool kernel_only;
    /* master: what came back so far */
    uint64_t hits;
    uint64_t samples_done;
    char why[256]; /* why `done` stopped the run, for the caller's err */
};

/* The xoshiro256+ states of the lanes of one task, word-major: lane l of
 * word w is s[w][l], so that the loop over lanes vectorises. */
struct pi__lanes {
    uint64_t s[4][PI__LANES];
};

/* A clone of the sampling kernel: draws STEPS samples from every lane of
 * ST, advancing it, and returns how many fell outside the circle. */
struct pi__kernel {
    const char *target; /* "default", "avx2", "avx512f"; NULL ends a list */
    uint64_t (*misses)(struct pi__lanes *st, uint64_t steps);
};

/* The job kind, defined in pi.c. */
extern const struct tf_job_kind tf_job_pi;

/*
 * Every clone the compiler made of the kernel, whichever the CPU runs, so
 * that a test can run each; a list ended by {NULL, NULL}, empty where the
 * compiler names its clones otherwise than gcc. Where the kernel is not
 * cloned (any CPU but x86-64), the one kernel, as "default".
 */
extern const struct pi__kernel pi__kernels[];

/* The streams of task INDEX: lane l starts from four consecutive SplitMix64
 * outputs of a state that hashes (SEED, INDEX, l) in turn, so that no two
 * (seed, index, lane) share a start (but for 64-bit collisions). */
void pi__seed(struct pi__lanes *st, uint64_t seed, uint64_t index);

/* The pool's `next` (ARG is the struct pi__state): the payload of task
 * INDEX, le64 index and le64 count; 0 past the last task. */
int pi__next(void *arg, uint64_t index, struct tf_buf *task);

/* The pool's `done` (ARG is the struct pi__state): adds one task's hits;
 * the order does not matter, integer sums are exact. TF_EPROTO, with the
 * reason in the state's `why`, for a result that is not the task's. */
int pi__done(void *arg, uint64_t index, const struct tf_result *res);

#endif /* TF_PI_H */
