/* reservoir_tasks.c: the echo-state experiments mackey-glass, narma10 and
 * memory-capacity (esn.h, readout.h, series.h).
 *
 * Time line of a prediction run (mackey-glass, narma10): steps 0..washout-1 drive the
 * reservoir only; the next `data.train` steps train the readout (ridge accumulates,
 * online readouts learn in one pass, each step's error measured before its update);
 * the next `data.test` steps are scored: NRMSE = sqrt(MSE) / std(target), the
 * population standard deviation of the test targets (Jaeger & Lukosevicius convention;
 * not ReservoirPy's min-max or variance normalisation).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engram/engram.h"
#include "engram/esn.h"
#include "engram/experiment.h"
#include "engram/image.h"
#include "engram/readout.h"
#include "engram/rng.h"
#include "engram/run.h"
#include "engram/series.h"
#include "experiments/figure_path.h"

/* ---- configuration keys ------------------------------------------------------------ */

static const cfg_key reservoir_keys[] = {
    {"train.rule", CFG_ENUM, "esn", 0, 0, "esn", "learning rule (a reservoir with a trained readout)"},
    {"reservoir.n", CFG_INT, "100", 1, 2000000, NULL,
     "number of reservoir units N (dense radius O(N^3), ~1.4 s at N = 1000; ARPACK above"
     " reservoir.radius_dense_max)"},
    {"reservoir.radius_method", CFG_ENUM, "auto", 0, 0, "auto|dense|arpack",
     "spectral radius solver: dense exact (all eigenvalues), ARPACK (sparse, residual"
     " checked), auto = dense up to reservoir.radius_dense_max units"},
    {"reservoir.radius_dense_max", CFG_INT, "500", 0, 100000, NULL,
     "auto: largest N for the dense radius solver"},
    {"reservoir.arpack_nev", CFG_INT, "8", 1, 1000, NULL,
     "ARPACK: eigenvalues of largest modulus computed (more: safer, slower)"},
    {"reservoir.arpack_ncv", CFG_INT, "40", 3, 10000, NULL, "ARPACK: Arnoldi basis size"},
    {"reservoir.arpack_max_iter", CFG_INT, "3000", 1, 10000000, NULL,
     "ARPACK: implicit restarts before giving up"},
    {"reservoir.arpack_check", CFG_BOOL, "true", 0, 0, NULL,
     "ARPACK: a run on W deflated by the subspace found must find no larger modulus"},
    {"reservoir.topology", CFG_ENUM, "sparse", 0, 0, "sparse|orthogonal",
     "W: sparse (nnz_per_row non-zeros per row) or orthogonal (QR of a Gaussian matrix)"},
    {"reservoir.nnz_per_row", CFG_INT, "10", 1, 2000000, NULL, "non-zeros per row of a sparse W"},
    {"reservoir.spectral_radius", CFG_REAL, "0.9", 0, 10, NULL,
     "spectral radius W is rescaled to (computed exactly)"},
    {"reservoir.input_scaling", CFG_REAL, "1", 0, 1000, NULL, "W_in ~ U[-s, s]"},
    {"reservoir.bias_scaling", CFG_REAL, "0", 0, 1000, NULL, "bias b ~ U[-s, s]"},
    {"reservoir.feedback_scaling", CFG_REAL, "0", 0, 1000, NULL,
     "output feedback W_fb ~ U[-s, s] (used in task.mode = generate)"},
    {"reservoir.leak", CFG_REAL, "1", 1e-6, 1, NULL, "leak rate a: x <- (1-a) x + a f(...)"},
    {"reservoir.activation", CFG_ENUM, "tanh", 0, 0, "tanh|identity",
     "unit non-linearity (identity = linear reservoir)"},
    {"reservoir.input_to_readout", CFG_BOOL, "true", 0, 0, NULL,
     "readout sees the input (or fed-back signal) besides the state"},
    {"data.washout", CFG_INT, "100", 0, 100000000, NULL, "initial steps discarded (transient)"},
    {"data.train", CFG_INT, "2000", 1, 100000000, NULL, "training steps"},
    {"data.test", CFG_INT, "1000", 2, 100000000, NULL, "test steps"},
    {"readout.ridge", CFG_REAL, "1e-8", 0, 1e6, NULL, "ridge lambda (bias regularised too)"},
    {"readout.block", CFG_INT, "256", 1, 65536, NULL, "states per Z^T Z accumulation block"},
    {"readout.units", CFG_INT, "0", 0, 2000000, NULL,
     "reservoir units the readout sees, evenly spaced (0 = all; a ridge readout over D"
     " features holds 16 D^2 bytes)"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

static const cfg_key online_keys[] = {
    {"readout.kind", CFG_ENUM, "ridge", 0, 0, "ridge|lms|nlms|rls",
     "readout: ridge (offline) or online delta rule lms / nlms, or rls"},
    {"readout.mu", CFG_REAL, "0.1", 1e-300, 1e6, NULL,
     "lms / nlms learning rate (nlms: stable for mu < 2)"},
    {"readout.eps", CFG_REAL, "1e-6", 0, 1e6, NULL, "nlms: w += mu e z / (eps + |z|^2)"},
    {"readout.rls_delta", CFG_REAL, "0.01", 1e-12, 1e12, NULL, "rls: P(0) = I / delta"},
    {"readout.rls_forget", CFG_REAL, "1", 1e-6, 1, NULL, "rls forgetting factor"},
    {"readout.curve_every", CFG_INT, "200", 1, 100000000, NULL,
     "online readouts: a metrics.csv row every K training steps"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

static const cfg_key mg_keys[] = {
    {"task.tau", CFG_REAL, "17", 1e-3, 1e4, NULL, "Mackey-Glass delay tau"},
    {"task.a", CFG_REAL, "0.2", 0, 100, NULL, "Mackey-Glass production a"},
    {"task.b", CFG_REAL, "0.1", 0, 100, NULL, "Mackey-Glass decay b"},
    {"task.n", CFG_REAL, "10", 0, 100, NULL, "Mackey-Glass exponent n"},
    {"task.h", CFG_REAL, "0.1", 1e-6, 10, NULL, "RK4 sub-step (tau/h and sample/h whole numbers)"},
    {"task.sample", CFG_REAL, "1", 1e-6, 100, NULL, "sampling interval in time units"},
    {"task.x0", CFG_REAL, "1.2", 0, 100, NULL, "constant initial history on [-tau, 0]"},
    {"task.discard", CFG_REAL, "1000", 0, 1e7, NULL, "time units discarded before sampling"},
    {"task.mode", CFG_ENUM, "predict", 0, 0, "predict|generate",
     "predict: one-step (horizon) prediction from the input; generate: teacher forcing"
     " through W_fb then free-running over the test steps"},
    {"task.horizon", CFG_INT, "1", 1, 10000, NULL, "predict x(t + horizon) (predict mode)"},
    {"task.offset", CFG_REAL, "0", -100, 100, NULL,
     "subtracted from the series before it drives the reservoir and is predicted"
     " (NRMSE is unchanged by it; centring helps the online readouts)"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

static const cfg_key narma_keys[] = {
    {"task.alpha", CFG_REAL, "0.3", -10, 10, NULL, "NARMA: coefficient of y(t)"},
    {"task.beta", CFG_REAL, "0.05", -10, 10, NULL, "NARMA: coefficient of y(t) sum y(t-i)"},
    {"task.gamma", CFG_REAL, "1.5", -10, 10, NULL, "NARMA: coefficient of u(t-order+1) u(t)"},
    {"task.delta", CFG_REAL, "0.1", -10, 10, NULL, "NARMA: constant term"},
    {"task.order", CFG_INT, "10", 1, 1000, NULL, "NARMA order (10 for NARMA-10)"},
    {"task.u_min", CFG_REAL, "0", -100, 100, NULL, "input u ~ U[u_min, u_max]"},
    {"task.u_max", CFG_REAL, "0.5", -100, 100, NULL, "input u ~ U[u_min, u_max]"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

static const cfg_key mc_keys[] = {
    {"task.kmax", CFG_INT, "0", 0, 100000, NULL, "largest delay k (0 = 2 N)"},
    {"task.u_max", CFG_REAL, "0.8", 1e-9, 100, NULL, "i.i.d. input u ~ U[-u_max, u_max]"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

/* ---- shared pieces -------------------------------------------------------------------- */

/* Units the readout sees: all N (units = 0 or >= N) or `units` evenly spaced ones. */
static size_t readout_units(const config *c, size_t n) {
    size_t m = (size_t)config_int(c, "readout.units");
    return m == 0 || m > n ? n : m;
}

/* feat[0..m-1] = x at units i * n / m (all of x when m = n). */
static void gather_units(double *feat, const double *x, size_t n, size_t m) {
    if (m == n) {
        memcpy(feat, x, n * sizeof(double));
        return;
    }
    for (size_t i = 0; i < m; i++) feat[i] = x[i * n / m];
}

/* Refuses a ridge readout whose two (D, D) matrices exceed half the machine's memory
 * (calloc would succeed lazily and the run be killed while accumulating). */
static int check_ridge_memory(const readout_params *rp) {
    double d = (double)(rp->n_feat + 1), need = 2.0 * d * d * sizeof(double);
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0.0;
    if (have > 0.0 && need > 0.5 * have)
        return engram_fail(ENGRAM_ENOMEM,
                           "a ridge readout over %zu features needs %.1f GB (two %zu x %zu matrices),"
                           " more than half of this machine's %.1f GB: set readout.units (e.g. %zu)"
                           " or readout.kind = nlms",
                           rp->n_feat, need / 1e9, rp->n_feat + 1, rp->n_feat + 1, have / 1e9,
                           (size_t)(sqrt(0.125 * have / sizeof(double))));
    return ENGRAM_OK;
}

static double series_std(const double *y, size_t n) {
    double m = 0.0, v = 0.0;
    for (size_t i = 0; i < n; i++) m += y[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) v += (y[i] - m) * (y[i] - m);
    return sqrt(v / (double)n);
}

/* Plots target and prediction over the first `n` test steps. */
static int plot_prediction(run_ctx *ctx, const char *title, const double *target,
                           const double *pred, size_t n) {
    double *x = malloc(n * sizeof(double)), *y = malloc(2 * n * sizeof(double));
    if (!x || !y) {
        free(x);
        free(y);
        return engram_fail(ENGRAM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i;
        y[i] = target[i];
        y[n + i] = pred[i];
    }
    const char *names[] = {"target", "prediction"};
    image_plot p;
    memset(&p, 0, sizeof p);
    p.title = title;
    p.x_label = "test step";
    p.y_label = "value";
    p.x = x;
    p.y = y;
    p.n_series = 2;
    p.n_points = n;
    p.names = names;
    int st = image_write_plot(experiment_figure_path(ctx, "prediction.png"), &p);
    free(x);
    free(y);
    return st;
}

/* One-output prediction run shared by mackey-glass and narma10.
 * drive (T,) is the driving signal, target (T,) the target of each step; with
 * generate set, the drive enters through W_fb and is replaced by the readout's own
 * previous output during the test steps. */
typedef struct pred_task {
    const char *title;
    const double *drive;
    const double *target;
    int generate;
} pred_task;

static int run_prediction(run_ctx *ctx, const pred_task *task) {
    const config *c = ctx->cfg;
    size_t washout = (size_t)config_int(c, "data.washout");
    size_t n_train = (size_t)config_int(c, "data.train");
    size_t n_test = (size_t)config_int(c, "data.test");
    int with_input = config_bool(c, "reservoir.input_to_readout");
    esn_params ep;
    int st = esn_params_from_config(c, &ep);
    if (st != ENGRAM_OK) return st;
    if (task->generate) {
        if (!(ep.feedback_scaling > 0.0))
            return engram_fail(ENGRAM_EINVAL,
                               "task.mode = generate needs reservoir.feedback_scaling > 0");
        ep.n_in = 0;
        ep.n_fb = 1;
    } else {
        ep.n_in = 1;
        ep.n_fb = 0;
    }
    readout_params rp = readout_params_default();
    if ((st = readout_kind_parse(config_str(c, "readout.kind"), &rp.kind)) != ENGRAM_OK) return st;
    size_t n_units = readout_units(c, ep.n_res);
    rp.n_feat = n_units + (with_input ? 1 : 0);
    rp.n_out = 1;
    rp.ridge = config_real(c, "readout.ridge");
    rp.block = (size_t)config_int(c, "readout.block");
    rp.mu = config_real(c, "readout.mu");
    rp.eps = config_real(c, "readout.eps");
    rp.rls_delta = config_real(c, "readout.rls_delta");
    rp.rls_forget = config_real(c, "readout.rls_forget");
    size_t curve_every = (size_t)config_int(c, "readout.curve_every");
    int online = rp.kind != READOUT_RIDGE;
    if (!online && (st = check_ridge_memory(&rp)) != ENGRAM_OK) return st;

    esn *e = esn_alloc(&ep, ctx->seed);
    if (!e) return ENGRAM_EINVAL; /* message set by esn_alloc */
    readout *r = readout_alloc(&rp);
    size_t n_curve = online ? n_train / curve_every + 1 : 1;
    double *feat = malloc(rp.n_feat * sizeof(double));
    double *pred = malloc(n_test * sizeof(double));
    double *curve = malloc(n_curve * 3 * sizeof(double)); /* (K, 3): step, mse, nrmse */
    if (!r || !feat || !pred || !curve) {
        st = r ? engram_fail(ENGRAM_ENOMEM, "out of memory") : ENGRAM_EINVAL;
        goto done;
    }
    const char *cols[] = {"loss", "nrmse_running", "nrmse_test"};
    if ((st = run_metrics_begin(ctx, cols, 3, 0)) != ENGRAM_OK) goto done;
    double train_std = series_std(task->target + washout, n_train);
    size_t total = washout + n_train + n_test, k_curve = 0;
    double window = 0.0;
    size_t in_window = 0;
    double y_prev = 0.0;
    for (size_t t = 0; t < washout + n_train; t++) {
        double s = task->drive[t];
        if (task->generate)
            esn_step(e, NULL, &s);
        else
            esn_step(e, &s, NULL);
        if (t < washout) continue;
        gather_units(feat, esn_state(e), ep.n_res, n_units);
        if (with_input) feat[n_units] = s;
        double yp;
        st = readout_train_step(r, feat, &task->target[t], &yp);
        if (st != ENGRAM_OK) goto done;
        if (online) {
            double err = task->target[t] - yp;
            window += err * err;
            in_window++;
            size_t done_steps = t - washout + 1;
            if (done_steps % curve_every == 0 || done_steps == n_train) {
                double mse = window / (double)in_window;
                double row[3] = {mse, sqrt(mse) / train_std, NAN};
                if (!isfinite(mse)) {
                    st = engram_fail(ENGRAM_EDIVERGED, "%s readout diverged by training step %zu",
                                     readout_kind_name(rp.kind), done_steps);
                    goto done;
                }
                if (done_steps != n_train) {
                    if ((st = run_metrics_row(ctx, (long)done_steps, row)) != ENGRAM_OK) goto done;
                }
                curve[3 * k_curve] = (double)done_steps;
                curve[3 * k_curve + 1] = mse;
                curve[3 * k_curve + 2] = row[1];
                k_curve++;
                window = 0.0;
                in_window = 0;
            }
        }
        if (t % 1000 == 0) run_progress(ctx, (long)t, (long)total, "training");
    }
    if ((st = readout_finish(r)) != ENGRAM_OK) goto done;

    /* test: continue from the training state */
    for (size_t i = 0; i < n_test; i++) {
        size_t t = washout + n_train + i;
        double s = task->drive[t];
        if (task->generate && i > 0) s = y_prev; /* free running */
        if (task->generate)
            esn_step(e, NULL, &s);
        else
            esn_step(e, &s, NULL);
        gather_units(feat, esn_state(e), ep.n_res, n_units);
        if (with_input) feat[n_units] = s;
        readout_predict(r, feat, &pred[i]);
        y_prev = pred[i];
    }
    run_progress_done(ctx);
    const double *tgt = task->target + washout + n_train;
    if (!engram_all_finite(pred, n_test)) {
        st = engram_fail(ENGRAM_EDIVERGED, "test predictions are not finite (unstable %s)",
                         task->generate ? "free run" : "reservoir");
        goto done;
    }
    double mse = 0.0;
    for (size_t i = 0; i < n_test; i++) mse += (pred[i] - tgt[i]) * (pred[i] - tgt[i]);
    mse /= (double)n_test;
    double nrmse = sqrt(mse) / series_std(tgt, n_test);

    double train_mse = NAN, train_nrmse = NAN;
    if (!online) {
        double var;
        readout_ridge_train_error(r, 0, &train_mse, &var);
        train_nrmse = sqrt(train_mse) / train_std;
    } else if (k_curve > 0) {
        train_mse = curve[3 * (k_curve - 1) + 1];
        train_nrmse = curve[3 * (k_curve - 1) + 2];
    }
    double row[3] = {train_mse, train_nrmse, nrmse};
    if ((st = run_metrics_row(ctx, (long)n_train, row)) != ENGRAM_OK) goto done;

    size_t sh[2] = {n_test, 1};
    if ((st = run_write_npy(ctx, "predictions.npy", pred, 2, sh)) != ENGRAM_OK) goto done;
    if ((st = run_write_npy(ctx, "targets.npy", tgt, 2, sh)) != ENGRAM_OK) goto done;
    size_t shw[2] = {1, r->dim};
    if ((st = run_write_npy(ctx, "w_out.npy", r->w, 2, shw)) != ENGRAM_OK) goto done;
    size_t nplot = n_test < 500 ? n_test : 500;
    char title[160];
    snprintf(title, sizeof title, "%s, %s readout: test NRMSE %.3g", task->title,
             readout_kind_name(rp.kind), nrmse);
    if ((st = plot_prediction(ctx, title, tgt, pred, nplot)) != ENGRAM_OK) goto done;
    if (online && k_curve > 0) {
        size_t shc[2] = {k_curve, 3};
        if ((st = run_write_npy(ctx, "learning_curve.npy", curve, 2, shc)) != ENGRAM_OK) goto done;
        double *cx = malloc(k_curve * sizeof(double)), *cy = malloc(k_curve * sizeof(double));
        if (!cx || !cy) {
            free(cx);
            free(cy);
            st = engram_fail(ENGRAM_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < k_curve; k++) {
            cx[k] = curve[3 * k];
            cy[k] = curve[3 * k + 1];
        }
        char ctitle[160];
        snprintf(ctitle, sizeof ctitle, "%s: %s learning curve (one pass)", task->title,
                 readout_kind_name(rp.kind));
        const char *names[] = {"squared error (window mean)"};
        image_plot p;
        memset(&p, 0, sizeof p);
        p.title = ctitle;
        p.x_label = "training step";
        p.y_label = "MSE";
        p.x = cx;
        p.y = cy;
        p.n_series = 1;
        p.n_points = k_curve;
        p.names = names;
        p.log_y = 1;
        st = image_write_plot(experiment_figure_path(ctx, "learning_curve.png"), &p);
        free(cx);
        free(cy);
        if (st != ENGRAM_OK) goto done;
    }
    run_summary_real(ctx, "nrmse_test", nrmse);
    run_summary_str(ctx, "readout", readout_kind_name(rp.kind));
    run_summary_real(ctx, "nrmse_train", train_nrmse);
    run_summary_real(ctx, "mse_test", mse);
    run_summary_int(ctx, "n_res", (long)ep.n_res);
    run_summary_int(ctx, "train_steps", (long)n_train);
    run_summary_int(ctx, "test_steps", (long)n_test);
    run_summary_real(ctx, "radius_raw", e->radius_raw);
    run_summary_str(ctx, "radius_method", esn_radius_method_name(e->radius_used));
    if (e->radius_used == ESN_RADIUS_ARPACK) run_summary_real(ctx, "radius_residual", e->radius_residual);
    if (e->radius_fell_back) run_summary_str(ctx, "radius_note", "ARPACK failed; dense solver used");
    run_summary_int(ctx, "reservoir_bytes", (long)esn_bytes(e));
    run_summary_int(ctx, "readout_units", (long)n_units);
done:
    free(feat);
    free(pred);
    free(curve);
    readout_free(r);
    esn_free(e);
    return st;
}

/* ---- mackey-glass ------------------------------------------------------------------- */

static int mackey_glass_run(run_ctx *ctx) {
    const config *c = ctx->cfg;
    mackey_glass_params mg;
    mackey_glass_from_config(c, &mg);
    int generate = strcmp(config_str(c, "task.mode"), "generate") == 0;
    size_t horizon = generate ? 1 : (size_t)config_int(c, "task.horizon");
    size_t T = (size_t)(config_int(c, "data.washout") + config_int(c, "data.train") +
                        config_int(c, "data.test"));
    double *x = malloc((T + horizon) * sizeof(double));
    if (!x) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    int st = mackey_glass_generate(&mg, x, T + horizon);
    if (st == ENGRAM_OK) {
        size_t sh[1] = {T + horizon};
        st = run_write_npy(ctx, "series.npy", x, 1, sh);
    }
    double offset = config_real(c, "task.offset");
    for (size_t i = 0; i < T + horizon; i++) x[i] -= offset;
    if (st == ENGRAM_OK) {
        char title[64];
        if (offset != 0.0)
            snprintf(title, sizeof title, "Mackey-Glass (x - %g)", offset);
        else
            snprintf(title, sizeof title, "Mackey-Glass");
        pred_task task = {title, x, x + horizon, generate};
        st = run_prediction(ctx, &task);
    }
    free(x);
    return st;
}

static const cfg_key *const mg_tables[] = {reservoir_keys, online_keys, mg_keys, NULL};
static const char *const esn_rules[] = {"esn", NULL};
static const char *const mg_quick[] = {"reservoir.n=100", "data.train=2000", "data.test=500",
                                       NULL};

const experiment exp_mackey_glass = {
    "mackey-glass",
    "Mackey-Glass (tau 17) prediction by an echo-state network with a ridge, LMS, NLMS or RLS readout",
    mg_tables,
    esn_rules,
    mg_quick,
    "nrmse_test",
    0,
    "loss",
    mackey_glass_run,
    0, /* not resumable: runs take seconds */
};

/* ---- narma10 ------------------------------------------------------------------------ */

static int narma10_run(run_ctx *ctx) {
    const config *c = ctx->cfg;
    narma_params np;
    narma_from_config(c, &np);
    size_t T = (size_t)(config_int(c, "data.washout") + config_int(c, "data.train") +
                        config_int(c, "data.test"));
    double *u = malloc(T * sizeof(double)), *y = malloc(T * sizeof(double));
    gsl_rng *rd = rng_stream_alloc(ctx->seed, "data", 0);
    int st = ENGRAM_OK;
    if (!u || !y || !rd) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
    if (st == ENGRAM_OK) st = narma_generate(&np, rd, u, y, T);
    if (st == ENGRAM_OK) {
        size_t sh[1] = {T};
        st = run_write_npy(ctx, "inputs.npy", u, 1, sh);
    }
    if (st == ENGRAM_OK) {
        pred_task task = {"NARMA-10", u, y, 0};
        st = run_prediction(ctx, &task);
    }
    if (st == ENGRAM_OK) {
        run_summary_real(ctx, "narma_alpha", np.alpha);
        run_summary_real(ctx, "narma_beta", np.beta);
        run_summary_real(ctx, "narma_gamma", np.gamma);
        run_summary_real(ctx, "narma_delta", np.delta);
        run_summary_int(ctx, "narma_order", (long)np.order);
    }
    gsl_rng_free(rd);
    free(u);
    free(y);
    return st;
}

static const cfg_key *const narma_tables[] = {reservoir_keys, online_keys, narma_keys, NULL};
static const char *const narma_quick[] = {"reservoir.n=100", "data.train=2000", "data.test=500",
                                          NULL};

const experiment exp_narma10 = {
    "narma10",
    "NARMA-10 system identification by an echo-state network (constants as config keys)",
    narma_tables,
    esn_rules,
    narma_quick,
    "nrmse_test",
    0,
    "loss",
    narma10_run,
    0, /* not resumable: runs take seconds */
};

/* ---- memory-capacity ---------------------------------------------------------------- */

static int memory_capacity_run(run_ctx *ctx) {
    const config *c = ctx->cfg;
    esn_params ep;
    int st = esn_params_from_config(c, &ep);
    if (st != ENGRAM_OK) return st;
    ep.n_in = 1;
    ep.n_fb = 0;
    size_t kmax = (size_t)config_int(c, "task.kmax");
    if (kmax == 0) kmax = 2 * ep.n_res;
    size_t washout = (size_t)config_int(c, "data.washout");
    if (washout < kmax) washout = kmax; /* every delayed target u(t-k) must exist */
    size_t n_train = (size_t)config_int(c, "data.train");
    size_t n_test = (size_t)config_int(c, "data.test");
    double umax = config_real(c, "task.u_max");
    int with_input = config_bool(c, "reservoir.input_to_readout");
    size_t T = washout + n_train + n_test;

    readout_params rp = readout_params_default();
    rp.kind = READOUT_RIDGE;
    rp.n_feat = ep.n_res + (with_input ? 1 : 0);
    rp.n_out = kmax;
    rp.ridge = config_real(c, "readout.ridge");
    rp.block = (size_t)config_int(c, "readout.block");

    esn *e = esn_alloc(&ep, ctx->seed);
    if (!e) return ENGRAM_EINVAL;
    readout *r = readout_alloc(&rp);
    double *u = malloc(T * sizeof(double));
    double *feat = malloc(rp.n_feat * sizeof(double));
    double *d = malloc(kmax * sizeof(double));
    double *ytest = malloc(n_test * kmax * sizeof(double)); /* (T_test, K) */
    double *r2 = malloc(kmax * sizeof(double));
    gsl_rng *rd = rng_stream_alloc(ctx->seed, "data", 0);
    if (!r || !u || !feat || !d || !ytest || !r2 || !rd) {
        st = r ? engram_fail(ENGRAM_ENOMEM, "out of memory") : ENGRAM_EINVAL;
        goto done;
    }
    for (size_t t = 0; t < T; t++) u[t] = umax * (2.0 * gsl_rng_uniform(rd) - 1.0);
    for (size_t t = 0; t < washout + n_train + n_test; t++) {
        esn_step(e, &u[t], NULL);
        if (t < washout) continue;
        memcpy(feat, esn_state(e), ep.n_res * sizeof(double));
        if (with_input) feat[ep.n_res] = u[t];
        if (t < washout + n_train) {
            for (size_t k = 0; k < kmax; k++) d[k] = u[t - k - 1];
            if ((st = readout_train_step(r, feat, d, NULL)) != ENGRAM_OK) goto done;
            if (t + 1 == washout + n_train && (st = readout_finish(r)) != ENGRAM_OK) goto done;
        } else {
            readout_predict(r, feat, ytest + (t - washout - n_train) * kmax);
        }
        if (t % 1000 == 0) run_progress(ctx, (long)t, (long)T, "memory capacity");
    }
    run_progress_done(ctx);
    if (!engram_all_finite(ytest, n_test * kmax)) {
        st = engram_fail(ENGRAM_EDIVERGED, "reservoir states are not finite (spectral radius too"
                         " large for a linear reservoir?)");
        goto done;
    }
    /* r^2 between u(t-k) and y_k(t) over the test steps */
    const char *cols[] = {"r2", "mc_cumulative"};
    if ((st = run_metrics_begin(ctx, cols, 2, 0)) != ENGRAM_OK) goto done;
    double mc = 0.0;
    size_t t0 = washout + n_train;
    for (size_t k = 0; k < kmax; k++) {
        double mu = 0.0, my = 0.0;
        for (size_t i = 0; i < n_test; i++) {
            mu += u[t0 + i - k - 1];
            my += ytest[i * kmax + k];
        }
        mu /= (double)n_test;
        my /= (double)n_test;
        double suu = 0.0, syy = 0.0, suy = 0.0;
        for (size_t i = 0; i < n_test; i++) {
            double a = u[t0 + i - k - 1] - mu, b = ytest[i * kmax + k] - my;
            suu += a * a;
            syy += b * b;
            suy += a * b;
        }
        r2[k] = (suu > 0.0 && syy > 0.0) ? suy * suy / (suu * syy) : 0.0;
        mc += r2[k];
        double row[2] = {r2[k], mc};
        if ((st = run_metrics_row(ctx, (long)(k + 1), row)) != ENGRAM_OK) goto done;
    }
    size_t sh[1] = {kmax};
    if ((st = run_write_npy(ctx, "mc_r2.npy", r2, 1, sh)) != ENGRAM_OK) goto done;
    size_t shw[2] = {kmax, r->dim};
    if ((st = run_write_npy(ctx, "w_out.npy", r->w, 2, shw)) != ENGRAM_OK) goto done;
    {
        double *kx = malloc(kmax * sizeof(double));
        if (!kx) {
            st = engram_fail(ENGRAM_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < kmax; k++) kx[k] = (double)(k + 1);
        char title[160];
        snprintf(title, sizeof title, "memory function, N = %zu %s: MC = %.2f", ep.n_res,
                 ep.activation == ESN_ACT_IDENTITY ? "linear" : "tanh", mc);
        const char *names[] = {"r^2(u(t-k), y_k(t))"};
        image_plot p;
        memset(&p, 0, sizeof p);
        p.title = title;
        p.x_label = "delay k";
        p.y_label = "r^2";
        p.x = kx;
        p.y = r2;
        p.n_series = 1;
        p.n_points = kmax;
        p.names = names;
        st = image_write_plot(experiment_figure_path(ctx, "mc_curve.png"), &p);
        free(kx);
        if (st != ENGRAM_OK) goto done;
    }
    run_summary_real(ctx, "memory_capacity", mc);
    run_summary_int(ctx, "kmax", (long)kmax);
    run_summary_int(ctx, "n_res", (long)ep.n_res);
    run_summary_str(ctx, "readout", "ridge");
done:
    gsl_rng_free(rd);
    free(u);
    free(feat);
    free(d);
    free(ytest);
    free(r2);
    readout_free(r);
    esn_free(e);
    return st;
}

static const cfg_key *const mc_tables[] = {reservoir_keys, mc_keys, NULL};
static const char *const mc_quick[] = {"reservoir.n=20", "data.train=3000", "data.test=1000",
                                       NULL};

const experiment exp_memory_capacity = {
    "memory-capacity",
    "Jaeger's short-term memory capacity MC = sum_k r^2(u(t-k), y_k(t)) of a reservoir",
    mc_tables,
    esn_rules,
    mc_quick,
    "memory_capacity",
    1,
    "r2",
    memory_capacity_run,
    0, /* not resumable: runs take seconds */
};
