/* figure_path.h: the file name of an experiment's figure in the run's figure format. */
#ifndef ENGRAM_EXPERIMENTS_FIGURE_PATH_H
#define ENGRAM_EXPERIMENTS_FIGURE_PATH_H

#include "engram/run.h"

/* Returns run_path(ctx, name) with name's ".png" replaced by the extension of the
 * configuration's run.figure_format (png, svg or pdf); run_path's shared buffer, so
 * use it before the next run_path call. */
const char *experiment_figure_path(run_ctx *ctx, const char *name);

#endif
