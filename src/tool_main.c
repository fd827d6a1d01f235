/* tool_main.c - the taskfarm command: options, help, job choice, exit codes */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "error.h"
#include "exit.h"
#include "jobs.h"
#include "opts.h"
#include "pool.h"
#include "results.h"
#include "sink.h"
#include "template.h"
#include "tool_dryrun.h"
#include "tool_history.h"
#include "tool_linerun.h"
#include "tool_log.h"
#include "tool_progress.h"
#include "tool_report.h"
#include "tool_results.h"
#include "tool_resume.h"
#include "tool_source.h"
#include "transport.h"
#include "util.h"

struct cli {
    const struct tf_job_kind *kind;
    const char *backend;
    const char *input;
    const char *joblog;
    uint64_t jobs;
    uint64_t chunk;
    uint64_t max_line;
    uint64_t threads;
    uint64_t gpus_per_worker;
    uint64_t mem_per_task; /* --mem-per-task, bytes; 0: not said */
    const char *gpus;
    bool bind_cores;
    uint64_t retries;
    uint64_t sync_us;
    uint64_t timeout_us;
    uint64_t timeout_pct;
    uint64_t grace_us;
    struct tf__halt halt;
    bool have_halt;
    const char *results;
    const char *output; /* --output FILE, or NULL: standard output */
    const char *tmpdir; /* --tmpdir DIR, or NULL: $TMPDIR or /tmp */
    bool resume;
    bool resume_failed;
    bool unordered;
    bool tag;
    bool quiet;
    bool dry_run;       /* --dry-run: print the commands, run nothing */
    double deadline;    /* --deadline, seconds since the epoch; 0: none */
    uint64_t margin_us; /* --deadline-margin, or 0: the default */
    bool have_margin;
    const char *history; /* --history FILE, or NULL */
    bool lpt;            /* --order lpt */
    int progress;        /* --progress 1, --no-progress -1, else 0 */
    uint64_t status_us;  /* --status-interval, or 0: the default */
    struct tf_opts opts;
};

/* The longest duration an option takes: a year (366 days). */
#define YEAR_US ((uint64_t)366 * 86400 * 1000000)

static const struct tf_option common_options[] = {
    {"jobs", 'j', "N",
     "run N local workers (fork backend; default: one per online CPU)",
     TF_OPT_INT, 1, 1000000, NULL},
    {"backend", 0, "auto|mpi|fork",
     "auto (default): mpi when started by mpirun or srun with several ranks, "
     "else fork",
     TF_OPT_CHOICE, 0, 0, "auto|mpi|fork"},
    {"chunk", 0, "N|auto",
     "tasks per chunk handed to a worker (default auto: adaptive)", TF_OPT_TEXT,
     0, 0, NULL},
    {"keep-order", 'k', NULL,
     "write each task's output in task order (the default)", TF_OPT_TEXT, 0, 0,
     NULL},
    {"unordered", 'u', NULL, "write each task's output as soon as it ends",
     TF_OPT_TEXT, 0, 0, NULL},
    {"tag", 0, NULL, "prefix each output line with the task id and a TAB",
     TF_OPT_TEXT, 0, 0, NULL},
    {"dry-run", 0, NULL,
     "print the command of each task, after --template, one per line, and "
     "run nothing (tasks --resume would skip are left out; {%} counts "
     "round the -j slots)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"joblog", 0, "FILE",
     "write a GNU Parallel-compatible log line per finished task to FILE",
     TF_OPT_TEXT, 0, 0, NULL},
    {"output", 'o', "FILE",
     "write the tasks' output to FILE instead of standard output; with "
     "--results, a resumed run cuts FILE back to its last recorded task "
     "first, so that no output is lost or doubled even after a kill "
     "(under mpirun, use it rather than standard output)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"tmpdir", 0, "DIR",
     "keep output waiting for its turn, past what memory holds, in a "
     "temporary file in DIR (default: $TMPDIR, else /tmp)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"max-line", 0, "BYTES", "longest task line accepted (default 1048576)",
     TF_OPT_SIZE, 1, (uint64_t)1 << 30, NULL},
    {"results", 0, "FILE",
     "keep every finished task's record (status, times, host, output) in "
     "FILE, one checksummed append-only file; read it with 'taskfarm "
     "results FILE'",
     TF_OPT_TEXT, 0, 0, NULL},
    {"sync-interval", 0, "SECONDS",
     "write and sync the results file at least this often (default 1; 0: "
     "at every write)",
     TF_OPT_DURATION, 0, YEAR_US, NULL},
    {"resume", 0, NULL,
     "skip the tasks that the --joblog or --results FILE of an earlier run "
     "records as finished with the same text, and append to it",
     TF_OPT_TEXT, 0, 0, NULL},
    {"resume-failed", 0, NULL,
     "as --resume, but run the tasks that failed again", TF_OPT_TEXT, 0, 0,
     NULL},
    {"timeout", 0, "TIME|N%",
     "end a task that runs longer than TIME (30, 30s, 5m, 2h, 1d) or than N% "
     "of the median runtime of the tasks that succeeded so far: SIGTERM to "
     "its process group, then SIGKILL after --kill-grace (default: no "
     "limit)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"kill-grace", 0, "TIME",
     "time from SIGTERM to SIGKILL for a task past --timeout (default 2s)",
     TF_OPT_DURATION, 1000, YEAR_US, NULL},
    {"halt", 0, "WHEN,fail=N|success=N",
     "stop the run when N tasks (or N% of them) failed or succeeded: WHEN "
     "soon lets running tasks finish, now ends them too (like "
     "now,fail=1, soon,fail=10%, now,success=1; default: never)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"retries", 0, "N",
     "run a failed task again, on another worker when there is one, up to N "
     "times (default 0); only its last attempt is written",
     TF_OPT_INT, 0, 1000000, NULL},
    {"deadline", 0, "TIME",
     "start no task expected to end after TIME less --deadline-margin, "
     "then exit 5: a duration from now (50m, 2h), a clock time (17:30, "
     "2026-12-24T17:30) or @EPOCH-SECONDS (default inside a Slurm job: the "
     "job's end time)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"deadline-margin", 0, "TIME",
     "time kept free before the deadline (default 60s, or a tenth of the "
     "time to the deadline when that is less)",
     TF_OPT_DURATION, 0, YEAR_US, NULL},
    {"order", 0, "input|lpt",
     "input (default): tasks start in input order; lpt: the longest in "
     "--history first, after reading every task",
     TF_OPT_CHOICE, 0, 0, "input|lpt"},
    {"history", 0, "FILE",
     "a joblog or results file of an earlier run: its runtimes estimate "
     "this run's tasks for --order lpt and the deadline",
     TF_OPT_TEXT, 0, 0, NULL},
    {"threads-per-worker", 0, "N",
     "OpenMP/OpenBLAS/MKL threads each worker may use (default: the node's "
     "CPUs divided among its workers; the variables set in the environment "
     "win)",
     TF_OPT_INT, 1, 4096, NULL},
    {"gpus-per-worker", 0, "K",
     "give each worker K of its node's GPUs (from CUDA_VISIBLE_DEVICES, "
     "ROCR_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES or ZE_AFFINITY_MASK, or "
     "--gpus), set in the same variable for its tasks",
     TF_OPT_INT, 1, 4096, NULL},
    {"gpus", 0, "LIST",
     "the GPUs of each node for --gpus-per-worker, comma-separated (default: "
     "the variable the node sets)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"bind", 0, "none|cores",
     "none (default): workers run where the system puts them; cores: pin "
     "each worker and its tasks to a block of its own of the CPUs it may use "
     "(--threads-per-worker of them, else its share of its node's), named in "
     "TASKFARM_CPUS, OMP_PLACES and OMP_PROC_BIND",
     TF_OPT_CHOICE, 0, 0, "none|cores"},
    {"mem-per-task", 0, "SIZE",
     "memory each task needs (4G, 500M): a worker starts a task only while "
     "its node, or its cgroup, has that much available, and waits until it "
     "has (default: each task's peak in --history, else none)",
     TF_OPT_SIZE, 1, 0, NULL},
    {"progress", 0, NULL,
     "redraw a progress line on standard error (the default when it is a "
     "terminal): done/total, failed, running, tasks/s, elapsed, ETA",
     TF_OPT_TEXT, 0, 0, NULL},
    {"no-progress", 0, NULL, "show no progress line and no status lines",
     TF_OPT_TEXT, 0, 0, NULL},
    {"status-interval", 0, "TIME",
     "when standard error is not a terminal (a Slurm log), write a status "
     "line this often (default 60s); with --progress, redraw the line this "
     "often (default 0.25s)",
     TF_OPT_DURATION, 1000, YEAR_US, NULL},
    {"quiet", 'q', NULL,
     "do not print the summary line at the end, nor status lines", TF_OPT_TEXT,
     0, 0, NULL},
    {"help", 'h', NULL, "print this help and exit", TF_OPT_TEXT, 0, 0, NULL},
    {"version", 'V', NULL, "print the version and exit", TF_OPT_TEXT, 0, 0,
     NULL},
    {0},
};

/*
 * The headings of `taskfarm --help`, each with the common options under it
 * in the order shown. A common option that no heading names is shown under
 * "Other options", so that none is ever missing from the help.
 */
#define OPTION_GROUP_MAX 10
struct option_group {
    const char *title;
    const char *names[OPTION_GROUP_MAX]; /* ends early with NULL */
};

static const struct option_group option_groups[] = {
    {"Workers and scheduling",
     {"jobs", "backend", "chunk", "threads-per-worker", "bind",
      "gpus-per-worker", "gpus", "mem-per-task", "order", "history"}},
    {"Input and output",
     {"max-line", "output", "keep-order", "unordered", "tag", "tmpdir",
      "dry-run", "quiet"}},
    {"Progress", {"progress", "no-progress", "status-interval"}},
    {"Records and resume",
     {"joblog", "results", "sync-interval", "resume", "resume-failed"}},
    {"Limits and stopping",
     {"timeout", "kill-grace", "retries", "halt", "deadline",
      "deadline-margin"}},
    {"Help", {"help", "version"}},
    {NULL, {NULL}},
};

/* The commands that are not jobs: main() hands each its arguments before
 * any option is parsed, so they come first on the command line. */
struct command {
    const char *name;
    const char *args;
    const char *summary;
};

static const struct command other_commands[] = {
    {"results", "FILE", "print the records of a results file"},
    {"report", "FILE",
     "write an HTML or text report of a joblog or results file"},
    {NULL, NULL, NULL},
};

/* Only one rank of an MPI job prints usage errors; the environment says
 * which before MPI is started: Open MPI's mpirun, PMIx (srun --mpi=pmix),
 * PMI-1 and PMI-2 (MPICH's Hydra, srun --mpi=pmi2), and last Slurm's own
 * task number, which holds where srun's plugin is not the MPI library's. */
static bool
quiet_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                                       "PMI_RANK", "SLURM_PROCID", NULL};
    size_t i;

    for (i = 0; vars[i] != NULL; i++) {
        const char *v = getenv(vars[i]);

        if (v != NULL)
            return atoi(v) != 0;
    }
    return false;
}

/*
 * Says why the command line is refused, once per job: every rank of an MPI
 * job parses the same arguments and finds the same fault, and only rank 0
 * says it. The other ranks wait a moment before they exit, as mpirun ends
 * the whole job at the first rank that exits with an error, which must not
 * be before rank 0 has spoken.
 */
static void refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
refuse(const char *fmt, ...)
{
    struct timespec nap = {2, 0};
    char msg[1024];
    va_list ap;

    if (quiet_rank()) {
        while (nanosleep(&nap, &nap) < 0 && errno == EINTR)
            ;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tf__log(TF_LOG_ERROR, "%s", msg);
}

/* Prints TEXT wrapped to 79 columns, every line but the first indented by
 * INDENT, the first continuing from column COL. */
static void
print_wrapped(FILE *f, const char *text, int indent, int col)
{
    const char *p = text;

    while (*p != '\0') {
        const char *end = p;
        const char *brk = NULL;
        int width = 79 - col;

        while (*end != '\0' && end - p <= width) {
            if (*end == ' ')
                brk = end;
            end++;
        }
        if (*end == '\0' && end - p <= width)
            brk = end;
        else if (brk == NULL)
            brk = end;
        fprintf(f, "%.*s\n", (int)(brk - p), p);
        p = brk;
        while (*p == ' ')
            p++;
        if (*p != '\0')
            fprintf(f, "%*s", indent, "");
        col = indent;
    }
}

/* The option of TABLE (NULL: none) called NAME, or, when NAME is NULL,
 * the one whose short name is SHORT_NAME; NULL when there is none. */
static const struct tf_option *
find_option(const struct tf_option *table, const char *name, int short_name)
{
    for (; table != NULL && table->name != NULL; table++) {
        if (name != NULL && strcmp(table->name, name) == 0)
            return table;
        if (name == NULL && short_name != 0 && table->short_name == short_name)
            return table;
    }
    return NULL;
}

/* Prints one option: its names and argument, and its help beside them. */
static void
print_option(FILE *f, const struct tf_option *opt)
{
    char left[64];

    if (opt->short_name != 0)
        snprintf(left, sizeof(left), "-%c, --%s%s%s", opt->short_name,
                 opt->name, opt->arg ? " " : "", opt->arg ? opt->arg : "");
    else
        snprintf(left, sizeof(left), "    --%s%s%s", opt->name,
                 opt->arg ? " " : "", opt->arg ? opt->arg : "");
    if (strlen(left) > 22) {
        fprintf(f, "  %s\n%26s", left, "");
    } else {
        fprintf(f, "  %-22s  ", left);
    }
    print_wrapped(f, opt->help, 26, 26);
}

/* Prints the options of a table that ends with a zeroed entry. */
static void
print_options(FILE *f, const struct tf_option *opt)
{
    for (; opt != NULL && opt->name != NULL; opt++)
        print_option(f, opt);
}

/* Whether a heading of the help names the common option NAME. */
static bool
grouped(const char *name)
{
    const struct option_group *g;
    size_t i;

    for (g = option_groups; g->title != NULL; g++)
        for (i = 0; i < OPTION_GROUP_MAX && g->names[i] != NULL; i++)
            if (strcmp(g->names[i], name) == 0)
                return true;
    return false;
}

/* Prints the common options under their headings, and those that no
 * heading names under "Other options". */
static void
print_common_options(FILE *f)
{
    const struct option_group *g;
    const struct tf_option *opt;
    bool shown;
    size_t i;

    for (g = option_groups; g->title != NULL; g++) {
        shown = false;
        for (i = 0; i < OPTION_GROUP_MAX && g->names[i] != NULL; i++) {
            opt = find_option(common_options, g->names[i], 0);
            if (opt == NULL)
                continue;
            if (!shown)
                fprintf(f, "\n%s:\n", g->title);
            shown = true;
            print_option(f, opt);
        }
    }
    shown = false;
    for (opt = common_options; opt->name != NULL; opt++) {
        if (grouped(opt->name))
            continue;
        if (!shown)
            fprintf(f, "\nOther options:\n");
        shown = true;
        print_option(f, opt);
    }
}

/* Prints the lines of TEXT (each ending with a newline) indented by two. */
static void
print_indented(FILE *f, const char *text)
{
    const char *nl;

    while (*text != '\0') {
        nl = strchr(text, '\n');
        if (nl == NULL)
            nl = text + strlen(text);
        fprintf(f, "  %.*s\n", (int)(nl - text), text);
        text = *nl == '\0' ? nl : nl + 1;
    }
}

/* `taskfarm JOB --help`: the job's usage, options and examples. */
static void
usage_job(FILE *f, const struct tf_job_kind *kind)
{
    const char *s = kind->summary != NULL ? kind->summary : "";
    char line[512];

    fprintf(f, "Usage: taskfarm [options] %s %s\n", kind->name,
            kind->usage != NULL ? kind->usage : "[options]");
    if (s[0] != '\0') {
        /* The summary as a sentence. */
        snprintf(line, sizeof(line), "%c%s.",
                 s[0] >= 'a' && s[0] <= 'z' ? s[0] - 'a' + 'A' : s[0], s + 1);
        fprintf(f, "\n");
        print_wrapped(f, line, 0, 0);
    }
    if (kind->options != NULL && kind->options->name != NULL) {
        fprintf(f, "\nOptions of %s:\n", kind->name);
        print_options(f, kind->options);
    }
    if (kind->reads_lines)
        fprintf(f, "\nEach non-empty line of FILE (or of standard input for "
                   "-) is one task;\nlines whose first non-blank character "
                   "is # are comments.\n");
    if (kind->examples != NULL) {
        fprintf(f, "\nExamples:\n");
        print_indented(f, kind->examples);
    }
    fprintf(f,
            "\nCommon options go before or after '%s'; 'taskfarm --help' "
            "lists them.\n",
            kind->name);
}

/* `taskfarm --help`, or with KIND `taskfarm KIND --help`. */
static void
usage(FILE *f, const struct tf_job_kind *kind)
{
    const struct command *cmd;
    char left[64];
    size_t i;

    if (kind != NULL) {
        usage_job(f, kind);
        return;
    }
    fprintf(f,
            "Usage: taskfarm [options] JOB [job options] [FILE|-]\n"
            "       taskfarm COMMAND FILE [options]\n"
            "\n"
            "Farm out many independent tasks to workers: local processes, or "
            "the ranks of\nan MPI job (mpirun, srun). Rank 0 is the master; "
            "workers pull chunks of tasks.\nOptions go before or after JOB, "
            "a job's own options after it.\n"
            "\nJobs:\n");
    for (i = 0; tf__jobs[i] != NULL; i++) {
        fprintf(f, "  %-22s  ", tf__jobs[i]->name);
        print_wrapped(f, tf__jobs[i]->summary, 26, 26);
    }
    if (tf__jobs_left_out[0].name != NULL) {
        fprintf(f, "\nNot in this build (taskfarm --version says why):");
        for (i = 0; tf__jobs_left_out[i].name != NULL; i++)
            fprintf(f, " %s", tf__jobs_left_out[i].name);
        fprintf(f, "\n");
    }
    fprintf(f, "\nOther commands:\n");
    for (cmd = other_commands; cmd->name != NULL; cmd++) {
        snprintf(left, sizeof(left), "%s %s", cmd->name, cmd->args);
        fprintf(f, "  %-22s  ", left);
        print_wrapped(f, cmd->summary, 26, 26);
    }
    print_common_options(f);
    fprintf(f, "\nExamples:\n"
               "  taskfarm run tasks.txt                 one worker per CPU\n"
               "  taskfarm -j 8 run tasks.txt            eight local workers\n"
               "  mpirun -np 65 taskfarm run tasks.txt   master + 64 MPI "
               "workers\n"
               "  ls *.fastq | taskfarm run --template 'gzip -9 {}' -\n"
               "  taskfarm --dry-run run --template 'gzip -9 {}' files.txt\n"
               "\n");
    print_wrapped(f,
                  "Exit status: 0 every task succeeded, 1 some task failed, "
                  "2 usage or input error (nothing ran), 3 system or "
                  "transport error, 4 a --halt ...,fail= stopped the run, 5 "
                  "tasks were left at the deadline or SIGUSR1 (finish them "
                  "with --resume), 128+N stopped by signal N.",
                  0, 0);
    fprintf(f, "\nRun 'taskfarm JOB --help' or 'taskfarm COMMAND --help' "
               "for their options,\nand see 'man taskfarm' for the whole "
               "manual.\n");
}

static double
wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Local time TEXT in FORMAT (all of it) as seconds since the epoch, or -1. */
static double
parse_clock(const char *text, const char *format, struct tm *tm)
{
    const char *end = strptime(text, format, tm);
    time_t t;

    if (end == NULL || *end != '\0')
        return -1;
    tm->tm_isdst = -1;
    t = mktime(tm);
    return t == (time_t)-1 ? -1 : (double)t;
}

/*
 * --deadline: a duration from now, a clock time today (or tomorrow when it
 * has passed), a date and time, or @EPOCH-SECONDS. *WHEN is seconds since
 * the epoch.
 */
static int
parse_deadline(const char *v, double *when, struct tf_error *err)
{
    static const char *const dates[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
                                        "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
                                        NULL};
    static const char *const clocks[] = {"%H:%M:%S", "%H:%M", NULL};
    double now = wall_now();
    struct tf_error ignored;
    uint64_t us;
    size_t i;

    if (v[0] == '@') {
        char *end;

        errno = 0;
        *when = strtod(v + 1, &end);
        if (end != v + 1 && *end == '\0' && errno == 0 && *when > 0)
            return 0;
    } else if (tf_parse_number(v, TF_OPT_DURATION, 0, YEAR_US, "--deadline",
                               &us, &ignored) == 0) {
        *when = now + (double)us / 1e6;
        return 0;
    }
    for (i = 0; dates[i] != NULL; i++) {
        struct tm tm;

        memset(&tm, 0, sizeof(tm));
        *when = parse_clock(v, dates[i], &tm);
        if (*when >= 0)
            return 0;
    }
    for (i = 0; clocks[i] != NULL; i++) {
        time_t t = (time_t)now;
        struct tm tm;

        localtime_r(&t, &tm);
        *when = parse_clock(v, clocks[i], &tm);
        if (*when >= 0) {
            if (*when <= now) {
                tm.tm_mday++; /* passed today: tomorrow */
                tm.tm_isdst = -1;
                *when = (double)mktime(&tm);
            }
            return 0;
        }
    }
    return tf__error(err, TF_EUSAGE,
                     "--deadline: '%s' is not a duration (50m, 2h), a clock "
                     "time (17:30, 2026-12-24T17:30) or @EPOCH-SECONDS",
                     v);
}

/*
 * The end time of the Slurm job this runs in, as seconds since the epoch:
 * SLURM_JOB_END_TIME where Slurm sets it, else what squeue says. 0 when
 * not in a job, the job has no time limit, or Slurm cannot be asked.
 */
static double
slurm_end_time(void)
{
    const char *id = getenv("SLURM_JOB_ID");
    const char *env = getenv("SLURM_JOB_END_TIME");
    char cmd[128], line[128];
    double when = 0;
    struct tm tm;
    FILE *p;

    if (env != NULL && (when = atof(env)) > 0)
        return when;
    if (id == NULL || id[0] == '\0' || strspn(id, "0123456789") != strlen(id) ||
        strlen(id) > 20)
        return 0;
    snprintf(cmd, sizeof(cmd),
             "timeout -k 1 10 squeue -h -j %s -o %%e 2>/dev/null", id);
    p = popen(cmd, "re");
    if (p == NULL)
        return 0;
    if (fgets(line, sizeof(line), p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        memset(&tm, 0, sizeof(tm));
        when = parse_clock(line, "%Y-%m-%dT%H:%M:%S", &tm);
        if (when < 0)
            when = 0; /* "N/A", "Unknown": no limit */
    }
    pclose(p);
    return when;
}

/* --halt now|soon,fail|success=N|N%. */
static int
parse_halt(const char *v, struct cli *c, struct tf_error *err)
{
    const char *cond;
    const char *num;
    char buf[32];
    size_t n;
    uint64_t x;

    memset(&c->halt, 0, sizeof(c->halt));
    if (strncmp(v, "now,", 4) == 0) {
        c->halt.now = true;
        cond = v + 4;
    } else if (strncmp(v, "soon,", 5) == 0) {
        cond = v + 5;
    } else {
        goto bad;
    }
    if (strncmp(cond, "fail=", 5) == 0) {
        num = cond + 5;
    } else if (strncmp(cond, "success=", 8) == 0) {
        c->halt.on_success = true;
        num = cond + 8;
    } else {
        goto bad;
    }
    n = strlen(num);
    if (n == 0 || n >= sizeof(buf))
        goto bad;
    memcpy(buf, num, n + 1);
    if (buf[n - 1] == '%') {
        buf[n - 1] = '\0';
        if (tf_parse_number(buf, TF_OPT_INT, 1, 100, "--halt", &x, err) < 0)
            goto bad;
        c->halt.pct = (unsigned)x;
    } else if (tf_parse_number(buf, TF_OPT_INT, 1, 0, "--halt", &c->halt.count,
                               err) < 0) {
        goto bad;
    }
    c->have_halt = true;
    return 0;
bad:
    return tf__error(err, TF_EUSAGE,
                     "--halt: '%s' is not WHEN,fail=N or WHEN,success=N "
                     "(WHEN: now or soon; N: a count, or 1%%-100%%)",
                     v);
}

/* --timeout TIME or N%. */
static int
parse_timeout(const char *v, struct cli *c, struct tf_error *err)
{
    size_t n = strlen(v);

    c->timeout_us = 0;
    c->timeout_pct = 0;
    if (n > 1 && v[n - 1] == '%') {
        char num[32];

        if (n - 1 >= sizeof(num))
            return tf__error(err, TF_EUSAGE,
                             "--timeout: '%s' is not a "
                             "percentage from 1%% to "
                             "100000%%",
                             v);
        memcpy(num, v, n - 1);
        num[n - 1] = '\0';
        if (tf_parse_number(num, TF_OPT_INT, 1, 100000, "--timeout",
                            &c->timeout_pct, err) < 0)
            return tf__error(err, TF_EUSAGE,
                             "--timeout: '%s' is not a "
                             "percentage from 1%% to "
                             "100000%%",
                             v);
        return 0;
    }
    return tf_parse_number(v, TF_OPT_DURATION, 1000, YEAR_US, "--timeout",
                           &c->timeout_us, err);
}

/* Prints the version, the jobs this build has and the MPI library. */
static void
print_version(FILE *f)
{
    char mpi[256];
    size_t i;

    fprintf(f, "taskfarm %s\njobs:", TF_VERSION_STRING);
    for (i = 0; tf__jobs[i] != NULL; i++)
        fprintf(f, " %s", tf__jobs[i]->name);
    fprintf(f, "\n");
    for (i = 0; tf__jobs_left_out[i].name != NULL; i++)
        fprintf(f, "not built: %s (needs %s: %s=ON)\n",
                tf__jobs_left_out[i].name, tf__jobs_left_out[i].needs,
                tf__jobs_left_out[i].option);
    if (tf_mpi_version(mpi, sizeof(mpi)) == 0)
        fprintf(f, "MPI: %s\n", mpi);
    else
        fprintf(f, "MPI: none (built with TASKFARM_MPI=OFF: local workers "
                   "only)\n");
}

/* Applies one option. Returns 0, 1 when the program should exit 0 (help,
 * version), or TF_EUSAGE. */
static int
apply(struct cli *c, const struct tf_option *opt, const char *typed,
      const char *value, bool common, struct tf_error *err)
{
    const char *n = opt->name;
    uint64_t num = 0;

    /* Numbers and choices are checked here, the same way for every job
     * and for the common options, named as they were written. */
    if (tf__option_check(opt, typed, value, &num, err) < 0)
        return TF_EUSAGE;
    if (!common)
        return tf__opts_push(&c->opts, n, value ? value : "1", num) < 0
                   ? tf__error(err, TF_EUSAGE, "too many options")
                   : 0;
    if (strcmp(n, "help") == 0) {
        usage(stdout, c->kind);
        return 1;
    }
    if (strcmp(n, "version") == 0) {
        print_version(stdout);
        return 1;
    }
    if (strcmp(n, "jobs") == 0)
        c->jobs = num;
    if (strcmp(n, "backend") == 0)
        c->backend = value;
    if (strcmp(n, "chunk") == 0) {
        if (strcmp(value, "auto") == 0) {
            c->chunk = 0;
            return 0;
        }
        return tf_parse_number(value, TF_OPT_INT, 1, 1u << 24, "--chunk",
                               &c->chunk, err);
    }
    if (strcmp(n, "keep-order") == 0)
        c->unordered = false;
    else if (strcmp(n, "unordered") == 0)
        c->unordered = true;
    else if (strcmp(n, "tag") == 0)
        c->tag = true;
    else if (strcmp(n, "dry-run") == 0)
        c->dry_run = true;
    else if (strcmp(n, "joblog") == 0)
        c->joblog = value;
    else if (strcmp(n, "output") == 0)
        c->output = value;
    else if (strcmp(n, "tmpdir") == 0)
        c->tmpdir = value;
    else if (strcmp(n, "quiet") == 0)
        c->quiet = true;
    else if (strcmp(n, "progress") == 0)
        c->progress = 1;
    else if (strcmp(n, "no-progress") == 0)
        c->progress = -1;
    else if (strcmp(n, "status-interval") == 0)
        c->status_us = num;
    else if (strcmp(n, "max-line") == 0)
        c->max_line = num;
    else if (strcmp(n, "results") == 0)
        c->results = value;
    else if (strcmp(n, "resume") == 0)
        c->resume = true;
    else if (strcmp(n, "resume-failed") == 0)
        c->resume = c->resume_failed = true;
    else if (strcmp(n, "sync-interval") == 0)
        c->sync_us = num;
    else if (strcmp(n, "timeout") == 0)
        return parse_timeout(value, c, err);
    else if (strcmp(n, "kill-grace") == 0)
        c->grace_us = num;
    else if (strcmp(n, "halt") == 0)
        return parse_halt(value, c, err);
    else if (strcmp(n, "retries") == 0)
        c->retries = num;
    else if (strcmp(n, "threads-per-worker") == 0)
        c->threads = num;
    else if (strcmp(n, "gpus-per-worker") == 0)
        c->gpus_per_worker = num;
    else if (strcmp(n, "gpus") == 0)
        c->gpus = value;
    else if (strcmp(n, "bind") == 0)
        c->bind_cores = strcmp(value, "cores") == 0;
    else if (strcmp(n, "mem-per-task") == 0)
        c->mem_per_task = num;
    else if (strcmp(n, "deadline") == 0)
        return parse_deadline(value, &c->deadline, err);
    else if (strcmp(n, "deadline-margin") == 0) {
        c->have_margin = true;
        c->margin_us = num;
    } else if (strcmp(n, "history") == 0)
        c->history = value;
    else if (strcmp(n, "order") == 0)
        c->lpt = strcmp(value, "lpt") == 0;
    return 0;
}

/*
 * The best guess at what a misspelt name TYPED meant, among the names
 * offered one at a time: the closest within a distance that grows with the
 * length of TYPED (1 up to 4 bytes, else 2, and less than its length), else
 * the one name that TYPED is the start of. It is only ever suggested: a
 * prefix is not taken for the option, as getopt_long does, so that a
 * command line keeps its meaning when options are added.
 */
struct guess {
    const char *typed;
    size_t limit;
    const char *best; /* the closest so far, or NULL */
    size_t best_dist;
    const char *prefix_of; /* the last name TYPED is the start of */
    int nprefix;           /* how many names TYPED is the start of */
};

/* Starts a guess at TYPED (borrowed, as are the names offered). */
static void
guess_init(struct guess *g, const char *typed)
{
    size_t len = strlen(typed);

    memset(g, 0, sizeof(*g));
    g->typed = typed;
    g->limit = len <= 4 ? 1 : 2;
    if (g->limit >= len)
        g->limit = len > 0 ? len - 1 : 0;
}

/* Offers NAME; the first of the closest names is kept. */
static void
guess_offer(struct guess *g, const char *name)
{
    size_t len = strlen(g->typed);
    size_t d;

    if (len > 0 && strlen(name) > len && strncmp(name, g->typed, len) == 0) {
        g->prefix_of = name;
        g->nprefix++;
    }
    d = tf__edit_distance(g->typed, name);
    if (d <= g->limit && (g->best == NULL || d < g->best_dist)) {
        g->best = name;
        g->best_dist = d;
    }
}

/* The name to suggest, or NULL. */
static const char *
guess_result(const struct guess *g)
{
    if (g->best != NULL)
        return g->best;
    return g->nprefix == 1 ? g->prefix_of : NULL;
}

/* Refuses NAME where a job was expected, with a guess at what was meant. */
static int
unknown_job(const char *name, struct tf_error *err)
{
    const struct tf__job_left_out *left;
    const struct command *cmd;
    const char *best;
    struct guess g;
    size_t i;

    for (cmd = other_commands; cmd->name != NULL; cmd++)
        if (strcmp(cmd->name, name) == 0)
            return tf__error(err, TF_EUSAGE,
                             "'%s' is a command, not a job: it comes first "
                             "(taskfarm %s %s ...)",
                             name, name, cmd->args);
    left = tf__job_left_out(name);
    if (left != NULL)
        return tf__error(err, TF_EUSAGE,
                         "job '%s' is not in this build of taskfarm: it needs "
                         "%s (build with -D%s=ON)",
                         name, left->needs, left->option);
    guess_init(&g, name);
    for (i = 0; tf__jobs[i] != NULL; i++)
        guess_offer(&g, tf__jobs[i]->name);
    for (cmd = other_commands; cmd->name != NULL; cmd++)
        guess_offer(&g, cmd->name);
    best = guess_result(&g);
    if (best != NULL)
        return tf__error(err, TF_EUSAGE,
                         "unknown job '%s'; did you mean '%s'? (try "
                         "'taskfarm --help')",
                         name, best);
    return tf__error(err, TF_EUSAGE, "unknown job '%s' (try 'taskfarm --help')",
                     name);
}

/*
 * Refuses the option A, whose long NAME (without dashes or value) is given
 * for a long option and NULL for a short one: with the job it belongs to
 * when it is another job's, else with a guess among the common options and
 * those of the job.
 */
static int
unknown_option(const struct cli *c, const char *a, const char *name,
               struct tf_error *err)
{
    const char *job = c->kind != NULL ? c->kind->name : NULL;
    const struct tf_option *opt;
    char owners[128] = "";
    const char *best = NULL;
    struct guess g;
    size_t i, n;

    if (name != NULL) {
        for (i = 0; tf__jobs[i] != NULL; i++) {
            if (tf__jobs[i] == c->kind ||
                find_option(tf__jobs[i]->options, name, 0) == NULL)
                continue;
            n = strlen(owners);
            snprintf(owners + n, sizeof(owners) - n, "%s%s", n ? ", " : "",
                     tf__jobs[i]->name);
        }
        if (owners[0] != '\0' && job == NULL)
            return tf__error(err, TF_EUSAGE,
                             "option '%s' goes after the job it belongs to "
                             "(%s)",
                             a, owners);
        if (owners[0] != '\0')
            return tf__error(err, TF_EUSAGE,
                             "unknown option '%s' for job %s (an option of "
                             "%s)",
                             a, job, owners);
        guess_init(&g, name);
        for (opt = common_options; opt->name != NULL; opt++)
            guess_offer(&g, opt->name);
        for (opt = c->kind != NULL ? c->kind->options : NULL;
             opt != NULL && opt->name != NULL; opt++)
            guess_offer(&g, opt->name);
        best = guess_result(&g);
    }
    if (best != NULL)
        return tf__error(err, TF_EUSAGE,
                         "unknown option '%s'%s%s; did you mean '--%s'? (try "
                         "'taskfarm %s%s--help')",
                         a, job ? " for job " : "", job ? job : "", best,
                         job ? job : "", job ? " " : "");
    return tf__error(err, TF_EUSAGE,
                     "unknown option '%s'%s%s (try 'taskfarm %s%s--help')", a,
                     job ? " for job " : "", job ? job : "", job ? job : "",
                     job ? " " : "");
}

/*
 * The hidden --list-commands and --list-options [JOB], which the shell's
 * completion reads: names one per line, each option followed by the name
 * of its argument when it takes one. They are left out of --help, being of
 * no use to a person. Returns 1 (exit 0) or TF_EUSAGE.
 */
static int
list_names(int argc, char **argv, struct tf_error *err)
{
    const struct tf_option *tables[2] = {common_options, NULL};
    const struct tf_job_kind *kind;
    const struct tf_option *opt;
    const struct command *cmd;
    int max_args = strcmp(argv[1], "--list-options") == 0 ? 3 : 2;
    size_t i;

    if (argc > max_args)
        return tf__error(err, TF_EUSAGE, "unexpected argument '%s'",
                         argv[max_args]);
    if (max_args == 2) {
        for (i = 0; tf__jobs[i] != NULL; i++)
            printf("%s\n", tf__jobs[i]->name);
        for (cmd = other_commands; cmd->name != NULL; cmd++)
            printf("%s\n", cmd->name);
        return 1;
    }
    if (argc == 3) {
        kind = tf__job_find(argv[2]);
        if (kind == NULL)
            return unknown_job(argv[2], err);
        tables[1] = kind->options;
    }
    for (i = 0; i < 2; i++) {
        for (opt = tables[i]; opt != NULL && opt->name != NULL; opt++) {
            printf("--%s%s%s\n", opt->name, opt->arg ? " " : "",
                   opt->arg ? opt->arg : "");
            if (opt->short_name != 0)
                printf("-%c%s%s\n", opt->short_name, opt->arg ? " " : "",
                       opt->arg ? opt->arg : "");
        }
    }
    return 1;
}

/* Refuses a command line without a job, with a short usage. */
static int
no_job(struct tf_error *err)
{
    char jobs[256] = "";
    size_t i, n;

    for (i = 0; tf__jobs[i] != NULL; i++) {
        n = strlen(jobs);
        snprintf(jobs + n, sizeof(jobs) - n, "%s%s", i > 0 ? ", " : "",
                 tf__jobs[i]->name);
    }
    return tf__error(err, TF_EUSAGE,
                     "no job given: taskfarm [options] JOB [job options] "
                     "[FILE|-], JOB one of %s (try 'taskfarm --help')",
                     jobs);
}

/*
 * Parses argv: common options, the job name, then job and common options
 * mixed with positional arguments. Returns 0, 1 to exit 0, or TF_EUSAGE.
 */
static int
parse_args(struct cli *c, int argc, char **argv, struct tf_error *err)
{
    bool options_done = false;
    int npos = 0;
    int i;

    if (argc > 1 && (strcmp(argv[1], "--list-commands") == 0 ||
                     strcmp(argv[1], "--list-options") == 0))
        return list_names(argc, argv, err);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct tf_option *opt;
        const char *value = NULL;
        bool common = true;
        char name[64];
        char typed[72];
        int rc;

        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (c->kind == NULL) {
                c->kind = tf__job_find(a);
                if (c->kind == NULL)
                    return unknown_job(a, err);
                continue;
            }
            if (!c->kind->reads_lines) {
                /* A job's own positional arguments: "1", "2", ... */
                static const char *const names[] = {"1", "2", "3", "4",
                                                    "5", "6", "7", "8"};

                if (npos >= 8 || tf__opts_set(&c->opts, names[npos], a) < 0)
                    return tf__error(err, TF_EUSAGE, "unexpected argument '%s'",
                                     a);
                npos++;
                continue;
            }
            if (npos++ > 0)
                return tf__error(err, TF_EUSAGE, "unexpected argument '%s'", a);
            c->input = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

            if (len >= sizeof(name))
                len = sizeof(name) - 1;
            memcpy(name, a + 2, len);
            name[len] = '\0';
            if (eq != NULL)
                value = eq + 1;
            opt = find_option(common_options, name, 0);
            if (opt == NULL && c->kind != NULL) {
                opt = find_option(c->kind->options, name, 0);
                common = false;
            }
        } else {
            opt = find_option(common_options, NULL, a[1]);
            if (opt == NULL && c->kind != NULL) {
                opt = find_option(c->kind->options, NULL, a[1]);
                common = false;
            }
            if (opt != NULL && a[2] != '\0') {
                if (opt->arg == NULL)
                    return tf__error(err, TF_EUSAGE,
                                     "unknown option '%s' (options take one "
                                     "letter each)",
                                     a);
                value = a + 2;
            }
        }
        if (opt == NULL)
            return unknown_option(c, a, a[1] == '-' ? name : NULL, err);
        if (opt->arg != NULL && value == NULL) {
            if (i + 1 >= argc)
                return tf__error(err, TF_EUSAGE, "option '%s' needs %s", a,
                                 opt->arg);
            value = argv[++i];
        } else if (opt->arg == NULL && value != NULL && a[1] == '-') {
            return tf__error(err, TF_EUSAGE, "option '--%s' takes no value",
                             opt->name);
        }
        if (a[1] == '-')
            snprintf(typed, sizeof(typed), "--%s", opt->name);
        else
            snprintf(typed, sizeof(typed), "-%c", a[1]);
        rc = apply(c, opt, typed, value, common, err);
        if (rc != 0)
            return rc;
    }
    if (c->kind == NULL)
        return no_job(err);
    if (c->kind->reads_lines && c->input == NULL) {
        if (isatty(STDIN_FILENO))
            return tf__error(err, TF_EUSAGE,
                             "%s: no task file given (use - for standard "
                             "input)",
                             c->kind->name);
        c->input = "-";
    }
    return 0;
}

static int
exit_for(int rc)
{
    if (rc == TF_EUSAGE || rc == TF_EINPUT)
        return TF__EXIT_USAGE;
    return TF__EXIT_SYSTEM;
}

static void
summary(const struct tf__farm_stats *s)
{
    double secs = (double)s->wall_us / 1e6;

    char skipped[64] = "";

    if (s->skipped > 0)
        snprintf(skipped, sizeof(skipped), ", %llu skipped (done before)",
                 (unsigned long long)s->skipped);
    tf__log(TF_LOG_INFO,
            "%llu tasks, %llu failed%s, %.3f s, %d workers (%s), %.0f "
            "tasks/s",
            (unsigned long long)s->tasks, (unsigned long long)s->failed,
            skipped, secs, s->nworkers, s->transport,
            secs > 0 ? (double)s->tasks / secs : 0.0);
}

/*
 * Reads what the run being resumed recorded in its joblog and results
 * file, and what its store holds of output it never wrote (the results
 * file, or the joblog's spool). With TRIM, cuts a line the killed run left
 * half written off the joblog, so that this run appends after whole lines;
 * --dry-run changes no file. TMPL (may be NULL) is the run's template.
 */
static int
load_resume(const struct cli *c, bool trim, const struct tf__template *tmpl,
            struct tf__resume **out, struct tf_error *err)
{
    struct tf__resume *r = NULL;
    struct tf_buf spool;
    uint64_t valid = 0;
    struct stat st;
    int rc;

    tf_buf_init(&spool, 0);
    rc = tf__resume_new(&r, err);
    if (rc == 0)
        tf__resume_set_template(r, tmpl);
    if (rc == 0 && c->joblog != NULL) {
        rc = tf__resume_load_joblog(r, c->joblog, &valid, err);
        if (rc == 0 && trim && stat(c->joblog, &st) == 0 &&
            (uint64_t)st.st_size > valid &&
            truncate(c->joblog, (off_t)valid) < 0)
            rc = tf__error_errno(err, TF_EUSAGE, errno, "%s", c->joblog);
    }
    if (rc == 0 && c->results != NULL)
        rc = tf__resume_load_results(r, c->results, err);
    else if (rc == 0 && c->joblog != NULL) {
        rc = tf__sink_spool_path(c->joblog, &spool) < 0
                 ? tf__error(err, TF_ENOMEM, "out of memory")
                 : tf__resume_load_store(r, (char *)spool.data, err);
    }
    tf_buf_cleanup(&spool);
    if (rc < 0) {
        tf__resume_free(r);
        /* A record that cannot be read is the user's to mend: exit 2. */
        if (rc == TF_EINPUT && err != NULL)
            err->code = TF_EUSAGE;
        return rc == TF_EINPUT ? TF_EUSAGE : rc;
    }
    *out = r;
    return 0;
}

/*
 * The run job's --template and --colsep, compiled: *OUT stays NULL for a
 * job without them. A bad one is TF_EUSAGE.
 */
static int
run_template(const struct cli *c, struct tf__template **out,
             struct tf_error *err)
{
    const char *tmpl = tf_opts_get(&c->opts, "template");

    *out = NULL;
    if (tmpl == NULL)
        return 0;
    return tf__template_compile(tmpl, tf_opts_get(&c->opts, "colsep"), out,
                                err);
}

/* The joblog's Command column of a template run: the command as run. */
static int
template_label(void *arg, const struct tf__done *d, struct tf_buf *out)
{
    return tf__template_apply(arg, d->cmd, d->cmd_len, d->id, d->worker + 1,
                              out);
}

/* DIR/BASE of PATH with DIR made absolute and without links, in OUT (of
 * PATH_MAX bytes); false when DIR does not exist. */
static bool
canonical(const char *path, char *out)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);

    if (n >= sizeof(dir))
        return false;
    memcpy(dir, slash == NULL ? "." : path, n);
    dir[n] = '\0';
    if (realpath(dir, out) == NULL)
        return false;
    return strlen(out) + 1 + strlen(base) < PATH_MAX &&
           strcat(strcat(out, "/"), base) != NULL;
}

/* Whether paths A and B name one file: the same inode when both exist,
 * else the same place. */
static bool
same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    struct stat sa, sb;

    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return canonical(a, ra) && canonical(b, rb) && strcmp(ra, rb) == 0;
}

/*
 * Refuses, before any file is touched, a command line whose files would
 * overwrite each other: a record file or the output that is the task file,
 * the joblog and the results file (or the output) being one file, or a
 * record file that is standard output.
 */
static int
check_paths(const struct cli *c, struct tf_error *err)
{
    struct {
        const char *opt;
        const char *path;
    } f[5];
    struct tf_buf spool;
    struct stat out, st;
    size_t n = 0, i, j;
    int rc = 0;

    tf_buf_init(&spool, 0);
    if (c->input != NULL && strcmp(c->input, "-") != 0) {
        f[n].opt = "the task file";
        f[n++].path = c->input;
    }
    if (c->joblog != NULL) {
        f[n].opt = "--joblog";
        f[n++].path = c->joblog;
        if (tf__sink_spool_path(c->joblog, &spool) == 0) {
            f[n].opt = "the joblog's spool file";
            f[n++].path = (char *)spool.data;
        }
    }
    if (c->results != NULL) {
        f[n].opt = "--results";
        f[n++].path = c->results;
    }
    if (c->output != NULL) {
        f[n].opt = "--output";
        f[n++].path = c->output;
    }
    for (i = 0; i < n && rc == 0; i++)
        for (j = i + 1; j < n && rc == 0; j++)
            if (same_file(f[i].path, f[j].path))
                rc = tf__error(err, TF_EUSAGE,
                               "%s and %s are one file (%s): one would "
                               "overwrite the other",
                               f[i].opt, f[j].opt, f[j].path);
    /* Standard output into a record file or the task file. */
    if (c->output == NULL && fstat(STDOUT_FILENO, &out) == 0 &&
        S_ISREG(out.st_mode))
        for (i = 0; i < n && rc == 0; i++)
            if (stat(f[i].path, &st) == 0 && st.st_dev == out.st_dev &&
                st.st_ino == out.st_ino)
                rc = tf__error(err, TF_EUSAGE,
                               "standard output is %s (%s): the output "
                               "would overwrite it",
                               f[i].opt, f[i].path);
    tf_buf_cleanup(&spool);
    return rc;
}

/* Opens --output: created when missing, not truncated yet. */
static int
open_output(const struct cli *c, int *fd, struct tf_error *err)
{
    struct stat st;

    *fd = STDOUT_FILENO;
    if (c->output == NULL)
        return 0;
    *fd = open(c->output, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0 || fstat(*fd, &st) < 0)
        return tf__error_errno(err, TF_EUSAGE, errno, "%s", c->output);
    return 0;
}

/*
 * Readies --output for writing: a new run starts it empty; a resumed run
 * appends, after cutting it back to the size it had when the last task
 * the results file records as written was in it.
 */
static int
ready_output(const struct cli *c, int fd, const struct tf__resume *resume,
             struct tf_error *err)
{
    char path[PATH_MAX];
    uint64_t size = 0;
    struct stat st;
    bool cut = !c->resume;

    if (c->output == NULL)
        return 0;
    if (fstat(fd, &st) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "%s", c->output);
    if (!S_ISREG(st.st_mode))
        return 0; /* a FIFO or a device: nothing to cut */
    if (c->resume && resume != NULL && realpath(c->output, path) != NULL &&
        tf__resume_output_size(resume, path, &size) &&
        (uint64_t)st.st_size > size)
        cut = true;
    if (cut && ftruncate(fd, (off_t)size) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "cutting back %s",
                               c->output);
    if (lseek(fd, 0, SEEK_END) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "%s", c->output);
    return 0;
}

/* How many more processes this user may start (ulimit -u), or
 * UINT64_MAX when there is no limit (or it does not bind root). */
static uint64_t
user_room(void)
{
    struct rlimit rl;
    struct dirent *e;
    uint64_t n = 0;
    uid_t uid = getuid();
    DIR *d;

    if (getrlimit(RLIMIT_NPROC, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        geteuid() == 0)
        return UINT64_MAX;
    d = opendir("/proc");
    if (d == NULL)
        return UINT64_MAX;
    while ((e = readdir(d)) != NULL) {
        char path[300];
        struct stat st;

        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s", e->d_name);
        if (stat(path, &st) == 0 && st.st_uid == uid)
            n++;
    }
    closedir(d);
    return (uint64_t)rl.rlim_cur > n ? (uint64_t)rl.rlim_cur - n : 0;
}

/*
 * The number of local workers to fork: -j N (default one per CPU), but no
 * more than the task file has tasks, and refused in one line when the
 * system would not let that many start (each worker and the process of its
 * task). Under MPI the job's size decides, and this is not asked.
 */
static int
size_workers(const struct cli *c, int *nworkers, struct tf_error *err)
{
    struct tf__source *src = NULL;
    uint64_t n = c->jobs > 0 ? c->jobs : (uint64_t)tf__online_cpus();
    uint64_t count = 0;
    uint64_t room, user;
    int rc;

    if (strcmp(c->backend, "mpi") == 0 ||
        (strcmp(c->backend, "auto") == 0 && tf__mpi_launched()))
        return 0;
    if (c->kind->reads_lines && strcmp(c->input, "-") != 0) {
        rc = tf__source_open(c->input, (size_t)c->max_line, &src, err);
        if (rc == 0) {
            tf__source_set_every_line(src, tf_opts_get(&c->opts, "template") !=
                                               NULL);
            rc = tf__source_prescan(src, &count, err);
        }
        tf__source_close(src);
        if (rc < 0)
            return rc;
        if (rc == 0 && count < n)
            n = count > 0 ? count : 1;
    }
    room = tf__cgroup_room("pids", NULL);
    user = user_room();
    if (2 * n > room || 2 * n > user)
        return tf__error(err, TF_EUSAGE,
                         "-j: %llu workers and their tasks need %llu "
                         "processes, and only %llu more may start here (%s)",
                         (unsigned long long)n, (unsigned long long)(2 * n),
                         (unsigned long long)(room < user ? room : user),
                         room < user ? "the cgroup's pids.max" : "ulimit -u");
    *nworkers = (int)n;
    return 0;
}

/*
 * SIGINT, SIGTERM, SIGHUP (Ctrl-C, or a batch system ending the job) stop
 * the run in order: no new tasks, running ones ended, results written. A
 * second one ends the master at once.
 */
static void
on_stop_signal(int sig)
{
    if (tf__stop_signal() != 0) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    tf__request_stop(sig);
}

/* Makes FN the handler of SIG (system calls it interrupts fail with
 * EINTR, so that the loops waiting in them look at the request). */
static void
catch_signal(int sig, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void
catch_stop_signals(void)
{
    catch_signal(SIGINT, on_stop_signal);
    catch_signal(SIGTERM, on_stop_signal);
    catch_signal(SIGHUP, on_stop_signal);
}

/*
 * SIGUSR1 (Slurm's warning that the job's time is nearly up, sent with
 * --signal=B:USR1@SECONDS) drains the run: no new tasks, running ones
 * finish. Installed on every rank before the workers start, so that a
 * worker rank mpirun passes it to lives on; a handler, not SIG_IGN, so
 * that the tasks the workers start see the default.
 */
static void
on_drain_signal(int sig)
{
    tf__request_drain(sig);
}

/* SIGUSR2 asks for a snapshot of the run; installed on every rank, as
 * SIGUSR1 is, so that the worker ranks mpirun passes it to live on. */
static void
on_snapshot_signal(int sig)
{
    tf__request_snapshot(sig);
}

/* The progress a run shows: --progress and --no-progress, else a line on
 * a terminal and status lines in a log (none with --quiet). */
static void
setup_progress(const struct cli *c, struct tf_pool *pool,
               struct tf__progress *p, uint64_t t0)
{
    enum tf__progress_mode mode = tf__progress_auto(STDERR_FILENO);

    if (c->progress < 0 || (c->progress == 0 && c->quiet))
        mode = TF__PROGRESS_OFF;
    else if (c->progress > 0)
        mode = TF__PROGRESS_LINE;
    tf__progress_init(p, mode, STDERR_FILENO, c->status_us, t0);
    /* Also without a line: the snapshot SIGUSR2 asks for. */
    tf__progress_watch(p, tf__pool_session(pool));
}

/* Tells how to go on after a stopped run: the same command with --resume,
 * when the run kept a record to resume from. */
static void
resume_hint(const struct cli *c, int argc, char **argv)
{
    struct tf_buf cmd;
    int i;

    if (!c->kind->reads_lines) {
        /* --resume would refuse the command: say what to do instead. */
        tf__log(TF_LOG_ERROR,
                "job %s cannot be resumed: run it again to do it all",
                c->kind->name);
        return;
    }
    if (c->joblog == NULL && c->results == NULL) {
        tf__log(TF_LOG_ERROR, "to resume a run later, give it --joblog FILE "
                              "or --results FILE");
        return;
    }
    tf_buf_init(&cmd, 0);
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0)
            continue;
        if (i > 0)
            tf_buf_puts(&cmd, " ");
        if (tf_shell_quote(argv[i], strlen(argv[i]), &cmd) < 0)
            break;
        if (i == 0)
            tf_buf_puts(&cmd, " --resume");
    }
    if (cmd.data != NULL)
        tf__log(TF_LOG_ERROR, "to finish the run: %s", (char *)cmd.data);
    tf_buf_cleanup(&cmd);
}

/* When the tasks may go out and until when: --history, --order lpt and
 * the deadline. */
static void
make_plan(const struct cli *c, struct tf__history *history,
          struct tf__plan *plan)
{
    double end;

    memset(plan, 0, sizeof(*plan));
    plan->history = history;
    plan->lpt = c->lpt;
    end = c->deadline > 0 ? c->deadline : slurm_end_time();
    if (end > 0) {
        double left = end - wall_now();
        uint64_t now = tf__now_us();

        plan->deadline_us = left > 0 ? now + (uint64_t)(left * 1e6) : 1;
        plan->margin_us = c->margin_us;
        if (!c->have_margin) {
            plan->margin_us = 60000000u;
            if (left > 0 && left * 1e5 < (double)plan->margin_us)
                plan->margin_us = (uint64_t)(left * 1e5);
        }
    }
}

/* What a line run holds open, freed by close_lines(). */
struct lines_run {
    struct tf__sink *sink;
    struct tf__results *results;
    struct tf__resume *resume;
    struct tf__history *history;
    struct tf__template *tmpl;
    struct tf__results_reader *replay;
    int out_fd;
};

/* Whether the joblog spool of the run resumed holds task ID's output
 * unwritten (the sink's question). */
static bool
resume_unmarked(void *arg, uint64_t id)
{
    return tf__resume_unmarked(arg, id);
}

/*
 * Opens a line run's files in an order that touches nothing before it is
 * safe: the results file and the joblog are locked (another run may have
 * them) before a resumed run reads them, and --output is cut back only
 * once the records say to where.
 */
static int
open_lines(const struct cli *c, struct lines_run *lr, struct tf_error *err)
{
    struct tf__sink_opts so;
    int rc;

    rc = run_template(c, &lr->tmpl, err);
    if (rc == 0 && c->history != NULL)
        rc = tf__history_load(c->history, &lr->history, err);
    /* Appended to, never truncated: an earlier run's records stay. */
    if (rc == 0 && c->results != NULL) {
        rc = tf__results_open(c->results, c->sync_us, &lr->results, err);
        if (rc == TF_ESYS)
            err->code = rc = TF_EUSAGE;
    }
    if (rc == 0)
        rc = open_output(c, &lr->out_fd, err);
    if (rc < 0)
        return rc;
    memset(&so, 0, sizeof(so));
    so.out_fd = lr->out_fd;
    so.out_path = c->output;
    so.err_fd = STDERR_FILENO;
    so.joblog = c->joblog;
    so.append = c->resume;
    so.tag = c->tag;
    so.results = lr->results;
    so.sync_us = c->sync_us;
    if (lr->tmpl != NULL) {
        so.label = template_label;
        so.label_arg = lr->tmpl;
    }
    rc = tf__sink_open(&so, &lr->sink, err);
    if (rc == 0 && c->resume)
        rc = load_resume(c, true, lr->tmpl, &lr->resume, err);
    if (rc == 0 && lr->resume != NULL &&
        tf__resume_store_path(lr->resume) != NULL)
        rc = tf__results_reader_open(tf__resume_store_path(lr->resume),
                                     &lr->replay, err);
    if (rc == 0)
        rc = ready_output(c, lr->out_fd, lr->resume, err);
    if (rc == 0 && lr->results == NULL && lr->resume != NULL)
        rc = tf__sink_start(lr->sink, resume_unmarked, lr->resume, err);
    else if (rc == 0)
        rc = tf__sink_start(lr->sink, NULL, NULL, err);
    return rc;
}

/* Closes what open_lines() opened: writing what waits when the run ended
 * in order (ORDERLY), else dropping it. Returns the first error. */
static int
close_lines(struct lines_run *lr, bool orderly, struct tf_error *err)
{
    int rc;
    int rc2;

    rc = tf__sink_close(lr->sink, orderly ? err : NULL);
    rc2 = tf__results_close(lr->results, orderly && rc == 0 ? err : NULL);
    if (rc == 0)
        rc = rc2;
    if (lr->out_fd != STDOUT_FILENO && lr->out_fd >= 0 &&
        close(lr->out_fd) < 0 && rc == 0 && orderly)
        rc = tf__error_errno(err, TF_ESYS, errno, "closing the output");
    tf__results_reader_close(lr->replay);
    tf__resume_free(lr->resume);
    tf__history_free(lr->history);
    tf__template_free(lr->tmpl);
    return rc;
}

/* The master's part of a line-reading job: output, records, summary. */
static int
run_lines(const struct cli *c, struct tf_pool *pool, uint64_t t0,
          struct tf_error *err)
{
    struct tf__farm_stats stats;
    struct tf__linerun run;
    struct lines_run lr;
    struct tf__plan plan;
    bool halted = false, drained = false;
    int rc;
    int rc2;

    memset(&stats, 0, sizeof(stats));
    memset(&lr, 0, sizeof(lr));
    lr.out_fd = -1;
    rc = open_lines(c, &lr, err);
    if (rc == 0) {
        make_plan(c, lr.history, &plan);
        memset(&run, 0, sizeof(run));
        run.input = c->input;
        run.max_line = (size_t)c->max_line;
        run.every_line = lr.tmpl != NULL;
        run.sink = lr.sink;
        run.unordered = c->unordered;
        run.resume = lr.resume;
        run.rerun_failed = c->resume_failed;
        run.replay = lr.replay;
        run.halt = c->have_halt ? &c->halt : NULL;
        run.plan = &plan;
        run.keep = c->joblog != NULL || c->results != NULL;
        run.keep_after_us = c->sync_us;
        run.spool_dir = c->tmpdir;
        run.end_on_error = true;
        run.measure = c->results != NULL;
        rc = tf__farm_lines(tf__pool_session(pool), &run, &stats, err);
    }
    rc2 = close_lines(&lr,
                      rc == 0 || rc == TF__EHALTED || rc == TF__EDEADLINE ||
                          rc == TF__ESTOPPED,
                      err);
    if (rc == 0 || (rc2 < 0 && (rc == TF__EHALTED || rc == TF__EDEADLINE ||
                                rc == TF__ESTOPPED)))
        rc = rc2;
    if (rc == TF__EHALTED) {
        tf__log(TF_LOG_ERROR, "%s", err->msg);
        halted = true;
    } else if (rc == TF__EDEADLINE) {
        tf__log(TF_LOG_ERROR, "%s", err->msg);
        drained = true;
    } else if (rc < 0) {
        return rc;
    }
    if (!c->quiet) {
        stats.wall_us = tf__now_us() - t0;
        stats.nworkers = tf_pool_nworkers(pool);
        stats.transport = tf__session_transport(tf__pool_session(pool));
        summary(&stats);
    }
    if (halted)
        return c->halt.on_success ? 0 : TF__EXIT_HALTED;
    if (drained)
        return TF__EXIT_DEADLINE;
    return stats.failed > 0 ? 1 : 0;
}

/*
 * --dry-run: prints the command of each task of a line-reading job and
 * starts no worker. The job's options are checked as for a run (its init
 * and fini run in this process alone), --resume leaves out what the earlier
 * run finished, without changing its files, and --order lpt sets the
 * order. Under mpirun only rank 0 prints. Returns the exit status.
 */
static int
dry_run(struct cli *c)
{
    struct tf__template *tmpl = NULL;
    struct tf__history *history = NULL;
    struct tf__resume *resume = NULL;
    struct tf__dryrun d;
    struct tf_error err;
    char jobs[256] = "";
    char skipped[64] = "";
    void *state = NULL;
    size_t i, n;
    int rc = 0;

    tf_error_init(&err);
    memset(&d, 0, sizeof(d));
    if (!c->kind->reads_lines) {
        for (i = 0; tf__jobs[i] != NULL; i++) {
            if (!tf__jobs[i]->reads_lines)
                continue;
            n = strlen(jobs);
            snprintf(jobs + n, sizeof(jobs) - n, "%s%s", n ? ", " : "",
                     tf__jobs[i]->name);
        }
        refuse("--dry-run: job %s makes its own tasks; only the jobs that "
               "read task lines print them (%s)",
               c->kind->name, jobs);
        return TF__EXIT_USAGE;
    }
    if (c->kind->init != NULL) {
        rc = c->kind->init(&state, &c->opts, &err);
        if (rc < 0) {
            refuse("%s: %s", c->kind->name,
                   err.msg[0] ? err.msg : tf_strerror(rc));
            return exit_for(rc);
        }
        if (c->kind->fini != NULL)
            c->kind->fini(state);
    }
    if (quiet_rank())
        return TF__EXIT_OK;
    rc = run_template(c, &tmpl, &err);
    if (rc == 0 && c->resume)
        rc = load_resume(c, false, tmpl, &resume, &err);
    if (rc == 0 && c->history != NULL)
        rc = tf__history_load(c->history, &history, &err);
    if (rc == 0) {
        d.input = c->input;
        d.max_line = (size_t)c->max_line;
        d.tmpl = tmpl;
        d.nslots = c->jobs > 0 ? (int)c->jobs : tf__online_cpus();
        d.tag = c->tag;
        d.resume = resume;
        d.rerun_failed = c->resume_failed;
        d.history = history;
        d.lpt = c->lpt;
        rc = tf__dryrun_lines(&d, STDOUT_FILENO, &err);
    }
    tf__resume_free(resume);
    tf__history_free(history);
    tf__template_free(tmpl);
    if (rc < 0) {
        tf__log(TF_LOG_ERROR, "%s", err.msg);
        return exit_for(rc);
    }
    if (rc == TF__DRYRUN_CLOSED)
        return TF__EXIT_OK; /* the reader had what it wanted */
    if (!c->quiet) {
        if (d.skipped > 0)
            snprintf(skipped, sizeof(skipped), ", %llu skipped (done before)",
                     (unsigned long long)d.skipped);
        tf__log(TF_LOG_INFO, "dry run: %llu tasks%s, none started",
                (unsigned long long)d.tasks, skipped);
    }
    return TF__EXIT_OK;
}

/*
 * Runs a job that makes its own tasks: its master writes to --output FILE
 * (or standard output), and the pool keeps the records --joblog and
 * --results ask for. Returns what the master returned, or the first error
 * of the files.
 */
static int
run_master(const struct cli *c, void *state, struct tf_pool *pool,
           struct tf_error *err)
{
    struct tf_records r;
    struct tf_job_io io;
    struct tf_error cerr;
    int rc, rc2;

    memset(&r, 0, sizeof(r));
    r.joblog = c->joblog;
    r.results = c->results;
    r.sync_us = c->sync_us;
    r.by_hand = c->kind->records_by_hand;
    r.label = c->kind->label;
    r.label_arg = state;
    io.out = stdout;
    if (c->output != NULL) {
        io.out = fopen(c->output, "w");
        if (io.out == NULL)
            return tf__error_errno(err, TF_EUSAGE, errno, "%s", c->output);
    }
    rc = tf_pool_records(pool, &r, err);
    if (rc == 0)
        rc = c->kind->master(state, pool, &io, err);
    tf_error_init(&cerr);
    rc2 = tf_pool_records(pool, NULL, rc >= 0 ? err : &cerr);
    if (rc >= 0 && rc2 < 0)
        rc = rc2;
    if (fflush(io.out) == EOF && rc >= 0)
        rc = tf__error_errno(err, TF_ESYS, errno, "writing %s",
                             c->output != NULL ? c->output : "standard output");
    if (io.out != stdout && fclose(io.out) == EOF && rc >= 0)
        rc = tf__error_errno(err, TF_ESYS, errno, "writing %s", c->output);
    return rc;
}

int
main(int argc, char **argv)
{
    struct tf_config cfg;
    struct tf_error err;
    struct tf__progress progress;
    struct tf_pool *pool = NULL;
    struct cli c;
    void *state = NULL;
    uint64_t t0 = tf__now_us();
    int rc;
    int rc2;

    memset(&c, 0, sizeof(c));
    c.backend = "auto";
    c.max_line = TF__DEFAULT_MAX_LINE;
    c.sync_us = 1000000;
    tf__opts_init(&c.opts);
    tf_error_init(&err);
    /* The library is silent; the command says what it has to say. */
    tf__tool_log_start(TF_LOG_INFO);
    /* A closed pipe is a write error to report, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    /* Not a job: reading a results file back. */
    if (argc > 1 && strcmp(argv[1], "results") == 0)
        return tf__results_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "report") == 0)
        return tf__report_main(argc - 1, argv + 1);
    rc = parse_args(&c, argc, argv, &err);
    if (rc == 1)
        return TF__EXIT_OK;
    if (rc < 0) {
        refuse("%s", err.msg);
        return TF__EXIT_USAGE;
    }
    if (c.resume && c.joblog == NULL && c.results == NULL) {
        refuse("--resume needs --joblog FILE or --results FILE: the record "
               "of the run to resume");
        return TF__EXIT_USAGE;
    }
    if (c.lpt && c.history == NULL) {
        refuse("--order lpt needs --history FILE: the joblog or results "
               "file of an earlier run");
        return TF__EXIT_USAGE;
    }
    if (c.dry_run)
        return dry_run(&c);
    if (c.resume && !c.kind->reads_lines) {
        refuse("--resume: job %s makes its own tasks and cannot be resumed "
               "(only the jobs that read task lines can); run it again "
               "without --resume",
               c.kind->name);
        return TF__EXIT_USAGE;
    }
    rc = check_paths(&c, &err);
    if (rc < 0) {
        refuse("%s", err.msg);
        return TF__EXIT_USAGE;
    }
    if (c.quiet)
        tf__log_set_level(TF_LOG_WARN);
    if (c.kind->init != NULL) {
        rc = c.kind->init(&state, &c.opts, &err);
        if (rc < 0) {
            refuse("%s: %s", c.kind->name,
                   err.msg[0] ? err.msg : tf_strerror(rc));
            return exit_for(rc);
        }
    }
    catch_signal(SIGUSR1, on_drain_signal);
    catch_signal(SIGUSR2, on_snapshot_signal);
    tf_config_init(&cfg);
    cfg.backend = c.backend;
    cfg.nworkers = (int)c.jobs;
    rc = size_workers(&c, &cfg.nworkers, &err);
    if (rc < 0) {
        refuse("%s", err.msg);
        if (c.kind->fini != NULL)
            c.kind->fini(state);
        return exit_for(rc);
    }
    cfg.chunksize = c.chunk;
    cfg.threads_per_worker = (int)c.threads;
    cfg.gpus_per_worker = (int)c.gpus_per_worker;
    cfg.gpus = c.gpus;
    cfg.bind = c.bind_cores ? TF_BIND_CORES : TF_BIND_NONE;
    cfg.mem_per_task = c.mem_per_task;
    cfg.retries = (unsigned)c.retries;
    cfg.timeout_us = c.timeout_us;
    cfg.timeout_pct = (unsigned)c.timeout_pct;
    cfg.kill_grace_us = c.grace_us;
    cfg.log = tf__tool_log;
    rc = tf_register(c.kind->name, c.kind->run, state);
    if (rc == 0)
        rc = tf_init(&cfg, &pool, &err);
    else
        tf__error(&err, rc, "cannot register job %s", c.kind->name);
    if (rc == TF_WORKER_DONE) {
        if (c.kind->fini != NULL)
            c.kind->fini(state);
        return TF__EXIT_OK;
    }
    if (rc < 0) {
        if (!quiet_rank())
            tf__log(TF_LOG_ERROR, "%s", err.msg);
        if (c.kind->fini != NULL)
            c.kind->fini(state);
        return exit_for(rc);
    }
    catch_stop_signals();
    setup_progress(&c, pool, &progress, t0);
    if (c.kind->reads_lines)
        rc = run_lines(&c, pool, t0, &err);
    else if (c.kind->master != NULL)
        rc = run_master(&c, state, pool, &err);
    else
        rc = tf__error(&err, TF_EUSAGE, "job %s has nothing to run",
                       c.kind->name);
    if ((rc >= 0 || rc == TF_EINPUT || rc == TF_EUSAGE || rc == TF_ETASK) &&
        !tf__session_busy(tf__pool_session(pool))) {
        /* The workers are idle: stop them in order. */
        rc2 = tf_finalize(pool, rc >= 0 ? &err : NULL);
        if (rc >= 0 && rc2 < 0)
            rc = rc2;
    } else {
        tf__pool_abort(pool);
    }
    if (c.kind->fini != NULL)
        c.kind->fini(state);
    if (rc == TF_ETASK)
        rc = 1; /* the job reported its failed tasks */
    if (rc == TF__ESTOPPED) {
        tf__log(TF_LOG_ERROR, "%s; the results that arrived are written",
                err.msg);
        resume_hint(&c, argc, argv);
        return 128 + tf__stop_signal();
    }
    if (rc < 0) {
        tf__log(TF_LOG_ERROR, "%s", err.msg);
        return exit_for(rc);
    }
    if (rc == TF__EXIT_HALTED)
        return TF__EXIT_HALTED;
    if (rc == TF__EXIT_DEADLINE) {
        resume_hint(&c, argc, argv);
        return TF__EXIT_DEADLINE;
    }
    return rc > 0 ? TF__EXIT_TASK_FAIL : TF__EXIT_OK;
}
