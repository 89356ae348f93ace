/* experiment.h: the registry of experiments the command line runs.
 *
 * An experiment is a const struct: its name (the preset name), its configuration
 * tables, the learning rules it accepts, the overrides --quick applies, the summary
 * key `engram compare` reports, and its run function. The engine resolves the
 * configuration (defaults < preset/ini file < --quick < --set), writes config.ini,
 * calls run(), then writes summary.json.
 *
 * Adding an experiment: define `const experiment exp_NAME = {...}` in its own source
 * file and add it to the table in src/cli/registry.c.
 */
#ifndef ENGRAM_EXPERIMENT_H
#define ENGRAM_EXPERIMENT_H

#include "engram/config.h"
#include "engram/run.h"

typedef struct experiment {
    const char *name;                 /* preset name, e.g. "anbn" */
    const char *description;          /* one line */
    const cfg_key *const *tables;     /* NULL-terminated list of key tables (the common
                                         keys are added by the engine) */
    const char *const *rules;         /* accepted train.rule values, NULL-terminated;
                                         NULL when the experiment has no rule choice */
    const char *const *quick;         /* "section.key=value" overrides for --quick,
                                         NULL-terminated (may be NULL) */
    const char *main_metric;          /* summary key shown by compare */
    int higher_is_better;             /* for main_metric */
    const char *curve_column;         /* metrics.csv column compare plots per rule
                                         (NULL: main_metric) */
    int (*run)(run_ctx *ctx);
    int resumable;                    /* 1 when run() checkpoints (run_ckpt_save), resumes
                                         (ctx->resuming) and stops at a step boundary on
                                         run_stop_signal() with ENGRAM_EINTR */
} experiment;

/* Returns the experiment named `name`, or NULL. */
const experiment *experiment_find(const char *name);

/* NULL-terminated list of all experiments. */
extern const experiment *const experiment_registry[];

#endif
