/* rnn_real.h: the rate RNN's batched kernels (forward, loss, the feedback-path backward
 * pass, RFLO's update) written once for both precisions; see rnn.h for the equations.
 * rnn.c includes this file twice, with
 *   REAL         double or float (every activation, error and weight copy)
 *   RS(name)     name##_f64 or name##_f32
 *   RWORK        the buffer struct (rnn_work or rnn_work32): z, h, h_prev, m_t, u_t, v_t,
 *                o, logit, d_o, d_a, d_h, d_h2 of the shapes in rnn.h
 *   RGEMM        cblas_dgemm or cblas_sgemm
 *   RNN_REAL_F32 0 or 1
 * Both use the vector tanh of kernels.h (kern_tanh, kern_tanh_f32: a few ulp from libm,
 * the same bits for any split of the array). The double instance keeps the readout as
 * ordered dot products; the float instance makes it one GEMM per item. Sums of losses and
 * the softmax are taken in double in both. */

/* Writes the transpose of the (rows, cols) matrix m into mt (cols, rows). */
static void RS(rnn_transpose)(const REAL *m, size_t rows, size_t cols, REAL *mt) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) mt[j * rows + i] = m[i * cols + j];
}

/* Turns logits (O,) into outputs: softmax probabilities for xent, a copy for mse; out
 * may equal logit. */
static void RS(rnn_output)(rnn_loss_kind loss, const REAL *logit, REAL *out, size_t O) {
    if (loss == RNN_MSE) {
        for (size_t k = 0; k < O; k++) out[k] = logit[k];
        return;
    }
    double mx = logit[0], s = 0;
    for (size_t k = 1; k < O; k++) if (logit[k] > mx) mx = logit[k];
    for (size_t k = 0; k < O; k++) { out[k] = (REAL)exp(logit[k] - mx); s += out[k]; }
    for (size_t k = 0; k < O; k++) out[k] = (REAL)(out[k] / s);
}

/* The forward pass over the batch with weights W (N, N), U (N, I), b (N,), V (O, N),
 * c (O,) and inputs xs (B, T, I). */
static void RS(rnn_fwd)(const rnn *net, const REAL *w_rec, const REAL *w_in, const REAL *b_rec,
                        const REAL *w_out, const REAL *b_out, const trial_batch *b,
                        const REAL *xs, RWORK *w) {
    size_t B = b->n_batch, T = b->t_max, N = net->n_rec, I = net->n_in, O = net->n_out;
    size_t t_run = rnn_batch_steps(b);
    REAL alpha = (REAL)net->alpha;
    /* W^T, so that the per-step product is the row-major NoTrans x NoTrans GEMM (an axpy
     * inner loop, about twice as fast as the dot-product form in gslcblas); U^T so that
     * the input term is a contiguous (vectorised) loop over units */
    RS(rnn_transpose)(w_rec, N, N, w->m_t);
    RS(rnn_transpose)(w_in, N, I, w->u_t);
    int par = B * N * N >= RNN_PAR_MIN_WORK;
    (void)par;
    size_t n_chunks = rnn_n_chunks(B, RCHUNK);
RNN_OMP("omp parallel for schedule(static) if (par)")
    for (size_t ch = 0; ch < n_chunks; ch++) {
        size_t lo, hi;
        rnn_chunk(ch, B, RCHUNK, &lo, &hi);
        size_t nb = hi - lo;
        for (size_t t = 0; nb && t < t_run; t++) {
            /* a_t = b + U x_t  (rows of the items lo..hi; each a_n summed as
             * ((b_n + u_n0 x_0) + u_n1 x_1) + ...), then += h_{t-1} W^T */
            for (size_t i = lo; i < hi; i++) {
                REAL *a = w->z + (i * T + t) * N;
                const REAL *x = xs + (i * T + t) * I;
                memcpy(a, b_rec, N * sizeof *a);
                for (size_t k = 0; k < I; k++) {
                    const REAL xk = x[k], *u = w->u_t + k * N;
RNN_OMP("omp simd")
                    for (size_t n = 0; n < N; n++) a[n] += u[n] * xk;
                }
                if (t == 0) memset(w->h_prev + i * T * N, 0, N * sizeof(REAL)); /* h_{-1} */
            }
            if (t > 0)
                RGEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)N, (int)N, 1,
                      w->h_prev + (lo * T + t) * N, (int)(T * N), w->m_t, (int)N, 1,
                      w->z + (lo * T + t) * N, (int)(T * N));
            /* z_t = tanh(a_t); h_t = (1 - alpha) h_{t-1} + alpha z_t (also stored as the
             * next step's h_prev) */
            for (size_t i = lo; i < hi; i++) {
                REAL *z = w->z + (i * T + t) * N, *h = w->h + (i * T + t) * N;
                const REAL *hp = w->h_prev + (i * T + t) * N;
#if RNN_REAL_F32
                kern_tanh_f32(z, z, N);
#else
                kern_tanh(z, z, N);
#endif
RNN_OMP("omp simd")
                for (size_t n = 0; n < N; n++) h[n] = (1 - alpha) * hp[n] + alpha * z[n];
                if (t + 1 < T) memcpy(w->h_prev + (i * T + t + 1) * N, h, N * sizeof *h);
            }
        }
        /* rows past the longest item: zero, so the gradient products over all T rows
         * see nothing there */
        for (size_t i = lo; i < hi; i++)
            for (size_t t = t_run; t < T; t++) {
                memset(w->h + (i * T + t) * N, 0, N * sizeof(REAL));
                memset(w->h_prev + (i * T + t) * N, 0, N * sizeof(REAL));
            }
        /* o_t = c + V h_t, then softmax for xent */
        for (size_t i = lo; i < hi; i++) {
#if RNN_REAL_F32
            /* logits (t_run, O) = H_i (t_run, N) V^T, one product per item */
            if (t_run)
                RGEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t_run, (int)O, (int)N, 1,
                      w->h + i * T * N, (int)N, w_out, (int)N, 0, w->logit + i * T * O, (int)O);
#endif
            for (size_t t = 0; t < t_run; t++) {
                REAL *lg = w->logit + (i * T + t) * O;
#if RNN_REAL_F32
                for (size_t k = 0; k < O; k++) lg[k] += b_out[k];
#else
                const REAL *h = w->h + (i * T + t) * N;
                for (size_t k = 0; k < O; k++) {
                    REAL s = b_out[k];
                    const REAL *v = w_out + k * N;
                    for (size_t n = 0; n < N; n++) s += v[n] * h[n];
                    lg[k] = s;
                }
#endif
                RS(rnn_output)(net->loss, lg, w->o + (i * T + t) * O, O);
            }
        }
    }
}

/* The mean masked loss of the last forward pass; writes dL/do_t into w->d_o. */
static double RS(rnn_loss_run)(const rnn *net, const trial_batch *b, RWORK *w) {
    size_t B = b->n_batch, T = b->t_max, O = net->n_out;
    size_t t_run = rnn_batch_steps(b);
    double count = 0, total = 0;
    for (size_t i = 0; i < B; i++)
        for (size_t t = 0; t < t_run; t++) count += b->mask[i * T + t];
    for (size_t i = 0; i < B; i++) /* rows past the longest item count nothing */
        memset(w->d_o + (i * T + t_run) * O, 0, (T - t_run) * O * sizeof(REAL));
    for (size_t i = 0; i < B; i++)
        for (size_t t = 0; t < t_run; t++) {
            size_t r = i * T + t;
            double m = b->mask[r];
            const double *y = b->y + r * O;
            const REAL *o = w->o + r * O, *lg = w->logit + r * O;
            REAL *d = w->d_o + r * O;
            if (m == 0 || count == 0) {
                for (size_t k = 0; k < O; k++) d[k] = 0;
                continue;
            }
            if (net->loss == RNN_MSE) {
                double l = 0;
                for (size_t k = 0; k < O; k++) {
                    double e = o[k] - y[k];
                    l += 0.5 * e * e;
                    d[k] = (REAL)(m * e / count);
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
                for (size_t k = 0; k < O; k++) d[k] = (REAL)(m * (o[k] * ysum - y[k]) / count);
                total += m * l;
            }
        }
    return count > 0 ? total / count : 0.0;
}

/* Weight gradients from the errors d_a (B, T, N) and d_o (B, T, O) as products over all
 * B*T rows (zero past each batch's longest item; h_prev is 0 at t = 0): dW = dA^T H_prev,
 * dU = dA^T X, db = sum dA, dV = E^T H, dc = sum E. Called inside a parallel region:
 * each thread its rows of dW, dU, db and its columns of dV, every element summed over
 * rows in the same order for any thread count; dc by one thread. */
static void RS(rnn_wgrads)(const rnn *net, size_t BT, const REAL *xs, RWORK *w, REAL *grads) {
    size_t N = net->n_rec, I = net->n_in, O = net->n_out;
    REAL *g_w_rec = grads, *g_w_in = g_w_rec + N * N, *g_b_rec = g_w_in + N * I;
    REAL *g_w_out = g_b_rec + N, *g_b_out = g_w_out + O * N;
    size_t n_row_chunks = rnn_n_chunks(N, RROWS);
RNN_OMP("omp for schedule(static)")
    for (size_t ch = 0; ch < n_row_chunks; ch++) {
        size_t r0, r1;
        rnn_chunk(ch, N, RROWS, &r0, &r1);
        int nr = (int)(r1 - r0);
        /* dW[r0:r1] = sum_{b,t} da_t[r0:r1] h_{t-1}^T */
        RGEMM(CblasRowMajor, CblasTrans, CblasNoTrans, nr, (int)N, (int)BT, 1, w->d_a + r0,
              (int)N, w->h_prev, (int)N, 0, g_w_rec + r0 * N, (int)N);
        /* dU[r0:r1] = sum da_t[r0:r1] x_t^T */
        RGEMM(CblasRowMajor, CblasTrans, CblasNoTrans, nr, (int)I, (int)BT, 1, w->d_a + r0,
              (int)N, xs, (int)I, 0, g_w_in + r0 * I, (int)I);
        /* db[r0:r1] = sum da_t[r0:r1] */
        for (size_t n = r0; n < r1; n++) g_b_rec[n] = 0;
        for (size_t r = 0; r < BT; r++) {
            const REAL *da = w->d_a + r * N;
RNN_OMP("omp simd")
            for (size_t n = r0; n < r1; n++) g_b_rec[n] += da[n];
        }
        /* dV[:, r0:r1] = sum e_t h_t[r0:r1]^T */
        RGEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)O, nr, (int)BT, 1, w->d_o, (int)O,
              w->h + r0, (int)N, 0, g_w_out + r0, (int)N);
    }
    /* dc = sum e_t (O numbers) */
RNN_OMP("omp single")
    {
        for (size_t k = 0; k < O; k++) g_b_out[k] = 0;
        for (size_t r = 0; r < BT; r++)
            for (size_t k = 0; k < O; k++) g_b_out[k] += w->d_o[r * O + k];
    }
}

/* The backward pass of the family with feedback matrices fb_out (N, O) and fb_rec (N, N),
 * truncated at windows of `window` steps; the gradient (P,) into grads. */
static void RS(rnn_bwd)(const rnn *net, const trial_batch *b, const REAL *xs, RWORK *w,
                        const REAL *fb_out, const REAL *fb_rec, size_t window, REAL *grads) {
    size_t B = b->n_batch, T = b->t_max, N = net->n_rec, O = net->n_out;
    size_t t_run = rnn_batch_steps(b);
    REAL alpha = (REAL)net->alpha;
    /* fb_rec^T for the NoTrans x NoTrans product (see rnn_fwd) */
    RS(rnn_transpose)(fb_rec, N, N, w->m_t);
    int par = B * N * N >= RNN_PAR_MIN_WORK;
    (void)par;
    size_t n_item_chunks = rnn_n_chunks(B, RCHUNK);
RNN_OMP("omp parallel if (par)")
    {
        /* 1. the error backward in time, each chunk of items on its own */
RNN_OMP("omp for schedule(static)")
        for (size_t ch = 0; ch < n_item_chunks; ch++) {
            size_t lo, hi;
            rnn_chunk(ch, B, RCHUNK, &lo, &hi);
            size_t nb = hi - lo;
            REAL *dh = w->d_h + lo * N, *dh2 = w->d_h2 + lo * N;
            if (nb) memset(dh, 0, nb * N * sizeof *dh);
            for (size_t i = lo; i < hi; i++) /* rows past the longest item: no error */
                memset(w->d_a + (i * T + t_run) * N, 0, (T - t_run) * N * sizeof(REAL));
            for (size_t t = t_run; nb && t-- > 0;) {
                /* g_t: the carried error, cut at window boundaries (truncated BPTT) */
                if (window && (t + 1) % window == 0) memset(dh, 0, nb * N * sizeof *dh);
                /* dh_t = g_t + fb_out e_t   (rows: dh += e_t fb_out^T) */
                RGEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)N, (int)O, 1,
                      w->d_o + (lo * T + t) * O, (int)(T * O), fb_out, (int)O, 1, dh, (int)N);
                /* da_t = alpha (1 - z_t^2) dh_t;  g_{t-1} = (1 - alpha) dh_t + fb_rec da_t */
                for (size_t i = lo; i < hi; i++) {
                    const REAL *z = w->z + (i * T + t) * N, *d = dh + (i - lo) * N;
                    REAL *da = w->d_a + (i * T + t) * N, *d2 = dh2 + (i - lo) * N;
RNN_OMP("omp simd")
                    for (size_t n = 0; n < N; n++) {
                        da[n] = alpha * (1 - z[n] * z[n]) * d[n];
                        d2[n] = (1 - alpha) * d[n];
                    }
                }
                if (t > 0)
                    RGEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)N, (int)N, 1,
                          w->d_a + (lo * T + t) * N, (int)(T * N), w->m_t, (int)N, 1, dh2,
                          (int)N);
                REAL *tmp = dh; dh = dh2; dh2 = tmp;
            }
        } /* the implicit barrier of omp for: every d_a row is written */
        /* 2. weight gradients */
        RS(rnn_wgrads)(net, B * T, xs, w, grads);
    }
}

/* RFLO's update over the batch (see rnn.h), in its closed form: the per-step updates
 * dW += delta_t P_t summed over a trial equal sum_s (f'_s D_s) h_{s-1}^T, with
 * f'_s = alpha (1 - z_s^2) and D_s = delta_s + (1 - alpha) D_{s+1} (the projected errors
 * filtered backward in time, D_len = 0), because P_t = sum_{s<=t} (1 - alpha)^(t-s) f'_s
 * h_{s-1}^T. So the traces' O(N^2) work per step becomes the weight-gradient GEMMs that
 * BPTT also runs, with the error e_t = dL/do_t entering only through delta = fb_out e_t:
 * no error is carried through W. Steps at or past an item's length contribute nothing
 * (its padding has zero mask, so e_t = 0 there as well). */
static void RS(rnn_rflo)(const rnn *net, const trial_batch *b, const REAL *xs, RWORK *w,
                         const REAL *fb_out, REAL *grads) {
    size_t B = b->n_batch, T = b->t_max, N = net->n_rec, O = net->n_out;
    REAL alpha = (REAL)net->alpha;
    RS(rnn_transpose)(fb_out, N, O, w->v_t); /* fb_out^T (O, N): contiguous over units */
    int par = B * N * N >= RNN_PAR_MIN_WORK;
    (void)par;
    size_t n_item_chunks = rnn_n_chunks(B, RCHUNK);
RNN_OMP("omp parallel if (par)")
    {
RNN_OMP("omp for schedule(static)")
        for (size_t ch = 0; ch < n_item_chunks; ch++) {
            size_t lo, hi;
            rnn_chunk(ch, B, RCHUNK, &lo, &hi);
            for (size_t i = lo; i < hi; i++) {
                size_t len = b->len[i];
                REAL *D = w->d_h + i * N, *delta = w->d_h2 + i * N;
                memset(D, 0, N * sizeof *D);
                memset(w->d_a + (i * T + len) * N, 0, (T - len) * N * sizeof(REAL));
                for (size_t s = len; s-- > 0;) {
                    const REAL *e = w->d_o + (i * T + s) * O, *z = w->z + (i * T + s) * N;
                    REAL *da = w->d_a + (i * T + s) * N;
                    /* delta = fb_out e_s, summed over outputs in order */
                    memset(delta, 0, N * sizeof *delta);
                    for (size_t k = 0; k < O; k++) {
                        const REAL ek = e[k], *f = w->v_t + k * N;
RNN_OMP("omp simd")
                        for (size_t n = 0; n < N; n++) delta[n] += f[n] * ek;
                    }
RNN_OMP("omp simd")
                    for (size_t n = 0; n < N; n++) {
                        D[n] = delta[n] + (1 - alpha) * D[n];
                        da[n] = alpha * (1 - z[n] * z[n]) * D[n];
                    }
                }
            }
        }
        RS(rnn_wgrads)(net, B * T, xs, w, grads);
    }
}
