/* tool_resume.c - which tasks a run killed before finished: --resume */
#include "tool_resume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "results.h"
#include "template.h"
#include "util.h"

#define DONE_OK 1u   /* it succeeded */
#define DONE_TEXT 2u /* its hash is of the text as a joblog writes it */

struct entry {
    uint64_t id; /* 0: empty slot */
    uint64_t hash;
    unsigned flags;
    uint32_t text_len; /* its joblog Command, kept with a template */
    uint64_t text_off; /* in texts */
};

/* A task whose output the store holds unwritten. */
struct stored {
    uint64_t id; /* 0: empty slot */
    uint64_t pieces_off;
    uint64_t rec_off;
    bool unmarked;
};

struct tf__resume {
    struct entry *slots; /* owned; open addressing on id */
    size_t cap;          /* a power of two */
    size_t n;
    const struct tf__template *tmpl; /* borrowed, or NULL */
    struct tf_buf texts;             /* owned */
    struct stored *st;   /* owned; open addressing on id, or NULL */
    size_t st_cap;
    size_t st_n;
    char *store;         /* owned: the store's path, or NULL */
    char *out_path;      /* owned: the --output the store's last run wrote */
    uint64_t out_size;   /* ... and its size once its last recorded output
                            was in it */
    bool has_out;
    struct tf__piece_run run; /* the store being read */
};

int
tf__resume_new(struct tf__resume **out, struct tf_error *err)
{
    struct tf__resume *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r != NULL) {
        r->cap = 1024;
        r->slots = calloc(r->cap, sizeof(*r->slots));
        tf_buf_init(&r->texts, 0);
    }
    if (r == NULL || r->slots == NULL) {
        free(r);
        return tf__error(err, TF_ENOMEM, "out of memory");
    }
    *out = r;
    return 0;
}

void
tf__resume_free(struct tf__resume *r)
{
    if (r == NULL)
        return;
    free(r->slots);
    free(r->st);
    free(r->store);
    free(r->out_path);
    tf_buf_cleanup(&r->texts);
    free(r);
}

void
tf__resume_set_template(struct tf__resume *r, const struct tf__template *t)
{
    r->tmpl = t;
}

uint64_t
tf__resume_count(const struct tf__resume *r)
{
    return r->n;
}

static size_t
slot_of(const struct tf__resume *r, uint64_t id)
{
    size_t i = (size_t)(id * 0x9e3779b97f4a7c15u) & (r->cap - 1);

    while (r->slots[i].id != 0 && r->slots[i].id != id)
        i = (i + 1) & (r->cap - 1);
    return i;
}

static int
grow(struct tf__resume *r)
{
    struct entry *old = r->slots;
    size_t old_cap = r->cap;
    size_t i;

    r->slots = calloc(old_cap * 2, sizeof(*r->slots));
    if (r->slots == NULL) {
        r->slots = old;
        return TF_ENOMEM;
    }
    r->cap = old_cap * 2;
    for (i = 0; i < old_cap; i++)
        if (old[i].id != 0)
            r->slots[slot_of(r, old[i].id)] = old[i];
    free(old);
    return 0;
}

/*
 * Records that task ID with HASH ended (successfully when OK). A task seen
 * again with the same text stays done once it succeeded; with other text
 * the later record wins.
 */
static int
put(struct tf__resume *r, uint64_t id, uint64_t hash, bool ok, bool text,
    const char *cmd, size_t cmd_len)
{
    struct entry *e;
    unsigned flags = (ok ? DONE_OK : 0) | (text ? DONE_TEXT : 0);

    if (id == 0)
        return 0;
    if ((r->n + 1) * 2 > r->cap && grow(r) < 0)
        return TF_ENOMEM;
    e = &r->slots[slot_of(r, id)];
    if (e->id == 0) {
        e->id = id;
        r->n++;
    } else if (e->hash == hash && (e->flags & DONE_TEXT) == (flags & DONE_TEXT)) {
        flags |= e->flags & DONE_OK;
    }
    e->hash = hash;
    e->flags = flags;
    e->text_len = 0;
    if (text && r->tmpl != NULL && cmd_len <= UINT32_MAX) {
        /* The command itself, to match against the template's. */
        e->text_off = r->texts.len;
        e->text_len = (uint32_t)cmd_len;
        if (tf_buf_append(&r->texts, cmd, cmd_len) < 0)
            return TF_ENOMEM;
    }
    return 0;
}

/* One joblog line (without its newline): Seq, Host, Starttime, JobRuntime,
 * Send, Receive, Exitval, Signal, Command. Returns false if it is not one. */
static bool
parse_joblog_line(const char *line, size_t len, struct tf__joblog_line *out)
{
    const char *f[9];
    const char *end = line + len;
    const char *p = line;
    int64_t seq, exitval, sig;
    char num[64];
    char *e;
    size_t n;
    int k;

    for (k = 0; k < 8; k++) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));

        if (tab == NULL)
            return false;
        f[k] = p;
        p = tab + 1;
    }
    f[8] = p; /* the command: the rest, tabs and all */
    if (!tf__parse_i64_span(f[0], f[1] - 1, false, &seq) || seq < 1 ||
        !tf__parse_i64_span(f[6], f[7] - 1, true, &exitval) ||
        !tf__parse_i64_span(f[7], f[8] - 1, true, &sig))
        return false;
    n = (size_t)(f[4] - 1 - f[3]);
    if (n == 0 || n >= sizeof(num))
        return false;
    memcpy(num, f[3], n);
    num[n] = '\0';
    out->runtime = strtod(num, &e);
    if (*e != '\0' || !(out->runtime >= 0) || out->runtime > 1e9)
        return false;
    out->seq = (uint64_t)seq;
    out->exitval = exitval;
    out->signal = sig;
    out->cmd = f[8];
    out->cmd_len = (size_t)(end - f[8]);
    return true;
}

int
tf__joblog_read(const char *path,
                int (*fn)(void *arg, const struct tf__joblog_line *line),
                void *arg, uint64_t *valid_bytes, struct tf_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    uint64_t lineno = 0, valid = 0;
    ssize_t n;
    FILE *f;
    int rc = 0;

    if (valid_bytes != NULL)
        *valid_bytes = 0;
    f = fopen(path, "re");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        return tf__error_errno(err, TF_EUSAGE, errno, "%s", path);
    }
    while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
        struct tf__joblog_line jl;
        size_t len = (size_t)n;

        lineno++;
        if (line[len - 1] != '\n')
            break; /* torn: the run was killed while writing it */
        len--;
        if (lineno == 1 && strncmp(line, "Seq\t", 4) == 0) {
            valid += (uint64_t)n;
            continue;
        }
        if (!parse_joblog_line(line, len, &jl)) {
            rc = tf__error(err, TF_EINPUT,
                           "%s:%llu: not a joblog line (expected 9 "
                           "TAB-separated fields: Seq ... Command)",
                           path, (unsigned long long)lineno);
            break;
        }
        rc = fn(arg, &jl);
        if (rc < 0)
            rc = tf__error(err, rc, "out of memory");
        valid += (uint64_t)n;
    }
    if (rc == 0 && ferror(f))
        rc = tf__error_errno(err, TF_EUSAGE, errno, "%s", path);
    free(line);
    fclose(f);
    if (rc == 0 && valid_bytes != NULL)
        *valid_bytes = valid;
    return rc;
}

static int
add_joblog_line(void *arg, const struct tf__joblog_line *jl)
{
    return put(arg, jl->seq, tf__task_hash(jl->cmd, jl->cmd_len),
               jl->exitval == 0 && jl->signal == 0, true, jl->cmd,
               jl->cmd_len);
}

int
tf__resume_load_joblog(struct tf__resume *r, const char *path,
                       uint64_t *valid_bytes, struct tf_error *err)
{
    return tf__joblog_read(path, add_joblog_line, r, valid_bytes, err);
}

static int
add_record(void *arg, const struct tf__result_rec *rec)
{
    return put(arg, rec->id, rec->hash, rec->status == 0 && rec->signal == 0,
               false, NULL, 0);
}

int
tf__resume_load_results(struct tf__resume *r, const char *path,
                        struct tf_error *err)
{
    int rc;

    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0; /* the first run: nothing recorded yet */
    rc = tf__results_read(path, add_record, r, NULL, err);
    if (rc == TF_ENOMEM)
        return tf__error(err, rc, "out of memory");
    if (rc == 0)
        rc = tf__resume_load_store(r, path, err);
    return rc;
}

static size_t
stored_slot(const struct tf__resume *r, uint64_t id)
{
    size_t i = (size_t)(id * 0x9e3779b97f4a7c15u) & (r->st_cap - 1);

    while (r->st[i].id != 0 && r->st[i].id != id)
        i = (i + 1) & (r->st_cap - 1);
    return i;
}

/* The store's entry of task ID, made when it has none. */
static struct stored *
stored_get(struct tf__resume *r, uint64_t id)
{
    struct stored *e;

    if ((r->st_n + 1) * 2 > r->st_cap) {
        struct stored *old = r->st;
        size_t old_cap = r->st_cap;
        size_t i;

        r->st_cap = old_cap ? old_cap * 2 : 256;
        r->st = calloc(r->st_cap, sizeof(*r->st));
        if (r->st == NULL) {
            r->st = old;
            r->st_cap = old_cap;
            return NULL;
        }
        for (i = 0; i < old_cap; i++)
            if (old[i].id != 0)
                r->st[stored_slot(r, old[i].id)] = old[i];
        free(old);
    }
    e = &r->st[stored_slot(r, id)];
    if (e->id == 0) {
        e->id = id;
        r->st_n++;
    }
    return e;
}

/* Notes the --output size a record says, for the run that wrote it. */
static void
note_output(struct tf__resume *r, uint64_t out_end)
{
    if (out_end > r->out_size || !r->has_out)
        r->out_size = out_end;
    r->has_out = true;
}

static int
add_stored(void *arg, const struct tf__result_rec *rec, uint64_t off,
           uint64_t len)
{
    struct tf__resume *r = arg;
    uint64_t pieces_off = tf__piece_run_next(&r->run, rec, off);
    struct stored *e;

    (void)len;
    if (rec->kind == TF__REC_PIECE)
        return 0;
    if (rec->kind == TF__REC_MARK && rec->id == 0) {
        /* A run's start: the --output it writes, and its size then. */
        free(r->out_path);
        r->out_path = strndup(rec->cmd, rec->cmd_len);
        if (r->out_path == NULL)
            return TF_ENOMEM;
        r->has_out = false;
        note_output(r, rec->out_end);
        return 0;
    }
    if (rec->kind == TF__REC_MARK || (rec->flags & TF__REC_EMITTED)) {
        if (rec->out_end != 0)
            note_output(r, rec->out_end);
        if (r->st_cap > 0 && r->st[stored_slot(r, rec->id)].id == rec->id)
            r->st[stored_slot(r, rec->id)].unmarked = false;
        return 0;
    }
    e = stored_get(r, rec->id);
    if (e == NULL)
        return TF_ENOMEM;
    e->pieces_off = pieces_off;
    e->rec_off = off;
    e->unmarked = true;
    return 0;
}

int
tf__resume_load_store(struct tf__resume *r, const char *path,
                      struct tf_error *err)
{
    int rc;

    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    free(r->store);
    r->store = strdup(path);
    if (r->store == NULL)
        return tf__error(err, TF_ENOMEM, "out of memory");
    memset(&r->run, 0, sizeof(r->run));
    rc = tf__results_scan(path, add_stored, r, NULL, err);
    if (rc == TF_ENOMEM)
        return tf__error(err, rc, "out of memory");
    return rc;
}

bool
tf__resume_unmarked(const struct tf__resume *r, uint64_t id)
{
    const struct stored *e;

    if (r == NULL || r->st_cap == 0 || id == 0)
        return false;
    e = &r->st[stored_slot(r, id)];
    return e->id == id && e->unmarked;
}

bool
tf__resume_stored_at(const struct tf__resume *r, uint64_t id,
                     uint64_t *pieces_off, uint64_t *rec_off)
{
    const struct stored *e;

    if (!tf__resume_unmarked(r, id))
        return false;
    e = &r->st[stored_slot(r, id)];
    *pieces_off = e->pieces_off;
    *rec_off = e->rec_off;
    return true;
}

const char *
tf__resume_store_path(const struct tf__resume *r)
{
    return r->store;
}

bool
tf__resume_output_size(const struct tf__resume *r, const char *path,
                       uint64_t *size)
{
    if (!r->has_out || r->out_path == NULL || strcmp(r->out_path, path) != 0)
        return false;
    *size = r->out_size;
    return true;
}

bool
tf__resume_done(const struct tf__resume *r, uint64_t id, const void *data,
                size_t len, bool rerun_failed)
{
    const struct entry *e;
    uint64_t hash;

    if (id == 0)
        return false;
    e = &r->slots[slot_of(r, id)];
    if (e->id != id || (rerun_failed && !(e->flags & DONE_OK)))
        return false;
    /* A joblog's command as run, made by the template from this line. */
    if ((e->flags & DONE_TEXT) && r->tmpl != NULL && e->text_len > 0 &&
        tf__template_matches(r->tmpl, data, len, id,
                             (const char *)r->texts.data + e->text_off,
                             e->text_len))
        return true;
    if ((e->flags & DONE_TEXT) &&
        (memchr(data, '\n', len) != NULL || memchr(data, '\r', len) != NULL)) {
        /* A joblog holds the command with line breaks as spaces. */
        char *t = malloc(len + 1);
        size_t i;

        if (t == NULL)
            return false;
        for (i = 0; i < len; i++) {
            char ch = ((const char *)data)[i];

            t[i] = ch == '\n' || ch == '\r' ? ' ' : ch;
        }
        hash = tf__task_hash(t, len);
        free(t);
    } else {
        hash = tf__task_hash(data, len);
    }
    return e->hash == hash;
}
