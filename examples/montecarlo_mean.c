/* montecarlo_mean.c - a mean and its error: [mpirun -np 3] ./montecarlo_mean */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <taskfarm.h>

/*
 * Estimates the mean of f(X) = exp(-X^2) for X uniform on [0, 1), which is
 * sqrt(pi)/2 erf(1) = 0.7468241328..., with its standard error. Each task
 * draws SAMPLES values and returns the means of f and of f^2; the master
 * adds them up as they arrive, in any order, through tf_imap_unordered's
 * callback. Usage: montecarlo_mean [TASKS [SAMPLES]] (default 100 100000).
 */

struct mc_task {        /* what one task gets */
    uint64_t index;     /* its index: the only source of its randomness */
    uint64_t samples;
};

struct mc_result {      /* what one task returns */
    double mean_f;      /* mean of f(x) over its samples */
    double mean_f2;     /* mean of f(x)^2 */
};

/*
 * The K-th uniform number of task I: splitmix64's output number (I, K) of
 * one stream, a bijective mix of the counter. Distinct counters never
 * share a number, and a task draws the same numbers wherever it runs, so
 * the result does not depend on the number of workers or the transport.
 */
static double
uniform(uint64_t i, uint64_t k)
{
    uint64_t z = ((i << 32) | k) * UINT64_C(0x9E3779B97F4A7C15);

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

/* The task function: runs on a worker. */
static int
draw(void *arg, const struct tf_task *task, struct tf_result *res)
{
    struct mc_task t;
    struct mc_result r = {0, 0};
    uint64_t k;

    (void)arg;
    if (task->len != sizeof(t))
        return TF_EINPUT;
    memcpy(&t, task->data, sizeof(t));
    for (k = 0; k < t.samples; k++) {
        double x = uniform(t.index, k);
        double f = exp(-x * x);

        r.mean_f += f;
        r.mean_f2 += f * f;
    }
    r.mean_f /= (double)t.samples;
    r.mean_f2 /= (double)t.samples;
    return tf_buf_append(&res->out, &r, sizeof(r));
}

/*
 * The reduction, on the master. Floating-point sums depend on the order of
 * their terms, and results arrive in whatever order tasks finish, so the
 * sums are kept in fixed point (units of 2^-40, exact in any order): the
 * printed digits are then the same for every run. f lies in (0, 1].
 */
#define FIXED 0x1.0p40

struct sums {
    uint64_t f;         /* sum of the tasks' mean_f, in units of 2^-40 */
    uint64_t f2;
    uint64_t tasks;
};

static int
reduce(void *arg, uint64_t index, const struct tf_result *res)
{
    struct sums *s = arg;
    struct mc_result r;

    (void)index;
    if (res->status != 0 || res->out.len != sizeof(r))
        return TF_EPROTO; /* stops the run */
    memcpy(&r, res->out.data, sizeof(r));
    s->f += (uint64_t)llround(r.mean_f * FIXED);
    s->f2 += (uint64_t)llround(r.mean_f2 * FIXED);
    s->tasks++;
    return 0;
}

int
main(int argc, char **argv)
{
    const char *workers = getenv("TF_EXAMPLE_WORKERS");
    uint64_t ntasks = argc > 1 ? strtoull(argv[1], NULL, 10) : 100;
    uint64_t samples = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
    struct sums sums = {0, 0, 0};
    struct tf_config cfg;
    struct tf_error err;
    struct tf_pool *pool;
    struct mc_task *in;
    double n, mean, var;
    uint64_t i;
    int rc;

    /* Counters (task, sample) need 32 bits each; 2^20 tasks keep the
     * fixed-point sums below 2^60. */
    if (ntasks < 1 || ntasks > (1u << 20) || samples < 2 ||
        samples > UINT32_MAX) {
        fprintf(stderr, "usage: montecarlo_mean [TASKS [SAMPLES]]\n");
        return 2;
    }
    tf_register("draw", draw, NULL);
    tf_config_init(&cfg);
    cfg.nworkers = workers != NULL ? atoi(workers) : 0;
    rc = tf_init(&cfg, &pool, &err);
    if (rc == TF_WORKER_DONE)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "montecarlo_mean: %s\n", err.msg);
        return 3;
    }

    in = calloc(ntasks, sizeof(*in));
    if (in == NULL) {
        fprintf(stderr, "montecarlo_mean: out of memory\n");
        tf_finalize(pool, NULL);
        return 3;
    }
    for (i = 0; i < ntasks; i++) {
        in[i].index = i;
        in[i].samples = samples;
    }
    rc = tf_imap_unordered(pool, "draw", in, sizeof(in[0]), ntasks, reduce,
                           &sums, &err);
    free(in);
    tf_finalize(pool, NULL);
    if (rc < 0) {
        fprintf(stderr, "montecarlo_mean: %s\n", err.msg);
        return rc == TF_ETASK ? 1 : 3;
    }
    /* Every task drew as many samples: the mean is the mean of the means,
     * and the variance of f is E[f^2] - E[f]^2 (with n - 1 for a sample). */
    n = (double)ntasks * (double)samples;
    mean = (double)sums.f / FIXED / (double)sums.tasks;
    var = ((double)sums.f2 / FIXED / (double)sums.tasks - mean * mean) * n /
          (n - 1);
    printf("mean %.10f\n", mean);
    printf("stderr %.10f\n", sqrt(var / n));
    printf("samples %.0f\n", n);
    return 0;
}
