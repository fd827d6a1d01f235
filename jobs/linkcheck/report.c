/* report.c - the linkcheck job's report on stdout: a table, or one JSON
 * object per URL written with jansson */
#include "linkcheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "taskfarm.h"

#define LC_TABLE_REFS 10 /* shown under a dead link in the table */

/* A JSON string of S; a byte that is not UTF-8 becomes U+FFFD, as jansson
 * takes UTF-8 alone. NULL when out of memory. */
static json_t *
jstr(const char *s)
{
    struct tf_buf b;
    json_t *j = json_string(s);
    const unsigned char *p = (const unsigned char *)s;

    if (j != NULL)
        return j;
    tf_buf_init(&b, 0);
    while (*p != '\0') {
        size_t len = 0;
        size_t k;
        unsigned long cp;

        if (*p < 0x80)
            len = 1;
        else if (*p >= 0xC2 && *p <= 0xDF)
            len = 2;
        else if (*p >= 0xE0 && *p <= 0xEF)
            len = 3;
        else if (*p >= 0xF0 && *p <= 0xF4)
            len = 4;
        cp = len == 1 ? *p : (unsigned long)(*p & (0x7F >> len));
        for (k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80)
                break;
            cp = cp << 6 | (p[k] & 0x3F);
        }
        if (len == 0 || k < len || (len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            lc__put_utf8(&b, 0xFFFD);
            p++;
            continue;
        }
        tf_buf_append(&b, p, len);
        p += len;
    }
    j = json_string(b.data != NULL ? (char *)b.data : "");
    tf_buf_cleanup(&b);
    return j;
}

/* The text of where record REC was found: REF is a record index in a
 * crawl, a line of FILE else. */
static const char *
ref_text(const struct lc__run *r, uint64_t ref, char *buf, size_t size)
{
    if (r->st->file == NULL)
        return ref < r->nrecs ? r->recs[ref].url : "";
    snprintf(buf, size, "%s:%" PRIu64, r->st->file, ref);
    return buf;
}

/* Writes REC as one JSON line. */
static int
jsonl_rec(const struct lc__run *r, const struct lc__rec *rec, FILE *out)
{
    json_t *o = json_object();
    json_t *refs = json_array();
    char buf[4096];
    char *s = NULL;
    size_t k;
    int rc = 0;

    if (o == NULL || refs == NULL) {
        json_decref(o);
        json_decref(refs);
        return TF_ENOMEM;
    }
    for (k = 0; rc == 0 && k < rec->nrefs; k++)
        rc = json_array_append_new(
            refs, jstr(ref_text(r, rec->refs[k], buf, sizeof(buf))));
    if (rc == 0)
        rc = json_object_set_new(o, "url", jstr(rec->url));
    if (rc == 0)
        rc = json_object_set_new(o, "ok", json_boolean(!lc__rec_is_dead(rec)));
    if (rc == 0)
        rc = json_object_set_new(o, "status", json_integer(rec->status));
    if (rc == 0)
        rc = json_object_set_new(
            o, "final_url", jstr(rec->final != NULL ? rec->final : rec->url));
    if (rc == 0)
        rc = json_object_set_new(
            o, "time", json_real((double)((rec->time_us + 500) / 1000) / 1e3));
    if (rc == 0)
        rc =
            json_object_set_new(o, "size", json_integer((json_int_t)rec->size));
    if (rc == 0)
        rc = json_object_set_new(
            o, "error", rec->error != NULL ? jstr(rec->error) : json_null());
    if (rc == 0)
        rc = json_object_set_new(o, "redirects",
                                 json_integer((json_int_t)rec->redirects));
    if (rc == 0)
        rc = json_object_set_new(
            o, "method",
            rec->method[0] != '\0' ? json_string(rec->method) : json_null());
    if (rc == 0)
        rc = json_object_set_new(o, "parsed", json_boolean(rec->parsed));
    if (rc == 0)
        rc = json_object_set_new(o, "depth",
                                 json_integer((json_int_t)rec->depth));
    if (rc == 0) {
        rc = json_object_set_new(o, "found_on", refs);
        refs = NULL;
    }
    if (rc == 0)
        rc = json_object_set_new(o, "found_on_count",
                                 json_integer((json_int_t)rec->ref_count));
    if (rc == 0)
        s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(refs);
    json_decref(o);
    if (s == NULL)
        return TF_ENOMEM;
    if (fputs(s, out) == EOF || fputc('\n', out) == EOF)
        rc = TF_ESYS;
    free(s);
    return rc;
}

/* Writes REC as a line of the table, and under a dead link the pages it
 * was found on. */
static int
table_rec(const struct lc__run *r, const struct lc__rec *rec, FILE *out)
{
    bool dead = lc__rec_is_dead(rec);
    char code[24];
    char buf[4096];
    size_t k;

    if (rec->status > 0)
        snprintf(code, sizeof(code), "%ld", rec->status);
    else
        snprintf(code, sizeof(code), "---");
    fprintf(out, "%-6s %4s %8.3f %9" PRIu64 "  %s", dead ? "dead" : "ok", code,
            (double)rec->time_us / 1e6, rec->size, rec->url);
    if (rec->final != NULL && rec->final[0] != '\0' &&
        strcmp(rec->final, rec->url) != 0)
        fprintf(out, "  -> %s", rec->final);
    if (rec->error != NULL)
        fprintf(out, "  (%s)", rec->error);
    fputc('\n', out);
    for (k = 0; dead && k < rec->nrefs && k < LC_TABLE_REFS; k++)
        fprintf(out, "      found on %s\n",
                ref_text(r, rec->refs[k], buf, sizeof(buf)));
    if (dead && rec->ref_count > k)
        fprintf(out, "      ... and %" PRIu64 " more\n", rec->ref_count - k);
    return ferror(out) ? TF_ESYS : 0;
}

static int
cmp_rec(const void *a, const void *b)
{
    const struct lc__rec *const *x = a;
    const struct lc__rec *const *y = b;

    return strcmp((*x)->url, (*y)->url);
}

int
lc__report(const struct lc__run *r, FILE *out, size_t *ndead, size_t *nparsed)
{
    const struct lc__rec **v;
    size_t i;
    int rc = 0;

    *ndead = 0;
    *nparsed = 0;
    v = malloc((r->nrecs > 0 ? r->nrecs : 1) * sizeof(*v));
    if (v == NULL)
        return TF_ENOMEM;
    for (i = 0; i < r->nrecs; i++) {
        v[i] = &r->recs[i];
        *ndead += lc__rec_is_dead(v[i]) ? 1 : 0;
        *nparsed += v[i]->parsed ? 1 : 0;
    }
    qsort(v, r->nrecs, sizeof(*v), cmp_rec);
    if (r->st->format == LC__TABLE &&
        fprintf(out, "%-6s %4s %8s %9s  %s\n", "RESULT", "CODE", "TIME_S",
                "BYTES", "URL") < 0)
        rc = TF_ESYS;
    for (i = 0; rc == 0 && i < r->nrecs; i++) {
        if (r->st->dead_only && !lc__rec_is_dead(v[i]))
            continue;
        rc = r->st->format == LC__JSONL ? jsonl_rec(r, v[i], out)
                                        : table_rec(r, v[i], out);
    }
    if (rc == 0 && (fflush(out) == EOF || ferror(out)))
        rc = TF_ESYS;
    free(v);
    return rc;
}
