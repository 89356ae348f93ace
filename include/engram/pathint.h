/* pathint.h: the path-integrating network of Banino et al. 2018 (Nature 557:429), with
 * two cores: the paper's LSTM and the rate RNN of Sorscher et al. 2019/2023.
 *
 * The supervised network of the paper's Fig. 1 (official code deepmind/grid-cells,
 * model.py): from egocentric velocity inputs it predicts place-cell and head-direction
 * cell activity; grid-like units may appear in its linear layer g.
 *
 *     init = [pc_0, hd_0]                        (P + D,) ground-truth targets at t = 0
 *     h_0  = init W_h0 + b_h0,  c_0 = init W_c0 + b_c0          (H,) each
 *     h_t  = LSTM(v_t, h_{t-1}, c_{t-1})          t = 1..T, forget bias +1 (lstm.h)
 *     g_t  = (h_t W_g) * m_t                      (Ng,) no bias; m_t inverted dropout:
 *                                                 0 with probability p, else 1/(1-p)
 *     y_t  = softmax(g_t W_pc + b_pc),  q_t = softmax(g_t W_hd + b_hd)   (P,), (D,)
 *     L    = 1/(B T) sum_{b,t} [ -sum_i pc_t,i log y_t,i - sum_j hd_t,j log q_t,j ]
 *            + (weight_decay / 2) (|W_g|^2 + |W_pc|^2 + |W_hd|^2)
 *
 * With g_act = PATHINT_G_RELU the layer is g_t = relu(h_t W_g) * m_t (non-negative g;
 * Sorscher et al. 2023 argue the sign constraint is what selects hexagons).
 *
 * Rate-RNN core (kind = PATHINT_RNN; Sorscher, Mel, Ocko, Giocomo & Ganguli 2023, Neuron
 * 111:121, code ganguli-lab/grid-pattern-formation model.py): H recurrent units, no
 * biases by default, and the recurrent state itself is the layer g (Ng = H):
 *     h_0 = init W_h0 (+ b_h0)                    (H,) linear encoder of the start code
 *     h_t = f(h_{t-1} W_rec + x_t W_in)           f = relu (default) or tanh
 *     g_t = h_t * m_t,  y_t, q_t as above (head biases only when m->bias)
 *     L   = CE + (weight_decay / 2) |W_rec|^2     (Sorscher's 1e-4 sum W^2 is 2e-4 here)
 * Its initialisation follows torch: every weight uniform in +-1/sqrt(fan_in), where the
 * fan-in of W_in and W_rec is H (torch.nn.RNN) and that of W_h0 is P + D. With n_hd = 0
 * (either core) there is no head-direction head.
 *
 * Defaults (paper Table 1 / code flags): I = 3, H = 128, Ng = 256 (512 in the paper),
 * P = 256, D = 12, dropout 0.5, weight decay 0 (the official code declares 1e-5 but never
 * adds it to the loss). Softmaxes subtract the log-sum-exp, so very negative logits are
 * safe. Initialisation (Sonnet 1 defaults): every weight matrix truncated normal (redrawn
 * beyond 2 std) with std 1/sqrt(fan_in), where the LSTM's fan-in is I + H; biases zero.
 * Draws come from rng_stream_alloc(seed, "weights", 0) in parameter-block order.
 *
 * Layout. The caller's arrays follow engram's (B, T, .) convention: velocities vel
 * (B, T, I), targets pc (B, T, P) and hd (B, T, D), initial targets pc0 (B, P), hd0
 * (B, D). The model's own activations are time-major (T, B, .): row r = t * B + b of g,
 * p_pc, p_hd (see the struct). All parameters live in one block `params` (n_params
 * doubles) in the order W_h0, b_h0, W_c0, b_c0, LSTM (W_x, W_h, b), W_g, W_pc, b_pc,
 * W_hd, b_hd (RNN core: W_h0, b_h0, W_in, W_rec, W_pc, b_pc, W_hd, b_hd); `grads`
 * mirrors it. Workspaces are sized at alloc for up to max_batch
 * items of n_steps steps; nothing is allocated afterwards.
 *
 * Precision (pathint_set_precision): either core runs in float64 (default) or float32.
 * The RNN core's passes and the softmax heads are written once for both types
 * (pathint_core.h), the LSTM cell's in lstm_core.h (lstm.h: kern_gemm_s over all rows,
 * the unpacked small-M product per step, the vector float tanh for the gates); the
 * LSTM core's encoders and layer g are kern_gemm_s products in pathint.c. float32 keeps
 * the float64 parameter block as the master copy and rounds it to float32 at every
 * forward pass, so the optimiser, checkpoints and saved weights are unchanged. Sums of a row (softmax, cross-entropy, bias gradients) are
 * accumulated in double in both. Gradient checks run in float64 (test_lstm.c); the
 * float32 path is tested against it (test_pathint.c).
 *
 * Threads: products are cut into fixed pieces whose shapes depend on the sizes only
 * (kern_gemm.h, and lstm.h for the LSTM's recurrence), softmaxes are split by rows, and
 * every reduction is done in a fixed order by one thread, so results are byte-identical
 * for any OpenMP thread count in both precisions (OpenBLAS single-threaded, as engram
 * sets it). Dropout masks come from one
 * stream per (update, item): rng stream ("dropout", step * 2^20 + b).
 *
 * Example (one training update):
 *     pathint_dims d = pathint_dims_default();
 *     pathint *m = pathint_alloc(&d, 10, 100);
 *     pathint_init_weights(m, seed);
 *     pathint_dropout_mask(m, 10, seed, step);
 *     pathint_forward(m, 10, vel, pc0, hd0, pc, hd, 1, &loss);
 *     pathint_backward(m, pc, hd);
 *     optim_step(opt, m->params, m->grads);
 *     pathint_free(m);
 */
#ifndef ENGRAM_PATHINT_H
#define ENGRAM_PATHINT_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "engram/lstm.h"

typedef enum { PATHINT_LSTM = 0, PATHINT_RNN = 1 } pathint_kind;
typedef enum { PATHINT_G_LINEAR = 0, PATHINT_G_RELU = 1 } pathint_g_act;
typedef enum { PATHINT_RELU = 0, PATHINT_TANH = 1 } pathint_rnn_act;
/* Arithmetic of the forward and backward passes (pathint_set_precision). */
typedef enum { PATHINT_F64 = 0, PATHINT_F32 = 1 } pathint_precision;

struct pathint_f32; /* private float32 workspaces (pathint.c) */

typedef struct pathint_dims {
    size_t n_in;     /* I: velocity channels (3; 2 for allocentric velocity) */
    size_t n_hidden; /* H: LSTM or RNN units (128) */
    size_t n_g;      /* Ng: layer g (256); must equal H for the RNN core */
    size_t n_pc;     /* P: place cells (256) */
    size_t n_hd;     /* D: head-direction cells (12; 0: no head-direction head) */
    pathint_kind kind; /* core (PATHINT_LSTM when zero-initialised) */
} pathint_dims;

/* Views of one parameter (or gradient) block. */
typedef struct pathint_layers {
    double *w_h0; /* (P + D, H) */
    double *b_h0; /* (H,) */
    double *w_c0; /* (P + D, H) */
    double *b_c0; /* (H,) */
    lstm_params lstm; /* W_x (I, 4H), W_h (H, 4H), b (4H,) */
    double *w_g;  /* (H, Ng) */
    double *w_pc; /* (Ng, P) */
    double *b_pc; /* (P,) */
    double *w_hd; /* (Ng, D) */
    double *b_hd; /* (D,) */
    double *w_in;  /* RNN core: (I, H) input weights (NULL for the LSTM) */
    double *w_rec; /* RNN core: (H, H) recurrent weights, h_t = f(h_{t-1} W_rec + ...) */
} pathint_layers;

typedef struct pathint {
    pathint_dims d;
    size_t max_batch, n_steps; /* workspace sizes: B <= max_batch, T = n_steps */
    double dropout;            /* drop probability p of g in training, in [0, 1) */
    double forget_bias;        /* constant added to the forget gate (1) */
    double weight_decay;       /* L2 coefficient on W_g, W_pc, W_hd (0); RNN: on W_rec */
    pathint_g_act g_act;       /* LSTM core: linear (default) or relu g */
    pathint_rnn_act rnn_act;   /* RNN core: relu (default) or tanh */
    int bias;                  /* RNN core: learn b_h0, b_pc, b_hd (0: they stay 0) */
    pathint_precision precision; /* PATHINT_F64 unless pathint_set_precision() changed it */
    struct pathint_f32 *f32;   /* float32 workspaces (NULL in float64) */
    int f32_outputs;           /* float32: fill the double outputs at every forward (1);
                                * 0 leaves them stale (training passes) */
    size_t n_params;
    double *params;            /* (n_params,) */
    double *grads;             /* (n_params,) */
    pathint_layers w, gw;      /* views into params and grads */
    /* Activations of the last forward pass (time-major, B = batch). */
    size_t batch;
    int dropout_on;            /* whether the last forward applied mask */
    double ce;                 /* mean cross-entropy of the last forward (no L2 term) */
    double *x;                 /* (T, B, I) */
    double *init;              /* (B, P + D) */
    double *z;                 /* (T, B, 4H) gate activations (RNN: (T, B, H) pre-activations) */
    double *hs, *cs;           /* (T + 1, B, H), block 0 = h_0 / c_0 */
    double *g;                 /* (T, B, Ng) layer g before dropout (RNN: points into hs,
                                * g = h_{1..T}) */
    double *mask;              /* (T, B, Ng) dropout multipliers */
    double *gd;                /* (T, B, Ng) after dropout (filled only with dropout on) */
    double *p_pc;              /* (T, B, P) place-cell softmax */
    double *p_hd;              /* (T, B, D) head-direction softmax */
    double *row_loss;          /* (T * B,) */
    /* Backward workspaces. */
    double *d_pc, *d_hd;       /* (T, B, P), (T, B, D) */
    double *d_g;               /* (T, B, Ng) */
    double *dh;                /* (T, B, H) (float64 only) */
    double *dz;                /* (T, B, 4H) (RNN: (T, B, H) dL/d pre-activation) */
    double *dh0, *dc0;         /* (B, H) */
    double *wt;                /* transposed weights, max(Ng (P + D), H Ng, 4H H) */
    gsl_rng **drop_rng;        /* (max_batch,) dropout streams, re-seeded per update */
} pathint;

/* Returns the paper's sizes: I 3, H 128, Ng 256, P 256, D 12, LSTM core. */
pathint_dims pathint_dims_default(void);

/* Returns the number of parameters of a model of dims d. */
size_t pathint_n_params(const pathint_dims *d);

/* Allocates a model (parameters zero, dropout 0.5, forget bias 1, weight decay 0) with
 * workspaces for up to max_batch items of n_steps steps. NULL with engram_error() set on
 * a zero size or allocation failure. */
pathint *pathint_alloc(const pathint_dims *d, size_t max_batch, size_t n_steps);

/* Frees the model; NULL is a no-op. */
void pathint_free(pathint *m);

/* Points the fields of v into block (n_params doubles) in parameter order. */
void pathint_layers_map(pathint_layers *v, double *block, const pathint_dims *d);

/* Sets the arithmetic of the forward and backward passes. PATHINT_F32 (either core)
 * keeps the float64 parameter and gradient blocks as the master copy (the optimiser,
 * checkpoints and the saved weights stay float64): each forward pass rounds the
 * parameters to float32, runs every product in float32 (sgemm) and the softmaxes with
 * float32 storage and double sums, then fills row_loss, ce and (unless
 * f32_outputs = 0) the double outputs hs, g, gd (with dropout), p_pc and p_hd (and cs for
 * the LSTM core); the backward pass writes float32 gradients
 * into the double block, then adds the weight decay in double. The other double
 * workspaces (z, dh, dz, ...) are not filled in float32. Allocates the float workspaces on
 * first use. Returns ENGRAM_OK, ENGRAM_EINVAL (an unknown precision) or ENGRAM_ENOMEM. */
int pathint_set_precision(pathint *m, pathint_precision p);

/* Draws the initial parameters from stream (seed, "weights", 0): LSTM core, truncated
 * normal weights with std 1/sqrt(fan_in); RNN core, uniform in +-1/sqrt(fan_in) (see
 * the overview); zero biases. Returns ENGRAM_OK or ENGRAM_ENOMEM. */
int pathint_init_weights(pathint *m, uint64_t seed);

/* Fills the dropout mask of B items for training update `step`: item b draws T * Ng
 * uniforms in (t, unit) order from stream (seed, "dropout", step * 2^20 + b); an entry
 * is 0 with probability m->dropout, else 1 / (1 - m->dropout). */
void pathint_dropout_mask(pathint *m, size_t B, uint64_t seed, uint64_t step);

/* Forward pass over B <= max_batch items of n_steps steps (shapes in the overview).
 * With use_dropout the current mask is applied to g (call pathint_dropout_mask first),
 * otherwise g passes unchanged. pc and hd may be NULL (no loss: *loss is set to NaN);
 * loss may be NULL. Returns ENGRAM_OK, ENGRAM_EINVAL (B out of range) or
 * ENGRAM_EDIVERGED (non-finite loss). */
int pathint_forward(pathint *m, size_t B, const double *vel, const double *pc0,
                    const double *hd0, const double *pc, const double *hd, int use_dropout,
                    double *loss);

/* Backward pass of the last forward (which must have had targets): overwrites m->grads
 * with dL/dparams, L as in the overview (including the L2 term). pc and hd must be the
 * targets given to the forward pass (which already formed dL/dlogits from them). */
void pathint_backward(pathint *m, const double *pc, const double *hd);

#endif
