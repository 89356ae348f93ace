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
#include "engram/kern_gemm.h"
#include "engram/kernels.h"
#include "engram/pathint.h"

/* The float32 compute state (pathint_set_precision): a float mirror of the parameter and
 * gradient blocks (same layout) and the float activations of the core. G is H for the
 * RNN core and 4H for the LSTM's gates; Ng = H for the RNN (g = h). */
struct pathint_f32 {
    float *params, *grads;      /* (n_params,) */
    float *x, *init, *z, *hs;   /* (T, B, I), (B, P + D), (T, B, G), (T + 1, B, H) */
    float *gd, *p_pc, *p_hd;    /* (T, B, Ng), (T, B, P), (T, B, D) */
    float *d_pc, *d_hd, *d_g;   /* (T, B, P), (T, B, D), (T, B, Ng) */
    float *dz, *dh0, *wt;       /* (T, B, G), (B, H), RNN (H, H), LSTM max(4H H, Ng H) */
    float *cs, *g, *dh, *dc0;   /* LSTM only: (T + 1, B, H), (T, B, Ng), (T, B, H), (B, H) */
};

#define PI_REAL double
#define PI_SFX d
#define PI_GEMM kern_gemm_d
#define PI_SIMD
#include "gridcells/pathint_core.h"
#undef PI_SIMD
#undef PI_REAL
#undef PI_SFX
#undef PI_GEMM
#define PI_REAL float
#define PI_SFX s
#define PI_GEMM kern_gemm_s
#ifdef _OPENMP
#define PI_SIMD _Pragma("omp simd")
#else
#define PI_SIMD
#endif
#include "gridcells/pathint_core.h"
#undef PI_SIMD
#undef PI_REAL
#undef PI_SFX
#undef PI_GEMM

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

static void f32_free(struct pathint_f32 *f);

void pathint_free(pathint *m) {
    if (!m) return;
    free(m->params); free(m->grads);
    free(m->x); free(m->init); free(m->z); free(m->hs); free(m->cs);
    if (m->d.kind != PATHINT_RNN) free(m->g); /* the RNN's g points into hs */
    f32_free(m->f32);
    free(m->mask); free(m->gd); free(m->p_pc); free(m->p_hd);
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
    m->f32_outputs = 1;
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
    if (d->kind != PATHINT_RNN) PI_ALLOC(g, TB * d->n_g);
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
    if (d->kind == PATHINT_RNN) m->g = m->hs + B * H; /* g = h_{1..T} */
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
            rng_uniform_fill(r, mr, Ng); /* the values of Ng gsl_rng_uniform calls */
            for (size_t k = 0; k < Ng; k++) mr[k] = mr[k] < p ? 0.0 : keep_scale;
        }
    }
}

static double sum_sq(const double *w, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += w[i] * w[i];
    return s;
}

static void f32_free(struct pathint_f32 *f) {
    if (!f) return;
    free(f->params); free(f->grads); free(f->x); free(f->init); free(f->z); free(f->hs);
    free(f->gd); free(f->p_pc); free(f->p_hd); free(f->d_pc); free(f->d_hd); free(f->d_g);
    free(f->dz); free(f->dh0); free(f->wt); free(f->cs); free(f->g); free(f->dh); free(f->dc0);
    free(f);
}

int pathint_set_precision(pathint *m, pathint_precision p) {
    if (p == PATHINT_F64) {
        f32_free(m->f32);
        m->f32 = NULL;
        m->precision = PATHINT_F64;
        return ENGRAM_OK;
    }
    if (p != PATHINT_F32) return engram_fail(ENGRAM_EINVAL, "pathint: unknown precision %d", (int)p);
    if (m->f32) { m->precision = PATHINT_F32; return ENGRAM_OK; }
    const pathint_dims *d = &m->d;
    const size_t TB = m->n_steps * m->max_batch, B = m->max_batch, H = d->n_hidden;
    const size_t P = d->n_pc, D = d->n_hd, Ng = d->n_g;
    const int lstm = d->kind != PATHINT_RNN;
    const size_t G = lstm ? 4 * H : H;
    struct pathint_f32 *f = calloc(1, sizeof *f);
    int ok = f != NULL;
#define F32_ALLOC(fl, n) do { if (ok) { f->fl = calloc((n), sizeof(float)); ok = f->fl != NULL; } } while (0)
    F32_ALLOC(params, m->n_params);
    F32_ALLOC(grads, m->n_params);
    F32_ALLOC(x, TB * d->n_in);
    F32_ALLOC(init, B * (P + D));
    F32_ALLOC(z, TB * G);
    F32_ALLOC(hs, (TB + B) * H);
    F32_ALLOC(gd, TB * Ng);
    F32_ALLOC(p_pc, TB * P);
    F32_ALLOC(p_hd, TB * D + 1);
    F32_ALLOC(d_pc, TB * P);
    F32_ALLOC(d_hd, TB * D + 1);
    F32_ALLOC(d_g, TB * Ng);
    F32_ALLOC(dz, TB * G);
    F32_ALLOC(dh0, B * H);
    F32_ALLOC(wt, lstm ? (4 * H * H > Ng * H ? 4 * H * H : Ng * H) : H * H);
    if (lstm) {
        F32_ALLOC(cs, (TB + B) * H);
        F32_ALLOC(g, TB * Ng);
        F32_ALLOC(dh, TB * H);
        F32_ALLOC(dc0, B * H);
    }
#undef F32_ALLOC
    if (!ok) {
        f32_free(f);
        return engram_fail(ENGRAM_ENOMEM, "pathint: out of memory (float32 workspaces)");
    }
    m->f32 = f;
    m->precision = PATHINT_F32;
    return ENGRAM_OK;
}

/* Whether the heads have biases: the RNN core's only with m->bias, the LSTM's always. */
static int heads_biased(const pathint *m) { return m->bias || m->d.kind != PATHINT_RNN; }

/* The float64 view: everything points into m. For the RNN core, d_g is m->dh (g = h). */
static void view_d(pathint *m, pi_view_d *v) {
    const pathint_layers *w = &m->w, *gw = &m->gw;
    const size_t BH = m->batch * m->d.n_hidden;
    *v = (pi_view_d){w->w_h0, w->b_h0, w->w_in, w->w_rec, w->w_pc, w->b_pc, w->w_hd, w->b_hd,
                     gw->w_h0, gw->b_h0, gw->w_in, gw->w_rec, gw->w_pc, gw->b_pc, gw->w_hd,
                     gw->b_hd, m->x, m->init, m->z, m->hs, m->gd, NULL, m->p_pc, m->p_hd,
                     m->d_pc, m->d_hd, m->d_g, m->dz, m->wt, m->dh0};
    if (m->d.kind == PATHINT_RNN) {
        v->d_g = m->dh;
        v->act = m->dropout_on ? m->gd : m->hs + BH;
    } else {
        v->act = m->dropout_on ? m->gd : m->g;
    }
}

/* The float32 view: the weights and gradients at the same offsets of the float blocks as
 * in the double ones (the LSTM's own blocks: pi_lstm_view_s). */
static void view_s(pathint *m, pi_view_s *v) {
    struct pathint_f32 *f = m->f32;
#define OFF(blk, p) ((p) ? f->blk + ((p) - m->params) : NULL)
#define GOFF(blk, p) ((p) ? f->blk + ((p) - m->grads) : NULL)
    const pathint_layers *w = &m->w, *gw = &m->gw;
    *v = (pi_view_s){OFF(params, w->w_h0), OFF(params, w->b_h0), OFF(params, w->w_in),
                     OFF(params, w->w_rec), OFF(params, w->w_pc), OFF(params, w->b_pc),
                     OFF(params, w->w_hd), OFF(params, w->b_hd),
                     GOFF(grads, gw->w_h0), GOFF(grads, gw->b_h0), GOFF(grads, gw->w_in),
                     GOFF(grads, gw->w_rec), GOFF(grads, gw->w_pc), GOFF(grads, gw->b_pc),
                     GOFF(grads, gw->w_hd), GOFF(grads, gw->b_hd),
                     f->x, f->init, f->z, f->hs, f->gd, NULL, f->p_pc, f->p_hd, f->d_pc,
                     f->d_hd, f->d_g, f->dz, f->wt, f->dh0};
#undef OFF
#undef GOFF
    if (m->d.kind == PATHINT_RNN) v->act = m->dropout_on ? f->gd : f->hs + m->batch * m->d.n_hidden;
    else v->act = m->dropout_on ? f->gd : f->g;
}

/* The float32 LSTM core's weights and gradients: W_h0, b_h0, W_c0, b_c0, W_g and the
 * LSTM block at their offsets in the float mirrors. */
typedef struct {
    float *w_h0, *b_h0, *w_c0, *b_c0, *w_g;
    float *g_h0, *gb_h0, *g_c0, *gb_c0, *g_g;
    lstm_params_s lstm, g_lstm;
} pi_lstm_view_s;

static void pi_lstm_view(pathint *m, pi_lstm_view_s *v) {
    struct pathint_f32 *f = m->f32;
    const pathint_layers *w = &m->w, *gw = &m->gw;
    v->w_h0 = f->params + (w->w_h0 - m->params);
    v->b_h0 = f->params + (w->b_h0 - m->params);
    v->w_c0 = f->params + (w->w_c0 - m->params);
    v->b_c0 = f->params + (w->b_c0 - m->params);
    v->w_g = f->params + (w->w_g - m->params);
    v->g_h0 = f->grads + (gw->w_h0 - m->grads);
    v->gb_h0 = f->grads + (gw->b_h0 - m->grads);
    v->g_c0 = f->grads + (gw->w_c0 - m->grads);
    v->gb_c0 = f->grads + (gw->b_c0 - m->grads);
    v->g_g = f->grads + (gw->w_g - m->grads);
    lstm_variant_params_map_s(&v->lstm, NULL, f->params + (w->lstm.w_x - m->params),
                              m->d.n_in, m->d.n_hidden);
    lstm_variant_params_map_s(&v->g_lstm, NULL, f->grads + (gw->lstm.w_x - m->grads),
                              m->d.n_in, m->d.n_hidden);
}

/* x (T, B, I) <- vel (B, T, I) and init (B, P + D) <- [pc0, hd0], in type T. */
#define PI_PACK_INPUTS(xo, inito)                                                          \
    do {                                                                                   \
        for (size_t b = 0; b < B; b++)                                                     \
            for (size_t t = 0; t < T; t++)                                                 \
                for (size_t k = 0; k < I; k++)                                             \
                    (xo)[(t * B + b) * I + k] = vel[(b * T + t) * I + k];                  \
        for (size_t b = 0; b < B; b++) {                                                   \
            for (size_t k = 0; k < P; k++) (inito)[b * PD + k] = pc0[b * P + k];           \
            for (size_t k = 0; k < D; k++) (inito)[b * PD + P + k] = hd0[b * D + k];       \
        }                                                                                  \
    } while (0)

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
    int with_loss = pc && hd;
    const double *y_pc = with_loss ? pc : NULL, *y_hd = with_loss ? hd : NULL;
    const int hb = heads_biased(m);
    if (d->kind == PATHINT_RNN && m->precision == PATHINT_F32) {
        struct pathint_f32 *f = m->f32;
        kern_d2s(m->params, f->params, m->n_params);
        PI_PACK_INPUTS(f->x, f->init);
        pi_view_s v;
        view_s(m, &v);
        rnn_forward_s(m, &v, B);
        heads_forward_s(m, &v, B, y_pc, y_hd, hb);
        m->g = m->hs + B * H;
        if (m->f32_outputs) { /* the double outputs: h (hence g), gd, and the softmaxes */
            kern_s2d(f->hs, m->hs, TB * H + B * H);
            if (m->dropout_on) kern_s2d(f->gd, m->gd, TB * H);
            kern_s2d(f->p_pc, m->p_pc, TB * P);
            kern_s2d(f->p_hd, m->p_hd, TB * D);
        }
    } else if (m->precision == PATHINT_F32) { /* the LSTM core in float32 */
        struct pathint_f32 *f = m->f32;
        kern_d2s(m->params, f->params, m->n_params);
        PI_PACK_INPUTS(f->x, f->init);
        pi_lstm_view_s lv;
        pi_lstm_view(m, &lv);
        /* h_0, c_0 (B, H) = init (B, P+D) W (P+D, H) + b */
        kern_gemm_s(0, 0, B, H, PD, 1, f->init, PD, lv.w_h0, H, 0, f->hs, H);
        kern_gemm_s(0, 0, B, H, PD, 1, f->init, PD, lv.w_c0, H, 0, f->cs, H);
        for (size_t b = 0; b < B; b++)
            for (size_t u = 0; u < H; u++) {
                f->hs[b * H + u] += lv.b_h0[u];
                f->cs[b * H + u] += lv.b_c0[u];
            }
        lstm_forward_variant_s(&lv.lstm, NULL, T, B, I, H, (float)m->forget_bias, f->x, f->z,
                               f->hs, f->cs);
        /* g (T*B, Ng) = h_{1..T} (T*B, H) W_g (H, Ng) */
        kern_gemm_s(0, 0, TB, Ng, H, 1, f->hs + B * H, H, lv.w_g, Ng, 0, f->g, Ng);
        if (m->g_act == PATHINT_G_RELU)
            for (size_t i = 0; i < TB * Ng; i++) f->g[i] = f->g[i] > 0 ? f->g[i] : 0;
        if (m->dropout_on)
            for (size_t i = 0; i < TB * Ng; i++) f->gd[i] = f->g[i] * (float)m->mask[i];
        pi_view_s v;
        view_s(m, &v);
        heads_forward_s(m, &v, B, y_pc, y_hd, hb);
        if (m->f32_outputs) { /* the double outputs: h, c, g, gd, and the softmaxes */
            kern_s2d(f->hs, m->hs, TB * H + B * H);
            kern_s2d(f->cs, m->cs, TB * H + B * H);
            kern_s2d(f->g, m->g, TB * Ng);
            if (m->dropout_on) kern_s2d(f->gd, m->gd, TB * Ng);
            kern_s2d(f->p_pc, m->p_pc, TB * P);
            kern_s2d(f->p_hd, m->p_hd, TB * D);
        }
    } else if (d->kind == PATHINT_RNN) {
        PI_PACK_INPUTS(m->x, m->init);
        pi_view_d v;
        view_d(m, &v);
        rnn_forward_d(m, &v, B);
        m->g = m->hs + B * H;
        heads_forward_d(m, &v, B, y_pc, y_hd, hb);
    } else {
        PI_PACK_INPUTS(m->x, m->init);
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
        if (m->dropout_on)
            for (size_t i = 0; i < TB * Ng; i++) m->gd[i] = m->g[i] * m->mask[i];
        pi_view_d v;
        view_d(m, &v);
        heads_forward_d(m, &v, B, y_pc, y_hd, hb);
    }
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

/* The LSTM core's backward pass in float64: the heads, g, the LSTM through time, the
 * initial-state encoders (the caller adds the weight decay). */
static void pi_lstm_backward_d(pathint *m) {
    const pathint_dims *d = &m->d;
    const size_t B = m->batch, T = m->n_steps, I = d->n_in, H = d->n_hidden, Ng = d->n_g;
    const size_t PD = d->n_pc + d->n_hd, TB = T * B;
    pathint_layers *gw = &m->gw;
    const pathint_layers *w = &m->w;
    const int hb = heads_biased(m);
    pi_view_d v;
    view_d(m, &v);
    heads_backward_d(m, &v, hb);
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
}

/* The LSTM core's backward pass in float32, from the float forward pass's activations:
 * the heads (heads_backward_s), g, the LSTM through time, the initial-state encoders;
 * then the float gradients into the double block (the caller adds the weight decay). */
static void pi_lstm_backward_s(pathint *m) {
    struct pathint_f32 *f = m->f32;
    const pathint_dims *d = &m->d;
    const size_t B = m->batch, T = m->n_steps, I = d->n_in, H = d->n_hidden, Ng = d->n_g;
    const size_t PD = d->n_pc + d->n_hd, TB = T * B;
    pi_view_s v;
    view_s(m, &v);
    heads_backward_s(m, &v, 1);
    pi_lstm_view_s lv;
    pi_lstm_view(m, &lv);
    if (m->g_act == PATHINT_G_RELU)
        for (size_t i = 0; i < TB * Ng; i++) f->d_g[i] = f->g[i] > 0 ? f->d_g[i] : 0;
    /* dW_g (H, Ng) = h^T d_g;  dh (T*B, H) = d_g W_g^T */
    kern_gemm_s(1, 0, H, Ng, TB, 1, f->hs + B * H, H, f->d_g, Ng, 0, lv.g_g, Ng);
    lstm_transpose_s(lv.w_g, H, Ng, f->wt); /* (Ng, H) */
    kern_gemm_s(0, 0, TB, H, Ng, 1, f->d_g, Ng, f->wt, H, 0, f->dh, H);
    /* through time */
    lstm_backward_variant_s(&lv.lstm, &lv.g_lstm, NULL, T, B, I, H, (float)m->forget_bias, f->x,
                            f->z, f->hs, f->cs, f->dh, f->dz, f->dh0, f->dc0, f->wt);
    /* initial-state encoders: dW (P+D, H) = init^T dh0; db = column sums (in double) */
    kern_gemm_s(1, 0, PD, H, B, 1, f->init, PD, f->dh0, H, 0, lv.g_h0, H);
    kern_gemm_s(1, 0, PD, H, B, 1, f->init, PD, f->dc0, H, 0, lv.g_c0, H);
    col_sums_s(f->dh0, B, H, lv.gb_h0);
    col_sums_s(f->dc0, B, H, lv.gb_c0);
    kern_s2d(f->grads, m->grads, m->n_params);
}

void pathint_backward(pathint *m, const double *pc, const double *hd) {
    (void)pc; (void)hd; /* dL/dlogits were formed by the forward pass with these targets */
    const pathint_dims *d = &m->d;
    const size_t H = d->n_hidden, Ng = d->n_g, P = d->n_pc, D = d->n_hd;
    pathint_layers *gw = &m->gw;
    const pathint_layers *w = &m->w;
    const int hb = heads_biased(m);
    if (d->kind == PATHINT_RNN) {
        if (m->precision == PATHINT_F32) {
            pi_view_s v;
            view_s(m, &v);
            heads_backward_s(m, &v, hb);
            rnn_backward_s(m, &v);
            kern_s2d(m->f32->grads, m->grads, m->n_params);
        } else {
            pi_view_d v;
            view_d(m, &v);
            heads_backward_d(m, &v, hb);
            rnn_backward_d(m, &v);
        }
        if (m->weight_decay != 0)
            for (size_t i = 0; i < H * H; i++) gw->w_rec[i] += m->weight_decay * w->w_rec[i];
        return;
    }
    if (m->precision == PATHINT_F32) pi_lstm_backward_s(m);
    else pi_lstm_backward_d(m);
    if (m->weight_decay != 0) {
        double wd = m->weight_decay;
        for (size_t i = 0; i < H * Ng; i++) gw->w_g[i] += wd * w->w_g[i];
        for (size_t i = 0; i < Ng * P; i++) gw->w_pc[i] += wd * w->w_pc[i];
        for (size_t i = 0; i < Ng * D; i++) gw->w_hd[i] += wd * w->w_hd[i];
    }
}
