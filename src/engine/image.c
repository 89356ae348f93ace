/* image.c: PNG figures for engram (see include/engram/image.h).
 *
 * PNG input/output goes through libpng's simplified API (png_image), which does its own
 * setjmp/longjmp error handling and frees everything it allocated on failure, so every
 * error path here is a plain return. Everything else (colour maps, a 5x7 bitmap font,
 * lines, axes with 1-2-5 ticks, legends) is drawn directly into the (H, W, 3) buffer.
 */
#include "engram/image.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engram/engram.h"
#include "engine/font5x7.h"

/* Largest image (in pixels) that is allocated or read: guards against corrupt headers
 * and absurd requests (2^28 pixels = 768 MiB of RGB). */
#define IMAGE_MAX_PIXELS ((size_t)1 << 28)

/* Ticks are computed as k * step; this slack absorbs the rounding of lo / step so that
 * a limit equal to a tick value is not pushed one step outwards (display only). */
#define TICK_SLACK 1e-9

/* Raster layout: target data-area size (cells become up to 16-px blocks until about
 * this size) and the caps beyond which cells are subsampled. */
#define IMAGE_RASTER_W 640
#define IMAGE_RASTER_H 320
#define IMAGE_RASTER_MAX_W 1200
#define IMAGE_RASTER_MAX_H 800

static const uint8_t col_nan[3] = {200, 200, 200};
static const uint8_t col_black[3] = {0, 0, 0};
static const uint8_t col_white[3] = {255, 255, 255};
static const uint8_t col_grid[3] = {228, 228, 228};
static const uint8_t col_text[3] = {20, 20, 20};

/* matplotlib's "tab10" qualitative palette (the default colour cycle). */
static const uint8_t tab10[10][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};

/* matplotlib's viridis (_cm_listed.py, from the CC0 mpl-colormaps data of van der Walt
 * and Smith), 256 entries rounded to 8 bits. */
static const uint8_t viridis[256][3] = {
    {68, 1, 84}, {68, 2, 86}, {69, 4, 87}, {69, 5, 89}, {70, 7, 90}, {70, 8, 92},
    {70, 10, 93}, {70, 11, 94}, {71, 13, 96}, {71, 14, 97}, {71, 16, 99}, {71, 17, 100},
    {71, 19, 101}, {72, 20, 103}, {72, 22, 104}, {72, 23, 105}, {72, 24, 106}, {72, 26, 108},
    {72, 27, 109}, {72, 28, 110}, {72, 29, 111}, {72, 31, 112}, {72, 32, 113}, {72, 33, 115},
    {72, 35, 116}, {72, 36, 117}, {72, 37, 118}, {72, 38, 119}, {72, 40, 120}, {72, 41, 121},
    {71, 42, 122}, {71, 44, 122}, {71, 45, 123}, {71, 46, 124}, {71, 47, 125}, {70, 48, 126},
    {70, 50, 126}, {70, 51, 127}, {70, 52, 128}, {69, 53, 129}, {69, 55, 129}, {69, 56, 130},
    {68, 57, 131}, {68, 58, 131}, {68, 59, 132}, {67, 61, 132}, {67, 62, 133}, {66, 63, 133},
    {66, 64, 134}, {66, 65, 134}, {65, 66, 135}, {65, 68, 135}, {64, 69, 136}, {64, 70, 136},
    {63, 71, 136}, {63, 72, 137}, {62, 73, 137}, {62, 74, 137}, {62, 76, 138}, {61, 77, 138},
    {61, 78, 138}, {60, 79, 138}, {60, 80, 139}, {59, 81, 139}, {59, 82, 139}, {58, 83, 139},
    {58, 84, 140}, {57, 85, 140}, {57, 86, 140}, {56, 88, 140}, {56, 89, 140}, {55, 90, 140},
    {55, 91, 141}, {54, 92, 141}, {54, 93, 141}, {53, 94, 141}, {53, 95, 141}, {52, 96, 141},
    {52, 97, 141}, {51, 98, 141}, {51, 99, 141}, {50, 100, 142}, {50, 101, 142}, {49, 102, 142},
    {49, 103, 142}, {49, 104, 142}, {48, 105, 142}, {48, 106, 142}, {47, 107, 142}, {47, 108, 142},
    {46, 109, 142}, {46, 110, 142}, {46, 111, 142}, {45, 112, 142}, {45, 113, 142}, {44, 113, 142},
    {44, 114, 142}, {44, 115, 142}, {43, 116, 142}, {43, 117, 142}, {42, 118, 142}, {42, 119, 142},
    {42, 120, 142}, {41, 121, 142}, {41, 122, 142}, {41, 123, 142}, {40, 124, 142}, {40, 125, 142},
    {39, 126, 142}, {39, 127, 142}, {39, 128, 142}, {38, 129, 142}, {38, 130, 142}, {38, 130, 142},
    {37, 131, 142}, {37, 132, 142}, {37, 133, 142}, {36, 134, 142}, {36, 135, 142}, {35, 136, 142},
    {35, 137, 142}, {35, 138, 141}, {34, 139, 141}, {34, 140, 141}, {34, 141, 141}, {33, 142, 141},
    {33, 143, 141}, {33, 144, 141}, {33, 145, 140}, {32, 146, 140}, {32, 146, 140}, {32, 147, 140},
    {31, 148, 140}, {31, 149, 139}, {31, 150, 139}, {31, 151, 139}, {31, 152, 139}, {31, 153, 138},
    {31, 154, 138}, {30, 155, 138}, {30, 156, 137}, {30, 157, 137}, {31, 158, 137}, {31, 159, 136},
    {31, 160, 136}, {31, 161, 136}, {31, 161, 135}, {31, 162, 135}, {32, 163, 134}, {32, 164, 134},
    {33, 165, 133}, {33, 166, 133}, {34, 167, 133}, {34, 168, 132}, {35, 169, 131}, {36, 170, 131},
    {37, 171, 130}, {37, 172, 130}, {38, 173, 129}, {39, 173, 129}, {40, 174, 128}, {41, 175, 127},
    {42, 176, 127}, {44, 177, 126}, {45, 178, 125}, {46, 179, 124}, {47, 180, 124}, {49, 181, 123},
    {50, 182, 122}, {52, 182, 121}, {53, 183, 121}, {55, 184, 120}, {56, 185, 119}, {58, 186, 118},
    {59, 187, 117}, {61, 188, 116}, {63, 188, 115}, {64, 189, 114}, {66, 190, 113}, {68, 191, 112},
    {70, 192, 111}, {72, 193, 110}, {74, 193, 109}, {76, 194, 108}, {78, 195, 107}, {80, 196, 106},
    {82, 197, 105}, {84, 197, 104}, {86, 198, 103}, {88, 199, 101}, {90, 200, 100}, {92, 200, 99},
    {94, 201, 98}, {96, 202, 96}, {99, 203, 95}, {101, 203, 94}, {103, 204, 92}, {105, 205, 91},
    {108, 205, 90}, {110, 206, 88}, {112, 207, 87}, {115, 208, 86}, {117, 208, 84}, {119, 209, 83},
    {122, 209, 81}, {124, 210, 80}, {127, 211, 78}, {129, 211, 77}, {132, 212, 75}, {134, 213, 73},
    {137, 213, 72}, {139, 214, 70}, {142, 214, 69}, {144, 215, 67}, {147, 215, 65}, {149, 216, 64},
    {152, 216, 62}, {155, 217, 60}, {157, 217, 59}, {160, 218, 57}, {162, 218, 55}, {165, 219, 54},
    {168, 219, 52}, {170, 220, 50}, {173, 220, 48}, {176, 221, 47}, {178, 221, 45}, {181, 222, 43},
    {184, 222, 41}, {186, 222, 40}, {189, 223, 38}, {192, 223, 37}, {194, 223, 35}, {197, 224, 33},
    {200, 224, 32}, {202, 225, 31}, {205, 225, 29}, {208, 225, 28}, {210, 226, 27}, {213, 226, 26},
    {216, 226, 25}, {218, 227, 25}, {221, 227, 24}, {223, 227, 24}, {226, 228, 24}, {229, 228, 25},
    {231, 228, 25}, {234, 229, 26}, {236, 229, 27}, {239, 229, 28}, {241, 229, 29}, {244, 230, 30},
    {246, 230, 32}, {248, 230, 33}, {251, 231, 35}, {253, 231, 37},
};

/* ------------------------------------------------------------------ allocation */

/* Allocates a white width x height image; NULL (with engram_error() set) on a zero or
 * absurd size or when memory runs out. Free with image_free. */
image *image_alloc(size_t width, size_t height) {
    if (width == 0 || height == 0 || width > IMAGE_MAX_PIXELS / height) {
        engram_fail(ENGRAM_EINVAL, "image_alloc: bad image size %zu x %zu", width, height);
        return NULL;
    }
    image *im = malloc(sizeof *im);
    if (!im) {
        engram_fail(ENGRAM_ENOMEM, "image_alloc: out of memory");
        return NULL;
    }
    im->rgb = malloc(width * height * 3);
    if (!im->rgb) {
        free(im);
        engram_fail(ENGRAM_ENOMEM, "image_alloc: out of memory for %zu x %zu", width, height);
        return NULL;
    }
    memset(im->rgb, 255, width * height * 3);
    im->width = width;
    im->height = height;
    return im;
}

/* Frees an image and its pixels; image_free(NULL) is a no-op. */
void image_free(image *im) {
    if (!im) return;
    free(im->rgb);
    free(im);
}

/* ------------------------------------------------------------------ PNG files */

/* Writes im as an 8-bit RGB PNG at path. Returns ENGRAM_OK, ENGRAM_EINVAL for a bad
 * image, or ENGRAM_EIO (message names the file and libpng's reason); a partly written
 * file is removed by libpng. */
int image_write_png(const image *im, const char *path) {
    if (!im || !im->rgb || !path || im->width == 0 || im->height == 0)
        return engram_fail(ENGRAM_EINVAL, "image_write_png: no image or no path");
    if (im->width > PNG_UINT_31_MAX / 3 || im->height > PNG_UINT_31_MAX)
        return engram_fail(ENGRAM_EINVAL, "image_write_png: image too large for PNG");
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)im->width;
    pi.height = (png_uint_32)im->height;
    pi.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&pi, path, 0, im->rgb, (png_int_32)(im->width * 3), NULL)) {
        int st = engram_fail(ENGRAM_EIO, "cannot write %s: %s", path, pi.message);
        png_image_free(&pi);
        return st;
    }
    return ENGRAM_OK;
}

/* Reads a PNG (8-bit RGB or RGBA; libpng also converts grey, palette and 16-bit
 * files) into a new RGB image, dropping alpha without compositing. Returns NULL with
 * engram_error() set: ENGRAM_EIO if the file cannot be opened, ENGRAM_EFORMAT if it is
 * not a PNG or is truncated/corrupt. */
image *image_read_png(const char *path) {
    if (!path) {
        engram_fail(ENGRAM_EINVAL, "image_read_png: no path");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        engram_fail(ENGRAM_EIO, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&pi, f)) {
        engram_fail(ENGRAM_EFORMAT, "cannot read %s: not a PNG or corrupt header (%s)", path,
                    pi.message);
        png_image_free(&pi);
        fclose(f);
        return NULL;
    }
    if (pi.width == 0 || pi.height == 0 || pi.width > IMAGE_MAX_PIXELS / pi.height) {
        engram_fail(ENGRAM_EFORMAT, "cannot read %s: image size %u x %u out of range", path,
                    (unsigned)pi.width, (unsigned)pi.height);
        png_image_free(&pi);
        fclose(f);
        return NULL;
    }
    pi.format = PNG_FORMAT_RGBA;
    size_t w = pi.width, h = pi.height;
    uint8_t *rgba = malloc(w * h * 4);
    image *im = image_alloc(w, h);
    if (!rgba || !im) {
        free(rgba);
        image_free(im);
        png_image_free(&pi);
        fclose(f);
        engram_fail(ENGRAM_ENOMEM, "cannot read %s: out of memory for %zu x %zu", path, w, h);
        return NULL;
    }
    if (!png_image_finish_read(&pi, NULL, rgba, (png_int_32)(w * 4), NULL)) {
        engram_fail(ENGRAM_EFORMAT, "cannot read %s: truncated or corrupt PNG (%s)", path,
                    pi.message);
        free(rgba);
        image_free(im);
        png_image_free(&pi);
        fclose(f);
        return NULL;
    }
    for (size_t i = 0; i < w * h; i++) memcpy(im->rgb + 3 * i, rgba + 4 * i, 3);
    free(rgba);
    png_image_free(&pi);
    fclose(f);
    return im;
}

/* ------------------------------------------------------------------ pixels */

static void put_px(image *im, long x, long y, const uint8_t c[3]) {
    if (x < 0 || y < 0 || (size_t)x >= im->width || (size_t)y >= im->height) return;
    uint8_t *p = im->rgb + ((size_t)y * im->width + (size_t)x) * 3;
    p[0] = c[0];
    p[1] = c[1];
    p[2] = c[2];
}

/* p := (1 - alpha) p + alpha c. */
static void blend_px(image *im, long x, long y, const uint8_t c[3], double alpha) {
    if (x < 0 || y < 0 || (size_t)x >= im->width || (size_t)y >= im->height) return;
    uint8_t *p = im->rgb + ((size_t)y * im->width + (size_t)x) * 3;
    for (int k = 0; k < 3; k++) p[k] = (uint8_t)lround((1.0 - alpha) * p[k] + alpha * c[k]);
}

/* Fills the w x h rectangle with top-left corner (x, y), clipped to the image. */
void image_fill_rect(image *im, long x, long y, long w, long h, const uint8_t rgb[3]) {
    if (!im || !rgb || w <= 0 || h <= 0) return;
    long W = (long)im->width, H = (long)im->height;
    if (x >= W || y >= H) return;
    /* clip without forming x + w for extreme arguments */
    if (x < 0) {
        if (x + w <= 0) return;
        w += x;
        x = 0;
    }
    if (y < 0) {
        if (y + h <= 0) return;
        h += y;
        y = 0;
    }
    if (w > W - x) w = W - x;
    if (h > H - y) h = H - y;
    for (long yy = y; yy < y + h; yy++) {
        uint8_t *q = im->rgb + ((size_t)yy * im->width + (size_t)x) * 3;
        for (long xx = 0; xx < w; xx++, q += 3) {
            q[0] = rgb[0];
            q[1] = rgb[1];
            q[2] = rgb[2];
        }
    }
}

/* One-pixel outline of the rectangle with corners (x0, y0) and (x1, y1), inclusive. */
static void draw_frame(image *im, long x0, long y0, long x1, long y1, const uint8_t c[3]) {
    image_fill_rect(im, x0, y0, x1 - x0 + 1, 1, c);
    image_fill_rect(im, x0, y1, x1 - x0 + 1, 1, c);
    image_fill_rect(im, x0, y0, 1, y1 - y0 + 1, c);
    image_fill_rect(im, x1, y0, 1, y1 - y0 + 1, c);
}

/* ------------------------------------------------------------------ text */

static const uint8_t *glyph_of(char ch) {
    unsigned u = (unsigned char)ch;
    if (u < FONT5X7_FIRST || u > FONT5X7_LAST) u = '?';
    return font5x7[u - FONT5X7_FIRST];
}

/* Draws text with its top-left corner at (x, y): each glyph is 5 x 7 cells of size x
 * size pixels with a 6 * size advance; '\n' starts a new line 9 * size lower; bytes
 * outside ASCII 32..126 are drawn as '?'. Pixels outside the image are skipped. */
void image_draw_text(image *im, long x, long y, const char *text, const uint8_t rgb[3],
                     int size) {
    if (!im || !text || !rgb) return;
    if (size < 1) size = 1;
    long cx = x, cy = y;
    for (const char *s = text; *s; s++) {
        if (*s == '\n') {
            cx = x;
            cy += 9L * size;
            continue;
        }
        const uint8_t *g = glyph_of(*s);
        for (int c = 0; c < 5; c++)
            for (int r = 0; r < 7; r++)
                if ((g[c] >> r) & 1)
                    image_fill_rect(im, cx + (long)c * size, cy + (long)r * size, size, size,
                                    rgb);
        cx += 6L * size;
    }
}

/* Returns the width in pixels of the longest line of text drawn at `size` (0 for an
 * empty string): 6 * size per character minus the trailing 1-column gap. */
size_t image_text_width(const char *text, int size) {
    if (!text) return 0;
    if (size < 1) size = 1;
    size_t best = 0, cur = 0;
    for (const char *s = text;; s++) {
        if (*s == '\n' || *s == '\0') {
            if (cur > best) best = cur;
            cur = 0;
            if (!*s) break;
        } else {
            cur++;
        }
    }
    return best ? best * 6 * (size_t)size - (size_t)size : 0;
}

/* Text rotated 90 degrees counter-clockwise (reading upwards); (x, y) is the
 * bottom-left pixel of the rotated box, which is 7 * size wide. */
static void draw_text_up(image *im, long x, long y, const char *text, const uint8_t rgb[3],
                         int size) {
    long k = 0;
    for (const char *s = text; *s; s++, k++) {
        const uint8_t *g = glyph_of(*s == '\n' ? ' ' : *s);
        for (int c = 0; c < 5; c++)
            for (int r = 0; r < 7; r++)
                if ((g[c] >> r) & 1)
                    image_fill_rect(im, x + (long)r * size,
                                    y - (6 * k + c) * (long)size - size + 1, size, size, rgb);
    }
}

/* ------------------------------------------------------------------ lines */

/* Liang-Barsky: clips the segment to [xmin, xmax] x [ymin, ymax]; 0 if nothing is left. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double xmin,
                        double ymin, double xmax, double ymax) {
    double t0 = 0.0, t1 = 1.0, dx = *x1 - *x0, dy = *y1 - *y0;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {*x0 - xmin, xmax - *x0, *y0 - ymin, ymax - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0.0) {
            if (q[i] < 0.0) return 0;
        } else {
            double t = q[i] / p[i];
            if (p[i] < 0.0) {
                if (t > t1) return 0;
                if (t > t0) t0 = t;
            } else {
                if (t < t0) return 0;
                if (t < t1) t1 = t;
            }
        }
    }
    double ax = *x0 + t0 * dx, ay = *y0 + t0 * dy;
    double bx = *x0 + t1 * dx, by = *y0 + t1 * dy;
    *x0 = ax;
    *y0 = ay;
    *x1 = bx;
    *y1 = by;
    return 1;
}

/* Bresenham line with a thick x thick square brush (top-left at the line pixel), clipped
 * so that the brush stays inside [cx0, cx1] x [cy0, cy1] (inclusive). */
static void draw_line_brush(image *im, double x0, double y0, double x1, double y1,
                            const uint8_t c[3], int thick, long cx0, long cy0, long cx1,
                            long cy1) {
    if (!(isfinite(x0) && isfinite(y0) && isfinite(x1) && isfinite(y1))) return;
    if (!clip_segment(&x0, &y0, &x1, &y1, (double)cx0, (double)cy0, (double)(cx1 - thick + 1),
                      (double)(cy1 - thick + 1)))
        return;
    long ax = lround(x0), ay = lround(y0), bx = lround(x1), by = lround(y1);
    long dx = labs(bx - ax), dy = -labs(by - ay);
    long sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1;
    long err = dx + dy;
    for (;;) {
        image_fill_rect(im, ax, ay, thick, thick, c);
        if (ax == bx && ay == by) break;
        long e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            ax += sx;
        }
        if (e2 <= dx) {
            err += dx;
            ay += sy;
        }
    }
}

/* Draws a 1-pixel line from (x0, y0) to (x1, y1) inclusive, clipped to the image. */
void image_draw_line(image *im, long x0, long y0, long x1, long y1, const uint8_t rgb[3]) {
    if (!im || !rgb) return;
    draw_line_brush(im, (double)x0, (double)y0, (double)x1, (double)y1, rgb, 1, 0, 0,
                    (long)im->width - 1, (long)im->height - 1);
}

/* ------------------------------------------------------------------ colour maps */

typedef struct seg_pt {
    double x, y;
} seg_pt;

/* matplotlib's _jet_data (_cm.py): piecewise-linear anchors for red, green, blue. */
static const seg_pt jet_r[] = {{0.0, 0.0}, {0.35, 0.0}, {0.66, 1.0}, {0.89, 1.0}, {1.0, 0.5}};
static const seg_pt jet_g[] = {{0.0, 0.0},  {0.125, 0.0}, {0.375, 1.0},
                               {0.64, 1.0}, {0.91, 0.0},  {1.0, 0.0}};
static const seg_pt jet_b[] = {{0.0, 0.5}, {0.11, 1.0}, {0.34, 1.0}, {0.65, 0.0}, {1.0, 0.0}};

static double seg_eval(const seg_pt *s, size_t n, double v) {
    for (size_t i = 1; i < n; i++)
        if (v <= s[i].x) {
            double f = (v - s[i - 1].x) / (s[i].x - s[i - 1].x);
            return s[i - 1].y + f * (s[i].y - s[i - 1].y);
        }
    return s[n - 1].y;
}

static uint8_t unit_to_byte(double u) {
    if (!(u > 0.0)) return 0;
    if (u >= 1.0) return 255;
    return (uint8_t)lround(u * 255.0);
}

/* Writes the colour of v under cmap: v is clamped to [0, 1]; NaN gives neutral grey
 * (200, 200, 200). jet is matplotlib's piecewise-linear definition (jet(0) = (0, 0,
 * 128), jet(1) = (128, 0, 0)); viridis interpolates matplotlib's 256-entry table
 * linearly at v * 255; grey is round(255 v). */
void image_cmap_rgb(image_cmap cmap, double v, uint8_t rgb[3]) {
    if (isnan(v)) {
        memcpy(rgb, col_nan, 3);
        return;
    }
    if (v < 0.0) v = 0.0;
    if (v > 1.0) v = 1.0;
    switch (cmap) {
    case IMAGE_CMAP_JET:
        rgb[0] = unit_to_byte(seg_eval(jet_r, sizeof jet_r / sizeof jet_r[0], v));
        rgb[1] = unit_to_byte(seg_eval(jet_g, sizeof jet_g / sizeof jet_g[0], v));
        rgb[2] = unit_to_byte(seg_eval(jet_b, sizeof jet_b / sizeof jet_b[0], v));
        break;
    case IMAGE_CMAP_VIRIDIS: {
        double t = v * 255.0;
        size_t i = (size_t)t;
        if (i >= 255) {
            memcpy(rgb, viridis[255], 3);
            break;
        }
        double f = t - (double)i;
        for (int k = 0; k < 3; k++)
            rgb[k] = (uint8_t)lround(viridis[i][k] + f * (viridis[i + 1][k] - viridis[i][k]));
        break;
    }
    case IMAGE_CMAP_GREY:
    default:
        rgb[0] = rgb[1] = rgb[2] = unit_to_byte(v);
        break;
    }
}

/* ------------------------------------------------------------------ maps */

/* lo/hi over the finite values of z (n,); returns how many values are finite. */
static size_t finite_range(const double *z, size_t n, double *lo, double *hi) {
    size_t k = 0;
    *lo = NAN;
    *hi = NAN;
    for (size_t i = 0; i < n; i++) {
        double v = z[i];
        if (!isfinite(v)) continue;
        if (k == 0 || v < *lo) *lo = v;
        if (k == 0 || v > *hi) *hi = v;
        k++;
    }
    return k;
}

/* v normalised to [0, 1] by lo/hi: NaN stays NaN (grey), +-inf clamp to 1/0, a
 * constant map (lo == hi) gives 0.5. */
static double map_unit(double v, double lo, double hi) {
    if (isnan(v)) return NAN;
    if (isinf(v)) return v > 0 ? 1.0 : 0.0;
    if (hi > lo) return (v - lo) / (hi - lo);
    return 0.5;
}

/* Draws map (rows, cols) into the w x h box at (x0, y0), nearest-neighbour: pixel
 * (px, py) shows element (py * rows / h, px * cols / w). Only pixels inside the image
 * are visited. */
static void draw_map_box(image *im, long x0, long y0, size_t w, size_t h, const double *map,
                         size_t rows, size_t cols, image_cmap cmap, double lo, double hi) {
    uint8_t c[3];
    if (x0 >= (long)im->width || y0 >= (long)im->height) return;
    size_t pxa = x0 < 0 ? (size_t)(-x0) : 0, pya = y0 < 0 ? (size_t)(-y0) : 0;
    size_t pxb = (size_t)((long)im->width - x0), pyb = (size_t)((long)im->height - y0);
    if (pxb > w) pxb = w;
    if (pyb > h) pyb = h;
    for (size_t py = pya; py < pyb; py++) {
        size_t r = py * rows / h;
        for (size_t px = pxa; px < pxb; px++) {
            size_t cc = px * cols / w;
            image_cmap_rgb(cmap, map_unit(map[r * cols + cc], lo, hi), c);
            put_px(im, x0 + (long)px, y0 + (long)py, c);
        }
    }
}

/* Draws a (rows, cols) map with its top-left corner at (x0, y0), element (r, c) as the
 * scale x scale block at row r from the top, column c from the left; values are min-max
 * normalised over the finite entries (a constant map gets the middle colour, NaN is
 * grey). Clipped to the image. */
void image_draw_map(image *im, size_t x0, size_t y0, const double *map, size_t rows,
                    size_t cols, image_cmap cmap, size_t scale) {
    if (!im || !map || rows == 0 || cols == 0 || scale == 0) return;
    if (x0 >= im->width || y0 >= im->height || cols > (size_t)LONG_MAX / scale ||
        rows > (size_t)LONG_MAX / scale)
        return;
    double lo, hi;
    finite_range(map, rows * cols, &lo, &hi);
    draw_map_box(im, (long)x0, (long)y0, cols * scale, rows * scale, map, rows, cols, cmap, lo,
                 hi);
}

/* 1 if a w x h image is allocatable under IMAGE_MAX_PIXELS. */
static int size_ok(size_t w, size_t h) {
    return w > 0 && h > 0 && w <= IMAGE_MAX_PIXELS / h;
}

/* Writes one heatmap PNG of (cols * scale) x (rows * scale) pixels (image_draw_map). */
int image_write_heatmap(const char *path, const double *map, size_t rows, size_t cols,
                        image_cmap cmap, size_t scale) {
    if (!path || !map || rows == 0 || cols == 0 || scale == 0)
        return engram_fail(ENGRAM_EINVAL, "image_write_heatmap: empty map or zero scale");
    if (cols > IMAGE_MAX_PIXELS / scale || rows > IMAGE_MAX_PIXELS / scale ||
        !size_ok(cols * scale, rows * scale))
        return engram_fail(ENGRAM_EINVAL,
                           "image_write_heatmap: %zu x %zu at scale %zu is too large", rows, cols,
                           scale);
    image *im = image_alloc(cols * scale, rows * scale);
    if (!im) return ENGRAM_ENOMEM;
    image_draw_map(im, 0, 0, map, rows, cols, cmap, scale);
    int st = image_write_png(im, path);
    image_free(im);
    return st;
}

/* Writes n maps (n, rows, cols) tiled per_row per row; see image.h for the geometry. */
int image_write_tiles(const char *path, const double *maps, size_t n, size_t rows,
                      size_t cols, size_t per_row, image_cmap cmap, size_t scale,
                      const char *const *titles) {
    if (!path || !maps || n == 0 || rows == 0 || cols == 0 || per_row == 0 || scale == 0)
        return engram_fail(ENGRAM_EINVAL, "image_write_tiles: empty input or zero size");
    if (cols > IMAGE_MAX_PIXELS / scale || rows > IMAGE_MAX_PIXELS / scale)
        return engram_fail(ENGRAM_EINVAL, "image_write_tiles: tiles too large");
    int any_title = 0;
    for (size_t k = 0; titles && k < n; k++)
        if (titles[k] && titles[k][0]) any_title = 1;
    size_t tw = cols * scale, th = rows * scale, title_h = any_title ? IMAGE_TILE_TITLE_H : 0;
    size_t nc = per_row < n ? per_row : n, nr = (n + per_row - 1) / per_row;
    if (tw + 2 > IMAGE_MAX_PIXELS / nc || th + title_h + 2 > IMAGE_MAX_PIXELS / nr ||
        !size_ok(nc * (tw + 2) + 2, nr * (title_h + th + 2) + 2))
        return engram_fail(ENGRAM_EINVAL, "image_write_tiles: %zu tiles of %zu x %zu too large", n,
                           tw, th);
    image *im = image_alloc(nc * (tw + 2) + 2, nr * (title_h + th + 2) + 2);
    if (!im) return ENGRAM_ENOMEM;
    size_t max_chars = (tw + 1) / 6;
    char buf[256];
    for (size_t k = 0; k < n; k++) {
        size_t tx = 2 + (k % per_row) * (tw + 2), ty = 2 + (k / per_row) * (title_h + th + 2);
        if (any_title && titles[k] && max_chars > 0) {
            size_t len = strlen(titles[k]);
            if (len > max_chars) len = max_chars;
            if (len > sizeof buf - 1) len = sizeof buf - 1;
            memcpy(buf, titles[k], len);
            buf[len] = '\0';
            image_draw_text(im, (long)tx, (long)ty + 1, buf, col_text, 1);
        }
        image_draw_map(im, tx, ty + title_h, maps + k * rows * cols, rows, cols, cmap, scale);
    }
    int st = image_write_png(im, path);
    image_free(im);
    return st;
}

/* ------------------------------------------------------------------ axes */

/* The "nice number" 1, 2 or 5 x 10^e nearest x (Heckbert, Graphics Gems, 1990). */
static double nice_num(double x) {
    double e = floor(log10(x)), f = x / pow(10.0, e);
    double nf = f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0;
    return nf * pow(10.0, e);
}

/* The next 1-2-5 step above step. */
static double next_step(double step) {
    double e = floor(log10(step)), f = step / pow(10.0, e);
    double nf = f < 1.5 ? 2.0 : f < 3.5 ? 5.0 : 10.0;
    return nf * pow(10.0, e);
}

typedef struct axis {
    double lo, hi, step; /* limits and tick step, in plotted units (log10 if log) */
    int log;
} axis;

/* Sets limits to multiples of step around [lo, hi]. */
static void axis_fit(axis *a, double lo, double hi, double step) {
    a->step = step;
    a->lo = floor(lo / step + TICK_SLACK) * step;
    a->hi = ceil(hi / step - TICK_SLACK) * step;
    if (a->hi <= a->lo) a->hi = a->lo + step;
}

/* A linear axis over the data range [lo, hi] with about `target` 1-2-5 ticks. */
static void axis_linear(axis *a, double lo, double hi, int target, double min_step) {
    a->log = 0;
    if (!(isfinite(lo) && isfinite(hi))) {
        lo = 0.0;
        hi = 1.0;
    }
    if (hi <= lo) { /* degenerate: widen by 10% of |lo| (or 1) each way */
        double d = lo != 0.0 ? fabs(lo) * 0.1 : 1.0;
        lo -= d;
        hi += d;
    }
    double step = nice_num((hi - lo) / (target > 1 ? target - 1 : 1));
    if (step < min_step) step = min_step;
    if (!(isfinite(step) && step > 0.0 && fabs(lo / step) < 1e15 && fabs(hi / step) < 1e15)) {
        lo = 0.0; /* range beyond double arithmetic (e.g. -DBL_MAX..DBL_MAX) */
        hi = 1.0;
        step = 0.2;
    }
    axis_fit(a, lo, hi, step);
}

/* A log10 axis over [lo, hi] (already log10 units): whole decades, one tick each. */
static void axis_log10(axis *a, double lo, double hi) {
    a->log = 1;
    if (!(isfinite(lo) && isfinite(hi))) {
        lo = 0.0;
        hi = 1.0;
    }
    a->lo = floor(lo + TICK_SLACK);
    a->hi = ceil(hi - TICK_SLACK);
    if (a->hi <= a->lo) a->hi = a->lo + 1.0;
    double decades = a->hi - a->lo;
    a->step = decades <= 8.0 ? 1.0 : ceil(decades / 8.0);
}

/* Tick index range: ticks are k * step for k in [*k0, *k1]. */
static void axis_ticks(const axis *a, long *k0, long *k1) {
    *k0 = (long)ceil(a->lo / a->step - TICK_SLACK);
    *k1 = (long)floor(a->hi / a->step + TICK_SLACK);
}

/* Formats tick value t (plotted units) for axis a. */
static void axis_label(const axis *a, double t, char *buf, size_t n) {
    if (a->log) {
        long e = lround(t);
        if (e >= -3 && e <= 4)
            snprintf(buf, n, "%g", pow(10.0, (double)e));
        else
            snprintf(buf, n, "1e%ld", e);
        return;
    }
    double m = fmax(fabs(a->lo), fabs(a->hi));
    if (m >= 1e6 || a->step < 1e-4) {
        snprintf(buf, n, "%.3g", t);
        return;
    }
    int dec = a->step >= 1.0 ? 0 : (int)ceil(-log10(a->step) - TICK_SLACK);
    if (fabs(t) < 0.5 * a->step) t = 0.0; /* no "-0.00" */
    snprintf(buf, n, "%.*f", dec, t);
}

/* Widest tick label of an axis, in pixels at text size ts. */
static size_t axis_label_width(const axis *a, int ts) {
    long k0, k1;
    char buf[64];
    size_t w = 0;
    axis_ticks(a, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        axis_label(a, (double)k * a->step, buf, sizeof buf);
        size_t lw = image_text_width(buf, ts);
        if (lw > w) w = lw;
    }
    return w;
}

/* ------------------------------------------------------------------ line plot */

typedef struct plot_frame {
    long x0, y0, x1, y1; /* frame rectangle, inclusive */
    long pad;            /* data area inset from the frame */
    axis ax, ay;
} plot_frame;

static double frame_x(const plot_frame *f, double x) {
    return (double)(f->x0 + f->pad) +
           (x - f->ax.lo) / (f->ax.hi - f->ax.lo) * (double)(f->x1 - f->x0 - 2 * f->pad);
}

static double frame_y(const plot_frame *f, double y) {
    return (double)(f->y1 - f->pad) -
           (y - f->ay.lo) / (f->ay.hi - f->ay.lo) * (double)(f->y1 - f->y0 - 2 * f->pad);
}

/* A y value in plotted units: log10 for log axes (non-positive -> NaN), NaN if not finite. */
static double plot_ty(const image_plot *p, double v) {
    if (!isfinite(v)) return NAN;
    if (p->log_y) return v > 0.0 ? log10(v) : NAN;
    return v;
}

static void lighten(const uint8_t c[3], double alpha, uint8_t out[3]) {
    for (int k = 0; k < 3; k++) out[k] = (uint8_t)lround((1.0 - alpha) * 255.0 + alpha * c[k]);
}

/* Shaded band of series s: per pixel column, the interpolated lo..hi span is blended
 * once (so adjacent segments do not double-shade). cl, ch are (frame width,) scratch. */
static void plot_band(image *im, const plot_frame *f, const image_plot *p, size_t s,
                      const uint8_t c[3], double *cl, double *ch) {
    size_t nw = (size_t)(f->x1 - f->x0 + 1), P = p->n_points;
    for (size_t i = 0; i < nw; i++) cl[i] = ch[i] = NAN;
    const double *lo = p->y_lo + s * P, *hi = p->y_hi + s * P;
    for (size_t i = 0; i + 1 < P; i++) {
        double xa = p->x[i], xb = p->x[i + 1];
        double la = plot_ty(p, lo[i]), lb = plot_ty(p, lo[i + 1]);
        double ha = plot_ty(p, hi[i]), hb = plot_ty(p, hi[i + 1]);
        if (!(isfinite(xa) && isfinite(xb) && !isnan(la) && !isnan(lb) && !isnan(ha) &&
              !isnan(hb)))
            continue;
        double Xa = frame_x(f, xa), Xb = frame_x(f, xb);
        if (Xa > Xb) {
            double t;
            t = Xa, Xa = Xb, Xb = t;
            t = la, la = lb, lb = t;
            t = ha, ha = hb, hb = t;
        }
        for (long cx = (long)ceil(Xa); cx <= (long)floor(Xb); cx++) {
            if (cx < f->x0 || cx > f->x1) continue;
            double u = Xb > Xa ? ((double)cx - Xa) / (Xb - Xa) : 0.0;
            cl[cx - f->x0] = frame_y(f, la + u * (lb - la));
            ch[cx - f->x0] = frame_y(f, ha + u * (hb - ha));
        }
    }
    for (size_t i = 0; i < nw; i++) {
        if (isnan(cl[i])) continue;
        double ya = fmin(cl[i], ch[i]), yb = fmax(cl[i], ch[i]);
        long ra = lround(fmax(ya, (double)(f->y0 + 1))), rb = lround(fmin(yb, (double)(f->y1 - 1)));
        for (long y = ra; y <= rb; y++) blend_px(im, f->x0 + (long)i, y, c, 0.25);
    }
}

/* Curve of series s: thick-px segments between consecutive finite points, a
 * (2 thick + 1)-px square for a point with no finite neighbour. */
static void plot_curve(image *im, const plot_frame *f, const image_plot *p, size_t s,
                       const uint8_t c[3], int thick) {
    size_t P = p->n_points;
    const double *y = p->y + s * P;
    for (size_t i = 0; i < P; i++) {
        double yi = plot_ty(p, y[i]);
        if (!isfinite(p->x[i]) || isnan(yi)) continue;
        double X = frame_x(f, p->x[i]), Y = frame_y(f, yi);
        int has_next = i + 1 < P && isfinite(p->x[i + 1]) && !isnan(plot_ty(p, y[i + 1]));
        int has_prev = i > 0 && isfinite(p->x[i - 1]) && !isnan(plot_ty(p, y[i - 1]));
        if (has_next) {
            double X1 = frame_x(f, p->x[i + 1]), Y1 = frame_y(f, plot_ty(p, y[i + 1]));
            double h = 0.5 * (thick - 1); /* centre the brush on the line */
            draw_line_brush(im, X - h, Y - h, X1 - h, Y1 - h, c, thick, f->x0 + 1, f->y0 + 1,
                            f->x1 - 1, f->y1 - 1);
        } else if (!has_prev) {
            long cx = lround(X), cy = lround(Y);
            for (long yy = cy - thick; yy <= cy + thick; yy++)
                for (long xx = cx - thick; xx <= cx + thick; xx++)
                    if (xx > f->x0 && xx < f->x1 && yy > f->y0 && yy < f->y1)
                        put_px(im, xx, yy, c);
        }
    }
}

/* Counts pixels in a rectangle that are neither white nor grid grey. */
static size_t ink_in(const image *im, long x0, long y0, long w, long h) {
    size_t n = 0;
    for (long y = y0; y < y0 + h; y++)
        for (long x = x0; x < x0 + w; x++) {
            if (x < 0 || y < 0 || (size_t)x >= im->width || (size_t)y >= im->height) continue;
            const uint8_t *q = im->rgb + ((size_t)y * im->width + (size_t)x) * 3;
            if (memcmp(q, col_white, 3) != 0 && memcmp(q, col_grid, 3) != 0) n++;
        }
    return n;
}

/* Legend box in the plot corner with the least ink (upper right preferred). */
static void plot_legend(image *im, const plot_frame *f, const image_plot *p, int ts) {
    size_t n = 0, wmax = 0;
    for (size_t s = 0; p->names && s < p->n_series; s++)
        if (p->names[s]) {
            n++;
            size_t w = image_text_width(p->names[s], ts);
            if (w > wmax) wmax = w;
        }
    if (n == 0) return;
    long line_h = 11L * ts, sw = 20L * ts;
    long bw = 8L * ts + sw + 6L * ts + (long)wmax + 8L * ts, bh = 6L * ts + (long)n * line_h;
    long inset = 8;
    long cand[4][2] = {{f->x1 - inset - bw, f->y0 + inset},
                       {f->x0 + inset, f->y0 + inset},
                       {f->x1 - inset - bw, f->y1 - inset - bh},
                       {f->x0 + inset, f->y1 - inset - bh}};
    int best = 0;
    size_t best_ink = (size_t)-1;
    for (int i = 0; i < 4; i++) {
        size_t k = ink_in(im, cand[i][0], cand[i][1], bw, bh);
        if (k < best_ink) {
            best_ink = k;
            best = i;
        }
    }
    long bx = cand[best][0], by = cand[best][1];
    image_fill_rect(im, bx, by, bw, bh, col_white);
    static const uint8_t col_legend_frame[3] = {160, 160, 160};
    draw_frame(im, bx, by, bx + bw - 1, by + bh - 1, col_legend_frame);
    long row = 0;
    for (size_t s = 0; s < p->n_series; s++) {
        if (!p->names[s]) continue;
        const uint8_t *c = tab10[s % 10];
        long cy = by + 4L * ts + row * line_h + line_h / 2;
        long lx = bx + 8L * ts;
        if (p->y_lo && p->y_hi) {
            uint8_t light[3];
            lighten(c, 0.25, light);
            image_fill_rect(im, lx, cy - 4L * ts, sw, 8L * ts, light);
        }
        image_fill_rect(im, lx, cy - 1, sw, 2 * ts, c);
        image_draw_text(im, lx + sw + 6L * ts, cy - 3L * ts, p->names[s], col_text, ts);
        row++;
    }
}

/* Writes a line plot; see image.h. Returns ENGRAM_OK, ENGRAM_EINVAL or ENGRAM_EIO. */
int image_write_plot(const char *path, const image_plot *p) {
    if (!path || !p || !p->x || p->n_points == 0 || (p->n_series > 0 && !p->y))
        return engram_fail(ENGRAM_EINVAL, "image_write_plot: missing x/y data or path");
    if ((p->y_lo == NULL) != (p->y_hi == NULL))
        return engram_fail(ENGRAM_EINVAL, "image_write_plot: give both y_lo and y_hi or neither");
    size_t W = p->width ? p->width : 640, H = p->height ? p->height : 400;
    if (W < 200 || H < 150 || W > 20000 || H > 20000)
        return engram_fail(ENGRAM_EINVAL, "image_write_plot: size %zu x %zu outside 200x150..20000",
                           W, H);
    size_t S = p->n_series, P = p->n_points;
    int ts = (W >= 1200 && H >= 750) ? 2 : 1; /* text scale */
    long ch = 7L * ts;                         /* character height */

    /* Data ranges in plotted units. */
    double xlo, xhi, ylo = NAN, yhi = NAN;
    finite_range(p->x, P, &xlo, &xhi);
    const double *arrs[3] = {p->y, p->y_lo, p->y_hi};
    for (int a = 0; a < 3; a++) {
        if (!arrs[a]) continue;
        for (size_t i = 0; i < S * P; i++) {
            double v = plot_ty(p, arrs[a][i]);
            if (isnan(v) || !isfinite(p->x[i % P])) continue;
            if (isnan(ylo) || v < ylo) ylo = v;
            if (isnan(yhi) || v > yhi) yhi = v;
        }
    }

    plot_frame f;
    f.pad = 4;
    long top = (p->title && p->title[0]) ? 14L * ts + 14 : 12;
    long bottom = 4 + 4 + ch + ((p->x_label && p->x_label[0]) ? 8 + ch : 0) + 10;
    long ph = (long)H - top - bottom;
    if (p->log_y)
        axis_log10(&f.ay, ylo, yhi);
    else {
        int ty = (int)(ph / (45 * ts));
        axis_linear(&f.ay, ylo, yhi, ty < 3 ? 3 : ty > 9 ? 9 : ty, 0.0);
    }
    long left = 6 + ((p->y_label && p->y_label[0]) ? ch + 8 : 0) +
                (long)axis_label_width(&f.ay, ts) + 6 + 4;
    long right = 20;
    f.x0 = left;
    f.y0 = top;
    f.y1 = (long)H - 1 - bottom;
    long pw = (long)W - 1 - right - left;
    if (pw < 40 || ph < 40)
        return engram_fail(ENGRAM_EINVAL, "image_write_plot: %zu x %zu leaves no room to plot", W,
                           H);
    {
        int tx = (int)(pw / (90 * ts));
        axis_linear(&f.ax, xlo, xhi, tx < 3 ? 3 : tx > 10 ? 10 : tx, 0.0);
        /* The last x tick label is centred on the right end: leave room for its half. */
        long half = (long)axis_label_width(&f.ax, ts) / 2 + 6;
        if (half > right) right = half;
        pw = (long)W - 1 - right - left;
        if (pw < 40)
            return engram_fail(ENGRAM_EINVAL, "image_write_plot: %zu x %zu leaves no room to plot",
                               W, H);
        /* Widen the step until the x tick labels do not collide. */
        for (int it = 0; it < 8; it++) {
            double spacing = (double)(pw - 2 * f.pad) * f.ax.step / (f.ax.hi - f.ax.lo);
            if ((double)axis_label_width(&f.ax, ts) + 10.0 * ts <= spacing) break;
            double lo = isfinite(xlo) ? xlo : f.ax.lo, hi = isfinite(xhi) ? xhi : f.ax.hi;
            if (hi <= lo) {
                lo = f.ax.lo;
                hi = f.ax.hi;
            }
            axis_fit(&f.ax, lo, hi, next_step(f.ax.step));
        }
    }
    f.x1 = f.x0 + pw;

    image *im = image_alloc(W, H);
    if (!im) return ENGRAM_ENOMEM;
    long k0, k1;
    char buf[64];

    /* Grid lines at the major ticks. */
    axis_ticks(&f.ay, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        long y = lround(frame_y(&f, (double)k * f.ay.step));
        image_fill_rect(im, f.x0 + 1, y, f.x1 - f.x0 - 1, 1, col_grid);
    }
    axis_ticks(&f.ax, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        long x = lround(frame_x(&f, (double)k * f.ax.step));
        image_fill_rect(im, x, f.y0 + 1, 1, f.y1 - f.y0 - 1, col_grid);
    }

    /* Bands, then curves on top. */
    if (p->y_lo && S > 0) {
        size_t nw = (size_t)(f.x1 - f.x0 + 1);
        double *scratch = malloc(2 * nw * sizeof *scratch);
        if (!scratch) {
            image_free(im);
            return engram_fail(ENGRAM_ENOMEM, "image_write_plot: out of memory");
        }
        for (size_t s = 0; s < S; s++)
            plot_band(im, &f, p, s, tab10[s % 10], scratch, scratch + nw);
        free(scratch);
    }
    for (size_t s = 0; s < S; s++) plot_curve(im, &f, p, s, tab10[s % 10], 2 * ts);

    /* Frame, ticks and tick labels. */
    draw_frame(im, f.x0, f.y0, f.x1, f.y1, col_black);
    axis_ticks(&f.ax, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        double t = (double)k * f.ax.step;
        long x = lround(frame_x(&f, t));
        image_fill_rect(im, x, f.y1 + 1, 1, 4, col_black);
        axis_label(&f.ax, t, buf, sizeof buf);
        image_draw_text(im, x - (long)image_text_width(buf, ts) / 2, f.y1 + 8, buf, col_text, ts);
    }
    axis_ticks(&f.ay, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        double t = (double)k * f.ay.step;
        long y = lround(frame_y(&f, t));
        image_fill_rect(im, f.x0 - 4, y, 4, 1, col_black);
        axis_label(&f.ay, t, buf, sizeof buf);
        image_draw_text(im, f.x0 - 7 - (long)image_text_width(buf, ts), y - ch / 2, buf, col_text,
                        ts);
    }
    if (f.ay.log && f.ay.hi - f.ay.lo <= 6.0) { /* minor ticks at 2..9 x 10^e */
        for (double e = f.ay.lo; e < f.ay.hi; e += 1.0)
            for (int m = 2; m <= 9; m++) {
                long y = lround(frame_y(&f, e + log10((double)m)));
                image_fill_rect(im, f.x0 - 2, y, 2, 1, col_black);
            }
    }

    /* Title and axis labels. */
    if (p->title && p->title[0]) {
        long tw = (long)image_text_width(p->title, 2 * ts);
        long tx = (f.x0 + f.x1) / 2 - tw / 2;
        if (tx + tw > (long)W - 4) tx = (long)W - 4 - tw;
        if (tx < 4) tx = 4;
        image_draw_text(im, tx, 8, p->title, col_text, 2 * ts);
    }
    if (p->x_label && p->x_label[0]) {
        long tw = (long)image_text_width(p->x_label, ts);
        image_draw_text(im, (f.x0 + f.x1) / 2 - tw / 2, f.y1 + 8 + ch + 8, p->x_label, col_text,
                        ts);
    }
    if (p->y_label && p->y_label[0]) {
        long tw = (long)image_text_width(p->y_label, ts);
        draw_text_up(im, 6, (f.y0 + f.y1) / 2 + tw / 2, p->y_label, col_text, ts);
    }
    plot_legend(im, &f, p, ts);

    int st = image_write_png(im, path);
    image_free(im);
    return st;
}

/* ------------------------------------------------------------------ raster */

/* Writes a raster (rows, cols) heatmap with title, axis labels, index ticks and a
 * colour bar labelled with the finite min and max; see image.h. */
int image_write_raster(const char *path, const double *z, size_t rows, size_t cols,
                       image_cmap cmap, const char *title, const char *x_label,
                       const char *y_label) {
    if (!path || !z || rows == 0 || cols == 0)
        return engram_fail(ENGRAM_EINVAL, "image_write_raster: empty raster or no path");
    /* Integer cell sizes up to 16 px while the map is small, else one pixel per cell
     * up to the caps, else nearest-neighbour subsampling. */
    size_t sx = cols <= IMAGE_RASTER_W / 2 ? IMAGE_RASTER_W / cols : 1;
    size_t sy = rows <= IMAGE_RASTER_H / 2 ? IMAGE_RASTER_H / rows : 1;
    if (sx > 16) sx = 16;
    if (sy > 16) sy = 16;
    size_t PW = cols * sx <= IMAGE_RASTER_MAX_W ? cols * sx : IMAGE_RASTER_MAX_W;
    size_t PH = rows * sy <= IMAGE_RASTER_MAX_H ? rows * sy : IMAGE_RASTER_MAX_H;
    if (cols > IMAGE_RASTER_MAX_W) PW = IMAGE_RASTER_MAX_W;
    if (rows > IMAGE_RASTER_MAX_H) PH = IMAGE_RASTER_MAX_H;

    const int ts = 1;
    const long ch = 7;
    double lo, hi;
    finite_range(z, rows * cols, &lo, &hi);
    axis ax, ay;
    int tx = (int)(PW / 70), ty = (int)(PH / 35);
    axis_linear(&ax, 0.0, (double)(cols - 1), tx < 3 ? 3 : tx > 10 ? 10 : tx, 1.0);
    axis_linear(&ay, 0.0, (double)(rows - 1), ty < 3 ? 3 : ty > 9 ? 9 : ty, 1.0);
    ax.lo = ay.lo = 0.0;
    ax.hi = (double)(cols - 1);
    ay.hi = (double)(rows - 1);
    for (int it = 0; it < 8; it++) { /* no colliding x tick labels */
        double spacing = (double)PW * ax.step / (double)cols;
        if ((double)axis_label_width(&ax, ts) + 10.0 > spacing)
            ax.step = next_step(ax.step);
        else
            break;
    }
    char lo_s[32], hi_s[32], buf[64];
    if (isnan(lo)) {
        snprintf(lo_s, sizeof lo_s, "nan");
        snprintf(hi_s, sizeof hi_s, "nan");
    } else {
        snprintf(lo_s, sizeof lo_s, "%.3g", lo);
        snprintf(hi_s, sizeof hi_s, "%.3g", hi);
    }
    long cb_label = (long)image_text_width(lo_s, ts);
    if ((long)image_text_width(hi_s, ts) > cb_label) cb_label = (long)image_text_width(hi_s, ts);

    long top = (title && title[0]) ? 14 + 14 : 12;
    long left =
        6 + ((y_label && y_label[0]) ? ch + 8 : 0) + (long)axis_label_width(&ay, ts) + 6 + 4;
    long bottom = 4 + 4 + ch + ((x_label && x_label[0]) ? 8 + ch : 0) + 10;
    long right = 14 + 14 + 6 + cb_label + 10;
    long W = left + (long)PW + right, H = top + (long)PH + bottom;
    if (title && title[0] && (long)image_text_width(title, 2) + 16 > W)
        W = (long)image_text_width(title, 2) + 16;
    if (H < top + 60 + bottom) H = top + 60 + bottom; /* room for the colour-bar labels */
    image *im = image_alloc((size_t)W, (size_t)H);
    if (!im) return ENGRAM_ENOMEM;

    long x0 = left, y0 = top;
    draw_map_box(im, x0, y0, PW, PH, z, rows, cols, cmap, lo, hi);
    draw_frame(im, x0 - 1, y0 - 1, x0 + (long)PW, y0 + (long)PH, col_black);
    long k0, k1;
    axis_ticks(&ax, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        double c = (double)k * ax.step;
        long x = x0 + (long)floor((c + 0.5) * (double)PW / (double)cols);
        image_fill_rect(im, x, y0 + (long)PH + 1, 1, 4, col_black);
        axis_label(&ax, c, buf, sizeof buf);
        image_draw_text(im, x - (long)image_text_width(buf, ts) / 2, y0 + (long)PH + 8, buf,
                        col_text, ts);
    }
    axis_ticks(&ay, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        double r = (double)k * ay.step;
        long y = y0 + (long)floor((r + 0.5) * (double)PH / (double)rows);
        image_fill_rect(im, x0 - 5, y, 4, 1, col_black);
        axis_label(&ay, r, buf, sizeof buf);
        image_draw_text(im, x0 - 8 - (long)image_text_width(buf, ts), y - ch / 2, buf, col_text,
                        ts);
    }
    /* Colour bar: top = max, bottom = min. */
    long cbx = x0 + (long)PW + 14, cbh = (long)PH < 60 ? 60 : (long)PH;
    uint8_t c[3];
    for (long y = 0; y < cbh; y++) {
        image_cmap_rgb(cmap, cbh > 1 ? 1.0 - (double)y / (double)(cbh - 1) : 0.5, c);
        image_fill_rect(im, cbx, y0 + y, 14, 1, c);
    }
    draw_frame(im, cbx - 1, y0 - 1, cbx + 14, y0 + cbh, col_black);
    image_draw_text(im, cbx + 14 + 6, y0, hi_s, col_text, ts);
    image_draw_text(im, cbx + 14 + 6, y0 + cbh - ch, lo_s, col_text, ts);

    if (title && title[0]) {
        long tw = (long)image_text_width(title, 2);
        long tx2 = x0 + (long)PW / 2 - tw / 2;
        if (tx2 + tw > W - 4) tx2 = W - 4 - tw;
        if (tx2 < 4) tx2 = 4;
        image_draw_text(im, tx2, 8, title, col_text, 2);
    }
    if (x_label && x_label[0]) {
        long tw = (long)image_text_width(x_label, ts);
        image_draw_text(im, x0 + (long)PW / 2 - tw / 2, y0 + (long)PH + 8 + ch + 8, x_label,
                        col_text, ts);
    }
    if (y_label && y_label[0]) {
        long tw = (long)image_text_width(y_label, ts);
        draw_text_up(im, 6, y0 + (long)PH / 2 + tw / 2, y_label, col_text, ts);
    }
    int st = image_write_png(im, path);
    image_free(im);
    return st;
}
