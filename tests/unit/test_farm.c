/* test_farm.c - unit tests of the master and worker loops, on transport_loop */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool_linerun.h"
#include "jobs.h"
#include "sink.h"
#include "tool_source.h"
#include "spool.h"
#include "transport.h"
#include "tf_test.h"

static const int worker_counts[] = {1, 2, 4};

/* ------------------------------------------------------------- helpers */

/* Temporary files of one run: the input, stdout, stderr and the joblog. */
struct files {
    char in[40];
    char out[40];
    char err[40];
    char log[40];
    int out_fd;
    int err_fd;
};

static void
make_temp(char *path, const char *what)
{
    int fd;

    snprintf(path, 40, "/tmp/tf_test_farm_%s_XXXXXX", what);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

/* Creates the files; the input holds the N bytes at TEXT. */
static void
files_open(struct files *f, const void *text, size_t n)
{
    int fd;

    make_temp(f->in, "in");
    make_temp(f->out, "out");
    make_temp(f->err, "err");
    make_temp(f->log, "log");
    fd = open(f->in, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    f->out_fd = open(f->out, O_WRONLY | O_TRUNC);
    f->err_fd = open(f->err, O_WRONLY | O_TRUNC);
    assert_true(f->out_fd >= 0);
    assert_true(f->err_fd >= 0);
}

/* Empties stdout, stderr and the joblog for another run. */
static void
files_reset(struct files *f)
{
    assert_int_equal(ftruncate(f->out_fd, 0), 0);
    assert_int_equal(ftruncate(f->err_fd, 0), 0);
    assert_true(lseek(f->out_fd, 0, SEEK_SET) == 0);
    assert_true(lseek(f->err_fd, 0, SEEK_SET) == 0);
    unlink(f->log);
}

static void
files_close(struct files *f)
{
    close(f->out_fd);
    close(f->err_fd);
    unlink(f->in);
    unlink(f->out);
    unlink(f->err);
    unlink(f->log);
}


static void
file_is(const char *path, const struct tf_buf *want)
{
    struct tf_buf got;

    tf_buf_init(&got, 0);
    tf_test_slurp(path, &got);
    if (got.len != want->len)
        fail_msg("%s has %zu bytes, expected %zu", path, got.len, want->len);
    if (want->len > 0 && memcmp(got.data, want->data, want->len) != 0) {
        size_t i = 0;

        while (got.data[i] == want->data[i])
            i++;
        fail_msg("%s differs from what was expected at byte %zu", path, i);
    }
    tf_buf_cleanup(&got);
}

static size_t
file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
}

/* Entries of a /proc/self directory: threads or open descriptors. */
static int
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int
count_threads(void)
{
    return count_entries("/proc/self/task");
}

/* The threads of this process before any test ran: its one thread, and
 * those of an emulator that runs it (qemu-user has a helper thread, which
 * /proc/self/task lists too). */
static int start_threads;

/*
 * Waits until the process is down to the threads it started with and
 * returns the count. A thread that pthread_join() has returned for may
 * still be listed in /proc for a moment while the kernel finishes its exit,
 * so the count is read again for a while (up to ten seconds, far more than
 * that takes); a worker thread left running stays listed and the check
 * fails.
 */
static int
settled_threads(void)
{
    struct timespec pause = {0, 100000};
    int n = count_threads();
    int i;

    for (i = 0; i < 100000 && n != start_threads; i++) {
        nanosleep(&pause, NULL);
        n = count_threads();
    }
    return n;
}

/* Open descriptors, not counting the one opendir() uses to count them. */
static int
count_fds(void)
{
    return count_entries("/proc/self/fd") - 1;
}

static struct tf__farm_cfg
cfg_of(const struct tf_job_kind *kind, const struct files *f, int nworkers)
{
    struct tf__farm_cfg cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.kind = kind;
    cfg.job_state = NULL;
    cfg.input = f->in;
    cfg.max_line = TF__DEFAULT_MAX_LINE;
    cfg.transport = &tf__transport_loop;
    cfg.nworkers = nworkers;
    cfg.chunk = 0;
    cfg.unordered = false;
    cfg.tag = false;
    cfg.joblog = NULL;
    cfg.out_fd = f->out_fd;
    cfg.err_fd = f->err_fd;
    return cfg;
}

/*
 * Runs the farm as configured and checks that it leaves no worker thread
 * and no descriptor behind, whatever it returns. Returns its result.
 */
static int
run_farm(const struct tf__farm_cfg *cfg, struct tf__farm_stats *stats,
         struct tf_error *err)
{
    int threads = settled_threads();
    int fds = count_fds();
    int worker_rc = -12345;
    int rc;

    tf_error_init(err);
    rc = tf__farm_run(cfg, stats, &worker_rc, err);
    /* The master is rank 0 and never a worker. */
    assert_int_not_equal(rc, TF__WORKER_DONE);
    assert_int_equal(worker_rc, -12345);
    assert_int_equal(threads, start_threads);
    if (settled_threads() != threads)
        fail_msg("%d threads before the run, %d after", threads,
                 count_threads());
    if (count_fds() != fds)
        fail_msg("%d descriptors before the run, %d after", fds, count_fds());
    return rc;
}

/*
 * The input of the bigger tests: NLINES lines, some of them comments or
 * blank, the others "task ID ..." with a length that varies. EXPECT gets
 * the task lines each followed by a newline, in order, which is what the
 * null job prints; *NTASKS their number.
 */
static void
make_input(uint64_t nlines, struct tf_buf *text, struct tf_buf *expect,
           uint64_t *ntasks)
{
    uint64_t i;

    tf_buf_init(text, 0);
    tf_buf_init(expect, 0);
    *ntasks = 0;
    for (i = 1; i <= nlines; i++) {
        size_t start = text->len;

        if (i % 17 == 0) {
            assert_int_equal(tf_buf_puts(text, "# a comment\n"), 0);
        } else if (i % 23 == 0) {
            assert_int_equal(tf_buf_puts(text, i % 2 ? "\n" : "  \t \n"), 0);
        } else {
            assert_int_equal(tf_buf_printf(text, "task %" PRIu64 " %.*s\n", i,
                                           (int)(i % 37),
                                           "abcdefghijklmnopq"
                                           "rstuvwxyz0123456789"),
                             0);
            assert_int_equal(
                tf_buf_append(expect, text->data + start, text->len - start),
                0);
            (*ntasks)++;
        }
    }
}

static int
cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits BUF (modified in place) into its lines, sorted. */
static char **
sorted_lines(struct tf_buf *buf, size_t *n)
{
    char **lines;
    char *p = (char *)buf->data;
    char *end = p + buf->len;
    size_t count = 0;
    size_t i;

    for (i = 0; i < buf->len; i++)
        if (buf->data[i] == '\n')
            count++;
    lines = calloc(count + 1, sizeof(*lines));
    assert_non_null(lines);
    for (i = 0; p < end; i++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));

        assert_non_null(nl);
        *nl = '\0';
        lines[i] = p;
        p = nl + 1;
    }
    assert_int_equal(i, count);
    qsort(lines, count, sizeof(*lines), cmp_lines);
    *n = count;
    return lines;
}

/* Checks the file at PATH holds the lines of WANT in some order. */
static void
file_has_same_lines(const char *path, const struct tf_buf *want)
{
    struct tf_buf got;
    struct tf_buf w;
    char **gl;
    char **wl;
    size_t ng;
    size_t nw;
    size_t i;

    tf_buf_init(&got, 0);
    tf_buf_init(&w, 0);
    tf_test_slurp(path, &got);
    assert_int_equal(tf_buf_append(&w, want->data, want->len), 0);
    gl = sorted_lines(&got, &ng);
    wl = sorted_lines(&w, &nw);
    assert_int_equal(ng, nw);
    for (i = 0; i < nw; i++)
        assert_string_equal(gl[i], wl[i]);
    free(gl);
    free(wl);
    tf_buf_cleanup(&got);
    tf_buf_cleanup(&w);
}

/* ------------------------------------------------------ test job kinds */

static atomic_uint_fast64_t runs;

/* Parses the id out of a "task ID ..." line; 0 if it is not one. */
static uint64_t
id_in_line(const void *data, size_t len)
{
    char tmp[32];
    unsigned long long id;

    if (len > sizeof(tmp) - 1)
        len = sizeof(tmp) - 1;
    memcpy(tmp, data, len);
    tmp[len] = '\0';
    if (sscanf(tmp, "task %llu", &id) != 1)
        return 0;
    return id;
}

/*
 * Fails every third task (status 1) and prints the id on stdout and a line
 * on stderr. A task whose text does not carry its own id, or that sees the
 * wrong worker count, gets status 99, which the tests never expect.
 */
static int
mod3_run(void *state, const struct tf_task *task, struct tf_result *res)
{
    int rc;

    (void)state;
    atomic_fetch_add(&runs, 1);
    res->status = task->id % 3 == 0 ? 1 : 0;
    if (id_in_line(task->data, task->len) != task->id || task->worker < 0 ||
        task->worker >= task->nworkers || task->host == NULL ||
        task->host[0] == '\0')
        res->status = 99;
    rc = tf_buf_printf(&res->out, "%" PRIu64 "\n", task->id);
    if (rc == 0)
        rc = tf_buf_printf(&res->err, "err of %" PRIu64 "\n", task->id);
    return rc;
}

static const struct tf_job_kind mod3_kind = {
    .name = "mod3",
    .summary = "fails every third task",
    .reads_lines = true,
    .run = mod3_run,
};

/* Like mod3, but the worker itself fails at task 50. */
static int
broken_run(void *state, const struct tf_task *task, struct tf_result *res)
{
    if (task->id == 50)
        return TF_ESYS;
    return mod3_run(state, task, res);
}

static const struct tf_job_kind broken_kind = {
    .name = "broken",
    .reads_lines = true,
    .run = broken_run,
};

/* Fails in the worker at every task. */
static int
always_broken_run(void *state, const struct tf_task *task,
                  struct tf_result *res)
{
    (void)state;
    (void)task;
    (void)res;
    atomic_fetch_add(&runs, 1);
    return TF_ENOMEM;
}

static const struct tf_job_kind always_broken_kind = {
    .name = "always_broken",
    .reads_lines = true,
    .run = always_broken_run,
};

/* What mod3 writes for the tasks in TEXT, on stdout and stderr, and the
 * number of tasks it fails. */
static void
mod3_expect(const struct tf_buf *text, struct tf_buf *out, struct tf_buf *err,
            uint64_t *failed)
{
    const char *p = (const char *)text->data;
    const char *end = p + text->len;

    tf_buf_init(out, 0);
    tf_buf_init(err, 0);
    *failed = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        uint64_t id = id_in_line(p, (size_t)(nl - p));

        if (id != 0) {
            assert_int_equal(tf_buf_printf(out, "%" PRIu64 "\n", id), 0);
            assert_int_equal(tf_buf_printf(err, "err of %" PRIu64 "\n", id), 0);
            if (id % 3 == 0)
                (*failed)++;
        }
        p = nl + 1;
    }
}

/*
 * Checks the joblog at PATH: GNU Parallel's header, then one line per task
 * of TEXT, in task order unless UNORDERED, each with the columns that
 * task must have.
 */
static void
joblog_matches(const char *path, const struct tf_buf *text, bool unordered)
{
    struct tf_buf log;
    char host[256];
    char *p;
    char *end;
    uint64_t *seen;
    uint64_t ntasks = 0;
    uint64_t prev = 0;
    const char *t = (const char *)text->data;
    const char *tend = t + text->len;

    tf_buf_init(&log, 0);
    tf_test_slurp(path, &log);
    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    host[sizeof(host) - 1] = '\0';
    seen = calloc(200000, sizeof(*seen));
    assert_non_null(seen);
    while (t < tend) {
        const char *nl = memchr(t, '\n', (size_t)(tend - t));

        if (id_in_line(t, (size_t)(nl - t)) != 0)
            ntasks++;
        t = nl + 1;
    }
    p = (char *)log.data;
    end = p + log.len;
    assert_true(log.len > strlen(TF__JOBLOG_HEADER));
    assert_memory_equal(p, TF__JOBLOG_HEADER, strlen(TF__JOBLOG_HEADER));
    p += strlen(TF__JOBLOG_HEADER);
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *col[9];
        char *q = p;
        unsigned long long seq;
        uint64_t line_len;
        int i;

        assert_non_null(nl);
        *nl = '\0';
        for (i = 0; i < 9; i++) {
            char *tab = i < 8 ? strchr(q, '\t') : NULL;

            col[i] = q;
            if (i < 8) {
                if (tab == NULL)
                    fail_msg("joblog line with %d columns: %s", i + 1, p);
                *tab = '\0';
                q = tab + 1;
            }
        }
        seq = strtoull(col[0], NULL, 10);
        assert_true(seq >= 1 && seq < 200000);
        assert_int_equal(seen[seq]++, 0);
        if (!unordered) {
            if (seq <= prev)
                fail_msg("joblog has task %llu after task %llu", seq,
                         (unsigned long long)prev);
        }
        prev = seq;
        assert_string_equal(col[1], host);
        assert_true(strtod(col[2], NULL) > 1.6e9);
        assert_int_equal(strlen(col[3]), 10);
        assert_non_null(strchr(col[3], '.'));
        /* The command is the task's line, Send its length. */
        assert_int_equal(id_in_line(col[8], strlen(col[8])), seq);
        line_len = strlen(col[8]);
        assert_int_equal(strtoull(col[4], NULL, 10), line_len);
        /* Receive is the length of "ID\n". */
        assert_int_equal(strtoull(col[5], NULL, 10),
                         (uint64_t)snprintf(NULL, 0, "%llu\n", seq));
        assert_int_equal(strtoll(col[6], NULL, 10), seq % 3 == 0 ? 1 : 0);
        assert_string_equal(col[7], "0");
        p = nl + 1;
        ntasks--;
    }
    assert_int_equal(ntasks, 0);
    free(seen);
    tf_buf_cleanup(&log);
}

/* ------------------------------------------------------------ null job */

static void
test_null_job_prints_every_task_line_in_order(void **state)
{
    const struct tf_job_kind *null_kind = tf__job_find("null");
    struct tf_buf text;
    struct tf_buf expect;
    struct tf_buf empty;
    struct files f;
    uint64_t ntasks;
    size_t i;

    (void)state;
    assert_non_null(null_kind);
    assert_string_equal(null_kind->name, "null");
    make_input(10000, &text, &expect, &ntasks);
    assert_true(ntasks > 8000 && ntasks < 10000);
    tf_buf_init(&empty, 0);
    files_open(&f, text.data, text.len);
    for (i = 0; i < 3; i++) {
        struct tf__farm_cfg cfg = cfg_of(null_kind, &f, worker_counts[i]);
        struct tf__farm_stats stats;
        struct tf_error err;

        files_reset(&f);
        if (run_farm(&cfg, &stats, &err) != 0)
            fail_msg("%d workers: %s", worker_counts[i], err.msg);
        file_is(f.out, &expect);
        file_is(f.err, &empty);
        assert_int_equal(stats.tasks, ntasks);
        assert_int_equal(stats.failed, 0);
        assert_int_equal(stats.nworkers, worker_counts[i]);
        assert_string_equal(stats.transport, "loop");
    }
    files_close(&f);
    tf_buf_cleanup(&text);
    tf_buf_cleanup(&expect);
}

static void
test_null_job_unordered_prints_the_same_set_of_lines(void **state)
{
    const struct tf_job_kind *null_kind = tf__job_find("null");
    struct tf_buf text;
    struct tf_buf expect;
    struct files f;
    uint64_t ntasks;
    size_t i;

    (void)state;
    make_input(10000, &text, &expect, &ntasks);
    files_open(&f, text.data, text.len);
    for (i = 0; i < 3; i++) {
        struct tf__farm_cfg cfg = cfg_of(null_kind, &f, worker_counts[i]);
        struct tf__farm_stats stats;
        struct tf_error err;

        cfg.unordered = true;
        files_reset(&f);
        if (run_farm(&cfg, &stats, &err) != 0)
            fail_msg("%d workers: %s", worker_counts[i], err.msg);
        file_has_same_lines(f.out, &expect);
        assert_int_equal(stats.tasks, ntasks);
        assert_int_equal(stats.failed, 0);
    }
    files_close(&f);
    tf_buf_cleanup(&text);
    tf_buf_cleanup(&expect);
}

static void
test_output_is_identical_for_fixed_chunks_of_1_7_and_1000(void **state)
{
    static const uint64_t chunks[] = {1, 7, 1000};
    const struct tf_job_kind *null_kind = tf__job_find("null");
    struct tf_buf text;
    struct tf_buf expect;
    struct files f;
    uint64_t ntasks;
    size_t c;
    size_t i;

    (void)state;
    make_input(3000, &text, &expect, &ntasks);
    files_open(&f, text.data, text.len);
    for (c = 0; c < 3; c++) {
        for (i = 0; i < 3; i++) {
            struct tf__farm_cfg cfg = cfg_of(null_kind, &f, worker_counts[i]);
            struct tf__farm_stats stats;
            struct tf_error err;

            cfg.chunk = chunks[c];
            files_reset(&f);
            if (run_farm(&cfg, &stats, &err) != 0)
                fail_msg("chunk %llu, %d workers: %s",
                         (unsigned long long)chunks[c], worker_counts[i],
                         err.msg);
            file_is(f.out, &expect);
            assert_int_equal(stats.tasks, ntasks);
        }
    }
    files_close(&f);
    tf_buf_cleanup(&text);
    tf_buf_cleanup(&expect);
}

static void
test_tag_prefixes_each_output_line_with_its_task_id(void **state)
{
    static const char text[] = "# c\none\n\ntwo\nthree";
    const struct tf_job_kind *null_kind = tf__job_find("null");
    struct tf__farm_cfg cfg;
    struct tf__farm_stats stats;
    struct tf_error err;
    struct tf_buf want;
    struct files f;

    (void)state;
    files_open(&f, text, sizeof(text) - 1);
    cfg = cfg_of(null_kind, &f, 2);
    cfg.tag = true;
    cfg.chunk = 1;
    assert_int_equal(run_farm(&cfg, &stats, &err), 0);
    tf_buf_init(&want, 0);
    assert_int_equal(tf_buf_puts(&want, "2\tone\n4\ttwo\n5\tthree\n"), 0);
    file_is(f.out, &want);
    tf_buf_cleanup(&want);
    files_close(&f);
}

static void
test_empty_input_runs_nothing_and_succeeds(void **state)
{
    static const char text[] = "# only a comment\n\n";
    const struct tf_job_kind *null_kind = tf__job_find("null");
    struct tf__farm_stats stats;
    struct tf_error err;
    struct files f;
    size_t i;

    (void)state;
    files_open(&f, text, sizeof(text) - 1);
    for (i = 0; i < 3; i++) {
        struct tf__farm_cfg cfg = cfg_of(null_kind, &f, worker_counts[i]);

        assert_int_equal(run_farm(&cfg, &stats, &err), 0);
        assert_int_equal(stats.tasks, 0);
        assert_int_equal(file_size(f.out), 0);
    }
    files_close(&f);
}

/* ------------------------------------------------------------ mod3 job */

static void
check_mod3_run(bool unordered, uint64_t chunk)
{
    struct tf_buf text;
    struct tf_buf ignored;
    struct tf_buf want_out;
    struct tf_buf want_err;
    struct files f;
    uint64_t ntasks;
    uint64_t failed;
    size_t i;

    make_input(2000, &text, &ignored, &ntasks);
    mod3_expect(&text, &want_out, &want_err, &failed);
    assert_true(failed > 500);
    files_open(&f, text.data, text.len);
    for (i = 0; i < 3; i++) {
        struct tf__farm_cfg cfg = cfg_of(&mod3_kind, &f, worker_counts[i]);
        struct tf__farm_stats stats;
        struct tf_error err;

        cfg.joblog = f.log;
        cfg.unordered = unordered;
        cfg.chunk = chunk;
        files_reset(&f);
        atomic_store(&runs, 0);
        /* Failed tasks are not a failure of the run. */
        if (run_farm(&cfg, &stats, &err) != 0)
            fail_msg("%d workers: %s", worker_counts[i], err.msg);
        assert_int_equal(atomic_load(&runs), ntasks);
        assert_int_equal(stats.tasks, ntasks);
        assert_int_equal(stats.failed, failed);
        if (unordered) {
            file_has_same_lines(f.out, &want_out);
            file_has_same_lines(f.err, &want_err);
        } else {
            file_is(f.out, &want_out);
            file_is(f.err, &want_err);
        }
        joblog_matches(f.log, &text, unordered);
    }
    files_close(&f);
    tf_buf_cleanup(&text);
    tf_buf_cleanup(&ignored);
    tf_buf_cleanup(&want_out);
    tf_buf_cleanup(&want_err);
}

static void
test_failed_tasks_are_counted_and_logged_in_task_order(void **state)
{
    (void)state;
    check_mod3_run(false, 0);
}

static void
test_failed_tasks_are_counted_and_logged_unordered(void **state)
{
    (void)state;
    check_mod3_run(true, 0);
}

static void
test_joblog_and_output_same_with_fixed_chunks_of_1_7_and_1000(void **state)
{
    (void)state;
    check_mod3_run(false, 1);
    check_mod3_run(false, 7);
    check_mod3_run(false, 1000);
}

/* ------------------------------------------------------------ failures */

static void
test_worker_failure_ends_the_run_with_an_error_and_no_hang(void **state)
{
    struct tf_buf text;
    struct tf_buf ignored;
    struct files f;
    uint64_t ntasks;
    size_t i;

    (void)state;
    make_input(2000, &text, &ignored, &ntasks);
    files_open(&f, text.data, text.len);
    for (i = 0; i < 3; i++) {
        struct tf__farm_cfg cfg = cfg_of(&broken_kind, &f, worker_counts[i]);
        struct tf__farm_stats stats;
        struct tf_error err;
        int rc;

        cfg.joblog = f.log;
        files_reset(&f);
        rc = run_farm(&cfg, &stats, &err);
        assert_true(rc < 0);
        assert_int_equal(err.code, rc);
        assert_true(strlen(err.msg) > 0);
        /* Task 50 never finished, so the ordered output stops before it. */
        assert_true(stats.tasks < 50);
    }
    files_close(&f);
    tf_buf_cleanup(&text);
    tf_buf_cleanup(&ignored);
}

/*
 * The worker's own code and reason reach the caller: the master must not
 * report the worker as merely gone while its ERROR message is still to be
 * read. Whether it gets there first depends on thread scheduling, so the run
 * is repeated; a correct farm passes every time.
 */
static void
test_worker_failure_reports_the_workers_code_and_task(void **state)
{
    struct tf_buf text;
    struct tf_buf ignored;
    struct files f;
    char failure[700] = "";
    uint64_t ntasks;
    size_t i;
    int rep;

    (void)state;
    make_input(200, &text, &ignored, &ntasks);
    files_open(&f, text.data, text.len);
    for (i = 0; i < 3 && failure[0] == '\0'; i++) {
        for (rep = 0; rep < 20 && failure[0] == '\0'; rep++) {
            struct tf__farm_cfg cfg =
                cfg_of(&broken_kind, &f, worker_counts[i]);
            struct tf__farm_stats stats;
            struct tf_error err;
            int rc;

            files_reset(&f);
            rc = run_farm(&cfg, &stats, &err);
            if (rc != TF_ESYS || strstr(err.msg, "task 50") == NULL)
                snprintf(failure, sizeof(failure),
                         "%d workers, run %d: got %d (%s), expected %d "
                         "naming task 50",
                         worker_counts[i], rep + 1, rc, err.msg, TF_ESYS);
        }
    }
    /* Clean up first, so that a failure is not also reported as a leak. */
    files_close(&f);
    tf_buf_cleanup(&text);
    tf_buf_cleanup(&ignored);
    if (failure[0] != '\0')
        fail_msg("%s", failure);
}

static void
test_failure_of_every_worker_at_once_does_not_hang(void **state)
{
    struct tf_buf text;
    struct tf_buf ignored;
    struct files f;
    uint64_t ntasks;
    size_t i;

    (void)state;
    make_input(500, &text, &ignored, &ntasks);
    files_open(&f, text.data, text.len);
    for (i = 0; i < 3; i++) {
        struct tf__farm_cfg cfg =
            cfg_of(&always_broken_kind, &f, worker_counts[i]);
        struct tf__farm_stats stats;
        struct tf_error err;

        files_reset(&f);
        atomic_store(&runs, 0);
        assert_int_equal(run_farm(&cfg, &stats, &err), TF_ENOMEM);
        assert_true(strlen(err.msg) > 0);
        assert_true(atomic_load(&runs) >= 1);
        assert_true(atomic_load(&runs) <= (uint64_t)worker_counts[i]);
        assert_int_equal(stats.tasks, 0);
        assert_int_equal(file_size(f.out), 0);
    }
    files_close(&f);
    tf_buf_cleanup(&text);
    tf_buf_cleanup(&ignored);
}

static void
test_nul_byte_on_line_5_is_einput_and_nothing_runs(void **state)
{
    static const char text[] = "task 1\ntask 2\ntask 3\ntask 4\n"
                               "task\0 5\ntask 6\n";
    struct files f;
    size_t i;

    (void)state;
    files_open(&f, text, sizeof(text) - 1);
    for (i = 0; i < 3; i++) {
        struct tf__farm_cfg cfg = cfg_of(&mod3_kind, &f, worker_counts[i]);
        struct tf__farm_stats stats;
        struct tf_error err;

        files_reset(&f);
        atomic_store(&runs, 0);
        assert_int_equal(run_farm(&cfg, &stats, &err), TF_EINPUT);
        assert_int_equal(err.code, TF_EINPUT);
        assert_non_null(strstr(err.msg, ":5: NUL byte"));
        assert_non_null(strstr(err.msg, f.in));
        assert_int_equal(atomic_load(&runs), 0);
        assert_int_equal(stats.tasks, 0);
        assert_int_equal(file_size(f.out), 0);
        assert_int_equal(file_size(f.err), 0);
    }
    files_close(&f);
}

static void
test_overlong_line_is_einput_and_nothing_runs(void **state)
{
    static const char text[] = "task 1\ntask 2 is too long\ntask 3\n";
    struct tf__farm_cfg cfg;
    struct tf__farm_stats stats;
    struct tf_error err;
    struct files f;

    (void)state;
    files_open(&f, text, sizeof(text) - 1);
    cfg = cfg_of(&mod3_kind, &f, 2);
    cfg.max_line = 10;
    atomic_store(&runs, 0);
    assert_int_equal(run_farm(&cfg, &stats, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, ":2: line longer than 10 bytes"));
    assert_int_equal(atomic_load(&runs), 0);
    assert_int_equal(file_size(f.out), 0);
    files_close(&f);
}

static void
test_missing_input_is_einput_naming_it(void **state)
{
    struct tf__farm_cfg cfg;
    struct tf__farm_stats stats;
    struct tf_error err;
    struct files f;

    (void)state;
    files_open(&f, "", 0);
    cfg = cfg_of(&mod3_kind, &f, 2);
    cfg.input = "/nonexistent/tf_test/tasks";
    assert_int_equal(run_farm(&cfg, &stats, &err), TF_EINPUT);
    assert_non_null(strstr(err.msg, "/nonexistent/tf_test/tasks"));
    files_close(&f);
}

static void
test_unwritable_joblog_is_eusage_and_nothing_runs(void **state)
{
    static const char text[] = "task 1\ntask 2\n";
    struct tf__farm_cfg cfg;
    struct tf__farm_stats stats;
    struct tf_error err;
    struct files f;

    (void)state;
    files_open(&f, text, sizeof(text) - 1);
    cfg = cfg_of(&mod3_kind, &f, 2);
    cfg.joblog = "/nonexistent/dir/x";
    atomic_store(&runs, 0);
    assert_int_equal(run_farm(&cfg, &stats, &err), TF_EUSAGE);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/x"));
    assert_int_equal(atomic_load(&runs), 0);
    assert_int_equal(file_size(f.out), 0);
    files_close(&f);
}

static void
test_bad_line_on_a_pipe_runs_the_tasks_before_it_then_fails(void **state)
{
    static const char text[] = "task 1\ntask 2\n# c\ntask 4\ntask\0 5\n"
                               "task 6\n";
    struct tf__farm_cfg cfg;
    struct tf__farm_stats stats;
    struct tf_error err;
    struct tf_buf want;
    struct files f;
    int fds[2];
    int saved;
    int rc;

    (void)state;
    files_open(&f, "", 0);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], text, sizeof(text) - 1),
                     (ssize_t)sizeof(text) - 1);
    close(fds[1]);
    saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);
    cfg = cfg_of(&mod3_kind, &f, 2);
    cfg.input = "-";
    atomic_store(&runs, 0);
    rc = run_farm(&cfg, &stats, &err);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    assert_int_equal(rc, TF_EINPUT);
    assert_non_null(strstr(err.msg, "stdin:5: NUL byte"));
    assert_int_equal(atomic_load(&runs), 3);
    assert_int_equal(stats.tasks, 3);
    tf_buf_init(&want, 0);
    assert_int_equal(tf_buf_puts(&want, "1\n2\n4\n"), 0);
    file_is(f.out, &want);
    tf_buf_cleanup(&want);
    files_close(&f);
}

static void
test_zero_workers_is_an_error_not_a_hang(void **state)
{
    static const char text[] = "task 1\n";
    struct tf__farm_cfg cfg;
    struct tf__farm_stats stats;
    struct tf_error err;
    struct files f;

    (void)state;
    files_open(&f, text, sizeof(text) - 1);
    cfg = cfg_of(&mod3_kind, &f, 0);
    assert_int_equal(run_farm(&cfg, &stats, &err), TF_EUSAGE);
    assert_true(strlen(err.msg) > 0);
    files_close(&f);
}

/* ------------------------------------------- the master's policy, direct */

/*
 * A batch over tasks 1..N of a task function that the tests steer through
 * this shared state: what the batch's callbacks saw, and what the tasks
 * do. The loop transport runs the workers as threads of this process.
 */
#define SEEN_MAX 64
static struct steer {
    atomic_int release;  /* task 1 may end */
    atomic_int started;  /* tasks started */
    atomic_int attempts[SEEN_MAX + 1];
    uint64_t fail_id;    /* this task fails (0: none) */
    int fail_once;       /* ... only its first attempt */
    size_t big;          /* task 2 writes this many bytes, in parts */
    int wait_ms;         /* task 1 waits at most this long for RELEASE */
} steer;

struct seen {
    uint64_t n;
    uint64_t next;
    uint64_t done_ids[SEEN_MAX];
    bool recorded[SEEN_MAX];
    size_t ndone;
    uint64_t kept_ids[SEEN_MAX];
    size_t done_at_keep[SEEN_MAX]; /* tasks done when each was kept */
    size_t nkept;
    bool blob_in_file[SEEN_MAX];   /* its stdout came partly from the spool
                                      file */
    struct tf_buf out[SEEN_MAX];   /* owned: each task's stdout */
};

static int
steer_run(void *arg, const struct tf_task *task, struct tf_result *res)
{
    int attempt;
    size_t at;
    int rc = 0;
    int i;

    (void)arg;
    atomic_fetch_add(&steer.started, 1);
    attempt = atomic_fetch_add(&steer.attempts[task->id % SEEN_MAX], 1) + 1;
    if (task->id == 1)
        for (i = 0; i < steer.wait_ms && !atomic_load(&steer.release); i++) {
            struct timespec ms = {0, 1000000};

            nanosleep(&ms, NULL);
        }
    if (task->id == 2 && steer.big > 0) {
        /* Written as a command's output is: in parts, sent as they come. */
        for (at = 0; rc == 0 && at < steer.big; at += 65536) {
            size_t n = steer.big - at < 65536 ? steer.big - at : 65536;
            size_t k;

            rc = tf_buf_reserve(&res->out, n);
            for (k = 0; rc == 0 && k < n; k++)
                res->out.data[res->out.len++] = (unsigned char)((at + k) % 251);
            if (rc == 0 && res->out.len >= 262144)
                rc = tf_result_flush(res);
        }
        return rc;
    }
    if (task->id == steer.fail_id && (!steer.fail_once || attempt == 1)) {
        rc = tf_buf_puts(&res->out, "bad");
        if (rc == 0)
            rc = tf_result_flush(res);
        res->status = 1;
        return rc;
    }
    return tf_buf_printf(&res->out, "%" PRIu64, task->id);
}

static int
seen_next(void *arg, uint64_t *id, const void **data, size_t *len,
          bool may_block, struct tf_error *err)
{
    struct seen *s = arg;

    (void)may_block;
    (void)err;
    if (s->next >= s->n)
        return 0;
    *id = ++s->next;
    *data = "x";
    *len = 1;
    return 1;
}

static int
seen_part(void *arg, const void *p, size_t n, struct tf_error *err)
{
    (void)err;
    return tf_buf_append(arg, p, n);
}

static int
seen_done(void *arg, const struct tf__done *d, struct tf_error *err)
{
    struct seen *s = arg;
    struct tf_buf *out = &s->out[s->ndone];
    int rc = 0;

    assert_true(s->ndone < SEEN_MAX);
    s->done_ids[s->ndone] = d->id;
    s->recorded[s->ndone] = d->recorded;
    tf_buf_init(out, 0);
    if (d->out_blob != NULL) {
        s->blob_in_file[s->ndone] = d->out_blob->next > 0;
        rc = tf__blob_each(d->spool, d->out_blob, seen_part, out, err);
    }
    if (rc == 0)
        rc = tf_buf_append(out, d->out, d->out_len);
    s->ndone++;
    return rc;
}

static int
seen_keep(void *arg, const struct tf__done *d, struct tf_error *err)
{
    struct seen *s = arg;

    (void)err;
    assert_true(s->nkept < SEEN_MAX);
    s->kept_ids[s->nkept] = d->id;
    s->done_at_keep[s->nkept] = s->ndone;
    s->nkept++;
    /* Every task behind task 1 is kept: task 1 may end now. */
    if (s->nkept == s->n - 1)
        atomic_store(&steer.release, 1);
    return 0;
}

/* Opens a session of NWORKERS loop workers running steer_run, chunks of
 * one task, RETRIES runs again of a failed task. */
static struct tf__session *
steer_session(int nworkers, unsigned retries)
{
    static struct tf__fn fn = {"steer", steer_run, NULL};
    struct tf__session_cfg cfg;
    struct tf__session *s = NULL;
    struct tf_error err;
    int worker_rc = 0;

    memset(&steer, 0, sizeof(steer));
    steer.wait_ms = 10000;
    memset(&cfg, 0, sizeof(cfg));
    cfg.transport = &tf__transport_loop;
    cfg.nworkers = nworkers;
    cfg.chunk = 1;
    cfg.retries = retries;
    cfg.kill_grace_us = 2000000;
    cfg.fns = &fn;
    cfg.nfns = 1;
    assert_int_equal(tf__session_open(&cfg, &s, &worker_rc, &err), 0);
    return s;
}

/* A batch over N tasks reporting to SEEN. */
static void
seen_batch(struct tf__batch *b, struct seen *seen, uint64_t n)
{
    memset(seen, 0, sizeof(*seen));
    seen->n = n;
    memset(b, 0, sizeof(*b));
    b->next = seen_next;
    b->next_arg = seen;
    b->done = seen_done;
    b->done_arg = seen;
}

/* OUT is the output task 2 writes with STEER.big set. */
static void
is_big_output(const struct tf_buf *out)
{
    size_t k;

    assert_int_equal(out->len, steer.big);
    for (k = 0; k < steer.big; k++)
        if (out->data[k] != (unsigned char)(k % 251))
            fail_msg("byte %zu of the output differs", k);
}

static void
seen_free(struct seen *seen)
{
    size_t i;

    for (i = 0; i < seen->ndone; i++)
        tf_buf_cleanup(&seen->out[i]);
}

static void
test_held_results_are_kept_before_their_turn_then_written_in_it(void **state)
{
    struct tf__session *s = steer_session(2, 0);
    struct seen seen;
    struct tf__batch b;
    struct tf_error err;
    size_t i;

    (void)state;
    seen_batch(&b, &seen, 8);
    b.keep = seen_keep;
    b.keep_arg = &seen;
    b.keep_after_us = 1000;
    assert_int_equal(tf__session_batch(s, &b, &err), 0);
    /* Tasks 2..8 ended behind task 1, which waited until they were all
     * kept: their records did not wait for its end. */
    assert_int_equal(seen.nkept, 7);
    for (i = 0; i < seen.nkept; i++) {
        assert_true(seen.kept_ids[i] >= 2 && seen.kept_ids[i] <= 8);
        assert_int_equal(seen.done_at_keep[i], 0);
    }
    /* Their output still came in task order, marked as recorded. */
    assert_int_equal(seen.ndone, 8);
    for (i = 0; i < seen.ndone; i++) {
        assert_int_equal(seen.done_ids[i], i + 1);
        assert_true(seen.recorded[i] == (i > 0));
    }
    seen_free(&seen);
    assert_int_equal(tf__session_close(s, &err), 0);
}

static void
test_halt_acts_on_a_completion_behind_a_slow_first_task(void **state)
{
    struct tf__halt halt = {false, false, 1, 0}; /* soon,fail=1 */
    struct tf__session *s = steer_session(2, 0);
    struct seen seen;
    struct tf__batch b;
    struct tf_error err;

    (void)state;
    steer.fail_id = 2;
    steer.wait_ms = 300; /* task 1 ends by itself */
    seen_batch(&b, &seen, 40);
    b.halt = &halt;
    assert_int_equal(tf__session_batch(s, &b, &err), TF__EHALTED);
    assert_non_null(strstr(err.msg, "1 task failed"));
    /* Task 2's failure stopped the handing out while task 1 still ran,
     * not once task 1's output was written: of 40 tasks at most those the
     * second worker held already started. */
    assert_true(atomic_load(&steer.started) <= 5);
    seen_free(&seen);
    assert_int_equal(tf__session_close(s, &err), 0);
}

static void
test_streamed_output_reaches_a_whole_output_batch_whole(void **state)
{
    struct tf__session *s = steer_session(2, 0);
    struct seen seen;
    struct tf__batch b;
    struct tf_error err;

    (void)state;
    steer.big = 3 * 1048576 + 7;
    steer.release = 1;
    seen_batch(&b, &seen, 3);
    assert_int_equal(tf__session_batch(s, &b, &err), 0);
    assert_int_equal(seen.ndone, 3);
    is_big_output(&seen.out[1]);
    assert_false(seen.blob_in_file[1]);
    seen_free(&seen);
    assert_int_equal(tf__session_close(s, &err), 0);
}

static void
test_output_past_the_memory_budget_goes_to_the_spool_file(void **state)
{
    struct tf__session *s = steer_session(2, 0);
    struct seen seen;
    struct tf__batch b;
    struct tf_error err;

    (void)state;
    steer.big = 24 * 1048576; /* past the master's 16 MiB */
    steer.release = 1;
    seen_batch(&b, &seen, 3);
    b.spool = true;
    assert_int_equal(tf__session_batch(s, &b, &err), 0);
    assert_int_equal(seen.ndone, 3);
    assert_true(seen.blob_in_file[1]);
    is_big_output(&seen.out[1]);
    seen_free(&seen);
    assert_int_equal(tf__session_close(s, &err), 0);
}

static void
test_output_a_failed_attempt_streamed_is_dropped_with_it(void **state)
{
    struct tf__session *s = steer_session(2, 1);
    struct seen seen;
    struct tf__batch b;
    struct tf_error err;

    (void)state;
    steer.fail_id = 3;
    steer.fail_once = 1;
    steer.release = 1;
    seen_batch(&b, &seen, 4);
    assert_int_equal(tf__session_batch(s, &b, &err), 0);
    assert_int_equal(seen.ndone, 4);
    assert_int_equal(atomic_load(&steer.attempts[3]), 2);
    assert_int_equal(seen.out[2].len, 1);
    assert_memory_equal(seen.out[2].data, "3", 1);
    seen_free(&seen);
    assert_int_equal(tf__session_close(s, &err), 0);
}

/* Every variable tf__launcher_size() reads, cleared before each case. */
static const char *const launcher_vars[] = {
    "OMPI_COMM_WORLD_SIZE", "PMI_SIZE",     "MPI_LOCALNRANKS",      "PMIX_RANK",
    "SLURM_STEP_ID",        "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", NULL};

/* The launcher's size with exactly the variables of ENV ("NAME=VALUE",
 * NULL-terminated) set. */
static int
launcher_size_with(const char *const *env)
{
    char name[64];
    size_t i;

    for (i = 0; launcher_vars[i] != NULL; i++)
        unsetenv(launcher_vars[i]);
    for (i = 0; env[i] != NULL; i++) {
        const char *eq = strchr(env[i], '=');

        snprintf(name, sizeof(name), "%.*s", (int)(eq - env[i]), env[i]);
        setenv(name, eq + 1, 1);
    }
    return tf__launcher_size();
}

static void
test_launcher_size_comes_from_open_mpi_pmi_or_a_slurm_step(void **state)
{
    static const char *const none[] = {NULL};
    static const char *const ompi[] = {"OMPI_COMM_WORLD_SIZE=4", NULL};
    static const char *const hydra[] = {"PMI_SIZE=3", "MPI_LOCALNRANKS=3",
                                        NULL};
    static const char *const local[] = {"MPI_LOCALNRANKS=2", NULL};
    static const char *const pmix[] = {"PMIX_RANK=1", NULL};
    static const char *const batch[] = {"SLURM_PROCID=0",
                                        "SLURM_STEP_NUM_TASKS=5", NULL};
    static const char *const step[] = {"SLURM_STEP_ID=0", "SLURM_PROCID=2",
                                       "SLURM_STEP_NUM_TASKS=5", NULL};
    static const char *const one[] = {"PMI_SIZE=1", NULL};
    size_t i;

    (void)state;
    assert_int_equal(launcher_size_with(none), 0);
    assert_false(tf__mpi_launched());
    assert_int_equal(launcher_size_with(ompi), 4);
    assert_true(tf__mpi_launched());
    assert_int_equal(launcher_size_with(hydra), 3);
    assert_int_equal(launcher_size_with(local), 2);
    /* PMIx names no size: alone it says nothing, under srun the step's
     * count does. A batch script is no step. */
    assert_int_equal(launcher_size_with(pmix), 0);
    assert_int_equal(launcher_size_with(batch), 0);
    assert_int_equal(launcher_size_with(step), 5);
    assert_true(tf__mpi_launched());
    assert_int_equal(launcher_size_with(one), 1);
    assert_false(tf__mpi_launched());
    for (i = 0; launcher_vars[i] != NULL; i++)
        unsetenv(launcher_vars[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_launcher_size_comes_from_open_mpi_pmi_or_a_slurm_step),
        cmocka_unit_test(test_null_job_prints_every_task_line_in_order),
        cmocka_unit_test(test_null_job_unordered_prints_the_same_set_of_lines),
        cmocka_unit_test(
            test_output_is_identical_for_fixed_chunks_of_1_7_and_1000),
        cmocka_unit_test(test_tag_prefixes_each_output_line_with_its_task_id),
        cmocka_unit_test(test_empty_input_runs_nothing_and_succeeds),
        cmocka_unit_test(
            test_failed_tasks_are_counted_and_logged_in_task_order),
        cmocka_unit_test(test_failed_tasks_are_counted_and_logged_unordered),
        cmocka_unit_test(
            test_joblog_and_output_same_with_fixed_chunks_of_1_7_and_1000),
        cmocka_unit_test(
            test_worker_failure_ends_the_run_with_an_error_and_no_hang),
        cmocka_unit_test(test_worker_failure_reports_the_workers_code_and_task),
        cmocka_unit_test(test_failure_of_every_worker_at_once_does_not_hang),
        cmocka_unit_test(test_nul_byte_on_line_5_is_einput_and_nothing_runs),
        cmocka_unit_test(test_overlong_line_is_einput_and_nothing_runs),
        cmocka_unit_test(test_missing_input_is_einput_naming_it),
        cmocka_unit_test(test_unwritable_joblog_is_eusage_and_nothing_runs),
        cmocka_unit_test(
            test_bad_line_on_a_pipe_runs_the_tasks_before_it_then_fails),
        cmocka_unit_test(test_zero_workers_is_an_error_not_a_hang),
        cmocka_unit_test(
            test_held_results_are_kept_before_their_turn_then_written_in_it),
        cmocka_unit_test(
            test_halt_acts_on_a_completion_behind_a_slow_first_task),
        cmocka_unit_test(
            test_streamed_output_reaches_a_whole_output_batch_whole),
        cmocka_unit_test(
            test_output_past_the_memory_budget_goes_to_the_spool_file),
        cmocka_unit_test(
            test_output_a_failed_attempt_streamed_is_dropped_with_it),
    };

    start_threads = count_threads();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
