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

static void
test_parse_u64_takes_the_bounds(void **state)
{
    struct tf_error err;
    uint64_t v = 0;

    (void)state;
    assert_int_equal(tf__parse_u64("1", 1, 8, "-j", &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(tf__parse_u64("8", 1, 8, "-j", &v, &err), 0);
    assert_int_equal(v, 8);
    assert_int_equal(
        tf__parse_u64("18446744073709551615", 0, UINT64_MAX, "--n", &v, &err),
        0);
    assert_true(v == UINT64_MAX);
}

static void
test_parse_u64_rejects_signs_blanks_overflow_and_range(void **state)
{
    static const char *const bad[] = {
        "",  "-1", "+1", " 1", "1 ", "1x", "0x10", "18446744073709551616",
        "9", "0",  NULL};
    struct tf_error err;
    uint64_t v = 42;
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        tf_error_init(&err);
        assert_int_equal(tf__parse_u64(bad[i], 1, 8, "-j", &v, &err),
                         TF_EUSAGE);
        assert_non_null(strstr(err.msg, "-j: "));
    }
    assert_int_equal(v, 42); /* never written on failure */
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
        cmocka_unit_test(test_parse_u64_takes_the_bounds),
        cmocka_unit_test(
            test_parse_u64_rejects_signs_blanks_overflow_and_range),
        cmocka_unit_test(
            test_parse_i64_span_reads_a_span_and_a_sign_when_allowed),
        cmocka_unit_test(
            test_parse_i64_span_rejects_empty_blanks_text_and_overflow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
