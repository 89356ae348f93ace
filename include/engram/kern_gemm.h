/* kern_gemm.h: dense row-major matrix products in float64 and float32 whose bits do not
 * depend on the thread count.
 *
 *     C (M, N) = alpha op(A) (M, K) op(B) (K, N) + beta C,    op(X) = X or X^T
 *
 * kern_gemm_d calls cblas_dgemm, kern_gemm_s cblas_sgemm (OpenBLAS by default, GSL's
 * CBLAS with BLAS=gsl). A product of at least KERN_GEMM_PAR_MIN multiply-adds is cut into
 * KERN_GEMM_CHUNKS fixed pieces that OpenMP threads share: by columns of C when C has
 * few rows (M <= KERN_GEMM_COL_MAX_M and N >= 2 KERN_GEMM_CHUNKS; the per-step
 * recurrent product (B, H) x (H, H): every piece packs its share of B once, instead of
 * every row piece packing all of B), otherwise by rows. The pieces' shapes depend on
 * M, N and K only, never on the number of threads, so even a BLAS whose summation order
 * depends on the shape gives the same bytes for any thread count. Inside a parallel
 * region the pieces run on the calling thread. Keep the BLAS single-threaded
 * (OPENBLAS_NUM_THREADS=1): these functions are the only parallelism.
 *
 * lda, ldb and ldc are the row strides of A, B and C as stored (A is (K, M) when
 * transposed). Sizes of zero are allowed: with K = 0, C = beta C.
 *
 * Example: h (B, H) W (H, H) accumulated into z (B, H):
 *     kern_gemm_s(0, 0, B, H, H, 1.0f, h, H, w, H, 1.0f, z, H);
 *
 * Ownership: the caller owns every array; nothing allocates. Thread-safe.
 */
#ifndef ENGRAM_KERN_GEMM_H
#define ENGRAM_KERN_GEMM_H

#include <stddef.h>

#define KERN_GEMM_CHUNKS 2
#define KERN_GEMM_PAR_MIN 1e5
#define KERN_GEMM_COL_MAX_M 512

/* Float64 product (see the overview). */
void kern_gemm_d(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
                 const double *a, size_t lda, const double *b, size_t ldb, double beta,
                 double *c, size_t ldc);

/* Float32 product (see the overview). */
void kern_gemm_s(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta,
                 float *c, size_t ldc);

/* Naive references (triple loop, sums in k order, in double for both): the oracles of
 * tests/test_kernels-style checks. */
void kern_gemm_d_ref(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
                     const double *a, size_t lda, const double *b, size_t ldb, double beta,
                     double *c, size_t ldc);
void kern_gemm_s_ref(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                     const float *a, size_t lda, const float *b, size_t ldb, float beta,
                     float *c, size_t ldc);

/* Small-M product without packing, for the per-step recurrent products (a few to a few
 * hundred rows against a weight matrix that stays in cache):
 *
 *     C (M, N) = alpha A (M, K) B (K, N) + beta C,    A, B, C row-major, not transposed
 *
 * Every element is accumulated from zero in k order by fused multiply-adds, acc =
 * fma(a_ik, b_kj, acc), then c_ij = alpha acc + beta c_ij (beta = 0: c is not read, so
 * NaN there does not propagate), so the bits depend on neither the vector width nor the
 * thread count: kern_gemm_nn_small_*_ref (the plain loop with fma) is the bit-exact
 * oracle. kern_gemm_nn_small_d/s pick at run time AVX-512F (register tiles of 6 rows by
 * 64 floats or 32 doubles, each row k of B loaded once per tile and multiplied by the
 * broadcast a_ik), AVX2 + FMA (6 rows by 16 floats or 8 doubles) or, on other machines,
 * the reference itself: the same bits on every machine. Column tails are masked; any
 * M, N, K and any strides lda >= K, ldb >= N, ldc >= N. Sizes of zero are allowed (K = 0:
 * C = alpha 0 + beta C). Serial.
 *
 * Example: z (B, H) += h (B, H) W (H, H), B = 25, H = 128:
 *     kern_gemm_nn_small_s(25, 128, 128, 1.0f, h, 128, w, 128, 1.0f, z, 128);
 *
 * kern_gemm_nn_small_par_d/s: the same product and the same bits, cut by columns of C
 * into KERN_GEMM_CHUNKS fixed pieces (multiples of 16 columns) that OpenMP threads share
 * when it has at least KERN_GEMM_PAR_MIN multiply-adds and the caller is not already in
 * a parallel region; serial otherwise. Each piece is one serial call, so its elements go
 * through exactly the serial operations. */
void kern_gemm_nn_small_d(size_t M, size_t N, size_t K, double alpha, const double *a,
                          size_t lda, const double *b, size_t ldb, double beta, double *c,
                          size_t ldc);
void kern_gemm_nn_small_s(size_t M, size_t N, size_t K, float alpha, const float *a,
                          size_t lda, const float *b, size_t ldb, float beta, float *c,
                          size_t ldc);
void kern_gemm_nn_small_par_d(size_t M, size_t N, size_t K, double alpha, const double *a,
                              size_t lda, const double *b, size_t ldb, double beta, double *c,
                              size_t ldc);
void kern_gemm_nn_small_par_s(size_t M, size_t N, size_t K, float alpha, const float *a,
                              size_t lda, const float *b, size_t ldb, float beta, float *c,
                              size_t ldc);
void kern_gemm_nn_small_d_ref(size_t M, size_t N, size_t K, double alpha, const double *a,
                              size_t lda, const double *b, size_t ldb, double beta, double *c,
                              size_t ldc);
void kern_gemm_nn_small_s_ref(size_t M, size_t N, size_t K, float alpha, const float *a,
                              size_t lda, const float *b, size_t ldb, float beta, float *c,
                              size_t ldc);

/* y[i] = (float)x[i] and y[i] = (double)x[i] for i < n. */
void kern_d2s(const double *x, float *y, size_t n);
void kern_s2d(const float *x, double *y, size_t n);

#endif
