/* lstm.c: batched LSTM forward and backward passes over flat time-major arrays; see
 * lstm.h for the equations, layout and threading rules. */
#include <assert.h>
#include <math.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/lstm.h"

/* Products smaller than this many multiply-adds run on one thread (speed only: the
 * result is the same either way). */
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
}

void lstm_partition(size_t n, size_t n_parts, size_t k, size_t *lo, size_t *hi) {
    size_t q = n / n_parts, r = n % n_parts;
    *lo = k * q + (k < r ? k : r);
    *hi = *lo + q + (k < r ? 1 : 0);
}

/* out (N,) = column sums of a (R, N), each column summed in row order by one thread,
 * so the result does not depend on the thread count. */
void lstm_col_sums(const double *a, size_t R, size_t N, double *out) {
#ifdef _OPENMP
#pragma omp parallel
#endif
    {
        size_t n_parts = 1, k = 0, j0, j1;
#ifdef _OPENMP
        n_parts = (size_t)omp_get_num_threads();
        k = (size_t)omp_get_thread_num();
#endif
        lstm_partition(N, n_parts, k, &j0, &j1);
        for (size_t j = j0; j < j1; j++) out[j] = 0;
        for (size_t r = 0; r < R; r++)
            for (size_t j = j0; j < j1; j++) out[j] += a[r * N + j];
    }
}

/* One gsl_blas_dgemm call on strided row-major views; sizes must be non-zero. */
static void gemm_serial(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
                        const double *a, size_t lda, const double *b, size_t ldb,
                        double beta, double *c, size_t ldc) {
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
    gemm_serial(trans_a, trans_b, hi - lo, N, K, alpha, ai, lda, b, ldb, beta, c + lo * ldc, ldc);
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
        gemm_serial(trans_a, trans_b, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    size_t n_chunks = M < LSTM_CHUNKS ? M : LSTM_CHUNKS;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
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

static inline double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

void lstm_forward(const lstm_params *p, size_t T, size_t B, size_t I, size_t H,
                  double forget_bias, const double *x, double *z, double *hs, double *cs) {
    const size_t G = 4 * H;
    assert(T > 0 && B > 0 && H > 0);
    /* The input term does not depend on the recurrence: one product over all T*B rows.
     * z (T*B, 4H) = x (T*B, I) W_x (I, 4H) */
    lstm_gemm(0, 0, T * B, G, I, 1.0, x, I, p->w_x, G, 0.0, z, G);
#ifdef _OPENMP
#pragma omp parallel
#endif
    {
        size_t n_parts = 1, k = 0;
#ifdef _OPENMP
        n_parts = (size_t)omp_get_num_threads();
        k = (size_t)omp_get_thread_num();
#endif
        /* Items are cut into n_groups fixed groups (sizes depend on B only); each
         * thread owns a contiguous range of groups for every step: no barrier is
         * needed, and each group's product has the same shape for any thread count. */
        size_t n_groups = B < LSTM_CHUNKS ? B : LSTM_CHUNKS, g0, g1;
        lstm_partition(n_groups, n_parts, k, &g0, &g1);
        for (size_t t = 0; t < T; t++) {
            for (size_t gi = g0; gi < g1; gi++) {
                size_t b0, b1;
                lstm_partition(B, n_groups, gi, &b0, &b1);
                size_t nb = b1 - b0;
                double *zt = z + (t * B + b0) * G;            /* (nb, 4H) */
                const double *hprev = hs + (t * B + b0) * H;  /* (nb, H) */
                /* a_t += h_{t-1} (nb, H) W_h (H, 4H) */
                gemm_serial(0, 0, nb, G, H, 1.0, hprev, H, p->w_h, G, 1.0, zt, G);
                for (size_t bb = 0; bb < nb; bb++) {
                    double *zr = zt + bb * G;
                    const double *cprev = cs + (t * B + b0 + bb) * H;
                    double *cnew = cs + ((t + 1) * B + b0 + bb) * H;
                    double *hnew = hs + ((t + 1) * B + b0 + bb) * H;
                    for (size_t u = 0; u < H; u++) {
                        double ig = sigmoid(zr[u] + p->b[u]);
                        double jg = tanh(zr[H + u] + p->b[H + u]);
                        double fg = sigmoid(zr[2 * H + u] + p->b[2 * H + u] + forget_bias);
                        double og = sigmoid(zr[3 * H + u] + p->b[3 * H + u]);
                        zr[u] = ig;
                        zr[H + u] = jg;
                        zr[2 * H + u] = fg;
                        zr[3 * H + u] = og;
                        double c = fg * cprev[u] + ig * jg;
                        cnew[u] = c;
                        hnew[u] = og * tanh(c);
                    }
                }
            }
        }
    }
}

void lstm_backward(const lstm_params *p, lstm_params *g, size_t T, size_t B, size_t I,
                   size_t H, double forget_bias, const double *x, const double *z,
                   const double *hs, const double *cs, double *dh, double *dz, double *dh0,
                   double *dc0, double *w_ht) {
    const size_t G = 4 * H;
    (void)forget_bias;
    assert(T > 0 && B > 0 && H > 0);
    lstm_transpose(p->w_h, H, G, w_ht); /* (4H, H) */
#ifdef _OPENMP
#pragma omp parallel
#endif
    {
        size_t n_parts = 1, k = 0;
#ifdef _OPENMP
        n_parts = (size_t)omp_get_num_threads();
        k = (size_t)omp_get_thread_num();
#endif
        /* the same fixed item groups as lstm_forward */
        size_t n_groups = B < LSTM_CHUNKS ? B : LSTM_CHUNKS, g0, g1, i0, i1, tmp;
        lstm_partition(n_groups, n_parts, k, &g0, &g1);
        lstm_partition(B, n_groups, g0, &i0, &tmp);
        lstm_partition(B, n_groups, g1 > 0 ? g1 - 1 : 0, &tmp, &i1);
        if (g1 <= g0) i1 = i0;
        /* dh0 / dc0 carry dL/dh_t and dL/dc_t from step t+1 back to step t. */
        if (i1 > i0) {
            memset(dh0 + i0 * H, 0, (i1 - i0) * H * sizeof *dh0);
            memset(dc0 + i0 * H, 0, (i1 - i0) * H * sizeof *dc0);
        }
        for (size_t tt = T; tt-- > 0 && i1 > i0;) {
            for (size_t b = i0; b < i1; b++) {
                const double *zr = z + (tt * B + b) * G;
                double *dzr = dz + (tt * B + b) * G;
                double *dhr = dh + (tt * B + b) * H;
                const double *c = cs + ((tt + 1) * B + b) * H;
                const double *cprev = cs + (tt * B + b) * H;
                double *dhn = dh0 + b * H, *dcn = dc0 + b * H;
                for (size_t u = 0; u < H; u++) {
                    double ig = zr[u], jg = zr[H + u], fg = zr[2 * H + u], og = zr[3 * H + u];
                    /* total dL/dh_t: from the layers above plus through h_t W_h at t+1 */
                    double dht = dhr[u] + dhn[u];
                    dhr[u] = dht;
                    double tc = tanh(c[u]);
                    /* dL/dc_t: through h_t = o tanh(c_t) and through c_{t+1} = f c_t + ... */
                    double dc = dcn[u] + dht * og * (1.0 - tc * tc);
                    dzr[u] = dc * jg * ig * (1.0 - ig);               /* input gate */
                    dzr[H + u] = dc * ig * (1.0 - jg * jg);           /* candidate */
                    dzr[2 * H + u] = dc * cprev[u] * fg * (1.0 - fg); /* forget gate */
                    dzr[3 * H + u] = dht * tc * og * (1.0 - og);      /* output gate */
                    dcn[u] = dc * fg;                                 /* dL/dc_{t-1} */
                }
            }
            /* dL/dh_{t-1} through the recurrence, one product per item group:
             * dz_t (nb, 4H) W_h^T (4H, H) */
            for (size_t gi = g0; gi < g1; gi++) {
                size_t b0, b1;
                lstm_partition(B, n_groups, gi, &b0, &b1);
                gemm_serial(0, 0, b1 - b0, H, G, 1.0, dz + (tt * B + b0) * G, G, w_ht, H, 0.0,
                            dh0 + b0 * H, H);
            }
        }
    }
    /* Weight gradients: one product over all T*B rows each.
     * dW_h (H, 4H) = hs[0..T-1]^T (H, T*B) dz (T*B, 4H);  dW_x (I, 4H) = x^T dz */
    lstm_gemm(1, 0, H, G, T * B, 1.0, hs, H, dz, G, 0.0, g->w_h, G);
    lstm_gemm(1, 0, I, G, T * B, 1.0, x, I, dz, G, 0.0, g->w_x, G);
    /* db (4H,) = column sums of dz. */
    lstm_col_sums(dz, T * B, G, g->b);
}
