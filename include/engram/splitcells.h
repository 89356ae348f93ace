/* splitcells.h: the track-cell analyses neuroscientists apply to hippocampal recordings
 * on a T-maze, over the per-position activity of a network's units.
 *
 * Classes (per unit, from its mean rate along each trial type's path: stem, junction,
 * the arm taken; cells_classify). For one path map m (L,) normalised to z = (m - min) /
 * (max - min) over the path:
 *   ramp   |r| >= ramp_r, r = Pearson correlation of z with the position along the path
 *          (activity rising or falling along the whole path);
 *   place  not a ramp, and at most field_frac of the path's positions have z >= 0.5 (a
 *          field: high activity confined to a short stretch, wherever it is);
 *   other  neither (broad or several fields, or flat).
 * A unit is a place cell if it is one on at least one trial type's path, else a ramp if it
 * is one on at least one path, else other; a unit with no variation at all is other.
 *
 * Splitters (cells_splitter; Wood et al. 2000, Neuron 27:623, "Hippocampal neurons encode
 * information about different types of memory episodes occurring in the same location").
 * On a common segment whose input is identical on every trial type (the T-maze's delay
 * stem), a unit's effect is
 *   D = mean over segment positions j of |mean_{label 0}(j) - mean_{label 1}(j)| / range,
 * the trial means taken over trials of each label (per-trial mean activity at position j)
 * and range = the unit's range over its trial-type maps. The null distribution comes from
 * n_shuffle random permutations of the trial labels within each stratum (e.g. sample and
 * choice trials shuffled separately); p = (1 + #{D_null >= D}) / (1 + n_shuffle). A unit is
 * a splitter when p < alpha and D >= min_effect (a difference that is both beyond the
 * label-shuffle null and at least min_effect of the unit's range).
 *
 * Example:
 *     cells_params cp = cells_defaults();
 *     cells_classify(maps, 2, N, L, &cp, cls);                 // maps (2, N, L)
 *     cells_splitter(act, K, P, N, turn, stage, seg, n_seg, range, &cp, rng, d, p);
 *
 * Shapes: act (K, P, N) per-trial mean activity at each of P positions, NaN where the
 * trial did not visit the position; maps (C, N, L). Caller-owned arrays; no allocation
 * survives a call.
 */
#ifndef ENGRAM_SPLITCELLS_H
#define ENGRAM_SPLITCELLS_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

enum { CELLS_OTHER = 0, CELLS_PLACE = 1, CELLS_RAMP = 2 };

typedef struct cells_params {
    size_t n_shuffle;  /* label permutations of the splitter null (200) */
    double alpha;      /* splitter: permutation p below this (0.05) */
    double min_effect; /* splitter: D at least this fraction of the unit's range (0.1) */
    double ramp_r;     /* ramp: |Pearson r| of rate with path position at least this (0.9) */
    double field_frac; /* place: at most this fraction of the path at or above half height (0.25) */
} cells_params;

/* The defaults above. */
cells_params cells_defaults(void);

/* Class (CELLS_*) of one path map m (L,), NaN entries skipped (fewer than 3 finite
 * entries or no variation: CELLS_OTHER). */
int cells_path_class(const double *m, size_t L, const cells_params *p);

/* Classes cls (N,) of N units from their C trial-type path maps maps (C, N, L). */
void cells_classify(const double *maps, size_t C, size_t N, size_t L, const cells_params *p,
                    int *cls);

/* Splitter statistics of N units: effect (N,) = D and pval (N,) = permutation p, from act
 * (K, P, N), label (K,) in {0, 1} (-1: trial left out), stratum (K,) (labels are permuted
 * only among trials of equal stratum), the segment's position indices seg (n_seg,) and
 * range (N,). Units with range <= 0, or no segment position visited by both labels, get
 * effect 0 and p 1. Returns ENGRAM_OK, ENGRAM_EINVAL (a label set without both values,
 * or n_shuffle 0) or ENGRAM_ENOMEM. Draws only from r. */
int cells_splitter(const double *act, size_t K, size_t P, size_t N, const int *label,
                   const int *stratum, const size_t *seg, size_t n_seg, const double *range,
                   const cells_params *p, gsl_rng *r, double *effect, double *pval);

#endif
