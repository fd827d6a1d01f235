/* transport.c - choosing a transport, and helpers shared by transports */
#include "transport.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "wire.h"

/* The count the variable NAME holds, or 0 when it is unset or no count. */
static int
env_count(const char *name)
{
    const char *v = getenv(name);
    int n = v != NULL ? atoi(v) : 0;

    return n > 0 ? n : 0;
}

int
tf__launcher_size(void)
{
    /* Open MPI's mpirun; MPICH's Hydra and every PMI-1 or PMI-2 launcher
     * (srun --mpi=pmi2 too), and Hydra's count of the ranks on this node.
     * PMIx names a rank but no size (srun --mpi=pmix, Open MPI 5's
     * prterun): there Slurm's count of the step's tasks tells. */
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                       "MPI_LOCALNRANKS", NULL};
    int n = 0;
    size_t i;

    for (i = 0; vars[i] != NULL; i++) {
        if (env_count(vars[i]) > n)
            n = env_count(vars[i]);
    }
    if (getenv("SLURM_STEP_ID") != NULL && getenv("SLURM_PROCID") != NULL &&
        env_count("SLURM_STEP_NUM_TASKS") > n)
        n = env_count("SLURM_STEP_NUM_TASKS");
    return n;
}

bool
tf__mpi_launched(void)
{
    return tf__launcher_size() > 1;
}

const struct tf__transport_ops *
tf__transport_find(const char *name)
{
    if (strcmp(name, "fork") == 0)
        return &tf__transport_fork;
    if (strcmp(name, "loop") == 0)
        return &tf__transport_loop;
#ifdef TF_HAVE_MPI
    if (strcmp(name, "mpi") == 0)
        return &tf__transport_mpi;
#endif
    return NULL;
}

struct tf__frame_ref *
tf__frame_ref_new(void)
{
    struct tf__frame_ref *r = malloc(sizeof(*r));

    if (r == NULL)
        return NULL;
    r->refs = 1;
    r->fd = -1;
    r->map = NULL;
    r->borrowed = false;
    tf_buf_init(&r->buf, 0);
    return r;
}

/* Frames from this size on are made in a memory file. */
#define FILE_MIN ((size_t)1 << 20)

struct tf__frame_ref *
tf__frame_ref_alloc(size_t len)
{
    struct tf__frame_ref *r = tf__frame_ref_new();
    void *p;
    int fd;

    if (r == NULL)
        return NULL;
    if (len >= FILE_MIN) {
        fd = memfd_create("taskfarm-frame", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd >= 0 && ftruncate(fd, (off_t)len) == 0 &&
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0 &&
            (p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) !=
                MAP_FAILED) {
            r->fd = fd;
            r->map = p;
            r->buf.data = p;
            r->buf.len = len;
            return r;
        }
        if (fd >= 0)
            close(fd);
    }
    /* Small, or no memory files here: plain memory. */
    if (tf_buf_reserve(&r->buf, len) < 0) {
        free(r);
        return NULL;
    }
    r->buf.len = len;
    return r;
}

bool
tf__frame_ref_in_file(size_t len)
{
    return len >= FILE_MIN;
}

void
tf__frame_ref_put(struct tf__frame_ref *r)
{
    if (r != NULL && --r->refs == 0) {
        if (r->map != NULL)
            munmap(r->map, r->buf.len);
        else if (!r->borrowed)
            tf_buf_cleanup(&r->buf);
        if (r->fd >= 0)
            close(r->fd);
        free(r);
    }
}

int
tf__transport_take_frame(struct tf_buf *in, size_t *off, struct tf_buf *frame,
                         struct tf_error *err)
{
    size_t avail = in->len - *off;
    size_t payload;
    size_t total;
    int type;
    int rc;

    if (avail < TF__WIRE_HDR)
        return 0;
    rc = tf__wire_header(in->data + *off, avail, &type, &payload, err);
    if (rc < 0)
        return rc;
    total = TF__WIRE_HDR + payload;
    if (avail < total) {
        /* Make room for the rest of this frame in one go. */
        rc = tf_buf_reserve(in, total - avail);
        return rc < 0 ? tf__error(err, rc, "cannot buffer a message of %zu "
                                           "bytes", total)
                      : 0;
    }
    if (*off == 0 && avail == total) {
        struct tf_buf tmp = *frame;

        /* The common case: the buffer holds exactly one frame. */
        *frame = *in;
        *in = tmp;
        tf_buf_reset(in);
        return 1;
    }
    tf_buf_reset(frame);
    rc = tf_buf_append(frame, in->data + *off, total);
    if (rc < 0)
        return tf__error(err, rc, "cannot buffer a message of %zu bytes",
                         total);
    *off += total;
    if (*off == in->len) {
        tf_buf_reset(in);
        *off = 0;
    } else if (*off > in->cap / 2) {
        memmove(in->data, in->data + *off, in->len - *off);
        in->len -= *off;
        *off = 0;
    }
    return 1;
}
