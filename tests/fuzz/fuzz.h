/* fuzz.h - what the libFuzzer targets in tests/fuzz/ share */
#ifndef TF_FUZZ_H
#define TF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The entry point libFuzzer calls once per input. The same file also links
 * with replay.c, a plain main() that calls it once per file named on the
 * command line, so the regression inputs run in builds without libFuzzer.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A property of the code under test does not hold: say which and abort, so
 * libFuzzer (or the replay driver, through the signal) reports a crash and
 * keeps the input. Fuzz targets are test code; the library never aborts.
 */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

/*
 * Makes the N bytes at P the whole content of an in-memory file (created on
 * the first call and reused, so the fuzzer does no disk I/O) and writes a
 * path that opens it into PATH (64 bytes). Aborts when that fails: the
 * target cannot run without it.
 */
static inline void
fuzz_memfile(const void *p, size_t n, char *path)
{
    static int fd = -1;
    const unsigned char *b = p;
    size_t done = 0;

    if (fd < 0) {
        fd = memfd_create("tf-fuzz", MFD_CLOEXEC);
        FUZZ_CHECK(fd >= 0);
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    while (done < n) {
        ssize_t w = pwrite(fd, b + done, n - done, (off_t)done);

        FUZZ_CHECK(w > 0);
        done += (size_t)w;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
}

#endif /* TF_FUZZ_H */
