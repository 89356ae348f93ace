/* lstm.h: a batched LSTM layer with hand-written forward and backward passes.
 *
 * The core of the path-integrating network of Banino et al. 2018 (Nature 557:429,
 * Methods "Supervised learning"), which uses a standard Sonnet-1 LSTM: no peepholes, no
 * cell clipping, a constant forget-gate bias (+1) added to the forget pre-activation.
 * For every batch item b and step t = 0..T-1, with x_t (I,), h_{t-1}, c_{t-1} (H,):
 *
 *     a_t = x_t W_x + h_{t-1} W_h + b                     (4H,) gate pre-activations
 *     i = sig(a_i)  j = tanh(a_j)  f = sig(a_f + forget_bias)  o = sig(a_o)
 *     c_t = f * c_{t-1} + i * j                             (Hochreiter & Schmidhuber 1997;
 *     h_t = o * tanh(c_t)                                    Gers et al. 2000 forget gate)
 *
 * Gate order inside a 4H row is i, j, f, o (Sonnet's order). Biases are parameters that
 * start at zero; forget_bias is a constant, as in Sonnet, so a learned bias of 0 means an
 * effective forget bias of +1.
 *
 * Variants (Greff et al. 2017, "LSTM: A Search Space Odyssey", IEEE TNNLS 28:2222, Sec. II
 * and the variants NFG..CIFG of Sec. III), chosen by an lstm_variant:
 *   peephole (Gers & Schmidhuber 2000): diagonal weights p_i, p_f, p_o (H,) each let
 *     the gates see the cell:  i = sig(a_i + p_i * c_{t-1}),  f = sig(a_f + fb + p_f *
 *     c_{t-1}),  o = sig(a_o + p_o * c_t); they follow b in the block as w_p (3H,).
 *   coupled input and forget gate (CIFG): f = 1 - i. The forget columns of W_x, W_h and
 *     b stay in the block (so every variant shares one layout and one kernel) but take
 *     no part: their gradient is exactly zero, and forget_bias is unused.
 * Both may be combined. With neither (lstm_forward, or a NULL variant) the arithmetic is
 * the standard cell's, expression for expression.
 *
 * Layout: time-major. x is (T, B, I); gate activations z (T, B, 4H); hidden and cell
 * states hs, cs (T+1, B, H), where block 0 holds the initial state h0 / c0 and block
 * t+1 holds h_t / c_t. Time-major rows make the per-step slice (B, .) contiguous and
 * let the input product x W_x and the weight gradients be one GEMM over all T*B rows.
 * Parameters live in a caller-owned flat block (see lstm_params_map): W_x (I, 4H),
 * W_h (H, 4H), b (4H,), in this order, row-major.
 *
 * Speed and threads: products go through gsl_blas_dgemm (link OpenBLAS with
 * `make BLAS=openblas` for speed, with OPENBLAS_NUM_THREADS=1). The recurrence runs in
 * one OpenMP region: the items are cut into min(B, 8) fixed groups and each thread owns
 * a contiguous range of groups for all T steps (items are independent, so no barrier).
 * Large products are cut into min(rows, 8) fixed row chunks shared among the threads.
 * Chunk and group shapes depend on the sizes only, never on the thread count, so every
 * output element comes from the same BLAS call shape and results are byte-identical for
 * any thread count, even with a BLAS whose summation order depends on the shape.
 *
 * Example (T steps of B items, I inputs, H units):
 *     double *w = calloc(lstm_n_params(I, H), sizeof *w), *gw = calloc(...);
 *     lstm_params p, g; lstm_params_map(&p, w, I, H); lstm_params_map(&g, gw, I, H);
 *     // hs[0..B*H) = h0, cs[0..B*H) = c0
 *     lstm_forward(&p, T, B, I, H, 1.0, x, z, hs, cs);
 *     // dh (T, B, H) = dL/dh_t from above
 *     lstm_backward(&p, &g, T, B, I, H, 1.0, x, z, hs, cs, dh, dz, dh0, dc0, w_ht);
 *
 * Float32 (lstm_forward_variant_s, lstm_backward_variant_s): the same equations and the
 * same item groups over float arrays and a float parameter view (lstm_params_s, same
 * layout), for callers that keep float64 master weights and round them to float at each
 * pass (the path integrator's run.precision = float32). The input term and the weight
 * gradients go through kern_gemm_s (kern_gemm.h), the per-step recurrent products
 * h_{t-1} W_h and dz_t W_h^T through kern_gemm_nn_small_s (one call per item group);
 * the gates use kern_tanh_f32 over rows of H, with sig(x) = 1/2 + tanh(x/2)/2; bias
 * gradients are column sums accumulated in double. Both precisions are written once
 * (lstm_core.h, included twice by lstm.c); the float64 functions keep their BLAS calls
 * and expression order, so their bits do not depend on the float path. Gradient checks
 * run in float64; the float path is tested against it (test_lstm.c).
 *
 * Ownership: the caller owns every array; the functions allocate nothing.
 */
#ifndef ENGRAM_LSTM_H
#define ENGRAM_LSTM_H

#include <stddef.h>

/* Work (multiply-adds) below which a product or a recurrence runs on the calling thread:
 * an OpenMP region costs microseconds on an idle machine but a scheduler time slice when
 * the cores are shared, more than a small product. Only where the work runs depends on
 * it, never a call shape, so the results are the same on either side. */
#define LSTM_PARALLEL_MIN 4e6

/* Views into a flat parameter (or gradient) block. */
typedef struct lstm_params {
    double *w_x; /* (I, 4H) */
    double *w_h; /* (H, 4H) */
    double *b;   /* (4H,) */
    double *w_p; /* (3H,) peepholes p_i, p_f, p_o, or NULL for a cell without them */
} lstm_params;

/* Which LSTM: flags, both 0 for the standard cell (a NULL pointer means the same). */
typedef struct lstm_variant {
    int peephole; /* gates see the cell through w_p */
    int coupled;  /* f = 1 - i (CIFG) */
} lstm_variant;

/* Returns the number of doubles of an LSTM's parameters: (I + H + 1) * 4H. */
size_t lstm_n_params(size_t n_in, size_t n_hidden);

/* Points p's fields into block (lstm_n_params(n_in, n_hidden) doubles): W_x, W_h, b;
 * w_p = NULL. */
void lstm_params_map(lstm_params *p, double *block, size_t n_in, size_t n_hidden);

/* The same for variant v (NULL = standard): lstm_n_params plus 3H with peepholes. */
size_t lstm_variant_n_params(const lstm_variant *v, size_t n_in, size_t n_hidden);
void lstm_variant_params_map(lstm_params *p, const lstm_variant *v, double *block, size_t n_in,
                             size_t n_hidden);

/* Runs the LSTM over T steps for B items. Inputs: x (T, B, I); hs[0] and cs[0] (B, H)
 * hold the initial state. Outputs: z (T, B, 4H) the gate activations i, j, f, o after
 * their nonlinearities (kept for the backward pass), hs[1..T] and cs[1..T]. */
void lstm_forward(const lstm_params *p, size_t T, size_t B, size_t I, size_t H,
                  double forget_bias, const double *x, double *z, double *hs, double *cs);

/* Backpropagates through time. Inputs: the forward pass's x, z, hs, cs, and dh (T, B, H)
 * holding dL/dh_t from the layers above (overwritten with the total dL/dh_t). Writes
 * (overwrites) the gradient block g, the gate pre-activation gradients dz (T, B, 4H),
 * and dL/dh0, dL/dc0 (B, H) into dh0 and dc0. w_ht is a workspace of 4H * H doubles
 * (receives W_h transposed, so every product is a non-transposed one, which gslcblas
 * runs faster). forget_bias is unused by the arithmetic (it is folded into z) and kept
 * for symmetry with lstm_forward. */
void lstm_backward(const lstm_params *p, lstm_params *g, size_t T, size_t B, size_t I,
                   size_t H, double forget_bias, const double *x, const double *z,
                   const double *hs, const double *cs, double *dh, double *dz, double *dh0,
                   double *dc0, double *w_ht);

/* lstm_forward and lstm_backward for variant v (NULL = standard, the same bits as
 * lstm_forward / lstm_backward); with v->peephole, p->w_p (and g->w_p) must be mapped
 * (lstm_variant_params_map) and g->w_p receives the peephole gradient. */
void lstm_forward_variant(const lstm_params *p, const lstm_variant *v, size_t T, size_t B,
                          size_t I, size_t H, double forget_bias, const double *x, double *z,
                          double *hs, double *cs);
void lstm_backward_variant(const lstm_params *p, lstm_params *g, const lstm_variant *v, size_t T,
                           size_t B, size_t I, size_t H, double forget_bias, const double *x,
                           const double *z, const double *hs, const double *cs, double *dh,
                           double *dz, double *dh0, double *dc0, double *w_ht);

/* Writes the transpose of a (R, C) into at (C, R). */
void lstm_transpose(const double *a, size_t R, size_t C, double *at);

/* The float32 view of a parameter (or gradient) block: the fields of lstm_params. */
typedef struct lstm_params_s {
    float *w_x; /* (I, 4H) */
    float *w_h; /* (H, 4H) */
    float *b;   /* (4H,) */
    float *w_p; /* (3H,) peepholes, or NULL */
} lstm_params_s;

/* Points p's fields into a float block of lstm_variant_n_params(v, n_in, n_hidden)
 * floats, at the offsets of lstm_variant_params_map (v NULL: the standard cell). */
void lstm_variant_params_map_s(lstm_params_s *p, const lstm_variant *v, float *block,
                               size_t n_in, size_t n_hidden);

/* lstm_forward_variant and lstm_backward_variant in float32 (see the overview): the same
 * arguments, shapes and item groups over float arrays; w_ht is a workspace of 4H * H
 * floats. Results are byte-identical for any thread count and agree with the float64
 * functions to float32 rounding. */
void lstm_forward_variant_s(const lstm_params_s *p, const lstm_variant *v, size_t T, size_t B,
                            size_t I, size_t H, float forget_bias, const float *x, float *z,
                            float *hs, float *cs);
void lstm_backward_variant_s(const lstm_params_s *p, lstm_params_s *g, const lstm_variant *v,
                             size_t T, size_t B, size_t I, size_t H, float forget_bias,
                             const float *x, const float *z, const float *hs, const float *cs,
                             float *dh, float *dz, float *dh0, float *dc0, float *w_ht);

/* The float32 passes as the float64 ones run them, one small recurrent product per item
 * group and step (the simple path): the reference that the fast functions above, one
 * product over all B rows per step, must match byte for byte (tests/test_lstm.c). */
void lstm_forward_variant_s_grouped(const lstm_params_s *p, const lstm_variant *v, size_t T,
                                    size_t B, size_t I, size_t H, float forget_bias,
                                    const float *x, float *z, float *hs, float *cs);
void lstm_backward_variant_s_grouped(const lstm_params_s *p, lstm_params_s *g,
                                     const lstm_variant *v, size_t T, size_t B, size_t I,
                                     size_t H, float forget_bias, const float *x, const float *z,
                                     const float *hs, const float *cs, float *dh, float *dz,
                                     float *dh0, float *dc0, float *w_ht);

/* Writes the transpose of a float (R, C) into at (C, R). */
void lstm_transpose_s(const float *a, size_t R, size_t C, float *at);

/* C (M, N) = alpha op(A) op(B) + beta C through gsl_blas_dgemm, with row-major strides
 * lda, ldb, ldc; op(A) is (M, K) (A itself is (K, M) when trans_a), op(B) is (K, N).
 * When the product is large (M N K >= 1e5), the rows of C are cut into min(M, 8) fixed
 * chunks, one BLAS call each, run in parallel when called outside an OpenMP parallel
 * region and M N K >= LSTM_PARALLEL_MIN; the chunking depends on the sizes only, so the result does not depend on the
 * thread count. Does nothing when M or N is 0; K = 0 scales C by beta. */
void lstm_gemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
               const double *a, size_t lda, const double *b, size_t ldb, double beta,
               double *c, size_t ldc);

/* One gsl_blas_dgemm call, the same arguments as lstm_gemm, never split or threaded
 * (for callers that are already inside a parallel region); M, N, K must be non-zero. */
void lstm_gemm_serial(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
                      const double *a, size_t lda, const double *b, size_t ldb, double beta,
                      double *c, size_t ldc);

/* Returns the static partition [*lo, *hi) of n items for part k of n_parts (contiguous,
 * sizes differing by at most one). */
void lstm_partition(size_t n, size_t n_parts, size_t k, size_t *lo, size_t *hi);

/* The calling thread's share [*lo, *hi) of n parts inside an OpenMP parallel region
 * (lstm_partition by thread number; all of [0, n) outside a region). */
void lstm_thread_range(size_t n, size_t *lo, size_t *hi);

/* out (N,) = column sums of a (R, N); each column is summed in row order by one
 * thread, so the result is the same for any thread count. */
void lstm_col_sums(const double *a, size_t R, size_t N, double *out);

#endif
