/* test_pathint.c: the float32 path of the path integrator's two cores, the rate RNN and
 * the LSTM (pathint.h, run.precision = float32), and the chunked products under it
 * (kern_gemm.h).
 *
 * Oracles: kern_gemm_d / kern_gemm_s against their naive triple loops (sums in double);
 * the float32 model against the float64 model (itself checked against finite
 * differences and a naive loop in test_lstm.c) on the same weights and data, with
 * tolerances stated from float32's unit roundoff 2^-24 = 6e-8: a sum of K products
 * carries a relative error of order sqrt(K) 6e-8, so losses agree to 1e-5 and
 * gradients (sums over T B = 1200 rows) to 1e-4 in relative L2 norm (the LSTM's, over
 * 240 rows: 1e-5), loss curves of 30 updates to 1e-5; and the bytes of 1, 2 and 3
 * threads, which must be identical in both precisions and both cores. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "engram/engram.h"
#include "engram/kern_gemm.h"
#include "engram/optim.h"
#include "engram/pathint.h"
#include "engram/rng.h"
#include "testhelp.h"

/* Maximum |a - b| / max|b| over n values. */
static double rel_max_err_d(const double *a, const double *b, size_t n) {
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs(a[i] - b[i]));
        s = fmax(s, fabs(b[i]));
    }
    return s > 0 ? e / s : e;
}

/* Every transpose combination, for shapes that take each path of kern_gemm: one call
 * (small), pieces by columns (few rows) and by rows (many rows), K = 0. */
static void test_gemm_vs_ref(void) {
    gsl_rng *r = rng_stream_alloc(3, "test", 0);
    const size_t shapes[][3] = {{7, 5, 3}, {37, 301, 29}, {613, 43, 17}, {9, 11, 0}};
    for (size_t si = 0; si < 4; si++) {
        const size_t M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
        const size_t na = (M > K ? M : K) * (K > M ? K : M) + 1, nb = (K > N ? K : N) * (K > N ? K : N) + 1;
        double *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b);
        double *c = malloc(M * N * sizeof *c), *cr = malloc(M * N * sizeof *cr);
        float *af = malloc(na * sizeof *af), *bf = malloc(nb * sizeof *bf);
        float *cf = malloc(M * N * sizeof *cf), *crf = malloc(M * N * sizeof *crf);
        for (size_t i = 0; i < na; i++) af[i] = (float)(a[i] = gsl_rng_uniform(r) * 2.385 - 1.1);
        for (size_t i = 0; i < nb; i++) bf[i] = (float)(b[i] = gsl_rng_uniform(r) * 1.7 - 0.9);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                size_t lda = ta ? M : K, ldb = tb ? K : N;
                if (lda == 0) lda = 1;
                if (ldb == 0) ldb = 1;
                for (size_t i = 0; i < M * N; i++) {
                    c[i] = cr[i] = 0.25 * (double)(i % 7);
                    cf[i] = crf[i] = (float)c[i];
                }
                kern_gemm_d(ta, tb, M, N, K, 1.3, a, lda, b, ldb, 0.7, c, N);
                kern_gemm_d_ref(ta, tb, M, N, K, 1.3, a, lda, b, ldb, 0.7, cr, N);
                kern_gemm_s(ta, tb, M, N, K, 1.3f, af, lda, bf, ldb, 0.7f, cf, N);
                kern_gemm_s_ref(ta, tb, M, N, K, 1.3f, af, lda, bf, ldb, 0.7f, crf, N);
                double ed = rel_max_err_d(c, cr, M * N), es = 0, ss = 0;
                for (size_t i = 0; i < M * N; i++) {
                    es = fmax(es, fabs((double)cf[i] - (double)crf[i]));
                    ss = fmax(ss, fabs((double)crf[i]));
                }
                es = ss > 0 ? es / ss : es;
                CHECK(ed < 1e-13 && es < 1e-5,
                      "gemm %zux%zux%zu trans (%d, %d): float64 rel err %.2g (< 1e-13), float32 %.2g (< 1e-5)",
                      M, N, K, ta, tb, ed, es);
            }
        free(a); free(b); free(c); free(cr); free(af); free(bf); free(cf); free(crf);
    }
    gsl_rng_free(r);
}

/* A small RNN path integrator with data: (B, T) trajectories of allocentric velocity,
 * softmax-like targets, a z-scored-like initial code. */
typedef struct {
    pathint *m;
    size_t B, T;
    double *vel, *pc0, *hd0, *pc, *hd;
} f_case;

static void f_case_alloc(f_case *c, const pathint_dims *d, size_t B, size_t T, uint64_t seed) {
    c->m = pathint_alloc(d, B, T);
    c->B = B;
    c->T = T;
    pathint_init_weights(c->m, seed);
    c->m->weight_decay = 2e-4;
    const size_t P = d->n_pc, D = d->n_hd;
    c->vel = malloc(B * T * d->n_in * sizeof(double));
    c->pc0 = malloc(B * P * sizeof(double));
    c->hd0 = malloc((B * D + 1) * sizeof(double));
    c->pc = malloc(B * T * P * sizeof(double));
    c->hd = malloc((B * T * D + 1) * sizeof(double));
    gsl_rng *r = rng_stream_alloc(seed, "test", 1);
    for (size_t i = 0; i < B * T * d->n_in; i++) c->vel[i] = 0.6 * (gsl_rng_uniform(r) - 0.5);
    for (size_t i = 0; i < B * P; i++) c->pc0[i] = gsl_ran_gaussian(r, 1.0);
    for (size_t i = 0; i < B * D + 1; i++) c->hd0[i] = gsl_rng_uniform(r);
    for (size_t row = 0; row < B * T; row++) {
        double s = 0, *y = c->pc + row * P;
        for (size_t k = 0; k < P; k++) s += y[k] = exp(2.0 * gsl_ran_gaussian(r, 1.0));
        for (size_t k = 0; k < P; k++) y[k] /= s;
        s = 0;
        double *q = c->hd + row * D;
        for (size_t k = 0; k < D; k++) s += q[k] = exp(gsl_ran_gaussian(r, 1.0));
        for (size_t k = 0; k < D; k++) q[k] /= s;
    }
    c->hd[B * T * D] = 0;
    gsl_rng_free(r);
}

static void f_case_free(f_case *c) {
    pathint_free(c->m);
    free(c->vel); free(c->pc0); free(c->hd0); free(c->pc); free(c->hd);
}

static double f_loss(f_case *c, int drop) {
    double L = NAN;
    pathint_forward(c->m, c->B, c->vel, c->pc0, c->hd0, c->pc, c->hd, drop, &L);
    return L;
}

/* Loss, outputs and gradients of float32 against float64 on the same weights and data:
 * ReLU without biases and without a head-direction head (the gridcells-rnn preset),
 * and tanh with biases, a head-direction head and dropout. */
static void test_f32_vs_f64(void) {
    for (int v = 0; v < 2; v++) {
        pathint_dims d = {2, 48, 48, 40, v ? 6 : 0, PATHINT_RNN};
        f_case c;
        f_case_alloc(&c, &d, 60, 20, 11 + (uint64_t)v);
        pathint *m = c.m;
        if (v) { m->rnn_act = PATHINT_TANH; m->bias = 1; m->dropout = 0.3; }
        for (size_t i = 0; v && i < m->n_params; i++) m->params[i] += 0.01 * (double)(i % 5);
        const size_t n = m->n_params, TB = c.T * c.B, P = d.n_pc, H = d.n_hidden;
        if (v) pathint_dropout_mask(m, c.B, 5, 1);
        double L64 = f_loss(&c, v);
        pathint_backward(m, c.pc, c.hd);
        double *g64 = malloc(n * sizeof *g64), *h64 = malloc(TB * H * sizeof *h64);
        double *p64 = malloc(TB * P * sizeof *p64);
        memcpy(g64, m->grads, n * sizeof *g64);
        memcpy(h64, m->g, TB * H * sizeof *h64);
        memcpy(p64, m->p_pc, TB * P * sizeof *p64);
        CHECK(pathint_set_precision(m, PATHINT_F32) == ENGRAM_OK, "float32 workspaces allocated");
        double L32 = f_loss(&c, v);
        pathint_backward(m, c.pc, c.hd);
        double eg = 0, sg = 0;
        for (size_t i = 0; i < n; i++) {
            eg += (m->grads[i] - g64[i]) * (m->grads[i] - g64[i]);
            sg += g64[i] * g64[i];
        }
        eg = sqrt(eg / sg);
        const char *what = v ? "tanh, biases, HD head, dropout" : "ReLU, no biases";
        CHECK(fabs(L32 - L64) <= 1e-5 * fabs(L64), "float32 loss %.9f vs float64 %.9f (%s; rel tol 1e-5)",
              L32, L64, what);
        CHECK(eg < 1e-4, "float32 gradients vs float64: relative L2 error %.2g (< 1e-4)", eg);
        double eh = rel_max_err_d(m->g, h64, TB * H), ep = rel_max_err_d(m->p_pc, p64, TB * P);
        CHECK(eh < 1e-4 && ep < 1e-4, "float32 outputs g (%.2g) and p_pc (%.2g) vs float64 (< 1e-4)", eh, ep);
        /* back to float64: the same bits as before */
        CHECK(pathint_set_precision(m, PATHINT_F64) == ENGRAM_OK && m->f32 == NULL, "back to float64");
        double L64b = f_loss(&c, v);
        pathint_backward(m, c.pc, c.hd);
        CHECK(memcmp(&L64b, &L64, sizeof L64) == 0 && memcmp(m->grads, g64, n * sizeof *g64) == 0,
              "float64 again: loss and gradients byte-identical to the first float64 pass");
        free(g64); free(h64); free(p64);
        f_case_free(&c);
    }
}

/* 30 Adam updates (lr 1e-3, as the presets) of the same network (d, batch B, T steps,
 * weight seed) in float64 and in float32: returns the largest relative difference of the
 * two loss curves and writes the float32 curve's first and last losses. lstm: dropout off
 * and no float64 copies of the float32 outputs. */
static double f32_tracking(const pathint_dims *d, size_t B, size_t T, uint64_t seed, int lstm,
                           double *first, double *last) {
    double Ls[2][30];
    for (int p = 0; p < 2; p++) {
        f_case c;
        f_case_alloc(&c, d, B, T, seed);
        if (lstm) c.m->dropout = 0;
        if (p) pathint_set_precision(c.m, PATHINT_F32);
        if (lstm) c.m->f32_outputs = 0;
        optim_params op = optim_defaults(OPTIM_ADAM);
        op.lr = 1e-3;
        optim *o = optim_alloc(&op, c.m->n_params);
        for (int k = 0; k < 30; k++) {
            Ls[p][k] = f_loss(&c, 0);
            pathint_backward(c.m, c.pc, c.hd);
            optim_step(o, c.m->params, c.m->grads);
        }
        optim_free(o);
        f_case_free(&c);
    }
    double e = 0;
    for (int k = 0; k < 30; k++) e = fmax(e, fabs(Ls[1][k] - Ls[0][k]) / fabs(Ls[0][k]));
    *first = Ls[1][0];
    *last = Ls[1][29];
    return e;
}

/* The rate-RNN core: the two loss curves agree to 1e-5 relative at every update and the
 * loss falls. */
static void test_f32_training_tracks_f64(void) {
    pathint_dims d = {2, 64, 64, 50, 0, PATHINT_RNN};
    double l0, l1, e = f32_tracking(&d, 40, 10, 21, 0, &l0, &l1);
    CHECK(e < 1e-5, "30 Adam updates: float32 loss curve within %.2g of float64 (< 1e-5 relative)", e);
    CHECK(l1 < l0 - 0.01, "float32 training lowers the loss (%.5f -> %.5f)", l0, l1);
}

/* The bytes of 3 updates (parameters, losses) with 1, 2 and 3 threads, in both
 * precisions, at a size where every product is cut in pieces. */
static void test_threads_both_precisions(void) {
#ifdef _OPENMP
    pathint_dims d = {2, 64, 64, 30, 0, PATHINT_RNN};
    for (int p = 0; p < 2; p++) {
        double *w[3], L[3];
        size_t n = 0;
        for (int k = 0; k < 3; k++) {
            omp_set_num_threads(k + 1);
            f_case c;
            f_case_alloc(&c, &d, 40, 8, 71);
            if (p) pathint_set_precision(c.m, PATHINT_F32);
            optim_params op = optim_defaults(OPTIM_ADAM);
            optim *o = optim_alloc(&op, c.m->n_params);
            for (int u = 0; u < 3; u++) {
                L[k] = f_loss(&c, 0);
                pathint_backward(c.m, c.pc, c.hd);
                optim_step(o, c.m->params, c.m->grads);
            }
            n = c.m->n_params;
            w[k] = malloc(n * sizeof(double));
            memcpy(w[k], c.m->params, n * sizeof(double));
            optim_free(o);
            f_case_free(&c);
        }
        omp_set_num_threads(2);
        for (int k = 1; k < 3; k++)
            CHECK(memcmp(&L[0], &L[k], sizeof L[0]) == 0 && memcmp(w[0], w[k], n * sizeof(double)) == 0,
                  "%s: 3 updates byte-identical with 1 and %d threads", p ? "float32" : "float64", k + 1);
        for (int k = 0; k < 3; k++) free(w[k]);
    }
#else
    CHECK(1, "built without OpenMP: thread test skipped");
#endif
}

/* The LSTM core in float32 against float64 on the same weights and data: linear g
 * without dropout, and ReLU g with dropout, L2 and perturbed biases (so every bias
 * gradient is non-trivial). Losses to 1e-5 relative as for the RNN core; gradients (sums
 * over T B = 240 rows of products of K <= 56 terms, through T = 20 steps of contracting
 * gates) to 1e-5 in relative L2 norm, overall and per block, and outputs h, g and p_pc to
 * 1e-5 of their largest value (about 20 sqrt(K) u); switching back to float64 gives the
 * first pass's bytes. */
static void test_lstm_f32_vs_f64(void) {
    for (int v = 0; v < 2; v++) {
        pathint_dims d = {3, 40, 56, 44, 6, PATHINT_LSTM};
        f_case c;
        f_case_alloc(&c, &d, 12, 20, 41 + (uint64_t)v);
        pathint *m = c.m;
        if (v) {
            m->g_act = PATHINT_G_RELU;
            m->dropout = 0.3;
            for (size_t i = 0; i < m->n_params; i++) m->params[i] += 0.01 * (double)(i % 7) - 0.03;
        }
        const size_t n = m->n_params, TB = c.T * c.B, P = d.n_pc, H = d.n_hidden, Ng = d.n_g;
        if (v) pathint_dropout_mask(m, c.B, 5, 1);
        double L64 = f_loss(&c, v);
        pathint_backward(m, c.pc, c.hd);
        double *g64 = malloc(n * sizeof *g64), *a64 = malloc(TB * Ng * sizeof *a64);
        double *p64 = malloc(TB * P * sizeof *p64), *h64 = malloc(TB * H * sizeof *h64);
        memcpy(g64, m->grads, n * sizeof *g64);
        memcpy(a64, m->g, TB * Ng * sizeof *a64);
        memcpy(p64, m->p_pc, TB * P * sizeof *p64);
        memcpy(h64, m->hs + c.B * H, TB * H * sizeof *h64);
        CHECK(pathint_set_precision(m, PATHINT_F32) == ENGRAM_OK && m->f32 != NULL,
              "LSTM core: float32 accepted, workspaces allocated");
        double L32 = f_loss(&c, v);
        pathint_backward(m, c.pc, c.hd);
        double eg = 0, sg = 0;
        for (size_t i = 0; i < n; i++) {
            eg += (m->grads[i] - g64[i]) * (m->grads[i] - g64[i]);
            sg += g64[i] * g64[i];
        }
        eg = sqrt(eg / sg);
        const char *what = v ? "ReLU g, dropout, L2" : "linear g";
        CHECK(fabs(L32 - L64) <= 1e-5 * fabs(L64), "LSTM float32 loss %.9f vs float64 %.9f (%s; rel tol 1e-5)",
              L32, L64, what);
        CHECK(eg < 1e-5, "LSTM float32 gradients vs float64: relative L2 error %.2g (< 1e-5)", eg);
        /* per block: the recurrent weights and the encoders see the longest chains */
        const pathint_layers *gw = &m->gw;
        struct { const char *name; const double *p; size_t len; } parts[] = {
            {"W_h0", gw->w_h0, (d.n_pc + d.n_hd) * H}, {"b_c0", gw->b_c0, H},
            {"W_h (LSTM)", gw->lstm.w_h, H * 4 * H}, {"b (LSTM)", gw->lstm.b, 4 * H},
            {"W_g", gw->w_g, H * Ng}, {"b_pc", gw->b_pc, P}};
        double ew = 0;
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
            const double *ref = g64 + (parts[k].p - m->grads);
            double e = 0, sr = 0;
            for (size_t i = 0; i < parts[k].len; i++) {
                e += (parts[k].p[i] - ref[i]) * (parts[k].p[i] - ref[i]);
                sr += ref[i] * ref[i];
            }
            ew = fmax(ew, sqrt(e / sr));
        }
        CHECK(ew < 1e-5, "LSTM float32: worst block (W_h0, b_c0, W_h, b, W_g, b_pc) relative L2 %.2g (< 1e-5)", ew);
        double eh = rel_max_err_d(m->hs + c.B * H, h64, TB * H), ea = rel_max_err_d(m->g, a64, TB * Ng);
        double ep = rel_max_err_d(m->p_pc, p64, TB * P);
        CHECK(eh < 1e-5 && ea < 1e-5 && ep < 1e-5,
              "LSTM float32 outputs h (%.2g), g (%.2g), p_pc (%.2g) vs float64 (< 1e-5)", eh, ea, ep);
        CHECK(pathint_set_precision(m, PATHINT_F64) == ENGRAM_OK && m->f32 == NULL, "back to float64");
        double L64b = f_loss(&c, v);
        pathint_backward(m, c.pc, c.hd);
        CHECK(memcmp(&L64b, &L64, sizeof L64) == 0 && memcmp(m->grads, g64, n * sizeof *g64) == 0,
              "LSTM float64 again: loss and gradients byte-identical to the first float64 pass");
        free(g64); free(a64); free(p64); free(h64);
        f_case_free(&c);
    }
}

/* The LSTM core, from the same weights: the loss curves agree to 1e-5 relative at every
 * update (the loss is a mean over T B rows, so its rounding error is far below a row's; the
 * gradients' 1e-7 differences move the weights by far less than an update), and the loss
 * falls. */
static void test_lstm_f32_training_tracks_f64(void) {
    pathint_dims d = {3, 32, 48, 40, 6, PATHINT_LSTM};
    double l0, l1, e = f32_tracking(&d, 16, 12, 23, 1, &l0, &l1);
    CHECK(e < 1e-5, "LSTM, 30 Adam updates: float32 loss curve within %.2g of float64 (< 1e-5 relative)", e);
    CHECK(l1 < l0 - 0.01, "LSTM float32 training lowers the loss (%.5f -> %.5f)", l0, l1);
}

/* The LSTM core's bytes after 3 updates (parameters, loss, with dropout) with 1, 2 and 3
 * threads in both precisions, at a size where the recurrence runs in a parallel region
 * over 8 item groups and the large products are cut in pieces. */
static void test_lstm_threads_both_precisions(void) {
#ifdef _OPENMP
    pathint_dims d = {3, 64, 64, 30, 6, PATHINT_LSTM};
    for (int p = 0; p < 2; p++) {
        double *w[3], L[3];
        size_t n = 0;
        for (int k = 0; k < 3; k++) {
            omp_set_num_threads(k + 1);
            f_case c;
            f_case_alloc(&c, &d, 40, 10, 73);
            c.m->dropout = 0.2;
            if (p) pathint_set_precision(c.m, PATHINT_F32);
            optim_params op = optim_defaults(OPTIM_ADAM);
            optim *o = optim_alloc(&op, c.m->n_params);
            for (int u = 0; u < 3; u++) {
                pathint_dropout_mask(c.m, c.B, 3, (uint64_t)u);
                L[k] = f_loss(&c, 1);
                pathint_backward(c.m, c.pc, c.hd);
                optim_step(o, c.m->params, c.m->grads);
            }
            n = c.m->n_params;
            w[k] = malloc(n * sizeof(double));
            memcpy(w[k], c.m->params, n * sizeof(double));
            optim_free(o);
            f_case_free(&c);
        }
        omp_set_num_threads(2);
        for (int k = 1; k < 3; k++)
            CHECK(memcmp(&L[0], &L[k], sizeof L[0]) == 0 && memcmp(w[0], w[k], n * sizeof(double)) == 0,
                  "LSTM %s: 3 updates byte-identical with 1 and %d threads", p ? "float32" : "float64", k + 1);
        for (int k = 0; k < 3; k++) free(w[k]);
    }
#else
    CHECK(1, "built without OpenMP: thread test skipped");
#endif
}

/* An unknown precision is refused with one clear message and changes nothing. */
static void test_bad_precision(void) {
    pathint_dims d = pathint_dims_default();
    pathint *m = pathint_alloc(&d, 2, 3);
    int st = pathint_set_precision(m, (pathint_precision)7);
    CHECK(st == ENGRAM_EINVAL && strstr(engram_error(), "unknown precision") != NULL,
          "unknown precision refused: %s", engram_error());
    CHECK(m->precision == PATHINT_F64 && m->f32 == NULL, "the model stays float64");
    pathint_free(m);
}

static const test_case tests[] = {
    {"gemm_vs_ref", test_gemm_vs_ref},
    {"f32_vs_f64", test_f32_vs_f64},
    {"f32_training_tracks_f64", test_f32_training_tracks_f64},
    {"threads_both_precisions", test_threads_both_precisions},
    {"lstm_f32_vs_f64", test_lstm_f32_vs_f64},
    {"lstm_f32_training_tracks_f64", test_lstm_f32_training_tracks_f64},
    {"lstm_threads_both_precisions", test_lstm_threads_both_precisions},
    {"bad_precision", test_bad_precision},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
