/* tool_subcmd.h - the argument loop of a subcommand such as
 * `taskfarm report` */
#ifndef TF_TOOL_SUBCMD_H
#define TF_TOOL_SUBCMD_H

#include <stdbool.h>
#include <stddef.h>

#include "taskfarm.h"

/* One option a subcommand takes; a table of them ends with a NULL name. */
struct tf__subcmd_opt {
    const char *name; /* "--output" */
    char short_name;  /* 'o' for -o VALUE and -oVALUE, or 0 */
    bool has_value;   /* --name VALUE or --name=VALUE; else a flag */
};

/* What tf__subcmd_next() found. */
enum tf__subcmd_item {
    TF__SUBCMD_END,  /* no arguments left */
    TF__SUBCMD_ARG,  /* a positional argument */
    TF__SUBCMD_OPT,  /* an option of the table */
    TF__SUBCMD_HELP, /* -h or --help: the usage text was printed */
};

/*
 * The state of the loop over ARGV[1..ARGC-1] of subcommand CMD ("report":
 * the prefix of every message). USAGE (USAGE_LEN bytes) is printed on
 * standard output for -h and --help. All of it is borrowed.
 */
struct tf__subcmd {
    const char *cmd;
    const struct tf__subcmd_opt *opts;
    const char *usage;
    size_t usage_len;
    int argc;
    char **argv;
    int i;             /* the next argument; set by tf__subcmd_init() */
    bool options_done; /* after "--" */
};

/* Starts the loop S over ARGV (ARGC entries, ARGV[0] skipped). */
void tf__subcmd_init(struct tf__subcmd *s, const char *cmd,
                     const struct tf__subcmd_opt *opts, const char *usage,
                     size_t usage_len, int argc, char **argv);

/*
 * Takes the next argument of S. "-" and anything not starting with '-', and
 * everything after "--", is a positional argument (*VALUE). An option of
 * the table sets *OPT and, when it takes one, *VALUE: the text after '=' (or
 * after -X), else the next argument. -h and --help print the usage text.
 * Returns a TF__SUBCMD_* item, TF_EUSAGE for an unknown option, a flag given
 * a value or a value missing, or TF_ESYS when the help cannot be written.
 * *OPT and *VALUE are borrowed from the table and ARGV.
 */
int tf__subcmd_next(struct tf__subcmd *s, const struct tf__subcmd_opt **opt,
                    const char **value, struct tf_error *err);

#endif /* TF_TOOL_SUBCMD_H */
