/* replay.c - runs a fuzz target's LLVMFuzzerTestOneInput once on each file
 * named on the command line, as libFuzzer does when given files; linked
 * instead of libFuzzer in builds made without it (gcc). Arguments that start
 * with '-' are libFuzzer's flags and are ignored. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

/* Reads the whole file PATH into *DATA (malloc'd) and *SIZE. */
static int
read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    size_t n = 0;
    size_t cap = 0;

    if (f == NULL)
        return -1;
    for (;;) {
        if (n == cap) {
            uint8_t *q;

            cap = cap == 0 ? 4096 : 2 * cap;
            q = realloc(p, cap);
            if (q == NULL)
                break;
            p = q;
        }
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
    }
    if (ferror(f) || n == cap) {
        fclose(f);
        free(p);
        return -1;
    }
    fclose(f);
    *data = p;
    *size = n;
    return 0;
}

int
main(int argc, char **argv)
{
    int ran = 0;
    int i;

    for (i = 1; i < argc; i++) {
        uint8_t *data;
        size_t size;

        if (argv[i][0] == '-')
            continue;
        if (read_file(argv[i], &data, &size) < 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        printf("Running: %s\n", argv[i]);
        fflush(stdout);
        /* An input that hangs fails, as under libFuzzer's -timeout=10. */
        alarm(10);
        LLVMFuzzerTestOneInput(data, size);
        alarm(0);
        free(data);
        ran++;
    }
    printf("replay: %d inputs ran\n", ran);
    return 0;
}
