/* lesion.c: the task metric with single units or groups of units silenced
 * (analysis.h; the lesion studies of Jonas & Kording 2017, PLoS Comput Biol 13(1):e1005268). */
#include <math.h>
#include <stdlib.h>
#include "engram/analysis.h"
#include "engram/engram.h"

double analysis_lesion_group(const analysis_model *m, analysis_rec *rec, const size_t *units,
                             size_t k) {
    size_t N = analysis_model_units(m);
    double *keep = malloc(N * sizeof *keep);
    if (!keep) return engram_fail(ENGRAM_ENOMEM, "lesion: out of memory"), NAN;
    for (size_t i = 0; i < N; i++) keep[i] = 1;
    for (size_t i = 0; i < k; i++) keep[units[i]] = 0;
    analysis_intervention iv = {keep, -1, 0, 0, ANALYSIS_CLAMP, 0};
    analysis_model_simulate(m, &iv, rec);
    free(keep);
    return analysis_metric(m, rec);
}

int analysis_lesion_units(const analysis_model *m, analysis_rec *rec, double *delta,
                          double *d_loss) {
    analysis_model_simulate(m, NULL, rec);
    double base = analysis_metric(m, rec), base_loss = analysis_model_loss(m, rec);
    for (size_t i = 0; i < analysis_model_units(m); i++) {
        double v = analysis_lesion_group(m, rec, &i, 1);
        if (isnan(v) && !isnan(base)) return ENGRAM_ENOMEM;
        delta[i] = v - base;
        if (d_loss) d_loss[i] = analysis_model_loss(m, rec) - base_loss;
    }
    analysis_model_simulate(m, NULL, rec);
    return ENGRAM_OK;
}
