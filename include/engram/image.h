/* image.h: PNG figures (libpng): heatmaps, tiled maps, line plots, rasters.
 *
 * Pixels are 8-bit RGB, rows top to bottom, stored (H, W, 3). Heatmaps take a
 * row-major (rows, cols) array of doubles: element (r, c) is drawn at row r from the
 * top and column c from the left. NaN values are drawn in a neutral grey. Colour maps:
 * jet (the grid-cell literature's) and viridis.
 *
 * Example:
 *     image_write_heatmap("map.png", rate, 20, 20, IMAGE_CMAP_JET, 8);
 *
 * Text uses a built-in 5x7 bitmap font (ASCII 32..126), so figures carry titles,
 * axis ticks and legends without any other program.
 *
 * Colour maps: jet is matplotlib's piecewise-linear definition (jet(0) = (0, 0, 128)
 * dark blue, jet(1) = (128, 0, 0) dark red); viridis is matplotlib's 256-entry table
 * (viridis(0) = (68, 1, 84), viridis(1) = (253, 231, 37)); grey is round(255 v).
 * Maps are min-max normalised over their finite values; a constant map gets the middle
 * colour, NaN is drawn (200, 200, 200), +inf/-inf as the top/bottom colour.
 *
 * Ownership: image_alloc returns an image the caller frees with image_free; the
 * image_write_* functions allocate and free their own canvas and never keep pointers
 * to the caller's arrays. Errors: functions returning int give ENGRAM_OK or a status
 * with a one-line engram_error() message; drawing functions clip silently.
 */
#ifndef ENGRAM_IMAGE_H
#define ENGRAM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { IMAGE_CMAP_JET, IMAGE_CMAP_VIRIDIS, IMAGE_CMAP_GREY } image_cmap;

typedef struct image {
    size_t width, height;
    uint8_t *rgb; /* (H, W, 3) */
} image;

/* Allocates a white image; NULL on failure. */
image *image_alloc(size_t width, size_t height);
void image_free(image *im);

/* Writes an image as 8-bit RGB PNG. Returns ENGRAM_OK or ENGRAM_EIO. */
int image_write_png(const image *im, const char *path);

/* Reads an 8-bit RGB or RGBA PNG (alpha dropped). NULL with engram_error() set on
 * failure (missing, not a PNG, truncated). */
image *image_read_png(const char *path);

/* Colour of value v in [0, 1] (clamped) under cmap. */
void image_cmap_rgb(image_cmap cmap, double v, uint8_t rgb[3]);

/* Draws a (rows, cols) map min-max normalised (lo/hi from the finite values) into im
 * at (x0, y0), each value a scale x scale block. */
void image_draw_map(image *im, size_t x0, size_t y0, const double *map, size_t rows,
                    size_t cols, image_cmap cmap, size_t scale);

/* Draws ASCII text with the 5x7 font (6 px advance, `size` = pixel scale). */
void image_draw_text(image *im, long x, long y, const char *text, const uint8_t rgb[3],
                     int size);

/* Draws a line from (x0, y0) to (x1, y1). */
void image_draw_line(image *im, long x0, long y0, long x1, long y1, const uint8_t rgb[3]);

/* Fills the w x h rectangle whose top-left corner is (x, y), clipped to the image. */
void image_fill_rect(image *im, long x, long y, long w, long h, const uint8_t rgb[3]);

/* Width in pixels of the longest line of `text` drawn at pixel scale `size`
 * (6 * size per character, minus the last 1-column gap; 0 for ""). */
size_t image_text_width(const char *text, int size);

/* Height of the title band above each tile in image_write_tiles when titles are given. */
#define IMAGE_TILE_TITLE_H 10

/* Writes one heatmap PNG, each value a scale x scale block. */
int image_write_heatmap(const char *path, const double *map, size_t rows, size_t cols,
                        image_cmap cmap, size_t scale);

/* Writes n maps (n, rows, cols) tiled `per_row` per row with a 2-px white gutter;
 * titles (may be NULL, or entries NULL) are drawn above each tile. Each map is
 * normalised on its own. With C = min(per_row, n) tiles per row, R = ceil(n / per_row)
 * rows and t = IMAGE_TILE_TITLE_H if any title is non-empty (else 0), the image is
 * C * (cols * scale + 2) + 2 wide and R * (t + rows * scale + 2) + 2 high; tile k has
 * its top-left title corner at (2 + (k % per_row) * (cols * scale + 2),
 * 2 + (k / per_row) * (t + rows * scale + 2)) and its map t pixels lower. Titles longer
 * than the tile are cut. */
int image_write_tiles(const char *path, const double *maps, size_t n, size_t rows,
                      size_t cols, size_t per_row, image_cmap cmap, size_t scale,
                      const char *const *titles);

/* A line plot: n_series curves over shared x values (n_points,), ys (n_series,
 * n_points) (NaN points are skipped), optional shaded bands lo/hi (same shape, may be
 * NULL), a legend from names, axis labels, a title, and log10 y axis if log_y.
 *
 * Series s is drawn 2 px wide in matplotlib's tab10 colour s % 10, over its band
 * (the same colour at 25% on white). Plots of at least 1200 x 750 px draw text and
 * lines at double scale. Axes get 1-2-5 ticks with labels and light grid lines; a
 * log y axis has one labelled tick per decade (non-positive values are skipped like
 * NaN). An isolated finite point is drawn as a 5x5 square (9x9 at double scale). The
 * legend (entries for non-NULL names) goes in the plot corner covering the fewest
 * data pixels. y_lo and y_hi must be both NULL or both given; any title or label may
 * be NULL. */
typedef struct image_plot {
    const char *title, *x_label, *y_label;
    const double *x;      /* (P,) */
    const double *y;      /* (S, P) */
    const double *y_lo;   /* (S, P) or NULL */
    const double *y_hi;   /* (S, P) or NULL */
    size_t n_series, n_points;
    const char *const *names; /* (S,) or NULL */
    int log_y;
    size_t width, height; /* 0 = 640 x 400 */
} image_plot;

int image_write_plot(const char *path, const image_plot *p);

/* A raster: (rows, cols) values drawn as a heatmap with a title and labelled axes
 * (x: time/columns, y: rows), for replay rasters and sorted activity. Row 0 is at
 * the top; ticks give column / row indices at cell centres; a colour bar on the right
 * is labelled with the finite min (bottom) and max (top). Cells are square-ish blocks
 * up to 16 px for small rasters; beyond 1200 columns or 800 rows, cells are
 * subsampled nearest-neighbour. */
int image_write_raster(const char *path, const double *z, size_t rows, size_t cols,
                       image_cmap cmap, const char *title, const char *x_label,
                       const char *y_label);

#endif
