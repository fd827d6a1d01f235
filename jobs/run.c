/* run.c - each line of the task file is a shell command */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "taskfarm.h"

extern char **environ;

#define MAX_WORDS 64
#define READ_STEP 65536
/* Output a task has written goes to the master once this much waits. */
#define STREAM_AT ((size_t)1 << 20)
/* A command this long or longer is no argument the kernel passes on (its
 * limit for one, MAX_ARG_STRLEN, is 128 KiB): the shell reads it from a
 * file instead. */
#define SCRIPT_AT ((size_t)128 * 1024 - 1)

/* The variables that tell a task where it runs, made once per worker. */
#define RUN_NVARS 7

struct run_state {
    struct tf_template *tmpl; /* owned; NULL: no template */
    char **envp;         /* owned array; strings owned where noted */
    size_t nenv;         /* entries before the RUN_NVARS + 1 of ours */
    char id_var[48];     /* TASKFARM_TASK_ID=... rewritten per task */
    char *vars[RUN_NVARS]; /* owned: TASKFARM_WORKER=... and the others */
    int env_worker;      /* worker the variables above were made for */
    struct tf_buf cmd;   /* owned: the expanded command */
    struct tf_buf words; /* owned: argv strings of a direct exec */
    char last_name[256]; /* the program resolve() found last */
    char last_path[4096];
};

static const struct tf_option run_options[] = {
    {"template", 0, "TMPL",
     "turn each input line into a command: {} is the line (quoted for the "
     "shell), {.} without extension, {/} basename, {//} dirname, {/.} "
     "basename without extension, {#} task id, {%} worker slot, and with "
     "--colsep {1} {2} ... its columns ({1/.} and so on); every line is "
     "then a task, empty or starting with # as well (default: none, the "
     "line itself is the command)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"colsep", 0, "SEP",
     "with --template, split each line into columns at SEP, a literal "
     "string (\\t a TAB, \\s+ runs of blanks) (default: none, {1} is the "
     "whole line)",
     TF_OPT_TEXT, 0, 0, NULL},
    {0},
};

static void
run_fini(void *state)
{
    struct run_state *st = state;
    size_t i;

    if (st == NULL)
        return;
    free(st->envp);
    for (i = 0; i < RUN_NVARS; i++)
        free(st->vars[i]);
    tf_buf_cleanup(&st->cmd);
    tf_buf_cleanup(&st->words);
    tf_template_free(st->tmpl);
    free(st);
}

static int
run_init(void **state, const struct tf_opts *opts, struct tf_error *err)
{
    const char *tmpl = tf_opts_get(opts, "template");
    const char *colsep = tf_opts_get(opts, "colsep");
    struct run_state *st;
    int rc;

    if (colsep != NULL && tmpl == NULL)
        return tf_error_set(err, TF_EUSAGE,
                            "--colsep needs --template: it splits the "
                            "lines into the columns {1} {2} ... of the "
                            "template");
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return TF_ENOMEM;
    st->env_worker = -1;
    tf_buf_init(&st->cmd, 0);
    tf_buf_init(&st->words, 0);
    if (tmpl != NULL) {
        rc = tf_template_compile(tmpl, colsep, &st->tmpl, err);
        if (rc < 0) {
            run_fini(st);
            return rc;
        }
    }
    *state = st;
    return 0;
}

/* The variables set_env() sets for every task of a worker, TASKFARM_ and
 * these names (and TASKFARM_TASK_ID), the last the host's. */
static const char *const run_vars[RUN_NVARS] = {
    "WORKER",       "NWORKERS",       "NODE", "NNODES",
    "LOCAL_WORKER", "LOCAL_NWORKERS", "HOST"};

/* Whether the variable "NAME=VALUE" at E is one that set_env() sets. */
static bool
ours(const char *e)
{
    size_t len;
    size_t i;

    if (strncmp(e, "TASKFARM_", 9) != 0)
        return false;
    e += 9;
    len = strcspn(e, "=");
    if (len == 7 && strncmp(e, "TASK_ID", 7) == 0)
        return true;
    for (i = 0; i < RUN_NVARS; i++)
        if (strlen(run_vars[i]) == len && strncmp(e, run_vars[i], len) == 0)
            return true;
    return false;
}

/* Builds the tasks' environment from the worker's, once per worker: the
 * worker has set its thread counts (OMP_NUM_THREADS...) by then. Our own
 * variables replace any inherited ones of the same name. */
static int
make_envp(struct run_state *st)
{
    size_t n = 0;
    size_t i;

    free(st->envp);
    st->nenv = 0;
    while (environ != NULL && environ[n] != NULL)
        n++;
    st->envp = calloc(n + RUN_NVARS + 2, sizeof(*st->envp));
    if (st->envp == NULL)
        return TF_ENOMEM;
    for (i = 0; i < n; i++)
        if (!ours(environ[i]))
            st->envp[st->nenv++] = environ[i];
    return 0;
}

static int
set_env(struct run_state *st, const struct tf_task *task)
{
    char *p;

    if (st->env_worker != task->worker) {
        const int values[RUN_NVARS - 1] = {
            task->worker, task->nworkers,     task->node,
            task->nnodes, task->local_worker, task->local_nworkers};
        size_t i;
        int len;

        if (make_envp(st) < 0)
            return TF_ENOMEM;
        for (i = 0; i < RUN_NVARS; i++) {
            free(st->vars[i]);
            if (i < RUN_NVARS - 1)
                len = asprintf(&st->vars[i], "TASKFARM_%s=%d", run_vars[i],
                               values[i]);
            else
                len = asprintf(&st->vars[i], "TASKFARM_%s=%s", run_vars[i],
                               task->host);
            if (len < 0) {
                st->vars[i] = NULL;
                return TF_ENOMEM;
            }
        }
        st->env_worker = task->worker;
        st->envp[st->nenv] = st->id_var;
        for (i = 0; i < RUN_NVARS; i++)
            st->envp[st->nenv + 1 + i] = st->vars[i];
        st->envp[st->nenv + 1 + RUN_NVARS] = NULL;
    }
    p = st->id_var;
    memcpy(p, "TASKFARM_TASK_ID=", 17);
    snprintf(p + 17, sizeof(st->id_var) - 17, "%llu",
             (unsigned long long)task->id);
    return 0;
}

/* Words that the shell gives a meaning of its own: a command starting with
 * one of them always goes through /bin/sh. */
static bool
shell_word(const char *w)
{
    static const char *const words[] = {
        ".",      ":",     "[",      "alias",    "bg",      "break",
        "case",   "cd",    "chdir",  "command",  "continue", "do",
        "done",   "echo",  "elif",   "else",     "esac",    "eval",
        "exec",   "exit",  "export", "false",    "fc",      "fg",
        "fi",     "for",   "function", "getopts", "hash",    "if",
        "in",     "jobs",  "kill",   "local",    "printf",  "pwd",
        "read",   "readonly", "return", "select", "set",    "shift",
        "source", "test",  "then",   "time",     "times",   "trap",
        "true",   "type",  "ulimit", "umask",    "unalias", "unset",
        "until",  "wait",  "while",  "!",        "{",       "}",
        NULL,
    };
    size_t i;

    for (i = 0; words[i] != NULL; i++)
        if (strcmp(w, words[i]) == 0)
            return true;
    return false;
}

/*
 * Splits CMD into words when it can be exec'd directly with the same effect
 * as `sh -c CMD`: only plain characters (no quotes, expansions, redirections,
 * globs or comments), no assignment before the command, and not a shell
 * builtin or keyword (a lone `true` or `false` behaves the same either
 * way). Returns the number of words, or 0 when the shell is needed.
 */
static int
split_plain(struct run_state *st, const char *cmd, size_t len,
            char *argv[MAX_WORDS + 1])
{
    char *p;
    int n = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)cmd[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              c == '/' || c == ':' || c == ',' || c == '+' || c == '@' ||
              c == '%' || c == '^' || c == '=' || c == ' ' || c == '\t'))
            return 0;
    }
    tf_buf_reset(&st->words);
    if (tf_buf_append(&st->words, cmd, len) < 0)
        return 0;
    p = (char *)st->words.data;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (n == MAX_WORDS)
            return 0;
        argv[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
    }
    argv[n] = NULL;
    if (n == 0 || strchr(argv[0], '=') != NULL)
        return 0;
    if (shell_word(argv[0]) &&
        !(n == 1 && (strcmp(argv[0], "true") == 0 ||
                     strcmp(argv[0], "false") == 0)))
        return 0;
    return n;
}

/*
 * Finds NAME in PATH as execvp() would, remembering the last answer: a task
 * file usually runs the same program many times. Returns NULL when it is not
 * found, and the shell then reports it.
 */
static const char *
resolve(struct run_state *st, const char *name)
{
    const char *path;
    const char *dir;

    if (strchr(name, '/') != NULL)
        return name;
    if (st->last_name[0] != '\0' && strcmp(st->last_name, name) == 0)
        return st->last_path;
    path = getenv("PATH");
    if (path == NULL)
        path = "/bin:/usr/bin";
    for (dir = path;; dir++) {
        const char *end = strchr(dir, ':');
        size_t dlen = end != NULL ? (size_t)(end - dir) : strlen(dir);

        if (dlen + strlen(name) + 2 < sizeof(st->last_path)) {
            if (dlen == 0)
                snprintf(st->last_path, sizeof(st->last_path), "%s", name);
            else
                snprintf(st->last_path, sizeof(st->last_path), "%.*s/%s",
                         (int)dlen, dir, name);
            if (access(st->last_path, X_OK) == 0) {
                snprintf(st->last_name, sizeof(st->last_name), "%s", name);
                return st->last_path;
            }
        }
        if (end == NULL)
            break;
        dir = end;
    }
    st->last_name[0] = '\0';
    return NULL;
}

static uint64_t
mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * The time limit of one task: past DEADLINE (0: none) its process group PG
 * gets SIGTERM, and GRACE_US later SIGKILL.
 */
struct limit {
    pid_t pg;
    uint64_t deadline;
    uint64_t grace_us;
    int stage; /* 0 running, 1 SIGTERM sent, 2 SIGKILL sent */
};

/* Acts on the limit if it passed; returns the milliseconds to wait before
 * looking again (-1: forever). */
static int
check_limit(struct limit *l, struct tf_result *res)
{
    uint64_t now;

    if (l->deadline == 0)
        return -1;
    now = mono_us();
    if (now >= l->deadline) {
        if (l->stage == 0) {
            kill(-l->pg, SIGTERM);
            res->timed_out = 1;
            l->stage = 1;
            l->deadline = now + l->grace_us;
        } else {
            kill(-l->pg, SIGKILL);
            l->stage = 2;
            l->deadline = 0;
            return -1;
        }
    }
    return (int)((l->deadline - now + 999) / 1000);
}

/* Reads the task's stdout and stderr until both are closed, keeping to
 * its time limit L. */
static int
collect(int out_fd, int err_fd, struct limit *l, struct tf_result *res)
{
    struct pollfd pfd[2];
    struct tf_buf *bufs[2] = {&res->out, &res->err};
    int open_fds = 2;
    int i;

    pfd[0].fd = out_fd;
    pfd[1].fd = err_fd;
    pfd[0].events = pfd[1].events = POLLIN;
    while (open_fds > 0) {
        if (poll(pfd, 2, check_limit(l, res)) < 0) {
            if (errno == EINTR)
                continue;
            return TF_ESYS;
        }
        for (i = 0; i < 2; i++) {
            ssize_t r;
            int rc;

            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            rc = tf_buf_reserve(bufs[i], READ_STEP);
            if (rc < 0)
                return rc;
            r = read(pfd[i].fd, bufs[i]->data + bufs[i]->len, READ_STEP);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                pfd[i].fd = -1;
                open_fds--;
                continue;
            }
            bufs[i]->len += (size_t)r;
            bufs[i]->data[bufs[i]->len] = '\0';
            /* A task may write more than a worker should hold: what waits
             * goes to the master as it comes. */
            if (res->out.len + res->err.len >= STREAM_AT) {
                rc = tf_result_flush(res);
                if (rc < 0)
                    return rc;
            }
        }
    }
    return 0;
}

/*
 * Waits for the task's process PID, keeping to its time limit L. It has
 * ended before it is reaped, and only then is its process group, which its
 * pid names, no longer noted for the master: a group id that is noted can
 * never be one the system has given out again. What it used, by wait4(),
 * goes to RES: CPU time of the process and of the descendants it waited
 * for, and the peak memory of the largest of them.
 */
static int
reap(pid_t pid, struct limit *l, struct tf_result *res, int *status)
{
    struct rusage ru;

    for (;;) {
        int wait_ms = check_limit(l, res);
        siginfo_t si;
        int r;

        si.si_pid = 0;
        r = waitid(P_PID, (id_t)pid, &si,
                   WEXITED | WNOWAIT | (wait_ms < 0 ? 0 : WNOHANG));
        if (r < 0 && errno != EINTR)
            return TF_ESYS;
        if (r == 0 && si.si_pid == pid) {
            tf_result_set_pgid(res, 0);
            while (wait4(pid, status, 0, &ru) < 0)
                if (errno != EINTR)
                    return TF_ESYS;
            tf_result_set_usage(
                res,
                (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
                        1000000u +
                    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec),
                (uint64_t)ru.ru_maxrss * 1024u, 0);
            return 0;
        }
        if (r == 0) {
            struct timespec nap = {0, 10000000};

            nanosleep(&nap, NULL);
        }
    }
}

/*
 * The signals a task must not inherit as they are in this worker: those
 * with a handler (a handler must never run in the child before exec, which
 * shares the worker's memory, and exec resets it anyway) and SIGPIPE,
 * which the worker ignores and an ignored signal stays ignored across
 * exec. Found once per worker process, at its first task (glibc's
 * posix_spawn asks about every signal at every spawn instead: some sixty
 * system calls a task), with the /dev/null every task reads.
 */
static pthread_once_t reset_once = PTHREAD_ONCE_INIT;
static int reset_sigs[NSIG];
static int nreset;
static int dev_null = -1;

static void
find_reset_signals(void)
{
    int sig;

    dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;

        if (sigaction(sig, NULL, &sa) < 0)
            continue;
        if (sig == SIGPIPE ||
            ((sa.sa_flags & SA_SIGINFO) ? sa.sa_sigaction != NULL
                                        : sa.sa_handler != SIG_DFL &&
                                              sa.sa_handler != SIG_IGN))
            reset_sigs[nreset++] = sig;
    }
}

/*
 * Whether vfork's child shares this process's memory until it execs, as
 * on Linux: 1 yes, 0 no (vfork is a plain fork, as under valgrind), -1 not
 * known until the first spawn has shown it.
 */
static volatile sig_atomic_t vfork_shares = -1;

/*
 * Starts PATH with ARGV and ENVP in a new process group, stdin from
 * /dev/null, stdout to OUT_W, stderr to ERR_W, every signal unblocked and
 * at its default. vfork: no copy of the worker's page tables, and the
 * child makes a few system calls before exec. Returns 0 with *PID, or the
 * errno of the failed exec, pipe or vfork (the child, if any, is reaped).
 */
static int
spawn_exec(const char *path, char *const argv[], char *const envp[],
           int out_w, int err_w, int keep_fd, pid_t *pid)
{
    pid_t parent = getpid();
    bool use_pipe = vfork_shares != 1;
    volatile int child_ran = 0;
    volatile int shared_errno = 0;
    sigset_t all, old;
    int report[2] = {-1, -1};
    int child_errno = 0;
    ssize_t got;
    pid_t p;

    (void)pthread_once(&reset_once, find_reset_signals);
    if (dev_null < 0)
        return ENOENT;
    /* A failed exec says its errno in the memory the child shares with
     * this process, which the parent reads once the child has ended. Until
     * a spawn has shown that the memory is shared (where vfork is a plain
     * fork it is not), the child also writes it to a pipe, which a
     * successful exec closes. */
    if (use_pipe && pipe2(report, O_CLOEXEC) < 0)
        return errno;
    /* No handler may run in the child, which shares this memory: every
     * signal stays blocked until the child has reset them all. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    p = vfork();
    if (p == 0) {
        struct sigaction dfl;
        sigset_t none;
        int e;
        int i;

        child_ran = 1;
        /* Memory is the task's problem: when the node or its cgroup runs
         * out, the kernel kills the task rather than its worker. */
        e = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (e >= 0) {
            (void)!write(e, "1000", 4);
            close(e);
        }
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        for (i = 0; i < nreset; i++)
            sigaction(reset_sigs[i], &dfl, NULL);
        /* A task outlives no worker: if the worker dies (killed, out of
         * memory), the task's process is killed with it, rather than run
         * on beside the same task run again elsewhere. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() == parent &&
            setpgid(0, 0) == 0 && dup2(dev_null, STDIN_FILENO) >= 0 &&
            dup2(out_w, STDOUT_FILENO) >= 0 &&
            dup2(err_w, STDERR_FILENO) >= 0 &&
            (keep_fd < 0 || fcntl(keep_fd, F_SETFD, 0) == 0)) {
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            execve(path, argv, envp);
        }
        e = errno;
        shared_errno = e;
        if (report[1] >= 0)
            (void)!write(report[1], &e, sizeof(e));
        _exit(127);
    }
    if (p < 0) {
        int e = errno;

        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (use_pipe) {
            close(report[0]);
            close(report[1]);
        }
        return e;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (vfork_shares < 0)
        vfork_shares = child_ran; /* seen here only if memory is shared */
    if (use_pipe) {
        close(report[1]);
        do
            got = read(report[0], &child_errno, sizeof(child_errno));
        while (got < 0 && errno == EINTR);
        close(report[0]);
        if (got != (ssize_t)sizeof(child_errno))
            child_errno = 0;
    } else {
        child_errno = shared_errno;
    }
    if (child_errno != 0) {
        int status;

        while (waitpid(p, &status, 0) < 0 && errno == EINTR)
            ;
        return child_errno;
    }
    *pid = p;
    return 0;
}

/*
 * Starts CMD (LEN bytes) as a script /bin/sh reads from a file, for a
 * command too long to be an argument: the file is made in memory and
 * passed open to the shell as /dev/fd/N.
 */
static int
spawn_script(struct run_state *st, const char *cmd, size_t len, pid_t *pid,
             int out_w, int err_w)
{
    char path[32];
    char *sh_argv[3];
    size_t done = 0;
    int fd;
    int rc;

    fd = memfd_create("taskfarm-command", MFD_CLOEXEC);
    if (fd < 0)
        return errno;
    while (done < len) {
        ssize_t w = write(fd, cmd + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = errno;
            close(fd);
            return rc;
        }
        done += (size_t)w;
    }
    snprintf(path, sizeof(path), "/dev/fd/%d", fd);
    sh_argv[0] = "sh";
    sh_argv[1] = path;
    sh_argv[2] = NULL;
    rc = spawn_exec("/bin/sh", sh_argv, st->envp, out_w, err_w, fd, pid);
    close(fd);
    return rc;
}

static int
spawn(struct run_state *st, const char *cmd, size_t len, pid_t *pid,
      int out_w, int err_w)
{
    char *argv[MAX_WORDS + 1];
    char *sh_argv[4];
    int n;
    int rc;

    if (len >= SCRIPT_AT)
        return spawn_script(st, cmd, len, pid, out_w, err_w);
    n = split_plain(st, cmd, len, argv);
    rc = -1;
    if (n > 0) {
        const char *path = resolve(st, argv[0]);

        if (path != NULL)
            rc = spawn_exec(path, argv, st->envp, out_w, err_w, -1, pid);
    }
    if (rc != 0) {
        /* Anything not plain, and a plain command that cannot be exec'd,
         * goes through the shell, which reports it as the shell would. */
        sh_argv[0] = "sh";
        sh_argv[1] = "-c";
        sh_argv[2] = (char *)cmd;
        sh_argv[3] = NULL;
        rc = spawn_exec("/bin/sh", sh_argv, st->envp, out_w, err_w, -1, pid);
    }
    /* Arguments and environment past the kernel's limit in all. */
    if (rc == E2BIG)
        rc = spawn_script(st, cmd, len, pid, out_w, err_w);
    return rc;
}

/* The process group of the task running in this worker, or 0. */
static volatile sig_atomic_t running_pgid;

/*
 * A worker told to end (SIGTERM, SIGINT, SIGHUP: its master died, or the
 * user or the batch system ends the run) ends its task's whole process
 * group first, SIGTERM then SIGKILL after KILL_GRACE_NS, and then itself
 * with the same signal. Only async-signal-safe calls here.
 */
#define KILL_GRACE_NS 2000000000L

static void
end_task_and_worker(int sig)
{
    pid_t pg = (pid_t)running_pgid;

    if (pg > 0) {
        struct timespec nap = {0, 10000000};
        long waited;

        kill(-pg, SIGTERM);
        for (waited = 0; waited < KILL_GRACE_NS; waited += nap.tv_nsec) {
            if (waitpid(pg, NULL, WNOHANG) != 0)
                break;
            nanosleep(&nap, NULL);
        }
        kill(-pg, SIGKILL);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/*
 * A worker that exits while its task runs (an MPI rank whose launcher was
 * killed: the MPI library ends the process with exit()) ends the task's
 * whole process group first, as on a signal, rather than leave it running
 * beside the task run again.
 */
static void
end_task_at_exit(void)
{
    pid_t pg = (pid_t)running_pgid;

    if (pg > 0)
        kill(-pg, SIGKILL);
}

static void
catch_end_signals(void)
{
    static bool done;
    struct sigaction sa;

    if (done)
        return;
    done = true;
    atexit(end_task_at_exit);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = end_task_and_worker;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static int
run_run(void *state, const struct tf_task *task, struct tf_result *res)
{
    struct run_state *st = state;
    const char *cmd;
    size_t len;
    int out_p[2] = {-1, -1};
    int err_p[2] = {-1, -1};
    struct limit lim;
    pid_t pid;
    int status = 0;
    int rc;

    catch_end_signals(); /* on the worker, where tasks run */
    rc = set_env(st, task);
    if (rc < 0)
        return rc;
    tf_buf_reset(&st->cmd);
    if (st->tmpl != NULL)
        rc = tf_template_apply(st->tmpl, task->data, task->len, task->id,
                               task->worker + 1, &st->cmd);
    else
        rc = tf_buf_append(&st->cmd, task->data, task->len);
    if (rc < 0)
        return rc;
    cmd = (const char *)st->cmd.data;
    len = st->cmd.len;
    if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
        rc = TF_ESYS;
        goto done;
    }
    rc = spawn(st, cmd, len, &pid, out_p[1], err_p[1]);
    close(out_p[1]);
    close(err_p[1]);
    out_p[1] = err_p[1] = -1;
    if (rc != 0) {
        /* The shell itself could not start: report it as the task's own
         * failure, the way a shell reports a command it cannot run. */
        res->status = 127;
        tf_buf_printf(&res->err, "taskfarm: /bin/sh: %s\n", strerror(rc));
        rc = 0;
        goto done;
    }
    running_pgid = pid; /* its own process group (see spawn) */
    tf_result_set_pgid(res, (int)pid);
    lim.pg = pid;
    lim.deadline = task->time_limit_us != 0
                       ? mono_us() + task->time_limit_us
                       : 0;
    lim.grace_us = task->kill_grace_us;
    lim.stage = 0;
    rc = collect(out_p[0], err_p[0], &lim, res);
    if (rc == 0)
        rc = reap(pid, &lim, res, &status);
    running_pgid = 0;
    if (rc < 0)
        goto done;
    if (WIFEXITED(status)) {
        res->status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
        res->status = 128 + res->signal;
    }
done:
    if (out_p[0] >= 0)
        close(out_p[0]);
    if (err_p[0] >= 0)
        close(err_p[0]);
    if (out_p[1] >= 0)
        close(out_p[1]);
    if (err_p[1] >= 0)
        close(err_p[1]);
    return rc;
}

const struct tf_job_kind tf_job_run = {
    .name = "run",
    .summary = "run each line of a file as a shell command",
    .usage = "[options] FILE|-",
    .options = run_options,
    .reads_lines = true,
    .init = run_init,
    .run = run_run,
    .fini = run_fini,
    .examples =
        "taskfarm run tasks.txt                     # one worker per CPU\n"
        "taskfarm -j 8 --joblog run.log run tasks.txt\n"
        "ls *.fastq | taskfarm run --template 'gzip -9 {}' -\n"
        "taskfarm run --template 'convert {} png/{/.}.png' images.txt\n"
        "taskfarm --dry-run run --template 'convert {} {.}.png' images.txt\n"
        "mpirun -np 65 taskfarm --results run.tfr run tasks.txt\n",
};
