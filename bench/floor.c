/*
 * floor.c - the raw process-start floor for bench/dispatch.sh.
 *
 * Usage: floor NPROCS FILE
 *
 * Runs every non-empty line of FILE as a shell command with NPROCS runner
 * processes and nothing else: no output capture, no ordering, no logging.
 * Each runner takes the next line from a counter shared by all runners (an
 * atomic in a MAP_SHARED page, so the load is balanced the way a task farm
 * balances it, for one atomic add per task), starts it as
 * /bin/sh -c LINE and waits for it with waitpid. Children inherit
 * stdout/stderr, so their output goes straight to wherever the caller
 * pointed it. Exit status: 0 when every command was started and waited
 * for, 1 otherwise (the commands' own exit statuses are not judged).
 *
 * Choices, each measured on the 2-core reference machine with 2,000-line
 * files, alternating the two variants, median of 8 pairwise ratios:
 *
 * - /bin/sh -c for every line, not a direct execvp for lines without shell
 *   metacharacters. Every contestant in dispatch.sh (taskfarm `run`, GNU
 *   Parallel, xargs ... sh -c, Python's subprocess.run(shell=True)) promises
 *   "each line is a shell command" and runs it through a shell, so the
 *   floor does exactly that work. A direct exec is not even uniformly
 *   cheaper: ~10% faster for `true` (/usr/bin/true vs dash running its
 *   builtin), ~25% slower for `echo N` (coreutils /bin/echo is heavier than
 *   dash's builtin echo); both are one exec of a small dynamic binary.
 *
 * - posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK) + exec) rather than
 *   fork + execl: ~5-15% faster here even for this tiny process, so it is
 *   the cheapest honest way to start each command and therefore the floor.
 *   Build with -DFLOOR_FORK for the textbook fork + execl + waitpid.
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

static int run_line(const char *line)
{
    pid_t pid;
#ifndef FLOOR_FORK
    char *argv[] = {"sh", "-c", (char *)line, NULL};
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
        return -1;
#else
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
#endif
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
