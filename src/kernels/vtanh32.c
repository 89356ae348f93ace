/* vtanh32.c: vectorised tanh over float arrays and its reference (kernels.h), for the
 * float32 paths of the models.
 *
 * The same construction as vmath.c's double tanh, in single precision: for y = -2|x|
 * (|x| clamped at 10, where tanhf is 1 to the last bit: tanh 10 = 1 - 4.1e-9),
 * y = k ln2 + r with |r| <= ln2/2 (ln2 split so that k ln2_hi is exact for |k| < 2^8),
 * expm1(r) by its Taylor series to r^8 (truncation < 2e-9 relative, a thirtieth of a float
 * ulp), expm1(y) = 2^k expm1(r) + (2^k - 1), and tanh|x| = -t / (t + 2) with the sign of x
 * copied back. Eight lanes at a time with no data-dependent branch; +, -, *, / only, in a
 * fixed order (ISO C mode contracts nothing into FMA), so every clone and every split of
 * the array gives the same bits. */
#include <math.h>
#include <string.h>
#include "engram/kernels.h"

typedef int kern_s8 __attribute__((vector_size(32)));
typedef float kern_f8 __attribute__((vector_size(32)));
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define KERN32_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERN32_CLONES
#endif

#define KERN32_SPLAT(v) {(v), (v), (v), (v), (v), (v), (v), (v)}
/* lane-wise m ? a : b for a mask m */
#define SELECT_F8(m, a, b) ((kern_f8)(((kern_s8)(a) & (m)) | ((kern_s8)(b) & ~(m))))

/* (Vectors pass through pointers: by value they would change the ABI of the baseline
 * clone.) */
static inline __attribute__((always_inline)) void tanh_f8(kern_f8 *v) {
    const kern_f8 x = *v;
    const kern_f8 one = KERN32_SPLAT(1.0f), two = KERN32_SPLAT(2.0f), big = KERN32_SPLAT(10.0f);
    const kern_f8 shifter = KERN32_SPLAT(0x1.8p23f), inv_ln2 = KERN32_SPLAT(1.44269504f);
    const float ln2_hi = 0x1.62e4p-1f, ln2_lo = 0x1.7f7d1cp-20f; /* ln2_hi: 16 bits */
    const kern_s8 sign = KERN32_SPLAT((int)0x80000000u);
    kern_s8 xi = (kern_s8)x;
    kern_f8 ax = (kern_f8)(xi & ~sign);
    kern_s8 large = ax > big; /* false for NaN */
    kern_f8 y = -two * SELECT_F8(large, big, ax); /* in [-20, 0] or NaN */
    kern_f8 kd = (y * inv_ln2 + shifter) - shifter; /* round to nearest */
    kern_f8 r = (y - kd * ln2_hi) - kd * ln2_lo;
    kern_f8 q = r * (1.0f / 40320.0f) + 1.0f / 5040.0f;
    q = q * r + 1.0f / 720.0f;
    q = q * r + 1.0f / 120.0f;
    q = q * r + 1.0f / 24.0f;
    q = q * r + 1.0f / 6.0f;
    q = q * r + 0.5f;
    kern_f8 p = r + (r * r) * q; /* expm1(r) */
    kern_s8 finite = kd == kd;   /* NaN lanes: k = 0 (p is NaN anyway) */
    kern_s8 k = __builtin_convertvector((kern_f8)((kern_s8)kd & finite), kern_s8);
    kern_f8 scale = (kern_f8)((k + 127) << 23); /* 2^k, k in [-29, 0] */
    kern_f8 t = scale * p + (scale - one);      /* expm1(y) */
    kern_f8 th = SELECT_F8(large, one, -t / (t + two));
    *v = (kern_f8)(((kern_s8)th & ~sign) | (xi & sign)); /* th >= 0 up to the sign of 0 */
}

KERN32_CLONES void kern_tanh_f32(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        kern_f8 v;
        memcpy(&v, x + i, sizeof v);
        tanh_f8(&v);
        memcpy(y + i, &v, sizeof v);
    }
    if (i < n) { /* the tail padded with zeros in an 8-lane buffer */
        float b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        kern_f8 v;
        memcpy(b, x + i, (n - i) * sizeof(float));
        memcpy(&v, b, sizeof v);
        tanh_f8(&v);
        memcpy(b, &v, sizeof v);
        memcpy(y + i, b, (n - i) * sizeof(float));
    }
}

void kern_tanh_f32_ref(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
