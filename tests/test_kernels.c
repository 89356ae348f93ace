/* test_kernels.c: vectorised exp, tanh and sigmoid, the CSR products (kernels.h) and the
 * small-M product (kern_gemm.h).
 *
 * Oracles: long-double libm (expl, tanhl) for the ulp errors; libm on special values;
 * bitwise equality of every fast kernel with its naive reference and with itself under
 * a different split of the array; for the small product, the fma loop
 * kern_gemm_nn_small_*_ref on every instruction set this machine has.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "engram/kern_gemm.h"
#include "engram/kernels.h"
#include "engram/rng.h"
#include "kernels/kernels_impl.h"
#include "testhelp.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* error of y against ref in units of the last place of ref (in double) */
static double ulp_err(double y, long double ref) {
    double rd = (double)ref;
    if (rd == 0.0) return y == 0.0 ? 0.0 : INFINITY;
    double ulp = nextafter(fabs(rd), INFINITY) - fabs(rd);
    return (double)(fabsl((long double)y - ref)) / ulp;
}

static double *mixed_inputs(size_t n, double wide, uint64_t seed) {
    double *x = malloc(n * sizeof(double));
    gsl_rng *r = rng_stream_alloc(seed, "test.vmath", 0);
    for (size_t i = 0; i < n; i++) {
        double u = gsl_rng_uniform(r);
        switch (i % 4) {
        case 0: x[i] = (2.0 * u - 1.0) * wide; break;
        case 1: x[i] = (2.0 * u - 1.0) * 1.5; break;
        case 2: x[i] = (gsl_rng_uniform(r) < 0.5 ? -1.0 : 1.0) * pow(10.0, -300.0 * u); break;
        default: x[i] = (2.0 * u - 1.0) * 0.6; break;
        }
    }
    gsl_rng_free(r);
    return x;
}

static int same_bits(const double *a, const double *b, size_t n) {
    return memcmp(a, b, n * sizeof(double)) == 0;
}

/* y computed one value at a time equals y computed over the whole array */
static int split_invariant(void (*f)(const double *, double *, size_t), const double *x,
                           const double *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double c;
        f(&x[i], &c, 1);
        if (memcmp(&c, &y[i], sizeof c) != 0) return 0;
    }
    return 1;
}

static void test_tanh(void) {
    size_t n = 200003;
    double *x = mixed_inputs(n, 25.0, 8), *y = malloc(n * sizeof(double));
    kern_tanh(x, y, n);
    double worst = 0.0, worst_libm = 0.0;
    for (size_t i = 0; i < n; i++) {
        long double ref = tanhl((long double)x[i]);
        double e = ulp_err(y[i], ref), el = ulp_err(tanh(x[i]), ref);
        if (!(e <= worst)) worst = e;
        if (el > worst_libm) worst_libm = el;
    }
    CHECK(worst <= 3.0, "kern_tanh max error %.3f ulp <= 3 over %zu points in [-25, 25] (glibc tanh: %.3f ulp)",
          worst, n, worst_libm);
    double sp[] = {0.0, -0.0, INFINITY, -INFINITY, 22.0, 21.999, 1e-310, -2.385e-20, 700.0, -1e308};
    double out[10];
    kern_tanh(sp, out, 10);
    int same = 1;
    for (int i = 0; i < 10; i++)
        if (out[i] != tanh(sp[i]) || signbit(out[i]) != signbit(tanh(sp[i]))) same = 0;
    CHECK(same, "kern_tanh equals tanh on +-0, +-inf, 22, 21.999, subnormal, tiny, 700, -1e308 (signs too)");
    double nan_in = NAN, nan_out = 0.0;
    kern_tanh(&nan_in, &nan_out, 1);
    CHECK(isnan(nan_out), "kern_tanh propagates NaN (divergence stays detectable)");
    CHECK(split_invariant(kern_tanh, x, y, 1001), "kern_tanh gives the same bits one value at a time as in blocks of 4");
    free(x);
    free(y);
}

static void test_exp(void) {
    size_t n = 200003;
    double *x = mixed_inputs(n, 700.0, 9), *y = malloc(n * sizeof(double));
    kern_exp(x, y, n);
    double worst = 0.0, worst_libm = 0.0;
    for (size_t i = 0; i < n; i++) {
        long double ref = expl((long double)x[i]);
        double e = ulp_err(y[i], ref), el = ulp_err(exp(x[i]), ref);
        if (!(e <= worst)) worst = e;
        if (el > worst_libm) worst_libm = el;
    }
    CHECK(worst <= 1.0, "kern_exp max error %.3f ulp <= 1 over %zu points in [-700, 700] (glibc exp: %.3f ulp)",
          worst, n, worst_libm);
    /* the subnormal range (results rounded twice) and the limits */
    double sp[] = {0.0, -0.0, INFINITY, -INFINITY, 709.78, 709.79, 710.0, -708.0, -745.0, -746.0, 1e-310};
    double out[11], ref[11];
    kern_exp(sp, out, 11);
    kern_exp_ref(sp, ref, 11);
    int ok = 1;
    for (int i = 0; i < 11; i++) {
        double tolu = fabs(ref[i]) < 2.3e-308 ? 1.0 : 0.5; /* subnormal: 1 unit of 2^-1074 */
        double d = isinf(ref[i]) ? (out[i] == ref[i] ? 0.0 : INFINITY)
                                 : fabs(out[i] - ref[i]) / (nextafter(fabs(ref[i]), INFINITY) - fabs(ref[i]));
        if (!(d <= tolu + 0.5)) {
            ok = 0;
            printf("# exp(%.17g) = %.17g, libm %.17g\n", sp[i], out[i], ref[i]);
        }
    }
    CHECK(ok, "kern_exp on 0, +-inf, overflow edge 709.78 / 709.79 / 710, -708, subnormal -745, underflow -746");
    double nan_in = NAN, nan_out = 0.0;
    kern_exp(&nan_in, &nan_out, 1);
    CHECK(isnan(nan_out), "kern_exp propagates NaN");
    CHECK(split_invariant(kern_exp, x, y, 1001), "kern_exp gives the same bits one value at a time as in blocks of 4");
    free(x);
    free(y);
}

static void test_sigmoid(void) {
    size_t n = 200003;
    double *x = mixed_inputs(n, 40.0, 10), *y = malloc(n * sizeof(double)),
           *yr = malloc(n * sizeof(double));
    kern_sigmoid(x, y, n);
    kern_sigmoid_ref(x, yr, n);
    double worst = 0.0, worst_libm = 0.0;
    for (size_t i = 0; i < n; i++) {
        long double ref = 1.0L / (1.0L + expl(-(long double)x[i]));
        double e = ulp_err(y[i], ref), el = ulp_err(yr[i], ref);
        if (!(e <= worst)) worst = e;
        if (el > worst_libm) worst_libm = el;
    }
    CHECK(worst <= 3.0, "kern_sigmoid max error %.3f ulp <= 3 over %zu points in [-40, 40] (libm formula: %.3f ulp)",
          worst, n, worst_libm);
    double sp[] = {0.0, INFINITY, -INFINITY, 800.0, -800.0, -2.385};
    double out[6], ref[6];
    kern_sigmoid(sp, out, 6);
    kern_sigmoid_ref(sp, ref, 6);
    int ok = 1;
    for (int i = 0; i < 5; i++) ok &= out[i] == ref[i];
    ok &= fabs(out[5] - ref[5]) <= 4e-16;
    CHECK(ok, "kern_sigmoid: 0.5 at 0, 1 at +inf and 800, 0 at -inf and -800, sigmoid(-2.385) = %.17g", out[5]);
    CHECK(split_invariant(kern_sigmoid, x, y, 1001), "kern_sigmoid gives the same bits one value at a time as in blocks of 4");
    free(x);
    free(y);
    free(yr);
}

static void test_csr(void) {
    /* a 203 x 157 CSR matrix with row lengths 0..23 (empty rows, long rows, rows
     * shorter than their 8-row group), values and inputs of high entropy */
    size_t R = 203, C = 157, B = 5;
    size_t *rp = malloc((R + 1) * sizeof(size_t));
    gsl_rng *r = rng_stream_alloc(11, "test.csr", 0);
    rp[0] = 0;
    for (size_t i = 0; i < R; i++) rp[i + 1] = rp[i] + (i % 17 == 0 ? 0 : gsl_rng_uniform_int(r, 24));
    size_t nnz = rp[R];
    size_t *col = malloc(nnz * sizeof(size_t));
    double *val = malloc(nnz * sizeof(double)), *x = malloc(C * B * sizeof(double));
    for (size_t k = 0; k < nnz; k++) {
        col[k] = gsl_rng_uniform_int(r, C);
        val[k] = 2.385 * (gsl_rng_uniform(r) - 0.5);
    }
    for (size_t j = 0; j < C * B; j++) x[j] = gsl_rng_uniform(r) * 3.1 - 1.7;
    double *y = malloc(R * sizeof(double)), *yr = malloc(R * sizeof(double));
    for (size_t i = 0; i < R; i++) y[i] = yr[i] = 0.25 * (double)i - 7.0; /* a start value */
    kern_csr_mv(R, rp, col, val, x, y);
    kern_csr_mv_ref(R, rp, col, val, x, yr);
    CHECK(same_bits(y, yr, R), "kern_csr_mv equals the row-by-row reference bit for bit (%zu rows, %zu non-zeros)",
          R, nnz);
    /* against a dense product in long double */
    double worst = 0.0;
    for (size_t i = 0; i < R; i++) {
        long double s = 0.25L * (long double)i - 7.0L;
        for (size_t k = rp[i]; k < rp[i + 1]; k++) s += (long double)val[k] * x[col[k]];
        worst = fmax(worst, (double)fabsl((long double)y[i] - s));
    }
    CHECK(worst <= 1e-13, "kern_csr_mv against a long-double sum: max |diff| %.3g <= 1e-13", worst);
    double *yb = malloc(R * B * sizeof(double)), *ybr = malloc(R * B * sizeof(double));
    for (size_t j = 0; j < R * B; j++) yb[j] = ybr[j] = 0.5 - 0.01 * (double)j;
    kern_csr_mm(R, rp, col, val, x, yb, B);
    kern_csr_mm_ref(R, rp, col, val, x, ybr, B);
    CHECK(same_bits(yb, ybr, R * B), "kern_csr_mm equals its reference bit for bit (B = %zu)", B);
    int cols_ok = 1;
    double *xc = malloc(C * sizeof(double));
    for (size_t b = 0; b < B; b++) {
        for (size_t j = 0; j < C; j++) xc[j] = x[j * B + b];
        for (size_t i = 0; i < R; i++) y[i] = 0.5 - 0.01 * (double)(i * B + b);
        kern_csr_mv(R, rp, col, val, xc, y);
        for (size_t i = 0; i < R; i++)
            if (memcmp(&y[i], &yb[i * B + b], sizeof(double)) != 0) cols_ok = 0;
    }
    CHECK(cols_ok, "every column of kern_csr_mm equals kern_csr_mv on that column");
    gsl_rng_free(r);
    free(rp);
    free(col);
    free(val);
    free(x);
    free(xc);
    free(y);
    free(yr);
    free(yb);
    free(ybr);
}

/* Error of a float result in float ulps of the reference (the spacing at |reference|
 * rounded to float). */
static double ulp_err_f(float y, long double ref) {
    float rf = (float)ref;
    float ulp = nextafterf(fabsf(rf), INFINITY) - fabsf(rf);
    return (double)(fabsl((long double)y - ref) / ulp);
}

static void test_tanh_f32(void) {
    enum { NF = 200001 };
    float *x = malloc(NF * sizeof(float)), *y = malloc(NF * sizeof(float)), *y1 = malloc(NF * sizeof(float));
    for (size_t i = 0; i < NF; i++) x[i] = (float)(-12.0 + 24.0 * (double)i / (NF - 1));
    x[NF / 2] = 1e-30f; /* tiny */
    kern_tanh_f32(x, y, NF);
    double worst = 0, worst_libm = 0;
    for (size_t i = 0; i < NF; i++) {
        long double ref = tanhl((long double)x[i]);
        worst = fmax(worst, ulp_err_f(y[i], ref));
        worst_libm = fmax(worst_libm, ulp_err_f(tanhf(x[i]), ref));
    }
    CHECK(worst <= 3.0, "kern_tanh_f32 max error %.3f float ulp <= 3 over %d points in [-12, 12] (glibc tanhf: %.3f)",
          worst, NF, worst_libm);
    float sp[8] = {0.0f, -0.0f, INFINITY, -INFINITY, 10.0f, 9.99f, 1e-40f, -1e30f}, out[8], ref[8];
    kern_tanh_f32(sp, out, 8);
    kern_tanh_f32_ref(sp, ref, 8);
    int same = 1;
    for (int k = 0; k < 8; k++) same &= out[k] == ref[k] && signbit(out[k]) == signbit(ref[k]);
    CHECK(same, "kern_tanh_f32 equals tanhf on +-0, +-inf, 10, 9.99, subnormal, -1e30 (signs too)");
    float nan_in = NAN, nan_out = 0;
    kern_tanh_f32(&nan_in, &nan_out, 1);
    CHECK(isnan(nan_out), "kern_tanh_f32 propagates NaN");
    int split = 1;
    for (size_t i = 0; i < 1001; i++) { kern_tanh_f32(x + i, y1 + i, 1); split &= memcmp(&y1[i], &y[i], sizeof(float)) == 0; }
    CHECK(split, "kern_tanh_f32 gives the same bits one value at a time as in blocks of 8");
    free(x); free(y); free(y1);
}

/* The small-M product against its reference, bit for bit: a ragged grid of shapes (M
 * 1..33, odd N, K from 0), strides longer than the rows, alpha 1 and -1.37, beta 0, 1
 * and 0.5; with beta 0, C starts as NaN (it must not be read). `isa` caps the
 * instruction set; `par` runs the parallel form with 1 and 2 threads instead. Returns the
 * number of shapes that differed; *n_run counts the shapes. */
#define SMALL_CHECK_DEFINE(SFX, REAL)                                                        \
    static int small_check_##SFX(int par, size_t *n_run) {                                   \
        static const size_t Ms[] = {1, 2, 3, 4, 5, 6, 7, 10, 12, 13, 25, 33};                \
        static const size_t Ns[] = {1, 7, 15, 16, 17, 63, 129, 511, 513};                    \
        static const size_t Ks[] = {0, 1, 3, 128, 511};                                      \
        static const double betas[] = {0.0, 1.0, 0.5};                                       \
        const size_t pad = 5, max_m = 33, max_n = 513, max_k = 511;                          \
        const size_t lda = max_k + pad, ldb = max_n + 3, ldc = max_n + pad;                  \
        REAL *a = malloc(max_m * lda * sizeof(REAL)), *b = malloc(max_k * ldb * sizeof(REAL)); \
        REAL *c0 = malloc(max_m * ldc * sizeof(REAL)), *c = malloc(max_m * ldc * sizeof(REAL)); \
        REAL *cr = malloc(max_m * ldc * sizeof(REAL));                                       \
        gsl_rng *r = rng_stream_alloc(21, "test.small_gemm", 0);                             \
        for (size_t i = 0; i < max_m * lda; i++) a[i] = (REAL)(2.385 * gsl_rng_uniform(r) - 1.19); \
        for (size_t i = 0; i < max_k * ldb; i++) b[i] = (REAL)(1.7 * gsl_rng_uniform(r) - 0.83); \
        for (size_t i = 0; i < max_m * ldc; i++) c0[i] = (REAL)(3.1 * gsl_rng_uniform(r) - 1.6); \
        gsl_rng_free(r);                                                                     \
        int bad = 0;                                                                         \
        size_t count = 0;                                                                    \
        for (size_t im = 0; im < sizeof Ms / sizeof Ms[0]; im++)                             \
            for (size_t in = 0; in < sizeof Ns / sizeof Ns[0]; in++)                         \
                for (size_t ik = 0; ik < sizeof Ks / sizeof Ks[0]; ik++)                     \
                    for (size_t ib = 0; ib < 3; ib++) {                                      \
                        const size_t M = Ms[im], N = Ns[in], K = Ks[ik];                     \
                        /* large shapes once (beta 1), small ones with every beta */         \
                        if (M * N * K > 200000 && ib != 1) continue;                         \
                        const REAL alpha = (REAL)((im + in) % 2 ? -1.37 : 1.0);              \
                        const REAL beta = (REAL)betas[ib];                                   \
                        /* C's stride: ldc, or exactly N (no padding past the last row) */   \
                        const size_t ldcc = (in + ik) % 2 ? ldc : N;                         \
                        for (size_t i = 0; i < max_m * ldc; i++)                             \
                            c[i] = cr[i] = beta == 0 ? (REAL)NAN : c0[i];                    \
                        kern_gemm_nn_small_##SFX##_ref(M, N, K, alpha, a, lda, b, ldb, beta, cr, ldcc); \
                        for (int th = 1; th <= (par ? 2 : 1); th++) {                        \
                            if (th == 2)                                                     \
                                for (size_t i = 0; i < max_m * ldc; i++)                     \
                                    c[i] = beta == 0 ? (REAL)NAN : c0[i];                    \
                            if (par) {                                                       \
                                SMALL_SET_THREADS(th);                                       \
                                kern_gemm_nn_small_par_##SFX(M, N, K, alpha, a, lda, b, ldb, beta, c, ldcc); \
                            } else {                                                         \
                                kern_gemm_nn_small_##SFX(M, N, K, alpha, a, lda, b, ldb, beta, c, ldcc); \
                            }                                                                \
                            /* every element, padding included: nothing outside C written */ \
                            if (memcmp(c, cr, max_m * ldc * sizeof(REAL)) != 0) {            \
                                if (bad < 3)                                                 \
                                    printf("#   differs: M %zu N %zu K %zu alpha %g beta %g ldc %zu threads %d\n", \
                                           M, N, K, (double)alpha, (double)beta, ldcc, th);  \
                                bad++;                                                       \
                            }                                                                \
                        }                                                                    \
                        count++;                                                             \
                    }                                                                        \
        SMALL_SET_THREADS(2);                                                                \
        free(a); free(b); free(c0); free(c); free(cr);                                       \
        *n_run = count;                                                                      \
        return bad;                                                                          \
    }
#ifdef _OPENMP
#define SMALL_SET_THREADS(n) omp_set_num_threads(n)
#else
#define SMALL_SET_THREADS(n) ((void)(n))
#endif
SMALL_CHECK_DEFINE(d, double)
SMALL_CHECK_DEFINE(s, float)

static void test_small_gemm(void) {
    static const char *const isa_names[] = {"reference", "AVX2+FMA", "AVX-512F"};
    int best = kern_gemm_small_isa();
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    int want = __builtin_cpu_supports("avx512f") ? KERN_ISA_AVX512
               : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? KERN_ISA_AVX2 : KERN_ISA_REF;
    CHECK(best == want, "kern_gemm_nn_small runs the %s path, the best this CPU has", isa_names[best]);
#endif
    for (int isa = best; isa >= KERN_ISA_REF; isa--) {
        kern_gemm_small_cap_isa(isa);
        CHECK(kern_gemm_small_isa() == isa, "capped at %s, the small product uses it", isa_names[isa]);
        size_t n = 0;
        int bad = small_check_d(0, &n);
        CHECK(bad == 0, "kern_gemm_nn_small_d (%s) equals the fma reference bit for bit: %d of %zu shapes differ",
              isa_names[isa], bad, n);
        bad = small_check_s(0, &n);
        CHECK(bad == 0, "kern_gemm_nn_small_s (%s) equals the fma reference bit for bit: %d of %zu shapes differ",
              isa_names[isa], bad, n);
    }
    kern_gemm_small_cap_isa(KERN_ISA_AVX512);
    size_t n = 0;
    int bad = small_check_d(1, &n);
    CHECK(bad == 0, "kern_gemm_nn_small_par_d with 1 and 2 threads equals the reference: %d of %zu shapes differ", bad, n);
    bad = small_check_s(1, &n);
    CHECK(bad == 0, "kern_gemm_nn_small_par_s with 1 and 2 threads equals the reference: %d of %zu shapes differ", bad, n);
    /* against a long-double sum: the reference itself is a product (float: within K ulps
     * of the largest term times the sum of magnitudes) */
    enum { M = 3, N = 5, K = 7 };
    float af[M * K], bf[K * N], cf[M * N];
    long double worst = 0;
    for (int i = 0; i < M * K; i++) af[i] = 0.25f * (float)(i % 9) - 1.0f;
    for (int i = 0; i < K * N; i++) bf[i] = 0.375f * (float)(i % 7) - 1.125f;
    kern_gemm_nn_small_s(M, N, K, 2.0f, af, K, bf, N, 0.0f, cf, N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            long double sum = 0;
            for (int k = 0; k < K; k++) sum += (long double)af[i * K + k] * bf[k * N + j];
            worst = fmaxl(worst, fabsl(2 * sum - cf[i * N + j]));
        }
    CHECK(worst == 0, "kern_gemm_nn_small_s of short dyadic values is exact: max |diff| %.3Lg", worst);
}

static const test_case tests[] = {
    {"tanh", test_tanh},
    {"exp", test_exp},
    {"sigmoid", test_sigmoid},
    {"tanh_f32", test_tanh_f32},
    {"csr", test_csr},
    {"small_gemm", test_small_gemm},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
