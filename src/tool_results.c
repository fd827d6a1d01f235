/* tool_results.c - `taskfarm results`: the records of a results file, as
 * TSV or JSON lines, or one task's output */
#include "tool_results.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "exit.h"
#include "results.h"
#include "tool_subcmd.h"
#include "util.h"

/* --------------------------------------------------- `taskfarm results` */


static const char usage_text[] =
    "Usage: taskfarm results FILE [--format tsv|jsonl] [--all]\n"
    "       taskfarm results FILE --task N\n"
    "\n"
    "Print the records of a results file written with --results FILE: the "
    "last\nrecord of each task (retries and later runs on the same file add "
    "records), in\ntask order.\n"
    "\n"
    "Options:\n"
    "  --format tsv|jsonl      tsv (default): a header line, then one "
    "line per\n"
    "                          record; jsonl: one JSON object per record, "
    "with the\n"
    "                          task's stdout and stderr\n"
    "  --all                   every record, in file order\n"
    "  --task N                write task N's stdout to standard output "
    "and its\n"
    "                          stderr to standard error, byte for byte\n"
    "  -h, --help              print this help and exit\n"
    "\n"
    "Exit status: 0 done, 1 task N has no record, 2 usage error or a "
    "missing,\nunreadable or corrupt file, 3 read or write error.\n";

#define TSV_HEADER                                                             \
    "id\thash\tstatus\tsignal\tflags\tattempt\tworker\thost\tstart\t"          \
    "runtime\tstdout_bytes\tstderr_bytes\tcpu\tmax_rss\tcommand\n"

/* Output is gathered and written this many bytes at a time. */
#define OUT_AT ((size_t)64 * 1024)

struct printer {
    bool jsonl;
    struct tf_buf buf; /* owned */
};

static int print_one_record(struct printer *pr,
                            const struct tf__result_rec *rec,
                            struct tf_error *err);

static int
print_flush(struct printer *pr, struct tf_error *err)
{
    if (pr->buf.len > 0 &&
        tf__write_all(STDOUT_FILENO, pr->buf.data, pr->buf.len) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "writing standard output");
    tf_buf_reset(&pr->buf);
    return 0;
}

static char *
put_lit(char *p, const char *s)
{
    size_t n = strlen(s);

    memcpy(p, s, n);
    return p + n;
}

static char *
put_u64(char *p, uint64_t v)
{
    return p + tf__fmt_u64(p, v);
}

static char *
put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

/* Microseconds as seconds with 3 decimals, rounded to milliseconds. */
static char *
put_secs(char *p, int64_t us)
{
    uint64_t u;
    uint64_t ms;

    if (us < 0)
        *p++ = '-';
    u = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    ms = u / 1000 + (u % 1000 >= 500);
    p = put_u64(p, ms / 1000);
    *p++ = '.';
    *p++ = (char)('0' + ms / 100 % 10);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    return p;
}

static const char hexdig[] = "0123456789abcdef";

static char *
put_hex64(char *p, uint64_t v)
{
    int i;

    for (i = 15; i >= 0; i--)
        *p++ = hexdig[(v >> (4 * i)) & 0xf];
    return p;
}

/* The flags as words joined by commas ("timeout,lost"), unknown bits as
 * one hex number; "-" for none. In JSON each word is a quoted string. */
static char *
put_flags(char *p, uint32_t flags, bool json)
{
    static const struct {
        uint32_t bit;
        const char *word;
    } words[] = {{TF__REC_TIMEOUT, "timeout"},
                 {TF__REC_LOST, "lost"},
                 {TF__REC_EMITTED, "written"},
                 {TF__REC_PIECES, "pieces"},
                 {TF__REC_OOM, "oom"}};
    const char *q = json ? "\"" : "";
    bool first = true;
    size_t i;

    if (json)
        *p++ = '[';
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if ((flags & words[i].bit) == 0)
            continue;
        if (!first)
            *p++ = ',';
        p = put_lit(p, q);
        p = put_lit(p, words[i].word);
        p = put_lit(p, q);
        first = false;
        flags &= ~words[i].bit;
    }
    if (flags != 0) {
        int shift = 28;

        if (!first)
            *p++ = ',';
        p = put_lit(p, q);
        p = put_lit(p, "0x");
        while (shift > 0 && ((flags >> shift) & 0xf) == 0)
            shift -= 4;
        for (; shift >= 0; shift -= 4)
            *p++ = hexdig[(flags >> shift) & 0xf];
        p = put_lit(p, q);
        first = false;
    }
    if (json)
        *p++ = ']';
    else if (first)
        *p++ = '-';
    return p;
}

/* A TSV field: TAB, newline, CR and backslash as \t \n \r \\, other control
 * bytes as \xHH, everything else as it is. At most 4 bytes per byte. */
static char *
put_tsv(char *p, const void *s, size_t n)
{
    const unsigned char *c = s;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char b = c[i];

        if (b == '\t' || b == '\n' || b == '\r' || b == '\\') {
            *p++ = '\\';
            *p++ = b == '\t' ? 't' : b == '\n' ? 'n' : b == '\r' ? 'r' : '\\';
        } else if (b < 0x20 || b == 0x7f) {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hexdig[b >> 4];
            *p++ = hexdig[b & 0xf];
        } else {
            *p++ = (char)b;
        }
    }
    return p;
}

/* Whether the N bytes at S are well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        unsigned char lo = 0x80;
        unsigned char hi = 0xbf;
        size_t more;
        size_t k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return false;
        }
        if (n - i - 1 < more || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (k = 2; k <= more; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += more + 1;
    }
    return true;
}

/* The bytes of a valid UTF-8 string as a JSON string's contents: quote,
 * backslash and every control character escaped. At most 6 bytes per
 * byte. */
static char *
put_json_chars(char *p, const unsigned char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char b = s[i];

        switch (b) {
        case '"':
            p = put_lit(p, "\\\"");
            break;
        case '\\':
            p = put_lit(p, "\\\\");
            break;
        case '\b':
            p = put_lit(p, "\\b");
            break;
        case '\f':
            p = put_lit(p, "\\f");
            break;
        case '\n':
            p = put_lit(p, "\\n");
            break;
        case '\r':
            p = put_lit(p, "\\r");
            break;
        case '\t':
            p = put_lit(p, "\\t");
            break;
        default:
            if (b < 0x20 || b == 0x7f) {
                p = put_lit(p, "\\u00");
                *p++ = hexdig[b >> 4];
                *p++ = hexdig[b & 0xf];
            } else {
                *p++ = (char)b;
            }
        }
    }
    return p;
}

static char *
put_base64(char *p, const unsigned char *s, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;

        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        p = put_lit(p, "==");
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;

        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = '=';
    }
    return p;
}

/* `,"KEY":"text"` for well-formed UTF-8, else `,"KEY_b64":"base64"`, so
 * that any bytes come back exactly. */
static char *
put_json_bytes(char *p, const char *key, const void *s, size_t n)
{
    p = put_lit(p, ",\"");
    p = put_lit(p, key);
    if (utf8_valid(s, n)) {
        p = put_lit(p, "\":\"");
        p = put_json_chars(p, s, n);
    } else {
        p = put_lit(p, "_b64\":\"");
        p = put_base64(p, s, n);
    }
    *p++ = '"';
    return p;
}

/* Prints REC; in JSON its output is PRE's bytes (the pieces before it,
 * NULL: none) followed by its own. */
static int
print_record(struct printer *pr, const struct tf__result_rec *rec,
             const struct tf_buf *pre_out, const struct tf_buf *pre_err,
             struct tf_error *err)
{
    struct tf__result_rec whole;
    struct tf_buf out;
    struct tf_buf errb;
    int rc;

    if (!pr->jsonl || ((pre_out == NULL || pre_out->len == 0) &&
                       (pre_err == NULL || pre_err->len == 0)))
        return print_one_record(pr, rec, err);
    whole = *rec;
    tf_buf_init(&out, 0);
    tf_buf_init(&errb, 0);
    rc = tf_buf_append(&out, pre_out->data, pre_out->len);
    if (rc == 0)
        rc = tf_buf_append(&out, rec->out, rec->out_len);
    if (rc == 0)
        rc = tf_buf_append(&errb, pre_err->data, pre_err->len);
    if (rc == 0)
        rc = tf_buf_append(&errb, rec->err, rec->err_len);
    if (rc == 0) {
        whole.out = out.data;
        whole.out_len = out.len;
        whole.err = errb.data;
        whole.err_len = errb.len;
        rc = print_one_record(pr, &whole, err);
    } else {
        rc = tf__error(err, TF_ENOMEM, "out of memory");
    }
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&errb);
    return rc;
}

static int
print_one_record(struct printer *pr, const struct tf__result_rec *rec,
                 struct tf_error *err)
{
    size_t strings = rec->host_len + rec->cmd_len;
    size_t need;
    char *start;
    char *p;
    int rc;

    /* Fixed fields and keys take under 1024 bytes; an escaped string at
     * most 6 bytes per byte. */
    if (pr->jsonl)
        strings += rec->out_len + rec->err_len;
    need = 1024 + 6 * strings;
    rc = tf_buf_reserve(&pr->buf, need);
    if (rc < 0)
        return tf__error(err, TF_ENOMEM, "out of memory");
    start = p = (char *)pr->buf.data + pr->buf.len;
    if (!pr->jsonl) {
        p = put_u64(p, rec->id);
        *p++ = '\t';
        p = put_hex64(p, rec->hash);
        *p++ = '\t';
        p = put_i64(p, rec->status);
        *p++ = '\t';
        p = put_i64(p, rec->signal);
        *p++ = '\t';
        p = put_flags(p, rec->flags, false);
        *p++ = '\t';
        p = put_u64(p, rec->attempt);
        *p++ = '\t';
        p = put_i64(p, rec->worker);
        *p++ = '\t';
        p = put_tsv(p, rec->host, rec->host_len);
        *p++ = '\t';
        p = put_secs(p, rec->start_us);
        *p++ = '\t';
        p = put_secs(p, rec->runtime_us > INT64_MAX ? INT64_MAX
                                                    : (int64_t)rec->runtime_us);
        *p++ = '\t';
        p = put_u64(p, rec->out_total);
        *p++ = '\t';
        p = put_u64(p, rec->err_total);
        *p++ = '\t';
        p = put_secs(p, rec->cpu_us > INT64_MAX ? INT64_MAX
                                                : (int64_t)rec->cpu_us);
        *p++ = '\t';
        p = put_u64(p, rec->peak_bytes);
        *p++ = '\t';
        p = put_tsv(p, rec->cmd, rec->cmd_len);
    } else {
        p = put_lit(p, "{\"id\":");
        p = put_u64(p, rec->id);
        p = put_lit(p, ",\"hash\":\"");
        p = put_hex64(p, rec->hash);
        p = put_lit(p, "\",\"status\":");
        p = put_i64(p, rec->status);
        p = put_lit(p, ",\"signal\":");
        p = put_i64(p, rec->signal);
        p = put_lit(p, ",\"flags\":");
        p = put_flags(p, rec->flags, true);
        p = put_lit(p, ",\"attempt\":");
        p = put_u64(p, rec->attempt);
        p = put_lit(p, ",\"worker\":");
        p = put_i64(p, rec->worker);
        p = put_json_bytes(p, "host", rec->host, rec->host_len);
        p = put_lit(p, ",\"start\":");
        p = put_secs(p, rec->start_us);
        p = put_lit(p, ",\"runtime\":");
        p = put_secs(p, rec->runtime_us > INT64_MAX ? INT64_MAX
                                                    : (int64_t)rec->runtime_us);
        p = put_lit(p, ",\"stdout_bytes\":");
        p = put_u64(p, rec->out_total);
        p = put_lit(p, ",\"stderr_bytes\":");
        p = put_u64(p, rec->err_total);
        p = put_lit(p, ",\"cpu\":");
        p = put_secs(p, rec->cpu_us > INT64_MAX ? INT64_MAX
                                                : (int64_t)rec->cpu_us);
        p = put_lit(p, ",\"max_rss\":");
        p = put_u64(p, rec->peak_bytes);
        p = put_json_bytes(p, "command", rec->cmd, rec->cmd_len);
        p = put_json_bytes(p, "stdout", rec->out, rec->out_len);
        p = put_json_bytes(p, "stderr", rec->err, rec->err_len);
        *p++ = '}';
    }
    *p++ = '\n';
    pr->buf.len += (size_t)(p - start);
    pr->buf.data[pr->buf.len] = '\0';
    if (pr->buf.len >= OUT_AT)
        return print_flush(pr, err);
    return 0;
}

struct print_all {
    struct printer *pr;
    struct tf_error *err;
    struct tf_buf out; /* owned: the pieces since the last task record */
    struct tf_buf errb; /* owned */
};

static int
print_one(void *arg, const struct tf__result_rec *rec, uint64_t off,
          uint64_t len)
{
    struct print_all *a = arg;
    int rc;

    (void)off;
    (void)len;
    if (rec->kind == TF__REC_PIECE) {
        if (!a->pr->jsonl)
            return 0;
        rc = tf_buf_append(&a->out, rec->out, rec->out_len);
        if (rc == 0)
            rc = tf_buf_append(&a->errb, rec->err, rec->err_len);
        return rc < 0 ? tf__error(a->err, TF_ENOMEM, "out of memory") : 0;
    }
    if (rec->kind != TF__REC_TASK)
        return 0;
    rc = print_record(a->pr, rec,
                      (rec->flags & TF__REC_PIECES) ? &a->out : NULL,
                      (rec->flags & TF__REC_PIECES) ? &a->errb : NULL, a->err);
    tf_buf_reset(&a->out);
    tf_buf_reset(&a->errb);
    return rc;
}

/* Where the records to print are: task id and file offset. */
struct entry {
    uint64_t id;
    uint64_t off;
    uint64_t len;
    uint64_t pieces_off; /* its first piece, or OFF */
};

struct index {
    struct entry *e; /* owned */
    size_t n;
    size_t cap;
    uint64_t task; /* with --task: only this task's records */
    struct tf__piece_run run;
};

static int
index_add(void *arg, const struct tf__result_rec *rec, uint64_t off,
          uint64_t len)
{
    struct index *ix = arg;
    uint64_t pieces_off = tf__piece_run_next(&ix->run, rec, off);

    if (rec->kind != TF__REC_TASK)
        return 0;
    if (ix->task != 0) {
        if (rec->id != ix->task)
            return 0;
        ix->n = 0; /* only the last record counts */
    }
    if (ix->n == ix->cap) {
        size_t cap = ix->cap < 1024 ? 1024 : ix->cap * 2;
        struct entry *e = realloc(ix->e, cap * sizeof(*e));

        if (e == NULL)
            return TF_ENOMEM;
        ix->e = e;
        ix->cap = cap;
    }
    ix->e[ix->n].id = rec->id;
    ix->e[ix->n].off = off;
    ix->e[ix->n].len = len;
    ix->e[ix->n].pieces_off = pieces_off;
    ix->n++;
    return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a;
    const struct entry *y = b;

    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return 0;
}

struct results_cli {
    const char *path;
    bool jsonl;
    bool format_given;
    bool all;
    uint64_t task;
};

/* Parses the subcommand's arguments. Returns 0, 1 after --help, or
 * TF_EUSAGE. */
static int
parse_results_args(struct results_cli *c, int argc, char **argv,
                   struct tf_error *err)
{
    static const struct tf__subcmd_opt opts[] = {{"--all", 0, false},
                                                 {"--format", 0, true},
                                                 {"--task", 0, true},
                                                 {NULL, 0, false}};
    const struct tf__subcmd_opt *opt;
    const char *value;
    struct tf__subcmd s;
    int item;

    tf__subcmd_init(&s, "results", opts, usage_text, sizeof(usage_text) - 1,
                    argc, argv);
    while ((item = tf__subcmd_next(&s, &opt, &value, err)) != TF__SUBCMD_END) {
        if (item < 0)
            return item;
        if (item == TF__SUBCMD_HELP)
            return 1;
        if (item == TF__SUBCMD_ARG) {
            if (c->path != NULL)
                return tf__error(err, TF_EUSAGE,
                                 "results: unexpected argument '%s'", value);
            c->path = value;
        } else if (strcmp(opt->name, "--all") == 0) {
            c->all = true;
        } else if (strcmp(opt->name, "--format") == 0) {
            if (strcmp(value, "tsv") != 0 && strcmp(value, "jsonl") != 0)
                return tf__error(err, TF_EUSAGE,
                                 "results: --format: '%s' is not tsv or "
                                 "jsonl",
                                 value);
            c->jsonl = strcmp(value, "jsonl") == 0;
            c->format_given = true;
        } else if (tf_parse_number(value, TF_OPT_INT, 1, 0, "results: --task",
                                   &c->task, err) < 0) {
            return TF_EUSAGE;
        }
    }
    if (c->path == NULL)
        return tf__error(err, TF_EUSAGE,
                         "results: no file given (try 'taskfarm results "
                         "--help')");
    if (c->task != 0 && (c->all || c->format_given))
        return tf__error(err, TF_EUSAGE,
                         "results: --task prints one task's output; it does "
                         "not go with --all or --format");
    return 0;
}

/* Writes the N bytes at P to FD, or appends them to B when FD is -1. */
static int
put_output(int fd, struct tf_buf *b, const void *p, size_t n,
           struct tf_error *err)
{
    if (fd < 0)
        return tf_buf_append(b, p, n) < 0
                   ? tf__error(err, TF_ENOMEM, "out of memory")
                   : 0;
    if (tf__write_all(fd, p, n) < 0)
        return tf__error_errno(err, TF_ESYS, errno, "writing standard %s",
                               fd == STDOUT_FILENO ? "output" : "error");
    return 0;
}

/* Prints the record of entry E: with --task its output, whole, to standard
 * output and error; else a line, with the pieces' output in JSON. */
static int
print_entry(const struct results_cli *c, struct printer *pr,
            struct tf__results_reader *rd, const struct entry *e,
            struct tf_error *err)
{
    struct tf__result_rec rec;
    struct tf_buf out;
    struct tf_buf errb;
    bool task = c->task != 0;
    uint64_t off = e->pieces_off;
    uint64_t next = 0;
    int rc = 0;

    tf_buf_init(&out, 0);
    tf_buf_init(&errb, 0);
    /* The pieces of its output first, when it matters. */
    while (rc == 0 && off < e->off && (task || pr->jsonl)) {
        rc = tf__results_reader_at(rd, off, &rec, &next, err);
        if (rc == 0)
            rc = put_output(task ? STDOUT_FILENO : -1, &out, rec.out,
                            rec.out_len, err);
        if (rc == 0)
            rc = put_output(task ? STDERR_FILENO : -1, &errb, rec.err,
                            rec.err_len, err);
        off = next;
    }
    if (rc == 0)
        rc = tf__results_reader_at(rd, e->off, &rec, &next, err);
    if (rc == 0 && task) {
        rc = put_output(STDOUT_FILENO, NULL, rec.out, rec.out_len, err);
        if (rc == 0)
            rc = put_output(STDERR_FILENO, NULL, rec.err, rec.err_len, err);
    } else if (rc == 0) {
        rc = print_record(pr, &rec, &out, &errb, err);
    }
    tf_buf_cleanup(&out);
    tf_buf_cleanup(&errb);
    return rc;
}

/* Prints the last record of each task in task order, or only task
 * C->task's output. */
static int
print_indexed(const struct results_cli *c, struct printer *pr, uint64_t *tail,
              bool *missing, struct tf_error *err)
{
    struct tf__results_reader *rd = NULL;
    struct index ix;
    size_t i;
    int rc;

    memset(&ix, 0, sizeof(ix));
    ix.task = c->task;
    rc = tf__results_scan(c->path, index_add, &ix, tail, err);
    if (rc == TF_ENOMEM)
        tf__error(err, rc, "out of memory");
    if (rc == 0)
        rc = tf__results_reader_open(c->path, &rd, err);
    if (rc == 0 && ix.n > 1)
        qsort(ix.e, ix.n, sizeof(*ix.e), entry_cmp);
    if (rc == 0 && c->task != 0 && ix.n == 0)
        *missing = true;
    for (i = 0; rc == 0 && i < ix.n; i++) {
        if (i + 1 < ix.n && ix.e[i + 1].id == ix.e[i].id)
            continue; /* a later record of the same task wins */
        rc = print_entry(c, pr, rd, &ix.e[i], err);
    }
    free(ix.e);
    tf__results_reader_close(rd);
    return rc;
}

int
tf__results_main(int argc, char **argv)
{
    struct results_cli c;
    struct printer pr;
    struct tf_error err;
    uint64_t tail = 0;
    bool missing = false;
    int rc;

    memset(&c, 0, sizeof(c));
    tf_error_init(&err);
    rc = parse_results_args(&c, argc, argv, &err);
    if (rc == 1)
        return TF__EXIT_OK;
    if (rc < 0) {
        tf__log(TF_LOG_ERROR, "%s", err.msg);
        return rc == TF_EUSAGE ? TF__EXIT_USAGE : TF__EXIT_SYSTEM;
    }
    pr.jsonl = c.jsonl;
    tf_buf_init(&pr.buf, 0);
    if (c.task == 0 && !c.jsonl)
        rc = tf_buf_puts(&pr.buf, TSV_HEADER) < 0
                 ? tf__error(&err, TF_ENOMEM, "out of memory")
                 : 0;
    if (rc == 0 && c.all) {
        struct print_all a;

        a.pr = &pr;
        a.err = &err;
        tf_buf_init(&a.out, 0);
        tf_buf_init(&a.errb, 0);
        rc = tf__results_scan(c.path, print_one, &a, &tail, &err);
        tf_buf_cleanup(&a.out);
        tf_buf_cleanup(&a.errb);
    } else if (rc == 0) {
        rc = print_indexed(&c, &pr, &tail, &missing, &err);
    }
    if (rc == 0)
        rc = print_flush(&pr, &err);
    tf_buf_cleanup(&pr.buf);
    if (rc < 0) {
        tf__log(TF_LOG_ERROR, "%s", err.msg);
        return rc == TF_EINPUT || rc == TF_EUSAGE ? TF__EXIT_USAGE : TF__EXIT_SYSTEM;
    }
    if (tail > 0)
        tf__log(TF_LOG_WARN,
                "%s: ignored the last %" PRIu64 " bytes, a record cut short "
                "(the run writing it was killed, or is still writing)",
                c.path, tail);
    if (missing) {
        tf__log(TF_LOG_ERROR, "%s: no record of task %" PRIu64, c.path, c.task);
        return TF__EXIT_TASK_FAIL;
    }
    return TF__EXIT_OK;
}
