/* test_lstm.c: the LSTM layer and the path-integrating network (lstm.h, pathint.h).
 *
 * Oracles:
 *   - a naive LSTM (plain loops, batch-major, one item at a time, no BLAS) written
 *     independently of the fast kernel: forward states and every gradient must agree;
 *   - central finite differences for the LSTM and for every parameter of the full model
 *     (dropout mask held fixed, weight decay on), scored as the mean absolute asymmetry
 *     |a - b| / (|a| + |b| + 1e-8) (the 1e-8 floor counts pairs that are both ~0, e.g.
 *     weights feeding dropped units, as agreeing);
 *   - an independent naive evaluation of the full model's loss;
 *   - byte equality of losses and gradients for 1 and 2 OpenMP threads;
 *   - the float32 kernel against the float64 one (every variant), to stated tolerances;
 *   - a hand-computed sequence of three TF1-RMSProp steps with clipping (optim.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "testhelp.h"
#include "engram/engram.h"
#include "engram/rng.h"
#include "engram/lstm.h"
#include "engram/pathint.h"
#include "engram/optim.h"

static double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

static void fill_uniform(gsl_rng *r, double *a, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) a[i] = lo + (hi - lo) * gsl_rng_uniform(r);
}

/* ---------------------------------------------------------------- naive reference */

/* Naive LSTM forward for one item: x (T, I) with row stride xs, h0/c0 (H,); writes the
 * gate activations za (T, 4H) and states h, c (T+1, H) (row 0 = initial). Parameters
 * are indexed directly as W_x[i][g], W_h[k][g], b[g]. */
static void naive_lstm_item(const double *wx, const double *wh, const double *bias, size_t T,
                            size_t I, size_t H, double fb, const double *x, size_t xs,
                            double *za, double *h, double *c) {
    size_t G = 4 * H;
    for (size_t t = 0; t < T; t++) {
        for (size_t gi = 0; gi < G; gi++) {
            double a = bias[gi];
            for (size_t i = 0; i < I; i++) a += x[t * xs + i] * wx[i * G + gi];
            for (size_t k = 0; k < H; k++) a += h[t * H + k] * wh[k * G + gi];
            za[t * G + gi] = a;
        }
        for (size_t u = 0; u < H; u++) {
            double ig = sig(za[t * G + u]), jg = tanh(za[t * G + H + u]);
            double fg = sig(za[t * G + 2 * H + u] + fb), og = sig(za[t * G + 3 * H + u]);
            za[t * G + u] = ig; za[t * G + H + u] = jg;
            za[t * G + 2 * H + u] = fg; za[t * G + 3 * H + u] = og;
            c[(t + 1) * H + u] = fg * c[t * H + u] + ig * jg;
            h[(t + 1) * H + u] = og * tanh(c[(t + 1) * H + u]);
        }
    }
}

/* Naive BPTT for one item given dL/dh_t (T, H) from above; accumulates into gwx, gwh, gb
 * and writes dh0, dc0 (H,). Scratch: dz (4H,), dhn, dcn (H,). */
static void naive_lstm_item_back(const double *wh, size_t T, size_t I, size_t H,
                                 const double *x, size_t xs, const double *za,
                                 const double *h, const double *c, const double *dh_above,
                                 double *gwx, double *gwh, double *gb, double *dh0,
                                 double *dc0) {
    size_t G = 4 * H;
    double *dz = calloc(G, sizeof *dz), *dhn = calloc(H, sizeof *dhn), *dcn = calloc(H, sizeof *dcn);
    for (size_t t = T; t-- > 0;) {
        for (size_t u = 0; u < H; u++) {
            double ig = za[t * G + u], jg = za[t * G + H + u];
            double fg = za[t * G + 2 * H + u], og = za[t * G + 3 * H + u];
            double dht = dh_above[t * H + u] + dhn[u];
            double ct = c[(t + 1) * H + u], th = tanh(ct);
            double dct = dcn[u] + dht * og * (1 - th * th);
            dz[u] = dct * jg * ig * (1 - ig);
            dz[H + u] = dct * ig * (1 - jg * jg);
            dz[2 * H + u] = dct * c[t * H + u] * fg * (1 - fg);
            dz[3 * H + u] = dht * th * og * (1 - og);
            dcn[u] = dct * fg;
        }
        for (size_t gi = 0; gi < G; gi++) {
            gb[gi] += dz[gi];
            for (size_t i = 0; i < I; i++) gwx[i * G + gi] += x[t * xs + i] * dz[gi];
            for (size_t k = 0; k < H; k++) gwh[k * G + gi] += h[t * H + k] * dz[gi];
        }
        for (size_t k = 0; k < H; k++) {
            double s = 0;
            for (size_t gi = 0; gi < G; gi++) s += wh[k * G + gi] * dz[gi];
            dhn[k] = s;
        }
    }
    memcpy(dh0, dhn, H * sizeof *dh0);
    memcpy(dc0, dcn, H * sizeof *dc0);
    free(dz); free(dhn); free(dcn);
}

/* Fast-path workspace for an LSTM of the given sizes. */
typedef struct lstm_case {
    size_t T, B, I, H;
    double *w, *gw, *x, *z, *hs, *cs, *dh, *dz, *dh0, *dc0, *r, *wt;
    lstm_params p, g;
} lstm_case;

static void lstm_case_alloc(lstm_case *c, size_t T, size_t B, size_t I, size_t H, uint64_t seed) {
    c->T = T; c->B = B; c->I = I; c->H = H;
    size_t n = lstm_n_params(I, H);
    c->w = calloc(n, sizeof(double)); c->gw = calloc(n, sizeof(double));
    c->x = calloc(T * B * I, sizeof(double));
    c->z = calloc(T * B * 4 * H, sizeof(double));
    c->hs = calloc((T + 1) * B * H, sizeof(double));
    c->cs = calloc((T + 1) * B * H, sizeof(double));
    c->dh = calloc(T * B * H, sizeof(double));
    c->dz = calloc(T * B * 4 * H, sizeof(double));
    c->dh0 = calloc(B * H, sizeof(double));
    c->dc0 = calloc(B * H, sizeof(double));
    c->r = calloc(T * B * H, sizeof(double));
    c->wt = calloc(4 * H * H, sizeof(double));
    lstm_params_map(&c->p, c->w, I, H);
    lstm_params_map(&c->g, c->gw, I, H);
    gsl_rng *rg = rng_stream_alloc(seed, "test", 0);
    fill_uniform(rg, c->w, n, -0.6, 0.6);
    fill_uniform(rg, c->x, T * B * I, -1.3, 1.7);
    fill_uniform(rg, c->hs, B * H, -0.8, 0.8);
    fill_uniform(rg, c->cs, B * H, -1.1, 1.2);
    fill_uniform(rg, c->r, T * B * H, -1.0, 1.0);
    gsl_rng_free(rg);
}

static void lstm_case_free(lstm_case *c) {
    free(c->w); free(c->gw); free(c->x); free(c->z); free(c->hs); free(c->cs);
    free(c->dh); free(c->dz); free(c->dh0); free(c->dc0); free(c->r); free(c->wt);
}

/* Loss of the LSTM test: L = sum_{t,b,u} r_tbu h_tbu (so dL/dh_t = r). */
static double lstm_case_loss(lstm_case *c) {
    lstm_forward(&c->p, c->T, c->B, c->I, c->H, 1.0, c->x, c->z, c->hs, c->cs);
    double L = 0;
    size_t n = c->T * c->B * c->H;
    for (size_t i = 0; i < n; i++) L += c->r[i] * c->hs[c->B * c->H + i];
    return L;
}

static void lstm_case_backward(lstm_case *c) {
    memcpy(c->dh, c->r, c->T * c->B * c->H * sizeof(double));
    lstm_backward(&c->p, &c->g, c->T, c->B, c->I, c->H, 1.0, c->x, c->z, c->hs, c->cs, c->dh,
                  c->dz, c->dh0, c->dc0, c->wt);
}

/* Mean absolute asymmetry of two arrays (see the file comment). */
static double mean_asym(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs(a[i] - b[i]) / (fabs(a[i]) + fabs(b[i]) + 1e-8);
    return n ? s / (double)n : 0;
}

static double max_abs_diff(const double *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) if (fabs(a[i] - b[i]) > m) m = fabs(a[i] - b[i]);
    return m;
}

/* ---------------------------------------------------------------- LSTM tests */

static void test_lstm_fast_vs_naive(void) {
    /* Realistic width (H 128, as in the paper) with a short sequence. */
    const size_t T = 30, B = 10, I = 3, H = 128, G = 4 * H;
    lstm_case c;
    lstm_case_alloc(&c, T, B, I, H, 11);
    for (size_t i = 0; i < lstm_n_params(I, H); i++) c.w[i] *= 0.25;
    lstm_case_loss(&c);
    lstm_case_backward(&c);
    size_t n = lstm_n_params(I, H);
    double *gwn = calloc(n, sizeof *gwn);
    lstm_params gn;
    lstm_params_map(&gn, gwn, I, H);
    double *za = malloc(T * G * sizeof *za), *h = malloc((T + 1) * H * sizeof *h);
    double *cc = malloc((T + 1) * H * sizeof *cc), *xb = malloc(T * I * sizeof *xb);
    double *dha = malloc(T * H * sizeof *dha), *dh0 = malloc(H * sizeof *dh0), *dc0 = malloc(H * sizeof *dc0);
    double dh_err = 0, st_err = 0, z_err = 0, d0_err = 0;
    for (size_t b = 0; b < B; b++) {
        for (size_t t = 0; t < T; t++) {
            memcpy(xb + t * I, c.x + (t * B + b) * I, I * sizeof *xb);
            memcpy(dha + t * H, c.r + (t * B + b) * H, H * sizeof *dha);
        }
        memcpy(h, c.hs + b * H, H * sizeof *h);
        memcpy(cc, c.cs + b * H, H * sizeof *cc);
        naive_lstm_item(c.p.w_x, c.p.w_h, c.p.b, T, I, H, 1.0, xb, I, za, h, cc);
        for (size_t t = 0; t < T; t++) {
            for (size_t u = 0; u < H; u++) {
                st_err = fmax(st_err, fabs(h[(t + 1) * H + u] - c.hs[((t + 1) * B + b) * H + u]));
                st_err = fmax(st_err, fabs(cc[(t + 1) * H + u] - c.cs[((t + 1) * B + b) * H + u]));
            }
            for (size_t gi = 0; gi < G; gi++)
                z_err = fmax(z_err, fabs(za[t * G + gi] - c.z[(t * B + b) * G + gi]));
        }
        naive_lstm_item_back(c.p.w_h, T, I, H, xb, I, za, h, cc, dha, gn.w_x, gn.w_h, gn.b, dh0, dc0);
        for (size_t u = 0; u < H; u++) {
            d0_err = fmax(d0_err, fabs(dh0[u] - c.dh0[b * H + u]));
            d0_err = fmax(d0_err, fabs(dc0[u] - c.dc0[b * H + u]));
        }
    }
    dh_err = max_abs_diff(gwn, c.gw, n);
    CHECK(st_err < 1e-12, "fast vs naive LSTM states h_t, c_t (T 30, B 10, H 128): max |diff| %.3g", st_err);
    CHECK(z_err < 1e-12, "fast vs naive gate activations: max |diff| %.3g", z_err);
    CHECK(dh_err < 1e-10, "fast vs naive parameter gradients: max |diff| %.3g", dh_err);
    CHECK(d0_err < 1e-12, "fast vs naive dL/dh0, dL/dc0: max |diff| %.3g", d0_err);
    double gnorm = 0;
    for (size_t i = 0; i < n; i++) gnorm = fmax(gnorm, fabs(gwn[i]));
    CHECK(gnorm > 1e-2, "naive gradients are not trivially zero (max |g| %.3g)", gnorm);
    free(gwn); free(za); free(h); free(cc); free(xb); free(dha); free(dh0); free(dc0);
    lstm_case_free(&c);
}

static void test_lstm_fd(void) {
    const size_t T = 7, B = 3, I = 3, H = 5;
    lstm_case c;
    lstm_case_alloc(&c, T, B, I, H, 23);
    size_t n = lstm_n_params(I, H);
    lstm_case_loss(&c);
    lstm_case_backward(&c);
    double *an = malloc(n * sizeof *an), *fd = malloc(n * sizeof *fd);
    memcpy(an, c.gw, n * sizeof *an);
    double *d0 = malloc(2 * B * H * sizeof *d0), *fd0 = malloc(2 * B * H * sizeof *fd0);
    memcpy(d0, c.dh0, B * H * sizeof *d0);
    memcpy(d0 + B * H, c.dc0, B * H * sizeof *d0);
    const double eps = 1e-5;
    for (size_t i = 0; i < n; i++) {
        double w0 = c.w[i];
        c.w[i] = w0 + eps; double lp = lstm_case_loss(&c);
        c.w[i] = w0 - eps; double lm = lstm_case_loss(&c);
        c.w[i] = w0;
        fd[i] = (lp - lm) / (2 * eps);
    }
    /* initial state: hs[0], cs[0] */
    for (size_t i = 0; i < 2 * B * H; i++) {
        double *v = i < B * H ? &c.hs[i] : &c.cs[i - B * H];
        double v0 = *v;
        *v = v0 + eps; double lp = lstm_case_loss(&c);
        *v = v0 - eps; double lm = lstm_case_loss(&c);
        *v = v0;
        fd0[i] = (lp - lm) / (2 * eps);
    }
    double a = mean_asym(an, fd, n), a0 = mean_asym(d0, fd0, 2 * B * H);
    CHECK(a < 1e-6, "LSTM parameter gradients vs finite differences: mean asymmetry %.3g (%zu params)", a, n);
    CHECK(a0 < 1e-6, "LSTM dL/dh0, dL/dc0 vs finite differences: mean asymmetry %.3g", a0);
    CHECK(max_abs_diff(an, fd, n) < 1e-7, "LSTM gradient max |analytic - fd| %.3g", max_abs_diff(an, fd, n));
    free(an); free(fd); free(d0); free(fd0);
    lstm_case_free(&c);
}

/* The fast float32 passes (one recurrent product over all B rows per step) against the
 * grouped ones (one product per item group, lstm_*_variant_s_grouped): the same bytes
 * for every output, each variant, batch 1, 5 and 13 (more items than groups, unequal
 * groups), H 37 (4H = 148: a column share that is not a multiple of 16), with 1 and 2
 * threads (B 13 is large enough for the parallel region: with 2 threads the fast
 * functions then run the grouped pass themselves). */
static void test_lstm_f32_fast_vs_grouped(void) {
    const size_t T = 60, I = 3, H = 37, G = 4 * H; /* B 13: T B H G > LSTM_PARALLEL_MIN */
    const size_t batches[3] = {1, 5, 13};
    int all_same = 1, n_cases = 0;
    for (int k = 0; k < 4; k++)
        for (int bi = 0; bi < 3; bi++)
            for (int th = 1; th <= 2; th++) {
                const size_t B = batches[bi], TB = T * B;
                lstm_variant v = {k & 1, (k >> 1) & 1};
                const size_t n = lstm_variant_n_params(&v, I, H);
                float *buf[2][9];
                gsl_rng *rg = rng_stream_alloc(77 + (uint64_t)k, "test", B);
                const size_t sz[9] = {n, n, TB * I, TB * G, TB * G, (TB + B) * H, (TB + B) * H,
                                      TB * H, 2 * B * H};
                for (int c = 0; c < 2; c++)
                    for (int a = 0; a < 9; a++) buf[c][a] = calloc(sz[a], sizeof(float));
                for (size_t i = 0; i < n; i++) buf[0][0][i] = (float)(gsl_rng_uniform(rg) * 1.2 - 0.6);
                for (size_t i = 0; i < TB * I; i++) buf[0][2][i] = (float)(gsl_rng_uniform(rg) * 3 - 1.3);
                for (size_t i = 0; i < B * H; i++) {
                    buf[0][5][i] = (float)(gsl_rng_uniform(rg) * 1.6 - 0.8);
                    buf[0][6][i] = (float)(gsl_rng_uniform(rg) * 2.3 - 1.1);
                }
                for (size_t i = 0; i < TB * H; i++) buf[0][7][i] = (float)(gsl_rng_uniform(rg) * 2 - 1);
                gsl_rng_free(rg);
                for (int a = 0; a < 9; a++) memcpy(buf[1][a], buf[0][a], sz[a] * sizeof(float));
                float *wt = malloc(G * H * sizeof *wt);
#ifdef _OPENMP
                omp_set_num_threads(th);
#endif
                for (int c = 0; c < 2; c++) {
                    float **b = buf[c];
                    lstm_params_s ps, gs;
                    lstm_variant_params_map_s(&ps, &v, b[0], I, H);
                    lstm_variant_params_map_s(&gs, &v, b[1], I, H);
                    if (c == 0) {
                        lstm_forward_variant_s(&ps, &v, T, B, I, H, 1.0f, b[2], b[3], b[5], b[6]);
                        lstm_backward_variant_s(&ps, &gs, &v, T, B, I, H, 1.0f, b[2], b[3], b[5], b[6],
                                                b[7], b[4], b[8], b[8] + B * H, wt);
                    } else {
                        lstm_forward_variant_s_grouped(&ps, &v, T, B, I, H, 1.0f, b[2], b[3], b[5],
                                                       b[6]);
                        lstm_backward_variant_s_grouped(&ps, &gs, &v, T, B, I, H, 1.0f, b[2], b[3],
                                                        b[5], b[6], b[7], b[4], b[8], b[8] + B * H,
                                                        wt);
                    }
                }
                for (int a = 0; a < 9; a++)
                    all_same &= memcmp(buf[0][a], buf[1][a], sz[a] * sizeof(float)) == 0;
                n_cases++;
                for (int c = 0; c < 2; c++)
                    for (int a = 0; a < 9; a++) free(buf[c][a]);
                free(wt);
            }
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    CHECK(all_same, "float32 LSTM: the all-rows step products give the grouped passes' bytes (%d cases: 4 cells, B 1 5 13, 1 and 2 threads)",
          n_cases);
}

/* The float32 kernel (lstm_forward_variant_s, lstm_backward_variant_s) against the
 * float64 one on the same float-representable weights, inputs and initial state, for
 * the standard cell and the peephole, CIFG and peephole-CIFG variants (T 20, B 10, H 37:
 * odd widths exercise the vector tails). Tolerances from float32's unit roundoff
 * u = 2^-24 = 6e-8: each pre-activation sums I + H = 40 products of |w x| <= 0.6, an
 * error of order sqrt(40) u 0.6 per step, carried and mixed through T = 20 steps of
 * contracting gates, so states agree to 2e-5 (|h| < 1), and the gradients (sums over
 * T B = 200 rows) to 2e-5 in relative L2 norm. */
static void test_lstm_f32_vs_f64(void) {
    const size_t T = 20, B = 10, I = 3, H = 37, G = 4 * H, TB = T * B;
    for (int k = 0; k < 4; k++) {
        lstm_variant v = {k & 1, (k >> 1) & 1};
        const size_t n = lstm_variant_n_params(&v, I, H);
        gsl_rng *rg = rng_stream_alloc(31 + (uint64_t)k, "test", 0);
        double *w = malloc(n * sizeof *w), *gw = malloc(n * sizeof *gw);
        double *x = malloc(TB * I * sizeof *x), *r = malloc(TB * H * sizeof *r);
        double *z = malloc(TB * G * sizeof *z), *dz = malloc(TB * G * sizeof *dz);
        double *hs = malloc((TB + B) * H * sizeof *hs), *cs = malloc((TB + B) * H * sizeof *cs);
        double *dh = malloc(TB * H * sizeof *dh), *d0 = malloc(2 * B * H * sizeof *d0);
        double *wt = malloc(G * H * sizeof *wt);
        float *wf = malloc(n * sizeof *wf), *gwf = malloc(n * sizeof *gwf);
        float *xf = malloc(TB * I * sizeof *xf), *zf = malloc(TB * G * sizeof *zf);
        float *dzf = malloc(TB * G * sizeof *dzf), *hsf = malloc((TB + B) * H * sizeof *hsf);
        float *csf = malloc((TB + B) * H * sizeof *csf), *dhf = malloc(TB * H * sizeof *dhf);
        float *d0f = malloc(2 * B * H * sizeof *d0f), *wtf = malloc(G * H * sizeof *wtf);
        fill_uniform(rg, w, n, -0.6, 0.6);
        fill_uniform(rg, x, TB * I, -1.3, 1.7);
        fill_uniform(rg, hs, B * H, -0.8, 0.8);
        fill_uniform(rg, cs, B * H, -1.1, 1.2);
        fill_uniform(rg, r, TB * H, -1.0, 1.0);
        gsl_rng_free(rg);
        /* round every input to float, so both precisions see the same values */
        for (size_t i = 0; i < n; i++) w[i] = wf[i] = (float)w[i];
        for (size_t i = 0; i < TB * I; i++) x[i] = xf[i] = (float)x[i];
        for (size_t i = 0; i < B * H; i++) {
            hs[i] = hsf[i] = (float)hs[i];
            cs[i] = csf[i] = (float)cs[i];
        }
        for (size_t i = 0; i < TB * H; i++) { r[i] = (float)r[i]; dh[i] = r[i]; dhf[i] = (float)r[i]; }
        lstm_params p, g;
        lstm_params_s ps, gs;
        lstm_variant_params_map(&p, &v, w, I, H);
        lstm_variant_params_map(&g, &v, gw, I, H);
        lstm_variant_params_map_s(&ps, &v, wf, I, H);
        lstm_variant_params_map_s(&gs, &v, gwf, I, H);
        lstm_forward_variant(&p, &v, T, B, I, H, 1.0, x, z, hs, cs);
        lstm_backward_variant(&p, &g, &v, T, B, I, H, 1.0, x, z, hs, cs, dh, dz, d0, d0 + B * H, wt);
        lstm_forward_variant_s(&ps, &v, T, B, I, H, 1.0f, xf, zf, hsf, csf);
        lstm_backward_variant_s(&ps, &gs, &v, T, B, I, H, 1.0f, xf, zf, hsf, csf, dhf, dzf, d0f,
                                d0f + B * H, wtf);
        double es = 0, ez = 0, eg = 0, sg = 0, e0 = 0, s0 = 0;
        for (size_t i = B * H; i < (TB + B) * H; i++)
            es = fmax(es, fmax(fabs(hsf[i] - hs[i]), fabs(csf[i] - cs[i])));
        for (size_t i = 0; i < TB * G; i++) ez = fmax(ez, fabs(zf[i] - z[i]));
        for (size_t i = 0; i < n; i++) {
            eg += (gwf[i] - gw[i]) * (gwf[i] - gw[i]);
            sg += gw[i] * gw[i];
        }
        for (size_t i = 0; i < 2 * B * H; i++) {
            e0 += (d0f[i] - d0[i]) * (d0f[i] - d0[i]);
            s0 += d0[i] * d0[i];
        }
        eg = sqrt(eg / sg);
        e0 = sqrt(e0 / s0);
        static const char *names[4] = {"standard", "peephole", "CIFG", "peephole CIFG"};
        CHECK(es < 2e-5 && ez < 2e-5, "float32 LSTM (%s): states h, c max |diff| %.2g, gates %.2g (< 2e-5)",
              names[k], es, ez);
        CHECK(eg < 2e-5 && e0 < 2e-5, "float32 LSTM (%s): parameter gradients rel L2 %.2g, dL/dh0 dL/dc0 %.2g (< 2e-5)",
              names[k], eg, e0);
        if (v.coupled) {
            double mx = 0;
            for (size_t i = 0; i < H; i++) mx = fmax(mx, fabs(gs.b[2 * H + i]));
            CHECK(mx == 0, "float32 CIFG: the forget gate's bias gradient is exactly 0");
        }
        free(w); free(gw); free(x); free(r); free(z); free(dz); free(hs); free(cs); free(dh);
        free(d0); free(wt); free(wf); free(gwf); free(xf); free(zf); free(dzf); free(hsf);
        free(csf); free(dhf); free(d0f); free(wtf);
    }
}

static void test_lstm_forget_bias(void) {
    /* With all weights zero, every gate pre-activation is 0: i = o = 1/2, j = 0 and
     * f = sig(1) = 0.7310585786300049, so c_t = f^t c_0 and h_t = tanh(c_t) / 2. */
    lstm_case c;
    lstm_case_alloc(&c, 4, 2, 3, 3, 5);
    memset(c.w, 0, lstm_n_params(3, 3) * sizeof(double));
    lstm_case_loss(&c);
    double f = 0.7310585786300049, c0 = c.cs[1];
    double c4 = c0 * f * f * f * f;
    CHECK_CLOSE(c.cs[4 * 2 * 3 + 1], c4, 1e-15, "c_4 = sig(1)^4 c_0 with zero weights");
    CHECK_CLOSE(c.hs[4 * 2 * 3 + 1], 0.5 * tanh(c4), 1e-15, "h_4 = tanh(c_4)/2");
    lstm_case_free(&c);
}

/* ---------------------------------------------------------------- full model */

typedef struct pi_case {
    pathint *m;
    size_t B, T;
    double *vel, *pc0, *hd0, *pc, *hd;
} pi_case;

/* Random softmax-like target rows (positive, summing to one). */
static void fill_dist(gsl_rng *r, double *a, size_t rows, size_t n) {
    for (size_t i = 0; i < rows; i++) {
        double s = 0;
        for (size_t k = 0; k < n; k++) { a[i * n + k] = exp(3.0 * gsl_rng_uniform(r)); s += a[i * n + k]; }
        for (size_t k = 0; k < n; k++) a[i * n + k] /= s;
    }
}

static void pi_case_alloc(pi_case *c, const pathint_dims *d, size_t B, size_t T, uint64_t seed) {
    c->m = pathint_alloc(d, B, T);
    c->B = B; c->T = T;
    pathint_init_weights(c->m, seed);
    c->vel = malloc(B * T * d->n_in * sizeof(double));
    c->pc0 = malloc(B * d->n_pc * sizeof(double));
    c->hd0 = malloc((B * d->n_hd + 1) * sizeof(double));
    c->pc = malloc(B * T * d->n_pc * sizeof(double));
    c->hd = malloc((B * T * d->n_hd + 1) * sizeof(double));
    gsl_rng *r = rng_stream_alloc(seed, "test", 1);
    fill_uniform(r, c->vel, B * T * d->n_in, -0.9, 1.1);
    fill_dist(r, c->pc0, B, d->n_pc);
    fill_dist(r, c->hd0, B, d->n_hd);
    fill_dist(r, c->pc, B * T, d->n_pc);
    fill_dist(r, c->hd, B * T, d->n_hd);
    /* biases away from zero so their gradients matter */
    for (size_t i = 0; i < c->m->n_params; i++) c->m->params[i] += 0.05 * (gsl_rng_uniform(r) - 0.5);
    gsl_rng_free(r);
}

static void pi_case_free(pi_case *c) {
    pathint_free(c->m);
    free(c->vel); free(c->pc0); free(c->hd0); free(c->pc); free(c->hd);
}

static double pi_loss(pi_case *c, int drop) {
    double L;
    pathint_forward(c->m, c->B, c->vel, c->pc0, c->hd0, c->pc, c->hd, drop, &L);
    return L;
}

static void test_pathint_fd(void) {
    pathint_dims d = {3, 6, 7, 5, 4, PATHINT_LSTM};
    pi_case c;
    pi_case_alloc(&c, &d, 2, 5, 31);
    pathint *m = c.m;
    m->weight_decay = 3.7e-3;
    pathint_dropout_mask(m, c.B, 31, 4);
    size_t nz = 0;
    for (size_t i = 0; i < c.T * c.B * d.n_g; i++) nz += m->mask[i] == 0;
    CHECK(nz > 0 && nz < c.T * c.B * d.n_g, "dropout mask has %zu zeros of %zu", nz, c.T * c.B * d.n_g);
    pi_loss(&c, 1);
    pathint_backward(m, c.pc, c.hd);
    size_t n = m->n_params;
    double *an = malloc(n * sizeof *an), *fd = malloc(n * sizeof *fd);
    memcpy(an, m->grads, n * sizeof *an);
    const double eps = 1e-5;
    for (size_t i = 0; i < n; i++) {
        double w0 = m->params[i];
        m->params[i] = w0 + eps; double lp = pi_loss(&c, 1);
        m->params[i] = w0 - eps; double lm = pi_loss(&c, 1);
        m->params[i] = w0;
        fd[i] = (lp - lm) / (2 * eps);
    }
    double a = mean_asym(an, fd, n);
    CHECK(a < 1e-6, "full model (dropout mask fixed, L2 on) gradients vs finite differences: "
          "mean asymmetry %.3g over %zu params", a, n);
    /* per-layer scores */
    pathint_layers v;
    pathint_layers_map(&v, m->params, &d);
    struct { const char *name; double *p; size_t n; } parts[] = {
        {"W_h0", v.w_h0, (d.n_pc + d.n_hd) * d.n_hidden}, {"b_c0", v.b_c0, d.n_hidden},
        {"LSTM W_h", v.lstm.w_h, d.n_hidden * 4 * d.n_hidden}, {"W_g", v.w_g, d.n_hidden * d.n_g},
        {"W_pc", v.w_pc, d.n_g * d.n_pc}, {"b_hd", v.b_hd, d.n_hd}};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        size_t off = (size_t)(parts[k].p - m->params);
        double ak = mean_asym(an + off, fd + off, parts[k].n);
        CHECK(ak < 1e-6, "  %s: mean asymmetry %.3g", parts[k].name, ak);
    }
    /* Dropout off: weights of g units are used for every row, no zero gradient rows. */
    pi_loss(&c, 0);
    pathint_backward(m, c.pc, c.hd);
    memcpy(an, m->grads, n * sizeof *an);
    for (size_t i = 0; i < n; i++) {
        double w0 = m->params[i];
        m->params[i] = w0 + eps; double lp = pi_loss(&c, 0);
        m->params[i] = w0 - eps; double lm = pi_loss(&c, 0);
        m->params[i] = w0;
        fd[i] = (lp - lm) / (2 * eps);
    }
    a = mean_asym(an, fd, n);
    CHECK(a < 1e-6, "full model without dropout: mean asymmetry %.3g", a);
    free(an); free(fd);
    pi_case_free(&c);
}

/* Naive loss of the full model, item by item, from the model's parameters (no BLAS). */
static double naive_pathint_loss(pi_case *c, int drop) {
    pathint *m = c->m;
    const pathint_dims *d = &m->d;
    size_t T = c->T, B = c->B, I = d->n_in, H = d->n_hidden, G = 4 * H, Ng = d->n_g;
    size_t P = d->n_pc, D = d->n_hd, PD = P + D;
    double *za = malloc(T * G * sizeof *za), *h = malloc((T + 1) * H * sizeof *h);
    double *cc = malloc((T + 1) * H * sizeof *cc), *gv = malloc(Ng * sizeof *gv);
    double *lg = malloc((P > D ? P : D) * sizeof *lg);
    double total = 0;
    for (size_t b = 0; b < B; b++) {
        for (size_t u = 0; u < H; u++) {
            double sh = m->w.b_h0[u], sc = m->w.b_c0[u];
            for (size_t k = 0; k < PD; k++) {
                double in = k < P ? c->pc0[b * P + k] : c->hd0[b * D + k - P];
                sh += in * m->w.w_h0[k * H + u];
                sc += in * m->w.w_c0[k * H + u];
            }
            h[u] = sh; cc[u] = sc;
        }
        naive_lstm_item(m->w.lstm.w_x, m->w.lstm.w_h, m->w.lstm.b, T, I, H, 1.0,
                        c->vel + b * T * I, I, za, h, cc);
        for (size_t t = 0; t < T; t++) {
            for (size_t k = 0; k < Ng; k++) {
                double s = 0;
                for (size_t u = 0; u < H; u++) s += h[(t + 1) * H + u] * m->w.w_g[u * Ng + k];
                gv[k] = drop ? s * m->mask[(t * B + b) * Ng + k] : s;
            }
            for (int head = 0; head < 2; head++) {
                size_t N = head ? D : P;
                const double *W = head ? m->w.w_hd : m->w.w_pc, *bb = head ? m->w.b_hd : m->w.b_pc;
                const double *y = head ? c->hd + (b * T + t) * D : c->pc + (b * T + t) * P;
                double mx = -INFINITY;
                for (size_t i = 0; i < N; i++) {
                    double s = bb[i];
                    for (size_t k = 0; k < Ng; k++) s += gv[k] * W[k * N + i];
                    lg[i] = s;
                    if (s > mx) mx = s;
                }
                double z = 0;
                for (size_t i = 0; i < N; i++) z += exp(lg[i] - mx);
                for (size_t i = 0; i < N; i++) total -= y[i] * (lg[i] - mx - log(z));
            }
        }
    }
    free(za); free(h); free(cc); free(gv); free(lg);
    return total / (double)(T * B);
}

static void test_pathint_vs_naive(void) {
    pathint_dims d = pathint_dims_default();
    pi_case c;
    pi_case_alloc(&c, &d, 4, 20, 41);
    pathint_dropout_mask(c.m, c.B, 41, 9);
    double L1 = pi_loss(&c, 1), N1 = naive_pathint_loss(&c, 1);
    double L0 = pi_loss(&c, 0), N0 = naive_pathint_loss(&c, 0);
    CHECK_CLOSE(L1, N1, 1e-11 * fabs(N1), "full model loss with dropout (paper sizes, B 4, T 20) vs naive");
    CHECK_CLOSE(L0, N0, 1e-11 * fabs(N0), "full model loss without dropout vs naive");
    CHECK(fabs(L1 - L0) > 1e-3, "dropout changes the loss (%.6f vs %.6f)", L1, L0);
    /* Untrained model with random-ish weights: loss near log(256) + log(12) = 8.03. */
    CHECK(L0 > 5 && L0 < 12, "initial loss %.4f is near log 256 + log 12 = 8.03", L0);
    pi_case_free(&c);
}

static void test_dropout_mask(void) {
    pathint_dims d = pathint_dims_default();
    pathint *m = pathint_alloc(&d, 10, 100);
    m->dropout = 0.5;
    pathint_dropout_mask(m, 10, 7, 123);
    size_t n = 10 * 100 * d.n_g, zeros = 0, twos = 0;
    for (size_t i = 0; i < n; i++) { zeros += m->mask[i] == 0.0; twos += m->mask[i] == 2.0; }
    double frac = (double)zeros / (double)n;
    /* binomial std of the fraction: 0.5/sqrt(256000) = 0.001; allow 5 std */
    CHECK(fabs(frac - 0.5) < 0.005 && zeros + twos == n,
          "dropout 0.5: %.4f of %zu entries are 0, the rest are exactly 1/keep = 2", frac, n);
    /* item 3 of a batch of 4 equals item 3 of a batch of 10 (one stream per item) */
    double *m10 = malloc(n * sizeof *m10);
    memcpy(m10, m->mask, n * sizeof *m10);
    pathint_dropout_mask(m, 4, 7, 123);
    int same = 1;
    for (size_t t = 0; t < 100; t++)
        same &= memcmp(m->mask + (t * 4 + 3) * d.n_g, m10 + (t * 10 + 3) * d.n_g, d.n_g * sizeof(double)) == 0;
    CHECK(same, "dropout mask of item 3 does not depend on the batch size");
    pathint_dropout_mask(m, 10, 7, 124);
    CHECK(memcmp(m->mask, m10, n * sizeof *m10) != 0, "a new update draws a new mask");
    m->dropout = 0;
    pathint_dropout_mask(m, 10, 7, 123);
    size_t ones = 0;
    for (size_t i = 0; i < n; i++) ones += m->mask[i] == 1.0;
    CHECK(ones == n, "dropout 0 gives an all-ones mask");
    free(m10);
    pathint_free(m);
}

static void test_init(void) {
    pathint_dims d = pathint_dims_default();
    pathint *m = pathint_alloc(&d, 1, 1);
    pathint_init_weights(m, 5);
    size_t n = d.n_hidden * d.n_g;
    double s = 0, s2 = 0, mx = 0, sd = 1.0 / sqrt((double)d.n_hidden);
    for (size_t i = 0; i < n; i++) {
        s += m->w.w_g[i]; s2 += m->w.w_g[i] * m->w.w_g[i];
        mx = fmax(mx, fabs(m->w.w_g[i]));
    }
    double std = sqrt(s2 / n - (s / n) * (s / n));
    /* A normal truncated at +-2 std keeps std 0.8796 of the untruncated one. */
    CHECK(fabs(std / sd - 0.8796) < 0.02, "W_g std / (1/sqrt(128)) = %.4f (truncated normal: 0.8796)", std / sd);
    CHECK(mx <= 2 * sd, "W_g within 2 std (max %.4f, bound %.4f)", mx, 2 * sd);
    int zero_b = 1;
    for (size_t i = 0; i < 4 * d.n_hidden; i++) zero_b &= m->w.lstm.b[i] == 0;
    CHECK(zero_b, "LSTM biases start at zero (forget bias +1 is a constant)");
    double *p1 = malloc(m->n_params * sizeof *p1);
    memcpy(p1, m->params, m->n_params * sizeof *p1);
    pathint_init_weights(m, 5);
    CHECK(memcmp(p1, m->params, m->n_params * sizeof *p1) == 0, "same seed, same weights");
    CHECK(m->n_params == 2 * (268 * 128 + 128) + 131 * 512 + 512 + 128 * 256 + 256 * 256 + 256 + 256 * 12 + 12,
          "parameter count %zu", m->n_params);
    free(p1);
    pathint_free(m);
}

static void test_threads(void) {
#ifdef _OPENMP
    pathint_dims d = pathint_dims_default();
    pi_case c;
    pi_case_alloc(&c, &d, 10, 40, 53);
    size_t n = c.m->n_params, ng = c.T * c.B * d.n_g;
    double L[3], *g[3], *mask[3], *gact[3];
    for (int k = 0; k < 3; k++) {
        omp_set_num_threads(k + 1);
        pathint_dropout_mask(c.m, c.B, 53, 2);
        L[k] = pi_loss(&c, 1);
        pathint_backward(c.m, c.pc, c.hd);
        g[k] = malloc(n * sizeof(double));
        memcpy(g[k], c.m->grads, n * sizeof(double));
        mask[k] = malloc(ng * sizeof(double));
        memcpy(mask[k], c.m->mask, ng * sizeof(double));
        gact[k] = malloc(ng * sizeof(double));
        memcpy(gact[k], c.m->g, ng * sizeof(double));
    }
    omp_set_num_threads(2);
    for (int k = 1; k < 3; k++) {
        CHECK(memcmp(&L[0], &L[k], sizeof(double)) == 0, "loss byte-identical for 1 and %d threads (%.17g)", k + 1, L[0]);
        CHECK(memcmp(g[0], g[k], n * sizeof(double)) == 0, "gradients byte-identical for 1 and %d threads", k + 1);
        CHECK(memcmp(mask[0], mask[k], ng * sizeof(double)) == 0, "dropout masks identical for 1 and %d threads", k + 1);
        CHECK(memcmp(gact[0], gact[k], ng * sizeof(double)) == 0, "g activations identical for 1 and %d threads", k + 1);
    }
    for (int k = 0; k < 3; k++) { free(g[k]); free(mask[k]); free(gact[k]); }
    pi_case_free(&c);
#else
    CHECK(1, "built without OpenMP: thread test skipped");
#endif
}

static void test_gemm_edges(void) {
    /* lstm_gemm with transposes and strides against a triple loop. */
    gsl_rng *r = rng_stream_alloc(3, "test", 0);
    const size_t M = 37, N = 19, K = 23;
    double a[K * 40], b[K * 25], c[M * 21], ref[M * 21];
    fill_uniform(r, a, K * 40, -1, 1);
    fill_uniform(r, b, K * 25, -1, 1);
    fill_uniform(r, c, M * 21, -1, 1);
    memcpy(ref, c, sizeof c);
    /* C (M, N; ldc 21) = 1.5 A^T B^T + 0.5 C with A (K, M; lda 40), B (N, K; ldb 25) */
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t k = 0; k < K; k++) s += a[k * 40 + i] * b[j * 25 + k];
            ref[i * 21 + j] = 1.5 * s + 0.5 * ref[i * 21 + j];
        }
    lstm_gemm(1, 1, M, N, K, 1.5, a, 40, b, 25, 0.5, c, 21);
    CHECK(max_abs_diff(c, ref, M * 21) < 1e-13, "lstm_gemm (A^T B^T, strided) vs triple loop: %.3g",
          max_abs_diff(c, ref, M * 21));
    size_t lo, hi, tot = 0, prev = 0;
    int contiguous = 1;
    for (size_t k = 0; k < 3; k++) {
        lstm_partition(10, 3, k, &lo, &hi);
        contiguous &= lo == prev;
        prev = hi; tot += hi - lo;
    }
    CHECK(contiguous && tot == 10 && prev == 10, "lstm_partition(10, 3) covers 0..10 contiguously");
    gsl_rng_free(r);
}

/* ---------------------------------------------------------------- optimiser */

static void test_rmsprop_tf(void) {
    /* TF1 RMSProp (optim.h) with lr 1e-5, rho 0.9, momentum 0.9, eps 1e-10, element-wise
     * clip 1e-5, two weights w = (0.5, -1.25), ms starting at 1 and mom at 0.
     * Values computed by hand with 40-digit decimal arithmetic:
     *   ms = 0.9 ms + 0.1 g^2;  mom = 0.9 mom + 1e-5 g / sqrt(ms + 1e-10);  w -= mom
     * step 1: g = (2.385e-6, 3.7e-5 -> clipped to 1e-5)
     *   ms  = (0.9 + 0.1 * 5.688225e-12, 0.9 + 0.1 * 1e-10) = (0.9000000000005688225, 0.90000000001)
     *   mom = (1e-5 * 2.385e-6 / sqrt(0.9000000001005688225), 1e-5 * 1e-5 / sqrt(0.90000000011))
     *       = (2.514010739693399847e-11, 1.054092553325043010e-10)
     *   w   = (0.4999999999748598926031, -1.250000000105409255333)
     * step 2: g = (-4.1e-6, -2.2e-5 -> -1e-5)
     *   ms  = (0.81000000000219294025, 0.810000000019)
     *   mom = (0.9 * 2.514010739693e-11 - 1e-5 * 4.1e-6 / sqrt(0.81000000010219294025),
     *          0.9 * 1.054092553325e-10 - 1e-10 / sqrt(0.810000000119))
     *       = (-2.292945889544121856e-11, -1.624278130369537463e-11)
     *   w   = (0.4999999999977893514985, -1.250000000089166474029)
     * step 3: g = (7.3e-6, 6e-6)
     *   ms  = (0.729000000007302646225, 0.7290000000207)
     *   mom = (6.486210520717785891e-11, 5.565433371348730340e-11)
     *   w   = (0.4999999999329272462913, -1.250000000144820807742) */
    optim_params p = optim_defaults(OPTIM_RMSPROP_TF);
    p.clip_value = 1e-5;
    CHECK(p.lr == 1e-5 && p.rho == 0.9 && p.momentum == 0.9 && p.eps == 1e-10,
          "RMSProp-TF defaults: lr 1e-5, rho 0.9, momentum 0.9, eps 1e-10");
    optim *o = optim_alloc(&p, 2);
    CHECK(o->v[0] == 1.0 && o->v[1] == 1.0, "mean square starts at 1 (TF1 slot initialiser)");
    double w[2] = {0.5, -1.25};
    const double gs[3][2] = {{2.385e-6, 3.7e-5}, {-4.1e-6, -2.2e-5}, {7.3e-6, 6e-6}};
    const double ms_ref[3][2] = {{0.9000000000005688225, 0.90000000001},
                                 {0.81000000000219294025, 0.810000000019},
                                 {0.729000000007302646225, 0.7290000000207}};
    const double mom_ref[3][2] = {{2.514010739693399847e-11, 1.054092553325043010e-10},
                                  {-2.292945889544121856e-11, -1.624278130369537463e-11},
                                  {6.486210520717785891e-11, 5.565433371348730340e-11}};
    const double w_ref[3][2] = {{0.4999999999748598926031, -1.250000000105409255333},
                                {0.4999999999977893514985, -1.250000000089166474029},
                                {0.4999999999329272462913, -1.250000000144820807742}};
    for (int s = 0; s < 3; s++) {
        double g[2] = {gs[s][0], gs[s][1]};
        optim_step(o, w, g);
        for (int i = 0; i < 2; i++) {
            char what[96];
            snprintf(what, sizeof what, "step %d weight %d: ms", s + 1, i);
            CHECK_CLOSE(o->v[i], ms_ref[s][i], 1e-15, what);
            snprintf(what, sizeof what, "step %d weight %d: momentum", s + 1, i);
            CHECK_CLOSE(o->m[i], mom_ref[s][i], 1e-24, what);
            snprintf(what, sizeof what, "step %d weight %d: w", s + 1, i);
            CHECK_CLOSE(w[i], w_ref[s][i], 2e-16, what);
        }
    }
    optim_free(o);
}

/* Naive loss of the RNN core, item by item (no BLAS): h_0 = init W_h0 (+ b), h_t =
 * f(h_{t-1} W_rec + x_t W_in), softmax heads, CE + (wd/2) |W_rec|^2. */
static double naive_rnn_loss(pi_case *c) {
    pathint *m = c->m;
    const pathint_dims *d = &m->d;
    size_t T = c->T, B = c->B, I = d->n_in, H = d->n_hidden, P = d->n_pc, D = d->n_hd, PD = P + D;
    double *h = malloc(H * sizeof *h), *hn = malloc(H * sizeof *hn);
    double *lg = malloc((P + D + 1) * sizeof *lg), total = 0;
    for (size_t b = 0; b < B; b++) {
        for (size_t u = 0; u < H; u++) {
            double s = m->bias ? m->w.b_h0[u] : 0;
            for (size_t k = 0; k < PD; k++)
                s += (k < P ? c->pc0[b * P + k] : c->hd0[b * D + k - P]) * m->w.w_h0[k * H + u];
            h[u] = s;
        }
        for (size_t t = 0; t < T; t++) {
            for (size_t u = 0; u < H; u++) {
                double s = 0;
                for (size_t k = 0; k < H; k++) s += h[k] * m->w.w_rec[k * H + u];
                for (size_t k = 0; k < I; k++) s += c->vel[(b * T + t) * I + k] * m->w.w_in[k * H + u];
                hn[u] = m->rnn_act == PATHINT_TANH ? tanh(s) : (s > 0 ? s : 0);
            }
            memcpy(h, hn, H * sizeof *h);
            for (int head = 0; head < 2; head++) {
                size_t N = head ? D : P;
                const double *W = head ? m->w.w_hd : m->w.w_pc, *bb = head ? m->w.b_hd : m->w.b_pc;
                const double *y = head ? c->hd + (b * T + t) * D : c->pc + (b * T + t) * P;
                if (N == 0) continue;
                double mx = -INFINITY, z = 0;
                for (size_t i = 0; i < N; i++) {
                    double s = m->bias ? bb[i] : 0;
                    for (size_t k = 0; k < H; k++) s += h[k] * W[k * N + i];
                    lg[i] = s;
                    if (s > mx) mx = s;
                }
                for (size_t i = 0; i < N; i++) z += exp(lg[i] - mx);
                for (size_t i = 0; i < N; i++) total -= y[i] * (lg[i] - mx - log(z));
            }
        }
    }
    double l2 = 0;
    for (size_t i = 0; i < H * H; i++) l2 += m->w.w_rec[i] * m->w.w_rec[i];
    free(h); free(hn); free(lg);
    return total / (double)(T * B) + 0.5 * m->weight_decay * l2;
}

/* The rate-RNN core: backward vs central finite differences (ReLU without biases and
 * without a head-direction head, as the gridcells-rnn preset; tanh with biases and an
 * HD head), and the forward loss vs the naive item-by-item loop. */
static void test_rnn_core_fd(void) {
    for (int v = 0; v < 2; v++) {
        pathint_dims d = {2, 7, 7, 5, v ? 3 : 0, PATHINT_RNN};
        pi_case c;
        pi_case_alloc(&c, &d, 3, 6, 61 + v);
        pathint *m = c.m;
        m->rnn_act = v ? PATHINT_TANH : PATHINT_RELU;
        m->bias = v;
        m->weight_decay = 2.9e-3;
        m->dropout = 0;
        /* larger weights so the ReLU units switch on and off along the sequence */
        for (size_t i = 0; i < m->n_params; i++) m->params[i] *= 2.3;
        double L = pi_loss(&c, 0), N = naive_rnn_loss(&c);
        CHECK(fabs(L - N) <= 1e-12 * fabs(N), "RNN core (%s) loss %.12f vs naive loop %.12f",
              v ? "tanh, biases, HD head" : "relu", L, N);
        size_t on = 0;
        for (size_t i = 0; i < c.T * c.B * d.n_hidden; i++) on += m->g[i] > 0;
        pathint_backward(m, c.pc, c.hd);
        size_t n = m->n_params;
        double *an = malloc(n * sizeof *an), *fd = malloc(n * sizeof *fd);
        memcpy(an, m->grads, n * sizeof *an);
        const double eps = 1e-6;
        for (size_t i = 0; i < n; i++) {
            double w0 = m->params[i];
            m->params[i] = w0 + eps; double lp = pi_loss(&c, 0);
            m->params[i] = w0 - eps; double lm = pi_loss(&c, 0);
            m->params[i] = w0;
            fd[i] = (lp - lm) / (2 * eps);
        }
        pathint_layers w;
        pathint_layers_map(&w, m->params, &d);
        struct { const char *name; double *p; size_t n; } parts[] = {
            {"W_h0", w.w_h0, (d.n_pc + d.n_hd) * d.n_hidden}, {"W_in", w.w_in, d.n_in * d.n_hidden},
            {"W_rec", w.w_rec, d.n_hidden * d.n_hidden}, {"W_pc", w.w_pc, d.n_hidden * d.n_pc},
            {"b_pc", w.b_pc, d.n_pc}};
        double a = mean_asym(an, fd, n);
        CHECK(a < 1e-6, "RNN core (%s, %zu of %zu states active) gradients vs finite differences: "
              "mean asymmetry %.3g over %zu params", v ? "tanh" : "relu", on,
              c.T * c.B * d.n_hidden, a, n);
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
            size_t off = (size_t)(parts[k].p - m->params);
            double ak = mean_asym(an + off, fd + off, parts[k].n);
            CHECK(ak < 1e-6, "  %s: mean asymmetry %.3g", parts[k].name, ak);
        }
        if (!v) {
            double mx = 0;
            for (size_t i = 0; i < d.n_pc; i++) mx = fmax(mx, fabs(an[(size_t)(w.b_pc - m->params) + i]));
            CHECK(mx == 0, "no biases: b_pc gradient stays 0 (max %.3g)", mx);
        }
        free(an); free(fd);
        pi_case_free(&c);
    }
}

/* The RNN core gives the same bytes with 1, 2 and 3 threads at a size where the
 * products are cut in chunks (B 40, H 64). */
static void test_rnn_core_threads(void) {
#ifdef _OPENMP
    pathint_dims d = {2, 64, 64, 30, 0, PATHINT_RNN};
    pi_case c;
    pi_case_alloc(&c, &d, 40, 8, 71);
    size_t n = c.m->n_params;
    double L[3], *g[3];
    for (int k = 0; k < 3; k++) {
        omp_set_num_threads(k + 1);
        L[k] = pi_loss(&c, 0);
        pathint_backward(c.m, c.pc, c.hd);
        g[k] = malloc(n * sizeof(double));
        memcpy(g[k], c.m->grads, n * sizeof(double));
    }
    omp_set_num_threads(2);
    for (int k = 1; k < 3; k++) {
        CHECK(memcmp(&L[0], &L[k], sizeof(double)) == 0, "RNN core: loss byte-identical for 1 and %d threads", k + 1);
        CHECK(memcmp(g[0], g[k], n * sizeof(double)) == 0, "RNN core: gradients byte-identical for 1 and %d threads", k + 1);
    }
    for (int k = 0; k < 3; k++) free(g[k]);
    pi_case_free(&c);
#else
    CHECK(1, "built without OpenMP: thread test skipped");
#endif
}

static const test_case tests[] = {
    {"rnn_core_fd", test_rnn_core_fd},
    {"rnn_core_threads", test_rnn_core_threads},
    {"gemm_edges", test_gemm_edges},
    {"lstm_forget_bias", test_lstm_forget_bias},
    {"lstm_fast_vs_naive", test_lstm_fast_vs_naive},
    {"lstm_fd", test_lstm_fd},
    {"lstm_f32_vs_f64", test_lstm_f32_vs_f64},
    {"lstm_f32_fast_vs_grouped", test_lstm_f32_fast_vs_grouped},
    {"pathint_fd", test_pathint_fd},
    {"pathint_vs_naive", test_pathint_vs_naive},
    {"dropout_mask", test_dropout_mask},
    {"init", test_init},
    {"threads", test_threads},
    {"rmsprop_tf", test_rmsprop_tf},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
