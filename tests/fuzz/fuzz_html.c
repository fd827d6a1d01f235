/* fuzz_html.c - libFuzzer target: the linkcheck job's reader of HTML pages
 * (lc__html_links, jobs/linkcheck/html.c) and what a worker submits for a
 * page or style sheet (lc__page_links) */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "linkcheck/linkcheck.h"

/*
 * The input is a page as a server might send it: any bytes. Its first
 * byte also picks a place to cut it, as --max-body would. The properties:
 *   - reading it succeeds, and reading it again gives the same links and
 *     the same <base href>;
 *   - the links and the base are values of attributes or CSS, distinct
 *     pieces of the page, and decoding makes a piece 3 times longer at
 *     most (a NUL, or a CSS "\" at the end, is a U+FFFD of 3 bytes); a
 *     page without NUL or '\' has only character references to decode,
 *     which make a piece 6/5 longer at most ("&nLt;" is 6 bytes of
 *     UTF-8): so their lengths add up to that of the page so multiplied;
 *   - a page without '&', '\' or NUL has nothing to decode: each link is
 *     then a piece of the page, found in the page after the one before
 *     it, and so is the base;
 *   - what a worker submits for it, as an HTML page (no Content-Type,
 *     UTF-8, windows-1252; cut or not) or a style sheet, is the same
 *     twice, each message once, all well-formed: "L\tPAGE\tURL\tFRAG"
 *     (an http(s) URL, a fragment that names an anchor, valid UTF-8),
 *     "D\tPAGE\tTEXT\tinvalid URL: ...", "S\tPAGE\tTEXT\tWHY", then for a
 *     page (never for a style sheet) one last "A\tPAGE[\tID]..." of
 *     distinct, non-empty anchors in valid UTF-8;
 *   - read in an encoding that keeps each ASCII byte (UTF-8,
 *     windows-1252), a page sends no more L, D and S messages than it has
 *     links;
 *   - nothing torn: in UTF-8, the page cut sends no link and no anchor
 *     that the whole page does not (unless it has a <base>, which the cut
 *     may leave out), and no more than the same bytes not cut.
 */
#define PAGE "http://127.0.0.1:8080/dir/index.html"

static void
read_links(const uint8_t *data, size_t size, struct lc__strs *links,
           char **base)
{
    memset(links, 0, sizeof(*links));
    FUZZ_CHECK(lc__html_links((const char *)data, size, links, base) == 0);
}

/* Whether the N bytes at P are valid UTF-8. */
static bool
is_utf8(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;

    while (i < n) {
        size_t len = s[i] < 0x80                    ? 1
                     : s[i] >= 0xC2 && s[i] <= 0xDF ? 2
                     : s[i] >= 0xE0 && s[i] <= 0xEF ? 3
                     : s[i] >= 0xF0 && s[i] <= 0xF4 ? 4
                                                    : 0;
        unsigned long cp;
        size_t k;

        if (len == 0 || i + len > n)
            return false;
        cp = len == 1 ? s[i] : s[i] & (0x7Fu >> len);
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* Splits message S (a copy) at its tabs into F (at most NF fields);
 * returns how many. */
static size_t
fields(char *s, char **f, size_t nf)
{
    size_t k = 0;

    while (k < nf) {
        char *tab = strchr(s, '\t');

        f[k++] = s;
        if (tab == NULL)
            break;
        *tab = '\0';
        s = tab + 1;
    }
    return k;
}

/* Checks that the messages SUBS are what lc__page_links() promises, for a
 * page (or a style sheet when CSS); returns how many are L, D and S. */
static size_t
check_subs(const struct lc__strs *subs, bool css)
{
    const size_t plen = strlen(PAGE "\t");
    size_t nlinks = 0;
    size_t i;
    size_t k;

    for (i = 0; i < subs->n; i++) {
        const char *s = subs->v[i];
        char *copy = strdup(s);
        char *f[64];
        size_t nf;

        FUZZ_CHECK(copy != NULL);
        FUZZ_CHECK(s[0] != '\0' && s[1] == '\t');
        FUZZ_CHECK(strncmp(s + 2, PAGE "\t", plen) == 0 ||
                   strcmp(s + 2, PAGE) == 0);
        FUZZ_CHECK(strpbrk(s, "\r\n") == NULL);
        FUZZ_CHECK(is_utf8(s, strlen(s)));
        for (k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(subs->v[k], s) != 0);
        nf = fields(copy, f, sizeof(f) / sizeof(f[0]));
        if (s[0] == LC__MSG_ANCHORS) {
            /* The last one, for a page alone; its anchors distinct. */
            FUZZ_CHECK(!css && i == subs->n - 1);
            for (k = 2; k < nf; k++) {
                size_t j;

                FUZZ_CHECK(f[k][0] != '\0');
                for (j = 2; j < k; j++)
                    FUZZ_CHECK(strcmp(f[j], f[k]) != 0);
            }
            free(copy);
            continue;
        }
        nlinks++;
        FUZZ_CHECK(nf == 4);
        FUZZ_CHECK(f[2][0] != '\0');
        if (s[0] == LC__MSG_LINK) {
            FUZZ_CHECK(strncmp(f[2], "http://", 7) == 0 ||
                       strncmp(f[2], "https://", 8) == 0);
            FUZZ_CHECK(strpbrk(f[2], " #") == NULL);
            FUZZ_CHECK(strcasecmp(f[3], "top") != 0);
            FUZZ_CHECK(strncmp(f[3], ":~:", 3) != 0);
        } else if (s[0] == LC__MSG_DEAD) {
            FUZZ_CHECK(strncmp(f[3], "invalid URL: ", 13) == 0);
        } else {
            FUZZ_CHECK(s[0] == LC__MSG_SKIP);
            FUZZ_CHECK(strcmp(f[3], "form action: not followed") == 0 ||
                       (strncmp(f[3], "scheme ", 7) == 0 &&
                        strstr(f[3], ": not checked") != NULL));
        }
        free(copy);
    }
    /* Every page has its anchors message. */
    FUZZ_CHECK(css || (subs->n > 0 && subs->v[subs->n - 1][0] == 'A'));
    return nlinks;
}

/* The messages of the N bytes at P as page PG gives them, checked, and
 * the same when read again. */
static void
page_subs(const char *ctype, const uint8_t *p, size_t n, bool cut,
          struct lc__strs *subs, size_t *nlinks)
{
    struct lc__page pg = {PAGE, NULL, ctype, (const char *)p, n, cut};
    struct lc__strs again;
    size_t i;

    memset(subs, 0, sizeof(*subs));
    memset(&again, 0, sizeof(again));
    FUZZ_CHECK(lc__page_links(&pg, subs) == 0);
    FUZZ_CHECK(lc__page_links(&pg, &again) == 0);
    FUZZ_CHECK(subs->n == again.n);
    for (i = 0; i < subs->n; i++)
        FUZZ_CHECK(strcmp(subs->v[i], again.v[i]) == 0);
    lc__strs_cleanup(&again);
    *nlinks = check_subs(subs, ctype != NULL && strstr(ctype, "css") != NULL);
}

/* Whether every message of A (its links, then each anchor of its anchors
 * message) is one of B's. */
static bool
subset(const struct lc__strs *a, const struct lc__strs *b)
{
    const char *banchors = b->n > 0 ? b->v[b->n - 1] : "";
    size_t i;
    size_t k;

    for (i = 0; i < a->n; i++) {
        const char *s = a->v[i];
        bool found = false;

        if (s[0] == LC__MSG_ANCHORS) {
            const char *id = strchr(s + 2, '\t');

            while (id != NULL) {
                const char *end = strchr(id + 1, '\t');
                size_t len = end != NULL ? (size_t)(end - id) : strlen(id);
                const char *at = strchr(banchors + 2, '\t');

                found = false;
                while (at != NULL && !found) {
                    found = strncmp(at, id, len) == 0 &&
                            (at[len] == '\t' || at[len] == '\0');
                    at = strchr(at + 1, '\t');
                }
                if (!found) {
                    fprintf(stderr, "anchor '%.*s' is not the whole page's\n",
                            (int)len - 1, id + 1);
                    return false;
                }
                id = end;
            }
            continue;
        }
        for (k = 0; k < b->n && !found; k++)
            found = strcmp(b->v[k], s) == 0;
        if (!found) {
            fprintf(stderr, "'%s' is not the whole page's\n", s);
            return false;
        }
    }
    return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ctypes[] = {NULL, "text/html; charset=utf-8",
                                         "text/html; charset=windows-1252"};
    static bool curl_ready;
    struct lc__strs links;
    struct lc__strs again;
    struct lc__strs subs;
    struct lc__strs whole;
    struct lc__strs cut;
    char *base = NULL;
    char *base2 = NULL;
    bool plain;
    bool bom;
    size_t total = 0;
    size_t pos = 0;
    size_t nlinks;
    size_t at;
    size_t i;

    if (!curl_ready) {
        FUZZ_CHECK(lc__curl_init() == 0);
        curl_ready = true;
    }
    read_links(data, size, &links, &base);
    read_links(data, size, &again, &base2);
    FUZZ_CHECK(links.n == again.n);
    for (i = 0; i < links.n; i++)
        FUZZ_CHECK(strcmp(links.v[i], again.v[i]) == 0);
    FUZZ_CHECK((base == NULL) == (base2 == NULL));
    FUZZ_CHECK(base == NULL || strcmp(base, base2) == 0);

    for (i = 0; i < links.n; i++)
        total += strlen(links.v[i]);
    total += base != NULL ? strlen(base) : 0;
    FUZZ_CHECK(total <= 3 * size);
    plain =
        memchr(data, '\0', size) == NULL && memchr(data, '\\', size) == NULL;
    if (plain)
        FUZZ_CHECK(5 * total <= 6 * size);

    if (plain && memchr(data, '&', size) == NULL) {
        for (i = 0; i < links.n; i++) {
            size_t len = strlen(links.v[i]);
            const uint8_t *p = memmem(data + pos, size - pos, links.v[i], len);

            FUZZ_CHECK(p != NULL);
            pos = (size_t)(p - data) + len;
        }
        FUZZ_CHECK(base == NULL ||
                   memmem(data, size, base, strlen(base)) != NULL);
    }

    /* As a page in each encoding, and as a style sheet. */
    bom = size >= 2 && ((data[0] == 0xFE && data[1] == 0xFF) ||
                        (data[0] == 0xFF && data[1] == 0xFE));
    for (i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
        page_subs(ctypes[i], data, size, false, &subs, &nlinks);
        if (ctypes[i] != NULL && !bom)
            FUZZ_CHECK(nlinks <= links.n);
        lc__strs_cleanup(&subs);
    }
    page_subs("text/css", data, size, false, &subs, &nlinks);
    lc__strs_cleanup(&subs);
    page_subs("text/css", data, size, true, &subs, &nlinks);
    lc__strs_cleanup(&subs);

    /* Cut: a part of what the whole page sends. */
    at = size > 0 ? (size_t)data[0] * size / 256 : 0;
    page_subs(ctypes[1], data, size, false, &whole, &nlinks);
    page_subs(ctypes[1], data, size, true, &cut, &nlinks);
    FUZZ_CHECK(subset(&cut, &whole));
    lc__strs_cleanup(&cut);
    page_subs(ctypes[1], data, at, true, &cut, &nlinks);
    {
        bool has_base = false;

        for (i = 0; i + 4 <= size && !has_base; i++)
            has_base = strncasecmp((const char *)data + i, "base", 4) == 0;
        FUZZ_CHECK(has_base || subset(&cut, &whole));
    }
    lc__strs_cleanup(&cut);
    lc__strs_cleanup(&whole);

    lc__strs_cleanup(&links);
    lc__strs_cleanup(&again);
    free(base);
    free(base2);
    return 0;
}
