/* test_image.c: tests of the PNG figure module (image.h).
 *
 * Oracles: a byte-exact round trip through libpng of an odd-sized image with a distinct
 * value in every channel of every pixel (flips, transposes and channel swaps would
 * show); matplotlib's published colour-map values (jet's piecewise-linear definition,
 * re-implemented here in a different form; viridis endpoints and its #21918c midpoint);
 * pixel positions derived from the documented layouts; every error path provoked.
 * Set ENGRAM_TEST_KEEP=1 to keep the written PNGs (their directory is printed).
 */
#include <limits.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engram/engram.h"
#include "engram/image.h"
#include "testhelp.h"

static char tmpdir[64] = "/tmp/engram_test_image_XXXXXX";
static char pathbuf[256];

static const char *tmp_path(const char *name) {
    snprintf(pathbuf, sizeof pathbuf, "%s/%s", tmpdir, name);
    return pathbuf;
}

static const uint8_t *px(const image *im, size_t x, size_t y) {
    return im->rgb + (y * im->width + x) * 3;
}

static int same_rgb(const uint8_t *a, const uint8_t *b) {
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

static int max_diff(const uint8_t *a, const uint8_t *b) {
    int m = 0;
    for (int k = 0; k < 3; k++) {
        int d = abs((int)a[k] - (int)b[k]);
        if (d > m) m = d;
    }
    return m;
}

static size_t count_rgb(const image *im, const uint8_t c[3]) {
    size_t n = 0;
    for (size_t i = 0; i < im->width * im->height; i++)
        if (same_rgb(im->rgb + 3 * i, c)) n++;
    return n;
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Copies the first n bytes of src to dst. */
static int copy_prefix(const char *src, const char *dst, long n) {
    FILE *a = fopen(src, "rb"), *b = fopen(dst, "wb");
    int ok = a && b;
    for (long i = 0; ok && i < n; i++) {
        int c = fgetc(a);
        if (c == EOF) break;
        fputc(c, b);
    }
    if (a) fclose(a);
    if (b) fclose(b);
    return ok;
}

/* ------------------------------------------------------------------ round trip */

static void test_roundtrip(void) {
    const size_t W = 7, H = 5;
    image *im = image_alloc(W, H);
    CHECK(im && im->width == W && im->height == H, "image_alloc 7 x 5");
    if (!im) return;
    CHECK(im->rgb[0] == 255 && im->rgb[W * H * 3 - 1] == 255, "new image is white");
    /* channel k of pixel (x, y): 105 distinct values 17, 19, ..., 225. */
    for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++)
            for (size_t k = 0; k < 3; k++)
                im->rgb[(y * W + x) * 3 + k] = (uint8_t)(17 + 2 * (3 * (y * W + x) + k));
    const char *path = tmp_path("roundtrip.png");
    int st = image_write_png(im, path);
    CHECK(st == ENGRAM_OK, "image_write_png 7 x 5 returns OK (status %d)", st);
    FILE *f = fopen(path, "rb");
    unsigned char sig[8] = {0};
    size_t got = f ? fread(sig, 1, 8, f) : 0;
    if (f) fclose(f);
    CHECK(got == 8 && png_sig_cmp(sig, 0, 8) == 0, "file starts with the PNG signature");

    /* Read back with libpng directly (independent of image_read_png). */
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    int ok = png_image_begin_read_from_file(&pi, path);
    CHECK(ok && pi.width == W && pi.height == H, "libpng sees %u x %u", (unsigned)pi.width,
          (unsigned)pi.height);
    CHECK(ok && (pi.format & PNG_FORMAT_FLAG_COLOR) && !(pi.format & PNG_FORMAT_FLAG_ALPHA),
          "libpng sees an RGB file without alpha (format %u)", ok ? (unsigned)pi.format : 0u);
    uint8_t buf[7 * 5 * 3];
    if (ok) {
        pi.format = PNG_FORMAT_RGB;
        ok = png_image_finish_read(&pi, NULL, buf, 0, NULL);
    }
    png_image_free(&pi);
    size_t bad = 0;
    for (size_t i = 0; ok && i < sizeof buf; i++) bad += buf[i] != im->rgb[i];
    CHECK(ok && bad == 0, "libpng read-back: all 105 bytes equal (%zu differ)", bad);

    image *back = image_read_png(path);
    CHECK(back && back->width == W && back->height == H, "image_read_png size 7 x 5");
    bad = 0;
    for (size_t i = 0; back && i < W * H * 3; i++) bad += back->rgb[i] != im->rgb[i];
    CHECK(back && bad == 0, "image_read_png: all 105 bytes equal (%zu differ)", bad);
    CHECK(back && back->rgb[0] == 17 && back->rgb[2] == 21 && px(back, 6, 0)[0] == 17 + 2 * 18 &&
              px(back, 0, 4)[0] == 17 + 2 * 84,
          "corners in place: no flip or transpose");
    image_free(back);
    image_free(im);
}

static void test_read_rgba(void) {
    /* An RGBA file written with libpng: alpha must be dropped, not composited. */
    const png_uint_32 W = 5, H = 3;
    uint8_t rgba[5 * 3 * 4];
    for (size_t i = 0; i < W * H; i++) {
        rgba[4 * i + 0] = (uint8_t)(10 + 15 * i);
        rgba[4 * i + 1] = (uint8_t)(250 - 13 * i);
        rgba[4 * i + 2] = (uint8_t)(3 + 7 * i);
        rgba[4 * i + 3] = (uint8_t)(17 * i); /* alpha 0 .. 238 */
    }
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = W;
    pi.height = H;
    pi.format = PNG_FORMAT_RGBA;
    const char *path = tmp_path("rgba.png");
    int ok = png_image_write_to_file(&pi, path, 0, rgba, 0, NULL);
    png_image_free(&pi);
    CHECK(ok, "libpng wrote a 5 x 3 RGBA file");
    image *im = image_read_png(path);
    CHECK(im && im->width == W && im->height == H, "image_read_png reads RGBA 5 x 3");
    size_t bad = 0;
    for (size_t i = 0; im && i < W * H; i++)
        for (int k = 0; k < 3; k++) bad += im->rgb[3 * i + k] != rgba[4 * i + k];
    CHECK(im && bad == 0, "RGBA: colour channels kept exactly, alpha dropped (%zu differ)", bad);
    image_free(im);
}

/* ------------------------------------------------------------------ colour maps */

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* matplotlib's jet (_cm.py _jet_data) written as explicit pieces. */
static void jet_ref(double v, double out[3]) {
    double r, g, b;
    if (v < 0.35) r = 0;
    else if (v < 0.66) r = (v - 0.35) / 0.31;
    else if (v < 0.89) r = 1;
    else r = 1 - 0.5 * (v - 0.89) / 0.11;
    if (v < 0.125) g = 0;
    else if (v < 0.375) g = (v - 0.125) / 0.25;
    else if (v < 0.64) g = 1;
    else if (v < 0.91) g = 1 - (v - 0.64) / 0.27;
    else g = 0;
    if (v < 0.11) b = 0.5 + 0.5 * v / 0.11;
    else if (v < 0.34) b = 1;
    else if (v < 0.65) b = 1 - (v - 0.34) / 0.31;
    else b = 0;
    out[0] = 255 * clamp01(r);
    out[1] = 255 * clamp01(g);
    out[2] = 255 * clamp01(b);
}

static void test_cmaps(void) {
    uint8_t c[3], d[3];
    image_cmap_rgb(IMAGE_CMAP_JET, 0.0, c);
    CHECK(c[0] == 0 && c[1] == 0 && abs((int)c[2] - 127) <= 1, "jet(0) dark blue: (%d,%d,%d)",
          c[0], c[1], c[2]);
    image_cmap_rgb(IMAGE_CMAP_JET, 1.0, c);
    CHECK(abs((int)c[0] - 127) <= 1 && c[1] == 0 && c[2] == 0, "jet(1) dark red: (%d,%d,%d)",
          c[0], c[1], c[2]);
    double worst = 0;
    for (int i = 0; i <= 400; i++) {
        double v = i / 400.0, ref[3];
        jet_ref(v, ref);
        image_cmap_rgb(IMAGE_CMAP_JET, v, c);
        for (int k = 0; k < 3; k++) worst = fmax(worst, fabs(c[k] - ref[k]));
    }
    CHECK(worst <= 0.5 + 1e-9, "jet matches the piecewise-linear reference at 401 points "
          "(max |diff| %.3f levels)", worst);
    image_cmap_rgb(IMAGE_CMAP_JET, 0.5, c);
    CHECK(c[0] == 123 && c[1] == 255 && c[2] == 123, "jet(0.5) = (123,255,123): (%d,%d,%d)",
          c[0], c[1], c[2]);

    image_cmap_rgb(IMAGE_CMAP_VIRIDIS, 0.0, c);
    CHECK(c[0] == 68 && c[1] == 1 && c[2] == 84, "viridis(0) = (68,1,84): (%d,%d,%d)", c[0],
          c[1], c[2]);
    image_cmap_rgb(IMAGE_CMAP_VIRIDIS, 1.0, c);
    CHECK(c[0] == 253 && c[1] == 231 && c[2] == 37, "viridis(1) = (253,231,37): (%d,%d,%d)",
          c[0], c[1], c[2]);
    const uint8_t mid[3] = {0x21, 0x91, 0x8c}; /* matplotlib viridis(0.5) = #21918c */
    image_cmap_rgb(IMAGE_CMAP_VIRIDIS, 0.5, c);
    CHECK(max_diff(c, mid) <= 1, "viridis(0.5) = #21918c within 1 level: (%d,%d,%d)", c[0],
          c[1], c[2]);
    /* viridis is designed with monotone lightness: luma must rise at every step. */
    double prev = -1;
    int mono = 1;
    for (int i = 0; i <= 64; i++) {
        image_cmap_rgb(IMAGE_CMAP_VIRIDIS, i / 64.0, c);
        double luma = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
        if (luma <= prev) mono = 0;
        prev = luma;
    }
    CHECK(mono, "viridis luma strictly increasing over 65 samples");

    image_cmap_rgb(IMAGE_CMAP_GREY, 0.0, c);
    image_cmap_rgb(IMAGE_CMAP_GREY, 1.0, d);
    CHECK(c[0] == 0 && c[2] == 0 && d[0] == 255 && d[1] == 255, "grey(0) black, grey(1) white");
    image_cmap_rgb(IMAGE_CMAP_GREY, 0.2385, c);
    CHECK(c[0] == 61 && c[1] == 61 && c[2] == 61, "grey(0.2385) = 61 (round(60.8)): %d", c[0]);

    image_cmap_rgb(IMAGE_CMAP_JET, -2.385, c);
    image_cmap_rgb(IMAGE_CMAP_JET, 0.0, d);
    CHECK(same_rgb(c, d), "jet clamps below 0");
    image_cmap_rgb(IMAGE_CMAP_VIRIDIS, 7.5, c);
    image_cmap_rgb(IMAGE_CMAP_VIRIDIS, 1.0, d);
    CHECK(same_rgb(c, d), "viridis clamps above 1");
    const image_cmap maps[3] = {IMAGE_CMAP_JET, IMAGE_CMAP_VIRIDIS, IMAGE_CMAP_GREY};
    for (int m = 0; m < 3; m++) {
        image_cmap_rgb(maps[m], NAN, c);
        CHECK(c[0] == 200 && c[1] == 200 && c[2] == 200, "cmap %d: NaN is grey (%d,%d,%d)", m,
              c[0], c[1], c[2]);
    }
}

/* ------------------------------------------------------------------ font, lines */

static void test_font(void) {
    /* Render each printable character alone; all 95 glyphs must differ. */
    enum { NCH = 95 };
    static uint8_t glyphs[NCH][6 * 8 * 3];
    const uint8_t ink[3] = {0, 0, 0};
    int blank_only_space = 1;
    for (int i = 0; i < NCH; i++) {
        image *im = image_alloc(6, 8);
        char s[2] = {(char)(32 + i), 0};
        image_draw_text(im, 0, 0, s, ink, 1);
        memcpy(glyphs[i], im->rgb, sizeof glyphs[i]);
        size_t n = count_rgb(im, ink);
        if ((i == 0) != (n == 0)) blank_only_space = 0;
        /* nothing may be drawn in the gap column 5 or below row 6 */
        for (size_t y = 0; y < 8; y++)
            if (same_rgb(px(im, 5, y), ink)) blank_only_space = 0;
        for (size_t x = 0; x < 6; x++)
            if (same_rgb(px(im, x, 7), ink)) blank_only_space = 0;
        image_free(im);
    }
    CHECK(blank_only_space, "space is the only blank glyph; glyphs stay in 5 x 7");
    int dup = 0;
    for (int i = 0; i < NCH; i++)
        for (int j = i + 1; j < NCH; j++)
            if (memcmp(glyphs[i], glyphs[j], sizeof glyphs[i]) == 0) dup++;
    CHECK(dup == 0, "all 95 glyphs distinct (%d duplicate pairs)", dup);

    /* 'T' at scale 3: the top bar is 15 px wide, the stem 3 px wide and 21 px tall. */
    image *im = image_alloc(20, 25);
    image_draw_text(im, 1, 2, "T", ink, 3);
    CHECK(same_rgb(px(im, 1, 2), ink) && same_rgb(px(im, 15, 4), ink) &&
              !same_rgb(px(im, 16, 2), ink) && !same_rgb(px(im, 1, 5), ink),
          "'T' at scale 3: bar covers x 1..15, rows 2..4");
    CHECK(same_rgb(px(im, 7, 22), ink) && same_rgb(px(im, 9, 22), ink) &&
              !same_rgb(px(im, 6, 22), ink) && !same_rgb(px(im, 10, 22), ink) &&
              !same_rgb(px(im, 8, 23), ink),
          "'T' at scale 3: stem x 7..9 down to row 22");
    CHECK(count_rgb(im, ink) == (5 + 6) * 9, "'T' at scale 3 has 11 cells of 9 px (%zu px)",
          count_rgb(im, ink));
    image_free(im);
    CHECK(image_text_width("12 (1.23)", 1) == 53 && image_text_width("ab\ncdef", 2) == 46 &&
              image_text_width("", 1) == 0,
          "image_text_width: 9 chars 53 px, longest line of 4 at scale 2 = 46 px");
    /* text running off the image is clipped, not a crash */
    im = image_alloc(9, 4);
    image_draw_text(im, -20, -3, "clipped text \x01\x7f", ink, 2);
    image_draw_text(im, 5, 1, "x", ink, 0);
    CHECK(count_rgb(im, ink) > 0, "text partly outside the image is clipped");
    image_free(im);
}

static void test_lines(void) {
    const uint8_t c[3] = {214, 39, 40};
    image *im = image_alloc(9, 7);
    image_draw_line(im, 1, 3, 7, 3, c);
    CHECK(count_rgb(im, c) == 7, "horizontal line (1,3)-(7,3): 7 pixels (%zu)", count_rgb(im, c));
    image_free(im);
    im = image_alloc(9, 7);
    image_draw_line(im, -50, -50, 100, 100, c);
    size_t on = 0;
    for (size_t i = 0; i < 7; i++) on += same_rgb(px(im, i, i), c);
    CHECK(on == 7 && count_rgb(im, c) == 7, "diagonal far outside is clipped to (0,0)..(6,6)");
    image_draw_line(im, 3, 6, 3, 6, c);
    image_draw_line(im, 8, 0, 8, 0, c);
    CHECK(same_rgb(px(im, 8, 0), c), "one-point line draws its pixel");
    image_draw_line(im, -5, 2, -1, 9, c);
    CHECK(count_rgb(im, c) == 9, "line entirely outside draws nothing (9 px = 7 + 2 points)");
    image_free(im);
    im = image_alloc(9, 7);
    image_fill_rect(im, LONG_MIN + 5, -3, LONG_MAX, 5, c);
    image_fill_rect(im, 7, 5, LONG_MAX, LONG_MAX, c);
    CHECK(count_rgb(im, c) == 4 * 2 + 2 * 2, "fill_rect with extreme arguments clipped (%zu px)",
          count_rgb(im, c));
    image_free(im);
}

/* ------------------------------------------------------------------ maps */

static void test_heatmap(void) {
    /* (3, 4) map, element (r, c) distinct; one NaN. */
    const size_t R = 3, C = 4, S = 5;
    double m[12];
    for (size_t i = 0; i < R * C; i++) m[i] = 2.385 * (double)i * (double)i - 1.7;
    m[6] = NAN; /* (1, 2) */
    const char *path = tmp_path("heat.png");
    int st = image_write_heatmap(path, m, R, C, IMAGE_CMAP_JET, S);
    CHECK(st == ENGRAM_OK, "image_write_heatmap OK");
    image *im = image_read_png(path);
    CHECK(im && im->width == C * S && im->height == R * S, "heatmap is 20 x 15 (cols*5 x rows*5)");
    if (!im) return;
    double lo = -1.7, hi = 2.385 * 121 - 1.7;
    size_t bad = 0;
    for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++) {
            uint8_t want[3];
            double v = m[r * C + c];
            image_cmap_rgb(IMAGE_CMAP_JET, isnan(v) ? NAN : (v - lo) / (hi - lo), want);
            /* every pixel of the 5 x 5 block */
            for (size_t y = r * S; y < (r + 1) * S; y++)
                for (size_t x = c * S; x < (c + 1) * S; x++) bad += !same_rgb(px(im, x, y), want);
        }
    CHECK(bad == 0, "every block (r, c) at row r from the top has its colour (%zu bad px)", bad);
    const uint8_t grey[3] = {200, 200, 200};
    CHECK(same_rgb(px(im, 2 * S + 2, 1 * S + 2), grey), "NaN element (1, 2) is grey");
    uint8_t c0[3], c1[3];
    image_cmap_rgb(IMAGE_CMAP_JET, 0.0, c0);
    image_cmap_rgb(IMAGE_CMAP_JET, 1.0, c1);
    CHECK(same_rgb(px(im, 0, 0), c0) && same_rgb(px(im, C * S - 1, R * S - 1), c1),
          "min at top-left (jet(0)), max at bottom-right (jet(1))");
    image_free(im);

    /* constant map -> mid colour; all-NaN -> grey; inf clamps */
    image *can = image_alloc(6, 2);
    double k[3] = {4.25, 4.25, 4.25};
    image_draw_map(can, 0, 0, k, 1, 3, IMAGE_CMAP_VIRIDIS, 1);
    uint8_t mid[3];
    image_cmap_rgb(IMAGE_CMAP_VIRIDIS, 0.5, mid);
    CHECK(same_rgb(px(can, 0, 0), mid) && same_rgb(px(can, 2, 0), mid),
          "constant map drawn in the middle colour");
    double nn[3] = {NAN, NAN, NAN};
    image_draw_map(can, 3, 1, nn, 1, 3, IMAGE_CMAP_JET, 1);
    CHECK(same_rgb(px(can, 3, 1), grey) && same_rgb(px(can, 5, 1), grey), "all-NaN map is grey");
    CHECK(px(can, 0, 1)[0] == 255 && px(can, 0, 1)[1] == 255, "pixel outside the map stays white");
    double inf3[3] = {-INFINITY, 1.5, INFINITY};
    image_draw_map(can, 0, 1, inf3, 1, 3, IMAGE_CMAP_GREY, 1);
    CHECK(px(can, 0, 1)[0] == 0 && px(can, 1, 1)[0] == 128 && px(can, 2, 1)[0] == 255,
          "-inf bottom colour, lone finite value mid, +inf top colour");
    image_free(can);

    /* a huge scale on a small canvas only visits visible pixels (fast, clipped) */
    image *small = image_alloc(11, 6);
    double t0 = engram_wall_time();
    image_draw_map(small, 3, 2, m, R, C, IMAGE_CMAP_JET, 1000000);
    uint8_t first[3];
    image_cmap_rgb(IMAGE_CMAP_JET, 0.0, first);
    CHECK(same_rgb(px(small, 10, 5), first) && px(small, 2, 2)[0] == 255 &&
              engram_wall_time() - t0 < 1.0,
          "scale 10^6 map clipped to the canvas in %.3f s", engram_wall_time() - t0);
    image_free(small);

    CHECK(image_write_heatmap(path, m, 0, C, IMAGE_CMAP_JET, 2) == ENGRAM_EINVAL &&
              strlen(engram_error()) > 0,
          "empty heatmap refused with EINVAL: %s", engram_error());
}

static void test_tiles(void) {
    const size_t n = 5, R = 4, C = 6, S = 3, per = 3;
    double maps[5 * 4 * 6];
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < R * C; i++)
            maps[k * R * C + i] = sin(0.37 * (double)(i + 1) * (double)(k + 1)) * (double)(k + 1);
    const char *titles[5] = {"12 (1.23)", NULL, "a very long title cut", "3", ""};
    const char *path = tmp_path("tiles.png");
    int st = image_write_tiles(path, maps, n, R, C, per, IMAGE_CMAP_JET, S, titles);
    CHECK(st == ENGRAM_OK, "image_write_tiles OK (status %d)", st);
    image *im = image_read_png(path);
    size_t tw = C * S, th = R * S, t = IMAGE_TILE_TITLE_H;
    size_t ew = 3 * (tw + 2) + 2, eh = 2 * (t + th + 2) + 2;
    CHECK(im && im->width == ew && im->height == eh,
          "tiles with titles: %zu x %zu (want %zu x %zu)", im ? im->width : 0, im ? im->height : 0,
          ew, eh);
    if (im) {
        /* tile 4 = row 1, column 1: its element (r, c) block */
        size_t bad = 0;
        const double *m4 = maps + 4 * R * C;
        double lo = m4[0], hi = m4[0];
        for (size_t i = 0; i < R * C; i++) lo = fmin(lo, m4[i]), hi = fmax(hi, m4[i]);
        size_t ox = 2 + 1 * (tw + 2), oy = 2 + 1 * (t + th + 2) + t;
        for (size_t r = 0; r < R; r++)
            for (size_t c = 0; c < C; c++) {
                uint8_t want[3];
                image_cmap_rgb(IMAGE_CMAP_JET, (m4[r * C + c] - lo) / (hi - lo), want);
                bad += !same_rgb(px(im, ox + c * S + 1, oy + r * S + 1), want);
            }
        CHECK(bad == 0, "tile 4 (row 1, col 1) normalised on its own, at the documented place");
        const uint8_t white[3] = {255, 255, 255};
        int gutter = same_rgb(px(im, 0, 5), white) && same_rgb(px(im, 1, 20), white) &&
                     same_rgb(px(im, 2 + tw, 20), white) && same_rgb(px(im, 2 + tw + 1, 20), white);
        CHECK(gutter, "2-px white gutters at the left edge and between tiles");
        size_t ink0 = 0, ink1 = 0;
        for (size_t y = 2; y < 2 + t; y++)
            for (size_t x = 2; x < 2 + tw; x++) {
                ink0 += !same_rgb(px(im, x, y), white);
                ink1 += !same_rgb(px(im, x + tw + 2, y), white);
            }
        CHECK(ink0 > 20 && ink1 == 0, "title drawn above tile 0 (%zu px), none above tile 1", ink0);
        /* the empty slot (row 1, col 2) stays white */
        CHECK(same_rgb(px(im, 2 + 2 * (tw + 2) + 5, 2 + (t + th + 2) + t + 5), white),
              "unused slot stays white");
    }
    image_free(im);
    st = image_write_tiles(path, maps, n, R, C, 7, IMAGE_CMAP_VIRIDIS, 2, NULL);
    im = image_read_png(path);
    CHECK(st == ENGRAM_OK && im && im->width == 5 * (2 * C + 2) + 2 && im->height == 2 * R + 4,
          "tiles without titles, per_row > n: %zu x %zu", im ? im->width : 0, im ? im->height : 0);
    image_free(im);
    CHECK(image_write_tiles(path, maps, n, R, C, 0, IMAGE_CMAP_JET, 2, NULL) == ENGRAM_EINVAL,
          "per_row 0 refused");
}

/* ------------------------------------------------------------------ plots */

static void test_plot(void) {
    enum { P = 60, S = 3 };
    double x[P], y[S * P], lo[S * P], hi[S * P];
    for (int i = 0; i < P; i++) {
        x[i] = 2.385 * i;
        for (int s = 0; s < S; s++) {
            double v = (s + 1) * 0.8 * (double)i / P + 0.3 * sin(0.2 * i + s);
            y[s * P + i] = v;
            lo[s * P + i] = v - 0.15;
            hi[s * P + i] = v + 0.15;
        }
    }
    y[1 * P + 20] = NAN; /* gap */
    lo[2 * P + 30] = NAN;
    const char *names[S] = {"delta rule", "BPTT", "RFLO"};
    image_plot p = {.title = "Test loss vs updates",
                    .x_label = "updates",
                    .y_label = "loss (MSE)",
                    .x = x,
                    .y = y,
                    .y_lo = lo,
                    .y_hi = hi,
                    .n_series = S,
                    .n_points = P,
                    .names = names};
    const char *path = tmp_path("plot.png");
    int st = image_write_plot(path, &p);
    CHECK(st == ENGRAM_OK, "image_write_plot OK (status %d)", st);
    image *im = image_read_png(path);
    CHECK(im && im->width == 640 && im->height == 400, "default plot size 640 x 400");
    if (!im) return;
    const uint8_t tab[3][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}};
    for (int s = 0; s < S; s++)
        CHECK(count_rgb(im, tab[s]) > 300, "series %d colour (%d,%d,%d) present: %zu px", s,
              tab[s][0], tab[s][1], tab[s][2], count_rgb(im, tab[s]));
    uint8_t light[3];
    for (int k = 0; k < 3; k++) light[k] = (uint8_t)lround(0.75 * 255 + 0.25 * tab[0][k]);
    size_t band = 0;
    for (size_t i = 0; i < im->width * im->height; i++)
        band += max_diff(im->rgb + 3 * i, light) <= 2;
    CHECK(band > 500, "lighter band colour of series 0 present: %zu px", band);
    /* Orientation: series 2 rises, so its pixels on the right are higher (smaller row). */
    double yl = 0, yr = 0;
    size_t nl = 0, nr = 0;
    for (size_t yy = 0; yy < im->height; yy++)
        for (size_t xx = 0; xx < im->width; xx++)
            if (same_rgb(px(im, xx, yy), tab[2])) {
                if (xx < 250) yl += (double)yy, nl++;
                if (xx > 450) yr += (double)yy, nr++;
            }
    CHECK(nl > 0 && nr > 0 && yr / (double)nr < yl / (double)nl - 50,
          "rising series drawn rising: mean row %.0f left, %.0f right", nl ? yl / nl : 0,
          nr ? yr / nr : 0);
    const uint8_t black[3] = {0, 0, 0};
    CHECK(count_rgb(im, black) > 1000, "frame and ticks drawn (%zu black px)",
          count_rgb(im, black));
    image_free(im);

    /* log y axis, no bands, no names, one isolated point, odd size */
    double ly[2 * P];
    for (int i = 0; i < P; i++) {
        ly[i] = 3.0 * exp(-0.12 * i);
        ly[P + i] = i % 7 == 3 ? 0.05 : NAN; /* isolated points only */
    }
    ly[5] = -1.0; /* non-positive: skipped on a log axis */
    image_plot q = {.title = "log", .x = x, .y = ly, .n_series = 2, .n_points = P, .log_y = 1,
                    .width = 513, .height = 301};
    path = tmp_path("plot_log.png");
    st = image_write_plot(path, &q);
    im = image_read_png(path);
    CHECK(st == ENGRAM_OK && im && im->width == 513 && im->height == 301,
          "log-y plot 513 x 301 written and readable");
    CHECK(im && count_rgb(im, tab[0]) > 100 && count_rgb(im, tab[1]) >= 8 * 25,
          "log plot: curve and isolated-point markers drawn (%zu, %zu px)",
          im ? count_rgb(im, tab[0]) : 0, im ? count_rgb(im, tab[1]) : 0);
    image_free(im);

    /* degenerate inputs: one point, constant series, all NaN */
    double one_x = 4.0, one_y = 7.0;
    image_plot r1 = {.x = &one_x, .y = &one_y, .n_series = 1, .n_points = 1};
    st = image_write_plot(tmp_path("plot_one.png"), &r1);
    im = image_read_png(tmp_path("plot_one.png"));
    CHECK(st == ENGRAM_OK && im && count_rgb(im, tab[0]) == 25, "single point drawn as 5x5 marker");
    image_free(im);
    double nan_y[P];
    for (int i = 0; i < P; i++) nan_y[i] = NAN;
    image_plot r2 = {.x = x, .y = nan_y, .n_series = 1, .n_points = P, .title = "all NaN"};
    CHECK(image_write_plot(tmp_path("plot_nan.png"), &r2) == ENGRAM_OK,
          "all-NaN series: empty axes");
    image_plot r3 = p;
    r3.y_hi = NULL;
    CHECK(image_write_plot(path, &r3) == ENGRAM_EINVAL, "y_lo without y_hi refused: %s",
          engram_error());
    double wide_y[2] = {-1.7e308, 1.7e308}, wide_x[2] = {-1e308, 1e308};
    image_plot r5 = {.x = wide_x, .y = wide_y, .n_series = 1, .n_points = 2};
    CHECK(image_write_plot(tmp_path("plot_nan.png"), &r5) == ENGRAM_OK,
          "plot over -1.7e308..1.7e308 does not crash");
    image_plot r4 = p;
    r4.width = 50;
    CHECK(image_write_plot(path, &r4) == ENGRAM_EINVAL, "50-px-wide plot refused: %s",
          engram_error());
}

static void test_raster(void) {
    enum { R = 6, C = 9 };
    double z[R * C];
    for (int i = 0; i < R * C; i++) z[i] = 0.5 + 1.25 * i;
    z[1 * C + 4] = NAN;
    const char *path = tmp_path("raster.png");
    int st = image_write_raster(path, z, R, C, IMAGE_CMAP_VIRIDIS, "Replay raster", "time step",
                                "unit");
    image *im = image_read_png(path);
    CHECK(st == ENGRAM_OK && im, "image_write_raster OK and readable");
    if (!im) return;
    uint8_t c0[3], c1[3];
    image_cmap_rgb(IMAGE_CMAP_VIRIDIS, 0.0, c0);
    image_cmap_rgb(IMAGE_CMAP_VIRIDIS, 1.0, c1);
    /* The leftmost pixel of each extreme colour lies in the data area (the colour bar
     * is to its right): (0, 0) is the top-left cell, (R-1, C-1) the bottom-right. */
    long ax = -1, ay = -1, bx = -1, by = -1;
    size_t na = 0;
    for (size_t xx = 0; xx < im->width; xx++)
        for (size_t yy = 0; yy < im->height; yy++) {
            if (same_rgb(px(im, xx, yy), c0) && ax < 0) ax = (long)xx, ay = (long)yy;
            if (same_rgb(px(im, xx, yy), c1) && bx < 0) bx = (long)xx, by = (long)yy;
        }
    for (size_t yy = 0; yy < im->height; yy++) na += same_rgb(px(im, (size_t)ax, yy), c0);
    CHECK(ax >= 0 && bx > ax && by > ay, "min cell top-left (%ld,%ld), max cell bottom-right "
          "(%ld,%ld)", ax, ay, bx, by);
    long cell = (bx - ax) / (C - 1);
    CHECK(cell == 16 && bx - ax == cell * (C - 1) && by - ay == cell * (R - 1),
          "cells are square %ld-px blocks, (R-1, C-1) exactly (R-1, C-1) cells away", cell);
    const uint8_t grey[3] = {200, 200, 200};
    CHECK(same_rgb(px(im, (size_t)(ax + 4 * cell + cell / 2), (size_t)(ay + 1 * cell + cell / 2)),
                   grey),
          "NaN element (1, 4) is grey at row 1, column 4");
    CHECK(na >= (size_t)cell, "min colour forms a block (%zu px tall)", na);
    image_free(im);

    /* wide raster: 3000 columns subsampled; size stays bounded */
    enum { R2 = 3, C2 = 3000 };
    static double w[R2 * C2];
    for (int i = 0; i < R2 * C2; i++) w[i] = sin(0.01 * i);
    st = image_write_raster(path, w, R2, C2, IMAGE_CMAP_JET, NULL, NULL, NULL);
    im = image_read_png(path);
    CHECK(st == ENGRAM_OK && im && im->width < 1400, "3 x 3000 raster subsampled: %zu px wide",
          im ? im->width : 0);
    image_free(im);
}

/* ------------------------------------------------------------------ errors */

static int one_line(const char *s) { return s[0] != '\0' && strchr(s, '\n') == NULL; }

static void test_errors(void) {
    engram_error_clear();
    image *im = image_read_png(tmp_path("does_not_exist.png"));
    const char *e = engram_error();
    CHECK(im == NULL && one_line(e) && strstr(e, "does_not_exist.png"),
          "missing file: NULL and message '%s'", e);

    const char *txt = tmp_path("notpng.png");
    FILE *f = fopen(txt, "w");
    fputs("this is a text file, not a PNG\n", f);
    fclose(f);
    engram_error_clear();
    im = image_read_png(txt);
    e = engram_error();
    CHECK(im == NULL && one_line(e) && strstr(e, "notpng.png"), "text file: NULL and '%s'", e);

    f = fopen(tmp_path("empty.png"), "w");
    fclose(f);
    engram_error_clear();
    im = image_read_png(tmp_path("empty.png"));
    e = engram_error();
    CHECK(im == NULL && one_line(e), "empty file: NULL and '%s'", e);

    /* truncated copies of a noisy 80 x 60 PNG: inside IDAT, before IEND, in IHDR */
    char full[256];
    snprintf(full, sizeof full, "%s", tmp_path("noise.png"));
    image *noise = image_alloc(80, 60);
    uint32_t lcg = 2385u;
    for (size_t i = 0; i < 80 * 60 * 3; i++) {
        lcg = lcg * 1664525u + 1013904223u;
        noise->rgb[i] = (uint8_t)(lcg >> 24);
    }
    CHECK(image_write_png(noise, full) == ENGRAM_OK, "noise PNG written");
    image_free(noise);
    long n = file_size(full);
    CHECK(n > 10000, "noise PNG is %ld bytes (mostly IDAT)", n);
    const long cuts[3] = {n / 2, n - 13, 20};
    for (int i = 0; i < 3; i++) {
        char trunc[256];
        snprintf(trunc, sizeof trunc, "%s/trunc%d.png", tmpdir, i);
        copy_prefix(full, trunc, cuts[i]);
        engram_error_clear();
        im = image_read_png(trunc);
        e = engram_error();
        CHECK(im == NULL && one_line(e), "PNG truncated to %ld of %ld bytes: NULL and '%s'",
              cuts[i], n, e);
        image_free(im);
    }

    image *ok = image_alloc(3, 2);
    int st = image_write_png(ok, "/nonexistent_dir_engram/x.png");
    e = engram_error();
    CHECK(st == ENGRAM_EIO && one_line(e), "write into a missing directory: EIO and '%s'", e);
    image_free(ok);
    CHECK(image_alloc(0, 5) == NULL && image_alloc((size_t)1 << 40, 2) == NULL,
          "image_alloc refuses 0 x 5 and 2^40 x 2");
    image_free(NULL);
    CHECK(1, "image_free(NULL) is a no-op");
}

static void cleanup(void) {
    if (getenv("ENGRAM_TEST_KEEP")) {
        printf("# PNGs kept in %s\n", tmpdir);
        return;
    }
    const char *names[] = {"roundtrip.png", "rgba.png",   "heat.png",       "tiles.png",
                           "plot.png",      "plot_log.png", "plot_one.png", "plot_nan.png",
                           "raster.png",    "notpng.png", "empty.png",      "trunc0.png",
                           "trunc1.png",    "trunc2.png",   "noise.png"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) remove(tmp_path(names[i]));
    rmdir(tmpdir);
}

static const test_case tests[] = {
    {"roundtrip", test_roundtrip}, {"read_rgba", test_read_rgba}, {"cmaps", test_cmaps},
    {"font", test_font},           {"lines", test_lines},         {"heatmap", test_heatmap},
    {"tiles", test_tiles},         {"plot", test_plot},           {"raster", test_raster},
    {"errors", test_errors},       {NULL, NULL}};

int main(int argc, char **argv) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    int rc = test_main(argc, argv, tests);
    cleanup();
    return rc;
}
