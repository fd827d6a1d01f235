/* test_job_linkcheck_robots.c - the linkcheck job's reading of robots.txt:
 * groups, rules, wildcards, escapes and the file's form, with the examples
 * of RFC 9309 and the robots.txt of real sites */
#include "tf_test.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "linkcheck/linkcheck.h"

#define AGENT "taskfarm-linkcheck"

/* The rules of robots.txt TXT for the robot AGENT_ (parsing cannot fail). */
static struct lc__robots *
parse_for(const char *txt, const char *agent)
{
    struct lc__robots *r = NULL;

    assert_int_equal(lc__robots_parse(txt, strlen(txt), agent, &r), 0);
    assert_non_null(r);
    return r;
}

static struct lc__robots *
parse(const char *txt)
{
    return parse_for(txt, AGENT);
}

/* Whether robots.txt TXT lets AGENT_ fetch PATH. */
static bool
allows_for(const char *txt, const char *agent, const char *path)
{
    struct lc__robots *r = parse_for(txt, agent);
    bool ok = lc__robots_allows(r, path);

    lc__robots_free(r);
    return ok;
}

static bool
allows(const char *txt, const char *path)
{
    return allows_for(txt, AGENT, path);
}

/* RFC 9309, 5.1: four groups, one for two robots, one with no rules. */
static const char rfc_simple[] = "User-Agent: *\n"
                                 "Disallow: *.gif$\n"
                                 "Disallow: /example/\n"
                                 "Allow: /publications/\n"
                                 "\n"
                                 "User-Agent: foobot\n"
                                 "Disallow:/\n"
                                 "Allow:/example/page.html\n"
                                 "Allow:/example/allowed.gif\n"
                                 "\n"
                                 "User-Agent: barbot\n"
                                 "User-Agent: bazbot\n"
                                 "Disallow: /example/page.html\n"
                                 "\n"
                                 "User-Agent: quxbot\n"
                                 "\n"
                                 "EOF\n";

static void
test_rfc9309_simple_example(void **state)
{
    (void)state;
    /* foobot may fetch those two pages and nothing else. */
    assert_true(allows_for(rfc_simple, "foobot", "/example/page.html"));
    assert_true(allows_for(rfc_simple, "foobot", "/example/allowed.gif"));
    assert_false(allows_for(rfc_simple, "foobot", "/"));
    assert_false(allows_for(rfc_simple, "foobot", "/example/other.html"));
    assert_false(allows_for(rfc_simple, "foobot", "/publications/"));
    /* barbot and bazbot, everything but /example/page.html. */
    assert_false(allows_for(rfc_simple, "barbot", "/example/page.html"));
    assert_false(allows_for(rfc_simple, "bazbot", "/example/page.html"));
    assert_true(allows_for(rfc_simple, "barbot", "/example/x.gif"));
    assert_true(allows_for(rfc_simple, "bazbot", "/"));
    /* quxbot's group has no rules: everything, not the "*" rules. */
    assert_true(allows_for(rfc_simple, "quxbot", "/example/"));
    assert_true(allows_for(rfc_simple, "quxbot", "/a.gif"));
    /* Any other robot: the "*" group. */
    assert_false(allows(rfc_simple, "/example/"));
    assert_false(allows(rfc_simple, "/example/a/b.html"));
    assert_false(allows(rfc_simple, "/images/a.gif"));
    assert_true(allows(rfc_simple, "/images/a.gif?size=2"));
    assert_true(allows(rfc_simple, "/images/a.gifx"));
    assert_true(allows(rfc_simple, "/publications/"));
    assert_true(allows(rfc_simple, "/publications/a.html"));
    assert_true(allows(rfc_simple, "/"));
}

static void
test_rfc9309_longest_match(void **state)
{
    static const char txt[] = "User-Agent: foobot\n"
                              "Allow: /example/page/\n"
                              "Disallow: /example/page/disallowed.gif\n";

    (void)state;
    assert_true(allows_for(txt, "foobot", "/example/page/"));
    assert_true(allows_for(txt, "foobot", "/example/page/a.gif"));
    assert_false(allows_for(txt, "foobot", "/example/page/disallowed.gif"));
    assert_false(allows_for(txt, "foobot", "/example/page/disallowed.gif?x=1"));
    /* No rule matches: allowed. */
    assert_true(allows_for(txt, "foobot", "/example/"));
}

static void
test_allow_wins_a_tie_and_order_does_not_matter(void **state)
{
    (void)state;
    assert_true(allows("User-agent: *\nDisallow: /a\nAllow: /a\n", "/a"));
    assert_true(allows("User-agent: *\nAllow: /a\nDisallow: /a\n", "/a"));
    /* Equal lengths, different rules: still the Allow. */
    assert_true(allows("User-agent: *\nDisallow: /a*\nAllow: /ab\n", "/abc"));
    assert_true(allows("User-agent: *\nAllow: /ab\nDisallow: /a*\n", "/abc"));
    /* The longer one wins whatever its kind and place. */
    assert_false(allows("User-agent: *\nAllow: /a\nDisallow: /ab\n", "/abc"));
    assert_false(allows("User-agent: *\nDisallow: /ab\nAllow: /a\n", "/abc"));
    /* Length is the pattern's, not the part of the path it matched. */
    assert_false(
        allows("User-agent: *\nAllow: /a/b\nDisallow: /*a*/*b\n", "/a/b"));
}

/* RFC 9309, 2.2.1: the group that names the robot, else "*". */
static void
test_the_group_that_names_us_wins_over_star(void **state)
{
    static const char txt[] = "User-agent: *\n"
                              "Disallow: /\n"
                              "\n"
                              "User-agent: taskfarm\n"
                              "Disallow: /private/\n";

    (void)state;
    assert_true(allows(txt, "/public/"));
    assert_false(allows(txt, "/private/x"));
    assert_false(allows_for(txt, "otherbot", "/public/"));
    /* The full token and the first word, in any case. */
    assert_true(allows("User-agent: *\nDisallow: /\n"
                       "User-agent: TaskFarm-LinkCheck\nAllow: /\n",
                       "/x"));
    assert_true(allows("User-agent: *\nDisallow: /\n"
                       "User-agent: TASKFARM\nDisallow: /y\n",
                       "/x"));
    /* The value's token ends at the first character that is not a letter,
     * '-' or '_': a version or comment after it does not count. */
    assert_false(allows("User-agent: taskfarm-linkcheck/1.2 (+http://x/)\n"
                        "Disallow: /x\n",
                        "/x"));
    /* Other robots of the same first word, or a longer name, are not us. */
    assert_true(allows("User-agent: taskfarm-other\nDisallow: /\n", "/x"));
    assert_true(allows("User-agent: taskfarmer\nDisallow: /\n", "/x"));
    assert_true(allows("User-agent: task\nDisallow: /\n", "/x"));
    assert_true(allows("User-agent: linkcheck\nDisallow: /\n", "/x"));
    /* "*" is a whole value: "*bot" names nobody, "* " is "*". */
    assert_true(allows("User-agent: *bot\nDisallow: /\n", "/x"));
    assert_false(allows("User-agent: *   \nDisallow: /\n", "/x"));
}

static void
test_groups_for_the_same_agent_merge(void **state)
{
    static const char txt[] = "User-agent: taskfarm\n"
                              "Disallow: /a/\n"
                              "\n"
                              "User-agent: *\n"
                              "Disallow: /b/\n"
                              "\n"
                              "User-agent: taskfarm-linkcheck\n"
                              "Disallow: /c/\n"
                              "Allow: /a/ok\n"
                              "\n"
                              "User-agent: TaskFarm\n"
                              "Disallow: /d/\n";

    (void)state;
    assert_false(allows(txt, "/a/x"));
    assert_true(allows(txt, "/a/ok"));
    assert_true(allows(txt, "/b/x"));
    assert_false(allows(txt, "/c/x"));
    assert_false(allows(txt, "/d/x"));
    /* The "*" groups merge too. */
    assert_false(allows("User-agent: *\nDisallow: /a\n"
                        "User-agent: x\nDisallow: /\n"
                        "User-agent: *\nDisallow: /b\n",
                        "/b"));
}

static void
test_user_agent_lines_in_a_row_share_a_group(void **state)
{
    /* Blank lines do not end the run of User-agent lines (RFC 9309 2.1). */
    static const char txt[] = "User-agent: otherbot\n"
                              "\n"
                              "User-agent: taskfarm\n"
                              "\n"
                              "Disallow: /shared/\n"
                              "User-agent: otherbot\n"
                              "Disallow: /theirs/\n";

    (void)state;
    assert_false(allows(txt, "/shared/x"));
    assert_true(allows(txt, "/theirs/x"));
    assert_false(allows_for(txt, "otherbot", "/shared/x"));
    assert_false(allows_for(txt, "otherbot", "/theirs/x"));
    /* A rule before any User-agent line belongs to no group. */
    assert_true(allows("Disallow: /\nUser-agent: *\nDisallow: /x\n", "/y"));
    assert_true(allows("Disallow: /\n", "/y"));
}

static void
test_empty_disallow_allows_everything(void **state)
{
    (void)state;
    assert_true(allows("User-agent: *\nDisallow:\n", "/"));
    assert_true(allows("User-agent: *\nDisallow:   \n", "/a/b"));
    assert_true(allows("User-agent: *\nDisallow: # nothing\n", "/a/b"));
    /* An empty file, or one of comments, allows everything. */
    assert_true(allows("", "/"));
    assert_true(allows("# nothing here\n", "/a"));
    /* No robots.txt read: allowed; no delay. */
    assert_true(lc__robots_allows(NULL, "/a"));
    assert_true(lc__robots_delay(NULL) == 0);
    lc__robots_free(NULL);
}

static void
test_star_matches_any_run_and_dollar_the_end(void **state)
{
    (void)state;
    /* RFC 9309 2.2.3's examples. */
    assert_false(allows("User-agent: *\nDisallow: /this/path/exactly$\n",
                        "/this/path/exactly"));
    assert_true(allows("User-agent: *\nDisallow: /this/path/exactly$\n",
                       "/this/path/exactly/"));
    assert_true(allows("User-agent: *\nDisallow: /this/path/exactly$\n",
                       "/this/path/exactly?q"));
    assert_false(allows("User-agent: *\nDisallow: /this/*/exactly\n",
                        "/this/a/b/exactly/more"));
    assert_false(
        allows("User-agent: *\nDisallow: /this/*/exactly\n", "/this//exactly"));
    assert_true(
        allows("User-agent: *\nDisallow: /this/*/exactly\n", "/this/exactly"));
    /* A rule is a prefix: a final '*' changes nothing. */
    assert_false(allows("User-agent: *\nDisallow: /fish*\n", "/fish.html"));
    assert_false(allows("User-agent: *\nDisallow: /fish\n", "/fishheads"));
    assert_true(allows("User-agent: *\nDisallow: /fish\n", "/Fish.asp"));
    /* '*' alone, and leading. */
    assert_false(allows("User-agent: *\nDisallow: *\n", "/"));
    assert_false(allows("User-agent: *\nDisallow: *.php$\n", "/a/b.php"));
    assert_true(allows("User-agent: *\nDisallow: *.php$\n", "/a/b.php5"));
    assert_true(allows("User-agent: *\nDisallow: /*.php$\n", "/b.php?x"));
    assert_false(allows("User-agent: *\nDisallow: /*.php\n", "/b.php?x"));
    /* "/$" is the root alone. */
    assert_false(allows("User-agent: *\nDisallow: /$\n", "/"));
    assert_true(allows("User-agent: *\nDisallow: /$\n", "/a"));
    /* A '$' that does not end the pattern is a character. */
    assert_false(allows("User-agent: *\nDisallow: /a$b\n", "/a$b/c"));
    assert_true(allows("User-agent: *\nDisallow: /a$b\n", "/a"));
    /* "**", and a '*' before the '$'. */
    assert_false(allows("User-agent: *\nDisallow: /a**b$\n", "/axxb"));
    assert_false(allows("User-agent: *\nDisallow: /a*$\n", "/a"));
    assert_false(allows("User-agent: *\nDisallow: /a*$\n", "/abc"));
    /* The last segment must end the path: a later place counts. */
    assert_false(allows("User-agent: *\nDisallow: /*ab$\n", "/abxab"));
    assert_false(allows("User-agent: *\nDisallow: /*aab$\n", "/aaab"));
    assert_true(allows("User-agent: *\nDisallow: /*ab$\n", "/abxa"));
    /* Segments that overlap in the path must not. */
    assert_true(allows("User-agent: *\nDisallow: /*aba*bab\n", "/abab"));
    assert_false(allows("User-agent: *\nDisallow: /*aba*bab\n", "/ababab"));
    /* KMP: a partial match that restarts inside itself. */
    assert_false(
        allows("User-agent: *\nDisallow: /*aabaabaaa\n", "/aabaabaabaabaaa"));
}

/* RFC 9309 2.2.2: escapes of unreserved characters are the characters,
 * the others are compared with upper-case hex digits; non-ASCII is its
 * UTF-8 escaped. */
static void
test_escapes_compare_as_rfc9309_says(void **state)
{
    (void)state;
    /* "/foo/bar/%62%61%7A" is "/foo/bar/baz", both ways. */
    assert_false(allows("User-agent: *\nDisallow: /foo/bar/%62%61%7A\n",
                        "/foo/bar/baz"));
    assert_false(
        allows("User-agent: *\nDisallow: /foo/bar/baz\n", "/foo/bar/%62az"));
    /* U+30C4 as it is and escaped, in either case. */
    assert_false(allows("User-agent: *\nDisallow: /foo/bar/\xe3\x83\x84\n",
                        "/foo/bar/%E3%83%84"));
    assert_false(allows("User-agent: *\nDisallow: /foo/bar/%e3%83%84\n",
                        "/foo/bar/%E3%83%84"));
    assert_false(allows("User-agent: *\nDisallow: /foo/bar/%E3%83%84\n",
                        "/foo/bar/%e3%83%84"));
    assert_false(allows("User-agent: *\nDisallow: /foo/bar/%E3%83%84\n",
                        "/foo/bar/\xe3\x83\x84"));
    /* A reserved character and its escape differ (Wikipedia lists both
     * "/wiki/Special:" and "/wiki/Special%3A"). */
    assert_true(allows("User-agent: *\nDisallow: /a%3Ab\n", "/a:b"));
    assert_true(allows("User-agent: *\nDisallow: /a:b\n", "/a%3Ab"));
    assert_false(allows("User-agent: *\nDisallow: /a%3ab\n", "/a%3Ab"));
    /* "%2A" and "%24" match a '*' and a '$' (RFC 9309 2.2.3), as
     * characters: no wildcard, no end. */
    assert_false(allows("User-agent: *\nDisallow: /path/file-with-a-%2A.html\n",
                        "/path/file-with-a-*.html"));
    assert_true(allows("User-agent: *\nDisallow: /path/file-with-a-%2A.html\n",
                       "/path/file-with-a-x.html"));
    assert_false(
        allows("User-agent: *\nDisallow: /path/foo-%24\n", "/path/foo-$"));
    assert_true(
        allows("User-agent: *\nDisallow: /path/foo-%24\n", "/path/foo-"));
    assert_false(
        allows("User-agent: *\nDisallow: /path/foo-%24\n", "/path/foo-%24x"));
    /* A path's '*' is no wildcard: "/a*" does not match "/ab" through it. */
    assert_true(allows("User-agent: *\nDisallow: /a%2A\n", "/ab"));
    /* A space in a rule is the URL's "%20"; a '%' that starts no escape
     * is itself. */
    assert_false(allows("User-agent: *\nDisallow: /a b\n", "/a%20b"));
    assert_false(allows("User-agent: *\nDisallow: /50%\n", "/50%"));
    assert_false(allows("User-agent: *\nDisallow: /50%zz\n", "/50%zz"));
    assert_true(allows("User-agent: *\nDisallow: /50%zz\n", "/50%25zz"));
}

static void
test_comments_line_breaks_bom_and_lines_without_colon(void **state)
{
    (void)state;
    /* Comments, on their own line and after a rule. */
    assert_false(allows("# Disallow: /\nUser-agent: * # us\n"
                        "Disallow: /foo/quz#qux\nAllow: / # all\n",
                        "/foo/quz"));
    assert_true(allows("# Disallow: /\nUser-agent: * # us\n"
                       "Disallow: /foo/quz#qux\nAllow: / # all\n",
                       "/foo/bar"));
    /* CR, LF, CRLF, and no final line break. */
    assert_false(allows("User-agent: *\rDisallow: /a\r", "/a"));
    assert_false(allows("User-agent: *\r\nDisallow: /a\r\n", "/a"));
    assert_false(allows("User-agent: *\r\n\r\nDisallow: /a", "/a"));
    assert_false(allows("User-agent: *\nAllow: /a/b\r\nDisallow: /a", "/a/c"));
    assert_true(allows("User-agent: *\nAllow: /a/b\r\nDisallow: /a", "/a/b"));
    /* A byte order mark, or part of one, at the start. */
    assert_false(allows("\xef\xbb\xbfUser-agent: *\nDisallow: /a\n", "/a"));
    assert_false(allows("\xef\xbbUser-agent: *\nDisallow: /a\n", "/a"));
    /* Elsewhere, it is part of a line. */
    assert_true(allows("User-agent: *\n\xef\xbb\xbf"
                       "Disallow: /a\n",
                       "/a"));
    /* Lines without ':' are passed over. */
    assert_true(allows("User-agent: *\nDisallow /a\n", "/a"));
    assert_true(allows("User-agent *\nDisallow: /a\n", "/a"));
    /* Keys in any case, blanks around them and their values. */
    assert_false(allows("USER-AGENT:*\n  disALLOW \t:\t/a  \n", "/a"));
    /* Misspellings of Disallow that are common enough to be read. */
    assert_false(allows("User-agent: *\nDisalow: /a\n", "/a"));
    assert_false(allows("useragent: *\ndissallow: /a\n", "/a"));
    /* Other keys, known or not, change nothing, nor end a group. */
    assert_false(allows("User-agent: *\nSitemap: http://x/s.xml\n"
                        "Host: x\nNoindex: /b\nDisallow: /a\n",
                        "/a"));
    assert_true(allows("User-agent: *\nSitemap: http://x/s.xml\n"
                       "Host: x\nNoindex: /b\nDisallow: /a\n",
                       "/b"));
    assert_false(allows_for("User-agent: x\nSitemap: http://x/s.xml\n"
                            "User-agent: *\nDisallow: /a\n",
                            "x", "/a"));
}

static void
test_crawl_delay_is_a_decimal_number(void **state)
{
    static const struct {
        const char *txt;
        double delay;
    } cases[] = {
        {"User-agent: *\nCrawl-delay: 10\n", 10},
        {"User-agent: *\nCrawl-delay: 0.5\n", 0.5},
        {"User-agent: *\ncrawl-delay:2.25 # slow\n", 2.25},
        {"User-agent: *\nCrawl-delay: .5\n", 0.5},
        {"User-agent: *\nCrawl-delay: 3.\n", 3},
        {"User-agent: *\nCrawl-delay: -1\n", 0},
        {"User-agent: *\nCrawl-delay: 1e3\n", 0},
        {"User-agent: *\nCrawl-delay: 0x10\n", 0},
        {"User-agent: *\nCrawl-delay: inf\n", 0},
        {"User-agent: *\nCrawl-delay: nan\n", 0},
        {"User-agent: *\nCrawl-delay: 5 seconds\n", 0},
        {"User-agent: *\nCrawl-delay:\n", 0},
        {"User-agent: *\nCrawl-delay: .\n", 0},
        /* Ours, not the "*" one. */
        {"User-agent: *\nCrawl-delay: 9\nUser-agent: taskfarm\n"
         "Crawl-delay: 2\n",
         2},
        /* None for us, though "*" gives one: our group rules. */
        {"User-agent: *\nCrawl-delay: 9\nUser-agent: taskfarm\n"
         "Disallow: /x\n",
         0},
        /* Two for us: the larger. */
        {"User-agent: taskfarm\nCrawl-delay: 1\nUser-agent: x\n"
         "Disallow: /\nUser-agent: taskfarm-linkcheck\nCrawl-delay: 4\n",
         4},
        /* Before any User-agent line: no group's. */
        {"Crawl-delay: 7\nUser-agent: *\nDisallow: /x\n", 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lc__robots *r = parse(cases[i].txt);

        if (lc__robots_delay(r) != cases[i].delay)
            fail_msg("case %zu: delay %g, expected %g", i, lc__robots_delay(r),
                     cases[i].delay);
        lc__robots_free(r);
    }
}

static void
test_robots_txt_itself_and_empty_paths(void **state)
{
    (void)state;
    assert_true(allows("User-agent: *\nDisallow: /\n", "/robots.txt"));
    assert_false(allows("User-agent: *\nDisallow: /\n", "/robots.txt?x"));
    /* An empty path is "/". */
    assert_false(allows("User-agent: *\nDisallow: /$\n", ""));
    assert_true(allows("User-agent: *\nDisallow: /a\n", ""));
}

/* The first 500 KiB are read; a line cut at the limit is not. */
static void
test_only_the_first_500_kib_are_read(void **state)
{
    size_t limit = 500 * 1024;
    size_t n = limit + 4096;
    char *txt = malloc(n + 1);
    static const char head[] = "User-agent: *\nDisallow: /first\n";
    struct lc__robots *r;
    size_t i;

    (void)state;
    assert_non_null(txt);
    memcpy(txt, head, sizeof(head) - 1);
    for (i = sizeof(head) - 1; i < n; i++)
        txt[i] = i % 64 == 63 ? '\n' : '#';
    /* A rule that ends before the limit, one cut by it ("/cut" read as
     * "/c" would disallow "/c..."), and one after it. */
    memcpy(txt + limit - 200, "\nDisallow: /inside\n", 19);
    memcpy(txt + limit - 13, "\nDisallow: /cut\n", 16);
    memcpy(txt + limit + 1000, "\nDisallow: /after\n", 18);
    txt[n] = '\0';
    assert_int_equal(lc__robots_parse(txt, n, AGENT, &r), 0);
    assert_false(lc__robots_allows(r, "/first"));
    assert_false(lc__robots_allows(r, "/inside"));
    assert_true(lc__robots_allows(r, "/cut"));
    assert_true(lc__robots_allows(r, "/c"));
    assert_true(lc__robots_allows(r, "/after"));
    lc__robots_free(r);
    free(txt);
}

/* Any bytes: NULs, bytes past ASCII, lone CRs, nothing but separators. */
static void
test_any_bytes_are_read_without_harm(void **state)
{
    static const char txt[] = "User-agent: *\nDisallow: /a\0b\n"
                              "Disallow: /\xff\xfe\n\0\0:\0\n:::\n"
                              "Allow: \x01\n";
    struct lc__robots *r;
    unsigned seed = 12345;
    char junk[4096];
    int round;
    size_t i;

    (void)state;
    assert_int_equal(lc__robots_parse(txt, sizeof(txt) - 1, AGENT, &r), 0);
    /* The NUL is a byte of the rule: "/a%00b". */
    assert_true(lc__robots_allows(r, "/a"));
    assert_false(lc__robots_allows(r, "/a%00b"));
    assert_false(lc__robots_allows(r, "/%FF%FE/x"));
    lc__robots_free(r);
    /* Random bytes from a small alphabet of what matters. */
    for (round = 0; round < 200; round++) {
        static const char alphabet[] =
            "UuSsEeRr-AaGgNnTt:*$%/\n\r# \0DdIiLlOoWw"
            "\xef\xbb\xbf";

        for (i = 0; i < sizeof(junk); i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        assert_int_equal(lc__robots_parse(junk, sizeof(junk), AGENT, &r), 0);
        (void)lc__robots_allows(r, "/");
        (void)lc__robots_allows(r, "/a/%2A$*");
        (void)lc__robots_delay(r);
        lc__robots_free(r);
    }
}

/*
 * Whether pattern P (with '*', and '$' at its end) matches the start of
 * path S, by the definition: tried at every split, exponential, for short
 * strings of letters and '/' only.
 */
static bool
reference_match(const char *p, const char *s)
{
    if (*p == '\0')
        return true;
    if (p[0] == '$' && p[1] == '\0')
        return *s == '\0';
    if (*p == '*') {
        for (;; s++) {
            if (reference_match(p + 1, s))
                return true;
            if (*s == '\0')
                return false;
        }
    }
    return *s == *p && reference_match(p + 1, s + 1);
}

/* The matcher agrees with the definition on every pattern and path drawn
 * from a small alphabet, where overlaps and repeats are common. */
static void
test_wildcard_matching_agrees_with_the_definition(void **state)
{
    unsigned seed = 42;
    char pat[16];
    char path[20];
    char txt[64];
    int round;

    (void)state;
    for (round = 0; round < 20000; round++) {
        size_t np;
        size_t ns;
        size_t i;

        seed = seed * 1103515245u + 12345u;
        np = 1 + (seed >> 16) % 10;
        seed = seed * 1103515245u + 12345u;
        ns = (seed >> 16) % 14;
        pat[0] = '/';
        for (i = 1; i < np; i++) {
            seed = seed * 1103515245u + 12345u;
            pat[i] = "ab*/"[(seed >> 16) % 4];
        }
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 3 == 0)
            pat[np++] = '$';
        pat[np] = '\0';
        path[0] = '/';
        for (i = 1; i <= ns; i++) {
            seed = seed * 1103515245u + 12345u;
            path[i] = "ab/"[(seed >> 16) % 3];
        }
        path[ns + 1] = '\0';
        snprintf(txt, sizeof(txt), "User-agent: *\nDisallow: %s\n", pat);
        if (allows(txt, path) == reference_match(pat, path))
            fail_msg("pattern \"%s\", path \"%s\": %s", pat, path,
                     reference_match(pat, path) ? "should match"
                                                : "should not match");
    }
}

/* Patterns made to make a backtracking matcher take exponential or
 * quadratic time are matched in one pass. */
static void
test_many_stars_match_in_linear_time(void **state)
{
    size_t nstars = 30000;
    size_t npath = 200000;
    char *txt = malloc(32 + 2 * nstars + 8);
    char *path = malloc(npath + 2);
    struct lc__robots *r;
    size_t k;
    size_t i;

    (void)state;
    assert_non_null(txt);
    assert_non_null(path);
    k = (size_t)sprintf(txt, "User-agent: *\nDisallow: /");
    for (i = 0; i < nstars; i++) {
        txt[k++] = '*';
        txt[k++] = 'a';
    }
    memcpy(txt + k, "b$\n", 4);
    k += 3;
    path[0] = '/';
    memset(path + 1, 'a', npath);
    path[npath + 1] = '\0';
    assert_int_equal(lc__robots_parse(txt, k, AGENT, &r), 0);
    assert_true(lc__robots_allows(r, path));
    path[npath] = 'b';
    assert_false(lc__robots_allows(r, path));
    lc__robots_free(r);
    free(txt);
    free(path);
}

/* An excerpt of github.com/robots.txt (2024): a Crawl-delay alone in the
 * first group, wildcards in the middle of paths and queries. */
static const char github[] =
    "# If you would like to crawl GitHub contact us via "
    "https://support.github.com?tags=dotcom-robots\n"
    "# We also provide an extensive API: https://docs.github.com\n"
    "User-agent: baidu\n"
    "crawl-delay: 1\n"
    "\n"
    "\n"
    "User-agent: *\n"
    "\n"
    "Disallow: /*/*/pulse\n"
    "Disallow: /*/*/projects\n"
    "Disallow: /*/*/forks\n"
    "Disallow: /*/*/issues/new\n"
    "Disallow: /*/*/commits/\n"
    "Disallow: /*/tree/\n"
    "Disallow: /gist/\n"
    "Disallow: /*/commits/*?author\n"
    "Disallow: /*/archive/\n"
    "Disallow: /*/raw/\n"
    "Disallow: /.git/\n"
    "Disallow: */.git/\n"
    "Disallow: /*.git$\n"
    "Disallow: /search/advanced\n"
    "Disallow: /search$\n"
    "Disallow: /*q=\n"
    "Disallow: /*.atom$\n"
    "Disallow: */tarball/\n"
    "Disallow: */zipball/\n"
    "\n"
    "Disallow: /*source=*\n"
    "Disallow: /*ref_cta=*\n"
    "Disallow: /*return_to=*\n"
    "Disallow: /*tab=*\n"
    "Allow: /*?tab=achievements&achievement=*\n"
    "\n"
    "Disallow: /account-login\n";

static void
test_github_robots_txt(void **state)
{
    struct lc__robots *r;

    (void)state;
    r = parse(github);
    assert_true(lc__robots_delay(r) == 0);
    assert_true(lc__robots_allows(r, "/"));
    assert_true(lc__robots_allows(r, "/torvalds/linux"));
    assert_true(lc__robots_allows(r, "/torvalds/linux/blob/master/README"));
    assert_false(lc__robots_allows(r, "/torvalds/linux/pulse"));
    assert_false(lc__robots_allows(r, "/torvalds/linux/tree/master/kernel"));
    assert_false(lc__robots_allows(r, "/torvalds/linux/commits/master"));
    assert_false(
        lc__robots_allows(r, "/torvalds/linux/commits/master?author=x"));
    assert_false(lc__robots_allows(r, "/torvalds/linux.git"));
    assert_true(lc__robots_allows(r, "/torvalds/linux.github.io"));
    assert_false(lc__robots_allows(r, "/a/b/.git/config"));
    assert_false(lc__robots_allows(r, "/search"));
    assert_false(lc__robots_allows(r, "/search?q=rust"));
    assert_true(lc__robots_allows(r, "/search-tips"));
    assert_false(lc__robots_allows(r, "/search/advanced?x"));
    assert_false(lc__robots_allows(r, "/torvalds/linux/releases.atom"));
    assert_false(lc__robots_allows(r, "/torvalds?tab=repositories"));
    /* The longer Allow lets one tab through. */
    assert_true(
        lc__robots_allows(r, "/torvalds?tab=achievements&achievement=x"));
    assert_false(lc__robots_allows(r, "/login?return_to=%2Fx"));
    assert_false(lc__robots_allows(r, "/account-login"));
    assert_true(lc__robots_allows(r, "/robots.txt"));
    lc__robots_free(r);
    /* baidu's group is the Crawl-delay alone: it ends before "*". */
    r = parse_for(github, "baidu");
    assert_true(lc__robots_delay(r) == 1);
    assert_true(lc__robots_allows(r, "/torvalds/linux/pulse"));
    assert_true(lc__robots_allows(r, "/search"));
    lc__robots_free(r);
}

/* An excerpt of en.wikipedia.org/robots.txt: groups for many robots, an
 * empty Disallow, reserved characters written both ways, query rules. */
static const char wikipedia[] =
    "#\n"
    "# Please note: There are a lot of pages on this site, and there are\n"
    "# some misbehaved spiders out there that go _way_ too fast.\n"
    "#\n"
    "# Wikipedia work bots:\n"
    "User-agent: IsraBot\n"
    "Disallow:\n"
    "\n"
    "User-agent: Orthogaffe\n"
    "Disallow:\n"
    "\n"
    "# Crawlers that are kind enough to obey, but which we'd rather not have\n"
    "# unless they're feeding search engines.\n"
    "User-agent: UbiCrawler\n"
    "Disallow: /\n"
    "\n"
    "User-agent: DOC\n"
    "Disallow: /\n"
    "\n"
    "User-agent: Zao\n"
    "Disallow: /\n"
    "\n"
    "# Some bots are known to be trouble, particularly those designed to copy\n"
    "# entire sites. Please obey robots.txt.\n"
    "User-agent: sitecheck.internetseer.com\n"
    "Disallow: /\n"
    "\n"
    "User-agent: Zealbot\n"
    "Disallow: /\n"
    "\n"
    "#\n"
    "# Sorry, wget in its recursive mode is a frequent problem.\n"
    "#\n"
    "User-agent: wget\n"
    "Disallow: /\n"
    "\n"
    "#\n"
    "# Doesn't follow robots.txt anyway, but...\n"
    "#\n"
    "User-agent: k2spider\n"
    "Disallow: /\n"
    "\n"
    "User-agent: *\n"
    "Allow: /w/api.php?action=mobileview&\n"
    "Allow: /w/load.php?\n"
    "Allow: /api/rest_v1/?doc\n"
    "Disallow: /w/\n"
    "Disallow: /api/\n"
    "Disallow: /trap/\n"
    "Disallow: /wiki/Special:\n"
    "Disallow: /wiki/Spezial:\n"
    "Disallow: /wiki/Special%3A\n"
    "Disallow: /wiki/Spezial%3A\n"
    "#\n"
    "# ar:\n"
    "Disallow: /wiki/%D8%AE%D8%A7%D8%B5:Search\n"
    "Disallow: /wiki/%D8%AE%D8%A7%D8%B5%3ASearch\n"
    "#\n"
    "Disallow: /wiki/Wikipedia:Articles_for_deletion/\n"
    "Disallow: /wiki/Wikipedia%3AArticles_for_deletion/\n";

static void
test_wikipedia_robots_txt(void **state)
{
    struct lc__robots *r;

    (void)state;
    r = parse(wikipedia);
    assert_true(lc__robots_allows(r, "/wiki/Robots.txt"));
    assert_false(lc__robots_allows(r, "/w/index.php?title=X&action=edit"));
    assert_true(lc__robots_allows(r, "/w/load.php?lang=en&modules=site"));
    assert_true(lc__robots_allows(r, "/w/api.php?action=mobileview&page=X"));
    assert_false(lc__robots_allows(r, "/w/api.php?action=query"));
    assert_true(lc__robots_allows(r, "/api/rest_v1/?doc"));
    assert_false(lc__robots_allows(r, "/api/rest_v1/page/x"));
    assert_false(lc__robots_allows(r, "/wiki/Special:Random"));
    assert_false(lc__robots_allows(r, "/wiki/Special%3ARandom"));
    assert_false(lc__robots_allows(r, "/wiki/%D8%AE%D8%A7%D8%B5:Search"));
    assert_false(
        lc__robots_allows(r, "/wiki/Wikipedia:Articles_for_deletion/X"));
    assert_true(lc__robots_allows(r, "/wiki/Wikipedia:About"));
    lc__robots_free(r);
    /* The robots of their own groups. */
    assert_true(allows_for(wikipedia, "IsraBot", "/w/index.php"));
    assert_false(allows_for(wikipedia, "Wget", "/wiki/Robots.txt"));
    assert_false(allows_for(wikipedia, "zao", "/"));
    /* "sitecheck.internetseer.com": the token ends at the '.'. */
    assert_false(allows_for(wikipedia, "sitecheck", "/"));
}

/* An excerpt of www.google.com/robots.txt: '*' and '$' in queries, where
 * the longest rule decides between Allow and Disallow at every step. */
static const char google[] = "User-agent: *\n"
                             "Disallow: /search\n"
                             "Allow: /search/about\n"
                             "Allow: /search/static\n"
                             "Allow: /search/howsearchworks\n"
                             "Disallow: /sdch\n"
                             "Disallow: /groups\n"
                             "Disallow: /index.html?\n"
                             "Disallow: /?\n"
                             "Allow: /?hl=\n"
                             "Disallow: /?hl=*&\n"
                             "Allow: /?hl=*&gws_rd=ssl$\n"
                             "Disallow: /?hl=*&*&gws_rd=ssl\n"
                             "Allow: /?gws_rd=ssl$\n"
                             "Allow: /?pt1=true$\n"
                             "Disallow: /imgres\n"
                             "Disallow: /u/\n"
                             "Disallow: /preferences\n"
                             "\n"
                             "User-agent: AdsBot-Google\n"
                             "Disallow: /maps/api/js/\n"
                             "\n"
                             "User-agent: Twitterbot\n"
                             "Allow: /imgres\n"
                             "\n"
                             "Sitemap: https://www.google.com/sitemap.xml\n";

static void
test_google_robots_txt(void **state)
{
    struct lc__robots *r;

    (void)state;
    r = parse(google);
    assert_true(lc__robots_allows(r, "/"));
    assert_false(lc__robots_allows(r, "/search?q=x"));
    assert_false(lc__robots_allows(r, "/searchx"));
    assert_true(lc__robots_allows(r, "/search/about"));
    assert_true(lc__robots_allows(r, "/search/howsearchworks/crawling/"));
    assert_true(lc__robots_allows(r, "/index.html"));
    assert_false(lc__robots_allows(r, "/index.html?x"));
    assert_false(lc__robots_allows(r, "/?q=x"));
    assert_true(lc__robots_allows(r, "/?hl=en"));
    assert_false(lc__robots_allows(r, "/?hl=en&q=x"));
    assert_true(lc__robots_allows(r, "/?hl=en&gws_rd=ssl"));
    assert_false(lc__robots_allows(r, "/?hl=en&gws_rd=ssl&x"));
    assert_false(lc__robots_allows(r, "/?hl=en&x=1&gws_rd=ssl"));
    assert_true(lc__robots_allows(r, "/?gws_rd=ssl"));
    assert_false(lc__robots_allows(r, "/?gws_rd=ssl&x"));
    assert_true(lc__robots_allows(r, "/?pt1=true"));
    assert_false(lc__robots_allows(r, "/imgres?imgurl=x"));
    lc__robots_free(r);
    assert_true(allows_for(google, "Twitterbot", "/imgres?imgurl=x"));
    assert_true(allows_for(google, "AdsBot-Google", "/search"));
    assert_false(allows_for(google, "adsbot-google", "/maps/api/js/x"));
}

/* robots.txt as Windows servers often give it: a byte order mark, CRLF,
 * a tab after the colon, a Crawl-delay, and one group for several robots
 * with blank lines between their names. */
static const char windows[] = "\xef\xbb\xbfUser-agent: *\r\n"
                              "Crawl-delay: 5\r\n"
                              "Disallow:\t/App_Data/\r\n"
                              "Disallow: /bin/\r\n"
                              "Disallow: /*.aspx?print=\r\n"
                              "\r\n"
                              "User-agent: AhrefsBot\r\n"
                              "\r\n"
                              "User-agent: TaskFarm\r\n"
                              "Disallow: /\r\n"
                              "Allow: /docs/\r\n"
                              "Crawl-delay: 0.25\r\n";

static void
test_windows_robots_txt(void **state)
{
    struct lc__robots *r;

    (void)state;
    r = parse(windows);
    assert_true(lc__robots_delay(r) == 0.25);
    assert_false(lc__robots_allows(r, "/"));
    assert_true(lc__robots_allows(r, "/docs/index.html"));
    assert_false(lc__robots_allows(r, "/bin/"));
    lc__robots_free(r);
    r = parse_for(windows, "otherbot");
    assert_true(lc__robots_delay(r) == 5);
    assert_true(lc__robots_allows(r, "/"));
    assert_false(lc__robots_allows(r, "/App_Data/x"));
    assert_false(lc__robots_allows(r, "/a/b.aspx?print=1"));
    assert_true(lc__robots_allows(r, "/a/b.aspx?id=1"));
    lc__robots_free(r);
    assert_false(allows_for(windows, "AhrefsBot", "/"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9309_simple_example),
        cmocka_unit_test(test_rfc9309_longest_match),
        cmocka_unit_test(test_allow_wins_a_tie_and_order_does_not_matter),
        cmocka_unit_test(test_the_group_that_names_us_wins_over_star),
        cmocka_unit_test(test_groups_for_the_same_agent_merge),
        cmocka_unit_test(test_user_agent_lines_in_a_row_share_a_group),
        cmocka_unit_test(test_empty_disallow_allows_everything),
        cmocka_unit_test(test_star_matches_any_run_and_dollar_the_end),
        cmocka_unit_test(test_escapes_compare_as_rfc9309_says),
        cmocka_unit_test(test_comments_line_breaks_bom_and_lines_without_colon),
        cmocka_unit_test(test_crawl_delay_is_a_decimal_number),
        cmocka_unit_test(test_robots_txt_itself_and_empty_paths),
        cmocka_unit_test(test_only_the_first_500_kib_are_read),
        cmocka_unit_test(test_any_bytes_are_read_without_harm),
        cmocka_unit_test(test_wildcard_matching_agrees_with_the_definition),
        cmocka_unit_test(test_many_stars_match_in_linear_time),
        cmocka_unit_test(test_github_robots_txt),
        cmocka_unit_test(test_wikipedia_robots_txt),
        cmocka_unit_test(test_google_robots_txt),
        cmocka_unit_test(test_windows_robots_txt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
