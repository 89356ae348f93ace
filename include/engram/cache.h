/* cache.h: the R2N2 Hopfield cache, a pair of associative networks that store an
 * episode one-shot and replay it in reverse and forward, one pattern per half-cycle.
 *
 * Cheng & Brown, Neural Computation 37(3):403 (2025); released code CogControlLab/R2N2
 * (models.py class HFRNN, exp6.py); research note §2.6.
 *
 * Storage (one shot). An episode is a sequence of +-1 patterns xi_0..xi_{P-1} (P, N).
 * With rho the mean of all entries (computed separately over the key units and over
 * the other units when n_key < N, so each population is centred on its own activity
 * level), p_t = xi_t - rho and the key k_t = p_t + p_{t+1}
 * (restricted to the first n_key "key" units, see below), transition t (t = 0..P-2)
 * is written into matrix W2 when t is even and W1 when t is odd:
 *     reverse pair:  W^rev += p_t     k_t^T / n_key   (maps xi_{t+1} -> xi_t; xi_t fixed)
 *     forward pair:  W^fwd += p_{t+1} k_t^T / n_key   (maps xi_t -> xi_{t+1}; xi_{t+1} fixed)
 * The reverse pair is the released code's rule (which divides by N; with all units as
 * keys n_key = N and the rules coincide). Forward replay needs the opposite
 * association, so engram stores both directions (four matrices, the same keys).
 * The released code adds random initial weights g N(0, 1/sqrt(N)) before the division
 * by N; they contribute O(g/N) to each input current and are omitted.
 * Each matrix is kept in factored form (its outer-product terms), which is the same
 * linear map as the dense N x N matrix (cache_weights() materialises it) and costs
 * O(P N) instead of O(N^2) per step. The key overlaps k_t . sgn(h) are updated
 * incrementally as units flip (recomputed in full at the start of every replay), and
 * the drive W(lam) sgn(h) is recomputed only when a unit flipped or lam changed.
 *
 * Key units. Only the first n_key units send associative connections (presynaptic);
 * all N units receive them. With n_key = N this is the released network. The r2n2
 * learner uses n_key < N so that the units coding the step's symbol (which repeat
 * across an episode) do not create cross-talk between transitions: only the random
 * per-step context code addresses the memory, and the symbol units are read out.
 *
 * Dynamics (§2.6), tau_c = 6 by default, sgn(0) = +1:
 *     h <- (1 - 1/tau_c) h + (1/tau_c) W(lam) sgn(h),  W(lam) = lam W2 + (1 - lam) W1
 * Replay starts from a cue (the last pattern for reverse replay, the first for forward
 * replay) and moves on by one pattern per half-cycle of lam:
 *   CACHE_DRIVE_EXTERNAL: lam = (1 + cos theta) / 2 as in exp6, `steps` steps per
 *     half-cycle, with the phase shifted by a quarter period so that each half-cycle is
 *     centred on the peak of the matrix that holds its transition; the recalled
 *     pattern is read at the end of the half-cycle.
 *   CACHE_DRIVE_SELF: lam in {0, 1} is flipped by the network itself once its output
 *     has changed since the last flip and then stayed the same for `settle` consecutive
 *     steps (settled), or after `steps` steps. (The released criterion, flip whenever
 *     the output did not change for one step, also fires on the first step after a
 *     flip, before the leaky state has had time to move, and in the middle of a
 *     transition when no unit happens to cross zero in one step.)
 *
 * Example:
 *     cache_params cp = cache_defaults();
 *     cache *c = cache_alloc(500, 500, 20, &cp);
 *     cache_store(c, xi, 20);                     // xi (20, 500) of +-1
 *     cache_replay_begin(c, CACHE_REVERSE, s);    // s = xi_19 (the cue)
 *     while (cache_replay_next(c, s) == ENGRAM_OK) { ... s ~ xi_18, xi_17, ..., xi_0 }
 *     cache_free(c);
 *
 * Several episodes (cache_append) are content-addressed: every unit is a key unit
 * (n_key = n), nothing in a pattern says which episode or step it belongs to, and a
 * replay started from a cue (cache_replay_cue) follows whatever the stored
 * associations make of it. Episodes interfere, so recall fails when the cache holds
 * too many transitions for its size (cache_capacity_trial measures it; the tmaze
 * experiment's test.cache_capacity draws the curve).
 *
 * Memory: everything is allocated by cache_alloc for at most max_patterns patterns.
 * The cache keeps the centred patterns p_t (the postsynaptic factors) and the keys k_t
 * (the presynaptic factors): these are its synaptic weights in factored form.
 */
#ifndef ENGRAM_CACHE_H
#define ENGRAM_CACHE_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

typedef enum { CACHE_DRIVE_SELF, CACHE_DRIVE_EXTERNAL } cache_drive;
typedef enum { CACHE_REVERSE, CACHE_FORWARD } cache_dir;

typedef struct cache_params {
    double tau;        /* leak time constant tau_c in steps (6) */
    cache_drive drive; /* self-timed (default) or externally driven pump */
    size_t steps;      /* steps per half-cycle (external) or at most (self) (30) */
    size_t settle;     /* self: unchanged steps that count as settled (3) */
} cache_params;

typedef struct cache {
    size_t n, n_key, max_patterns, n_patterns;
    cache_params p;
    double rho;     /* mean entry of the stored episode (over the key units) */
    double rho_out; /* mean entry over the other units (n_key < n) */
    double *post;   /* (P, N) centred patterns p_t */
    double *key;    /* (P-1, K) keys k_t = p_t + p_{t+1} on the key units */
    double *key_t;  /* (K, P-1) the keys transposed (incremental updates) */
    double *dots;   /* (P-1,) k_t . sgn(h), kept up to date as units flip */
    double u_lam;   /* lam of the last computed drive u (NAN: stale) */
    double *cue;    /* (2, N) first and last pattern (+-1): the replay cues */
    double *h, *s, *s_old, *u; /* (N,) */
    double *coef;   /* (P,) */
    /* replay state */
    cache_dir dir;
    size_t t_done;  /* transitions completed in the current replay */
    size_t j;       /* dynamics steps since replay start */
    /* optional raster of overlaps: one row (max_patterns,) per dynamics step */
    double *raster;
    size_t raster_cap, raster_len;
    size_t total_steps; /* dynamics steps since allocation (cost accounting) */
    /* several episodes (cache_append): per-transition matrix parity, last episode */
    int *par;           /* (max_patterns,) 0: W2, 1: W1 (position within its episode) */
    size_t n_episodes, ep_start, ep_len;
    int cued, cue_parity; /* replay started by cache_replay_cue */
} cache;

/* Returns the defaults: tau 6, self-timed drive, 30 steps, settle 3. */
cache_params cache_defaults(void);

/* Allocates a cache of n units, the first n_key of which are key units
 * (1 <= n_key <= n), for episodes of up to max_patterns patterns. NULL with
 * engram_error() set on bad arguments or allocation failure. */
cache *cache_alloc(size_t n, size_t n_key, size_t max_patterns, const cache_params *p);

/* Frees a cache; NULL is a no-op. */
void cache_free(cache *c);

/* Stores an episode xi (P, N) of +-1 values one-shot, replacing the previous one.
 * Returns ENGRAM_OK, ENGRAM_EINVAL (P = 0 or entries not +-1) or ENGRAM_ERANGE
 * (P > max_patterns). */
int cache_store(cache *c, const double *xi, size_t n_patterns);

/* Adds an episode xi (P, N) one-shot to the stored ones (no link between episodes),
 * for content-addressed recall by cache_replay_cue. Returns as cache_store, with
 * ENGRAM_ERANGE when the patterns of all episodes would exceed max_patterns. */
int cache_append(cache *c, const double *xi, size_t n_patterns);

/* Starts a content-addressed replay from cue (N,) (+-1; e.g. an episode's first
 * pattern, or a noisy copy) for n_transitions transitions; parity0 = 0 if the first
 * transition is held by W2 (even position in its episode), 1 if by W1. Which episode
 * is recalled is decided by the network alone; read the patterns with
 * cache_replay_next. */
void cache_replay_cue(cache *c, cache_dir dir, const double *cue, size_t n_transitions, int parity0);

/* Starts a replay in direction dir: sets the state to the cue (the last stored pattern
 * for reverse, the first for forward) and writes it to out (N,) if not NULL. */
void cache_replay_begin(cache *c, cache_dir dir, double *out);

/* Runs the pump for one half-cycle (one transition) and writes the recalled pattern
 * sgn(h) (N,) to out. Returns ENGRAM_OK, or ENGRAM_ERANGE when all P-1 transitions
 * of the episode have been replayed (out untouched). */
int cache_replay_next(cache *c, double *out);

/* Writes the overlap of s (N,) with each stored pattern (P,): the fraction of units
 * on which they agree (exp6's measure). */
void cache_overlaps(const cache *c, const double *s, double *ov);

/* Materialises matrix `which` (1 or 2) of the pair for direction dir as a dense
 * (N, N) row-major block w (columns beyond n_key are zero). For tests. */
void cache_weights(const cache *c, cache_dir dir, int which, double *w);

/* Capacity trial: a content-addressed cache of n units (all keys) stores n_ep
 * episodes of len random patterns (40 % of units at +1, drawn from r) one-shot, then
 * replays each forward from its first pattern alone. A recalled pattern agreeing with
 * the true next pattern on fewer than min_overlap of the units is a recall error.
 * Writes the fraction of wrong steps and of episodes with any wrong step. Returns
 * ENGRAM_OK, ENGRAM_EINVAL or ENGRAM_ENOMEM. */
int cache_capacity_trial(size_t n, size_t n_ep, size_t len, const cache_params *p, gsl_rng *r,
                         double min_overlap, double *step_err, double *ep_err);

/* Records the overlaps of every later dynamics step into buf (rows of max_patterns
 * values, at most cap rows), or stops recording when buf is NULL. */
void cache_record(cache *c, double *buf, size_t cap);

#endif
