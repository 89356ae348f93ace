/* test_r2n2.c: the R2N2 consolidator (reversal, reverse-pass gradients, released carry,
 * learned backward weights), the Hopfield cache, the r2n2 learner, and the AnBn and
 * T-maze generators. Expected values come from the paper and its released code (Cheng &
 * Brown 2025, CogControlLab/R2N2; § numbers as in r2n2.h) and from independent reference
 * code here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "testhelp.h"
#include "engram/engram.h"
#include "engram/rng.h"
#include "engram/r2n2.h"
#include "engram/cache.h"
#include "engram/tmaze.h"
#include "engram/anbn.h"
#include "engram/config.h"

/* Builds a net with n_h units, gain g, sizes I, O from seed. */
static r2n2_net *make_net(size_t I, size_t N, size_t O, double g, uint64_t seed) {
    r2n2_params p = r2n2_defaults();
    p.n_in = I;
    p.n_h = N;
    p.n_out = O;
    p.g_forward = g;
    gsl_rng *r = rng_stream_alloc(seed, "weights", 0);
    r2n2_net *net = r2n2_alloc(&p, r);
    gsl_rng_free(r);
    return net;
}

/* Runs T forward steps from a random state, then T reverse steps; returns the largest
 * reconstruction error over all earlier states. */
static double reversal_error(size_t T, uint64_t seed) {
    size_t I = 10, N = 32;
    r2n2_net *net = make_net(I, N, 2, 1.5, seed);
    gsl_rng *r = rng_stream_alloc(seed, "data", 0);
    double *x = malloc(T * I * sizeof(double));
    double *sa = malloc((T + 1) * N * sizeof(double)), *sb = malloc((T + 1) * N * sizeof(double));
    for (size_t i = 0; i < T * I; i++) x[i] = 0.5 * gsl_rng_uniform(r);
    for (size_t i = 0; i < N; i++) {
        net->a[i] = fmax(-5, fmin(5, gsl_ran_gaussian(r, 3.0)));
        net->b[i] = fmax(-5, fmin(5, gsl_ran_gaussian(r, 3.0)));
    }
    memcpy(sa, net->a, N * sizeof(double));
    memcpy(sb, net->b, N * sizeof(double));
    for (size_t t = 0; t < T; t++) {
        r2n2_forward_step(net, x + t * I, NULL);
        memcpy(sa + (t + 1) * N, net->a, N * sizeof(double));
        memcpy(sb + (t + 1) * N, net->b, N * sizeof(double));
    }
    double err = 0;
    for (size_t t = T; t-- > 0;) {
        r2n2_reverse_step(net, x + t * I);
        for (size_t i = 0; i < N; i++) {
            double ea = fabs(net->a[i] - sa[t * N + i]), eb = fabs(net->b[i] - sb[t * N + i]);
            if (!(ea <= err)) err = isfinite(ea) ? fmax(err, ea) : INFINITY;
            if (!(eb <= err)) err = isfinite(eb) ? fmax(err, eb) : INFINITY;
        }
    }
    free(x); free(sa); free(sb);
    gsl_rng_free(r);
    r2n2_free(net);
    return err;
}

static void test_reversal(void) {
    double e100 = 0, e200 = 0;
    for (uint64_t s = 1; s <= 3; s++) {
        e100 = fmax(e100, reversal_error(100, s));
        e200 = fmax(e200, reversal_error(200, s));
    }
    CHECK(e100 < 1e-6, "reversal T=100 (n_h 32, gain 1.5, x~U(0,0.5)): max error %.3g < 1e-6 "
          "(note §2.3 measured 5e-7)", e100);
    CHECK(e200 > 1e-3, "reversal T=200 fails as documented (limit ~100-120 steps): max error "
          "%.3g > 1e-3", e200);
}

/* Fixed-point mode: T forward steps from a random state, then T reverse steps; checks
 * every earlier integer state bit for bit. Returns the number of differing units over
 * all steps; *bits_per gets the buffer's bits per unit per step at the end of the
 * forward pass and *left the bits left in the buffers after the reverse pass. */
static size_t fixed_reversal(size_t T, uint64_t seed, double *bits_per, double *left) {
    size_t I = 10, N = 32;
    r2n2_net *net = make_net(I, N, 2, 1.5, seed);
    gsl_rng *r = rng_stream_alloc(seed, "data", 0);
    double *x = malloc(T * I * sizeof(double));
    int64_t *sa = malloc((T + 1) * N * sizeof(int64_t)), *sb = malloc((T + 1) * N * sizeof(int64_t));
    for (size_t i = 0; i < T * I; i++) x[i] = 0.5 * gsl_rng_uniform(r);
    for (size_t i = 0; i < N; i++) {
        net->a[i] = fmax(-5, fmin(5, gsl_ran_gaussian(r, 3.0)));
        net->b[i] = fmax(-5, fmin(5, gsl_ran_gaussian(r, 3.0)));
    }
    size_t bad = r2n2_fixed_enable(net, T) == ENGRAM_OK ? 0 : 1;
    memcpy(sa, net->ia, N * sizeof(int64_t));
    memcpy(sb, net->ib, N * sizeof(int64_t));
    for (size_t t = 0; t < T; t++) {
        r2n2_forward_step(net, x + t * I, NULL);
        memcpy(sa + (t + 1) * N, net->ia, N * sizeof(int64_t));
        memcpy(sb + (t + 1) * N, net->ib, N * sizeof(int64_t));
    }
    *bits_per = r2n2_fixed_bits(net) / (double)(2 * N * T);
    for (size_t t = T; t-- > 0;) {
        r2n2_reverse_step(net, x + t * I);
        for (size_t i = 0; i < N; i++)
            bad += (net->ia[i] != sa[t * N + i]) + (net->ib[i] != sb[t * N + i]);
    }
    *left = r2n2_fixed_bits(net);
    if (r2n2_fixed_status(net) != ENGRAM_OK) bad++;
    free(x); free(sa); free(sb);
    gsl_rng_free(r);
    r2n2_free(net);
    return bad;
}

static void test_reversal_fixed(void) {
    double bits = 0, left = 0;
    size_t bad = fixed_reversal(1000, 7, &bits, &left);
    CHECK(bad == 0, "fixed-point reversal of a T=1000 replay (n_h 32, gain 1.5) is bit-exact at "
          "every step: %zu differing values", bad);
    /* the leak c = 9/10 destroys log2(10/9) = 0.152 bits per unit and step */
    CHECK(fabs(bits - log2(10.0 / 9.0)) < 0.01, "information buffer %.4f bits per unit per step "
          "(log2(10/9) = %.4f)", bits, log2(10.0 / 9.0));
    CHECK(left == 0, "the buffers are empty after the reverse pass (%g bits left)", left);
    size_t N = 32, T = 1000;
    CHECK(bits * 2 * N * T < 2 * N * T * 64 / 100.0, "buffer %.0f bits against %zu bits to store "
          "the states (%.0fx less)", bits * 2 * N * T, 2 * N * T * 64, 64 / bits);
    r2n2_net *net = make_net(10, 8, 2, 1.5, 1);
    net->tau = 10.5;
    CHECK(r2n2_fixed_enable(net, 10) == ENGRAM_EINVAL, "non-integer tau refused: %s", engram_error());
    r2n2_free(net);
}

typedef struct err_ctx { const double *y, *m; size_t O; double cnt; } err_ctx;

static void seq_error(void *ctx, size_t t, const double *o, double *e) {
    const err_ctx *c = ctx;
    for (size_t k = 0; k < c->O; k++) e[k] = c->m[t] * (o[k] - c->y[t * c->O + k]) / c->cnt;
}

/* Reverse replay through r2n2_replay_reverse (segment K, 0 = one pass) from (a0, b0);
 * returns the reconstruction error and writes the gradient to g. */
static double replay_grad_k(r2n2_net *net, const double *s0, const double *x, const double *y,
                            const double *m, size_t T, size_t K, double *g) {
    size_t I = net->n_in, N = net->n_h;
    double cnt = 0;
    r2n2_set_state(net, s0, s0 + N);
    for (size_t t = 0; t < T; t++) { r2n2_forward_step(net, x + t * I, NULL); cnt += m[t]; }
    r2n2_backward_reset(net);
    err_ctx c = {y, m, net->n_out, cnt};
    double rec = NAN;
    if (r2n2_replay_reverse(net, x, x, T, s0, K, seq_error, &c, &rec) != ENGRAM_OK) rec = INFINITY;
    if (g) memcpy(g, net->grads, net->n_params * sizeof(double));
    return rec;
}

static double max_rel(const double *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) { num = fmax(num, fabs(a[i] - b[i])); den = fmax(den, fabs(b[i])); }
    return num / den;
}

static void test_reversal_segmented(void) {
    size_t I = 10, N = 32, O = 2, T = 300;
    r2n2_net *net = make_net(I, N, O, 1.5, 3);
    gsl_rng *r = rng_stream_alloc(3, "data", 0);
    double *x = malloc(T * I * sizeof(double)), *y = malloc(T * O * sizeof(double));
    double *m = malloc(T * sizeof(double)), s0[64];
    for (size_t i = 0; i < T * I; i++) x[i] = 0.5 * gsl_rng_uniform(r);
    for (size_t i = 0; i < T * O; i++) y[i] = gsl_rng_uniform(r);
    for (size_t t = 0; t < T; t++) m[t] = 1;
    for (size_t i = 0; i < 2 * N; i++) s0[i] = fmax(-5, fmin(5, gsl_ran_gaussian(r, 3.0)));
    double e_one = replay_grad_k(net, s0, x, y, m, T, 0, NULL);
    double e_seg = replay_grad_k(net, s0, x, y, m, T, 60, NULL);
    CHECK(!(e_one < 1e-3), "one-pass float reversal at T=300 fails (error %.3g), as it must", e_one);
    CHECK(e_seg < 1e-9, "segmented reversal (K = 60) at T=300: reconstruction error %.3g < 1e-9",
          e_seg);
    /* segmented gradient equals the one-pass gradient where one pass is still exact */
    size_t Ts = 100;
    double *g1 = malloc(net->n_params * sizeof(double)), *g2 = malloc(net->n_params * sizeof(double));
    replay_grad_k(net, s0, x, y, m, Ts, 0, g1);
    replay_grad_k(net, s0, x, y, m, Ts, 30, g2);
    double rel = max_rel(g2, g1, net->n_params);
    CHECK(rel < 1e-6, "segmented (K = 30) and one-pass gradients agree at T=100: max rel. diff %.3g",
          rel);
    /* fixed-point gradient against the float gradient at T = 100 */
    r2n2_net *nf = make_net(I, N, O, 1.5, 3);
    double sq[64];
    r2n2_fixed_enable(nf, Ts);
    r2n2_set_state(nf, s0, s0 + N);
    memcpy(sq, nf->a, N * sizeof(double));
    memcpy(sq + N, nf->b, N * sizeof(double)); /* the start on the fixed-point grid */
    double ef = replay_grad_k(nf, sq, x, y, m, Ts, 0, g2);
    replay_grad_k(net, sq, x, y, m, Ts, 0, g1);
    rel = max_rel(g2, g1, net->n_params);
    CHECK(ef == 0, "fixed-point replay ends exactly at its start (error %g)", ef);
    CHECK(rel < 1e-6, "fixed-point learning rule matches the float gradient at T=100: max rel. "
          "diff %.3g < 1e-6", rel);
    free(g1); free(g2); free(x); free(y); free(m);
    gsl_rng_free(r);
    r2n2_free(net);
    r2n2_free(nf);
}

/* Sequence loss 0.5 sum_t m_t ||o_t - y_t||^2 / sum m, forward from (a0, b0). */
static double seq_loss(r2n2_net *net, const double *a0, const double *b0, const double *x,
                       const double *y, const double *m, size_t T) {
    size_t I = net->n_in, O = net->n_out;
    double o[16], L = 0, cnt = 0;
    r2n2_set_state(net, a0, b0);
    for (size_t t = 0; t < T; t++) {
        r2n2_forward_step(net, x + t * I, o);
        for (size_t k = 0; k < O; k++) L += m[t] * 0.5 * (o[k] - y[t * O + k]) * (o[k] - y[t * O + k]);
        cnt += m[t];
    }
    return L / cnt;
}

/* The reverse-replay gradient: forward keeping only the final state, then learn steps. */
static void replay_grad(r2n2_net *net, const double *a0, const double *b0, const double *x,
                        const double *y, const double *m, size_t T, double *g) {
    size_t I = net->n_in, O = net->n_out;
    double o[16], e[16], cnt = 0;
    r2n2_set_state(net, a0, b0);
    for (size_t t = 0; t < T; t++) { r2n2_forward_step(net, x + t * I, NULL); cnt += m[t]; }
    r2n2_backward_reset(net);
    r2n2_grad_begin(net);
    for (size_t t = T; t-- > 0;) {
        r2n2_output(net, o);
        for (size_t k = 0; k < O; k++) e[k] = m[t] * (o[k] - y[t * O + k]) / cnt;
        r2n2_learn_step(net, x + t * I, e);
    }
    memcpy(g, net->grads, net->n_params * sizeof(double));
}

/* Independent reference: store every state forward, then the textbook BPTT recursion
 * on total derivatives dL/da_t, dL/db_t (arrays over time). */
static void bptt_reference(const r2n2_net *net, const double *a0, const double *b0,
                           const double *x, const double *y, const double *m, size_t T,
                           double *g) {
    size_t I = net->n_in, N = net->n_h, O = net->n_out;
    double c = net->c, d = net->d, cnt = 0;
    double *A = calloc((T + 1) * N, sizeof(double)), *B = calloc((T + 1) * N, sizeof(double));
    double *dA = calloc((T + 1) * N, sizeof(double)), *dB = calloc((T + 1) * N, sizeof(double));
    double *E = calloc(T * O, sizeof(double));
    memcpy(A, a0, N * sizeof(double));
    memcpy(B, b0, N * sizeof(double));
    for (size_t t = 0; t < T; t++) cnt += m[t];
    for (size_t t = 1; t <= T; t++) {
        const double *xt = x + (t - 1) * I;
        for (size_t i = 0; i < N; i++) {
            double s = 0;
            for (size_t j = 0; j < N; j++) s += net->w_ba[i * N + j] * tanh(B[(t - 1) * N + j]);
            for (size_t j = 0; j < I; j++) s += net->w_ia[i * I + j] * xt[j];
            A[t * N + i] = c * A[(t - 1) * N + i] + d * s;
        }
        for (size_t i = 0; i < N; i++) {
            double s = 0;
            for (size_t j = 0; j < N; j++) s += net->w_ab[i * N + j] * tanh(A[t * N + j]);
            B[t * N + i] = c * B[(t - 1) * N + i] + d * s;
        }
        for (size_t k = 0; k < O; k++) {
            double s = 0;
            for (size_t j = 0; j < N; j++) s += net->w_bo[k * N + j] * tanh(B[t * N + j]);
            E[(t - 1) * O + k] = m[t - 1] * (s - y[(t - 1) * O + k]) / cnt;
        }
    }
    size_t P = net->n_params;
    memset(g, 0, P * sizeof(double));
    double *gab = g, *gba = g + N * N, *gia = gba + N * N, *gbo = gia + N * I;
    for (size_t t = T; t >= 1; t--) {
        /* dL/db_t: output + from a_{t+1} and b_{t+1} (already in dB[t]) */
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t k = 0; k < O; k++) s += net->w_bo[k * N + j] * E[(t - 1) * O + k];
            double th = tanh(B[t * N + j]);
            dB[t * N + j] += s * (1 - th * th);
        }
        /* dL/da_t: from b_t and from a_{t+1} (c dA[t+1], added below) */
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t i = 0; i < N; i++) s += net->w_ab[i * N + j] * dB[t * N + i];
            double th = tanh(A[t * N + j]);
            dA[t * N + j] += d * s * (1 - th * th);
        }
        for (size_t k = 0; k < O; k++)
            for (size_t j = 0; j < N; j++) gbo[k * N + j] += E[(t - 1) * O + k] * tanh(B[t * N + j]);
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                gab[i * N + j] += d * dB[t * N + i] * tanh(A[t * N + j]);
                gba[i * N + j] += d * dA[t * N + i] * tanh(B[(t - 1) * N + j]);
            }
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < I; j++) gia[i * I + j] += d * dA[t * N + i] * x[(t - 1) * I + j];
        /* propagate to t-1 */
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t i = 0; i < N; i++) s += net->w_ba[i * N + j] * dA[t * N + i];
            double th = tanh(B[(t - 1) * N + j]);
            dB[(t - 1) * N + j] += c * dB[t * N + j] + d * s * (1 - th * th);
            dA[(t - 1) * N + j] += c * dA[t * N + j];
        }
    }
    free(A); free(B); free(dA); free(dB); free(E);
}

static double mean_asym(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double den = fabs(a[i]) + fabs(b[i]);
        s += den > 0 ? fabs(a[i] - b[i]) / den : 0;
    }
    return s / (double)n;
}

static double cosine(const double *a, const double *b, size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
    return ab / sqrt(aa * bb);
}

static void test_gradients(void) {
    size_t I = 3, N = 10, O = 3, T = 17;
    r2n2_net *net = make_net(I, N, O, 1.5, 7);
    net->feedback = R2N2_FEEDBACK_BPTT;
    gsl_rng *r = rng_stream_alloc(7, "data", 0);
    double x[17 * 3], y[17 * 3], m[17], a0[10], b0[10];
    for (size_t i = 0; i < T * I; i++) x[i] = gsl_rng_uniform(r) * 1.385;
    for (size_t i = 0; i < T * O; i++) y[i] = gsl_ran_gaussian(r, 0.7);
    for (size_t t = 0; t < T; t++) m[t] = (t % 4 == 1) ? 0.0 : 1.0;
    for (size_t i = 0; i < N; i++) { a0[i] = gsl_ran_gaussian(r, 0.4); b0[i] = gsl_ran_gaussian(r, 0.4); }
    /* larger output weights so every block has sizeable gradients */
    for (size_t i = 0; i < O * N; i++) net->w_bo[i] *= 10;
    for (size_t i = 0; i < N * I; i++) net->w_ia[i] *= 10;
    size_t P = net->n_params;
    double *g = malloc(P * sizeof(double)), *fd = malloc(P * sizeof(double)),
           *ref = malloc(P * sizeof(double));
    replay_grad(net, a0, b0, x, y, m, T, g);
    bptt_reference(net, a0, b0, x, y, m, T, ref);
    double h = 1e-5;
    for (size_t i = 0; i < P; i++) {
        double w = net->params[i];
        net->params[i] = w + h;
        double lp = seq_loss(net, a0, b0, x, y, m, T);
        net->params[i] = w - h;
        double lm = seq_loss(net, a0, b0, x, y, m, T);
        net->params[i] = w;
        fd[i] = (lp - lm) / (2 * h);
    }
    double afd = mean_asym(g, fd, P), aref = mean_asym(g, ref, P);
    CHECK(afd < 1e-6, "bptt-mode reverse-replay gradient vs central differences: mean abs "
          "asymmetry %.3g < 1e-6 (%zu parameters)", afd, P);
    CHECK(aref < 1e-9, "bptt-mode reverse-replay gradient vs store-everything BPTT: mean abs "
          "asymmetry %.3g < 1e-9", aref);
    /* outputs recomputed in the reverse pass equal the forward outputs */
    double of[17 * 3], o[3], maxd = 0;
    r2n2_set_state(net, a0, b0);
    for (size_t t = 0; t < T; t++) r2n2_forward_step(net, x + t * I, of + t * O);
    r2n2_backward_reset(net);
    for (size_t t = T; t-- > 0;) {
        r2n2_output(net, o);
        for (size_t k = 0; k < O; k++) maxd = fmax(maxd, fabs(o[k] - of[t * O + k]));
        r2n2_reverse_step(net, x + t * I);
    }
    CHECK(maxd < 1e-9, "reverse-pass outputs equal forward outputs: max diff %.3g < 1e-9", maxd);
    /* FA mode: a different update that is still a descent direction at first */
    net->feedback = R2N2_FEEDBACK_FA;
    double *gfa = malloc(P * sizeof(double));
    replay_grad(net, a0, b0, x, y, m, T, gfa);
    double cfa = cosine(gfa, ref, P);
    CHECK(cfa < 0.9999 && cfa > -1, "fa-mode update differs from the gradient (cosine %.4f)", cfa);
    free(g); free(fd); free(ref); free(gfa);
    gsl_rng_free(r);
    r2n2_free(net);
}

/* The note's AnBn string a^n | b^n | (length 2n+2), next-step prediction on the first
 * T-1 steps. Returns the cosine between the released-carry update and BPTT. */
static double released_cosine(size_t n, uint64_t seed, double *cos_exact) {
    size_t I = 3, N = 32, O = 3, T = 2 * n + 2, Tp = T - 1;
    r2n2_net *net = make_net(I, N, O, 1.5, seed);
    net->feedback = R2N2_FEEDBACK_BPTT;
    double *x = calloc(T * I, sizeof(double)), *y = calloc(Tp * O, sizeof(double));
    double *m = calloc(Tp, sizeof(double)), a0[32], b0[32];
    for (size_t t = 0; t < T; t++) {
        int s = t < n ? 0 : t == n ? 2 : t < 2 * n + 1 ? 1 : 2;
        x[t * I + (size_t)s] = 1;
    }
    for (size_t t = 0; t < Tp; t++) { memcpy(y + t * O, x + (t + 1) * I, O * sizeof(double)); m[t] = 1; }
    for (size_t i = 0; i < N; i++) { a0[i] = (i % 2 ? 0.2 : -0.2); b0[i] = (i % 3 ? 0.2 : -0.2); }
    size_t P = net->n_params;
    double *ge = malloc(P * sizeof(double)), *gr = malloc(P * sizeof(double)),
           *ref = malloc(P * sizeof(double));
    replay_grad(net, a0, b0, x, y, m, Tp, ge);
    net->carry = R2N2_CARRY_RELEASED;
    replay_grad(net, a0, b0, x, y, m, Tp, gr);
    bptt_reference(net, a0, b0, x, y, m, Tp, ref);
    *cos_exact = cosine(ge, ref, P);
    double cr = cosine(gr, ref, P);
    free(x); free(y); free(m); free(ge); free(gr); free(ref);
    r2n2_free(net);
    return cr;
}

static void test_released_carry(void) {
    double ce3, ce25;
    double c3 = released_cosine(3, 11, &ce3), c25 = released_cosine(25, 11, &ce25);
    CHECK(ce3 > 1 - 1e-10 && ce25 > 1 - 1e-10, "exact carry equals BPTT on AnBn n=3 and n=25 "
          "(cosines 1 - %.2g, 1 - %.2g)", 1 - ce3, 1 - ce25);
    CHECK(c3 > 0.97, "released carry on AnBn n=3 (T=8): cosine %.4f > 0.97 (note §2.4: 0.998)", c3);
    CHECK(c25 < 0.9 && c25 > 0.2, "released carry on AnBn n=25 (T=52): cosine %.4f in (0.2, 0.9) "
          "(note §2.4: 0.53)", c25);
}

static void test_learned_backward(void) {
    size_t I = 10, N = 32, T = 100;
    r2n2_net *net = make_net(I, N, 2, 1.5, 21);
    gsl_rng *r = rng_stream_alloc(21, "data", 0);
    double *x = malloc(T * I * sizeof(double));
    r2n2_backward_collect_begin(net);
    for (int run = 0; run < 4; run++) {   /* exp0: 4 forward runs, then the solve */
        for (size_t i = 0; i < T * I; i++) x[i] = 0.5 * gsl_rng_uniform(r);
        for (size_t i = 0; i < N; i++) {
            net->a[i] = fmax(-5, fmin(5, gsl_ran_gaussian(r, 3.0)));
            net->b[i] = fmax(-5, fmin(5, gsl_ran_gaussian(r, 3.0)));
        }
        for (size_t t = 0; t < T; t++) r2n2_forward_step(net, x + t * I, NULL);
    }
    int st = r2n2_backward_solve(net);
    double err = 0;
    for (size_t i = 0; i < N * N; i++) {
        err = fmax(err, fabs(net->wb_ab[i] + net->w_ab[i]));
        err = fmax(err, fabs(net->wb_ba[i] + net->w_ba[i]));
    }
    CHECK(st == ENGRAM_OK && err < 1e-8, "learned backward weights recover -W: max error %.3g < 1e-8",
          err);
    r2n2_backward_collect_begin(net);
    r2n2_forward_step(net, x, NULL);
    CHECK(r2n2_backward_solve(net) == ENGRAM_EINVAL, "too few samples refused: %s", engram_error());
    free(x);
    gsl_rng_free(r);
    r2n2_free(net);
}

/* exp6 patterns: P patterns of N units, exactly 40 % at +1. */
static void exp6_patterns(double *xi, size_t P, size_t N, gsl_rng *r) {
    size_t k = (size_t)(0.4 * (double)N);
    for (size_t p = 0; p < P; p++) {
        for (size_t i = 0; i < N; i++) xi[p * N + i] = i < k ? 1.0 : -1.0;
        gsl_ran_shuffle(r, xi + p * N, N, sizeof(double));
    }
}

static int argmax(const double *v, size_t n) {
    size_t b = 0;
    for (size_t i = 1; i < n; i++) if (v[i] > v[b]) b = i;
    return (int)b;
}

/* Replays in direction dir; returns 1 if the best-overlap pattern of each emitted
 * state steps through the episode in order, and the mean overlap of the emitted state
 * with its intended pattern in *ov_mean. */
static int replay_in_order(cache *c, cache_dir dir, double *ov_mean) {
    size_t N = c->n, P = c->n_patterns;
    double *s = malloc(N * sizeof(double)), ov[64];
    cache_replay_begin(c, dir, s);
    int ok = 1;
    size_t k = 0;
    double sum = 0;
    while (cache_replay_next(c, s) == ENGRAM_OK) {
        k++;
        size_t want = dir == CACHE_REVERSE ? P - 1 - k : k;
        cache_overlaps(c, s, ov);
        if ((size_t)argmax(ov, P) != want) ok = 0;
        sum += ov[want];
    }
    if (k != P - 1) ok = 0;
    *ov_mean = sum / (double)k;
    free(s);
    return ok;
}

static void test_cache(void) {
    size_t N = 500, P = 20;
    gsl_rng *r = rng_stream_alloc(5, "patterns", 0);
    double *xi = malloc(P * N * sizeof(double));
    exp6_patterns(xi, P, N, r);
    cache_params cp = cache_defaults();
    cp.drive = CACHE_DRIVE_EXTERNAL;
    cp.steps = 30;
    cache *c = cache_alloc(N, N, P, &cp);
    CHECK(cache_store(c, xi, P) == ENGRAM_OK, "store 20 patterns of 500 units (40 %% active)");
    double ovm;
    int ok = replay_in_order(c, CACHE_REVERSE, &ovm);
    CHECK(ok && ovm > 0.95, "external pump, 30 steps per half-cycle: reverse replay 19 -> 0 in "
          "order (mean overlap %.4f)", ovm);
    ok = replay_in_order(c, CACHE_FORWARD, &ovm);
    CHECK(ok && ovm > 0.95, "external pump: forward replay 0 -> 19 in order (mean overlap %.4f)", ovm);
    c->p.drive = CACHE_DRIVE_SELF;
    ok = replay_in_order(c, CACHE_REVERSE, &ovm);
    size_t steps = c->j;
    CHECK(ok && ovm > 0.99, "self-timed pump: reverse replay in order (mean overlap %.4f, %zu steps)",
          ovm, steps);
    ok = replay_in_order(c, CACHE_FORWARD, &ovm);
    CHECK(ok && ovm > 0.99, "self-timed pump: forward replay in order (mean overlap %.4f)", ovm);
    /* the factored matrices equal the released dense rule (with n_key = N): W2 of the
     * reverse pair = sum over even t of p_t (p_{t+1} + p_t)^T / N */
    double *w = malloc(N * N * sizeof(double)), err = 0;
    cache_weights(c, CACHE_REVERSE, 2, w);
    double rho = 0;
    for (size_t i = 0; i < P * N; i++) rho += xi[i];
    rho /= (double)(P * N);
    for (size_t i = 0; i < N; i += 7)
        for (size_t j = 0; j < N; j += 3) {
            double s = 0;
            for (size_t t = 0; t + 1 < P; t += 2)
                s += (xi[t * N + i] - rho) * (xi[(t + 1) * N + j] - rho + xi[t * N + j] - rho);
            err = fmax(err, fabs(w[i * N + j] - s / (double)N));
        }
    CHECK(err < 1e-12, "factored reverse W2 equals the dense released rule: max diff %.3g", err);
    /* raster recording and error paths */
    double *ras = malloc(2000 * P * sizeof(double));
    cache_record(c, ras, 2000);
    replay_in_order(c, CACHE_REVERSE, &ovm);
    CHECK(c->raster_len == c->j && c->raster_len > 0, "raster recorded %zu steps", c->raster_len);
    cache_record(c, NULL, 0);
    CHECK(cache_store(c, xi, P + 1) == ENGRAM_ERANGE, "episode beyond capacity refused");
    CHECK(cache_store(c, xi, 0) == ENGRAM_EINVAL, "empty episode refused");
    {
        double s1[500];
        int ok1 = cache_store(c, xi + N, 1) == ENGRAM_OK;
        cache_replay_begin(c, CACHE_FORWARD, s1);
        ok1 &= memcmp(s1, xi + N, N * sizeof(double)) == 0 && cache_replay_next(c, s1) == ENGRAM_ERANGE;
        CHECK(ok1, "a one-pattern episode replays as its cue only");
    }
    xi[3] = 0.5;
    CHECK(cache_store(c, xi, P) == ENGRAM_EINVAL, "non-binary pattern refused");
    free(ras); free(w); free(xi);
    cache_free(c);
    gsl_rng_free(r);
}

static void test_cache_capacity(void) {
    cache_params p = cache_defaults();
    gsl_rng *r = rng_stream_alloc(5, "capacity", 0);
    double se1 = 1, ee1 = 1, se8 = 0, ee8 = 0;
    int st1 = cache_capacity_trial(200, 1, 10, &p, r, 0.95, &se1, &ee1);
    int st8 = cache_capacity_trial(200, 8, 10, &p, r, 0.95, &se8, &ee8);
    CHECK(st1 == ENGRAM_OK && se1 == 0, "content-addressed cache, N 200, 1 episode of 10 "
          "patterns recalled from its first pattern: step error rate %.3f = 0", se1);
    CHECK(st8 == ENGRAM_OK && se8 > 0.2 && ee8 > 0.5, "overloaded (8 episodes x 10, 72 "
          "transitions for 200 units): recall fails, step error rate %.3f, episode error rate %.3f",
          se8, ee8);
    gsl_rng_free(r);
}

static const cfg_key test_extra_keys[] = {
    {"train.loss", CFG_ENUM, "mse", 0, 0, "xent|mse", "loss"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static config *learner_config(const char *const *sets) {
    const cfg_key *tables[] = {r2n2_keys, test_extra_keys, NULL};
    config *c = config_alloc(tables);
    for (size_t i = 0; sets && sets[i]; i++) config_set(c, sets[i], "test");
    return c;
}

/* Trains two learners (cache on / off) on the same AnBn batches; with perfect recall
 * their parameters must be identical. */
static void test_learner_cache(void) {
    const char *on[] = {"r2n2.cache=true", NULL}, *off[] = {"r2n2.cache=false", NULL};
    config *c1 = learner_config(on), *c2 = learner_config(off);
    task *tk = anbn_task_alloc(1, 4);
    learner *l1 = learner_r2n2.alloc(c1, 3, 3, tk->t_max, 3);
    learner *l2 = learner_r2n2.alloc(c2, 3, 3, tk->t_max, 3);
    CHECK(l1 && l2, "r2n2 learners allocated (%s)", engram_error());
    trial_batch *b = trial_batch_alloc(8, tk);
    gsl_rng *r = rng_stream_alloc(3, "data", 0);
    double loss1 = 0, loss2 = 0, ex1[4], ex2[4], fails = 0;
    int st = ENGRAM_OK;
    for (int it = 0; it < 20 && st == ENGRAM_OK; it++) {
        trial_batch_fill(b, tk, r);
        st = learner_r2n2.train(l1, b, &loss1, ex1);
        if (st == ENGRAM_OK) st = learner_r2n2.train(l2, b, &loss2, ex2);
        fails += ex1[0];
    }
    r2n2_net *n1 = r2n2_learner_net(l1), *n2 = r2n2_learner_net(l2);
    double d = 0;
    for (size_t i = 0; i < n1->n_params; i++) d = fmax(d, fabs(n1->params[i] - n2->params[i]));
    r2n2_counts k = r2n2_learner_counts(l1);
    CHECK(st == ENGRAM_OK && fails == 0 && k.recall_failures == 0,
          "cache recall of 160 AnBn episodes: %ld failures", k.recall_failures);
    CHECK(k.fwd_replays == 160 && k.rev_replays == 160, "replay counts %ld forward, %ld reverse",
          k.fwd_replays, k.rev_replays);
    CHECK(d == 0.0 && loss1 == loss2, "cache-driven training equals direct training when recall "
          "is perfect (max param diff %.3g)", d);
    CHECK(ex1[1] == 160 && ex1[2] == 160, "extras report cumulative replay counts");
    learner_r2n2.free(l1);
    learner_r2n2.free(l2);
    /* replays beyond the reversible limit are refused */
    const char *lim[] = {"r2n2.max_replay_len=20", NULL};
    config *c3 = learner_config(lim);
    learner *l3 = learner_r2n2.alloc(c3, 3, 3, 50, 3);
    CHECK(l3 == NULL && strstr(engram_error(), "max_replay_len"), "t_max 50 > limit 20 refused: %s",
          engram_error());
    config_free(c3);
    trial_batch_free(b);
    gsl_rng_free(r);
    task_free(tk);
    config_free(c1);
    config_free(c2);
}

/* Learns a small AnBn set with cache-driven fa training (a short convergence check). */
static void test_learner_learns(void) {
    const char *sets[] = {"r2n2.lr=0.01", NULL};
    config *c = learner_config(sets);
    task *tk = anbn_task_alloc(1, 3);
    learner *l = learner_r2n2.alloc(c, 3, 3, tk->t_max, 5);
    trial_batch *b = trial_batch_alloc(4, tk);
    gsl_rng *r = rng_stream_alloc(5, "data", 0);
    double loss0 = 0, loss = 0, ex[4];
    for (int it = 0; it < 400; it++) {
        trial_batch_fill(b, tk, r);
        learner_r2n2.train(l, b, &loss, ex);
        if (it == 0) loss0 = loss;
    }
    CHECK(loss < 0.5 * loss0, "fa training through the cache lowers the AnBn loss: %.4f -> %.4f",
          loss0, loss);
    learner_r2n2.free(l);
    trial_batch_free(b);
    gsl_rng_free(r);
    task_free(tk);
    config_free(c);
}

/* The learner with backward weights learned on each forward replay gives the same
 * update as with Wb = -W when the replay has more than n_h samples. */
static void test_learner_learned_backward(void) {
    const char *neg[] = {"r2n2.cache=false", "r2n2.n_h=8", "r2n2.feedback=bptt", NULL};
    const char *lrn[] = {"r2n2.cache=false", "r2n2.n_h=8", "r2n2.feedback=bptt",
                         "r2n2.backward=learned", NULL};
    config *c1 = learner_config(neg), *c2 = learner_config(lrn);
    task *tk = anbn_task_alloc(12, 15);
    learner *l1 = learner_r2n2.alloc(c1, 3, 3, tk->t_max, 9);
    learner *l2 = learner_r2n2.alloc(c2, 3, 3, tk->t_max, 9);
    trial_batch *b = trial_batch_alloc(4, tk);
    gsl_rng *r = rng_stream_alloc(9, "data", 0);
    trial_batch_fill(b, tk, r);
    double loss1, loss2, ex[4];
    int s1 = learner_r2n2.train(l1, b, &loss1, ex), s2 = learner_r2n2.train(l2, b, &loss2, ex);
    r2n2_net *n1 = r2n2_learner_net(l1), *n2 = r2n2_learner_net(l2);
    double d = 0, wb = 0;
    for (size_t i = 0; i < n1->n_params; i++) d = fmax(d, fabs(n1->params[i] - n2->params[i]));
    for (size_t i = 0; i < 64; i++) wb = fmax(wb, fabs(n2->wb_ab[i] + n2->w_ab[i]));
    CHECK(s1 == ENGRAM_OK && s2 == ENGRAM_OK && d < 1e-9,
          "learned backward weights (T >= 25 > n_h) give the -W update: max param diff %.3g", d);
    trial_batch_free(b);
    task_free(tk);
    tk = anbn_task_alloc(1, 2);
    b = trial_batch_alloc(1, tk);
    learner_r2n2.free(l2);
    l2 = learner_r2n2.alloc(c2, 3, 3, tk->t_max, 9);
    trial_batch_fill(b, tk, r);
    CHECK(learner_r2n2.train(l2, b, &loss2, ex) == ENGRAM_EINVAL,
          "learned backward weights on a replay shorter than n_h + 1 refused: %s", engram_error());
    learner_r2n2.free(l1);
    learner_r2n2.free(l2);
    trial_batch_free(b);
    task_free(tk);
    gsl_rng_free(r);
    config_free(c1);
    config_free(c2);
}

static void test_anbn_generator(void) {
    double x[7 * 3] = {0}, y[7 * 3] = {0}, m[7] = {0};
    size_t T = anbn_trial(3, x, y, m);
    int want[8] = {0, 0, 0, 2, 1, 1, 1, 2};
    int ok = T == 7;
    for (size_t t = 0; t < T; t++) {
        ok &= x[t * 3 + (size_t)want[t]] == 1 && y[t * 3 + (size_t)want[t + 1]] == 1 && m[t] == 1;
    }
    CHECK(ok, "anbn n=3: inputs a a a | b b b, targets shifted by one (T = %zu)", T);
}

static void test_tmaze(void) {
    tmaze_env e;
    int acts[64], rw = 0;
    for (int arm = 0; arm <= 2; arm += 2) {
        tmaze_env_reset(&e, 3, 5, 4, arm, 1);
        CHECK(tmaze_env_obs(&e) == (arm == TMAZE_LEFT ? TMAZE_OBS_CUE_LEFT : TMAZE_OBS_CUE_RIGHT),
              "start cell shows the cue (arm %d)", arm);
        size_t na = tmaze_script(3, 5, 4, arm, acts);
        int done = 0;
        size_t steps = 0;
        for (size_t i = 0; i < na && !done; i++, steps++) done = tmaze_env_step(&e, acts[i], &rw);
        CHECK(done && steps == 12 && rw == 1 && e.chosen_arm == arm,
              "scripted trial reaches the rewarded end in cue+delay+branch = %zu steps", steps);
        tmaze_env_reset(&e, 3, 5, 4, arm, 1);
        int other = arm == TMAZE_LEFT ? TMAZE_RIGHT : TMAZE_LEFT;
        tmaze_script(3, 5, 4, other, acts);
        for (size_t i = 0; i < na; i++) tmaze_env_step(&e, acts[i], &rw);
        CHECK(e.done && rw == 0, "the uncued arm gives no reward");
    }
    tmaze_env_reset(&e, 3, 5, 4, TMAZE_LEFT, 1);
    tmaze_env_step(&e, TMAZE_UP, &rw);
    size_t r0 = e.row, c0 = e.col;
    tmaze_env_step(&e, TMAZE_LEFT, &rw);
    CHECK(r0 == 0 && c0 == 4 && e.row == 0 && e.col == 4, "moves out of the grid or into walls "
          "leave the position unchanged");
    tmaze_task_params p = {TMAZE_CUED, 2, 3, 3, 5, 5, 4, 4, 0.0};
    double x[64 * 11] = {0}, y[64 * 11] = {0}, m[64] = {0};
    gsl_rng *r = rng_stream_alloc(1, "data", 0);
    size_t T = tmaze_episode(&p, r, x, y, m, acts);
    CHECK(T == 13 && m[T - 1] == 0 && m[0] == 1 && x[1] == 1 && acts[0] == TMAZE_DOWN,
          "cued episode: length cue+delay+branch+1 = %zu, first input 'up'", T);
    p.variant = TMAZE_ALTERNATION;
    memset(x, 0, sizeof x); memset(y, 0, sizeof y); memset(m, 0, sizeof m);
    T = tmaze_episode(&p, r, x, y, m, acts);
    int a1 = acts[11], a2 = acts[11 + 13];
    CHECK(T == 26 && (a1 == TMAZE_LEFT || a1 == TMAZE_RIGHT) && a2 == (a1 == TMAZE_LEFT ? TMAZE_RIGHT : TMAZE_LEFT),
          "alternation episode: 2 trials (T = %zu), second turn opposite to the first", T);
    CHECK(x[13 * 11 + 6 + TMAZE_OBS_EMPTY] == 1, "second trial's cue cells are empty");
    CHECK(m[12] == 0 && m[11] == 1 && m[13] == 1 && m[25] == 0,
          "the return to the start after an arm end is not predicted (mask 0)");
    gsl_rng_free(r);
}

static const test_case tests[] = {
    {"reversal", test_reversal},
    {"reversal_fixed", test_reversal_fixed},
    {"reversal_segmented", test_reversal_segmented},
    {"gradients", test_gradients},
    {"released_carry", test_released_carry},
    {"learned_backward", test_learned_backward},
    {"cache", test_cache},
    {"cache_capacity", test_cache_capacity},
    {"learner_cache", test_learner_cache},
    {"learner_learns", test_learner_learns},
    {"learner_learned_backward", test_learner_learned_backward},
    {"anbn_generator", test_anbn_generator},
    {"tmaze", test_tmaze},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
