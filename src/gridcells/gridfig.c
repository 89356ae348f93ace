/* gridfig.c: the rate-map + autocorrelogram figure of grid-cell analyses (gridscore.h),
 * laid out like DeepMind's utils.get_scores_and_plot (research note §5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "engram/engram.h"
#include "engram/gridscore.h"
#include "engram/image.h"

#define FIG_MARGIN 6   /* px around the figure */
#define FIG_GUTTER 4   /* px between tiles */
#define FIG_TITLE_H 10 /* px title band above each tile (5x7 font + gap) */
#define FIG_HEAD_H 16  /* px band holding the figure heading */

static const uint8_t BLACK[3] = {0, 0, 0};
static const uint8_t WHITE[3] = {255, 255, 255};

void gridfig_opts_default(gridfig_opts *o) {
    o->cmap = IMAGE_CMAP_JET;
    o->per_row = 16;
    o->scale = 4;
    o->max_units = 0;
    o->sac = 1;
}

/* Draws a circle of radius rad px about (cx, cy) as a 96-segment polygon. */
static void draw_circle(image *im, double cx, double cy, double rad) {
    const int seg = 96;
    for (int k = 0; k < seg; k++) {
        double a0 = 2 * M_PI * k / seg, a1 = 2 * M_PI * (k + 1) / seg;
        image_draw_line(im, lround(cx + rad * cos(a0)), lround(cy + rad * sin(a0)),
                        lround(cx + rad * cos(a1)), lround(cy + rad * sin(a1)), BLACK);
    }
}

/* Draws the SAC (side, side) at (x0, y0), bins as s x s blocks, masked to the disc of
 * radius (side-1)/2 about the centre (white outside); if inner/outer > 0, draws those
 * ring radii (in bins) as black circles. masked: scratch of side*side doubles. */
static void draw_sac(image *im, long x0, long y0, const double *sac, size_t side, size_t s,
                     image_cmap cmap, double inner, double outer, double *masked) {
    const long c = (long)(side - 1) / 2;
    const double rad = (double)c + 1.0; /* DeepMind: circle_mask radius nbins */
    for (long i = 0; i < (long)side; i++)
        for (long j = 0; j < (long)side; j++) {
            double d = sqrt((double)((i - c) * (i - c) + (j - c) * (j - c)));
            masked[i * (long)side + j] = d <= rad ? sac[i * (long)side + j] : NAN;
        }
    image_draw_map(im, (size_t)x0, (size_t)y0, masked, side, side, cmap, s);
    for (long i = 0; i < (long)side; i++)
        for (long j = 0; j < (long)side; j++)
            if (isnan(masked[i * (long)side + j]))
                image_fill_rect(im, x0 + j * (long)s, y0 + i * (long)s, (long)s, (long)s, WHITE);
    double cx = (double)x0 + ((double)c + 0.5) * (double)s;
    double cy = (double)y0 + ((double)c + 0.5) * (double)s;
    if (inner > 0) draw_circle(im, cx, cy, inner * (double)s);
    if (outer > 0) draw_circle(im, cx, cy, outer * (double)s);
}

/* Formats a tile title "unit (score)" or "unit". */
static void tile_title(char *buf, size_t len, size_t unit, const gridscore_result *r) {
    if (!r) snprintf(buf, len, "%zu", unit);
    else if (isnan(r->score60)) snprintf(buf, len, "%zu (nan)", unit);
    else snprintf(buf, len, "%zu (%.2f)", unit, r->score60);
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
    double *masked = malloc(SS * sizeof *masked);
    size_t *order = malloc(units * sizeof *order);
    gridscore_result *sorted = malloc(units * sizeof *sorted);
    image *im = NULL;
    if (!sacs || !masked || !order || !sorted) {
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

    /* Geometry. */
    const size_t ms = o.scale, ss = o.scale / 2 ? o.scale / 2 : 1;
    const size_t map_px = n * ms, sac_px = side * ss;
    const size_t tile = map_px > sac_px ? map_px : sac_px;
    const size_t cols = K < o.per_row ? K : o.per_row;
    const size_t rows = (K + o.per_row - 1) / o.per_row;
    const size_t cell_w = tile + FIG_GUTTER, cell_h = FIG_TITLE_H + tile + FIG_GUTTER;
    const size_t blocks = o.sac ? 2 : 1;
    size_t W = 2 * FIG_MARGIN + cols * cell_w;
    const size_t H = 2 * FIG_MARGIN + blocks * (FIG_HEAD_H + rows * cell_h);
    const char *head1 = "rate maps, sorted by 60-degree grid score: unit (score60)";
    const char *head2 = "spatial autocorrelograms, best ring in black";
    size_t tw = image_text_width(head1, 1) + 2 * FIG_MARGIN;
    if (W < tw) W = tw;
    im = image_alloc(W, H);
    if (!im) { st = engram_fail(ENGRAM_ENOMEM, "figure: %zu x %zu px is too large", W, H); goto done; }
    char title[64];
    long y = FIG_MARGIN;
    image_draw_text(im, FIG_MARGIN, y + 2, head1, BLACK, 1);
    y += FIG_HEAD_H;
    for (size_t k = 0; k < K; k++) {
        long x0 = FIG_MARGIN + (long)((k % o.per_row) * cell_w);
        long y0 = y + (long)((k / o.per_row) * cell_h);
        tile_title(title, sizeof title, order[k], &sorted[k]);
        image_draw_text(im, x0, y0, title, BLACK, 1);
        /* map (x vertical, as imshow draws the [x][y] array) */
        image_draw_map(im, (size_t)x0, (size_t)(y0 + FIG_TITLE_H), maps + order[k] * nn, n, n,
                       o.cmap, ms);
    }
    if (o.sac) {
        y += (long)(rows * cell_h);
        image_draw_text(im, FIG_MARGIN, y + 2, head2, BLACK, 1);
        y += FIG_HEAD_H;
        for (size_t k = 0; k < K; k++) {
            long x0 = FIG_MARGIN + (long)((k % o.per_row) * cell_w);
            long y0 = y + (long)((k / o.per_row) * cell_h);
            tile_title(title, sizeof title, order[k], &sorted[k]);
            image_draw_text(im, x0, y0, title, BLACK, 1);
            int has = !isnan(sorted[k].score60);
            draw_sac(im, x0, y0 + FIG_TITLE_H, sacs + order[k] * SS, side, ss, o.cmap,
                     has ? sorted[k].ring_inner : 0, has ? sorted[k].ring_outer : 0, masked);
        }
    }
    if ((st = image_write_png(im, png_path)) != ENGRAM_OK) goto done;
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
    image_free(im);
    free(own);
    free(sacs);
    free(masked);
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
    const size_t tile = side * o.scale;
    const size_t cols = K < o.per_row ? K : o.per_row, rows = (K + o.per_row - 1) / o.per_row;
    const size_t cell_w = tile + FIG_GUTTER, cell_h = FIG_TITLE_H + tile + FIG_GUTTER;
    double *masked = malloc(SS * sizeof *masked);
    image *im = image_alloc(2 * FIG_MARGIN + cols * cell_w, 2 * FIG_MARGIN + rows * cell_h);
    int st = ENGRAM_OK;
    if (!masked || !im) {
        st = engram_fail(ENGRAM_ENOMEM, "figure: out of memory");
        goto done;
    }
    char title[64];
    for (size_t k = 0; k < K; k++) {
        size_t u = order ? order[k] : k;
        long x0 = FIG_MARGIN + (long)((k % o.per_row) * cell_w);
        long y0 = FIG_MARGIN + (long)((k / o.per_row) * cell_h);
        tile_title(title, sizeof title, u, res ? &res[u] : NULL);
        image_draw_text(im, x0, y0, title, BLACK, 1);
        int ring = res && !isnan(res[u].score60);
        draw_sac(im, x0, y0 + FIG_TITLE_H, sacs + u * SS, side, o.scale, o.cmap,
                 ring ? res[u].ring_inner : 0, ring ? res[u].ring_outer : 0, masked);
    }
    st = image_write_png(im, png_path);
done:
    image_free(im);
    free(masked);
    return st;
}
