/* tmaze.c: the `tmaze` experiment: a sequence learner (default r2n2) trained by
 * next-input prediction on scripted correct T-maze episodes (tmaze.h), with the number
 * of replays per epoch set by performance (exp7 / exp8 of Cheng & Brown's code), then
 * tested in closed loop where the network's chosen action is executed.
 *
 * Training. An epoch offers train.n_seq episodes; the schedule decides how many are
 * replayed (each replay = one experienced episode, stored once in the r2n2 cache, one
 * forward and one reverse replay, one Adam step; other rules: one train() call):
 *   exp7:  n = int((1 - r) n_seq), r = fraction of correct replays in the last epoch
 *   exp8:  n = int(min(0.1 ln(e) + 1, 1) n_seq), e = mean squared error per output
 *          component and step in the last epoch
 *   fixed: n = n_seq
 * with n >= train.min_replays (0: the schedule's own floor, 100 for exp8 as released,
 * 1 for exp7, which avoids the released exp7's empty epochs). train.exp8_error =
 * released uses the released error scale (the mean per-step loss). The first epoch replays n_seq. A replay is correct when the
 * argmax of the predicted action (outputs 0..3) equals the next scripted action at
 * every counted step, judged with the learner's step() just before the replay
 * (train.judge = step) or from the replay's own forward pass (replay: one pass fewer;
 * the same judgement when the replay starts from the state step() starts from and sees
 * the same inputs, i.e. rate RNNs, and r2n2 with h0 = 0 and no cache).
 * Training stops when the mean correctness over the last train.window replays reaches
 * train.criterion (the released exp2 uses 0.85 over 3 n_seq), or after
 * train.max_epochs; summary `train_correct` is that mean.
 * metrics.csv (one row per epoch): loss, correct, replays, fwd_replays, rev_replays
 * (cumulative, from the r2n2 learner; NaN for other rules), recall_fail (fraction of the
 * epoch's replays whose cache recall differed from the episode), recon_err (largest
 * distance between a reverse replay's end and its start over the epoch's replays).
 *
 * Test (closed loop). test.trials trials on the test geometry: cued: one trial per
 * episode with the cue alternating left/right; alternation: episodes of task.n_trials
 * trials (trial 1 cued, alternating), state carried across trials, the reward of trial
 * k >= 2 at the arm opposite to the arm the network chose in trial k-1. At each step
 * the argmax of outputs 0..3 is executed; a trial that has not reached an arm end
 * after test.step_factor (l_cue + l_delay + l_branch) steps is unrewarded (the
 * released validate allows factor 1). summary `reward_rate` = rewarded trials / trials
 * (also `reward_rate_choice` for alternation trials k >= 2); with test.heldout_trials
 * > 0, `reward_rate_heldout` on geometries one cell beyond every training range
 * (half above the maxima, half below the minima, cue sides alternating);
 * `reward_rate_chance` = 0.5 (a random arm choice); `correct_last_epoch` (chance ~0:
 * every predicted action of the replay must be right).
 *
 * Figures and arrays: cache_replay_reverse.png / _forward.png and .npy (overlap of the
 * cache state with each stored pattern at every pump step, (steps, P)), replays.png
 * and replays.npy (replays per epoch), learning_curve.png (correct per epoch),
 * place_cells.png / place_activity.npy (units x linear track position: mean activity
 * over the test trials, each unit min-max normalised, units sorted by the position of
 * their peak; positions = stem cells top to bottom, junction, left arm inward to
 * outward, right arm inward to outward), ratemaps.png / ratemaps.npy ((units, rows,
 * cols) mean activity per maze cell, NaN for walls and unvisited cells; tiles of 16
 * units evenly spaced in peak order). summary `place_coverage` = fraction of track
 * positions holding the peak of at least one unit. Track cells split by trial type
 * (tm_split_cells, splitcells.h): split_place_cells.png, split_activity.npy,
 * cell_types.csv and summary cells_place / cells_ramp / cells_other / cells_splitter.
 * heldout.csv: one row per held-out trial (geometry, rewarded and chosen arm, steps, the
 * first action off the correct path, its row relative to the arm row and the action);
 * summary `heldout_arm_reached` = fraction of held-out trials that reached an arm end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/experiment.h"
#include "engram/image.h"
#include "engram/learner.h"
#include "engram/r2n2.h"
#include "engram/rng.h"
#include "engram/splitcells.h"
#include "engram/run.h"
#include "engram/tmaze.h"
#include "experiments/figure_path.h"

static const cfg_key tmaze_keys[] = {
    {"train.rule", CFG_ENUM, "r2n2", 0, 0, "r2n2|bptt|fa|rflo|esn", "learning rule"},
    {"task.variant", CFG_ENUM, "alternation", 0, 0, "cued|alternation",
     "cued delayed T-maze (released task) or multi-trial delayed alternation"},
    {"task.n_trials", CFG_INT, "2", 2, 20, NULL, "alternation: trials per episode"},
    {"task.cue_min", CFG_INT, "2", 1, 200, NULL, "training: fewest cue cells"},
    {"task.cue_max", CFG_INT, "3", 1, 200, NULL, "training: most cue cells"},
    {"task.delay_min", CFG_INT, "6", 0, 200, NULL, "training: fewest delay cells"},
    {"task.delay_max", CFG_INT, "10", 0, 200, NULL, "training: most delay cells"},
    {"task.branch_min", CFG_INT, "2", 1, 200, NULL, "training: shortest arm"},
    {"task.branch_max", CFG_INT, "4", 1, 200, NULL, "training: longest arm"},
    {"task.noise", CFG_REAL, "0.01", 0, 0.2, NULL, "input noise std"},
    {"test.cue", CFG_INT, "3", 1, 200, NULL, "test: cue cells"},
    {"test.delay", CFG_INT, "8", 0, 200, NULL, "test: delay cells"},
    {"test.branch", CFG_INT, "3", 1, 200, NULL, "test: arm length"},
    {"test.trials", CFG_INT, "40", 1, 100000, NULL, "closed-loop test trials"},
    {"test.step_factor", CFG_REAL, "1", 1, 100, NULL, "closed-loop steps allowed per trial, in "
     "units of cue + delay + branch (released validate: 1)"},
    {"test.heldout_trials", CFG_INT, "0", 0, 100000, NULL, "extra closed-loop trials on held-out "
     "geometries (each length one cell beyond the training ranges, both cue sides balanced; 0 = off)"},
    {"test.cache_capacity", CFG_BOOL, "false", 0, 0, NULL, "also measure the content-addressed "
     "cache's recall error against load (cache_capacity.png / .npy)"},
    {"train.schedule", CFG_ENUM, "exp7", 0, 0, "exp7|exp8|fixed", "replays per epoch"},
    {"train.n_seq", CFG_INT, "400", 1, 1e7, NULL, "episodes offered per epoch (N_seq)"},
    {"train.min_replays", CFG_INT, "0", 0, 1e7, NULL, "fewest replays per epoch (0 = the "
     "schedule's released floor: exp7 1 (released: none), exp8 100)"},
    {"train.exp8_error", CFG_ENUM, "engram", 0, 0, "engram|released", "exp8 error e: mean squared "
     "error per output component and step (engram), or the released mean of the per-step loss "
     "0.5 ||o - y||^2 (5.5x larger for 11 outputs)"},
    {"train.judge", CFG_ENUM, "step", 0, 0, "step|replay", "a replay's correctness: from a "
     "separate closed-loop step() pass just before it (step), or from the replay's own forward "
     "pass, one pass fewer per replay (replay; rules without one fall back to step)"},
    {"train.max_epochs", CFG_INT, "400", 1, 1e7, NULL, "epochs at most"},
    {"train.window", CFG_INT, "400", 1, 1e7, NULL, "replays averaged for the stopping rule"},
    {"train.criterion", CFG_REAL, "0.9", 0, 1, NULL, "stop when the mean correctness over the "
     "last train.window replays reaches this"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

static const cfg_key *const tmaze_tables[] = {tmaze_keys, learner_keys, r2n2_keys, NULL};
static const char *const tmaze_rules[] = {"r2n2", "bptt", "fa", "rflo", "esn", NULL};
static const char *const tmaze_quick[] = {"train.n_seq=40", "train.max_epochs=6",
                                          "train.window=80", "test.trials=8", "r2n2.n_h=16",
                                          NULL};

/* run state saved in checkpoints: scalars then the window ring */
enum { S_EPOCH, S_PREV_R, S_PREV_E, S_WIN_N, S_WIN_POS, S_N_EPOCHS, S_REPLAYS, S_FIXED };

typedef struct tm_run {
    const learner_type *lt;
    learner *l;
    task *tk;
    trial_batch *b;
    gsl_rng *data;
    tmaze_task_params tp;
    double *state;     /* (S_FIXED + window,) */
    double *curve;     /* (max_epochs, 3): replays, correct, loss */
    double *out;       /* (O,) */
    size_t window, max_epochs;
} tm_run;

static void tm_free(tm_run *r) {
    if (r->l) r->lt->free(r->l);
    task_free(r->tk);
    trial_batch_free(r->b);
    if (r->data) gsl_rng_free(r->data);
    free(r->state);
    free(r->curve);
    free(r->out);
}

static int argmax4(const double *o) {
    int b = 0;
    for (int a = 1; a < 4; a++) if (o[a] > o[b]) b = a;
    return b;
}

/* 1 if the learner's predicted action matches the scripted one at every counted step. */
static int replay_correct(tm_run *r) {
    const trial_batch *b = r->b;
    size_t T = b->len[0], I = b->n_in, O = b->n_out;
    r->lt->reset(r->l);
    int ok = 1;
    for (size_t t = 0; t < T; t++) {
        r->lt->step(r->l, b->x + t * I, r->out);
        if (b->mask[t] > 0 && argmax4(r->out) != argmax4(b->y + t * O)) ok = 0;
    }
    return ok;
}

/* 1 if outputs (T, O) of the replay's own forward pass give the scripted action at
 * every counted step of batch item 0. */
static int outputs_correct(const tm_run *r, const double *out, size_t T) {
    const trial_batch *b = r->b;
    size_t O = b->n_out;
    for (size_t t = 0; t < T && t < b->len[0]; t++)
        if (b->mask[t] > 0 && argmax4(out + t * O) != argmax4(b->y + t * O)) return 0;
    return 1;
}

/* Linear track position of cell (row, col) (see the file comment), or -1. */
static long track_pos(const tmaze_env *e, size_t row, size_t col) {
    size_t stem = e->l_cue + e->l_delay, lb = e->l_branch;
    if (row < stem) return (long)row;
    if (row != stem) return -1;
    if (col == lb) return (long)stem;
    if (col < lb) return (long)(stem + (lb - col));
    return (long)(stem + lb + (col - lb));
}

/* One closed-loop trial: geometry, outcome and the first step off the correct path. */
typedef struct tm_trial {
    size_t lc, ld, lb;
    int stage;        /* trial of the episode: 0 = cued (sample), >= 1 = choice */
    int rewarded_arm; /* TMAZE_LEFT / TMAZE_RIGHT */
    int chosen;       /* arm end reached, -1 if none within the allowance */
    int rewarded;
    long steps;       /* actions executed */
    long err_step;    /* first action that differs from the correct one, -1 if none */
    long err_row;     /* its cell's row minus the arm row (< 0: in the stem, 0: arm row) */
    int err_action;
} tm_trial;

typedef struct tm_test {
    double reward_rate, reward_rate_choice;
    size_t n_pos, rows, cols, n_units;
    size_t lc, ld, lb;           /* geometry */
    double *pos_sum, *pos_cnt;   /* (units, n_pos), (n_pos,) */
    double *grid_sum, *grid_cnt; /* (units, rows*cols), (rows*cols,) */
    size_t n_trials;
    tm_trial *trials;            /* (n_trials,) */
    double *tr_sum, *tr_cnt;     /* with per-trial recording: (n_trials, n_pos, units), (n_trials, n_pos) */
} tm_test;

static void tm_test_free(tm_test *t) {
    free(t->pos_sum); free(t->pos_cnt); free(t->grid_sum); free(t->grid_cnt);
    free(t->trials); free(t->tr_sum); free(t->tr_cnt);
    memset(t, 0, sizeof *t);
}

/* The correct action at cell (row, col) of e: down in the stem, then toward the
 * rewarded arm's end. */
static int tm_correct_action(const tmaze_env *e) {
    if (e->row < e->l_cue + e->l_delay) return TMAZE_DOWN;
    return e->rewarded_arm;
}

/* Runs n_trials closed-loop trials on one geometry (see the file comment) into res
 * (caller zeroes it, frees it with tm_test_free); per_trial also records each trial's
 * mean activity per track position (tr_sum / tr_cnt). */
static int tm_closed_loop(tm_run *r, const config *cfg, uint64_t seed, tm_test *res, size_t lc,
                          size_t ld, size_t lb, size_t n_trials, const char *stream, int per_trial) {
    size_t per_ep = r->tp.variant == TMAZE_ALTERNATION ? r->tp.n_trials : 1;
    double noise = r->tp.noise;
    size_t N = 0;
    r->lt->reset(r->l);
    r->lt->state(r->l, &N);
    res->n_units = N;
    res->lc = lc; res->ld = ld; res->lb = lb;
    res->rows = lc + ld + 1;
    res->cols = 2 * lb + 1;
    res->n_pos = lc + ld + 1 + 2 * lb;
    size_t G = res->rows * res->cols;
    res->pos_sum = calloc(N * res->n_pos, sizeof(double));
    res->pos_cnt = calloc(res->n_pos, sizeof(double));
    res->grid_sum = calloc(N * G, sizeof(double));
    res->grid_cnt = calloc(G, sizeof(double));
    res->n_trials = n_trials;
    res->trials = calloc(n_trials, sizeof *res->trials);
    if (per_trial) {
        res->tr_sum = calloc(n_trials * res->n_pos * N, sizeof(double));
        res->tr_cnt = calloc(n_trials * res->n_pos, sizeof(double));
    }
    if (!res->pos_sum || !res->pos_cnt || !res->grid_sum || !res->grid_cnt || !res->trials ||
        (per_trial && (!res->tr_sum || !res->tr_cnt)))
        return engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory");
    gsl_rng *rn = rng_stream_alloc(seed, stream, 0);
    if (!rn) return engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory");
    double x[TMAZE_N_IN];
    size_t rewarded = 0, choice_trials = 0, choice_rewarded = 0;
    size_t max_steps = (size_t)(config_real(cfg, "test.step_factor") * (double)(lc + ld + lb));
    int prev_choice = -1, cue_arm = TMAZE_LEFT;
    for (size_t k = 0; k < n_trials; k++) {
        size_t in_ep = k % per_ep;
        int arm;
        if (in_ep == 0) {
            r->lt->reset(r->l);
            arm = cue_arm;
            cue_arm = cue_arm == TMAZE_LEFT ? TMAZE_RIGHT : TMAZE_LEFT;
        } else {
            arm = prev_choice == TMAZE_LEFT ? TMAZE_RIGHT : TMAZE_LEFT;
        }
        tmaze_env e;
        tmaze_env_reset(&e, lc, ld, lb, arm, in_ep == 0);
        tmaze_input(TMAZE_UP, 0, tmaze_env_obs(&e), x);
        int reward = 0, done = 0;
        tm_trial *tr = res->trials + k;
        *tr = (tm_trial){lc, ld, lb, (int)in_ep, arm, -1, 0, 0, -1, 0, -1};
        double *ts = per_trial ? res->tr_sum + k * res->n_pos * N : NULL;
        double *tc = per_trial ? res->tr_cnt + k * res->n_pos : NULL;
        for (size_t s = 0;; s++) {
            /* feed the current input (after an arm end: the arm-end input, as in the
             * training episodes) and record the state at the current cell */
            for (size_t i = 0; i < TMAZE_N_IN; i++) if (noise > 0) x[i] += gsl_ran_gaussian(rn, noise);
            r->lt->step(r->l, x, r->out);
            size_t n;
            const double *h = r->lt->state(r->l, &n);
            long p = track_pos(&e, e.row, e.col);
            size_t g = e.row * res->cols + e.col;
            for (size_t u = 0; u < N; u++) {
                if (p >= 0) res->pos_sum[u * res->n_pos + (size_t)p] += h[u];
                res->grid_sum[u * G + g] += h[u];
            }
            if (p >= 0) res->pos_cnt[p] += 1;
            res->grid_cnt[g] += 1;
            if (ts && p >= 0) {
                for (size_t u = 0; u < N; u++) ts[(size_t)p * N + u] += h[u];
                tc[p] += 1;
            }
            if (done || s == max_steps) break;
            int a = argmax4(r->out);
            if (tr->err_step < 0 && a != tm_correct_action(&e)) {
                tr->err_step = (long)s;
                tr->err_row = (long)e.row - (long)(lc + ld);
                tr->err_action = a;
            }
            tr->steps = (long)s + 1;
            done = tmaze_env_step(&e, a, &reward);
            tmaze_input(a, reward, tmaze_env_obs(&e), x);
        }
        tr->chosen = done ? e.chosen_arm : -1;
        tr->rewarded = done && reward;
        if (done && reward) rewarded++;
        if (in_ep > 0) { choice_trials++; if (done && reward) choice_rewarded++; }
        /* with no choice, the next trial rewards the arm opposite to the correct one */
        prev_choice = done ? e.chosen_arm : arm;
    }
    gsl_rng_free(rn);
    res->reward_rate = (double)rewarded / (double)n_trials;
    res->reward_rate_choice = choice_trials ? (double)choice_rewarded / (double)choice_trials : NAN;
    return ENGRAM_OK;
}

/* Writes the cache rasters for one scripted test-geometry episode (r2n2 with cache). */
static int tm_cache_figures(run_ctx *ctx, tm_run *r) {
    cache *c = r2n2_learner_cache(r->l);
    if (!c) return ENGRAM_OK;
    const config *cfg = ctx->cfg;
    tmaze_task_params tp = r->tp;
    tp.cue_min = tp.cue_max = (size_t)config_int(cfg, "test.cue");
    tp.delay_min = tp.delay_max = (size_t)config_int(cfg, "test.delay");
    tp.branch_min = tp.branch_max = (size_t)config_int(cfg, "test.branch");
    size_t T = tmaze_episode_len(&tp, tp.cue_max, tp.delay_max, tp.branch_max);
    if (T > c->max_patterns) return ENGRAM_OK; /* test episode longer than training's */
    double *x = calloc(T * TMAZE_N_IN, sizeof(double)), *y = calloc(T * TMAZE_N_IN, sizeof(double));
    double *m = calloc(T, sizeof(double));
    size_t cap = 4 * T * (c->p.steps + 1);
    double *ras = calloc(cap * c->max_patterns, sizeof(double));
    double *z = calloc(cap * c->max_patterns, sizeof(double));
    double *s = calloc(c->n, sizeof(double));
    gsl_rng *rr = rng_stream_alloc(ctx->seed, "figure", 0);
    int st = ENGRAM_OK;
    if (!x || !y || !m || !ras || !z || !s || !rr) st = engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory");
    if (st == ENGRAM_OK) {
        tmaze_episode(&tp, rr, x, y, m, NULL);
        st = r2n2_learner_store(r->l, x, y, m, T);
    }
    for (int dir = 0; dir < 2 && st == ENGRAM_OK; dir++) {
        cache_record(c, ras, cap);
        cache_replay_begin(c, dir == 0 ? CACHE_REVERSE : CACHE_FORWARD, s);
        while (cache_replay_next(c, s) == ENGRAM_OK) {}
        size_t L = c->raster_len, P = c->n_patterns;
        cache_record(c, NULL, 0);
        /* (steps, P) array and (P, steps) image */
        for (size_t j = 0; j < L; j++) memmove(z + j * P, ras + j * c->max_patterns, P * sizeof(double));
        size_t shp[2] = {L, P};
        st = run_write_npy(ctx, dir == 0 ? "cache_replay_reverse.npy" : "cache_replay_forward.npy", z, 2, shp);
        double *im = ras; /* reuse as (P, L) */
        for (size_t q = 0; q < P; q++)
            for (size_t j = 0; j < L; j++) im[q * L + j] = z[j * P + q];
        char title[160];
        snprintf(title, sizeof title, "cache %s replay: overlap with stored pattern (row = step "
                 "of the episode)", dir == 0 ? "reverse" : "forward");
        if (st == ENGRAM_OK)
            st = image_write_raster(experiment_figure_path(ctx, dir == 0 ? "cache_replay_reverse.png"
                                                          : "cache_replay_forward.png"),
                                    im, P, L, IMAGE_CMAP_VIRIDIS, title, "pump step", "pattern");
    }
    free(x); free(y); free(m); free(ras); free(z); free(s);
    if (rr) gsl_rng_free(rr);
    return st;
}

static int tm_place_figures(run_ctx *ctx, tm_test *res, double *coverage) {
    size_t N = res->n_units, P = res->n_pos, G = res->rows * res->cols;
    double *act = malloc(N * P * sizeof(double)), *sorted = malloc(N * P * sizeof(double));
    double *maps = malloc(N * G * sizeof(double));
    size_t *order = malloc(N * sizeof(size_t));
    long *peak = malloc(N * sizeof(long));
    int st = ENGRAM_OK;
    if (!act || !sorted || !maps || !order || !peak) st = engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory");
    for (size_t u = 0; st == ENGRAM_OK && u < N; u++) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t p = 0; p < P; p++) {
            double v = res->pos_cnt[p] > 0 ? res->pos_sum[u * P + p] / res->pos_cnt[p] : NAN;
            act[u * P + p] = v;
            if (isfinite(v)) { lo = fmin(lo, v); hi = fmax(hi, v); }
        }
        peak[u] = -1;
        double best = -INFINITY;
        for (size_t p = 0; p < P; p++) {
            double v = act[u * P + p];
            if (!isfinite(v)) continue;
            act[u * P + p] = hi > lo ? (v - lo) / (hi - lo) : 0.0;
            if (act[u * P + p] > best) { best = act[u * P + p]; peak[u] = (long)p; }
        }
        for (size_t g = 0; g < G; g++)
            maps[u * G + g] = res->grid_cnt[g] > 0 ? res->grid_sum[u * G + g] / res->grid_cnt[g] : NAN;
        order[u] = u;
    }
    if (st != ENGRAM_OK) goto done;
    /* insertion sort of units by peak position (stable, deterministic) */
    for (size_t i = 1; i < N; i++) {
        size_t k = order[i], j = i;
        while (j > 0 && peak[order[j - 1]] > peak[k]) { order[j] = order[j - 1]; j--; }
        order[j] = k;
    }
    size_t covered = 0;
    for (size_t p = 0; p < P; p++) {
        int hit = 0;
        for (size_t u = 0; u < N; u++) hit |= peak[u] == (long)p;
        covered += (size_t)hit;
    }
    *coverage = (double)covered / (double)P;
    for (size_t i = 0; i < N; i++) memcpy(sorted + i * P, act + order[i] * P, P * sizeof(double));
    size_t shp[2] = {N, P};
    st = run_write_npy(ctx, "place_activity.npy", sorted, 2, shp);
    char title[160];
    snprintf(title, sizeof title, "consolidator units (A then B) sorted by peak position; "
             "%.0f%% of positions hold a peak", 100 * *coverage);
    image_map pm = {.title = title, .x_label = "track position (stem, junction, left arm, right arm)",
                    .y_label = "unit", .cbar_label = "activity, unit min (0) to max (1)",
                    .subtitle = config_bool(ctx->cfg, "run.quick") ? "quick demo: not trained to criterion" : NULL,
                    .z = sorted, .rows = N, .cols = P, .cmap = IMAGE_CMAP_JET};
    if (st == ENGRAM_OK) st = image_write_map(experiment_figure_path(ctx, "place_cells.png"), &pm);
    size_t shm[3] = {N, res->rows, res->cols};
    if (st == ENGRAM_OK) st = run_write_npy(ctx, "ratemaps.npy", maps, 3, shm);
    if (st == ENGRAM_OK) {
        size_t nt = N < 16 ? N : 16;
        double *tiles = malloc(nt * G * sizeof(double));
        char (*names)[24] = malloc(nt * sizeof *names);
        const char **tn = malloc(nt * sizeof *tn);
        if (!tiles || !names || !tn) st = engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory");
        for (size_t i = 0; st == ENGRAM_OK && i < nt; i++) {
            size_t u = order[i * N / nt];
            memcpy(tiles + i * G, maps + u * G, G * sizeof(double));
            size_t half = N / 2 ? N / 2 : 1; /* model.n_rec = 1: one unit, named A0 */
            snprintf(names[i], sizeof names[i], "%s%zu", u < half ? "A" : "B", u % half);
            tn[i] = names[i];
        }
        /* Row 0 (top of each tile) is the start of the stem; the bottom row is the arm row
         * with the left arm end at the left and the right arm end at the right. */
        int quick = config_bool(ctx->cfg, "run.quick");
        image_tiles tf = {.maps = tiles, .n = nt, .rows = res->rows, .cols = res->cols,
                          .per_row = 8, .cmap = IMAGE_CMAP_JET, .scale = 12,
                          .titles = tn, .title = "Consolidator rate maps on the T-maze (test trials)",
                          .subtitle = quick ? "quick demo: not trained to criterion; grey = wall or unvisited"
                                            : "grey = wall or unvisited cell",
                          .x_label = "left arm end  <-  arm row (bottom of each tile)  ->  right arm end",
                          .y_label = "start (top)  ->  stem  ->  junction",
                          .cbar_label = "activity, tile min (0) to max (1)"};
        if (st == ENGRAM_OK) st = image_write_tile_fig(experiment_figure_path(ctx, "ratemaps.png"), &tf);
        free(tiles); free(names); free(tn);
    }
done:
    free(act); free(sorted); free(maps); free(order); free(peak);
    return st;
}

/* Track cells split by trial type (splitcells.h) from the per-trial activity of the test
 * trials: conditions = turn taken (cued: left, right; alternation: sample and choice
 * trials, each left and right), each condition's path = stem, junction, the arm taken
 * (L = l_cue + l_delay + 1 + l_branch positions, the arm inward to outward). Writes
 * split_activity.npy ((C, units, L) mean activity, NaN where unvisited), cell_types.csv
 * (one row per unit: class, splitter, delay-stem effect and permutation p) and
 * split_place_cells.png (one panel per condition, each unit min-max normalised over all
 * conditions, units sorted by their peak on the first condition); summary cells_place,
 * cells_ramp, cells_other, cells_splitter. Splitters are tested on the delay stem (the
 * cells after the cue, whose input is the same on every trial type) with the turn as the
 * label, shuffled within sample and choice trials. */
static int tm_split_cells(run_ctx *ctx, tm_run *r, const tm_test *res, const char *rule) {
    size_t K = res->n_trials, P = res->n_pos, N = res->n_units;
    size_t lc = res->lc, S = res->lc + res->ld, lb = res->lb, L = S + 1 + lb;
    int alt = r->tp.variant == TMAZE_ALTERNATION;
    size_t C = alt ? 4 : 2;
    double *act = malloc(K * P * N * sizeof(double)), *maps = malloc(C * N * L * sizeof(double));
    double *cnt = calloc(C * L, sizeof(double)), *range = malloc(N * sizeof(double));
    double *eff = malloc(N * sizeof(double)), *pv = malloc(N * sizeof(double));
    double *norm = malloc(C * N * L * sizeof(double));
    int *label = malloc(K * sizeof(int)), *stratum = malloc(K * sizeof(int)), *cls = malloc(N * sizeof(int));
    size_t *seg = malloc((S + 1) * sizeof(size_t)), *order = malloc(N * sizeof(size_t));
    long *peak = malloc(N * sizeof(long));
    size_t n_cond[4] = {0, 0, 0, 0};
    gsl_rng *rn = rng_stream_alloc(ctx->seed, "cells", 0);
    int st = ENGRAM_OK;
    if (!act || !maps || !cnt || !range || !eff || !pv || !norm || !label || !stratum || !cls ||
        !seg || !order || !peak || !rn) {
        st = engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory");
        goto done;
    }
    /* per-trial means; labels */
    for (size_t k = 0; k < K; k++) {
        for (size_t q = 0; q < P; q++) {
            double c = res->tr_cnt[k * P + q];
            for (size_t u = 0; u < N; u++)
                act[(k * P + q) * N + u] = c > 0 ? res->tr_sum[(k * P + q) * N + u] / c : NAN;
        }
        const tm_trial *t = res->trials + k;
        label[k] = t->chosen < 0 ? -1 : t->chosen == TMAZE_LEFT ? 0 : 1;
        stratum[k] = t->stage > 0;
    }
    /* condition maps along each condition's path */
    memset(maps, 0, C * N * L * sizeof(double));
    for (size_t k = 0; k < K; k++) {
        if (label[k] < 0) continue;
        size_t c = (size_t)(alt ? 2 * stratum[k] + label[k] : label[k]);
        n_cond[c]++;
        for (size_t j = 0; j < L; j++) {
            size_t q = j <= S ? j : label[k] == 0 ? j : j + lb; /* left arm: S+1..S+lb */
            const double *a = act + (k * P + q) * N;
            if (!isfinite(a[0])) continue;
            for (size_t u = 0; u < N; u++) maps[(c * N + u) * L + j] += a[u];
            cnt[c * L + j] += 1;
        }
    }
    for (size_t c = 0; c < C; c++)
        for (size_t u = 0; u < N; u++)
            for (size_t j = 0; j < L; j++)
                maps[(c * N + u) * L + j] = cnt[c * L + j] > 0 ? maps[(c * N + u) * L + j] / cnt[c * L + j] : NAN;
    for (size_t u = 0; u < N; u++) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t c = 0; c < C; c++)
            for (size_t j = 0; j < L; j++) {
                double v = maps[(c * N + u) * L + j];
                if (isfinite(v)) { lo = fmin(lo, v); hi = fmax(hi, v); }
            }
        range[u] = hi > lo ? hi - lo : 0;
        peak[u] = -1;
        double best = -INFINITY;
        for (size_t c = 0; c < C; c++)
            for (size_t j = 0; j < L; j++) {
                double v = maps[(c * N + u) * L + j];
                norm[(c * N + u) * L + j] = !isfinite(v) ? NAN : range[u] > 0 ? (v - lo) / range[u] : 0;
                if (c == 0 && isfinite(v) && v > best) { best = v; peak[u] = (long)j; }
            }
        order[u] = u;
    }
    cells_params cp = cells_defaults();
    cells_classify(maps, C, N, L, &cp, cls);
    size_t n_seg = 0;
    for (size_t j = lc; j < S; j++) seg[n_seg++] = j; /* the delay stem */
    size_t n0 = 0, n1 = 0;
    for (size_t k = 0; k < K; k++) { n0 += label[k] == 0; n1 += label[k] == 1; }
    int tested = n_seg > 0 && n0 > 0 && n1 > 0;
    if (tested) st = cells_splitter(act, K, P, N, label, stratum, seg, n_seg, range, &cp, rn, eff, pv);
    else for (size_t u = 0; u < N; u++) { eff[u] = NAN; pv[u] = NAN; }
    if (st != ENGRAM_OK) goto done;
    size_t counts[3] = {0, 0, 0}, n_split = 0;
    int is_r2n2 = strcmp(rule, "r2n2") == 0;
    size_t half = N / 2 ? N / 2 : 1;
    FILE *f = fopen(run_path(ctx, "cell_types.csv"), "w");
    if (!f) { st = engram_fail(ENGRAM_EIO, "cannot write %s", run_path(ctx, "cell_types.csv")); goto done; }
    fprintf(f, "unit,name,class,splitter,delay_effect,delay_p\n");
    static const char *const cname[3] = {"other", "place", "ramp"};
    for (size_t u = 0; u < N; u++) {
        int sp = tested && pv[u] < cp.alpha && eff[u] >= cp.min_effect;
        counts[cls[u]]++;
        n_split += (size_t)sp;
        char nm[24];
        if (is_r2n2) snprintf(nm, sizeof nm, "%s%zu", u < half ? "A" : "B", u % half);
        else snprintf(nm, sizeof nm, "h%zu", u);
        fprintf(f, "%zu,%s,%s,%d,%.6g,%.6g\n", u, nm, cname[cls[u]], sp, eff[u], pv[u]);
    }
    if (fclose(f) != 0) { st = engram_fail(ENGRAM_EIO, "cannot write %s", run_path(ctx, "cell_types.csv")); goto done; }
    run_summary_int(ctx, "cells_place", (long)counts[CELLS_PLACE]);
    run_summary_int(ctx, "cells_ramp", (long)counts[CELLS_RAMP]);
    run_summary_int(ctx, "cells_other", (long)counts[CELLS_OTHER]);
    if (tested) run_summary_int(ctx, "cells_splitter", (long)n_split);
    size_t shp[3] = {C, N, L};
    st = run_write_npy(ctx, "split_activity.npy", maps, 3, shp);
    if (st != ENGRAM_OK) goto done;
    for (size_t i = 1; i < N; i++) { /* units by peak on condition 0 (stable) */
        size_t k = order[i], j = i;
        while (j > 0 && peak[order[j - 1]] > peak[k]) { order[j] = order[j - 1]; j--; }
        order[j] = k;
    }
    /* (C, N, L * rep) sorted and normalised, each position repeated rep times so that a
     * short maze's panels are at least 96 cells wide */
    size_t rep = L >= 96 ? 1 : (96 + L - 1) / L, W = L * rep;
    double *tiles = malloc(C * N * W * sizeof(double));
    if (!tiles) { st = engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory"); goto done; }
    for (size_t c = 0; c < C; c++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < W; j++)
                tiles[(c * N + i) * W + j] = norm[(c * N + order[i]) * L + j / rep];
    static const char *const cn2[2] = {"left turn", "right turn"};
    static const char *const cn4[4] = {"sample, left", "sample, right", "choice, left", "choice, right"};
    char tt[4][48];
    const char *tn[4];
    for (size_t c = 0; c < C; c++) {
        snprintf(tt[c], sizeof tt[c], "%s (%zu trials)", alt ? cn4[c] : cn2[c], n_cond[c]);
        tn[c] = tt[c];
    }
    char title[200], sub[200];
    snprintf(title, sizeof title, "%s units by trial type, sorted by peak on %s trials", rule,
             alt ? "sample-left" : "left-turn");
    snprintf(sub, sizeof sub, "%zu units: %zu place, %zu ramp, %zu other; %zu splitters on the "
             "delay stem%s", N, counts[CELLS_PLACE], counts[CELLS_RAMP], counts[CELLS_OTHER], n_split,
             config_bool(ctx->cfg, "run.quick") ? " (quick demo: not trained)" : "");
    size_t scale = N * 3 <= 600 ? 3 : 1;
    image_tiles tf = {.maps = tiles, .n = C, .rows = N, .cols = W, .per_row = C,
                      .cmap = IMAGE_CMAP_JET, .scale = scale, .titles = tn, .title = title,
                      .subtitle = sub, .x_label = "track position: start -> stem -> junction -> arm end",
                      .y_label = "unit", .cbar_label = "activity, unit min (0) to max (1) over trial types",
                      .shared_range = 1};
    st = image_write_tile_fig(experiment_figure_path(ctx, "split_place_cells.png"), &tf);
    free(tiles);
done:
    free(act); free(maps); free(cnt); free(range); free(eff); free(pv); free(norm);
    free(label); free(stratum); free(cls); free(seg); free(order); free(peak);
    if (rn) gsl_rng_free(rn);
    return st;
}

/* Recall error of the content-addressed cache against load: N = 200, 400, 800 units,
 * 1..32 episodes of 10 random patterns, recall from each episode's first pattern, a
 * step wrong below 95 % agreement. Writes cache_capacity.npy ((3, 6, 4): N, episodes,
 * step error, episode error) and cache_capacity.png (step error against the number of
 * stored transitions / N). */
static int tm_cache_capacity(run_ctx *ctx) {
    enum { NN = 3, NE = 6, LEN = 10 };
    static const size_t ns[NN] = {200, 400, 800};
    double arr[NN * NE * 4], x[NE * NN], y[NN * NE];
    cache_params cp = cache_defaults();
    int st = ENGRAM_OK;
    for (size_t a = 0; a < NN && st == ENGRAM_OK; a++)
        for (size_t e = 0; e < NE && st == ENGRAM_OK; e++) {
            size_t n_ep = (size_t)1 << e;
            gsl_rng *r = rng_stream_alloc(ctx->seed, "capacity", a * NE + e);
            if (!r) return engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory");
            double se = NAN, ee = NAN;
            st = cache_capacity_trial(ns[a], n_ep, LEN, &cp, r, 0.95, &se, &ee);
            gsl_rng_free(r);
            double *row = arr + (a * NE + e) * 4;
            row[0] = (double)ns[a]; row[1] = (double)n_ep; row[2] = se; row[3] = ee;
            y[a * NE + e] = se;
        }
    if (st != ENGRAM_OK) return st;
    size_t shp[3] = {NN, NE, 4};
    st = run_write_npy(ctx, "cache_capacity.npy", arr, 3, shp);
    /* one x axis for all series: transitions / N differ per N, so plot against the
     * number of episodes in log2 and name each series by N */
    for (size_t e = 0; e < NE; e++) x[e] = (double)e;
    static const char *const names[NN] = {"N = 200", "N = 400", "N = 800"};
    image_plot p = {"cache recall error (content-addressed, 10 patterns per episode)",
                    "log2(episodes stored); transitions = 9 x episodes", "fraction of wrong steps",
                    x, y, NULL, NULL, NN, NE, names, 0, 0, 0};
    if (st == ENGRAM_OK) st = image_write_plot(experiment_figure_path(ctx, "cache_capacity.png"), &p);
    return st;
}

static int tm_curves(run_ctx *ctx, tm_run *r, size_t n_ep) {
    if (n_ep == 0) return ENGRAM_OK;
    double *x = malloc(n_ep * sizeof(double)), *y = malloc(n_ep * sizeof(double));
    if (!x || !y) { free(x); free(y); return engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory"); }
    for (size_t e = 0; e < n_ep; e++) { x[e] = (double)(e + 1); y[e] = r->curve[e * 3]; }
    size_t shp[1] = {n_ep};
    int st = run_write_npy(ctx, "replays.npy", y, 1, shp);
    char title[128];
    snprintf(title, sizeof title, "replays per epoch (schedule %s)", config_str(ctx->cfg, "train.schedule"));
    static const char *const n1[] = {"replays"};
    image_plot p = {title, "epoch", "replays", x, y, NULL, NULL, 1, n_ep, n1, 0, 0, 0};
    if (st == ENGRAM_OK && n_ep >= 2) st = image_write_plot(experiment_figure_path(ctx, "replays.png"), &p);
    for (size_t e = 0; e < n_ep; e++) y[e] = r->curve[e * 3 + 1];
    static const char *const n2[] = {"correct"};
    image_plot q = {"fraction of correct replays per epoch", "epoch", "correct", x, y, NULL, NULL, 1,
                    n_ep, n2, 0, 0, 0};
    if (st == ENGRAM_OK && n_ep >= 2) st = image_write_plot(experiment_figure_path(ctx, "learning_curve.png"), &q);
    free(x);
    free(y);
    return st;
}

static int tmaze_run_fn(run_ctx *ctx) {
    const config *cfg = ctx->cfg;
    const char *rule = config_str(cfg, "train.rule");
    tm_run r;
    memset(&r, 0, sizeof r);
    r.tp.variant = strcmp(config_str(cfg, "task.variant"), "cued") == 0 ? TMAZE_CUED : TMAZE_ALTERNATION;
    r.tp.n_trials = (size_t)config_int(cfg, "task.n_trials");
    r.tp.cue_min = (size_t)config_int(cfg, "task.cue_min");
    r.tp.cue_max = (size_t)config_int(cfg, "task.cue_max");
    r.tp.delay_min = (size_t)config_int(cfg, "task.delay_min");
    r.tp.delay_max = (size_t)config_int(cfg, "task.delay_max");
    r.tp.branch_min = (size_t)config_int(cfg, "task.branch_min");
    r.tp.branch_max = (size_t)config_int(cfg, "task.branch_max");
    r.tp.noise = config_real(cfg, "task.noise");
    size_t n_seq = (size_t)config_int(cfg, "train.n_seq"), min_rep = (size_t)config_int(cfg, "train.min_replays");
    r.max_epochs = (size_t)config_int(cfg, "train.max_epochs");
    r.window = (size_t)config_int(cfg, "train.window");
    double criterion = config_real(cfg, "train.criterion");
    const char *sched = config_str(cfg, "train.schedule");
    int released_e8 = strcmp(config_str(cfg, "train.exp8_error"), "released") == 0;
    long ckpt_every = config_int(cfg, "run.checkpoint_every");
    int judge_replay = strcmp(config_str(cfg, "train.judge"), "replay") == 0;
    r.lt = learner_type_find(rule);
    if (!r.lt) return engram_fail(ENGRAM_EINVAL, "tmaze: rule '%s' is not available in this build", rule);
    if (!r.lt->train_outputs) judge_replay = 0;
    r.tk = tmaze_task_alloc(&r.tp);
    if (!r.tk) return ENGRAM_EINVAL;
    r.l = r.lt->alloc(cfg, TMAZE_N_IN, TMAZE_N_IN, r.tk->t_max, ctx->seed);
    if (!r.l) { int e = strstr(engram_error(), "max_replay_len") ? ENGRAM_ERANGE : ENGRAM_EINVAL; tm_free(&r); return e; }
    int is_r2n2 = strcmp(rule, "r2n2") == 0;
    r.b = trial_batch_alloc(1, r.tk);
    r.data = rng_stream_alloc(ctx->seed, "data", 0);
    r.state = calloc(S_FIXED + r.window, sizeof(double));
    r.curve = calloc(r.max_epochs * 3, sizeof(double));
    r.out = calloc(TMAZE_N_IN, sizeof(double));
    if (!r.b || !r.data || !r.state || !r.curve || !r.out) {
        tm_free(&r);
        return engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory");
    }
    ckpt_blob blobs[16];
    size_t nb = r.lt->blobs(r.l, blobs, 12);
    double wall = 0;
    blobs[nb++] = (ckpt_blob){"tmaze.data_rng", gsl_rng_state(r.data), gsl_rng_size(r.data)};
    blobs[nb++] = (ckpt_blob){"tmaze.state", r.state, (S_FIXED + r.window) * sizeof(double)};
    blobs[nb++] = (ckpt_blob){"tmaze.curve", r.curve, r.max_epochs * 3 * sizeof(double)};
    blobs[nb++] = (ckpt_blob){"tmaze.wall", &wall, sizeof wall};
    long epoch0 = 0;
    int st = ENGRAM_OK;
    if (ctx->resuming) {
        long step;
        st = run_ckpt_load(ctx, &step, blobs, nb, "tmaze.curve");
        if (st != ENGRAM_OK) { tm_free(&r); return st; }
        ctx->wall_offset = wall;
        epoch0 = step;
    }
    static const char *const cols[] = {"loss", "correct", "replays", "fwd_replays", "rev_replays",
                                       "recall_fail", "recon_err"};
    st = run_metrics_begin(ctx, cols, 7, epoch0);
    if (st != ENGRAM_OK) { tm_free(&r); return st; }
    double train_correct = 0;
    size_t n_extra = r.lt->n_extra(r.l);
    for (long epoch = epoch0 + 1; epoch <= (long)r.max_epochs; epoch++) {
        if (epoch == epoch0 + 1 && ctx->resuming && r.state[S_WIN_N] >= (double)r.window) {
            double w0 = 0; /* resumed from the last checkpoint of a run that met its criterion */
            for (size_t k = 0; k < r.window; k++) w0 += r.state[S_FIXED + k];
            if (w0 / (double)r.window >= criterion) break;
        }
        if (run_stop_signal()) { /* everything of epoch - 1 is done */
            wall = run_wall(ctx);
            st = run_ckpt_save(ctx, epoch - 1, blobs, nb);
            tm_free(&r);
            return st != ENGRAM_OK ? st : engram_fail(ENGRAM_EINTR, "tmaze: interrupted after "
                                                      "epoch %ld, checkpoint saved", epoch - 1);
        }
        size_t n;
        if (epoch == 1 || strcmp(sched, "fixed") == 0) n = n_seq;
        else if (strcmp(sched, "exp7") == 0) n = (size_t)((1.0 - r.state[S_PREV_R]) * (double)n_seq);
        else {
            double f = fmin(0.1 * log(r.state[S_PREV_E]) + 1.0, 1.0);
            n = f > 0 ? (size_t)(f * (double)n_seq) : 0;
        }
        size_t floor_n = min_rep > 0 ? min_rep : strcmp(sched, "exp8") == 0 ? 100 : 1;
        if (n < floor_n) n = floor_n;
        double loss_sum = 0, corr = 0, fails = 0, recon = is_r2n2 ? 0 : NAN, extra[LEARNER_MAX_EXTRA];
        for (size_t k = 0; k < LEARNER_MAX_EXTRA; k++) extra[k] = NAN;
        for (size_t i = 0; i < n; i++) {
            trial_batch_fill(r.b, r.tk, r.data);
            int ok = judge_replay ? 0 : replay_correct(&r);
            double loss;
            st = r.lt->train(r.l, r.b, &loss, extra);
            if (st == ENGRAM_OK && judge_replay) {
                size_t T_out = 0;
                const double *o = r.lt->train_outputs(r.l, &T_out);
                ok = outputs_correct(&r, o, T_out);
            }
            if (st != ENGRAM_OK) {
                run_summary_real(ctx, "train_correct", train_correct);
                run_summary_real(ctx, "reward_rate", NAN);
                tm_free(&r);
                return st;
            }
            loss_sum += loss;
            corr += ok;
            if (is_r2n2 && n_extra >= 1) fails += extra[0];
            if (is_r2n2 && n_extra >= 4 && !(extra[3] <= recon)) recon = extra[3];
            size_t pos = (size_t)r.state[S_WIN_POS];
            r.state[S_FIXED + pos] = ok;
            r.state[S_WIN_POS] = (double)((pos + 1) % r.window);
            if (r.state[S_WIN_N] < (double)r.window) r.state[S_WIN_N] += 1;
        }
        r.state[S_REPLAYS] += (double)n;
        r.state[S_PREV_R] = corr / (double)n;
        /* mean squared error per output component and step (loss = 0.5 sum of squares) */
        r.state[S_PREV_E] = released_e8 ? loss_sum / (double)n
                                        : 2.0 * (loss_sum / (double)n) / (double)TMAZE_N_IN;
        double wsum = 0;
        for (size_t k = 0; k < (size_t)r.state[S_WIN_N]; k++) wsum += r.state[S_FIXED + k];
        train_correct = wsum / r.state[S_WIN_N];
        r.curve[(epoch - 1) * 3] = (double)n;
        r.curve[(epoch - 1) * 3 + 1] = corr / (double)n;
        r.curve[(epoch - 1) * 3 + 2] = loss_sum / (double)n;
        r.state[S_N_EPOCHS] = (double)epoch;
        double row[7] = {loss_sum / (double)n, corr / (double)n, (double)n,
                         is_r2n2 ? extra[1] : NAN, is_r2n2 ? extra[2] : NAN,
                         is_r2n2 ? fails / (double)n : NAN, recon};
        st = run_metrics_row(ctx, epoch, row);
        if (st != ENGRAM_OK) { tm_free(&r); return st; }
        run_progress(ctx, epoch, (long)r.max_epochs, "correct %.3f (window %.3f), %zu replays",
                     corr / (double)n, train_correct, n);
        int done = r.state[S_WIN_N] >= (double)r.window && train_correct >= criterion;
        if (!isfinite(row[0])) {
            tm_free(&r);
            return engram_fail(ENGRAM_EDIVERGED, "tmaze: non-finite training loss in epoch %ld", epoch);
        }
        if (ckpt_every > 0 && (epoch % ckpt_every == 0 || done || epoch == (long)r.max_epochs)) {
            wall = run_wall(ctx);
            st = run_ckpt_save(ctx, epoch, blobs, nb);
            if (st != ENGRAM_OK) { tm_free(&r); return st; }
        }
        if (done) break;
    }
    run_progress_done(ctx);
    {
        double wsum = 0;
        for (size_t k = 0; k < (size_t)r.state[S_WIN_N]; k++) wsum += r.state[S_FIXED + k];
        train_correct = r.state[S_WIN_N] > 0 ? wsum / r.state[S_WIN_N] : 0;
    }
    tm_test res, ho;
    memset(&res, 0, sizeof res);
    memset(&ho, 0, sizeof ho);
    st = tm_closed_loop(&r, cfg, ctx->seed, &res, (size_t)config_int(cfg, "test.cue"),
                        (size_t)config_int(cfg, "test.delay"), (size_t)config_int(cfg, "test.branch"),
                        (size_t)config_int(cfg, "test.trials"), "test", 1);
    /* held-out geometries: each length one cell beyond the training range (below the
     * minimum when the minimum allows it, else above the maximum), an even number of
     * trials so both cue sides are tested equally */
    size_t n_ho = (size_t)config_int(cfg, "test.heldout_trials");
    double ho_rate = NAN, ho_reached = NAN;
    if (st == ENGRAM_OK && n_ho > 0) {
        n_ho += n_ho % 2;
        size_t g[2][3] = {{r.tp.cue_max + 1, r.tp.delay_max + 1, r.tp.branch_max + 1}, {0, 0, 0}};
        g[1][0] = r.tp.cue_min > 1 ? r.tp.cue_min - 1 : g[0][0];
        g[1][1] = r.tp.delay_min > 0 ? r.tp.delay_min - 1 : g[0][1];
        g[1][2] = r.tp.branch_min > 1 ? r.tp.branch_min - 1 : g[0][2];
        static const char *const streams[2] = {"heldout", "heldout2"};
        FILE *f = fopen(run_path(ctx, "heldout.csv"), "w");
        if (!f) st = engram_fail(ENGRAM_EIO, "cannot write %s", run_path(ctx, "heldout.csv"));
        else fprintf(f, "cue,delay,branch,rewarded_arm,chosen_arm,rewarded,steps,first_error_step,"
                        "first_error_row,first_error_action\n");
        double rates[2] = {0, 0}, reached = 0;
        for (int h = 0; h < 2 && st == ENGRAM_OK; h++) {
            st = tm_closed_loop(&r, cfg, ctx->seed, &ho, g[h][0], g[h][1], g[h][2], n_ho / 2,
                                streams[h], 0);
            rates[h] = ho.reward_rate;
            for (size_t k = 0; st == ENGRAM_OK && k < ho.n_trials; k++) {
                const tm_trial *t = ho.trials + k;
                reached += t->chosen >= 0;
                fprintf(f, "%zu,%zu,%zu,%d,%d,%d,%ld,%ld,%ld,%d\n", t->lc, t->ld, t->lb,
                        t->rewarded_arm, t->chosen, t->rewarded, t->steps, t->err_step,
                        t->err_step >= 0 ? t->err_row : 0, t->err_step >= 0 ? t->err_action : -1);
            }
            tm_test_free(&ho);
        }
        if (f && fclose(f) != 0 && st == ENGRAM_OK)
            st = engram_fail(ENGRAM_EIO, "cannot write %s", run_path(ctx, "heldout.csv"));
        ho_rate = 0.5 * (rates[0] + rates[1]);
        ho_reached = reached / (double)n_ho;
    }
    double coverage = 0;
    if (st == ENGRAM_OK) st = tm_place_figures(ctx, &res, &coverage);
    if (st == ENGRAM_OK) st = tm_split_cells(ctx, &r, &res, rule);
    if (st == ENGRAM_OK) st = tm_curves(ctx, &r, (size_t)r.state[S_N_EPOCHS]);
    if (st == ENGRAM_OK && is_r2n2) st = tm_cache_figures(ctx, &r);
    /* trained parameters, one .npy per named matrix (learner_param_views) */
    for (size_t k = 0; st == ENGRAM_OK && k + 4 < nb; k++) {
        param_view pv[5];
        size_t nv = learner_param_views(&blobs[k], TMAZE_N_IN, TMAZE_N_IN, pv);
        if (!strcmp(blobs[k].name, "rnn.feedback") && !strcmp(rule, "bptt")) nv = 0; /* unused */
        if (nv) st = run_write_params(ctx, NULL, blobs[k].data, pv, nv);
    }
    if (st == ENGRAM_OK && config_bool(cfg, "test.cache_capacity")) st = tm_cache_capacity(ctx);
    run_summary_real(ctx, "train_correct", train_correct);
    run_summary_real(ctx, "reward_rate", res.reward_rate);
    if (n_ho > 0) {
        run_summary_real(ctx, "reward_rate_heldout", ho_rate);
        run_summary_real(ctx, "heldout_arm_reached", ho_reached);
    }
    /* chance: an agent that reaches an arm end picking the arm at random is rewarded
     * half the time; a replay is correct only if every predicted action is right */
    run_summary_real(ctx, "reward_rate_chance", 0.5);
    run_summary_real(ctx, "correct_last_epoch",
                     r.state[S_N_EPOCHS] > 0 ? r.curve[((size_t)r.state[S_N_EPOCHS] - 1) * 3 + 1] : NAN);
    if (r.tp.variant == TMAZE_ALTERNATION) run_summary_real(ctx, "reward_rate_choice", res.reward_rate_choice);
    run_summary_int(ctx, "epochs", (long)r.state[S_N_EPOCHS]);
    run_summary_int(ctx, "replays", (long)r.state[S_REPLAYS]);
    run_summary_real(ctx, "place_coverage", coverage);
    if (is_r2n2) {
        r2n2_counts k = r2n2_learner_counts(r.l);
        run_summary_int(ctx, "fwd_replays", k.fwd_replays);
        run_summary_int(ctx, "rev_replays", k.rev_replays);
        run_summary_int(ctx, "recall_failures", k.recall_failures);
    }
    tm_test_free(&res);
    tm_free(&r);
    return st;
}

const experiment exp_tmaze = {
    "tmaze",
    "delayed T-maze (cued or alternation), trained by replay (Cheng & Brown 2025), closed-loop test",
    tmaze_tables,
    tmaze_rules,
    tmaze_quick,
    "reward_rate",
    1,
    "correct",
    tmaze_run_fn,
    1,
};
