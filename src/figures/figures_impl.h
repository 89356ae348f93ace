/* figures_impl.h: helpers shared by the files of src/figures (not installed). */
#ifndef ENGRAM_FIGURES_IMPL_H
#define ENGRAM_FIGURES_IMPL_H

#include <cairo.h>
#include "engram/figure.h"

struct figure {
    cairo_surface_t *surf;
    cairo_t *cr;
    figure_format fmt; /* of a single file */
    char *path;        /* one file, or several separated by FIGURE_PATH_SEP */
    int multi;         /* several files: surf records, figure_close replays into each */
    double width, height;
};

/* matplotlib's "tab10" qualitative palette (the default colour cycle), in [0, 1]. */
extern const double figure_tab10[10][3];

/* An axis: limits and tick step in plotted units (log10 of the value if log). */
typedef struct fig_axis {
    double lo, hi, step;
    int log;
} fig_axis;

/* A linear axis whose limits are the data range [lo, hi] widened by pad (a fraction
 * of the range), with about `target` 1-2-5 ticks of step >= min_step inside it. */
void fig_axis_linear(fig_axis *a, double lo, double hi, int target, double pad,
                     double min_step);
/* A log10 axis over [lo, hi] (log10 units): whole decades. */
void fig_axis_log10(fig_axis *a, double lo, double hi);
/* Tick k * step for k in [*k0, *k1] lie inside the limits. */
void fig_axis_ticks(const fig_axis *a, long *k0, long *k1);
/* Formats the tick value t of axis a (a log axis gives the exponent only). */
void fig_axis_label(const fig_axis *a, double t, char *buf, size_t n);
/* Widest tick label at font size `size`. */
double fig_axis_label_width(const fig_axis *a, double size);
/* The next 1-2-5 step above step. */
double fig_next_step(double step);
/* Draws a tick label of a log axis, "10" with a superscript exponent, anchored like
 * figure_text; returns nothing. Width: fig_log_label_width. */
void fig_log_label(figure *f, double x, double y, long e, double size, double ax, double ay);
double fig_log_label_width(long e, double size);

/* Value normalised to [0, 1] by lo/hi: NaN stays NaN, +-inf clamp, constant -> 0.5. */
double fig_unit(double v, double lo, double hi);

#endif
