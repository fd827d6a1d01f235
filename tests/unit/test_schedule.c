/* test_schedule.c - unit tests of the chunk policy (test_dispatch.c runs it
 * on simulated farms, through the dispatcher) */
#include <stdbool.h>
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
