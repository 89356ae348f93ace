/* cognitive.c: the experiments `decision`, `delayed-response`, `dms`, `romo`, `mante`,
 * `gonogo` and `flipflop`: any sequence learner (learner.h) trained on a cognitive task
 * (cognitive.h), with the task's metric and figure.
 *
 * The run trains for train.steps updates of train.batch trials (stream "data") and
 * evaluates at step 0, every train.eval_every updates and at the end on a fixed test set
 * of task.test_trials trials (stream "test"), run closed-loop through the learner's
 * step() from reset(). A trial's choice is the argmax of the mean output over its
 * response epoch (class 0 = fixate / no-go); it is correct when it equals the answer.
 * metrics.csv: step, loss (test loss per counted step), accuracy, accuracy_top (decision,
 * mante: at the highest coherence; romo: at the largest |f1 - f2|), mse (flipflop: the
 * mean squared output error per output and counted step), train_loss, the learner's
 * extras (e.g. grad_angle_deg), wall_s. The criterion (train.criterion) is met when
 * accuracy_top (decision, mante, romo), accuracy (delayed-response, dms, gonogo) reaches
 * it, or mse (flipflop) falls to it; steps_to_criterion is the first such evaluation.
 * summary.json: accuracy, loss, steps_to_criterion, and per task: accuracy_top,
 * psychometric fits (decision: psy_bias, psy_slope, psy_max_residual; mante: the slope
 * of each context against the relevant and the irrelevant coherence; romo: psy_bias,
 * psy_slope against f2 - f1), mse (flipflop).
 * Psychometric fits: P(choice 2) = 1 / (1 + exp(-(b0 + b1 x))) by maximum likelihood on
 * the binomial counts (GSL's Nelder-Mead simplex, gsl_multimin_fminimizer_nmsimplex2);
 * the bias is -b0 / b1, the slope b1 (per unit of x), the residual the largest
 * |observed - fitted| over the condition groups.
 * Files: learning_curve.png, trial.png (inputs and outputs of test trial 0),
 * outputs.npy ((T, O) of trial 0), activity.npy ((T, N)), the learner's parameters as
 * one .npy per named matrix (rate RNNs: w_rec, w_in, b_rec, w_out, b_out), and per task
 * psychometric.png/.npy (decision, mante, romo), chronometric.png/.npy (decision: the
 * commitment time, the first step after which the sign of o_2 - o_1 stays at the final
 * choice, in ms after stimulus onset, mean over correct trials per |coherence|),
 * accuracy_by_delay.png/.npy (delayed-response), accuracy_by_condition.npy (dms: match
 * / non-match; gonogo: no-go / go), go_output.png (gonogo: mean P(go) over time for go
 * and no-go trials), flipflop.png (the three outputs and targets of trial 0).
 * Checkpoints as in the anbn experiment: resumed runs end byte-identical.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_multimin.h>
#include "engram/cells.h"
#include "engram/cognitive.h"
#include "engram/constraints.h"
#include "engram/engram.h"
#include "engram/experiment.h"
#include "engram/image.h"
#include "engram/learner.h"
#include "engram/r2n2.h"
#include "engram/rng.h"
#include "engram/run.h"
#include "experiments/figure_path.h"

#define COG_RULES "bptt|fa|rflo|esn|r2n2|lstm|gru"
#define COG_TRAIN_KEYS(STEPS, EVAL, CRIT, TEST)                                               \
    {"train.rule", CFG_ENUM, "bptt", 0, 0, COG_RULES, "learning rule"},                      \
    {"train.steps", CFG_INT, STEPS, 0, 1e9, NULL, "parameter updates"},                      \
    {"train.eval_every", CFG_INT, EVAL, 1, 1e9, NULL, "updates between evaluations"},        \
    {"train.criterion", CFG_REAL, CRIT, 0, 1e9, NULL,                                        \
     "criterion for steps_to_criterion (accuracy_top, accuracy, or mse at most)"},           \
    {"task.test_trials", CFG_INT, TEST, 1, 1e6, NULL, "trials of the fixed test set"}
#define COG_TIME_KEYS(DT, FIX, STIM, DMIN, DMAX, DEC, SIGMA)                                  \
    {"task.dt", CFG_REAL, DT, 1e-6, 1e6, NULL, "ms per step"},                              \
    {"task.fixation", CFG_REAL, FIX, 0, 1e7, NULL, "fixation epoch, ms"},                   \
    {"task.stimulus", CFG_REAL, STIM, 1e-6, 1e7, NULL, "(first) stimulus epoch, ms"},       \
    {"task.delay_min", CFG_REAL, DMIN, 0, 1e7, NULL, "shortest delay, ms"},                 \
    {"task.delay_max", CFG_REAL, DMAX, 0, 1e7, NULL, "longest delay, ms"},                  \
    {"task.decision", CFG_REAL, DEC, 1e-6, 1e7, NULL, "response epoch, ms (the loss counts here)"}, \
    {"task.sigma", CFG_REAL, SIGMA, 0, 100, NULL, "input noise std per step"},              \
    {"task.mask", CFG_ENUM, "response", 0, 0, "response|all",                               \
     "loss on the response epoch only, or on every step (fixate before the response)"}
#define COG_END {NULL, CFG_INT, NULL, 0, 0, NULL, NULL}

static const cfg_key decision_keys[] = {
    COG_TRAIN_KEYS("2000", "100", "0.9", "1000"),
    COG_TIME_KEYS("100", "100", "2000", "0", "0", "100", "0.6"),
    {"task.coherences", CFG_STR, "0,6.4,12.8,25.6,51.2", 0, 0, NULL, "coherences in percent, comma-separated"},
    COG_END,
};
static const cfg_key delayed_response_keys[] = {
    COG_TRAIN_KEYS("2000", "100", "0.95", "500"),
    COG_TIME_KEYS("100", "300", "500", "1000", "3000", "300", "0.1"),
    {"task.n_choices", CFG_INT, "4", 2, 64, NULL, "cue locations K"},
    COG_END,
};
static const cfg_key dms_keys[] = {
    COG_TRAIN_KEYS("2000", "100", "0.95", "500"),
    COG_TIME_KEYS("100", "300", "500", "1000", "1000", "900", "0.1"),
    {"task.stimulus2", CFG_REAL, "500", 1e-6, 1e7, NULL, "test epoch, ms"},
    {"task.n_choices", CFG_INT, "4", 2, 64, NULL, "stimuli K"},
    COG_END,
};
static const cfg_key romo_keys[] = {
    COG_TRAIN_KEYS("3000", "100", "0.9", "500"),
    COG_TIME_KEYS("100", "100", "500", "1000", "2000", "300", "0.05"),
    {"task.stimulus2", CFG_REAL, "500", 1e-6, 1e7, NULL, "f2 epoch, ms"},
    {"task.frequencies", CFG_STR, "10,14,18,22,26,30,34", 0, 0, NULL, "f1 values, Hz, comma-separated"},
    {"task.deltas", CFG_STR, "4,8", 0, 0, NULL, "|f2 - f1| values, Hz, comma-separated"},
    COG_END,
};
static const cfg_key mante_keys[] = {
    COG_TRAIN_KEYS("3000", "100", "0.9", "1000"),
    COG_TIME_KEYS("100", "300", "750", "300", "1000", "100", "0.5"),
    {"task.coherences", CFG_STR, "5,15,50", 0, 0, NULL, "unsigned coherences in percent (signs random)"},
    COG_END,
};
static const cfg_key gonogo_keys[] = {
    COG_TRAIN_KEYS("1000", "100", "0.95", "500"),
    COG_TIME_KEYS("100", "0", "500", "500", "500", "500", "0.1"),
    COG_END,
};
static const cfg_key flipflop_keys[] = {
    COG_TRAIN_KEYS("3000", "100", "0.05", "100"),
    {"task.steps", CFG_INT, "100", 2, 100000, NULL, "trial length T"},
    {"task.p_pulse", CFG_REAL, "0.05", 0, 1, NULL, "pulse probability per step and channel"},
    COG_END,
};

#define COG_TABLES(NAME) static const cfg_key *const NAME##_tables[] = {NAME##_keys, learner_keys, rnn_constraint_keys, r2n2_keys, cells_keys, NULL}
COG_TABLES(decision);
COG_TABLES(delayed_response);
COG_TABLES(dms);
COG_TABLES(romo);
COG_TABLES(mante);
COG_TABLES(gonogo);
COG_TABLES(flipflop);
static const char *const cog_rules[] = {"bptt", "fa", "rflo", "esn", "r2n2", "lstm", "gru", NULL};
static const char *const cog_quick[] = {"train.steps=200", "train.eval_every=50",
                                        "task.test_trials=100", NULL};

#define COG_MAX_BLOBS 24

/* Everything a run holds, so that one cleanup path frees it. */
typedef struct cog_run {
    const learner_type *lt;
    learner *l;
    task *tk;
    const cog_params *p;
    trial_batch *batch, *test;
    cog_info *info;   /* (n_test,) */
    int *choice;      /* (n_test,) */
    double *ctime;    /* (n_test,) commitment time in ms, NaN if none */
    gsl_rng *data;
    double *out;      /* (T, O) outputs of one test trial */
    double *act;      /* (T, N) hidden states of one test trial */
    double *curve;    /* (E, 3): step, test loss, score per evaluation */
    double *state;    /* run state saved in checkpoints, LEARNER_S_* (learner.h) */
    double *gonogo_trace; /* (2, T) mean P(go) */
    size_t n_eval_max, n_state, N;
} cog_run;

static void cog_run_free(cog_run *r) {
    if (r->l) r->lt->free(r->l);
    task_free(r->tk);
    trial_batch_free(r->batch);
    trial_batch_free(r->test);
    free(r->info);
    free(r->choice);
    free(r->ctime);
    gsl_rng_free(r->data);
    free(r->out);
    free(r->act);
    free(r->curve);
    free(r->state);
    free(r->gonogo_trace);
}

/* Runs test item i closed-loop; writes outputs (T, O) into r->out and, if act, states
 * (T, N). */
static size_t cog_run_item(cog_run *r, size_t i, double *act) {
    return learner_run_item(r->lt, r->l, r->test, i, r->out, act);
}

/* Is test trial i in the "top" group (highest coherence or |f1 - f2|)? */
static int cog_top(const cog_run *r, size_t i) {
    const cog_params *p = r->p;
    const cog_info *in = &r->info[i];
    double top = 0;
    if (p->kind == COG_ROMO) {
        for (size_t k = 0; k < p->n_deltas; k++) if (p->deltas[k] > top) top = p->deltas[k];
        return fabs(in->cond[1] - in->cond[0]) == top;
    }
    for (size_t k = 0; k < p->n_levels; k++) if (p->levels[k] > top) top = p->levels[k];
    double c = p->kind == COG_MANTE ? in->cond[(size_t)in->cond[2]] : in->cond[0];
    return fabs(c) == top;
}

/* Evaluates the test set: accuracy, accuracy of the top group, mse (flipflop) and the
 * mean loss per counted step; fills r->choice and r->ctime. */
static void cog_evaluate(cog_run *r, int xent, double *acc, double *acc_top, double *mse,
                         double *loss) {
    const trial_batch *b = r->test;
    size_t O = b->n_out, n_ok = 0, n_top = 0, n_top_ok = 0;
    double total = 0, steps = 0, se = 0, se_n = 0;
    size_t sign_ok = 0, sign_n = 0;
    for (size_t i = 0; i < b->n_batch; i++) {
        size_t T = cog_run_item(r, i, NULL);
        const double *y = b->y + i * b->t_max * O, *m = b->mask + i * b->t_max;
        const cog_info *in = &r->info[i];
        for (size_t t = 0; t < T; t++) {
            if (m[t] == 0) continue;
            const double *o = r->out + t * O, *yy = y + t * O;
            for (size_t k = 0; k < O; k++) {
                if (xent) { if (yy[k] != 0) total -= yy[k] * log(o[k]); }
                else total += 0.5 * (o[k] - yy[k]) * (o[k] - yy[k]);
                if (r->p->kind == COG_FLIPFLOP) {
                    se += (o[k] - yy[k]) * (o[k] - yy[k]);
                    se_n += 1;
                    sign_ok += (o[k] > 0) == (yy[k] > 0);
                    sign_n++;
                }
            }
            steps += 1;
        }
        if (r->p->kind == COG_FLIPFLOP) continue;
        /* choice: argmax of the mean output over the response epoch */
        int best = 0;
        double bv = -INFINITY;
        for (size_t k = 0; k < O; k++) {
            double s = 0;
            for (size_t t = in->t_resp; t < T; t++) s += r->out[t * O + k];
            if (s > bv) { bv = s; best = (int)k; }
        }
        r->choice[i] = best;
        n_ok += best == in->answer;
        if (cog_top(r, i)) { n_top++; n_top_ok += best == in->answer; }
        r->ctime[i] = NAN;
        if (O == 3 && best > 0) { /* commitment time: o_2 - o_1 keeps the final sign */
            size_t t0 = T;
            for (size_t t = T; t-- > in->t_stim;) {
                double d = r->out[t * O + 2] - r->out[t * O + 1];
                if ((best == 2) != (d > 0)) break;
                t0 = t;
            }
            if (t0 < T) r->ctime[i] = (double)(t0 - in->t_stim + 1) * r->p->dt;
        }
        if (r->gonogo_trace) {
            size_t row = (size_t)in->cond[0];
            for (size_t t = 0; t < T && t < b->t_max; t++)
                r->gonogo_trace[row * b->t_max + t] += r->out[t * O + 1];
        }
    }
    if (r->p->kind == COG_FLIPFLOP) {
        *acc = sign_n ? (double)sign_ok / (double)sign_n : NAN;
        *acc_top = NAN;
        *mse = se_n > 0 ? se / se_n : NAN;
    } else {
        *acc = (double)n_ok / (double)b->n_batch;
        *acc_top = n_top ? (double)n_top_ok / (double)n_top : NAN;
        *mse = NAN;
    }
    *loss = steps > 0 ? total / steps : NAN;
}

/* The loop's evaluation (learner_loop): columns loss, accuracy, [accuracy_top], [mse];
 * the score is accuracy_top, mse or accuracy. */
typedef struct cog_eval_arg {
    cog_run *r;
    int xent, has_top, is_ff;
} cog_eval_arg;

static void cog_eval(void *arg, long step, int last, double *row, double *acc, double *score,
                     double *loss) {
    cog_eval_arg *a = arg;
    double acc_top, mse;
    (void)step; (void)last;
    cog_evaluate(a->r, a->xent, acc, &acc_top, &mse, loss);
    size_t c = 0;
    row[c++] = *loss;
    row[c++] = *acc;
    if (a->has_top) row[c++] = acc_top;
    if (a->is_ff) row[c++] = mse;
    *score = a->has_top ? acc_top : a->is_ff ? mse : *acc;
}

/* ---- psychometric fits ---- */

typedef struct psy_data {
    size_t n;
    const double *x, *k, *m; /* condition value, choices of 2, trials (n,) */
} psy_data;

static double psy_nll(const gsl_vector *v, void *par) {
    const psy_data *d = par;
    double b0 = gsl_vector_get(v, 0), b1 = gsl_vector_get(v, 1), s = 0;
    for (size_t i = 0; i < d->n; i++) {
        double z = b0 + b1 * d->x[i];
        /* -[k log p + (m - k) log (1 - p)] with log p = -log1p(e^-z) */
        double lp = z > 0 ? -log1p(exp(-z)) : z - log1p(exp(z));
        double lq = z > 0 ? -z - log1p(exp(-z)) : -log1p(exp(z));
        s -= d->k[i] * lp + (d->m[i] - d->k[i]) * lq;
    }
    return s;
}

/* Fits P = 1 / (1 + exp(-(b0 + b1 x))) to n groups by maximum likelihood (Nelder-Mead);
 * x_scale sets the initial step of b1. Returns ENGRAM_OK or a failure status. */
static int psy_fit(size_t n, const double *x, const double *k, const double *m, double x_scale,
                   double *b0, double *b1) {
    psy_data d = {n, x, k, m};
    gsl_multimin_function f = {psy_nll, 2, &d};
    gsl_vector *v = gsl_vector_alloc(2), *step = gsl_vector_alloc(2);
    gsl_multimin_fminimizer *s = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, 2);
    if (!v || !step || !s) {
        gsl_vector_free(v); gsl_vector_free(step); gsl_multimin_fminimizer_free(s);
        return engram_fail(ENGRAM_ENOMEM, "psychometric fit: out of memory");
    }
    gsl_vector_set(v, 0, 0.0);
    gsl_vector_set(v, 1, 1.0 / x_scale);
    gsl_vector_set(step, 0, 0.5);
    gsl_vector_set(step, 1, 0.5 / x_scale);
    gsl_multimin_fminimizer_set(s, &f, v, step);
    for (int it = 0; it < 5000; it++) {
        if (gsl_multimin_fminimizer_iterate(s)) break;
        if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), 1e-10) == GSL_SUCCESS) break;
    }
    *b0 = gsl_vector_get(s->x, 0);
    *b1 = gsl_vector_get(s->x, 1);
    gsl_vector_free(v); gsl_vector_free(step); gsl_multimin_fminimizer_free(s);
    return ENGRAM_OK;
}

static double psy_eval(double b0, double b1, double x) { return 1.0 / (1.0 + exp(-(b0 + b1 * x))); }

/* Groups the test trials by a condition value (sorted unique values, at most 64):
 * x (G,), choices of 2 k (G,), trials m (G,); returns G. sel(i) < 0 skips a trial. */
static size_t psy_groups(const cog_run *r, double (*val)(const cog_run *, size_t, int *),
                         double *x, double *k, double *m) {
    size_t G = 0;
    for (size_t i = 0; i < r->test->n_batch; i++) {
        int use = 1;
        double v = val(r, i, &use);
        if (!use || (r->choice[i] != 1 && r->choice[i] != 2)) continue;
        size_t g = 0;
        while (g < G && x[g] != v) g++;
        if (g == G) {
            if (G == 64) continue;
            x[G] = v; k[G] = m[G] = 0; G++;
        }
        k[g] += r->choice[i] == 2;
        m[g] += 1;
    }
    for (size_t a = 1; a < G; a++) /* insertion sort by x */
        for (size_t c = a; c > 0 && x[c - 1] > x[c]; c--) {
            double t;
            t = x[c]; x[c] = x[c - 1]; x[c - 1] = t;
            t = k[c]; k[c] = k[c - 1]; k[c - 1] = t;
            t = m[c]; m[c] = m[c - 1]; m[c - 1] = t;
        }
    return G;
}

static double val_signed_coh(const cog_run *r, size_t i, int *use) {
    (void)use;
    return r->info[i].cond[0];
}
static double val_romo(const cog_run *r, size_t i, int *use) {
    (void)use;
    return r->info[i].cond[1] - r->info[i].cond[0];
}
/* mante: context c, feature f (0 motion, 1 colour) */
static int mante_sel_ctx, mante_sel_feat;
static double val_mante(const cog_run *r, size_t i, int *use) {
    *use = (int)r->info[i].cond[2] == mante_sel_ctx;
    return r->info[i].cond[mante_sel_feat];
}

/* Fits and plots the psychometric curves of one figure: n_curves groupings. */
static int psy_figure(run_ctx *ctx, cog_run *r, size_t n_curves,
                      double (*const *vals)(const cog_run *, size_t, int *), const int *ctxs,
                      const int *feats, const char *const *names, const char *const *keys,
                      const char *x_label, double x_scale) {
    double x[4][64], k[4][64], m[4][64], b0[4], b1[4];
    size_t G[4];
    int st = ENGRAM_OK;
    /* shared x axis: the union of the groups' x values plus a fine grid for the fits */
    enum { FINE = 101 };
    double lo = INFINITY, hi = -INFINITY;
    for (size_t c = 0; c < n_curves; c++) {
        if (ctxs) { mante_sel_ctx = ctxs[c]; mante_sel_feat = feats[c]; }
        G[c] = psy_groups(r, vals[c], x[c], k[c], m[c]);
        if (G[c] == 0) return engram_fail(ENGRAM_EINVAL, "psychometric: no decided trials");
        st = psy_fit(G[c], x[c], k[c], m[c], x_scale, &b0[c], &b1[c]);
        if (st != ENGRAM_OK) return st;
        double res = 0;
        for (size_t g = 0; g < G[c]; g++) {
            double e = fabs(k[c][g] / m[c][g] - psy_eval(b0[c], b1[c], x[c][g]));
            if (e > res) res = e;
        }
        char key[48];
        snprintf(key, sizeof key, "%s_slope", keys[c]);
        run_summary_real(ctx, key, b1[c]);
        snprintf(key, sizeof key, "%s_bias", keys[c]);
        run_summary_real(ctx, key, b1[c] != 0 ? -b0[c] / b1[c] : NAN);
        snprintf(key, sizeof key, "%s_max_residual", keys[c]);
        run_summary_real(ctx, key, res);
        if (x[c][0] < lo) lo = x[c][0];
        if (x[c][G[c] - 1] > hi) hi = x[c][G[c] - 1];
    }
    /* psychometric.npy: rows (curve, x, fraction of choice 2, trials, fitted P) */
    size_t rows = 0;
    for (size_t c = 0; c < n_curves; c++) rows += G[c];
    double *tab = malloc(rows * 5 * sizeof *tab);
    size_t P = FINE + rows;
    double *px = malloc(P * sizeof *px), *py = malloc(2 * n_curves * P * sizeof *py);
    if (!tab || !px || !py) { free(tab); free(px); free(py); return engram_fail(ENGRAM_ENOMEM, "psychometric: out of memory"); }
    size_t j = 0;
    for (size_t c = 0; c < n_curves; c++)
        for (size_t g = 0; g < G[c]; g++, j++) {
            double row[5] = {(double)c, x[c][g], k[c][g] / m[c][g], m[c][g], psy_eval(b0[c], b1[c], x[c][g])};
            memcpy(tab + j * 5, row, sizeof row);
        }
    size_t sh[2] = {rows, 5};
    st = run_write_npy(ctx, "psychometric.npy", tab, 2, sh);
    /* plot: x = fine grid merged with data points; data series NaN off their points */
    /* the fitted curve runs 8 % past the outermost levels on each side, so the plot's
     * x range pads the data points off the frame */
    const double pad = 0.08 * (hi - lo);
    for (size_t q = 0; q < FINE; q++)
        px[q] = lo - pad + (hi - lo + 2 * pad) * (double)q / (FINE - 1);
    for (size_t q = 0; q < rows; q++) px[FINE + q] = tab[q * 5 + 1];
    for (size_t a = 1; a < P; a++)
        for (size_t c = a; c > 0 && px[c - 1] > px[c]; c--) { double t = px[c]; px[c] = px[c - 1]; px[c - 1] = t; }
    size_t u = 0; /* drop repeated x values, so that each data point stays isolated */
    for (size_t q = 0; q < P; q++)
        if (u == 0 || px[q] != px[u - 1]) px[u++] = px[q];
    P = u;
    for (size_t c = 0; c < n_curves; c++)
        for (size_t q = 0; q < P; q++) {
            py[(2 * c) * P + q] = NAN;
            py[(2 * c + 1) * P + q] = psy_eval(b0[c], b1[c], px[q]);
            for (size_t g = 0; g < G[c]; g++)
                if (x[c][g] == px[q]) py[(2 * c) * P + q] = k[c][g] / m[c][g];
        }
    const char *snames[8];
    char fit_names[4][96];
    for (size_t c = 0; c < n_curves; c++) {
        snames[2 * c] = names[c];
        snprintf(fit_names[c], sizeof fit_names[c], "fit, slope %.3g", b1[c]);
        snames[2 * c + 1] = fit_names[c];
    }
    /* series order: data then fits, so colours pair as (0, 1), (2, 3), ... */
    char title[128];
    snprintf(title, sizeof title, "%s psychometric curve, rule %s", ctx->experiment, ctx->rule);
    image_plot pl = {title, x_label, "P(choice 2)", px, py, NULL, NULL, 2 * n_curves, P, snames, 0, 0, 0};
    if (st == ENGRAM_OK) st = image_write_plot(experiment_figure_path(ctx, "psychometric.png"), &pl);
    free(tab); free(px); free(py);
    return st;
}

/* decision: chronometric curve (mean commitment time of correct trials per |c|). */
static int chrono_figure(run_ctx *ctx, cog_run *r) {
    const cog_params *p = r->p;
    size_t L = p->n_levels;
    double x[COG_MAX_LEVELS], y[COG_MAX_LEVELS], n[COG_MAX_LEVELS], tab[COG_MAX_LEVELS * 3];
    for (size_t k = 0; k < L; k++) { x[k] = p->levels[k]; y[k] = n[k] = 0; }
    for (size_t i = 0; i < r->test->n_batch; i++) {
        if (r->choice[i] != r->info[i].answer || !isfinite(r->ctime[i])) continue;
        for (size_t k = 0; k < L; k++)
            if (fabs(r->info[i].cond[0]) == x[k]) { y[k] += r->ctime[i]; n[k] += 1; }
    }
    for (size_t a = 1; a < L; a++)
        for (size_t c = a; c > 0 && x[c - 1] > x[c]; c--) {
            double t;
            t = x[c]; x[c] = x[c - 1]; x[c - 1] = t;
            t = y[c]; y[c] = y[c - 1]; y[c - 1] = t;
            t = n[c]; n[c] = n[c - 1]; n[c - 1] = t;
        }
    for (size_t k = 0; k < L; k++) {
        y[k] = n[k] > 0 ? y[k] / n[k] : NAN;
        tab[k * 3] = x[k]; tab[k * 3 + 1] = y[k]; tab[k * 3 + 2] = n[k];
    }
    size_t sh[2] = {L, 3};
    int st = run_write_npy(ctx, "chronometric.npy", tab, 2, sh);
    char title[128];
    snprintf(title, sizeof title, "decision chronometric curve, rule %s", ctx->rule);
    static const char *const nm[1] = {"commitment time"};
    image_plot pl = {title, "coherence (%)", "ms after stimulus onset", x, y, NULL, NULL, 1, L, nm, 0, 0, 0};
    if (st == ENGRAM_OK) st = image_write_plot(experiment_figure_path(ctx, "chronometric.png"), &pl);
    if (L > 0) {
        run_summary_real(ctx, "commitment_ms_lowest", y[0]);
        run_summary_real(ctx, "commitment_ms_highest", y[L - 1]);
    }
    return st;
}

/* delayed-response: accuracy per delay length; dms / gonogo: per condition. */
static int accuracy_figures(run_ctx *ctx, cog_run *r) {
    const cog_params *p = r->p;
    int st = ENGRAM_OK;
    if (p->kind == COG_DELAYED_RESPONSE) {
        size_t lo = cog_steps(p->delay_min, p->dt), hi = cog_steps(p->delay_max, p->dt), D = hi - lo + 1;
        double *x = calloc(D, sizeof *x), *y = calloc(D, sizeof *y), *n = calloc(D, sizeof *n),
               *tab = calloc(D * 3, sizeof *tab);
        if (!x || !y || !n || !tab) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
        for (size_t i = 0; st == ENGRAM_OK && i < r->test->n_batch; i++) {
            size_t d = (size_t)r->info[i].cond[1] - lo;
            y[d] += r->choice[i] == r->info[i].answer;
            n[d] += 1;
        }
        for (size_t d = 0; st == ENGRAM_OK && d < D; d++) {
            x[d] = (double)(lo + d) * p->dt;
            y[d] = n[d] > 0 ? y[d] / n[d] : NAN;
            tab[d * 3] = x[d]; tab[d * 3 + 1] = y[d]; tab[d * 3 + 2] = n[d];
        }
        size_t sh[2] = {D, 3};
        if (st == ENGRAM_OK) st = run_write_npy(ctx, "accuracy_by_delay.npy", tab, 2, sh);
        static const char *const nm[1] = {"accuracy"};
        char title[128];
        snprintf(title, sizeof title, "delayed response, rule %s", ctx->rule);
        image_plot pl = {title, "delay (ms)", "fraction correct", x, y, NULL, NULL, 1, D, nm, 0, 0, 0};
        if (st == ENGRAM_OK) st = image_write_plot(experiment_figure_path(ctx, "accuracy_by_delay.png"), &pl);
        free(x); free(y); free(n); free(tab);
    } else if (p->kind == COG_DMS || p->kind == COG_GONOGO) {
        double acc[2] = {0, 0}, n[2] = {0, 0};
        for (size_t i = 0; i < r->test->n_batch; i++) {
            size_t c = p->kind == COG_DMS ? (r->info[i].answer == 2) : (size_t)r->info[i].cond[0];
            acc[c] += r->choice[i] == r->info[i].answer;
            n[c] += 1;
        }
        for (size_t c = 0; c < 2; c++) acc[c] = n[c] > 0 ? acc[c] / n[c] : NAN;
        size_t sh[1] = {2};
        st = run_write_npy(ctx, "accuracy_by_condition.npy", acc, 1, sh);
        run_summary_real(ctx, p->kind == COG_DMS ? "accuracy_match" : "accuracy_nogo", acc[0]);
        run_summary_real(ctx, p->kind == COG_DMS ? "accuracy_nonmatch" : "accuracy_go", acc[1]);
    }
    if (st == ENGRAM_OK && p->kind == COG_GONOGO) {
        size_t T = r->test->t_max;
        double n[2] = {0, 0}, *x = malloc(T * sizeof *x);
        if (!x) return engram_fail(ENGRAM_ENOMEM, "out of memory");
        for (size_t i = 0; i < r->test->n_batch; i++) n[(size_t)r->info[i].cond[0]] += 1;
        for (size_t t = 0; t < T; t++) {
            x[t] = (double)(t + 1) * p->dt;
            for (size_t c = 0; c < 2; c++) r->gonogo_trace[c * T + t] /= n[c] > 0 ? n[c] : 1;
        }
        static const char *const nm[2] = {"no-go trials", "go trials"};
        char title[128];
        snprintf(title, sizeof title, "go/no-go: mean P(go), rule %s", ctx->rule);
        image_plot pl = {title, "time (ms)", "P(go)", x, r->gonogo_trace, NULL, NULL, 2, T, nm, 0, 0, 0};
        st = image_write_plot(experiment_figure_path(ctx, "go_output.png"), &pl);
        free(x);
    }
    return st;
}

/* flipflop: the three outputs and targets of test trial 0. */
static int flipflop_figure(run_ctx *ctx, cog_run *r, size_t T) {
    double *x = malloc(T * sizeof *x), *y = malloc(6 * T * sizeof *y);
    if (!x || !y) { free(x); free(y); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    const double *yt = r->test->y;
    for (size_t t = 0; t < T; t++) {
        x[t] = (double)t;
        for (size_t k = 0; k < 3; k++) {
            /* channel k drawn at offset 3k so the three bits do not overlap */
            y[(2 * k) * T + t] = r->out[t * 3 + k] + 3.0 * (double)k;
            y[(2 * k + 1) * T + t] = yt[t * 3 + k] + 3.0 * (double)k;
        }
    }
    static const char *const nm[6] = {"output 1", "target 1", "output 2", "target 2", "output 3", "target 3"};
    char title[128];
    snprintf(title, sizeof title, "3-bit flip-flop, rule %s (bit k offset by 3k)", ctx->rule);
    image_plot pl = {title, "step", "output", x, y, NULL, NULL, 6, T, nm, 0, 0, 0};
    int st = image_write_plot(experiment_figure_path(ctx, "flipflop.png"), &pl);
    free(x); free(y);
    return st;
}

static int cog_run_fn(run_ctx *ctx) {
    const config *cfg = ctx->cfg;
    const char *rule = config_str(cfg, "train.rule"), *en = ctx->experiment;
    cog_kind kind;
    const experiment *e = experiment_find(en);
    const char *tname = e && !strcmp(e->name, "delayed-response") ? "delayed_response" : e ? e->name : en;
    if (cog_kind_parse(tname, &kind) != 0)
        return engram_fail(ENGRAM_EINVAL, "cognitive: unknown task '%s'", en);
    long steps = config_int(cfg, "train.steps"), eval_every = config_int(cfg, "train.eval_every");
    long ckpt_every = config_int(cfg, "run.checkpoint_every");
    double criterion = config_real(cfg, "train.criterion");
    int xent = strcmp(config_str(cfg, "train.loss"), "xent") == 0;
    if (kind == COG_FLIPFLOP && xent)
        return engram_fail(ENGRAM_EINVAL, "flipflop: the targets are +-1 levels; set train.loss = mse");
    if (kind != COG_FLIPFLOP && !xent)
        return engram_fail(ENGRAM_EINVAL, "%s: the targets are choice classes; set train.loss = xent", en);
    cog_run r;
    memset(&r, 0, sizeof r);
    cog_params prm;
    int st = cog_params_from_config(cfg, kind, &prm);
    if (st != ENGRAM_OK) return st;
    int rate_rnn = !strcmp(rule, "bptt") || !strcmp(rule, "fa") || !strcmp(rule, "rflo") ||
                   !strcmp(rule, "esn");
    if (!rate_rnn && (config_bool(cfg, "model.dale") || !config_bool(cfg, "model.autapses") ||
                      config_real(cfg, "model.rec_density") < 1 || config_str(cfg, "model.mask_in")[0] ||
                      config_str(cfg, "model.mask_rec")[0] || config_str(cfg, "model.mask_out")[0] ||
                      config_str(cfg, "model.fixed")[0]))
        return engram_fail(ENGRAM_EINVAL, "%s: the model.* constraints (Dale, masks, fixed weights, "
                           "autapses) apply to the rate-RNN rules bptt, fa, rflo and esn, not to %s",
                           en, rule);
    r.lt = learner_type_find(rule);
    if (!r.lt)
        return engram_fail(ENGRAM_EINVAL, "%s: rule '%s' is not available in this build "
                           "(engram list rules)", en, rule);
    r.tk = cog_task_alloc(&prm);
    if (!r.tk) return ENGRAM_EINVAL;
    r.p = cog_task_params(r.tk);
    size_t T_max = r.tk->t_max, O = r.tk->n_out, I = r.tk->n_in;
    size_t n_test = (size_t)config_int(cfg, "task.test_trials");
    r.l = r.lt->alloc(cfg, I, O, T_max, ctx->seed);
    if (!r.l) { cog_run_free(&r); return ENGRAM_EINVAL; }
    size_t n_extra = r.lt->n_extra(r.l), N = 0;
    if (n_extra > LEARNER_MAX_EXTRA) n_extra = LEARNER_MAX_EXTRA;
    r.lt->reset(r.l);
    r.lt->state(r.l, &N);
    r.N = N;
    r.batch = trial_batch_alloc((size_t)config_int(cfg, "train.batch"), r.tk);
    r.test = trial_batch_alloc(n_test, r.tk);
    r.info = calloc(n_test, sizeof *r.info);
    r.choice = calloc(n_test, sizeof *r.choice);
    r.ctime = calloc(n_test, sizeof *r.ctime);
    r.data = rng_stream_alloc(ctx->seed, "data", 0);
    r.out = calloc(T_max * O, sizeof *r.out);
    r.act = calloc(T_max * (N ? N : 1), sizeof *r.act);
    r.n_eval_max = (size_t)(steps / eval_every) + 2;
    r.curve = calloc(r.n_eval_max * 3, sizeof *r.curve);
    r.n_state = LEARNER_S_FIXED;
    r.state = calloc(r.n_state, sizeof *r.state);
    gsl_rng *rt = rng_stream_alloc(ctx->seed, "test", 0);
    if (!r.batch || !r.test || !r.info || !r.choice || !r.ctime || !r.data || !r.out || !r.act ||
        !r.curve || !r.state || !rt) {
        gsl_rng_free(rt);
        cog_run_free(&r);
        return engram_fail(ENGRAM_ENOMEM, "%s: out of memory", en);
    }
    for (size_t i = 0; i < n_test; i++) {
        size_t Tt = r.test->t_max;
        r.test->len[i] = cog_trial(r.tk, rt, r.test->x + i * Tt * I, r.test->y + i * Tt * O,
                                   r.test->mask + i * Tt, &r.info[i]);
    }
    gsl_rng_free(rt);
    r.state[LEARNER_S_CRIT] = -1;
    for (size_t k = 0; k < LEARNER_MAX_EXTRA; k++) r.state[LEARNER_S_EXTRA + k] = NAN;

    ckpt_blob blobs[COG_MAX_BLOBS];
    size_t nb = r.lt->blobs(r.l, blobs, COG_MAX_BLOBS - 4), nb_learner = nb;
    double wall = 0;
    blobs[nb++] = (ckpt_blob){"cog.data_rng", gsl_rng_state(r.data), gsl_rng_size(r.data)};
    blobs[nb++] = (ckpt_blob){"cog.state", r.state, r.n_state * sizeof(double)};
    blobs[nb++] = (ckpt_blob){"cog.curve", r.curve, r.n_eval_max * 3 * sizeof(double)};
    blobs[nb++] = (ckpt_blob){"cog.wall", &wall, sizeof wall};

    long step = 0;
    if (ctx->resuming) {
        st = run_ckpt_load(ctx, &step, blobs, nb, NULL);
        if (st != ENGRAM_OK) { cog_run_free(&r); return st; }
        ctx->wall_offset = wall;
    }
    int has_top = kind == COG_DECISION || kind == COG_MANTE || kind == COG_ROMO;
    int is_ff = kind == COG_FLIPFLOP;
    const char *cols[4 + LEARNER_MAX_EXTRA] = {"loss", "accuracy"};
    size_t nc = 2;
    if (has_top) cols[nc++] = "accuracy_top";
    if (is_ff) cols[nc++] = "mse";
    cols[nc] = "train_loss";
    for (size_t k = 0; k < n_extra; k++) cols[nc + 1 + k] = r.lt->extra_name(r.l, k);
    st = run_metrics_begin(ctx, cols, nc + 1 + n_extra, step);
    if (st != ENGRAM_OK) { cog_run_free(&r); return st; }
    const char *score_name = has_top ? "accuracy_top" : is_ff ? "mse" : "accuracy";

    double acc = 0, acc_top = NAN, mse = NAN, test_loss = 0;
    cog_eval_arg ea = {&r, xent, has_top, is_ff};
    learner_loop lp = {en, rule, score_name, r.lt, r.l, r.tk, r.batch, r.data, steps, eval_every,
                       ckpt_every, criterion, is_ff, r.state, r.curve, r.n_eval_max, nc, n_extra,
                       blobs, nb, &wall, cog_eval, &ea, 0, 0, 0};
    st = learner_loop_run(ctx, &lp, step);
    if (st != ENGRAM_OK) { cog_run_free(&r); return st; }

    /* final metrics, arrays and figures */
    if (kind == COG_GONOGO) {
        r.gonogo_trace = calloc(2 * T_max, sizeof *r.gonogo_trace);
        if (!r.gonogo_trace) { cog_run_free(&r); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    }
    cog_evaluate(&r, xent, &acc, &acc_top, &mse, &test_loss);
    run_summary_real(ctx, "accuracy", acc);
    if (has_top) run_summary_real(ctx, "accuracy_top", acc_top);
    if (is_ff) run_summary_real(ctx, "mse", mse);
    run_summary_int(ctx, "steps_to_criterion", (long)r.state[LEARNER_S_CRIT]);
    run_summary_real(ctx, "loss", test_loss);
    if (kind == COG_DECISION) {
        double (*const v[1])(const cog_run *, size_t, int *) = {val_signed_coh};
        static const char *const nm[1] = {"data"}, *const ky[1] = {"psy"};
        st = psy_figure(ctx, &r, 1, v, NULL, NULL, nm, ky, "signed coherence (%), + = evidence for choice 2", 10);
        if (st == ENGRAM_OK) st = chrono_figure(ctx, &r);
    } else if (kind == COG_ROMO) {
        double (*const v[1])(const cog_run *, size_t, int *) = {val_romo};
        static const char *const nm[1] = {"data"}, *const ky[1] = {"psy"};
        st = psy_figure(ctx, &r, 1, v, NULL, NULL, nm, ky, "f2 - f1 (Hz)", 4);
    } else if (kind == COG_MANTE) {
        double (*const v[4])(const cog_run *, size_t, int *) = {val_mante, val_mante, val_mante, val_mante};
        static const int cx[4] = {0, 0, 1, 1}, ft[4] = {0, 1, 1, 0};
        static const char *const nm[4] = {"motion context vs motion", "motion context vs colour",
                                          "colour context vs colour", "colour context vs motion"};
        static const char *const ky[4] = {"motion_ctx_motion", "motion_ctx_colour",
                                          "colour_ctx_colour", "colour_ctx_motion"};
        st = psy_figure(ctx, &r, 4, v, cx, ft, nm, ky, "signed coherence (%)", 10);
    } else if (kind == COG_FLIPFLOP) {
        st = ENGRAM_OK;
    } else {
        st = accuracy_figures(ctx, &r);
    }
    size_t T = cog_run_item(&r, 0, r.act);
    size_t sh_o[2] = {T, O}, sh_a[2] = {T, N};
    if (st == ENGRAM_OK) st = run_write_npy(ctx, "outputs.npy", r.out, 2, sh_o);
    if (st == ENGRAM_OK && N) st = run_write_npy(ctx, "activity.npy", r.act, 2, sh_a);
    if (st == ENGRAM_OK) st = learner_write_params(ctx, rule, blobs, nb_learner, I, O);
    if (st == ENGRAM_OK && kind == COG_FLIPFLOP) st = flipflop_figure(ctx, &r, T);
    if (st == ENGRAM_OK) { /* (I + O, T): inputs then outputs, time along x */
        double *z = malloc((I + O) * T * sizeof *z);
        if (!z) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
        for (size_t t = 0; z && t < T; t++) {
            for (size_t k = 0; k < I; k++) z[k * T + t] = r.test->x[t * I + k];
            for (size_t k = 0; k < O; k++) z[(I + k) * T + t] = r.out[t * O + k];
        }
        char title[128];
        snprintf(title, sizeof title, "%s test trial 0: %zu inputs, then %zu outputs", en, I, O);
        if (z) st = image_write_raster(experiment_figure_path(ctx, "trial.png"), z, I + O, T, IMAGE_CMAP_VIRIDIS,
                                       title, "time step", "inputs | outputs");
        free(z);
    }
    if (st == ENGRAM_OK) {
        char title[128];
        snprintf(title, sizeof title, "%s, rule %s, seed %llu", ctx->experiment, ctx->rule,
                 (unsigned long long)ctx->seed);
        st = experiment_plot_curve(experiment_figure_path(ctx, "learning_curve.png"), r.curve,
                                   (size_t)r.state[LEARNER_S_N_EVAL], title, score_name, "score / loss");
    }
    cog_run_free(&r);
    return st;
}

#define COG_EXPERIMENT(VAR, NAME, TABLES, DESC, METRIC, HIGHER)                           \
    const experiment VAR = {NAME, DESC, TABLES, cog_rules, cog_quick, METRIC, HIGHER, METRIC, \
                            cog_run_fn, 1}

COG_EXPERIMENT(exp_decision, "decision", decision_tables,
               "perceptual decision making (NeuroGym PerceptualDecisionMaking): psychometric and chronometric curves",
               "accuracy", 1);
COG_EXPERIMENT(exp_delayed_response, "delayed-response", delayed_response_tables,
               "oculomotor delayed response: a cued location held over a variable delay",
               "accuracy", 1);
COG_EXPERIMENT(exp_dms, "dms", dms_tables, "delayed match-to-sample", "accuracy", 1);
COG_EXPERIMENT(exp_romo, "romo", romo_tables,
               "parametric working memory (Romo et al. 1999): is f1 > f2 across a delay",
               "accuracy", 1);
COG_EXPERIMENT(exp_mante, "mante", mante_tables,
               "context-dependent integration (Mante et al. 2013): per-context psychometric curves",
               "accuracy", 1);
COG_EXPERIMENT(exp_gonogo, "gonogo", gonogo_tables, "go/no-go", "accuracy", 1);
COG_EXPERIMENT(exp_flipflop, "flipflop", flipflop_tables,
               "the 3-bit flip-flop (Sussillo & Barak 2013), output mse", "mse", 0);
