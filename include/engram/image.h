/* image.h: engram's figures: line plots, heatmaps with colour bars, tiled maps, rasters.
 *
 * Figures are drawn with cairo (src/figures/): anti-aliased lines, DejaVu Sans text
 * through fontconfig, translucent bands. The output format follows the file extension
 * of the path given to every image_write_* function: ".png" (8-bit RGB through libpng),
 * ".svg" or ".pdf" (vector, cairo's SVG and PDF surfaces); another extension gives PNG.
 * Sizes are pixels for PNG and points for SVG/PDF.
 *
 * Every figure fits its title into its width (the font shrinks, then the title wraps
 * onto two lines, then it is cut with "..."); heatmaps carry a colour bar labelled with
 * the minimum and maximum and 1-2-5 ticks; NaN cells are light grey and a map with no
 * finite value reads "no data". Small figures are widened to at least 480 px.
 *
 * Pixels of an `image` are 8-bit RGB, rows top to bottom, stored (H, W, 3). Heatmaps
 * take a row-major (rows, cols) array of doubles: element (r, c) is drawn at row r from
 * the top and column c from the left.
 *
 * Example:
 *     image_write_heatmap("map.png", rate, 20, 20, IMAGE_CMAP_JET, 8);
 *     image_map m = {.title = "rate map", .z = rate, .rows = 20, .cols = 20,
 *                    .cbar_label = "rate (Hz)"};
 *     image_write_map("map.svg", &m);
 *
 * Colour maps: jet is matplotlib's piecewise-linear definition (jet(0) = (0, 0, 128)
 * dark blue, jet(1) = (128, 0, 0) dark red); viridis is matplotlib's 256-entry table
 * (viridis(0) = (68, 1, 84), viridis(1) = (253, 231, 37)); grey is round(255 v).
 * Maps are min-max normalised over their finite values; a constant map gets the middle
 * colour, +inf/-inf the top/bottom colour.
 *
 * Ownership: image_alloc returns an image the caller frees with image_free; the
 * image_write_* functions allocate and free their own canvas and never keep pointers
 * to the caller's arrays. Errors: functions returning int give ENGRAM_OK or a status
 * with a one-line engram_error() message.
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

/* Writes one heatmap: the map, each value a scale x scale block (PNG pixels), with a
 * colour bar on its right; no title. */
int image_write_heatmap(const char *path, const double *map, size_t rows, size_t cols,
                        image_cmap cmap, size_t scale);

/* Writes n maps (n, rows, cols) tiled `per_row` per row, each value a scale x scale
 * block, each map normalised on its own, titles[k] (titles may be NULL, or entries
 * NULL) fitted above tile k; a colour bar reads "tile min" to "tile max". Same as
 * image_write_tile_fig with only these fields set. */
int image_write_tiles(const char *path, const double *maps, size_t n, size_t rows,
                      size_t cols, size_t per_row, image_cmap cmap, size_t scale,
                      const char *const *titles);

/* A line plot: n_series curves over shared x values (n_points,), ys (n_series,
 * n_points) (NaN points break the line), optional shaded bands lo/hi (same shape, may
 * be NULL), a legend from names, axis labels, a title, and log10 y axis if log_y.
 *
 * Series s is drawn in matplotlib's tab10 colour s % 10 over its band (the same colour
 * at 25% opacity). Text and lines scale with the figure (x 1 at 640 x 400, up to x 2.5).
 * Axes get 1-2-5 ticks with labels and light grid lines; a log y axis has one labelled
 * tick per decade (10 with a superscript exponent; non-positive values are skipped like
 * NaN). An isolated finite point is drawn as a dot. The legend (entries for non-NULL
 * names) goes in the plot corner covering the fewest data points. y_lo and y_hi must be
 * both NULL or both given; any title or label may be NULL. Sizes below 480 x 300 are
 * raised to it. */
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

/* Further options of a line plot (a separate struct, so that positional initialisers
 * of image_plot stay complete); every zero field is off. */
typedef struct image_plot_opts {
    const char *subtitle; /* grey line under the title, or NULL */
    const double *xs;     /* (S, P) per-series x values, or NULL: p->x for every series */
    int fix_x, fix_y;     /* 1: the axis spans x_lim / y_lim exactly */
    double x_lim[2], y_lim[2];
    int equal_aspect;     /* 1: one x unit is as long as one y unit */
} image_plot_opts;

/* image_write_plot with options o (may be NULL). */
int image_write_plot_opts(const char *path, const image_plot *p, const image_plot_opts *o);

/* A raster: (rows, cols) values drawn as a heatmap with a title and labelled axes
 * (x: columns, y: rows), for replay rasters and sorted activity. Row 0 is at the top;
 * ticks give column / row indices at cell centres; a colour bar on the right is
 * labelled with the finite min (bottom), max (top) and 1-2-5 ticks. Cells are blocks
 * of up to 16 px (more for very few rows, so the map is at least 160 px high); beyond
 * 1200 columns or 800 rows, cells are subsampled. Same as image_write_map with these
 * fields. */
int image_write_raster(const char *path, const double *z, size_t rows, size_t cols,
                       image_cmap cmap, const char *title, const char *x_label,
                       const char *y_label);

/* A heatmap figure with every option; zero fields take the defaults noted. */
typedef struct image_map {
    const char *title, *subtitle;   /* may be NULL */
    const char *x_label, *y_label;  /* may be NULL: no axis ticks either */
    const char *cbar_label;         /* may be NULL */
    const double *z;                /* (rows, cols), row 0 at the top */
    size_t rows, cols;
    image_cmap cmap;                /* default jet */
    size_t cell;                    /* px per cell; 0 = automatic (as image_write_raster) */
    int fix_range;                  /* 1: colours over [v_lo, v_hi] instead of min..max */
    double v_lo, v_hi;
} image_map;

/* Writes an image_map figure. Returns ENGRAM_OK, ENGRAM_EINVAL or ENGRAM_EIO. */
int image_write_map(const char *path, const image_map *m);

/* Tiled maps with every option; zero fields take the defaults noted. */
typedef struct image_tiles {
    const double *maps;             /* (n, rows, cols) */
    size_t n, rows, cols;
    size_t per_row;                 /* 0 = 8 */
    image_cmap cmap;                /* default jet */
    size_t scale;                   /* px per cell, 0 = automatic (tiles >= 64 px) */
    const char *const *titles;      /* (n,) per-tile titles, may be NULL */
    const char *title, *subtitle;   /* figure title and grey subtitle, may be NULL */
    const char *x_label, *y_label;  /* orientation labels under / left of the grid */
    const char *cbar_label;         /* may be NULL */
    int shared_range;               /* 1: one colour range over all tiles, numeric bar;
                                       0: each tile on its own range, bar "tile min/max" */
} image_tiles;

/* Writes an image_tiles figure. Returns ENGRAM_OK, ENGRAM_EINVAL or ENGRAM_EIO. */
int image_write_tile_fig(const char *path, const image_tiles *t);

#endif
