/* gated.c: the LSTM and GRU sequence learners (cells.h); the LSTM runs on the path
 * integrator's kernels (lstm.h), the GRU on gru.c. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "engram/cells.h"
#include "engram/engram.h"
#include "engram/optim.h"
#include "engram/rng.h"

const cfg_key cells_keys[] = {
    {"cells.forget_bias", CFG_REAL, "1", -100, 100, NULL, "lstm: constant added to the forget-gate pre-activation"},
    {"cells.peephole", CFG_BOOL, "false", 0, 0, NULL, "lstm: peephole connections, the gates see the cell state (Gers & Schmidhuber 2000)"},
    {"cells.coupled", CFG_BOOL, "false", 0, 0, NULL, "lstm: coupled input and forget gate, f = 1 - i (CIFG, Greff et al. 2017)"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

void gated_free(gated_net *g) {
    if (!g) return;
    free(g->params); free(g->grads);
    free(g->x); free(g->z); free(g->hs); free(g->cs); free(g->o); free(g->e);
    free(g->dh); free(g->dz); free(g->dh0); free(g->dc0); free(g->w_ht);
    free(g->step_hs); free(g->step_cs); free(g->step_z);
    free(g->ax); free(g->dah); free(g->step_ax);
    free(g);
}

/* (Re)allocates the batch workspaces. */
static int gated_size(gated_net *g, size_t B, size_t T) {
    size_t I = g->n_in, H = g->n_hidden, O = g->n_out;
    free(g->x); free(g->z); free(g->hs); free(g->cs); free(g->o); free(g->e);
    free(g->dh); free(g->dz); free(g->dh0); free(g->dc0); free(g->ax); free(g->dah);
    g->ax = g->kind == GATED_GRU ? malloc(T * B * 3 * H * sizeof(double)) : NULL;
    g->dah = g->kind == GATED_GRU ? malloc(T * B * 3 * H * sizeof(double)) : NULL;
    if (g->kind == GATED_GRU && (!g->ax || !g->dah))
        return engram_fail(ENGRAM_ENOMEM, "gru: out of memory for the workspaces");
    g->x = malloc(T * B * I * sizeof(double));
    g->z = malloc(T * B * 4 * H * sizeof(double));
    g->hs = malloc((T + 1) * B * H * sizeof(double));
    g->cs = malloc((T + 1) * B * H * sizeof(double));
    g->o = malloc(T * B * O * sizeof(double));
    g->e = malloc(T * B * O * sizeof(double));
    g->dh = malloc(T * B * H * sizeof(double));
    g->dz = malloc(T * B * 4 * H * sizeof(double));
    g->dh0 = malloc(B * H * sizeof(double));
    g->dc0 = malloc(B * H * sizeof(double));
    if (!g->x || !g->z || !g->hs || !g->cs || !g->o || !g->e || !g->dh || !g->dz || !g->dh0 || !g->dc0)
        return engram_fail(ENGRAM_ENOMEM, "gated cells: out of memory for the workspaces");
    g->max_batch = B;
    g->t_max = T;
    return ENGRAM_OK;
}

gated_net *gated_alloc(gated_kind kind, const lstm_variant *var, size_t n_in, size_t n_hidden,
                       size_t n_out, rnn_loss_kind loss, double forget_bias, size_t max_batch,
                       size_t t_max, uint64_t seed) {
    if (!n_in || !n_hidden || !n_out || !max_batch || !t_max) {
        engram_fail(ENGRAM_EINVAL, "lstm: sizes must be positive");
        return NULL;
    }
    gated_net *g = calloc(1, sizeof *g);
    if (!g) { engram_fail(ENGRAM_ENOMEM, "lstm: out of memory"); return NULL; }
    g->kind = kind;
    if (var && kind == GATED_LSTM) g->var = *var;
    size_t I = n_in, H = n_hidden, O = n_out;
    size_t PL = kind == GATED_GRU ? gru_n_params(I, H) : lstm_variant_n_params(&g->var, I, H);
    g->n_in = I; g->n_hidden = H; g->n_out = O;
    g->loss = loss;
    g->forget_bias = forget_bias;
    g->n_params = PL + O * H + O;
    g->params = calloc(g->n_params, sizeof(double));
    g->grads = calloc(g->n_params, sizeof(double));
    g->w_ht = malloc(4 * H * H * sizeof(double));
    g->step_hs = calloc(2 * H, sizeof(double));
    g->step_cs = calloc(2 * H, sizeof(double));
    g->step_z = calloc(4 * H, sizeof(double));
    g->step_ax = calloc(3 * H, sizeof(double));
    if (!g->step_ax || !g->params || !g->grads || !g->w_ht || !g->step_hs || !g->step_cs || !g->step_z ||
        gated_size(g, max_batch, t_max) != ENGRAM_OK) {
        gated_free(g);
        engram_fail(ENGRAM_ENOMEM, "lstm: out of memory");
        return NULL;
    }
    lstm_variant_params_map(&g->core, &g->var, g->params, I, H);
    lstm_variant_params_map(&g->g_core, &g->var, g->grads, I, H);
    g->w_out = g->params + PL;
    g->b_out = g->w_out + O * H;
    g->g_w_out = g->grads + PL;
    g->g_b_out = g->g_w_out + O * H;
    gsl_rng *r = rng_stream_alloc(seed, "weights", 0);
    if (!r) { gated_free(g); engram_fail(ENGRAM_ENOMEM, "lstm: out of memory"); return NULL; }
    double a = 1.0 / sqrt((double)H);
    size_t n_w = (I + H) * (kind == GATED_GRU ? 3 : 4) * H;
    for (size_t k = 0; k < n_w; k++) g->params[k] = gsl_ran_flat(r, -a, a);
    for (size_t k = 0; k < O * H; k++) g->w_out[k] = gsl_ran_gaussian(r, a);
    /* peepholes (after b) start at U(-a, a) too, drawn last so that the other weights
     * are those of the standard cell with the same seed */
    if (g->core.w_p && kind == GATED_LSTM)
        for (size_t k = 0; k < 3 * H; k++) g->core.w_p[k] = gsl_ran_flat(r, -a, a);
    gsl_rng_free(r);
    return g;
}

/* Forward pass and loss; fills g->o and (if want_e) g->e = dL/do of the mean loss. */
static double gated_forward_loss(gated_net *g, const trial_batch *b, int want_e) {
    size_t B = b->n_batch, T = b->t_max, I = g->n_in, H = g->n_hidden, O = g->n_out;
    assert(B <= g->max_batch && T <= g->t_max);
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < B; i++)
            memcpy(g->x + (t * B + i) * I, b->x + (i * T + t) * I, I * sizeof(double));
    memset(g->hs, 0, B * H * sizeof(double));
    memset(g->cs, 0, B * H * sizeof(double));
    if (g->kind == GATED_GRU) gru_forward(g->params, T, B, I, H, g->x, g->ax, g->z, g->hs);
    else lstm_forward_variant(&g->core, &g->var, T, B, I, H, g->forget_bias, g->x, g->z, g->hs, g->cs);
    /* logits (T B, O) = h V^T */
    lstm_gemm(0, 1, T * B, O, H, 1.0, g->hs + B * H, H, g->w_out, H, 0.0, g->o, O);
    double count = 0, L = 0;
    for (size_t i = 0; i < B; i++)
        for (size_t t = 0; t < T; t++) count += b->mask[i * T + t];
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < B; i++) {
            double *o = g->o + (t * B + i) * O, *e = g->e + (t * B + i) * O;
            const double *y = b->y + (i * T + t) * O;
            double m = b->mask[i * T + t], w = count > 0 ? m / count : 0;
            for (size_t k = 0; k < O; k++) o[k] += g->b_out[k];
            if (g->loss == RNN_XENT) {
                double mx = o[0], s = 0;
                for (size_t k = 1; k < O; k++) if (o[k] > mx) mx = o[k];
                for (size_t k = 0; k < O; k++) s += exp(o[k] - mx);
                double ls = log(s);
                for (size_t k = 0; k < O; k++) {
                    double lp = o[k] - mx - ls;
                    if (m != 0 && y[k] != 0) L -= w * y[k] * lp;
                    o[k] = exp(lp);
                }
                if (want_e) for (size_t k = 0; k < O; k++) e[k] = w * (o[k] - y[k]);
            } else {
                for (size_t k = 0; k < O; k++) {
                    double d = o[k] - y[k];
                    if (m != 0) L += w * 0.5 * d * d;
                    if (want_e) e[k] = w * d;
                }
            }
            if (want_e && m == 0) memset(e, 0, O * sizeof(double));
        }
    return L;
}

double gated_loss(gated_net *g, const trial_batch *b) { return gated_forward_loss(g, b, 0); }

double gated_loss_grad(gated_net *g, const trial_batch *b) {
    size_t B = b->n_batch, T = b->t_max, I = g->n_in, H = g->n_hidden, O = g->n_out;
    double L = gated_forward_loss(g, b, 1);
    size_t TB = T * B;
    /* readout: dV (O, H) = e^T h, dc = column sums of e, dh (T B, H) = e V */
    lstm_gemm(1, 0, O, H, TB, 1.0, g->e, O, g->hs + B * H, H, 0.0, g->g_w_out, H);
    lstm_col_sums(g->e, TB, O, g->g_b_out);
    lstm_gemm(0, 0, TB, H, O, 1.0, g->e, O, g->w_out, H, 0.0, g->dh, H);
    if (g->kind == GATED_GRU)
        gru_backward(g->params, g->grads, T, B, I, H, g->x, g->z, g->hs, g->dh, g->dz, g->dah, g->dh0);
    else
        lstm_backward_variant(&g->core, &g->g_core, &g->var, T, B, I, H, g->forget_bias, g->x, g->z,
                              g->hs, g->cs, g->dh, g->dz, g->dh0, g->dc0, g->w_ht);
    return L;
}

void gated_reset(gated_net *g) {
    memset(g->step_hs, 0, 2 * g->n_hidden * sizeof(double));
    memset(g->step_cs, 0, 2 * g->n_hidden * sizeof(double));
}

void gated_step(gated_net *g, const double *x, double *out) {
    size_t H = g->n_hidden, O = g->n_out;
    if (g->kind == GATED_GRU) gru_forward(g->params, 1, 1, g->n_in, H, x, g->step_ax, g->step_z, g->step_hs);
    else lstm_forward_variant(&g->core, &g->var, 1, 1, g->n_in, H, g->forget_bias, x, g->step_z,
                              g->step_hs, g->step_cs);
    memcpy(g->step_hs, g->step_hs + H, H * sizeof(double));
    memcpy(g->step_cs, g->step_cs + H, H * sizeof(double));
    const double *h = g->step_hs;
    for (size_t k = 0; k < O; k++) {
        double s = g->b_out[k];
        for (size_t n = 0; n < H; n++) s += g->w_out[k * H + n] * h[n];
        out[k] = s;
    }
    if (g->loss == RNN_XENT) {
        double mx = out[0], s = 0;
        for (size_t k = 1; k < O; k++) if (out[k] > mx) mx = out[k];
        for (size_t k = 0; k < O; k++) { out[k] = exp(out[k] - mx); s += out[k]; }
        for (size_t k = 0; k < O; k++) out[k] /= s;
    }
}

/* ---- the learner ---- */

struct learner {
    const learner_type *type;
    gated_net *g;
    optim *opt;
    double max_loss;
};

static void gated_learner_free(learner *l) {
    if (!l) return;
    gated_free(l->g);
    optim_free(l->opt);
    free(l);
}

static learner *gated_learner_alloc(const learner_type *type, gated_kind gk, const config *cfg,
                                    size_t n_in, size_t n_out, size_t t_max, uint64_t seed) {
    optim_kind kind;
    if (optim_kind_parse(config_str(cfg, "train.optimizer"), &kind) != ENGRAM_OK) return NULL;
    if (learner_wants_float32(cfg)) {
        engram_fail(ENGRAM_EINVAL, "%s: run.precision = float32 is not supported "
                    "(only bptt, fa and rflo have a float32 path)", type->name);
        return NULL;
    }
    learner *l = calloc(1, sizeof *l);
    if (!l) { engram_fail(ENGRAM_ENOMEM, "lstm: out of memory"); return NULL; }
    l->type = type;
    l->max_loss = config_real(cfg, "train.max_loss");
    rnn_loss_kind loss = strcmp(config_str(cfg, "train.loss"), "mse") == 0 ? RNN_MSE : RNN_XENT;
    double fb = config_has(cfg, "cells.forget_bias") ? config_real(cfg, "cells.forget_bias") : 1.0;
    lstm_variant var = {0, 0};
    if (config_has(cfg, "cells.peephole")) var.peephole = config_bool(cfg, "cells.peephole");
    if (config_has(cfg, "cells.coupled")) var.coupled = config_bool(cfg, "cells.coupled");
    if (gk == GATED_GRU && (var.peephole || var.coupled)) {
        free(l);
        engram_fail(ENGRAM_EINVAL, "gru: cells.peephole and cells.coupled are LSTM variants "
                    "(use train.rule = lstm)");
        return NULL;
    }
    l->g = gated_alloc(gk, &var, n_in, (size_t)config_int(cfg, "model.n_rec"), n_out, loss, fb,
                       (size_t)config_int(cfg, "train.batch"), t_max, seed);
    if (!l->g) { gated_learner_free(l); return NULL; }
    optim_params p = optim_defaults(kind);
    p.lr = config_real(cfg, "train.lr");
    p.clip_norm = config_real(cfg, "train.clip_norm");
    p.clip_value = config_real(cfg, "train.clip_value");
    l->opt = optim_alloc(&p, l->g->n_params);
    if (!l->opt) { gated_learner_free(l); engram_fail(ENGRAM_ENOMEM, "lstm: out of memory"); return NULL; }
    return l;
}

static learner *lstm_learner_alloc(const config *cfg, size_t n_in, size_t n_out, size_t t_max,
                                   uint64_t seed) {
    return gated_learner_alloc(&learner_lstm, GATED_LSTM, cfg, n_in, n_out, t_max, seed);
}
static learner *gru_learner_alloc(const config *cfg, size_t n_in, size_t n_out, size_t t_max,
                                  uint64_t seed) {
    return gated_learner_alloc(&learner_gru, GATED_GRU, cfg, n_in, n_out, t_max, seed);
}

static int gated_learner_train(learner *l, const trial_batch *b, double *loss, double *extra) {
    (void)extra;
    gated_net *g = l->g;
    if (b->n_batch > g->max_batch || b->t_max > g->t_max) {
        size_t mb = b->n_batch > g->max_batch ? b->n_batch : g->max_batch;
        size_t tm = b->t_max > g->t_max ? b->t_max : g->t_max;
        if (gated_size(g, mb, tm) != ENGRAM_OK) return ENGRAM_ENOMEM;
    }
    double L = gated_loss_grad(g, b);
    *loss = L;
    int st = learner_check_loss(l->type->name, L, l->max_loss);
    if (st != ENGRAM_OK) return st;
    return learner_check_update(l->type->name, optim_step(l->opt, g->params, g->grads), g->params,
                                g->n_params);
}

static size_t gated_learner_n_extra(const learner *l) { (void)l; return 0; }
static const char *gated_learner_extra_name(const learner *l, size_t k) { (void)l; (void)k; return NULL; }
static void gated_learner_reset(learner *l) { gated_reset(l->g); }
static void gated_learner_step(learner *l, const double *x, double *out) { gated_step(l->g, x, out); }
static const double *gated_learner_state(const learner *l, size_t *n) {
    *n = l->g->n_hidden;
    return l->g->step_hs;
}

static size_t gated_learner_blobs(learner *l, ckpt_blob *out, size_t max) {
    int gru = l->g->kind == GATED_GRU;
    static const char *const names[2][3] = {{"lstm.optim_t", "lstm.optim_m", "lstm.optim_v"},
                                            {"gru.optim_t", "gru.optim_m", "gru.optim_v"}};
    ckpt_blob all[4] = {
        {gru ? "gru.params" : "lstm.params", l->g->params, l->g->n_params * sizeof(double)}};
    learner_optim_blobs(l->opt, names[gru], all + 1);
    size_t n = 0;
    for (; n < 4 && n < max; n++) out[n] = all[n];
    return n;
}

#define GATED_LEARNER(NAME, ALLOC)                                                          \
    {NAME, ALLOC, gated_learner_free, gated_learner_train, gated_learner_n_extra,          \
     gated_learner_extra_name, gated_learner_reset, gated_learner_step, gated_learner_state, \
     gated_learner_blobs, NULL}

const learner_type learner_lstm = GATED_LEARNER("lstm", lstm_learner_alloc);
const learner_type learner_gru = GATED_LEARNER("gru", gru_learner_alloc);
