/* robots.c - the linkcheck job's reading of robots.txt (RFC 9309): the
 * rules of the groups that name our robot, and whether they allow a path */
#include "linkcheck.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "taskfarm.h"

/* RFC 9309 (2.5) asks a crawler to read at least 500 KiB; the rest of a
 * larger file is left unread. */
#define ROBOTS_MAX (500 * 1024)

/*
 * One Allow or Disallow rule. Its pattern is kept in the canonical form of
 * path_unit(), with '*' the only wildcard (a '*' or '$' meant as a
 * character is "%2A" or "%24" there). Between the wildcards are the
 * pattern's segments; FAIL holds, for each byte of the pattern, the
 * Knuth-Morris-Pratt failure function of its segment, so that a segment is
 * found in a path in time linear in both.
 */
struct rule {
    char *pat;      /* owned (with FAIL): the canonical pattern, no '$' */
    uint32_t *fail; /* owned: one entry per byte of PAT */
    size_t len;     /* bytes of PAT */
    size_t weight;  /* how specific: LEN, and one for a final '$' */
    bool anchored;  /* it ended with '$': the path ends where it does */
    bool allow;
};

/* The rules and the Crawl-delay of the groups for one kind of agent. */
struct ruleset {
    struct rule *v; /* owned */
    size_t n;
    size_t cap;
    double delay; /* the largest Crawl-delay given; 0: none */
};

struct lc__robots {
    struct ruleset set;
};

static void
ruleset_cleanup(struct ruleset *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i].fail);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

void
lc__robots_free(struct lc__robots *r)
{
    if (r == NULL)
        return;
    ruleset_cleanup(&r->set);
    free(r);
}

static bool
is_unreserved(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

static size_t
put_escape(char *out, int c)
{
    out[0] = '%';
    out[1] = "0123456789ABCDEF"[(c >> 4) & 15];
    out[2] = "0123456789ABCDEF"[c & 15];
    return 3;
}

/*
 * The canonical form of the first character of path P (N > 0 bytes left),
 * written to OUT (up to 3 bytes); sets *USED to the bytes of P it took.
 * RFC 9309 (2.2.2) compares paths with the escapes of unreserved characters
 * decoded and the others kept (their hex digits upper-cased here), and the
 * bytes a URL cannot hold as they are (non-ASCII, controls, space)
 * escaped. A '*' or '$' in a path is a character, written "%2A" and "%24"
 * (so that the pattern "/a-%2A" matches the path "/a-*", as RFC 9309 has
 * it, and a pattern's '*' can never match a path's byte as a character).
 */
static size_t
path_unit(const unsigned char *p, size_t n, char *out, size_t *used)
{
    int hi = n >= 3 && p[0] == '%' ? hexval(p[1]) : -1;
    int lo = hi >= 0 ? hexval(p[2]) : -1;

    if (lo >= 0) {
        *used = 3;
        if (is_unreserved(hi * 16 + lo)) {
            out[0] = (char)(hi * 16 + lo);
            return 1;
        }
        return put_escape(out, hi * 16 + lo);
    }
    *used = 1;
    if (p[0] <= ' ' || p[0] >= 0x7f || p[0] == '*' || p[0] == '$')
        return put_escape(out, p[0]);
    out[0] = (char)p[0];
    return 1;
}

/* A path read one canonical byte at a time (path_unit()), with no copy. */
struct cursor {
    const unsigned char *p; /* the rest of the path */
    size_t n;               /* its bytes */
    char unit[3];           /* the canonical bytes of the last character */
    size_t nunit;
    size_t iunit; /* the next of them */
};

/* The next canonical byte of C, or -1 at its end. */
static int
cursor_next(struct cursor *c)
{
    size_t used;

    if (c->iunit == c->nunit) {
        if (c->n == 0)
            return -1;
        c->nunit = path_unit(c->p, c->n, c->unit, &used);
        c->iunit = 0;
        c->p += used;
        c->n -= used;
    }
    return (unsigned char)c->unit[c->iunit++];
}

/*
 * Finds segment SEG (M > 0 bytes, its failure function F) in the rest of C
 * and leaves C just after the first place it ends. With AT_END, the place
 * must be at the end of C instead. Returns whether there is one. Each byte
 * of C is read once.
 */
static bool
find_segment(struct cursor *c, const char *seg, const uint32_t *f, size_t m,
             bool at_end)
{
    size_t j = 0;
    bool ends_here = false;
    int ch;

    while ((ch = cursor_next(c)) >= 0) {
        while (j > 0 && (unsigned char)seg[j] != ch)
            j = f[j - 1];
        if ((unsigned char)seg[j] == ch)
            j++;
        ends_here = j == m;
        if (ends_here) {
            if (!at_end)
                return true;
            j = f[j - 1];
        }
    }
    return ends_here;
}

/*
 * Whether rule R matches PATH (N bytes): its first segment starts the
 * path, each of the next is found after the one before (the first place
 * is the best, as it leaves the most of the path to the others), and the
 * last ends the path when the rule is anchored. Linear in the lengths of
 * the path and the pattern: no backtracking, whatever the '*'s.
 */
static bool
rule_matches(const struct rule *r, const char *path, size_t n)
{
    struct cursor c = {(const unsigned char *)path, n, {0}, 0, 0};
    size_t i = 0;
    size_t end;
    int ch;

    /* The first segment, up to the first '*', where the path starts. */
    while (i < r->len && r->pat[i] != '*') {
        ch = cursor_next(&c);
        if (ch != (unsigned char)r->pat[i])
            return false;
        i++;
    }
    if (i == r->len)
        return !r->anchored || cursor_next(&c) < 0;
    for (;;) {
        i++; /* the '*' */
        end = i;
        while (end < r->len && r->pat[end] != '*')
            end++;
        if (end == r->len) {
            /* The last segment: anywhere after the others, or at the end
             * when anchored. Empty, it matches whatever is left. */
            if (end == i)
                return true;
            return find_segment(&c, r->pat + i, r->fail + i, end - i,
                                r->anchored);
        }
        if (end > i &&
            !find_segment(&c, r->pat + i, r->fail + i, end - i, false))
            return false;
        i = end;
    }
}

bool
lc__robots_allows(const struct lc__robots *r, const char *path)
{
    const struct rule *best = NULL;
    size_t n;
    size_t i;

    if (r == NULL)
        return true;
    if (path[0] == '\0')
        path = "/";
    /* RFC 9309 (2.2.2): robots.txt itself is always allowed. */
    if (strcmp(path, "/robots.txt") == 0)
        return true;
    n = strlen(path);
    for (i = 0; i < r->set.n; i++) {
        const struct rule *u = &r->set.v[i];

        if (best != NULL &&
            (u->weight < best->weight ||
             (u->weight == best->weight && (best->allow || !u->allow))))
            continue;
        if (rule_matches(u, path, n))
            best = u;
    }
    return best == NULL || best->allow;
}

double
lc__robots_delay(const struct lc__robots *r)
{
    return r == NULL ? 0 : r->set.delay;
}

/* ------------------------------------------------------------- parsing */

static bool
is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Makes a rule of the pattern P (N bytes, trimmed) and adds it to S.
 * An empty pattern is no rule (an empty Disallow allows everything).
 * Returns 0 or TF_ENOMEM. */
static int
add_rule(struct ruleset *s, const char *p, size_t n, bool allow)
{
    const unsigned char *u = (const unsigned char *)p;
    struct rule *r;
    size_t i = 0;
    size_t k = 0;
    size_t used;
    size_t start;
    char *mem;

    if (n == 0)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 16 : s->cap * 2;
        struct rule *v = realloc(s->v, cap * sizeof(*v));

        if (v == NULL)
            return TF_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    r = &s->v[s->n];
    memset(r, 0, sizeof(*r));
    /* A pattern grows at most threefold (each byte an escape). The failure
     * function comes first in the block, aligned as malloc aligns. */
    mem = malloc(3 * n * (sizeof(uint32_t) + 1) + 1);
    if (mem == NULL)
        return TF_ENOMEM;
    r->fail = (uint32_t *)(void *)mem;
    r->pat = mem + 3 * n * sizeof(uint32_t);
    if (p[n - 1] == '$') {
        r->anchored = true;
        n--;
    }
    while (i < n) {
        if (p[i] == '*') {
            r->pat[k++] = '*';
            i++;
            continue;
        }
        k += path_unit(u + i, n - i, r->pat + k, &used);
        i += used;
    }
    r->pat[k] = '\0';
    r->len = k;
    r->weight = k + (r->anchored ? 1 : 0);
    r->allow = allow;
    /* The failure function of each segment, counted from its start. */
    for (start = 0; start < k; start++) {
        size_t j = 0;

        if (r->pat[start] == '*')
            continue;
        r->fail[start] = 0;
        for (i = start + 1; i < k && r->pat[i] != '*'; i++) {
            while (j > 0 && r->pat[start + j] != r->pat[i])
                j = r->fail[start + j - 1];
            if (r->pat[start + j] == r->pat[i])
                j++;
            r->fail[i] = (uint32_t)j;
        }
        start = i;
    }
    s->n++;
    return 0;
}

/* Reads a Crawl-delay value (P, N bytes, trimmed): a decimal number of
 * seconds, "10" or "0.5". Returns it, or -1 when it is none. */
static double
parse_delay(const char *p, size_t n)
{
    double v = 0;
    double scale = 1;
    size_t i = 0;
    size_t digits = 0;

    for (; i < n && is_digit(p[i]); i++, digits++)
        v = v * 10 + (p[i] - '0');
    if (i < n && p[i] == '.')
        for (i++; i < n && is_digit(p[i]); i++, digits++) {
            scale /= 10;
            v += (p[i] - '0') * scale;
        }
    if (i != n || digits == 0 || !isfinite(v))
        return -1;
    return v;
}

/* Whether the N bytes at P are, ignoring case, one of the NULL-terminated
 * WORDS. */
static bool
key_is(const char *p, size_t n, const char *const *words)
{
    size_t i;

    for (; *words != NULL; words++) {
        if (strlen(*words) != n)
            continue;
        for (i = 0; i < n && lower((unsigned char)p[i]) == (*words)[i]; i++)
            ;
        if (i == n)
            return true;
    }
    return false;
}

/* The length of the product token that starts the N bytes at P: the
 * letters, '_' and '-' (RFC 9309, 2.2.1: "Googlebot/2.1" is "Googlebot"). */
static size_t
token_len(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n &&
           (is_alpha((unsigned char)p[i]) || p[i] == '-' || p[i] == '_'))
        i++;
    return i;
}

/* Whether the token T (N bytes) names the robot whose token is AGENT (M
 * bytes): the token itself, or its first word before '-', ignoring case. */
static bool
agent_named(const char *t, size_t n, const char *agent, size_t m)
{
    size_t word = 0;
    size_t i;

    while (word < m && agent[word] != '-')
        word++;
    if (n != m && n != word)
        return false;
    for (i = 0;
         i < n && lower((unsigned char)t[i]) == lower((unsigned char)agent[i]);
         i++)
        ;
    return n > 0 && i == n;
}

/* What parsing knows while it reads the lines. */
struct parse {
    const char *agent; /* our product token */
    size_t agentlen;
    struct ruleset ours; /* the rules of the groups that name us */
    struct ruleset any;  /* those of the "*" groups */
    bool named;          /* a group names us: ANY is not used */
    bool started;        /* a User-agent line was read */
    bool in_agents;      /* in the User-agent lines that start a group */
    bool for_us;         /* the group names us */
    bool for_any;        /* the group is for "*" */
};

/* The N bytes at P without the blanks at either end: sets *START and
 * returns the length. */
static size_t
trim(const char *p, size_t n, const char **start)
{
    while (n > 0 && is_blank(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_blank(p[n - 1]))
        n--;
    *start = p;
    return n;
}

/* Reads one line (P, N bytes, without its line break). Returns 0 or
 * TF_ENOMEM. */
static int
parse_line(struct parse *ps, const char *p, size_t n)
{
    static const char *const ua_keys[] = {"user-agent", "useragent",
                                          "user agent", NULL};
    static const char *const allow_keys[] = {"allow", NULL};
    /* Disallow, and the misspellings of it that Google's parser takes. */
    static const char *const disallow_keys[] = {
        "disallow", "dissallow", "dissalow", "disalow",
        "diasllow", "disallaw",  NULL};
    static const char *const delay_keys[] = {"crawl-delay", NULL};
    const char *hash = memchr(p, '#', n);
    const char *colon;
    const char *key;
    const char *val;
    size_t klen;
    size_t vlen;
    bool allow;
    int rc;

    if (hash != NULL)
        n = (size_t)(hash - p);
    colon = memchr(p, ':', n);
    if (colon == NULL)
        return 0;
    klen = trim(p, (size_t)(colon - p), &key);
    vlen = trim(colon + 1, n - (size_t)(colon + 1 - p), &val);

    if (key_is(key, klen, ua_keys)) {
        size_t t = token_len(val, vlen);

        /* A User-agent line after a group's rules starts a new group. */
        if (!ps->in_agents) {
            ps->for_us = false;
            ps->for_any = false;
            ps->in_agents = true;
        }
        ps->started = true;
        if (vlen > 0 && val[0] == '*' && (vlen == 1 || is_blank(val[1]))) {
            ps->for_any = true;
        } else if (agent_named(val, t, ps->agent, ps->agentlen)) {
            ps->for_us = true;
            ps->named = true;
        }
        return 0;
    }
    allow = key_is(key, klen, allow_keys);
    if (!allow && !key_is(key, klen, disallow_keys) &&
        !key_is(key, klen, delay_keys))
        return 0; /* Sitemap, or a line of no meaning here */
    /* Rules before the first User-agent line belong to no group. */
    if (!ps->started)
        return 0;
    /* A Crawl-delay is a line of its group as a rule is (Bing and Yandex
     * read it so): "User-agent: a", "Crawl-delay: 1", "User-agent: *"
     * are two groups, and a's has no rules. */
    ps->in_agents = false;
    if (key_is(key, klen, delay_keys)) {
        double d = parse_delay(val, vlen);

        if (ps->for_us && d > ps->ours.delay)
            ps->ours.delay = d;
        if (ps->for_any && d > ps->any.delay)
            ps->any.delay = d;
        return 0;
    }
    if (ps->for_us) {
        rc = add_rule(&ps->ours, val, vlen, allow);
        if (rc < 0)
            return rc;
    }
    if (ps->for_any) {
        rc = add_rule(&ps->any, val, vlen, allow);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
lc__robots_parse(const char *txt, size_t n, const char *agent,
                 struct lc__robots **out)
{
    static const char bom[] = "\xef\xbb\xbf";
    struct parse ps;
    struct lc__robots *r;
    size_t i = 0;
    size_t line;
    int rc = 0;

    *out = NULL;
    memset(&ps, 0, sizeof(ps));
    ps.agent = agent;
    ps.agentlen = token_len(agent, strlen(agent));
    /* Past the limit, the line cut in two is not read either. */
    if (n > ROBOTS_MAX) {
        n = ROBOTS_MAX;
        while (n > 0 && txt[n - 1] != '\n' && txt[n - 1] != '\r')
            n--;
    }
    /* A byte order mark, or as much of one as starts the file. */
    while (i < n && i < 3 && txt[i] == bom[i])
        i++;
    while (i < n && rc == 0) {
        for (line = i; i < n && txt[i] != '\n' && txt[i] != '\r'; i++)
            ;
        rc = parse_line(&ps, txt + line, i - line);
        i++; /* the CR or LF; a CRLF leaves an empty line, of no meaning */
    }
    r = rc == 0 ? calloc(1, sizeof(*r)) : NULL;
    if (r == NULL) {
        ruleset_cleanup(&ps.ours);
        ruleset_cleanup(&ps.any);
        return TF_ENOMEM;
    }
    /* The groups that name us, even with no rules, else the "*" ones. */
    if (ps.named) {
        r->set = ps.ours;
        ruleset_cleanup(&ps.any);
    } else {
        r->set = ps.any;
        ruleset_cleanup(&ps.ours);
    }
    *out = r;
    return 0;
}
