/* fuzz_ckpt.c: libFuzzer harness for ckpt_load (run.h).
 *
 * Input layout: byte 0 is a control byte, the rest is the checkpoint file.
 *   bits 0-1: how many of the expected blobs the caller asks for (0..3);
 *   bit 2:    append the correct FNV-1a checksum to the file, so the fuzzer can reach
 *             every check behind the checksum (without it, almost every mutation is a
 *             checksum mismatch).
 * The file is written to a per-process path under /tmp and loaded as experiment
 * "fuzzexp" into blobs "weights" (24 bytes), "rng.state" (5 bytes), "empty" (0 bytes).
 * Besides crash-freedom (ASan/UBSan), a successful load must mean that the file is
 * exactly what ckpt_save writes for that experiment, step and blob contents: the names
 * and sizes matched, every blob was filled, nothing trails. Checked by saving the
 * loaded blobs again and comparing the two files byte for byte. A violated invariant
 * aborts, which libFuzzer reports as a crash.
 *
 * Build and run: make fuzz FUZZ_SECONDS=60 (tests/fuzz/run.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engram/engram.h"
#include "engram/run.h"

#define FUZZ_NAME "fuzz_ckpt"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path_in[128], path_out[128];

static void init_paths(void) {
    if (path_in[0]) return;
    fuzz_make_path(path_in, "in.bin");
    fuzz_make_path(path_out, "out.bin");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init_paths();
    if (size < 1) return 0;
    size_t n_blobs = data[0] & 3;
    int fix_checksum = (data[0] >> 2) & 1;
    const uint8_t *body = data + 1;
    size_t n = size - 1;

    remove(path_in); /* a fresh file: ext4 flushes a file truncated and rewritten */
    FILE *f = fopen(path_in, "wb");
    FUZZ_CHECK(f != NULL, "cannot create %s", path_in);
    FUZZ_CHECK(n == 0 || fwrite(body, 1, n, f) == n, "cannot write %s", path_in);
    if (fix_checksum) {
        /* FNV-1a 64 of the body, little-endian, as ckpt_save appends it. */
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < n; i++) {
            h ^= body[i];
            h *= 0x100000001b3ULL;
        }
        unsigned char b[8];
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)(h >> (8 * i));
        FUZZ_CHECK(fwrite(b, 1, 8, f) == 8, "cannot write %s", path_in);
    }
    FUZZ_CHECK(fclose(f) == 0, "cannot close %s", path_in);

    /* Sentinel-filled blobs (so a blob the loader skipped cannot pass as read). */
    unsigned char w[24], rs[5], e[1];
    memset(w, 0xA5, sizeof w);
    memset(rs, 0xA5, sizeof rs);
    ckpt_blob blobs[3] = {{"weights", w, sizeof w}, {"rng.state", rs, sizeof rs}, {"empty", e, 0}};
    long step = -12345;
    int st = ckpt_load(path_in, "fuzzexp", &step, blobs, n_blobs);
    FUZZ_CHECK(st == ENGRAM_OK || st == ENGRAM_EFORMAT, "ckpt_load status %d", st);
    if (st != ENGRAM_OK) {
        FUZZ_CHECK(engram_error()[0] != '\0', "failure without a message");
        return 0;
    }
    /* Success: the file must be exactly what ckpt_save writes for what was loaded. */
    remove(path_out); /* ext4 flushes a file renamed over an existing one */
    FUZZ_CHECK(ckpt_save(path_out, "fuzzexp", step, blobs, n_blobs) == ENGRAM_OK, "ckpt_save: %s",
               engram_error());
    size_t na, nb;
    uint8_t *fa = fuzz_slurp(path_in, &na), *fb = fuzz_slurp(path_out, &nb);
    FUZZ_CHECK(na == nb && memcmp(fa, fb, na) == 0,
               "loaded a %zu-byte file that is not the canonical %zu-byte checkpoint of its "
               "contents (names, sizes or blobs not matched exactly)", na, nb);
    free(fa);
    free(fb);
    return 0;
}
