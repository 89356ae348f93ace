/* flipflop.c: the 3-bit flip-flop (cognitive.h; Sussillo & Barak 2013, Neural Comput
 * 25:626, Fig. 2): three input channels receive brief +-1 pulses; output k must hold
 * the sign of the last pulse on channel k. Every channel is pulsed at step 0 so that
 * every target is defined. */
#include <stdlib.h>
#include "engram/cognitive.h"

size_t flipflop_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                      cog_info *info) {
    const size_t K = 3;
    size_t T = p->steps;
    double state[3] = {0, 0, 0};
    for (size_t t = 0; t < T; t++) {
        for (size_t k = 0; k < K; k++) {
            int pulse = t == 0 || gsl_rng_uniform(r) < p->p_pulse;
            if (pulse) {
                double s = gsl_rng_uniform_int(r, 2) ? 1.0 : -1.0;
                x[t * K + k] = s;
                state[k] = s;
            }
            y[t * K + k] = state[k];
        }
        mask[t] = 1.0;
    }
    if (info) *info = (cog_info){-1, {0, 0, 0}, 0, 0, T};
    return T;
}

static size_t flipflop_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    return flipflop_trial(t->params, r, x, y, mask, NULL);
}

const task_type flipflop_task_type = {"flipflop", flipflop_fill, free};
