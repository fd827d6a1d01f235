/* url.c - the linkcheck job's normalization of URLs, so that a URL has one
 * key wherever it is found; libcurl's parser is reached through fetch.c */
#include "linkcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "taskfarm.h"

/*
 * Copies the N bytes at P as a browser reads a URL from an attribute or a
 * line: without the blanks and control characters at either end, and
 * without the tabs, line breaks and NUL bytes inside. Returns NULL when out
 * of memory.
 */
static char *
clean_link(const char *p, size_t n)
{
    char *out;
    size_t i;
    size_t k = 0;

    while (n > 0 && (unsigned char)p[0] <= ' ') {
        p++;
        n--;
    }
    while (n > 0 && (unsigned char)p[n - 1] <= ' ')
        n--;
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\0')
            out[k++] = p[i];
    out[k] = '\0';
    return out;
}

/* Copies the scheme of S, lower-cased, to OUT (SIZE bytes, truncated if
 * need be) and returns true; false when S has none (a relative link). */
static bool
url_scheme(const char *s, char *out, size_t size)
{
    size_t i;

    if (!is_alpha((unsigned char)s[0]))
        return false;
    for (i = 1;
         is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
         s[i] == '+' || s[i] == '-' || s[i] == '.';
         i++)
        ;
    if (s[i] != ':')
        return false;
    if (i >= size)
        i = size - 1;
    out[i] = '\0';
    while (i-- > 0)
        out[i] = (char)lower((unsigned char)s[i]);
    return true;
}

static bool
is_unreserved(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

bool
lc__fix_escapes(char *s)
{
    char *r = strstr(s, "://");
    char *w;
    bool dot = false;

    if (r == NULL)
        return false;
    r = strchr(r + 3, '/');
    if (r == NULL)
        return false;
    for (w = r; *r != '\0';) {
        int hi = r[0] == '%' ? hexval((unsigned char)r[1]) : -1;
        int lo = hi >= 0 ? hexval((unsigned char)r[2]) : -1;

        if (lo < 0) {
            *w++ = *r++;
            continue;
        }
        if (is_unreserved(hi * 16 + lo)) {
            dot = dot || hi * 16 + lo == '.';
            *w++ = (char)(hi * 16 + lo);
        } else {
            *w++ = '%';
            *w++ = "0123456789ABCDEF"[hi];
            *w++ = "0123456789ABCDEF"[lo];
        }
        r += 3;
    }
    *w = '\0';
    return dot;
}

/* Whether SCHEME is one of the special schemes of the WHATWG URL standard
 * that are checked here. */
static bool
is_http(const char *scheme)
{
    return strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
}

/* Says in WHY (WHYLEN bytes) that a link of SCHEME, not http(s), is not
 * checked: on a page it is reported as such, in a file of URLs it is
 * dead. Returns the code that says so. */
static int
other_scheme(const char *scheme, bool from_page, char *why, size_t whylen)
{
    if (!from_page) {
        snprintf(why, whylen, "protocol not allowed: %s", scheme);
        return LC__URL_DEAD;
    }
    snprintf(why, whylen, "scheme %s: not checked", scheme);
    return LC__URL_SKIP;
}

/*
 * The link S (cleaned) as the WHATWG URL standard reads it when it is an
 * http(s) URL or a relative link resolved against an http(s) BASE (SCHEME
 * is the link's own, or "" for none), where curl's parser would not: a
 * backslash before the query or fragment is a slash ("sub\page.html");
 * "http:page.html" and "http:/x", with the base's scheme, are the relative
 * "page.html" and "/x", and "http:" alone (or before a fragment) is the
 * base itself (*IS_BASE is then set); with another scheme or no base, any
 * number of slashes may follow the scheme ("http:/h/x" is "http://h/x").
 * Returns a new string, the caller's to free, or NULL when out of memory.
 */
static char *
whatwg_fix(const char *s, const char *scheme, const char *base, bool *is_base)
{
    char base_scheme[32];
    size_t end = strcspn(s, "?#");
    size_t slen = strlen(scheme);
    char *fixed;
    char *rest;
    char *out;
    size_t i;

    *is_base = false;
    fixed = strdup(s);
    if (fixed == NULL)
        return NULL;
    for (i = 0; i < end; i++)
        if (fixed[i] == '\\')
            fixed[i] = '/';
    if (slen == 0)
        return fixed;
    rest = fixed + slen + 1;
    if (base != NULL && url_scheme(base, base_scheme, sizeof(base_scheme)) &&
        strcmp(base_scheme, scheme) == 0 && strncmp(rest, "//", 2) != 0) {
        *is_base = rest[0] == '\0' || rest[0] == '#';
        memmove(fixed, rest, strlen(rest) + 1);
        return fixed;
    }
    if (strncmp(rest, "//", 2) == 0 && rest[2] != '/')
        return fixed;
    while (*rest == '/')
        rest++;
    out = malloc(slen + 3 + strlen(rest) + 1);
    if (out != NULL)
        sprintf(out, "%s://%s", scheme, rest);
    free(fixed);
    return out;
}

int
lc__normalize_url(const char *base, const char *link, size_t n, bool from_page,
                  char **out, char *why, size_t whylen)
{
    static const char *const ignored[] = {"mailto", "javascript", "tel",
                                          "data",   "about",      NULL};
    char base_scheme[32];
    char scheme[32] = "";
    char *clean;
    char *fixed = NULL;
    char *url = NULL;
    bool is_base = false;
    size_t i;
    int rc;

    *out = NULL;
    why[0] = '\0';
    clean = clean_link(link, n);
    if (clean == NULL)
        return TF_ENOMEM;
    if (from_page && (clean[0] == '\0' || clean[0] == '#')) {
        free(clean);
        return LC__URL_IGNORE;
    }
    if (url_scheme(clean, scheme, sizeof(scheme))) {
        for (i = 0; from_page && ignored[i] != NULL; i++) {
            if (strcmp(scheme, ignored[i]) == 0) {
                free(clean);
                return LC__URL_IGNORE;
            }
        }
        if (!is_http(scheme)) {
            *out = clean;
            return other_scheme(scheme, from_page, why, whylen);
        }
    }
    if (scheme[0] == '\0' && base != NULL &&
        url_scheme(base, base_scheme, sizeof(base_scheme)) &&
        !is_http(base_scheme)) {
        /* A relative link on a page whose base is of another scheme (a
         * <base href="file:...">) is of that scheme. */
        *out = clean;
        return other_scheme(base_scheme, from_page, why, whylen);
    }
    if (scheme[0] != '\0' || base != NULL) {
        /* Fixed on a copy: a dead link keeps its text. */
        fixed = whatwg_fix(clean, scheme, base, &is_base);
        if (fixed == NULL) {
            free(clean);
            return TF_ENOMEM;
        }
    }
    if (is_base)
        rc = lc__resolve_url(NULL, base, &url, why, whylen);
    else
        rc = lc__resolve_url(base, fixed != NULL ? fixed : clean, &url, why,
                             whylen);
    free(fixed);
    if (rc == TF_ENOMEM) {
        free(clean);
        return TF_ENOMEM;
    }
    if (rc < 0) {
        *out = clean;
        return LC__URL_DEAD;
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        /* The checks above leave no way here; this one makes sure that no
         * other scheme is ever taken for a URL to check. */
        url_scheme(url, scheme, sizeof(scheme));
        free(url);
        *out = clean;
        return other_scheme(scheme, from_page, why, whylen);
    }
    free(clean);
    *out = url;
    return LC__URL_OK;
}

bool
lc__url_hostport(const char *s, const char **host, size_t *hostlen,
                 unsigned *port)
{
    const char *a = strstr(s, "://");
    const char *end;
    const char *colon = NULL;
    const char *p;

    if (a == NULL)
        return false;
    a += 3;
    end = a + strcspn(a, "/?#");
    for (p = a; p < end; p++)
        if (*p == '@')
            a = p + 1;
    if (*a == '[') {
        const char *close = memchr(a, ']', (size_t)(end - a));

        if (close != NULL && close + 1 < end && close[1] == ':')
            colon = close + 1;
    } else {
        for (p = a; p < end; p++)
            if (*p == ':')
                colon = p;
    }
    *host = a;
    *hostlen = (size_t)((colon != NULL ? colon : end) - a);
    *port = 0;
    if (colon != NULL) {
        for (p = colon + 1;
             p < end && is_digit((unsigned char)*p) && *port <= 65535; p++)
            *port = *port * 10 + (unsigned)(*p - '0');
    } else if (strncmp(s, "https:", 6) == 0) {
        *port = 443;
    } else if (strncmp(s, "http:", 5) == 0) {
        *port = 80;
    }
    return true;
}

bool
lc__host_allowed(const struct lc__state *st, const char *url)
{
    const char *host;
    size_t len;
    unsigned port;
    size_t i;

    if (!lc__url_hostport(url, &host, &len, &port))
        return false;
    for (i = 0; i < st->nallow; i++) {
        const struct lc__hostport *a = &st->allow[i];

        if (strlen(a->host) == len && strncasecmp(a->host, host, len) == 0 &&
            (a->port == 0 || a->port == port))
            return true;
    }
    return false;
}
