/* tool_log.h - the taskfarm command's log: one line on standard error a
 * message */
#ifndef TF_TOOL_LOG_H
#define TF_TOOL_LOG_H

/*
 * The log function of the command (a tf_log_fn): writes "taskfarm: MSG" or,
 * from a worker, "taskfarm[worker N]: MSG" and a newline to standard
 * error, in one write, so that lines from different processes never
 * interleave.
 */
void tf__tool_log(void *arg, int level, int worker, const char *msg);

/* Installs tf__tool_log() as the process's log, at LEVEL (TF_LOG_*). */
void tf__tool_log_start(int level);

#endif /* TF_TOOL_LOG_H */
