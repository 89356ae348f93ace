/* gru.c: a batched GRU layer with hand-written forward and backward passes (cells.h).
 *
 * Cho et al. 2014 (EMNLP, eq. 5-8), in PyTorch's nn.GRU form (the reset gate applied
 * after the recurrent product, with its own bias b_hn):
 *     r = sig(x W_xr + h W_hr + b_r)          u = sig(x W_xu + h W_hu + b_u)
 *     n = tanh(x W_xn + b_n + r * (h W_hn + b_hn))
 *     h' = (1 - u) * n + u * h
 * Parameters (flat, row-major): W_x (I, 3H) | W_h (H, 3H) | b (3H,) | b_hn (H,), gate
 * order r, u, n. Layout time-major like lstm.h: x (T, B, I), hs (T+1, B, H) with block 0
 * the initial state; `gates` (T, B, 4H) keeps r, u, n and hn = h W_hn + b_hn per step.
 * The recurrence runs in one OpenMP region over fixed item groups and every product's
 * shape depends on the sizes only, so results do not depend on the thread count.
 */
#include <math.h>
#include <string.h>
#include "engram/cells.h"
#include "engram/lstm.h"

size_t gru_n_params(size_t I, size_t H) { return (I + H + 1) * 3 * H + H; }

static double sig(double a) { return 1.0 / (1.0 + exp(-a)); }

/* Number of fixed batch-item groups of the recurrence (a property of the sizes, not of
 * the thread count), as in lstm.c. */
#define GRU_GROUPS 8

/* Forward steps t = 0..T-1 of the items of groups [g0, g1). */
static void gru_forward_groups(const double *w_h, const double *b_hn, size_t T, size_t B,
                               size_t H, size_t n_groups, size_t g0, size_t g1,
                               const double *ax, double *gates, double *hs) {
    size_t G = 3 * H;
    for (size_t t = 0; t < T; t++) {
        const double *hp = hs + t * B * H;
        double *hn = hs + (t + 1) * B * H, *gt = gates + t * B * 4 * H;
        for (size_t gi = g0; gi < g1; gi++) {
            size_t b0, b1;
            lstm_partition(B, n_groups, gi, &b0, &b1);
            /* ah (nb, 3H) = h_{t-1} W_h, written into the gate block's first 3H columns */
            lstm_gemm_serial(0, 0, b1 - b0, G, H, 1.0, hp + b0 * H, H, w_h, G, 0.0,
                             gt + b0 * 4 * H, 4 * H);
            for (size_t i = b0; i < b1; i++) {
                double *g = gt + i * 4 * H;
                const double *a = ax + (t * B + i) * G, *h0 = hp + i * H;
                for (size_t k = 0; k < H; k++) {
                    double rr = sig(a[k] + g[k]);
                    double uu = sig(a[H + k] + g[H + k]);
                    double hh = g[2 * H + k] + b_hn[k];
                    double nn = tanh(a[2 * H + k] + rr * hh);
                    g[k] = rr; g[H + k] = uu; g[2 * H + k] = nn; g[3 * H + k] = hh;
                    hn[i * H + k] = (1 - uu) * nn + uu * h0[k];
                }
            }
        }
    }
}

void gru_forward(const double *w, size_t T, size_t B, size_t I, size_t H, const double *x,
                 double *ax, double *gates, double *hs) {
    const double *w_x = w, *w_h = w + I * 3 * H, *b = w_h + H * 3 * H, *b_hn = b + 3 * H;
    size_t G = 3 * H;
    /* ax (T B, 3H) = x W_x + b, one product over all steps */
    lstm_gemm(0, 0, T * B, G, I, 1.0, x, I, w_x, G, 0.0, ax, G);
    for (size_t r = 0; r < T * B; r++)
        for (size_t k = 0; k < G; k++) ax[r * G + k] += b[k];
    /* One parallel region for all T steps: each thread owns a fixed range of item
     * groups (items are independent, so no barrier), one product per group and step.
     * A region per step cost more than the step itself on a loaded machine. */
    size_t n_groups = B < GRU_GROUPS ? B : GRU_GROUPS;
#ifdef _OPENMP
#pragma omp parallel if (n_groups > 1 && (double)T * B * H * G >= LSTM_PARALLEL_MIN)
#endif
    {
        size_t g0, g1;
        lstm_thread_range(n_groups, &g0, &g1);
        gru_forward_groups(w_h, b_hn, T, B, H, n_groups, g0, g1, ax, gates, hs);
    }
}

/* Backward steps t = T-1..0 of the items of groups [g0, g1); dh0 rows of these items
 * carry dL/dh_{t-1}. */
static void gru_backward_groups(const double *w_h, size_t T, size_t B, size_t H,
                                size_t n_groups, size_t g0, size_t g1, const double *gates,
                                const double *hs, double *dh, double *dax, double *dah,
                                double *dh0) {
    size_t G = 3 * H;
    for (size_t t = T; t-- > 0;) {
        const double *gt = gates + t * B * 4 * H, *hp = hs + t * B * H;
        double *dx = dax + t * B * G, *dr = dah + t * B * G;
        for (size_t gi = g0; gi < g1; gi++) {
            size_t b0, b1;
            lstm_partition(B, n_groups, gi, &b0, &b1);
            for (size_t i = b0; i < b1; i++) {
                const double *g = gt + i * 4 * H;
                double *d = dh + (t * B + i) * H, *c = dh0 + i * H;
                for (size_t k = 0; k < H; k++) {
                    double dht = d[k] + c[k];           /* total dL/dh_t */
                    d[k] = dht;
                    double rr = g[k], uu = g[H + k], nn = g[2 * H + k], hh = g[3 * H + k];
                    double dn = dht * (1 - uu);         /* through h = (1-u) n */
                    double du = dht * (hp[i * H + k] - nn); /* dh/du = h_{t-1} - n */
                    double dan = dn * (1 - nn * nn);    /* n's pre-activation */
                    double drr = dan * hh;
                    double dar = drr * rr * (1 - rr), dau = du * uu * (1 - uu);
                    dx[i * G + k] = dar; dx[i * G + H + k] = dau; dx[i * G + 2 * H + k] = dan;
                    dr[i * G + k] = dar; dr[i * G + H + k] = dau; dr[i * G + 2 * H + k] = dan * rr;
                    c[k] = dht * uu;                    /* the direct path u * h_{t-1} */
                }
            }
            /* dL/dh_{t-1} += dah W_h^T (nb, H) */
            lstm_gemm_serial(0, 1, b1 - b0, H, G, 1.0, dr + b0 * G, G, w_h, G, 1.0,
                             dh0 + b0 * H, H);
        }
    }
}

void gru_backward(const double *w, double *gw, size_t T, size_t B, size_t I, size_t H,
                  const double *x, const double *gates, const double *hs, double *dh,
                  double *dax, double *dah, double *dh0) {
    const double *w_h = w + I * 3 * H;
    double *g_wx = gw, *g_wh = gw + I * 3 * H, *g_b = g_wh + H * 3 * H, *g_bhn = g_b + 3 * H;
    size_t G = 3 * H;
    memset(dh0, 0, B * H * sizeof *dh0); /* carried dL/dh_{t-1} */
    size_t n_groups = B < GRU_GROUPS ? B : GRU_GROUPS;
#ifdef _OPENMP
#pragma omp parallel if (n_groups > 1 && (double)T * B * H * G >= LSTM_PARALLEL_MIN)
#endif
    {
        size_t g0, g1;
        lstm_thread_range(n_groups, &g0, &g1);
        gru_backward_groups(w_h, T, B, H, n_groups, g0, g1, gates, hs, dh, dax, dah, dh0);
    }
    /* weight gradients over all T B rows */
    lstm_gemm(1, 0, I, G, T * B, 1.0, x, I, dax, G, 0.0, g_wx, G);
    lstm_gemm(1, 0, H, G, T * B, 1.0, hs, H, dah, G, 0.0, g_wh, G);
    lstm_col_sums(dax, T * B, G, g_b);
    for (size_t k = 0; k < H; k++) g_bhn[k] = 0;
    for (size_t r = 0; r < T * B; r++)
        for (size_t k = 0; k < H; k++) g_bhn[k] += dah[r * G + 2 * H + k];
}
