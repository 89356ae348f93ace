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
    double *resid, *v, *workd, *workl, *dr, *di, *z, *workev, *ax;
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
    free(w->ax);
    free(w->select);
}

/* |W z - lambda z| / (|lambda| |z|) for the eigenpair (lr + i li, zr + i zi); zi NULL for
 * a real pair. ax holds 2n doubles. */
static double pair_residual(size_t n, const size_t *rp, const size_t *col, const double *val,
                            double lr, double li, const double *zr, const double *zi,
                            double *ax) {
    double *ar = ax, *ai = ax + n;
    memset(ax, 0, 2 * n * sizeof(double));
    kern_csr_mv(n, rp, col, val, zr, ar);
    if (zi) kern_csr_mv(n, rp, col, val, zi, ai);
    double num = 0.0, den = 0.0;
    for (size_t j = 0; j < n; j++) {
        double xr = zr[j], xi = zi ? zi[j] : 0.0;
        double er = ar[j] - (lr * xr - li * xi), ei = ai[j] - (lr * xi + li * xr);
        num += er * er + ei * ei;
        den += xr * xr + xi * xi;
    }
    double mod = hypot(lr, li);
    return mod > 0.0 && den > 0.0 ? sqrt(num) / (mod * sqrt(den)) : INFINITY;
}

/* The reverse-communication loop. ARPACK keeps state in SAVE'd Fortran variables, so the
 * caller runs this inside one OpenMP critical section. */
static int arpack_run(size_t n, const size_t *rp, const size_t *col, const double *val,
                      const esn_arpack_opts *o, arpack_ws *w, double *radius, double *residual,
                      size_t *iters) {
    int N = (int)n, nev = (int)o->nev, ncv = (int)o->ncv, ldv = N;
    int lworkl = 3 * ncv * ncv + 6 * ncv;
    int iparam[11] = {0}, ipntr[14] = {0};
    iparam[0] = 1;                 /* exact shifts */
    iparam[2] = (int)o->max_iter;  /* restarts */
    iparam[6] = 1;                 /* mode 1: A x = lambda x */
    int ido = 0, info = 1;         /* info = 1: start from resid (seeded) */
    double tol = o->tol;
    const char *which = "LM";
    for (;;) {
        dnaupd_(&ido, "I", &N, which, &nev, &tol, w->resid, &ncv, w->v, &ldv, iparam, ipntr,
                w->workd, w->workl, &lworkl, &info, 1, 2);
        if (ido == -1 || ido == 1) {
            double *x = w->workd + ipntr[0] - 1, *y = w->workd + ipntr[1] - 1;
            memset(y, 0, n * sizeof(double));
            kern_csr_mv(n, rp, col, val, x, y);
        } else {
            break;
        }
    }
    *iters = (size_t)iparam[2];
    if (info == 1)
        return engram_fail(ENGRAM_ERANGE,
                           "spectral radius: ARPACK did not converge in %zu restarts (N = %zu, %d of"
                           " %d eigenvalues converged); raise reservoir.arpack_ncv or"
                           " reservoir.arpack_max_iter, or use reservoir.radius_method = dense",
                           o->max_iter, n, iparam[4], nev);
    if (info != 0)
        return engram_fail(ENGRAM_ERANGE, "spectral radius: ARPACK dnaupd failed (info = %d, N = %zu)",
                           info, n);
    int rvec = 1, ldz = N;
    double sigmar = 0.0, sigmai = 0.0;
    dneupd_(&rvec, "A", w->select, w->dr, w->di, w->z, &ldz, &sigmar, &sigmai, w->workev, "I", &N,
            which, &nev, &tol, w->resid, &ncv, w->v, &ldv, iparam, ipntr, w->workd, w->workl,
            &lworkl, &info, 1, 1, 2);
    int nconv = iparam[4];
    if (info != 0 || nconv < 1)
        return engram_fail(ENGRAM_ERANGE,
                           "spectral radius: ARPACK dneupd failed (info = %d, %d converged, N = %zu);"
                           " use reservoir.radius_method = dense",
                           info, nconv, n);
    /* the largest modulus among the converged Ritz values, and its eigenvector: a complex
     * pair occupies columns j (real part) and j + 1 (imaginary part), di[j] > 0 */
    int best = -1;
    double bm = -1.0;
    for (int j = 0; j < nconv; j++) {
        double m = hypot(w->dr[j], w->di[j]);
        if (m > bm) {
            bm = m;
            best = j;
        }
    }
    const double *zr, *zi = NULL;
    double li = w->di[best];
    if (li == 0.0) {
        zr = w->z + (size_t)best * n;
    } else if (li > 0.0 && best + 1 <= (int)o->nev) {
        zr = w->z + (size_t)best * n;
        zi = w->z + (size_t)(best + 1) * n;
    } else { /* the conjugate: same modulus, use the pair stored before it */
        if (best == 0)
            return engram_fail(ENGRAM_ERANGE, "spectral radius: ARPACK returned an unpaired"
                               " complex eigenvalue (N = %zu)", n);
        li = -li;
        zr = w->z + (size_t)(best - 1) * n;
        zi = w->z + (size_t)best * n;
    }
    double res = pair_residual(n, rp, col, val, w->dr[best], li, zr, zi, w->ax);
    *residual = res;
    *radius = bm;
    if (!(res <= o->max_residual))
        return engram_fail(ENGRAM_ERANGE,
                           "spectral radius: ARPACK eigenpair residual |W v - l v| / |l| = %.3g"
                           " exceeds %.3g (N = %zu); use reservoir.radius_method = dense",
                           res, o->max_residual, n);
    return ENGRAM_OK;
}

esn_arpack_opts esn_arpack_opts_default(void) {
    esn_arpack_opts o;
    o.nev = 8;
    o.ncv = 40;
    o.max_iter = 3000;
    o.tol = 0.0;
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
    if (o.nev < 1 || o.max_iter < 1 || !(o.tol >= 0.0) || !(o.max_residual > 0.0) ||
        !(o.agree >= 0.0))
        return engram_fail(ENGRAM_EINVAL, "spectral radius: bad ARPACK options (nev %zu, max_iter"
                           " %zu, tol %g, max residual %g)", o.nev, o.max_iter, o.tol, o.max_residual);
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
    w.ax = malloc(2 * n * sizeof(double));
    w.select = calloc(ncv, sizeof(int));
    gsl_rng *r = rng_stream_alloc(seed, "esn.arpack", 0);
    gsl_rng *r2 = o.check ? rng_stream_alloc(seed, "esn.arpack", 1) : NULL;
    int st;
    if (!w.resid || !w.v || !w.workd || !w.workl || !w.dr || !w.di || !w.z || !w.workev ||
        !w.ax || !w.select || !r || (o.check && !r2)) {
        st = engram_fail(ENGRAM_ENOMEM, "spectral radius: cannot allocate the ARPACK workspace"
                         " (N = %zu, ncv = %zu)", n, ncv);
    } else if (!engram_all_finite(val, row_ptr[n])) {
        st = engram_fail(ENGRAM_EINVAL, "spectral radius: matrix has non-finite entries");
    } else {
        /* the starting vector from the seed: the same seed gives the same Krylov space */
        for (size_t i = 0; i < n; i++) w.resid[i] = 2.0 * gsl_rng_uniform(r) - 1.0;
        size_t iters = 0;
        double rad = 0.0, res = INFINITY, rad2 = 0.0, res2 = INFINITY;
#ifdef _OPENMP
#pragma omp critical(engram_arpack)
#endif
        st = arpack_run(n, row_ptr, col, val, &o, &w, &rad, &res, &iters);
        if (residual) *residual = res;
        if (st == ENGRAM_OK && o.check) {
            /* a second run from an independent starting vector: an eigenvalue that one
             * Krylov space has not yet resolved is unlikely to be missed by both alike */
            for (size_t i = 0; i < n; i++) w.resid[i] = 2.0 * gsl_rng_uniform(r2) - 1.0;
#ifdef _OPENMP
#pragma omp critical(engram_arpack)
#endif
            st = arpack_run(n, row_ptr, col, val, &o, &w, &rad2, &res2, &iters);
            if (residual && res2 > res) *residual = res2;
            if (st == ENGRAM_OK && !(fabs(rad - rad2) <= o.agree * fmax(rad, rad2)))
                st = engram_fail(ENGRAM_ERANGE,
                                 "spectral radius: two ARPACK runs from different starting vectors"
                                 " disagree (%.15g vs %.15g, N = %zu): raise reservoir.arpack_nev"
                                 " and reservoir.arpack_ncv, or use reservoir.radius_method = dense",
                                 rad, rad2, n);
            if (rad2 > rad) rad = rad2;
        }
        if (st == ENGRAM_OK) *radius = rad;
    }
    gsl_rng_free(r);
    gsl_rng_free(r2);
    ws_free(&w);
    return st;
}
