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

/* The largest column number {N} may name. */
#define TF__TEMPLATE_MAX_COLUMN 10000

/*
 * A compiled --template: the template parsed once, so that applying it to
 * each line does no parsing, and checked, so that a mistyped or unsupported
 * replacement string is an error before anything runs.
 */
struct tf__template;

/*
 * Compiles the NUL-terminated template TMPL for --colsep COLSEP and stores
 * the result in *OUT (written only on success; free it with
 * tf__template_free()).
 *
 * COLSEP (NULL: no --colsep) splits each input line into columns for {N}.
 * It is a literal string, not a regular expression, in which a backslash
 * starts an escape:
 *
 *   \t      a TAB;
 *   \\      a backslash;
 *   \P      the character P itself, for any ASCII punctuation or a space,
 *           so that GNU Parallel's regex-escaped "\|" or "\." work too;
 *   \s+     as the whole value: runs of spaces and TABs separate columns,
 *           and blanks at the start or end of the line make no empty
 *           column, as awk's default field splitting does (GNU Parallel's
 *           Perl split keeps an empty first column there).
 *
 * Any other separator is one or more bytes, matched exactly, left to
 * right, without overlap: "a,,b" has the columns "a", "" and "b", and
 * every line has at least one column (the empty line has one, empty). With
 * \s+ a line of blanks has none.
 *
 * The replacement strings are those of tf__template_expand() and
 *
 *   {N} {N.} {N/} {N//} {N/.}   column N (1 <= N <= TF__TEMPLATE_MAX_COLUMN,
 *                               no leading zero) with the path operation of
 *                               {} {.} {/} {//} {/.} applied to it.
 *
 * Values are shell-quoted as by tf__template_expand(). Without COLSEP the
 * line is one column: {1} is {}, {1.} is {.}, and so on, as in GNU
 * Parallel with one input source, while {N} for N > 1 is refused. With
 * COLSEP, as in GNU Parallel, {} {.} {/} {//} {/.} give every column, each
 * with the operation applied and quoted, separated by single spaces; a
 * column past the last one is the empty value, written ''. A template with
 * no replacement string gets " {}" appended: the whole line, or with COLSEP
 * every column as its own argument.
 *
 * Refused with TF_EUSAGE and a one-line message in ERR (NULL allowed):
 *   - an empty COLSEP or one with an unknown escape (the message names
 *     --colsep and the value);
 *   - text that GNU Parallel would take for a replacement string but
 *     taskfarm does not implement: "{=" up to the next "=}" (a Perl
 *     expression), and "{" followed by one or more of 0-9 . / # % + = ^ -
 *     and "}" that is none of the forms above, such as {..}, {+/},
 *     {##}, {-1}, {0}, {1..3} or {1//.}; the message names the text (cut
 *     to 40 bytes) and lists the known forms;
 *   - {N} with N > 1 without COLSEP, or N past TF__TEMPLATE_MAX_COLUMN.
 * Other brace text ("{x}", "{print $1}", "${HOME}", "{ cmd; }", "{a,b}", a
 * lone "{" or "}") is copied literally; "${10}" holds the column {10}.
 * Returns 0, TF_EUSAGE, or TF_ENOMEM. TMPL and COLSEP are borrowed (copied).
 */
int tf__template_compile(const char *tmpl, const char *colsep,
                         struct tf__template **out, struct tf_error *err);

/* Frees T. NULL is a no-op. */
void tf__template_free(struct tf__template *t);

/*
 * Appends to OUT what T makes of input LINE (LEN bytes, no NUL and no
 * newline inside, not NUL-terminated) as task SEQ in job slot SLOT, as
 * described above tf__template_compile(). Does no allocation but OUT's
 * growth. Returns 0, or TF_EINPUT past OUT's cap or TF_ENOMEM, in which
 * case OUT is left as it was. T and LINE are borrowed; T may be shared by
 * threads, as it is never written after compiling.
 */
int tf__template_apply(const struct tf__template *t, const char *line,
                       size_t len, uint64_t seq, int slot, struct tf_buf *out);

/* Whether T holds {%}: the command depends on the job slot. */
bool tf__template_uses_slot(const struct tf__template *t);

/*
 * Appends to OUT the words of the /bin/sh command text S (N bytes) with
 * quoting removed, joined by one space: two texts that sh would split into
 * the same words give the same result. Words end at unquoted blanks (space,
 * TAB, newline); '...' is literal; in "..." a backslash quotes only $ ` "
 * \ and newline and is otherwise kept; an unquoted \x is x; a
 * backslash-newline is removed; a trailing lone backslash is itself. '' or
 * "" makes an empty word. Nothing is expanded: $, `, #, operators such as
 * ; | & and globs are ordinary characters, so "echo a;b" is the words
 * "echo" and "a;b". Note that the result does not show where one word ends
 * when a word holds a space: echo 'a b' and echo a b give the same text.
 *
 * Returns 0, TF_EINPUT for an unbalanced quote, or OUT's error (TF_EINPUT
 * past its cap, TF_ENOMEM); on error OUT is left as it was.
 */
int tf__shell_canon(const char *s, size_t n, struct tf_buf *out);

/*
 * Whether CMD (CMD_LEN bytes, a joblog's Command column) is what T makes of
 * input LINE (LEN bytes) as task SEQ, for some job slot when T has {%} (a
 * joblog does not record the slot; every {%} must then be the same decimal
 * number). The two are compared as the words tf__shell_canon() finds, word
 * for word, so that GNU Parallel's quoting ('it'"'"'s' for our 'it'\''s',
 * 'a=b' for our a=b) and ours match, but "a b" as one word does not match
 * two. A column past the last one matches both our '' and GNU Parallel's
 * nothing. False when CMD has an unbalanced quote or memory runs out.
 */
bool tf__template_matches(const struct tf__template *t, const char *line,
                          size_t len, uint64_t seq, const char *cmd,
                          size_t cmd_len);

#endif /* TF_TEMPLATE_H */
