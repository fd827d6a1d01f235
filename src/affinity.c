/* affinity.c - the CPUs of a worker under --bind cores: its own block of
 * the CPUs it shares with the other workers of its node */
#include "affinity.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "error.h"

/* Reads the first number of the file /sys/devices/system/cpu/cpuCPU/WHAT,
 * or returns -1. */
static long
topology(int cpu, const char *what)
{
    char path[96];
    FILE *f;
    long v = -1;

    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/topology/%s",
             cpu, what);
    f = fopen(path, "re");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

void
tf__cpus_sort(int *ids, long *keys, int n)
{
    int i;
    int j;

    /* Insertion sort: a node has at most CPU_SETSIZE CPUs, sorted once. */
    for (i = 1; i < n; i++) {
        int id = ids[i];
        long key = keys[i];

        for (j = i; j > 0 && (keys[j - 1] > key ||
                              (keys[j - 1] == key && ids[j - 1] > id));
             j--) {
            ids[j] = ids[j - 1];
            keys[j] = keys[j - 1];
        }
        ids[j] = id;
        keys[j] = key;
    }
}

int
tf__cpus_allowed(int *ids, int max, struct tf_error *err)
{
    cpu_set_t set;
    long *keys;
    int n = 0;
    int cpu;

    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "sched_getaffinity");
    for (cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++)
        if (CPU_ISSET(cpu, &set))
            ids[n++] = cpu;
    keys = malloc(((size_t)n + 1) * sizeof(*keys));
    if (keys == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    for (cpu = 0; cpu < n; cpu++) {
        long package = topology(ids[cpu], "physical_package_id");
        long core = topology(ids[cpu], "core_id");

        /* Unknown: each CPU its own core, in number order. */
        if (package < 0 || core < 0)
            keys[cpu] = -1;
        else
            keys[cpu] = package * (1L << 24) + core;
    }
    tf__cpus_sort(ids, keys, n);
    free(keys);
    return n;
}

int
tf__cpu_block_size(int n, int sharers, int want)
{
    int size;

    if (sharers < 1)
        sharers = 1;
    size = want > 0 ? want : n / sharers;
    if (size < 1 || (long)size * sharers > n)
        return 0;
    return size;
}

static int
cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a;
    int y = *(const int *)b;

    return (x > y) - (x < y);
}

int
tf__cpu_list(const int *ids, int n, struct tf_buf *out)
{
    int *sorted;
    int i;
    int rc = 0;

    if (n == 0)
        return tf_buf_printf(out, "%s", "");
    sorted = malloc(((size_t)n + 1) * sizeof(*sorted));
    if (sorted == NULL)
        return TF_ENOMEM;
    memcpy(sorted, ids, (size_t)n * sizeof(*sorted));
    qsort(sorted, (size_t)n, sizeof(*sorted), cmp_int);
    for (i = 0; rc == 0 && i < n;) {
        int j = i;

        while (j + 1 < n && sorted[j + 1] == sorted[j] + 1)
            j++;
        if (j > i)
            rc = tf_buf_printf(out, "%s%d-%d", i > 0 ? "," : "", sorted[i],
                               sorted[j]);
        else
            rc = tf_buf_printf(out, "%s%d", i > 0 ? "," : "", sorted[i]);
        i = j + 1;
    }
    free(sorted);
    return rc;
}

int
tf__cpu_bind(const int *ids, int n, struct tf_error *err)
{
    cpu_set_t set;
    DIR *dir;
    struct dirent *e;
    int i;

    CPU_ZERO(&set);
    for (i = 0; i < n; i++)
        CPU_SET(ids[i], &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "sched_setaffinity");
    /* The threads an MPI library started before us go along; one that
     * ended meanwhile, or that will not move, is no reason to fail. */
    dir = opendir("/proc/self/task");
    if (dir == NULL)
        return 0;
    while ((e = readdir(dir)) != NULL) {
        long tid = strtol(e->d_name, NULL, 10);

        if (tid > 0)
            (void)sched_setaffinity((pid_t)tid, sizeof(set), &set);
    }
    closedir(dir);
    return 0;
}
