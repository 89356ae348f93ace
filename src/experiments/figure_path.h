/* figure_path.h: the file name of an experiment's figure in the run's figure format,
 * and the learning-curve figure the sequence experiments share. */
#ifndef ENGRAM_EXPERIMENTS_FIGURE_PATH_H
#define ENGRAM_EXPERIMENTS_FIGURE_PATH_H

#include <stddef.h>
#include "engram/run.h"

/* Returns the figure_open path of figure `name` ("x.png") in the configuration's
 * run.figure_format list: run_path(ctx, name) for png, the file with its ".png" replaced
 * by each listed extension otherwise ("dir/x.png\ndir/x.svg" for png,svg; figure.h).
 * A shared buffer (run_path's or a per-thread one): use it before the next call. */
const char *experiment_figure_path(run_ctx *ctx, const char *name);

/* Writes the learning curve of a sequence experiment to path: the score (curve column
 * 2, named score_name) and the test loss (column 1) against updates (column 0) of
 * curve (n_eval, 3) (learner_loop's layout). Nothing for fewer than 2 evaluations. */
int experiment_plot_curve(const char *path, const double *curve, size_t n_eval, const char *title,
                          const char *score_name, const char *y_label);

#endif
