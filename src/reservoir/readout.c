/* readout.c: ridge, LMS, NLMS and RLS readouts (readout.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include "engram/engram.h"
#include "engram/readout.h"

static const char *const kind_names[] = {"ridge", "lms", "nlms", "rls"};

readout_params readout_params_default(void) {
    readout_params p;
    memset(&p, 0, sizeof p);
    p.kind = READOUT_RIDGE;
    p.n_feat = 1;
    p.n_out = 1;
    p.ridge = 1e-8;
    p.block = 256;
    p.mu = 0.1;
    p.eps = 1e-6;
    p.rls_delta = 1e-2;
    p.rls_forget = 1.0;
    return p;
}

int readout_kind_parse(const char *name, readout_kind *kind) {
    for (int k = 0; k < 4; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *kind = (readout_kind)k;
            return ENGRAM_OK;
        }
    return engram_fail(ENGRAM_EINVAL, "unknown readout '%s' (choose ridge, lms, nlms or rls)", name);
}

const char *readout_kind_name(readout_kind kind) {
    return (unsigned)kind < 4 ? kind_names[kind] : "?";
}

static void rls_init_p(readout *r) {
    size_t d = r->dim;
    memset(r->P, 0, d * d * sizeof(double));
    for (size_t i = 0; i < d; i++) r->P[i * d + i] = 1.0 / r->p.rls_delta;
}

void readout_reset(readout *r) {
    size_t d = r->dim, o = r->p.n_out;
    memset(r->w, 0, o * d * sizeof(double));
    r->count = 0;
    r->nb = 0;
    r->solved = 0;
    if (r->p.kind == READOUT_RIDGE) {
        memset(r->xtx, 0, d * d * sizeof(double));
        memset(r->xty, 0, d * o * sizeof(double));
        memset(r->yty, 0, o * sizeof(double));
        memset(r->ysum, 0, o * sizeof(double));
    }
    if (r->p.kind == READOUT_RLS) rls_init_p(r);
}

readout *readout_alloc(const readout_params *p) {
    if ((unsigned)p->kind > READOUT_RLS) {
        engram_fail(ENGRAM_EINVAL, "readout: unknown kind %d", (int)p->kind);
        return NULL;
    }
    if (p->n_feat < 1 || p->n_out < 1) {
        engram_fail(ENGRAM_EINVAL, "readout: needs at least one feature and one output");
        return NULL;
    }
    if (p->kind == READOUT_RIDGE && (!(p->ridge >= 0.0) || p->block < 1)) {
        engram_fail(ENGRAM_EINVAL, "readout: ridge lambda %g must be >= 0 and block >= 1", p->ridge);
        return NULL;
    }
    if ((p->kind == READOUT_LMS || p->kind == READOUT_NLMS) &&
        (!(p->mu > 0.0) || !isfinite(p->mu) || !(p->eps >= 0.0))) {
        engram_fail(ENGRAM_EINVAL, "readout: learning rate mu = %g must be > 0 and eps >= 0", p->mu);
        return NULL;
    }
    if (p->kind == READOUT_RLS &&
        (!(p->rls_delta > 0.0) || !(p->rls_forget > 0.0 && p->rls_forget <= 1.0))) {
        engram_fail(ENGRAM_EINVAL, "readout: RLS needs delta > 0 (got %g) and forgetting in (0, 1] (got %g)",
                    p->rls_delta, p->rls_forget);
        return NULL;
    }
    readout *r = calloc(1, sizeof *r);
    if (!r) goto oom;
    r->p = *p;
    size_t d = p->n_feat + 1, o = p->n_out;
    r->dim = d;
    r->w = calloc(o * d, sizeof(double));
    r->z = calloc(d, sizeof(double));
    r->e = calloc(o, sizeof(double));
    if (!r->w || !r->z || !r->e) goto oom;
    if (p->kind == READOUT_RIDGE) {
        r->xtx = calloc(d * d, sizeof(double));
        r->chol = calloc(d * d, sizeof(double));
        r->xty = calloc(d * o, sizeof(double));
        r->zb = calloc(p->block * d, sizeof(double));
        r->yb = calloc(p->block * o, sizeof(double));
        r->yty = calloc(o, sizeof(double));
        r->ysum = calloc(o, sizeof(double));
        if (!r->xtx || !r->chol || !r->xty || !r->zb || !r->yb || !r->yty || !r->ysum) goto oom;
    }
    if (p->kind == READOUT_RLS) {
        r->P = calloc(d * d, sizeof(double));
        r->pz = calloc(d, sizeof(double));
        if (!r->P || !r->pz) goto oom;
    }
    readout_reset(r);
    return r;
oom:
    readout_free(r);
    engram_fail(ENGRAM_ENOMEM, "readout: out of memory (%zu features)", p->n_feat);
    return NULL;
}

void readout_free(readout *r) {
    if (!r) return;
    free(r->w);
    free(r->z);
    free(r->e);
    free(r->xtx);
    free(r->chol);
    free(r->xty);
    free(r->zb);
    free(r->yb);
    free(r->yty);
    free(r->ysum);
    free(r->P);
    free(r->pz);
    free(r);
}

static void load_z(readout *r, const double *f) {
    r->z[0] = 1.0;
    memcpy(r->z + 1, f, r->p.n_feat * sizeof(double));
}

static void predict_z(const readout *r, const double *z, double *y) {
    size_t d = r->dim;
    for (size_t o = 0; o < r->p.n_out; o++) {
        const double *w = r->w + o * d;
        double s = 0.0;
        for (size_t k = 0; k < d; k++) s += w[k] * z[k];
        y[o] = s;
    }
}

void readout_predict(readout *r, const double *f, double *y) {
    load_z(r, f);
    predict_z(r, r->z, y);
}

/* Gram micro-kernel. A (4, 8) tile of C is kept in eight 4-wide vector accumulators
 * while t runs over the block: C[i0+a, j0+b] += sum_t Z[t, i0+a] Z[t, j0+b]. Each
 * element is a plain sequential sum over t added to C once, in the same order in the
 * vector and the scalar edge path (ISO C mode compiles without FMA contraction), so the
 * result is bitwise the same for every tile split, clone and thread count. The function
 * is compiled twice (AVX2 and baseline x86-64) and chosen at load time. */
typedef double gram_v4 __attribute__((vector_size(32)));
#define GRAM_MR 4
#define GRAM_NR 8

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GRAM_CLONES \
    __attribute__((target_clones("arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#else
#define GRAM_CLONES
#endif

GRAM_CLONES
static void gram_column_tile(double *c, const double *z, size_t rows, size_t dim, size_t j0) {
    size_t nj = dim - j0 < GRAM_NR ? dim - j0 : GRAM_NR;
    for (size_t i0 = j0; i0 < dim; i0 += GRAM_MR) {
        size_t ni = dim - i0 < GRAM_MR ? dim - i0 : GRAM_MR;
        if (ni == GRAM_MR && nj == GRAM_NR) {
            gram_v4 a00 = {0, 0, 0, 0}, a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00,
                    a30 = a00, a31 = a00;
            for (size_t t = 0; t < rows; t++) {
                const double *zt = z + t * dim;
                gram_v4 b0, b1;
                memcpy(&b0, zt + j0, sizeof b0);
                memcpy(&b1, zt + j0 + 4, sizeof b1);
                double s0 = zt[i0], s1 = zt[i0 + 1], s2 = zt[i0 + 2], s3 = zt[i0 + 3];
                a00 += s0 * b0;
                a01 += s0 * b1;
                a10 += s1 * b0;
                a11 += s1 * b1;
                a20 += s2 * b0;
                a21 += s2 * b1;
                a30 += s3 * b0;
                a31 += s3 * b1;
            }
            gram_v4 acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
            for (size_t a = 0; a < GRAM_MR; a++) {
                double *cr = c + (i0 + a) * dim + j0;
                for (size_t b = 0; b < 4; b++) {
                    cr[b] += acc[a][0][b];
                    cr[b + 4] += acc[a][1][b];
                }
            }
        } else {
            double acc[GRAM_MR][GRAM_NR] = {{0}};
            for (size_t t = 0; t < rows; t++) {
                const double *zt = z + t * dim;
                for (size_t a = 0; a < ni; a++)
                    for (size_t b = 0; b < nj; b++) acc[a][b] += zt[i0 + a] * zt[j0 + b];
            }
            for (size_t a = 0; a < ni; a++)
                for (size_t b = 0; b < nj; b++) c[(i0 + a) * dim + j0 + b] += acc[a][b];
        }
    }
}

void readout_accumulate_gram(double *xtx, const double *z, size_t rows, size_t dim) {
    if (rows == 0) return;
    long n_tiles = (long)((dim + GRAM_NR - 1) / GRAM_NR);
    /* Column tile j covers columns [8j, 8j+8) and rows 8j..dim-1 (the lower triangle
     * plus the tile's own upper corner). Round-robin assignment balances the shrinking
     * tiles; each element of xtx is written by exactly one thread. */
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) if (rows * dim * dim >= 4000000)
#endif
    for (long j = 0; j < n_tiles; j++) gram_column_tile(xtx, z, rows, dim, (size_t)j * GRAM_NR);
}

/* Adds the buffered block to Z^T Z and Z^T Y. */
static int ridge_flush(readout *r) {
    size_t nb = r->nb, d = r->dim, o = r->p.n_out;
    if (nb == 0) return ENGRAM_OK;
    if (!engram_all_finite(r->zb, nb * d) || !engram_all_finite(r->yb, nb * o))
        return engram_fail(ENGRAM_EDIVERGED,
                           "ridge readout: non-finite reservoir state or target near training step %zu"
                           " (lower the spectral radius or input scaling)", r->count);
    readout_accumulate_gram(r->xtx, r->zb, nb, d);
    gsl_matrix_const_view zv = gsl_matrix_const_view_array(r->zb, nb, d);
    gsl_matrix_const_view yv = gsl_matrix_const_view_array(r->yb, nb, o);
    gsl_matrix_view xy = gsl_matrix_view_array(r->xty, d, o);
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &zv.matrix, &yv.matrix, 1.0, &xy.matrix);
    for (size_t t = 0; t < nb; t++)
        for (size_t k = 0; k < o; k++) {
            double v = r->yb[t * o + k];
            r->yty[k] += v * v;
            r->ysum[k] += v;
        }
    r->nb = 0;
    return ENGRAM_OK;
}

int readout_train_step(readout *r, const double *f, const double *d, double *y_prior) {
    size_t dim = r->dim, no = r->p.n_out;
    if (r->p.kind == READOUT_RIDGE) {
        double *zr = r->zb + r->nb * dim;
        zr[0] = 1.0;
        memcpy(zr + 1, f, r->p.n_feat * sizeof(double));
        memcpy(r->yb + r->nb * no, d, no * sizeof(double));
        r->nb++;
        r->count++;
        r->solved = 0;
        if (y_prior)
            for (size_t o = 0; o < no; o++) y_prior[o] = NAN;
        if (r->nb == r->p.block) return ridge_flush(r);
        return ENGRAM_OK;
    }
    load_z(r, f);
    double *z = r->z;
    predict_z(r, z, r->e);
    for (size_t o = 0; o < no; o++) {
        if (y_prior) y_prior[o] = r->e[o];
        r->e[o] = d[o] - r->e[o];
        if (!isfinite(r->e[o]))
            return engram_fail(ENGRAM_EDIVERGED,
                               "%s readout diverged at training step %zu (non-finite error)%s",
                               kind_names[r->p.kind], r->count + 1,
                               r->p.kind == READOUT_RLS ? "; raise readout.rls_delta"
                                                        : "; lower readout.mu");
    }
    r->count++;
    if (r->p.kind == READOUT_LMS || r->p.kind == READOUT_NLMS) {
        double g = r->p.mu;
        if (r->p.kind == READOUT_NLMS) {
            double zz = 0.0;
            for (size_t k = 0; k < dim; k++) zz += z[k] * z[k];
            g /= r->p.eps + zz;
        }
        for (size_t o = 0; o < no; o++) {
            double ge = g * r->e[o];
            double *w = r->w + o * dim;
            for (size_t k = 0; k < dim; k++) w[k] += ge * z[k];
        }
        return ENGRAM_OK;
    }
    /* RLS: pz = P z with P symmetric (lower triangle kept) */
    gsl_matrix_view pv = gsl_matrix_view_array(r->P, dim, dim);
    gsl_vector_view zv = gsl_vector_view_array(z, dim);
    gsl_vector_view pzv = gsl_vector_view_array(r->pz, dim);
    gsl_blas_dsymv(CblasLower, 1.0, &pv.matrix, &zv.vector, 0.0, &pzv.vector);
    double den;
    gsl_blas_ddot(&zv.vector, &pzv.vector, &den);
    den += r->p.rls_forget;
    if (!(den > 0.0) || !isfinite(den))
        return engram_fail(ENGRAM_EDIVERGED,
                           "rls readout diverged at training step %zu (P lost positive definiteness);"
                           " raise readout.rls_delta or readout.rls_forget", r->count);
    for (size_t o = 0; o < no; o++) {
        double c = r->e[o] / den;
        double *w = r->w + o * dim;
        for (size_t k = 0; k < dim; k++) w[k] += c * r->pz[k];
    }
    /* P <- (P - pz pz^T / den) / g */
    gsl_blas_dsyr(CblasLower, -1.0 / den, &pzv.vector, &pv.matrix);
    if (r->p.rls_forget != 1.0) {
        double s = 1.0 / r->p.rls_forget;
        for (size_t i = 0; i < dim; i++)
            for (size_t k = 0; k <= i; k++) r->P[i * dim + k] *= s;
    }
    return ENGRAM_OK;
}

int readout_finish(readout *r) {
    size_t d = r->dim, no = r->p.n_out;
    if (r->p.kind != READOUT_RIDGE) {
        if (!engram_all_finite(r->w, no * d))
            return engram_fail(ENGRAM_EDIVERGED, "%s readout diverged (non-finite weights)",
                               kind_names[r->p.kind]);
        return ENGRAM_OK;
    }
    int st = ridge_flush(r);
    if (st != ENGRAM_OK) return st;
    if (r->count == 0) return engram_fail(ENGRAM_EINVAL, "ridge readout: no training steps");
    /* complete the symmetric matrix from its lower triangle */
    for (size_t i = 0; i < d; i++)
        for (size_t k = i + 1; k < d; k++) r->xtx[i * d + k] = r->xtx[k * d + i];
    memcpy(r->chol, r->xtx, d * d * sizeof(double));
    for (size_t i = 0; i < d; i++) r->chol[i * d + i] += r->p.ridge;
    gsl_matrix_view cv = gsl_matrix_view_array(r->chol, d, d);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int gs = gsl_linalg_cholesky_decomp1(&cv.matrix);
    gsl_set_error_handler(old);
    if (gs != GSL_SUCCESS)
        return engram_fail(ENGRAM_ERANGE,
                           "ridge readout: Z^T Z + lambda I is not positive definite (lambda = %g,"
                           " %zu steps, %zu features); increase readout.ridge",
                           r->p.ridge, r->count, d);
    gsl_vector_view wv = gsl_vector_view_array(r->z, d); /* z reused as the solution buffer */
    for (size_t o = 0; o < no; o++) {
        gsl_vector_const_view bv = gsl_vector_const_view_array_with_stride(r->xty + o, no, d);
        gsl_linalg_cholesky_solve(&cv.matrix, &bv.vector, &wv.vector);
        memcpy(r->w + o * d, r->z, d * sizeof(double));
    }
    if (!engram_all_finite(r->w, no * d))
        return engram_fail(ENGRAM_ERANGE, "ridge readout: non-finite solution; increase readout.ridge");
    r->solved = 1;
    return ENGRAM_OK;
}

void readout_ridge_train_error(const readout *r, size_t o, double *mse, double *var) {
    size_t d = r->dim, no = r->p.n_out;
    const double *w = r->w + o * d;
    double wxy = 0.0, wxxw = 0.0;
    for (size_t i = 0; i < d; i++) {
        wxy += w[i] * r->xty[i * no + o];
        double s = 0.0;
        for (size_t k = 0; k < d; k++) s += r->xtx[i * d + k] * w[k];
        wxxw += w[i] * s;
    }
    double n = (double)r->count;
    double sse = r->yty[o] - 2.0 * wxy + wxxw;
    *mse = sse > 0.0 ? sse / n : 0.0;
    double mean = r->ysum[o] / n;
    double v = r->yty[o] / n - mean * mean;
    *var = v > 0.0 ? v : 0.0;
}
