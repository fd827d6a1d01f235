/* linkcheck.h - what the files of the linkcheck job share; included by the
 * .c files of jobs/linkcheck/ and the job's tests alone */
#ifndef TF_LINKCHECK_H
#define TF_LINKCHECK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "taskfarm.h"

/*
 * The master keeps every URL met, keyed by its normalized form, and hands
 * out batches of them. A task is text, one URL a line: "p URL\n" to fetch
 * with GET and parse when it is HTML, "c URL\n" to check (HEAD, then GET
 * when the server refuses HEAD). A worker runs a batch with libcurl's multi
 * interface and answers one TAB-separated line per URL (see
 * lc__outcome_encode()); for a page or style sheet it parsed it submits the
 * messages LC__MSG_* below, one per distinct link, then the page's anchors.
 *
 * The files: url.c normalizes URLs, html.c finds the links of a page and
 * of CSS, fetch.c is all that talks to libcurl (its URL parser, under
 * url.c, and the transfers of a worker), robots.c reads robots.txt,
 * report.c writes the report, table.c holds the hash table and string list
 * the others use, and linkcheck.c the rest: the master's records and
 * frontier, the task and result lines, the options and the job's vtable.
 */
#define LC__MAX_LINE 65536 /* longest line of a URL file */
#define LC__MAX_REFS 100   /* referrers kept per URL; all are counted */
#define LC__WHY 256        /* room for one URL's error text */

enum lc__format { LC__TABLE, LC__JSONL, LC__CSV };

/*
 * What a worker submits for a page it parsed (TAB-separated; a tab or line
 * break inside a field becomes a space):
 *   "L\tPAGE\tURL\tFRAG"   a link to check (and follow, when the crawl
 *                           does): URL normalized (no fragment), FRAG its
 *                           fragment percent-decoded, or "" (none, "#",
 *                           "#top", or a text fragment "#:~:...")
 *   "D\tPAGE\tTEXT\tERROR" a link that is dead already (no valid URL)
 *   "S\tPAGE\tTEXT\tWHY"   a link that is reported, not checked: a scheme
 *                           other than http(s) ("scheme ftp: not checked"),
 *                           a form's action ("form action: not followed")
 *   "A\tPAGE[\tID]..."    the page's anchors (every id, and the name of
 *                           each <a>), after its links; sent for every HTML
 *                           page parsed, none for a style sheet
 * PAGE is the page's key (the URL the master asked for). Links to the
 * schemes that name no document (mailto:, javascript:, tel:, data:, about:)
 * and empty ones are no links and are not sent.
 */
#define LC__MSG_LINK 'L'
#define LC__MSG_DEAD 'D'
#define LC__MSG_SKIP 'S'
#define LC__MSG_ANCHORS 'A'

/* What kind of failure a worker's outcome is (lc__outcome.errkind). */
#define LC__ERR_NONE '-'
#define LC__ERR_HOST                                                           \
    'h'                     /* the host cannot be reached: no address, no      \
                               connection, a connect timeout */
#define LC__ERR_TIMEOUT 't' /* --max-time passed */
#define LC__ERR_OTHER 'e'   /* anything else: TLS, a reset, a bad reply */

/* What lc__normalize_url() makes of a link. */
enum { LC__URL_OK = 0, LC__URL_IGNORE = 1, LC__URL_DEAD = 2, LC__URL_SKIP = 3 };

/* The job kind, defined in linkcheck.c. */
extern const struct tf_job_kind tf_job_linkcheck;

/* ---------------------------------------------------------- small helpers */

static inline int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static inline bool
is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* HTML's white space. */
static inline bool
is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static inline int
hexval(int c)
{
    if (is_digit(c))
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static inline uint64_t
clock_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t
mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

static inline uint64_t
epoch_us(void)
{
    return clock_us(CLOCK_REALTIME);
}

/* ------------------------------------------- hash table and string list */

/* An open-addressing hash table from strings to indexes (table.c). */
struct lc__slot {
    const char *key; /* borrowed; NULL: the slot is empty */
    uint64_t hash;
    size_t value;
};

/* Zeroed is empty; lc__table_cleanup() frees it. */
struct lc__table {
    struct lc__slot *slots; /* owned */
    size_t cap;             /* 0 or a power of two */
    size_t n;
};

/* A growable list of strings; zeroed is empty; lc__strs_cleanup() frees
 * it. */
struct lc__strs {
    char **v; /* owned, and each string */
    size_t n;
    size_t cap;
};

/* Whether KEY is in T; if so, sets *VALUE to its value. */
bool lc__table_find(const struct lc__table *t, const char *key, size_t *value);

/* Adds KEY, which is not in T yet, with VALUE. KEY is borrowed: it must
 * outlive the table. Returns 0 or TF_ENOMEM. */
int lc__table_add(struct lc__table *t, const char *key, size_t value);

/* Frees T's slots (not its keys) and leaves it empty. */
void lc__table_cleanup(struct lc__table *t);

/* Appends STR, taking ownership of it (freed on failure; NULL is taken for
 * a failed allocation). Returns 0 or TF_ENOMEM. */
int lc__strs_add(struct lc__strs *s, char *str);

/* Appends a copy of the N bytes at P. Returns 0 or TF_ENOMEM. */
int lc__strs_addn(struct lc__strs *s, const char *p, size_t n);

/* Appends the string FMT makes. Returns 0 or TF_ENOMEM. */
int lc__strs_printf(struct lc__strs *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Frees S's strings and array, and leaves it empty. */
void lc__strs_cleanup(struct lc__strs *s);

/* ---------------------------------------------------------------- state */

/* A host whose pages a crawl follows. */
struct lc__hostport {
    char *host;    /* owned, lower-case; IPv6 in brackets */
    unsigned port; /* 0: any port */
};

/* Compiled regular expressions (linkcheck.c). */
struct lc__regexes;

/* One worker's libcurl state (fetch.c). */
struct lc__conn;

/* The job's state, made by its init: the options, the same on every rank,
 * and each worker process's idle libcurl states. */
struct lc__state {
    const char *file;           /* FILE|-, or NULL for a crawl; borrowed */
    char *start;                /* owned: the normalized --crawl URL, or NULL */
    struct lc__hostport *allow; /* owned: the start's host first */
    size_t nallow;
    uint64_t max_pages;
    uint64_t max_depth;
    uint64_t max_body;
    uint64_t max_redirs;
    uint64_t concurrency;
    uint64_t retries;           /* --retries: more tries after a 429, 503
                                   or broken connection */
    uint64_t max_retry_wait_us; /* --max-retry-wait: longest wait before a
                                   retry (a longer Retry-After: no retry) */
    uint64_t slow_us;           /* --slow: a warning past it; 0: none */
    double rate;
    long connect_timeout_ms;
    long max_time_ms;
    enum lc__format format;
    bool dead_only;
    bool anchors;                  /* check #fragments (not --ignore-anchors) */
    bool robots;                   /* honour robots.txt (not --ignore-robots) */
    bool check_external;           /* --check-external yes */
    bool insecure;                 /* --insecure */
    const char *cacert;            /* --cacert FILE, or NULL; borrowed */
    const char *cookies;           /* --cookies FILE, or NULL; borrowed */
    const char *netrc;             /* --netrc FILE, or NULL; borrowed */
    const char *sitemap;           /* --sitemap FILE, or NULL; borrowed */
    struct lc__strs headers;       /* --header values, "Name: value" */
    void *headers_list;            /* owned: a curl_slist of HEADERS, made by
                                      fetch.c (lc__headers_make()), or NULL */
    struct lc__regexes *exclude;   /* owned: --exclude, or NULL */
    struct lc__regexes *include;   /* owned: --include, or NULL */
    struct lc__regexes *no_follow; /* owned: --no-follow, or NULL */
    struct lc__strs scope;         /* --scope prefixes (none: any) */
    const char *user_agent;        /* borrowed */
    char default_ua[64];
    bool curl_ready;
    /* Workers: idle libcurl states, one per worker process or thread. */
    pthread_mutex_t lock;
    bool lock_ready;
    pid_t conn_pid;        /* the process the list belongs to */
    struct lc__conn *idle; /* owned when conn_pid is this process */
};

/* ----------------------------------------------------------- url.c: URLs */

/*
 * The one normalization of URLs, on workers and on the master, so that a
 * URL is known by one key wherever it is found. Resolves the N bytes at
 * LINK against BASE (an absolute URL, or NULL when LINK must be absolute)
 * with curl's URL API and normalizes the result: no fragment, lower-case
 * scheme and host, no default port, "/" for an empty path, no dot
 * segments, escapes as lc__fix_escapes() leaves them. FROM_PAGE says LINK
 * is a link on a page, where empty links, "#..." ones and the schemes that
 * name no document (mailto: and the like) are not links to check; in a
 * file they are dead. Returns LC__URL_OK with *OUT the URL, LC__URL_IGNORE
 * with *OUT NULL, LC__URL_DEAD with *OUT the link's text and WHY (WHYLEN
 * bytes) the reason, or TF_ENOMEM. *OUT is the caller's to free.
 */
int lc__normalize_url(const char *base, const char *link, size_t n,
                      bool from_page, char **out, char *why, size_t whylen);

/*
 * Rewrites the percent escapes of absolute URL S in place, from its path
 * on: those of unreserved characters (RFC 3986: letters, digits, - . _ ~)
 * become the characters, the others get upper-case hex digits. Returns true
 * when it made a '.', which may form a new dot segment. It takes one pass:
 * a '%' that starts no escape, followed by the escape of a hex digit
 * ("%f%61"), makes a new escape ("%fa") that it leaves as it is.
 */
bool lc__fix_escapes(char *s);

/*
 * Finds the host of absolute URL S (without user info; an IPv6 address
 * keeps its brackets) and its port, the scheme's default when it gives
 * none. Returns false when S has no "://".
 */
bool lc__url_hostport(const char *s, const char **host, size_t *hostlen,
                      unsigned *port);

/* Whether a crawl follows the pages of URL: its host is the start URL's
 * (and its port too) or one of --allow-host. */
bool lc__host_allowed(const struct lc__state *st, const char *url);

/* ---------------------------------------------------------- html.c: HTML */

/* Appends code point CP to OUT as UTF-8; U+FFFD for what is no character.
 * Returns 0 or the tf_buf error. */
int lc__put_utf8(struct tf_buf *out, unsigned long cp);

/*
 * Appends to LINKS the links of the HTML page P of N bytes, as written
 * (entities decoded, not resolved), and sets *BASE to the first <base
 * href>, or NULL; both are the caller's to free. It reads any bytes,
 * however malformed or cut short, as browsers do: comments and the insides
 * of <script> and <style> hold no tags, names are case-insensitive, values
 * are quoted with " or ' or not at all, and the first of two attributes of
 * one name counts. Returns 0 or TF_ENOMEM.
 */
int lc__html_links(const char *p, size_t n, struct lc__strs *links,
                   char **base);

/* What a worker read of a page or style sheet, for lc__page_links(). */
struct lc__page {
    const char *key;   /* its key: the URL the master asked for */
    const char *final; /* its URL after redirects, or NULL: KEY */
    const char *ctype; /* its Content-Type header, or NULL */
    const char *body;  /* what was read of it */
    size_t n;
    bool cut; /* BODY is only the first --max-body bytes: a tag, value or
                 url() cut short at its end is no link */
};

/*
 * Appends to SUBS the messages (LC__MSG_*) a worker submits for page PG:
 * an HTML page (text/html, application/xhtml+xml, or no Content-Type) or a
 * style sheet (text/css: its url() and @import). Links are read in the
 * page's character set (the Content-Type's charset, a byte order mark, a
 * <meta> charset in its first 1024 bytes; else UTF-8 when it is valid
 * UTF-8, windows-1252 when not) and become UTF-8 before they are resolved
 * against the page's final URL or its <base href>. Each distinct (URL,
 * fragment) is sent once. Returns 0 or TF_ENOMEM.
 */
int lc__page_links(const struct lc__page *pg, struct lc__strs *subs);

/* Whether Content-Type CT names a page to parse for links. */
bool lc__is_html(const char *ct);

/* Whether Content-Type CT names a style sheet (text/css). */
bool lc__is_css(const char *ct);

/* ---------------------------------------------------- robots.c: robots */

/* The rules of one robots.txt for one user agent. */
struct lc__robots;

/*
 * Reads robots.txt TXT (N bytes, any bytes) for the robot AGENT (the
 * product token, "taskfarm-linkcheck"): the rules of the groups whose
 * User-agent names it (a case-insensitive match of the token or its first
 * word before '-', "taskfarm"), else of the "*" groups; Allow and Disallow
 * with '*' and '$' as RFC 9309 gives them; Crawl-delay. Sets *OUT (the
 * caller frees it with lc__robots_free()). Returns 0 or TF_ENOMEM.
 */
int lc__robots_parse(const char *txt, size_t n, const char *agent,
                     struct lc__robots **out);

/* Whether R allows PATH (the path and query of a URL, as sent: "/a/b?q").
 * The longest matching rule wins; Allow wins a tie; none: allowed. R NULL
 * allows everything. */
bool lc__robots_allows(const struct lc__robots *r, const char *path);

/* R's Crawl-delay in seconds, or 0 when it gives none. */
double lc__robots_delay(const struct lc__robots *r);

void lc__robots_free(struct lc__robots *r);

/* ------------------------------------------------------ fetch.c: libcurl */

/*
 * Resolves LINK (NUL-terminated, without blanks at its ends) against BASE
 * (an absolute URL, or NULL when LINK must be absolute) with libcurl's URL
 * parser, which percent-encodes what needs it, and gives the absolute URL
 * without fragment, with a lower-case host, no default port and escapes as
 * lc__fix_escapes() leaves them. Returns 0 with *OUT the URL (the caller's
 * to free), TF_ENOMEM, or TF_EINPUT with WHY (WHYLEN bytes) "invalid URL: "
 * and libcurl's reason.
 */
int lc__resolve_url(const char *base, const char *link, char **out, char *why,
                    size_t whylen);

/* Sets up libcurl for the process (curl_global_init()). Returns 0 or
 * TF_ESYS. Called by init, on every rank. */
int lc__curl_init(void);

/* Undoes lc__curl_init(). */
void lc__curl_cleanup(void);

/*
 * fetch.c's pure helpers, declared here for the job's tests; no other file
 * of the job uses them. CODE is a CURLcode.
 */

/*
 * The wait in microseconds before retry number TRY (1 for the first):
 * AFTER_S seconds when the response's Retry-After gave them (> 0), else
 * 1 s, 2 s, 4 s ... with JITTER (in [0, 1)) adding up to a quarter more.
 * UINT64_MAX when the wait would pass MAX_US: no retry then. A jitter
 * that alone passes MAX_US is cut to it.
 */
uint64_t lc__retry_wait_us(uint64_t try, int64_t after_s, uint64_t max_us,
                           double jitter);

/* Whether a try that ended with CODE and HTTP STATUS (libcurl's message
 * DETAIL) is worth another: a 429 or 503, or a broken connection. */
bool lc__retryable(int code, long status, const char *detail);

/* The kind (LC__ERR_*) of a transfer that ended with CODE; CONNECTED says
 * it made a connection to the host. */
char lc__errkind(int code, bool connected);

/* Writes to WHY (LEN bytes) the error text of CODE of kind KIND: libcurl's
 * text, after "unreachable host: " for LC__ERR_HOST. */
void lc__error_text(int code, char kind, char *why, size_t len);

/* Makes ST->headers_list from ST->headers. Returns 0 or TF_ENOMEM. */
int lc__headers_make(struct lc__state *st);

/* Frees ST->headers_list. */
void lc__headers_free(struct lc__state *st);

/*
 * Fetches URL (a robots.txt) at once with the settings of ST (user agent,
 * headers, cookies, netrc, TLS, timeouts), at most 512 KiB of it. Sets
 * *STATUS (0: no HTTP response) and appends the body to BODY. Returns 0,
 * TF_ENOMEM, or TF_EINPUT with WHY (WHYLEN bytes) libcurl's error.
 */
int lc__fetch_once(const struct lc__state *st, const char *url, long *status,
                   struct tf_buf *body, char *why, size_t whylen);

/* Frees ST's idle libcurl states when they are this process's (a forked
 * worker inherits its parent's list, which is not its own to free). */
void lc__idle_free(struct lc__state *st);

/* The task function (STATE is the job's struct lc__state): checks the URLs
 * of one task and writes one result line each to RES. Returns 0, with a
 * malformed task failed through RES, or TF_ENOMEM. */
int lc__worker_run(void *state, const struct tf_task *task,
                   struct tf_result *res);

/* ------------------------------------------- linkcheck.c: tasks, results */

/* One URL of a task. */
struct lc__task_url {
    char mode; /* 'p': fetch and parse, 'c': check */
    char *url; /* borrowed from the task's text */
};

/* One URL's outcome, as a worker reports it and the master reads it. */
struct lc__outcome {
    const char *url;
    long status; /* 0: no HTTP response */
    const char *final;
    uint64_t start_us;
    uint64_t time_us;
    uint64_t size;
    uint64_t redirects;
    const char *method;
    bool parsed;
    const char *host;
    const char *error; /* "" when none */
    char errkind;      /* LC__ERR_*: LC__ERR_NONE when ERROR is "" */
    uint64_t retries;  /* tries after the first */
    bool cut;          /* a page parsed from its first --max-body bytes */
};

/* Appends one URL (MODE 'p' or 'c') to a task. Returns 0 or the tf_buf
 * error. */
int lc__task_add(struct tf_buf *task, char mode, const char *url);

/*
 * Splits the task text P (LEN bytes, NUL-terminated, changed in place:
 * each URL ends with a NUL) into *URLS, one per line, calloc'd (the caller
 * frees them, also on failure), and sets *N to how many. Returns 0,
 * TF_EPROTO when a line is not "p URL" or "c URL", or TF_ENOMEM.
 */
int lc__task_parse(char *p, size_t len, struct lc__task_url **urls, size_t *n);

/* Appends O as one result line: TAB-separated url, status, final url,
 * start (epoch us), time (us), size, redirects, method, parsed, host,
 * error, errkind, retries, cut; a newline. Tabs and line breaks in the
 * strings become spaces. */
int lc__outcome_encode(struct tf_buf *out, const struct lc__outcome *o);

/* Splits result line LINE (without its newline, changed in place: its
 * fields end with NULs) into O, whose strings point into LINE. Returns 0,
 * or TF_EPROTO when it is no result line. */
int lc__outcome_decode(char *line, struct lc__outcome *o);

/* ------------------------------------------------- linkcheck.c: master */

/* One URL, on the master. */
struct lc__rec {
    char *url;      /* owned: the key, normalized (or the text of a link that
                       is no valid URL) */
    char *final;    /* owned, or NULL */
    char *error;    /* owned, or NULL: none */
    char *host;     /* owned, or NULL: the host of the worker that checked it */
    char *skip;     /* owned, or NULL: why it was not checked */
    char method[8]; /* "HEAD", "GET", or "" when no request was made */
    char mode;      /* 'p', 'c', or 'x': ended without a transfer (dead,
                       skipped, a broken anchor) */
    bool page;      /* the crawl would parse it (host, scope, depth), if
                       --max-pages leaves room when it is handed out */
    bool done;
    bool parsed;
    bool html;      /* parsed as HTML: its anchors are known */
    bool page_skip; /* skipped by a page's message (a form's action, another
                       scheme): a plain link to it checks it after all; its
                       record is written at the end */
    bool cut;       /* parsed from its first --max-body bytes */
    uint64_t retries;
    uint64_t *anchors; /* owned: hashes of its anchors, sorted */
    size_t nanchors;
    long status;
    uint64_t depth;
    uint64_t start_us;
    uint64_t time_us;
    uint64_t size;
    uint64_t redirects;
    uint64_t *refs; /* owned: record indexes (crawl) or line numbers
                       (file) of where it was found, at most LC__MAX_REFS */
    size_t nrefs;
    uint64_t ref_count; /* all of them */
};

/* A link with a fragment: checked against its page's anchors at the end. */
struct lc__aref {
    size_t target; /* the record of the page it links to */
    size_t from;   /* the record of the page it is on */
    char *frag;    /* owned */
};

/* What the master knows of a host of the crawl. */
struct lc__host {
    bool robots_read;          /* its robots.txt was asked for */
    struct lc__robots *robots; /* owned, or NULL: everything allowed */
    char *failed;              /* owned, or NULL: why it cannot be reached */
};

/* What became of a URL. */
enum lc__result { LC__OK, LC__WARN, LC__DEAD, LC__SKIP };

/* The URLs of one task, by record index. */
struct lc__batch {
    size_t *recs; /* owned */
    size_t n;
};

/* The master's state during a run. */
struct lc__run {
    const struct lc__state *st;
    int nworkers;
    struct lc__rec *recs; /* owned */
    size_t nrecs;
    size_t caprecs;
    struct lc__table index; /* url -> record index; keys are recs[i].url */
    size_t *queue;          /* owned: the frontier, record indexes */
    size_t qhead;
    size_t qtail;
    size_t qcap;
    size_t *held; /* owned: pages that wait for room under --max-pages */
    size_t nheld;
    size_t capheld;
    struct lc__batch *batches; /* owned: by task index */
    size_t nbatches;
    uint64_t pages_out;     /* pages handed out to parse, not back yet */
    uint64_t pages_parsed;  /* pages parsed */
    struct lc__aref *arefs; /* owned: links with a fragment to check */
    size_t narefs;
    size_t caparefs;
    struct lc__table hosts; /* "scheme://host:port" -> index in host_info */
    struct lc__strs host_keys;
    struct lc__host *host_info; /* owned */
    size_t nfailed;             /* hosts of host_info that failed */
    struct tf_pool *pool;       /* borrowed: where the records go, or NULL */
    struct tf_buf scratch;      /* owned */
    char why[512];              /* why a callback stopped the run */
};

/* Whether REC is a dead link: an error, or an HTTP status of 400 up. */
bool lc__rec_is_dead(const struct lc__rec *rec);

/* What became of REC in a run of ST: dead, skipped, ok with warnings, or
 * ok. */
enum lc__result lc__rec_result(const struct lc__state *st,
                               const struct lc__rec *rec);

/* Appends REC's warnings (texts) to OUT. Returns 0 or TF_ENOMEM. */
int lc__rec_warnings(const struct lc__state *st, const struct lc__rec *rec,
                     struct lc__strs *out);

/* Writes the records of the URLs skipped by a page's message (once the
 * run ended: until then a plain link may still check them). Returns 0 or
 * the error of writing a record (R->why). */
int lc__record_page_skips(struct lc__run *r);

/* Checks the links with a fragment of R against the anchors of their pages
 * and adds a dead record "URL#FRAG" for each anchor a page lacks. Returns
 * 0, TF_ENOMEM, or the error of writing a record (R->why). */
int lc__check_anchors(struct lc__run *r);

/* Starts R, a run of ST (borrowed) over NWORKERS workers; no memory yet.
 * lc__run_cleanup() ends it. */
void lc__run_init(struct lc__run *r, const struct lc__state *st, int nworkers);

/* Frees what R owns; R is then empty. */
void lc__run_cleanup(struct lc__run *r);

/* Records that record I was found on REF (a record index or a line).
 * Returns 0 or TF_ENOMEM. */
int lc__rec_ref(struct lc__run *r, size_t i, uint64_t ref);

/*
 * Finds the record of KEY, or adds it at DEPTH as a page's message MSG
 * says (LC__MSG_LINK, _DEAD or _SKIP, with WHY the error or the reason):
 * dead or skipped at once, skipped by --include, --exclude or robots.txt,
 * or queued for a worker. Sets *OUT to its index. Returns 0; 1 when the
 * URL is left out of the run (an off-site link with --check-external no);
 * TF_ENOMEM, or the error of writing its record (the reason in R->why).
 */
int lc__rec_get(struct lc__run *r, const char *key, uint64_t depth, char msg,
                const char *why, size_t *out);

/*
 * The submit hook (ARG is the struct lc__run): a message of a worker about
 * a page it parsed (LC__MSG_*). A URL met for the first time is recorded
 * and queued; every one records where it was found; a link with a fragment
 * is kept for lc__check_anchors(), a page's anchors with its record. The
 * work stays here (return 0): lc__next() hands it out.
 */
int lc__submit(void *arg, struct tf_pool *pool, uint64_t parent,
               const void *data, size_t len);

/* The pool's `next` (ARG is the struct lc__run): hands out the next batch
 * of the frontier as task INDEX, or TF_LATER when it is empty (pages still
 * being fetched may add to it). */
int lc__next(void *arg, uint64_t index, struct tf_buf *task);

/* The pool's `done` (ARG is the struct lc__run): each line of the result
 * of task INDEX fills its URL's record. A URL the worker did not report,
 * or all of them when the worker failed, is dead. */
int lc__done(void *arg, uint64_t index, const struct tf_result *res);

/*
 * Reads the URLs of PATH ("-": standard input), one a line; blank lines
 * and those starting with '#' are skipped. Every line is read before any
 * is checked, so a bad file checks nothing. Returns 0, or TF_EINPUT naming
 * the file and line: it cannot be read, or a line holds a NUL byte or is
 * longer than 64 KiB.
 */
int lc__read_urls(struct lc__run *r, const char *path, struct tf_error *err);

/*
 * Writes the record of finished record I through the pool's records
 * (tf_pool_record(): a joblog line and a results record, when the run
 * keeps them): the URL, where and when it was checked, how many bytes
 * came, and status 1 for a dead link. Returns 0, or the error of writing
 * it (why in R->why).
 */
int lc__record(struct lc__run *r, size_t i);

/* ---------------------------------------------------- report.c: report */

/* Writes the report of R to OUT, sorted by URL (byte order), and counts the
 * dead links in *NDEAD and the parsed pages in *NPARSED. Returns 0,
 * TF_ENOMEM or TF_ESYS when OUT cannot be written. */
int lc__report(const struct lc__run *r, FILE *out, size_t *ndead,
               size_t *nparsed);

/* Writes the sitemap of R (sitemaps.org's XML: the HTML pages parsed with a
 * 2xx status, by their final URL, sorted) to PATH, through a temporary file
 * renamed in place. Returns 0, or TF_ENOMEM or TF_ESYS with ERR naming
 * PATH. */
int lc__sitemap(const struct lc__run *r, const char *path,
                struct tf_error *err);

#endif /* TF_LINKCHECK_H */
