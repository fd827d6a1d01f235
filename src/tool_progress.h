/* tool_progress.h - the master's progress line and status lines */
#ifndef TF_TOOL_PROGRESS_H
#define TF_TOOL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a run shows its progress on standard error. */
enum tf__progress_mode {
    TF__PROGRESS_OFF,   /* nothing (--no-progress, --quiet, or a library) */
    TF__PROGRESS_LINE,  /* one line redrawn in place (a terminal) */
    TF__PROGRESS_STATUS /* a whole line every interval (a log file) */
};

/* Where a run stands: what the progress line shows. */
struct tf__progress_snap {
    uint64_t done;    /* finished tasks, failed ones included */
    uint64_t failed;  /* of which with a non-zero status */
    uint64_t running; /* workers with a task in hand */
    uint64_t total;   /* tasks in all, 0 when not known (a pipe) */
    uint64_t skipped; /* finished by the run resumed: not in DONE */
    uint64_t elapsed_us;
};

struct tf__progress {
    enum tf__progress_mode mode;
    int fd;               /* standard error */
    uint64_t interval_us; /* between redraws or status lines */
    uint64_t start_us;    /* tf__now_us() at the start of the run */
    uint64_t next_us;     /* when the next one is due */
    bool drawn;           /* a LINE is on the screen, to be cleared */
};

/* Sets P up to show progress in MODE on FD, every INTERVAL_US (0: the
 * mode's default, a quarter second for a line, a minute for status
 * lines), timing the run from START_US. */
void tf__progress_init(struct tf__progress *p, enum tf__progress_mode mode,
                       int fd, uint64_t interval_us, uint64_t start_us);

/* The mode a run gets by default: a LINE when FD is a terminal, else
 * STATUS lines. */
enum tf__progress_mode tf__progress_auto(int fd);

/* True when P has something to show at NOW_US (a tf__now_us() time). */
bool tf__progress_due(const struct tf__progress *p, uint64_t now_us);

/* Microseconds from NOW_US until P is due, UINT64_MAX when never. */
uint64_t tf__progress_wait_us(const struct tf__progress *p, uint64_t now_us);

/*
 * Shows SNAP: redraws the line, or writes a status line, and sets when the
 * next is due from NOW_US. Write errors are ignored: progress never fails
 * a run.
 */
void tf__progress_show(struct tf__progress *p,
                       const struct tf__progress_snap *snap, uint64_t now_us);

/* Clears the line from the screen, when one is drawn, before other output
 * goes to the terminal. */
void tf__progress_clear(struct tf__progress *p);

/*
 * Formats SNAP as a progress line of at most WIDTH columns into BUF (of N
 * bytes, NUL-terminated), with a bar when there is room and the total is
 * known. Returns its length.
 */
size_t tf__progress_format_line(const struct tf__progress_snap *snap, int width,
                                char *buf, size_t n);

/* Formats SNAP as a status line (no newline) into BUF, headed WHAT
 * ("status"). Returns its length. */
size_t tf__progress_format_status(const struct tf__progress_snap *snap,
                                  const char *what, char *buf, size_t n);

/* Formats US microseconds as a duration to read: "4.2 s" under a minute,
 * else as tf__progress_clock() does. */
void tf__progress_duration(uint64_t us, char *buf, size_t n);

/* Formats US microseconds as M:SS, H:MM:SS or Dd HH:MM:SS into BUF. */
void tf__progress_clock(uint64_t us, char *buf, size_t n);

/* The expected time to the end, in microseconds, from the rate so far;
 * UINT64_MAX when it cannot be told yet (no total, nothing done). */
uint64_t tf__progress_eta_us(const struct tf__progress_snap *snap);

/*
 * Makes P the watcher of session S: its batches show their progress in P
 * (nothing when P's mode is OFF), and a snapshot of the run goes to P's fd
 * when tf__request_snapshot() asks for one. P is borrowed.
 */
struct tf__session;
void tf__progress_watch(struct tf__progress *p, struct tf__session *s);

#endif /* TF_TOOL_PROGRESS_H */
