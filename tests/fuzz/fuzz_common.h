/* fuzz_common.h: what every fuzz harness shares. Define FUZZ_NAME ("fuzz_npy", ...)
 * before including. The parsers read files, so a harness writes each input to its own
 * per-process file under /tmp (removed at exit) and calls the parser on it; a broken
 * invariant aborts, which libFuzzer reports as a crash. */
#ifndef ENGRAM_FUZZ_COMMON_H
#define ENGRAM_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FUZZ_CHECK(cond, ...)                                                     \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, FUZZ_NAME ": invariant violated: " __VA_ARGS__);      \
            fprintf(stderr, " [%s:%d]\n", __FILE__, __LINE__);                    \
            abort();                                                              \
        }                                                                         \
    } while (0)

#define FUZZ_MAX_PATHS 4
static char *fuzz_registered[FUZZ_MAX_PATHS];
static size_t fuzz_n_registered;

static void fuzz_remove_files(void) {
    for (size_t i = 0; i < fuzz_n_registered; i++) remove(fuzz_registered[i]);
}

/* Fills buf (128 bytes) with /tmp/engram_<FUZZ_NAME>_<pid>_<tag> and registers it for
 * removal at exit. */
static inline void fuzz_make_path(char *buf, const char *tag) {
    snprintf(buf, 128, "/tmp/engram_" FUZZ_NAME "_%ld_%s", (long)getpid(), tag);
    FUZZ_CHECK(fuzz_n_registered < FUZZ_MAX_PATHS, "too many temporary files");
    if (fuzz_n_registered == 0) atexit(fuzz_remove_files);
    fuzz_registered[fuzz_n_registered++] = buf;
}

/* Writes size bytes to a fresh file at path. */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size) {
    remove(path); /* a fresh file: ext4 flushes a file truncated and rewritten */
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL, "cannot create %s", path);
    FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size, "cannot write %s", path);
    FUZZ_CHECK(fclose(f) == 0, "cannot close %s", path);
}

/* Reads a whole file into a malloc'd buffer; *size receives its length. */
static inline uint8_t *fuzz_slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f != NULL, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    FUZZ_CHECK(b != NULL, "out of memory");
    for (;;) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        b = realloc(b, cap);
        FUZZ_CHECK(b != NULL, "out of memory");
    }
    fclose(f);
    *size = n;
    return b;
}

#endif
