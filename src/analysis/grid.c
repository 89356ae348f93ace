/* grid.c: the path integrators of the gridcells experiment (pathint.h) rebuilt for the
 * analyses (analysis.h, "Models"): trajectories as trials, the place-cell decoding error
 * as the metric, and lesions or perturbations of the recurrent units (RNN core) or of
 * the layer g (LSTM core).
 *
 * Trials: K trajectories of train.seq_len steps from stream (seed, "analysis", 0)
 * (traj_generate_batch), the run's input encoding (traj_model_input) and targets
 * (the run's place and head-direction cells, cells.seed). Task variables of step t (the
 * position after the t-th move, as the run's rate maps): position (the eval.bins x
 * eval.bins bin, row-major from the lower left), x bin, y bin, heading (12 sectors of
 * 30 degrees from -180), speed (10 bins of |dpos| up to 3 traj.speed_scale traj.dt),
 * and the step t.
 *
 * Simulation (RNN core), all K trials together, one product per step (lstm_gemm, whose
 * chunking depends on the sizes only):
 *     h_0 = init W_h0 (+ b_h0),  h_t = f(h_{t-1} W_rec + x_t W_in),  t = 1..T
 * with the intervention applied to h_0 and to every h_t after its update (so a
 * silenced unit sends nothing through W_rec or the heads). LSTM core: pathint_forward
 * in chunks of 50 trajectories, then the intervention on g. Heads of both:
 *     y_t = softmax(g_t W_pc + b_pc),  q_t = softmax(g_t W_hd + b_hd)
 * written as out = [y_t, q_t] (P + D). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis_impl.h"
#include "engram/engram.h"
#include "engram/lstm.h"
#include "engram/pathint.h"
#include "engram/placecells.h"
#include "engram/rng.h"
#include "engram/trajectory.h"

#define GRID_CHUNK 50
#define GRID_HD_BINS 12
#define GRID_SPEED_BINS 10

typedef struct analysis_grid {
    pathint *pi;        /* weights; workspaces for GRID_CHUNK trajectories (LSTM) */
    pc_ensemble *pc;
    hd_ensemble *hdc;
    traj_params tp;
    size_t T, I, H, Ng, P, D, bins, decode_k;
    int allocentric, zscore_init;
    double vel_scale;
} analysis_grid;

void analysis_grid_free(analysis_grid *g) {
    if (!g) return;
    pathint_free(g->pi);
    pc_free(g->pc);
    hdc_free(g->hdc);
    free(g);
}

typedef struct grid_file { const char *name; double *dst; size_t n; int needed; } grid_file;

/* Reads the named arrays of the model (see analysis.h); optional ones may be absent
 * when the model does not use them (zero). */
static int grid_read_weights(analysis_grid *g, const char *run_dir) {
    pathint *pi = g->pi;
    const size_t H = g->H, PD = g->P + g->D, I = g->I, Ng = g->Ng, P = g->P, D = g->D;
    const int lstm = pi->d.kind == PATHINT_LSTM;
    grid_file f[12];
    size_t n = 0;
#define W(NAME, DST, N, NEED) f[n++] = (grid_file){NAME, DST, N, NEED}
    W("w_enc.npy", pi->w.w_h0, PD * H, 1);
    W("w_out.npy", pi->w.w_pc, Ng * P, 1);
    W("b_enc.npy", pi->w.b_h0, H, lstm || pi->bias);
    W("b_out.npy", pi->w.b_pc, P, lstm || pi->bias);
    if (D) {
        W("w_hd.npy", pi->w.w_hd, Ng * D, 1);
        W("b_hd.npy", pi->w.b_hd, D, lstm || pi->bias);
    }
    if (lstm) {
        W("w_enc_c.npy", pi->w.w_c0, PD * H, 1);
        W("b_enc_c.npy", pi->w.b_c0, H, 1);
        W("w_in.npy", pi->w.lstm.w_x, I * 4 * H, 1);
        W("w_rec.npy", pi->w.lstm.w_h, H * 4 * H, 1);
        W("b_lstm.npy", pi->w.lstm.b, 4 * H, 1);
        W("w_g.npy", pi->w.w_g, H * Ng, 1);
    } else {
        W("w_in.npy", pi->w.w_in, I * H, 1);
        W("w_rec.npy", pi->w.w_rec, H * H, 1);
    }
#undef W
    for (size_t k = 0; k < n; k++) {
        int got = analysis_read_named(run_dir, f[k].name, f[k].dst, f[k].n);
        if (got < 0) return -got;
        if (got == 0 && f[k].needed)
            return engram_fail(ENGRAM_EIO, "%s: no %s (an %s path integrator%s needs it; runs "
                               "written before every parameter was saved cannot be analysed)",
                               run_dir, f[k].name, lstm ? "LSTM" : "RNN",
                               D ? " with a head-direction head" : "");
    }
    return ENGRAM_OK;
}

int analysis_grid_load(analysis_model *m, const char *run_dir) {
    const config *c = m->cfg;
    analysis_grid *g = calloc(1, sizeof *g);
    if (!g) return engram_fail(ENGRAM_ENOMEM, "analysis: out of memory");
    m->grid = g;
    int st = traj_params_from_config(c, &g->tp);
    if (st != ENGRAM_OK) return st;
    const int is_rnn = strcmp(config_str(c, "model.kind"), "rnn") == 0;
    g->T = (size_t)config_int(c, "train.seq_len");
    g->H = (size_t)config_int(c, "model.n_hidden");
    g->Ng = is_rnn ? g->H : (size_t)config_int(c, "model.n_g");
    g->P = (size_t)config_int(c, "cells.n_pc");
    g->D = (size_t)config_int(c, "cells.n_hd");
    g->bins = (size_t)config_int(c, "eval.bins");
    g->decode_k = (size_t)config_int(c, "eval.decode_k");
    g->allocentric = strcmp(config_str(c, "input.velocity"), "allocentric") == 0;
    g->I = g->allocentric ? 2 : 3;
    g->vel_scale = strcmp(config_str(c, "input.velocity_units"), "mps") == 0 ? 1.0 / g->tp.dt : 1.0;
    g->zscore_init = config_bool(c, "input.zscore_init");
    if ((st = pc_cells_from_config(c, g->tp.box, &g->pc, &g->hdc)) != ENGRAM_OK) return st;
    pathint_dims d = {g->I, g->H, g->Ng, g->P, g->D, is_rnn ? PATHINT_RNN : PATHINT_LSTM};
    g->pi = pathint_alloc(&d, GRID_CHUNK, g->T);
    if (!g->pi) return ENGRAM_ENOMEM;
    g->pi->rnn_act = strcmp(config_str(c, "model.activation"), "tanh") == 0 ? PATHINT_TANH : PATHINT_RELU;
    g->pi->g_act = strcmp(config_str(c, "model.g_activation"), "relu") == 0 ? PATHINT_G_RELU : PATHINT_G_LINEAR;
    if (is_rnn) g->pi->bias = config_bool(c, "model.bias");
    g->pi->forget_bias = config_real(c, "model.forget_bias");
    g->pi->dropout = 0;
    if ((st = grid_read_weights(g, run_dir)) != ENGRAM_OK) return st;
    m->net_kind = is_rnn ? ANALYSIS_NET_PATHINT_RNN : ANALYSIS_NET_PATHINT_LSTM;
    m->kind = ANALYSIS_TASK_GRID;
    snprintf(m->rule, sizeof m->rule, "%s", is_rnn ? "rnn" : "lstm");
    m->n_in = g->I;
    m->n_out = g->P + g->D;
    m->n_units = g->Ng;
    m->t_max = g->T;
    m->n_aux = g->P + g->D + 2 * (g->T + 1);
    m->n_cond = 6;
    static const char *const names[6] = {"position", "x", "y", "heading", "speed", "t"};
    for (size_t k = 0; k < 6; k++) m->cond_names[k] = names[k];
    m->metric_name = "decode_error_cm";
    m->lower_is_better = 1;
    return ENGRAM_OK;
}

int analysis_grid_untrained(analysis_model *m) {
    return pathint_init_weights(m->grid->pi, m->seed);
}

static size_t grid_bin(double v, double lo, double hi, size_t n) {
    double f = (v - lo) / (hi - lo) * (double)n;
    if (!(f >= 0)) return 0;
    return f >= (double)n ? n - 1 : (size_t)f;
}

void analysis_grid_trials(const analysis_model *m, gsl_rng *r, analysis_rec *rec) {
    const analysis_grid *g = m->grid;
    const size_t K = rec->n_trials, T = g->T, P = g->P, D = g->D, PD = P + D, A = rec->n_aux;
    const size_t O = rec->n_out, C = rec->n_cond;
    double *vel = malloc(K * T * 3 * sizeof *vel), *pos = malloc(K * (T + 1) * 2 * sizeof *pos);
    double *hd = malloc(K * (T + 1) * sizeof *hd), *pc0 = malloc(K * P * sizeof *pc0);
    double *pct = malloc(K * T * P * sizeof *pct), *hd0 = malloc((K * D + 1) * sizeof *hd0);
    double *hdt = malloc((K * T * D + 1) * sizeof *hdt);
    if (!vel || !pos || !hd || !pc0 || !pct || !hd0 || !hdt) goto done;
    if (traj_generate_batch(&g->tp, K, T, r, vel, pos, hd) != ENGRAM_OK) goto done;
    traj_model_input(K, T, vel, pos, g->allocentric, g->vel_scale, rec->x);
    pc_encode_steps(g->pc, pos, K, T, pc0, pct);
    if (D) hdc_encode_steps(g->hdc, hd, K, T, hd0, hdt);
    if (g->zscore_init) pc_zscore_rows(pc0, K, P);
    const double half = g->tp.box / 2, vmax = 3 * g->tp.speed_scale * g->tp.dt;
    for (size_t k = 0; k < K; k++) {
        rec->len[k] = T;
        double *aux = rec->aux + k * A;
        memcpy(aux, pc0 + k * P, P * sizeof *aux);
        if (D) memcpy(aux + P, hd0 + k * D, D * sizeof *aux);
        memcpy(aux + PD, pos + k * (T + 1) * 2, (T + 1) * 2 * sizeof *aux);
        for (size_t t = 0; t < T; t++) {
            double *y = rec->y + (k * T + t) * O, *cd = rec->cond + (k * T + t) * C;
            memcpy(y, pct + (k * T + t) * P, P * sizeof *y);
            if (D) memcpy(y + P, hdt + (k * T + t) * D, D * sizeof *y);
            rec->mask[k * T + t] = 1;
            const double *p = pos + (k * (T + 1) + t + 1) * 2;
            size_t bx = grid_bin(p[0], -half, half, g->bins), by = grid_bin(p[1], -half, half, g->bins);
            cd[0] = (double)(by * g->bins + bx);
            cd[1] = (double)bx;
            cd[2] = (double)by;
            cd[3] = (double)grid_bin(hd[k * (T + 1) + t + 1], -M_PI, M_PI, GRID_HD_BINS);
            cd[4] = (double)grid_bin(vel[(k * T + t) * 3], 0, vmax, GRID_SPEED_BINS);
            cd[5] = (double)t;
        }
    }
done:
    free(vel); free(pos); free(hd); free(pc0); free(pct); free(hd0); free(hdt);
}

/* Heads of every recorded step: out (K T, P + D) from act (K T, Ng). */
static void grid_heads(const analysis_grid *g, analysis_rec *rec) {
    const pathint *pi = g->pi;
    const size_t R = rec->n_trials * rec->t_max, Ng = g->Ng, P = g->P, D = g->D, O = P + D;
    const int hb = pi->bias || pi->d.kind != PATHINT_RNN;
    lstm_gemm(0, 0, R, P, Ng, 1.0, rec->act, Ng, pi->w.w_pc, P, 0.0, rec->out, O);
    if (D) lstm_gemm(0, 0, R, D, Ng, 1.0, rec->act, Ng, pi->w.w_hd, D, 0.0, rec->out + P, O);
    for (size_t r = 0; r < R; r++)
        for (int head = 0; head < (D ? 2 : 1); head++) {
            size_t lo = head ? P : 0, n = head ? D : P;
            const double *b = head ? pi->w.b_hd : pi->w.b_pc;
            double *row = rec->out + r * O + lo, mx = -INFINITY, s = 0;
            for (size_t i = 0; i < n; i++) {
                if (hb) row[i] += b[i];
                if (row[i] > mx) mx = row[i];
            }
            for (size_t i = 0; i < n; i++) s += exp(row[i] - mx);
            double lse = mx + log(s);
            for (size_t i = 0; i < n; i++) row[i] = exp(row[i] - lse);
        }
}

void analysis_grid_simulate(const analysis_model *m, const analysis_intervention *iv,
                            analysis_rec *rec) {
    const analysis_grid *g = m->grid;
    pathint *pi = g->pi;
    const size_t K = rec->n_trials, T = g->T, I = g->I, H = g->H, Ng = g->Ng, P = g->P, D = g->D;
    const size_t PD = P + D, A = rec->n_aux;
    if (pi->d.kind == PATHINT_RNN) {
        double *h0 = malloc(K * H * sizeof *h0);
        if (!h0) return;
        lstm_gemm(0, 0, K, H, PD, 1.0, rec->aux, A, pi->w.w_h0, H, 0.0, h0, H);
        const int relu = pi->rnn_act == PATHINT_RELU;
        for (size_t k = 0; k < K; k++) {
            if (pi->bias) for (size_t u = 0; u < H; u++) h0[k * H + u] += pi->w.b_h0[u];
            if (iv && iv->keep) for (size_t u = 0; u < H; u++) h0[k * H + u] *= iv->keep[u];
        }
        for (size_t t = 0; t < T; t++) {
            /* z (K, H) = x_t (K, I) W_in + h_{t-1} (K, H) W_rec, rows strided by T */
            double *z = rec->act + t * H;
            const double *hp = t ? rec->act + (t - 1) * H : h0;
            size_t ldp = t ? T * H : H;
            lstm_gemm(0, 0, K, H, I, 1.0, rec->x + t * I, T * I, pi->w.w_in, H, 0.0, z, T * H);
            lstm_gemm(0, 0, K, H, H, 1.0, hp, ldp, pi->w.w_rec, H, 1.0, z, T * H);
            for (size_t k = 0; k < K; k++) {
                double *h = z + k * T * H;
                for (size_t u = 0; u < H; u++) h[u] = relu ? (h[u] > 0 ? h[u] : 0.0) : tanh(h[u]);
                analysis_intervene(iv, t, h, H);
            }
        }
        free(h0);
    } else {
        double *pc0 = malloc(GRID_CHUNK * P * sizeof *pc0), *hd0 = malloc((GRID_CHUNK * D + 1) * sizeof *hd0);
        if (!pc0 || !hd0) { free(pc0); free(hd0); return; }
        for (size_t k0 = 0; k0 < K; k0 += GRID_CHUNK) {
            size_t B = K - k0 < GRID_CHUNK ? K - k0 : GRID_CHUNK;
            for (size_t b = 0; b < B; b++) {
                memcpy(pc0 + b * P, rec->aux + (k0 + b) * A, P * sizeof *pc0);
                if (D) memcpy(hd0 + b * D, rec->aux + (k0 + b) * A + P, D * sizeof *hd0);
            }
            if (pathint_forward(pi, B, rec->x + k0 * T * I, pc0, hd0, NULL, NULL, 0, NULL) != ENGRAM_OK) break;
            for (size_t b = 0; b < B; b++)
                for (size_t t = 0; t < T; t++) {
                    double *h = rec->act + ((k0 + b) * T + t) * Ng;
                    memcpy(h, pi->g + (t * B + b) * Ng, Ng * sizeof *h);
                    analysis_intervene(iv, t, h, Ng);
                }
        }
        free(pc0); free(hd0);
    }
    grid_heads(g, rec);
}

double analysis_grid_metric(const analysis_model *m, const analysis_rec *rec) {
    const analysis_grid *g = m->grid;
    const size_t K = rec->n_trials, T = g->T, P = g->P, O = rec->n_out, A = rec->n_aux;
    double *sc = malloc(T * P * sizeof *sc), *dec = malloc(T * 2 * sizeof *dec), err = 0;
    if (!sc || !dec) { free(sc); free(dec); return NAN; }
    for (size_t k = 0; k < K; k++) {
        for (size_t t = 0; t < T; t++) memcpy(sc + t * P, rec->out + (k * T + t) * O, P * sizeof *sc);
        if (pc_decode(g->pc, sc, T, g->decode_k, dec) != ENGRAM_OK) { err = NAN; break; }
        const double *pos = rec->aux + k * A + P + g->D;
        for (size_t t = 0; t < T; t++)
            err += hypot(dec[t * 2] - pos[(t + 1) * 2], dec[t * 2 + 1] - pos[(t + 1) * 2 + 1]);
    }
    free(sc); free(dec);
    return 100.0 * err / (double)(K * T);
}

void analysis_grid_readout(const analysis_model *m, long out, double *norms) {
    const analysis_grid *g = m->grid;
    const size_t Ng = g->Ng, P = g->P, D = g->D;
    for (size_t u = 0; u < Ng; u++) {
        if (out >= 0) {
            norms[u] = (size_t)out < P ? g->pi->w.w_pc[u * P + (size_t)out]
                                       : g->pi->w.w_hd[u * D + (size_t)out - P];
            continue;
        }
        double s = 0;
        for (size_t p = 0; p < P; p++) s += g->pi->w.w_pc[u * P + p] * g->pi->w.w_pc[u * P + p];
        for (size_t q = 0; q < D; q++) s += g->pi->w.w_hd[u * D + q] * g->pi->w.w_hd[u * D + q];
        norms[u] = sqrt(s);
    }
}

/* F(h) = f(h W_rec + x W_in) of the RNN core at constant input x. */
typedef struct grid_map {
    analysis_map_owned own;
    const pathint *pi;
    double *u;   /* (H,) x W_in */
    double *z;   /* (H,) work */
} grid_map;

static void grid_map_free(void *ctx) {
    grid_map *c = ctx;
    free(c->u); free(c->z); free(c);
}

static void grid_map_eval(const void *ctx, const double *h, double *f, double *jac) {
    const grid_map *c = ctx;
    const size_t H = c->pi->d.n_hidden;
    const double *w = c->pi->w.w_rec;
    const int relu = c->pi->rnn_act == PATHINT_RELU;
    for (size_t i = 0; i < H; i++) c->z[i] = c->u[i];
    for (size_t j = 0; j < H; j++)
        for (size_t i = 0; i < H; i++) c->z[i] += h[j] * w[j * H + i];
    for (size_t i = 0; i < H; i++) {
        double zi = c->z[i];
        f[i] = relu ? (zi > 0 ? zi : 0.0) : tanh(zi);
        if (jac) {
            double dfi = relu ? (zi > 0) : 1 - f[i] * f[i];
            for (size_t j = 0; j < H; j++) jac[i * H + j] = dfi * w[j * H + i];
        }
    }
}

int analysis_grid_map(const analysis_model *m, const double *x, analysis_map *map) {
    const analysis_grid *g = m->grid;
    if (g->pi->d.kind != PATHINT_RNN)
        return engram_fail(ENGRAM_ERANGE, "fixedpoints: the path-integrating LSTM's analysed units "
                           "are its layer g, a readout of the (h, c) state, not a recurrent map");
    grid_map *c = calloc(1, sizeof *c);
    const size_t H = g->H, I = g->I;
    if (c) { c->u = calloc(H, sizeof *c->u); c->z = malloc(H * sizeof *c->z); }
    if (!c || !c->u || !c->z) {
        if (c) grid_map_free(c);
        return engram_fail(ENGRAM_ENOMEM, "out of memory");
    }
    c->own.free_ctx = grid_map_free;
    c->pi = g->pi;
    for (size_t k = 0; k < I; k++)
        for (size_t i = 0; i < H; i++) c->u[i] += x[k] * g->pi->w.w_in[k * H + i];
    map->n = H;
    map->eval = grid_map_eval;
    map->ctx = c;
    return ENGRAM_OK;
}
