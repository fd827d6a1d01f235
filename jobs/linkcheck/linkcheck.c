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
#include <regex.h>
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
    {"scope", 0, "PREFIX",
     "follow only the pages whose URL starts with PREFIX (may be given "
     "again: any of them; default: every page of the crawl's hosts)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"include", 0, "REGEX",
     "check only the URLs that match REGEX, a POSIX extended regular "
     "expression (may be given again: any of them); the others are skipped",
     TF_OPT_TEXT, 0, 0, NULL},
    {"exclude", 0, "REGEX",
     "skip the URLs that match REGEX (may be given again): neither checked "
     "nor followed",
     TF_OPT_TEXT, 0, 0, NULL},
    {"no-follow", 0, "REGEX",
     "check the pages that match REGEX but do not parse them for links (may "
     "be given again)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"check-external", 0, "yes|no",
     "check the links to other hosts than the crawl's (yes, the default; "
     "they are never followed) or leave them out of the run and the report "
     "(no)",
     TF_OPT_CHOICE, 0, 0, "yes|no"},
    {"max-pages", 0, "N",
     "pages and style sheets parsed for links, at most (default 10000); "
     "further links on the site are still checked",
     TF_OPT_INT, 0, UINT32_MAX, NULL},
    {"max-depth", 0, "N",
     "links followed from the start page, at most (default 10); deeper "
     "pages are checked, not parsed",
     TF_OPT_INT, 0, UINT32_MAX, NULL},
    {"ignore-anchors", 0, NULL,
     "do not check the #fragments of links against the ids and anchors of "
     "the pages the crawl parses",
     TF_OPT_TEXT, 0, 0, NULL},
    {"ignore-robots", 0, NULL,
     "crawl the pages the robots.txt of the crawl's hosts disallows (by "
     "default they are skipped, not fetched)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"max-body", 0, "BYTES",
     "bytes read of a page, at most (default 16M; suffixes k, M, G); a "
     "page cut there is parsed up to its last whole tag, with a warning",
     TF_OPT_SIZE, 0, (uint64_t)4 << 30, NULL},
    {"rate", 0, "R",
     "requests per second to each host, over all workers (default 0: no "
     "limit)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"concurrency", 0, "N",
     "transfers at once in each worker, 1 to 1024 (default 16)", TF_OPT_INT, 1,
     1024, NULL},
    {"connect-timeout", 0, "TIME", "time to connect (default 10s)",
     TF_OPT_DURATION, 1000, LC_DAY_US, NULL},
    {"max-time", 0, "TIME",
     "time for one try of a transfer, redirects included (default 30s)",
     TF_OPT_DURATION, 1000, LC_DAY_US, NULL},
    {"max-redirs", 0, "N", "redirects followed (default 10)", TF_OPT_INT, 0,
     1000, NULL},
    {"max-retries", 0, "N",
     "tries again after a 429, a 503 or a broken connection, at most "
     "(default 2), waiting as Retry-After says or 1 s, 2 s, 4 s...",
     TF_OPT_INT, 0, 100, NULL},
    {"max-retry-wait", 0, "TIME",
     "the longest wait before a try again (default 60s); a longer "
     "Retry-After ends the URL with the answer it got",
     TF_OPT_DURATION, 0, LC_DAY_US, NULL},
    {"slow", 0, "TIME",
     "a URL that takes longer gets a warning (default 10s; 0: never)",
     TF_OPT_DURATION, 0, LC_DAY_US, NULL},
    {"header", 0, "'NAME: VALUE'",
     "an HTTP header sent with every request (may be given again)", TF_OPT_TEXT,
     0, 0, NULL},
    {"cookies", 0, "FILE",
     "send the cookies of FILE (a Netscape cookies file, as curl and "
     "browsers' exports write it, or Set-Cookie lines)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"netrc", 0, "FILE",
     "user names and passwords for HTTP basic authentication from FILE, a "
     "netrc file, sent only to the hosts it names",
     TF_OPT_TEXT, 0, 0, NULL},
    {"insecure", 0, NULL,
     "accept any TLS certificate (a self-signed one, a wrong host name)",
     TF_OPT_TEXT, 0, 0, NULL},
    {"cacert", 0, "FILE",
     "trust the certificate authorities of FILE (PEM) instead of the "
     "system's",
     TF_OPT_TEXT, 0, 0, NULL},
    {"format", 0, "table|jsonl|csv",
     "the report on stdout: a table (default), one JSON object per URL, or "
     "CSV with a header line",
     TF_OPT_CHOICE, 0, 0, "table|jsonl|csv"},
    {"sitemap", 0, "FILE",
     "also write an XML sitemap of the HTML pages found to FILE", TF_OPT_TEXT,
     0, 0, NULL},
    {"dead-only", 0, NULL, "report only the dead links", TF_OPT_TEXT, 0, 0,
     NULL},
    {"user-agent", 0, "STRING",
     "the User-Agent header (default taskfarm-linkcheck/VERSION)", TF_OPT_TEXT,
     0, 0, NULL},
    {0},
};

/* Compiled regular expressions: --include, --exclude, --no-follow. */
struct lc__regexes {
    regex_t *v; /* owned, each compiled */
    size_t n;
};

static void
regexes_free(struct lc__regexes *rs)
{
    size_t i;

    if (rs == NULL)
        return;
    for (i = 0; i < rs->n; i++)
        regfree(&rs->v[i]);
    free(rs->v);
    free(rs);
}

/* Compiles every value of option NAME into *OUT (left NULL when the option
 * was not given). */
static int
regexes_make(const struct tf_opts *opts, const char *name,
             struct lc__regexes **out, struct tf_error *err)
{
    const char *v;
    size_t k;

    *out = NULL;
    for (k = 0; (v = tf_opts_nth(opts, name, k)) != NULL; k++) {
        regex_t *nv;
        char msg[128];
        int e;

        if (*out == NULL) {
            *out = calloc(1, sizeof(**out));
            if (*out == NULL)
                return tf_error_set(err, TF_ENOMEM, "out of memory");
        }
        nv = realloc((*out)->v, ((*out)->n + 1) * sizeof(*nv));
        if (nv == NULL)
            return tf_error_set(err, TF_ENOMEM, "out of memory");
        (*out)->v = nv;
        e = regcomp(&nv[(*out)->n], v, REG_EXTENDED | REG_NOSUB);
        if (e != 0) {
            regerror(e, &nv[(*out)->n], msg, sizeof(msg));
            return tf_error_set(err, TF_EUSAGE,
                                "--%s: '%s' is not a regular expression (%s)",
                                name, v, msg);
        }
        (*out)->n++;
    }
    return 0;
}

/* Whether S matches one of RS. */
static bool
regexes_match(const struct lc__regexes *rs, const char *s)
{
    size_t i;

    for (i = 0; rs != NULL && i < rs->n; i++)
        if (regexec(&rs->v[i], s, 0, NULL, 0) == 0)
            return true;
    return false;
}

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

/* Whether REC took longer than --slow; the time of a URL that was retried
 * holds the waits the server asked for, so it is not slow. */
static bool
is_slow(const struct lc__state *st, const struct lc__rec *rec)
{
    return st->slow_us > 0 && rec->time_us > st->slow_us && rec->retries == 0;
}

enum lc__result
lc__rec_result(const struct lc__state *st, const struct lc__rec *rec)
{
    if (lc__rec_is_dead(rec))
        return LC__DEAD;
    if (rec->skip != NULL)
        return LC__SKIP;
    if (rec->redirects > 0 || rec->cut || rec->retries > 0 || is_slow(st, rec))
        return LC__WARN;
    return LC__OK;
}

int
lc__rec_warnings(const struct lc__state *st, const struct lc__rec *rec,
                 struct lc__strs *out)
{
    int rc = 0;

    if (rec->redirects > 0)
        rc = lc__strs_printf(out, "redirected to %s",
                             rec->final != NULL ? rec->final : rec->url);
    if (rc == 0 && is_slow(st, rec))
        rc = lc__strs_printf(out, "slow: %.1f s", (double)rec->time_us / 1e6);
    if (rc == 0 && rec->cut)
        rc = lc__strs_printf(out,
                             "cut at %" PRIu64
                             " bytes (--max-body): links after it not checked",
                             rec->size);
    if (rc == 0 && rec->retries > 0)
        rc = lc__strs_printf(out, "retried %" PRIu64 " time%s", rec->retries,
                             rec->retries == 1 ? "" : "s");
    return rc;
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
        free(r->recs[i].skip);
        free(r->recs[i].host);
        free(r->recs[i].refs);
        free(r->recs[i].anchors);
    }
    free(r->recs);
    lc__table_cleanup(&r->index);
    free(r->queue);
    free(r->held);
    for (i = 0; i < r->nbatches; i++)
        free(r->batches[i].recs);
    free(r->batches);
    for (i = 0; i < r->narefs; i++)
        free(r->arefs[i].frag);
    free(r->arefs);
    for (i = 0; i < r->host_keys.n; i++) {
        lc__robots_free(r->host_info[i].robots);
        free(r->host_info[i].failed);
    }
    free(r->host_info);
    lc__table_cleanup(&r->hosts);
    lc__strs_cleanup(&r->host_keys);
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

/* Puts the pages held back for --max-pages at the front of the frontier,
 * in their order. */
static int
held_release(struct lc__run *r)
{
    size_t left = r->qtail - r->qhead;
    size_t *v;

    if (r->nheld == 0)
        return 0;
    v = malloc((left + r->nheld) * sizeof(*v));
    if (v == NULL)
        return TF_ENOMEM;
    memcpy(v, r->held, r->nheld * sizeof(*v));
    if (left > 0)
        memcpy(v + r->nheld, r->queue + r->qhead, left * sizeof(*v));
    free(r->queue);
    r->queue = v;
    r->qhead = 0;
    r->qtail = r->qcap = left + r->nheld;
    r->nheld = 0;
    return 0;
}

static int
held_push(struct lc__run *r, size_t i)
{
    if (r->nheld == r->capheld) {
        size_t cap = r->capheld == 0 ? 64 : r->capheld * 2;
        size_t *v = realloc(r->held, cap * sizeof(*v));

        if (v == NULL)
            return TF_ENOMEM;
        r->held = v;
        r->capheld = cap;
    }
    r->held[r->nheld++] = i;
    return 0;
}

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

/* Ends record I without a transfer: dead with WHY when SKIP is false,
 * skipped for WHY when it is true. */
static int
rec_end(struct lc__run *r, size_t i, const char *why, bool skip)
{
    struct lc__rec *rec = &r->recs[i];
    char **slot = skip ? &rec->skip : &rec->error;

    free(*slot);
    *slot = strdup(why[0] != '\0' ? why : skip ? "not checked" : "failed");
    if (*slot == NULL)
        return TF_ENOMEM;
    rec->done = true;
    if (rec->start_us == 0)
        rec->start_us = epoch_us();
    return lc__record(r, i);
}

static int
rec_dead(struct lc__run *r, size_t i, const char *why)
{
    return rec_end(r, i, why, false);
}

/* ------------------------------------------------------- hosts, robots */

/* Writes the key of URL's origin, "scheme://host:port", to KEY (400
 * bytes); false when URL has no host (or one too long to be one). */
static bool
host_key(const char *url, char *key)
{
    const char *host;
    const char *colon = strchr(url, ':');
    size_t len;
    unsigned port;

    if (colon == NULL || colon - url > 32 ||
        !lc__url_hostport(url, &host, &len, &port) || len > 300)
        return false;
    snprintf(key, 400, "%.*s://%.*s:%u", (int)(colon - url), url, (int)len,
             host, port);
    return true;
}

/* The host record of URL's origin, made if need be; NULL when out of
 * memory or URL has no host. */
static struct lc__host *
host_of(struct lc__run *r, const char *url)
{
    char key[400];
    size_t idx;
    struct lc__host *v;

    if (!host_key(url, key))
        return NULL;
    if (lc__table_find(&r->hosts, key, &idx))
        return &r->host_info[idx];
    v = realloc(r->host_info, (r->host_keys.n + 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    r->host_info = v;
    idx = r->host_keys.n;
    if (lc__strs_addn(&r->host_keys, key, strlen(key)) < 0)
        return NULL;
    if (lc__table_add(&r->hosts, r->host_keys.v[idx], idx) < 0) {
        free(r->host_keys.v[idx]);
        r->host_keys.n--;
        return NULL;
    }
    memset(&v[idx], 0, sizeof(v[idx]));
    return &v[idx];
}

/* The length of the origin of absolute URL S ("scheme://host:port"); the
 * path and query follow it. */
static size_t
origin_len(const char *s)
{
    const char *a = strstr(s, "://");
    const char *p = a != NULL ? strchr(a + 3, '/') : NULL;

    return p != NULL ? (size_t)(p - s) : strlen(s);
}

/* The path and query of absolute URL S ("/" when it has none). */
static const char *
url_path(const char *s)
{
    return s[origin_len(s)] != '\0' ? s + origin_len(s) : "/";
}

/* Reads the robots.txt of URL's origin into H, once. Whatever stops it
 * from being read (no such file, an error) allows every page. */
static int
robots_read(struct lc__run *r, struct lc__host *h, const char *url)
{
    struct tf_buf body;
    char why[LC__WHY];
    long status = 0;
    char *robots = NULL;
    int rc;

    h->robots_read = true;
    if (asprintf(&robots, "%.*s/robots.txt", (int)origin_len(url), url) < 0)
        return TF_ENOMEM;
    tf_buf_init(&body, 0);
    rc = lc__fetch_once(r->st, robots, &status, &body, why, sizeof(why));
    if (rc == TF_ENOMEM)
        goto out;
    if (rc < 0)
        tf_log(TF_LOG_WARN, "linkcheck: %s: %s; every page is allowed", robots,
               why);
    else if (status >= 200 && status <= 299)
        rc = lc__robots_parse(body.data != NULL ? (char *)body.data : "",
                              body.len, "taskfarm-linkcheck", &h->robots);
    else if (status >= 500 || status == 0)
        tf_log(TF_LOG_WARN,
               "linkcheck: %s: HTTP status %ld; every page is allowed", robots,
               status);
    rc = rc == TF_ENOMEM ? rc : 0;
out:
    free(robots);
    tf_buf_cleanup(&body);
    return rc;
}

/* Whether the crawl may fetch URL, a URL of one of its hosts, by their
 * robots.txt (read the first time). Sets *ALLOWED. */
static int
robots_allows(struct lc__run *r, const char *url, bool *allowed)
{
    struct lc__host *h = host_of(r, url);
    int rc;

    *allowed = true;
    if (h == NULL)
        return 0;
    if (!h->robots_read) {
        rc = robots_read(r, h, url);
        if (rc < 0)
            return rc;
    }
    *allowed = lc__robots_allows(h->robots, url_path(url));
    return 0;
}

/* Whether URL is a page of the crawl's scope (--scope). */
static bool
in_scope(const struct lc__state *st, const char *url)
{
    size_t i;

    if (st->scope.n == 0)
        return true;
    for (i = 0; i < st->scope.n; i++)
        if (strncmp(url, st->scope.v[i], strlen(st->scope.v[i])) == 0)
            return true;
    return false;
}

/* Settles what becomes of the new record I, found at its depth: skipped,
 * or queued for a worker, and whether the crawl would parse it. */
static int
rec_classify(struct lc__run *r, size_t i)
{
    const struct lc__state *st = r->st;
    struct lc__rec *rec = &r->recs[i];
    bool onsite = st->start != NULL && lc__host_allowed(st, rec->url);
    bool allowed = true;
    int rc;

    if (st->include != NULL && !regexes_match(st->include, rec->url))
        return rec_end(r, i, "not included by --include", true);
    if (regexes_match(st->exclude, rec->url))
        return rec_end(r, i, "excluded by --exclude", true);
    if (onsite && st->robots) {
        rc = robots_allows(r, rec->url, &allowed);
        if (rc < 0)
            return rc;
        rec = &r->recs[i];
        if (!allowed)
            return rec_end(r, i, "robots.txt disallows it", true);
    }
    rec->page = onsite && rec->depth <= st->max_depth &&
                in_scope(st, rec->url) &&
                !regexes_match(st->no_follow, rec->url);
    return queue_push(r, i);
}

/* Why URL is not to be tried: its host failed before; NULL when it may. */
static const char *
host_failed(struct lc__run *r, const char *url)
{
    char key[400];
    size_t idx;

    /* Most runs have no such host: then no URL pays for a lookup. */
    if (r->nfailed == 0 || !host_key(url, key))
        return NULL;
    if (!lc__table_find(&r->hosts, key, &idx))
        return NULL;
    return r->host_info[idx].failed;
}

/* ----------------------------------------------------------- records */

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
    rec->cut = o->cut;
    rec->retries = o->retries;
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
    if (o->errkind == LC__ERR_HOST) {
        /* Every further URL of the host ends at once: a resolver that
         * drops queries costs a connect timeout once, not per URL. The
         * host is the one that failed: where redirects led. */
        struct lc__host *h = host_of(
            r, o->redirects > 0 && o->final[0] != '\0' ? o->final : rec->url);

        rec = &r->recs[i];
        if (h == NULL)
            return TF_ENOMEM;
        if (h->failed == NULL) {
            if (asprintf(&h->failed, "%s (as for %s)", o->error,
                         o->redirects > 0 && o->final[0] != '\0'
                             ? o->final
                             : rec->url) < 0) {
                h->failed = NULL;
                return TF_ENOMEM;
            }
            r->nfailed++;
        }
    }
    return lc__record(r, i);
}

int
lc__rec_get(struct lc__run *r, const char *key, uint64_t depth, char msg,
            const char *why, size_t *out)
{
    const struct lc__state *st = r->st;
    int rc;

    if (lc__table_find(&r->index, key, out)) {
        struct lc__rec *rec = &r->recs[*out];

        if (msg != LC__MSG_LINK || !rec->page_skip)
            return 0;
        /* A form's action that is also a plain link is checked. */
        free(rec->skip);
        rec->skip = NULL;
        rec->page_skip = false;
        rec->done = false;
        rec->mode = 'c';
        rec->start_us = 0;
        return rec_classify(r, *out);
    }
    /* Links to other hosts than the crawl's are left out altogether with
     * --check-external no; so are the other schemes. */
    if (st->start != NULL && !st->check_external && depth > 0 &&
        (msg == LC__MSG_SKIP ||
         (msg == LC__MSG_LINK && !lc__host_allowed(st, key))))
        return 1;
    rc = rec_add(r, strdup(key), depth, out);
    if (rc < 0)
        return rc;
    if (msg == LC__MSG_SKIP) {
        struct lc__rec *rec = &r->recs[*out];

        rec->mode = 'x';
        rec->page_skip = true;
        rec->done = true;
        rec->start_us = epoch_us();
        rec->skip = strdup(why != NULL && why[0] != '\0' ? why : "not checked");
        return rec->skip != NULL ? 0 : TF_ENOMEM;
    }
    if (msg == LC__MSG_DEAD) {
        r->recs[*out].mode = 'x';
        return rec_dead(r, *out, why != NULL ? why : "");
    }
    return rec_classify(r, *out);
}

int
lc__record_page_skips(struct lc__run *r)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < r->nrecs; i++)
        if (r->recs[i].page_skip)
            rc = lc__record(r, i);
    return rc;
}

/* Hash of anchor S: a page's anchors are kept as sorted hashes. */
static uint64_t
anchor_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3u;
    }
    return h;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Keeps the anchors F[1..N-1] of the page of record I. */
static int
rec_anchors(struct lc__run *r, size_t i, char **f, size_t n)
{
    struct lc__rec *rec = &r->recs[i];
    size_t k;

    rec->html = true;
    free(rec->anchors);
    rec->anchors = NULL;
    rec->nanchors = 0;
    if (n == 0)
        return 0;
    rec->anchors = malloc(n * sizeof(*rec->anchors));
    if (rec->anchors == NULL)
        return TF_ENOMEM;
    for (k = 0; k < n; k++)
        rec->anchors[k] = anchor_hash(f[k]);
    qsort(rec->anchors, n, sizeof(*rec->anchors), cmp_u64);
    rec->nanchors = n;
    return 0;
}

/* Keeps the link from record FROM to record TARGET's anchor FRAG. */
static int
aref_add(struct lc__run *r, size_t target, size_t from, const char *frag)
{
    struct lc__aref *a;

    if (r->narefs == r->caparefs) {
        size_t cap = r->caparefs == 0 ? 64 : r->caparefs * 2;
        struct lc__aref *v = realloc(r->arefs, cap * sizeof(*v));

        if (v == NULL)
            return TF_ENOMEM;
        r->arefs = v;
        r->caparefs = cap;
    }
    a = &r->arefs[r->narefs];
    a->frag = strdup(frag);
    if (a->frag == NULL)
        return TF_ENOMEM;
    a->target = target;
    a->from = from;
    r->narefs++;
    return 0;
}

int
lc__check_anchors(struct lc__run *r)
{
    size_t k;
    int rc = 0;

    for (k = 0; rc == 0 && k < r->narefs; k++) {
        const struct lc__aref *a = &r->arefs[k];
        const struct lc__rec *t = &r->recs[a->target];
        uint64_t h = anchor_hash(a->frag);
        char *key = NULL;
        size_t i;

        /* Only a whole page parsed as HTML has known anchors. */
        if (!t->html || t->cut || lc__rec_is_dead(t) ||
            bsearch(&h, t->anchors, t->nanchors, sizeof(h), cmp_u64) != NULL)
            continue;
        if (asprintf(&key, "%s#%s", t->url, a->frag) < 0)
            return TF_ENOMEM;
        if (!lc__table_find(&r->index, key, &i)) {
            char why[LC__WHY];

            rc = rec_add(r, key, t->depth, &i);
            if (rc < 0)
                return rc;
            t = &r->recs[a->target];
            r->recs[i].mode = 'x';
            r->recs[i].status = t->status;
            if (t->final != NULL &&
                asprintf(&r->recs[i].final, "%s#%s", t->final, a->frag) < 0)
                return TF_ENOMEM;
            snprintf(why, sizeof(why), "anchor #%s not found", a->frag);
            rc = rec_dead(r, i, why);
        } else {
            free(key);
        }
        if (rc == 0)
            rc = lc__rec_ref(r, i, a->from);
    }
    return rc;
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
    if (p[0] == LC__MSG_ANCHORS && p[1] == '\t') {
        char **ids = NULL;
        size_t nids = 0;
        char *page = p + 2;
        char *tab = strchr(page, '\t');

        if (tab != NULL)
            *tab = '\0';
        if (!lc__table_find(&r->index, page, &pi) || !r->st->anchors)
            return 0;
        for (p = tab; p != NULL; p = strchr(p + 1, '\t'))
            nids++;
        if (nids > 0) {
            ids = malloc(nids * sizeof(*ids));
            if (ids == NULL)
                return TF_ENOMEM;
            nids = 0;
            for (p = tab; p != NULL; p = strchr(p, '\t')) {
                *p++ = '\0';
                ids[nids++] = p;
            }
        }
        rc = rec_anchors(r, pi, ids, nids);
        free(ids);
        return rc;
    }
    while (nf < 4) {
        char *tab = strchr(p, '\t');

        f[nf++] = p;
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    if (nf != 4 || f[0][0] == '\0' || f[0][1] != '\0' || f[2][0] == '\0' ||
        !lc__table_find(&r->index, f[1], &pi) || strchr("LDS", f[0][0]) == NULL)
        return 0;
    rc = lc__rec_get(r, f[2], r->recs[pi].depth + 1, f[0][0], f[3], &i);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (f[0][0] == LC__MSG_LINK && f[3][0] != '\0') {
        rc = r->st->anchors ? aref_add(r, i, pi, f[3]) : 0;
        if (rc < 0 || i == pi)
            return rc; /* a link to an anchor of its own page */
    }
    return lc__rec_ref(r, i, pi);
}

int
lc__next(void *arg, uint64_t index, struct tf_buf *task)
{
    struct lc__run *r = arg;
    const struct lc__state *st = r->st;
    size_t avail = r->qtail - r->qhead;
    size_t want;
    struct lc__batch *b;
    int rc = 0;

    if (avail == 0)
        return TF_LATER;
    /* Small frontiers spread over the workers; large ones go in batches
     * that keep a worker's transfers busy for a while. */
    want = (avail + (size_t)r->nworkers - 1) / (size_t)r->nworkers;
    if (want > LC_BATCH_FACTOR * st->concurrency)
        want = (size_t)(LC_BATCH_FACTOR * st->concurrency);
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
    while (rc == 0 && b->n < want && r->qhead < r->qtail) {
        size_t i = r->queue[r->qhead++];
        struct lc__rec *rec = &r->recs[i];
        const char *failed = host_failed(r, rec->url);
        char mode = 'c';

        if (failed != NULL) {
            rc = rec_dead(r, i, failed);
            continue;
        }
        /* --max-pages counts pages parsed: a page waits while the pages
         * out may still fill the count, and is checked alone once they
         * did. */
        if (rec->page && r->pages_parsed < st->max_pages) {
            if (r->pages_parsed + r->pages_out < st->max_pages) {
                mode = 'p';
                r->pages_out++;
            } else {
                rc = held_push(r, i);
                continue;
            }
        }
        rec->mode = mode;
        b->recs[b->n++] = i;
        rc = lc__task_add(task, mode, rec->url);
    }
    if (r->qhead == r->qtail)
        r->qhead = r->qtail = 0;
    if (rc < 0)
        return rc;
    if (b->n == 0) {
        free(b->recs);
        b->recs = NULL;
        return TF_LATER;
    }
    return 1;
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
    const struct lc__state *st = r->st;
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
    for (k = 0; rc == 0 && b != NULL && k < b->n; k++) {
        struct lc__rec *rec = &r->recs[b->recs[k]];

        if (!rec->done)
            rc = rec_dead(r, b->recs[k], why);
        rec = &r->recs[b->recs[k]];
        if (rec->mode == 'p') {
            r->pages_out--;
            r->pages_parsed += rec->parsed ? 1 : 0;
        }
    }
    if (b != NULL) {
        free(b->recs);
        b->recs = NULL;
        b->n = 0;
    }
    /* Pages held back go on once room is left, or once no page is out
     * that could still take it (then they are checked). */
    if (rc == 0 && r->nheld > 0 &&
        (r->pages_out == 0 || r->pages_parsed + r->pages_out < st->max_pages))
        rc = held_release(r);
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
    rc = lc__rec_get(r, key, 0,
                     rc == LC__URL_DEAD ? LC__MSG_DEAD : LC__MSG_LINK, why, &i);
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
    size_t nwarn = 0;
    size_t nskip = 0;
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
        rc = lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i);
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
    rc = lc__record_page_skips(&r);
    if (rc == 0)
        rc = lc__check_anchors(&r);
    for (i = 0; rc == 0 && i < r.nrecs; i++)
        if (!r.recs[i].done && r.recs[i].mode != 'x')
            rc = rec_dead(&r, i,
                          stopped ? "not checked: the run stopped first"
                                  : "not checked");
    if (rc < 0) {
        tf_error_set(err, rc, "%s", r.why[0] != '\0' ? r.why : "out of memory");
        goto out;
    }
    secs = (double)(mono_us() - t0) / 1e6;
    if (st->sitemap != NULL) {
        rc = lc__sitemap(&r, st->sitemap, err);
        if (rc < 0)
            goto out;
    }
    rc = lc__report(&r, io->out, &ndead, &nparsed);
    if (rc < 0) {
        tf_error_set(err, rc, "cannot write the report: %s", strerror(errno));
        goto out;
    }
    for (i = 0; i < r.nrecs; i++) {
        enum lc__result res = lc__rec_result(st, &r.recs[i]);

        nwarn += res == LC__WARN ? 1 : 0;
        nskip += res == LC__SKIP ? 1 : 0;
    }
    tf_log(TF_LOG_INFO,
           "linkcheck: %zu URLs, %zu pages parsed, %zu dead, %zu with "
           "warnings, %zu skipped, %.3f s, %d workers (%s), %.0f URLs/s",
           r.nrecs, nparsed, ndead, nwarn, nskip, secs, tf_pool_nworkers(pool),
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

/* Reads a --header value: "Name: value", a name of token characters. */
static int
opt_header(struct lc__state *st, const char *v, struct tf_error *err)
{
    size_t n = strcspn(v, ":");
    size_t k;
    bool ok = n > 0 && v[n] == ':' && strpbrk(v, "\r\n") == NULL;

    for (k = 0; ok && k < n; k++)
        ok = (unsigned char)v[k] > ' ' && (unsigned char)v[k] < 127 &&
             strchr("()<>@,;\\\"/[]?={}", v[k]) == NULL;
    if (!ok)
        return tf_error_set(err, TF_EUSAGE,
                            "--header: '%s' is not 'Name: value'", v);
    if (lc__strs_addn(&st->headers, v, strlen(v)) < 0)
        return tf_error_set(err, TF_ENOMEM, "out of memory");
    return 0;
}

/* Checks that the file of option NAME can be read. */
static int
opt_file(const struct tf_opts *opts, const char *name, const char **out,
         struct tf_error *err)
{
    const char *v = tf_opts_get(opts, name);
    int fd;

    *out = v;
    if (v == NULL)
        return 0;
    fd = open(v, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tf_error_set(err, TF_EUSAGE, "--%s: %s: %s", name, v,
                            strerror(errno));
    close(fd);
    return 0;
}

/* The options of scope, manners and access. */
static int
opt_more(struct lc__state *st, const struct tf_opts *opts, struct tf_error *err)
{
    const char *v;
    size_t k;
    int rc = 0;

    st->retries = tf_opts_number(opts, "max-retries", st->retries);
    st->max_retry_wait_us =
        tf_opts_number(opts, "max-retry-wait", st->max_retry_wait_us);
    st->slow_us = tf_opts_number(opts, "slow", st->slow_us);
    st->anchors = !tf_opts_flag(opts, "ignore-anchors");
    st->robots = !tf_opts_flag(opts, "ignore-robots");
    st->insecure = tf_opts_flag(opts, "insecure");
    v = tf_opts_get(opts, "check-external");
    st->check_external = v == NULL || strcmp(v, "yes") == 0;
    st->sitemap = tf_opts_get(opts, "sitemap");
    if (st->start == NULL) {
        static const char *const crawl_only[] = {
            "scope",         "no-follow", "check-external",
            "ignore-robots", "sitemap",   NULL};

        for (k = 0; crawl_only[k] != NULL; k++)
            if (tf_opts_get(opts, crawl_only[k]) != NULL)
                return tf_error_set(err, TF_EUSAGE, "--%s needs --crawl",
                                    crawl_only[k]);
    }
    for (k = 0; rc == 0 && (v = tf_opts_nth(opts, "header", k)) != NULL; k++)
        rc = opt_header(st, v, err);
    for (k = 0; rc == 0 && (v = tf_opts_nth(opts, "scope", k)) != NULL; k++) {
        char why[LC__WHY];
        char *url = NULL;
        int u = lc__normalize_url(NULL, v, strlen(v), false, &url, why,
                                  sizeof(why));

        if (u < 0)
            return tf_error_set(err, u, "out of memory");
        if (u != LC__URL_OK) {
            free(url);
            return tf_error_set(err, TF_EUSAGE,
                                "--scope: '%s' is not an http or https URL "
                                "(%s)",
                                v, why);
        }
        if (lc__strs_add(&st->scope, url) < 0)
            return tf_error_set(err, TF_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = regexes_make(opts, "include", &st->include, err);
    if (rc == 0)
        rc = regexes_make(opts, "exclude", &st->exclude, err);
    if (rc == 0)
        rc = regexes_make(opts, "no-follow", &st->no_follow, err);
    if (rc == 0)
        rc = opt_file(opts, "cookies", &st->cookies, err);
    if (rc == 0)
        rc = opt_file(opts, "netrc", &st->netrc, err);
    if (rc == 0)
        rc = opt_file(opts, "cacert", &st->cacert, err);
    if (rc == 0 && lc__headers_make(st) < 0)
        rc = tf_error_set(err, TF_ENOMEM, "out of memory");
    return rc;
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
    lc__headers_free(st);
    lc__strs_cleanup(&st->headers);
    lc__strs_cleanup(&st->scope);
    regexes_free(st->exclude);
    regexes_free(st->include);
    regexes_free(st->no_follow);
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
    st->max_body = (uint64_t)16 << 20;
    st->max_redirs = 10;
    st->retries = 2;
    st->max_retry_wait_us = 60000000;
    st->slow_us = 10000000;
    st->anchors = true;
    st->robots = true;
    st->check_external = true;
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
    else if (v != NULL && strcmp(v, "csv") == 0)
        st->format = LC__CSV;
    st->dead_only = tf_opts_flag(opts, "dead-only");
    v = tf_opts_get(opts, "user-agent");
    if (v != NULL)
        st->user_agent = v;
    if (rc == 0)
        rc = opt_more(st, opts, err);
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
