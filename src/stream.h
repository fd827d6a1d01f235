/* stream.h - frames over stream sockets, for the fork and mpi transports */
#ifndef TF_STREAM_H
#define TF_STREAM_H

#include <poll.h>
#include <sys/epoll.h>
#include <stdbool.h>
#include <stddef.h>

#include "transport.h"

/* Files passed with the bytes (SCM_RIGHTS, Unix sockets only) wait in a
 * peer's queue for the frames that name them, up to this many. */
#define TF__STREAM_MAX_FDQ 4

/* A frame waiting to be written: its own bytes, or a reference's. */
struct tf__stream_out {
    struct tf__stream_out *next;
    struct tf_buf buf;         /* owned */
    struct tf__frame_ref *ref; /* a reference, or NULL */
    bool send_ref;             /* send REF's frame rather than BUF */
    int pass_fd;               /* REF's file, passed with the first byte */
    size_t off;                /* bytes of the frame written */
};

struct tf__stream_peer {
    int fd;           /* -1 once closed */
    struct tf_buf in; /* owned: bytes read and not yet taken */
    size_t in_off;
    int fdq[TF__STREAM_MAX_FDQ]; /* owned: files received, not yet taken */
    int nfdq;
    struct tf__stream_out *out_head; /* owned list */
    struct tf__stream_out *out_tail;
    bool out_armed; /* the epoll set waits for it to take more output */
};

/*
 * The peers of one end: on the master peers[1..npeers] (peers[0] unused),
 * on a worker peers[0], the master (npeers 0).
 */
struct tf__streams {
    struct tf__stream_peer *peers; /* owned */
    int npeers;
    int scan; /* where the next scan for a buffered frame starts */
    /* The master waits with epoll, whose cost grows with the sockets that
     * are ready rather than with all of them (a master of thousands of
     * ranks); a worker, or a master without it, with poll. */
    int epfd;                /* owned, or -1 */
    struct epoll_event *evs; /* owned, npeers + 1 */
    struct pollfd *pfds;     /* owned, npeers + 2 */
    int *pfd_peer;           /* owned */
};

/* What tf__streams_recv() returns when a peer's stream ended. */
#define TF__STREAM_ENDED 2

/* Makes S for NPEERS peers, none connected. Returns 0 or TF_ENOMEM. */
int tf__streams_init(struct tf__streams *s, int npeers);
/* Closes every peer and frees S; S may be zeroed or half made. */
void tf__streams_cleanup(struct tf__streams *s);
/* Makes FD (taken) peer I's socket. Returns 0, or TF_ESYS when it cannot
 * be watched (FD is closed then). */
int tf__streams_set(struct tf__streams *s, int i, int fd);
/* Closes peer I's socket and drops what it holds; it can be set again. */
void tf__streams_close(struct tf__streams *s, int i);
/* The file the epoll set of S is, for a forked child to close, or -1. */
int tf__streams_epoll_fd(const struct tf__streams *s);

/* Returns a new frame to queue, holding FRAME's memory (FRAME is left
 * empty and reusable), or NULL. */
struct tf__stream_out *tf__stream_out_take(struct tf_buf *frame);
/* Returns a new frame to queue that sends REF's frame (a reference is
 * taken), or NULL. */
struct tf__stream_out *tf__stream_out_ref(struct tf__frame_ref *ref);
void tf__stream_out_free(struct tf__stream_out *o);

/*
 * Queues O (taken) for P and writes what can be written without blocking.
 * A peer that is closed drops it: its loss is reported by recv.
 */
void tf__stream_queue(struct tf__stream_peer *p, struct tf__stream_out *o);
/* Writes N bytes at P to socket FD, waiting while it is full. Returns 0 or
 * -1 with errno set. */
int tf__stream_write_all(int fd, const unsigned char *p, size_t n);

/*
 * Waits up to TIMEOUT_MS (-1: forever) for a whole frame from peers
 * FIRST..LAST while writing what they have queued. Returns 1 with the frame
 * in FRAME and its sender in *PEER; 0 on timeout (or a signal); or
 * TF__STREAM_ENDED when *PEER's socket ended (at EOF or an error; the
 * frames it sent whole before are returned first), after which *PEER is
 * closed; or a negative code (TF_EPEER when no peer is left).
 */
int tf__streams_recv(struct tf__streams *s, int first, int last, int *peer,
                     struct tf_buf *frame, int timeout_ms,
                     struct tf_error *err);

/*
 * Takes the oldest file that came with P's bytes, for the frame just
 * received that names one. Returns it (owned by the caller) or -1.
 */
int tf__stream_take_fd(struct tf__stream_peer *p);

#endif /* TF_STREAM_H */
