/* radius_arpack.c: spectral radius of a sparse W by ARPACK's implicitly restarted Arnoldi
 * method (Lehoucq, Sorensen & Yang, ARPACK Users' Guide, SIAM 1998), with the residual of
 * the returned eigenpair computed here and checked (esn.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "engram/engram.h"
#include "engram/esn.h"
#include "engram/kernels.h"
#include "engram/rng.h"

/* ARPACK's Fortran 77 entry points, called with the gfortran ABI: every argument by
 * reference, LOGICAL as a 4-byte int, and one hidden length per CHARACTER argument
 * appended in order (size_t since GCC 8). */
void dnaupd_(int *ido, const char *bmat, const int *n, const char *which, const int *nev,
             const double *tol, double *resid, const int *ncv, double *v, const int *ldv,
             int *iparam, int *ipntr, double *workd, double *workl, const int *lworkl,
             int *info, size_t bmat_len, size_t which_len);
void dneupd_(const int *rvec, const char *howmny, int *select, double *dr, double *di,
             double *z, const int *ldz, const double *sigmar, const double *sigmai,
             double *workev, const char *bmat, const int *n, const char *which, const int *nev,
             const double *tol, double *resid, const int *ncv, double *v, const int *ldv,
             int *iparam, int *ipntr, double *workd, double *workl, const int *lworkl,
             int *info, size_t howmny_len, size_t bmat_len, size_t which_len);

typedef struct arpack_ws {
    double *resid, *v, *workd, *workl, *dr, *di, *z, *workev, *t, *wq, *h, *q, *qy;
    size_t kq; /* columns of q: the invariant subspace the first run found */
    int *select;
} arpack_ws;

static void ws_free(arpack_ws *w) {
    free(w->resid);
    free(w->v);
    free(w->workd);
    free(w->workl);
    free(w->dr);
    free(w->di);
    free(w->z);
    free(w->workev);
    free(w->t);
    free(w->wq);
    free(w->h);
    free(w->q);
    free(w->qy);
    free(w->select);
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* y <- (I - Q Q^T) y for the orthonormal q (n, k) column-major; c (k,) is work. Two
 * passes of classical Gram-Schmidt, so the result is orthogonal to Q to rounding. */
static void project_out(size_t n, const double *q, size_t k, double *y, double *c) {
    for (int pass = 0; pass < 2; pass++) {
        for (size_t a = 0; a < k; a++) c[a] = dot(q + a * n, y, n);
        for (size_t a = 0; a < k; a++)
            for (size_t i = 0; i < n; i++) y[i] -= c[a] * q[a * n + i];
    }
}

/* y (n,) = (W / s)^power x, as power CSR products each followed by the scaling 1 / s;
 * t (2n,) holds the intermediate vectors. The scaling keeps (W / s)^power near 1 in size
 * whatever the radius, and changes no eigenvector. With a deflation basis q (n, kq),
 * y is then projected onto the complement of span(q) (c (kq,) is work). */
static void op_apply(size_t n, const size_t *rp, const size_t *col, const double *val,
                     double inv_s, size_t power, const double *q, size_t kq, double *c,
                     const double *x, double *y, double *t) {
    const double *src = x;
    for (size_t p = 0; p < power; p++) {
        double *dst = p + 1 == power ? y : t + (p % 2) * n;
        memset(dst, 0, n * sizeof(double));
        kern_csr_mv(n, rp, col, val, src, dst);
        if (inv_s != 1.0)
            for (size_t i = 0; i < n; i++) dst[i] *= inv_s;
        src = dst;
    }
    if (kq) project_out(n, q, kq, y, c);
}

/* Rayleigh-Ritz of W itself on the span of the k Schur vectors q (n, k) column-major
 * that ARPACK returned for (W / s)^power: wq (n, k) = W q, h (k, k) row-major =
 * q^T W q, and the largest modulus of h's eigenvalues into *radius. With R = W q - q h
 * and q orthonormal, (W - R q^T) q = q h exactly, so every eigenvalue of h is an exact
 * eigenvalue of W + E with |E|_2 <= |R|_F. *residual = max(|R|_F / radius,
 * max |q^T q - I|) (the second term keeps the bound honest). */
static int ritz_on_schur(size_t n, const size_t *rp, const size_t *col, const double *val,
                         const double *q, size_t k, double *wq, double *h, double *radius,
                         double *residual) {
    memset(wq, 0, n * k * sizeof(double));
    for (size_t j = 0; j < k; j++) kern_csr_mv(n, rp, col, val, q + j * n, wq + j * n);
    double orth = 0.0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            h[a * k + b] = dot(q + a * n, wq + b * n, n);
            double g = dot(q + a * n, q + b * n, n) - (a == b ? 1.0 : 0.0);
            if (fabs(g) > orth) orth = fabs(g);
        }
    double rr = 0.0;
    for (size_t b = 0; b < k; b++)
        for (size_t i = 0; i < n; i++) {
            double r = wq[b * n + i];
            for (size_t a = 0; a < k; a++) r -= q[a * n + i] * h[a * k + b];
            rr += r * r;
        }
    double rho = 0.0;
    int st = esn_spectral_radius(h, k, &rho);
    if (st != ENGRAM_OK) return st;
    *radius = rho;
    *residual = rho > 0.0 ? fmax(sqrt(rr) / rho, orth) : INFINITY;
    return ENGRAM_OK;
}

/* The reverse-communication loop on the operator (W / s)^power, then, without a
 * deflation basis (kq = 0), the Rayleigh-Ritz step above: *radius and *residual are W's.
 * With the orthonormal basis w->q (n, kq) of an invariant subspace already found, the
 * operator is (I - Q Q^T) (W / s)^power, whose eigenvalues are those of W^power outside
 * span(Q) (scaled) and kq zeros: *radius is then the largest modulus of W's remaining
 * eigenvalues, from the Ritz values (|mu|^(1/power) s), and *residual is not set.
 * ARPACK keeps state in SAVE'd Fortran variables, so the caller runs this inside one
 * OpenMP critical section. *matvecs counts the products with W. */
static int arpack_run(size_t n, const size_t *rp, const size_t *col, const double *val,
                      double inv_s, const esn_arpack_opts *o, arpack_ws *w, size_t kq,
                      double *radius, double *residual, size_t *matvecs) {
    int N = (int)n, nev = (int)o->nev, ncv = (int)o->ncv, ldv = N;
    int lworkl = 3 * ncv * ncv + 6 * ncv;
    int iparam[11] = {0}, ipntr[14] = {0};
    iparam[0] = 1;                 /* exact shifts */
    iparam[2] = (int)o->max_iter;  /* restarts */
    iparam[6] = 1;                 /* mode 1: A x = lambda x */
    int ido = 0, info = 1;         /* info = 1: start from resid (seeded) */
    double tol = o->tol;
    const char *which = "LM";
    size_t ops = 0;
    if (kq) project_out(n, w->q, kq, w->resid, w->qy);
    for (;;) {
        dnaupd_(&ido, "I", &N, which, &nev, &tol, w->resid, &ncv, w->v, &ldv, iparam, ipntr,
                w->workd, w->workl, &lworkl, &info, 1, 2);
        if (ido == -1 || ido == 1) {
            op_apply(n, rp, col, val, inv_s, o->power, w->q, kq, w->qy,
                     w->workd + ipntr[0] - 1, w->workd + ipntr[1] - 1, w->t);
            ops++;
        } else {
            break;
        }
    }
    *matvecs += ops * o->power;
    const char *which_run = kq ? "the deflated check run" : "ARPACK";
    if (info == 1)
        return engram_fail(ENGRAM_ERANGE,
                           "spectral radius: %s did not converge in %zu restarts (N = %zu, %d of"
                           " %d eigenvalues converged); raise reservoir.arpack_ncv or"
                           " reservoir.arpack_max_iter, or use reservoir.radius_method = dense",
                           which_run, o->max_iter, n, iparam[4], nev);
    if (info != 0)
        return engram_fail(ENGRAM_ERANGE, "spectral radius: ARPACK dnaupd failed (info = %d, N = %zu)",
                           info, n);
    /* rvec with howmny 'P': the first nconv columns of v become an orthonormal (Schur)
     * basis of the converged invariant subspace; the check run needs the values only */
    int rvec = kq ? 0 : 1, ldz = N;
    double sigmar = 0.0, sigmai = 0.0;
    dneupd_(&rvec, "P", w->select, w->dr, w->di, w->z, &ldz, &sigmar, &sigmai, w->workev, "I", &N,
            which, &nev, &tol, w->resid, &ncv, w->v, &ldv, iparam, ipntr, w->workd, w->workl,
            &lworkl, &info, 1, 1, 2);
    int nconv = iparam[4];
    if (info != 0 || nconv < 1)
        return engram_fail(ENGRAM_ERANGE,
                           "spectral radius: ARPACK dneupd failed (info = %d, %d converged, N = %zu);"
                           " use reservoir.radius_method = dense",
                           info, nconv, n);
    if (nconv > nev + 1) nconv = nev + 1;
    if (kq) {
        double m = 0.0;
        for (int j = 0; j < nconv; j++) m = fmax(m, hypot(w->dr[j], w->di[j]));
        *radius = pow(m, 1.0 / (double)o->power) / inv_s;
        return ENGRAM_OK;
    }
    double rho = 0.0, res = INFINITY;
    int st = ritz_on_schur(n, rp, col, val, w->v, (size_t)nconv, w->wq, w->h, &rho, &res);
    *residual = res;
    if (st != ENGRAM_OK) return st;
    *radius = rho;
    if (!(res <= o->max_residual))
        return engram_fail(ENGRAM_ERANGE,
                           "spectral radius: ARPACK invariant-subspace residual |W Q - Q H| / rho ="
                           " %.3g exceeds %.3g (N = %zu); use reservoir.radius_method = dense",
                           res, o->max_residual, n);
    /* keep the basis for the check run (v is ARPACK's workspace) */
    memcpy(w->q, w->v, n * (size_t)nconv * sizeof(double));
    w->kq = (size_t)nconv;
    return ENGRAM_OK;
}

esn_arpack_opts esn_arpack_opts_default(void) {
    esn_arpack_opts o;
    o.nev = 8;
    o.ncv = 40;
    o.power = 16;
    o.max_iter = 3000;
    o.tol = 1e-10;
    o.max_residual = 1e-8;
    o.check = 1;
    o.agree = 1e-9;
    return o;
}

int esn_spectral_radius_arpack(size_t n, const size_t *row_ptr, const size_t *col,
                               const double *val, uint64_t seed, const esn_arpack_opts *opts,
                               double *radius, double *residual) {
    esn_arpack_opts o = *opts;
    if (n < 4 || n > 0x7fffffff / 4)
        return engram_fail(ENGRAM_EINVAL, "spectral radius: ARPACK needs 4 <= N < 2^29 (N = %zu);"
                           " use the dense solver", n);
    if (o.nev < 1 || o.max_iter < 1 || o.power < 1 || o.power > 1024 || !(o.tol >= 0.0) ||
        !(o.max_residual > 0.0) || !(o.agree >= 0.0))
        return engram_fail(ENGRAM_EINVAL, "spectral radius: bad ARPACK options (nev %zu, max_iter"
                           " %zu, power %zu (1..1024), tol %g, max residual %g)", o.nev, o.max_iter,
                           o.power, o.tol, o.max_residual);
    /* ARPACK needs nev + 2 <= ncv <= n (nev + 1 for the conjugate of a complex pair) */
    if (o.nev > n - 3) o.nev = n - 3;
    if (o.ncv < 2 * o.nev + 1) o.ncv = 2 * o.nev + 1;
    if (o.ncv > n) o.ncv = n;
    size_t ncv = o.ncv, nev = o.nev;
    arpack_ws w;
    memset(&w, 0, sizeof w);
    w.resid = malloc(n * sizeof(double));
    w.v = malloc(n * ncv * sizeof(double));
    w.workd = malloc(3 * n * sizeof(double));
    w.workl = malloc((3 * ncv * ncv + 6 * ncv) * sizeof(double));
    w.dr = malloc((nev + 1) * sizeof(double));
    w.di = malloc((nev + 1) * sizeof(double));
    w.z = malloc(n * (nev + 1) * sizeof(double));
    w.workev = malloc(3 * ncv * sizeof(double));
    w.t = malloc(2 * n * sizeof(double));
    w.wq = malloc(n * (nev + 1) * sizeof(double));
    w.h = malloc((nev + 1) * (nev + 1) * sizeof(double));
    w.q = malloc(n * (nev + 1) * sizeof(double));
    w.qy = malloc((nev + 1) * sizeof(double));
    w.select = calloc(ncv, sizeof(int));
    gsl_rng *r = rng_stream_alloc(seed, "esn.arpack", 0);
    gsl_rng *r2 = o.check ? rng_stream_alloc(seed, "esn.arpack", 1) : NULL;
    int st;
    if (!w.resid || !w.v || !w.workd || !w.workl || !w.dr || !w.di || !w.z || !w.workev ||
        !w.t || !w.wq || !w.h || !w.q || !w.qy || !w.select || !r || (o.check && !r2)) {
        st = engram_fail(ENGRAM_ENOMEM, "spectral radius: cannot allocate the ARPACK workspace"
                         " (N = %zu, ncv = %zu)", n, ncv);
    } else if (!engram_all_finite(val, row_ptr[n])) {
        st = engram_fail(ENGRAM_EINVAL, "spectral radius: matrix has non-finite entries");
    } else {
        /* s: the root mean square row norm, the radius the circular law predicts for
         * i.i.d. entries; any s > 0 gives the same eigenvectors. With power 1 there is
         * nothing to keep in range and ARPACK runs on W itself. */
        double ss = 0.0;
        for (size_t k = 0; k < row_ptr[n]; k++) ss += val[k] * val[k];
        double s = sqrt(ss / (double)n);
        double inv_s = o.power > 1 && s > 0.0 && isfinite(1.0 / s) ? 1.0 / s : 1.0;
        /* the starting vector from the seed: the same seed gives the same Krylov space */
        for (size_t i = 0; i < n; i++) w.resid[i] = 2.0 * gsl_rng_uniform(r) - 1.0;
        size_t mv = 0; /* products with W, both runs */
        double rad = 0.0, res = INFINITY, rad2 = 0.0;
#ifdef _OPENMP
#pragma omp critical(engram_arpack)
#endif
        st = arpack_run(n, row_ptr, col, val, inv_s, &o, &w, 0, &rad, &res, &mv);
        if (residual) *residual = res;
        if (st == ENGRAM_OK && o.check) {
            /* the check: W deflated by the invariant subspace just found, from an
             * independent starting vector. Its largest modulus is the largest eigenvalue
             * of W outside that subspace, which must not exceed the radius found; a
             * second plain run instead tends to converge to the same wrong eigenvalues */
            for (size_t i = 0; i < n; i++) w.resid[i] = 2.0 * gsl_rng_uniform(r2) - 1.0;
#ifdef _OPENMP
#pragma omp critical(engram_arpack)
#endif
            st = arpack_run(n, row_ptr, col, val, inv_s, &o, &w, w.kq, &rad2, NULL, &mv);
            if (st == ENGRAM_OK && !(rad2 <= rad * (1.0 + o.agree)))
                st = engram_fail(ENGRAM_ERANGE,
                                 "spectral radius: ARPACK missed an eigenvalue: outside the %zu it"
                                 " found (largest modulus %.15g) W has one of modulus %.15g (N = %zu):"
                                 " raise reservoir.arpack_nev and reservoir.arpack_ncv, or use"
                                 " reservoir.radius_method = dense",
                                 w.kq, rad, rad2, n);
        }
        if (st == ENGRAM_OK) *radius = rad;
    }
    gsl_rng_free(r);
    gsl_rng_free(r2);
    ws_free(&w);
    return st;
}
