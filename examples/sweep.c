/* sweep.c - tf_starmap and an initializer: ./sweep or mpirun -np 3 ./sweep */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <taskfarm.h>

/*
 * For each parameter set (a name, a launch speed in m/s and an angle in
 * degrees) computes how far and how long a projectile flies without air,
 * and prints one line per set, in order. The "steep" set is out of range on
 * purpose: its task fails, the master reports it and the others still run;
 * the program then exits 1.
 */

#define PI 3.14159265358979323846

struct params {
    const char *name;
    double speed;
    double angle;
};

static const struct params sets[] = {
    {"lob", 10, 75},
    {"flat", 10, 15},
    {"best", 10, 45},
    {"steep", 20, 95}, /* fails: over 90 degrees */
    {"fast", 30, 30},
    {"slow", 2.5, 60},
    {"nearly-level", 50, 1},
    {"x", 7.5, 89.5},
};
#define NSETS (sizeof(sets) / sizeof(sets[0]))

/* A task's arguments packed as Pool.starmap's tuple would be: the two
 * doubles, then the name's bytes (no NUL); the length varies with the
 * name. All ranks of a job share one byte order, so doubles go as bytes. */
#define PACKED_HEAD (2 * sizeof(double))

/*
 * Per-worker state, set up once by the initializer before the worker's
 * first task, as Pool(initializer=...) does: the place to open files, load
 * tables or seed generators. Here it only takes the gravity of INITARG.
 */
static struct {
    int ready;
    double g;
} world;

static int
setup_worker(void *initarg)
{
    world.g = *(const double *)initarg;
    world.ready = 1;
    return 0;
}

/* The task function: runs on a worker. Its result is the line to print. */
static int
fly(void *arg, const struct tf_task *task, struct tf_result *res)
{
    double speed, angle, rad;
    const char *name;
    int name_len;

    (void)arg;
    if (!world.ready || task->len < PACKED_HEAD)
        return TF_EINPUT; /* a bug, not a bad parameter: end the run */
    memcpy(&speed, task->data, sizeof(speed));
    memcpy(&angle, (const char *)task->data + sizeof(speed), sizeof(angle));
    name = (const char *)task->data + PACKED_HEAD;
    name_len = (int)(task->len - PACKED_HEAD);
    if (!(angle > 0 && angle < 90) || !(speed > 0)) {
        /* A failed task: a status and a message for the master. */
        res->status = 1;
        return tf_buf_printf(&res->err, "%.*s: speed %g or angle %g out of "
                             "range", name_len, name, speed, angle);
    }
    rad = angle * PI / 180;
    return tf_buf_printf(&res->out, "%.*s: range %.3f m, flight %.3f s",
                         name_len, name,
                         speed * speed * sin(2 * rad) / world.g,
                         2 * speed * sin(rad) / world.g);
}

/* Master: prints each result as it comes, in task order. */
static int
print_result(void *arg, uint64_t index, const struct tf_result *res)
{
    (void)arg;
    (void)index;
    if (res->status != 0)
        printf("failed: %.*s\n", (int)res->err.len,
               (const char *)res->err.data);
    else
        printf("%.*s\n", (int)res->out.len, (const char *)res->out.data);
    return 0; /* a negative return would stop the run */
}

int
main(void)
{
    static double earth_g = 9.80665;
    const char *workers = getenv("TF_EXAMPLE_WORKERS");
    char packed[NSETS][PACKED_HEAD + 64];
    const void *args[NSETS];
    size_t lens[NSETS];
    struct tf_config cfg;
    struct tf_error err;
    struct tf_pool *pool;
    size_t i;
    int rc;

    tf_register("fly", fly, NULL);
    tf_config_init(&cfg);
    cfg.nworkers = workers != NULL ? atoi(workers) : 0;
    cfg.initializer = setup_worker;
    cfg.initarg = &earth_g; /* each rank passes its own copy */
    rc = tf_init(&cfg, &pool, &err);
    if (rc == TF_WORKER_DONE)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "sweep: %s\n", err.msg);
        return 3;
    }

    for (i = 0; i < NSETS; i++) {
        size_t n = strlen(sets[i].name);

        memcpy(packed[i], &sets[i].speed, sizeof(double));
        memcpy(packed[i] + sizeof(double), &sets[i].angle, sizeof(double));
        memcpy(packed[i] + PACKED_HEAD, sets[i].name, n);
        args[i] = packed[i];
        lens[i] = PACKED_HEAD + n;
    }
    rc = tf_starmap(pool, "fly", args, lens, NSETS, print_result, NULL,
                    &err);
    tf_finalize(pool, NULL);
    if (rc < 0) {
        /* TF_ETASK names the first failed task by its index. */
        fflush(stdout);
        fprintf(stderr, "sweep: %s\n", err.msg);
        return rc == TF_ETASK ? 1 : 3;
    }
    return 0;
}
