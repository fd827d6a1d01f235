/* tool_history.c - how long tasks took and how much memory they used in an
 * earlier run: --history */
#include "tool_history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "results.h"
#include "tool_resume.h"

struct rec {
    uint64_t key;
    uint64_t us;
    uint64_t peak; /* peak memory in bytes, 0: not recorded */
    size_t seq;    /* order read: the last of equal keys wins */
};

struct tf__history {
    struct rec *by_hash; /* owned, sorted by key */
    struct rec *by_id;   /* owned, sorted by key */
    size_t n;
    size_t cap;
    uint64_t mean_us;
    uint64_t mean_peak; /* of the tasks whose peak is recorded, or 0 */
};

static int
add(struct tf__history *h, uint64_t id, uint64_t hash, uint64_t us,
    uint64_t peak)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        struct rec *a = realloc(h->by_hash, cap * sizeof(*a));
        struct rec *b;

        if (a == NULL)
            return TF_ENOMEM;
        h->by_hash = a;
        b = realloc(h->by_id, cap * sizeof(*b));
        if (b == NULL)
            return TF_ENOMEM;
        h->by_id = b;
        h->cap = cap;
    }
    h->by_hash[h->n] = (struct rec){hash, us, peak, h->n};
    h->by_id[h->n] = (struct rec){id, us, peak, h->n};
    h->n++;
    return 0;
}

static int
from_record(void *arg, const struct tf__result_rec *rec)
{
    return add(arg, rec->id, rec->hash, rec->runtime_us, rec->peak_bytes);
}

static int
from_joblog(void *arg, const struct tf__joblog_line *jl)
{
    return add(arg, jl->seq, tf__task_hash(jl->cmd, jl->cmd_len),
               (uint64_t)(jl->runtime * 1e6 + 0.5), 0);
}

static int
cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
tf__history_load(const char *path, struct tf__history **out,
                 struct tf_error *err)
{
    struct tf__history *h;
    unsigned char magic[8];
    long double sum = 0;
    long double peaks = 0;
    size_t measured = 0;
    size_t got, i;
    FILE *f;
    int rc;

    *out = NULL;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    f = fopen(path, "re");
    if (f == NULL) {
        rc = tf__error_errno(err, TF_EUSAGE, errno, "--history: %s", path);
        tf__history_free(h);
        return rc;
    }
    got = fread(magic, 1, sizeof(magic), f);
    if (got == sizeof(magic) && memcmp(magic, TF__RESULTS_MAGIC, 8) == 0) {
        fclose(f);
        rc = tf__results_read(path, from_record, h, NULL, err);
        if (rc == TF_ENOMEM)
            rc = tf__error(err, rc, "out of memory");
        else if (rc < 0)
            rc = TF_EUSAGE; /* err names the file */
    } else {
        fclose(f);
        rc = tf__joblog_read(path, from_joblog, h, NULL, err);
        if (rc == TF_EINPUT)
            rc = TF_EUSAGE; /* err names the file and line */
    }
    if (rc < 0) {
        tf__history_free(h);
        return rc;
    }
    if (h->n > 0) {
        qsort(h->by_hash, h->n, sizeof(*h->by_hash), cmp_rec);
        qsort(h->by_id, h->n, sizeof(*h->by_id), cmp_rec);
    }
    for (i = 0; i < h->n; i++) {
        sum += h->by_id[i].us;
        if (h->by_id[i].peak > 0) {
            peaks += h->by_id[i].peak;
            measured++;
        }
    }
    h->mean_us = h->n > 0 ? (uint64_t)(sum / h->n) : 0;
    h->mean_peak = measured > 0 ? (uint64_t)(peaks / measured) : 0;
    *out = h;
    return 0;
}

void
tf__history_free(struct tf__history *h)
{
    if (h == NULL)
        return;
    free(h->by_hash);
    free(h->by_id);
    free(h);
}

size_t
tf__history_count(const struct tf__history *h)
{
    return h != NULL ? h->n : 0;
}

/* The last record with KEY in the sorted array A of N, or NULL. */
static const struct rec *
find(const struct rec *a, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;

    /* The first record with a key above KEY; the one before it may match. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (a[mid].key <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && a[lo - 1].key == key ? &a[lo - 1] : NULL;
}

/* The record of task ID with text DATA (LEN bytes): by its text's hash,
 * else by its number; NULL when neither is recorded. */
static const struct rec *
lookup(const struct tf__history *h, uint64_t id, const void *data, size_t len)
{
    const struct rec *r;

    if (h == NULL || h->n == 0)
        return NULL;
    r = find(h->by_hash, h->n, tf__task_hash(data, len));
    return r != NULL ? r : find(h->by_id, h->n, id);
}

uint64_t
tf__history_get(const struct tf__history *h, uint64_t id, const void *data,
                size_t len, bool *known)
{
    const struct rec *r = lookup(h, id, data, len);

    if (known != NULL)
        *known = r != NULL;
    if (r == NULL)
        return h != NULL ? h->mean_us : 0;
    return r->us;
}

uint64_t
tf__history_mem(const struct tf__history *h, uint64_t id, const void *data,
                size_t len)
{
    const struct rec *r = lookup(h, id, data, len);

    if (r != NULL && r->peak > 0)
        return r->peak;
    return h != NULL ? h->mean_peak : 0;
}
