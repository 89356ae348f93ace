/* analysis.h: understanding trained networks from their recorded activity.
 *
 * A family of small analyses over one trained run: record (the network on seeded test
 * trials), pca, lesion / perturb, tuning, fixedpoints and encode. Each works on an
 * analysis_rec, the recorded trials of one network:
 *     x (K, T, I), y (K, T, O), mask (K, T), act (K, T, N), out (K, T, O), cond (K, T, C)
 * with K trials padded to T = t_max steps (len[k] the true length; rows past it are zero)
 * and C task variables per step (cond_names).
 *
 * Models. analysis_model_load(run_dir) reads RUN_DIR/config.ini with the experiment's
 * key tables and the network's saved weights, and rebuilds one of four networks
 * (analysis_net_kind):
 *   rate RNN   the rules bptt, fa, rflo, esn on anbn, tmaze and the cognitive tasks
 *              (decision, delayed-response, dms, romo, mante, gonogo, flipflop): the
 *              named matrices w_rec.npy (N, N), w_in.npy (N, I), b_rec.npy (N,),
 *              w_out.npy (O, N), b_out.npy (O,), else the flat block weights.npy
 *              [W | U | b | V | c] (rnn.h). Dynamics below.
 *   r2n2       the consolidator of train.rule = r2n2 on the same tasks (r2n2.h):
 *              w_ab, w_ba, w_ia, w_bo.npy, else the flat r2n2_params.npy. Its units are
 *              the 2N states [a; b] (A first); a lesion holds a unit's state at 0 from
 *              its own update on (so phi = tanh sends nothing), applied to A before B is
 *              updated; a perturbation clamps or shifts the state the same way. The
 *              analysis runs the float equations from a zero start (r2n2.h0 and the
 *              fixed-point reversal only matter for training).
 *   pathint    the path integrators of the gridcells experiment (pathint.h) with
 *              model.kind = rnn (units: the H recurrent units, which are the scored
 *              layer) or lstm (units: the Ng units of the linear layer g, which do not
 *              feed back: a lesion or perturbation of g changes only the readout of
 *              that step; fixedpoints is refused). Weights: w_enc, w_in, w_rec, w_out
 *              (+ w_enc_c, w_g for the LSTM) and the biases and head-direction head
 *              b_enc, b_enc_c, b_lstm, b_out, w_hd, b_hd when the model has them.
 *              Simulated in float64 from the saved (float64 master) weights, also
 *              for runs trained with run.precision = float32.
 *              Trials are trajectories (traj.*) with the run's place-cell and
 *              head-direction targets; the metric is the decoding error in cm (top-k
 *              place-cell centres, eval.decode_k), lower is better.
 *   esn        the echo-state prediction runs mackey-glass and narma10 (task.mode =
 *              predict): the reservoir rebuilt from the run's seed and reservoir.* keys
 *              (esn_alloc draws it deterministically), the readout from w_out.npy
 *              (1, D), column 0 the bias. One trial: the run's whole drive (washout,
 *              train, test), counted on the test steps; the metric is the test NRMSE.
 * Anything else is refused with ENGRAM_ERANGE and a one-line message.
 *
 * Simulation. The recorded dynamics of the rate RNN are those of rnn.h,
 *     h_t = (1 - alpha) h_{t-1} + alpha tanh(b + W h_{t-1} + U x_t),  o_t = c + V h_t,
 * (softmax on o for cross-entropy networks), with an optional intervention applied to
 * h_t right after its update: silenced units (keep_i = 0 multiplies h_{t,i} by 0 at every
 * step: a lesion) and one unit clamped to, or excited by, a value in a time window. The
 * other networks apply the same intervention to their units (above).
 *
 * Fixed points (Sussillo & Barak 2013, Neural Computation 25(3):626): for the map
 * F(h) = (1 - alpha) h + alpha tanh(b + W h + U x*) at a constant input x*, slow points
 * minimise q(h) = 1/2 |F(h) - h|^2, gradient (J_F - I)^T (F(h) - h) with
 * J_F = (1 - alpha) I + alpha diag(1 - tanh^2(a)) W. Points are classified by the
 * eigenvalues of J_F (a discrete-time map): stable when every |lambda| < 1 - tol,
 * unstable when some |lambda| > 1 + tol, marginal otherwise (a line-attractor direction).
 *
 * Encoding models (Schrimpf et al. 2020, "Integrative benchmarking to advance
 * neurally mechanistic models of human intelligence", Neuron 108(3):413): ridge
 * regression from features X (S, F) to responses Y (S, M, R) (R repeats), outer K-fold
 * cross-validation, the ridge penalty chosen per target by inner cross-validation;
 * per-target Pearson r between held-out predictions and the repeat-averaged response;
 * noise ceiling = split-half consistency r_h (halves of the repeats, averaged over
 * random splits) corrected by Spearman-Brown: c = 2 r_h / (1 + r_h); normalised score
 * r / c. For a response = signal (variance s^2) + noise (variance sigma^2 per repeat),
 * c -> s^2 / (s^2 + sigma^2 / R) and a perfect model's r -> sqrt(c).
 *
 * Example:
 *     analysis_model *m;
 *     if (analysis_model_load("runs/anbn", experiment_find, &m) != ENGRAM_OK) puts(engram_error());
 *     analysis_rec *rec = analysis_rec_alloc(m, 200);
 *     analysis_trials(m, 7, rec);               // seeded trials and task variables
 *     analysis_model_simulate(m, NULL, rec);    // activity and outputs
 *     double acc = analysis_metric(m, rec);
 *     analysis_rec_free(rec); analysis_model_free(m);
 *
 * Ownership: *_alloc / *_free pairs (free(NULL) a no-op); the analysis functions write
 * into caller-owned arrays whose shapes are given beside each argument.
 */
#ifndef ENGRAM_ANALYSIS_H
#define ENGRAM_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "engram/config.h"
#include "engram/experiment.h"
#include "engram/rnn.h"
#include "engram/r2n2.h"
#include "engram/task.h"

#define ANALYSIS_MAX_COND 6

typedef enum {
    ANALYSIS_TASK_ANBN, ANALYSIS_TASK_TMAZE, ANALYSIS_TASK_COGNITIVE, ANALYSIS_TASK_GRID,
    ANALYSIS_TASK_SERIES
} analysis_task_kind;

typedef enum {
    ANALYSIS_NET_RNN, ANALYSIS_NET_R2N2, ANALYSIS_NET_PATHINT_RNN, ANALYSIS_NET_PATHINT_LSTM,
    ANALYSIS_NET_ESN
} analysis_net_kind;

struct analysis_grid;   /* path integrator, cells and trajectories (src/analysis) */
struct analysis_series; /* reservoir, readout and drive (src/analysis) */

/* A trained network rebuilt from a run directory. A zero-initialised model with kind,
 * tk and net set is a rate RNN on that task (the sizes then come from tk and net). */
typedef struct analysis_model {
    char experiment[32], rule[16];
    config *cfg;             /* the run's resolved configuration */
    uint64_t seed;           /* run.seed */
    analysis_task_kind kind;
    analysis_net_kind net_kind;
    task *tk;                /* the task's trial generator (anbn, tmaze, cognitive) */
    size_t episode_trials;   /* tmaze: trials per episode */
    int cog;                 /* cognitive: the cog_kind */
    rnn *net;                /* ANALYSIS_NET_RNN: the trained network */
    r2n2_net *r2;            /* ANALYSIS_NET_R2N2: the consolidator */
    int r2_xent;             /* r2n2: softmax outputs */
    struct analysis_grid *grid;     /* ANALYSIS_NET_PATHINT_* */
    struct analysis_series *series; /* ANALYSIS_NET_ESN */
    /* sizes of a recording (0: from tk and net) */
    size_t n_in, n_out, n_units, t_max, n_cond, n_aux;
    const char *cond_names[ANALYSIS_MAX_COND];
    const char *metric_name; /* NULL: "accuracy" */
    int lower_is_better;     /* the metric is an error */
} analysis_model;

/* Loads the run in run_dir (see the overview). find looks an experiment up by name (the
 * command line passes its registry's experiment_find: the registry lives above the
 * analyses, which only need the experiment's configuration tables). Returns ENGRAM_OK,
 * ENGRAM_EIO (missing files), ENGRAM_EFORMAT (weights of the wrong size), ENGRAM_ERANGE
 * (an experiment or rule the analyses do not support) or ENGRAM_EINVAL, with a one-line
 * message. */
int analysis_model_load(const char *run_dir, const experiment *(*find)(const char *name),
                        analysis_model **out);

/* Frees a model; NULL is a no-op. */
void analysis_model_free(analysis_model *m);

/* Builds the untrained network of a rate-RNN run: the weights the run's rule drew at its
 * start from the same seed. NULL with engram_error() set on failure. */
rnn *analysis_model_untrained(const analysis_model *m);

/* Replaces the weights of any model by its untrained ones (the run's initialisation
 * from the same seed; the echo-state network's readout becomes zero, its reservoir
 * being never trained). Returns ENGRAM_OK or an error status with a message. */
int analysis_model_set_untrained(analysis_model *m);

/* Units N of the model's recording (the rate RNN's n_rec when m->n_units is 0). */
size_t analysis_model_units(const analysis_model *m);

/* Readout strength of each unit, norms (N,): the Euclidean norm of the unit's outgoing
 * readout weights (all outputs); with out >= 0 the signed weight onto that output
 * instead. */
void analysis_model_readout(const analysis_model *m, long out, double *norms);

/* Recorded trials (see the overview for shapes). */
typedef struct analysis_rec {
    size_t n_trials, t_max, n_in, n_out, n_units, n_cond;
    size_t *len;      /* (K,) */
    double *x;        /* (K, T, I) */
    double *y;        /* (K, T, O) */
    double *mask;     /* (K, T) */
    double *act;      /* (K, T, N) */
    double *out;      /* (K, T, O) */
    double *cond;     /* (K, T, C) task variables per step */
    double *aux;      /* (K, A) per-trial data the network needs (pathint: the initial
                         code [pc_0, hd_0] (P + D) then positions (T + 1, 2)) */
    size_t n_aux;     /* A */
    const char *cond_names[ANALYSIS_MAX_COND];
} analysis_rec;

/* Allocates a recording of n_trials trials for model m (zeroed). NULL on failure. */
analysis_rec *analysis_rec_alloc(const analysis_model *m, size_t n_trials);

/* Frees a recording; NULL is a no-op. */
void analysis_rec_free(analysis_rec *rec);

/* Draws rec->n_trials test trials from the task generator, stream (seed, "analysis", 0),
 * and fills len, x, y, mask and the task variables cond: anbn: count n, position t,
 * input symbol, counter (a's seen so far during the a-run, b's still to come after it);
 * tmaze: cue side of the episode (0 left, 1 right), trial k of the episode, position in
 * the trial, rewarded arm of the trial (0 left, 1 right); cognitive tasks: the cog_info
 * conditions, the answer, the epoch (0 fixation, 1 stimulus and delay, 2 response) and
 * the step (flipflop: the three target bits and the step); pathint: trajectories and
 * their position bin, x and y bins, heading sector, speed bin and step (aux holds the
 * initial code and the positions); esn: every trial is the run's drive (cond_names
 * say which variables). */
void analysis_trials(const analysis_model *m, uint64_t seed, analysis_rec *rec);

/* An intervention during simulation (all fields optional: NULL / unit < 0 = none). */
typedef enum { ANALYSIS_CLAMP, ANALYSIS_EXCITE } analysis_perturb_mode;
typedef struct analysis_intervention {
    const double *keep;       /* (N,) multiplies h_t after each update (0 = silenced) */
    long unit;                /* perturbed unit, or -1 */
    size_t t0, t1;            /* perturbation window [t0, t1) */
    analysis_perturb_mode mode;
    double value;             /* clamp: h_t,unit = value; excite: h_t,unit += value */
} analysis_intervention;

/* Runs net on every trial of rec from h_{-1} = 0 with the intervention iv (may be
 * NULL), writing rec->act and rec->out. net must match rec's sizes (assert). */
void analysis_simulate(const rnn *net, const analysis_intervention *iv, analysis_rec *rec);

/* Runs model m (any network kind) on every trial of rec with the intervention iv (may
 * be NULL), writing rec->act and rec->out (the rate RNN: analysis_simulate). */
void analysis_model_simulate(const analysis_model *m, const analysis_intervention *iv,
                             analysis_rec *rec);

/* The task metric of the last simulation: anbn: fraction of trials with at most one
 * wrong argmax prediction (anbn_errors); tmaze: fraction of counted steps whose argmax
 * over the action outputs 0..3 equals the target's; cognitive tasks: fraction of trials
 * whose argmax of the mean output over the response epoch is the answer (flipflop: the
 * mean squared error per output and counted step); pathint: decoding error (cm); esn:
 * test NRMSE. m->lower_is_better tells which direction is better. */
double analysis_metric(const analysis_model *m, const analysis_rec *rec);

/* The mean loss per counted step of the last simulation (cross-entropy networks:
 * -sum_k y_k log o_k; linear outputs: 1/2 |o - y|^2), the training objective. */
double analysis_loss(const analysis_rec *rec, rnn_loss_kind loss);

/* The loss of model m's outputs (analysis_loss with the model's loss kind). */
double analysis_model_loss(const analysis_model *m, const analysis_rec *rec);

/* The task metric with each unit silenced in turn: delta (N,) = metric(lesioned unit i)
 * - metric(intact), and, if d_loss is not NULL, d_loss (N,) the same for
 * analysis_model_loss, on the trials of rec (whose act/out are overwritten). Returns
 * ENGRAM_OK or ENGRAM_ENOMEM. */
int analysis_lesion_units(const analysis_model *m, analysis_rec *rec, double *delta,
                          double *d_loss);

/* The task metric with the units[0..k-1] silenced together (rec's act/out
 * overwritten); NaN on allocation failure. */
double analysis_lesion_group(const analysis_model *m, analysis_rec *rec, const size_t *units,
                             size_t k);

/* Principal components of the rows of data (M, N) (centred): eigenvalues (N,) in
 * decreasing order and eigenvectors (N, N), column j the j-th component, from the
 * covariance (divisor M - 1) with GSL's symmetric eigensolver. Returns ENGRAM_OK,
 * ENGRAM_EINVAL (M < 2) or ENGRAM_ENOMEM. */
int analysis_pca(const double *data, size_t m, size_t n, double *eval, double *evec);

/* Participation ratio (sum lambda)^2 / sum lambda^2 of n eigenvalues. */
double analysis_participation_ratio(const double *eval, size_t n);

/* Rows (trial, t < len) of a recording's activity, concatenated: writes up to
 * K * T rows of N into rows and returns their count. */
size_t analysis_rec_rows(const analysis_rec *rec, double *rows);

/* Fraction of the variance of each unit explained by each task variable (one-way
 * ANOVA eta^2 over the variable's distinct values, rows t < len): eta2 (N, C). Values
 * of a variable are rounded to integers to form groups (the variables are discrete). */
int analysis_tuning(const analysis_rec *rec, double *eta2);

/* A smooth map h -> F(h) on R^n with its Jacobian, for the fixed-point search. eval
 * writes F(h) (n,) and, when jac is not NULL, dF/dh (n, n) row-major. */
typedef struct analysis_map {
    size_t n;
    void (*eval)(const void *ctx, const double *h, double *f, double *jac);
    const void *ctx;
} analysis_map;

/* The map of a rate RNN at constant input x (I,) (the overview's F). */
typedef struct analysis_rnn_map {
    const rnn *net;
    const double *x;
} analysis_rnn_map;
void analysis_rnn_map_eval(const void *ctx, const double *h, double *f, double *jac);

/* The state map of model m at constant input x (I,) for the fixed-point search, written
 * into *map (its context allocated; free with analysis_model_map_free): the rate RNN's
 * F above; the pathint RNN core's F(h) = f(h W_rec + x W_in); the R2N2 consolidator's
 * one step (a, b) -> (a', b') (A then B); the echo-state reservoir as a rate RNN with
 * alpha = leak. Returns ENGRAM_OK, or ENGRAM_ERANGE with a one-line reason for a model
 * without a recurrent state map (the path-integrating LSTM, whose analysed units g are
 * a readout; a linear reservoir). */
int analysis_model_map(const analysis_model *m, const double *x, analysis_map *map);
void analysis_model_map_free(analysis_map *map);

typedef enum { ANALYSIS_FP_STABLE, ANALYSIS_FP_MARGINAL, ANALYSIS_FP_UNSTABLE } analysis_fp_kind;

typedef struct analysis_fp_params {
    size_t max_iter;     /* minimiser iterations per start */
    double q_tol;        /* keep a point when q(h) < q_tol */
    double grad_tol;     /* stop when |grad q| < grad_tol */
    double dedup_tol;    /* points closer than this (Euclidean) are one */
    double eig_tol;      /* |lambda| within 1 +- eig_tol counts as marginal */
} analysis_fp_params;

/* Defaults: 500 iterations, q_tol 1e-8, grad_tol 1e-10, dedup_tol 1e-3, eig_tol 0.02. */
analysis_fp_params analysis_fp_defaults(void);

/* Found slow points: n points of dimension dim. */
typedef struct analysis_fp {
    size_t n, cap, dim;
    double *h;        /* (cap, dim) */
    double *q;        /* (cap,) */
    double *eig;      /* (cap, dim, 2) eigenvalues of J_F (re, im), by decreasing modulus */
    int *kind;        /* (cap,) analysis_fp_kind */
    size_t *n_marginal; /* (cap,) eigenvalues with | |lambda| - 1 | <= eig_tol */
} analysis_fp;

analysis_fp *analysis_fp_alloc(size_t cap, size_t dim);
void analysis_fp_free(analysis_fp *fp);

/* Minimises q from each of the n_start starts (n_start, dim) with GSL's BFGS
 * (gsl_multimin_fdfminimizer_vector_bfgs2, analytic gradient), keeps the minima with
 * q < q_tol, removes duplicates and classifies each by its Jacobian's eigenvalues
 * (gsl_eigen_nonsymm). Results go into fp (up to fp->cap points). Returns ENGRAM_OK or
 * ENGRAM_ENOMEM / ENGRAM_EINVAL. */
int analysis_fixedpoints(const analysis_map *map, const double *starts, size_t n_start,
                         const analysis_fp_params *p, analysis_fp *fp);

/* Encoding-model settings. */
typedef struct analysis_encode_params {
    size_t folds;         /* outer cross-validation folds (>= 2) */
    size_t inner_folds;   /* inner folds choosing the penalty (>= 2) */
    size_t n_splits;      /* random split-halves of the repeats for the ceiling */
    uint64_t seed;        /* folds and splits: streams (seed, "encode", 0 / 1) */
} analysis_encode_params;

/* Defaults: 5 outer folds, 4 inner folds, 20 split-halves, seed 1. */
analysis_encode_params analysis_encode_defaults(void);

/* The encoding model of the overview: X (S, F) features, Y (S, M, R) responses. Writes
 * per target r (M,) (held-out Pearson r), ceiling (M,) (Spearman-Brown split-half
 * consistency; NaN when R < 2) and lambda (M,) (the penalty chosen in the last outer
 * fold). Returns ENGRAM_OK, ENGRAM_EINVAL (S < 2 folds' worth of stimuli) or
 * ENGRAM_ENOMEM. */
int analysis_encode(const double *x, size_t s, size_t f, const double *y, size_t m, size_t r,
                    const analysis_encode_params *p, double *r_out, double *ceiling,
                    double *lambda);

/* A synthetic response set with a known answer: the columns of X (S, F) are z-scored,
 * mapped by B (F, M) with B_ij ~ N(0, 1), each target scaled to unit variance over the
 * stimuli (signal variance 1), plus independent N(0, noise^2) per repeat: Y (S, M, R).
 * The expected ceiling is 1 / (1 + noise^2 / R) and a perfect model's r its square
 * root. Draws from r. Returns ENGRAM_OK or ENGRAM_ENOMEM. */
int analysis_encode_synthetic(const double *x, size_t s, size_t f, size_t m, size_t r,
                              double noise, gsl_rng *rng, double *y);

/* The median of n values (NaNs ignored; NaN when none). */
double analysis_median(const double *v, size_t n);

#endif
