/* gridfig.c: the rate-map + autocorrelogram figure of grid-cell analyses (gridscore.h),
 * laid out like DeepMind's utils.get_scores_and_plot (research note §5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "engram/engram.h"
#include "engram/gridscore.h"
#include "engram/figure.h"
#include "engram/image.h"

#define FIG_MARGIN 10.0 /* around the figure */
#define FIG_GAP 6.0     /* between tiles */
#define FIG_TS 9.0      /* tile-title font size */

static const double RING[3] = {0.0, 0.0, 0.0};
static const double SPINE[3] = {0.3, 0.3, 0.3};

void gridfig_opts_default(gridfig_opts *o) {
    o->cmap = IMAGE_CMAP_JET;
    o->per_row = 16;
    o->scale = 4;
    o->max_units = 0;
    o->sac = 1;
}

/* Draws the SAC (side, side) in the px x px box at (x0, y0), masked to the disc of
 * radius (side-1)/2 + 1 bins about the centre (white outside; DeepMind's circle_mask),
 * and, if inner/outer > 0, those ring radii (in bins) as black circles. */
static void draw_sac(figure *f, double x0, double y0, double px, const double *sac,
                     size_t side, image_cmap cmap, double inner, double outer) {
    double lo, hi;
    if (figure_range(sac, side * side, &lo, &hi) == 0 || !(hi > lo)) {
        /* An empty or constant SAC (e.g. of an all-NaN rate map) carries no pattern. */
        static const double none = NAN;
        figure_map(f, x0, y0, px, px, &none, 1, 1, cmap, lo, hi, 0);
        return;
    }
    figure_map(f, x0, y0, px, px, sac, side, side, cmap, lo, hi, 1);
    double bin = px / (double)side, c = px / 2;
    if (inner > 0) figure_circle(f, x0 + c, y0 + c, inner * bin, 1.2, RING);
    if (outer > 0) figure_circle(f, x0 + c, y0 + c, outer * bin, 1.2, RING);
}

/* Formats a tile title "unit (score)" or "unit". */
static void tile_title(char *buf, size_t len, size_t unit, const gridscore_result *r) {
    if (!r) snprintf(buf, len, "%zu", unit);
    else if (isnan(r->score60)) snprintf(buf, len, "%zu (nan)", unit);
    else snprintf(buf, len, "%zu (%.2f)", unit, r->score60);
}

/* One fitted tile title centred above the tile at (x, y) of width w. */
static void draw_tile_title(figure *f, double x, double y, double w, const char *t) {
    char fit[64];
    double z = figure_fit_text(t, FIG_TS, 6.0, w, fit, sizeof fit);
    figure_text(f, x + w / 2, y, fit, z, 0, 0.5, 0.0, FIGURE_BLACK);
}

int gridfig_write(const char *png_path, const char *csv_path, const double *maps, size_t units,
                  const gridscorer *gs, const gridscore_result *res, const gridfig_opts *opts) {
    gridfig_opts o;
    if (opts) o = *opts;
    else gridfig_opts_default(&o);
    if (o.per_row == 0) o.per_row = 16;
    if (o.scale == 0) o.scale = 4;
    if (units == 0) return engram_fail(ENGRAM_EINVAL, "figure: no units to draw");
    const size_t n = gs->nbins, side = gs->side, nn = n * n, SS = side * side;
    int st = ENGRAM_OK;
    gridscore_result *own = NULL;
    double *sacs = malloc(units * SS * sizeof *sacs);
    size_t *order = malloc(units * sizeof *order);
    gridscore_result *sorted = malloc(units * sizeof *sorted);
    figure *im = NULL;
    if (!sacs || !order || !sorted) {
        st = engram_fail(ENGRAM_ENOMEM, "figure: out of memory");
        goto done;
    }
    if (!res) {
        own = malloc(units * sizeof *own);
        if (!own) { st = engram_fail(ENGRAM_ENOMEM, "figure: out of memory"); goto done; }
        if ((st = gridscore_maps(gs, maps, units, own, sacs)) != ENGRAM_OK) goto done;
        res = own;
    } else {
        /* Only the SACs are needed. */
        for (size_t u = 0; u < units; u++)
            if ((st = gridscore_sac(maps + u * nn, n, gs->min_overlap, sacs + u * SS)) != ENGRAM_OK)
                goto done;
    }
    gridscore_sort_units(res, units, order);
    size_t K = o.max_units && o.max_units < units ? o.max_units : units;
    for (size_t k = 0; k < K; k++) sorted[k] = res[order[k]];

    /* Geometry: square tiles of at least 48 px, a fitted title band above each. */
    double tile = (double)(n * o.scale);
    if (tile < 48) tile = 48;
    const size_t cols = K < o.per_row ? K : o.per_row;
    const size_t rows = (K + o.per_row - 1) / o.per_row;
    const double band = 1.3 * FIG_TS + 2, cell_w = tile + FIG_GAP, cell_h = band + tile + FIG_GAP;
    const size_t blocks = o.sac ? 2 : 1;
    const char *head1 = "Rate maps sorted by 60-degree grid score: unit (score60)";
    const char *head2 = "Spatial autocorrelograms, best ring in black";
    double GW = (double)cols * cell_w - FIG_GAP, GH = (double)rows * cell_h;
    double cbw = figure_colorbar_width(0, 1, "tile min (0) to max (1)", 1.0);
    double W = 2 * FIG_MARGIN + GW + 12 + cbw;
    if (W < 480) W = 480;
    figure_title t1, t2;
    double h1 = figure_title_layout(head1, NULL, W - 2 * FIG_MARGIN, 0.9, &t1);
    double h2 = o.sac ? figure_title_layout(head2, NULL, W - 2 * FIG_MARGIN, 0.9, &t2) : 0;
    double H = 2 * FIG_MARGIN + h1 + h2 + (double)blocks * GH;
    if (H < 2 * FIG_MARGIN + h1 + 130) H = 2 * FIG_MARGIN + h1 + 130;
    im = figure_open(png_path, W, H);
    if (!im) { st = ENGRAM_EIO; goto done; }
    char title[64];
    double y = FIG_MARGIN;
    figure_title_draw(im, &t1, FIG_MARGIN + GW / 2 > W / 2 ? W / 2 : W / 2, y - 6);
    y += h1;
    figure_colorbar(im, FIG_MARGIN + GW + 12, y + band, GH - band - FIG_GAP < 110 ? 110 : GH - band - FIG_GAP,
                    o.cmap, 0, 1, "tile min (0) to max (1)", 1.0);
    for (size_t k = 0; k < K; k++) {
        double x0 = FIG_MARGIN + (double)(k % o.per_row) * cell_w;
        double y0 = y + (double)(k / o.per_row) * cell_h;
        tile_title(title, sizeof title, order[k], &sorted[k]);
        draw_tile_title(im, x0, y0, tile, title);
        /* map (x vertical, as imshow draws the [x][y] array) */
        const double *mk = maps + order[k] * nn;
        double lo, hi;
        figure_range(mk, nn, &lo, &hi);
        figure_map(im, x0, y0 + band, tile, tile, mk, n, n, o.cmap, lo, hi, 0);
        figure_rect(im, x0, y0 + band, tile, tile, NULL, SPINE, 0.6);
    }
    if (o.sac) {
        y += GH;
        figure_title_draw(im, &t2, W / 2, y - 6);
        y += h2;
        for (size_t k = 0; k < K; k++) {
            double x0 = FIG_MARGIN + (double)(k % o.per_row) * cell_w;
            double y0 = y + (double)(k / o.per_row) * cell_h;
            tile_title(title, sizeof title, order[k], &sorted[k]);
            draw_tile_title(im, x0, y0, tile, title);
            int has = !isnan(sorted[k].score60);
            draw_sac(im, x0, y0 + band, tile, sacs + order[k] * SS, side, o.cmap,
                     has ? sorted[k].ring_inner : 0, has ? sorted[k].ring_outer : 0);
        }
    }
    st = figure_close(im);
    im = NULL;
    if (st != ENGRAM_OK) goto done;
    if (csv_path) {
        /* Sidecar in figure order: unit column holds the original unit index. */
        size_t len = strlen(csv_path) + 8;
        char *tmp = malloc(len);
        if (!tmp) { st = engram_fail(ENGRAM_ENOMEM, "figure: out of memory"); goto done; }
        snprintf(tmp, len, "%s.tmp", csv_path);
        FILE *f = fopen(tmp, "w");
        if (!f) {
            free(tmp);
            st = engram_fail(ENGRAM_EIO, "cannot write %s", csv_path);
            goto done;
        }
        int bad = fprintf(f, "unit,score60,score90,ring_inner,ring_outer\n") < 0;
        for (size_t k = 0; k < K; k++)
            bad |= fprintf(f, "%zu,%.10g,%.10g,%.10g,%.10g\n", order[k], sorted[k].score60,
                           sorted[k].score90, sorted[k].ring_inner, sorted[k].ring_outer) < 0;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, csv_path) != 0) {
            remove(tmp);
            st = engram_fail(ENGRAM_EIO, "cannot write %s", csv_path);
        }
        free(tmp);
    }
done:
    if (im) figure_close(im);
    free(own);
    free(sacs);
    free(order);
    free(sorted);
    return st;
}

int gridfig_write_sacs(const char *png_path, const double *sacs, size_t units, size_t side,
                       const gridscore_result *res, const size_t *order, const gridfig_opts *opts) {
    gridfig_opts o;
    if (opts) o = *opts;
    else gridfig_opts_default(&o);
    if (o.per_row == 0) o.per_row = 16;
    if (o.scale == 0) o.scale = 2;
    if (units == 0 || side == 0) return engram_fail(ENGRAM_EINVAL, "figure: no maps to draw");
    const size_t SS = side * side;
    size_t K = o.max_units && o.max_units < units ? o.max_units : units;
    double tile = (double)(side * o.scale);
    if (tile < 48) tile = 48;
    const size_t cols = K < o.per_row ? K : o.per_row, rows = (K + o.per_row - 1) / o.per_row;
    const double band = 1.3 * FIG_TS + 2, cell_w = tile + FIG_GAP, cell_h = band + tile + FIG_GAP;
    const char *head = res ? "Spatial autocorrelograms sorted by grid score: unit (score60), best ring in black"
                           : "Spatial autocorrelograms";
    double GW = (double)cols * cell_w - FIG_GAP, GH = (double)rows * cell_h;
    const char *cbl = "tile min (0) to max (1)";
    double W = 2 * FIG_MARGIN + GW + 12 + figure_colorbar_width(0, 1, cbl, 1.0);
    if (W < 480) W = 480;
    figure_title tl;
    double h1 = figure_title_layout(head, NULL, W - 2 * FIG_MARGIN, 0.9, &tl);
    double H = 2 * FIG_MARGIN + h1 + (GH < 130 ? 130 : GH);
    figure *im = figure_open(png_path, W, H);
    if (!im) return ENGRAM_EIO;
    figure_title_draw(im, &tl, W / 2, FIG_MARGIN - 6);
    double y = FIG_MARGIN + h1;
    figure_colorbar(im, FIG_MARGIN + GW + 12, y + band, GH - band - FIG_GAP < 110 ? 110 : GH - band - FIG_GAP,
                    o.cmap, 0, 1, cbl, 1.0);
    char title[64];
    for (size_t k = 0; k < K; k++) {
        size_t u = order ? order[k] : k;
        double x0 = FIG_MARGIN + (double)(k % o.per_row) * cell_w;
        double y0 = y + (double)(k / o.per_row) * cell_h;
        tile_title(title, sizeof title, u, res ? &res[u] : NULL);
        draw_tile_title(im, x0, y0, tile, title);
        int ring = res && !isnan(res[u].score60);
        draw_sac(im, x0, y0 + band, tile, sacs + u * SS, side, o.cmap,
                 ring ? res[u].ring_inner : 0, ring ? res[u].ring_outer : 0);
    }
    return figure_close(im);
}
