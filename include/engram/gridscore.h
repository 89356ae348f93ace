/* gridscore.h: rate maps, spatial autocorrelograms, grid scores and grid-cell figures.
 *
 * What
 * ----
 * The analysis of Banino et al. 2018 (Nature 557:429), as in DeepMind's scores.py
 * (research note gridcells.md §2, §5):
 *
 *  Rate map (§2.1): the box (lo, hi)^2 is cut into n x n bins (edges linspace(lo, hi,
 *    n+1); a coordinate equal to hi falls in the last bin, one outside [lo, hi] is
 *    ignored, as scipy.stats.binned_statistic_2d). Each bin holds the mean activation
 *    of the samples in it, NaN if none. A map is stored (n, n) with the FIRST index x
 *    and the second y: map[ix * n + iy] (docs/FORMATS.md). No smoothing.
 *
 *  Spatial autocorrelogram, SAC (§2.2): for every lag (dx, dy), |dx|, |dy| <= n-1,
 *    sac[(dx + n-1) * (2n-1) + (dy + n-1)] is the Pearson correlation (population
 *    moments) between map[i, j] and map[i+dx, j+dy] over the pairs where both bins
 *    exist and are finite (the "overlap"). Shape (2n-1, 2n-1); sac at lag 0 is 1.
 *    Undefined values become 0 (DeepMind's nan_to_num): a lag whose overlap has fewer
 *    than min_overlap pairs, or whose overlap has zero variance in either copy, is 0.
 *    Empty (NaN) bins are treated as MISSING, i.e. excluded from the overlap. This is
 *    an explicit departure from scores.py, which (because nan_to_num runs before its
 *    masks are built) counts empty bins as valid zeros; both agree on fully covered
 *    maps. With min_overlap = 2 (the default) the results equal scores.py on fully
 *    covered maps. Moments are accumulated relative to a reference value taken from
 *    the overlap, so a constant map gives exactly 0 (not rounding noise).
 *
 *  Rotation (§2.3): the SAC is rotated about its centre as scipy.ndimage.rotate(sac,
 *    angle, reshape=False) does by default: order-3 (cubic B-spline) interpolation with
 *    a spline prefilter (causal/anticausal recursive filter, pole sqrt(3) - 2, mirror
 *    boundary, applied along each axis) and zero ("constant", cval 0) outside the
 *    array. Output (r, c) samples the input at
 *        r' = cos(a) (r - ctr) + sin(a) (c - ctr) + ctr,
 *        c' = -sin(a) (r - ctr) + cos(a) (c - ctr) + ctr,   ctr = (side - 1) / 2,
 *    with a in degrees (sin and cos exact at multiples of 90 degrees, as
 *    scipy.special.sindg/cosdg). Samples with r' or c' outside [0, side-1] are 0
 *    (scipy's 'constant' mode does not interpolate beyond the edges); inside, the
 *    B-spline coefficients beyond the edge are mirrored. GRIDSCORE_BILINEAR is offered
 *    for comparison (bilinear interpolation, 0 outside).
 *
 *  Ring masks (§2.3): 10 annuli centred on the SAC centre, inner radius 0.2 n
 *    (exclusive: bins with r <= inner are out), outer radii linspace(0.4, 1.0, 10) n
 *    (inclusive). For n = 20 the rings hold 148, 228, 308, 392, 504, 624, 748, 900,
 *    1044, 1204 bins.
 *
 *  Score (§2.3): for each ring, m = mean of the SAC over the ring, c = SAC - m,
 *    var = sum(c^2)/area + 1e-5 (the constant of scores.py, a field of the scorer),
 *    corr(a) = sum(c (rot_a(SAC) - m))/area / var for a in 30, 45, 60, 90, 120, 135,
 *    150 degrees;
 *        score60 = mean(corr60, corr120) - mean(corr30, corr90, corr150)
 *        score90 = corr90 - mean(corr45, corr135)
 *    (min_max = 1: score60 = min(corr60, corr120) - max(corr30, corr90, corr150),
 *    Hardcastle et al. 2017; score90 is unchanged, as in scores.py). Each score is the maximum
 *    over the rings; the ring attaining it is kept (first ring on ties). A map with no
 *    finite bin scores NaN.
 *
 *  Figures (§5, DeepMind utils.get_scores_and_plot): units sorted by descending
 *    score60, 16 per row; the block of rate-map rows, then the block of SAC rows in the
 *    same order; every tile titled "unit (score60)", e.g. "12 (1.23)"; each SAC masked
 *    to the disc of radius n (blank outside) with the best 60-degree ring drawn as two
 *    black circles. A CSV sidecar lists unit,score60,score90,ring_inner,ring_outer.
 *    Maps are drawn with the first index (x) vertical, as imshow draws them.
 *
 * Example
 * -------
 *     ratemap_acc *acc = ratemap_alloc(U, 20, -1.1, 1.1);
 *     for (...) ratemap_add(acc, act, pos, S);          // act (S, U), pos (S, 2)
 *     ratemap_finalise(acc, maps);                       // maps (U, 20, 20)
 *     gridscorer *gs = gridscorer_alloc(20, GRIDSCORE_SPLINE3);
 *     gridscore_result *res = malloc(U * sizeof *res);
 *     gridscore_maps(gs, maps, U, res, NULL);
 *     gridfig_write("ratemaps.png", "ratemaps.csv", maps, U, gs, res, NULL);
 *     gridscore_write_csv_path("gridscores.csv", res, U);
 *     gridscorer_free(gs); ratemap_free(acc);
 *
 * Ownership: _alloc/_free pairs; the caller owns maps, results and SAC arrays.
 * ratemap_add splits units over OpenMP threads only for calls of more than 2^22
 * element-adds (a parallel region costs a barrier); sums are always accumulated in
 * sample order, so maps do not depend on the thread count.
 * gridscore_map uses a caller workspace (gridscore_work_size doubles); gridscore_maps
 * allocates one workspace per thread per call and runs OpenMP over units (each unit
 * written by one thread, so results do not depend on the thread count).
 */
#ifndef ENGRAM_GRIDSCORE_H
#define ENGRAM_GRIDSCORE_H

#include <stddef.h>
#include <stdio.h>
#include <gsl/gsl_rng.h>
#include "engram/image.h"

/* ---------------------------------------------------------------- rate maps */

typedef struct ratemap_acc {
    size_t units;   /* U */
    size_t nbins;   /* n bins per side */
    double lo, hi;  /* coordinate range of both axes */
    double *sum;    /* (U, n, n) running sums of activation */
    double *count;  /* (n, n) samples per bin */
} ratemap_acc;

/* Allocates an empty accumulator for U units over (lo, hi)^2 in n x n bins. Returns NULL
 * with engram_error() set if U = 0, n = 0, lo >= hi, or no memory. */
ratemap_acc *ratemap_alloc(size_t units, size_t nbins, double lo, double hi);

/* Frees an accumulator; NULL is a no-op. */
void ratemap_free(ratemap_acc *acc);

/* Empties the accumulator (all sums and counts 0). */
void ratemap_reset(ratemap_acc *acc);

/* Adds S samples: activations act (S, U) at positions pos (S, 2). Samples whose
 * position is outside [lo, hi]^2 or not finite are skipped; non-finite activations are
 * added as they are (they make that bin's mean non-finite). Returns ENGRAM_OK. */
int ratemap_add(ratemap_acc *acc, const double *act, const double *pos, size_t samples);

/* Writes the mean activation per bin, maps (U, n, n) indexed [u][ix][iy], NaN for bins
 * without samples. The accumulator is unchanged (more samples may be added). */
void ratemap_finalise(const ratemap_acc *acc, double *maps);

/* Writes the number of samples per bin, counts (n, n) indexed [ix][iy]. */
void ratemap_counts(const ratemap_acc *acc, double *counts);

/* ---------------------------------------------------------------- SAC and rotation */

/* Writes the spatial autocorrelogram sac (2n-1, 2n-1) of map (n, n) (NaN = empty bin),
 * as described above; lags with fewer than min_overlap finite pairs are 0
 * (min_overlap >= 2; 2 reproduces scores.py on full maps). Returns ENGRAM_OK or
 * ENGRAM_EINVAL (n = 0, min_overlap < 2). */
int gridscore_sac(const double *map, size_t n, size_t min_overlap, double *sac);

typedef enum {
    GRIDSCORE_SPLINE3 = 0, /* cubic B-spline with prefilter (scipy.ndimage.rotate) */
    GRIDSCORE_BILINEAR = 1 /* bilinear, for comparison */
} gridscore_interp;

/* Computes the cubic B-spline coefficients coef (rows, cols) of img (rows, cols) in
 * place-safe fashion (coef may equal img): the recursive prefilter with pole
 * sqrt(3) - 2 and mirror boundaries along each axis (scipy.ndimage.spline_filter,
 * order 3, mode 'mirror'). Returns ENGRAM_OK. */
int gridscore_spline_prefilter(const double *img, size_t rows, size_t cols, double *coef);

/* Evaluates the cubic B-spline with coefficients coef (rows, cols) at the fractional
 * position (r, c); coefficient indices beyond the edges are mirrored. Returns 0 if r or
 * c is outside [0, rows-1] x [0, cols-1] (scipy's 'constant' mode). */
double gridscore_spline_eval(const double *coef, size_t rows, size_t cols, double r,
                             double c);

/* Rotates img (side, side) by angle_deg degrees about its centre into out (side, side)
 * (see "Rotation" above). work holds side*side doubles (the spline coefficients; unused
 * for bilinear). out must not alias img. Returns ENGRAM_OK. */
int gridscore_rotate(const double *img, size_t side, double angle_deg,
                     gridscore_interp interp, double *out, double *work);

/* ---------------------------------------------------------------- grid scores */

#define GRIDSCORE_N_ANGLES 7 /* 30, 45, 60, 90, 120, 135, 150 degrees */

typedef struct gridscorer {
    size_t nbins;        /* n: rate-map side */
    size_t side;         /* 2n - 1: SAC side */
    size_t n_masks;      /* 10 */
    double *ring_inner;  /* (n_masks,) inner radius in bins (exclusive) */
    double *ring_outer;  /* (n_masks,) outer radius in bins (inclusive) */
    unsigned char *masks;/* (n_masks, side, side) 1 inside the ring */
    size_t *mask_count;  /* (n_masks,) bins per ring */
    gridscore_interp interp;
    size_t min_overlap;  /* SAC minimum overlap, default 2 */
    double var_eps;      /* added to the ring variance, default 1e-5 (scores.py) */
    int min_max;         /* 0: DeepMind means (default); 1: min/max form of score60 */
} gridscorer;

typedef struct gridscore_result {
    double score60, score90;    /* maxima over the rings; NaN if the map is empty */
    size_t ring60, ring90;      /* index of the ring attaining each maximum */
    double ring_inner, ring_outer;     /* radii (bins) of ring60 */
    double ring_inner90, ring_outer90; /* radii (bins) of ring90 */
    double corr[GRIDSCORE_N_ANGLES];   /* corr(angle) in ring60, angles as above */
    double plane_r2; /* R^2 of the best plane a + b x + c y fitted to the map (NaN if empty) */
    double spacing, orientation, ellipticity; /* of the six inner SAC peaks
                                                 (gridscore_sac_peaks); NaN if fewer */
} gridscore_result;

/* The 7 rotation angles in degrees, in the order of gridscore_result.corr. */
extern const double gridscore_angles[GRIDSCORE_N_ANGLES];

/* Allocates a scorer for n x n rate maps with DeepMind's 10 rings, min_overlap 2,
 * var_eps 1e-5, min_max 0 (fields may be changed afterwards). Returns NULL with
 * engram_error() set if n < 3 or no memory. */
gridscorer *gridscorer_alloc(size_t nbins, gridscore_interp interp);

/* Frees a scorer; NULL is a no-op. */
void gridscorer_free(gridscorer *gs);

/* Number of doubles of workspace gridscore_map needs. */
size_t gridscore_work_size(const gridscorer *gs);

/* Scores one map (n, n) (NaN = empty bin) into *res; if sac is not NULL also writes its
 * SAC (2n-1, 2n-1). work: gridscore_work_size(gs) doubles. Returns ENGRAM_OK. */
int gridscore_map(const gridscorer *gs, const double *map, gridscore_result *res,
                  double *sac, double *work);

/* Scores U maps (U, n, n) into res (U,), and their SACs into sacs (U, 2n-1, 2n-1) if
 * not NULL. OpenMP over units. Returns ENGRAM_OK or ENGRAM_ENOMEM. */
int gridscore_maps(const gridscorer *gs, const double *maps, size_t units,
                   gridscore_result *res, double *sacs);

/* Lattice geometry from the six peaks of a SAC (side, side) nearest its centre: the
 * local maxima with a positive value other than the centre (3 x 3 neighbourhood, each
 * position refined by a parabola through its neighbours along each axis). spacing is
 * the median distance of the six from the centre, in bins (one SAC lag = one rate-map
 * bin); orientation the lattice angle in [0, 60) degrees, the circular mean of 6 x the
 * peaks' angles atan2(dy, dx) divided by 6 (0: a peak on the +x axis); ellipticity
 * 1 - shortest / longest of the six distances (0 for a perfect hexagon). With fewer
 * than six peaks all three are NaN. Returns the number of peaks found. */
int gridscore_sac_peaks(const double *sac, size_t side, double *spacing, double *orientation,
                        double *ellipticity);

/* Shuffle null of the 60-degree score: map k (k = 0..n_maps-1) is unit k % U's map
 * (maps (U, n, n)) with its finite bins randomly permuted (empty bins stay empty),
 * draws from r in k order; writes the n_maps scores into scores. Returns ENGRAM_OK or
 * ENGRAM_ENOMEM. */
int gridscore_shuffle_null(const gridscorer *gs, const double *maps, size_t units,
                           size_t n_maps, gsl_rng *r, double *scores);

/* Returns the q-quantile (0 <= q <= 1) of the finite values of v (n,), with linear
 * interpolation between order statistics as numpy.percentile; NaN if none is finite.
 * work holds n doubles. */
double gridscore_quantile(const double *v, size_t n, double q, double *work);

/* Returns the Pearson correlation of two n x n maps over the bins finite in both (NaN
 * if fewer than 2, or a constant map): split-half stability when a and b are the maps
 * of two halves of the data. */
double gridscore_map_corr(const double *a, const double *b, size_t n);

/* Writes the CSV header "unit,score60,score90,ring_inner,ring_outer,plane_r2,
 * spacing_bins,orientation_deg,ellipticity" and one row per
 * unit (%.17g; NaN written as "nan") to f. Returns ENGRAM_OK or ENGRAM_EIO. */
int gridscore_write_csv(FILE *f, const gridscore_result *res, size_t units);

/* Writes the same CSV to path (atomically: temporary file, then rename). */
int gridscore_write_csv_path(const char *path, const gridscore_result *res, size_t units);

/* Returns the number of units whose score60 exceeds threshold (NaN never counts). */
size_t gridscore_count_above(const gridscore_result *res, size_t units, double threshold);

/* Returns the coefficient of determination R^2 of the least-squares plane
 * a + b i + c j fitted to the finite bins of an n x n map (1 for a constant map, NaN
 * with fewer than 3 finite bins). A linear ramp of position has R^2 near 1; its
 * autocorrelogram is nearly flat and the 60-degree score of such a map can be large
 * without any periodic structure, so gridscores.csv reports plane_r2 beside the
 * scores and gridscore_count_grid() leaves planar maps out. */
double gridscore_plane_r2(const double *map, size_t n);

/* Counts units with score60 > threshold whose plane_r2 is below max_plane_r2. */
size_t gridscore_count_grid(const gridscore_result *res, size_t units, double threshold,
                            double max_plane_r2);

/* Writes into order (U,) the unit indices sorted by descending score60 (NaN last, ties
 * by ascending index). */
void gridscore_sort_units(const gridscore_result *res, size_t units, size_t *order);

/* ---------------------------------------------------------------- figures */

typedef struct gridfig_opts {
    image_cmap cmap;   /* default IMAGE_CMAP_JET */
    size_t per_row;    /* tiles per row, default 16 */
    size_t scale;      /* pixels per rate-map bin, default 4 (SAC bins drawn at
                          max(1, scale / 2) so both tiles have similar size) */
    size_t max_units;  /* 0 = all units, else only the best max_units */
    int sac;           /* 1 (default): add the block of SAC rows */
} gridfig_opts;

/* Fills o with the defaults above. */
void gridfig_opts_default(gridfig_opts *o);

/* Writes the rate-map + SAC figure (layout above) of maps (U, n, n) to png_path, and,
 * if csv_path is not NULL, the sidecar CSV (gridscore_write_csv format, units in
 * figure order). res (U,) may be NULL (scores are then computed with gs); opts may be
 * NULL (defaults). gs must match n. Returns ENGRAM_OK, ENGRAM_EIO or ENGRAM_ENOMEM. */
int gridfig_write(const char *png_path, const char *csv_path, const double *maps,
                  size_t units, const gridscorer *gs, const gridscore_result *res,
                  const gridfig_opts *opts);

/* Writes a tiled figure of U autocorrelograms sacs (U, side, side), each masked to the
 * disc of radius (side-1)/2, titles "unit" or "unit (score)" if res is not NULL, in
 * the given unit order (order (U,) of indices, NULL = natural). Returns ENGRAM_OK,
 * ENGRAM_EIO or ENGRAM_ENOMEM. */
int gridfig_write_sacs(const char *png_path, const double *sacs, size_t units,
                       size_t side, const gridscore_result *res, const size_t *order,
                       const gridfig_opts *opts);

#endif
