/* fuzz_html.c - libFuzzer target: the linkcheck job's reader of HTML pages
 * (lc__html_links, jobs/linkcheck/html.c) and what a worker submits for a
 * page (lc__page_links) */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "linkcheck/linkcheck.h"

/*
 * The input is a page as a server might send it: any bytes, cut anywhere.
 * The properties:
 *   - reading it succeeds, and reading it again gives the same links and
 *     the same <base href>;
 *   - the links and the base are the values of attributes, distinct pieces
 *     of the page, and decoding a character reference never makes it
 *     longer (the shortest, "&#N;", is 4 bytes for at most 3 of UTF-8, and
 *     a character of 4 bytes takes a reference of 8 or more): so their
 *     lengths add up to the page's at most;
 *   - a page without '&' has nothing to decode: each link is then a piece
 *     of the page, found in the page after the one before it, and so is
 *     the base;
 *   - what a worker submits for the page is one line per distinct link,
 *     "PAGE\tURL" or "PAGE\tRAW\tERROR", never more lines than links.
 */
#define PAGE "http://127.0.0.1:8080/dir/index.html"

static void
read_links(const uint8_t *data, size_t size, struct lc__strs *links,
           char **base)
{
    memset(links, 0, sizeof(*links));
    FUZZ_CHECK(lc__html_links((const char *)data, size, links, base) == 0);
}

/* Checks that the page submissions SUBS are what lc__page_links()
 * promises for a page of NLINKS links. */
static void
check_subs(const struct lc__strs *subs, size_t nlinks)
{
    const size_t plen = strlen(PAGE "\t");
    size_t i;
    size_t k;

    FUZZ_CHECK(subs->n <= nlinks);
    for (i = 0; i < subs->n; i++) {
        const char *s = subs->v[i];
        const char *tab;

        FUZZ_CHECK(strncmp(s, PAGE "\t", plen) == 0);
        FUZZ_CHECK(strpbrk(s, "\r\n") == NULL);
        tab = strchr(s + plen, '\t');
        if (tab != NULL) {
            /* A dead link: its text, then why, and nothing more. */
            FUZZ_CHECK(strchr(tab + 1, '\t') == NULL);
            FUZZ_CHECK(strncmp(tab + 1, "invalid URL: ", 13) == 0 ||
                       strncmp(tab + 1, "protocol not allowed: ", 22) == 0);
        } else {
            FUZZ_CHECK(strncmp(s + plen, "http://", 7) == 0 ||
                       strncmp(s + plen, "https://", 8) == 0);
        }
        for (k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(subs->v[k], s) != 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool curl_ready;
    struct lc__strs links;
    struct lc__strs again;
    struct lc__strs subs;
    char *base = NULL;
    char *base2 = NULL;
    size_t total = 0;
    size_t pos = 0;
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
    FUZZ_CHECK(total <= size);

    if (memchr(data, '&', size) == NULL) {
        for (i = 0; i < links.n; i++) {
            size_t len = strlen(links.v[i]);
            const uint8_t *at = memmem(data + pos, size - pos, links.v[i], len);

            FUZZ_CHECK(at != NULL);
            pos = (size_t)(at - data) + len;
        }
        FUZZ_CHECK(base == NULL ||
                   memmem(data, size, base, strlen(base)) != NULL);
    }

    memset(&subs, 0, sizeof(subs));
    {
        struct lc__page pg = {PAGE, NULL, NULL, (const char *)data, size,
                              false};

        FUZZ_CHECK(lc__page_links(&pg, &subs) == 0);
    }
    check_subs(&subs, links.n);

    lc__strs_cleanup(&subs);
    lc__strs_cleanup(&links);
    lc__strs_cleanup(&again);
    free(base);
    free(base2);
    return 0;
}
