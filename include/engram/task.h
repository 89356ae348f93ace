/* task.h: the sequence engine's task interface, trials and batches.
 *
 * A task emits trials: an input sequence x (T, I), a target sequence y (T, O) and a
 * loss mask m (T,) (1 where the step's error counts, 0 elsewhere), with T at most the
 * task's t_max. A family of tasks is a type object (task_type) with a name and a fill
 * function; a task instance carries its sizes and its own parameters.
 *
 * Batches hold B trials padded to t_max, stored (B, T, I) / (B, T, O) / (B, T) with
 * len[b] the true length of item b (padding is zero input, zero target, zero mask).
 * Trials are drawn in item order from the one stream passed in, so a batch depends on
 * that stream only. Fixed test sets are batches drawn once from their own stream
 * (rng_stream_alloc(seed, "test", 0)).
 *
 * Example:
 *     task *t = anbn_task_alloc(1, 4);
 *     trial_batch *b = trial_batch_alloc(32, t);
 *     gsl_rng *r = rng_stream_alloc(seed, "data", 0);
 *     trial_batch_fill(b, t, r);
 */
#ifndef ENGRAM_TASK_H
#define ENGRAM_TASK_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

typedef struct task task;

typedef struct task_type {
    const char *name;
    /* Fills one trial: x (t_max, n_in), y (t_max, n_out), mask (t_max,) are zeroed by
     * the caller; writes the first T rows and returns T (1 <= T <= t->t_max). */
    size_t (*fill)(const task *t, gsl_rng *r, double *x, double *y, double *mask);
    /* Frees t->params (may be NULL when params need no freeing). */
    void (*free_params)(void *params);
} task_type;

struct task {
    const task_type *type;
    size_t n_in, n_out, t_max;
    void *params;
};

/* Frees a task and its parameters. */
void task_free(task *t);

typedef struct trial_batch {
    size_t n_batch, t_max, n_in, n_out;
    size_t *len;  /* (B,) */
    double *x;    /* (B, T, I) */
    double *y;    /* (B, T, O) */
    double *mask; /* (B, T) */
} trial_batch;

/* Allocates an empty batch of n_batch trials sized for task t. NULL on failure. */
trial_batch *trial_batch_alloc(size_t n_batch, const task *t);

void trial_batch_free(trial_batch *b);

/* Fills every item of b from task t, drawing from r in item order. */
void trial_batch_fill(trial_batch *b, const task *t, gsl_rng *r);

#endif
