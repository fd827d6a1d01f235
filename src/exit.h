/* exit.h - the exit statuses of the taskfarm command, one table for every
 * command (README.md and the man page list them) */
#ifndef TF_EXIT_H
#define TF_EXIT_H

enum tf__exit {
    TF__EXIT_OK = 0,        /* every task succeeded; a command did its work */
    TF__EXIT_TASK_FAIL = 1, /* some task failed; `results --task N`: no
                               record of task N */
    TF__EXIT_USAGE = 2,     /* usage or input error; nothing ran */
    TF__EXIT_SYSTEM = 3,    /* system or transport error */
    TF__EXIT_HALTED = 4,    /* --halt ...,fail= stopped the run */
    TF__EXIT_DEADLINE = 5   /* tasks were left for the deadline or SIGUSR1:
                               run again with --resume to finish them */
};

#endif /* TF_EXIT_H */
