/* tmaze.h: the delayed T-maze of R2N2 (Cheng & Brown 2025; released tasks.py
 * TMazeNavTask, exp2/7/8; research note §4), as an environment and as a sequence task.
 *
 * Geometry. A stem of l_cue + l_delay cells runs down from the start (row 0, column
 * l_branch); below it the arm row (row l_cue + l_delay) has 2 l_branch + 1 cells, the
 * junction in the middle and the arm ends at columns 0 (left) and 2 l_branch (right).
 * Every other cell is wall; a move into a wall or out of the grid leaves the position
 * unchanged. Actions: 0 = left, 1 = up, 2 = right, 3 = down. Observations: 0 = empty
 * (delay cells, and the cue cells of an uncued trial), 1 = cue "left", 2 = cue "right"
 * (the first l_cue stem cells of a cued trial), 3 = junction, 4 = arm cell. Reaching
 * either arm end ends the trial; the reward is 1 at the rewarded end and 0 otherwise.
 *
 * Input (11,) = one-hot previous action (4) | one-hot reward (2: none, reward) |
 * one-hot observation (5), plus N(0, noise^2) per entry. The first input of a trial is
 * (up, none, observation of the start cell).
 *
 * Variants (task.variant):
 *   cued         the released task: one trial per episode; the cue shows the rewarded
 *                arm. Scripted correct trial: down x (l_cue + l_delay), then left or
 *                right x l_branch; T = l_cue + l_delay + l_branch + 1 inputs.
 *   alternation  n_trials trials in one episode (same maze, state carried across
 *                trials). Trial 1 is a cued sample trial; in trial k >= 2 the cue cells
 *                are empty and the reward is at the arm opposite to the arm chosen in
 *                trial k-1, so the memory of the last choice must span the next trial's
 *                stem. T = n_trials (l_cue + l_delay + l_branch + 1).
 * Sequence task (next-input prediction on scripted correct episodes): x_t = input t,
 * y_t = x_{t+1} (noise included, as in the released code), mask 1 except at the last
 * step of each trial (the arm end: what follows is the return to the start, which the
 * animal does not choose). A prediction step is "correct" when the argmax of the action part of the
 * output equals the next scripted action.
 *
 * Example:
 *     tmaze_env e; tmaze_env_reset(&e, 4, 12, 4, TMAZE_LEFT, 1);
 *     double x[TMAZE_N_IN]; tmaze_input(TMAZE_UP, 0, tmaze_env_obs(&e), x);
 *     int r; while (!tmaze_env_step(&e, action, &r)) { ... }
 */
#ifndef ENGRAM_TMAZE_H
#define ENGRAM_TMAZE_H

#include <stddef.h>
#include "engram/task.h"

#define TMAZE_N_IN 11
enum { TMAZE_LEFT = 0, TMAZE_UP = 1, TMAZE_RIGHT = 2, TMAZE_DOWN = 3 };
enum { TMAZE_OBS_EMPTY = 0, TMAZE_OBS_CUE_LEFT = 1, TMAZE_OBS_CUE_RIGHT = 2,
       TMAZE_OBS_JUNCTION = 3, TMAZE_OBS_ARM = 4 };
typedef enum { TMAZE_CUED, TMAZE_ALTERNATION } tmaze_variant;

typedef struct tmaze_env {
    size_t l_cue, l_delay, l_branch;
    size_t row, col;     /* current cell */
    int rewarded_arm;    /* TMAZE_LEFT or TMAZE_RIGHT */
    int cued;            /* cue cells show the rewarded arm */
    int done;            /* an arm end was reached */
    int chosen_arm;      /* arm end reached (TMAZE_LEFT / TMAZE_RIGHT), -1 before */
} tmaze_env;

/* Starts a trial at the start cell; rewarded_arm is TMAZE_LEFT or TMAZE_RIGHT; cued
 * selects whether the cue cells show it. */
void tmaze_env_reset(tmaze_env *e, size_t l_cue, size_t l_delay, size_t l_branch,
                     int rewarded_arm, int cued);

/* Observation code (TMAZE_OBS_*) of cell (row, col), or -1 for a wall. */
int tmaze_cell_obs(const tmaze_env *e, size_t row, size_t col);

/* Observation of the current cell. */
int tmaze_env_obs(const tmaze_env *e);

/* Executes action a; sets *reward (0/1) and returns 1 when the trial has ended at an
 * arm end, 0 otherwise. Walls and the grid border block moves. */
int tmaze_env_step(tmaze_env *e, int a, int *reward);

/* Writes the noise-free input (11,) for (previous action, reward, observation). */
void tmaze_input(int prev_action, int reward, int obs, double *x);

/* Writes the scripted correct actions of one trial (l_cue + l_delay + l_branch values)
 * to the given arm; returns their count. */
size_t tmaze_script(size_t l_cue, size_t l_delay, size_t l_branch, int arm, int *actions);

/* Geometry ranges and variant of the sequence task. */
typedef struct tmaze_task_params {
    tmaze_variant variant;
    size_t n_trials;                 /* alternation: trials per episode (>= 2) */
    size_t cue_min, cue_max, delay_min, delay_max, branch_min, branch_max;
    double noise;                    /* input noise std */
} tmaze_task_params;

/* Fills one scripted correct episode: x (T, 11), y (T, 11), mask (T,) must be zeroed
 * and hold at least tmaze_episode_len(p, cue_max, delay_max, branch_max) rows. Draws the
 * geometry, the first cue and the noise from r. Returns T. If actions is not NULL it
 * receives the T-1 scripted actions (the action part of y). */
size_t tmaze_episode(const tmaze_task_params *p, gsl_rng *r, double *x, double *y, double *mask,
                     int *actions);

/* Length of an episode of the given geometry. */
size_t tmaze_episode_len(const tmaze_task_params *p, size_t l_cue, size_t l_delay,
                         size_t l_branch);

/* The task (task.h) emitting tmaze_episode(); NULL with engram_error() on bad ranges. */
task *tmaze_task_alloc(const tmaze_task_params *p);
extern const task_type tmaze_task_type;

/* The `tmaze` experiment (src/experiments/tmaze.c). */
struct experiment;
extern const struct experiment exp_tmaze;

#endif
