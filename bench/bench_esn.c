/* bench_esn.c: echo-state network fit (ridge) and run on Mackey-Glass, N = 1000,
 * 10,000 steps (100 washout, 7,900 training, 2,000 test), against a plain NumPy
 * implementation of the same network (bench/esn_ref.py, same W, W_in, b and series)
 * run in the same invocation with /usr/bin/python3.
 *
 * Usage: build/bench/bench_esn [N] [--no-ref] [--repeat K] [--no-gsl] [--no-big] [--rpy-repeat K]
 * Prints engram's and NumPy's times (build = W, W_in, b and the exact spectral radius,
 * fit = states + X^T X + solve, run = test predictions), engram's fit broken into
 * reservoir states / Gram accumulation / Cholesky solve, the build time of GSL's
 * reference eigen solver (esn_spectral_radius_gsl) on the same W, both test NRMSEs,
 * and the ratios NumPy / engram for fit+run and for build+fit+run. With --repeat K
 * every phase (engram and NumPy) is timed K times and the minimum is printed. The load
 * average (/proc/loadavg) is printed before and after, since the machine is shared, and
 * so are the CPU seconds of each phase (process CPU time, summed over threads), which on
 * a loaded machine track the unloaded single-thread time better than the wall clock.
 * The radius solver is the default (`auto`: ARPACK above N = 500, with its second-start
 * check). Then: the state update's GFLOP/s (2 flops per non-zero of W), B = 8 series
 * stepped together (SpMM) against 8 single steps on the same reservoir, and the build
 * of a sparse N = 10,000 reservoir (ARPACK radius with and without its check, 10 non-zeros per row; --no-big skips
 * it). When RESERVOIRPY_PATH points at ReservoirPy's source (0.4.2), its ESN runs the
 * same task (bench/esn_reservoirpy.py: same N, non-zeros per row, radius, scalings, ridge
 * and steps, its own random draws) in K repeats interleaved with engram's build + fit +
 * run (--rpy-repeat K, default 5; 0 skips it), and the median of the per-repeat ratios is
 * printed, wall and CPU. bench/reservoirpy_compat.py supplies the three NumPy >= 1.25 /
 * SciPy >= 1.12 functions ReservoirPy calls that Debian 12's 1.24 and 1.10 lack.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/engram.h"
#include "engram/esn.h"
#include "engram/kernels.h"
#include "engram/npy.h"
#include "engram/readout.h"
#include "engram/series.h"

static double std_pop(const double *y, size_t n) {
    double m = 0.0, v = 0.0;
    for (size_t i = 0; i < n; i++) m += y[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) v += (y[i] - m) * (y[i] - m);
    return sqrt(v / (double)n);
}

static void print_load(const char *when) {
    FILE *f = fopen("/proc/loadavg", "r");
    char buf[128] = "?";
    if (f) {
        if (!fgets(buf, sizeof buf, f)) strcpy(buf, "?\n");
        fclose(f);
    }
    printf("load average %s: %s", when, buf);
    if (!strchr(buf, '\n')) putchar('\n');
}

static double min_d(double a, double b) { return a < b ? a : b; }

/* CPU seconds used by the process (all threads): on a loaded machine a better proxy for
 * the single-thread time than the wall clock. */
static double cpu_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Wall and CPU seconds of one build + fit + run (bfr_once()). */
typedef struct bfr_times {
    double build, fit, run, states, acc, solve, c_build, c_fit, c_run;
} bfr_times;

/* Builds the reservoir and readout (*e, *r: the caller frees them), fits the ridge readout
 * on s[washout .. washout + train) (drive s[t], target s[t + 1]) after the washout, and
 * predicts the next `test` steps into pred; feat (N + 1,) is work. Fills *bt and the
 * test NRMSE. Returns ENGRAM_OK or the failing call's status. */
static int bfr_once(const esn_params *p, const readout_params *rp, const double *s,
                    size_t washout, size_t train, size_t test, double *feat, double *pred,
                    esn **e_out, readout **r_out, bfr_times *bt, double *nrmse) {
    size_t N = p->n_res;
    double c0 = cpu_time(), t0 = engram_wall_time();
    esn *e = esn_alloc(p, 1);
    bt->build = engram_wall_time() - t0;
    bt->c_build = cpu_time() - c0;
    readout *r = readout_alloc(rp);
    *e_out = e;
    *r_out = r;
    if (!e || !r) return ENGRAM_ENOMEM;
    double ts = 0.0, ta = 0.0;
    c0 = cpu_time();
    t0 = engram_wall_time();
    for (size_t t = 0; t < washout + train; t++) {
        double a = engram_wall_time();
        esn_step(e, &s[t], NULL);
        double b = engram_wall_time();
        ts += b - a;
        if (t < washout) continue;
        memcpy(feat, esn_state(e), N * sizeof(double));
        feat[N] = s[t];
        int st = readout_train_step(r, feat, &s[t + 1], NULL);
        if (st != ENGRAM_OK) return st;
        ta += engram_wall_time() - b;
    }
    double a = engram_wall_time();
    int st = readout_finish(r);
    if (st != ENGRAM_OK) return st;
    bt->solve = engram_wall_time() - a;
    bt->fit = engram_wall_time() - t0;
    bt->c_fit = cpu_time() - c0;
    bt->states = ts;
    bt->acc = ta;
    c0 = cpu_time();
    t0 = engram_wall_time();
    for (size_t i = 0; i < test; i++) {
        size_t t = washout + train + i;
        esn_step(e, &s[t], NULL);
        memcpy(feat, esn_state(e), N * sizeof(double));
        feat[N] = s[t];
        readout_predict(r, feat, &pred[i]);
    }
    bt->run = engram_wall_time() - t0;
    bt->c_run = cpu_time() - c0;
    double mse = 0.0;
    const double *tgt = s + washout + train + 1;
    for (size_t i = 0; i < test; i++) mse += (pred[i] - tgt[i]) * (pred[i] - tgt[i]);
    *nrmse = sqrt(mse / (double)test) / std_pop(tgt, test);
    return ENGRAM_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v (k,), sorted in place. */
static double median(double *v, int k) {
    qsort(v, (size_t)k, sizeof(double), cmp_double);
    return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

int main(int argc, char **argv) {
    size_t N = 1000, washout = 100, train = 7900, test = 2000;
    int want_ref = 1, want_gsl = 1, want_big = 1, repeat = 1, rpy_repeat = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-ref") == 0) want_ref = 0;
        else if (strcmp(argv[i], "--no-gsl") == 0) want_gsl = 0;
        else if (strcmp(argv[i], "--no-big") == 0) want_big = 0;
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rpy-repeat") == 0 && i + 1 < argc) rpy_repeat = atoi(argv[++i]);
        else N = (size_t)atol(argv[i]);
    }
    if (repeat < 1) repeat = 1;
    double leak = 1.0, ridge = 1e-8, offset = 0.9;
    size_t T = washout + train + test;
    double *s = malloc((T + 1) * sizeof(double));
    mackey_glass_params mg = mackey_glass_default();
    if (!s || mackey_glass_generate(&mg, s, T + 1) != ENGRAM_OK) {
        fprintf(stderr, "bench_esn: %s\n", engram_error());
        return 1;
    }
    for (size_t i = 0; i <= T; i++) s[i] -= offset;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("bench_esn: Mackey-Glass one-step, N %zu (10 non-zeros/row), %zu steps (%zu washout,"
           " %zu train, %zu test), ridge 1e-8, %d thread%s, best of %d\n",
           N, T, washout, train, test, threads, threads == 1 ? "" : "s", repeat);
    print_load("before");

    esn_params p = esn_params_default();
    p.n_res = N;
    p.nnz_per_row = 10;
    p.spectral_radius = 0.9;
    p.input_scaling = 1.0;
    p.bias_scaling = 0.2;
    p.leak = leak;
    readout_params rp = readout_params_default();
    rp.n_feat = N + 1;
    rp.ridge = ridge;
    double *feat = malloc((N + 1) * sizeof(double)), *pred = malloc(test * sizeof(double));
    double t_build = 1e300, t_fit = 1e300, t_run = 1e300, t_states = 1e300, t_acc = 1e300,
           t_solve = 1e300, t_fitrun = 1e300, c_build = 1e300, c_fit = 1e300, c_run = 1e300;
    esn *e = NULL;
    readout *r = NULL;
    bfr_times bt;
    double nrmse = NAN;
    for (int rep = 0; rep < repeat; rep++) {
        esn_free(e);
        readout_free(r);
        if (bfr_once(&p, &rp, s, washout, train, test, feat, pred, &e, &r, &bt, &nrmse) != ENGRAM_OK) {
            fprintf(stderr, "bench_esn: %s\n", engram_error());
            return 1;
        }
        t_build = min_d(t_build, bt.build);
        c_build = min_d(c_build, bt.c_build);
        c_fit = min_d(c_fit, bt.c_fit);
        c_run = min_d(c_run, bt.c_run);
        t_fit = min_d(t_fit, bt.fit);
        t_run = min_d(t_run, bt.run);
        t_fitrun = min_d(t_fitrun, bt.fit + bt.run);
        t_states = min_d(t_states, bt.states);
        t_acc = min_d(t_acc, bt.acc);
        t_solve = min_d(t_solve, bt.solve);
    }
    printf("engram: build %.3f s (%s spectral radius), fit %.3f s, run %.3f s, fit+run %.3f s,"
           " test NRMSE %.6g\n",
           t_build, esn_radius_method_name(e->radius_used), t_fit, t_run, t_fitrun, nrmse);
    printf("engram CPU seconds (all threads): build %.3f, fit %.3f, run %.3f, fit+run %.3f\n",
           c_build, c_fit, c_run, c_fit + c_run);
    printf("engram radius: %s, residual %.3g; reservoir %zu bytes; state update %.2f GFLOP/s"
           " (CSR, 2 flops per non-zero)\n",
           esn_radius_method_name(e->radius_used), e->radius_residual, esn_bytes(e),
           2.0 * (double)e->nnz * (double)(washout + train) / t_states / 1e9);
    {
        /* B series through one reservoir: esn_step_batch (SpMM) against B single steps */
        enum { B = 8 };
        size_t steps = 2000;
        double *xb = calloc(N * B, sizeof(double)), *pb = malloc(N * B * sizeof(double)), ub[B];
        if (!xb || !pb) return 1;
        double t_single = 1e300, t_batch = 1e300;
        for (int rep = 0; rep < repeat; rep++) {
            double t0 = engram_wall_time();
            for (size_t t = 0; t < steps; t++)
                for (int b = 0; b < B; b++) esn_step(e, &s[t + (size_t)b], NULL);
            t_single = min_d(t_single, engram_wall_time() - t0);
            t0 = engram_wall_time();
            for (size_t t = 0; t < steps; t++) {
                for (int b = 0; b < B; b++) ub[b] = s[t + (size_t)b];
                esn_step_batch(e, B, xb, ub, pb);
            }
            t_batch = min_d(t_batch, engram_wall_time() - t0);
        }
        double fl = 2.0 * (double)e->nnz * (double)steps * B;
        printf("batch of %d series, %zu steps: SpMM %.3f s (%.2f GFLOP/s) vs %d single steps %.3f s"
               " (%.2f GFLOP/s): ratio %.2f\n",
               B, steps, t_batch, fl / t_batch / 1e9, B, t_single, fl / t_single / 1e9,
               t_single / t_batch);
        free(xb);
        free(pb);
    }
    if (want_big) {
        esn_params pb = p;
        pb.n_res = 10000;
        double c0 = cpu_time(), t0 = engram_wall_time();
        esn *eb = esn_alloc(&pb, 1);
        double tb = engram_wall_time() - t0, cb = cpu_time() - c0;
        pb.arpack.check = 0;
        c0 = cpu_time();
        t0 = engram_wall_time();
        esn *eb1 = esn_alloc(&pb, 1);
        double tb1 = engram_wall_time() - t0, cb1 = cpu_time() - c0;
        if (!eb || !eb1) {
            fprintf(stderr, "bench_esn: %s\n", engram_error());
            return 1;
        }
        printf("sparse N = 10000 build (ARPACK, nev %zu, ncv %zu): %.3f s wall, %.3f s CPU with the"
               " deflated check run; %.3f s wall, %.3f s CPU with one run; radius %.15g (residual"
               " %.2g), %zu bytes\n",
               pb.arpack.nev, pb.arpack.ncv, tb, cb, tb1, cb1, eb->radius_raw, eb->radius_residual,
               esn_bytes(eb));
        esn_free(eb);
        esn_free(eb1);
    }
    printf("engram fit breakdown: states %.3f s, readout accumulation (copy + X^T X + X^T y) %.3f s,"
           " finish (last block + Cholesky + solve) %.3f s\n",
           t_states, t_acc, t_solve);
    double *w = malloc(N * N * sizeof(double));
    if (!w) return 1;
    esn_w_dense(e, w);
    if (want_gsl) {
        double t_gsl = 1e300, c_gsl = 1e300, rho_gsl = 0.0, rho_fast = 0.0;
        for (int rep = 0; rep < repeat; rep++) {
            double c0 = cpu_time(), t0 = engram_wall_time();
            if (esn_spectral_radius_gsl(w, N, &rho_gsl) != ENGRAM_OK) {
                fprintf(stderr, "bench_esn: %s\n", engram_error());
                return 1;
            }
            t_gsl = min_d(t_gsl, engram_wall_time() - t0);
            c_gsl = min_d(c_gsl, cpu_time() - c0);
        }
        esn_spectral_radius(w, N, &rho_fast);
        printf("build reference (dense): GSL gsl_eigen_nonsymm radius %.3f s, CPU %.3f s (%.2fx engram's"
               " build wall, %.2fx CPU); radius of the rescaled W: engram %.15g, GSL %.15g\n",
               t_gsl, c_gsl, t_gsl / t_build, c_gsl / c_build, rho_fast, rho_gsl);
    }

    if (want_ref) {
        char dir[] = "/tmp/engram_bench_esn_XXXXXX";
        if (!mkdtemp(dir)) {
            perror("bench_esn: mkdtemp");
            return 1;
        }
        char path[256];
        size_t shw[2] = {N, N}, shv[1] = {N}, shs[1] = {T + 1};
        snprintf(path, sizeof path, "%s/W.npy", dir);
        int st = npy_write(path, w, 2, shw);
        snprintf(path, sizeof path, "%s/w_in.npy", dir);
        if (st == ENGRAM_OK) st = npy_write(path, e->w_in, 1, shv);
        snprintf(path, sizeof path, "%s/bias.npy", dir);
        if (st == ENGRAM_OK) st = npy_write(path, e->bias, 1, shv);
        snprintf(path, sizeof path, "%s/series.npy", dir);
        if (st == ENGRAM_OK) st = npy_write(path, s, 1, shs);
        if (st != ENGRAM_OK) {
            fprintf(stderr, "bench_esn: %s\n", engram_error());
            return 1;
        }
        char cmd[512];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/esn_ref.py %s %zu %zu %zu %g %g %d 2>&1",
                 dir, washout, train, test, leak, ridge, repeat);
        FILE *pp = popen(cmd, "r");
        double rb = -1, rf = -1, rr = -1, rt = -1, rn = -1, rho = -1, cb = -1, cfi = -1, cr = -1;
        char line[512];
        int got = 0;
        while (pp && fgets(line, sizeof line, pp)) {
            if (sscanf(line, "ref build_s %lf fit_s %lf run_s %lf total_s %lf nrmse %lf rho %lf", &rb,
                       &rf, &rr, &rt, &rn, &rho) == 6)
                got = 1;
            else if (sscanf(line, "refcpu build_s %lf fit_s %lf run_s %lf", &cb, &cfi, &cr) == 3)
                ;
            else
                fprintf(stderr, "  esn_ref.py: %s", line);
        }
        if (pp) pclose(pp);
        const char *names[] = {"W.npy", "w_in.npy", "bias.npy", "series.npy"};
        for (int i = 0; i < 4; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            unlink(path);
        }
        rmdir(dir);
        if (got) {
            printf("numpy:  build %.3f s (np.linalg.eigvals), fit %.3f s, run %.3f s, fit+run %.3f s,"
                   " test NRMSE %.6g\n",
                   rb, rf, rr, rt, rn);
            printf("ratio numpy/engram: fit+run %.2f (fit %.2f, run %.2f); build %.2f;"
                   " total build+fit+run %.2f\n",
                   rt / t_fitrun, rf / t_fit, rr / t_run, rb / t_build,
                   (rb + rt) / (t_build + t_fitrun));
            if (cb >= 0)
                printf("numpy CPU seconds (all threads): build %.3f, fit %.3f, run %.3f, fit+run %.3f;"
                       " CPU ratio numpy/engram: fit+run %.2f, build %.2f\n",
                       cb, cfi, cr, cfi + cr, (cfi + cr) / (c_fit + c_run), cb / c_build);
            printf("NRMSE engram %.6g vs numpy %.6g (relative difference %.2g)\n", nrmse, rn,
                   fabs(nrmse - rn) / rn);
        } else {
            printf("numpy reference skipped (numpy or bench/esn_ref.py unavailable; run from the"
                   " source tree)\n");
        }
    }
    const char *rpy = getenv("RESERVOIRPY_PATH");
    if (rpy && *rpy && rpy_repeat > 0) {
        /* ReservoirPy's ESN on the same task, interleaved with engram's build + fit + run:
         * repeat k runs engram once, then ReservoirPy once (a fresh python3 each time;
         * its import is not timed); the ratios are per repeat, and their medians reported */
        char dir[] = "/tmp/engram_bench_rpy_XXXXXX", path[256], cmd[1024], line[512];
        if (!mkdtemp(dir)) {
            perror("bench_esn: mkdtemp");
            return 1;
        }
        snprintf(path, sizeof path, "%s/series.npy", dir);
        size_t shs[1] = {T + 1};
        if (npy_write(path, s, 1, shs) != ENGRAM_OK) {
            fprintf(stderr, "bench_esn: %s\n", engram_error());
            return 1;
        }
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 bench/esn_reservoirpy.py %s %zu %zu %zu %zu %zu %g %g %g %g %g 1 2>&1",
                 dir, washout, train, test, N, p.nnz_per_row, p.spectral_radius, p.input_scaling,
                 p.bias_scaling, leak, ridge);
        double rw[64], rc[64], rn = NAN;
        int k = 0;
        printf("reservoirpy (RESERVOIRPY_PATH=%s), %d interleaved repeats of build + fit + run:\n", rpy,
               rpy_repeat);
        for (int rep = 0; rep < rpy_repeat && rep < 64; rep++) {
            esn *e1 = NULL;
            readout *r1 = NULL;
            bfr_times b1;
            double n1 = NAN;
            if (bfr_once(&p, &rp, s, washout, train, test, feat, pred, &e1, &r1, &b1, &n1) != ENGRAM_OK) {
                fprintf(stderr, "bench_esn: %s\n", engram_error());
                return 1;
            }
            esn_free(e1);
            readout_free(r1);
            double ew = b1.build + b1.fit + b1.run, ec = b1.c_build + b1.c_fit + b1.c_run;
            FILE *pp = popen(cmd, "r");
            double yb = -1, yf = -1, yr = -1, cb = -1, cf = -1, cr = -1;
            char ver[32] = "?";
            int got = 0;
            while (pp && fgets(line, sizeof line, pp)) {
                if (sscanf(line, "rpy build_s %lf fit_s %lf run_s %lf nrmse %lf version %31s", &yb,
                           &yf, &yr, &rn, ver) == 5)
                    got |= 1;
                else if (sscanf(line, "rpycpu build_s %lf fit_s %lf run_s %lf", &cb, &cf, &cr) == 3)
                    got |= 2;
                else
                    fprintf(stderr, "  esn_reservoirpy.py: %s", line);
            }
            if (pp) pclose(pp);
            if (got != 3) {
                printf("  reservoirpy skipped (no result from bench/esn_reservoirpy.py; run from the"
                       " source tree with RESERVOIRPY_PATH at ReservoirPy's source)\n");
                break;
            }
            rw[k] = (yb + yf + yr) / ew;
            rc[k] = (cb + cf + cr) / ec;
            printf("  repeat %d: engram %.3f s (CPU %.3f: build %.3f, fit %.3f, run %.3f), NRMSE %.6g;"
                   " reservoirpy %s %.3f s (CPU %.3f: build %.3f, fit %.3f, run %.3f), NRMSE %.6g;"
                   " ratio %.2f (CPU %.2f)\n",
                   rep + 1, ew, ec, b1.c_build, b1.c_fit, b1.c_run, n1, ver, yb + yf + yr,
                   cb + cf + cr, cb, cf, cr, rn, rw[k], rc[k]);
            k++;
        }
        if (k > 0)
            printf("ratio reservoirpy/engram, build + fit + run: median %.2f wall, %.2f CPU (%d repeats)\n",
                   median(rw, k), median(rc, k), k);
        unlink(path);
        rmdir(dir);
    }
    print_load("after");
    free(w);
    free(feat);
    free(pred);
    free(s);
    readout_free(r);
    esn_free(e);
    return 0;
}
