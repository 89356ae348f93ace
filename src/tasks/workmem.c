/* workmem.c: working-memory tasks (cognitive.h): the oculomotor delayed response
 * (Funahashi, Bruce & Goldman-Rakic 1989: a cued location held over a delay, reported
 * after the go signal) and delayed match-to-sample (NeuroGym DelayMatchSample). */
#include <stdlib.h>
#include "engram/cognitive.h"

size_t delayed_response_trial(const cog_params *p, gsl_rng *r, double *x, double *y,
                              double *mask, cog_info *info) {
    size_t K = p->n_choices, I = 1 + K, O = 1 + K;
    size_t loc = (size_t)gsl_rng_uniform_int(r, K);
    size_t nd = cog_draw_delay(p, r);
    size_t t_stim = cog_steps(p->fixation, p->dt), ns = cog_steps(p->stimulus, p->dt);
    size_t t_resp = t_stim + ns + nd, T = t_resp + cog_steps(p->decision, p->dt);
    for (size_t t = t_stim; t < t_stim + ns; t++) x[t * I + 1 + loc] = 1.0;
    cog_add_noise(p, r, x, I, t_stim, t_stim + ns, 1, I);
    cog_fixation_and_targets(p, I, O, t_resp, T, (int)(1 + loc), x, y, mask);
    if (info) *info = (cog_info){(int)(1 + loc), {(double)loc, (double)nd, 0}, t_stim, t_resp, T};
    return T;
}

size_t dms_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                 cog_info *info) {
    size_t K = p->n_choices, I = 1 + K, O = 3;
    size_t sample = (size_t)gsl_rng_uniform_int(r, K), test = sample;
    int match = (int)gsl_rng_uniform_int(r, 2);
    if (!match) { /* one of the other K - 1 stimuli, uniformly */
        test = (size_t)gsl_rng_uniform_int(r, K - 1);
        if (test >= sample) test++;
    }
    size_t nd = cog_draw_delay(p, r);
    size_t t_stim = cog_steps(p->fixation, p->dt), ns = cog_steps(p->stimulus, p->dt);
    size_t t_test = t_stim + ns + nd, nt = cog_steps(p->stimulus2, p->dt);
    size_t t_resp = t_test + nt, T = t_resp + cog_steps(p->decision, p->dt);
    for (size_t t = t_stim; t < t_stim + ns; t++) x[t * I + 1 + sample] = 1.0;
    for (size_t t = t_test; t < t_resp; t++) x[t * I + 1 + test] = 1.0;
    cog_add_noise(p, r, x, I, t_stim, t_stim + ns, 1, I);
    cog_add_noise(p, r, x, I, t_test, t_resp, 1, I);
    int g = match ? 1 : 2;
    cog_fixation_and_targets(p, I, O, t_resp, T, g, x, y, mask);
    if (info) *info = (cog_info){g, {(double)sample, (double)test, 0}, t_stim, t_resp, T};
    return T;
}

static size_t delayed_response_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    return delayed_response_trial(t->params, r, x, y, mask, NULL);
}
static size_t dms_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    return dms_trial(t->params, r, x, y, mask, NULL);
}

const task_type delayed_response_task_type = {"delayed_response", delayed_response_fill, free};
const task_type dms_task_type = {"dms", dms_fill, free};
