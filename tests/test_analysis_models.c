/* test_analysis_models.c: oracles for the analyses' loaders and simulators of the
 * networks other than the rate RNN (analysis.h, "Models"): the path integrators (RNN
 * and LSTM cores) against pathint_forward, the R2N2 consolidator against
 * r2n2_forward_step, a lesion of a unit with zero outgoing weights that must change
 * nothing, the state maps' Jacobians against central finite differences, and the
 * cognitive-task metric on outputs equal to the targets. Run directories are written
 * by hand (config.ini plus the named weights) from seeded random weights. */
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engram/analysis.h"
#include "engram/engram.h"
#include "engram/experiment.h"
#include "engram/npy.h"
#include "engram/pathint.h"
#include "engram/r2n2.h"
#include "engram/rng.h"
#include "testhelp.h"

/* Sizes of the toy path integrators: I 2 (allocentric), H 7, Ng 9 (LSTM), P 11, D 3. */
enum { GI = 2, GH = 7, GG = 9, GP = 11, GD = 3, GT = 6 };

static char run_dir[64];
static char names_written[16][40];
static size_t n_written;

static void put(const char *name, const double *v, size_t ndim, size_t a, size_t b) {
    char path[1400];
    size_t sh[2] = {a, b};
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    npy_write(path, v, ndim, sh);
    snprintf(names_written[n_written++], sizeof names_written[0], "%s", name);
}

static void clean_dir(void) {
    char path[1400];
    for (size_t k = 0; k < n_written; k++) {
        snprintf(path, sizeof path, "%s/%s", run_dir, names_written[k]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/config.ini", run_dir);
    unlink(path);
    rmdir(run_dir);
    n_written = 0;
}

/* A config.ini of experiment `name` with the given key=value overrides. */
static void write_config(const char *name, const char *const *sets) {
    snprintf(run_dir, sizeof run_dir, "/tmp/engram_models_XXXXXX");
    if (!mkdtemp(run_dir)) return;
    const experiment *e = experiment_find(name);
    const cfg_key *tables[12] = {config_common_keys};
    size_t nt = 1;
    for (size_t i = 0; e->tables[i]; i++) tables[nt++] = e->tables[i];
    tables[nt] = NULL;
    config *c = config_alloc(tables);
    char kv[96];
    snprintf(kv, sizeof kv, "run.experiment=%s", e->name);
    config_set(c, kv, "test");
    for (size_t k = 0; sets[k]; k++) config_set(c, sets[k], "test");
    char path[1400];
    snprintf(path, sizeof path, "%s/config.ini", run_dir);
    config_write(c, path);
    config_free(c);
}

/* A path integrator with every weight and bias drawn N(0, 0.4^2), saved as the named
 * arrays gridcells writes. */
static pathint *grid_run(int lstm) {
    static const char *const rnn_sets[] = {"model.kind=rnn", "model.n_hidden=7", "model.bias=true",
        "model.activation=tanh", "cells.n_pc=11", "cells.n_hd=3", "train.seq_len=6",
        "input.velocity=allocentric", "cells.pc_sigma=0.3", NULL};
    static const char *const lstm_sets[] = {"model.kind=lstm", "model.n_hidden=7", "model.n_g=9",
        "cells.n_pc=11", "cells.n_hd=3", "train.seq_len=6", "input.velocity=allocentric",
        "cells.pc_sigma=0.3", "model.g_activation=relu", NULL};
    write_config("gridcells", lstm ? lstm_sets : rnn_sets);
    pathint_dims d = {GI, GH, lstm ? GG : GH, GP, GD, lstm ? PATHINT_LSTM : PATHINT_RNN};
    pathint *pi = pathint_alloc(&d, 64, GT);
    pi->bias = !lstm;
    pi->rnn_act = PATHINT_TANH;
    pi->g_act = PATHINT_G_RELU;
    pi->dropout = 0;
    gsl_rng *r = rng_stream_alloc(17, "weights", 0);
    for (size_t k = 0; k < pi->n_params; k++) pi->params[k] = gsl_ran_gaussian(r, 0.4);
    gsl_rng_free(r);
    const size_t H = GH, Ng = d.n_g, PD = GP + GD;
    put("w_enc.npy", pi->w.w_h0, 2, PD, H);
    put("b_enc.npy", pi->w.b_h0, 1, H, 0);
    put("w_out.npy", pi->w.w_pc, 2, Ng, GP);
    put("b_out.npy", pi->w.b_pc, 1, GP, 0);
    put("w_hd.npy", pi->w.w_hd, 2, Ng, GD);
    put("b_hd.npy", pi->w.b_hd, 1, GD, 0);
    if (lstm) {
        put("w_enc_c.npy", pi->w.w_c0, 2, PD, H);
        put("b_enc_c.npy", pi->w.b_c0, 1, H, 0);
        put("w_in.npy", pi->w.lstm.w_x, 2, GI, 4 * H);
        put("w_rec.npy", pi->w.lstm.w_h, 2, H, 4 * H);
        put("b_lstm.npy", pi->w.lstm.b, 1, 4 * H, 0);
        put("w_g.npy", pi->w.w_g, 2, H, Ng);
    } else {
        put("w_in.npy", pi->w.w_in, 2, GI, H);
        put("w_rec.npy", pi->w.w_rec, 2, H, H);
    }
    return pi;
}

/* max |recorded - pathint_forward| over activity (g) and both heads. */
static double grid_vs_forward(pathint *pi, const analysis_rec *rec) {
    const size_t K = rec->n_trials, T = GT, Ng = pi->d.n_g, O = GP + GD, A = rec->n_aux;
    double pc0[64 * GP] = {0}, hd0[64 * GD] = {0}, err = 0;
    for (size_t k = 0; k < K; k++) {
        memcpy(pc0 + k * GP, rec->aux + k * A, GP * sizeof(double));
        memcpy(hd0 + k * GD, rec->aux + k * A + GP, GD * sizeof(double));
    }
    pathint_forward(pi, K, rec->x, pc0, hd0, NULL, NULL, 0, NULL);
    for (size_t k = 0; k < K; k++)
        for (size_t t = 0; t < T; t++) {
            size_t r = t * K + k;
            for (size_t u = 0; u < Ng; u++)
                err = fmax(err, fabs(pi->g[r * Ng + u] - rec->act[(k * T + t) * Ng + u]));
            for (size_t q = 0; q < GP; q++)
                err = fmax(err, fabs(pi->p_pc[r * GP + q] - rec->out[(k * T + t) * O + q]));
            for (size_t q = 0; q < GD; q++)
                err = fmax(err, fabs(pi->p_hd[r * GD + q] - rec->out[(k * T + t) * O + GP + q]));
        }
    return err;
}

/* Zeroes the outgoing weights of unit u (recurrent or g, and both heads), rewrites the
 * run's files, reloads and checks that silencing u changes no output. */
static void grid_silent_unit(pathint *pi, int lstm, size_t u) {
    const size_t H = GH;
    if (!lstm) for (size_t j = 0; j < H; j++) pi->w.w_rec[u * H + j] = 0;
    for (size_t q = 0; q < GP; q++) pi->w.w_pc[u * GP + q] = 0;
    for (size_t q = 0; q < GD; q++) pi->w.w_hd[u * GD + q] = 0;
    char path[1400];
    size_t sh[2] = {pi->d.n_g, GP};
    snprintf(path, sizeof path, "%s/w_out.npy", run_dir); npy_write(path, pi->w.w_pc, 2, sh);
    sh[1] = GD;
    snprintf(path, sizeof path, "%s/w_hd.npy", run_dir); npy_write(path, pi->w.w_hd, 2, sh);
    sh[0] = H; sh[1] = H;
    if (!lstm) { snprintf(path, sizeof path, "%s/w_rec.npy", run_dir); npy_write(path, pi->w.w_rec, 2, sh); }
    analysis_model *m = NULL;
    CHECK(analysis_model_load(run_dir, experiment_find, &m) == ENGRAM_OK, "reload with unit %zu disconnected", u);
    if (!m) return;
    analysis_rec *rec = analysis_rec_alloc(m, 9);
    analysis_trials(m, 4, rec);
    analysis_model_simulate(m, NULL, rec);
    size_t n = rec->n_trials * rec->t_max * rec->n_out;
    double *o0 = malloc(n * sizeof *o0), d_self = 0, d_other = 0;
    memcpy(o0, rec->out, n * sizeof *o0);
    double base = analysis_metric(m, rec), base_loss = analysis_model_loss(m, rec);
    double v = analysis_lesion_group(m, rec, &u, 1);
    for (size_t k = 0; k < n; k++) d_self = fmax(d_self, fabs(rec->out[k] - o0[k]));
    CHECK(d_self == 0 && v == base && analysis_model_loss(m, rec) == base_loss,
          "%s: silencing unit %zu with zero outgoing weights changes no output (max %g), "
          "the decoding error (%.6g cm) nor the loss", lstm ? "LSTM" : "RNN", u, d_self, base);
    size_t w = (u + 1) % pi->d.n_g;
    analysis_lesion_group(m, rec, &w, 1);
    for (size_t k = 0; k < n; k++) d_other = fmax(d_other, fabs(rec->out[k] - o0[k]));
    CHECK(d_other > 1e-6, "silencing a connected unit changes the outputs (max %g)", d_other);
    free(o0);
    analysis_rec_free(rec);
    analysis_model_free(m);
}

static void test_grid_rnn(void) {
    pathint *pi = grid_run(0);
    analysis_model *m = NULL;
    CHECK(analysis_model_load(run_dir, experiment_find, &m) == ENGRAM_OK && m &&
              m->net_kind == ANALYSIS_NET_PATHINT_RNN && analysis_model_units(m) == GH,
          "a gridcells RNN run loads (%s)", m ? "pathint rnn" : engram_error());
    if (!m) { pathint_free(pi); clean_dir(); return; }
    analysis_rec *rec = analysis_rec_alloc(m, 13);
    analysis_trials(m, 3, rec);
    analysis_model_simulate(m, NULL, rec);
    double err = grid_vs_forward(pi, rec);
    CHECK(err < 1e-12, "recorded units and heads equal pathint_forward's (max |diff| %g)", err);
    double e = analysis_metric(m, rec);
    CHECK(e > 0 && e < 100 * 2.2 * sqrt(2.0), "decoding error is a distance in the box (%.3f cm)", e);
    /* the task variables: positions in the bins, head direction in 12 sectors, t */
    int okc = 1;
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < GT; t++) {
            const double *c = rec->cond + (k * GT + t) * 6;
            okc &= c[0] == c[2] * 20 + c[1] && c[1] >= 0 && c[1] < 20 && c[3] >= 0 && c[3] < 12 && c[5] == (double)t;
        }
    CHECK(okc, "task variables: position bin = y * bins + x, heading sector, step");
    /* the state map's Jacobian against central differences */
    analysis_map map = {0, NULL, NULL};
    double x[GI] = {0.013, -0.021}, h[GH], f[GH], fp[GH], fm[GH], jac[GH * GH], worst = 0;
    CHECK(analysis_model_map(m, x, &map) == ENGRAM_OK && map.n == GH, "the RNN core has a state map");
    for (size_t i = 0; i < GH; i++) h[i] = rec->act[(2 * GT + 3) * GH + i];
    map.eval(map.ctx, h, f, jac);
    for (size_t j = 0; j < GH; j++) {
        double hj = h[j], eps = 1e-6;
        h[j] = hj + eps; map.eval(map.ctx, h, fp, NULL);
        h[j] = hj - eps; map.eval(map.ctx, h, fm, NULL);
        h[j] = hj;
        for (size_t i = 0; i < GH; i++) worst = fmax(worst, fabs((fp[i] - fm[i]) / (2 * eps) - jac[i * GH + j]));
    }
    CHECK(worst < 1e-7, "its Jacobian matches central differences (max |diff| %g)", worst);
    analysis_model_map_free(&map);
    analysis_rec_free(rec);
    analysis_model_free(m);
    grid_silent_unit(pi, 0, 4);
    pathint_free(pi);
    clean_dir();
}

static void test_grid_lstm(void) {
    pathint *pi = grid_run(1);
    analysis_model *m = NULL;
    CHECK(analysis_model_load(run_dir, experiment_find, &m) == ENGRAM_OK && m &&
              m->net_kind == ANALYSIS_NET_PATHINT_LSTM && analysis_model_units(m) == GG,
          "a gridcells LSTM run loads; its units are the %d of layer g", GG);
    if (!m) { pathint_free(pi); clean_dir(); return; }
    analysis_rec *rec = analysis_rec_alloc(m, 11);
    analysis_trials(m, 5, rec);
    analysis_model_simulate(m, NULL, rec);
    double err = grid_vs_forward(pi, rec);
    CHECK(err < 1e-12, "recorded g and heads equal pathint_forward's (max |diff| %g)", err);
    analysis_map map = {0, NULL, NULL};
    double x[GI] = {0, 0};
    CHECK(analysis_model_map(m, x, &map) == ENGRAM_ERANGE, "fixedpoints refused: %s", engram_error());
    analysis_rec_free(rec);
    analysis_model_free(m);
    /* a missing bias is refused with one line */
    char path[1400];
    snprintf(path, sizeof path, "%s/b_lstm.npy", run_dir);
    unlink(path);
    CHECK(analysis_model_load(run_dir, experiment_find, &m) == ENGRAM_EIO, "without b_lstm.npy: %s", engram_error());
    size_t sh[1] = {4 * GH};
    npy_write(path, pi->w.lstm.b, 1, sh);
    grid_silent_unit(pi, 1, 2);
    pathint_free(pi);
    clean_dir();
}

static void test_r2n2(void) {
    static const char *const sets[] = {"train.rule=r2n2", "r2n2.n_h=5", "r2n2.tau=7", "task.n_max=3", NULL};
    write_config("anbn", sets);
    const size_t N = 5, I = 3, O = 3;
    r2n2_params p = r2n2_defaults();
    p.n_in = I; p.n_h = N; p.n_out = O; p.tau = 7; p.g_forward = 2.0; p.out_scale = 1.3;
    gsl_rng *r = rng_stream_alloc(5, "weights", 0);
    r2n2_net *net = r2n2_alloc(&p, r);
    gsl_rng_free(r);
    const size_t u = 3; /* A unit 3 sends nothing: column 3 of W_AB */
    for (size_t i = 0; i < N; i++) net->w_ab[i * N + u] = 0;
    put("w_ab.npy", net->w_ab, 2, N, N);
    put("w_ba.npy", net->w_ba, 2, N, N);
    put("w_ia.npy", net->w_ia, 2, N, I);
    put("w_bo.npy", net->w_bo, 2, O, N);
    analysis_model *m = NULL;
    CHECK(analysis_model_load(run_dir, experiment_find, &m) == ENGRAM_OK && m &&
              m->net_kind == ANALYSIS_NET_R2N2 && analysis_model_units(m) == 2 * N,
          "an r2n2 run loads (2N = %zu units)", 2 * N);
    if (!m) { r2n2_free(net); clean_dir(); return; }
    analysis_rec *rec = analysis_rec_alloc(m, 8);
    analysis_trials(m, 2, rec);
    analysis_model_simulate(m, NULL, rec);
    /* the consolidator's own forward pass from the zero state, softmax on o */
    double err = 0, o[3];
    for (size_t k = 0; k < rec->n_trials; k++) {
        r2n2_set_state(net, NULL, NULL);
        for (size_t t = 0; t < rec->len[k]; t++) {
            r2n2_forward_step(net, rec->x + (k * rec->t_max + t) * I, o);
            double mx = fmax(o[0], fmax(o[1], o[2])), z = 0;
            for (size_t q = 0; q < O; q++) { o[q] = exp(o[q] - mx); z += o[q]; }
            const double *s = rec->act + (k * rec->t_max + t) * 2 * N, *ro = rec->out + (k * rec->t_max + t) * O;
            for (size_t i = 0; i < N; i++) err = fmax(err, fmax(fabs(s[i] - net->a[i]), fabs(s[N + i] - net->b[i])));
            for (size_t q = 0; q < O; q++) err = fmax(err, fabs(ro[q] - o[q] / z));
        }
    }
    CHECK(err < 1e-12, "recorded [a; b] and outputs equal r2n2_forward_step's (max |diff| %g)", err);
    size_t n = rec->n_trials * rec->t_max * O;
    double *o0 = malloc(n * sizeof *o0), d = 0;
    memcpy(o0, rec->out, n * sizeof *o0);
    analysis_lesion_group(m, rec, &u, 1);
    for (size_t k = 0; k < n; k++) d = fmax(d, fabs(rec->out[k] - o0[k]));
    CHECK(d == 0, "silencing A unit %zu, which W_AB ignores, changes no output (max %g)", u, d);
    size_t v = N + 1;
    analysis_lesion_group(m, rec, &v, 1);
    d = 0;
    for (size_t k = 0; k < n; k++) d = fmax(d, fabs(rec->out[k] - o0[k]));
    CHECK(d > 1e-6, "silencing B unit 1 does (max %g)", d);
    /* Jacobian of one consolidator step against central differences */
    analysis_map map = {0, NULL, NULL};
    double x[3] = {0, 1, 0}, h[10], f[10], fp[10], fm[10], jac[100], worst = 0;
    CHECK(analysis_model_map(m, x, &map) == ENGRAM_OK && map.n == 2 * N, "r2n2 has a state map");
    for (size_t i = 0; i < 2 * N; i++) h[i] = 0.7 * sin(1.3 * (double)i + 0.4);
    map.eval(map.ctx, h, f, jac);
    for (size_t j = 0; j < 2 * N; j++) {
        double hj = h[j], eps = 1e-6;
        h[j] = hj + eps; map.eval(map.ctx, h, fp, NULL);
        h[j] = hj - eps; map.eval(map.ctx, h, fm, NULL);
        h[j] = hj;
        for (size_t i = 0; i < 2 * N; i++) worst = fmax(worst, fabs((fp[i] - fm[i]) / (2 * eps) - jac[i * 2 * N + j]));
    }
    CHECK(worst < 1e-8, "its Jacobian matches central differences (max |diff| %g)", worst);
    /* F itself is one r2n2_forward_step */
    r2n2_set_state(net, h, h + N);
    r2n2_forward_step(net, x, NULL);
    double ef = 0;
    for (size_t i = 0; i < N; i++) ef = fmax(ef, fmax(fabs(f[i] - net->a[i]), fabs(f[N + i] - net->b[i])));
    CHECK(ef < 1e-14, "and the map is r2n2_forward_step (max |diff| %g)", ef);
    analysis_model_map_free(&map);
    free(o0);
    analysis_rec_free(rec);
    analysis_model_free(m);
    r2n2_free(net);
    clean_dir();
}

static void test_cognitive_metric(void) {
    static const char *const sets[] = {"model.n_rec=4", NULL};
    const char *tasks[] = {"decision", "mante", "dms", "flipflop"};
    for (size_t q = 0; q < 4; q++) {
        static const char *const ff[] = {"model.n_rec=4", "train.loss=mse", NULL};
        write_config(tasks[q], q == 3 ? ff : sets);
        analysis_model *m0 = NULL;
        int st = analysis_model_load(run_dir, experiment_find, &m0);
        CHECK(st == ENGRAM_EIO, "%s: a run without weights is refused (%s)", tasks[q], engram_error());
        analysis_model_free(m0);
        /* weights: any values; the metric is checked on outputs set to the targets */
        size_t I = q == 1 ? 7 : q == 2 ? 5 : 3, O = q == 3 ? 3 : 3, N = 4;
        double w[64] = {0};
        put("w_rec.npy", w, 2, N, N);
        put("w_in.npy", w, 2, N, I);
        put("b_rec.npy", w, 1, N, 0);
        put("w_out.npy", w, 2, O, N);
        put("b_out.npy", w, 1, O, 0);
        analysis_model *m = NULL;
        CHECK(analysis_model_load(run_dir, experiment_find, &m) == ENGRAM_OK && m, "%s loads", tasks[q]);
        if (!m) { clean_dir(); continue; }
        analysis_rec *rec = analysis_rec_alloc(m, 40);
        analysis_trials(m, 6, rec);
        memcpy(rec->out, rec->y, rec->n_trials * rec->t_max * rec->n_out * sizeof(double));
        double v = analysis_metric(m, rec);
        CHECK(q == 3 ? v == 0 : v == 1, "%s: outputs equal to the targets score %s = %g", tasks[q],
              m->metric_name ? m->metric_name : "accuracy", v);
        analysis_rec_free(rec);
        analysis_model_free(m);
        clean_dir();
    }
}

static const test_case tests[] = {
    {"grid_rnn", test_grid_rnn},
    {"grid_lstm", test_grid_lstm},
    {"r2n2", test_r2n2},
    {"cognitive_metric", test_cognitive_metric},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
