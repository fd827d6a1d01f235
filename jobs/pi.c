/* pi.c - Monte Carlo estimate of pi; each task draws a range of samples */
#include <inttypes.h>
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
#define PI_LANES 16
#define PI_MAX_SAMPLES ((uint64_t)1 << 62)
#define PI_DEFAULT_TASK_SAMPLES ((uint64_t)1 << 26) /* ~50 ms at full speed */
#define PI_TASK_BYTES 16   /* wire format: le64 index, le64 count */
#define PI_RESULT_BYTES 16 /* wire format: le64 hits, le64 count */

struct pi_state {
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
struct pi_lanes {
    uint64_t s[4][PI_LANES];
};

/* Defined at the end; its name is the one its task function is run by. */
extern const struct tf_job_kind tf_job_pi;

static const struct tf_option pi_options[] = {
    {"samples", 0, "N",
     "number of points to draw in all, e.g. 1e12 (at most 2^62; required)"},
    {"seed", 0, "S", "seed of the random streams, 0 to 2^64-1 (default 1)"},
    {"task-samples", 0, "N",
     "points per task (default 2^26, about 50 ms); part of the experiment, "
     "like the seed: another value gives other streams"},
    {"kernel-only", 0, NULL,
     "draw all the samples in this process alone, without workers, and "
     "report the rate of the sampling loop on one core"},
    {NULL, 0, NULL, NULL},
};

static void
put_le64(unsigned char *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/*
 * Parses S, the value of option --OPT, as a whole number in [MIN, MAX]:
 * plain digits or a decimal with an exponent that makes it whole, such as
 * 1e12 or 2.5e9 (parsed exactly, never through a double). Returns 0 with
 * *OUT set, or TF_EUSAGE with a one-line reason naming the option.
 */
static int
parse_count(const char *opt, const char *s, uint64_t min, uint64_t max,
            const char *range, uint64_t *out, struct tf_error *err)
{
    char digits[64]; /* the mantissa's digits without leading zeros */
    size_t nd = 0;
    long frac = 0; /* digits after the point */
    long exp10 = 0;
    long shift;
    bool negative = false;
    bool point = false;
    bool any = false;
    const char *p = s;
    uint64_t v = 0;
    size_t i;

    if (*p == '-' || *p == '+')
        negative = *p++ == '-';
    for (; (*p >= '0' && *p <= '9') || (*p == '.' && !point); p++) {
        if (*p == '.') {
            point = true;
            continue;
        }
        any = true;
        if (point)
            frac++;
        if (nd == 0 && *p == '0')
            continue;
        if (nd == sizeof(digits))
            return tf_error_set(err, TF_EUSAGE,
                                "--%s: '%s' has too many digits", opt, s);
        digits[nd++] = *p;
    }
    if (any && (*p == 'e' || *p == 'E')) {
        bool eneg = false;

        p++;
        if (*p == '-' || *p == '+')
            eneg = *p++ == '-';
        if (*p < '0' || *p > '9')
            any = false;
        for (; *p >= '0' && *p <= '9'; p++)
            if (exp10 < 100000)
                exp10 = exp10 * 10 + (*p - '0');
        if (eneg)
            exp10 = -exp10;
    }
    if (!any || *p != '\0')
        return tf_error_set(err, TF_EUSAGE, "--%s: '%s' is not a number", opt,
                            s);
    if (negative && nd > 0)
        return tf_error_set(err, TF_EUSAGE, "--%s: '%s' is negative", opt, s);
    /* The value is digits * 10^shift; zero has no digits left. */
    shift = nd > 0 ? exp10 - frac : 0;
    if (shift < 0) {
        /* 2.5e9 and 1500e-3 are whole, 1.5 and 2.25e1 are not. */
        if ((size_t)-shift >= nd)
            return tf_error_set(err, TF_EUSAGE,
                                "--%s: '%s' is not a whole number", opt, s);
        for (i = nd - (size_t)-shift; i < nd; i++)
            if (digits[i] != '0')
                return tf_error_set(err, TF_EUSAGE,
                                    "--%s: '%s' is not a whole number", opt, s);
        nd -= (size_t)-shift;
        shift = 0;
    }
    if (nd + (size_t)shift > 20) /* UINT64_MAX has 20 digits */
        return tf_error_set(err, TF_EUSAGE, "--%s: '%s' is out of range (%s)",
                            opt, s, range);
    for (i = 0; i < nd + (size_t)shift; i++) {
        unsigned d = i < nd ? (unsigned)(digits[i] - '0') : 0;

        if (v > (UINT64_MAX - d) / 10)
            return tf_error_set(err, TF_EUSAGE,
                                "--%s: '%s' is out of range (%s)", opt, s,
                                range);
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return tf_error_set(err, TF_EUSAGE, "--%s: '%s' is out of range (%s)",
                            opt, s, range);
    *out = v;
    return 0;
}

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The streams of task INDEX: lane l starts from four consecutive SplitMix64
 * outputs of a state that hashes (SEED, INDEX, l) in turn, so that no two
 * (seed, index, lane) share a start (but for 64-bit collisions). */
static void
pi_seed(struct pi_lanes *st, uint64_t seed, uint64_t index)
{
    int l;
    int w;

    for (l = 0; l < PI_LANES; l++) {
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
 * The hot loop: draws STEPS samples from every lane of ST, advancing it, and
 * returns how many fell outside the circle. A miss is (x^2 + y^2) >> 62,
 * which is 0 or 1 since x^2 + y^2 < 2^63: an add and a shift rather than a
 * compare, and no unsigned 64-bit compare for AVX2 to emulate. Each lane
 * keeps its own count; gcc vectorises the loop over the 16 lanes (two zmm
 * or four ymm registers per word) and the clones let one binary use
 * AVX-512 or AVX2 where the CPU has it.
 */
__attribute__((target_clones("avx512f", "avx2", "default"))) static uint64_t
pi_misses(struct pi_lanes *st, uint64_t steps)
{
    uint64_t s0[PI_LANES], s1[PI_LANES], s2[PI_LANES], s3[PI_LANES];
    uint64_t miss[PI_LANES];
    uint64_t total = 0;
    uint64_t k;
    int l;

    for (l = 0; l < PI_LANES; l++) {
        s0[l] = st->s[0][l];
        s1[l] = st->s[1][l];
        s2[l] = st->s[2][l];
        s3[l] = st->s[3][l];
        miss[l] = 0;
    }
    for (k = 0; k < steps; k++) {
        for (l = 0; l < PI_LANES; l++) {
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
    for (l = 0; l < PI_LANES; l++) {
        st->s[0][l] = s0[l];
        st->s[1][l] = s1[l];
        st->s[2][l] = s2[l];
        st->s[3][l] = s3[l];
        total += miss[l];
    }
    return total;
}

/* One sample of lane L alone: the same arithmetic as pi_misses(). */
static uint64_t
pi_miss_one(struct pi_lanes *st, int l)
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
    struct pi_lanes st;
    uint64_t misses;
    int l;

    pi_seed(&st, seed, index);
    misses = pi_misses(&st, count / PI_LANES);
    for (l = 0; l < (int)(count % PI_LANES); l++)
        misses += pi_miss_one(&st, l);
    return count - misses;
}

/* Which clone of pi_misses() runs here: gcc's resolver takes the first of
 * the list that the CPU supports. */
static const char *
pi_kernel_name(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return "avx512f";
    if (__builtin_cpu_supports("avx2"))
        return "avx2";
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
    static const char samples_range[] = "1 to 2^62";
    struct pi_state *st;
    const char *v;
    int rc;

    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return tf_error_set(err, TF_ENOMEM, "out of memory");
    st->seed = 1;
    st->task_samples = PI_DEFAULT_TASK_SAMPLES;
    v = tf_opts_get(opts, "samples");
    if (v == NULL) {
        rc = tf_error_set(err, TF_EUSAGE, "--samples is required");
        goto fail;
    }
    rc = parse_count("samples", v, 1, PI_MAX_SAMPLES, samples_range,
                     &st->samples, err);
    if (rc < 0)
        goto fail;
    v = tf_opts_get(opts, "seed");
    if (v != NULL) {
        rc = parse_count("seed", v, 0, UINT64_MAX, "0 to 2^64-1", &st->seed,
                         err);
        if (rc < 0)
            goto fail;
    }
    v = tf_opts_get(opts, "task-samples");
    if (v != NULL) {
        rc = parse_count("task-samples", v, 1, PI_MAX_SAMPLES, samples_range,
                         &st->task_samples, err);
        if (rc < 0)
            goto fail;
    }
    st->kernel_only = tf_opts_get(opts, "kernel-only") != NULL;
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
    const struct pi_state *st = arg;
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
    index = get_le64(task->data);
    count = get_le64((const unsigned char *)task->data + 8);
    if (count > PI_MAX_SAMPLES) {
        tf_buf_printf(&res->err,
                      "pi: task %" PRIu64 " asks for %" PRIu64
                      " samples, more than 2^62",
                      task->id, count);
        return TF_EINPUT;
    }
    put_le64(out, pi_hits(st->seed, index, count));
    put_le64(out + 8, count);
    return tf_buf_append(&res->out, out, sizeof(out));
}

/* Samples of task INDEX: T, or what is left for the last task. */
static uint64_t
task_count(const struct pi_state *st, uint64_t index)
{
    uint64_t first = index * st->task_samples;

    return st->samples - first < st->task_samples ? st->samples - first
                                                  : st->task_samples;
}

static int
pi_next(void *arg, uint64_t index, struct tf_buf *task)
{
    const struct pi_state *st = arg;
    unsigned char p[PI_TASK_BYTES];
    int rc;

    if (index >= st->ntasks)
        return 0;
    put_le64(p, index);
    put_le64(p + 8, task_count(st, index));
    rc = tf_buf_append(task, p, sizeof(p));
    return rc < 0 ? rc : 1;
}

/* Adds one task's hits; the order does not matter, integer sums are exact. */
static int
pi_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct pi_state *st = arg;
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
    hits = get_le64(res->out.data);
    count = get_le64(res->out.data + 8);
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
report(const struct pi_state *st, double secs, const char *how,
       struct tf_error *err)
{
    double n = (double)st->samples;
    double p = (double)st->hits / n;

    printf("pi = %.12f  stderr = %.1e  samples = %" PRIu64 "  hits = %" PRIu64
           "\n",
           4.0 * p, 4.0 * sqrt(p * (1.0 - p) / n), st->samples, st->hits);
    printf("rate = %.3e samples/s  time = %.3f s  %s\n",
           secs > 0 ? n / secs : 0.0, secs, how);
    if (fflush(stdout) == EOF || ferror(stdout))
        return tf_error_set(err, TF_ESYS, "cannot write the result to stdout");
    return 0;
}

static int
pi_master(void *state, struct tf_pool *pool, struct tf_error *err)
{
    struct pi_state *st = state;
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
        return report(st, secs, how, err);
    }
    rc = tf_pool_run(pool, tf_job_pi.name, pi_next, st, pi_done, st,
                     TF_UNORDERED, err);
    secs = seconds_since(&t0);
    if (rc == TF_ETASK) {
        /* The command leaves the report of failed tasks to the job. */
        fprintf(stderr, "taskfarm: pi: %s\n", err != NULL ? err->msg : "");
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
    return report(st, secs, how, err);
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
    .examples =
        "taskfarm pi --samples 1e12                # one worker per CPU\n"
        "taskfarm -j 2 pi --samples 2.5e9 --seed 7\n"
        "mpirun -np 65 taskfarm pi --samples 1e15  # 64 workers\n"
        "taskfarm pi --samples 1e10 --kernel-only  # the loop on one core\n",
};
