/* pi.c - Monte Carlo estimate of pi; each task draws a range of samples */
#include "pi.h"

#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskfarm.h"

/*
 * The experiment is defined by (samples, seed, task-samples) alone. Task i
 * covers samples [i*T, min((i+1)*T, N)) and draws them from its own random
 * stream, which depends only on (seed, i): 16 xoshiro256+ generators
 * ("lanes") seeded by SplitMix64 from (seed, i, lane); sample j of a task is
 * the (j / 16)-th output of lane j % 16. A sample is the point (x, y) with
 * x bits 33 to 63 of the output and y bits 2 to 32 (the lowest bits of
 * xoshiro256+ are its weakest), and it is inside when x^2 + y^2 < 2^62. That is
 * integer arithmetic, so the hit count is exact and the same whichever worker,
 * transport, chunking or CPU (clone of the kernel) computes a task. The lattice
 * makes the estimate biased by about 4 / (pi * 2^31), a relative 6e-10: far
 * below the standard error of any run that finishes.
 */
#define PI_MAX_SAMPLES ((uint64_t)1 << 62)
#define PI_DEFAULT_TASK_SAMPLES ((uint64_t)1 << 26) /* ~50 ms at full speed */
#define PI_TASK_BYTES 16   /* wire format: le64 index, le64 count */
#define PI_RESULT_BYTES 16 /* wire format: le64 hits, le64 count */

static const struct tf_option pi_options[] = {
    {"samples", 0, "N",
     "number of points to draw in all, e.g. 1e12 (at most 2^62; required)",
     TF_OPT_INT, 1, PI_MAX_SAMPLES, NULL},
    {"seed", 0, "S", "seed of the random streams, 0 to 2^64-1 (default 1)",
     TF_OPT_INT, 0, 0, NULL},
    {"task-samples", 0, "N",
     "points per task (default 2^26, about 50 ms); part of the experiment, "
     "like the seed: another value gives other streams",
     TF_OPT_INT, 1, PI_MAX_SAMPLES, NULL},
    {"kernel-only", 0, NULL,
     "draw all the samples in this process alone, without workers, and "
     "report the rate of the sampling loop on one core",
     TF_OPT_TEXT, 0, 0, NULL},
    {0},
};

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void
pi__seed(struct pi__lanes *st, uint64_t seed, uint64_t index)
{
    int l;
    int w;

    for (l = 0; l < PI__LANES; l++) {
        uint64_t x = seed;

        x = splitmix64(&x) ^ index;
        x = splitmix64(&x) ^ (uint64_t)l;
        for (w = 0; w < 4; w++)
            st->s[w][l] = splitmix64(&x);
    }
}

static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/*
 * On x86-64, with a compiler that makes target_clones (gcc, clang) and a C
 * library that resolves the ifunc it stands on (glibc), the kernel is built
 * three times and the loader picks the clone the CPU can run. Elsewhere
 * there is one kernel, built for the target's baseline: the same integer
 * arithmetic, so the same hits.
 */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define PI_X86_CLONES 1
#endif
#endif
#ifdef PI_X86_CLONES
#define PI_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PI_CLONES
#endif

/*
 * The hot loop: draws STEPS samples from every lane of ST, advancing it, and
 * returns how many fell outside the circle. A miss is (x^2 + y^2) >> 62,
 * which is 0 or 1 since x^2 + y^2 < 2^63: an add and a shift rather than a
 * compare, and no unsigned 64-bit compare for AVX2 to emulate. Each lane
 * keeps its own count; gcc vectorises the loop over the 16 lanes (two zmm
 * or four ymm registers per word) and the x86-64 clones let one binary use
 * AVX-512 or AVX2 where the CPU has it.
 */
PI_CLONES static uint64_t
pi_misses(struct pi__lanes *st, uint64_t steps)
{
    uint64_t s0[PI__LANES], s1[PI__LANES], s2[PI__LANES], s3[PI__LANES];
    uint64_t miss[PI__LANES];
    uint64_t total = 0;
    uint64_t k;
    int l;

    for (l = 0; l < PI__LANES; l++) {
        s0[l] = st->s[0][l];
        s1[l] = st->s[1][l];
        s2[l] = st->s[2][l];
        s3[l] = st->s[3][l];
        miss[l] = 0;
    }
    for (k = 0; k < steps; k++) {
        for (l = 0; l < PI__LANES; l++) {
            uint64_t r = s0[l] + s3[l];
            uint64_t t = s1[l] << 17;
            uint64_t x = r >> 33;
            uint64_t y = (r >> 2) & 0x7fffffffu;

            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = rotl(s3[l], 45);
            miss[l] += (x * x + y * y) >> 62;
        }
    }
    for (l = 0; l < PI__LANES; l++) {
        st->s[0][l] = s0[l];
        st->s[1][l] = s1[l];
        st->s[2][l] = s2[l];
        st->s[3][l] = s3[l];
        total += miss[l];
    }
    return total;
}

#if defined(PI_X86_CLONES) && defined(__GNUC__) && !defined(__clang__)
/* gcc makes each clone of pi_misses() a local symbol of this file named
 * after its target, which these declarations reach. */
uint64_t pi_misses_default(struct pi__lanes *st,
                           uint64_t steps) __asm__("pi_misses.default");
uint64_t pi_misses_avx2(struct pi__lanes *st,
                        uint64_t steps) __asm__("pi_misses.avx2");
uint64_t pi_misses_avx512f(struct pi__lanes *st,
                           uint64_t steps) __asm__("pi_misses.avx512f");

const struct pi__kernel pi__kernels[] = {
    {"default", pi_misses_default},
    {"avx2", pi_misses_avx2},
    {"avx512f", pi_misses_avx512f},
    {NULL, NULL},
};
#elif defined(PI_X86_CLONES)
const struct pi__kernel pi__kernels[] = {{NULL, NULL}};
#else
const struct pi__kernel pi__kernels[] = {
    {"default", pi_misses},
    {NULL, NULL},
};
#endif

/* One sample of lane L alone: the same arithmetic as pi_misses(). */
static uint64_t
pi_miss_one(struct pi__lanes *st, int l)
{
    uint64_t *s0 = &st->s[0][l], *s1 = &st->s[1][l];
    uint64_t *s2 = &st->s[2][l], *s3 = &st->s[3][l];
    uint64_t r = *s0 + *s3;
    uint64_t t = *s1 << 17;
    uint64_t x = r >> 33;
    uint64_t y = (r >> 2) & 0x7fffffffu;

    *s2 ^= *s0;
    *s3 ^= *s1;
    *s1 ^= *s2;
    *s0 ^= *s3;
    *s2 ^= t;
    *s3 = rotl(*s3, 45);
    return (x * x + y * y) >> 62;
}

/* Hits among the first COUNT samples of task INDEX's stream. */
static uint64_t
pi_hits(uint64_t seed, uint64_t index, uint64_t count)
{
    struct pi__lanes st;
    uint64_t misses;
    int l;

    pi__seed(&st, seed, index);
    misses = pi_misses(&st, count / PI__LANES);
    for (l = 0; l < (int)(count % PI__LANES); l++)
        misses += pi_miss_one(&st, l);
    return count - misses;
}

/* Which clone of pi_misses() runs here: gcc's resolver takes the first of
 * the list that the CPU supports. */
static const char *
pi_kernel_name(void)
{
#ifdef PI_X86_CLONES
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return "avx512f";
    if (__builtin_cpu_supports("avx2"))
        return "avx2";
#endif
    return "default";
}

static void
pi_fini(void *state)
{
    free(state);
}

static int
pi_init(void **state, const struct tf_opts *opts, struct tf_error *err)
{
    struct pi__state *st;
    int rc;

    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return tf_error_set(err, TF_ENOMEM, "out of memory");
    st->seed = 1;
    st->task_samples = PI_DEFAULT_TASK_SAMPLES;
    if (tf_opts_get(opts, "samples") == NULL) {
        rc = tf_error_set(err, TF_EUSAGE, "--samples is required");
        goto fail;
    }
    st->samples = tf_opts_number(opts, "samples", 0);
    st->seed = tf_opts_number(opts, "seed", 1);
    st->task_samples =
        tf_opts_number(opts, "task-samples", PI_DEFAULT_TASK_SAMPLES);
    st->kernel_only = tf_opts_flag(opts, "kernel-only");
    st->ntasks = (st->samples - 1) / st->task_samples + 1;
    *state = st;
    return 0;
fail:
    pi_fini(st);
    return rc;
}

/* Worker: one task is (index, count); its result is (hits, count). */
static int
pi_run(void *arg, const struct tf_task *task, struct tf_result *res)
{
    const struct pi__state *st = arg;
    unsigned char out[PI_RESULT_BYTES];
    uint64_t index;
    uint64_t count;

    /* Never trust the wire: a payload of another size or an impossible
     * count means master and worker disagree, and the run must stop. */
    if (task->len != PI_TASK_BYTES) {
        tf_buf_printf(&res->err, "pi: task %" PRIu64 " is %zu bytes, not %d",
                      task->id, task->len, PI_TASK_BYTES);
        return TF_EINPUT;
    }
    index = tf_load_u64(task->data);
    count = tf_load_u64((const unsigned char *)task->data + 8);
    if (count > PI_MAX_SAMPLES) {
        tf_buf_printf(&res->err,
                      "pi: task %" PRIu64 " asks for %" PRIu64
                      " samples, more than 2^62",
                      task->id, count);
        return TF_EINPUT;
    }
    tf_store_u64(out, pi_hits(st->seed, index, count));
    tf_store_u64(out + 8, count);
    return tf_buf_append(&res->out, out, sizeof(out));
}

/* Samples of task INDEX: T, or what is left for the last task. */
static uint64_t
task_count(const struct pi__state *st, uint64_t index)
{
    uint64_t first = index * st->task_samples;

    return st->samples - first < st->task_samples ? st->samples - first
                                                  : st->task_samples;
}

/* A task's name in the records: the samples it draws. */
static int
pi_label(void *state, uint64_t index, const void *task, size_t len,
         struct tf_buf *out)
{
    const unsigned char *p = task;

    (void)state;
    (void)index;
    if (len != PI_TASK_BYTES)
        return tf_buf_printf(out, "pi: %zu bytes", len);
    return tf_buf_printf(out, "pi task %" PRIu64 ": %" PRIu64 " samples",
                         tf_load_u64(p), tf_load_u64(p + 8));
}

int
pi__next(void *arg, uint64_t index, struct tf_buf *task)
{
    const struct pi__state *st = arg;
    unsigned char p[PI_TASK_BYTES];
    int rc;

    if (index >= st->ntasks)
        return 0;
    tf_store_u64(p, index);
    tf_store_u64(p + 8, task_count(st, index));
    rc = tf_buf_append(task, p, sizeof(p));
    return rc < 0 ? rc : 1;
}

int
pi__done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct pi__state *st = arg;
    uint64_t hits;
    uint64_t count;

    if (res->status != 0)
        return 0; /* tf_pool_run() reports the failed task */
    if (index >= st->ntasks || res->out.len != PI_RESULT_BYTES) {
        snprintf(st->why, sizeof(st->why),
                 "task %" PRIu64 ": a result of %zu bytes, not %d", index,
                 res->out.len, PI_RESULT_BYTES);
        return TF_EPROTO;
    }
    hits = tf_load_u64(res->out.data);
    count = tf_load_u64(res->out.data + 8);
    if (count != task_count(st, index) || hits > count) {
        snprintf(st->why, sizeof(st->why),
                 "task %" PRIu64 ": %" PRIu64 " hits of %" PRIu64
                 " samples, for a task of %" PRIu64,
                 index, hits, count, task_count(st, index));
        return TF_EPROTO;
    }
    st->hits += hits;
    st->samples_done += count;
    return 0;
}

static double
seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Prints the result: a first line that depends only on the experiment, so
 * that runs can be compared byte for byte, and a second with the rate.
 */
static int
report(const struct pi__state *st, double secs, const char *how, FILE *out,
       struct tf_error *err)
{
    double n = (double)st->samples;
    double p = (double)st->hits / n;

    fprintf(out,
            "pi = %.12f  stderr = %.1e  samples = %" PRIu64
            "  hits = %" PRIu64 "\n",
            4.0 * p, 4.0 * sqrt(p * (1.0 - p) / n), st->samples, st->hits);
    fprintf(out, "rate = %.3e samples/s  time = %.3f s  %s\n",
            secs > 0 ? n / secs : 0.0, secs, how);
    if (fflush(out) == EOF || ferror(out))
        return tf_error_set(err, TF_ESYS, "cannot write the result: %s",
                            strerror(errno));
    return 0;
}

static int
pi_master(void *state, struct tf_pool *pool, const struct tf_job_io *io,
          struct tf_error *err)
{
    struct pi__state *st = state;
    struct timespec t0;
    char how[64];
    double secs;
    uint64_t i;
    int rc;

    st->hits = 0;
    st->samples_done = 0;
    st->why[0] = '\0';
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (st->kernel_only) {
        /* The same tasks in order, in this process: the same hits as any
         * farm run, at the rate of one core. */
        for (i = 0; i < st->ntasks; i++)
            st->hits += pi_hits(st->seed, i, task_count(st, i));
        secs = seconds_since(&t0);
        snprintf(how, sizeof(how), "kernel = %s (this process alone)",
                 pi_kernel_name());
        return report(st, secs, how, io->out, err);
    }
    rc = tf_pool_run(pool, tf_job_pi.name, pi__next, st, pi__done, st,
                     TF_UNORDERED, err);
    secs = seconds_since(&t0);
    if (rc == TF_ETASK) {
        /* The command leaves the report of failed tasks to the job. */
        tf_log(TF_LOG_ERROR, "pi: %s", err != NULL ? err->msg : "");
        return 1;
    }
    if (rc < 0) {
        if (st->why[0] != '\0')
            return tf_error_set(err, rc, "%s", st->why);
        return rc;
    }
    if (st->samples_done != st->samples)
        return tf_error_set(err, TF_EPROTO,
                            "%" PRIu64 " of %" PRIu64 " samples came back",
                            st->samples_done, st->samples);
    snprintf(how, sizeof(how), "workers = %d", tf_pool_nworkers(pool));
    return report(st, secs, how, io->out, err);
}

const struct tf_job_kind tf_job_pi = {
    .name = "pi",
    .summary = "estimate pi by Monte Carlo sampling; the same result for any "
               "number of workers",
    .usage = "--samples N [options]",
    .options = pi_options,
    .init = pi_init,
    .run = pi_run,
    .master = pi_master,
    .fini = pi_fini,
    .label = pi_label,
    .examples =
        "taskfarm pi --samples 1e12                # one worker per CPU\n"
        "taskfarm -j 2 pi --samples 2.5e9 --seed 7\n"
        "mpirun -np 65 taskfarm pi --samples 1e15  # 64 workers\n"
        "taskfarm pi --samples 1e10 --kernel-only  # the loop on one core\n",
};
