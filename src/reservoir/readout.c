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
        size_t nw = readout_gram_work_size(p->block, d), nc = readout_cholesky_work_size(d);
        r->pack = calloc(nw > nc ? nw : nc, sizeof(double));
        r->yb = calloc(p->block * o, sizeof(double));
        r->yty = calloc(o, sizeof(double));
        r->ysum = calloc(o, sizeof(double));
        if (!r->xtx || !r->chol || !r->xty || !r->zb || !r->pack || !r->yb || !r->yty || !r->ysum) goto oom;
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
    free(r->pack);
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

/* Gram kernels. Z (rows, dim) is first packed into 4-column panels,
 * zp[(p * rows + t) * 4 + a] = Z[t, 4p + a] (zero-padded to a multiple of 4 columns), so
 * that the inner loop over t reads three contiguous streams. A (4, 12) tile of C is kept
 * in twelve 4-wide vector accumulators while t runs over the block:
 * C[i0+a, j0+b] += sum_t Z[t, i0+a] Z[t, j0+b] (or -= for the Cholesky update). Each
 * element is a plain sequential sum over t added to C once, in the same order in every
 * tile shape (ISO C mode compiles without FMA contraction except in these kernels, whose
 * AVX2 clone contracts every product-sum alike), so the result is bitwise the same for
 * every tile split and thread count on a given machine. The kernel is compiled three
 * times (x86-64-v4 with AVX-512 registers, v3 with AVX2/FMA, baseline) and chosen at load
 * time; v3 and v4 give the same bits (both contract to FMA), the baseline clone differs
 * in the last bits (no FMA). */
typedef double gram_v4 __attribute__((vector_size(32)));
#define GRAM_MR 4
#define GRAM_NR 12
#define CHOL_NB 96 /* Cholesky block size (multiple of GRAM_NR) */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GRAM_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#else
#define GRAM_CLONES
#endif

static size_t round4(size_t n) { return (n + 3) & ~(size_t)3; }

/* Packs z (rows, dim), row stride ldz, into 4-column panels zp (round4(dim) * rows). */
static void gram_pack(double *restrict zp, const double *restrict z, size_t ldz, size_t rows,
                      size_t dim) {
    size_t np = round4(dim) / 4;
    for (size_t t = 0; t < rows; t++) {
        const double *zt = z + t * ldz;
        for (size_t p = 0; p < np; p++) {
            double *dst = zp + (p * rows + t) * 4;
            size_t c = 4 * p;
            if (c + 4 <= dim) {
                dst[0] = zt[c];
                dst[1] = zt[c + 1];
                dst[2] = zt[c + 2];
                dst[3] = zt[c + 3];
            } else {
                for (size_t a = 0; a < 4; a++) dst[a] = c + a < dim ? zt[c + a] : 0.0;
            }
        }
    }
}

/* Adds (sign = +1) or subtracts (sign = -1) the (4, 4 np) tile acc into C at (i0, j0),
 * clipped to dim. */
static void gram_store(double *c, size_t ldc, size_t dim, size_t i0, size_t j0,
                       const gram_v4 (*acc)[3], size_t np, int subtract) {
    for (size_t a = 0; a < GRAM_MR && i0 + a < dim; a++) {
        double *cr = c + (i0 + a) * ldc;
        for (size_t q = 0; q < np; q++)
            for (size_t b = 0; b < 4; b++) {
                size_t j = j0 + 4 * q + b;
                if (j >= dim) break;
                if (subtract)
                    cr[j] -= acc[a][q][b];
                else
                    cr[j] += acc[a][q][b];
            }
    }
}

/* Column tile [j0, j0 + 12) of C (rows j0..dim-1: the lower triangle plus the upper
 * corner of the diagonal tile) from the packed zp (rows, round4(dim)). */
GRAM_CLONES
static void gram_column_tile(double *c, size_t ldc, const double *zp, size_t rows, size_t dim,
                             size_t j0, int subtract) {
    size_t np = (round4(dim) - j0) / 4;
    if (np > 3) np = 3;
    const double *b0p = zp + (j0 / 4) * rows * 4;
    for (size_t i0 = j0; i0 < dim; i0 += GRAM_MR) {
        const double *ap = zp + (i0 / 4) * rows * 4;
        gram_v4 acc[GRAM_MR][3];
        if (np == 3) {
            const double *b1p = b0p + rows * 4, *b2p = b1p + rows * 4;
            gram_v4 a00 = {0, 0, 0, 0}, a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00,
                    a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
            for (size_t t = 0; t < rows; t++) {
                gram_v4 b0, b1, b2;
                memcpy(&b0, b0p + 4 * t, sizeof b0);
                memcpy(&b1, b1p + 4 * t, sizeof b1);
                memcpy(&b2, b2p + 4 * t, sizeof b2);
                const double *at = ap + 4 * t;
                double s0 = at[0], s1 = at[1], s2 = at[2], s3 = at[3];
                a00 += s0 * b0;
                a01 += s0 * b1;
                a02 += s0 * b2;
                a10 += s1 * b0;
                a11 += s1 * b1;
                a12 += s1 * b2;
                a20 += s2 * b0;
                a21 += s2 * b1;
                a22 += s2 * b2;
                a30 += s3 * b0;
                a31 += s3 * b1;
                a32 += s3 * b2;
            }
            if (i0 + GRAM_MR <= dim && j0 + GRAM_NR <= dim) { /* full tile: vector store */
                gram_v4 t[GRAM_MR][3] = {{a00, a01, a02}, {a10, a11, a12}, {a20, a21, a22},
                                         {a30, a31, a32}};
                for (size_t a = 0; a < GRAM_MR; a++) {
                    double *cr = c + (i0 + a) * ldc + j0;
                    for (size_t q = 0; q < 3; q++) {
                        gram_v4 cv;
                        memcpy(&cv, cr + 4 * q, sizeof cv);
                        if (subtract)
                            cv -= t[a][q];
                        else
                            cv += t[a][q];
                        memcpy(cr + 4 * q, &cv, sizeof cv);
                    }
                }
                continue;
            }
            acc[0][0] = a00, acc[0][1] = a01, acc[0][2] = a02;
            acc[1][0] = a10, acc[1][1] = a11, acc[1][2] = a12;
            acc[2][0] = a20, acc[2][1] = a21, acc[2][2] = a22;
            acc[3][0] = a30, acc[3][1] = a31, acc[3][2] = a32;
        } else {
            for (size_t a = 0; a < GRAM_MR; a++)
                for (size_t q = 0; q < 3; q++) acc[a][q] = (gram_v4){0, 0, 0, 0};
            for (size_t t = 0; t < rows; t++) {
                const double *at = ap + 4 * t;
                for (size_t q = 0; q < np; q++) {
                    gram_v4 b;
                    memcpy(&b, b0p + q * rows * 4 + 4 * t, sizeof b);
                    for (size_t a = 0; a < GRAM_MR; a++) acc[a][q] += at[a] * b;
                }
            }
        }
        gram_store(c, ldc, dim, i0, j0, (const gram_v4(*)[3])acc, np, subtract);
    }
}

/* C += Z^T Z (or -=) for packed zp, OpenMP over fixed 12-column tiles when `parallel`.
 * Column tile j covers columns [12j, 12j+12) and rows 12j..dim-1. Tiles are handed out
 * dynamically (largest first), which keeps both cores busy when the machine is loaded;
 * the bits do not depend on it, because each element of C belongs to exactly one tile
 * and a tile is computed in a fixed order by whichever thread takes it. */
static void gram_packed(double *c, size_t ldc, const double *zp, size_t rows, size_t dim,
                        int subtract, int parallel) {
    long n_tiles = (long)((dim + GRAM_NR - 1) / GRAM_NR);
    (void)parallel;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (parallel && rows * dim * dim >= 4000000)
#endif
    for (long j = 0; j < n_tiles; j++)
        gram_column_tile(c, ldc, zp, rows, dim, (size_t)j * GRAM_NR, subtract);
}

size_t readout_gram_work_size(size_t rows, size_t dim) { return rows * round4(dim); }

void readout_accumulate_gram(double *xtx, const double *z, size_t rows, size_t dim, double *work) {
    if (rows == 0) return;
    gram_pack(work, z, dim, rows, dim);
    gram_packed(xtx, dim, work, rows, dim, 0, 1);
}

void readout_accumulate_gram_ref(double *xtx, const double *z, size_t rows, size_t dim) {
    for (size_t i = 0; i < dim; i++)
        for (size_t j = 0; j <= i; j++) {
            double s = 0.0;
            for (size_t t = 0; t < rows; t++) s += z[t * dim + i] * z[t * dim + j];
            xtx[i * dim + j] += s;
        }
}

size_t readout_cholesky_work_size(size_t n) { return CHOL_NB * round4(n); }

int readout_cholesky(double *a, size_t n, double *work) {
    for (size_t k0 = 0; k0 < n; k0 += CHOL_NB) {
        size_t kb = n - k0 < CHOL_NB ? n - k0 : CHOL_NB, k1 = k0 + kb;
        /* diagonal block: unblocked, row by row */
        for (size_t j = k0; j < k1; j++) {
            double *aj = a + j * n;
            for (size_t i = j; i < k1; i++) {
                double *ai = a + i * n;
                double s = ai[j];
                for (size_t p = k0; p < j; p++) s -= ai[p] * aj[p];
                if (i == j) {
                    if (!(s > 0.0) || !isfinite(s))
                        return engram_fail(ENGRAM_ERANGE,
                                           "cholesky: matrix is not positive definite (pivot %zu of %zu)",
                                           j + 1, n);
                    aj[j] = sqrt(s);
                } else {
                    ai[j] = s / aj[j];
                }
            }
        }
        if (k1 == n) break;
        /* panel: rows below solve X L^T = A (forward substitution per row), four rows at
         * a time so that four independent sums share each load of L (every row keeps its
         * own sequential order, so the bits do not depend on the grouping) */
        size_t i = k1;
        for (; i + 4 <= n; i += 4) {
            double *a0 = a + i * n, *a1 = a0 + n, *a2 = a1 + n, *a3 = a2 + n;
            for (size_t j = k0; j < k1; j++) {
                const double *aj = a + j * n;
                double s0 = a0[j], s1 = a1[j], s2 = a2[j], s3 = a3[j];
                for (size_t p = k0; p < j; p++) {
                    double l = aj[p];
                    s0 -= a0[p] * l;
                    s1 -= a1[p] * l;
                    s2 -= a2[p] * l;
                    s3 -= a3[p] * l;
                }
                a0[j] = s0 / aj[j];
                a1[j] = s1 / aj[j];
                a2[j] = s2 / aj[j];
                a3[j] = s3 / aj[j];
            }
        }
        for (; i < n; i++) {
            double *ai = a + i * n;
            for (size_t j = k0; j < k1; j++) {
                const double *aj = a + j * n;
                double s = ai[j];
                for (size_t p = k0; p < j; p++) s -= ai[p] * aj[p];
                ai[j] = s / aj[j];
            }
        }
        /* trailing update A[k1.., k1..] -= X X^T with the Gram kernel on X^T */
        size_t m = n - k1;
        {
            size_t np = round4(m) / 4;
            for (size_t p = 0; p < np; p++)
                for (size_t t = 0; t < kb; t++)
                    for (size_t q = 0; q < 4; q++) {
                        size_t row = 4 * p + q;
                        work[(p * kb + t) * 4 + q] = row < m ? a[(k1 + row) * n + k0 + t] : 0.0;
                    }
        }
        gram_packed(a + k1 * n + k1, n, work, kb, m, 1, 0);
    }
    return ENGRAM_OK;
}

int readout_cholesky_ref(double *a, size_t n) {
    gsl_matrix_view cv = gsl_matrix_view_array(a, n, n);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int gs = gsl_linalg_cholesky_decomp1(&cv.matrix);
    gsl_set_error_handler(old);
    if (gs != GSL_SUCCESS)
        return engram_fail(ENGRAM_ERANGE, "cholesky (GSL): matrix is not positive definite");
    return ENGRAM_OK;
}

/* Solves L L^T x = b in place (b becomes x) for the lower factor in a (n, n). */
static void cholesky_solve(const double *a, size_t n, double *b) {
    for (size_t i = 0; i < n; i++) {
        const double *ai = a + i * n;
        double s = b[i];
        for (size_t p = 0; p < i; p++) s -= ai[p] * b[p];
        b[i] = s / ai[i];
    }
    for (size_t i = n; i-- > 0;) {
        const double *ai = a + i * n;
        b[i] /= ai[i];
        double xi = b[i];
        for (size_t p = 0; p < i; p++) b[p] -= ai[p] * xi;
    }
}

/* OpenBLAS, when it is the linked BLAS (the symbol is weak: absent with GSL's CBLAS). */
extern void openblas_set_num_threads(int n) __attribute__((weak));

#define GRAM_BLAS_NB 128 /* column block of gram_blas() */

/* C (dim, dim) lower triangle += Z^T Z for z (rows, dim) row-major, by OpenBLAS: column
 * block [j0, j0 + 128) gets a dsyrk for its diagonal square and a dgemm for the rows
 * below it. The blocks are fixed (not split by thread count) and each element of C
 * belongs to one block, so the bits are the same for any number of threads (OpenBLAS
 * runs single-threaded inside them); OpenMP hands the blocks out largest first. OpenBLAS's
 * level-3 kernels run at about twice the speed of the 4 x 12 tile kernel above, which
 * stays for GSL's CBLAS (whose dsyrk is a plain loop) and for the Cholesky update. */
static void gram_blas(double *c, size_t dim, const double *z, size_t rows) {
    long nblk = (long)((dim + GRAM_BLAS_NB - 1) / GRAM_BLAS_NB);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (rows * dim * dim >= 4000000)
#endif
    for (long b = 0; b < nblk; b++) {
        size_t j0 = (size_t)b * GRAM_BLAS_NB;
        size_t w = dim - j0 < GRAM_BLAS_NB ? dim - j0 : GRAM_BLAS_NB, below = dim - j0 - w;
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)w, (int)rows, 1.0, z + j0,
                    (int)dim, 1.0, c + j0 * dim + j0, (int)dim);
        if (below)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)below, (int)w, (int)rows, 1.0,
                        z + j0 + w, (int)dim, z + j0, (int)dim, 1.0, c + (j0 + w) * dim + j0,
                        (int)dim);
    }
}

/* Adds the buffered block to Z^T Z and Z^T Y. */
static int ridge_flush(readout *r) {
    size_t nb = r->nb, d = r->dim, o = r->p.n_out;
    if (nb == 0) return ENGRAM_OK;
    if (!engram_all_finite(r->zb, nb * d) || !engram_all_finite(r->yb, nb * o))
        return engram_fail(ENGRAM_EDIVERGED,
                           "ridge readout: non-finite reservoir state or target near training step %zu"
                           " (lower the spectral radius or input scaling)", r->count);
    if (openblas_set_num_threads) {
        gram_blas(r->xtx, d, r->zb, nb);
    } else {
        gram_pack(r->pack, r->zb, d, nb, d);
        gram_packed(r->xtx, d, r->pack, nb, d, 0, 1);
    }
    /* Z^T Y, row by row: each element gets one product added per row in row order, as in
     * gslcblas's dgemm (Trans, NoTrans), which this replaced: the same bits (its skipping
     * of z = 0 only matters for a -0 sum, which a sum starting at +0 never is), and now the
     * same bits with BLAS=openblas */
    double *restrict xty = r->xty;
    for (size_t t = 0; t < nb; t++) {
        const double *restrict zt = r->zb + t * d;
        const double *yt = r->yb + t * o;
        for (size_t k = 0; k < o; k++) {
            double yk = yt[k];
            for (size_t i = 0; i < d; i++) xty[i * o + k] += zt[i] * yk;
        }
    }
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
    if (readout_cholesky(r->chol, d, r->pack) != ENGRAM_OK)
        return engram_fail(ENGRAM_ERANGE,
                           "ridge readout: Z^T Z + lambda I is not positive definite (lambda = %g,"
                           " %zu steps, %zu features); increase readout.ridge",
                           r->p.ridge, r->count, d);
    for (size_t o = 0; o < no; o++) {
        double *w = r->w + o * d;
        for (size_t i = 0; i < d; i++) w[i] = r->xty[i * no + o];
        cholesky_solve(r->chol, d, w);
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
