/* spool.h - task output the master keeps until it is written: in memory,
 * then in an unlinked temporary file */
#ifndef TF_SPOOL_H
#define TF_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * A spool is one temporary file, made at the first spill in a directory
 * ($TMPDIR, or /tmp, or one given) and unlinked at once, so that nothing is
 * left behind whatever ends the process. Blobs keep their bytes in memory
 * until the master spills them; the file space of blobs released is given
 * back when no blob uses the file any more. Master only; not thread-safe.
 */
struct tf__spool;

/* One span of a blob's bytes in the spool file. */
struct tf__extent {
    uint64_t off;
    uint64_t len;
};

/*
 * One stream of one task's output: bytes in the spool file (EXT, in order)
 * followed by bytes in memory (MEM). Zero it (or tf__blob_init()) before
 * use; tf__blob_release() frees it.
 */
struct tf__blob {
    struct tf__extent *ext; /* owned */
    uint32_t next;          /* extents in use */
    uint32_t cap;
    struct tf_buf mem;      /* owned: the bytes after the extents */
    uint64_t len;           /* all of them */
};

/*
 * Makes a spool whose file will be made in DIR (borrowed; NULL: $TMPDIR when
 * set and not empty, else /tmp). Nothing is created yet. Returns 0, or
 * TF_ENOMEM.
 */
int tf__spool_new(const char *dir, struct tf__spool **out,
                  struct tf_error *err);
/* Closes the file and frees S. NULL is a no-op. */
void tf__spool_free(struct tf__spool *s);
/* Bytes the spool file holds for blobs not released. */
uint64_t tf__spool_live(const struct tf__spool *s);

void tf__blob_init(struct tf__blob *b);
/* Appends N bytes at P to B's memory. Returns 0 or TF_ENOMEM. */
int tf__blob_append(struct tf__blob *b, const void *p, size_t n);
/*
 * Moves the bytes B holds in memory to the end of the spool file S (made
 * now if it is not yet). Returns 0, or TF_ESYS naming the directory when the
 * file cannot be made or written (a full disk): B is then unchanged.
 */
int tf__blob_spill(struct tf__spool *s, struct tf__blob *b,
                   struct tf_error *err);
/*
 * Calls FN with B's bytes in order, in pieces of at most 1 MiB (those in the
 * file read back through a buffer of S's; S may be NULL when B has none in
 * the file). A negative return from FN stops it and is returned; a read
 * error is TF_ESYS.
 */
int tf__blob_each(struct tf__spool *s, const struct tf__blob *b,
                  int (*fn)(void *arg, const void *p, size_t n,
                            struct tf_error *err),
                  void *arg, struct tf_error *err);
/* Frees B's memory and gives its file space back to S (may be NULL when B
 * has none in the file); B is empty and reusable after. */
void tf__blob_release(struct tf__spool *s, struct tf__blob *b);

#endif /* TF_SPOOL_H */
