/* series.c: the echo-state prediction runs (mackey-glass, narma10 with task.mode =
 * predict) rebuilt for the analyses (analysis.h, "Models"). The reservoir comes from
 * esn_alloc with the run's seed and reservoir.* keys (its draws are deterministic), the
 * readout from w_out.npy (1, D), column 0 the bias, then the readout.units gathered
 * units (unit i n / m for feature i) and the input when reservoir.input_to_readout. One
 * trial: the run's drive, washout + train + test steps, from the zero state, counted on
 * the test steps, so the outputs there are the run's predictions.npy. Task variables:
 * the drive and the target in 10 equal bins over their range, and the phase (0 washout,
 * 1 train, 2 test). Interventions act on the state after each esn_step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis_impl.h"
#include "engram/engram.h"
#include "engram/esn.h"
#include "engram/rng.h"
#include "engram/series.h"

typedef struct analysis_series {
    esn *e;
    double *w;          /* (D,) readout */
    size_t D, units, washout, n_train, n_test, T;
    int with_input;
    double *drive, *target; /* (T,) */
} analysis_series;

void analysis_series_free(analysis_series *s) {
    if (!s) return;
    esn_free(s->e);
    free(s->w); free(s->drive); free(s->target);
    free(s);
}

static int series_drive(analysis_model *m, analysis_series *s) {
    const config *c = m->cfg;
    const size_t T = s->T;
    if (!strcmp(m->experiment, "mackey-glass")) {
        mackey_glass_params mg;
        mackey_glass_from_config(c, &mg);
        size_t hz = (size_t)config_int(c, "task.horizon");
        double *x = malloc((T + hz) * sizeof *x), off = config_real(c, "task.offset");
        if (!x) return engram_fail(ENGRAM_ENOMEM, "out of memory");
        int st = mackey_glass_generate(&mg, x, T + hz);
        for (size_t t = 0; st == ENGRAM_OK && t < T; t++) {
            s->drive[t] = x[t] - off;
            s->target[t] = x[t + hz] - off;
        }
        free(x);
        return st;
    }
    narma_params np;
    narma_from_config(c, &np);
    gsl_rng *rd = rng_stream_alloc(m->seed, "data", 0);
    if (!rd) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    int st = narma_generate(&np, rd, s->drive, s->target, T);
    gsl_rng_free(rd);
    return st;
}

int analysis_series_load(analysis_model *m, const char *run_dir) {
    const config *c = m->cfg;
    if (strcmp(m->experiment, "mackey-glass") && strcmp(m->experiment, "narma10"))
        return engram_fail(ENGRAM_ERANGE, "analysis: experiment '%s' is not supported (echo-state "
                           "runs: mackey-glass and narma10; memory-capacity trains one readout "
                           "per delay)", m->experiment);
    if (config_has(c, "task.mode") && strcmp(config_str(c, "task.mode"), "predict"))
        return engram_fail(ENGRAM_ERANGE, "analysis: task.mode = %s is not supported (the "
                           "free-running generator feeds its own output back; use predict runs)",
                           config_str(c, "task.mode"));
    analysis_series *s = calloc(1, sizeof *s);
    if (!s) return engram_fail(ENGRAM_ENOMEM, "analysis: out of memory");
    m->series = s;
    esn_params ep;
    int st = esn_params_from_config(c, &ep);
    if (st != ENGRAM_OK) return st;
    ep.n_in = 1;
    ep.n_fb = 0;
    s->washout = (size_t)config_int(c, "data.washout");
    s->n_train = (size_t)config_int(c, "data.train");
    s->n_test = (size_t)config_int(c, "data.test");
    s->T = s->washout + s->n_train + s->n_test;
    s->with_input = config_bool(c, "reservoir.input_to_readout");
    size_t mu = (size_t)config_int(c, "readout.units");
    s->units = mu == 0 || mu > ep.n_res ? ep.n_res : mu;
    s->D = 1 + s->units + (s->with_input ? 1 : 0);
    s->w = malloc(s->D * sizeof *s->w);
    s->drive = malloc(s->T * sizeof *s->drive);
    s->target = malloc(s->T * sizeof *s->target);
    if (!s->w || !s->drive || !s->target) return engram_fail(ENGRAM_ENOMEM, "analysis: out of memory");
    int got = analysis_read_named(run_dir, "w_out.npy", s->w, s->D);
    if (got != 1)
        return got < 0 ? -got : engram_fail(ENGRAM_EIO, "%s: no w_out.npy (the trained readout)", run_dir);
    if ((st = series_drive(m, s)) != ENGRAM_OK) return st;
    s->e = esn_alloc(&ep, m->seed);
    if (!s->e) return ENGRAM_EINVAL;
    m->net_kind = ANALYSIS_NET_ESN;
    m->kind = ANALYSIS_TASK_SERIES;
    snprintf(m->rule, sizeof m->rule, "esn");
    m->n_in = 1;
    m->n_out = 1;
    m->n_units = ep.n_res;
    m->t_max = s->T;
    m->n_cond = 3;
    static const char *const names[3] = {"input", "target", "phase"};
    for (size_t k = 0; k < 3; k++) m->cond_names[k] = names[k];
    m->metric_name = "nrmse_test";
    m->lower_is_better = 1;
    return ENGRAM_OK;
}

int analysis_series_untrained(analysis_model *m) {
    memset(m->series->w, 0, m->series->D * sizeof(double));
    return ENGRAM_OK;
}

static void minmax(const double *v, size_t n, double *lo, double *hi) {
    *lo = INFINITY; *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) { *lo = fmin(*lo, v[i]); *hi = fmax(*hi, v[i]); }
}

static double bin10(double v, double lo, double hi) {
    if (!(hi > lo)) return 0;
    double b = floor((v - lo) / (hi - lo) * 10);
    return b < 0 ? 0 : b > 9 ? 9 : b;
}

void analysis_series_trials(const analysis_model *m, analysis_rec *rec) {
    const analysis_series *s = m->series;
    const size_t T = s->T, C = rec->n_cond;
    double dlo, dhi, ylo, yhi;
    minmax(s->drive, T, &dlo, &dhi);
    minmax(s->target, T, &ylo, &yhi);
    /* every trial is the run's drive (the recording holds one unless asked for more) */
    for (size_t k = 0; k < rec->n_trials; k++) {
        rec->len[k] = T;
        for (size_t t = 0; t < T; t++) {
            size_t r = k * T + t;
            rec->x[r] = s->drive[t];
            rec->y[r] = s->target[t];
            rec->mask[r] = t >= s->washout + s->n_train;
            rec->cond[r * C] = bin10(s->drive[t], dlo, dhi);
            rec->cond[r * C + 1] = bin10(s->target[t], ylo, yhi);
            rec->cond[r * C + 2] = t < s->washout ? 0 : t < s->washout + s->n_train ? 1 : 2;
        }
    }
}

void analysis_series_simulate(const analysis_model *m, const analysis_intervention *iv,
                              analysis_rec *rec) {
    const analysis_series *s = m->series;
    esn *e = s->e;
    const size_t T = s->T, N = e->p.n_res, U = s->units;
    for (size_t k = 0; k < rec->n_trials; k++) {
        esn_reset(e);
        for (size_t t = 0; t < T; t++) {
            double u = rec->x[k * T + t];
            esn_step(e, &u, NULL);
            analysis_intervene(iv, t, e->x, N);
            double *h = rec->act + (k * T + t) * N;
            memcpy(h, e->x, N * sizeof *h);
            double o = s->w[0];
            for (size_t i = 0; i < U; i++) o += s->w[1 + i] * h[U == N ? i : i * N / U];
            if (s->with_input) o += s->w[1 + U] * u;
            rec->out[k * T + t] = o;
        }
    }
}

double analysis_series_metric(const analysis_model *m, const analysis_rec *rec) {
    const analysis_series *s = m->series;
    const size_t T = s->T, t0 = s->washout + s->n_train;
    double se = 0, mu = 0, var = 0, n = 0;
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = t0; t < T; t++) {
            double d = rec->out[k * T + t] - rec->y[k * T + t];
            se += d * d;
            mu += rec->y[k * T + t];
            n += 1;
        }
    mu /= n;
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = t0; t < T; t++) var += (rec->y[k * T + t] - mu) * (rec->y[k * T + t] - mu);
    return sqrt(se / n) / sqrt(var / n);
}

void analysis_series_readout(const analysis_model *m, long out, double *norms) {
    const analysis_series *s = m->series;
    const size_t N = s->e->p.n_res, U = s->units;
    for (size_t i = 0; i < N; i++) norms[i] = 0;
    for (size_t i = 0; i < U; i++) {
        double w = s->w[1 + i];
        norms[U == N ? i : i * N / U] = out >= 0 ? w : fabs(w);
    }
}

/* The reservoir as a rate RNN (alpha = leak) at constant input. */
typedef struct series_map {
    analysis_map_owned own;
    rnn *net;
    double x;
    analysis_rnn_map ctx;
} series_map;

static void series_map_free(void *ctx) {
    series_map *c = ctx;
    rnn_free(c->net);
    free(c);
}

static void series_map_eval(const void *ctx, const double *h, double *f, double *jac) {
    const series_map *c = ctx;
    analysis_rnn_map_eval(&c->ctx, h, f, jac);
}

int analysis_series_map(const analysis_model *m, const double *x, analysis_map *map) {
    const esn *e = m->series->e;
    const size_t N = e->p.n_res;
    if (e->p.activation != ESN_ACT_TANH)
        return engram_fail(ENGRAM_ERANGE, "fixedpoints: a linear reservoir (reservoir.activation = "
                           "identity) has the single fixed point (I - W)^-1 (W_in u + b), no search needed");
    series_map *c = calloc(1, sizeof *c);
    if (c) c->net = rnn_alloc(1, N, 1, e->p.leak, RNN_MSE);
    if (!c || !c->net) {
        if (c) series_map_free(c);
        return engram_fail(ENGRAM_ENOMEM, "out of memory");
    }
    c->own.free_ctx = series_map_free;
    esn_w_dense(e, c->net->w_rec);
    memcpy(c->net->w_in, e->w_in, N * sizeof(double));
    memcpy(c->net->b_rec, e->bias, N * sizeof(double));
    c->x = x[0];
    c->ctx.net = c->net;
    c->ctx.x = &c->x;
    map->n = N;
    map->eval = series_map_eval;
    map->ctx = c;
    return ENGRAM_OK;
}
