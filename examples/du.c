/* du.c - files and bytes under DIR, each folder a task that submits its
 * subfolders: ./du DIR or mpirun -np 3 ./du DIR */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <taskfarm.h>

/* What one folder holds directly: its files and their bytes. */
struct count {
    uint64_t files;
    uint64_t bytes;
};

/*
 * The task function: lists one folder (the task's bytes are its path),
 * counts its files, and submits each subfolder as a new task. The master
 * queues what it submits, so the run grows as it goes and ends when no
 * folder is left. A folder that cannot be read fails alone.
 */
static int
walk(void *arg, const struct tf_task *task, struct tf_result *res)
{
    struct count c = {0, 0};
    struct tf_buf path;
    struct dirent *e;
    struct stat st;
    DIR *d;
    int rc = 0;

    (void)arg;
    tf_buf_init(&path, 0);
    if (tf_buf_append(&path, task->data, task->len) < 0)
        return TF_ENOMEM;
    d = opendir((const char *)path.data);
    if (d == NULL) {
        res->status = 1;
        tf_buf_printf(&res->err, "%s: cannot read the folder",
                      (const char *)path.data);
        tf_buf_cleanup(&path);
        return 0;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        tf_buf_reset(&path);
        rc = tf_buf_append(&path, task->data, task->len);
        if (rc == 0)
            rc = tf_buf_printf(&path, "/%s", e->d_name);
        if (rc < 0 || lstat((const char *)path.data, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            rc = tf_result_submit(res, path.data, path.len);
        } else if (S_ISREG(st.st_mode)) {
            c.files++;
            c.bytes += (uint64_t)st.st_size;
        }
    }
    closedir(d);
    tf_buf_cleanup(&path);
    if (rc < 0)
        return rc;
    return tf_buf_append(&res->out, &c, sizeof(c));
}

/* The run starts from one task: the folder given. */
struct start {
    const char *dir;
    int given;
};

static int
first(void *arg, uint64_t index, struct tf_buf *task)
{
    struct start *s = arg;

    (void)index;
    if (s->given++)
        return 0; /* no more from here: the tasks submit the rest */
    return tf_buf_puts(task, s->dir) < 0 ? TF_ENOMEM : 1;
}

/* The master sums the folders' counts as they arrive. */
static int
add(void *arg, uint64_t index, const struct tf_result *res)
{
    struct count *total = arg, c;

    (void)index;
    if (res->status != 0 || res->out.len != sizeof(c))
        return 0; /* tf_pool_run reports the first failed folder */
    memcpy(&c, res->out.data, sizeof(c));
    total[0].files += c.files;
    total[0].bytes += c.bytes;
    total[1].files++; /* folders */
    return 0;
}

int
main(int argc, char **argv)
{
    const char *workers = getenv("TF_EXAMPLE_WORKERS");
    struct count total[2] = {{0, 0}, {0, 0}};
    struct start s = {NULL, 0};
    struct tf_config cfg;
    struct tf_error err;
    struct tf_pool *pool;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: du DIR\n");
        return 2;
    }
    s.dir = argv[1];
    tf_register("walk", walk, NULL);
    tf_config_init(&cfg);
    cfg.nworkers = workers != NULL ? atoi(workers) : 0;
    rc = tf_init(&cfg, &pool, &err);
    if (rc == TF_WORKER_DONE)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "du: %s\n", err.msg);
        return 3;
    }
    rc = tf_pool_run(pool, "walk", first, &s, add, total, TF_UNORDERED,
                     &err);
    printf("%" PRIu64 " folders, %" PRIu64 " files, %" PRIu64 " bytes\n",
           total[1].files, total[0].files, total[0].bytes);
    if (rc < 0)
        fprintf(stderr, "du: %s\n", err.msg);
    tf_finalize(pool, NULL);
    return rc == 0 ? 0 : rc == TF_ETASK ? 1 : 3;
}
