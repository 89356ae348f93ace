/* lstm.c: batched LSTM forward and backward passes over flat time-major arrays, the
 * standard cell and its peephole and coupled input-forget variants, in float64 and
 * float32 (the passes are written once, lstm_core.h); see lstm.h for the equations,
 * layout and threading rules. The kernel serves the path integrator
 * (src/gridcells/pathint.c) and the gated sequence learners (gated.c, float64). */
#include <assert.h>
#include <math.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/kern_gemm.h"
#include "engram/kernels.h"
#include "engram/lstm.h"

/* Products smaller than this many multiply-adds are one BLAS call; larger ones are cut
 * into fixed row chunks. This decides the call shapes, hence the bits: it stays fixed. */
#define LSTM_GEMM_PARALLEL_MIN 100000.0

/* Number of fixed row chunks of large products and of batch-item groups in the
 * recurrence (a property of the sizes, not of the thread count). */
#define LSTM_CHUNKS 8

size_t lstm_n_params(size_t n_in, size_t n_hidden) {
    return (n_in + n_hidden + 1) * 4 * n_hidden;
}

void lstm_params_map(lstm_params *p, double *block, size_t n_in, size_t n_hidden) {
    size_t G = 4 * n_hidden;
    p->w_x = block;
    p->w_h = p->w_x + n_in * G;
    p->b = p->w_h + n_hidden * G;
    p->w_p = NULL;
}

size_t lstm_variant_n_params(const lstm_variant *v, size_t n_in, size_t n_hidden) {
    return lstm_n_params(n_in, n_hidden) + (v && v->peephole ? 3 * n_hidden : 0);
}

void lstm_variant_params_map(lstm_params *p, const lstm_variant *v, double *block, size_t n_in,
                             size_t n_hidden) {
    lstm_params_map(p, block, n_in, n_hidden);
    if (v && v->peephole) p->w_p = p->b + 4 * n_hidden;
}

void lstm_partition(size_t n, size_t n_parts, size_t k, size_t *lo, size_t *hi) {
    size_t q = n / n_parts, r = n % n_parts;
    *lo = k * q + (k < r ? k : r);
    *hi = *lo + q + (k < r ? 1 : 0);
}

void lstm_thread_range(size_t n, size_t *lo, size_t *hi) {
    size_t n_parts = 1, k = 0;
#ifdef _OPENMP
    n_parts = (size_t)omp_get_num_threads();
    k = (size_t)omp_get_thread_num();
#endif
    lstm_partition(n, n_parts, k, lo, hi);
}

/* out (N,) = column sums of a (R, N), each column summed in row order by one thread,
 * so the result does not depend on the thread count. */
void lstm_col_sums(const double *a, size_t R, size_t N, double *out) {
#ifdef _OPENMP
#pragma omp parallel if ((double)R * N >= LSTM_PARALLEL_MIN)
#endif
    {
        size_t j0, j1;
        lstm_thread_range(N, &j0, &j1);
        for (size_t j = j0; j < j1; j++) out[j] = 0;
        for (size_t r = 0; r < R; r++)
            for (size_t j = j0; j < j1; j++) out[j] += a[r * N + j];
    }
}

/* One gsl_blas_dgemm call on strided row-major views; sizes must be non-zero. */
void lstm_gemm_serial(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
                      const double *a, size_t lda, const double *b, size_t ldb, double beta,
                      double *c, size_t ldc) {
    assert(M > 0 && N > 0 && K > 0);
    gsl_matrix_const_view A = trans_a ? gsl_matrix_const_view_array_with_tda(a, K, M, lda)
                                      : gsl_matrix_const_view_array_with_tda(a, M, K, lda);
    gsl_matrix_const_view Bm = trans_b ? gsl_matrix_const_view_array_with_tda(b, N, K, ldb)
                                       : gsl_matrix_const_view_array_with_tda(b, K, N, ldb);
    gsl_matrix_view C = gsl_matrix_view_array_with_tda(c, M, N, ldc);
    gsl_blas_dgemm(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                   alpha, &A.matrix, &Bm.matrix, beta, &C.matrix);
}

/* One chunk of lstm_gemm: rows [lo, hi) of C. */
static void gemm_rows(int trans_a, int trans_b, size_t lo, size_t hi, size_t N, size_t K,
                      double alpha, const double *a, size_t lda, const double *b, size_t ldb,
                      double beta, double *c, size_t ldc) {
    if (hi <= lo) return;
    /* Row i of op(A) is row i of A, or column i of A when transposed. */
    const double *ai = trans_a ? a + lo : a + lo * lda;
    lstm_gemm_serial(trans_a, trans_b, hi - lo, N, K, alpha, ai, lda, b, ldb, beta, c + lo * ldc, ldc);
}

void lstm_gemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
               const double *a, size_t lda, const double *b, size_t ldb, double beta,
               double *c, size_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    /* Small products: one call. Large ones: LSTM_CHUNKS fixed row chunks whose shapes
     * depend on the sizes only, never on the thread count, so even a BLAS whose
     * summation order depends on the matrix shape (OpenBLAS) gives the same bits for
     * any number of threads. */
    if ((double)M * N * K < LSTM_GEMM_PARALLEL_MIN || M < 2) {
        lstm_gemm_serial(trans_a, trans_b, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    size_t n_chunks = M < LSTM_CHUNKS ? M : LSTM_CHUNKS;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && (double)M * N * K >= LSTM_PARALLEL_MIN)
#endif
    for (size_t k = 0; k < n_chunks; k++) {
        size_t lo, hi;
        lstm_partition(M, n_chunks, k, &lo, &hi);
        gemm_rows(trans_a, trans_b, lo, hi, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

void lstm_transpose(const double *a, size_t R, size_t C, double *at) {
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < C; j++) at[j * R + i] = a[i * C + j];
}

void lstm_transpose_s(const float *a, size_t R, size_t C, float *at) {
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < C; j++) at[j * R + i] = a[i * C + j];
}

void lstm_variant_params_map_s(lstm_params_s *p, const lstm_variant *v, float *block,
                               size_t n_in, size_t n_hidden) {
    size_t G = 4 * n_hidden;
    p->w_x = block;
    p->w_h = p->w_x + n_in * G;
    p->b = p->w_h + n_hidden * G;
    p->w_p = v && v->peephole ? p->b + G : NULL;
}

/* float64 nonlinearities: libm, one value at a time */
static void sigmoid_row_d(double *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 1.0 / (1.0 + exp(-x[i]));
}

static void tanh_row_d(const double *x, double *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = tanh(x[i]);
}

/* float32: sig(x) = 1/2 + tanh(x/2)/2 through the vector tanh (at most a few float ulp
 * of the sigmoid's range [0, 1]) */
static void sigmoid_row_s(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i];
    kern_tanh_f32(x, x, n);
    for (size_t i = 0; i < n; i++) x[i] = 0.5f + 0.5f * x[i];
}

/* Column block of lstm_col_sums_s: columns summed together, each in row order. */
#define LSTM_COLS_BLOCK 64

/* out (N,) = column sums of a float (R, N), accumulated in double in row order; blocks
 * of LSTM_COLS_BLOCK columns are shared among the threads (each column summed by one
 * thread), so the result does not depend on the thread count. */
static void lstm_col_sums_s(const float *a, size_t R, size_t N, float *out) {
    const size_t n_blocks = (N + LSTM_COLS_BLOCK - 1) / LSTM_COLS_BLOCK;
#ifdef _OPENMP
#pragma omp parallel if ((double)R * N >= LSTM_PARALLEL_MIN)
#endif
    {
        size_t k0, k1;
        lstm_thread_range(n_blocks, &k0, &k1);
        for (size_t k = k0; k < k1; k++) {
            const size_t j0 = k * LSTM_COLS_BLOCK;
            const size_t nj = N - j0 < LSTM_COLS_BLOCK ? N - j0 : LSTM_COLS_BLOCK;
            double acc[LSTM_COLS_BLOCK] = {0};
            for (size_t r = 0; r < R; r++)
                for (size_t j = 0; j < nj; j++) acc[j] += a[r * N + j0 + j];
            for (size_t j = 0; j < nj; j++) out[j0 + j] = (float)acc[j];
        }
    }
}

/* Whether the recurrence runs as one product over all B rows per step (LSTM_STEP_ALL):
 * when its item groups would not be shared among threads anyway: one thread, inside a
 * parallel region, a single item or a small problem (work = T B H 4H multiply-adds).
 * Either way gives the same bits; the grouped pass needs no barrier per step, which on a
 * loaded machine costs far more than streaming W_h once per group. */
static int lstm_step_all_rows(size_t B, double work) {
#ifdef _OPENMP
    if (omp_get_max_threads() > 1 && !omp_in_parallel() && B > 1 && work >= LSTM_PARALLEL_MIN)
        return 0;
#else
    (void)B;
    (void)work;
#endif
    return 1;
}

/* float64: GSL's dgemm (the linked CBLAS), per-step products one call each */
#define LSTM_REAL double
#define LSTM_SFX d
#define LSTM_PARAMS lstm_params
#define LSTM_GEMM lstm_gemm
#define LSTM_GEMM_STEP(M, N, K, a, lda, b, ldb, beta, c, ldc) \
    lstm_gemm_serial(0, 0, M, N, K, 1.0, a, lda, b, ldb, beta, c, ldc)
#define LSTM_SIGMOID sigmoid_row_d
#define LSTM_TANH tanh_row_d
#define LSTM_COL_SUMS lstm_col_sums
#define LSTM_TRANSPOSE lstm_transpose
#define LSTM_SIMD
#include "cells/lstm_core.h"
#undef LSTM_REAL
#undef LSTM_SFX
#undef LSTM_PARAMS
#undef LSTM_GEMM
#undef LSTM_GEMM_STEP
#undef LSTM_SIGMOID
#undef LSTM_TANH
#undef LSTM_COL_SUMS
#undef LSTM_TRANSPOSE
#undef LSTM_SIMD

/* float32: kern_gemm_s over all rows, the unpacked small-M product per step (one call
 * per item group), the vector float tanh. Included twice with these parameters: the fast
 * pass (suffix s: with LSTM_STEP_ALL, one step product over all B rows, and the fused
 * gates) and its reference by item groups, as float64 runs (suffix sg: the same bits). */
#define LSTM_REAL float
#define LSTM_PARAMS lstm_params_s
#define LSTM_GEMM kern_gemm_s
#define LSTM_GEMM_STEP(M, N, K, a, lda, b, ldb, beta, c, ldc) \
    kern_gemm_nn_small_s(M, N, K, 1.0f, a, lda, b, ldb, beta, c, ldc)
#define LSTM_SIGMOID sigmoid_row_s
#define LSTM_TANH kern_tanh_f32
#define LSTM_COL_SUMS lstm_col_sums_s
#define LSTM_TRANSPOSE lstm_transpose_s
#ifdef _OPENMP
#define LSTM_SIMD _Pragma("omp simd")
#else
#define LSTM_SIMD
#endif

#define LSTM_SFX s
#define LSTM_STEP_ALL LSTM_GEMM_STEP
#define LSTM_FUSED_GATES
#include "cells/lstm_core.h"
#undef LSTM_FUSED_GATES
#undef LSTM_STEP_ALL
#undef LSTM_SFX

#define LSTM_SFX sg
#include "cells/lstm_core.h"
#undef LSTM_SFX

#undef LSTM_REAL
#undef LSTM_PARAMS
#undef LSTM_GEMM
#undef LSTM_GEMM_STEP
#undef LSTM_SIGMOID
#undef LSTM_TANH
#undef LSTM_COL_SUMS
#undef LSTM_TRANSPOSE
#undef LSTM_SIMD

void lstm_forward_variant(const lstm_params *p, const lstm_variant *v, size_t T, size_t B,
                          size_t I, size_t H, double forget_bias, const double *x, double *z,
                          double *hs, double *cs) {
    forward_d(p, v, T, B, I, H, forget_bias, x, z, hs, cs);
}

void lstm_forward(const lstm_params *p, size_t T, size_t B, size_t I, size_t H,
                  double forget_bias, const double *x, double *z, double *hs, double *cs) {
    forward_d(p, NULL, T, B, I, H, forget_bias, x, z, hs, cs);
}

void lstm_forward_variant_s(const lstm_params_s *p, const lstm_variant *v, size_t T, size_t B,
                            size_t I, size_t H, float forget_bias, const float *x, float *z,
                            float *hs, float *cs) {
    forward_s(p, v, T, B, I, H, forget_bias, x, z, hs, cs);
}

/* forget_bias is unused by the backward arithmetic (it is folded into z). */
void lstm_backward_variant(const lstm_params *p, lstm_params *g, const lstm_variant *v, size_t T,
                           size_t B, size_t I, size_t H, double forget_bias, const double *x,
                           const double *z, const double *hs, const double *cs, double *dh,
                           double *dz, double *dh0, double *dc0, double *w_ht) {
    (void)forget_bias;
    backward_d(p, g, v, T, B, I, H, x, z, hs, cs, dh, dz, dh0, dc0, w_ht);
}

void lstm_backward(const lstm_params *p, lstm_params *g, size_t T, size_t B, size_t I,
                   size_t H, double forget_bias, const double *x, const double *z,
                   const double *hs, const double *cs, double *dh, double *dz, double *dh0,
                   double *dc0, double *w_ht) {
    (void)forget_bias;
    backward_d(p, g, NULL, T, B, I, H, x, z, hs, cs, dh, dz, dh0, dc0, w_ht);
}

void lstm_backward_variant_s(const lstm_params_s *p, lstm_params_s *g, const lstm_variant *v,
                             size_t T, size_t B, size_t I, size_t H, float forget_bias,
                             const float *x, const float *z, const float *hs, const float *cs,
                             float *dh, float *dz, float *dh0, float *dc0, float *w_ht) {
    (void)forget_bias;
    backward_s(p, g, v, T, B, I, H, x, z, hs, cs, dh, dz, dh0, dc0, w_ht);
}

void lstm_forward_variant_s_grouped(const lstm_params_s *p, const lstm_variant *v, size_t T,
                                    size_t B, size_t I, size_t H, float forget_bias,
                                    const float *x, float *z, float *hs, float *cs) {
    forward_sg(p, v, T, B, I, H, forget_bias, x, z, hs, cs);
}

void lstm_backward_variant_s_grouped(const lstm_params_s *p, lstm_params_s *g,
                                     const lstm_variant *v, size_t T, size_t B, size_t I,
                                     size_t H, float forget_bias, const float *x, const float *z,
                                     const float *hs, const float *cs, float *dh, float *dz,
                                     float *dh0, float *dc0, float *w_ht) {
    (void)forget_bias;
    backward_sg(p, g, v, T, B, I, H, x, z, hs, cs, dh, dz, dh0, dc0, w_ht);
}
