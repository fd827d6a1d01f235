/* template.c - GNU Parallel-style replacement strings and shell quoting */
#include "template.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

enum rpl {
    RPL_NONE,
    RPL_LINE,       /* {} */
    RPL_NOEXT,      /* {.} */
    RPL_BASE,       /* {/} */
    RPL_DIR,        /* {//} */
    RPL_BASE_NOEXT, /* {/.} */
    RPL_SEQ,        /* {#} */
    RPL_SLOT        /* {%} */
};

/* Where the parts of a path-like line start and end, found once per line. */
struct parts {
    bool done;       /* the fields below are valid */
    size_t base_off; /* start of the basename: 1 + the last '/', or 0 */
    size_t stem_end; /* end of the line without its extension */
};

/*
 * A switch rather than strchr() on a set, so the compiler can make it a bit
 * test: it runs for every byte of every line.
 */
static bool
is_safe(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '_':
    case '-':
    case '.':
    case '/':
    case ':':
    case ',':
    case '+':
    case '@':
    case '%':
    case '^':
    case '=':
        return true;
    default:
        return false;
    }
}

int
tf__shell_quote(const char *s, size_t n, struct tf_buf *out)
{
    size_t nquotes = 0;
    bool bare = n > 0;
    const char *end = s + n;
    const char *p;
    unsigned char *w;
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\'')
            nquotes++;
        else if (!is_safe(c))
            bare = false;
    }
    if (bare && nquotes == 0)
        return tf_buf_append(out, s, n);
    if (n > SIZE_MAX - 2 || nquotes > (SIZE_MAX - 2 - n) / 3)
        return TF_ENOMEM;
    /* Reserve once and write in place: each ' grows by 3 into '\''. */
    rc = tf_buf_reserve(out, n + 2 + 3 * nquotes);
    if (rc < 0)
        return rc;
    w = out->data + out->len;
    *w++ = '\'';
    p = s;
    while (p < end) {
        const char *q = memchr(p, '\'', (size_t)(end - p));
        size_t run = q == NULL ? (size_t)(end - p) : (size_t)(q - p);

        memcpy(w, p, run);
        w += run;
        p += run;
        if (q != NULL) {
            memcpy(w, "'\\''", 4);
            w += 4;
            p++;
        }
    }
    *w++ = '\'';
    *w = '\0';
    out->len = (size_t)(w - out->data);
    return 0;
}

/*
 * Recognises the replacement string that starts at P, which points at a '{',
 * and stores its length in *LEN. It reads P[k] only when P[k - 1] was not
 * the terminating NUL, so it never reads past the end of the template.
 */
static enum rpl
match_rpl(const char *p, size_t *len)
{
    switch (p[1]) {
    case '}':
        *len = 2;
        return RPL_LINE;
    case '.':
    case '#':
    case '%':
        if (p[2] != '}')
            return RPL_NONE;
        *len = 3;
        return p[1] == '.' ? RPL_NOEXT : p[1] == '#' ? RPL_SEQ : RPL_SLOT;
    case '/':
        if (p[2] == '}') {
            *len = 3;
            return RPL_BASE;
        }
        if ((p[2] == '/' || p[2] == '.') && p[3] == '}') {
            *len = 4;
            return p[2] == '/' ? RPL_DIR : RPL_BASE_NOEXT;
        }
        return RPL_NONE;
    default:
        return RPL_NONE;
    }
}

/*
 * Finds the basename and the extension. The extension starts at the last '.'
 * of the basename, except at its first character, so ".hidden" has none.
 */
static void
split_line(const char *line, size_t len, struct parts *pp)
{
    size_t i = len;
    size_t j;

    while (i > 0 && line[i - 1] != '/')
        i--;
    pp->base_off = i;
    pp->stem_end = len;
    for (j = len; j > i + 1; j--) {
        if (line[j - 1] == '.') {
            pp->stem_end = j - 1;
            break;
        }
    }
    pp->done = true;
}

static int
put_number(struct tf_buf *out, uint64_t v, bool negative)
{
    char num[21];
    size_t n = 0;

    if (negative)
        num[n++] = '-';
    n += tf__fmt_u64(num + n, v);
    return tf_buf_append(out, num, n);
}

static int
put_rpl(enum rpl r, const char *line, size_t len, uint64_t seq, int slot,
        struct parts *pp, struct tf_buf *out)
{
    if (r == RPL_LINE)
        return tf__shell_quote(line, len, out);
    if (r == RPL_SEQ)
        return put_number(out, seq, false);
    if (r == RPL_SLOT) {
        if (slot < 0)
            return put_number(out, (uint64_t)(-(int64_t)slot), true);
        return put_number(out, (uint64_t)slot, false);
    }
    if (!pp->done)
        split_line(line, len, pp);
    switch (r) {
    case RPL_NOEXT:
        return tf__shell_quote(line, pp->stem_end, out);
    case RPL_BASE:
        return tf__shell_quote(line + pp->base_off, len - pp->base_off, out);
    case RPL_DIR:
        if (pp->base_off == 0)
            return tf_buf_append(out, ".", 1);
        if (pp->base_off == 1)
            return tf_buf_append(out, "/", 1);
        return tf__shell_quote(line, pp->base_off - 1, out);
    case RPL_BASE_NOEXT:
        return tf__shell_quote(line + pp->base_off, pp->stem_end - pp->base_off,
                               out);
    default:
        return 0;
    }
}

int
tf__template_expand(const char *tmpl, const char *line, size_t len,
                    uint64_t seq, int slot, struct tf_buf *out)
{
    struct parts pp = {false, 0, 0};
    size_t start = out->len;
    const char *lit = tmpl; /* start of the literal text not yet copied */
    const char *q = tmpl;   /* where to look for the next '{' */
    bool found = false;
    int rc;

    for (;;) {
        const char *brace = strchr(q, '{');
        enum rpl r;
        size_t n;

        if (brace == NULL) {
            rc = tf_buf_append(out, lit, strlen(lit));
            break;
        }
        r = match_rpl(brace, &n);
        if (r == RPL_NONE) {
            q = brace + 1;
            continue;
        }
        rc = tf_buf_append(out, lit, (size_t)(brace - lit));
        if (rc < 0)
            break;
        rc = put_rpl(r, line, len, seq, slot, &pp, out);
        if (rc < 0)
            break;
        found = true;
        lit = q = brace + n;
    }
    /* With no replacement string the line is the last argument: " {}". */
    if (rc == 0 && !found) {
        rc = tf_buf_append(out, " ", 1);
        if (rc == 0)
            rc = tf__shell_quote(line, len, out);
    }
    if (rc < 0) {
        /* Undo a partial expansion so a failure leaves OUT as it was. */
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    return rc;
}

bool
tf__template_has_placeholder(const char *tmpl)
{
    const char *brace = strchr(tmpl, '{');
    size_t n;

    while (brace != NULL) {
        if (match_rpl(brace, &n) != RPL_NONE)
            return true;
        brace = strchr(brace + 1, '{');
    }
    return false;
}

int
tf_shell_quote(const char *s, size_t n, struct tf_buf *out)
{
    return tf__shell_quote(s, n, out);
}

int
tf_template_expand(const char *tmpl, const char *line, size_t len,
                   uint64_t seq, int slot, struct tf_buf *out)
{
    return tf__template_expand(tmpl, line, len, seq, slot, out);
}
