/* tmaze.c: the T-maze environment and its scripted next-input prediction task; see
 * tmaze.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/tmaze.h"

/* Places the agent on the start cell for a new trial. */
void tmaze_env_reset(tmaze_env *e, size_t l_cue, size_t l_delay, size_t l_branch,
                     int rewarded_arm, int cued) {
    e->l_cue = l_cue;
    e->l_delay = l_delay;
    e->l_branch = l_branch;
    e->row = 0;
    e->col = l_branch;
    e->rewarded_arm = rewarded_arm;
    e->cued = cued;
    e->done = 0;
    e->chosen_arm = -1;
}

/* Returns the observation code of a cell, or -1 for a wall. */
int tmaze_cell_obs(const tmaze_env *e, size_t row, size_t col) {
    size_t stem = e->l_cue + e->l_delay;
    if (row < stem) {
        if (col != e->l_branch) return -1;
        if (row < e->l_cue && e->cued)
            return e->rewarded_arm == TMAZE_LEFT ? TMAZE_OBS_CUE_LEFT : TMAZE_OBS_CUE_RIGHT;
        return TMAZE_OBS_EMPTY;
    }
    if (row == stem && col <= 2 * e->l_branch)
        return col == e->l_branch ? TMAZE_OBS_JUNCTION : TMAZE_OBS_ARM;
    return -1;
}

/* Returns the observation of the current cell. */
int tmaze_env_obs(const tmaze_env *e) { return tmaze_cell_obs(e, e->row, e->col); }

/* Executes one action; returns 1 when an arm end is reached. */
int tmaze_env_step(tmaze_env *e, int a, int *reward) {
    *reward = 0;
    if (e->done) return 1;
    long r = (long)e->row, c = (long)e->col;
    switch (a) {
    case TMAZE_LEFT: c--; break;
    case TMAZE_UP: r--; break;
    case TMAZE_RIGHT: c++; break;
    default: r++; break;
    }
    if (r >= 0 && c >= 0 && tmaze_cell_obs(e, (size_t)r, (size_t)c) >= 0) {
        e->row = (size_t)r;
        e->col = (size_t)c;
    }
    size_t stem = e->l_cue + e->l_delay;
    if (e->row == stem && (e->col == 0 || e->col == 2 * e->l_branch)) {
        e->done = 1;
        e->chosen_arm = e->col == 0 ? TMAZE_LEFT : TMAZE_RIGHT;
        *reward = e->chosen_arm == e->rewarded_arm;
        return 1;
    }
    return 0;
}

/* Writes the 11-dimensional one-hot input vector. */
void tmaze_input(int prev_action, int reward, int obs, double *x) {
    memset(x, 0, TMAZE_N_IN * sizeof(double));
    x[prev_action] = 1.0;
    x[4 + (reward ? 1 : 0)] = 1.0;
    x[6 + obs] = 1.0;
}

/* Writes the scripted correct actions of one trial. */
size_t tmaze_script(size_t l_cue, size_t l_delay, size_t l_branch, int arm, int *actions) {
    size_t n = 0;
    for (size_t i = 0; i < l_cue + l_delay; i++) actions[n++] = TMAZE_DOWN;
    for (size_t i = 0; i < l_branch; i++) actions[n++] = arm;
    return n;
}

/* Returns the number of inputs of an episode of the given geometry. */
size_t tmaze_episode_len(const tmaze_task_params *p, size_t l_cue, size_t l_delay,
                         size_t l_branch) {
    size_t trials = p->variant == TMAZE_ALTERNATION ? p->n_trials : 1;
    return trials * (l_cue + l_delay + l_branch + 1);
}

static size_t draw_range(gsl_rng *r, size_t lo, size_t hi) {
    return lo + (size_t)gsl_rng_uniform_int(r, hi - lo + 1);
}

/* Fills one scripted correct episode with its targets and mask. */
size_t tmaze_episode(const tmaze_task_params *p, gsl_rng *r, double *x, double *y, double *mask,
                     int *actions) {
    size_t lc = draw_range(r, p->cue_min, p->cue_max);
    size_t ld = draw_range(r, p->delay_min, p->delay_max);
    size_t lb = draw_range(r, p->branch_min, p->branch_max);
    int arm = gsl_rng_uniform_int(r, 2) ? TMAZE_RIGHT : TMAZE_LEFT;
    size_t trials = p->variant == TMAZE_ALTERNATION ? p->n_trials : 1;
    size_t T = tmaze_episode_len(p, lc, ld, lb);
    int script[1024];
    size_t t = 0;
    tmaze_env e;
    for (size_t k = 0; k < trials; k++) {
        tmaze_env_reset(&e, lc, ld, lb, arm, k == 0);
        tmaze_input(TMAZE_UP, 0, tmaze_env_obs(&e), x + t * TMAZE_N_IN);
        t++;
        size_t na = tmaze_script(lc, ld, lb, arm, script);
        for (size_t i = 0; i < na; i++) {
            int rw;
            tmaze_env_step(&e, script[i], &rw);
            tmaze_input(script[i], rw, tmaze_env_obs(&e), x + t * TMAZE_N_IN);
            t++;
        }
        arm = arm == TMAZE_LEFT ? TMAZE_RIGHT : TMAZE_LEFT; /* alternation */
    }
    (void)T;
    for (size_t i = 0; i < t * TMAZE_N_IN; i++)
        if (p->noise > 0) x[i] += gsl_ran_gaussian(r, p->noise);
    size_t trial_len = lc + ld + lb + 1;
    for (size_t s = 0; s + 1 < t; s++) {
        memcpy(y + s * TMAZE_N_IN, x + (s + 1) * TMAZE_N_IN, TMAZE_N_IN * sizeof(double));
        /* the step after an arm end is the experimenter's return to the start, not a
         * move of the animal: not predicted (like the end of a cued episode) */
        mask[s] = (s + 1) % trial_len == 0 ? 0.0 : 1.0;
        if (actions) {
            const double *ya = y + s * TMAZE_N_IN;
            int best = 0;
            for (int a = 1; a < 4; a++) if (ya[a] > ya[best]) best = a;
            actions[s] = best;
        }
    }
    return t;
}

static size_t tmaze_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    return tmaze_episode(t->params, r, x, y, mask, NULL);
}

const task_type tmaze_task_type = {"tmaze", tmaze_fill, free};

/* Allocates the T-maze sequence task; NULL on bad ranges. */
task *tmaze_task_alloc(const tmaze_task_params *p) {
    if (p->cue_min < 1 || p->cue_min > p->cue_max || p->delay_min > p->delay_max ||
        p->branch_min < 1 || p->branch_min > p->branch_max ||
        (p->variant == TMAZE_ALTERNATION && p->n_trials < 2)) {
        engram_fail(ENGRAM_EINVAL, "tmaze: need 1 <= cue_min <= cue_max, delay_min <= delay_max, "
                    "1 <= branch_min <= branch_max and (alternation) n_trials >= 2");
        return NULL;
    }
    if (p->cue_max + p->delay_max + p->branch_max > 1000) {
        engram_fail(ENGRAM_ERANGE, "tmaze: trials longer than 1000 steps are not supported");
        return NULL;
    }
    task *t = calloc(1, sizeof *t);
    tmaze_task_params *q = malloc(sizeof *q);
    if (!t || !q) {
        free(t);
        free(q);
        engram_fail(ENGRAM_ENOMEM, "tmaze: out of memory");
        return NULL;
    }
    *q = *p;
    t->type = &tmaze_task_type;
    t->n_in = t->n_out = TMAZE_N_IN;
    t->t_max = tmaze_episode_len(p, p->cue_max, p->delay_max, p->branch_max);
    t->params = q;
    return t;
}
