/* series.c: Mackey-Glass and NARMA benchmark series (series.h). */
#include <math.h>
#include <stdlib.h>
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/series.h"

mackey_glass_params mackey_glass_default(void) {
    mackey_glass_params p = {17.0, 0.2, 0.1, 10.0, 0.1, 1.0, 1.2, 1000.0};
    return p;
}

/* Right-hand side of the Mackey-Glass equation for state x and delayed state xd. */
static double mg_rhs(const mackey_glass_params *p, double x, double xd) {
    return p->a * xd / (1.0 + pow(xd, p->n)) - p->b * x;
}

/* Returns k if v is within 1e-9 relative of the positive integer k, else 0. */
static size_t as_steps(double v) {
    double k = floor(v + 0.5);
    if (k < 1.0 || fabs(v - k) > 1e-9 * k) return 0;
    return (size_t)k;
}

int mackey_glass_generate(const mackey_glass_params *p, double *x, size_t T) {
    if (!(p->h > 0.0) || !(p->tau > 0.0) || !(p->sample > 0.0) || !(p->discard >= 0.0))
        return engram_fail(ENGRAM_EINVAL, "mackey-glass: tau, h and sample must be > 0, discard >= 0");
    size_t d = as_steps(p->tau / p->h), s = as_steps(p->sample / p->h);
    if (!d || !s)
        return engram_fail(ENGRAM_EINVAL,
                           "mackey-glass: tau/h = %g and sample/h = %g must be whole numbers",
                           p->tau / p->h, p->sample / p->h);
    size_t skip = (size_t)floor(p->discard / p->h + 0.5);
    /* ring buffer of the last d+1 sub-step values: hist[(k) % (d+1)] = x_k */
    size_t m = d + 1;
    double *hist = malloc(m * sizeof(double));
    if (!hist) return engram_fail(ENGRAM_ENOMEM, "mackey-glass: out of memory");
    for (size_t i = 0; i < m; i++) hist[i] = p->x0; /* x_k = x0 for k = -d..0 */
    double h = p->h, xn = p->x0;
    size_t total = skip + (T ? (T - 1) * s : 0);
    size_t out = 0;
    /* step index k: x_k at time k h; the slot of x_{k-d} is (k+1) % m once x_k is at k % m */
    for (size_t k = 0;; k++) {
        if (k >= skip && (k - skip) % s == 0) {
            if (out < T) x[out++] = xn;
            if (out == T) break;
        }
        if (k >= total) break;
        double xd0 = hist[(k + 1) % m];     /* x_{k-d} */
        double xd1 = hist[(k + 2) % m];     /* x_{k-d+1} */
        double xdh = 0.5 * (xd0 + xd1);     /* x at t - tau + h/2 */
        double k1 = mg_rhs(p, xn, xd0);
        double k2 = mg_rhs(p, xn + 0.5 * h * k1, xdh);
        double k3 = mg_rhs(p, xn + 0.5 * h * k2, xdh);
        double k4 = mg_rhs(p, xn + h * k3, xd1);
        xn += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
        if (!isfinite(xn)) {
            free(hist);
            return engram_fail(ENGRAM_ERANGE, "mackey-glass: non-finite value at t = %g", (k + 1) * h);
        }
        hist[(k + 1) % m] = xn; /* overwrites x_{k-d}, no longer needed */
    }
    free(hist);
    return ENGRAM_OK;
}

narma_params narma_default(void) {
    narma_params p = {0.3, 0.05, 1.5, 0.1, 10, 0.0, 0.5, 1e6};
    return p;
}

int narma_generate(const narma_params *p, gsl_rng *r, double *u, double *y, size_t T) {
    if (p->order < 1 || !(p->u_max >= p->u_min))
        return engram_fail(ENGRAM_EINVAL, "narma: order must be >= 1 and u_max >= u_min");
    size_t q = p->order;
    for (size_t t = 0; t < T; t++) u[t] = p->u_min + (p->u_max - p->u_min) * gsl_rng_uniform(r);
    /* yv(t) = y[t-1] is the system output at time t; yv(t) = 0 for t < q (and t = 0) */
    for (size_t t = 0; t < T; t++) {
        double yt = t >= 1 ? y[t - 1] : 0.0; /* y(t) */
        double next;
        if (t + 1 < q) {
            next = 0.0;
        } else {
            double sum = 0.0;
            for (size_t i = 0; i < q; i++) sum += t >= i + 1 ? y[t - i - 1] : 0.0;
            next = p->alpha * yt + p->beta * yt * sum + p->gamma * u[t + 1 - q] * u[t] + p->delta;
        }
        if (!isfinite(next) || fabs(next) > p->y_bound)
            return engram_fail(ENGRAM_ERANGE,
                               "narma: the recursion exploded at t = %zu (|y| > %g); use another"
                               " seed or smaller constants", t + 1, p->y_bound);
        y[t] = next;
    }
    return ENGRAM_OK;
}

void mackey_glass_from_config(const config *c, mackey_glass_params *p) {
    *p = mackey_glass_default();
    p->tau = config_real(c, "task.tau");
    p->a = config_real(c, "task.a");
    p->b = config_real(c, "task.b");
    p->n = config_real(c, "task.n");
    p->h = config_real(c, "task.h");
    p->sample = config_real(c, "task.sample");
    p->x0 = config_real(c, "task.x0");
    p->discard = config_real(c, "task.discard");
}

void narma_from_config(const config *c, narma_params *p) {
    *p = narma_default();
    p->alpha = config_real(c, "task.alpha");
    p->beta = config_real(c, "task.beta");
    p->gamma = config_real(c, "task.gamma");
    p->delta = config_real(c, "task.delta");
    p->order = (size_t)config_int(c, "task.order");
    p->u_min = config_real(c, "task.u_min");
    p->u_max = config_real(c, "task.u_max");
}
