/*
 * floor.c - the raw process-start floor for bench/dispatch.sh.
 *
 * Usage: floor NPROCS FILE
 *
 * Runs every non-empty line of FILE as a shell command with NPROCS runner
 * processes and nothing else: no output capture, no ordering, no logging.
 * Each runner takes the next line from a counter shared by all runners (an
 * atomic in a MAP_SHARED page, so the load is balanced the way a task farm
 * balances it, for one atomic add per task), starts it and waits for it
 * with waitpid. Children inherit stdin/stdout/stderr, so their output goes
 * straight to wherever the caller pointed it. Exit status: 0 when every
 * command was started and waited for, 1 otherwise (the commands' own exit
 * statuses are not judged).
 *
 * How a line is started - the cheapest way that has exactly the effect of
 * `sh -c LINE`:
 *
 * - A "plain" line is exec'd directly (no shell): only the characters
 *   [A-Za-z0-9 \t-_./:,+@%^=] (no quotes, expansions, redirections, globs,
 *   comments or tildes), no VAR=value before the command, and the command
 *   is not a shell builtin or keyword - except a lone `true` or `false`,
 *   which behave the same either way. The program is looked up in PATH
 *   once per distinct name (the last answer is remembered), not by a
 *   failing exec per PATH entry as execvp/posix_spawnp do. Everything else
 *   goes through posix_spawn of /bin/sh -c LINE.
 *   This is the same rule taskfarm's `run` job applies (jobs/run.c), so
 *   the floor starts the very same processes taskfarm does for each line:
 *   `true` -> /usr/bin/true directly, `echo N` -> sh -c (echo is a dash
 *   builtin). Measured on the 2-core reference machine (2,000 lines,
 *   the two variants alternating, median of the pairwise ratios; single
 *   runs drift by +-30%): for `true`, direct exec is ~4% faster than
 *   sh -c (20 pairs); for `echo N`, a direct exec of /bin/echo would be
 *   ~25% *slower* than dash's builtin echo (8 pairs), which is why
 *   builtins keep the shell.
 *
 * - posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK) + exec), not fork +
 *   exec: ~15-20% faster here even for this tiny process (20 pairs each on
 *   the `true` and `echo` files), so it is the cheapest honest way to start
 *   a command. Build with -DFLOOR_FORK for the textbook fork + execv +
 *   waitpid instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char **lines;
static size_t nlines;

#define MAX_WORDS 64

/* Shell builtins and keywords: a line starting with one keeps the shell. */
static int shell_word(const char *w)
{
    static const char *const words[] = {
        ".", ":", "[", "alias", "bg", "break", "case", "cd", "chdir",
        "command", "continue", "do", "done", "echo", "elif", "else", "esac",
        "eval", "exec", "exit", "export", "false", "fc", "fg", "fi", "for",
        "function", "getopts", "hash", "if", "in", "jobs", "kill", "local",
        "printf", "pwd", "read", "readonly", "return", "select", "set",
        "shift", "source", "test", "then", "time", "times", "trap", "true",
        "type", "ulimit", "umask", "unalias", "unset", "until", "wait",
        "while", "!", "{", "}", NULL};
    for (int i = 0; words[i]; i++)
        if (strcmp(w, words[i]) == 0)
            return 1;
    return 0;
}

/* Splits a plain LINE into ARGV (in BUF); returns the word count, or 0
 * when the line needs the shell. */
static int split_plain(const char *line, char *buf, size_t bufsz,
                       char *argv[MAX_WORDS + 1])
{
    size_t len = strlen(line);
    if (len >= bufsz)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("-_./:,+@%^= \t", c)))
            return 0;
    }
    memcpy(buf, line, len + 1);
    int n = 0;
    for (char *p = buf;;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        if (n == MAX_WORDS)
            return 0;
        argv[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    argv[n] = NULL;
    if (n == 0 || strchr(argv[0], '='))
        return 0;
    if (shell_word(argv[0]) &&
        !(n == 1 && (!strcmp(argv[0], "true") || !strcmp(argv[0], "false"))))
        return 0;
    return n;
}

/* PATH lookup, remembering the last answer. NULL when not found. */
static const char *resolve(const char *name)
{
    static char last_name[256], last_path[4096];
    if (strchr(name, '/'))
        return name;
    if (last_name[0] && strcmp(last_name, name) == 0)
        return last_path;
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    for (const char *dir = path;; dir++) {
        const char *end = strchr(dir, ':');
        size_t dlen = end ? (size_t)(end - dir) : strlen(dir);
        if (dlen + strlen(name) + 2 < sizeof last_path &&
            strlen(name) < sizeof last_name) {
            if (dlen == 0)
                snprintf(last_path, sizeof last_path, "%s", name);
            else
                snprintf(last_path, sizeof last_path, "%.*s/%s", (int)dlen,
                         dir, name);
            if (access(last_path, X_OK) == 0) {
                snprintf(last_name, sizeof last_name, "%s", name);
                return last_path;
            }
        }
        if (!end)
            break;
        dir = end;
    }
    last_name[0] = '\0';
    return NULL;
}

static int start(pid_t *pid, const char *path, char *const argv[])
{
#ifndef FLOOR_FORK
    return posix_spawn(pid, path, NULL, NULL, argv, environ);
#else
    *pid = fork();
    if (*pid < 0)
        return -1;
    if (*pid == 0) {
        execv(path, argv);
        _exit(127);
    }
    return 0;
#endif
}

static int run_line(const char *line)
{
    static char buf[65536];
    char *argv[MAX_WORDS + 1];
    pid_t pid;
    int rc = -1;

    if (split_plain(line, buf, sizeof buf, argv) > 0) {
        const char *path = resolve(argv[0]);
        if (path)
            rc = start(&pid, path, argv);
    }
    if (rc != 0) {
        char *sh_argv[] = {"sh", "-c", (char *)line, NULL};
        if (start(&pid, "/bin/sh", sh_argv) != 0)
            return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: floor NPROCS FILE\n");
        return 2;
    }
    int nprocs = atoi(argv[1]);
    if (nprocs < 1)
        nprocs = 1;

    /* read the whole file and split it into non-empty lines */
    int fd = open(argv[2], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(argv[2]);
        return 2;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    close(fd);
    size_t cap = 1024;
    lines = malloc(cap * sizeof *lines);
    for (char *p = buf; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (*p) {
            if (nlines == cap)
                lines = realloc(lines, (cap *= 2) * sizeof *lines);
            lines[nlines++] = p;
        }
        if (!nl)
            break;
        p = nl + 1;
    }

    size_t *next = mmap(NULL, sizeof *next, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (next == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    *next = 0;
    fflush(NULL);

    for (int k = 0; k < nprocs; k++) {
        pid_t r = fork();
        if (r < 0) {
            perror("fork");
            return 2;
        }
        if (r == 0) {
            int bad = 0;
            for (;;) {
                size_t i = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
                if (i >= nlines)
                    break;
                if (run_line(lines[i]) < 0)
                    bad = 1;
            }
            _exit(bad);
        }
    }
    int rc = 0, status;
    while (wait(&status) > 0)
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = 1;
    return rc;
}
