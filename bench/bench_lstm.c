/* bench_lstm.c: one training update of the Banino et al. 2018 path-integrating LSTM
 * (pathint.h: forward, backward, TF1-RMSProp step with clipping) at batch 10 and 200,
 * T = 100, H = 128, Ng = 256, with 1 and 2 OpenMP threads, against the same model in
 * PyTorch (bench/lstm_ref.py, float64, torch.set_num_threads) run in the same
 * invocation with /usr/bin/python3 (skipped with a message if torch is missing).
 * Prints the projected wall time of the official schedule (10^6 updates at batch 10).
 *
 * Usage: build/bench/bench_lstm [reps_b10 [reps_b200]]   (run from the repository root)
 * The BLAS matters: `make BLAS=openblas` links OpenBLAS (set OPENBLAS_NUM_THREADS=1 so
 * engram's own OpenMP split is the only parallelism); the default links gslcblas.
 * PyTorch runs with OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = torch threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <gsl/gsl_rng.h>
#include "engram/engram.h"
#include "engram/optim.h"
#include "engram/pathint.h"
#include "engram/rng.h"

/* Seconds per update of engram at batch B with the current thread count. */
static double time_engram(size_t B, int reps) {
    const size_t T = 100;
    pathint_dims d = pathint_dims_default();
    pathint *m = pathint_alloc(&d, B, T);
    if (!m) { fprintf(stderr, "bench_lstm: %s\n", engram_error()); return -1; }
    pathint_init_weights(m, 1);
    optim_params op = optim_defaults(OPTIM_RMSPROP_TF);
    op.clip_value = 1e-5;
    optim *o = optim_alloc(&op, m->n_params);
    double *vel = malloc(B * T * 3 * sizeof *vel), *pc0 = malloc(B * 256 * sizeof *pc0);
    double *hd0 = malloc(B * 12 * sizeof *hd0), *pc = malloc(B * T * 256 * sizeof *pc);
    double *hd = malloc(B * T * 12 * sizeof *hd);
    gsl_rng *r = rng_stream_alloc(1, "bench", 0);
    for (size_t i = 0; i < B * T * 3; i++) vel[i] = 0.05 * (gsl_rng_uniform(r) - 0.5);
    for (size_t i = 0; i < B * 256; i++) pc0[i] = 1.0 / 256;
    for (size_t i = 0; i < B * 12; i++) hd0[i] = 1.0 / 12;
    for (size_t i = 0; i < B * T * 256; i++) pc[i] = 1.0 / 256;
    for (size_t i = 0; i < B * T * 12; i++) hd[i] = 1.0 / 12;
    gsl_rng_free(r);
    double loss, t0 = 0;
    for (int k = -1; k < reps; k++) { /* one warm-up update */
        if (k == 0) t0 = engram_wall_time();
        pathint_dropout_mask(m, B, 1, (uint64_t)(k + 1));
        pathint_forward(m, B, vel, pc0, hd0, pc, hd, 1, &loss);
        pathint_backward(m, pc, hd);
        optim_step(o, m->params, m->grads);
    }
    double dt = (engram_wall_time() - t0) / reps;
    free(vel); free(pc0); free(hd0); free(pc); free(hd);
    optim_free(o);
    pathint_free(m);
    return dt;
}

/* Seconds per update of the PyTorch reference, or -1 if it cannot run. */
static double time_torch(size_t B, int threads, int reps) {
    if (access("bench/lstm_ref.py", R_OK) != 0) return -1;
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=%d OMP_NUM_THREADS=%d /usr/bin/python3 bench/lstm_ref.py "
             "--batch %zu --steps 100 --threads %d --reps %d 2>&1",
             threads, threads, B, threads, reps);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[512];
    double s = -1;
    while (fgets(line, sizeof line, p)) {
        if (sscanf(line, "seconds_per_step %lf", &s) == 1) continue;
        fprintf(stderr, "  lstm_ref.py: %s", line);
    }
    pclose(p);
    return s;
}

int main(int argc, char **argv) {
    int reps10 = argc > 1 ? atoi(argv[1]) : 20;
    int reps200 = argc > 2 ? atoi(argv[2]) : 3;
    const char *blas = getenv("ENGRAM_BLAS_NAME");
    printf("bench_lstm: one update (forward + backward + RMSProp-TF), T 100, H 128, Ng 256, "
           "float64; BLAS %s\n", blas ? blas : "(as linked)");
    int max_threads = 1;
#ifdef _OPENMP
    max_threads = omp_get_num_procs() >= 2 ? 2 : 1;
#endif
    double best10 = -1, best10_torch = -1;
    for (int bi = 0; bi < 2; bi++) {
        size_t B = bi == 0 ? 10 : 200;
        int reps = bi == 0 ? reps10 : reps200;
        for (int th = 1; th <= max_threads; th++) {
#ifdef _OPENMP
            omp_set_num_threads(th);
#endif
            double te = time_engram(B, reps);
            double tt = time_torch(B, th, reps);
            if (tt > 0)
                printf("batch %3zu, %d thread%s: engram %.4f s, pytorch %.4f s, ratio pytorch/engram %.2f\n",
                       B, th, th > 1 ? "s" : " ", te, tt, tt / te);
            else
                printf("batch %3zu, %d thread%s: engram %.4f s, pytorch skipped (torch or bench/lstm_ref.py unavailable)\n",
                       B, th, th > 1 ? "s" : " ", te);
            if (B == 10 && (best10 < 0 || te < best10)) best10 = te;
            if (B == 10 && tt > 0 && (best10_torch < 0 || tt < best10_torch)) best10_torch = tt;
        }
    }
    printf("projected full schedule (10^6 updates, batch 10, no evaluation): engram %.1f h",
           best10 * 1e6 / 3600.0);
    if (best10_torch > 0) printf(", pytorch %.1f h", best10_torch * 1e6 / 3600.0);
    printf("\n");
    return 0;
}
