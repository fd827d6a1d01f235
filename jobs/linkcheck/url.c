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

int
lc__normalize_url(const char *base, const char *link, size_t n, bool from_page,
                  char **out, char *why, size_t whylen)
{
    static const char *const ignored[] = {"mailto", "javascript", "tel",
                                          "data",   "about",      NULL};
    char scheme[32];
    char *clean;
    char *url = NULL;
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
        if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
            snprintf(why, whylen, "protocol not allowed: %s", scheme);
            *out = clean;
            return LC__URL_DEAD;
        }
    }
    rc = lc__resolve_url(base, clean, &url, why, whylen);
    if (rc == TF_ENOMEM) {
        free(clean);
        return TF_ENOMEM;
    }
    if (rc < 0) {
        *out = clean;
        return LC__URL_DEAD;
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        /* Only a base of another scheme gets here. */
        url_scheme(url, scheme, sizeof(scheme));
        snprintf(why, whylen, "protocol not allowed: %s", scheme);
        free(url);
        *out = clean;
        return LC__URL_DEAD;
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
