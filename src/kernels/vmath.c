/* vmath.c: vectorised exp, tanh and sigmoid over arrays, and their libm references
 * (kernels.h).
 *
 * All three are built on one kernel, expm1 of a value y = k ln2 + r with |r| <= ln2/2
 * (ln2 split in two, fdlibm's constants, so k ln2_hi is exact): expm1(r) by its Taylor
 * series to r^14 (truncation < 5e-18 relative), then
 *     exp(y)   = 2^k (1 + expm1(r)),
 *     expm1(y) = 2^k expm1(r) + (2^k - 1).
 * tanh|x| = -t / (t + 2) with t = expm1(-2|x|) in (-1, 0] (the formula of glibc and
 * fdlibm for |x| < 1), the sign copied from x; |x| > 22 gives 1 (tanh 22 = 1 - 1.6e-19).
 * sigmoid(x) = 1 / (1 + exp(-x)). Four lanes at a time with no data-dependent branch. */
#include <math.h>
#include <string.h>
#include "engram/kernels.h"


typedef long long kern_i4 __attribute__((vector_size(32)));
typedef double kern_d4 __attribute__((vector_size(32)));
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define KERN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERN_CLONES
#endif

#define KERN_SPLAT(v) {(v), (v), (v), (v)}

/* k = round(y / ln2) and expm1(r), r = y - k ln2, for finite y in [-1100, 1100]; NaN
 * lanes give NaN in *p and k = 0. */
/* (Vectors pass through pointers: by value they would change the ABI of the baseline
 * clone, which GCC and clang warn about.) */
static inline __attribute__((always_inline)) void expm1_core(const kern_d4 *yp, kern_d4 *p,
                                                             kern_i4 *k) {
    const kern_d4 y = *yp;
    const kern_d4 shifter = KERN_SPLAT(0x1.8p52);
    const kern_d4 inv_ln2 = KERN_SPLAT(1.44269504088896338700e+00);
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    kern_d4 kd = (y * inv_ln2 + shifter) - shifter; /* round to nearest */
    kern_d4 r = (y - kd * ln2_hi) - kd * ln2_lo;
    kern_d4 q = r * (1.0 / 87178291200.0) + 1.0 / 6227020800.0;
    q = q * r + 1.0 / 479001600.0;
    q = q * r + 1.0 / 39916800.0;
    q = q * r + 1.0 / 3628800.0;
    q = q * r + 1.0 / 362880.0;
    q = q * r + 1.0 / 40320.0;
    q = q * r + 1.0 / 5040.0;
    q = q * r + 1.0 / 720.0;
    q = q * r + 1.0 / 120.0;
    q = q * r + 1.0 / 24.0;
    q = q * r + 1.0 / 6.0;
    q = q * r + 0.5;
    *p = r + (r * r) * q;
    kern_i4 finite = kd == kd; /* NaN lanes: k = 0 (p is NaN anyway) */
    *k = __builtin_convertvector((kern_d4)((kern_i4)kd & finite), kern_i4);
}

/* 2^k for k in [-1022, 1023] from the exponent bits. */
#define POW2I(k) ((kern_d4)(((k) + 1023) << 52))
/* lane-wise m ? a : b for a mask m */
#define SELECT_D4(m, a, b) ((kern_d4)(((kern_i4)(a) & (m)) | ((kern_i4)(b) & ~(m))))

static inline __attribute__((always_inline)) void exp_d4(kern_d4 *v) {
    const kern_d4 x = *v;
    const kern_d4 lo = KERN_SPLAT(-746.0), hi = KERN_SPLAT(710.0), one = KERN_SPLAT(1.0);
    /* clamp (NaN stays NaN: both compares are false) */
    kern_d4 xc = SELECT_D4(x < lo, lo, x);
    xc = SELECT_D4(xc > hi, hi, xc);
    kern_d4 p;
    kern_i4 k;
    expm1_core(&xc, &p, &k);
    /* k in [-1077, 1024]: 2^k = 2^k1 2^k2 keeps both factors normal */
    kern_i4 k1 = k >> 1, k2 = k - k1;
    *v = ((one + p) * POW2I(k1)) * POW2I(k2);
}

static inline __attribute__((always_inline)) void tanh_d4(kern_d4 *v) {
    const kern_d4 x = *v;
    const kern_d4 one = KERN_SPLAT(1.0), two = KERN_SPLAT(2.0), big = KERN_SPLAT(22.0);
    const kern_i4 sign = KERN_SPLAT((long long)0x8000000000000000ULL);
    kern_i4 xi = (kern_i4)x;
    kern_d4 ax = (kern_d4)(xi & ~sign);
    kern_i4 large = ax > big; /* false for NaN */
    kern_d4 y = -two * SELECT_D4(large, big, ax); /* in [-44, 0] or NaN */
    kern_d4 p;
    kern_i4 k;
    expm1_core(&y, &p, &k);
    kern_d4 scale = POW2I(k);                /* 2^k, k in [-64, 0] */
    kern_d4 t = scale * p + (scale - one);   /* expm1(y) */
    kern_d4 th = SELECT_D4(large, one, -t / (t + two));
    *v = (kern_d4)(((kern_i4)th & ~sign) | (xi & sign)); /* th >= 0 up to the sign of 0 */
}

static inline __attribute__((always_inline)) void sigmoid_d4(kern_d4 *v) {
    const kern_d4 one = KERN_SPLAT(1.0);
    kern_d4 e = -*v;
    exp_d4(&e);
    *v = one / (one + e);
}

/* Applies F over n values, the tail padded with zeros in a 4-lane buffer (x and y may
 * alias exactly). */
#define KERN_ARRAY(name, F)                                                   \
    KERN_CLONES void name(const double *x, double *y, size_t n) {             \
        size_t i = 0;                                                         \
        for (; i + 4 <= n; i += 4) {                                          \
            kern_d4 v;                                                        \
            memcpy(&v, x + i, sizeof v);                                      \
            F(&v);                                                             \
            memcpy(y + i, &v, sizeof v);                                      \
        }                                                                     \
        if (i < n) {                                                          \
            double b[4] = {0, 0, 0, 0};                                       \
            kern_d4 v;                                                        \
            memcpy(b, x + i, (n - i) * sizeof(double));                       \
            memcpy(&v, b, sizeof v);                                          \
            F(&v);                                                             \
            memcpy(b, &v, sizeof v);                                          \
            memcpy(y + i, b, (n - i) * sizeof(double));                       \
        }                                                                     \
    }

KERN_ARRAY(kern_exp, exp_d4)
KERN_ARRAY(kern_tanh, tanh_d4)
KERN_ARRAY(kern_sigmoid, sigmoid_d4)

void kern_exp_ref(const double *x, double *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = exp(x[i]);
}

void kern_tanh_ref(const double *x, double *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = tanh(x[i]);
}

void kern_sigmoid_ref(const double *x, double *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 1.0 / (1.0 + exp(-x[i]));
}
