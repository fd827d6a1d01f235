/* fetch.c - all of the linkcheck job that talks to libcurl: its URL parser,
 * which url.c normalizes with, a worker's transfers, many at once over the
 * multi interface, with their retries, and the master's single fetch of a
 * robots.txt */
#include "linkcheck.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <curl/curl.h>

#include "taskfarm.h"

#if !CURL_AT_LEAST_VERSION(7, 85, 0)
#error "the linkcheck job needs libcurl 7.85 or later (CURLOPT_PROTOCOLS_STR)"
#endif

/* How long a worker remembers a host it could not reach: its URLs fail at
 * once meanwhile, without a transfer, as a resolver that drops queries
 * would cost a connect timeout for each. A host that answers is forgotten
 * at once. Then the host is new again (see struct host). */
#define HOST_MEMORY_US (300 * UINT64_C(1000000))

/* The most of a robots.txt lc__fetch_once() keeps (RFC 9309 asks for 500
 * KiB at least). */
#define ONCE_MAX_BODY (512 * 1024)

/*
 * What a worker knows of one host ("host:port"). The first transfer to a
 * host the worker has not reached yet goes alone, the host's other URLs
 * waiting until it is connected: a host out of reach then costs one
 * connect timeout, not one for each of its URLs and the transfer slots of
 * the others meanwhile.
 */
struct host {
    uint64_t next_us; /* monotonic time before which it sees no request
                         (--rate, a Retry-After) */
    uint64_t dead_us; /* monotonic time it was found unreachable */
    char *dead;       /* owned: the error of its URLs while it is
                         remembered as unreachable, or NULL */
    bool reached;     /* a transfer reached it */
    bool probing;     /* the first transfer is on its way */
};

/*
 * One worker's libcurl state: the multi handle, whose connection cache
 * carries connections from one task to the next, the share that keeps the
 * cookies of its transfers (--cookies and those the servers set), its idle
 * easy handles, and what it knows of each host.
 */
struct lc__conn {
    struct lc__conn *next; /* in the state's list of idle ones */
    CURLM *multi;          /* owned */
    CURLSH *share;         /* owned */
    CURL **easy;           /* owned: idle easy handles */
    size_t neasy;
    size_t capeasy;
    struct lc__table hosts; /* "host:port" -> index into host */
    struct lc__strs host_keys;
    struct host *host; /* owned: one per key of HOST_KEYS */
    uint64_t rand;     /* the state of the retries' jitter */
    bool reached;      /* a probe reached its host: URLs may start */
};

/* One URL of a batch, on the worker. */
struct xfer {
    const struct lc__state *st;
    struct lc__conn *c;
    char mode;  /* 'p' or 'c' */
    char *url;  /* borrowed from the task's copy */
    CURL *easy; /* while it runs */
    bool head;  /* the request is a HEAD */
    bool started;
    bool new_try; /* the next start begins a try (--max-time anew) */
    bool probe;   /* the first transfer to its host (struct host) */
    bool stopped; /* the body was cut off on purpose */
    bool cut;     /* ... because it reached --max-body */
    bool oom;
    bool done;
    struct tf_buf body; /* owned: what was read of a page */
    uint64_t start_us;  /* epoch, of the first try */
    uint64_t t0_us;     /* monotonic, of the first try */
    uint64_t try_us;    /* monotonic, of this try */
    uint64_t retry_us;  /* monotonic: a retry waits until then */
    uint64_t retries;   /* tries after the first */
    long status;
    long redirects;
    uint64_t time_us;
    char *final; /* owned, or NULL */
    bool parsed;
    char errkind;                 /* LC__ERR_* */
    char error[LC__WHY];          /* empty: none */
    char detail[CURL_ERROR_SIZE]; /* libcurl's own message of this try */
};

/* --------------------------------------------------------------- URLs */

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
 * percent escapes as lc__fix_escapes() leaves them. */
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
    if (lc__fix_escapes(*out)) {
        uc = curl_url_set(h, CURLUPART_URL, *out, 0);
        free(*out);
        *out = NULL;
        if (uc == CURLUE_OK)
            return url_of(h, out);
    }
    return uc;
}

int
lc__resolve_url(const char *base, const char *link, char **out, char *why,
                size_t whylen)
{
    CURLUcode uc = CURLUE_OK;
    CURLU *h;

    *out = NULL;
    h = curl_url();
    if (h == NULL)
        return TF_ENOMEM;
    if (base != NULL)
        uc = curl_url_set(h, CURLUPART_URL, base, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_set(h, CURLUPART_URL, link, CURLU_URLENCODE);
    if (uc == CURLUE_OK)
        uc = url_of(h, out);
    /* libcurl decodes the escapes of a host without checking what they
     * give ("//%7f" is a host of one DEL): a URL it would refuse when read
     * again is no URL. */
    if (uc == CURLUE_OK) {
        uc = curl_url_set(h, CURLUPART_URL, *out, 0);
        if (uc != CURLUE_OK) {
            free(*out);
            *out = NULL;
        }
    }
    curl_url_cleanup(h);
    if (uc == CURLUE_OUT_OF_MEMORY)
        return TF_ENOMEM;
    if (uc != CURLUE_OK) {
        snprintf(why, whylen, "invalid URL: %s", curl_url_strerror(uc));
        return TF_EINPUT;
    }
    return 0;
}

int
lc__curl_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : TF_ESYS;
}

void
lc__curl_cleanup(void)
{
    curl_global_cleanup();
}

/* ------------------------------------------------------- pure helpers */

uint64_t
lc__retry_wait_us(uint64_t try, int64_t after_s, uint64_t max_us, double jitter)
{
    uint64_t base;
    uint64_t extra;

    if (after_s > 0) {
        if ((uint64_t)after_s > max_us / 1000000)
            return UINT64_MAX;
        return (uint64_t)after_s * 1000000;
    }
    /* 1 s << 40 is beyond any wait anyone allows. */
    base = UINT64_C(1000000) << (try < 1 ? 0 : try > 41 ? 40 : try - 1);
    if (base > max_us)
        return UINT64_MAX;
    if (jitter < 0 || jitter >= 1)
        jitter = 0;
    extra = (uint64_t)((double)(base / 4) * jitter);
    return base + extra < max_us ? base + extra : max_us;
}

bool
lc__retryable(int code, long status, const char *detail)
{
    switch (code) {
    case CURLE_OK:
        return status == 429 || status == 503;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2_STREAM:
        return true;
    case CURLE_SSL_CONNECT_ERROR:
        /* A connection the server reset during the TLS handshake; other
         * TLS failures come again. */
        return detail != NULL && strstr(detail, "reset") != NULL;
    default:
        return false;
    }
}

char
lc__errkind(int code, bool connected)
{
    switch (code) {
    case CURLE_OK:
        return LC__ERR_NONE;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return LC__ERR_HOST;
    case CURLE_OPERATION_TIMEDOUT:
        /* The connect timeout, or --max-time before a connection was
         * made (a resolver that does not answer): the host is out of
         * reach. */
        return connected ? LC__ERR_TIMEOUT : LC__ERR_HOST;
    default:
        return LC__ERR_OTHER;
    }
}

void
lc__error_text(int code, char kind, char *why, size_t len)
{
    snprintf(why, len, "%s%s", kind == LC__ERR_HOST ? "unreachable host: " : "",
             curl_easy_strerror((CURLcode)code));
}

/* ------------------------------------------------------ easy handles */

/* Gives E the settings of every request of ST: redirects, timeouts, the
 * user agent and --header, cookies (the jar of SHARE, or when it is NULL
 * --cookies read for E alone), --netrc and TLS. TIMEOUT_MS bounds the
 * request. Returns libcurl's code. */
static CURLcode
easy_setup(CURL *e, const struct lc__state *st, CURLSH *share, long timeout_ms)
{
    CURLcode cc;

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
        cc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_USERAGENT, st->user_agent);
    if (cc == CURLE_OK && st->headers_list != NULL)
        cc = curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                              (struct curl_slist *)st->headers_list);
    /* The cookie engine is on, as in a browser: what a server sets is sent
     * back to it. "" names no file to read. */
    if (cc == CURLE_OK && share != NULL)
        cc = curl_easy_setopt(e, CURLOPT_SHARE, share);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_COOKIEFILE,
                              share == NULL && st->cookies != NULL ? st->cookies
                                                                   : "");
    /* Credentials from --netrc go to the hosts it names alone; a redirect
     * to another host does not carry them. */
    if (cc == CURLE_OK && st->netrc != NULL)
        cc = curl_easy_setopt(e, CURLOPT_NETRC_FILE, st->netrc);
    if (cc == CURLE_OK && st->netrc != NULL)
        cc = curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
    if (cc == CURLE_OK && st->insecure)
        cc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    if (cc == CURLE_OK && st->insecure)
        cc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    if (cc == CURLE_OK && st->cacert != NULL)
        cc = curl_easy_setopt(e, CURLOPT_CAINFO, st->cacert);
    return cc;
}

/* Whether E's transfer made a connection (a reused one counts): it has a
 * connect time or the address of a server. */
static bool
easy_connected(CURL *e)
{
    curl_off_t t = 0;
    char *ip = NULL;

    if (curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t > 0)
        return true;
    return curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
           ip != NULL && ip[0] != '\0';
}

int
lc__headers_make(struct lc__state *st)
{
    struct curl_slist *list = NULL;
    size_t i;

    for (i = 0; i < st->headers.n; i++) {
        struct curl_slist *l = curl_slist_append(list, st->headers.v[i]);

        if (l == NULL) {
            curl_slist_free_all(list);
            return TF_ENOMEM;
        }
        list = l;
    }
    lc__headers_free(st);
    st->headers_list = list;
    return 0;
}

void
lc__headers_free(struct lc__state *st)
{
    curl_slist_free_all(st->headers_list);
    st->headers_list = NULL;
}

/* What lc__fetch_once() reads. */
struct once {
    struct tf_buf *body;
    size_t kept; /* bytes appended to BODY */
    bool full;   /* ONCE_MAX_BODY or BODY's cap reached: the rest is not read */
    bool oom;
};

static size_t
on_once_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct once *o = arg;
    size_t n = size * nmemb;
    size_t room = ONCE_MAX_BODY - o->kept;
    size_t take = n < room ? n : room;
    int rc;

    rc = tf_buf_append(o->body, p, take);
    if (rc == TF_ENOMEM) {
        o->oom = true;
        return 0;
    }
    if (rc < 0 || take < n) {
        o->full = true;
        return 0;
    }
    o->kept += take;
    return n;
}

int
lc__fetch_once(const struct lc__state *st, const char *url, long *status,
               struct tf_buf *body, char *why, size_t whylen)
{
    size_t len0 = body->len;
    char detail[CURL_ERROR_SIZE];
    CURLcode cc = CURLE_OK;
    CURL *e = NULL;
    int try;

    *status = 0;
    /* One more try after a broken connection, at once. Each try has a
     * handle of its own: libcurl before 8.0 loses the list of cookie files
     * of a handle it resets. */
    for (try = 0; try < 2; try++) {
        struct once o = {body, 0, false, false};

        if (e != NULL)
            curl_easy_cleanup(e);
        e = curl_easy_init();
        if (e == NULL)
            return TF_ENOMEM;
        detail[0] = '\0';
        if (body->data != NULL) {
            body->len = len0;
            body->data[len0] = '\0';
        }
        cc = easy_setup(e, st, NULL, st->max_time_ms);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(e, CURLOPT_URL, url);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, detail);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_once_body);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)&o);
        if (cc == CURLE_OK)
            cc = curl_easy_perform(e);
        if (o.oom) {
            curl_easy_cleanup(e);
            return TF_ENOMEM;
        }
        if (cc == CURLE_WRITE_ERROR && o.full)
            cc = CURLE_OK; /* the first ONCE_MAX_BODY bytes are enough */
        if (cc == CURLE_OK || !lc__retryable(cc, 0, detail))
            break;
    }
    if (cc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    else
        lc__error_text(cc, lc__errkind(cc, easy_connected(e)), why, whylen);
    curl_easy_cleanup(e);
    if (cc == CURLE_OUT_OF_MEMORY)
        return TF_ENOMEM;
    return cc == CURLE_OK ? 0 : TF_EINPUT;
}

/* ------------------------------------------------------------ workers */

static void
conn_destroy(struct lc__conn *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->neasy; i++)
        curl_easy_cleanup(c->easy[i]);
    free(c->easy);
    if (c->multi != NULL)
        curl_multi_cleanup(c->multi);
    /* After the easy handles, which used it. */
    if (c->share != NULL)
        curl_share_cleanup(c->share);
    lc__table_cleanup(&c->hosts);
    for (i = 0; i < c->host_keys.n; i++)
        free(c->host[i].dead);
    lc__strs_cleanup(&c->host_keys);
    free(c->host);
    free(c);
}

/* Keeps E for a later transfer (its settings reset). */
static void
conn_keep_easy(struct lc__conn *c, CURL *e)
{
    /* libcurl before 8.0 loses, and leaks, the list of cookie files of a
     * handle it resets: it is emptied first. The cookies stay in the
     * share. */
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, NULL);
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

/*
 * Makes a worker's libcurl state. Its transfers share one cookie jar, so
 * that a cookie a server sets holds for the worker's later requests too;
 * --cookies is read into it once, here, rather than by every transfer.
 */
static struct lc__conn *
conn_create(const struct lc__state *st)
{
    struct lc__conn *c = calloc(1, sizeof(*c));
    CURL *e;

    if (c == NULL)
        return NULL;
    c->rand = (mono_us() << 16) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)c;
    c->rand |= 1;
    c->multi = curl_multi_init();
    c->share = curl_share_init();
    if (c->multi == NULL || c->share == NULL ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) !=
            CURLSHE_OK)
        goto fail;
    if (st->cookies != NULL) {
        e = curl_easy_init();
        if (e == NULL)
            goto fail;
        if (curl_easy_setopt(e, CURLOPT_SHARE, c->share) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_COOKIEFILE, st->cookies) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_COOKIELIST, "RELOAD") != CURLE_OK) {
            curl_easy_cleanup(e);
            goto fail;
        }
        conn_keep_easy(c, e);
    }
    return c;
fail:
    conn_destroy(c);
    return NULL;
}

/* A number in [0, 1) from C's generator (xorshift64*). */
static double
conn_random(struct lc__conn *c)
{
    c->rand ^= c->rand >> 12;
    c->rand ^= c->rand << 25;
    c->rand ^= c->rand >> 27;
    return (double)((c->rand * UINT64_C(2685821657736338717)) >> 11) /
           (double)(UINT64_C(1) << 53);
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
static struct lc__conn *
conn_take(struct lc__state *st)
{
    struct lc__conn *c;

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
    return c != NULL ? c : conn_create(st);
}

static void
conn_give(struct lc__state *st, struct lc__conn *c)
{
    pthread_mutex_lock(&st->lock);
    c->next = st->idle;
    st->idle = c;
    pthread_mutex_unlock(&st->lock);
}

static CURL *
conn_easy(struct lc__conn *c)
{
    if (c->neasy > 0)
        return c->easy[--c->neasy];
    return curl_easy_init();
}

/* What C knows of URL's host, made if need be; NULL when out of memory. */
static struct host *
conn_host(struct lc__conn *c, const char *url)
{
    char key[320];
    const char *name;
    size_t len;
    unsigned port;
    size_t idx;
    struct host *v;

    if (!lc__url_hostport(url, &name, &len, &port)) {
        name = url;
        len = 0;
        port = 0;
    }
    snprintf(key, sizeof(key), "%.*s:%u", (int)(len < 300 ? len : 300), name,
             port);
    if (lc__table_find(&c->hosts, key, &idx))
        return &c->host[idx];
    v = realloc(c->host, (c->host_keys.n + 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    c->host = v;
    idx = c->host_keys.n;
    if (lc__strs_addn(&c->host_keys, key, strlen(key)) < 0)
        return NULL;
    if (lc__table_add(&c->hosts, c->host_keys.v[idx], idx) < 0) {
        free(c->host_keys.v[idx]);
        c->host_keys.n--;
        return NULL;
    }
    memset(&c->host[idx], 0, sizeof(c->host[idx]));
    return &c->host[idx];
}

/* Whether a 'p' URL's body of Content-Type CT is read: a page or a style
 * sheet (a page without Content-Type is read as HTML, as browsers do). */
static bool
readable(const char *ct)
{
    return ct == NULL || lc__is_html(ct) || lc__is_css(ct);
}

/* libcurl's write callback: keeps what a page needs, ends the rest. */
static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;
    size_t room;
    char *ct = NULL;

    if (n == 0)
        return 0;
    if (x->mode == 'c') {
        /* A check needs the headers alone. */
        x->stopped = true;
        return 0;
    }
    if (x->body.len == 0 &&
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
        !readable(ct)) {
        x->stopped = true; /* not a page to parse: do not read it */
        return 0;
    }
    if (x->body.len >= x->st->max_body) {
        x->stopped = x->cut = true;
        return 0;
    }
    room = (size_t)(x->st->max_body - x->body.len);
    if (tf_buf_append(&x->body, p, n < room ? n : room) < 0) {
        x->oom = true;
        return 0;
    }
    if (n > room) {
        x->stopped = x->cut = true;
        return 0;
    }
    return n;
}

static void
xfer_fail(struct xfer *x, const char *why, char kind)
{
    snprintf(x->error, sizeof(x->error), "%s", why);
    x->errkind = kind;
    x->done = true;
    if (!x->started) {
        x->start_us = epoch_us();
        x->t0_us = mono_us();
        x->started = true;
    }
    x->time_us = mono_us() - x->t0_us;
}

/* Ends X's probe of its host (struct host), which REACHED or not. */
static void
xfer_probe_end(struct lc__conn *c, struct xfer *x, bool reached)
{
    struct host *h;

    if (!x->probe)
        return;
    x->probe = false;
    h = conn_host(c, x->url);
    if (h == NULL)
        return;
    h->probing = false;
    if (reached) {
        h->reached = true;
        c->reached = true;
    }
}

/* libcurl's callback once a request has its connection: the host is
 * reached, its other URLs may go. */
static int
on_connected(void *arg, char *ip, char *local_ip, int port, int local_port)
{
    struct xfer *x = arg;

    (void)ip;
    (void)local_ip;
    (void)port;
    (void)local_port;
    xfer_probe_end(x->c, x, true);
    return CURL_PREREQFUNC_OK;
}

/* Starts X's next request on C. A failure to start is X's error. */
static void
xfer_start(struct lc__conn *c, const struct lc__state *st, struct xfer *x,
           uint64_t now)
{
    CURLcode cc;
    CURLMcode mc;
    CURL *e;
    long left_ms;

    e = conn_easy(c);
    if (e == NULL) {
        xfer_fail(x, "cannot start a transfer: out of memory", LC__ERR_OTHER);
        return;
    }
    if (!x->started) {
        x->start_us = epoch_us();
        x->t0_us = now;
        x->started = true;
        x->new_try = true;
    }
    if (x->new_try) {
        x->try_us = now;
        x->new_try = false;
    }
    /* --max-time covers each try: its HEAD and the GET that may follow. */
    left_ms = st->max_time_ms - (long)((now - x->try_us) / 1000);
    if (left_ms < 1)
        left_ms = 1;
    x->stopped = false;
    x->cut = false;
    x->detail[0] = '\0';
    tf_buf_reset(&x->body);
    x->easy = e;
    cc = easy_setup(e, st, c->share, left_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_URL, x->url);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->detail);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
    if (cc == CURLE_OK && x->probe)
        cc = curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_connected);
    if (cc == CURLE_OK && x->probe)
        cc = curl_easy_setopt(e, CURLOPT_PREREQDATA, (void *)x);
    if (cc == CURLE_OK && x->head)
        cc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (cc == CURLE_OK)
        cc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (cc != CURLE_OK) {
        x->easy = NULL;
        conn_keep_easy(c, e);
        xfer_fail(x, curl_easy_strerror(cc), LC__ERR_OTHER);
        return;
    }
    mc = curl_multi_add_handle(c->multi, e);
    if (mc != CURLM_OK) {
        x->easy = NULL;
        conn_keep_easy(c, e);
        xfer_fail(x, curl_multi_strerror(mc), LC__ERR_OTHER);
    }
}

/*
 * Decides whether X, whose try ended with CODE and STATUS from the server
 * of URL EFF, is tried again, and when. The Retry-After of a 429 or 503
 * holds back the whole host until then, X retried or not; one longer than
 * --max-retry-wait is not waited for: the answer stands, and the host is
 * not held. A retry waits for what lc__retry_wait_us() gives; there is
 * none when --retries are used up, when the wait passes --max-retry-wait
 * or when it would end after DEADLINE (the task's time limit; 0: none).
 */
static bool
xfer_retry(struct lc__conn *c, struct xfer *x, CURLcode code, long status,
           const char *eff, uint64_t deadline)
{
    const struct lc__state *st = x->st;
    curl_off_t after = 0;
    uint64_t now = mono_us();
    uint64_t wait;

    if (!lc__retryable(code, status, x->detail))
        return false;
    if (code != CURLE_OK ||
        curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &after) != CURLE_OK ||
        after < 0)
        after = 0;
    if (after > 0 && (uint64_t)after <= st->max_retry_wait_us / 1000000) {
        struct host *h = conn_host(c, eff != NULL ? eff : x->url);

        if (h != NULL && h->next_us < now + (uint64_t)after * 1000000)
            h->next_us = now + (uint64_t)after * 1000000;
    }
    if (x->retries >= st->retries)
        return false;
    wait = lc__retry_wait_us(x->retries + 1, (int64_t)after,
                             st->max_retry_wait_us, conn_random(c));
    if (wait == UINT64_MAX || (deadline > 0 && now + wait >= deadline))
        return false;
    x->retries++;
    x->retry_us = now + wait;
    x->new_try = true;
    return true;
}

/* Notes what X's try taught about the host of URL EFF: one that could not
 * be reached is remembered with the error its other URLs get, one that
 * answered is forgotten. */
static void
xfer_note_host(struct lc__conn *c, const struct xfer *x, const char *eff)
{
    char why[LC__WHY];
    struct host *h;

    if (x->errkind != LC__ERR_HOST && x->status == 0)
        return;
    h = conn_host(c, eff != NULL ? eff : x->url);
    if (h == NULL)
        return;
    if (x->errkind != LC__ERR_HOST) {
        free(h->dead);
        h->dead = NULL;
        h->reached = true;
    } else if (h->dead == NULL) {
        /* A long URL is cut: the text is for people. */
        if (snprintf(why, sizeof(why), "%s (as for %s)", x->error,
                     eff != NULL ? eff : x->url) < 0)
            return;
        h->dead = strdup(why);
        h->dead_us = mono_us();
    }
}

/* Reads the outcome of X's request, which ended with CODE. Returns 1 when
 * X is to run again: as a GET (the server refused HEAD), or retried once
 * X->retry_us has come. Else 0 with X done, its page's links submitted to
 * RES when it was parsed; or TF_ENOMEM. DEADLINE: see xfer_retry(). */
static int
xfer_finish(struct lc__conn *c, struct xfer *x, CURLcode code,
            uint64_t deadline, struct tf_result *res)
{
    struct lc__strs subs = {NULL, 0, 0};
    char why[LC__WHY];
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
    /* A redirect is an answer of the host, whatever came after it. */
    xfer_probe_end(c, x,
                   redirs > 0 || lc__errkind(code, easy_connected(x->easy)) !=
                                     LC__ERR_HOST);
    if (x->head && code == CURLE_OK && (status == 405 || status == 501)) {
        x->head = false;
        return 1;
    }
    if (xfer_retry(c, x, code, status, eff, deadline))
        return 1;
    x->done = true;
    x->status = status;
    x->redirects = redirs;
    x->time_us = mono_us() - x->t0_us;
    if (code != CURLE_OK) {
        if (x->oom) {
            snprintf(x->error, sizeof(x->error), "out of memory");
            x->errkind = LC__ERR_OTHER;
        } else {
            x->errkind = lc__errkind(code, easy_connected(x->easy));
            lc__error_text(code, x->errkind, x->error, sizeof(x->error));
        }
    }
    xfer_note_host(c, x, eff);
    if (eff != NULL) {
        rc = lc__normalize_url(NULL, eff, strlen(eff), false, &x->final, why,
                               sizeof(why));
        if (rc < 0)
            return rc;
        rc = 0;
    }
    /* A page redirected off the crawl's hosts is checked, not parsed: its
     * links are another site's. */
    if (code != CURLE_OK || x->mode != 'p' || status < 200 || status > 299 ||
        !readable(ct) ||
        (x->final != NULL && !lc__host_allowed(x->st, x->final)))
        return 0;
    x->parsed = true;
    {
        struct lc__page pg = {
            .key = x->url,
            .final = eff,
            .ctype = ct,
            .body = x->body.data != NULL ? (char *)x->body.data : "",
            .n = x->body.len,
            .cut = x->cut};

        rc = lc__page_links(&pg, &subs);
    }
    for (i = 0; rc == 0 && i < subs.n; i++)
        rc = tf_result_submit(res, subs.v[i], strlen(subs.v[i]));
    lc__strs_cleanup(&subs);
    return rc;
}

static int
xfer_report(const struct xfer *x, const struct tf_task *task,
            struct tf_result *res)
{
    struct lc__outcome o;

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
    o.errkind = x->error[0] != '\0' ? x->errkind : LC__ERR_NONE;
    o.retries = x->retries;
    o.cut = x->parsed && x->cut;
    return lc__outcome_encode(&res->out, &o);
}

/*
 * Runs the N transfers XS on C, --concurrency at once, keeping to --rate
 * and to the waits of retries and Retry-After, and reports each to RES as
 * it ends, whatever happens to it. A transfer that waits is parked in the
 * queue while the others run. Returns 0, or TF_ENOMEM.
 */
static int
run_batch(const struct lc__state *st, struct lc__conn *c, struct xfer *xs,
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
        xs[i].c = c;
        xs[i].head = xs[i].mode == 'c';
        xs[i].errkind = LC__ERR_NONE;
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
        c->reached = false;
        /* Start what may start, in order; a transfer that must wait (its
         * host's turn, its retry) lets the others go first. A URL of a host
         * found unreachable fails at once. */
        while (waiting-- > 0 && active < st->concurrency) {
            struct xfer *x = &xs[queue[qhead]];
            struct host *h = conn_host(c, x->url);
            uint64_t at = x->retry_us;

            qhead = (qhead + 1) % n;
            qlen--;
            if (h != NULL && h->dead != NULL &&
                now - h->dead_us >= HOST_MEMORY_US) {
                free(h->dead);
                h->dead = NULL;
                h->reached = false;
            }
            if (h != NULL && h->dead != NULL) {
                xfer_fail(x, h->dead, LC__ERR_HOST);
            } else {
                if (h != NULL && h->next_us > at)
                    at = h->next_us;
                /* Waiting for the probe of its host ends with a transfer,
                 * which wakes the loop. */
                if (at > now || (h != NULL && !h->reached && h->probing)) {
                    if (at > now && at - now < wait_us)
                        wait_us = at - now;
                    queue[(qhead + qlen) % n] = (size_t)(x - xs);
                    qlen++;
                    continue;
                }
                if (h != NULL && !h->reached) {
                    h->probing = true;
                    x->probe = true;
                }
                if (h != NULL && interval_us > 0)
                    h->next_us = now + interval_us;
                xfer_start(c, st, x, now);
                if (x->done)
                    xfer_probe_end(c, x, false);
            }
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
            struct xfer *x = NULL;
            int r;

            if (msg == NULL)
                break;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            r = xfer_finish(c, x, msg->data.result, deadline, res);
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
        if (rc < 0 || ndone == n || finished > 0 || c->reached)
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
        struct xfer *x = &xs[i];

        if (x->easy != NULL) {
            curl_multi_remove_handle(c->multi, x->easy);
            conn_keep_easy(c, x->easy);
            x->easy = NULL;
        }
        /* The worker's later tasks may try the host again. */
        xfer_probe_end(c, x, false);
        if (rc == 0 && !x->done) {
            if (deadline > 0 && mono_us() >= deadline)
                xfer_fail(x, "the task's time limit passed", LC__ERR_TIMEOUT);
            else
                xfer_fail(x, "libcurl failed", LC__ERR_OTHER);
            rc = xfer_report(x, task, res);
        }
        tf_buf_cleanup(&x->body);
        free(x->final);
        x->final = NULL;
    }
    free(queue);
    return rc;
}

void
lc__idle_free(struct lc__state *st)
{
    if (st->conn_pid != getpid())
        return;
    while (st->idle != NULL) {
        struct lc__conn *c = st->idle;

        st->idle = c->next;
        conn_destroy(c);
    }
}

int
lc__worker_run(void *state, const struct tf_task *task, struct tf_result *res)
{
    struct lc__state *st = state;
    struct lc__task_url *urls = NULL;
    struct xfer *xs = NULL;
    struct lc__conn *c;
    struct tf_buf copy;
    size_t n = 0;
    size_t i;
    int rc;

    tf_buf_init(&copy, 0);
    rc = tf_buf_append(&copy, task->len > 0 ? task->data : "", task->len);
    if (rc == 0)
        rc = lc__task_parse(copy.len > 0 ? (char *)copy.data : "", copy.len,
                            &urls, &n);
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
    xs = calloc(n, sizeof(*xs));
    if (xs == NULL) {
        rc = TF_ENOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        xs[i].mode = urls[i].mode;
        xs[i].url = urls[i].url;
    }
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
    free(urls);
    tf_buf_cleanup(&copy);
    return rc;
}
