/* splitcells.c: place / ramp / other classes and splitter statistics of track cells;
 * see splitcells.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/splitcells.h"

cells_params cells_defaults(void) {
    return (cells_params){200, 0.05, 0.1, 0.9, 0.25};
}

int cells_path_class(const double *m, size_t L, const cells_params *p) {
    double lo = INFINITY, hi = -INFINITY;
    size_t n = 0;
    for (size_t j = 0; j < L; j++)
        if (isfinite(m[j])) { lo = fmin(lo, m[j]); hi = fmax(hi, m[j]); n++; }
    if (n < 3 || !(hi > lo)) return CELLS_OTHER;
    /* Pearson r of the normalised map with the position index (finite entries) */
    double sx = 0, sz = 0;
    for (size_t j = 0; j < L; j++)
        if (isfinite(m[j])) { sx += (double)j; sz += (m[j] - lo) / (hi - lo); }
    double mx = sx / (double)n, mz = sz / (double)n, cxz = 0, cxx = 0, czz = 0;
    size_t high = 0;
    for (size_t j = 0; j < L; j++) {
        if (!isfinite(m[j])) continue;
        double z = (m[j] - lo) / (hi - lo), dx = (double)j - mx, dz = z - mz;
        cxz += dx * dz; cxx += dx * dx; czz += dz * dz;
        high += z >= 0.5;
    }
    double rr = cxz / sqrt(cxx * czz);
    if (fabs(rr) >= p->ramp_r) return CELLS_RAMP;
    if ((double)high <= p->field_frac * (double)n) return CELLS_PLACE;
    return CELLS_OTHER;
}

void cells_classify(const double *maps, size_t C, size_t N, size_t L, const cells_params *p,
                    int *cls) {
    for (size_t u = 0; u < N; u++) {
        int place = 0, ramp = 0;
        for (size_t c = 0; c < C; c++) {
            int k = cells_path_class(maps + (c * N + u) * L, L, p);
            place |= k == CELLS_PLACE;
            ramp |= k == CELLS_RAMP;
        }
        cls[u] = place ? CELLS_PLACE : ramp ? CELLS_RAMP : CELLS_OTHER;
    }
}

/* D (N,) for one labelling; sum (2, n_seg, N) and cnt (2, n_seg) are scratch. */
static void split_effect(const double *act, size_t K, size_t P, size_t N, const int *lab,
                         const size_t *seg, size_t n_seg, const double *range, double *sum,
                         double *cnt, double *d) {
    memset(sum, 0, 2 * n_seg * N * sizeof(double));
    memset(cnt, 0, 2 * n_seg * sizeof(double));
    for (size_t k = 0; k < K; k++) {
        if (lab[k] < 0) continue;
        for (size_t j = 0; j < n_seg; j++) {
            const double *a = act + (k * P + seg[j]) * N;
            if (!isfinite(a[0])) continue; /* position not visited on this trial */
            double *s = sum + ((size_t)lab[k] * n_seg + j) * N;
            for (size_t u = 0; u < N; u++) s[u] += a[u];
            cnt[(size_t)lab[k] * n_seg + j] += 1;
        }
    }
    for (size_t u = 0; u < N; u++) d[u] = 0;
    size_t used = 0;
    for (size_t j = 0; j < n_seg; j++) {
        double c0 = cnt[j], c1 = cnt[n_seg + j];
        if (c0 == 0 || c1 == 0) continue;
        used++;
        for (size_t u = 0; u < N; u++)
            d[u] += fabs(sum[j * N + u] / c0 - sum[(n_seg + j) * N + u] / c1);
    }
    for (size_t u = 0; u < N; u++)
        d[u] = used && range[u] > 0 ? d[u] / (double)used / range[u] : 0;
}

int cells_splitter(const double *act, size_t K, size_t P, size_t N, const int *label,
                   const int *stratum, const size_t *seg, size_t n_seg, const double *range,
                   const cells_params *p, gsl_rng *r, double *effect, double *pval) {
    size_t n0 = 0, n1 = 0;
    for (size_t k = 0; k < K; k++) { n0 += label[k] == 0; n1 += label[k] == 1; }
    if (n0 == 0 || n1 == 0 || p->n_shuffle == 0)
        return engram_fail(ENGRAM_EINVAL, "cells_splitter: need trials of both labels and "
                           "n_shuffle >= 1");
    for (size_t j = 0; j < n_seg; j++)
        if (seg[j] >= P) return engram_fail(ENGRAM_EINVAL, "cells_splitter: segment position "
                                            "%zu outside %zu positions", seg[j], P);
    double *sum = malloc((2 * n_seg * N + 1) * sizeof(double));
    double *cnt = malloc((2 * n_seg + 1) * sizeof(double));
    double *dn = malloc(N * sizeof(double));
    int *perm = malloc(K * sizeof(int)), *vals = malloc(K * sizeof(int));
    size_t *idx = malloc(K * sizeof(size_t)), *ge = calloc(N, sizeof(size_t));
    if (!sum || !cnt || !dn || !perm || !vals || !idx || !ge) {
        free(sum); free(cnt); free(dn); free(perm); free(vals); free(idx); free(ge);
        return engram_fail(ENGRAM_ENOMEM, "cells_splitter: out of memory");
    }
    split_effect(act, K, P, N, label, seg, n_seg, range, sum, cnt, effect);
    /* labelled trials grouped by stratum (stable sort of indices), vals[] in that order */
    size_t m = 0;
    for (size_t k = 0; k < K; k++) if (label[k] >= 0) idx[m++] = k;
    for (size_t i = 1; i < m; i++) {
        size_t v = idx[i], j = i;
        while (j > 0 && stratum[idx[j - 1]] > stratum[v]) { idx[j] = idx[j - 1]; j--; }
        idx[j] = v;
    }
    for (size_t s = 0; s < p->n_shuffle; s++) {
        memcpy(perm, label, K * sizeof(int));
        for (size_t i = 0; i < m; i++) vals[i] = label[idx[i]];
        for (size_t a = 0; a < m;) { /* permute within each stratum's run */
            size_t b = a;
            while (b < m && stratum[idx[b]] == stratum[idx[a]]) b++;
            gsl_ran_shuffle(r, vals + a, b - a, sizeof(int));
            a = b;
        }
        for (size_t i = 0; i < m; i++) perm[idx[i]] = vals[i];
        split_effect(act, K, P, N, perm, seg, n_seg, range, sum, cnt, dn);
        for (size_t u = 0; u < N; u++) ge[u] += dn[u] >= effect[u];
    }
    for (size_t u = 0; u < N; u++)
        pval[u] = effect[u] > 0 ? (1.0 + (double)ge[u]) / (1.0 + (double)p->n_shuffle) : 1.0;
    free(sum); free(cnt); free(dn); free(perm); free(vals); free(idx); free(ge);
    return ENGRAM_OK;
}
