/* esn.c: leaky echo-state reservoir with sparse (CSR) or orthogonal W (esn.h). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/esn.h"
#include "engram/config.h"
#include "engram/kernels.h"
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
    p.radius_method = ESN_RADIUS_AUTO;
    p.radius_dense_max = 500;
    p.arpack = esn_arpack_opts_default();
    return p;
}

static const char *const radius_names[] = {"auto", "dense", "arpack"};

int esn_radius_method_parse(const char *name, esn_radius_method *m) {
    for (int k = 0; k < 3; k++)
        if (strcmp(name, radius_names[k]) == 0) {
            *m = (esn_radius_method)k;
            return ENGRAM_OK;
        }
    return engram_fail(ENGRAM_EINVAL, "unknown radius method '%s' (choose auto, dense or arpack)",
                       name);
}

const char *esn_radius_method_name(esn_radius_method m) {
    return (unsigned)m < 3 ? radius_names[m] : "?";
}

/* Reference: all eigenvalues of the dense matrix with GSL (unblocked Hessenberg
 * reduction and Francis QR, both through gsl_matrix views). */
int esn_spectral_radius_gsl(const double *a, size_t n, double *radius) {
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

/* ---- Fast exact eigenvalues: Householder Hessenberg reduction + Francis double-shift QR.
 * The kernels below are compiled twice (AVX2 and baseline x86-64) and chosen at load
 * time; neither clone contracts a*b+c into an FMA (ISO C mode), so both give the same
 * bits. Every sum has a fixed order that does not depend on the thread count. */
typedef double esn_v4 __attribute__((vector_size(32)));
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define ESN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ESN_CLONES
#endif

/* Dot product of x and y (len) with eight interleaved partial sums (two 4-lane
 * accumulators) combined in a fixed order. */
ESN_CLONES
static double hess_dot(const double *restrict x, const double *restrict y, size_t len) {
    esn_v4 acc0 = {0, 0, 0, 0}, acc1 = acc0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        esn_v4 a0, a1, b0, b1;
        memcpy(&a0, x + i, sizeof a0);
        memcpy(&a1, x + i + 4, sizeof a1);
        memcpy(&b0, y + i, sizeof b0);
        memcpy(&b1, y + i + 4, sizeof b1);
        acc0 += a0 * b0;
        acc1 += a1 * b1;
    }
    acc0 += acc1;
    double s = (acc0[0] + acc0[1]) + (acc0[2] + acc0[3]);
    for (; i < len; i++) s += x[i] * y[i];
    return s;
}

/* y += c x (len). */
ESN_CLONES
static void hess_axpy(double *restrict y, const double *restrict x, double c, size_t len) {
    for (size_t i = 0; i < len; i++) y[i] += c * x[i];
}

/* Row r of the active block: optional left rank-1 update row -= cl w, then the right
 * reflector row -= tau (row . v) v. */
ESN_CLONES
static void hess_row(double *restrict row, const double *restrict v, const double *restrict w,
                     double cl, double tau, size_t len) {
    if (cl != 0.0)
        for (size_t i = 0; i < len; i++) row[i] -= cl * w[i];
    double s = hess_dot(row, v, len);
    double c = -tau * s;
    for (size_t i = 0; i < len; i++) row[i] += c * v[i];
}

/* Reduces the row-major (n, n) matrix h to upper Hessenberg form in place by n - 2
 * Householder similarity transforms H <- P_k H P_k (Golub & Van Loan, Matrix
 * Computations 4th ed., Algorithm 7.4.2); entries below the subdiagonal are set to 0.
 * v and w are (n,) work vectors. For step k the reflector is built from column k; the
 * left product needs w = v^T H (one pass over the trailing rows), after which each row
 * gets its left update and its right reflector in a single pass (the right product on
 * a row only reads that row). Serial on purpose: an OpenMP version needs two barriers
 * per column, and on a loaded machine (more runnable threads than cores) each barrier
 * waits for a descheduled thread; measured 10x slower than serial at N = 1000. */
static void hessenberg_reduce(double *h, size_t n, double *v, double *w) {
    if (n < 3) return;
    for (size_t k = 0; k + 2 < n; k++) {
        size_t m = n - k - 1, c0 = k + 1; /* reflector length, first column acted on */
        /* Householder vector of x = h[k+1.., k] (LAPACK dlarfg convention, v[0] = 1) */
        double alpha = h[c0 * n + k], amax = 0.0;
        for (size_t i = 1; i < m; i++) {
            double t = fabs(h[(c0 + i) * n + k]);
            if (t > amax) amax = t;
        }
        if (amax == 0.0) continue; /* column already reduced: P_k = I */
        double ss = 0.0;
        for (size_t i = 1; i < m; i++) {
            double t = h[(c0 + i) * n + k] / amax;
            ss += t * t;
        }
        double xnorm = amax * sqrt(ss);
        double beta = -copysign(hypot(alpha, xnorm), alpha);
        double tau = (beta - alpha) / beta, scal = 1.0 / (alpha - beta);
        v[0] = 1.0;
        for (size_t i = 1; i < m; i++) {
            v[i] = h[(c0 + i) * n + k] * scal;
            h[(c0 + i) * n + k] = 0.0;
        }
        h[c0 * n + k] = beta;
        /* w = v^T H[c0.., c0..], then each row: left rank-1 update and right reflector */
        memset(w + c0, 0, m * sizeof(double));
        for (size_t i = 0; i < m; i++) hess_axpy(w + c0, h + (c0 + i) * n + c0, v[i], m);
        for (size_t r = 0; r < n; r++)
            hess_row(h + r * n + c0, v, w + c0, r >= c0 ? tau * v[r - c0] : 0.0, tau, m);
    }
}

/* Eigenvalues (re, im) of the real 2 x 2 block [a b; c d], computed with the scaling of
 * LAPACK dlanv2 so that the discriminant neither overflows nor cancels needlessly. */
static void eig2(double a, double b, double c, double d, double *re1, double *im1,
                 double *re2, double *im2) {
    double p = 0.5 * (a - d);
    double bcmax = fmax(fabs(b), fabs(c));
    double bcmis = fmin(fabs(b), fabs(c)) * copysign(1.0, b) * copysign(1.0, c);
    double scale = fmax(fabs(p), bcmax);
    double z = scale > 0.0 ? p / scale * p + bcmax / scale * bcmis : 0.0;
    if (z >= 0.0) { /* real eigenvalues */
        double r = sqrt(scale) * sqrt(z);
        double zz = p + copysign(r, p);
        *re1 = d + zz;
        *re2 = zz != 0.0 ? d - bcmax / zz * bcmis : d;
        *im1 = *im2 = 0.0;
    } else {
        *re1 = *re2 = 0.5 * (a + d);
        *im1 = sqrt(scale) * sqrt(-z);
        *im2 = -*im1;
    }
}

/* Left application of a 3-element reflector I - t1 [1 v2 v3]^T [1 v2 v3] to rows k..k+2
 * of h (len columns starting at the reflector's own column k). */
ESN_CLONES
static void qr_left3(double *restrict r0, double *restrict r1, double *restrict r2, double v2,
                     double v3, double t1, size_t len) {
    double t2 = t1 * v2, t3 = t1 * v3;
    for (size_t j = 0; j < len; j++) {
        double s = r0[j] + v2 * r1[j] + v3 * r2[j];
        r0[j] -= s * t1;
        r1[j] -= s * t2;
        r2[j] -= s * t3;
    }
}

/* Maximum modulus of the eigenvalues of the upper Hessenberg row-major (n, n) matrix h
 * (destroyed) by the Francis double-shift QR algorithm for eigenvalues only, following
 * LAPACK dlahqr (Ahues-Tisseur deflation test, exceptional shifts every 10 iterations,
 * two consecutive small subdiagonals searched for the bulge start). Returns 0, or -1
 * when an eigenvalue needs more than 30 max(10, n) iterations. */
static int francis_radius(double *h, size_t n, double *radius) {
#define H(r, c) h[(size_t)(r) * n + (size_t)(c)]
    const double ulp = DBL_EPSILON, safmin = DBL_MIN;
    const double smlnum = safmin * ((double)n / ulp);
    double rmax = 0.0;
    long ilo = 0, ihi = (long)n - 1;
    long itmax = 30 * (long)(n > 10 ? n : 10);
    long kdefl = 0;
    for (long j = 0; j + 3 <= ihi; j++) {
        H(j + 2, j) = 0.0;
        H(j + 3, j) = 0.0;
    }
    if (ihi >= 2) H(ihi, ihi - 2) = 0.0;
    long i = ihi;
    while (i >= ilo) {
        long l = ilo;
        int converged = 0;
        for (long its = 0; its <= itmax; its++) {
            long k;
            for (k = i; k > l; k--) {
                if (fabs(H(k, k - 1)) <= smlnum) break;
                double tst = fabs(H(k - 1, k - 1)) + fabs(H(k, k));
                if (tst == 0.0) {
                    if (k - 2 >= ilo) tst += fabs(H(k - 1, k - 2));
                    if (k + 1 <= ihi) tst += fabs(H(k + 1, k));
                }
                if (fabs(H(k, k - 1)) <= ulp * tst) {
                    double ab = fmax(fabs(H(k, k - 1)), fabs(H(k - 1, k)));
                    double ba = fmin(fabs(H(k, k - 1)), fabs(H(k - 1, k)));
                    double aa = fmax(fabs(H(k, k)), fabs(H(k - 1, k - 1) - H(k, k)));
                    double bb = fmin(fabs(H(k, k)), fabs(H(k - 1, k - 1) - H(k, k)));
                    double s = aa + ab;
                    if (ba * (ab / s) <= fmax(smlnum, ulp * (bb * (aa / s)))) break;
                }
            }
            l = k;
            if (l > ilo) H(l, l - 1) = 0.0;
            if (l >= i - 1) {
                converged = 1;
                break;
            }
            kdefl++;
            double h11, h12, h21, h22;
            if (kdefl % 20 == 0) {
                double s = fabs(H(i, i - 1)) + fabs(H(i - 1, i - 2));
                h11 = 0.75 * s + H(i, i);
                h12 = -0.4375 * s;
                h21 = s;
                h22 = h11;
            } else if (kdefl % 10 == 0) {
                double s = fabs(H(l + 1, l)) + fabs(H(l + 2, l + 1));
                h11 = 0.75 * s + H(l, l);
                h12 = -0.4375 * s;
                h21 = s;
                h22 = h11;
            } else {
                h11 = H(i - 1, i - 1);
                h21 = H(i, i - 1);
                h12 = H(i - 1, i);
                h22 = H(i, i);
            }
            double rt1r, rt1i, rt2r, rt2i;
            double s = fabs(h11) + fabs(h12) + fabs(h21) + fabs(h22);
            if (s == 0.0) {
                rt1r = rt1i = rt2r = rt2i = 0.0;
            } else {
                h11 /= s;
                h21 /= s;
                h12 /= s;
                h22 /= s;
                double tr = (h11 + h22) / 2.0;
                double det = (h11 - tr) * (h22 - tr) - h12 * h21;
                double rtdisc = sqrt(fabs(det));
                if (det >= 0.0) { /* complex conjugate shifts */
                    rt1r = tr * s;
                    rt2r = rt1r;
                    rt1i = rtdisc * s;
                    rt2i = -rt1i;
                } else { /* real shifts: use the one closer to h22 twice */
                    rt1r = tr + rtdisc;
                    rt2r = tr - rtdisc;
                    if (fabs(rt1r - h22) <= fabs(rt2r - h22)) {
                        rt1r *= s;
                        rt2r = rt1r;
                    } else {
                        rt2r *= s;
                        rt1r = rt2r;
                    }
                    rt1i = rt2i = 0.0;
                }
            }
            /* look for two consecutive small subdiagonal elements */
            long m;
            double v[3];
            for (m = i - 2; m >= l; m--) {
                double h21s = H(m + 1, m);
                double sc = fabs(H(m, m) - rt2r) + fabs(rt2i) + fabs(h21s);
                h21s = H(m + 1, m) / sc;
                v[0] = h21s * H(m, m + 1) + (H(m, m) - rt1r) * ((H(m, m) - rt2r) / sc) -
                       rt1i * (rt2i / sc);
                v[1] = h21s * (H(m, m) + H(m + 1, m + 1) - rt1r - rt2r);
                v[2] = h21s * H(m + 2, m + 1);
                sc = fabs(v[0]) + fabs(v[1]) + fabs(v[2]);
                v[0] /= sc;
                v[1] /= sc;
                v[2] /= sc;
                if (m == l) break;
                double h00 = fabs(H(m, m - 1)) * (fabs(v[1]) + fabs(v[2]));
                double h01 = fabs(v[0]) * (fabs(H(m - 1, m - 1)) + fabs(H(m, m)) +
                                           fabs(H(m + 1, m + 1)));
                if (h00 <= ulp * h01) break;
            }
            /* double-shift QR sweep on rows/columns l..i (eigenvalues only). The right
             * update (rows l..k+3, three adjacent columns) is strided in row-major order;
             * deferring it in chunks of steps, row by row or through a column-major
             * buffer, measured no faster (it is bound by the strided loads either way). */
            for (k = m; k <= i - 1; k++) {
                long nr = i - k + 1 < 3 ? i - k + 1 : 3;
                if (k > m)
                    for (long q = 0; q < nr; q++) v[q] = H(k + q, k - 1);
                /* reflector (dlarfg) mapping v to (beta, 0, 0) */
                double alpha = v[0], xnorm = nr == 3 ? hypot(v[1], v[2]) : fabs(v[1]), t1 = 0.0;
                if (xnorm != 0.0) {
                    double beta = -copysign(hypot(alpha, xnorm), alpha);
                    t1 = (beta - alpha) / beta;
                    double sc = 1.0 / (alpha - beta);
                    v[1] *= sc;
                    if (nr == 3) v[2] *= sc;
                    alpha = beta;
                }
                if (k > m) {
                    H(k, k - 1) = alpha;
                    H(k + 1, k - 1) = 0.0;
                    if (k < i - 1) H(k + 2, k - 1) = 0.0;
                } else if (m > l) {
                    H(k, k - 1) *= 1.0 - t1;
                }
                double v2 = v[1], t2 = t1 * v2, v3 = nr == 3 ? v[2] : 0.0;
                if (nr == 3) {
                    double t3 = t1 * v3;
                    qr_left3(&H(k, k), &H(k + 1, k), &H(k + 2, k), v2, v3, t1,
                             (size_t)(i - k + 1));
                    long jr = k + 3 < i ? k + 3 : i;
                    for (long j = l; j <= jr; j++) {
                        double *hr = &H(j, k);
                        double sm = hr[0] + v2 * hr[1] + v3 * hr[2];
                        hr[0] -= sm * t1;
                        hr[1] -= sm * t2;
                        hr[2] -= sm * t3;
                    }
                } else if (nr == 2) {
                    for (long j = k; j <= i; j++) {
                        double sm = H(k, j) + v2 * H(k + 1, j);
                        H(k, j) -= sm * t1;
                        H(k + 1, j) -= sm * t2;
                    }
                    for (long j = l; j <= i; j++) {
                        double sm = H(j, k) + v2 * H(j, k + 1);
                        H(j, k) -= sm * t1;
                        H(j, k + 1) -= sm * t2;
                    }
                }
            }
        }
        if (!converged) return -1;
        if (l == i) {
            double mod = fabs(H(i, i));
            if (mod > rmax) rmax = mod;
        } else if (l == i - 1) {
            double r1, i1, r2, i2;
            eig2(H(i - 1, i - 1), H(i - 1, i), H(i, i - 1), H(i, i), &r1, &i1, &r2, &i2);
            double m1 = hypot(r1, i1), m2 = hypot(r2, i2);
            if (m1 > rmax) rmax = m1;
            if (m2 > rmax) rmax = m2;
        }
        kdefl = 0;
        i = l - 1;
    }
    *radius = rmax;
    return 0;
#undef H
}

int esn_spectral_radius(const double *a, size_t n, double *radius) {
    if (n == 0) {
        *radius = 0.0;
        return ENGRAM_OK;
    }
    double *h = malloc(n * n * sizeof(double));
    double *work = malloc(2 * n * sizeof(double));
    if (!h || !work) {
        free(h);
        free(work);
        return engram_fail(ENGRAM_ENOMEM, "spectral radius: cannot allocate %zu x %zu", n, n);
    }
    memcpy(h, a, n * n * sizeof(double));
    int status = ENGRAM_OK;
    if (!engram_all_finite(h, n * n)) {
        status = engram_fail(ENGRAM_EINVAL, "spectral radius: matrix has non-finite entries");
    } else {
        hessenberg_reduce(h, n, work, work + n);
        if (francis_radius(h, n, radius) != 0)
            status = engram_fail(ENGRAM_ERANGE,
                                 "spectral radius: QR iteration did not converge (N = %zu)", n);
    }
    free(h);
    free(work);
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

/* The largest N at which `auto` falls back to the dense solver when ARPACK fails
 * (16 N^2 bytes and about 200 s at N = 4000). */
#define ESN_DENSE_FALLBACK_MAX 4000

/* radius_raw by the dense exact solver on a dense copy of W. */
static int radius_dense(const esn *e, double *rho) {
    size_t n = e->p.n_res;
    double *dense = malloc(n * n * sizeof(double));
    if (!dense)
        return engram_fail(ENGRAM_ENOMEM, "esn: cannot allocate the dense %zu x %zu W for the"
                           " exact radius; use reservoir.radius_method = arpack", n, n);
    esn_w_dense(e, dense);
    int st = esn_spectral_radius(dense, n, rho);
    free(dense);
    return st;
}

/* Sets e->radius_raw by the configured solver (see esn.h for `auto`). */
static int compute_radius(esn *e, uint64_t seed) {
    const esn_params *p = &e->p;
    size_t n = p->n_res;
    int dense = p->radius_method == ESN_RADIUS_DENSE ||
                (p->radius_method == ESN_RADIUS_AUTO && n <= p->radius_dense_max);
    e->radius_residual = NAN;
    if (!dense) {
        double rho = 0.0, res = NAN;
        int st = esn_spectral_radius_arpack(n, e->row_ptr, e->w_col, e->w_val, seed, &p->arpack,
                                            &rho, &res);
        e->radius_residual = res;
        if (st == ENGRAM_OK) {
            e->radius_raw = rho;
            e->radius_used = ESN_RADIUS_ARPACK;
            return ENGRAM_OK;
        }
        if (p->radius_method != ESN_RADIUS_AUTO || n > ESN_DENSE_FALLBACK_MAX) return st;
        e->radius_fell_back = 1;
    }
    e->radius_used = ESN_RADIUS_DENSE;
    return radius_dense(e, &e->radius_raw);
}

static int check_params(const esn_params *p) {
    if (p->n_res < 1) return engram_fail(ENGRAM_EINVAL, "esn: reservoir size must be >= 1");
    if ((unsigned)p->radius_method > ESN_RADIUS_ARPACK)
        return engram_fail(ENGRAM_EINVAL, "esn: unknown radius method %d", (int)p->radius_method);
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
    size_t *idx = p->topology == ESN_W_SPARSE ? malloc(n * sizeof(size_t)) : NULL;
    gsl_rng *rw = rng_stream_alloc(seed, "esn.w", 0);
    gsl_rng *ri = rng_stream_alloc(seed, "esn.w_in", 0);
    gsl_rng *rb = rng_stream_alloc(seed, "esn.bias", 0);
    gsl_rng *rf = rng_stream_alloc(seed, "esn.w_fb", 0);
    int ok = e->block && e->row_ptr && e->w_col && e->x && e->pre &&
             (idx || p->topology != ESN_W_SPARSE) && rw && ri && rb && rf;
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
    if (compute_radius(e, seed) != ENGRAM_OK) goto fail;
    double rho = e->radius_raw;
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
    gsl_rng_free(rw);
    gsl_rng_free(ri);
    gsl_rng_free(rb);
    gsl_rng_free(rf);
    return e;
fail:
    free(idx);
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

/* pre (N,) = b + W_in u + W x + W_fb y: per unit, the bias, then the input terms, the
 * recurrent terms in CSR order and the feedback terms, one addition at a time. */
void esn_step(esn *e, const double *u, const double *y_fb) {
    const size_t n = e->p.n_res, ni = e->p.n_in, nf = e->p.n_fb;
    const double a = e->p.leak;
    double *restrict pre = e->pre;
    for (size_t i = 0; i < n; i++) {
        double s = e->bias[i];
        const double *wi = e->w_in + i * ni;
        for (size_t j = 0; j < ni; j++) s += wi[j] * u[j];
        pre[i] = s;
    }
    kern_csr_mv(n, e->row_ptr, e->w_col, e->w_val, e->x, pre);
    if (nf)
        for (size_t i = 0; i < n; i++) {
            double s = pre[i];
            const double *wf = e->w_fb + i * nf;
            for (size_t j = 0; j < nf; j++) s += wf[j] * y_fb[j];
            pre[i] = s;
        }
    double *restrict xs = e->x;
    if (e->p.activation == ESN_ACT_TANH) kern_tanh(pre, pre, n);
    if (a == 1.0)
        memcpy(xs, pre, n * sizeof(double));
    else
        for (size_t i = 0; i < n; i++) xs[i] = (1.0 - a) * xs[i] + a * pre[i];
}

int esn_step_batch(const esn *e, size_t b, double *x, const double *u, double *pre) {
    const size_t n = e->p.n_res, ni = e->p.n_in;
    const double a = e->p.leak;
    if (e->p.n_fb)
        return engram_fail(ENGRAM_EINVAL, "esn: a batch step has no output feedback (O = %zu)",
                           e->p.n_fb);
    for (size_t i = 0; i < n; i++) {
        const double *wi = e->w_in + i * ni;
        for (size_t c = 0; c < b; c++) {
            double s = e->bias[i];
            for (size_t j = 0; j < ni; j++) s += wi[j] * u[c * ni + j];
            pre[i * b + c] = s;
        }
    }
    kern_csr_mm(n, e->row_ptr, e->w_col, e->w_val, x, pre, b);
    if (e->p.activation == ESN_ACT_TANH) kern_tanh(pre, pre, n * b);
    if (a == 1.0)
        memcpy(x, pre, n * b * sizeof(double));
    else
        for (size_t i = 0; i < n * b; i++) x[i] = (1.0 - a) * x[i] + a * pre[i];
    return ENGRAM_OK;
}

size_t esn_bytes(const esn *e) {
    size_t n = e->p.n_res;
    return sizeof *e + e->n_block * sizeof(double) + (n + 1) * sizeof(size_t) +
           e->nnz * sizeof(size_t) + 2 * n * sizeof(double);
}

int esn_params_from_config(const config *c, esn_params *p) {
    *p = esn_params_default();
    p->n_res = (size_t)config_int(c, "reservoir.n");
    p->topology = strcmp(config_str(c, "reservoir.topology"), "orthogonal") == 0 ? ESN_W_ORTHOGONAL
                                                                                 : ESN_W_SPARSE;
    p->nnz_per_row = (size_t)config_int(c, "reservoir.nnz_per_row");
    if (p->topology == ESN_W_SPARSE && p->nnz_per_row > p->n_res)
        return engram_fail(ENGRAM_EINVAL, "reservoir.nnz_per_row = %zu exceeds reservoir.n = %zu",
                           p->nnz_per_row, p->n_res);
    p->spectral_radius = config_real(c, "reservoir.spectral_radius");
    p->input_scaling = config_real(c, "reservoir.input_scaling");
    p->bias_scaling = config_real(c, "reservoir.bias_scaling");
    p->feedback_scaling = config_real(c, "reservoir.feedback_scaling");
    p->leak = config_real(c, "reservoir.leak");
    p->activation = strcmp(config_str(c, "reservoir.activation"), "identity") == 0 ? ESN_ACT_IDENTITY
                                                                                  : ESN_ACT_TANH;
    int st = esn_radius_method_parse(config_str(c, "reservoir.radius_method"), &p->radius_method);
    if (st != ENGRAM_OK) return st;
    p->radius_dense_max = (size_t)config_int(c, "reservoir.radius_dense_max");
    p->arpack.nev = (size_t)config_int(c, "reservoir.arpack_nev");
    p->arpack.ncv = (size_t)config_int(c, "reservoir.arpack_ncv");
    p->arpack.max_iter = (size_t)config_int(c, "reservoir.arpack_max_iter");
    p->arpack.check = config_bool(c, "reservoir.arpack_check");
    return ENGRAM_OK;
}
