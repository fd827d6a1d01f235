/* transport_fork.c - local workers: forked children over socketpairs */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
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
#include "stream.h"
#include "util.h"
#include "wire.h"

/* Frames sent with send_ref from this size on are passed as a mapped file. */
#define MAP_MIN ((size_t)1 << 20)

struct pgid_slot {
    int pgid;
    char pad[64 - sizeof(int)];
};

struct fork_impl {
    tf__worker_fn fn; /* what a worker runs, for respawn */
    void *arg;
    /* master: peers[1..npeers]; worker: peers[0] is the master */
    struct tf__streams s;
    pid_t *pids; /* owned: master: each worker's process, or 0 */
    /* master: [1..npeers], shared with the workers, each the process group
     * of the task its worker runs (tf_result_set_pgid()), or 0; a cache
     * line each, as each worker writes its own */
    volatile struct pgid_slot *pgids; /* owned mapping, or NULL */
};

static struct fork_impl *
impl_new(int npeers)
{
    struct fork_impl *im;

    im = calloc(1, sizeof(*im));
    if (im == NULL)
        return NULL;
    im->pids = calloc((size_t)npeers + 1, sizeof(*im->pids));
    if (im->pids == NULL || tf__streams_init(&im->s, npeers) < 0) {
        free(im->pids);
        free(im);
        return NULL;
    }
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
    if (im == NULL)
        return;
    if (im->pgids != NULL)
        munmap((void *)im->pgids,
               ((size_t)im->s.npeers + 1) * sizeof(*im->pgids));
    tf__streams_cleanup(&im->s);
    free(im->pids);
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
    for (i = 0; i <= im->s.npeers; i++)
        tf__streams_close(&im->s, i);
    if (t->rank == 0) {
        for (i = 1; i <= im->s.npeers; i++) {
            pid_t pid = im->pids[i];

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
        for (j = 1; j <= im->s.npeers; j++)
            if (im->s.peers[j].fd >= 0)
                close(im->s.peers[j].fd);
        if (tf__streams_epoll_fd(&im->s) >= 0)
            close(tf__streams_epoll_fd(&im->s));
        /* This child's copy of the master's state is not used. */
        wim = impl_new(0);
        if (wim == NULL || fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0)
            _exit(3);
        if (tf__streams_set(&wim->s, 0, sv[1]) < 0)
            _exit(3);
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
    im->pids[i] = pid;
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
        int e = errno;

        close(sv[0]);
        return tf__error_errno(err, TF_ESYS, e, "fcntl");
    }
    if (tf__streams_set(&im->s, i, sv[0]) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "epoll_ctl");
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
 * Reaps the process of worker I, whose socket closed, waiting up to about
 * a second for it to end. Returns the signal that ended it, or 0.
 */
static int
reap(struct fork_impl *im, int i)
{
    struct timespec nap = {0, 1000000};
    int status = 0;
    int k;

    for (k = 0; im->pids[i] > 0 && k < 1000; k++) {
        pid_t r = waitpid(im->pids[i], &status, WNOHANG);

        if (r == im->pids[i]) {
            im->pids[i] = 0;
            return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        }
        if (r < 0 && errno != EINTR) {
            im->pids[i] = 0;
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
    pid_t *pid;

    if (t->rank != 0 || peer < 1 || peer > im->s.npeers)
        return tf__error(err, TF_ETRANSPORT, "no worker %d", peer);
    pid = &im->pids[peer];
    tf__streams_close(&im->s, peer);
    /* Reap the one that ended, so it leaves no zombie; one that closed its
     * socket but lives on is ended first. */
    if (*pid > 0 && waitpid(*pid, NULL, WNOHANG) == 0)
        kill(*pid, SIGKILL);
    while (*pid > 0 && waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
        ;
    *pid = 0;
    end_task_group(im, peer);
    return spawn_worker(t, peer, err);
}

/* Queues O for PEER (the master's side) and starts sending it. */
static int
queue_out(struct fork_impl *im, int peer, struct tf__stream_out *o,
          struct tf_error *err)
{
    if (peer < 1 || peer > im->s.npeers) {
        tf__stream_out_free(o);
        return tf__error(err, TF_ETRANSPORT, "no worker %d", peer);
    }
    tf__stream_queue(&im->s.peers[peer], o);
    return 0;
}

static int
fork_send(struct tf__transport *t, int peer, struct tf_buf *frame,
          struct tf_error *err)
{
    struct fork_impl *im = t->impl;
    struct tf__stream_out *o;

    if (t->rank != 0) {
        struct tf__stream_peer *p = &im->s.peers[0];

        if (p->fd < 0 ||
            tf__stream_write_all(p->fd, frame->data, frame->len) < 0)
            return tf__error(err, TF_EPEER, "lost the master");
        tf_buf_reset(frame);
        return 0;
    }
    o = tf__stream_out_take(frame);
    if (o == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    return queue_out(im, peer, o, err);
}

static int
fork_send_ref(struct tf__transport *t, int peer, struct tf__frame_ref *ref,
              struct tf_error *err)
{
    struct fork_impl *im = t->impl;
    struct tf__stream_out *o;
    int rc = 0;

    if (t->rank != 0) {
        struct tf__stream_peer *p = &im->s.peers[0];

        if (p->fd < 0 ||
            tf__stream_write_all(p->fd, ref->buf.data, ref->buf.len) < 0)
            return tf__error(err, TF_EPEER, "lost the master");
        return 0;
    }
    o = tf__stream_out_ref(ref);
    if (o == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    /* A large frame made in a memory file (tf__frame_ref_alloc) is passed
     * as that file, for the worker to map; any other goes as bytes. */
    if (ref->buf.len >= MAP_MIN && ref->fd >= 0) {
        o->send_ref = false;
        rc = tf__wire_begin(&o->buf, TF__MSG_MAPPED);
        if (rc == 0)
            rc = tf__wire_put_u64(&o->buf, ref->buf.len);
        if (rc == 0)
            rc = tf__wire_end(&o->buf, err);
        o->pass_fd = ref->fd;
    }
    if (rc < 0) {
        tf__stream_out_free(o);
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
map_frame(struct tf__transport *t, struct tf__stream_peer *p,
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
    fd = tf__stream_take_fd(p);
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

static int
fork_recv(struct tf__transport *t, int *peer, struct tf_buf *frame,
          int timeout_ms, struct tf_error *err)
{
    struct fork_impl *im = t->impl;
    size_t payload;
    int type;
    int rc;

    rc = tf__streams_recv(&im->s, t->rank == 0 ? 1 : 0,
                          t->rank == 0 ? im->s.npeers : 0, peer, frame,
                          timeout_ms, err);
    if (rc == TF__STREAM_ENDED) {
        if (t->rank != 0)
            return tf__error(err, TF_EPEER, "lost the master");
        t->peer_signal = reap(im, *peer);
        end_task_group(im, *peer);
        if (t->peer_signal > 0)
            return tf__error(err, TF_EPEER,
                             "worker %d was killed by signal %d (%s)", *peer,
                             t->peer_signal, strsignal(t->peer_signal));
        return tf__error(err, TF_EPEER, "worker %d ended", *peer);
    }
    if (rc == 1 && t->rank != 0 &&
        tf__wire_header(frame->data, frame->len, &type, &payload, err) == 0 &&
        type == TF__MSG_MAPPED) {
        rc = map_frame(t, &im->s.peers[0], frame, err);
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

    for (i = 1; t->rank == 0 && i <= im->s.npeers; i++)
        if (im->pids[i] > 0)
            kill(im->pids[i], sig);
}

static void
fork_abort(struct tf__transport *t)
{
    struct fork_impl *im = t->impl;
    int i;

    if (im != NULL && t->rank == 0)
        for (i = 1; i <= im->s.npeers; i++)
            if (im->pids[i] > 0)
                kill(im->pids[i], SIGTERM);
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
