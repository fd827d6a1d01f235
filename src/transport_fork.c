/* transport_fork.c - local workers: forked children over socketpairs */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "util.h"
#include "wire.h"

#define READ_STEP (256 * 1024)
/* Frames sent with send_ref from this size on are passed as a mapped file. */
#define MAP_MIN ((size_t)1 << 20)

struct outbuf {
    struct outbuf *next;
    struct tf_buf buf; /* owned */
    struct tf__frame_ref *ref; /* a reference, or NULL */
    bool send_ref;             /* send REF's frame rather than BUF */
    int pass_fd;               /* REF's file, passed with the first byte */
    size_t off;
};

/* The bytes of O's frame. */
static const struct tf_buf *
outbuf_frame(const struct outbuf *o)
{
    return o->send_ref ? &o->ref->buf : &o->buf;
}

static void
outbuf_free(struct outbuf *o)
{
    tf_buf_cleanup(&o->buf);
    tf__frame_ref_put(o->ref);
    free(o);
}

#define MAX_FDQ 4

struct pgid_slot {
    int pgid;
    char pad[64 - sizeof(int)];
};

struct fork_peer {
    int fd; /* -1 once closed */
    pid_t pid;
    struct tf_buf in; /* owned */
    size_t in_off;
    int fdq[MAX_FDQ]; /* owned: files received and not yet taken */
    int nfdq;
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
    /* master: [1..npeers], shared with the workers, each the process group
     * of the task its worker runs (tf_result_set_pgid()), or 0; a cache
     * line each, as each worker writes its own */
    volatile struct pgid_slot *pgids; /* owned mapping, or NULL */
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
        outbuf_free(o);
    }
    p->out_tail = NULL;
    tf_buf_cleanup(&p->in);
    p->in_off = 0;
    while (p->nfdq > 0)
        close(p->fdq[--p->nfdq]);
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
    if (npeers > 0) {
        void *map = mmap(NULL, ((size_t)npeers + 1) * sizeof(*im->pgids),
                         PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                         -1, 0);

        /* Without it a dead worker's task is not ended: run on. */
        im->pgids = map != MAP_FAILED ? map : NULL;
    }
    return im;
}

/*
 * Ends the task that worker I was running when it died: its whole process
 * group, which would otherwise run on while the task runs again elsewhere.
 * The worker's process is reaped already, so the group's leader, whose pid
 * the group id is, cannot have been reused (the worker clears the slot
 * before it reaps its task).
 */
static void
end_task_group(struct fork_impl *im, int i)
{
    int pg;

    if (im->pgids == NULL)
        return;
    pg = im->pgids[i].pgid;
    im->pgids[i].pgid = 0;
    if (pg > 0)
        kill(-pg, SIGKILL);
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
    if (im->pgids != NULL)
        munmap((void *)im->pgids,
               ((size_t)im->npeers + 1) * sizeof(*im->pgids));
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
    if (t->mapped != NULL)
        munmap((void *)t->mapped, t->mapped_len);
    t->mapped = NULL;
    t->mapped_len = 0;
}

/* Forks the worker for slot I: a child that runs the worker function over
 * a socketpair and exits with its status. */
static int
spawn_worker(struct tf__transport *t, int i, struct tf_error *err)
{
    struct fork_impl *im = t->impl;
    int sv[2];
    pid_t master;
    pid_t pid;
    int j;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "socketpair");
    /* The child must not write out copies of the parent's stdio buffers. */
    fflush(NULL);
    master = getpid();
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
        /* A worker whose master dies is told so with SIGTERM, even in the
         * middle of a task, and ends instead of running on. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != master)
            _exit(3);
        tf__big_forget();
        for (j = 1; j <= im->npeers; j++)
            if (im->peers[j].fd >= 0)
                close(im->peers[j].fd);
        /* This child's copy of the master's state is not used. */
        wim = impl_new(0);
        if (wim == NULL || fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0)
            _exit(3);
        wim->peers[0].fd = sv[1];
        memset(&wt, 0, sizeof(wt));
        wt.ops = &tf__transport_fork;
        wt.rank = i;
        wt.nworkers = t->nworkers;
        wt.node_workers = t->nworkers;
        wt.local_worker = i - 1;
        wt.node = 0;
        wt.nnodes = 1;
        /* Every child has the master's CPU set. */
        wt.cpu_sharers = t->nworkers;
        wt.cpu_sharer = i - 1;
        wt.cpus_overlap = false;
        wt.worker_rc = 0;
        wt.mapped = NULL;
        wt.mapped_len = 0;
        wt.impl = wim;
        wt.task_pgid = im->pgids != NULL ? &im->pgids[i].pgid : NULL;
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
    t->local_worker = -1;
    t->node = 0;
    t->nnodes = 1;
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

/*
 * Reaps the process of worker P, whose socket closed, waiting up to about
 * a second for it to end. Returns the signal that ended it, or 0.
 */
static int
reap(struct fork_peer *p)
{
    struct timespec nap = {0, 1000000};
    int status = 0;
    int i;

    for (i = 0; p->pid > 0 && i < 1000; i++) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);

        if (r == p->pid) {
            p->pid = 0;
            return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        }
        if (r < 0 && errno != EINTR) {
            p->pid = 0;
            return 0;
        }
        nanosleep(&nap, NULL);
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
    /* Reap the one that ended, so it leaves no zombie; one that closed its
     * socket but lives on is ended first. */
    if (p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == 0)
        kill(p->pid, SIGKILL);
    while (p->pid > 0 && waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    p->pid = 0;
    end_task_group(im, peer);
    tf_buf_init(&p->in, 0);
    return spawn_worker(t, peer, err);
}

/* Writes what can be written of PEER's queue without blocking. */
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

static int
flush_peer(struct fork_peer *p)
{
    while (p->out_head != NULL) {
        struct outbuf *o = p->out_head;
        const struct tf_buf *f = outbuf_frame(o);
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
            outbuf_free(o);
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

/* Queues O for PEER (the master's side) and starts sending it. */
static int
queue_out(struct fork_impl *im, int peer, struct outbuf *o,
          struct tf_error *err)
{
    struct fork_peer *p;

    if (peer < 1 || peer > im->npeers) {
        outbuf_free(o);
        return tf__error(err, TF_ETRANSPORT, "no worker %d", peer);
    }
    p = &im->peers[peer];
    if (p->fd < 0) {
        outbuf_free(o); /* recv reported the loss already */
        return 0;
    }
    if (p->out_tail != NULL)
        p->out_tail->next = o;
    else
        p->out_head = o;
    p->out_tail = o;
    /* A dead peer shows up as EOF on the next recv. */
    (void)flush_peer(p);
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
    o = calloc(1, sizeof(*o));
    if (o == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    o->buf = *frame; /* take the frame's memory */
    o->pass_fd = -1;
    tf_buf_init(frame, frame->max);
    return queue_out(im, peer, o, err);
}

static int
fork_send_ref(struct tf__transport *t, int peer, struct tf__frame_ref *ref,
              struct tf_error *err)
{
    struct fork_impl *im = t->impl;
    struct outbuf *o;
    int rc = 0;

    if (t->rank != 0) {
        struct fork_peer *p = &im->peers[0];

        if (p->fd < 0 || send_blocking(p->fd, ref->buf.data, ref->buf.len) < 0)
            return tf__error(err, TF_EPEER, "lost the master");
        return 0;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    tf_buf_init(&o->buf, 0);
    o->ref = ref;
    ref->refs++;
    o->pass_fd = -1;
    /* A large frame made in a memory file (tf__frame_ref_alloc) is passed
     * as that file, for the worker to map; any other goes as bytes. */
    if (ref->buf.len >= MAP_MIN && ref->fd >= 0) {
        rc = tf__wire_begin(&o->buf, TF__MSG_MAPPED);
        if (rc == 0)
            rc = tf__wire_put_u64(&o->buf, ref->buf.len);
        if (rc == 0)
            rc = tf__wire_end(&o->buf, err);
        o->pass_fd = ref->fd;
    } else {
        o->send_ref = true;
    }
    if (rc < 0) {
        outbuf_free(o);
        return tf__error(err, rc, "cannot encode a message");
    }
    return queue_out(im, peer, o, err);
}

/* Frames made in a memory file from MAP_MIN bytes on go as that file. */
static bool
fork_maps(const struct tf__transport *t, size_t len)
{
    (void)t;
    return len >= MAP_MIN && tf__frame_ref_in_file(len);
}

/*
 * On a worker: maps the file that came with the TF__MSG_MAPPED frame in
 * FRAME from peer P, in place of the one mapped before.
 */
static int
map_frame(struct tf__transport *t, struct fork_peer *p,
          const struct tf_buf *frame, struct tf_error *err)
{
    struct tf__wire_reader r;
    struct stat st;
    uint64_t len;
    size_t payload;
    void *map;
    int type;
    int fd;
    int rc;

    tf__wire_reader_init(&r, frame->data + TF__WIRE_HDR,
                         frame->len - TF__WIRE_HDR);
    len = tf__wire_get_u64(&r);
    if (r.bad || r.p != r.end || len < TF__WIRE_HDR || p->nfdq == 0)
        return tf__error(err, TF_EPROTO, "malformed MAPPED message");
    fd = p->fdq[0];
    memmove(p->fdq, p->fdq + 1, (size_t)(--p->nfdq) * sizeof(int));
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != len) {
        close(fd);
        return tf__error(err, TF_EPROTO, "a mapped message of the wrong size");
    }
    map = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return tf__error_errno(err, TF_ESYS, errno, "mmap");
    rc = tf__wire_header(map, (size_t)len, &type, &payload, err);
    if (rc == 0 && TF__WIRE_HDR + payload != len)
        rc = tf__error(err, TF_EPROTO, "a mapped message of the wrong size");
    if (rc < 0) {
        munmap(map, (size_t)len);
        return rc;
    }
    if (t->mapped != NULL)
        munmap((void *)t->mapped, t->mapped_len);
    t->mapped = map;
    t->mapped_len = (size_t)len;
    t->mapped_shared = true;
    return 0;
}

/* Reads what is available from P. Returns 1 when the peer closed. */
static int
read_peer(struct fork_peer *p, struct tf_error *err)
{
    for (;;) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(MAX_FDQ * sizeof(int))];
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
                if (p->nfdq < MAX_FDQ)
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
recv_frame(struct tf__transport *t, int *peer, struct tf_buf *frame,
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
                    if (t->rank != 0)
                        return tf__error(err, TF_EPEER, "lost the master");
                    t->peer_signal = reap(p);
                    end_task_group(im, *peer);
                    if (t->peer_signal > 0)
                        return tf__error(err, TF_EPEER,
                                         "worker %d was killed by signal %d "
                                         "(%s)",
                                         *peer, t->peer_signal,
                                         strsignal(t->peer_signal));
                    return tf__error(err, TF_EPEER, "worker %d ended", *peer);
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

static int
fork_recv(struct tf__transport *t, int *peer, struct tf_buf *frame,
          int timeout_ms, struct tf_error *err)
{
    size_t payload;
    int type;
    int rc;

    rc = recv_frame(t, peer, frame, timeout_ms, err);
    if (rc == 1 && t->rank != 0 &&
        tf__wire_header(frame->data, frame->len, &type, &payload, err) == 0 &&
        type == TF__MSG_MAPPED) {
        struct fork_impl *im = t->impl;

        rc = map_frame(t, &im->peers[0], frame, err);
        if (rc == 0)
            rc = 1;
    }
    return rc;
}

static void
fork_signal(struct tf__transport *t, int sig)
{
    struct fork_impl *im = t->impl;
    int i;

    for (i = 1; t->rank == 0 && i <= im->npeers; i++)
        if (im->peers[i].pid > 0)
            kill(im->peers[i].pid, sig);
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
    .send_ref = fork_send_ref,
    .maps = fork_maps,
    .respawn = fork_respawn,
    .signal = fork_signal,
    .abort = fork_abort,
};
