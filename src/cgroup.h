/* cgroup.h - what the node and this process's cgroups allow: room for
 * processes and memory, and the out-of-memory kills they counted */
#ifndef TF_CGROUP_H
#define TF_CGROUP_H

#include <stdint.h>

/*
 * How much more of RES ("pids" or "memory") this process's cgroup and those
 * above it allow: the tightest of their limit less their use (pids.max less
 * pids.current; memory.max less memory.current, or version 1's
 * memory.limit_in_bytes less memory.usage_in_bytes), or UINT64_MAX when no
 * cgroup sets a limit. *LIMIT (may be NULL) gets the tightest limit itself,
 * or UINT64_MAX.
 */
uint64_t tf__cgroup_room(const char *res, uint64_t *limit);

/*
 * The memory a task may still take here: the node's MemAvailable
 * (/proc/meminfo) or the cgroups' room, the smaller, in *AVAIL, and the
 * most it could ever have (MemTotal or the tightest cgroup limit) in
 * *TOTAL. Returns 0, or -1 when /proc/meminfo cannot be read (both are
 * then UINT64_MAX).
 */
int tf__mem_available(uint64_t *avail, uint64_t *total);

/*
 * Processes the out-of-memory killer has killed: the oom_kill count of
 * this process's cgroup (memory.events, which counts its descendants too)
 * or, without one, of the node (/proc/vmstat). UINT64_MAX when neither can
 * be read. It rising while a task ran, which then died of SIGKILL, says
 * that the kernel killed it for memory. The cgroup is the one the process
 * was in at the first call.
 */
uint64_t tf__oom_kills(void);

/*
 * Reserves NEED bytes for the next task of this process, when there is room
 * for them: the memory available (tf__mem_available()) and the total less
 * what the other live processes of this user in the same cgroup on this
 * node reserved, in a file under /dev/shm that they share (locked while
 * read and written). Returns 1 reserved, 0 no room now, or -1 when the
 * file cannot be used (then only the memory available counts, and nothing
 * is reserved). *AVAIL gets the room found (the memory available, less
 * the others' reservations), *TOTAL the most there could be. A process
 * holds one reservation; a new one replaces it (so the worker threads of
 * the loop backend, which share a process, share one).
 */
int tf__mem_reserve(uint64_t need, uint64_t *avail, uint64_t *total);

/* Gives back this process's reservation, if any. */
void tf__mem_release(void);

#endif /* TF_CGROUP_H */
