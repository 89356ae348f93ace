/* registry.c: every experiment the command line can run. */
#include <string.h>
#include "engram/experiment.h"
#include "engram/anbn.h" /* exp_anbn */
#include "engram/tmaze.h" /* exp_tmaze */
#include "engram/cognitive.h" /* exp_decision, exp_delayed_response, ... */
#include "engram/esn.h" /* exp_mackey_glass, exp_narma10, exp_memory_capacity */
extern const experiment exp_gridcells; /* src/experiments/gridcells.c */

/* One line per experiment; each is defined in its own source file. */
const experiment *const experiment_registry[] = {
    &exp_mackey_glass,
    &exp_narma10,
    &exp_memory_capacity,
    &exp_gridcells,
    &exp_anbn,
    &exp_tmaze,
    &exp_decision,
    &exp_delayed_response,
    &exp_dms,
    &exp_romo,
    &exp_mante,
    &exp_gonogo,
    &exp_flipflop,
    NULL,
};

const experiment *experiment_find(const char *name) {
    for (size_t i = 0; experiment_registry[i]; i++)
        if (strcmp(experiment_registry[i]->name, name) == 0) return experiment_registry[i];
    return NULL;
}
