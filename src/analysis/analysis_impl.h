/* analysis_impl.h: private pieces shared by the analysis files: the loaders and
 * simulators of the networks other than the rate RNN (analysis.h, "Models"). */
#ifndef ENGRAM_ANALYSIS_IMPL_H
#define ENGRAM_ANALYSIS_IMPL_H

#include <gsl/gsl_rng.h>
#include "engram/analysis.h"

/* Reads run_dir/name (.npy) into dst (n doubles) when the file exists: 1 read, 0 absent,
 * negative status on a malformed file or a wrong number of values. */
int analysis_read_named(const char *run_dir, const char *name, double *dst, size_t n);

/* The path integrators (grid.c). load: from the gridcells configuration already in
 * m->cfg; sets the sizes, the cond names and the metric. */
int analysis_grid_load(analysis_model *m, const char *run_dir);
void analysis_grid_free(struct analysis_grid *g);
void analysis_grid_trials(const analysis_model *m, gsl_rng *r, analysis_rec *rec);
void analysis_grid_simulate(const analysis_model *m, const analysis_intervention *iv,
                            analysis_rec *rec);
double analysis_grid_metric(const analysis_model *m, const analysis_rec *rec);
void analysis_grid_readout(const analysis_model *m, long out, double *norms);
int analysis_grid_map(const analysis_model *m, const double *x, analysis_map *map);
int analysis_grid_untrained(analysis_model *m);

/* The R2N2 consolidator (r2n2_model.c) on a task in m->tk. */
int analysis_r2n2_load(analysis_model *m, const char *run_dir);
void analysis_r2n2_simulate(const analysis_model *m, const analysis_intervention *iv,
                            analysis_rec *rec);
void analysis_r2n2_readout(const analysis_model *m, long out, double *norms);
int analysis_r2n2_map(const analysis_model *m, const double *x, analysis_map *map);
int analysis_r2n2_untrained(analysis_model *m);

/* The echo-state prediction runs (series.c). */
int analysis_series_load(analysis_model *m, const char *run_dir);
void analysis_series_free(struct analysis_series *s);
void analysis_series_trials(const analysis_model *m, analysis_rec *rec);
void analysis_series_simulate(const analysis_model *m, const analysis_intervention *iv,
                              analysis_rec *rec);
double analysis_series_metric(const analysis_model *m, const analysis_rec *rec);
void analysis_series_readout(const analysis_model *m, long out, double *norms);
int analysis_series_map(const analysis_model *m, const double *x, analysis_map *map);
int analysis_series_untrained(analysis_model *m);

/* Applies the intervention iv to the state h (N,) of step t: the lesion mask, then the
 * clamp or excitation of one unit inside its window. */
void analysis_intervene(const analysis_intervention *iv, size_t t, double *h, size_t n);

/* A map context owned by analysis_model_map: freed by analysis_model_map_free. */
typedef struct analysis_map_owned {
    void (*free_ctx)(void *ctx);
} analysis_map_owned;

#endif
