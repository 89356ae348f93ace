/* bench_r2n2.c: time per replay of the R2N2 consolidator (forward pass keeping only the
 * final state + reverse pass reconstructing the states with learning, bptt feedback)
 * against a store-everything BPTT of the same A/B network (all states kept in the
 * forward pass, standard backward pass), both computing the same gradient, in the same
 * run. Also times the Hopfield cache's forward + reverse replay of one episode.
 * Usage: bench_r2n2 [n_h] [T] [reps]   (defaults 64 100 200) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/rng.h"
#include "engram/r2n2.h"
#include "engram/cache.h"

/* Store-everything BPTT of the A/B network: states (T+1, N) kept, gradient into g. */
typedef struct bp_ws { double *A, *B, *pA, *pB, *dA, *dB, *E, *tmp; } bp_ws;

static void bptt_store_all(const r2n2_net *net, const double *a0, const double *b0,
                           const double *x, const double *y, size_t T, bp_ws *w, double *g) {
    size_t I = net->n_in, N = net->n_h, O = net->n_out;
    double c = net->c, d = net->d;
    memcpy(w->A, a0, N * sizeof(double));
    memcpy(w->B, b0, N * sizeof(double));
    for (size_t i = 0; i < N; i++) w->pB[i] = tanh(b0[i]);
    for (size_t t = 1; t <= T; t++) {
        const double *xt = x + (t - 1) * I, *pbp = w->pB + (t - 1) * N;
        double *A = w->A + t * N, *B = w->B + t * N, *pA = w->pA + t * N, *pB = w->pB + t * N;
        for (size_t i = 0; i < N; i++) {
            double s = 0;
            const double *row = net->w_ba + i * N;
            for (size_t j = 0; j < N; j++) s += row[j] * pbp[j];
            const double *ri = net->w_ia + i * I;
            for (size_t j = 0; j < I; j++) s += ri[j] * xt[j];
            A[i] = c * A[i - N] + d * s;
            pA[i] = tanh(A[i]);
        }
        for (size_t i = 0; i < N; i++) {
            double s = 0;
            const double *row = net->w_ab + i * N;
            for (size_t j = 0; j < N; j++) s += row[j] * pA[j];
            B[i] = c * B[i - N] + d * s;
            pB[i] = tanh(B[i]);
        }
        for (size_t k = 0; k < O; k++) {
            double s = 0;
            for (size_t j = 0; j < N; j++) s += net->w_bo[k * N + j] * pB[j];
            w->E[(t - 1) * O + k] = (s - y[(t - 1) * O + k]) / (double)T;
        }
    }
    memset(g, 0, net->n_params * sizeof(double));
    double *gab = g, *gba = g + N * N, *gia = gba + N * N, *gbo = gia + N * I;
    memset(w->dA, 0, N * sizeof(double));
    memset(w->dB, 0, N * sizeof(double));
    for (size_t t = T; t >= 1; t--) {
        const double *e = w->E + (t - 1) * O, *pA = w->pA + t * N, *pB = w->pB + t * N;
        const double *pbp = w->pB + (t - 1) * N;
        memset(w->tmp, 0, N * sizeof(double));
        for (size_t k = 0; k < O; k++)
            for (size_t j = 0; j < N; j++) w->tmp[j] += net->w_bo[k * N + j] * e[k];
        for (size_t j = 0; j < N; j++) w->dB[j] += w->tmp[j] * (1 - pB[j] * pB[j]);
        memset(w->tmp, 0, N * sizeof(double));
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) w->tmp[j] += net->w_ab[i * N + j] * w->dB[i];
        for (size_t j = 0; j < N; j++) w->dA[j] += d * w->tmp[j] * (1 - pA[j] * pA[j]);
        for (size_t k = 0; k < O; k++)
            for (size_t j = 0; j < N; j++) gbo[k * N + j] += e[k] * pB[j];
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                gab[i * N + j] += d * w->dB[i] * pA[j];
                gba[i * N + j] += d * w->dA[i] * pbp[j];
            }
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < I; j++) gia[i * I + j] += d * w->dA[i] * x[(t - 1) * I + j];
        memset(w->tmp, 0, N * sizeof(double));
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) w->tmp[j] += net->w_ba[i * N + j] * w->dA[i];
        for (size_t j = 0; j < N; j++) {
            w->dB[j] = c * w->dB[j] + d * w->tmp[j] * (1 - pbp[j] * pbp[j]);
            w->dA[j] = c * w->dA[j];
        }
    }
}

int main(int argc, char **argv) {
    size_t N = argc > 1 ? (size_t)atol(argv[1]) : 64, T = argc > 2 ? (size_t)atol(argv[2]) : 100;
    size_t reps = argc > 3 ? (size_t)atol(argv[3]) : 200, I = 11, O = 11;
    r2n2_params p = r2n2_defaults();
    p.n_in = I;
    p.n_h = N;
    p.n_out = O;
    gsl_rng *r = rng_stream_alloc(1, "weights", 0);
    r2n2_net *net = r2n2_alloc(&p, r);
    net->feedback = R2N2_FEEDBACK_BPTT;
    double *x = malloc(T * I * sizeof(double)), *y = malloc(T * O * sizeof(double));
    double *a0 = malloc(N * sizeof(double)), *b0 = malloc(N * sizeof(double));
    for (size_t i = 0; i < T * I; i++) x[i] = gsl_rng_uniform(r) < 0.2;
    for (size_t i = 0; i < T * O; i++) y[i] = gsl_rng_uniform(r) < 0.2;
    for (size_t i = 0; i < N; i++) { a0[i] = gsl_ran_gaussian(r, 0.2); b0[i] = gsl_ran_gaussian(r, 0.2); }
    bp_ws w;
    w.A = malloc((T + 1) * N * sizeof(double)); w.B = malloc((T + 1) * N * sizeof(double));
    w.pA = malloc((T + 1) * N * sizeof(double)); w.pB = malloc((T + 1) * N * sizeof(double));
    w.dA = malloc(N * sizeof(double)); w.dB = malloc(N * sizeof(double));
    w.E = malloc(T * O * sizeof(double)); w.tmp = malloc(N * sizeof(double));
    double *g_ref = malloc(net->n_params * sizeof(double)), o[64], e[64];
    /* R2N2 replay */
    double t0 = engram_wall_time();
    for (size_t k = 0; k < reps; k++) {
        r2n2_set_state(net, a0, b0);
        for (size_t t = 0; t < T; t++) r2n2_forward_step(net, x + t * I, NULL);
        r2n2_backward_reset(net);
        r2n2_grad_begin(net);
        for (size_t t = T; t-- > 0;) {
            r2n2_output(net, o);
            for (size_t q = 0; q < O; q++) e[q] = (o[q] - y[t * O + q]) / (double)T;
            r2n2_learn_step(net, x + t * I, e);
        }
    }
    double t_r2n2 = (engram_wall_time() - t0) / (double)reps;
    t0 = engram_wall_time();
    for (size_t k = 0; k < reps; k++) bptt_store_all(net, a0, b0, x, y, T, &w, g_ref);
    double t_bptt = (engram_wall_time() - t0) / (double)reps;
    double num = 0, den = 0;
    for (size_t i = 0; i < net->n_params; i++) {
        num += fabs(net->grads[i] - g_ref[i]);
        den += fabs(net->grads[i]) + fabs(g_ref[i]);
    }
    /* memory: r2n2 keeps 2N state values; BPTT keeps 4 (T+1) N */
    printf("consolidator n_h=%zu (2 x %zu units), T=%zu, %zu reps\n", N, N, T, reps);
    printf("r2n2 replay (forward + reverse with learning): %.3f ms; store-everything BPTT: %.3f ms; "
           "ratio bptt/r2n2 %.2f\n", 1e3 * t_r2n2, 1e3 * t_bptt, t_bptt / t_r2n2);
    printf("same gradient: sum|diff| / sum(|a|+|b|) = %.3g; state memory r2n2 %zu doubles, "
           "bptt %zu doubles\n", num / den, 2 * N, 4 * (T + 1) * N);
    /* cache: one episode of T patterns, forward + reverse replay */
    size_t n_ctx = 600, n_sym = 23 * 9, Nc = n_ctx + n_sym, P = T < 36 ? T : 36;
    cache_params cp = cache_defaults();
    cache *c = cache_alloc(Nc, n_ctx, P, &cp);
    double *xi = malloc(P * Nc * sizeof(double)), *s = malloc(Nc * sizeof(double));
    for (size_t i = 0; i < P * Nc; i++) xi[i] = gsl_rng_uniform(r) < 0.4 ? 1.0 : -1.0;
    cache_store(c, xi, P);
    size_t creps = reps / 10 ? reps / 10 : 1;
    t0 = engram_wall_time();
    for (size_t k = 0; k < creps; k++) {
        cache_replay_begin(c, CACHE_FORWARD, s);
        while (cache_replay_next(c, s) == ENGRAM_OK) {}
        cache_replay_begin(c, CACHE_REVERSE, s);
        while (cache_replay_next(c, s) == ENGRAM_OK) {}
    }
    double t_cache = (engram_wall_time() - t0) / (double)creps;
    printf("cache (N=%zu, %zu key units, P=%zu, self-timed): forward + reverse replay %.3f ms "
           "(%.1f pump steps per transition)\n", Nc, n_ctx, P, 1e3 * t_cache,
           (double)c->total_steps / (double)creps / (2.0 * (double)(P - 1)));
    cache_free(c);
    free(xi); free(s); free(x); free(y); free(a0); free(b0); free(g_ref);
    free(w.A); free(w.B); free(w.pA); free(w.pB); free(w.dA); free(w.dB); free(w.E); free(w.tmp);
    r2n2_free(net);
    gsl_rng_free(r);
    return 0;
}
