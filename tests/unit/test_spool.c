/* test_spool.c - unit tests of blobs of task output and their spool file */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"
#include "tf_test.h"

/* ------------------------------------------------------------- helpers */

/* The bytes tf__blob_each() hands out, and how many calls it made. */
struct each {
    struct tf_buf got;
    int calls;
    int stop_at; /* return STOP_RC at this call (1-based), 0: never */
};

#define STOP_RC TF_EINPUT

static int
take(void *arg, const void *p, size_t n, struct tf_error *err)
{
    struct each *e = arg;

    assert_true(n > 0);
    if (++e->calls == e->stop_at)
        return tf__error(err, STOP_RC, "stop here");
    assert_int_equal(tf_buf_append(&e->got, p, n), 0);
    return 0;
}

/* Checks that S's blob B gives back exactly the N bytes at WANT. */
static void
blob_is(struct tf__spool *s, const struct tf__blob *b, const void *want,
        size_t n)
{
    struct tf_error err;
    struct each e;

    memset(&e, 0, sizeof(e));
    tf_buf_init(&e.got, 0);
    tf_error_init(&err);
    assert_int_equal(tf__blob_each(s, b, take, &e, &err), 0);
    if (e.got.len != n)
        fail_msg("the blob gave %zu bytes, expected %zu", e.got.len, n);
    if (n > 0)
        assert_memory_equal(e.got.data, want, n);
    assert_true(b->len == n);
    tf_buf_cleanup(&e.got);
}

static void
blob_is_str(struct tf__spool *s, const struct tf__blob *b, const char *want)
{
    blob_is(s, b, want, strlen(want));
}

static void
append_str(struct tf__blob *b, const char *s)
{
    assert_int_equal(tf__blob_append(b, s, strlen(s)), 0);
}

static void
spill(struct tf__spool *s, struct tf__blob *b)
{
    struct tf_error err;
    int rc;

    tf_error_init(&err);
    rc = tf__blob_spill(s, b, &err);
    if (rc != 0)
        fail_msg("spill: %d %s", rc, err.msg);
}

/* A fresh empty directory: its path in DIR (40 bytes). */
static void
temp_dir(char *dir)
{
    strcpy(dir, "/tmp/tf_test_spool_XXXXXX");
    assert_non_null(mkdtemp(dir));
}

/* Whether DIR holds no entry but "." and "..". */
static bool
dir_is_empty(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    bool empty = true;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            empty = false;
    closedir(d);
    return empty;
}

/* How many of this process's descriptors are files in DIR. */
static int
fds_in(const char *dir)
{
    char target[PATH_MAX];
    struct dirent *de;
    DIR *d = opendir("/proc/self/fd");
    size_t n = strlen(dir);
    int found = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        ssize_t len;

        len = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (strncmp(target, dir, n) == 0 && target[n] == '/')
            found++;
    }
    closedir(d);
    return found;
}

/* Sets $TMPDIR to VALUE (NULL: unset); returns its old value (NULL when
 * it had none), for restore_tmpdir(). */
static char *
set_tmpdir(const char *value)
{
    const char *old = getenv("TMPDIR");
    char *copy = NULL;

    if (old != NULL) {
        copy = strdup(old);
        assert_non_null(copy);
    }
    if (value != NULL)
        assert_int_equal(setenv("TMPDIR", value, 1), 0);
    else
        assert_int_equal(unsetenv("TMPDIR"), 0);
    return copy;
}

static void
restore_tmpdir(char *old)
{
    if (old != NULL)
        setenv("TMPDIR", old, 1);
    else
        unsetenv("TMPDIR");
    free(old);
}

/* -------------------------------------------------------------- memory */

static void
test_blob_in_memory_gives_back_its_parts_in_order(void **state)
{
    struct tf__blob b;

    (void)state;
    tf__blob_init(&b);
    blob_is(NULL, &b, "", 0);
    append_str(&b, "first ");
    assert_int_equal(tf__blob_append(&b, "", 0), 0);
    assert_int_equal(tf__blob_append(&b, "se\0nd ", 6), 0);
    append_str(&b, "third\n");
    blob_is(NULL, &b, "first se\0nd third\n", 18);
    assert_int_equal(b.next, 0);
    tf__blob_release(NULL, &b);
    assert_true(b.len == 0);
    blob_is(NULL, &b, "", 0);
}

/* ----------------------------------------------------------------- file */

static void
test_spilled_blob_reads_back_from_the_file_and_empties_its_memory(
    void **state)
{
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob b;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__spool_new(NULL, &s, &err), 0);
    tf__blob_init(&b);
    append_str(&b, "one ");
    append_str(&b, "two ");
    spill(s, &b);
    assert_int_equal(b.mem.len, 0);
    assert_int_equal(b.next, 1);
    assert_true(b.ext[0].off == 0 && b.ext[0].len == 8);
    blob_is_str(s, &b, "one two ");
    /* What comes after the spill comes after the spilled bytes, in memory
     * first and then in the file too. */
    append_str(&b, "three ");
    assert_int_equal(b.mem.len, 6);
    blob_is_str(s, &b, "one two three ");
    spill(s, &b);
    append_str(&b, "four");
    blob_is_str(s, &b, "one two three four");
    assert_true(tf__spool_live(s) == 14);
    tf__blob_release(s, &b);
    tf__spool_free(s);
}

static void
test_blobs_spilled_in_turn_each_read_back_their_own_bytes(void **state)
{
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob a;
    struct tf__blob b;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__spool_new(NULL, &s, &err), 0);
    tf__blob_init(&a);
    tf__blob_init(&b);
    append_str(&a, "a1 ");
    spill(s, &a);
    append_str(&b, "b1 ");
    spill(s, &b);
    append_str(&a, "a2 ");
    spill(s, &a);
    append_str(&b, "b2 ");
    spill(s, &b);
    append_str(&a, "a3");
    /* Each blob's spans of the file are its own, in its order. */
    assert_int_equal(a.next, 2);
    assert_true(a.ext[0].off == 0 && a.ext[0].len == 3);
    assert_true(a.ext[1].off == 6 && a.ext[1].len == 3);
    assert_int_equal(b.next, 2);
    assert_true(b.ext[0].off == 3 && b.ext[1].off == 9);
    blob_is_str(s, &a, "a1 a2 a3");
    blob_is_str(s, &b, "b1 b2 ");
    tf__blob_release(s, &a);
    tf__blob_release(s, &b);
    tf__spool_free(s);
}

static void
test_contiguous_spills_of_one_blob_make_one_extent(void **state)
{
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob b;
    int i;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__spool_new(NULL, &s, &err), 0);
    tf__blob_init(&b);
    for (i = 0; i < 10; i++) {
        append_str(&b, "0123456789");
        spill(s, &b);
    }
    assert_int_equal(b.next, 1);
    assert_true(b.ext[0].off == 0 && b.ext[0].len == 100);
    assert_true(b.len == 100);
    blob_is_str(s, &b,
                "0123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789"
                "01234567890123456789");
    tf__blob_release(s, &b);
    tf__spool_free(s);
}

static void
test_release_gives_space_back_and_an_unused_file_starts_again(void **state)
{
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob a;
    struct tf__blob b;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__spool_new(NULL, &s, &err), 0);
    assert_true(tf__spool_live(s) == 0);
    tf__blob_init(&a);
    tf__blob_init(&b);
    append_str(&a, "0123456789");
    spill(s, &a);
    append_str(&b, "abcde");
    spill(s, &b);
    append_str(&b, "in memory only");
    assert_true(tf__spool_live(s) == 15);
    tf__blob_release(s, &a);
    assert_true(tf__spool_live(s) == 5);
    assert_true(a.len == 0 && a.next == 0 && a.mem.len == 0);
    /* B still uses the file: the next spill goes after what is there. */
    append_str(&a, "xyz");
    spill(s, &a);
    assert_true(a.ext[0].off == 15);
    assert_true(tf__spool_live(s) == 8);
    blob_is_str(s, &b, "abcdein memory only");
    tf__blob_release(s, &b);
    tf__blob_release(s, &a);
    assert_true(tf__spool_live(s) == 0);
    /* Nothing uses the file any more: it starts again from empty. */
    append_str(&a, "again");
    spill(s, &a);
    assert_int_equal(a.next, 1);
    assert_true(a.ext[0].off == 0 && a.ext[0].len == 5);
    assert_true(tf__spool_live(s) == 5);
    blob_is_str(s, &a, "again");
    tf__blob_release(s, &a);
    tf__spool_free(s);
}

static void
test_each_stops_at_the_callbacks_error_and_returns_it(void **state)
{
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob a;
    struct tf__blob other;
    struct each e;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__spool_new(NULL, &s, &err), 0);
    tf__blob_init(&a);
    tf__blob_init(&other);
    /* Three parts: two extents and memory. */
    append_str(&a, "one");
    spill(s, &a);
    append_str(&other, "x");
    spill(s, &other);
    append_str(&a, "two");
    spill(s, &a);
    append_str(&a, "three");
    memset(&e, 0, sizeof(e));
    tf_buf_init(&e.got, 0);
    e.stop_at = 2;
    assert_int_equal(tf__blob_each(s, &a, take, &e, &err), STOP_RC);
    assert_int_equal(e.calls, 2);
    assert_int_equal(e.got.len, 3);
    assert_memory_equal(e.got.data, "one", 3);
    assert_non_null(strstr(err.msg, "stop here"));
    /* In memory too. */
    tf_buf_reset(&e.got);
    e.calls = 0;
    e.stop_at = 3;
    assert_int_equal(tf__blob_each(s, &a, take, &e, &err), STOP_RC);
    assert_int_equal(e.calls, 3);
    assert_int_equal(e.got.len, 6);
    tf_buf_cleanup(&e.got);
    tf__blob_release(s, &a);
    tf__blob_release(s, &other);
    tf__spool_free(s);
}

static void
test_spill_into_a_missing_directory_is_esys_and_keeps_the_bytes(void **state)
{
    static const char dir[] = "/nonexistent/tf_test_spool";
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob b;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__spool_new(dir, &s, &err), 0);
    tf__blob_init(&b);
    append_str(&b, "kept ");
    append_str(&b, "in memory");
    assert_int_equal(tf__blob_spill(s, &b, &err), TF_ESYS);
    assert_int_equal(err.code, TF_ESYS);
    assert_non_null(strstr(err.msg, dir));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));
    assert_int_equal(b.next, 0);
    assert_int_equal(b.mem.len, 14);
    assert_true(tf__spool_live(s) == 0);
    blob_is_str(s, &b, "kept in memory");
    /* It can be tried again, and fails again the same way. */
    tf_error_init(&err);
    assert_int_equal(tf__blob_spill(s, &b, &err), TF_ESYS);
    assert_non_null(strstr(err.msg, dir));
    blob_is_str(s, &b, "kept in memory");
    tf__blob_release(s, &b);
    tf__spool_free(s);
}

static void
test_spill_cut_short_by_a_full_file_leaves_the_blob_as_it_was(void **state)
{
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob b;
    struct rlimit old;
    struct rlimit lim;
    int rc;

    (void)state;
    tf_error_init(&err);
    assert_int_equal(tf__spool_new(NULL, &s, &err), 0);
    tf__blob_init(&b);
    append_str(&b, "aaaa");
    spill(s, &b);
    append_str(&b, "bbbb");
    /* A file size limit lets 2 of the 4 bytes in: the extent that would
     * have grown is taken back. */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 6;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = tf__blob_spill(s, &b, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(rc, TF_ESYS);
    assert_non_null(strstr(err.msg, strerror(EFBIG)));
    assert_int_equal(b.next, 1);
    assert_true(b.ext[0].off == 0 && b.ext[0].len == 4);
    assert_int_equal(b.mem.len, 4);
    assert_true(tf__spool_live(s) == 4);
    blob_is_str(s, &b, "aaaabbbb");
    /* With room again, the spill goes where it would have. */
    spill(s, &b);
    assert_int_equal(b.next, 1);
    assert_true(b.ext[0].len == 8);
    blob_is_str(s, &b, "aaaabbbb");
    tf__blob_release(s, &b);
    tf__spool_free(s);
}

/* ------------------------------------------------------------ directory */

static void
test_spool_without_a_directory_uses_tmpdir(void **state)
{
    static const char dir[] = "/nonexistent/tf_test_tmpdir";
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob b;
    char *old;
    int rc;

    (void)state;
    tf__blob_init(&b);
    append_str(&b, "x");
    old = set_tmpdir(dir);
    tf_error_init(&err);
    rc = tf__spool_new(NULL, &s, &err);
    restore_tmpdir(old);
    assert_int_equal(rc, 0);
    /* The directory was taken when the spool was made. */
    assert_int_equal(tf__blob_spill(s, &b, &err), TF_ESYS);
    assert_non_null(strstr(err.msg, dir));
    tf__blob_release(s, &b);
    tf__spool_free(s);
}

static void
test_spool_file_is_made_in_its_directory_and_leaves_no_name(void **state)
{
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob b;
    char dir[40];
    char *old;
    int rc;

    (void)state;
    temp_dir(dir);
    old = set_tmpdir(dir);
    tf_error_init(&err);
    rc = tf__spool_new(NULL, &s, &err);
    restore_tmpdir(old);
    assert_int_equal(rc, 0);
    /* Nothing is made before the first spill. */
    assert_int_equal(fds_in(dir), 0);
    tf__blob_init(&b);
    append_str(&b, "spilled");
    spill(s, &b);
    assert_int_equal(fds_in(dir), 1);
    assert_true(dir_is_empty(dir));
    blob_is_str(s, &b, "spilled");
    tf__blob_release(s, &b);
    tf__spool_free(s);
    assert_int_equal(fds_in(dir), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void
test_spool_with_an_empty_tmpdir_uses_tmp(void **state)
{
    struct tf__spool *s;
    struct tf_error err;
    struct tf__blob b;
    char *old;
    int before;
    int rc;

    (void)state;
    old = set_tmpdir("");
    tf_error_init(&err);
    rc = tf__spool_new(NULL, &s, &err);
    restore_tmpdir(old);
    assert_int_equal(rc, 0);
    before = fds_in("/tmp");
    tf__blob_init(&b);
    append_str(&b, "in /tmp");
    spill(s, &b);
    assert_int_equal(fds_in("/tmp"), before + 1);
    blob_is_str(s, &b, "in /tmp");
    tf__blob_release(s, &b);
    tf__spool_free(s);
}

static void
test_spool_free_of_null_is_a_no_op(void **state)
{
    (void)state;
    tf__spool_free(NULL);
    assert_true(tf__spool_live(NULL) == 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_in_memory_gives_back_its_parts_in_order),
        cmocka_unit_test(
            test_spilled_blob_reads_back_from_the_file_and_empties_its_memory),
        cmocka_unit_test(
            test_blobs_spilled_in_turn_each_read_back_their_own_bytes),
        cmocka_unit_test(test_contiguous_spills_of_one_blob_make_one_extent),
        cmocka_unit_test(
            test_release_gives_space_back_and_an_unused_file_starts_again),
        cmocka_unit_test(test_each_stops_at_the_callbacks_error_and_returns_it),
        cmocka_unit_test(
            test_spill_into_a_missing_directory_is_esys_and_keeps_the_bytes),
        cmocka_unit_test(
            test_spill_cut_short_by_a_full_file_leaves_the_blob_as_it_was),
        cmocka_unit_test(test_spool_without_a_directory_uses_tmpdir),
        cmocka_unit_test(
            test_spool_file_is_made_in_its_directory_and_leaves_no_name),
        cmocka_unit_test(test_spool_with_an_empty_tmpdir_uses_tmp),
        cmocka_unit_test(test_spool_free_of_null_is_a_no_op),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
