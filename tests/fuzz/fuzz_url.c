/* fuzz_url.c - libFuzzer target: the linkcheck job's normalization of URLs
 * (lc__normalize_url, jobs/linkcheck/url.c, over libcurl's URL parser) */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "linkcheck/linkcheck.h"

/*
 * Input: one control byte, then the link, any bytes (NUL bytes too: a line
 * of a file or an attribute holds what it holds).
 *   bit 0     the link is from a page (else from a file of URLs);
 *   bits 1-2  the base it is resolved against: none (the link must be
 *             absolute) or one of three pages.
 * The properties:
 *   - a link is a URL, ignored or not checked (only on a page: a scheme
 *     other than http(s), its own or its base's) or dead, and a dead or
 *     unchecked link keeps its text, trimmed of the blanks at its ends and
 *     without tabs, line breaks and NUL bytes, with the reason;
 *   - a URL is http or https, has a host in lower case (but for an IPv6
 *     zone ID), is one line without tabs or spaces and keeps no fragment;
 *   - normalizing is idempotent: the URL normalizes to itself, from a file
 *     or a page and against any base, since it is absolute. Two exceptions
 *     are known, and checked to be no more than that:
 *       . escapes are rewritten in one pass, so a '%' that starts no
 *         escape, followed by an escape that decodes to a hex digit
 *         ("%f%61"), makes a new escape ("%fa") which that pass leaves as
 *         it is and the next one rewrites. A URL that holds an escape the
 *         normalizer would rewrite (of an unreserved character, or with a
 *         lower-case digit) is checked to reach a fixed point, a pass at
 *         most for each '%' it holds, and two more;
 *       . libcurl decodes the escapes of a host, but reads the host as an
 *         IPv4 number only when it parses it again ("03%30" gives "030",
 *         which is 0.0.0.24 the next time). Otherwise the URL may change
 *         in its authority alone, and then once only;
 *   - the same link gives the same answer twice;
 *   - the rules of the WHATWG URL standard that curl's parser lacks: a
 *     backslash before the query or fragment of an http(s) link, or of a
 *     relative one on an http(s) base, is a slash (the link with slashes
 *     gives the same answer); on a page of scheme S, "S:./LINK" is the
 *     relative "./LINK"; with no base, "http:/LINK" is "http://LINK".
 */
static const char *const bases[4] = {
    NULL,
    "http://127.0.0.1:8080/dir/page.html",
    "https://Example.ORG:8443/a/b/c?q=1#frag",
    "http://[::1]:80/x/%7Ey/",
};

/* The link's text as a dead link keeps it, made here the obvious way. */
static char *
trimmed(const char *p, size_t n)
{
    char *out = malloc(n + 1);
    size_t k = 0;
    size_t i;

    FUZZ_CHECK(out != NULL);
    while (n > 0 && (unsigned char)p[0] <= ' ') {
        p++;
        n--;
    }
    while (n > 0 && (unsigned char)p[n - 1] <= ' ')
        n--;
    for (i = 0; i < n; i++)
        if (p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\0')
            out[k++] = p[i];
    out[k] = '\0';
    return out;
}

/* Normalizes the N bytes at LINK; returns the code and sets *OUT, checking
 * the contract that holds for every link. */
static int
normalize(const char *base, const char *link, size_t n, bool from_page,
          char **out, char *why)
{
    int rc;

    *out = (char *)&rc; /* must be overwritten */
    rc = lc__normalize_url(base, link, n, from_page, out, why, LC__WHY);
    FUZZ_CHECK(rc == LC__URL_OK || rc == LC__URL_IGNORE || rc == LC__URL_DEAD ||
               rc == LC__URL_SKIP);
    FUZZ_CHECK(strlen(why) < LC__WHY);
    if (rc == LC__URL_IGNORE || rc == LC__URL_SKIP)
        FUZZ_CHECK(from_page);
    if (rc == LC__URL_IGNORE) {
        FUZZ_CHECK(*out == NULL);
    } else {
        FUZZ_CHECK(*out != NULL && *out != (char *)&rc);
    }
    if (rc == LC__URL_OK)
        FUZZ_CHECK(why[0] == '\0');
    return rc;
}

static bool
is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* Whether absolute URL S holds, from its path on, an escape that
 * normalizing rewrites: of an unreserved character, or in lower case. */
static bool
has_loose_escape(const char *s)
{
    const char *p = strchr(strstr(s, "://") + 3, '/');

    for (; p != NULL && *p != '\0'; p++) {
        int c;

        if (p[0] != '%' || !is_hex((unsigned char)p[1]) ||
            !is_hex((unsigned char)p[2]))
            continue;
        if ((p[1] >= 'a' && p[1] <= 'f') || (p[2] >= 'a' && p[2] <= 'f'))
            return true;
        c = (p[1] <= '9' ? p[1] - '0' : p[1] - 'A' + 10) * 16 +
            (p[2] <= '9' ? p[2] - '0' : p[2] - 'A' + 10);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~')
            return true;
        p += 2;
    }
    return false;
}

/* Whether absolute URLs A and B differ in their authority (user info,
 * host and port) at most. */
static bool
same_but_authority(const char *a, const char *b)
{
    const char *sa = strstr(a, "://") + 3;
    const char *sb = strstr(b, "://") + 3;

    return sa - a == sb - b && memcmp(a, b, (size_t)(sa - a)) == 0 &&
           strcmp(sa + strcspn(sa, "/?#"), sb + strcspn(sb, "/?#")) == 0;
}

/* Normalizing URL again and again reaches a URL that normalizes to
 * itself within PASSES passes. */
static void
check_converges(const char *url, size_t passes)
{
    char why[LC__WHY];
    char *cur = strdup(url);
    char *next;
    size_t i;

    FUZZ_CHECK(cur != NULL);
    for (i = 0; i < passes; i++) {
        FUZZ_CHECK(normalize(NULL, cur, strlen(cur), false, &next, why) ==
                   LC__URL_OK);
        if (strcmp(next, cur) == 0) {
            free(next);
            free(cur);
            return;
        }
        free(cur);
        cur = next;
    }
    fprintf(stderr, "'%s' still changes after %zu passes: '%s'\n", url, passes,
            cur);
    FUZZ_CHECK(!"normalizing converges");
}

/* URL, which normalizing gave, is one it would give again. */
static void
check_url(const char *url)
{
    bool strict = !has_loose_escape(url);
    size_t percents = 0;
    const char *host;
    size_t hostlen;
    unsigned port;
    char why[LC__WHY];
    char *again;
    size_t i;

    FUZZ_CHECK(strncmp(url, "http://", 7) == 0 ||
               strncmp(url, "https://", 8) == 0);
    FUZZ_CHECK(strpbrk(url, "\t\r\n# ") == NULL);
    FUZZ_CHECK(lc__url_hostport(url, &host, &hostlen, &port));
    FUZZ_CHECK(hostlen > 0);
    /* The host is in lower case, but for the zone ID of an IPv6 address
     * ("[fe80::1%25ETH0]"), which libcurl keeps apart from the host. */
    for (i = 0; i < hostlen && !(host[0] == '[' && host[i] == '%'); i++)
        FUZZ_CHECK(host[i] < 'A' || host[i] > 'Z');
    for (i = 0; i < 4; i++) {
        bool page = i % 2 == 1;

        FUZZ_CHECK(normalize(bases[i], url, strlen(url), page, &again, why) ==
                   LC__URL_OK);
        if (strict && strcmp(again, url) != 0) {
            if (!same_but_authority(url, again))
                fprintf(stderr, "'%s' normalizes to '%s'\n", url, again);
            FUZZ_CHECK(same_but_authority(url, again));
            check_converges(again, 1);
        }
        free(again);
    }
    if (!strict) {
        for (i = 0; url[i] != '\0'; i++)
            percents += url[i] == '%';
        check_converges(url, percents + 2);
    }
}

/* Checks that normalizing the N bytes of link B gives what normalizing A
 * gave (code RC, URL OUT), both on a page or both not. */
static void
check_same(const char *base, const char *b, size_t n, bool from_page, int rc,
           const char *out)
{
    char why[LC__WHY];
    char *got;
    int k;

    k = normalize(base, b, n, from_page, &got, why);
    if (k != rc || (rc == LC__URL_OK && strcmp(got, out) != 0))
        fprintf(stderr, "'%.*s': %d '%s', not %d '%s'\n", (int)n, b, k,
                got != NULL ? got : "", rc, out != NULL ? out : "");
    FUZZ_CHECK(k == rc);
    FUZZ_CHECK(rc != LC__URL_OK || strcmp(got, out) == 0);
    free(got);
}

/* The WHATWG rules of LINK (N bytes), which gave RC and OUT. */
static void
check_whatwg(const char *base, const char *link, size_t n, bool from_page,
             int rc, const char *out)
{
    size_t end = n;
    char *b = malloc(n + 8);
    size_t i;

    FUZZ_CHECK(b != NULL);
    /* Backslashes, but for one that follows a scheme of a base that is
     * not http(s): no base here is. */
    memcpy(b, link, n);
    for (i = 0; i < n; i++)
        if (link[i] == '?' || link[i] == '#')
            break;
    end = i;
    if (memchr(link, '\\', end) != NULL) {
        for (i = 0; i < end; i++)
            if (b[i] == '\\')
                b[i] = '/';
        check_same(base, b, n, from_page, rc, out);
    }
    if (base != NULL && from_page) {
        /* "http:./LINK" is "./LINK" on an http page. */
        const char *scheme =
            strncmp(base, "https:", 6) == 0 ? "https:" : "http:";
        size_t slen = strlen(scheme);
        char *rel = malloc(n + 3);
        char *url = NULL;
        char why[LC__WHY];
        int k;

        FUZZ_CHECK(rel != NULL);
        memcpy(rel, "./", 2);
        memcpy(rel + 2, link, n);
        k = normalize(base, rel, n + 2, true, &url, why);
        free(b);
        b = malloc(n + slen + 3);
        FUZZ_CHECK(b != NULL);
        memcpy(b, scheme, slen);
        memcpy(b + slen, rel, n + 2);
        check_same(base, b, n + slen + 2, true, k, url);
        free(url);
        free(rel);
    }
    if (base == NULL) {
        /* "http:/LINK" is "http://LINK". */
        char *url = NULL;
        char why[LC__WHY];
        int k;

        free(b);
        b = malloc(n + 8);
        FUZZ_CHECK(b != NULL);
        memcpy(b, "http://", 7);
        memcpy(b + 7, link, n);
        k = normalize(NULL, b, n + 7, from_page, &url, why);
        memmove(b + 6, b + 7, n);
        check_same(NULL, b, n + 6, from_page, k, url);
        free(url);
    }
    free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool curl_ready;
    const char *link;
    const char *base;
    bool from_page;
    char why[LC__WHY];
    char why2[LC__WHY];
    char *out;
    char *out2;
    char *text;
    size_t n;
    int rc;

    if (size == 0)
        return 0;
    if (!curl_ready) {
        FUZZ_CHECK(lc__curl_init() == 0);
        curl_ready = true;
    }
    from_page = (data[0] & 1) != 0;
    base = bases[(data[0] >> 1) & 3];
    link = (const char *)data + 1;
    n = size - 1;

    rc = normalize(base, link, n, from_page, &out, why);
    FUZZ_CHECK(normalize(base, link, n, from_page, &out2, why2) == rc);
    FUZZ_CHECK(strcmp(why, why2) == 0);
    FUZZ_CHECK((out == NULL) == (out2 == NULL));
    FUZZ_CHECK(out == NULL || strcmp(out, out2) == 0);
    free(out2);
    if (rc == LC__URL_DEAD || rc == LC__URL_SKIP) {
        text = trimmed(link, n);
        FUZZ_CHECK(strcmp(out, text) == 0);
        if (rc == LC__URL_SKIP)
            FUZZ_CHECK(strncmp(why, "scheme ", 7) == 0 && strlen(why) > 20 &&
                       strcmp(why + strlen(why) - 13, ": not checked") == 0);
        else
            FUZZ_CHECK(strncmp(why, "invalid URL: ", 13) == 0 ||
                       (!from_page &&
                        strncmp(why, "protocol not allowed: ", 22) == 0));
        free(text);
    } else if (rc == LC__URL_OK) {
        check_url(out);
    }
    check_whatwg(base, link, n, from_page, rc, out);
    free(out);
    return 0;
}
