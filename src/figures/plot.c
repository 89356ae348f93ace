/* plot.c: line plots with bands, legends and linear or log axes (image.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engram/engram.h"
#include "figures/figures_impl.h"

static const double col_grid[3] = {0.9, 0.9, 0.9};
static const double col_spine[3] = {0.15, 0.15, 0.15};

typedef struct frame {
    double x0, y0, x1, y1; /* data area */
    fig_axis ax, ay;
} frame;

static double fx(const frame *f, double v) {
    return f->x0 + (v - f->ax.lo) / (f->ax.hi - f->ax.lo) * (f->x1 - f->x0);
}

static double fy(const frame *f, double v) {
    return f->y1 - (v - f->ay.lo) / (f->ay.hi - f->ay.lo) * (f->y1 - f->y0);
}

/* A y value in plotted units: log10 for log axes (non-positive -> NaN), NaN if not finite. */
static double ty(const image_plot *p, double v) {
    if (!isfinite(v)) return NAN;
    if (p->log_y) return v > 0.0 ? log10(v) : NAN;
    return v;
}

/* The options of the plot being drawn travel with it. */
typedef struct plot_in {
    const image_plot *p;
    image_plot_opts o;
} plot_in;

static const double *series_x(const plot_in *q, size_t s) {
    return q->o.xs ? q->o.xs + s * q->p->n_points : q->p->x;
}

/* Shaded band of series s, one polygon per run of finite points. */
static void draw_band(figure *g, const frame *f, const plot_in *q, size_t s) {
    const image_plot *p = q->p;
    cairo_t *cr = g->cr;
    size_t P = p->n_points;
    const double *x = series_x(q, s), *lo = p->y_lo + s * P, *hi = p->y_hi + s * P;
    const double *c = figure_tab10[s % 10];
    size_t i = 0;
    while (i < P) {
        while (i < P && !(isfinite(x[i]) && !isnan(ty(p, lo[i])) && !isnan(ty(p, hi[i])))) i++;
        size_t a = i;
        while (i < P && isfinite(x[i]) && !isnan(ty(p, lo[i])) && !isnan(ty(p, hi[i]))) i++;
        if (i - a < 2) continue;
        cairo_move_to(cr, fx(f, x[a]), fy(f, ty(p, lo[a])));
        for (size_t k = a + 1; k < i; k++) cairo_line_to(cr, fx(f, x[k]), fy(f, ty(p, lo[k])));
        for (size_t k = i; k-- > a;) cairo_line_to(cr, fx(f, x[k]), fy(f, ty(p, hi[k])));
        cairo_close_path(cr);
        cairo_set_source_rgba(cr, c[0], c[1], c[2], 0.25);
        cairo_fill(cr);
    }
}

/* Curve of series s: polylines through runs of finite points, a dot for a lone point. */
static void draw_curve(figure *g, const frame *f, const plot_in *q, size_t s, double lw) {
    const image_plot *p = q->p;
    cairo_t *cr = g->cr;
    size_t P = p->n_points;
    const double *x = series_x(q, s), *y = p->y + s * P;
    const double *c = figure_tab10[s % 10];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, lw);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    size_t i = 0;
    while (i < P) {
        while (i < P && !(isfinite(x[i]) && !isnan(ty(p, y[i])))) i++;
        size_t a = i;
        while (i < P && isfinite(x[i]) && !isnan(ty(p, y[i]))) i++;
        if (i == a) continue;
        if (i - a == 1) {
            cairo_new_sub_path(cr);
            cairo_arc(cr, fx(f, x[a]), fy(f, ty(p, y[a])), 1.6 * lw, 0, 2 * M_PI);
            cairo_fill(cr);
            continue;
        }
        cairo_move_to(cr, fx(f, x[a]), fy(f, ty(p, y[a])));
        for (size_t k = a + 1; k < i; k++) cairo_line_to(cr, fx(f, x[k]), fy(f, ty(p, y[k])));
        cairo_stroke(cr);
    }
}

/* Legend in the corner of the data area holding the fewest data points. */
static void draw_legend(figure *g, const frame *f, const plot_in *q, double sc) {
    const image_plot *p = q->p;
    size_t n = 0;
    double wmax = 0, ts = 10.0 * sc;
    for (size_t s = 0; p->names && s < p->n_series; s++)
        if (p->names[s]) {
            n++;
            wmax = fmax(wmax, figure_text_width(p->names[s], ts, 0));
        }
    if (n == 0) return;
    double line_h = 1.45 * ts, sw = 22.0 * sc, pad = 6.0 * sc;
    double bw = pad + sw + 6.0 * sc + wmax + pad, bh = 2 * pad + (double)n * line_h - 0.3 * ts;
    double maxw = f->x1 - f->x0 - 8 * sc;
    if (bw > maxw) bw = maxw;
    double in = 8.0 * sc;
    double cand[4][2] = {{f->x1 - in - bw, f->y0 + in},
                         {f->x0 + in, f->y0 + in},
                         {f->x1 - in - bw, f->y1 - in - bh},
                         {f->x0 + in, f->y1 - in - bh}};
    int best = 0;
    size_t best_n = (size_t)-1;
    for (int c = 0; c < 4; c++) {
        size_t k = 0;
        for (size_t s = 0; s < p->n_series; s++) {
            const double *x = series_x(q, s), *y = p->y + s * p->n_points;
            for (size_t i = 0; i < p->n_points; i++) {
                double X = fx(f, x[i]), Y = fy(f, ty(p, y[i]));
                if (X >= cand[c][0] && X <= cand[c][0] + bw && Y >= cand[c][1] &&
                    Y <= cand[c][1] + bh)
                    k++;
            }
        }
        if (k < best_n) {
            best_n = k;
            best = c;
        }
    }
    double bx = cand[best][0], by = cand[best][1];
    cairo_t *cr = g->cr;
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
    cairo_fill(cr);
    static const double frame_c[3] = {0.8, 0.8, 0.8};
    figure_rect(g, bx, by, bw, bh, NULL, frame_c, 0.8 * sc);
    size_t row = 0;
    char fit[512];
    for (size_t s = 0; s < p->n_series; s++) {
        if (!p->names[s]) continue;
        const double *c = figure_tab10[s % 10];
        double cy = by + pad + (double)row * line_h + 0.5 * ts;
        double lx = bx + pad;
        if (p->y_lo && p->y_hi) {
            cairo_rectangle(cr, lx, cy - 0.45 * ts, sw, 0.9 * ts);
            cairo_set_source_rgba(cr, c[0], c[1], c[2], 0.25);
            cairo_fill(cr);
        }
        figure_line(g, lx, cy, lx + sw, cy, 1.8 * sc, c, 1.0);
        double z = figure_fit_text(p->names[s], ts, 0.7 * ts, bw - 2 * pad - sw - 6 * sc, fit,
                                   sizeof fit);
        figure_text(g, lx + sw + 6.0 * sc, cy, fit, z, 0, 0.0, 0.5, FIGURE_BLACK);
        row++;
    }
}

/* Writes a line plot; see image.h. Returns ENGRAM_OK, ENGRAM_EINVAL or ENGRAM_EIO. */
int image_write_plot(const char *path, const image_plot *p) {
    return image_write_plot_opts(path, p, NULL);
}

/* Writes a line plot with options; see image.h. */
int image_write_plot_opts(const char *path, const image_plot *p, const image_plot_opts *opts) {
    if (!path || !p || !p->x || p->n_points == 0 || (p->n_series > 0 && !p->y))
        return engram_fail(ENGRAM_EINVAL, "image_write_plot: missing x/y data or path");
    if ((p->y_lo == NULL) != (p->y_hi == NULL))
        return engram_fail(ENGRAM_EINVAL, "image_write_plot: give both y_lo and y_hi or neither");
    double W = p->width ? (double)p->width : 640, H = p->height ? (double)p->height : 400;
    if (W > 20000 || H > 20000)
        return engram_fail(ENGRAM_EINVAL, "image_write_plot: size %.0f x %.0f above 20000", W, H);
    if (W < 480) W = 480;
    if (H < 300) H = 300;
    plot_in qq = {p, {0}};
    if (opts) qq.o = *opts;
    const plot_in *q = &qq;
    const image_plot_opts *o = &qq.o;
    size_t S = p->n_series, P = p->n_points;
    double sc = fmin(W / 640.0, H / 400.0);
    sc = sc < 1 ? 1 : sc > 2.5 ? 2.5 : sc;
    double ts = 10.5 * sc, ls = 12.0 * sc;

    /* Data ranges in plotted units. */
    double xlo = NAN, xhi = NAN, ylo = NAN, yhi = NAN;
    const double *arrs[3] = {p->y, p->y_lo, p->y_hi};
    for (size_t s = 0; s < S; s++) {
        const double *x = series_x(q, s);
        for (size_t i = 0; i < P; i++) {
            if (!isfinite(x[i])) continue;
            for (int a = 0; a < 3; a++) {
                if (!arrs[a]) continue;
                double v = ty(p, arrs[a][s * P + i]);
                if (isnan(v)) continue;
                if (isnan(xlo) || x[i] < xlo) xlo = x[i];
                if (isnan(xhi) || x[i] > xhi) xhi = x[i];
                if (isnan(ylo) || v < ylo) ylo = v;
                if (isnan(yhi) || v > yhi) yhi = v;
            }
        }
    }
    if (isnan(xlo)) figure_range(p->x, P, &xlo, &xhi);

    figure_title tl;
    double top = figure_title_layout(p->title, o->subtitle, W - 20 * sc, sc, &tl);
    top = top > 0 ? top + 6 * sc : 14 * sc;
    int has_xl = p->x_label && p->x_label[0], has_yl = p->y_label && p->y_label[0];
    double bottom = 5 * sc + 4 * sc + 1.2 * ts + (has_xl ? 6 * sc + 1.2 * ls : 0) + 8 * sc;
    frame f;
    double ph = H - top - bottom;
    if (p->log_y)
        fig_axis_log10(&f.ay, ylo, yhi);
    else if (o->fix_y && o->y_lim[1] > o->y_lim[0])
        fig_axis_linear(&f.ay, o->y_lim[0], o->y_lim[1], (int)fmax(3, fmin(9, ph / (45 * sc))),
                        0.0, 0.0);
    else
        fig_axis_linear(&f.ay, ylo, yhi, (int)fmax(3, fmin(9, ph / (45 * sc))), 0.05, 0.0);
    double left = 8 * sc + (has_yl ? 1.2 * ls + 6 * sc : 0) + fig_axis_label_width(&f.ay, ts) +
                  4 * sc + 5 * sc;
    double right = 14 * sc;
    if (o->fix_x && o->x_lim[1] > o->x_lim[0])
        fig_axis_linear(&f.ax, o->x_lim[0], o->x_lim[1], 5, 0.0, 0.0);
    else
        fig_axis_linear(&f.ax, xlo, xhi, 5, (xhi > xlo ? 0.0 : 0.05), 0.0);
    double pw = W - left - right;
    int target = (int)fmax(3, fmin(10, pw / (90 * sc)));
    fig_axis ax0 = f.ax;
    fig_axis_linear(&f.ax, ax0.lo, ax0.hi, target, 0.0, 0.0);
    double half = fig_axis_label_width(&f.ax, ts) / 2 + 4 * sc;
    if (half > right) right = half;
    pw = W - left - right;
    if (pw < 60 || ph < 60)
        return engram_fail(ENGRAM_EINVAL, "image_write_plot: %.0f x %.0f leaves no room to plot", W,
                           H);
    for (int it = 0; it < 12; it++) { /* no colliding x tick labels */
        double spacing = pw * f.ax.step / (f.ax.hi - f.ax.lo);
        if (fig_axis_label_width(&f.ax, ts) + 12.0 * sc <= spacing) break;
        f.ax.step = fig_next_step(f.ax.step);
    }
    f.x0 = left;
    f.x1 = left + pw;
    f.y0 = top;
    f.y1 = top + ph;
    if (o->equal_aspect && !p->log_y) {
        double ux = pw / (f.ax.hi - f.ax.lo), uy = ph / (f.ay.hi - f.ay.lo);
        if (ux > uy) {
            double w2 = (f.ax.hi - f.ax.lo) * uy;
            f.x0 = left + (pw - w2) / 2;
            f.x1 = f.x0 + w2;
        } else {
            double h2 = (f.ay.hi - f.ay.lo) * ux;
            f.y0 = top + (ph - h2) / 2;
            f.y1 = f.y0 + h2;
        }
    }

    figure *g = figure_open(path, W, H);
    if (!g) return ENGRAM_EIO;
    cairo_t *cr = g->cr;
    long k0, k1;
    char buf[64];

    /* Grid lines at the major ticks. */
    fig_axis_ticks(&f.ay, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        double y = fy(&f, (double)k * f.ay.step);
        figure_line(g, f.x0, y, f.x1, y, 0.8 * sc, col_grid, 1.0);
    }
    fig_axis_ticks(&f.ax, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        double x = fx(&f, (double)k * f.ax.step);
        figure_line(g, x, f.y0, x, f.y1, 0.8 * sc, col_grid, 1.0);
    }

    /* Bands, then curves on top, clipped to the data area. */
    cairo_save(cr);
    cairo_rectangle(cr, f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
    cairo_clip(cr);
    if (p->y_lo)
        for (size_t s = 0; s < S; s++) draw_band(g, &f, q, s);
    for (size_t s = 0; s < S; s++) draw_curve(g, &f, q, s, 1.7 * sc);
    cairo_restore(cr);

    /* Frame, ticks and tick labels. */
    figure_rect(g, f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0, NULL, col_spine, 0.8 * sc);
    fig_axis_ticks(&f.ax, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        double t = (double)k * f.ax.step, x = fx(&f, t);
        figure_line(g, x, f.y1, x, f.y1 + 4 * sc, 0.8 * sc, col_spine, 1.0);
        fig_axis_label(&f.ax, t, buf, sizeof buf);
        figure_text(g, x, f.y1 + 6 * sc, buf, ts, 0, 0.5, 0.0, FIGURE_BLACK);
    }
    fig_axis_ticks(&f.ay, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        double t = (double)k * f.ay.step, y = fy(&f, t);
        figure_line(g, f.x0 - 4 * sc, y, f.x0, y, 0.8 * sc, col_spine, 1.0);
        if (f.ay.log) {
            fig_log_label(g, f.x0 - 6 * sc, y, lround(t), ts, 1.0, 0.5);
        } else {
            fig_axis_label(&f.ay, t, buf, sizeof buf);
            figure_text(g, f.x0 - 6 * sc, y, buf, ts, 0, 1.0, 0.5, FIGURE_BLACK);
        }
    }
    if (f.ay.log && f.ay.hi - f.ay.lo <= 6.0) { /* minor ticks at 2..9 x 10^e */
        for (double e = f.ay.lo; e < f.ay.hi; e += 1.0)
            for (int m = 2; m <= 9; m++) {
                double y = fy(&f, e + log10((double)m));
                figure_line(g, f.x0 - 2 * sc, y, f.x0, y, 0.6 * sc, col_spine, 1.0);
            }
    }

    /* Title, axis labels, legend. */
    double tw = 0;
    for (int k = 0; k < tl.n_lines; k++) tw = fmax(tw, figure_text_width(tl.line[k], tl.size, 1));
    tw = fmax(tw, figure_text_width(tl.sub, tl.sub_size, 0));
    double cx = (f.x0 + f.x1) / 2;
    if (cx + tw / 2 > W - 6 * sc) cx = W - 6 * sc - tw / 2;
    if (cx - tw / 2 < 6 * sc) cx = 6 * sc + tw / 2;
    figure_title_draw(g, &tl, cx, 2 * sc);
    char fit[512];
    if (has_xl) {
        double z = figure_fit_text(p->x_label, ls, 8 * sc, W - 12 * sc, fit, sizeof fit);
        figure_text(g, (f.x0 + f.x1) / 2, f.y1 + 6 * sc + 1.2 * ts + 6 * sc, fit, z, 0, 0.5, 0.0,
                    FIGURE_BLACK);
    }
    if (has_yl) {
        double z = figure_fit_text(p->y_label, ls, 8 * sc, H - 12 * sc, fit, sizeof fit);
        figure_text_up(g, 8 * sc + 0.6 * ls, (f.y0 + f.y1) / 2, fit, z, FIGURE_BLACK);
    }
    draw_legend(g, &f, q, sc);
    return figure_close(g);
}
