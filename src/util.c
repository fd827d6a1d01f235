/* util.c - struct tf_buf, checked number parsing and clocks */
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

void
tf_buf_init(struct tf_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

/*
 * Large buffers are kept for reuse rather than freed. glibc returns blocks
 * over 32 MiB to the kernel at once, and fresh memory is zeroed by the
 * kernel page by page on first touch, which on a virtual machine can cost
 * more than the copy that fills it. A run that moves many large chunks or
 * results reuses a few buffers instead.
 */
#define BIG_MIN ((size_t)1 << 20)    /* smallest buffer kept */
#define BIG_SLOTS 8
#define BIG_BYTES ((size_t)1 << 30)  /* most bytes kept */

static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *p;
    size_t cap;
} big[BIG_SLOTS];
static size_t big_bytes;

/* Takes a kept buffer of at least NEED bytes, not wastefully larger. */
static void *
big_take(size_t need, size_t *cap)
{
    void *p = NULL;
    int best = -1;
    int i;

    pthread_mutex_lock(&big_mu);
    for (i = 0; i < BIG_SLOTS; i++)
        if (big[i].p != NULL && big[i].cap >= need &&
            (big[i].cap / 8 <= need || big[i].cap <= 4 * BIG_MIN) &&
            (best < 0 || big[i].cap < big[best].cap))
            best = i;
    if (best >= 0) {
        p = big[best].p;
        *cap = big[best].cap;
        big_bytes -= big[best].cap;
        big[best].p = NULL;
    }
    pthread_mutex_unlock(&big_mu);
    return p;
}

/* Keeps P (CAP bytes) for reuse, or frees it. */
static void
big_give(void *p, size_t cap)
{
    int i;

    if (cap >= BIG_MIN && cap <= BIG_BYTES) {
        pthread_mutex_lock(&big_mu);
        /* Make room by dropping smaller buffers. */
        for (i = 0; i < BIG_SLOTS && big_bytes + cap > BIG_BYTES; i++) {
            if (big[i].p != NULL && big[i].cap < cap) {
                free(big[i].p);
                big_bytes -= big[i].cap;
                big[i].p = NULL;
            }
        }
        for (i = 0; i < BIG_SLOTS && big_bytes + cap <= BIG_BYTES; i++) {
            if (big[i].p == NULL) {
                big[i].p = p;
                big[i].cap = cap;
                big_bytes += cap;
                p = NULL;
                break;
            }
        }
        pthread_mutex_unlock(&big_mu);
    }
    free(p);
}

void
tf__big_forget(void)
{
    int i;

    pthread_mutex_lock(&big_mu);
    for (i = 0; i < BIG_SLOTS; i++) {
        free(big[i].p);
        big[i].p = NULL;
    }
    big_bytes = 0;
    pthread_mutex_unlock(&big_mu);
}

void
tf_buf_cleanup(struct tf_buf *buf)
{
    big_give(buf->data, buf->cap);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void
tf_buf_reset(struct tf_buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

/*
 * Asks for transparent huge pages on the whole 2 MiB pages inside a large
 * buffer. Fresh memory costs a page fault per 4 KiB page otherwise, which
 * for the hundreds of megabytes of a large shared matrix or chunk is more
 * system time than the copies themselves. Only a hint: errors are ignored.
 */
static void
advise_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + len) & ~(huge - 1);

    if (len >= 2 * huge && end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}

int
tf_buf_reserve(struct tf_buf *buf, size_t n)
{
    size_t need;
    size_t cap;
    unsigned char *p;

    if (n > SIZE_MAX - buf->len - 1)
        return TF_ENOMEM;
    need = buf->len + n;
    if (buf->max != 0 && need > buf->max)
        return TF_EINPUT;
    if (need + 1 <= buf->cap)
        return 0;
    cap = buf->cap < 64 ? 64 : buf->cap;
    /* Doubling keeps appends cheap; a jump past twice the size (room for
     * a whole large message at once) takes just what it asks. */
    if (need + 1 > cap && need + 1 - cap > cap)
        cap = need + 1;
    while (cap < need + 1)
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    if (cap >= BIG_MIN) {
        size_t got;

        p = big_take(need + 1, &got);
        if (p != NULL) {
            if (buf->data != NULL)
                memcpy(p, buf->data, buf->len + 1);
            big_give(buf->data, buf->cap);
            buf->data = p;
            buf->cap = got;
            return 0;
        }
    }
    p = realloc(buf->data, cap);
    if (p == NULL)
        return TF_ENOMEM;
    buf->data = p;
    buf->cap = cap;
    advise_huge(p, cap);
    return 0;
}

int
tf_buf_append(struct tf_buf *buf, const void *p, size_t n)
{
    int rc;

    rc = tf_buf_reserve(buf, n);
    if (rc < 0)
        return rc;
    if (n > 0)
        memcpy(buf->data + buf->len, p, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return 0;
}

int
tf_buf_puts(struct tf_buf *buf, const char *s)
{
    return tf_buf_append(buf, s, strlen(s));
}

int
tf_buf_printf(struct tf_buf *buf, const char *fmt, ...)
{
    va_list ap;
    int n;
    int rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TF_EINPUT;
    rc = tf_buf_reserve(buf, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return 0;
}

bool
tf__parse_i64_span(const char *p, const char *end, bool neg_ok, int64_t *out)
{
    bool neg = false;
    int64_t v = 0;

    if (p < end && *p == '-' && neg_ok) {
        neg = true;
        p++;
    }
    if (p == end)
        return false;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return true;
}

uint64_t
tf__now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t
tf__wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + (int64_t)ts.tv_nsec / 1000;
}

int
tf__write_all(int fd, const void *p, size_t n)
{
    size_t done;

    return tf__write_count(fd, p, n, &done);
}

int
tf__write_count(int fd, const void *p, size_t n, size_t *done)
{
    const char *c = p;

    *done = 0;
    while (n > 0) {
        ssize_t w = write(fd, c, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
        *done += (size_t)w;
    }
    return 0;
}

size_t
tf__fmt_u64(char *p, uint64_t v)
{
    static const char pairs[] = "00010203040506070809"
                                "10111213141516171819"
                                "20212223242526272829"
                                "30313233343536373839"
                                "40414243444546474849"
                                "50515253545556575859"
                                "60616263646566676869"
                                "70717273747576777879"
                                "80818283848586878889"
                                "90919293949596979899";
    size_t n = 1;
    uint64_t t = v;
    char *w;

    while (t >= 10) {
        t /= 10;
        n++;
    }
    w = p + n;
    while (v >= 100) {
        unsigned i = (unsigned)(v % 100) * 2;

        v /= 100;
        *--w = pairs[i + 1];
        *--w = pairs[i];
    }
    if (v >= 10) {
        *--w = pairs[v * 2 + 1];
        *--w = pairs[v * 2];
    } else {
        *--w = (char)('0' + v);
    }
    return n;
}

int
tf__online_cpus(void)
{
    const char *slurm = getenv("SLURM_CPUS_ON_NODE");
    cpu_set_t set;
    long n = 0;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
    /* Inside a Slurm allocation only the CPUs it has on this node, even
     * where Slurm does not confine the job to them. */
    if (slurm != NULL && atol(slurm) > 0 && atol(slurm) < n)
        n = atol(slurm);
    return (int)n;
}

/* Weak: present only when the program links the library. */
extern void omp_set_num_threads(int n) __attribute__((weak));
extern int omp_get_max_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void MKL_Set_Num_Threads(int n) __attribute__((weak));
extern int MKL_Get_Max_Threads(void) __attribute__((weak));

/* The runtimes, each with the variable it reads when loaded; a runtime
 * the program does not link has NULL functions. */
static const struct {
    const char *var;
    void (*set)(int n);
    int (*get)(void);
} runtimes[] = {
    {"OMP_NUM_THREADS", omp_set_num_threads, omp_get_max_threads},
    {"OPENBLAS_NUM_THREADS", openblas_set_num_threads,
     openblas_get_num_threads},
    {"MKL_NUM_THREADS", MKL_Set_Num_Threads, MKL_Get_Max_Threads},
};

/*
 * Sets are made only where the count changes: OpenBLAS starts its thread
 * pool at every set, and each new thread spins for some 0.1 s before it
 * sleeps, which a worker of short tasks would pay for at its start.
 */
void
tf__set_library_threads(int n)
{
    size_t i;

    if (n < 1)
        n = 1;
    for (i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++) {
        const char *v = getenv(runtimes[i].var);
        int k = v != NULL && atoi(v) > 0 ? atoi(v) : n;

        if (runtimes[i].set != NULL &&
            (runtimes[i].get == NULL || runtimes[i].get() != k))
            runtimes[i].set(k);
    }
}

size_t
tf__edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *rows, *two_up, *up, *row, *t;
    size_t i, j, d;

    /* Three rows of the dynamic programming table: the one being filled
     * and the two above it, which a swap of two bytes looks back to. */
    if (lb >= SIZE_MAX / (3 * sizeof(*rows)) - 1)
        return SIZE_MAX;
    rows = malloc(3 * (lb + 1) * sizeof(*rows));
    if (rows == NULL)
        return SIZE_MAX;
    two_up = rows;
    up = rows + lb + 1;
    row = rows + 2 * (lb + 1);
    for (j = 0; j <= lb; j++)
        up[j] = j;
    for (i = 1; i <= la; i++) {
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;

            d = up[j] + 1;
            if (row[j - 1] + 1 < d)
                d = row[j - 1] + 1;
            if (up[j - 1] + cost < d)
                d = up[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && two_up[j - 2] + 1 < d)
                d = two_up[j - 2] + 1;
            row[j] = d;
        }
        t = two_up;
        two_up = up;
        up = row;
        row = t;
    }
    d = up[lb];
    free(rows);
    return d;
}

void
tf_store_u64(void *p, uint64_t v)
{
    tf__store_u64(p, v);
}

uint64_t
tf_load_u64(const void *p)
{
    return tf__load_u64(p);
}

const char *
tf__fmt_bytes(char *buf, size_t size, uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB",
                                        "PiB", "EiB"};
    double v = (double)bytes;
    int u = 0;

    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, size, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s"
                                                         : "%.0f %s",
                 v, units[u]);
    return buf;
}
