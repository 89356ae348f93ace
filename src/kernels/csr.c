/* csr.c: sparse (CSR) matrix-vector and matrix-block products and their references
 * (kernels.h). */
#include "engram/kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define KERN_CSR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERN_CSR_CLONES
#endif

void kern_csr_mv_ref(size_t n_rows, const size_t *row_ptr, const size_t *col, const double *val,
                     const double *x, double *y) {
    for (size_t i = 0; i < n_rows; i++) {
        double s = y[i];
        for (size_t k = row_ptr[i]; k < row_ptr[i + 1]; k++) s += val[k] * x[col[k]];
        y[i] = s;
    }
}

/* Eight rows at a time: lane l accumulates row i + l over the terms all eight rows have
 * (m < the shortest length), in storage order, then finishes its own row alone. Each
 * row's sum is the reference's sequential sum, so the bits are the same; only the eight
 * dependent chains now run side by side instead of one after another. */
KERN_CSR_CLONES
void kern_csr_mv(size_t n_rows, const size_t *restrict row_ptr, const size_t *restrict col,
                 const double *restrict val, const double *restrict x, double *restrict y) {
    enum { L = 8 };
    size_t i = 0;
    for (; i + L <= n_rows; i += L) {
        size_t b[L], len[L], mlen = (size_t)-1;
        for (int l = 0; l < L; l++) {
            b[l] = row_ptr[i + l];
            len[l] = row_ptr[i + l + 1] - b[l];
            if (len[l] < mlen) mlen = len[l];
        }
        double s[L];
        for (int l = 0; l < L; l++) s[l] = y[i + l];
        for (size_t m = 0; m < mlen; m++)
            for (int l = 0; l < L; l++) s[l] += val[b[l] + m] * x[col[b[l] + m]];
        for (int l = 0; l < L; l++) {
            double t = s[l];
            for (size_t m = mlen; m < len[l]; m++) t += val[b[l] + m] * x[col[b[l] + m]];
            y[i + l] = t;
        }
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
