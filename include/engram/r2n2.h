/* r2n2.h: the R2N2 consolidator (reversible recurrent network) and its replay learner.
 *
 * Cheng & Brown, "Replay as a basis for backpropagation through time in the brain",
 * Neural Computation 37(3):403 (2025); released code CogControlLab/R2N2 (models.py,
 * class R2N2). The paper and that code are the sources; § numbers mark the topics the
 * comments below follow.
 *
 * The consolidator (§2.2)
 * -----------------------
 * Two populations A and B of n_h leaky tanh units each (tau = 10, c = 1 - 1/tau,
 * d = 1/tau), wired A->B and B->A only, input into A, linear readout from B, A updated
 * before B:
 *     a_t = c a_{t-1} + d (W_BA phi(b_{t-1}) + W_IA x_t)
 *     b_t = c b_{t-1} + d  W_AB phi(a_t)
 *     o_t = W_BO phi(b_t)                                   phi = tanh
 * Because the halves update in turn, the previous state is recovered exactly by
 * running the equations backward (§2.3) with backward weights Wb (Wb = -W, or learned
 * by a local least-squares regression, r2n2_backward_solve):
 *     b_{t-1} = (b_t + d Wb_AB phi(a_t)) / c
 *     a_{t-1} = (a_t + d Wb_BA phi(b_{t-1}) - d W_IA x_t) / c
 * In floating point the reverse map expands rounding errors by about 1.26x per step
 * (tau 10; 1.13x at tau 20): the forward leak c < 1 is many-to-one on a finite grid,
 * so the low bits of earlier states are gone. Double precision holds ~1e-6 up to
 * ~100-120 steps. Two remedies give reversal of any length (r2n2.reversal):
 *
 * Exact fixed-point reversal (R2N2_REVERSAL_FIXED; Maclaurin, Duvenaud & Adams 2015,
 * "Gradient-based hyperparameter optimization through reversible learning", ICML;
 * MacKay, Vicol, Ba & Grosse 2018, "Reversible recurrent neural networks", NeurIPS).
 * The state is kept as integers on the grid 2^-R_FRAC (a = A 2^-R); the increments
 * d (W phi(.) + W_IA x) are computed in double and rounded to the grid, and since each
 * depends only on the other population they are subtracted exactly in reverse. The
 * leak c = n/D = (tau - 1)/tau (integer tau) is applied exactly by arithmetic coding:
 *     forward  A <- c A:  r = A mod D, push r (base D), A = (A - r)/D * n + pop (base n)
 *     reverse  A <- A / c: r = A mod n, push r (base n), A = (A - r)/n * D + pop (base D)
 * into one big-integer information buffer per unit. The buffer grows on average by
 * log2(D/n) bits per unit and step (0.152 at tau 10): exactly the information the leak
 * destroys. This is stored history, only far less of it than storing the states
 * (r2n2_fixed_bits reports it). It needs Wb = -W (not the learned backward weights).
 *
 * Segmented reverse replay (r2n2_replay_reverse with K > 0): before each K-step
 * segment [lo, hi) of the reverse pass, the forward pass is re-run from the known
 * initial state to step hi (forward is stable), so no reconstruction runs for more
 * than K steps; cost O(T^2 / 2K) forward steps, memory O(N), carried errors kept
 * across segments.
 *
 * With a known initial state the reverse pass's reconstruction error is free: the
 * replay must end where it started (r2n2_replay_reverse reports it).
 *
 * Learning during reverse replay (§2.4)
 * -------------------------------------
 * From the final state, the reverse pass reconstructs each earlier state, recomputes
 * o_t, receives e_t = dL/do_t, and carries the error backward with feedback matrices
 * F (F = W^T in bptt mode, fixed random matrices in fa mode):
 *     gB_l = gB_c + (F_BO e_t) .* phi'(b_t)                       (1)
 *     gA_l = gA_c + d (F_AB gB_l) .* phi'(a_t)                    (2)
 *     exact:    gA_c <- c gA_l;  gB_c <- c gB_l + d (F_BA gA_l) .* phi'(b_{t-1})   (3)
 *     released: gA_c <- gA_l;    gB_c <- gB_l   (the released code's carry, §2.4 quirk)
 *     dW_BO += e_t phi(b_t)^T;       dW_AB += d gB_l phi(a_t)^T
 *     dW_BA += d gA_l phi(b_{t-1})^T; dW_IA += d gA_l x_t^T        (4)
 * i.e. (error at the postsynaptic unit) x (presynaptic rate). With the exact carry and
 * F = W^T the sum is the exact BPTT gradient (tests/test_r2n2.c checks it against
 * finite differences and an independent store-everything BPTT). phi'(h) = 1 - tanh^2 h
 * exactly (the released code's overflow guard 1/cosh^2(10 tanh(h/10)) differs for
 * |h| > ~5 and is not used).
 *
 * Memory and shapes
 * -----------------
 * All trained parameters live in one block `params` (P,) with the gradient mirror
 * `grads` (P,):  W_AB (N, N) | W_BA (N, N) | W_IA (N, I) | W_BO (O, N), row-major,
 * N = n_h (the size of each population). The feedback matrices F_AB (N, N),
 * F_BA (N, N), F_BO (N, O) and the backward weights Wb_AB (N, N), Wb_BA (N, N) are
 * separate fixed blocks. The state (a, b) and the carried errors live in the net.
 * Everything is allocated by r2n2_alloc; no function allocates afterwards.
 *
 * Example (one replay of a sequence x (T, I) with targets y (T, O)):
 *     r2n2_params p = r2n2_defaults(); p.n_in = I; p.n_h = 32; p.n_out = O;
 *     r2n2_net *net = r2n2_alloc(&p, rng);
 *     r2n2_set_state(net, a0, b0);
 *     for (t = 0; t < T; t++) r2n2_forward_step(net, x + t * I, o);   // forward replay
 *     r2n2_backward_reset(net);                                      // Wb = -W
 *     r2n2_grad_begin(net);
 *     for (t = T - 1; t >= 0; t--) {                                 // reverse replay
 *         r2n2_output(net, o);  e = (o - y_t) / T;
 *         r2n2_learn_step(net, x + t * I, e);     // grads += (4); state <- t-1
 *     }
 *     optim_step(opt, net->params, net->grads);   // one Adam step per replay
 *
 * The replay learner (`train.rule = r2n2`, learner_r2n2) couples the consolidator to
 * the Hopfield cache (cache.h): each trial is stored one-shot in the cache, the cache's
 * forward replay supplies the consolidator's forward pass and its reverse replay the
 * inputs and targets of the reverse pass (see the comment above learner_r2n2).
 */
#ifndef ENGRAM_R2N2_H
#define ENGRAM_R2N2_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "engram/config.h"
#include "engram/learner.h"
#include "engram/cache.h"

typedef enum { R2N2_FEEDBACK_FA, R2N2_FEEDBACK_BPTT } r2n2_feedback;
typedef enum { R2N2_CARRY_EXACT, R2N2_CARRY_RELEASED } r2n2_carry;
typedef enum { R2N2_REVERSAL_FLOAT, R2N2_REVERSAL_FIXED, R2N2_REVERSAL_SEGMENTED } r2n2_reversal;

/* Fractional bits of the fixed-point state grid (the state is A 2^-R2N2_FIX_FRAC). */
#define R2N2_FIX_FRAC 40

/* A big non-negative integer held in 32-bit limbs, least significant first: one
 * unit's information buffer in fixed-point mode. */
typedef struct r2n2_bigbuf {
    uint32_t *limb;
    size_t used, cap;
} r2n2_bigbuf;

typedef struct r2n2_params {
    size_t n_in, n_h, n_out; /* I, N (units per population), O */
    double tau;              /* membrane time constant in steps (10) */
    double g_forward;        /* gain of W_AB, W_BA: g N(0, 1/sqrt(N)) (1.5) */
    double g_backward;       /* gain of the random feedback F (1.0) */
    double in_scale;         /* W_IA ~ in_scale N(0, 1/sqrt(N)) (0.1) */
    double out_scale;        /* W_BO ~ out_scale N(0, 1/sqrt(O)) (0.1) */
} r2n2_params;

typedef struct r2n2_net {
    size_t n_in, n_h, n_out;
    double tau, c, d;
    r2n2_feedback feedback;
    r2n2_carry carry;
    size_t n_params;
    double *params;                  /* (P,) */
    double *grads;                   /* (P,) */
    double *w_ab, *w_ba, *w_ia, *w_bo; /* views into params */
    double *g_ab, *g_ba, *g_ia, *g_bo; /* views into grads */
    double *f_ab, *f_ba, *f_bo;      /* FA feedback: (N, N), (N, N), (N, O) */
    double *wb_ab, *wb_ba;           /* backward weights (N, N), (N, N) */
    double *a, *b;                   /* state (N,) each */
    double *ga, *gb;                 /* carried errors (N,) each */
    /* workspaces (N,) unless noted */
    double *pa, *pb, *tmp_a, *tmp_b, *gal, *gbl, *dpa, *dpb, *po;
    double *ro, *re;                 /* (O,) output and error of r2n2_replay_reverse */
    /* learned backward weights: normal equations of the regressions (§2.3) */
    int collect;                     /* accumulate samples in r2n2_forward_step */
    size_t n_samples;
    double *xtx_a, *xty_a;           /* (N+1, N+1), (N+1, N) for population A */
    double *xtx_b, *xty_b;           /* same for B */
    double *solve_work;              /* (N+1, N+1) + (N+1,) */
    /* fixed-point mode (r2n2_fixed_enable): integer state and information buffers */
    int fixed;
    long long fix_n, fix_d;          /* c = fix_n / fix_d */
    int64_t *ia, *ib;                /* (N,) each: a = ia 2^-R, b = ib 2^-R */
    r2n2_bigbuf *buf;                /* (2N,) A's units then B's */
    int fix_status;                  /* ENGRAM_OK, or the first error (overflow, memory) */
} r2n2_net;

/* Returns the released code's defaults (tau 10, gains 1.5 / 1.0, scales 0.1) with
 * zero sizes, which the caller sets. */
r2n2_params r2n2_defaults(void);

/* Builds a consolidator, drawing W_AB, W_BA, W_IA, W_BO and then F_AB, F_BA, F_BO from
 * r in that order, and sets Wb = -W, feedback fa, carry exact, state zero. Returns
 * NULL with engram_error() set on bad sizes or allocation failure. */
r2n2_net *r2n2_alloc(const r2n2_params *p, gsl_rng *r);

/* Frees a consolidator; NULL is a no-op. */
void r2n2_free(r2n2_net *net);

/* Sets the state (a, b) (N,) each; NULL sets that population to zero. */
void r2n2_set_state(r2n2_net *net, const double *a, const double *b);

/* Advances the state by one forward step with input x (I,) and, if o is not NULL,
 * writes the output o_t (O,) of the new state. When net->collect is set, the step's
 * presynaptic rates and recurrent currents are added to the regression that
 * r2n2_backward_solve uses. */
void r2n2_forward_step(r2n2_net *net, const double *x, double *o);

/* Writes the output o = W_BO phi(b) (O,) of the current state. */
void r2n2_output(r2n2_net *net, double *o);

/* Replaces the state (a_t, b_t) by the reconstructed (a_{t-1}, b_{t-1}) using the
 * backward weights and the step's input x_t (I,) (§2.3). No learning. */
void r2n2_reverse_step(r2n2_net *net, const double *x);

/* Sets the backward weights to -W (the released code's hard_reset_w_backward). */
void r2n2_backward_reset(r2n2_net *net);

/* Clears the regression samples and sets net->collect (start of sample collection). */
void r2n2_backward_collect_begin(r2n2_net *net);

/* Learns the backward weights locally: for each unit of A (B), least squares of minus
 * its recurrent current on the presynaptic rates collected by forward steps, with an
 * intercept that is fitted and discarded (the released solve_w_backward). Stops
 * collecting. Returns ENGRAM_OK, or ENGRAM_EINVAL with fewer than N+1 samples or a
 * singular system. */
int r2n2_backward_solve(r2n2_net *net);

/* Switches the consolidator to exact fixed-point reversal, with information buffers
 * sized for replays of max_steps steps (they grow if a replay is longer). Requires an
 * integer tau >= 2 and backward weights -W. The current state is rounded to the grid
 * and the buffers are emptied. Returns ENGRAM_OK, ENGRAM_EINVAL (tau not an integer)
 * or ENGRAM_ENOMEM. */
int r2n2_fixed_enable(r2n2_net *net, size_t max_steps);

/* Total bits held in the information buffers (sum over the 2N units of each buffer's
 * bit length); 0 when not in fixed-point mode. */
double r2n2_fixed_bits(const r2n2_net *net);

/* Returns ENGRAM_OK, or the first fixed-point error since r2n2_set_state (the state
 * left the representable range |a| < 2^20, or a buffer could not grow), with
 * engram_error() set. */
int r2n2_fixed_status(const r2n2_net *net);

/* Output error of a replay: writes e (O,) = dL/do for output o (O,) at step t. */
typedef void (*r2n2_error_fn)(void *ctx, size_t t, const double *o, double *e);

/* The reverse replay with learning of a T-step sequence whose forward replay has just
 * brought the net from the initial state s0 (2N,) = (a_0, b_0) to its current state.
 * x (T, I) are the inputs of the forward replay (used to re-run it) and xr (T, I) the
 * inputs presented in the reverse replay (the same unless the cache recalled them
 * differently). Zeroes the gradients, then accumulates them over the steps t = T-1..0,
 * asking err for each step's output error. K = 0 reverses in one pass; K > 0 reverses
 * in segments of K steps, re-running the forward replay from s0 before each (needs s0).
 * Writes to *recon_err the largest |state - s0| after the pass (NAN when s0 is NULL):
 * the reconstruction error of the replay. Returns ENGRAM_OK, ENGRAM_EINVAL (K > 0 with
 * no s0) or the fixed-point status. */
int r2n2_replay_reverse(r2n2_net *net, const double *x, const double *xr, size_t T,
                        const double *s0, size_t K, r2n2_error_fn err, void *ctx,
                        double *recon_err);

/* Zeroes the gradient block and the carried errors (start of a reverse replay). */
void r2n2_grad_begin(r2n2_net *net);

/* One step of the reverse replay with learning: with the current state (a_t, b_t),
 * the step's input x_t (I,) and output error e_t = dL/do_t (O,), adds the increments
 * (4) to net->grads, updates the carried errors (exact or released carry, feedback fa
 * or bptt) and reconstructs (a_{t-1}, b_{t-1}) in place. */
void r2n2_learn_step(r2n2_net *net, const double *x, const double *e);

/* The replay learner: train.rule = r2n2. See the comment in src/r2n2/learner_r2n2.c
 * for the cache coupling and the diagnostics it reports. */
extern const learner_type learner_r2n2;

/* The r2n2.* configuration keys of the learner (NULL-terminated). */
extern const cfg_key r2n2_keys[];

/* The learner's consolidator and cache (for figures and tests); l must be an r2n2
 * learner. The cache holds the last stored episode; NULL when r2n2.cache = off. */
r2n2_net *r2n2_learner_net(learner *l);
cache *r2n2_learner_cache(learner *l);

/* Encodes one episode (x (T, I), y (T, O), m (T,)) as the learner does in training
 * and stores it in the learner's cache without replaying or learning (for figures).
 * Returns ENGRAM_OK, ENGRAM_EINVAL (no cache, or values not 0/1) or ENGRAM_ERANGE. */
int r2n2_learner_store(learner *l, const double *x, const double *y, const double *m, size_t T);

/* Cumulative counters of an r2n2 learner: forward and reverse replays, replays whose
 * cache recall differed from the experienced episode, replays skipped or trained on
 * the true sequence (fallback) because of that. */
typedef struct r2n2_counts {
    long fwd_replays, rev_replays, recall_failures, skipped, fallbacks;
} r2n2_counts;
r2n2_counts r2n2_learner_counts(const learner *l);

#endif
