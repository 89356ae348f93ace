/* figure_path.h: the file name of an experiment's figure in the run's figure format. */
#ifndef ENGRAM_EXPERIMENTS_FIGURE_PATH_H
#define ENGRAM_EXPERIMENTS_FIGURE_PATH_H

#include "engram/run.h"

/* Returns the figure_open path of figure `name` ("x.png") in the configuration's
 * run.figure_format list: run_path(ctx, name) for png, the file with its ".png" replaced
 * by each listed extension otherwise ("dir/x.png\ndir/x.svg" for png,svg; figure.h).
 * A shared buffer (run_path's or a per-thread one): use it before the next call. */
const char *experiment_figure_path(run_ctx *ctx, const char *name);

#endif
