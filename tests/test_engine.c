/* test_engine.c: the sequence engine: npy, config, rng streams, tasks and batches,
 * metrics/summary files, checkpoints, optimisers. */
#include <gsl/gsl_rng.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/npy.h"
#include "engram/optim.h"
#include "engram/rng.h"
#include "engram/run.h"
#include "engram/task.h"
#include "testhelp.h"

static char tmpdir[256];

static const char *tmp(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_npy_roundtrip(void) {
    double a[2 * 3 * 5];
    for (size_t i = 0; i < 30; i++) a[i] = 2.385 * (double)i - 7.0 / 3.0;
    a[7] = NAN;
    size_t shape[3] = {2, 3, 5};
    CHECK(npy_write(tmp("a.npy"), a, 3, shape) == ENGRAM_OK, "npy_write 3-d array");
    double *b;
    size_t nd, sh[NPY_MAX_DIMS];
    CHECK(npy_read(tmp("a.npy"), &b, &nd, sh) == ENGRAM_OK, "npy_read it back");
    CHECK(nd == 3 && sh[0] == 2 && sh[1] == 3 && sh[2] == 5, "shape (2, 3, 5) preserved");
    int same = 1;
    for (size_t i = 0; i < 30; i++) same &= memcmp(&a[i], &b[i], sizeof(double)) == 0;
    CHECK(same, "all 30 values bit-identical (NaN included)");
    free(b);
    /* Header: 64-byte aligned data and the exact dict text numpy writes. */
    FILE *f = fopen(tmp("a.npy"), "rb");
    unsigned char hdr[128];
    size_t got = fread(hdr, 1, sizeof hdr, f);
    fclose(f);
    size_t hlen = (size_t)hdr[8] | ((size_t)hdr[9] << 8);
    CHECK(got == 128 && (10 + hlen) % 64 == 0, "data starts on a 64-byte boundary (header %zu)", 10 + hlen);
    CHECK(memcmp(hdr + 10, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 5), }", 60) == 0,
          "header dict as numpy writes it");
    double one = 4.5;
    size_t s1[1] = {1};
    CHECK(npy_write(tmp("v.npy"), &one, 1, s1) == ENGRAM_OK && npy_read(tmp("v.npy"), &b, &nd, sh) == ENGRAM_OK &&
              nd == 1 && sh[0] == 1 && b[0] == 4.5, "1-d array of one value");
    free(b);
    /* Independent reader: NumPy itself, when the system python has it. */
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import numpy as np, sys; a=np.load('%s'); "
                 "sys.exit(0 if a.shape==(2,3,5) and a.dtype=='<f8' and abs(a[0,2,4]-(2.385*14-7/3))<1e-15 "
                 "and np.isnan(a[0,1,2]) else 1)\"", tmp("a.npy"));
        CHECK(system(cmd) == 0, "numpy.load reads the file with the same shape and values");
    } else {
        printf("note: /usr/bin/python3 has no numpy; the numpy.load cross-check was not run\n");
    }
}

static void test_npy_errors(void) {
    double *b;
    size_t nd, sh[NPY_MAX_DIMS];
    CHECK(npy_read(tmp("missing.npy"), &b, &nd, sh) == ENGRAM_EIO, "missing file -> EIO: %s", engram_error());
    write_text(tmp("foreign.npy"), "this is not an array\n");
    CHECK(npy_read(tmp("foreign.npy"), &b, &nd, sh) == ENGRAM_EFORMAT, "foreign file -> EFORMAT: %s", engram_error());
    double a[12] = {0};
    size_t shape[2] = {3, 4};
    npy_write(tmp("t.npy"), a, 2, shape);
    CHECK(truncate(tmp("t.npy"), 64 + 40) == 0, "truncate the file");
    CHECK(npy_read(tmp("t.npy"), &b, &nd, sh) == ENGRAM_EFORMAT, "truncated data -> EFORMAT: %s", engram_error());
    CHECK(truncate(tmp("t.npy"), 30) == 0 && npy_read(tmp("t.npy"), &b, &nd, sh) == ENGRAM_EFORMAT,
          "truncated header -> EFORMAT: %s", engram_error());
    FILE *f = fopen(tmp("i4.npy"), "wb");
    const char h[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
    fwrite(h, 1, sizeof h - 1, f);
    for (size_t i = sizeof h - 1; i < 127; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite("\1\0\0\0\2\0\0\0", 1, 8, f);
    fclose(f);
    CHECK(npy_read(tmp("i4.npy"), &b, &nd, sh) == ENGRAM_EFORMAT, "int32 array refused: %s", engram_error());
    CHECK(npy_write("/nonexistent-dir/x.npy", a, 2, shape) == ENGRAM_EIO, "unwritable path -> EIO");
    /* A header claiming far more data than the file holds is refused before allocating
     * (regression: tests/fuzz/corpus/npy/regress_huge_shape.npy). */
    f = fopen(tmp("huge.npy"), "wb");
    const char hh[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, 'shape': (24294967296, 2), }";
    fwrite(hh, 1, sizeof hh - 1, f);
    for (size_t i = sizeof hh - 1; i < 127; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(a, sizeof(double), 4, f);
    fclose(f);
    CHECK(npy_read(tmp("huge.npy"), &b, &nd, sh) == ENGRAM_EFORMAT, "huge claimed shape refused as truncated: %s", engram_error());
}

static const cfg_key test_keys[] = {
    {"model.n_rec", CFG_INT, "100", 1, 5000, NULL, "units"},
    {"model.leak", CFG_REAL, "0.3", 0, 1, NULL, "leak rate"},
    {"train.rule", CFG_ENUM, "bptt", 0, 0, "bptt|fa|rflo", "rule"},
    {"train.verbose", CFG_BOOL, "false", 0, 0, NULL, "chatty"},
    {"run.note", CFG_STR, "", 0, 0, NULL, "a note"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

static config *test_config(void) {
    const cfg_key *t[] = {config_common_keys, test_keys, NULL};
    return config_alloc(t);
}

static void test_config_values(void) {
    config *c = test_config();
    CHECK(config_int(c, "model.n_rec") == 100 && config_real(c, "model.leak") == 0.3, "defaults");
    write_text(tmp("ok.ini"), "# comment\n[run]\nexperiment = demo\n[model]\nn_rec = 250\nleak = 0.125\n"
                              "[train]\nrule = fa\nverbose = yes\n");
    CHECK(config_load(c, tmp("ok.ini")) == ENGRAM_OK, "valid file loads");
    CHECK(config_int(c, "model.n_rec") == 250 && config_real(c, "model.leak") == 0.125 &&
              !strcmp(config_str(c, "train.rule"), "fa") && config_bool(c, "train.verbose") == 1,
          "values read from the file");
    CHECK(config_set(c, "model.leak=0.5", "--set") == ENGRAM_OK && config_real(c, "model.leak") == 0.5, "--set overrides");
    CHECK(config_write(c, tmp("round.ini")) == ENGRAM_OK, "config_write");
    config *d = test_config();
    CHECK(config_load(d, tmp("round.ini")) == ENGRAM_OK && config_real(d, "model.leak") == 0.5 &&
              config_int(d, "model.n_rec") == 250 && !strcmp(config_str(d, "run.experiment"), "demo"),
          "written configuration reads back to the same values");
    config_free(d);
    config_free(c);
}

static void test_config_errors(void) {
    config *c = test_config();
    struct { const char *text, *expect; } cases[] = {
        {"[run]\nexperiment = x\n[bogus]\nkey = 1\n", ":4: unknown section [bogus]"},
        {"[model]\nn_rec = 10\nn_recc = 5\n", ":3: unknown key 'model.n_recc'"},
        {"[model]\nn_rec = ten\n", ":2: model.n_rec = 'ten' is not an integer"},
        {"[model]\nn_rec = 0\n", ":2: model.n_rec = 0 is out of range"},
        {"[model]\nleak = 1.5\n", ":2: model.leak = 1.5 is out of range"},
        {"[model]\nleak = nan\n", ":2: model.leak = 'nan' is not a finite number"},
        {"[train]\nrule = backprop\n", ":2: train.rule = 'backprop' is not one of bptt|fa|rflo"},
        {"[train]\nverbose = maybe\n", ":2: train.verbose = 'maybe' is not a boolean"},
        {"[model\nn_rec = 3\n", ":1: syntax error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(tmp("bad.ini"), cases[i].text);
        int st = config_load(c, tmp("bad.ini"));
        CHECK(st == ENGRAM_EINVAL && strstr(engram_error(), cases[i].expect) != NULL &&
                  strstr(engram_error(), "bad.ini") != NULL,
              "bad file %zu refused with file and line: %s", i, engram_error());
    }
    CHECK(config_load(c, tmp("does-not-exist.ini")) == ENGRAM_EIO, "missing file -> EIO: %s", engram_error());
    CHECK(config_set(c, "model.n_rec", "--set") == ENGRAM_EINVAL, "assignment without '=' refused: %s", engram_error());
    CHECK(config_set(c, "nosuch.key=1", "--set") == ENGRAM_EINVAL && strstr(engram_error(), "--set"),
          "--set of an unknown key names its origin: %s", engram_error());
    /* Values config.ini could not hold are refused (regressions found by fuzzing). */
    CHECK(config_set(c, "run.note=a\nmodel.n_rec=3", "--set") == ENGRAM_EINVAL, "newline in a value refused: %s", engram_error());
    CHECK(config_set(c, "run.note=x ;y", "--set") == ENGRAM_EINVAL, "';' after a blank refused: %s", engram_error());
    char longline[400] = "# ";
    for (int i = 0; i < 300; i++) strcat(longline, "x");
    strcat(longline, " n_rec = 7\n[model]\nleak = 0.25\n");
    char text[460] = "[model]\n";
    strcat(text, longline);
    write_text(tmp("long.ini"), text);
    config *fresh = test_config();
    CHECK(config_load(fresh, tmp("long.ini")) == ENGRAM_OK && config_int(fresh, "model.n_rec") == 100 &&
              config_real(fresh, "model.leak") == 0.25, "the tail of a long comment line is not read as a key");
    config_free(fresh);
    config_free(c);
}

static void test_rng_streams(void) {
    gsl_rng *a = rng_stream_alloc(42, "weights", 0), *b = rng_stream_alloc(42, "weights", 0);
    gsl_rng *c = rng_stream_alloc(42, "data", 0), *d = rng_stream_alloc(42, "weights", 1);
    gsl_rng *e = rng_stream_alloc(43, "weights", 0);
    int same = 1, diff_c = 0, diff_d = 0, diff_e = 0;
    for (int i = 0; i < 100; i++) {
        unsigned long x = gsl_rng_get(a);
        same &= x == gsl_rng_get(b);
        diff_c += x != gsl_rng_get(c);
        diff_d += x != gsl_rng_get(d);
        diff_e += x != gsl_rng_get(e);
    }
    CHECK(same, "same (seed, name, index) gives the same stream");
    CHECK(diff_c > 95 && diff_d > 95 && diff_e > 95, "another name, index or seed gives another stream");
    CHECK(rng_stream_seed(1, "a", 0) != rng_stream_seed(1, "b", 0), "derived seeds differ by name");
    /* Mean of uniforms from many streams: independence smoke test (1/sqrt(12 n) std). */
    double s = 0;
    for (uint64_t k = 0; k < 1000; k++) {
        rng_stream_reset(a, 7, "noise", k);
        s += gsl_rng_uniform(a);
    }
    CHECK(fabs(s / 1000 - 0.5) < 4 * sqrt(1.0 / 12 / 1000), "first draws of 1000 streams average %.4f", s / 1000);
    gsl_rng_free(a); gsl_rng_free(b); gsl_rng_free(c); gsl_rng_free(d); gsl_rng_free(e);
}

/* rng_uniform_fill against gsl_rng_uniform: the same values across the 624-word block
 * boundaries, with calls of odd lengths interleaved with single draws, for mt19937 and for
 * another type (the one-call-at-a-time fallback). */
static void test_rng_uniform_fill(void) {
    const gsl_rng_type *types[2] = {gsl_rng_mt19937, gsl_rng_taus2};
    for (int ti = 0; ti < 2; ti++) {
        gsl_rng *a = gsl_rng_alloc(types[ti]), *b = gsl_rng_alloc(types[ti]);
        gsl_rng_set(a, 12345);
        gsl_rng_set(b, 12345);
        static double buf[3000];
        const size_t lens[] = {1, 256, 623, 624, 625, 7, 1300, 0, 2999};
        int same = 1;
        size_t total = 0;
        for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
            rng_uniform_fill(a, buf, lens[li]);
            for (size_t i = 0; i < lens[li]; i++) same &= buf[i] == gsl_rng_uniform(b);
            same &= gsl_rng_uniform(a) == gsl_rng_uniform(b);
            total += lens[li] + 1;
        }
        CHECK(same, "rng_uniform_fill (%s) gives gsl_rng_uniform's %zu values", gsl_rng_name(a), total);
        gsl_rng_free(a);
        gsl_rng_free(b);
    }
}

/* A toy task: T = 2 + (draw mod 4), x = step index, y = 2x, mask all but step 0. */
static size_t toy_fill(const task *t, gsl_rng *r, double *x, double *y, double *mask) {
    size_t T = 2 + gsl_rng_uniform_int(r, 4);
    (void)t;
    for (size_t i = 0; i < T; i++) {
        x[i] = (double)i;
        y[i] = 2.0 * (double)i;
        mask[i] = i > 0;
    }
    return T;
}
static const task_type toy_type = {"toy", toy_fill, NULL};

static void test_batches(void) {
    task *t = calloc(1, sizeof *t);
    t->type = &toy_type;
    t->n_in = t->n_out = 1;
    t->t_max = 5;
    trial_batch *b = trial_batch_alloc(16, t), *c = trial_batch_alloc(16, t);
    gsl_rng *r1 = rng_stream_alloc(3, "data", 0), *r2 = rng_stream_alloc(3, "data", 0);
    trial_batch_fill(b, t, r1);
    trial_batch_fill(c, t, r2);
    int ok = 1, pad = 1, lens = 1;
    for (size_t i = 0; i < 16; i++) {
        lens &= b->len[i] >= 2 && b->len[i] <= 5 && b->len[i] == c->len[i];
        for (size_t k = 0; k < 5; k++) {
            double x = b->x[i * 5 + k], m = b->mask[i * 5 + k];
            if (k < b->len[i]) ok &= x == (double)k && b->y[i * 5 + k] == 2 * x && m == (k > 0);
            else pad &= x == 0 && m == 0 && b->y[i * 5 + k] == 0;
        }
    }
    CHECK(lens, "lengths in range and reproducible from the same stream");
    CHECK(ok, "trial contents at (b, t) offsets");
    CHECK(pad, "padding is zero input, target and mask");
    gsl_rng_free(r1); gsl_rng_free(r2);
    trial_batch_free(b); trial_batch_free(c);
    task_free(t);
}

static void test_run_files(void) {
    run_ctx *ctx = calloc(1, sizeof *ctx);
    snprintf(ctx->out_dir, sizeof ctx->out_dir, "%s/run1/nested", tmpdir);
    CHECK(run_dir_prepare(ctx, 0) == ENGRAM_OK, "creates nested output directory");
    ctx->experiment = "demo";
    ctx->rule = "bptt";
    ctx->seed = 9;
    ctx->threads = 2;
    ctx->t_start = engram_wall_time();
    const char *cols[2] = {"loss", "accuracy"};
    CHECK(run_metrics_begin(ctx, cols, 2, 0) == ENGRAM_OK, "metrics.csv opened");
    for (long s = 0; s <= 40; s += 10) {
        double v[2] = {1.0 / (double)(s + 1), (double)s / 40};
        run_metrics_row(ctx, s, v);
    }
    fclose(ctx->metrics);
    ctx->metrics = NULL;
    /* Resume from step 20: rows 30 and 40 are dropped, then re-appended. */
    ctx->resuming = 1;
    CHECK(run_metrics_begin(ctx, cols, 2, 20) == ENGRAM_OK, "metrics.csv reopened for resume");
    double v[2] = {0.5, 0.75};
    run_metrics_row(ctx, 30, v);
    fclose(ctx->metrics);
    ctx->metrics = NULL;
    FILE *f = fopen(run_path(ctx, "metrics.csv"), "r");
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    int lines = 0;
    for (char *p = buf; *p; p++) lines += *p == '\n';
    CHECK(strncmp(buf, "step,loss,accuracy,wall_s\n0,1,0,", 31) == 0, "header and first row");
    CHECK(lines == 5 && strstr(buf, "\n30,0.5,0.75,") && !strstr(buf, "\n40,"), "resume kept rows <= 20 and appended 30");
    char **names;
    double *vals;
    size_t nc, nr;
    CHECK(run_csv_read(run_path(ctx, "metrics.csv"), &names, &nc, &vals, &nr) == ENGRAM_OK && nc == 4 &&
              nr == 4 && !strcmp(names[1], "loss") && !strcmp(names[3], "wall_s") && vals[3 * 4 + 0] == 30 &&
              vals[3 * 4 + 2] == 0.75 && fabs(vals[1 * 4 + 1] - 1.0 / 11) < 1e-10, /* written with 10 digits */
          "run_csv_read reads metrics.csv back (4 columns, 4 rows, values)");
    run_csv_free(names, nc, vals);
    write_text(run_path(ctx, "empty.csv"), "");
    CHECK(run_csv_read(run_path(ctx, "empty.csv"), &names, &nc, &vals, &nr) == ENGRAM_EINVAL,
          "an empty CSV is refused: %s", engram_error());
    run_summary_real(ctx, "accuracy", 0.96875);
    run_summary_int(ctx, "steps", 300);
    run_summary_real(ctx, "loss", NAN);
    run_summary_str(ctx, "readout", "ridge \"x\"");
    CHECK(run_summary_write(ctx, "ok", 0) == ENGRAM_OK, "summary.json written");
    f = fopen(run_path(ctx, "summary.json"), "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    CHECK(strstr(buf, "\"experiment\": \"demo\"") && strstr(buf, "\"seed\": 9") && strstr(buf, "\"threads\": 2") &&
              strstr(buf, "\"status\": \"ok\"") && strstr(buf, "\"accuracy\": 0.96875") &&
              strstr(buf, "\"loss\": null") && strstr(buf, "\"readout\": \"ridge \\\"x\\\"\"") &&
              strstr(buf, "\"version\": \"" ENGRAM_VERSION "\""),
          "summary.json fields (NaN written as null, strings escaped)");
    write_text(run_path(ctx, "config.ini"), "[run]\n");
    run_dir_unlock(ctx);
    CHECK(run_dir_prepare(ctx, 0) == ENGRAM_EINVAL, "existing run refused without force: %s", engram_error());
    CHECK(run_dir_prepare(ctx, 1) == ENGRAM_OK, "existing run accepted with force");
    run_dir_unlock(ctx);
    run_ctx *bad = calloc(1, sizeof *bad);
    snprintf(bad->out_dir, sizeof bad->out_dir, "/proc/engram-cannot-create");
    CHECK(run_dir_prepare(bad, 0) == ENGRAM_EIO, "uncreatable directory -> EIO: %s", engram_error());
    free(bad);
    free(ctx);
}

/* A second holder of a run directory is refused, naming the first; --force removes
 * engram's files only. */
static void test_run_lock_and_clear(void) {
    run_ctx *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    snprintf(a->out_dir, sizeof a->out_dir, "%s/locked", tmpdir);
    snprintf(b->out_dir, sizeof b->out_dir, "%s/locked", tmpdir);
    CHECK(run_dir_prepare(a, 0) == ENGRAM_OK, "first run takes the directory");
    char pid[32];
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    CHECK(run_dir_prepare(b, 0) == ENGRAM_EINVAL && strstr(engram_error(), pid),
          "second run refused while the first holds the lock: %s", engram_error());
    CHECK(run_dir_lock(b) == ENGRAM_EINVAL, "run_dir_lock refused too (resume)");
    run_dir_unlock(a);
    CHECK(run_dir_prepare(b, 0) == ENGRAM_OK, "lock free again after unlock");
    run_dir_unlock(b);
    write_text(run_path(a, "config.ini"), "[run]\n");
    write_text(run_path(a, "weights.npy"), "x");
    write_text(run_path(a, "fig.svg"), "x");
    write_text(run_path(a, "checkpoint.bin"), "x");
    write_text(run_path(a, "notes.txt"), "mine");
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/bptt-seed2", a->out_dir);
    mkdir(sub, 0777);
    snprintf(sub, sizeof sub, "%s/bptt-seed2/metrics.csv", a->out_dir);
    write_text(sub, "step\n");
    snprintf(sub, sizeof sub, "%s/mydata", a->out_dir);
    mkdir(sub, 0777);
    snprintf(sub, sizeof sub, "%s/mydata/x.npy", a->out_dir);
    write_text(sub, "x");
    CHECK(run_dir_prepare(a, 1) == ENGRAM_OK, "force on a directory holding a run");
    CHECK(access(run_path(a, "config.ini"), F_OK) != 0 && access(run_path(a, "weights.npy"), F_OK) != 0 &&
              access(run_path(a, "fig.svg"), F_OK) != 0 && access(run_path(a, "checkpoint.bin"), F_OK) != 0 &&
              access(run_path(a, "bptt-seed2"), F_OK) != 0,
          "force removed config.ini, .npy, .svg, checkpoint.bin and a compare run directory");
    CHECK(access(run_path(a, "notes.txt"), F_OK) == 0 && access(sub, F_OK) == 0,
          "force kept a foreign file and a foreign subdirectory");
    run_dir_unlock(a);
    free(a);
    free(b);
    char name[PATH_MAX + 8];
    memset(name, 'a', sizeof name);
    name[RUN_DIR_MAX + 1] = '\0';
    CHECK(run_dir_check(name) == ENGRAM_EINVAL, "a directory name over RUN_DIR_MAX refused: %.60s", engram_error());
    name[RUN_DIR_MAX] = '\0';
    CHECK(run_dir_check(name) == ENGRAM_OK, "a directory name of RUN_DIR_MAX bytes accepted");
    CHECK(run_dir_check("runs/a\nb") == ENGRAM_EINVAL && strstr(engram_error(), "0x0a"),
          "a newline in a directory name refused: %s", engram_error());
    char u1[PATH_MAX], u2[PATH_MAX], parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/uniq", tmpdir);
    CHECK(run_dir_make_unique(parent, "x", u1, sizeof u1) == ENGRAM_OK &&
              run_dir_make_unique(parent, "x", u2, sizeof u2) == ENGRAM_OK && strcmp(u1, u2) != 0 &&
              strlen(u2) > 2 && !strcmp(u2 + strlen(u2) - 2, "-2"),
          "make_unique gives %s then %s", u1, u2);
}

/* float32 and big-endian .npy files, written byte by byte here, are read as doubles. */
static void write_npy_raw(const char *path, const char *descr, const unsigned char *data, size_t n) {
    char dict[128];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (3,), }", descr);
    size_t pad = (64 - (10 + (size_t)len + 1) % 64) % 64;
    size_t hlen = (size_t)len + pad + 1;
    FILE *f = fopen(path, "wb");
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hlen & 0xff), f);
    fputc((int)(hlen >> 8), f);
    fwrite(dict, 1, (size_t)len, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(data, 1, n, f);
    fclose(f);
}

static void test_npy_float32(void) {
    /* 2.385, -0.5, 1e-3 as IEEE float32 little-endian (0x4018a3d7, 0xbf000000, 0x3a83126f) */
    const unsigned char le4[12] = {0xd7, 0xa3, 0x18, 0x40, 0, 0, 0, 0xbf, 0x6f, 0x12, 0x83, 0x3a};
    unsigned char be4[12], be8[24];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++) be4[4 * i + k] = le4[4 * i + 3 - k];
    const double want8[3] = {2.385, -0.5, 1e-3};
    for (int i = 0; i < 3; i++) {
        unsigned char b[8];
        memcpy(b, &want8[i], 8);
        for (int k = 0; k < 8; k++) be8[8 * i + k] = b[7 - k];
    }
    double *x;
    size_t nd, sh[NPY_MAX_DIMS];
    write_npy_raw(tmp("f4.npy"), "<f4", le4, 12);
    CHECK(npy_read(tmp("f4.npy"), &x, &nd, sh) == ENGRAM_OK && nd == 1 && sh[0] == 3 &&
              x[0] == (double)2.385f && x[1] == -0.5 && x[2] == (double)1e-3f,
          "'<f4' read and widened: %s", engram_error());
    free(x);
    write_npy_raw(tmp("bf4.npy"), ">f4", be4, 12);
    CHECK(npy_read(tmp("bf4.npy"), &x, &nd, sh) == ENGRAM_OK && x[0] == (double)2.385f && x[2] == (double)1e-3f,
          "'>f4' read: %s", engram_error());
    free(x);
    write_npy_raw(tmp("bf8.npy"), ">f8", be8, 24);
    CHECK(npy_read(tmp("bf8.npy"), &x, &nd, sh) == ENGRAM_OK && x[0] == 2.385 && x[1] == -0.5 && x[2] == 1e-3,
          "'>f8' read: %s", engram_error());
    free(x);
    write_npy_raw(tmp("short4.npy"), "<f4", le4, 8);
    CHECK(npy_read(tmp("short4.npy"), &x, &nd, sh) == ENGRAM_EFORMAT, "truncated '<f4' refused: %s", engram_error());
    write_npy_raw(tmp("i4.npy"), "<i4", le4, 12);
    CHECK(npy_read(tmp("i4.npy"), &x, &nd, sh) == ENGRAM_EFORMAT, "'<i4' refused: %s", engram_error());
}

/* A checkpoint carries the configuration hash; a different one is refused. */
static void test_checkpoint_hash(void) {
    static const cfg_key keys[] = {{"train.steps", CFG_INT, "100", 0, 1e9, NULL, "steps"},
                                   {"train.lr", CFG_REAL, "0.1", 0, 10, NULL, "rate"},
                                   {NULL, CFG_INT, NULL, 0, 0, NULL, NULL}};
    const cfg_key *tables[] = {config_common_keys, keys, NULL};
    config *c1 = config_alloc(tables), *c2 = config_alloc(tables);
    static const char *const skip[] = {"train.steps", NULL};
    CHECK(config_hash(c1, skip) == config_hash(c2, skip), "equal configurations hash alike");
    config_set(c2, "train.steps=500", "test");
    CHECK(config_hash(c1, skip) == config_hash(c2, skip), "a skipped key does not change the hash");
    CHECK(config_hash(c1, NULL) != config_hash(c2, NULL), "an unskipped key changes the hash");
    config_set(c2, "train.lr=0.2", "test");
    CHECK(config_hash(c1, skip) != config_hash(c2, skip), "train.lr changes the hash");
    run_ctx *ctx = calloc(1, sizeof *ctx);
    snprintf(ctx->out_dir, sizeof ctx->out_dir, "%s", tmpdir);
    ctx->experiment = "demo";
    double w[4] = {1.5, 2.385, -3, 4}, hist[6] = {1, 2, 3, 4, 5, 6}, w2[4], hist2[10];
    ckpt_blob out[2] = {{"w", w, sizeof w}, {"hist", hist, sizeof hist}};
    ctx->config_hash = config_hash(c1, skip);
    CHECK(run_ckpt_save(ctx, 7, out, 2) == ENGRAM_OK, "run_ckpt_save");
    long step = 0;
    for (int i = 0; i < 10; i++) hist2[i] = -1;
    ckpt_blob in[2] = {{"w", w2, sizeof w2}, {"hist", hist2, sizeof hist2}};
    CHECK(run_ckpt_load(ctx, &step, in, 2, NULL) == ENGRAM_EFORMAT, "a longer block refused unless growable");
    CHECK(run_ckpt_load(ctx, &step, in, 2, "hist") == ENGRAM_OK && step == 7 && w2[1] == 2.385 &&
              hist2[5] == 6 && hist2[6] == -1,
          "growable block read into a larger buffer, the rest untouched: %s", engram_error());
    ctx->config_hash = config_hash(c2, skip);
    CHECK(run_ckpt_load(ctx, &step, in, 2, "hist") == ENGRAM_EFORMAT &&
              strstr(engram_error(), "another configuration"),
          "another configuration refused: %s", engram_error());
    CHECK(ckpt_load(run_path(ctx, "checkpoint.bin"), "demo", &step, in, 2) == ENGRAM_EFORMAT,
          "ckpt_load (hash 0) refuses a hashed checkpoint");
    /* A version-1 file (before the hash) is refused with the version in the message. */
    FILE *f = fopen(run_path(ctx, "checkpoint.bin"), "r+b");
    fseek(f, 8, SEEK_SET);
    fputc(1, f);
    fclose(f);
    CHECK(run_ckpt_load(ctx, &step, in, 2, "hist") == ENGRAM_EFORMAT && strstr(engram_error(), "version 1"),
          "format version 1 refused: %s", engram_error());
    free(ctx);
    config_free(c1);
    config_free(c2);
}

static void test_checkpoints(void) {
    double w[5] = {1.5, -2.25, 3.125, 0, 9e9};
    gsl_rng *r = rng_stream_alloc(5, "data", 0);
    for (int i = 0; i < 17; i++) gsl_rng_get(r);
    ckpt_blob blobs[2] = {{"weights", w, sizeof w}, {"rng", gsl_rng_state(r), gsl_rng_size(r)}};
    const char *p = tmp("ck.bin");
    CHECK(ckpt_save(p, "demo", 1234, blobs, 2) == ENGRAM_OK, "checkpoint saved");
    unsigned long next = gsl_rng_get(r);
    double w2[5] = {0};
    gsl_rng *r2 = rng_stream_alloc(99, "other", 0);
    ckpt_blob in[2] = {{"weights", w2, sizeof w2}, {"rng", gsl_rng_state(r2), gsl_rng_size(r2)}};
    long step = 0;
    CHECK(ckpt_load(p, "demo", &step, in, 2) == ENGRAM_OK && step == 1234, "checkpoint loaded at step 1234");
    CHECK(memcmp(w, w2, sizeof w) == 0, "weights restored bit for bit");
    CHECK(gsl_rng_get(r2) == next, "random stream continues where it stopped");
    CHECK(ckpt_load(p, "other", &step, in, 2) == ENGRAM_EFORMAT, "wrong experiment refused: %s", engram_error());
    ckpt_blob small[2] = {{"weights", w2, 4 * sizeof(double)}, in[1]};
    CHECK(ckpt_load(p, "demo", &step, small, 2) == ENGRAM_EFORMAT, "size mismatch refused: %s", engram_error());
    CHECK(ckpt_load(p, "demo", &step, in, 1) == ENGRAM_EFORMAT, "block count mismatch refused: %s", engram_error());
    /* Corrupt one data byte: checksum. */
    FILE *f = fopen(p, "r+b");
    fseek(f, 60, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 60, SEEK_SET);
    fputc(ch ^ 0x5a, f);
    fclose(f);
    CHECK(ckpt_load(p, "demo", &step, in, 2) == ENGRAM_EFORMAT, "corrupted byte refused: %s", engram_error());
    ckpt_save(p, "demo", 1234, blobs, 2);
    CHECK(truncate(p, 70) == 0 && ckpt_load(p, "demo", &step, in, 2) == ENGRAM_EFORMAT, "truncated checkpoint refused: %s", engram_error());
    write_text(p, "PK\3\4 some zip file");
    CHECK(ckpt_load(p, "demo", &step, in, 2) == ENGRAM_EFORMAT && strstr(engram_error(), "magic"), "foreign file refused: %s", engram_error());
    CHECK(ckpt_load(tmp("none.bin"), "demo", &step, in, 2) == ENGRAM_EIO, "missing checkpoint -> EIO");
    gsl_rng_free(r);
    gsl_rng_free(r2);
}

static void test_optimisers(void) {
    /* Adam, two steps on w = 0.7 with gradients 0.3 then -0.2 (lr 0.1, b1 0.9, b2 0.999,
     * eps 1e-8), computed by hand:
     * t=1: m = 0.03, v = 9e-5; mhat = 0.3, vhat = 0.09; w = 0.7 - 0.1*0.3/(0.3+1e-8)
     * t=2: m = 0.027 - 0.02 = 0.007, v = 8.991e-5 + 4e-5 = 1.2991e-4;
     *      mhat = 0.007/0.19, vhat = 1.2991e-4/0.001999 */
    optim_params p = optim_defaults(OPTIM_ADAM);
    p.lr = 0.1;
    optim *o = optim_alloc(&p, 1);
    double w = 0.7, g = 0.3;
    optim_step(o, &w, &g);
    double w1 = 0.7 - 0.1 * 0.3 / (0.3 + 1e-8);
    CHECK_CLOSE(w, w1, 1e-15, "Adam step 1");
    g = -0.2;
    optim_step(o, &w, &g);
    double w2 = w1 - 0.1 * (0.007 / 0.19) / (sqrt(1.2991e-4 / 0.001999) + 1e-8);
    CHECK_CLOSE(w, w2, 1e-14, "Adam step 2");
    optim_free(o);
    /* SGD with clipping by norm: g = (3, 4) has norm 5, clipped to 1 -> (0.6, 0.8). */
    p = optim_defaults(OPTIM_SGD);
    p.lr = 0.5;
    p.clip_norm = 1;
    o = optim_alloc(&p, 2);
    double w3[2] = {1, 1}, g3[2] = {3, 4};
    optim_step(o, w3, g3);
    CHECK(fabs(w3[0] - 0.7) < 1e-15 && fabs(w3[1] - 0.6) < 1e-15, "SGD with norm clipping");
    p.clip_norm = 0;
    p.clip_value = 0.5;
    optim_free(o);
    o = optim_alloc(&p, 2);
    double g4[2] = {3, -0.25};
    w3[0] = w3[1] = 0;
    optim_step(o, w3, g4);
    CHECK(w3[0] == -0.25 && w3[1] == 0.125, "SGD with value clipping");
    double g5[2] = {NAN, 1};
    CHECK(optim_step(o, w3, g5) == ENGRAM_EDIVERGED && w3[0] == -0.25, "non-finite gradient -> EDIVERGED, weights kept");
    optim_free(o);
    optim_kind k;
    CHECK(optim_kind_parse("rmsprop-tf", &k) == ENGRAM_OK && k == OPTIM_RMSPROP_TF, "parse rmsprop-tf");
    CHECK(optim_kind_parse("adagrad", &k) == ENGRAM_EINVAL, "unknown optimiser refused: %s", engram_error());
}

static const test_case tests[] = {
    {"npy_roundtrip", test_npy_roundtrip},
    {"npy_errors", test_npy_errors},
    {"config_values", test_config_values},
    {"config_errors", test_config_errors},
    {"rng_streams", test_rng_streams},
    {"rng_uniform_fill", test_rng_uniform_fill},
    {"batches", test_batches},
    {"run_files", test_run_files},
    {"checkpoints", test_checkpoints},
    {"run_lock_and_clear", test_run_lock_and_clear},
    {"npy_float32", test_npy_float32},
    {"checkpoint_hash", test_checkpoint_hash},
    {"optimisers", test_optimisers},
    {NULL, NULL},
};

int main(int argc, char **argv) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/engram-test-engine-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmpdir);
    if (system(cmd) != 0) return 2;
    int rc = test_main(argc, argv, tests);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    return rc;
}
