/* gonogo.c: go/no-go (cognitive.h; NeuroGym GoNogo): a go or a no-go stimulus, a
 * delay, then the response epoch in which a go trial asks for the go output and a
 * no-go trial for continued fixation (class 0). */
#include <stdlib.h>
#include "engram/cognitive.h"

size_t gonogo_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                    cog_info *info) {
    const size_t I = 3, O = 2;
    int go = (int)gsl_rng_uniform_int(r, 2);
    size_t nd = cog_draw_delay(p, r);
    size_t t_stim = cog_steps(p->fixation, p->dt), ns = cog_steps(p->stimulus, p->dt);
    size_t t_resp = t_stim + ns + nd, T = t_resp + cog_steps(p->decision, p->dt);
    for (size_t t = t_stim; t < t_stim + ns; t++) x[t * I + (go ? 1 : 2)] = 1.0;
    cog_add_noise(p, r, x, I, t_stim, t_stim + ns, 1, 3);
    cog_fixation_and_targets(p, I, O, t_resp, T, go, x, y, mask);
    if (info) *info = (cog_info){go, {(double)go, 0, 0}, t_stim, t_resp, T};
    return T;
}

static size_t gonogo_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    return gonogo_trial(t->params, r, x, y, mask, NULL);
}

const task_type gonogo_task_type = {"gonogo", gonogo_fill, free};
