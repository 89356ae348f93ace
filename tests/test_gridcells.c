/* test_gridcells.c: trajectories, place/head-direction targets, rate maps,
 * autocorrelograms, spline rotation, grid scores and figures (trajectory.h,
 * placecells.h, gridscore.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_statistics_double.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/engram.h"
#include "engram/rng.h"
#include "engram/trajectory.h"
#include "engram/placecells.h"
#include "engram/gridscore.h"
#include "engram/image.h"
#include "engram/optim.h"
#include "engram/pathint.h"
#include <gsl/gsl_fft_complex.h>
#include "engram/npy.h"
#include "cli/cli.h"
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_statistics_double.h>
#include "testhelp.h"

/* ------------------------------------------------------------ synthetic maps */

/* Hexagonal map from three plane waves 60 degrees apart, wavelength lam bins,
 * orientation theta, phases (n, n). */
static void hex_map(double *m, size_t n, double lam, double theta, double ph) {
    const double k = 2 * M_PI / lam;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = 0;
            for (int w = 0; w < 3; w++) {
                double a = theta + w * M_PI / 3;
                v += cos(k * (cos(a) * (double)i + sin(a) * (double)j) + ph * (w + 1));
            }
            m[i * n + j] = v;
        }
}

/* Square lattice from two plane waves 90 degrees apart. */
static void square_map(double *m, size_t n, double lam, double theta, double ph) {
    const double k = 2 * M_PI / lam;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = 0;
            for (int w = 0; w < 2; w++) {
                double a = theta + w * M_PI / 2;
                v += cos(k * (cos(a) * (double)i + sin(a) * (double)j) + ph * (w + 1));
            }
            m[i * n + j] = v;
        }
}

/* ------------------------------------------------------------ rings and scores */

static void test_ring_counts(void) {
    /* scores.py masks for nbins = 20 (research note §2.3). */
    static const size_t want[10] = {148, 228, 308, 392, 504, 624, 748, 900, 1044, 1204};
    gridscorer *gs = gridscorer_alloc(20, GRIDSCORE_SPLINE3);
    CHECK(gs != NULL, "gridscorer_alloc(20)");
    if (!gs) return;
    CHECK(gs->side == 39 && gs->n_masks == 10, "SAC side 39 and 10 rings");
    for (int k = 0; k < 10; k++)
        CHECK(gs->mask_count[k] == want[k], "ring %d holds %zu bins (want %zu), outer %.4f", k,
              gs->mask_count[k], want[k], gs->ring_outer[k]);
    CHECK_CLOSE(gs->ring_inner[0], 4.0, 1e-12, "inner radius 0.2 * 20");
    CHECK_CLOSE(gs->ring_outer[9], 20.0, 1e-12, "largest outer radius 1.0 * 20");
    gridscorer_free(gs);
    CHECK(gridscorer_alloc(2, GRIDSCORE_SPLINE3) == NULL, "nbins = 2 refused: %s", engram_error());
}

static void test_hex_and_square_scores(void) {
    const size_t n = 20;
    double m[400];
    gridscorer *gs = gridscorer_alloc(n, GRIDSCORE_SPLINE3);
    gridscorer *gb = gridscorer_alloc(n, GRIDSCORE_BILINEAR);
    double *work = malloc(gridscore_work_size(gs) * sizeof *work);
    gridscore_result r, rb;

    hex_map(m, n, 8.0, 0.31, 0.7);
    gridscore_map(gs, m, &r, NULL, work);
    gridscore_map(gb, m, &rb, NULL, work);
    printf("     hexagonal (period 8 bins): score60 %.4f score90 %.4f ring %.2f-%.2f; "
           "bilinear score60 %.4f\n", r.score60, r.score90, r.ring_inner, r.ring_outer,
           rb.score60);
    CHECK(r.score60 > 1.0, "hexagonal map: spline score60 %.4f > 1", r.score60);
    CHECK(r.score90 < r.score60 - 0.5, "hexagonal map: score90 %.4f well below score60", r.score90);
    CHECK(rb.score60 > 1.0, "hexagonal map: bilinear score60 %.4f > 1", rb.score60);
    CHECK(fabs(rb.score60 - r.score60) < 0.2, "bilinear and spline close (%.4f vs %.4f)",
          rb.score60, r.score60);
    CHECK(r.corr[2] > 0.5 && r.corr[4] > 0.5, "hexagonal: corr60 %.3f and corr120 %.3f high",
          r.corr[2], r.corr[4]);

    /* Another period and orientation: still grid-like. */
    hex_map(m, n, 6.3, 1.1, 2.2);
    gridscore_map(gs, m, &r, NULL, work);
    CHECK(r.score60 > 1.0, "hexagonal map period 6.3, theta 1.1: score60 %.4f > 1", r.score60);

    square_map(m, n, 8.0, 0.23, 0.9);
    gridscore_map(gs, m, &r, NULL, work);
    printf("     square (period 8 bins): score60 %.4f score90 %.4f\n", r.score60, r.score90);
    CHECK(r.score90 > 1.0, "square lattice: score90 %.4f > 1", r.score90);
    CHECK(r.score60 < r.score90 - 1.0, "square lattice: score60 %.4f clearly below score90",
          r.score60);
    CHECK(r.score60 < 0.3, "square lattice: score60 %.4f below the 0.3 threshold", r.score60);

    /* min_max form is never above the mean form. */
    gridscorer *gm = gridscorer_alloc(n, GRIDSCORE_SPLINE3);
    gm->min_max = 1;
    hex_map(m, n, 8.0, 0.31, 0.7);
    gridscore_result rm;
    gridscore_map(gm, m, &rm, NULL, work);
    gridscore_map(gs, m, &r, NULL, work);
    CHECK(rm.score60 <= r.score60 + 1e-12 && rm.score60 > 0.5,
          "min_max score60 %.4f <= mean form %.4f and positive", rm.score60, r.score60);
    gridscorer_free(gm);

    /* Independent recomputation of the score from corr[] for the best ring. */
    double s60 = (r.corr[2] + r.corr[4]) / 2 - (r.corr[0] + r.corr[3] + r.corr[6]) / 3;
    CHECK_CLOSE(s60, r.score60, 1e-12, "score60 equals mean(c60,c120) - mean(c30,c90,c150)");

    /* A hexagonal map with a few empty bins keeps a high score. */
    hex_map(m, n, 8.0, 0.31, 0.7);
    m[0] = m[19] = m[5 * 20 + 7] = m[399] = m[210] = NAN;
    gridscore_map(gs, m, &r, NULL, work);
    CHECK(r.score60 > 1.0, "hexagonal map with 5 empty bins: score60 %.4f > 1", r.score60);

    /* All-empty map: NaN scores, SAC zero. */
    for (int i = 0; i < 400; i++) m[i] = NAN;
    double sac[39 * 39];
    gridscore_map(gs, m, &r, sac, work);
    int zero = 1;
    for (int i = 0; i < 39 * 39; i++) zero &= sac[i] == 0;
    CHECK(isnan(r.score60) && isnan(r.score90) && zero, "all-empty map: NaN scores, SAC all 0");

    free(work);
    gridscorer_free(gs);
    gridscorer_free(gb);
}

static void test_scores_thread_independent(void) {
    const size_t n = 20, U = 37;
    double *maps = malloc(U * n * n * sizeof *maps);
    gsl_rng *r = rng_stream_alloc(11, "test", 0);
    for (size_t u = 0; u < U; u++) {
        hex_map(maps + u * n * n, n, 5.0 + 0.2 * (double)u, 0.1 * (double)u, 0.3 * (double)u);
        for (size_t k = 0; k < n * n; k++) {
            maps[u * n * n + k] += gsl_ran_gaussian(r, 0.5);
            if (gsl_rng_uniform(r) < 0.03) maps[u * n * n + k] = NAN;
        }
    }
    gsl_rng_free(r);
    gridscorer *gs = gridscorer_alloc(n, GRIDSCORE_SPLINE3);
    gridscore_result *a = calloc(U, sizeof *a), *b = calloc(U, sizeof *b);
    double *sa = malloc(U * 39 * 39 * sizeof *sa), *sb = malloc(U * 39 * 39 * sizeof *sb);
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    gridscore_maps(gs, maps, U, a, sa);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    gridscore_maps(gs, maps, U, b, sb);
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    int same = memcmp(sa, sb, U * 39 * 39 * sizeof *sa) == 0;
    for (size_t u = 0; u < U; u++)
        same &= memcmp(&a[u].score60, &b[u].score60, sizeof(double)) == 0 &&
                memcmp(&a[u].score90, &b[u].score90, sizeof(double)) == 0;
    CHECK(same, "gridscore_maps: identical bytes with 1 and 2 threads (%zu maps)", U);
    /* gridscore_maps equals gridscore_map one by one. */
    double *work = malloc(gridscore_work_size(gs) * sizeof *work);
    gridscore_result one;
    gridscore_map(gs, maps + 5 * n * n, &one, NULL, work);
    CHECK(one.score60 == a[5].score60 && one.ring60 == a[5].ring60,
          "gridscore_maps unit 5 equals gridscore_map (%.6f)", one.score60);
    size_t order[37];
    gridscore_sort_units(a, U, order);
    int sorted = 1;
    for (size_t u = 1; u < U; u++)
        sorted &= !(a[order[u]].score60 > a[order[u - 1]].score60);
    CHECK(sorted, "gridscore_sort_units: descending score60");
    free(work);
    free(maps); free(a); free(b); free(sa); free(sb);
    gridscorer_free(gs);
}

/* ------------------------------------------------------------ SAC */

/* Pearson correlation of the finite pairs at lag (dx, dy), from gathered arrays with
 * GSL (an independent route). Returns NAN if fewer than 2 pairs. */
static double ref_lag_corr(const double *m, long n, long dx, long dy, size_t *npairs) {
    double *a = malloc((size_t)(n * n) * sizeof *a), *b = malloc((size_t)(n * n) * sizeof *b);
    size_t c = 0;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++) {
            long i2 = i + dx, j2 = j + dy;
            if (i2 < 0 || i2 >= n || j2 < 0 || j2 >= n) continue;
            if (!isfinite(m[i * n + j]) || !isfinite(m[i2 * n + j2])) continue;
            a[c] = m[i * n + j];
            b[c] = m[i2 * n + j2];
            c++;
        }
    double r = c >= 2 ? gsl_stats_correlation(a, 1, b, 1, c) : NAN;
    free(a);
    free(b);
    *npairs = c;
    return r;
}

static void test_sac_reference(void) {
    const long n = 20, S = 39;
    double m[400], sac[39 * 39];
    gsl_rng *r = rng_stream_alloc(7, "test", 1);
    for (int i = 0; i < 400; i++) m[i] = 2.385 + gsl_ran_gaussian(r, 1.3) + 0.01 * i;
    gsl_rng_free(r);
    gridscore_sac(m, (size_t)n, 2, sac);
    double maxerr = 0;
    for (long dx = -(n - 2); dx <= n - 2; dx++)
        for (long dy = -(n - 2); dy <= n - 2; dy++) {
            size_t np;
            double ref = ref_lag_corr(m, n, dx, dy, &np);
            double e = fabs(sac[(dx + n - 1) * S + dy + n - 1] - ref);
            if (e > maxerr) maxerr = e;
        }
    CHECK(maxerr < 1e-10, "SAC equals GSL Pearson over overlaps at every lag (max err %.2e)",
          maxerr);
    CHECK_CLOSE(sac[19 * S + 19], 1.0, 1e-14, "SAC at lag 0");
    /* Corner lags (one pair): 0; lags with two pairs: +-1. */
    CHECK(sac[0] == 0.0 && sac[S * S - 1] == 0.0, "corner lags with 1 pair are 0");
    CHECK_CLOSE(fabs(sac[0 * S + 1]), 1.0, 1e-12, "a lag with 2 pairs has |r| = 1");

    /* Constant map: all 0, exactly. */
    for (int i = 0; i < 400; i++) m[i] = 0.1 * 3.0 + 2.385;
    gridscore_sac(m, (size_t)n, 2, sac);
    int zero = 1;
    for (int i = 0; i < S * S; i++) zero &= sac[i] == 0.0;
    CHECK(zero, "SAC of a constant map is exactly 0 everywhere");
    /* Constant with empty bins: still 0. */
    m[3] = m[77] = NAN;
    gridscore_sac(m, (size_t)n, 2, sac);
    zero = 1;
    for (int i = 0; i < S * S; i++) zero &= sac[i] == 0.0;
    CHECK(zero, "SAC of a constant map with empty bins is exactly 0");
}

static void test_sac_empty_bins(void) {
    const long n = 20, S = 39;
    double m[400], sac[39 * 39], sac2[39 * 39];
    gsl_rng *r = rng_stream_alloc(8, "test", 2);
    for (int i = 0; i < 400; i++) m[i] = gsl_ran_gaussian(r, 1.0) + sin(0.37 * i);
    /* Empty bins: the whole right third (y >= 14) and scattered bins. */
    for (long i = 0; i < n; i++)
        for (long j = 14; j < n; j++) m[i * n + j] = NAN;
    for (int k = 0; k < 20; k++) m[gsl_rng_uniform_int(r, 400)] = NAN;
    gsl_rng_free(r);
    gridscore_sac(m, (size_t)n, 2, sac);
    double maxerr = 0;
    int ok_missing = 1, sym = 1;
    for (long dx = -(n - 1); dx <= n - 1; dx++)
        for (long dy = -(n - 1); dy <= n - 1; dy++) {
            size_t np;
            double ref = ref_lag_corr(m, n, dx, dy, &np);
            double got = sac[(dx + n - 1) * S + dy + n - 1];
            if (np < 2) ok_missing &= got == 0.0;
            else if (isfinite(ref)) { double e = fabs(got - ref); if (e > maxerr) maxerr = e; }
            sym &= got == sac[(-dx + n - 1) * S - dy + n - 1];
        }
    CHECK(maxerr < 1e-10,
          "SAC with empty bins = Pearson over the finite overlapping pairs (max err %.2e)", maxerr);
    CHECK(ok_missing, "lags with < 2 finite pairs (|dy| >= 14 here) are 0");
    CHECK(sym, "SAC with empty bins is exactly symmetric, sac(d) = sac(-d)");
    CHECK_CLOSE(sac[19 * S + 19], 1.0, 1e-14, "lag 0 is 1 with empty bins");
    /* min_overlap: lags with fewer pairs become 0. */
    gridscore_sac(m, (size_t)n, 50, sac2);
    int ok = 1, changed = 0;
    for (long dx = -(n - 1); dx <= n - 1; dx++)
        for (long dy = -(n - 1); dy <= n - 1; dy++) {
            size_t np;
            ref_lag_corr(m, n, dx, dy, &np);
            double got = sac2[(dx + n - 1) * S + dy + n - 1];
            if (np < 50) { ok &= got == 0.0; changed += sac[(dx + n - 1) * S + dy + n - 1] != 0; }
            else ok &= got == sac[(dx + n - 1) * S + dy + n - 1];
        }
    CHECK(ok && changed > 0, "min_overlap 50 zeroes exactly the lags with < 50 pairs (%d)", changed);
    CHECK(gridscore_sac(m, (size_t)n, 1, sac2) == ENGRAM_EINVAL, "min_overlap 1 refused");
    /* Differs from treating empty bins as zeros (DeepMind's nan_to_num order). */
    double z[400];
    for (int i = 0; i < 400; i++) z[i] = isfinite(m[i]) ? m[i] : 0.0;
    gridscore_sac(z, (size_t)n, 2, sac2);
    CHECK(fabs(sac2[19 * S + 22] - sac[19 * S + 22]) > 1e-3,
          "missing != zero: lag (0,3) %.4f (missing) vs %.4f (zero-filled)",
          sac[19 * S + 22], sac2[19 * S + 22]);
}

/* ------------------------------------------------------------ rotation and splines */

static void test_rotation(void) {
    gsl_rng *r = rng_stream_alloc(9, "test", 3);
    const size_t sides[2] = {39, 24};
    for (int t = 0; t < 2; t++) {
        const size_t S = sides[t];
        double *img = malloc(S * S * sizeof *img), *out = malloc(S * S * sizeof *out);
        double *work = malloc(S * S * sizeof *work);
        for (size_t k = 0; k < S * S; k++) img[k] = gsl_ran_gaussian(r, 1.0) + 0.05 * (double)k;
        double e0 = 0, e90 = 0, e180 = 0, e270 = 0, e0b = 0;
        gridscore_rotate(img, S, 0.0, GRIDSCORE_SPLINE3, out, work);
        for (size_t k = 0; k < S * S; k++) e0 = fmax(e0, fabs(out[k] - img[k]));
        gridscore_rotate(img, S, 0.0, GRIDSCORE_BILINEAR, out, work);
        for (size_t k = 0; k < S * S; k++) e0b = fmax(e0b, fabs(out[k] - img[k]));
        gridscore_rotate(img, S, 90.0, GRIDSCORE_SPLINE3, out, work);
        for (size_t i = 0; i < S; i++)
            for (size_t j = 0; j < S; j++)
                e90 = fmax(e90, fabs(out[i * S + j] - img[j * S + (S - 1 - i)]));
        gridscore_rotate(img, S, 180.0, GRIDSCORE_SPLINE3, out, work);
        for (size_t i = 0; i < S; i++)
            for (size_t j = 0; j < S; j++)
                e180 = fmax(e180, fabs(out[i * S + j] - img[(S - 1 - i) * S + (S - 1 - j)]));
        gridscore_rotate(img, S, -90.0, GRIDSCORE_SPLINE3, out, work);
        for (size_t i = 0; i < S; i++)
            for (size_t j = 0; j < S; j++)
                e270 = fmax(e270, fabs(out[i * S + j] - img[(S - 1 - j) * S + i]));
        CHECK(e0 < 1e-12, "side %zu: spline rotation by 0 reproduces the image (err %.2e)", S, e0);
        CHECK(e0b == 0.0, "side %zu: bilinear rotation by 0 is exact", S);
        CHECK(e90 < 1e-12, "side %zu: spline rotation by 90 = out[i][j] = in[j][S-1-i] (err %.2e)",
              S, e90);
        CHECK(e180 < 1e-12, "side %zu: rotation by 180 flips both axes (err %.2e)", S, e180);
        CHECK(e270 < 1e-12, "side %zu: rotation by -90 = out[i][j] = in[S-1-j][i] (err %.2e)", S,
              e270);
        free(img); free(out); free(work);
    }
    /* Rotating a SAC by 0 reproduces it (the scorer's path). */
    double m[400], sac[39 * 39], out[39 * 39], work[39 * 39];
    hex_map(m, 20, 7.0, 0.2, 0.4);
    gridscore_sac(m, 20, 2, sac);
    gridscore_rotate(sac, 39, 0.0, GRIDSCORE_SPLINE3, out, work);
    double e = 0;
    for (int k = 0; k < 39 * 39; k++) e = fmax(e, fabs(out[k] - sac[k]));
    CHECK(e < 1e-12, "SAC rotated by 0 degrees equals the SAC (err %.2e)", e);
    /* 30 degrees: corner samples fall outside and become 0. */
    gridscore_rotate(sac, 39, 30.0, GRIDSCORE_SPLINE3, out, work);
    CHECK(out[0] == 0.0 && out[38] == 0.0, "corners rotated from outside the array are 0");
    gsl_rng_free(r);
}

static void test_spline_polynomial(void) {
    /* Cubic B-spline interpolation reproduces polynomials of degree <= 3; with mirror
     * boundaries the boundary error decays as |sqrt(3)-2|^distance, so evaluate at
     * least 20 samples from the edges. */
    const size_t R = 64, C = 60;
    double *img = malloc(R * C * sizeof *img), *coef = malloc(R * C * sizeof *coef);
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < C; j++) {
            double x = (double)i, y = (double)j;
            img[i * C + j] = 0.013 * x * x * x - 0.3 * x * y + 0.02 * y * y + 1.7 * y + 2.385;
        }
    gridscore_spline_prefilter(img, R, C, coef);
    gsl_rng *r = rng_stream_alloc(10, "test", 4);
    double maxrel = 0, maxnode = 0;
    for (int t = 0; t < 500; t++) {
        double x = 22.0 + 20.0 * gsl_rng_uniform(r), y = 21.0 + 18.0 * gsl_rng_uniform(r);
        double f = 0.013 * x * x * x - 0.3 * x * y + 0.02 * y * y + 1.7 * y + 2.385;
        double g = gridscore_spline_eval(coef, R, C, x, y);
        maxrel = fmax(maxrel, fabs(g - f) / fabs(f));
    }
    /* Interpolation property at every node, edges included. */
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < C; j++)
            maxnode = fmax(maxnode, fabs(gridscore_spline_eval(coef, R, C, (double)i, (double)j) -
                                         img[i * C + j]) / (1.0 + fabs(img[i * C + j])));
    CHECK(maxrel < 1e-9, "cubic polynomial reproduced inside the domain (max rel err %.2e)", maxrel);
    CHECK(maxnode < 1e-12, "spline interpolates the samples at every node (max err %.2e)", maxnode);
    CHECK(gridscore_spline_eval(coef, R, C, -0.01, 5.0) == 0.0 &&
              gridscore_spline_eval(coef, R, C, 5.0, (double)C - 0.99) == 0.0,
          "evaluation outside [0, n-1] is 0 ('constant' mode)");
    /* Short lines use the exact mirror initialisation: a 7-sample line is still
     * interpolated exactly. */
    double small[7 * 5], sc[7 * 5], me = 0;
    for (int k = 0; k < 35; k++) small[k] = sin(1.3 * k) + 0.1 * k;
    gridscore_spline_prefilter(small, 7, 5, sc);
    for (size_t i = 0; i < 7; i++)
        for (size_t j = 0; j < 5; j++)
            me = fmax(me, fabs(gridscore_spline_eval(sc, 7, 5, (double)i, (double)j) - small[i * 5 + j]));
    CHECK(me < 1e-12, "7 x 5 array: interpolation exact at the nodes (err %.2e)", me);
    gsl_rng_free(r);
    free(img);
    free(coef);
}

/* ------------------------------------------------------------ trajectories */

static void test_trajectory_box(void) {
    traj_params p;
    traj_params_default(&p);
    const size_t B = 40, T = 1000;
    double *vel = malloc(B * T * 3 * sizeof *vel), *pos = malloc(B * (T + 1) * 2 * sizeof *pos);
    double *hd = malloc(B * (T + 1) * sizeof *hd);
    gsl_rng *r = rng_stream_alloc(1, "data", 0);
    int st = traj_generate_batch(&p, B, T, r, vel, pos, hd);
    CHECK(st == ENGRAM_OK, "traj_generate_batch 40 x 1000 steps (400k sub-steps)");
    int inside = 1;
    double lo = 1e9, hi = -1e9;
    for (size_t k = 0; k < B * (T + 1); k++) {
        double x = pos[2 * k], y = pos[2 * k + 1];
        inside &= x > -1.1 && x < 1.1 && y > -1.1 && y < 1.1;
        lo = fmin(lo, fmin(x, y));
        hi = fmax(hi, fmax(x, y));
    }
    CHECK(inside, "all 40040 positions strictly inside (-1.1, 1.1)^2 (range %.4f..%.4f)", lo, hi);
    /* Dead reckoning from the inputs reproduces positions and headings. */
    double *p2 = malloc((T + 1) * 2 * sizeof *p2), *h2 = malloc((T + 1) * sizeof *h2);
    double ep = 0, eh = 0;
    for (size_t b = 0; b < B; b++) {
        traj_integrate(vel + b * T * 3, T, pos + b * (T + 1) * 2, hd[b * (T + 1)], p2, h2);
        for (size_t t = 0; t <= T; t++) {
            ep = fmax(ep, hypot(p2[2 * t] - pos[(b * (T + 1) + t) * 2],
                                p2[2 * t + 1] - pos[(b * (T + 1) + t) * 2 + 1]));
            double d = fabs(remainder(h2[t] - hd[b * (T + 1) + t], 2 * M_PI));
            eh = fmax(eh, d);
        }
    }
    CHECK(ep < 1e-9, "integrating the egocentric inputs reproduces positions (max err %.2e m)", ep);
    CHECK(eh < 1e-9, "... and headings (max err %.2e rad)", eh);
    int unit = 1, wrapped = 1;
    for (size_t k = 0; k < B * T; k++)
        unit &= fabs(vel[3 * k + 1] * vel[3 * k + 1] + vel[3 * k + 2] * vel[3 * k + 2] - 1) < 1e-12;
    for (size_t k = 0; k < B * (T + 1); k++) wrapped &= hd[k] > -M_PI && hd[k] <= M_PI;
    CHECK(unit, "sin^2 + cos^2 of every turn input is 1");
    CHECK(wrapped, "headings lie in (-pi, pi]");
    /* Coverage: a 100-step trajectory's extent, averaged. */
    double ext = 0, path = 0;
    for (size_t b = 0; b < B; b++) {
        double xmin = 9, xmax = -9, ymin = 9, ymax = -9;
        for (size_t t = 0; t <= 100; t++) {
            const double *q = pos + (b * (T + 1) + t) * 2;
            xmin = fmin(xmin, q[0]); xmax = fmax(xmax, q[0]);
            ymin = fmin(ymin, q[1]); ymax = fmax(ymax, q[1]);
        }
        ext += fmax(xmax - xmin, ymax - ymin) / (double)B;
        for (size_t t = 0; t < 100; t++) path += vel[(b * T + t) * 3] / (double)B;
    }
    printf("     default 100-step trajectories: mean path %.3f m, mean extent %.3f m\n", path, ext);
    CHECK(ext > 0.5 && ext < 2.2, "100 steps cover a good part of the box (extent %.2f m)", ext);
    /* Same stream: batch equals successive single calls. */
    gsl_rng_free(r);
    r = rng_stream_alloc(1, "data", 0);
    double v1[50 * 3], q1[51 * 2], h1[51];
    traj_generate(&p, 50, r, v1, q1, h1);
    int same = memcmp(q1, pos, 2 * sizeof(double)) == 0; /* first item starts identically */
    gsl_rng_free(r);
    r = rng_stream_alloc(1, "data", 0);
    double *vb = malloc(3 * 50 * 3 * sizeof *vb), *qb = malloc(3 * 51 * 2 * sizeof *qb);
    double *hb = malloc(3 * 51 * sizeof *hb);
    traj_generate_batch(&p, 3, 50, r, vb, qb, hb);
    gsl_rng_free(r);
    r = rng_stream_alloc(1, "data", 0);
    for (int b = 0; b < 3; b++) {
        traj_generate(&p, 50, r, v1, q1, h1);
        same &= memcmp(v1, vb + b * 150, sizeof v1) == 0 && memcmp(q1, qb + b * 102, sizeof q1) == 0 &&
                memcmp(h1, hb + b * 51, sizeof h1) == 0;
    }
    CHECK(same, "batch of 3 equals 3 successive traj_generate calls on one stream");
    gsl_rng_free(r);
    /* Coarse steps (no sub-steps, Sorscher speeds, 0.5 s): the containment still holds. */
    p.substeps = 1;
    p.dt = 0.5;
    p.speed_scale = 2 * M_PI * 0.13;
    p.rot_std = 11.52;
    r = rng_stream_alloc(2, "data", 0);
    traj_generate_batch(&p, B, T, r, vel, pos, hd);
    inside = 1;
    for (size_t k = 0; k < B * (T + 1); k++)
        inside &= pos[2 * k] > -1.1 && pos[2 * k] < 1.1 && pos[2 * k + 1] > -1.1 && pos[2 * k + 1] < 1.1;
    CHECK(inside, "coarse steps (dt 0.5 s, Sorscher speed): positions stay inside");
    gsl_rng_free(r);
    p.substeps = 0;
    CHECK(traj_generate(&p, 5, NULL, NULL, NULL, NULL) == ENGRAM_EINVAL, "substeps 0 refused: %s",
          engram_error());
    traj_params_default(&p);
    p.wall_zone = 1.2;
    CHECK(traj_params_check(&p) == ENGRAM_EINVAL, "wall zone >= box/2 refused");
    free(vel); free(pos); free(hd); free(p2); free(h2); free(vb); free(qb); free(hb);
}

static void test_trajectory_speed(void) {
    /* One sub-step per reported step in a huge box (walls never reached in practice):
     * step length / dt is Rayleigh(scale): mean scale sqrt(pi/2), E[v^2] = 2 scale^2;
     * turn per step ~ Normal(0, rot_std dt). */
    traj_params p;
    traj_params_default(&p);
    p.box = 1000.0;
    p.substeps = 1;
    p.dt = 0.02;
    p.speed_scale = 0.2385;
    p.rot_std = 5.76;
    const size_t B = 20, T = 10000;
    double *vel = malloc(B * T * 3 * sizeof *vel);
    gsl_rng *r = rng_stream_alloc(3, "data", 0);
    traj_generate_batch(&p, B, T, r, vel, NULL, NULL);
    gsl_rng_free(r);
    double m1 = 0, m2 = 0, t1 = 0, t2 = 0;
    const double N = (double)(B * T);
    for (size_t k = 0; k < B * T; k++) {
        double v = vel[3 * k] / p.dt;
        m1 += v / N;
        m2 += v * v / N;
        double a = atan2(vel[3 * k + 1], vel[3 * k + 2]);
        t1 += a / N;
        t2 += a * a / N;
    }
    double want = p.speed_scale * sqrt(M_PI / 2);
    printf("     speed mean %.5f (Rayleigh %.5f), E[v^2] %.5f (%.5f), turn std %.5f (%.5f)\n", m1,
           want, m2, 2 * p.speed_scale * p.speed_scale, sqrt(t2 - t1 * t1), p.rot_std * p.dt);
    CHECK(fabs(m1 / want - 1) < 0.01, "mean speed %.5f within 1%% of scale*sqrt(pi/2) = %.5f", m1,
          want);
    CHECK(fabs(m2 / (2 * p.speed_scale * p.speed_scale) - 1) < 0.02,
          "E[v^2] %.5f within 2%% of 2 scale^2", m2);
    CHECK(fabs(sqrt(t2 - t1 * t1) / (p.rot_std * p.dt) - 1) < 0.02,
          "turn std %.5f within 2%% of rot_std dt = %.5f", sqrt(t2 - t1 * t1), p.rot_std * p.dt);
    /* Default box: the wall rule slows the agent only near walls; mean speed is lower
     * but within 25%. */
    traj_params_default(&p);
    p.substeps = 1;
    p.dt = 0.02;
    r = rng_stream_alloc(4, "data", 0);
    traj_generate_batch(&p, B, T, r, vel, NULL, NULL);
    gsl_rng_free(r);
    m1 = 0;
    for (size_t k = 0; k < B * T; k++) m1 += vel[3 * k] / p.dt / N;
    want = p.speed_scale * sqrt(M_PI / 2);
    CHECK(m1 < want && m1 > 0.75 * want, "2.2 m box, dt 0.02: mean speed %.4f slightly below %.4f",
          m1, want);
    free(vel);
}

/* ------------------------------------------------------------ place / HD cells */

static void test_placecells(void) {
    gsl_rng *r = rng_stream_alloc(5, "cells", 0);
    pc_ensemble *pc = pc_alloc(256, 0.01, 0.0, 2.2, r);
    CHECK(pc != NULL, "pc_alloc(256, 0.01)");
    int in_box = 1;
    for (size_t i = 0; i < 256; i++)
        in_box &= fabs(pc->centres[2 * i]) < 1.1 && fabs(pc->centres[2 * i + 1]) < 1.1;
    CHECK(in_box, "centres inside the box");
    const double pos[8] = {1.1, 1.1, -1.1, 0.0, 100.0, -250.0, 0.2385, -0.517};
    double out[4 * 256];
    pc_encode(pc, pos, 4, out);
    int finite = 1;
    double worst = 0;
    for (int rr = 0; rr < 4; rr++) {
        double s = 0;
        for (int i = 0; i < 256; i++) { finite &= isfinite(out[rr * 256 + i]) && out[rr * 256 + i] >= 0; s += out[rr * 256 + i]; }
        worst = fmax(worst, fabs(s - 1));
    }
    CHECK(finite, "sigma 0.01: finite, non-negative targets, even 270 m away");
    CHECK(worst < 1e-12, "each target sums to 1 (max |sum - 1| %.2e)", worst);
    /* The far position's target picks the nearest centre. */
    size_t best = 0, nearest = 0;
    double dmin = INFINITY;
    for (size_t i = 0; i < 256; i++) {
        if (out[2 * 256 + i] > out[2 * 256 + best]) best = i;
        double d = hypot(100.0 - pc->centres[2 * i], -250.0 - pc->centres[2 * i + 1]);
        if (d < dmin) { dmin = d; nearest = i; }
    }
    CHECK(best == nearest, "far position: the largest target is the nearest centre (%zu)", nearest);
    pc_free(pc);

    /* Wider sigma vs direct formula without the max shift (no underflow at 0.5 m). */
    pc = pc_alloc(64, 0.5, 0.0, 2.2, r);
    double o2[64], e = 0, den = 0;
    pc_encode(pc, pos + 6, 1, o2);
    for (int i = 0; i < 64; i++) {
        double dx = pos[6] - pc->centres[2 * i], dy = pos[7] - pc->centres[2 * i + 1];
        den += exp(-(dx * dx + dy * dy) / (2 * 0.25));
    }
    for (int i = 0; i < 64; i++) {
        double dx = pos[6] - pc->centres[2 * i], dy = pos[7] - pc->centres[2 * i + 1];
        e = fmax(e, fabs(o2[i] - exp(-(dx * dx + dy * dy) / 0.5) / den));
    }
    CHECK(e < 1e-14, "sigma 0.5: equals the direct softmax formula (err %.2e)", e);
    pc_free(pc);

    /* Difference of softmaxes: >= 0, sums to 1, equals Sorscher's formula. */
    pc = pc_alloc(512, 0.12, 2.0, 2.2, r);
    double *o3 = malloc(512 * sizeof *o3), *c1 = malloc(512 * sizeof *c1), *c2 = malloc(512 * sizeof *c2);
    pc_encode(pc, pos + 6, 1, o3);
    double s1 = 0, s2 = 0, qmin = INFINITY, tot = 0, s3 = 0, mn = INFINITY;
    for (int i = 0; i < 512; i++) {
        double dx = pos[6] - pc->centres[2 * i], dy = pos[7] - pc->centres[2 * i + 1];
        double d2 = dx * dx + dy * dy;
        c1[i] = exp(-d2 / (2 * 0.0144));
        c2[i] = exp(-d2 / (2 * 2 * 0.0144));
        s1 += c1[i];
        s2 += c2[i];
    }
    for (int i = 0; i < 512; i++) { c1[i] = c1[i] / s1 - c2[i] / s2; qmin = fmin(qmin, c1[i]); }
    for (int i = 0; i < 512; i++) tot += c1[i] - qmin;
    e = 0;
    for (int i = 0; i < 512; i++) {
        e = fmax(e, fabs(o3[i] - (c1[i] - qmin) / tot));
        s3 += o3[i];
        mn = fmin(mn, o3[i]);
    }
    CHECK(e < 1e-14 && fabs(s3 - 1) < 1e-12 && mn >= 0,
          "DoG (surround 2): equals Sorscher's formula (err %.2e), sums to 1, min %.2g", e, mn);
    free(o3); free(c1); free(c2);
    pc_free(pc);
    CHECK(pc_alloc(10, 0.1, 0.5, 2.2, r) == NULL, "surround 0.5 refused: %s", engram_error());
    CHECK(pc_alloc(10, 0.0, 0.0, 2.2, r) == NULL, "sigma 0 refused");
    double bad[2] = {NAN, 0};
    pc = pc_alloc(4, 0.1, 0, 2.2, r);
    CHECK(pc_encode(pc, bad, 1, o2) == ENGRAM_EINVAL, "NaN position refused");
    pc_free(pc);
    gsl_rng_free(r);
}

static void test_decode(void) {
    gsl_rng *r = rng_stream_alloc(6, "cells", 0);
    pc_ensemble *pc = pc_alloc(256, 0.01, 0.0, 2.2, r);
    double one[256] = {0}, out[2];
    one[137] = 1.0;
    pc_decode(pc, one, 1, 1, out);
    CHECK(out[0] == pc->centres[274] && out[1] == pc->centres[275],
          "one-hot at cell 137, k = 1: decodes to its centre exactly");
    double three[256] = {0};
    three[5] = 0.5; three[200] = 0.3; three[77] = 0.2;
    pc_decode(pc, three, 1, 3, out);
    CHECK_CLOSE(out[0], (pc->centres[10] + pc->centres[400] + pc->centres[154]) / 3, 1e-15,
                "top-3 decode: mean x of the three active centres");
    CHECK_CLOSE(out[1], (pc->centres[11] + pc->centres[401] + pc->centres[155]) / 3, 1e-15,
                "top-3 decode: mean y");
    /* Encode the centre of cell 137: k = 1 decodes exactly to it. */
    double enc[256];
    pc_encode(pc, pc->centres + 274, 1, enc);
    pc_decode(pc, enc, 1, 1, out);
    CHECK(out[0] == pc->centres[274] && out[1] == pc->centres[275],
          "target at a centre, k = 1: decodes to that centre");
    double err0 = pc_decode_error_cm(pc, enc, pc->centres + 274, 1, 1);
    CHECK(err0 == 0.0, "decode error of that target is 0 cm");
    /* Decode error of the true targets on random positions, k = 3 (irreducible error). */
    const size_t R = 2000;
    double *pos = malloc(R * 2 * sizeof *pos), *tg = malloc(R * 256 * sizeof *tg);
    for (size_t i = 0; i < 2 * R; i++) pos[i] = 2.2 * (gsl_rng_uniform(r) - 0.5);
    pc_encode(pc, pos, R, tg);
    double e3 = pc_decode_error_cm(pc, tg, pos, R, 3), e1 = pc_decode_error_cm(pc, tg, pos, R, 1);
    printf("     decode error of exact targets: k=1 %.2f cm, k=3 %.2f cm (256 cells)\n", e1, e3);
    CHECK(e1 > 0 && e1 < 15 && e3 > 0 && e3 < 20, "exact-target decode errors are a few cm");
    CHECK(pc_decode(pc, one, 1, 0, out) == ENGRAM_EINVAL, "k = 0 refused");
    CHECK(isnan(pc_decode_error_cm(pc, tg, pos, 0, 3)), "0 rows: NaN error");
    free(pos); free(tg);
    pc_free(pc);

    hd_ensemble *h = hdc_alloc(12, 20.0, r);
    double hd[3] = {0.0, 3.1, -2.385}, o[36];
    hdc_encode(h, hd, 3, o);
    double worst = 0;
    int peak = 1;
    for (int rr = 0; rr < 3; rr++) {
        double s = 0;
        size_t b = 0, nearest = 0;
        double dm = INFINITY;
        for (int j = 0; j < 12; j++) {
            s += o[rr * 12 + j];
            if (o[rr * 12 + j] > o[rr * 12 + b]) b = (size_t)j;
            double d = fabs(remainder(hd[rr] - h->centres[j], 2 * M_PI));
            if (d < dm) { dm = d; nearest = (size_t)j; }
        }
        worst = fmax(worst, fabs(s - 1));
        peak &= b == nearest;
    }
    CHECK(worst < 1e-12, "HD targets sum to 1 (err %.2e)", worst);
    CHECK(peak, "HD target peaks at the nearest preferred direction");
    double hdd;
    double onehd[12] = {0};
    onehd[4] = 1;
    hdc_decode(h, onehd, 1, 1, &hdd);
    CHECK_CLOSE(hdd, h->centres[4], 1e-15, "HD one-hot decodes to its direction");
    hdc_free(h);
    gsl_rng_free(r);
}

/* ------------------------------------------------------------ rate maps */

static void test_ratemap(void) {
    const size_t n = 20, U = 3, S = 50000;
    ratemap_acc *acc = ratemap_alloc(U, n, -1.1, 1.1);
    double *act = malloc(S * U * sizeof *act), *pos = malloc(S * 2 * sizeof *pos);
    gsl_rng *r = rng_stream_alloc(12, "test", 0);
    for (size_t s = 0; s < S; s++) {
        double x = 2.2 * (gsl_rng_uniform(r) - 0.5), y = 2.2 * (gsl_rng_uniform(r) - 0.5);
        if (x > 0.55 && y > 0.55) x = -x; /* leave the top-right corner unvisited */
        pos[2 * s] = x;
        pos[2 * s + 1] = y;
        act[s * U] = x;
        act[s * U + 1] = y;
        act[s * U + 2] = 2.385;
    }
    gsl_rng_free(r);
    /* Add in two batches (streaming). */
    ratemap_add(acc, act, pos, S / 2);
    ratemap_add(acc, act + (S / 2) * U, pos + S, S - S / 2);
    double *maps = malloc(U * n * n * sizeof *maps);
    ratemap_finalise(acc, maps);
    const double w = 2.2 / n;
    double ex = 0, ey = 0;
    int nan_ok = 1, c_ok = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double cx = -1.1 + (i + 0.5) * w, cy = -1.1 + (j + 0.5) * w;
            int unvisited = cx > 0.55 && cy > 0.55;
            double mx = maps[i * n + j], my = maps[n * n + i * n + j], mc = maps[2 * n * n + i * n + j];
            if (unvisited) { nan_ok &= isnan(mx) && isnan(my) && isnan(mc); continue; }
            ex = fmax(ex, fabs(mx - cx));
            ey = fmax(ey, fabs(my - cy));
            c_ok &= fabs(mc - 2.385) < 1e-12;
        }
    CHECK(ex < w / 2 && ey < w / 2,
          "activation = x (unit 0), = y (unit 1): bin means within half a bin of the centres "
          "(max %.4f, %.4f; bin %.3f)", ex, ey, w);
    CHECK(ex < 0.02 && ey < 0.02, "... and close to them (uniform samples): %.4f, %.4f", ex, ey);
    CHECK(nan_ok, "unvisited bins (x, y > 0.55) are NaN");
    CHECK(c_ok, "constant activation gives a constant map");
    double cnt[400], tot = 0;
    ratemap_counts(acc, cnt);
    for (int k = 0; k < 400; k++) tot += cnt[k];
    CHECK(tot == (double)S, "counts sum to the number of samples (%.0f)", tot);
    /* Edges: x = hi goes to the last bin, x outside is skipped. */
    ratemap_reset(acc);
    double pe[6] = {1.1, -1.1, 1.2, 0.0, 0.0, NAN}, ae[9] = {5, 5, 5, 7, 7, 7, 9, 9, 9};
    ratemap_add(acc, ae, pe, 3);
    ratemap_finalise(acc, maps);
    size_t visited = 0;
    for (int k = 0; k < 400; k++) visited += !isnan(maps[k]);
    CHECK(visited == 1 && maps[19 * 20 + 0] == 5.0,
          "x = hi lands in the last bin; outside and NaN positions are skipped");
    ratemap_free(acc);
    CHECK(ratemap_alloc(1, 20, 1.0, 1.0) == NULL, "lo == hi refused");
    free(act); free(pos); free(maps);

    /* A call large enough for the threaded path: same bytes with 1 and 2 threads. */
    const size_t U2 = 100, S2 = 42000;
    double *a2 = malloc(U2 * S2 * sizeof *a2), *p2 = malloc(2 * S2 * sizeof *p2);
    gsl_rng *r2 = rng_stream_alloc(13, "test", 0);
    for (size_t k = 0; k < 2 * S2; k++) p2[k] = 2.2 * (gsl_rng_uniform(r2) - 0.5);
    for (size_t k = 0; k < U2 * S2; k++) a2[k] = gsl_rng_uniform(r2) * 2.385;
    gsl_rng_free(r2);
    double *m1 = malloc(U2 * n * n * sizeof *m1), *m2 = malloc(U2 * n * n * sizeof *m2);
    ratemap_acc *acc2 = ratemap_alloc(U2, n, -1.1, 1.1);
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    ratemap_add(acc2, a2, p2, S2);
    ratemap_finalise(acc2, m1);
    ratemap_reset(acc2);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    ratemap_add(acc2, a2, p2, S2);
    ratemap_finalise(acc2, m2);
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    CHECK(memcmp(m1, m2, U2 * n * n * sizeof *m1) == 0,
          "ratemap_add (100 units x 42000 samples): identical bytes with 1 and 2 threads");
    ratemap_free(acc2);
    free(a2); free(p2); free(m1); free(m2);
}

/* ------------------------------------------------------------ figures and CSV */

static void test_figure_and_csv(void) {
    const size_t n = 20, U = 20;
    double *maps = malloc(U * n * n * sizeof *maps);
    for (size_t u = 0; u < U; u++) {
        if (u % 2) hex_map(maps + u * n * n, n, 5.0 + 0.3 * (double)u, 0.2 * (double)u, 0.5);
        else square_map(maps + u * n * n, n, 5.0 + 0.3 * (double)u, 0.2 * (double)u, 0.5);
    }
    maps[3 * n * n + 17] = NAN;
    gridscorer *gs = gridscorer_alloc(n, GRIDSCORE_SPLINE3);
    gridscore_result *res = calloc(U, sizeof *res);
    gridscore_maps(gs, maps, U, res, NULL);
    char png[64], csv[64];
    snprintf(png, sizeof png, "/tmp/engram_test_grid_%d.png", (int)getpid());
    snprintf(csv, sizeof csv, "/tmp/engram_test_grid_%d.csv", (int)getpid());
    int st = gridfig_write(png, csv, maps, U, gs, res, NULL);
    CHECK(st == ENGRAM_OK, "gridfig_write: %s", st == ENGRAM_OK ? "ok" : engram_error());
    image *im = image_read_png(png);
    CHECK(im != NULL && im->width > 16 * 80 && im->height > 2 * 80,
          "figure readable, %zu x %zu px (16 tiles per row, maps and SACs)", im ? im->width : 0,
          im ? im->height : 0);
    /* Black ring pixels exist (circles of the best ring). */
    size_t black = 0;
    if (im)
        for (size_t k = 0; k < im->width * im->height; k++)
            black += im->rgb[3 * k] == 0 && im->rgb[3 * k + 1] == 0 && im->rgb[3 * k + 2] == 0;
    CHECK(black > 100, "figure has black pixels (ring circles, titles): %zu", black);
    image_free(im);
    FILE *f = fopen(csv, "r");
    char line[256] = "";
    int rows = 0;
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        char l2[256];
        while (fgets(l2, sizeof l2, f)) rows++;
        fclose(f);
    }
    CHECK(strncmp(line, "unit,score60,score90", 20) == 0, "CSV header starts unit,score60,score90");
    CHECK(rows == (int)U, "CSV has %d rows", rows);
    unlink(png);
    unlink(csv);
    CHECK(gridscore_count_above(res, U, 0.3) >= U / 2 - 2, "about half the units (hexagons) score > 0.3");
    free(maps); free(res);
    gridscorer_free(gs);
}


/* ------------------------------------------------------------ published reference values */

/* Expected values computed with Debian's python3-scipy 1.10.1: scipy.ndimage.rotate(a,
 * angle, reshape=False) on a[i][j] = sin(0.37 i) + cos(0.23 j^2 / 39) + 0.05 i j / 39
 * (39 x 39), and DeepMind's scores.py GridScorer (grid-cells d1a2304, re-typed; masks
 * starts [0.2]*10, ends linspace(0.4, 1.0, 10), nbins 20) on hex_map / square_map
 * above. Over 60 random noisy lattices the same scorer agreed with engram to 5e-10
 * (score60, score90) with identical best rings. */
static void test_scipy_reference(void) {
    const size_t S = 39;
    double a[39 * 39], out[39 * 39], work[39 * 39];
    for (size_t i = 0; i < S; i++)
        for (size_t j = 0; j < S; j++)
            a[i * S + j] = sin(0.37 * (double)i) + cos(0.23 * (double)(j * j) / 39.0) +
                           0.05 * (double)(i * j) / 39.0;
    static const int pts[7][2] = {{19, 19}, {5, 30}, {30, 7}, {12, 12}, {2, 20}, {36, 36}, {19, 3}};
    static const double want30[7] = {0.61248351939221823, -0.032137670912016296,
                                     1.9747847417019537, -0.16706938082278877,
                                     1.1871240152034823, 0, 0.25972606125012676};
    static const double want173[7] = {0.61248351939221712, 1.1522505328179025,
                                      0.96629048420719688, -0.071351587582615866,
                                      0.15119803566996223, 0, 0.21594027446699601};
    double e30 = 0, e173 = 0;
    gridscore_rotate(a, S, 30.0, GRIDSCORE_SPLINE3, out, work);
    for (int k = 0; k < 7; k++) e30 = fmax(e30, fabs(out[pts[k][0] * S + pts[k][1]] - want30[k]));
    gridscore_rotate(a, S, 17.3, GRIDSCORE_SPLINE3, out, work);
    for (int k = 0; k < 7; k++) e173 = fmax(e173, fabs(out[pts[k][0] * S + pts[k][1]] - want173[k]));
    CHECK(e30 < 1e-12, "rotation by 30 equals scipy.ndimage.rotate at 7 points (err %.2e)", e30);
    CHECK(e173 < 1e-12, "rotation by 17.3 equals scipy.ndimage.rotate at 7 points (err %.2e)", e173);

    gridscorer *gs = gridscorer_alloc(20, GRIDSCORE_SPLINE3);
    double *w = malloc(gridscore_work_size(gs) * sizeof *w), m[400];
    gridscore_result r;
    hex_map(m, 20, 8.0, 0.31, 0.7);
    gridscore_map(gs, m, &r, NULL, w);
    CHECK(fabs(r.score60 - 1.4306774490724246) < 1e-9 && fabs(r.score90 - 0.17715016651510601) < 1e-9 &&
              fabs(r.ring_outer - 12.0) < 1e-9 && fabs(r.ring_outer90 - 20.0) < 1e-9,
          "hexagonal map: scores.py gives 1.43067745 / 0.17715017, rings 12 / 20 (got %.8f / %.8f)",
          r.score60, r.score90);
    square_map(m, 20, 8.0, 0.23, 0.9);
    gridscore_map(gs, m, &r, NULL, w);
    CHECK(fabs(r.score60 - -0.30278374458282242) < 1e-9 && fabs(r.score90 - 1.6996192315807994) < 1e-9 &&
              fabs(r.ring_outer - 20.0) < 1e-9 && fabs(r.ring_outer90 - 8.0) < 1e-9,
          "square map: scores.py gives -0.30278374 / 1.69961923, rings 20 / 8 (got %.8f / %.8f)",
          r.score60, r.score90);
    hex_map(m, 20, 6.3, 1.1, 2.2);
    gridscore_map(gs, m, &r, NULL, w);
    CHECK(fabs(r.score60 - 1.5283996414808483) < 1e-9 && fabs(r.score90 - 0.22212404512216863) < 1e-9,
          "hexagonal map 2: scores.py gives 1.52839964 / 0.22212405 (got %.8f / %.8f)", r.score60,
          r.score90);
    free(w);
    gridscorer_free(gs);
}

/* ------------------------------------------------------------ command line */

static void test_cli(void) {
    const size_t n = 20, U = 4;
    double *maps = malloc(U * n * n * sizeof *maps);
    for (size_t u = 0; u < U; u++) hex_map(maps + u * n * n, n, 6.0 + (double)u, 0.3 * (double)u, 0.1);
    maps[n * n + 5] = NAN;
    char dir[64], in[96], out[96], png[96], bad[96], csvside[96];
    snprintf(dir, sizeof dir, "/tmp/engram_test_cli_%d", (int)getpid());
    snprintf(in, sizeof in, "%s_maps.npy", dir);
    snprintf(out, sizeof out, "%s_scores.csv", dir);
    snprintf(png, sizeof png, "%s_fig.png", dir);
    snprintf(csvside, sizeof csvside, "%s_fig.csv", dir);
    snprintf(bad, sizeof bad, "%s_bad.npy", dir);
    size_t shape[3] = {U, n, n}, bshape[3] = {2, 3, 4};
    npy_write(in, maps, 3, shape);
    npy_write(bad, maps, 3, bshape);
    char *a1[] = {"gridscore", in, "--out", out, NULL};
    CHECK(cmd_gridscore(4, a1) == 0, "engram gridscore maps.npy --out scores.csv: exit 0");
    FILE *f = fopen(out, "r");
    char line[256] = "";
    int rows = 0, ok = 1;
    gridscorer *gs = gridscorer_alloc(n, GRIDSCORE_SPLINE3);
    gridscore_result res[4];
    gridscore_maps(gs, maps, U, res, NULL);
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        size_t u;
        double s60, s90, ri, ro, pr;
        while (fscanf(f, "%zu,%lf,%lf,%lf,%lf,%lf%*[^\n]", &u, &s60, &s90, &ri, &ro, &pr) == 6) {
            ok &= u == (size_t)rows && fabs(s60 - res[u].score60) < 1e-9 &&
                  fabs(s90 - res[u].score90) < 1e-9 && fabs(ro - res[u].ring_outer) < 1e-8 &&
                  fabs(pr - res[u].plane_r2) < 1e-9;
            rows++;
        }
        fclose(f);
    }
    CHECK(strcmp(line, "unit,score60,score90,ring_inner,ring_outer,plane_r2,spacing_bins,"
                 "orientation_deg,ellipticity\n") == 0 && rows == 4 && ok,
          "gridscores CSV: header and 4 rows equal to gridscore_maps");
    char *a2[] = {"gridscore", bad, NULL};
    CHECK(cmd_gridscore(2, a2) == 2, "wrong shape (2, 3, 4): exit 2");
    char *a3[] = {"gridscore", "/nonexistent/none.npy", NULL};
    CHECK(cmd_gridscore(2, a3) == 1, "missing file: exit 1");
    char foreign[96];
    snprintf(foreign, sizeof foreign, "%s_foreign.npy", dir);
    FILE *ff = fopen(foreign, "w");
    if (ff) { fputs("not numpy", ff); fclose(ff); }
    char *a3b[] = {"gridscore", foreign, NULL};
    CHECK(cmd_gridscore(2, a3b) == 1, "foreign .npy: exit 1");
    unlink(foreign);
    char *a4[] = {"gridscore", NULL};
    CHECK(cmd_gridscore(1, a4) == 2, "no file: exit 2");
    char *a5[] = {"render", "ratemaps", in, "--out", png, NULL};
    CHECK(cmd_render(5, a5) == 0, "engram render ratemaps: exit 0");
    image *im = image_read_png(png);
    CHECK(im != NULL, "render ratemaps wrote a PNG (%zu x %zu)", im ? im->width : 0,
          im ? im->height : 0);
    image_free(im);
    CHECK(access(csvside, R_OK) == 0, "render ratemaps wrote the CSV sidecar next to the PNG");
    char *a6[] = {"render", "sac", in, "--out", png, "--cmap", "viridis", NULL};
    CHECK(cmd_render(7, a6) == 0, "engram render sac --cmap viridis: exit 0");
    char *a7[] = {"render", "heatmap", in, "--out", png, NULL};
    CHECK(cmd_render(5, a7) == 0, "engram render heatmap (3-D tiles): exit 0");
    char *a8[] = {"render", "curve", in, "--out", png, NULL};
    CHECK(cmd_render(5, a8) == 2, "render curve of a 3-D array: exit 2");
    char *a9[] = {"render", "wibble", in, "--out", png, NULL};
    CHECK(cmd_render(5, a9) == 2, "unknown WHAT: exit 2");
    char *a10[] = {"render", "ratemaps", in, NULL};
    CHECK(cmd_render(3, a10) == 2, "missing --out: exit 2");
    unlink(in); unlink(out); unlink(png); unlink(bad); unlink(csvside);
    gridscorer_free(gs);
    free(maps);
}

/* Plane fits: a ramp gives R^2 = 1 (with and without empty bins), a ramp plus a known
 * orthogonal ripple gives the closed-form fraction, a hexagonal map is far from planar;
 * a ramp's spurious 60-degree score is left out of the non-planar grid count. */
static void test_plane_r2(void) {
    const size_t n = 20;
    double m[400], hex[400];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) m[i * n + j] = 0.37 + 2.385 * (double)i - 1.25 * (double)j;
    CHECK_CLOSE(gridscore_plane_r2(m, n), 1.0, 1e-12, "ramp: plane R^2");
    m[3] = m[77] = m[250] = NAN;
    CHECK_CLOSE(gridscore_plane_r2(m, n), 1.0, 1e-12, "ramp with 3 empty bins: plane R^2");
    /* z = i + a * s(j) with s = +1/-1 alternating in j (orthogonal to 1, i and j over the
     * full grid up to the j-trend of s): R^2 computed independently by GSL's multifit. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) m[i * n + j] = (double)i + 3.0 * ((j % 2) ? 1.0 : -1.0);
    double r2 = gridscore_plane_r2(m, n);
    gsl_matrix *X = gsl_matrix_alloc(n * n, 3);
    gsl_vector *y = gsl_vector_alloc(n * n), *cf = gsl_vector_alloc(3);
    gsl_matrix *cov = gsl_matrix_alloc(3, 3);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(n * n, 3);
    for (size_t k = 0; k < n * n; k++) {
        gsl_matrix_set(X, k, 0, 1.0);
        gsl_matrix_set(X, k, 1, (double)(k / n));
        gsl_matrix_set(X, k, 2, (double)(k % n));
        gsl_vector_set(y, k, m[k]);
    }
    double chisq;
    gsl_multifit_linear(X, y, cf, cov, &chisq, w);
    double tss = gsl_stats_tss(m, 1, n * n);
    CHECK_CLOSE(r2, 1.0 - chisq / tss, 1e-12, "ramp plus ripple: R^2 equals GSL multifit");
    gsl_multifit_linear_free(w); gsl_matrix_free(X); gsl_matrix_free(cov);
    gsl_vector_free(y); gsl_vector_free(cf);
    hex_map(hex, n, 8.0, 0.31, 0.7);
    double rh = gridscore_plane_r2(hex, n);
    CHECK(rh < 0.2, "hexagonal map is not planar: R^2 %.4f", rh);
    double nanmap[400];
    for (size_t k = 0; k < 400; k++) nanmap[k] = NAN;
    CHECK(isnan(gridscore_plane_r2(nanmap, n)), "empty map: R^2 is NaN");
    /* Counting: a ramp and a hexagon, both above the threshold. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) m[i * n + j] = (double)i + 0.5 * (double)j;
    double both[800];
    memcpy(both, m, sizeof m);
    memcpy(both + 400, hex, sizeof hex);
    gridscorer *gs = gridscorer_alloc(n, GRIDSCORE_SPLINE3);
    gridscore_result res[2];
    gridscore_maps(gs, both, 2, res, NULL);
    printf("     ramp: score60 %.3f plane_r2 %.4f; hexagon: score60 %.3f plane_r2 %.4f\n",
           res[0].score60, res[0].plane_r2, res[1].score60, res[1].plane_r2);
    size_t above = gridscore_count_above(res, 2, -10), grid = gridscore_count_grid(res, 2, -10, 0.9);
    CHECK(above == 2 && grid == 1, "count_grid leaves the ramp out (%zu above threshold, %zu non-planar)", above, grid);
    gridscorer_free(gs);
}

/* ------------------------------------------------------------ lattice statistics */

/* Synthetic lattices of known spacing and orientation: hex_map's waves of wavelength
 * lam at angles theta + 0, 60, 120 degrees make a lattice of spacing 2 lam / sqrt(3)
 * whose nearest peaks lie at theta + 30 (mod 60) degrees. */
static void test_lattice_geometry(void) {
    const size_t n = 20, S = 2 * n - 1;
    double m[400], sac[39 * 39];
    const double lams[3] = {4.3, 5.2, 6.1}, thetas[3] = {7.0, 21.0, 44.0};
    for (int k = 0; k < 3; k++) {
        hex_map(m, n, lams[k], thetas[k] * M_PI / 180.0, 0.37 * k + 0.2);
        gridscore_sac(m, n, 2, sac);
        double sp, orient, ell;
        int np = gridscore_sac_peaks(sac, S, &sp, &orient, &ell);
        double want_sp = 2.0 * lams[k] / sqrt(3.0), want_or = fmod(thetas[k] + 30.0, 60.0);
        double dor = fabs(orient - want_or);
        if (dor > 30) dor = 60 - dor;
        CHECK(np >= 6 && fabs(sp - want_sp) < 1.0 && dor < 3.0 && ell < 0.15,
              "lattice %.2f bins at %.0f deg: measured spacing %.2f (within a bin), orientation "
              "%.1f (want %.1f, within 3 deg), ellipticity %.3f", want_sp, want_or, sp, orient,
              want_or, ell);
    }
    /* A stretched lattice (y scaled by 1.4) is measured as elliptic. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = 0, k0 = 2 * M_PI / 5.0;
            for (int w = 0; w < 3; w++) {
                double a = 0.2 + w * M_PI / 3;
                v += cos(k0 * (cos(a) * (double)i + sin(a) * (double)j / 1.4));
            }
            m[i * n + j] = v;
        }
    gridscore_sac(m, n, 2, sac);
    double sp, orient, ell;
    gridscore_sac_peaks(sac, S, &sp, &orient, &ell);
    CHECK(ell > 0.2, "lattice stretched 1.4x along y: ellipticity %.3f > 0.2", ell);
}

/* Quantiles (numpy.percentile, linear), map correlation, and the shuffle null of a
 * hexagonal map: its permuted bins score far below the map itself. */
static void test_null_and_stability(void) {
    double v[6] = {3, 1, NAN, 5, 2, 4}, w[6];
    CHECK(fabs(gridscore_quantile(v, 6, 0.25, w) - 2.0) < 1e-15 &&
          fabs(gridscore_quantile(v, 6, 0.9, w) - 4.6) < 1e-12 &&
          fabs(gridscore_quantile(v, 6, 0.5, w) - 3.0) < 1e-15,
          "quantiles of {1..5} (NaN ignored): 25%% = 2, 50%% = 3, 90%% = 4.6 as numpy.percentile");
    const size_t n = 20, nn = n * n;
    double *maps = malloc(2 * nn * sizeof *maps), neg[400];
    hex_map(maps, n, 5.3, 0.3, 0.5);
    hex_map(maps + nn, n, 4.1, 0.9, 1.1);
    for (size_t q = 0; q < nn; q++) neg[q] = -2.0 * maps[q] + 1.0;
    CHECK(fabs(gridscore_map_corr(maps, maps, n) - 1.0) < 1e-12 &&
          fabs(gridscore_map_corr(maps, neg, n) + 1.0) < 1e-12,
          "split-half correlation: identical maps 1, negated maps -1");
    gridscorer *gs = gridscorer_alloc(n, GRIDSCORE_SPLINE3);
    gridscore_result res[2];
    gridscore_maps(gs, maps, 2, res, NULL);
    gsl_rng *r = rng_stream_alloc(5, "null", 0);
    double null[200], wq[200];
    gridscore_shuffle_null(gs, maps, 2, 200, r, null);
    double p99 = gridscore_quantile(null, 200, 0.99, wq), p95 = gridscore_quantile(null, 200, 0.95, wq);
    CHECK(p99 < 0.7 && p95 <= p99 && res[0].score60 > p99 + 0.5 && res[1].score60 > p99 + 0.5,
          "shuffle null of two hexagonal maps: 95th %.3f, 99th %.3f, far below their scores %.3f, %.3f",
          p95, p99, res[0].score60, res[1].score60);
    gsl_rng_free(r);
    gridscorer_free(gs);
    free(maps);
}

/* In-place 2-D FFT of an (N, N) complex array (interleaved re, im), N a power of 2. */
static void fft2(double *a, size_t N, int inverse, double *col) {
    for (size_t i = 0; i < N; i++) {
        if (inverse) gsl_fft_complex_radix2_inverse(a + 2 * i * N, 1, N);
        else gsl_fft_complex_radix2_forward(a + 2 * i * N, 1, N);
    }
    for (size_t j = 0; j < N; j++) {
        for (size_t i = 0; i < N; i++) { col[2 * i] = a[2 * (i * N + j)]; col[2 * i + 1] = a[2 * (i * N + j) + 1]; }
        if (inverse) gsl_fft_complex_radix2_inverse(col, 1, N);
        else gsl_fft_complex_radix2_forward(col, 1, N);
        for (size_t i = 0; i < N; i++) { a[2 * (i * N + j)] = col[2 * i]; a[2 * (i * N + j) + 1] = col[2 * i + 1]; }
    }
}

/* The mechanism oracle of Sorscher et al. 2023 (pattern_formation.ipynb): non-negative
 * pattern formation g <- relu(g + lr (C * g - g)), renormalised, where C is the
 * spatial covariance of difference-of-softmax place cells (sigma 0.12 m, surround
 * variance ratio 2). For dense centres C's Fourier transform is |DoS~(k)|^2 with
 * DoS~(k) = exp(-k^2 s^2 / 2) - exp(-k^2 2 s^2 / 2), a ring at k = sqrt(2 ln 2)/sigma
 * (spacing 4 pi / (sqrt 3 k) = 0.74 m); ReLU dynamics select hexagons on that ring.
 * On a 32 x 32 periodic sheet of 2.2 m, some of 8 random starts must score > 1. */
static void test_pattern_formation(void) {
    const size_t N = 32;
    const double L = 2.2, sig = 0.12;
    double *F = malloc(N * N * sizeof *F), *a = malloc(2 * N * N * sizeof *a);
    double *g = malloc(N * N * sizeof *g), col[64], fmax_ = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double ki = 2 * M_PI / L * (double)(i <= N / 2 ? (long)i : (long)i - (long)N);
            double kj = 2 * M_PI / L * (double)(j <= N / 2 ? (long)j : (long)j - (long)N);
            double k2 = ki * ki + kj * kj;
            double d = exp(-k2 * sig * sig / 2) - exp(-k2 * 2 * sig * sig / 2);
            F[i * N + j] = d * d;
            if (F[i * N + j] > fmax_) fmax_ = F[i * N + j];
        }
    for (size_t q = 0; q < N * N; q++) F[q] /= fmax_; /* top of the ring = 1 */
    gridscorer *gs = gridscorer_alloc(N, GRIDSCORE_SPLINE3);
    gsl_rng *r = rng_stream_alloc(11, "pattern", 0);
    double best = -INFINITY, best_sp = NAN;
    size_t above1 = 0;
    const int starts = 8;
    for (int s = 0; s < starts; s++) {
        for (size_t q = 0; q < N * N; q++) g[q] = gsl_rng_uniform(r);
        for (int it = 0; it < 400; it++) {
            for (size_t q = 0; q < N * N; q++) { a[2 * q] = g[q]; a[2 * q + 1] = 0; }
            fft2(a, N, 0, col);
            for (size_t q = 0; q < N * N; q++) { a[2 * q] *= F[q]; a[2 * q + 1] *= F[q]; }
            fft2(a, N, 1, col);
            double nrm = 0;
            for (size_t q = 0; q < N * N; q++) {
                double v = g[q] + 0.5 * (a[2 * q] - g[q]);
                g[q] = v > 0 ? v : 0;
                nrm += g[q] * g[q];
            }
            nrm = sqrt(nrm / (double)(N * N));
            for (size_t q = 0; q < N * N && nrm > 0; q++) g[q] /= nrm;
        }
        gridscore_result res;
        double *w = malloc(gridscore_work_size(gs) * sizeof *w);
        gridscore_map(gs, g, &res, NULL, w);
        free(w);
        above1 += res.score60 > 1.0;
        if (res.score60 > best) { best = res.score60; best_sp = res.spacing * L / (double)N; }
    }
    CHECK(best > 1.0, "pattern formation on the DoS covariance: best of %d starts scores %.3f > 1 "
          "(%zu above 1), spacing %.2f m (theory 0.74 m)", starts, best, above1, best_sp);
    gsl_rng_free(r);
    gridscorer_free(gs);
    free(F); free(a); free(g);
}

/* A fixed-seed short training of a small rate-RNN path integrator on the gridcells-rnn
 * recipe (DoS targets, z-scored start code, velocity in m/s; Adam at 1e-2 for
 * the small net): the cross-entropy must fall below that of the best constant guess
 * (the mean target of the batch), which a network that ignores its inputs cannot beat. */
static void test_rnn_training(void) {
    const size_t B = 50, T = 10, P = 64, H = 64;
    traj_params tp;
    traj_params_default(&tp);
    tp.dt = 0.02; tp.substeps = 1; tp.speed_scale = 0.8168; tp.rot_std = 11.52;
    gsl_rng *rc = rng_stream_alloc(8341, "cells", 0), *rd = rng_stream_alloc(3, "data", 0);
    pc_ensemble *pc = pc_alloc(P, 0.2, 2.0, tp.box, rc);
    pathint_dims d = {2, H, H, P, 0, PATHINT_RNN};
    pathint *m = pathint_alloc(&d, B, T);
    pathint_init_weights(m, 3);
    m->dropout = 0;
    m->weight_decay = 2e-4;
    optim_params op = optim_defaults(OPTIM_ADAM);
    op.lr = 1e-2;
    optim *o = optim_alloc(&op, m->n_params);
    double *vel = malloc(B * T * 3 * sizeof *vel), *pos = malloc(B * (T + 1) * 2 * sizeof *pos);
    double *hd = malloc(B * (T + 1) * sizeof *hd), *inp = malloc(B * T * 2 * sizeof *inp);
    double *pc0 = malloc(B * P * sizeof *pc0), *pct = malloc(B * T * P * sizeof *pct);
    double *ybar = malloc(P * sizeof *ybar), dummy = 0;
    double first = NAN, last_ce = 0, chance = 0;
    const int steps = 100;
    for (int s = 0; s < steps; s++) {
        traj_generate_batch(&tp, B, T, rd, vel, pos, hd);
        pc_encode_steps(pc, pos, B, T, pc0, pct);
        for (size_t b = 0; b < B; b++) {
            double *r = pc0 + b * P, mu = 0, var = 0;
            for (size_t i = 0; i < P; i++) mu += r[i] / (double)P;
            for (size_t i = 0; i < P; i++) var += (r[i] - mu) * (r[i] - mu) / (double)P;
            for (size_t i = 0; i < P; i++) r[i] = (r[i] - mu) / sqrt(var);
            for (size_t t = 0; t < T; t++) {
                const double *p = pos + (b * (T + 1) + t) * 2;
                inp[(b * T + t) * 2] = (p[2] - p[0]) / tp.dt;
                inp[(b * T + t) * 2 + 1] = (p[3] - p[1]) / tp.dt;
            }
        }
        double loss;
        pathint_forward(m, B, inp, pc0, &dummy, pct, &dummy, 0, &loss);
        if (s == 0) first = m->ce;
        if (s >= steps - 20) {
            last_ce += m->ce / 20.0;
            /* chance: cross-entropy of the targets against their batch mean */
            for (size_t i = 0; i < P; i++) ybar[i] = 0;
            for (size_t q = 0; q < B * T; q++)
                for (size_t i = 0; i < P; i++) ybar[i] += pct[q * P + i] / (double)(B * T);
            double ce = 0;
            for (size_t q = 0; q < B * T; q++)
                for (size_t i = 0; i < P; i++) ce -= pct[q * P + i] * log(ybar[i]);
            chance += ce / (double)(B * T) / 20.0;
        }
        pathint_backward(m, pct, &dummy);
        optim_step(o, m->params, m->grads);
    }
    CHECK(last_ce < chance - 0.01, "RNN path integrator, %d updates (seed 3): cross-entropy %.4f "
          "(start %.4f) below the best constant guess %.4f (ln P = %.4f)", steps, last_ce, first,
          chance, log((double)P));
    free(vel); free(pos); free(hd); free(inp); free(pc0); free(pct); free(ybar);
    optim_free(o); pathint_free(m); pc_free(pc); gsl_rng_free(rc); gsl_rng_free(rd);
}

static const test_case tests[] = {
    {"lattice_geometry", test_lattice_geometry},
    {"null_and_stability", test_null_and_stability},
    {"pattern_formation", test_pattern_formation},
    {"rnn_training", test_rnn_training},
    {"ring_counts", test_ring_counts},
    {"plane_r2", test_plane_r2},
    {"hex_and_square_scores", test_hex_and_square_scores},
    {"scores_thread_independent", test_scores_thread_independent},
    {"sac_reference", test_sac_reference},
    {"sac_empty_bins", test_sac_empty_bins},
    {"rotation", test_rotation},
    {"spline_polynomial", test_spline_polynomial},
    {"trajectory_box", test_trajectory_box},
    {"trajectory_speed", test_trajectory_speed},
    {"placecells", test_placecells},
    {"decode", test_decode},
    {"ratemap", test_ratemap},
    {"figure_and_csv", test_figure_and_csv},
    {"scipy_reference", test_scipy_reference},
    {"cli", test_cli},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
