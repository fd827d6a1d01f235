/* template.c - GNU Parallel-style replacement strings and shell quoting */
#include "template.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
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

/* Compiled templates: --colsep columns, refusals and joblog matching. */

enum colsep_kind {
    COLSEP_NONE,    /* no --colsep: the line is one column */
    COLSEP_LITERAL, /* a separator string, matched exactly */
    COLSEP_BLANKS   /* \s+: runs of spaces and TABs, awk-style */
};

/*
 * One replacement string and the literal text before it. A template of k
 * replacement strings is k pieces and a last one, of kind RPL_NONE, that
 * holds the literal text after them.
 */
struct piece {
    size_t lit_off; /* the literal text: text[lit_off, lit_off + lit_len) */
    size_t lit_len;
    enum rpl r;
    uint32_t col; /* {N...}: N; 0: the line, or with --colsep every column */
};

struct tf__template {
    char *text;           /* owned: the template, " {}" text appended */
    struct piece *pieces; /* owned */
    size_t npieces;
    enum colsep_kind colsep;
    char *sep; /* owned: the decoded COLSEP_LITERAL separator */
    size_t sep_len;
    uint32_t max_col; /* the largest N of a {N...}, 0 if none */
    bool has_slot;
};

/* How tf__template_matches() wants the values it cannot know written. */
struct apply_mode {
    bool slot_mark;    /* {%} as one NUL byte, a wildcard for the slot */
    bool missing_gone; /* a missing column as nothing, as GNU Parallel does */
};

/* A printf format: the % of {%} is doubled. */
#define KNOWN_FORMS                                                            \
    "(it knows {} {.} {/} {//} {/.} {#} {%%} and {N} {N.} {N/} {N//} {N/.} "   \
    "with --colsep)"

/* Bytes of user text a message quotes at most. */
#define EXCERPT_MAX 40

/*
 * Copies the N bytes at S into BUF (EXCERPT_MAX + 1 bytes) for a one-line
 * message: cut to EXCERPT_MAX bytes with "..." at the end when longer, and
 * with control bytes shown as '?', since a template may hold a newline.
 */
static void
excerpt(const char *s, size_t n, char *buf)
{
    size_t k = n > EXCERPT_MAX ? EXCERPT_MAX - 3 : n;
    size_t i;

    for (i = 0; i < k; i++) {
        unsigned char c = (unsigned char)s[i];

        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (k < n) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Whether C may follow a backslash in --colsep to stand for itself. */
static bool
is_colsep_punct(unsigned char c)
{
    return c == ' ' || (c > 0x20 && c < 0x7f && !(c >= '0' && c <= '9') &&
                        !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z'));
}

static int
parse_colsep(struct tf__template *t, const char *colsep, struct tf_error *err)
{
    char show[EXCERPT_MAX + 1];
    size_t n;
    size_t i;
    size_t k = 0;

    if (colsep == NULL) {
        t->colsep = COLSEP_NONE;
        return 0;
    }
    n = strlen(colsep);
    excerpt(colsep, n, show);
    if (n == 0)
        return tf__error(err, TF_EUSAGE,
                         "--colsep '': the column separator is empty");
    if (strcmp(colsep, "\\s+") == 0) {
        t->colsep = COLSEP_BLANKS;
        return 0;
    }
    t->sep = malloc(n);
    if (t->sep == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)colsep[i];

        if (c != '\\') {
            t->sep[k++] = (char)c;
            continue;
        }
        c = (unsigned char)colsep[++i];
        if (c == 't') {
            t->sep[k++] = '\t';
        } else if (c != '\0' && is_colsep_punct(c)) {
            t->sep[k++] = (char)c;
        } else if (c == '\0') {
            return tf__error(err, TF_EUSAGE,
                             "--colsep '%s': ends in a lone backslash (write "
                             "\\\\ for a backslash)",
                             show);
        } else {
            return tf__error(err, TF_EUSAGE,
                             "--colsep '%s': unknown escape '\\%c' (known: "
                             "\\t, \\\\, a backslash before punctuation, and "
                             "\\s+ as the whole value)",
                             show, c < 0x20 || c >= 0x7f ? '?' : (char)c);
        }
    }
    t->colsep = COLSEP_LITERAL;
    t->sep_len = k;
    return 0;
}

/* The characters of a GNU Parallel replacement string such as {1//} or
 * {+/}, between its braces. */
static bool
is_rpl_char(char c)
{
    return (c >= '0' && c <= '9') || (c != '\0' && strchr("./#%+=^-", c));
}

static enum rpl
path_rpl(const char *s, size_t n)
{
    if (n == 0)
        return RPL_LINE;
    if (n == 1 && s[0] == '.')
        return RPL_NOEXT;
    if (n == 1 && s[0] == '/')
        return RPL_BASE;
    if (n == 2 && s[0] == '/' && s[1] == '/')
        return RPL_DIR;
    if (n == 2 && s[0] == '/' && s[1] == '.')
        return RPL_BASE_NOEXT;
    return RPL_NONE;
}

static int
refuse_unknown(const char *p, size_t n, struct tf_error *err)
{
    char show[EXCERPT_MAX + 1];

    excerpt(p, n, show);
    return tf__error(err, TF_EUSAGE,
                     "--template: '%s' is not a replacement string taskfarm "
                     "knows " KNOWN_FORMS,
                     show);
}

/*
 * Recognises what starts at P, a '{' of T's template: a replacement string
 * (*R, *COL and its length *LEN set), literal text (*R = RPL_NONE), or an
 * error for something GNU Parallel would replace and taskfarm cannot.
 */
static int
classify(const struct tf__template *t, const char *p, enum rpl *r,
         uint32_t *col, size_t *len, struct tf_error *err)
{
    const char *tok = p + 1;
    size_t k = 0;
    size_t d = 0;
    uint32_t v = 0;
    char show[EXCERPT_MAX + 1];

    *r = RPL_NONE;
    *col = 0;
    if (tok[0] == '=') {
        const char *close = strstr(tok + 1, "=}");

        if (close != NULL)
            return refuse_unknown(p, (size_t)(close + 2 - p), err);
    }
    while (is_rpl_char(tok[k]))
        k++;
    if (tok[k] != '}')
        return 0;
    *len = k + 2;
    while (d < k && tok[d] >= '0' && tok[d] <= '9')
        d++;
    if (d == 0) {
        if (k == 1 && (tok[0] == '#' || tok[0] == '%')) {
            *r = tok[0] == '#' ? RPL_SEQ : RPL_SLOT;
            return 0;
        }
        *r = path_rpl(tok, k);
        return *r == RPL_NONE ? refuse_unknown(p, k + 2, err) : 0;
    }
    if (tok[0] == '0' || path_rpl(tok + d, k - d) == RPL_NONE)
        return refuse_unknown(p, k + 2, err);
    excerpt(p, k + 2, show);
    for (size_t i = 0; i < d; i++) {
        v = v * 10 + (uint32_t)(tok[i] - '0');
        if (v > TF__TEMPLATE_MAX_COLUMN)
            return tf__error(err, TF_EUSAGE,
                             "--template: '%s': column numbers go from 1 to "
                             "%d",
                             show, TF__TEMPLATE_MAX_COLUMN);
    }
    if (v > 1 && t->colsep == COLSEP_NONE)
        return tf__error(err, TF_EUSAGE,
                         "--template: '%s' needs --colsep to split the line "
                         "into columns (without it the line is {1})",
                         show);
    *r = path_rpl(tok + d, k - d);
    *col = t->colsep == COLSEP_NONE ? 0 : v;
    return 0;
}

void
tf__template_free(struct tf__template *t)
{
    if (t == NULL)
        return;
    free(t->text);
    free(t->pieces);
    free(t->sep);
    free(t);
}

int
tf__template_compile(const char *tmpl, const char *colsep,
                     struct tf__template **out, struct tf_error *err)
{
    struct tf__template *t;
    size_t tlen = strlen(tmpl);
    size_t nbraces = 0;
    size_t lit = 0; /* start of the literal text of the next piece */
    const char *q;
    const char *brace;
    int rc;

    *out = NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    rc = parse_colsep(t, colsep, err);
    if (rc < 0)
        goto fail;
    for (q = strchr(tmpl, '{'); q != NULL; q = strchr(q + 1, '{'))
        nbraces++;
    /* Room for " {}" and for a piece per '{', the appended one and the
     * last. */
    t->text = malloc(tlen + 4);
    t->pieces = malloc((nbraces + 2) * sizeof(*t->pieces));
    if (t->text == NULL || t->pieces == NULL) {
        rc = tf__error(err, TF_ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(t->text, tmpl, tlen + 1);
    q = t->text;
    while ((brace = strchr(q, '{')) != NULL) {
        struct piece *pc = &t->pieces[t->npieces];
        enum rpl r;
        uint32_t col;
        size_t n;

        rc = classify(t, brace, &r, &col, &n, err);
        if (rc < 0)
            goto fail;
        if (r == RPL_NONE) {
            q = brace + 1;
            continue;
        }
        pc->lit_off = lit;
        pc->lit_len = (size_t)(brace - t->text) - lit;
        pc->r = r;
        pc->col = col;
        t->npieces++;
        if (col > t->max_col)
            t->max_col = col;
        if (r == RPL_SLOT)
            t->has_slot = true;
        lit = (size_t)(brace - t->text) + n;
        q = brace + n;
    }
    /* With no replacement string the line, or every column, is the last
     * argument. */
    if (t->npieces == 0) {
        memcpy(t->text + tlen, " ", 2);
        t->pieces[0].lit_off = 0;
        t->pieces[0].lit_len = tlen + 1;
        t->pieces[0].r = RPL_LINE;
        t->pieces[0].col = 0;
        t->npieces = 1;
        lit = tlen + 1;
        tlen++;
    }
    t->pieces[t->npieces].lit_off = lit;
    t->pieces[t->npieces].lit_len = tlen - lit;
    t->pieces[t->npieces].r = RPL_NONE;
    t->pieces[t->npieces].col = 0;
    t->npieces++;
    *out = t;
    return 0;
fail:
    tf__template_free(t);
    return rc;
}

bool
tf__template_uses_slot(const struct tf__template *t)
{
    return t->has_slot;
}

/* Where the N bytes at NEEDLE first occur in the LEN bytes at S, or
 * SIZE_MAX. */
static size_t
find_sep(const char *s, size_t len, const char *needle, size_t n)
{
    const char *p = s;
    const char *end = s + len;

    while ((size_t)(end - p) >= n) {
        p = memchr(p, needle[0], (size_t)(end - p) - n + 1);
        if (p == NULL)
            return SIZE_MAX;
        if (memcmp(p, needle, n) == 0)
            return (size_t)(p - s);
        p++;
    }
    return SIZE_MAX;
}

/*
 * Finds the column of LINE that starts at or after *POS (0 for the first)
 * and stores its start in *OFF and length in *N, advancing *POS past it.
 * Returns false when there is no further column. With a literal separator
 * *POS == LEN + 1 marks the end, since the line may end in an empty column.
 */
static bool
next_col(const struct tf__template *t, const char *line, size_t len,
         size_t *pos, size_t *off, size_t *n)
{
    size_t p = *pos;
    size_t hit;

    if (t->colsep == COLSEP_BLANKS) {
        while (p < len && is_blank(line[p]))
            p++;
        if (p >= len) {
            *pos = len;
            return false;
        }
        *off = p;
        while (p < len && !is_blank(line[p]))
            p++;
        *n = p - *off;
        *pos = p;
        return true;
    }
    if (p > len)
        return false;
    hit = find_sep(line + p, len - p, t->sep, t->sep_len);
    *off = p;
    if (hit == SIZE_MAX) {
        *n = len - p;
        *pos = len + 1;
    } else {
        *n = hit;
        *pos = p + hit + t->sep_len;
    }
    return true;
}

/* Finds column COL (1-based) of LINE. */
static bool
find_col(const struct tf__template *t, const char *line, size_t len,
         uint32_t col, size_t *off, size_t *n)
{
    size_t pos = 0;
    uint32_t i;

    for (i = 0; i < col; i++) {
        if (!next_col(t, line, len, &pos, off, n))
            return false;
    }
    return true;
}

/* Appends the path operation R of the N bytes at S, quoted. */
static int
put_value(enum rpl r, const char *s, size_t n, struct tf_buf *out)
{
    struct parts pp = {false, 0, 0};

    return put_rpl(r, s, n, 0, 0, &pp, out);
}

static int
put_piece(const struct tf__template *t, const struct piece *pc,
          const char *line, size_t len, uint64_t seq, int slot,
          const struct apply_mode *mode, struct tf_buf *out)
{
    size_t pos = 0;
    size_t off;
    size_t n;
    bool first = true;
    int rc;

    switch (pc->r) {
    case RPL_NONE:
        return 0;
    case RPL_SEQ:
        return put_number(out, seq, false);
    case RPL_SLOT:
        if (mode->slot_mark)
            return tf_buf_append(out, "", 1);
        return put_rpl(RPL_SLOT, line, len, seq, slot, NULL, out);
    default:
        break;
    }
    if (t->colsep == COLSEP_NONE)
        return put_value(pc->r, line, len, out);
    if (pc->col > 0) {
        if (find_col(t, line, len, pc->col, &off, &n))
            return put_value(pc->r, line + off, n, out);
        return mode->missing_gone ? 0 : tf_buf_append(out, "''", 2);
    }
    while (next_col(t, line, len, &pos, &off, &n)) {
        if (!first) {
            rc = tf_buf_append(out, " ", 1);
            if (rc < 0)
                return rc;
        }
        first = false;
        rc = put_value(pc->r, line + off, n, out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
apply(const struct tf__template *t, const char *line, size_t len, uint64_t seq,
      int slot, const struct apply_mode *mode, struct tf_buf *out)
{
    size_t start = out->len;
    size_t i;
    int rc = 0;

    for (i = 0; i < t->npieces && rc == 0; i++) {
        const struct piece *pc = &t->pieces[i];

        rc = tf_buf_append(out, t->text + pc->lit_off, pc->lit_len);
        if (rc == 0)
            rc = put_piece(t, pc, line, len, seq, slot, mode, out);
    }
    if (rc < 0) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    return rc;
}

int
tf__template_apply(const struct tf__template *t, const char *line, size_t len,
                   uint64_t seq, int slot, struct tf_buf *out)
{
    static const struct apply_mode plain = {false, false};

    return apply(t, line, len, seq, slot, &plain, out);
}

/*
 * Removes sh quoting from the N bytes at S, as tf__shell_canon() describes,
 * and appends the words to OUT. Loose (STRICT false): joined by one space.
 * Strict: each word preceded by a space and with its spaces and backslashes
 * written \  and \\, so that the text tells where each word ends and an
 * empty word from no word.
 */
static int
canon(const char *s, size_t n, bool strict, struct tf_buf *out)
{
    enum { OUT_WORD, BARE, SQ, DQ } st = OUT_WORD;
    size_t start = out->len;
    bool any = false;
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        char c = s[i];
        bool put = false;

        if (st == SQ) {
            if (c == '\'')
                st = BARE;
            else
                put = true;
        } else if (st == DQ) {
            if (c == '"') {
                st = BARE;
            } else if (c == '\\' && i + 1 < n && s[i + 1] != '\0' &&
                       strchr("$`\"\\\n", s[i + 1]) != NULL) {
                c = s[++i];
                put = c != '\n';
            } else {
                put = true;
            }
        } else if (c == ' ' || c == '\t' || c == '\n') {
            st = OUT_WORD;
            continue;
        } else if (c == '\\' && i + 1 < n && s[i + 1] == '\n') {
            i++; /* a line continuation: no character, no word */
            continue;
        } else {
            if (st == OUT_WORD) {
                if (strict || any)
                    rc = tf_buf_append(out, " ", 1);
                any = true;
                st = BARE;
            }
            if (c == '\'') {
                st = SQ;
            } else if (c == '"') {
                st = DQ;
            } else {
                if (c == '\\' && i + 1 < n)
                    c = s[++i];
                put = true;
            }
        }
        if (put && rc == 0) {
            if (strict && (c == ' ' || c == '\\'))
                rc = tf_buf_append(out, "\\", 1);
            if (rc == 0)
                rc = tf_buf_append(out, &c, 1);
        }
    }
    if (rc == 0 && (st == SQ || st == DQ))
        rc = TF_EINPUT;
    if (rc < 0) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    return rc;
}

int
tf__shell_canon(const char *s, size_t n, struct tf_buf *out)
{
    return canon(s, n, false, out);
}

/* Whether the slot value V (VN bytes) is a decimal number. */
static bool
is_number(const char *v, size_t vn)
{
    size_t i = vn > 0 && v[0] == '-' ? 1 : 0;

    if (i == vn)
        return false;
    for (; i < vn; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
    }
    return true;
}

/*
 * Whether the text C (CN bytes) is the pattern P (PN bytes) in which each
 * NUL byte stands for the same value V (VN bytes).
 */
static bool
same_with(const char *p, size_t pn, const char *c, size_t cn, const char *v,
          size_t vn)
{
    size_t i = 0;
    size_t j = 0;

    for (i = 0; i < pn; i++) {
        if (p[i] == '\0') {
            if (cn - j < vn || memcmp(c + j, v, vn) != 0)
                return false;
            j += vn;
        } else if (j == cn || c[j++] != p[i]) {
            return false;
        }
    }
    return j == cn;
}

/*
 * Whether the canonical text C is the canonical pattern P for some slot:
 * the first NUL of P fixes the slot's digits in C, and each length of them
 * is tried, since the text after a {%} may start with a digit.
 */
static bool
same_for_some_slot(const char *p, size_t pn, const char *c, size_t cn)
{
    const char *mark = memchr(p, '\0', pn);
    size_t at;
    size_t k;

    if (mark == NULL)
        return pn == cn && memcmp(p, c, pn) == 0;
    at = (size_t)(mark - p);
    if (cn < at || memcmp(p, c, at) != 0)
        return false;
    /* An int has at most 11 characters: "-2147483648". */
    for (k = 1; k <= 11 && at + k <= cn; k++) {
        if (is_number(c + at, k) &&
            same_with(p + at, pn - at, c + at, cn - at, c + at, k))
            return true;
    }
    return false;
}

/* Applies T in MODE and compares the result with CMD_CANON, strictly
 * canonical. */
static bool
matches_in(const struct tf__template *t, const char *line, size_t len,
           uint64_t seq, const struct apply_mode *mode,
           const struct tf_buf *cmd_canon)
{
    struct tf_buf cmd;
    struct tf_buf pat;
    bool same = false;

    tf_buf_init(&cmd, 0);
    tf_buf_init(&pat, 0);
    if (apply(t, line, len, seq, 0, mode, &cmd) == 0 &&
        canon((const char *)cmd.data, cmd.len, true, &pat) == 0)
        same = same_for_some_slot(
            pat.len == 0 ? "" : (const char *)pat.data, pat.len,
            cmd_canon->len == 0 ? "" : (const char *)cmd_canon->data,
            cmd_canon->len);
    tf_buf_cleanup(&cmd);
    tf_buf_cleanup(&pat);
    return same;
}

bool
tf__template_matches(const struct tf__template *t, const char *line, size_t len,
                     uint64_t seq, const char *cmd, size_t cmd_len)
{
    struct apply_mode mode = {true, false};
    struct tf_buf c;
    size_t off;
    size_t n;
    bool same = false;

    tf_buf_init(&c, 0);
    if (canon(cmd, cmd_len, true, &c) == 0) {
        same = matches_in(t, line, len, seq, &mode, &c);
        /* GNU Parallel writes nothing for a column the line lacks. */
        if (!same && t->max_col > 0 &&
            !find_col(t, line, len, t->max_col, &off, &n)) {
            mode.missing_gone = true;
            same = matches_in(t, line, len, seq, &mode, &c);
        }
    }
    tf_buf_cleanup(&c);
    return same;
}

/*
 * The public struct tf_template is the same object as struct tf__template:
 * it is only ever converted back to the type it was allocated as.
 */
int
tf_template_compile(const char *tmpl, const char *colsep,
                    struct tf_template **out, struct tf_error *err)
{
    struct tf__template *t;
    int rc;

    *out = NULL;
    rc = tf__template_compile(tmpl, colsep, &t, err);
    if (rc == 0)
        *out = (struct tf_template *)(void *)t;
    return rc;
}

int
tf_template_apply(const struct tf_template *t, const char *line, size_t len,
                  uint64_t seq, int slot, struct tf_buf *out)
{
    return tf__template_apply((const struct tf__template *)(const void *)t,
                              line, len, seq, slot, out);
}

void
tf_template_free(struct tf_template *t)
{
    tf__template_free((struct tf__template *)(void *)t);
}
