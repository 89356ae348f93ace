/* bench_peak.h: the machine's GEMM peak as the benchmarks measure it in their own run,
 * for the "fraction of peak" columns. Include after <stdlib.h>, <gsl/gsl_cblas.h>,
 * <omp.h> (under _OPENMP) and "engram/engram.h". */
#ifndef ENGRAM_BENCH_PEAK_H
#define ENGRAM_BENCH_PEAK_H

/* GFLOP/s of `threads` concurrent, independent n^3 GEMMs (OpenBLAS itself single-
 * threaded, as engram runs it), the median of 3; f32 selects sgemm. */
static double bench_gemm_peak(size_t n, int threads, int f32) {
    size_t sz = n * n * (f32 ? sizeof(float) : sizeof(double));
    double t[3];
    for (int rep = 0; rep < 3; rep++) {
        double t0 = 0, t1 = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
        {
            char *a = calloc(1, sz), *b = calloc(1, sz), *c = calloc(1, sz);
            for (size_t k = 0; a && b && k < n * n; k++) {
                if (f32) { ((float *)a)[k] = (float)(k % 7) * 0.1f; ((float *)b)[k] = (float)(k % 5) * 0.1f; }
                else { ((double *)a)[k] = (double)(k % 7) * 0.1; ((double *)b)[k] = (double)(k % 5) * 0.1; }
            }
#ifdef _OPENMP
#pragma omp barrier
#pragma omp master
#endif
            t0 = engram_wall_time();
#ifdef _OPENMP
#pragma omp barrier
#endif
            if (a && b && c) {
                if (f32)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1,
                                (float *)a, (int)n, (float *)b, (int)n, 0, (float *)c, (int)n);
                else
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1,
                                (double *)a, (int)n, (double *)b, (int)n, 0, (double *)c, (int)n);
            }
#ifdef _OPENMP
#pragma omp barrier
#pragma omp master
#endif
            t1 = engram_wall_time();
            free(a); free(b); free(c);
        }
        t[rep] = t1 - t0;
    }
    /* the median of the three */
    double lo = t[0] < t[1] ? t[0] : t[1], hi = t[0] < t[1] ? t[1] : t[0];
    double med = t[2] < lo ? lo : t[2] > hi ? hi : t[2];
    return threads * 2.0 * (double)n * n * n / med / 1e9;
}

#endif
