/* rnn.h: a rate RNN and the learning rules that train it (BPTT, feedback-alignment
 * BPTT, RFLO, and the echo-state baseline with a delta-rule readout).
 *
 * The model
 * ---------
 * For one trial with inputs x_t (I,), t = 0..T-1, and h_{-1} = 0:
 *     a_t = b + W h_{t-1} + U x_t                        (N,)
 *     h_t = (1 - alpha) h_{t-1} + alpha tanh(a_t)         alpha = dt / tau in (0, 1]
 *     o_t = c + V h_t                                     (O,)
 * alpha = 1 gives the plain Elman network h_t = tanh(a_t). Outputs are either linear with
 * the squared error L_t = 1/2 |o_t - y_t|^2 (RNN_MSE), or softmax probabilities
 * p_t = softmax(o_t) with the cross-entropy L_t = -sum_k y_tk log p_tk (RNN_XENT). A mask
 * m_t in {0, 1} selects the steps whose loss counts; the loss of a batch is the mean over
 * counted steps: L = sum_{b,t} m_bt L_bt / sum_{b,t} m_bt, and every gradient below is the
 * gradient of that mean.
 *
 * The learning rules: one family, one signature
 * ---------------------------------------------
 * rnn_backward() runs the backward pass with the feedback path as explicit arguments:
 *     dh_t   = g_t + fb_out e_t                     e_t = dL/do_t (O,), g_{T-1} = 0
 *     da_t   = alpha * (1 - tanh(a_t)^2) * dh_t
 *     g_{t-1} = (1 - alpha) dh_t + fb_rec da_t               (carried to step t-1)
 * with fb_out (N, O) and fb_rec (N, N). Passing fb_out = V^T and fb_rec = W^T gives exact
 * backpropagation through time (Werbos 1990); fixed random matrices give feedback
 * alignment (Lillicrap et al. 2016, Nat Commun 7:13276), applied to the readout only
 * (fb_rec = W^T) or to both paths, so the error N steps back is shaped by fb_rec^N.
 * Weight gradients are always dL/dW = sum_t da_t h_{t-1}^T, dL/dU = sum_t da_t x_t^T,
 * dL/db = sum_t da_t, dL/dV = sum_t e_t h_t^T, dL/dc = sum_t e_t. A window K > 0
 * truncates BPTT: the sequence is cut into windows [0,K), [K,2K), ... and the carried
 * error g is not passed across a window boundary (PyTorch-style detach of the state).
 *
 * rnn_rflo_grad() is random-feedback local online learning (Murray 2019, eLife
 * 8:e43299; its RFLO update written in the notation above): eligibility traces, updated
 * forward in time,
 *     P_ij <- (1 - alpha) P_ij + alpha f'(a_i) h_{t-1,j}     (N, N)  for W
 *     Q_ij <- (1 - alpha) Q_ij + alpha f'(a_i) x_{t,j}       (N, I)  for U
 *     r_i  <- (1 - alpha) r_i  + alpha f'(a_i)               (N,)    for b
 * and at every step the projected output error delta = fb_out e_t gives
 *     dW_ij += delta_i P_ij, dU_ij += delta_i Q_ij, db_i += delta_i r_i,
 *     dV += e_t h_t^T, dc += e_t  (the delta rule for the readout).
 * These are the exact sensitivities dh_t/dW with the terms through W dropped, so with
 * W = 0 and fb_out = V^T RFLO equals BPTT (a test).
 *
 * Shapes: a batch is (B, T, I) / (B, T, O) / (B, T) as in task.h; the workspace stores
 * tanh(a) and h as (B, T, N) with T the batch's t_max. Parameters live in one block
 *     params = [W (N,N) | U (N,I) | b (N,) | V (O,N) | c (O,)]
 * with a gradient mirror block of the same layout, so the readout (V, c) is the last
 * O*N + O numbers (the ESN trains only that tail).
 *
 * Speed and determinism: the forward and backward time loops run the batch through
 * cblas_dgemm (cblas_sgemm in float32), one (b x N) x (N x N) product per step and chunk
 * of b = 8 items in the NoTrans x NoTrans form (with W^T, resp. fb_rec^T, copied once per
 * call into the workspace), the chunks shared between OpenMP threads (only when B N^2 is
 * large enough to pay for the threads), tanh by the vector kernel of kernels.h. One
 * parallel region per pass: the time loop runs inside it with no barrier per step.
 * Weight gradients are then single products over all B*T rows (dW = dA^T H_prev), rows
 * of dW (columns of dV) in chunks of 32 between threads. Every BLAS call has the same
 * shape for any thread count and each output element is computed by one thread, so
 * results are bitwise identical for 1 and 2 threads with any BLAS.
 * RFLO's update is the same weight-gradient products over errors filtered backward
 * within each item (rnn_rflo_grad), the items in chunks as in the forward pass.
 *
 * Precision: a workspace is float64 (the default; the gradient checks use it) or float32
 * (rnn_work_alloc_precision): the same kernels, written once for both types (rnn_real.h),
 * run on float activations with float copies of the weights, sgemm and a vector tanh;
 * the parameters and the optimiser stay in double.
 *
 * Example:
 *     rnn *net = rnn_alloc(3, 64, 3, 1.0, RNN_XENT);
 *     gsl_rng *r = rng_stream_alloc(seed, "weights", 0);
 *     rnn_init(net, r, 1.0, 1.0);
 *     rnn_work *w = rnn_work_alloc(net, 32, 10);
 *     rnn_forward(net, batch, w);
 *     double loss = rnn_loss(net, batch, w);          // also fills w->d_o
 *     rnn_transpose_weights(net, w_rec_t, w_out_t);   // fb_rec = W^T, fb_out = V^T
 *     rnn_backward(net, batch, w, w_out_t, w_rec_t, 0, net->grads);
 *     ... optim_step(opt, net->params, net->grads) ...
 *     rnn_work_free(w); rnn_free(net);
 *
 * Ownership: rnn_alloc/rnn_free and rnn_work_alloc/rnn_work_free own their blocks;
 * nothing is allocated during forward/backward.
 *
 * The learners built on this model (learner.h): learner_bptt ("bptt"), learner_fa
 * ("fa"), learner_rflo ("rflo") and learner_esn ("esn"); their keys are learner_keys.
 */
#ifndef ENGRAM_RNN_H
#define ENGRAM_RNN_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "engram/learner.h"
#include "engram/task.h"

typedef enum { RNN_XENT, RNN_MSE } rnn_loss_kind;

typedef struct rnn {
    size_t n_in, n_rec, n_out; /* I, N, O */
    double alpha;              /* leak dt / tau in (0, 1]; 1 = non-leaky */
    rnn_loss_kind loss;
    size_t n_params;           /* P = N*N + N*I + N + O*N + O */
    double *params;            /* (P,) */
    double *grads;             /* (P,) mirror of params */
    double *w_rec, *w_in, *b_rec, *w_out, *b_out;           /* W, U, b, V, c in params */
    double *g_w_rec, *g_w_in, *g_b_rec, *g_w_out, *g_b_out; /* the same in grads */
} rnn;

/* The precision of a workspace's activations, errors and GEMMs. Parameters, gradients
 * handed back and the optimiser stay in double either way (float32 copies the weights in
 * at every forward pass and the gradient out at every backward pass). */
typedef enum { RNN_FLOAT64, RNN_FLOAT32 } rnn_precision;

struct rnn_work32; /* the float32 buffers (private to rnn.c) */

/* Forward activations and backward scratch for batches of up to max_batch trials of up
 * to t_max steps. The double buffers below exist for RNN_FLOAT64 only (NULL for
 * RNN_FLOAT32, whose buffers are the same in float behind f32). */
typedef struct rnn_work {
    size_t max_batch, t_max;
    rnn_precision precision;
    double *z;    /* (B, T, N) tanh(a_t) */
    double *h;    /* (B, T, N) h_t (zero past the batch's longest item) */
    double *h_prev; /* (B, T, N) h_{t-1}, zero at t = 0 */
    double *m_t;  /* (N, N) scratch: the transposed recurrent (feedback) matrix */
    double *u_t;  /* (I, N) scratch: U^T */
    double *v_t;  /* (O, N) scratch: fb_out^T (rflo) */
    double *o;    /* (B, T, O) outputs: probabilities (xent) or linear outputs (mse) */
    double *logit; /* (B, T, O) c + V h_t */
    double *d_o;  /* (B, T, O) dL/do_t of the mean masked loss */
    double *d_a;  /* (B, T, N) dL/da_t (rflo: f'(a_t) D_t) */
    double *d_h;  /* (B, N) carried state error */
    double *d_h2; /* (B, N) scratch */
    struct rnn_work32 *f32; /* float32 buffers; NULL for RNN_FLOAT64 */
} rnn_work;

/* Allocates a network with zero parameters and gradients. alpha must lie in (0, 1].
 * Returns NULL with engram_error() set on bad sizes or out of memory. */
rnn *rnn_alloc(size_t n_in, size_t n_rec, size_t n_out, double alpha, rnn_loss_kind loss);

/* Frees a network; rnn_free(NULL) is a no-op. */
void rnn_free(rnn *net);

/* Draws W ~ N(0, gain^2 / N), U ~ N(0, in_scale^2 / I), V ~ N(0, 1 / N), and sets
 * b = c = 0. */
void rnn_init(rnn *net, gsl_rng *r, double gain, double in_scale);

/* Allocates a float64 workspace for batches of up to max_batch trials of up to t_max
 * steps; NULL with engram_error() set on failure. */
rnn_work *rnn_work_alloc(const rnn *net, size_t max_batch, size_t t_max);

/* The same in the given precision: with RNN_FLOAT32, rnn_forward, rnn_loss, rnn_backward
 * and rnn_rflo_grad compute in float (single-precision GEMMs and a vector tanh) while
 * taking and returning double parameters, feedback matrices and gradients. */
rnn_work *rnn_work_alloc_precision(const rnn *net, size_t max_batch, size_t t_max,
                                   rnn_precision precision);

/* Frees a workspace; NULL is a no-op. */
void rnn_work_free(rnn_work *w);

/* Runs the batch forward from h_{-1} = 0, storing tanh(a_t), h_t and the outputs in w.
 * Steps past the longest item's length are skipped. The batch must fit the workspace
 * (assert). */
void rnn_forward(const rnn *net, const trial_batch *b, rnn_work *w);

/* Returns the mean masked loss of the last forward pass and writes dL/do_t (of that
 * mean) into w->d_o. Returns 0 (and d_o = 0) when no step is counted. */
double rnn_loss(const rnn *net, const trial_batch *b, rnn_work *w);

/* Writes the transposed weights W^T (N, N) into w_rec_t and V^T (N, O) into w_out_t, the
 * feedback matrices for which rnn_backward() is exact BPTT. Either may be NULL. */
void rnn_transpose_weights(const rnn *net, double *w_rec_t, double *w_out_t);

/* The backward pass of the family (see the overview): reads w->z, w->h, w->d_o from the
 * last forward/loss call, uses fb_out (N, O) in place of V^T and fb_rec (N, N) in place
 * of W^T, truncates at windows of `window` steps (0 = full BPTT), and writes the full
 * gradient (P,) into grads (overwritten; may be net->grads). */
void rnn_backward(const rnn *net, const trial_batch *b, rnn_work *w, const double *fb_out,
                  const double *fb_rec, size_t window, double *grads);

/* RFLO (see the overview) after rnn_forward() and rnn_loss(): the update direction of
 * the eligibility traces of every item, with fb_out (N, O) projecting the output error,
 * summed over the trials' steps and the batch, into grads (P,) (the gradient-like
 * quantity: the optimiser subtracts it). Computed in closed form: summed over a trial,
 * delta_t P_t = sum_s f'(a_s) D_s h_{s-1}^T with D_s = delta_s + (1 - alpha) D_{s+1}, so
 * the traces' O(N^2) work per step is one weight-gradient GEMM per batch, as in BPTT;
 * equal to rnn_rflo_grad_online() up to rounding (a test). Steps past an item's length
 * contribute nothing (padding has zero mask, task.h). Overwrites w->d_a, d_h, d_h2. */
void rnn_rflo_grad(const rnn *net, const trial_batch *b, rnn_work *w, const double *fb_out,
                   double *grads);

/* The reference for rnn_rflo_grad() (float64 workspaces only): the traces run forward
 * in time step by step as in Murray 2019. traces (B, N, N+I+1) and slices (B, P) are
 * caller-owned scratch for b->n_batch items; each item's update goes into its own slice
 * and the slices are summed in item order. */
void rnn_rflo_grad_online(const rnn *net, const trial_batch *b, const rnn_work *w,
                          const double *fb_out, double *traces, double *slices,
                          double *grads);

/* One time step for a single trial: h (N,) from h_prev (N,) and x (I,); out (O,) gets
 * the probabilities (xent) or linear outputs (mse). h may not alias h_prev. */
void rnn_step(const rnn *net, const double *h_prev, const double *x, double *h, double *out);

/* Largest absolute eigenvalue of a square (n, n) row-major matrix (GSL's nonsymmetric
 * eigensolver). Returns -1 with engram_error() set if the solver fails. */
double rnn_spectral_radius(const double *m, size_t n);

/* The angle in degrees between two vectors of length n (90 if either is zero). */
double rnn_angle_deg(const double *u, const double *v, size_t n);

/* The learner types (learner.h) of the rate-RNN rules. */
extern const learner_type learner_bptt, learner_fa, learner_rflo, learner_esn;

#endif
