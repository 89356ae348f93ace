/* figure_path.c: figure file names in the run's figure formats (figure_path.h). */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/figure.h"
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
