/* tool_progress.c - the master's progress line and status lines */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "tool_progress.h"

#include "session.h"

#define LINE_INTERVAL_US 250000u     /* a redraw four times a second */
#define STATUS_INTERVAL_US 60000000u /* a status line a minute */
#define DEFAULT_WIDTH 80
#define BAR_MIN 10 /* no bar narrower than this */
#define BAR_MAX 30

void
tf__progress_init(struct tf__progress *p, enum tf__progress_mode mode, int fd,
                  uint64_t interval_us, uint64_t start_us)
{
    memset(p, 0, sizeof(*p));
    p->mode = mode;
    p->fd = fd;
    p->interval_us = interval_us;
    if (p->interval_us == 0)
        p->interval_us =
            mode == TF__PROGRESS_LINE ? LINE_INTERVAL_US : STATUS_INTERVAL_US;
    p->start_us = start_us;
    /* A line shows at once; the first status line after an interval, so
     * that short runs log nothing but their summary. */
    p->next_us =
        mode == TF__PROGRESS_LINE ? start_us : start_us + p->interval_us;
}

enum tf__progress_mode
tf__progress_auto(int fd)
{
    return isatty(fd) ? TF__PROGRESS_LINE : TF__PROGRESS_STATUS;
}

bool
tf__progress_due(const struct tf__progress *p, uint64_t now_us)
{
    return p->mode != TF__PROGRESS_OFF && now_us >= p->next_us;
}

uint64_t
tf__progress_wait_us(const struct tf__progress *p, uint64_t now_us)
{
    if (p->mode == TF__PROGRESS_OFF)
        return UINT64_MAX;
    return p->next_us > now_us ? p->next_us - now_us : 0;
}

void
tf__progress_clock(uint64_t us, char *buf, size_t n)
{
    uint64_t s = us / 1000000u;

    if (s >= 86400u)
        snprintf(buf, n, "%llud %02llu:%02llu:%02llu",
                 (unsigned long long)(s / 86400u),
                 (unsigned long long)(s / 3600u % 24u),
                 (unsigned long long)(s / 60u % 60u),
                 (unsigned long long)(s % 60u));
    else if (s >= 3600u)
        snprintf(buf, n, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600u),
                 (unsigned long long)(s / 60u % 60u),
                 (unsigned long long)(s % 60u));
    else
        snprintf(buf, n, "%llu:%02llu", (unsigned long long)(s / 60u),
                 (unsigned long long)(s % 60u));
}

void
tf__progress_duration(uint64_t us, char *buf, size_t n)
{
    if (us < 60000000u)
        snprintf(buf, n, "%.1f s", (double)us / 1e6);
    else
        tf__progress_clock(us, buf, n);
}

/* Tasks left to do: of the total, less those done now and before. */
static uint64_t
remaining(const struct tf__progress_snap *snap)
{
    uint64_t gone = snap->done + snap->skipped;

    return snap->total > gone ? snap->total - gone : 0;
}

uint64_t
tf__progress_eta_us(const struct tf__progress_snap *snap)
{
    double left;

    if (snap->total == 0 || snap->done == 0 || snap->elapsed_us == 0)
        return UINT64_MAX;
    left =
        (double)remaining(snap) * (double)snap->elapsed_us / (double)snap->done;
    return left >= 1e18 ? UINT64_MAX : (uint64_t)left;
}

/* Tasks a second so far, as text: one decimal below ten. */
static void
format_rate(const struct tf__progress_snap *snap, char *buf, size_t n)
{
    double rate = snap->elapsed_us > 0
                      ? (double)snap->done * 1e6 / (double)snap->elapsed_us
                      : 0.0;

    snprintf(buf, n, rate < 10 ? "%.1f" : "%.0f", rate);
}

/* The tasks to do in this run: the total less those done before. */
static uint64_t
run_total(const struct tf__progress_snap *snap)
{
    return snap->total > snap->skipped ? snap->total - snap->skipped : 0;
}

static unsigned
percent(const struct tf__progress_snap *snap)
{
    uint64_t of = run_total(snap);

    if (of == 0)
        return 100;
    return snap->done >= of ? 100 : (unsigned)(snap->done * 100 / of);
}

/* The counts and times of SNAP, long or SHORT, into BUF. */
static size_t
format_counts(const struct tf__progress_snap *snap, bool shorter, char *buf,
              size_t n)
{
    char rate[32], elapsed[32], eta[40] = "";
    uint64_t eta_us = tf__progress_eta_us(snap);
    int len;

    format_rate(snap, rate, sizeof(rate));
    tf__progress_clock(snap->elapsed_us, elapsed, sizeof(elapsed));
    if (snap->total != 0) {
        char clock[32] = "?";

        if (eta_us != UINT64_MAX)
            tf__progress_clock(eta_us, clock, sizeof(clock));
        snprintf(eta, sizeof(eta), ", ETA %s", clock);
    }
    if (snap->total != 0 && shorter)
        len = snprintf(buf, n, "%llu/%llu, %llu failed, %llu run, %s/s%s",
                       (unsigned long long)snap->done,
                       (unsigned long long)run_total(snap),
                       (unsigned long long)snap->failed,
                       (unsigned long long)snap->running, rate, eta);
    else if (snap->total != 0)
        len = snprintf(buf, n,
                       "%llu/%llu done, %llu failed, %llu running, %s "
                       "tasks/s, %s elapsed%s",
                       (unsigned long long)snap->done,
                       (unsigned long long)run_total(snap),
                       (unsigned long long)snap->failed,
                       (unsigned long long)snap->running, rate, elapsed, eta);
    else if (shorter)
        len = snprintf(buf, n, "%llu done, %llu failed, %llu run, %s/s",
                       (unsigned long long)snap->done,
                       (unsigned long long)snap->failed,
                       (unsigned long long)snap->running, rate);
    else
        len = snprintf(buf, n,
                       "%llu done, %llu failed, %llu running, %s tasks/s, "
                       "%s elapsed",
                       (unsigned long long)snap->done,
                       (unsigned long long)snap->failed,
                       (unsigned long long)snap->running, rate, elapsed);
    if (len < 0)
        len = 0;
    return (size_t)len < n ? (size_t)len : n - 1;
}

size_t
tf__progress_format_line(const struct tf__progress_snap *snap, int width,
                         char *buf, size_t n)
{
    char counts[256];
    size_t len, room, at = 0;

    if (n == 0)
        return 0;
    buf[0] = '\0';
    if (width < 20)
        width = 20;
    /* One column is kept free: a line that fills the last one wraps on
     * some terminals, and a wrapped line is no longer redrawn in place. */
    room = (size_t)width - 1;
    if (room >= n)
        room = n - 1;
    len = format_counts(snap, false, counts, sizeof(counts));
    if (len > room)
        len = format_counts(snap, true, counts, sizeof(counts));
    if (snap->total != 0 && len + 7 + BAR_MIN <= room) {
        /* "[####      ] 45% " before the counts */
        size_t bar = room - len - 7;
        unsigned pct = percent(snap);
        size_t fill, i;

        if (bar > BAR_MAX)
            bar = BAR_MAX;
        fill = bar * pct / 100;
        buf[at++] = '[';
        for (i = 0; i < bar; i++)
            buf[at++] = i < fill ? '#' : '.';
        at += (size_t)snprintf(buf + at, n - at, "] %3u%% ", pct);
    }
    if (len > room - at)
        len = room - at;
    memcpy(buf + at, counts, len);
    at += len;
    buf[at] = '\0';
    return at;
}

size_t
tf__progress_format_status(const struct tf__progress_snap *snap,
                           const char *what, char *buf, size_t n)
{
    char counts[256], clock[16] = "", before[64] = "";
    time_t t = time(NULL);
    struct tm tm;
    int len;

    if (localtime_r(&t, &tm) != NULL)
        strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
    format_counts(snap, false, counts, sizeof(counts));
    if (snap->skipped > 0)
        snprintf(before, sizeof(before), ", %llu done before",
                 (unsigned long long)snap->skipped);
    if (snap->total != 0)
        len = snprintf(buf, n, "taskfarm: %s %s: %u%%, %s%s", clock, what,
                       percent(snap), counts, before);
    else
        len = snprintf(buf, n, "taskfarm: %s %s: %s%s", clock, what, counts,
                       before);
    if (len < 0)
        len = 0;
    return (size_t)len < n ? (size_t)len : n - 1;
}

/* The width of the terminal on FD, or DEFAULT_WIDTH. */
static int
term_width(int fd)
{
    struct winsize ws;

    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return DEFAULT_WIDTH;
}

/* Writes the N bytes at P to FD whole, or gives up quietly. */
static void
put(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);

        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

void
tf__progress_show(struct tf__progress *p, const struct tf__progress_snap *snap,
                  uint64_t now_us)
{
    char buf[512];
    size_t len;

    if (p->mode == TF__PROGRESS_OFF)
        return;
    p->next_us = now_us + p->interval_us;
    if (p->mode == TF__PROGRESS_STATUS) {
        len = tf__progress_format_status(snap, "status", buf, sizeof(buf) - 1);
        buf[len++] = '\n';
        put(p->fd, buf, len);
        return;
    }
    /* \r, the line, then erase to the end of the screen line: whatever a
     * longer line before left there goes. */
    buf[0] = '\r';
    len = 1 + tf__progress_format_line(snap, term_width(p->fd), buf + 1,
                                       sizeof(buf) - 5);
    memcpy(buf + len, "\033[K", 3);
    put(p->fd, buf, len + 3);
    p->drawn = true;
}

void
tf__progress_clear(struct tf__progress *p)
{
    if (!p->drawn)
        return;
    put(p->fd, "\r\033[K", 4);
    p->drawn = false;
}

/* ------------------------------------------------ a session's watcher */

static void
session_snap(const struct tf__progress *p, const struct tf__session *s,
             uint64_t now, struct tf__progress_snap *snap)
{
    struct tf__session_status st;

    tf__session_status(s, &st);
    memset(snap, 0, sizeof(*snap));
    snap->done = st.done;
    snap->failed = st.failed;
    snap->total = st.total;
    snap->skipped = st.skipped;
    snap->running = st.running;
    if (now > p->start_us)
        snap->elapsed_us = now - p->start_us;
}

static uint64_t
watch_wait_us(void *arg, uint64_t now)
{
    return tf__progress_wait_us(arg, now);
}

static void
watch_show(void *arg, const struct tf__session *s, uint64_t now)
{
    struct tf__progress_snap snap;

    session_snap(arg, s, now, &snap);
    tf__progress_show(arg, &snap, now);
}

static void
watch_clear(void *arg)
{
    tf__progress_clear(arg);
}

/* Appends the N bytes of TEXT to B, on one line: bytes that are not
 * printable become '?', and a long text ends in "...". */
static void
put_text(struct tf_buf *b, const unsigned char *text, size_t n, size_t max)
{
    size_t i;

    for (i = 0; i < n && i < max; i++) {
        char ch = text[i] >= 0x20 && text[i] < 0x7f ? (char)text[i] : '?';

        tf_buf_append(b, &ch, 1);
    }
    if (n > max)
        tf_buf_puts(b, "...");
}

static int
cmp_running(const void *a, const void *b)
{
    const struct tf__running *x = a, *y = b;

    if (x->us != y->us)
        return x->us > y->us ? -1 : 1;
    return x->worker - y->worker;
}

/* One line per worker: its task in hand and how long it has run. */
static void
put_workers(struct tf_buf *b, const struct tf__session *s,
            const struct tf__running *run, size_t nrun)
{
    char line[512], clock[32];
    size_t k = 0;
    int i;

    for (i = 0; i < tf__session_nworkers(s); i++) {
        size_t hlen;
        int state;
        const char *host = tf__session_worker(s, i, &hlen, &state);

        snprintf(line, sizeof(line), "taskfarm:   worker %d (%.*s): ", i,
                 (int)hlen, host);
        tf_buf_puts(b, line);
        while (k < nrun && run[k].worker < i)
            k++;
        if (state != TF__W_ACTIVE && state != TF__W_RECYCLING) {
            tf_buf_puts(b, state == TF__W_NEW ? "starting\n" : "gone\n");
            continue;
        }
        if (k == nrun || run[k].worker != i) {
            tf_buf_puts(b, "idle\n");
            continue;
        }
        tf__progress_duration(run[k].us, clock, sizeof(clock));
        snprintf(line, sizeof(line), "task %llu, %s",
                 (unsigned long long)run[k].id, clock);
        tf_buf_puts(b, line);
        if (run[k].len > 0) {
            tf_buf_puts(b, ": ");
            put_text(b, run[k].text, run[k].len, 60);
        }
        tf_buf_puts(b, "\n");
    }
}

/*
 * Writes the snapshot SIGUSR2 asks for to standard error: the counts, each
 * worker's task in hand and how long it has run, the longest-running
 * tasks, and the tasks waiting.
 */
static void
watch_snapshot(void *arg, const struct tf__session *s, uint64_t now)
{
    struct tf__progress *p = arg;
    struct tf__progress_snap snap;
    size_t max = (size_t)tf__session_nworkers(s);
    struct tf__running *run = calloc(max + 1, sizeof(*run));
    uint64_t queued, left;
    char clock[32], line[512];
    size_t nrun, k;
    struct tf_buf b;

    tf__progress_clear(p);
    session_snap(p, s, now, &snap);
    nrun = tf__session_running(s, now, run, run != NULL ? max : 0, &queued);
    left = snap.total > snap.done + snap.skipped + snap.running
               ? snap.total - snap.done - snap.skipped - snap.running
               : 0;
    tf_buf_init(&b, 0);
    tf__progress_format_status(&snap, "snapshot", line, sizeof(line));
    tf_buf_puts(&b, line);
    snprintf(line, sizeof(line), "\ntaskfarm:   %llu tasks %s\n",
             (unsigned long long)(snap.total != 0 ? left : queued),
             snap.total != 0 ? "waiting" : "read and waiting");
    tf_buf_puts(&b, line);
    put_workers(&b, s, run, nrun);
    if (nrun > 0) {
        qsort(run, nrun, sizeof(*run), cmp_running);
        tf_buf_puts(&b, "taskfarm:   longest running:\n");
        for (k = 0; k < nrun && k < 5; k++) {
            tf__progress_duration(run[k].us, clock, sizeof(clock));
            snprintf(line, sizeof(line),
                     "taskfarm:     %s, task %llu on worker %d", clock,
                     (unsigned long long)run[k].id, run[k].worker);
            tf_buf_puts(&b, line);
            if (run[k].len > 0) {
                tf_buf_puts(&b, ": ");
                put_text(&b, run[k].text, run[k].len, 60);
            }
            tf_buf_puts(&b, "\n");
        }
    }
    if (b.data != NULL)
        put(p->fd, (const char *)b.data, b.len);
    tf_buf_cleanup(&b);
    free(run);
}

void
tf__progress_watch(struct tf__progress *p, struct tf__session *s)
{
    struct tf__session_watch w;

    memset(&w, 0, sizeof(w));
    w.arg = p;
    w.wait_us = watch_wait_us;
    w.show = watch_show;
    w.clear = watch_clear;
    w.snapshot = watch_snapshot;
    tf__session_watch(s, &w);
}
