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
#include <math.h>
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

/* ------------------------------------------------------------------ figures */

/* 1 if the pixel is "ink": darker than light grey on every channel sum. */
static int is_ink(const uint8_t *p) { return p[0] + p[1] + p[2] < 3 * 150; }

/* Ink pixels in the rectangle [x0, x1) x [y0, y1). */
static size_t ink_in(const image *im, size_t x0, size_t y0, size_t x1, size_t y1) {
    size_t n = 0;
    for (size_t y = y0; y < y1 && y < im->height; y++)
        for (size_t x = x0; x < x1 && x < im->width; x++) n += (size_t)is_ink(px(im, x, y));
    return n;
}

/* Title ink check: the top band (above the first row with a long dark frame line) has
 * ink, and none of its ink touches the left or right 2-px edge of the image. */
static void check_title_inside(const image *im, const char *what) {
    size_t band = im->height / 8 > 12 ? im->height / 8 : 12;
    size_t ink = ink_in(im, 0, 0, im->width, band);
    size_t edge = ink_in(im, 0, 0, 2, band) + ink_in(im, im->width - 2, 0, im->width, band);
    CHECK(ink > 50 && edge == 0, "%s: title ink %zu px in the top %zu rows, %zu at the edges", what,
          ink, band, edge);
}

/* Columns whose pixels in rows [y0, y1) change colour from one row to the next in at
 * least 2/3 of the rows, and are saturated: a vertical colour bar. Returns how many. */
static size_t colour_bar_columns(const image *im, size_t y0, size_t y1) {
    size_t cols = 0;
    for (size_t x = im->width / 2; x < im->width; x++) {
        size_t sat = 0;
        for (size_t y = y0; y < y1; y++) {
            const uint8_t *p = px(im, x, y);
            int mx = p[0] > p[1] ? p[0] : p[1], mn = p[0] < p[1] ? p[0] : p[1];
            mx = mx > p[2] ? mx : p[2];
            mn = mn < p[2] ? mn : p[2];
            sat += mx - mn > 60;
        }
        cols += sat * 3 > 2 * (y1 - y0);
    }
    return cols;
}

static void test_plot_figure(void) {
    enum { P = 40 };
    double x[P], y[2 * P], lo[2 * P], hi[2 * P];
    for (int i = 0; i < P; i++) {
        x[i] = 2.385 * i;
        y[i] = sin(0.3 * i);
        y[P + i] = 0.5 * cos(0.2 * i) + (i == 17 ? NAN : 0);
        lo[i] = y[i] - 0.2;
        hi[i] = y[i] + 0.2;
        lo[P + i] = y[P + i] - 0.1;
        hi[P + i] = y[P + i] + 0.1;
    }
    const char *names[2] = {"sine", "cosine with a gap"};
    image_plot p = {"A deliberately long title that would be clipped by a narrow figure: test NRMSE 0.0312",
                    "update", "loss (nats)", x, y, lo, hi, 2, P, names, 0, 0, 0};
    const char *path = tmp_path("plot.png");
    int st = image_write_plot(path, &p);
    CHECK(st == ENGRAM_OK, "image_write_plot OK (status %d)", st);
    image *im = image_read_png(path);
    CHECK(im && im->width == 640 && im->height == 400, "default plot 640 x 400 (%zu x %zu)",
          im ? im->width : 0, im ? im->height : 0);
    if (im) {
        check_title_inside(im, "plot");
        /* Curve colours present: tab10 blue and orange (anti-aliased: near them). */
        const uint8_t blue[3] = {31, 119, 180}, orange[3] = {255, 127, 14};
        size_t nb = 0, no = 0;
        for (size_t i = 0; i < im->width * im->height; i++) {
            nb += max_diff(im->rgb + 3 * i, blue) < 20;
            no += max_diff(im->rgb + 3 * i, orange) < 20;
        }
        CHECK(nb > 200 && no > 200, "both curves drawn (%zu blue, %zu orange px)", nb, no);
    }
    image_free(im);
    /* A small requested size is raised to 480 x 300, and the narrow title still fits. */
    image_plot q = p;
    q.width = 271;
    q.height = 128;
    st = image_write_plot(path, &q);
    im = image_read_png(path);
    CHECK(st == ENGRAM_OK && im && im->width == 480 && im->height == 300,
          "271 x 128 plot raised to 480 x 300 (%zu x %zu)", im ? im->width : 0, im ? im->height : 0);
    if (im) check_title_inside(im, "480-px plot with long title");
    image_free(im);
    /* Log axis, one point, all NaN: written without error. */
    double ly[P];
    for (int i = 0; i < P; i++) ly[i] = pow(10.0, -3.0 + 0.1 * i);
    image_plot r = {.title = "log", .x = x, .y = ly, .n_series = 1, .n_points = P, .log_y = 1};
    CHECK(image_write_plot(tmp_path("plot_log.png"), &r) == ENGRAM_OK, "log-y plot OK");
    double one_x = 2.385, one_y = -1.5;
    image_plot r1 = {.x = &one_x, .y = &one_y, .n_series = 1, .n_points = 1};
    CHECK(image_write_plot(tmp_path("plot_one.png"), &r1) == ENGRAM_OK, "one-point plot OK");
    double nan_y[P];
    for (int i = 0; i < P; i++) nan_y[i] = NAN;
    image_plot r2 = {.x = x, .y = nan_y, .n_series = 1, .n_points = P, .title = "all NaN"};
    CHECK(image_write_plot(tmp_path("plot_nan.png"), &r2) == ENGRAM_OK, "all-NaN plot OK");
    image_plot r3 = p;
    r3.y_hi = NULL;
    CHECK(image_write_plot(path, &r3) == ENGRAM_EINVAL, "y_lo without y_hi refused: %s",
          engram_error());
    /* Deterministic bytes for the same input. */
    st = image_write_plot(tmp_path("plot_a.png"), &p);
    int st2 = image_write_plot(tmp_path("plot_b.png"), &p);
    size_t na = 0, nb2 = 0;
    FILE *fa = fopen(tmp_path("plot_a.png"), "rb");
    unsigned char *ba = malloc(1 << 20), *bb = malloc(1 << 20);
    if (fa) { na = fread(ba, 1, 1 << 20, fa); fclose(fa); }
    FILE *fb = fopen(tmp_path("plot_b.png"), "rb");
    if (fb) { nb2 = fread(bb, 1, 1 << 20, fb); fclose(fb); }
    CHECK(st == ENGRAM_OK && st2 == ENGRAM_OK && na > 1000 && na == nb2 && memcmp(ba, bb, na) == 0,
          "same plot twice: identical PNG bytes (%zu, %zu)", na, nb2);
    free(ba);
    free(bb);
}

static void test_map_figure(void) {
    enum { R = 7, C = 13 }; /* odd, no symmetry */
    double z[R * C];
    for (int i = 0; i < R * C; i++) z[i] = 2.385 * (i % C) - 0.7 * (i / C) * (i / C);
    z[5] = NAN;
    const char *path = tmp_path("raster.png");
    int st = image_write_raster(path, z, R, C, IMAGE_CMAP_VIRIDIS,
                                "Replay raster of a 7 x 13 map with an odd size and a long title",
                                "time step", "pattern");
    image *im = image_read_png(path);
    CHECK(st == ENGRAM_OK && im, "image_write_raster OK and readable");
    if (im) {
        CHECK(im->width >= 480, "raster at least 480 px wide (%zu)", im->width);
        check_title_inside(im, "raster");
        size_t cb = colour_bar_columns(im, im->height / 3, 2 * im->height / 3);
        CHECK(cb >= 10, "raster has a colour bar (%zu saturated gradient columns right of centre)", cb);
    }
    image_free(im);
    /* The heatmap (no title) also carries a colour bar. */
    st = image_write_heatmap(tmp_path("heat.png"), z, R, C, IMAGE_CMAP_JET, 20);
    im = image_read_png(tmp_path("heat.png"));
    CHECK(st == ENGRAM_OK && im && im->width >= 480, "heatmap OK, %zu px wide", im ? im->width : 0);
    if (im) {
        size_t cb = colour_bar_columns(im, 20, 20 + R * 20 - 10);
        CHECK(cb >= 20, "heatmap has map + colour bar columns (%zu)", cb);
    }
    image_free(im);
    CHECK(image_write_heatmap(path, z, 0, C, IMAGE_CMAP_JET, 2) == ENGRAM_EINVAL &&
              image_write_heatmap(path, z, R, C, IMAGE_CMAP_JET, 0) == ENGRAM_EINVAL,
          "empty heatmap or zero scale refused");
    /* An all-NaN map reads "no data": ink in the centre of the map, no saturated colour. */
    double nanz[20 * 20];
    for (int i = 0; i < 400; i++) nanz[i] = NAN;
    image_map m = {.title = "all NaN", .z = nanz, .rows = 20, .cols = 20, .cell = 10};
    st = image_write_map(tmp_path("nan.png"), &m);
    im = image_read_png(tmp_path("nan.png"));
    CHECK(st == ENGRAM_OK && im, "all-NaN map written");
    if (im) {
        /* The map is 200 x 200 at the left margin plus centring; find its centre as the
         * centre of the light-grey block. */
        size_t gx0 = im->width, gx1 = 0, gy0 = im->height, gy1 = 0;
        for (size_t y = 0; y < im->height; y++)
            for (size_t x = 0; x < im->width; x++) {
                const uint8_t *q = px(im, x, y);
                if (q[0] == 219 && q[1] == 219 && q[2] == 219) {
                    if (x < gx0) gx0 = x;
                    if (x > gx1) gx1 = x;
                    if (y < gy0) gy0 = y;
                    if (y > gy1) gy1 = y;
                }
            }
        size_t cx = (gx0 + gx1) / 2, cy = (gy0 + gy1) / 2;
        size_t ink = gx1 > gx0 ? ink_in(im, cx - 50, cy - 12, cx + 50, cy + 12) : 0;
        CHECK(gx1 > gx0 + 150 && ink > 20, "all-NaN map: grey block %zu px wide, %zu ink px of \"no data\" in its centre",
              gx1 > gx0 ? gx1 - gx0 : 0, ink);
        CHECK(colour_bar_columns(im, 0, im->height) == 0, "all-NaN map: no colour drawn");
    }
    image_free(im);
}

static void test_tiles_figure(void) {
    enum { N = 5, R = 9, C = 5 };
    double maps[N * R * C];
    for (int i = 0; i < N * R * C; i++) maps[i] = sin(0.37 * i) + (i % 7);
    for (int i = 0; i < R * C; i++) maps[3 * R * C + i] = NAN; /* tile 3 empty */
    const char *titles[N] = {"A12 a very long tile title", "B3", "C", NULL, "E"};
    int st = image_write_tiles(tmp_path("tiles.png"), maps, N, R, C, 3, IMAGE_CMAP_JET, 6, titles);
    image *im = image_read_png(tmp_path("tiles.png"));
    CHECK(st == ENGRAM_OK && im && im->width >= 480, "tiles OK, %zu x %zu", im ? im->width : 0,
          im ? im->height : 0);
    image_free(im);
    CHECK(image_write_tiles(tmp_path("tiles.png"), maps, N, R, C, 0, IMAGE_CMAP_JET, 2, NULL) ==
              ENGRAM_EINVAL,
          "zero tiles per row refused");
    image_tiles t = {.maps = maps, .n = N, .rows = R, .cols = C, .titles = titles,
                     .title = "Tiles with a shared colour range", .shared_range = 1,
                     .x_label = "left <- -> right", .y_label = "top -> bottom", .cbar_label = "rate (Hz)"};
    st = image_write_tile_fig(tmp_path("tiles2.png"), &t);
    im = image_read_png(tmp_path("tiles2.png"));
    CHECK(st == ENGRAM_OK && im, "tile figure with title and shared range OK");
    if (im) check_title_inside(im, "tiles");
    image_free(im);
}

/* Reads a whole file into a NUL-terminated buffer (caller frees). */
static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    *n = b ? fread(b, 1, (size_t)len, f) : 0;
    if (b) b[*n] = '\0';
    fclose(f);
    return b;
}

static void test_vector(void) {
    enum { P = 30 };
    double x[P], y[P];
    for (int i = 0; i < P; i++) {
        x[i] = i;
        y[i] = 2.385 * sin(0.4 * i);
    }
    image_plot p = {.title = "vector output", .x_label = "step", .y_label = "value (a.u.)", .x = x,
                    .y = y, .n_series = 1, .n_points = P};
    const char *svg = tmp_path("plot.svg");
    CHECK(image_write_plot(svg, &p) == ENGRAM_OK, "plot as SVG: %s", engram_error());
    size_t n = 0;
    char *b = slurp(svg, &n);
    CHECK(b && n > 200 && strstr(b, "<svg") && strstr(b, "</svg>"),
          "SVG file has an <svg ...> start tag and </svg> end (%zu bytes)", n);
    CHECK(b && !strncmp(b, "<?xml", 5), "SVG file opens with an XML declaration");
    free(b);
    const char *pdf = tmp_path("map.PDF");
    double z[12];
    for (int i = 0; i < 12; i++) z[i] = i * 0.3;
    CHECK(image_write_raster(pdf, z, 3, 4, IMAGE_CMAP_JET, "pdf", "x", "y") == ENGRAM_OK,
          "raster as PDF (.PDF)");
    b = slurp(pdf, &n);
    int eof = 0;
    if (b && n > 6) {
        size_t e = n;
        while (e > 0 && (b[e - 1] == '\n' || b[e - 1] == '\r')) e--;
        eof = e >= 5 && !memcmp(b + e - 5, "%%EOF", 5);
    }
    CHECK(b && n > 500 && !memcmp(b, "%PDF-", 5) && eof, "PDF starts with %%PDF- and ends with %%%%EOF (%zu bytes)", n);
    free(b);
    image *im = image_read_png(svg);
    CHECK(im == NULL, "an SVG is not read as a PNG");
    CHECK(image_write_plot("/nonexistent_dir_engram/x.svg", &p) == ENGRAM_EIO,
          "unwritable SVG path: EIO (%s)", engram_error());
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
                           "trunc1.png",    "trunc2.png",   "noise.png",    "plot_a.png",
                           "plot_b.png",    "nan.png",      "tiles2.png",   "plot.svg",   "map.PDF"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) remove(tmp_path(names[i]));
    rmdir(tmpdir);
}

static const test_case tests[] = {
    {"roundtrip", test_roundtrip}, {"read_rgba", test_read_rgba}, {"cmaps", test_cmaps},
    {"plot", test_plot_figure},    {"map", test_map_figure},      {"tiles", test_tiles_figure},
    {"vector", test_vector},
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
