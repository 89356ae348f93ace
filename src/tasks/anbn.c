/* anbn.c: the AnBn next-symbol prediction task; see anbn.h. */
#include <stdlib.h>
#include <gsl/gsl_rng.h>
#include "engram/anbn.h"
#include "engram/engram.h"

typedef struct anbn_params {
    size_t n_min, n_max;
} anbn_params;

/* The symbol at position k of the string of count n (length 2n + 2). */
static int anbn_symbol(size_t n, size_t k) {
    if (k < n) return ANBN_A;
    if (k == n) return ANBN_SEP;
    if (k < 2 * n + 1) return ANBN_B;
    return ANBN_SEP;
}

size_t anbn_trial(size_t n, double *x, double *y, double *mask) {
    size_t T = 2 * n + 1;
    for (size_t t = 0; t < T; t++) {
        x[t * ANBN_SYMBOLS + (size_t)anbn_symbol(n, t)] = 1.0;
        y[t * ANBN_SYMBOLS + (size_t)anbn_symbol(n, t + 1)] = 1.0;
        mask[t] = 1.0;
    }
    return T;
}

static size_t anbn_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    const anbn_params *p = t->params;
    size_t n = p->n_min + (size_t)gsl_rng_uniform_int(r, p->n_max - p->n_min + 1);
    return anbn_trial(n, x, y, mask);
}

const task_type anbn_task_type = {"anbn", anbn_fill, free};

task *anbn_task_alloc(size_t n_min, size_t n_max) {
    if (n_min < 1 || n_min > n_max) {
        engram_fail(ENGRAM_EINVAL, "anbn: need 1 <= task.n_min <= task.n_max (got %zu, %zu)",
                    n_min, n_max);
        return NULL;
    }
    task *t = calloc(1, sizeof *t);
    anbn_params *p = calloc(1, sizeof *p);
    if (!t || !p) {
        free(t);
        free(p);
        engram_fail(ENGRAM_ENOMEM, "anbn: out of memory");
        return NULL;
    }
    p->n_min = n_min;
    p->n_max = n_max;
    t->type = &anbn_task_type;
    t->n_in = t->n_out = ANBN_SYMBOLS;
    t->t_max = 2 * n_max + 1;
    t->params = p;
    return t;
}

size_t anbn_errors(const double *out, const double *y, size_t T, size_t n_out) {
    size_t wrong = 0;
    for (size_t t = 0; t < T; t++) {
        const double *o = out + t * n_out, *yy = y + t * n_out;
        size_t ko = 0, ky = 0;
        for (size_t k = 1; k < n_out; k++) {
            if (o[k] > o[ko]) ko = k;
            if (yy[k] > yy[ky]) ky = k;
        }
        wrong += ko != ky;
    }
    return wrong;
}
