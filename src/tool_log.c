/* tool_log.c - the taskfarm command's log: one line on standard error a
 * message */
#include "tool_log.h"

#include <stdio.h>
#include <unistd.h>

#include "error.h"

void
tf__tool_log(void *arg, int level, int worker, const char *msg)
{
    char line[1100];
    int n;

    (void)arg;
    (void)level;
    if (worker >= 0)
        n = snprintf(line, sizeof(line) - 1, "taskfarm[worker %d]: %s",
                     worker, msg);
    else
        n = snprintf(line, sizeof(line) - 1, "taskfarm: %s", msg);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* One write, so lines from different processes never interleave. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

void
tf__tool_log_start(int level)
{
    tf__log_set(tf__tool_log, NULL);
    tf__log_set_level(level);
}
