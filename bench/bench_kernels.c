/* bench_kernels.c: the small-M product kern_gemm_nn_small_s/d (kern_gemm.h) against
 * OpenBLAS on the per-step recurrent shapes, one thread.
 *
 *     C (M, N) += A (M, K) B (K, N), row-major, beta = 1 (a step accumulates into z)
 *
 * Shapes: the LSTM's h W_h (M = 10 and 25, K = 128, N = 512 = 4 gates of 128), its
 * backward dz W_h^T (M = 25, K = 512, N = 128) and the grid-cell RNN step (M = 200,
 * K = N = 512). Per shape and precision, ROUNDS interleaved rounds each time the small
 * product, kern_gemm_s/d (the chunked OpenBLAS call the models make today) and
 * cblas_sgemm/dgemm called directly, each over enough calls for ~TARGET_S seconds; the
 * figure is the median over rounds. Prints GFLOP/s (2 M N K per call) and the ratio
 * OpenBLAS time / small time (> 1: the small product is faster), after the sgemm and
 * dgemm peak at 2048^3 measured in the same run.
 *
 * Usage: build/bench/bench_kernels [rounds]   (OPENBLAS_NUM_THREADS=1: bench/run_bench.sh
 * sets it; the OpenMP thread count is set to 1 here) */
#include <stdio.h>
#include <stdlib.h>
#include <gsl/gsl_cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/engram.h"
#include "engram/kern_gemm.h"
#include "kernels/kernels_impl.h"
#include "bench_peak.h"

enum { N_SHAPES = 4, N_WAYS = 3, MAX_ROUNDS = 31, PEAK_N = 2048 };
static const double TARGET_S = 0.01;

static const size_t shapes[N_SHAPES][3] = {{10, 128, 512}, {25, 128, 512}, {25, 512, 128}, {200, 512, 512}};
static const char *const shape_names[N_SHAPES] = {"LSTM h W_h", "LSTM h W_h", "LSTM dz W_h^T",
                                                  "grid RNN step"};
static const char *const isa_names[] = {"reference (scalar fma)", "AVX2+FMA", "AVX-512F"};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v (n,), sorted in place. */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}

/* Seconds per call of way w (0 small, 1 kern_gemm, 2 cblas) over `calls` calls. */
static double time_way(int f32, int w, size_t M, size_t K, size_t N, const void *a, const void *b, void *c,
                       int calls) {
    double t0 = engram_wall_time();
    for (int r = 0; r < calls; r++) {
        if (f32) {
            const float *af = a, *bf = b;
            float *cf = c;
            if (w == 0) kern_gemm_nn_small_s(M, N, K, 1, af, K, bf, N, 1, cf, N);
            else if (w == 1) kern_gemm_s(0, 0, M, N, K, 1, af, K, bf, N, 1, cf, N);
            else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1, af, (int)K, bf,
                             (int)N, 1, cf, (int)N);
        } else {
            const double *ad = a, *bd = b;
            double *cd = c;
            if (w == 0) kern_gemm_nn_small_d(M, N, K, 1, ad, K, bd, N, 1, cd, N);
            else if (w == 1) kern_gemm_d(0, 0, M, N, K, 1, ad, K, bd, N, 1, cd, N);
            else cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1, ad, (int)K, bd,
                             (int)N, 1, cd, (int)N);
        }
    }
    return (engram_wall_time() - t0) / calls;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    if (rounds < 1) rounds = 1;
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    printf("bench_kernels: C (M, N) += A (M, K) B (K, N), row-major, 1 thread; small product path: %s; "
           "medians of %d interleaved rounds\n", isa_names[kern_gemm_small_isa()], rounds);
    double peak_d = bench_gemm_peak(PEAK_N, 1, 0), peak_s = bench_gemm_peak(PEAK_N, 1, 1);
    printf("GEMM peak (%d^3, 1 thread): dgemm %.1f GFLOP/s, sgemm %.1f GFLOP/s\n", PEAK_N, peak_d, peak_s);
    const size_t max_elems = 200 * 512;
    for (int f32 = 1; f32 >= 0; f32--) {
        const size_t sz = f32 ? sizeof(float) : sizeof(double);
        void *a = malloc(max_elems * sz), *b = malloc(512 * 512 * sz), *c = malloc(max_elems * sz);
        if (!a || !b || !c) { fprintf(stderr, "bench_kernels: out of memory\n"); return 1; }
        for (size_t i = 0; i < max_elems; i++) {
            double va = (double)(i % 13) * 0.15 - 0.9, vc = (double)(i % 5) * 0.2;
            if (f32) { ((float *)a)[i] = (float)va; ((float *)c)[i] = (float)vc; }
            else { ((double *)a)[i] = va; ((double *)c)[i] = vc; }
        }
        for (size_t i = 0; i < 512 * 512; i++) {
            double vb = ((double)(i % 11) - 5.0) * 0.004;
            if (f32) ((float *)b)[i] = (float)vb;
            else ((double *)b)[i] = vb;
        }
        for (int s = 0; s < N_SHAPES; s++) {
            const size_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
            const double flop = 2.0 * (double)M * N * K;
            /* calls per timing from one warm-up call of the small product */
            double t1 = time_way(f32, 0, M, K, N, a, b, c, 1);
            int calls = (int)(TARGET_S / (t1 > 1e-7 ? t1 : 1e-7)) + 1;
            double t[N_WAYS][MAX_ROUNDS];
            for (int w = 1; w < N_WAYS; w++) time_way(f32, w, M, K, N, a, b, c, 1); /* warm-up */
            for (int r = 0; r < rounds; r++)
                for (int w = 0; w < N_WAYS; w++) t[w][r] = time_way(f32, w, M, K, N, a, b, c, calls);
            double med[N_WAYS];
            for (int w = 0; w < N_WAYS; w++) med[w] = median(t[w], rounds);
            printf("%s M %3zu K %3zu N %3zu (%s): small %6.1f GFLOP/s (%3.0f %% of peak); kern_gemm %6.1f, "
                   "cblas %6.1f GFLOP/s; ratio kern_gemm/small %.2f, cblas/small %.2f\n",
                   f32 ? "float32" : "float64", M, K, N, shape_names[s], flop / med[0] * 1e-9,
                   100 * flop / med[0] * 1e-9 / (f32 ? peak_s : peak_d), flop / med[1] * 1e-9,
                   flop / med[2] * 1e-9, med[1] / med[0], med[2] / med[0]);
        }
        free(a); free(b); free(c);
    }
    return 0;
}
