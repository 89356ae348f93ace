/* error.c: per-thread error messages, exit codes and small numeric helpers (engram.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "engram/engram.h"

/* OpenBLAS (the default BLAS) would start threads of its own inside engram's OpenMP
 * regions, and its results could then depend on the thread count; engram parallelises
 * over fixed work items itself, so OpenBLAS runs single-threaded in every program that
 * links the library (this file is always linked: every module reports errors through it).
 * The symbol is weak: with GSL's CBLAS (make BLAS=gsl) it is absent and this is a no-op. */
extern void openblas_set_num_threads(int n) __attribute__((weak));

__attribute__((constructor)) static void engram_blas_single_thread(void) {
    if (openblas_set_num_threads) openblas_set_num_threads(1);
}

static _Thread_local char error_text[512];

int engram_fail(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
    return status;
}

const char *engram_error(void) { return error_text; }

void engram_error_clear(void) { error_text[0] = '\0'; }

int engram_exit_code(int status) {
    switch (status) {
    case ENGRAM_OK: return 0;
    case ENGRAM_EINVAL: case ENGRAM_ERANGE: return 2;
    default: return 1;
    }
}

int engram_all_finite(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

double engram_wall_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
