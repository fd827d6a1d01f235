/* linkcheck.c - the linkcheck job: dead links in a list of URLs or in a
 * crawled web site, many transfers at once per worker with libcurl */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "taskfarm.h"

#if !CURL_AT_LEAST_VERSION(7, 85, 0)
#error "the linkcheck job needs libcurl 7.85 or later (CURLOPT_PROTOCOLS_STR)"
#endif

/*
 * The master keeps every URL met, keyed by its normalized form, and hands
 * out batches of them. A task is text, one URL a line: "p URL\n" to fetch
 * with GET and parse when it is HTML, "c URL\n" to check (HEAD, then GET
 * when the server refuses HEAD). A worker runs a batch with libcurl's multi
 * interface and answers one TAB-separated line per URL (see
 * outcome_encode()); for each link on a page it parsed it submits
 * "PAGE\tURL", or "PAGE\tRAW\tERROR" for a link it already knows is dead.
 */
#define LC_MAX_LINE 65536 /* longest line of a URL file */
#define LC_MAX_REFS 100   /* referrers kept per URL; all are counted */
#define LC_TABLE_REFS 10  /* shown under a dead link in the table */
#define LC_BATCH_FACTOR 4 /* a batch holds up to 4 x --concurrency URLs */
#define LC_FIELDS 11      /* fields of a worker's result line */
#define LC_WHY 256        /* room for one URL's error text */

enum lc_format { LC_TABLE, LC_JSONL };

/* What normalize_url() makes of a link. */
enum { LC_URL_OK = 0, LC_URL_IGNORE = 1, LC_URL_DEAD = 2 };

/* Defined at the end; its name is the one its task function is run by. */
extern const struct tf_job_kind tf_job_linkcheck;

static const struct tf_option lc_options[] = {
    {"crawl", 0, "URL",
     "crawl the web site that starts at URL (http or https) instead of "
     "checking the URLs of a FILE"},
    {"allow-host", 0, "LIST",
     "comma-separated hosts (host or host:port) whose pages are followed "
     "too, beside the start URL's (default: none)"},
    {"max-pages", 0, "N",
     "pages fetched and parsed for links, at most (default 10000); further "
     "links on the site are still checked"},
    {"max-depth", 0, "N",
     "links followed from the start page, at most (default 10); deeper "
     "pages are checked, not parsed"},
    {"max-body", 0, "BYTES",
     "bytes read of any response, at most (default 1M; suffixes k, M, G)"},
    {"rate", 0, "R",
     "requests per second to each host, over all workers (default 0: no "
     "limit)"},
    {"concurrency", 0, "N",
     "transfers at once in each worker, 1 to 1024 (default 16)"},
    {"connect-timeout", 0, "SECS", "time to connect (default 10)"},
    {"max-time", 0, "SECS",
     "time for a whole transfer, redirects included (default 30)"},
    {"max-redirs", 0, "N", "redirects followed (default 10)"},
    {"format", 0, "table|jsonl",
     "the report on stdout: a table (default) or one JSON object per URL"},
    {"dead-only", 0, NULL, "report only the dead links"},
    {"user-agent", 0, "STRING",
     "the User-Agent header (default taskfarm-linkcheck/VERSION)"},
    {NULL, 0, NULL, NULL},
};

/* A host whose pages a crawl follows. */
struct lc_hostport {
    char *host;    /* owned, lower-case; IPv6 in brackets */
    unsigned port; /* 0: any port */
};

/* An open-addressing hash table from strings to indexes. */
struct lc_slot {
    const char *key; /* borrowed; NULL: the slot is empty */
    uint64_t hash;
    size_t value;
};

struct lc_table {
    struct lc_slot *slots; /* owned */
    size_t cap;            /* 0 or a power of two */
    size_t n;
};

/* A growable list of strings. */
struct lc_strs {
    char **v; /* owned, and each string */
    size_t n;
    size_t cap;
};

/*
 * One worker's libcurl state: the multi handle, whose connection cache
 * carries connections from one task to the next, its idle easy handles, and
 * when each host may see its next request (--rate).
 */
struct lc_conn {
    struct lc_conn *next; /* in the state's list of idle ones */
    CURLM *multi;         /* owned */
    CURL **easy;          /* owned: idle easy handles */
    size_t neasy;
    size_t capeasy;
    struct lc_table hosts; /* "host:port" -> index into next_us */
    struct lc_strs host_keys;
    uint64_t *next_us; /* owned: monotonic time of each host's next start */
};

struct lc_state {
    /* The options; the same on every rank. */
    const char *file;          /* FILE|-, or NULL for a crawl; borrowed */
    char *start;               /* owned: the normalized --crawl URL, or NULL */
    struct lc_hostport *allow; /* owned: the start's host first */
    size_t nallow;
    uint64_t max_pages;
    uint64_t max_depth;
    uint64_t max_body;
    uint64_t max_redirs;
    uint64_t concurrency;
    double rate;
    long connect_timeout_ms;
    long max_time_ms;
    enum lc_format format;
    bool dead_only;
    const char *user_agent; /* borrowed */
    const char *joblog;     /* borrowed, or NULL */
    char default_ua[64];
    bool curl_ready;
    /* Workers: idle libcurl states, one per worker process or thread. */
    pthread_mutex_t lock;
    bool lock_ready;
    pid_t conn_pid;       /* the process the list belongs to */
    struct lc_conn *idle; /* owned when conn_pid is this process */
};

/* One URL of a batch, on the worker. */
struct lc_xfer {
    const struct lc_state *st;
    char mode;  /* 'p' or 'c' */
    char *url;  /* borrowed from the task's copy */
    CURL *easy; /* while it runs */
    bool head;  /* the request is a HEAD */
    bool started;
    bool stopped; /* the body was cut off on purpose */
    bool oom;
    bool done;
    struct tf_buf body; /* owned: what was read of a page */
    uint64_t start_us;  /* epoch */
    uint64_t t0_us;     /* monotonic */
    long status;
    long redirects;
    uint64_t time_us;
    char *final; /* owned, or NULL */
    bool parsed;
    char error[LC_WHY]; /* empty: none */
};

/* One URL's outcome, as a worker reports it and the master reads it. */
struct lc_outcome {
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
};

/* One URL, on the master. */
struct lc_rec {
    char *url;      /* owned: the key, normalized (or the text of a link that
                       is no valid URL) */
    char *final;    /* owned, or NULL */
    char *error;    /* owned, or NULL: none */
    char *host;     /* owned, or NULL: the host of the worker that checked it */
    char method[8]; /* "HEAD", "GET", or "" when no request was made */
    char mode;      /* 'p', 'c', or 'x': dead without a transfer */
    bool done;
    bool parsed;
    long status;
    uint64_t depth;
    uint64_t start_us;
    uint64_t time_us;
    uint64_t size;
    uint64_t redirects;
    uint64_t *refs; /* owned: record indexes (crawl) or line numbers
                       (file) of where it was found, at most LC_MAX_REFS */
    size_t nrefs;
    uint64_t ref_count; /* all of them */
};

/* The URLs of one task, by record index. */
struct lc_batch {
    size_t *recs; /* owned */
    size_t n;
};

/* The master's state during a run. */
struct lc_run {
    const struct lc_state *st;
    int nworkers;
    struct lc_rec *recs; /* owned */
    size_t nrecs;
    size_t caprecs;
    struct lc_table index; /* url -> record index; keys are recs[i].url */
    size_t *queue;         /* owned: the frontier, record indexes */
    size_t qhead;
    size_t qtail;
    size_t qcap;
    struct lc_batch *batches; /* owned: by task index */
    size_t nbatches;
    uint64_t pages_scheduled;
    int log_fd; /* the joblog, or -1 */
    uint64_t seq;
    char master_host[256];
    struct tf_buf scratch; /* owned */
    char why[512];         /* why a callback stopped the run */
};

static uint64_t
clock_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t
mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

static uint64_t
epoch_us(void)
{
    return clock_us(CLOCK_REALTIME);
}

/* ------------------------------------------------------- small helpers */

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool
is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* HTML's white space. */
static bool
is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int
hexval(int c)
{
    if (is_digit(c))
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Whether the N bytes at P are NAME (lower-case), ignoring ASCII case. */
static bool
name_is(const char *p, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (name[i] == '\0' || lower((unsigned char)p[i]) != name[i])
            return false;
    return name[n] == '\0';
}

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3u;
    }
    return h;
}

/* The slot that holds KEY, or the empty one where it would go. */
static struct lc_slot *
table_slot(const struct lc_table *t, const char *key, uint64_t h)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)h & mask;

    for (;;) {
        struct lc_slot *s = &t->slots[i];

        if (s->key == NULL || (s->hash == h && strcmp(s->key, key) == 0))
            return s;
        i = (i + 1) & mask;
    }
}

static bool
table_find(const struct lc_table *t, const char *key, size_t *value)
{
    struct lc_slot *s;

    if (t->cap == 0)
        return false;
    s = table_slot(t, key, hash_str(key));
    if (s->key == NULL)
        return false;
    *value = s->value;
    return true;
}

static int
table_grow(struct lc_table *t)
{
    struct lc_slot *old = t->slots;
    size_t oldcap = t->cap;
    size_t cap = oldcap == 0 ? 64 : oldcap * 2;
    size_t i;

    t->slots = calloc(cap, sizeof(*t->slots));
    if (t->slots == NULL) {
        t->slots = old;
        return TF_ENOMEM;
    }
    t->cap = cap;
    for (i = 0; i < oldcap; i++)
        if (old[i].key != NULL)
            *table_slot(t, old[i].key, old[i].hash) = old[i];
    free(old);
    return 0;
}

/* Adds KEY, which is not in T yet, with VALUE. KEY is borrowed: it must
 * outlive the table. Returns 0 or TF_ENOMEM. */
static int
table_add(struct lc_table *t, const char *key, size_t value)
{
    struct lc_slot *s;
    uint64_t h;
    int rc;

    if ((t->n + 1) * 2 > t->cap) {
        rc = table_grow(t);
        if (rc < 0)
            return rc;
    }
    h = hash_str(key);
    s = table_slot(t, key, h);
    s->key = key;
    s->hash = h;
    s->value = value;
    t->n++;
    return 0;
}

static void
table_cleanup(struct lc_table *t)
{
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* Appends S, taking ownership of it (freed on failure). Returns 0 or
 * TF_ENOMEM. */
static int
strs_add(struct lc_strs *s, char *str)
{
    if (str == NULL)
        return TF_ENOMEM;
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 16 : s->cap * 2;
        char **v = realloc(s->v, cap * sizeof(*v));

        if (v == NULL) {
            free(str);
            return TF_ENOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    return 0;
}

/* Appends a copy of the N bytes at P. */
static int
strs_addn(struct lc_strs *s, const char *p, size_t n)
{
    return strs_add(s, strndup(p, n));
}

static int strs_printf(struct lc_strs *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
strs_printf(struct lc_strs *s, const char *fmt, ...)
{
    va_list ap;
    char *str = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&str, fmt, ap);
    va_end(ap);
    return strs_add(s, n < 0 ? NULL : str);
}

static void
strs_cleanup(struct lc_strs *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
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

/* --------------------------------------------------------------- URLs */

/*
 * Copies the N bytes at P as a browser reads a URL from an attribute or a
 * line: without the blanks and control characters at either end, and
 * without the tabs, line breaks and NUL bytes inside. Returns NULL when out
 * of memory.
 */
static char *
clean_link(const char *p, size_t n)
{
    char *out;
    size_t i;
    size_t k = 0;

    while (n > 0 && (unsigned char)p[0] <= ' ') {
        p++;
        n--;
    }
    while (n > 0 && (unsigned char)p[n - 1] <= ' ')
        n--;
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\0')
            out[k++] = p[i];
    out[k] = '\0';
    return out;
}

/* Copies the scheme of S, lower-cased, to OUT (SIZE bytes, truncated if
 * need be) and returns true; false when S has none (a relative link). */
static bool
url_scheme(const char *s, char *out, size_t size)
{
    size_t i;

    if (!is_alpha((unsigned char)s[0]))
        return false;
    for (i = 1;
         is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
         s[i] == '+' || s[i] == '-' || s[i] == '.';
         i++)
        ;
    if (s[i] != ':')
        return false;
    if (i >= size)
        i = size - 1;
    out[i] = '\0';
    while (i-- > 0)
        out[i] = (char)lower((unsigned char)s[i]);
    return true;
}

static bool
is_unreserved(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/*
 * Rewrites the percent escapes of absolute URL S in place, from its path
 * on: those of unreserved characters (RFC 3986: letters, digits, - . _ ~)
 * become the characters, the others get upper-case hex digits. Returns true
 * when it made a '.', which may form a new dot segment.
 */
static bool
fix_escapes(char *s)
{
    char *r = strstr(s, "://");
    char *w;
    bool dot = false;

    if (r == NULL)
        return false;
    r = strchr(r + 3, '/');
    if (r == NULL)
        return false;
    for (w = r; *r != '\0';) {
        int hi = r[0] == '%' ? hexval((unsigned char)r[1]) : -1;
        int lo = hi >= 0 ? hexval((unsigned char)r[2]) : -1;

        if (lo < 0) {
            *w++ = *r++;
            continue;
        }
        if (is_unreserved(hi * 16 + lo)) {
            dot = dot || hi * 16 + lo == '.';
            *w++ = (char)(hi * 16 + lo);
        } else {
            *w++ = '%';
            *w++ = "0123456789ABCDEF"[hi];
            *w++ = "0123456789ABCDEF"[lo];
        }
        r += 3;
    }
    *w = '\0';
    return dot;
}

/* Lower-cases the host of H. */
static CURLUcode
lower_host(CURLU *h)
{
    char *host = NULL;
    bool upper = false;
    CURLUcode uc;
    size_t i;

    uc = curl_url_get(h, CURLUPART_HOST, &host, 0);
    if (uc != CURLUE_OK)
        return uc;
    for (i = 0; host[i] != '\0'; i++) {
        if (host[i] >= 'A' && host[i] <= 'Z') {
            host[i] = (char)lower(host[i]);
            upper = true;
        }
    }
    if (upper)
        uc = curl_url_set(h, CURLUPART_HOST, host, 0);
    curl_free(host);
    return uc;
}

/* The absolute URL of H, normalized: no default port, no fragment, and
 * percent escapes as fix_escapes() leaves them. */
static CURLUcode
url_of(CURLU *h, char **out)
{
    char *part = NULL;
    CURLUcode uc;

    *out = NULL;
    uc = curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0);
    if (uc == CURLUE_OK)
        uc = lower_host(h);
    if (uc == CURLUE_OK)
        uc = curl_url_get(h, CURLUPART_URL, &part, CURLU_NO_DEFAULT_PORT);
    if (uc != CURLUE_OK)
        return uc;
    *out = strdup(part);
    curl_free(part);
    if (*out == NULL)
        return CURLUE_OUT_OF_MEMORY;
    /* A decoded %2E can make a dot segment: parse once more to resolve it
     * as RFC 3986 orders (decoding first, then dot segments). */
    if (fix_escapes(*out)) {
        uc = curl_url_set(h, CURLUPART_URL, *out, 0);
        free(*out);
        *out = NULL;
        if (uc == CURLUE_OK)
            return url_of(h, out);
    }
    return uc;
}

/*
 * The one normalization of URLs, on workers and on the master, so that a
 * URL is known by one key wherever it is found. Resolves the N bytes at
 * LINK against BASE (an absolute URL, or NULL when LINK must be absolute)
 * with curl's URL API and normalizes the result: no fragment, lower-case
 * scheme and host, no default port, "/" for an empty path, no dot
 * segments, escapes as fix_escapes() leaves them. FROM_PAGE says LINK is a
 * link on a page, where empty links, "#..." ones and the schemes that name
 * no document (mailto: and the like) are not links to check; in a file
 * they are dead. Returns LC_URL_OK with *OUT the URL, LC_URL_IGNORE with
 * *OUT NULL, LC_URL_DEAD with *OUT the link's text and WHY (WHYLEN bytes)
 * the reason, or TF_ENOMEM. *OUT is the caller's to free.
 */
static int
normalize_url(const char *base, const char *link, size_t n, bool from_page,
              char **out, char *why, size_t whylen)
{
    static const char *const ignored[] = {"mailto", "javascript", "tel",
                                          "data",   "about",      NULL};
    char scheme[32];
    char *clean;
    char *url = NULL;
    CURLUcode uc = CURLUE_OK;
    CURLU *h;
    size_t i;

    *out = NULL;
    why[0] = '\0';
    clean = clean_link(link, n);
    if (clean == NULL)
        return TF_ENOMEM;
    if (from_page && (clean[0] == '\0' || clean[0] == '#')) {
        free(clean);
        return LC_URL_IGNORE;
    }
    if (url_scheme(clean, scheme, sizeof(scheme))) {
        for (i = 0; from_page && ignored[i] != NULL; i++) {
            if (strcmp(scheme, ignored[i]) == 0) {
                free(clean);
                return LC_URL_IGNORE;
            }
        }
        if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
            snprintf(why, whylen, "protocol not allowed: %s", scheme);
            *out = clean;
            return LC_URL_DEAD;
        }
    }
    h = curl_url();
    if (h == NULL) {
        free(clean);
        return TF_ENOMEM;
    }
    if (base != NULL)
        uc = curl_url_set(h, CURLUPART_URL, base, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_set(h, CURLUPART_URL, clean, CURLU_URLENCODE);
    if (uc == CURLUE_OK)
        uc = url_of(h, &url);
    curl_url_cleanup(h);
    if (uc == CURLUE_OUT_OF_MEMORY) {
        free(clean);
        return TF_ENOMEM;
    }
    if (uc != CURLUE_OK) {
        snprintf(why, whylen, "invalid URL: %s", curl_url_strerror(uc));
        *out = clean;
        return LC_URL_DEAD;
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        /* Only a base of another scheme gets here. */
        url_scheme(url, scheme, sizeof(scheme));
        snprintf(why, whylen, "protocol not allowed: %s", scheme);
        free(url);
        *out = clean;
        return LC_URL_DEAD;
    }
    free(clean);
    *out = url;
    return LC_URL_OK;
}

/*
 * Finds the host of absolute URL S (without user info; an IPv6 address
 * keeps its brackets) and its port, the scheme's default when it gives
 * none. Returns false when S has no "://".
 */
static bool
url_hostport(const char *s, const char **host, size_t *hostlen, unsigned *port)
{
    const char *a = strstr(s, "://");
    const char *end;
    const char *colon = NULL;
    const char *p;

    if (a == NULL)
        return false;
    a += 3;
    end = a + strcspn(a, "/?#");
    for (p = a; p < end; p++)
        if (*p == '@')
            a = p + 1;
    if (*a == '[') {
        const char *close = memchr(a, ']', (size_t)(end - a));

        if (close != NULL && close + 1 < end && close[1] == ':')
            colon = close + 1;
    } else {
        for (p = a; p < end; p++)
            if (*p == ':')
                colon = p;
    }
    *host = a;
    *hostlen = (size_t)((colon != NULL ? colon : end) - a);
    *port = 0;
    if (colon != NULL) {
        for (p = colon + 1;
             p < end && is_digit((unsigned char)*p) && *port <= 65535; p++)
            *port = *port * 10 + (unsigned)(*p - '0');
    } else if (strncmp(s, "https:", 6) == 0) {
        *port = 443;
    } else if (strncmp(s, "http:", 5) == 0) {
        *port = 80;
    }
    return true;
}

/* Whether a crawl follows the pages of URL: its host is the start URL's
 * (and its port too) or one of --allow-host. */
static bool
host_allowed(const struct lc_state *st, const char *url)
{
    const char *host;
    size_t len;
    unsigned port;
    size_t i;

    if (!url_hostport(url, &host, &len, &port))
        return false;
    for (i = 0; i < st->nallow; i++) {
        const struct lc_hostport *a = &st->allow[i];

        if (strlen(a->host) == len && strncasecmp(a->host, host, len) == 0 &&
            (a->port == 0 || a->port == port))
            return true;
    }
    return false;
}

/* --------------------------------------------------------------- HTML */

/* The attribute that holds the link of each tag that has one. */
static const struct {
    const char *tag;
    const char *attr;
} link_attrs[] = {
    {"a", "href"},     {"area", "href"},  {"link", "href"},  {"base", "href"},
    {"img", "src"},    {"script", "src"}, {"iframe", "src"}, {"frame", "src"},
    {"source", "src"}, {"embed", "src"},  {"audio", "src"},  {"video", "src"},
};

/* Appends code point CP as UTF-8; U+FFFD for what is no character. */
static int
put_utf8(struct tf_buf *out, unsigned long cp)
{
    unsigned char b[4];
    size_t n;

    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | cp >> 6);
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | cp >> 12);
        b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | cp >> 18);
        b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return tf_buf_append(out, b, n);
}

/*
 * Sets OUT to the N bytes of attribute value P with the character
 * references &amp; &lt; &gt; &quot; &apos; &#N; and &#xH; decoded; any
 * other '&' stays as it is.
 */
static int
decode_entities(const char *p, size_t n, struct tf_buf *out)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    size_t i;
    size_t k;
    int rc = 0;

    tf_buf_reset(out);
    for (i = 0; rc == 0 && i < n; i++) {
        size_t j = i + 1;
        bool done = false;

        if (p[i] == '&' && j < n && p[j] == '#') {
            unsigned long cp = 0;
            bool hex = j + 1 < n && (p[j + 1] == 'x' || p[j + 1] == 'X');
            size_t d0 = j + 1 + (hex ? 1 : 0);

            for (j = d0; j < n; j++) {
                int v = hex ? hexval((unsigned char)p[j])
                            : (is_digit((unsigned char)p[j]) ? p[j] - '0' : -1);

                if (v < 0)
                    break;
                cp = cp * (hex ? 16 : 10) + (unsigned long)v;
                if (cp > 0x10FFFF)
                    cp = 0x110000; /* no character; no overflow */
            }
            if (j > d0 && j < n && p[j] == ';') {
                rc = put_utf8(out, cp);
                i = j;
                done = true;
            }
        } else if (p[i] == '&') {
            for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
                size_t len = strlen(named[k].name);

                if (j + len < n && memcmp(p + j, named[k].name, len) == 0 &&
                    p[j + len] == ';') {
                    rc = tf_buf_append(out, &named[k].c, 1);
                    i = j + len;
                    done = true;
                    break;
                }
            }
        }
        if (!done)
            rc = tf_buf_append(out, p + i, 1);
    }
    return rc;
}

/* The offset of the "</NAME" that ends raw text (script, style) from I,
 * ignoring case, or N. */
static size_t
raw_text_end(const char *p, size_t n, size_t i, const char *name)
{
    size_t len = strlen(name);

    for (; i + 2 + len <= n; i++) {
        if (p[i] == '<' && p[i + 1] == '/' && name_is(p + i + 2, len, name) &&
            (i + 2 + len == n || is_space((unsigned char)p[i + 2 + len]) ||
             p[i + 2 + len] == '>' || p[i + 2 + len] == '/'))
            return i;
    }
    return n;
}

/* The offset of the first NEEDLE at or after I, or N. */
static size_t
find_str(const char *p, size_t n, size_t i, const char *needle)
{
    size_t len = strlen(needle);

    for (; i + len <= n; i++)
        if (memcmp(p + i, needle, len) == 0)
            return i;
    return n;
}

/*
 * Appends to LINKS the links of the HTML page P of N bytes, as written
 * (entities decoded, not resolved), and sets *BASE to the first <base
 * href>, or NULL; both are the caller's to free. It reads any bytes,
 * however malformed or cut short, as browsers do: comments and the insides
 * of <script> and <style> hold no tags, names are case-insensitive, values
 * are quoted with " or ' or not at all, and the first of two attributes of
 * one name counts. Returns 0 or TF_ENOMEM.
 */
static int
html_links(const char *p, size_t n, struct lc_strs *links, char **base)
{
    struct tf_buf val;
    size_t i = 0;
    int rc = 0;

    *base = NULL;
    tf_buf_init(&val, 0);
    while (rc == 0 && i < n) {
        const char *lt = memchr(p + i, '<', n - i);
        const char *want = NULL;
        bool got = false;
        bool is_base;
        size_t t0;
        size_t tlen;
        size_t k;

        if (lt == NULL)
            break;
        i = (size_t)(lt - p) + 1;
        if (i >= n)
            break;
        if (p[i] == '!' && i + 2 < n && p[i + 1] == '-' && p[i + 2] == '-') {
            /* A comment; "<!-->" and "<!--->" are empty ones. */
            i = find_str(p, n, i + 1, "-->");
            i = i < n ? i + 3 : n;
            continue;
        }
        if (p[i] == '!' || p[i] == '?' || p[i] == '/') {
            /* A doctype, a processing instruction or an end tag. */
            lt = memchr(p + i, '>', n - i);
            i = lt != NULL ? (size_t)(lt - p) + 1 : n;
            continue;
        }
        if (!is_alpha((unsigned char)p[i]))
            continue; /* a '<' in text */
        t0 = i;
        while (i < n && !is_space((unsigned char)p[i]) && p[i] != '>' &&
               p[i] != '/')
            i++;
        tlen = i - t0;
        for (k = 0; k < sizeof(link_attrs) / sizeof(link_attrs[0]); k++)
            if (name_is(p + t0, tlen, link_attrs[k].tag))
                want = link_attrs[k].attr;
        is_base = name_is(p + t0, tlen, "base");
        for (;;) {
            size_t a0;
            size_t alen;
            size_t v0 = 0;
            size_t vlen = 0;
            bool has_value = false;

            while (i < n && (is_space((unsigned char)p[i]) || p[i] == '/'))
                i++;
            if (i >= n)
                break;
            if (p[i] == '>') {
                i++;
                break;
            }
            a0 = i++; /* a name has one character at least, even '=' */
            while (i < n && !is_space((unsigned char)p[i]) && p[i] != '/' &&
                   p[i] != '>' && p[i] != '=')
                i++;
            alen = i - a0;
            while (i < n && is_space((unsigned char)p[i]))
                i++;
            if (i < n && p[i] == '=') {
                i++;
                while (i < n && is_space((unsigned char)p[i]))
                    i++;
                if (i < n && (p[i] == '"' || p[i] == '\'')) {
                    const char *q = memchr(p + i + 1, p[i], n - i - 1);

                    v0 = i + 1;
                    i = q != NULL ? (size_t)(q - p) : n;
                    vlen = i - v0;
                    if (i < n)
                        i++;
                } else {
                    v0 = i;
                    while (i < n && !is_space((unsigned char)p[i]) &&
                           p[i] != '>')
                        i++;
                    vlen = i - v0;
                }
                has_value = true;
            }
            if (!has_value || got || want == NULL ||
                !name_is(p + a0, alen, want))
                continue;
            got = true;
            rc = decode_entities(p + v0, vlen, &val);
            if (rc < 0)
                break;
            if (!is_base)
                rc = strs_addn(links, val.data != NULL ? (char *)val.data : "",
                               val.len);
            else if (*base == NULL)
                *base =
                    strndup(val.data != NULL ? (char *)val.data : "", val.len);
            if (is_base && *base == NULL)
                rc = TF_ENOMEM;
            if (rc < 0)
                break;
        }
        if (name_is(p + t0, tlen, "script"))
            i = raw_text_end(p, n, i, "script");
        else if (name_is(p + t0, tlen, "style"))
            i = raw_text_end(p, n, i, "style");
    }
    tf_buf_cleanup(&val);
    if (rc < 0) {
        free(*base);
        *base = NULL;
    }
    return rc;
}

/*
 * Appends to SUBS what a worker submits for the page PAGE (its key) read
 * from FINAL (its URL after redirects, or NULL: PAGE): "PAGE\tURL" for each
 * distinct link of BODY (N bytes), normalized, and "PAGE\tRAW\tERROR" for a
 * link that is dead already (no valid URL, a scheme other than http(s)).
 * Returns 0 or TF_ENOMEM.
 */
static int
page_links(const char *page, const char *final, const char *body, size_t n,
           struct lc_strs *subs)
{
    struct lc_strs links = {NULL, 0, 0};
    struct lc_strs keys = {NULL, 0, 0};
    struct lc_table seen = {NULL, 0, 0};
    const char *from = final != NULL ? final : page;
    char *rawbase = NULL;
    char *base = NULL;
    char why[LC_WHY];
    size_t i;
    size_t dummy;
    int rc;

    rc = html_links(body, n, &links, &rawbase);
    if (rc == 0 && rawbase != NULL) {
        rc = normalize_url(from, rawbase, strlen(rawbase), true, &base, why,
                           sizeof(why));
        if (rc == LC_URL_OK) {
            from = base;
        } else if (rc > 0) {
            free(base); /* a <base> that is no URL is no base */
            base = NULL;
            rc = 0;
        }
    }
    for (i = 0; rc == 0 && i < links.n; i++) {
        char *key = NULL;
        int k = normalize_url(from, links.v[i], strlen(links.v[i]), true, &key,
                              why, sizeof(why));

        if (k < 0) {
            rc = k;
            break;
        }
        if (k == LC_URL_IGNORE)
            continue;
        if (table_find(&seen, key, &dummy)) {
            free(key);
            continue;
        }
        rc = strs_add(&keys, key);
        if (rc == 0)
            rc = table_add(&seen, key, 0);
        if (rc == 0 && k == LC_URL_OK)
            rc = strs_printf(subs, "%s\t%s", page, key);
        else if (rc == 0)
            rc = strs_printf(subs, "%s\t%s\t%s", page, key, why);
    }
    table_cleanup(&seen);
    strs_cleanup(&keys);
    strs_cleanup(&links);
    free(rawbase);
    free(base);
    return rc;
}

/* Whether Content-Type CT names a page to parse for links. */
static bool
is_html(const char *ct)
{
    static const char *const types[] = {"text/html", "application/xhtml+xml",
                                        NULL};
    size_t i;

    while (*ct == ' ')
        ct++;
    for (i = 0; types[i] != NULL; i++) {
        size_t len = strlen(types[i]);

        if (strncasecmp(ct, types[i], len) == 0 &&
            (ct[len] == '\0' || ct[len] == ';' || ct[len] == ' '))
            return true;
    }
    return false;
}

/* ------------------------------------------------- tasks and results */

/* Appends one URL to a task. */
static int
task_add(struct tf_buf *task, char mode, const char *url)
{
    return tf_buf_printf(task, "%c %s\n", mode, url);
}

/*
 * Splits the task text P (LEN bytes, NUL-terminated, changed in place:
 * each URL ends with a NUL) into *XS, one per line, calloc'd (the caller
 * frees them). Returns 0, TF_EPROTO when a line is not "p URL" or "c URL",
 * or TF_ENOMEM.
 */
static int
task_parse(char *p, size_t len, struct lc_xfer **xs, size_t *n)
{
    size_t lines = 0;
    size_t i;
    char *line = p;
    char *end = p + len;

    *xs = NULL;
    *n = 0;
    for (i = 0; i < len; i++)
        if (p[i] == '\n')
            lines++;
    if (len > 0 && p[len - 1] != '\n')
        lines++;
    if (lines == 0)
        return 0;
    *xs = calloc(lines, sizeof(**xs));
    if (*xs == NULL)
        return TF_ENOMEM;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        struct lc_xfer *x = &(*xs)[*n];

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

/* Appends O as one result line: TAB-separated url, status, final url,
 * start (epoch us), time (us), size, redirects, method, parsed, host,
 * error; a newline. */
static int
outcome_encode(struct tf_buf *out, const struct lc_outcome *o)
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
        rc = tf_buf_puts(out, "\n");
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

/* Splits result line LINE (without its newline, changed in place: its
 * fields end with NULs) into O, whose strings point into LINE. Returns 0,
 * or TF_EPROTO when it is no result line. */
static int
outcome_decode(char *line, struct lc_outcome *o)
{
    char *f[LC_FIELDS];
    uint64_t status;
    uint64_t parsed;
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
        !parse_u64_field(f[8], &parsed) || parsed > 1)
        return TF_EPROTO;
    o->url = f[0];
    o->status = (long)status;
    o->final = f[2];
    o->method = f[7];
    o->parsed = parsed == 1;
    o->host = f[9];
    o->error = f[10];
    return 0;
}

/* ------------------------------------------------------------ workers */

static void
conn_destroy(struct lc_conn *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->neasy; i++)
        curl_easy_cleanup(c->easy[i]);
    free(c->easy);
    if (c->multi != NULL)
        curl_multi_cleanup(c->multi);
    table_cleanup(&c->hosts);
    strs_cleanup(&c->host_keys);
    free(c->next_us);
    free(c);
}

static struct lc_conn *
conn_create(void)
{
    struct lc_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->multi = curl_multi_init();
    if (c->multi == NULL) {
        conn_destroy(c);
        return NULL;
    }
    return c;
}

/*
 * A worker ends when its master passes it SIGINT, SIGTERM or SIGHUP to
 * stop the run, by their default action: transfers need no cleaning up.
 * A worker started in the background by a shell inherits SIGINT ignored,
 * so it would go on with transfers the master no longer waits for; an
 * ignored one is set back to the default (a handled one is left alone).
 */
static void
follow_end_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    size_t i;

    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
            signal(sigs[i], SIG_DFL);
}

/*
 * Takes an idle libcurl state of this process, or makes one. The state
 * from init() is inherited by forked workers, so a list made by another
 * process is not this one's to use or free: it is dropped (in practice it
 * is empty, as the master runs no tasks).
 */
static struct lc_conn *
conn_take(struct lc_state *st)
{
    struct lc_conn *c;

    pthread_mutex_lock(&st->lock);
    if (st->conn_pid != getpid()) {
        st->conn_pid = getpid();
        st->idle = NULL;
        follow_end_signals();
    }
    c = st->idle;
    if (c != NULL)
        st->idle = c->next;
    pthread_mutex_unlock(&st->lock);
    return c != NULL ? c : conn_create();
}

static void
conn_give(struct lc_state *st, struct lc_conn *c)
{
    pthread_mutex_lock(&st->lock);
    c->next = st->idle;
    st->idle = c;
    pthread_mutex_unlock(&st->lock);
}

static CURL *
conn_easy(struct lc_conn *c)
{
    if (c->neasy > 0)
        return c->easy[--c->neasy];
    return curl_easy_init();
}

/* Keeps E for a later transfer (its settings reset). */
static void
conn_keep_easy(struct lc_conn *c, CURL *e)
{
    curl_easy_reset(e);
    if (c->neasy == c->capeasy) {
        size_t cap = c->capeasy == 0 ? 16 : c->capeasy * 2;
        CURL **v = realloc(c->easy, cap * sizeof(*v));

        if (v == NULL) {
            curl_easy_cleanup(e);
            return;
        }
        c->easy = v;
        c->capeasy = cap;
    }
    c->easy[c->neasy++] = e;
}

/* The slot of URL's host in C's table of next start times, made if need
 * be; -1 when out of memory. */
static ssize_t
conn_host(struct lc_conn *c, const char *url)
{
    char key[320];
    const char *host;
    size_t len;
    unsigned port;
    size_t idx;
    uint64_t *v;

    if (!url_hostport(url, &host, &len, &port)) {
        host = url;
        len = 0;
        port = 0;
    }
    snprintf(key, sizeof(key), "%.*s:%u", (int)(len < 300 ? len : 300), host,
             port);
    if (table_find(&c->hosts, key, &idx))
        return (ssize_t)idx;
    v = realloc(c->next_us, (c->host_keys.n + 1) * sizeof(*v));
    if (v == NULL)
        return -1;
    c->next_us = v;
    idx = c->host_keys.n;
    if (strs_addn(&c->host_keys, key, strlen(key)) < 0)
        return -1;
    if (table_add(&c->hosts, c->host_keys.v[idx], idx) < 0) {
        free(c->host_keys.v[idx]);
        c->host_keys.n--;
        return -1;
    }
    c->next_us[idx] = 0;
    return (ssize_t)idx;
}

/* libcurl's write callback: keeps what a page needs, ends the rest. */
static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct lc_xfer *x = arg;
    size_t n = size * nmemb;
    size_t room;
    char *ct = NULL;

    if (n == 0)
        return 0;
    if (x->mode == 'c' || x->body.len >= x->st->max_body) {
        /* A check needs the headers alone. */
        x->stopped = true;
        return 0;
    }
    if (x->body.len == 0 &&
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
        ct != NULL && !is_html(ct)) {
        x->stopped = true; /* not a page to parse: do not read it */
        return 0;
    }
    room = (size_t)(x->st->max_body - x->body.len);
    if (tf_buf_append(&x->body, p, n < room ? n : room) < 0) {
        x->oom = true;
        return 0;
    }
    if (n > room) {
        x->stopped = true;
        return 0;
    }
    return n;
}

static void
xfer_fail(struct lc_xfer *x, const char *why)
{
    snprintf(x->error, sizeof(x->error), "%s", why);
    x->done = true;
    if (!x->started) {
        x->start_us = epoch_us();
        x->t0_us = mono_us();
        x->started = true;
    }
    x->time_us = mono_us() - x->t0_us;
}

/* Starts X's next request on C. A failure to start is X's error. */
static void
xfer_start(struct lc_conn *c, const struct lc_state *st, struct lc_xfer *x,
           uint64_t now)
{
    CURLcode cc;
    CURLMcode mc;
    CURL *e;
    long left_ms;

    e = conn_easy(c);
    if (e == NULL) {
        xfer_fail(x, "cannot start a transfer: out of memory");
        return;
    }
    if (!x->started) {
        x->start_us = epoch_us();
        x->t0_us = now;
        x->started = true;
    }
    /* --max-time covers the HEAD and the GET that may follow it. */
    left_ms = st->max_time_ms - (long)((now - x->t0_us) / 1000);
    if (left_ms < 1)
        left_ms = 1;
    x->stopped = false;
    tf_buf_reset(&x->body);
    x->easy = e;
    cc = curl_easy_setopt(e, CURLOPT_URL, x->url);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)st->max_redirs);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                              st->connect_timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_USERAGENT, st->user_agent);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
    if (cc == CURLE_OK && x->head)
        cc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (cc != CURLE_OK) {
        x->easy = NULL;
        conn_keep_easy(c, e);
        xfer_fail(x, curl_easy_strerror(cc));
        return;
    }
    mc = curl_multi_add_handle(c->multi, e);
    if (mc != CURLM_OK) {
        x->easy = NULL;
        conn_keep_easy(c, e);
        xfer_fail(x, curl_multi_strerror(mc));
    }
}

/* Reads the outcome of X's request, which ended with CODE. Returns 1 when
 * X is to run again as a GET (the server refused HEAD), else 0 with X done,
 * its page's links submitted to RES when it was parsed; or TF_ENOMEM. */
static int
xfer_finish(struct lc_xfer *x, CURLcode code, struct tf_result *res)
{
    struct lc_strs subs = {NULL, 0, 0};
    char why[LC_WHY];
    char *eff = NULL;
    char *ct = NULL;
    long status = 0;
    long redirs = 0;
    size_t i;
    int rc = 0;

    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff);
    curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &redirs);
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
    if (code == CURLE_WRITE_ERROR && x->stopped && !x->oom)
        code = CURLE_OK; /* cut off on purpose */
    if (x->head && code == CURLE_OK && (status == 405 || status == 501)) {
        x->head = false;
        return 1;
    }
    x->done = true;
    x->status = status;
    x->redirects = redirs;
    x->time_us = mono_us() - x->t0_us;
    if (eff != NULL) {
        rc = normalize_url(NULL, eff, strlen(eff), false, &x->final, why,
                           sizeof(why));
        if (rc < 0)
            return rc;
        rc = 0;
    }
    if (code != CURLE_OK) {
        snprintf(x->error, sizeof(x->error), "%s",
                 x->oom ? "out of memory" : curl_easy_strerror(code));
        return 0;
    }
    if (x->mode != 'p' || status < 200 || status > 299 ||
        (ct != NULL && !is_html(ct)))
        return 0;
    x->parsed = true;
    rc = page_links(x->url, eff,
                    x->body.data != NULL ? (char *)x->body.data : "",
                    x->body.len, &subs);
    for (i = 0; rc == 0 && i < subs.n; i++)
        rc = tf_result_submit(res, subs.v[i], strlen(subs.v[i]));
    strs_cleanup(&subs);
    return rc;
}

static int
xfer_report(const struct lc_xfer *x, const struct tf_task *task,
            struct tf_result *res)
{
    struct lc_outcome o;

    o.url = x->url;
    o.status = x->status;
    o.final = x->final != NULL ? x->final : x->url;
    o.start_us = x->start_us;
    o.time_us = x->time_us;
    o.size = x->mode == 'p' ? x->body.len : 0;
    o.redirects = x->redirects < 0 ? 0 : (uint64_t)x->redirects;
    o.method = x->head ? "HEAD" : "GET";
    o.parsed = x->parsed;
    o.host = task->host != NULL ? task->host : "";
    o.error = x->error;
    return outcome_encode(&res->out, &o);
}

/*
 * Runs the N transfers XS on C, --concurrency at once, keeping to --rate,
 * and reports each to RES as it ends, whatever happens to it. Returns 0, or
 * TF_ENOMEM.
 */
static int
run_batch(const struct lc_state *st, struct lc_conn *c, struct lc_xfer *xs,
          size_t n, const struct tf_task *task, struct tf_result *res)
{
    /* Waiting transfers, first in first out; each is there once at most. */
    size_t *queue = malloc((n > 0 ? n : 1) * sizeof(*queue));
    size_t qhead = 0;
    size_t qlen = 0;
    size_t active = 0;
    size_t ndone = 0;
    uint64_t interval_us = 0;
    uint64_t deadline = 0;
    size_t i;
    int rc = 0;

    if (queue == NULL)
        return TF_ENOMEM;
    if (st->rate > 0)
        interval_us = (uint64_t)((task->nworkers > 0 ? task->nworkers : 1) /
                                 st->rate * 1e6);
    if (task->time_limit_us > 0)
        deadline = mono_us() + task->time_limit_us;
    for (i = 0; i < n; i++) {
        xs[i].st = st;
        xs[i].head = xs[i].mode == 'c';
        tf_buf_init(&xs[i].body, 0);
        queue[qlen++] = i;
    }
    while (rc == 0 && ndone < n) {
        uint64_t now = mono_us();
        uint64_t wait_us = 1000000;
        size_t waiting = qlen;
        size_t finished = 0;
        int running = 0;
        CURLMcode mc;
        long timeout_ms;

        if (deadline > 0 && now >= deadline)
            break;
        /* Start what may start, in order; a host that must wait lets the
         * others go first. */
        while (waiting-- > 0 && active < st->concurrency) {
            struct lc_xfer *x = &xs[queue[qhead]];

            qhead = (qhead + 1) % n;
            qlen--;
            if (interval_us > 0) {
                ssize_t h = conn_host(c, x->url);

                if (h >= 0 && c->next_us[h] > now) {
                    if (c->next_us[h] - now < wait_us)
                        wait_us = c->next_us[h] - now;
                    queue[(qhead + qlen) % n] = (size_t)(x - xs);
                    qlen++;
                    continue;
                }
                if (h >= 0)
                    c->next_us[h] = now + interval_us;
            }
            xfer_start(c, st, x, now);
            if (x->done) {
                ndone++;
                rc = xfer_report(x, task, res);
                if (rc < 0)
                    break;
            } else {
                active++;
            }
        }
        if (rc < 0 || ndone == n)
            break;
        mc = curl_multi_perform(c->multi, &running);
        if (mc != CURLM_OK)
            break;
        for (;;) {
            int left = 0;
            CURLMsg *msg = curl_multi_info_read(c->multi, &left);
            struct lc_xfer *x = NULL;
            int r;

            if (msg == NULL)
                break;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            r = xfer_finish(x, msg->data.result, res);
            curl_multi_remove_handle(c->multi, x->easy);
            conn_keep_easy(c, x->easy);
            x->easy = NULL;
            active--;
            finished++;
            if (r == 1) {
                queue[(qhead + qlen) % n] = (size_t)(x - xs);
                qlen++;
                continue;
            }
            if (r == 0) {
                ndone++;
                r = xfer_report(x, task, res);
            }
            if (r < 0) {
                rc = r;
                break;
            }
        }
        if (rc < 0 || ndone == n || finished > 0)
            continue;
        timeout_ms = (long)((wait_us + 999) / 1000);
        if (deadline > 0 && (deadline - now) / 1000 + 1 < (uint64_t)timeout_ms)
            timeout_ms = (long)((deadline - now) / 1000 + 1);
        mc = curl_multi_poll(c->multi, NULL, 0, (int)timeout_ms, NULL);
        if (mc != CURLM_OK)
            break;
    }
    /* What is left was stopped by the task's time limit or by libcurl
     * failing: it is still reported, as dead. */
    for (i = 0; i < n; i++) {
        struct lc_xfer *x = &xs[i];

        if (x->easy != NULL) {
            curl_multi_remove_handle(c->multi, x->easy);
            conn_keep_easy(c, x->easy);
            x->easy = NULL;
        }
        if (rc == 0 && !x->done) {
            xfer_fail(x, deadline > 0 && mono_us() >= deadline
                             ? "the task's time limit passed"
                             : "libcurl failed");
            rc = xfer_report(x, task, res);
        }
        tf_buf_cleanup(&x->body);
        free(x->final);
        x->final = NULL;
    }
    free(queue);
    return rc;
}

/* The task function: checks a batch of URLs. */
static int
lc_run(void *arg, const struct tf_task *task, struct tf_result *res)
{
    struct lc_state *st = arg;
    struct lc_xfer *xs = NULL;
    struct lc_conn *c;
    struct tf_buf copy;
    size_t n = 0;
    int rc;

    tf_buf_init(&copy, 0);
    rc = tf_buf_append(&copy, task->len > 0 ? task->data : "", task->len);
    if (rc == 0)
        rc = task_parse(copy.len > 0 ? (char *)copy.data : "", copy.len, &xs,
                        &n);
    if (rc == TF_EPROTO) {
        /* The master and this worker disagree: the task's URLs are dead
         * with this error, and the run goes on. */
        res->status = 1;
        tf_buf_printf(&res->err, "linkcheck: task %" PRIu64 " is malformed",
                      task->id);
        rc = 0;
        goto out;
    }
    if (rc < 0 || n == 0)
        goto out;
    c = conn_take(st);
    if (c == NULL) {
        res->status = 1;
        tf_buf_printf(&res->err, "linkcheck: cannot start libcurl");
        goto out;
    }
    rc = run_batch(st, c, xs, n, task, res);
    conn_give(st, c);
out:
    free(xs);
    tf_buf_cleanup(&copy);
    return rc;
}

/* ------------------------------------------------------------- master */

static bool
rec_is_dead(const struct lc_rec *rec)
{
    return rec->error != NULL || rec->status >= 400;
}

static void
run_init(struct lc_run *r, const struct lc_state *st, int nworkers)
{
    memset(r, 0, sizeof(*r));
    r->st = st;
    r->nworkers = nworkers > 0 ? nworkers : 1;
    r->log_fd = -1;
    tf_buf_init(&r->scratch, 0);
    if (gethostname(r->master_host, sizeof(r->master_host) - 1) < 0)
        snprintf(r->master_host, sizeof(r->master_host), "localhost");
}

static void
run_cleanup(struct lc_run *r)
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
    table_cleanup(&r->index);
    free(r->queue);
    for (i = 0; i < r->nbatches; i++)
        free(r->batches[i].recs);
    free(r->batches);
    if (r->log_fd >= 0)
        close(r->log_fd);
    tf_buf_cleanup(&r->scratch);
    memset(r, 0, sizeof(*r));
    r->log_fd = -1;
}

/* Adds the record of URL (taking ownership; freed on failure) at DEPTH and
 * sets *OUT to its index. Returns 0 or TF_ENOMEM. */
static int
rec_add(struct lc_run *r, char *url, uint64_t depth, size_t *out)
{
    struct lc_rec *rec;
    int rc;

    if (url == NULL)
        return TF_ENOMEM;
    if (r->nrecs == r->caprecs) {
        size_t cap = r->caprecs == 0 ? 256 : r->caprecs * 2;
        struct lc_rec *v = realloc(r->recs, cap * sizeof(*v));

        if (v == NULL) {
            free(url);
            return TF_ENOMEM;
        }
        r->recs = v;
        r->caprecs = cap;
    }
    rc = table_add(&r->index, url, r->nrecs);
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

/* Records that record I was found on REF (a record index or a line). */
static int
rec_ref(struct lc_run *r, size_t i, uint64_t ref)
{
    struct lc_rec *rec = &r->recs[i];
    size_t k;

    for (k = 0; k < rec->nrefs; k++)
        if (rec->refs[k] == ref)
            return 0; /* a page fetched twice, or a line counted twice */
    rec->ref_count++;
    if (rec->nrefs == LC_MAX_REFS)
        return 0;
    if (rec->refs == NULL) {
        rec->refs = malloc(LC_MAX_REFS * sizeof(*rec->refs));
        if (rec->refs == NULL)
            return TF_ENOMEM;
    }
    rec->refs[rec->nrefs++] = ref;
    return 0;
}

static int
queue_push(struct lc_run *r, size_t i)
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
static int
write_all(int fd, const void *p, size_t n)
{
    const char *s = p;

    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return TF_ESYS;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * Appends one joblog line, as GNU Parallel writes it: Seq, Host,
 * Starttime (epoch seconds, 3 decimals), JobRuntime (seconds, 3 decimals,
 * in 10 columns), Send (0), Receive (bytes), Exitval (1 for a dead link),
 * Signal (0), Command (the URL).
 */
static int
joblog_format(struct tf_buf *buf, uint64_t seq, const char *host,
              uint64_t start_us, uint64_t time_us, uint64_t size, bool dead,
              const char *url)
{
    uint64_t ms = (start_us + 500) / 1000;
    int rc;

    rc = tf_buf_printf(buf, "%" PRIu64 "\t", seq);
    if (rc == 0)
        rc = put_field(buf, host);
    if (rc == 0)
        rc = tf_buf_printf(
            buf, "\t%" PRIu64 ".%03u\t%10.3f\t0\t%" PRIu64 "\t%d\t0\t",
            ms / 1000, (unsigned)(ms % 1000), (double)time_us / 1e6, size,
            dead ? 1 : 0);
    if (rc == 0)
        rc = put_field(buf, url);
    if (rc == 0)
        rc = tf_buf_puts(buf, "\n");
    return rc;
}

/* Writes the joblog line of finished record I, with one write(). */
static int
joblog_rec(struct lc_run *r, size_t i)
{
    const struct lc_rec *rec = &r->recs[i];
    int rc;

    if (r->log_fd < 0)
        return 0;
    tf_buf_reset(&r->scratch);
    rc = joblog_format(
        &r->scratch, ++r->seq, rec->host != NULL ? rec->host : r->master_host,
        rec->start_us, rec->time_us, rec->size, rec_is_dead(rec), rec->url);
    if (rc < 0)
        return rc;
    rc = write_all(r->log_fd, r->scratch.data, r->scratch.len);
    if (rc < 0)
        snprintf(r->why, sizeof(r->why), "%s: %s", r->st->joblog,
                 strerror(errno));
    return rc;
}

/* Ends record I as dead with WHY, checked by no worker. */
static int
rec_dead(struct lc_run *r, size_t i, const char *why)
{
    struct lc_rec *rec = &r->recs[i];

    free(rec->error);
    rec->error = strdup(why[0] != '\0' ? why : "failed");
    if (rec->error == NULL)
        return TF_ENOMEM;
    rec->done = true;
    if (rec->start_us == 0)
        rec->start_us = epoch_us();
    return joblog_rec(r, i);
}

/* Fills record I from a worker's outcome O. */
static int
rec_fill(struct lc_run *r, size_t i, const struct lc_outcome *o)
{
    struct lc_rec *rec = &r->recs[i];

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
    return joblog_rec(r, i);
}

/* Whether a URL found at DEPTH is a page to parse; counts it if so. */
static char
choose_mode(struct lc_run *r, const char *url, uint64_t depth)
{
    const struct lc_state *st = r->st;

    if (st->start != NULL && depth <= st->max_depth &&
        r->pages_scheduled < st->max_pages && host_allowed(st, url)) {
        r->pages_scheduled++;
        return 'p';
    }
    return 'c';
}

/*
 * Finds the record of KEY, or adds it at DEPTH: dead at once when DEAD (its
 * error) is not NULL, else queued for a worker. Sets *OUT to its index.
 */
static int
rec_get(struct lc_run *r, const char *key, uint64_t depth, const char *dead,
        size_t *out)
{
    int rc;

    if (table_find(&r->index, key, out))
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

/*
 * The submit hook: a link a worker found, "PAGE\tURL" or
 * "PAGE\tRAW\tERROR". A URL met for the first time is recorded and queued;
 * every one records where it was found. The work stays here (return 0):
 * `next` hands it out.
 */
static int
lc_submit(void *arg, struct tf_pool *pool, uint64_t parent, const void *data,
          size_t len)
{
    struct lc_run *r = arg;
    char *page;
    char *url;
    char *why;
    size_t pi;
    size_t i;
    int rc;

    (void)pool;
    (void)parent;
    tf_buf_reset(&r->scratch);
    rc = tf_buf_append(&r->scratch, data, len);
    if (rc < 0)
        return rc;
    page = (char *)r->scratch.data;
    if (page == NULL || memchr(page, '\0', len) != NULL ||
        strpbrk(page, "\r\n") != NULL)
        return 0; /* not from our worker: never trust the wire */
    url = strchr(page, '\t');
    if (url == NULL)
        return 0;
    *url++ = '\0';
    why = strchr(url, '\t');
    if (why != NULL)
        *why++ = '\0';
    if (url[0] == '\0' || !table_find(&r->index, page, &pi))
        return 0;
    rc = rec_get(r, url, r->recs[pi].depth + 1, why != NULL ? why : NULL, &i);
    if (rc < 0)
        return rc;
    return rec_ref(r, i, pi);
}

/* Hands out the next batch of the frontier, or TF_LATER when it is empty
 * (pages still being fetched may add to it). */
static int
lc_next(void *arg, uint64_t index, struct tf_buf *task)
{
    struct lc_run *r = arg;
    size_t avail = r->qtail - r->qhead;
    size_t want;
    struct lc_batch *b;
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
        struct lc_batch *v = realloc(r->batches, nb * sizeof(*v));

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
        rc = task_add(task, r->recs[i].mode, r->recs[i].url);
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

/* The result of a batch: each line fills its URL's record. A URL the
 * worker did not report, or all of them when the worker failed, is dead. */
static int
lc_done(void *arg, uint64_t index, const struct tf_result *res)
{
    struct lc_run *r = arg;
    struct lc_batch *b = index < r->nbatches ? &r->batches[index] : NULL;
    const char *p = res->out.len > 0 ? (const char *)res->out.data : "";
    const char *end = p + res->out.len;
    char why[LC_WHY];
    size_t k;
    int rc = 0;

    while (res->status == 0 && rc == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct lc_outcome o;
        size_t i;

        if (nl == NULL)
            nl = end;
        tf_buf_reset(&r->scratch);
        rc = tf_buf_append(&r->scratch, p, (size_t)(nl - p));
        p = nl + 1;
        if (rc < 0 || r->scratch.len == 0 ||
            memchr(r->scratch.data, '\0', r->scratch.len) != NULL)
            continue;
        if (outcome_decode((char *)r->scratch.data, &o) < 0 ||
            !table_find(&r->index, o.url, &i) || r->recs[i].done ||
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
url_line(struct lc_run *r, const char *path, uint64_t lineno, const char *line,
         size_t n, struct tf_error *err)
{
    char why[LC_WHY];
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
    rc = normalize_url(NULL, line, n, false, &key, why, sizeof(why));
    if (rc < 0)
        return tf_error_set(err, rc, "out of memory");
    rc = rec_get(r, key, 0, rc == LC_URL_DEAD ? why : NULL, &i);
    free(key);
    if (rc == 0)
        rc = rec_ref(r, i, lineno);
    if (rc < 0)
        return tf_error_set(err, rc, "out of memory");
    return 0;
}

/*
 * Reads the URLs of PATH ("-": standard input), one a line; blank lines
 * and those starting with '#' are skipped. Every line is read before any
 * is checked, so a bad file checks nothing. Returns 0, or TF_EINPUT naming
 * the file and line: it cannot be read, or a line holds a NUL byte or is
 * longer than 64 KiB.
 */
static int
read_urls(struct lc_run *r, const char *path, struct tf_error *err)
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
    tf_buf_init(&line, LC_MAX_LINE);
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
                              "%s:%" PRIu64 ": line longer than %d bytes", path,
                              lineno + 1, LC_MAX_LINE);
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

/* Opens the joblog, writes its header and the lines of the URLs that were
 * dead before any transfer. */
static int
joblog_open(struct lc_run *r, const char *path, struct tf_error *err)
{
    static const char header[] = "Seq\tHost\tStarttime\tJobRuntime\tSend\t"
                                 "Receive\tExitval\tSignal\tCommand\n";
    size_t i;
    int rc;

    r->log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (r->log_fd < 0)
        return tf_error_set(err, TF_EUSAGE, "%s: %s", path, strerror(errno));
    if (write_all(r->log_fd, header, sizeof(header) - 1) < 0)
        return tf_error_set(err, TF_ESYS, "%s: %s", path, strerror(errno));
    for (i = 0; i < r->nrecs; i++) {
        if (!r->recs[i].done)
            continue;
        rc = joblog_rec(r, i);
        if (rc < 0)
            return tf_error_set(err, rc, "%s", r->why);
    }
    return 0;
}

/* A JSON string of S; a byte that is not UTF-8 becomes U+FFFD, as jansson
 * takes UTF-8 alone. NULL when out of memory. */
static json_t *
jstr(const char *s)
{
    struct tf_buf b;
    json_t *j = json_string(s);
    const unsigned char *p = (const unsigned char *)s;

    if (j != NULL)
        return j;
    tf_buf_init(&b, 0);
    while (*p != '\0') {
        size_t len = 0;
        size_t k;
        unsigned long cp;

        if (*p < 0x80)
            len = 1;
        else if (*p >= 0xC2 && *p <= 0xDF)
            len = 2;
        else if (*p >= 0xE0 && *p <= 0xEF)
            len = 3;
        else if (*p >= 0xF0 && *p <= 0xF4)
            len = 4;
        cp = len == 1 ? *p : (unsigned long)(*p & (0x7F >> len));
        for (k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80)
                break;
            cp = cp << 6 | (p[k] & 0x3F);
        }
        if (len == 0 || k < len || (len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            put_utf8(&b, 0xFFFD);
            p++;
            continue;
        }
        tf_buf_append(&b, p, len);
        p += len;
    }
    j = json_string(b.data != NULL ? (char *)b.data : "");
    tf_buf_cleanup(&b);
    return j;
}

/* The text of where record REC was found: REF is a record index in a
 * crawl, a line of FILE else. */
static const char *
ref_text(const struct lc_run *r, uint64_t ref, char *buf, size_t size)
{
    if (r->st->file == NULL)
        return ref < r->nrecs ? r->recs[ref].url : "";
    snprintf(buf, size, "%s:%" PRIu64, r->st->file, ref);
    return buf;
}

/* Writes REC as one JSON line. */
static int
jsonl_rec(const struct lc_run *r, const struct lc_rec *rec, FILE *out)
{
    json_t *o = json_object();
    json_t *refs = json_array();
    char buf[4096];
    char *s = NULL;
    size_t k;
    int rc = 0;

    if (o == NULL || refs == NULL) {
        json_decref(o);
        json_decref(refs);
        return TF_ENOMEM;
    }
    for (k = 0; rc == 0 && k < rec->nrefs; k++)
        rc = json_array_append_new(
            refs, jstr(ref_text(r, rec->refs[k], buf, sizeof(buf))));
    if (rc == 0)
        rc = json_object_set_new(o, "url", jstr(rec->url));
    if (rc == 0)
        rc = json_object_set_new(o, "ok", json_boolean(!rec_is_dead(rec)));
    if (rc == 0)
        rc = json_object_set_new(o, "status", json_integer(rec->status));
    if (rc == 0)
        rc = json_object_set_new(
            o, "final_url", jstr(rec->final != NULL ? rec->final : rec->url));
    if (rc == 0)
        rc = json_object_set_new(
            o, "time", json_real((double)((rec->time_us + 500) / 1000) / 1e3));
    if (rc == 0)
        rc =
            json_object_set_new(o, "size", json_integer((json_int_t)rec->size));
    if (rc == 0)
        rc = json_object_set_new(
            o, "error", rec->error != NULL ? jstr(rec->error) : json_null());
    if (rc == 0)
        rc = json_object_set_new(o, "redirects",
                                 json_integer((json_int_t)rec->redirects));
    if (rc == 0)
        rc = json_object_set_new(
            o, "method",
            rec->method[0] != '\0' ? json_string(rec->method) : json_null());
    if (rc == 0)
        rc = json_object_set_new(o, "parsed", json_boolean(rec->parsed));
    if (rc == 0)
        rc = json_object_set_new(o, "depth",
                                 json_integer((json_int_t)rec->depth));
    if (rc == 0) {
        rc = json_object_set_new(o, "found_on", refs);
        refs = NULL;
    }
    if (rc == 0)
        rc = json_object_set_new(o, "found_on_count",
                                 json_integer((json_int_t)rec->ref_count));
    if (rc == 0)
        s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(refs);
    json_decref(o);
    if (s == NULL)
        return TF_ENOMEM;
    if (fputs(s, out) == EOF || fputc('\n', out) == EOF)
        rc = TF_ESYS;
    free(s);
    return rc;
}

/* Writes REC as a line of the table, and under a dead link the pages it
 * was found on. */
static int
table_rec(const struct lc_run *r, const struct lc_rec *rec, FILE *out)
{
    bool dead = rec_is_dead(rec);
    char code[24];
    char buf[4096];
    size_t k;

    if (rec->status > 0)
        snprintf(code, sizeof(code), "%ld", rec->status);
    else
        snprintf(code, sizeof(code), "---");
    fprintf(out, "%-6s %4s %8.3f %9" PRIu64 "  %s", dead ? "dead" : "ok", code,
            (double)rec->time_us / 1e6, rec->size, rec->url);
    if (rec->final != NULL && rec->final[0] != '\0' &&
        strcmp(rec->final, rec->url) != 0)
        fprintf(out, "  -> %s", rec->final);
    if (rec->error != NULL)
        fprintf(out, "  (%s)", rec->error);
    fputc('\n', out);
    for (k = 0; dead && k < rec->nrefs && k < LC_TABLE_REFS; k++)
        fprintf(out, "      found on %s\n",
                ref_text(r, rec->refs[k], buf, sizeof(buf)));
    if (dead && rec->ref_count > k)
        fprintf(out, "      ... and %" PRIu64 " more\n", rec->ref_count - k);
    return ferror(out) ? TF_ESYS : 0;
}

static int
cmp_rec(const void *a, const void *b)
{
    const struct lc_rec *const *x = a;
    const struct lc_rec *const *y = b;

    return strcmp((*x)->url, (*y)->url);
}

/* Writes the report of R to OUT, sorted by URL (byte order), and counts the
 * dead links in *NDEAD and the parsed pages in *NPARSED. Returns 0,
 * TF_ENOMEM or TF_ESYS when OUT cannot be written. */
static int
report(const struct lc_run *r, FILE *out, size_t *ndead, size_t *nparsed)
{
    const struct lc_rec **v;
    size_t i;
    int rc = 0;

    *ndead = 0;
    *nparsed = 0;
    v = malloc((r->nrecs > 0 ? r->nrecs : 1) * sizeof(*v));
    if (v == NULL)
        return TF_ENOMEM;
    for (i = 0; i < r->nrecs; i++) {
        v[i] = &r->recs[i];
        *ndead += rec_is_dead(v[i]) ? 1 : 0;
        *nparsed += v[i]->parsed ? 1 : 0;
    }
    qsort(v, r->nrecs, sizeof(*v), cmp_rec);
    if (r->st->format == LC_TABLE &&
        fprintf(out, "%-6s %4s %8s %9s  %s\n", "RESULT", "CODE", "TIME_S",
                "BYTES", "URL") < 0)
        rc = TF_ESYS;
    for (i = 0; rc == 0 && i < r->nrecs; i++) {
        if (r->st->dead_only && !rec_is_dead(v[i]))
            continue;
        rc = r->st->format == LC_JSONL ? jsonl_rec(r, v[i], out)
                                       : table_rec(r, v[i], out);
    }
    if (rc == 0 && (fflush(out) == EOF || ferror(out)))
        rc = TF_ESYS;
    free(v);
    return rc;
}

static int
lc_master(void *state, struct tf_pool *pool, struct tf_error *err)
{
    struct lc_state *st = state;
    uint64_t t0 = mono_us();
    struct lc_run r;
    size_t ndead = 0;
    int stopped = 0;
    size_t nparsed = 0;
    size_t i;
    double secs;
    int rc;

    run_init(&r, st, tf_pool_nworkers(pool));
    if (st->file != NULL) {
        rc = read_urls(&r, st->file, err);
    } else {
        rc = rec_get(&r, st->start, 0, NULL, &i);
        if (rc < 0)
            tf_error_set(err, rc, "out of memory");
    }
    if (rc == 0 && st->joblog != NULL)
        rc = joblog_open(&r, st->joblog, err);
    if (rc < 0)
        goto out;
    tf_pool_on_submit(pool, lc_submit, &r);
    rc = tf_pool_run(pool, tf_job_linkcheck.name, lc_next, &r, lc_done, &r,
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
    rc = report(&r, stdout, &ndead, &nparsed);
    if (rc < 0) {
        tf_error_set(err, rc, "cannot write the report to stdout");
        goto out;
    }
    fprintf(stderr,
            "taskfarm: linkcheck: %zu URLs, %zu pages parsed, %zu dead, "
            "%.3f s, %d workers (%s), %.0f URLs/s\n",
            r.nrecs, nparsed, ndead, secs, tf_pool_nworkers(pool),
            tf_pool_backend(pool), secs > 0 ? (double)r.nrecs / secs : 0.0);
    rc = stopped != 0 ? stopped : ndead > 0 ? 1 : 0;
out:
    run_cleanup(&r);
    return rc;
}

/* ------------------------------------------------------------ options */

/* Parses --OPT's value S as a whole number from MIN to MAX. */
static int
opt_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
        uint64_t *out, struct tf_error *err)
{
    uint64_t v;

    if (!parse_u64_field(s, &v) || v < min || v > max)
        return tf_error_set(err, TF_EUSAGE,
                        "--%s: '%s' is not a whole number from %" PRIu64
                        " to %" PRIu64,
                        opt, s, min, max);
    *out = v;
    return 0;
}

/* Parses --OPT's value S as a number of bytes with an optional suffix k,
 * M or G (powers of 1024), at most 4G. */
static int
opt_bytes(const char *opt, const char *s, uint64_t *out, struct tf_error *err)
{
    const uint64_t max = (uint64_t)4 << 30;
    char *end = NULL;
    uint64_t v;
    uint64_t mult = 1;

    errno = 0;
    v = is_digit((unsigned char)s[0]) ? strtoull(s, &end, 10) : 0;
    if (end != NULL && errno == 0) {
        if (*end == 'k' || *end == 'K')
            mult = (uint64_t)1 << 10;
        else if (*end == 'M' || *end == 'm')
            mult = (uint64_t)1 << 20;
        else if (*end == 'G' || *end == 'g')
            mult = (uint64_t)1 << 30;
        if (mult > 1)
            end++;
    }
    if (end == NULL || errno != 0 || *end != '\0' || v > max / mult)
        return tf_error_set(err, TF_EUSAGE,
                        "--%s: '%s' is not a size in bytes (like 1M; at most "
                        "4G)",
                        opt, s);
    *out = v * mult;
    return 0;
}

/* Parses --OPT's value S as seconds (decimals allowed) from MIN, at most a
 * day, into milliseconds, or into *RATE as it is when RATE is not NULL. */
static int
opt_secs(const char *opt, const char *s, double min, long *ms, double *rate,
         struct tf_error *err)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = (is_digit((unsigned char)s[0]) || s[0] == '.') ? strtod(s, &end) : -1;
    if (end == NULL || *end != '\0' || errno != 0 || !isfinite(v) || v < min ||
        v > 86400 || (min == 0 && rate == NULL && v == 0))
        return tf_error_set(err, TF_EUSAGE,
                        "--%s: '%s' is not a number %s %g to 86400", opt, s,
                        rate != NULL ? "from" : "of seconds from", min);
    if (rate != NULL) {
        *rate = v;
    } else {
        *ms = (long)llround(v * 1000);
        if (*ms < 1)
            *ms = 1;
    }
    return 0;
}

/* Parses --allow-host LIST into ST->allow, after the start's host. */
static int
opt_hosts(struct lc_state *st, const char *list, struct tf_error *err)
{
    const char *p = list;

    for (;;) {
        size_t len = strcspn(p, ",");
        struct lc_hostport *v;
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
            return tf_error_set(err, TF_EUSAGE,
                            "--allow-host: '%.*s' is not a host or host:port",
                            (int)len, p);
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
opt_crawl(struct lc_state *st, const char *url, struct tf_error *err)
{
    char why[LC_WHY];
    const char *host;
    size_t len;
    unsigned port;
    int rc;

    rc = normalize_url(NULL, url, strlen(url), false, &st->start, why,
                       sizeof(why));
    if (rc < 0)
        return tf_error_set(err, rc, "out of memory");
    if (rc != LC_URL_OK)
        return tf_error_set(err, TF_EUSAGE,
                        "--crawl: '%s' is not an http or https URL (%s)", url,
                        why);
    url_hostport(st->start, &host, &len, &port);
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
    struct lc_state *st = state;
    size_t i;

    if (st == NULL)
        return;
    if (st->lock_ready) {
        if (st->conn_pid == getpid()) {
            while (st->idle != NULL) {
                struct lc_conn *c = st->idle;

                st->idle = c->next;
                conn_destroy(c);
            }
        }
        pthread_mutex_destroy(&st->lock);
    }
    free(st->start);
    for (i = 0; i < st->nallow; i++)
        free(st->allow[i].host);
    free(st->allow);
    if (st->curl_ready)
        curl_global_cleanup();
    free(st);
}

static int
lc_init(void **state, const struct tf_opts *opts, struct tf_error *err)
{
    struct lc_state *st;
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
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
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
    st->joblog = tf_opts_get(opts, "joblog");
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
    v = tf_opts_get(opts, "max-pages");
    if (rc == 0 && v != NULL)
        rc = opt_u64("max-pages", v, 0, UINT32_MAX, &st->max_pages, err);
    v = tf_opts_get(opts, "max-depth");
    if (rc == 0 && v != NULL)
        rc = opt_u64("max-depth", v, 0, UINT32_MAX, &st->max_depth, err);
    v = tf_opts_get(opts, "max-body");
    if (rc == 0 && v != NULL)
        rc = opt_bytes("max-body", v, &st->max_body, err);
    v = tf_opts_get(opts, "max-redirs");
    if (rc == 0 && v != NULL)
        rc = opt_u64("max-redirs", v, 0, 1000, &st->max_redirs, err);
    v = tf_opts_get(opts, "concurrency");
    if (rc == 0 && v != NULL)
        rc = opt_u64("concurrency", v, 1, 1024, &st->concurrency, err);
    v = tf_opts_get(opts, "rate");
    if (rc == 0 && v != NULL)
        rc = opt_secs("rate", v, 0, NULL, &st->rate, err);
    v = tf_opts_get(opts, "connect-timeout");
    if (rc == 0 && v != NULL)
        rc = opt_secs("connect-timeout", v, 0, &st->connect_timeout_ms, NULL,
                      err);
    v = tf_opts_get(opts, "max-time");
    if (rc == 0 && v != NULL)
        rc = opt_secs("max-time", v, 0, &st->max_time_ms, NULL, err);
    v = tf_opts_get(opts, "format");
    if (rc == 0 && v != NULL) {
        if (strcmp(v, "table") == 0)
            st->format = LC_TABLE;
        else if (strcmp(v, "jsonl") == 0)
            st->format = LC_JSONL;
        else
            rc = tf_error_set(err, TF_EUSAGE,
                          "--format: '%s' is not table or jsonl", v);
    }
    st->dead_only = tf_opts_get(opts, "dead-only") != NULL;
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
    .run = lc_run,
    .master = lc_master,
    .fini = lc_fini,
    .examples =
        "taskfarm linkcheck urls.txt              # every URL in the file\n"
        "taskfarm linkcheck --crawl https://example.org/ --max-depth 6\n"
        "mpirun -np 9 taskfarm linkcheck --crawl https://intranet.example/\n"
        "taskfarm linkcheck --crawl http://localhost:8000/ --format jsonl \\\n"
        "    --dead-only > dead.jsonl\n",
};
