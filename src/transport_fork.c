/* transport_fork.c - local workers: forked children over socketpairs */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "wire.h"

#define READ_STEP (256 * 1024)

struct outbuf {
    struct outbuf *next;
    struct tf_buf buf; /* owned */
    size_t off;
};

struct fork_peer {
    int fd; /* -1 once closed */
    pid_t pid;
    struct tf_buf in; /* owned */
    size_t in_off;
    struct outbuf *out_head; /* owned list */
    struct outbuf *out_tail;
};

struct fork_impl {
    tf__worker_fn fn; /* what a worker runs, for respawn */
    void *arg;
    /* master: peers[1..npeers]; worker: peers[0] is the master */
    struct fork_peer *peers; /* owned */
    int npeers;
    int scan; /* where the next scan for a buffered frame starts */
    struct pollfd *pfds; /* owned */
    int *pfd_peer;       /* owned */
};

static void
peer_close(struct fork_peer *p)
{
    struct outbuf *o;

    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    while (p->out_head != NULL) {
        o = p->out_head;
        p->out_head = o->next;
        tf_buf_cleanup(&o->buf);
        free(o);
    }
    p->out_tail = NULL;
    tf_buf_cleanup(&p->in);
    p->in_off = 0;
}

static struct fork_impl *
impl_new(int npeers)
{
    struct fork_impl *im;
    int i;

    im = calloc(1, sizeof(*im));
    if (im == NULL)
        return NULL;
    im->peers = calloc((size_t)npeers + 1, sizeof(*im->peers));
    im->pfds = calloc((size_t)npeers + 1, sizeof(*im->pfds));
    im->pfd_peer = calloc((size_t)npeers + 1, sizeof(*im->pfd_peer));
    if (im->peers == NULL || im->pfds == NULL || im->pfd_peer == NULL) {
        free(im->peers);
        free(im->pfds);
        free(im->pfd_peer);
        free(im);
        return NULL;
    }
    for (i = 0; i <= npeers; i++) {
        im->peers[i].fd = -1;
        tf_buf_init(&im->peers[i].in, 0);
    }
    im->npeers = npeers;
    im->scan = 1;
    return im;
}

static void
impl_free(struct fork_impl *im)
{
    int i;

    if (im == NULL)
        return;
    for (i = 0; i <= im->npeers; i++)
        peer_close(&im->peers[i]);
    free(im->peers);
    free(im->pfds);
    free(im->pfd_peer);
    free(im);
}

static void
fork_close(struct tf__transport *t)
{
    struct fork_impl *im = t->impl;
    int i;

    if (im == NULL)
        return;
    /* Closing the sockets tells any worker still running to end. */
    for (i = 0; i <= im->npeers; i++)
        peer_close(&im->peers[i]);
    if (t->rank == 0) {
        for (i = 1; i <= im->npeers; i++) {
            pid_t pid = im->peers[i].pid;

            while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
    }
    impl_free(im);
    t->impl = NULL;
}

/* Forks the worker for slot I: a child that runs the worker function over
 * a socketpair and exits with its status. */
static int
spawn_worker(struct tf__transport *t, int i, struct tf_error *err)
{
    struct fork_impl *im = t->impl;
    int sv[2];
    pid_t pid;
    int j;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "socketpair");
    /* The child must not write out copies of the parent's stdio buffers. */
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        int e = errno;

        close(sv[0]);
        close(sv[1]);
        return tf__error_errno(err, TF_ESYS, e, "fork");
    }
    if (pid == 0) {
        struct tf__transport wt;
        struct fork_impl *wim;
        int rc;

        close(sv[0]);
        for (j = 1; j <= im->npeers; j++)
            if (im->peers[j].fd >= 0)
                close(im->peers[j].fd);
        /* This child's copy of the master's state is not used. */
        wim = impl_new(0);
        if (wim == NULL || fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0)
            _exit(3);
        wim->peers[0].fd = sv[1];
        wt.ops = &tf__transport_fork;
        wt.rank = i;
        wt.nworkers = t->nworkers;
        wt.node_workers = t->nworkers;
        wt.worker_rc = 0;
        wt.impl = wim;
        rc = im->fn(&wt, im->arg);
        fork_close(&wt);
        _exit(rc < 0 ? 3 : rc);
    }
    close(sv[1]);
    im->peers[i].fd = sv[0];
    im->peers[i].pid = pid;
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "fcntl");
    return 0;
}

static int
fork_open(struct tf__transport *t, int nworkers, tf__worker_fn fn, void *arg,
          struct tf_error *err)
{
    struct fork_impl *im;
    int i;
    int rc;

    t->impl = NULL;
    t->rank = 0;
    t->nworkers = nworkers;
    t->node_workers = nworkers;
    if (nworkers < 1)
        return tf__error(err, TF_EUSAGE, "need at least one worker");
    im = impl_new(nworkers);
    if (im == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    im->fn = fn;
    im->arg = arg;
    t->impl = im;
    for (i = 1; i <= nworkers; i++) {
        rc = spawn_worker(t, i, err);
        if (rc < 0) {
            fork_close(t);
            return rc;
        }
    }
    return 0;
}

static int
fork_respawn(struct tf__transport *t, int peer, struct tf_error *err)
{
    struct fork_impl *im = t->impl;
    struct fork_peer *p;

    if (t->rank != 0 || peer < 1 || peer > im->npeers)
        return tf__error(err, TF_ETRANSPORT, "no worker %d", peer);
    p = &im->peers[peer];
    peer_close(p);
    /* Reap the one that ended, so it leaves no zombie. */
    while (p->pid > 0 && waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    p->pid = 0;
    tf_buf_init(&p->in, 0);
    return spawn_worker(t, peer, err);
}

/* Writes what can be written of PEER's queue without blocking. */
static int
flush_peer(struct fork_peer *p)
{
    while (p->out_head != NULL) {
        struct outbuf *o = p->out_head;
        ssize_t w;

        w = send(p->fd, o->buf.data + o->off, o->buf.len - o->off,
                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        o->off += (size_t)w;
        if (o->off == o->buf.len) {
            p->out_head = o->next;
            if (p->out_head == NULL)
                p->out_tail = NULL;
            tf_buf_cleanup(&o->buf);
            free(o);
        }
    }
    return 0;
}

static int
send_blocking(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};

                poll(&pfd, 1, -1);
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
fork_send(struct tf__transport *t, int peer, struct tf_buf *frame,
          struct tf_error *err)
{
    struct fork_impl *im = t->impl;
    struct fork_peer *p;
    struct outbuf *o;

    if (t->rank != 0) {
        p = &im->peers[0];
        if (p->fd < 0 || send_blocking(p->fd, frame->data, frame->len) < 0)
            return tf__error(err, TF_EPEER, "lost the master");
        tf_buf_reset(frame);
        return 0;
    }
    if (peer < 1 || peer > im->npeers)
        return tf__error(err, TF_ETRANSPORT, "no worker %d", peer);
    p = &im->peers[peer];
    if (p->fd < 0) {
        tf_buf_reset(frame); /* recv reported the loss already */
        return 0;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    o->buf = *frame; /* take the frame's memory */
    tf_buf_init(frame, frame->max);
    if (p->out_tail != NULL)
        p->out_tail->next = o;
    else
        p->out_head = o;
    p->out_tail = o;
    /* A dead peer shows up as EOF on the next recv. */
    (void)flush_peer(p);
    return 0;
}

/* Reads what is available from P. Returns 1 when the peer closed. */
static int
read_peer(struct fork_peer *p, struct tf_error *err)
{
    for (;;) {
        ssize_t r;
        int rc;

        rc = tf_buf_reserve(&p->in, READ_STEP);
        if (rc < 0)
            return tf__error(err, rc, "out of memory");
        r = read(p->fd, p->in.data + p->in.len, p->in.cap - p->in.len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return 1;
        }
        if (r == 0)
            return 1;
        p->in.len += (size_t)r;
        p->in.data[p->in.len] = '\0';
        if ((size_t)r < READ_STEP)
            return 0;
    }
}

static int
take_buffered(struct fork_impl *im, int first, int last, int *peer,
              struct tf_buf *frame, struct tf_error *err)
{
    int n = last - first + 1;
    int k;

    for (k = 0; k < n; k++) {
        int i = first + (im->scan - first + k) % n;
        struct fork_peer *p = &im->peers[i];
        int rc;

        if (p->in.len - p->in_off < TF__WIRE_HDR)
            continue;
        rc = tf__transport_take_frame(&p->in, &p->in_off, frame, err);
        if (rc != 0) {
            *peer = i;
            im->scan = first + (i - first + 1) % n;
            return rc;
        }
    }
    return 0;
}

static int
fork_recv(struct tf__transport *t, int *peer, struct tf_buf *frame,
          int timeout_ms, struct tf_error *err)
{
    struct fork_impl *im = t->impl;
    int first = t->rank == 0 ? 1 : 0;
    int last = t->rank == 0 ? im->npeers : 0;

    for (;;) {
        int nfds = 0;
        int i;
        int rc;

        rc = take_buffered(im, first, last, peer, frame, err);
        if (rc != 0)
            return rc;
        for (i = first; i <= last; i++) {
            struct fork_peer *p = &im->peers[i];

            if (p->fd < 0)
                continue;
            im->pfds[nfds].fd = p->fd;
            im->pfds[nfds].events = POLLIN;
            if (p->out_head != NULL)
                im->pfds[nfds].events |= POLLOUT;
            im->pfds[nfds].revents = 0;
            im->pfd_peer[nfds] = i;
            nfds++;
        }
        if (nfds == 0)
            return tf__error(err, TF_EPEER, "no peers left");
        rc = poll(im->pfds, (nfds_t)nfds, timeout_ms);
        if (rc < 0) {
            if (errno == EINTR)
                return 0;
            return tf__error_errno(err, TF_ESYS, errno, "poll");
        }
        if (rc == 0)
            return 0;
        for (i = 0; i < nfds; i++) {
            struct fork_peer *p = &im->peers[im->pfd_peer[i]];
            short re = im->pfds[i].revents;

            if (re & POLLOUT) {
                if (flush_peer(p) < 0)
                    re |= POLLHUP;
            }
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                rc = read_peer(p, err);
                if (rc < 0)
                    return rc;
                if (rc == 1) {
                    /* Frames that arrived whole before the EOF still count. */
                    rc = take_buffered(im, im->pfd_peer[i], im->pfd_peer[i],
                                       peer, frame, err);
                    if (rc != 0)
                        return rc;
                    peer_close(p);
                    *peer = im->pfd_peer[i];
                    return tf__error(err, TF_EPEER, "%s %d closed its end",
                                     t->rank == 0 ? "worker" : "master",
                                     *peer);
                }
            }
        }
        /* Data arrived; the loop takes a frame if one is complete. Only a
         * positive timeout is restarted in full, which is harmless here:
         * callers use recv with a timeout as a bounded nap. */
        if (timeout_ms == 0) {
            rc = take_buffered(im, first, last, peer, frame, err);
            return rc;
        }
    }
}

static void
fork_abort(struct tf__transport *t)
{
    struct fork_impl *im = t->impl;
    int i;

    if (im != NULL && t->rank == 0)
        for (i = 1; i <= im->npeers; i++)
            if (im->peers[i].pid > 0)
                kill(im->peers[i].pid, SIGTERM);
    fork_close(t);
}

const struct tf__transport_ops tf__transport_fork = {
    .name = "fork",
    .open = fork_open,
    .send = fork_send,
    .recv = fork_recv,
    .close = fork_close,
    .respawn = fork_respawn,
    .abort = fork_abort,
};
