/* opts.c - option values: numbers, sizes, durations and choices read one
 * way for the command and every job */
#include "opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void
tf__opts_init(struct tf_opts *o)
{
    o->n = 0;
}

int
tf__opts_set_number(struct tf_opts *o, const char *name, const char *value,
                    uint64_t number)
{
    int i;

    for (i = 0; i < o->n && strcmp(o->names[i], name) != 0; i++)
        ;
    if (i == TF__OPTS_MAX)
        return TF_EUSAGE;
    if (i == o->n) {
        o->names[i] = name;
        o->n++;
    }
    o->values[i] = value;
    o->numbers[i] = number;
    return 0;
}

int
tf__opts_push(struct tf_opts *o, const char *name, const char *value,
              uint64_t number)
{
    /* Every value is kept, in order: the last counts for tf_opts_get(),
     * tf_opts_nth() gives them all. */
    if (o->n == TF__OPTS_MAX)
        return TF_EUSAGE;
    o->names[o->n] = name;
    o->values[o->n] = value;
    o->numbers[o->n] = number;
    o->n++;
    return 0;
}

int
tf__opts_set(struct tf_opts *o, const char *name, const char *value)
{
    return tf__opts_set_number(o, name, value, 0);
}

/* The index of the last value of NAME, or -1. */
static int
find(const struct tf_opts *opts, const char *name)
{
    int i;

    if (opts == NULL)
        return -1;
    for (i = opts->n - 1; i >= 0; i--)
        if (strcmp(opts->names[i], name) == 0)
            return i;
    return -1;
}

const char *
tf_opts_nth(const struct tf_opts *opts, const char *name, size_t nth)
{
    int i;

    if (opts == NULL)
        return NULL;
    for (i = 0; i < opts->n; i++)
        if (strcmp(opts->names[i], name) == 0 && nth-- == 0)
            return opts->values[i];
    return NULL;
}

const char *
tf_opts_get(const struct tf_opts *opts, const char *name)
{
    int i = find(opts, name);

    return i < 0 ? NULL : opts->values[i];
}

uint64_t
tf_opts_number(const struct tf_opts *opts, const char *name, uint64_t def)
{
    int i = find(opts, name);

    return i < 0 ? def : opts->numbers[i];
}

bool
tf_opts_flag(const struct tf_opts *opts, const char *name)
{
    return find(opts, name) >= 0;
}

int
tf__opts_add(struct tf_opts *o, const struct tf_option *table, const char *name,
             const char *value, struct tf_error *err)
{
    const struct tf_option *opt;
    uint64_t number = 0;

    for (opt = table; opt != NULL && opt->name != NULL; opt++)
        if (strcmp(opt->name, name) == 0)
            break;
    if (opt == NULL || opt->name == NULL)
        return tf__error(err, TF_EUSAGE, "unknown option '--%s'", name);
    if (tf_option_check(opt, value, &number, err) < 0)
        return TF_EUSAGE;
    if (tf__opts_push(o, opt->name, value != NULL ? value : "1", number) < 0)
        return tf__error(err, TF_EUSAGE, "too many options");
    return 0;
}

/* ------------------------------------------------------------- numbers */

/*
 * A decimal number as written: its significant digits (MANT), times ten
 * to EXP10. Returns the end of what was read, or NULL when S does not
 * start with a number (digits, a point and digits, an exponent). Digits
 * past what MANT holds are kept as powers of ten when they are zeros; a
 * nonzero one sets *LOST (1: in the whole part, the number is too large;
 * 2: in the fraction, it is not whole).
 */
static const char *
read_decimal(const char *s, uint64_t *mant, int *exp10, int *lost)
{
    const char *p = s;
    bool digits = false;
    uint64_t m = 0;
    int e = 0;

    *lost = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits = true) {
        unsigned d = (unsigned)(*p - '0');

        if (e == 0 && m <= (UINT64_MAX - d) / 10) {
            m = m * 10 + d;
        } else {
            e++; /* a digit less, a power of ten more */
            if (d != 0)
                *lost = 1;
        }
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits = true) {
            unsigned d = (unsigned)(*p - '0');

            if (e <= 0 && m <= (UINT64_MAX - d) / 10) {
                m = m * 10 + d;
                e--;
            } else if (d != 0 && *lost == 0) {
                *lost = 2;
            }
        }
    }
    if (!digits)
        return NULL;
    if ((*p == 'e' || *p == 'E') &&
        ((p[1] >= '0' && p[1] <= '9') ||
         ((p[1] == '-' || p[1] == '+') && p[2] >= '0' && p[2] <= '9'))) {
        int sign = p[1] == '-' ? -1 : 1;
        long x = 0;

        for (p += p[1] == '-' || p[1] == '+' ? 2 : 1; *p >= '0' && *p <= '9';
             p++)
            if (x < 10000)
                x = x * 10 + (*p - '0');
        e += (int)(sign * x);
    }
    *mant = m;
    *exp10 = e;
    return p;
}

/*
 * A whole number with an SI suffix (BASE 1000) or a binary one (1024,
 * BYTES: a B or iB may follow), into *OUT: 0, -1 not a whole number, -2
 * too large. Exact: 1.5k is 1500, 1e12 is 10^12, 1.0001k is not whole.
 */
static int
read_whole(const char *s, uint64_t base, bool bytes, uint64_t *out)
{
    static const char suffixes[] = "kMGTPE";
    unsigned __int128 v;
    uint64_t m;
    int e, i, lost, nmult = 0;
    const char *p = read_decimal(s, &m, &e, &lost);

    if (p == NULL)
        return -1;
    if (*p != '\0') {
        const char *k =
            *p == 'K' && base == 1024 ? suffixes : strchr(suffixes, *p);

        if (k != NULL) {
            nmult = (int)(k - suffixes) + 1;
            p++;
        }
        if (bytes && k != NULL && p[0] == 'i' && p[1] == 'B')
            p += 2;
        else if (bytes && *p == 'B')
            p++;
    }
    if (*p != '\0' || lost == 2)
        return -1;
    if (lost == 1)
        return -2;
    /* M * BASE^NMULT * 10^E, in 128 bits: the multiplier first, so that
     * the point can take back what it adds. */
    v = m;
    for (i = 0; i < nmult; i++)
        v *= base;
    for (; e < 0; e++) {
        if (v % 10 != 0)
            return -1;
        v /= 10;
    }
    for (; e > 0 && v != 0; e--) {
        if (v > UINT64_MAX)
            return -2;
        v *= 10;
    }
    if (v > UINT64_MAX)
        return -2;
    *out = (uint64_t)v;
    return 0;
}

/* A duration into microseconds: 0, -1 not one, -2 too large. */
static int
read_duration(const char *s, uint64_t *us)
{
    static const struct {
        const char *name;
        double us;
    } units[] = {{"us", 1},     {"ms", 1e3},    {"s", 1e6}, {"m", 60e6},
                 {"h", 3600e6}, {"d", 86400e6}, {"", 1e6}};
    char *end = NULL;
    double d;
    size_t i;

    if (!((s[0] >= '0' && s[0] <= '9') ||
          (s[0] == '.' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    errno = 0;
    d = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(d) || d < 0)
        return errno == ERANGE && d != 0 ? -2 : -1;
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(end, units[i].name) == 0)
            break;
    if (i == sizeof(units) / sizeof(units[0]))
        return -1;
    d *= units[i].us;
    if (d >= 1.8e19)
        return -2;
    *us = (uint64_t)(d + 0.5);
    return 0;
}

/* Formats US microseconds in the largest unit that says it exactly. */
static void
format_duration(uint64_t us, char *buf, size_t n)
{
    static const struct {
        const char *name;
        uint64_t us;
    } units[] = {{"d", 86400000000u}, {"h", 3600000000u}, {"m", 60000000u},
                 {"s", 1000000u},     {"ms", 1000u},      {"us", 1u}};
    size_t i;

    for (i = 0; us != 0 && us % units[i].us != 0; i++)
        ;
    if (us == 0)
        snprintf(buf, n, "0");
    else
        snprintf(buf, n, "%llu%s", (unsigned long long)(us / units[i].us),
                 units[i].name);
}

static void
format_value(int type, uint64_t v, char *buf, size_t n)
{
    if (type == TF_OPT_DURATION)
        format_duration(v, buf, n);
    else
        snprintf(buf, n, "%llu", (unsigned long long)v);
}

int
tf_parse_number(const char *text, int type, uint64_t min, uint64_t max,
                const char *what, uint64_t *out, struct tf_error *err)
{
    static const char *const like[] = {
        [TF_OPT_INT] = "a whole number (like 250, 1e6 or 10k)",
        [TF_OPT_SIZE] = "a size (like 4096, 64k, 10MiB or 1.5G)",
        [TF_OPT_DURATION] = "a duration (like 30, 1.5s, 250ms, 5m, 2h or 1d)",
    };
    char lo[32], hi[32];
    uint64_t v = 0;
    int rc;

    if (type != TF_OPT_INT && type != TF_OPT_SIZE && type != TF_OPT_DURATION)
        return tf__error(err, TF_EUSAGE, "%s: not a kind of number", what);
    if (text == NULL || text[0] == '\0')
        return tf__error(err, TF_EUSAGE, "%s: missing value: give %s", what,
                         like[type]);
    if (type == TF_OPT_DURATION)
        rc = read_duration(text, &v);
    else
        rc = read_whole(text, type == TF_OPT_SIZE ? 1024 : 1000,
                        type == TF_OPT_SIZE, &v);
    if (rc == -1)
        return tf__error(err, TF_EUSAGE, "%s: '%s' is not %s", what, text,
                         like[type]);
    format_value(type, min, lo, sizeof(lo));
    format_value(type, max, hi, sizeof(hi));
    if (rc == -2 || v < min || (max != 0 && v > max)) {
        if (max == 0)
            return tf__error(err, TF_EUSAGE,
                             "%s: %s is out of range (%s or more)", what, text,
                             lo);
        return tf__error(err, TF_EUSAGE, "%s: %s is out of range (%s to %s)",
                         what, text, lo, hi);
    }
    *out = v;
    return 0;
}

/* Whether WORD is one of CHOICES, "a|b|c". */
static bool
is_choice(const char *choices, const char *word)
{
    size_t n = strlen(word);
    const char *p = choices;

    while (p != NULL && *p != '\0') {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);

        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p = bar != NULL ? bar + 1 : NULL;
    }
    return false;
}

int
tf_option_check(const struct tf_option *opt, const char *value,
                uint64_t *number, struct tf_error *err)
{
    char what[80];

    snprintf(what, sizeof(what), "--%s", opt->name);
    return tf__option_check(opt, what, value, number, err);
}

int
tf__option_check(const struct tf_option *opt, const char *what,
                 const char *value, uint64_t *number, struct tf_error *err)
{
    char words[256];
    size_t i, j, nbars = 0, bar = 0;

    *number = 0;
    switch (opt->type) {
    case TF_OPT_INT:
    case TF_OPT_SIZE:
    case TF_OPT_DURATION:
        return tf_parse_number(value, opt->type, opt->min, opt->max, what,
                               number, err);
    case TF_OPT_CHOICE:
        if (value != NULL && opt->choices != NULL &&
            is_choice(opt->choices, value))
            return 0;
        /* "a|b|c" said as "a, b or c". */
        for (i = 0; opt->choices != NULL && opt->choices[i] != '\0'; i++)
            nbars += opt->choices[i] == '|';
        for (i = 0, j = 0; opt->choices != NULL && opt->choices[i] != '\0' &&
                           j + 5 < sizeof(words);
             i++) {
            if (opt->choices[i] != '|') {
                words[j++] = opt->choices[i];
                continue;
            }
            bar++;
            memcpy(words + j, bar == nbars ? " or " : ", ",
                   bar == nbars ? 4 : 2);
            j += bar == nbars ? 4 : 2;
        }
        words[j] = '\0';
        return tf__error(err, TF_EUSAGE, "%s: '%s' is not %s", what,
                         value != NULL ? value : "", words);
    }
    return 0;
}
