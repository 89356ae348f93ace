/* gridcells.c: the `gridcells` experiment, Banino et al. 2018 (Nature 557:429), and the
 * rate-RNN path integrator of Sorscher et al. 2023 (Neuron 111:121) as its second core.
 *
 * model.kind = lstm (default) trains the Banino network and scores its layer g;
 * model.kind = rnn trains a rate RNN (pathint.h) and scores its units. Both share the
 * trajectories, targets (Gaussian softmax, or difference of softmaxes with
 * cells.pc_surround > 1), the input scaling (input.velocity egocentric [speed, sin, cos]
 * or allocentric (dx, dy); input.velocity_units step or mps; input.zscore_init), the
 * optimisers, the evaluation and the figures. Presets: gridcells (Banino), gridcells-rnn,
 * gridcells-lstm. run.precision = float32 runs either core's passes (RNN or LSTM, heads
 * and encoders) in float32 with float64 master weights and optimiser.
 *
 * Grid statistics of every evaluation (gc_grid_stats): a bin-shuffle null of score60
 * (eval.null_maps maps, stream ("null", 0)), the untrained network's 99th percentile
 * (step 0), split-half stability (first / second half of the evaluation trajectories),
 * and the lattice of the six inner SAC peaks. grid_units counts units above the null's
 * 99th percentile, stable (eval.min_stability) and not planar; see the README for why
 * these counts must be read against the untrained network's.
 *
 * A path-integrating LSTM (pathint.h) is trained on simulated rodent trajectories
 * (trajectory.h) to predict place-cell and head-direction-cell softmax targets
 * (placecells.h). Every eval.every updates the linear layer g is evaluated on a fixed set
 * of eval.trajectories trajectories (stream "test"): 20 x 20 mean-activation rate maps of
 * every unit, their autocorrelograms and 60/90-degree grid scores (gridscore.h), and the
 * position decoding error (mean of the top-3 place-cell centres, in cm) against the
 * baseline of always answering the box centre.
 *
 * Evaluation runs WITHOUT dropout by default (eval.dropout = false): the rate map of a
 * unit is then its deterministic activation. The released code evaluated the training
 * graph with dropout still on (research note §1.2 quirk 2), whose rate maps have the same
 * expectation but are noisier; eval.dropout = true reproduces that.
 *
 * Reproducibility: weights from ("weights", 0); training trajectories from the persistent
 * stream ("data", 0), whose state is checkpointed; dropout masks from ("dropout",
 * step * 2^20 + item); evaluation set from ("test", 0); cell centres from
 * (cells.seed, "cells", 0), so by default every run shares one ensemble, like the
 * official code's fixed seed 8341. Checkpoints are written at evaluation points.
 *
 * Outputs (rewritten at every evaluation, so a long run can be inspected while it runs):
 *   metrics.csv      step, loss (mean training cross-entropy PC + HD since the previous
 *                    evaluation; nan at step 0), decode_error_cm, centre_error_cm (always
 *                    answering the box centre), max_score60, grid_units, wall_s
 *   ratemaps.npy     (Ng, bins, bins) mean activation of g, NaN for unvisited bins
 *   sacs.npy         (Ng, 2 bins - 1, 2 bins - 1) autocorrelograms
 *   gridscores.csv   unit, score60, score90, ring_inner, ring_outer
 *   positions.npy    (E, T + 1, 2) evaluation trajectories; decoded.npy (E, T, 2) the
 *                    decoded positions of steps 1..T
 *   ratemaps.png (+ ratemaps_order.csv), placecells.png, hdcells.png, trajectory.png,
 *   loss.png, decode_error.png
 *   gridstats.csv    unit, score60, stability, plane_r2, spacing_m, orientation_deg,
 *                    ellipticity, grid_unit; gridscores.png, gridunits.png (+ _order.csv),
 *                    gridspacing.png, gridorientation.png; w_enc.npy, b_enc.npy, w_in.npy,
 *                    w_rec.npy, w_out.npy, b_out.npy (+ w_hd.npy, b_hd.npy with n_hd > 0;
 *                    + w_enc_c.npy, b_enc_c.npy, b_lstm.npy, w_g.npy for the LSTM), one
 *                    per parameter array
 * Summary: decode_error_cm, centre_error_cm, max_score60, grid_units, steps, loss, and
 * grid_units_nonplanar (fixed eval.grid_threshold), null_p95, null_p99, untrained_p99,
 * units_above_0_8, units_above_1_0, grid_units_0_8, grid_units_untrained,
 * units_above_untrained_p99, median_stability, median_spacing_m (all as metrics.csv).
 * Caveats when reading grid_units: (1) an untrained network already has units with
 * score60 > 0.3 (smooth or noisy maps), so compare with the step-0 row of metrics.csv;
 * (2) early in training most g units are linear ramps of position, whose SAC is nearly
 * constant, and the DeepMind score (ring variance + 1e-5 in the denominator) then gives
 * large spurious values (score60 up to ~1.8 for maps a plane fits with R^2 > 0.99).
 * grid_units_nonplanar counts only units whose map a plane fits with R^2 below
 * eval.max_plane_r2 (gridscores.csv reports plane_r2 per unit). Look at ratemaps.png
 * before calling a unit grid-like.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "engram/engram.h"
#include "engram/config.h"
#include "engram/experiment.h"
#include "engram/gridscore.h"
#include "engram/image.h"
#include "engram/optim.h"
#include "engram/pathint.h"
#include "engram/placecells.h"
#include "engram/rng.h"
#include "engram/run.h"
#include "engram/trajectory.h"
#include "experiments/figure_path.h"

static const cfg_key gc_keys[] = {
    {"model.kind", CFG_ENUM, "lstm", 0, 0, "lstm|rnn",
     "core: Banino's LSTM + layer g, or Sorscher's rate RNN whose units are scored"},
    {"run.precision", CFG_ENUM, "float64", 0, 0, "float64|float32",
     "arithmetic of the training and evaluation passes of either core (float32: float64 "
     "master weights and optimiser, float32 activations and products)"},
    {"model.n_hidden", CFG_INT, "128", 1, 4096, NULL, "LSTM units, or RNN units (kind rnn)"},
    {"model.activation", CFG_ENUM, "relu", 0, 0, "relu|tanh", "RNN core nonlinearity"},
    {"model.bias", CFG_BOOL, "false", 0, 0, NULL,
     "RNN core: learn biases of the encoder and heads (Sorscher: none)"},
    {"model.g_activation", CFG_ENUM, "linear", 0, 0, "linear|relu",
     "LSTM core: g = h W_g (Banino) or relu(h W_g)"},
    {"input.velocity", CFG_ENUM, "egocentric", 0, 0, "egocentric|allocentric",
     "[speed, sin, cos of the turn] (Banino) or the displacement (dx, dy) (Sorscher)"},
    {"input.velocity_units", CFG_ENUM, "step", 0, 0, "step|mps",
     "speed and displacement in metres per step, or metres per second (divided by traj.dt)"},
    {"input.zscore_init", CFG_BOOL, "false", 0, 0, NULL,
     "z-score the initial place-cell code over cells before the encoder"},
    {"model.n_g", CFG_INT, "256", 1, 8192, NULL,
     "units of the linear layer g (official code 256, paper 512)"},
    {"model.dropout", CFG_REAL, "0.5", 0, 0.95, NULL,
     "dropout probability on g during training (0: off)"},
    {"model.forget_bias", CFG_REAL, "1", -10, 10, NULL, "constant added to the LSTM forget gate"},
    {"cells.n_pc", CFG_INT, "256", 1, 100000, NULL, "place cells"},
    {"cells.pc_sigma", CFG_REAL, "0.01", 1e-4, 10, NULL,
     "place-cell standard deviation in metres (Banino: 0.01)"},
    {"cells.pc_surround", CFG_REAL, "0", 0, 100, NULL,
     "0: Gaussian softmax targets; > 1: difference of softmaxes with this variance ratio"},
    {"cells.n_hd", CFG_INT, "12", 0, 10000, NULL, "head-direction cells (0: no head-direction head)"},
    {"cells.hd_kappa", CFG_REAL, "20", 0, 1e6, NULL, "von Mises concentration of HD cells"},
    {"cells.seed", CFG_INT, "8341", 0, 4294967295.0, NULL,
     "seed of the cell centres (fixed across runs, as the official code)"},
    {"train.steps", CFG_INT, "1000000", 0, 1e12, NULL, "parameter updates"},
    {"train.batch", CFG_INT, "10", 1, 100000, NULL, "trajectories per update"},
    {"train.seq_len", CFG_INT, "100", 1, 100000, NULL, "steps per trajectory"},
    {"train.optimizer", CFG_ENUM, "rmsprop-tf", 0, 0, "rmsprop-tf|adam|rmsprop|sgd",
     "optimiser (rmsprop-tf: TF1 RMSProp of the official code)"},
    {"train.lr", CFG_REAL, "1e-5", 0, 10, NULL, "learning rate"},
    {"train.momentum", CFG_REAL, "0.9", 0, 0.9999, NULL, "momentum (rmsprop-tf, rmsprop, sgd)"},
    {"train.clip_value", CFG_REAL, "1e-5", 0, 1e6, NULL,
     "element-wise gradient clip (0: off; official 1e-5)"},
    {"train.diverge_factor", CFG_REAL, "100", 1, 1e300, NULL,
     "diverged when the training loss exceeds this many times log(n_pc) + log(n_hd), the loss of a uniform guess"},
    {"train.weight_decay", CFG_REAL, "0", 0, 10, NULL,
     "L2 coefficient c, loss + c/2 |W|^2, on W_g and the output weights (LSTM; official code: "
     "declared 1e-5, never applied) or on W_rec (RNN)"},
    {"eval.every", CFG_INT, "2000", 1, 1e12, NULL, "updates between evaluations"},
    {"eval.trajectories", CFG_INT, "4000", 1, 1e7, NULL, "evaluation trajectories (stream test)"},
    {"eval.batch", CFG_INT, "50", 1, 100000, NULL, "trajectories per evaluation forward pass"},
    {"eval.bins", CFG_INT, "20", 3, 1000, NULL, "rate-map bins per side"},
    {"eval.max_plane_r2", CFG_REAL, "0.9", 0, 1, NULL,
     "grid_units_nonplanar leaves out maps a plane fits with R^2 >= this (linear ramps)"},
    {"eval.grid_threshold", CFG_REAL, "0.3", -2, 2, NULL,
     "fixed 60-degree threshold of grid_units_nonplanar (below the nulls; kept for comparison)"},
    {"eval.null_maps", CFG_INT, "1000", 0, 1e6, NULL,
     "bin-shuffled maps (units in turn) of the null distribution of score60 (0: none)"},
    {"eval.min_stability", CFG_REAL, "0.5", -1, 1, NULL,
     "split-half map correlation a grid unit needs (halves of the evaluation trajectories)"},
    {"eval.decode_k", CFG_INT, "3", 1, 64, NULL, "place cells averaged to decode a position"},
    {"eval.dropout", CFG_BOOL, "false", 0, 0, NULL,
     "keep dropout on at evaluation, as the released code did (default off)"},
    {"eval.interp", CFG_ENUM, "spline3", 0, 0, "spline3|bilinear",
     "interpolation of the autocorrelogram rotations (spline3 = scipy.ndimage.rotate)"},
    {"eval.min_max", CFG_BOOL, "false", 0, 0, NULL, "min/max form of the 60-degree score"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

static const cfg_key *const gc_tables[] = {gc_keys, traj_keys, NULL};

/* --quick, one form per preset (entries "KEY=VALUE ? ..." apply when KEY holds VALUE;
 * later entries win): the Banino preset (velocity per step) becomes a demo of a minute
 * (short sequences, Adam, broad place cells); the DoS recipe (velocity in m/s,
 * gridcells-lstm) runs 500 updates; the rate RNN (gridcells-rnn) 256 units for 1000
 * updates, hexagonal units in about two minutes. */
static const char *const gc_quick[] = {
    "input.velocity_units=step ? train.steps=150", "input.velocity_units=step ? train.batch=20",
    "input.velocity_units=step ? train.seq_len=20",
    "input.velocity_units=step ? train.optimizer=adam", "input.velocity_units=step ? train.lr=1e-2",
    "input.velocity_units=step ? train.clip_value=0", "input.velocity_units=step ? eval.every=50",
    "input.velocity_units=step ? eval.trajectories=100",
    "input.velocity_units=step ? cells.pc_sigma=0.2",
    "input.velocity_units=mps ? train.steps=500", "input.velocity_units=mps ? eval.every=250",
    "input.velocity_units=mps ? eval.trajectories=2500",
    "model.kind=rnn ? model.n_hidden=256", "model.kind=rnn ? train.steps=1000",
    "run.checkpoint_every=0", NULL,
};

enum {
    H_STEP, H_LOSS, H_DEC, H_BASE, H_MAX60, H_GRID, H_GRIDNP, H_NULL95, H_NULL99, H_UNTR99,
    H_A08, H_A10, H_G08, H_GUNTR, H_AUNTR, H_STAB, H_SPACING, H_N
};

/* Everything a run holds; allocated once. */
typedef struct gc_run {
    size_t B, T, E, Be, P, D, Ng, bins;
    size_t I;            /* model input channels: 3 egocentric, 2 allocentric */
    int allocentric;     /* input.velocity */
    double vel_scale;    /* 1 or 1 / traj.dt (input.velocity_units = mps) */
    int zscore_init;     /* input.zscore_init */
    long steps, every;
    double max_plane_r2; /* eval.max_plane_r2 */
    traj_params tp;
    pc_ensemble *pc;
    hd_ensemble *hdc;
    pathint *m;
    optim *opt;
    gsl_rng *r_data;
    /* training batch */
    double *vel, *pos, *hd, *pc0, *hd0, *pct, *hdt, *inp; /* inp (B, T, I) model input */
    /* evaluation set and buffers */
    double *e_vel, *e_pos, *e_hd, *e_pc0, *e_hd0, *pos_tm, *dec_tm, *decoded, *e_inp;
    ratemap_acc *acc, *acc_a, *acc_b; /* all evaluation data, its first and second half */
    double *maps_a, *maps_b, *stab;   /* half maps (Ng, bins, bins); stability (Ng,) */
    size_t n_null;                    /* eval.null_maps */
    double *null_sc, *qwork;          /* (n_null,), (max(n_null, Ng),) */
    double min_stab;                  /* eval.min_stability */
    double untr99;                    /* 99th percentile of the untrained net's score60 */
    double *untr_sc;                  /* (Ng,) the untrained net's score60 (NaN on resume) */
    gridscorer *gs;
    gridscore_result *res;
    double *maps, *sacs;
    /* history of evaluation points (n_hist rows of H_N) */
    double *hist;
    size_t n_hist, max_hist;
} gc_run;

static void gc_free(gc_run *g) {
    pc_free(g->pc); hdc_free(g->hdc); pathint_free(g->m); optim_free(g->opt);
    if (g->r_data) gsl_rng_free(g->r_data);
    free(g->vel); free(g->pos); free(g->hd); free(g->pc0); free(g->hd0); free(g->pct);
    free(g->hdt); free(g->e_vel); free(g->e_pos); free(g->e_hd); free(g->e_pc0);
    free(g->e_hd0); free(g->pos_tm); free(g->dec_tm); free(g->decoded);
    free(g->inp); free(g->e_inp);
    ratemap_free(g->acc); ratemap_free(g->acc_a); ratemap_free(g->acc_b);
    free(g->maps_a); free(g->maps_b); free(g->untr_sc); free(g->stab); free(g->null_sc); free(g->qwork);
    gridscorer_free(g->gs); free(g->res); free(g->maps); free(g->sacs);
    free(g->hist);
}

/* Copies run_path(ctx, name) into buf (run_path's buffer is shared). */
static const char *gc_path(run_ctx *ctx, const char *name, char *buf, size_t n) {
    snprintf(buf, n, "%s", experiment_figure_path(ctx, name)); /* .png: figure format */
    return buf;
}

/* Builds the model input inp (B, T, I) (traj_model_input with the run's scaling). */
static void gc_make_input(const gc_run *g, size_t B, const double *vel, const double *pos,
                          double *inp) {
    traj_model_input(B, g->T, vel, pos, g->allocentric, g->vel_scale, inp);
}

/* Encodes the head-direction targets unless the head is off (D = 0). */
static int gc_encode_hd(const gc_run *g, const double *hd, size_t B, double *hd0, double *hdt) {
    return g->D ? hdc_encode_steps(g->hdc, hd, B, g->T, hd0, hdt) : ENGRAM_OK;
}

/* The honest grid statistics of one evaluation (after the maps are scored): the shuffle
 * null (eval.null_maps bin-permuted maps, stream ("null", 0) restarted at every
 * evaluation so each one uses the same draws), split-half stability of every unit,
 * the untrained network's 99th percentile (set at step 0), and the counts of the
 * history row. A unit is a grid unit when its score60 exceeds the null's 99th
 * percentile, its split-half stability reaches eval.min_stability and no plane fits
 * its map (plane_r2 < eval.max_plane_r2). */
static int gc_grid_stats(run_ctx *ctx, gc_run *g, double *row) {
    const size_t Ng = g->Ng, nb = g->bins, nn = nb * nb;
    double p95 = NAN, p99 = NAN;
    if (g->n_null) {
        gsl_rng *r = rng_stream_alloc(ctx->seed, "null", 0);
        if (!r) return engram_fail(ENGRAM_ENOMEM, "out of memory");
        int st = gridscore_shuffle_null(g->gs, g->maps, Ng, g->n_null, r, g->null_sc);
        gsl_rng_free(r);
        if (st != ENGRAM_OK) return st;
        p95 = gridscore_quantile(g->null_sc, g->n_null, 0.95, g->qwork);
        p99 = gridscore_quantile(g->null_sc, g->n_null, 0.99, g->qwork);
    }
    ratemap_finalise(g->acc_a, g->maps_a);
    ratemap_finalise(g->acc_b, g->maps_b);
    double sc[Ng ? Ng : 1];
    for (size_t u = 0; u < Ng; u++) {
        g->stab[u] = gridscore_map_corr(g->maps_a + u * nn, g->maps_b + u * nn, nb);
        sc[u] = g->res[u].score60;
    }
    if (isnan(g->untr99)) {
        g->untr99 = gridscore_quantile(sc, Ng, 0.99, g->qwork);
        memcpy(g->untr_sc, sc, Ng * sizeof *sc);
    }
    size_t a08 = 0, a10 = 0, grid = 0, g08 = 0, guntr = 0, auntr = 0, ns = 0;
    double box_bin = g->tp.box / (double)nb;
    for (size_t u = 0; u < Ng; u++) {
        const gridscore_result *r = g->res + u;
        int ok = g->stab[u] >= g->min_stab && r->plane_r2 < g->max_plane_r2;
        a08 += r->score60 > 0.8;
        a10 += r->score60 > 1.0;
        auntr += r->score60 > g->untr99;
        guntr += ok && r->score60 > g->untr99;
        if (ok && r->score60 > p99) {
            grid++;
            g08 += r->score60 > 0.8;
            if (isfinite(r->spacing)) sc[ns++] = r->spacing * box_bin;
        }
    }
    row[H_NULL95] = p95;
    row[H_NULL99] = p99;
    row[H_UNTR99] = g->untr99;
    row[H_GRID] = (double)grid;
    row[H_A08] = (double)a08;
    row[H_A10] = (double)a10;
    row[H_G08] = (double)g08;
    row[H_GUNTR] = (double)guntr;
    row[H_AUNTR] = (double)auntr;
    row[H_STAB] = gridscore_quantile(g->stab, Ng, 0.5, g->qwork);
    row[H_SPACING] = ns ? gridscore_quantile(sc, ns, 0.5, g->qwork) : NAN;
    return ENGRAM_OK;
}

/* Evaluates the model on the fixed set: rate maps, scores, decoding. Fills the metrics
 * of one history row (except step and loss). */
static int gc_evaluate(run_ctx *ctx, gc_run *g, int eval_dropout, size_t decode_k,
                       double threshold, double *row) {
    const size_t T = g->T, P = g->P, D = g->D, Ng = g->Ng;
    ratemap_reset(g->acc);
    ratemap_reset(g->acc_a);
    ratemap_reset(g->acc_b);
    double err_sum = 0, base_sum = 0;
    size_t n_rows = 0;
    int st = ENGRAM_OK;
    for (size_t e0 = 0; e0 < g->E && st == ENGRAM_OK; e0 += g->Be) {
        size_t Bn = g->E - e0 < g->Be ? g->E - e0 : g->Be;
        const double *pos = g->e_pos + e0 * (T + 1) * 2;
        st = pc_encode_steps(g->pc, pos, Bn, T, g->e_pc0, NULL);
        if (st == ENGRAM_OK) st = gc_encode_hd(g, g->e_hd + e0 * (T + 1), Bn, g->e_hd0, NULL);
        if (st != ENGRAM_OK) break;
        if (g->zscore_init) pc_zscore_rows(g->e_pc0, Bn, P);
        if (eval_dropout) pathint_dropout_mask(g->m, Bn, ctx->seed, (1ull << 40) + e0);
        st = pathint_forward(g->m, Bn, g->e_inp + e0 * T * g->I, g->e_pc0, g->e_hd0, NULL, NULL,
                             eval_dropout, NULL);
        if (st != ENGRAM_OK) break;
        /* true positions of steps 1..T in the model's time-major row order r = t*B + b */
        for (size_t t = 0; t < T; t++)
            for (size_t b = 0; b < Bn; b++) {
                const double *p = pos + (b * (T + 1) + t + 1) * 2;
                g->pos_tm[(t * Bn + b) * 2] = p[0];
                g->pos_tm[(t * Bn + b) * 2 + 1] = p[1];
            }
        const double *act = eval_dropout ? g->m->gd : g->m->g;
        ratemap_add(g->acc, act, g->pos_tm, T * Bn);
        /* split halves: trajectories 0..E/2-1 and the rest (rows t * Bn + b of each step) */
        size_t half = g->E / 2, nb_a = half > e0 ? (half - e0 < Bn ? half - e0 : Bn) : 0;
        for (size_t t = 0; t < T; t++) {
            const size_t r0 = t * Bn;
            if (nb_a) ratemap_add(g->acc_a, act + r0 * Ng, g->pos_tm + r0 * 2, nb_a);
            if (nb_a < Bn)
                ratemap_add(g->acc_b, act + (r0 + nb_a) * Ng, g->pos_tm + (r0 + nb_a) * 2, Bn - nb_a);
        }
        st = pc_decode(g->pc, g->m->p_pc, T * Bn, decode_k, g->dec_tm);
        if (st != ENGRAM_OK) break;
        for (size_t t = 0; t < T; t++)
            for (size_t b = 0; b < Bn; b++) {
                size_t r = t * Bn + b;
                double dx = g->dec_tm[r * 2] - g->pos_tm[r * 2];
                double dy = g->dec_tm[r * 2 + 1] - g->pos_tm[r * 2 + 1];
                err_sum += sqrt(dx * dx + dy * dy);
                base_sum += sqrt(g->pos_tm[r * 2] * g->pos_tm[r * 2] +
                                 g->pos_tm[r * 2 + 1] * g->pos_tm[r * 2 + 1]);
                double *dst = g->decoded + ((e0 + b) * T + t) * 2;
                dst[0] = g->dec_tm[r * 2];
                dst[1] = g->dec_tm[r * 2 + 1];
            }
        n_rows += T * Bn;
    }
    (void)P; (void)D;
    if (st != ENGRAM_OK) return st;
    ratemap_finalise(g->acc, g->maps);
    st = gridscore_maps(g->gs, g->maps, Ng, g->res, g->sacs);
    if (st != ENGRAM_OK) return st;
    double mx = NAN;
    for (size_t u = 0; u < Ng; u++)
        if (isfinite(g->res[u].score60) && (isnan(mx) || g->res[u].score60 > mx)) mx = g->res[u].score60;
    row[H_DEC] = 100.0 * err_sum / (double)n_rows;
    row[H_BASE] = 100.0 * base_sum / (double)n_rows;
    row[H_MAX60] = mx;
    row[H_GRIDNP] = (double)gridscore_count_grid(g->res, Ng, threshold, g->max_plane_r2);
    return gc_grid_stats(ctx, g, row);
}

/* The example trajectory figure: the true path of evaluation trajectory 0 and its
 * decoded positions, in axes spanning the box (x to the right, y upwards, metres). */
static int gc_fig_trajectory(const char *path, const gc_run *g) {
    const size_t T = g->T, P = T + 1;
    double *xs = malloc(2 * P * sizeof *xs), *ys = malloc(2 * P * sizeof *ys);
    if (!xs || !ys) { free(xs); free(ys); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    for (size_t t = 0; t < P; t++) {
        xs[t] = g->e_pos[t * 2];
        ys[t] = g->e_pos[t * 2 + 1];
        xs[P + t] = t < T ? g->decoded[t * 2] : NAN;
        ys[P + t] = t < T ? g->decoded[t * 2 + 1] : NAN;
    }
    double half = g->tp.box / 2;
    static const char *const names[] = {"true path", "decoded (mean of top-3 place-cell centres)"};
    char sub[96];
    snprintf(sub, sizeof sub, "evaluation trajectory 0, %zu steps, box %.3g m", T, g->tp.box);
    image_plot pl = {.title = "Path integration: true and decoded position", .x_label = "x (m)",
                     .y_label = "y (m)", .x = xs, .y = ys, .n_series = 2, .n_points = P,
                     .names = names, .width = 640, .height = 640};
    image_plot_opts po = {.subtitle = sub, .xs = xs, .fix_x = 1, .fix_y = 1,
                          .x_lim = {-half, half}, .y_lim = {-half, half}, .equal_aspect = 1};
    int st = image_write_plot_opts(path, &pl, &po);
    free(xs); free(ys);
    return st;
}

/* Place-cell fields (each pixel coloured by its most active cell, neighbouring cells
 * scattered over the colour map) and the head-direction tuning curves. */
static int gc_fig_cells(const char *pc_path, const char *hd_path, const gc_run *g) {
    const size_t S = 240;
    const pc_ensemble *pc = g->pc;
    double *row = malloc(S * 2 * sizeof *row), *out = malloc(S * pc->n * sizeof *out);
    double *z = malloc(S * S * sizeof *z);
    if (!z || !row || !out) { free(z); free(row); free(out); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    double half = pc->box / 2;
    for (size_t py = 0; py < S; py++) {
        for (size_t px = 0; px < S; px++) {
            row[px * 2] = -half + (px + 0.5) / (double)S * pc->box;
            row[px * 2 + 1] = half - (py + 0.5) / (double)S * pc->box;
        }
        pc_encode(pc, row, S, out);
        for (size_t px = 0; px < S; px++) {
            size_t best = 0;
            for (size_t i = 1; i < pc->n; i++) if (out[px * pc->n + i] > out[px * pc->n + best]) best = i;
            z[py * S + px] = (double)((best * 97) % pc->n);
        }
    }
    char title[96];
    snprintf(title, sizeof title, "%zu place cells (sigma %.3g m): most active cell", pc->n, pc->sigma);
    image_map m = {.title = title, .subtitle = "colour = cell identity (scattered), box seen from above, y up",
                   .x_label = "x (pixel of 240 across the box)", .y_label = "y (pixel, top = +y wall)",
                   .cbar_label = "cell index (scattered)", .z = z, .rows = S, .cols = S,
                   .cmap = IMAGE_CMAP_JET, .cell = 2};
    int st = image_write_map(pc_path, &m);
    free(z); free(row); free(out);
    if (st != ENGRAM_OK || !g->hdc) return st;
    /* HD tuning: target of each cell against heading, -180..180 degrees */
    const hd_ensemble *h = g->hdc;
    const size_t NP = 361;
    double *x = malloc(NP * sizeof *x), *ang = malloc(NP * sizeof *ang);
    double *enc = malloc(NP * h->n * sizeof *enc), *y = malloc(NP * h->n * sizeof *y);
    if (!x || !ang || !enc || !y) { free(x); free(ang); free(enc); free(y); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    for (size_t k = 0; k < NP; k++) { x[k] = -180.0 + (double)k; ang[k] = x[k] * M_PI / 180.0; }
    st = hdc_encode(h, ang, NP, enc);
    for (size_t j = 0; j < h->n; j++)
        for (size_t k = 0; k < NP; k++) y[j * NP + k] = enc[k * h->n + j];
    char hd_title[96];
    snprintf(hd_title, sizeof hd_title, "%zu head-direction cells (kappa %.3g): softmax targets", h->n, h->kappa);
    image_plot pl = {hd_title, "heading (degrees)", "target", x, y, NULL, NULL, h->n, NP, NULL, 0, 0, 0};
    if (st == ENGRAM_OK) st = image_write_plot(hd_path, &pl);
    free(x); free(ang); free(enc); free(y);
    return st;
}

/* Loss and decoding-error curves from the history. */
static int gc_fig_curves(run_ctx *ctx, const gc_run *g) {
    size_t n = g->n_hist;
    if (n == 0) return ENGRAM_OK;
    double *x = malloc(n * sizeof *x), *y = malloc(2 * n * sizeof *y);
    if (!x || !y) { free(x); free(y); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    for (size_t i = 0; i < n; i++) {
        x[i] = g->hist[i * H_N + H_STEP];
        y[i] = g->hist[i * H_N + H_LOSS];
    }
    char buf[PATH_MAX];
    image_plot pl = {"training loss (PC + HD cross-entropy)", "update", "loss", x, y, NULL, NULL,
                     1, n, NULL, 0, 0, 0};
    int st = image_write_plot(gc_path(ctx, "loss.png", buf, sizeof buf), &pl);
    for (size_t i = 0; i < n; i++) {
        y[i] = g->hist[i * H_N + H_DEC];
        y[n + i] = g->hist[i * H_N + H_BASE];
    }
    const char *names[2] = {"network (top-3 place cells)", "always the box centre"};
    image_plot pd = {"position decoding error on the evaluation set", "update", "error (cm)", x, y,
                     NULL, NULL, 2, n, names, 0, 0, 0};
    if (st == ENGRAM_OK) st = image_write_plot(gc_path(ctx, "decode_error.png", buf, sizeof buf), &pd);
    free(x); free(y);
    return st;
}

/* Per-unit statistics of the latest evaluation: unit, score60, split-half stability,
 * plane_r2, lattice spacing (m), orientation (degrees), ellipticity, and whether the
 * unit counts as a grid unit (see gc_grid_stats). */
static int gc_write_gridstats(const char *path, const gc_run *g) {
    FILE *f = fopen(path, "w");
    if (!f) return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    const double p99 = g->hist[(g->n_hist ? g->n_hist - 1 : 0) * H_N + H_NULL99];
    const double bin = g->tp.box / (double)g->bins;
    fprintf(f, "unit,score60,stability,plane_r2,spacing_m,orientation_deg,ellipticity,grid_unit\n");
    for (size_t u = 0; u < g->Ng; u++) {
        const gridscore_result *r = g->res + u;
        int grid = r->score60 > p99 && g->stab[u] >= g->min_stab && r->plane_r2 < g->max_plane_r2;
        fprintf(f, "%zu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d\n", u, r->score60, g->stab[u], r->plane_r2,
                r->spacing * bin, r->orientation, r->ellipticity, grid);
    }
    if (fclose(f) != 0) return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    return ENGRAM_OK;
}

static int gc_cmp_desc(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    if (isnan(a)) return isnan(b) ? 0 : 1;
    if (isnan(b)) return -1;
    return (a < b) - (a > b);
}

/* The grid-statistics figures of the latest evaluation: gridscores.png, score60 of
 * every unit by rank (trained and untrained) against the null's and the untrained
 * net's 99th percentiles and 0.8; gridunits.png, the maps and SACs of the grid units
 * only, sorted by score; gridspacing.png and gridorientation.png, histograms of the
 * grid units' lattice spacing and orientation. */
static int gc_fig_gridstats(run_ctx *ctx, const gc_run *g) {
    const size_t Ng = g->Ng, nn = g->bins * g->bins;
    const double *row = g->hist + (g->n_hist - 1) * H_N;
    const double p99 = row[H_NULL99], bin = g->tp.box / (double)g->bins;
    double *x = malloc(Ng * sizeof *x), *y = malloc(5 * Ng * sizeof *y);
    double *sel = malloc(Ng * nn * sizeof *sel);
    gridscore_result *rs = malloc(Ng * sizeof *rs);
    if (!x || !y || !sel || !rs) { free(x); free(y); free(sel); free(rs); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    size_t ng = 0;
    for (size_t u = 0; u < Ng; u++) {
        x[u] = (double)(u + 1);
        y[u] = g->res[u].score60;
        y[Ng + u] = g->untr_sc[u];
        y[2 * Ng + u] = p99;
        y[3 * Ng + u] = g->untr99;
        y[4 * Ng + u] = 0.8;
        const gridscore_result *r = g->res + u;
        if (r->score60 > p99 && g->stab[u] >= g->min_stab && r->plane_r2 < g->max_plane_r2) {
            memcpy(sel + ng * nn, g->maps + u * nn, nn * sizeof *sel);
            rs[ng++] = *r;
        }
    }
    qsort(y, Ng, sizeof *y, gc_cmp_desc);
    qsort(y + Ng, Ng, sizeof *y, gc_cmp_desc);
    char title[200], a[1200], b[1200];
    snprintf(title, sizeof title, "score60 by rank, step %.0f: %zu grid units", row[H_STEP], ng);
    const char *names[5] = {"trained", "untrained (step 0)", "null 99th percentile", "untrained 99th percentile", "0.8"};
    image_plot pl = {title, "unit rank", "score60", x, y, NULL, NULL, 5, Ng, names, 0, 0, 0};
    int st = image_write_plot(gc_path(ctx, "gridscores.png", a, sizeof a), &pl);
    if (st == ENGRAM_OK && ng > 0) {
        gridfig_opts o;
        gridfig_opts_default(&o);
        o.max_units = 64;
        st = gridfig_write(gc_path(ctx, "gridunits.png", a, sizeof a),
                           gc_path(ctx, "gridunits_order.csv", b, sizeof b), sel, ng, g->gs, rs, &o);
    }
    /* histograms: spacing in 5 cm bins over 0..1.5 m, orientation in 5-degree bins */
    enum { NS = 30, NO = 12 };
    double hx[NS], hs[NS], ox[NO], ho[NO];
    for (int k = 0; k < NS; k++) { hx[k] = 0.05 * k + 0.025; hs[k] = 0; }
    for (int k = 0; k < NO; k++) { ox[k] = 5.0 * k + 2.5; ho[k] = 0; }
    for (size_t k = 0; k < ng; k++) {
        if (isfinite(rs[k].spacing)) {
            long i = (long)(rs[k].spacing * bin / 0.05);
            if (i >= 0 && i < NS) hs[i] += 1;
        }
        if (isfinite(rs[k].orientation)) {
            long i = (long)(rs[k].orientation / 5.0);
            if (i >= 0 && i < NO) ho[i] += 1;
        }
    }
    snprintf(title, sizeof title, "lattice spacing of the %zu grid units (median %.2f m)", ng, row[H_SPACING]);
    image_plot ps = {title, "spacing (m), six inner SAC peaks", "units", hx, hs, NULL, NULL, 1, NS, NULL, 0, 0, 0};
    if (st == ENGRAM_OK) st = image_write_plot(gc_path(ctx, "gridspacing.png", a, sizeof a), &ps);
    snprintf(title, sizeof title, "lattice orientation of the %zu grid units", ng);
    image_plot po = {title, "orientation (degrees, mod 60)", "units", ox, ho, NULL, NULL, 1, NO, NULL, 0, 0, 0};
    if (st == ENGRAM_OK) st = image_write_plot(gc_path(ctx, "gridorientation.png", a, sizeof a), &po);
    free(x); free(y); free(sel); free(rs);
    return st;
}

/* Writes each named weight matrix of the model as its own .npy (rows = inputs): every
 * parameter, so that the network can be rebuilt from them (engram analyze). */
static int gc_write_weights(run_ctx *ctx, const gc_run *g) {
    const pathint *m = g->m;
    const pathint_dims *d = &m->d;
    const size_t H = d->n_hidden, PD = d->n_pc + d->n_hd, I = d->n_in, D = d->n_hd;
    size_t s_enc[2] = {PD, H}, s_out[2] = {d->n_g, d->n_pc}, s_h[1] = {H}, s_p[1] = {d->n_pc};
    size_t s_hd[2] = {d->n_g, D}, s_d[1] = {D};
    int st = run_write_npy(ctx, "w_enc.npy", m->w.w_h0, 2, s_enc);
    if (st == ENGRAM_OK) st = run_write_npy(ctx, "b_enc.npy", m->w.b_h0, 1, s_h);
    if (st == ENGRAM_OK) st = run_write_npy(ctx, "w_out.npy", m->w.w_pc, 2, s_out);
    if (st == ENGRAM_OK) st = run_write_npy(ctx, "b_out.npy", m->w.b_pc, 1, s_p);
    if (st == ENGRAM_OK && D) st = run_write_npy(ctx, "w_hd.npy", m->w.w_hd, 2, s_hd);
    if (st == ENGRAM_OK && D) st = run_write_npy(ctx, "b_hd.npy", m->w.b_hd, 1, s_d);
    if (d->kind == PATHINT_RNN) {
        size_t s_in[2] = {I, H}, s_rec[2] = {H, H};
        if (st == ENGRAM_OK) st = run_write_npy(ctx, "w_in.npy", m->w.w_in, 2, s_in);
        if (st == ENGRAM_OK) st = run_write_npy(ctx, "w_rec.npy", m->w.w_rec, 2, s_rec);
    } else {
        size_t s_in[2] = {I, 4 * H}, s_rec[2] = {H, 4 * H}, s_g[2] = {H, d->n_g}, s_b[1] = {4 * H};
        if (st == ENGRAM_OK) st = run_write_npy(ctx, "w_enc_c.npy", m->w.w_c0, 2, s_enc);
        if (st == ENGRAM_OK) st = run_write_npy(ctx, "b_enc_c.npy", m->w.b_c0, 1, s_h);
        if (st == ENGRAM_OK) st = run_write_npy(ctx, "w_in.npy", m->w.lstm.w_x, 2, s_in);
        if (st == ENGRAM_OK) st = run_write_npy(ctx, "w_rec.npy", m->w.lstm.w_h, 2, s_rec);
        if (st == ENGRAM_OK) st = run_write_npy(ctx, "b_lstm.npy", m->w.lstm.b, 1, s_b);
        if (st == ENGRAM_OK) st = run_write_npy(ctx, "w_g.npy", m->w.w_g, 2, s_g);
    }
    return st;
}

/* Writes the arrays and figures of the latest evaluation. */
static int gc_write_outputs(run_ctx *ctx, gc_run *g) {
    char a[PATH_MAX], b[PATH_MAX];
    size_t sh3[3] = {g->Ng, g->bins, g->bins};
    int st = run_write_npy(ctx, "ratemaps.npy", g->maps, 3, sh3);
    size_t side = 2 * g->bins - 1, shs[3] = {g->Ng, side, side};
    if (st == ENGRAM_OK) st = run_write_npy(ctx, "sacs.npy", g->sacs, 3, shs);
    size_t shp[3] = {g->E, g->T + 1, 2}, shd[3] = {g->E, g->T, 2};
    if (st == ENGRAM_OK) st = run_write_npy(ctx, "positions.npy", g->e_pos, 3, shp);
    if (st == ENGRAM_OK) st = run_write_npy(ctx, "decoded.npy", g->decoded, 3, shd);
    if (st == ENGRAM_OK) st = gridscore_write_csv_path(gc_path(ctx, "gridscores.csv", a, sizeof a), g->res, g->Ng);
    if (st == ENGRAM_OK) st = gc_write_gridstats(gc_path(ctx, "gridstats.csv", a, sizeof a), g);
    if (st == ENGRAM_OK) st = gc_write_weights(ctx, g);
    if (st == ENGRAM_OK) st = gc_fig_gridstats(ctx, g);
    if (st == ENGRAM_OK)
        st = gridfig_write(gc_path(ctx, "ratemaps.png", a, sizeof a),
                           gc_path(ctx, "ratemaps_order.csv", b, sizeof b), g->maps, g->Ng, g->gs,
                           g->res, NULL);
    if (st == ENGRAM_OK) st = gc_fig_trajectory(gc_path(ctx, "trajectory.png", a, sizeof a), g);
    if (st == ENGRAM_OK) st = gc_fig_curves(ctx, g);
    return st;
}

static int gc_setup(run_ctx *ctx, gc_run *g) {
    const config *c = ctx->cfg;
    g->B = (size_t)config_int(c, "train.batch");
    g->T = (size_t)config_int(c, "train.seq_len");
    g->E = (size_t)config_int(c, "eval.trajectories");
    g->Be = (size_t)config_int(c, "eval.batch");
    if (g->Be > g->E) g->Be = g->E;
    g->P = (size_t)config_int(c, "cells.n_pc");
    g->D = (size_t)config_int(c, "cells.n_hd");
    g->Ng = (size_t)config_int(c, "model.n_g");
    g->bins = (size_t)config_int(c, "eval.bins");
    g->steps = config_int(c, "train.steps");
    g->every = config_int(c, "eval.every");
    g->max_plane_r2 = config_real(c, "eval.max_plane_r2");
    int st = traj_params_from_config(c, &g->tp);
    if (st != ENGRAM_OK) return st;
    if ((st = pc_cells_from_config(c, g->tp.box, &g->pc, &g->hdc)) != ENGRAM_OK) return st;
    const int rnn = strcmp(config_str(c, "model.kind"), "rnn") == 0;
    size_t H = (size_t)config_int(c, "model.n_hidden");
    if (rnn) g->Ng = H; /* the RNN's units are the scored layer */
    g->allocentric = strcmp(config_str(c, "input.velocity"), "allocentric") == 0;
    g->I = g->allocentric ? 2 : 3;
    g->vel_scale = strcmp(config_str(c, "input.velocity_units"), "mps") == 0 ? 1.0 / g->tp.dt : 1.0;
    g->zscore_init = config_bool(c, "input.zscore_init");
    pathint_dims d = {g->I, H, g->Ng, g->P, g->D, rnn ? PATHINT_RNN : PATHINT_LSTM};
    g->m = pathint_alloc(&d, g->B > g->Be ? g->B : g->Be, g->T);
    if (!g->m) return ENGRAM_ENOMEM;
    g->m->rnn_act = strcmp(config_str(c, "model.activation"), "tanh") == 0 ? PATHINT_TANH : PATHINT_RELU;
    g->m->g_act = strcmp(config_str(c, "model.g_activation"), "relu") == 0 ? PATHINT_G_RELU : PATHINT_G_LINEAR;
    if (rnn) g->m->bias = config_bool(c, "model.bias");
    g->m->dropout = config_real(c, "model.dropout");
    g->m->forget_bias = config_real(c, "model.forget_bias");
    g->m->weight_decay = config_real(c, "train.weight_decay");
    if (strcmp(config_str(c, "run.precision"), "float32") == 0) {
        st = pathint_set_precision(g->m, PATHINT_F32);
        if (st != ENGRAM_OK) return st;
    }
    st = pathint_init_weights(g->m, ctx->seed);
    if (st != ENGRAM_OK) return st;
    optim_kind kind;
    st = optim_kind_parse(config_str(c, "train.optimizer"), &kind);
    if (st != ENGRAM_OK) return st;
    optim_params op = optim_defaults(kind);
    op.lr = config_real(c, "train.lr");
    if (kind != OPTIM_ADAM) op.momentum = config_real(c, "train.momentum");
    op.clip_value = config_real(c, "train.clip_value");
    /* weight decay is applied by the model to W_g, W_pc, W_hd only (not the optimiser) */
    g->opt = optim_alloc(&op, g->m->n_params);
    g->r_data = rng_stream_alloc(ctx->seed, "data", 0);
    size_t B = g->B, T = g->T, E = g->E, Be = g->Be, P = g->P, D = g->D;
    g->vel = malloc(B * T * 3 * sizeof(double));
    g->pos = malloc(B * (T + 1) * 2 * sizeof(double));
    g->hd = malloc(B * (T + 1) * sizeof(double));
    g->pc0 = malloc(B * P * sizeof(double));
    g->hd0 = malloc((B * D + 1) * sizeof(double));
    g->pct = malloc(B * T * P * sizeof(double));
    g->hdt = malloc((B * T * D + 1) * sizeof(double));
    g->inp = malloc(B * T * g->I * sizeof(double));
    g->e_inp = malloc(E * T * g->I * sizeof(double));
    g->e_vel = malloc(E * T * 3 * sizeof(double));
    g->e_pos = malloc(E * (T + 1) * 2 * sizeof(double));
    g->e_hd = malloc(E * (T + 1) * sizeof(double));
    g->e_pc0 = malloc(Be * P * sizeof(double));
    g->e_hd0 = malloc((Be * D + 1) * sizeof(double));
    g->pos_tm = malloc(T * Be * 2 * sizeof(double));
    g->dec_tm = malloc(T * Be * 2 * sizeof(double));
    g->decoded = malloc(E * T * 2 * sizeof(double));
    double half = g->tp.box / 2;
    g->acc = ratemap_alloc(g->Ng, g->bins, -half, half);
    g->acc_a = ratemap_alloc(g->Ng, g->bins, -half, half);
    g->acc_b = ratemap_alloc(g->Ng, g->bins, -half, half);
    g->n_null = (size_t)config_int(c, "eval.null_maps");
    g->min_stab = config_real(c, "eval.min_stability");
    g->untr99 = NAN;
    size_t nmap = g->Ng * g->bins * g->bins;
    g->maps_a = malloc(nmap * sizeof(double));
    g->maps_b = malloc(nmap * sizeof(double));
    g->stab = malloc(g->Ng * sizeof(double));
    g->untr_sc = malloc(g->Ng * sizeof(double));
    for (size_t u = 0; g->untr_sc && u < g->Ng; u++) g->untr_sc[u] = NAN;
    g->null_sc = malloc((g->n_null + 1) * sizeof(double));
    g->qwork = malloc((g->n_null + g->Ng + 1) * sizeof(double));
    g->gs = gridscorer_alloc(g->bins, strcmp(config_str(c, "eval.interp"), "bilinear") == 0
                                          ? GRIDSCORE_BILINEAR : GRIDSCORE_SPLINE3);
    g->res = calloc(g->Ng, sizeof *g->res);
    g->maps = malloc(g->Ng * g->bins * g->bins * sizeof(double));
    size_t side = 2 * g->bins - 1;
    g->sacs = malloc(g->Ng * side * side * sizeof(double));
    g->max_hist = (size_t)(g->steps / g->every) + 2;
    g->hist = calloc(g->max_hist * H_N, sizeof(double));
    if (!g->opt || !g->r_data || !g->vel || !g->pos || !g->hd || !g->pc0 || !g->hd0 || !g->pct ||
        !g->hdt || !g->e_vel || !g->e_pos || !g->e_hd || !g->e_pc0 || !g->e_hd0 || !g->pos_tm ||
        !g->dec_tm || !g->decoded || !g->inp || !g->e_inp || !g->acc || !g->acc_a || !g->acc_b ||
        !g->maps_a || !g->maps_b || !g->stab || !g->untr_sc || !g->null_sc || !g->qwork || !g->gs || !g->res || !g->maps || !g->sacs || !g->hist)
        return engram_fail(ENGRAM_ENOMEM, "gridcells: out of memory");
    g->gs->min_max = config_bool(c, "eval.min_max");
    /* the fixed evaluation set */
    gsl_rng *rt = rng_stream_alloc(ctx->seed, "test", 0);
    if (!rt) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    run_note(ctx, "generating %zu evaluation trajectories of %zu steps", E, T);
    st = traj_generate_batch(&g->tp, E, T, rt, g->e_vel, g->e_pos, g->e_hd);
    gsl_rng_free(rt);
    if (st == ENGRAM_OK) gc_make_input(g, E, g->e_vel, g->e_pos, g->e_inp);
    return st;
}

/* Fills the checkpoint blob table; returns the count. */
static size_t gc_blobs(gc_run *g, ckpt_blob *bl, double *wall, double *n_hist) {
    size_t n = 0;
    bl[n++] = (ckpt_blob){"params", g->m->params, g->m->n_params * sizeof(double)};
    bl[n++] = (ckpt_blob){"optim_m", g->opt->m, g->opt->n * sizeof(double)};
    bl[n++] = (ckpt_blob){"optim_v", g->opt->v, g->opt->n * sizeof(double)};
    bl[n++] = (ckpt_blob){"optim_t", &g->opt->t, sizeof(double)};
    bl[n++] = (ckpt_blob){"rng_data", gsl_rng_state(g->r_data), gsl_rng_size(g->r_data)};
    bl[n++] = (ckpt_blob){"history", g->hist, g->max_hist * H_N * sizeof(double)};
    bl[n++] = (ckpt_blob){"n_history", n_hist, sizeof(double)};
    bl[n++] = (ckpt_blob){"wall_s", wall, sizeof(double)};
    return n;
}

static int gc_run_fn(run_ctx *ctx) {
    const config *c = ctx->cfg;
    gc_run g;
    memset(&g, 0, sizeof g);
    int st = gc_setup(ctx, &g);
    if (st != ENGRAM_OK) { gc_free(&g); return st; }
    const int eval_dropout = config_bool(c, "eval.dropout");
    const size_t decode_k = (size_t)config_int(c, "eval.decode_k");
    const double threshold = config_real(c, "eval.grid_threshold");
    const long ck_every = config_int(c, "run.checkpoint_every");
    const double max_loss = config_real(c, "train.diverge_factor") *
                            fmax(log((double)g.P) + log((double)g.D), 1.0);
    const size_t B = g.B, T = g.T;
    static const char *const cols[] = {
        "loss", "decode_error_cm", "centre_error_cm", "max_score60", "grid_units",
        "grid_units_nonplanar", "null_p95", "null_p99", "untrained_p99", "units_above_0_8",
        "units_above_1_0", "grid_units_0_8", "grid_units_untrained", "units_above_untrained_p99",
        "median_stability", "median_spacing_m"};
    long step = 0, last_ck = 0;
    double wall = 0, n_hist_d = 0;
    ckpt_blob bl[9];
    double loss_acc[2] = {0, 0}; /* loss sum and count since the last evaluation */
    size_t nb = gc_blobs(&g, bl, &wall, &n_hist_d);
    bl[nb++] = (ckpt_blob){"loss_acc", loss_acc, sizeof loss_acc};
    if (ctx->resuming) {
        st = run_ckpt_load(ctx, &step, bl, nb, "history");
        if (st != ENGRAM_OK) { gc_free(&g); return st; }
        g.n_hist = (size_t)n_hist_d;
        g.untr99 = g.hist[H_UNTR99]; /* row 0: the untrained network */
        ctx->wall_offset = wall;
        last_ck = step;
    }
    st = run_metrics_begin(ctx, cols, H_N - 1, step);
    if (st != ENGRAM_OK) { gc_free(&g); return st; }
    if (!ctx->resuming) {
        /* untrained network: evaluation at step 0 (no training loss yet) */
        double *row = g.hist;
        row[H_STEP] = 0;
        row[H_LOSS] = NAN;
        st = gc_evaluate(ctx, &g, eval_dropout, decode_k, threshold, row);
        if (st == ENGRAM_OK) st = run_metrics_row(ctx, 0, row + H_LOSS);
        g.n_hist = 1;
        char a[PATH_MAX], b[PATH_MAX];
        if (st == ENGRAM_OK)
            st = gc_fig_cells(gc_path(ctx, "placecells.png", a, sizeof a),
                              gc_path(ctx, "hdcells.png", b, sizeof b), &g);
        if (st == ENGRAM_OK && g.steps == 0) st = gc_write_outputs(ctx, &g);
    }
    double loss_sum = loss_acc[0];
    long loss_n = (long)loss_acc[1];
    for (long s = step + 1; s <= g.steps && st == ENGRAM_OK; s++) {
        if (run_stop_signal()) { /* everything of update s - 1 is done */
            wall = run_wall(ctx);
            n_hist_d = (double)g.n_hist;
            loss_acc[0] = loss_sum;
            loss_acc[1] = (double)loss_n;
            st = run_ckpt_save(ctx, s - 1, bl, nb);
            if (st == ENGRAM_OK)
                st = engram_fail(ENGRAM_EINTR, "gridcells: interrupted after update %ld, "
                                 "checkpoint saved", s - 1);
            break;
        }
        st = traj_generate_batch(&g.tp, B, T, g.r_data, g.vel, g.pos, g.hd);
        if (st == ENGRAM_OK) st = pc_encode_steps(g.pc, g.pos, B, T, g.pc0, g.pct);
        if (st == ENGRAM_OK) st = gc_encode_hd(&g, g.hd, B, g.hd0, g.hdt);
        if (st != ENGRAM_OK) break;
        gc_make_input(&g, B, g.vel, g.pos, g.inp);
        if (g.zscore_init) pc_zscore_rows(g.pc0, B, g.P);
        if (g.m->dropout > 0) pathint_dropout_mask(g.m, B, ctx->seed, (uint64_t)s);
        double loss;
        g.m->f32_outputs = 0; /* training reads only the loss */
        st = pathint_forward(g.m, B, g.inp, g.pc0, g.hd0, g.pct, g.hdt, 1, &loss);
        g.m->f32_outputs = 1;
        if (st != ENGRAM_OK) break;
        pathint_backward(g.m, g.pct, g.hdt);
        st = optim_step(g.opt, g.m->params, g.m->grads);
        if (st != ENGRAM_OK) break;
        loss_sum += g.m->ce;
        loss_n++;
        run_progress(ctx, s, g.steps, "loss %.4f", g.m->ce);
        if (s % g.every == 0 || s == g.steps) {
            double *row = g.hist + g.n_hist * H_N;
            row[H_STEP] = (double)s;
            row[H_LOSS] = loss_sum / (double)loss_n;
            loss_sum = 0;
            loss_n = 0;
            st = gc_evaluate(ctx, &g, eval_dropout, decode_k, threshold, row);
            if (st != ENGRAM_OK) break;
            g.n_hist++;
            st = run_metrics_row(ctx, s, row + H_LOSS);
            /* diverged: loss or parameters not finite; no result array is written */
            if (st == ENGRAM_OK && (!isfinite(row[H_LOSS]) || row[H_LOSS] > max_loss ||
                                    !engram_all_finite(g.m->params, g.m->n_params))) {
                st = engram_fail(ENGRAM_EDIVERGED, "gridcells: training diverged by update %ld "
                                 "(loss %g; lower train.lr or set train.clip_value)", s, row[H_LOSS]);
                run_summary_real(ctx, "loss", row[H_LOSS]);
                run_summary_int(ctx, "diverged_at", s);
                break;
            }
            if (st == ENGRAM_OK) st = gc_write_outputs(ctx, &g);
            if (st == ENGRAM_OK && ck_every > 0 && (s - last_ck >= ck_every || s == g.steps)) {
                wall = run_wall(ctx);
                n_hist_d = (double)g.n_hist;
                loss_acc[0] = loss_acc[1] = 0;
                st = run_ckpt_save(ctx, s, bl, nb);
                last_ck = s;
            }
        }
    }
    if (st == ENGRAM_OK) {
        const double *last = g.hist + (g.n_hist - 1) * H_N;
        run_summary_real(ctx, "decode_error_cm", last[H_DEC]);
        run_summary_real(ctx, "centre_error_cm", last[H_BASE]);
        run_summary_real(ctx, "max_score60", last[H_MAX60]);
        run_summary_int(ctx, "grid_units", (long)last[H_GRID]);
        run_summary_int(ctx, "grid_units_nonplanar", (long)last[H_GRIDNP]);
        run_summary_real(ctx, "null_p95", last[H_NULL95]);
        run_summary_real(ctx, "null_p99", last[H_NULL99]);
        run_summary_real(ctx, "untrained_p99", last[H_UNTR99]);
        run_summary_int(ctx, "units_above_0_8", (long)last[H_A08]);
        run_summary_int(ctx, "units_above_1_0", (long)last[H_A10]);
        run_summary_int(ctx, "grid_units_0_8", (long)last[H_G08]);
        run_summary_int(ctx, "grid_units_untrained", (long)last[H_GUNTR]);
        run_summary_int(ctx, "units_above_untrained_p99", (long)last[H_AUNTR]);
        run_summary_real(ctx, "median_stability", last[H_STAB]);
        run_summary_real(ctx, "median_spacing_m", last[H_SPACING]);
        run_summary_int(ctx, "steps", g.steps);
        run_summary_real(ctx, "loss", last[H_LOSS]);
    }
    gc_free(&g);
    return st;
}

/* The grid-cell experiment of Banino et al. 2018 (see the file comment). */
const experiment exp_gridcells = {
    .name = "gridcells",
    .description = "path-integrating LSTM with grid-like units (Banino et al. 2018)",
    .tables = gc_tables,
    .rules = NULL,
    .quick = gc_quick,
    .main_metric = "decode_error_cm",
    .higher_is_better = 0,
    .curve_column = "decode_error_cm",
    .run = gc_run_fn,
    .resumable = 1,
};
