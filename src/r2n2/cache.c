/* cache.c: the Hopfield cache of R2N2 (one-shot storage, reverse and forward replay by
 * an oscillating mixture of two matrices); see cache.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engram/engram.h"
#include "engram/cache.h"
#include <gsl/gsl_randist.h>

/* Element-wise loops below are vectorised with `omp simd` (each element's arithmetic is
 * unchanged, no reassociation and no contraction on the baseline target, so results are
 * the same bytes with or without OpenMP). */
#ifdef _OPENMP
#define CACHE_SIMD _Pragma("omp simd")
#else
#define CACHE_SIMD
#endif

/* Returns the default pump parameters (tau 6, self-timed, 30 steps, settle 3). */
cache_params cache_defaults(void) {
    cache_params p;
    p.tau = 6.0;
    p.drive = CACHE_DRIVE_SELF;
    p.steps = 30;
    p.settle = 3;
    return p;
}

/* Allocates a cache for episodes of up to max_patterns patterns of n units. */
cache *cache_alloc(size_t n, size_t n_key, size_t max_patterns, const cache_params *p) {
    if (n == 0 || n_key == 0 || n_key > n || max_patterns < 2) {
        engram_fail(ENGRAM_EINVAL, "cache: need n >= 1, 1 <= n_key <= n, max_patterns >= 2");
        return NULL;
    }
    if (!(p->tau >= 1.0) || p->steps < 1) {
        engram_fail(ENGRAM_EINVAL, "cache: tau must be >= 1 and steps >= 1");
        return NULL;
    }
    cache *c = calloc(1, sizeof *c);
    if (!c) goto nomem;
    c->n = n;
    c->n_key = n_key;
    c->max_patterns = max_patterns;
    c->p = *p;
    c->post = calloc(max_patterns * n, sizeof(double));
    c->key = calloc((max_patterns - 1) * n_key, sizeof(double));
    c->key_t = calloc((max_patterns - 1) * n_key, sizeof(double));
    c->dots = calloc(max_patterns, sizeof(double));
    c->cue = calloc(2 * n, sizeof(double));
    c->h = calloc(n, sizeof(double));
    c->s = calloc(n, sizeof(double));
    c->s_old = calloc(n, sizeof(double));
    c->u = calloc(n, sizeof(double));
    c->coef = calloc(max_patterns, sizeof(double));
    c->par = calloc(max_patterns, sizeof(int));
    if (!c->par) goto nomem;
    if (!c->post || !c->key || !c->key_t || !c->dots || !c->cue || !c->h || !c->s || !c->s_old || !c->u || !c->coef)
        goto nomem;
    return c;
nomem:
    cache_free(c);
    engram_fail(ENGRAM_ENOMEM, "cache: out of memory");
    return NULL;
}

/* Frees a cache; NULL is a no-op. */
void cache_free(cache *c) {
    if (!c) return;
    free(c->post);
    free(c->key);
    free(c->key_t);
    free(c->dots);
    free(c->cue);
    free(c->h);
    free(c->s);
    free(c->s_old);
    free(c->u);
    free(c->coef);
    free(c->par);
    free(c);
}

/* Appends an episode's transitions (factored form) after the stored ones. */
static int store_at(cache *c, const double *xi, size_t P) {
    size_t n = c->n, k = c->n_key, P0 = c->n_patterns, S = c->max_patterns - 1;
    if (P < 1) return engram_fail(ENGRAM_EINVAL, "cache: an episode needs at least 1 pattern");
    if (P0 + P > c->max_patterns)
        return engram_fail(ENGRAM_ERANGE, "cache: episode of %zu patterns exceeds capacity %zu",
                           P, c->max_patterns - P0);
    double sum_k = 0, sum_o = 0;
    for (size_t i = 0; i < P * n; i++)
        if (xi[i] != 1.0 && xi[i] != -1.0)
            return engram_fail(ENGRAM_EINVAL, "cache: patterns must hold +-1 values");
    /* the same sums in the same order as one pass over i = p n + j */
    for (size_t q = 0; q < P; q++) {
        const double *x = xi + q * n;
        for (size_t j = 0; j < k; j++) sum_k += x[j];
        for (size_t j = k; j < n; j++) sum_o += x[j];
    }
    c->rho = sum_k / (double)(P * k);
    c->rho_out = n > k ? sum_o / (double)(P * (n - k)) : c->rho;
    double *post = c->post + P0 * n;
    for (size_t q = 0; q < P; q++) {
        const double *x = xi + q * n;
        double *o = post + q * n;
        for (size_t j = 0; j < k; j++) o[j] = x[j] - c->rho;
        for (size_t j = k; j < n; j++) o[j] = x[j] - c->rho_out;
    }
    /* the link from the previous episode's last pattern to this one's first is empty */
    if (P0 > 0) {
        for (size_t i = 0; i < k; i++) { c->key[(P0 - 1) * k + i] = 0; c->key_t[i * S + P0 - 1] = 0; }
        c->par[P0 - 1] = 0;
    }
    for (size_t t = 0; t + 1 < P; t++) {
        size_t g = P0 + t;
        for (size_t i = 0; i < k; i++) {
            double v = post[t * n + i] + post[(t + 1) * n + i];
            c->key[g * k + i] = v;
            c->key_t[i * S + g] = v;
        }
        c->par[g] = (int)(t % 2); /* even transitions in W2, odd in W1, per episode */
    }
    memcpy(c->cue, xi, n * sizeof(double));
    memcpy(c->cue + n, xi + (P - 1) * n, n * sizeof(double));
    c->n_patterns = P0 + P;
    c->ep_start = P0;
    c->ep_len = P;
    c->t_done = 0;
    return ENGRAM_OK;
}

/* Stores an episode one-shot in both matrix pairs (factored form), replacing the last. */
int cache_store(cache *c, const double *xi, size_t n_patterns) {
    c->n_patterns = 0;
    c->n_episodes = 0;
    int st = store_at(c, xi, n_patterns);
    if (st == ENGRAM_OK) c->n_episodes = 1;
    return st;
}

/* Adds an episode one-shot to the stored ones (content-addressed recall from a cue). */
int cache_append(cache *c, const double *xi, size_t n_patterns) {
    int st = store_at(c, xi, n_patterns);
    if (st == ENGRAM_OK) c->n_episodes++;
    return st;
}

/* Index of the transition replayed as the k-th of the current replay. */
static size_t transition_of(const cache *c, size_t k) {
    return c->dir == CACHE_REVERSE ? c->ep_start + c->ep_len - 2 - k : c->ep_start + k;
}

/* Recomputes every key overlap k_t . s in full (four partial sums per product, in a
 * fixed order, so results do not depend on the machine's vector width). */
static void dots_full(cache *c) {
    if (c->n_patterns < 1) return;
    size_t kk = c->n_key, T = c->n_patterns - 1;
    for (size_t t = 0; t < T; t++) {
        const double *key = c->key + t * kk;
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        size_t i = 0;
        for (; i + 4 <= kk; i += 4) {
            a0 += key[i] * c->s[i];
            a1 += key[i + 1] * c->s[i + 1];
            a2 += key[i + 2] * c->s[i + 2];
            a3 += key[i + 3] * c->s[i + 3];
        }
        for (; i < kk; i++) a0 += key[i] * c->s[i];
        c->dots[t] = (a0 + a1) + (a2 + a3);
    }
    c->u_lam = NAN;
}

/* u = W(lam) s for the current direction, where lam weighs W2 (even transitions);
 * recomputed only if s or lam changed since the last call. */
static void drive_current(cache *c, double lam) {
    if (c->u_lam == lam) return;
    size_t n = c->n, kk = c->n_key, T = c->n_patterns - 1;
    for (size_t t = 0; t < T; t++) {
        double w = c->par[t] == 0 ? lam : 1.0 - lam;
        c->coef[t] = w == 0.0 ? 0.0 : w * c->dots[t] / (double)kk;
    }
    memset(c->u, 0, n * sizeof(double));
    for (size_t t = 0; t < T; t++) {
        double a = c->coef[t];
        if (a == 0.0) continue;
        const double *post = c->post + (c->dir == CACHE_REVERSE ? t : t + 1) * n;
        double *u = c->u;
        CACHE_SIMD
        for (size_t i = 0; i < n; i++) u[i] += a * post[i];
    }
    c->u_lam = lam;
}

/* One leaky step h <- (1-1/tau) h + (1/tau) W(lam) sgn(h); s = sgn(h). Updates the key
 * overlaps of flipped key units and records the raster row if recording. */
static void dyn_step(cache *c, double lam) {
    size_t n = c->n, kk = c->n_key, T = c->n_patterns - 1;
    drive_current(c, lam);
    double k = 1.0 / c->p.tau;
    int flipped = 0;
    double *h = c->h;
    const double *u = c->u;
    CACHE_SIMD
    for (size_t i = 0; i < n; i++) h[i] = (1.0 - k) * h[i] + k * u[i];
    for (size_t i = 0; i < n; i++) {
        double s_new = h[i] >= 0 ? 1.0 : -1.0;
        if (s_new != c->s[i]) {
            flipped = 1;
            if (i < kk) {
                const double *kt = c->key_t + i * (c->max_patterns - 1);
                double ds = s_new - c->s[i];
                for (size_t t = 0; t < T; t++) c->dots[t] += kt[t] * ds;
            }
            c->s[i] = s_new;
        }
    }
    if (flipped) c->u_lam = NAN;
    c->j++;
    c->total_steps++;
    if (c->raster && c->raster_len < c->raster_cap) {
        double *row = c->raster + c->raster_len * c->max_patterns;
        for (size_t q = 0; q < c->max_patterns; q++) row[q] = NAN;
        cache_overlaps(c, c->s, row);
        c->raster_len++;
    }
}

/* Starts a replay from the cue of direction dir (last or first pattern). */
void cache_replay_begin(cache *c, cache_dir dir, double *out) {
    size_t n = c->n;
    c->cued = 0;
    c->dir = dir;
    c->t_done = 0;
    c->j = 0;
    memcpy(c->h, c->cue + (dir == CACHE_REVERSE ? n : 0), n * sizeof(double));
    for (size_t i = 0; i < n; i++) c->s[i] = c->h[i] >= 0 ? 1.0 : -1.0;
    dots_full(c);
    if (out) memcpy(out, c->s, n * sizeof(double));
}

/* Starts a content-addressed replay from an arbitrary cue (N,) of +-1 values, for
 * n_transitions transitions, the first of which is held by matrix W2 (parity 0) or W1. */
void cache_replay_cue(cache *c, cache_dir dir, const double *cue, size_t n_transitions, int parity0) {
    size_t n = c->n;
    c->dir = dir;
    c->t_done = 0;
    c->j = 0;
    /* a virtual episode: transition_of() then yields indices whose parity alternates
     * from parity0; only the parity is used by the pump, the recall is the network's */
    c->ep_len = n_transitions + 1;
    c->ep_start = 0;
    c->cue_parity = parity0;
    c->cued = 1;
    memcpy(c->h, cue, n * sizeof(double));
    for (size_t i = 0; i < n; i++) c->s[i] = c->h[i] >= 0 ? 1.0 : -1.0;
    dots_full(c);
}

/* Pumps one half-cycle and writes the recalled pattern; ERANGE after the last one. */
int cache_replay_next(cache *c, double *out) {
    size_t n = c->n;
    if (c->n_patterns < 1 || c->t_done + 1 >= c->ep_len) return ENGRAM_ERANGE;
    size_t t = transition_of(c, c->t_done);
    int par = c->cued ? (int)((c->cue_parity + c->t_done) % 2) : c->par[t];
    double lam_target = par == 0 ? 1.0 : 0.0; /* lam at which W(lam) = matrix of t */
    size_t steps = c->p.steps;
    if (c->p.drive == CACHE_DRIVE_EXTERNAL) {
        /* Half-cycle centred on the target matrix's peak: its weight goes
         * 0.5 -> 1 -> 0.5 along a cosine. */
        for (size_t q = 0; q < steps; q++) {
            double theta = M_PI * ((double)q + 0.5) / (double)steps - M_PI / 2;
            double w = 0.5 * (1.0 + cos(theta));
            dyn_step(c, lam_target == 1.0 ? w : 1.0 - w);
        }
    } else {
        int moved = 0;
        size_t quiet = 0, settle = c->p.settle ? c->p.settle : 1;
        for (size_t q = 0; q < steps; q++) {
            memcpy(c->s_old, c->s, n * sizeof(double));
            dyn_step(c, lam_target);
            int same = memcmp(c->s_old, c->s, n * sizeof(double)) == 0;
            if (!same) { moved = 1; quiet = 0; }
            else if (moved && ++quiet >= settle) break;
        }
    }
    c->t_done++;
    if (out) memcpy(out, c->s, n * sizeof(double));
    return ENGRAM_OK;
}

/* Writes the fraction of units on which s agrees with each stored pattern. */
void cache_overlaps(const cache *c, const double *s, double *ov) {
    size_t n = c->n;
    for (size_t q = 0; q < c->n_patterns; q++) {
        const double *p = c->post + q * n;
        size_t agree = 0;
        for (size_t i = 0; i < n; i++)
            agree += ((p[i] + (i < c->n_key ? c->rho : c->rho_out)) > 0) == (s[i] > 0);
        ov[q] = (double)agree / (double)n;
    }
}

/* Materialises one of the four matrices densely (for tests). */
void cache_weights(const cache *c, cache_dir dir, int which, double *w) {
    size_t n = c->n, kk = c->n_key;
    memset(w, 0, n * n * sizeof(double));
    for (size_t t = 0; t + 1 < c->n_patterns; t++) {
        int m = c->par[t] == 0 ? 2 : 1;
        if (m != which) continue;
        const double *post = c->post + (dir == CACHE_REVERSE ? t : t + 1) * n;
        const double *key = c->key + t * kk;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < kk; k++) w[i * n + k] += post[i] * key[k] / (double)kk;
    }
}

/* Starts (buf != NULL) or stops recording the overlap raster. */
void cache_record(cache *c, double *buf, size_t cap) {
    c->raster = buf;
    c->raster_cap = buf ? cap : 0;
    c->raster_len = 0;
}

/* Stores n_ep random episodes and recalls each from its first pattern (see cache.h). */
int cache_capacity_trial(size_t n, size_t n_ep, size_t len, const cache_params *p, gsl_rng *r,
                         double min_overlap, double *step_err, double *ep_err) {
    if (n_ep < 1 || len < 2)
        return engram_fail(ENGRAM_EINVAL, "cache: capacity trial needs >= 1 episode of >= 2 patterns");
    cache *c = cache_alloc(n, n, n_ep * len, p);
    double *xi = malloc(n_ep * len * n * sizeof(double)), *s = malloc(n * sizeof(double));
    if (!c || !xi || !s) {
        cache_free(c); free(xi); free(s);
        return engram_fail(ENGRAM_ENOMEM, "cache: out of memory");
    }
    /* exp6 patterns: exactly 40 % of the units at +1, independent draws */
    size_t k = (size_t)floor(0.4 * (double)n + 0.5);
    for (size_t q = 0; q < n_ep * len; q++) {
        double *v = xi + q * n;
        for (size_t i = 0; i < n; i++) v[i] = i < k ? 1.0 : -1.0;
        gsl_ran_shuffle(r, v, n, sizeof(double));
    }
    int st = ENGRAM_OK;
    for (size_t e = 0; e < n_ep && st == ENGRAM_OK; e++) st = cache_append(c, xi + e * len * n, len);
    size_t bad_steps = 0, bad_eps = 0;
    for (size_t e = 0; e < n_ep && st == ENGRAM_OK; e++) {
        cache_replay_cue(c, CACHE_FORWARD, xi + e * len * n, len - 1, 0);
        int ep_bad = 0;
        for (size_t t = 1; t < len; t++) {
            cache_replay_next(c, s);
            const double *want = xi + (e * len + t) * n;
            size_t agree = 0;
            for (size_t i = 0; i < n; i++) agree += (s[i] > 0) == (want[i] > 0);
            if ((double)agree / (double)n < min_overlap) { bad_steps++; ep_bad = 1; }
        }
        bad_eps += (size_t)ep_bad;
    }
    *step_err = (double)bad_steps / (double)(n_ep * (len - 1));
    *ep_err = (double)bad_eps / (double)n_ep;
    cache_free(c); free(xi); free(s);
    return st;
}
