/* tool_subcmd.c - the argument loop of a subcommand such as
 * `taskfarm report` */
#include "tool_subcmd.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

void
tf__subcmd_init(struct tf__subcmd *s, const char *cmd,
                const struct tf__subcmd_opt *opts, const char *usage,
                size_t usage_len, int argc, char **argv)
{
    s->cmd = cmd;
    s->opts = opts;
    s->usage = usage;
    s->usage_len = usage_len;
    s->argc = argc;
    s->argv = argv;
    s->i = 1;
    s->options_done = false;
}

/* The option of S's table that argument A names ("--name", "--name=..." or
 * "-X..."), or NULL. Sets *EQ to the '=' of a long option, if any. */
static const struct tf__subcmd_opt *
find_opt(const struct tf__subcmd *s, const char *a, const char **eq)
{
    const struct tf__subcmd_opt *o;
    size_t len;

    *eq = NULL;
    for (o = s->opts; o->name != NULL; o++)
        if (o->short_name != '\0' && a[1] == o->short_name)
            return o;
    *eq = strchr(a, '=');
    len = *eq != NULL ? (size_t)(*eq - a) : strlen(a);
    for (o = s->opts; o->name != NULL; o++)
        if (strlen(o->name) == len && strncmp(a, o->name, len) == 0)
            return o;
    return NULL;
}

int
tf__subcmd_next(struct tf__subcmd *s, const struct tf__subcmd_opt **opt,
                const char **value, struct tf_error *err)
{
    const struct tf__subcmd_opt *o;
    const char *a;
    const char *eq;

    *opt = NULL;
    *value = NULL;
    for (;;) {
        if (s->i >= s->argc)
            return TF__SUBCMD_END;
        a = s->argv[s->i++];
        if (s->options_done || a[0] != '-' || a[1] == '\0') {
            *value = a;
            return TF__SUBCMD_ARG;
        }
        if (strcmp(a, "--") != 0)
            break;
        s->options_done = true;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        if (tf__write_all(STDOUT_FILENO, s->usage, s->usage_len) < 0)
            return tf__error_errno(err, TF_ESYS, errno,
                                   "writing standard output");
        return TF__SUBCMD_HELP;
    }
    o = find_opt(s, a, &eq);
    if (o == NULL ||
        (!o->has_value && (eq != NULL || (a[1] != '-' && a[2] != '\0'))))
        return tf__error(err, TF_EUSAGE,
                         "%s: unknown option '%s' (try 'taskfarm %s --help')",
                         s->cmd, a, s->cmd);
    *opt = o;
    if (!o->has_value)
        return TF__SUBCMD_OPT;
    if (eq != NULL)
        *value = eq + 1;
    else if (a[1] != '-' && a[2] != '\0')
        *value = a + 2;
    else if (s->i < s->argc)
        *value = s->argv[s->i++];
    else
        return tf__error(err, TF_EUSAGE, "%s: option '%s' needs a value",
                         s->cmd, a);
    return TF__SUBCMD_OPT;
}
