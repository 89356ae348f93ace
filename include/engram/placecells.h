/* placecells.h: place-cell and head-direction-cell targets of the grid-cell task.
 *
 * What
 * ----
 * Banino et al. 2018 (Nature 557:429; official code ensembles.py, research note
 * gridcells.md §1.3) train the LSTM to output, at every step, a probability vector over
 * N place cells (PC) and one over M head-direction cells (HD):
 *
 *   PC (Gaussian):  p_i(x) = softmax_i( -|x - mu_i|^2 / (2 sigma^2) )            (1)
 *   PC (DoG, Sorscher et al. 2019, "difference of softmaxes", note §3.1):
 *       q_i = softmax_i(-d_i^2 / (2 sigma^2)) - softmax_i(-d_i^2 / (2 s sigma^2)),
 *       p_i = (q_i - min_j q_j) / sum_k (q_k - min_j q_j)                           (2)
 *       with s = surround (a ratio of variances, 2 in Sorscher).
 *   HD (von Mises): h_j(phi) = softmax_j( kappa cos(phi - nu_j) )                    (3)
 *
 * Every softmax subtracts the largest logit first (log-sum-exp), so sigma = 0.01 m,
 * where far cells have logits near -1e4, gives finite vectors that sum to 1.
 * Centres mu_i are i.i.d. uniform over the box and preferred directions nu_j i.i.d.
 * uniform in (-pi, pi) (not evenly spaced, as the official code), drawn from the rng
 * the caller passes (use a stream of its own, e.g. rng_stream_alloc(seed, "cells", 0)).
 *
 * Decoding (Sorscher's "decoding error"): the position estimate is the mean centre of
 * the k (= 3) most active cells of a score vector (probabilities or logits; only the
 * ranking matters); the error is the Euclidean distance to the true position in cm.
 *
 * Example
 * -------
 *     gsl_rng *rc = rng_stream_alloc(seed, "cells", 0);
 *     pc_ensemble *pc = pc_alloc(256, 0.01, 0.0, 2.2, rc);
 *     hd_ensemble *hdc = hdc_alloc(12, 20.0, rc);
 *     pc_encode(pc, pos, B * (T + 1), pc_targets);       // (B*(T+1), 256)
 *     hdc_encode(hdc, hd, B * (T + 1), hd_targets);      // (B*(T+1), 12)
 *     double err = pc_decode_error_cm(pc, logits, true_pos, B * T, 3);
 *     pc_free(pc); hdc_free(hdc);
 *
 * Shapes: positions (R, 2), headings (R,), PC vectors (R, N), HD vectors (R, M), R rows.
 * The ensembles own their centres; the caller owns every other array. Encoding and
 * decoding do not allocate and are parallel over rows (OpenMP), each row written by
 * one thread, so results do not depend on the thread count.
 */
#ifndef ENGRAM_PLACECELLS_H
#define ENGRAM_PLACECELLS_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

typedef struct pc_ensemble {
    size_t n;        /* number of place cells N */
    double sigma;    /* Gaussian standard deviation (m) */
    double surround; /* DoG ratio of variances s (> 1); 0 = plain Gaussian softmax (1) */
    double box;      /* side of the box the centres were drawn in (m) */
    double *centres; /* (N, 2) x, y of each centre */
} pc_ensemble;

typedef struct hd_ensemble {
    size_t n;        /* number of head-direction cells M */
    double kappa;    /* von Mises concentration */
    double *centres; /* (M,) preferred directions in (-pi, pi) */
} hd_ensemble;

/* Allocates N place cells with centres i.i.d. uniform in (-box/2, box/2)^2 drawn from r
 * (x then y for each cell, cell 0 first). surround = 0 selects Gaussian targets (1),
 * surround > 1 the difference of softmaxes (2). Returns NULL with engram_error() set on
 * a bad argument (n = 0, sigma <= 0, box <= 0, 0 < surround <= 1) or no memory. */
pc_ensemble *pc_alloc(size_t n, double sigma, double surround, double box, gsl_rng *r);

/* Frees an ensemble; NULL is a no-op. */
void pc_free(pc_ensemble *pc);

/* Encodes rows positions pos (R, 2) into target vectors out (R, N) by (1) or (2).
 * Returns ENGRAM_OK, or ENGRAM_EINVAL if a position is not finite. */
int pc_encode(const pc_ensemble *pc, const double *pos, size_t rows, double *out);

/* Encodes the positions of a trajectory batch pos (B, T+1, 2) into the initial-state
 * vectors init (B, N) (step 0; may be NULL) and the per-step targets (B, T, N)
 * (steps 1..T; may be NULL). Returns as pc_encode. */
int pc_encode_steps(const pc_ensemble *pc, const double *pos, size_t B, size_t T,
                    double *init, double *targets);

/* Decodes each row of scores (R, N) (probabilities or logits) to the mean centre of its
 * k largest entries (ties broken by the lower index), written to pos_out (R, 2).
 * Requires 1 <= k <= min(N, 64) (else ENGRAM_EINVAL). NaN scores rank lowest. */
int pc_decode(const pc_ensemble *pc, const double *scores, size_t rows, size_t k,
              double *pos_out);

/* Returns the mean over R rows of the distance in centimetres between the top-k decoded
 * position of scores (R, N) and true_pos (R, 2); NaN if k is out of range or rows = 0. */
double pc_decode_error_cm(const pc_ensemble *pc, const double *scores,
                          const double *true_pos, size_t rows, size_t k);

/* Replaces each of the B rows of an initial code pc0 (B, P) by its z-score over the P
 * cells (population standard deviation; a constant row becomes 0). */
void pc_zscore_rows(double *pc0, size_t B, size_t P);

/* Allocates M head-direction cells with preferred directions i.i.d. uniform in
 * (-pi, pi) drawn from r. Returns NULL with engram_error() set if n = 0 or
 * kappa < 0, or on no memory. */
hd_ensemble *hdc_alloc(size_t n, double kappa, gsl_rng *r);

/* Frees an ensemble; NULL is a no-op. */
void hdc_free(hd_ensemble *hdc);

/* Encodes rows headings hd (R,) (radians) into targets out (R, M) by (3). Returns
 * ENGRAM_OK, or ENGRAM_EINVAL if a heading is not finite. */
int hdc_encode(const hd_ensemble *hdc, const double *hd, size_t rows, double *out);

/* Encodes the headings of a batch hd (B, T+1) into init (B, M) (step 0; may be NULL)
 * and targets (B, T, M) (steps 1..T; may be NULL). Returns as hdc_encode. */
int hdc_encode_steps(const hd_ensemble *hdc, const double *hd, size_t B, size_t T,
                     double *init, double *targets);

/* Decodes each row of scores (R, M) to the circular mean of the preferred directions of
 * its k largest entries, in (-pi, pi], written to hd_out (R,). Requires
 * 1 <= k <= min(M, 64). */
int hdc_decode(const hd_ensemble *hdc, const double *scores, size_t rows, size_t k,
               double *hd_out);

/* Builds the gridcells experiment's ensembles from its configuration: cells.n_pc place
 * cells (cells.pc_sigma, cells.pc_surround) in a box of side box, then, when
 * cells.n_hd > 0, head-direction cells (cells.hd_kappa), both from stream (cells.seed,
 * "cells", 0) in that order. *hdc is NULL without head-direction cells. Returns
 * ENGRAM_OK, ENGRAM_ENOMEM or ENGRAM_EINVAL (message set). */
struct config;
int pc_cells_from_config(const struct config *c, double box, pc_ensemble **pc, hd_ensemble **hdc);

#endif
