/* test_job_linkcheck.c - the linkcheck job without a network: link
 * extraction, URL normalization, options, the task and result lines, the
 * master's bookkeeping, and the report */
#include "tf_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "linkcheck/linkcheck.h"
#include "opts.h"

#define PAGE "http://127.0.0.1:8080/index.html"

/* lc__page_links() of an HTML page read from PAGE (redirected to FINAL,
 * or not: NULL). */
static int
page_links(const char *page, const char *final, const char *body, size_t n,
           struct lc__strs *subs)
{
    struct lc__page pg = {page, final, NULL, body, n, false};

    return lc__page_links(&pg, subs);
}

static char tmpdir[64];

static int
make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/tf-linkcheck-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
remove_tmpdir(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes N bytes of TEXT to the file NAME in the scratch folder; returns
 * its path (static). */
static const char *
write_file(const char *name, const char *text, size_t n)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* ------------------------------------------------------------ options */

/* Runs the job's init on the NULL-terminated name/value pairs KV. */
static int
init_with(const char *const *kv, struct lc__state **st, struct tf_error *err)
{
    struct tf_opts opts;
    void *state = NULL;
    int rc;

    /* As the command line is read: positional arguments as they are,
     * options checked by the job's table, then the job's init. */
    tf__opts_init(&opts);
    tf_error_init(err);
    for (rc = 0; rc == 0 && kv[0] != NULL; kv += 2) {
        if (kv[0][0] >= '1' && kv[0][0] <= '9')
            assert_int_equal(tf__opts_set(&opts, kv[0], kv[1]), 0);
        else
            rc = tf__opts_add(&opts, tf_job_linkcheck.options, kv[0], kv[1],
                              err);
    }
    if (rc == 0)
        rc = tf_job_linkcheck.init(&state, &opts, err);
    *st = state;
    if (rc < 0)
        assert_null(state);
    return rc;
}

/* Asserts that options KV are refused with TF_EUSAGE and a message that
 * holds NEEDLE. */
static void
assert_usage(const char *const *kv, const char *needle)
{
    struct lc__state *st;
    struct tf_error err;

    assert_int_equal(init_with(kv, &st, &err), TF_EUSAGE);
    assert_int_equal(err.code, TF_EUSAGE);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void
test_init_takes_defaults_and_every_option(void **state)
{
    static const char *const plain[] = {"1", "urls.txt", NULL};
    static const char *const all[] = {
        "crawl",
        "HTTP://Example.ORG:80/a/../b?x#f",
        "allow-host",
        "cdn.example.org,Static.Example.org:8443,[::1]:8080",
        "max-pages",
        "5",
        "max-depth",
        "0",
        "max-body",
        "64k",
        "rate",
        "2.5",
        "concurrency",
        "1024",
        "connect-timeout",
        "0.25",
        "max-time",
        "3",
        "max-redirs",
        "0",
        "format",
        "jsonl",
        "dead-only",
        "1",
        "user-agent",
        "ua/1",
        "header",
        "X-One: 1",
        "header",
        "X-Two:  two words",
        "scope",
        "http://Example.org/docs/",
        "include",
        "^https?://",
        "exclude",
        "\\.pdf$",
        "exclude",
        "/private/",
        "no-follow",
        "/archive/",
        "check-external",
        "no",
        "ignore-anchors",
        "1",
        "ignore-robots",
        "1",
        "max-retries",
        "5",
        "max-retry-wait",
        "2m",
        "slow",
        "0",
        "insecure",
        "1",
        "sitemap",
        "/tmp/sitemap.xml",
        NULL};
    struct lc__state *st;
    struct tf_error err;

    (void)state;
    assert_int_equal(init_with(plain, &st, &err), 0);
    assert_string_equal(st->file, "urls.txt");
    assert_null(st->start);
    assert_int_equal(st->max_pages, 10000);
    assert_int_equal(st->max_depth, 10);
    assert_int_equal(st->max_body, 16 << 20);
    assert_int_equal(st->max_redirs, 10);
    assert_int_equal(st->retries, 2);
    assert_int_equal(st->max_retry_wait_us, 60000000);
    assert_int_equal(st->slow_us, 10000000);
    assert_true(st->anchors);
    assert_true(st->robots);
    assert_true(st->check_external);
    assert_false(st->insecure);
    assert_null(st->cookies);
    assert_null(st->netrc);
    assert_null(st->cacert);
    assert_null(st->sitemap);
    assert_int_equal(st->headers.n, 0);
    assert_null(st->exclude);
    assert_int_equal(st->concurrency, 16);
    assert_int_equal(st->connect_timeout_ms, 10000);
    assert_int_equal(st->max_time_ms, 30000);
    assert_int_equal(st->format, LC__TABLE);
    assert_false(st->dead_only);
    assert_string_equal(st->user_agent,
                        "taskfarm-linkcheck/" TF_VERSION_STRING);
    tf_job_linkcheck.fini(st);

    assert_int_equal(init_with(all, &st, &err), 0);
    assert_null(st->file);
    assert_string_equal(st->start, "http://example.org/b?x");
    assert_int_equal(st->nallow, 4);
    assert_string_equal(st->allow[0].host, "example.org");
    assert_int_equal(st->allow[0].port, 80);
    assert_string_equal(st->allow[1].host, "cdn.example.org");
    assert_int_equal(st->allow[1].port, 0);
    assert_string_equal(st->allow[2].host, "static.example.org");
    assert_int_equal(st->allow[2].port, 8443);
    assert_string_equal(st->allow[3].host, "[::1]");
    assert_int_equal(st->allow[3].port, 8080);
    assert_int_equal(st->max_pages, 5);
    assert_int_equal(st->max_depth, 0);
    assert_int_equal(st->max_body, 65536);
    assert_true(st->rate == 2.5);
    assert_int_equal(st->concurrency, 1024);
    assert_int_equal(st->connect_timeout_ms, 250);
    assert_int_equal(st->max_time_ms, 3000);
    assert_int_equal(st->max_redirs, 0);
    assert_int_equal(st->format, LC__JSONL);
    assert_true(st->dead_only);
    assert_string_equal(st->user_agent, "ua/1");
    assert_int_equal(st->headers.n, 2);
    assert_string_equal(st->headers.v[1], "X-Two:  two words");
    assert_int_equal(st->scope.n, 1);
    assert_string_equal(st->scope.v[0], "http://example.org/docs/");
    assert_non_null(st->include);
    assert_non_null(st->exclude);
    assert_non_null(st->no_follow);
    assert_false(st->check_external);
    assert_false(st->anchors);
    assert_false(st->robots);
    assert_int_equal(st->retries, 5);
    assert_int_equal(st->max_retry_wait_us, 120000000);
    assert_int_equal(st->slow_us, 0);
    assert_true(st->insecure);
    assert_string_equal(st->sitemap, "/tmp/sitemap.xml");
    tf_job_linkcheck.fini(st);
    tf_job_linkcheck.fini(NULL);
}

static void
test_init_rejects_bad_options_naming_them(void **state)
{
    static const char *const neither[] = {"max-pages", "3", NULL};
    static const char *const both[] = {"1", "f", "crawl", "http://h/", NULL};
    static const char *const extra[] = {"1", "f", "2", "g", NULL};
    static const char *const crawl_ftp[] = {"crawl", "ftp://h/", NULL};
    static const char *const crawl_bad[] = {"crawl", "http://a b/", NULL};
    static const char *const crawl_rel[] = {"crawl", "index.html", NULL};
    static const char *const pages[] = {"1", "f", "max-pages", "-1", NULL};
    static const char *const depth[] = {"1", "f", "max-depth", "x", NULL};
    static const char *const body[] = {"1", "f", "max-body", "1T", NULL};
    static const char *const body2[] = {"1", "f", "max-body", "5G", NULL};
    static const char *const rate[] = {"1", "f", "rate", "-2", NULL};
    static const char *const rate2[] = {"1", "f", "rate", "nan", NULL};
    static const char *const conc0[] = {"1", "f", "concurrency", "0", NULL};
    static const char *const conc[] = {"1", "f", "concurrency", "1025", NULL};
    static const char *const ct[] = {"1", "f", "connect-timeout", "0", NULL};
    static const char *const mt[] = {"1", "f", "max-time", "1y", NULL};
    static const char *const mr[] = {"1", "f", "max-redirs", "1e4", NULL};
    static const char *const fmt[] = {"1", "f", "format", "xml", NULL};
    static const char *const re[] = {"1", "f", "exclude", "a(", NULL};
    static const char *const hdr[] = {"1", "f", "header", "NoColon", NULL};
    static const char *const hdr2[] = {"1", "f", "header", "Bad Name: v", NULL};
    static const char *const scope[] = {"crawl", "http://h/", "scope",
                                        "ftp://h/", NULL};
    static const char *const nocrawl[] = {"1", "f", "scope", "http://h/", NULL};
    static const char *const cookies[] = {"1", "f", "cookies",
                                          "/nonexistent/cookies.txt", NULL};
    static const char *const ext[] = {"crawl", "http://h/", "check-external",
                                      "maybe", NULL};
    static const char *const host1[] = {"crawl", "http://h/", "allow-host",
                                        "a,,b", NULL};
    static const char *const host2[] = {"crawl", "http://h/", "allow-host",
                                        "a:0", NULL};
    static const char *const host3[] = {"crawl", "http://h/", "allow-host",
                                        "a/b", NULL};

    (void)state;
    assert_usage(neither, "give a FILE of URLs");
    assert_usage(both, "not both");
    assert_usage(extra, "unexpected argument 'g'");
    assert_usage(crawl_ftp, "--crawl: 'ftp://h/'");
    assert_usage(crawl_bad, "--crawl: 'http://a b/' is not an http");
    assert_usage(crawl_rel, "--crawl: 'index.html'");
    assert_usage(pages, "--max-pages: '-1'");
    assert_usage(depth, "--max-depth: 'x'");
    assert_usage(body, "--max-body: 1T is out of range (0 to 4294967296)");
    assert_usage(body2, "--max-body: 5G is out of range");
    assert_usage(rate, "--rate: '-2'");
    assert_usage(rate2, "--rate: 'nan'");
    assert_usage(conc0, "--concurrency: 0 is out of range (1 to 1024)");
    assert_usage(conc, "--concurrency: 1025 is out of range");
    assert_usage(ct, "--connect-timeout: 0 is out of range (1ms to 1d)");
    assert_usage(mt, "--max-time: '1y' is not a duration");
    assert_usage(mr, "--max-redirs: 1e4 is out of range (0 to 1000)");
    assert_usage(fmt, "--format: 'xml' is not table, jsonl or csv");
    assert_usage(re, "--exclude: 'a(' is not a regular expression");
    assert_usage(hdr, "--header: 'NoColon' is not 'Name: value'");
    assert_usage(hdr2, "--header: 'Bad Name: v'");
    assert_usage(scope, "--scope: 'ftp://h/' is not an http or https URL");
    assert_usage(nocrawl, "--scope needs --crawl");
    assert_usage(cookies,
                 "--cookies: /nonexistent/cookies.txt: No such file or "
                 "directory");
    assert_usage(ext, "--check-external: 'maybe'");
    assert_usage(host1, "--allow-host: ''");
    assert_usage(host2, "--allow-host: 'a:0'");
    assert_usage(host3, "--allow-host: 'a/b'");
}

static void
test_allowed_hosts_match_host_and_port(void **state)
{
    static const char *const kv[] = {"crawl", "http://site.org:8080/",
                                     "allow-host", "any.org,one.org:9000",
                                     NULL};
    struct lc__state *st;
    struct tf_error err;

    (void)state;
    assert_int_equal(init_with(kv, &st, &err), 0);
    assert_true(lc__host_allowed(st, "http://site.org:8080/a"));
    assert_true(lc__host_allowed(st, "http://user:pw@site.org:8080/a"));
    assert_false(lc__host_allowed(st, "http://site.org/a"));
    assert_false(lc__host_allowed(st, "https://site.org:8443/"));
    assert_false(lc__host_allowed(st, "http://site.org.evil/"));
    assert_true(lc__host_allowed(st, "http://any.org/"));
    assert_true(lc__host_allowed(st, "https://any.org:1234/x"));
    assert_true(lc__host_allowed(st, "http://one.org:9000/"));
    assert_false(lc__host_allowed(st, "http://one.org/"));
    assert_false(lc__host_allowed(st, "http://other.org:8080/"));
    tf_job_linkcheck.fini(st);
}

/* ------------------------------------------------------ normalization */

/* Asserts that LINK found on BASE normalizes to WANT. */
static void
assert_norm(const char *base, const char *link, const char *want)
{
    char why[LC__WHY];
    char *out = NULL;
    int rc;

    rc = lc__normalize_url(base, link, strlen(link), true, &out, why,
                           sizeof(why));
    if (rc != LC__URL_OK)
        fail_msg("'%s': rc %d (%s)", link, rc, why);
    if (strcmp(out, want) != 0)
        fail_msg("'%s' gave '%s', not '%s'", link, out, want);
    free(out);
}

/* Asserts that LINK is dead, keyed by KEY, with an error holding NEEDLE. */
static void
assert_dead(const char *base, const char *link, bool from_page, const char *key,
            const char *needle)
{
    char why[LC__WHY];
    char *out = NULL;

    assert_int_equal(lc__normalize_url(base, link, strlen(link), from_page,
                                       &out, why, sizeof(why)),
                     LC__URL_DEAD);
    assert_string_equal(out, key);
    if (strstr(why, needle) == NULL)
        fail_msg("'%s': error '%s' lacks '%s'", link, why, needle);
    free(out);
}

/* Asserts that LINK on a page is reported, not checked, keyed by its text
 * and with WHY. */
static void
assert_skipped(const char *base, const char *link, const char *key,
               const char *want)
{
    char why[LC__WHY];
    char *out = NULL;

    assert_int_equal(lc__normalize_url(base, link, strlen(link), true, &out,
                                       why, sizeof(why)),
                     LC__URL_SKIP);
    assert_string_equal(out, key);
    assert_string_equal(why, want);
    free(out);
}

static void
assert_ignored(const char *link)
{
    char why[LC__WHY];
    char *out = (char *)"x";

    assert_int_equal(lc__normalize_url(PAGE, link, strlen(link), true, &out,
                                       why, sizeof(why)),
                     LC__URL_IGNORE);
    assert_null(out);
}

static void
test_equivalent_links_normalize_to_one_url(void **state)
{
    static const char *const forms[] = {
        "b.html",
        "./b.html",
        "/b.html#x",
        "/x/../b.html",
        "HTTP://127.0.0.1:8080/b.html",
        "//127.0.0.1:8080/b.html",
        "http://127.0.0.1:8080/%62.html",
        "  b.html\t",
        "b.\nhtml",
        "/x/./y/../../b.html",
        "/%2e%2E/b.html",
        "x/%2E%2e/b.html",
        NULL,
    };
    size_t i;

    (void)state;
    for (i = 0; forms[i] != NULL; i++)
        assert_norm(PAGE, forms[i], "http://127.0.0.1:8080/b.html");
}

static void
test_normalization_ports_case_paths_and_escapes(void **state)
{
    (void)state;
    assert_norm(NULL, "http://Example.COM:80", "http://example.com/");
    assert_norm(NULL, "HTTPS://EXAMPLE.com:443/A/B", "https://example.com/A/B");
    assert_norm(NULL, "http://example.com:443/", "http://example.com:443/");
    assert_norm(NULL, "https://example.com:80/", "https://example.com:80/");
    assert_norm(NULL, "http://example.com:8080", "http://example.com:8080/");
    assert_norm(NULL, "http://[::1]:80/", "http://[::1]/");
    assert_norm(NULL, "http://[::ABCD]:8080/x", "http://[::abcd]:8080/x");
    /* Unreserved escapes are decoded, the others upper-cased; the query is
     * kept and normalized the same way. */
    assert_norm(NULL, "http://h/%7e%41%2d%5F%2f%3a?q=%2f%61#frag",
                "http://h/~A-_%2F%3A?q=%2Fa");
    assert_norm(NULL, "http://h/a%zz%2", "http://h/a%zz%2");
    /* What browsers encode is encoded. */
    assert_norm(PAGE, "a b.html", "http://127.0.0.1:8080/a%20b.html");
    assert_norm(PAGE, "\xc3\xa9.html", "http://127.0.0.1:8080/%C3%A9.html");
    assert_norm(PAGE, "?q=1", "http://127.0.0.1:8080/index.html?q=1");
    assert_norm(PAGE, "../../../x", "http://127.0.0.1:8080/x");
    assert_norm(PAGE, "https://other.org", "https://other.org/");
    /* Normalizing twice changes nothing. */
    assert_norm(NULL, "http://h/~A-_%2F%3A?q=%2Fa",
                "http://h/~A-_%2F%3A?q=%2Fa");
}

static void
test_invalid_urls_are_dead_with_curls_reason(void **state)
{
    (void)state;
    assert_dead(PAGE, "http://a b/", true, "http://a b/", "invalid URL: ");
    assert_dead(PAGE, "http://", true, "http://", "invalid URL: ");
    assert_dead(PAGE, " http://exa mple.com/x ", true, "http://exa mple.com/x",
                "invalid URL: ");
    assert_dead(NULL, "example.com/page", false, "example.com/page",
                "invalid URL: ");
    assert_dead(NULL, "", false, "", "invalid URL: ");
}

static void
test_schemes_other_than_http_are_ignored_skipped_or_dead(void **state)
{
    (void)state;
    assert_ignored("mailto:someone@example.org");
    assert_ignored("MailTo:someone@example.org");
    assert_ignored("javascript:void(0)");
    assert_ignored("tel:+1234");
    assert_ignored("data:text/plain,hi");
    assert_ignored("about:blank");
    assert_ignored("");
    assert_ignored("   ");
    assert_ignored("#top");
    assert_ignored("#");
    /* On a page, other schemes are reported, not checked. */
    assert_skipped(PAGE, "ftp://127.0.0.1/f", "ftp://127.0.0.1/f",
                   "scheme ftp: not checked");
    assert_skipped(PAGE, " FILE:///etc/passwd", "FILE:///etc/passwd",
                   "scheme file: not checked");
    assert_skipped(PAGE, "gopher://h/", "gopher://h/",
                   "scheme gopher: not checked");
    /* So is a relative link on a page whose base is of another scheme. */
    assert_skipped("file:///srv/doc/", "a\\b.html", "a\\b.html",
                   "scheme file: not checked");
    /* In a file of URLs nothing is ignored or skipped: a mailto: or an
     * ftp: is no URL to check. */
    assert_dead(NULL, "mailto:x@y", false, "mailto:x@y",
                "protocol not allowed: mailto");
    assert_dead(NULL, "ftp://h/f", false, "ftp://h/f",
                "protocol not allowed: ftp");
}

/* ---------------------------------------------------------------- HTML */

/* The links of HTML, joined by spaces, in *BASE the <base href>. */
static char *
links_of(const char *html, char **base)
{
    struct lc__strs links = {NULL, 0, 0};
    struct tf_buf out;
    char *s;
    size_t i;

    tf_buf_init(&out, 0);
    assert_int_equal(lc__html_links(html, strlen(html), &links, base), 0);
    for (i = 0; i < links.n; i++)
        assert_int_equal(
            tf_buf_printf(&out, "%s%s", i > 0 ? " " : "", links.v[i]), 0);
    s = strdup(out.data != NULL ? (char *)out.data : "");
    tf_buf_cleanup(&out);
    lc__strs_cleanup(&links);
    return s;
}

static void
assert_links(const char *html, const char *want)
{
    char *base = NULL;
    char *got = links_of(html, &base);

    if (strcmp(got, want) != 0)
        fail_msg("links of '%s': '%s', not '%s'", html, got, want);
    free(got);
    free(base);
}

static void
test_links_come_from_the_right_tags_and_attributes(void **state)
{
    (void)state;
    assert_links(
        "<a href=\"a1\">x</a><area href='a2'><link rel=x href=a3>"
        "<img src=i1><script src=\"s1\"></script><iframe src=f1></iframe>"
        "<frame src=f2><source src=s2><embed src=e1><audio src=au>"
        "<video src=v1 poster=v2>",
        "a1 a2 a3 i1 s1 f1 f2 s2 e1 au v1 v2");
    /* The wrong attribute or tag gives nothing. */
    assert_links("<a src=no><img href=no><div href=no><abbr href=no>"
                 "<ab href=no><p src=no><input src=no><input type=text src=no>"
                 "<meta content=no><q longdesc=no><body data=no>",
                 "");
    /* Case does not matter, and the first of two attributes counts. */
    assert_links("<A HREF=\"up\"><IMG SRC='img'><a Href=one href=two>",
                 "up img one");
    /* Quotes, unquoted values, spaces around '=' and other attributes. */
    assert_links("<a class=\"x\" href = \"q 1\" id=y><a href='q\"2'>"
                 "<a href=q3>x</a><a\nhref\n=\nq4\n>x</a>"
                 "<a data-x='href=no' href=q5/>",
                 "q 1 q\"2 q3 q4 q5/");
    /* An attribute without a value and a self-closing slash. */
    assert_links("<a download href=d1/><img/src=d2>", "d1/ d2");
}

static void
test_entities_are_decoded_in_values(void **state)
{
    (void)state;
    assert_links("<a href=\"?a=1&amp;b=2&lt;&gt;&quot;&apos;\">",
                 "?a=1&b=2<>\"'");
    assert_links("<a href='&#47;x&#x2F;y&#X2f;z'>", "/x/y/z");
    assert_links("<a href='&#233;&#xe9;'>", "\xc3\xa9\xc3\xa9");
    /* Not references: left as they are; but the old names need no ';'
     * (unless a letter, a digit or '=' follows), nor do numbers. */
    assert_links("<a href='a&b&#;&#x;&bogus;&amp&nbsp;&#12'>",
                 "a&b&#;&#x;&bogus;&\xc2\xa0\x0c");
    /* No character: U+FFFD. */
    assert_links("<a href='&#0;&#xD800;&#99999999999;'>",
                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void
test_comments_script_and_style_hide_tags(void **state)
{
    (void)state;
    assert_links("<!-- <a href=c1> --><a href=ok1>"
                 "<!--> <a href=ok2><!---> <a href=ok3>"
                 "<script>document.write('<a href=s1>')</script><a href=ok4>"
                 "<SCRIPT type=x><a href=s2></scripty></SCRIPT ><a href=ok5>"
                 "<style>a{}/*<a href=st1>*/</style\n><a href=ok6>"
                 "<!DOCTYPE html><?xml x?><a href=ok7></a x='<a href=e>'>",
                 "ok1 ok2 ok3 ok4 ok5 ok6 ok7");
    /* An unterminated comment or script hides the rest of the page. */
    assert_links("<a href=a><!-- <a href=b>", "a");
    assert_links("<a href=a><script> <a href=b>", "a");
    /* '<' in text is text. */
    assert_links("1 < 2 <3 <= <a href=x>", "x");
}

static void
test_base_href_is_the_first_and_resolves_links(void **state)
{
    struct lc__strs subs = {NULL, 0, 0};
    const char *html = "<a href=a.html><base href=\"/sub/\"><base href=/no/>"
                       "<a href=b.html>";
    char *base = NULL;
    char *got;

    (void)state;
    got = links_of(html, &base);
    assert_string_equal(got, "a.html b.html");
    assert_string_equal(base, "/sub/");
    free(got);
    free(base);
    /* The base applies to the whole page, and is itself resolved against
     * the URL the page was read from. */
    assert_int_equal(page_links(PAGE, "http://127.0.0.1:8080/dir/final.html",
                                html, strlen(html), &subs),
                     0);
    assert_int_equal(subs.n, 3);
    assert_string_equal(subs.v[0],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/sub/a.html\t");
    assert_string_equal(subs.v[1],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/sub/b.html\t");
    assert_string_equal(subs.v[2], "A\t" PAGE);
    lc__strs_cleanup(&subs);
    /* Without a base, links resolve against the final URL. */
    html = "<a href=c.html>";
    assert_int_equal(page_links(PAGE, "http://127.0.0.1:8080/dir/final.html",
                                html, strlen(html), &subs),
                     0);
    assert_int_equal(subs.n, 2);
    assert_string_equal(subs.v[0],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/dir/c.html\t");
    assert_string_equal(subs.v[1], "A\t" PAGE);
    lc__strs_cleanup(&subs);
}

static void
test_page_links_are_distinct_and_dead_ones_carry_their_error(void **state)
{
    struct lc__strs subs = {NULL, 0, 0};
    const char *html =
        "<a href=b.html><a href=./b.html><a href=/b.html#x>"
        "<a href=\"HTTP://127.0.0.1:8080/%62.html\"><a href=mailto:x@y>"
        "<a href='#top'><a href=''><a href=ftp://h/f><a href=ftp://h/f>"
        "<a href='http://a b/'><img src=b.html><a href=#sec><a href=#sec>"
        "<a href=b.html#x><a href=#><a href=#TOP>";

    (void)state;
    assert_int_equal(page_links(PAGE, NULL, html, strlen(html), &subs), 0);
    assert_int_equal(subs.n, 6);
    assert_string_equal(subs.v[0],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/b.html\t");
    assert_string_equal(subs.v[1],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/b.html\tx");
    assert_string_equal(subs.v[2],
                        "S\t" PAGE "\tftp://h/f\tscheme ftp: not checked");
    assert_non_null(
        strstr(subs.v[3], "D\t" PAGE "\thttp://a b/\tinvalid URL: "));
    assert_string_equal(subs.v[4], "L\t" PAGE "\t" PAGE "\tsec");
    assert_string_equal(subs.v[5], "A\t" PAGE);
    lc__strs_cleanup(&subs);
}

static void
test_malformed_html_never_crashes(void **state)
{
    static const char doc[] =
        "<!DOCTYPE html><html><head><base href='/b/'><style>x{}</style>"
        "<script>if (a < b) {}</script></head><body><!-- c -->"
        "<a href=\"x&amp;y\" class='c'>t</a><img src=i.png><a href=u>"
        "<a href='http://h:1/&#x41;'></a><area href=ar></body></html>";
    static const char *const bad[] = {"<",
                                      "<a",
                                      "<a ",
                                      "<a href",
                                      "<a href=",
                                      "<a href=\"",
                                      "<a href='x",
                                      "<!",
                                      "<!-",
                                      "<!--",
                                      "<!---",
                                      "</",
                                      "</a",
                                      "<?",
                                      "<script",
                                      "<script>",
                                      "<script></scr",
                                      "<a href=&",
                                      "<a href=&#",
                                      "<a href=&#x",
                                      "<a href=&#1234567890123456789",
                                      "<a =x href=y>",
                                      "<a ==== href=y>",
                                      "<<<<a<a href=1<a",
                                      "<a href=\"\0x\">",
                                      NULL};
    struct lc__strs subs = {NULL, 0, 0};
    unsigned char noise[4096];
    unsigned seed = 12345;
    size_t i;

    (void)state;
    /* Every prefix of a page, as a cut body (--max-body) leaves it. */
    for (i = 0; i <= sizeof(doc) - 1; i++) {
        assert_int_equal(page_links(PAGE, NULL, doc, i, &subs), 0);
        lc__strs_cleanup(&subs);
    }
    for (i = 0; bad[i] != NULL; i++) {
        assert_int_equal(
            page_links(PAGE, NULL, bad[i], strlen(bad[i]) + 1, &subs), 0);
        lc__strs_cleanup(&subs);
    }
    /* Bytes of any value, '<' and quotes often. */
    for (i = 0; i < sizeof(noise); i++) {
        static const char often[] = "<>\"'=&#;/ ahrefsc!-";

        seed = seed * 1103515245u + 12345u;
        noise[i] =
            (seed >> 16) % 3 == 0
                ? (unsigned char)(seed >> 8)
                : (unsigned char)often[(seed >> 8) % (sizeof(often) - 1)];
    }
    assert_int_equal(
        page_links(PAGE, NULL, (const char *)noise, sizeof(noise), &subs), 0);
    lc__strs_cleanup(&subs);
    /* The whole page: the cut links and its own are what a browser sees. */
    assert_int_equal(page_links(PAGE, NULL, doc, sizeof(doc) - 1, &subs), 0);
    assert_int_equal(subs.n, 6);
    assert_string_equal(subs.v[0],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/b/x&y\t");
    assert_string_equal(subs.v[1],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/b/i.png\t");
    assert_string_equal(subs.v[2], "L\t" PAGE "\thttp://127.0.0.1:8080/b/u\t");
    assert_string_equal(subs.v[3], "L\t" PAGE "\thttp://h:1/A\t");
    assert_string_equal(subs.v[4], "L\t" PAGE "\thttp://127.0.0.1:8080/b/ar\t");
    assert_string_equal(subs.v[5], "A\t" PAGE);
    lc__strs_cleanup(&subs);
}

static void
test_a_page_with_5000_links_gives_each_once(void **state)
{
    struct lc__strs subs = {NULL, 0, 0};
    struct tf_buf html;
    size_t i;

    (void)state;
    tf_buf_init(&html, 0);
    for (i = 0; i < 5000; i++)
        assert_int_equal(tf_buf_printf(&html,
                                       "<a href=\"p%zu.html\">%zu</a>"
                                       "<a href='./p%zu.html#again'>"
                                       "<a href='/p%zu.html'>\n",
                                       i, i, i, i),
                         0);
    assert_int_equal(page_links(PAGE, NULL, (char *)html.data, html.len, &subs),
                     0);
    /* Each page, then each page with its fragment, then the anchors. */
    assert_int_equal(subs.n, 10001);
    assert_string_equal(subs.v[0],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/p0.html\t");
    assert_string_equal(subs.v[1],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/p0.html\tagain");
    assert_string_equal(subs.v[9998],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/p4999.html\t");
    assert_string_equal(subs.v[9999],
                        "L\t" PAGE "\thttp://127.0.0.1:8080/p4999.html\tagain");
    assert_string_equal(subs.v[10000], "A\t" PAGE);
    lc__strs_cleanup(&subs);
    tf_buf_cleanup(&html);
}

static void
test_content_types_that_are_parsed(void **state)
{
    (void)state;
    assert_true(lc__is_html("text/html"));
    assert_true(lc__is_html("Text/HTML; charset=utf-8"));
    assert_true(lc__is_html(" application/xhtml+xml"));
    assert_false(lc__is_html("text/htmlx"));
    assert_false(lc__is_html("text/plain"));
    assert_false(lc__is_html("image/png"));
}

/* ------------------------------------------ what a page submits, by kind */

#define H "http://127.0.0.1:8080/"
/* The messages of a link to URL with fragment FRAG, and of the anchors
 * IDS ("" or "\tid1\tid2..."), each on a line as msgs_of() joins them. */
#define LINK(url, frag) "L\t" PAGE "\t" url "\t" frag "\n"
#define SKIP(text, why) "S\t" PAGE "\t" text "\t" why "\n"
#define ANCHORS(ids) "A\t" PAGE ids "\n"

/* The messages lc__page_links() submits for BODY (N bytes) read from PAGE
 * with Content-Type CTYPE (or NULL), cut by --max-body or not, each
 * followed by a newline. */
static char *
msgs_of(const char *ctype, const char *body, size_t n, bool cut)
{
    struct lc__page pg = {PAGE, NULL, ctype, body, n, cut};
    struct lc__strs subs = {NULL, 0, 0};
    struct tf_buf out;
    char *s;
    size_t i;

    tf_buf_init(&out, 0);
    assert_int_equal(lc__page_links(&pg, &subs), 0);
    for (i = 0; i < subs.n; i++)
        assert_int_equal(tf_buf_printf(&out, "%s\n", subs.v[i]), 0);
    s = strdup(out.data != NULL ? (char *)out.data : "");
    assert_non_null(s);
    tf_buf_cleanup(&out);
    lc__strs_cleanup(&subs);
    return s;
}

/* Asserts that BODY, read as msgs_of() reads it, submits WANT. */
static void
assert_page(const char *ctype, const char *body, bool cut, const char *want)
{
    char *got = msgs_of(ctype, body, strlen(body), cut);

    if (strcmp(got, want) != 0)
        fail_msg("messages of '%s':\n%s-- not --\n%s", body, got, want);
    free(got);
}

/* Asserts that an HTML page that is one link, HREF, submits the link to
 * URL (no fragment) with Content-Type CTYPE. */
static void
assert_href(const char *ctype, const char *href, const char *url)
{
    struct tf_buf body;
    struct tf_buf want;

    tf_buf_init(&body, 0);
    tf_buf_init(&want, 0);
    assert_int_equal(tf_buf_printf(&body, "<a href=\"%s\">x</a>", href), 0);
    assert_int_equal(
        tf_buf_printf(&want, "L\t" PAGE "\t%s\t\n" ANCHORS(""), url), 0);
    assert_page(ctype, (char *)body.data, false, (char *)want.data);
    tf_buf_cleanup(&body);
    tf_buf_cleanup(&want);
}

static void
test_a_tag_torn_at_the_cut_gives_no_link(void **state)
{
    static const char page[] =
        "<p id=top>x</p><a href=\"a.html\">a</a>"
        "<img srcset=\"s1.png 1x, s2.png 2x\" src='i.png'>"
        "<style>p{background:url(u.png)} @import \"imp.css\";</style>"
        "<a href=b.html id=last>b</a>";
    char *full;
    size_t i;

    (void)state;
    /* The whole page, cut or not, gives every link. */
    full = msgs_of(NULL, page, sizeof(page) - 1, false);
    assert_string_equal(
        full, LINK(H "a.html", "") LINK(H "s1.png", "") LINK(H "s2.png", "")
                  LINK(H "i.png", "") LINK(H "u.png", "") LINK(H "imp.css", "")
                      LINK(H "b.html", "") ANCHORS("\ttop\tlast"));
    assert_page(NULL, page, true, full);
    /* Each prefix of it, cut: the tags and CSS whose end it holds, and no
     * message that the whole page does not send. */
    for (i = 0; i < sizeof(page) - 1; i++) {
        char *got = msgs_of(NULL, page, i, true);
        char *line = got;

        while (*line != '\0') {
            char *nl = strchr(line, '\n');

            *nl = '\0';
            if (line[0] != 'A' && strstr(full, line) == NULL)
                fail_msg("cut at %zu: '%s' is torn", i, line);
            line = nl + 1;
        }
        free(got);
    }
    free(full);
    /* An attribute value, a tag, a url() or a string that the cut tears
     * is no link. */
    assert_page(NULL, "<a href=a.html><a href=\"b.ht", true,
                LINK(H "a.html", "") ANCHORS(""));
    assert_page(NULL, "<a href=a.html><a href=b.html", true,
                LINK(H "a.html", "") ANCHORS(""));
    assert_page(NULL, "<style>p{background:url(u.png)} a{b:url(v.pn", true,
                LINK(H "u.png", "") ANCHORS(""));
    assert_page(NULL, "<style>a{b:url('v.png'", true, ANCHORS(""));
    assert_page(NULL, "<style>@import 'v.cs", true, ANCHORS(""));
    assert_page("text/css", "a{b:url(u.png)} c{d:url(v.pn", true,
                LINK(H "u.png", ""));
    /* Uncut, CSS closes what the end of the sheet leaves open, as browsers
     * do; a tag without its '>' is dropped all the same. */
    assert_page(NULL, "<style>p{background:url(u.png)} a{b:url(v.pn", false,
                LINK(H "u.png", "") LINK(H "v.pn", "") ANCHORS(""));
    assert_page("text/css", "@import 'v.cs", false, LINK(H "v.cs", ""));
    assert_page(NULL, "<a href=a.html><a href=b.html", false,
                LINK(H "a.html", "") ANCHORS(""));
    /* A UTF-8 sequence torn at the cut keeps the page UTF-8. */
    assert_page(NULL, "<a href=\"caf\xc3\xa9.html\">\xc3", true,
                LINK(H "caf%C3%A9.html", "") ANCHORS(""));
    assert_page(NULL, "<a href=\"caf\xc3\xa9.html\">\xc3", false,
                LINK(H "caf%C3%83%C2%A9.html", "") ANCHORS(""));
}

static void
test_charset_from_header_bom_meta_or_the_bytes(void **state)
{
    static const char utf16[] = "\xff\xfe<\0a\0 \0h\0r\0e\0f\0=\0\xe9\0>\0";
    char *got;

    (void)state;
    /* ISO-8859-1 (read as windows-1252, as browsers do) from the header,
     * a <meta charset>, a <meta http-equiv>, or bytes that are not UTF-8. */
    assert_href("text/html; charset=ISO-8859-1", "caf\xe9.html",
                H "caf%C3%A9.html");
    assert_href("text/html;charset=\"latin1\"", "\x80.html",
                H "%E2%82%AC.html");
    assert_page(NULL, "<meta charset='iso-8859-1'><a href=caf\xe9.html>", false,
                LINK(H "caf%C3%A9.html", "") ANCHORS(""));
    assert_page(NULL,
                "<meta http-equiv=Content-Type content=\"text/html; "
                "charset=windows-1251\"><a href=\xe0.html>",
                false, LINK(H "%D0%B0.html", "") ANCHORS(""));
    assert_href(NULL, "caf\xe9.html", H "caf%C3%A9.html");
    /* UTF-8 stays as it is, declared or not; the header wins over a
     * <meta>, which counts in the first 1024 bytes alone. */
    assert_href(NULL, "caf\xc3\xa9.html", H "caf%C3%A9.html");
    assert_page("text/html; charset=utf-8",
                "<meta charset=windows-1251><a href=\xd0\xb0.html>", false,
                LINK(H "%D0%B0.html", "") ANCHORS(""));
    {
        char page[1200];

        memset(page, ' ', sizeof(page));
        memcpy(page + 1030, "<meta charset=windows-1251><a href=\xe0>", 38);
        page[1030 + 38] = '\0';
        assert_page(NULL, page, false, LINK(H "%C3%A0", "") ANCHORS(""));
    }
    /* A byte order mark wins over everything, as in browsers. */
    assert_page("text/html; charset=iso-8859-1",
                "\xef\xbb\xbf<a href=caf\xc3\xa9.html>", false,
                LINK(H "caf%C3%A9.html", "") ANCHORS(""));
    got = msgs_of(NULL, utf16, sizeof(utf16) - 1, false);
    assert_string_equal(got, LINK(H "%C3%A9", "") ANCHORS(""));
    free(got);
    /* A <meta> that says UTF-16 cannot be right: the page is UTF-8. */
    assert_page(NULL, "<meta charset=utf-16><a href=\xc3\xa9>", false,
                LINK(H "%C3%A9", "") ANCHORS(""));
    /* An unknown label counts as none; what cannot be converted is
     * U+FFFD. */
    assert_href("text/html; charset=klingon", "caf\xe9.html",
                H "caf%C3%A9.html");
    assert_href("text/html; charset=utf-8", "caf\xe9.html",
                H "caf%EF%BF%BD.html");
    assert_href("text/html; charset=shift_jis", "\x82\xa0\x81.html",
                H "%E3%81%82%EF%BF%BD.html");
    /* A style sheet's @charset. */
    assert_page("text/css", "@charset \"iso-8859-1\"; a{b:url(\xe9.png)}",
                false, LINK(H "%C3%A9.png", ""));
}

static void
test_backslashes_and_same_scheme_links_as_browsers_read_them(void **state)
{
    (void)state;
    assert_norm(PAGE, "sub\\page.html", H "sub/page.html");
    assert_norm(PAGE, "\\sub\\page.html", H "sub/page.html");
    assert_norm(PAGE, "\\\\other.org\\x", "http://other.org/x");
    /* Not in the query or fragment. */
    assert_norm(PAGE, "a\\b?c\\d#e\\f", H "a/b?c\\d");
    assert_norm(NULL, "http:\\\\example.com\\a\\b", "http://example.com/a/b");
    assert_norm(NULL, "HTTPS:\\\\example.com", "https://example.com/");
    /* The scheme of the base, without "//": a relative link. */
    assert_norm(PAGE, "http:page.html", H "page.html");
    assert_norm(PAGE, "HTTP:page.html", H "page.html");
    assert_norm(PAGE, "http:/x/y", H "x/y");
    assert_norm(PAGE, "http:?q=1", PAGE "?q=1");
    assert_norm(PAGE, "http:", PAGE);
    assert_norm(PAGE, "http:#frag", PAGE);
    assert_norm(PAGE, "http://other.org/x", "http://other.org/x");
    /* Another scheme, or no base: the slashes are optional. */
    assert_norm(PAGE, "https:other.org/x", "https://other.org/x");
    assert_norm(NULL, "http:/example.com/", "http://example.com/");
    assert_norm(NULL, "http:///example.com", "http://example.com/");
    /* A dead link keeps its text as written. */
    assert_dead(NULL, "http:", false, "http:", "invalid URL: ");
    assert_dead(PAGE, "https:\\\\", true, "https:\\\\", "invalid URL: ");
    /* The same on a page, end to end. */
    assert_href(NULL, "sub\\p.html", H "sub/p.html");
    assert_href(NULL, "http:p.html", H "p.html");
}

static void
test_every_named_reference_and_the_legacy_ones_without_semicolon(void **state)
{
    (void)state;
    assert_links("<a href='caf&eacute;&nbsp;&amp;&copy;&COPY;'>",
                 "caf\xc3\xa9\xc2\xa0&\xc2\xa9\xc2\xa9");
    assert_links(
        "<a href='&notin;&Zopf;&nLt;&CounterClockwiseContourIntegral;'>",
        "\xe2\x88\x89\xe2\x84\xa4\xe2\x89\xaa\xe2\x83\x92\xe2\x88\xb3");
    /* HTML 4's names need no ';'... */
    assert_links("<a href='&copy 2024 &eacute&lt&ampx'>",
                 "\xc2\xa9 2024 \xc3\xa9<&ampx");
    /* ...but not before a letter, a digit or '=' in a value, which keeps
     * queries as written; the newer names always need it. */
    assert_links("<a href='?a=1&copy=2&not3&notin&Zopf'>",
                 "?a=1&copy=2&not3&notin&Zopf");
    assert_links("<a href='&not;in&not.'>", "\xc2\xacin\xc2\xac.");
    /* Numbers: ';' optional, windows-1252 for 0x80 to 0x9F, U+FFFD for 0
     * and what is no character. */
    assert_links("<a href='&#x80;&#150&#x81;&#0;'>",
                 "\xe2\x82\xac\xe2\x80\x93\xc2\x81\xef\xbf\xbd");
    /* A NUL in a value is U+FFFD. */
    {
        struct lc__strs links = {NULL, 0, 0};
        char *base = NULL;

        assert_int_equal(lc__html_links("<a href='a\0b'>", 15, &links, &base),
                         0);
        assert_int_equal(links.n, 1);
        assert_string_equal(links.v[0], "a\xef\xbf\xbd"
                                        "b");
        lc__strs_cleanup(&links);
    }
    assert_href(NULL, "caf&eacute;.html", H "caf%C3%A9.html");
}

static void
test_every_kind_of_link_is_found(void **state)
{
    (void)state;
    assert_links(
        "<a href=a><area href=area><link rel=stylesheet href=link>"
        "<img src=img longdesc=ld1 srcset='set1 1x'><script src=script>"
        "</script><iframe src=iframe longdesc=ld2></iframe>"
        "<frame src=frame longdesc=ld3><embed src=embed><audio src=audio>"
        "<video src=video poster=poster><source src=source srcset=set2>"
        "<track src=track><input type=IMAGE src=input><object data=object>"
        "<blockquote cite=c1><q cite=c2><del cite=c3><ins cite=c4>"
        "<body background=bg><form action=form><image href=svg1>"
        "<use xlink:href=svg2><a xlink:href=svg3><use href=svg4 "
        "xlink:href=no><meta http-equiv=Refresh content='0; url=refresh'>",
        "a area link img ld1 set1 script iframe ld2 frame ld3 embed audio "
        "video poster source set2 track input object c1 c2 c3 c4 bg form "
        "svg1 svg2 svg3 svg4 refresh");
    /* An origin to connect to early is no document. */
    assert_links("<link rel=preconnect href=https://fonts.example>"
                 "<link rel='dns-prefetch' href=//cdn.example>",
                 "");
    /* Raw text and RCDATA hold no tags. */
    assert_links("<title><a href=t></title><textarea><a href=x></textarea>"
                 "<iframe src=f><a href=fallback></iframe><xmp><a href=y>"
                 "</xmp><a href=ok><plaintext><a href=z>",
                 "f ok");
}

static void
test_srcset_candidates_with_descriptors_and_commas(void **state)
{
    (void)state;
    assert_links("<img srcset='a.png, b.png 2x,c.png 100w , d,e.png 1.5x'>",
                 "a.png b.png c.png d,e.png");
    /* Trailing commas end a URL; parentheses keep descriptors together. */
    assert_links("<img srcset='a.png,, b.png,c.png (x, y) 2x, d.png'>",
                 "a.png b.png,c.png d.png");
    assert_links("<img srcset=' ,, '><source srcset='\n x.webp\t1x'>",
                 "x.webp");
    assert_page(NULL,
                "<picture><source srcset=\"a.webp 1x, b.webp 2x\">"
                "<img src=a.png srcset=\"a.png 1x, b.png 2x\"></picture>",
                false,
                LINK(H "a.webp", "") LINK(H "b.webp", "") LINK(H "a.png", "")
                    LINK(H "b.png", "") ANCHORS(""));
}

static void
test_meta_refresh_urls(void **state)
{
    (void)state;
    assert_links("<meta http-equiv=refresh content='5; url=a.html'>"
                 "<meta http-equiv=REFRESH content='0;URL = \"b.html\"x'>"
                 "<meta http-equiv=refresh content='1, c.html'>"
                 "<meta http-equiv=refresh content=\"2 'd.html'\">"
                 "<meta http-equiv=refresh content='3;urlx.html'>"
                 "<meta http-equiv=refresh content='.5; url=f.html'>",
                 "a.html b.html c.html d.html urlx.html f.html");
    /* The time alone refreshes the page; a content without a time, or
     * another http-equiv, is none. */
    assert_links("<meta http-equiv=refresh content='5'>"
                 "<meta http-equiv=refresh content='url=a.html'>"
                 "<meta http-equiv=refresh content='5x; url=b.html'>"
                 "<meta name=refresh content='0; url=c.html'>",
                 "");
    assert_page(NULL, "<meta http-equiv=refresh content='0; url=/next/'>",
                false, LINK(H "next/", "") ANCHORS(""));
}

static void
test_form_action_is_reported_not_followed(void **state)
{
    (void)state;
    assert_page(NULL,
                "<form action=/search method=get></form>"
                "<form action=''></form><form></form><form action=#x>"
                "<form action='mailto:a@b'><form action=ftp://h/up>"
                "<a href=/search>",
                false,
                SKIP(H "search", "form action: not followed")
                    SKIP("ftp://h/up", "scheme ftp: not checked")
                        LINK(H "search", "") ANCHORS(""));
}

static void
test_css_links_in_style_elements_attributes_and_sheets(void **state)
{
    (void)state;
    assert_links("<style>@import \"i1.css\"; @import url(i2.css) screen;"
                 "@import 'i3.css';"
                 "a { background: url( u1.png ) } b{c:URL('u2 x.png')}"
                 "d{e:url(\"u3.png\" )} /* url(no1) */ f{content:'url(no2)'}"
                 "g{h:image-set('s1.png' 1x, url(s2.png) 2x, \"s3.png\" 3x)}"
                 "@namespace svg url(http://www.w3.org/2000/svg);"
                 "i{j:url(\\75 7.png)} k{l:u\\72l(u8.png)} m{n:xurl(no3)}"
                 "o{p:url(bad\"url) url(bad(url) url(u9.png)}"
                 "</style>",
                 "i1.css i2.css i3.css u1.png u2 x.png u3.png s1.png s2.png "
                 "s3.png u7.png u8.png u9.png");
    /* A style attribute is CSS, after its references are decoded. */
    assert_links("<div style=\"background:url(&quot;a.png&quot;)\">"
                 "<p style='x:url(b.png);y:url(&#99;.png)'>",
                 "a.png b.png c.png");
    /* A style sheet is CSS through and through, and has no anchors. */
    assert_page("text/css; charset=utf-8",
                "@import 'base.css';\nbody { background: url(img/bg.png) }\n"
                "<a href=no.html id=no>",
                false, LINK(H "base.css", "") LINK(H "img/bg.png", ""));
}

static void
test_anchors_are_ids_and_names_of_a_each_once(void **state)
{
    (void)state;
    assert_page(NULL,
                "<h1 id=intro>x</h1><a name=old>y</a><a id=both name=also>"
                "<div name=no-div id=intro><p id=''><p id=\"tab\tbed\">"
                "<span id=caf&eacute;><img name=no-img>",
                false,
                ANCHORS("\tintro\told\tboth\talso\ttab bed\tcaf\xc3\xa9"));
    /* In the page's character set, made UTF-8; a tag cut short holds
     * none. */
    assert_page("text/html; charset=iso-8859-1", "<p id=caf\xe9><p id=cut",
                true, ANCHORS("\tcaf\xc3\xa9"));
    /* Every HTML page sends its anchors, after its links, even none. */
    assert_page(NULL, "", false, ANCHORS(""));
    assert_page(NULL, "<a href=x id=y>", false, LINK(H "x", "") ANCHORS("\ty"));
}

static void
test_fragments_are_decoded_and_top_or_text_ones_dropped(void **state)
{
    (void)state;
    assert_page(NULL,
                "<a href=p.html#sec><a href='p.html#caf%C3%A9'>"
                "<a href='p.html#a%20b%09c'><a href='p.html#caf\xc3\xa9'>"
                "<a href=p.html#top><a href=p.html#TOP><a href=p.html#>"
                "<a href='p.html#:~:text=x'><a href=p.html>"
                "<a href='p.html#%ff'>",
                false,
                LINK(H "p.html", "sec") LINK(H "p.html", "caf\xc3\xa9")
                    LINK(H "p.html", "a b c") LINK(H "p.html", "")
                        LINK(H "p.html", "\xef\xbf\xbd") ANCHORS(""));
    /* A link to a place in the page itself is a link to the page with its
     * fragment; "#", "#top" and the like are none. */
    assert_page(NULL,
                "<a href=#s1><a href=' #s1 '><a href=#><a href=#top>"
                "<a href='#:~:text=a'><a href=#s2><a href='http:#s3'>",
                false,
                LINK(PAGE, "s1") LINK(PAGE, "s2") LINK(PAGE, "s3") ANCHORS(""));
    /* ...against the base, as any link. */
    assert_page(NULL, "<base href=/doc/x.html><a href=#s1>", false,
                LINK(H "doc/x.html", "s1") ANCHORS(""));
}

static void
test_other_schemes_and_bases_are_reported_not_checked(void **state)
{
    (void)state;
    assert_page(NULL,
                "<a href=ftp://h/f.txt><a href='FILE:///etc/x'>"
                "<a href=mailto:a@b><a href=javascript:void(0)>"
                "<a href=tel:1><a href=data:,x><a href=about:blank>"
                "<a href=gopher://h/><link rel=canonical href=file:///doc/>",
                false,
                SKIP("ftp://h/f.txt", "scheme ftp: not checked")
                    SKIP("FILE:///etc/x", "scheme file: not checked")
                        SKIP("gopher://h/", "scheme gopher: not checked")
                            SKIP("file:///doc/", "scheme file: not checked")
                                ANCHORS(""));
    /* A base of another scheme: the page's relative links are of it. */
    assert_page(NULL,
                "<base href=file:///srv/doc/><a href=a.html>"
                "<a href=http://h/x><a href=#s>",
                false,
                SKIP("a.html", "scheme file: not checked")
                    LINK("http://h/x", "")
                        SKIP("#s", "scheme file: not checked") ANCHORS(""));
}

/* ------------------------------------------------ tasks and results */

static void
test_task_lines_round_trip_and_bad_ones_are_refused(void **state)
{
    static const char *const bad[] = {"x http://h/\n",   "p\n",
                                      "phttp://h/\n",    "p \n",
                                      "c http://h/\n\n", NULL};
    struct lc__task_url *xs = NULL;
    struct tf_buf task;
    size_t n = 0;
    size_t i;

    (void)state;
    tf_buf_init(&task, 0);
    assert_int_equal(lc__task_add(&task, 'p', "http://h/a?b=1"), 0);
    assert_int_equal(lc__task_add(&task, 'c', "https://h:8443/c d"), 0);
    assert_string_equal((char *)task.data,
                        "p http://h/a?b=1\nc https://h:8443/c d\n");
    assert_int_equal(lc__task_parse((char *)task.data, task.len, &xs, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(xs[0].mode, 'p');
    assert_string_equal(xs[0].url, "http://h/a?b=1");
    assert_int_equal(xs[1].mode, 'c');
    assert_string_equal(xs[1].url, "https://h:8443/c d");
    free(xs);
    for (i = 0; bad[i] != NULL; i++) {
        tf_buf_reset(&task);
        assert_int_equal(tf_buf_puts(&task, bad[i]), 0);
        assert_int_equal(lc__task_parse((char *)task.data, task.len, &xs, &n),
                         TF_EPROTO);
        free(xs);
    }
    /* The last line may lack its newline; an empty task has no URL. */
    tf_buf_reset(&task);
    assert_int_equal(tf_buf_puts(&task, "c http://h/"), 0);
    assert_int_equal(lc__task_parse((char *)task.data, task.len, &xs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(xs[0].url, "http://h/");
    free(xs);
    assert_int_equal(lc__task_parse((char *)"", 0, &xs, &n), 0);
    assert_int_equal(n, 0);
    assert_null(xs);
    tf_buf_cleanup(&task);
}

static void
test_result_lines_round_trip_with_tabs_made_spaces(void **state)
{
    struct lc__outcome o = {"http://h/a",
                            404,
                            "http://h/b",
                            1700000000123456u,
                            1234,
                            153,
                            2,
                            "GET",
                            true,
                            "node\t1",
                            "bad\tthing\nhere",
                            LC__ERR_HOST,
                            3,
                            true};
    struct lc__outcome d;
    struct tf_buf line;
    char *s;

    (void)state;
    tf_buf_init(&line, 0);
    assert_int_equal(lc__outcome_encode(&line, &o), 0);
    assert_string_equal((char *)line.data,
                        "http://h/a\t404\thttp://h/b\t1700000000123456\t1234"
                        "\t153\t2\tGET\t1\tnode 1\tbad thing here\th\t3\t1\n");
    s = (char *)line.data;
    s[line.len - 1] = '\0';
    assert_int_equal(lc__outcome_decode(s, &d), 0);
    assert_string_equal(d.url, "http://h/a");
    assert_int_equal(d.status, 404);
    assert_string_equal(d.final, "http://h/b");
    assert_int_equal(d.start_us, 1700000000123456u);
    assert_int_equal(d.time_us, 1234);
    assert_int_equal(d.size, 153);
    assert_int_equal(d.redirects, 2);
    assert_string_equal(d.method, "GET");
    assert_true(d.parsed);
    assert_string_equal(d.host, "node 1");
    assert_string_equal(d.error, "bad thing here");
    assert_int_equal(d.errkind, LC__ERR_HOST);
    assert_int_equal(d.retries, 3);
    assert_true(d.cut);
    tf_buf_cleanup(&line);
}

static void
test_bad_result_lines_are_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "u\t200\tf\t1\t2\t3\t4\tGET\t0\th",       /* 10 fields */
        "u\t200\tf\t1\t2\t3\t4\tGET\t0\th\te\tx", /* 12 */
        "\t200\tf\t1\t2\t3\t4\tGET\t0\th\t",      /* no URL */
        "u\tx\tf\t1\t2\t3\t4\tGET\t0\th\t",
        "u\t1000\tf\t1\t2\t3\t4\tGET\t0\th\t",
        "u\t200\tf\t-1\t2\t3\t4\tGET\t0\th\t",
        "u\t200\tf\t1\t2\t3\t4\tGET\t2\th\t",
        "u\t200\tf\t1\t2\t99999999999999999999\t4\tGET\t0\th\t",
        NULL};
    struct lc__outcome d;
    char line[256];
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        snprintf(line, sizeof(line), "%s", bad[i]);
        if (lc__outcome_decode(line, &d) != TF_EPROTO)
            fail_msg("line %zu was accepted", i);
    }
}

/* ------------------------------------------------------------- master */

/* A master's state over options KV, with NWORKERS workers. */
static struct lc__state *
master_with(const char *const *kv, int nworkers, struct lc__run *r)
{
    struct lc__state *st;
    struct tf_error err;

    assert_int_equal(init_with(kv, &st, &err), 0);
    lc__run_init(r, st, nworkers);
    return st;
}

static void
submit(struct lc__run *r, const char *text)
{
    assert_int_equal(lc__submit(r, NULL, 0, text, strlen(text)), 0);
}

static const struct lc__rec *
rec_of(const struct lc__run *r, const char *url)
{
    size_t i;

    if (!lc__table_find(&r->index, url, &i))
        fail_msg("no record of %s", url);
    return &r->recs[i];
}

static void
test_submit_hook_deduplicates_and_chooses_pages(void **state)
{
    static const char *const kv[] = {
        "crawl", "http://s/", "max-depth", "1", "ignore-robots", NULL, NULL};
    struct lc__run r;
    struct lc__state *st = master_with(kv, 2, &r);
    size_t i;

    (void)state;
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    assert_true(r.recs[i].page);
    submit(&r, "L\thttp://s/\thttp://s/a\t");
    submit(&r, "L\thttp://s/\thttp://s/a\t");
    submit(&r, "L\thttp://s/\thttp://other/x\t");
    submit(&r, "L\thttp://s/\thttp://s/b\t");
    submit(&r, "S\thttp://s/\tftp://s/f\tscheme ftp: not checked");
    submit(&r, "D\thttp://s/\thttp://a b/\tinvalid URL: bad");
    /* A page of depth 1 links deeper: checked, not parsed. */
    submit(&r, "L\thttp://s/a\thttp://s/deep\t");
    submit(&r, "L\thttp://s/a\thttp://s/b\t");
    /* From no known page, not a message, or not a link: dropped. */
    submit(&r, "L\thttp://nowhere/\thttp://s/z\t");
    submit(&r, "no tab here");
    submit(&r, "L\thttp://s/\t\t");
    submit(&r, "L\thttp://s/\thttp://s/q");
    submit(&r, "X\thttp://s/\thttp://s/q\t");
    submit(&r, "LL\thttp://s/\thttp://s/q\t");
    assert_int_equal(r.nrecs, 7);
    assert_true(rec_of(&r, "http://s/a")->page);
    assert_int_equal(rec_of(&r, "http://s/a")->depth, 1);
    assert_int_equal(rec_of(&r, "http://s/a")->ref_count, 1);
    assert_false(rec_of(&r, "http://other/x")->page);
    assert_true(rec_of(&r, "http://s/b")->page);
    assert_int_equal(rec_of(&r, "http://s/b")->ref_count, 2);
    assert_false(rec_of(&r, "http://s/deep")->page);
    assert_int_equal(rec_of(&r, "http://s/deep")->depth, 2);
    /* Another scheme is skipped, not dead; no URL is dead. */
    assert_int_equal(rec_of(&r, "ftp://s/f")->mode, 'x');
    assert_true(rec_of(&r, "ftp://s/f")->done);
    assert_false(lc__rec_is_dead(rec_of(&r, "ftp://s/f")));
    assert_string_equal(rec_of(&r, "ftp://s/f")->skip,
                        "scheme ftp: not checked");
    assert_int_equal(lc__rec_result(st, rec_of(&r, "ftp://s/f")), LC__SKIP);
    assert_string_equal(rec_of(&r, "http://a b/")->error, "invalid URL: bad");
    assert_int_equal(lc__rec_result(st, rec_of(&r, "http://a b/")), LC__DEAD);
    /* The frontier holds the five URLs to fetch, in the order met. */
    assert_int_equal(r.qtail - r.qhead, 5);
    assert_string_equal(r.recs[r.queue[r.qhead]].url, "http://s/");
    assert_string_equal(r.recs[r.queue[r.qhead + 1]].url, "http://s/a");
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_referrers_keep_100_and_count_all(void **state)
{
    static const char *const kv[] = {"crawl", "http://s/", "ignore-robots",
                                     NULL, NULL};
    struct lc__run r;
    struct lc__state *st = master_with(kv, 1, &r);
    char text[64];
    size_t i;

    (void)state;
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    for (i = 0; i < 150; i++) {
        snprintf(text, sizeof(text), "L\thttp://s/\thttp://s/p%zu\t", i);
        submit(&r, text);
        snprintf(text, sizeof(text), "L\thttp://s/p%zu\thttp://s/t\t", i);
        submit(&r, text);
    }
    assert_int_equal(rec_of(&r, "http://s/t")->ref_count, 150);
    assert_int_equal(rec_of(&r, "http://s/t")->nrefs, LC__MAX_REFS);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_next_spreads_small_frontiers_and_caps_batches(void **state)
{
    static const char *const kv[] = {
        "crawl", "http://s/", "concurrency", "2", "ignore-robots", NULL, NULL};
    struct lc__run r;
    struct lc__state *st = master_with(kv, 3, &r);
    struct tf_buf task;
    char text[64];
    size_t i;

    (void)state;
    tf_buf_init(&task, 0);
    assert_int_equal(lc__next(&r, 0, &task), TF_LATER);
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    /* One URL, three workers: a batch of one. */
    assert_int_equal(lc__next(&r, 0, &task), 1);
    assert_string_equal((char *)task.data, "p http://s/\n");
    assert_int_equal(r.batches[0].n, 1);
    assert_int_equal(lc__next(&r, 1, &task), TF_LATER);
    for (i = 0; i < 30; i++) {
        snprintf(text, sizeof(text), "L\thttp://s/\thttp://x/%02zu\t", i);
        submit(&r, text);
    }
    /* 30 URLs over 3 workers would be 10 each; 4 x 2 transfers is the
     * most. */
    tf_buf_reset(&task);
    assert_int_equal(lc__next(&r, 1, &task), 1);
    assert_int_equal(r.batches[1].n, 8);
    assert_non_null(
        strstr((char *)task.data, "c http://x/00\nc http://x/01\n"));
    /* Then each takes a third of what is left, rounded up. */
    for (i = 2; i < 9; i++) {
        static const size_t want[] = {0, 0, 8, 5, 3, 2, 2, 1, 1};

        tf_buf_reset(&task);
        assert_int_equal(lc__next(&r, i, &task), 1);
        assert_int_equal(r.batches[i].n, want[i]);
    }
    assert_int_equal(lc__next(&r, 9, &task), TF_LATER);
    tf_buf_cleanup(&task);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

/* A worker's result line for URL: STATUS, PARSED, ERROR of kind ERRKIND. */
static void
outcome_line(struct tf_buf *out, const char *url, long status, bool parsed,
             const char *error, char errkind)
{
    assert_int_equal(tf_buf_printf(out,
                                   "%s\t%ld\t%s\t1000000\t2000\t512\t0\tGET\t%d"
                                   "\tw1\t%s\t%c\t0\t0\n",
                                   url, status, url, parsed ? 1 : 0, error,
                                   errkind),
                     0);
}

/* Hands out the next batch of R as task INDEX and answers it with RES;
 * returns the task's text in TASK. */
static void
round_trip(struct lc__run *r, uint64_t index, struct tf_buf *task,
           struct tf_result *res)
{
    assert_int_equal(lc__done(r, index, res), 0);
    tf_buf_reset(&res->out);
    (void)task;
}

static void
test_max_pages_counts_the_pages_parsed(void **state)
{
    static const char *const kv[] = {
        "crawl", "http://s/", "max-pages", "2", "ignore-robots", NULL, NULL};
    struct lc__run r;
    struct lc__state *st = master_with(kv, 1, &r);
    struct tf_result res;
    struct tf_buf task;
    size_t i;

    (void)state;
    memset(&res, 0, sizeof(res));
    tf_buf_init(&res.out, 0);
    tf_buf_init(&res.err, 0);
    tf_buf_init(&task, 0);
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    assert_int_equal(lc__next(&r, 0, &task), 1);
    assert_string_equal((char *)task.data, "p http://s/\n");
    submit(&r, "L\thttp://s/\thttp://s/img.png\t");
    submit(&r, "L\thttp://s/\thttp://s/b\t");
    submit(&r, "L\thttp://s/\thttp://s/c\t");
    outcome_line(&res.out, "http://s/", 200, true, "", LC__ERR_NONE);
    round_trip(&r, 0, &task, &res);
    /* One page parsed, one to go: img.png goes out as a page, and the
     * others wait, since it may be one. */
    tf_buf_reset(&task);
    assert_int_equal(lc__next(&r, 1, &task), 1);
    assert_string_equal((char *)task.data, "p http://s/img.png\n");
    tf_buf_reset(&task);
    assert_int_equal(lc__next(&r, 2, &task), TF_LATER);
    /* It was no page: the room is b's. */
    outcome_line(&res.out, "http://s/img.png", 200, false, "", LC__ERR_NONE);
    round_trip(&r, 1, &task, &res);
    tf_buf_reset(&task);
    assert_int_equal(lc__next(&r, 2, &task), 1);
    assert_string_equal((char *)task.data, "p http://s/b\n");
    outcome_line(&res.out, "http://s/b", 200, true, "", LC__ERR_NONE);
    round_trip(&r, 2, &task, &res);
    /* Two pages parsed: c is checked, not parsed. */
    tf_buf_reset(&task);
    assert_int_equal(lc__next(&r, 3, &task), 1);
    assert_string_equal((char *)task.data, "c http://s/c\n");
    assert_int_equal(r.pages_parsed, 2);
    assert_int_equal(r.pages_out, 0);
    tf_buf_cleanup(&task);
    tf_buf_cleanup(&res.out);
    tf_buf_cleanup(&res.err);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_anchors_missing_on_parsed_pages_are_dead_links(void **state)
{
    static const char *const kv[] = {"crawl", "http://s/", "ignore-robots",
                                     NULL, NULL};
    struct lc__run r;
    struct lc__state *st = master_with(kv, 1, &r);
    const struct lc__rec *rec;
    size_t i;

    (void)state;
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    submit(&r, "L\thttp://s/\thttp://s/a\tintro");
    submit(&r, "L\thttp://s/\thttp://s/a\tgone");
    submit(&r, "L\thttp://s/\thttp://s/\tself");
    submit(&r, "L\thttp://s/\thttp://s/\tnot-here");
    submit(&r, "L\thttp://s/\thttp://s/cut\tlate");
    submit(&r, "L\thttp://s/\thttp://s/img.png\tx");
    submit(&r, "A\thttp://s/\tself\ttop-of-page");
    submit(&r, "L\thttp://s/a\thttp://s/a\tgone");
    submit(&r, "A\thttp://s/a\tintro\tcaf\xc3\xa9");
    submit(&r, "A\thttp://s/cut\tearly");
    for (i = 0; i < r.nrecs; i++) {
        struct lc__rec *x = &r.recs[i];

        x->done = true;
        x->status = 200;
        x->parsed = x->html;
        x->cut = strcmp(x->url, "http://s/cut") == 0;
    }
    /* A link to an anchor of its own page is no referrer of the page. */
    assert_int_equal(rec_of(&r, "http://s/")->ref_count, 0);
    assert_int_equal(lc__check_anchors(&r), 0);
    rec = rec_of(&r, "http://s/a#gone");
    assert_true(lc__rec_is_dead(rec));
    assert_string_equal(rec->error, "anchor #gone not found");
    assert_int_equal(rec->status, 200);
    /* Found on two pages, each once. */
    assert_int_equal(rec->ref_count, 2);
    rec = rec_of(&r, "http://s/#not-here");
    assert_string_equal(rec->error, "anchor #not-here not found");
    /* A cut page, and what is no page, have no known anchors; the found
     * ones are fine. */
    assert_false(lc__table_find(&r.index, "http://s/cut#late", &i));
    assert_false(lc__table_find(&r.index, "http://s/img.png#x", &i));
    assert_false(lc__table_find(&r.index, "http://s/a#intro", &i));
    assert_false(lc__table_find(&r.index, "http://s/#self", &i));
    assert_int_equal(r.nrecs, 6);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);

    /* --ignore-anchors: none is kept. */
    {
        static const char *const kv2[] = {
            "crawl", "http://s/", "ignore-robots", NULL, "ignore-anchors",
            NULL,    NULL};

        st = master_with(kv2, 1, &r);
        assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i),
                         0);
        submit(&r, "L\thttp://s/\thttp://s/\tnot-here");
        submit(&r, "A\thttp://s/");
        /* Nor is a page's own anchor a link to the page. */
        assert_int_equal(r.recs[0].ref_count, 0);
        r.recs[0].done = true;
        r.recs[0].status = 200;
        assert_int_equal(lc__check_anchors(&r), 0);
        assert_int_equal(r.nrecs, 1);
        lc__run_cleanup(&r);
        tf_job_linkcheck.fini(st);
    }
}

static void
test_scope_options_skip_or_leave_out_urls(void **state)
{
    static const char *const kv[] = {"crawl",     "http://s/", "ignore-robots",
                                     NULL,        "exclude",   "/private/",
                                     "exclude",   "\\.pdf$",   "no-follow",
                                     "/archive/", "scope",     "http://s/docs/",
                                     "scope",     "http://s/", "check-external",
                                     "no",        NULL};
    static const char *const kv2[] = {
        "crawl",         "http://s/", "include", "^http://s/(docs/)?[a-z]*$",
        "ignore-robots", NULL,        NULL};
    struct lc__run r;
    struct lc__state *st = master_with(kv, 1, &r);
    size_t i;

    (void)state;
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    submit(&r, "L\thttp://s/\thttp://s/private/x\t");
    submit(&r, "L\thttp://s/\thttp://s/a.pdf\t");
    submit(&r, "L\thttp://s/\thttp://s/archive/y\t");
    submit(&r, "L\thttp://s/\thttp://s/docs/z\t");
    submit(&r, "L\thttp://s/\thttp://elsewhere/\t");
    submit(&r, "S\thttp://s/\tftp://s/f\tscheme ftp: not checked");
    assert_string_equal(rec_of(&r, "http://s/private/x")->skip,
                        "excluded by --exclude");
    assert_string_equal(rec_of(&r, "http://s/a.pdf")->skip,
                        "excluded by --exclude");
    assert_false(rec_of(&r, "http://s/archive/y")->page);
    assert_null(rec_of(&r, "http://s/archive/y")->skip);
    assert_true(rec_of(&r, "http://s/docs/z")->page);
    /* --check-external no: off-site links and other schemes are left
     * out. */
    assert_false(lc__table_find(&r.index, "http://elsewhere/", &i));
    assert_false(lc__table_find(&r.index, "ftp://s/f", &i));
    assert_int_equal(r.nrecs, 5);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);

    st = master_with(kv2, 1, &r);
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    submit(&r, "L\thttp://s/\thttp://s/docs/z\t");
    submit(&r, "L\thttp://s/\thttp://s/x.png\t");
    assert_null(rec_of(&r, "http://s/docs/z")->skip);
    assert_string_equal(rec_of(&r, "http://s/x.png")->skip,
                        "not included by --include");
    /* A prefix only follows pages under it. */
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_a_form_action_that_is_also_a_link_is_checked(void **state)
{
    static const char *const kv[] = {"crawl", "http://s/", "ignore-robots",
                                     NULL, NULL};
    struct lc__run r;
    struct lc__state *st = master_with(kv, 1, &r);
    size_t i;

    (void)state;
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    submit(&r, "S\thttp://s/\thttp://s/search\tform action: not followed");
    submit(&r, "S\thttp://s/\thttp://s/post\tform action: not followed");
    assert_string_equal(rec_of(&r, "http://s/search")->skip,
                        "form action: not followed");
    assert_int_equal(r.qtail - r.qhead, 1);
    submit(&r, "L\thttp://s/\thttp://s/search\t");
    assert_null(rec_of(&r, "http://s/search")->skip);
    assert_false(rec_of(&r, "http://s/search")->done);
    assert_true(rec_of(&r, "http://s/search")->page);
    assert_int_equal(r.qtail - r.qhead, 2);
    /* Another form's action once more changes nothing. */
    submit(&r, "S\thttp://s/\thttp://s/post\tform action: not followed");
    assert_true(rec_of(&r, "http://s/post")->page_skip);
    assert_int_equal(lc__record_page_skips(&r), 0);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_a_host_that_failed_ends_its_other_urls_at_once(void **state)
{
    static const char *const kv[] = {"crawl", "http://s/", "ignore-robots",
                                     NULL, NULL};
    struct lc__run r;
    struct lc__state *st = master_with(kv, 1, &r);
    struct tf_result res;
    struct tf_buf task;
    size_t i;

    (void)state;
    memset(&res, 0, sizeof(res));
    tf_buf_init(&res.out, 0);
    tf_buf_init(&res.err, 0);
    tf_buf_init(&task, 0);
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    submit(&r, "L\thttp://s/\thttp://gone.invalid/1\t");
    assert_int_equal(lc__next(&r, 0, &task), 1);
    submit(&r, "L\thttp://s/\thttp://gone.invalid/2\t");
    submit(&r, "L\thttp://s/\thttp://gone.invalid:81/3\t");
    outcome_line(&res.out, "http://s/", 200, true, "", LC__ERR_NONE);
    outcome_line(&res.out, "http://gone.invalid/1", 0, false,
                 "unreachable host: Could not resolve host", LC__ERR_HOST);
    round_trip(&r, 0, &task, &res);
    tf_buf_reset(&task);
    /* Another port is another host. */
    assert_int_equal(lc__next(&r, 1, &task), 1);
    assert_string_equal((char *)task.data, "c http://gone.invalid:81/3\n");
    assert_true(rec_of(&r, "http://gone.invalid/2")->done);
    assert_string_equal(rec_of(&r, "http://gone.invalid/2")->error,
                        "unreachable host: Could not resolve host (as for "
                        "http://gone.invalid/1)");
    tf_buf_cleanup(&task);
    tf_buf_cleanup(&res.out);
    tf_buf_cleanup(&res.err);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_results_and_warnings(void **state)
{
    static const char *const kv[] = {"crawl", "http://s/", "slow", "1", NULL};
    struct lc__strs w = {NULL, 0, 0};
    struct lc__state *st;
    struct lc__run r;
    struct lc__rec rec;

    (void)state;
    st = master_with(kv, 1, &r);
    memset(&rec, 0, sizeof(rec));
    rec.url = "http://s/a";
    rec.status = 200;
    assert_int_equal(lc__rec_result(st, &rec), LC__OK);
    rec.redirects = 1;
    rec.final = "http://s/b";
    rec.time_us = 1500000;
    rec.cut = true;
    rec.size = 1024;
    assert_int_equal(lc__rec_result(st, &rec), LC__WARN);
    assert_int_equal(lc__rec_warnings(st, &rec, &w), 0);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.v[0], "redirected to http://s/b");
    assert_string_equal(w.v[1], "slow: 1.5 s");
    assert_string_equal(w.v[2], "cut at 1024 bytes (--max-body): links after "
                                "it not checked");
    lc__strs_cleanup(&w);
    /* The time of a URL tried again holds the waits it was asked for. */
    rec.retries = 2;
    assert_int_equal(lc__rec_warnings(st, &rec, &w), 0);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.v[1], "cut at 1024 bytes (--max-body): links after "
                                "it not checked");
    assert_string_equal(w.v[2], "retried 2 times");
    lc__strs_cleanup(&w);
    rec.status = 429;
    assert_int_equal(lc__rec_result(st, &rec), LC__DEAD);
    rec.status = 0;
    rec.redirects = 0;
    rec.cut = false;
    rec.retries = 0;
    rec.time_us = 0;
    rec.skip = "robots.txt disallows it";
    assert_int_equal(lc__rec_result(st, &rec), LC__SKIP);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_done_fills_records_and_marks_the_unreported_dead(void **state)
{
    static const char *const kv[] = {"crawl", "http://s/", "ignore-robots",
                                     NULL, NULL};
    struct lc__run r;
    struct lc__state *st = master_with(kv, 1, &r);
    struct tf_result res;
    struct tf_buf task;
    size_t i;

    (void)state;
    memset(&res, 0, sizeof(res));
    tf_buf_init(&res.out, 0);
    tf_buf_init(&res.err, 0);
    tf_buf_init(&task, 0);
    assert_int_equal(lc__rec_get(&r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    submit(&r, "L\thttp://s/\thttp://s/a\t");
    submit(&r, "L\thttp://s/\thttp://s/b\t");
    assert_int_equal(lc__next(&r, 0, &task), 1);
    assert_int_equal(r.batches[0].n, 3);
    /* A worker reports two of its three URLs (and one nobody asked for,
     * and a line that is none). */
    assert_int_equal(tf_buf_puts(&res.out,
                                 "http://s/\t200\thttp://s/\t1000000\t2000\t"
                                 "512\t0\tGET\t1\tw1\t\t-\t0\t0\n"
                                 "garbage\n"
                                 "http://s/zzz\t200\tf\t1\t1\t1\t0\tGET\t0\tw1"
                                 "\t\t-\t0\t0\n"
                                 "http://s/a\t0\thttp://s/a\t1000000\t9\t0\t0"
                                 "\tGET\t0\tw1\tCouldn't connect to server\te"
                                 "\t1\t0\n"),
                     0);
    assert_int_equal(lc__done(&r, 0, &res), 0);
    assert_true(rec_of(&r, "http://s/")->done);
    assert_int_equal(rec_of(&r, "http://s/")->status, 200);
    assert_int_equal(rec_of(&r, "http://s/")->size, 512);
    assert_true(rec_of(&r, "http://s/")->parsed);
    assert_string_equal(rec_of(&r, "http://s/")->host, "w1");
    assert_false(lc__rec_is_dead(rec_of(&r, "http://s/")));
    assert_string_equal(rec_of(&r, "http://s/a")->error,
                        "Couldn't connect to server");
    assert_int_equal(rec_of(&r, "http://s/a")->retries, 1);
    assert_true(lc__rec_is_dead(rec_of(&r, "http://s/a")));
    assert_string_equal(rec_of(&r, "http://s/b")->error,
                        "no result from the worker");
    assert_int_equal(r.nrecs, 3);
    /* A failed task: each of its URLs is dead with the worker's message. */
    submit(&r, "L\thttp://s/\thttp://s/c\t");
    tf_buf_reset(&task);
    assert_int_equal(lc__next(&r, 1, &task), 1);
    res.status = 1;
    tf_buf_reset(&res.out);
    assert_int_equal(
        tf_buf_puts(&res.err, "linkcheck: cannot start\tlibcurl\n"), 0);
    assert_int_equal(lc__done(&r, 1, &res), 0);
    assert_string_equal(rec_of(&r, "http://s/c")->error,
                        "linkcheck: cannot start libcurl");
    tf_buf_cleanup(&task);
    tf_buf_cleanup(&res.out);
    tf_buf_cleanup(&res.err);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

/* --------------------------------------------------------- URL files */

/* Reads FILE's TEXT (N bytes) as linkcheck's URL file into R. */
static int
read_text(struct lc__run *r, struct lc__state **st, const char *text, size_t n,
          struct tf_error *err)
{
    const char *path = write_file("urls.txt", text, n);
    const char *kv[] = {"1", path, NULL};
    int rc;

    *st = master_with(kv, 2, r);
    tf_error_init(err);
    rc = lc__read_urls(r, path, err);
    return rc;
}

static void
test_url_file_lines_are_checked_once_with_every_line(void **state)
{
    static const char text[] = "# a comment\n"
                               "\n"
                               "  http://h/a  \r\n"
                               "\t\n"
                               "HTTP://H:80/a#top\n"
                               "mailto:x@y\n"
                               "http://h/b\n"
                               "not a url\n"
                               "http://h/a";
    struct lc__state *st;
    struct tf_error err;
    struct lc__run r;

    (void)state;
    assert_int_equal(read_text(&r, &st, text, sizeof(text) - 1, &err), 0);
    assert_int_equal(r.nrecs, 4);
    assert_int_equal(rec_of(&r, "http://h/a")->ref_count, 3);
    assert_int_equal(rec_of(&r, "http://h/a")->refs[0], 3);
    assert_int_equal(rec_of(&r, "http://h/a")->refs[1], 5);
    assert_int_equal(rec_of(&r, "http://h/a")->refs[2], 9);
    assert_int_equal(rec_of(&r, "http://h/a")->mode, 'c');
    assert_int_equal(rec_of(&r, "http://h/a")->depth, 0);
    assert_string_equal(rec_of(&r, "mailto:x@y")->error,
                        "protocol not allowed: mailto");
    assert_non_null(strstr(rec_of(&r, "not a url")->error, "invalid URL: "));
    /* Two to fetch, none to parse. */
    assert_int_equal(r.qtail - r.qhead, 2);
    assert_false(rec_of(&r, "http://h/a")->page);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_url_file_errors_name_file_and_line(void **state)
{
    struct lc__state *st;
    struct tf_error err;
    struct lc__run r;
    char *big;
    const char *kv[] = {"1", "x", NULL};

    (void)state;
    assert_int_equal(read_text(&r, &st, "http://h/\nhttp://h/\0x\n", 22, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, "urls.txt:2: NUL byte in line"));
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);

    big = malloc(LC__MAX_LINE + 20);
    assert_non_null(big);
    memcpy(big, "http://h/\n", 10);
    memset(big + 10, 'a', LC__MAX_LINE + 1);
    big[LC__MAX_LINE + 11] = '\n';
    assert_int_equal(read_text(&r, &st, big, LC__MAX_LINE + 12, &err),
                     TF_EINPUT);
    assert_non_null(strstr(err.msg, "urls.txt:2: line longer than 65536"));
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
    /* A line of 64 KiB exactly is a line. */
    assert_int_equal(read_text(&r, &st, big, LC__MAX_LINE + 10, &err), 0);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
    free(big);

    st = master_with(kv, 1, &r);
    assert_int_equal(lc__read_urls(&r, "/nonexistent/urls.txt", &err),
                     TF_EINPUT);
    assert_string_equal(err.msg,
                        "/nonexistent/urls.txt: No such file or directory");
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

/* ------------------------------------------------------------- report */

/* A run over a crawl with records made by hand, as the workers would have
 * filled them. */
static struct lc__state *
sample_run(struct lc__run *r, const char *format, bool dead_only)
{
    const char *kv[] = {"crawl",
                        "http://h:8080/",
                        "format",
                        format,
                        "ignore-robots",
                        NULL,
                        dead_only ? "dead-only" : NULL,
                        "1",
                        NULL};
    struct lc__state *st = master_with(kv, 2, r);
    struct lc__rec *rec;
    char text[64];
    size_t i;
    size_t k;

    assert_int_equal(lc__rec_get(r, st->start, 0, LC__MSG_LINK, NULL, &i), 0);
    submit(r, "L\thttp://h:8080/\thttp://h:8080/zeta\t");
    submit(r, "L\thttp://h:8080/\thttp://h:8080/missing.html\t");
    submit(r, "L\thttp://h:8080/\thttp://h:8080/r1\t");
    submit(r, "L\thttp://h:8080/\thttp://h:8081/hang\t");
    submit(r, "D\thttp://h:8080/\tftp://h/f\tprotocol not allowed: ftp");
    for (k = 0; k < 12; k++) {
        snprintf(text, sizeof(text),
                 "L\thttp://h:8080/\thttp://h:8080/p%02zu\t", k);
        submit(r, text);
        snprintf(text, sizeof(text),
                 "L\thttp://h:8080/p%02zu\thttp://h:8080/missing.html\t", k);
        submit(r, text);
    }
    for (i = 0; i < r->nrecs; i++) {
        rec = &r->recs[i];
        if (rec->mode == 'x')
            continue;
        rec->done = true;
        rec->status = 200;
        rec->time_us = 2000;
        rec->size = 1234;
        snprintf(rec->method, sizeof(rec->method), "GET");
        rec->parsed = rec->page;
        rec->final = strdup(rec->url);
        rec->host = strdup("w");
    }
    rec = (struct lc__rec *)rec_of(r, "http://h:8080/missing.html");
    rec->status = 404;
    rec->size = 153;
    rec->time_us = 1400;
    rec->parsed = false;
    rec = (struct lc__rec *)rec_of(r, "http://h:8080/r1");
    free(rec->final);
    rec->final = strdup("http://h:8080/final.html");
    rec->redirects = 2;
    rec = (struct lc__rec *)rec_of(r, "http://h:8081/hang");
    rec->status = 0;
    rec->size = 0;
    rec->time_us = 10002000;
    rec->error = strdup("Timeout was reached");
    snprintf(rec->method, sizeof(rec->method), "HEAD");
    return st;
}

/* The report of R as a string (to free). */
static char *
report_text(const struct lc__run *r, size_t *ndead, size_t *nparsed)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    assert_int_equal(lc__report(r, f, ndead, nparsed), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void
test_table_is_sorted_with_referrers_of_dead_links(void **state)
{
    struct lc__state *st;
    struct lc__run r;
    size_t ndead;
    size_t nparsed;
    char *text;

    (void)state;
    st = sample_run(&r, "table", false);
    text = report_text(&r, &ndead, &nparsed);
    assert_int_equal(ndead, 3);
    assert_int_equal(nparsed, 15);
    assert_string_equal(
        text,
        "RESULT CODE   TIME_S     BYTES  URL\n"
        "dead    ---    0.000         0  ftp://h/f  (protocol not allowed: "
        "ftp)\n"
        "      found on http://h:8080/\n"
        "ok      200    0.002      1234  http://h:8080/\n"
        "dead    404    0.001       153  http://h:8080/missing.html\n"
        "      found on http://h:8080/\n"
        "      found on http://h:8080/p00\n"
        "      found on http://h:8080/p01\n"
        "      found on http://h:8080/p02\n"
        "      found on http://h:8080/p03\n"
        "      found on http://h:8080/p04\n"
        "      found on http://h:8080/p05\n"
        "      found on http://h:8080/p06\n"
        "      found on http://h:8080/p07\n"
        "      found on http://h:8080/p08\n"
        "      ... and 3 more\n"
        "ok      200    0.002      1234  http://h:8080/p00\n"
        "ok      200    0.002      1234  http://h:8080/p01\n"
        "ok      200    0.002      1234  http://h:8080/p02\n"
        "ok      200    0.002      1234  http://h:8080/p03\n"
        "ok      200    0.002      1234  http://h:8080/p04\n"
        "ok      200    0.002      1234  http://h:8080/p05\n"
        "ok      200    0.002      1234  http://h:8080/p06\n"
        "ok      200    0.002      1234  http://h:8080/p07\n"
        "ok      200    0.002      1234  http://h:8080/p08\n"
        "ok      200    0.002      1234  http://h:8080/p09\n"
        "ok      200    0.002      1234  http://h:8080/p10\n"
        "ok      200    0.002      1234  http://h:8080/p11\n"
        "warn    200    0.002      1234  http://h:8080/r1  -> "
        "http://h:8080/final.html\n"
        "      warning: redirected to http://h:8080/final.html\n"
        "ok      200    0.002      1234  http://h:8080/zeta\n"
        "dead    ---   10.002         0  http://h:8081/hang  (Timeout was "
        "reached)\n"
        "      found on http://h:8080/\n");
    free(text);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);

    st = sample_run(&r, "table", true);
    text = report_text(&r, &ndead, &nparsed);
    assert_int_equal(ndead, 3);
    assert_null(strstr(text, "ok "));
    assert_non_null(strstr(text, "RESULT CODE"));
    assert_non_null(strstr(text, "dead    ---   10.002"));
    free(text);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_jsonl_reads_back_with_every_field(void **state)
{
    struct lc__state *st;
    struct lc__run r;
    size_t ndead;
    size_t nparsed;
    size_t lines = 0;
    char *text;
    char *line;
    char *save = NULL;
    char prev[64] = "";

    (void)state;
    st = sample_run(&r, "jsonl", false);
    text = report_text(&r, &ndead, &nparsed);
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        const char *url;

        if (o == NULL)
            fail_msg("line %zu is no JSON: %s", lines + 1, jerr.text);
        assert_true(json_is_object(o));
        assert_int_equal(json_object_size(o), 16);
        url = json_string_value(json_object_get(o, "url"));
        assert_non_null(url);
        assert_true(strcmp(prev, url) < 0); /* sorted */
        snprintf(prev, sizeof(prev), "%s", url);
        if (strcmp(url, "http://h:8080/missing.html") == 0) {
            json_t *refs = json_object_get(o, "found_on");

            assert_true(json_is_false(json_object_get(o, "ok")));
            assert_int_equal(json_integer_value(json_object_get(o, "status")),
                             404);
            assert_true(json_is_null(json_object_get(o, "error")));
            assert_int_equal(json_array_size(refs), 13);
            assert_string_equal(json_string_value(json_array_get(refs, 1)),
                                "http://h:8080/p00");
            assert_int_equal(
                json_integer_value(json_object_get(o, "found_on_count")), 13);
            assert_int_equal(json_integer_value(json_object_get(o, "depth")),
                             1);
            assert_int_equal(json_integer_value(json_object_get(o, "size")),
                             153);
            assert_true(json_real_value(json_object_get(o, "time")) == 0.001);
            assert_string_equal(json_string_value(json_object_get(o, "method")),
                                "GET");
            assert_true(json_is_false(json_object_get(o, "parsed")));
        } else if (strcmp(url, "http://h:8080/") == 0) {
            assert_true(json_is_true(json_object_get(o, "ok")));
            assert_true(json_is_true(json_object_get(o, "parsed")));
            assert_int_equal(json_integer_value(json_object_get(o, "depth")),
                             0);
            assert_int_equal(json_array_size(json_object_get(o, "found_on")),
                             0);
        } else if (strcmp(url, "http://h:8080/r1") == 0) {
            assert_string_equal(
                json_string_value(json_object_get(o, "final_url")),
                "http://h:8080/final.html");
            assert_int_equal(
                json_integer_value(json_object_get(o, "redirects")), 2);
            assert_string_equal(json_string_value(json_object_get(o, "result")),
                                "warning");
            assert_string_equal(json_string_value(json_array_get(
                                    json_object_get(o, "warnings"), 0)),
                                "redirected to http://h:8080/final.html");
            assert_true(json_is_true(json_object_get(o, "ok")));
        } else if (strcmp(url, "http://h:8081/hang") == 0) {
            assert_int_equal(json_integer_value(json_object_get(o, "status")),
                             0);
            assert_string_equal(json_string_value(json_object_get(o, "error")),
                                "Timeout was reached");
            assert_true(json_real_value(json_object_get(o, "time")) == 10.002);
        } else if (strcmp(url, "ftp://h/f") == 0) {
            assert_true(json_is_null(json_object_get(o, "method")));
            assert_true(json_is_false(json_object_get(o, "ok")));
        }
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, r.nrecs);
    assert_int_equal(lines, 18);
    free(text);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

static void
test_jsonl_field_order_and_bad_utf8(void **state)
{
    const char *kv[] = {"1", "urls.txt", "format", "jsonl", NULL};
    struct lc__state *st;
    struct lc__run r;
    size_t ndead;
    size_t nparsed;
    size_t i;
    char *text;

    (void)state;
    st = master_with(kv, 1, &r);
    assert_int_equal(
        lc__rec_get(&r, "bad\xff\xc3(", 0, LC__MSG_DEAD, "invalid URL: x", &i),
        0);
    assert_int_equal(lc__rec_ref(&r, i, 7), 0);
    text = report_text(&r, &ndead, &nparsed);
    assert_int_equal(ndead, 1);
    assert_string_equal(text,
                        "{\"url\": \"bad\xef\xbf\xbd\xef\xbf\xbd(\", "
                        "\"result\": \"dead\", \"ok\": "
                        "false, \"status\": 0, \"final_url\": \"bad\xef\xbf"
                        "\xbd\xef\xbf\xbd(\", \"time\": 0.0, \"size\": 0, "
                        "\"error\": \"invalid URL: x\", \"warnings\": [], "
                        "\"skip\": null, \"redirects\": 0, "
                        "\"method\": null, \"parsed\": false, \"depth\": 0, "
                        "\"found_on\": [\"urls.txt:7\"], \"found_on_count\": "
                        "1}\n");
    free(text);
    lc__run_cleanup(&r);
    tf_job_linkcheck.fini(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_takes_defaults_and_every_option),
        cmocka_unit_test(test_init_rejects_bad_options_naming_them),
        cmocka_unit_test(test_allowed_hosts_match_host_and_port),
        cmocka_unit_test(test_equivalent_links_normalize_to_one_url),
        cmocka_unit_test(test_normalization_ports_case_paths_and_escapes),
        cmocka_unit_test(test_invalid_urls_are_dead_with_curls_reason),
        cmocka_unit_test(
            test_schemes_other_than_http_are_ignored_skipped_or_dead),
        cmocka_unit_test(test_links_come_from_the_right_tags_and_attributes),
        cmocka_unit_test(test_entities_are_decoded_in_values),
        cmocka_unit_test(test_comments_script_and_style_hide_tags),
        cmocka_unit_test(test_base_href_is_the_first_and_resolves_links),
        cmocka_unit_test(
            test_page_links_are_distinct_and_dead_ones_carry_their_error),
        cmocka_unit_test(test_malformed_html_never_crashes),
        cmocka_unit_test(test_a_page_with_5000_links_gives_each_once),
        cmocka_unit_test(test_content_types_that_are_parsed),
        cmocka_unit_test(test_a_tag_torn_at_the_cut_gives_no_link),
        cmocka_unit_test(test_charset_from_header_bom_meta_or_the_bytes),
        cmocka_unit_test(
            test_backslashes_and_same_scheme_links_as_browsers_read_them),
        cmocka_unit_test(
            test_every_named_reference_and_the_legacy_ones_without_semicolon),
        cmocka_unit_test(test_every_kind_of_link_is_found),
        cmocka_unit_test(test_srcset_candidates_with_descriptors_and_commas),
        cmocka_unit_test(test_meta_refresh_urls),
        cmocka_unit_test(test_form_action_is_reported_not_followed),
        cmocka_unit_test(
            test_css_links_in_style_elements_attributes_and_sheets),
        cmocka_unit_test(test_anchors_are_ids_and_names_of_a_each_once),
        cmocka_unit_test(
            test_fragments_are_decoded_and_top_or_text_ones_dropped),
        cmocka_unit_test(test_other_schemes_and_bases_are_reported_not_checked),
        cmocka_unit_test(test_task_lines_round_trip_and_bad_ones_are_refused),
        cmocka_unit_test(test_result_lines_round_trip_with_tabs_made_spaces),
        cmocka_unit_test(test_bad_result_lines_are_refused),
        cmocka_unit_test(test_submit_hook_deduplicates_and_chooses_pages),
        cmocka_unit_test(test_referrers_keep_100_and_count_all),
        cmocka_unit_test(test_next_spreads_small_frontiers_and_caps_batches),
        cmocka_unit_test(test_done_fills_records_and_marks_the_unreported_dead),
        cmocka_unit_test(test_max_pages_counts_the_pages_parsed),
        cmocka_unit_test(test_anchors_missing_on_parsed_pages_are_dead_links),
        cmocka_unit_test(test_scope_options_skip_or_leave_out_urls),
        cmocka_unit_test(test_a_host_that_failed_ends_its_other_urls_at_once),
        cmocka_unit_test(test_a_form_action_that_is_also_a_link_is_checked),
        cmocka_unit_test(test_results_and_warnings),
        cmocka_unit_test(test_url_file_lines_are_checked_once_with_every_line),
        cmocka_unit_test(test_url_file_errors_name_file_and_line),
        cmocka_unit_test(test_table_is_sorted_with_referrers_of_dead_links),
        cmocka_unit_test(test_jsonl_reads_back_with_every_field),
        cmocka_unit_test(test_jsonl_field_order_and_bad_utf8),
    };

    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
