/* lstm.c: batched LSTM forward and backward passes over flat time-major arrays, the
 * standard cell and its peephole and coupled input-forget variants; see lstm.h for the
 * equations, layout and threading rules. The kernel serves the path integrator
 * (src/gridcells/pathint.c) and the gated sequence learners (gated.c). */
#include <assert.h>
#include <math.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
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

static inline double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* The gates and the new state of one item at one step. zr (4H) holds the pre-activations
 * without bias on entry and the gate activations i, j, f, o on exit. The standard cell's
 * expressions are kept exactly as they were before the variants existed, so its numbers
 * (and the path integrator's) are unchanged bit for bit. */
static void lstm_cell_step(const lstm_params *p, int peep, int coupled, size_t H,
                           double forget_bias, double *zr, const double *cprev, double *cnew,
                           double *hnew) {
    const double *pi = peep ? p->w_p : NULL, *pf = peep ? p->w_p + H : NULL,
                 *po = peep ? p->w_p + 2 * H : NULL;
    for (size_t u = 0; u < H; u++) {
        if (!peep && !coupled) {
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
            continue;
        }
        /* Greff et al. 2017, eq. for i, f (peepholes p_i, p_f see c_{t-1}), o (p_o sees c_t) */
        double ai = zr[u] + p->b[u], af = zr[2 * H + u] + p->b[2 * H + u] + forget_bias;
        if (peep) { ai += pi[u] * cprev[u]; af += pf[u] * cprev[u]; }
        double ig = sigmoid(ai);
        double jg = tanh(zr[H + u] + p->b[H + u]);
        double fg = coupled ? 1.0 - ig : sigmoid(af); /* CIFG: f = 1 - i */
        double c = fg * cprev[u] + ig * jg;
        double ao = zr[3 * H + u] + p->b[3 * H + u];
        if (peep) ao += po[u] * c;
        double og = sigmoid(ao);
        zr[u] = ig;
        zr[H + u] = jg;
        zr[2 * H + u] = fg;
        zr[3 * H + u] = og;
        cnew[u] = c;
        hnew[u] = og * tanh(c);
    }
}

void lstm_forward_variant(const lstm_params *p, const lstm_variant *v, size_t T, size_t B,
                          size_t I, size_t H, double forget_bias, const double *x, double *z,
                          double *hs, double *cs) {
    const size_t G = 4 * H;
    const int peep = v && v->peephole, coupled = v && v->coupled;
    assert(T > 0 && B > 0 && H > 0);
    assert(!peep || p->w_p);
    /* The input term does not depend on the recurrence: one product over all T*B rows.
     * z (T*B, 4H) = x (T*B, I) W_x (I, 4H) */
    lstm_gemm(0, 0, T * B, G, I, 1.0, x, I, p->w_x, G, 0.0, z, G);
    /* Items are cut into n_groups fixed groups (sizes depend on B only); each thread
     * owns a contiguous range of groups for every step: no barrier is needed, and each
     * group's product has the same shape for any thread count. A single group (one
     * item, the closed-loop steps) or a small problem runs without a parallel region,
     * whose start-up (a scheduler time slice on a loaded machine) costs more than the
     * work; the groups are the same either way. */
    size_t n_groups = B < LSTM_CHUNKS ? B : LSTM_CHUNKS;
#ifdef _OPENMP
#pragma omp parallel if (n_groups > 1 && (double)T * B * H * G >= LSTM_PARALLEL_MIN)
#endif
    {
        size_t g0, g1;
        lstm_thread_range(n_groups, &g0, &g1);
        for (size_t t = 0; t < T; t++) {
            for (size_t gi = g0; gi < g1; gi++) {
                size_t b0, b1;
                lstm_partition(B, n_groups, gi, &b0, &b1);
                size_t nb = b1 - b0;
                double *zt = z + (t * B + b0) * G;            /* (nb, 4H) */
                const double *hprev = hs + (t * B + b0) * H;  /* (nb, H) */
                /* a_t += h_{t-1} (nb, H) W_h (H, 4H) */
                lstm_gemm_serial(0, 0, nb, G, H, 1.0, hprev, H, p->w_h, G, 1.0, zt, G);
                for (size_t bb = 0; bb < nb; bb++)
                    lstm_cell_step(p, peep, coupled, H, forget_bias, zt + bb * G,
                                   cs + (t * B + b0 + bb) * H, cs + ((t + 1) * B + b0 + bb) * H,
                                   hs + ((t + 1) * B + b0 + bb) * H);
            }
        }
    }
}

void lstm_forward(const lstm_params *p, size_t T, size_t B, size_t I, size_t H,
                  double forget_bias, const double *x, double *z, double *hs, double *cs) {
    lstm_forward_variant(p, NULL, T, B, I, H, forget_bias, x, z, hs, cs);
}

/* The backward step of one item: dzr (4H) receives the pre-activation gradients, dhr
 * (H) holds dL/dh_t from above on entry and the total on exit, dhn / dcn carry dL/dh_t
 * and dL/dc_t from step t+1 in and dL/dc_{t-1} out (dhn is overwritten by the caller's
 * product). As in the forward step, the standard cell's expressions are unchanged. */
static void lstm_cell_back(const lstm_params *p, int peep, int coupled, size_t H,
                           const double *zr, const double *c, const double *cprev, double *dzr,
                           double *dhr, const double *dhn, double *dcn) {
    const double *pi = peep ? p->w_p : NULL, *pf = peep ? p->w_p + H : NULL,
                 *po = peep ? p->w_p + 2 * H : NULL;
    for (size_t u = 0; u < H; u++) {
        double ig = zr[u], jg = zr[H + u], fg = zr[2 * H + u], og = zr[3 * H + u];
        /* total dL/dh_t: from the layers above plus through h_t W_h at t+1 */
        double dht = dhr[u] + dhn[u];
        dhr[u] = dht;
        double tc = tanh(c[u]);
        if (!peep && !coupled) {
            /* dL/dc_t: through h_t = o tanh(c_t) and through c_{t+1} = f c_t + ... */
            double dc = dcn[u] + dht * og * (1.0 - tc * tc);
            dzr[u] = dc * jg * ig * (1.0 - ig);               /* input gate */
            dzr[H + u] = dc * ig * (1.0 - jg * jg);           /* candidate */
            dzr[2 * H + u] = dc * cprev[u] * fg * (1.0 - fg); /* forget gate */
            dzr[3 * H + u] = dht * tc * og * (1.0 - og);      /* output gate */
            dcn[u] = dc * fg;                                 /* dL/dc_{t-1} */
            continue;
        }
        double dao = dht * tc * og * (1.0 - og);       /* output gate */
        /* dL/dc_t: through h_t = o tanh(c_t), through c_{t+1}, and (peephole) through
         * o_t's pre-activation p_o c_t */
        double dc = dcn[u] + dht * og * (1.0 - tc * tc);
        if (peep) dc += dao * po[u];
        double df = dc * cprev[u];                     /* dL/df_t */
        double di = dc * jg;                           /* dL/di_t through c_t */
        if (coupled) di -= df;                         /* and through f_t = 1 - i_t */
        double dai = di * ig * (1.0 - ig);
        double daf = coupled ? 0.0 : df * fg * (1.0 - fg);
        dzr[u] = dai;
        dzr[H + u] = dc * ig * (1.0 - jg * jg);        /* candidate */
        dzr[2 * H + u] = daf;
        dzr[3 * H + u] = dao;
        /* dL/dc_{t-1}: through c_t = f c_{t-1} + ..., and the peepholes of i_t, f_t */
        double dcp = dc * fg;
        if (peep) dcp += dai * pi[u] + daf * pf[u];
        dcn[u] = dcp;
    }
}

void lstm_backward_variant(const lstm_params *p, lstm_params *g, const lstm_variant *v, size_t T,
                           size_t B, size_t I, size_t H, double forget_bias, const double *x,
                           const double *z, const double *hs, const double *cs, double *dh,
                           double *dz, double *dh0, double *dc0, double *w_ht) {
    const size_t G = 4 * H;
    const int peep = v && v->peephole, coupled = v && v->coupled;
    (void)forget_bias;
    assert(T > 0 && B > 0 && H > 0);
    assert(!peep || (p->w_p && g->w_p));
    lstm_transpose(p->w_h, H, G, w_ht); /* (4H, H) */
    size_t n_groups = B < LSTM_CHUNKS ? B : LSTM_CHUNKS;
#ifdef _OPENMP
#pragma omp parallel if (n_groups > 1 && (double)T * B * H * G >= LSTM_PARALLEL_MIN)
#endif
    {
        /* the same fixed item groups as lstm_forward */
        size_t g0, g1, i0, i1, tmp;
        lstm_thread_range(n_groups, &g0, &g1);
        lstm_partition(B, n_groups, g0, &i0, &tmp);
        lstm_partition(B, n_groups, g1 > 0 ? g1 - 1 : 0, &tmp, &i1);
        if (g1 <= g0) i1 = i0;
        /* dh0 / dc0 carry dL/dh_t and dL/dc_t from step t+1 back to step t. */
        if (i1 > i0) {
            memset(dh0 + i0 * H, 0, (i1 - i0) * H * sizeof *dh0);
            memset(dc0 + i0 * H, 0, (i1 - i0) * H * sizeof *dc0);
        }
        for (size_t tt = T; tt-- > 0 && i1 > i0;) {
            for (size_t b = i0; b < i1; b++)
                lstm_cell_back(p, peep, coupled, H, z + (tt * B + b) * G,
                               cs + ((tt + 1) * B + b) * H, cs + (tt * B + b) * H,
                               dz + (tt * B + b) * G, dh + (tt * B + b) * H, dh0 + b * H,
                               dc0 + b * H);
            /* dL/dh_{t-1} through the recurrence, one product per item group:
             * dz_t (nb, 4H) W_h^T (4H, H) */
            for (size_t gi = g0; gi < g1; gi++) {
                size_t b0, b1;
                lstm_partition(B, n_groups, gi, &b0, &b1);
                lstm_gemm_serial(0, 0, b1 - b0, H, G, 1.0, dz + (tt * B + b0) * G, G, w_ht, H,
                                 0.0, dh0 + b0 * H, H);
            }
        }
    }
    /* Weight gradients: one product over all T*B rows each.
     * dW_h (H, 4H) = hs[0..T-1]^T (H, T*B) dz (T*B, 4H);  dW_x (I, 4H) = x^T dz */
    lstm_gemm(1, 0, H, G, T * B, 1.0, hs, H, dz, G, 0.0, g->w_h, G);
    lstm_gemm(1, 0, I, G, T * B, 1.0, x, I, dz, G, 0.0, g->w_x, G);
    /* db (4H,) = column sums of dz. */
    lstm_col_sums(dz, T * B, G, g->b);
    if (peep) {
        /* dp_i = sum_{t,b} da_i c_{t-1},  dp_f = sum da_f c_{t-1},  dp_o = sum da_o c_t,
         * each unit summed in row order (the same for any thread count) */
        double *gp = g->w_p;
        for (size_t u = 0; u < 3 * H; u++) gp[u] = 0;
        for (size_t r = 0; r < T * B; r++) {
            const double *dzr = dz + r * G, *cp = cs + r * H, *cn = cs + (r + B) * H;
            for (size_t u = 0; u < H; u++) {
                gp[u] += dzr[u] * cp[u];
                gp[H + u] += dzr[2 * H + u] * cp[u];
                gp[2 * H + u] += dzr[3 * H + u] * cn[u];
            }
        }
    }
}

void lstm_backward(const lstm_params *p, lstm_params *g, size_t T, size_t B, size_t I,
                   size_t H, double forget_bias, const double *x, const double *z,
                   const double *hs, const double *cs, double *dh, double *dz, double *dh0,
                   double *dc0, double *w_ht) {
    lstm_backward_variant(p, g, NULL, T, B, I, H, forget_bias, x, z, hs, cs, dh, dz, dh0, dc0,
                          w_ht);
}
