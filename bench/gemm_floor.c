/*
 * gemm_floor.c - the floor of a farm of processes for bench/linalg.sh:
 * what 2 fresh worker processes do with no farm at all.
 *
 * Usage: gemm_floor N
 *
 * The parent fills A and B (N x N doubles, uniform in [-1, 1)) and zeroes C
 * in one shared memory file, as a farm's master fills what it shares; then
 * forks 2 children, each of which maps the file and multiplies its half of
 * the rows of A by B into C with one single-threaded cblas_dgemm, as a
 * worker's tasks would, and exits. The time runs from the first fork to
 * the end of the second child: the product as 2 new processes compute it,
 * each meeting the data for the first time (a process's first pass over
 * large memory is slower than its second: the kernel's warm-up call, which
 * `linalg gemm --kernel-only` makes before it times, is what a farm's
 * workers cannot make). Prints
 *   floor n=N: S s, R GFLOP/s, 2 processes
 * and exits 0; 1 on a failure, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
    long n = argc == 2 ? atol(argv[1]) : 0;
    size_t count, bytes, i;
    unsigned seed = 1;
    double *p, t0, secs;
    int fd, k, bad = 0;

    if (n < 2 || n > 65536) {
        fprintf(stderr, "usage: gemm_floor N\n");
        return 2;
    }
    count = (size_t)n * (size_t)n;
    bytes = 3 * count * sizeof(double);
    fd = memfd_create("gemm-floor", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
        perror("gemm_floor: memfd");
        return 1;
    }
    p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("gemm_floor: mmap");
        return 1;
    }
    for (i = 0; i < 2 * count; i++)
        p[i] = rand_r(&seed) / ((double)RAND_MAX + 1) * 2 - 1;
    for (i = 2 * count; i < 3 * count; i++)
        p[i] = 0;
    munmap(p, bytes);
    t0 = now_s();
    for (k = 0; k < 2; k++) {
        pid_t pid = fork();

        if (pid < 0) {
            perror("gemm_floor: fork");
            return 1;
        }
        if (pid == 0) {
            long first = k * (n / 2), rows = k == 0 ? n / 2 : n - n / 2;
            double *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_POPULATE, fd, 0);

            if (m == MAP_FAILED)
                _exit(1);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows,
                        (int)n, (int)n, 1.0, m + first * n, (int)n,
                        m + count, (int)n, 0.0, m + 2 * count + first * n,
                        (int)n);
            _exit(0);
        }
    }
    for (k = 0; k < 2; k++) {
        int status;

        if (wait(&status) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            bad = 1;
    }
    secs = now_s() - t0;
    if (bad) {
        fprintf(stderr, "gemm_floor: a child failed\n");
        return 1;
    }
    printf("floor n=%ld: %.3f s, %.2f GFLOP/s, 2 processes\n", n, secs,
           2.0 * (double)n * (double)n * (double)n / secs / 1e9);
    return 0;
}
