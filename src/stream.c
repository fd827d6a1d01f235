/* stream.c - frames over stream sockets, for the fork and mpi transports */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"
#include "wire.h"

#define READ_STEP (256 * 1024)

int
tf__streams_init(struct tf__streams *s, int npeers)
{
    int i;

    memset(s, 0, sizeof(*s));
    s->epfd = -1;
    s->peers = calloc((size_t)npeers + 1, sizeof(*s->peers));
    s->pfds = calloc((size_t)npeers + 2, sizeof(*s->pfds));
    s->pfd_peer = calloc((size_t)npeers + 2, sizeof(*s->pfd_peer));
    s->evs = calloc((size_t)npeers + 1, sizeof(*s->evs));
    if (s->peers == NULL || s->pfds == NULL || s->pfd_peer == NULL ||
        s->evs == NULL) {
        tf__streams_cleanup(s);
        return TF_ENOMEM;
    }
    /* Without epoll, poll does the same, slower with many peers. */
    if (npeers > 0)
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
    for (i = 0; i <= npeers; i++) {
        s->peers[i].fd = -1;
        tf_buf_init(&s->peers[i].in, 0);
    }
    s->npeers = npeers;
    s->scan = 1;
    return 0;
}

void
tf__stream_out_free(struct tf__stream_out *o)
{
    tf_buf_cleanup(&o->buf);
    tf__frame_ref_put(o->ref);
    free(o);
}

void
tf__stream_close(struct tf__stream_peer *p)
{
    struct tf__stream_out *o;

    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    while (p->out_head != NULL) {
        o = p->out_head;
        p->out_head = o->next;
        tf__stream_out_free(o);
    }
    p->out_tail = NULL;
    tf_buf_cleanup(&p->in);
    tf_buf_init(&p->in, 0);
    p->in_off = 0;
    while (p->nfdq > 0)
        close(p->fdq[--p->nfdq]);
}

void
tf__streams_cleanup(struct tf__streams *s)
{
    int i;

    for (i = 0; s->peers != NULL && i <= s->npeers; i++)
        tf__stream_close(&s->peers[i]);
    if (s->epfd >= 0)
        close(s->epfd);
    free(s->peers);
    free(s->pfds);
    free(s->pfd_peer);
    free(s->evs);
    memset(s, 0, sizeof(*s));
    s->epfd = -1;
}

int
tf__streams_set(struct tf__streams *s, int i, int fd)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u32 = (uint32_t)i;
    if (s->epfd >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return TF_ESYS;
    }
    s->peers[i].fd = fd;
    s->peers[i].out_armed = false;
    return 0;
}

void
tf__streams_close(struct tf__streams *s, int i)
{
    /* Out of the set first: a forked child may still hold a copy of the
     * socket, which would keep it there. */
    if (s->epfd >= 0 && s->peers[i].fd >= 0)
        (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->peers[i].fd, NULL);
    tf__stream_close(&s->peers[i]);
}

int
tf__streams_epoll_fd(const struct tf__streams *s)
{
    return s->epfd;
}

struct tf__stream_out *
tf__stream_out_take(struct tf_buf *frame)
{
    struct tf__stream_out *o = calloc(1, sizeof(*o));

    if (o == NULL)
        return NULL;
    o->buf = *frame;
    o->pass_fd = -1;
    tf_buf_init(frame, frame->max);
    return o;
}

struct tf__stream_out *
tf__stream_out_ref(struct tf__frame_ref *ref)
{
    struct tf__stream_out *o = calloc(1, sizeof(*o));

    if (o == NULL)
        return NULL;
    tf_buf_init(&o->buf, 0);
    o->ref = ref;
    ref->refs++;
    o->send_ref = true;
    o->pass_fd = -1;
    return o;
}

/* The bytes of O's frame. */
static const struct tf_buf *
out_frame(const struct tf__stream_out *o)
{
    return o->send_ref ? &o->ref->buf : &o->buf;
}

/* Sends up to N bytes at P with FD attached, without blocking. */
static ssize_t
send_fd(int sock, const unsigned char *p, size_t n, int fd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
    struct msghdr msg;
    struct cmsghdr *c;

    memset(&msg, 0, sizeof(msg));
    memset(&u, 0, sizeof(u));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Writes what can be written of P's queue without blocking. Returns 0, or
 * -1 when the socket failed. */
static int
flush_peer(struct tf__stream_peer *p)
{
    while (p->out_head != NULL) {
        struct tf__stream_out *o = p->out_head;
        const struct tf_buf *f = out_frame(o);
        ssize_t w;

        if (o->pass_fd >= 0) {
            w = send_fd(p->fd, f->data + o->off, f->len - o->off,
                        o->pass_fd);
            if (w > 0)
                o->pass_fd = -1;
        } else {
            w = send(p->fd, f->data + o->off, f->len - o->off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        o->off += (size_t)w;
        if (o->off == f->len) {
            p->out_head = o->next;
            if (p->out_head == NULL)
                p->out_tail = NULL;
            tf__stream_out_free(o);
        }
    }
    return 0;
}

int
tf__stream_write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};

                if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                    return -1;
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void
tf__stream_queue(struct tf__stream_peer *p, struct tf__stream_out *o)
{
    if (p->fd < 0) {
        tf__stream_out_free(o); /* recv reported the loss already */
        return;
    }
    if (p->out_tail != NULL)
        p->out_tail->next = o;
    else
        p->out_head = o;
    p->out_tail = o;
    /* A dead peer shows up as EOF on the next recv. */
    (void)flush_peer(p);
}

int
tf__stream_take_fd(struct tf__stream_peer *p)
{
    int fd;

    if (p->nfdq == 0)
        return -1;
    fd = p->fdq[0];
    memmove(p->fdq, p->fdq + 1, (size_t)(--p->nfdq) * sizeof(int));
    return fd;
}

/* Reads what is available from P. Returns 1 when the peer closed. */
static int
read_peer(struct tf__stream_peer *p, struct tf_error *err)
{
    for (;;) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(TF__STREAM_MAX_FDQ * sizeof(int))];
        } u;
        struct msghdr msg;
        struct iovec iov;
        struct cmsghdr *c;
        ssize_t r;
        int rc;

        rc = tf_buf_reserve(&p->in, READ_STEP);
        if (rc < 0)
            return tf__error(err, rc, "out of memory");
        iov.iov_base = p->in.data + p->in.len;
        iov.iov_len = p->in.cap - p->in.len - 1;
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        r = recvmsg(p->fd, &msg, MSG_CMSG_CLOEXEC);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return 1;
        }
        /* Files passed with the bytes wait for their MAPPED frames. */
        for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
            size_t k, nfd;

            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (k = 0; k < nfd; k++) {
                int fd;

                memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
                if (p->nfdq < TF__STREAM_MAX_FDQ)
                    p->fdq[p->nfdq++] = fd;
                else
                    close(fd);
            }
        }
        if (r == 0)
            return 1;
        p->in.len += (size_t)r;
        p->in.data[p->in.len] = '\0';
        if ((size_t)r < READ_STEP)
            return 0;
    }
}

/* Takes a whole frame buffered from one of peers FIRST..LAST, fairly. */
static int
take_buffered(struct tf__streams *s, int first, int last, int *peer,
              struct tf_buf *frame, struct tf_error *err)
{
    int n = last - first + 1;
    int k;

    for (k = 0; k < n; k++) {
        int i = first + (s->scan - first + k) % n;
        struct tf__stream_peer *p = &s->peers[i];
        int rc;

        if (p->in.len - p->in_off < TF__WIRE_HDR)
            continue;
        rc = tf__transport_take_frame(&p->in, &p->in_off, frame, err);
        if (rc != 0) {
            *peer = i;
            s->scan = first + (i - first + 1) % n;
            return rc;
        }
    }
    return 0;
}

/*
 * Waits up to TIMEOUT_MS for peers FIRST..LAST to be ready, and puts them
 * in s->pfd_peer with what they are ready for in s->pfds[k].revents.
 * Returns how many, 0 on timeout, or a negative code.
 */
static int
wait_ready(struct tf__streams *s, int first, int last, int timeout_ms,
           struct tf_error *err)
{
    int nfds = 0;
    int n;
    int i;

    if (s->epfd >= 0) {
        bool any = false;

        for (i = first; i <= last; i++) {
            struct tf__stream_peer *p = &s->peers[i];
            bool want = p->out_head != NULL;

            if (p->fd < 0)
                continue;
            any = true;
            if (want != p->out_armed) {
                struct epoll_event ev;

                memset(&ev, 0, sizeof(ev));
                ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
                ev.data.u32 = (uint32_t)i;
                if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, p->fd, &ev) == 0)
                    p->out_armed = want;
            }
        }
        if (!any)
            return tf__error(err, TF_EPEER, "no peers left");
        n = epoll_wait(s->epfd, s->evs, s->npeers + 1, timeout_ms);
        if (n < 0) {
            if (errno == EINTR)
                return 0;
            return tf__error_errno(err, TF_ESYS, errno, "epoll_wait");
        }
        for (i = 0; i < n; i++) {
            int peer = (int)s->evs[i].data.u32;
            uint32_t e = s->evs[i].events;

            if (peer < first || peer > last || s->peers[peer].fd < 0)
                continue;
            s->pfd_peer[nfds] = peer;
            s->pfds[nfds].revents =
                (short)(((e & EPOLLIN) ? POLLIN : 0) |
                        ((e & EPOLLOUT) ? POLLOUT : 0) |
                        ((e & EPOLLHUP) ? POLLHUP : 0) |
                        ((e & EPOLLERR) ? POLLERR : 0));
            nfds++;
        }
        return nfds;
    }
    for (i = first; i <= last; i++) {
        struct tf__stream_peer *p = &s->peers[i];

        if (p->fd < 0)
            continue;
        s->pfds[nfds].fd = p->fd;
        s->pfds[nfds].events = POLLIN;
        if (p->out_head != NULL)
            s->pfds[nfds].events |= POLLOUT;
        s->pfds[nfds].revents = 0;
        s->pfd_peer[nfds] = i;
        nfds++;
    }
    if (nfds == 0)
        return tf__error(err, TF_EPEER, "no peers left");
    n = poll(s->pfds, (nfds_t)nfds, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return tf__error_errno(err, TF_ESYS, errno, "poll");
    }
    if (n == 0)
        return 0;
    /* The ready ones first, in the order of the peers. */
    n = 0;
    for (i = 0; i < nfds; i++) {
        if (s->pfds[i].revents == 0)
            continue;
        s->pfds[n].revents = s->pfds[i].revents;
        s->pfd_peer[n] = s->pfd_peer[i];
        n++;
    }
    return n;
}

int
tf__streams_recv(struct tf__streams *s, int first, int last, int *peer,
                 struct tf_buf *frame, int timeout_ms, struct tf_error *err)
{
    for (;;) {
        int nready;
        int i;
        int rc;

        rc = take_buffered(s, first, last, peer, frame, err);
        if (rc != 0)
            return rc;
        nready = wait_ready(s, first, last, timeout_ms, err);
        if (nready <= 0)
            return nready;
        for (i = 0; i < nready; i++) {
            int k = s->pfd_peer[i];
            struct tf__stream_peer *p = &s->peers[k];
            short re = s->pfds[i].revents;

            if (p->fd < 0)
                continue;
            if (re & POLLOUT) {
                if (flush_peer(p) < 0)
                    re |= POLLHUP;
            }
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                rc = read_peer(p, err);
                if (rc < 0)
                    return rc;
                if (rc == 1) {
                    /* Frames that arrived whole before the end still
                     * count; the end is seen again on the next call. */
                    rc = take_buffered(s, k, k, peer, frame, err);
                    if (rc != 0)
                        return rc;
                    tf__streams_close(s, k);
                    *peer = k;
                    return TF__STREAM_ENDED;
                }
            }
        }
        /* Data arrived; the loop takes a frame if one is complete. Only a
         * positive timeout is restarted in full, which is harmless here:
         * callers use recv with a timeout as a bounded nap. */
        if (timeout_ms == 0)
            return take_buffered(s, first, last, peer, frame, err);
    }
}
