/* tool_lines.c - a run's task lines: read, passed over when done before, and
 * ordered longest first */
#include "tool_lines.h"

#include <stdlib.h>

#include "error.h"
#include "tool_history.h"
#include "tool_resume.h"
#include "tool_source.h"

/* One task read for --order lpt: its text is in the shared buffer. */
struct tf__lpt_task {
    uint64_t id;
    uint64_t est_us;
    size_t off;
    size_t len;
};

/* Reads the next task that is not skipped. */
static int
read_task(struct tf__lines *l, uint64_t *id, const char **line, size_t *len,
          struct tf_error *err)
{
    int rc;

    for (;;) {
        rc = tf__source_next(l->src, id, line, len, err);
        /* A task the resumed run finished is not run again. */
        if (rc == 1 && l->resume != NULL &&
            tf__resume_done(l->resume, *id, *line, *len, l->rerun_failed)) {
            l->skipped++;
            if (l->on_skip != NULL) {
                rc = l->on_skip(l->skip_arg, *id, err);
                if (rc < 0)
                    return rc;
            }
            continue;
        }
        return rc;
    }
}

/* Longest first, then in task order. */
static int
cmp_lpt(const void *a, const void *b)
{
    const struct tf__lpt_task *x = a, *y = b;

    if (x->est_us != y->est_us)
        return x->est_us > y->est_us ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* --order lpt: reads every task and sorts them, longest first (by the
 * history; a task it does not know counts as the mean of those it does). */
static int
sort_tasks(struct tf__lines *l, struct tf_error *err)
{
    uint64_t id;
    const char *line;
    size_t len, cap = 0;
    int rc;

    tf__source_set_blocking(l->src, true);
    while ((rc = read_task(l, &id, &line, &len, err)) == 1) {
        struct tf__lpt_task *t;

        if (l->ntasks == cap) {
            size_t ncap = cap ? cap * 2 : 1024;

            t = realloc(l->tasks, ncap * sizeof(*t));
            if (t == NULL)
                return tf__error(err, TF_ENOMEM, "out of memory");
            l->tasks = t;
            cap = ncap;
        }
        t = &l->tasks[l->ntasks++];
        t->id = id;
        t->est_us = tf__history_get(l->history, id, line, len, NULL);
        t->off = l->text.len;
        t->len = len;
        if (tf_buf_append(&l->text, line, len) < 0)
            return tf__error(err, TF_ENOMEM, "out of memory");
    }
    if (rc < 0)
        return rc;
    if (l->ntasks > 0)
        qsort(l->tasks, l->ntasks, sizeof(*l->tasks), cmp_lpt);
    l->sorted = true;
    return 0;
}

int
tf__lines_next(struct tf__lines *l, uint64_t *id, const void **data,
               size_t *len, bool may_block, struct tf_error *err)
{
    const char *line;
    int rc;

    if (l->lpt) {
        const struct tf__lpt_task *t;

        if (!l->sorted) {
            rc = sort_tasks(l, err);
            if (rc < 0)
                return rc;
        }
        if (l->next == l->ntasks)
            return 0;
        t = &l->tasks[l->next++];
        *id = t->id;
        *data = l->text.data + t->off;
        *len = t->len;
        return 1;
    }
    tf__source_set_blocking(l->src, may_block);
    rc = read_task(l, id, &line, len, err);
    if (rc == 1)
        *data = line;
    return rc;
}

uint64_t
tf__lines_estimate(const struct tf__lines *l, uint64_t id, const void *data,
                   size_t len)
{
    if (l->lpt) /* looked up already, to sort by */
        return l->tasks[l->next - 1].est_us;
    return tf__history_get(l->history, id, data, len, NULL);
}

void
tf__lines_cleanup(struct tf__lines *l)
{
    free(l->tasks);
    l->tasks = NULL;
    tf_buf_cleanup(&l->text);
}
