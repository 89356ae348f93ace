/* task.c: trials and batches of the sequence engine (task.h). */
#include <stdlib.h>
#include <string.h>
#include "engram/task.h"

void task_free(task *t) {
    if (!t) return;
    if (t->type && t->type->free_params) t->type->free_params(t->params);
    free(t);
}

trial_batch *trial_batch_alloc(size_t n_batch, const task *t) {
    trial_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->n_batch = n_batch;
    b->t_max = t->t_max;
    b->n_in = t->n_in;
    b->n_out = t->n_out;
    b->len = calloc(n_batch, sizeof *b->len);
    b->x = calloc(n_batch * t->t_max * t->n_in, sizeof *b->x);
    b->y = calloc(n_batch * t->t_max * t->n_out, sizeof *b->y);
    b->mask = calloc(n_batch * t->t_max, sizeof *b->mask);
    if (!b->len || !b->x || !b->y || !b->mask) { trial_batch_free(b); return NULL; }
    return b;
}

void trial_batch_free(trial_batch *b) {
    if (!b) return;
    free(b->len);
    free(b->x);
    free(b->y);
    free(b->mask);
    free(b);
}

void trial_batch_fill(trial_batch *b, const task *t, gsl_rng *r) {
    size_t T = b->t_max;
    memset(b->x, 0, b->n_batch * T * b->n_in * sizeof *b->x);
    memset(b->y, 0, b->n_batch * T * b->n_out * sizeof *b->y);
    memset(b->mask, 0, b->n_batch * T * sizeof *b->mask);
    for (size_t i = 0; i < b->n_batch; i++)
        b->len[i] = t->type->fill(t, r, b->x + i * T * b->n_in, b->y + i * T * b->n_out,
                                  b->mask + i * T);
}
