/* learner_r2n2.c: the R2N2 replay learner (train.rule = r2n2): a consolidator trained
 * by reverse replay, fed by the Hopfield cache.
 *
 * One call to train() processes the batch item by item; each item is one experienced
 * episode and gives one forward replay, one reverse replay and one Adam step (§3: one
 * update per sequence). With r2n2.cache = on (default):
 *   1. The episode is encoded as P = T patterns of +-1 values and stored one-shot in
 *      the cache (cache.h). Pattern t = [context code of step t (n_ctx units, fixed
 *      random, 40 % active) | for each bit j of the step's symbol, a block of
 *      r2n2.cache_bits units equal to +c_j if the bit is 1 and -c_j if it is 0]. The
 *      symbol's bits are the step's input x_t (I), target y_t (O) and mask m_t (1), each
 *      thresholded at 0.5, so the cache handles any task whose inputs, targets and mask
 *      are 0/1 up to r2n2.binary_tol (input noise below it is removed by the code).
 *      The context units are the cache's key units (cache.h). A bit is decoded by the
 *      sign of the correlation of its block with c_j (nearest codeword).
 *   2. Forward replay: the cache, cued with the episode's first pattern, replays it
 *      forward; each recalled pattern is decoded on the fly and drives one forward
 *      step of the consolidator (outputs and loss). Only the final state is kept.
 *   3. Reverse replay: the cache, cued with the last pattern, replays the episode
 *      backward; each recalled pattern supplies x_t, y_t and m_t of one reverse step
 *      (reconstruction, error, weight increments).
 *   4. One Adam step on the summed increments divided by the number of counted steps.
 * A replay whose decoded sequence differs anywhere from the experienced one (inputs,
 * targets or mask, after thresholding) is a recall failure: it is counted, reported as
 * the extra diagnostic `recall_fail` (fraction of the batch) and, with
 * r2n2.recall_fail = train, trained on as recalled; with skip, its Adam step is
 * dropped (counted as skipped). There is no fallback to the true sequence.
 * With r2n2.cache = off the batch is replayed directly (the released code's setting).
 *
 * Initial state: each unit starts at clip(N(0, 3), -h0, h0), redrawn per trial (stream
 * "noise"). The released code uses h0 = 0.2; engram's default is h0 = 0 (a zero
 * state), because with random initial states the AnBn test accuracy of a trained
 * network fluctuates from run to run between 0.5 and 1 (the test sequences also start
 * from random states), while with h0 = 0 five seeds of `engram run anbn --set
 * train.rule=r2n2` all end at 1.0.
 * Backward weights: r2n2.backward = learned fits them by regression on the current
 * forward replay only (W changes after every replay), so it needs replays of at least
 * n_h + 1 steps and refuses shorter ones (ENGRAM_EINVAL).
 *
 * Optimiser: one Adam over the consolidator's flat parameter block. Adam acts element
 * by element, so this equals the released code's one Adam per matrix; eps = 1e-7 as in
 * numpy_ml. r2n2.out_lr_scale multiplies the W_BO gradient (scaling_out_lr).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/optim.h"
#include "engram/rng.h"
#include "engram/r2n2.h"

const cfg_key r2n2_keys[] = {
    {"r2n2.n_h", CFG_INT, "32", 1, 4096, NULL, "units in each of the populations A and B"},
    {"r2n2.tau", CFG_REAL, "10", 1.5, 1000, NULL, "membrane time constant (steps)"},
    {"r2n2.g_forward", CFG_REAL, "1.5", 0, 10, NULL, "gain of W_AB and W_BA at initialisation"},
    {"r2n2.g_backward", CFG_REAL, "1.0", 0, 10, NULL, "gain of the random feedback matrices (fa)"},
    {"r2n2.lr", CFG_REAL, "0", 0, 1, NULL,
     "Adam learning rate; 0 = train.lr. When > 0 it replaces train.lr, and a train.lr other "
     "than its default 0.01 is refused"},
    {"r2n2.clip_norm", CFG_REAL, "0", 0, 1e12, NULL,
     "rescale each replay's summed update to this L2 norm at most (0 = off)"},
    {"r2n2.out_lr_scale", CFG_REAL, "1", 0, 1000, NULL, "multiplier of the W_BO gradient"},
    {"r2n2.feedback", CFG_ENUM, "fa", 0, 0, "fa|bptt",
     "error feedback: fixed random matrices (fa) or transposed weights (bptt, exact BPTT)"},
    {"r2n2.carry", CFG_ENUM, "exact", 0, 0, "exact|released",
     "carried error: exact recursion or the released code's carry"},
    {"r2n2.backward", CFG_ENUM, "negative", 0, 0, "negative|learned",
     "backward weights: -W, or learned by local regression on the forward replay"},
    {"r2n2.max_replay_len", CFG_INT, "0", 0, 1e9, NULL,
     "longest replay accepted (0 = any; the reconstruction error is checked instead)"},
    {"r2n2.reversal", CFG_ENUM, "float", 0, 0, "float|fixed|segmented",
     "reverse replay: double precision, exact fixed point with an information buffer, or "
     "segments of r2n2.segment steps re-run forward from the known start"},
    {"r2n2.segment", CFG_INT, "50", 1, 1e9, NULL, "segmented: steps per reverse segment"},
    {"r2n2.recon_tol", CFG_REAL, "1e-3", 0, 1e300, NULL,
     "a replay whose reverse pass ends farther than this from its start fails the run"},
    {"r2n2.h0", CFG_REAL, "0", 0, 10, NULL,
     "initial state: clip(N(0, 3), -h0, h0) per unit and trial (released code: 0.2)"},
    {"r2n2.cache", CFG_BOOL, "true", 0, 0, NULL,
     "replay episodes from the Hopfield cache (false: from the batch directly)"},
    {"r2n2.cache_address", CFG_ENUM, "time", 0, 0, "time|content",
     "cache keys: a fixed context code per time step shared by all episodes (time), or every "
     "unit presynaptic with a fresh drifting context code per episode (content; recall can fail)"},
    {"r2n2.cache_drift", CFG_REAL, "0.1", 0, 1, NULL,
     "content: fraction of context units redrawn from one step to the next"},
    {"r2n2.cache_context", CFG_INT, "600", 8, 20000, NULL, "cache context (key) units"},
    {"r2n2.cache_bits", CFG_INT, "9", 1, 99, NULL, "cache units per symbol bit"},
    {"r2n2.cache_drive", CFG_ENUM, "self", 0, 0, "self|external", "cache pump: self-timed or external"},
    {"r2n2.cache_steps", CFG_INT, "30", 1, 1000, NULL,
     "cache steps per half-cycle (external) or at most (self)"},
    {"r2n2.cache_tau", CFG_REAL, "6", 1, 100, NULL, "cache leak time constant (steps)"},
    {"r2n2.binary_tol", CFG_REAL, "0.25", 0, 0.49, NULL,
     "largest distance from 0/1 of a value the cache encodes"},
    {"r2n2.recall_fail", CFG_ENUM, "train", 0, 0, "train|skip",
     "after a failed cache recall: train on the recalled sequence, or skip the update"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct learner {
    r2n2_net *net;
    optim *opt;
    cache *cache;
    gsl_rng *noise;           /* initial states */
    gsl_rng *ctx_rng;         /* content addressing: per-episode context codes */
    double drift;
    size_t n_in, n_out, n_h, max_len;
    int xent, skip_on_fail, learned, reversal;
    size_t segment;
    double recon_tol, last_recon, last_bits;
    double *xf, *xr, *yr, *mr, *s0; /* (T, I) (T, I) (T, O) (T,) recalled; (2N,) start */
    double err_k;                   /* 1 / counted steps of the current replay */
    double h0, binary_tol, out_lr_scale;
    /* cache encoding */
    size_t n_ctx, bits, n_sym, n_cache, t_cap;
    double *codes;            /* (n_sym, bits) +-1 */
    double *ctx;              /* (t_cap, n_ctx) +-1 */
    double *xi;               /* (t_cap, n_cache) */
    double *pat;              /* (n_cache,) */
    double *xd, *yd;          /* decoded step (I,), (O,) */
    double *o, *e, *st;       /* (O,), (O,), (2N,) */
    double *of;               /* (T, O) item 0's forward-replay outputs */
    size_t of_len;
    int of_on;
    r2n2_counts counts;
    double last_fail;
};

static void l_free(learner *l) {
    if (!l) return;
    r2n2_free(l->net);
    optim_free(l->opt);
    cache_free(l->cache);
    if (l->noise) gsl_rng_free(l->noise);
    if (l->ctx_rng) gsl_rng_free(l->ctx_rng);
    free(l->codes);
    free(l->ctx);
    free(l->xi);
    free(l->pat);
    free(l->xd);
    free(l->yd);
    free(l->o);
    free(l->of);
    free(l->e);
    free(l->st);
    free(l->xf);
    free(l->xr);
    free(l->yr);
    free(l->mr);
    free(l->s0);
    free(l);
}

/* Fills v (n,) with +-1, exactly round(frac * n) entries +1 at random places. */
static void sparse_code(double *v, size_t n, double frac, gsl_rng *r) {
    size_t k = (size_t)floor(frac * (double)n + 0.5);
    for (size_t i = 0; i < n; i++) v[i] = i < k ? 1.0 : -1.0;
    gsl_ran_shuffle(r, v, n, sizeof(double));
}

static learner *l_alloc(const config *cfg, size_t n_in, size_t n_out, size_t t_max,
                        uint64_t seed) {
    if (config_has(cfg, "run.precision") && strcmp(config_str(cfg, "run.precision"), "float64") != 0) {
        engram_fail(ENGRAM_EINVAL, "r2n2: run.precision = %s is not supported (the reverse "
                    "replay is exact in float64 only)", config_str(cfg, "run.precision"));
        return NULL;
    }
    learner *l = calloc(1, sizeof *l);
    if (!l) { engram_fail(ENGRAM_ENOMEM, "r2n2: out of memory"); return NULL; }
    l->n_in = n_in;
    l->n_out = n_out;
    l->n_h = (size_t)config_int(cfg, "r2n2.n_h");
    l->max_len = (size_t)config_int(cfg, "r2n2.max_replay_len");
    if (l->max_len > 0 && t_max > l->max_len) {
        engram_fail(ENGRAM_ERANGE, "r2n2: trials of up to %zu steps exceed r2n2.max_replay_len = "
                    "%zu; reverse replay reconstructs past states exactly only up to ~100-120 "
                    "steps in double precision (shorten the task, or set r2n2.reversal = fixed "
                    "or segmented)", t_max, l->max_len);
        l_free(l);
        return NULL;
    }
    l->xent = config_has(cfg, "train.loss") && strcmp(config_str(cfg, "train.loss"), "xent") == 0;
    l->skip_on_fail = strcmp(config_str(cfg, "r2n2.recall_fail"), "skip") == 0;
    l->learned = strcmp(config_str(cfg, "r2n2.backward"), "learned") == 0;
    l->h0 = config_real(cfg, "r2n2.h0");
    const char *rev = config_str(cfg, "r2n2.reversal");
    l->reversal = strcmp(rev, "fixed") == 0 ? R2N2_REVERSAL_FIXED
                  : strcmp(rev, "segmented") == 0 ? R2N2_REVERSAL_SEGMENTED : R2N2_REVERSAL_FLOAT;
    l->segment = l->reversal == R2N2_REVERSAL_SEGMENTED ? (size_t)config_int(cfg, "r2n2.segment") : 0;
    l->recon_tol = config_real(cfg, "r2n2.recon_tol");
    l->last_bits = NAN;
    if (l->learned && l->reversal == R2N2_REVERSAL_FIXED) {
        engram_fail(ENGRAM_EINVAL, "r2n2: r2n2.reversal = fixed needs r2n2.backward = negative");
        l_free(l);
        return NULL;
    }
    l->binary_tol = config_real(cfg, "r2n2.binary_tol");
    l->out_lr_scale = config_real(cfg, "r2n2.out_lr_scale");
    r2n2_params p = r2n2_defaults();
    p.n_in = n_in;
    p.n_h = l->n_h;
    p.n_out = n_out;
    p.tau = config_real(cfg, "r2n2.tau");
    p.g_forward = config_real(cfg, "r2n2.g_forward");
    p.g_backward = config_real(cfg, "r2n2.g_backward");
    gsl_rng *rw = rng_stream_alloc(seed, "weights", 0);
    if (!rw) { engram_fail(ENGRAM_ENOMEM, "r2n2: out of memory"); l_free(l); return NULL; }
    l->net = r2n2_alloc(&p, rw);
    gsl_rng_free(rw);
    if (!l->net) { l_free(l); return NULL; }
    l->net->feedback = strcmp(config_str(cfg, "r2n2.feedback"), "bptt") == 0
                           ? R2N2_FEEDBACK_BPTT : R2N2_FEEDBACK_FA;
    l->net->carry = strcmp(config_str(cfg, "r2n2.carry"), "released") == 0
                        ? R2N2_CARRY_RELEASED : R2N2_CARRY_EXACT;
    if (l->reversal == R2N2_REVERSAL_FIXED && r2n2_fixed_enable(l->net, t_max) != ENGRAM_OK) {
        l_free(l);
        return NULL;
    }
    optim_params op = optim_defaults(OPTIM_ADAM);
    /* one learning-rate key per run: r2n2.lr when set (> 0), otherwise train.lr (a preset
     * comparing rules sets both, train.lr for the rate RNNs; the CLI refuses a --set
     * train.lr that r2n2.lr would silently override) */
    double lr_r = config_real(cfg, "r2n2.lr"), lr_t = config_has(cfg, "train.lr")
                                                          ? config_real(cfg, "train.lr") : 0;
    op.lr = lr_r > 0 ? lr_r : lr_t > 0 ? lr_t : 1e-3;
    op.eps = 1e-7;
    op.clip_norm = config_real(cfg, "r2n2.clip_norm");
    if (optim_schedule_config(cfg, &op) != ENGRAM_OK) { l_free(l); return NULL; }
    l->opt = optim_alloc(&op, l->net->n_params);
    l->noise = rng_stream_alloc(seed, "noise", 0);
    l->o = calloc(n_out, sizeof(double));
    l->e = calloc(n_out, sizeof(double));
    l->st = calloc(2 * l->n_h, sizeof(double));
    l->xd = calloc(n_in, sizeof(double));
    l->yd = calloc(n_out, sizeof(double));
    size_t tc = t_max ? t_max : 1;
    l->xf = calloc(tc * n_in, sizeof(double));
    l->xr = calloc(tc * n_in, sizeof(double));
    l->yr = calloc(tc * n_out, sizeof(double));
    l->mr = calloc(tc, sizeof(double));
    l->of = calloc(tc * n_out, sizeof(double));
    l->s0 = calloc(2 * l->n_h, sizeof(double));
    if (!l->opt || !l->noise || !l->o || !l->of || !l->e || !l->st || !l->xd || !l->yd || !l->xf ||
        !l->xr || !l->yr || !l->mr || !l->s0)
        goto nomem;
    if (config_bool(cfg, "r2n2.cache")) {
        l->n_ctx = (size_t)config_int(cfg, "r2n2.cache_context");
        l->bits = (size_t)config_int(cfg, "r2n2.cache_bits");
        l->n_sym = n_in + n_out + 1;
        l->n_cache = l->n_ctx + l->n_sym * l->bits;
        l->t_cap = t_max;
        cache_params cp = cache_defaults();
        cp.tau = config_real(cfg, "r2n2.cache_tau");
        cp.steps = (size_t)config_int(cfg, "r2n2.cache_steps");
        cp.drive = strcmp(config_str(cfg, "r2n2.cache_drive"), "external") == 0
                       ? CACHE_DRIVE_EXTERNAL : CACHE_DRIVE_SELF;
        int content = strcmp(config_str(cfg, "r2n2.cache_address"), "content") == 0;
        l->drift = config_real(cfg, "r2n2.cache_drift");
        if (content) {
            l->ctx_rng = rng_stream_alloc(seed, "cache_context", 0);
            if (!l->ctx_rng) goto nomem;
        }
        l->cache = cache_alloc(l->n_cache, content ? l->n_cache : l->n_ctx, t_max < 2 ? 2 : t_max, &cp);
        if (!l->cache) { l_free(l); return NULL; }
        l->codes = calloc(l->n_sym * l->bits, sizeof(double));
        l->ctx = calloc(t_max * l->n_ctx, sizeof(double));
        l->xi = calloc(t_max * l->n_cache, sizeof(double));
        l->pat = calloc(l->n_cache, sizeof(double));
        if (!l->codes || !l->ctx || !l->xi || !l->pat) goto nomem;
        gsl_rng *rc = rng_stream_alloc(seed, "cache", 0);
        if (!rc) goto nomem;
        for (size_t j = 0; j < l->n_sym; j++) sparse_code(l->codes + j * l->bits, l->bits, 0.4, rc);
        for (size_t t = 0; t < t_max; t++) sparse_code(l->ctx + t * l->n_ctx, l->n_ctx, 0.4, rc);
        gsl_rng_free(rc);
    }
    return l;
nomem:
    engram_fail(ENGRAM_ENOMEM, "r2n2: out of memory");
    l_free(l);
    return NULL;
}

/* Content addressing: a fresh context code for this episode (40 % active), each step
 * drawn from the previous one by redrawing a fraction r2n2.cache_drift of its units,
 * so no code is shared across episodes and nearby steps have similar codes. */
static void draw_context(learner *l, size_t T) {
    size_t K = l->n_ctx;
    sparse_code(l->ctx, K, 0.4, l->ctx_rng);
    for (size_t t = 1; t < T; t++) {
        double *c = l->ctx + t * K;
        memcpy(c, c - K, K * sizeof(double));
        for (size_t i = 0; i < K; i++)
            if (gsl_rng_uniform(l->ctx_rng) < l->drift) c[i] = gsl_rng_uniform(l->ctx_rng) < 0.4 ? 1.0 : -1.0;
    }
}

static double bit01(double v) { return v > 0.5 ? 1.0 : 0.0; }

/* Encodes step t (x (I,), y (O,), m) into pattern out (n_cache,). */
static void encode_step(const learner *l, size_t t, const double *x, const double *y, double m,
                        double *out) {
    memcpy(out, l->ctx + t * l->n_ctx, l->n_ctx * sizeof(double));
    double *sym = out + l->n_ctx;
    for (size_t j = 0; j < l->n_sym; j++) {
        double v = j < l->n_in ? x[j] : j < l->n_in + l->n_out ? y[j - l->n_in] : m;
        double sgn = bit01(v) > 0 ? 1.0 : -1.0;
        const double *c = l->codes + j * l->bits;
        for (size_t k = 0; k < l->bits; k++) sym[j * l->bits + k] = sgn * c[k];
    }
}

/* Decodes pattern s into l->xd, l->yd and *m; returns 1 if it differs from the
 * thresholded true step (x, y, m_true). */
static int decode_step(learner *l, const double *s, const double *x, const double *y,
                       double m_true, double *m) {
    const double *sym = s + l->n_ctx;
    int differs = 0;
    for (size_t j = 0; j < l->n_sym; j++) {
        const double *c = l->codes + j * l->bits;
        double corr = 0;
        for (size_t k = 0; k < l->bits; k++) corr += c[k] * sym[j * l->bits + k];
        double v = corr > 0 ? 1.0 : 0.0;
        double truth;
        if (j < l->n_in) { l->xd[j] = v; truth = x[j]; }
        else if (j < l->n_in + l->n_out) { l->yd[j - l->n_in] = v; truth = y[j - l->n_in]; }
        else { *m = v; truth = m_true; }
        if (v != bit01(truth)) differs = 1;
    }
    return differs;
}

/* Loss of output o against y and the error e = dL/do scaled by k (0.5 ||o-y||^2 or
 * softmax cross-entropy). */
static double loss_and_error(const learner *l, const double *o, const double *y, double k,
                             double *e) {
    size_t O = l->n_out;
    double loss = 0;
    if (l->xent) {
        double mx = o[0];
        for (size_t i = 1; i < O; i++) if (o[i] > mx) mx = o[i];
        double z = 0;
        for (size_t i = 0; i < O; i++) z += exp(o[i] - mx);
        for (size_t i = 0; i < O; i++) {
            double lp = o[i] - mx - log(z);
            loss -= y[i] * lp;
            if (e) e[i] = k * (exp(lp) - y[i]);
        }
    } else {
        for (size_t i = 0; i < O; i++) {
            double d = o[i] - y[i];
            loss += 0.5 * d * d;
            if (e) e[i] = k * d;
        }
    }
    return loss;
}

static int is_binary(const double *v, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs(v[i]) <= tol || fabs(v[i] - 1.0) <= tol)) return 0;
    return 1;
}

static void draw_initial(learner *l) {
    size_t N = l->n_h;
    for (size_t i = 0; i < 2 * N; i++) {
        double v = gsl_ran_gaussian(l->noise, 3.0);
        if (v > l->h0) v = l->h0;
        if (v < -l->h0) v = -l->h0;
        l->st[i] = v;
    }
    r2n2_set_state(l->net, l->st, l->st + N);
    memcpy(l->s0, l->net->a, N * sizeof(double));
    memcpy(l->s0 + N, l->net->b, N * sizeof(double));
}

/* Output error of reverse step t from the recalled targets and mask. */
static void replay_error(void *ctx, size_t t, const double *o, double *e) {
    learner *l = ctx;
    size_t O = l->n_out;
    double mt = l->mr[t];
    if (mt != 0) loss_and_error(l, o, l->yr + t * O, l->err_k * mt, e);
    else memset(e, 0, O * sizeof(double));
}

/* One replay (forward + reverse with learning + Adam step) of trial (x, y, m) of
 * length T. Adds the loss and the counted steps; sets *failed on a recall failure. */
static int replay_one(learner *l, const double *x, const double *y, const double *m, size_t T,
                      double *loss_sum, double *count_sum, int *failed) {
    size_t I = l->n_in, O = l->n_out;
    r2n2_net *net = l->net;
    int use_cache = l->cache != NULL;
    *failed = 0;
    if (l->max_len > 0 && T > l->max_len)
        return engram_fail(ENGRAM_ERANGE, "r2n2: a replay of %zu steps exceeds "
                           "r2n2.max_replay_len = %zu", T, l->max_len);
    if (use_cache) {
        if (!is_binary(x, T * I, l->binary_tol) || !is_binary(y, T * O, l->binary_tol) ||
            !is_binary(m, T, l->binary_tol))
            return engram_fail(ENGRAM_EINVAL, "r2n2: the cache encodes 0/1 inputs, targets "
                               "and masks only (within r2n2.binary_tol); set r2n2.cache=false "
                               "for this task");
        if (l->ctx_rng) draw_context(l, T);
        for (size_t t = 0; t < T; t++)
            encode_step(l, t, x + t * I, y + t * O, m[t], l->xi + t * l->n_cache);
        int st = cache_store(l->cache, l->xi, T);
        if (st != ENGRAM_OK) return st;
    }
    draw_initial(l);
    if (l->learned) r2n2_backward_collect_begin(net);
    /* forward replay */
    double loss = 0, count = 0, md = 0;
    if (use_cache) cache_replay_begin(l->cache, CACHE_FORWARD, l->pat);
    for (size_t t = 0; t < T; t++) {
        const double *xt = x + t * I, *yt = y + t * O;
        double mt = m[t];
        if (use_cache) {
            if (t > 0) cache_replay_next(l->cache, l->pat);
            if (decode_step(l, l->pat, xt, yt, m[t], &md)) *failed = 1;
            xt = l->xd;
            yt = l->yd;
            mt = md;
        }
        memcpy(l->xf + t * I, xt, I * sizeof(double));
        r2n2_forward_step(net, xt, l->o);
        if (l->of_on) memcpy(l->of + t * O, l->o, O * sizeof(double));
        if (mt != 0) {
            loss += mt * loss_and_error(l, l->o, yt, 0, NULL);
            count += mt;
        }
    }
    l->counts.fwd_replays++;
    if (!engram_all_finite(net->a, l->n_h) || !engram_all_finite(net->b, l->n_h))
        return engram_fail(ENGRAM_EDIVERGED, "r2n2: non-finite state in the forward replay");
    /* reverse replay with learning */
    if (l->learned) {
        int st = r2n2_backward_solve(net);
        if (st != ENGRAM_OK) return st;
    } else {
        r2n2_backward_reset(net);
    }
    l->err_k = count > 0 ? 1.0 / count : 0.0;
    /* the reverse replay's inputs, targets and mask: the cache's reverse recall, or the
     * episode itself */
    if (use_cache) cache_replay_begin(l->cache, CACHE_REVERSE, l->pat);
    for (size_t tt = T; tt-- > 0;) {
        const double *xt = x + tt * I, *yt = y + tt * O;
        double mt = m[tt];
        if (use_cache) {
            if (tt < T - 1) cache_replay_next(l->cache, l->pat);
            if (decode_step(l, l->pat, xt, yt, m[tt], &md)) *failed = 1;
            xt = l->xd;
            yt = l->yd;
            mt = md;
        }
        memcpy(l->xr + tt * I, xt, I * sizeof(double));
        memcpy(l->yr + tt * O, yt, O * sizeof(double));
        l->mr[tt] = mt;
    }
    l->last_bits = l->reversal == R2N2_REVERSAL_FIXED
                       ? r2n2_fixed_bits(net) / (double)(2 * l->n_h * T) : NAN;
    double rec = NAN;
    int rst = r2n2_replay_reverse(net, l->xf, l->xr, T, l->s0, l->segment, replay_error, l, &rec);
    if (rst != ENGRAM_OK) return rst;
    if (!(rec <= l->last_recon)) l->last_recon = rec;
    /* a reverse recall that differs from the forward one moves the reconstruction
     * legitimately (a recall failure, counted); only a faithful one is checked */
    int same_inputs = memcmp(l->xf, l->xr, T * I * sizeof(double)) == 0;
    if (same_inputs && !(rec <= l->recon_tol))
        return engram_fail(ENGRAM_ERANGE, "r2n2: the reverse replay of %zu steps ended %.3g from its "
                           "start (r2n2.recon_tol = %g): the float reversal has lost the past; set "
                           "r2n2.reversal = fixed or segmented", T, rec, l->recon_tol);
    l->counts.rev_replays++;
    if (*failed) l->counts.recall_failures++;
    *loss_sum += loss;
    *count_sum += count;
    if (*failed && l->skip_on_fail) { l->counts.skipped++; return ENGRAM_OK; }
    if (l->out_lr_scale != 1.0)
        for (size_t i = 0; i < O * l->n_h; i++) net->g_bo[i] *= l->out_lr_scale;
    return optim_step(l->opt, net->params, net->grads);
}

static int l_train(learner *l, const trial_batch *b, double *loss, double *extra) {
    size_t I = b->n_in, O = b->n_out, Tm = b->t_max;
    if (I != l->n_in || O != l->n_out)
        return engram_fail(ENGRAM_EINVAL, "r2n2: batch sizes do not match the learner");
    double loss_sum = 0, count_sum = 0;
    size_t fails = 0;
    l->last_recon = 0;
    for (size_t bi = 0; bi < b->n_batch; bi++) {
        int failed = 0;
        l->of_on = bi == 0;
        if (bi == 0) l->of_len = b->len[0];
        int st = replay_one(l, b->x + bi * Tm * I, b->y + bi * Tm * O, b->mask + bi * Tm,
                            b->len[bi], &loss_sum, &count_sum, &failed);
        if (st != ENGRAM_OK) return st;
        fails += (size_t)failed;
    }
    *loss = count_sum > 0 ? loss_sum / count_sum : 0.0;
    l->last_fail = b->n_batch ? (double)fails / (double)b->n_batch : 0.0;
    if (extra) {
        extra[0] = l->last_fail;
        extra[1] = (double)l->counts.fwd_replays;
        extra[2] = (double)l->counts.rev_replays;
        extra[3] = l->last_recon;
    }
    if (!isfinite(*loss)) return engram_fail(ENGRAM_EDIVERGED, "r2n2: non-finite loss");
    return ENGRAM_OK;
}

static size_t l_n_extra(const learner *l) {
    (void)l;
    return 4;
}

static const char *l_extra_name(const learner *l, size_t k) {
    (void)l;
    static const char *names[] = {"recall_fail", "fwd_replays", "rev_replays", "recon_err"};
    return k < 4 ? names[k] : "";
}

static void l_reset(learner *l) { draw_initial(l); }

static void l_step(learner *l, const double *x, double *out) {
    r2n2_forward_step(l->net, x, out);
    if (l->xent) {
        size_t O = l->n_out;
        double mx = out[0], z = 0;
        for (size_t i = 1; i < O; i++) if (out[i] > mx) mx = out[i];
        for (size_t i = 0; i < O; i++) { out[i] = exp(out[i] - mx); z += out[i]; }
        for (size_t i = 0; i < O; i++) out[i] /= z;
    }
}

static const double *l_state(const learner *l, size_t *n) {
    size_t N = l->n_h;
    memcpy(l->st, l->net->a, N * sizeof(double));
    memcpy(l->st + N, l->net->b, N * sizeof(double));
    *n = 2 * N;
    return l->st;
}

static size_t l_blobs(learner *l, ckpt_blob *out, size_t max) {
    size_t n = 0;
    ckpt_blob all[7] = {
        {"r2n2.params", l->net->params, l->net->n_params * sizeof(double)},
        {"r2n2.adam_m", l->opt->m, l->opt->n * sizeof(double)},
        {"r2n2.adam_v", l->opt->v, l->opt->n * sizeof(double)},
        {"r2n2.adam_t", &l->opt->t, sizeof(double)},
        {"r2n2.noise_rng", gsl_rng_state(l->noise), gsl_rng_size(l->noise)},
        {"r2n2.counts", &l->counts, sizeof l->counts},
        {"r2n2.context_rng", l->ctx_rng ? gsl_rng_state(l->ctx_rng) : NULL,
         l->ctx_rng ? gsl_rng_size(l->ctx_rng) : 0},
    };
    size_t n_all = l->ctx_rng ? 7 : 6;
    for (size_t i = 0; i < n_all && n < max; i++) out[n++] = all[i];
    return n;
}

/* Item 0's forward-replay outputs of the last train() (before softmax for xent: the
 * same argmax as l_step). */
static const double *l_train_outputs(const learner *l, size_t *T) {
    *T = l->of_len;
    return l->of;
}

const learner_type learner_r2n2 = {
    "r2n2", l_alloc, l_free, l_train, l_n_extra, l_extra_name,
    l_reset, l_step, l_state, l_blobs, l_train_outputs,
};

/* Returns the learner's consolidator. */
r2n2_net *r2n2_learner_net(learner *l) { return l->net; }

/* Returns the learner's cache, or NULL when r2n2.cache is off. */
cache *r2n2_learner_cache(learner *l) { return l->cache; }

/* Encodes an episode as in training and stores it in the cache without learning. */
int r2n2_learner_store(learner *l, const double *x, const double *y, const double *m, size_t T) {
    size_t I = l->n_in, O = l->n_out;
    if (!l->cache) return engram_fail(ENGRAM_EINVAL, "r2n2: the learner has no cache (r2n2.cache=false)");
    if (T > l->t_cap) return engram_fail(ENGRAM_ERANGE, "r2n2: episode of %zu steps exceeds the cache "
                                         "capacity %zu", T, l->t_cap);
    if (!is_binary(x, T * I, l->binary_tol) || !is_binary(y, T * O, l->binary_tol) ||
        !is_binary(m, T, l->binary_tol))
        return engram_fail(ENGRAM_EINVAL, "r2n2: the cache encodes 0/1 values only");
    if (l->ctx_rng) draw_context(l, T);
    for (size_t t = 0; t < T; t++)
        encode_step(l, t, x + t * I, y + t * O, m[t], l->xi + t * l->n_cache);
    return cache_store(l->cache, l->xi, T);
}

/* Returns the learner's cumulative replay counters. */
r2n2_counts r2n2_learner_counts(const learner *l) { return l->counts; }
