/* encode.c: cross-validated ridge encoding models, the split-half noise ceiling and a
 * synthetic response set with a known answer (analysis.h; Schrimpf et al. 2020). */
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engram/analysis.h"
#include "engram/engram.h"
#include "engram/rng.h"

#define ENCODE_N_LAMBDA 9 /* penalties scale * 10^-4 .. scale * 10^4 */

analysis_encode_params analysis_encode_defaults(void) {
    analysis_encode_params p = {5, 4, 20, 1};
    return p;
}

/* Ridge fits on the rows tr (n_tr) of x (S, F) and y (S, M), predictions for the rows te
 * (n_te) at every penalty lam (L,): pred (L, n_te, M). */
static int ridge_path(const double *x, size_t f, const double *y, size_t m, const size_t *tr,
                      size_t n_tr, const size_t *te, size_t n_te, const double *lam, size_t L,
                      double *pred) {
    size_t k = n_tr < f ? n_tr : f;
    int wide = n_tr < f;
    gsl_matrix *a = wide ? gsl_matrix_alloc(f, n_tr) : gsl_matrix_alloc(n_tr, f);
    gsl_matrix *v = gsl_matrix_alloc(k, k);
    gsl_vector *s = gsl_vector_alloc(k), *work = gsl_vector_alloc(k);
    double *xm = calloc(f, sizeof *xm), *ym = calloc(m, sizeof *ym);
    double *uy = calloc(k * m, sizeof *uy), *px = calloc(n_te * k, sizeof *px);
    int st = ENGRAM_OK;
    if (!a || !v || !s || !work || !xm || !ym || !uy || !px) { st = engram_fail(ENGRAM_ENOMEM, "encode: out of memory"); goto done; }
    for (size_t i = 0; i < n_tr; i++) {
        for (size_t j = 0; j < f; j++) xm[j] += x[tr[i] * f + j] / (double)n_tr;
        for (size_t j = 0; j < m; j++) ym[j] += y[tr[i] * m + j] / (double)n_tr;
    }
    for (size_t i = 0; i < n_tr; i++)
        for (size_t j = 0; j < f; j++) {
            double c = x[tr[i] * f + j] - xm[j];
            if (wide) gsl_matrix_set(a, j, i, c); else gsl_matrix_set(a, i, j, c);
        }
    /* Xc = U S V^T; wide: Xc^T = U' S V'^T, so U = V' and V = U' */
    gsl_linalg_SV_decomp(a, v, s, work);
    const gsl_matrix *um = wide ? v : a, *vm = wide ? a : v;
    for (size_t q = 0; q < k; q++)
        for (size_t i = 0; i < n_tr; i++) {
            double u = gsl_matrix_get(um, i, q);
            for (size_t j = 0; j < m; j++) uy[q * m + j] += u * (y[tr[i] * m + j] - ym[j]);
        }
    for (size_t i = 0; i < n_te; i++)
        for (size_t j = 0; j < f; j++) {
            double c = x[te[i] * f + j] - xm[j];
            for (size_t q = 0; q < k; q++) px[i * k + q] += c * gsl_matrix_get(vm, j, q);
        }
    for (size_t l = 0; l < L; l++)
        for (size_t i = 0; i < n_te; i++) {
            double *p = pred + (l * n_te + i) * m;
            for (size_t j = 0; j < m; j++) p[j] = ym[j];
            for (size_t q = 0; q < k; q++) {
                double sq = gsl_vector_get(s, q), g = px[i * k + q] * sq / (sq * sq + lam[l]);
                for (size_t j = 0; j < m; j++) p[j] += g * uy[q * m + j];
            }
        }
done:
    gsl_matrix_free(a); gsl_matrix_free(v); gsl_vector_free(s); gsl_vector_free(work);
    free(xm); free(ym); free(uy); free(px);
    return st;
}

/* Pearson r between columns j of a (n, m) and b (n, m). */
static double column_r(const double *a, const double *b, size_t n, size_t m, size_t j) {
    return gsl_stats_correlation(a + j, m, b + j, m, n);
}

int analysis_encode(const double *x, size_t s, size_t f, const double *y, size_t m, size_t r,
                    const analysis_encode_params *p, double *r_out, double *ceiling,
                    double *lambda) {
    size_t K = p->folds, KI = p->inner_folds;
    if (K < 2 || KI < 2 || s < 2 * K * KI || f == 0 || m == 0 || r == 0)
        return engram_fail(ENGRAM_EINVAL, "encode: needs at least %zu stimuli for %zu x %zu folds "
                           "(got %zu)", 2 * K * KI, K, KI, s);
    double *ym = calloc(s * m, sizeof *ym), *pred = calloc(s * m, sizeof *pred);
    size_t *perm = malloc(s * sizeof *perm), *tr = malloc(s * sizeof *tr), *te = malloc(s * sizeof *te);
    size_t *itr = malloc(s * sizeof *itr), *ite = malloc(s * sizeof *ite);
    double *path = malloc(ENCODE_N_LAMBDA * s * m * sizeof *path);
    double *sse = malloc(ENCODE_N_LAMBDA * m * sizeof *sse);
    size_t *best = malloc(m * sizeof *best);
    double *ha = malloc(s * m * sizeof *ha), *hb = malloc(s * m * sizeof *hb);
    size_t *rp = malloc(r * sizeof *rp);
    gsl_rng *rf = rng_stream_alloc(p->seed, "encode", 0), *rs = rng_stream_alloc(p->seed, "encode", 1);
    int st = ENGRAM_OK;
    if (!ym || !pred || !perm || !tr || !te || !itr || !ite || !path || !sse || !best || !ha ||
        !hb || !rp || !rf || !rs) { st = engram_fail(ENGRAM_ENOMEM, "encode: out of memory"); goto done; }
    for (size_t i = 0; i < s; i++)
        for (size_t j = 0; j < m; j++) {
            double acc = 0;
            for (size_t q = 0; q < r; q++) acc += y[(i * m + j) * r + q];
            ym[i * m + j] = acc / (double)r;
        }
    /* penalty grid relative to the mean squared singular value of the centred X */
    double scale = 0;
    for (size_t j = 0; j < f; j++) {
        double mu = 0, v = 0;
        for (size_t i = 0; i < s; i++) mu += x[i * f + j] / (double)s;
        for (size_t i = 0; i < s; i++) v += (x[i * f + j] - mu) * (x[i * f + j] - mu);
        scale += v;
    }
    scale /= (double)(s < f ? s : f);
    if (!(scale > 0)) scale = 1;
    double lam[ENCODE_N_LAMBDA];
    for (size_t l = 0; l < ENCODE_N_LAMBDA; l++) lam[l] = scale * pow(10.0, (double)l - 4);
    for (size_t i = 0; i < s; i++) perm[i] = i;
    gsl_ran_shuffle(rf, perm, s, sizeof *perm);
    for (size_t o = 0; o < K && st == ENGRAM_OK; o++) {
        size_t n_tr = 0, n_te = 0;
        for (size_t i = 0; i < s; i++) {
            if (i % K == o) te[n_te++] = perm[i]; else tr[n_tr++] = perm[i];
        }
        /* inner cross-validation: summed squared error per penalty and target */
        memset(sse, 0, ENCODE_N_LAMBDA * m * sizeof *sse);
        for (size_t u = 0; u < KI && st == ENGRAM_OK; u++) {
            size_t ni = 0, nt = 0;
            for (size_t i = 0; i < n_tr; i++) {
                if (i % KI == u) ite[nt++] = tr[i]; else itr[ni++] = tr[i];
            }
            st = ridge_path(x, f, ym, m, itr, ni, ite, nt, lam, ENCODE_N_LAMBDA, path);
            for (size_t l = 0; l < ENCODE_N_LAMBDA && st == ENGRAM_OK; l++)
                for (size_t i = 0; i < nt; i++)
                    for (size_t j = 0; j < m; j++) {
                        double d = path[(l * nt + i) * m + j] - ym[ite[i] * m + j];
                        sse[l * m + j] += d * d;
                    }
        }
        for (size_t j = 0; j < m; j++) {
            best[j] = 0;
            for (size_t l = 1; l < ENCODE_N_LAMBDA; l++)
                if (sse[l * m + j] < sse[best[j] * m + j]) best[j] = l;
            lambda[j] = lam[best[j]];
        }
        if (st == ENGRAM_OK) st = ridge_path(x, f, ym, m, tr, n_tr, te, n_te, lam, ENCODE_N_LAMBDA, path);
        for (size_t i = 0; i < n_te && st == ENGRAM_OK; i++)
            for (size_t j = 0; j < m; j++) pred[te[i] * m + j] = path[(best[j] * n_te + i) * m + j];
    }
    if (st != ENGRAM_OK) goto done;
    for (size_t j = 0; j < m; j++) r_out[j] = column_r(pred, ym, s, m, j);
    /* split-half consistency of the repeats, Spearman-Brown corrected */
    for (size_t j = 0; j < m; j++) ceiling[j] = r >= 2 ? 0 : NAN;
    if (r >= 2) {
        size_t h = r / 2;
        for (size_t q = 0; q < r; q++) rp[q] = q;
        for (size_t sp = 0; sp < p->n_splits; sp++) {
            gsl_ran_shuffle(rs, rp, r, sizeof *rp);
            for (size_t i = 0; i < s; i++)
                for (size_t j = 0; j < m; j++) {
                    double a = 0, b = 0;
                    for (size_t q = 0; q < h; q++) {
                        a += y[(i * m + j) * r + rp[q]];
                        b += y[(i * m + j) * r + rp[h + q]];
                    }
                    ha[i * m + j] = a / (double)h;
                    hb[i * m + j] = b / (double)h;
                }
            for (size_t j = 0; j < m; j++) ceiling[j] += column_r(ha, hb, s, m, j) / (double)p->n_splits;
        }
        for (size_t j = 0; j < m; j++) ceiling[j] = 2 * ceiling[j] / (1 + ceiling[j]);
    }
done:
    free(ym); free(pred); free(perm); free(tr); free(te); free(itr); free(ite); free(path);
    free(sse); free(best); free(ha); free(hb); free(rp);
    gsl_rng_free(rf); gsl_rng_free(rs);
    return st;
}

int analysis_encode_synthetic(const double *x, size_t s, size_t f, size_t m, size_t r,
                              double noise, gsl_rng *rng, double *y) {
    double *z = malloc(s * f * sizeof *z), *b = malloc(f * m * sizeof *b), *sig = malloc(s * sizeof *sig);
    if (!z || !b || !sig) { free(z); free(b); free(sig); return engram_fail(ENGRAM_ENOMEM, "encode: out of memory"); }
    for (size_t j = 0; j < f; j++) {
        double mu = 0, v = 0;
        for (size_t i = 0; i < s; i++) mu += x[i * f + j] / (double)s;
        for (size_t i = 0; i < s; i++) v += (x[i * f + j] - mu) * (x[i * f + j] - mu) / (double)s;
        double sd = v > 0 ? sqrt(v) : 0;
        for (size_t i = 0; i < s; i++) z[i * f + j] = sd > 0 ? (x[i * f + j] - mu) / sd : 0;
    }
    for (size_t k = 0; k < f * m; k++) b[k] = gsl_ran_gaussian(rng, 1.0);
    for (size_t j = 0; j < m; j++) {
        double mu = 0, v = 0;
        for (size_t i = 0; i < s; i++) {
            double acc = 0;
            for (size_t q = 0; q < f; q++) acc += z[i * f + q] * b[q * m + j];
            sig[i] = acc;
            mu += acc / (double)s;
        }
        for (size_t i = 0; i < s; i++) v += (sig[i] - mu) * (sig[i] - mu) / (double)s;
        double sd = v > 0 ? sqrt(v) : 1;
        for (size_t i = 0; i < s; i++)
            for (size_t q = 0; q < r; q++)
                y[(i * m + j) * r + q] = (sig[i] - mu) / sd + gsl_ran_gaussian(rng, noise);
    }
    free(z); free(b); free(sig);
    return ENGRAM_OK;
}
