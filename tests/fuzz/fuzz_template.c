/* fuzz_template.c - libFuzzer target: the template expander and shell
 * quoting (src/template.c) */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "template.h"

/*
 * Input: one control byte, the template up to the first NUL byte (or the
 * end), then the input line up to the next newline or NUL (a task line holds
 * neither, as tf__template_expand() requires).
 *   bits 0-1  the task id {#}: 0, 1, 12345 or UINT64_MAX;
 *   bits 2-4  the job slot {%}: 0, 1, -1, INT_MIN, INT_MAX, 7, -42 or 100;
 *   bits 5-7  the --colsep of the compiled template: none, ",", "\t",
 *             "\s+", "::", "\\", " " or "a\|a".
 */
static const uint64_t seqs[4] = {0, 1, 12345, UINT64_MAX};
static const int slots[8] = {0, 1, -1, INT_MIN, INT_MAX, 7, -42, 100};

/* A --colsep value and what it means, written out on its own so that the
 * checks do not share the implementation's parser or splitter. */
struct colsep_case {
    const char *arg; /* the value given to tf__template_compile() */
    const char *sep; /* the separator it stands for; NULL: none or blanks */
    size_t sep_len;
    bool blanks; /* \s+ */
};

static const struct colsep_case colseps[8] = {
    {NULL, NULL, 0, false},  {",", ",", 1, false},
    {"\\t", "\t", 1, false}, {"\\s+", NULL, 0, true},
    {"::", "::", 2, false},  {"\\\\", "\\", 1, false},
    {" ", " ", 1, false},    {"a\\|a", "a|a", 3, false},
};

/* The most columns the checks look at one by one. */
#define MAX_COLS_CHECKED 12

/* Text a buffer starts with, so the checks see that expansion appends. */
#define PREFIX "P"

static bool
is_safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c != '\0' && strchr("_-./:,+@%^=", c));
}

/*
 * Undoes /bin/sh quoting of one word made of bare safe characters, '...'
 * runs and \' escapes. Returns the length of the word in OUT (room for N
 * bytes), or -1 when Q is not such a word.
 */
static long
sh_unquote(const unsigned char *q, size_t n, unsigned char *out)
{
    bool in_quote = false;
    size_t i;
    long k = 0;

    for (i = 0; i < n; i++) {
        if (in_quote) {
            if (q[i] == '\'')
                in_quote = false;
            else
                out[k++] = q[i];
        } else if (q[i] == '\'') {
            in_quote = true;
        } else if (q[i] == '\\' && i + 1 < n && q[i + 1] == '\'') {
            out[k++] = '\'';
            i++;
        } else if (is_safe(q[i])) {
            out[k++] = q[i];
        } else {
            return -1;
        }
    }
    return in_quote ? -1 : k;
}

/* Quoting S gives one shell word that stands for exactly S. */
static void
check_quote(const char *s, size_t n)
{
    struct tf_buf q;
    unsigned char *back;
    bool bare = n > 0;
    size_t i;
    long k;

    for (i = 0; i < n; i++)
        bare = bare && is_safe((unsigned char)s[i]);
    tf_buf_init(&q, 0);
    FUZZ_CHECK(tf_buf_append(&q, PREFIX, 1) == 0);
    FUZZ_CHECK(tf_shell_quote(s, n, &q) == 0);
    FUZZ_CHECK(q.data[q.len] == '\0');
    FUZZ_CHECK(memcmp(q.data, PREFIX, 1) == 0);
    if (bare) {
        /* Safe text goes as it is. */
        FUZZ_CHECK(q.len == 1 + n);
        FUZZ_CHECK(memcmp(q.data + 1, s, n) == 0);
    } else {
        FUZZ_CHECK(q.len >= 3 && q.data[1] == '\'');
    }
    back = malloc(q.len + 1);
    FUZZ_CHECK(back != NULL);
    k = sh_unquote(q.data + 1, q.len - 1, back);
    FUZZ_CHECK(k >= 0 && (size_t)k == n);
    FUZZ_CHECK(memcmp(back, s, n) == 0);
    free(back);

    /* A buffer too small for the quoted word fails and is left as it was. */
    tf_buf_reset(&q);
    q.max = 1 + (bare ? n : 2 + n) - 1;
    FUZZ_CHECK(tf_buf_append(&q, PREFIX, 1) == 0);
    FUZZ_CHECK(tf__shell_quote(s, n, &q) == TF_EINPUT);
    FUZZ_CHECK(q.len == 1 && q.data[1] == '\0');
    tf_buf_cleanup(&q);
}

/* Expands into a buffer capped at MAX bytes that holds PREFIX already. */
static int
expand_capped(const char *tmpl, const char *line, size_t len, uint64_t seq,
              int slot, size_t max, struct tf_buf *out)
{
    tf_buf_init(out, max);
    FUZZ_CHECK(tf_buf_append(out, PREFIX, 1) == 0);
    return tf__template_expand(tmpl, line, len, seq, slot, out);
}

/* The words of the N bytes at S, as tf__shell_canon() gives them. */
static struct tf_buf
canon_of(const void *s, size_t n)
{
    struct tf_buf c;

    tf_buf_init(&c, 0);
    FUZZ_CHECK(tf__shell_canon(s, n, &c) == 0);
    return c;
}

static bool
buf_is(const struct tf_buf *b, const void *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

/*
 * Column I (1-based) of LINE split by CS, found the slow and obvious way:
 * stores its start and length and returns true, or false when the line has
 * fewer columns.
 */
static bool
ref_column(const struct colsep_case *cs, const char *line, size_t len, size_t i,
           size_t *off, size_t *n)
{
    size_t pos = 0;
    size_t col = 1;
    size_t k;

    if (cs->blanks) {
        for (;;) {
            while (pos < len && (line[pos] == ' ' || line[pos] == '\t'))
                pos++;
            if (pos == len)
                return false;
            for (k = pos; k < len && line[k] != ' ' && line[k] != '\t'; k++)
                ;
            if (col++ == i) {
                *off = pos;
                *n = k - pos;
                return true;
            }
            pos = k;
        }
    }
    for (;;) {
        for (k = pos; k + cs->sep_len <= len; k++) {
            if (memcmp(line + k, cs->sep, cs->sep_len) == 0)
                break;
        }
        if (k + cs->sep_len > len)
            k = len;
        if (col++ == i) {
            *off = pos;
            *n = k - pos;
            return true;
        }
        if (k == len)
            return false;
        pos = k + cs->sep_len;
    }
}

/* Applies the template TMPL with --colsep CS to LINE and returns the words
 * of the result. */
static struct tf_buf
words_of(const char *tmpl, const struct colsep_case *cs, const char *line,
         size_t len)
{
    struct tf__template *t;
    struct tf_buf out;
    struct tf_buf c;

    FUZZ_CHECK(tf__template_compile(tmpl, cs->arg, &t, NULL) == 0);
    tf_buf_init(&out, 0);
    FUZZ_CHECK(tf__template_apply(t, line, len, 1, 1, &out) == 0);
    c = canon_of(out.data, out.len);
    tf_buf_cleanup(&out);
    tf__template_free(t);
    return c;
}

/*
 * Each column {I} is column I of the line, found independently, as one
 * word; one past the last is the empty word; {} is every column.
 */
static void
check_columns(const struct colsep_case *cs, const char *line, size_t len)
{
    struct tf_buf all;
    struct tf_buf joined;
    struct tf_buf w;
    char tmpl[32];
    size_t off;
    size_t n;
    size_t i;

    tf_buf_init(&joined, 0);
    for (i = 1; i <= MAX_COLS_CHECKED; i++) {
        bool have = ref_column(cs, line, len, i, &off, &n);

        snprintf(tmpl, sizeof(tmpl), "{%zu}", i);
        w = words_of(tmpl, cs, line, len);
        FUZZ_CHECK(have ? buf_is(&w, line + off, n) : w.len == 0);
        tf_buf_cleanup(&w);
        if (!have)
            break;
        if (i > 1)
            FUZZ_CHECK(tf_buf_append(&joined, " ", 1) == 0);
        FUZZ_CHECK(tf_buf_append(&joined, line + off, n) == 0);
    }
    if (i <= MAX_COLS_CHECKED) {
        all = words_of("{}", cs, line, len);
        FUZZ_CHECK(buf_is(&all, joined.data, joined.len));
        tf_buf_cleanup(&all);
    }
    tf_buf_cleanup(&joined);
}

/*
 * The compiled template: it compiles or is refused with a one-line usage
 * message; once compiled, applying it behaves as tf__template_expand() does
 * for caps, agrees with it where both apply, and the result matches itself
 * as a joblog Command.
 */
static void
check_compiled(const char *tmpl, const struct colsep_case *cs, const char *line,
               size_t len, uint64_t seq, int slot)
{
    struct tf__template *t = (struct tf__template *)&t;
    struct tf_error err;
    struct tf_buf out;
    struct tf_buf b;
    struct tf_buf c;
    int rc;

    tf_error_init(&err);
    rc = tf__template_compile(tmpl, cs->arg, &t, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == TF_EUSAGE && err.code == TF_EUSAGE);
        FUZZ_CHECK(t == NULL);
        FUZZ_CHECK(strncmp(err.msg, "--template: ", 12) == 0 ||
                   strncmp(err.msg, "--colsep ", 9) == 0);
        FUZZ_CHECK(strchr(err.msg, '\n') == NULL);
        return;
    }
    FUZZ_CHECK(t != NULL);
    FUZZ_CHECK(tf__template_uses_slot(t) == (strstr(tmpl, "{%}") != NULL));

    /* Without a cap, applying succeeds and appends. */
    tf_buf_init(&out, 0);
    FUZZ_CHECK(tf_buf_append(&out, PREFIX, 1) == 0);
    FUZZ_CHECK(tf__template_apply(t, line, len, seq, slot, &out) == 0);
    FUZZ_CHECK(out.data[out.len] == '\0');

    /* Without --colsep and {N}, it is tf__template_expand(). */
    if (cs->arg == NULL && strstr(tmpl, "{1") == NULL) {
        tf_buf_init(&b, 0);
        FUZZ_CHECK(tf_buf_append(&b, PREFIX, 1) == 0);
        FUZZ_CHECK(tf__template_expand(tmpl, line, len, seq, slot, &b) == 0);
        FUZZ_CHECK(b.len == out.len && memcmp(b.data, out.data, b.len) == 0);
        tf_buf_cleanup(&b);
    }

    /* A cap of exactly the size needed is enough; one less is not. */
    tf_buf_init(&b, out.len);
    FUZZ_CHECK(tf_buf_append(&b, PREFIX, 1) == 0);
    FUZZ_CHECK(tf__template_apply(t, line, len, seq, slot, &b) == 0);
    FUZZ_CHECK(b.len == out.len && memcmp(b.data, out.data, b.len) == 0);
    tf_buf_cleanup(&b);
    if (out.len > 1) {
        tf_buf_init(&b, out.len - 1);
        FUZZ_CHECK(tf_buf_append(&b, PREFIX, 1) == 0);
        FUZZ_CHECK(tf__template_apply(t, line, len, seq, slot, &b) ==
                   TF_EINPUT);
        FUZZ_CHECK(b.len == 1 && b.data[1] == '\0');
        tf_buf_cleanup(&b);
    }

    /*
     * The command matches itself as a joblog Command when sh could parse
     * it, and not as another task's when it shows the task id (with {%}
     * the slot's digits could stand for some of the id's).
     */
    tf_buf_init(&c, 0);
    if (tf__shell_canon((const char *)out.data + 1, out.len - 1, &c) == 0) {
        FUZZ_CHECK(tf__template_matches(
            t, line, len, seq, (const char *)out.data + 1, out.len - 1));
        if (strstr(tmpl, "{#}") != NULL && strstr(tmpl, "{%}") == NULL)
            FUZZ_CHECK(!tf__template_matches(t, line, len, seq ^ 1,
                                             (const char *)out.data + 1,
                                             out.len - 1));
    }
    tf_buf_cleanup(&c);
    /* Any text may be given as a Command. */
    (void)tf__template_matches(t, line, len, seq, tmpl, strlen(tmpl));
    tf_buf_cleanup(&out);
    tf__template_free(t);
}

/* Removing the quoting of quoted words gives back the words. */
static void
check_canon(const char *a, size_t an, const char *b, size_t bn)
{
    struct tf_buf q;
    struct tf_buf c;
    struct tf_buf want;

    tf_buf_init(&q, 0);
    FUZZ_CHECK(tf__shell_quote(a, an, &q) == 0);
    c = canon_of(q.data, q.len);
    FUZZ_CHECK(buf_is(&c, a, an));
    tf_buf_cleanup(&c);
    FUZZ_CHECK(tf_buf_append(&q, " \t ", 3) == 0);
    FUZZ_CHECK(tf__shell_quote(b, bn, &q) == 0);
    c = canon_of(q.data, q.len);
    tf_buf_init(&want, 0);
    FUZZ_CHECK(tf_buf_append(&want, a, an) == 0);
    FUZZ_CHECK(tf_buf_append(&want, " ", 1) == 0);
    FUZZ_CHECK(tf_buf_append(&want, b, bn) == 0);
    FUZZ_CHECK(buf_is(&c, want.data, want.len));
    tf_buf_cleanup(&want);
    tf_buf_cleanup(&c);
    tf_buf_cleanup(&q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *rest;
    const char *nul;
    const char *line;
    struct tf_buf out;
    struct tf_buf b;
    struct tf_buf plain;
    size_t tlen;
    size_t len;
    char *tmpl;
    const struct colsep_case *cs;
    uint64_t seq;
    int slot;
    int rc;

    if (size == 0)
        return 0;
    seq = seqs[data[0] & 3];
    slot = slots[(data[0] >> 2) & 7];
    cs = &colseps[(data[0] >> 5) & 7];
    rest = (const char *)data + 1;
    nul = memchr(rest, '\0', size - 1);
    tlen = nul == NULL ? size - 1 : (size_t)(nul - rest);
    line = nul == NULL ? "" : nul + 1;
    len = nul == NULL ? 0 : size - 1 - tlen - 1;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\0') {
            len = i;
            break;
        }
    }
    tmpl = malloc(tlen + 1);
    FUZZ_CHECK(tmpl != NULL);
    memcpy(tmpl, rest, tlen);
    tmpl[tlen] = '\0';

    check_quote(line, len);
    check_quote(tmpl, tlen);

    /* Without a cap, expansion succeeds and appends. */
    rc = expand_capped(tmpl, line, len, seq, slot, 0, &out);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(out.len >= 1 && memcmp(out.data, PREFIX, 1) == 0);
    FUZZ_CHECK(out.data[out.len] == '\0');
    /* The public name does the same. */
    tf_buf_init(&b, 0);
    FUZZ_CHECK(tf_buf_append(&b, PREFIX, 1) == 0);
    FUZZ_CHECK(tf_template_expand(tmpl, line, len, seq, slot, &b) == 0);
    FUZZ_CHECK(b.len == out.len && memcmp(b.data, out.data, b.len) == 0);
    tf_buf_cleanup(&b);

    /* Without a replacement string the quoted line is the last argument. */
    if (!tf__template_has_placeholder(tmpl)) {
        tf_buf_init(&plain, 0);
        FUZZ_CHECK(tf_buf_append(&plain, PREFIX, 1) == 0);
        FUZZ_CHECK(tf_buf_append(&plain, tmpl, tlen) == 0);
        FUZZ_CHECK(tf_buf_append(&plain, " ", 1) == 0);
        FUZZ_CHECK(tf__shell_quote(line, len, &plain) == 0);
        FUZZ_CHECK(plain.len == out.len &&
                   memcmp(plain.data, out.data, out.len) == 0);
        tf_buf_cleanup(&plain);
    }

    /* A cap of exactly the size needed is enough ... */
    rc = expand_capped(tmpl, line, len, seq, slot, out.len, &b);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(b.len == out.len && memcmp(b.data, out.data, b.len) == 0);
    tf_buf_cleanup(&b);
    /* ... and any smaller one fails and leaves the buffer as it was. */
    if (out.len > 1) {
        size_t caps[2] = {out.len - 1, 1 + (out.len - 1) / 2};

        for (int i = 0; i < 2; i++) {
            rc = expand_capped(tmpl, line, len, seq, slot, caps[i], &b);
            FUZZ_CHECK(rc == TF_EINPUT);
            FUZZ_CHECK(b.len == 1 && b.data[0] == PREFIX[0] &&
                       b.data[1] == '\0');
            tf_buf_cleanup(&b);
        }
    }
    tf_buf_cleanup(&out);

    check_compiled(tmpl, cs, line, len, seq, slot);
    check_canon(line, len, tmpl, tlen);
    /* Any text either succeeds or has an unbalanced quote. */
    tf_buf_init(&b, 0);
    rc = tf__shell_canon(tmpl, tlen, &b);
    FUZZ_CHECK(rc == 0 || (rc == TF_EINPUT && b.len == 0));
    tf_buf_cleanup(&b);
    if (cs->arg != NULL)
        check_columns(cs, line, len);
    free(tmpl);
    return 0;
}
