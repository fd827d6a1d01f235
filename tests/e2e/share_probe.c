/*
 * share_probe.c - where shared data lands: shares KIB kibibytes of a known
 * pattern (tf_pool_share_buffer), then runs NTASKS tasks of SLEEP_MS
 * milliseconds each; every task checks every byte of what it sees and
 * says where those bytes live. With ROUNDS, shares other bytes (a pattern
 * of the round's) and runs the tasks again, ROUNDS times in all.
 *
 *   share_probe KIB NTASKS SLEEP_MS [ROUNDS]   (forked, or under mpirun)
 *
 * Forked, TF_EXAMPLE_WORKERS sets the number of workers.
 * Prints one line for the master and one per task, each round:
 *   master HOST PID WHERE
 *   task ID HOST PID NODE WHERE ok|BAD
 * WHERE is the file behind the mapping that holds the data, as
 * DEVICE:INODE:SIZE (SIZE: that mapping's length), or "private" for
 * memory of the process's own. Exit status 0 when every task saw the right
 * bytes, 1 when one did not, 2 on a usage error, 3 when the run failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <taskfarm.h>

struct seen {
    char host[64];
    char where[96];
    int64_t pid;
    int32_t node;
    int32_t ok;
};

static unsigned char
pattern(size_t i, int64_t round)
{
    return (unsigned char)(((i + (size_t)round * 7) * 2654435761u) >> 13);
}

/* Writes to WHERE the file of the mapping of this process holding P. */
static void
where(const void *p, char *where, size_t size)
{
    uintptr_t a = (uintptr_t)p;
    char line[512];
    FILE *f = fopen("/proc/self/maps", "re");

    snprintf(where, size, "unknown");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi, ino;
        char dev[16];

        if (sscanf(line, "%lx-%lx %*s %*s %15s %lu", &lo, &hi, dev, &ino) !=
            4)
            continue;
        if (a < lo || a >= hi)
            continue;
        if (ino == 0)
            snprintf(where, size, "private");
        else
            snprintf(where, size, "%s:%lu:%lu", dev, ino, hi - lo);
        break;
    }
    fclose(f);
}

static int
probe(void *arg, const struct tf_task *task, struct tf_result *res)
{
    const unsigned char *d = task->shared;
    long ms = *(const long *)arg;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    struct seen s;
    int64_t round;
    size_t i;

    if (task->len != sizeof(round))
        return TF_EINPUT;
    memcpy(&round, task->data, sizeof(round));
    memset(&s, 0, sizeof(s));
    s.ok = d != NULL;
    for (i = 0; s.ok && i < task->shared_len; i++)
        s.ok = d[i] == pattern(i, round);
    gethostname(s.host, sizeof(s.host) - 1);
    where(d, s.where, sizeof(s.where));
    s.pid = (int64_t)getpid();
    s.node = task->node;
    nanosleep(&ts, NULL);
    return tf_buf_append(&res->out, &s, sizeof(s));
}

int
main(int argc, char **argv)
{
    static long sleep_ms;
    struct tf_config cfg;
    struct tf_error err;
    struct tf_pool *pool;
    struct seen *out;
    unsigned char *d;
    int64_t *in;
    char host[64] = "";
    char at[96];
    long kib, n, i, r, rounds = 1;
    int bad = 0;
    int rc;

    if (argc < 4 || argc > 5 || (kib = atol(argv[1])) <= 0 ||
        kib > 1000000 || (n = atol(argv[2])) <= 0 ||
        (sleep_ms = atol(argv[3])) < 0 ||
        (argc == 5 && (rounds = atol(argv[4])) <= 0)) {
        fprintf(stderr, "usage: share_probe KIB NTASKS SLEEP_MS [ROUNDS]\n");
        return 2;
    }
    tf_register("probe", probe, &sleep_ms);
    tf_config_init(&cfg);
    /* Forked: TF_EXAMPLE_WORKERS workers, as the examples. */
    if (getenv("TF_EXAMPLE_WORKERS") != NULL)
        cfg.nworkers = atoi(getenv("TF_EXAMPLE_WORKERS"));
    rc = tf_init(&cfg, &pool, &err);
    if (rc == TF_WORKER_DONE)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "share_probe: %s\n", err.msg);
        return 3;
    }
    in = calloc((size_t)n, sizeof(*in));
    out = calloc((size_t)n, sizeof(*out));
    rc = in == NULL || out == NULL ? TF_ENOMEM : 0;
    if (rc == 0)
        gethostname(host, sizeof(host) - 1);
    for (r = 0; rc == 0 && r < rounds; r++) {
        d = tf_pool_share_buffer(pool, (size_t)kib << 10, &err);
        if (d == NULL) {
            rc = -1;
            break;
        }
        for (i = 0; i < kib << 10; i++)
            d[i] = pattern((size_t)i, r);
        rc = tf_pool_share_commit(pool, &err);
        if (rc < 0)
            break;
        where(d, at, sizeof(at));
        printf("master %s %ld %s\n", host, (long)getpid(), at);
        for (i = 0; i < n; i++)
            in[i] = r;
        rc = tf_map(pool, "probe", in, sizeof(in[0]), out, sizeof(out[0]),
                    (size_t)n, &err);
        for (i = 0; rc == 0 && i < n; i++) {
            out[i].host[sizeof(out[i].host) - 1] = '\0';
            out[i].where[sizeof(out[i].where) - 1] = '\0';
            printf("task %ld %s %" PRId64 " %d %s %s\n", i, out[i].host,
                   out[i].pid, (int)out[i].node, out[i].where,
                   out[i].ok ? "ok" : "BAD");
            bad |= !out[i].ok;
        }
    }
    if (rc < 0)
        fprintf(stderr, "share_probe: %s\n", err.msg);
    free(in);
    free(out);
    tf_finalize(pool, NULL);
    return rc < 0 ? 3 : bad;
}
