/* placecells.c: place-cell and head-direction-cell targets and decoders (placecells.h). */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/kernels.h"
#include "engram/placecells.h"
#include "engram/rng.h"

/* Rows per parallel chunk below which the loops stay serial (thread start-up costs). */
#define PC_PAR_MIN_WORK 65536
/* Cells per vectorised exp call in the difference-of-softmaxes code (stack buffers). */
#define PC_BLOCK 64
#ifdef _OPENMP
#define PC_SIMD _Pragma("omp simd")
#else
#define PC_SIMD
#endif

pc_ensemble *pc_alloc(size_t n, double sigma, double surround, double box, gsl_rng *r) {
    if (n == 0) { engram_fail(ENGRAM_EINVAL, "place cells: n must be >= 1"); return NULL; }
    if (!(sigma > 0) || !isfinite(sigma)) {
        engram_fail(ENGRAM_EINVAL, "place cells: sigma must be positive (got %g)", sigma);
        return NULL;
    }
    if (!(box > 0) || !isfinite(box)) {
        engram_fail(ENGRAM_EINVAL, "place cells: box must be positive (got %g)", box);
        return NULL;
    }
    if (!(surround == 0 || surround > 1) || !isfinite(surround)) {
        engram_fail(ENGRAM_EINVAL,
                    "place cells: surround must be 0 (Gaussian) or > 1 (DoG) (got %g)", surround);
        return NULL;
    }
    pc_ensemble *pc = calloc(1, sizeof *pc);
    if (!pc) { engram_fail(ENGRAM_ENOMEM, "place cells: out of memory"); return NULL; }
    pc->centres = malloc(2 * n * sizeof *pc->centres);
    if (!pc->centres) {
        free(pc);
        engram_fail(ENGRAM_ENOMEM, "place cells: out of memory");
        return NULL;
    }
    pc->n = n;
    pc->sigma = sigma;
    pc->surround = surround;
    pc->box = box;
    for (size_t i = 0; i < n; i++) {
        pc->centres[2 * i] = box * (gsl_rng_uniform(r) - 0.5);
        pc->centres[2 * i + 1] = box * (gsl_rng_uniform(r) - 0.5);
    }
    return pc;
}

void pc_free(pc_ensemble *pc) {
    if (!pc) return;
    free(pc->centres);
    free(pc);
}

/* out[i] = softmax_i(-d2[i] / (2 var)) with the largest logit subtracted first. */
static void softmax_neg_d2(const double *d2, size_t n, double var, double *out) {
    double dmin = d2[0];
    for (size_t i = 1; i < n; i++) if (d2[i] < dmin) dmin = d2[i];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = exp(-(d2[i] - dmin) / (2.0 * var));
        sum += out[i];
    }
    for (size_t i = 0; i < n; i++) out[i] /= sum;
}

/* Encodes one position into out (N,); d2 is scratch of N doubles. */
static void pc_encode_row(const pc_ensemble *pc, const double *x, double *out) {
    const size_t n = pc->n;
    const double var = pc->sigma * pc->sigma;
    /* out holds the squared distances first; the softmaxes below read d2[i] before
     * writing out[i], so they work in place. */
    PC_SIMD
    for (size_t i = 0; i < n; i++) {
        double dx = x[0] - pc->centres[2 * i], dy = x[1] - pc->centres[2 * i + 1];
        out[i] = dx * dx + dy * dy;
    }
    if (pc->surround == 0) {
        softmax_neg_d2(out, n, var, out);
        return;
    }
    /* Difference of softmaxes (Sorscher): centre minus surround, shifted by the minimum
     * and renormalised. Both softmaxes share the shift by the smallest d2. The
     * exponentials go through kern_exp (vectorised, <= 1 ulp) PC_BLOCK cells at a time:
     * the first pass keeps the centre terms in out (overwriting d2), the second
     * recomputes d2 (the same expression, so the same bits) for the surround terms. */
    double dmin = out[0];
    for (size_t i = 1; i < n; i++) if (out[i] < dmin) dmin = out[i];
    double sc = 0, ss = 0, ec[PC_BLOCK], es[PC_BLOCK];
    /* exponents -(d2 - dmin) / (2 var) as products with the reciprocals (vectorisable) */
    const double kc = -1.0 / (2.0 * var), ks = -1.0 / (2.0 * var * pc->surround);
    for (size_t i0 = 0; i0 < n; i0 += PC_BLOCK) {
        const size_t nb = n - i0 < PC_BLOCK ? n - i0 : PC_BLOCK;
        PC_SIMD
        for (size_t j = 0; j < nb; j++) {
            ec[j] = (out[i0 + j] - dmin) * kc;
            es[j] = (out[i0 + j] - dmin) * ks;
        }
        kern_exp(ec, ec, nb);
        kern_exp(es, es, nb);
        for (size_t j = 0; j < nb; j++) {
            sc += ec[j];
            ss += es[j];
            out[i0 + j] = ec[j];
        }
    }
    double qmin = INFINITY;
    const double rc = 1.0 / sc, rs = 1.0 / ss;
    for (size_t i0 = 0; i0 < n; i0 += PC_BLOCK) {
        const size_t nb = n - i0 < PC_BLOCK ? n - i0 : PC_BLOCK;
        PC_SIMD
        for (size_t j = 0; j < nb; j++) {
            const size_t i = i0 + j;
            double dx = x[0] - pc->centres[2 * i], dy = x[1] - pc->centres[2 * i + 1];
            es[j] = ((dx * dx + dy * dy) - dmin) * ks;
        }
        kern_exp(es, es, nb);
        for (size_t j = 0; j < nb; j++) {
            double q = out[i0 + j] * rc - es[j] * rs;
            out[i0 + j] = q;
            if (q < qmin) qmin = q;
        }
    }
    double tot = 0;
    for (size_t i = 0; i < n; i++) { out[i] -= qmin; tot += out[i]; }
    if (tot > 0) for (size_t i = 0; i < n; i++) out[i] /= tot;
    else for (size_t i = 0; i < n; i++) out[i] = 1.0 / (double)n;
}

int pc_encode(const pc_ensemble *pc, const double *pos, size_t rows, double *out) {
    for (size_t r = 0; r < rows; r++)
        if (!isfinite(pos[2 * r]) || !isfinite(pos[2 * r + 1]))
            return engram_fail(ENGRAM_EINVAL, "place cells: position %zu is not finite", r);
    const long nr = (long)rows;
#pragma omp parallel for schedule(static) if (rows * pc->n > PC_PAR_MIN_WORK)
    for (long r = 0; r < nr; r++) pc_encode_row(pc, pos + 2 * r, out + (size_t)r * pc->n);
    return ENGRAM_OK;
}

int pc_encode_steps(const pc_ensemble *pc, const double *pos, size_t B, size_t T,
                    double *init, double *targets) {
    for (size_t r = 0; r < B * (T + 1); r++)
        if (!isfinite(pos[2 * r]) || !isfinite(pos[2 * r + 1]))
            return engram_fail(ENGRAM_EINVAL, "place cells: position %zu is not finite",
                               r % (T + 1));
    /* every trajectory is one work item (the rows' codes do not depend on each other, so
     * the split does not change a bit) */
    const long nb = (long)B;
#pragma omp parallel for schedule(static) if (B * (T + 1) * pc->n > PC_PAR_MIN_WORK)
    for (long b = 0; b < nb; b++) {
        const double *pb = pos + (size_t)b * (T + 1) * 2;
        if (init) pc_encode_row(pc, pb, init + (size_t)b * pc->n);
        if (targets)
            for (size_t t = 0; t < T; t++)
                pc_encode_row(pc, pb + 2 * (t + 1), targets + ((size_t)b * T + t) * pc->n);
    }
    return ENGRAM_OK;
}

/* Writes the indices of the k largest of s (N,) into idx (k,), ties to the lower
 * index, in descending order of value. */
static void top_k(const double *s, size_t n, size_t k, size_t *idx) {
    size_t m = 0; /* entries held so far */
    for (size_t i = 0; i < n; i++) {
        double v = s[i];
        if (isnan(v)) v = -INFINITY;
        if (m == k) {
            double last = isnan(s[idx[k - 1]]) ? -INFINITY : s[idx[k - 1]];
            if (!(v > last)) continue;
            m--; /* drop the smallest */
        }
        size_t j = m;
        while (j > 0) {
            double w = isnan(s[idx[j - 1]]) ? -INFINITY : s[idx[j - 1]];
            if (v > w) { idx[j] = idx[j - 1]; j--; }
            else break;
        }
        idx[j] = i;
        m++;
    }
}

int pc_decode(const pc_ensemble *pc, const double *scores, size_t rows, size_t k,
              double *pos_out) {
    if (k < 1 || k > pc->n || k > 64)
        return engram_fail(ENGRAM_EINVAL, "place cells: decode k must be in 1..min(N, 64)");
    const long nr = (long)rows;
#pragma omp parallel for schedule(static) if (rows * pc->n > PC_PAR_MIN_WORK)
    for (long r = 0; r < nr; r++) {
        size_t idx[64];
        top_k(scores + (size_t)r * pc->n, pc->n, k, idx);
        double x = 0, y = 0;
        for (size_t j = 0; j < k; j++) {
            x += pc->centres[2 * idx[j]];
            y += pc->centres[2 * idx[j] + 1];
        }
        pos_out[2 * r] = x / (double)k;
        pos_out[2 * r + 1] = y / (double)k;
    }
    return ENGRAM_OK;
}

double pc_decode_error_cm(const pc_ensemble *pc, const double *scores, const double *true_pos,
                          size_t rows, size_t k) {
    if (rows == 0 || k < 1 || k > pc->n || k > 64) return NAN;
    double total = 0;
    /* Serial sum in row order so the value does not depend on the thread count. */
    for (size_t r = 0; r < rows; r++) {
        size_t idx[64];
        top_k(scores + r * pc->n, pc->n, k, idx);
        double x = 0, y = 0;
        for (size_t j = 0; j < k; j++) {
            x += pc->centres[2 * idx[j]];
            y += pc->centres[2 * idx[j] + 1];
        }
        total += hypot(x / (double)k - true_pos[2 * r], y / (double)k - true_pos[2 * r + 1]);
    }
    return 100.0 * total / (double)rows;
}

hd_ensemble *hdc_alloc(size_t n, double kappa, gsl_rng *r) {
    if (n == 0) { engram_fail(ENGRAM_EINVAL, "head-direction cells: n must be >= 1"); return NULL; }
    if (!(kappa >= 0) || !isfinite(kappa)) {
        engram_fail(ENGRAM_EINVAL, "head-direction cells: kappa must be >= 0 (got %g)", kappa);
        return NULL;
    }
    hd_ensemble *h = calloc(1, sizeof *h);
    if (!h) { engram_fail(ENGRAM_ENOMEM, "head-direction cells: out of memory"); return NULL; }
    h->centres = malloc(n * sizeof *h->centres);
    if (!h->centres) {
        free(h);
        engram_fail(ENGRAM_ENOMEM, "head-direction cells: out of memory");
        return NULL;
    }
    h->n = n;
    h->kappa = kappa;
    for (size_t j = 0; j < n; j++) h->centres[j] = M_PI * (2.0 * gsl_rng_uniform(r) - 1.0);
    return h;
}

void hdc_free(hd_ensemble *hdc) {
    if (!hdc) return;
    free(hdc->centres);
    free(hdc);
}

int hdc_encode(const hd_ensemble *hdc, const double *hd, size_t rows, double *out) {
    const size_t n = hdc->n;
    for (size_t r = 0; r < rows; r++)
        if (!isfinite(hd[r]))
            return engram_fail(ENGRAM_EINVAL, "head-direction cells: heading %zu is not finite", r);
    const long nr = (long)rows;
#pragma omp parallel for schedule(static) if (rows * n > PC_PAR_MIN_WORK)
    for (long r = 0; r < nr; r++) {
        double *o = out + (size_t)r * n;
        double mx = -INFINITY;
        for (size_t j = 0; j < n; j++) {
            o[j] = hdc->kappa * cos(hd[r] - hdc->centres[j]);
            if (o[j] > mx) mx = o[j];
        }
        double sum = 0;
        for (size_t j = 0; j < n; j++) { o[j] = exp(o[j] - mx); sum += o[j]; }
        for (size_t j = 0; j < n; j++) o[j] /= sum;
    }
    return ENGRAM_OK;
}

int hdc_encode_steps(const hd_ensemble *hdc, const double *hd, size_t B, size_t T,
                     double *init, double *targets) {
    for (size_t b = 0; b < B; b++) {
        const double *hb = hd + b * (T + 1);
        int st;
        if (init && (st = hdc_encode(hdc, hb, 1, init + b * hdc->n)) != ENGRAM_OK) return st;
        if (targets && (st = hdc_encode(hdc, hb + 1, T, targets + b * T * hdc->n)) != ENGRAM_OK)
            return st;
    }
    return ENGRAM_OK;
}

int hdc_decode(const hd_ensemble *hdc, const double *scores, size_t rows, size_t k,
               double *hd_out) {
    if (k < 1 || k > hdc->n || k > 64)
        return engram_fail(ENGRAM_EINVAL, "head-direction cells: decode k must be in 1..min(M, 64)");
    for (size_t r = 0; r < rows; r++) {
        size_t idx[64];
        top_k(scores + r * hdc->n, hdc->n, k, idx);
        double s = 0, c = 0;
        for (size_t j = 0; j < k; j++) {
            s += sin(hdc->centres[idx[j]]);
            c += cos(hdc->centres[idx[j]]);
        }
        hd_out[r] = atan2(s, c);
    }
    return ENGRAM_OK;
}

void pc_zscore_rows(double *pc0, size_t B, size_t P) {
    for (size_t b = 0; b < B; b++) {
        double *r = pc0 + b * P, mu = 0, var = 0;
        for (size_t i = 0; i < P; i++) mu += r[i];
        mu /= (double)P;
        for (size_t i = 0; i < P; i++) var += (r[i] - mu) * (r[i] - mu);
        double sd = sqrt(var / (double)P);
        for (size_t i = 0; i < P; i++) r[i] = sd > 0 ? (r[i] - mu) / sd : 0.0;
    }
}

int pc_cells_from_config(const config *c, double box, pc_ensemble **pc, hd_ensemble **hdc) {
    const size_t P = (size_t)config_int(c, "cells.n_pc"), D = (size_t)config_int(c, "cells.n_hd");
    gsl_rng *rc = rng_stream_alloc((uint64_t)config_int(c, "cells.seed"), "cells", 0);
    if (!rc) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    *pc = pc_alloc(P, config_real(c, "cells.pc_sigma"), config_real(c, "cells.pc_surround"), box, rc);
    *hdc = *pc && D ? hdc_alloc(D, config_real(c, "cells.hd_kappa"), rc) : NULL;
    gsl_rng_free(rc);
    return !*pc || (D && !*hdc) ? ENGRAM_EINVAL : ENGRAM_OK;
}
