/* test_util.c - unit tests of the edit distance and checked number parsing */
#include <stdint.h>
#include <stdlib.h>

#include "tf_test.h"
#include "util.h"

static void
test_edit_distance_of_equal_strings_is_zero(void **state)
{
    (void)state;
    assert_int_equal(tf__edit_distance("", ""), 0);
    assert_int_equal(tf__edit_distance("unordered", "unordered"), 0);
}

static void
test_edit_distance_to_empty_is_length(void **state)
{
    (void)state;
    assert_int_equal(tf__edit_distance("", "run"), 3);
    assert_int_equal(tf__edit_distance("linkcheck", ""), 9);
}

static void
test_edit_distance_counts_one_edit_of_each_kind(void **state)
{
    (void)state;
    assert_int_equal(tf__edit_distance("unorderd", "unordered"), 1); /* ins */
    assert_int_equal(tf__edit_distance("jobss", "jobs"), 1);         /* del */
    assert_int_equal(tf__edit_distance("tug", "tag"), 1);            /* sub */
    assert_int_equal(tf__edit_distance("rnu", "run"), 1);            /* swap */
    assert_int_equal(tf__edit_distance("reuslts", "results"), 1);
}

static void
test_edit_distance_adds_up_separate_edits(void **state)
{
    (void)state;
    assert_int_equal(tf__edit_distance("kitten", "sitting"), 3);
    assert_int_equal(tf__edit_distance("pi", "run"), 3);
    assert_int_equal(tf__edit_distance("tepmlaet", "template"), 2);
    assert_int_equal(tf__edit_distance("dead-onyl", "dead-only"), 1);
}

/* The restricted form edits no part twice: "ca" to "abc" is 3, where the
 * unrestricted Damerau-Levenshtein distance is 2 (swap, then insert). */
static void
test_edit_distance_edits_no_substring_twice(void **state)
{
    (void)state;
    assert_int_equal(tf__edit_distance("ca", "abc"), 3);
}

static void
test_edit_distance_is_symmetric_and_case_sensitive(void **state)
{
    static const char *const words[] = {"",          "j",       "jobs",
                                        "backend",   "Backend", "bakcend",
                                        "unordered", "order",   NULL};
    size_t i, j;

    (void)state;
    for (i = 0; words[i] != NULL; i++)
        for (j = 0; words[j] != NULL; j++)
            assert_int_equal(tf__edit_distance(words[i], words[j]),
                             tf__edit_distance(words[j], words[i]));
    assert_int_equal(tf__edit_distance("Backend", "backend"), 1);
}

/* Strings longer than any name: the rows are allocated, not fixed. */
static void
test_edit_distance_of_long_strings(void **state)
{
    size_t n = 2000;
    char *a = malloc(n + 1);
    char *b = malloc(n + 2);

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    memset(a, 'x', n);
    a[n] = '\0';
    memset(b, 'x', n + 1);
    b[n + 1] = '\0';
    b[0] = 'z';
    b[n / 2] = 'y';
    assert_int_equal(tf__edit_distance(a, b), 2); /* one sub, one insert */
    assert_int_equal(tf__edit_distance("", b), n + 1);
    free(a);
    free(b);
}

/* TEXT read as TYPE in [MIN, MAX] gives WANT. */
static void
number_is(const char *text, int type, uint64_t min, uint64_t max,
          uint64_t want)
{
    struct tf_error err;
    uint64_t v = 42;

    tf_error_init(&err);
    if (tf_parse_number(text, type, min, max, "--x", &v, &err) != 0)
        fail_msg("'%s': %s", text, err.msg);
    if (v != want)
        fail_msg("'%s': %llu, not %llu", text, (unsigned long long)v,
                 (unsigned long long)want);
}

/* TEXT read as TYPE in [MIN, MAX] is refused with message MSG. */
static void
number_refused(const char *text, int type, uint64_t min, uint64_t max,
               const char *msg)
{
    struct tf_error err;
    uint64_t v = 42;

    tf_error_init(&err);
    assert_int_equal(tf_parse_number(text, type, min, max, "--x", &v, &err),
                     TF_EUSAGE);
    assert_string_equal(err.msg, msg);
    assert_int_equal(v, 42); /* never written on failure */
}

static void
test_whole_numbers_take_exponents_and_si_suffixes(void **state)
{
    (void)state;
    number_is("0", TF_OPT_INT, 0, 0, 0);
    number_is("8", TF_OPT_INT, 1, 8, 8);
    number_is("1e12", TF_OPT_INT, 1, 0, 1000000000000u);
    number_is("1E6", TF_OPT_INT, 1, 0, 1000000);
    number_is("2.5e3", TF_OPT_INT, 1, 0, 2500);
    number_is("1.5k", TF_OPT_INT, 1, 0, 1500);
    number_is("10k", TF_OPT_INT, 1, 0, 10000);
    number_is("4M", TF_OPT_INT, 1, 0, 4000000);
    number_is("2G", TF_OPT_INT, 1, 0, 2000000000u);
    number_is("3T", TF_OPT_INT, 1, 0, 3000000000000u);
    number_is("1E", TF_OPT_INT, 1, 0, 1000000000000000000u);
    number_is("12000e-3", TF_OPT_INT, 1, 0, 12);
    number_is("0.001k", TF_OPT_INT, 1, 0, 1);
    number_is("007", TF_OPT_INT, 1, 0, 7);
    number_is("18446744073709551615", TF_OPT_INT, 0, 0, UINT64_MAX);
    /* Digits past 19 count as powers of ten. */
    number_is("100000000000000000000e-2", TF_OPT_INT, 0, 0,
              1000000000000000000u);
}

static void
test_sizes_take_binary_suffixes_and_a_b(void **state)
{
    (void)state;
    number_is("4096", TF_OPT_SIZE, 1, 0, 4096);
    number_is("64k", TF_OPT_SIZE, 1, 0, 65536);
    number_is("64K", TF_OPT_SIZE, 1, 0, 65536);
    number_is("10M", TF_OPT_SIZE, 1, 0, 10u << 20);
    number_is("10MiB", TF_OPT_SIZE, 1, 0, 10u << 20);
    number_is("10MB", TF_OPT_SIZE, 1, 0, 10u << 20);
    number_is("1.5G", TF_OPT_SIZE, 1, 0, (uint64_t)3 << 29);
    number_is("100B", TF_OPT_SIZE, 1, 0, 100);
    number_is("1e3", TF_OPT_SIZE, 1, 0, 1000);
    /* B and iB belong to sizes. */
    number_refused("10MB", TF_OPT_INT, 1, 0,
                   "--x: '10MB' is not a whole number (like 250, 1e6 or "
                   "10k)");
    number_refused("10iB", TF_OPT_SIZE, 1, 0,
                   "--x: '10iB' is not a size (like 4096, 64k, 10MiB or "
                   "1.5G)");
}

static void
test_durations_take_units_and_decimals(void **state)
{
    (void)state;
    number_is("30", TF_OPT_DURATION, 0, 0, 30000000);
    number_is("1.5", TF_OPT_DURATION, 0, 0, 1500000);
    number_is("1e-3", TF_OPT_DURATION, 0, 0, 1000);
    number_is("250ms", TF_OPT_DURATION, 0, 0, 250000);
    number_is("7us", TF_OPT_DURATION, 0, 0, 7);
    number_is("30s", TF_OPT_DURATION, 0, 0, 30000000);
    number_is("5m", TF_OPT_DURATION, 0, 0, 300000000);
    number_is("2h", TF_OPT_DURATION, 0, 0, 7200000000u);
    number_is("1d", TF_OPT_DURATION, 0, 0, 86400000000u);
    number_is(".5s", TF_OPT_DURATION, 0, 0, 500000);
    number_refused("0.5ms", TF_OPT_DURATION, 1000, 0,
                   "--x: 0.5ms is out of range (1ms or more)");
    number_refused("2y", TF_OPT_DURATION, 0, 0,
                   "--x: '2y' is not a duration (like 30, 1.5s, 250ms, 5m, "
                   "2h or 1d)");
    number_refused("400d", TF_OPT_DURATION, 1000, 366 * 86400000000u,
                   "--x: 400d is out of range (1ms to 366d)");
}

static void
test_numbers_refuse_signs_blanks_fractions_overflow_and_range(void **state)
{
    static const char *const bad[] = {
        "",    "-1",  "+1",  " 1", "1 ",  "1x",   "0x10", "1.5",
        "1e",  "e3",  ".",   "1kk", "1k ", "nan", "inf",  "1.0001k",
        "1e-1", NULL};
    struct tf_error err;
    uint64_t v = 42;
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        tf_error_init(&err);
        if (tf_parse_number(bad[i], TF_OPT_INT, 0, 0, "-j", &v, &err) !=
            TF_EUSAGE)
            fail_msg("'%s' was taken as %llu", bad[i], (unsigned long long)v);
        assert_non_null(strstr(err.msg, "-j: "));
    }
    assert_int_equal(v, 42);
    number_refused("18446744073709551616", TF_OPT_INT, 0, 0,
                   "--x: 18446744073709551616 is out of range (0 or more)");
    number_refused("20E", TF_OPT_INT, 0, 0,
                   "--x: 20E is out of range (0 or more)");
    number_refused("16E", TF_OPT_SIZE, 0, 0,
                   "--x: 16E is out of range (0 or more)");
    number_refused("9", TF_OPT_INT, 1, 8, "--x: 9 is out of range (1 to 8)");
    number_refused("0", TF_OPT_INT, 1, 8, "--x: 0 is out of range (1 to 8)");
    number_refused("2k", TF_OPT_INT, 1, 1000,
                   "--x: 2k is out of range (1 to 1000)");
    number_refused("", TF_OPT_INT, 1, 8,
                   "--x: missing value: give a whole number (like 250, 1e6 "
                   "or 10k)");
}

static void
test_option_check_reads_its_table_entry(void **state)
{
    static const struct tf_option n = {"samples", 0, "N", "samples",
                                       TF_OPT_INT, 1, 1000000000000000u,
                                       NULL};
    static const struct tf_option mode = {"mode", 0, "a|b|c", "the mode",
                                          TF_OPT_CHOICE, 0, 0, "fast|slow|"
                                                               "exact"};
    static const struct tf_option text = {"name", 0, "NAME", "a name", 0, 0,
                                          0, NULL};
    struct tf_error err;
    uint64_t v = 7;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf_option_check(&n, "1e12", &v, &err), 0);
    assert_true(v == 1000000000000u);
    assert_int_equal(tf_option_check(&n, "0", &v, &err), TF_EUSAGE);
    assert_string_equal(err.msg,
                        "--samples: 0 is out of range (1 to "
                        "1000000000000000)");
    assert_int_equal(tf_option_check(&mode, "slow", &v, &err), 0);
    assert_int_equal(tf_option_check(&mode, "slo", &v, &err), TF_EUSAGE);
    assert_string_equal(err.msg, "--mode: 'slo' is not fast, slow or exact");
    assert_int_equal(tf_option_check(&text, "anything 1x", &v, &err), 0);
    assert_int_equal(v, 0);
}

/* Parses S (a span without its NUL) with NEG_OK; *OUT as the helper leaves
 * it. */
static bool
parse_i64(const char *s, bool neg_ok, int64_t *out)
{
    return tf__parse_i64_span(s, s + strlen(s), neg_ok, out);
}

static void
test_parse_i64_span_reads_a_span_and_a_sign_when_allowed(void **state)
{
    const char *line = "12\t-7\t";
    int64_t v = 0;

    (void)state;
    assert_true(tf__parse_i64_span(line, line + 2, false, &v));
    assert_int_equal(v, 12);
    assert_true(tf__parse_i64_span(line + 3, line + 5, true, &v));
    assert_int_equal(v, -7);
    assert_true(parse_i64("0", false, &v));
    assert_int_equal(v, 0);
    assert_true(parse_i64("9223372036854775799", false, &v));
    assert_true(v == INT64_MAX - 8);
    assert_true(parse_i64("-9223372036854775799", true, &v));
    assert_true(v == -INT64_MAX + 8);
}

static void
test_parse_i64_span_rejects_empty_blanks_text_and_overflow(void **state)
{
    static const char *const bad[] = {
        "", "-", "+1", " 1", "1 ", "1x", "--1", "9223372036854775800", NULL};
    int64_t v = 42;
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++)
        assert_false(parse_i64(bad[i], true, &v));
    assert_false(parse_i64("-1", false, &v));
    assert_int_equal(v, 42); /* never written on failure */
}

static void
test_bytes_for_people_keep_three_digits_and_binary_units(void **state)
{
    char b[16];

    (void)state;
    assert_string_equal(tf__fmt_bytes(b, sizeof(b), 0), "0 B");
    assert_string_equal(tf__fmt_bytes(b, sizeof(b), 1023), "1023 B");
    assert_string_equal(tf__fmt_bytes(b, sizeof(b), 1024), "1.00 KiB");
    assert_string_equal(tf__fmt_bytes(b, sizeof(b), 4161536), "3.97 MiB");
    assert_string_equal(tf__fmt_bytes(b, sizeof(b), 209715200), "200 MiB");
    assert_string_equal(tf__fmt_bytes(b, sizeof(b), 52428800), "50.0 MiB");
    assert_string_equal(tf__fmt_bytes(b, sizeof(b), (uint64_t)3 << 30),
                        "3.00 GiB");
    assert_string_equal(tf__fmt_bytes(b, sizeof(b), UINT64_MAX), "16.0 EiB");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_distance_of_equal_strings_is_zero),
        cmocka_unit_test(test_edit_distance_to_empty_is_length),
        cmocka_unit_test(test_edit_distance_counts_one_edit_of_each_kind),
        cmocka_unit_test(test_edit_distance_adds_up_separate_edits),
        cmocka_unit_test(test_edit_distance_edits_no_substring_twice),
        cmocka_unit_test(test_edit_distance_is_symmetric_and_case_sensitive),
        cmocka_unit_test(test_edit_distance_of_long_strings),
        cmocka_unit_test(test_whole_numbers_take_exponents_and_si_suffixes),
        cmocka_unit_test(test_sizes_take_binary_suffixes_and_a_b),
        cmocka_unit_test(test_durations_take_units_and_decimals),
        cmocka_unit_test(
            test_bytes_for_people_keep_three_digits_and_binary_units),
        cmocka_unit_test(
            test_numbers_refuse_signs_blanks_fractions_overflow_and_range),
        cmocka_unit_test(test_option_check_reads_its_table_entry),
        cmocka_unit_test(
            test_parse_i64_span_reads_a_span_and_a_sign_when_allowed),
        cmocka_unit_test(
            test_parse_i64_span_rejects_empty_blanks_text_and_overflow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
