/* kernels.h: vectorised element-wise maths and sparse (CSR) products shared by the models.
 *
 * What
 * ----
 * Small numerical kernels that several rooms need, each fast kernel next to the naive
 * reference it is tested against (tests/test_kernels.c):
 *
 *   kern_exp, kern_tanh, kern_sigmoid   y[i] = f(x[i]) over an array, four lanes at a
 *                                       time (GCC vector extensions, compiled for
 *                                       AVX-512, AVX2 and baseline x86-64 and chosen at
 *                                       load time); references kern_*_ref call libm.
 *   kern_tanh_f32                       the same tanh over float arrays, eight lanes.
 *   kern_csr_mv                         y += A x for a sparse A (R, C) in CSR form.
 *   kern_csr_mm                         Y += A X for a block of B column vectors,
 *                                       X (C, B) and Y (R, B) row-major (SpMM).
 *
 * Accuracy (measured against long-double libm in the tests): exp <= 1 ulp on normal
 * results, tanh <= 3 ulp (glibc's tanh: 2.1 ulp), sigmoid <= 3 ulp. NaN propagates,
 * +-inf and +-0 give the libm values. The lanes use +, -, *, / only in a fixed order
 * (ISO C mode contracts nothing into FMA), so every clone and every split of the array
 * gives the same bits: results do not depend on the machine's vector width or on how a
 * caller chunks its work over threads.
 *
 * CSR layout: row i of A holds val[row_ptr[i] .. row_ptr[i+1]-1] at columns
 * col[row_ptr[i] .. row_ptr[i+1]-1]; values and columns are contiguous arrays, row_ptr
 * has R + 1 entries. The fast products sum each row's terms in storage order, exactly as
 * the references do (each y[i] is the start of its row's sum, so a caller that puts a
 * bias into y first gets bias + sum_k in that order), so kern_csr_mv equals kern_csr_mv_ref bit for bit and column b of
 * kern_csr_mm equals kern_csr_mv on column b of X. kern_csr_mv interleaves four rows so
 * that the four sequential sums (each a chain of dependent additions) overlap.
 *
 * Example:
 *     kern_tanh(pre, pre, n);                          // in place
 *     kern_csr_mv(n, row_ptr, col, val, x, y);         // y (n,) += W x
 *     kern_csr_mm(n, row_ptr, col, val, xb, yb, 8);    // yb (n, 8) += W xb (n, 8)
 *
 * Ownership: the caller owns every array; nothing allocates. All kernels are thread-safe.
 */
#ifndef ENGRAM_KERNELS_H
#define ENGRAM_KERNELS_H

#include <stddef.h>

/* y[i] = exp(x[i]) for i < n; x and y may be the same array. Results below the normal
 * range are rounded twice (at most 1 ulp of the subnormal). */
void kern_exp(const double *x, double *y, size_t n);

/* y[i] = tanh(x[i]) for i < n; x and y may be the same array. */
void kern_tanh(const double *x, double *y, size_t n);

/* y[i] = 1 / (1 + exp(-x[i])) for i < n; x and y may be the same array. */
void kern_sigmoid(const double *x, double *y, size_t n);

/* References: the same through libm's exp, tanh and 1 / (1 + exp(-x)). */
void kern_exp_ref(const double *x, double *y, size_t n);
void kern_tanh_ref(const double *x, double *y, size_t n);
void kern_sigmoid_ref(const double *x, double *y, size_t n);

/* y[i] = tanh(x[i]) for i < n in single precision (the float32 training paths); x and y
 * may be the same array. At most 3 float ulp from tanh (2.5 measured in the tests over a
 * dense sweep of [-12, 12]; glibc's tanhf: 1.9); NaN, +-inf and +-0 as tanhf. kern_tanh_f32_ref calls
 * libm's tanhf. */
void kern_tanh_f32(const float *x, float *y, size_t n);
void kern_tanh_f32_ref(const float *x, float *y, size_t n);

/* y (R,) += A x for the CSR matrix A with R = n_rows rows: y[i] is the first term of row
 * i's sum, then the row's terms in storage order. x holds at least max(col) + 1 values;
 * x and y must not overlap. */
void kern_csr_mv(size_t n_rows, const size_t *row_ptr, const size_t *col, const double *val,
                 const double *x, double *y);

/* Reference for kern_csr_mv(): one row at a time, one term at a time. */
void kern_csr_mv_ref(size_t n_rows, const size_t *row_ptr, const size_t *col, const double *val,
                     const double *x, double *y);

/* Y (R, B) += A X with X (C, B), both row-major, R = n_rows: B products with the same A
 * in one pass over A (each non-zero read once, then B contiguous multiply-adds); column b
 * of Y gets exactly kern_csr_mv's sums. X and Y must not overlap. */
void kern_csr_mm(size_t n_rows, const size_t *row_ptr, const size_t *col, const double *val,
                 const double *x, double *y, size_t b);

/* Reference for kern_csr_mm(): kern_csr_mv_ref's loop for every column of X. */
void kern_csr_mm_ref(size_t n_rows, const size_t *row_ptr, const size_t *col, const double *val,
                     const double *x, double *y, size_t b);

#endif
