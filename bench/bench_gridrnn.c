/* bench_gridrnn.c: one training update of the grid-cell rate-RNN path integrator
 * (pathint.h, kind = rnn; the `gridcells-rnn` preset: 512 ReLU units, 512 place cells,
 * no head-direction head, allocentric input, batch 200, T 20, L2 on W_rec, Adam) in
 * float64 and float32 (run.precision), with 1 and 2 OpenMP threads, against the same
 * update in PyTorch float32 and float64 (bench/gridrnn_ref.py) run in the same
 * invocation with /usr/bin/python3 (skipped with a message if torch is missing).
 * Prints wall and process CPU seconds per update (medians), engram's GFLOP/s (the six
 * products of forward and backward: 6 T B H (H + P) flops) and the ratios PyTorch /
 * engram of both: on a loaded machine the CPU ratio of the 1-thread rows is the fair one.
 *
 * Usage: build/bench/bench_gridrnn [reps]   (run from the repository root)
 * Set OPENBLAS_NUM_THREADS=1 (bench/run_bench.sh does) so engram's own OpenMP split is
 * the only parallelism; PyTorch runs with torch.set_num_threads(threads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "engram/engram.h"
#include "engram/optim.h"
#include "engram/pathint.h"
#include "engram/rng.h"

enum { N_IN = 2, N_H = 512, N_PC = 512, BATCH = 200, STEPS = 20 };

/* Process CPU seconds (all threads). */
static double cpu_now(void) {
    struct timespec c;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    return (double)c.tv_sec + 1e-9 * (double)c.tv_nsec;
}

/* Median of x[0..n-1] (sorts x). */
static double median(double *x, int n) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (x[j] < x[i]) { double y = x[i]; x[i] = x[j]; x[j] = y; }
    return x[n / 2];
}

/* Seconds per update (median of reps after one warm-up) at the current thread count;
 * *cpu gets the median process CPU seconds per update. */
static double time_engram(int f32, int reps, double *cpu) {
    *cpu = -1;
    const size_t B = BATCH, T = STEPS, P = N_PC;
    pathint_dims d = {N_IN, N_H, N_H, N_PC, 0, PATHINT_RNN};
    pathint *m = pathint_alloc(&d, B, T);
    if (!m) { fprintf(stderr, "bench_gridrnn: %s\n", engram_error()); return -1; }
    m->dropout = 0;
    m->weight_decay = 2e-4;
    m->f32_outputs = 0; /* a training update reads only the loss */
    if (f32 && pathint_set_precision(m, PATHINT_F32) != ENGRAM_OK) {
        fprintf(stderr, "bench_gridrnn: %s\n", engram_error());
        pathint_free(m);
        return -1;
    }
    pathint_init_weights(m, 1);
    optim_params op = optim_defaults(OPTIM_ADAM);
    op.lr = 1e-3;
    optim *o = optim_alloc(&op, m->n_params);
    double *vel = malloc(B * T * N_IN * sizeof *vel), *pc0 = malloc(B * P * sizeof *pc0);
    double *pc = malloc(B * T * P * sizeof *pc);
    gsl_rng *r = rng_stream_alloc(1, "bench", 0);
    for (size_t i = 0; i < B * T * N_IN; i++) vel[i] = 0.4 * (gsl_rng_uniform(r) - 0.5);
    for (size_t i = 0; i < B * P; i++) pc0[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
    for (size_t i = 0; i < B * T; i++) { /* soft targets: a random softmax per row */
        double s = 0, *y = pc + i * P;
        for (size_t k = 0; k < P; k++) s += y[k] = exp(3.0 * gsl_ran_gaussian_ziggurat(r, 1.0));
        for (size_t k = 0; k < P; k++) y[k] /= s;
    }
    gsl_rng_free(r);
    double *t = malloc((size_t)(reps + 1) * sizeof *t), *c = malloc((size_t)(reps + 1) * sizeof *c);
    double loss, dummy = 0; /* no HD head */
    for (int k = 0; k <= reps; k++) {
        double t0 = engram_wall_time(), c0 = cpu_now();
        pathint_forward(m, B, vel, pc0, &dummy, pc, &dummy, 0, &loss);
        pathint_backward(m, pc, &dummy);
        optim_step(o, m->params, m->grads);
        t[k] = engram_wall_time() - t0;
        c[k] = cpu_now() - c0;
    }
    /* medians of the timed updates (index 0 is the warm-up) */
    double med = median(t + 1, reps);
    *cpu = median(c + 1, reps);
    free(t); free(c); free(vel); free(pc0); free(pc);
    optim_free(o);
    pathint_free(m);
    return med;
}

/* Seconds per update of the PyTorch reference (*cpu: its CPU seconds), or -1 if it
 * cannot run. */
static double time_torch(int f32, int threads, int reps, double *cpu) {
    if (access("bench/gridrnn_ref.py", R_OK) != 0) return -1;
    char cmd[300];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=%d OMP_NUM_THREADS=%d /usr/bin/python3 bench/gridrnn_ref.py "
             "--threads %d --reps %d%s 2>&1",
             threads, threads, threads, reps, f32 ? " --float32" : "");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[512];
    double s = -1;
    *cpu = -1;
    while (fgets(line, sizeof line, p)) {
        if (sscanf(line, "seconds_per_step %lf", &s) == 1) continue;
        if (sscanf(line, "cpu_seconds_per_step %lf", cpu) == 1) continue;
        fprintf(stderr, "  gridrnn_ref.py: %s", line);
    }
    pclose(p);
    return s;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 10;
    if (reps < 1) reps = 1;
    const double flops = 6.0 * STEPS * BATCH * N_H * (double)(N_H + N_PC);
    printf("bench_gridrnn: one update (forward + backward + Adam), ReLU RNN %d units, %d place "
           "cells, batch %d, T %d; %.2f GFLOP of products\n", N_H, N_PC, BATCH, STEPS, flops * 1e-9);
    int max_threads = 1;
#ifdef _OPENMP
    max_threads = omp_get_num_procs() >= 2 ? 2 : 1;
#endif
    for (int th = 1; th <= max_threads; th++) {
#ifdef _OPENMP
        omp_set_num_threads(th);
#endif
        double c32, c64, t32 = time_torch(1, th, reps, &c32), t64 = time_torch(0, th, reps, &c64);
        for (int f32 = 1; f32 >= 0; f32--) {
            double ce = -1, te = time_engram(f32, reps, &ce), tt = f32 ? t32 : t64, ct = f32 ? c32 : c64;
            if (te < 0) continue;
            printf("%s, %d thread%s: engram %.4f s (%.1f GFLOP/s), CPU %.4f s", f32 ? "float32" : "float64",
                   th, th > 1 ? "s" : " ", te, flops / te * 1e-9, ce);
            if (tt > 0)
                printf("; pytorch %.4f s, CPU %.4f s; ratio pytorch/engram %.2f (CPU %.2f)\n", tt, ct,
                       tt / te, ct / ce);
            else printf("; pytorch skipped (torch or bench/gridrnn_ref.py unavailable)\n");
        }
    }
    return 0;
}
