/* fuzz_results.c - libFuzzer target: the results-file reader
 * (tf__results_read, src/results.c) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "results.h"

/*
 * The input is a results file as a killed run, a full disk or a stray
 * write may leave it: any bytes. The reader must either refuse the file
 * before calling back once, or call back for whole records only and report
 * how many bytes at the end it ignored. The record layout of results.h
 * (16-byte file header; per record a 12-byte head, a body of 56 fixed bytes
 * and four u32-counted strings, a 4-byte CRC) lets the target check that
 * the records and the ignored tail account for every byte of the file.
 */
#define FILE_HDR 16
#define REC_FIXED (12 + 56 + 4 * 4 + 4)

/* Return this from the callback to stop the scan. */
#define STOP 7

struct seen {
    uint64_t *ids; /* ids of the records, in order (room for MAX) */
    size_t max;
    size_t records;
    uint64_t bytes; /* file bytes the records take */
    uint32_t sum;   /* of every byte the records point to */
    size_t stop_at; /* return STOP at this record (1-based), 0: never */
};

static uint32_t
sum_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint32_t s = 0;
    size_t i;

    for (i = 0; i < n; i++)
        s = s * 31 + b[i];
    return s;
}

static int
on_record(void *arg, const struct tf__result_rec *rec)
{
    struct seen *s = arg;

    FUZZ_CHECK(rec != NULL);
    FUZZ_CHECK(s->records < s->max);
    s->ids[s->records++] = rec->id;
    s->bytes +=
        REC_FIXED + rec->host_len + rec->cmd_len + rec->out_len + rec->err_len;
    /* Every byte a record points to is readable during the call. */
    s->sum += sum_bytes(rec->host, rec->host_len);
    s->sum += sum_bytes(rec->cmd, rec->cmd_len);
    s->sum += sum_bytes(rec->out, rec->out_len);
    s->sum += sum_bytes(rec->err, rec->err_len);
    return s->records == s->stop_at ? STOP : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen all = {0};
    struct seen part = {0};
    struct tf_error err;
    uint64_t tail_bytes = UINT64_MAX;
    char path[64];
    size_t i;
    int rc;

    fuzz_memfile(data, size, path);
    all.max = size / REC_FIXED + 1;
    all.ids = malloc(all.max * sizeof(*all.ids));
    FUZZ_CHECK(all.ids != NULL);

    tf_error_init(&err);
    rc = tf__results_read(path, on_record, &all, &tail_bytes, &err);
    if (rc < 0) {
        /* The file is checked whole first: a refusal calls back never. */
        FUZZ_CHECK(err.code == rc);
        FUZZ_CHECK(all.records == 0);
        goto done;
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(tail_bytes <= size);
    if (size < FILE_HDR) {
        /* At most the start of a header: a file a run began to create. */
        FUZZ_CHECK(all.records == 0 && tail_bytes == size);
    } else {
        FUZZ_CHECK(FILE_HDR + all.bytes + tail_bytes == size);
    }

    /* A callback that returns nonzero stops the scan, which returns it. */
    if (all.records > 0) {
        part.max = all.max;
        part.ids = malloc(part.max * sizeof(*part.ids));
        FUZZ_CHECK(part.ids != NULL);
        part.stop_at = all.records / 2 + 1;
        rc = tf__results_read(path, on_record, &part, NULL, &err);
        FUZZ_CHECK(rc == STOP);
        FUZZ_CHECK(part.records == part.stop_at);
        for (i = 0; i < part.records; i++)
            FUZZ_CHECK(part.ids[i] == all.ids[i]);
        free(part.ids);
    }
done:
    free(all.ids);
    return 0;
}
