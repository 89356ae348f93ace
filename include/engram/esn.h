/* esn.h: echo-state network (leaky reservoir of rate units with a trained linear readout).
 *
 * What
 * ----
 * A reservoir of N units driven by an input u (I,) and, optionally, by the fed-back
 * output y (O,) of its readout (Jaeger 2001, GMD Report 148; leaky form of
 * Jaeger, Lukosevicius, Popovici & Siewert 2007, Neural Networks 20:335):
 *
 *     x(t) = (1 - a) x(t-1) + a f( W_in u(t) + W x(t-1) + W_fb y(t-1) + b )
 *
 * with leak rate a in (0, 1], f = tanh or the identity (a linear reservoir). tanh is
 * evaluated four lanes at a time by esn_tanh() (max error 2.5 ulp, glibc's tanh 2.1 ulp;
 * 2x faster states than calling libm per unit).
 * - W (N, N) is either sparse with exactly `nnz_per_row` non-zeros per row at distinct,
 *   uniformly chosen columns, values N(0, 1), stored in CSR form, or orthogonal (Q of the
 *   QR decomposition of a Gaussian matrix, signs fixed so that Q is Haar distributed).
 *   Either is rescaled so its spectral radius max |lambda_i(W)| equals `spectral_radius`.
 *   The radius is computed exactly: all N eigenvalues of the dense W, by a row-major
 *   Householder reduction to Hessenberg form (Golub & Van Loan, Matrix Computations,
 *   Alg. 7.4.2) followed by the Francis double-shift QR iteration for eigenvalues only,
 *   with the deflation test and exceptional shifts of LAPACK's dlahqr
 *   (esn_spectral_radius(); O(N^3), serial, 1.3-1.5 s of CPU at N = 1000 (about 0.5 s
 *   Hessenberg, 0.9 s QR), versus 2.8-3.1 s for GSL's gsl_eigen_nonsymm, which is kept
 *   as esn_spectral_radius_gsl() and agrees to 1e-14 in the tests; LAPACK's dgeev with
 *   aggressive early deflation, as NumPy calls it, takes 0.43 s). Never by power
 *   iteration or Arnoldi: for a non-normal W no
 *   cheap residual test bounds the error of the dominant Ritz value (Bauer-Fike needs the
 *   eigenvector condition number), complex dominant pairs make power iteration
 *   oscillate, and Gaussian sparse W have many eigenvalues close to the spectral circle
 *   (circular law), so Krylov methods converge slowly exactly where accuracy matters.
 * - W_in (N, I): uniform in [-input_scaling, input_scaling].
 * - b (N,): uniform in [-bias_scaling, bias_scaling].
 * - W_fb (N, O): uniform in [-feedback_scaling, feedback_scaling]; absent when n_fb = 0.
 * Random draws come from the named streams "esn.w", "esn.w_in", "esn.bias" and "esn.w_fb"
 * (rng.h) of the given seed, so a seed fixes the reservoir whatever the thread count.
 *
 * The update of one reservoir is deliberately serial: for N <= 2000 an OpenMP-parallel
 * sparse mat-vec is much slower than a serial one (rclib's measurement). Parallelism is
 * coarse and lives in the ridge readout (readout.h).
 *
 * Example (one-step prediction, see readout.h for the readout):
 *     esn_params p = esn_params_default();
 *     p.n_in = 1; p.n_res = 500; p.spectral_radius = 0.9;
 *     esn *e = esn_alloc(&p, seed);           // NULL with engram_error() on failure
 *     for (t = 0; t < T; t++) {
 *         esn_step(e, &u[t], NULL);           // no feedback
 *         const double *x = esn_state(e);     // (N,), owned by e
 *     }
 *     esn_free(e);
 *
 * Ownership: esn_alloc() allocates everything (one block of doubles for W values,
 * W_in, b and W_fb; index arrays; the state and a work vector); no function allocates
 * afterwards. A reservoir is not thread-safe; use one per thread.
 *
 * The three reservoir experiments (mackey-glass, narma10, memory-capacity) are defined in
 * src/experiments/reservoir_tasks.c and declared at the end of this header. A prediction
 * run drives the reservoir for data.washout steps, trains the readout (readout.h) on the
 * next data.train steps (online readouts in one pass, each error measured before its
 * update) and scores the next data.test steps with NRMSE = sqrt(MSE) / std(target)
 * (population std of the test targets; summary key nrmse_test). The readout sees
 * [1, x(t), u(t)] (u omitted with reservoir.input_to_readout = false). Files:
 * predictions.npy and targets.npy (T_test, 1), w_out.npy (O, D), prediction.png, and for
 * lms/nlms/rls learning_curve.npy (K, 3: step, window MSE, window NRMSE) and
 * learning_curve.png (log y); memory-capacity writes mc_r2.npy (kmax,), mc_curve.png
 * and w_out.npy (kmax, D).
 */
#ifndef ENGRAM_ESN_H
#define ENGRAM_ESN_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ESN_ACT_TANH = 0, ESN_ACT_IDENTITY = 1 } esn_activation;
typedef enum { ESN_W_SPARSE = 0, ESN_W_ORTHOGONAL = 1 } esn_topology;

typedef struct esn_params {
    size_t n_in;             /* I: input dimension (may be 0) */
    size_t n_res;            /* N: reservoir units (>= 1) */
    size_t n_fb;             /* O: fed-back output dimension (0 = no feedback) */
    esn_topology topology;   /* sparse (CSR) or orthogonal (dense) W */
    size_t nnz_per_row;      /* non-zeros per row of a sparse W (1..N) */
    double spectral_radius;  /* target max |eigenvalue| of W (>= 0) */
    double input_scaling;    /* W_in ~ U[-s, s] */
    double bias_scaling;     /* b ~ U[-s, s] */
    double feedback_scaling; /* W_fb ~ U[-s, s] */
    double leak;             /* a in (0, 1] */
    esn_activation activation;
} esn_params;

typedef struct esn {
    esn_params p;
    /* W in CSR form: row i holds values w_val[row_ptr[i] .. row_ptr[i+1]-1] at columns
     * w_col[...]. An orthogonal W is stored as CSR with N entries per row. */
    size_t *row_ptr;  /* (N + 1,) */
    size_t *w_col;    /* (nnz,) */
    double *w_val;    /* (nnz,) points into block */
    double *w_in;     /* (N, I) points into block */
    double *bias;     /* (N,) points into block */
    double *w_fb;     /* (N, O) points into block (NULL when O = 0) */
    double *x;        /* (N,) current state */
    double *pre;      /* (N,) work: pre-activation */
    double *block;    /* every parameter, contiguous */
    size_t nnz;
    size_t n_block;
    double radius_raw; /* spectral radius of W before rescaling */
} esn;

/* Returns the default parameters: I = 1, N = 100, no feedback, sparse W with 10
 * non-zeros per row, radius 0.9, input scaling 1, bias scaling 0, feedback scaling 0,
 * leak 1, tanh. */
esn_params esn_params_default(void);

/* Builds a reservoir from p with weights drawn from the named streams of `seed`.
 * Returns NULL with engram_error() set on bad parameters (ENGRAM_EINVAL), allocation
 * failure or an eigenvalue failure. The state starts at zero. */
esn *esn_alloc(const esn_params *p, uint64_t seed);

/* Frees a reservoir; NULL is a no-op. */
void esn_free(esn *e);

/* Sets the state x to zero. */
void esn_reset(esn *e);

/* Advances the state by one step with input u (I,) (may be NULL when I = 0) and fed-back
 * output y_fb (O,) (ignored and may be NULL when O = 0). Allocates nothing. */
void esn_step(esn *e, const double *u, const double *y_fb);

/* Returns the current state (N,), owned by e. */
const double *esn_state(const esn *e);

/* Writes W as a dense row-major (N, N) matrix into out. */
void esn_w_dense(const esn *e, double *out);

/* Computes the spectral radius max |lambda_i| of the dense row-major (n, n) matrix a
 * exactly (all n eigenvalues, see the overview) into *radius: Householder reduction to
 * Hessenberg form, OpenMP over rows, then Francis double-shift QR for eigenvalues only
 * (LAPACK dlahqr's deflation and shift strategy). a is left unchanged. The result is the
 * same for every thread count. Returns ENGRAM_OK, ENGRAM_ENOMEM, ENGRAM_EINVAL (non-finite
 * entries) or ENGRAM_ERANGE (the QR iteration did not converge). */
int esn_spectral_radius(const double *a, size_t n, double *radius);

/* The reference for esn_spectral_radius(): the same quantity from GSL's
 * gsl_eigen_nonsymm (eigenvalues only, no balancing), about 4x slower at N = 1000.
 * Same arguments and return codes (no ENGRAM_EINVAL check). */
int esn_spectral_radius_gsl(const double *a, size_t n, double *radius);

/* y[i] = tanh(x[i]) for i < n with the reservoir's vectorised tanh (esn.c: expm1 by
 * argument reduction and a degree-14 Taylor polynomial; max error 2.5 ulp against tanhl
 * in the tests, glibc's tanh 2.1 ulp; NaN propagates; the same bits for any n and alignment). x and y may be the
 * same array. */
void esn_tanh(const double *x, double *y, size_t n);

/* The reservoir experiments (src/experiments/reservoir_tasks.c), registered in
 * src/cli/registry.c. */
struct experiment;
extern const struct experiment exp_mackey_glass;
extern const struct experiment exp_narma10;
extern const struct experiment exp_memory_capacity;

#endif
