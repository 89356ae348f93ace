/* pathint.c: forward and backward passes of the Banino et al. 2018 path-integrating
 * network; see pathint.h for the equations, shapes and threading rules. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/engram.h"
#include "engram/rng.h"
#include "engram/pathint.h"

pathint_dims pathint_dims_default(void) {
    pathint_dims d = {3, 128, 256, 256, 12, PATHINT_LSTM};
    return d;
}

size_t pathint_n_params(const pathint_dims *d) {
    size_t PD = d->n_pc + d->n_hd, H = d->n_hidden;
    if (d->kind == PATHINT_RNN)
        return PD * H + H + d->n_in * H + H * H + H * d->n_pc + d->n_pc + H * d->n_hd + d->n_hd;
    return 2 * (PD * H + H) + lstm_n_params(d->n_in, H) + H * d->n_g +
           d->n_g * d->n_pc + d->n_pc + d->n_g * d->n_hd + d->n_hd;
}

void pathint_layers_map(pathint_layers *v, double *block, const pathint_dims *d) {
    size_t PD = d->n_pc + d->n_hd, H = d->n_hidden;
    double *q = block;
    memset(v, 0, sizeof *v);
    if (d->kind == PATHINT_RNN) {
        v->w_h0 = q; q += PD * H;
        v->b_h0 = q; q += H;
        v->w_in = q; q += d->n_in * H;
        v->w_rec = q; q += H * H;
        v->w_pc = q; q += H * d->n_pc;
        v->b_pc = q; q += d->n_pc;
        v->w_hd = q; q += H * d->n_hd;
        v->b_hd = q; q += d->n_hd;
        assert((size_t)(q - block) == pathint_n_params(d));
        return;
    }
    v->w_h0 = q; q += PD * H;
    v->b_h0 = q; q += H;
    v->w_c0 = q; q += PD * H;
    v->b_c0 = q; q += H;
    lstm_params_map(&v->lstm, q, d->n_in, H); q += lstm_n_params(d->n_in, H);
    v->w_g = q; q += H * d->n_g;
    v->w_pc = q; q += d->n_g * d->n_pc;
    v->b_pc = q; q += d->n_pc;
    v->w_hd = q; q += d->n_g * d->n_hd;
    v->b_hd = q; q += d->n_hd;
    assert((size_t)(q - block) == pathint_n_params(d));
}

void pathint_free(pathint *m) {
    if (!m) return;
    free(m->params); free(m->grads);
    free(m->x); free(m->init); free(m->z); free(m->hs); free(m->cs);
    free(m->g); free(m->mask); free(m->gd); free(m->p_pc); free(m->p_hd);
    free(m->row_loss); free(m->d_pc); free(m->d_hd); free(m->d_g); free(m->dh);
    free(m->dz); free(m->dh0); free(m->dc0); free(m->wt);
    if (m->drop_rng)
        for (size_t b = 0; b < m->max_batch; b++) gsl_rng_free(m->drop_rng[b]);
    free(m->drop_rng);
    free(m);
}

pathint *pathint_alloc(const pathint_dims *d, size_t max_batch, size_t n_steps) {
    if (!d->n_in || !d->n_hidden || !d->n_g || !d->n_pc || !max_batch || !n_steps) {
        engram_fail(ENGRAM_EINVAL, "pathint: every size must be positive");
        return NULL;
    }
    if (d->kind == PATHINT_RNN && d->n_g != d->n_hidden) {
        engram_fail(ENGRAM_EINVAL, "pathint: the RNN core's layer g is its state (n_g %zu != %zu units)",
                    d->n_g, d->n_hidden);
        return NULL;
    }
    pathint *m = calloc(1, sizeof *m);
    if (!m) { engram_fail(ENGRAM_ENOMEM, "pathint: out of memory"); return NULL; }
    m->d = *d;
    m->max_batch = max_batch;
    m->n_steps = n_steps;
    m->dropout = 0.5;
    m->forget_bias = 1.0;
    m->bias = d->kind == PATHINT_RNN ? 0 : 1;
    m->weight_decay = 0.0;
    m->n_params = pathint_n_params(d);
    size_t TB = n_steps * max_batch, B = max_batch, H = d->n_hidden;
    size_t PD = d->n_pc + d->n_hd;
    size_t G = d->kind == PATHINT_RNN ? H : 4 * H; /* z and dz columns */
    int ok = 1;
#define PI_ALLOC(f, n) do { m->f = calloc((n), sizeof *m->f); ok = ok && m->f; } while (0)
    PI_ALLOC(params, m->n_params);
    PI_ALLOC(grads, m->n_params);
    PI_ALLOC(x, TB * d->n_in);
    PI_ALLOC(init, B * PD);
    PI_ALLOC(z, TB * G);
    PI_ALLOC(hs, (TB + B) * H);
    PI_ALLOC(cs, (TB + B) * H);
    PI_ALLOC(g, TB * d->n_g);
    PI_ALLOC(mask, TB * d->n_g);
    PI_ALLOC(gd, TB * d->n_g);
    PI_ALLOC(p_pc, TB * d->n_pc);
    PI_ALLOC(p_hd, TB * d->n_hd + 1);
    PI_ALLOC(row_loss, TB);
    PI_ALLOC(d_pc, TB * d->n_pc);
    PI_ALLOC(d_hd, TB * d->n_hd + 1);
    PI_ALLOC(d_g, TB * d->n_g);
    PI_ALLOC(dh, TB * H);
    PI_ALLOC(dz, TB * G);
    PI_ALLOC(dh0, B * H);
    PI_ALLOC(dc0, B * H);
    PI_ALLOC(drop_rng, B);
    size_t nwt = d->n_g * PD;
    if (H * d->n_g > nwt) nwt = H * d->n_g;
    if (4 * H * H > nwt) nwt = 4 * H * H;
    PI_ALLOC(wt, nwt);
#undef PI_ALLOC
    for (size_t b = 0; ok && b < B; b++) {
        m->drop_rng[b] = rng_stream_alloc(0, "dropout", b);
        ok = m->drop_rng[b] != NULL;
    }
    if (!ok) {
        pathint_free(m);
        engram_fail(ENGRAM_ENOMEM, "pathint: out of memory (batch %zu, %zu steps)", max_batch,
                    n_steps);
        return NULL;
    }
    pathint_layers_map(&m->w, m->params, d);
    pathint_layers_map(&m->gw, m->grads, d);
    return m;
}

/* Fills n values with truncated normal draws of std s (TF's truncated_normal: redraw
 * beyond two standard deviations). */
static void fill_truncnorm(gsl_rng *r, double *w, size_t n, double s) {
    for (size_t i = 0; i < n; i++) {
        double v;
        do v = gsl_ran_gaussian(r, s); while (fabs(v) > 2.0 * s);
        w[i] = v;
    }
}

/* Fills n values with uniform draws in (-k, k). */
static void fill_uniform(gsl_rng *r, double *w, size_t n, double k) {
    for (size_t i = 0; i < n; i++) w[i] = k * (2.0 * gsl_rng_uniform(r) - 1.0);
}

int pathint_init_weights(pathint *m, uint64_t seed) {
    gsl_rng *r = rng_stream_alloc(seed, "weights", 0);
    if (!r) return engram_fail(ENGRAM_ENOMEM, "pathint: out of memory");
    const pathint_dims *d = &m->d;
    size_t PD = d->n_pc + d->n_hd, H = d->n_hidden, G = 4 * H;
    memset(m->params, 0, m->n_params * sizeof *m->params);
    if (d->kind == PATHINT_RNN) {
        /* torch defaults: nn.Linear and nn.RNN draw U(-k, k), k = 1/sqrt(fan_in), with
         * the RNN's fan-in H for both W_in and W_rec */
        double kr = 1.0 / sqrt((double)H);
        fill_uniform(r, m->w.w_h0, PD * H, 1.0 / sqrt((double)PD));
        fill_uniform(r, m->w.w_in, d->n_in * H, kr);
        fill_uniform(r, m->w.w_rec, H * H, kr);
        fill_uniform(r, m->w.w_pc, H * d->n_pc, kr);
        fill_uniform(r, m->w.w_hd, H * d->n_hd, kr);
        gsl_rng_free(r);
        return ENGRAM_OK;
    }
    fill_truncnorm(r, m->w.w_h0, PD * H, 1.0 / sqrt((double)PD));
    fill_truncnorm(r, m->w.w_c0, PD * H, 1.0 / sqrt((double)PD));
    /* Sonnet's LSTM uses one linear map of [x, h]: fan-in I + H for W_x and W_h. */
    double s_lstm = 1.0 / sqrt((double)(d->n_in + H));
    fill_truncnorm(r, m->w.lstm.w_x, d->n_in * G, s_lstm);
    fill_truncnorm(r, m->w.lstm.w_h, H * G, s_lstm);
    fill_truncnorm(r, m->w.w_g, H * d->n_g, 1.0 / sqrt((double)H));
    fill_truncnorm(r, m->w.w_pc, d->n_g * d->n_pc, 1.0 / sqrt((double)d->n_g));
    fill_truncnorm(r, m->w.w_hd, d->n_g * d->n_hd, 1.0 / sqrt((double)d->n_g));
    gsl_rng_free(r);
    return ENGRAM_OK;
}

void pathint_dropout_mask(pathint *m, size_t B, uint64_t seed, uint64_t step) {
    size_t T = m->n_steps, Ng = m->d.n_g;
    double p = m->dropout, keep_scale = p > 0 ? 1.0 / (1.0 - p) : 1.0;
    assert(B <= m->max_batch && B < (1u << 20));
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (size_t b = 0; b < B; b++) {
        gsl_rng *r = m->drop_rng[b];
        rng_stream_reset(r, seed, "dropout", (step << 20) + b);
        for (size_t t = 0; t < T; t++) {
            double *mr = m->mask + (t * B + b) * Ng;
            for (size_t k = 0; k < Ng; k++) mr[k] = gsl_rng_uniform(r) < p ? 0.0 : keep_scale;
        }
    }
}

/* Adds bias (N,; NULL: none) to each of the R rows of a (R, N), takes the softmax of each row in
 * place (log-sum-exp shifted) and, when y (rows ordered (B, T), row r = t * B + b maps to
 * y row b * T + t) is given, adds each row's cross-entropy -sum y log softmax to loss[r].
 * Rows are split statically across threads. */
static void softmax_rows(double *a, size_t T, size_t B, size_t N, const double *bias,
                         const double *y, double *loss) {
    size_t R = N ? T * B : 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (size_t r = 0; r < R; r++) {
        double *row = a + r * N;
        double mx = -INFINITY;
        for (size_t i = 0; i < N; i++) {
            if (bias) row[i] += bias[i];
            if (row[i] > mx) mx = row[i];
        }
        double s = 0;
        for (size_t i = 0; i < N; i++) s += exp(row[i] - mx);
        double lse = mx + log(s);
        if (y) {
            size_t t = r / B, b = r % B;
            const double *yr = y + (b * T + t) * N;
            double ce = 0;
            for (size_t i = 0; i < N; i++) ce -= yr[i] * (row[i] - lse);
            loss[r] += ce;
        }
        for (size_t i = 0; i < N; i++) row[i] = exp(row[i] - lse);
    }
}

static double sum_sq(const double *w, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += w[i] * w[i];
    return s;
}

/* The RNN core's recurrence: hs[0] = init W_h0 (+ b_h0); for t = 1..T,
 * z_t = h_{t-1} W_rec + x_t W_in (kept in m->z) and h_t = f(z_t); g = h_{1..T}. The
 * input term of all T*B rows is one product; each step is one (B, H) x (H, H) product
 * cut in fixed row chunks (lstm_gemm), so the bits do not depend on the thread count. */
static void rnn_core_forward(pathint *m, size_t B) {
    const pathint_dims *d = &m->d;
    const size_t T = m->n_steps, I = d->n_in, H = d->n_hidden, PD = d->n_pc + d->n_hd;
    const size_t TB = T * B, BH = B * H;
    lstm_gemm(0, 0, B, H, PD, 1.0, m->init, PD, m->w.w_h0, H, 0.0, m->hs, H);
    if (m->bias)
        for (size_t b = 0; b < B; b++)
            for (size_t u = 0; u < H; u++) m->hs[b * H + u] += m->w.b_h0[u];
    /* z (T*B, H) = x (T*B, I) W_in (I, H) */
    lstm_gemm(0, 0, TB, H, I, 1.0, m->x, I, m->w.w_in, H, 0.0, m->z, H);
    const int relu = m->rnn_act == PATHINT_RELU;
    for (size_t t = 0; t < T; t++) {
        double *z = m->z + t * BH, *h = m->hs + (t + 1) * BH;
        lstm_gemm(0, 0, B, H, H, 1.0, m->hs + t * BH, H, m->w.w_rec, H, 1.0, z, H);
        if (relu)
            for (size_t i = 0; i < BH; i++) h[i] = z[i] > 0 ? z[i] : 0.0;
        else
            for (size_t i = 0; i < BH; i++) h[i] = tanh(z[i]);
    }
    memcpy(m->g, m->hs + BH, TB * H * sizeof *m->g);
}

/* Backpropagates the RNN core from dh (T, B, H) = dL/dh_t from the heads: writes
 * dz (T, B, H) = dL/dz_t, dh0 (B, H) and the gradients of W_rec, W_in, W_h0, b_h0. */
static void rnn_core_backward(pathint *m) {
    const pathint_dims *d = &m->d;
    const size_t B = m->batch, T = m->n_steps, I = d->n_in, H = d->n_hidden;
    const size_t PD = d->n_pc + d->n_hd, TB = T * B, BH = B * H;
    const int relu = m->rnn_act == PATHINT_RELU;
    lstm_transpose(m->w.w_rec, H, H, m->wt); /* W_rec^T (H, H) */
    for (size_t t = T; t-- > 0;) {
        double *dh = m->dh + t * BH, *dz = m->dz + t * BH;
        const double *h = m->hs + (t + 1) * BH;
        /* dL/dh_t = head term + dz_{t+1} W_rec^T (the later step's recurrent input) */
        if (t + 1 < T) lstm_gemm(0, 0, B, H, H, 1.0, m->dz + (t + 1) * BH, H, m->wt, H, 1.0, dh, H);
        /* dz_t = dh_t f'(z_t): relu' = [h > 0], tanh' = 1 - h^2 */
        if (relu)
            for (size_t i = 0; i < BH; i++) dz[i] = h[i] > 0 ? dh[i] : 0.0;
        else
            for (size_t i = 0; i < BH; i++) dz[i] = dh[i] * (1.0 - h[i] * h[i]);
    }
    /* dh0 (B, H) = dz_1 W_rec^T */
    lstm_gemm(0, 0, B, H, H, 1.0, m->dz, H, m->wt, H, 0.0, m->dh0, H);
    /* dW_rec (H, H) = h_{0..T-1}^T (H, T*B) dz (T*B, H); dW_in (I, H) = x^T dz */
    lstm_gemm(1, 0, H, H, TB, 1.0, m->hs, H, m->dz, H, 0.0, m->gw.w_rec, H);
    lstm_gemm(1, 0, I, H, TB, 1.0, m->x, I, m->dz, H, 0.0, m->gw.w_in, H);
    /* encoder: dW_h0 (P+D, H) = init^T dh0; db_h0 = column sums */
    lstm_gemm(1, 0, PD, H, B, 1.0, m->init, PD, m->dh0, H, 0.0, m->gw.w_h0, H);
    if (m->bias) lstm_col_sums(m->dh0, B, H, m->gw.b_h0);
    else memset(m->gw.b_h0, 0, H * sizeof *m->gw.b_h0);
    if (m->weight_decay != 0)
        for (size_t i = 0; i < H * H; i++) m->gw.w_rec[i] += m->weight_decay * m->w.w_rec[i];
}

int pathint_forward(pathint *m, size_t B, const double *vel, const double *pc0,
                    const double *hd0, const double *pc, const double *hd, int use_dropout,
                    double *loss) {
    if (B == 0 || B > m->max_batch)
        return engram_fail(ENGRAM_EINVAL, "pathint: batch %zu outside 1..%zu", B, m->max_batch);
    const pathint_dims *d = &m->d;
    const size_t T = m->n_steps, I = d->n_in, H = d->n_hidden, Ng = d->n_g;
    const size_t P = d->n_pc, D = d->n_hd, PD = P + D, TB = T * B;
    m->batch = B;
    m->dropout_on = use_dropout && m->dropout > 0;
    /* x (T, B, I) <- vel (B, T, I);  init (B, P + D) <- [pc0, hd0] */
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++)
            memcpy(m->x + (t * B + b) * I, vel + (b * T + t) * I, I * sizeof *m->x);
    for (size_t b = 0; b < B; b++) {
        memcpy(m->init + b * PD, pc0 + b * P, P * sizeof *m->init);
        memcpy(m->init + b * PD + P, hd0 + b * D, D * sizeof *m->init);
    }
    if (d->kind == PATHINT_RNN) {
        rnn_core_forward(m, B);
    } else {
        /* h_0, c_0 (B, H) = init (B, P+D) W (P+D, H) + b */
        lstm_gemm(0, 0, B, H, PD, 1.0, m->init, PD, m->w.w_h0, H, 0.0, m->hs, H);
        lstm_gemm(0, 0, B, H, PD, 1.0, m->init, PD, m->w.w_c0, H, 0.0, m->cs, H);
        for (size_t b = 0; b < B; b++)
            for (size_t u = 0; u < H; u++) {
                m->hs[b * H + u] += m->w.b_h0[u];
                m->cs[b * H + u] += m->w.b_c0[u];
            }
        lstm_forward(&m->w.lstm, T, B, I, H, m->forget_bias, m->x, m->z, m->hs, m->cs);
        /* g (T*B, Ng) = h_{1..T} (T*B, H) W_g (H, Ng): one product, no recurrence */
        lstm_gemm(0, 0, TB, Ng, H, 1.0, m->hs + B * H, H, m->w.w_g, Ng, 0.0, m->g, Ng);
        if (m->g_act == PATHINT_G_RELU)
            for (size_t i = 0; i < TB * Ng; i++) m->g[i] = m->g[i] > 0 ? m->g[i] : 0.0;
    }
    if (m->dropout_on) {
        for (size_t i = 0; i < TB * Ng; i++) m->gd[i] = m->g[i] * m->mask[i];
    } else {
        memcpy(m->gd, m->g, TB * Ng * sizeof *m->gd);
    }
    /* logits (T*B, P) = gd W_pc, (T*B, D) = gd W_hd; bias and softmax per row */
    lstm_gemm(0, 0, TB, P, Ng, 1.0, m->gd, Ng, m->w.w_pc, P, 0.0, m->p_pc, P);
    lstm_gemm(0, 0, TB, D, Ng, 1.0, m->gd, Ng, m->w.w_hd, D, 0.0, m->p_hd, D);
    memset(m->row_loss, 0, TB * sizeof *m->row_loss);
    int with_loss = pc && hd;
    const int hb = m->bias || d->kind != PATHINT_RNN; /* the LSTM's heads always have biases */
    softmax_rows(m->p_pc, T, B, P, hb ? m->w.b_pc : NULL, with_loss ? pc : NULL, m->row_loss);
    softmax_rows(m->p_hd, T, B, D, hb ? m->w.b_hd : NULL, with_loss ? hd : NULL, m->row_loss);
    if (!with_loss) {
        m->ce = NAN;
        if (loss) *loss = NAN;
        return ENGRAM_OK;
    }
    double s = 0;
    for (size_t r = 0; r < TB; r++) s += m->row_loss[r];
    m->ce = s / (double)TB;
    double l = m->ce;
    if (m->weight_decay != 0 && d->kind == PATHINT_RNN)
        l += 0.5 * m->weight_decay * sum_sq(m->w.w_rec, H * H);
    else if (m->weight_decay != 0)
        l += 0.5 * m->weight_decay * (sum_sq(m->w.w_g, H * Ng) + sum_sq(m->w.w_pc, Ng * P) +
                                      sum_sq(m->w.w_hd, Ng * D));
    if (loss) *loss = l;
    if (!isfinite(l))
        return engram_fail(ENGRAM_EDIVERGED, "pathint: non-finite loss (training diverged)");
    return ENGRAM_OK;
}

/* d (T*B, N) = (softmax * sum(y) - y) / (T B) for the rows of p, with y in (B, T) order. */
static void softmax_xent_grad(const double *p, const double *y, size_t T, size_t B, size_t N,
                              double *dl) {
    size_t R = T * B;
    double inv = 1.0 / (double)R;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (size_t r = 0; r < R; r++) {
        size_t t = r / B, b = r % B;
        const double *yr = y + (b * T + t) * N;
        double sy = 0;
        for (size_t i = 0; i < N; i++) sy += yr[i];
        for (size_t i = 0; i < N; i++) dl[r * N + i] = (p[r * N + i] * sy - yr[i]) * inv;
    }
}

void pathint_backward(pathint *m, const double *pc, const double *hd) {
    const pathint_dims *d = &m->d;
    const size_t B = m->batch, T = m->n_steps, I = d->n_in, H = d->n_hidden, Ng = d->n_g;
    const size_t P = d->n_pc, D = d->n_hd, PD = P + D, TB = T * B;
    pathint_layers *gw = &m->gw;
    const pathint_layers *w = &m->w;
    /* heads: dlogits (T*B, P) and (T*B, D) */
    softmax_xent_grad(m->p_pc, pc, T, B, P, m->d_pc);
    softmax_xent_grad(m->p_hd, hd, T, B, D, m->d_hd);
    /* dW_pc (Ng, P) = gd^T (Ng, T*B) d_pc (T*B, P); db_pc = column sums; same for hd */
    lstm_gemm(1, 0, Ng, P, TB, 1.0, m->gd, Ng, m->d_pc, P, 0.0, gw->w_pc, P);
    lstm_gemm(1, 0, Ng, D, TB, 1.0, m->gd, Ng, m->d_hd, D, 0.0, gw->w_hd, D);
    lstm_col_sums(m->d_pc, TB, P, gw->b_pc);
    lstm_col_sums(m->d_hd, TB, D, gw->b_hd);
    /* d_g (T*B, Ng) = d_pc W_pc^T + d_hd W_hd^T, then through the dropout mask
     * (weights transposed first: non-transposed products are faster in gslcblas) */
    lstm_transpose(w->w_pc, Ng, P, m->wt);          /* (P, Ng) */
    lstm_transpose(w->w_hd, Ng, D, m->wt + P * Ng); /* (D, Ng) */
    lstm_gemm(0, 0, TB, Ng, P, 1.0, m->d_pc, P, m->wt, Ng, 0.0, m->d_g, Ng);
    lstm_gemm(0, 0, TB, Ng, D, 1.0, m->d_hd, D, m->wt + P * Ng, Ng, 1.0, m->d_g, Ng);
    if (m->dropout_on)
        for (size_t i = 0; i < TB * Ng; i++) m->d_g[i] *= m->mask[i];
    if (d->kind == PATHINT_RNN) {
        memcpy(m->dh, m->d_g, TB * H * sizeof *m->dh); /* g = h */
        rnn_core_backward(m);
        if (!m->bias) {
            memset(gw->b_pc, 0, P * sizeof *gw->b_pc);
            memset(gw->b_hd, 0, D * sizeof *gw->b_hd);
        }
        return;
    }
    if (m->g_act == PATHINT_G_RELU)
        for (size_t i = 0; i < TB * Ng; i++) m->d_g[i] = m->g[i] > 0 ? m->d_g[i] : 0.0;
    /* dW_g (H, Ng) = h^T d_g;  dh (T*B, H) = d_g W_g^T */
    lstm_gemm(1, 0, H, Ng, TB, 1.0, m->hs + B * H, H, m->d_g, Ng, 0.0, gw->w_g, Ng);
    lstm_transpose(w->w_g, H, Ng, m->wt); /* (Ng, H) */
    lstm_gemm(0, 0, TB, H, Ng, 1.0, m->d_g, Ng, m->wt, H, 0.0, m->dh, H);
    /* through time */
    lstm_backward(&w->lstm, &gw->lstm, T, B, I, H, m->forget_bias, m->x, m->z, m->hs, m->cs,
                  m->dh, m->dz, m->dh0, m->dc0, m->wt);
    /* initial-state encoders: dW (P+D, H) = init^T dh0; db = column sums */
    lstm_gemm(1, 0, PD, H, B, 1.0, m->init, PD, m->dh0, H, 0.0, gw->w_h0, H);
    lstm_gemm(1, 0, PD, H, B, 1.0, m->init, PD, m->dc0, H, 0.0, gw->w_c0, H);
    lstm_col_sums(m->dh0, B, H, gw->b_h0);
    lstm_col_sums(m->dc0, B, H, gw->b_c0);
    if (m->weight_decay != 0) {
        double wd = m->weight_decay;
        for (size_t i = 0; i < H * Ng; i++) gw->w_g[i] += wd * w->w_g[i];
        for (size_t i = 0; i < Ng * P; i++) gw->w_pc[i] += wd * w->w_pc[i];
        for (size_t i = 0; i < Ng * D; i++) gw->w_hd[i] += wd * w->w_hd[i];
    }
}
