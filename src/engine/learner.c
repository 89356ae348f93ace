/* learner.c: what every sequence learner shares (the rule table and the named-weight layouts
 * know the models, so they live above them, in src/experiments/rules.c). */
#include <string.h>
#include "engram/learner.h"

size_t learner_run_item(const learner_type *lt, learner *l, const trial_batch *b, size_t i,
                        double *out, double *act) {
    size_t T = b->len[i], O = b->n_out;
    lt->reset(l);
    for (size_t t = 0; t < T; t++) {
        lt->step(l, b->x + (i * b->t_max + t) * b->n_in, out + t * O);
        if (act) {
            size_t n;
            const double *h = lt->state(l, &n);
            memcpy(act + t * n, h, n * sizeof *h);
        }
    }
    return T;
}
