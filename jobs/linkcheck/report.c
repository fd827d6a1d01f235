/* report.c - the linkcheck job's report on stdout: a table, one JSON
 * object per URL written with jansson, or CSV; and its sitemap */
#include "linkcheck.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "taskfarm.h"

#define LC_TABLE_REFS 10 /* shown under a dead link in the table */

static const char *const result_names[] = {"ok", "warning", "dead", "skipped"};

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
    struct lc__strs warns = {NULL, 0, 0};
    json_t *o = json_object();
    json_t *refs = json_array();
    json_t *jw = json_array();
    char buf[4096];
    char *s = NULL;
    size_t k;
    int rc = 0;

    if (o == NULL || refs == NULL || jw == NULL ||
        lc__rec_warnings(r->st, rec, &warns) < 0) {
        json_decref(o);
        json_decref(refs);
        json_decref(jw);
        lc__strs_cleanup(&warns);
        return TF_ENOMEM;
    }
    for (k = 0; rc == 0 && k < warns.n; k++)
        rc = json_array_append_new(jw, jstr(warns.v[k]));
    lc__strs_cleanup(&warns);
    for (k = 0; rc == 0 && k < rec->nrefs; k++)
        rc = json_array_append_new(
            refs, jstr(ref_text(r, rec->refs[k], buf, sizeof(buf))));
    if (rc == 0)
        rc = json_object_set_new(o, "url", jstr(rec->url));
    if (rc == 0)
        rc = json_object_set_new(
            o, "result", json_string(result_names[lc__rec_result(r->st, rec)]));
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
    if (rc == 0) {
        rc = json_object_set_new(o, "warnings", jw);
        jw = NULL;
    }
    if (rc == 0)
        rc = json_object_set_new(
            o, "skip", rec->skip != NULL ? jstr(rec->skip) : json_null());
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
    json_decref(jw);
    json_decref(o);
    if (s == NULL)
        return TF_ENOMEM;
    if (fputs(s, out) == EOF || fputc('\n', out) == EOF)
        rc = TF_ESYS;
    free(s);
    return rc;
}

/* Writes REC as a line of the table; under a dead link the pages it was
 * found on, under one with warnings the warnings. */
static int
table_rec(const struct lc__run *r, const struct lc__rec *rec, FILE *out)
{
    static const char *const names[] = {"ok", "warn", "dead", "skip"};
    struct lc__strs warns = {NULL, 0, 0};
    enum lc__result res = lc__rec_result(r->st, rec);
    bool dead = res == LC__DEAD;
    char code[24];
    char buf[4096];
    size_t k;

    if (lc__rec_warnings(r->st, rec, &warns) < 0)
        return TF_ENOMEM;
    if (rec->status > 0)
        snprintf(code, sizeof(code), "%ld", rec->status);
    else
        snprintf(code, sizeof(code), "---");
    fprintf(out, "%-6s %4s %8.3f %9" PRIu64 "  %s", names[res], code,
            (double)rec->time_us / 1e6, rec->size, rec->url);
    if (rec->final != NULL && rec->final[0] != '\0' &&
        strcmp(rec->final, rec->url) != 0)
        fprintf(out, "  -> %s", rec->final);
    if (rec->error != NULL)
        fprintf(out, "  (%s)", rec->error);
    else if (rec->skip != NULL)
        fprintf(out, "  (%s)", rec->skip);
    fputc('\n', out);
    for (k = 0; res == LC__WARN && k < warns.n; k++)
        fprintf(out, "      warning: %s\n", warns.v[k]);
    lc__strs_cleanup(&warns);
    for (k = 0; dead && k < rec->nrefs && k < LC_TABLE_REFS; k++)
        fprintf(out, "      found on %s\n",
                ref_text(r, rec->refs[k], buf, sizeof(buf)));
    if (dead && rec->ref_count > k)
        fprintf(out, "      ... and %" PRIu64 " more\n", rec->ref_count - k);
    return ferror(out) ? TF_ESYS : 0;
}

/* Writes S as one CSV field (RFC 4180: quoted when it holds a comma, a
 * quote or a line break, quotes doubled). */
static void
csv_field(FILE *out, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n") != NULL) {
        fputc('"', out);
        for (; *s != '\0'; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputs(last ? "\r\n" : ",", out);
}

/* Writes REC as one CSV record. */
static int
csv_rec(const struct lc__run *r, const struct lc__rec *rec, FILE *out)
{
    struct lc__strs warns = {NULL, 0, 0};
    struct tf_buf w;
    char num[64];
    char buf[4096];
    size_t k;
    int rc = 0;

    if (lc__rec_warnings(r->st, rec, &warns) < 0)
        return TF_ENOMEM;
    tf_buf_init(&w, 0);
    rc = tf_buf_puts(&w, "");
    for (k = 0; rc == 0 && k < warns.n; k++)
        rc = tf_buf_printf(&w, "%s%s", k > 0 ? "; " : "", warns.v[k]);
    lc__strs_cleanup(&warns);
    if (rc < 0) {
        tf_buf_cleanup(&w);
        return TF_ENOMEM;
    }
    csv_field(out, result_names[lc__rec_result(r->st, rec)], false);
    csv_field(out, rec->url, false);
    snprintf(num, sizeof(num), "%ld", rec->status);
    csv_field(out, num, false);
    csv_field(out, rec->final != NULL ? rec->final : rec->url, false);
    snprintf(num, sizeof(num), "%.3f", (double)rec->time_us / 1e6);
    csv_field(out, num, false);
    snprintf(num, sizeof(num), "%" PRIu64, rec->size);
    csv_field(out, num, false);
    csv_field(out, rec->error != NULL ? rec->error : "", false);
    csv_field(out, (char *)w.data, false);
    csv_field(out, rec->skip != NULL ? rec->skip : "", false);
    snprintf(num, sizeof(num), "%" PRIu64, rec->depth);
    csv_field(out, num, false);
    snprintf(num, sizeof(num), "%" PRIu64, rec->ref_count);
    csv_field(out, num, false);
    csv_field(out,
              rec->nrefs > 0 ? ref_text(r, rec->refs[0], buf, sizeof(buf)) : "",
              true);
    tf_buf_cleanup(&w);
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
    if (r->st->format == LC__CSV &&
        fputs("result,url,status,final_url,time_s,bytes,error,warnings,skip,"
              "depth,found_on_count,found_on\r\n",
              out) == EOF)
        rc = TF_ESYS;
    for (i = 0; rc == 0 && i < r->nrecs; i++) {
        if (r->st->dead_only && !lc__rec_is_dead(v[i]))
            continue;
        if (r->st->format == LC__JSONL)
            rc = jsonl_rec(r, v[i], out);
        else if (r->st->format == LC__CSV)
            rc = csv_rec(r, v[i], out);
        else
            rc = table_rec(r, v[i], out);
    }
    if (rc == 0 && (fflush(out) == EOF || ferror(out)))
        rc = TF_ESYS;
    free(v);
    return rc;
}

/* Writes S to OUT with XML's five special characters escaped. */
static void
xml_text(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
lc__sitemap(const struct lc__run *r, const char *path, struct tf_error *err)
{
    const char **v;
    char *tmp = NULL;
    struct stat sb;
    bool direct;
    size_t n = 0;
    size_t i;
    FILE *f;
    int rc = 0;

    v = malloc((r->nrecs > 0 ? r->nrecs : 1) * sizeof(*v));
    if (v == NULL || asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        free(v);
        return tf_error_set(err, TF_ENOMEM, "out of memory");
    }
    for (i = 0; i < r->nrecs; i++) {
        const struct lc__rec *rec = &r->recs[i];

        if (rec->html && rec->parsed && rec->status >= 200 &&
            rec->status <= 299 && rec->error == NULL &&
            lc__host_allowed(r->st, rec->final != NULL ? rec->final : rec->url))
            v[n++] = rec->final != NULL ? rec->final : rec->url;
    }
    qsort(v, n, sizeof(*v), cmp_str);
    /* A file is replaced whole, never left half written; what is no file
     * (a pipe, /dev/stdout) is written to. */
    direct = stat(path, &sb) == 0 && !S_ISREG(sb.st_mode);
    f = fopen(direct ? path : tmp, "w");
    if (f == NULL) {
        rc = tf_error_set(err, TF_ESYS, "--sitemap: %s: %s", path,
                          strerror(errno));
        goto out;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
          f);
    for (i = 0; i < n; i++) {
        if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
            continue; /* two URLs redirected to one page */
        fputs("  <url><loc>", f);
        xml_text(f, v[i]);
        fputs("</loc></url>\n", f);
    }
    fputs("</urlset>\n", f);
    errno = 0;
    if (fflush(f) == EOF || ferror(f) || (!direct && fsync(fileno(f)) < 0)) {
        rc = tf_error_set(err, TF_ESYS, "--sitemap: %s: %s", path,
                          strerror(errno != 0 ? errno : EIO));
        fclose(f);
        if (!direct)
            unlink(tmp);
        goto out;
    }
    if (fclose(f) == EOF || (!direct && rename(tmp, path) < 0)) {
        rc = tf_error_set(err, TF_ESYS, "--sitemap: %s: %s", path,
                          strerror(errno));
        if (!direct)
            unlink(tmp);
    }
out:
    free(tmp);
    free(v);
    return rc;
}
