/* main.c: the engram command-line program (SPEC.md, "Command line"). */
#include <dirent.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "cli/cli.h"
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/experiment.h"
#include "engram/image.h"
#include "engram/learner.h"
#include "engram/run.h"

#ifndef ENGRAM_DATADIR
#define ENGRAM_DATADIR "/usr/local/share/engram"
#endif

#define MAX_SETS 128

static const char usage_text[] =
    "usage:\n"
    "  engram run EXPERIMENT [--set SECTION.KEY=VALUE]... [--seed N] [--out DIR] [--threads N]\n"
    "             [--quick] [--quiet] [--force]\n"
    "  engram compare EXPERIMENT --rules RULE[,RULE...] [--seeds K] [--out DIR] [--set ...]\n"
    "             [--quick] [--threads N] [--force]\n"
    "  engram resume DIR [--threads N] [--quiet]\n"
    "  engram render WHAT FILE.npy --out FILE.png\n"
    "  engram gridscore FILE.npy [--out FILE.csv]\n"
    "  engram list [experiments|rules|keys EXPERIMENT]\n"
    "  engram --help | --version\n"
    "EXPERIMENT is a preset name (engram list experiments) or a path to an .ini file.\n";

static const struct { const char *name, *what; } rule_help[] = {
    {"bptt", "rate RNN, exact backpropagation through time"},
    {"fa", "rate RNN, feedback-alignment BPTT (fixed random feedback matrices)"},
    {"rflo", "rate RNN, random-feedback local online learning (Murray 2019)"},
    {"esn", "reservoir: frozen recurrent weights, delta-rule readout"},
    {"r2n2", "R2N2: cache + reversible consolidator trained by forward and reverse replay"},
    {"lstm", "LSTM (gated cells, src/cells/) with a linear readout, exact BPTT"},
    {"gru", "GRU (gated cells, src/cells/) with a linear readout, exact BPTT"},
};

static int fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "engram: <message> (see engram --help)" and returns the usage exit code 2. */
static int fail_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "engram: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see engram --help)\n");
    va_end(ap);
    return 2;
}

static int fail_status(int status) {
    fprintf(stderr, "engram: %s\n", engram_error());
    return engram_exit_code(status);
}

/* ---- options shared by run and compare ---- */

typedef struct options {
    const char *target; /* EXPERIMENT or DIR */
    const char *sets[MAX_SETS];
    size_t n_sets;
    const char *seed;
    const char *out;
    const char *rules;
    long seeds;
    int threads;
    int quick, quiet, force;
} options;

static int parse_long(const char *s, long lo, long hi, long *v) {
    char *end;
    long x = strtol(s, &end, 10);
    if (end == s || *end != '\0' || x < lo || x > hi) return 0;
    *v = x;
    return 1;
}

/* Parses argv[1..] of a sub-command. Returns 0 or an exit code. */
static int parse_options(int argc, char **argv, options *o, int allow_compare) {
    memset(o, 0, sizeof *o);
    o->seeds = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--set")) {
            if (!next) return fail_usage("%s needs SECTION.KEY=VALUE", a);
            if (o->n_sets == MAX_SETS) return fail_usage("too many %s options", a);
            o->sets[o->n_sets++] = next;
            i++;
        } else if (!strncmp(a, "--set=", 6)) {
            if (o->n_sets == MAX_SETS) return fail_usage("too many %s options", "--set");
            o->sets[o->n_sets++] = a + 6;
        } else if (!strcmp(a, "--seed")) {
            long v;
            if (!next || !parse_long(next, 0, 4294967295L, &v))
                return fail_usage("--seed needs an integer in [0, 4294967295], got '%s'", next ? next : "");
            o->seed = next;
            i++;
        } else if (!strcmp(a, "--out")) {
            if (!next) return fail_usage("%s needs a directory", a);
            o->out = next;
            i++;
        } else if (!strcmp(a, "--threads")) {
            long v;
            if (!next || !parse_long(next, 1, 1024, &v))
                return fail_usage("--threads needs an integer in [1, 1024], got '%s'", next ? next : "");
            o->threads = (int)v;
            i++;
        } else if (allow_compare && !strcmp(a, "--rules")) {
            if (!next) return fail_usage("%s needs RULE[,RULE...]", a);
            o->rules = next;
            i++;
        } else if (allow_compare && !strcmp(a, "--seeds")) {
            if (!next || !parse_long(next, 1, 1000, &o->seeds))
                return fail_usage("--seeds needs an integer in [1, 1000], got '%s'", next ? next : "");
            i++;
        } else if (!strcmp(a, "--quick")) {
            o->quick = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = 1;
        } else if (!strcmp(a, "--force")) {
            o->force = 1;
        } else if (a[0] == '-' && a[1]) {
            return fail_usage("unknown option '%s'", a);
        } else if (!o->target) {
            o->target = a;
        } else {
            return fail_usage("unexpected argument '%s'", a);
        }
    }
    return 0;
}

/* ---- presets ---- */

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds the preset file of experiment `name`; returns 1 and fills buf if found. */
static int preset_path(const char *name, char *buf, size_t n) {
    const char *env = getenv("ENGRAM_PRESETS");
    if (env) {
        snprintf(buf, n, "%s/%s.ini", env, name);
        if (file_exists(buf)) return 1;
    }
    snprintf(buf, n, "experiments/%s.ini", name);
    if (file_exists(buf)) return 1;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf(buf, n, "%s/../experiments/%s.ini", exe, name) < (int)n && file_exists(buf))
                return 1;
            if (snprintf(buf, n, "%s/../share/engram/experiments/%s.ini", exe, name) < (int)n &&
                file_exists(buf))
                return 1;
        }
    }
    snprintf(buf, n, "%s/experiments/%s.ini", ENGRAM_DATADIR, name);
    return file_exists(buf);
}

static int peek_handler(void *user, const char *section, const char *name, const char *value) {
    if (!strcmp(section, "run") && !strcmp(name, "experiment"))
        snprintf((char *)user, 64, "%s", value);
    return 1;
}

/* Resolves EXPERIMENT (preset name or .ini path) into the experiment and its file. */
static int resolve_experiment(const char *target, const experiment **exp, char *file, size_t n) {
    int is_path = strchr(target, '/') != NULL || (strlen(target) > 4 && !strcmp(target + strlen(target) - 4, ".ini"));
    if (is_path) {
        if (!file_exists(target))
            return engram_fail(ENGRAM_EINVAL, "configuration file %s not found", target);
        char name[64] = "";
        FILE *f = fopen(target, "r");
        if (!f) return engram_fail(ENGRAM_EINVAL, "cannot open configuration file %s", target);
        int line = ini_parse_file(f, peek_handler, name);
        fclose(f);
        if (line != 0)
            return engram_fail(ENGRAM_EINVAL, "%s:%d: syntax error (expected [section] or key = value)", target, line);
        if (!name[0])
            return engram_fail(ENGRAM_EINVAL, "%s: missing 'experiment = NAME' in its [run] section", target);
        *exp = experiment_find(name);
        if (!*exp)
            return engram_fail(ENGRAM_EINVAL, "%s: unknown experiment '%s' (see engram list experiments)", target, name);
        snprintf(file, n, "%s", target);
        return ENGRAM_OK;
    }
    /* A preset name: experiments/NAME.ini, whose [run] experiment names the experiment
     * (a preset such as anbn-long configures the experiment anbn). */
    char preset[1100];
    if (preset_path(target, preset, sizeof preset)) return resolve_experiment(preset, exp, file, n);
    *exp = experiment_find(target);
    if (!*exp)
        return engram_fail(ENGRAM_EINVAL, "unknown experiment '%s' (see engram list experiments, or give a path to an .ini file)", target);
    return engram_fail(ENGRAM_EINVAL, "preset file %s.ini not found (looked in ./experiments, next to the program and in %s; set ENGRAM_PRESETS)", target, ENGRAM_DATADIR);
}

static config *experiment_config(const experiment *e) {
    const cfg_key *tables[32];
    size_t n = 0;
    tables[n++] = config_common_keys;
    for (size_t i = 0; e->tables && e->tables[i] && n < 31; i++) tables[n++] = e->tables[i];
    tables[n] = NULL;
    return config_alloc(tables);
}

static int rule_accepted(const experiment *e, const char *rule) {
    if (!e->rules) return 0;
    for (size_t i = 0; e->rules[i]; i++)
        if (!strcmp(e->rules[i], rule)) return 1;
    return 0;
}

static void rules_text(const experiment *e, char *buf, size_t n) {
    buf[0] = '\0';
    for (size_t i = 0; e->rules && e->rules[i]; i++)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", i ? ", " : "", e->rules[i]);
}

/* Builds the resolved configuration: defaults < file < --quick < --set < --seed. */
static int build_config(const experiment *e, const char *file, const options *o, config **out) {
    config *c = experiment_config(e);
    if (!c) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    int st = config_load(c, file);
    if (st == ENGRAM_OK && strcmp(config_str(c, "run.experiment"), e->name) != 0)
        st = engram_fail(ENGRAM_EINVAL, "%s: run.experiment is '%s', expected '%s'", file,
                         config_str(c, "run.experiment"), e->name);
    if (st == ENGRAM_OK && o->quick) {
        for (size_t i = 0; e->quick && e->quick[i] && st == ENGRAM_OK; i++)
            st = config_set(c, e->quick[i], "--quick");
        if (st == ENGRAM_OK) st = config_set(c, "run.quick=true", "--quick");
    }
    for (size_t i = 0; i < o->n_sets && st == ENGRAM_OK; i++) st = config_set(c, o->sets[i], "--set");
    if (st == ENGRAM_OK && o->seed) st = config_set_value(c, "run.seed", o->seed, "--seed");
    if (st == ENGRAM_OK) st = config_set_value(c, "run.version", ENGRAM_VERSION, "engram");
    if (st == ENGRAM_OK && config_has(c, "train.rule") && e->rules &&
        !rule_accepted(e, config_str(c, "train.rule"))) {
        char rl[256];
        rules_text(e, rl, sizeof rl);
        st = engram_fail(ENGRAM_EINVAL, "experiment %s does not accept rule '%s' (accepted: %s)",
                         e->name, config_str(c, "train.rule"), rl);
    }
    if (st != ENGRAM_OK) { config_free(c); return st; }
    *out = c;
    return ENGRAM_OK;
}

static int default_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static void set_threads(int n) {
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* Runs experiment e with configuration c in ctx->out_dir (already prepared). Writes
 * config.ini (unless resuming) and summary.json. Returns the run's status. */
static int execute(const experiment *e, config *c, run_ctx *ctx, int print_summary) {
    ctx->cfg = c;
    ctx->experiment = e->name;
    ctx->rule = config_has(c, "train.rule") ? config_str(c, "train.rule") : "";
    ctx->seed = (uint64_t)config_int(c, "run.seed");
    ctx->t_start = engram_wall_time();
    ctx->last_progress = 0;
    int st = ENGRAM_OK;
    if (!ctx->resuming) st = config_write(c, run_path(ctx, "config.ini"));
    if (st == ENGRAM_OK) st = e->run(ctx);
    run_progress_done(ctx);
    if (ctx->metrics) { fclose(ctx->metrics); ctx->metrics = NULL; }
    if (st == ENGRAM_OK || st == ENGRAM_EDIVERGED) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", engram_error());
        int ws = run_summary_write(ctx, st == ENGRAM_OK ? "ok" : "diverged", print_summary);
        if (ws != ENGRAM_OK) return ws;
        if (st == ENGRAM_EDIVERGED) engram_fail(st, "%s", msg);
    }
    return st;
}

static void default_out(const char *name, char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(buf, n, "runs/%s-%s", name, stamp);
}

static int cmd_run(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o, 0);
    if (rc) return rc;
    if (!o.target) return fail_usage("%s: missing EXPERIMENT", "run");
    const experiment *e;
    char file[1100];
    int st = resolve_experiment(o.target, &e, file, sizeof file);
    if (st != ENGRAM_OK) return fail_status(st);
    config *c;
    st = build_config(e, file, &o, &c);
    if (st != ENGRAM_OK) return fail_status(st);
    run_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) { config_free(c); return fail_status(engram_fail(ENGRAM_ENOMEM, "out of memory")); }
    if (o.out) snprintf(ctx->out_dir, sizeof ctx->out_dir, "%s", o.out);
    else default_out(e->name, ctx->out_dir, sizeof ctx->out_dir);
    st = run_dir_prepare(ctx->out_dir, o.force);
    if (st == ENGRAM_OK) {
        set_threads(o.threads);
        ctx->threads = o.threads ? o.threads : default_threads();
        ctx->quiet = o.quiet;
        st = execute(e, c, ctx, 1);
    }
    free(ctx);
    config_free(c);
    return st == ENGRAM_OK ? 0 : fail_status(st);
}

static int cmd_resume(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o, 0);
    if (rc) return rc;
    if (!o.target) return fail_usage("%s: missing DIR", "resume");
    if (o.n_sets || o.seed || o.out || o.quick || o.force)
        return fail_usage("%s takes only DIR, --threads and --quiet", "resume");
    char file[1100], ck[1100];
    snprintf(file, sizeof file, "%s/config.ini", o.target);
    snprintf(ck, sizeof ck, "%s/checkpoint.bin", o.target);
    if (!file_exists(file)) {
        fprintf(stderr, "engram: %s is not a run directory (no config.ini)\n", o.target);
        return 2;
    }
    if (!file_exists(ck)) {
        fprintf(stderr, "engram: %s has no checkpoint.bin to resume from (set run.checkpoint_every)\n", o.target);
        return 2;
    }
    const experiment *e;
    char resolved[1100];
    int st = resolve_experiment(file, &e, resolved, sizeof resolved);
    if (st != ENGRAM_OK) return fail_status(st);
    options none;
    memset(&none, 0, sizeof none);
    config *c;
    st = build_config(e, resolved, &none, &c);
    if (st != ENGRAM_OK) return fail_status(st);
    run_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) { config_free(c); return fail_status(engram_fail(ENGRAM_ENOMEM, "out of memory")); }
    snprintf(ctx->out_dir, sizeof ctx->out_dir, "%s", o.target);
    set_threads(o.threads);
    ctx->threads = o.threads ? o.threads : default_threads();
    ctx->quiet = o.quiet;
    ctx->resuming = 1;
    st = execute(e, c, ctx, 1);
    free(ctx);
    config_free(c);
    return st == ENGRAM_OK ? 0 : fail_status(st);
}

/* ---- compare ---- */

typedef struct cmp_run {
    const char *rule;
    long seed;
    int status;
    char metric[64], steps[64], err[256];
    double wall;
    char dir[1100];
} cmp_run;

/* Reads columns `col` and "step" of a metrics.csv into steps and vals (at most max
 * rows); returns the number of rows read, 0 if the file or the column is missing. */
static size_t read_curve(const char *path, const char *col, double *steps, double *vals, size_t max) {
    char **names;
    double *data;
    size_t C, R;
    if (run_csv_read(path, &names, &C, &data, &R) != ENGRAM_OK) return 0;
    size_t n = 0;
    long ci = -1, si = -1;
    for (size_t k = 0; k < C; k++) {
        if (!strcmp(names[k], col)) ci = (long)k;
        if (!strcmp(names[k], "step")) si = (long)k;
    }
    if (ci >= 0 && si >= 0)
        for (; n < R && n < max; n++) {
            steps[n] = data[n * C + (size_t)si];
            vals[n] = data[n * C + (size_t)ci];
        }
    run_csv_free(names, C, data);
    return n;
}

static int compare_plot(const experiment *e, cmp_run *runs, size_t n_runs, char **rules,
                        size_t n_rules, const char *out_dir) {
    const char *col = e->curve_column ? e->curve_column : e->main_metric;
    enum { MAXP = 4096 };
    double *xs = calloc(MAXP, sizeof *xs), *tmp_s = calloc(MAXP, sizeof *tmp_s),
           *tmp_v = calloc(MAXP, sizeof *tmp_v);
    double *y = calloc(n_rules * MAXP, sizeof *y), *lo = calloc(n_rules * MAXP, sizeof *lo),
           *hi = calloc(n_rules * MAXP, sizeof *hi), *cnt = calloc(n_rules * MAXP, sizeof *cnt);
    int st = ENGRAM_OK;
    if (!xs || !tmp_s || !tmp_v || !y || !lo || !hi || !cnt) { st = engram_fail(ENGRAM_ENOMEM, "out of memory"); goto out; }
    size_t n_points = 0;
    for (size_t i = 0; i < n_rules * MAXP; i++) { lo[i] = INFINITY; hi[i] = -INFINITY; }
    for (size_t r = 0; r < n_runs; r++) {
        size_t ri = 0;
        while (ri < n_rules && strcmp(rules[ri], runs[r].rule)) ri++;
        char path[1200];
        snprintf(path, sizeof path, "%s/metrics.csv", runs[r].dir);
        size_t n = read_curve(path, col, tmp_s, tmp_v, MAXP);
        for (size_t p = 0; p < n; p++) {
            if (p >= n_points) { xs[p] = tmp_s[p]; n_points = p + 1; }
            if (!isfinite(tmp_v[p])) continue;
            size_t k = ri * MAXP + p;
            y[k] += tmp_v[p];
            cnt[k] += 1;
            if (tmp_v[p] < lo[k]) lo[k] = tmp_v[p];
            if (tmp_v[p] > hi[k]) hi[k] = tmp_v[p];
        }
    }
    if (n_points == 0) goto out;
    double *Y = calloc(n_rules * n_points, sizeof *Y), *L = calloc(n_rules * n_points, sizeof *L),
           *H = calloc(n_rules * n_points, sizeof *H);
    if (!Y || !L || !H) { free(Y); free(L); free(H); st = engram_fail(ENGRAM_ENOMEM, "out of memory"); goto out; }
    for (size_t r = 0; r < n_rules; r++)
        for (size_t p = 0; p < n_points; p++) {
            size_t k = r * MAXP + p, j = r * n_points + p;
            Y[j] = cnt[k] > 0 ? y[k] / cnt[k] : NAN;
            L[j] = cnt[k] > 0 ? lo[k] : NAN;
            H[j] = cnt[k] > 0 ? hi[k] : NAN;
        }
    char title[160], path[1200];
    snprintf(title, sizeof title, "%s: %s (mean, min-max over seeds)", e->name, col);
    image_plot p = {title, "update", col, xs, Y, L, H, n_rules, n_points,
                    (const char *const *)rules, 0, 0, 0};
    snprintf(path, sizeof path, "%s/comparison.png", out_dir);
    st = image_write_plot(path, &p);
    free(Y); free(L); free(H);
out:
    free(xs); free(tmp_s); free(tmp_v); free(y); free(lo); free(hi); free(cnt);
    return st;
}

static int cmd_compare(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o, 1);
    if (rc) return rc;
    if (!o.target) return fail_usage("%s: missing EXPERIMENT", "compare");
    if (!o.rules) return fail_usage("%s: missing --rules RULE[,RULE...]", "compare");
    if (o.seed) return fail_usage("%s uses seeds 1..K (--seeds K), not --seed", "compare");
    const experiment *e;
    char file[1100];
    int st = resolve_experiment(o.target, &e, file, sizeof file);
    if (st != ENGRAM_OK) return fail_status(st);
    if (!e->rules) {
        fprintf(stderr, "engram: experiment %s has no learning-rule choice to compare\n", e->name);
        return 2;
    }
    char rules_buf[512];
    snprintf(rules_buf, sizeof rules_buf, "%s", o.rules);
    char *rules[32];
    size_t n_rules = 0;
    for (char *tok = strtok(rules_buf, ","); tok; tok = strtok(NULL, ",")) {
        if (n_rules == 32) return fail_usage("too many rules in '%s'", o.rules);
        int known = 0;
        for (size_t i = 0; i < sizeof rule_help / sizeof rule_help[0]; i++) known |= !strcmp(rule_help[i].name, tok);
        if (!known) {
            fprintf(stderr, "engram: unknown rule '%s' (rules: bptt, fa, rflo, esn, r2n2, lstm, gru)\n", tok);
            return 2;
        }
        if (!rule_accepted(e, tok)) {
            char rl[256];
            rules_text(e, rl, sizeof rl);
            fprintf(stderr, "engram: experiment %s does not accept rule '%s' (accepted: %s)\n", e->name, tok, rl);
            return 2;
        }
        rules[n_rules++] = tok;
    }
    if (n_rules == 0) return fail_usage("%s: empty --rules", "compare");
    /* Validate the configuration once before starting anything. */
    config *c0;
    st = build_config(e, file, &o, &c0);
    if (st != ENGRAM_OK) return fail_status(st);
    config_free(c0);
    char out[1024];
    if (o.out) snprintf(out, sizeof out, "%s", o.out);
    else default_out(e->name, out, sizeof out);
    char csv[1200];
    snprintf(csv, sizeof csv, "%s/comparison.csv", out);
    if (file_exists(csv) && !o.force) {
        fprintf(stderr, "engram: %s already holds a comparison (use --force to overwrite)\n", out);
        return 2;
    }
    st = run_dir_prepare(out, 1);
    if (st != ENGRAM_OK) return fail_status(st);
    size_t n_runs = n_rules * (size_t)o.seeds;
    cmp_run *runs = calloc(n_runs, sizeof *runs);
    if (!runs) return fail_status(engram_fail(ENGRAM_ENOMEM, "out of memory"));
    for (size_t i = 0; i < n_runs; i++) {
        runs[i].rule = rules[i / (size_t)o.seeds];
        runs[i].seed = (long)(i % (size_t)o.seeds) + 1;
        snprintf(runs[i].dir, sizeof runs[i].dir, "%s/%s-seed%ld", out, runs[i].rule, runs[i].seed);
    }
    int threads = o.threads ? o.threads : default_threads();
    if (!o.quiet)
        fprintf(stderr, "compare %s: %zu runs (%zu rules x %ld seeds) on %d threads\n", e->name,
                n_runs, n_rules, o.seeds, threads);
    double t0 = engram_wall_time();
    /* Runs are independent; each one's results do not depend on the thread count, so
     * they run in parallel (a run's own parallel regions are then single-threaded). */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t i = 0; i < n_runs; i++) {
        cmp_run *r = &runs[i];
        options ro = o;
        char setrule[64], setseed[64];
        snprintf(setrule, sizeof setrule, "train.rule=%s", r->rule);
        snprintf(setseed, sizeof setseed, "%ld", r->seed);
        if (ro.n_sets < MAX_SETS) ro.sets[ro.n_sets++] = setrule;
        ro.seed = setseed;
        config *c = NULL;
        run_ctx *ctx = calloc(1, sizeof *ctx);
        int s = ctx ? build_config(e, file, &ro, &c) : engram_fail(ENGRAM_ENOMEM, "out of memory");
        if (s == ENGRAM_OK) {
            snprintf(ctx->out_dir, sizeof ctx->out_dir, "%s", r->dir);
            s = run_dir_prepare(ctx->out_dir, 1);
        }
        if (s == ENGRAM_OK) {
            ctx->threads = 1;
            ctx->quiet = 1;
            s = execute(e, c, ctx, 0);
        }
        r->status = s;
        if (s != ENGRAM_OK) snprintf(r->err, sizeof r->err, "%s", engram_error());
        if (ctx && (s == ENGRAM_OK || s == ENGRAM_EDIVERGED)) {
            const char *m = run_summary_get(ctx, e->main_metric);
            const char *sc = run_summary_get(ctx, "steps_to_criterion");
            snprintf(r->metric, sizeof r->metric, "%s", m ? m : "");
            snprintf(r->steps, sizeof r->steps, "%s", sc ? sc : "");
            r->wall = run_wall(ctx);
        }
        if (!o.quiet) {
#pragma omp critical(compare_progress)
            fprintf(stderr, "  %-5s seed %ld: %s %s=%s (%.1fs)\n", r->rule, r->seed,
                    s == ENGRAM_OK ? "ok" : s == ENGRAM_EDIVERGED ? "diverged" : "failed",
                    e->main_metric, r->metric[0] ? r->metric : "-", r->wall);
        }
        config_free(c);
        free(ctx);
    }
    FILE *f = fopen(csv, "w");
    if (!f) { free(runs); return fail_status(engram_fail(ENGRAM_EIO, "cannot write %s", csv)); }
    fprintf(f, "rule,seed,status,%s,steps_to_criterion,wall_s\n", e->main_metric);
    printf("%-6s %5s %-9s %14s %19s %9s\n", "rule", "seed", "status", e->main_metric, "steps_to_criterion", "wall_s");
    int any_failed = 0;
    for (size_t i = 0; i < n_runs; i++) {
        cmp_run *r = &runs[i];
        const char *status = r->status == ENGRAM_OK ? "ok" : r->status == ENGRAM_EDIVERGED ? "diverged" : "failed";
        if (r->status != ENGRAM_OK && r->status != ENGRAM_EDIVERGED) any_failed = 1;
        const char *m = r->metric[0] && strcmp(r->metric, "null") ? r->metric : "nan";
        const char *sc = r->steps[0] ? r->steps : "-1";
        fprintf(f, "%s,%ld,%s,%s,%s,%.3f\n", r->rule, r->seed, status, m, sc, r->wall);
        printf("%-6s %5ld %-9s %14s %19s %9.2f\n", r->rule, r->seed, status, m, sc, r->wall);
        if (r->status != ENGRAM_OK) fprintf(stderr, "  %s seed %ld: %s\n", r->rule, r->seed, r->err);
    }
    fclose(f);
    st = compare_plot(e, runs, n_runs, rules, n_rules, out);
    if (st != ENGRAM_OK) fprintf(stderr, "engram: %s\n", engram_error());
    /* Last line: per-rule mean of the main metric as JSON. */
    printf("{\"experiment\": \"%s\", \"seeds\": %ld, \"wall_s\": %.3f, \"mean_%s\": {", e->name,
           o.seeds, engram_wall_time() - t0, e->main_metric);
    for (size_t k = 0; k < n_rules; k++) {
        double s = 0;
        int n = 0;
        for (size_t i = 0; i < n_runs; i++)
            if (runs[i].rule == rules[k] && runs[i].status == ENGRAM_OK && runs[i].metric[0] &&
                strcmp(runs[i].metric, "null")) { s += strtod(runs[i].metric, NULL); n++; }
        if (n) printf("%s\"%s\": %.6g", k ? ", " : "", rules[k], s / n);
        else printf("%s\"%s\": null", k ? ", " : "", rules[k]);
    }
    printf("}}\n");
    free(runs);
    return any_failed ? 1 : 0;
}

/* ---- list ---- */

/* Prints the preset files beside the registered experiments' presets whose names are
 * not experiment names (for example anbn-long, a preset of anbn). */
static void list_extra_presets(void) {
    char path[1100];
    if (!experiment_registry[0] || !preset_path(experiment_registry[0]->name, path, sizeof path)) return;
    char *slash = strrchr(path, '/');
    if (!slash) return;
    *slash = '\0';
    DIR *d = opendir(path);
    if (!d) return;
    char names[64][64];
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d)) && n < 64;) {
        size_t len = strlen(de->d_name);
        if (len < 5 || len >= 64 || strcmp(de->d_name + len - 4, ".ini")) continue;
        snprintf(names[n], sizeof names[n], "%.*s", (int)(len - 4), de->d_name);
        if (!experiment_find(names[n])) n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (size_t i = 0; i < n; i++) {
        const experiment *e = NULL;
        char file[1100];
        if (resolve_experiment(names[i], &e, file, sizeof file) == ENGRAM_OK)
            printf("%-16s preset of %s (%s)\n", names[i], e->name, file);
    }
}

static int cmd_list(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "experiments";
    if (!strcmp(what, "experiments")) {
        for (size_t i = 0; experiment_registry[i]; i++) {
            char rl[256];
            rules_text(experiment_registry[i], rl, sizeof rl);
            printf("%-16s %s%s%s%s\n", experiment_registry[i]->name, experiment_registry[i]->description,
                   rl[0] ? " [rules: " : "", rl, rl[0] ? "]" : "");
        }
        list_extra_presets();
        return 0;
    }
    if (!strcmp(what, "rules")) {
        for (size_t i = 0; i < sizeof rule_help / sizeof rule_help[0]; i++)
            printf("%-6s %s%s\n", rule_help[i].name, rule_help[i].what,
                   learner_type_find(rule_help[i].name) ? "" : " (not available in this build)");
        return 0;
    }
    if (!strcmp(what, "keys")) {
        if (argc < 3) return fail_usage("%s: missing EXPERIMENT", "list keys");
        const experiment *e = NULL;
        char file[1100];
        int st = resolve_experiment(argv[2], &e, file, sizeof file);
        if (!e) return fail_status(st); /* a missing preset file still lists the defaults */
        config *c = experiment_config(e);
        if (!c) return fail_status(engram_fail(ENGRAM_ENOMEM, "out of memory"));
        if (st == ENGRAM_OK && config_load(c, file) != ENGRAM_OK) {
            config_free(c);
            return fail_status(ENGRAM_EINVAL);
        }
        printf("%-28s %-6s %-12s %-22s %s\n", "key", "type", "value", "range", "description");
        config_print_keys(c, stdout);
        config_free(c);
        return 0;
    }
    return fail_usage("list: unknown '%s' (experiments, rules or keys EXPERIMENT)", what);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("engram %s\n", ENGRAM_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "resume")) return cmd_resume(argc - 1, argv + 1);
    if (!strcmp(cmd, "list")) return cmd_list(argc - 1, argv + 1);
    if (!strcmp(cmd, "render")) return cmd_render(argc - 1, argv + 1);
    if (!strcmp(cmd, "gridscore")) return cmd_gridscore(argc - 1, argv + 1);
    return fail_usage("unknown command '%s'", cmd);
}
