/* rnn.c: the rate RNN's forward pass, losses, the feedback-path backward pass (BPTT and
 * feedback alignment) and RFLO's eligibility traces; see rnn.h for the equations. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_randist.h>
#ifdef _OPENMP
#include <omp.h>
#define RNN_OMP(directive) _Pragma(directive)
#else
#define RNN_OMP(directive) /* built without OpenMP (NO_OMP=1): serial */
#endif
#include "engram/engram.h"
#include "engram/rnn.h"

/* Work is cut into chunks whose size does not depend on the thread count (batch items
 * RNN_ITEM_CHUNK at a time, weight-gradient rows RNN_ROW_CHUNK at a time), so every BLAS
 * call has the same shape with 1 or 8 threads: optimised BLAS libraries pick kernels, and
 * so summation orders, by shape, and a split that followed the thread count would change
 * the last bits of the results. Chunk k of n items is [k c, min(n, (k + 1) c)). */
#define RNN_ITEM_CHUNK 8
#define RNN_ROW_CHUNK 32

static size_t rnn_n_chunks(size_t n, size_t c) { return (n + c - 1) / c; }

static void rnn_chunk(size_t k, size_t n, size_t c, size_t *lo, size_t *hi) {
    *lo = k * c;
    *hi = *lo + c < n ? *lo + c : n;
}

/* Smallest work per time step (B * N * N multiply-adds) for which the time loops run
 * on several OpenMP threads; below it the fork/join cost outweighs the work. Results are
 * the same either way (see rnn.h). */
#define RNN_PAR_MIN_WORK 200000

/* Number of steps the batch needs: its longest item. */
static size_t rnn_batch_steps(const trial_batch *b) {
    size_t t_run = 0;
    for (size_t i = 0; i < b->n_batch; i++)
        if (b->len[i] > t_run) t_run = b->len[i];
    assert(t_run <= b->t_max);
    return t_run;
}

rnn *rnn_alloc(size_t n_in, size_t n_rec, size_t n_out, double alpha, rnn_loss_kind loss) {
    if (n_in == 0 || n_rec == 0 || n_out == 0) {
        engram_fail(ENGRAM_EINVAL, "rnn: sizes must be positive (inputs %zu, units %zu, outputs %zu)",
                    n_in, n_rec, n_out);
        return NULL;
    }
    if (!(alpha > 0 && alpha <= 1)) {
        engram_fail(ENGRAM_EINVAL, "rnn: leak alpha = %g must lie in (0, 1]", alpha);
        return NULL;
    }
    rnn *net = calloc(1, sizeof *net);
    if (!net) { engram_fail(ENGRAM_ENOMEM, "rnn: out of memory"); return NULL; }
    net->n_in = n_in;
    net->n_rec = n_rec;
    net->n_out = n_out;
    net->alpha = alpha;
    net->loss = loss;
    size_t N = n_rec, I = n_in, O = n_out;
    net->n_params = N * N + N * I + N + O * N + O;
    net->params = calloc(net->n_params, sizeof *net->params);
    net->grads = calloc(net->n_params, sizeof *net->grads);
    if (!net->params || !net->grads) {
        rnn_free(net);
        engram_fail(ENGRAM_ENOMEM, "rnn: out of memory");
        return NULL;
    }
    double *blocks[2] = {net->params, net->grads};
    double **fields[2][5] = {{&net->w_rec, &net->w_in, &net->b_rec, &net->w_out, &net->b_out},
                             {&net->g_w_rec, &net->g_w_in, &net->g_b_rec, &net->g_w_out,
                              &net->g_b_out}};
    size_t sizes[5] = {N * N, N * I, N, O * N, O};
    for (int k = 0; k < 2; k++) {
        double *p = blocks[k];
        for (int f = 0; f < 5; f++) { *fields[k][f] = p; p += sizes[f]; }
    }
    return net;
}

void rnn_free(rnn *net) {
    if (!net) return;
    free(net->params);
    free(net->grads);
    free(net);
}

void rnn_init(rnn *net, gsl_rng *r, double gain, double in_scale) {
    size_t N = net->n_rec, I = net->n_in, O = net->n_out;
    for (size_t k = 0; k < N * N; k++) net->w_rec[k] = gsl_ran_gaussian(r, gain / sqrt((double)N));
    for (size_t k = 0; k < N * I; k++) net->w_in[k] = gsl_ran_gaussian(r, in_scale / sqrt((double)I));
    for (size_t k = 0; k < N; k++) net->b_rec[k] = 0;
    for (size_t k = 0; k < O * N; k++) net->w_out[k] = gsl_ran_gaussian(r, 1.0 / sqrt((double)N));
    for (size_t k = 0; k < O; k++) net->b_out[k] = 0;
}

rnn_work *rnn_work_alloc(const rnn *net, size_t max_batch, size_t t_max) {
    if (max_batch == 0 || t_max == 0) {
        engram_fail(ENGRAM_EINVAL, "rnn: workspace sizes must be positive");
        return NULL;
    }
    rnn_work *w = calloc(1, sizeof *w);
    if (!w) { engram_fail(ENGRAM_ENOMEM, "rnn: out of memory"); return NULL; }
    size_t N = net->n_rec, O = net->n_out, BT = max_batch * t_max;
    w->max_batch = max_batch;
    w->t_max = t_max;
    w->z = calloc(BT * N, sizeof(double));
    w->h = calloc(BT * N, sizeof(double));
    w->h_prev = calloc(BT * N, sizeof(double));
    w->m_t = calloc(N * N, sizeof(double));
    w->o = calloc(BT * O, sizeof(double));
    w->logit = calloc(BT * O, sizeof(double));
    w->d_o = calloc(BT * O, sizeof(double));
    w->d_a = calloc(BT * N, sizeof(double));
    w->d_h = calloc(max_batch * N, sizeof(double));
    w->d_h2 = calloc(max_batch * N, sizeof(double));
    if (!w->z || !w->h || !w->h_prev || !w->m_t || !w->o || !w->logit || !w->d_o || !w->d_a || !w->d_h || !w->d_h2) {
        rnn_work_free(w);
        engram_fail(ENGRAM_ENOMEM, "rnn: out of memory for a workspace of %zu x %zu steps",
                    max_batch, t_max);
        return NULL;
    }
    return w;
}

void rnn_work_free(rnn_work *w) {
    if (!w) return;
    free(w->z);
    free(w->h);
    free(w->h_prev);
    free(w->m_t);
    free(w->o);
    free(w->logit);
    free(w->d_o);
    free(w->d_a);
    free(w->d_h);
    free(w->d_h2);
    free(w);
}

/* Turns logits (O,) into outputs: softmax probabilities for xent, a copy for mse; out
 * may equal logit. */
static void rnn_output(rnn_loss_kind loss, const double *logit, double *out, size_t O) {
    if (loss == RNN_MSE) {
        for (size_t k = 0; k < O; k++) out[k] = logit[k];
        return;
    }
    double mx = logit[0], s = 0;
    for (size_t k = 1; k < O; k++) if (logit[k] > mx) mx = logit[k];
    for (size_t k = 0; k < O; k++) { out[k] = exp(logit[k] - mx); s += out[k]; }
    for (size_t k = 0; k < O; k++) out[k] /= s;
}

/* Writes the transpose of the (rows, cols) matrix m into mt (cols, rows). */
static void rnn_transpose(const double *m, size_t rows, size_t cols, double *mt) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) mt[j * rows + i] = m[i * cols + j];
}

void rnn_forward(const rnn *net, const trial_batch *b, rnn_work *w) {
    size_t B = b->n_batch, T = b->t_max, N = net->n_rec, I = net->n_in, O = net->n_out;
    assert(B <= w->max_batch && T <= w->t_max);
    assert(b->n_in == I && b->n_out == O);
    size_t t_run = rnn_batch_steps(b);
    double alpha = net->alpha;
    /* W^T, so that the per-step product is the row-major NoTrans x NoTrans dgemm (an
     * axpy inner loop, about twice as fast as the dot-product form in gslcblas) */
    rnn_transpose(net->w_rec, N, N, w->m_t);
    gsl_matrix_const_view WT = gsl_matrix_const_view_array(w->m_t, N, N);
    int par = B * N * N >= RNN_PAR_MIN_WORK;
    (void)par;
    size_t n_chunks = rnn_n_chunks(B, RNN_ITEM_CHUNK);
RNN_OMP("omp parallel for schedule(static) if (par)")
    for (size_t ch = 0; ch < n_chunks; ch++) {
        size_t lo, hi;
        rnn_chunk(ch, B, RNN_ITEM_CHUNK, &lo, &hi);
        size_t nb = hi - lo;
        for (size_t t = 0; nb && t < t_run; t++) {
            /* a_t = b + U x_t  (rows of the items lo..hi), then += h_{t-1} W^T */
            for (size_t i = lo; i < hi; i++) {
                double *a = w->z + (i * T + t) * N;
                const double *x = b->x + (i * T + t) * I;
                for (size_t n = 0; n < N; n++) {
                    double s = net->b_rec[n];
                    const double *u = net->w_in + n * I;
                    for (size_t k = 0; k < I; k++) s += u[k] * x[k];
                    a[n] = s;
                }
                if (t == 0) memset(w->h_prev + i * T * N, 0, N * sizeof(double)); /* h_{-1} */
            }
            if (t > 0) {
                gsl_matrix_view A = gsl_matrix_view_array_with_tda(w->z + (lo * T + t) * N, nb, N, T * N);
                gsl_matrix_const_view H =
                    gsl_matrix_const_view_array_with_tda(w->h_prev + (lo * T + t) * N, nb, N, T * N);
                gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &H.matrix, &WT.matrix, 1.0, &A.matrix);
            }
            /* z_t = tanh(a_t); h_t = (1 - alpha) h_{t-1} + alpha z_t (also stored as the
             * next step's h_prev) */
            for (size_t i = lo; i < hi; i++) {
                double *z = w->z + (i * T + t) * N, *h = w->h + (i * T + t) * N;
                const double *hp = w->h_prev + (i * T + t) * N;
                double *hn = t + 1 < T ? w->h_prev + (i * T + t + 1) * N : NULL;
                for (size_t n = 0; n < N; n++) {
                    z[n] = tanh(z[n]);
                    h[n] = (1 - alpha) * hp[n] + alpha * z[n];
                }
                if (hn) memcpy(hn, h, N * sizeof *h);
            }
        }
        /* rows past the longest item: zero, so the gradient products over all T rows
         * see nothing there */
        for (size_t i = lo; i < hi; i++)
            for (size_t t = t_run; t < T; t++) {
                memset(w->h + (i * T + t) * N, 0, N * sizeof(double));
                memset(w->h_prev + (i * T + t) * N, 0, N * sizeof(double));
            }
        /* o_t = c + V h_t, then softmax for xent */
        for (size_t i = lo; i < hi; i++)
            for (size_t t = 0; t < t_run; t++) {
                const double *h = w->h + (i * T + t) * N;
                double *lg = w->logit + (i * T + t) * O;
                for (size_t k = 0; k < O; k++) {
                    double s = net->b_out[k];
                    const double *v = net->w_out + k * N;
                    for (size_t n = 0; n < N; n++) s += v[n] * h[n];
                    lg[k] = s;
                }
                rnn_output(net->loss, lg, w->o + (i * T + t) * O, O);
            }
    }
}

double rnn_loss(const rnn *net, const trial_batch *b, rnn_work *w) {
    size_t B = b->n_batch, T = b->t_max, O = net->n_out;
    size_t t_run = rnn_batch_steps(b);
    double count = 0, total = 0;
    for (size_t i = 0; i < B; i++)
        for (size_t t = 0; t < t_run; t++) count += b->mask[i * T + t];
    for (size_t i = 0; i < B; i++) /* rows past the longest item count nothing */
        memset(w->d_o + (i * T + t_run) * O, 0, (T - t_run) * O * sizeof(double));
    for (size_t i = 0; i < B; i++)
        for (size_t t = 0; t < t_run; t++) {
            size_t r = i * T + t;
            double m = b->mask[r];
            const double *y = b->y + r * O, *o = w->o + r * O, *lg = w->logit + r * O;
            double *d = w->d_o + r * O;
            if (m == 0 || count == 0) {
                for (size_t k = 0; k < O; k++) d[k] = 0;
                continue;
            }
            if (net->loss == RNN_MSE) {
                double l = 0;
                for (size_t k = 0; k < O; k++) {
                    double e = o[k] - y[k];
                    l += 0.5 * e * e;
                    d[k] = m * e / count;
                }
                total += m * l;
            } else {
                /* log p_k = logit_k - logsumexp(logit); dL/do_k = p_k sum_j y_j - y_k */
                double mx = lg[0], s = 0, ysum = 0, l = 0;
                for (size_t k = 1; k < O; k++) if (lg[k] > mx) mx = lg[k];
                for (size_t k = 0; k < O; k++) s += exp(lg[k] - mx);
                double lse = mx + log(s);
                for (size_t k = 0; k < O; k++) {
                    ysum += y[k];
                    if (y[k] != 0) l -= y[k] * (lg[k] - lse);
                }
                for (size_t k = 0; k < O; k++) d[k] = m * (o[k] * ysum - y[k]) / count;
                total += m * l;
            }
        }
    return count > 0 ? total / count : 0.0;
}

void rnn_transpose_weights(const rnn *net, double *w_rec_t, double *w_out_t) {
    size_t N = net->n_rec, O = net->n_out;
    if (w_rec_t)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) w_rec_t[j * N + i] = net->w_rec[i * N + j];
    if (w_out_t)
        for (size_t k = 0; k < O; k++)
            for (size_t n = 0; n < N; n++) w_out_t[n * O + k] = net->w_out[k * N + n];
}

void rnn_backward(const rnn *net, const trial_batch *b, rnn_work *w, const double *fb_out,
                  const double *fb_rec, size_t window, double *grads) {
    size_t B = b->n_batch, T = b->t_max, N = net->n_rec, I = net->n_in, O = net->n_out;
    assert(B <= w->max_batch && T <= w->t_max);
    size_t t_run = rnn_batch_steps(b), BT = B * T;
    double alpha = net->alpha;
    double *g_w_rec = grads, *g_w_in = g_w_rec + N * N, *g_b_rec = g_w_in + N * I;
    double *g_w_out = g_b_rec + N, *g_b_out = g_w_out + O * N;
    /* fb_rec^T for the NoTrans x NoTrans product (see rnn_forward) */
    rnn_transpose(fb_rec, N, N, w->m_t);
    gsl_matrix_const_view FO = gsl_matrix_const_view_array(fb_out, N, O);
    gsl_matrix_const_view FRT = gsl_matrix_const_view_array(w->m_t, N, N);
    int par = B * N * N >= RNN_PAR_MIN_WORK;
    (void)par;
    size_t n_item_chunks = rnn_n_chunks(B, RNN_ITEM_CHUNK), n_row_chunks = rnn_n_chunks(N, RNN_ROW_CHUNK);
RNN_OMP("omp parallel if (par)")
    {
        /* 1. the error backward in time, each chunk of items on its own */
RNN_OMP("omp for schedule(static)")
        for (size_t ch = 0; ch < n_item_chunks; ch++) {
            size_t lo, hi;
            rnn_chunk(ch, B, RNN_ITEM_CHUNK, &lo, &hi);
            size_t nb = hi - lo;
            double *dh = w->d_h + lo * N, *dh2 = w->d_h2 + lo * N;
            if (nb) memset(dh, 0, nb * N * sizeof *dh);
            for (size_t i = lo; i < hi; i++) /* rows past the longest item: no error */
                memset(w->d_a + (i * T + t_run) * N, 0, (T - t_run) * N * sizeof(double));
            for (size_t t = t_run; nb && t-- > 0;) {
                /* g_t: the carried error, cut at window boundaries (truncated BPTT) */
                if (window && (t + 1) % window == 0) memset(dh, 0, nb * N * sizeof *dh);
                /* dh_t = g_t + fb_out e_t   (rows: dh += e_t fb_out^T) */
                gsl_matrix_view DH = gsl_matrix_view_array(dh, nb, N);
                gsl_matrix_const_view E =
                    gsl_matrix_const_view_array_with_tda(w->d_o + (lo * T + t) * O, nb, O, T * O);
                gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, &E.matrix, &FO.matrix, 1.0, &DH.matrix);
                /* da_t = alpha (1 - z_t^2) dh_t;  g_{t-1} = (1 - alpha) dh_t + fb_rec da_t */
                for (size_t i = lo; i < hi; i++) {
                    const double *z = w->z + (i * T + t) * N, *d = dh + (i - lo) * N;
                    double *da = w->d_a + (i * T + t) * N, *d2 = dh2 + (i - lo) * N;
                    for (size_t n = 0; n < N; n++) {
                        da[n] = alpha * (1 - z[n] * z[n]) * d[n];
                        d2[n] = (1 - alpha) * d[n];
                    }
                }
                if (t > 0) {
                    gsl_matrix_view DH2 = gsl_matrix_view_array(dh2, nb, N);
                    gsl_matrix_const_view DA =
                        gsl_matrix_const_view_array_with_tda(w->d_a + (lo * T + t) * N, nb, N, T * N);
                    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &DA.matrix, &FRT.matrix, 1.0, &DH2.matrix);
                }
                double *tmp = dh; dh = dh2; dh2 = tmp;
            }
        } /* the implicit barrier of omp for: every d_a row is written */
        /* 2. weight gradients as products over all B*T rows (zero past each batch's
         * longest item; h_prev is 0 at t = 0): each thread its rows of dW, dU, db and
         * its columns of dV, every element summed over rows in the same order */
RNN_OMP("omp for schedule(static)")
        for (size_t ch = 0; ch < n_row_chunks; ch++) {
            size_t r0, r1;
            rnn_chunk(ch, N, RNN_ROW_CHUNK, &r0, &r1);
            size_t nr = r1 - r0;
            gsl_matrix_const_view DA = gsl_matrix_const_view_array_with_tda(w->d_a + r0, BT, nr, N);
            gsl_matrix_const_view HP = gsl_matrix_const_view_array(w->h_prev, BT, N);
            gsl_matrix_view GW = gsl_matrix_view_array_with_tda(g_w_rec + r0 * N, nr, N, N);
            /* dW[r0:r1] = sum_{b,t} da_t[r0:r1] h_{t-1}^T */
            gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &DA.matrix, &HP.matrix, 0.0, &GW.matrix);
            /* dU[r0:r1] = sum da_t[r0:r1] x_t^T */
            gsl_matrix_const_view X = gsl_matrix_const_view_array(b->x, BT, I);
            gsl_matrix_view GU = gsl_matrix_view_array_with_tda(g_w_in + r0 * I, nr, I, I);
            gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &DA.matrix, &X.matrix, 0.0, &GU.matrix);
            /* db[r0:r1] = sum da_t[r0:r1] */
            for (size_t n = r0; n < r1; n++) g_b_rec[n] = 0;
            for (size_t r = 0; r < BT; r++)
                for (size_t n = r0; n < r1; n++) g_b_rec[n] += w->d_a[r * N + n];
            /* dV[:, r0:r1] = sum e_t h_t[r0:r1]^T */
            gsl_matrix_const_view E = gsl_matrix_const_view_array(w->d_o, BT, O);
            gsl_matrix_const_view H = gsl_matrix_const_view_array_with_tda(w->h + r0, BT, nr, N);
            gsl_matrix_view GV = gsl_matrix_view_array_with_tda(g_w_out + r0, O, nr, N);
            gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &E.matrix, &H.matrix, 0.0, &GV.matrix);
        }
    }
    /* dc = sum e_t (serial: O numbers) */
    for (size_t k = 0; k < O; k++) g_b_out[k] = 0;
    for (size_t r = 0; r < BT; r++)
        for (size_t k = 0; k < O; k++) g_b_out[k] += w->d_o[r * O + k];
}

void rnn_rflo_grad(const rnn *net, const trial_batch *b, const rnn_work *w,
                   const double *fb_out, double *traces, double *slices, double *grads) {
    size_t B = b->n_batch, T = b->t_max, N = net->n_rec, I = net->n_in, O = net->n_out;
    size_t P = net->n_params, R = N + I + 1; /* a trace row: [P_i (N) | Q_i (I) | r_i] */
    double alpha = net->alpha;
    int par = B * N * N >= RNN_PAR_MIN_WORK;
    (void)par;
RNN_OMP("omp parallel for schedule(static) if (par)")
    for (size_t i = 0; i < B; i++) {
        double *tr = traces + i * N * R, *g = slices + i * P;
        double *g_w_rec = g, *g_w_in = g + N * N, *g_b_rec = g_w_in + N * I;
        double *g_w_out = g_b_rec + N, *g_b_out = g_w_out + O * N;
        memset(tr, 0, N * R * sizeof *tr);
        memset(g, 0, P * sizeof *g);
        for (size_t t = 0; t < b->len[i]; t++) {
            const double *hp = t > 0 ? w->h + (i * T + t - 1) * N : NULL;
            const double *h = w->h + (i * T + t) * N, *z = w->z + (i * T + t) * N;
            const double *x = b->x + (i * T + t) * I, *e = w->d_o + (i * T + t) * O;
            int any = 0;
            for (size_t k = 0; k < O; k++) any |= e[k] != 0;
            /* per unit n (one row of the traces), in one pass over the row:
             * traces  p <- (1 - alpha) p + alpha f'(a_n) [h_{t-1}; x_t; 1],
             * update  dW_nj += delta_n P_nj (and U, b), delta = fb_out e_t */
            for (size_t n = 0; n < N; n++) {
                double fp = alpha * (1 - z[n] * z[n]), delta = 0;
                for (size_t k = 0; k < O; k++) delta += fb_out[n * O + k] * e[k];
                double *row = tr + n * R, *gw = g_w_rec + n * N, *gu = g_w_in + n * I;
                if (hp) {
                    for (size_t j = 0; j < N; j++) {
                        row[j] = (1 - alpha) * row[j] + fp * hp[j];
                        gw[j] += delta * row[j];
                    }
                } else { /* h_{-1} = 0 */
                    for (size_t j = 0; j < N; j++) {
                        row[j] = (1 - alpha) * row[j];
                        gw[j] += delta * row[j];
                    }
                }
                for (size_t j = 0; j < I; j++) {
                    row[N + j] = (1 - alpha) * row[N + j] + fp * x[j];
                    gu[j] += delta * row[N + j];
                }
                row[N + I] = (1 - alpha) * row[N + I] + fp;
                g_b_rec[n] += delta * row[N + I];
            }
            if (!any) continue;
            /* the readout's delta rule: dV += e_t h_t^T, dc += e_t */
            for (size_t k = 0; k < O; k++) {
                double *gv = g_w_out + k * N;
                for (size_t n = 0; n < N; n++) gv[n] += e[k] * h[n];
                g_b_out[k] += e[k];
            }
        }
    }
    /* sum the items' slices in item order, each parameter by one thread */
RNN_OMP("omp parallel for schedule(static) if (par)")
    for (size_t p = 0; p < P; p++) {
        double s = 0;
        for (size_t i = 0; i < B; i++) s += slices[i * P + p];
        grads[p] = s;
    }
}

void rnn_step(const rnn *net, const double *h_prev, const double *x, double *h, double *out) {
    size_t N = net->n_rec, I = net->n_in, O = net->n_out;
    double alpha = net->alpha;
    for (size_t n = 0; n < N; n++) {
        double a = net->b_rec[n];
        const double *wr = net->w_rec + n * N, *u = net->w_in + n * I;
        for (size_t j = 0; j < N; j++) a += wr[j] * h_prev[j];
        for (size_t k = 0; k < I; k++) a += u[k] * x[k];
        h[n] = (1 - alpha) * h_prev[n] + alpha * tanh(a);
    }
    /* logits into out, then softmax in place (rnn_output allows out == logit) */
    for (size_t k = 0; k < O; k++) {
        double s = net->b_out[k];
        const double *v = net->w_out + k * N;
        for (size_t n = 0; n < N; n++) s += v[n] * h[n];
        out[k] = s;
    }
    rnn_output(net->loss, out, out, O);
}

double rnn_spectral_radius(const double *m, size_t n) {
    gsl_matrix *a = gsl_matrix_alloc(n, n);
    gsl_vector_complex *ev = gsl_vector_complex_alloc(n);
    gsl_eigen_nonsymm_workspace *ws = gsl_eigen_nonsymm_alloc(n);
    double r = -1;
    if (a && ev && ws) {
        memcpy(a->data, m, n * n * sizeof(double));
        if (gsl_eigen_nonsymm(a, ev, ws) == GSL_SUCCESS) {
            r = 0;
            for (size_t k = 0; k < n; k++) {
                gsl_complex z = gsl_vector_complex_get(ev, k);
                double mag = hypot(GSL_REAL(z), GSL_IMAG(z));
                if (mag > r) r = mag;
            }
        } else {
            engram_fail(ENGRAM_ERANGE, "rnn: the eigenvalue solver did not converge");
        }
    } else {
        engram_fail(ENGRAM_ENOMEM, "rnn: out of memory in the spectral radius");
    }
    if (ws) gsl_eigen_nonsymm_free(ws);
    if (ev) gsl_vector_complex_free(ev);
    gsl_matrix_free(a);
    return r;
}

double rnn_angle_deg(const double *u, const double *v, size_t n) {
    double uv = 0, uu = 0, vv = 0;
    for (size_t k = 0; k < n; k++) { uv += u[k] * v[k]; uu += u[k] * u[k]; vv += v[k] * v[k]; }
    if (uu == 0 || vv == 0) return 90.0;
    double c = uv / sqrt(uu * vv);
    if (c > 1) c = 1;
    if (c < -1) c = -1;
    return acos(c) * 180.0 / M_PI;
}
