/* table.c - the linkcheck job's hash table from strings to indexes and its
 * growable list of strings */
#include "linkcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskfarm.h"

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3u;
    }
    return h;
}

/* The slot that holds KEY, or the empty one where it would go. */
static struct lc__slot *
table_slot(const struct lc__table *t, const char *key, uint64_t h)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)h & mask;

    for (;;) {
        struct lc__slot *s = &t->slots[i];

        if (s->key == NULL || (s->hash == h && strcmp(s->key, key) == 0))
            return s;
        i = (i + 1) & mask;
    }
}

bool
lc__table_find(const struct lc__table *t, const char *key, size_t *value)
{
    struct lc__slot *s;

    if (t->cap == 0)
        return false;
    s = table_slot(t, key, hash_str(key));
    if (s->key == NULL)
        return false;
    *value = s->value;
    return true;
}

static int
table_grow(struct lc__table *t)
{
    struct lc__slot *old = t->slots;
    size_t oldcap = t->cap;
    size_t cap = oldcap == 0 ? 64 : oldcap * 2;
    size_t i;

    t->slots = calloc(cap, sizeof(*t->slots));
    if (t->slots == NULL) {
        t->slots = old;
        return TF_ENOMEM;
    }
    t->cap = cap;
    for (i = 0; i < oldcap; i++)
        if (old[i].key != NULL)
            *table_slot(t, old[i].key, old[i].hash) = old[i];
    free(old);
    return 0;
}

int
lc__table_add(struct lc__table *t, const char *key, size_t value)
{
    struct lc__slot *s;
    uint64_t h;
    int rc;

    if ((t->n + 1) * 2 > t->cap) {
        rc = table_grow(t);
        if (rc < 0)
            return rc;
    }
    h = hash_str(key);
    s = table_slot(t, key, h);
    s->key = key;
    s->hash = h;
    s->value = value;
    t->n++;
    return 0;
}

void
lc__table_cleanup(struct lc__table *t)
{
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

int
lc__strs_add(struct lc__strs *s, char *str)
{
    if (str == NULL)
        return TF_ENOMEM;
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 16 : s->cap * 2;
        char **v = realloc(s->v, cap * sizeof(*v));

        if (v == NULL) {
            free(str);
            return TF_ENOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    return 0;
}

int
lc__strs_addn(struct lc__strs *s, const char *p, size_t n)
{
    return lc__strs_add(s, strndup(p, n));
}

int
lc__strs_printf(struct lc__strs *s, const char *fmt, ...)
{
    va_list ap;
    char *str = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&str, fmt, ap);
    va_end(ap);
    return lc__strs_add(s, n < 0 ? NULL : str);
}

void
lc__strs_cleanup(struct lc__strs *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}
