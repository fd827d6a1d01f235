#!/usr/bin/env python3
"""procwatch.py - measure one process (the taskfarm master) from outside.

Used by bench/overhead.sh and bench/master_cpu.sh.

  procwatch.py run OUTFILE CMD [ARG...]
      Starts CMD as this process's child and measures that process alone:
        wall     seconds from start to exit (time.perf_counter)
        cpu      its own user+system CPU seconds, all its threads, *not*
                 counting its children. Exact, not sampled: the helper waits
                 for the exit with waitid(WEXITED|WNOWAIT), which leaves the
                 process a zombie, reads fields 14 and 15 (utime, stime, in
                 clock ticks) of /proc/PID/stat from the zombie, and only
                 then reaps it. (Polling /proc/PID/stat while it runs would
                 lose whatever it spent after the last sample.)
        hwm_kb   its own peak RSS (VmHWM of /proc/PID/status), sampled every
                 20 ms while it runs: VmHWM never decreases, so this misses
                 only growth in its last 20 ms. A zombie has no VmHWM.
        maxrss_kb  ru_maxrss from wait4(): the number GNU time prints as %M.
                 Linux fills it like getrusage(RUSAGE_BOTH): the maximum of
                 the process's own peak and the peaks of every descendant it
                 (or they) waited for - so for taskfarm's fork transport it is
                 max(master, workers), an upper bound on the master (give
                 or take a few hundred kB: on Linux 6.x ru_maxrss reads a
                 little below VmHWM even for a lone process).
        rc       CMD's exit status (128+N when killed by signal N)
      writes them as KEY=VALUE lines to OUTFILE and exits with rc.
      Under mpirun it is rank 0's program in an MPMD line
      (mpirun -np 1 procwatch.py run OUT taskfarm ... : -np 2 taskfarm ...);
      the MPI process it starts inherits the launcher's environment.

  procwatch.py watch PIDFILE STOPFILE OUTFILE
      For a process this helper is not the parent of (one that GNU time
      waits for): waits for PIDFILE to hold a pid, then samples that pid's
      VmHWM and utime+stime every 20 ms until the process is gone, is a
      zombie, or STOPFILE exists; writes hwm_kb and cpu (last sample).
"""
import os
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")
PERIOD = 0.02


def read_cpu(pid):
    """utime+stime of the whole thread group, in seconds, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()  # rest[0] is field 3 (state)
    return (int(rest[11]) + int(rest[12])) / TICK


def read_hwm(pid):
    """VmHWM in kB, or None (gone, zombie or kernel thread)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def is_live(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return False
    return s[s.rindex(")") + 2] not in "ZX"


def write(path, d):
    with open(path, "w") as f:
        for k, v in d.items():
            f.write(f"{k}={v}\n")


def cmd_run(out, argv):
    hwm = [0]
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    done = threading.Event()

    def sampler():
        while not done.is_set():
            h = read_hwm(pid)
            if h is not None and h > hwm[0]:
                hwm[0] = h
            done.wait(PERIOD)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    # Wait for the exit but leave the zombie in place (WNOWAIT).
    while True:
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            break
        except InterruptedError:
            continue
    t1 = time.perf_counter()
    done.set()
    th.join()
    cpu = read_cpu(pid)  # the zombie's final figures
    _, status, ru = os.wait4(pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc
    write(out, {"rc": rc, "wall": f"{t1 - t0:.6f}",
                "cpu": "" if cpu is None else f"{cpu:.2f}",
                "hwm_kb": hwm[0], "maxrss_kb": ru.ru_maxrss})
    return rc


def cmd_watch(pidfile, stopfile, out):
    pid = None
    while pid is None and not os.path.exists(stopfile):
        try:
            with open(pidfile) as f:
                txt = f.read().strip()
            if txt:
                pid = int(txt)
        except (OSError, ValueError):
            pass
        if pid is None:
            time.sleep(0.005)
    hwm, cpu = 0, None
    while pid is not None and not os.path.exists(stopfile) and is_live(pid):
        h = read_hwm(pid)
        c = read_cpu(pid)
        if h is not None and h > hwm:
            hwm = h
        if c is not None and is_live(pid):
            cpu = c
        time.sleep(PERIOD)
    write(out, {"hwm_kb": hwm if hwm else "",
                "cpu": "" if cpu is None else f"{cpu:.2f}"})
    return 0


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "run":
        return cmd_run(a[1], a[2:])
    if len(a) == 4 and a[0] == "watch":
        return cmd_watch(a[1], a[2], a[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
