/* cognitive.h: the cognitive tasks neuroscientists train RNNs on, as task type objects
 * (task.h): perceptual decision making, delayed response, delayed match-to-sample,
 * parametric working memory (Romo), context-dependent integration (Mante), go/no-go
 * and the 3-bit flip-flop.
 *
 * Time. A trial is a sequence of epochs whose durations are given in milliseconds and
 * discretised with the step dt (task.dt, 100 ms by default as in NeuroGym): an epoch of
 * d ms lasts round(d / dt) steps (at least one). Variable delays are drawn uniformly
 * in steps between round(delay_min / dt) and round(delay_max / dt).
 *
 * Inputs and outputs follow NeuroGym's conventions (neurogym/envs/): input 0 is the
 * fixation cue, 1 from the start of the trial until the response epoch begins (its
 * offset is the go signal); output class 0 is "fixate" (and "no-go"), classes 1.. are
 * the choices. Targets are one-hot classes for the softmax cross-entropy loss; the loss
 * mask is 1 in the response epoch only (task.mask = response) or on every step with the
 * fixate class as the target before the response (task.mask = all, NeuroGym's
 * supervised data sets). The flip-flop is a regression task (train.loss = mse).
 * Stimulus noise: N(0, sigma^2) is added to every stimulus channel at every step of
 * the stimulus epochs (sigma is the per-step standard deviation, NeuroGym's
 * sigma / sqrt(dt)).
 *
 * The tasks (I inputs, O outputs, epochs):
 *   decision   perceptual decision making (Britten et al. 1992; NeuroGym
 *              PerceptualDecisionMaking): fixation | stimulus | delay | decision.
 *              I = 3: fixation, evidence for choice 1, for choice 2; in the stimulus
 *              epoch the channel of the correct choice g is 0.5 + c/200, the other
 *              0.5 - c/200 (c the coherence in percent, drawn uniformly from
 *              task.coherences), plus noise. O = 3. The signed coherence is +c for
 *              choice 2 and -c for choice 1; at c = 0 the answer is a fair coin.
 *   delayed_response  oculomotor delayed response (Funahashi et al. 1989): fixation |
 *              cue | delay (variable) | decision. I = 1 + K (fixation, K cue
 *              locations, one-hot in the cue epoch, plus noise), O = 1 + K; the answer
 *              is the cued location.
 *   dms        delayed match-to-sample (NeuroGym DelayMatchSample): fixation | sample
 *              | delay | test | decision. I = 1 + K stimuli (one-hot), O = 3 (fixate,
 *              match, non-match); the test equals the sample with probability 1/2,
 *              otherwise it is one of the other K - 1 stimuli.
 *   romo       parametric working memory (Romo et al. 1999; PsychRNN
 *              DelayedDiscrimination): fixation | f1 | delay (variable) | f2 |
 *              decision. I = 2 (fixation, stimulus channel = f / 40 Hz during the two
 *              stimulus epochs, plus noise); f1 is drawn from task.frequencies and
 *              f2 = f1 +- delta with delta from task.deltas; O = 3: fixate,
 *              "f1 > f2", "f1 < f2".
 *   mante      context-dependent integration (Mante et al. 2013): fixation | stimulus
 *              | delay | decision. I = 7: fixation, motion (2 channels, as decision),
 *              colour (2 channels), context (motion, colour; one-hot, on for the whole
 *              trial). Both coherences are drawn independently with random signs; the
 *              answer is the sign of the coherence of the cued modality. The fixation
 *              cue stays on through the stimulus and the delay and its offset is the
 *              go cue, as in Mante et al. 2013 (Fig. 1), not as in NeuroGym's
 *              ContextDecisionMaking (its issue #279).
 *   gonogo     go/no-go (NeuroGym GoNogo): fixation | stimulus | delay | decision.
 *              I = 3 (fixation, go stimulus, no-go stimulus), O = 2 (fixate / no-go,
 *              go); go with probability 1/2.
 *   flipflop   the 3-bit flip-flop (Sussillo & Barak 2013, Neural Comput 25:626): T
 *              steps, I = O = 3; every channel gets a +-1 pulse at step 0 and then a
 *              pulse of random sign with probability p_pulse per step; target k is
 *              the sign of the last pulse on channel k (a memory of three bits), mask 1
 *              on every step.
 *
 * Example:
 *     cog_params p = cog_defaults(COG_DECISION);
 *     task *t = cog_task_alloc(&p);
 *     cog_info info;
 *     size_t T = cog_trial(t, r, x, y, mask, &info);   // x (t_max, I) zeroed ...
 *
 * Ownership: cog_task_alloc copies the parameters; task_free() frees them.
 */
#ifndef ENGRAM_COGNITIVE_H
#define ENGRAM_COGNITIVE_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "engram/task.h"

#define COG_MAX_LEVELS 16

typedef enum {
    COG_DECISION, COG_DELAYED_RESPONSE, COG_DMS, COG_ROMO, COG_MANTE, COG_GONOGO,
    COG_FLIPFLOP, COG_N_KINDS
} cog_kind;

/* Parameters of every task family (each uses the fields its overview names). */
typedef struct cog_params {
    cog_kind kind;
    double dt;                      /* ms per step */
    double fixation, stimulus;      /* ms: fixation; stimulus (decision, mante, gonogo,
                                       the cue of delayed_response, the sample of dms,
                                       f1 of romo) */
    double delay_min, delay_max;    /* ms */
    double stimulus2;               /* ms: test (dms), f2 (romo) */
    double decision;                /* ms: response epoch */
    double sigma;                   /* per-step input noise std */
    size_t n_levels;                /* coherences (decision, mante) or frequencies (romo) */
    double levels[COG_MAX_LEVELS];
    size_t n_deltas;                /* romo */
    double deltas[COG_MAX_LEVELS];
    size_t n_choices;               /* K: locations (delayed_response), stimuli (dms) */
    int mask_all;                   /* 1: task.mask = all */
    size_t steps;                   /* flipflop: trial length */
    double p_pulse;                 /* flipflop */
} cog_params;

/* What a trial was: its condition and its epochs, for metrics and figures. */
typedef struct cog_info {
    int answer;        /* target class (0 = fixate / no-go), -1 for flipflop */
    double cond[3];    /* decision: signed coherence; mante: signed motion coherence,
                          signed colour coherence, context (0 motion, 1 colour);
                          delayed_response: location, delay steps; dms: sample, test;
                          romo: f1, f2; gonogo: 1 go / 0 no-go */
    size_t t_stim;     /* first step of the (first) stimulus epoch */
    size_t t_resp;     /* first step of the response epoch */
    size_t len;        /* T */
} cog_info;

/* The defaults of a family (the values of its preset in experiments/). */
cog_params cog_defaults(cog_kind kind);

/* The family named `name` ("decision", "delayed_response", "dms", "romo", "mante",
 * "gonogo", "flipflop"); returns 0 and sets *kind, or -1 for an unknown name. */
int cog_kind_parse(const char *name, cog_kind *kind);

/* The name of a family. */
const char *cog_kind_name(cog_kind kind);

/* Number of steps of an epoch of ms milliseconds with step dt (at least 1). */
size_t cog_steps(double ms, double dt);

/* Reads the task.* keys that cfg has (dt, epochs, sigma, mask, n_choices, steps,
 * p_pulse, coherences or frequencies, deltas: comma-separated lists) into the defaults
 * of family kind. Returns ENGRAM_OK or ENGRAM_EINVAL on a bad list. */
struct config;
int cog_params_from_config(const struct config *cfg, cog_kind kind, cog_params *p);

/* Allocates the task of p->kind; NULL with engram_error() set on bad parameters
 * (non-positive dt or durations, delay_min > delay_max, no levels, K < 2, ...). */
task *cog_task_alloc(const cog_params *p);

/* Fills one trial of a cognitive task t (x (t_max, I), y (t_max, O), mask (t_max,)
 * zeroed by the caller), drawing from r, and describes it in *info (may be NULL).
 * Returns T. The task's fill() is this function with info = NULL. */
size_t cog_trial(const task *t, gsl_rng *r, double *x, double *y, double *mask, cog_info *info);

/* The parameters of a cognitive task (NULL if t is not one). */
const cog_params *cog_task_params(const task *t);

/* The type objects, one per family (src/tasks/<family>.c). */
extern const task_type decision_task_type, delayed_response_task_type, dms_task_type,
    romo_task_type, mante_task_type, gonogo_task_type, flipflop_task_type;

/* Per-family trial generators behind cog_trial (same contract). */
size_t decision_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                      cog_info *info);
size_t delayed_response_trial(const cog_params *p, gsl_rng *r, double *x, double *y,
                              double *mask, cog_info *info);
size_t dms_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                 cog_info *info);
size_t romo_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                  cog_info *info);
size_t mante_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                   cog_info *info);
size_t gonogo_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                    cog_info *info);
size_t flipflop_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                      cog_info *info);

/* Helpers shared by the generators (src/tasks/cogtask.c): the fixation input (input 0)
 * on steps [0, t_resp); the targets: class 0 on [0, t_resp) when mask_all, class
 * `answer` with mask 1 on [t_resp, T). */
void cog_fixation_and_targets(const cog_params *p, size_t n_in, size_t n_out, size_t t_resp,
                              size_t T, int answer, double *x, double *y, double *mask);

/* A delay length in steps, uniform on [round(delay_min / dt), round(delay_max / dt)]. */
size_t cog_draw_delay(const cog_params *p, gsl_rng *r);

/* Adds N(0, sigma^2) to x (T, n_in) on steps [t0, t1) and channels [c0, c1), drawing in
 * step-major order. */
void cog_add_noise(const cog_params *p, gsl_rng *r, double *x, size_t n_in, size_t t0,
                   size_t t1, size_t c0, size_t c1);

/* The experiments over these tasks (src/experiments/cognitive.c). */
struct experiment;
extern const struct experiment exp_decision, exp_delayed_response, exp_dms, exp_romo,
    exp_mante, exp_gonogo, exp_flipflop;

#endif
