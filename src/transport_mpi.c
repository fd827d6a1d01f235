/* transport_mpi.c - ranks of MPI_COMM_WORLD; the only file that includes mpi.h */
#include "transport.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "error.h"
#include "util.h"
#include "wire.h"

#define TAG_FRAME 7
/* Shared data from this size on goes by broadcast into one shared memory
 * window per node; smaller data goes to each worker as a frame. */
#define WINDOW_MIN ((size_t)1 << 20)
/* The steps of a TF__MSG_WINDOW message. */
#define STEP_MAKE 1 /* to the master's node: make a window with the master */
#define STEP_FILL 2 /* to all: the frame is in the window (or on its way) */
/* Naps start at MIN_NAP_NS and double up to MAX_NAP_NS, or, after a long
 * wait, up to a fiftieth of the time waited so far (at most LONG_NAP_NS):
 * a message that ends a wait of T is seen at most T/50 late, 2% of what was
 * spent waiting anyway, and an idle rank wakes 50 times a second at most. */
#define MIN_NAP_NS 50000L
#define MAX_NAP_NS 2000000L
#define LONG_NAP_NS 20000000L
#define NAP_SHARE 50

struct pending {
    MPI_Request req;
    struct tf_buf buf; /* owned until the send completes */
    struct tf__frame_ref *ref; /* or a reference to the frame sent */
};

static void
pending_free(struct pending *p)
{
    tf_buf_cleanup(&p->buf);
    tf__frame_ref_put(p->ref);
    p->ref = NULL;
}

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
    struct pending *pend; /* owned */
    size_t npend;
    size_t cap;
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

/* Sleeps for *NS and doubles it up to a cap that grows with WAITED_US, the
 * time this wait has lasted so far. */
static void
nap(long *ns, uint64_t waited_us)
{
    struct timespec ts;
    long cap = MAX_NAP_NS;

    if (*ns == 0) {
        /* First miss: look again at once. Then nap from 50 us: a shorter
         * sleep costs as much (timer slack and the wake-up itself), and
         * every wake-up costs a context switch. */
        *ns = MIN_NAP_NS;
        return;
    }
    ts.tv_sec = 0;
    ts.tv_nsec = *ns;
    nanosleep(&ts, NULL);
    if ((long)(waited_us * 1000 / NAP_SHARE) > cap)
        cap = (long)(waited_us * 1000 / NAP_SHARE);
    if (cap > LONG_NAP_NS)
        cap = LONG_NAP_NS;
    *ns = *ns * 2 > cap ? cap : *ns * 2;
}

/* Completes whatever sends have finished and frees their buffers. */
static int
reap_sends(struct mpi_impl *im, struct tf_error *err)
{
    size_t i = 0;

    if (im->bcast != MPI_REQUEST_NULL) {
        int done = 0;
        int rc = mpi_check(MPI_Test(&im->bcast, &done, MPI_STATUS_IGNORE),
                           "MPI_Test", err);

        if (rc < 0)
            return rc;
    }
    while (i < im->npend) {
        int done = 0;
        int rc;

        rc = mpi_check(MPI_Test(&im->pend[i].req, &done, MPI_STATUS_IGNORE),
                       "MPI_Test", err);
        if (rc < 0)
            return rc;
        if (done) {
            pending_free(&im->pend[i]);
            im->pend[i] = im->pend[im->npend - 1];
            im->npend--;
        } else {
            i++;
        }
    }
    return 0;
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

static void
mpi_close(struct tf__transport *t)
{
    struct mpi_impl *im = t->impl;
    int finalized = 0;
    size_t i;

    if (im == NULL)
        return;
    for (i = 0; i < im->npend; i++) {
        long ns = 0;
        int done = 0;

        while (!done && MPI_Test(&im->pend[i].req, &done,
                                 MPI_STATUS_IGNORE) == MPI_SUCCESS) {
            if (!done)
                nap(&ns, 0);
        }
        pending_free(&im->pend[i]);
    }
    free(im->pend);
    free(im->mates);
    MPI_Finalized(&finalized);
    if (!finalized) {
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
    free(im);
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
    t->impl = im;
    MPI_Initialized(&initialised);
    if (!initialised) {
        /* Ranks nap between probes (see nap()); Open MPI's own yield on
         * every probe of an oversubscribed node only adds system calls. */
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

/* Starts sending FRAME (taking its memory) or REF's frame to PEER. */
static int
start_send(struct tf__transport *t, int peer, struct tf_buf *frame,
           struct tf__frame_ref *ref, struct tf_error *err)
{
    struct mpi_impl *im = t->impl;
    const struct tf_buf *f = ref != NULL ? &ref->buf : frame;
    struct pending *p;
    int rc;

    if (f->len > (size_t)INT32_MAX)
        return tf__error(err, TF_EINPUT, "message too large for MPI");
    if (t->rank != 0)
        peer = 0;
    rc = reap_sends(im, err);
    if (rc < 0)
        return rc;
    if (im->npend == im->cap) {
        size_t cap = im->cap ? im->cap * 2 : 8;
        struct pending *np = realloc(im->pend, cap * sizeof(*np));

        if (np == NULL)
            return tf__error(err, TF_ENOMEM, "out of memory");
        im->pend = np;
        im->cap = cap;
    }
    p = &im->pend[im->npend];
    p->ref = ref;
    if (ref != NULL) {
        ref->refs++;
        tf_buf_init(&p->buf, 0);
    } else {
        p->buf = *frame; /* the send keeps the frame's memory until done */
        tf_buf_init(frame, frame->max);
    }
    f = ref != NULL ? &ref->buf : &p->buf;
    rc = mpi_check(MPI_Isend(f->data, (int)f->len, MPI_BYTE, peer,
                             TAG_FRAME, im->comm, &p->req),
                   "MPI_Isend", err);
    if (rc < 0) {
        pending_free(p);
        return rc;
    }
    im->npend++;
    /* A worker has one message in flight at a time: finish it here so its
     * memory is not held while a task runs. */
    if (t->rank != 0) {
        long ns = 0;

        while (im->npend > 0) {
            rc = reap_sends(im, err);
            if (rc < 0)
                return rc;
            /* A large message moves in fragments as both sides make
             * progress: keep the naps short while it does. */
            if (ns > 20000)
                ns = 20000;
            if (im->npend > 0)
                nap(&ns, 0);
        }
    }
    return 0;
}

static int
mpi_send(struct tf__transport *t, int peer, struct tf_buf *frame,
         struct tf_error *err)
{
    return start_send(t, peer, frame, NULL, err);
}

static int
mpi_send_ref(struct tf__transport *t, int peer, struct tf__frame_ref *ref,
             struct tf_error *err)
{
    return start_send(t, peer, NULL, ref, err);
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
            rc = start_send(t, ranks != NULL ? ranks[i] : i + 1, &f, NULL,
                            err);
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

    r = len < WINDOW_MIN ? tf__frame_ref_alloc(len) : tf__frame_ref_new();
    if (r == NULL) {
        tf__error(err, TF_ENOMEM, "cannot keep %zu shared bytes", len);
        return NULL;
    }
    if (len < WINDOW_MIN)
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
            rc = start_send(t, i, NULL, ref, err);
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
    return len >= WINDOW_MIN && t->nnodes == 1;
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
    if (r.bad || r.p != r.end || len < TF__WIRE_HDR || len > INT32_MAX ||
        (step != STEP_MAKE && step != STEP_FILL) ||
        (step == STEP_MAKE && !im->master_node) ||
        (step == STEP_FILL && im->master_node &&
         (im->next.win == MPI_WIN_NULL || im->next.len != len)))
        return tf__error(err, TF_EPROTO, "malformed WINDOW message");
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

static int
mpi_recv(struct tf__transport *t, int *peer, struct tf_buf *frame,
         int timeout_ms, struct tf_error *err)
{
    struct mpi_impl *im = t->impl;
    uint64_t start = tf__now_us();
    long ns = 0;

    for (;;) {
        MPI_Message msg;
        MPI_Status st;
        int flag = 0;
        int count = 0;
        int rc;

        rc = mpi_check(MPI_Improbe(MPI_ANY_SOURCE, TAG_FRAME, im->comm, &flag,
                                   &msg, &st),
                       "MPI_Improbe", err);
        if (rc < 0)
            return rc;
        if (flag) {
            rc = mpi_check(MPI_Get_count(&st, MPI_BYTE, &count),
                           "MPI_Get_count", err);
            if (rc < 0)
                return rc;
            tf_buf_reset(frame);
            rc = tf_buf_reserve(frame, (size_t)count);
            if (rc < 0)
                return tf__error(err, rc, "cannot receive %d bytes", count);
            rc = mpi_check(MPI_Mrecv(frame->data, count, MPI_BYTE, &msg,
                                     MPI_STATUS_IGNORE),
                           "MPI_Mrecv", err);
            if (rc < 0)
                return rc;
            frame->len = (size_t)count;
            frame->data[frame->len] = '\0';
            *peer = st.MPI_SOURCE;
            if (t->rank != 0 && count >= TF__WIRE_HDR &&
                frame->data[5] == TF__MSG_WINDOW) {
                rc = window_step(t, frame, err);
                if (rc == 0)
                    continue;
            }
            return rc < 0 ? rc : 1;
        }
        rc = reap_sends(im, err);
        if (rc < 0)
            return rc;
        if (timeout_ms == 0)
            return 0;
        if (timeout_ms > 0 &&
            tf__now_us() - start >= (uint64_t)timeout_ms * 1000u)
            return 0;
        /* Open MPI's blocking receive spins a core; nap instead, backing
         * off from microseconds while busy to milliseconds when idle. A
         * large send in progress needs this rank to drive it, so naps stay
         * short until it is done. */
        if ((im->npend > 0 || im->bcast != MPI_REQUEST_NULL) && ns > 20000)
            ns = 20000;
        nap(&ns, tf__now_us() - start);
    }
}

static void
mpi_abort(struct tf__transport *t)
{
    struct mpi_impl *im = t->impl;

    /* Busy ranks would never reach MPI_Finalize: leave without it. The
     * launcher then ends the job when this process exits non-zero. */
    if (im == NULL)
        return;
    free(im->pend);
    free(im->mates);
    free(im);
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
