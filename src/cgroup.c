/* cgroup.c - what the node and this process's cgroups allow: room for
 * processes and memory, and the out-of-memory kills they counted */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads up to SIZE - 1 bytes of PATH into BUF, ended by a NUL; -1 when it
 * cannot be read. */
static ssize_t
read_small(const char *path, char *buf, size_t size)
{
    ssize_t got;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    while (n < size - 1) {
        got = read(fd, buf + n, size - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* The number after KEY (a word at the start of a line of TEXT), or
 * UINT64_MAX when no line has it. */
static uint64_t
keyed(const char *text, const char *key)
{
    size_t n = strlen(key);
    const char *p = text;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, n) == 0 && (p[n] == ' ' || p[n] == ':'))
            return strtoull(p + n + 1 + strspn(p + n + 1, " :"), NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return UINT64_MAX;
}

/*
 * This process's cgroup for RES: the mount it lives under in *BASE and its
 * path there in REL (SIZE bytes; "" is the root). False when it has none.
 */
static bool
own_cgroup(const char *res, const char **base, char *rel, size_t size)
{
    static char v1_base[64];
    char text[4096];
    char want[32];
    const char *p;
    const char *v1;

    if (read_small("/proc/self/cgroup", text, sizeof(text)) < 0)
        return false;
    snprintf(want, sizeof(want), ":%s:", res);
    v1 = strstr(text, want);
    if (v1 != NULL) {
        snprintf(v1_base, sizeof(v1_base), "/sys/fs/cgroup/%s", res);
        *base = v1_base;
        p = v1 + strlen(want);
    } else if (strncmp(text, "0::", 3) == 0) {
        *base = "/sys/fs/cgroup";
        p = text + 3;
    } else {
        p = strstr(text, "\n0::");
        if (p == NULL)
            return false;
        *base = "/sys/fs/cgroup";
        p += 4;
    }
    snprintf(rel, size, "%.*s", (int)strcspn(p, "\n"), p);
    return true;
}

uint64_t
tf__cgroup_room(const char *res, uint64_t *limit)
{
    char rel[PATH_MAX], path[PATH_MAX + 128], max[64], cur[64];
    bool v1_mem = false;
    uint64_t room = UINT64_MAX;
    uint64_t tight = UINT64_MAX;
    const char *base;
    char *slash;

    if (!own_cgroup(res, &base, rel, sizeof(rel)))
        goto done;
    v1_mem = strcmp(res, "memory") == 0 && strcmp(base, "/sys/fs/cgroup") != 0;
    for (;;) {
        snprintf(path, sizeof(path), "%s%s/%s", base, rel,
                 v1_mem                     ? "memory.limit_in_bytes"
                 : strcmp(res, "pids") == 0 ? "pids.max"
                                            : "memory.max");
        if (read_small(path, max, sizeof(max)) > 0 &&
            strncmp(max, "max", 3) != 0) {
            snprintf(path, sizeof(path), "%s%s/%s", base, rel,
                     v1_mem                     ? "memory.usage_in_bytes"
                     : strcmp(res, "pids") == 0 ? "pids.current"
                                                : "memory.current");
            if (read_small(path, cur, sizeof(cur)) > 0) {
                uint64_t m = strtoull(max, NULL, 10);
                uint64_t c = strtoull(cur, NULL, 10);
                uint64_t r = m > c ? m - c : 0;

                if (r < room)
                    room = r;
                if (m < tight)
                    tight = m;
            }
        }
        slash = strrchr(rel, '/');
        if (slash == NULL || rel[0] == '\0')
            break;
        *slash = '\0'; /* the cgroup above; "" is the root */
    }
done:
    if (limit != NULL)
        *limit = tight;
    return room;
}

int
tf__mem_available(uint64_t *avail, uint64_t *total)
{
    char text[8192];
    uint64_t a, t, limit, room;

    *avail = *total = UINT64_MAX;
    if (read_small("/proc/meminfo", text, sizeof(text)) < 0)
        return -1;
    a = keyed(text, "MemAvailable");
    t = keyed(text, "MemTotal");
    if (a == UINT64_MAX || t == UINT64_MAX)
        return -1;
    *avail = a * 1024;
    *total = t * 1024;
    room = tf__cgroup_room("memory", &limit);
    if (room < *avail)
        *avail = room;
    if (limit < *total)
        *total = limit;
    return 0;
}

/* The file that counts this process's out-of-memory kills, found once:
 * its cgroup's (version 2 counts in memory.events, version 1 in
 * memory.oom_control; both count the cgroups below too), else the node's.
 * A worker asks at every task that starts processes, and the lookup of
 * its cgroup costs as much as the count. */
static char oom_file[PATH_MAX + 32];
static pthread_once_t oom_once = PTHREAD_ONCE_INIT;

static void
find_oom_file(void)
{
    char rel[PATH_MAX], text[4096];
    const char *base;

    if (own_cgroup("memory", &base, rel, sizeof(rel))) {
        snprintf(oom_file, sizeof(oom_file), "%s%s/%s", base, rel,
                 strcmp(base, "/sys/fs/cgroup") == 0 ? "memory.events"
                                                     : "memory.oom_control");
        if (read_small(oom_file, text, sizeof(text)) > 0 &&
            keyed(text, "oom_kill") != UINT64_MAX)
            return;
    }
    snprintf(oom_file, sizeof(oom_file), "/proc/vmstat");
}

uint64_t
tf__oom_kills(void)
{
    char text[16384];

    (void)pthread_once(&oom_once, find_oom_file);
    if (read_small(oom_file, text, sizeof(text)) > 0)
        return keyed(text, "oom_kill");
    return UINT64_MAX;
}

/* The reservations file of this user and cgroup, open and locked, or -1. */
static int
reserve_open(void)
{
    char rel[PATH_MAX], path[96];
    const char *base = "";
    uint64_t h = 0xcbf29ce484222325u;
    struct stat st;
    const char *p;
    int fd;

    if (!own_cgroup("memory", &base, rel, sizeof(rel)))
        rel[0] = '\0';
    for (p = rel; *p != '\0'; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3u;
    }
    snprintf(path, sizeof(path), "/dev/shm/taskfarm-mem-%u-%016llx",
             (unsigned)getuid(), (unsigned long long)h);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    /* Another user's file of that name is not trusted. */
    if (fstat(fd, &st) < 0 || st.st_uid != getuid()) {
        close(fd);
        return -1;
    }
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    return fd;
}

/*
 * Rewrites the reservations in FD: those of other live processes, and this
 * one's of NEED bytes when NEED is not 0. *OTHERS gets the sum of theirs.
 */
static int
reserve_update(int fd, uint64_t need, bool add_own, uint64_t *others)
{
    char text[8192], out[8192];
    pid_t self = getpid();
    size_t n = 0;
    ssize_t got;
    char *line;
    char *save = NULL;

    *others = 0;
    got = pread(fd, text, sizeof(text) - 1, 0);
    text[got > 0 ? got : 0] = '\0';
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *end;
        long pid = strtol(line, &end, 10);
        uint64_t bytes = strtoull(end, NULL, 10);

        if (pid <= 0 || pid == self ||
            (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
            continue; /* its own, or of a process that ended */
        *others += bytes;
        if (n < sizeof(out) - 64)
            n += (size_t)snprintf(out + n, sizeof(out) - n, "%ld %llu\n", pid,
                                  (unsigned long long)bytes);
    }
    if (add_own && n < sizeof(out) - 64)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%ld %llu\n",
                              (long)self, (unsigned long long)need);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, out, n, 0) != (ssize_t)n)
        return -1;
    return 0;
}

int
tf__mem_reserve(uint64_t need, uint64_t *avail, uint64_t *total)
{
    uint64_t others = 0;
    uint64_t room;
    int fd;
    int rc;

    (void)tf__mem_available(avail, total);
    fd = reserve_open();
    if (fd < 0)
        return -1;
    rc = reserve_update(fd, 0, false, &others);
    room = *total > others ? *total - others : 0;
    if (*avail > room)
        *avail = room;
    if (rc == 0 && *avail >= need)
        rc = reserve_update(fd, need, true, &others) < 0 ? -1 : 1;
    close(fd); /* and unlocks it */
    return rc;
}

void
tf__mem_release(void)
{
    uint64_t others;
    int fd = reserve_open();

    if (fd < 0)
        return;
    (void)reserve_update(fd, 0, false, &others);
    close(fd);
}
