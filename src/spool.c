/* spool.c - task output the master keeps until it is written: in memory,
 * then in an unlinked temporary file */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

/* Bytes read back from the file at a time. */
#define READ_AT ((size_t)1 << 20)

struct tf__spool {
    char *dir;         /* owned */
    int fd;            /* -1 until the first spill */
    uint64_t end;      /* where the next spill goes */
    uint64_t live;     /* bytes in the file that blobs still use */
    struct tf_buf buf; /* owned: for reading back */
};

int
tf__spool_new(const char *dir, struct tf__spool **out, struct tf_error *err)
{
    struct tf__spool *s;
    const char *tmp = getenv("TMPDIR");

    *out = NULL;
    if (dir == NULL)
        dir = tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    s->fd = -1;
    s->dir = strdup(dir);
    tf_buf_init(&s->buf, 0);
    if (s->dir == NULL) {
        free(s);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

void
tf__spool_free(struct tf__spool *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    tf_buf_cleanup(&s->buf);
    free(s->dir);
    free(s);
}

uint64_t
tf__spool_live(const struct tf__spool *s)
{
    return s != NULL ? s->live : 0;
}

/* Makes the file: an O_TMPFILE where the file system has them, else a
 * named file unlinked at once. */
static int
spool_create(struct tf__spool *s, struct tf_error *err)
{
    struct tf_buf path;
    int fd;

    fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
                   errno == EINVAL)) {
        tf_buf_init(&path, 0);
        if (tf_buf_printf(&path, "%s/taskfarm-spool.XXXXXX", s->dir) < 0)
            return tf__error(err, TF_ENOMEM, "out of memory");
        fd = mkostemp((char *)path.data, O_CLOEXEC);
        if (fd >= 0)
            unlink((char *)path.data);
        tf_buf_cleanup(&path);
    }
    if (fd < 0)
        return tf__error_errno(err, TF_ESYS, errno,
                               "cannot make a spool file for task output "
                               "in %s",
                               s->dir);
    s->fd = fd;
    s->end = 0;
    return 0;
}

void
tf__blob_init(struct tf__blob *b)
{
    memset(b, 0, sizeof(*b));
    tf_buf_init(&b->mem, 0);
}

int
tf__blob_append(struct tf__blob *b, const void *p, size_t n)
{
    int rc;

    if (n == 0)
        return 0;
    rc = tf_buf_append(&b->mem, p, n);
    if (rc < 0)
        return TF_ENOMEM;
    b->len += n;
    return 0;
}

/* Adds the span [OFF, OFF + LEN) of the file to B's extents. */
static int
add_extent(struct tf__blob *b, uint64_t off, uint64_t len)
{
    struct tf__extent *e;

    if (b->next > 0 && b->ext[b->next - 1].off + b->ext[b->next - 1].len ==
                           off) {
        b->ext[b->next - 1].len += len;
        return 0;
    }
    if (b->next == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 4;

        e = realloc(b->ext, cap * sizeof(*e));
        if (e == NULL)
            return TF_ENOMEM;
        b->ext = e;
        b->cap = cap;
    }
    b->ext[b->next].off = off;
    b->ext[b->next].len = len;
    b->next++;
    return 0;
}

int
tf__blob_spill(struct tf__spool *s, struct tf__blob *b, struct tf_error *err)
{
    size_t n = b->mem.len;
    size_t done = 0;
    int rc;

    if (n == 0)
        return 0;
    if (s->fd < 0) {
        rc = spool_create(s, err);
        if (rc < 0)
            return rc;
    }
    /* The extent is added first, so that a failure leaves B as it was. */
    rc = add_extent(b, s->end, n);
    if (rc < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    while (done < n) {
        ssize_t w = pwrite(s->fd, b->mem.data + done, n - done,
                           (off_t)(s->end + done));

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;

            /* Take the extent back: the bytes stay in memory. */
            if (b->ext[b->next - 1].len == n)
                b->next--;
            else
                b->ext[b->next - 1].len -= n;
            return tf__error_errno(err, TF_ESYS, e,
                                   "writing task output to the spool file "
                                   "in %s",
                                   s->dir);
        }
        done += (size_t)w;
    }
    s->end += n;
    s->live += n;
    if (b->mem.cap > READ_AT)
        tf_buf_cleanup(&b->mem);
    else
        tf_buf_reset(&b->mem);
    return 0;
}

int
tf__blob_each(struct tf__spool *s, const struct tf__blob *b,
              int (*fn)(void *arg, const void *p, size_t n,
                        struct tf_error *err),
              void *arg, struct tf_error *err)
{
    uint32_t i;
    int rc;

    for (i = 0; i < b->next; i++) {
        uint64_t off = b->ext[i].off;
        uint64_t left = b->ext[i].len;

        rc = tf_buf_reserve(&s->buf, READ_AT);
        if (rc < 0)
            return tf__error(err, TF_ENOMEM, "out of memory");
        while (left > 0) {
            size_t want = left < READ_AT ? (size_t)left : READ_AT;
            ssize_t r = pread(s->fd, s->buf.data, want, (off_t)off);

            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return tf__error_errno(err, TF_ESYS, r < 0 ? errno : EIO,
                                       "reading task output back from the "
                                       "spool file in %s",
                                       s->dir);
            rc = fn(arg, s->buf.data, (size_t)r, err);
            if (rc < 0)
                return rc;
            off += (uint64_t)r;
            left -= (uint64_t)r;
        }
    }
    if (b->mem.len > 0)
        return fn(arg, b->mem.data, b->mem.len, err);
    return 0;
}

void
tf__blob_release(struct tf__spool *s, struct tf__blob *b)
{
    uint32_t i;

    for (i = 0; s != NULL && i < b->next; i++)
        s->live -= b->ext[i].len;
    free(b->ext);
    tf_buf_cleanup(&b->mem);
    tf__blob_init(b);
    /* With nothing left in it the file starts again from empty, so that a
     * long run's spool grows only as far as what is held at once. */
    if (s != NULL && s->fd >= 0 && s->live == 0 && s->end > 0) {
        if (ftruncate(s->fd, 0) == 0)
            s->end = 0;
        if (s->buf.cap > READ_AT)
            tf_buf_cleanup(&s->buf);
    }
}
