/* esn.c: leaky echo-state reservoir with sparse (CSR) or orthogonal W (esn.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/esn.h"
#include "engram/rng.h"

esn_params esn_params_default(void) {
    esn_params p;
    memset(&p, 0, sizeof p);
    p.n_in = 1;
    p.n_res = 100;
    p.n_fb = 0;
    p.topology = ESN_W_SPARSE;
    p.nnz_per_row = 10;
    p.spectral_radius = 0.9;
    p.input_scaling = 1.0;
    p.bias_scaling = 0.0;
    p.feedback_scaling = 0.0;
    p.leak = 1.0;
    p.activation = ESN_ACT_TANH;
    return p;
}

int esn_spectral_radius(const double *a, size_t n, double *radius) {
    gsl_matrix *m = gsl_matrix_alloc(n, n);
    gsl_vector_complex *ev = gsl_vector_complex_alloc(n);
    gsl_eigen_nonsymm_workspace *w = gsl_eigen_nonsymm_alloc(n);
    int status = ENGRAM_OK;
    if (!m || !ev || !w) {
        status = engram_fail(ENGRAM_ENOMEM, "spectral radius: cannot allocate %zu x %zu", n, n);
        goto done;
    }
    memcpy(m->data, a, n * n * sizeof(double));
    /* No balancing: the radius of W itself is wanted and balancing preserves it anyway. */
    gsl_eigen_nonsymm_params(0, 0, w);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int gs = gsl_eigen_nonsymm(m, ev, w);
    gsl_set_error_handler(old);
    if (gs != GSL_SUCCESS) {
        status = engram_fail(ENGRAM_ERANGE,
                             "spectral radius: eigenvalue iteration did not converge (N = %zu)", n);
        goto done;
    }
    double r = 0.0;
    for (size_t i = 0; i < n; i++) {
        gsl_complex z = gsl_vector_complex_get(ev, i);
        double mod = hypot(GSL_REAL(z), GSL_IMAG(z));
        if (mod > r) r = mod;
    }
    *radius = r;
done:
    gsl_eigen_nonsymm_free(w);
    gsl_vector_complex_free(ev);
    gsl_matrix_free(m);
    return status;
}

void esn_w_dense(const esn *e, double *out) {
    size_t n = e->p.n_res;
    memset(out, 0, n * n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t k = e->row_ptr[i]; k < e->row_ptr[i + 1]; k++)
            out[i * n + e->w_col[k]] += e->w_val[k];
}

/* Fills a sparse W: nnz_per_row distinct columns per row, N(0,1) values. */
static void draw_sparse(esn *e, gsl_rng *r, size_t *idx) {
    size_t n = e->p.n_res, k = e->p.nnz_per_row;
    for (size_t j = 0; j < n; j++) idx[j] = j;
    for (size_t i = 0; i < n; i++) {
        e->row_ptr[i] = i * k;
        /* partial Fisher-Yates: the first k entries of idx become a uniform k-subset */
        for (size_t m = 0; m < k; m++) {
            size_t s = m + (size_t)gsl_rng_uniform_int(r, n - m);
            size_t t = idx[m];
            idx[m] = idx[s];
            idx[s] = t;
        }
        /* sorted columns give a cache-friendlier gather */
        for (size_t m = 0; m < k; m++) e->w_col[i * k + m] = idx[m];
        for (size_t a = 1; a < k; a++) {
            size_t c = e->w_col[i * k + a], b = a;
            while (b > 0 && e->w_col[i * k + b - 1] > c) {
                e->w_col[i * k + b] = e->w_col[i * k + b - 1];
                b--;
            }
            e->w_col[i * k + b] = c;
        }
        for (size_t m = 0; m < k; m++) e->w_val[i * k + m] = gsl_ran_gaussian(r, 1.0);
    }
    e->row_ptr[n] = n * k;
}

/* Fills an orthogonal W (dense, stored as CSR): Q of the QR decomposition of a
 * Gaussian matrix with the signs of diag(R) folded in, so that Q is Haar distributed
 * (Mezzadri 2007, Notices AMS 54:592). */
static int draw_orthogonal(esn *e, gsl_rng *r) {
    size_t n = e->p.n_res;
    gsl_matrix *a = gsl_matrix_alloc(n, n), *q = gsl_matrix_alloc(n, n),
               *rr = gsl_matrix_alloc(n, n);
    gsl_vector *tau = gsl_vector_alloc(n);
    int status = ENGRAM_OK;
    if (!a || !q || !rr || !tau) {
        status = engram_fail(ENGRAM_ENOMEM, "esn: cannot allocate the QR workspace (N = %zu)", n);
        goto done;
    }
    for (size_t i = 0; i < n * n; i++) a->data[i] = gsl_ran_gaussian(r, 1.0);
    gsl_linalg_QR_decomp(a, tau);
    gsl_linalg_QR_unpack(a, tau, q, rr);
    for (size_t i = 0; i < n; i++) {
        e->row_ptr[i] = i * n;
        for (size_t j = 0; j < n; j++) {
            double s = gsl_matrix_get(rr, j, j) < 0.0 ? -1.0 : 1.0;
            e->w_col[i * n + j] = j;
            e->w_val[i * n + j] = gsl_matrix_get(q, i, j) * s;
        }
    }
    e->row_ptr[n] = n * n;
done:
    gsl_matrix_free(a);
    gsl_matrix_free(q);
    gsl_matrix_free(rr);
    gsl_vector_free(tau);
    return status;
}

static int check_params(const esn_params *p) {
    if (p->n_res < 1) return engram_fail(ENGRAM_EINVAL, "esn: reservoir size must be >= 1");
    if (p->topology == ESN_W_SPARSE && (p->nnz_per_row < 1 || p->nnz_per_row > p->n_res))
        return engram_fail(ENGRAM_EINVAL, "esn: nnz_per_row = %zu must be in [1, N = %zu]",
                           p->nnz_per_row, p->n_res);
    if (!(p->leak > 0.0 && p->leak <= 1.0))
        return engram_fail(ENGRAM_EINVAL, "esn: leak rate %g must be in (0, 1]", p->leak);
    if (!(p->spectral_radius >= 0.0) || !isfinite(p->spectral_radius))
        return engram_fail(ENGRAM_EINVAL, "esn: spectral radius %g must be >= 0",
                           p->spectral_radius);
    if (!isfinite(p->input_scaling) || !isfinite(p->bias_scaling) ||
        !isfinite(p->feedback_scaling))
        return engram_fail(ENGRAM_EINVAL, "esn: scalings must be finite");
    return ENGRAM_OK;
}

esn *esn_alloc(const esn_params *p, uint64_t seed) {
    if (check_params(p) != ENGRAM_OK) return NULL;
    size_t n = p->n_res;
    size_t nnz = p->topology == ESN_W_ORTHOGONAL ? n * n : n * p->nnz_per_row;
    esn *e = calloc(1, sizeof *e);
    if (!e) {
        engram_fail(ENGRAM_ENOMEM, "esn: out of memory");
        return NULL;
    }
    e->p = *p;
    e->nnz = nnz;
    e->n_block = nnz + n * p->n_in + n + n * p->n_fb;
    e->block = calloc(e->n_block, sizeof(double));
    e->row_ptr = malloc((n + 1) * sizeof(size_t));
    e->w_col = malloc(nnz * sizeof(size_t));
    e->x = calloc(n, sizeof(double));
    e->pre = calloc(n, sizeof(double));
    size_t *idx = malloc(n * sizeof(size_t));
    double *dense = malloc(n * n * sizeof(double));
    gsl_rng *rw = rng_stream_alloc(seed, "esn.w", 0);
    gsl_rng *ri = rng_stream_alloc(seed, "esn.w_in", 0);
    gsl_rng *rb = rng_stream_alloc(seed, "esn.bias", 0);
    gsl_rng *rf = rng_stream_alloc(seed, "esn.w_fb", 0);
    int ok = e->block && e->row_ptr && e->w_col && e->x && e->pre && idx && dense && rw &&
             ri && rb && rf;
    if (!ok) {
        engram_fail(ENGRAM_ENOMEM, "esn: out of memory (N = %zu)", n);
        goto fail;
    }
    e->w_val = e->block;
    e->w_in = e->w_val + nnz;
    e->bias = e->w_in + n * p->n_in;
    e->w_fb = p->n_fb ? e->bias + n : NULL;

    if (p->topology == ESN_W_ORTHOGONAL) {
        if (draw_orthogonal(e, rw) != ENGRAM_OK) goto fail;
    } else {
        draw_sparse(e, rw, idx);
    }
    esn_w_dense(e, dense);
    double rho;
    if (esn_spectral_radius(dense, n, &rho) != ENGRAM_OK) goto fail;
    e->radius_raw = rho;
    if (rho > 0.0) {
        double s = p->spectral_radius / rho;
        for (size_t k = 0; k < nnz; k++) e->w_val[k] *= s;
    } else if (p->spectral_radius > 0.0) {
        /* a nilpotent W (possible for tiny sparse matrices) cannot be rescaled */
        engram_fail(ENGRAM_ERANGE, "esn: W has spectral radius 0 and cannot be rescaled to %g;"
                    " use more non-zeros per row", p->spectral_radius);
        goto fail;
    }
    for (size_t i = 0; i < n * p->n_in; i++)
        e->w_in[i] = p->input_scaling * (2.0 * gsl_rng_uniform(ri) - 1.0);
    for (size_t i = 0; i < n; i++) e->bias[i] = p->bias_scaling * (2.0 * gsl_rng_uniform(rb) - 1.0);
    for (size_t i = 0; i < n * p->n_fb; i++)
        e->w_fb[i] = p->feedback_scaling * (2.0 * gsl_rng_uniform(rf) - 1.0);

    free(idx);
    free(dense);
    gsl_rng_free(rw);
    gsl_rng_free(ri);
    gsl_rng_free(rb);
    gsl_rng_free(rf);
    return e;
fail:
    free(idx);
    free(dense);
    gsl_rng_free(rw);
    gsl_rng_free(ri);
    gsl_rng_free(rb);
    gsl_rng_free(rf);
    esn_free(e);
    return NULL;
}

void esn_free(esn *e) {
    if (!e) return;
    free(e->block);
    free(e->row_ptr);
    free(e->w_col);
    free(e->x);
    free(e->pre);
    free(e);
}

void esn_reset(esn *e) { memset(e->x, 0, e->p.n_res * sizeof(double)); }

const double *esn_state(const esn *e) { return e->x; }

void esn_step(esn *e, const double *u, const double *y_fb) {
    const size_t n = e->p.n_res, ni = e->p.n_in, nf = e->p.n_fb;
    const double a = e->p.leak;
    const double *restrict x = e->x;
    double *restrict pre = e->pre;
    const size_t *restrict rp = e->row_ptr;
    const size_t *restrict col = e->w_col;
    const double *restrict val = e->w_val;
    /* pre = b + W_in u + W x + W_fb y: all from the previous state */
    for (size_t i = 0; i < n; i++) {
        double s = e->bias[i];
        const double *wi = e->w_in + i * ni;
        for (size_t j = 0; j < ni; j++) s += wi[j] * u[j];
        for (size_t k = rp[i]; k < rp[i + 1]; k++) s += val[k] * x[col[k]];
        if (nf) {
            const double *wf = e->w_fb + i * nf;
            for (size_t j = 0; j < nf; j++) s += wf[j] * y_fb[j];
        }
        pre[i] = s;
    }
    double *restrict xs = e->x;
    if (e->p.activation == ESN_ACT_TANH) {
        if (a == 1.0)
            for (size_t i = 0; i < n; i++) xs[i] = tanh(pre[i]);
        else
            for (size_t i = 0; i < n; i++) xs[i] = (1.0 - a) * xs[i] + a * tanh(pre[i]);
    } else {
        if (a == 1.0)
            for (size_t i = 0; i < n; i++) xs[i] = pre[i];
        else
            for (size_t i = 0; i < n; i++) xs[i] = (1.0 - a) * xs[i] + a * pre[i];
    }
}
