/* test_rnn.c: the rate RNN, its learning rules (bptt, fa, rflo, esn) and the AnBn task.
 *
 * Oracles: central finite differences of the loss (every parameter, scored as the mean
 * absolute asymmetry |a-b|/(|a|+|b|)); a naive per-item reference forward/backward
 * written here with explicit loops (the fast kernel batches through dgemm); the
 * family identity (feedback = transposed weights gives BPTT); an independent RFLO
 * computation with explicit i, j loops on a 3-unit network; thread-count invariance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/anbn.h"
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/rng.h"
#include "engram/rnn.h"
#include "testhelp.h"

/* ---------------------------------------------------------------------------------- */
/* fixtures                                                                            */

/* A batch of n_batch items with high-entropy inputs, lengths t_max, t_max-2, ...
 * (at least 2), random masks with some zeros, and one-hot (xent) or real (mse) targets. */
static trial_batch *make_batch(size_t n_batch, size_t t_max, size_t I, size_t O,
                               rnn_loss_kind loss, uint64_t seed) {
    task tk = {NULL, I, O, t_max, NULL};
    trial_batch *b = trial_batch_alloc(n_batch, &tk);
    gsl_rng *r = rng_stream_alloc(seed, "test-batch", 0);
    for (size_t i = 0; i < n_batch; i++) {
        size_t T = t_max > 2 * i + 2 ? t_max - 2 * i : 2;
        b->len[i] = T;
        for (size_t t = 0; t < T; t++) {
            for (size_t k = 0; k < I; k++) b->x[(i * t_max + t) * I + k] = gsl_ran_gaussian(r, 1.385);
            if (loss == RNN_XENT) {
                b->y[(i * t_max + t) * O + gsl_rng_uniform_int(r, O)] = 1.0;
            } else {
                for (size_t k = 0; k < O; k++) b->y[(i * t_max + t) * O + k] = gsl_ran_gaussian(r, 0.7);
            }
            b->mask[i * t_max + t] = gsl_rng_uniform(r) < 0.75 ? 1.0 : 0.0;
        }
        b->mask[i * t_max + T - 1] = 1.0;
    }
    gsl_rng_free(r);
    return b;
}

/* A network with random weights and non-zero biases. */
static rnn *make_net(size_t I, size_t N, size_t O, double alpha, rnn_loss_kind loss, uint64_t seed) {
    rnn *net = rnn_alloc(I, N, O, alpha, loss);
    gsl_rng *r = rng_stream_alloc(seed, "test-weights", 0);
    rnn_init(net, r, 1.3, 1.1);
    for (size_t n = 0; n < N; n++) net->b_rec[n] = gsl_ran_gaussian(r, 0.3);
    for (size_t k = 0; k < O; k++) net->b_out[k] = gsl_ran_gaussian(r, 0.3);
    gsl_rng_free(r);
    return net;
}

static void random_matrix(double *m, size_t n, double sd, uint64_t seed, const char *name) {
    gsl_rng *r = rng_stream_alloc(seed, name, 0);
    for (size_t k = 0; k < n; k++) m[k] = gsl_ran_gaussian(r, sd);
    gsl_rng_free(r);
}

/* ---------------------------------------------------------------------------------- */
/* the naive reference: one item at a time, explicit loops                            */

/* Forward of item i; fills zs, hs (T, N), outs (T, O); returns the item's summed
 * masked loss. */
static double ref_forward_item(const rnn *net, const trial_batch *b, size_t i, double *zs,
                               double *hs, double *outs) {
    size_t N = net->n_rec, I = net->n_in, O = net->n_out, Tm = b->t_max;
    double loss = 0;
    for (size_t t = 0; t < b->len[i]; t++) {
        const double *x = b->x + (i * Tm + t) * I, *y = b->y + (i * Tm + t) * O;
        for (size_t n = 0; n < N; n++) {
            double a = net->b_rec[n];
            for (size_t j = 0; j < N; j++) a += net->w_rec[n * N + j] * (t ? hs[(t - 1) * N + j] : 0.0);
            for (size_t k = 0; k < I; k++) a += net->w_in[n * I + k] * x[k];
            zs[t * N + n] = tanh(a);
        }
        for (size_t n = 0; n < N; n++)
            hs[t * N + n] = (1 - net->alpha) * (t ? hs[(t - 1) * N + n] : 0.0) + net->alpha * zs[t * N + n];
        double o[16], mx = -INFINITY, s = 0;
        for (size_t k = 0; k < O; k++) {
            o[k] = net->b_out[k];
            for (size_t n = 0; n < N; n++) o[k] += net->w_out[k * N + n] * hs[t * N + n];
            if (o[k] > mx) mx = o[k];
        }
        double m = b->mask[i * Tm + t], l = 0;
        if (net->loss == RNN_MSE) {
            for (size_t k = 0; k < O; k++) { outs[t * O + k] = o[k]; l += 0.5 * (o[k] - y[k]) * (o[k] - y[k]); }
        } else {
            for (size_t k = 0; k < O; k++) s += exp(o[k] - mx);
            for (size_t k = 0; k < O; k++) {
                outs[t * O + k] = exp(o[k] - mx) / s;
                l -= y[k] * log(outs[t * O + k]);
            }
        }
        loss += m * l;
    }
    return loss;
}

static double ref_count(const trial_batch *b) {
    double c = 0;
    for (size_t i = 0; i < b->n_batch; i++)
        for (size_t t = 0; t < b->len[i]; t++) c += b->mask[i * b->t_max + t];
    return c;
}

/* Mean masked loss of the batch by the reference. */
static double ref_loss(const rnn *net, const trial_batch *b) {
    size_t N = net->n_rec, O = net->n_out, T = b->t_max;
    double *zs = malloc(T * N * sizeof(double)), *hs = malloc(T * N * sizeof(double));
    double *outs = malloc(T * O * sizeof(double)), total = 0;
    for (size_t i = 0; i < b->n_batch; i++) total += ref_forward_item(net, b, i, zs, hs, outs);
    free(zs); free(hs); free(outs);
    return total / ref_count(b);
}

/* Backward with feedback fbo (N, O) in place of V^T and fbr (N, N) in place of W^T,
 * truncated at windows of K steps (0 = none), item by item, into g (P,). */
static void ref_backward(const rnn *net, const trial_batch *b, const double *fbo,
                         const double *fbr, size_t K, double *g) {
    size_t N = net->n_rec, I = net->n_in, O = net->n_out, Tm = b->t_max;
    double al = net->alpha, cnt = ref_count(b);
    double *zs = malloc(Tm * N * sizeof(double)), *hs = malloc(Tm * N * sizeof(double));
    double *outs = malloc(Tm * O * sizeof(double));
    double carry[64], dh[64], da[64];
    double *gW = g, *gU = g + N * N, *gb = gU + N * I, *gV = gb + N, *gc = gV + O * N;
    memset(g, 0, net->n_params * sizeof *g);
    double cnt_inv = 1.0 / cnt;
    for (size_t i = 0; i < b->n_batch; i++) {
        ref_forward_item(net, b, i, zs, hs, outs);
        for (size_t n = 0; n < N; n++) carry[n] = 0;
        for (long t = (long)b->len[i] - 1; t >= 0; t--) {
            if (K && (size_t)(t + 1) % K == 0)
                for (size_t n = 0; n < N; n++) carry[n] = 0;
            const double *y = b->y + (i * Tm + (size_t)t) * O;
            double m = b->mask[i * Tm + (size_t)t], e[16], ysum = 0;
            for (size_t k = 0; k < O; k++) ysum += y[k];
            for (size_t k = 0; k < O; k++)
                e[k] = net->loss == RNN_MSE ? m * (outs[t * O + k] - y[k]) * cnt_inv
                                            : m * (outs[t * O + k] * ysum - y[k]) * cnt_inv;
            for (size_t k = 0; k < O; k++) {
                gc[k] += e[k];
                for (size_t n = 0; n < N; n++) gV[k * N + n] += e[k] * hs[t * N + n];
            }
            for (size_t n = 0; n < N; n++) {
                double s = carry[n];
                for (size_t k = 0; k < O; k++) s += fbo[n * O + k] * e[k];
                dh[n] = s;
                da[n] = al * (1 - zs[t * N + n] * zs[t * N + n]) * s;
            }
            const double *x = b->x + (i * Tm + (size_t)t) * I;
            for (size_t n = 0; n < N; n++) {
                gb[n] += da[n];
                for (size_t k = 0; k < I; k++) gU[n * I + k] += da[n] * x[k];
                for (size_t j = 0; j < N && t > 0; j++) gW[n * N + j] += da[n] * hs[(t - 1) * N + j];
            }
            for (size_t n = 0; n < N; n++) {
                double s = (1 - al) * dh[n];
                for (size_t j = 0; j < N; j++) s += fbr[n * N + j] * da[j];
                carry[n] = s;
            }
        }
    }
    free(zs); free(hs); free(outs);
}

static double max_abs_diff(const double *a, const double *b, size_t n) {
    double m = 0;
    for (size_t k = 0; k < n; k++) if (fabs(a[k] - b[k]) > m) m = fabs(a[k] - b[k]);
    return m;
}

/* ---------------------------------------------------------------------------------- */
/* tests                                                                              */

static void test_forward_matches_reference(void) {
    size_t I = 3, N = 7, O = 3;
    for (int leaky = 0; leaky < 2; leaky++)
        for (int lk = 0; lk < 2; lk++) {
            rnn_loss_kind loss = lk ? RNN_MSE : RNN_XENT;
            rnn *net = make_net(I, N, O, leaky ? 0.37 : 1.0, loss, 11 + leaky);
            trial_batch *b = make_batch(5, 9, I, O, loss, 21 + lk);
            rnn_work *w = rnn_work_alloc(net, 5, 9);
            rnn_forward(net, b, w);
            double L = rnn_loss(net, b, w);
            double *zs = malloc(9 * N * sizeof(double)), *hs = malloc(9 * N * sizeof(double));
            double *outs = malloc(9 * O * sizeof(double)), err = 0;
            for (size_t i = 0; i < b->n_batch; i++) {
                ref_forward_item(net, b, i, zs, hs, outs);
                for (size_t t = 0; t < b->len[i]; t++) {
                    for (size_t n = 0; n < N; n++)
                        err = fmax(err, fabs(hs[t * N + n] - w->h[(i * 9 + t) * N + n]));
                    for (size_t k = 0; k < O; k++)
                        err = fmax(err, fabs(outs[t * O + k] - w->o[(i * 9 + t) * O + k]));
                }
            }
            CHECK(err < 1e-13, "forward (dgemm) = naive reference, alpha %s, %s: max |diff| %.3g",
                  leaky ? "0.37" : "1", lk ? "mse" : "xent", err);
            double Lr = ref_loss(net, b);
            CHECK(fabs(L - Lr) < 1e-13 * fabs(Lr), "loss = reference: %.15g vs %.15g", L, Lr);
            free(zs); free(hs); free(outs);
            rnn_work_free(w); trial_batch_free(b); rnn_free(net);
        }
}

/* Every parameter of bptt against central differences, several seeds, leaky and not,
 * masked steps, both losses. */
static void test_bptt_finite_differences(void) {
    size_t I = 3, N = 6, O = 3;
    for (uint64_t seed = 1; seed <= 3; seed++)
        for (int leaky = 0; leaky < 2; leaky++)
            for (int lk = 0; lk < 2; lk++) {
                rnn_loss_kind loss = lk ? RNN_MSE : RNN_XENT;
                rnn *net = make_net(I, N, O, leaky ? 0.43 : 1.0, loss, 100 * seed + leaky);
                trial_batch *b = make_batch(3, 7, I, O, loss, 200 * seed + lk);
                rnn_work *w = rnn_work_alloc(net, 3, 7);
                double *wt_rec = malloc(N * N * sizeof(double)), *wt_out = malloc(N * O * sizeof(double));
                rnn_transpose_weights(net, wt_rec, wt_out);
                rnn_forward(net, b, w);
                rnn_loss(net, b, w);
                rnn_backward(net, b, w, wt_out, wt_rec, 0, net->grads);
                double asym = 0, eps = 1e-5;
                size_t counted = 0, P = net->n_params;
                for (size_t p = 0; p < P; p++) {
                    double keep = net->params[p];
                    net->params[p] = keep + eps;
                    rnn_forward(net, b, w);
                    double lp = rnn_loss(net, b, w);
                    net->params[p] = keep - eps;
                    rnn_forward(net, b, w);
                    double lm = rnn_loss(net, b, w);
                    net->params[p] = keep;
                    double fd = (lp - lm) / (2 * eps), an = net->grads[p];
                    if (fabs(fd) + fabs(an) > 0) { asym += fabs(fd - an) / (fabs(fd) + fabs(an)); counted++; }
                }
                asym /= (double)(counted ? counted : 1);
                CHECK(asym < 1e-6 && counted > P / 2,
                      "bptt vs finite differences, seed %d, alpha %s, %s, all %zu parameters: "
                      "mean abs asymmetry %.3g", (int)seed, leaky ? "0.43" : "1", lk ? "mse" : "xent",
                      P, asym);
                free(wt_rec); free(wt_out);
                rnn_work_free(w); trial_batch_free(b); rnn_free(net);
            }
}

/* The fast backward with any feedback equals the naive reference with the same
 * feedback, and with transposed weights it equals BPTT (the family's identity). */
static void test_backward_family(void) {
    size_t I = 3, N = 8, O = 3, T = 10, B = 5;
    for (int leaky = 0; leaky < 2; leaky++) {
        rnn *net = make_net(I, N, O, leaky ? 0.29 : 1.0, RNN_XENT, 31 + leaky);
        trial_batch *b = make_batch(B, T, I, O, RNN_XENT, 41);
        rnn_work *w = rnn_work_alloc(net, B, T);
        size_t P = net->n_params;
        double *wt_rec = malloc(N * N * sizeof(double)), *wt_out = malloc(N * O * sizeof(double));
        double *fb_rec = malloc(N * N * sizeof(double)), *fb_out = malloc(N * O * sizeof(double));
        double *g1 = malloc(P * sizeof(double)), *g2 = malloc(P * sizeof(double));
        rnn_transpose_weights(net, wt_rec, wt_out);
        random_matrix(fb_rec, N * N, 0.9 / sqrt((double)N), 5, "fb_rec");
        random_matrix(fb_out, N * O, 1.0 / sqrt((double)N), 5, "fb_out");
        rnn_forward(net, b, w);
        rnn_loss(net, b, w);
        /* fa (full) with transposed weights = the reference BPTT */
        rnn_backward(net, b, w, wt_out, wt_rec, 0, g1);
        ref_backward(net, b, wt_out, wt_rec, 0, g2);
        CHECK(max_abs_diff(g1, g2, P) < 1e-12, "fa with feedback = transposed weights equals "
              "reference bptt (alpha %s): max |diff| %.3g", leaky ? "0.29" : "1", max_abs_diff(g1, g2, P));
        /* random feedback: fast = reference, and differs from bptt */
        rnn_backward(net, b, w, fb_out, fb_rec, 0, g1);
        ref_backward(net, b, fb_out, fb_rec, 0, g2);
        CHECK(max_abs_diff(g1, g2, P) < 1e-12, "fa (full, random feedback) fast = reference: %.3g",
              max_abs_diff(g1, g2, P));
        rnn_backward(net, b, w, wt_out, wt_rec, 0, net->grads);
        double ang_full = rnn_angle_deg(g1, net->grads, P);
        CHECK(ang_full > 1.0, "random feedback changes the update: angle to bptt %.2f deg", ang_full);
        rnn_backward(net, b, w, fb_out, wt_rec, 0, g1);
        ref_backward(net, b, fb_out, wt_rec, 0, g2);
        CHECK(max_abs_diff(g1, g2, P) < 1e-12, "fa (readout only) fast = reference: %.3g",
              max_abs_diff(g1, g2, P));
        /* the readout gradient does not depend on the feedback */
        double dv = max_abs_diff(g1 + N * N + N * I + N, net->grads + N * N + N * I + N, O * N + O);
        CHECK(dv == 0, "dV and dc are the same for every feedback: max |diff| %.3g", dv);
        free(wt_rec); free(wt_out); free(fb_rec); free(fb_out); free(g1); free(g2);
        rnn_work_free(w); trial_batch_free(b); rnn_free(net);
    }
}

static void test_truncation(void) {
    size_t I = 3, N = 6, O = 3, T = 11, B = 4;
    rnn *net = make_net(I, N, O, 0.61, RNN_MSE, 77);
    trial_batch *b = make_batch(B, T, I, O, RNN_MSE, 78);
    rnn_work *w = rnn_work_alloc(net, B, T);
    size_t P = net->n_params;
    double *wt_rec = malloc(N * N * sizeof(double)), *wt_out = malloc(N * O * sizeof(double));
    double *g0 = malloc(P * sizeof(double)), *g1 = malloc(P * sizeof(double)), *g2 = malloc(P * sizeof(double));
    rnn_transpose_weights(net, wt_rec, wt_out);
    rnn_forward(net, b, w);
    rnn_loss(net, b, w);
    rnn_backward(net, b, w, wt_out, wt_rec, 0, g0);
    size_t windows[3] = {T, T + 5, 1000};
    for (int k = 0; k < 3; k++) {
        rnn_backward(net, b, w, wt_out, wt_rec, windows[k], g1);
        CHECK(max_abs_diff(g0, g1, P) == 0, "truncate window %zu >= T = %zu equals full bptt: %.3g",
              windows[k], T, max_abs_diff(g0, g1, P));
    }
    rnn_backward(net, b, w, wt_out, wt_rec, 3, g1);
    ref_backward(net, b, wt_out, wt_rec, 3, g2);
    CHECK(max_abs_diff(g1, g2, P) < 1e-12, "truncate window 3 fast = reference: %.3g", max_abs_diff(g1, g2, P));
    CHECK(max_abs_diff(g1, g0, P) > 1e-6, "truncate window 3 differs from full bptt: %.3g", max_abs_diff(g1, g0, P));
    /* window 1: dW only from the step's own h_{t-1} (no carried error) */
    rnn_backward(net, b, w, wt_out, wt_rec, 1, g1);
    ref_backward(net, b, wt_out, wt_rec, 1, g2);
    CHECK(max_abs_diff(g1, g2, P) < 1e-12, "truncate window 1 fast = reference: %.3g", max_abs_diff(g1, g2, P));
    free(wt_rec); free(wt_out); free(g0); free(g1); free(g2);
    rnn_work_free(w); trial_batch_free(b); rnn_free(net);
}

/* RFLO by an independent computation: explicit i, j loops over a 3-unit network for 4
 * steps, a single trial, traces as 2-D arrays, MSE loss, leaky units. */
static void test_rflo_explicit(void) {
    enum { NI = 2, NR = 3, NO = 2, NT = 4 };
    double al = 0.35;
    rnn *net = make_net(NI, NR, NO, al, RNN_MSE, 91);
    task tk = {NULL, NI, NO, NT, NULL};
    trial_batch *b = trial_batch_alloc(1, &tk);
    b->len[0] = NT;
    double xs[NT][NI] = {{0.83, -1.27}, {2.385, 0.41}, {-0.66, 1.93}, {0.12, -0.57}};
    double ys[NT][NO] = {{0.5, -0.25}, {-1.1, 0.73}, {0.2, 0.9}, {-0.4, -0.35}};
    double ms[NT] = {1, 0, 1, 1};
    for (int t = 0; t < NT; t++) {
        for (int k = 0; k < NI; k++) b->x[t * NI + k] = xs[t][k];
        for (int k = 0; k < NO; k++) b->y[t * NO + k] = ys[t][k];
        b->mask[t] = ms[t];
    }
    double Bf[NR][NO] = {{0.7, -0.3}, {-0.45, 0.95}, {0.2, 0.6}};
    /* independent computation */
    double W[NR][NR], U[NR][NI], bb[NR], V[NO][NR], c[NO];
    for (int i = 0; i < NR; i++) {
        for (int j = 0; j < NR; j++) W[i][j] = net->w_rec[i * NR + j];
        for (int j = 0; j < NI; j++) U[i][j] = net->w_in[i * NI + j];
        bb[i] = net->b_rec[i];
    }
    for (int k = 0; k < NO; k++) {
        for (int j = 0; j < NR; j++) V[k][j] = net->w_out[k * NR + j];
        c[k] = net->b_out[k];
    }
    double h[NR] = {0, 0, 0}, p[NR][NR] = {{0}}, q[NR][NI] = {{0}}, r[NR] = {0};
    double dW[NR][NR] = {{0}}, dU[NR][NI] = {{0}}, db[NR] = {0}, dV[NO][NR] = {{0}}, dc[NO] = {0};
    double count = ms[0] + ms[1] + ms[2] + ms[3];
    for (int t = 0; t < NT; t++) {
        double a[NR], hn[NR];
        for (int i = 0; i < NR; i++) {
            a[i] = bb[i];
            for (int j = 0; j < NR; j++) a[i] += W[i][j] * h[j];
            for (int j = 0; j < NI; j++) a[i] += U[i][j] * xs[t][j];
        }
        for (int i = 0; i < NR; i++) {
            double fprime = 1.0 - tanh(a[i]) * tanh(a[i]);
            for (int j = 0; j < NR; j++) p[i][j] = (1 - al) * p[i][j] + al * fprime * h[j];
            for (int j = 0; j < NI; j++) q[i][j] = (1 - al) * q[i][j] + al * fprime * xs[t][j];
            r[i] = (1 - al) * r[i] + al * fprime;
            hn[i] = (1 - al) * h[i] + al * tanh(a[i]);
        }
        for (int i = 0; i < NR; i++) h[i] = hn[i];
        double err[NO];
        for (int k = 0; k < NO; k++) {
            double o = c[k];
            for (int j = 0; j < NR; j++) o += V[k][j] * h[j];
            err[k] = ms[t] * (o - ys[t][k]) / count;
        }
        for (int i = 0; i < NR; i++) {
            double proj = 0;
            for (int k = 0; k < NO; k++) proj += Bf[i][k] * err[k];
            for (int j = 0; j < NR; j++) dW[i][j] += proj * p[i][j];
            for (int j = 0; j < NI; j++) dU[i][j] += proj * q[i][j];
            db[i] += proj * r[i];
        }
        for (int k = 0; k < NO; k++) {
            for (int j = 0; j < NR; j++) dV[k][j] += err[k] * h[j];
            dc[k] += err[k];
        }
    }
    double expect[64];
    size_t n = 0;
    for (int i = 0; i < NR; i++) for (int j = 0; j < NR; j++) expect[n++] = dW[i][j];
    for (int i = 0; i < NR; i++) for (int j = 0; j < NI; j++) expect[n++] = dU[i][j];
    for (int i = 0; i < NR; i++) expect[n++] = db[i];
    for (int k = 0; k < NO; k++) for (int j = 0; j < NR; j++) expect[n++] = dV[k][j];
    for (int k = 0; k < NO; k++) expect[n++] = dc[k];
    CHECK(n == net->n_params, "parameter count %zu = %zu", n, net->n_params);
    rnn_work *w = rnn_work_alloc(net, 1, NT);
    double traces[NR * (NR + NI + 1)], slices[64], g[64], g2[64];
    rnn_forward(net, b, w);
    rnn_loss(net, b, w);
    rnn_rflo_grad_online(net, b, w, &Bf[0][0], traces, slices, g);
    rnn_rflo_grad(net, b, w, &Bf[0][0], g2);
    double d = max_abs_diff(g, expect, n), d2 = max_abs_diff(g2, expect, n), gmax = 0;
    for (size_t k = 0; k < n; k++) gmax = fmax(gmax, fabs(expect[k]));
    CHECK(d < 1e-14 && gmax > 1e-3, "rflo online traces = explicit 3-unit, 4-step computation: "
          "max |diff| %.3g (largest component %.3g)", d, gmax);
    CHECK(d2 < 1e-14, "rflo closed form = explicit 3-unit, 4-step computation: max |diff| %.3g", d2);
    rnn_work_free(w);
    trial_batch_free(b);
    rnn_free(net);
}

/* With W = 0 the terms RFLO drops vanish, so RFLO with fb_out = V^T is exact BPTT. */
static void test_rflo_equals_bptt_without_recurrence(void) {
    size_t I = 3, N = 5, O = 3, T = 8, B = 4;
    for (int leaky = 0; leaky < 2; leaky++) {
        rnn *net = make_net(I, N, O, leaky ? 0.53 : 1.0, RNN_XENT, 61);
        memset(net->w_rec, 0, N * N * sizeof(double));
        trial_batch *b = make_batch(B, T, I, O, RNN_XENT, 62);
        rnn_work *w = rnn_work_alloc(net, B, T);
        size_t P = net->n_params;
        double *wt_rec = malloc(N * N * sizeof(double)), *wt_out = malloc(N * O * sizeof(double));
        double *tr = malloc(B * N * (N + I + 1) * sizeof(double)), *sl = malloc(B * P * sizeof(double));
        double *g1 = malloc(P * sizeof(double)), *g2 = malloc(P * sizeof(double));
        rnn_transpose_weights(net, wt_rec, wt_out);
        rnn_forward(net, b, w);
        rnn_loss(net, b, w);
        rnn_backward(net, b, w, wt_out, wt_rec, 0, g1);
        rnn_rflo_grad_online(net, b, w, wt_out, tr, sl, g2);
        CHECK(max_abs_diff(g1, g2, P) < 1e-12, "rflo (online) with W = 0 and B = V^T equals bptt (alpha %s): %.3g",
              leaky ? "0.53" : "1", max_abs_diff(g1, g2, P));
        rnn_rflo_grad(net, b, w, wt_out, g2);
        CHECK(max_abs_diff(g1, g2, P) < 1e-12, "rflo (closed form) with W = 0 and B = V^T equals bptt (alpha %s): %.3g",
              leaky ? "0.53" : "1", max_abs_diff(g1, g2, P));
        free(wt_rec); free(wt_out); free(tr); free(sl); free(g1); free(g2);
        rnn_work_free(w); trial_batch_free(b); rnn_free(net);
    }
}

static void test_thread_invariance(void) {
#ifdef _OPENMP
    size_t I = 3, N = 150, O = 3, T = 13, B = 9; /* B N^2 above RNN_PAR_MIN_WORK: threaded */
    rnn *net = make_net(I, N, O, 0.8, RNN_XENT, 71);
    trial_batch *b = make_batch(B, T, I, O, RNN_XENT, 72);
    rnn_work *w = rnn_work_alloc(net, B, T);
    size_t P = net->n_params;
    double *fb_rec = malloc(N * N * sizeof(double)), *fb_out = malloc(N * O * sizeof(double));
    double *tr = malloc(B * N * (N + I + 1) * sizeof(double)), *sl = malloc(B * P * sizeof(double));
    double *g[2][2], L[2];
    random_matrix(fb_rec, N * N, 0.2, 6, "fb_rec");
    random_matrix(fb_out, N * O, 0.2, 6, "fb_out");
    int keep = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k + 1);
        g[k][0] = malloc(P * sizeof(double));
        g[k][1] = malloc(P * sizeof(double));
        rnn_forward(net, b, w);
        L[k] = rnn_loss(net, b, w);
        rnn_backward(net, b, w, fb_out, fb_rec, 0, g[k][0]);
        rnn_rflo_grad(net, b, w, fb_out, g[k][1]);
    }
    omp_set_num_threads(keep);
    CHECK(L[0] == L[1], "loss identical with 1 and 2 threads");
    CHECK(memcmp(g[0][0], g[1][0], P * sizeof(double)) == 0, "backward bitwise identical with 1 and 2 threads");
    CHECK(memcmp(g[0][1], g[1][1], P * sizeof(double)) == 0, "rflo bitwise identical with 1 and 2 threads");
    for (int k = 0; k < 2; k++) { free(g[k][0]); free(g[k][1]); }
    free(fb_rec); free(fb_out); free(tr); free(sl);
    rnn_work_free(w); trial_batch_free(b); rnn_free(net);
#else
    CHECK(1, "built without OpenMP: thread invariance trivially holds");
#endif
}

/* The closed form of RFLO's summed update against the step-by-step traces on a larger,
 * leaky network with recurrence, items of different lengths and masked steps. */
static void test_rflo_closed_form(void) {
    size_t I = 3, N = 40, O = 4, T = 17, B = 11;
    rnn *net = make_net(I, N, O, 0.37, RNN_XENT, 81);
    trial_batch *b = make_batch(B, T, I, O, RNN_XENT, 82);
    rnn_work *w = rnn_work_alloc(net, B, T);
    size_t P = net->n_params;
    double *fb_out = malloc(N * O * sizeof(double));
    double *tr = malloc(B * N * (N + I + 1) * sizeof(double)), *sl = malloc(B * P * sizeof(double));
    double *g1 = malloc(P * sizeof(double)), *g2 = malloc(P * sizeof(double));
    random_matrix(fb_out, N * O, 0.4, 8, "fb_out");
    rnn_forward(net, b, w);
    rnn_loss(net, b, w);
    rnn_rflo_grad_online(net, b, w, fb_out, tr, sl, g1);
    rnn_rflo_grad(net, b, w, fb_out, g2);
    double d = 0, gmax = 0;
    for (size_t k = 0; k < P; k++) { d = fmax(d, fabs(g1[k] - g2[k])); gmax = fmax(gmax, fabs(g1[k])); }
    CHECK(d <= 1e-13 * gmax && gmax > 1e-4, "rflo closed form = online traces (N %zu, leaky, lengths %zu..%zu): "
          "max |diff| %.3g of largest %.3g", N, b->len[B - 1], b->len[0], d, gmax);
    free(fb_out); free(tr); free(sl); free(g1); free(g2);
    rnn_work_free(w); trial_batch_free(b); rnn_free(net);
}

/* Relative L2 distance |a - b| / |b|. */
static double rel_l2(const double *a, const double *b, size_t n) {
    double d = 0, s = 0;
    for (size_t k = 0; k < n; k++) { d += (a[k] - b[k]) * (a[k] - b[k]); s += b[k] * b[k]; }
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

/* float32 workspaces against float64 on the same batch and weights: the loss to 1e-5
 * relative, the gradients of bptt, fa (random feedback through time) and rflo to 1e-4 in
 * relative L2 (float's 6e-8 rounding, grown by T = 23 steps and sums over ~200 rows:
 * measured ~1e-6); bitwise identical with 1 and 2 threads; and float64 is still
 * untouched by the existence of the float path (same bits as a fresh float64 run). */
static void test_float32_path(void) {
    size_t I = 3, N = 150, O = 3, T = 23, B = 9; /* B N^2 above RNN_PAR_MIN_WORK: threaded */
    rnn *net = make_net(I, N, O, 0.8, RNN_XENT, 91);
    trial_batch *b = make_batch(B, T, I, O, RNN_XENT, 92);
    rnn_work *w64 = rnn_work_alloc(net, B, T);
    rnn_work *w32 = rnn_work_alloc_precision(net, B, T, RNN_FLOAT32);
    CHECK(w32 && w32->precision == RNN_FLOAT32 && w32->f32 && !w32->h, "float32 workspace allocated");
    size_t P = net->n_params;
    double *fb_rec = malloc(N * N * sizeof(double)), *fb_out = malloc(N * O * sizeof(double));
    double *wt_rec = malloc(N * N * sizeof(double)), *wt_out = malloc(N * O * sizeof(double));
    double *g64 = malloc(P * sizeof(double)), *g32[2][3];
    random_matrix(fb_rec, N * N, 0.2, 9, "fb_rec");
    random_matrix(fb_out, N * O, 0.2, 9, "fb_out");
    rnn_transpose_weights(net, wt_rec, wt_out);
    double L64, L32[2];
#ifdef _OPENMP
    int keep = omp_get_max_threads();
#endif
    for (int th = 0; th < 2; th++) {
#ifdef _OPENMP
        omp_set_num_threads(th + 1);
#endif
        for (int k = 0; k < 3; k++) g32[th][k] = malloc(P * sizeof(double));
        rnn_forward(net, b, w32);
        L32[th] = rnn_loss(net, b, w32);
        rnn_backward(net, b, w32, wt_out, wt_rec, 0, g32[th][0]);
        rnn_backward(net, b, w32, fb_out, fb_rec, 0, g32[th][1]);
        rnn_rflo_grad(net, b, w32, fb_out, g32[th][2]);
    }
#ifdef _OPENMP
    omp_set_num_threads(keep);
#endif
    rnn_forward(net, b, w64);
    L64 = rnn_loss(net, b, w64);
    CHECK(fabs(L32[0] - L64) <= 1e-5 * fabs(L64), "float32 loss %.9g vs float64 %.9g", L32[0], L64);
    const char *names[3] = {"bptt", "fa", "rflo"};
    for (int k = 0; k < 3; k++) {
        if (k == 0) rnn_backward(net, b, w64, wt_out, wt_rec, 0, g64);
        if (k == 1) rnn_backward(net, b, w64, fb_out, fb_rec, 0, g64);
        if (k == 2) rnn_rflo_grad(net, b, w64, fb_out, g64);
        double e = rel_l2(g32[0][k], g64, P);
        CHECK(e < 1e-4, "float32 %s update vs float64: relative L2 %.3g", names[k], e);
        CHECK(memcmp(g32[0][k], g32[1][k], P * sizeof(double)) == 0,
              "float32 %s update bitwise identical with 1 and 2 threads", names[k]);
    }
    CHECK(L32[0] == L32[1], "float32 loss identical with 1 and 2 threads");
    for (int th = 0; th < 2; th++) for (int k = 0; k < 3; k++) free(g32[th][k]);
    free(fb_rec); free(fb_out); free(wt_rec); free(wt_out); free(g64);
    rnn_work_free(w64); rnn_work_free(w32); trial_batch_free(b); rnn_free(net);
}

static void test_step_matches_forward(void) {
    size_t I = 3, N = 9, O = 3, T = 6;
    rnn *net = make_net(I, N, O, 0.7, RNN_XENT, 81);
    trial_batch *b = make_batch(1, T, I, O, RNN_XENT, 82);
    rnn_work *w = rnn_work_alloc(net, 1, T);
    rnn_forward(net, b, w);
    double h[2][16] = {{0}}, out[3], err = 0;
    for (size_t t = 0; t < T; t++) {
        rnn_step(net, h[t % 2], b->x + t * I, h[(t + 1) % 2], out);
        for (size_t k = 0; k < O; k++) err = fmax(err, fabs(out[k] - w->o[t * O + k]));
        for (size_t n = 0; n < N; n++) err = fmax(err, fabs(h[(t + 1) % 2][n] - w->h[t * N + n]));
    }
    CHECK(err < 1e-14, "rnn_step reproduces the batched forward: %.3g", err);
    rnn_work_free(w); trial_batch_free(b); rnn_free(net);
}

static void test_alloc_errors(void) {
    CHECK(rnn_alloc(0, 4, 3, 1.0, RNN_XENT) == NULL && strstr(engram_error(), "positive"),
          "zero inputs refused: %s", engram_error());
    CHECK(rnn_alloc(3, 4, 3, 1.5, RNN_XENT) == NULL && strstr(engram_error(), "alpha"),
          "alpha > 1 refused: %s", engram_error());
    CHECK(rnn_alloc(3, 4, 3, 0.0, RNN_XENT) == NULL, "alpha = 0 refused");
    CHECK(anbn_task_alloc(0, 4) == NULL, "anbn n_min = 0 refused: %s", engram_error());
    CHECK(anbn_task_alloc(5, 4) == NULL, "anbn n_min > n_max refused: %s", engram_error());
    rnn *net = rnn_alloc(3, 4, 3, 1.0, RNN_XENT);
    CHECK(rnn_work_alloc(net, 0, 5) == NULL, "empty workspace refused: %s", engram_error());
    rnn_free(net);
    rnn_free(NULL);
    rnn_work_free(NULL);
}

static void test_spectral_radius(void) {
    /* upper triangular: eigenvalues on the diagonal (2.385, -3.1, 0.5) */
    double m[9] = {2.385, 7.0, -1.0, 0, -3.1, 4.0, 0, 0, 0.5};
    CHECK_CLOSE(rnn_spectral_radius(m, 3), 3.1, 1e-12, "spectral radius of a triangular matrix");
    /* rotation by 30 degrees scaled by 1.7: eigenvalues 1.7 e^{+-i pi/6} */
    double c = 1.7 * cos(M_PI / 6), s = 1.7 * sin(M_PI / 6);
    double r[4] = {c, -s, s, c};
    CHECK_CLOSE(rnn_spectral_radius(r, 2), 1.7, 1e-12, "spectral radius of a scaled rotation");
    double u[3] = {1, 0, 0}, v[3] = {1, 1, 0};
    CHECK_CLOSE(rnn_angle_deg(u, v, 3), 45.0, 1e-12, "angle between (1,0,0) and (1,1,0)");
}

static void test_anbn_task(void) {
    double x[9 * 3] = {0}, y[9 * 3] = {0}, m[9] = {0};
    size_t T = anbn_trial(3, x, y, m);
    CHECK(T == 7, "count 3 gives T = 2n + 1 = 7 steps (got %zu)", T);
    const char *sym = "ab|";
    char in[16] = {0}, tg[16] = {0};
    for (size_t t = 0; t < T; t++)
        for (int k = 0; k < 3; k++) {
            if (x[t * 3 + k] == 1) in[t] = sym[k];
            if (y[t * 3 + k] == 1) tg[t] = sym[k];
        }
    CHECK(strcmp(in, "aaa|bbb") == 0 && strcmp(tg, "aa|bbb|") == 0,
          "inputs '%s', targets '%s' (aaa|bbb| shifted by one)", in, tg);
    double ms = 0;
    for (size_t t = 0; t < 9; t++) ms += m[t];
    CHECK(ms == 7, "every step counted, nothing past T: mask sum %g", ms);
    CHECK(anbn_errors(y, y, T, 3) == 0, "the targets themselves make no error");
    double out[7 * 3];
    memcpy(out, y, sizeof out);
    out[2 * 3 + 0] = 2.0; /* predict a where the separator comes */
    CHECK(anbn_errors(out, y, T, 3) == 1, "one wrong argmax counts one error");
    task *tk = anbn_task_alloc(2, 5);
    CHECK(tk && tk->t_max == 11 && tk->n_in == 3 && tk->n_out == 3, "task sizes for counts 2..5");
    trial_batch *b = trial_batch_alloc(200, tk);
    gsl_rng *r = rng_stream_alloc(5, "data", 0);
    trial_batch_fill(b, tk, r);
    size_t seen[12] = {0}, bad = 0;
    for (size_t i = 0; i < b->n_batch; i++) {
        size_t n = (b->len[i] - 1) / 2;
        if (n < 2 || n > 5 || b->len[i] % 2 == 0) bad++; else seen[n]++;
    }
    CHECK(bad == 0 && seen[2] && seen[3] && seen[4] && seen[5],
          "200 drawn counts lie in 2..5 and cover it (%zu %zu %zu %zu)", seen[2], seen[3], seen[4], seen[5]);
    gsl_rng_free(r);
    trial_batch_free(b);
    task_free(tk);
}

/* ---------------------------------------------------------------------------------- */
/* the learners                                                                        */

static config *learner_config(void) {
    static const cfg_key *const tables[] = {config_common_keys, learner_keys, NULL};
    return config_alloc(tables);
}

static void set(config *c, const char *k, const char *v) {
    if (config_set_value(c, k, v, "test") != ENGRAM_OK) printf("# cannot set %s: %s\n", k, engram_error());
}

static size_t find_blob(const ckpt_blob *bl, size_t n, const char *name) {
    for (size_t k = 0; k < n; k++) if (strcmp(bl[k].name, name) == 0) return k;
    return n;
}

/* End to end through the learner interface: fa whose feedback matrices are overwritten
 * with the transposed weights takes exactly bptt's update. */
static void test_learner_fa_identity(void) {
    config *c = learner_config();
    set(c, "model.n_rec", "12");
    set(c, "train.batch", "6");
    set(c, "train.optimizer", "sgd");
    set(c, "train.lr", "0.3");
    set(c, "model.alpha", "0.55");
    task *tk = anbn_task_alloc(1, 4);
    trial_batch *b = trial_batch_alloc(6, tk);
    gsl_rng *r = rng_stream_alloc(3, "data", 0);
    trial_batch_fill(b, tk, r);
    const learner_type *bp = learner_type_find("bptt"), *fa = learner_type_find("fa");
    CHECK(bp && fa && learner_type_find("rflo") && learner_type_find("esn"),
          "bptt, fa, rflo and esn are registered");
    if (!bp || !fa) goto out;
    learner *lb = bp->alloc(c, 3, 3, tk->t_max, 9), *lf = fa->alloc(c, 3, 3, tk->t_max, 9);
    ckpt_blob bb[8], bf[8];
    size_t nb = bp->blobs(lb, bb, 8), nf = fa->blobs(lf, bf, 8);
    size_t kp = find_blob(bf, nf, "rnn.params"), kf = find_blob(bf, nf, "rnn.feedback");
    CHECK(kp < nf && kf < nf && nb == nf, "learner blobs name params and feedback");
    size_t N = 12, O = 3;
    const double *par = bf[kp].data;
    double *fb = bf[kf].data;
    CHECK(memcmp(bb[kp].data, bf[kp].data, bb[kp].size) == 0, "same seed, same initial weights for bptt and fa");
    /* fb_out (N, O) = V^T, fb_rec (N, N) = W^T */
    const double *W = par, *V = par + N * N + N * 3 + N;
    for (size_t n = 0; n < N; n++) for (size_t k = 0; k < O; k++) fb[n * O + k] = V[k * N + n];
    for (size_t i = 0; i < N; i++) for (size_t j = 0; j < N; j++) fb[N * O + j * N + i] = W[i * N + j];
    double lossb, lossf, extra[LEARNER_MAX_EXTRA];
    int rb = bp->train(lb, b, &lossb, extra), rf = fa->train(lf, b, &lossf, extra);
    CHECK(rb == ENGRAM_OK && rf == ENGRAM_OK && lossb == lossf, "one update each, loss %.10g", lossb);
    double d = max_abs_diff(bb[kp].data, bf[kp].data, bb[kp].size / sizeof(double));
    CHECK(d < 1e-12, "fa with transposed feedback takes bptt's update: max |diff| %.3g", d);
    CHECK(fa->n_extra(lf) == 1 && strcmp(fa->extra_name(lf, 0), "grad_angle_deg") == 0 && extra[0] < 1e-5,
          "fa reports grad_angle_deg = %.3g deg with exact feedback", extra[0]);
    bp->free(lb);
    fa->free(lf);
    /* a batch larger than train.batch (and longer than t_max) regrows the workspaces */
    set(c, "train.batch", "2");
    learner *lg = bp->alloc(c, 3, 3, 3, 9);
    int rg = bp->train(lg, b, &lossb, extra);
    CHECK(rg == ENGRAM_OK && isfinite(lossb), "bptt trains a batch of 6 x %zu steps after alloc for 2 x 3",
          b->t_max);
    bp->free(lg);
out:
    gsl_rng_free(r);
    trial_batch_free(b);
    task_free(tk);
    config_free(c);
}

static void test_learner_diverges(void) {
    config *c = learner_config();
    set(c, "model.n_rec", "16");
    set(c, "train.optimizer", "sgd");
    set(c, "train.loss", "mse");
    set(c, "train.lr", "50");
    task *tk = anbn_task_alloc(1, 4);
    trial_batch *b = trial_batch_alloc(16, tk);
    gsl_rng *r = rng_stream_alloc(4, "data", 0);
    const char *rules[4] = {"bptt", "fa", "rflo", "esn"};
    for (int k = 0; k < 4; k++) {
        const learner_type *lt = learner_type_find(rules[k]);
        if (!lt) { CHECK(0, "%s registered", rules[k]); continue; }
        learner *l = lt->alloc(c, 3, 3, tk->t_max, 1);
        int rc = ENGRAM_OK, step = 0;
        double loss, extra[LEARNER_MAX_EXTRA];
        for (; step < 200 && rc == ENGRAM_OK; step++) {
            trial_batch_fill(b, tk, r);
            rc = lt->train(l, b, &loss, extra);
        }
        CHECK(rc == ENGRAM_EDIVERGED && strstr(engram_error(), "lower train.lr"),
              "%s with SGD lr 50 diverges at update %d: %s", rules[k], step, engram_error());
        lt->free(l);
    }
    gsl_rng_free(r);
    trial_batch_free(b);
    task_free(tk);
    config_free(c);
}

/* A short run of every rule on AnBn 1..2 lowers the loss; esn leaves W, U, b unchanged
 * and has the requested spectral radius; rflo reports a finite angle. */
static void test_learners_learn(void) {
    config *c = learner_config();
    set(c, "model.n_rec", "24");
    set(c, "train.lr", "0.02");
    set(c, "esn.spectral_radius", "0.85");
    task *tk = anbn_task_alloc(1, 2);
    trial_batch *b = trial_batch_alloc(16, tk);
    const char *rules[4] = {"bptt", "fa", "rflo", "esn"};
    for (int k = 0; k < 4; k++) {
        const learner_type *lt = learner_type_find(rules[k]);
        if (!lt) { CHECK(0, "%s registered", rules[k]); continue; }
        gsl_rng *r = rng_stream_alloc(8, "data", 0);
        learner *l = lt->alloc(c, 3, 3, tk->t_max, 2);
        ckpt_blob bl[8];
        size_t nbl = lt->blobs(l, bl, 8), kp = find_blob(bl, nbl, "rnn.params");
        size_t N = 24, P0 = N * N + N * 3 + N;
        double *p0 = malloc(bl[kp].size);
        memcpy(p0, bl[kp].data, bl[kp].size);
        if (k == 3)
            CHECK_CLOSE(rnn_spectral_radius(p0, N), 0.85, 1e-9, "esn: W has spectral radius esn.spectral_radius");
        double first = 0, last = 0, loss, extra[LEARNER_MAX_EXTRA] = {NAN};
        int rc = ENGRAM_OK;
        for (int s = 0; s < 300 && rc == ENGRAM_OK; s++) {
            trial_batch_fill(b, tk, r);
            rc = lt->train(l, b, &loss, extra);
            if (s < 20) first += loss / 20;
            if (s >= 280) last += loss / 20;
        }
        CHECK(rc == ENGRAM_OK && last < 0.8 * first, "%s lowers the AnBn loss: %.4f -> %.4f", rules[k], first, last);
        if (k == 1 || k == 2)
            CHECK(isfinite(extra[0]) && extra[0] > 0 && extra[0] < 180, "%s grad_angle_deg %.2f", rules[k], extra[0]);
        if (k == 3)
            CHECK(memcmp(p0, bl[kp].data, P0 * sizeof(double)) == 0, "esn: W, U and b stay frozen");
        /* the closed-loop step gives probabilities */
        double out[3], s = 0;
        lt->reset(l);
        double x[3] = {1, 0, 0};
        lt->step(l, x, out);
        s = out[0] + out[1] + out[2];
        size_t n;
        const double *h = lt->state(l, &n);
        CHECK(fabs(s - 1) < 1e-12 && n == N && h, "%s step: probabilities sum to 1, state of %zu units", rules[k], n);
        free(p0);
        lt->free(l);
        gsl_rng_free(r);
    }
    trial_batch_free(b);
    task_free(tk);
    config_free(c);
}

/* run.precision = float32 trains like float64: the same seed and batches for 40 AnBn
 * updates, every batch loss within 1e-3 relative of the float64 run's (float rounding
 * grows along the trajectory: measured ~1e-7 here) and the final parameters within 1e-3
 * relative L2; esn refuses float32 with one line. */
static void test_learner_float32(void) {
    const char *rules[3] = {"bptt", "fa", "rflo"};
    task *tk = anbn_task_alloc(1, 3);
    trial_batch *b = trial_batch_alloc(8, tk);
    for (int k = 0; k < 3; k++) {
        const learner_type *lt = learner_type_find(rules[k]);
        learner *l[2];
        double worst = 0;
        int rc = ENGRAM_OK;
        for (int p = 0; p < 2; p++) {
            config *c = learner_config();
            set(c, "model.n_rec", "32");
            set(c, "train.lr", "0.01");
            set(c, "model.alpha", "0.6");
            if (p) set(c, "run.precision", "float32");
            l[p] = lt->alloc(c, 3, 3, tk->t_max, 5);
            config_free(c);
        }
        gsl_rng *r = rng_stream_alloc(9, "data", 0);
        for (int s = 0; s < 40 && rc == ENGRAM_OK; s++) {
            trial_batch_fill(b, tk, r);
            double loss[2], extra[LEARNER_MAX_EXTRA];
            for (int p = 0; p < 2 && rc == ENGRAM_OK; p++) rc = lt->train(l[p], b, &loss[p], extra);
            worst = fmax(worst, fabs(loss[1] - loss[0]) / loss[0]);
        }
        ckpt_blob b64[8], b32[8];
        size_t n64 = lt->blobs(l[0], b64, 8), n32 = lt->blobs(l[1], b32, 8);
        size_t k64 = find_blob(b64, n64, "rnn.params"), k32 = find_blob(b32, n32, "rnn.params");
        double e = rel_l2(b32[k32].data, b64[k64].data, b64[k64].size / sizeof(double));
        CHECK(rc == ENGRAM_OK && worst < 1e-3, "%s float32: 40 batch losses within %.3g relative of float64", rules[k], worst);
        CHECK(e < 1e-3, "%s float32: parameters after 40 updates within %.3g relative L2 of float64", rules[k], e);
        gsl_rng_free(r);
        lt->free(l[0]);
        lt->free(l[1]);
    }
    config *c = learner_config();
    set(c, "run.precision", "float32");
    learner *l = learner_esn.alloc(c, 3, 3, tk->t_max, 5);
    CHECK(!l && strstr(engram_error(), "float32"), "esn refuses float32: %s", engram_error());
    config_free(c);
    trial_batch_free(b);
    task_free(tk);
}

static const test_case tests[] = {
    {"forward", test_forward_matches_reference},
    {"bptt_fd", test_bptt_finite_differences},
    {"family", test_backward_family},
    {"truncation", test_truncation},
    {"rflo_explicit", test_rflo_explicit},
    {"rflo_w0", test_rflo_equals_bptt_without_recurrence},
    {"threads", test_thread_invariance},
    {"rflo_closed_form", test_rflo_closed_form},
    {"float32", test_float32_path},
    {"step", test_step_matches_forward},
    {"errors", test_alloc_errors},
    {"spectral", test_spectral_radius},
    {"anbn", test_anbn_task},
    {"learner_fa_identity", test_learner_fa_identity},
    {"learner_diverges", test_learner_diverges},
    {"learners_learn", test_learners_learn},
    {"learner_float32", test_learner_float32},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
