/* bench_lstm.c: one training update of the Banino et al. 2018 path-integrating LSTM
 * (pathint.h: forward, backward, TF1-RMSProp step with clipping) at batch 10 and 200,
 * T = 100, H = 128, Ng = 256, in float64 and float32 (run.precision), with 1 and 2
 * OpenMP threads, against the same model in PyTorch (bench/lstm_ref.py, float64 and
 * float32, torch.set_num_threads) run in the same invocation with /usr/bin/python3
 * (skipped with a message if torch is missing).
 *
 * Measurements are interleaved: each of ROUNDS rounds times every configuration (batch,
 * threads, precision; engram, then PyTorch) once, REPS updates each after one warm-up,
 * so a change in the machine's load falls on all of them alike. Each row prints the
 * median over the rounds of the per-round medians, wall and process CPU seconds per
 * update, and the ratios PyTorch / engram (on a machine shared with other work the CPU
 * ratio of the 1-thread rows is the fair one). Then the projected wall time of the
 * official schedule (10^6 updates at batch 10) for the fastest engram and PyTorch rows.
 *
 * Usage: build/bench/bench_lstm [reps_b10 [reps_b200 [rounds]]]   (from the repository root)
 * Set OPENBLAS_NUM_THREADS=1 (bench/run_bench.sh does) so engram's own OpenMP split is
 * the only parallelism; PyTorch runs with OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = torch
 * threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <gsl/gsl_rng.h>
#include "engram/engram.h"
#include "engram/optim.h"
#include "engram/pathint.h"
#include "engram/rng.h"

enum { STEPS = 100, MAX_ROUNDS = 15 };

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

/* One engram configuration: a model of batch B in one precision, its optimiser and
 * data, kept across the rounds. */
typedef struct {
    size_t B;
    int f32;
    pathint *m;
    optim *o;
    double *vel, *pc0, *hd0, *pc, *hd;
    uint64_t step;
} bench_case;

static int case_alloc(bench_case *c, size_t B, int f32) {
    const size_t T = STEPS;
    memset(c, 0, sizeof *c);
    c->B = B;
    c->f32 = f32;
    pathint_dims d = pathint_dims_default();
    c->m = pathint_alloc(&d, B, T);
    if (!c->m || (f32 && pathint_set_precision(c->m, PATHINT_F32) != ENGRAM_OK)) {
        fprintf(stderr, "bench_lstm: %s\n", engram_error());
        return -1;
    }
    c->m->f32_outputs = 0; /* a training update reads only the loss */
    pathint_init_weights(c->m, 1);
    optim_params op = optim_defaults(OPTIM_RMSPROP_TF);
    op.clip_value = 1e-5;
    c->o = optim_alloc(&op, c->m->n_params);
    c->vel = malloc(B * T * 3 * sizeof *c->vel);
    c->pc0 = malloc(B * 256 * sizeof *c->pc0);
    c->hd0 = malloc(B * 12 * sizeof *c->hd0);
    c->pc = malloc(B * T * 256 * sizeof *c->pc);
    c->hd = malloc(B * T * 12 * sizeof *c->hd);
    gsl_rng *r = rng_stream_alloc(1, "bench", 0);
    for (size_t i = 0; i < B * T * 3; i++) c->vel[i] = 0.05 * (gsl_rng_uniform(r) - 0.5);
    for (size_t i = 0; i < B * 256; i++) c->pc0[i] = 1.0 / 256;
    for (size_t i = 0; i < B * 12; i++) c->hd0[i] = 1.0 / 12;
    for (size_t i = 0; i < B * T * 256; i++) c->pc[i] = 1.0 / 256;
    for (size_t i = 0; i < B * T * 12; i++) c->hd[i] = 1.0 / 12;
    gsl_rng_free(r);
    return 0;
}

static void case_free(bench_case *c) {
    free(c->vel); free(c->pc0); free(c->hd0); free(c->pc); free(c->hd);
    optim_free(c->o);
    pathint_free(c->m);
}

/* Median wall seconds per update of reps updates after one warm-up, at the current
 * thread count; *cpu gets the median process CPU seconds. */
static double case_time(bench_case *c, int reps, double *cpu) {
    double t[64], cp[64], loss;
    if (reps > 64) reps = 64;
    for (int k = -1; k < reps; k++) {
        double t0 = engram_wall_time(), c0 = cpu_now();
        pathint_dropout_mask(c->m, c->B, 1, ++c->step);
        pathint_forward(c->m, c->B, c->vel, c->pc0, c->hd0, c->pc, c->hd, 1, &loss);
        pathint_backward(c->m, c->pc, c->hd);
        optim_step(c->o, c->m->params, c->m->grads);
        if (k < 0) continue;
        t[k] = engram_wall_time() - t0;
        cp[k] = cpu_now() - c0;
    }
    *cpu = median(cp, reps);
    return median(t, reps);
}

/* Seconds per update of the PyTorch reference (*cpu: its CPU seconds), or -1 if it
 * cannot run. */
static double time_torch(size_t B, int f32, int threads, int reps, double *cpu) {
    *cpu = -1;
    if (access("bench/lstm_ref.py", R_OK) != 0) return -1;
    char cmd[300];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=%d OMP_NUM_THREADS=%d /usr/bin/python3 bench/lstm_ref.py "
             "--batch %zu --steps %d --threads %d --reps %d --dtype %s 2>&1",
             threads, threads, B, STEPS, threads, reps, f32 ? "float32" : "float64");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[512];
    double s = -1;
    while (fgets(line, sizeof line, p)) {
        if (sscanf(line, "seconds_per_step %lf", &s) == 1) continue;
        if (sscanf(line, "cpu_seconds_per_step %lf", cpu) == 1) continue;
        fprintf(stderr, "  lstm_ref.py: %s", line);
    }
    pclose(p);
    return s;
}

int main(int argc, char **argv) {
    int reps10 = argc > 1 ? atoi(argv[1]) : 10;
    int reps200 = argc > 2 ? atoi(argv[2]) : 2;
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    if (reps10 < 1) reps10 = 1;
    if (reps200 < 1) reps200 = 1;
    if (rounds < 1) rounds = 1;
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    const char *blas = getenv("ENGRAM_BLAS_NAME");
    printf("bench_lstm: one update (forward + backward + RMSProp-TF), T %d, H 128, Ng 256; "
           "BLAS %s; %d interleaved rounds, medians\n", STEPS, blas ? blas : "(as linked)", rounds);
    int max_threads = 1;
#ifdef _OPENMP
    max_threads = omp_get_num_procs() >= 2 ? 2 : 1;
#endif
    /* configurations: [batch][precision][threads - 1] */
    static const size_t batches[2] = {10, 200};
    bench_case cases[2][2];
    for (int bi = 0; bi < 2; bi++)
        for (int f32 = 0; f32 < 2; f32++)
            if (case_alloc(&cases[bi][f32], batches[bi], f32) != 0) return 1;
    double te[2][2][2][MAX_ROUNDS], ce[2][2][2][MAX_ROUNDS];
    double tt[2][2][2][MAX_ROUNDS], ct[2][2][2][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++)
        for (int bi = 0; bi < 2; bi++)
            for (int th = 1; th <= max_threads; th++)
                for (int f32 = 0; f32 < 2; f32++) {
                    int reps = bi == 0 ? reps10 : reps200;
#ifdef _OPENMP
                    omp_set_num_threads(th);
#endif
                    te[bi][f32][th - 1][r] = case_time(&cases[bi][f32], reps, &ce[bi][f32][th - 1][r]);
                    tt[bi][f32][th - 1][r] = time_torch(batches[bi], f32, th, reps, &ct[bi][f32][th - 1][r]);
                }
    double best[2][2] = {{-1, -1}, {-1, -1}}; /* batch 10: [precision][engram, pytorch] */
    for (int bi = 0; bi < 2; bi++)
        for (int th = 1; th <= max_threads; th++)
            for (int f32 = 0; f32 < 2; f32++) {
                double w = median(te[bi][f32][th - 1], rounds), c = median(ce[bi][f32][th - 1], rounds);
                double wt = median(tt[bi][f32][th - 1], rounds), cwt = median(ct[bi][f32][th - 1], rounds);
                printf("batch %3zu, %s, %d thread%s: engram %.4f s (CPU %.4f s)", batches[bi],
                       f32 ? "float32" : "float64", th, th > 1 ? "s" : " ", w, c);
                if (wt > 0)
                    printf(", pytorch %.4f s (CPU %.4f s), ratio pytorch/engram %.2f (CPU %.2f)\n",
                           wt, cwt, wt / w, cwt / c);
                else
                    printf(", pytorch skipped (torch or bench/lstm_ref.py unavailable)\n");
                if (bi == 0 && (best[f32][0] < 0 || w < best[f32][0])) best[f32][0] = w;
                if (bi == 0 && wt > 0 && (best[f32][1] < 0 || wt < best[f32][1])) best[f32][1] = wt;
            }
    for (int f32 = 0; f32 < 2; f32++) {
        printf("projected full schedule (10^6 updates, batch 10, no evaluation), %s: engram %.1f h",
               f32 ? "float32" : "float64", best[f32][0] * 1e6 / 3600.0);
        if (best[f32][1] > 0) printf(", pytorch %.1f h", best[f32][1] * 1e6 / 3600.0);
        printf("\n");
    }
    for (int bi = 0; bi < 2; bi++)
        for (int f32 = 0; f32 < 2; f32++) case_free(&cases[bi][f32]);
    return 0;
}
