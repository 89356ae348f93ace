/* tuning.c: per-unit selectivity to the task variables: the fraction of each unit's
 * variance explained by a variable's groups (one-way ANOVA eta^2) (analysis.h). */
#include <math.h>
#include <stdlib.h>
#include "engram/analysis.h"
#include "engram/engram.h"

int analysis_tuning(const analysis_rec *rec, double *eta2) {
    size_t N = rec->n_units, C = rec->n_cond, T = rec->t_max, G = 0;
    long lo = 0, hi = 0;
    int first = 1;
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < rec->len[k]; t++)
            for (size_t c = 0; c < C; c++) {
                long v = lround(rec->cond[(k * T + t) * C + c]);
                if (first || v < lo) lo = v;
                if (first || v > hi) hi = v;
                first = 0;
            }
    if (first) return engram_fail(ENGRAM_EINVAL, "tuning: no recorded steps");
    G = (size_t)(hi - lo + 1);
    double *sum = calloc(G * N, sizeof *sum), *cnt = calloc(G, sizeof *cnt);
    double *mean = calloc(N, sizeof *mean), *tot = calloc(N, sizeof *tot);
    if (!sum || !cnt || !mean || !tot) {
        free(sum); free(cnt); free(mean); free(tot);
        return engram_fail(ENGRAM_ENOMEM, "tuning: out of memory");
    }
    size_t rows = 0;
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < rec->len[k]; t++, rows++)
            for (size_t i = 0; i < N; i++) mean[i] += rec->act[(k * T + t) * N + i];
    for (size_t i = 0; i < N; i++) mean[i] /= (double)rows;
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < rec->len[k]; t++)
            for (size_t i = 0; i < N; i++) {
                double d = rec->act[(k * T + t) * N + i] - mean[i];
                tot[i] += d * d;
            }
    for (size_t c = 0; c < C; c++) {
        for (size_t g = 0; g < G * N; g++) sum[g] = 0;
        for (size_t g = 0; g < G; g++) cnt[g] = 0;
        for (size_t k = 0; k < rec->n_trials; k++)
            for (size_t t = 0; t < rec->len[k]; t++) {
                size_t g = (size_t)(lround(rec->cond[(k * T + t) * C + c]) - lo);
                cnt[g] += 1;
                for (size_t i = 0; i < N; i++) sum[g * N + i] += rec->act[(k * T + t) * N + i];
            }
        /* between-group sum of squares over the total sum of squares */
        for (size_t i = 0; i < N; i++) {
            double between = 0;
            for (size_t g = 0; g < G; g++) {
                if (cnt[g] == 0) continue;
                double d = sum[g * N + i] / cnt[g] - mean[i];
                between += cnt[g] * d * d;
            }
            eta2[i * C + c] = tot[i] > 0 ? between / tot[i] : NAN;
        }
    }
    free(sum); free(cnt); free(mean); free(tot);
    return ENGRAM_OK;
}
