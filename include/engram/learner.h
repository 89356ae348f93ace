/* learner.h: one interface over every learning rule trained on sequence tasks.
 *
 * Sequence experiments (anbn, tmaze, ...) are written once against this interface and
 * work with every rule: `bptt`, `fa`, `rflo`, `esn` (rate RNNs and the reservoir,
 * src/rnn/) and `r2n2` (src/r2n2/). A learner owns its network, its optimiser state and
 * its workspaces; all are allocated in alloc(), never during training.
 *
 * Life cycle, driven by the experiment:
 *     const learner_type *lt = learner_type_find(config_str(cfg, "train.rule"));
 *     learner *l = lt->alloc(cfg, task->n_in, task->n_out, task->t_max, seed);
 *     for each update: lt->train(l, batch, &loss, extra);   // one parameter update
 *     lt->reset(l); for t: lt->step(l, x_t, out_t);         // closed-loop / evaluation
 *     lt->free(l);
 *
 * Losses: the experiment's config chooses the output/loss (train.loss = mse|xent);
 * train() reports the mean masked loss per counted step of the batch.
 *
 * Reproducibility: alloc() draws weights from rng_stream_alloc(seed, "weights", 0)
 * (and other named streams); train() must give the same result for any OpenMP thread
 * count.
 */
#ifndef ENGRAM_LEARNER_H
#define ENGRAM_LEARNER_H

#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "engram/config.h"
#include "engram/task.h"
#include "engram/run.h"

typedef struct learner learner;

#define LEARNER_MAX_EXTRA 4

typedef struct learner_type {
    const char *name; /* the train.rule value */
    /* Builds the network and optimiser from cfg. NULL with engram_error() set on
     * failure (bad sizes, out of memory). */
    learner *(*alloc)(const config *cfg, size_t n_in, size_t n_out, size_t t_max,
                      uint64_t seed);
    void (*free)(learner *l);
    /* One update from batch b. *loss receives the mean masked loss. extra receives
     * n_extra() rule-specific diagnostics (e.g. the angle in degrees between the
     * rule's update and the true gradient). Returns ENGRAM_OK or ENGRAM_EDIVERGED. */
    int (*train)(learner *l, const trial_batch *b, double *loss, double *extra);
    /* Number and names of the extra diagnostics train() reports. */
    size_t (*n_extra)(const learner *l);
    const char *(*extra_name)(const learner *l, size_t k);
    /* Sets the network state to its initial value for a new trial. */
    void (*reset)(learner *l);
    /* One time step without learning: input x (I,), output out (O,) (post-softmax
     * probabilities when the loss is xent). */
    void (*step)(learner *l, const double *x, double *out);
    /* Hidden state of the last step (N,) and its size, for recording activity. */
    const double *(*state)(const learner *l, size_t *n);
    /* Blobs to save in or load from a checkpoint (parameters, optimiser state).
     * Writes up to max blobs into out and returns their count. */
    size_t (*blobs)(learner *l, ckpt_blob *out, size_t max);
    /* Optional, NULL when the rule has none: the outputs (T, O) of batch item 0 in the
     * forward pass of the last train() call (made with the parameters before that
     * call's update; the same argmax as step()'s outputs), *T = that item's length.
     * Lets an experiment judge a replay from the replay itself instead of an extra
     * step() pass. Valid until the next train(). */
    const double *(*train_outputs)(const learner *l, size_t *T);
} learner_type;

/* Runs item i of batch b closed-loop from the initial state (lt->reset, then lt->step
 * through its b->len[i] steps, no learning): outputs (T, O) into out and, when act is
 * not NULL, the hidden state after each step (T, N) into act. Returns T = b->len[i]. */
size_t learner_run_item(const learner_type *lt, learner *l, const trial_batch *b, size_t i,
                        double *out, double *act);

/* Returns the learner type of a rule name, or NULL (the table is src/experiments/rules.c,
 * above the models). */
const learner_type *learner_type_find(const char *name);

/* Names the matrices inside a learner's checkpoint blob for run_write_params: the rate
 * RNN's "rnn.params" as w_rec (N, N), w_in (N, I), b_rec (N,), w_out (O, N), b_out (O,);
 * its "rnn.feedback" as fb_out (N, O), fb_rec (N, N); R2N2's "r2n2.params" as w_ab
 * (N, N), w_ba (N, N), w_ia (N, I), w_bo (O, N). N is solved from the blob's size.
 * Writes at most 5 views into v and returns their count, 0 for another blob. */
size_t learner_param_views(const ckpt_blob *blob, size_t n_in, size_t n_out, param_view *v);

/* The checks every learner's train() makes: a non-finite batch loss, or one above
 * max_loss (> 0), and a failed or non-finite update (rc from optim_step, then the
 * parameters (n,)). Return ENGRAM_OK or ENGRAM_EDIVERGED (or rc) with a message that
 * names the rule and the remedy. */
int learner_check_loss(const char *name, double loss, double max_loss);
int learner_check_update(const char *name, int rc, const double *params, size_t n);

/* 1 when cfg declares run.precision and it is float32. */
int learner_wants_float32(const config *cfg);

/* out[0..2] = an optimiser's step count t, first moments m and second moments v (n
 * doubles each), named names[0..2]; returns 3. The caller owns o and the names. */
struct optim;
size_t learner_optim_blobs(const struct optim *o, const char *const names[3], ckpt_blob *out);

/* Writes the trained parameters of a learner's checkpoint blobs (the first nb of them)
 * as one .npy per named matrix (learner_param_views; rule bptt's unused feedback is
 * skipped); when no blob has named views, the first blob is written whole as
 * NAME.npy with its dots turned into underscores (lstm_params.npy). */
int learner_write_params(run_ctx *ctx, const char *rule, const ckpt_blob *blobs, size_t nb,
                         size_t n_in, size_t n_out);

/* ---- the training loop of the sequence experiments (anbn and the cognitive tasks) ----
 *
 * INITIALIZE the learner, the batch and the test set, run_ckpt_load (on resume) and
 * run_metrics_begin with the columns [eval columns..., train_loss, extras...]; then
 * learner_loop_run ITERATEs: a stop signal saves a checkpoint and returns ENGRAM_EINTR;
 * each update draws a batch from `data` and trains (a divergence writes the summary's
 * accuracy, steps_to_criterion, loss = NaN and diverged_at); at step 0, every
 * eval_every updates and at the last one it calls eval and writes the metrics row, the
 * criterion step (score >= criterion, or <= when lower_better) and the curve, and
 * checkpoints every ckpt_every updates and at the last update (so that a resumed run
 * can be extended). The state block (LEARNER_S_FIXED doubles) and the curve belong in
 * the checkpoint blobs. */
enum { LEARNER_S_LOSS_SUM, LEARNER_S_LOSS_N, LEARNER_S_CRIT, LEARNER_S_N_EVAL,
       LEARNER_S_LAST_CKPT, LEARNER_S_EXTRA, LEARNER_S_FIXED = LEARNER_S_EXTRA + LEARNER_MAX_EXTRA };

/* One evaluation at update step (last: the final one): writes the n_cols metrics
 * columns before train_loss into row, the accuracy for the summary into *acc, the
 * criterion value into *score and the test loss into *loss. */
typedef void (*learner_eval_fn)(void *arg, long step, int last, double *row, double *acc,
                                double *score, double *loss);

typedef struct learner_loop {
    const char *name, *rule;       /* message prefix (the experiment), train.rule */
    const char *score_name;        /* the criterion value's name in progress lines */
    const learner_type *lt;
    learner *l;
    const task *tk;
    trial_batch *batch;            /* the training batch, refilled every update */
    gsl_rng *data;                 /* its stream */
    long steps, eval_every, ckpt_every;
    double criterion;
    int lower_better;
    double *state;                 /* (LEARNER_S_FIXED,); LEARNER_S_CRIT = -1 and the
                                    * extras NaN at the start */
    double *curve;                 /* (n_eval_max, 3): step, test loss, score */
    size_t n_eval_max, n_cols, n_extra;
    const ckpt_blob *blobs;        /* everything a checkpoint holds */
    size_t nb;
    double *wall;                  /* the blob of the wall time */
    learner_eval_fn eval;
    void *eval_arg;
    double acc, score, loss;       /* out: the last evaluation */
} learner_loop;

/* Runs the loop from update step (the checkpoint's on resume, else 0) to lp->steps.
 * Returns ENGRAM_OK, or the failure status with the summary and message written. */
int learner_loop_run(run_ctx *ctx, learner_loop *lp, long step);

/* Configuration keys the rate-RNN learners read (train.*, model.*, fa.*, rflo.*,
 * esn.*), to add to an experiment's tables; defined in src/rnn/. The r2n2 learner's
 * keys are r2n2_keys (r2n2.h). NULL-terminated. */
extern const cfg_key learner_keys[];

#endif
