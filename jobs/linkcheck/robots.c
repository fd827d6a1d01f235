/* robots.c - placeholder */
#include "linkcheck.h"

#include <stdlib.h>

int
lc__robots_parse(const char *txt, size_t n, const char *agent,
                 struct lc__robots **out)
{
    (void)txt;
    (void)n;
    (void)agent;
    *out = NULL;
    return 0;
}

bool
lc__robots_allows(const struct lc__robots *r, const char *path)
{
    (void)r;
    (void)path;
    return true;
}

double
lc__robots_delay(const struct lc__robots *r)
{
    (void)r;
    return 0;
}

void
lc__robots_free(struct lc__robots *r)
{
    (void)r;
}
