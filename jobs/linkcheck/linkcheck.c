/* linkcheck.c - the linkcheck job: dead links in a list of URLs or in a
 * crawled web site, many transfers at once per worker with libcurl; here
 * the master's records and frontier, the task and result lines, the options
 * and the job's vtable (see linkcheck.h for the other files) */
#include "linkcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taskfarm.h"

#define LC_BATCH_FACTOR 4 /* a batch holds up to 4 x --concurrency URLs */
#define LC_FIELDS 14      /* fields of a worker's result line */

/* The longest time an option takes: a day. */
#define LC_DAY_US ((uint64_t)86400 * 1000000)

static const struct tf_option lc_options[] = {
    {"crawl", 0, "URL",
     "crawl the web site that starts at URL (http or https) instead of "
     "checking the URLs of a FILE",
     TF_OPT_TEXT, 0, 0, NULL},
    {"allow-host", 0, "LIST",
     "comma-separated hosts (host or host:port) whose pages are followed "
     "too, beside the start URL's (default: none)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"max-pages", 0, "N",
     "pages fetched and parsed for links, at most (default 10000); further "
     "links on the site are still checked",
     TF_OPT_INT, 0, UINT32_MAX, NULL},
    {"max-depth", 0, "N",
     "links followed from the start page, at most (default 10); deeper "
     "pages are checked, not parsed",
     TF_OPT_INT, 0, UINT32_MAX, NULL},
    {"max-body", 0, "BYTES",
     "bytes read of any response, at most (default 1M; suffixes k, M, G)",
     TF_OPT_SIZE, 0, (uint64_t)4 << 30, NULL},
    {"rate", 0, "R",
     "requests per second to each host, over all workers (default 0: no "
     "limit)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"concurrency", 0, "N",
     "transfers at once in each worker, 1 to 1024 (default 16)",
     TF_OPT_INT, 1, 1024, NULL},
    {"connect-timeout", 0, "TIME", "time to connect (default 10s)",
     TF_OPT_DURATION, 1000, LC_DAY_US, NULL},
    {"max-time", 0, "TIME",
     "time for a whole transfer, redirects included (default 30s)",
     TF_OPT_DURATION, 1000, LC_DAY_US, NULL},
    {"max-redirs", 0, "N", "redirects followed (default 10)",
     TF_OPT_INT, 0, 1000, NULL},
    {"format", 0, "table|jsonl",
     "the report on stdout: a table (default) or one JSON object per URL",
     TF_OPT_CHOICE, 0, 0, "table|jsonl"},
    {"dead-only", 0, NULL, "report only the dead links",
     TF_OPT_TEXT, 0, 0, NULL},
    {"user-agent", 0, "STRING",
     "the User-Agent header (default taskfarm-linkcheck/VERSION)",
     TF_OPT_TEXT, 0, 0, NULL},
    {0},
};

/* Appends S to OUT with its tabs and line breaks as spaces: one field of a
 * TAB-separated line. */
static int
put_field(struct tf_buf *out, const char *s)
{
    size_t n = strlen(s);
    size_t i;
    int rc;

    rc = tf_buf_reserve(out, n);
    if (rc < 0)
        return rc;
    for (i = 0; i < n; i++) {
        char c = s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ? ' ' : s[i];

        rc = tf_buf_append(out, &c, 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------- tasks and results */

int
lc__task_add(struct tf_buf *task, char mode, const char *url)
{
    return tf_buf_printf(task, "%c %s\n", mode, url);
}

int
lc__task_parse(char *p, size_t len, struct lc__task_url **urls, size_t *n)
{
    size_t lines = 0;
    size_t i;
    char *line = p;
    char *end = p + len;

    *urls = NULL;
    *n = 0;
    for (i = 0; i < len; i++)
        if (p[i] == '\n')
            lines++;
    if (len > 0 && p[len - 1] != '\n')
        lines++;
    if (lines == 0)
        return 0;
    *urls = calloc(lines, sizeof(**urls));
    if (*urls == NULL)
        return TF_ENOMEM;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        struct lc__task_url *x = &(*urls)[*n];

        if (nl == NULL)
            nl = end;
        *nl = '\0';
        if (nl - line < 3 || (line[0] != 'p' && line[0] != 'c') ||
            line[1] != ' ' || memchr(line, '\0', (size_t)(nl - line)) != NULL)
            return TF_EPROTO;
        x->mode = line[0];
        x->url = line + 2;
        (*n)++;
        line = nl + 1;
    }
    return 0;
}

int
lc__outcome_encode(struct tf_buf *out, const struct lc__outcome *o)
{
    int rc;

    rc = put_field(out, o->url);
    if (rc == 0)
        rc = tf_buf_printf(out, "\t%ld\t", o->status);
    if (rc == 0)
        rc = put_field(out, o->final);
    if (rc == 0)
        rc = tf_buf_printf(
            out, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t",
            o->start_us, o->time_us, o->size, o->redirects);
    if (rc == 0)
        rc = put_field(out, o->method);
    if (rc == 0)
        rc = tf_buf_printf(out, "\t%d\t", o->parsed ? 1 : 0);
    if (rc == 0)
        rc = put_field(out, o->host);
    if (rc == 0)
        rc = tf_buf_puts(out, "\t");
    if (rc == 0)
        rc = put_field(out, o->error);
    if (rc == 0)
        rc = tf_buf_printf(out, "\t%c\t%" PRIu64 "\t%d\n",
                           o->errkind != '\0' ? o->errkind : LC__ERR_NONE,
                           o->retries, o->cut ? 1 : 0);
    return rc;
}

static bool
parse_u64_field(const char *s, uint64_t *v)
{
    char *end = NULL;

    if (!is_digit((unsigned char)s[0]))
        return false;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0';
}

int
lc__outcome_decode(char *line, struct lc__outcome *o)
{
    char *f[LC_FIELDS];
    uint64_t status;
    uint64_t parsed;
    uint64_t cut;
    size_t k = 0;
    char *p = line;

    for (;;) {
        char *tab = strchr(p, '\t');

        if (k == LC_FIELDS)
            return TF_EPROTO;
        f[k++] = p;
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    if (k != LC_FIELDS || f[0][0] == '\0')
        return TF_EPROTO;
    if (!parse_u64_field(f[1], &status) || status > 999 ||
        !parse_u64_field(f[3], &o->start_us) ||
        !parse_u64_field(f[4], &o->time_us) ||
        !parse_u64_field(f[5], &o->size) ||
        !parse_u64_field(f[6], &o->redirects) ||
        !parse_u64_field(f[8], &parsed) || parsed > 1 ||
        strchr("-hte", f[11][0]) == NULL || f[11][0] == '\0' ||
        f[11][1] != '\0' || !parse_u64_field(f[12], &o->retries) ||
        !parse_u64_field(f[13], &cut) || cut > 1)
        return TF_EPROTO;
    o->url = f[0];
    o->status = (long)status;
    o->final = f[2];
    o->method = f[7];
    o->parsed = parsed == 1;
    o->host = f[9];
    o->error = f[10];
    o->errkind = f[11][0];
    o->cut = cut == 1;
    return 0;
}

/* ------------------------------------------------------------- master */

bool
lc__rec_is_dead(const struct lc__rec *rec)
{
    return rec->error != NULL || rec->status >= 400;
}

void
lc__run_init(struct lc__run *r, const struct lc__state *st, int nworkers)
{
    memset(r, 0, sizeof(*r));
    r->st = st;
    r->nworkers = nworkers > 0 ? nworkers : 1;
    tf_buf_init(&r->scratch, 0);
}

void
lc__run_cleanup(struct lc__run *r)
{
    size_t i;

    for (i = 0; i < r->nrecs; i++) {
        free(r->recs[i].url);
        free(r->recs[i].final);
        free(r->recs[i].error);
        free(r->recs[i].host);
        free(r->recs[i].refs);
    }
    free(r->recs);
    lc__table_cleanup(&r->index);
    free(r->queue);
    for (i = 0; i < r->nbatches; i++)
        free(r->batches[i].recs);
    free(r->batches);
    tf_buf_cleanup(&r->scratch);
    memset(r, 0, sizeof(*r));
}

/* Adds the record of URL (taking ownership; freed on failure) at DEPTH and
 * sets *OUT to its index. Returns 0 or TF_ENOMEM. */
static int
rec_add(struct lc__run *r, char *url, uint64_t depth, size_t *out)
{
    struct lc__rec *rec;
    int rc;

    if (url == NULL)
        return TF_ENOMEM;
    if (r->nrecs == r->caprecs) {
        size_t cap = r->caprecs == 0 ? 256 : r->caprecs * 2;
        struct lc__rec *v = realloc(r->recs, cap * sizeof(*v));

        if (v == NULL) {
            free(url);
            return TF_ENOMEM;
        }
        r->recs = v;
        r->caprecs = cap;
    }
    rc = lc__table_add(&r->index, url, r->nrecs);
    if (rc < 0) {
        free(url);
        return rc;
    }
    rec = &r->recs[r->nrecs];
    memset(rec, 0, sizeof(*rec));
    rec->url = url;
    rec->depth = depth;
    rec->mode = 'c';
    *out = r->nrecs++;
    return 0;
}

int
lc__rec_ref(struct lc__run *r, size_t i, uint64_t ref)
{
    struct lc__rec *rec = &r->recs[i];
    size_t k;

    for (k = 0; k < rec->nrefs; k++)
        if (rec->refs[k] == ref)
            return 0; /* a page fetched twice, or a line counted twice */
    rec->ref_count++;
    if (rec->nrefs == LC__MAX_REFS)
        return 0;
    if (rec->refs == NULL) {
        rec->refs = malloc(LC__MAX_REFS * sizeof(*rec->refs));
        if (rec->refs == NULL)
            return TF_ENOMEM;
    }
    rec->refs[rec->nrefs++] = ref;
    return 0;
}

static int
queue_push(struct lc__run *r, size_t i)
{
    if (r->qtail == r->qcap) {
        if (r->qhead > 0) {
            memmove(r->queue, r->queue + r->qhead,
                    (r->qtail - r->qhead) * sizeof(*r->queue));
            r->qtail -= r->qhead;
            r->qhead = 0;
        }
        if (r->qtail == r->qcap) {
            size_t cap = r->qcap == 0 ? 256 : r->qcap * 2;
            size_t *v = realloc(r->queue, cap * sizeof(*v));

            if (v == NULL)
                return TF_ENOMEM;
            r->queue = v;
            r->qcap = cap;
        }
    }
    r->queue[r->qtail++] = i;
    return 0;
}

/* Writes all N bytes at P to FD. */
int
lc__record(struct lc__run *r, size_t i)
{
    const struct lc__rec *rec = &r->recs[i];
    struct tf_record t;
    struct tf_error err;
    int rc;

    if (r->pool == NULL)
        return 0;
    memset(&t, 0, sizeof(t));
    t.text = rec->url;
    t.len = strlen(rec->url);
    t.host = rec->host; /* NULL: the master's, that found it dead */
    t.start_us = (int64_t)rec->start_us;
    t.runtime_us = rec->time_us;
    t.status = lc__rec_is_dead(rec) ? 1 : 0;
    t.receive = rec->size;
    tf_error_init(&err);
    rc = tf_pool_record(r->pool, &t, &err);
    if (rc < 0)
        snprintf(r->why, sizeof(r->why), "%s", err.msg);
    return rc;
}

/* Ends record I as dead with WHY, checked by no worker. */
static int
rec_dead(struct lc__run *r, size_t i, const char *why)
{
    struct lc__rec *rec = &r->recs[i];

    free(rec->error);
    rec->error = strdup(why[0] != '\0' ? why : "failed");
    if (rec->error == NULL)
        return TF_ENOMEM;
    rec->done = true;
    if (rec->start_us == 0)
        rec->start_us = epoch_us();
    return lc__record(r, i);
}

/* Fills record I from a worker's outcome O. */
static int
rec_fill(struct lc__run *r, size_t i, const struct lc__outcome *o)
{
    struct lc__rec *rec = &r->recs[i];

    rec->status = o->status;
    rec->start_us = o->start_us;
    rec->time_us = o->time_us;
    rec->size = o->size;
    rec->redirects = o->redirects;
    rec->parsed = o->parsed;
    snprintf(rec->method, sizeof(rec->method), "%s", o->method);
    free(rec->final);
    free(rec->host);
    free(rec->error);
    rec->final = strdup(o->final);
    rec->host = strdup(o->host);
    rec->error = o->error[0] != '\0' ? strdup(o->error) : NULL;
    if (rec->final == NULL || rec->host == NULL ||
        (o->error[0] != '\0' && rec->error == NULL))
        return TF_ENOMEM;
    rec->done = true;
    return lc__record(r, i);
}

/* Whether a URL found at DEPTH is a page to parse; counts it if so. */
static char
choose_mode(struct lc__run *r, const char *url, uint64_t depth)
{
    const struct lc__state *st = r->st;

    if (st->start != NULL && depth <= st->max_depth &&
        r->pages_scheduled < st->max_pages && lc__host_allowed(st, url)) {
        r->pages_scheduled++;
        return 'p';
    }
    return 'c';
}

int
lc__rec_get(struct lc__run *r, const char *key, uint64_t depth,
            const char *dead, size_t *out)
{
    int rc;

    if (lc__table_find(&r->index, key, out))
        return 0;
    rc = rec_add(r, strdup(key), depth, out);
    if (rc < 0)
        return rc;
    if (dead != NULL) {
        r->recs[*out].mode = 'x';
        return rec_dead(r, *out, dead);
    }
    r->recs[*out].mode = choose_mode(r, key, depth);
    return queue_push(r, *out);
}

int
lc__submit(void *arg, struct tf_pool *pool, uint64_t parent, const void *data,
           size_t len)
{
    struct lc__run *r = arg;
    char *f[4] = {NULL, NULL, NULL, NULL};
    char *p;
    size_t nf = 0;
    size_t pi;
    size_t i;
    int rc;

    (void)pool;
    (void)parent;
    tf_buf_reset(&r->scratch);
    rc = tf_buf_append(&r->scratch, data, len);
    if (rc < 0)
        return rc;
    p = (char *)r->scratch.data;
    if (p == NULL || memchr(p, '\0', len) != NULL || strpbrk(p, "\r\n") != NULL)
        return 0; /* not from our worker: never trust the wire */
    while (nf < 4) {
        char *tab = strchr(p, '\t');

        f[nf++] = p;
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    if (nf < 2 || f[0][1] != '\0' || !lc__table_find(&r->index, f[1], &pi))
        return 0;
    if (f[0][0] == LC__MSG_ANCHORS)
        return 0;
    if (nf != 4 || f[2][0] == '\0')
        return 0;
    if (f[0][0] == LC__MSG_LINK)
        rc = lc__rec_get(r, f[2], r->recs[pi].depth + 1, NULL, &i);
    else if (f[0][0] == LC__MSG_DEAD || f[0][0] == LC__MSG_SKIP)
        rc = lc__rec_get(r, f[2], r->recs[pi].depth + 1, f[3], &i);
    else
        return 0;
    if (rc < 0)
        return rc;
    return lc__rec_ref(r, i, pi);
}

int
lc__next(void *arg, uint64_t index, struct tf_buf *task)
{
    struct lc__run *r = arg;
    size_t avail = r->qtail - r->qhead;
    size_t want;
    struct lc__batch *b;
    int rc = 0;

    if (avail == 0)
        return TF_LATER;
    /* Small frontiers spread over the workers; large ones go in batches
     * that keep a worker's transfers busy for a while. */
    want = (avail + (size_t)r->nworkers - 1) / (size_t)r->nworkers;
    if (want > LC_BATCH_FACTOR * r->st->concurrency)
        want = (size_t)(LC_BATCH_FACTOR * r->st->concurrency);
    if (want == 0)
        want = 1;
    if (index >= r->nbatches) {
        size_t nb = (size_t)index + 1 > r->nbatches * 2 ? (size_t)index + 1
                                                        : r->nbatches * 2;
        struct lc__batch *v = realloc(r->batches, nb * sizeof(*v));

        if (v == NULL)
            return TF_ENOMEM;
        memset(v + r->nbatches, 0, (nb - r->nbatches) * sizeof(*v));
        r->batches = v;
        r->nbatches = nb;
    }
    b = &r->batches[index];
    free(b->recs);
    b->n = 0;
    b->recs = malloc(want * sizeof(*b->recs));
    if (b->recs == NULL)
        return TF_ENOMEM;
    while (rc == 0 && b->n < want) {
        size_t i = r->queue[r->qhead++];

        b->recs[b->n++] = i;
        rc = lc__task_add(task, r->recs[i].mode, r->recs[i].url);
    }
    if (r->qhead == r->qtail)
        r->qhead = r->qtail = 0;
    return rc < 0 ? rc : 1;
}

/* Copies the worker's error text of a failed task to WHY, on one line. */
static void
task_error(const struct tf_result *res, char *why, size_t size)
{
    size_t n = res->err.len < size - 1 ? res->err.len : size - 1;
    size_t i;

    if (n > 0)
        memcpy(why, res->err.data, n);
    for (i = 0; i < n; i++)
        if (why[i] == '\n' || why[i] == '\r' || why[i] == '\t' ||
            why[i] == '\0')
            why[i] = ' ';
    while (n > 0 && why[n - 1] == ' ')
        n--;
    why[n] = '\0';
    if (n == 0)
        snprintf(why, size, "the worker failed (status %d)", res->status);
}

int
lc__done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct lc__run *r = arg;
    struct lc__batch *b = index < r->nbatches ? &r->batches[index] : NULL;
    const char *p = res->out.len > 0 ? (const char *)res->out.data : "";
    const char *end = p + res->out.len;
    char why[LC__WHY];
    size_t k;
    int rc = 0;

    while (res->status == 0 && rc == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct lc__outcome o;
        size_t i;

        if (nl == NULL)
            nl = end;
        tf_buf_reset(&r->scratch);
        rc = tf_buf_append(&r->scratch, p, (size_t)(nl - p));
        p = nl + 1;
        if (rc < 0 || r->scratch.len == 0 ||
            memchr(r->scratch.data, '\0', r->scratch.len) != NULL)
            continue;
        if (lc__outcome_decode((char *)r->scratch.data, &o) < 0 ||
            !lc__table_find(&r->index, o.url, &i) || r->recs[i].done ||
            r->recs[i].mode == 'x')
            continue;
        rc = rec_fill(r, i, &o);
    }
    if (res->status != 0)
        task_error(res, why, sizeof(why));
    else
        snprintf(why, sizeof(why), "no result from the worker");
    for (k = 0; rc == 0 && b != NULL && k < b->n; k++)
        if (!r->recs[b->recs[k]].done)
            rc = rec_dead(r, b->recs[k], why);
    if (b != NULL) {
        free(b->recs);
        b->recs = NULL;
        b->n = 0;
    }
    return rc;
}

/* Checks one line of a URL file and records its URL. */
static int
url_line(struct lc__run *r, const char *path, uint64_t lineno, const char *line,
         size_t n, struct tf_error *err)
{
    char why[LC__WHY];
    char *key = NULL;
    size_t i;
    int rc;

    if (memchr(line, '\0', n) != NULL)
        return tf_error_set(err, TF_EINPUT, "%s:%" PRIu64 ": NUL byte in line",
                            path, lineno);
    while (n > 0 && is_space((unsigned char)line[0])) {
        line++;
        n--;
    }
    while (n > 0 &&
           (is_space((unsigned char)line[n - 1]) || line[n - 1] == '\v'))
        n--;
    if (n == 0 || line[0] == '#')
        return 0;
    rc = lc__normalize_url(NULL, line, n, false, &key, why, sizeof(why));
    if (rc < 0)
        return tf_error_set(err, rc, "out of memory");
    rc = lc__rec_get(r, key, 0, rc == LC__URL_DEAD ? why : NULL, &i);
    free(key);
    if (rc == 0)
        rc = lc__rec_ref(r, i, lineno);
    if (rc < 0)
        return tf_error_set(err, rc, "out of memory");
    return 0;
}

int
lc__read_urls(struct lc__run *r, const char *path, struct tf_error *err)
{
    char chunk[65536];
    struct tf_buf line;
    uint64_t lineno = 0;
    int fd;
    int rc = 0;

    fd = strcmp(path, "-") == 0 ? STDIN_FILENO
                                : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tf_error_set(err, TF_EINPUT, "%s: %s", path, strerror(errno));
    tf_buf_init(&line, LC__MAX_LINE);
    while (rc == 0) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        size_t off = 0;

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = tf_error_set(err, TF_EINPUT, "%s: %s", path, strerror(errno));
            break;
        }
        if (got == 0) {
            if (line.len > 0)
                rc = url_line(r, path, ++lineno, (char *)line.data, line.len,
                              err);
            break;
        }
        while (rc == 0 && off < (size_t)got) {
            char *nl = memchr(chunk + off, '\n', (size_t)got - off);
            size_t seg =
                (nl != NULL ? (size_t)(nl - chunk) : (size_t)got) - off;

            if (tf_buf_append(&line, chunk + off, seg) < 0) {
                rc = tf_error_set(err, TF_EINPUT,
                                  "%s:%" PRIu64 ": line longer than %d bytes",
                                  path, lineno + 1, LC__MAX_LINE);
                break;
            }
            off += seg;
            if (nl == NULL)
                break;
            off++;
            rc = url_line(r, path, ++lineno,
                          line.len > 0 ? (char *)line.data : "", line.len, err);
            tf_buf_reset(&line);
        }
    }
    tf_buf_cleanup(&line);
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}

static int
lc_master(void *state, struct tf_pool *pool, const struct tf_job_io *io,
          struct tf_error *err)
{
    struct lc__state *st = state;
    uint64_t t0 = mono_us();
    struct lc__run r;
    size_t ndead = 0;
    int stopped = 0;
    size_t nparsed = 0;
    size_t i;
    double secs;
    int rc;

    lc__run_init(&r, st, tf_pool_nworkers(pool));
    r.pool = pool;
    if (st->file != NULL) {
        rc = lc__read_urls(&r, st->file, err);
    } else {
        rc = lc__rec_get(&r, st->start, 0, NULL, &i);
        if (rc < 0)
            tf_error_set(err, rc, "out of memory");
    }
    if (rc < 0)
        goto out;
    tf_pool_on_submit(pool, lc__submit, &r);
    rc = tf_pool_run(pool, tf_job_linkcheck.name, lc__next, &r, lc__done, &r,
                     TF_UNORDERED, err);
    tf_pool_on_submit(pool, NULL, NULL);
    /* A task whose worker failed has its URLs dead already: the run went
     * on, and its report is the job's. */
    if (rc == TF_ETASK)
        rc = 0;
    if (rc < 0 && r.why[0] != '\0') {
        tf_error_set(err, rc, "%s", r.why);
        goto out;
    }
    /* A run stopped by a signal, or by its workers' loss, still reports
     * what it checked; ERR keeps the pool's reason. */
    stopped = rc < 0 ? rc : 0;
    rc = 0;
    for (i = 0; rc == 0 && i < r.nrecs; i++)
        if (!r.recs[i].done)
            rc = rec_dead(&r, i,
                          stopped ? "not checked: the run stopped first"
                                  : "not checked");
    if (rc < 0) {
        tf_error_set(err, rc, "%s", r.why[0] != '\0' ? r.why : "out of memory");
        goto out;
    }
    secs = (double)(mono_us() - t0) / 1e6;
    rc = lc__report(&r, io->out, &ndead, &nparsed);
    if (rc < 0) {
        tf_error_set(err, rc, "cannot write the report: %s", strerror(errno));
        goto out;
    }
    tf_log(TF_LOG_INFO,
           "linkcheck: %zu URLs, %zu pages parsed, %zu dead, %.3f s, %d "
           "workers (%s), %.0f URLs/s",
           r.nrecs, nparsed, ndead, secs, tf_pool_nworkers(pool),
           tf_pool_backend(pool), secs > 0 ? (double)r.nrecs / secs : 0.0);
    rc = stopped != 0 ? stopped : ndead > 0 ? 1 : 0;
out:
    lc__run_cleanup(&r);
    return rc;
}

/* ------------------------------------------------------------ options */

/* Reads --rate's value S: requests per second, a number from 0 to
 * 86400 (decimals allowed: 0.5 is one request every two seconds). */
static int
opt_rate(const char *s, double *rate, struct tf_error *err)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = (is_digit((unsigned char)s[0]) || s[0] == '.') ? strtod(s, &end) : -1;
    if (end == NULL || *end != '\0' || errno != 0 || !isfinite(v) || v < 0 ||
        v > 86400)
        return tf_error_set(err, TF_EUSAGE,
                            "--rate: '%s' is not a number of requests a "
                            "second (like 10 or 0.5; at most 86400)",
                            s);
    *rate = v;
    return 0;
}

/* Parses --allow-host LIST into ST->allow, after the start's host. */
static int
opt_hosts(struct lc__state *st, const char *list, struct tf_error *err)
{
    const char *p = list;

    for (;;) {
        size_t len = strcspn(p, ",");
        struct lc__hostport *v;
        const char *colon = NULL;
        unsigned long port = 0;
        size_t hl = len;
        size_t k;
        bool ok = len > 0;

        if (len > 0 && p[0] == '[') {
            const char *close = memchr(p, ']', len);

            ok = close != NULL && close > p + 1;
            if (ok && close + 1 < p + len) {
                ok = close[1] == ':';
                colon = close + 1;
            }
        } else {
            for (k = 0; k < len; k++)
                if (p[k] == ':')
                    colon = p + k;
        }
        if (colon != NULL) {
            hl = (size_t)(colon - p);
            ok = ok && hl > 0 && colon + 1 < p + len;
            for (k = 1; ok && colon + k < p + len; k++) {
                ok = is_digit((unsigned char)colon[k]) && port <= 65535;
                port = port * 10 + (unsigned long)(colon[k] - '0');
            }
            ok = ok && port >= 1 && port <= 65535;
        }
        for (k = 0; ok && k < hl; k++)
            ok = (unsigned char)p[k] > ' ' && p[k] != '/' && p[k] != '@' &&
                 p[k] != '?' && p[k] != '#' && p[k] != ',';
        if (!ok)
            return tf_error_set(
                err, TF_EUSAGE,
                "--allow-host: '%.*s' is not a host or host:port", (int)len, p);
        v = realloc(st->allow, (st->nallow + 1) * sizeof(*v));
        if (v == NULL)
            return tf_error_set(err, TF_ENOMEM, "out of memory");
        st->allow = v;
        v[st->nallow].host = strndup(p, hl);
        if (v[st->nallow].host == NULL)
            return tf_error_set(err, TF_ENOMEM, "out of memory");
        for (k = 0; k < hl; k++)
            v[st->nallow].host[k] = (char)lower(v[st->nallow].host[k]);
        v[st->nallow].port = (unsigned)port;
        st->nallow++;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

/* Sets ST->start from --crawl URL, and the start's host first in
 * ST->allow. */
static int
opt_crawl(struct lc__state *st, const char *url, struct tf_error *err)
{
    char why[LC__WHY];
    const char *host;
    size_t len;
    unsigned port;
    int rc;

    rc = lc__normalize_url(NULL, url, strlen(url), false, &st->start, why,
                           sizeof(why));
    if (rc < 0)
        return tf_error_set(err, rc, "out of memory");
    if (rc != LC__URL_OK)
        return tf_error_set(err, TF_EUSAGE,
                            "--crawl: '%s' is not an http or https URL (%s)",
                            url, why);
    lc__url_hostport(st->start, &host, &len, &port);
    st->allow = calloc(1, sizeof(*st->allow));
    if (st->allow == NULL)
        return tf_error_set(err, TF_ENOMEM, "out of memory");
    st->allow[0].host = strndup(host, len);
    if (st->allow[0].host == NULL)
        return tf_error_set(err, TF_ENOMEM, "out of memory");
    st->allow[0].port = port;
    st->nallow = 1;
    return 0;
}

static void
lc_fini(void *state)
{
    struct lc__state *st = state;
    size_t i;

    if (st == NULL)
        return;
    if (st->lock_ready) {
        lc__idle_free(st);
        pthread_mutex_destroy(&st->lock);
    }
    free(st->start);
    for (i = 0; i < st->nallow; i++)
        free(st->allow[i].host);
    free(st->allow);
    if (st->curl_ready)
        lc__curl_cleanup();
    free(st);
}

static int
lc_init(void **state, const struct tf_opts *opts, struct tf_error *err)
{
    struct lc__state *st;
    const char *crawl;
    const char *v;
    int rc = 0;

    *state = NULL;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return tf_error_set(err, TF_ENOMEM, "out of memory");
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        rc = tf_error_set(err, TF_ESYS, "cannot make a mutex");
        goto fail;
    }
    st->lock_ready = true;
    if (lc__curl_init() < 0) {
        rc = tf_error_set(err, TF_ESYS, "cannot initialise libcurl");
        goto fail;
    }
    st->curl_ready = true;
    st->max_pages = 10000;
    st->max_depth = 10;
    st->max_body = (uint64_t)1 << 20;
    st->max_redirs = 10;
    st->concurrency = 16;
    st->connect_timeout_ms = 10000;
    st->max_time_ms = 30000;
    snprintf(st->default_ua, sizeof(st->default_ua), "taskfarm-linkcheck/%s",
             TF_VERSION_STRING);
    st->user_agent = st->default_ua;
    st->file = tf_opts_get(opts, "1");
    crawl = tf_opts_get(opts, "crawl");
    v = tf_opts_get(opts, "2");
    if (v != NULL) {
        rc = tf_error_set(err, TF_EUSAGE, "unexpected argument '%s'", v);
        goto fail;
    }
    if (st->file != NULL && crawl != NULL) {
        rc = tf_error_set(err, TF_EUSAGE,
                          "give a FILE of URLs or --crawl URL, not both");
        goto fail;
    }
    if (st->file == NULL && crawl == NULL) {
        rc = tf_error_set(err, TF_EUSAGE,
                          "give a FILE of URLs (- for standard input) or "
                          "--crawl URL");
        goto fail;
    }
    if (crawl != NULL)
        rc = opt_crawl(st, crawl, err);
    v = tf_opts_get(opts, "allow-host");
    if (rc == 0 && v != NULL)
        rc = opt_hosts(st, v, err);
    st->max_pages = tf_opts_number(opts, "max-pages", st->max_pages);
    st->max_depth = tf_opts_number(opts, "max-depth", st->max_depth);
    st->max_body = tf_opts_number(opts, "max-body", st->max_body);
    st->max_redirs = tf_opts_number(opts, "max-redirs", st->max_redirs);
    st->concurrency = tf_opts_number(opts, "concurrency", st->concurrency);
    st->connect_timeout_ms =
        (long)(tf_opts_number(opts, "connect-timeout", 10000000) / 1000);
    st->max_time_ms = (long)(tf_opts_number(opts, "max-time", 30000000) / 1000);
    v = tf_opts_get(opts, "rate");
    if (rc == 0 && v != NULL)
        rc = opt_rate(v, &st->rate, err);
    v = tf_opts_get(opts, "format");
    if (v != NULL && strcmp(v, "jsonl") == 0)
        st->format = LC__JSONL;
    st->dead_only = tf_opts_flag(opts, "dead-only");
    v = tf_opts_get(opts, "user-agent");
    if (v != NULL)
        st->user_agent = v;
    if (rc < 0)
        goto fail;
    *state = st;
    return 0;
fail:
    lc_fini(st);
    return rc;
}

const struct tf_job_kind tf_job_linkcheck = {
    .name = "linkcheck",
    .summary = "find dead links in a list of URLs or in a crawled web site",
    .usage = "[options] FILE|- | --crawl URL [options]",
    .options = lc_options,
    .init = lc_init,
    .run = lc__worker_run,
    .master = lc_master,
    .fini = lc_fini,
    .records_by_hand = true, /* a record a URL, of a task's many */
    .examples =
        "taskfarm linkcheck urls.txt              # every URL in the file\n"
        "taskfarm linkcheck --crawl https://example.org/ --max-depth 6\n"
        "mpirun -np 9 taskfarm linkcheck --crawl https://intranet.example/\n"
        "taskfarm linkcheck --crawl http://localhost:8000/ --format jsonl \\\n"
        "    --dead-only > dead.jsonl\n",
};
