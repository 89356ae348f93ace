/* cmd_analyze.c: the `engram analyze` sub-command (cli.h): analyses of a trained run from
 * its saved weights and configuration (analysis.h). Each analysis writes CSV/NPY and PNG
 * files into RUN_DIR/analysis/WHAT/ and prints a one-line JSON summary on stdout.
 *
 *   engram analyze RUN_DIR record      [--trials K] [--seed S]
 *   engram analyze RUN_DIR pca         [--trials K] [--seed S]
 *   engram analyze RUN_DIR lesion      [--trials K] [--seed S] [--k K]
 *   engram analyze RUN_DIR perturb     [--unit U] [--t0 T0] [--t1 T1] [--value V]
 *                                      [--mode clamp|excite]
 *   engram analyze RUN_DIR tuning      [--trials K] [--seed S]
 *   engram analyze RUN_DIR fixedpoints [--input K|-1] [--starts N] [--qtol Q]
 *   engram analyze RUN_DIR encode      (--responses FILE.npy | --synthetic [--targets M]
 *                                      [--repeats R] [--noise SIGMA]) [--folds K]
 *                                      [--lags L] [--average]
 *   every analysis also takes --format png,svg (figure formats; default png)
 *
 * Exit status: 0 ok; 1 an output could not be written or a computation failed; 2 bad
 * usage, a missing or unsupported run, an analysis the network does not support
 * (fixedpoints of the path-integrating LSTM), or a response matrix of the wrong shape.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <gsl/gsl_randist.h>
#include "cli/cli.h"
#include "engram/analysis.h"
#include "engram/engram.h"
#include "engram/figure.h"
#include "engram/image.h"
#include "engram/npy.h"
#include "engram/rng.h"
#include "engram/run.h"

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("engram analyze: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

typedef struct opts {
    const char *run_dir, *what, *responses, *formats;
    size_t trials, k, starts, targets, repeats, folds, lags;
    uint64_t seed;
    long unit, input;
    size_t t0, t1;
    double value, noise, qtol;
    int mode, synthetic, average;
    char out[1200];
} opts;

/* The figure_open path of figure `name` ("x.png") in the --format list (figure.h). */
static const char *fig_path(const opts *o, const char *name) {
    static char buf[3 * 1400 + 16];
    char one[1400];
    snprintf(one, sizeof one, "%s/%s", o->out, name);
    if (!o->formats || figure_paths(buf, sizeof buf, one, o->formats) != ENGRAM_OK)
        snprintf(buf, sizeof buf, "%s", one); /* --format was checked when parsed */
    return buf;
}

/* An output path inside the analysis directory. */
static const char *out_path(const opts *o, const char *name) {
    static char buf[1400];
    snprintf(buf, sizeof buf, "%s/%s", o->out, name);
    return buf;
}

static int make_dirs(opts *o) {
    char a[1200];
    snprintf(a, sizeof a, "%s/analysis", o->run_dir);
    if (mkdir(a, 0777) != 0 && errno != EEXIST) return -1;
    snprintf(o->out, sizeof o->out, "%s/analysis/%s", o->run_dir, o->what);
    if (mkdir(o->out, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *v) {
    char *end;
    if (!s) return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-' || x < lo || x > hi) return -1;
    *v = (size_t)x;
    return 0;
}

static int parse_real(const char *s, double *v) {
    char *end;
    if (!s) return -1;
    *v = strtod(s, &end);
    return *end || !isfinite(*v) ? -1 : 0;
}

static int parse_opts(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->trials = 100; o->k = 5; o->starts = 200; o->targets = 20; o->repeats = 4; o->folds = 5;
    o->seed = 1; o->unit = -1; o->input = -1; o->t0 = 0; o->t1 = 1000000; o->value = 1;
    o->noise = 1; o->qtol = 1e-8; o->mode = ANALYSIS_EXCITE;
    if (argc < 3) return fail(2, "usage: engram analyze RUN_DIR record|pca|lesion|perturb|tuning|fixedpoints|encode [options]");
    o->run_dir = argv[1];
    o->what = argv[2];
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t sz;
        double d;
        if (!strcmp(a, "--synthetic")) { o->synthetic = 1; continue; }
        if (!strcmp(a, "--average")) { o->average = 1; continue; }
        i++;
        if (!strcmp(a, "--trials")) { if (parse_size(v, 1, 100000, &o->trials)) goto bad; }
        else if (!strcmp(a, "--seed")) { if (parse_size(v, 0, 4294967295u, &sz)) goto bad; o->seed = sz; }
        else if (!strcmp(a, "--k")) { if (parse_size(v, 1, 100000, &o->k)) goto bad; }
        else if (!strcmp(a, "--starts")) { if (parse_size(v, 1, 100000, &o->starts)) goto bad; }
        else if (!strcmp(a, "--targets")) { if (parse_size(v, 1, 100000, &o->targets)) goto bad; }
        else if (!strcmp(a, "--repeats")) { if (parse_size(v, 1, 1000, &o->repeats)) goto bad; }
        else if (!strcmp(a, "--folds")) { if (parse_size(v, 2, 100, &o->folds)) goto bad; }
        else if (!strcmp(a, "--lags")) { if (parse_size(v, 0, 100, &o->lags)) goto bad; }
        else if (!strcmp(a, "--unit")) { if (parse_size(v, 0, 1000000, &sz)) goto bad; o->unit = (long)sz; }
        else if (!strcmp(a, "--input")) {
            if (v && !strcmp(v, "-1")) o->input = -1;
            else if (parse_size(v, 0, 1000000, &sz)) goto bad;
            else o->input = (long)sz;
        }
        else if (!strcmp(a, "--t0")) { if (parse_size(v, 0, 1000000, &o->t0)) goto bad; }
        else if (!strcmp(a, "--t1")) { if (parse_size(v, 0, 1000000, &o->t1)) goto bad; }
        else if (!strcmp(a, "--value")) { if (parse_real(v, &o->value)) goto bad; }
        else if (!strcmp(a, "--noise")) { if (parse_real(v, &d) || d < 0) goto bad; o->noise = d; }
        else if (!strcmp(a, "--qtol")) { if (parse_real(v, &d) || d <= 0) goto bad; o->qtol = d; }
        else if (!strcmp(a, "--responses")) { if (!v) goto bad; o->responses = v; }
        else if (!strcmp(a, "--format")) {
            if (!v || figure_formats_parse(v, NULL) != ENGRAM_OK)
                return fail(2, "--format: %s", v ? engram_error() : "needs a list such as png,svg");
            o->formats = v;
        }
        else if (!strcmp(a, "--mode")) {
            if (v && !strcmp(v, "clamp")) o->mode = ANALYSIS_CLAMP;
            else if (v && !strcmp(v, "excite")) o->mode = ANALYSIS_EXCITE;
            else goto bad;
        } else return fail(2, "unknown option '%s' (see engram --help)", a);
        continue;
    bad:
        return fail(2, "%s: bad or missing value '%s'", a, v ? v : "");
    }
    return 0;
}

/* --- drawing helpers ------------------------------------------------------------ */

static void cond_colour(double v, double lo, double hi, uint8_t rgb[3]) {
    image_cmap_rgb(IMAGE_CMAP_VIRIDIS, hi > lo ? 0.9 * (v - lo) / (hi - lo) : 0.5, rgb);
}


/* Text, lines and filled boxes on a cairo figure (src/figures), colours as 8-bit RGB. */
static void fig_rgb(const uint8_t c[3], double d[3]) {
    for (int i = 0; i < 3; i++) d[i] = c[i] / 255.0;
}

static void fig_txt(figure *f, long x, long y, const char *s, const uint8_t c[3]) {
    double d[3];
    fig_rgb(c, d);
    figure_text(f, (double)x, (double)y, s, 11, 0, 0, 0, d);
}

static void fig_ln(figure *f, long x0, long y0, long x1, long y1, const uint8_t c[3]) {
    double d[3];
    fig_rgb(c, d);
    figure_line(f, (double)x0, (double)y0, (double)x1, (double)y1, 1.5, d, 1.0);
}

static void fig_fill(figure *f, long x, long y, long w, long h, const uint8_t c[3]) {
    double d[3];
    fig_rgb(c, d);
    figure_rect(f, (double)x, (double)y, (double)w, (double)h, d, NULL, 0);
}

/* A scatter panel of projected trajectories: pc (K, T, 3), lines between consecutive
 * steps of a trial coloured by condition value cv (K,), axes a (x) and b (y); points
 * pts (n_pts, 3) drawn as squares in their colours (may be NULL). */
typedef struct panel {
    const double *pc; const size_t *len; size_t K, T; const double *cv;
    const double *pts; const int *pt_kind; size_t n_pts;
} panel;

static void draw_panel(figure *im, long x0, long y0, long w, long h, const panel *p, int a, int b,
                       const char *title) {
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY}, clo = INFINITY, chi = -INFINITY;
    int ax[2] = {a, b};
    for (size_t k = 0; k < p->K; k++) {
        clo = fmin(clo, p->cv[k]); chi = fmax(chi, p->cv[k]);
        for (size_t t = 0; t < p->len[k]; t++)
            for (int d = 0; d < 2; d++) {
                double v = p->pc[(k * p->T + t) * 3 + ax[d]];
                lo[d] = fmin(lo[d], v); hi[d] = fmax(hi[d], v);
            }
    }
    for (size_t k = 0; k < p->n_pts; k++)
        for (int d = 0; d < 2; d++) {
            double v = p->pts[k * 3 + ax[d]];
            lo[d] = fmin(lo[d], v); hi[d] = fmax(hi[d], v);
        }
    for (int d = 0; d < 2; d++) {
        if (!(hi[d] > lo[d])) { lo[d] -= 1; hi[d] += 1; }
        double m = 0.05 * (hi[d] - lo[d]);
        lo[d] -= m; hi[d] += m;
    }
    const uint8_t black[3] = {0, 0, 0}, grey[3] = {150, 150, 150};
    fig_txt(im, x0, y0, title, black);
    y0 += 12; h -= 24;
    fig_ln(im, x0, y0 + h, x0 + w, y0 + h, grey);
    fig_ln(im, x0, y0, x0, y0 + h, grey);
    char lab[32];
    snprintf(lab, sizeof lab, "PC%d", a + 1);
    fig_txt(im, x0 + w / 2, y0 + h + 4, lab, black);
    snprintf(lab, sizeof lab, "PC%d", b + 1);
    fig_txt(im, x0 + 2, y0 + 2, lab, black);
#define PX(v) (x0 + (long)((v - lo[0]) / (hi[0] - lo[0]) * (double)w))
#define PY(v) (y0 + h - (long)((v - lo[1]) / (hi[1] - lo[1]) * (double)h))
    for (size_t k = 0; k < p->K; k++) {
        uint8_t c[3];
        cond_colour(p->cv[k], clo, chi, c);
        for (size_t t = 1; t < p->len[k]; t++) {
            const double *u = p->pc + (k * p->T + t - 1) * 3, *v = p->pc + (k * p->T + t) * 3;
            fig_ln(im, PX(u[a]), PY(u[b]), PX(v[a]), PY(v[b]), c);
        }
    }
    static const uint8_t kc[3][3] = {{0, 160, 0}, {0, 90, 255}, {220, 0, 0}};
    for (size_t k = 0; k < p->n_pts; k++) {
        const double *v = p->pts + k * 3;
        fig_fill(im, PX(v[a]) - 4, PY(v[b]) - 4, 9, 9, black);
        fig_fill(im, PX(v[a]) - 3, PY(v[b]) - 3, 7, 7, kc[p->pt_kind ? p->pt_kind[k] : 0]);
    }
#undef PX
#undef PY
}

/* Projections of the recorded activity on the top 3 components: pc (K, T, 3). */
static int project3(const analysis_rec *rec, double *eval, double *evec, double *pc, double *mean) {
    size_t N = rec->n_units, M = 0;
    for (size_t k = 0; k < rec->n_trials; k++) M += rec->len[k];
    double *rows = malloc(M * N * sizeof *rows);
    if (!rows) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    analysis_rec_rows(rec, rows);
    int st = analysis_pca(rows, M, N, eval, evec);
    for (size_t j = 0; j < N; j++) {
        mean[j] = 0;
        for (size_t r = 0; r < M; r++) mean[j] += rows[r * N + j] / (double)M;
    }
    free(rows);
    if (st != ENGRAM_OK) return st;
    memset(pc, 0, rec->n_trials * rec->t_max * 3 * sizeof *pc);
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < rec->len[k]; t++) {
            const double *h = rec->act + (k * rec->t_max + t) * N;
            for (size_t d = 0; d < 3 && d < N; d++)
                for (size_t j = 0; j < N; j++) pc[(k * rec->t_max + t) * 3 + d] += (h[j] - mean[j]) * evec[j * N + d];
        }
    return ENGRAM_OK;
}

/* --- the analyses ----------------------------------------------------------------- */

static int write_conditions(const opts *o, const analysis_rec *rec) {
    FILE *f = fopen(out_path(o, "conditions.csv"), "w");
    if (!f) return engram_fail(ENGRAM_EIO, "%s: cannot write", out_path(o, "conditions.csv"));
    fprintf(f, "trial,t");
    for (size_t c = 0; c < rec->n_cond; c++) fprintf(f, ",%s", rec->cond_names[c]);
    fprintf(f, "\n");
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < rec->len[k]; t++) {
            fprintf(f, "%zu,%zu", k, t);
            for (size_t c = 0; c < rec->n_cond; c++)
                fprintf(f, ",%.17g", rec->cond[(k * rec->t_max + t) * rec->n_cond + c]);
            fprintf(f, "\n");
        }
    return fclose(f) == 0 ? ENGRAM_OK : engram_fail(ENGRAM_EIO, "conditions.csv: write failed");
}

static int do_record(const opts *o, const analysis_model *m, analysis_rec *rec) {
    size_t K = rec->n_trials, T = rec->t_max, N = rec->n_units;
    size_t sh[3] = {K, T, N}, lens = K;
    double *len = malloc(K * sizeof *len);
    if (!len) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    for (size_t k = 0; k < K; k++) len[k] = (double)rec->len[k];
    int st = npy_write(out_path(o, "activity.npy"), rec->act, 3, sh);
    sh[2] = rec->n_in;
    if (st == ENGRAM_OK) st = npy_write(out_path(o, "inputs.npy"), rec->x, 3, sh);
    sh[2] = rec->n_out;
    if (st == ENGRAM_OK) st = npy_write(out_path(o, "outputs.npy"), rec->out, 3, sh);
    if (st == ENGRAM_OK) st = npy_write(out_path(o, "targets.npy"), rec->y, 3, sh);
    if (st == ENGRAM_OK) st = npy_write(out_path(o, "lengths.npy"), len, 1, &lens);
    free(len);
    if (st == ENGRAM_OK) st = write_conditions(o, rec);
    /* trial 0's activity, units x time */
    size_t T0 = rec->len[0];
    double *z = malloc(N * T0 * sizeof *z);
    if (!z) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    for (size_t t = 0; t < T0; t++)
        for (size_t j = 0; j < N; j++) z[j * T0 + t] = rec->act[t * N + j];
    char title[96];
    snprintf(title, sizeof title, "activity, trial 0 (%s, %s)", m->experiment, m->rule);
    if (st == ENGRAM_OK) st = image_write_raster(fig_path(o, "activity.png"), z, N, T0, IMAGE_CMAP_VIRIDIS, title, "time step", "unit");
    free(z);
    if (st == ENGRAM_OK)
        printf("{\"analysis\": \"record\", \"trials\": %zu, \"t_max\": %zu, \"units\": %zu, \"metric\": %.6g}\n",
               K, T, N, analysis_metric(m, rec));
    return st;
}

static int do_pca(const opts *o, const analysis_model *m, const analysis_rec *rec) {
    size_t N = rec->n_units, K = rec->n_trials, T = rec->t_max, C = rec->n_cond;
    double *eval = malloc(N * sizeof *eval), *evec = malloc(N * N * sizeof *evec);
    double *pc = malloc(K * T * 3 * sizeof *pc), *mean = malloc(N * sizeof *mean), *cv = malloc(K * sizeof *cv);
    int st = eval && evec && pc && mean && cv ? ENGRAM_OK : engram_fail(ENGRAM_ENOMEM, "out of memory");
    if (st == ENGRAM_OK) st = project3(rec, eval, evec, pc, mean);
    double tot = 0, cum = 0;
    size_t d90 = 0;
    for (size_t j = 0; j < N && eval; j++) tot += eval[j];
    FILE *f = st == ENGRAM_OK ? fopen(out_path(o, "variance_explained.csv"), "w") : NULL;
    if (st == ENGRAM_OK && !f) st = engram_fail(ENGRAM_EIO, "variance_explained.csv: cannot write");
    if (f) {
        fprintf(f, "pc,eigenvalue,fraction,cumulative\n");
        for (size_t j = 0; j < N; j++) {
            cum += eval[j] / tot;
            if (cum < 0.9) d90 = j + 2;
            fprintf(f, "%zu,%.17g,%.17g,%.17g\n", j + 1, eval[j], eval[j] / tot, cum);
        }
        if (fclose(f) != 0) st = engram_fail(ENGRAM_EIO, "variance_explained.csv: write failed");
    }
    if (d90 == 0) d90 = 1;
    size_t sh[3] = {N, N, 0};
    if (st == ENGRAM_OK) st = npy_write(out_path(o, "components.npy"), evec, 2, sh);
    sh[0] = K; sh[1] = T; sh[2] = 3;
    if (st == ENGRAM_OK) st = npy_write(out_path(o, "projections.npy"), pc, 3, sh);
    /* trajectories coloured by the first task variable */
    for (size_t k = 0; k < K && cv; k++) cv[k] = rec->cond[k * T * C];
    if (st == ENGRAM_OK) {
        figure *im = figure_open(fig_path(o, "trajectories.png"), 900, 440);
        if (!im) st = ENGRAM_EIO;
        else {
            panel p = {pc, rec->len, K, T, cv, NULL, NULL, 0};
            char t1[128];
            snprintf(t1, sizeof t1, "%s %s: trajectories, colour = %s", m->experiment, m->rule, rec->cond_names[0]);
            draw_panel(im, 20, 10, 400, 410, &p, 0, 1, t1);
            draw_panel(im, 470, 10, 400, 410, &p, 0, 2, "PC1 vs PC3");
            st = figure_close(im);
        }
    }
    /* PC time courses: the mean of PC1..3 at each step per value of the first variable */
    if (st == ENGRAM_OK) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t k = 0; k < K; k++) { lo = fmin(lo, cv[k]); hi = fmax(hi, cv[k]); }
        size_t G = (size_t)(hi - lo) + 1;
        if (G > 6) G = 6;
        size_t S = 3 * G;
        double *x = malloc(T * sizeof *x), *y = calloc(S * T, sizeof *y), *cnt = calloc(S * T, sizeof *cnt);
        char (*names)[64] = malloc(S * sizeof *names);
        const char **np = malloc(S * sizeof *np);
        if (!x || !y || !cnt || !names || !np) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
        for (size_t t = 0; st == ENGRAM_OK && t < T; t++) x[t] = (double)t;
        for (size_t k = 0; st == ENGRAM_OK && k < K; k++) {
            size_t g = (size_t)(cv[k] - lo);
            if (g >= G) continue;
            for (size_t t = 0; t < rec->len[k]; t++)
                for (size_t d = 0; d < 3; d++) {
                    y[(d * G + g) * T + t] += pc[(k * T + t) * 3 + d];
                    cnt[(d * G + g) * T + t] += 1;
                }
        }
        for (size_t s = 0; st == ENGRAM_OK && s < S; s++) {
            for (size_t t = 0; t < T; t++) y[s * T + t] = cnt[s * T + t] > 0 ? y[s * T + t] / cnt[s * T + t] : NAN;
            snprintf(names[s], 64, "PC%zu %s=%g", s / G + 1, rec->cond_names[0], lo + (double)(s % G));
            np[s] = names[s];
        }
        if (st == ENGRAM_OK) {
            image_plot pl = {"PC time courses per condition", "time step", "projection", x, y, NULL, NULL,
                             S, T, np, 0, 900, 500};
            st = image_write_plot(fig_path(o, "pc_timecourses.png"), &pl);
        }
        free(x); free(y); free(cnt); free(names); free(np);
    }
    if (st == ENGRAM_OK)
        printf("{\"analysis\": \"pca\", \"units\": %zu, \"participation_ratio\": %.6g, \"pc1\": %.6g, "
               "\"pc2\": %.6g, \"pc3\": %.6g, \"pcs_for_90\": %zu}\n", N,
               analysis_participation_ratio(eval, N), eval[0] / tot, N > 1 ? eval[1] / tot : 0,
               N > 2 ? eval[2] / tot : 0, d90);
    free(eval); free(evec); free(pc); free(mean); free(cv);
    return st;
}

static const double *sort_delta, *sort_tie;
static int cmp_delta(const void *a, const void *b) {
    double x = sort_delta[*(const size_t *)a], y = sort_delta[*(const size_t *)b];
    if (x != y) return (x > y) - (x < y);
    if (sort_tie) {
        x = sort_tie[*(const size_t *)a]; y = sort_tie[*(const size_t *)b];
        if (x != y) return (x < y) - (x > y);
    }
    return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

/* A lesion group's result: the metric (mean over draws for random groups), its standard
 * deviation, range and size. */
typedef struct lesion_group {
    char name[48];
    size_t k, draws;
    double metric, sd, lo, hi;
} lesion_group;

/* The metric with `draws` random sets of k units silenced, each from stream
 * (seed, stream, d). */
static void lesion_random(const analysis_model *m, analysis_rec *rec, size_t k, size_t draws,
                          uint64_t seed, const char *stream, size_t *pick, lesion_group *g) {
    size_t N = analysis_model_units(m);
    double s = 0, s2 = 0;
    g->lo = INFINITY; g->hi = -INFINITY; g->k = k; g->draws = draws;
    for (size_t d = 0; d < draws; d++) {
        gsl_rng *r = rng_stream_alloc(seed, stream, d);
        for (size_t i = 0; i < N; i++) pick[i] = i;
        gsl_ran_shuffle(r, pick, N, sizeof *pick);
        gsl_rng_free(r);
        double v = analysis_lesion_group(m, rec, pick, k);
        s += v; s2 += v * v;
        g->lo = fmin(g->lo, v); g->hi = fmax(g->hi, v);
    }
    g->metric = s / (double)draws;
    g->sd = sqrt(fmax(0, s2 / (double)draws - g->metric * g->metric));
}

static void lesion_fixed(const analysis_model *m, analysis_rec *rec, const char *name,
                         const size_t *units, size_t k, lesion_group *g) {
    snprintf(g->name, sizeof g->name, "%s", name);
    g->k = k; g->draws = 1;
    g->metric = g->lo = g->hi = analysis_lesion_group(m, rec, units, k);
    g->sd = 0;
}

/* Grid units of a gridcells run (gridstats.csv of its last evaluation): the run's own
 * set (score60 above the shuffle null's 99th percentile, stable, not planar) into
 * grid (count *ng), the stricter set with the untrained network's 99th percentile
 * (metrics.csv, last row) as the threshold into strict (*ns), and all units ranked by
 * score60 (NaN last) into by_score. Returns ENGRAM_OK or ENGRAM_EIO. */
static int grid_unit_sets(const char *run_dir, const analysis_model *m, size_t *grid, size_t *ng,
                          size_t *strict, size_t *ns, size_t *by_score, double *score) {
    char path[1400], **names = NULL, **mn = NULL;
    double *v = NULL, *mv = NULL;
    size_t nc = 0, nr = 0, mc = 0, mr = 0, N = analysis_model_units(m);
    snprintf(path, sizeof path, "%s/gridstats.csv", run_dir);
    int st = run_csv_read(path, &names, &nc, &v, &nr);
    if (st != ENGRAM_OK) return engram_fail(ENGRAM_EIO, "%s: cannot read (grid-unit lesions need the run's grid statistics)", path);
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    st = run_csv_read(path, &mn, &mc, &mv, &mr);
    if (st != ENGRAM_OK || mr == 0) {
        run_csv_free(names, nc, v);
        return engram_fail(ENGRAM_EIO, "%s: cannot read the untrained network's 99th percentile", path);
    }
    long cu = -1, cs = -1, cst = -1, cp = -1, cg = -1, cn = -1;
    for (size_t c = 0; c < nc; c++) {
        if (!strcmp(names[c], "unit")) cu = (long)c;
        if (!strcmp(names[c], "score60")) cs = (long)c;
        if (!strcmp(names[c], "stability")) cst = (long)c;
        if (!strcmp(names[c], "plane_r2")) cp = (long)c;
        if (!strcmp(names[c], "grid_unit")) cg = (long)c;
    }
    for (size_t c = 0; c < mc; c++) if (!strcmp(mn[c], "untrained_p99")) cn = (long)c;
    if (cu < 0 || cs < 0 || cst < 0 || cp < 0 || cg < 0 || cn < 0 || nr != N) {
        run_csv_free(names, nc, v); run_csv_free(mn, mc, mv);
        return engram_fail(ENGRAM_EIO, "%s/gridstats.csv: expected %zu units with score60, stability, "
                           "plane_r2, grid_unit (and untrained_p99 in metrics.csv)", run_dir, N);
    }
    double u99 = mv[(mr - 1) * mc + (size_t)cn];
    double min_stab = config_real(m->cfg, "eval.min_stability"), max_r2 = config_real(m->cfg, "eval.max_plane_r2");
    *ng = *ns = 0;
    for (size_t r = 0; r < nr; r++) {
        const double *row = v + r * nc;
        size_t u = (size_t)row[cu];
        score[u] = isnan(row[cs]) ? -INFINITY : row[cs];
        if (row[cg] == 1) grid[(*ng)++] = u;
        if (row[cs] > u99 && row[cst] >= min_stab && row[cp] < max_r2) strict[(*ns)++] = u;
        by_score[r] = u;
    }
    run_csv_free(names, nc, v); run_csv_free(mn, mc, mv);
    /* ranked by score60, highest first */
    for (size_t i = 0; i < N; i++) score[i] = -score[i];
    sort_delta = score;
    qsort(by_score, N, sizeof *by_score, cmp_delta);
    for (size_t i = 0; i < N; i++) score[i] = -score[i];
    return ENGRAM_OK;
}

/* The groups' bar figure: the metric of each group, random groups with their range. */
static int draw_groups(const char *path, const analysis_model *m, const lesion_group *g, size_t n,
                       const char *subtitle, double ref, const char *ref_name) {
    const long W = 120 + (long)n * 140, H = 460, y0 = 70, h = 300, x0 = 70;
    figure *im = figure_open(path, (size_t)W, (size_t)H);
    if (!im) return ENGRAM_EIO;
    const uint8_t black[3] = {0, 0, 0}, grey[3] = {150, 150, 150}, bar[3] = {31, 119, 180},
                  rnd[3] = {255, 127, 14}, intact[3] = {90, 90, 90};
    double hi = 0;
    for (size_t i = 0; i < n; i++) hi = fmax(hi, fmax(g[i].metric, isfinite(g[i].hi) ? g[i].hi : 0));
    if (isfinite(ref)) hi = fmax(hi, ref);
    if (!(hi > 0)) hi = 1;
    hi *= 1.1;
    char t[200];
    snprintf(t, sizeof t, "%s %s: %s after silencing groups of units", m->experiment, m->rule,
             m->metric_name ? m->metric_name : "accuracy");
    fig_txt(im, 10, 10, t, black);
    fig_txt(im, 10, 30, subtitle, grey);
    fig_ln(im, x0, y0 + h, W - 20, y0 + h, grey);
    fig_ln(im, x0, y0, x0, y0 + h, grey);
    for (int q = 0; q <= 4; q++) {
        long yy = y0 + h - (long)(h * q / 4);
        snprintf(t, sizeof t, "%.3g", hi * q / 4);
        fig_txt(im, 10, yy - 6, t, black);
    }
    if (isfinite(ref)) {
        long yr = y0 + h - (long)(ref / hi * h);
        for (long x = x0; x < W - 20; x += 12) fig_ln(im, x, yr, x + 6, yr, black);
        snprintf(t, sizeof t, "%s %.3g", ref_name, ref);
        fig_txt(im, x0 + 8, yr - 16, t, black);
    }
    for (size_t i = 0; i < n; i++) {
        long x = x0 + 20 + (long)i * 140, bh = (long)(g[i].metric / hi * h);
        fig_fill(im, x, y0 + h - bh, 70, bh, i == 0 ? intact : g[i].draws > 1 ? rnd : bar);
        if (g[i].draws > 1) {
            long ylo = y0 + h - (long)(g[i].lo / hi * h), yhi = y0 + h - (long)(g[i].hi / hi * h);
            fig_ln(im, x + 35, ylo, x + 35, yhi, black);
            fig_ln(im, x + 25, ylo, x + 45, ylo, black);
            fig_ln(im, x + 25, yhi, x + 45, yhi, black);
        }
        snprintf(t, sizeof t, "%.3g", g[i].metric);
        fig_txt(im, x + 10, y0 + h - bh - 16, t, black);
        fig_txt(im, x - 5, y0 + h + 8, g[i].name, black);
        snprintf(t, sizeof t, "k = %zu%s", g[i].k, g[i].draws > 1 ? " (range)" : "");
        fig_txt(im, x - 5, y0 + h + 24, t, grey);
    }
    return figure_close(im);
}

static int do_lesion(const opts *o, const analysis_model *m, analysis_rec *rec) {
    size_t N = analysis_model_units(m), k = o->k < N ? o->k : N;
    double *delta = malloc(N * sizeof *delta), *norm = malloc(N * sizeof *norm), *dl = malloc(N * sizeof *dl);
    double *harm = malloc(N * sizeof *harm), *score = malloc(N * sizeof *score);
    size_t *order = malloc(N * sizeof *order), *by_norm = malloc(N * sizeof *by_norm), *pick = malloc(N * sizeof *pick);
    size_t *gset = malloc(N * sizeof *gset), *sset = malloc(N * sizeof *sset), *by_score = malloc(N * sizeof *by_score);
    lesion_group grp[12];
    size_t n_grp = 0;
    if (!delta || !norm || !dl || !harm || !score || !order || !by_norm || !pick || !gset || !sset || !by_score) {
        free(delta); free(norm); free(dl); free(harm); free(score); free(order); free(by_norm); free(pick);
        free(gset); free(sset); free(by_score);
        return engram_fail(ENGRAM_ENOMEM, "out of memory");
    }
    analysis_model_simulate(m, NULL, rec);
    double base = analysis_metric(m, rec), base_loss = analysis_model_loss(m, rec);
    int st = analysis_lesion_units(m, rec, delta, dl);
    /* ranked by the metric's change, ties by the loss's (the metric saturates on a solved
     * task): most harmful first (a drop of accuracy, a rise of an error) */
    analysis_model_readout(m, -1, norm);
    for (size_t i = 0; i < N; i++) {
        order[i] = by_norm[i] = i;
        harm[i] = m->lower_is_better ? -delta[i] : delta[i];
        norm[i] = -norm[i]; /* sorted ascending: largest readout first */
    }
    sort_delta = harm;
    sort_tie = dl;
    qsort(order, N, sizeof *order, cmp_delta);
    sort_tie = NULL;
    sort_delta = norm;
    qsort(by_norm, N, sizeof *by_norm, cmp_delta);
    FILE *f = st == ENGRAM_OK ? fopen(out_path(o, "lesion_units.csv"), "w") : NULL;
    if (st == ENGRAM_OK && !f) st = engram_fail(ENGRAM_EIO, "lesion_units.csv: cannot write");
    if (f) {
        fprintf(f, "rank,unit,metric,delta,loss,delta_loss,readout_norm\n");
        for (size_t r = 0; r < N; r++)
            fprintf(f, "%zu,%zu,%.17g,%.17g,%.17g,%.17g,%.17g\n", r + 1, order[r], base + delta[order[r]],
                    delta[order[r]], base_loss + dl[order[r]], dl[order[r]], -norm[order[r]]);
        if (fclose(f) != 0) st = engram_fail(ENGRAM_EIO, "lesion_units.csv: write failed");
    }
    /* groups: the k most harmful single lesions, the k largest readouts, random k; for a
     * grid-cell run also the grid units, the same number of random units and the top
     * units by score60 */
    const size_t draws = 20;
    size_t ng = 0, ns = 0;
    int grid = m->kind == ANALYSIS_TASK_GRID;
    if (st == ENGRAM_OK) {
        grp[n_grp++] = (lesion_group){"intact", 0, 1, base, 0, base, base};
        if (grid) st = grid_unit_sets(o->run_dir, m, gset, &ng, sset, &ns, by_score, score);
    }
    if (st == ENGRAM_OK && grid) {
        lesion_fixed(m, rec, "grid_units", gset, ng, &grp[n_grp++]);
        lesion_random(m, rec, ng, draws, o->seed, "lesion-grid", pick, &grp[n_grp]);
        snprintf(grp[n_grp++].name, sizeof grp[0].name, "random_%zu", ng);
        lesion_fixed(m, rec, "top_score60", by_score, ng, &grp[n_grp++]);
        lesion_fixed(m, rec, "grid_untrained_p99", sset, ns, &grp[n_grp++]);
        lesion_random(m, rec, ns, draws, o->seed, "lesion-grid-strict", pick, &grp[n_grp]);
        snprintf(grp[n_grp++].name, sizeof grp[0].name, "random_%zu", ns);
    }
    if (st == ENGRAM_OK) {
        if (grid) lesion_fixed(m, rec, "top_k_score60", by_score, k, &grp[n_grp++]);
        lesion_fixed(m, rec, "top_k_single_lesion", order, k, &grp[n_grp++]);
        lesion_fixed(m, rec, "top_k_readout_norm", by_norm, k, &grp[n_grp++]);
        lesion_random(m, rec, k, draws, o->seed, "lesion", pick, &grp[n_grp]);
        snprintf(grp[n_grp++].name, sizeof grp[0].name, "random_k");
        f = fopen(out_path(o, "lesion_groups.csv"), "w");
        if (!f) st = engram_fail(ENGRAM_EIO, "lesion_groups.csv: cannot write");
        else {
            fprintf(f, "group,k,draws,metric,delta,sd,min,max\n");
            for (size_t i = 0; i < n_grp; i++)
                fprintf(f, "%s,%zu,%zu,%.17g,%.17g,%.17g,%.17g,%.17g\n", grp[i].name, grp[i].k, grp[i].draws,
                        grp[i].metric, grp[i].metric - base, grp[i].sd, grp[i].lo, grp[i].hi);
            if (fclose(f) != 0) st = engram_fail(ENGRAM_EIO, "lesion_groups.csv: write failed");
        }
    }
    if (st == ENGRAM_OK) {
        char sub[200];
        snprintf(sub, sizeof sub, "%zu test trials (--seed %llu); random groups: mean of %zu draws, bar = range",
                 rec->n_trials, (unsigned long long)o->seed, draws);
        /* the grid run's reference: always answering the box centre, on the recorded
         * positions (rec->aux: the initial code (O values), then positions (T + 1, 2)) */
        double centre = NAN;
        if (grid) {
            centre = 0;
            for (size_t q = 0; q < rec->n_trials; q++)
                for (size_t t = 1; t <= rec->t_max; t++) {
                    const double *p = rec->aux + q * rec->n_aux + rec->n_out + t * 2;
                    centre += 100 * hypot(p[0], p[1]) / (double)(rec->n_trials * rec->t_max);
                }
        }
        st = draw_groups(fig_path(o, "lesion_groups.png"), m, grp, n_grp, sub, centre,
                         "always the box centre:");
    }
    /* bar figure: the change of the loss per unit (grid runs: of the decoding error, grid
     * units in orange), sorted */
    char *is_grid = calloc(N, 1);
    if (st == ENGRAM_OK && !is_grid) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
    double g_mean = 0, o_mean = 0;
    for (size_t i = 0; is_grid && i < ng; i++) is_grid[gset[i]] = 1;
    for (size_t i = 0; is_grid && i < N; i++) {
        if (is_grid[i]) g_mean += delta[i] / (double)ng;
        else o_mean += delta[i] / (double)(N - ng);
    }
    const double *bars = grid ? delta : dl;
    if (st == ENGRAM_OK) {
        size_t W = 60 + N * 8 + 20, H = 360;
        if (W < 400) W = 400;
        figure *im = figure_open(fig_path(o, "lesion.png"), W, H);
        if (!im) st = ENGRAM_EIO;
        else {
            const uint8_t black[3] = {0, 0, 0}, bar[3] = {31, 119, 180}, grey[3] = {160, 160, 160},
                          gbar[3] = {255, 127, 14};
            double lo = 0, hi = 0;
            for (size_t i = 0; i < N; i++) { lo = fmin(lo, bars[i]); hi = fmax(hi, bars[i]); }
            if (hi - lo < 1e-9) { lo -= 0.01; hi += 0.01; }
            long y0 = 40, h = (long)H - 80;
            long zero = y0 + (long)(hi / (hi - lo) * (double)h);
            char t[240];
            if (grid)
                snprintf(t, sizeof t, "%s %s: decoding error change (cm) per silenced unit (intact %.3g cm); "
                         "orange: the %zu grid units (mean %+.3g cm, others %+.3g cm)", m->experiment, m->rule,
                         base, ng, g_mean, o_mean);
            else
                snprintf(t, sizeof t, "%s %s: loss change per silenced unit (intact: loss %.3f, %s %.3f)",
                         m->experiment, m->rule, base_loss, m->metric_name ? m->metric_name : "metric", base);
            fig_txt(im, 10, 10, t, black);
            snprintf(t, sizeof t, "%+.3f", hi);
            fig_txt(im, 5, y0, t, black);
            snprintf(t, sizeof t, "%+.3f", lo);
            fig_txt(im, 5, y0 + h - 8, t, black);
            fig_ln(im, 50, zero, (long)W - 10, zero, grey);
            for (size_t r = 0; r < N; r++) {
                double v = bars[order[r]];
                long bh = (long)(fabs(v) / (hi - lo) * (double)h);
                long x = 60 + (long)r * 8;
                const uint8_t *c = is_grid[order[r]] ? gbar : bar;
                if (v < 0) fig_fill(im, x, zero, 6, bh, c);
                else fig_fill(im, x, zero - bh, 6, bh, c);
            }
            fig_txt(im, 60, (long)H - 30, "units ranked by metric change, then loss change (most harmful first)", black);
            st = figure_close(im);
        }
    }
    free(is_grid);
    size_t hurting = 0;
    for (size_t i = 0; i < N; i++) hurting += harm[i] < 0;
    if (st == ENGRAM_OK) {
        printf("{\"analysis\": \"lesion\", \"metric_name\": \"%s\", \"metric\": %.6g, \"worst_unit\": %zu, "
               "\"worst_delta\": %.6g, \"worst_delta_loss\": %.6g, \"loss\": %.6g, \"units_hurting\": %zu, "
               "\"k\": %zu, \"top_k\": %.6g, \"top_k_readout\": %.6g, \"random_k\": %.6g",
               m->metric_name ? m->metric_name : "accuracy", base, order[0], delta[order[0]], dl[order[0]],
               base_loss, hurting, k, grp[n_grp - 3].metric, grp[n_grp - 2].metric, grp[n_grp - 1].metric);
        if (grid)
            printf(", \"grid_units\": %zu, \"grid_lesion\": %.6g, \"random_matched\": %.6g, \"random_matched_min\": %.6g, "
                   "\"random_matched_max\": %.6g, \"top_score60\": %.6g, \"grid_untrained_p99\": %zu, "
                   "\"strict_lesion\": %.6g, \"random_strict\": %.6g, \"random_strict_min\": %.6g, "
                   "\"random_strict_max\": %.6g, \"top_k_score60\": %.6g, \"single_grid_mean\": %.6g, "
                   "\"single_other_mean\": %.6g", ng, grp[1].metric, grp[2].metric,
                   grp[2].lo, grp[2].hi, grp[3].metric, ns, grp[4].metric, grp[5].metric, grp[5].lo, grp[5].hi,
                   grp[6].metric, g_mean, o_mean);
        printf("}\n");
    }
    free(delta); free(norm); free(dl); free(harm); free(score); free(order); free(by_norm); free(pick);
    free(gset); free(sset); free(by_score);
    return st;
}

static int do_perturb(const opts *o, const analysis_model *m, analysis_rec *rec) {
    size_t N = analysis_model_units(m), O = rec->n_out, T = rec->t_max, K = rec->n_trials;
    long u = o->unit;
    if (u < 0) { /* default: the unit with the largest readout weight onto the last output */
        double *w = malloc(N * sizeof *w);
        if (!w) return engram_fail(ENGRAM_ENOMEM, "out of memory");
        analysis_model_readout(m, (long)O - 1, w);
        u = 0;
        for (size_t i = 1; i < N; i++) if (fabs(w[i]) > fabs(w[(size_t)u])) u = (long)i;
        free(w);
    }
    if ((size_t)u >= N) return engram_fail(ENGRAM_EINVAL, "--unit %ld: the network has %zu units", u, N);
    size_t n = K * T * O;
    double *base = malloc(n * sizeof *base), *chg = calloc(T * O, sizeof *chg), *cnt = calloc(T, sizeof *cnt);
    if (!base || !chg || !cnt) { free(base); free(chg); free(cnt); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    analysis_model_simulate(m, NULL, rec);
    double m0 = analysis_metric(m, rec);
    memcpy(base, rec->out, n * sizeof *base);
    analysis_intervention iv = {NULL, u, o->t0, o->t1, (analysis_perturb_mode)o->mode, o->value};
    analysis_model_simulate(m, &iv, rec);
    double m1 = analysis_metric(m, rec);
    for (size_t k = 0; k < K; k++)
        for (size_t t = 0; t < rec->len[k]; t++) {
            cnt[t] += 1;
            for (size_t q = 0; q < O; q++) chg[t * O + q] += rec->out[(k * T + t) * O + q] - base[(k * T + t) * O + q];
        }
    int st = ENGRAM_OK;
    FILE *f = fopen(out_path(o, "perturb.csv"), "w");
    if (!f) st = engram_fail(ENGRAM_EIO, "perturb.csv: cannot write");
    else {
        fprintf(f, "t,trials");
        for (size_t q = 0; q < O; q++) fprintf(f, ",mean_change_out%zu", q);
        fprintf(f, "\n");
        for (size_t t = 0; t < T; t++) {
            fprintf(f, "%zu,%g", t, cnt[t]);
            for (size_t q = 0; q < O; q++) fprintf(f, ",%.17g", cnt[t] > 0 ? chg[t * O + q] / cnt[t] : NAN);
            fprintf(f, "\n");
        }
        if (fclose(f) != 0) st = engram_fail(ENGRAM_EIO, "perturb.csv: write failed");
    }
    /* trial 0: outputs intact and perturbed (the first 6 outputs) */
    size_t T0 = rec->len[0], OP = O < 6 ? O : 6, S = 2 * OP;
    double *x = malloc(T0 * sizeof *x), *y = malloc(S * T0 * sizeof *y);
    char (*names)[64] = malloc(S * sizeof *names);
    const char **np = malloc(S * sizeof *np);
    if (st == ENGRAM_OK && (!x || !y || !names || !np)) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
    if (st == ENGRAM_OK) {
        for (size_t t = 0; t < T0; t++) {
            x[t] = (double)t;
            for (size_t q = 0; q < OP; q++) {
                y[q * T0 + t] = base[t * O + q];
                y[(OP + q) * T0 + t] = rec->out[t * O + q];
            }
        }
        for (size_t s = 0; s < S; s++) {
            snprintf(names[s], 64, "out %zu %s", s % OP, s < OP ? "intact" : "perturbed");
            np[s] = names[s];
        }
        char title[160];
        snprintf(title, sizeof title, "unit %ld %s %g in [%zu, %zu): trial 0", u,
                 o->mode == ANALYSIS_CLAMP ? "clamped to" : "excited by", o->value, o->t0, o->t1);
        image_plot pl = {title, "time step", "output", x, y, NULL, NULL, S, T0, np, 0, 0, 0};
        st = image_write_plot(fig_path(o, "perturb.png"), &pl);
    }
    if (st == ENGRAM_OK)
        printf("{\"analysis\": \"perturb\", \"unit\": %ld, \"mode\": \"%s\", \"value\": %g, \"t0\": %zu, "
               "\"t1\": %zu, \"metric\": %.6g, \"metric_perturbed\": %.6g}\n", u,
               o->mode == ANALYSIS_CLAMP ? "clamp" : "excite", o->value, o->t0, o->t1, m0, m1);
    free(base); free(chg); free(cnt); free(x); free(y); free(names); free(np);
    return st;
}

static int do_tuning(const opts *o, const analysis_model *m, analysis_rec *rec) {
    size_t N = rec->n_units, C = rec->n_cond, T = rec->t_max;
    double *eta = malloc(N * C * sizeof *eta), *sorted = malloc(N * C * sizeof *sorted);
    size_t *order = malloc(N * sizeof *order);
    double *key = malloc(N * sizeof *key);
    int st = eta && sorted && order && key ? ENGRAM_OK : engram_fail(ENGRAM_ENOMEM, "out of memory");
    (void)m;
    if (st == ENGRAM_OK) st = analysis_tuning(rec, eta);
    FILE *f = st == ENGRAM_OK ? fopen(out_path(o, "tuning.csv"), "w") : NULL;
    if (st == ENGRAM_OK && !f) st = engram_fail(ENGRAM_EIO, "tuning.csv: cannot write");
    if (f) {
        fprintf(f, "unit");
        for (size_t c = 0; c < C; c++) fprintf(f, ",eta2_%s", rec->cond_names[c]);
        fprintf(f, ",best\n");
        for (size_t i = 0; i < N; i++) {
            size_t b = 0;
            fprintf(f, "%zu", i);
            for (size_t c = 0; c < C; c++) {
                fprintf(f, ",%.17g", eta[i * C + c]);
                if (eta[i * C + c] > eta[i * C + b]) b = c;
            }
            fprintf(f, ",%s\n", rec->cond_names[b]);
        }
        if (fclose(f) != 0) st = engram_fail(ENGRAM_EIO, "tuning.csv: write failed");
    }
    /* units sorted by their best variable, then by its eta^2 */
    for (size_t i = 0; st == ENGRAM_OK && i < N; i++) {
        size_t b = 0;
        for (size_t c = 1; c < C; c++) if (eta[i * C + c] > eta[i * C + b]) b = c;
        key[i] = (double)b * 10 - (isnan(eta[i * C + b]) ? 0 : eta[i * C + b]);
        order[i] = i;
    }
    sort_delta = key;
    if (st == ENGRAM_OK) qsort(order, N, sizeof *order, cmp_delta);
    for (size_t r = 0; st == ENGRAM_OK && r < N; r++)
        for (size_t c = 0; c < C; c++) sorted[r * C + c] = eta[order[r] * C + c];
    if (st == ENGRAM_OK) {
        char ylab[160] = "";
        for (size_t c = 0; c < C; c++)
            snprintf(ylab + strlen(ylab), sizeof ylab - strlen(ylab), "%s%s", c ? " " : "", rec->cond_names[c]);
        /* drawn (C, N): one row per task variable, units along x */
        double *z = malloc(C * N * sizeof *z);
        if (!z) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
        for (size_t r = 0; z && r < N; r++)
            for (size_t c = 0; c < C; c++) z[c * N + r] = sorted[r * C + c];
        if (z) st = image_write_raster(fig_path(o, "tuning.png"), z, C, N, IMAGE_CMAP_VIRIDIS,
                                       "variance explained (eta^2) per unit, sorted", "unit (sorted)", ylab);
        free(z);
    }
    /* mean activity by the second variable (position), units sorted by their peak */
    if (st == ENGRAM_OK) {
        size_t P = 1, cvar = C > 1 ? 1 : 0;
        for (size_t k = 0; k < rec->n_trials; k++)
            for (size_t t = 0; t < rec->len[k]; t++) {
                long pv = lround(rec->cond[(k * T + t) * C + cvar]);
                if (pv >= 0 && (size_t)pv + 1 > P) P = (size_t)pv + 1;
            }
        double *mp = calloc(N * P, sizeof *mp), *cp = calloc(P, sizeof *cp), *pk = malloc(N * sizeof *pk), *z = malloc(N * P * sizeof *z);
        if (!mp || !cp || !pk || !z) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
        for (size_t k = 0; st == ENGRAM_OK && k < rec->n_trials; k++)
            for (size_t t = 0; t < rec->len[k]; t++) {
                long pv = lround(rec->cond[(k * T + t) * C + cvar]);
                if (pv < 0 || (size_t)pv >= P) continue;
                cp[pv] += 1;
                for (size_t i = 0; i < N; i++) mp[i * P + (size_t)pv] += rec->act[(k * T + t) * N + i];
            }
        size_t used = 0;
        for (size_t p = 0; st == ENGRAM_OK && p < P; p++) if (cp[p] > 0) used = p + 1;
        for (size_t i = 0; st == ENGRAM_OK && i < N; i++) {
            size_t b = 0;
            for (size_t p = 0; p < used; p++) {
                mp[i * P + p] = cp[p] > 0 ? mp[i * P + p] / cp[p] : NAN;
                if (mp[i * P + p] > mp[i * P + b]) b = p;
            }
            pk[i] = (double)b;
            order[i] = i;
        }
        sort_delta = pk;
        if (st == ENGRAM_OK && used > 0) {
            qsort(order, N, sizeof *order, cmp_delta);
            for (size_t r = 0; r < N; r++)
                for (size_t p = 0; p < used; p++) z[r * used + p] = mp[order[r] * P + p];
            char title[96];
            snprintf(title, sizeof title, "mean activity by %s, units sorted by peak", rec->cond_names[cvar]);
            st = image_write_raster(fig_path(o, "tuning_position.png"), z, N, used, IMAGE_CMAP_VIRIDIS, title,
                                    rec->cond_names[cvar], "unit (sorted)");
        }
        free(mp); free(cp); free(pk); free(z);
    }
    if (st == ENGRAM_OK) {
        printf("{\"analysis\": \"tuning\", \"units\": %zu", N);
        double *col = malloc(N * sizeof *col);
        for (size_t c = 0; col && c < C; c++) {
            size_t strong = 0;
            for (size_t i = 0; i < N; i++) { col[i] = eta[i * C + c]; strong += eta[i * C + c] > 0.5; }
            printf(", \"median_eta2_%s\": %.6g, \"units_eta2_over_half_%s\": %zu", rec->cond_names[c],
                   analysis_median(col, N), rec->cond_names[c], strong);
        }
        free(col);
        printf("}\n");
    }
    free(eta); free(sorted); free(order); free(key);
    return st;
}

static int do_fixedpoints(const opts *o, const analysis_model *m, analysis_rec *rec) {
    size_t N = analysis_model_units(m), I = rec->n_in, K = rec->n_trials, T = rec->t_max;
    if (o->input >= (long)I) return engram_fail(ENGRAM_EINVAL, "--input %ld: the network has %zu inputs", o->input, I);
    double *x = calloc(I, sizeof *x), *starts = malloc(o->starts * N * sizeof *starts);
    double *eval = malloc(N * sizeof *eval), *evec = malloc(N * N * sizeof *evec), *mean = malloc(N * sizeof *mean);
    double *pc = malloc(K * T * 3 * sizeof *pc), *pts = NULL, *cv = malloc(K * sizeof *cv);
    analysis_fp *fp = analysis_fp_alloc(o->starts, N);
    int st = x && starts && eval && evec && mean && pc && cv && fp ? ENGRAM_OK : engram_fail(ENGRAM_ENOMEM, "out of memory");
    if (st == ENGRAM_OK && o->input >= 0) x[o->input] = 1;
    if (st == ENGRAM_OK) st = project3(rec, eval, evec, pc, mean);
    if (st == ENGRAM_OK) {
        gsl_rng *r = rng_stream_alloc(o->seed, "fixedpoints", 0);
        for (size_t s = 0; s < o->starts; s++) {
            size_t k = (size_t)gsl_rng_uniform_int(r, K);
            size_t t = (size_t)gsl_rng_uniform_int(r, rec->len[k]);
            memcpy(starts + s * N, rec->act + (k * T + t) * N, N * sizeof(double));
        }
        gsl_rng_free(r);
        analysis_map map = {0, NULL, NULL};
        st = analysis_model_map(m, x, &map);
        analysis_fp_params p = analysis_fp_defaults();
        p.q_tol = o->qtol;
        if (st == ENGRAM_OK) st = analysis_fixedpoints(&map, starts, o->starts, &p, fp);
        analysis_model_map_free(&map);
    }
    size_t counts[3] = {0, 0, 0}, lines = 0;
    if (st == ENGRAM_OK) {
        pts = calloc((fp->n ? fp->n : 1) * 3, sizeof *pts);
        if (!pts) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
    }
    FILE *f = st == ENGRAM_OK ? fopen(out_path(o, "fixedpoints.csv"), "w") : NULL;
    if (st == ENGRAM_OK && !f) st = engram_fail(ENGRAM_EIO, "fixedpoints.csv: cannot write");
    if (f) {
        static const char *const kn[3] = {"stable", "marginal", "unstable"};
        fprintf(f, "point,q,kind,max_abs_eig,n_marginal,pc1,pc2,pc3\n");
        for (size_t k = 0; k < fp->n; k++) {
            for (size_t d = 0; d < 3 && d < N; d++)
                for (size_t j = 0; j < N; j++) pts[k * 3 + d] += (fp->h[k * N + j] - mean[j]) * evec[j * N + d];
            counts[fp->kind[k]]++;
            lines += fp->n_marginal[k] > 0 && fp->kind[k] != ANALYSIS_FP_UNSTABLE;
            fprintf(f, "%zu,%.6g,%s,%.17g,%zu,%.17g,%.17g,%.17g\n", k, fp->q[k], kn[fp->kind[k]],
                    hypot(fp->eig[k * N * 2], fp->eig[k * N * 2 + 1]), fp->n_marginal[k], pts[k * 3],
                    pts[k * 3 + 1], pts[k * 3 + 2]);
        }
        if (fclose(f) != 0) st = engram_fail(ENGRAM_EIO, "fixedpoints.csv: write failed");
    }
    if (st == ENGRAM_OK && fp->n) {
        size_t sh[3] = {fp->n, N, 2};
        st = npy_write(out_path(o, "points.npy"), fp->h, 2, sh);
        if (st == ENGRAM_OK) st = npy_write(out_path(o, "eigenvalues.npy"), fp->eig, 3, sh);
    }
    if (st == ENGRAM_OK) {
        for (size_t k = 0; k < K; k++) cv[k] = rec->cond[k * T * rec->n_cond];
        figure *im = figure_open(fig_path(o, "fixedpoints.png"), 900, 470);
        if (!im) st = ENGRAM_EIO;
        else {
            panel p = {pc, rec->len, K, T, cv, pts, fp->kind, fp->n};
            char t1[160];
            snprintf(t1, sizeof t1, "%s %s: slow points, input %s%ld (green stable, blue marginal, red unstable)",
                     m->experiment, m->rule, o->input < 0 ? "zero" : "one-hot ", o->input < 0 ? 0 : o->input);
            draw_panel(im, 20, 10, 400, 420, &p, 0, 1, t1);
            draw_panel(im, 470, 10, 400, 420, &p, 0, 2, "");
            const uint8_t black[3] = {0, 0, 0};
            char t2[96];
            snprintf(t2, sizeof t2, "trajectories coloured by %s", rec->cond_names[0]);
            fig_txt(im, 20, 450, t2, black);
            st = figure_close(im);
        }
    }
    if (st == ENGRAM_OK)
        printf("{\"analysis\": \"fixedpoints\", \"input\": %ld, \"starts\": %zu, \"points\": %zu, \"stable\": %zu, "
               "\"marginal\": %zu, \"unstable\": %zu, \"with_marginal_modes\": %zu}\n", o->input, o->starts, fp->n,
               counts[0], counts[1], counts[2], lines);
    free(x); free(starts); free(eval); free(evec); free(mean); free(pc); free(pts); free(cv);
    analysis_fp_free(fp);
    return st;
}

/* Features (S, F) of a recording: every step (with lags: h_t, h_{t-1}, .., h_{t-L}, zero
 * before the trial's start), or the per-trial mean (average). Also the task variables
 * per stimulus (S, C) in cond. */
static double *encode_features(const analysis_rec *rec, size_t lags, int average, size_t *s,
                               size_t *f, double **cond) {
    size_t N = rec->n_units, T = rec->t_max, C = rec->n_cond, S = 0;
    size_t F = average ? N : N * (lags + 1);
    for (size_t k = 0; k < rec->n_trials; k++) S += average ? 1 : rec->len[k];
    double *x = calloc(S * F, sizeof *x), *c = calloc(S * C, sizeof *c);
    if (!x || !c) { free(x); free(c); return NULL; }
    size_t i = 0;
    for (size_t k = 0; k < rec->n_trials; k++) {
        if (average) {
            for (size_t t = 0; t < rec->len[k]; t++) {
                for (size_t j = 0; j < N; j++) x[i * F + j] += rec->act[(k * T + t) * N + j] / (double)rec->len[k];
                for (size_t q = 0; q < C; q++) c[i * C + q] += rec->cond[(k * T + t) * C + q] / (double)rec->len[k];
            }
            i++;
            continue;
        }
        for (size_t t = 0; t < rec->len[k]; t++, i++) {
            for (size_t l = 0; l <= lags && l <= t; l++)
                memcpy(x + i * F + l * N, rec->act + (k * T + t - l) * N, N * sizeof(double));
            memcpy(c + i * C, rec->cond + (k * T + t) * C, C * sizeof(double));
        }
    }
    *s = S; *f = F; *cond = c;
    return x;
}

static int do_encode(const opts *o, const analysis_model *m, analysis_rec *rec) {
    if (!o->synthetic && !o->responses)
        return engram_fail(ENGRAM_EINVAL, "encode needs --responses FILE.npy or --synthetic");
    size_t S, F, S2, F2, M = o->targets, R = o->repeats;
    double *cond = NULL, *cond2 = NULL, *y = NULL;
    analysis_model_simulate(m, NULL, rec);
    double *xt = encode_features(rec, o->lags, o->average, &S, &F, &cond);
    analysis_model *un = NULL;
    int su = analysis_model_load(o->run_dir, experiment_find, &un);
    if (su == ENGRAM_OK) su = analysis_model_set_untrained(un);
    if (su != ENGRAM_OK) { analysis_model_free(un); free(xt); free(cond); return su; }
    analysis_model_simulate(un, NULL, rec);
    double *xu = encode_features(rec, o->lags, o->average, &S2, &F2, &cond2);
    analysis_model_free(un);
    free(cond2);
    int st = xt && xu ? ENGRAM_OK : engram_fail(ENGRAM_ENOMEM, "out of memory");
    if (st == ENGRAM_OK && o->responses) {
        size_t nd, sh[NPY_MAX_DIMS];
        st = npy_read(o->responses, &y, &nd, sh);
        if (st == ENGRAM_OK && (nd < 2 || nd > 3 || sh[0] != S)) {
            st = engram_fail(ENGRAM_EINVAL, "%s: shape must be (stimuli, targets[, repeats]) with %zu stimuli "
                             "(the recording's %s with --trials %zu --seed %llu)", o->responses, S,
                             o->average ? "trials" : "steps", o->trials, (unsigned long long)o->seed);
        }
        if (st == ENGRAM_OK) { M = sh[1]; R = nd == 3 ? sh[2] : 1; }
    } else if (st == ENGRAM_OK) {
        y = malloc(S * M * R * sizeof *y);
        gsl_rng *r = rng_stream_alloc(o->seed, "synthetic", 0);
        st = y && r ? analysis_encode_synthetic(cond, S, rec->n_cond, M, R, o->noise, r, y)
                    : engram_fail(ENGRAM_ENOMEM, "out of memory");
        gsl_rng_free(r);
        size_t sh[3] = {S, M, R};
        if (st == ENGRAM_OK) st = npy_write(out_path(o, "synthetic_responses.npy"), y, 3, sh);
    }
    double *rt = malloc(M * sizeof *rt), *ru = malloc(M * sizeof *ru), *c = malloc(M * sizeof *c);
    double *lt = malloc(M * sizeof *lt), *lu = malloc(M * sizeof *lu), *nt = malloc(M * sizeof *nt), *nu = malloc(M * sizeof *nu);
    if (st == ENGRAM_OK && (!rt || !ru || !c || !lt || !lu || !nt || !nu)) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
    analysis_encode_params p = analysis_encode_defaults();
    p.folds = o->folds;
    p.seed = o->seed;
    if (st == ENGRAM_OK) st = analysis_encode(xt, S, F, y, M, R, &p, rt, c, lt);
    if (st == ENGRAM_OK) st = analysis_encode(xu, S, F, y, M, R, &p, ru, c, lu);
    for (size_t j = 0; st == ENGRAM_OK && j < M; j++) { nt[j] = rt[j] / c[j]; nu[j] = ru[j] / c[j]; }
    FILE *f = st == ENGRAM_OK ? fopen(out_path(o, "encode.csv"), "w") : NULL;
    if (st == ENGRAM_OK && !f) st = engram_fail(ENGRAM_EIO, "encode.csv: cannot write");
    if (f) {
        fprintf(f, "target,r_trained,r_untrained,ceiling,score_trained,score_untrained,lambda_trained,lambda_untrained\n");
        for (size_t j = 0; j < M; j++)
            fprintf(f, "%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.6g,%.6g\n", j, rt[j], ru[j], c[j], nt[j], nu[j], lt[j], lu[j]);
        if (fclose(f) != 0) st = engram_fail(ENGRAM_EIO, "encode.csv: write failed");
    }
    if (st == ENGRAM_OK) {
        double *xs = malloc(M * sizeof *xs), *ys = malloc(3 * M * sizeof *ys);
        if (!xs || !ys) st = engram_fail(ENGRAM_ENOMEM, "out of memory");
        for (size_t j = 0; st == ENGRAM_OK && j < M; j++) {
            xs[j] = (double)j;
            ys[j] = rt[j]; ys[M + j] = ru[j]; ys[2 * M + j] = c[j];
        }
        static const char *const names[3] = {"r trained", "r untrained", "noise ceiling"};
        image_plot pl = {"encoding model: held-out r per target", "target", "r", xs, ys, NULL, NULL,
                         3, M, names, 0, 0, 0};
        if (st == ENGRAM_OK) st = image_write_plot(fig_path(o, "encode.png"), &pl);
        free(xs); free(ys);
    }
    if (st == ENGRAM_OK)
        printf("{\"analysis\": \"encode\", \"stimuli\": %zu, \"features\": %zu, \"targets\": %zu, \"repeats\": %zu, "
               "\"r_trained\": %.6g, \"r_untrained\": %.6g, \"ceiling\": %.6g, \"score_trained\": %.6g, "
               "\"score_untrained\": %.6g}\n", S, F, M, R, analysis_median(rt, M), analysis_median(ru, M),
               analysis_median(c, M), analysis_median(nt, M), analysis_median(nu, M));
    free(xt); free(xu); free(cond); free(y); free(rt); free(ru); free(c); free(lt); free(lu); free(nt); free(nu);
    return st;
}

int cmd_analyze(int argc, char **argv) {
    opts o;
    int code = parse_opts(argc, argv, &o);
    if (code) return code;
    static const char *const whats[] = {"record", "pca", "lesion", "perturb", "tuning", "fixedpoints", "encode", NULL};
    size_t w = 0;
    while (whats[w] && strcmp(whats[w], o.what)) w++;
    if (!whats[w]) return fail(2, "unknown analysis '%s' (record, pca, lesion, perturb, tuning, fixedpoints, encode)", o.what);
    analysis_model *m;
    int st = analysis_model_load(o.run_dir, experiment_find, &m);
    if (st != ENGRAM_OK) return fail(2, "%s", engram_error());
    /* an echo-state run has one trial: its own drive */
    analysis_rec *rec = analysis_rec_alloc(m, m->kind == ANALYSIS_TASK_SERIES ? 1 : o.trials);
    if (!rec) { analysis_model_free(m); return fail(1, "out of memory"); }
    if (make_dirs(&o) != 0) {
        analysis_rec_free(rec);
        analysis_model_free(m);
        return fail(1, "%s/analysis/%s: cannot create: %s", o.run_dir, o.what, strerror(errno));
    }
    analysis_trials(m, o.seed, rec);
    analysis_model_simulate(m, NULL, rec);
    switch (w) {
    case 0: st = do_record(&o, m, rec); break;
    case 1: st = do_pca(&o, m, rec); break;
    case 2: st = do_lesion(&o, m, rec); break;
    case 3: st = do_perturb(&o, m, rec); break;
    case 4: st = do_tuning(&o, m, rec); break;
    case 5: st = do_fixedpoints(&o, m, rec); break;
    default: st = do_encode(&o, m, rec); break;
    }
    analysis_rec_free(rec);
    analysis_model_free(m);
    if (st == ENGRAM_OK) return 0;
    return fail(st == ENGRAM_EINVAL || st == ENGRAM_ERANGE ? 2 : 1, "%s", engram_error());
}
