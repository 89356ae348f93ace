/* main.c: the engram command-line program (README, "Running experiments"). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
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
#include "engram/figure.h"
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
    "  engram compare EXPERIMENT --rules RULE[,RULE...] [--seeds K|A-B|S,S,...] [--out DIR]\n"
    "             [--set ...] [--quick] [--threads N] [--force]\n"
    "  engram sweep SPEC.ini|DIR [--local [--jobs N]|--slurm [--wait]|--print-tasks] [--threads N]\n"
    "             [--out DIR] [--quick] [--force]\n"
    "  engram collect DIR [--metric NAME] [--key SECTION.KEY] [--out FILE.csv] [--plot FILE.png]\n"
    "             [--format png,svg]\n"
    "  engram resume DIR [--set KEY=VALUE]... [--threads N] [--quiet]\n"
    "  engram config EXPERIMENT [--quick] [--set SECTION.KEY=VALUE]... [--seed N]\n"
    "  engram render WHAT FILE.npy --out FILE.png [--format png,svg]\n"
    "  engram gridscore FILE.npy [--out FILE.csv]\n"
    "  engram analyze RUN_DIR record|pca|lesion|perturb|tuning|fixedpoints|encode [options]\n"
    "  engram list [experiments|rules|keys EXPERIMENT]\n"
    "  engram --help | --version     (engram COMMAND --help for one command)\n"
    "EXPERIMENT is a preset name (engram list experiments) or a path to an .ini file.\n";

static const char run_help[] =
    "usage: engram run EXPERIMENT [options]\n"
    "Runs one experiment and writes its results into a run directory.\n"
    "  EXPERIMENT            preset name (engram list experiments) or a path to an .ini file,\n"
    "                        such as the config.ini of an earlier run (repeats that run)\n"
    "  --set SECTION.KEY=V   override one key (engram list keys EXPERIMENT); repeatable\n"
    "  --seed N              run.seed (0..4294967295)\n"
    "  --quick               demo-sized run (engram config EXPERIMENT --quick shows it)\n"
    "  --out DIR             run directory (default runs/EXPERIMENT-RULE-seedN-TIME)\n"
    "  --force               reuse a directory holding a run: engram's files in it are deleted\n"
    "  --threads N           OpenMP threads (results do not depend on N)\n"
    "  --quiet, -q           no progress lines on stderr\n"
    "Prints the run directory on stderr at the start and 'wrote DIR' at the end (not with\n"
    "--quiet); the last stdout line is summary.json. Exit 0 ok, 1 run failed or diverged,\n"
    "2 bad usage or configuration, 130/143 interrupted by SIGINT/SIGTERM.\n";

static const char compare_help[] =
    "usage: engram compare EXPERIMENT --rules RULE[,RULE...] [options]\n"
    "Runs EXPERIMENT once per rule and seed into DIR/RULE-seedN (a sweep: re-running it\n"
    "runs only the missing or failed runs), writes\n"
    "DIR/comparison.csv and DIR/comparison.png and prints a table.\n"
    "  --rules R1,R2,...     learning rules to compare (engram list rules)\n"
    "  --seeds K|A-B|S,S,..  seeds 1..K, A..B or a list, per rule (default 3)\n"
    "  --set SECTION.KEY=V   override one key for every run; repeatable\n"
    "  --quick               demo-sized runs\n"
    "  --out DIR             output directory (default runs/EXPERIMENT-compare-TIME)\n"
    "  --force               reuse a directory holding a comparison\n"
    "  --threads N           runs in parallel on N threads\n"
    "  --quiet, -q           no progress lines\n";

static const char resume_help[] =
    "usage: engram resume DIR [--set KEY=VALUE]... [--threads N] [--quiet]\n"
    "Continues the run in DIR from DIR/checkpoint.bin (written every run.checkpoint_every\n"
    "updates, and when a run is interrupted by SIGINT/SIGTERM); the finished files equal\n"
    "those of an uninterrupted run. --set may change only the length of training\n"
    "(train.steps, train.max_epochs), to extend a finished or interrupted run; the new\n"
    "value is written to DIR/config.ini.\n";

static const char config_help[] =
    "usage: engram config EXPERIMENT [--quick] [--set SECTION.KEY=VALUE]... [--seed N]\n"
    "Prints on stdout the resolved configuration (INI) that engram run would use and\n"
    "write as config.ini.\n";

static const char list_help[] =
    "usage: engram list [experiments | rules | keys EXPERIMENT]\n"
    "  experiments           every experiment and preset (default)\n"
    "  rules                 every learning rule\n"
    "  keys EXPERIMENT       every configuration key: name, type, value, range, help\n";

/* Keys the engine owns: set from the preset file, --quick or by engram itself, never
 * by --set (a run recording them otherwise could not be repeated). */
static const char *const owned_keys[] = {"run.experiment", "run.version", "run.quick", NULL};

/* Keys a resume may change: the length of training. They are left out of the
 * configuration hash a checkpoint carries. */
static const char *const resumable_keys[] = {"train.steps", "train.max_epochs", NULL};

static int key_in(const char *const *list, const char *assignment) {
    size_t n = strcspn(assignment, "=");
    while (n && assignment[n - 1] == ' ') n--;
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == n && !strncmp(list[i], assignment, n)) return 1;
    return 0;
}

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
    const char *seeds; /* K, A-B or a list (sweep_parse_seeds) */
    int threads;
    int quick, quiet, force, help;
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
    o->seeds = "3";
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
            if (run_dir_check(next) != ENGRAM_OK) return fail_usage("--out: %s", engram_error());
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
            if (!next) return fail_usage("%s needs K, A-B or a list S,S,...", a);
            o->seeds = next;
            i++;
        } else if (!strcmp(a, "--quick")) {
            o->quick = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = 1;
        } else if (!strcmp(a, "--force")) {
            o->force = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = 1;
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
    char preset[PATH_MAX];
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

/* A --quick entry "KEY=VALUE ? SECTION.KEY=VALUE" applies only when the text key KEY
 * (an enum or string) holds VALUE in the configuration read so far, so one experiment
 * can shrink each of its presets differently; a plain entry always applies. */
static int quick_applies(const config *c, const char *entry) {
    const char *q = strstr(entry, " ? ");
    if (!q) return 1;
    const char *eq = memchr(entry, '=', (size_t)(q - entry));
    char key[128];
    if (!eq || (size_t)(eq - entry) >= sizeof key) return 0;
    memcpy(key, entry, (size_t)(eq - entry));
    key[eq - entry] = '\0';
    if (!config_has(c, key)) return 0;
    const char *v = config_str(c, key);
    size_t n = (size_t)(q - eq - 1);
    return v && strlen(v) == n && strncmp(v, eq + 1, n) == 0;
}

/* The assignment part of a --quick entry (after " ? " when conditional). */
static const char *quick_assignment(const char *entry) {
    const char *q = strstr(entry, " ? ");
    return q ? q + 3 : entry;
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
            if (quick_applies(c, e->quick[i])) st = config_set(c, quick_assignment(e->quick[i]), "--quick");
        if (st == ENGRAM_OK) st = config_set(c, "run.quick=true", "--quick");
    }
    for (size_t i = 0; i < o->n_sets && st == ENGRAM_OK; i++) {
        if (key_in(owned_keys, o->sets[i]))
            st = engram_fail(ENGRAM_EINVAL, "--set '%s': this key is set by engram (from the "
                             "preset or .ini file, --quick or the version), not by --set", o->sets[i]);
        else
            st = config_set(c, o->sets[i], "--set");
    }
    /* r2n2 reads r2n2.lr when > 0: a --set train.lr would be silently ignored. */
    if (st == ENGRAM_OK && config_has(c, "r2n2.lr") && config_real(c, "r2n2.lr") > 0 &&
        !strcmp(config_str(c, "train.rule"), "r2n2"))
        for (size_t i = 0; i < o->n_sets && st == ENGRAM_OK; i++) {
            const char *a = o->sets[i];
            size_t k = strcspn(a, "= \t");
            if (k == 8 && !strncmp(a, "train.lr", 8))
                st = engram_fail(ENGRAM_EINVAL, "r2n2: two learning rates given (r2n2.lr = %g, "
                                 "--set %s); r2n2 reads one: set r2n2.lr=0 to use train.lr",
                                 config_real(c, "r2n2.lr"), a);
        }
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

static int default_threads(void) { return cli_default_threads(); }

/* Sets the run's thread count: n, or the default (which honours SLURM_CPUS_PER_TASK). */
static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n > 0 ? n : default_threads());
#else
    (void)n;
#endif
}

/* Runs experiment e with configuration c in ctx->out_dir (already prepared and
 * locked). Writes config.ini (unless resuming) and summary.json, and releases the lock.
 * Returns the run's status. */
static int execute(const experiment *e, config *c, run_ctx *ctx, int print_summary) {
    ctx->cfg = c;
    ctx->experiment = e->name;
    ctx->rule = config_has(c, "train.rule") ? config_str(c, "train.rule") : "";
    ctx->seed = (uint64_t)config_int(c, "run.seed");
    ctx->config_hash = config_hash(c, resumable_keys);
    ctx->t_start = engram_wall_time();
    ctx->last_progress = 0;
    int st = ENGRAM_OK;
    if (print_summary && !ctx->quiet)
        fprintf(stderr, "engram: %s %s in %s\n", ctx->resuming ? "resuming" : "running", e->name,
                ctx->out_dir);
    if (!ctx->resuming) st = config_write(c, run_path(ctx, "config.ini"));
    if (st == ENGRAM_OK) st = e->run(ctx);
    run_progress_done(ctx);
    if (ctx->metrics) { fclose(ctx->metrics); ctx->metrics = NULL; }
    if (st == ENGRAM_OK || st == ENGRAM_EDIVERGED) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", engram_error());
        int ws = run_summary_write(ctx, st == ENGRAM_OK ? "ok" : "diverged", print_summary);
        if (ws != ENGRAM_OK) st = ws;
        else if (st == ENGRAM_EDIVERGED) engram_fail(st, "%s", msg);
        if (ws == ENGRAM_OK && print_summary && !ctx->quiet)
            fprintf(stderr, "engram: wrote %s\n", ctx->out_dir);
    }
    run_dir_unlock(ctx);
    return st;
}

/* Makes a fresh default run directory runs/EXPERIMENT[-RULE]-seedN-YYYYmmdd-HHMMSS.mmm
 * (local time; a counter is appended if it exists). */
static int default_out(const char *name, const config *c, char *buf, size_t n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char stamp[32], base[256];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    if (c) {
        const char *rule = config_has(c, "train.rule") ? config_str(c, "train.rule") : "";
        snprintf(base, sizeof base, "%s%s%s-seed%ld-%s.%03ld", name, rule[0] ? "-" : "", rule,
                 config_int(c, "run.seed"), stamp, ts.tv_nsec / 1000000);
    } else {
        snprintf(base, sizeof base, "%s-compare-%s.%03ld", name, stamp, ts.tv_nsec / 1000000);
    }
    return run_dir_make_unique("runs", base, buf, n);
}

/* Exit code of a run that ended with status st, after printing its message. */
static int run_exit(run_ctx *ctx, int st) {
    if (st == ENGRAM_OK) return 0;
    if (st == ENGRAM_EINTR) {
        int sig = run_stop_signal();
        fprintf(stderr, "engram: %s; continue with: engram resume %s\n", engram_error(),
                ctx->out_dir);
        return 128 + (sig ? sig : SIGINT);
    }
    return fail_status(st);
}

/* With a checkpointing run, SIGINT/SIGTERM only set a flag the run checks at step
 * boundaries (it then saves a checkpoint); otherwise they end the process at once. */
static void install_signals(const experiment *e, const config *c) {
    if (e->resumable && config_int(c, "run.checkpoint_every") > 0) run_signals_install();
}

/* The common tail of run and resume: when st (the preparation's status) is ENGRAM_OK,
 * executes the run with the options' threads and quietness; then frees ctx and c and
 * returns the exit code. */
static int launch(const experiment *e, config *c, run_ctx *ctx, const options *o, int st) {
    if (st == ENGRAM_OK) {
        set_threads(o->threads);
        ctx->threads = o->threads ? o->threads : default_threads();
        ctx->quiet = o->quiet;
        install_signals(e, c);
        st = execute(e, c, ctx, 1);
    }
    int rc = run_exit(ctx, st);
    free(ctx);
    config_free(c);
    return rc;
}

static int cmd_run(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o, 0);
    if (rc) return rc;
    if (o.help) { fputs(run_help, stdout); return 0; }
    if (!o.target) return fail_usage("%s: missing EXPERIMENT", "run");
    const experiment *e;
    char file[PATH_MAX];
    int st = resolve_experiment(o.target, &e, file, sizeof file);
    if (st != ENGRAM_OK) return fail_status(st);
    config *c;
    st = build_config(e, file, &o, &c);
    if (st != ENGRAM_OK) return fail_status(st);
    run_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) { config_free(c); return fail_status(engram_fail(ENGRAM_ENOMEM, "out of memory")); }
    if (o.out) snprintf(ctx->out_dir, sizeof ctx->out_dir, "%s", o.out);
    else st = default_out(e->name, c, ctx->out_dir, sizeof ctx->out_dir);
    if (st == ENGRAM_OK) st = run_dir_prepare(ctx, o.force);
    return launch(e, c, ctx, &o, st);
}

static int cmd_resume(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o, 0);
    if (rc) return rc;
    if (o.help) { fputs(resume_help, stdout); return 0; }
    if (!o.target) return fail_usage("%s: missing DIR", "resume");
    if (o.seed || o.out || o.quick || o.force)
        return fail_usage("%s takes only DIR, --set (train.steps or train.max_epochs), --threads "
                          "and --quiet", "resume");
    for (size_t i = 0; i < o.n_sets; i++)
        if (!key_in(resumable_keys, o.sets[i]))
            return fail_usage("resume --set '%s': only train.steps and train.max_epochs may change "
                              "when resuming", o.sets[i]);
    if (run_dir_check(o.target) != ENGRAM_OK) return fail_usage("resume: %s", engram_error());
    run_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return fail_status(engram_fail(ENGRAM_ENOMEM, "out of memory"));
    snprintf(ctx->out_dir, sizeof ctx->out_dir, "%s", o.target);
    char file[PATH_MAX], ck[PATH_MAX];
    snprintf(file, sizeof file, "%s", run_path(ctx, "config.ini"));
    snprintf(ck, sizeof ck, "%s", run_path(ctx, "checkpoint.bin"));
    if (!file_exists(file)) {
        fprintf(stderr, "engram: %s is not a run directory (no config.ini)\n", o.target);
        free(ctx);
        return 2;
    }
    if (!file_exists(ck)) {
        fprintf(stderr, "engram: %s has no checkpoint.bin to resume from (set run.checkpoint_every)\n", o.target);
        free(ctx);
        return 2;
    }
    int st = run_dir_lock(ctx);
    if (st != ENGRAM_OK) { free(ctx); return fail_status(st); }
    const experiment *e;
    char resolved[PATH_MAX];
    st = resolve_experiment(file, &e, resolved, sizeof resolved);
    if (st != ENGRAM_OK) { free(ctx); return fail_status(st); }
    if (!e->resumable) {
        free(ctx);
        return fail_status(engram_fail(ENGRAM_EINVAL, "experiment %s cannot be resumed", e->name));
    }
    options sets;
    memset(&sets, 0, sizeof sets);
    sets.n_sets = o.n_sets;
    for (size_t i = 0; i < o.n_sets; i++) sets.sets[i] = o.sets[i];
    config *c;
    st = build_config(e, resolved, &sets, &c);
    if (st != ENGRAM_OK) { free(ctx); return fail_status(st); }
    /* An extension is recorded in config.ini, so the directory stays repeatable. */
    if (o.n_sets) st = config_write(c, file);
    ctx->resuming = 1;
    return launch(e, c, ctx, &o, st);
}

/* engram config: prints the configuration run would resolve. */
static int cmd_config(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o, 0);
    if (rc) return rc;
    if (o.help) { fputs(config_help, stdout); return 0; }
    if (!o.target) return fail_usage("%s: missing EXPERIMENT", "config");
    if (o.out || o.force || o.threads)
        return fail_usage("%s takes only EXPERIMENT, --quick, --set and --seed", "config");
    const experiment *e;
    char file[PATH_MAX];
    int st = resolve_experiment(o.target, &e, file, sizeof file);
    if (st != ENGRAM_OK) return fail_status(st);
    config *c;
    st = build_config(e, file, &o, &c);
    if (st != ENGRAM_OK) return fail_status(st);
    st = config_fprint(c, stdout);
    config_free(c);
    if (st == ENGRAM_OK && fflush(stdout) != 0) st = ENGRAM_EIO;
    return st == ENGRAM_OK ? 0 : fail_status(engram_fail(st, "cannot write to stdout"));
}

/* ---- compare ---- */

typedef struct cmp_run {
    const char *rule;
    long seed;
    int status;
    char metric[64], steps[64], err[256];
    double wall;
    char dir[RUN_DIR_MAX + 1];
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
                        size_t n_rules, const char *out_dir, const char *formats) {
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
        char path[PATH_MAX];
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
    char title[160], path[PATH_MAX], paths[3 * PATH_MAX + 16];
    snprintf(title, sizeof title, "%s: %s (mean, min-max over seeds)", e->name, col);
    image_plot p = {title, "update", col, xs, Y, L, H, n_rules, n_points,
                    (const char *const *)rules, 0, 0, 0};
    snprintf(path, sizeof path, "%s/comparison.png", out_dir);
    /* The runs' figure formats (run.figure_format, e.g. png,svg) */
    st = figure_paths(paths, sizeof paths, path, formats);
    if (st == ENGRAM_OK) st = image_write_plot(paths, &p);
    free(Y); free(L); free(H);
out:
    free(xs); free(tmp_s); free(tmp_v); free(y); free(lo); free(hi); free(cnt);
    return st;
}

static int cmd_compare(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o, 1);
    if (rc) return rc;
    if (o.help) { fputs(compare_help, stdout); return 0; }
    if (!o.target) return fail_usage("%s: missing EXPERIMENT", "compare");
    if (!o.rules) return fail_usage("%s: missing --rules RULE[,RULE...]", "compare");
    if (o.seed) return fail_usage("%s takes --seeds K|A-B|S,S,..., not --seed", "compare");
    long seeds[1000];
    size_t n_seeds;
    if (sweep_parse_seeds(o.seeds, seeds, 1000, &n_seeds) != ENGRAM_OK)
        return fail_usage("--seeds: %s", engram_error());
    const experiment *e;
    char file[PATH_MAX];
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
    char formats[64];
    snprintf(formats, sizeof formats, "%s", config_str(c0, "run.figure_format"));
    config_free(c0);
    run_ctx *top = calloc(1, sizeof *top);
    if (!top) return fail_status(engram_fail(ENGRAM_ENOMEM, "out of memory"));
    char *out = top->out_dir;
    if (o.out) snprintf(out, sizeof top->out_dir, "%s", o.out);
    else if ((st = default_out(e->name, NULL, out, sizeof top->out_dir)) != ENGRAM_OK) {
        free(top);
        return fail_status(st);
    }
    char csv[PATH_MAX];
    snprintf(csv, sizeof csv, "%s/comparison.csv", out);
    if (file_exists(csv) && !o.force) {
        fprintf(stderr, "engram: %s already holds a comparison (use --force to overwrite)\n", out);
        free(top);
        return 2;
    }
    /* The comparison's directory is locked for its lifetime (each run also locks its own). */
    st = run_dir_prepare(top, o.force);
    if (st != ENGRAM_OK) { free(top); return fail_status(st); }
    if (!o.quiet) fprintf(stderr, "engram: comparing in %s\n", out);
    size_t n_runs = n_rules * n_seeds;
    cmp_run *runs = calloc(n_runs, sizeof *runs);
    if (!runs) { free(top); return fail_status(engram_fail(ENGRAM_ENOMEM, "out of memory")); }
    for (size_t i = 0; i < n_runs; i++) {
        runs[i].rule = rules[i / n_seeds];
        runs[i].seed = seeds[i % n_seeds];
        if (snprintf(runs[i].dir, sizeof runs[i].dir, "%s/%s-seed%ld", out, runs[i].rule,
                     runs[i].seed) >= (int)sizeof runs[i].dir) {
            free(runs); free(top);
            return fail_usage("--out: %s is too long for the per-run directories below it", out);
        }
    }
    int threads = o.threads ? o.threads : default_threads();
    if (!o.quiet)
        fprintf(stderr, "compare %s: %zu runs (%zu rules x %zu seeds) on %d threads\n", e->name,
                n_runs, n_rules, n_seeds, threads);
    double t0 = engram_wall_time();
    /* The runs are a sweep over train.rule and the seeds (cmd_sweep.c): each one an
     * `engram run` on one thread, `threads` of them at a time. */
    st = sweep_compare(o.target, (const char *const *)rules, n_rules, seeds, n_seeds, o.sets, o.n_sets,
                       o.quick, threads, o.quiet, o.force, out);
    if (st != ENGRAM_OK) { free(runs); free(top); return fail_status(st); }
    for (size_t i = 0; i < n_runs; i++) {
        cmp_run *r = &runs[i];
        r->status = sweep_point_result(r->dir, e->main_metric, r->metric, sizeof r->metric, r->steps,
                                       sizeof r->steps, &r->wall, r->err, sizeof r->err);
    }
    FILE *f = fopen(csv, "w");
    if (!f) { free(runs); free(top); return fail_status(engram_fail(ENGRAM_EIO, "cannot write %s", csv)); }
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
    st = compare_plot(e, runs, n_runs, rules, n_rules, out, formats);
    if (st != ENGRAM_OK) fprintf(stderr, "engram: %s\n", engram_error());
    /* Last line: per-rule mean of the main metric as JSON. */
    printf("{\"experiment\": \"%s\", \"seeds\": %zu, \"wall_s\": %.3f, \"mean_%s\": {", e->name,
           n_seeds, engram_wall_time() - t0, e->main_metric);
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
    if (!o.quiet) fprintf(stderr, "engram: wrote %s\n", out);
    free(runs);
    run_dir_unlock(top);
    free(top);
    return any_failed ? 1 : 0;
}

/* ---- list ---- */

/* Prints the preset files beside the registered experiments' presets whose names are
 * not experiment names (for example anbn-long, a preset of anbn). */
static void list_extra_presets(void) {
    char path[PATH_MAX];
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
        char file[PATH_MAX];
        if (resolve_experiment(names[i], &e, file, sizeof file) == ENGRAM_OK)
            printf("%-16s preset of %s (%s)\n", names[i], e->name, file);
    }
}

static int cmd_list(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "experiments";
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(list_help, stdout); return 0; }
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
        char file[PATH_MAX];
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

/* OpenBLAS (dynamic-arch builds) picks its kernels from the CPU model; on virtual CPUs
 * it may not recognise (reported as a plain "Intel Xeon Processor") it falls back to
 * its Prescott kernels, 3-5x slower than the AVX2/AVX-512 kernels the CPU supports.
 * OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so when the user has not set it
 * and OpenBLAS chose Prescott on a CPU with AVX2, the program restarts itself once with
 * the Haswell (AVX2) kernels. Not the SkylakeX (AVX-512) ones: older OpenBLAS releases
 * compute wrong results with those on some processors, which is also why some systems
 * set OPENBLAS_CORETYPE=Haswell themselves. Results stay identical for any thread count
 * (the thread count does not change the kernels). */
extern char *openblas_get_corename(void) __attribute__((weak));

/* Returns 1 when OPENBLAS_CORETYPE was set for a restart. */
static int blas_pick_kernels(void) {
    if (getenv("OPENBLAS_CORETYPE") || !openblas_get_corename) return 0;
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott") != 0) return 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    const char *want = __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
    return want && setenv("OPENBLAS_CORETYPE", want, 1) == 0;
#else
    return 0;
#endif
}

/* libgomp's default wait policy spins a waiting thread for a while before it sleeps. On a
 * machine shared with other jobs the spinning thread burns the core that the thread it
 * waits for needs: a grid-cell RNN update on 2 threads at load 10 took 1.44 s of wall time
 * spinning and 0.52 s with passive waiting, a 2-thread GRU run 11.1 s and 1.8 s. engram's
 * parallel regions are few and long (one per pass over the batch), so waking a sleeping
 * thread costs nothing measurable. libgomp reads the variable only when it loads, so when
 * the user has set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT the program sets
 * OMP_WAIT_POLICY=passive and restarts itself once. Returns 1 when it set it. */
static int pick_wait_policy(void) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return 0;
    return setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
}

/* Restarts the program once when it changed an environment variable that a library reads
 * only when it loads (execv returns only on failure: then it keeps running as it is). */
static void restart_for_environment(char **argv) {
    int blas = blas_pick_kernels();
    int wait = pick_wait_policy();
    if (blas || wait) execv("/proc/self/exe", argv);
}

int main(int argc, char **argv) {
    restart_for_environment(argv);
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
    if (!strcmp(cmd, "config")) return cmd_config(argc - 1, argv + 1);
    if (!strcmp(cmd, "list")) return cmd_list(argc - 1, argv + 1);
    if (!strcmp(cmd, "render")) return cmd_render(argc - 1, argv + 1);
    if (!strcmp(cmd, "gridscore")) return cmd_gridscore(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep")) return cmd_sweep(argc - 1, argv + 1);
    if (!strcmp(cmd, "collect")) return cmd_collect(argc - 1, argv + 1);
    if (!strcmp(cmd, "analyze")) return cmd_analyze(argc - 1, argv + 1);
    return fail_usage("unknown command '%s'", cmd);
}
