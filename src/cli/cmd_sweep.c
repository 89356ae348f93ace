/* cmd_sweep.c: `engram sweep` and `engram collect` (cli.h): many runs of one experiment
 * over a grid or a random sample of configuration values and a list of seeds, on this
 * machine, on a Slurm cluster or through any scheduler, gathered into one table.
 *
 * A sweep specification is an experiment configuration file plus a [sweep] section:
 *
 *     [run]
 *     experiment = memory-capacity
 *     [reservoir]
 *     n = 50
 *     [sweep]
 *     reservoir.spectral_radius = 0.8, 0.9, 0.95     ; grid: every listed value
 *     readout.ridge = loguniform(1e-10, 1e-4)        ; random: uniform, loguniform, randint
 *     samples = 4                                    ; random draws (with random keys)
 *     sampler_seed = 1                               ; seed of those draws
 *     seeds = 1-4                                    ; K (= 1-K), A-B, or a list 1,3,5
 *     out = runs/mc-radius                           ; sweep directory
 *
 * A key with a dot is swept; the other [sweep] keys are options (also: quick = true,
 * base = PRESET|FILE.ini to start from a preset with the file's own sections applied
 * as --set, set = SECTION.KEY=VALUE, repeatable). The [sweep] section is removed before
 * the experiment's configuration is resolved: each point runs `engram run base.ini
 * --set KEY=VALUE... --seed S --out DIR/NAME`, where base.ini is the specification
 * without [sweep]. Points are numbered grid-major (the last grid key fastest), then
 * sample, then seed; a point's directory is named by its values (0.9-seed2).
 *
 * The sweep directory holds sweep.ini (the specification, so that `engram sweep DIR`
 * re-runs it), base.ini, manifest.csv (point, dir, keys, seed, status), logs/ and one
 * run directory per point. A point's status is read from its run directory: ok or
 * diverged (summary.json written), partial (checkpoint.bin, no summary), failed
 * (config.ini, no summary) or pending. Running a sweep again runs only the points that
 * are not ok or diverged; a partial point resumes from its checkpoint.
 *
 *   engram sweep SPEC.ini|DIR [--out DIR] [--local] [--jobs N] [--threads N] [--quick]
 *                [--force] [--quiet]
 *   engram sweep SPEC.ini|DIR --slurm [--max-running K] [--mem MB] [--time MIN]
 *                [--partition P] [--sbatch-arg ARG]... [--wait]
 *   engram sweep SPEC.ini|DIR --print-tasks
 *   engram sweep DIR --point I [--threads N]       (what each task runs)
 *   engram collect DIR [--metric NAME] [--key SECTION.KEY] [--out FILE.csv]
 *                [--plot FILE.png]
 *
 * Every point's results are independent of how many points run at once and of the
 * backend: a point is an ordinary `engram run` of its own configuration and seed.
 */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "cli/cli.h"
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/experiment.h"
#include "engram/figure.h"
#include "engram/image.h"
#include "engram/rng.h"
#include "engram/run.h"

#define SW_MAX_KEYS 16
#define SW_MAX_VALUES 256
#define SW_MAX_SETS 128
#define SW_MAX_SEEDS 10000
#define SW_MAX_POINTS 100000
#define SW_VAL 64
#define SW_PATH 1200
#define SW_ARG (SW_PATH + 300)

enum { SW_GRID, SW_UNIFORM, SW_LOGUNIFORM, SW_RANDINT };

typedef struct sw_key {
    char name[64]; /* section.key */
    int kind;      /* SW_GRID or a distribution */
    char (*values)[SW_VAL];
    size_t n_values;
    double lo, hi;
} sw_key;

typedef struct sw_spec {
    sw_key keys[SW_MAX_KEYS];
    size_t n_keys;
    long seeds[SW_MAX_SEEDS];
    size_t n_seeds;
    long samples;
    long sampler_seed;
    int quick;
    char base[SW_PATH];  /* preset or file; "" = base.ini */
    char sets[SW_MAX_SETS][256];
    size_t n_sets;       /* `set =` lines */
    char own[SW_MAX_SETS][256];
    size_t n_own;        /* the file's own non-[sweep] keys, as SECTION.KEY=VALUE */
    char out[SW_PATH];
    char err[512];
} sw_spec;

typedef struct sw_point {
    char values[SW_MAX_KEYS][SW_VAL];
    long seed;
    char name[256];
} sw_point;

/* ---- small helpers ---- */

static int fail(int code, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints "engram CMD: message" on stderr and returns code. */
static int fail(int code, const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "engram %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

static int parse_long_in(const char *s, long lo, long hi, long *v) {
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno || x < lo || x > hi) return 0;
    *v = x;
    return 1;
}

static int parse_real(const char *s, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    return end != s && *end == '\0' && !errno && isfinite(*v);
}

/* Reads a whole file into a malloc'd NUL-terminated buffer, or NULL. */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) { free(b); b = NULL; }
            else b = nb;
        }
    }
    fclose(f);
    if (b) b[n] = '\0';
    return b;
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static int mkdir_p(const char *dir) {
    char buf[SW_PATH];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return 0;
            *p = '/';
        }
    return mkdir(buf, 0777) == 0 || errno == EEXIST;
}

/* Path of the running program, for the child processes. */
static int self_exe(char *buf, size_t n) {
    ssize_t len = readlink("/proc/self/exe", buf, n - 1);
    if (len <= 0) return 0;
    buf[len] = '\0';
    return 1;
}

/* ---- seeds and values ---- */

int sweep_parse_seeds(const char *text, long *seeds, size_t max, size_t *n) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf)
        return engram_fail(ENGRAM_EINVAL, "seed list '%.40s...' too long", text);
    *n = 0;
    char *t = trim(buf);
    long k;
    if (parse_long_in(t, 1, (long)max, &k)) { /* K: seeds 1..K */
        for (long s = 1; s <= k; s++) seeds[(*n)++] = s;
        return ENGRAM_OK;
    }
    char *save = NULL;
    for (char *tok = strtok_r(t, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        char *dash = strchr(tok + (tok[0] == '-'), '-');
        long a, b;
        if (dash) {
            *dash = '\0';
            if (!parse_long_in(trim(tok), 0, 4294967295L, &a) || !parse_long_in(trim(dash + 1), 0, 4294967295L, &b) || b < a)
                return engram_fail(ENGRAM_EINVAL, "seeds '%s': a range is A-B with 0 <= A <= B <= 4294967295", text);
        } else {
            if (!parse_long_in(tok, 0, 4294967295L, &a))
                return engram_fail(ENGRAM_EINVAL, "seeds '%s': '%s' is not a seed in [0, 4294967295]", text, tok);
            b = a;
        }
        for (long s = a; s <= b; s++) {
            if (*n == max) return engram_fail(ENGRAM_EINVAL, "seeds '%s': more than %zu seeds", text, max);
            for (size_t i = 0; i < *n; i++)
                if (seeds[i] == s) return engram_fail(ENGRAM_EINVAL, "seeds '%s': seed %ld listed twice", text, s);
            seeds[(*n)++] = s;
        }
    }
    if (*n == 0) return engram_fail(ENGRAM_EINVAL, "seeds '%s': no seed", text);
    return ENGRAM_OK;
}

/* Parses the value of a swept key: a list "a, b, c" or dist(lo, hi). */
static int parse_key_value(sw_key *k, const char *value) {
    static const struct { const char *name; int kind; } dists[] = {
        {"uniform(", SW_UNIFORM}, {"loguniform(", SW_LOGUNIFORM}, {"randint(", SW_RANDINT}};
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", value);
    char *v = trim(buf);
    for (size_t d = 0; d < 3; d++) {
        size_t len = strlen(dists[d].name);
        if (strncmp(v, dists[d].name, len)) continue;
        char *close = strrchr(v, ')'), *comma = strchr(v + len, ',');
        if (!close || !comma || comma > close || trim(close + 1)[0])
            return engram_fail(ENGRAM_EINVAL, "%s = %s: expected %sLO, HI)", k->name, value, dists[d].name);
        *comma = *close = '\0';
        k->kind = dists[d].kind;
        if (!parse_real(trim(v + len), &k->lo) || !parse_real(trim(comma + 1), &k->hi) || k->hi < k->lo ||
            (k->kind == SW_LOGUNIFORM && k->lo <= 0) ||
            (k->kind == SW_RANDINT && (k->lo != floor(k->lo) || k->hi != floor(k->hi) || k->hi - k->lo > 4e9)))
            return engram_fail(ENGRAM_EINVAL, "%s = %s: need LO <= HI%s", k->name, value,
                               k->kind == SW_LOGUNIFORM ? " and LO > 0" : k->kind == SW_RANDINT ? ", both integers" : "");
        return ENGRAM_OK;
    }
    k->kind = SW_GRID;
    k->values = calloc(SW_MAX_VALUES, sizeof *k->values);
    if (!k->values) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    char *save = NULL;
    for (char *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        if (!tok[0]) return engram_fail(ENGRAM_EINVAL, "%s = %s: empty value in the list", k->name, value);
        if (k->n_values == SW_MAX_VALUES) return engram_fail(ENGRAM_EINVAL, "%s: more than %d values", k->name, SW_MAX_VALUES);
        if (strlen(tok) >= SW_VAL) return engram_fail(ENGRAM_EINVAL, "%s: value '%s' too long", k->name, tok);
        for (size_t i = 0; i < k->n_values; i++)
            if (!strcmp(k->values[i], tok)) return engram_fail(ENGRAM_EINVAL, "%s: value '%s' listed twice", k->name, tok);
        snprintf(k->values[k->n_values++], SW_VAL, "%s", tok);
    }
    if (k->n_values == 0) return engram_fail(ENGRAM_EINVAL, "%s: no value", k->name);
    return ENGRAM_OK;
}

/* ---- the specification ---- */

static void spec_free(sw_spec *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_keys; i++) free(s->keys[i].values);
    free(s);
}

static int spec_handler(void *user, const char *section, const char *name, const char *value) {
    sw_spec *s = user;
    if (s->err[0]) return 0;
    if (strcmp(section, "sweep")) {
        if (s->n_own == SW_MAX_SETS) { snprintf(s->err, sizeof s->err, "too many keys"); return 0; }
        snprintf(s->own[s->n_own++], sizeof s->own[0], "%s.%s=%s", section, name, value);
        return 1;
    }
    int st = ENGRAM_OK;
    long v;
    if (strchr(name, '.')) {
        for (size_t i = 0; i < s->n_keys; i++)
            if (!strcmp(s->keys[i].name, name)) { snprintf(s->err, sizeof s->err, "key %s swept twice", name); return 0; }
        if (s->n_keys == SW_MAX_KEYS) { snprintf(s->err, sizeof s->err, "more than %d swept keys", SW_MAX_KEYS); return 0; }
        if (strlen(name) >= sizeof s->keys[0].name) { snprintf(s->err, sizeof s->err, "key name %s too long", name); return 0; }
        sw_key *k = &s->keys[s->n_keys++];
        snprintf(k->name, sizeof k->name, "%s", name);
        st = parse_key_value(k, value);
    } else if (!strcmp(name, "seeds")) {
        st = sweep_parse_seeds(value, s->seeds, SW_MAX_SEEDS, &s->n_seeds);
    } else if (!strcmp(name, "samples")) {
        if (!parse_long_in(value, 1, SW_MAX_POINTS, &s->samples))
            st = engram_fail(ENGRAM_EINVAL, "samples = %s: expected an integer in [1, %d]", value, SW_MAX_POINTS);
    } else if (!strcmp(name, "sampler_seed")) {
        if (!parse_long_in(value, 0, 4294967295L, &s->sampler_seed))
            st = engram_fail(ENGRAM_EINVAL, "sampler_seed = %s: expected an integer in [0, 4294967295]", value);
    } else if (!strcmp(name, "quick")) {
        if (!strcmp(value, "true")) s->quick = 1;
        else if (!strcmp(value, "false")) s->quick = 0;
        else st = engram_fail(ENGRAM_EINVAL, "quick = %s: expected true or false", value);
    } else if (!strcmp(name, "base")) {
        snprintf(s->base, sizeof s->base, "%s", value);
    } else if (!strcmp(name, "out")) {
        snprintf(s->out, sizeof s->out, "%s", value);
    } else if (!strcmp(name, "set")) {
        if (s->n_sets == SW_MAX_SETS || !strchr(value, '=')) st = engram_fail(ENGRAM_EINVAL, "set = %s: expected SECTION.KEY=VALUE", value);
        else snprintf(s->sets[s->n_sets++], sizeof s->sets[0], "%s", value);
    } else {
        st = engram_fail(ENGRAM_EINVAL, "unknown [sweep] option '%s' (swept keys are SECTION.KEY; options: seeds, samples, sampler_seed, quick, base, set, out)", name);
    }
    (void)v;
    if (st != ENGRAM_OK) { snprintf(s->err, sizeof s->err, "%s", engram_error()); return 0; }
    return 1;
}

/* Parses specification text (origin names it in messages) into *out. */
static int spec_parse(const char *text, const char *origin, sw_spec **out) {
    sw_spec *s = calloc(1, sizeof *s);
    if (!s) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    s->sampler_seed = 1;
    int line = ini_parse_string(text, spec_handler, s);
    if (line != 0) {
        int st = s->err[0] ? engram_fail(ENGRAM_EINVAL, "%s:%d: %s", origin, line, s->err)
                           : engram_fail(ENGRAM_EINVAL, "%s:%d: syntax error (expected [section] or key = value)", origin, line);
        spec_free(s);
        return st;
    }
    int has_random = 0;
    for (size_t i = 0; i < s->n_keys; i++) has_random |= s->keys[i].kind != SW_GRID;
    const char *why = NULL;
    if (!strstr(text, "[sweep]")) why = "no [sweep] section";
    else if (s->n_seeds == 0) { s->seeds[0] = 1; s->n_seeds = 1; }
    if (!why && has_random && !s->samples) why = "random keys need 'samples = N' in [sweep]";
    if (!why && !has_random && s->samples) why = "'samples' is set but no key is random (uniform, loguniform, randint)";
    if (!why && !s->base[0] && !s->n_own) why = "no experiment configuration besides [sweep] (add [run] experiment = NAME, or base = PRESET)";
    if (why) { spec_free(s); return engram_fail(ENGRAM_EINVAL, "%s: %s", origin, why); }
    if (!s->samples) s->samples = 1;
    *out = s;
    return ENGRAM_OK;
}

/* The specification text without its [sweep] section(s). */
static char *spec_strip(const char *text) {
    char *out = malloc(strlen(text) + 2);
    if (!out) return NULL;
    size_t n = 0;
    int in_sweep = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p + 1) : strlen(p);
        const char *q = p;
        while (q < p + len && (*q == ' ' || *q == '\t')) q++;
        if (*q == '[') in_sweep = !strncmp(q, "[sweep]", 7);
        if (!in_sweep) { memcpy(out + n, p, len); n += len; }
        p += len;
    }
    out[n] = '\0';
    return out;
}

/* Number of points (checked against SW_MAX_POINTS). */
static int spec_count(const sw_spec *s, size_t *n) {
    double total = (double)s->samples * (double)s->n_seeds;
    for (size_t i = 0; i < s->n_keys; i++)
        if (s->keys[i].kind == SW_GRID) total *= (double)s->keys[i].n_values;
    if (total > SW_MAX_POINTS) return engram_fail(ENGRAM_EINVAL, "the sweep has %.0f points (at most %d)", total, SW_MAX_POINTS);
    *n = (size_t)total;
    return ENGRAM_OK;
}

/* Makes a file-name-safe copy of a value. */
static void safe_name(char *dst, size_t n, const char *src) {
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++) {
        char c = src[i];
        dst[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '+' || c == '-' || c == '_') ? c : '_';
    }
    dst[i] = '\0';
}

/* Fills points[0..n-1] (n from spec_count): grid-major, the last grid key fastest, then
 * the random sample, then the seed. Random values of sample j are drawn in key order
 * from stream (sampler_seed, "sweep", j), so they do not depend on the grid. */
static int spec_points(const sw_spec *s, sw_point *pts, size_t n) {
    size_t n_grid = 1;
    for (size_t i = 0; i < s->n_keys; i++)
        if (s->keys[i].kind == SW_GRID) n_grid *= s->keys[i].n_values;
    int has_random = 0;
    for (size_t i = 0; i < s->n_keys; i++) has_random |= s->keys[i].kind != SW_GRID;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    size_t id = 0;
    for (size_t g = 0; g < n_grid; g++)
        for (long j = 0; j < s->samples; j++) {
            sw_point proto;
            memset(&proto, 0, sizeof proto);
            size_t rem = g;
            for (size_t i = s->n_keys; i-- > 0;) {
                const sw_key *k = &s->keys[i];
                if (k->kind != SW_GRID) continue;
                snprintf(proto.values[i], SW_VAL, "%s", k->values[rem % k->n_values]);
                rem /= k->n_values;
            }
            rng_stream_reset(r, (uint64_t)s->sampler_seed, "sweep", (uint64_t)j);
            for (size_t i = 0; i < s->n_keys; i++) {
                const sw_key *k = &s->keys[i];
                double u = gsl_rng_uniform(r);
                if (k->kind == SW_UNIFORM) snprintf(proto.values[i], SW_VAL, "%.6g", k->lo + (k->hi - k->lo) * u);
                else if (k->kind == SW_LOGUNIFORM)
                    snprintf(proto.values[i], SW_VAL, "%.6g", exp(log(k->lo) + (log(k->hi) - log(k->lo)) * u));
                else if (k->kind == SW_RANDINT)
                    snprintf(proto.values[i], SW_VAL, "%.0f", k->lo + floor(u * (k->hi - k->lo + 1)));
            }
            char stem[200] = "";
            for (size_t i = 0; i < s->n_keys; i++) {
                if (s->keys[i].kind != SW_GRID) continue;
                char v[SW_VAL];
                safe_name(v, sizeof v, proto.values[i]);
                snprintf(stem + strlen(stem), sizeof stem - strlen(stem), "%s-", v);
            }
            if (has_random) snprintf(stem + strlen(stem), sizeof stem - strlen(stem), "r%ld-", j);
            for (size_t si = 0; si < s->n_seeds; si++, id++) {
                if (id >= n) break;
                pts[id] = proto;
                pts[id].seed = s->seeds[si];
                snprintf(pts[id].name, sizeof pts[id].name, "%sseed%ld", stem, s->seeds[si]);
            }
        }
    gsl_rng_free(r);
    /* Values that differ only in characters replaced by safe_name would collide, and
     * long values are cut: then the points are numbered instead. */
    int renamed = 0;
    for (size_t i = 0; i < s->n_keys; i++)
        for (size_t v = 0; s->keys[i].kind == SW_GRID && v < s->keys[i].n_values; v++) {
            char t[SW_VAL];
            safe_name(t, sizeof t, s->keys[i].values[v]);
            renamed |= strcmp(t, s->keys[i].values[v]) != 0;
        }
    for (size_t i = 0; i < n && !renamed; i++) renamed |= strlen(pts[i].name) >= 190;
    if (renamed)
        for (size_t i = 0; i < n; i++) snprintf(pts[i].name, sizeof pts[i].name, "p%05zu", i);
    return ENGRAM_OK;
}

/* Writes ids (sorted ascending) as compact ranges "0-3,7,9-11" into buf. */
static void ranges_text(const long *ids, size_t n, char *buf, size_t cap) {
    buf[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && ids[j + 1] == ids[j] + 1) j++;
        size_t len = strlen(buf);
        if (j > i) snprintf(buf + len, cap - len, "%s%ld-%ld", i ? "," : "", ids[i], ids[j]);
        else snprintf(buf + len, cap - len, "%s%ld", i ? "," : "", ids[i]);
        i = j + 1;
    }
}

/* ---- summary.json of a run (a flat JSON object) ---- */

#define SW_MAX_FIELDS 96

typedef struct sw_summary {
    size_t n;
    char key[SW_MAX_FIELDS][48];
    char val[SW_MAX_FIELDS][96];
    int is_str[SW_MAX_FIELDS];
} sw_summary;

/* Parses a flat JSON object of strings, numbers, true/false/null; returns 1 if read. */
static int summary_read(const char *path, sw_summary *s) {
    memset(s, 0, sizeof *s);
    char *text = read_text(path);
    if (!text) return 0;
    const char *p = strchr(text, '{');
    int ok = p != NULL;
    if (p) p++;
    while (ok) {
        while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t' || *p == '\r') p++;
        if (*p == '}' || !*p) break;
        if (*p != '"') { ok = 0; break; }
        char key[48];
        size_t k = 0;
        for (p++; *p && *p != '"'; p++) if (k + 1 < sizeof key) key[k++] = *p;
        key[k] = '\0';
        if (*p != '"') { ok = 0; break; }
        p++;
        while (*p == ' ') p++;
        if (*p != ':') { ok = 0; break; }
        p++;
        while (*p == ' ') p++;
        char val[96];
        size_t v = 0;
        int is_str = *p == '"';
        if (is_str) {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                if (v + 1 < sizeof val) val[v++] = *p;
            }
            if (*p == '"') p++;
        } else {
            for (; *p && *p != ',' && *p != '}' && *p != ' ' && *p != '\n'; p++)
                if (v + 1 < sizeof val) val[v++] = *p;
        }
        val[v] = '\0';
        if (s->n < SW_MAX_FIELDS) {
            snprintf(s->key[s->n], sizeof s->key[0], "%s", key);
            snprintf(s->val[s->n], sizeof s->val[0], "%s", val);
            s->is_str[s->n++] = is_str;
        }
    }
    free(text);
    return ok;
}

static const char *summary_get(const sw_summary *s, const char *key) {
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->key[i], key)) return s->val[i];
    return NULL;
}

/* ---- a sweep on disk ---- */

typedef struct sw_sweep {
    sw_spec *spec;
    sw_point *pts;
    size_t n;
    char dir[SW_PATH]; /* absolute */
    char exe[SW_PATH];
} sw_sweep;

static void sweep_close(sw_sweep *w) {
    spec_free(w->spec);
    free(w->pts);
    memset(w, 0, sizeof *w);
}

/* A point's state from its run directory: "ok", "diverged", "partial", "failed" or
 * "pending". */
static const char *point_state(const sw_sweep *w, size_t i) {
    char p[SW_PATH + 300];
    snprintf(p, sizeof p, "%s/%s/summary.json", w->dir, w->pts[i].name);
    sw_summary s;
    if (is_file(p) && summary_read(p, &s)) {
        const char *st = summary_get(&s, "status");
        if (st && !strcmp(st, "ok")) return "ok";
        if (st && !strcmp(st, "diverged")) return "diverged";
    }
    snprintf(p, sizeof p, "%s/%s/checkpoint.bin", w->dir, w->pts[i].name);
    if (is_file(p)) return "partial";
    snprintf(p, sizeof p, "%s/%s/config.ini", w->dir, w->pts[i].name);
    if (is_file(p)) return "failed";
    return "pending";
}

static int state_done(const char *st) { return !strcmp(st, "ok") || !strcmp(st, "diverged"); }

/* Rewrites manifest.csv: point, dir, swept keys, seed, status. */
static int manifest_write(const sw_sweep *w) {
    char path[SW_PATH + 32], tmp[SW_PATH + 64];
    snprintf(path, sizeof path, "%s/manifest.csv", w->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return engram_fail(ENGRAM_EIO, "cannot write %s", tmp);
    fprintf(f, "point,dir");
    for (size_t k = 0; k < w->spec->n_keys; k++) fprintf(f, ",%s", w->spec->keys[k].name);
    fprintf(f, ",seed,status\n");
    for (size_t i = 0; i < w->n; i++) {
        fprintf(f, "%zu,%s", i, w->pts[i].name);
        for (size_t k = 0; k < w->spec->n_keys; k++) fprintf(f, ",%s", w->pts[i].values[k]);
        fprintf(f, ",%ld,%s\n", w->pts[i].seed, point_state(w, i));
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    return ENGRAM_OK;
}

/* Checks every point's configuration before anything runs, as `engram run` would
 * resolve it (defaults < base.ini < --quick < set < the point's values < seed), when the
 * base is the specification itself; a base preset is checked by its runs. */
static int sweep_validate(const sw_sweep *w, const char *base_path) {
    const sw_spec *s = w->spec;
    if (s->base[0]) return ENGRAM_OK;
    const char *name = NULL;
    for (size_t i = 0; i < s->n_own; i++)
        if (!strncmp(s->own[i], "run.experiment=", 15)) name = s->own[i] + 15;
    if (!name) return engram_fail(ENGRAM_EINVAL, "the specification has no [run] experiment = NAME");
    const experiment *e = experiment_find(name);
    if (!e) return engram_fail(ENGRAM_EINVAL, "unknown experiment '%s' (see engram list experiments)", name);
    const cfg_key *tables[32];
    size_t nt = 0;
    tables[nt++] = config_common_keys;
    for (size_t i = 0; e->tables && e->tables[i] && nt < 31; i++) tables[nt++] = e->tables[i];
    tables[nt] = NULL;
    for (size_t i = 0; i < w->n; i += s->n_seeds) {
        config *c = config_alloc(tables);
        if (!c) return engram_fail(ENGRAM_ENOMEM, "out of memory");
        int st = config_load(c, base_path);
        for (size_t k = 0; s->quick && e->quick && e->quick[k] && st == ENGRAM_OK; k++) st = config_set(c, e->quick[k], "--quick");
        for (size_t k = 0; k < s->n_sets && st == ENGRAM_OK; k++) st = config_set(c, s->sets[k], "[sweep] set");
        for (size_t k = 0; k < s->n_keys && st == ENGRAM_OK; k++)
            st = config_set_value(c, s->keys[k].name, w->pts[i].values[k], "[sweep]");
        if (st == ENGRAM_OK && config_has(c, "train.rule") && e->rules) {
            int known = 0;
            for (size_t r = 0; e->rules[r]; r++) known |= !strcmp(e->rules[r], config_str(c, "train.rule"));
            if (!known) st = engram_fail(ENGRAM_EINVAL, "experiment %s does not accept rule '%s'", e->name, config_str(c, "train.rule"));
        }
        config_free(c);
        if (st != ENGRAM_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", engram_error());
            return engram_fail(ENGRAM_EINVAL, "point %zu (%s): %s", i, w->pts[i].name, msg);
        }
    }
    return ENGRAM_OK;
}

/* Opens a sweep from specification text. out: the sweep directory (NULL: the spec's
 * `out`, else runs/<default_name>). With create, writes sweep.ini and base.ini
 * (refusing a directory that holds a different sweep unless force). */
static int sweep_open_text(const char *text, const char *origin, const char *out, const char *default_name,
                           int create, int force, sw_sweep *w) {
    memset(w, 0, sizeof *w);
    int st = spec_parse(text, origin, &w->spec);
    if (st != ENGRAM_OK) return st;
    if ((st = spec_count(w->spec, &w->n)) != ENGRAM_OK) { sweep_close(w); return st; }
    w->pts = calloc(w->n, sizeof *w->pts);
    if (!w->pts) { sweep_close(w); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    if ((st = spec_points(w->spec, w->pts, w->n)) != ENGRAM_OK) { sweep_close(w); return st; }
    if (!self_exe(w->exe, sizeof w->exe)) { sweep_close(w); return engram_fail(ENGRAM_EIO, "cannot find the engram program (/proc/self/exe)"); }
    char dir[SW_PATH];
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else if (w->spec->out[0]) snprintf(dir, sizeof dir, "%s", w->spec->out);
    else snprintf(dir, sizeof dir, "runs/%s", default_name);
    if (create) {
        char path[SW_PATH + 32];
        snprintf(path, sizeof path, "%s/sweep.ini", dir);
        char *old = read_text(path);
        int differs = old && strcmp(old, text) != 0;
        free(old);
        if (differs && !force) {
            sweep_close(w);
            return engram_fail(ENGRAM_EINVAL, "%s holds a different sweep (its sweep.ini differs; use --force to replace it, or another --out)", dir);
        }
        if (!w->spec->base[0]) { /* check every point before writing anything */
            char tmp[] = "/tmp/engram-sweep-base-XXXXXX";
            int fd = mkstemp(tmp);
            char *base = spec_strip(text);
            int ok = fd >= 0 && base && write(fd, base, strlen(base)) == (ssize_t)strlen(base);
            if (fd >= 0) close(fd);
            free(base);
            st = ok ? sweep_validate(w, tmp) : engram_fail(ENGRAM_EIO, "cannot write a temporary file in /tmp");
            if (fd >= 0) unlink(tmp);
            if (st != ENGRAM_OK) { sweep_close(w); return st; }
        }
        if (!mkdir_p(dir)) { sweep_close(w); return engram_fail(ENGRAM_EIO, "cannot create %s: %s", dir, strerror(errno)); }
        snprintf(path, sizeof path, "%s/logs", dir);
        int ok = mkdir_p(path);
        snprintf(path, sizeof path, "%s/sweep.ini", dir);
        ok = ok && write_text(path, text);
        if (!w->spec->base[0]) {
            char *base = spec_strip(text);
            snprintf(path, sizeof path, "%s/base.ini", dir);
            ok = ok && base && write_text(path, base);
            free(base);
        }
        if (!ok) { sweep_close(w); return engram_fail(ENGRAM_EIO, "cannot write into %s", dir); }
    }
    if (!realpath(dir, w->dir)) { sweep_close(w); return engram_fail(ENGRAM_EIO, "cannot open %s: %s", dir, strerror(errno)); }
    return ENGRAM_OK;
}

/* Opens SPEC.ini or an existing sweep directory DIR. */
static int sweep_open(const char *target, const char *out, int quick, int create, int force, sw_sweep *w) {
    char path[SW_PATH + 32];
    snprintf(path, sizeof path, "%s/sweep.ini", target);
    if (is_dir(target)) {
        if (!is_file(path)) return engram_fail(ENGRAM_EINVAL, "%s is not a sweep directory (no sweep.ini)", target);
        if (out) return engram_fail(ENGRAM_EINVAL, "--out goes with a specification file, not with a sweep directory");
        char *text = read_text(path);
        if (!text) return engram_fail(ENGRAM_EIO, "cannot read %s", path);
        int st = sweep_open_text(text, path, target, "", 0, 0, w);
        if (st == ENGRAM_OK && quick && !w->spec->quick) {
            sweep_close(w);
            st = engram_fail(ENGRAM_EINVAL, "%s was not made with --quick; --quick goes with a specification file", target);
        }
        free(text);
        return st;
    }
    char *text = read_text(target);
    if (!text) return engram_fail(ENGRAM_EINVAL, "cannot read sweep specification %s", target);
    if (quick) {
        char *t = malloc(strlen(text) + 32);
        if (!t) { free(text); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
        sprintf(t, "%s\n[sweep]\nquick = true\n", text);
        free(text);
        text = t;
    }
    const char *slash = strrchr(target, '/');
    char name[256];
    snprintf(name, sizeof name, "%s", slash ? slash + 1 : target);
    char *dot = strrchr(name, '.');
    if (dot && dot != name) *dot = '\0';
    int st = sweep_open_text(text, target, out, name, create, force, w);
    free(text);
    return st;
}

/* The argument vector of `engram run` (or `engram resume`) for point i, into args. */
static size_t point_argv(const sw_sweep *w, size_t i, int threads, int resume, char store[][SW_ARG], char **args) {
    size_t n = 0;
#define ARG(...) (snprintf(store[n], SW_ARG, __VA_ARGS__), args[n] = store[n], n++)
    const sw_spec *s = w->spec;
    ARG("%s", w->exe);
    if (resume) {
        ARG("resume");
        ARG("%s/%s", w->dir, w->pts[i].name);
    } else {
        ARG("run");
        if (s->base[0]) ARG("%s", s->base);
        else ARG("%s/base.ini", w->dir);
        if (s->quick) ARG("--quick");
        for (size_t k = 0; s->base[0] && k < s->n_own; k++) { ARG("--set"); ARG("%s", s->own[k]); }
        for (size_t k = 0; k < s->n_sets; k++) { ARG("--set"); ARG("%s", s->sets[k]); }
        for (size_t k = 0; k < s->n_keys; k++) { ARG("--set"); ARG("%s=%s", s->keys[k].name, w->pts[i].values[k]); }
        ARG("--seed");
        ARG("%ld", w->pts[i].seed);
        ARG("--out");
        ARG("%s/%s", w->dir, w->pts[i].name);
        ARG("--force");
    }
    if (threads > 0) { ARG("--threads"); ARG("%d", threads); }
    ARG("--quiet");
#undef ARG
    args[n] = NULL;
    return n;
}

#define SW_MAX_ARGS (2 * SW_MAX_SETS + 2 * SW_MAX_KEYS + 24)

/* engram sweep DIR --point I: runs (or resumes) one point by replacing this process
 * with `engram run` / `engram resume`; a point already done is left alone. */
static int run_point(sw_sweep *w, long id, int threads, int force) {
    if (id < 0 || (size_t)id >= w->n)
        return fail(2, "sweep", "--point %ld: the sweep has points 0..%zu", id, w->n - 1);
    const char *st = point_state(w, (size_t)id);
    if (!force && state_done(st)) {
        fprintf(stderr, "engram sweep: point %ld (%s) is already %s\n", id, w->pts[id].name, st);
        return 0;
    }
    static char store[SW_MAX_ARGS][SW_ARG];
    static char *args[SW_MAX_ARGS + 1];
    int resume = !force && !strcmp(st, "partial");
    if (resume) fprintf(stderr, "engram sweep: point %ld (%s): resuming from its checkpoint\n", id, w->pts[id].name);
    point_argv(w, (size_t)id, threads, resume, store, args);
    fflush(NULL);
    execv(w->exe, args);
    return fail(1, "sweep", "cannot run %s: %s", w->exe, strerror(errno));
}

/* Quotes a word for a POSIX shell when needed. */
static void shell_word(FILE *f, const char *s) {
    int plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=,:@%", *p)) plain = 0;
    if (plain) { fputs(s, f); return; }
    fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '\'') fputs("'\\''", f);
        else fputc(*p, f);
    }
    fputc('\'', f);
}

/* Point ids to run: those not done (every point with force). */
static size_t todo_list(const sw_sweep *w, int force, long *ids) {
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        if (force || !state_done(point_state(w, i))) ids[n++] = (long)i;
    return n;
}

static void count_states(const sw_sweep *w, size_t c[5]) {
    static const char *names[] = {"ok", "diverged", "partial", "failed", "pending"};
    memset(c, 0, 5 * sizeof *c);
    for (size_t i = 0; i < w->n; i++) {
        const char *st = point_state(w, i);
        for (size_t k = 0; k < 5; k++)
            if (!strcmp(st, names[k])) c[k]++;
    }
}

/* ---- --local ---- */

static volatile sig_atomic_t sw_stop = 0;
static void on_stop(int sig) { sw_stop = sig; }

/* Runs the points ids[0..n-1] as child processes, at most jobs at a time, each point's
 * output in logs/NAME.log. SIGINT/SIGTERM stop the children and return ENGRAM_EIO. */
static int run_local(const sw_sweep *w, const long *ids, size_t n, int jobs, int threads, int force, int quiet) {
    pid_t *pid = calloc((size_t)jobs, sizeof *pid);
    long *slot_id = calloc((size_t)jobs, sizeof *slot_id);
    double *t0 = calloc((size_t)jobs, sizeof *t0);
    if (!pid || !slot_id || !t0) { free(pid); free(slot_id); free(t0); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sw_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    size_t next = 0, finished = 0, failed = 0;
    int running = 0, stopping = 0;
    fflush(NULL);
    for (;;) {
        if (sw_stop && !stopping) {
            stopping = 1;
            for (int j = 0; j < jobs; j++) if (pid[j] > 0) kill(pid[j], SIGTERM);
        }
        while (!stopping && running < jobs && next < n) {
            int j = 0;
            while (pid[j] > 0) j++;
            char log[SW_PATH + 300], idb[32], thb[32];
            snprintf(log, sizeof log, "%s/logs/%s.log", w->dir, w->pts[ids[next]].name);
            snprintf(idb, sizeof idb, "%ld", ids[next]);
            snprintf(thb, sizeof thb, "%d", threads);
            pid_t p = fork();
            if (p == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666);
                if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
                char *args[] = {(char *)w->exe, "sweep", (char *)w->dir, "--point", idb, "--threads", thb,
                                force ? "--force" : NULL, NULL};
                execv(w->exe, args);
                _exit(127);
            }
            if (p < 0) { sw_stop = SIGTERM; break; }
            pid[j] = p;
            slot_id[j] = ids[next++];
            t0[j] = engram_wall_time();
            running++;
        }
        if (running == 0) break;
        int status;
        pid_t p = waitpid(-1, &status, 0);
        if (p < 0) {
            if (errno == EINTR) continue;
            break;
        }
        int j = 0;
        while (j < jobs && pid[j] != p) j++;
        if (j == jobs) continue;
        pid[j] = 0;
        running--;
        finished++;
        const char *st = point_state(w, (size_t)slot_id[j]);
        if (!state_done(st)) failed++;
        if (!quiet)
            fprintf(stderr, "  [%zu/%zu] point %ld %s: %s (%.1fs)\n", finished, n, slot_id[j],
                    w->pts[slot_id[j]].name, st, engram_wall_time() - t0[j]);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(pid); free(slot_id); free(t0);
    if (stopping)
        return engram_fail(ENGRAM_EIO, "interrupted after %zu of %zu points; run the sweep again to finish the rest", finished - failed, n);
    if (failed) return engram_fail(ENGRAM_EIO, "%zu of %zu points failed (see %s/logs/)", failed, n, w->dir);
    return ENGRAM_OK;
}

/* ---- --slurm ---- */

typedef struct slurm_opts {
    long max_running, mem_mb, time_min;
    const char *partition;
    const char *extra[32];
    size_t n_extra;
    int wait;
} slurm_opts;

/* Writes slurm.sh (an sbatch array over ids) into the sweep directory and submits it. */
static int run_slurm(const sw_sweep *w, const long *ids, size_t n, int threads, int force, const slurm_opts *so) {
    size_t cap = n * 12 + 64;
    char *list = malloc(cap);
    if (!list) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    ranges_text(ids, n, list, cap);
    char path[SW_PATH + 32], cwd[PATH_MAX];
    snprintf(path, sizeof path, "%s/slurm.sh", w->dir);
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "%s", w->dir);
    FILE *f = fopen(path, "w");
    if (!f) { free(list); return engram_fail(ENGRAM_EIO, "cannot write %s", path); }
    fprintf(f, "#!/bin/sh\n# engram sweep: one array task per point; a task reruns or resumes its point.\n");
    fprintf(f, "#SBATCH --job-name=engram-sweep\n#SBATCH --array=%s%%%ld\n", list, so->max_running);
    fprintf(f, "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=%d\n", threads);
    if (so->mem_mb > 0) fprintf(f, "#SBATCH --mem=%ld\n", so->mem_mb);
    if (so->time_min > 0) fprintf(f, "#SBATCH --time=%ld\n", so->time_min);
    if (so->partition) fprintf(f, "#SBATCH --partition=%s\n", so->partition);
    fprintf(f, "#SBATCH --output=%s/logs/slurm-%%A_%%a.log\n#SBATCH --open-mode=append\n#SBATCH --requeue\n", w->dir);
    fprintf(f, "#SBATCH --chdir=%s\n", cwd);
    fprintf(f, "exec ");
    shell_word(f, w->exe);
    fprintf(f, " sweep ");
    shell_word(f, w->dir);
    fprintf(f, " --point \"$SLURM_ARRAY_TASK_ID\" --threads %d%s\n", threads, force ? " --force" : "");
    free(list);
    if (fclose(f) != 0) return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    char *args[40];
    size_t k = 0;
    args[k++] = "sbatch";
    if (so->wait) args[k++] = "--wait";
    for (size_t i = 0; i < so->n_extra; i++) args[k++] = (char *)so->extra[i];
    args[k++] = path;
    args[k] = NULL;
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        execvp("sbatch", args);
        _exit(127);
    }
    if (p < 0) return engram_fail(ENGRAM_EIO, "cannot start sbatch: %s", strerror(errno));
    int status;
    while (waitpid(p, &status, 0) < 0)
        if (errno != EINTR) return engram_fail(ENGRAM_EIO, "lost the sbatch process");
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
        return engram_fail(ENGRAM_EIO, "cannot run sbatch (is Slurm installed and on PATH? --print-tasks gives the commands for another scheduler)");
    if (WEXITSTATUS(status) != 0 && !so->wait)
        return engram_fail(ENGRAM_EIO, "sbatch refused %s (exit %d)", path, WEXITSTATUS(status));
    return ENGRAM_OK;
}

/* ---- the sweep command ---- */

/* Default thread count of a run: OMP_NUM_THREADS if set, else SLURM_CPUS_PER_TASK
 * inside a Slurm allocation, else every processor. */
int cli_default_threads(void) {
    long v;
    const char *omp = getenv("OMP_NUM_THREADS");
    if (omp && parse_long_in(omp, 1, 1024, &v)) return (int)v;
    const char *slurm = getenv("SLURM_CPUS_PER_TASK");
    if (slurm && parse_long_in(slurm, 1, 1024, &v)) return (int)v;
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

int cmd_sweep(int argc, char **argv) {
    const char *target = NULL, *out = NULL;
    int mode = 0; /* 0 local, 1 slurm, 2 print-tasks */
    long jobs = 0, threads = 1, point = -1;
    int quick = 0, force = 0, quiet = 0, threads_given = 0;
    slurm_opts so = {8, 0, 0, NULL, {NULL}, 0, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        long *num = NULL, lo = 1, hi = 1024;
        if (!strcmp(a, "--local")) mode = 0;
        else if (!strcmp(a, "--slurm")) mode = 1;
        else if (!strcmp(a, "--print-tasks")) mode = 2;
        else if (!strcmp(a, "--quick")) quick = 1;
        else if (!strcmp(a, "--force")) force = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = 1;
        else if (!strcmp(a, "--wait")) so.wait = 1;
        else if (!strcmp(a, "--jobs")) num = &jobs;
        else if (!strcmp(a, "--threads")) { num = &threads; threads_given = 1; }
        else if (!strcmp(a, "--point")) { num = &point; lo = 0; hi = SW_MAX_POINTS; }
        else if (!strcmp(a, "--max-running")) { num = &so.max_running; hi = 100000; }
        else if (!strcmp(a, "--mem")) { num = &so.mem_mb; hi = 100000000; }
        else if (!strcmp(a, "--time")) { num = &so.time_min; hi = 100000000; }
        else if (!strcmp(a, "--out") || !strcmp(a, "--partition") || !strcmp(a, "--sbatch-arg")) {
            if (!next) return fail(2, "sweep", "%s needs a value", a);
            if (!strcmp(a, "--out")) out = next;
            else if (!strcmp(a, "--partition")) so.partition = next;
            else if (so.n_extra == 32) return fail(2, "sweep", "too many --sbatch-arg");
            else so.extra[so.n_extra++] = next;
            i++;
        } else if (a[0] == '-' && a[1]) return fail(2, "sweep", "unknown option '%s' (see engram --help)", a);
        else if (!target) target = a;
        else return fail(2, "sweep", "unexpected argument '%s'", a);
        if (num) {
            if (!next || !parse_long_in(next, lo, hi, num))
                return fail(2, "sweep", "%s needs an integer in [%ld, %ld], got '%s'", a, lo, hi, next ? next : "");
            i++;
        }
    }
    if (!target) return fail(2, "sweep", "missing SPEC.ini or sweep DIR");
    sw_sweep w;
    int st;
    if (point >= 0) {
        if (!is_dir(target)) return fail(2, "sweep", "--point goes with a sweep directory, not %s", target);
        st = sweep_open(target, NULL, 0, 0, 0, &w);
        if (st != ENGRAM_OK) return fail(engram_exit_code(st), "sweep", "%s", engram_error());
        return run_point(&w, point, threads_given ? (int)threads : 0, force);
    }
    st = sweep_open(target, out, quick, 1, force, &w);
    if (st != ENGRAM_OK) return fail(engram_exit_code(st), "sweep", "%s", engram_error());
    long *ids = malloc(w.n * sizeof *ids);
    if (!ids) { sweep_close(&w); return fail(1, "sweep", "out of memory"); }
    size_t n_todo = todo_list(&w, force, ids);
    st = manifest_write(&w);
    if (st == ENGRAM_OK && mode == 2) {
        for (size_t i = 0; i < n_todo; i++) {
            shell_word(stdout, w.exe);
            fputs(" sweep ", stdout);
            shell_word(stdout, w.dir);
            printf(" --point %ld --threads %ld%s\n", ids[i], threads, force ? " --force" : "");
        }
    } else if (st == ENGRAM_OK) {
        if (!jobs) jobs = cli_default_threads() / threads > 0 ? cli_default_threads() / threads : 1;
        if (!quiet)
            fprintf(stderr, "sweep %s: %zu points, %zu to run%s\n", w.dir, w.n, n_todo,
                    mode == 1 ? " on Slurm" : "");
        if (n_todo && mode == 0) st = run_local(&w, ids, n_todo, (int)jobs, (int)threads, force, quiet);
        if (n_todo && mode == 1) st = run_slurm(&w, ids, n_todo, (int)threads, force, &so);
        int ms = manifest_write(&w);
        if (st == ENGRAM_OK) st = ms;
        size_t c[5];
        count_states(&w, c);
        if (st == ENGRAM_OK && mode == 1 && !so.wait && n_todo)
            printf("sweep %s: submitted %zu points; `engram collect %s` when they are done\n", w.dir, n_todo, w.dir);
        else
            printf("sweep %s: %zu points: %zu ok, %zu diverged, %zu partial, %zu failed, %zu pending\n", w.dir, w.n,
                   c[0], c[1], c[2], c[3], c[4]);
        if (st == ENGRAM_OK && mode == 1 && so.wait && c[0] + c[1] < w.n)
            st = engram_fail(ENGRAM_EIO, "%zu of %zu points not done after the Slurm job (see %s/logs/)", w.n - c[0] - c[1], w.n, w.dir);
    }
    free(ids);
    sweep_close(&w);
    return st == ENGRAM_OK ? 0 : fail(engram_exit_code(st), "sweep", "%s", engram_error());
}

/* ---- collect ---- */

static int is_engine_field(const char *k) {
    static const char *f[] = {"experiment", "rule", "seed", "version", "threads", "wall_s", "status"};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!strcmp(k, f[i])) return 1;
    return 0;
}

/* Writes a CSV cell, quoted when it holds a comma or a quote. */
static void csv_cell(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) { fputs(s, f); return; }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

typedef struct sw_columns {
    char name[SW_MAX_FIELDS][48];
    size_t n;
} sw_columns;

/* The plot of `metric` against swept key kx: x = the key's values (numeric, or their
 * index when a value is not a number), one line per combination of the other keys'
 * values; mean and min-max band over the seeds. */
static int collect_plot(const sw_sweep *w, const double *m, size_t kx, const char *metric, const char *path) {
    const sw_spec *s = w->spec;
    size_t P = 0, S = 0;
    char (*xv)[SW_VAL] = calloc(w->n, sizeof *xv);
    char (*sv)[256] = calloc(w->n, sizeof *sv);
    size_t *pi = calloc(w->n, sizeof *pi), *si = calloc(w->n, sizeof *si);
    double *x = calloc(w->n, sizeof *x);
    int st = ENGRAM_OK;
    if (!xv || !sv || !pi || !si || !x) { st = engram_fail(ENGRAM_ENOMEM, "out of memory"); goto out; }
    for (size_t i = 0; i < w->n; i++) {
        size_t p = 0;
        while (p < P && strcmp(xv[p], w->pts[i].values[kx])) p++;
        if (p == P) snprintf(xv[P++], SW_VAL, "%s", w->pts[i].values[kx]);
        pi[i] = p;
        char key[256] = "";
        for (size_t k = 0; k < s->n_keys; k++) {
            if (k == kx) continue;
            const char *dot = strrchr(s->keys[k].name, '.');
            snprintf(key + strlen(key), sizeof key - strlen(key), "%s%s=%s", key[0] ? " " : "", dot + 1,
                     w->pts[i].values[k]);
        }
        size_t q = 0;
        while (q < S && strcmp(sv[q], key)) q++;
        if (q == S) snprintf(sv[S++], 256, "%s", key);
        si[i] = q;
    }
    int numeric = 1;
    for (size_t p = 0; p < P; p++) numeric &= parse_real(xv[p], &x[p]);
    /* Numeric x: order the points by value (a permutation of the indices). */
    size_t *order = calloc(P, sizeof *order), *rank = calloc(P, sizeof *rank);
    double *y = calloc(S * P, sizeof *y), *lo = calloc(S * P, sizeof *lo), *hi = calloc(S * P, sizeof *hi),
           *cnt = calloc(S * P, sizeof *cnt), *xs = calloc(P, sizeof *xs);
    const char **names = calloc(S, sizeof *names);
    if (!order || !rank || !y || !lo || !hi || !cnt || !xs || !names) { st = engram_fail(ENGRAM_ENOMEM, "out of memory"); goto out2; }
    for (size_t p = 0; p < P; p++) order[p] = p;
    for (size_t a = 1; numeric && a < P; a++)
        for (size_t b = a; b > 0 && x[order[b - 1]] > x[order[b]]; b--) { size_t t = order[b]; order[b] = order[b - 1]; order[b - 1] = t; }
    for (size_t p = 0; p < P; p++) { rank[order[p]] = p; xs[p] = numeric ? x[order[p]] : (double)p; }
    for (size_t k = 0; k < S * P; k++) { lo[k] = INFINITY; hi[k] = -INFINITY; }
    for (size_t i = 0; i < w->n; i++) {
        if (!isfinite(m[i])) continue;
        size_t k = si[i] * P + rank[pi[i]];
        y[k] += m[i];
        cnt[k] += 1;
        if (m[i] < lo[k]) lo[k] = m[i];
        if (m[i] > hi[k]) hi[k] = m[i];
    }
    for (size_t k = 0; k < S * P; k++) {
        y[k] = cnt[k] > 0 ? y[k] / cnt[k] : NAN;
        if (cnt[k] == 0) lo[k] = hi[k] = NAN;
    }
    for (size_t q = 0; q < S; q++) names[q] = sv[q][0] ? sv[q] : metric;
    char title[200], xlabel[300];
    snprintf(title, sizeof title, "%s (mean, min-max over %zu seeds)", metric, s->n_seeds);
    if (numeric) snprintf(xlabel, sizeof xlabel, "%s", s->keys[kx].name);
    else {
        snprintf(xlabel, sizeof xlabel, "%s:", s->keys[kx].name);
        for (size_t p = 0; p < P; p++) snprintf(xlabel + strlen(xlabel), sizeof xlabel - strlen(xlabel), " %zu=%s", p, xv[p]);
    }
    image_plot pl = {title, xlabel, metric, xs, y, lo, hi, S, P, names, 0, 0, 0};
    st = image_write_plot(path, &pl);
out2:
    free(order); free(rank); free(y); free(lo); free(hi); free(cnt); free(xs); free(names);
out:
    free(xv); free(sv); free(pi); free(si); free(x);
    return st;
}

int cmd_collect(int argc, char **argv) {
    const char *dir = NULL, *metric = NULL, *key = NULL, *csv_out = NULL, *png_out = NULL,
               *formats = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = !strcmp(a, "--metric") ? &metric : !strcmp(a, "--key") ? &key : !strcmp(a, "--out") ? &csv_out
                         : !strcmp(a, "--plot") ? &png_out : !strcmp(a, "--format") ? &formats : NULL;
        if (dst) {
            if (!next) return fail(2, "collect", "%s needs a value", a);
            *dst = next;
            i++;
        } else if (a[0] == '-' && a[1]) return fail(2, "collect", "unknown option '%s' (see engram --help)", a);
        else if (!dir) dir = a;
        else return fail(2, "collect", "unexpected argument '%s'", a);
    }
    if (!dir) return fail(2, "collect", "missing the sweep DIR");
    if (formats && figure_formats_parse(formats, NULL) != ENGRAM_OK)
        return fail(2, "collect", "--format: %s", engram_error());
    sw_sweep w;
    int st = sweep_open(dir, NULL, 0, 0, 0, &w);
    if (st != ENGRAM_OK) return fail(engram_exit_code(st), "collect", "%s", engram_error());
    long kx = -1;
    for (size_t k = 0; key && k < w.spec->n_keys; k++)
        if (!strcmp(w.spec->keys[k].name, key)) kx = (long)k;
    if (key && kx < 0) { sweep_close(&w); return fail(2, "collect", "--key %s is not a swept key of %s", key, dir); }
    if (!key && w.spec->n_keys) kx = 0;
    sw_summary *sm = malloc(sizeof *sm);
    sw_columns *cols = calloc(1, sizeof *cols);
    double *m = malloc(w.n * sizeof *m);
    if (!sm || !cols || !m) { free(sm); free(cols); free(m); sweep_close(&w); return fail(1, "collect", "out of memory"); }
    /* Pass 1: the union of the summaries' result fields, in the order first seen. */
    char path[SW_PATH + 300], exp_name[64] = "";
    size_t n_read = 0;
    for (size_t i = 0; i < w.n; i++) {
        snprintf(path, sizeof path, "%s/%s/summary.json", w.dir, w.pts[i].name);
        if (!summary_read(path, sm)) continue;
        n_read++;
        const char *e = summary_get(sm, "experiment");
        if (e && !exp_name[0]) snprintf(exp_name, sizeof exp_name, "%s", e);
        for (size_t f = 0; f < sm->n; f++) {
            if (is_engine_field(sm->key[f])) continue;
            size_t c = 0;
            while (c < cols->n && strcmp(cols->name[c], sm->key[f])) c++;
            if (c == cols->n && cols->n < SW_MAX_FIELDS) snprintf(cols->name[cols->n++], 48, "%s", sm->key[f]);
        }
    }
    if (!metric) {
        const experiment *e = experiment_find(exp_name);
        metric = e ? e->main_metric : cols->n ? cols->name[0] : "wall_s";
    }
    /* Pass 2: the rows. */
    char csv[SW_PATH + 32], png[SW_PATH + 32];
    snprintf(csv, sizeof csv, "%s", csv_out ? csv_out : "");
    if (!csv_out) snprintf(csv, sizeof csv, "%s/collect.csv", w.dir);
    if (png_out) snprintf(png, sizeof png, "%s", png_out);
    else snprintf(png, sizeof png, "%s/collect.png", w.dir);
    FILE *f = fopen(csv, "w");
    if (!f) st = engram_fail(ENGRAM_EIO, "cannot write %s", csv);
    size_t c_state[5] = {0};
    if (f) {
        fprintf(f, "point,dir");
        for (size_t k = 0; k < w.spec->n_keys; k++) fprintf(f, ",%s", w.spec->keys[k].name);
        fprintf(f, ",seed,status");
        for (size_t c = 0; c < cols->n; c++) fprintf(f, ",%s", cols->name[c]);
        fprintf(f, ",wall_s\n");
        for (size_t i = 0; i < w.n; i++) {
            snprintf(path, sizeof path, "%s/%s/summary.json", w.dir, w.pts[i].name);
            if (!summary_read(path, sm)) sm->n = 0;
            const char *state = point_state(&w, i);
            fprintf(f, "%zu,%s", i, w.pts[i].name);
            for (size_t k = 0; k < w.spec->n_keys; k++) { fputc(',', f); csv_cell(f, w.pts[i].values[k]); }
            fprintf(f, ",%ld,%s", w.pts[i].seed, state);
            for (size_t c = 0; c < cols->n; c++) {
                const char *v = summary_get(sm, cols->name[c]);
                fputc(',', f);
                csv_cell(f, v && strcmp(v, "null") ? v : "nan");
            }
            const char *wall = summary_get(sm, "wall_s");
            fprintf(f, ",%s\n", wall ? wall : "nan");
            const char *mv = summary_get(sm, metric);
            m[i] = state_done(state) && mv && parse_real(mv, &m[i]) ? m[i] : NAN;
            static const char *names[] = {"ok", "diverged", "partial", "failed", "pending"};
            for (size_t k = 0; k < 5; k++) if (!strcmp(state, names[k])) c_state[k]++;
        }
        if (fclose(f) != 0) st = engram_fail(ENGRAM_EIO, "cannot write %s", csv);
    }
    int have_metric = 0;
    for (size_t i = 0; i < w.n; i++) have_metric |= isfinite(m[i]) != 0;
    int plotted = 0;
    if (st == ENGRAM_OK && kx >= 0 && have_metric) {
        static char pngs[3 * (SW_PATH + 32) + 16]; /* --format png,svg: one file each */
        st = formats ? figure_paths(pngs, sizeof pngs, png, formats) : ENGRAM_OK;
        if (st == ENGRAM_OK) st = collect_plot(&w, m, (size_t)kx, metric, formats ? pngs : png);
        plotted = st == ENGRAM_OK;
    }
    if (st == ENGRAM_OK) st = manifest_write(&w);
    if (st == ENGRAM_OK) {
        printf("collect %s: %zu points (%zu ok, %zu diverged, %zu partial, %zu failed, %zu pending) -> %s", w.dir, w.n,
               c_state[0], c_state[1], c_state[2], c_state[3], c_state[4], csv);
        if (plotted) printf(", %s%s%s (%s vs %s)", png, formats ? " in " : "", formats ? formats : "",
                            metric, w.spec->keys[kx].name);
        else if (kx < 0) printf(" (no swept key: no figure)");
        else printf(" (no finite %s: no figure)", metric);
        printf("\n");
    }
    free(sm); free(cols); free(m);
    sweep_close(&w);
    if (st == ENGRAM_OK && n_read == 0) return fail(1, "collect", "no point of %s has a summary.json yet", dir);
    return st == ENGRAM_OK ? 0 : fail(engram_exit_code(st), "collect", "%s", engram_error());
}

/* ---- compare as a sweep ---- */

int sweep_compare(const char *target, const char *const *rules, size_t n_rules, const long *seeds,
                  size_t n_seeds, const char *const *sets, size_t n_sets, int quick, int jobs, int quiet,
                  int force, const char *out) {
    size_t cap = 4096 + n_seeds * 12 + n_sets * 270 + n_rules * 16;
    char *text = malloc(cap), *list = malloc(n_seeds * 12 + 16);
    long *sorted = malloc(n_seeds * sizeof *sorted);
    if (!text || !list || !sorted) { free(text); free(list); free(sorted); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    memcpy(sorted, seeds, n_seeds * sizeof *sorted);
    for (size_t a = 1; a < n_seeds; a++)
        for (size_t b = a; b > 0 && sorted[b - 1] > sorted[b]; b--) { long t = sorted[b]; sorted[b] = sorted[b - 1]; sorted[b - 1] = t; }
    ranges_text(sorted, n_seeds, list, n_seeds * 12 + 16);
    int n = snprintf(text, cap, "# engram compare %s\n[sweep]\nbase = %s\ntrain.rule = ", target, target);
    for (size_t r = 0; r < n_rules; r++) n += snprintf(text + n, cap - (size_t)n, "%s%s", r ? ", " : "", rules[r]);
    /* One seed S is written S-S: a bare K means the seeds 1..K. */
    if (strchr(list, ',') || strchr(list, '-')) n += snprintf(text + n, cap - (size_t)n, "\nseeds = %s\n", list);
    else n += snprintf(text + n, cap - (size_t)n, "\nseeds = %s-%s\n", list, list);
    if (quick) n += snprintf(text + n, cap - (size_t)n, "quick = true\n");
    for (size_t i = 0; i < n_sets; i++) n += snprintf(text + n, cap - (size_t)n, "set = %s\n", sets[i]);
    free(list);
    free(sorted);
    /* Runs of another comparison in the same directory (other rules, seeds or --set)
     * are not reused: a different sweep.ini runs every point again. */
    char old_path[SW_PATH + 32];
    snprintf(old_path, sizeof old_path, "%s/sweep.ini", out);
    char *old = read_text(old_path);
    if (old && strcmp(old, text)) force = 1;
    free(old);
    sw_sweep w;
    int st = sweep_open_text(text, "compare", out, "", 1, 1, &w);
    free(text);
    if (st != ENGRAM_OK) return st;
    long *ids = malloc(w.n * sizeof *ids);
    if (!ids) { sweep_close(&w); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
    size_t n_todo = todo_list(&w, force, ids);
    st = manifest_write(&w);
    if (st == ENGRAM_OK && n_todo) {
        st = run_local(&w, ids, n_todo, jobs, 1, force, quiet);
        if (st != ENGRAM_OK && !sw_stop) st = ENGRAM_OK; /* failed points are reported per run */
    }
    int ms = manifest_write(&w);
    if (st == ENGRAM_OK) st = ms;
    free(ids);
    sweep_close(&w);
    return st;
}

int sweep_point_result(const char *dir, const char *metric, char *value, size_t value_n, char *steps,
                       size_t steps_n, double *wall, char *err, size_t err_n) {
    char path[SW_PATH + 32];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    sw_summary *s = malloc(sizeof *s);
    if (!s) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    value[0] = steps[0] = err[0] = '\0';
    *wall = 0;
    int status = ENGRAM_EIO;
    if (summary_read(path, s)) {
        const char *st = summary_get(s, "status"), *v = summary_get(s, metric), *sc = summary_get(s, "steps_to_criterion"),
                   *ws = summary_get(s, "wall_s");
        if (st && !strcmp(st, "ok")) status = ENGRAM_OK;
        else if (st && !strcmp(st, "diverged")) status = ENGRAM_EDIVERGED;
        snprintf(value, value_n, "%s", v ? v : "");
        snprintf(steps, steps_n, "%s", sc ? sc : "");
        if (ws) *wall = strtod(ws, NULL);
    }
    if (status != ENGRAM_OK) {
        /* The reason: the last "engram" line of the point's log. */
        const char *slash = strrchr(dir, '/');
        char log[SW_PATH + 300];
        snprintf(log, sizeof log, "%.*s/logs/%s.log", slash ? (int)(slash - dir) : 1, slash ? dir : ".", slash ? slash + 1 : dir);
        char *text = read_text(log);
        for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
            if (!strncmp(line, "engram", 6)) snprintf(err, err_n, "%s", line);
        free(text);
        if (!err[0]) snprintf(err, err_n, "no summary.json in %s", dir);
    }
    free(s);
    return status;
}
