/* decision.c: perceptual decision making (cognitive.h): noisy evidence for two choices
 * integrated over the stimulus epoch, as NeuroGym's PerceptualDecisionMaking
 * (Britten et al. 1992 random-dot motion). */
#include <stdlib.h>
#include "engram/cognitive.h"

size_t decision_trial(const cog_params *p, gsl_rng *r, double *x, double *y, double *mask,
                      cog_info *info) {
    const size_t I = 3, O = 3;
    double c = p->levels[gsl_rng_uniform_int(r, p->n_levels)];
    int g = 1 + (int)gsl_rng_uniform_int(r, 2); /* correct choice: 1 or 2 */
    size_t nd = cog_draw_delay(p, r);
    size_t t_stim = cog_steps(p->fixation, p->dt), ns = cog_steps(p->stimulus, p->dt);
    size_t t_resp = t_stim + ns + nd, T = t_resp + cog_steps(p->decision, p->dt);
    for (size_t t = t_stim; t < t_stim + ns; t++) {
        x[t * I + (size_t)g] = 0.5 + c / 200.0;
        x[t * I + (size_t)(3 - g)] = 0.5 - c / 200.0;
    }
    cog_add_noise(p, r, x, I, t_stim, t_stim + ns, 1, 3);
    cog_fixation_and_targets(p, I, O, t_resp, T, g, x, y, mask);
    if (info) {
        *info = (cog_info){g, {g == 2 ? c : -c, 0, 0}, t_stim, t_resp, T};
    }
    return T;
}

static size_t decision_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    return decision_trial(t->params, r, x, y, mask, NULL);
}

const task_type decision_task_type = {"decision", decision_fill, free};
