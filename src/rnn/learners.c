/* learners.c: the rate-RNN rules `bptt`, `fa`, `rflo` and `esn` behind the learner
 * interface (learner.h), and their configuration keys (learner_keys).
 *
 * Every rule runs the same batched forward pass (rnn_forward) and differs only in the
 * update direction it hands to the optimiser:
 *   bptt  rnn_backward with fb_out = V^T, fb_rec = W^T (truncated at train.truncate);
 *   fa    rnn_backward with a fixed random fb_out and, when fa.mode = full, a fixed
 *         random fb_rec (fa.mode = readout keeps fb_rec = W^T);
 *   rflo  rnn_rflo_grad with a fixed random fb_out. The per-step updates of the traces
 *         (Murray 2019) are accumulated over the trial and the batch and applied once per
 *         train() call (one optimiser step per batch, as for the other rules), so they are
 *         computed in the closed form of that sum (rnn.h), equal to the step-by-step
 *         traces up to rounding;
 *   esn   W, U, b frozen (W rescaled to esn.spectral_radius); only the readout V, c is
 *         trained, by the delta rule dV = sum_t e_t h_t^T (the LMS rule with SGD).
 * run.precision = float32 gives bptt, fa and rflo a float32 workspace (rnn.h): the passes
 * run in single precision, the parameters, the optimiser and the closed-loop steps stay
 * double; esn refuses it.
 * fa and rflo report `grad_angle_deg`: the angle between their update direction and the
 * full BPTT gradient on the same batch (NaN when train.grad_angle is off).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/optim.h"
#include "engram/rng.h"
#include "engram/rnn.h"
#include "engram/constraints.h"

const cfg_key learner_keys[] = {
    {"run.precision", CFG_ENUM, "float64", 0, 0, "float64|float32",
     "precision of the training passes (bptt, fa, rflo): float32 runs activations and GEMMs in single precision, parameters and optimiser stay double"},
    {"train.optimizer", CFG_ENUM, "adam", 0, 0, "sgd|adam|rmsprop|rmsprop-tf", "optimiser"},
    {"train.lr", CFG_REAL, "0.01", 0, 1e6, NULL, "learning rate"},
    {"train.lr_schedule", CFG_ENUM, "constant", 0, 0, "constant|step|exp",
     "learning-rate schedule over optimiser steps t: constant, step (lr gamma^floor(t/every)) or exp (lr gamma^(t/every))"},
    {"train.lr_every", CFG_REAL, "0", 0, 1e12, NULL, "decay period in optimiser steps"},
    {"train.lr_gamma", CFG_REAL, "0.1", 0, 1, NULL, "decay factor per period"},
    {"train.lr_min", CFG_REAL, "0", 0, 1e6, NULL, "floor of the decayed learning rate"},
    {"train.clip_norm", CFG_REAL, "0", 0, 1e12, NULL, "rescale the update to this L2 norm at most (0 = off)"},
    {"train.clip_value", CFG_REAL, "0", 0, 1e12, NULL, "clip each update component to +-this (0 = off)"},
    {"train.loss", CFG_ENUM, "xent", 0, 0, "xent|mse", "softmax cross-entropy or linear outputs with squared error"},
    {"train.truncate", CFG_INT, "0", 0, 1e9, NULL, "BPTT window in steps; the error is not carried across window boundaries (0 = full)"},
    {"train.batch", CFG_INT, "16", 1, 1e6, NULL, "trials per update"},
    {"train.grad_angle", CFG_BOOL, "true", 0, 0, NULL, "fa, rflo: compute the angle to the BPTT gradient at every update"},
    {"train.max_loss", CFG_REAL, "1e4", 0, 1e300, NULL, "a batch loss above this counts as divergence (0 = only non-finite values)"},
    {"model.n_rec", CFG_INT, "64", 1, 100000, NULL, "recurrent units N"},
    {"model.alpha", CFG_REAL, "1", 1e-6, 1, NULL, "leak dt/tau: h = (1-alpha) h + alpha tanh(a); 1 = non-leaky"},
    {"model.gain", CFG_REAL, "1", 0, 100, NULL, "recurrent weights W ~ N(0, gain^2/N)"},
    {"model.input_scale", CFG_REAL, "1", 0, 100, NULL, "input weights U ~ N(0, input_scale^2/I)"},
    {"fa.mode", CFG_ENUM, "full", 0, 0, "readout|full", "feedback alignment in the readout only, or in the readout and through time"},
    {"fa.gain_out", CFG_REAL, "1", 0, 100, NULL, "random readout feedback B_out ~ N(0, gain_out^2/N), (N, O) (fa and rflo)"},
    {"fa.gain_rec", CFG_REAL, "0.9", 0, 100, NULL, "random recurrent feedback B_rec ~ N(0, gain_rec^2/N), (N, N)"},
    {"rflo.lr", CFG_REAL, "0", 0, 1e6, NULL, "rflo learning rate (0 = train.lr)"},
    {"esn.spectral_radius", CFG_REAL, "0.9", 0, 100, NULL, "esn: W rescaled to this spectral radius"},
    {"esn.lr", CFG_REAL, "0", 0, 1e6, NULL, "esn readout learning rate (0 = train.lr)"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

typedef enum { RULE_BPTT, RULE_FA, RULE_RFLO, RULE_ESN } rnn_rule;

struct learner {
    const learner_type *type;
    rnn_rule rule;
    rnn *net;
    rnn_work *work;
    optim *opt;            /* over all P parameters, or the readout tail (esn) */
    double *fb;            /* one block: fb_out (N, O) then fb_rec (N, N), fixed random */
    double *fb_out, *fb_rec;
    double *wt;            /* one block: V^T (N, O) then W^T (N, N), refreshed per update */
    double *wt_out, *wt_rec;
    double *g_true;        /* (P,) BPTT gradient for the angle */
    double *h, *h_next;    /* (N,) closed-loop state */
    size_t max_batch, t_max, window;
    rnn_precision precision;
    size_t last_len;       /* item 0's length in the last train() */
    int fa_full, angle;
    double max_loss, last_angle;
    rnn_constraints *cons; /* Dale, masks, fixed weights (constraints.h); NULL = none */
};

static void rnn_learner_free(learner *l) {
    if (!l) return;
    rnn_free(l->net);
    rnn_work_free(l->work);
    optim_free(l->opt);
    free(l->fb);
    free(l->wt);
    free(l->g_true);
    free(l->h);
    free(l->h_next);
    rnn_constraints_free(l->cons);
    free(l);
}

/* (Re)allocates the batch-sized workspaces for max_batch trials of t_max steps. */
static int rnn_learner_size(learner *l, size_t max_batch, size_t t_max) {
    rnn_work_free(l->work);
    l->work = rnn_work_alloc_precision(l->net, max_batch, t_max, l->precision);
    if (!l->work) return ENGRAM_ENOMEM;
    l->max_batch = max_batch;
    l->t_max = t_max;
    return ENGRAM_OK;
}

static learner *rnn_learner_alloc(const learner_type *type, rnn_rule rule, const config *cfg,
                                  size_t n_in, size_t n_out, size_t t_max, uint64_t seed) {
    const char *loss_name = config_str(cfg, "train.loss");
    rnn_loss_kind loss = strcmp(loss_name, "mse") == 0 ? RNN_MSE : RNN_XENT;
    size_t N = (size_t)config_int(cfg, "model.n_rec");
    optim_kind kind;
    if (optim_kind_parse(config_str(cfg, "train.optimizer"), &kind) != ENGRAM_OK) return NULL;
    rnn_precision precision = RNN_FLOAT64;
    if (learner_wants_float32(cfg)) {
        if (rule == RULE_ESN) {
            engram_fail(ENGRAM_EINVAL, "esn: run.precision = float32 is not supported "
                        "(only bptt, fa and rflo have a float32 path)");
            return NULL;
        }
        precision = RNN_FLOAT32;
    }
    learner *l = calloc(1, sizeof *l);
    if (!l) { engram_fail(ENGRAM_ENOMEM, "%s: out of memory", type->name); return NULL; }
    l->type = type;
    l->precision = precision;
    l->rule = rule;
    l->window = (size_t)config_int(cfg, "train.truncate");
    l->fa_full = strcmp(config_str(cfg, "fa.mode"), "full") == 0;
    l->angle = config_bool(cfg, "train.grad_angle");
    l->max_loss = config_real(cfg, "train.max_loss");
    l->last_angle = NAN;
    l->net = rnn_alloc(n_in, N, n_out, config_real(cfg, "model.alpha"), loss);
    if (!l->net) { rnn_learner_free(l); return NULL; }
    rnn *net = l->net;
    size_t P = net->n_params, O = n_out;
    l->fb = calloc(N * O + N * N, sizeof(double));
    l->wt = calloc(N * O + N * N, sizeof(double));
    l->g_true = calloc(P, sizeof(double));
    l->h = calloc(N, sizeof(double));
    l->h_next = calloc(N, sizeof(double));
    if (!l->fb || !l->wt || !l->g_true || !l->h || !l->h_next) {
        rnn_learner_free(l);
        engram_fail(ENGRAM_ENOMEM, "%s: out of memory", type->name);
        return NULL;
    }
    l->fb_out = l->fb;
    l->fb_rec = l->fb + N * O;
    l->wt_out = l->wt;
    l->wt_rec = l->wt + N * O;
    if (rnn_learner_size(l, (size_t)config_int(cfg, "train.batch"), t_max) != ENGRAM_OK) {
        rnn_learner_free(l);
        return NULL;
    }
    /* weights from the "weights" stream (the same for every rule and seed), feedback
     * matrices from the "feedback" stream */
    gsl_rng *rw = rng_stream_alloc(seed, "weights", 0);
    gsl_rng *rf = rng_stream_alloc(seed, "feedback", 0);
    if (!rw || !rf) {
        gsl_rng_free(rw);
        gsl_rng_free(rf);
        rnn_learner_free(l);
        engram_fail(ENGRAM_ENOMEM, "%s: out of memory", type->name);
        return NULL;
    }
    rnn_init(net, rw, config_real(cfg, "model.gain"), config_real(cfg, "model.input_scale"));
    /* constraints (only when the experiment declares their keys): built from the
     * "constraints" stream, applied to the initial weights */
    rnn_constraint_spec cs;
    double *masks[3];
    if (rnn_constraint_spec_read(cfg, n_in, N, n_out, &cs, masks) != ENGRAM_OK) {
        gsl_rng_free(rw);
        gsl_rng_free(rf);
        rnn_learner_free(l);
        return NULL;
    }
    gsl_rng *rc = rng_stream_alloc(seed, "constraints", 0);
    l->cons = rc ? rnn_constraints_alloc(net, &cs, rc) : NULL;
    gsl_rng_free(rc);
    for (int k = 0; k < 3; k++) free(masks[k]);
    if (!l->cons) {
        gsl_rng_free(rw);
        gsl_rng_free(rf);
        rnn_learner_free(l);
        return NULL;
    }
    rnn_constraints_init(l->cons, net);
    double g_out = config_real(cfg, "fa.gain_out"), g_rec = config_real(cfg, "fa.gain_rec");
    for (size_t k = 0; k < N * O; k++) l->fb_out[k] = gsl_ran_gaussian(rf, g_out / sqrt((double)N));
    for (size_t k = 0; k < N * N; k++) l->fb_rec[k] = gsl_ran_gaussian(rf, g_rec / sqrt((double)N));
    gsl_rng_free(rw);
    gsl_rng_free(rf);
    optim_params p = optim_defaults(kind);
    p.lr = config_real(cfg, "train.lr");
    if (rule == RULE_RFLO && config_real(cfg, "rflo.lr") > 0) p.lr = config_real(cfg, "rflo.lr");
    if (rule == RULE_ESN && config_real(cfg, "esn.lr") > 0) p.lr = config_real(cfg, "esn.lr");
    p.clip_norm = config_real(cfg, "train.clip_norm");
    p.clip_value = config_real(cfg, "train.clip_value");
    if (optim_schedule_config(cfg, &p) != ENGRAM_OK) { rnn_learner_free(l); return NULL; }
    if (rule == RULE_ESN) {
        double rho = rnn_spectral_radius(net->w_rec, N);
        if (rho < 0) { rnn_learner_free(l); return NULL; }
        double target = config_real(cfg, "esn.spectral_radius");
        if (rho > 0)
            for (size_t k = 0; k < N * N; k++) net->w_rec[k] *= target / rho;
        memcpy(l->cons->fixed_values, net->params, P * sizeof(double)); /* the rescaled W */
        l->opt = optim_alloc(&p, O * N + O); /* the readout tail [V | c] */
    } else {
        l->opt = optim_alloc(&p, P);
    }
    if (!l->opt) {
        rnn_learner_free(l);
        engram_fail(ENGRAM_ENOMEM, "%s: out of memory", type->name);
        return NULL;
    }
    return l;
}

static learner *learner_bptt_alloc(const config *cfg, size_t n_in, size_t n_out, size_t t_max,
                                   uint64_t seed) {
    return rnn_learner_alloc(&learner_bptt, RULE_BPTT, cfg, n_in, n_out, t_max, seed);
}
static learner *learner_fa_alloc(const config *cfg, size_t n_in, size_t n_out, size_t t_max,
                                 uint64_t seed) {
    return rnn_learner_alloc(&learner_fa, RULE_FA, cfg, n_in, n_out, t_max, seed);
}
static learner *learner_rflo_alloc(const config *cfg, size_t n_in, size_t n_out, size_t t_max,
                                   uint64_t seed) {
    return rnn_learner_alloc(&learner_rflo, RULE_RFLO, cfg, n_in, n_out, t_max, seed);
}
static learner *learner_esn_alloc(const config *cfg, size_t n_in, size_t n_out, size_t t_max,
                                  uint64_t seed) {
    return rnn_learner_alloc(&learner_esn, RULE_ESN, cfg, n_in, n_out, t_max, seed);
}

/* The readout part of the delta rule: dV = sum e_t h_t^T, dc = sum e_t (esn). */
static void rnn_readout_grad(const rnn *net, const trial_batch *b, const rnn_work *w, double *grads) {
    size_t B = b->n_batch, T = b->t_max, N = net->n_rec, O = net->n_out;
    double *g_w_out = grads + (net->w_out - net->params), *g_b_out = g_w_out + O * N;
    memset(grads, 0, net->n_params * sizeof *grads);
    for (size_t i = 0; i < B; i++)
        for (size_t t = 0; t < b->len[i]; t++) {
            const double *e = w->d_o + (i * T + t) * O, *h = w->h + (i * T + t) * N;
            for (size_t k = 0; k < O; k++) {
                if (e[k] == 0) continue;
                for (size_t n = 0; n < N; n++) g_w_out[k * N + n] += e[k] * h[n];
                g_b_out[k] += e[k];
            }
        }
}

static int rnn_learner_train(learner *l, const trial_batch *b, double *loss, double *extra) {
    rnn *net = l->net;
    const char *name = l->type->name;
    if (b->n_batch > l->max_batch || b->t_max > l->t_max) {
        size_t mb = b->n_batch > l->max_batch ? b->n_batch : l->max_batch;
        size_t tm = b->t_max > l->t_max ? b->t_max : l->t_max;
        if (rnn_learner_size(l, mb, tm) != ENGRAM_OK) return ENGRAM_ENOMEM;
    }
    rnn_forward(net, b, l->work);
    l->last_len = b->n_batch ? b->len[0] : 0;
    double L = rnn_loss(net, b, l->work);
    *loss = L;
    int st = learner_check_loss(name, L, l->max_loss);
    if (st != ENGRAM_OK) return st;
    int want_angle = l->angle && (l->rule == RULE_FA || l->rule == RULE_RFLO);
    if (l->rule != RULE_ESN) rnn_transpose_weights(net, l->wt_rec, l->wt_out);
    switch (l->rule) {
    case RULE_BPTT:
        rnn_backward(net, b, l->work, l->wt_out, l->wt_rec, l->window, net->grads);
        break;
    case RULE_FA:
        rnn_backward(net, b, l->work, l->fb_out, l->fa_full ? l->fb_rec : l->wt_rec, l->window,
                     net->grads);
        break;
    case RULE_RFLO:
        rnn_rflo_grad(net, b, l->work, l->fb_out, net->grads);
        break;
    case RULE_ESN:
        rnn_readout_grad(net, b, l->work, net->grads);
        break;
    }
    rnn_constraints_grad(l->cons, net->grads);
    if (want_angle) {
        /* the true gradient: full BPTT on the same batch, before the optimiser clips
         * (of the trained parameters when constraints mask some) */
        rnn_backward(net, b, l->work, l->wt_out, l->wt_rec, 0, l->g_true);
        rnn_constraints_grad(l->cons, l->g_true);
        l->last_angle = rnn_angle_deg(net->grads, l->g_true, net->n_params);
    }
    if (extra && (l->rule == RULE_FA || l->rule == RULE_RFLO)) extra[0] = l->last_angle;
    int rc = l->rule == RULE_ESN ? optim_step(l->opt, net->w_out, net->g_w_out)
                                 : optim_step(l->opt, net->params, net->grads);
    rnn_constraints_project(l->cons, net->params);
    return learner_check_update(name, rc, net->params, net->n_params);
}

static size_t rnn_learner_n_extra(const learner *l) {
    return l->rule == RULE_FA || l->rule == RULE_RFLO ? 1 : 0;
}

static const char *rnn_learner_extra_name(const learner *l, size_t k) {
    return k < rnn_learner_n_extra(l) ? "grad_angle_deg" : NULL;
}

static void rnn_learner_reset(learner *l) {
    memset(l->h, 0, l->net->n_rec * sizeof *l->h);
}

static void rnn_learner_step(learner *l, const double *x, double *out) {
    rnn_step(l->net, l->h, x, l->h_next, out);
    double *t = l->h; l->h = l->h_next; l->h_next = t;
}

static const double *rnn_learner_state(const learner *l, size_t *n) {
    *n = l->net->n_rec;
    return l->h;
}

/* Item 0's outputs of the last train() (rnn_work.o, rows t * O of item 0). */
static const double *rnn_learner_train_outputs(const learner *l, size_t *T) {
    *T = l->last_len;
    return l->work->o;
}

static size_t rnn_learner_blobs(learner *l, ckpt_blob *out, size_t max) {
    size_t N = l->net->n_rec, O = l->net->n_out;
    static const char *const optim_names[3] = {"rnn.optim_t", "rnn.optim_m", "rnn.optim_v"};
    ckpt_blob all[5] = {{"rnn.params", l->net->params, l->net->n_params * sizeof(double)}};
    learner_optim_blobs(l->opt, optim_names, all + 1);
    all[4] = (ckpt_blob){"rnn.feedback", l->fb, (N * O + N * N) * sizeof(double)};
    size_t n = 0;
    for (; n < 5 && n < max; n++) out[n] = all[n];
    return n;
}

#define RNN_LEARNER(NAME, ALLOC)                                                          \
    {NAME, ALLOC, rnn_learner_free, rnn_learner_train, rnn_learner_n_extra,              \
     rnn_learner_extra_name, rnn_learner_reset, rnn_learner_step, rnn_learner_state,      \
     rnn_learner_blobs, rnn_learner_train_outputs}

const learner_type learner_bptt = RNN_LEARNER("bptt", learner_bptt_alloc);
const learner_type learner_fa = RNN_LEARNER("fa", learner_fa_alloc);
const learner_type learner_rflo = RNN_LEARNER("rflo", learner_rflo_alloc);
const learner_type learner_esn = RNN_LEARNER("esn", learner_esn_alloc);
