/* fuzz_png.c: libFuzzer harness for image_read_png (image.h, libpng).
 *
 * libpng is the system library (not instrumented), and almost every blind mutation of a
 * PNG fails its chunk CRCs, so byte 0 of an input chooses how the file is made:
 *   bit 0 clear: the rest of the input is the file, as is (bit 1 set: chunk CRCs are
 *                recomputed first, so mutations reach libpng's chunk and zlib checks);
 *   bit 0 set:   the rest drives a PNG built here with libpng's writer: colour type
 *                (grey, RGB, palette, grey+alpha, RGBA), every legal bit depth, 1..32 x
 *                1..32 pixels, Adam7 interlace, tRNS, gAMA, pixel values; then optionally
 *                corrupted (truncated, or one byte changed with CRCs recomputed).
 * The file is written to a per-process path under /tmp and read with image_read_png.
 * Besides crash-freedom (ASan/UBSan, LeakSanitizer for the error paths):
 *   - a successful read has width, height > 0 and a width * height * 3 pixel block;
 *   - its pixels equal an independent decode of the same bytes with libpng's simplified
 *     API from memory (RGBA, alpha dropped);
 *   - a built, uncorrupted PNG must be read, and when its samples are 8-bit sRGB values
 *     (depth <= 8, no gAMA) its pixels must equal the values written, computed here
 *     (grey s of depth d -> s * 255 / (2^d - 1); palette index -> entry; alpha dropped);
 *   - image_write_png of the result succeeds and reading it back gives the same pixels.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build and run: make fuzz FUZZ_SECONDS=60 (tests/fuzz/run.sh). */
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engram/engram.h"
#include "engram/image.h"

#define FUZZ_NAME "fuzz_png"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path_in[128], path_out[128];

static void init_paths(void) {
    if (path_in[0]) return;
    fuzz_make_path(path_in, "in.png");
    fuzz_make_path(path_out, "out.png");
}

/* ---- a growable byte buffer, libpng's write target ---- */

typedef struct membuf {
    uint8_t *b;
    size_t n, cap;
} membuf;

static void mem_put(membuf *m, const void *p, size_t len) {
    if (len == 0) return;
    if (m->n + len > m->cap) {
        m->cap = 2 * (m->n + len);
        m->b = realloc(m->b, m->cap);
        FUZZ_CHECK(m->b != NULL, "out of memory");
    }
    memcpy(m->b + m->n, p, len);
    m->n += len;
}

static void mem_write(png_structp png, png_bytep p, size_t len) {
    mem_put(png_get_io_ptr(png), p, len);
}

static void mem_flush(png_structp png) { (void)png; }

/* CRC-32 of PNG chunks (ISO 3309, as in the PNG specification's sample code). */
static uint32_t crc32_png(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

/* Recomputes the CRC of every complete chunk after the 8-byte signature. */
static void fix_crcs(uint8_t *b, size_t n) {
    size_t off = 8;
    while (off + 12 <= n) {
        size_t len = (size_t)b[off] << 24 | (size_t)b[off + 1] << 16 | (size_t)b[off + 2] << 8 |
                     b[off + 3];
        if (len > n - off - 12) break;
        uint32_t c = crc32_png(b + off + 4, len + 4);
        uint8_t *q = b + off + 8 + len;
        q[0] = (uint8_t)(c >> 24), q[1] = (uint8_t)(c >> 16), q[2] = (uint8_t)(c >> 8), q[3] = (uint8_t)c;
        off += len + 12;
    }
}

/* ---- building a PNG from the input ---- */

typedef struct cursor {
    const uint8_t *p;
    size_t n, i;
} cursor;

/* Next input byte; after the end, the input again from its start (0 if it is empty). */
static uint8_t next(cursor *c) {
    if (c->n == 0) return 0;
    uint8_t v = c->p[c->i % c->n];
    c->i++;
    return v;
}

typedef struct built {
    membuf png;
    size_t w, h;
    int oracle;      /* 1 if rgb holds the pixels an 8-bit sRGB reader must return */
    uint8_t *rgb;    /* (H, W, 3) expected pixels */
    int corrupted;
} built;

/* Sample x of a packed row of depth-bit samples (depth <= 8, most significant first). */
static unsigned sample_at(const uint8_t *row, size_t x, int depth) {
    size_t bit = x * (size_t)depth;
    return (row[bit / 8] >> (8 - depth - (int)(bit % 8))) & ((1u << depth) - 1);
}

static void put_sample(uint8_t *row, size_t x, int depth, unsigned v) {
    size_t bit = x * (size_t)depth;
    row[bit / 8] |= (uint8_t)(v << (8 - depth - (int)(bit % 8)));
}

static void build_png(cursor *c, built *out) {
    static const int types[5] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_PALETTE,
                                 PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB_ALPHA};
    static const int chans[5] = {1, 3, 1, 2, 4};
    static const int depths[5][5] = {{1, 2, 4, 8, 16}, {8, 16}, {1, 2, 4, 8}, {8, 16}, {8, 16}};
    static const int n_depths[5] = {5, 2, 4, 2, 2};
    int t = next(c) % 5;
    int depth = depths[t][next(c) % n_depths[t]];
    size_t w = 1 + next(c) % 32, h = 1 + next(c) % 32;
    uint8_t flags = next(c);
    int interlace = flags & 1, trns = (flags >> 1) & 1, gama = (flags >> 2) & 1;
    int ch = chans[t];
    size_t rowbytes = (w * (size_t)ch * (size_t)depth + 7) / 8;
    uint8_t *pix = calloc(h, rowbytes);
    png_bytep *rows = malloc(h * sizeof *rows);
    FUZZ_CHECK(pix && rows, "out of memory");
    png_color pal[256];
    int n_pal = 0;
    if (t == 2) {
        n_pal = 1 + next(c) % (1 << depth);
        for (int i = 0; i < n_pal; i++) {
            pal[i].red = next(c);
            pal[i].green = next(c);
            pal[i].blue = next(c);
        }
    }
    for (size_t y = 0; y < h; y++) {
        rows[y] = pix + y * rowbytes;
        if (depth < 8) {
            for (size_t x = 0; x < w; x++) {
                unsigned v = next(c);
                v = (t == 2) ? v % (unsigned)n_pal : v & ((1u << depth) - 1);
                put_sample(rows[y], x, depth, v);
            }
        } else {
            for (size_t i = 0; i < rowbytes; i++) {
                uint8_t v = next(c);
                rows[y][i] = (t == 2) ? (uint8_t)(v % n_pal) : v;
            }
        }
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    FUZZ_CHECK(png && info, "out of memory");
    if (setjmp(png_jmpbuf(png))) FUZZ_CHECK(0, "libpng refused to write a legal PNG");
    png_set_write_fn(png, &out->png, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, types[t],
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (t == 2) png_set_PLTE(png, info, pal, n_pal);
    uint8_t trans_alpha[256];
    png_color_16 trans_colour;
    memset(&trans_colour, 0, sizeof trans_colour);
    if (trns && t == 2) {
        int n = 1 + next(c) % n_pal;
        for (int i = 0; i < n; i++) trans_alpha[i] = next(c);
        png_set_tRNS(png, info, trans_alpha, n, NULL);
    } else if (trns && (t == 0 || t == 1)) {
        unsigned mask = depth == 16 ? 0xffffu : (1u << depth) - 1;
        trans_colour.gray = (png_uint_16)((next(c) << 8 | next(c)) & mask);
        trans_colour.red = (png_uint_16)((next(c) << 8 | next(c)) & mask);
        trans_colour.green = (png_uint_16)((next(c) << 8 | next(c)) & mask);
        trans_colour.blue = (png_uint_16)((next(c) << 8 | next(c)) & mask);
        png_set_tRNS(png, info, NULL, 0, &trans_colour);
    }
    if (gama) png_set_gAMA_fixed(png, info, 10000 + 1000 * (png_fixed_point)(next(c) % 200));
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);

    /* What an 8-bit sRGB reader must return. */
    out->w = w;
    out->h = h;
    out->oracle = depth <= 8 && !gama;
    out->rgb = malloc(w * h * 3);
    FUZZ_CHECK(out->rgb != NULL, "out of memory");
    for (size_t y = 0; out->oracle && y < h; y++)
        for (size_t x = 0; x < w; x++) {
            uint8_t *q = out->rgb + (y * w + x) * 3;
            const uint8_t *r = rows[y];
            if (t == 0) {
                unsigned s = depth == 8 ? r[x] : sample_at(r, x, depth);
                q[0] = q[1] = q[2] = (uint8_t)(s * (255u / ((1u << depth) - 1)));
            } else if (t == 2) {
                unsigned i = depth == 8 ? r[x] : sample_at(r, x, depth);
                q[0] = pal[i].red, q[1] = pal[i].green, q[2] = pal[i].blue;
            } else if (t == 3) { /* grey + alpha */
                q[0] = q[1] = q[2] = r[2 * x];
            } else { /* RGB, RGBA */
                memcpy(q, r + (size_t)ch * x, 3);
            }
        }
    free(rows);
    free(pix);

    /* Corruption: truncation, or one changed byte with the CRCs made right again. */
    if (flags & 8) {
        out->png.n = out->png.n * next(c) / 256;
        out->corrupted = 1;
    } else if (flags & 16 && out->png.n > 8) {
        size_t at = 8 + ((size_t)next(c) << 8 | next(c)) % (out->png.n - 8);
        uint8_t x = next(c);
        out->png.b[at] ^= x ? x : 1;
        fix_crcs(out->png.b, out->png.n);
        out->corrupted = 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init_paths();
    if (size < 1) return 0;
    built b;
    memset(&b, 0, sizeof b);
    if (data[0] & 1) {
        cursor c = {data + 1, size - 1, 0};
        build_png(&c, &b);
    } else {
        mem_put(&b.png, data + 1, size - 1);
        if (data[0] & 2 && b.png.n >= 8) fix_crcs(b.png.b, b.png.n);
        b.corrupted = 1;
    }
    const uint8_t *bytes = b.png.b;
    size_t n = b.png.n;

    remove(path_in); /* a fresh file: ext4 flushes a file truncated and rewritten */
    FILE *f = fopen(path_in, "wb");
    FUZZ_CHECK(f != NULL, "cannot create %s", path_in);
    FUZZ_CHECK(n == 0 || fwrite(bytes, 1, n, f) == n, "cannot write %s", path_in);
    FUZZ_CHECK(fclose(f) == 0, "cannot close %s", path_in);

    image *im = image_read_png(path_in);
    if (!im) {
        FUZZ_CHECK(b.corrupted, "a legal %zu x %zu PNG was refused: %s", b.w, b.h, engram_error());
        FUZZ_CHECK(engram_error()[0] != '\0', "failure without a message");
        free(b.png.b);
        free(b.rgb);
        return 0;
    }
    size_t w = im->width, h = im->height;
    FUZZ_CHECK(w > 0 && h > 0 && im->rgb != NULL, "image %zu x %zu", w, h);
    volatile uint8_t last = im->rgb[w * h * 3 - 1]; /* ASan: block is large enough */
    (void)last;

    /* Independent decode from memory. */
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    FUZZ_CHECK(png_image_begin_read_from_memory(&pi, bytes, n), "reference decode refuses");
    FUZZ_CHECK(pi.width == w && pi.height == h, "reference size %u x %u, engram %zu x %zu",
               (unsigned)pi.width, (unsigned)pi.height, w, h);
    pi.format = PNG_FORMAT_RGBA;
    uint8_t *ref = malloc(PNG_IMAGE_SIZE(pi));
    FUZZ_CHECK(ref != NULL, "out of memory");
    FUZZ_CHECK(png_image_finish_read(&pi, NULL, ref, 0, NULL), "reference decode fails: %s",
               pi.message);
    for (size_t i = 0; i < w * h; i++)
        FUZZ_CHECK(memcmp(im->rgb + 3 * i, ref + 4 * i, 3) == 0, "pixel %zu differs from reference",
                   i);
    free(ref);
    png_image_free(&pi);

    /* Values written into a legal 8-bit sRGB PNG. */
    if (!b.corrupted && b.oracle) {
        FUZZ_CHECK(w == b.w && h == b.h, "size %zu x %zu, written %zu x %zu", w, h, b.w, b.h);
        for (size_t i = 0; i < w * h; i++)
            FUZZ_CHECK(memcmp(im->rgb + 3 * i, b.rgb + 3 * i, 3) == 0,
                       "pixel %zu (x %zu, y %zu) is %u,%u,%u, written %u,%u,%u", i, i % w, i / w,
                       im->rgb[3 * i], im->rgb[3 * i + 1], im->rgb[3 * i + 2], b.rgb[3 * i],
                       b.rgb[3 * i + 1], b.rgb[3 * i + 2]);
    }

    /* Write and read back. */
    remove(path_out); /* a fresh file: ext4 flushes a file truncated and rewritten */
    FUZZ_CHECK(image_write_png(im, path_out) == ENGRAM_OK, "image_write_png: %s",
               engram_error());
    image *back = image_read_png(path_out);
    FUZZ_CHECK(back != NULL, "re-read: %s", engram_error());
    FUZZ_CHECK(back->width == w && back->height == h, "re-read size differs");
    FUZZ_CHECK(memcmp(back->rgb, im->rgb, w * h * 3) == 0, "re-read pixels differ");
    image_free(back);
    image_free(im);
    free(b.png.b);
    free(b.rgb);
    return 0;
}
