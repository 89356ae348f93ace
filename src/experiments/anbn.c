/* anbn.c: the `anbn` experiment: any sequence learner (learner.h) trained on AnBn
 * next-symbol prediction (anbn.h), as in Cheng & Brown 2025 (exp9 / exp_anbn).
 *
 * The run trains for train.steps updates of train.batch trials with counts drawn from
 * [task.n_min, task.n_max] (stream "data"), and evaluates at step 0, every
 * train.eval_every updates and at the end on a fixed test set: every count of the range,
 * task.test_copies times, run closed-loop through the learner's step() from reset().
 * metrics.csv: step, loss (test loss per counted step), accuracy (fraction of test
 * sequences with at most one wrong argmax prediction), train_loss (mean training loss
 * since the previous evaluation), the learner's extras (e.g. grad_angle_deg), wall_s.
 * summary.json: accuracy (final), steps_to_criterion (first evaluation step with
 * accuracy >= train.criterion, -1 if never), loss (final test loss).
 * Files: learning_curve.png (accuracy and test loss against updates),
 * output_probs.png/.npy (the outputs over the longest test sequence, (T, O)),
 * activity.npy (the hidden state over that sequence, (T, N)), the trained parameters one
 * .npy per matrix (learner_param_views: w_rec, w_in, b_rec, w_out, b_out, and fb_out,
 * fb_rec for fa and rflo; w_ab, w_ba, w_ia, w_bo for r2n2),
 * test_accuracy_by_count.npy ((counts,) final fraction correct per count).
 * Checkpoints (run.checkpoint_every > 0) are written at evaluation points after the
 * metrics row, holding the learner's blobs, the data stream's state, the step, the
 * curve so far and the wall time; a resumed run ends byte-identical to an uninterrupted
 * one (wall-clock column aside).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engram/anbn.h"
#include "engram/engram.h"
#include "engram/experiment.h"
#include "engram/image.h"
#include "engram/learner.h"
#include "engram/r2n2.h"
#include "engram/rng.h"
#include "engram/run.h"
#include "experiments/figure_path.h"

static const cfg_key anbn_keys[] = {
    {"train.rule", CFG_ENUM, "bptt", 0, 0, "bptt|fa|rflo|esn|r2n2", "learning rule"},
    {"task.n_min", CFG_INT, "1", 1, 1000, NULL, "smallest count n (sequences a^n | b^n |)"},
    {"task.n_max", CFG_INT, "4", 1, 1000, NULL, "largest count n"},
    {"task.test_copies", CFG_INT, "2", 1, 1000, NULL, "copies of every count in the fixed test set"},
    {"train.steps", CFG_INT, "3000", 0, 1e9, NULL, "parameter updates"},
    {"train.eval_every", CFG_INT, "100", 1, 1e9, NULL, "updates between evaluations on the test set"},
    {"train.criterion", CFG_REAL, "0.95", 0, 1, NULL, "accuracy that defines steps_to_criterion"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

static const cfg_key *const anbn_tables[] = {anbn_keys, learner_keys, r2n2_keys, NULL};
static const char *const anbn_rules[] = {"bptt", "fa", "rflo", "esn", "r2n2", NULL};
static const char *const anbn_quick[] = {"train.steps=300", "train.eval_every=50", NULL};

#define ANBN_MAX_BLOBS 24

/* Everything a run holds, so that one cleanup path frees it. */
typedef struct anbn_run {
    const learner_type *lt;
    learner *l;
    task *tk;
    trial_batch *batch, *test;
    gsl_rng *data;
    double *out;      /* (T, O) outputs of one test trial */
    double *act;      /* (T, N) hidden states of one test trial */
    double *curve;    /* (E, 3): step, test loss, accuracy per evaluation */
    double *state;    /* run state saved in checkpoints, LEARNER_S_* (learner.h) */
    size_t n_eval_max, n_state;
} anbn_run;

static void anbn_run_free(anbn_run *r) {
    if (r->l) r->lt->free(r->l);
    task_free(r->tk);
    trial_batch_free(r->batch);
    trial_batch_free(r->test);
    gsl_rng_free(r->data);
    free(r->out);
    free(r->act);
    free(r->curve);
    free(r->state);
}

/* Runs test item i closed-loop; writes outputs (T, O) into r->out and, if act, states
 * (T, N). */
static size_t anbn_run_item(anbn_run *r, size_t i, double *act) {
    return learner_run_item(r->lt, r->l, r->test, i, r->out, act);
}

/* Evaluates the test set: fraction correct and mean loss per counted step (xent: the
 * negative log probability of the target; mse: 1/2 |o - y|^2). by_count (counts,) gets
 * the fraction correct per count if not NULL. */
static void anbn_evaluate(anbn_run *r, int xent, size_t n_min, size_t n_counts, double *acc,
                          double *loss, double *by_count) {
    const trial_batch *b = r->test;
    size_t O = b->n_out, correct = 0;
    double total = 0, steps = 0;
    if (by_count) memset(by_count, 0, n_counts * sizeof *by_count);
    for (size_t i = 0; i < b->n_batch; i++) {
        size_t T = anbn_run_item(r, i, NULL);
        const double *y = b->y + i * b->t_max * O;
        int ok = anbn_errors(r->out, y, T, O) <= 1;
        correct += (size_t)ok;
        if (by_count) by_count[(T - 1) / 2 - n_min] += ok;
        for (size_t t = 0; t < T; t++) {
            const double *o = r->out + t * O, *yy = y + t * O;
            for (size_t k = 0; k < O; k++) {
                if (xent) { if (yy[k] != 0) total -= yy[k] * log(o[k]); }
                else total += 0.5 * (o[k] - yy[k]) * (o[k] - yy[k]);
            }
            steps += 1;
        }
    }
    if (by_count)
        for (size_t c = 0; c < n_counts; c++) by_count[c] /= (double)(b->n_batch / n_counts);
    *acc = (double)correct / (double)b->n_batch;
    *loss = total / steps;
}

/* The loop's evaluation (learner_loop): columns loss, accuracy; the score is the
 * accuracy; the last evaluation also fills the accuracy per count. */
typedef struct anbn_eval_arg {
    anbn_run *r;
    int xent;
    size_t n_min, n_counts;
    double *by_count;
} anbn_eval_arg;

static void anbn_eval(void *arg, long step, int last, double *row, double *acc, double *score,
                      double *loss) {
    anbn_eval_arg *a = arg;
    (void)step;
    anbn_evaluate(a->r, a->xent, a->n_min, a->n_counts, acc, loss, last ? a->by_count : NULL);
    row[0] = *loss;
    row[1] = *acc;
    *score = *acc;
}

static int anbn_run_fn(run_ctx *ctx) {
    const config *cfg = ctx->cfg;
    const char *rule = config_str(cfg, "train.rule");
    size_t n_min = (size_t)config_int(cfg, "task.n_min"), n_max = (size_t)config_int(cfg, "task.n_max");
    size_t copies = (size_t)config_int(cfg, "task.test_copies");
    long steps = config_int(cfg, "train.steps"), eval_every = config_int(cfg, "train.eval_every");
    long ckpt_every = config_int(cfg, "run.checkpoint_every");
    double criterion = config_real(cfg, "train.criterion");
    int xent = !config_has(cfg, "train.loss") || strcmp(config_str(cfg, "train.loss"), "xent") == 0;
    anbn_run r;
    memset(&r, 0, sizeof r);
    r.lt = learner_type_find(rule);
    if (!r.lt)
        return engram_fail(ENGRAM_EINVAL, "anbn: rule '%s' is not available in this build "
                           "(engram list rules)", rule);
    r.tk = anbn_task_alloc(n_min, n_max);
    if (!r.tk) return ENGRAM_EINVAL;
    int st = ENGRAM_OK;
    size_t n_counts = n_max - n_min + 1, T_max = r.tk->t_max, O = r.tk->n_out;
    r.l = r.lt->alloc(cfg, r.tk->n_in, O, T_max, ctx->seed);
    if (!r.l) { anbn_run_free(&r); return ENGRAM_EINVAL; }
    size_t n_extra = r.lt->n_extra(r.l), N = 0;
    if (n_extra > LEARNER_MAX_EXTRA) n_extra = LEARNER_MAX_EXTRA;
    r.lt->reset(r.l);
    r.lt->state(r.l, &N);
    r.batch = trial_batch_alloc((size_t)config_int(cfg, "train.batch"), r.tk);
    r.test = trial_batch_alloc(n_counts * copies, r.tk);
    r.data = rng_stream_alloc(ctx->seed, "data", 0);
    r.out = calloc(T_max * O, sizeof *r.out);
    r.act = calloc(T_max * (N ? N : 1), sizeof *r.act);
    r.n_eval_max = (size_t)(steps / eval_every) + 2;
    r.curve = calloc(r.n_eval_max * 3, sizeof *r.curve);
    r.n_state = LEARNER_S_FIXED;
    r.state = calloc(r.n_state, sizeof *r.state);
    if (!r.batch || !r.test || !r.data || !r.out || !r.act || !r.curve || !r.state) {
        anbn_run_free(&r);
        return engram_fail(ENGRAM_ENOMEM, "anbn: out of memory");
    }
    /* the fixed test set: count n_min + (i mod counts) for item i */
    for (size_t i = 0; i < r.test->n_batch; i++) {
        size_t Tt = r.test->t_max;
        r.test->len[i] = anbn_trial(n_min + i % n_counts, r.test->x + i * Tt * r.test->n_in,
                                    r.test->y + i * Tt * O, r.test->mask + i * Tt);
    }
    r.state[LEARNER_S_CRIT] = -1;
    for (size_t k = 0; k < LEARNER_MAX_EXTRA; k++) r.state[LEARNER_S_EXTRA + k] = NAN;

    /* checkpoint blobs: the learner's, the data stream, the run state, the curve, wall */
    ckpt_blob blobs[ANBN_MAX_BLOBS];
    size_t nb = r.lt->blobs(r.l, blobs, ANBN_MAX_BLOBS - 4);
    double wall = 0;
    blobs[nb++] = (ckpt_blob){"anbn.data_rng", gsl_rng_state(r.data), gsl_rng_size(r.data)};
    blobs[nb++] = (ckpt_blob){"anbn.state", r.state, r.n_state * sizeof(double)};
    blobs[nb++] = (ckpt_blob){"anbn.curve", r.curve, r.n_eval_max * 3 * sizeof(double)};
    blobs[nb++] = (ckpt_blob){"anbn.wall", &wall, sizeof wall};

    long step = 0;
    if (ctx->resuming) {
        st = run_ckpt_load(ctx, &step, blobs, nb, "anbn.curve");
        if (st != ENGRAM_OK) { anbn_run_free(&r); return st; }
        ctx->wall_offset = wall;
    }
    const char *cols[3 + LEARNER_MAX_EXTRA] = {"loss", "accuracy", "train_loss"};
    for (size_t k = 0; k < n_extra; k++) cols[3 + k] = r.lt->extra_name(r.l, k);
    st = run_metrics_begin(ctx, cols, 3 + n_extra, step);
    if (st != ENGRAM_OK) { anbn_run_free(&r); return st; }

    /* the final evaluation is the last metrics row's: one evaluation, shared numbers */
    double *by_count = calloc(n_counts, sizeof *by_count);
    if (!by_count) { anbn_run_free(&r); return engram_fail(ENGRAM_ENOMEM, "anbn: out of memory"); }
    anbn_eval_arg ea = {&r, xent, n_min, n_counts, by_count};
    learner_loop lp = {"anbn", rule, "accuracy", r.lt, r.l, r.tk, r.batch, r.data, steps, eval_every,
                       ckpt_every, criterion, 0, r.state, r.curve, r.n_eval_max, 2, n_extra,
                       blobs, nb, &wall, anbn_eval, &ea, 0, 0, 0};
    st = learner_loop_run(ctx, &lp, step);
    if (st != ENGRAM_OK) { free(by_count); anbn_run_free(&r); return st; }
    double acc = lp.acc, test_loss = lp.loss;

    /* final metrics (from the last evaluation above), arrays and figures */
    run_summary_real(ctx, "accuracy", acc);
    run_summary_int(ctx, "steps_to_criterion", (long)r.state[LEARNER_S_CRIT]);
    run_summary_real(ctx, "loss", test_loss);
    size_t shp[2] = {n_counts, 0};
    st = run_write_npy(ctx, "test_accuracy_by_count.npy", by_count, 1, shp);
    free(by_count);
    size_t longest = n_counts - 1; /* item n_counts - 1 has count n_max */
    size_t T = anbn_run_item(&r, longest, r.act);
    size_t sh_o[2] = {T, O}, sh_a[2] = {T, N};
    if (st == ENGRAM_OK) st = run_write_npy(ctx, "output_probs.npy", r.out, 2, sh_o);
    if (st == ENGRAM_OK && N) st = run_write_npy(ctx, "activity.npy", r.act, 2, sh_a);
    /* trained parameters, one .npy per named matrix (learner_param_views) */
    for (size_t k = 0; st == ENGRAM_OK && k + 4 < nb; k++) {
        param_view pv[5];
        size_t nv = learner_param_views(&blobs[k], r.tk->n_in, O, pv);
        if (!strcmp(blobs[k].name, "rnn.feedback") && !strcmp(rule, "bptt")) nv = 0; /* unused */
        if (nv) st = run_write_params(ctx, NULL, blobs[k].data, pv, nv);
    }
    if (st == ENGRAM_OK) {
        /* (O, T): one row per symbol, time along x */
        double *z = malloc(O * T * sizeof *z);
        if (!z) st = engram_fail(ENGRAM_ENOMEM, "anbn: out of memory");
        for (size_t t = 0; z && t < T; t++)
            for (size_t k = 0; k < O; k++) z[k * T + t] = r.out[t * O + k];
        char title[128];
        snprintf(title, sizeof title, "outputs, n = %zu", n_max);
        if (z) st = image_write_raster(experiment_figure_path(ctx, "output_probs.png"), z, O, T, IMAGE_CMAP_VIRIDIS,
                                       title, "time step", "a b |");
        free(z);
    }
    if (st == ENGRAM_OK) {
        char title[128];
        snprintf(title, sizeof title, "AnBn, rule %s, seed %llu", ctx->rule, (unsigned long long)ctx->seed);
        st = experiment_plot_curve(experiment_figure_path(ctx, "learning_curve.png"), r.curve,
                                   (size_t)r.state[LEARNER_S_N_EVAL], title, "accuracy", "accuracy / loss");
    }
    anbn_run_free(&r);
    return st;
}

const experiment exp_anbn = {
    "anbn",
    "AnBn next-symbol prediction (Cheng & Brown 2025) with any sequence learner",
    anbn_tables,
    anbn_rules,
    anbn_quick,
    "accuracy",
    1,
    "accuracy",
    anbn_run_fn,
    1,
};
