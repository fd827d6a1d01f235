/* square.c - tf_map over 1..N: ./square [N] or mpirun -np 3 ./square [N] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <taskfarm.h>

/* The task function, run on a worker: one int64 in, its square out. */
static int
square(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int64_t x;

    (void)arg;
    if (task->len != sizeof(x))
        return TF_EINPUT; /* tf_map sent something else: end the run */
    memcpy(&x, task->data, sizeof(x));
    x *= x;
    return tf_buf_append(&res->out, &x, sizeof(x));
}

int
main(int argc, char **argv)
{
    const char *workers = getenv("TF_EXAMPLE_WORKERS");
    char *end = "";
    long long n = 10;
    struct tf_config cfg;
    struct tf_error err;
    struct tf_pool *pool;
    int64_t *in, *out;
    int rc;

    if (argc > 1)
        n = strtoll(argv[1], &end, 10);
    if (*end != '\0' || n < 0 || n > 3037000499LL) { /* squares fit int64 */
        fprintf(stderr, "usage: square [N]\n");
        return 2;
    }
    /* Every rank registers the same functions, then starts the pool. */
    tf_register("square", square, NULL);
    tf_config_init(&cfg);
    /* Forked workers: one per CPU unless TF_EXAMPLE_WORKERS says how many.
     * Under mpirun every rank but the master (rank 0) is a worker. */
    cfg.nworkers = workers != NULL ? atoi(workers) : 0;
    rc = tf_init(&cfg, &pool, &err);
    if (rc == TF_WORKER_DONE)
        return 0; /* a worker rank: the master has finished */
    if (rc < 0) {
        fprintf(stderr, "square: %s\n", err.msg);
        return 3;
    }

    /* Only the master gets here. (n + 1: malloc(0) may return NULL.) */
    in = malloc((size_t)(n + 1) * sizeof(*in));
    out = malloc((size_t)(n + 1) * sizeof(*out));
    if (in == NULL || out == NULL) {
        rc = TF_ENOMEM;
        snprintf(err.msg, sizeof(err.msg), "out of memory");
    } else {
        for (long long i = 0; i < n; i++)
            in[i] = i + 1;
        rc = tf_map(pool, "square", in, sizeof(in[0]), out, sizeof(out[0]),
                    (size_t)n, &err);
    }
    if (rc == 0)
        for (long long i = 0; i < n; i++)
            printf("%" PRId64 "\n", out[i]);
    else
        fprintf(stderr, "square: %s\n", err.msg);
    free(in);
    free(out);
    tf_finalize(pool, NULL);
    return rc == 0 ? 0 : 3;
}
