/* test_schedule.c - unit tests of the chunk policy, and a simulated farm */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "tf_test.h"

/* ------------------------------------------------------------- policy */

/* Returns the chunk size S settles at: it asks for chunks until two in a
 * row have the same size, checking on the way that no chunk is more than
 * twice the largest before it. */
static uint64_t
settle(struct tf__sched *s)
{
    uint64_t largest = 0;
    uint64_t prev = 0;
    int i;

    for (i = 0; i < 64; i++) {
        uint64_t n = tf__sched_next(s, UINT64_MAX / 4, false);

        assert_true(n >= 1);
        if (largest > 0 && n > 2 * largest)
            fail_msg("chunk of %llu after a largest chunk of %llu",
                     (unsigned long long)n, (unsigned long long)largest);
        if (n == prev)
            return n;
        if (n > largest)
            largest = n;
        prev = n;
    }
    fail_msg("the chunk size did not settle");
    return 0;
}

/* The size auto mode settles at once tasks took MEAN_US on average. */
static uint64_t
settled_for_mean(int nworkers, uint64_t ntasks, uint64_t mean_us)
{
    struct tf__sched s;

    tf__sched_init(&s, nworkers, 0);
    tf__sched_observe(&s, ntasks, ntasks * mean_us);
    return settle(&s);
}

static void
test_fixed_mode_gives_the_fixed_size_whatever_was_observed(void **state)
{
    static const uint64_t sizes[] = {1, 7, 1000};
    struct tf__sched s;
    size_t i;
    int k;

    (void)state;
    for (i = 0; i < 3; i++) {
        tf__sched_init(&s, 4, sizes[i]);
        for (k = 0; k < 10; k++) {
            assert_int_equal(tf__sched_next(&s, 1u << 20, false), sizes[i]);
            tf__sched_observe(&s, 1000, (uint64_t)k * 1000000);
        }
        tf__sched_observe(&s, 1000, 0);
        assert_int_equal(tf__sched_next(&s, 1u << 20, false), sizes[i]);
        /* Nothing pending yet is no reason to shrink a chunk. */
        assert_int_equal(tf__sched_next(&s, 0, false), sizes[i]);
    }
}

static void
test_fixed_mode_at_eof_gives_at_most_what_is_pending(void **state)
{
    struct tf__sched s;

    (void)state;
    tf__sched_init(&s, 8, 7);
    assert_int_equal(tf__sched_next(&s, 100, true), 7);
    assert_int_equal(tf__sched_next(&s, 7, true), 7);
    assert_int_equal(tf__sched_next(&s, 6, true), 6);
    assert_int_equal(tf__sched_next(&s, 1, true), 1);
}

static void
test_auto_mode_starts_with_chunks_of_one_until_it_has_measured(void **state)
{
    struct tf__sched s;
    int k;

    (void)state;
    tf__sched_init(&s, 4, 0);
    assert_int_equal(s.fixed, 0);
    assert_int_equal(s.target_us, TF__SCHED_TARGET_US);
    assert_int_equal(s.max_chunk, TF__SCHED_MAX_CHUNK);
    for (k = 0; k < 20; k++)
        assert_int_equal(tf__sched_next(&s, 1000000, false), 1);
}

static void
test_auto_mode_doubles_at_most_from_chunk_to_chunk(void **state)
{
    struct tf__sched s;
    uint64_t want = 1;
    int k;

    (void)state;
    tf__sched_init(&s, 4, 0);
    assert_int_equal(tf__sched_next(&s, 1000000, false), 1);
    /* A task too quick to measure asks for the largest chunk at once; the
     * policy must not believe it in one step. */
    tf__sched_observe(&s, 1, 0);
    for (k = 0; k < 15; k++) {
        want *= 2;
        assert_int_equal(tf__sched_next(&s, UINT64_MAX / 4, false), want);
    }
    assert_int_equal(want, TF__SCHED_MAX_CHUNK);
    assert_int_equal(tf__sched_next(&s, UINT64_MAX / 4, false),
                     TF__SCHED_MAX_CHUNK);
}

static void
test_auto_mode_lengthens_chunks_for_many_workers(void **state)
{
    struct tf__sched few, many;
    uint64_t a = 0, b = 0;
    int k;

    (void)state;
    tf__sched_init(&few, TF__SCHED_WORKERS_PER_TARGET, 0);
    tf__sched_init(&many, 40 * TF__SCHED_WORKERS_PER_TARGET, 0);
    assert_int_equal(many.target_us, 40 * few.target_us);
    /* 1 ms tasks: 20 per chunk up to 256 workers; with 10,240 workers
     * chunks last 40 times longer, so the master gets no more requests a
     * second per worker than 256 workers would send in all. */
    tf__sched_observe(&few, 1000, 1000000);
    tf__sched_observe(&many, 1000, 1000000);
    for (k = 0; k < 20; k++) {
        a = tf__sched_next(&few, UINT64_MAX / 4, false);
        b = tf__sched_next(&many, UINT64_MAX / 4, false);
    }
    assert_int_equal(a, 20);
    assert_int_equal(b, 800);
}

static void
test_auto_mode_small_eof_chunks_do_not_unlock_faster_growth(void **state)
{
    struct tf__sched s;

    (void)state;
    tf__sched_init(&s, 2, 0);
    tf__sched_observe(&s, 100, 100); /* 1 us a task */
    assert_int_equal(tf__sched_next(&s, 1000, false), 1);
    assert_int_equal(tf__sched_next(&s, 1000, false), 2);
    assert_int_equal(tf__sched_next(&s, 1000, false), 4);
    /* Near the end the chunks are cut small... */
    assert_int_equal(tf__sched_next(&s, 4, true), 1);
    /* ... and the next chunk is still at most twice the largest so far,
     * however many tasks the mean asks for. */
    assert_true(tf__sched_next(&s, 1000000, false) <= 8);
}

static void
test_auto_mode_aims_at_target_over_mean_task_time(void **state)
{
    (void)state;
    /* TF__SCHED_TARGET_US is 20 ms. */
    assert_int_equal(TF__SCHED_TARGET_US, 20000);
    assert_int_equal(settled_for_mean(4, 1000, 1000), 20);     /* 1 ms */
    assert_int_equal(settled_for_mean(4, 1000, 500), 40);      /* 0.5 ms */
    assert_int_equal(settled_for_mean(4, 1000, 100), 200);     /* 0.1 ms */
    assert_int_equal(settled_for_mean(4, 1000, 10), 2000);     /* 10 us */
    assert_int_equal(settled_for_mean(4, 100, 7000), 2);       /* 7 ms */
    assert_int_equal(settled_for_mean(4, 10, 20000), 1);       /* 20 ms */
    assert_int_equal(settled_for_mean(4, 3, 10000000), 1);     /* 10 s */
    assert_int_equal(settled_for_mean(64, 1, 3600000000u), 1); /* 1 h */
}

static void
test_auto_mode_uses_the_mean_over_all_observations(void **state)
{
    struct tf__sched s;

    (void)state;
    tf__sched_init(&s, 4, 0);
    tf__sched_observe(&s, 10, 10 * 4000);
    assert_int_equal(settle(&s), 5);
    /* 30 more tasks of 0 us: the mean is now 1 ms. */
    tf__sched_observe(&s, 30, 0);
    assert_int_equal(settle(&s), 20);
}

static void
test_auto_mode_caps_at_max_chunk(void **state)
{
    struct tf__sched s;

    (void)state;
    /* 1 us a task asks for 20000, below the cap; 0.5 us for 40000. */
    assert_int_equal(settled_for_mean(4, 1000, 1), 20000);
    tf__sched_init(&s, 4, 0);
    tf__sched_observe(&s, 1000, 500);
    assert_int_equal(settle(&s), TF__SCHED_MAX_CHUNK);
    /* Tasks too quick to measure. */
    assert_int_equal(settled_for_mean(4, 1000, 0), TF__SCHED_MAX_CHUNK);
    tf__sched_init(&s, 4, 0);
    tf__sched_observe(&s, 1000000, 1);
    assert_int_equal(settle(&s), TF__SCHED_MAX_CHUNK);
    /* So many tasks that target * tasks would overflow. */
    tf__sched_init(&s, 4, 0);
    tf__sched_observe(&s, UINT64_MAX / 1000, UINT64_MAX / 1000);
    assert_int_equal(settle(&s), TF__SCHED_MAX_CHUNK);
    /* A smaller cap set by the caller holds too. */
    tf__sched_init(&s, 4, 0);
    s.max_chunk = 100;
    tf__sched_observe(&s, 1000, 1000);
    assert_int_equal(settle(&s), 100);
}

static void
test_auto_mode_at_eof_is_guided_and_never_zero(void **state)
{
    static const int workers[] = {1, 2, 3, 4, 8, 64};
    static const uint64_t means[] = {1, 100, 1000};
    size_t wi;
    size_t mi;

    (void)state;
    for (wi = 0; wi < sizeof(workers) / sizeof(workers[0]); wi++) {
        for (mi = 0; mi < 3; mi++) {
            struct tf__sched s;
            uint64_t pending;

            tf__sched_init(&s, workers[wi], 0);
            tf__sched_observe(&s, 1000, 1000 * means[mi]);
            (void)settle(&s);
            for (pending = 1; pending <= 5000; pending++) {
                uint64_t gss = pending / (2 * (uint64_t)workers[wi]);
                uint64_t n = tf__sched_next(&s, pending, true);

                if (n < 1 || n > pending || n > (gss < 1 ? 1 : gss))
                    fail_msg("%d workers, %llu pending: chunk of %llu",
                             workers[wi], (unsigned long long)pending,
                             (unsigned long long)n);
            }
        }
    }
}

static void
test_auto_mode_at_eof_still_limits_by_the_mean(void **state)
{
    struct tf__sched s;

    (void)state;
    tf__sched_init(&s, 2, 0);
    tf__sched_observe(&s, 100, 100 * 1000); /* 1 ms: 20 a chunk */
    (void)settle(&s);
    /* pending / (2 * workers) would be 250. */
    assert_int_equal(tf__sched_next(&s, 1000, true), 20);
    assert_int_equal(tf__sched_next(&s, 60, true), 15);
}

static void
test_next_is_never_zero_even_with_nothing_pending(void **state)
{
    struct tf__sched s;

    (void)state;
    tf__sched_init(&s, 4, 0);
    assert_int_equal(tf__sched_next(&s, 0, false), 1);
    assert_int_equal(tf__sched_next(&s, 0, true), 1);
    tf__sched_init(&s, 4, 5);
    assert_int_equal(tf__sched_next(&s, 0, true), 1);
}

static void
test_init_treats_fewer_than_one_worker_as_one(void **state)
{
    struct tf__sched s;

    (void)state;
    tf__sched_init(&s, 0, 0);
    assert_int_equal(s.nworkers, 1);
    tf__sched_observe(&s, 10, 10);
    (void)settle(&s);
    /* With one worker, at most half of what is pending. */
    assert_int_equal(tf__sched_next(&s, 10, true), 5);
    tf__sched_init(&s, -3, 0);
    assert_int_equal(s.nworkers, 1);
}

static void
test_lookahead_covers_two_chunks_per_worker(void **state)
{
    struct tf__sched s;
    struct tf__sched copy;

    (void)state;
    /* The comparison at the end reads the whole struct, padding included:
     * make those bytes defined (valgrind checks). */
    memset(&s, 0, sizeof(s));
    tf__sched_init(&s, 4, 7);
    assert_int_equal(tf__sched_lookahead(&s), 7 * 2 * 4);
    tf__sched_init(&s, 3, 0);
    assert_int_equal(tf__sched_lookahead(&s), 1 * 2 * 3);
    tf__sched_observe(&s, 100, 100 * 1000);
    /* Before each chunk, the lookahead is two chunks of the size the next
     * chunk will have, for every worker. */
    while (tf__sched_lookahead(&s) < 20 * 2 * 3) {
        uint64_t la = tf__sched_lookahead(&s);

        copy = s;
        assert_int_equal(la,
                         tf__sched_next(&copy, UINT64_MAX / 4, false) * 2 * 3);
        (void)tf__sched_next(&s, UINT64_MAX / 4, false);
    }
    assert_int_equal(tf__sched_lookahead(&s), 20 * 2 * 3);
    /* Asking does not change the state. */
    memcpy(&copy, &s, sizeof(s));
    (void)tf__sched_lookahead(&s);
    assert_memory_equal(&copy, &s, sizeof(s));
}

/* ---------------------------------------------------------- simulation */

/*
 * A farm on a simulated clock, shaped like farm.c: the master reads ahead
 * tf__sched_lookahead() tasks and learns the input has ended only when it
 * reads past the last one; every worker holds up to two chunks (the one it
 * runs and the next); a worker spends OVERHEAD_US on each chunk besides its
 * tasks (messages, decoding), which is not counted as busy time; and the
 * master observes a chunk's tasks when the chunk is done. No real time
 * passes: events are handled in order of their simulated time.
 */
#define SIM_PREFETCH 2

struct sim_chunk {
    int worker;
    uint64_t first; /* index of its first task */
    uint64_t n;
    uint64_t busy_us;
    uint64_t end_us;
};

struct sim {
    const uint64_t *dur_us; /* borrowed: each task's run time */
    uint64_t ntasks;
    int nworkers;
    uint64_t overhead_us;
    struct tf__sched s;
    uint64_t read;   /* tasks read by the master */
    uint64_t handed; /* tasks handed out */
    bool eof;
    struct sim_chunk *chunks; /* owned: in the order handed out */
    size_t nchunks;
    size_t cap;
    size_t (*queue)[SIM_PREFETCH]; /* owned: [w] chunk indices held */
    int *inflight;                 /* owned */
    uint64_t *free_at;             /* owned: when w's last chunk ends */
    unsigned *seen;                /* owned: times each task went out */
    uint64_t makespan_us;
};

static void
sim_hand_out(struct sim *sim, int w, uint64_t now)
{
    uint64_t want;
    uint64_t pending;
    uint64_t n;
    uint64_t i;
    struct sim_chunk *c;

    want = tf__sched_lookahead(&sim->s);
    if (!sim->eof && sim->read - sim->handed < want) {
        sim->read = sim->handed + want;
        if (sim->read >= sim->ntasks) {
            sim->read = sim->ntasks;
            if (sim->read - sim->handed < want)
                sim->eof = true;
        }
    }
    pending = sim->read - sim->handed;
    n = tf__sched_next(&sim->s, pending, sim->eof);
    if (n < 1 || (sim->eof && n > pending))
        fail_msg("chunk of %llu with %llu pending at eof=%d",
                 (unsigned long long)n, (unsigned long long)pending,
                 (int)sim->eof);
    if (n > pending)
        n = pending;
    if (sim->nchunks == sim->cap) {
        sim->cap = sim->cap ? sim->cap * 2 : 1024;
        sim->chunks = realloc(sim->chunks, sim->cap * sizeof(*sim->chunks));
        assert_non_null(sim->chunks);
    }
    c = &sim->chunks[sim->nchunks];
    c->worker = w;
    c->first = sim->handed;
    c->n = n;
    c->busy_us = 0;
    for (i = 0; i < n; i++) {
        c->busy_us += sim->dur_us[sim->handed + i];
        sim->seen[sim->handed + i]++;
    }
    sim->handed += n;
    if (sim->free_at[w] < now)
        sim->free_at[w] = now;
    sim->free_at[w] += sim->overhead_us + c->busy_us;
    c->end_us = sim->free_at[w];
    sim->queue[w][sim->inflight[w]++] = sim->nchunks++;
}

static void
sim_refill(struct sim *sim, int w, uint64_t now)
{
    while (sim->inflight[w] < SIM_PREFETCH &&
           !(sim->eof && sim->read == sim->handed) && sim->handed < sim->ntasks)
        sim_hand_out(sim, w, now);
}

static void
sim_run(struct sim *sim, const uint64_t *dur_us, uint64_t ntasks, int nworkers,
        uint64_t fixed, uint64_t overhead_us)
{
    uint64_t i;
    int w;

    memset(sim, 0, sizeof(*sim));
    sim->dur_us = dur_us;
    sim->ntasks = ntasks;
    sim->nworkers = nworkers;
    sim->overhead_us = overhead_us;
    tf__sched_init(&sim->s, nworkers, fixed);
    sim->queue = calloc((size_t)nworkers, sizeof(*sim->queue));
    sim->inflight = calloc((size_t)nworkers, sizeof(*sim->inflight));
    sim->free_at = calloc((size_t)nworkers, sizeof(*sim->free_at));
    sim->seen = calloc(ntasks, sizeof(*sim->seen));
    assert_non_null(sim->queue);
    assert_non_null(sim->inflight);
    assert_non_null(sim->free_at);
    assert_non_null(sim->seen);
    /* Every worker says hello at time 0. */
    for (w = 0; w < nworkers; w++)
        sim_refill(sim, w, 0);
    for (;;) {
        struct sim_chunk *c;
        uint64_t now = UINT64_MAX;
        int next = -1;
        int k;

        for (w = 0; w < nworkers; w++) {
            if (sim->inflight[w] > 0 &&
                sim->chunks[sim->queue[w][0]].end_us < now) {
                now = sim->chunks[sim->queue[w][0]].end_us;
                next = w;
            }
        }
        if (next < 0)
            break;
        c = &sim->chunks[sim->queue[next][0]];
        for (k = 1; k < sim->inflight[next]; k++)
            sim->queue[next][k - 1] = sim->queue[next][k];
        sim->inflight[next]--;
        if (now > sim->makespan_us)
            sim->makespan_us = now;
        tf__sched_observe(&sim->s, c->n, c->busy_us);
        sim_refill(sim, next, now);
    }
    for (i = 0; i < ntasks; i++) {
        if (sim->seen[i] != 1)
            fail_msg("task %llu was handed out %u times", (unsigned long long)i,
                     sim->seen[i]);
    }
    assert_int_equal(sim->handed, ntasks);
}

static void
sim_free(struct sim *sim)
{
    free(sim->chunks);
    free(sim->queue);
    free(sim->inflight);
    free(sim->free_at);
    free(sim->seen);
}

/* total / workers + longest task: no schedule of these tasks in this order
 * needs to be worse. */
static uint64_t
ideal_us(const uint64_t *dur_us, uint64_t ntasks, int nworkers)
{
    uint64_t total = 0;
    uint64_t longest = 0;
    uint64_t i;

    for (i = 0; i < ntasks; i++) {
        total += dur_us[i];
        if (dur_us[i] > longest)
            longest = dur_us[i];
    }
    return total / (uint64_t)nworkers + longest;
}

/* The last chunk handed to worker W, or NULL. */
static const struct sim_chunk *
last_chunk_of(const struct sim *sim, int w)
{
    size_t i;

    for (i = sim->nchunks; i > 0; i--)
        if (sim->chunks[i - 1].worker == w)
            return &sim->chunks[i - 1];
    return NULL;
}

static uint64_t *
uniform(uint64_t ntasks, uint64_t us)
{
    uint64_t *d = malloc(ntasks * sizeof(*d));
    uint64_t i;

    assert_non_null(d);
    for (i = 0; i < ntasks; i++)
        d[i] = us;
    return d;
}

static void
test_sim_hands_out_every_task_once_for_any_policy(void **state)
{
    static const uint64_t fixed[] = {0, 1, 3, 7, 1000, 100000};
    static const int workers[] = {1, 2, 3, 4, 7, 16};
    static const uint64_t counts[] = {1, 2, 5, 99, 1000, 12345};
    uint64_t *d = malloc(12345 * sizeof(*d));
    uint64_t i;
    size_t f;
    size_t w;
    size_t c;

    (void)state;
    assert_non_null(d);
    for (i = 0; i < 12345; i++)
        d[i] = 50 + (i * 7919) % 3000;
    for (f = 0; f < 6; f++) {
        for (w = 0; w < 6; w++) {
            for (c = 0; c < 6; c++) {
                struct sim sim;

                /* sim_run checks each task went out exactly once. */
                sim_run(&sim, d, counts[c], workers[w], fixed[f], 100);
                sim_free(&sim);
            }
        }
    }
    free(d);
}

static void
test_sim_uniform_tasks_finish_within_ten_percent_of_ideal(void **state)
{
    static const int workers[] = {1, 4, 16, 64};
    const uint64_t ntasks = 100000;
    uint64_t *d = uniform(ntasks, 1000);
    size_t wi;

    (void)state;
    for (wi = 0; wi < 4; wi++) {
        struct sim sim;
        uint64_t ideal = ideal_us(d, ntasks, workers[wi]);

        sim_run(&sim, d, ntasks, workers[wi], 0, 200);
        if (sim.makespan_us * 10 > ideal * 11)
            fail_msg("%d workers: makespan %llu us, ideal %llu us", workers[wi],
                     (unsigned long long)sim.makespan_us,
                     (unsigned long long)ideal);
        /* Tighter still: a steady chunk lasts 20 ms and pays 0.2 ms of
         * overhead, 1%; the ramp and the tail may add another 1%. */
        if (sim.makespan_us * 100 > ideal * 102)
            fail_msg("%d workers: makespan %llu us is over 2%% above the "
                     "ideal %llu us",
                     workers[wi], (unsigned long long)sim.makespan_us,
                     (unsigned long long)ideal);
        sim_free(&sim);
    }
    free(d);
}

static void
test_sim_uniform_tasks_end_with_small_chunks_and_a_short_tail(void **state)
{
    static const int workers[] = {2, 4, 16};
    const uint64_t ntasks = 100000;
    uint64_t *d = uniform(ntasks, 1000);
    size_t wi;

    (void)state;
    for (wi = 0; wi < 3; wi++) {
        int nw = workers[wi];
        uint64_t first_done = UINT64_MAX;
        uint64_t largest = 0;
        struct sim sim;
        size_t i;
        int w;

        sim_run(&sim, d, ntasks, nw, 0, 200);
        for (i = 0; i < sim.nchunks; i++)
            if (sim.chunks[i].n > largest)
                largest = sim.chunks[i].n;
        /* In steady state a chunk holds target / mean = 20 tasks. */
        assert_int_equal(largest, 20);
        for (w = 0; w < nw; w++) {
            const struct sim_chunk *c = last_chunk_of(&sim, w);

            assert_non_null(c);
            /* Each worker's last chunk is a tenth of the steady size or
             * less... */
            if (c->n > 2)
                fail_msg("%d workers: worker %d ends with %llu tasks", nw, w,
                         (unsigned long long)c->n);
            if (c->end_us < first_done)
                first_done = c->end_us;
        }
        /* ... and the very last chunks hold one task. */
        assert_int_equal(sim.chunks[sim.nchunks - 1].n, 1);
        /* ... and all workers finish within a quarter of a steady chunk
         * (20 ms) of each other. */
        if (sim.makespan_us - first_done > 5000)
            fail_msg("%d workers: tail of %llu us", nw,
                     (unsigned long long)(sim.makespan_us - first_done));
        sim_free(&sim);
    }
    free(d);
}

static void
test_sim_one_long_task_costs_no_more_than_itself(void **state)
{
    static const uint64_t where[] = {0, 1, 5000, 9990, 9999};
    const uint64_t ntasks = 10000;
    size_t k;

    (void)state;
    for (k = 0; k < 5; k++) {
        uint64_t *d = uniform(ntasks, 1000);
        uint64_t ideal;
        uint64_t rest;
        struct sim sim;

        d[where[k]] = 10000000; /* 10 s among 1 ms tasks */
        ideal = ideal_us(d, ntasks, 4);
        sim_run(&sim, d, ntasks, 4, 0, 200);
        if (sim.makespan_us * 10 > ideal * 11)
            fail_msg("long task %llu: makespan %llu us, ideal %llu us",
                     (unsigned long long)where[k],
                     (unsigned long long)sim.makespan_us,
                     (unsigned long long)ideal);
        /* The others finish the 9999 short tasks (10 s of work over 3
         * workers) while the long one runs, so the run ends soon after the
         * long task, however late in the input it comes: at most the work
         * ahead of it shared over 4 workers, then the long task and what
         * else its worker holds, two steady chunks (20 tasks each), plus
         * one chunk of slack. */
        rest = where[k] * 1000 / 4 + 10000000 + 3 * (20 * 1000 + 200);
        if (sim.makespan_us > rest)
            fail_msg("long task %llu: makespan %llu us, bound %llu us",
                     (unsigned long long)where[k],
                     (unsigned long long)sim.makespan_us,
                     (unsigned long long)rest);
        sim_free(&sim);
        free(d);
    }
}

static void
test_sim_mixed_durations_finish_within_ten_percent_of_ideal(void **state)
{
    const uint64_t ntasks = 50000;
    uint64_t *d = malloc(ntasks * sizeof(*d));
    uint64_t x = 0x9e3779b97f4a7c15u;
    uint64_t i;
    int nw;

    (void)state;
    assert_non_null(d);
    /* Mostly 0.1 to 5 ms, one in a hundred 50 to 500 ms. */
    for (i = 0; i < ntasks; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        d[i] = x % 100 == 0 ? 50000 + (x >> 8) % 450000 : 100 + (x >> 8) % 4900;
    }
    for (nw = 1; nw <= 32; nw *= 2) {
        struct sim sim;
        uint64_t ideal = ideal_us(d, ntasks, nw);

        sim_run(&sim, d, ntasks, nw, 0, 200);
        if (sim.makespan_us * 10 > ideal * 11)
            fail_msg("%d workers: makespan %llu us, ideal %llu us", nw,
                     (unsigned long long)sim.makespan_us,
                     (unsigned long long)ideal);
        sim_free(&sim);
    }
    free(d);
}

static void
test_sim_bound_tells_auto_from_chunks_of_one_or_huge_chunks(void **state)
{
    const uint64_t ntasks = 100000;
    uint64_t *d = uniform(ntasks, 1000);
    uint64_t ideal = ideal_us(d, ntasks, 4);
    struct sim sim;

    (void)state;
    /* The simulated overhead matters: one task a chunk pays it per task. */
    sim_run(&sim, d, ntasks, 4, 1, 200);
    assert_true(sim.makespan_us * 10 > ideal * 11);
    sim_free(&sim);
    /* Huge fixed chunks leave workers idle at the end: 10 chunks of 10 s
     * over 4 workers take three rounds. */
    sim_run(&sim, d, ntasks, 4, 10000, 200);
    assert_true(sim.makespan_us * 10 > ideal * 11);
    sim_free(&sim);
    sim_run(&sim, d, ntasks, 4, 0, 200);
    assert_true(sim.makespan_us * 10 <= ideal * 11);
    sim_free(&sim);
    free(d);
}

static void
test_prefetch_is_one_chunk_before_any_measurement(void **state)
{
    struct tf__sched s;

    (void)state;
    tf__sched_init(&s, 4, 0);
    assert_int_equal(tf__sched_prefetch(&s), 1);
}

static void
test_prefetch_is_two_chunks_for_short_tasks(void **state)
{
    struct tf__sched s;

    (void)state;
    tf__sched_init(&s, 4, 0);
    tf__sched_observe(&s, 100, 100 * 1000); /* 1 ms each */
    assert_int_equal(tf__sched_prefetch(&s), 2);
}

static void
test_prefetch_is_one_chunk_for_tasks_of_a_second_or_more(void **state)
{
    struct tf__sched s;

    (void)state;
    tf__sched_init(&s, 4, 0);
    tf__sched_observe(&s, 3, 3 * TF__SCHED_PREFETCH_BELOW_US);
    assert_int_equal(tf__sched_prefetch(&s), 1);
    tf__sched_init(&s, 4, 0);
    tf__sched_observe(&s, 3, 3 * TF__SCHED_PREFETCH_BELOW_US - 3);
    assert_int_equal(tf__sched_prefetch(&s), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefetch_is_one_chunk_before_any_measurement),
        cmocka_unit_test(test_prefetch_is_two_chunks_for_short_tasks),
        cmocka_unit_test(
            test_prefetch_is_one_chunk_for_tasks_of_a_second_or_more),
        cmocka_unit_test(
            test_fixed_mode_gives_the_fixed_size_whatever_was_observed),
        cmocka_unit_test(test_fixed_mode_at_eof_gives_at_most_what_is_pending),
        cmocka_unit_test(
            test_auto_mode_starts_with_chunks_of_one_until_it_has_measured),
        cmocka_unit_test(test_auto_mode_doubles_at_most_from_chunk_to_chunk),
        cmocka_unit_test(test_auto_mode_lengthens_chunks_for_many_workers),
        cmocka_unit_test(
            test_auto_mode_small_eof_chunks_do_not_unlock_faster_growth),
        cmocka_unit_test(test_auto_mode_aims_at_target_over_mean_task_time),
        cmocka_unit_test(test_auto_mode_uses_the_mean_over_all_observations),
        cmocka_unit_test(test_auto_mode_caps_at_max_chunk),
        cmocka_unit_test(test_auto_mode_at_eof_is_guided_and_never_zero),
        cmocka_unit_test(test_auto_mode_at_eof_still_limits_by_the_mean),
        cmocka_unit_test(test_next_is_never_zero_even_with_nothing_pending),
        cmocka_unit_test(test_init_treats_fewer_than_one_worker_as_one),
        cmocka_unit_test(test_lookahead_covers_two_chunks_per_worker),
        cmocka_unit_test(test_sim_hands_out_every_task_once_for_any_policy),
        cmocka_unit_test(
            test_sim_uniform_tasks_finish_within_ten_percent_of_ideal),
        cmocka_unit_test(
            test_sim_uniform_tasks_end_with_small_chunks_and_a_short_tail),
        cmocka_unit_test(test_sim_one_long_task_costs_no_more_than_itself),
        cmocka_unit_test(
            test_sim_mixed_durations_finish_within_ten_percent_of_ideal),
        cmocka_unit_test(
            test_sim_bound_tells_auto_from_chunks_of_one_or_huge_chunks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
