/* gridscore.c: rate maps, spatial autocorrelograms, spline rotation and DeepMind grid
 * scores (gridscore.h). */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include "engram/engram.h"
#include "engram/gridscore.h"
#ifdef _OPENMP
#include <omp.h>
#endif

const double gridscore_angles[GRIDSCORE_N_ANGLES] = {30, 45, 60, 90, 120, 135, 150};

/* Indices of the angles the scores use, in gridscore_angles. */
enum { A30 = 0, A45 = 1, A60 = 2, A90 = 3, A120 = 4, A135 = 5, A150 = 6 };

/* ================================================================ rate maps */

ratemap_acc *ratemap_alloc(size_t units, size_t nbins, double lo, double hi) {
    if (units == 0 || nbins == 0 || !(lo < hi) || !isfinite(lo) || !isfinite(hi)) {
        engram_fail(ENGRAM_EINVAL, "rate map: need units >= 1, bins >= 1 and lo < hi");
        return NULL;
    }
    ratemap_acc *a = calloc(1, sizeof *a);
    if (!a) { engram_fail(ENGRAM_ENOMEM, "rate map: out of memory"); return NULL; }
    a->sum = calloc(units * nbins * nbins, sizeof *a->sum);
    a->count = calloc(nbins * nbins, sizeof *a->count);
    if (!a->sum || !a->count) {
        ratemap_free(a);
        engram_fail(ENGRAM_ENOMEM, "rate map: out of memory");
        return NULL;
    }
    a->units = units;
    a->nbins = nbins;
    a->lo = lo;
    a->hi = hi;
    return a;
}

void ratemap_free(ratemap_acc *acc) {
    if (!acc) return;
    free(acc->sum);
    free(acc->count);
    free(acc);
}

void ratemap_reset(ratemap_acc *acc) {
    memset(acc->sum, 0, acc->units * acc->nbins * acc->nbins * sizeof *acc->sum);
    memset(acc->count, 0, acc->nbins * acc->nbins * sizeof *acc->count);
}

/* Edge i of linspace(lo, hi, n + 1), computed as numpy does (last edge exactly hi). */
static double bin_edge(double lo, double hi, size_t n, size_t i) {
    if (i == n) return hi;
    return lo + (double)i * ((hi - lo) / (double)n);
}

/* Bin of coordinate v in [lo, hi] among n bins (edges as bin_edge; v == hi goes to the
 * last bin), or -1 if v is outside or not finite. */
static long bin_of(double v, double lo, double hi, size_t n) {
    if (!(v >= lo && v <= hi)) return -1;
    long i = (long)floor((v - lo) / (hi - lo) * (double)n);
    if (i < 0) i = 0;
    if (i > (long)n - 1) i = (long)n - 1;
    while (i > 0 && v < bin_edge(lo, hi, n, (size_t)i)) i--;
    while (i < (long)n - 1 && v >= bin_edge(lo, hi, n, (size_t)i + 1)) i++;
    return i;
}

/* Element-adds per ratemap_add call below which it runs serially: a parallel region
 * costs a barrier, which is slow on a loaded machine, so only large calls use threads. */
#define RATEMAP_PAR_MIN_WORK ((size_t)1 << 22)

int ratemap_add(ratemap_acc *acc, const double *act, const double *pos, size_t samples) {
    const size_t n = acc->nbins, U = acc->units, nn = n * n;
    /* One parallel region without barriers: units are split into contiguous blocks, one
     * per thread, and every thread bins the positions itself (cheap) and adds its
     * block, in sample order, so each sum is written by one thread in a fixed order
     * (thread-count independent). Thread 0 also counts. */
#pragma omp parallel if (U * samples > RATEMAP_PAR_MIN_WORK)
    {
        size_t u0 = 0, u1 = U, t = 0;
#ifdef _OPENMP
        const size_t nt = (size_t)omp_get_num_threads();
        t = (size_t)omp_get_thread_num();
        u0 = U * t / nt;
        u1 = U * (t + 1) / nt;
#endif
        for (size_t s = 0; s < samples; s++) {
            long ix = bin_of(pos[2 * s], acc->lo, acc->hi, n);
            long iy = bin_of(pos[2 * s + 1], acc->lo, acc->hi, n);
            if (ix < 0 || iy < 0) continue;
            const size_t b = (size_t)ix * n + (size_t)iy;
            if (t == 0) acc->count[b] += 1.0;
            double *sum = acc->sum + b;
            const double *as = act + s * U;
            for (size_t u = u0; u < u1; u++) sum[u * nn] += as[u];
        }
    }
    return ENGRAM_OK;
}

void ratemap_finalise(const ratemap_acc *acc, double *maps) {
    const size_t nn = acc->nbins * acc->nbins;
    for (size_t u = 0; u < acc->units; u++)
        for (size_t k = 0; k < nn; k++)
            maps[u * nn + k] = acc->count[k] > 0 ? acc->sum[u * nn + k] / acc->count[k] : NAN;
}

void ratemap_counts(const ratemap_acc *acc, double *counts) {
    memcpy(counts, acc->count, acc->nbins * acc->nbins * sizeof *counts);
}

/* ================================================================ SAC */

int gridscore_sac(const double *map, size_t n, size_t min_overlap, double *sac) {
    if (n == 0) return engram_fail(ENGRAM_EINVAL, "autocorrelogram: empty map");
    if (min_overlap < 2)
        return engram_fail(ENGRAM_EINVAL, "autocorrelogram: min_overlap must be >= 2");
    const long N = (long)n, S = 2 * N - 1;
    /* sac(-d) equals sac(d) (the pairs are the same with the roles swapped), so lags
     * with dx > 0, or dx == 0 and dy >= 0, are computed and mirrored. */
    for (long dx = 0; dx < N; dx++) {
        for (long dy = (dx == 0 ? 0 : -(N - 1)); dy < N; dy++) {
            long i0 = dx < 0 ? -dx : 0, i1 = dx < 0 ? N : N - dx;
            long j0 = dy < 0 ? -dy : 0, j1 = dy < 0 ? N : N - dy;
            double a0 = 0, b0 = 0; /* reference values: the first finite pair */
            double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
            size_t cnt = 0;
            for (long i = i0; i < i1; i++) {
                for (long j = j0; j < j1; j++) {
                    double a = map[i * N + j], b = map[(i + dx) * N + (j + dy)];
                    if (!isfinite(a) || !isfinite(b)) continue;
                    if (cnt == 0) { a0 = a; b0 = b; }
                    a -= a0;
                    b -= b0;
                    sa += a; sb += b;
                    saa += a * a; sbb += b * b; sab += a * b;
                    cnt++;
                }
            }
            double r = 0.0;
            if (cnt >= min_overlap) {
                double m = (double)cnt;
                double va = saa / m - (sa / m) * (sa / m);
                double vb = sbb / m - (sb / m) * (sb / m);
                double cov = sab / m - (sa / m) * (sb / m);
                if (va > 0 && vb > 0) r = cov / sqrt(va * vb);
                if (!isfinite(r)) r = 0.0;
            }
            sac[(dx + N - 1) * S + (dy + N - 1)] = r;
            sac[(-dx + N - 1) * S + (-dy + N - 1)] = r;
        }
    }
    return ENGRAM_OK;
}

/* ================================================================ spline rotation */

/* Tolerance of scipy's causal initialisation (ni_interpolation.c TOLERANCE). */
#define SPLINE_INIT_TOL 1e-15

/* In-place cubic B-spline prefilter of one line x[0], x[stride], ... (len values), as
 * scipy's NI_SplineFilter1D for order 3 with mirror boundaries: gain 6, causal
 * recursion c+[k] = x[k] + p c+[k-1] initialised by the mirror sum (truncated where
 * p^k < 1e-15), anticausal recursion c[k] = p (c[k+1] - c+[k]) initialised by
 * c[len-1] = p / (p^2 - 1) (c+[len-1] + p c+[len-2]). */
static void spline_filter_line(double *x, size_t len, size_t stride) {
    if (len < 2) return;
    const double p = sqrt(3.0) - 2.0;
    const double gain = (1.0 - p) * (1.0 - 1.0 / p);
#define X(k) x[(size_t)(k) * stride]
    for (size_t k = 0; k < len; k++) X(k) *= gain;
    long max = (long)ceil(log(SPLINE_INIT_TOL) / log(fabs(p)));
    if (max < (long)len) {
        double zn = p, sum = X(0);
        for (long k = 1; k < max; k++) {
            sum += zn * X(k);
            zn *= p;
        }
        X(0) = sum;
    } else {
        double zn = p, iz = 1.0 / p;
        double z2n = pow(p, (double)(len - 1));
        double sum = X(0) + z2n * X(len - 1);
        z2n *= z2n * iz;
        for (size_t k = 1; k + 2 <= len; k++) {
            sum += (zn + z2n) * X(k);
            zn *= p;
            z2n *= iz;
        }
        X(0) = sum / (1.0 - zn * zn);
    }
    for (size_t k = 1; k < len; k++) X(k) += p * X(k - 1);
    X(len - 1) = (p / (p * p - 1.0)) * (X(len - 1) + p * X(len - 2));
    for (long k = (long)len - 2; k >= 0; k--) X(k) = p * (X(k + 1) - X(k));
#undef X
}

int gridscore_spline_prefilter(const double *img, size_t rows, size_t cols, double *coef) {
    if (coef != img) memcpy(coef, img, rows * cols * sizeof *coef);
    /* axis 0 (along columns of the row-major block), then axis 1, as spline_filter. */
    for (size_t c = 0; c < cols; c++) spline_filter_line(coef + c, rows, cols);
    for (size_t r = 0; r < rows; r++) spline_filter_line(coef + r * cols, cols, 1);
    return ENGRAM_OK;
}

/* Cubic B-spline weights of the 4 coefficients start..start+3, start = floor(x) - 1
 * (scipy's spline_coefficients, order 3). */
static void spline_weights(double x, long *start, double w[4]) {
    long s = (long)floor(x) - 1;
    *start = s;
    for (int h = 0; h < 4; h++) {
        double y = fabs((double)s - x + h);
        if (y < 1.0) w[h] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
        else if (y < 2.0) { y = 2.0 - y; w[h] = y * y * y / 6.0; }
        else w[h] = 0.0;
    }
}

/* Mirror (whole-sample symmetric) index into 0..len-1, as scipy's edge offsets. */
static long mirror_index(long idx, long len) {
    if (len <= 1) return 0;
    long s2 = 2 * len - 2;
    if (idx < 0) {
        idx = s2 * (-idx / s2) + idx;
        idx = idx <= 1 - len ? idx + s2 : -idx;
    } else if (idx >= len) {
        idx -= s2 * (idx / s2);
        if (idx >= len) idx = s2 - idx;
    }
    return idx;
}

double gridscore_spline_eval(const double *coef, size_t rows, size_t cols, double r, double c) {
    if (!(r >= 0 && r <= (double)rows - 1 && c >= 0 && c <= (double)cols - 1)) return 0.0;
    long sr, sc;
    double wr[4], wc[4];
    spline_weights(r, &sr, wr);
    spline_weights(c, &sc, wc);
    long ir[4], ic[4];
    for (int h = 0; h < 4; h++) {
        ir[h] = mirror_index(sr + h, (long)rows);
        ic[h] = mirror_index(sc + h, (long)cols);
    }
    double t = 0.0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            t += coef[(size_t)ir[a] * cols + (size_t)ic[b]] * wr[a] * wc[b];
    return t;
}

/* Bilinear interpolation of img (rows, cols) at (r, c), 0 outside [0, rows-1] x
 * [0, cols-1]. */
static double bilinear_eval(const double *img, size_t rows, size_t cols, double r, double c) {
    if (!(r >= 0 && r <= (double)rows - 1 && c >= 0 && c <= (double)cols - 1)) return 0.0;
    long r0 = (long)floor(r), c0 = (long)floor(c);
    if (r0 > (long)rows - 2) r0 = (long)rows - 2;
    if (c0 > (long)cols - 2) c0 = (long)cols - 2;
    if (r0 < 0) r0 = 0;
    if (c0 < 0) c0 = 0;
    double fr = r - (double)r0, fc = c - (double)c0;
    long r1 = rows > 1 ? r0 + 1 : r0, c1 = cols > 1 ? c0 + 1 : c0;
    double v00 = img[r0 * (long)cols + c0], v01 = img[r0 * (long)cols + c1];
    double v10 = img[r1 * (long)cols + c0], v11 = img[r1 * (long)cols + c1];
    return (1 - fr) * ((1 - fc) * v00 + fc * v01) + fr * ((1 - fc) * v10 + fc * v11);
}

/* sin and cos of an angle in degrees, exact at multiples of 90 degrees. */
static void sincos_deg(double deg, double *s, double *c) {
    double q = fmod(deg, 360.0);
    if (q < 0) q += 360.0;
    if (q == 0) { *s = 0; *c = 1; }
    else if (q == 90) { *s = 1; *c = 0; }
    else if (q == 180) { *s = 0; *c = -1; }
    else if (q == 270) { *s = -1; *c = 0; }
    else { *s = sin(q * M_PI / 180.0); *c = cos(q * M_PI / 180.0); }
}

/* Rotates with precomputed data `src` (spline coefficients or the image itself). */
static void rotate_from(const double *src, size_t side, double angle_deg,
                        gridscore_interp interp, double *out) {
    double s, c;
    sincos_deg(angle_deg, &s, &c);
    const double ctr = ((double)side - 1.0) / 2.0;
    /* scipy: offset = in_center - R @ out_center; in = R @ out + offset. */
    const double off_r = ctr - (c * ctr + s * ctr);
    const double off_c = ctr - (-s * ctr + c * ctr);
    for (size_t i = 0; i < side; i++) {
        for (size_t j = 0; j < side; j++) {
            double r = (double)i * c + (double)j * s + off_r;
            double cc = (double)i * -s + (double)j * c + off_c;
            out[i * side + j] = interp == GRIDSCORE_BILINEAR
                                    ? bilinear_eval(src, side, side, r, cc)
                                    : gridscore_spline_eval(src, side, side, r, cc);
        }
    }
}

int gridscore_rotate(const double *img, size_t side, double angle_deg, gridscore_interp interp,
                     double *out, double *work) {
    if (side == 0) return engram_fail(ENGRAM_EINVAL, "rotate: empty image");
    if (interp == GRIDSCORE_BILINEAR) {
        rotate_from(img, side, angle_deg, interp, out);
    } else {
        gridscore_spline_prefilter(img, side, side, work);
        rotate_from(work, side, angle_deg, interp, out);
    }
    return ENGRAM_OK;
}

/* ================================================================ scores */

/* numpy.linspace(start, stop, num)[i] (num >= 2): start + i * step, last exactly stop. */
static double np_linspace(double start, double stop, size_t num, size_t i) {
    if (i == num - 1) return stop;
    double step = (stop - start) / (double)(num - 1);
    return (double)i * step + start;
}

gridscorer *gridscorer_alloc(size_t nbins, gridscore_interp interp) {
    if (nbins < 3) {
        engram_fail(ENGRAM_EINVAL, "grid score: rate maps need at least 3 x 3 bins");
        return NULL;
    }
    const size_t M = 10, S = 2 * nbins - 1;
    gridscorer *gs = calloc(1, sizeof *gs);
    if (!gs) { engram_fail(ENGRAM_ENOMEM, "grid score: out of memory"); return NULL; }
    gs->ring_inner = malloc(M * sizeof *gs->ring_inner);
    gs->ring_outer = malloc(M * sizeof *gs->ring_outer);
    gs->masks = calloc(M * S * S, 1);
    gs->mask_count = calloc(M, sizeof *gs->mask_count);
    if (!gs->ring_inner || !gs->ring_outer || !gs->masks || !gs->mask_count) {
        gridscorer_free(gs);
        engram_fail(ENGRAM_ENOMEM, "grid score: out of memory");
        return NULL;
    }
    gs->nbins = nbins;
    gs->side = S;
    gs->n_masks = M;
    gs->interp = interp;
    gs->min_overlap = 2;
    gs->var_eps = 1e-5;
    gs->min_max = 0;
    /* DeepMind train.py: starts [0.2] * 10, ends linspace(0.4, 1.0, 10), radii times
     * nbins; circle_mask includes distances <= radius on the integer lattice
     * -(n-1)..(n-1) about the centre. */
    const double nb = (double)nbins;
    const long half = (long)nbins - 1;
    for (size_t k = 0; k < M; k++) {
        gs->ring_inner[k] = 0.2 * nb;
        gs->ring_outer[k] = np_linspace(0.4, 1.0, M, k) * nb;
        unsigned char *m = gs->masks + k * S * S;
        size_t cnt = 0;
        for (long i = -half; i <= half; i++)
            for (long j = -half; j <= half; j++) {
                double z = sqrt((double)(i * i + j * j));
                int in = z <= gs->ring_outer[k] && !(z <= gs->ring_inner[k]);
                m[(size_t)(i + half) * S + (size_t)(j + half)] = (unsigned char)in;
                cnt += (size_t)in;
            }
        gs->mask_count[k] = cnt;
    }
    return gs;
}

void gridscorer_free(gridscorer *gs) {
    if (!gs) return;
    free(gs->ring_inner);
    free(gs->ring_outer);
    free(gs->masks);
    free(gs->mask_count);
    free(gs);
}

size_t gridscore_work_size(const gridscorer *gs) {
    return 3 * gs->side * gs->side + 2 * gs->n_masks;
}

/* Fills res with NaN scores and ring 0. */
static void result_nan(const gridscorer *gs, gridscore_result *res) {
    res->score60 = res->score90 = NAN;
    res->ring60 = res->ring90 = 0;
    res->ring_inner = gs->ring_inner[0];
    res->ring_outer = gs->ring_outer[0];
    res->ring_inner90 = gs->ring_inner[0];
    res->ring_outer90 = gs->ring_outer[0];
    for (int a = 0; a < GRIDSCORE_N_ANGLES; a++) res->corr[a] = NAN;
    res->plane_r2 = NAN;
    res->spacing = res->orientation = res->ellipticity = NAN;
}

double gridscore_plane_r2(const double *map, size_t n) {
    /* Normal equations of z = a + b i + c j over the finite bins, with i and j centred
     * on their means over those bins, solved by Cramer's rule (3 x 3). */
    double cnt = 0, si = 0, sj = 0, sz = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double z = map[i * n + j];
            if (!isfinite(z)) continue;
            cnt += 1; si += (double)i; sj += (double)j; sz += z;
        }
    if (cnt < 3) return NAN;
    double mi = si / cnt, mj = sj / cnt, mz = sz / cnt;
    double sii = 0, sjj = 0, sij = 0, siz = 0, sjz = 0, szz = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double z = map[i * n + j];
            if (!isfinite(z)) continue;
            double di = (double)i - mi, dj = (double)j - mj, dz = z - mz;
            sii += di * di; sjj += dj * dj; sij += di * dj;
            siz += di * dz; sjz += dj * dz; szz += dz * dz;
        }
    if (szz == 0) return 1.0;
    double det = sii * sjj - sij * sij;
    if (det <= 0) return 0.0; /* all bins on one line: no plane is determined */
    double b = (siz * sjj - sjz * sij) / det, c = (sjz * sii - siz * sij) / det;
    double explained = b * siz + c * sjz; /* regression sum of squares */
    double r2 = explained / szz;
    return r2 < 0 ? 0 : (r2 > 1 ? 1 : r2);
}

size_t gridscore_count_grid(const gridscore_result *res, size_t units, double threshold,
                            double max_plane_r2) {
    size_t c = 0;
    for (size_t u = 0; u < units; u++)
        c += res[u].score60 > threshold && res[u].plane_r2 < max_plane_r2;
    return c;
}

int gridscore_map(const gridscorer *gs, const double *map, gridscore_result *res, double *sac_out,
                  double *work) {
    const size_t n = gs->nbins, S = gs->side, SS = S * S, M = gs->n_masks;
    double *sac = work, *coef = work + SS, *rot = work + 2 * SS;
    double *mean = work + 3 * SS, *var = mean + M;
    int st = gridscore_sac(map, n, gs->min_overlap, sac);
    if (st != ENGRAM_OK) return st;
    if (sac_out) memcpy(sac_out, sac, SS * sizeof *sac);
    int any = 0;
    for (size_t k = 0; k < n * n && !any; k++) any = isfinite(map[k]);
    if (!any) { result_nan(gs, res); return ENGRAM_OK; }
    res->plane_r2 = gridscore_plane_r2(map, n);

    /* Ring statistics of the unrotated SAC (scores.py get_grid_scores_for_mask). */
    for (size_t k = 0; k < M; k++) {
        const unsigned char *m = gs->masks + k * SS;
        double area = (double)gs->mask_count[k], s = 0;
        for (size_t q = 0; q < SS; q++) if (m[q]) s += sac[q];
        mean[k] = s / area;
        double v = 0;
        for (size_t q = 0; q < SS; q++) if (m[q]) v += (sac[q] - mean[k]) * (sac[q] - mean[k]);
        var[k] = v / area + gs->var_eps;
    }
    /* corr[k][a] for every ring k and angle a. */
    double corr[64][GRIDSCORE_N_ANGLES];
    assert(M <= 64);
    const double *src = sac;
    if (gs->interp != GRIDSCORE_BILINEAR) {
        gridscore_spline_prefilter(sac, S, S, coef);
        src = coef;
    }
    for (int a = 0; a < GRIDSCORE_N_ANGLES; a++) {
        rotate_from(src, S, gridscore_angles[a], gs->interp, rot);
        for (size_t k = 0; k < M; k++) {
            const unsigned char *m = gs->masks + k * SS;
            double cp = 0;
            for (size_t q = 0; q < SS; q++)
                if (m[q]) cp += (sac[q] - mean[k]) * (rot[q] - mean[k]);
            corr[k][a] = cp / (double)gs->mask_count[k] / var[k];
        }
    }
    size_t best60 = 0, best90 = 0;
    double s60max = -INFINITY, s90max = -INFINITY;
    int nan60 = 0, nan90 = 0;
    for (size_t k = 0; k < M; k++) {
        const double *c = corr[k];
        double s60;
        if (gs->min_max)
            s60 = fmin(c[A60], c[A120]) - fmax(c[A30], fmax(c[A90], c[A150]));
        else
            s60 = (c[A60] + c[A120]) / 2.0 - (c[A30] + c[A90] + c[A150]) / 3.0;
        double s90 = c[A90] - (c[A45] + c[A135]) / 2.0;
        /* np.argmax: the first maximum; a NaN wins (numpy propagates NaN). */
        if (!nan60) {
            if (isnan(s60)) { nan60 = 1; best60 = k; s60max = NAN; }
            else if (s60 > s60max) { s60max = s60; best60 = k; }
        }
        if (!nan90) {
            if (isnan(s90)) { nan90 = 1; best90 = k; s90max = NAN; }
            else if (s90 > s90max) { s90max = s90; best90 = k; }
        }
    }
    res->score60 = s60max;
    res->score90 = s90max;
    res->ring60 = best60;
    res->ring90 = best90;
    res->ring_inner = gs->ring_inner[best60];
    res->ring_outer = gs->ring_outer[best60];
    res->ring_inner90 = gs->ring_inner[best90];
    res->ring_outer90 = gs->ring_outer[best90];
    for (int a = 0; a < GRIDSCORE_N_ANGLES; a++) res->corr[a] = corr[best60][a];
    gridscore_sac_peaks(sac, S, &res->spacing, &res->orientation, &res->ellipticity);
    return ENGRAM_OK;
}

/* Offset in (-0.5, 0.5) of the vertex of the parabola through (-1, a), (0, b), (1, c). */
static double parabola_vertex(double a, double b, double c) {
    double den = a - 2.0 * b + c;
    if (!(den < 0)) return 0.0;
    double o = 0.5 * (a - c) / den;
    return o > 0.5 ? 0.5 : (o < -0.5 ? -0.5 : o);
}

typedef struct { double r, x, y; } sac_peak;

static int cmp_peak(const void *pa, const void *pb) {
    const sac_peak *a = pa, *b = pb;
    return (a->r > b->r) - (a->r < b->r);
}

int gridscore_sac_peaks(const double *sac, size_t side, double *spacing, double *orientation,
                        double *ellipticity) {
    *spacing = *orientation = *ellipticity = NAN;
    if (side < 5) return 0;
    const long S = (long)side, c0 = (S - 1) / 2;
    sac_peak pk[64];
    size_t np = 0, all = 0;
    for (long i = 1; i + 1 < S; i++)
        for (long j = 1; j + 1 < S; j++) {
            if (i == c0 && j == c0) continue;
            double v = sac[i * S + j];
            if (!(v > 0)) continue;
            int top = 1;
            for (long di = -1; di <= 1 && top; di++)
                for (long dj = -1; dj <= 1 && top; dj++) {
                    if (!di && !dj) continue;
                    double w = sac[(i + di) * S + j + dj];
                    /* strict against earlier neighbours, so a plateau yields one peak */
                    top = (di < 0 || (di == 0 && dj < 0)) ? v > w : v >= w;
                }
            if (!top) continue;
            double x = (double)(i - c0) + parabola_vertex(sac[(i - 1) * S + j], v, sac[(i + 1) * S + j]);
            double y = (double)(j - c0) + parabola_vertex(sac[i * S + j - 1], v, sac[i * S + j + 1]);
            sac_peak q = {sqrt(x * x + y * y), x, y};
            all++;
            if (np < 64) pk[np++] = q;
            else {
                size_t far = 0;
                for (size_t k = 1; k < np; k++) if (pk[k].r > pk[far].r) far = k;
                if (q.r < pk[far].r) pk[far] = q;
            }
        }
    if (np < 6) return (int)all;
    qsort(pk, np, sizeof *pk, cmp_peak);
    double r[6], s6 = 0, c6 = 0, rmin = INFINITY, rmax = 0;
    for (int k = 0; k < 6; k++) {
        r[k] = pk[k].r;
        double a = atan2(pk[k].y, pk[k].x);
        s6 += sin(6.0 * a);
        c6 += cos(6.0 * a);
        if (r[k] < rmin) rmin = r[k];
        if (r[k] > rmax) rmax = r[k];
    }
    /* median of six distances: mean of the 3rd and 4th (already sorted) */
    *spacing = 0.5 * (r[2] + r[3]);
    double o = atan2(s6, c6) / 6.0 * 180.0 / M_PI; /* (-30, 30] */
    *orientation = o < 0 ? o + 60.0 : o;
    *ellipticity = rmax > 0 ? 1.0 - rmin / rmax : NAN;
    return (int)all;
}

int gridscore_shuffle_null(const gridscorer *gs, const double *maps, size_t units,
                           size_t n_maps, gsl_rng *r, double *scores) {
    const size_t nn = gs->nbins * gs->nbins;
    if (units == 0 || n_maps == 0) return ENGRAM_OK;
    double *sh = malloc(n_maps * nn * sizeof *sh);
    size_t *idx = malloc(nn * sizeof *idx);
    gridscore_result *res = malloc(n_maps * sizeof *res);
    if (!sh || !idx || !res) {
        free(sh); free(idx); free(res);
        return engram_fail(ENGRAM_ENOMEM, "grid score: out of memory (null of %zu maps)", n_maps);
    }
    for (size_t k = 0; k < n_maps; k++) {
        const double *m = maps + (k % units) * nn;
        double *o = sh + k * nn;
        size_t nf = 0;
        for (size_t q = 0; q < nn; q++) {
            o[q] = m[q];
            if (isfinite(m[q])) idx[nf++] = q;
        }
        /* Fisher-Yates over the finite bins: empty bins stay where they are */
        for (size_t a = nf; a > 1; a--) {
            size_t b = (size_t)gsl_rng_uniform_int(r, (unsigned long)a);
            double t = o[idx[a - 1]];
            o[idx[a - 1]] = o[idx[b]];
            o[idx[b]] = t;
        }
    }
    int st = gridscore_maps(gs, sh, n_maps, res, NULL);
    for (size_t k = 0; st == ENGRAM_OK && k < n_maps; k++) scores[k] = res[k].score60;
    free(sh); free(idx); free(res);
    return st;
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double gridscore_quantile(const double *v, size_t n, double q, double *work) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) if (isfinite(v[i])) work[m++] = v[i];
    if (m == 0) return NAN;
    qsort(work, m, sizeof *work, cmp_double);
    /* linear interpolation between order statistics (numpy's default, "linear") */
    double h = q * (double)(m - 1);
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= m) return work[m - 1];
    return work[lo] + (h - (double)lo) * (work[lo + 1] - work[lo]);
}

double gridscore_map_corr(const double *a, const double *b, size_t n) {
    double sa = 0, sb = 0;
    size_t k = 0;
    for (size_t q = 0; q < n * n; q++)
        if (isfinite(a[q]) && isfinite(b[q])) { sa += a[q]; sb += b[q]; k++; }
    if (k < 2) return NAN;
    double ma = sa / (double)k, mb = sb / (double)k, sab = 0, saa = 0, sbb = 0;
    for (size_t q = 0; q < n * n; q++)
        if (isfinite(a[q]) && isfinite(b[q])) {
            double da = a[q] - ma, db = b[q] - mb;
            sab += da * db; saa += da * da; sbb += db * db;
        }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

int gridscore_maps(const gridscorer *gs, const double *maps, size_t units, gridscore_result *res,
                   double *sacs) {
    const size_t nn = gs->nbins * gs->nbins, SS = gs->side * gs->side;
    const size_t wsz = gridscore_work_size(gs);
    const long nu = (long)units;
#ifdef _OPENMP
    const size_t nthreads = (size_t)omp_get_max_threads();
#else
    const size_t nthreads = 1;
#endif
    double *work = malloc(nthreads * wsz * sizeof *work);
    if (!work) return engram_fail(ENGRAM_ENOMEM, "grid score: out of memory");
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (long u = 0; u < nu; u++) {
#ifdef _OPENMP
        double *w = work + (size_t)omp_get_thread_num() * wsz;
#else
        double *w = work;
#endif
        gridscore_map(gs, maps + (size_t)u * nn, res + u, sacs ? sacs + (size_t)u * SS : NULL, w);
    }
    free(work);
    return ENGRAM_OK;
}

int gridscore_write_csv(FILE *f, const gridscore_result *res, size_t units) {
    if (fprintf(f, "unit,score60,score90,ring_inner,ring_outer,plane_r2,spacing_bins,"
                   "orientation_deg,ellipticity\n") < 0)
        return engram_fail(ENGRAM_EIO, "grid score: cannot write CSV");
    for (size_t u = 0; u < units; u++)
        if (fprintf(f, "%zu,%.10g,%.10g,%.10g,%.10g,%.10g,%.6g,%.6g,%.6g\n", u, res[u].score60,
                    res[u].score90, res[u].ring_inner, res[u].ring_outer, res[u].plane_r2,
                    res[u].spacing, res[u].orientation, res[u].ellipticity) < 0)
            return engram_fail(ENGRAM_EIO, "grid score: cannot write CSV");
    if (fflush(f) != 0) return engram_fail(ENGRAM_EIO, "grid score: cannot write CSV");
    return ENGRAM_OK;
}

int gridscore_write_csv_path(const char *path, const gridscore_result *res, size_t units) {
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp) return engram_fail(ENGRAM_ENOMEM, "grid score: out of memory");
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(tmp);
        return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    }
    int st = gridscore_write_csv(f, res, units);
    if (fclose(f) != 0 && st == ENGRAM_OK) st = engram_fail(ENGRAM_EIO, "cannot write %s", path);
    if (st == ENGRAM_OK && rename(tmp, path) != 0)
        st = engram_fail(ENGRAM_EIO, "cannot write %s", path);
    if (st != ENGRAM_OK) unlink(tmp);
    free(tmp);
    return st;
}

size_t gridscore_count_above(const gridscore_result *res, size_t units, double threshold) {
    size_t c = 0;
    for (size_t u = 0; u < units; u++) c += res[u].score60 > threshold;
    return c;
}

typedef struct { double s; size_t i; } score_idx;

/* Descending score, NaN last, ties by ascending index. */
static int cmp_score_idx(const void *pa, const void *pb) {
    const score_idx *a = pa, *b = pb;
    int na = isnan(a->s), nb = isnan(b->s);
    if (na != nb) return na - nb;
    if (!na && a->s != b->s) return a->s > b->s ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

void gridscore_sort_units(const gridscore_result *res, size_t units, size_t *order) {
    score_idx *v = malloc(units * sizeof *v);
    if (!v) { /* fall back to the natural order */
        for (size_t u = 0; u < units; u++) order[u] = u;
        return;
    }
    for (size_t u = 0; u < units; u++) { v[u].s = res[u].score60; v[u].i = u; }
    qsort(v, units, sizeof *v, cmp_score_idx);
    for (size_t u = 0; u < units; u++) order[u] = v[u].i;
    free(v);
}
