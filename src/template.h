/* template.h - GNU Parallel-style replacement strings and shell quoting */
#ifndef TF_TEMPLATE_H
#define TF_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskfarm.h"

/*
 * Appends to OUT the shell-quoted form of the N bytes at S, so that
 * `/bin/sh -c` sees exactly those bytes as one word. S itself is appended
 * when it is non-empty and contains only characters that are safe unquoted
 * ([A-Za-z0-9] and _-./:,+@%^=); otherwise S is single-quoted with each '
 * written as '\'', and the empty string becomes ''. S need not be
 * NUL-terminated, and must not contain a NUL (no shell can pass one on).
 *
 * Returns 0, or the tf_buf error code (TF_EINPUT past OUT's cap, TF_ENOMEM),
 * in which case OUT is unchanged. S is borrowed. Any rank may call it.
 */
int tf__shell_quote(const char *s, size_t n, struct tf_buf *out);

/*
 * Expands the NUL-terminated template TMPL for one input LINE (LEN bytes, no
 * NUL and no newline inside, not NUL-terminated) and appends the result to
 * OUT. The replacement strings are:
 *
 *   {}    the line;
 *   {.}   the line without its extension: up to the last '.' after the last
 *         '/', provided that '.' is not the first character of the basename
 *         (so ".hidden" and "dir.d/file" are kept whole);
 *   {/}   the basename, the text after the last '/';
 *   {//}  the dirname, the text before the last '/', or "." when there is no
 *         '/'; when the only '/' is the first character it is "/", as for
 *         dirname(1), so that "/x" does not name the current directory;
 *   {/.}  the basename without its extension;
 *   {#}   the task id SEQ in decimal;
 *   {%}   the job slot SLOT in decimal.
 *
 * The values of {} {.} {/} {//} {/.} are shell-quoted with tf__shell_quote():
 * input lines are data, never code, so `'; rm -rf ~ #` or `$(reboot)` reaches
 * the command as one literal argument. Any other brace text ("{x}", a lone
 * "{" or "}") is copied literally. When TMPL contains none of the seven
 * replacement strings, " {}" is appended to it first, as GNU Parallel does,
 * so the quoted line becomes the last argument.
 *
 * One pass over TMPL; the only allocation is the growth of OUT. Returns 0, or
 * TF_EINPUT when OUT's cap would be exceeded or TF_ENOMEM, in which case OUT
 * is left as it was before the call. All pointers are borrowed. Called on a
 * worker once per task.
 */
int tf__template_expand(const char *tmpl, const char *line, size_t len,
                        uint64_t seq, int slot, struct tf_buf *out);

/* Returns true when TMPL contains at least one of the seven replacement
 * strings listed above tf__template_expand(). */
bool tf__template_has_placeholder(const char *tmpl);

#endif /* TF_TEMPLATE_H */
