/* figure.h: the drawing canvas under engram's figures (cairo).
 *
 * A figure is a cairo surface of width x height units (pixels for PNG, points for SVG
 * and PDF) chosen by the file extension of its path: ".svg" gives an SVG surface,
 * ".pdf" a PDF surface, anything else (".png") an ARGB32 image surface that
 * figure_close writes as 8-bit RGB PNG through image_write_png (libpng). Text is DejaVu
 * Sans through fontconfig (cairo's toy font API) with metric hinting off, so text is
 * laid out identically in every format, and the same input gives the same PNG bytes.
 * The high-level figures (line plots, heatmaps with colour bars, tiles, rasters) are in
 * image.h; this header is for figures with their own layout (gridfig.c, trajectories).
 *
 * Coordinates: x to the right, y downwards, origin at the top-left corner. Colours are
 * (r, g, b) in [0, 1].
 *
 * Example:
 *     figure *f = figure_open("a.svg", 480, 320);
 *     if (!f) return ENGRAM_EIO;        // engram_error() says why
 *     figure_text(f, 240, 20, "title", 16, 1, 0.5, 0.0, FIGURE_BLACK);
 *     int st = figure_close(f);         // writes the file, frees f
 *
 * Ownership: figure_open allocates; figure_close writes and frees (always, also on
 * failure). Drawing functions never fail (cairo records errors; figure_close reports
 * them).
 */
#ifndef ENGRAM_FIGURE_H
#define ENGRAM_FIGURE_H

#include <stddef.h>
#include "engram/image.h"

typedef enum { FIGURE_PNG, FIGURE_SVG, FIGURE_PDF } figure_format;

typedef struct figure figure;

extern const double FIGURE_BLACK[3];
extern const double FIGURE_GREY[3];

/* Format of path by extension (".svg", ".pdf" case-insensitive; anything else PNG). */
figure_format figure_format_of(const char *path);

/* Separates the files of one drawing in figure_open's path: "a.png\na.svg" draws once
 * and writes both (cairo recording surface, replayed into each file at figure_close).
 * Run directories cannot hold a newline (run_dir_check refuses it). */
#define FIGURE_PATH_SEP '\n'

/* Checks a figure format list such as "png", "svg" or "png,svg" (png, svg, pdf, each at
 * most once, comma-separated, no blanks); sets *mask (bit 0 png, 1 svg, 2 pdf) if mask
 * is not NULL. Returns ENGRAM_OK or ENGRAM_EINVAL with a one-line engram_error(). */
int figure_formats_parse(const char *list, unsigned *mask);

/* Writes into buf (n bytes) the figure_open path that writes path once per format of the
 * list `formats`, path's extension replaced by each: ("d/x.png", "png,svg") gives
 * "d/x.png\nd/x.svg". Returns ENGRAM_OK, or ENGRAM_EINVAL (bad list, buf too small). */
int figure_paths(char *buf, size_t n, const char *path, const char *formats);

/* Opens a width x height figure writing to path (format by extension; several files
 * separated by FIGURE_PATH_SEP), white
 * background. Returns NULL with engram_error() set if a size is outside 16..20000 or
 * cairo cannot create the surface (e.g. an SVG/PDF path that cannot be opened). */
figure *figure_open(const char *path, double width, double height);

/* Finishes the figure: writes the PNG (or completes the SVG/PDF file) and frees f.
 * Returns ENGRAM_OK, ENGRAM_EIO (with the path in engram_error()) or ENGRAM_ENOMEM. */
int figure_close(figure *f);

/* Width of text s (one line) at font size `size` (bold if bold), in figure units. */
double figure_text_width(const char *s, double size, int bold);

/* Draws one line of text: (ax, ay) in [0, 1] place the anchor (x, y) on the text box
 * (0, 0 = top-left; 0.5, 0.5 = centre; 1, 1 = bottom-right). */
void figure_text(figure *f, double x, double y, const char *s, double size, int bold,
                 double ax, double ay, const double rgb[3]);

/* Draws text rotated 90 degrees counter-clockwise (reading upwards), centred on (x, y). */
void figure_text_up(figure *f, double x, double y, const char *s, double size,
                    const double rgb[3]);

/* Fits one line of text into max_w: copies s into out (n bytes), returns the largest
 * size in [min_size, size] at which it fits, and if even min_size is too wide, cuts it
 * and appends "..." so that it fits. */
double figure_fit_text(const char *s, double size, double min_size, double max_w, char *out,
                       size_t n);

/* A figure title with an optional subtitle, fitted to a width: the title shrinks from
 * 16 * scale down to 11 * scale, then wraps onto two lines at a space, then is cut. */
typedef struct figure_title {
    char line[2][528];
    int n_lines;
    char sub[512];
    double size, sub_size;
    double height; /* total height including padding; 0 if no title and no subtitle */
} figure_title;

/* Lays out title/subtitle (either may be NULL) into max_w; returns L->height. */
double figure_title_layout(const char *title, const char *subtitle, double max_w,
                           double scale, figure_title *L);

/* Draws a laid-out title centred on cx with its top at y. */
void figure_title_draw(figure *f, const figure_title *L, double cx, double y);

/* Draws the map z (rows, cols) into the w x h box at (x, y): element (r, c) at row r
 * from the top, colours by cmap over [lo, hi] (a constant range gives the middle
 * colour), NaN cells light grey, cells outside the disc inscribed in the map white if
 * disc, and "no data" written in the centre when no value is finite. */
void figure_map(figure *f, double x, double y, double w, double h, const double *z,
                size_t rows, size_t cols, image_cmap cmap, double lo, double hi, int disc);

/* Finite minimum and maximum of z (n,); returns how many values are finite (0: lo and
 * hi are NaN). */
size_t figure_range(const double *z, size_t n, double *lo, double *hi);

/* Width needed right of a map for a colour bar of bar width bw with tick labels of
 * [lo, hi] at text scale `scale` and an optional rotated label. */
double figure_colorbar_width(double lo, double hi, const char *label, double scale);

/* Draws a vertical colour bar in the box (x, y, 14 scale, h): cmap from lo (bottom) to
 * hi (top), ticks at 1-2-5 values plus labelled ends, and label (may be NULL) rotated
 * along its right side. With lo or hi NaN it reads "no data". */
void figure_colorbar(figure *f, double x, double y, double h, image_cmap cmap, double lo,
                     double hi, const char *label, double scale);

/* Stroked line from (x0, y0) to (x1, y1), width lw, colour rgb at opacity alpha. */
void figure_line(figure *f, double x0, double y0, double x1, double y1, double lw,
                 const double rgb[3], double alpha);

/* Circle of radius r about (cx, cy): outline of width lw (lw <= 0: filled). */
void figure_circle(figure *f, double cx, double cy, double r, double lw, const double rgb[3]);

/* Rectangle: filled with fill (may be NULL), outlined with stroke (may be NULL). */
void figure_rect(figure *f, double x, double y, double w, double h, const double fill[3],
                 const double stroke[3], double lw);

#endif
