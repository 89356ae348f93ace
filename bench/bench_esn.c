/* bench_esn.c: echo-state network fit (ridge) and run on Mackey-Glass, N = 1000,
 * 10,000 steps (100 washout, 7,900 training, 2,000 test), against a plain NumPy
 * implementation of the same network (bench/esn_ref.py, same W, W_in, b and series)
 * run in the same invocation with /usr/bin/python3.
 *
 * Usage: build/bench/bench_esn [N] [--no-ref]
 * Prints engram's and NumPy's times (build = spectral radius, fit = states + X^T X +
 * solve, run = test predictions), both test NRMSEs and the ratio NumPy / engram.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/engram.h"
#include "engram/esn.h"
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

int main(int argc, char **argv) {
    size_t N = 1000, washout = 100, train = 7900, test = 2000;
    int want_ref = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-ref") == 0) want_ref = 0;
        else N = (size_t)atol(argv[i]);
    }
    double leak = 1.0, ridge = 1e-8, offset = 0.9;
    size_t T = washout + train + test;
    double *s = malloc((T + 1) * sizeof(double));
    mackey_glass_params mg = mackey_glass_default();
    if (!s || mackey_glass_generate(&mg, s, T + 1) != ENGRAM_OK) {
        fprintf(stderr, "bench_esn: %s\n", engram_error());
        return 1;
    }
    for (size_t i = 0; i <= T; i++) s[i] -= offset;

    esn_params p = esn_params_default();
    p.n_res = N;
    p.nnz_per_row = 10;
    p.spectral_radius = 0.9;
    p.input_scaling = 1.0;
    p.bias_scaling = 0.2;
    p.leak = leak;
    double t0 = engram_wall_time();
    esn *e = esn_alloc(&p, 1);
    double t_build = engram_wall_time() - t0;
    readout_params rp = readout_params_default();
    rp.n_feat = N + 1;
    rp.ridge = ridge;
    readout *r = readout_alloc(&rp);
    double *feat = malloc((N + 1) * sizeof(double)), *pred = malloc(test * sizeof(double));
    if (!e || !r || !feat || !pred) {
        fprintf(stderr, "bench_esn: %s\n", engram_error());
        return 1;
    }

    t0 = engram_wall_time();
    for (size_t t = 0; t < washout + train; t++) {
        esn_step(e, &s[t], NULL);
        if (t < washout) continue;
        memcpy(feat, esn_state(e), N * sizeof(double));
        feat[N] = s[t];
        if (readout_train_step(r, feat, &s[t + 1], NULL) != ENGRAM_OK) break;
    }
    if (readout_finish(r) != ENGRAM_OK) {
        fprintf(stderr, "bench_esn: %s\n", engram_error());
        return 1;
    }
    double t_fit = engram_wall_time() - t0;
    t0 = engram_wall_time();
    for (size_t i = 0; i < test; i++) {
        size_t t = washout + train + i;
        esn_step(e, &s[t], NULL);
        memcpy(feat, esn_state(e), N * sizeof(double));
        feat[N] = s[t];
        readout_predict(r, feat, &pred[i]);
    }
    double t_run = engram_wall_time() - t0;
    double mse = 0.0;
    const double *tgt = s + washout + train + 1;
    for (size_t i = 0; i < test; i++) mse += (pred[i] - tgt[i]) * (pred[i] - tgt[i]);
    double nrmse = sqrt(mse / (double)test) / std_pop(tgt, test);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("bench_esn: Mackey-Glass one-step, N %zu (10 non-zeros/row), %zu steps (%zu washout,"
           " %zu train, %zu test), ridge 1e-8, %d thread%s\n",
           N, T, washout, train, test, threads, threads == 1 ? "" : "s");
    printf("engram: build %.3f s (exact spectral radius), fit %.3f s, run %.3f s, fit+run %.3f s,"
           " test NRMSE %.6g\n",
           t_build, t_fit, t_run, t_fit + t_run, nrmse);

    if (want_ref) {
        char dir[] = "/tmp/engram_bench_esn_XXXXXX";
        if (!mkdtemp(dir)) {
            perror("bench_esn: mkdtemp");
            return 1;
        }
        char path[256];
        double *w = malloc(N * N * sizeof(double));
        esn_w_dense(e, w);
        size_t shw[2] = {N, N}, shv[1] = {N}, shs[1] = {T + 1};
        snprintf(path, sizeof path, "%s/W.npy", dir);
        int st = npy_write(path, w, 2, shw);
        snprintf(path, sizeof path, "%s/w_in.npy", dir);
        if (st == ENGRAM_OK) st = npy_write(path, e->w_in, 1, shv);
        snprintf(path, sizeof path, "%s/bias.npy", dir);
        if (st == ENGRAM_OK) st = npy_write(path, e->bias, 1, shv);
        snprintf(path, sizeof path, "%s/series.npy", dir);
        if (st == ENGRAM_OK) st = npy_write(path, s, 1, shs);
        free(w);
        if (st != ENGRAM_OK) {
            fprintf(stderr, "bench_esn: %s\n", engram_error());
            return 1;
        }
        char cmd[512];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/esn_ref.py %s %zu %zu %zu %g %g 2>&1", dir,
                 washout, train, test, leak, ridge);
        FILE *pp = popen(cmd, "r");
        double rb = -1, rf = -1, rr = -1, rt = -1, rn = -1, rho = -1;
        char line[512];
        int got = 0;
        while (pp && fgets(line, sizeof line, pp)) {
            if (sscanf(line, "ref build_s %lf fit_s %lf run_s %lf total_s %lf nrmse %lf rho %lf", &rb,
                       &rf, &rr, &rt, &rn, &rho) == 6)
                got = 1;
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
            printf("ratio numpy/engram: fit+run %.2f (fit %.2f, run %.2f); build %.2f\n",
                   rt / (t_fit + t_run), rf / t_fit, rr / t_run, rb / t_build);
        } else {
            printf("numpy reference skipped (numpy or bench/esn_ref.py unavailable; run from the"
                   " source tree)\n");
        }
    }
    free(feat);
    free(pred);
    free(s);
    readout_free(r);
    esn_free(e);
    return 0;
}
