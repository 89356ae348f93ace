/* pca.c: principal components of recorded activity and their participation ratio
 * (analysis.h). */
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engram/analysis.h"
#include "engram/engram.h"

int analysis_pca(const double *data, size_t m, size_t n, double *eval, double *evec) {
    if (m < 2 || n == 0) return engram_fail(ENGRAM_EINVAL, "pca: needs at least 2 rows");
    double *mean = calloc(n, sizeof *mean);
    gsl_matrix *cov = gsl_matrix_calloc(n, n);
    gsl_vector *ev = gsl_vector_alloc(n);
    gsl_matrix *vec = gsl_matrix_alloc(n, n);
    gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(n);
    double *row = malloc(n * sizeof *row);
    int st = ENGRAM_OK;
    if (!mean || !cov || !ev || !vec || !w || !row) { st = engram_fail(ENGRAM_ENOMEM, "pca: out of memory"); goto done; }
    for (size_t r = 0; r < m; r++)
        for (size_t j = 0; j < n; j++) mean[j] += data[r * n + j];
    for (size_t j = 0; j < n; j++) mean[j] /= (double)m;
    /* covariance (N, N), upper triangle accumulated row by row */
    for (size_t r = 0; r < m; r++) {
        for (size_t j = 0; j < n; j++) row[j] = data[r * n + j] - mean[j];
        for (size_t i = 0; i < n; i++) {
            double *c = cov->data + i * n;
            for (size_t j = i; j < n; j++) c[j] += row[i] * row[j];
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            double v = cov->data[i * n + j] / (double)(m - 1);
            cov->data[i * n + j] = cov->data[j * n + i] = v;
        }
    gsl_eigen_symmv(cov, ev, vec, w);
    gsl_eigen_symmv_sort(ev, vec, GSL_EIGEN_SORT_VAL_DESC);
    for (size_t j = 0; j < n; j++) eval[j] = gsl_vector_get(ev, j) > 0 ? gsl_vector_get(ev, j) : 0;
    /* sign convention: the largest-magnitude entry of each component is positive */
    for (size_t j = 0; j < n; j++) {
        size_t b = 0;
        for (size_t i = 1; i < n; i++)
            if (fabs(gsl_matrix_get(vec, i, j)) > fabs(gsl_matrix_get(vec, b, j))) b = i;
        double s = gsl_matrix_get(vec, b, j) < 0 ? -1 : 1;
        for (size_t i = 0; i < n; i++) evec[i * n + j] = s * gsl_matrix_get(vec, i, j);
    }
done:
    free(mean);
    free(row);
    gsl_matrix_free(cov);
    gsl_vector_free(ev);
    gsl_matrix_free(vec);
    gsl_eigen_symmv_free(w);
    return st;
}

double analysis_participation_ratio(const double *eval, size_t n) {
    double s = 0, s2 = 0;
    for (size_t j = 0; j < n; j++) { s += eval[j]; s2 += eval[j] * eval[j]; }
    return s2 > 0 ? s * s / s2 : 0;
}
