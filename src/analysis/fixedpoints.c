/* fixedpoints.c: slow-point search (Sussillo & Barak 2013) with GSL's BFGS minimiser and
 * the classification of each point by its Jacobian's eigenvalues (analysis.h). */
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engram/analysis.h"
#include "engram/engram.h"

void analysis_rnn_map_eval(const void *ctx, const double *h, double *f, double *jac) {
    const analysis_rnn_map *c = ctx;
    const rnn *net = c->net;
    size_t N = net->n_rec, I = net->n_in;
    double al = net->alpha;
    for (size_t i = 0; i < N; i++) {
        double a = net->b_rec[i];
        for (size_t j = 0; j < N; j++) a += net->w_rec[i * N + j] * h[j];
        if (c->x) for (size_t j = 0; j < I; j++) a += net->w_in[i * I + j] * c->x[j];
        double z = tanh(a);
        f[i] = (1 - al) * h[i] + al * z;
        if (jac) {
            /* J_F = (1 - alpha) I + alpha diag(1 - tanh^2 a) W */
            double d = al * (1 - z * z);
            for (size_t j = 0; j < N; j++) jac[i * N + j] = d * net->w_rec[i * N + j];
            jac[i * N + i] += 1 - al;
        }
    }
}

analysis_fp_params analysis_fp_defaults(void) {
    analysis_fp_params p = {500, 1e-8, 1e-10, 1e-3, 0.02};
    return p;
}

analysis_fp *analysis_fp_alloc(size_t cap, size_t dim) {
    analysis_fp *fp = calloc(1, sizeof *fp);
    if (!fp) return NULL;
    fp->cap = cap; fp->dim = dim;
    fp->h = calloc(cap * dim, sizeof(double));
    fp->q = calloc(cap, sizeof(double));
    fp->eig = calloc(cap * dim * 2, sizeof(double));
    fp->kind = calloc(cap, sizeof(int));
    fp->n_marginal = calloc(cap, sizeof(size_t));
    if (!fp->h || !fp->q || !fp->eig || !fp->kind || !fp->n_marginal) { analysis_fp_free(fp); return NULL; }
    return fp;
}

void analysis_fp_free(analysis_fp *fp) {
    if (!fp) return;
    free(fp->h); free(fp->q); free(fp->eig); free(fp->kind); free(fp->n_marginal);
    free(fp);
}

/* Scratch for q and its gradient. */
typedef struct fp_work {
    const analysis_map *map;
    double *f, *jac, *g; /* (n,), (n, n), (n,) */
} fp_work;

/* q(h) = 1/2 |G|^2 with G = F(h) - h; writes G into w->g and, if grad, (J_F - I)^T G. */
static double fp_q(fp_work *w, const double *h, double *grad) {
    size_t n = w->map->n;
    w->map->eval(w->map->ctx, h, w->f, grad ? w->jac : NULL);
    double q = 0;
    for (size_t i = 0; i < n; i++) { w->g[i] = w->f[i] - h[i]; q += 0.5 * w->g[i] * w->g[i]; }
    if (grad) {
        for (size_t j = 0; j < n; j++) grad[j] = -w->g[j];
        for (size_t i = 0; i < n; i++) {
            const double *ji = w->jac + i * n;
            for (size_t j = 0; j < n; j++) grad[j] += ji[j] * w->g[i];
        }
    }
    return q;
}

static double fp_f(const gsl_vector *v, void *p) { return fp_q(p, v->data, NULL); }
static void fp_df(const gsl_vector *v, void *p, gsl_vector *df) { fp_q(p, v->data, df->data); }
static void fp_fdf(const gsl_vector *v, void *p, double *f, gsl_vector *df) {
    *f = fp_q(p, v->data, df->data);
}

static int cmp_modulus_desc(const void *a, const void *b) {
    const double *x = a, *y = b;
    double mx = hypot(x[0], x[1]), my = hypot(y[0], y[1]);
    return (mx < my) - (mx > my);
}

int analysis_fixedpoints(const analysis_map *map, const double *starts, size_t n_start,
                         const analysis_fp_params *p, analysis_fp *fp) {
    size_t n = map->n;
    if (fp->dim != n) return engram_fail(ENGRAM_EINVAL, "fixedpoints: dimension mismatch");
    fp_work w = {map, malloc(n * sizeof(double)), malloc(n * n * sizeof(double)), malloc(n * sizeof(double))};
    gsl_multimin_fdfminimizer *mm = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, n);
    gsl_vector *x0 = gsl_vector_alloc(n);
    gsl_matrix *jm = gsl_matrix_alloc(n, n);
    gsl_vector_complex *ev = gsl_vector_complex_alloc(n);
    gsl_eigen_nonsymm_workspace *ew = gsl_eigen_nonsymm_alloc(n);
    int st = ENGRAM_OK;
    if (!w.f || !w.jac || !w.g || !mm || !x0 || !jm || !ev || !ew) {
        st = engram_fail(ENGRAM_ENOMEM, "fixedpoints: out of memory");
        goto done;
    }
    gsl_multimin_function_fdf fn = {fp_f, fp_df, fp_fdf, n, &w};
    fp->n = 0;
    for (size_t s = 0; s < n_start && fp->n < fp->cap; s++) {
        memcpy(x0->data, starts + s * n, n * sizeof(double));
        gsl_multimin_fdfminimizer_set(mm, &fn, x0, 0.01, 0.1);
        for (size_t it = 0; it < p->max_iter; it++) {
            if (gsl_multimin_fdfminimizer_iterate(mm) != GSL_SUCCESS) break;
            if (mm->f < 1e-300) break;
            if (gsl_multimin_test_gradient(mm->gradient, p->grad_tol) == GSL_SUCCESS) break;
        }
        double q = mm->f;
        if (!(q < p->q_tol)) continue;
        const double *h = mm->x->data;
        int dup = 0;
        for (size_t k = 0; k < fp->n && !dup; k++) {
            double d2 = 0;
            for (size_t i = 0; i < n; i++) { double d = h[i] - fp->h[k * n + i]; d2 += d * d; }
            dup = sqrt(d2) < p->dedup_tol;
        }
        if (dup) continue;
        size_t k = fp->n++;
        memcpy(fp->h + k * n, h, n * sizeof(double));
        fp->q[k] = q;
        map->eval(map->ctx, h, w.f, jm->data);
        gsl_eigen_nonsymm_params(0, 1, ew); /* balance the matrix first */
        if (gsl_eigen_nonsymm(jm, ev, ew) != GSL_SUCCESS) {
            st = engram_fail(ENGRAM_EINVAL, "fixedpoints: the eigensolver did not converge");
            goto done;
        }
        double *e = fp->eig + k * n * 2, top = 0;
        size_t marg = 0;
        for (size_t i = 0; i < n; i++) {
            gsl_complex z = gsl_vector_complex_get(ev, i);
            e[2 * i] = GSL_REAL(z);
            e[2 * i + 1] = GSL_IMAG(z);
        }
        qsort(e, n, 2 * sizeof(double), cmp_modulus_desc);
        for (size_t i = 0; i < n; i++) {
            double mod = hypot(e[2 * i], e[2 * i + 1]);
            if (mod > top) top = mod;
            if (fabs(mod - 1) <= p->eig_tol) marg++;
        }
        fp->n_marginal[k] = marg;
        fp->kind[k] = top > 1 + p->eig_tol ? ANALYSIS_FP_UNSTABLE
                    : top < 1 - p->eig_tol ? ANALYSIS_FP_STABLE : ANALYSIS_FP_MARGINAL;
    }
done:
    free(w.f); free(w.jac); free(w.g);
    if (mm) gsl_multimin_fdfminimizer_free(mm);
    gsl_vector_free(x0);
    gsl_matrix_free(jm);
    gsl_vector_complex_free(ev);
    gsl_eigen_nonsymm_free(ew);
    return st;
}
