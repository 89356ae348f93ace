/* test_analysis.c: oracles for the analyses of trained networks (analysis.h): PCA on
 * data of known covariance, a lesion that cannot matter, fixed points of a linear map
 * and of a tanh network in closed form, the stable points of a trained 2-bit flip-flop,
 * and encoding models on synthetic data with a known map and noise level. */
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engram/analysis.h"
#include "engram/anbn.h"
#include "engram/engram.h"
#include "engram/experiment.h"
#include "engram/npy.h"
#include "engram/optim.h"
#include "engram/rng.h"
#include "engram/tmaze.h"
#include "testhelp.h"

/* A rotation-like orthogonal (3, 3) matrix Q from two Givens angles (row-major). */
static void orthogonal3(double a, double b, double *q) {
    double ca = cos(a), sa = sin(a), cb = cos(b), sb = sin(b);
    double r1[9] = {ca, -sa, 0, sa, ca, 0, 0, 0, 1}, r2[9] = {1, 0, 0, 0, cb, -sb, 0, sb, cb};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            q[i * 3 + j] = 0;
            for (int k = 0; k < 3; k++) q[i * 3 + j] += r1[i * 3 + k] * r2[k * 3 + j];
        }
}

/* m = Q diag(d) Q^T for the (3, 3) Q. */
static void qdq(const double *q, const double *d, double *m) {
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            m[i * 3 + j] = 0;
            for (int k = 0; k < 3; k++) m[i * 3 + j] += q[i * 3 + k] * d[k] * q[j * 3 + k];
        }
}

static void test_pca_known_covariance(void) {
    /* rows x = Q diag(sqrt(lambda)) z, z ~ N(0, I): covariance Q diag(lambda) Q^T */
    const double lam[3] = {4.0, 2.385, 0.25};
    double q[9];
    orthogonal3(0.7, -1.1, q);
    size_t M = 20000;
    double *x = malloc(M * 3 * sizeof *x), ev[3], vec[9];
    gsl_rng *r = rng_stream_alloc(11, "test", 0);
    for (size_t i = 0; i < M; i++) {
        double z[3];
        for (int k = 0; k < 3; k++) z[k] = gsl_ran_gaussian(r, sqrt(lam[k])) + (k == 0 ? 3.2 : 0);
        for (int a = 0; a < 3; a++) {
            x[i * 3 + a] = 0;
            for (int k = 0; k < 3; k++) x[i * 3 + a] += q[a * 3 + k] * z[k];
        }
    }
    CHECK(analysis_pca(x, M, 3, ev, vec) == ENGRAM_OK, "pca runs on (20000, 3)");
    /* the sample eigenvalue's standard error is lambda sqrt(2 / M) */
    for (int k = 0; k < 3; k++) {
        char what[64];
        snprintf(what, sizeof what, "eigenvalue %d (4 standard errors)", k);
        CHECK_CLOSE(ev[k], lam[k], 4 * lam[k] * sqrt(2.0 / (double)M), what);
    }
    for (int k = 0; k < 3; k++) {
        double c = 0;
        for (int a = 0; a < 3; a++) c += vec[a * 3 + k] * q[a * 3 + k];
        CHECK(fabs(c) > 0.99, "component %d aligned with the true axis: |cos| = %.5f", k, fabs(c));
    }
    double pr = analysis_participation_ratio(lam, 3), s = 4 + 2.385 + 0.25;
    CHECK_CLOSE(pr, s * s / (16 + 2.385 * 2.385 + 0.0625), 1e-12, "participation ratio closed form");
    CHECK(analysis_pca(x, 1, 3, ev, vec) == ENGRAM_EINVAL, "pca refuses a single row");
    gsl_rng_free(r);
    free(x);
}

/* A model on the AnBn task with a random network of N units (no run directory). */
static analysis_model *toy_model(size_t N, uint64_t seed) {
    analysis_model *m = calloc(1, sizeof *m);
    m->kind = ANALYSIS_TASK_ANBN;
    m->tk = anbn_task_alloc(1, 4);
    m->net = rnn_alloc(3, N, 3, 1.0, RNN_XENT);
    gsl_rng *r = rng_stream_alloc(seed, "weights", 0);
    rnn_init(m->net, r, 1.3, 1.0);
    for (size_t k = 0; k < N; k++) m->net->b_rec[k] = gsl_ran_gaussian(r, 0.3);
    gsl_rng_free(r);
    return m;
}

static void test_lesion_silent_unit(void) {
    analysis_model *m = toy_model(12, 3);
    rnn *net = m->net;
    size_t N = 12, u = 5;
    for (size_t i = 0; i < N; i++) net->w_rec[i * N + u] = 0; /* no outgoing recurrent weights */
    for (size_t k = 0; k < 3; k++) net->w_out[k * N + u] = 0; /* no readout weights */
    analysis_rec *rec = analysis_rec_alloc(m, 64);
    analysis_trials(m, 5, rec);
    analysis_simulate(net, NULL, rec);
    size_t n = rec->n_trials * rec->t_max;
    double *out0 = malloc(n * 3 * sizeof *out0);
    memcpy(out0, rec->out, n * 3 * sizeof *out0);
    double delta[12], dloss[12];
    CHECK(analysis_lesion_units(m, rec, delta, dloss) == ENGRAM_OK, "lesion scan runs");
    CHECK(delta[u] == 0 && dloss[u] == 0, "silencing a unit with zero outgoing weights changes the "
          "metric by %g and the loss by %g", delta[u], dloss[u]);
    CHECK(dloss[2] != 0, "silencing a connected unit changes the loss (by %.4g)", dloss[2]);
    analysis_lesion_group(m, rec, &u, 1);
    double dmax = 0, dother = 0;
    for (size_t k = 0; k < n * 3; k++) dmax = fmax(dmax, fabs(rec->out[k] - out0[k]));
    CHECK(dmax == 0, "and leaves every output unchanged (max |change| %g)", dmax);
    size_t v = 2;
    analysis_lesion_group(m, rec, &v, 1);
    for (size_t k = 0; k < n * 3; k++) dother = fmax(dother, fabs(rec->out[k] - out0[k]));
    CHECK(dother > 1e-3, "silencing a connected unit does change the outputs (max |change| %g)", dother);
    /* the simulation without intervention equals rnn_step */
    analysis_simulate(net, NULL, rec);
    double h[12], hp[12] = {0}, o[3], err = 0;
    for (size_t t = 0; t < rec->len[0]; t++) {
        rnn_step(net, hp, rec->x + t * 3, h, o);
        for (size_t i = 0; i < N; i++) err = fmax(err, fabs(h[i] - rec->act[t * N + i]));
        for (size_t k = 0; k < 3; k++) err = fmax(err, fabs(o[k] - rec->out[t * 3 + k]));
        memcpy(hp, h, sizeof h);
    }
    CHECK(err < 1e-12, "recorded activity and outputs equal rnn_step's (max |diff| %g)", err);
    /* clamping a unit in a window sets exactly that unit there */
    analysis_intervention iv = {NULL, 4, 1, 3, ANALYSIS_CLAMP, 0.777};
    analysis_simulate(net, &iv, rec);
    CHECK(rec->act[1 * N + 4] == 0.777 && rec->act[2 * N + 4] == 0.777 && rec->act[3 * N + 4] != 0.777,
          "a clamp holds the unit at its value inside [t0, t1) only");
    free(out0);
    analysis_rec_free(rec);
    analysis_model_free(m);
}

/* F(h) = A h + c for a (3, 3) A. */
typedef struct linear_map { double a[9], c[3]; } linear_map;
static void linear_eval(const void *ctx, const double *h, double *f, double *jac) {
    const linear_map *l = ctx;
    for (int i = 0; i < 3; i++) {
        f[i] = l->c[i];
        for (int j = 0; j < 3; j++) f[i] += l->a[i * 3 + j] * h[j];
    }
    if (jac) memcpy(jac, l->a, sizeof l->a);
}

static void test_fixedpoints_linear(void) {
    double q[9];
    orthogonal3(0.4, 1.3, q);
    const double d_sets[2][3] = {{0.5, -0.3, 0.8}, {0.5, -0.3, 1.4}};
    for (int set = 0; set < 2; set++) {
        linear_map l = {{0}, {0.37, -1.2, 2.385}};
        qdq(q, d_sets[set], l.a);
        /* h* = Q (I - D)^-1 Q^T c */
        double inv[3], hstar[9], want[3];
        for (int k = 0; k < 3; k++) inv[k] = 1 / (1 - d_sets[set][k]);
        qdq(q, inv, hstar);
        for (int i = 0; i < 3; i++) {
            want[i] = 0;
            for (int j = 0; j < 3; j++) want[i] += hstar[i * 3 + j] * l.c[j];
        }
        analysis_map map = {3, linear_eval, &l};
        double starts[9] = {0, 0, 0, 1.5, -2, 0.3, -3, 4, 1};
        analysis_fp *fp = analysis_fp_alloc(8, 3);
        analysis_fp_params p = analysis_fp_defaults();
        CHECK(analysis_fixedpoints(&map, starts, 3, &p, fp) == ENGRAM_OK, "linear map %d: search runs", set);
        CHECK(fp->n == 1, "linear map %d: the three starts give one point (found %zu)", set, fp->n);
        double err = 0;
        for (int i = 0; i < 3; i++) err = fmax(err, fabs(fp->h[i] - want[i]));
        CHECK(err < 1e-4, "linear map %d: point = (I - A)^-1 c (max |diff| %.2g)", set, err);
        const double sorted[2][3] = {{0.8, 0.5, 0.3}, {1.4, 0.5, 0.3}};
        double eerr = 0;
        for (int k = 0; k < 3; k++)
            eerr = fmax(eerr, fabs(hypot(fp->eig[2 * k], fp->eig[2 * k + 1]) - sorted[set][k]));
        CHECK(eerr < 1e-10, "linear map %d: |eigenvalues| of J are those of A (max |diff| %.2g)", set, eerr);
        CHECK(fp->kind[0] == (set == 0 ? ANALYSIS_FP_STABLE : ANALYSIS_FP_UNSTABLE),
              "linear map %d: classified %s", set, set == 0 ? "stable" : "unstable");
        analysis_fp_free(fp);
    }
}

static void test_fixedpoints_tanh_zero(void) {
    /* b = 0 and x = 0: h = 0 is fixed with J_F = (1 - alpha) I + alpha W */
    rnn *net = rnn_alloc(1, 3, 1, 0.4, RNN_MSE);
    double q[9], d[3] = {0.9, -0.6, 0.2};
    orthogonal3(-0.3, 0.9, q);
    qdq(q, d, net->w_rec);
    analysis_rnn_map ctx = {net, NULL};
    analysis_map map = {3, analysis_rnn_map_eval, &ctx};
    double starts[3] = {0.05, -0.02, 0.03};
    analysis_fp *fp = analysis_fp_alloc(4, 3);
    analysis_fp_params p = analysis_fp_defaults();
    p.q_tol = 1e-14;
    analysis_fixedpoints(&map, starts, 1, &p, fp);
    CHECK(fp->n == 1 && fabs(fp->h[0]) + fabs(fp->h[1]) + fabs(fp->h[2]) < 1e-5,
          "tanh network: the search converges to h = 0 (found %zu)", fp->n);
    const double want[3] = {0.6 + 0.4 * 0.9, 0.6 + 0.4 * 0.2, 0.6 - 0.4 * 0.6}; /* by modulus */
    double err = 0;
    for (int k = 0; k < 3 && fp->n; k++) err = fmax(err, fabs(fp->eig[2 * k] - want[k]) + fabs(fp->eig[2 * k + 1]));
    CHECK(fp->n && err < 1e-6, "tanh network: eigenvalues (1 - alpha) + alpha d (max |diff| %.2g)", err);
    /* the analytic gradient against central differences of q at a generic point */
    double h[3] = {0.3, -0.7, 0.2385}, f[3], jac[9], g[3];
    analysis_rnn_map_eval(&ctx, h, f, jac);
    for (int j = 0; j < 3; j++) {
        g[j] = -(f[j] - h[j]);
        for (int i = 0; i < 3; i++) g[j] += jac[i * 3 + j] * (f[i] - h[i]);
    }
    double fd_err = 0;
    for (int j = 0; j < 3; j++) {
        double hp[3], hm[3], fp_[3], fm[3], qp = 0, qm = 0, eps = 1e-6;
        memcpy(hp, h, sizeof h); memcpy(hm, h, sizeof h);
        hp[j] += eps; hm[j] -= eps;
        analysis_rnn_map_eval(&ctx, hp, fp_, NULL);
        analysis_rnn_map_eval(&ctx, hm, fm, NULL);
        for (int i = 0; i < 3; i++) {
            qp += 0.5 * (fp_[i] - hp[i]) * (fp_[i] - hp[i]);
            qm += 0.5 * (fm[i] - hm[i]) * (fm[i] - hm[i]);
        }
        fd_err = fmax(fd_err, fabs((qp - qm) / (2 * eps) - g[j]));
    }
    CHECK(fd_err < 1e-8, "grad q = (J_F - I)^T (F - h) matches central differences (max |diff| %.2g)", fd_err);
    analysis_fp_free(fp);
    rnn_free(net);
}

/* One 2-bit flip-flop trial: pulses +-1 on each channel (both at t = 0, then with
 * probability 0.15 per step); target = the sign of the channel's last pulse. */
static void flipflop_trial(gsl_rng *r, size_t T, double *x, double *y, double *mask) {
    double state[2] = {0, 0};
    for (size_t t = 0; t < T; t++) {
        for (int c = 0; c < 2; c++) {
            double v = 0;
            if (t == 0 || gsl_rng_uniform(r) < 0.15) v = gsl_rng_uniform(r) < 0.5 ? -1 : 1;
            x[t * 2 + c] = v;
            if (v != 0) state[c] = v;
            y[t * 2 + c] = state[c];
        }
        mask[t] = 1;
    }
}

static void test_flipflop_stable_points(void) {
    size_t N = 24, T = 30, B = 32, steps = 700;
    rnn *net = rnn_alloc(2, N, 2, 1.0, RNN_MSE);
    gsl_rng *rw = rng_stream_alloc(2, "weights", 0), *rd = rng_stream_alloc(2, "data", 0);
    rnn_init(net, rw, 0.9, 1.0);
    task tk = {NULL, 2, 2, T, NULL};
    trial_batch *b = trial_batch_alloc(B, &tk);
    rnn_work *w = rnn_work_alloc(net, B, T);
    double *wt = malloc((N * N + N * 2) * sizeof *wt);
    optim_params op = optim_defaults(OPTIM_ADAM);
    op.lr = 0.01;
    op.clip_norm = 1;
    optim *opt = optim_alloc(&op, net->n_params);
    double loss = 0;
    for (size_t s = 0; s < steps; s++) {
        memset(b->x, 0, B * T * 2 * sizeof(double));
        for (size_t i = 0; i < B; i++) {
            b->len[i] = T;
            flipflop_trial(rd, T, b->x + i * T * 2, b->y + i * T * 2, b->mask + i * T);
        }
        rnn_forward(net, b, w);
        loss = rnn_loss(net, b, w);
        rnn_transpose_weights(net, wt + N * 2, wt);
        rnn_backward(net, b, w, wt, wt + N * 2, 0, net->grads);
        optim_step(opt, net->params, net->grads);
    }
    CHECK(loss < 0.05, "2-bit flip-flop trained by BPTT: final batch loss %.4f < 0.05", loss);
    /* starts: states visited on the last batch */
    size_t n_start = 64;
    double *starts = malloc(n_start * N * sizeof *starts);
    for (size_t k = 0; k < n_start; k++)
        memcpy(starts + k * N, w->h + ((k % B) * T + (k * 7) % T) * N, N * sizeof(double));
    analysis_rnn_map ctx = {net, NULL}; /* zero input: the memory condition */
    analysis_map map = {N, analysis_rnn_map_eval, &ctx};
    analysis_fp *fp = analysis_fp_alloc(64, N);
    analysis_fp_params p = analysis_fp_defaults();
    p.dedup_tol = 0.05;
    analysis_fixedpoints(&map, starts, n_start, &p, fp);
    int quad[4] = {0, 0, 0, 0};
    size_t n_stable = 0;
    for (size_t k = 0; k < fp->n; k++) {
        if (fp->kind[k] != ANALYSIS_FP_STABLE) continue;
        n_stable++;
        double o[2];
        for (int c = 0; c < 2; c++) {
            o[c] = net->b_out[c];
            for (size_t j = 0; j < N; j++) o[c] += net->w_out[c * N + j] * fp->h[k * N + j];
        }
        if (fabs(o[0]) > 0.5 && fabs(o[1]) > 0.5) quad[(o[0] > 0) * 2 + (o[1] > 0)] = 1;
    }
    CHECK(quad[0] && quad[1] && quad[2] && quad[3],
          "stable points read out as all four memories (+-1, +-1): %zu points, %zu stable, "
          "quadrants %d%d%d%d", fp->n, n_stable, quad[0], quad[1], quad[2], quad[3]);
    analysis_fp_free(fp);
    free(starts); free(wt);
    optim_free(opt); rnn_work_free(w); trial_batch_free(b); rnn_free(net);
    gsl_rng_free(rw); gsl_rng_free(rd);
}

static void test_encode_synthetic(void) {
    size_t S = 1500, F = 8, M = 20, R = 4;
    double noise = 1.0;
    double *x = malloc(S * F * sizeof *x), *x2 = malloc(S * F * sizeof *x2), *y = malloc(S * M * R * sizeof *y);
    double r[20], c[20], lam[20];
    gsl_rng *g = rng_stream_alloc(4, "test", 0);
    for (size_t k = 0; k < S * F; k++) { x[k] = gsl_ran_gaussian(g, 1.0); x2[k] = gsl_ran_gaussian(g, 1.0); }
    CHECK(analysis_encode_synthetic(x, S, F, M, R, noise, g, y) == ENGRAM_OK, "synthetic responses");
    analysis_encode_params p = analysis_encode_defaults();
    CHECK(analysis_encode(x, S, F, y, M, R, &p, r, c, lam) == ENGRAM_OK, "encode runs");
    /* ceiling 1 / (1 + sigma^2 / R) = 0.8; a perfect model's r = sqrt(0.8) = 0.894; the
     * standard error of one r is about (1 - r^2) / sqrt(S) = 0.005 */
    double want_c = 1 / (1 + noise * noise / (double)R);
    CHECK_CLOSE(analysis_median(c, M), want_c, 0.02, "median split-half ceiling vs 1 / (1 + sigma^2 / R)");
    CHECK_CLOSE(analysis_median(r, M), sqrt(want_c), 0.02, "median held-out r vs sqrt(ceiling)");
    CHECK(analysis_encode(x2, S, F, y, M, R, &p, r, c, lam) == ENGRAM_OK && fabs(analysis_median(r, M)) < 0.1,
          "unrelated features: median r %.3f near 0", analysis_median(r, M));
    CHECK(analysis_encode(x, 10, F, y, M, R, &p, r, c, lam) == ENGRAM_EINVAL, "too few stimuli refused");
    gsl_rng_free(g);
    free(x); free(x2); free(y);
}

static void test_tuning_known(void) {
    /* unit 0 = count exactly (eta^2 = 1 for count), unit 1 = position */
    analysis_model *m = toy_model(2, 9);
    analysis_rec *rec = analysis_rec_alloc(m, 40);
    analysis_trials(m, 1, rec);
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < rec->len[k]; t++) {
            rec->act[(k * rec->t_max + t) * 2] = 0.1 * rec->cond[(k * rec->t_max + t) * 4 + 0];
            rec->act[(k * rec->t_max + t) * 2 + 1] = 0.2 * rec->cond[(k * rec->t_max + t) * 4 + 1];
        }
    double eta[8];
    CHECK(analysis_tuning(rec, eta) == ENGRAM_OK, "tuning runs");
    CHECK_CLOSE(eta[0 * 4 + 0], 1.0, 1e-12, "unit equal to the count: eta^2(count) = 1");
    CHECK_CLOSE(eta[1 * 4 + 1], 1.0, 1e-12, "unit equal to the position: eta^2(position) = 1");
    CHECK(eta[0 * 4 + 2] < 1, "the count unit is not fully explained by the input symbol (%.3f)", eta[2]);
    analysis_rec_free(rec);
    analysis_model_free(m);
}

static void test_model_load(void) {
    /* a run directory written by hand: config.ini of the anbn experiment and weights.npy */
    char dir[] = "/tmp/engram_analysis_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temporary run directory");
    const experiment *e = experiment_find("anbn");
    const cfg_key *tables[8] = {config_common_keys};
    size_t nt = 1;
    for (size_t i = 0; e->tables[i]; i++) tables[nt++] = e->tables[i];
    tables[nt] = NULL;
    config *c = config_alloc(tables);
    config_set(c, "run.experiment=anbn", "test");
    config_set(c, "model.n_rec=7", "test");
    char path[256];
    snprintf(path, sizeof path, "%s/config.ini", dir);
    config_write(c, path);
    analysis_model *m;
    CHECK(analysis_model_load(dir, experiment_find, &m) == ENGRAM_EIO, "no weights: refused (%s)", engram_error());
    /* reference weights: the rate-RNN initialisation from the run's "weights" stream */
    rnn *ref = rnn_alloc(3, 7, 3, 1, RNN_XENT);
    gsl_rng *rw = rng_stream_alloc(1, "weights", 0);
    rnn_init(ref, rw, config_real(c, "model.gain"), config_real(c, "model.input_scale"));
    gsl_rng_free(rw);
    for (size_t k = 0; k < ref->n_params; k++) ref->params[k] += 0.001 * (double)k;
    size_t sh[1] = {ref->n_params};
    snprintf(path, sizeof path, "%s/weights.npy", dir);
    npy_write(path, ref->params, 1, sh);
    CHECK(analysis_model_load(dir, experiment_find, &m) == ENGRAM_OK, "flat weights.npy loads");
    int same = m && !memcmp(m->net->params, ref->params, ref->n_params * sizeof(double));
    CHECK(same, "flat layout: parameters identical");
    rnn *un = m ? analysis_model_untrained(m) : NULL;
    double dsum = 0;
    for (size_t k = 0; un && k < un->n_params; k++) dsum += fabs(un->params[k] + 0.001 * (double)k - ref->params[k]);
    CHECK(un && dsum < 1e-12, "untrained network = rnn_init from the seed's weights stream (sum |diff| %g)", dsum);
    rnn_free(un);
    analysis_model_free(m);
    /* named matrices win over the flat block */
    size_t N = 7, I = 3, O = 3, s2[2];
    s2[0] = N; s2[1] = N; snprintf(path, sizeof path, "%s/w_rec.npy", dir); npy_write(path, ref->w_rec, 2, s2);
    s2[1] = I; snprintf(path, sizeof path, "%s/w_in.npy", dir); npy_write(path, ref->w_in, 2, s2);
    snprintf(path, sizeof path, "%s/b_rec.npy", dir); npy_write(path, ref->b_rec, 1, s2);
    s2[0] = O; s2[1] = N; snprintf(path, sizeof path, "%s/w_out.npy", dir); npy_write(path, ref->w_out, 2, s2);
    CHECK(analysis_model_load(dir, experiment_find, &m) == ENGRAM_EIO, "named matrices without b_out.npy: refused");
    snprintf(path, sizeof path, "%s/b_out.npy", dir); npy_write(path, ref->b_out, 1, s2);
    snprintf(path, sizeof path, "%s/weights.npy", dir); unlink(path);
    CHECK(analysis_model_load(dir, experiment_find, &m) == ENGRAM_OK && !memcmp(m->net->params, ref->params, ref->n_params * sizeof(double)),
          "named matrices load to the same parameters");
    analysis_model_free(m);
    s2[0] = 2; snprintf(path, sizeof path, "%s/b_out.npy", dir); npy_write(path, ref->b_out, 1, s2);
    CHECK(analysis_model_load(dir, experiment_find, &m) == ENGRAM_EFORMAT, "a wrongly sized matrix is refused (%s)", engram_error());
    const char *names[] = {"w_rec", "w_in", "b_rec", "w_out", "b_out", "config"};
    for (size_t k = 0; k < 6; k++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, names[k], k < 5 ? "npy" : "ini");
        unlink(path);
    }
    rmdir(dir);
    rnn_free(ref);
    config_free(c);
}

static void test_tmaze_conditions(void) {
    /* a tmaze run directory with named matrices; the task variables against the scripted
     * actions: the arm each trial runs to must be the recorded "arm" */
    char dir[] = "/tmp/engram_analysis_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temporary run directory");
    const experiment *e = experiment_find("tmaze");
    const cfg_key *tables[8] = {config_common_keys};
    size_t nt = 1;
    for (size_t i = 0; e->tables[i]; i++) tables[nt++] = e->tables[i];
    tables[nt] = NULL;
    config *c = config_alloc(tables);
    config_set(c, "run.experiment=tmaze", "test");
    config_set(c, "train.rule=bptt", "test");
    config_set(c, "train.loss=mse", "test");
    config_set(c, "model.n_rec=5", "test");
    char path[256];
    snprintf(path, sizeof path, "%s/config.ini", dir);
    config_write(c, path);
    rnn *ref = rnn_alloc(11, 5, 11, 1, RNN_MSE);
    gsl_rng *rw = rng_stream_alloc(1, "weights", 0);
    rnn_init(ref, rw, 1, 1);
    gsl_rng_free(rw);
    size_t N = 5, I = 11, O = 11, s2[2];
    s2[0] = N; s2[1] = N; snprintf(path, sizeof path, "%s/w_rec.npy", dir); npy_write(path, ref->w_rec, 2, s2);
    s2[1] = I; snprintf(path, sizeof path, "%s/w_in.npy", dir); npy_write(path, ref->w_in, 2, s2);
    snprintf(path, sizeof path, "%s/b_rec.npy", dir); npy_write(path, ref->b_rec, 1, s2);
    s2[0] = O; s2[1] = N; snprintf(path, sizeof path, "%s/w_out.npy", dir); npy_write(path, ref->w_out, 2, s2);
    snprintf(path, sizeof path, "%s/b_out.npy", dir); npy_write(path, ref->b_out, 1, s2);
    analysis_model *m = NULL;
    CHECK(analysis_model_load(dir, experiment_find, &m) == ENGRAM_OK && m->kind == ANALYSIS_TASK_TMAZE && m->episode_trials == 2,
          "a tmaze run with named matrices loads (alternation, 2 trials per episode)");
    if (m) {
        analysis_rec *rec = analysis_rec_alloc(m, 30);
        analysis_trials(m, 2, rec);
        size_t T = rec->t_max, bad = 0, sides[2] = {0, 0};
        for (size_t k = 0; k < rec->n_trials; k++) {
            for (size_t t = 0; t + 1 < rec->len[k]; t++) {
                const double *y = rec->y + (k * T + t) * O, *cd = rec->cond + (k * T + t) * 4;
                size_t a = 0;
                for (size_t q = 1; q < 4; q++) if (y[q] > y[a]) a = q;
                /* a sideways move goes to the trial's arm: left = 0, right = 2 */
                if (rec->mask[k * T + t] != 0 && (a == TMAZE_LEFT || a == TMAZE_RIGHT))
                    bad += (a == TMAZE_RIGHT) != (cd[3] == 1);
            }
            sides[(size_t)rec->cond[k * T * 4]]++;
        }
        CHECK(bad == 0, "every sideways scripted move goes to the recorded arm (%zu mismatches)", bad);
        CHECK(sides[0] > 0 && sides[1] > 0, "both cue sides occur (%zu left, %zu right)", sides[0], sides[1]);
        analysis_simulate(m->net, NULL, rec);
        double acc = analysis_metric(m, rec);
        CHECK(acc >= 0 && acc <= 1, "the tmaze metric is a fraction (%.3f)", acc);
        analysis_rec_free(rec);
    }
    analysis_model_free(m);
    const char *names[] = {"w_rec", "w_in", "b_rec", "w_out", "b_out", "config"};
    for (size_t k = 0; k < 6; k++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, names[k], k < 5 ? "npy" : "ini");
        unlink(path);
    }
    rmdir(dir);
    rnn_free(ref);
    config_free(c);
}

static const test_case tests[] = {
    {"tmaze_conditions", test_tmaze_conditions},
    {"pca", test_pca_known_covariance},
    {"lesion", test_lesion_silent_unit},
    {"fixedpoints_linear", test_fixedpoints_linear},
    {"fixedpoints_tanh", test_fixedpoints_tanh_zero},
    {"flipflop", test_flipflop_stable_points},
    {"encode", test_encode_synthetic},
    {"tuning", test_tuning_known},
    {"model_load", test_model_load},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
