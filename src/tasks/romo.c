/* romo.c: parametric working memory (cognitive.h; Romo, Brody, Hernandez & Lemus 1999,
 * Nature 399:470; PsychRNN's DelayedDiscrimination): two vibration frequencies f1 and
 * f2 separated by a delay; the answer is whether f1 > f2. Each frequency is shown as
 * the amplitude f / 40 Hz of the stimulus channel. */
#include <stdlib.h>
#include "engram/cognitive.h"

size_t romo_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                  cog_info *info) {
    const size_t I = 2, O = 3;
    double f1 = p->levels[gsl_rng_uniform_int(r, p->n_levels)];
    double d = p->deltas[gsl_rng_uniform_int(r, p->n_deltas)];
    double f2 = gsl_rng_uniform_int(r, 2) ? f1 + d : f1 - d;
    size_t nd = cog_draw_delay(p, r);
    size_t t_stim = cog_steps(p->fixation, p->dt), ns = cog_steps(p->stimulus, p->dt);
    size_t t2 = t_stim + ns + nd, n2 = cog_steps(p->stimulus2, p->dt);
    size_t t_resp = t2 + n2, T = t_resp + cog_steps(p->decision, p->dt);
    for (size_t t = t_stim; t < t_stim + ns; t++) x[t * I + 1] = f1 / 40.0;
    for (size_t t = t2; t < t_resp; t++) x[t * I + 1] = f2 / 40.0;
    cog_add_noise(p, r, x, I, t_stim, t_stim + ns, 1, 2);
    cog_add_noise(p, r, x, I, t2, t_resp, 1, 2);
    int g = f1 > f2 ? 1 : 2;
    cog_fixation_and_targets(p, I, O, t_resp, T, g, x, y, mask);
    if (info) *info = (cog_info){g, {f1, f2, 0}, t_stim, t_resp, T};
    return T;
}

static size_t romo_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    return romo_trial(t->params, r, x, y, mask, NULL);
}

const task_type romo_task_type = {"romo", romo_fill, free};
