/* fetch.c - all of the linkcheck job that talks to libcurl: its URL parser,
 * which url.c normalizes with, and a worker's transfers, many at once over
 * the multi interface */
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

/*
 * One worker's libcurl state: the multi handle, whose connection cache
 * carries connections from one task to the next, its idle easy handles, and
 * when each host may see its next request (--rate).
 */
struct lc__conn {
    struct lc__conn *next; /* in the state's list of idle ones */
    CURLM *multi;          /* owned */
    CURL **easy;           /* owned: idle easy handles */
    size_t neasy;
    size_t capeasy;
    struct lc__table hosts; /* "host:port" -> index into next_us */
    struct lc__strs host_keys;
    uint64_t *next_us; /* owned: monotonic time of each host's next start */
};

/* One URL of a batch, on the worker. */
struct xfer {
    const struct lc__state *st;
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
    char error[LC__WHY]; /* empty: none */
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
    lc__table_cleanup(&c->hosts);
    lc__strs_cleanup(&c->host_keys);
    free(c->next_us);
    free(c);
}

static struct lc__conn *
conn_create(void)
{
    struct lc__conn *c = calloc(1, sizeof(*c));

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
    return c != NULL ? c : conn_create();
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

/* Keeps E for a later transfer (its settings reset). */
static void
conn_keep_easy(struct lc__conn *c, CURL *e)
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
conn_host(struct lc__conn *c, const char *url)
{
    char key[320];
    const char *host;
    size_t len;
    unsigned port;
    size_t idx;
    uint64_t *v;

    if (!lc__url_hostport(url, &host, &len, &port)) {
        host = url;
        len = 0;
        port = 0;
    }
    snprintf(key, sizeof(key), "%.*s:%u", (int)(len < 300 ? len : 300), host,
             port);
    if (lc__table_find(&c->hosts, key, &idx))
        return (ssize_t)idx;
    v = realloc(c->next_us, (c->host_keys.n + 1) * sizeof(*v));
    if (v == NULL)
        return -1;
    c->next_us = v;
    idx = c->host_keys.n;
    if (lc__strs_addn(&c->host_keys, key, strlen(key)) < 0)
        return -1;
    if (lc__table_add(&c->hosts, c->host_keys.v[idx], idx) < 0) {
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
    struct xfer *x = arg;
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
        ct != NULL && !lc__is_html(ct)) {
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
xfer_fail(struct xfer *x, const char *why)
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
xfer_start(struct lc__conn *c, const struct lc__state *st, struct xfer *x,
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
xfer_finish(struct xfer *x, CURLcode code, struct tf_result *res)
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
    if (x->head && code == CURLE_OK && (status == 405 || status == 501)) {
        x->head = false;
        return 1;
    }
    x->done = true;
    x->status = status;
    x->redirects = redirs;
    x->time_us = mono_us() - x->t0_us;
    if (eff != NULL) {
        rc = lc__normalize_url(NULL, eff, strlen(eff), false, &x->final, why,
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
        (ct != NULL && !lc__is_html(ct)))
        return 0;
    x->parsed = true;
    {
        struct lc__page pg = {x->url, eff, ct,
                              x->body.data != NULL ? (char *)x->body.data : "",
                              x->body.len, x->stopped};

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
    o.errkind = x->error[0] != '\0' ? LC__ERR_OTHER : LC__ERR_NONE;
    o.retries = 0;
    o.cut = false;
    return lc__outcome_encode(&res->out, &o);
}

/*
 * Runs the N transfers XS on C, --concurrency at once, keeping to --rate,
 * and reports each to RES as it ends, whatever happens to it. Returns 0, or
 * TF_ENOMEM.
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
            struct xfer *x = &xs[queue[qhead]];

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
            struct xfer *x = NULL;
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
        struct xfer *x = &xs[i];

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

int
lc__headers_make(struct lc__state *st)
{
    (void)st;
    return 0;
}

void
lc__headers_free(struct lc__state *st)
{
    (void)st;
}

int
lc__fetch_once(const struct lc__state *st, const char *url, long *status,
               struct tf_buf *body, char *why, size_t whylen)
{
    (void)st;
    (void)url;
    (void)body;
    *status = 404;
    snprintf(why, whylen, "not yet");
    return 0;
}
