/* optim.h: first-order optimisers over one flat parameter block.
 *
 * Every model keeps its parameters in one contiguous block w (P,) and its gradient in
 * a mirror block g (P,), so one optimiser step is one loop. Kinds:
 *   OPTIM_SGD          w -= lr * g   (with optional momentum: v = mu v + g; w -= lr v)
 *   OPTIM_ADAM         Kingma & Ba 2015, bias-corrected:
 *                      m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *                      w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   OPTIM_RMSPROP      PyTorch style: v = rho v + (1-rho) g^2 (v starts at 0);
 *                      w -= lr g / (sqrt(v) + eps)   (momentum mu: b = mu b + g/(..); w -= lr b)
 *   OPTIM_RMSPROP_TF   TensorFlow 1 style, as used by Banino et al. 2018: the mean square
 *                      starts at 1, eps sits inside the square root, momentum applies after
 *                      the learning rate:
 *                      ms = rho ms + (1-rho) g^2; mom = mu mom + lr g / sqrt(ms + eps); w -= mom
 * Before the step the gradient is optionally decayed (g += weight_decay * w), clipped
 * element-wise to [-clip_value, clip_value] and rescaled so its L2 norm is at most
 * clip_norm (0 disables each).
 *
 * Learning-rate schedule (lr_schedule), in optimiser steps t taken before this one:
 *   OPTIM_LR_CONSTANT  lr
 *   OPTIM_LR_STEP      lr * gamma^floor(t / every)      (step decay)
 *   OPTIM_LR_EXP       lr * gamma^(t / every)           (exponential decay)
 * never below lr_min (the floor; 0 = none). Configured by the keys train.lr_schedule,
 * train.lr_every, train.lr_gamma, train.lr_min (optim_schedule_config).
 *
 * Example:
 *     optim_params p = optim_defaults(OPTIM_ADAM); p.lr = 1e-3;
 *     optim *o = optim_alloc(&p, n_params);
 *     optim_step(o, w, g);   // g is modified by clipping
 *     optim_free(o);
 */
#ifndef ENGRAM_OPTIM_H
#define ENGRAM_OPTIM_H

#include <stddef.h>

typedef enum { OPTIM_SGD, OPTIM_ADAM, OPTIM_RMSPROP, OPTIM_RMSPROP_TF } optim_kind;
typedef enum { OPTIM_LR_CONSTANT, OPTIM_LR_STEP, OPTIM_LR_EXP } optim_lr_schedule;

struct config;

typedef struct optim_params {
    optim_kind kind;
    double lr;
    double beta1, beta2; /* Adam moments */
    double rho;          /* RMSProp decay of the mean square */
    double momentum;     /* SGD and RMSProp */
    double eps;
    double weight_decay; /* L2 coefficient added to the gradient */
    double clip_value;   /* element-wise clip, 0 = off */
    double clip_norm;    /* global L2-norm clip, 0 = off */
    optim_lr_schedule lr_schedule; /* constant (default), step or exponential decay */
    double lr_every;     /* decay period in optimiser steps (> 0 unless constant) */
    double lr_gamma;     /* factor per period */
    double lr_min;       /* floor of the decayed rate (0 = none) */
} optim_params;

typedef struct optim {
    optim_params p;
    size_t n;
    double t;  /* number of steps taken (double so checkpoints store one kind of blob) */
    double *m; /* (P,) first moment / momentum buffer */
    double *v; /* (P,) second moment / mean square */
} optim;

/* Defaults: SGD lr 0.01; Adam lr 1e-3, b1 0.9, b2 0.999, eps 1e-8; RMSProp lr 1e-3,
 * rho 0.99, eps 1e-8; RMSProp-TF lr 1e-5, rho 0.9, momentum 0.9, eps 1e-10. */
optim_params optim_defaults(optim_kind kind);

/* Parses "sgd", "adam", "rmsprop", "rmsprop-tf". Returns ENGRAM_OK or ENGRAM_EINVAL. */
int optim_kind_parse(const char *name, optim_kind *kind);

/* Reads the schedule keys train.lr_schedule (constant|step|exp), train.lr_every,
 * train.lr_gamma and train.lr_min into p when cfg declares them (learner_keys).
 * Returns ENGRAM_OK, or ENGRAM_EINVAL when a decaying schedule has lr_every = 0. */
int optim_schedule_config(const struct config *cfg, optim_params *p);

/* Returns the learning rate the next step uses (the schedule at t = steps taken). */
double optim_lr(const optim *o);

/* Allocates state for n parameters; NULL on failure. */
optim *optim_alloc(const optim_params *p, size_t n);
void optim_free(optim *o);

/* Returns the state to that of a new optimiser. */
void optim_reset(optim *o);

/* One step: applies decay and clipping to g in place, then updates w. Returns
 * ENGRAM_OK, or ENGRAM_EDIVERGED if g holds a non-finite value (w is then unchanged). */
int optim_step(optim *o, double *w, double *g);

#endif
