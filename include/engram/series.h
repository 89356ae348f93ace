/* series.h: benchmark time series of reservoir computing.
 *
 * Mackey-Glass (Mackey & Glass 1977, Science 197:287, in the usual form)
 *     dx/dt = a x(t - tau) / (1 + x(t - tau)^n) - b x(t)
 * with tau = 17, a = 0.2, b = 0.1, n = 10 (the mildly chaotic setting of Jaeger & Haas
 * 2004). Integration: classical RK4 with sub-step h (default 0.1, so tau/h = 170 sub-steps
 * of delay; tau/h must be an integer). The delayed term at the RK4 half-step is the mean
 * of the two neighbouring stored sub-step values (linear interpolation, error O(h^2)).
 * The history on [-tau, 0] is the constant x0 (default 1.2). The series is sampled every
 * `sample` time units (default 1; sample/h must be an integer) after discarding the first
 * `discard` time units (default 1000), so sample i is x(discard + i * sample). Errors
 * measured at different sampling steps are not comparable: the step is a config key.
 *
 * NARMA-10 (Atiya & Parlos 2000, IEEE TNN 11:697; Jaeger 2003, NIPS 15)
 *     y(t+1) = alpha y(t) + beta y(t) sum_{i=0..order-1} y(t-i) + gamma u(t-order+1) u(t) + delta
 * with alpha 0.3, beta 0.05, gamma 1.5, delta 0.1, order 10, u(t) ~ U[u_min, u_max] =
 * U[0, 0.5], y(t) = 0 for t < order. For some draws the recursion explodes; narma_generate
 * then returns ENGRAM_ERANGE (it never clips): the experiment reports it, and another seed
 * or smaller constants must be chosen. The input/target pairs are u(t) -> y(t+1).
 *
 * Example:
 *     mackey_glass_params mg = mackey_glass_default();
 *     double *x = malloc(T * sizeof *x);
 *     if (mackey_glass_generate(&mg, x, T) != ENGRAM_OK) puts(engram_error());
 *
 * Ownership: the caller provides every output array; the generators allocate only
 * their own temporary history (once per call).
 */
#ifndef ENGRAM_SERIES_H
#define ENGRAM_SERIES_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

typedef struct mackey_glass_params {
    double tau, a, b, n; /* delay, production, decay, exponent */
    double h;            /* RK4 sub-step (time units) */
    double sample;       /* sampling interval (time units) */
    double x0;           /* constant initial history */
    double discard;      /* time units dropped before the first sample */
} mackey_glass_params;

/* Returns tau 17, a 0.2, b 0.1, n 10, h 0.1, sample 1, x0 1.2, discard 1000. */
mackey_glass_params mackey_glass_default(void);

/* Writes T samples into x (T,). Returns ENGRAM_OK, ENGRAM_EINVAL (tau/h or sample/h not
 * an integer, non-positive step), ENGRAM_ENOMEM or ENGRAM_ERANGE (non-finite values). */
int mackey_glass_generate(const mackey_glass_params *p, double *x, size_t T);

typedef struct narma_params {
    double alpha, beta, gamma, delta; /* the four constants above */
    size_t order;                     /* 10 for NARMA-10 */
    double u_min, u_max;              /* input range */
    double y_bound;                   /* |y| above this counts as exploded (1e6) */
} narma_params;

/* Returns the NARMA-10 constants (0.3, 0.05, 1.5, 0.1, order 10, U[0, 0.5], y_bound 1e6). */
narma_params narma_default(void);

/* Draws u (T,) from r and computes y (T,) where y[t] is the target for input u[t]
 * (y[t] = y(t+1) above). Returns ENGRAM_OK, ENGRAM_EINVAL or ENGRAM_ERANGE (the
 * recursion produced |y| > y_bound or a non-finite value). */
int narma_generate(const narma_params *p, gsl_rng *r, double *u, double *y, size_t T);

/* The task.* keys of the mackey-glass experiment (tau, a, b, n, h, sample, x0, discard)
 * and of narma10 (alpha, beta, gamma, delta, order, u_min, u_max) from c, over the
 * defaults; c must declare them. */
struct config;
void mackey_glass_from_config(const struct config *c, mackey_glass_params *p);
void narma_from_config(const struct config *c, narma_params *p);

#endif
