/* test_job_pi.c - unit tests of the pi job: exact, reproducible hit counts
 * from every clone of its kernel, the same total for any pool, and the
 * checks on options, payloads and results */
#include "tf_test.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "pi.h"

/* ------------------------------------------------ an independent reference */

/* The stream definition of pi.c written again, one sample at a time, so
 * that a change to the streams (which would change every published result)
 * fails here. */
static uint64_t
ref_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

struct ref_gen {
    uint64_t s[4];
};

static void
ref_seed(struct ref_gen *g, uint64_t seed, uint64_t index, unsigned lane)
{
    uint64_t x = seed;
    int w;

    x = ref_splitmix(&x) ^ index;
    x = ref_splitmix(&x) ^ lane;
    for (w = 0; w < 4; w++)
        g->s[w] = ref_splitmix(&x);
}

/* xoshiro256+ */
static uint64_t
ref_next(struct ref_gen *g)
{
    uint64_t r = g->s[0] + g->s[3];
    uint64_t t = g->s[1] << 17;

    g->s[2] ^= g->s[0];
    g->s[3] ^= g->s[1];
    g->s[1] ^= g->s[2];
    g->s[0] ^= g->s[3];
    g->s[2] ^= t;
    g->s[3] = (g->s[3] << 45) | (g->s[3] >> 19);
    return r;
}

static int
ref_inside(uint64_t r)
{
    uint64_t x = r >> 33;
    uint64_t y = (r >> 2) & 0x7fffffff;

    return x * x + y * y < (uint64_t)1 << 62;
}

/* Hits among samples [FROM, TO) of task INDEX: sample j is the (j / 16)-th
 * output of lane j % 16. */
static uint64_t
ref_hits_range(uint64_t seed, uint64_t index, uint64_t from, uint64_t to)
{
    struct ref_gen g[16];
    uint64_t hits = 0;
    uint64_t j;
    unsigned l;

    for (l = 0; l < 16; l++)
        ref_seed(&g[l], seed, index, l);
    for (j = 0; j < to; j++) {
        uint64_t r = ref_next(&g[j % 16]);

        if (j >= from)
            hits += (uint64_t)ref_inside(r);
    }
    return hits;
}

/* ------------------------------------------------------------- helpers */

/* The library's init with --samples SAMPLES and, unless NULL, --seed SEED
 * and --task-samples T; returns its code and leaves *STATE or ERR. */
static int
init_with(const char *samples, const char *seed, const char *t, void **state,
          struct tf_error *err)
{
    struct tf_opts opts;
    int rc = 0;

    /* As the command line is read: each value checked by the option's
     * table, then the job's init. */
    tf__opts_init(&opts);
    tf_error_init(err);
    *state = NULL;
    if (samples != NULL)
        rc = tf__opts_add(&opts, tf_job_pi.options, "samples", samples, err);
    if (rc == 0 && seed != NULL)
        rc = tf__opts_add(&opts, tf_job_pi.options, "seed", seed, err);
    if (rc == 0 && t != NULL)
        rc = tf__opts_add(&opts, tf_job_pi.options, "task-samples", t, err);
    if (rc < 0)
        return rc;
    return tf_job_pi.init(state, &opts, err);
}

/* Runs the library's task function on the payload (INDEX, COUNT) and
 * returns the hits, checking the result's form. */
static uint64_t
lib_hits(uint64_t seed, uint64_t index, uint64_t count)
{
    struct tf_error err;
    struct tf_result res;
    struct tf_task task;
    unsigned char p[16];
    char seedtext[32];
    void *state;
    uint64_t hits;

    snprintf(seedtext, sizeof(seedtext), "%" PRIu64, seed);
    assert_int_equal(init_with("1", seedtext, NULL, &state, &err), 0);
    tf_store_u64(p, index);
    tf_store_u64(p + 8, count);
    memset(&task, 0, sizeof(task));
    task.id = index + 1;
    task.data = p;
    task.len = sizeof(p);
    memset(&res, 0, sizeof(res));
    tf_buf_init(&res.out, 0);
    tf_buf_init(&res.err, 0);
    assert_int_equal(tf_job_pi.run(state, &task, &res), 0);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.out.len, 16);
    hits = tf_load_u64(res.out.data);
    assert_true(tf_load_u64(res.out.data + 8) == count);
    assert_true(hits <= count);
    tf_buf_cleanup(&res.out);
    tf_buf_cleanup(&res.err);
    tf_job_pi.fini(state);
    return hits;
}

/* ---------------------------------------------------------- the kernel */

static void
test_hits_are_reproducible(void **state)
{
    (void)state;
    assert_true(lib_hits(1, 0, 1000000) == lib_hits(1, 0, 1000000));
    assert_true(lib_hits(7, 12345, 999999) == lib_hits(7, 12345, 999999));
}

static void
test_hits_match_the_reference_streams(void **state)
{
    static const uint64_t counts[] = {0,  1,  2,  15,   16,
                                      17, 31, 33, 1000, 65536 + 5};
    static const uint64_t seeds[] = {0, 1, 0xdeadbeefcafef00du};
    static const uint64_t indices[] = {0, 1, 1000003, (uint64_t)1 << 40};
    size_t c, s, i;

    (void)state;
    for (s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
        for (i = 0; i < sizeof(indices) / sizeof(indices[0]); i++)
            for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
                assert_true(lib_hits(seeds[s], indices[i], counts[c]) ==
                            ref_hits_range(seeds[s], indices[i], 0, counts[c]));
}

static void
test_streams_differ_by_seed_index_and_lane(void **state)
{
    static const uint64_t seeds[] = {0, 1, 2};
    static const uint64_t indices[] = {0, 1, 2, (uint64_t)1 << 40};
    uint64_t first[3 * 4 * 16];
    struct pi__lanes st;
    size_t n = 0, a, b, s, i;
    int l;

    (void)state;
    for (s = 0; s < 3; s++) {
        for (i = 0; i < 4; i++) {
            pi__seed(&st, seeds[s], indices[i]);
            for (l = 0; l < PI__LANES; l++)
                first[n++] = st.s[0][l];
        }
    }
    for (a = 0; a < n; a++)
        for (b = a + 1; b < n; b++)
            assert_true(first[a] != first[b]);
    /* and so do the counts (fixed cases, so this cannot flip) */
    assert_true(lib_hits(1, 0, 1000000) != lib_hits(2, 0, 1000000));
    assert_true(lib_hits(1, 0, 1000000) != lib_hits(1, 1, 1000000));
}

/*
 * What the design promises: sample j of a task is fixed by (seed, index,
 * j), so a task's count is the sum of its parts along its own stream; the
 * count of a longer task extends that of a shorter one by 0 or 1 per
 * sample.
 */
static void
test_a_task_is_the_sum_of_its_parts_along_its_stream(void **state)
{
    uint64_t k, n, prev;

    (void)state;
    for (k = 1; k <= 100003; k = k * 3 + 1) {
        uint64_t whole = lib_hits(5, 9, 2 * k);

        assert_true(whole ==
                    lib_hits(5, 9, k) + ref_hits_range(5, 9, k, 2 * k));
    }
    prev = 0;
    for (n = 1; n <= 200; n++) {
        uint64_t h = lib_hits(3, 4, n);

        assert_true(h == prev || h == prev + 1);
        prev = h;
    }
}

/*
 * What it does not promise: two tasks of k samples are other streams than
 * one task of 2k, so --task-samples, like --seed, is part of the
 * experiment (a fixed case).
 */
static void
test_task_size_is_part_of_the_experiment(void **state)
{
    uint64_t k = 50000;

    (void)state;
    assert_true(lib_hits(1, 0, 2 * k) != lib_hits(1, 0, k) + lib_hits(1, 1, k));
}

static void
test_hits_are_statistically_sane(void **state)
{
    const double n = 1e7;
    const double p = M_PI / 4;
    const double sigma = sqrt(p * (1 - p) / n);
    uint64_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        double f = (double)lib_hits(1 + i, i, (uint64_t)n) / n;

        assert_true(fabs(f - p) < 6 * sigma);
    }
}

/* The clone of the kernel gcc made for TARGET; the test is skipped when
 * this build has none by that name. */
static const struct pi__kernel *
clone_for(const char *target)
{
    const struct pi__kernel *k;

    for (k = pi__kernels; k->target != NULL; k++)
        if (strcmp(k->target, target) == 0)
            return k;
    print_message("no %s clone of the kernel in this build\n", target);
    skip();
    return NULL;
}

/* Runs CLONE for STEPS from the lanes of (SEED, INDEX) and checks that it
 * gives the reference's misses and leaves the lanes where the default
 * clone leaves them. */
static void
check_clone(const struct pi__kernel *clone, uint64_t seed, uint64_t index,
            uint64_t steps)
{
    struct pi__lanes a, b;
    uint64_t want = 16 * steps - ref_hits_range(seed, index, 0, 16 * steps);

    pi__seed(&a, seed, index);
    b = a;
    assert_true(clone->misses(&a, steps) == want);
    assert_true(clone_for("default")->misses(&b, steps) == want);
    assert_memory_equal(&a, &b, sizeof(a));
}

static void
check_all_steps(const struct pi__kernel *clone)
{
    static const uint64_t steps[] = {0, 1, 2, 3, 7, 64, 1001, 40000};
    size_t i;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        check_clone(clone, 1, 0, steps[i]);
        check_clone(clone, 0xfedcba9876543210u, 77, steps[i]);
    }
}

static void
test_default_clone_matches_the_reference(void **state)
{
    (void)state;
    check_all_steps(clone_for("default"));
}

/* The x86-64 clones: where there are none (another CPU, another compiler),
 * clone_for() skips the test before the CPU is asked. */
static void
test_avx2_clone_matches_the_reference(void **state)
{
    const struct pi__kernel *clone;

    (void)state;
    clone = clone_for("avx2");
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2"))
        skip();
#endif
    check_all_steps(clone);
}

static void
test_avx512f_clone_matches_the_reference(void **state)
{
    const struct pi__kernel *clone;

    (void)state;
    clone = clone_for("avx512f");
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        print_message("no AVX-512 on this CPU: its clone is not run\n");
        skip();
    }
#endif
    check_all_steps(clone);
}

/* ------------------------------------------------ the whole job in a pool */

/* Runs the library's master over the loop transport with NWORKERS and
 * CHUNK and returns its first output line (the result) in LINE. */
static void
run_master(void *st, int nworkers, uint64_t chunk, char *line, size_t size)
{
    struct tf_config cfg;
    struct tf_error err;
    struct tf_pool *pool;
    struct tf_job_io io;

    tf_config_init(&cfg);
    cfg.backend = "loop";
    cfg.nworkers = nworkers;
    cfg.chunksize = chunk;
    tf_error_init(&err);
    assert_int_equal(tf_init(&cfg, &pool, &err), 0);
    /* The job writes where it is told, not to standard output. */
    io.out = tmpfile();
    assert_non_null(io.out);
    assert_int_equal(tf_job_pi.master(st, pool, &io, &err), 0);
    assert_int_equal(tf_finalize(pool, &err), 0);
    rewind(io.out);
    assert_non_null(fgets(line, (int)size, io.out));
    fclose(io.out);
}

static void
test_total_is_the_same_for_any_pool(void **state)
{
    /* 3,000,001 samples in tasks of 100,003: 30 tasks, the last short */
    static const int nworkers[] = {1, 2, 3, 4};
    static const uint64_t chunks[] = {0, 1, 7, 0};
    const uint64_t n = 3000001, t = 100003;
    char want[256], got[256];
    uint64_t hits = 0, i;
    void *st;
    struct tf_error err;
    size_t k;

    (void)state;
    assert_int_equal(init_with("3000001", "11", "100003", &st, &err), 0);
    assert_int_equal(tf_register(tf_job_pi.name, tf_job_pi.run, st), 0);
    /* the tasks one by one, last first: the order of a sum does not matter */
    for (i = (n - 1) / t + 1; i-- > 0;)
        hits += lib_hits(11, i, n - i * t < t ? n - i * t : t);
    snprintf(want, sizeof(want),
             "pi = %.12f  stderr = %.1e  samples = %" PRIu64 "  hits = %" PRIu64
             "\n",
             4.0 * (double)hits / (double)n,
             4.0 * sqrt((double)hits / (double)n *
                        (1 - (double)hits / (double)n) / (double)n),
             n, hits);
    for (k = 0; k < sizeof(nworkers) / sizeof(nworkers[0]); k++) {
        run_master(st, nworkers[k], chunks[k], got, sizeof(got));
        assert_string_equal(got, want);
    }
    tf_job_pi.fini(st);
}

/* ------------------------------------------------------ payloads, results */

static void
test_task_payload_is_explicit_little_endian(void **state)
{
    struct pi__state st;
    struct tf_buf task;

    (void)state;
    memset(&st, 0, sizeof(st));
    st.samples = 0x0102030405060708u + 5;
    st.task_samples = 0x0102030405060708u;
    st.ntasks = 2;
    tf_buf_init(&task, 0);
    assert_int_equal(pi__next(&st, 0, &task), 1);
    assert_int_equal(task.len, 16);
    assert_memory_equal(task.data,
                        "\0\0\0\0\0\0\0\0\x08\x07\x06\x05\x04\x03\x02\x01", 16);
    tf_buf_reset(&task);
    assert_int_equal(pi__next(&st, 1, &task), 1);
    assert_memory_equal(task.data, "\x01\0\0\0\0\0\0\0\x05\0\0\0\0\0\0\0", 16);
    tf_buf_reset(&task);
    assert_int_equal(pi__next(&st, 2, &task), 0);
    assert_int_equal(task.len, 0);
    tf_buf_cleanup(&task);
}

/* run() on a payload of LEN bytes (index 0, COUNT) must fail with
 * TF_EINPUT and say why. */
static void
check_bad_payload(size_t len, uint64_t count)
{
    unsigned char p[40];
    struct tf_error err;
    struct tf_result res;
    struct tf_task task;
    void *st;

    memset(p, 0, sizeof(p));
    tf_store_u64(p + 8, count);
    assert_int_equal(init_with("100", NULL, NULL, &st, &err), 0);
    memset(&task, 0, sizeof(task));
    task.id = 1;
    task.data = p;
    task.len = len;
    memset(&res, 0, sizeof(res));
    tf_buf_init(&res.out, 0);
    tf_buf_init(&res.err, 0);
    assert_int_equal(tf_job_pi.run(st, &task, &res), TF_EINPUT);
    assert_int_equal(res.out.len, 0);
    assert_non_null(res.err.data);
    assert_non_null(strstr((char *)res.err.data, "pi: task 1 "));
    tf_buf_cleanup(&res.out);
    tf_buf_cleanup(&res.err);
    tf_job_pi.fini(st);
}

static void
test_run_rejects_a_malformed_payload(void **state)
{
    (void)state;
    check_bad_payload(0, 10);
    check_bad_payload(8, 10);
    check_bad_payload(15, 10);
    check_bad_payload(17, 10);
    check_bad_payload(32, 10);
    check_bad_payload(16, ((uint64_t)1 << 62) + 1);
    check_bad_payload(16, UINT64_MAX);
}

/* done() with a result of LEN bytes holding (HITS, COUNT) for task INDEX
 * of a job of 100 samples in tasks of 30. */
static int
done_with(uint64_t index, size_t len, uint64_t hits, uint64_t count,
          struct pi__state *st)
{
    unsigned char p[32];
    struct tf_result res;

    memset(st, 0, sizeof(*st));
    st->samples = 100;
    st->task_samples = 30;
    st->ntasks = 4;
    memset(p, 0, sizeof(p));
    tf_store_u64(p, hits);
    tf_store_u64(p + 8, count);
    memset(&res, 0, sizeof(res));
    res.out.data = p;
    res.out.len = len;
    return pi__done(st, index, &res);
}

static void
test_done_checks_each_result(void **state)
{
    struct pi__state st;

    (void)state;
    assert_int_equal(done_with(3, 16, 8, 10, &st), 0);
    assert_true(st.hits == 8 && st.samples_done == 10);
    assert_int_equal(done_with(0, 16, 30, 30, &st), 0);
    assert_int_equal(done_with(0, 8, 20, 30, &st), TF_EPROTO);
    assert_non_null(strstr(st.why, "8 bytes"));
    assert_int_equal(done_with(0, 24, 20, 30, &st), TF_EPROTO);
    assert_int_equal(done_with(3, 16, 8, 30, &st), TF_EPROTO); /* not 10 */
    assert_int_equal(done_with(0, 16, 31, 30, &st), TF_EPROTO);
    assert_int_equal(done_with(4, 16, 0, 0, &st), TF_EPROTO); /* no task 4 */
    assert_true(st.hits == 0 && st.samples_done == 0);
}

/* ------------------------------------------------------------- options */

static void
check_bad_option(const char *samples, const char *seed, const char *t,
                 const char *name)
{
    struct tf_error err;
    void *st;

    assert_int_equal(init_with(samples, seed, t, &st, &err), TF_EUSAGE);
    assert_null(st);
    assert_non_null(strstr(err.msg, name));
    assert_null(strchr(err.msg, '\n'));
}

static void
test_options_reject_bad_numbers(void **state)
{
    static const char *const bad[] = {"-5",
                                      "0",
                                      "abc",
                                      "1.5",
                                      "1e30",
                                      "",
                                      " 5",
                                      "5 ",
                                      "1e",
                                      "e9",
                                      ".",
                                      "0x10",
                                      "1e-3",
                                      "2.25e1",
                                      "1500e-3",
                                      "-0",
                                      "0.0",
                                      "1..5",
                                      "1e9.5",
                                      "4611686018427387905",
                                      "18446744073709551616",
                                      "99999999999999999999999",
                                      "1e99999999999",
                                      NULL};
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        check_bad_option(bad[i], NULL, NULL, "--samples");
        check_bad_option("100", NULL, bad[i], "--task-samples");
    }
    check_bad_option(NULL, NULL, NULL, "--samples");
    check_bad_option("100", "abc", NULL, "--seed");
    check_bad_option("100", "-1", NULL, "--seed");
    check_bad_option("100", "18446744073709551616", NULL, "--seed");
}

static void
test_options_accept_whole_numbers(void **state)
{
    static const struct {
        const char *text;
        uint64_t value;
    } good[] = {
        {"1", 1},
        {"1e12", 1000000000000u},
        {"2.5e9", 2500000000u},
        {"2.5E9", 2500000000u},
        {"1e+3", 1000},
        {"15000e-3", 15},
        {"007", 7},
        {"3.", 3},
        {"0.5e1", 5},
        {"4611686018427387904", (uint64_t)1 << 62},
        {"4.611686018427387904e18", (uint64_t)1 << 62},
    };
    struct tf_error err;
    struct pi__state *st;
    void *p;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(init_with(good[i].text, NULL, NULL, &p, &err), 0);
        st = p;
        assert_true(st->samples == good[i].value);
        assert_true(st->seed == 1);
        assert_true(st->task_samples == (uint64_t)1 << 26);
        assert_false(st->kernel_only);
        tf_job_pi.fini(p);
    }
    assert_int_equal(init_with("1e9", "18446744073709551615", "1e6", &p, &err),
                     0);
    st = p;
    assert_true(st->seed == UINT64_MAX);
    assert_true(st->task_samples == 1000000);
    assert_true(st->ntasks == 1000);
    tf_job_pi.fini(p);
    assert_int_equal(init_with("1000001", "0", "1e6", &p, &err), 0);
    st = p;
    assert_true(st->seed == 0 && st->ntasks == 2);
    tf_job_pi.fini(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits_are_reproducible),
        cmocka_unit_test(test_hits_match_the_reference_streams),
        cmocka_unit_test(test_streams_differ_by_seed_index_and_lane),
        cmocka_unit_test(test_a_task_is_the_sum_of_its_parts_along_its_stream),
        cmocka_unit_test(test_task_size_is_part_of_the_experiment),
        cmocka_unit_test(test_hits_are_statistically_sane),
        cmocka_unit_test(test_default_clone_matches_the_reference),
        cmocka_unit_test(test_avx2_clone_matches_the_reference),
        cmocka_unit_test(test_avx512f_clone_matches_the_reference),
        cmocka_unit_test(test_total_is_the_same_for_any_pool),
        cmocka_unit_test(test_task_payload_is_explicit_little_endian),
        cmocka_unit_test(test_run_rejects_a_malformed_payload),
        cmocka_unit_test(test_done_checks_each_result),
        cmocka_unit_test(test_options_reject_bad_numbers),
        cmocka_unit_test(test_options_accept_whole_numbers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
