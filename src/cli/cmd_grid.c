/* cmd_grid.c: the `engram render` and `engram gridscore` sub-commands (cli.h): figures
 * and grid scores from saved arrays, e.g. a run's ratemaps.npy or recorded rate maps.
 *
 *   engram gridscore FILE.npy [--out FILE.csv] [--interp cubic|bilinear]
 *                    [--min-overlap N] [--min-max] [--null N [--seed S]]
 *   (every render writes PNG, SVG or PDF by the extension of --out)
 *   engram render ratemaps FILE.npy --out FILE.png [--cmap jet|viridis|grey] [--scale N]
 *                    [--max-units N] [--csv FILE.csv | --no-csv]
 *   engram render sac FILE.npy --out FILE.png      (autocorrelograms of rate maps)
 *   engram render curve FILE.npy|FILE.csv --out FILE.png [--column NAME[,NAME...]]
 *                    [--log-y] [--title TEXT]
 *   engram render heatmap FILE.npy --out FILE.png  (2-D: one map; 3-D: tiles)
 *
 * Exit status: 0 ok; 1 the input could not be read (missing, truncated, not an engram
 * .npy) or the output not written; 2 bad usage or a readable array of the wrong shape.
 * Every failure prints one line on stderr.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "engram/engram.h"
#include "engram/figure.h"
#include "engram/gridscore.h"
#include "engram/image.h"
#include "engram/npy.h"
#include "engram/rng.h"
#include "engram/run.h"

/* Prints "engram CMD: message" on stderr and returns code. */
static int fail(int code, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(int code, const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "engram %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* Reads an .npy file; on failure (missing, unreadable, truncated or foreign file)
 * prints one line and returns exit code 1 (engram_exit_code of ENGRAM_EIO and
 * ENGRAM_EFORMAT, as for a truncated checkpoint), else 0. */
static int read_array(const char *cmd, const char *path, double **data, size_t *ndim,
                      size_t *shape) {
    int st = npy_read(path, data, ndim, shape);
    if (st == ENGRAM_OK) return 0;
    if (st == ENGRAM_EIO) return fail(1, cmd, "%s", engram_error());
    return fail(1, cmd, "%s (expected an engram .npy array, '<f8')", engram_error());
}

/* Interprets an array as a stack of square rate maps: (U, n, n) or one (n, n) map.
 * Returns 0 and sets *units, *n, or prints one line and returns 2. */
static int as_maps(const char *cmd, const char *path, size_t ndim, const size_t *shape,
                   size_t *units, size_t *n) {
    if (ndim == 3 && shape[1] == shape[2] && shape[1] >= 3 && shape[0] >= 1) {
        *units = shape[0];
        *n = shape[1];
        return 0;
    }
    if (ndim == 2 && shape[0] == shape[1] && shape[0] >= 3) {
        *units = 1;
        *n = shape[0];
        return 0;
    }
    char desc[128] = "";
    size_t off = 0;
    for (size_t d = 0; d < ndim && off < sizeof desc - 24; d++)
        off += (size_t)snprintf(desc + off, sizeof desc - off, d ? ", %zu" : "%zu", shape[d]);
    return fail(2, cmd, "%s has shape (%s); expected rate maps (units, bins, bins) with bins >= 3",
                path, desc);
}

/* Parses a non-negative integer option value; returns 0 on success. */
static int parse_size(const char *s, size_t lo, size_t hi, size_t *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-' || v < lo || v > hi) return -1;
    *out = (size_t)v;
    return 0;
}

/* Scores n_null bin-shuffled maps and prints the null's percentiles and the counts of
 * units above them (and above 0.8 and 1.0) on stderr. */
static int gridscore_null_report(const gridscorer *gs, const double *maps, size_t units,
                                 const gridscore_result *res, size_t n_null, size_t seed) {
    double *null = malloc(n_null * sizeof *null);
    double *w = malloc((n_null > units ? n_null : units) * sizeof *w);
    gsl_rng *r = rng_stream_alloc((uint64_t)seed, "null", 0);
    int st = null && w && r ? gridscore_shuffle_null(gs, maps, units, n_null, r, null)
                            : engram_fail(ENGRAM_ENOMEM, "out of memory");
    if (st == ENGRAM_OK) {
        double p95 = gridscore_quantile(null, n_null, 0.95, w);
        double p99 = gridscore_quantile(null, n_null, 0.99, w);
        size_t a99 = gridscore_count_above(res, units, p99), a95 = gridscore_count_above(res, units, p95);
        fprintf(stderr, "null of %zu bin-shuffled maps (seed %zu): 95th percentile %.4f, 99th %.4f; "
                "units above the 95th: %zu, above the 99th: %zu, above 0.8: %zu, above 1.0: %zu of %zu\n",
                n_null, seed, p95, p99, a95, a99, gridscore_count_above(res, units, 0.8),
                gridscore_count_above(res, units, 1.0), units);
    }
    free(null); free(w);
    if (r) gsl_rng_free(r);
    return st;
}

int cmd_gridscore(int argc, char **argv) {
    const char *cmd = "gridscore";
    const char *in = NULL, *out = NULL;
    gridscore_interp interp = GRIDSCORE_SPLINE3;
    size_t min_overlap = 2;
    int min_max = 0;
    size_t n_null = 0, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--null")) {
            if (++i >= argc || parse_size(argv[i], 1, 10000000, &n_null))
                return fail(2, cmd, "--null needs a positive number of shuffled maps");
        } else if (!strcmp(a, "--seed")) {
            if (++i >= argc || parse_size(argv[i], 0, (size_t)4294967295u, &seed))
                return fail(2, cmd, "--seed needs a non-negative integer");
        } else if (!strcmp(a, "--out")) {
            if (++i >= argc) return fail(2, cmd, "--out needs FILE.csv");
            out = argv[i];
        } else if (!strcmp(a, "--interp")) {
            if (++i >= argc) return fail(2, cmd, "--interp needs cubic or bilinear");
            if (!strcmp(argv[i], "cubic") || !strcmp(argv[i], "spline")) interp = GRIDSCORE_SPLINE3;
            else if (!strcmp(argv[i], "bilinear")) interp = GRIDSCORE_BILINEAR;
            else return fail(2, cmd, "--interp must be cubic or bilinear, got '%s'", argv[i]);
        } else if (!strcmp(a, "--min-overlap")) {
            if (++i >= argc || parse_size(argv[i], 2, 1000000, &min_overlap))
                return fail(2, cmd, "--min-overlap needs an integer >= 2");
        } else if (!strcmp(a, "--min-max")) {
            min_max = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: engram gridscore FILE.npy [--out FILE.csv] [--interp cubic|bilinear]\n"
                   "                        [--min-overlap N] [--min-max] [--null N [--seed S]]\n"
                   "Grid scores (DeepMind method) of rate maps (units, bins, bins), NaN = empty\n"
                   "bin. Writes CSV unit,score60,score90,ring_inner,ring_outer,plane_r2,\n"
                   "spacing_bins,orientation_deg,ellipticity (lattice of the six inner SAC peaks)\n"
                   "to stdout or --out. --min-max: min/max form of score60 (Hardcastle et al.\n"
                   "2017). --null N: also score N bin-shuffled maps (units in turn, rng seed S)\n"
                   "and print their 95th/99th percentiles and the units above them on stderr.\n");
            return 0;
        } else if (a[0] == '-' && a[1]) {
            return fail(2, cmd, "unknown option '%s' (see engram gridscore --help)", a);
        } else if (!in) {
            in = a;
        } else {
            return fail(2, cmd, "unexpected argument '%s'", a);
        }
    }
    if (!in) return fail(2, cmd, "missing FILE.npy (usage: engram gridscore FILE.npy [--out FILE.csv])");
    double *data = NULL;
    size_t ndim, shape[NPY_MAX_DIMS], units, n;
    int rc = read_array(cmd, in, &data, &ndim, shape);
    if (rc) return rc;
    if ((rc = as_maps(cmd, in, ndim, shape, &units, &n))) { free(data); return rc; }
    gridscorer *gs = gridscorer_alloc(n, interp);
    gridscore_result *res = malloc(units * sizeof *res);
    if (!gs || !res) {
        free(data); free(res); gridscorer_free(gs);
        return fail(1, cmd, "out of memory for %zu maps", units);
    }
    gs->min_overlap = min_overlap;
    gs->min_max = min_max;
    int st = gridscore_maps(gs, data, units, res, NULL);
    if (st == ENGRAM_OK) {
        if (out) st = gridscore_write_csv_path(out, res, units);
        else st = gridscore_write_csv(stdout, res, units);
    }
    if (st == ENGRAM_OK && n_null) st = gridscore_null_report(gs, data, units, res, n_null, seed);
    free(data); free(res); gridscorer_free(gs);
    if (st != ENGRAM_OK) return fail(engram_exit_code(st), cmd, "%s", engram_error());
    return 0;
}

/* ------------------------------------------------------------ render */

/* Returns the file name part of a path. */
static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Line plot from a CSV (columns vs the `step` column, else the row index) or from a
 * 1-D (P,) / 2-D (S, P) array. */
static int render_curve(const char *in, const char *out, const char *columns, int log_y,
                        const char *title) {
    const char *cmd = "render curve";
    size_t len = strlen(in);
    image_plot p;
    memset(&p, 0, sizeof p);
    p.title = title ? title : base_name(in);
    p.log_y = log_y;
    double *x = NULL, *y = NULL, *data = NULL;
    char **names = NULL;
    const char **series = NULL;
    size_t ncol = 0;
    int rc = 0;
    if (len > 4 && !strcmp(in + len - 4, ".csv")) {
        size_t R;
        int cst = run_csv_read(in, &names, &ncol, &data, &R);
        if (cst != ENGRAM_OK) return fail(engram_exit_code(cst), cmd, "%s", engram_error());
        long xcol = -1;
        for (size_t c = 0; c < ncol; c++)
            if (!strcmp(names[c], "step")) xcol = (long)c;
        /* Selected columns: --column list, else every column but step and wall_s. */
        size_t S = 0;
        long sel[64];
        if (columns) {
            char *dup = strdup(columns);
            for (char *tok = strtok(dup, ","); tok && S < 64; tok = strtok(NULL, ",")) {
                long found = -1;
                for (size_t c = 0; c < ncol; c++)
                    if (!strcmp(names[c], tok)) found = (long)c;
                if (found < 0) {
                    rc = fail(2, cmd, "%s has no column '%s'", in, tok);
                    free(dup);
                    goto done;
                }
                sel[S++] = found;
            }
            free(dup);
        } else {
            for (size_t c = 0; c < ncol && S < 64; c++)
                if ((long)c != xcol && strcmp(names[c], "wall_s")) sel[S++] = (long)c;
        }
        if (S == 0 || R == 0) { rc = fail(2, cmd, "%s has no data to plot", in); goto done; }
        x = malloc(R * sizeof *x);
        y = malloc(S * R * sizeof *y);
        series = malloc(S * sizeof *series);
        if (!x || !y || !series) { rc = fail(1, cmd, "out of memory"); goto done; }
        for (size_t r = 0; r < R; r++) x[r] = xcol >= 0 ? data[r * ncol + (size_t)xcol] : (double)r;
        for (size_t s = 0; s < S; s++) {
            series[s] = names[sel[s]];
            for (size_t r = 0; r < R; r++) y[s * R + r] = data[r * ncol + (size_t)sel[s]];
        }
        p.x_label = xcol >= 0 ? "step" : "row";
        p.y_label = S == 1 ? series[0] : NULL;
        p.n_series = S;
        p.n_points = R;
        p.names = S > 1 ? series : NULL;
    } else {
        size_t ndim, shape[NPY_MAX_DIMS];
        if ((rc = read_array(cmd, in, &data, &ndim, shape))) return rc;
        size_t S, P;
        if (ndim == 1) { S = 1; P = shape[0]; }
        else if (ndim == 2) { S = shape[0]; P = shape[1]; }
        else { rc = fail(2, cmd, "%s has %zu dimensions; curve needs a 1-D (P,) or 2-D (S, P) array", in, ndim); goto done; }
        if (P == 0 || S == 0) { rc = fail(2, cmd, "%s is empty", in); goto done; }
        if (S > 64) { rc = fail(2, cmd, "%s has %zu series; curve draws at most 64", in, S); goto done; }
        x = malloc(P * sizeof *x);
        if (!x) { rc = fail(1, cmd, "out of memory"); goto done; }
        for (size_t i = 0; i < P; i++) x[i] = (double)i;
        p.x_label = "index";
        p.y_label = "value";
        p.n_series = S;
        p.n_points = P;
        y = data;
        data = NULL;
    }
    p.x = x;
    p.y = y;
    if (image_write_plot(out, &p) != ENGRAM_OK)
        rc = fail(1, cmd, "%s", engram_error());
done:
    run_csv_free(names, ncol, data);
    free(series); free(x); free(y);
    return rc;
}

/* Replaces the extension of path by ext (or appends it) into a malloc'd string. */
static char *with_ext(const char *path, const char *ext) {
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    char *s = malloc(stem + strlen(ext) + 1);
    if (!s) return NULL;
    memcpy(s, path, stem);
    strcpy(s + stem, ext);
    return s;
}

int cmd_render(int argc, char **argv) {
    const char *cmd = "render";
    const char *what = NULL, *in = NULL, *out = NULL, *csv = NULL, *columns = NULL,
               *title = NULL, *formats = NULL;
    image_cmap cmap = IMAGE_CMAP_JET;
    size_t scale = 0, max_units = 0;
    int no_csv = 0, log_y = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--out")) {
            if (++i >= argc) return fail(2, cmd, "--out needs FILE.png, FILE.svg or FILE.pdf");
            out = argv[i];
        } else if (!strcmp(a, "--format")) {
            if (++i >= argc) return fail(2, cmd, "--format needs a list such as png,svg");
            formats = argv[i];
            if (figure_formats_parse(formats, NULL) != ENGRAM_OK)
                return fail(2, cmd, "--format: %s", engram_error());
        } else if (!strcmp(a, "--cmap")) {
            if (++i >= argc) return fail(2, cmd, "--cmap needs jet, viridis or grey");
            if (!strcmp(argv[i], "jet")) cmap = IMAGE_CMAP_JET;
            else if (!strcmp(argv[i], "viridis")) cmap = IMAGE_CMAP_VIRIDIS;
            else if (!strcmp(argv[i], "grey") || !strcmp(argv[i], "gray")) cmap = IMAGE_CMAP_GREY;
            else return fail(2, cmd, "--cmap must be jet, viridis or grey, got '%s'", argv[i]);
        } else if (!strcmp(a, "--scale")) {
            if (++i >= argc || parse_size(argv[i], 1, 64, &scale))
                return fail(2, cmd, "--scale needs an integer in [1, 64] (pixels per bin)");
        } else if (!strcmp(a, "--max-units")) {
            if (++i >= argc || parse_size(argv[i], 1, 1000000, &max_units))
                return fail(2, cmd, "--max-units needs a positive integer");
        } else if (!strcmp(a, "--csv")) {
            if (++i >= argc) return fail(2, cmd, "--csv needs FILE.csv");
            csv = argv[i];
        } else if (!strcmp(a, "--no-csv")) {
            no_csv = 1;
        } else if (!strcmp(a, "--column")) {
            if (++i >= argc) return fail(2, cmd, "--column needs NAME[,NAME...]");
            columns = argv[i];
        } else if (!strcmp(a, "--title")) {
            if (++i >= argc) return fail(2, cmd, "--title needs TEXT");
            title = argv[i];
        } else if (!strcmp(a, "--log-y")) {
            log_y = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: engram render WHAT FILE --out FILE.png|FILE.svg|FILE.pdf [--cmap jet|viridis|grey]\n"
                   "  (the format follows the extension of --out: PNG raster, SVG or PDF vector;\n"
                   "  --format png,svg draws once and writes FILE.png and FILE.svg)\n"
                   "  ratemaps FILE.npy  rate maps (units, bins, bins) and their autocorrelograms,\n"
                   "                     sorted by 60-degree grid score, 16 per row; writes a CSV\n"
                   "                     sidecar (--csv FILE, default FILE.png -> FILE.csv; --no-csv)\n"
                   "                     [--scale PX_PER_BIN] [--max-units N]\n"
                   "  sac FILE.npy       autocorrelograms of rate maps, sorted by score, best ring\n"
                   "  curve FILE         a 1-D (P,) or 2-D (S, P) .npy, or columns of a CSV such as\n"
                   "                     metrics.csv against its step column [--column A,B] [--log-y]\n"
                   "  heatmap FILE.npy   a 2-D array as one heatmap, a 3-D array as tiles\n");
            return 0;
        } else if (a[0] == '-' && a[1]) {
            return fail(2, cmd, "unknown option '%s' (see engram render --help)", a);
        } else if (!what) {
            what = a;
        } else if (!in) {
            in = a;
        } else {
            return fail(2, cmd, "unexpected argument '%s'", a);
        }
    }
    if (!what || !in || !out)
        return fail(2, cmd, "usage: engram render ratemaps|sac|curve|heatmap FILE.npy --out FILE.png");
    const char *out_arg = out; /* the sidecar CSV's name derives from it */
    static char out_list[3 * (PATH_MAX + 8)];
    if (formats) {
        if (strchr(out, FIGURE_PATH_SEP)) return fail(2, cmd, "--out: a file name with a newline");
        if (figure_paths(out_list, sizeof out_list, out, formats) != ENGRAM_OK)
            return fail(2, cmd, "--out: %s", engram_error());
        out = out_list;
    }
    if (!strcmp(what, "curve")) return render_curve(in, out, columns, log_y, title);
    if (strcmp(what, "ratemaps") && strcmp(what, "sac") && strcmp(what, "heatmap"))
        return fail(2, cmd, "unknown WHAT '%s' (ratemaps, sac, curve or heatmap)", what);

    double *data = NULL;
    size_t ndim, shape[NPY_MAX_DIMS];
    int rc = read_array(cmd, in, &data, &ndim, shape);
    if (rc) return rc;
    int st = ENGRAM_OK;
    if (!strcmp(what, "heatmap")) {
        if (ndim == 2 && shape[0] > 0 && shape[1] > 0) {
            st = image_write_raster(out, data, shape[0], shape[1], cmap,
                                    title ? title : base_name(in), "column", "row");
        } else if (ndim == 3 && shape[0] > 0 && shape[1] > 0 && shape[2] > 0) {
            size_t K = max_units && max_units < shape[0] ? max_units : shape[0];
            char **titles = calloc(K, sizeof *titles);
            char *buf = malloc(K * 24);
            if (!titles || !buf) {
                free(titles); free(buf); free(data);
                return fail(1, cmd, "out of memory");
            }
            for (size_t k = 0; k < K; k++) {
                titles[k] = buf + 24 * k;
                snprintf(titles[k], 24, "%zu", k);
            }
            size_t sc = scale ? scale : (shape[1] <= 32 ? 4 : 2);
            st = image_write_tiles(out, data, K, shape[1], shape[2], 16, cmap, sc,
                                   (const char *const *)titles);
            free(titles); free(buf);
        } else {
            free(data);
            return fail(2, cmd, "%s has %zu dimensions; heatmap needs a 2-D or 3-D array", in, ndim);
        }
        free(data);
        if (st != ENGRAM_OK) return fail(1, cmd, "cannot write %s: %s", out_arg, engram_error());
        return 0;
    }
    size_t units, n;
    if ((rc = as_maps(cmd, in, ndim, shape, &units, &n))) { free(data); return rc; }
    gridscorer *gs = gridscorer_alloc(n, GRIDSCORE_SPLINE3);
    gridscore_result *res = malloc(units * sizeof *res);
    double *sacs = gs && !strcmp(what, "sac") ? malloc(units * gs->side * gs->side * sizeof *sacs)
                                              : NULL;
    size_t *order = malloc(units * sizeof *order);
    if (!gs || !res || !order || (!strcmp(what, "sac") && !sacs)) {
        free(data); free(res); free(sacs); free(order); gridscorer_free(gs);
        return fail(1, cmd, "out of memory for %zu maps", units);
    }
    gridfig_opts o;
    gridfig_opts_default(&o);
    o.cmap = cmap;
    o.max_units = max_units;
    st = gridscore_maps(gs, data, units, res, sacs);
    char *side = NULL;
    if (st == ENGRAM_OK && !strcmp(what, "ratemaps")) {
        if (scale) o.scale = scale;
        if (!no_csv && !csv) side = with_ext(out_arg, ".csv");
        st = gridfig_write(out, no_csv ? NULL : (csv ? csv : side), data, units, gs, res, &o);
    } else if (st == ENGRAM_OK) {
        o.scale = scale ? scale : 2;
        gridscore_sort_units(res, units, order);
        st = gridfig_write_sacs(out, sacs, units, gs->side, res, order, &o);
    }
    free(side); free(data); free(res); free(sacs); free(order); gridscorer_free(gs);
    if (st != ENGRAM_OK) return fail(engram_exit_code(st), cmd, "%s", engram_error());
    return 0;
}
