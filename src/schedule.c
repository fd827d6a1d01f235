/* schedule.c - chunk sizes for self-scheduling workers; pure logic, no I/O */
#include "schedule.h"

void
tf__sched_init(struct tf__sched *s, int nworkers, uint64_t fixed)
{
    s->nworkers = nworkers < 1 ? 1 : nworkers;
    s->fixed = fixed;
    s->target_us = TF__SCHED_TARGET_US;
    /* Many workers: longer chunks, so that the master's requests a second
     * (workers / chunk time) stay well under what it serves. */
    if (s->nworkers > TF__SCHED_WORKERS_PER_TARGET)
        s->target_us = TF__SCHED_TARGET_US * (uint64_t)s->nworkers /
                       TF__SCHED_WORKERS_PER_TARGET;
    s->max_chunk = TF__SCHED_MAX_CHUNK;
    s->last = 0;
    s->tasks = 0;
    s->busy_us = 0;
}

static uint64_t
auto_size(const struct tf__sched *s)
{
    uint64_t want;
    uint64_t grow;

    if (s->tasks == 0)
        return 1;
    /* want = target / mean task time, computed without dividing by zero:
     * a mean below a microsecond counts as a microsecond per
     * s->tasks / s->busy_us tasks. */
    if (s->busy_us == 0)
        want = s->max_chunk;
    else if (s->target_us > UINT64_MAX / s->tasks)
        want = s->max_chunk;
    else
        want = s->target_us * s->tasks / s->busy_us;
    if (want < 1)
        want = 1;
    if (want > s->max_chunk)
        want = s->max_chunk;
    grow = s->last < 1 ? 1 : s->last * 2;
    return want < grow ? want : grow;
}

uint64_t
tf__sched_next(struct tf__sched *s, uint64_t pending, bool eof)
{
    uint64_t n;

    if (s->fixed != 0) {
        n = s->fixed;
    } else {
        n = auto_size(s);
        if (eof) {
            uint64_t gss = pending / (2 * (uint64_t)s->nworkers);

            if (gss < 1)
                gss = 1;
            if (n > gss)
                n = gss;
        }
        if (n > s->last)
            s->last = n;
    }
    if (eof && n > pending)
        n = pending;
    return n < 1 ? 1 : n;
}

void
tf__sched_observe(struct tf__sched *s, uint64_t ntasks, uint64_t busy_us)
{
    s->tasks += ntasks;
    s->busy_us += busy_us;
}

uint64_t
tf__sched_lookahead(const struct tf__sched *s)
{
    uint64_t c = s->fixed != 0 ? s->fixed : auto_size(s);

    /* Enough to fill every worker's two chunks once more, so the end of the
     * input is seen a little before the last chunks are cut. */
    return c * 2 * (uint64_t)s->nworkers;
}

int
tf__sched_prefetch(const struct tf__sched *s)
{
    if (s->tasks == 0)
        return 1;
    return s->busy_us / s->tasks < TF__SCHED_PREFETCH_BELOW_US ? 2 : 1;
}
