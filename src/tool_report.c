/* tool_report.c - `taskfarm report`: a run's timeline and numbers,
 * as HTML or text */
#include "tool_report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "exit.h"
#include "results.h"
#include "tool_subcmd.h"
#include "util.h"

/* Exit statuses of the subcommand (the command's table, in docs/guide.md). */

#define MAX_START_US 100000000000000000LL  /* 10^17 µs: the year 5138 */
#define MAX_RUNTIME_US 1000000000000000ULL /* 10^15 µs: 31 years */
/* Host names are kept up to this many bytes. */
#define HOST_KEEP 255

/* The page's geometry, in SVG pixels. Each chart's plot is PLOT_W wide,
 * one time column per pixel. */
#define SVG_W 1160
#define PLOT_X 150
#define PLOT_W 980
/* Timeline rows at most: more lanes than this share rows. */
#define MAX_ROWS 200
/* Up to this many records, the timeline draws each task run. */
#define EXACT_MAX 4000
/* Histogram bins on a linear scale. */
#define LINEAR_BINS 40

/* ------------------------------------------------------------ the model */

int
tf__report_new(const char *path, struct tf__report **out, struct tf_error *err)
{
    struct tf__report *r;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    tf_buf_init(&r->cmds, 0);
    if (path != NULL) {
        r->path = strdup(path);
        if (r->path == NULL) {
            tf__report_free(r);
            return tf__error(err, TF_ENOMEM, "out of memory");
        }
    }
    *out = r;
    return 0;
}

void
tf__report_free(struct tf__report *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->path);
    free(r->t);
    tf_buf_cleanup(&r->cmds);
    for (i = 0; i < r->nhosts; i++)
        free(r->hosts[i]);
    free(r->hosts);
    free(r->host_len);
    free(r->host_slot);
    free(r->lane_host);
    free(r->lane_worker);
    free(r);
}

static int
host_rehash(struct tf__report *r)
{
    size_t slots = r->host_slots > 0 ? r->host_slots * 2 : 64;
    uint32_t *s = calloc(slots, sizeof(*s));
    size_t i;

    if (s == NULL)
        return TF_ENOMEM;
    for (i = 0; i < r->nhosts; i++) {
        size_t k = tf__task_hash(r->hosts[i], r->host_len[i]) & (slots - 1);

        while (s[k] != 0)
            k = (k + 1) & (slots - 1);
        s[k] = (uint32_t)i + 1;
    }
    free(r->host_slot);
    r->host_slot = s;
    r->host_slots = slots;
    return 0;
}

/* The index of host HOST (LEN bytes), added when new. Most records name
 * the host of the record before, which is tried first. */
static int
host_index(struct tf__report *r, const char *host, size_t len, uint32_t *out)
{
    size_t k;
    char *copy;

    if (r->nhosts > 0 && r->host_len[r->last_host] == len &&
        memcmp(r->hosts[r->last_host], host, len) == 0) {
        *out = r->last_host;
        return 0;
    }
    if ((r->nhosts + 1) * 2 > r->host_slots && host_rehash(r) < 0)
        return TF_ENOMEM;
    k = tf__task_hash(host, len) & (r->host_slots - 1);
    while (r->host_slot[k] != 0) {
        uint32_t i = r->host_slot[k] - 1;

        if (r->host_len[i] == len && memcmp(r->hosts[i], host, len) == 0) {
            r->last_host = i;
            *out = i;
            return 0;
        }
        k = (k + 1) & (r->host_slots - 1);
    }
    if (r->nhosts == r->hosts_cap) {
        size_t cap = r->hosts_cap > 0 ? r->hosts_cap * 2 : 16;
        char **h = realloc(r->hosts, cap * sizeof(*h));
        uint32_t *l;

        if (h == NULL)
            return TF_ENOMEM;
        r->hosts = h;
        l = realloc(r->host_len, cap * sizeof(*l));
        if (l == NULL)
            return TF_ENOMEM;
        r->host_len = l;
        r->hosts_cap = cap;
    }
    copy = malloc(len + 1);
    if (copy == NULL)
        return TF_ENOMEM;
    if (len > 0)
        memcpy(copy, host, len);
    copy[len] = '\0';
    r->hosts[r->nhosts] = copy;
    r->host_len[r->nhosts] = (uint32_t)len;
    r->host_slot[k] = (uint32_t)r->nhosts + 1;
    r->last_host = (uint32_t)r->nhosts;
    *out = r->last_host;
    r->nhosts++;
    return 0;
}

int
tf__report_add(struct tf__report *r, const struct tf__report_task *t,
               const char *host, size_t host_len, const void *cmd,
               size_t cmd_len, struct tf_error *err)
{
    struct tf__report_task *d;
    size_t keep = cmd_len < TF__REPORT_CMD_KEEP ? cmd_len : TF__REPORT_CMD_KEEP;
    uint32_t h;

    if (r->n == r->cap) {
        size_t cap = r->cap > 0 ? r->cap * 2 : 1024;
        struct tf__report_task *a = realloc(r->t, cap * sizeof(*a));

        if (a == NULL)
            return tf__error(err, TF_ENOMEM, "out of memory");
        r->t = a;
        r->cap = cap;
    }
    if (host_index(r, host, host_len < HOST_KEEP ? host_len : HOST_KEEP, &h) <
        0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    d = &r->t[r->n];
    d->cmd_off = r->cmds.len;
    if (tf_buf_append(&r->cmds, cmd, keep) < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    d->seq = t->seq;
    d->start_us = t->start_us < 0              ? 0
                  : t->start_us > MAX_START_US ? MAX_START_US
                                               : t->start_us;
    d->runtime_us =
        t->runtime_us > MAX_RUNTIME_US ? MAX_RUNTIME_US : t->runtime_us;
    d->cmd_len = cmd_len > UINT32_MAX ? UINT32_MAX : (uint32_t)cmd_len;
    d->host = h;
    d->worker = t->worker;
    d->lane = 0;
    d->status = t->status;
    d->signal = t->signal;
    d->flags = t->flags & (TF__REPORT_FAILED | TF__REPORT_OOM);
    d->cpu_us = t->cpu_us;
    d->peak_bytes = t->peak_bytes;
    r->n++;
    r->analysed = false;
    return 0;
}

/* ------------------------------------------------------------ reading */

/* Trims the blanks around [*P, *END). */
static void
trim(const char **p, const char **end)
{
    while (*p < *end && **p == ' ')
        (*p)++;
    while (*end > *p && (*end)[-1] == ' ')
        (*end)--;
}

/* A whole decimal integer in [MIN, MAX] at [P, END), blanks around
 * allowed. */
static bool
parse_int(const char *p, const char *end, int64_t min, int64_t max,
          int64_t *out)
{
    int64_t v;

    trim(&p, &end);
    if (!tf__parse_i64_span(p, end, true, &v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/*
 * A number of seconds at [P, END) ("1700000000.123", "     0.005"; blanks
 * around allowed) as microseconds, rounded, exactly: no detour through
 * floating point. At most MAX_S whole seconds.
 */
static bool
parse_secs(const char *p, const char *end, uint64_t max_s, uint64_t *us)
{
    uint64_t whole = 0;
    uint64_t frac = 0;
    int digits = 0;
    int fdigits = 0;
    bool up = false;

    trim(&p, &end);
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (uint64_t)(*p - '0');
        if (whole > max_s)
            return false;
        digits++;
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            if (fdigits < 6)
                frac = frac * 10 + (uint64_t)(*p - '0');
            else if (fdigits == 6)
                up = *p >= '5';
            fdigits++;
            digits++;
        }
    }
    if (p != end || digits == 0)
        return false;
    for (; fdigits < 6; fdigits++)
        frac *= 10;
    *us = whole * 1000000 + frac + (up ? 1 : 0);
    return true;
}

/* The fields of one joblog line. */
struct jl {
    int64_t seq;
    const char *host;
    size_t host_len;
    uint64_t start_us;
    uint64_t runtime_us;
    int64_t exitval;
    int64_t signal;
    const char *cmd;
    size_t cmd_len;
};

/* Parses one joblog line (without its newline): Seq, Host, Starttime,
 * JobRuntime, Send, Receive, Exitval, Signal, Command (the rest of the
 * line, TABs and all). Returns NULL, or what is wrong with it. */
static const char *
parse_line(const char *line, size_t len, struct jl *out)
{
    const char *f[9];
    const char *end = line + len;
    const char *p = line;
    int64_t v;
    int k;

    for (k = 0; k < 8; k++) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));

        if (tab == NULL)
            return "fewer than 9 TAB-separated fields (Seq Host Starttime "
                   "JobRuntime Send Receive Exitval Signal Command)";
        f[k] = p;
        p = tab + 1;
    }
    f[8] = p;
    if (!parse_int(f[0], f[1] - 1, 1, INT64_MAX, &out->seq))
        return "Seq is not a task number";
    if (!parse_secs(f[2], f[3] - 1, 100000000000ULL, &out->start_us))
        return "Starttime is not a number of seconds";
    if (!parse_secs(f[3], f[4] - 1, 1000000000ULL, &out->runtime_us))
        return "JobRuntime is not a number of seconds";
    if (!parse_int(f[4], f[5] - 1, 0, INT64_MAX, &v))
        return "Send is not a byte count";
    if (!parse_int(f[5], f[6] - 1, 0, INT64_MAX, &v))
        return "Receive is not a byte count";
    if (!parse_int(f[6], f[7] - 1, INT32_MIN, INT32_MAX, &out->exitval))
        return "Exitval is not an exit status";
    if (!parse_int(f[7], f[8] - 1, INT32_MIN, INT32_MAX, &out->signal))
        return "Signal is not a signal number";
    out->host = f[1];
    out->host_len = (size_t)(f[2] - 1 - f[1]);
    out->cmd = f[8];
    out->cmd_len = (size_t)(end - f[8]);
    return NULL;
}

static int
load_joblog(struct tf__report *r, FILE *f, struct tf_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    uint64_t lineno = 0;
    ssize_t got;
    int rc = 0;

    while (rc == 0 && (got = getline(&line, &cap, f)) > 0) {
        struct tf__report_task t;
        const char *why;
        struct jl jl;
        size_t len = (size_t)got;
        bool torn = line[len - 1] != '\n';

        lineno++;
        if (!torn)
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0 || (len >= 9 && memcmp(line, "Seq\tHost\t", 9) == 0))
            continue;
        why = parse_line(line, len, &jl);
        if (why != NULL && torn) {
            /* The run writing it was killed, or is still writing. */
            r->torn_bytes = (uint64_t)got;
            break;
        }
        if (why != NULL) {
            rc = tf__error(err, TF_EINPUT,
                           "%s:%" PRIu64 ": not a joblog line: %s", r->path,
                           lineno, why);
            break;
        }
        memset(&t, 0, sizeof(t));
        t.seq = (uint64_t)jl.seq;
        t.start_us = (int64_t)jl.start_us;
        t.runtime_us = jl.runtime_us;
        t.worker = -1;
        t.status = (int32_t)jl.exitval;
        t.signal = (int32_t)jl.signal;
        t.flags = jl.exitval != 0 || jl.signal != 0 ? TF__REPORT_FAILED : 0;
        rc = tf__report_add(r, &t, jl.host, jl.host_len, jl.cmd, jl.cmd_len,
                            err);
    }
    if (rc == 0 && ferror(f))
        rc = tf__error_errno(err, TF_ESYS, errno, "reading %s", r->path);
    r->lines = lineno;
    free(line);
    return rc;
}

struct load_ctx {
    struct tf__report *r;
    struct tf_error *err;
};

static int
add_record(void *arg, const struct tf__result_rec *rec)
{
    struct load_ctx *c = arg;
    struct tf__report_task t;

    memset(&t, 0, sizeof(t));
    t.seq = rec->id;
    t.start_us = rec->start_us;
    t.runtime_us = rec->runtime_us;
    t.worker = rec->worker;
    t.status = rec->status;
    t.signal = rec->signal;
    t.cpu_us = rec->cpu_us;
    t.peak_bytes = rec->peak_bytes;
    if (rec->status != 0 || rec->signal != 0 ||
        (rec->flags & (TF__REC_TIMEOUT | TF__REC_LOST | TF__REC_OOM)) != 0)
        t.flags = TF__REPORT_FAILED;
    if (rec->flags & TF__REC_OOM)
        t.flags |= TF__REPORT_OOM;
    return tf__report_add(c->r, &t, rec->host, rec->host_len, rec->cmd,
                          rec->cmd_len, c->err);
}

int
tf__report_load(const char *path, struct tf__report **out, struct tf_error *err)
{
    struct tf__report *r = NULL;
    unsigned char magic[8];
    struct stat st;
    ssize_t got;
    FILE *f;
    int fd;
    int rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tf__error_errno(err, TF_EINPUT, errno, "%s", path);
    if (fstat(fd, &st) < 0) {
        rc = tf__error_errno(err, TF_ESYS, errno, "%s", path);
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tf__error(err, TF_EINPUT, "%s: not a regular file", path);
    }
    rc = tf__report_new(path, &r, err);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    got = pread(fd, magic, sizeof(magic), 0);
    if (got < 0) {
        rc = tf__error_errno(err, TF_EINPUT, errno, "%s", path);
        close(fd);
    } else if (got == (ssize_t)sizeof(magic) &&
               memcmp(magic, TF__RESULTS_MAGIC, sizeof(magic)) == 0) {
        struct load_ctx c = {r, err};

        close(fd);
        r->results = true;
        rc = tf__results_read(path, add_record, &c, &r->torn_bytes, err);
    } else {
        f = fdopen(fd, "r");
        if (f == NULL) {
            rc = tf__error_errno(err, TF_ESYS, errno, "%s", path);
            close(fd);
        } else {
            rc = load_joblog(r, f, err);
            fclose(f);
        }
    }
    if (rc < 0) {
        tf__report_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------ analysis */

struct seq_ix {
    uint64_t seq;
    size_t ix;
};

static int
seq_ix_cmp(const void *a, const void *b)
{
    const struct seq_ix *x = a;
    const struct seq_ix *y = b;

    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->ix < y->ix ? -1 : x->ix > y->ix;
}

/* Flags the last record of each task number and counts the tasks. */
static int
mark_last(struct tf__report *r)
{
    struct seq_ix *a;
    bool rising = true;
    size_t i;

    for (i = 1; i < r->n && rising; i++)
        rising = r->t[i].seq > r->t[i - 1].seq;
    if (rising) {
        /* The common case, one record per task in task order. */
        for (i = 0; i < r->n; i++)
            r->t[i].flags |= TF__REPORT_LAST;
        r->stats.tasks = r->n;
        return 0;
    }
    a = malloc(r->n * sizeof(*a));
    if (a == NULL)
        return TF_ENOMEM;
    for (i = 0; i < r->n; i++) {
        a[i].seq = r->t[i].seq;
        a[i].ix = i;
    }
    qsort(a, r->n, sizeof(*a), seq_ix_cmp);
    r->stats.tasks = 0;
    for (i = 0; i < r->n; i++) {
        if (i + 1 < r->n && a[i + 1].seq == a[i].seq)
            continue;
        r->t[a[i].ix].flags |= TF__REPORT_LAST;
        r->stats.tasks++;
    }
    free(a);
    return 0;
}

static int
i32_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a;
    int32_t y = *(const int32_t *)b;

    return x < y ? -1 : x > y;
}

static int
start_cmp(const void *a, const void *b)
{
    const struct tf__report_task *x = a;
    const struct tf__report_task *y = b;

    if (x->host != y->host)
        return x->host < y->host ? -1 : 1;
    if (x->start_us != y->start_us)
        return x->start_us < y->start_us ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static int
lanes_alloc(struct tf__report *r, size_t n)
{
    free(r->lane_host);
    free(r->lane_worker);
    r->lane_host = malloc((n > 0 ? n : 1) * sizeof(*r->lane_host));
    r->lane_worker = malloc((n > 0 ? n : 1) * sizeof(*r->lane_worker));
    r->nlanes = 0;
    return r->lane_host == NULL || r->lane_worker == NULL ? TF_ENOMEM : 0;
}

/* Lanes of a results file: its distinct worker numbers, in order. */
static int
lanes_from_workers(struct tf__report *r)
{
    int32_t *w = malloc(r->n * sizeof(*w));
    size_t i;
    size_t k = 0;
    int rc;

    if (w == NULL)
        return TF_ENOMEM;
    for (i = 0; i < r->n; i++)
        w[i] = r->t[i].worker;
    qsort(w, r->n, sizeof(*w), i32_cmp);
    for (i = 0; i < r->n; i++)
        if (k == 0 || w[k - 1] != w[i])
            w[k++] = w[i];
    rc = lanes_alloc(r, k);
    if (rc < 0) {
        free(w);
        return rc;
    }
    r->nlanes = k;
    for (i = 0; i < k; i++) {
        r->lane_worker[i] = w[i];
        r->lane_host[i] = UINT32_MAX;
    }
    for (i = 0; i < r->n; i++) {
        const int32_t *hit =
            bsearch(&r->t[i].worker, w, k, sizeof(*w), i32_cmp);
        uint32_t lane = (uint32_t)(hit - w);

        r->t[i].lane = lane;
        if (r->lane_host[lane] == UINT32_MAX)
            r->lane_host[lane] = r->t[i].host; /* its first record's */
    }
    free(w);
    return 0;
}

/* A binary min-heap of (key, lane) pairs. */
struct heap {
    uint64_t *key;
    uint32_t *lane;
    size_t n;
};

static void
heap_push(struct heap *h, uint64_t key, uint32_t lane)
{
    size_t i = h->n++;

    while (i > 0) {
        size_t up = (i - 1) / 2;

        if (h->key[up] < key || (h->key[up] == key && h->lane[up] <= lane))
            break;
        h->key[i] = h->key[up];
        h->lane[i] = h->lane[up];
        i = up;
    }
    h->key[i] = key;
    h->lane[i] = lane;
}

static void
heap_pop(struct heap *h)
{
    uint64_t key = h->key[--h->n];
    uint32_t lane = h->lane[h->n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= h->n)
            break;
        if (c + 1 < h->n &&
            (h->key[c + 1] < h->key[c] ||
             (h->key[c + 1] == h->key[c] && h->lane[c + 1] < h->lane[c])))
            c++;
        if (key < h->key[c] || (key == h->key[c] && lane <= h->lane[c]))
            break;
        h->key[i] = h->key[c];
        h->lane[i] = h->lane[c];
        i = c;
    }
    h->key[i] = key;
    h->lane[i] = lane;
}

/*
 * Lanes of a joblog: per host, the records in start order, each to the
 * free lane that became free last (the lowest-numbered of equals), or a
 * new lane. A lane free SLACK_US late counts as free: a joblog's times are
 * rounded. IDLE is a heap of free lanes keyed on UINT64_MAX - their end.
 */
static int
lanes_greedy(struct tf__report *r, uint64_t slack_us)
{
    struct heap busy;
    struct heap idle;
    size_t i;
    size_t first = 0;
    uint32_t base = 0;
    uint32_t next = 0;
    int rc = 0;

    qsort(r->t, r->n, sizeof(*r->t), start_cmp);
    busy.key = malloc(r->n * sizeof(*busy.key));
    busy.lane = malloc(r->n * sizeof(*busy.lane));
    idle.key = malloc(r->n * sizeof(*idle.key));
    idle.lane = malloc(r->n * sizeof(*idle.lane));
    busy.n = idle.n = 0;
    if (busy.key == NULL || busy.lane == NULL || idle.key == NULL ||
        idle.lane == NULL)
        rc = TF_ENOMEM;
    /* At most one lane per record. */
    if (rc == 0)
        rc = lanes_alloc(r, r->n);
    for (i = 0; rc == 0 && i < r->n; i++) {
        struct tf__report_task *t = &r->t[i];
        uint64_t start = (uint64_t)t->start_us;
        uint32_t lane;

        if (i > 0 && t->host != r->t[first].host) {
            base += next;
            next = 0;
            busy.n = idle.n = 0;
            first = i;
        }
        while (busy.n > 0 && busy.key[0] <= start + slack_us) {
            heap_push(&idle, UINT64_MAX - busy.key[0], busy.lane[0]);
            heap_pop(&busy);
        }
        if (idle.n > 0) {
            lane = idle.lane[0];
            heap_pop(&idle);
        } else {
            lane = next++;
            r->lane_host[base + lane] = t->host;
            r->lane_worker[base + lane] = (int32_t)lane;
            r->nlanes++;
        }
        heap_push(&busy, start + t->runtime_us, lane);
        t->lane = base + lane;
    }
    free(busy.key);
    free(busy.lane);
    free(idle.key);
    free(idle.lane);
    return rc;
}

int
tf__report_analyse(struct tf__report *r, struct tf_error *err)
{
    struct tf__report_stats *s = &r->stats;
    uint64_t *rt = NULL;
    uint64_t *peaks = NULL;
    int64_t *lane_end = NULL;
    int64_t idle = -1;
    double sum = 0;
    bool workers = r->results;
    size_t i;
    int rc;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < r->n; i++)
        r->t[i].flags &= TF__REPORT_FAILED | TF__REPORT_OOM;
    rc = mark_last(r);
    for (i = 0; i < r->n && workers; i++)
        workers = r->t[i].worker >= 0;
    if (rc == 0 && r->n == 0)
        rc = lanes_alloc(r, 0);
    else if (rc == 0)
        rc = workers ? lanes_from_workers(r)
                     : lanes_greedy(r, r->results ? 0 : TF__REPORT_SLACK_US);
    if (rc == 0) {
        rt = malloc((r->n > 0 ? r->n : 1) * sizeof(*rt));
        peaks = malloc((r->n > 0 ? r->n : 1) * sizeof(*peaks));
        lane_end = calloc(r->nlanes > 0 ? r->nlanes : 1, sizeof(*lane_end));
        if (rt == NULL || peaks == NULL || lane_end == NULL)
            rc = TF_ENOMEM;
    }
    if (rc < 0) {
        free(rt);
        free(peaks);
        free(lane_end);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    s->runs = r->n;
    s->workers = r->nlanes;
    s->start_us = r->n > 0 ? INT64_MAX : 0;
    s->end_us = 0;
    for (i = 0; i < r->n; i++) {
        const struct tf__report_task *t = &r->t[i];
        int64_t end = t->start_us + (int64_t)t->runtime_us;

        if (t->start_us < s->start_us)
            s->start_us = t->start_us;
        if (end > s->end_us)
            s->end_us = end;
        if (end > lane_end[t->lane])
            lane_end[t->lane] = end;
        if (t->flags & TF__REPORT_FAILED) {
            s->failed_runs++;
            if (t->flags & TF__REPORT_LAST)
                s->failed++;
        }
        sum += (double)t->runtime_us;
        rt[i] = t->runtime_us;
        if (t->flags & TF__REPORT_OOM)
            s->oom++;
        if (t->peak_bytes > 0) {
            peaks[s->measured++] = t->peak_bytes;
            s->cpu_s += (double)t->cpu_us / 1e6;
        }
    }
    if (s->measured > 0) {
        qsort(peaks, (size_t)s->measured, sizeof(*peaks), u64_cmp);
        s->peak_median_bytes = peaks[(s->measured * 50 + 99) / 100 - 1];
        s->peak_max_bytes = peaks[s->measured - 1];
    }
    /* The first worker to run out of tasks. */
    for (i = 0; i < r->nlanes; i++)
        if (idle < 0 || lane_end[i] < idle)
            idle = lane_end[i];
    if (r->n > 0) {
        s->makespan_us = (uint64_t)(s->end_us - s->start_us);
        s->tail_us = (uint64_t)(s->end_us - idle);
        s->total_s = sum / 1e6;
        qsort(rt, r->n, sizeof(*rt), u64_cmp);
        s->mean_us = (uint64_t)(sum / (double)r->n + 0.5);
        /* Nearest rank: the smallest value with at least P% at or below. */
        s->median_us = rt[(r->n * 50 + 99) / 100 - 1];
        s->p95_us = rt[(r->n * 95 + 99) / 100 - 1];
        s->min_us = rt[0];
        s->max_us = rt[r->n - 1];
    }
    if (s->makespan_us > 0 && s->workers > 0) {
        double span_s = (double)s->makespan_us / 1e6;

        s->efficiency = s->total_s / ((double)s->workers * span_s);
        s->runs_per_s = (double)s->runs / span_s;
    }
    free(rt);
    free(peaks);
    free(lane_end);
    r->analysed = true;
    return 0;
}

/* ------------------------------------------------------------ output */

/* An output buffer whose first error sticks, so that page writing needs
 * one check at its end. */
struct out {
    struct tf_buf *b;
    int rc;
};

static void
putn(struct out *o, const void *p, size_t n)
{
    if (o->rc == 0)
        o->rc = tf_buf_append(o->b, p, n);
}

static void
put(struct out *o, const char *s)
{
    putn(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
putf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    size_t room;
    int n;

    if (o->rc != 0)
        return;
    o->rc = tf_buf_reserve(o->b, 256);
    if (o->rc != 0)
        return;
    room = o->b->cap - o->b->len;
    va_start(ap, fmt);
    n = vsnprintf((char *)o->b->data + o->b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->rc = TF_ENOMEM;
        return;
    }
    if ((size_t)n >= room) {
        o->rc = tf_buf_reserve(o->b, (size_t)n);
        if (o->rc != 0)
            return;
        va_start(ap, fmt);
        vsnprintf((char *)o->b->data + o->b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    o->b->len += (size_t)n;
}

/* The length of the well-formed UTF-8 sequence of 2 to 4 bytes at S (N
 * bytes left), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];

    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
            return 0; /* overlong, or a surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
            return 0; /* overlong, or past U+10FFFF */
        return 4;
    }
    return 0;
}

/*
 * How text is escaped: for a terminal (bytes as \xNN), for SVG and the
 * page's <title> (entities, bytes as \xNN: an HTML element there would
 * end the SVG), or for the page's body (bytes marked up as well).
 */
enum esc_mode { ESC_TERM, ESC_SVG, ESC_HTML };

/* Appends the N bytes at S escaped for MODE. */
static int
escape(struct tf_buf *out, const void *s, size_t n, enum esc_mode mode)
{
    bool html = mode != ESC_TERM;
    const unsigned char *p = s;
    const unsigned char *end = p + n;
    const unsigned char *run = p;
    int rc = 0;

    while (p < end && rc == 0) {
        const char *ent = NULL;
        char hex[48];
        unsigned char c = *p;
        size_t k = 1;

        if (c >= 0x80) {
            k = utf8_len(p, (size_t)(end - p));
            if (k > 0) {
                p += k;
                continue;
            }
            k = 1;
        } else if (html && c == '&') {
            ent = "&amp;";
        } else if (html && c == '<') {
            ent = "&lt;";
        } else if (html && c == '>') {
            ent = "&gt;";
        } else if (html && c == '"') {
            ent = "&quot;";
        } else if (html && c == '\'') {
            ent = "&#39;";
        } else if ((c >= 0x20 || c == '\t') && c != 0x7f) {
            p++;
            continue;
        }
        if (ent == NULL) {
            snprintf(hex, sizeof(hex),
                     mode == ESC_HTML ? "<span class=\"x\">\\x%02x</span>"
                                      : "\\x%02x",
                     c);
            ent = hex;
        }
        rc = tf_buf_append(out, run, (size_t)(p - run));
        if (rc == 0)
            rc = tf_buf_puts(out, ent);
        p += k;
        run = p;
    }
    if (rc == 0)
        rc = tf_buf_append(out, run, (size_t)(p - run));
    return rc;
}

int
tf__report_html_escape(struct tf_buf *out, const void *s, size_t n)
{
    return escape(out, s, n, ESC_HTML);
}

static void
esc(struct out *o, const void *s, size_t n, enum esc_mode mode)
{
    if (o->rc == 0)
        o->rc = escape(o->b, s, n, mode);
}

/* Appends task T's command as kept; a cut one ends at a character
 * boundary, with an ellipsis and its length. */
static void
put_cmd(struct out *o, const struct tf__report *r,
        const struct tf__report_task *t, enum esc_mode mode)
{
    const unsigned char *p = r->cmds.data + t->cmd_off;
    size_t n =
        t->cmd_len < TF__REPORT_CMD_KEEP ? t->cmd_len : TF__REPORT_CMD_KEEP;

    if (t->cmd_len > n) {
        size_t k = n;

        /* Back off over a sequence the cut split. */
        while (k > 0 && n - k < 4 && (p[k - 1] & 0xc0) == 0x80)
            k--;
        if (k > 0 && p[k - 1] >= 0xc0 && utf8_len(p + k - 1, n - k + 1) == 0)
            n = k - 1;
    }
    if (r->cmds.data != NULL)
        esc(o, p, n, mode);
    if (t->cmd_len > n)
        putf(o, "\xe2\x80\xa6 [%" PRIu32 " bytes]", t->cmd_len);
}

/* Appends "12.345 s", and for a minute or more " (1h 02m 03s)". */
static void
put_dur(struct out *o, uint64_t us)
{
    uint64_t s = (us + 500000) / 1000000;

    putf(o, "%.3f s", (double)us / 1e6);
    if (s >= 3600)
        putf(o, " (%" PRIu64 "h %02um %02us)", s / 3600,
             (unsigned)(s / 60 % 60), (unsigned)(s % 60));
    else if (s >= 60)
        putf(o, " (%um %02us)", (unsigned)(s / 60), (unsigned)(s % 60));
}

/* Appends lane LANE's name: "w3", or "HOST w3" when there are hosts. */
static void
put_lane(struct out *o, const struct tf__report *r, size_t lane,
         enum esc_mode mode)
{
    uint32_t h = r->lane_host[lane];

    if (r->nhosts > 1) {
        esc(o, r->hosts[h], r->host_len[h], mode);
        put(o, " ");
    }
    putf(o, "w%" PRId32, r->lane_worker[lane]);
}

/* ------------------------------------------------------------ the page */

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
    "'DejaVu Sans',sans-serif;color:#222;background:#fff;margin:16px auto;"
    "max-width:1180px;padding:0 10px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:26px 0 4px}"
    ".src,.note{color:#555;margin:2px 0 8px}"
    "table{border-collapse:collapse}"
    "td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}"
    "table.nums td:nth-child(2){text-align:right;font-variant-numeric:"
    "tabular-nums;white-space:nowrap;font-weight:600}"
    "table.nums td:nth-child(3){color:#555}"
    "table.tasks{width:100%;font-size:13px}"
    "table.tasks th{border-bottom:1px solid #bbb}"
    "table.tasks td{border-bottom:1px solid #eee}"
    "table.tasks .n{text-align:right;white-space:nowrap;width:1%;"
    "padding-right:16px;font-variant-numeric:tabular-nums}"
    "table.tasks .w{white-space:nowrap;width:1%;padding-right:16px}"
    "code{font:12px/1.4 'DejaVu Sans Mono',monospace;word-break:break-all}"
    ".x{color:#b00;background:#fee}"
    "svg{display:block;max-width:100%;height:auto;margin:4px 0}"
    "svg text{font:11px 'DejaVu Sans',sans-serif;fill:#333}"
    "svg .lbl{font-size:12px}"
    ".ax{stroke:#888;stroke-width:1}.grid{stroke:#e5e5e5;stroke-width:1}"
    ".bg{fill:#f7f7f7}"
    ".t{fill:#4c78a8;stroke:#fff;stroke-width:.5}"
    ".tf{fill:#e45756;stroke:#fff;stroke-width:.5}"
    ".b1{fill:#4c78a8;fill-opacity:.25}.b2{fill:#4c78a8;fill-opacity:.5}"
    ".b3{fill:#4c78a8;fill-opacity:.75}.b4{fill:#4c78a8}.f{fill:#e45756}"
    ".area{fill:#4c78a8;fill-opacity:.35;stroke:#4c78a8;stroke-width:1}"
    ".cap{stroke:#e45756;stroke-dasharray:5 4;stroke-width:1}"
    ".bar{fill:#4c78a8}.barf{fill:#e45756}"
    ".key{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;"
    "vertical-align:-1px}.key:first-child{margin-left:0}"
    "footer{color:#777;margin:30px 0 10px;font-size:12px}";

/* A step of 1, 2 or 5 times a power of ten giving about TARGET steps over
 * RANGE (> 0). */
static double
nice_step(double range, int target)
{
    double raw = range / target;
    double mag = 1;
    double norm;

    if (!(raw > 1e-12))
        return 1;

    while (mag * 10 <= raw)
        mag *= 10;
    while (mag > raw)
        mag /= 10;
    norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

/* The time axis under a plot ending at Y, for SPAN_US (0: a second). */
static void
time_axis(struct out *o, int y, uint64_t span_us)
{
    double span_s = span_us > 0 ? (double)span_us / 1e6 : 1;
    double unit = span_s < 180 ? 1 : span_s < 3 * 3600 ? 60 : 3600;
    const char *name = unit == 1 ? "s" : unit == 60 ? "min" : "h";
    double span = span_s / unit;
    double step = nice_step(span, 10);
    int k;

    putf(o, "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
         PLOT_X, y, PLOT_X + PLOT_W, y);
    for (k = 0; k * step <= span * (1 + 1e-9); k++) {
        double x = PLOT_X + k * step / span * PLOT_W;

        putf(o,
             "<line class=\"ax\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
             "y2=\"%d\"/><text x=\"%.1f\" y=\"%d\" "
             "text-anchor=\"middle\">%g</text>",
             x, y, x, y + 5, x, y + 18, k * step);
    }
    putf(o,
         "<text class=\"lbl\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">time "
         "since the first task started (%s)</text>",
         PLOT_X + PLOT_W / 2, y + 36, name);
}

static void
svg_open(struct out *o, const char *id, int h, const char *title)
{
    putf(o,
         "<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
         "aria-labelledby=\"%s-t\" width=\"%d\" height=\"%d\" "
         "viewBox=\"0 0 %d %d\"><title id=\"%s-t\">%s</title>",
         id, id, SVG_W, h, SVG_W, h, id, title);
}

/* The rows of the timeline: each lane, or groups of lanes past MAX_ROWS. */
static size_t
row_of(size_t lane, size_t lanes, size_t rows)
{
    return lanes <= rows ? lane : lane * rows / lanes;
}

static void
timeline_exact(struct out *o, const struct tf__report *r, int top, int rowh)
{
    const struct tf__report_stats *s = &r->stats;
    double span = (double)(s->makespan_us > 0 ? s->makespan_us : 1);
    size_t i;

    for (i = 0; i < r->n; i++) {
        const struct tf__report_task *t = &r->t[i];
        double x = PLOT_X + (double)(t->start_us - s->start_us) / span * PLOT_W;
        double w = (double)t->runtime_us / span * PLOT_W;
        bool failed = (t->flags & TF__REPORT_FAILED) != 0;

        putf(o,
             "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
             "height=\"%d\"><title>task %" PRIu64 " (",
             failed ? "tf" : "t", x, top + (int)t->lane * rowh + 1,
             w < 0.8 ? 0.8 : w, rowh > 3 ? rowh - 2 : rowh, t->seq);
        put_lane(o, r, t->lane, ESC_SVG);
        put(o, "): ");
        put_dur(o, t->runtime_us);
        if (failed)
            putf(o, ", exit %" PRId32 ", signal %" PRId32, t->status,
                 t->signal);
        put(o, "\n");
        put_cmd(o, r, t, ESC_SVG);
        put(o, "</title></rect>");
    }
}

static const char *const shade_class[5] = {"b1", "b2", "b3", "b4", "f"};

/* Per row and time column the busy and failed time; drawn as one path per
 * shade, consecutive columns of one shade merged. */
static int
timeline_columns(struct out *o, const struct tf__report *r, size_t rows,
                 int top, int rowh)
{
    const struct tf__report_stats *s = &r->stats;
    double span = (double)(s->makespan_us > 0 ? s->makespan_us : 1);
    double cw = span / PLOT_W;
    double *busy = calloc(rows * PLOT_W, sizeof(*busy));
    double *fail = calloc(rows * PLOT_W, sizeof(*fail));
    size_t *per_row = calloc(rows, sizeof(*per_row));
    struct tf_buf shade[5];
    struct out so[5];
    size_t i;
    size_t row;
    int k;

    if (busy == NULL || fail == NULL || per_row == NULL) {
        free(busy);
        free(fail);
        free(per_row);
        return TF_ENOMEM;
    }
    for (i = 0; i < r->nlanes; i++)
        per_row[row_of(i, r->nlanes, rows)]++;
    for (i = 0; i < r->n; i++) {
        const struct tf__report_task *t = &r->t[i];
        double a = (double)(t->start_us - s->start_us);
        double b = a + (double)t->runtime_us;
        size_t c = (size_t)(a / cw);
        double *bu = busy + row_of(t->lane, r->nlanes, rows) * PLOT_W;
        double *fa = fail + row_of(t->lane, r->nlanes, rows) * PLOT_W;
        bool failed = (t->flags & TF__REPORT_FAILED) != 0;

        for (; c < PLOT_W && c * cw < b; c++) {
            double lo = c * cw > a ? c * cw : a;
            double hi = (c + 1) * cw < b ? (c + 1) * cw : b;

            if (hi <= lo)
                continue;
            bu[c] += hi - lo;
            if (failed)
                fa[c] += hi - lo;
        }
    }
    for (k = 0; k < 5; k++) {
        tf_buf_init(&shade[k], 0);
        so[k].b = &shade[k];
        so[k].rc = 0;
    }
    for (row = 0; row < rows; row++) {
        int y = top + (int)row * rowh;
        int h = rowh > 3 ? rowh - 2 : rowh;
        int prev = -1;
        int x0 = 0;
        int c;

        for (c = 0; c <= PLOT_W; c++) {
            int cls = -1;

            if (c < PLOT_W) {
                double full = cw * (double)per_row[row];
                double f = busy[row * PLOT_W + (size_t)c] / full;

                if (f > 1e-9) {
                    cls = f < 0.25 ? 0 : f < 0.5 ? 1 : f < 0.75 ? 2 : 3;
                    if (fail[row * PLOT_W + (size_t)c] * 2 >=
                        busy[row * PLOT_W + (size_t)c])
                        cls = 4;
                }
            }
            if (cls == prev)
                continue;
            if (prev >= 0)
                putf(&so[prev], "M%d %dh%dv%dh-%dz", PLOT_X + x0,
                     y + (rowh > 3 ? 1 : 0), c - x0, h, c - x0);
            prev = cls;
            x0 = c;
        }
    }
    for (k = 0; k < 5; k++) {
        if (so[k].rc != 0 && o->rc == 0)
            o->rc = so[k].rc;
        if (shade[k].len > 0) {
            putf(o, "<path class=\"%s\" d=\"", shade_class[k]);
            putn(o, shade[k].data, shade[k].len);
            put(o, "\"/>");
        }
        tf_buf_cleanup(&shade[k]);
    }
    free(busy);
    free(fail);
    free(per_row);
    return 0;
}

static void
timeline(struct out *o, const struct tf__report *r)
{
    const struct tf__report_stats *s = &r->stats;
    size_t rows = r->nlanes < MAX_ROWS ? r->nlanes : MAX_ROWS;
    int rowh = rows > 0 ? (int)(480 / rows) : 24;
    int top = 8;
    int h;
    int every;
    size_t row;

    if (rowh > 28)
        rowh = 28;
    if (rowh < 2)
        rowh = 2;
    h = top + (int)rows * rowh + 48;
    if (rows == 0)
        h = top + 40 + 48;
    svg_open(o, "timeline", h,
             "Timeline: which worker ran which task when; red: failed");
    putf(o, "<rect class=\"bg\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>",
         PLOT_X, top, PLOT_W, h - top - 48);
    if (rows == 0) {
        putf(o,
             "<text class=\"lbl\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">no "
             "tasks</text>",
             PLOT_X + PLOT_W / 2, top + 24);
        time_axis(o, h - 48, 1000000);
        put(o, "</svg>\n");
        return;
    }
    /* Names every row that has room, else every so many rows. */
    every = rowh >= 11 ? 1 : (11 + rowh - 1) / rowh;
    for (row = 0; row < rows; row += (size_t)every) {
        size_t lo =
            r->nlanes <= rows ? row : (row * r->nlanes + rows - 1) / rows;
        size_t hi = r->nlanes <= rows
                        ? row
                        : ((row + 1) * r->nlanes + rows - 1) / rows - 1;

        putf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", PLOT_X - 6,
             top + (int)row * rowh + rowh / 2 + 4);
        put_lane(o, r, lo, ESC_SVG);
        if (hi > lo) {
            put(o, "\xe2\x80\x93");
            put_lane(o, r, hi, ESC_SVG);
        }
        put(o, "</text>");
    }
    if (r->n <= EXACT_MAX && r->nlanes <= MAX_ROWS)
        timeline_exact(o, r, top, rowh);
    else if (o->rc == 0)
        o->rc = timeline_columns(o, r, rows, top, rowh);
    time_axis(o, top + (int)rows * rowh, s->makespan_us);
    put(o, "</svg>\n");
}

/* Workers busy over time (MEM false) or the memory of the tasks running
 * (MEM: each run counts with its peak memory, in units of UNIT bytes, for
 * the whole of its run, so the curve is an upper bound): the mean of each
 * time column, from the overlap of every task run with the columns it
 * covers (a difference array spreads the columns a run covers whole). */
static void
load_chart(struct out *o, const struct tf__report *r, bool mem)
{
    const struct tf__report_stats *s = &r->stats;
    double span = (double)(s->makespan_us > 0 ? s->makespan_us : 1);
    double cw = span / PLOT_W;
    double area[PLOT_W];
    double full[PLOT_W + 1];
    double unit = s->peak_max_bytes >= ((uint64_t)1 << 30) ? 1073741824.0
                                                           : 1048576.0;
    double ymax = mem ? 1 : (double)(s->workers > 0 ? s->workers : 1);
    double run = 0;
    double step;
    const int top = 10;
    const int ph = 160;
    int h = top + ph + 48;
    size_t i;
    int c;
    int k;

    memset(area, 0, sizeof(area));
    memset(full, 0, sizeof(full));
    for (i = 0; i < r->n; i++) {
        const struct tf__report_task *t = &r->t[i];
        double a = (double)(t->start_us - s->start_us);
        double b = a + (double)t->runtime_us;
        double wt = mem ? (double)t->peak_bytes / unit : 1;
        size_t ca = (size_t)(a / cw);
        size_t cb = (size_t)(b / cw);

        if (ca >= PLOT_W)
            ca = PLOT_W - 1;
        if (cb >= PLOT_W)
            cb = PLOT_W - 1;
        if (ca == cb) {
            area[ca] += (b - a) * wt;
            continue;
        }
        area[ca] += ((double)(ca + 1) * cw - a) * wt;
        area[cb] += (b - (double)cb * cw) * wt;
        full[ca + 1] += cw * wt;
        full[cb] -= cw * wt;
    }
    for (c = 0; c < PLOT_W; c++) {
        run += full[c];
        area[c] = (area[c] + run) / cw;
        if (area[c] > ymax)
            ymax = area[c];
    }
    svg_open(o, mem ? "memory" : "busy", h,
             mem ? "Memory of the running tasks over time"
                 : "Busy workers over time");
    step = nice_step(ymax, 5);
    if (step < 1)
        step = 1;
    for (k = 0; k * step <= ymax * (1 + 1e-9); k++) {
        double y = top + ph - k * step / ymax * ph;

        putf(o,
             "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
             "y2=\"%.1f\"/><text x=\"%d\" y=\"%.1f\" "
             "text-anchor=\"end\">%g</text>",
             PLOT_X, y, PLOT_X + PLOT_W, y, PLOT_X - 6, y + 4, k * step);
    }
    putf(o,
         "<text class=\"lbl\" transform=\"translate(%d %d) rotate(-90)\" "
         "text-anchor=\"middle\">%s</text>",
         PLOT_X - 44, top + ph / 2,
         !mem ? "busy workers" : unit > 1048576.0 ? "GiB" : "MiB");
    if (r->n > 0) {
        double prev = -1;

        putf(o, "<path class=\"area\" d=\"M%d %d", PLOT_X, top + ph);
        for (c = 0; c < PLOT_W; c++) {
            double y = top + ph - area[c] / ymax * ph;

            if (y != prev)
                putf(o, "H%dV%.1f", PLOT_X + c, y);
            prev = y;
        }
        putf(o, "H%dV%dZ\"/>", PLOT_X + PLOT_W, top + ph);
    }
    if (r->n > 0 && !mem) {
        putf(o,
             "<line class=\"cap\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
             "y2=\"%.1f\"/><text x=\"%d\" y=\"%.1f\" "
             "text-anchor=\"end\">%" PRIu64 " workers</text>",
             PLOT_X, top + ph - (double)s->workers / ymax * ph, PLOT_X + PLOT_W,
             top + ph - (double)s->workers / ymax * ph, PLOT_X + PLOT_W - 4,
             top + ph - (double)s->workers / ymax * ph - 4, s->workers);
    }
    time_axis(o, top + ph, r->n > 0 ? s->makespan_us : 1000000);
    put(o, "</svg>\n");
}

/* 10^(i/10) for i = 0 .. 9: the bin edges of a decade. */
static const double decade[10] = {
    1,           1.258925412, 1.584893192, 1.995262315, 2.511886432,
    3.162277660, 3.981071706, 5.011872336, 6.309573445, 7.943282347};

static void
histogram(struct out *o, const struct tf__report *r)
{
    const struct tf__report_stats *s = &r->stats;
    uint64_t minpos = UINT64_MAX;
    uint64_t count[LINEAR_BINS + 128];
    uint64_t nfail[LINEAR_BINS + 128];
    double edge[LINEAR_BINS + 129]; /* µs */
    uint64_t cmax = 1;
    bool logscale;
    const int top = 10;
    const int ph = 180;
    int h = top + ph + 48;
    int nb;
    int per = 1;
    int b;
    int k;
    size_t i;

    for (i = 0; i < r->n; i++)
        if (r->t[i].runtime_us > 0 && r->t[i].runtime_us < minpos)
            minpos = r->t[i].runtime_us;
    logscale = minpos != UINT64_MAX && s->max_us / minpos >= 100;
    if (logscale) {
        double lo = 1;
        int decades = 0;

        while (lo * 10 <= (double)minpos)
            lo *= 10;
        for (decades = 1; lo * 10 <= (double)s->max_us; decades++)
            lo *= 10;
        lo = 1;
        while (lo * 10 <= (double)minpos)
            lo *= 10;
        per = decades <= 4 ? 10 : decades <= 10 ? 5 : decades <= 25 ? 2 : 1;
        nb = decades * per;
        for (b = 0; b <= nb; b++) {
            double p10 = lo;

            for (k = 0; k < b / per; k++)
                p10 *= 10;
            edge[b] = p10 * decade[(b % per) * (10 / per)];
        }
    } else {
        nb = s->max_us > 0 ? LINEAR_BINS : 1;
        for (b = 0; b <= nb; b++)
            edge[b] = (double)s->max_us * b / nb;
    }
    memset(count, 0, sizeof(count));
    memset(nfail, 0, sizeof(nfail));
    for (i = 0; i < r->n; i++) {
        double v = (double)r->t[i].runtime_us;
        int lo = 0;
        int hi = nb - 1;

        /* The last bin whose lower edge is at or below V. */
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;

            if (edge[mid] <= v)
                lo = mid;
            else
                hi = mid - 1;
        }
        count[lo]++;
        if (r->t[i].flags & TF__REPORT_FAILED)
            nfail[lo]++;
    }
    for (b = 0; b < nb; b++)
        if (count[b] > cmax)
            cmax = count[b];
    svg_open(o, "histogram", h,
             logscale ? "Histogram of task durations (log scale)"
                      : "Histogram of task durations");
    {
        double step = nice_step((double)cmax, 5);

        if (step < 1)
            step = 1;
        for (k = 0; k * step <= (double)cmax * (1 + 1e-9); k++) {
            double y = top + ph - k * step / (double)cmax * ph;

            putf(o,
                 "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
                 "y2=\"%.1f\"/><text x=\"%d\" y=\"%.1f\" "
                 "text-anchor=\"end\">%g</text>",
                 PLOT_X, y, PLOT_X + PLOT_W, y, PLOT_X - 6, y + 4, k * step);
        }
    }
    putf(o,
         "<text class=\"lbl\" transform=\"translate(%d %d) rotate(-90)\" "
         "text-anchor=\"middle\">task runs</text>",
         PLOT_X - 44, top + ph / 2);
    for (b = 0; b < nb && r->n > 0; b++) {
        double x = PLOT_X + (double)b * PLOT_W / nb;
        double w = (double)PLOT_W / nb - 1;
        double bh = (double)count[b] / (double)cmax * ph;
        double fh = (double)nfail[b] / (double)cmax * ph;

        if (count[b] == 0)
            continue;
        putf(o,
             "<g><title>%g s to %g s: %" PRIu64 " task runs, %" PRIu64
             " failed</title><rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" "
             "width=\"%.1f\" height=\"%.1f\"/>",
             edge[b] / 1e6, edge[b + 1] / 1e6, count[b], nfail[b], x,
             top + ph - bh, w < 1 ? 1 : w, bh < 1 ? 1 : bh);
        if (nfail[b] > 0)
            putf(o,
                 "<rect class=\"barf\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                 "height=\"%.1f\"/>",
                 x, top + ph - fh, w < 1 ? 1 : w, fh < 1 ? 1 : fh);
        put(o, "</g>");
    }
    putf(o, "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
         PLOT_X, top + ph, PLOT_X + PLOT_W, top + ph);
    if (logscale) {
        for (b = 0; b <= nb; b += per) {
            double x = PLOT_X + (double)b * PLOT_W / nb;

            putf(o,
                 "<line class=\"ax\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                 "y2=\"%d\"/><text x=\"%.1f\" y=\"%d\" "
                 "text-anchor=\"middle\">%g</text>",
                 x, top + ph, x, top + ph + 5, x, top + ph + 18, edge[b] / 1e6);
        }
    } else {
        double span = (double)s->max_us / 1e6;
        double step = nice_step(span > 0 ? span : 1, 10);

        for (k = 0; k * step <= span * (1 + 1e-9); k++) {
            double x = PLOT_X + (span > 0 ? k * step / span * PLOT_W : 0);

            putf(o,
                 "<line class=\"ax\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                 "y2=\"%d\"/><text x=\"%.1f\" y=\"%d\" "
                 "text-anchor=\"middle\">%g</text>",
                 x, top + ph, x, top + ph + 5, x, top + ph + 18, k * step);
        }
    }
    putf(o,
         "<text class=\"lbl\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">task "
         "duration (s%s)</text>",
         PLOT_X + PLOT_W / 2, top + ph + 36,
         logscale ? ", log scale; 0 s in the first bin" : "");
    put(o, "</svg>\n");
}

/* The indexes of the N slowest records, slowest first, in *OUT (owned by
 * the caller). */
static int
slowest(const struct tf__report *r, size_t n, size_t **out, size_t *got)
{
    size_t *ix;
    size_t i;
    size_t k = 0;

    *out = NULL;
    *got = 0;
    if (n > r->n)
        n = r->n;
    if (n == 0)
        return 0;
    ix = malloc(n * sizeof(*ix));
    if (ix == NULL)
        return TF_ENOMEM;
    if (n > 64) {
        /* A long list: sort them all. */
        struct seq_ix *a = malloc(r->n * sizeof(*a));

        if (a == NULL) {
            free(ix);
            return TF_ENOMEM;
        }
        for (i = 0; i < r->n; i++) {
            a[i].seq = UINT64_MAX - r->t[i].runtime_us;
            a[i].ix = i;
        }
        qsort(a, r->n, sizeof(*a), seq_ix_cmp);
        for (i = 0; i < n; i++)
            ix[i] = a[i].ix;
        free(a);
        *out = ix;
        *got = n;
        return 0;
    }
    /* Insertion into a short sorted list. */
    for (i = 0; i < r->n; i++) {
        uint64_t v = r->t[i].runtime_us;
        size_t j;

        if (k == n && v <= r->t[ix[k - 1]].runtime_us)
            continue;
        j = k < n ? k++ : n - 1;
        while (j > 0 && r->t[ix[j - 1]].runtime_us < v) {
            ix[j] = ix[j - 1];
            j--;
        }
        ix[j] = i;
    }
    *out = ix;
    *got = k;
    return 0;
}

/* The indexes of the failed tasks' last records, in task order. */
static int
failed_tasks(const struct tf__report *r, size_t **out, size_t *got)
{
    const uint32_t both = TF__REPORT_FAILED | TF__REPORT_LAST;
    struct seq_ix *a;
    size_t *ix;
    size_t i;
    size_t k = 0;

    *out = NULL;
    *got = 0;
    if (r->stats.failed == 0)
        return 0;
    a = malloc((size_t)r->stats.failed * sizeof(*a));
    ix = malloc((size_t)r->stats.failed * sizeof(*ix));
    if (a == NULL || ix == NULL) {
        free(a);
        free(ix);
        return TF_ENOMEM;
    }
    for (i = 0; i < r->n; i++) {
        if ((r->t[i].flags & both) == both) {
            a[k].seq = r->t[i].seq;
            a[k].ix = i;
            k++;
        }
    }
    qsort(a, k, sizeof(*a), seq_ix_cmp);
    for (i = 0; i < k; i++)
        ix[i] = a[i].ix;
    free(a);
    *out = ix;
    *got = k;
    return 0;
}

static void
num_open(struct out *o, const char *name, bool html)
{
    if (html)
        putf(o, "<tr><td>%s</td><td>", name);
    else
        putf(o, "%-18s", name);
}

static void
num_close(struct out *o, const char *meaning, bool html)
{
    if (html)
        putf(o, "</td><td>%s</td></tr>\n", meaning);
    else
        put(o, "\n");
}

/* The number NAME: the duration US, or "-" when NONE, and its MEANING. */
static void
dur_num(struct out *o, const char *name, bool none, uint64_t us,
        const char *meaning, bool html)
{
    num_open(o, name, html);
    if (none)
        put(o, "-");
    else
        put_dur(o, us);
    num_close(o, meaning, html);
}

/* The number NAME: the bytes N, and its MEANING. */
static void
bytes_num(struct out *o, const char *name, uint64_t n, const char *meaning,
          bool html)
{
    char b[16];

    num_open(o, name, html);
    put(o, tf__fmt_bytes(b, sizeof(b), n));
    num_close(o, meaning, html);
}

/* The numbers of a results file that measured what its tasks used. */
static void
usage_numbers(struct out *o, const struct tf__report_stats *s, bool html)
{
    num_open(o, "CPU time", html);
    put_dur(o, (uint64_t)(s->cpu_s * 1e6 + 0.5));
    if (s->total_s > 0)
        putf(o, " (%.0f%s)", s->cpu_s / s->total_s * 100,
             html ? "&#8201;%" : "%");
    num_close(o,
              "user and system CPU time of the task runs added up (and as "
              "a share of their durations: above 100% for tasks that use "
              "several cores)",
              html);
    bytes_num(o, "median memory", s->peak_median_bytes,
              "half of the task runs peaked at most this high", html);
    bytes_num(o, "max memory", s->peak_max_bytes,
              "the largest peak resident memory of a task run", html);
    if (s->oom > 0) {
        num_open(o, "out of memory", html);
        putf(o, "%" PRIu64, s->oom);
        num_close(o, "task runs the kernel's out-of-memory killer ended",
                  html);
    }
}

/* The numbers, as table rows or as text lines. */
static void
numbers(struct out *o, const struct tf__report *r, bool html)
{
    const struct tf__report_stats *s = &r->stats;
    bool none = s->runs == 0;

    num_open(o, "tasks", html);
    putf(o, "%" PRIu64, s->tasks);
    num_close(o, "distinct task numbers", html);
    if (s->runs != s->tasks || !html) {
        num_open(o, "task runs", html);
        putf(o, "%" PRIu64, s->runs);
        num_close(o, "records: a resumed run or retries ran some tasks again",
                  html);
    }
    num_open(o, "failed", html);
    putf(o, "%" PRIu64, s->failed);
    num_close(o,
              "tasks whose last run ended with a nonzero exit status, a "
              "signal, a timeout or a lost worker",
              html);
    num_open(o, "workers", html);
    putf(o, "%" PRIu64, s->workers);
    num_close(o,
              r->results ? "workers that ran tasks"
                         : "worker lanes rebuilt from the joblog, per host: "
                           "as many as tasks ran at once",
              html);
    num_open(o, "makespan", html);
    put_dur(o, s->makespan_us);
    num_close(o, "from the first task's start to the last task's end", html);
    num_open(o, "total task time", html);
    put_dur(o, (uint64_t)(s->total_s * 1e6 + 0.5));
    num_close(o, "the durations of all task runs added up", html);
    num_open(o, "efficiency", html);
    if (s->makespan_us > 0)
        putf(o, "%.1f%s", s->efficiency * 100, html ? "&#8201;%" : "%");
    else
        put(o, "-");
    num_close(o,
              "total task time / (workers \xc3\x97 makespan): the share of "
              "the workers' time spent running tasks",
              html);
    num_open(o, "tail", html);
    put_dur(o, s->tail_us);
    num_close(o,
              "from when the first worker ran out of tasks (its last task "
              "ended) to the end",
              html);
    dur_num(o, "mean duration", none, s->mean_us, "", html);
    dur_num(o, "median duration", none, s->median_us,
            "half of the task runs took at most this long", html);
    dur_num(o, "p95 duration", none, s->p95_us,
            "95% of the task runs took at most this long", html);
    dur_num(o, "max duration", none, s->max_us, "the slowest task run", html);
    if (s->measured > 0)
        usage_numbers(o, s, html);
    num_open(o, "tasks/s", html);
    if (s->makespan_us > 0)
        putf(o, "%.2f", s->runs_per_s);
    else
        put(o, "-");
    num_close(o, "task runs ended per second of makespan", html);
}

/* A table (HTML) or lines (text) of the records IX[0 .. N). */
static void
task_list(struct out *o, const struct tf__report *r, const size_t *ix, size_t n,
          bool html)
{
    bool usage = r->stats.measured > 0;
    char b[16];
    size_t i;

    if (html)
        putf(o, "<table class=\"tasks\"><tr><th class=\"n\">task</th><th "
                "class=\"n\">duration</th><th class=\"n\">exit</th><th "
                "class=\"n\">signal</th><th class=\"n\">started</th>%s<th "
                "class=\"w\">worker</th><th>command</th></tr>\n",
             usage ? "<th class=\"n\">CPU</th><th class=\"n\">memory</th>"
                   : "");
    else if (usage)
        putf(o, "  %10s %12s %5s %6s %10s  %12s %10s  %-8s %s\n", "task",
             "duration", "exit", "signal", "started", "CPU", "memory",
             "worker", "command");
    else
        putf(o, "  %10s %12s %5s %6s %10s  %-8s %s\n", "task", "duration",
             "exit", "signal", "started", "worker", "command");
    for (i = 0; i < n; i++) {
        const struct tf__report_task *t = &r->t[ix[i]];
        double at = (double)(t->start_us - r->stats.start_us) / 1e6;

        /* Memory not known is "-"; out of memory says so. */
        if (t->flags & TF__REPORT_OOM)
            snprintf(b, sizeof(b), "OOM");
        else if (t->peak_bytes == 0)
            snprintf(b, sizeof(b), "-");
        else
            tf__fmt_bytes(b, sizeof(b), t->peak_bytes);
        if (html) {
            putf(o,
                 "<tr><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%.3f "
                 "s</td><td class=\"n\">%" PRId32
                 "</td><td class=\"n\">%" PRId32
                 "</td><td class=\"n\">+%.3f s</td>",
                 t->seq, (double)t->runtime_us / 1e6, t->status, t->signal, at);
            if (usage)
                putf(o, "<td class=\"n\">%.3f s</td><td class=\"n\">%s</td>",
                     (double)t->cpu_us / 1e6, b);
            put(o, "<td class=\"w\">");
            put_lane(o, r, t->lane, ESC_HTML);
            put(o, "</td><td><code>");
            put_cmd(o, r, t, ESC_HTML);
            put(o, "</code></td></tr>\n");
        } else {
            size_t mark;

            putf(o,
                 "  %10" PRIu64 " %10.3f s %5" PRId32 " %6" PRId32 " %+9.3fs  ",
                 t->seq, (double)t->runtime_us / 1e6, t->status, t->signal, at);
            if (usage)
                putf(o, "%10.3f s %10s  ", (double)t->cpu_us / 1e6, b);
            mark = o->b->len;
            put_lane(o, r, t->lane, ESC_TERM);
            if (o->rc == 0 && o->b->len - mark < 8)
                putf(o, "%*s", (int)(8 - (o->b->len - mark)), "");
            put(o, " ");
            put_cmd(o, r, t, ESC_TERM);
            put(o, "\n");
        }
    }
    if (html)
        put(o, "</table>\n");
}

static const char *
title_of(const struct tf__report *r, const struct tf__report_opts *opts,
         struct tf_buf *tmp)
{
    if (opts->title != NULL)
        return opts->title;
    tf_buf_reset(tmp);
    if (tf_buf_printf(tmp, "taskfarm report: %s",
                      r->path != NULL ? r->path : "(no file)") < 0)
        return "taskfarm report";
    return (const char *)tmp->data;
}

/* "2024-05-01 12:00:00 UTC+0200" for US microseconds since the epoch. */
static void
put_when(struct out *o, int64_t us)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    char b[64];

    if (localtime_r(&t, &tm) != NULL &&
        strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S %z", &tm) > 0)
        put(o, b);
}

int
tf__report_html(const struct tf__report *r, const struct tf__report_opts *opts,
                struct tf_buf *out)
{
    const struct tf__report_stats *s = &r->stats;
    struct out o = {out, 0};
    struct tf_buf tb;
    const char *title;
    size_t *ix = NULL;
    size_t n = 0;

    tf_buf_init(&tb, 0);
    title = title_of(r, opts, &tb);
    put(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
            "charset=\"utf-8\">\n<meta name=\"viewport\" "
            "content=\"width=device-width, initial-scale=1\">\n<title>");
    esc(&o, title, strlen(title), ESC_SVG);
    putf(&o, "</title>\n<style>%s</style>\n</head><body>\n<h1>", css);
    esc(&o, title, strlen(title), ESC_HTML);
    put(&o, "</h1>\n<p class=\"src\">");
    if (r->path != NULL)
        esc(&o, r->path, strlen(r->path), ESC_HTML);
    if (r->results)
        put(&o, " (results file)");
    else
        putf(&o, " (joblog, %" PRIu64 " lines)", r->lines);
    if (s->runs > 0) {
        put(&o, " \xc2\xb7 first task started ");
        put_when(&o, s->start_us);
    } else {
        put(&o, " \xc2\xb7 <strong>no task records: nothing ran</strong>");
    }
    put(&o, "</p>\n<table class=\"nums\">\n");
    numbers(&o, r, true);
    put(&o, "</table>\n<h2>Timeline</h2>\n<p class=\"note\">One row per "
            "worker");
    if (r->nlanes > MAX_ROWS)
        putf(&o, " lane, %zu lanes shown in %d rows", r->nlanes, MAX_ROWS);
    put(&o, r->results ? " (the worker numbers of the results file)"
                       : " (lanes rebuilt per host: each task on the free "
                         "lane that became free last, as a worker that "
                         "finishes a task takes the next)");
    if (r->n <= EXACT_MAX && r->nlanes <= MAX_ROWS)
        put(&o,
            ". Each bar is a task run; hover over it for its "
            "command.</p>\n<p class=\"note\"><span class=\"key\" "
            "style=\"background:#4c78a8\"></span>succeeded<span class=\"key\" "
            "style=\"background:#e45756\"></span>failed</p>\n");
    else
        put(&o, ". Too many task runs to draw each: the shade of a time "
                "column is the share of it the row's workers were busy, red "
                "where failed runs took at least half of that.</p>\n"
                "<p class=\"note\"><span class=\"key\" "
                "style=\"background:#4c78a8\"></span>"
                "busy<span class=\"key\" style=\"background:#4c78a8;"
                "opacity:.25\"></span>partly busy<span class=\"key\" "
                "style=\"background:#e45756\"></span>mostly failed</p>\n");
    timeline(&o, r);
    put(&o, "<h2>Busy workers</h2>\n<p class=\"note\">How many workers were "
            "running a task, averaged over each time column; the dashed line "
            "is the number of workers. The gap between them is idle "
            "time.</p>\n");
    load_chart(&o, r, false);
    if (s->measured > 0) {
        put(&o, "<h2>Memory</h2>\n<p class=\"note\">The peak memory of the "
                "tasks running, added up and averaged over each time "
                "column: each task counts with its peak for the whole of "
                "its run, so this is at most what they held at once. Set "
                "<code>--mem-per-task</code> above the largest peak, and "
                "run as many workers per node as its memory holds.</p>\n");
        load_chart(&o, r, true);
    }
    put(&o, "<h2>Task durations</h2>\n<p class=\"note\">How many task runs "
            "took how long; red: failed runs.</p>\n");
    histogram(&o, r);
    if (o.rc == 0)
        o.rc = slowest(r, opts->slowest, &ix, &n);
    if (n > 0) {
        putf(&o, "<h2>The %zu slowest task runs</h2>\n", n);
        task_list(&o, r, ix, n, true);
    }
    free(ix);
    ix = NULL;
    n = 0;
    if (o.rc == 0)
        o.rc = failed_tasks(r, &ix, &n);
    putf(&o, "<h2>Failed tasks (%" PRIu64 ")</h2>\n", s->failed);
    if (n == 0)
        put(&o, "<p class=\"note\">None.</p>\n");
    else if (n > opts->failed)
        putf(&o,
             "<p class=\"note\">The first %zu, in task order; the joblog "
             "or <code>taskfarm results</code> has the others.</p>\n",
             opts->failed);
    if (n > 0 && opts->failed > 0)
        task_list(&o, r, ix, n < opts->failed ? n : opts->failed, true);
    free(ix);
    put(&o, "<footer>Made by <code>taskfarm report</code>, "
            "taskfarm " TF_VERSION_STRING ".</footer>\n</body></html>\n");
    tf_buf_cleanup(&tb);
    return o.rc;
}

int
tf__report_txt(const struct tf__report *r, const struct tf__report_opts *opts,
               struct tf_buf *out)
{
    const struct tf__report_stats *s = &r->stats;
    struct out o = {out, 0};
    struct tf_buf tb;
    const char *title;
    size_t *ix = NULL;
    size_t n = 0;

    tf_buf_init(&tb, 0);
    title = title_of(r, opts, &tb);
    esc(&o, title, strlen(title), ESC_TERM);
    if (r->results)
        put(&o, " (results file)\n");
    else
        putf(&o, " (joblog, %" PRIu64 " lines)\n", r->lines);
    numbers(&o, r, false);
    if (o.rc == 0)
        o.rc = slowest(r, opts->slowest, &ix, &n);
    if (n > 0) {
        putf(&o, "\nslowest %zu task runs:\n", n);
        task_list(&o, r, ix, n, false);
    }
    free(ix);
    ix = NULL;
    n = 0;
    if (o.rc == 0)
        o.rc = failed_tasks(r, &ix, &n);
    if (n > 0 && opts->failed > 0) {
        if (n > opts->failed)
            putf(&o, "\nfailed tasks (%" PRIu64 ", the first %zu):\n",
                 s->failed, opts->failed);
        else
            putf(&o, "\nfailed tasks (%" PRIu64 "):\n", s->failed);
        task_list(&o, r, ix, n < opts->failed ? n : opts->failed, false);
    }
    free(ix);
    tf_buf_cleanup(&tb);
    return o.rc;
}

/* ------------------------------------------------------------ the command */

static const char usage_text[] =
    "Usage: taskfarm report FILE [-o OUT] [--format html|txt] [--title TEXT]\n"
    "                            [--slowest N] [--failed N]\n"
    "\n"
    "Show how a run went, from its joblog (--joblog FILE) or its results "
    "file\n(--results FILE): which worker ran which task when, how many "
    "workers were\nbusy over time, how long the tasks took, the slowest and "
    "the failed tasks,\nand the numbers below. The file's first bytes tell "
    "which kind it is; joblogs\nof GNU Parallel are read too.\n"
    "\n"
    "The HTML page is one file that needs nothing else: inline SVG and CSS, "
    "no\nscript, nothing fetched. Its size is bounded: past a few thousand "
    "task runs\nthe timeline shows how busy each worker was per time "
    "column instead of each\ntask, so a million tasks make a page of a few "
    "megabytes.\n"
    "\n"
    "Options:\n"
    "  -o, --output OUT     write to OUT; - is standard output (default: "
    "FILE.html\n"
    "                       for html, standard output for txt)\n"
    "  --format html|txt    html (default): the page; txt: the numbers and "
    "task\n"
    "                       lists as text, for a terminal\n"
    "  --title TEXT         the page's title (default: \"taskfarm report: "
    "FILE\")\n"
    "  --slowest N          list the N slowest task runs (default 10)\n"
    "  --failed N           list up to N failed tasks (default 50)\n"
    "  -h, --help           print this help and exit\n"
    "\n"
    "The numbers:\n"
    "  tasks, task runs     distinct task numbers; records (a resumed run "
    "or\n"
    "                       --retries runs some tasks again)\n"
    "  failed               tasks whose last record failed: a nonzero exit "
    "status,\n"
    "                       a signal, a timeout or a lost worker\n"
    "  workers              worker lanes (see below)\n"
    "  makespan             from the first task's start to the last task's "
    "end\n"
    "  total task time      the durations of all task runs added up\n"
    "  efficiency           total task time / (workers x makespan)\n"
    "  tail                 from when the first worker ran out of tasks "
    "(its last\n"
    "                       task ended) to the end of the run\n"
    "  durations            mean, median, 95th percentile (nearest rank) "
    "and max\n"
    "  tasks/s              task runs ended per second of makespan\n"
    "  CPU time, memory     of a results file whose tasks ran commands: "
    "their CPU\n"
    "                       time added up, and the median and largest peak "
    "memory\n"
    "                       (with a chart of the memory of the tasks "
    "running)\n"
    "\n"
    "Workers: a results file names the worker of each task. A joblog does "
    "not,\nso its lanes are rebuilt per host: in start order, each task "
    "goes to the\nlane that became free last of those free when it "
    "started, as a worker that\nfinishes a task takes the next (a lane "
    "free up to 2 ms later counts, as a\njoblog rounds times to "
    "milliseconds), or to a new lane. That makes as many\nlanes as tasks "
    "ran at once on the host.\n"
    "\n"
    "A resumed run appends to the file: every record is drawn and timed, "
    "and a\ntask that ran more than once failed when its last record says "
    "so. A file\nof no records gives a report of no tasks, with a warning. "
    "A last line cut\nshort (the run is still writing) is left out, with a "
    "warning.\n"
    "\n"
    "A file written is first written under a temporary name in its "
    "directory,\nthen renamed: it is never seen half-written.\n"
    "\n"
    "Exit status: 0 done; 2 usage error, a missing, unreadable or malformed "
    "FILE,\nor an OUT that cannot be created; 3 a read or write error.\n";

struct report_cli {
    const char *path;
    const char *out;
    bool txt;
    struct tf__report_opts opts;
};

/* Parses the subcommand's arguments. Returns 0, 1 after --help, or
 * TF_EUSAGE (TF_ESYS when the help cannot be written). */
static int
parse_report_args(struct report_cli *c, int argc, char **argv,
                  struct tf_error *err)
{
    static const struct tf__subcmd_opt opts[] = {
        {"--output", 'o', true}, {"--format", 0, true}, {"--title", 0, true},
        {"--slowest", 0, true},  {"--failed", 0, true}, {NULL, 0, false}};
    const struct tf__subcmd_opt *opt;
    const char *value;
    struct tf__subcmd s;
    int item;

    tf__subcmd_init(&s, "report", opts, usage_text, sizeof(usage_text) - 1,
                    argc, argv);
    while ((item = tf__subcmd_next(&s, &opt, &value, err)) != TF__SUBCMD_END) {
        const char *name;

        if (item < 0)
            return item;
        if (item == TF__SUBCMD_HELP)
            return 1;
        if (item == TF__SUBCMD_ARG) {
            if (c->path != NULL)
                return tf__error(err, TF_EUSAGE,
                                 "report: unexpected argument '%s'", value);
            c->path = value;
            continue;
        }
        name = opt->name;
        if (strcmp(name, "--output") == 0) {
            if (value[0] == '\0')
                return tf__error(err, TF_EUSAGE,
                                 "report: --output: empty file name");
            c->out = value;
        } else if (strcmp(name, "--format") == 0) {
            if (strcmp(value, "html") != 0 && strcmp(value, "txt") != 0)
                return tf__error(err, TF_EUSAGE,
                                 "report: --format: '%s' is not html or txt",
                                 value);
            c->txt = strcmp(value, "txt") == 0;
        } else if (strcmp(name, "--title") == 0) {
            c->opts.title = value;
        } else {
            uint64_t v;

            if (tf_parse_number(value, TF_OPT_INT, 0, 1000000,
                                name[2] == 's' ? "report: --slowest"
                                               : "report: --failed",
                                &v, err) < 0)
                return TF_EUSAGE;
            if (name[2] == 's')
                c->opts.slowest = (size_t)v;
            else
                c->opts.failed = (size_t)v;
        }
    }
    if (c->path == NULL)
        return tf__error(err, TF_EUSAGE,
                         "report: no file given (try 'taskfarm report "
                         "--help')");
    return 0;
}

/* Whether errno value E says the output cannot be made there (a usage
 * error) rather than that the system failed. */
static bool
unwritable(int e)
{
    return e == EACCES || e == EPERM || e == ENOENT || e == ENOTDIR ||
           e == EISDIR || e == EROFS || e == ENAMETOOLONG || e == ELOOP ||
           e == EEXIST || e == EXDEV;
}

/*
 * Writes BUF to PATH ("-": standard output). A regular file (or a new one)
 * is written under a temporary name in the same directory and renamed over
 * PATH, which is never seen half-written; a symbolic link is followed, so
 * that the file it names is replaced. Anything else that exists (a device,
 * a pipe) is written in place.
 */
static int
write_output(const char *path, const struct tf_buf *buf, struct tf_error *err)
{
    struct stat st;
    char *real = NULL;
    char *tmp = NULL;
    const char *slash;
    const char *dest = path;
    mode_t mask;
    int fd;
    int rc = 0;
    int e;

    if (strcmp(path, "-") == 0) {
        if (tf__write_all(STDOUT_FILENO, buf->data, buf->len) < 0)
            return tf__error_errno(err, TF_ESYS, errno,
                                   "writing standard output");
        return 0;
    }
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        real = realpath(path, NULL);
        if (real != NULL)
            dest = real;
    }
    if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
        free(real);
        return tf__error(err, TF_EUSAGE, "%s: is a directory", path);
    }
    if (stat(dest, &st) == 0 && !S_ISREG(st.st_mode)) {
        fd = open(dest, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            rc = tf__error_errno(err, unwritable(errno) ? TF_EUSAGE : TF_ESYS,
                                 errno, "%s", path);
        else if (tf__write_all(fd, buf->data, buf->len) < 0)
            rc = tf__error_errno(err, TF_ESYS, errno, "writing %s", path);
        if (fd >= 0 && close(fd) < 0 && rc == 0)
            rc = tf__error_errno(err, TF_ESYS, errno, "writing %s", path);
        free(real);
        return rc;
    }
    tmp = malloc(strlen(dest) + 16);
    if (tmp == NULL) {
        free(real);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    slash = strrchr(dest, '/');
    if (slash != NULL)
        sprintf(tmp, "%.*s.%s.XXXXXX", (int)(slash + 1 - dest), dest,
                slash + 1);
    else
        sprintf(tmp, ".%s.XXXXXX", dest);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        rc = tf__error_errno(err, unwritable(e) ? TF_EUSAGE : TF_ESYS, e, "%s",
                             path);
        goto done;
    }
    mask = umask(0);
    umask(mask);
    if (tf__write_all(fd, buf->data, buf->len) < 0)
        rc = tf__error_errno(err, TF_ESYS, errno, "writing %s", path);
    else if (fchmod(fd, 0666 & ~mask) < 0)
        rc = tf__error_errno(err, TF_ESYS, errno, "%s", path);
    if (close(fd) < 0 && rc == 0)
        rc = tf__error_errno(err, TF_ESYS, errno, "writing %s", path);
    if (rc == 0 && rename(tmp, dest) < 0) {
        e = errno;
        rc = tf__error_errno(err, unwritable(e) ? TF_EUSAGE : TF_ESYS, e, "%s",
                             path);
    }
    if (rc < 0)
        unlink(tmp);
done:
    free(tmp);
    free(real);
    return rc;
}

int
tf__report_main(int argc, char **argv)
{
    struct report_cli c;
    struct tf__report *r = NULL;
    struct tf_error err;
    struct tf_buf page;
    struct stat in_st;
    struct stat out_st;
    char *def_out = NULL;
    const char *out;
    int rc;

    memset(&c, 0, sizeof(c));
    c.opts.slowest = 10;
    c.opts.failed = 50;
    tf_error_init(&err);
    tf_buf_init(&page, 0);
    rc = parse_report_args(&c, argc, argv, &err);
    if (rc == 1)
        return TF__EXIT_OK;
    if (rc < 0) {
        tf__log(TF_LOG_ERROR, "%s", err.msg);
        return rc == TF_EUSAGE ? TF__EXIT_USAGE : TF__EXIT_SYSTEM;
    }
    out = c.out;
    if (out == NULL && c.txt) {
        out = "-";
    } else if (out == NULL) {
        def_out = malloc(strlen(c.path) + 6);
        if (def_out == NULL) {
            tf__log(TF_LOG_ERROR, "out of memory");
            return TF__EXIT_SYSTEM;
        }
        sprintf(def_out, "%s.html", c.path);
        out = def_out;
    }
    rc = tf__report_load(c.path, &r, &err);
    if (rc == 0 && strcmp(out, "-") != 0 && stat(c.path, &in_st) == 0 &&
        stat(out, &out_st) == 0 && in_st.st_dev == out_st.st_dev &&
        in_st.st_ino == out_st.st_ino)
        rc = tf__error(&err, TF_EUSAGE,
                       "report: %s: the output would overwrite the input", out);
    if (rc == 0)
        rc = tf__report_analyse(r, &err);
    if (rc == 0 && r->torn_bytes > 0)
        tf__log(TF_LOG_WARN,
                "%s: left out the last %" PRIu64 " bytes, %s cut short (the "
                "run writing it was killed, or is still writing)",
                c.path, r->torn_bytes, r->results ? "a record" : "a line");
    if (rc == 0 && r->n == 0)
        tf__log(TF_LOG_WARN, "%s: no task records; the report shows no tasks",
                c.path);
    if (rc == 0) {
        rc = c.txt ? tf__report_txt(r, &c.opts, &page)
                   : tf__report_html(r, &c.opts, &page);
        if (rc < 0)
            rc = tf__error(&err, rc, "out of memory");
    }
    if (rc == 0)
        rc = write_output(out, &page, &err);
    tf_buf_cleanup(&page);
    tf__report_free(r);
    free(def_out);
    if (rc < 0) {
        tf__log(TF_LOG_ERROR, "%s", err.msg);
        return rc == TF_EINPUT || rc == TF_EUSAGE ? TF__EXIT_USAGE : TF__EXIT_SYSTEM;
    }
    return TF__EXIT_OK;
}
