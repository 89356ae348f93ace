/* registry.c: every experiment the command line can run. */
#include <string.h>
#include "engram/experiment.h"

/* One line per experiment; each is defined in its own source file. */
const experiment *const experiment_registry[] = {
    NULL,
};

const experiment *experiment_find(const char *name) {
    for (size_t i = 0; experiment_registry[i]; i++)
        if (strcmp(experiment_registry[i]->name, name) == 0) return experiment_registry[i];
    return NULL;
}
