/* record.c: a trained network rebuilt from its run directory (the rate RNN here, the
 * other networks in grid.c, r2n2_model.c, series.c), seeded test trials with their task
 * variables, and the network's simulation with lesions and perturbations (analysis.h). */
#include <assert.h>
#include <ini.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis_impl.h"
#include "engram/analysis.h"
#include "engram/anbn.h"
#include "engram/cognitive.h"
#include "engram/engram.h"
#include "engram/experiment.h"
#include "engram/learner.h"
#include "engram/npy.h"
#include "engram/rng.h"
#include "engram/tmaze.h"

static int ini_find_experiment(void *user, const char *section, const char *name,
                               const char *value) {
    if (!strcmp(section, "run") && !strcmp(name, "experiment")) snprintf(user, 32, "%s", value);
    return 1;
}

void analysis_model_free(analysis_model *m) {
    if (!m) return;
    config_free(m->cfg);
    task_free(m->tk);
    rnn_free(m->net);
    r2n2_free(m->r2);
    analysis_grid_free(m->grid);
    analysis_series_free(m->series);
    free(m);
}

int analysis_read_named(const char *run_dir, const char *name, double *dst, size_t n) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    double *d;
    size_t nd, sh[NPY_MAX_DIMS], total = 1;
    int st = npy_read(path, &d, &nd, sh);
    if (st != ENGRAM_OK) return -st;
    for (size_t k = 0; k < nd; k++) total *= sh[k];
    if (total != n) {
        free(d);
        return -engram_fail(ENGRAM_EFORMAT, "%s: %zu values, the network needs %zu", path, total, n);
    }
    memcpy(dst, d, n * sizeof *d);
    free(d);
    return 1;
}

static int model_task(analysis_model *m) {
    const config *c = m->cfg;
    if (m->kind == ANALYSIS_TASK_ANBN) {
        m->tk = anbn_task_alloc((size_t)config_int(c, "task.n_min"), (size_t)config_int(c, "task.n_max"));
        m->episode_trials = 1;
    } else if (m->kind == ANALYSIS_TASK_COGNITIVE) {
        cog_params p;
        int st = cog_params_from_config(c, (cog_kind)m->cog, &p);
        if (st != ENGRAM_OK) return st;
        m->tk = cog_task_alloc(&p);
        m->episode_trials = 1;
    } else {
        tmaze_task_params p;
        memset(&p, 0, sizeof p);
        p.variant = strcmp(config_str(c, "task.variant"), "cued") ? TMAZE_ALTERNATION : TMAZE_CUED;
        p.n_trials = (size_t)config_int(c, "task.n_trials");
        p.cue_min = (size_t)config_int(c, "task.cue_min");
        p.cue_max = (size_t)config_int(c, "task.cue_max");
        p.delay_min = (size_t)config_int(c, "task.delay_min");
        p.delay_max = (size_t)config_int(c, "task.delay_max");
        p.branch_min = (size_t)config_int(c, "task.branch_min");
        p.branch_max = (size_t)config_int(c, "task.branch_max");
        p.noise = config_real(c, "task.noise");
        m->tk = tmaze_task_alloc(&p);
        m->episode_trials = p.variant == TMAZE_ALTERNATION ? p.n_trials : 1;
    }
    return m->tk ? ENGRAM_OK : ENGRAM_EINVAL;
}

int analysis_model_load(const char *run_dir, const experiment *(*find)(const char *name),
                        analysis_model **out) {
    *out = NULL;
    char path[PATH_MAX], name[32] = "";
    if (snprintf(path, sizeof path, "%s/config.ini", run_dir) >= (int)sizeof path)
        return engram_fail(ENGRAM_EINVAL, "analysis: run directory name too long");
    FILE *f = fopen(path, "r");
    if (!f) return engram_fail(ENGRAM_EIO, "%s: cannot read (is %s a run directory?)", path, run_dir);
    fclose(f);
    if (ini_parse(path, ini_find_experiment, name) < 0 || !name[0])
        return engram_fail(ENGRAM_EINVAL, "%s: no [run] experiment", path);
    const experiment *e = find(name);
    if (!e) return engram_fail(ENGRAM_EINVAL, "%s: unknown experiment '%s'", path, name);
    analysis_model *m = calloc(1, sizeof *m);
    if (!m) return engram_fail(ENGRAM_ENOMEM, "analysis: out of memory");
    snprintf(m->experiment, sizeof m->experiment, "%s", name);
    const cfg_key *tables[32];
    size_t nt = 0;
    tables[nt++] = config_common_keys;
    for (size_t i = 0; e->tables && e->tables[i] && nt < 31; i++) tables[nt++] = e->tables[i];
    tables[nt] = NULL;
    m->cfg = config_alloc(tables);
    if (!m->cfg) { free(m); return engram_fail(ENGRAM_ENOMEM, "analysis: out of memory"); }
    int st = config_load(m->cfg, path);
    if (st != ENGRAM_OK) { analysis_model_free(m); return st; }
    m->seed = (uint64_t)config_int(m->cfg, "run.seed");
    cog_kind ck;
    if (!strcmp(name, "anbn")) m->kind = ANALYSIS_TASK_ANBN;
    else if (!strcmp(name, "tmaze")) m->kind = ANALYSIS_TASK_TMAZE;
    else if (cog_kind_parse(!strcmp(name, "delayed-response") ? "delayed_response" : name, &ck) == 0) {
        m->kind = ANALYSIS_TASK_COGNITIVE;
        m->cog = (int)ck;
        if (ck == COG_FLIPFLOP) { m->metric_name = "mse"; m->lower_is_better = 1; }
    } else if (!strcmp(name, "gridcells") || !strcmp(name, "mackey-glass") || !strcmp(name, "narma10") ||
               !strcmp(name, "memory-capacity")) {
        st = !strcmp(name, "gridcells") ? analysis_grid_load(m, run_dir) : analysis_series_load(m, run_dir);
        if (st != ENGRAM_OK) { analysis_model_free(m); return st; }
        *out = m;
        return ENGRAM_OK;
    } else {
        analysis_model_free(m);
        return engram_fail(ENGRAM_ERANGE, "analysis: experiment '%s' is not supported (supported: "
                           "anbn, tmaze, the cognitive tasks, gridcells, mackey-glass, narma10)", name);
    }
    snprintf(m->rule, sizeof m->rule, "%s", config_str(m->cfg, "train.rule"));
    if (strcmp(m->rule, "bptt") && strcmp(m->rule, "fa") && strcmp(m->rule, "rflo") &&
        strcmp(m->rule, "esn") && strcmp(m->rule, "r2n2")) {
        st = engram_fail(ENGRAM_ERANGE, "analysis: rule '%s' is not supported (supported: the "
                         "rate-RNN rules bptt, fa, rflo, esn and the r2n2 consolidator)", m->rule);
        analysis_model_free(m);
        return st;
    }
    if ((st = model_task(m)) != ENGRAM_OK) { analysis_model_free(m); return st; }
    if (!strcmp(m->rule, "r2n2")) {
        st = analysis_r2n2_load(m, run_dir);
        if (st != ENGRAM_OK) { analysis_model_free(m); return st; }
        *out = m;
        return ENGRAM_OK;
    }
    rnn_loss_kind loss = strcmp(config_str(m->cfg, "train.loss"), "mse") ? RNN_XENT : RNN_MSE;
    m->net = rnn_alloc(m->tk->n_in, (size_t)config_int(m->cfg, "model.n_rec"), m->tk->n_out,
                       config_real(m->cfg, "model.alpha"), loss);
    if (!m->net) { analysis_model_free(m); return ENGRAM_ENOMEM; }
    rnn *net = m->net;
    size_t N = net->n_rec, I = net->n_in, O = net->n_out;
    /* the named matrices, else the flat parameter block */
    int got = analysis_read_named(run_dir, "w_rec.npy", net->w_rec, N * N);
    if (got == 1) {
        int g2 = analysis_read_named(run_dir, "w_in.npy", net->w_in, N * I);
        int g3 = g2 == 1 ? analysis_read_named(run_dir, "b_rec.npy", net->b_rec, N) : g2;
        int g4 = g3 == 1 ? analysis_read_named(run_dir, "w_out.npy", net->w_out, O * N) : g3;
        int g5 = g4 == 1 ? analysis_read_named(run_dir, "b_out.npy", net->b_out, O) : g4;
        if (g5 != 1) {
            st = g5 < 0 ? -g5 : engram_fail(ENGRAM_EIO, "%s: w_rec.npy without all of w_in.npy, "
                                            "b_rec.npy, w_out.npy, b_out.npy", run_dir);
            analysis_model_free(m);
            return st;
        }
    } else if (got == 0) {
        got = analysis_read_named(run_dir, "weights.npy", net->params, net->n_params);
        if (got != 1) {
            st = got < 0 ? -got : engram_fail(ENGRAM_EIO, "%s: no saved weights (w_rec.npy ... or "
                                              "weights.npy)", run_dir);
            analysis_model_free(m);
            return st;
        }
    } else {
        analysis_model_free(m);
        return -got;
    }
    *out = m;
    return ENGRAM_OK;
}

rnn *analysis_model_untrained(const analysis_model *m) {
    const learner_type *lt = learner_type_find(m->rule);
    if (!lt) { engram_fail(ENGRAM_ERANGE, "analysis: rule '%s' not available", m->rule); return NULL; }
    learner *l = lt->alloc(m->cfg, m->tk->n_in, m->tk->n_out, m->tk->t_max, m->seed);
    if (!l) return NULL;
    ckpt_blob b[8];
    size_t nb = lt->blobs(l, b, 8);
    rnn *net = rnn_alloc(m->net->n_in, m->net->n_rec, m->net->n_out, m->net->alpha, m->net->loss);
    if (net && nb > 0 && b[0].size == net->n_params * sizeof(double)) {
        memcpy(net->params, b[0].data, b[0].size);
    } else if (net) {
        rnn_free(net);
        net = NULL;
        engram_fail(ENGRAM_EFORMAT, "analysis: the %s learner's parameter block has an unexpected size", m->rule);
    }
    lt->free(l);
    return net;
}

/* The task variables of a cognitive family: its cog_info conditions, then the answer,
 * the epoch (0 fixation, 1 stimulus and delay, 2 response) and the step; flipflop: the
 * three target bits and the step. */
static size_t cog_cond_names(int kind, const char **names) {
    static const char *const tab[COG_N_KINDS][ANALYSIS_MAX_COND] = {
        [COG_DECISION] = {"coherence", "answer", "epoch", "t"},
        [COG_DELAYED_RESPONSE] = {"location", "delay", "answer", "epoch", "t"},
        [COG_DMS] = {"sample", "test", "answer", "epoch", "t"},
        [COG_ROMO] = {"f1", "f2", "answer", "epoch", "t"},
        [COG_MANTE] = {"motion", "colour", "context", "answer", "epoch", "t"},
        [COG_GONOGO] = {"go", "answer", "epoch", "t"},
        [COG_FLIPFLOP] = {"bit0", "bit1", "bit2", "t"},
    };
    size_t n = 0;
    while (n < ANALYSIS_MAX_COND && tab[kind][n]) { names[n] = tab[kind][n]; n++; }
    return n;
}

size_t analysis_model_units(const analysis_model *m) {
    return m->n_units ? m->n_units : m->net->n_rec;
}

analysis_rec *analysis_rec_alloc(const analysis_model *m, size_t n_trials) {
    analysis_rec *r = calloc(1, sizeof *r);
    if (!r || n_trials == 0) { free(r); return NULL; }
    size_t K = n_trials, T = m->t_max ? m->t_max : m->tk->t_max;
    size_t I = m->n_in ? m->n_in : m->tk->n_in, O = m->n_out ? m->n_out : m->tk->n_out;
    size_t N = analysis_model_units(m);
    r->n_trials = K; r->t_max = T; r->n_in = I; r->n_out = O; r->n_units = N;
    static const char *const anbn_names[4] = {"count", "position", "symbol", "counter"};
    static const char *const tmaze_names[4] = {"cue_side", "trial", "position", "arm"};
    if (m->kind == ANALYSIS_TASK_ANBN || m->kind == ANALYSIS_TASK_TMAZE) {
        r->n_cond = 4;
        for (size_t c = 0; c < 4; c++)
            r->cond_names[c] = m->kind == ANALYSIS_TASK_ANBN ? anbn_names[c] : tmaze_names[c];
    } else if (m->kind == ANALYSIS_TASK_COGNITIVE) {
        r->n_cond = cog_cond_names(m->cog, r->cond_names);
    } else {
        r->n_cond = m->n_cond;
        for (size_t c = 0; c < m->n_cond; c++) r->cond_names[c] = m->cond_names[c];
    }
    r->n_aux = m->n_aux;
    r->len = calloc(K, sizeof *r->len);
    r->x = calloc(K * T * I, sizeof(double));
    r->y = calloc(K * T * O, sizeof(double));
    r->mask = calloc(K * T, sizeof(double));
    r->act = calloc(K * T * N, sizeof(double));
    r->out = calloc(K * T * O, sizeof(double));
    r->cond = calloc(K * T * r->n_cond, sizeof(double));
    r->aux = calloc(K * r->n_aux + 1, sizeof(double));
    if (!r->len || !r->x || !r->y || !r->mask || !r->act || !r->out || !r->cond || !r->aux) {
        analysis_rec_free(r);
        return NULL;
    }
    return r;
}

void analysis_rec_free(analysis_rec *r) {
    if (!r) return;
    free(r->len); free(r->x); free(r->y); free(r->mask); free(r->act); free(r->out); free(r->cond);
    free(r->aux);
    free(r);
}

static size_t argmax(const double *v, size_t n) {
    size_t b = 0;
    for (size_t k = 1; k < n; k++) if (v[k] > v[b]) b = k;
    return b;
}

void analysis_trials(const analysis_model *m, uint64_t seed, analysis_rec *rec) {
    gsl_rng *r = rng_stream_alloc(seed, "analysis", 0);
    size_t T = rec->t_max, I = rec->n_in, O = rec->n_out, C = rec->n_cond;
    memset(rec->x, 0, rec->n_trials * T * I * sizeof(double));
    memset(rec->y, 0, rec->n_trials * T * O * sizeof(double));
    memset(rec->mask, 0, rec->n_trials * T * sizeof(double));
    memset(rec->cond, 0, rec->n_trials * T * C * sizeof(double));
    if (m->kind == ANALYSIS_TASK_GRID || m->kind == ANALYSIS_TASK_SERIES) {
        if (m->kind == ANALYSIS_TASK_GRID) analysis_grid_trials(m, r, rec);
        else analysis_series_trials(m, rec);
        gsl_rng_free(r);
        return;
    }
    if (m->kind == ANALYSIS_TASK_COGNITIVE) {
        for (size_t k = 0; k < rec->n_trials; k++) {
            double *x = rec->x + k * T * I, *y = rec->y + k * T * O, *cd = rec->cond + k * T * C;
            cog_info in;
            size_t len = cog_trial(m->tk, r, x, y, rec->mask + k * T, &in);
            rec->len[k] = len;
            for (size_t t = 0; t < len; t++) {
                double *c = cd + t * C;
                if (m->cog == COG_FLIPFLOP) {
                    for (size_t q = 0; q < 3; q++) c[q] = y[t * O + q] > 0;
                } else {
                    size_t nc = C - 3;
                    for (size_t q = 0; q < nc; q++) c[q] = in.cond[q];
                    c[nc] = in.answer;
                    c[nc + 1] = t < in.t_stim ? 0 : t < in.t_resp ? 1 : 2;
                }
                c[C - 1] = (double)t;
            }
        }
        gsl_rng_free(r);
        return;
    }
    for (size_t k = 0; k < rec->n_trials; k++) {
        double *x = rec->x + k * T * I, *cd = rec->cond + k * T * C;
        size_t len = m->tk->type->fill(m->tk, r, x, rec->y + k * T * O, rec->mask + k * T);
        rec->len[k] = len;
        if (m->kind == ANALYSIS_TASK_ANBN) {
            size_t n = (len - 1) / 2;
            for (size_t t = 0; t < len; t++) {
                cd[t * C + 0] = (double)n;
                cd[t * C + 1] = (double)t;
                cd[t * C + 2] = (double)argmax(x + t * I, I);
                cd[t * C + 3] = t < n ? (double)(t + 1) : (double)(2 * n - t);
            }
        } else {
            /* the episode's first trial shows its arm by the cue; later trials alternate */
            size_t trials = m->episode_trials, tl = len / trials;
            int cue = argmax(x + 6, 5) == TMAZE_OBS_CUE_RIGHT; /* observation part of x_0 */
            for (size_t t = 0; t < len; t++) {
                size_t tr = t / tl;
                cd[t * C + 0] = cue;
                cd[t * C + 1] = (double)tr;
                cd[t * C + 2] = (double)(t % tl);
                cd[t * C + 3] = (double)((cue + (int)tr) % 2);
            }
        }
    }
    gsl_rng_free(r);
}

void analysis_intervene(const analysis_intervention *iv, size_t t, double *h, size_t n) {
    if (!iv) return;
    if (iv->keep) for (size_t i = 0; i < n; i++) h[i] *= iv->keep[i];
    if (iv->unit >= 0 && (size_t)iv->unit < n && t >= iv->t0 && t < iv->t1) {
        if (iv->mode == ANALYSIS_CLAMP) h[iv->unit] = iv->value;
        else h[iv->unit] += iv->value;
    }
}

void analysis_model_simulate(const analysis_model *m, const analysis_intervention *iv,
                             analysis_rec *rec) {
    switch (m->net_kind) {
    case ANALYSIS_NET_R2N2: analysis_r2n2_simulate(m, iv, rec); break;
    case ANALYSIS_NET_PATHINT_RNN:
    case ANALYSIS_NET_PATHINT_LSTM: analysis_grid_simulate(m, iv, rec); break;
    case ANALYSIS_NET_ESN: analysis_series_simulate(m, iv, rec); break;
    default: analysis_simulate(m->net, iv, rec); break;
    }
}

void analysis_simulate(const rnn *net, const analysis_intervention *iv, analysis_rec *rec) {
    size_t N = net->n_rec, I = net->n_in, O = net->n_out, T = rec->t_max;
    assert(N == rec->n_units && I == rec->n_in && O == rec->n_out);
    double a_buf[4096], *h_prev = NULL;
    double *a = N <= 4096 ? a_buf : malloc(N * sizeof *a);
    if (!a) return;
    memset(rec->act, 0, rec->n_trials * T * N * sizeof(double));
    memset(rec->out, 0, rec->n_trials * T * O * sizeof(double));
    for (size_t k = 0; k < rec->n_trials; k++) {
        for (size_t t = 0; t < rec->len[k]; t++) {
            const double *x = rec->x + (k * T + t) * I;
            double *h = rec->act + (k * T + t) * N, *o = rec->out + (k * T + t) * O;
            h_prev = t ? h - N : NULL;
            for (size_t i = 0; i < N; i++) {
                double s = net->b_rec[i];
                const double *wr = net->w_rec + i * N, *wi = net->w_in + i * I;
                if (h_prev) for (size_t j = 0; j < N; j++) s += wr[j] * h_prev[j];
                for (size_t j = 0; j < I; j++) s += wi[j] * x[j];
                a[i] = s;
            }
            for (size_t i = 0; i < N; i++) {
                double hp = h_prev ? h_prev[i] : 0;
                h[i] = (1 - net->alpha) * hp + net->alpha * tanh(a[i]);
            }
            analysis_intervene(iv, t, h, N);
            double mx = -INFINITY;
            for (size_t q = 0; q < O; q++) {
                double s = net->b_out[q];
                for (size_t j = 0; j < N; j++) s += net->w_out[q * N + j] * h[j];
                o[q] = s;
                if (s > mx) mx = s;
            }
            if (net->loss == RNN_XENT) {
                double z = 0;
                for (size_t q = 0; q < O; q++) { o[q] = exp(o[q] - mx); z += o[q]; }
                for (size_t q = 0; q < O; q++) o[q] /= z;
            }
        }
    }
    if (a != a_buf) free(a);
}

/* Cognitive tasks: the fraction of trials whose argmax of the mean output over the
 * response epoch is the answer; flipflop: the mean squared error per output and counted
 * step. */
static double cog_metric(const analysis_model *m, const analysis_rec *rec) {
    size_t T = rec->t_max, O = rec->n_out, C = rec->n_cond;
    double good = 0, total = 0, mean[64];
    for (size_t k = 0; k < rec->n_trials; k++) {
        const double *o = rec->out + k * T * O, *y = rec->y + k * T * O, *cd = rec->cond + k * T * C;
        if (m->cog == COG_FLIPFLOP) {
            for (size_t t = 0; t < rec->len[k]; t++) {
                double mk = rec->mask[k * T + t];
                for (size_t q = 0; q < O; q++) good += mk * (o[t * O + q] - y[t * O + q]) * (o[t * O + q] - y[t * O + q]);
                total += mk * (double)O;
            }
            continue;
        }
        size_t n = 0;
        for (size_t q = 0; q < O && q < 64; q++) mean[q] = 0;
        for (size_t t = 0; t < rec->len[k]; t++)
            if (cd[t * C + C - 2] == 2) {
                for (size_t q = 0; q < O && q < 64; q++) mean[q] += o[t * O + q];
                n++;
            }
        if (n == 0) continue;
        good += (double)argmax(mean, O < 64 ? O : 64) == cd[C - 3];
        total += 1;
    }
    return total > 0 ? good / total : NAN;
}

double analysis_metric(const analysis_model *m, const analysis_rec *rec) {
    if (m->kind == ANALYSIS_TASK_COGNITIVE) return cog_metric(m, rec);
    if (m->kind == ANALYSIS_TASK_GRID) return analysis_grid_metric(m, rec);
    if (m->kind == ANALYSIS_TASK_SERIES) return analysis_series_metric(m, rec);
    size_t T = rec->t_max, O = rec->n_out;
    double good = 0, total = 0;
    for (size_t k = 0; k < rec->n_trials; k++) {
        const double *o = rec->out + k * T * O, *y = rec->y + k * T * O;
        if (m->kind == ANALYSIS_TASK_ANBN) {
            good += anbn_errors(o, y, rec->len[k], O) <= 1;
            total += 1;
        } else {
            for (size_t t = 0; t < rec->len[k]; t++) {
                if (rec->mask[k * T + t] == 0) continue;
                good += argmax(o + t * O, 4) == argmax(y + t * O, 4);
                total += 1;
            }
        }
    }
    return total > 0 ? good / total : NAN;
}

double analysis_loss(const analysis_rec *rec, rnn_loss_kind loss) {
    size_t T = rec->t_max, O = rec->n_out;
    double total = 0, steps = 0;
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < rec->len[k]; t++) {
            double mk = rec->mask[k * T + t];
            if (mk == 0) continue;
            const double *o = rec->out + (k * T + t) * O, *y = rec->y + (k * T + t) * O;
            for (size_t q = 0; q < O; q++) {
                if (loss == RNN_XENT) { if (y[q] != 0) total -= mk * y[q] * log(o[q]); }
                else total += mk * 0.5 * (o[q] - y[q]) * (o[q] - y[q]);
            }
            steps += mk;
        }
    return steps > 0 ? total / steps : NAN;
}

double analysis_model_loss(const analysis_model *m, const analysis_rec *rec) {
    rnn_loss_kind k;
    switch (m->net_kind) {
    case ANALYSIS_NET_R2N2: k = m->r2_xent ? RNN_XENT : RNN_MSE; break;
    case ANALYSIS_NET_PATHINT_RNN:
    case ANALYSIS_NET_PATHINT_LSTM: k = RNN_XENT; break;
    case ANALYSIS_NET_ESN: k = RNN_MSE; break;
    default: k = m->net->loss; break;
    }
    return analysis_loss(rec, k);
}

void analysis_model_readout(const analysis_model *m, long out, double *norms) {
    switch (m->net_kind) {
    case ANALYSIS_NET_R2N2: analysis_r2n2_readout(m, out, norms); return;
    case ANALYSIS_NET_PATHINT_RNN:
    case ANALYSIS_NET_PATHINT_LSTM: analysis_grid_readout(m, out, norms); return;
    case ANALYSIS_NET_ESN: analysis_series_readout(m, out, norms); return;
    default: break;
    }
    const rnn *net = m->net;
    size_t N = net->n_rec, O = net->n_out;
    for (size_t i = 0; i < N; i++) {
        double s = 0;
        for (size_t q = 0; q < O; q++) s += net->w_out[q * N + i] * net->w_out[q * N + i];
        norms[i] = out >= 0 ? net->w_out[(size_t)out * N + i] : sqrt(s);
    }
}

/* The rate RNN's map with its own copy of the input. */
typedef struct rnn_map_owned {
    analysis_map_owned own;
    analysis_rnn_map ctx;
    double *x;
} rnn_map_owned;

static void rnn_map_free(void *ctx) {
    rnn_map_owned *c = ctx;
    free(c->x);
    free(c);
}

static void rnn_map_eval(const void *ctx, const double *h, double *f, double *jac) {
    const rnn_map_owned *c = ctx;
    analysis_rnn_map_eval(&c->ctx, h, f, jac);
}

int analysis_model_map(const analysis_model *m, const double *x, analysis_map *map) {
    switch (m->net_kind) {
    case ANALYSIS_NET_R2N2: return analysis_r2n2_map(m, x, map);
    case ANALYSIS_NET_PATHINT_RNN:
    case ANALYSIS_NET_PATHINT_LSTM: return analysis_grid_map(m, x, map);
    case ANALYSIS_NET_ESN: return analysis_series_map(m, x, map);
    default: break;
    }
    rnn_map_owned *c = calloc(1, sizeof *c);
    size_t I = m->net->n_in;
    if (c) c->x = malloc((I ? I : 1) * sizeof *c->x);
    if (!c || !c->x) { free(c); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    memcpy(c->x, x, I * sizeof *c->x);
    c->own.free_ctx = rnn_map_free;
    c->ctx.net = m->net;
    c->ctx.x = c->x;
    map->n = m->net->n_rec;
    map->eval = rnn_map_eval;
    map->ctx = c;
    return ENGRAM_OK;
}

void analysis_model_map_free(analysis_map *map) {
    if (!map || !map->ctx) return;
    analysis_map_owned *o = (analysis_map_owned *)(uintptr_t)map->ctx;
    o->free_ctx(o);
    map->ctx = NULL;
}

int analysis_model_set_untrained(analysis_model *m) {
    switch (m->net_kind) {
    case ANALYSIS_NET_R2N2: return analysis_r2n2_untrained(m);
    case ANALYSIS_NET_PATHINT_RNN:
    case ANALYSIS_NET_PATHINT_LSTM: return analysis_grid_untrained(m);
    case ANALYSIS_NET_ESN: return analysis_series_untrained(m);
    default: break;
    }
    rnn *un = analysis_model_untrained(m);
    if (!un) return ENGRAM_EINVAL;
    memcpy(m->net->params, un->params, un->n_params * sizeof(double));
    rnn_free(un);
    return ENGRAM_OK;
}

size_t analysis_rec_rows(const analysis_rec *rec, double *rows) {
    size_t n = 0, N = rec->n_units;
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < rec->len[k]; t++, n++)
            memcpy(rows + n * N, rec->act + (k * rec->t_max + t) * N, N * sizeof(double));
    return n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double analysis_median(const double *v, size_t n) {
    double *w = malloc((n ? n : 1) * sizeof *w);
    if (!w) return NAN;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) if (!isnan(v[i])) w[k++] = v[i];
    double med = NAN;
    if (k) {
        qsort(w, k, sizeof *w, cmp_double);
        med = k % 2 ? w[k / 2] : 0.5 * (w[k / 2 - 1] + w[k / 2]);
    }
    free(w);
    return med;
}
