/* transport_mpi.c - ranks of MPI_COMM_WORLD; the only file that includes mpi.h */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "error.h"
#include "stream.h"
#include "util.h"
#include "wire.h"

/*
 * MPI starts the ranks and tells each where it is; the frames between the
 * master and a worker then go over a socket of their own (a Unix socket on
 * the master's node, TCP elsewhere), read and written as the fork
 * transport does. A worker that dies closes its socket, and one that goes
 * silent (its node lost, its network down) fails TCP's keepalive probes
 * within the time TASKFARM_LOST_AFTER sets: either way the master learns
 * it as the end of a stream, which MPI point-to-point cannot tell it (a
 * dead peer hangs or aborts the job). Large shared data still goes by MPI:
 * a broadcast into one shared memory window per node, while no worker is
 * lost.
 */

/* Shared data from this size on goes by broadcast into one shared memory
 * window per node; smaller data goes to each worker as a frame. */
#define WINDOW_MIN ((size_t)1 << 20)
/* The steps of a TF__MSG_WINDOW message. */
#define STEP_MAKE 1 /* to the master's node: make a window with the master */
#define STEP_FILL 2 /* to all: the frame is in the window (or on its way) */
#define STEP_END 3  /* to all, last: the length is the number of workers
                       lost; with none, every rank leaves MPI properly */
/* A lost peer is noticed within this many seconds by default. */
#define LOST_AFTER_S 10
/* How long a worker whose master went away waits before it exits. */
#define VANISHED_GRACE_S 2
/* How long the workers have to connect to the master. */
#define CONNECT_S 60
/* The greeting each end of a new connection sends: magic, the worker's
 * rank and the run's cookie, all big-endian. */
#define GREET_MAGIC 0x54464331u /* "TFC1" */
#define GREET_LEN 16
/* Files the master may keep open besides its workers' sockets: room for
 * as many, and at the least as few. */
#define FILES_OWN 256
#define FILES_MIN 32
/* The master's addresses passed to the workers at most. */
#define MAX_ADDRS 16

/* Where the workers find the master; broadcast from rank 0. */
struct rendezvous {
    uint64_t cookie;
    uint32_t port; /* TCP, host order */
    uint32_t naddrs;
    uint32_t addrs[MAX_ADDRS]; /* IPv4, network order */
};

/* A frame of shared data in memory of the node's, which every rank of the
 * node maps: the window holds it in the node's first rank. */
struct window {
    MPI_Win win; /* MPI_WIN_NULL: none */
    unsigned char *base;
    size_t len;
};

struct mpi_impl {
    MPI_Comm comm;
    MPI_Comm node;    /* the ranks of this rank's node */
    MPI_Comm leaders; /* the master and the first rank of every other node;
                         MPI_COMM_NULL on the other ranks */
    bool master_node; /* the master is on this rank's node */
    int *mates;       /* master: the workers on its node (owned) */
    int nmates;
    /* The node's windows: the one being filled (the master's node only),
     * the one the workers read, and the one before it, kept on the
     * master's node until the next is made (freeing is collective, and the
     * master does not wait for its node's busy workers then). */
    struct window next, cur, old;
    MPI_Request bcast; /* master: the broadcast of cur, or MPI_REQUEST_NULL */
    bool we_initialised;
    /* The sockets: on the master peers 1..nworkers, on a worker peer 0. */
    struct tf__streams s;
    bool *gone;     /* master: [1..nworkers], reported lost or ended */
    int nlost;      /* master: workers lost; worker: what END said */
    int nmissing;   /* master: workers that never connected, not yet
                       reported lost */
    bool ended;     /* worker: END came (or the master is gone) */
    bool vanished;  /* worker: the master went without an END */
    int lost_after; /* seconds */
    /* The guardian: a process that ends the task this rank runs should
     * the rank die (see start_guardian()). */
    volatile int *pgid; /* owned shared page, or NULL */
    int guard_fd;       /* the pipe's end whose closing wakes it, or -1 */
    pid_t guard_pid;    /* the guardian, or 0 */
};

static int
mpi_check(int mpirc, const char *what, struct tf_error *err)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;

    if (mpirc == MPI_SUCCESS)
        return 0;
    if (MPI_Error_string(mpirc, text, &len) != MPI_SUCCESS)
        len = 0;
    text[len] = '\0';
    return tf__error(err, TF_ETRANSPORT, "%s: %s", what, text);
}

/* The seconds of silence after which a peer counts as lost. */
static int
lost_after_s(void)
{
    const char *v = getenv("TASKFARM_LOST_AFTER");
    char *end;
    long n;

    if (v == NULL || *v == '\0')
        return LOST_AFTER_S;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 2 || n > 86400)
        return LOST_AFTER_S;
    return (int)n;
}

/*
 * Tunes a TCP socket: no delay for small frames, and keepalive probes
 * with a limit on unacknowledged data such that a peer that goes silent
 * fails the socket after about LOST seconds.
 */
static void
tune_tcp(int fd, int lost)
{
    int one = 1;
    int idle = lost / 3 > 0 ? lost / 3 : 1;
    int intvl = lost / 8 > 0 ? lost / 8 : 1;
    int cnt = (lost - idle) / intvl > 0 ? (lost - idle) / intvl : 1;
    unsigned int user = (unsigned int)lost * 1000u;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user, sizeof(user));
}

/* The abstract Unix socket of the run whose cookie is COOKIE, in SA; the
 * length of the address. */
static socklen_t
unix_name(struct sockaddr_un *sa, uint64_t cookie)
{
    int n;

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
                 "taskfarm-%016llx", (unsigned long long)cookie);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                       (size_t)n);
}

static void
put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t
get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
greeting(unsigned char *g, int rank, uint64_t cookie)
{
    put_be32(g, GREET_MAGIC);
    put_be32(g + 4, (uint32_t)rank);
    put_be32(g + 8, (uint32_t)(cookie >> 32));
    put_be32(g + 12, (uint32_t)cookie);
}

/* Reads or writes (WRITE) exactly GREET_LEN bytes at G on FD within
 * TIMEOUT_MS. Returns 0 or -1. */
static int
greet_io(int fd, unsigned char *g, bool write, int timeout_ms)
{
    uint64_t until = tf__now_us() + (uint64_t)timeout_ms * 1000u;
    size_t done = 0;

    while (done < GREET_LEN) {
        struct pollfd pfd = {.fd = fd, .events = write ? POLLOUT : POLLIN};
        uint64_t now = tf__now_us();
        ssize_t n;

        if (now >= until ||
            poll(&pfd, 1, (int)((until - now) / 1000u) + 1) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (pfd.revents == 0)
            continue;
        n = write ? send(fd, g + done, GREET_LEN - done,
                         MSG_NOSIGNAL | MSG_DONTWAIT)
                  : recv(fd, g + done, GREET_LEN - done, MSG_DONTWAIT);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/*
 * Worker: connects to the master at SA (LEN bytes), greets it as RANK and
 * waits for the greeting back. Returns the socket, or -1 with errno set.
 */
static int
try_connect(const struct sockaddr *sa, socklen_t len, int rank,
            uint64_t cookie, int lost)
{
    unsigned char mine[GREET_LEN];
    unsigned char back[GREET_LEN];
    struct pollfd pfd;
    socklen_t elen = sizeof(int);
    int e = 0;
    int fd;

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, sa, len) < 0) {
        if (errno != EINPROGRESS)
            goto fail;
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, 3000) <= 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
            goto fail;
        if (e != 0) {
            errno = e;
            goto fail;
        }
    }
    greeting(mine, rank, cookie);
    if (greet_io(fd, mine, true, 3000) < 0 ||
        greet_io(fd, back, false, 10000) < 0 ||
        memcmp(mine, back, GREET_LEN) != 0) {
        errno = ECONNREFUSED;
        goto fail;
    }
    if (sa->sa_family == AF_INET)
        tune_tcp(fd, lost);
    return fd;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

/*
 * Worker: connects to the master: over its node's Unix socket when it
 * shares the master's node, else to each of its addresses in turn, until
 * one answers or CONNECT_S seconds have passed.
 */
static int
connect_master(struct tf__transport *t, struct mpi_impl *im,
               const struct rendezvous *rv, struct tf_error *err)
{
    uint64_t until = tf__now_us() + (uint64_t)CONNECT_S * 1000000u;
    char where[INET_ADDRSTRLEN + 8] = "";
    int e = 0;

    for (;;) {
        struct timespec nap = {0, 100000000L};
        uint32_t i;
        int fd = -1;

        if (im->master_node) {
            struct sockaddr_un un;
            socklen_t len = unix_name(&un, rv->cookie);

            fd = try_connect((struct sockaddr *)&un, len, t->rank,
                             rv->cookie, im->lost_after);
            if (fd < 0) {
                e = errno;
                snprintf(where, sizeof(where), "its node");
            }
        }
        for (i = 0; fd < 0 && i < rv->naddrs; i++) {
            struct sockaddr_in in;

            memset(&in, 0, sizeof(in));
            in.sin_family = AF_INET;
            in.sin_port = htons((uint16_t)rv->port);
            in.sin_addr.s_addr = rv->addrs[i];
            fd = try_connect((struct sockaddr *)&in, sizeof(in), t->rank,
                             rv->cookie, im->lost_after);
            if (fd < 0) {
                e = errno;
                inet_ntop(AF_INET, &in.sin_addr, where, sizeof(where));
            }
        }
        if (fd >= 0)
            return tf__streams_set(&im->s, 0, fd);
        if (tf__now_us() >= until)
            break;
        nanosleep(&nap, NULL);
    }
    if (rv->naddrs == 0 && !im->master_node)
        return tf__error(err, TF_ETRANSPORT,
                         "the master's node has no IPv4 address to reach "
                         "it by");
    return tf__error_errno(err, TF_ETRANSPORT, e,
                           "cannot reach the master (last tried: %s)", where);
}

/* Master: the IPv4 addresses of its interfaces that are up, loopback
 * last, into RV. */
static void
own_addrs(struct rendezvous *rv)
{
    struct ifaddrs *ifs = NULL;
    struct ifaddrs *a;
    int pass;

    rv->naddrs = 0;
    if (getifaddrs(&ifs) < 0)
        return;
    for (pass = 0; pass < 2; pass++) {
        for (a = ifs; a != NULL && rv->naddrs < MAX_ADDRS; a = a->ifa_next) {
            bool lo;

            if (a->ifa_addr == NULL || a->ifa_addr->sa_family != AF_INET ||
                !(a->ifa_flags & IFF_UP))
                continue;
            lo = (a->ifa_flags & IFF_LOOPBACK) != 0;
            if (lo != (pass == 1))
                continue;
            rv->addrs[rv->naddrs++] =
                ((struct sockaddr_in *)(void *)a->ifa_addr)->sin_addr.s_addr;
        }
    }
    freeifaddrs(ifs);
}

/* Master: opens the sockets the workers connect to, a TCP one in LFD[0]
 * (its port in RV) and the node's Unix one in LFD[1]. */
static int
listen_workers(struct rendezvous *rv, int lfd[2], struct tf_error *err)
{
    struct sockaddr_in in;
    struct sockaddr_un un;
    socklen_t len = sizeof(in);
    socklen_t ulen;

    if (getrandom(&rv->cookie, sizeof(rv->cookie), 0) !=
        (ssize_t)sizeof(rv->cookie))
        rv->cookie = (uint64_t)getpid() << 32 ^ tf__now_us();
    lfd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    lfd[1] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (lfd[0] < 0 || lfd[1] < 0)
        return tf__error_errno(err, TF_ESYS, errno, "socket");
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_ANY);
    ulen = unix_name(&un, rv->cookie);
    if (bind(lfd[0], (struct sockaddr *)&in, sizeof(in)) < 0 ||
        listen(lfd[0], SOMAXCONN) < 0 ||
        getsockname(lfd[0], (struct sockaddr *)&in, &len) < 0)
        return tf__error_errno(err, TF_ESYS, errno,
                               "cannot listen for the workers");
    if (bind(lfd[1], (struct sockaddr *)&un, ulen) < 0 ||
        listen(lfd[1], SOMAXCONN) < 0)
        return tf__error_errno(err, TF_ESYS, errno,
                               "cannot listen for the workers of this node");
    rv->port = ntohs(in.sin_port);
    own_addrs(rv);
    return 0;
}

/* Master: takes a connection from listening socket LFD; keeps it as its
 * worker's when it greets as one not yet connected. */
static void
take_worker(struct tf__transport *t, struct mpi_impl *im, int lfd,
            const struct rendezvous *rv, int *connected)
{
    unsigned char g[GREET_LEN];
    unsigned char want[GREET_LEN];
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    uint32_t rank;
    int fd;

    fd = accept4(lfd, (struct sockaddr *)&sa, &len,
                 SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    if (greet_io(fd, g, false, 3000) < 0)
        goto drop;
    rank = get_be32(g + 4);
    greeting(want, (int)rank, rv->cookie);
    if (rank < 1 || rank > (uint32_t)t->nworkers ||
        memcmp(g, want, GREET_LEN) != 0 || im->s.peers[rank].fd >= 0 ||
        greet_io(fd, g, true, 3000) < 0)
        goto drop;
    if (sa.ss_family == AF_INET)
        tune_tcp(fd, im->lost_after);
    if (tf__streams_set(&im->s, (int)rank, fd) == 0)
        (*connected)++;
    return;
drop:
    close(fd);
}

/* Master: waits until every worker has connected, or CONNECT_S seconds;
 * one that has not by then counts as lost. */
static void
accept_workers(struct tf__transport *t, struct mpi_impl *im,
               const struct rendezvous *rv, const int lfd[2])
{
    uint64_t until = tf__now_us() + (uint64_t)CONNECT_S * 1000000u;
    int connected = 0;

    while (connected < t->nworkers && tf__now_us() < until) {
        struct pollfd pfd[2] = {{.fd = lfd[0], .events = POLLIN},
                                {.fd = lfd[1], .events = POLLIN}};
        int k;

        if (poll(pfd, 2, 100) <= 0)
            continue;
        for (k = 0; k < 2; k++)
            if (pfd[k].revents & POLLIN)
                take_worker(t, im, lfd[k], rv, &connected);
    }
    im->nmissing = t->nworkers - connected;
}

/* Master: raises its limit of open files, as far as it may, to hold a
 * socket for each of NWORKERS workers and files of its own. */
static int
room_for_sockets(int nworkers, struct tf_error *err)
{
    rlim_t want = (rlim_t)nworkers + FILES_OWN;
    rlim_t need = (rlim_t)nworkers + FILES_MIN;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return 0;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want
                      ? rl.rlim_max
                      : want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need)
        return tf__error(err, TF_ESYS,
                         "the master needs %llu open files for %d workers "
                         "and may have %llu (ulimit -n)",
                         (unsigned long long)need, nworkers,
                         (unsigned long long)rl.rlim_cur);
    return 0;
}

/*
 * Connects the master and the workers: the master listens and broadcasts
 * where; each worker connects and greets; the master keeps each worker's
 * socket as its peer. Collective over IM's communicator.
 */
static int
connect_ranks(struct tf__transport *t, struct mpi_impl *im,
              struct tf_error *err)
{
    struct rendezvous rv;
    int lfd[2] = {-1, -1};
    int ok = 1;
    int rc = 0;

    memset(&rv, 0, sizeof(rv));
    if (t->rank == 0) {
        rc = room_for_sockets(t->nworkers, err);
        if (rc == 0)
            rc = listen_workers(&rv, lfd, err);
        ok = rc == 0;
    }
    /* Every rank learns whether the master could listen, and where. */
    if (mpi_check(MPI_Bcast(&ok, 1, MPI_INT, 0, im->comm), "MPI_Bcast",
                  err) < 0 ||
        mpi_check(MPI_Bcast(&rv, (int)sizeof(rv), MPI_BYTE, 0, im->comm),
                  "MPI_Bcast", err) < 0)
        rc = TF_ETRANSPORT;
    else if (!ok && t->rank != 0)
        rc = tf__error(err, TF_ETRANSPORT, "the master cannot listen");
    if (rc == 0 && t->rank == 0)
        accept_workers(t, im, &rv, lfd);
    else if (rc == 0)
        rc = connect_master(t, im, &rv, err);
    if (lfd[0] >= 0)
        close(lfd[0]);
    if (lfd[1] >= 0)
        close(lfd[1]);
    return rc;
}

/* Frees W, collectively over the ranks of its node. */
static void
window_free(struct window *w)
{
    if (w->win != MPI_WIN_NULL) {
        MPI_Win_unlock_all(w->win);
        MPI_Win_free(&w->win);
    }
    w->win = MPI_WIN_NULL;
    w->base = NULL;
    w->len = 0;
}

/*
 * Makes W: LEN bytes of the node's memory, in its first rank's part of a
 * window over the node's ranks, mapped by each. Collective over the node.
 */
static int
window_make(struct mpi_impl *im, struct window *w, size_t len,
            struct tf_error *err)
{
    MPI_Aint size = 0;
    void *mine = NULL;
    void *base = NULL;
    int disp = 0;
    int nrank = 0;
    int rc;

    if (len > (size_t)INT32_MAX)
        return tf__error(err, TF_EINPUT, "shared data too large for MPI");
    rc = mpi_check(MPI_Comm_rank(im->node, &nrank), "MPI_Comm_rank", err);
    if (rc == 0)
        rc = mpi_check(MPI_Win_allocate_shared(nrank == 0 ? (MPI_Aint)len : 0,
                                               1, MPI_INFO_NULL, im->node,
                                               &mine, &w->win),
                       "MPI_Win_allocate_shared", err);
    if (rc < 0) {
        w->win = MPI_WIN_NULL;
        return rc;
    }
    rc = mpi_check(MPI_Win_shared_query(w->win, 0, &size, &disp, &base),
                   "MPI_Win_shared_query", err);
    if (rc == 0 && (size_t)size < len)
        rc = tf__error(err, TF_ETRANSPORT,
                       "a shared window of %lld bytes for %zu", (long long)size,
                       len);
    /* An epoch that lasts as long as the window, for MPI_Win_sync. */
    if (rc == 0)
        rc = mpi_check(MPI_Win_lock_all(MPI_MODE_NOCHECK, w->win),
                       "MPI_Win_lock_all", err);
    else
        MPI_Win_free(&w->win);
    if (rc < 0) {
        w->win = MPI_WIN_NULL;
        return rc;
    }
    w->base = base;
    w->len = len;
    return 0;
}

/* Frees the windows, in the same order on every rank of the node. */
static void
windows_free(struct mpi_impl *im)
{
    if (im->bcast != MPI_REQUEST_NULL)
        MPI_Wait(&im->bcast, MPI_STATUS_IGNORE);
    window_free(&im->old);
    window_free(&im->next);
    window_free(&im->cur);
}

/* Master: whether large shared data may still go by MPI: only while no
 * worker is lost, as a collective with a dead rank never ends. */
static bool
windows_ok(const struct mpi_impl *im)
{
    return im->nlost == 0;
}

/* Sends the END step to every worker still there, waiting up to a few
 * seconds for it to leave. */
static void
send_end(struct tf__transport *t, struct mpi_impl *im)
{
    uint64_t until = tf__now_us() + 5000000u;
    struct tf_buf f;
    int i;

    tf_buf_init(&f, 0);
    for (i = 1; i <= t->nworkers; i++) {
        struct tf__stream_out *o;

        if (im->s.peers[i].fd < 0 || tf__wire_begin(&f, TF__MSG_WINDOW) < 0 ||
            tf__wire_put_u32(&f, STEP_END) < 0 ||
            tf__wire_put_u64(&f, (uint64_t)im->nlost) < 0 ||
            tf__wire_end(&f, NULL) < 0)
            continue;
        o = tf__stream_out_take(&f);
        if (o != NULL)
            tf__stream_queue(&im->s.peers[i], o);
    }
    tf_buf_cleanup(&f);
    for (;;) {
        bool left = false;

        for (i = 1; i <= t->nworkers; i++)
            left = left || im->s.peers[i].out_head != NULL;
        if (!left || tf__now_us() >= until)
            break;
        {
            struct tf_buf ignored;
            struct tf_error e;
            int peer = 0;

            tf_buf_init(&ignored, 0);
            if (tf__streams_recv(&im->s, 1, t->nworkers, &peer, &ignored, 10,
                                 &e) < 0)
                left = false;
            tf_buf_cleanup(&ignored);
            if (!left)
                break;
        }
    }
}

/* Worker: waits for the master's END (or its end), reading past anything
 * else. */
static void
wait_end(struct mpi_impl *im)
{
    struct tf_buf f;

    tf_buf_init(&f, 0);
    while (!im->ended) {
        struct tf_error e;
        int peer = 0;
        int rc = tf__streams_recv(&im->s, 0, 0, &peer, &f, -1, &e);

        if (rc == 1 && f.len >= TF__WIRE_HDR + 12 &&
            f.data[5] == TF__MSG_WINDOW) {
            struct tf__wire_reader r;

            tf__wire_reader_init(&r, f.data + TF__WIRE_HDR,
                                 f.len - TF__WIRE_HDR);
            if (tf__wire_get_u32(&r) == STEP_END) {
                im->nlost = tf__wire_get_u64(&r) > 0;
                im->ended = true;
            }
        } else if (rc != 1 && rc != 0) {
            im->nlost = 1; /* the master is gone: so is the job */
            im->ended = true;
            im->vanished = true;
        }
    }
    tf_buf_cleanup(&f);
}

/*
 * Starts the guardian of this rank's tasks, before MPI starts (so that
 * the fork copies nothing of MPI's): a process that holds only the read
 * end of a pipe whose write end this rank holds, and waits. When the rank
 * dies (killed, out of memory) the pipe closes; the guardian then kills
 * the process group of the task the rank was running, noted in a shared
 * page, so that the task does not run on while the master hands it to
 * another worker. A rank that ends normally has no task running. Without
 * it (fork failed), a task's own process still dies with its worker
 * (the run job's PR_SET_PDEATHSIG), though not what it started.
 */
static void
start_guardian(struct tf__transport *t, struct mpi_impl *im)
{
    void *page;
    int fds[2];
    pid_t pid;

    page = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        munmap(page, sizeof(int));
        return;
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        char c;
        int pg;

        /* Nothing of the rank's stays open here: not its launcher's
         * sockets, not the write end. */
        if (fds[0] > 0)
            close_range(0, (unsigned int)fds[0] - 1, 0);
        close_range((unsigned int)fds[0] + 1, ~0u, 0);
        (void)prctl(PR_SET_NAME, "taskfarm-guard");
        while (read(fds[0], &c, 1) < 0 && errno == EINTR)
            ;
        pg = *(volatile int *)page;
        if (pg > 0)
            kill(-pg, SIGKILL);
        _exit(0);
    }
    close(fds[0]);
    if (pid < 0) {
        close(fds[1]);
        munmap(page, sizeof(int));
        return;
    }
    im->pgid = page;
    im->guard_fd = fds[1];
    im->guard_pid = pid;
    t->task_pgid = im->pgid;
}

static void
impl_free(struct mpi_impl *im)
{
    if (im->guard_fd >= 0)
        close(im->guard_fd); /* the guardian ends, its rank having ended
                                every task */
    while (im->guard_pid > 0 && waitpid(im->guard_pid, NULL, 0) < 0 &&
           errno == EINTR)
        ;
    if (im->pgid != NULL)
        munmap((void *)im->pgid, sizeof(int));
    tf__streams_cleanup(&im->s);
    free(im->gone);
    free(im->mates);
    free(im);
}

static void
mpi_close(struct tf__transport *t)
{
    struct mpi_impl *im = t->impl;
    int finalized = 0;

    if (im == NULL)
        return;
    if (t->rank == 0 && im->s.peers != NULL)
        send_end(t, im);
    else if (im->s.peers != NULL && im->s.peers[0].fd >= 0)
        wait_end(im);
    if (t->rank != 0 && im->vanished) {
        /* The master failed or was killed: give the launcher a moment to
         * see its exit status, which is the job's, and end this rank
         * itself, before a worker's own exit could be taken for it. */
        struct timespec grace = {VANISHED_GRACE_S, 0};

        nanosleep(&grace, NULL);
    }
    MPI_Finalized(&finalized);
    /* With a rank lost, freeing windows and MPI_Finalize would wait for it
     * for ever: leave them to the end of the process. */
    if (!finalized && im->nlost == 0) {
        windows_free(im);
        if (im->leaders != MPI_COMM_NULL)
            MPI_Comm_free(&im->leaders);
        if (im->node != MPI_COMM_NULL)
            MPI_Comm_free(&im->node);
        if (im->comm != MPI_COMM_NULL)
            MPI_Comm_free(&im->comm);
        if (im->we_initialised)
            MPI_Finalize();
    }
    impl_free(im);
    t->impl = NULL;
}

/*
 * Finds which workers of T's node (NODE, of NSIZE ranks, T being NRANK,
 * the master rank 0 when ANY_MASTER) share its CPU set: those whose set is
 * the same (all of them unless the launcher bound the ranks), and whether a
 * different set overlaps its own. Collective over NODE.
 */
static int
cpu_sharers(struct tf__transport *t, MPI_Comm node, int nsize, int nrank,
            int any_master, struct tf_error *err)
{
    cpu_set_t mine;
    cpu_set_t both;
    cpu_set_t *sets;
    int i;
    int rc;

    CPU_ZERO(&mine);
    if (sched_getaffinity(0, sizeof(mine), &mine) < 0)
        CPU_ZERO(&mine); /* then it shares with no one */
    sets = calloc((size_t)nsize, sizeof(*sets));
    if (sets == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    rc = mpi_check(MPI_Allgather(&mine, (int)sizeof(mine), MPI_BYTE, sets,
                                 (int)sizeof(mine), MPI_BYTE, node),
                   "MPI_Allgather", err);
    t->cpu_sharers = 0;
    t->cpu_sharer = 0;
    t->cpus_overlap = false;
    for (i = any_master ? 1 : 0; rc == 0 && i < nsize; i++) {
        if (CPU_EQUAL(&sets[i], &mine)) {
            t->cpu_sharers++;
            if (i < nrank)
                t->cpu_sharer++;
            continue;
        }
        CPU_AND(&both, &sets[i], &mine);
        if (CPU_COUNT(&both) > 0)
            t->cpus_overlap = true;
    }
    free(sets);
    return rc;
}

/*
 * Finds T's place among the nodes: the workers on its node (its ranks less
 * the master if the master is one of them), its index among them, its
 * node's index (nodes in the order of their first rank, the master's node
 * first) and the number of nodes; keeps the communicators of shared data:
 * the node's ranks, and the master with the first rank of each other node.
 * Collective over IM's communicator, of SIZE ranks.
 */
static int
node_place(struct tf__transport *t, struct mpi_impl *im, int rank, int size,
           struct tf_error *err)
{
    int has_master = rank == 0;
    int any_master = 0;
    int nsize = 0;
    int nrank = 0;
    int first = rank;
    int *firsts;
    bool *seen;
    int i;
    int rc;

    firsts = calloc((size_t)size, sizeof(*firsts));
    seen = calloc((size_t)size, sizeof(*seen));
    if (firsts == NULL || seen == NULL) {
        free(firsts);
        free(seen);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    rc = mpi_check(MPI_Comm_split_type(im->comm, MPI_COMM_TYPE_SHARED, rank,
                                       MPI_INFO_NULL, &im->node),
                   "MPI_Comm_split_type", err);
    if (rc == 0)
        rc = mpi_check(MPI_Comm_size(im->node, &nsize), "MPI_Comm_size", err);
    if (rc == 0)
        rc = mpi_check(MPI_Comm_rank(im->node, &nrank), "MPI_Comm_rank", err);
    if (rc == 0)
        rc = mpi_check(MPI_Allreduce(&has_master, &any_master, 1, MPI_INT,
                                     MPI_MAX, im->node),
                       "MPI_Allreduce", err);
    if (rc == 0)
        rc = mpi_check(MPI_Allreduce(&rank, &first, 1, MPI_INT, MPI_MIN,
                                     im->node),
                       "MPI_Allreduce", err);
    if (rc == 0)
        rc = cpu_sharers(t, im->node, nsize, nrank, any_master, err);
    if (rc == 0)
        rc = mpi_check(MPI_Allgather(&first, 1, MPI_INT, firsts, 1, MPI_INT,
                                     im->comm),
                       "MPI_Allgather", err);
    if (rc == 0)
        rc = mpi_check(MPI_Comm_split(im->comm,
                                      nrank == 0 ? 0 : MPI_UNDEFINED, rank,
                                      &im->leaders),
                       "MPI_Comm_split", err);
    if (rc == 0 && rank == 0) {
        im->mates = calloc((size_t)size, sizeof(*im->mates));
        if (im->mates == NULL)
            rc = tf__error(err, TF_ENOMEM, "out of memory");
        for (i = 1; rc == 0 && i < size; i++)
            if (firsts[i] == 0)
                im->mates[im->nmates++] = i;
    }
    if (rc == 0) {
        /* The node ranks are in world order (key RANK): the master is the
         * first of its node. */
        im->master_node = any_master != 0;
        t->node_workers = any_master ? nsize - 1 : nsize;
        t->local_worker = any_master ? nrank - 1 : nrank;
        t->node = 0;
        t->nnodes = 0;
        for (i = 0; i < size; i++) {
            if (firsts[i] < 0 || firsts[i] >= size || seen[firsts[i]])
                continue;
            seen[firsts[i]] = true;
            t->nnodes++;
            if (firsts[i] < first)
                t->node++;
        }
    }
    free(firsts);
    free(seen);
    return rc;
}

static int
mpi_open(struct tf__transport *t, int nworkers, tf__worker_fn fn, void *arg,
         struct tf_error *err)
{
    struct mpi_impl *im;
    int initialised = 0;
    int size = 0;
    int rank = 0;
    int rc;

    (void)nworkers;
    t->impl = NULL;
    im = calloc(1, sizeof(*im));
    if (im == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    im->comm = MPI_COMM_NULL;
    im->node = MPI_COMM_NULL;
    im->leaders = MPI_COMM_NULL;
    im->next.win = MPI_WIN_NULL;
    im->cur.win = MPI_WIN_NULL;
    im->old.win = MPI_WIN_NULL;
    im->bcast = MPI_REQUEST_NULL;
    im->lost_after = lost_after_s();
    im->guard_fd = -1;
    im->s.epfd = -1; /* the streams are made once the ranks are placed */
    t->impl = im;
    MPI_Initialized(&initialised);
    if (!initialised) {
        start_guardian(t, im);
        /* The ranks talk over sockets; what MPI does after the start
         * (shared data) needs no yielding on an oversubscribed node. */
        setenv("OMPI_MCA_mpi_yield_when_idle", "0", 0);
        if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
            mpi_close(t);
            return tf__error(err, TF_ETRANSPORT, "MPI_Init failed");
        }
        im->we_initialised = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    rc = mpi_check(MPI_Comm_dup(MPI_COMM_WORLD, &im->comm), "MPI_Comm_dup",
                   err);
    if (rc == 0)
        rc = mpi_check(MPI_Comm_size(im->comm, &size), "MPI_Comm_size", err);
    if (rc == 0)
        rc = mpi_check(MPI_Comm_rank(im->comm, &rank), "MPI_Comm_rank", err);
    /* A launcher that started several processes, each of which MPI sees
     * as a job of its own, wires ranks together in a way this MPI library
     * does not speak: srun's --mpi plugin, or another MPI's mpirun. */
    if (rc == 0 && size < 2 && tf__launcher_size() > 1)
        rc = tf__error(err, TF_ETRANSPORT,
                       "MPI sees 1 rank where the launcher started %d: the "
                       "launcher does not match the MPI library this "
                       "program was built with (under srun, check --mpi)",
                       tf__launcher_size());
    else if (rc == 0 && size < 2)
        rc = tf__error(err, TF_EUSAGE,
                       "the MPI backend needs at least 2 ranks (a master and "
                       "a worker); started with %d",
                       size);
    if (rc < 0) {
        mpi_close(t);
        return rc;
    }
    t->rank = rank;
    t->nworkers = size - 1;
    rc = node_place(t, im, rank, size, err);
    if (rc == 0 && (tf__streams_init(&im->s, rank == 0 ? size - 1 : 0) < 0 ||
                    (rank == 0 && (im->gone = calloc((size_t)size,
                                                     sizeof(bool))) == NULL)))
        rc = tf__error(err, TF_ENOMEM, "out of memory");
    if (rc == 0) {
        rc = connect_ranks(t, im, err);
        /* A rank that is not connected leaves MPI without the others. */
        if (rc < 0)
            im->nlost = 1;
    }
    if (rc < 0) {
        mpi_close(t);
        return rc;
    }
    if (rank != 0) {
        t->worker_rc = fn(t, arg);
        return TF__WORKER_DONE;
    }
    return 0;
}

/* Worker: writes LEN bytes at DATA, a whole frame, to the master. */
static int
to_master(struct mpi_impl *im, const unsigned char *data, size_t len,
          struct tf_error *err)
{
    if (im->s.peers[0].fd < 0 ||
        tf__stream_write_all(im->s.peers[0].fd, data, len) < 0)
        return tf__error(err, TF_EPEER, "lost the master");
    return 0;
}

/* Master: queues O (taken; NULL when it could not be made) for PEER. */
static int
to_worker(struct tf__transport *t, int peer, struct tf__stream_out *o,
          struct tf_error *err)
{
    struct mpi_impl *im = t->impl;

    if (o == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    if (peer < 1 || peer > t->nworkers) {
        tf__stream_out_free(o);
        return tf__error(err, TF_ETRANSPORT, "no worker %d", peer);
    }
    tf__stream_queue(&im->s.peers[peer], o);
    return 0;
}

static int
mpi_send(struct tf__transport *t, int peer, struct tf_buf *frame,
         struct tf_error *err)
{
    int rc;

    if (t->rank == 0)
        return to_worker(t, peer, tf__stream_out_take(frame), err);
    rc = to_master(t->impl, frame->data, frame->len, err);
    if (rc == 0)
        tf_buf_reset(frame);
    return rc;
}

static int
mpi_send_ref(struct tf__transport *t, int peer, struct tf__frame_ref *ref,
             struct tf_error *err)
{
    if (t->rank == 0)
        return to_worker(t, peer, tf__stream_out_ref(ref), err);
    return to_master(t->impl, ref->buf.data, ref->buf.len, err);
}

/* Sends the workers in RANKS (N of them; NULL: every worker) a
 * TF__MSG_WINDOW message of STEP for a frame of LEN bytes. */
static int
send_window(struct tf__transport *t, const int *ranks, int n, uint32_t step,
            size_t len, struct tf_error *err)
{
    struct tf_buf f;
    int i;
    int rc = 0;

    tf_buf_init(&f, 0);
    for (i = 0; rc == 0 && i < n; i++) {
        rc = tf__wire_begin(&f, TF__MSG_WINDOW);
        if (rc == 0)
            rc = tf__wire_put_u32(&f, step);
        if (rc == 0)
            rc = tf__wire_put_u64(&f, len);
        if (rc == 0)
            rc = tf__wire_end(&f, err);
        if (rc < 0)
            rc = tf__error(err, rc, "cannot encode a message");
        else
            rc = mpi_send(t, ranks != NULL ? ranks[i] : i + 1, &f, err);
    }
    tf_buf_cleanup(&f);
    return rc;
}

/*
 * On the master's node: frees the window before the one in use and one
 * made but never filled, then makes the next, of LEN bytes. Collective
 * over the node's ranks.
 */
static int
make_next(struct mpi_impl *im, size_t len, struct tf_error *err)
{
    window_free(&im->old);
    window_free(&im->next);
    return window_make(im, &im->next, len, err);
}

/* Master: a frame for shared data of LEN bytes; a large one in the next
 * window of the master's node, made with the node's workers. */
static struct tf__frame_ref *
mpi_share_alloc(struct tf__transport *t, size_t len, struct tf_error *err)
{
    struct mpi_impl *im = t->impl;
    struct tf__frame_ref *r;

    bool window = len >= WINDOW_MIN && windows_ok(im);

    r = window ? tf__frame_ref_new() : tf__frame_ref_alloc(len);
    if (r == NULL) {
        tf__error(err, TF_ENOMEM, "cannot keep %zu shared bytes", len);
        return NULL;
    }
    if (!window)
        return r;
    /* The last broadcast ends first: the windows are made and freed in one
     * order everywhere. The workers of this node join in when they read the
     * message: a busy one, once its task is done. */
    if ((im->bcast != MPI_REQUEST_NULL &&
         mpi_check(MPI_Wait(&im->bcast, MPI_STATUS_IGNORE), "MPI_Wait",
                   err) < 0) ||
        send_window(t, im->mates, im->nmates, STEP_MAKE, len, err) < 0 ||
        make_next(im, len, err) < 0) {
        tf__frame_ref_put(r);
        return NULL;
    }
    r->borrowed = true;
    r->buf.data = im->next.base;
    r->buf.len = len;
    return r;
}

/* Master: sends the frame in REF to every worker; one in the next window
 * by a broadcast to the first rank of every other node, into a window of
 * that node's. */
static int
mpi_share_all(struct tf__transport *t, struct tf__frame_ref *ref,
              struct tf_error *err)
{
    struct mpi_impl *im = t->impl;
    int rc = 0;
    int i;

    if (!ref->borrowed || im->next.win == MPI_WIN_NULL ||
        ref->buf.data != im->next.base) {
        for (i = 1; rc == 0 && i <= t->nworkers; i++)
            rc = mpi_send_ref(t, i, ref, err);
        return rc;
    }
    if (im->bcast != MPI_REQUEST_NULL) {
        rc = mpi_check(MPI_Wait(&im->bcast, MPI_STATUS_IGNORE), "MPI_Wait",
                       err);
        if (rc < 0)
            return rc;
    }
    MPI_Win_sync(im->next.win);
    im->old = im->cur;
    im->cur = im->next;
    im->next.win = MPI_WIN_NULL;
    im->next.base = NULL;
    im->next.len = 0;
    rc = send_window(t, NULL, t->nworkers, STEP_FILL, im->cur.len, err);
    if (rc == 0 && t->nnodes > 1 && im->leaders != MPI_COMM_NULL)
        rc = mpi_check(MPI_Ibcast(im->cur.base, (int)im->cur.len, MPI_BYTE, 0,
                                  im->leaders, &im->bcast),
                       "MPI_Ibcast", err);
    return rc;
}

/* What a worker writes into a large shared frame the master sees when
 * every worker is on the master's node. */
static bool
mpi_maps(const struct tf__transport *t, size_t len)
{
    const struct mpi_impl *im = t->impl;

    return len >= WINDOW_MIN && t->nnodes == 1 && windows_ok(im);
}

/*
 * On a worker: acts on the TF__MSG_WINDOW message in FRAME. After the last
 * step it puts a TF__MSG_MAPPED frame in FRAME, for the worker's loop, and
 * returns 1; else 0.
 */
static int
window_step(struct tf__transport *t, struct tf_buf *frame,
            struct tf_error *err)
{
    struct mpi_impl *im = t->impl;
    struct tf__wire_reader r;
    struct window w = {MPI_WIN_NULL, NULL, 0};
    MPI_Request req = MPI_REQUEST_NULL;
    uint32_t step;
    uint64_t len;
    size_t payload;
    int type;
    int rc;

    rc = tf__wire_header(frame->data, frame->len, &type, &payload, err);
    if (rc < 0)
        return rc;
    tf__wire_reader_init(&r, frame->data + TF__WIRE_HDR, payload);
    step = tf__wire_get_u32(&r);
    len = tf__wire_get_u64(&r);
    if (r.bad || r.p != r.end ||
        (step != STEP_END && (len < TF__WIRE_HDR || len > INT32_MAX)) ||
        (step != STEP_MAKE && step != STEP_FILL && step != STEP_END) ||
        (step == STEP_MAKE && !im->master_node) ||
        (step == STEP_FILL && im->master_node &&
         (im->next.win == MPI_WIN_NULL || im->next.len != len)))
        return tf__error(err, TF_EPROTO, "malformed WINDOW message");
    if (step == STEP_END) {
        /* The master ended the run before this worker was stopped: its
         * connection is gone or it stopped early. */
        im->nlost = len > 0;
        im->ended = true;
        return tf__error(err, TF_EPEER, "the master ended the run");
    }
    if (step == STEP_MAKE) {
        rc = make_next(im, (size_t)len, err);
        return rc < 0 ? rc : 0;
    }
    if (im->master_node) {
        /* The master filled it in place. */
        MPI_Win_sync(im->next.win);
        im->old = im->cur;
        im->cur = im->next;
        im->next = w;
    } else {
        /* The node's first rank receives it (the master broadcasts to the
         * first of each node), for all the node's ranks. */
        rc = window_make(im, &w, (size_t)len, err);
        if (rc == 0 && im->leaders != MPI_COMM_NULL) {
            rc = mpi_check(MPI_Ibcast(w.base, (int)len, MPI_BYTE, 0,
                                      im->leaders, &req),
                           "MPI_Ibcast", err);
            if (rc == 0)
                rc = mpi_check(MPI_Wait(&req, MPI_STATUS_IGNORE), "MPI_Wait",
                               err);
        }
        if (rc == 0) {
            MPI_Win_sync(w.win);
            rc = mpi_check(MPI_Barrier(im->node), "MPI_Barrier", err);
            MPI_Win_sync(w.win);
        }
        if (rc < 0)
            return rc;
        window_free(&im->cur);
        im->cur = w;
    }
    rc = tf__wire_header(im->cur.base, (size_t)len, &type, &payload, err);
    if (rc == 0 && (type != TF__MSG_SHARE || TF__WIRE_HDR + payload != len))
        rc = tf__error(err, TF_EPROTO, "a shared window of the wrong size");
    if (rc < 0)
        return rc;
    t->mapped = im->cur.base;
    t->mapped_len = (size_t)len;
    t->mapped_shared = im->master_node;
    rc = tf__wire_begin(frame, TF__MSG_MAPPED);
    if (rc == 0)
        rc = tf__wire_put_u64(frame, len);
    if (rc == 0)
        rc = tf__wire_end(frame, err);
    return rc < 0 ? tf__error(err, rc, "cannot encode a message") : 1;
}

/* Master: reports a worker that never connected as lost, once. Returns 1
 * with its rank in *PEER, or 0. */
static int
missing_worker(struct tf__transport *t, struct mpi_impl *im, int *peer)
{
    int i;

    /* (Once all are reported, the master's loop does not look again.) */
    for (i = 1; im->nmissing > 0 && i <= t->nworkers; i++) {
        if (im->s.peers[i].fd < 0 && !im->gone[i]) {
            im->gone[i] = true;
            im->nlost++;
            im->nmissing--;
            *peer = i;
            return 1;
        }
    }
    return 0;
}

static int
mpi_recv(struct tf__transport *t, int *peer, struct tf_buf *frame,
         int timeout_ms, struct tf_error *err)
{
    struct mpi_impl *im = t->impl;
    uint64_t start = tf__now_us();

    if (t->rank == 0 && missing_worker(t, im, peer))
        return tf__error(err, TF_EPEER,
                         "worker %d never connected to the master", *peer);
    for (;;) {
        int slice = timeout_ms;
        int rc;

        /* A broadcast of shared data moves only while this rank calls
         * MPI: look at it every millisecond until it is done. */
        if (im->bcast != MPI_REQUEST_NULL && (slice < 0 || slice > 1))
            slice = 1;
        rc = tf__streams_recv(&im->s, t->rank == 0 ? 1 : 0,
                              t->rank == 0 ? t->nworkers : 0, peer, frame,
                              slice, err);
        if (im->bcast != MPI_REQUEST_NULL) {
            int done = 0;
            int mrc = mpi_check(MPI_Test(&im->bcast, &done,
                                         MPI_STATUS_IGNORE),
                                "MPI_Test", err);

            if (mrc < 0)
                return mrc;
        }
        if (rc == TF__STREAM_ENDED) {
            t->peer_signal = 0;
            if (t->rank != 0) {
                im->ended = true;
                im->vanished = true;
                im->nlost = 1;
                return tf__error(err, TF_EPEER, "lost the master");
            }
            if (!im->gone[*peer]) {
                im->gone[*peer] = true;
                im->nlost++;
            }
            return tf__error(err, TF_EPEER,
                             "lost worker %d: its connection ended", *peer);
        }
        if (rc == 1 && t->rank != 0 && frame->len >= TF__WIRE_HDR &&
            frame->data[5] == TF__MSG_WINDOW) {
            rc = window_step(t, frame, err);
            if (rc == 0)
                continue;
        }
        if (rc != 0)
            return rc;
        if (timeout_ms == 0 ||
            (timeout_ms > 0 &&
             tf__now_us() - start >= (uint64_t)timeout_ms * 1000u))
            return 0;
    }
}

static void
mpi_abort(struct tf__transport *t)
{
    struct mpi_impl *im = t->impl;

    /* Busy ranks would never reach MPI_Finalize: leave without it. The
     * workers see their sockets close and end; the launcher ends the rest
     * when this process exits non-zero. */
    if (im == NULL)
        return;
    impl_free(im);
    t->impl = NULL;
}

const struct tf__transport_ops tf__transport_mpi = {
    .name = "mpi",
    .open = mpi_open,
    .send = mpi_send,
    .recv = mpi_recv,
    .close = mpi_close,
    .send_ref = mpi_send_ref,
    .maps = mpi_maps,
    .share_alloc = mpi_share_alloc,
    .share_all = mpi_share_all,
    .abort = mpi_abort,
};

void
tf__mpi_version(char *buf, size_t size)
{
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    size_t n;

    if (MPI_Get_library_version(v, &len) != MPI_SUCCESS || len < 0)
        len = 0;
    if ((size_t)len >= sizeof(v))
        len = (int)sizeof(v) - 1;
    v[len] = '\0';
    n = strcspn(v, "\n");
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == ','))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
}
