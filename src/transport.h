/* transport.h - the one seam below the scheduler: moving frames between ranks */
#ifndef TF_TRANSPORT_H
#define TF_TRANSPORT_H

#include <stdbool.h>

#include "taskfarm.h"

struct tf__transport;

/*
 * A frame sent to many peers without a copy for each (send_ref): the
 * sender's reference and one for each send not yet done. The transports
 * run on the master's thread, so the count needs no lock.
 */
struct tf__frame_ref {
    int refs;
    struct tf_buf buf; /* the whole frame; cap 0 when it is the mapping */
    int fd;            /* owned: a memory file holding the frame, or -1 */
    void *map;         /* owned: FD mapped, or NULL */
    bool borrowed;     /* the bytes are the transport's (share_alloc) */
};

/* Returns a new reference-counted, empty frame (refs 1), or NULL. */
struct tf__frame_ref *tf__frame_ref_new(void);
/*
 * Returns a new frame of LEN bytes for the caller to fill, in a memory
 * file when it is large (so that a transport can pass the file rather than
 * the bytes), or NULL when out of memory.
 */
struct tf__frame_ref *tf__frame_ref_alloc(size_t len);
/* Whether tf__frame_ref_alloc(LEN) makes the frame in a memory file (when
 * the system lets it). */
bool tf__frame_ref_in_file(size_t len);
/* Drops a reference; the last one frees the frame. NULL is ignored. */
void tf__frame_ref_put(struct tf__frame_ref *r);

/* The worker's main loop; it talks to the master (peer 0) over T. */
typedef int (*tf__worker_fn)(struct tf__transport *t, void *arg);

/* open() returns this on a worker rank whose worker function has ended. */
#define TF__WORKER_DONE 1

struct tf__transport {
    const struct tf__transport_ops *ops;
    int rank;      /* 0 for the master, 1..nworkers for a worker */
    int nworkers;
    int node_workers; /* workers on this rank's node (for thread counts) */
    int local_worker; /* on a worker: its 0-based index among them */
    int node;         /* 0-based index of this rank's node, in rank order */
    int nnodes;       /* nodes with a rank of this run */
    /* On a worker, for --bind cores: the workers of its node whose CPU set
     * (sched_getaffinity) is the same as its own, which is all of them
     * unless the launcher bound the ranks, and its 0-based index among
     * them; and whether another worker of its node has a different set
     * that shares a CPU with its own. */
    int cpu_sharers;
    int cpu_sharer;
    bool cpus_overlap;
    int worker_rc; /* on a worker rank after TF__WORKER_DONE */
    /* On a worker: the frame of the last TF__MSG_MAPPED received, mapped
     * by the transport until the next one or close(), read-write and
     * shared with the master's mapping of the same file. */
    const unsigned char *mapped;
    size_t mapped_len;
    bool mapped_shared; /* what the worker writes there the master sees */
    /* On the master, after recv reported TF_EPEER: the signal that ended
     * that worker's process, when known, else 0. */
    int peer_signal;
    /* On a worker: where to note the process group of the task it runs
     * (tf_result_set_pgid()) for the master to end if this worker dies;
     * NULL when the transport has no such place. */
    volatile int *task_pgid;
    void *impl;    /* owned; freed by close() */
};

/*
 * A transport moves whole frames (see wire.h) between the master (peer 0)
 * and the workers (peers 1..nworkers), and nothing else.
 *
 * open: starts the workers. fork and loop start NWORKERS of them, each
 *   running FN(worker_transport, ARG): fork in a child process that exits
 *   with FN's status, loop in a thread. mpi joins MPI_COMM_WORLD, where the
 *   size of the job sets the number of workers, and connects each worker to
 *   the master by a socket that carries the frames; on ranks other than 0
 *   it runs FN and returns TF__WORKER_DONE. Returns 0 on the master.
 * send: queues FRAME for PEER and never blocks the master for long; it may
 *   take FRAME's memory, leaving FRAME empty and reusable. Sending to a peer
 *   that is gone is not an error: recv reports the loss, after the messages
 *   the peer sent before it left.
 * recv: waits up to TIMEOUT_MS (-1: forever, 0: just look) for a frame from
 *   any peer. Returns 1 with the whole frame in FRAME and its sender in
 *   *PEER, 0 on timeout, or a negative code. TF_EPEER means the peer in *PEER
 *   is gone (its process ended or the master went away); later calls go on
 *   with the other peers.
 * close: ends the transport, waiting for the workers; safe on a half-opened
 *   transport and on one that was never opened.
 * send_ref: (optional) as send, for the frame in REF, which the transport
 *   reads in place and holds a reference to until the send is done; the
 *   caller must not change it meanwhile. Without it, callers copy REF's
 *   frame and use send. fork passes a large frame as a sealed memory file
 *   that every worker maps (no copy per worker): the worker then receives a
 *   TF__MSG_MAPPED frame and finds the frame itself in t->mapped.
 * share_alloc: (optional) returns a frame of LEN bytes for shared data
 *   (refs 1), for the caller to fill and then pass to share_all, or NULL
 *   with ERR set. Without it, callers use tf__frame_ref_alloc().
 * share_all: (optional) sends the frame in REF to every worker at once,
 *   those that have not said hello yet included, instead of send_ref to
 *   each: mpi broadcasts a large one into one shared memory window per node
 *   (made by share_alloc), which the node's workers map; each then
 *   receives a TF__MSG_MAPPED frame and finds the frame in t->mapped.
 *   The caller must not change REF's bytes after.
 * respawn: (optional; fork only) starts a new worker in the place of PEER,
 *   whose process has ended; it says hello like the first one did.
 * signal: (optional; fork only) sends SIG to every worker process. (Under
 *   MPI the launcher forwards the signals it gets to every rank.)
 * abort: ends the transport after a failure without waiting for workers
 *   that may be busy: fork signals its children, mpi closes the workers'
 *   sockets and leaves MPI without finalizing, so that the launcher ends
 *   the other ranks when this process exits non-zero (a worker whose
 *   master went waits a moment for that before it ends by itself). The
 *   process must exit soon after.
 */
struct tf__transport_ops {
    const char *name;
    int (*open)(struct tf__transport *t, int nworkers, tf__worker_fn fn,
                void *arg, struct tf_error *err);
    int (*send)(struct tf__transport *t, int peer, struct tf_buf *frame,
                struct tf_error *err);
    int (*recv)(struct tf__transport *t, int *peer, struct tf_buf *frame,
                int timeout_ms, struct tf_error *err);
    void (*close)(struct tf__transport *t);
    int (*send_ref)(struct tf__transport *t, int peer,
                    struct tf__frame_ref *ref, struct tf_error *err);
    /* Whether a frame of LEN bytes from tf__frame_ref_alloc(), sent with
     * send_ref, reaches the workers as a read-write mapping of the
     * master's own memory file, so that what a worker writes there the
     * master sees (NULL: never). */
    bool (*maps)(const struct tf__transport *t, size_t len);
    struct tf__frame_ref *(*share_alloc)(struct tf__transport *t, size_t len,
                                         struct tf_error *err);
    int (*share_all)(struct tf__transport *t, struct tf__frame_ref *ref,
                     struct tf_error *err);
    int (*respawn)(struct tf__transport *t, int peer, struct tf_error *err);
    void (*signal)(struct tf__transport *t, int sig);
    void (*abort)(struct tf__transport *t);
};

extern const struct tf__transport_ops tf__transport_fork;
extern const struct tf__transport_ops tf__transport_loop;
#ifdef TF_HAVE_MPI
extern const struct tf__transport_ops tf__transport_mpi;
/* Copies the first line of the MPI library's version to BUF (SIZE > 0);
 * callable before MPI_Init. */
void tf__mpi_version(char *buf, size_t size);
#endif

/*
 * Returns true when an MPI launcher (mpirun, mpiexec, srun) started this
 * process as one of several ranks, judged from the environment alone, so
 * MPI_Init is never called in a process no launcher started.
 */
bool tf__mpi_launched(void);

/*
 * Returns the number of processes the launcher says it started, read from
 * the variables of Open MPI's mpirun, of PMI-1/PMI-2 launchers (MPICH's
 * Hydra, srun --mpi=pmi2) and of a Slurm job step; 0 when none says.
 */
int tf__launcher_size(void);

/* Returns the transport called NAME ("mpi", "fork", "loop") or NULL. */
const struct tf__transport_ops *tf__transport_find(const char *name);

/*
 * Shared by the transports that read byte streams: takes the next whole
 * frame out of IN (starting at *OFF) into FRAME. Returns 1 when a frame was
 * taken, 0 when more bytes are needed, or TF_EPROTO for a bad header.
 */
int tf__transport_take_frame(struct tf_buf *in, size_t *off,
                             struct tf_buf *frame, struct tf_error *err);

#endif /* TF_TRANSPORT_H */
