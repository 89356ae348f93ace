/* maps.c: heatmaps, rasters and tiled maps with colour bars (image.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engram/engram.h"
#include "figures/figures_impl.h"

#define MIN_FIG_W 480.0
#define MAP_MAX_W 1200
#define MAP_MAX_H 800

static const double col_spine[3] = {0.15, 0.15, 0.15};

/* Index ticks along an axis of n cells drawn over len units: returns the axis. */
static void index_axis(fig_axis *a, size_t n, double len, double label_w) {
    int target = (int)fmax(2, fmin(10, len / fmax(40.0, 2.0 * label_w)));
    fig_axis_linear(a, 0.0, n > 1 ? (double)(n - 1) : 1.0, target, 0.0, 1.0);
    a->lo = 0.0;
    a->hi = n > 1 ? (double)(n - 1) : 0.0;
}

int image_write_map(const char *path, const image_map *m) {
    if (!path || !m || !m->z || m->rows == 0 || m->cols == 0)
        return engram_fail(ENGRAM_EINVAL, "image_write_map: empty map or no path");
    size_t rows = m->rows, cols = m->cols;
    if (rows > 32767 || cols > 32767)
        return engram_fail(ENGRAM_EINVAL, "image_write_map: %zu x %zu map is too large", rows, cols);
    double PW, PH;
    if (m->cell) {
        if ((double)m->cell * (double)cols > 16000 || (double)m->cell * (double)rows > 16000)
            return engram_fail(ENGRAM_EINVAL, "image_write_map: %zu x %zu at %zu px per cell is too large",
                               rows, cols, m->cell);
        PW = (double)(cols * m->cell);
        PH = (double)(rows * m->cell);
    } else {
        size_t sx = cols <= 320 ? 640 / cols : 1, sy = rows <= 160 ? 320 / rows : 1;
        if (sx > 16) sx = 16;
        if (sy > 16) sy = 16;
        if (rows * sy < 160) sy = (160 + rows - 1) / rows;
        if (cols * sx < 240) sx = (240 + cols - 1) / cols;
        PW = (double)(cols * sx > MAP_MAX_W ? MAP_MAX_W : cols * sx);
        PH = (double)(rows * sy > MAP_MAX_H ? MAP_MAX_H : rows * sy);
    }
    const double sc = 1.0, ts = 10.5, ls = 12.0;
    double lo, hi;
    if (m->fix_range && m->v_hi >= m->v_lo) {
        lo = m->v_lo;
        hi = m->v_hi;
        double a, b;
        if (figure_range(m->z, rows * cols, &a, &b) == 0) lo = hi = NAN;
    } else {
        figure_range(m->z, rows * cols, &lo, &hi);
    }
    int has_xl = m->x_label && m->x_label[0], has_yl = m->y_label && m->y_label[0];
    int ticks = has_xl || has_yl;
    fig_axis ax, ay;
    char buf[64];
    snprintf(buf, sizeof buf, "%zu", cols);
    index_axis(&ax, cols, PW, figure_text_width(buf, ts, 0));
    index_axis(&ay, rows, PH, 1.5 * ts);
    double cbh = PH < 120 ? 120 : PH;
    double left = 10 + (has_yl ? 1.2 * ls + 6 : 0) + (ticks ? fig_axis_label_width(&ay, ts) + 9 : 0);
    double right = 14 + figure_colorbar_width(lo, hi, m->cbar_label, sc) + 6;
    double bottom = ticks ? 9 + 1.2 * ts + (has_xl ? 6 + 1.2 * ls : 0) + 8 : 12;
    double W = left + PW + right;
    double extra = W < MIN_FIG_W ? (MIN_FIG_W - W) / 2 : 0;
    W += 2 * extra;
    left += extra;
    figure_title tl;
    double top = figure_title_layout(m->title, m->subtitle, W - 16, sc, &tl);
    top = top > 0 ? top + 4 : 12;
    double H = top + cbh + bottom;

    figure *g = figure_open(path, W, H);
    if (!g) return ENGRAM_EIO;
    double x0 = left, y0 = top;
    figure_map(g, x0, y0, PW, PH, m->z, rows, cols, m->cmap, lo, hi, 0);
    figure_rect(g, x0, y0, PW, PH, NULL, col_spine, 0.8);
    if (ticks) {
        long k0, k1;
        fig_axis_ticks(&ax, &k0, &k1);
        for (long k = k0; k <= k1; k++) {
            double c = (double)k * ax.step, x = x0 + (c + 0.5) * PW / (double)cols;
            figure_line(g, x, y0 + PH, x, y0 + PH + 4, 0.8, col_spine, 1.0);
            fig_axis_label(&ax, c, buf, sizeof buf);
            figure_text(g, x, y0 + PH + 6, buf, ts, 0, 0.5, 0.0, FIGURE_BLACK);
        }
        fig_axis_ticks(&ay, &k0, &k1);
        for (long k = k0; k <= k1; k++) {
            double r = (double)k * ay.step, y = y0 + (r + 0.5) * PH / (double)rows;
            figure_line(g, x0 - 4, y, x0, y, 0.8, col_spine, 1.0);
            fig_axis_label(&ay, r, buf, sizeof buf);
            figure_text(g, x0 - 6, y, buf, ts, 0, 1.0, 0.5, FIGURE_BLACK);
        }
    }
    figure_colorbar(g, x0 + PW + 14, y0, cbh, m->cmap, lo, hi, m->cbar_label, sc);
    char fit[512];
    if (has_xl) {
        double z = figure_fit_text(m->x_label, ls, 8, W - 12, fit, sizeof fit);
        double cx = x0 + PW / 2, tw = figure_text_width(fit, z, 0);
        if (cx - tw / 2 < 6) cx = 6 + tw / 2;
        if (cx + tw / 2 > W - 6) cx = W - 6 - tw / 2;
        figure_text(g, cx, y0 + PH + 9 + 1.2 * ts + 4, fit, z, 0, 0.5, 0.0, FIGURE_BLACK);
    }
    if (has_yl) {
        double z = figure_fit_text(m->y_label, ls, 8, H - 12, fit, sizeof fit);
        double cy = y0 + PH / 2, tw = figure_text_width(fit, z, 0);
        if (cy - tw / 2 < 6) cy = 6 + tw / 2;
        if (cy + tw / 2 > H - 6) cy = H - 6 - tw / 2;
        figure_text_up(g, extra + 10 + 0.6 * ls, cy, fit, z, FIGURE_BLACK);
    }
    figure_title_draw(g, &tl, W / 2, 2);
    return figure_close(g);
}

int image_write_raster(const char *path, const double *z, size_t rows, size_t cols,
                       image_cmap cmap, const char *title, const char *x_label,
                       const char *y_label) {
    image_map m = {.title = title, .x_label = x_label ? x_label : "column",
                   .y_label = y_label ? y_label : "row", .z = z, .rows = rows, .cols = cols,
                   .cmap = cmap, .cbar_label = "value"};
    return image_write_map(path, &m);
}

int image_write_heatmap(const char *path, const double *map, size_t rows, size_t cols,
                        image_cmap cmap, size_t scale) {
    if (scale == 0) return engram_fail(ENGRAM_EINVAL, "image_write_heatmap: zero scale");
    image_map m = {.z = map, .rows = rows, .cols = cols, .cmap = cmap, .cell = scale};
    return image_write_map(path, &m);
}

int image_write_tile_fig(const char *path, const image_tiles *t) {
    if (!path || !t || !t->maps || t->n == 0 || t->rows == 0 || t->cols == 0)
        return engram_fail(ENGRAM_EINVAL, "image_write_tiles: empty input or zero size");
    size_t n = t->n, rows = t->rows, cols = t->cols, per_row = t->per_row ? t->per_row : 8;
    size_t big = rows > cols ? rows : cols;
    size_t scale = t->scale ? t->scale : (64 + big - 1) / big;
    if (big > 4000 || (double)scale * (double)big > 4000)
        return engram_fail(ENGRAM_EINVAL, "image_write_tiles: tiles of %zu x %zu at %zu px are too large",
                           rows, cols, scale);
    size_t nc = per_row < n ? per_row : n, nr = (n + per_row - 1) / per_row;
    double tw = (double)(cols * scale), th = (double)(rows * scale);
    int any_title = 0;
    for (size_t k = 0; t->titles && k < n; k++)
        if (t->titles[k] && t->titles[k][0]) any_title = 1;
    const double ls = 12.0, tts = fmin(10.5, fmax(7.0, tw / 4.0));
    double band = any_title ? 1.35 * tts + 2 : 0, gap = 8;
    double GW = (double)nc * tw + (double)(nc - 1) * gap;
    double GH = (double)nr * (band + th) + (double)(nr - 1) * gap;
    if (GW * GH > 2.5e8) return engram_fail(ENGRAM_EINVAL, "image_write_tiles: %zu tiles are too large", n);
    int has_xl = t->x_label && t->x_label[0], has_yl = t->y_label && t->y_label[0];
    double lo = 0.0, hi = 1.0;
    if (t->shared_range) figure_range(t->maps, n * rows * cols, &lo, &hi);
    const char *cbl = t->cbar_label ? t->cbar_label
                                    : (t->shared_range ? NULL : "tile min (0) to tile max (1)");
    double cbh = GH < 120 ? 120 : GH;
    double left = 10 + (has_yl ? 1.2 * ls + 6 : 0);
    double right = 14 + figure_colorbar_width(lo, hi, cbl, 1.0) + 6;
    double W = left + GW + right;
    double extra = W < MIN_FIG_W ? (MIN_FIG_W - W) / 2 : 0;
    W += 2 * extra;
    left += extra;
    figure_title tl;
    double top = figure_title_layout(t->title, t->subtitle, W - 16, 1.0, &tl);
    top = top > 0 ? top + 4 : 10;
    double H = top + cbh + (has_xl ? 6 + 1.3 * ls : 0) + 10;
    figure *g = figure_open(path, W, H);
    if (!g) return ENGRAM_EIO;
    char fit[256];
    for (size_t k = 0; k < n; k++) {
        double x = left + (double)(k % per_row) * (tw + gap);
        double y = top + (double)(k / per_row) * (band + th + gap);
        if (any_title && t->titles[k] && t->titles[k][0]) {
            double z = figure_fit_text(t->titles[k], tts, 6.0, tw, fit, sizeof fit);
            figure_text(g, x + tw / 2, y + band - 2, fit, z, 0, 0.5, 1.0, FIGURE_BLACK);
        }
        const double *mk = t->maps + k * rows * cols;
        double a = lo, b = hi;
        if (!t->shared_range) figure_range(mk, rows * cols, &a, &b);
        figure_map(g, x, y + band, tw, th, mk, rows, cols, t->cmap, a, b, 0);
        figure_rect(g, x, y + band, tw, th, NULL, col_spine, 0.6);
    }
    figure_colorbar(g, left + GW + 14, top, cbh, t->cmap, lo, hi, cbl, 1.0);
    if (has_xl) {
        double z = figure_fit_text(t->x_label, ls, 8, W - 12, fit, sizeof fit);
        double cx = left + GW / 2, w = figure_text_width(fit, z, 0);
        if (cx - w / 2 < 6) cx = 6 + w / 2;
        if (cx + w / 2 > W - 6) cx = W - 6 - w / 2;
        figure_text(g, cx, top + cbh + 6, fit, z, 0, 0.5, 0.0, FIGURE_BLACK);
    }
    if (has_yl) {
        double z = figure_fit_text(t->y_label, ls, 8, H - 12, fit, sizeof fit);
        figure_text_up(g, extra + 10 + 0.6 * ls, top + GH / 2, fit, z, FIGURE_BLACK);
    }
    figure_title_draw(g, &tl, W / 2, 2);
    return figure_close(g);
}

int image_write_tiles(const char *path, const double *maps, size_t n, size_t rows,
                      size_t cols, size_t per_row, image_cmap cmap, size_t scale,
                      const char *const *titles) {
    if (per_row == 0 || scale == 0)
        return engram_fail(ENGRAM_EINVAL, "image_write_tiles: zero tiles per row or zero scale");
    image_tiles t = {.maps = maps, .n = n, .rows = rows, .cols = cols, .per_row = per_row,
                     .cmap = cmap, .scale = scale, .titles = titles};
    return image_write_tile_fig(path, &t);
}
