/* html.c - the linkcheck job's reader of HTML pages: the links of any
 * bytes, as browsers find them, and what a worker submits for them */
#include "linkcheck.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "taskfarm.h"

/* Whether the N bytes at P are NAME (lower-case), ignoring ASCII case. */
static bool
name_is(const char *p, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (name[i] == '\0' || lower((unsigned char)p[i]) != name[i])
            return false;
    return name[n] == '\0';
}

/* The attribute that holds the link of each tag that has one. */
static const struct {
    const char *tag;
    const char *attr;
} link_attrs[] = {
    {"a", "href"},     {"area", "href"},  {"link", "href"},  {"base", "href"},
    {"img", "src"},    {"script", "src"}, {"iframe", "src"}, {"frame", "src"},
    {"source", "src"}, {"embed", "src"},  {"audio", "src"},  {"video", "src"},
};

int
lc__put_utf8(struct tf_buf *out, unsigned long cp)
{
    unsigned char b[4];
    size_t n;

    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | cp >> 6);
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | cp >> 12);
        b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | cp >> 18);
        b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return tf_buf_append(out, b, n);
}

/*
 * Sets OUT to the N bytes of attribute value P with the character
 * references &amp; &lt; &gt; &quot; &apos; &#N; and &#xH; decoded; any
 * other '&' stays as it is.
 */
static int
decode_entities(const char *p, size_t n, struct tf_buf *out)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    size_t i;
    size_t k;
    int rc = 0;

    tf_buf_reset(out);
    for (i = 0; rc == 0 && i < n; i++) {
        size_t j = i + 1;
        bool done = false;

        if (p[i] == '&' && j < n && p[j] == '#') {
            unsigned long cp = 0;
            bool hex = j + 1 < n && (p[j + 1] == 'x' || p[j + 1] == 'X');
            size_t d0 = j + 1 + (hex ? 1 : 0);

            for (j = d0; j < n; j++) {
                int v = hex ? hexval((unsigned char)p[j])
                            : (is_digit((unsigned char)p[j]) ? p[j] - '0' : -1);

                if (v < 0)
                    break;
                cp = cp * (hex ? 16 : 10) + (unsigned long)v;
                if (cp > 0x10FFFF)
                    cp = 0x110000; /* no character; no overflow */
            }
            if (j > d0 && j < n && p[j] == ';') {
                rc = lc__put_utf8(out, cp);
                i = j;
                done = true;
            }
        } else if (p[i] == '&') {
            for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
                size_t len = strlen(named[k].name);

                if (j + len < n && memcmp(p + j, named[k].name, len) == 0 &&
                    p[j + len] == ';') {
                    rc = tf_buf_append(out, &named[k].c, 1);
                    i = j + len;
                    done = true;
                    break;
                }
            }
        }
        if (!done)
            rc = tf_buf_append(out, p + i, 1);
    }
    return rc;
}

/* The offset of the "</NAME" that ends raw text (script, style) from I,
 * ignoring case, or N. */
static size_t
raw_text_end(const char *p, size_t n, size_t i, const char *name)
{
    size_t len = strlen(name);

    for (; i + 2 + len <= n; i++) {
        if (p[i] == '<' && p[i + 1] == '/' && name_is(p + i + 2, len, name) &&
            (i + 2 + len == n || is_space((unsigned char)p[i + 2 + len]) ||
             p[i + 2 + len] == '>' || p[i + 2 + len] == '/'))
            return i;
    }
    return n;
}

/* The offset of the first NEEDLE at or after I, or N. */
static size_t
find_str(const char *p, size_t n, size_t i, const char *needle)
{
    size_t len = strlen(needle);

    for (; i + len <= n; i++)
        if (memcmp(p + i, needle, len) == 0)
            return i;
    return n;
}

int
lc__html_links(const char *p, size_t n, struct lc__strs *links, char **base)
{
    struct tf_buf val;
    size_t i = 0;
    int rc = 0;

    *base = NULL;
    tf_buf_init(&val, 0);
    while (rc == 0 && i < n) {
        const char *lt = memchr(p + i, '<', n - i);
        const char *want = NULL;
        bool got = false;
        bool is_base;
        size_t t0;
        size_t tlen;
        size_t k;

        if (lt == NULL)
            break;
        i = (size_t)(lt - p) + 1;
        if (i >= n)
            break;
        if (p[i] == '!' && i + 2 < n && p[i + 1] == '-' && p[i + 2] == '-') {
            /* A comment; "<!-->" and "<!--->" are empty ones. */
            i = find_str(p, n, i + 1, "-->");
            i = i < n ? i + 3 : n;
            continue;
        }
        if (p[i] == '!' || p[i] == '?' || p[i] == '/') {
            /* A doctype, a processing instruction or an end tag. */
            lt = memchr(p + i, '>', n - i);
            i = lt != NULL ? (size_t)(lt - p) + 1 : n;
            continue;
        }
        if (!is_alpha((unsigned char)p[i]))
            continue; /* a '<' in text */
        t0 = i;
        while (i < n && !is_space((unsigned char)p[i]) && p[i] != '>' &&
               p[i] != '/')
            i++;
        tlen = i - t0;
        for (k = 0; k < sizeof(link_attrs) / sizeof(link_attrs[0]); k++)
            if (name_is(p + t0, tlen, link_attrs[k].tag))
                want = link_attrs[k].attr;
        is_base = name_is(p + t0, tlen, "base");
        for (;;) {
            size_t a0;
            size_t alen;
            size_t v0 = 0;
            size_t vlen = 0;
            bool has_value = false;

            while (i < n && (is_space((unsigned char)p[i]) || p[i] == '/'))
                i++;
            if (i >= n)
                break;
            if (p[i] == '>') {
                i++;
                break;
            }
            a0 = i++; /* a name has one character at least, even '=' */
            while (i < n && !is_space((unsigned char)p[i]) && p[i] != '/' &&
                   p[i] != '>' && p[i] != '=')
                i++;
            alen = i - a0;
            while (i < n && is_space((unsigned char)p[i]))
                i++;
            if (i < n && p[i] == '=') {
                i++;
                while (i < n && is_space((unsigned char)p[i]))
                    i++;
                if (i < n && (p[i] == '"' || p[i] == '\'')) {
                    const char *q = memchr(p + i + 1, p[i], n - i - 1);

                    v0 = i + 1;
                    i = q != NULL ? (size_t)(q - p) : n;
                    vlen = i - v0;
                    if (i < n)
                        i++;
                } else {
                    v0 = i;
                    while (i < n && !is_space((unsigned char)p[i]) &&
                           p[i] != '>')
                        i++;
                    vlen = i - v0;
                }
                has_value = true;
            }
            if (!has_value || got || want == NULL ||
                !name_is(p + a0, alen, want))
                continue;
            got = true;
            rc = decode_entities(p + v0, vlen, &val);
            if (rc < 0)
                break;
            if (!is_base)
                rc = lc__strs_addn(
                    links, val.data != NULL ? (char *)val.data : "", val.len);
            else if (*base == NULL)
                *base =
                    strndup(val.data != NULL ? (char *)val.data : "", val.len);
            if (is_base && *base == NULL)
                rc = TF_ENOMEM;
            if (rc < 0)
                break;
        }
        if (name_is(p + t0, tlen, "script"))
            i = raw_text_end(p, n, i, "script");
        else if (name_is(p + t0, tlen, "style"))
            i = raw_text_end(p, n, i, "style");
    }
    tf_buf_cleanup(&val);
    if (rc < 0) {
        free(*base);
        *base = NULL;
    }
    return rc;
}

int
lc__page_links(const struct lc__page *pg, struct lc__strs *subs)
{
    const char *page = pg->key;
    const char *final = pg->final;
    const char *body = pg->body;
    size_t n = pg->n;
    struct lc__strs links = {NULL, 0, 0};
    struct lc__strs keys = {NULL, 0, 0};
    struct lc__table seen = {NULL, 0, 0};
    const char *from = final != NULL ? final : page;
    char *rawbase = NULL;
    char *base = NULL;
    char why[LC__WHY];
    size_t i;
    size_t dummy;
    int rc;

    rc = lc__html_links(body, n, &links, &rawbase);
    if (rc == 0 && rawbase != NULL) {
        rc = lc__normalize_url(from, rawbase, strlen(rawbase), true, &base, why,
                               sizeof(why));
        if (rc == LC__URL_OK) {
            from = base;
        } else if (rc > 0) {
            free(base); /* a <base> that is no URL is no base */
            base = NULL;
            rc = 0;
        }
    }
    for (i = 0; rc == 0 && i < links.n; i++) {
        char *key = NULL;
        int k = lc__normalize_url(from, links.v[i], strlen(links.v[i]), true,
                                  &key, why, sizeof(why));

        if (k < 0) {
            rc = k;
            break;
        }
        if (k == LC__URL_IGNORE)
            continue;
        if (lc__table_find(&seen, key, &dummy)) {
            free(key);
            continue;
        }
        rc = lc__strs_add(&keys, key);
        if (rc == 0)
            rc = lc__table_add(&seen, key, 0);
        if (rc == 0 && k == LC__URL_OK)
            rc = lc__strs_printf(subs, "L\t%s\t%s\t", page, key);
        else if (rc == 0)
            rc = lc__strs_printf(subs, "D\t%s\t%s\t%s", page, key, why);
    }
    lc__table_cleanup(&seen);
    lc__strs_cleanup(&keys);
    lc__strs_cleanup(&links);
    free(rawbase);
    free(base);
    return rc;
}

bool
lc__is_html(const char *ct)
{
    static const char *const types[] = {"text/html", "application/xhtml+xml",
                                        NULL};
    size_t i;

    while (*ct == ' ')
        ct++;
    for (i = 0; types[i] != NULL; i++) {
        size_t len = strlen(types[i]);

        if (strncasecmp(ct, types[i], len) == 0 &&
            (ct[len] == '\0' || ct[len] == ';' || ct[len] == ' '))
            return true;
    }
    return false;
}

bool
lc__is_css(const char *ct)
{
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, "text/css", 8) == 0 &&
           (ct[8] == '\0' || ct[8] == ';' || ct[8] == ' ');
}
