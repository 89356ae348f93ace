/* mante.c: context-dependent integration (cognitive.h; Mante, Sussillo, Shenoy &
 * Newsome 2013, Nature 503:78): two noisy features, motion and colour, shown together;
 * a context cue, on for the whole trial, says which one to report. The fixation cue
 * stays on through the stimulus and the delay; its offset is the go cue (Mante et al.
 * 2013, Fig. 1a). */
#include <stdlib.h>
#include "engram/cognitive.h"

size_t mante_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                   cog_info *info) {
    const size_t I = 7, O = 3;
    double cm = p->levels[gsl_rng_uniform_int(r, p->n_levels)];
    if (gsl_rng_uniform_int(r, 2)) cm = -cm;
    double cc = p->levels[gsl_rng_uniform_int(r, p->n_levels)];
    if (gsl_rng_uniform_int(r, 2)) cc = -cc;
    int ctx = (int)gsl_rng_uniform_int(r, 2); /* 0 motion, 1 colour */
    double rel = ctx == 0 ? cm : cc;
    int g = rel > 0 ? 2 : rel < 0 ? 1 : 1 + (int)gsl_rng_uniform_int(r, 2);
    size_t nd = cog_draw_delay(p, r);
    size_t t_stim = cog_steps(p->fixation, p->dt), ns = cog_steps(p->stimulus, p->dt);
    size_t t_resp = t_stim + ns + nd, T = t_resp + cog_steps(p->decision, p->dt);
    for (size_t t = t_stim; t < t_stim + ns; t++) {
        /* channel 1/3: evidence for choice 1, channel 2/4: for choice 2 */
        x[t * I + 1] = 0.5 - cm / 200.0;
        x[t * I + 2] = 0.5 + cm / 200.0;
        x[t * I + 3] = 0.5 - cc / 200.0;
        x[t * I + 4] = 0.5 + cc / 200.0;
    }
    cog_add_noise(p, r, x, I, t_stim, t_stim + ns, 1, 5);
    for (size_t t = 0; t < T; t++) x[t * I + 5 + (size_t)ctx] = 1.0;
    cog_fixation_and_targets(p, I, O, t_resp, T, g, x, y, mask);
    if (info) *info = (cog_info){g, {cm, cc, (double)ctx}, t_stim, t_resp, T};
    return T;
}

static size_t mante_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    return mante_trial(t->params, r, x, y, mask, NULL);
}

const task_type mante_task_type = {"mante", mante_fill, free};
