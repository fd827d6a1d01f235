/* transport_loop.c - in-process workers on threads, for unit tests */
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"

struct loop_msg {
    struct loop_msg *next;
    int from;
    struct tf_buf frame; /* owned */
};

struct loop_box {
    struct loop_msg *head; /* owned list */
    struct loop_msg *tail;
    bool closed; /* the other side is gone */
};

struct loop_shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int nworkers;
    struct loop_box *boxes; /* owned: [0] master, [i] worker i */
    pthread_t *threads;     /* owned: [1..nworkers] */
    bool *started;          /* owned */
    struct tf__transport *wts; /* owned: the workers' transports */
    tf__worker_fn fn;
    void *arg;
};

static void
box_drain(struct loop_box *b)
{
    while (b->head != NULL) {
        struct loop_msg *m = b->head;

        b->head = m->next;
        tf_buf_cleanup(&m->frame);
        free(m);
    }
    b->tail = NULL;
}

static void
loop_close(struct tf__transport *t)
{
    struct loop_shared *sh = t->impl;
    int i;

    if (sh == NULL)
        return;
    if (t->rank != 0) {
        /* A worker leaving: the master sees it as a lost peer if it did
         * not say goodbye; nothing is freed here. */
        pthread_mutex_lock(&sh->mu);
        sh->boxes[t->rank].closed = true;
        pthread_cond_broadcast(&sh->cv);
        pthread_mutex_unlock(&sh->mu);
        return;
    }
    pthread_mutex_lock(&sh->mu);
    sh->boxes[0].closed = true;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    for (i = 1; i <= sh->nworkers; i++)
        if (sh->started[i])
            pthread_join(sh->threads[i], NULL);
    for (i = 0; i <= sh->nworkers; i++)
        box_drain(&sh->boxes[i]);
    pthread_cond_destroy(&sh->cv);
    pthread_mutex_destroy(&sh->mu);
    free(sh->boxes);
    free(sh->threads);
    free(sh->started);
    free(sh->wts);
    free(sh);
    t->impl = NULL;
}

static void *
worker_main(void *p)
{
    struct tf__transport *wt = p;
    struct loop_shared *sh = wt->impl;

    wt->worker_rc = sh->fn(wt, sh->arg);
    loop_close(wt);
    return NULL;
}

static int
loop_open(struct tf__transport *t, int nworkers, tf__worker_fn fn, void *arg,
          struct tf_error *err)
{
    struct loop_shared *sh;
    int i;

    t->impl = NULL;
    t->rank = 0;
    t->nworkers = nworkers;
    t->node_workers = nworkers;
    t->local_worker = -1;
    t->node = 0;
    t->nnodes = 1;
    if (nworkers < 1)
        return tf__error(err, TF_EUSAGE, "need at least one worker");
    sh = calloc(1, sizeof(*sh));
    if (sh == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->cv, NULL);
    sh->nworkers = nworkers;
    sh->fn = fn;
    sh->arg = arg;
    sh->boxes = calloc((size_t)nworkers + 1, sizeof(*sh->boxes));
    sh->threads = calloc((size_t)nworkers + 1, sizeof(*sh->threads));
    sh->started = calloc((size_t)nworkers + 1, sizeof(*sh->started));
    sh->wts = calloc((size_t)nworkers + 1, sizeof(*sh->wts));
    t->impl = sh;
    if (sh->boxes == NULL || sh->threads == NULL || sh->started == NULL ||
        sh->wts == NULL) {
        loop_close(t);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    for (i = 1; i <= nworkers; i++) {
        sh->wts[i].ops = &tf__transport_loop;
        sh->wts[i].rank = i;
        sh->wts[i].nworkers = nworkers;
        sh->wts[i].node_workers = nworkers;
        sh->wts[i].local_worker = i - 1;
        sh->wts[i].nnodes = 1;
        sh->wts[i].impl = sh;
        if (pthread_create(&sh->threads[i], NULL, worker_main, &sh->wts[i]) !=
            0) {
            loop_close(t);
            return tf__error(err, TF_ESYS, "cannot start a worker thread");
        }
        sh->started[i] = true;
    }
    return 0;
}

static int
loop_send(struct tf__transport *t, int peer, struct tf_buf *frame,
          struct tf_error *err)
{
    struct loop_shared *sh = t->impl;
    struct loop_msg *m;
    int to = t->rank == 0 ? peer : 0;

    if (to < 0 || to > sh->nworkers)
        return tf__error(err, TF_ETRANSPORT, "no worker %d", peer);
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    m->from = t->rank;
    m->frame = *frame;
    tf_buf_init(frame, frame->max);
    pthread_mutex_lock(&sh->mu);
    if (sh->boxes[to].closed) {
        /* As on the other transports, the loss is reported by recv, after
         * whatever the peer sent before it left. */
        pthread_mutex_unlock(&sh->mu);
        tf_buf_cleanup(&m->frame);
        free(m);
        return 0;
    }
    if (sh->boxes[to].tail != NULL)
        sh->boxes[to].tail->next = m;
    else
        sh->boxes[to].head = m;
    sh->boxes[to].tail = m;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    return 0;
}

static int
loop_recv(struct tf__transport *t, int *peer, struct tf_buf *frame,
          int timeout_ms, struct tf_error *err)
{
    struct loop_shared *sh = t->impl;
    struct loop_box *box = &sh->boxes[t->rank];
    struct timespec until;
    int i;

    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&sh->mu);
    for (;;) {
        if (box->head != NULL) {
            struct loop_msg *m = box->head;

            box->head = m->next;
            if (box->head == NULL)
                box->tail = NULL;
            pthread_mutex_unlock(&sh->mu);
            tf_buf_cleanup(frame);
            *frame = m->frame;
            *peer = m->from;
            free(m);
            return 1;
        }
        /* A peer that left is reported once. */
        if (t->rank == 0) {
            for (i = 1; i <= sh->nworkers; i++) {
                if (sh->boxes[i].closed && sh->started[i]) {
                    sh->started[i] = false;
                    pthread_mutex_unlock(&sh->mu);
                    pthread_join(sh->threads[i], NULL);
                    *peer = i;
                    return tf__error(err, TF_EPEER, "worker %d ended", i);
                }
            }
        } else if (sh->boxes[0].closed) {
            pthread_mutex_unlock(&sh->mu);
            *peer = 0;
            return tf__error(err, TF_EPEER, "lost the master");
        }
        if (timeout_ms == 0)
            break;
        if (timeout_ms < 0) {
            pthread_cond_wait(&sh->cv, &sh->mu);
        } else if (pthread_cond_timedwait(&sh->cv, &sh->mu, &until) ==
                   ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return 0;
}

const struct tf__transport_ops tf__transport_loop = {
    .name = "loop",
    .open = loop_open,
    .send = loop_send,
    .recv = loop_recv,
    .close = loop_close,
    .abort = loop_close,
};
