/* affinity.h - the CPUs of a worker under --bind cores: its own block of
 * the CPUs it shares with the other workers of its node */
#ifndef TF_AFFINITY_H
#define TF_AFFINITY_H

#include "taskfarm.h"

/*
 * Lists in IDS (room for MAX) the CPUs this process may run on
 * (sched_getaffinity), in the order of their cores: by package, core and
 * number (read from /sys; by number alone where it cannot be read), so that
 * a block of them holds a core's hardware threads together. Returns their
 * number, or TF_ESYS.
 */
int tf__cpus_allowed(int *ids, int max, struct tf_error *err);

/*
 * Sorts the N CPUs of IDS by KEYS (the core of each, in the same order;
 * ties by number), moving KEYS with them. Pure; tf__cpus_allowed() uses it.
 */
void tf__cpus_sort(int *ids, long *keys, int n);

/*
 * The size of each block when SHARERS workers split N CPUs: WANT when not 0,
 * else N / SHARERS. Returns 0 when the N CPUs hold fewer than one block for
 * each worker (no CPU is ever in two blocks); worker I's block starts at
 * I times the size.
 */
int tf__cpu_block_size(int n, int sharers, int want);

/*
 * Appends the N CPUs of IDS to OUT as Linux lists them (Cpus_allowed_list):
 * ascending, runs as FIRST-LAST, comma-separated ("0-3,8"). Returns 0,
 * TF_ENOMEM, or the code of tf_buf_printf(); it fills no struct tf_error.
 */
int tf__cpu_list(const int *ids, int n, struct tf_buf *out);

/*
 * Pins every thread of this process (and so the processes it starts later)
 * to the N CPUs of IDS. Returns 0, or TF_ESYS when the calling thread could
 * not be pinned.
 */
int tf__cpu_bind(const int *ids, int n, struct tf_error *err);

#endif /* TF_AFFINITY_H */
