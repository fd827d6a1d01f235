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
test_schemes_other_than_http_are_ignored_or_dead(void **state)
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
    assert_dead(PAGE, "ftp://127.0.0.1/f", true, "ftp://127.0.0.1/f",
                "protocol not allowed: ftp");
    assert_dead(PAGE, "FILE:///etc/passwd", true, "FILE:///etc/passwd",
                "protocol not allowed: file");
    assert_dead(PAGE, "gopher://h/", true, "gopher://h/",
                "protocol not allowed: gopher");
    /* In a file of URLs nothing is ignored: a mailto: is no URL to check. */
    assert_dead(NULL, "mailto:x@y", false, "mailto:x@y",
                "protocol not allowed: mailto");
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
    assert_links("<a href=\"a1\">x</a><area href='a2'><link rel=x href=a3>"
                 "<img src=i1><script src=\"s1\"></script><iframe src=f1>"
                 "<frame src=f2><source src=s2><embed src=e1><audio src=au>"
                 "<video src=v1 poster=no>",
                 "a1 a2 a3 i1 s1 f1 f2 s2 e1 au v1");
    /* The wrong attribute or tag gives nothing. */
    assert_links("<a src=no><img href=no><div href=no><abbr href=no>"
                 "<ab href=no><p src=no>",
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
    /* Not references: left as they are. */
    assert_links("<a href='a&b&amp&#;&#x;&nbsp;&#12'>",
                 "a&b&amp&#;&#x;&nbsp;&#12");
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
    assert_int_equal(subs.n, 2);
    assert_string_equal(subs.v[0], PAGE "\thttp://127.0.0.1:8080/sub/a.html");
    assert_string_equal(subs.v[1], PAGE "\thttp://127.0.0.1:8080/sub/b.html");
    lc__strs_cleanup(&subs);
    /* Without a base, links resolve against the final URL. */
    html = "<a href=c.html>";
    assert_int_equal(page_links(PAGE, "http://127.0.0.1:8080/dir/final.html",
                                html, strlen(html), &subs),
                     0);
    assert_int_equal(subs.n, 1);
    assert_string_equal(subs.v[0], PAGE "\thttp://127.0.0.1:8080/dir/c.html");
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
        "<a href='http://a b/'><img src=b.html>";

    (void)state;
    assert_int_equal(page_links(PAGE, NULL, html, strlen(html), &subs), 0);
    assert_int_equal(subs.n, 3);
    assert_string_equal(subs.v[0], PAGE "\thttp://127.0.0.1:8080/b.html");
    assert_string_equal(subs.v[1],
                        PAGE "\tftp://h/f\tprotocol not allowed: ftp");
    assert_non_null(strstr(subs.v[2], PAGE "\thttp://a b/\tinvalid URL: "));
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
    assert_int_equal(subs.n, 5);
    assert_string_equal(subs.v[0], PAGE "\thttp://127.0.0.1:8080/b/x&y");
    assert_string_equal(subs.v[1], PAGE "\thttp://127.0.0.1:8080/b/i.png");
    assert_string_equal(subs.v[2], PAGE "\thttp://127.0.0.1:8080/b/u");
    assert_string_equal(subs.v[3], PAGE "\thttp://h:1/A");
    assert_string_equal(subs.v[4], PAGE "\thttp://127.0.0.1:8080/b/ar");
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
                                       "<a href='./p%zu.html#again'>\n",
                                       i, i, i),
                         0);
    assert_int_equal(page_links(PAGE, NULL, (char *)html.data, html.len, &subs),
                     0);
    assert_int_equal(subs.n, 5000);
    assert_string_equal(subs.v[0], PAGE "\thttp://127.0.0.1:8080/p0.html");
    assert_string_equal(subs.v[4999],
                        PAGE "\thttp://127.0.0.1:8080/p4999.html");
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
    rec.retries = 2;
    assert_int_equal(lc__rec_result(st, &rec), LC__WARN);
    assert_int_equal(lc__rec_warnings(st, &rec, &w), 0);
    assert_int_equal(w.n, 4);
    assert_string_equal(w.v[0], "redirected to http://s/b");
    assert_string_equal(w.v[1], "slow: 1.5 s");
    assert_string_equal(w.v[2], "cut at 1024 bytes (--max-body): links after "
                                "it not checked");
    assert_string_equal(w.v[3], "retried 2 times");
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
        cmocka_unit_test(test_schemes_other_than_http_are_ignored_or_dead),
        cmocka_unit_test(test_links_come_from_the_right_tags_and_attributes),
        cmocka_unit_test(test_entities_are_decoded_in_values),
        cmocka_unit_test(test_comments_script_and_style_hide_tags),
        cmocka_unit_test(test_base_href_is_the_first_and_resolves_links),
        cmocka_unit_test(
            test_page_links_are_distinct_and_dead_ones_carry_their_error),
        cmocka_unit_test(test_malformed_html_never_crashes),
        cmocka_unit_test(test_a_page_with_5000_links_gives_each_once),
        cmocka_unit_test(test_content_types_that_are_parsed),
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
        cmocka_unit_test(test_results_and_warnings),
        cmocka_unit_test(test_url_file_lines_are_checked_once_with_every_line),
        cmocka_unit_test(test_url_file_errors_name_file_and_line),
        cmocka_unit_test(test_table_is_sorted_with_referrers_of_dead_links),
        cmocka_unit_test(test_jsonl_reads_back_with_every_field),
        cmocka_unit_test(test_jsonl_field_order_and_bad_utf8),
    };

    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
