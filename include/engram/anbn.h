/* anbn.h: the AnBn next-symbol prediction task (Cheng & Brown 2025, Neural Computation
 * 37(3):403, the exp9/exp_anbn tasks of the released R2N2 code).
 *
 * Three one-hot symbols, a = 0, b = 1 and the separator | = 2. For count n the symbol
 * string is n a's, a separator, n b's, a separator (length 2n + 2), e.g. n = 3:
 * a a a | b b b |. A trial presents the symbols s_0 .. s_{2n} as inputs and asks for the
 * next symbol: input x_t = onehot(s_t), target y_t = onehot(s_{t+1}), t = 0 .. 2n, so a
 * trial has T = 2n + 1 steps, every one counted (mask 1). The length of the a-run cannot
 * be predicted, so the first separator is one unavoidable error; everything after it is
 * determined. A sequence counts as correct when at most one of its T predictions (argmax)
 * is wrong (anbn_errors).
 *
 * Counts are drawn uniformly from [n_min, n_max] (default 1..4; the harder preset goes up
 * to 29). Task sizes: n_in = n_out = 3, t_max = 2 n_max + 1.
 *
 * Example:
 *     task *t = anbn_task_alloc(1, 4);
 *     trial_batch *b = trial_batch_alloc(16, t);
 *     trial_batch_fill(b, t, rng);             // counts from the rng
 *     size_t T = anbn_trial(3, x, y, mask);     // one trial of count 3: T = 7
 *     task_free(t);
 */
#ifndef ENGRAM_ANBN_H
#define ENGRAM_ANBN_H

#include <stddef.h>
#include "engram/experiment.h"
#include "engram/task.h"

enum { ANBN_A = 0, ANBN_B = 1, ANBN_SEP = 2, ANBN_SYMBOLS = 3 };

/* The task type object ("anbn"). */
extern const task_type anbn_task_type;

/* Allocates the task with counts drawn uniformly from [n_min, n_max]. Returns NULL with
 * engram_error() set if n_min < 1 or n_min > n_max, or on allocation failure. */
task *anbn_task_alloc(size_t n_min, size_t n_max);

/* Writes the trial of count n (n >= 1) into zeroed x (T, 3), y (T, 3), mask (T,) and
 * returns T = 2n + 1. */
size_t anbn_trial(size_t n, double *x, double *y, double *mask);

/* Number of steps t < T whose prediction argmax(out_t) differs from argmax(y_t); out and
 * y are (T, n_out). Ties go to the lower index. */
size_t anbn_errors(const double *out, const double *y, size_t T, size_t n_out);

/* The `anbn` experiment (src/experiments/anbn.c): any learner of learner.h trained on
 * this task; see the comment at the top of that file for what a run writes. */
extern const experiment exp_anbn;

#endif
