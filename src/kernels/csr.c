/* csr.c: sparse (CSR) matrix-vector and matrix-block products and their references
 * (kernels.h). */
#include "engram/kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define KERN_CSR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define KERN_CSR_MV_ATTR \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("no-tree-vectorize")))
#else
#define KERN_CSR_CLONES
#define KERN_CSR_MV_ATTR
#endif

void kern_csr_mv_ref(size_t n_rows, const size_t *row_ptr, const size_t *col, const double *val,
                     const double *x, double *y) {
    for (size_t i = 0; i < n_rows; i++) {
        double s = y[i];
        for (size_t k = row_ptr[i]; k < row_ptr[i + 1]; k++) s += val[k] * x[col[k]];
        y[i] = s;
    }
}

/* Four rows at a time: row i + l accumulates, in storage order, the terms all four rows
 * have (m < the shortest length) in its own scalar, then finishes alone. Each row's sum
 * is the reference's sequential sum, so the bits are the same; only the four dependent
 * chains now run side by side instead of one after another. Scalars, not an array of
 * lanes, and no auto-vectorisation: GCC's vector form of this loop assembles every
 * operand from scalar loads and keeps the accumulator in memory (0.78 ns per non-zero at
 * N = 1000, 10 per row, against 0.47 ns for this form; eight rows measured no faster). */
KERN_CSR_MV_ATTR
void kern_csr_mv(size_t n_rows, const size_t *restrict row_ptr, const size_t *restrict col,
                 const double *restrict val, const double *restrict x, double *restrict y) {
    size_t i = 0;
    for (; i + 4 <= n_rows; i += 4) {
        const size_t b0 = row_ptr[i], b1 = row_ptr[i + 1], b2 = row_ptr[i + 2],
                     b3 = row_ptr[i + 3], b4 = row_ptr[i + 4];
        const size_t l0 = b1 - b0, l1 = b2 - b1, l2 = b3 - b2, l3 = b4 - b3;
        const size_t m01 = l0 < l1 ? l0 : l1, m23 = l2 < l3 ? l2 : l3, mlen = m01 < m23 ? m01 : m23;
        const size_t *c0 = col + b0, *c1 = col + b1, *c2 = col + b2, *c3 = col + b3;
        const double *v0 = val + b0, *v1 = val + b1, *v2 = val + b2, *v3 = val + b3;
        double s0 = y[i], s1 = y[i + 1], s2 = y[i + 2], s3 = y[i + 3];
        for (size_t m = 0; m < mlen; m++) {
            s0 += v0[m] * x[c0[m]];
            s1 += v1[m] * x[c1[m]];
            s2 += v2[m] * x[c2[m]];
            s3 += v3[m] * x[c3[m]];
        }
        for (size_t m = mlen; m < l0; m++) s0 += v0[m] * x[c0[m]];
        for (size_t m = mlen; m < l1; m++) s1 += v1[m] * x[c1[m]];
        for (size_t m = mlen; m < l2; m++) s2 += v2[m] * x[c2[m]];
        for (size_t m = mlen; m < l3; m++) s3 += v3[m] * x[c3[m]];
        y[i] = s0;
        y[i + 1] = s1;
        y[i + 2] = s2;
        y[i + 3] = s3;
    }
    for (; i < n_rows; i++) {
        double s = y[i];
        for (size_t k = row_ptr[i]; k < row_ptr[i + 1]; k++) s += val[k] * x[col[k]];
        y[i] = s;
    }
}

void kern_csr_mm_ref(size_t n_rows, const size_t *row_ptr, const size_t *col, const double *val,
                     const double *x, double *y, size_t b) {
    for (size_t j = 0; j < b; j++)
        for (size_t i = 0; i < n_rows; i++) {
            double s = y[i * b + j];
            for (size_t k = row_ptr[i]; k < row_ptr[i + 1]; k++) s += val[k] * x[col[k] * b + j];
            y[i * b + j] = s;
        }
}

/* Row i of Y gets the scaled rows of X added in storage order: contiguous over the B
 * columns, so the inner loop vectorises without reordering any column's sum. */
KERN_CSR_CLONES
void kern_csr_mm(size_t n_rows, const size_t *restrict row_ptr, const size_t *restrict col,
                 const double *restrict val, const double *restrict x, double *restrict y,
                 size_t b) {
    for (size_t i = 0; i < n_rows; i++) {
        double *restrict yi = y + i * b;
        for (size_t k = row_ptr[i]; k < row_ptr[i + 1]; k++) {
            const double v = val[k];
            const double *restrict xr = x + col[k] * b;
            for (size_t j = 0; j < b; j++) yi[j] += v * xr[j];
        }
    }
}
