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
 * evaluated four lanes at a time by kern_tanh() (kernels.h; max error 2.5 ulp, glibc's
 * tanh 2.1 ulp) and W x by the CSR kernel kern_csr_mv(), which runs eight rows side by
 * side and gives the bits of the plain row loop.
 * - W (N, N) is either sparse with exactly `nnz_per_row` non-zeros per row at distinct,
 *   uniformly chosen columns, values N(0, 1), generated directly in CSR form (no dense
 *   N x N matrix is ever formed for a sparse W unless the dense radius solver is chosen),
 *   or orthogonal (Q of the QR decomposition of a Gaussian matrix, signs fixed so that Q
 *   is Haar distributed; dense by nature). Either is rescaled so its spectral radius
 *   max |lambda_i(W)| equals `spectral_radius`. Two solvers compute the radius
 *   (radius_method; `auto` takes dense for N <= radius_dense_max, default 500, ARPACK above):
 *   * dense, exact: all N eigenvalues of the dense W, by a row-major Householder
 *     reduction to Hessenberg form (Golub & Van Loan, Matrix Computations, Alg. 7.4.2)
 *     followed by the Francis double-shift QR iteration for eigenvalues only, with the
 *     deflation test and exceptional shifts of LAPACK's dlahqr (esn_spectral_radius();
 *     O(N^3) time, 8 N^2 bytes: 1.3-1.5 s of CPU at N = 1000, 25 s at 2000, versus
 *     2.8-3.1 s for GSL's gsl_eigen_nonsymm, kept as esn_spectral_radius_gsl() and
 *     agreeing to 1e-14 in the tests). It is the oracle of the ARPACK path.
 *   * ARPACK (esn_spectral_radius_arpack()): the implicitly restarted Arnoldi method of
 *     dnaupd/dneupd (the library scipy.sparse.linalg.eigs calls) for the few eigenvalues
 *     of largest modulus, W touched only through the CSR product, O(N ncv) memory. It
 *     runs on the operator (W / s)^P (arpack.power P = 16; s the root mean square row
 *     norm, which only keeps the powers in range): its eigenvalues are (lambda / s)^P, in
 *     the same order of modulus, with moduli 16 times further apart in relative terms,
 *     and each operator call costs P products but one orthogonalisation, so ARPACK's own
 *     work shrinks P-fold (at N = 10,000 it was 3/4 of the time on W itself). Its
 *     starting vector comes from the stream "esn.arpack" of the seed, so the same seed
 *     gives the same radius bits. The radius is then taken from W itself: with Q the
 *     orthonormal (Schur) basis of the invariant subspace ARPACK converged to and
 *     H = Q^T W Q, R = W Q - Q H, every eigenvalue of H is an exact eigenvalue of W + E
 *     with |E|_2 <= |R|_F (since (W - R Q^T) Q = Q H); the radius is the largest modulus
 *     of H's eigenvalues (dense solver), and |R|_F / radius (and |Q^T Q - I|) must be
 *     <= arpack.max_residual (1e-8). That bounds the error of the radius only through
 *     the eigenvector condition (Bauer-Fike), and Gaussian W have many eigenvalues near
 *     the spectral circle (circular law), where Krylov methods converge slowly; so the
 *     tests compare ARPACK with the dense oracle (1e-9 relative, N up to 1000, sparse and
 *     dense-ish, real and complex leading eigenvalues). Small residuals do not prove the
 *     subspace holds the dominant eigenvalue: at N = 10,000 (10 non-zeros per row)
 *     ARPACK on W with nev 4, ncv 40 returned the second or third largest modulus for 2
 *     of 6 seeds, each with a residual near 1e-14. Hence nev 8 and, with arpack.check
 *     (default on), a check run on W deflated by the subspace found,
 *     (I - Q Q^T) (W / s)^P, from an independent starting vector (stream "esn.arpack",
 *     index 1): its largest modulus is that of W's largest eigenvalue outside span(Q),
 *     and it must not exceed the radius by more than arpack.agree (1e-9 relative). A
 *     second plain run, the earlier check, tends to converge to the same wrong
 *     eigenvalues (with nev 2, ncv 20 on W at N = 2000 it agreed on a wrong radius for 2
 *     of 8 seeds); the deflated run cannot return them. In the tests, weak settings
 *     missed the largest modulus 5 times in 9 reservoirs and the check caught all 5.
 *     At N = 10,000 the default (power 16, nev 8, ncv 40, tol 1e-10) agreed with two
 *     strong references (nev 24, ncv 120 on W; nev 24, ncv 80 on W^16) to 2e-13 for 20
 *     seeds. Non-convergence, a residual above the bound or a miss is an error naming
 *     the keys to change, never a silently wrong radius: `auto` then falls back to the
 *     dense solver when N <= 4000 and fails above.
 * - W_in (N, I): uniform in [-input_scaling, input_scaling].
 * - b (N,): uniform in [-bias_scaling, bias_scaling].
 * - W_fb (N, O): uniform in [-feedback_scaling, feedback_scaling]; absent when n_fb = 0.
 * Random draws come from the named streams "esn.w", "esn.w_in", "esn.bias" and "esn.w_fb"
 * (rng.h) of the given seed, so a seed fixes the reservoir whatever the thread count.
 *
 * The update of one reservoir is deliberately serial: for N <= 2000 an OpenMP-parallel
 * sparse mat-vec is much slower than a serial one (rclib's measurement). Parallelism is
 * coarse and lives in the ridge readout (readout.h). Several series through the same
 * reservoir step together with esn_step_batch(): one pass over W per step for all B
 * states (kern_csr_mm), each state's bits those of esn_step().
 *
 * Memory: esn_bytes() is what a reservoir holds: 16 bytes per non-zero of W (value and
 * column), 8 (N + 1) of row pointers, 8 N (I + O + 3) for W_in, b, W_fb and the state
 * and work vectors; N = 50,000 with 10 non-zeros per row and I = 1 is 10.0 MB. Building with the
 * dense radius solver needs 16 N^2 bytes more while it runs (the matrix and its
 * Hessenberg copy), 32 MB at N = 1000, 512 MB at N = 4000.
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
typedef enum { ESN_RADIUS_AUTO = 0, ESN_RADIUS_DENSE = 1, ESN_RADIUS_ARPACK = 2 } esn_radius_method;

/* Options of the ARPACK radius (esn_spectral_radius_arpack()). */
typedef struct esn_arpack_opts {
    size_t nev;          /* eigenvalues of largest modulus computed (clipped to N - 3) */
    size_t ncv;          /* Arnoldi basis size (raised to 2 nev + 1, clipped to N) */
    size_t power;        /* P: ARPACK runs on (W / s)^P (1..1024); 1 = on W itself */
    size_t max_iter;     /* implicit restarts allowed */
    double tol;          /* ARPACK's relative Ritz tolerance on (W / s)^P (0 = machine precision) */
    double max_residual; /* bound on |W Q - Q H|_F / radius (and on |Q^T Q - I|) */
    int check;           /* 1: a run on W deflated by the subspace found must find nothing larger */
    double agree;        /* relative margin the check allows */
} esn_arpack_opts;

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
    esn_radius_method radius_method; /* auto, dense or arpack */
    size_t radius_dense_max; /* auto: dense solver for N <= this, ARPACK above */
    esn_arpack_opts arpack;
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
    esn_radius_method radius_used; /* the solver that gave radius_raw (dense or arpack) */
    double radius_residual; /* ARPACK's checked residual (NAN for the dense solver) */
    int radius_fell_back;   /* 1: auto chose ARPACK, which failed, and the dense solver ran */
} esn;

/* Returns the default parameters: I = 1, N = 100, no feedback, sparse W with 10
 * non-zeros per row, radius 0.9, input scaling 1, bias scaling 0, feedback scaling 0,
 * leak 1, tanh, radius_method auto with radius_dense_max 500, esn_arpack_opts_default(). */
esn_params esn_params_default(void);

/* Returns nev 8, ncv 40, power 16, max_iter 3000, tol 1e-10, max_residual 1e-8, check on,
 * agree 1e-9. */
esn_arpack_opts esn_arpack_opts_default(void);

/* Parses "auto", "dense", "arpack" into *m; returns ENGRAM_OK or ENGRAM_EINVAL. */
int esn_radius_method_parse(const char *name, esn_radius_method *m);

/* Returns "auto", "dense" or "arpack". */
const char *esn_radius_method_name(esn_radius_method m);

/* Reads the reservoir keys of an echo-state experiment (reservoir.n, topology,
 * nnz_per_row, spectral_radius, input_scaling, bias_scaling, feedback_scaling, leak,
 * activation, radius_method, radius_dense_max, arpack_*) from c into p, over the
 * defaults (n_in and n_fb stay 0). Returns ENGRAM_OK or ENGRAM_EINVAL. */
struct config;
int esn_params_from_config(const struct config *c, esn_params *p);

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

/* Advances B independent states x (N, B) (row-major: unit i of series b at x[i * B + b])
 * by one step, with inputs u (B, I) (may be NULL when I = 0) and no feedback; pre (N, B)
 * is caller-owned work. Column b ends with the bits esn_step() would give that state.
 * Returns ENGRAM_EINVAL (and changes nothing) when the reservoir has feedback (O > 0). */
int esn_step_batch(const esn *e, size_t b, double *x, const double *u, double *pre);

/* Bytes held by the reservoir (struct, parameters, indices, state and work). */
size_t esn_bytes(const esn *e);

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

/* Computes the spectral radius of the sparse (n, n) matrix in CSR form (row_ptr (n + 1,),
 * col and val (row_ptr[n],)) with ARPACK (see the overview) into *radius, and the
 * residual |W Q - Q H|_F / radius of its invariant subspace into *residual (may be NULL;
 * set whenever ARPACK converged). The starting vectors come from the stream "esn.arpack"
 * of seed (index 0, and index 1 for the check run). Serialised by an OpenMP critical
 * section (ARPACK keeps global state). Allocates its workspace.
 * Returns ENGRAM_OK, ENGRAM_EINVAL (n < 4, bad options, non-finite entries),
 * ENGRAM_ENOMEM, or ENGRAM_ERANGE (no convergence, the residual above
 * opts->max_residual, or the check finding a larger eigenvalue; *radius is then left
 * unchanged). */
int esn_spectral_radius_arpack(size_t n, const size_t *row_ptr, const size_t *col,
                               const double *val, uint64_t seed, const esn_arpack_opts *opts,
                               double *radius, double *residual);

/* The reservoir experiments (src/experiments/reservoir_tasks.c), registered in
 * src/cli/registry.c. */
struct experiment;
extern const struct experiment exp_mackey_glass;
extern const struct experiment exp_narma10;
extern const struct experiment exp_memory_capacity;

#endif
