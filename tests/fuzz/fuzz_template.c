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
 *   bits 2-4  the job slot {%}: 0, 1, -1, INT_MIN, INT_MAX, 7, -42 or 100.
 */
static const uint64_t seqs[4] = {0, 1, 12345, UINT64_MAX};
static const int slots[8] = {0, 1, -1, INT_MIN, INT_MAX, 7, -42, 100};

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
    uint64_t seq;
    int slot;
    int rc;

    if (size == 0)
        return 0;
    seq = seqs[data[0] & 3];
    slot = slots[(data[0] >> 2) & 7];
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
    free(tmpl);
    return 0;
}
