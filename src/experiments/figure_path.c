/* figure_path.c: figure file names in the run's figure format (figure_path.h). */
#include <stdio.h>
#include <string.h>
#include "engram/config.h"
#include "experiments/figure_path.h"

const char *experiment_figure_path(run_ctx *ctx, const char *name) {
    const char *fmt = ctx->cfg ? config_str(ctx->cfg, "run.figure_format") : "png";
    size_t n = strlen(name);
    if (!fmt || !strcmp(fmt, "png") || n < 4 || strcmp(name + n - 4, ".png") != 0)
        return run_path(ctx, name);
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s.%s", (int)(n - 4), name, fmt);
    return run_path(ctx, buf);
}
