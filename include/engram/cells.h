/* cells.h: gated recurrent networks as sequence learners (learner.h): an LSTM or a GRU
 * layer with a linear readout, trained by backpropagation through time.
 *
 * The recurrent core is the LSTM of the path integrator (lstm.h: gates i, j, f, o,
 * c_t = f c_{t-1} + i j, h_t = o tanh(c_t), a constant forget bias), so the sequence
 * learner and the grid-cell network share one forward and one backward kernel; the keys
 * cells.peephole and cells.coupled choose the peephole and coupled input-forget (CIFG)
 * variants of Greff et al. 2017 (lstm.h), peepholes starting at U(-1/sqrt(H), 1/sqrt(H)).
 * On top:
 *     o_t = c + V h_t                                           (O,)
 * with the losses of rnn.h: softmax cross-entropy or 1/2 |o_t - y_t|^2, averaged over
 * the counted (mask = 1) steps of the batch. The gradient of the readout is
 * dV = sum_t e_t h_t^T, dc = sum_t e_t (e_t = dL/do_t); dL/dh_t = V^T e_t goes into
 * lstm_backward.
 *
 * Parameters: one block [LSTM (I + H + 1) 4H (+ 3H peepholes) (lstm.h layout) | V (O, H) |
 * c (O,)], a
 * mirror gradient block, one optimiser over both. Weights: W_x, W_h ~ U(-1/sqrt(H),
 * 1/sqrt(H)) (PyTorch's nn.LSTM default), b = 0, V ~ N(0, 1/H), c = 0, from the
 * "weights" stream.
 *
 * Determinism: every product goes through lstm_gemm / lstm_forward / lstm_backward,
 * whose chunk shapes depend on the sizes only, so updates are byte-identical for 1 and
 * 2 threads with OpenBLAS.
 *
 * Example:
 *     gated_net *g = gated_alloc(GATED_LSTM, NULL, 3, 64, 3, RNN_XENT, 1.0, 32, 22, seed);
 *     double L = gated_loss_grad(g, batch);   // fills g->grads
 *     gated_free(g);
 * The GRU (src/cells/gru.c) is Cho et al. 2014 in PyTorch's form, see gru_forward.
 * The learner types are learner_lstm ("lstm") and learner_gru ("gru"); their keys
 * (cells.*) are cells_keys.
 */
#ifndef ENGRAM_CELLS_H
#define ENGRAM_CELLS_H

#include <stddef.h>
#include <stdint.h>
#include "engram/learner.h"
#include "engram/lstm.h"
#include "engram/rnn.h"
#include "engram/task.h"

typedef enum { GATED_LSTM, GATED_GRU } gated_kind;

typedef struct gated_net {
    gated_kind kind;
    lstm_variant var;              /* LSTM: peephole / coupled (lstm.h); zero for the GRU */
    size_t n_in, n_hidden, n_out;  /* I, H, O */
    rnn_loss_kind loss;
    double forget_bias;
    size_t n_params;               /* (I + H + 1) 4H [+ 3H] + O H + O */
    double *params, *grads;        /* (P,) */
    lstm_params core, g_core;      /* views into params / grads */
    double *w_out, *b_out, *g_w_out, *g_b_out;
    size_t max_batch, t_max;
    /* workspaces, time-major */
    double *x;      /* (T, B, I) */
    double *z;      /* (T, B, 4H) */
    double *hs, *cs; /* (T+1, B, H) */
    double *o;      /* (T, B, O) probabilities (xent) or outputs (mse) */
    double *e;      /* (T, B, O) dL/do */
    double *dh;     /* (T, B, H) */
    double *dz;     /* (T, B, 4H) */
    double *dh0, *dc0; /* (B, H) */
    double *w_ht;   /* (4H, H) */
    double *step_hs, *step_cs, *step_z; /* single-trial state (2, H), (2, H), (4H,) */
    double *ax, *dah, *step_ax; /* gru: (T, B, 3H), (T, B, 3H), (3H,) */
} gated_net;

/* Allocates an LSTM (variant var, NULL = standard; ignored for the GRU) or GRU network
 * with weights from rng_stream_alloc(seed, "weights", 0) and workspaces for max_batch
 * trials of t_max steps. NULL with engram_error() set. */
gated_net *gated_alloc(gated_kind kind, const lstm_variant *var, size_t n_in, size_t n_hidden,
                       size_t n_out, rnn_loss_kind loss, double forget_bias, size_t max_batch,
                       size_t t_max, uint64_t seed);

/* Frees; NULL is a no-op. */
void gated_free(gated_net *g);

/* Runs the batch forward and returns the mean masked loss (0 when no step counts). */
double gated_loss(gated_net *g, const trial_batch *b);

/* Forward, loss and the exact BPTT gradient into g->grads; returns the loss. */
double gated_loss_grad(gated_net *g, const trial_batch *b);

/* Resets the single-trial state to zero. */
void gated_reset(gated_net *g);

/* One closed-loop step of a single trial: x (I,) -> out (O,). */
void gated_step(gated_net *g, const double *x, double *out);

/* GRU kernels (gru.c): parameters W_x (I, 3H) | W_h (H, 3H) | b (3H,) | b_hn (H,).
 * gru_forward: x (T, B, I), hs[0] (B, H) the initial state; writes ax (T, B, 3H)
 * scratch, gates (T, B, 4H) = r, u, n, hn, and hs[1..T]. gru_backward: dh (T, B, H)
 * holds dL/dh_t from above (overwritten with the total); writes the gradient block gw,
 * the pre-activation gradients dax, dah (T, B, 3H) and dL/dh0 (B, H). */
size_t gru_n_params(size_t n_in, size_t n_hidden);
void gru_forward(const double *w, size_t T, size_t B, size_t I, size_t H, const double *x,
                 double *ax, double *gates, double *hs);
void gru_backward(const double *w, double *gw, size_t T, size_t B, size_t I, size_t H,
                  const double *x, const double *gates, const double *hs, double *dh,
                  double *dax, double *dah, double *dh0);

extern const learner_type learner_lstm, learner_gru;
extern const cfg_key cells_keys[];

#endif
