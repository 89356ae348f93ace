/* fuzz_npy.c: libFuzzer harness for npy_read (npy.h).
 *
 * Each input is written to a per-process file under /tmp and read with npy_read.
 * Besides crash-freedom (ASan/UBSan), a successful read must satisfy, checked here
 * against an independent parse of the preamble:
 *   - 0 <= ndim <= NPY_MAX_DIMS and the file is exactly preamble + header + w * prod(shape)
 *     bytes, w = 4 for a '<f4' header and 8 otherwise (the product of the shape equals
 *     the number of values read);
 *   - the values are the file's data: the '<f8' bytes unchanged, or each '<f4' value
 *     converted exactly to double (NaN stays NaN);
 *   - npy_write of the result succeeds, its header is padded to a multiple of 64 bytes,
 *     and reading it back gives the same ndim, shape and bytes;
 *   - writing that again gives a byte-identical file (the writer is deterministic).
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build and run: make fuzz FUZZ_SECONDS=60 (tests/fuzz/run.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engram/engram.h"
#include "engram/npy.h"

#define FUZZ_NAME "fuzz_npy"
#include "fuzz_common.h"

/* 4 if the value of the header's 'descr' key (header = bytes [from, to) of d) is
 * '<f4' (little-endian float32), else 8. */
static size_t item_width(const uint8_t *d, size_t from, size_t to) {
    static const char key[] = "'descr'", f4[] = "'<f4'";
    for (size_t i = from; i + sizeof key - 1 <= to; i++) {
        if (memcmp(d + i, key, sizeof key - 1) != 0) continue;
        size_t j = i + sizeof key - 1;
        while (j < to && (d[j] == ' ' || d[j] == ':')) j++;
        return j + sizeof f4 - 1 <= to && memcmp(d + j, f4, sizeof f4 - 1) == 0 ? 4 : 8;
    }
    return 8;
}

/* 1 if the values x (n,) equal the file's data (w-byte little-endian floats). */
static int same_values(const double *x, const uint8_t *d, size_t n, size_t w) {
    if (w == 8) return n == 0 || memcmp(x, d, n * 8) == 0;
    for (size_t i = 0; i < n; i++) {
        float f;
        memcpy(&f, d + 4 * i, 4);
        double v = (double)f;
        if (!(v == x[i] || (v != v && x[i] != x[i]))) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path_in[128], path_a[128], path_b[128];

static void init_paths(void) {
    if (path_in[0]) return;
    fuzz_make_path(path_in, "in.npy");
    fuzz_make_path(path_a, "a.npy");
    fuzz_make_path(path_b, "b.npy");
}

/* Length of magic + version + header-length field + header, from the preamble. */
static size_t preamble_and_header(const uint8_t *d, size_t n) {
    if (n < 10) return SIZE_MAX;
    if (d[6] == 1) return 10 + ((size_t)d[8] | (size_t)d[9] << 8);
    if (d[6] == 2 && n >= 12)
        return 12 + ((size_t)d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 |
                     (size_t)d[11] << 24);
    return SIZE_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init_paths();
    fuzz_write_file(path_in, data, size);
    double *x = NULL;
    size_t nd = 99, shape[NPY_MAX_DIMS];
    int st = npy_read(path_in, &x, &nd, shape);
    FUZZ_CHECK(st == ENGRAM_OK || st == ENGRAM_EFORMAT || st == ENGRAM_ENOMEM,
               "npy_read returned status %d", st);
    if (st != ENGRAM_OK) {
        FUZZ_CHECK(x == NULL, "failed read left *data set");
        FUZZ_CHECK(engram_error()[0] != '\0', "failed read without a message");
        return 0;
    }
    /* Shape and size against an independent look at the file. */
    FUZZ_CHECK(nd <= NPY_MAX_DIMS, "ndim %zu", nd);
    size_t count = 1;
    for (size_t i = 0; i < nd; i++) {
        FUZZ_CHECK(shape[i] == 0 || count <= SIZE_MAX / shape[i], "shape product overflows");
        count *= shape[i];
    }
    size_t head = preamble_and_header(data, size);
    FUZZ_CHECK(head <= size, "accepted a file whose header (%zu) exceeds its size (%zu)", head,
               size);
    size_t w = item_width(data, 10, head);
    FUZZ_CHECK(count <= (size - head) / w && size - head == count * w,
               "prod(shape) = %zu values of %zu bytes but the file holds %zu data bytes", count,
               w, size - head);
    FUZZ_CHECK(same_values(x, data + head, count, w), "values differ from file");
    /* Write, read back, write again (to fresh paths: ext4 flushes a file renamed over
     * an existing one, which would make every run wait for the disk). */
    remove(path_a);
    remove(path_b);
    FUZZ_CHECK(npy_write(path_a, x, nd, shape) == ENGRAM_OK, "npy_write: %s", engram_error());
    double *y = NULL;
    size_t nd2 = 99, shape2[NPY_MAX_DIMS];
    FUZZ_CHECK(npy_read(path_a, &y, &nd2, shape2) == ENGRAM_OK, "re-read: %s", engram_error());
    FUZZ_CHECK(nd2 == nd, "re-read ndim %zu, wrote %zu", nd2, nd);
    for (size_t i = 0; i < nd; i++)
        FUZZ_CHECK(shape2[i] == shape[i], "re-read shape[%zu] %zu, wrote %zu", i, shape2[i],
                   shape[i]);
    FUZZ_CHECK(count == 0 || memcmp(x, y, count * 8) == 0, "re-read values differ");
    FUZZ_CHECK(npy_write(path_b, y, nd2, shape2) == ENGRAM_OK, "npy_write: %s", engram_error());
    size_t na, nb;
    uint8_t *fa = fuzz_slurp(path_a, &na), *fb = fuzz_slurp(path_b, &nb);
    FUZZ_CHECK(na == nb && memcmp(fa, fb, na) == 0, "re-written file differs");
    size_t head_a = preamble_and_header(fa, na);
    FUZZ_CHECK(head_a != SIZE_MAX && head_a % 64 == 0 && fa[head_a - 1] == '\n',
               "written header of %zu bytes is not 64-aligned and newline-terminated", head_a);
    FUZZ_CHECK(na == head_a + count * 8, "written file has %zu bytes, expected %zu", na,
               head_a + count * 8);
    free(fa);
    free(fb);
    free(x);
    free(y);
    return 0;
}
