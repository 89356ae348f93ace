/* readout.h: linear readouts of reservoir states, trained offline (ridge) or online
 * (the delta rule: LMS and normalised LMS; recursive least squares).
 *
 * What
 * ----
 * A readout maps a feature vector f (F,) (reservoir state, optionally the input) to an
 * output y (O,) through weights W (O, D) over the augmented vector z = [1, f] (D = F + 1):
 * the bias is always column 0 of W and the constant 1 is always z[0], for every kind.
 *
 *   ridge   W^T = (Z^T Z + lambda I)^{-1} Z^T Y over the training steps, I the (D, D)
 *           identity (the bias is regularised too, as in Lukosevicius's minimalESN, so
 *           ridge(lambda) equals RLS with P(0) = I/lambda). Z^T Z and Z^T Y are accumulated
 *           as the states stream in, never storing Z:
 *           states are buffered in blocks of `block` rows; each block is packed into
 *           4-column panels and added to the lower triangle of Z^T Z by a register-tiled
 *           kernel (4 x 12 tiles, FMA clones chosen at load time on x86-64; 1.7x the
 *           earlier unpacked 4 x 8 kernel at D = 1002, bitwise the same sums), OpenMP over
 *           fixed 12-column tiles; every output element is written by one thread in a
 *           fixed order, so results do not depend on the thread count. The solve is a
 *           blocked Cholesky factorisation (readout_cholesky(), same kernel) shared by
 *           all O outputs, then two triangular solves per output. Z^T Y is a plain loop
 *           (gslcblas's dgemm order), so BLAS=openblas builds give the same bits.
 *   lms     the delta rule (Widrow & Hoff 1960): e = d - W z (error before the update),
 *           W += mu e z^T.
 *   nlms    normalised LMS (Haykin, Adaptive Filter Theory, normalised LMS chapter):
 *           W += mu e z^T / (eps + |z|^2), stable for 0 < mu < 2.
 *   rls     recursive least squares with forgetting factor g in (0, 1] (Haykin ch. 9;
 *           Sussillo & Abbott 2009): P(0) = I/delta, k = P z / (g + z^T P z),
 *           W += e k^T, P = (P - k z^T P) / g. With g = 1 after T steps
 *           W^T = (delta I + Z^T Z)^{-1} Z^T Y: the ridge solution with lambda = delta.
 * Online kinds check the error of every step: a non-finite error or weight returns
 * ENGRAM_EDIVERGED with a message naming the step and the key to lower.
 *
 * Example:
 *     readout_params rp = readout_params_default();
 *     rp.kind = READOUT_RIDGE; rp.n_feat = N; rp.n_out = 1; rp.ridge = 1e-8;
 *     readout *r = readout_alloc(&rp);
 *     for (t in training steps) readout_train_step(r, x_t, &d_t, NULL);
 *     if (readout_finish(r) != ENGRAM_OK) puts(engram_error());
 *     readout_predict(r, x_test, &y);
 *     readout_free(r);
 *
 * Ownership: readout_alloc() allocates every buffer (ridge: two (D, D) matrices, the
 * (block, D) buffer and its packed copy, which doubles as the Cholesky work; rls:
 * P (D, D)); the other functions allocate nothing. Not
 * thread-safe (the ridge flush itself uses OpenMP internally).
 */
#ifndef ENGRAM_READOUT_H
#define ENGRAM_READOUT_H

#include <stddef.h>

typedef enum { READOUT_RIDGE = 0, READOUT_LMS = 1, READOUT_NLMS = 2, READOUT_RLS = 3 } readout_kind;

typedef struct readout_params {
    readout_kind kind;
    size_t n_feat;     /* F: features per step, bias excluded (>= 1) */
    size_t n_out;      /* O: outputs (>= 1) */
    double ridge;      /* ridge: lambda >= 0 */
    size_t block;      /* ridge: states per accumulation block (>= 1) */
    double mu;         /* lms, nlms: learning rate > 0 */
    double eps;        /* nlms: regulariser of |z|^2, >= 0 */
    double rls_delta;  /* rls: P(0) = I / delta, delta > 0 */
    double rls_forget; /* rls: forgetting factor in (0, 1] */
} readout_params;

typedef struct readout {
    readout_params p;
    size_t dim;     /* D = F + 1 */
    double *w;      /* (O, D) weights, column 0 = bias */
    double *z;      /* (D,) work: augmented features */
    double *e;      /* (O,) work: errors */
    /* ridge */
    double *xtx;    /* (D, D) Z^T Z (lower triangle while accumulating) */
    double *xty;    /* (D, O) Z^T Y */
    double *chol;   /* (D, D) work for the factorisation */
    double *zb;     /* (B, D) block of augmented states */
    double *pack;   /* packed block for the Gram kernel / Cholesky work */
    double *yb;     /* (B, O) block of targets */
    double *yty;    /* (O,) sum of squared targets */
    double *ysum;   /* (O,) sum of targets */
    size_t nb;      /* rows currently in the block */
    /* rls */
    double *P;      /* (D, D), lower triangle maintained */
    double *pz;     /* (D,) P z */
    size_t count;   /* training steps seen */
    int solved;     /* ridge: readout_finish() succeeded */
} readout;

/* Returns defaults: ridge, F = 1, O = 1, lambda 1e-8, block 256, mu 0.1, eps 1e-6,
 * delta 1e-2, forgetting 1. */
readout_params readout_params_default(void);

/* Parses "ridge", "lms", "nlms", "rls" into *kind; returns ENGRAM_OK or ENGRAM_EINVAL. */
int readout_kind_parse(const char *name, readout_kind *kind);

/* Returns the name of a kind ("ridge", ...). */
const char *readout_kind_name(readout_kind kind);

/* Allocates a readout with zero weights. NULL with engram_error() on bad parameters
 * or allocation failure. */
readout *readout_alloc(const readout_params *p);

/* Frees a readout; NULL is a no-op. */
void readout_free(readout *r);

/* Sets the weights to zero and forgets all training (P back to I/delta). */
void readout_reset(readout *r);

/* Output y (O,) = W [1, f] for features f (F,). */
void readout_predict(readout *r, const double *f, double *y);

/* One training step with features f (F,) and target d (O,). Ridge accumulates;
 * online kinds write the prediction made before the update into y_prior (O,) (may be
 * NULL) and update W. Returns ENGRAM_OK or ENGRAM_EDIVERGED (non-finite error, weights
 * or states). */
int readout_train_step(readout *r, const double *f, const double *d, double *y_prior);

/* Ends training: ridge flushes its last block and solves for W (ENGRAM_ERANGE if
 * Z^T Z + lambda I is not positive definite, ENGRAM_EINVAL if no step was seen);
 * online kinds check that W is finite (ENGRAM_EDIVERGED otherwise). */
int readout_finish(readout *r);

/* Ridge only, after readout_finish(): mean squared training error of output o,
 * computed from the accumulated Z^T Z, Z^T Y and Y^T Y (no second pass), and the
 * population variance of its training targets. */
void readout_ridge_train_error(const readout *r, size_t o, double *mse, double *var);

/* Number of doubles of work readout_accumulate_gram() needs: rows * (dim rounded up to
 * a multiple of 4). */
size_t readout_gram_work_size(size_t rows, size_t dim);

/* Adds Z^T Z for a block z (rows, dim), row-major, into the lower triangle of xtx
 * (dim, dim) (and the upper corner of each diagonal 4 x 12 tile), using OpenMP over fixed
 * 12-column tiles; work holds readout_gram_work_size(rows, dim) doubles (the packed
 * block). Exposed for tests and benchmarks. */
void readout_accumulate_gram(double *xtx, const double *z, size_t rows, size_t dim, double *work);

/* Reference for readout_accumulate_gram(): plain triple loop, lower triangle only. */
void readout_accumulate_gram_ref(double *xtx, const double *z, size_t rows, size_t dim);

/* Number of doubles of work readout_cholesky() needs. */
size_t readout_cholesky_work_size(size_t n);

/* Factors the symmetric positive definite row-major (n, n) matrix a (lower triangle
 * read) in place into its lower Cholesky factor L (a = L L^T; the strict upper triangle
 * is left undefined). Right-looking blocked algorithm (block 96): unblocked diagonal
 * block, row-wise triangular solve of the panel, trailing update with the Gram kernel.
 * Serial (0.014 s of CPU at n = 1002, GSL with gslcblas 0.115 s), so the result does not
 * depend on the thread count.
 * Returns ENGRAM_OK or ENGRAM_ERANGE (a pivot <= 0 or non-finite). */
int readout_cholesky(double *a, size_t n, double *work);

/* Reference for readout_cholesky(): GSL's gsl_linalg_cholesky_decomp1 (the strict upper
 * triangle then holds L^T). Same return codes. */
int readout_cholesky_ref(double *a, size_t n);

#endif
