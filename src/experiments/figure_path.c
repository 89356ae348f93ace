/* figure_path.c: figure file names in the run's figure formats (figure_path.h). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/figure.h"
#include "engram/image.h"
#include "experiments/figure_path.h"

const char *experiment_figure_path(run_ctx *ctx, const char *name) {
    const char *fmt = ctx->cfg ? config_str(ctx->cfg, "run.figure_format") : "png";
    size_t n = strlen(name);
    if (!fmt || !strcmp(fmt, "png") || n < 4 || strcmp(name + n - 4, ".png") != 0)
        return run_path(ctx, name);
    /* One file per format: "dir/x.png\ndir/x.svg" (figure.h, FIGURE_PATH_SEP). */
    static _Thread_local char buf[3 * (RUN_DIR_MAX + 80)];
    int st = figure_paths(buf, sizeof buf, run_path(ctx, name), fmt);
    assert(st == ENGRAM_OK); /* the loader refuses bad lists; out_dir <= RUN_DIR_MAX */
    (void)st;
    return buf;
}

int experiment_plot_curve(const char *path, const double *curve, size_t n_eval, const char *title,
                          const char *score_name, const char *y_label) {
    if (n_eval < 2) return ENGRAM_OK;
    double *x = malloc(n_eval * sizeof *x), *y = malloc(2 * n_eval * sizeof *y);
    if (!x || !y) { free(x); free(y); return engram_fail(ENGRAM_ENOMEM, "learning curve: out of memory"); }
    for (size_t e = 0; e < n_eval; e++) {
        x[e] = curve[e * 3];
        y[e] = curve[e * 3 + 2];
        y[n_eval + e] = curve[e * 3 + 1];
    }
    const char *names[2] = {score_name, "test loss"};
    image_plot p = {title, "updates", y_label, x, y, NULL, NULL, 2, n_eval, names, 0, 0, 0};
    int st = image_write_plot(path, &p);
    free(x);
    free(y);
    return st;
}
