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

#define TAG_FRAME 7
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

struct mpi_impl {
    MPI_Comm comm;
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
    MPI_Finalized(&finalized);
    if (!finalized) {
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
 * first) and the number of nodes. Collective over COMM, of SIZE ranks.
 */
static int
node_place(struct tf__transport *t, MPI_Comm comm, int rank, int size,
           struct tf_error *err)
{
    MPI_Comm node;
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
    rc = mpi_check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank,
                                       MPI_INFO_NULL, &node),
                   "MPI_Comm_split_type", err);
    if (rc == 0) {
        rc = mpi_check(MPI_Comm_size(node, &nsize), "MPI_Comm_size", err);
        if (rc == 0)
            rc = mpi_check(MPI_Comm_rank(node, &nrank), "MPI_Comm_rank", err);
        if (rc == 0)
            rc = mpi_check(MPI_Allreduce(&has_master, &any_master, 1,
                                         MPI_INT, MPI_MAX, node),
                           "MPI_Allreduce", err);
        if (rc == 0)
            rc = mpi_check(MPI_Allreduce(&rank, &first, 1, MPI_INT, MPI_MIN,
                                         node),
                           "MPI_Allreduce", err);
        if (rc == 0)
            rc = cpu_sharers(t, node, nsize, nrank, any_master, err);
        MPI_Comm_free(&node);
    }
    if (rc == 0)
        rc = mpi_check(MPI_Allgather(&first, 1, MPI_INT, firsts, 1, MPI_INT,
                                     comm),
                       "MPI_Allgather", err);
    if (rc == 0) {
        /* The node ranks are in world order (key RANK): the master is the
         * first of its node. */
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
    rc = node_place(t, im->comm, rank, size, err);
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
            return 1;
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
        if (im->npend > 0 && ns > 20000)
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
