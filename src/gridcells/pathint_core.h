/* pathint_core.h: the rate-RNN core and the softmax heads of the path integrator, written
 * once for both precisions. pathint.c includes this file twice, with PI_REAL = double,
 * PI_SFX = d, PI_GEMM = kern_gemm_d and with PI_REAL = float, PI_SFX = s, PI_GEMM =
 * kern_gemm_s; see pathint.h for the equations. Targets, losses and the dropout mask
 * stay double in both; sums of a row (softmax, cross-entropy, bias gradients) are
 * accumulated in double. Private to pathint.c. */

#define PI_CAT2(a, b) a##_##b
#define PI_CAT(a, b) PI_CAT2(a, b)
#define PI(name) PI_CAT(name, PI_SFX)

/* The per-step recurrent products (B, H) x (H, H), non-transposed: in float32 the
 * unpacked small-M product (kern_gemm_nn_small_par_s: fixed column pieces, the same bits
 * for any thread count; faster than the packed BLAS call at B = 200, H = 512), in
 * float64 PI_GEMM as every other product. */
#ifndef PI_STEP_GEMM_OF_d
#define PI_STEP_GEMM_OF_d(M, N, K, alpha, a, lda, b, ldb, beta, c, ldc) \
    PI_GEMM(0, 0, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc)
#define PI_STEP_GEMM_OF_s kern_gemm_nn_small_par_s
#endif
#define PI_STEP_GEMM PI_CAT(PI_STEP_GEMM_OF, PI_SFX)

/* Views of one precision's weights, activations and gradients (time-major, as pathint.h);
 * for float64 they point into the pathint struct itself. */
typedef struct PI(pi_view) {
    PI_REAL *w_h0, *b_h0, *w_in, *w_rec, *w_pc, *b_pc, *w_hd, *b_hd;  /* weights */
    PI_REAL *g_h0, *gb_h0, *g_in, *g_rec, *g_pc, *gb_pc, *g_hd, *gb_hd; /* gradients */
    PI_REAL *x;          /* (T, B, I) */
    PI_REAL *init;       /* (B, P + D) */
    PI_REAL *z;          /* (T, B, H) pre-activations */
    PI_REAL *hs;         /* (T + 1, B, H), block 0 = h_0 */
    PI_REAL *gd;         /* (T, B, Ng) g after dropout (used only with dropout on) */
    PI_REAL *act;        /* (T, B, Ng) the read-out's input: g, or gd with dropout */
    PI_REAL *p_pc, *p_hd; /* (T, B, P), (T, B, D) logits, then softmaxes */
    PI_REAL *d_pc, *d_hd; /* (T, B, P), (T, B, D) dL/dlogits */
    PI_REAL *d_g;        /* (T, B, Ng) dL/dg (the RNN core's dL/dh_t from the heads) */
    PI_REAL *dz;         /* (T, B, H) dL/dz_t */
    PI_REAL *wt;         /* (H, H) W_rec^T (backward) */
    PI_REAL *dh0;        /* (B, H) */
} PI(pi_view);

#define PI_EXP_BLOCK 64

/* Adds bias (N,; NULL: none) to each of the T*B rows of a (T*B, N), replaces each row by
 * its softmax and, when y (rows in (B, T) order: row r = t * B + b is y row b * T + t)
 * is given, adds the row's cross-entropy -sum y log softmax to loss[r] and writes its
 * gradient dl (T*B, N) = (softmax sum(y) - y) / (T B) with respect to a. One exp per
 * entry (kern_exp, in double, PI_EXP_BLOCK entries at a time): with m = max_i a_i,
 * e_i = exp(a_i - m) and s = sum e_i, softmax = e / s and the cross-entropy is
 * sum(y) log s - sum y_i (a_i - m). Rows are split statically across threads. The sums
 * run in index order in both precisions (float32 results keep their bits); PI_SIMD marks
 * the elementwise loops. */
static void PI(softmax_rows)(PI_REAL *a, size_t T, size_t B, size_t N, const PI_REAL *bias,
                             const double *y, double *loss, PI_REAL *dl) {
    const size_t R = N ? T * B : 0;
    const double inv_r = 1.0 / (double)(T * B);
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (size_t r = 0; r < R; r++) {
        PI_REAL *row = a + r * N;
        if (bias) {
            PI_SIMD
            for (size_t i = 0; i < N; i++) row[i] += bias[i];
        }
        double mx = -INFINITY;
        for (size_t i = 0; i < N; i++)
            if (row[i] > mx) mx = row[i];
        const double *yr = y ? y + ((r % B) * T + r / B) * N : NULL;
        double s = 0, sya = 0, sy = 0, buf[PI_EXP_BLOCK];
        for (size_t i0 = 0; i0 < N; i0 += PI_EXP_BLOCK) {
            const size_t n = N - i0 < PI_EXP_BLOCK ? N - i0 : PI_EXP_BLOCK;
            PI_SIMD
            for (size_t j = 0; j < n; j++) buf[j] = (double)row[i0 + j] - mx;
            if (yr)
                for (size_t j = 0; j < n; j++) {
                    sya += yr[i0 + j] * buf[j];
                    sy += yr[i0 + j];
                }
            kern_exp(buf, buf, n);
            for (size_t j = 0; j < n; j++) {
                s += buf[j];
                row[i0 + j] = (PI_REAL)buf[j];
            }
        }
        const PI_REAL inv = (PI_REAL)(1.0 / s);
        PI_SIMD
        for (size_t i = 0; i < N; i++) row[i] *= inv;
        if (!yr) continue;
        loss[r] += sy * log(s) - sya;
        PI_REAL *dr = dl + r * N;
        PI_SIMD
        for (size_t i = 0; i < N; i++) dr[i] = (PI_REAL)((row[i] * sy - yr[i]) * inv_r);
    }
}

/* out (N,) = column sums of a (R, N), each in row order, accumulated in double by one
 * thread (serial: the bias gradients are small). */
static void PI(col_sums)(const PI_REAL *a, size_t R, size_t N, PI_REAL *out) {
    for (size_t j = 0; j < N; j++) {
        double s = 0;
        for (size_t r = 0; r < R; r++) s += a[r * N + j];
        out[j] = (PI_REAL)s;
    }
}

/* The heads: logits (T*B, P) = act W_pc (+ b_pc), (T*B, D) = act W_hd (+ b_hd), then
 * softmax; with targets, each row's cross-entropy goes to m->row_loss (zeroed first)
 * and dL/dlogits to d_pc, d_hd (the backward pass starts from them). */
static void PI(heads_forward)(pathint *m, PI(pi_view) *v, size_t B, const double *pc,
                              const double *hd, int hb) {
    const size_t T = m->n_steps, Ng = m->d.n_g, P = m->d.n_pc, D = m->d.n_hd, TB = T * B;
    PI_GEMM(0, 0, TB, P, Ng, 1, v->act, Ng, v->w_pc, P, 0, v->p_pc, P);
    if (D) PI_GEMM(0, 0, TB, D, Ng, 1, v->act, Ng, v->w_hd, D, 0, v->p_hd, D);
    memset(m->row_loss, 0, TB * sizeof *m->row_loss);
    PI(softmax_rows)(v->p_pc, T, B, P, hb ? v->b_pc : NULL, pc, m->row_loss, v->d_pc);
    if (D) PI(softmax_rows)(v->p_hd, T, B, D, hb ? v->b_hd : NULL, hd, m->row_loss, v->d_hd);
}

/* Backward through the heads from d_pc, d_hd of the forward pass: the gradients of W_pc,
 * W_hd (and of the biases when hb, else zero) and d_g (T*B, Ng) = d_pc W_pc^T +
 * d_hd W_hd^T, masked with dropout on. */
static void PI(heads_backward)(pathint *m, PI(pi_view) *v, int hb) {
    const size_t B = m->batch, T = m->n_steps, Ng = m->d.n_g, P = m->d.n_pc, D = m->d.n_hd;
    const size_t TB = T * B;
    /* dW_pc (Ng, P) = act^T (Ng, T*B) d_pc (T*B, P); the same for hd */
    PI_GEMM(1, 0, Ng, P, TB, 1, v->act, Ng, v->d_pc, P, 0, v->g_pc, P);
    if (D) PI_GEMM(1, 0, Ng, D, TB, 1, v->act, Ng, v->d_hd, D, 0, v->g_hd, D);
    if (hb) {
        PI(col_sums)(v->d_pc, TB, P, v->gb_pc);
        if (D) PI(col_sums)(v->d_hd, TB, D, v->gb_hd);
    } else {
        memset(v->gb_pc, 0, P * sizeof *v->gb_pc);
        if (D) memset(v->gb_hd, 0, D * sizeof *v->gb_hd);
    }
    /* d_g (T*B, Ng) = d_pc (T*B, P) W_pc^T + d_hd W_hd^T */
    PI_GEMM(0, 1, TB, Ng, P, 1, v->d_pc, P, v->w_pc, P, 0, v->d_g, Ng);
    if (D) PI_GEMM(0, 1, TB, Ng, D, 1, v->d_hd, D, v->w_hd, D, 1, v->d_g, Ng);
    if (m->dropout_on)
        for (size_t i = 0; i < TB * Ng; i++) v->d_g[i] *= (PI_REAL)m->mask[i];
}

/* The RNN core's recurrence: h_0 = init W_h0 (+ b_h0); z_t = h_{t-1} W_rec + x_t W_in,
 * h_t = f(z_t) for t = 1..T. The input term of all T*B rows is one product; each step
 * is one (B, H) x (H, H) product (PI_STEP_GEMM: fixed pieces, the same bits for any
 * thread count). With dropout on, gd = g * mask. */
static void PI(rnn_forward)(pathint *m, PI(pi_view) *v, size_t B) {
    const pathint_dims *d = &m->d;
    const size_t T = m->n_steps, I = d->n_in, H = d->n_hidden, PD = d->n_pc + d->n_hd;
    const size_t TB = T * B, BH = B * H;
    PI_GEMM(0, 0, B, H, PD, 1, v->init, PD, v->w_h0, H, 0, v->hs, H);
    if (m->bias)
        for (size_t b = 0; b < B; b++)
            for (size_t u = 0; u < H; u++) v->hs[b * H + u] += v->b_h0[u];
    /* z (T*B, H) = x (T*B, I) W_in (I, H) */
    PI_GEMM(0, 0, TB, H, I, 1, v->x, I, v->w_in, H, 0, v->z, H);
    const int relu = m->rnn_act == PATHINT_RELU;
    for (size_t t = 0; t < T; t++) {
        PI_REAL *z = v->z + t * BH, *h = v->hs + (t + 1) * BH;
        PI_STEP_GEMM(B, H, H, 1, v->hs + t * BH, H, v->w_rec, H, 1, z, H);
        if (relu) {
#ifdef _OPENMP
#pragma omp simd
#endif
            for (size_t i = 0; i < BH; i++) h[i] = z[i] > 0 ? z[i] : 0;
        } else {
            for (size_t i = 0; i < BH; i++) h[i] = (PI_REAL)tanh(z[i]);
        }
    }
    v->act = v->hs + BH;
    if (m->dropout_on) {
        for (size_t i = 0; i < TB * H; i++) v->gd[i] = v->act[i] * (PI_REAL)m->mask[i];
        v->act = v->gd;
    }
}

/* Backpropagates the RNN core from v->d_g (T, B, H) = dL/dh_t from the heads (g = h):
 * writes dz (T, B, H), dh0 (B, H) and the gradients of W_rec, W_in, W_h0, b_h0 (zero
 * without biases). d_g is overwritten with dL/dh_t including the recurrent term. */
static void PI(rnn_backward)(pathint *m, PI(pi_view) *v) {
    const pathint_dims *d = &m->d;
    const size_t B = m->batch, T = m->n_steps, I = d->n_in, H = d->n_hidden;
    const size_t PD = d->n_pc + d->n_hd, TB = T * B, BH = B * H;
    const int relu = m->rnn_act == PATHINT_RELU;
    /* W_rec^T once per update, in 32 x 32 tiles: the per-step products are then
     * non-transposed (cheaper packing than a transposed operand at every step) */
    for (size_t i0 = 0; i0 < H; i0 += 32)
        for (size_t j0 = 0; j0 < H; j0 += 32)
            for (size_t i = i0; i < i0 + 32 && i < H; i++)
                for (size_t j = j0; j < j0 + 32 && j < H; j++) v->wt[j * H + i] = v->w_rec[i * H + j];
    for (size_t t = T; t-- > 0;) {
        PI_REAL *dh = v->d_g + t * BH, *dz = v->dz + t * BH;
        const PI_REAL *h = v->hs + (t + 1) * BH;
        /* dL/dh_t = head term + dz_{t+1} W_rec^T (the later step's recurrent input) */
        if (t + 1 < T) PI_STEP_GEMM(B, H, H, 1, v->dz + (t + 1) * BH, H, v->wt, H, 1, dh, H);
        /* dz_t = dh_t f'(z_t): relu' = [h > 0], tanh' = 1 - h^2 */
        if (relu) {
#ifdef _OPENMP
#pragma omp simd
#endif
            for (size_t i = 0; i < BH; i++) dz[i] = h[i] > 0 ? dh[i] : 0;
        } else {
            for (size_t i = 0; i < BH; i++) dz[i] = dh[i] * (1 - h[i] * h[i]);
        }
    }
    /* dh0 (B, H) = dz_1 W_rec^T */
    PI_GEMM(0, 0, B, H, H, 1, v->dz, H, v->wt, H, 0, v->dh0, H);
    /* dW_rec (H, H) = h_{0..T-1}^T (H, T*B) dz (T*B, H); dW_in (I, H) = x^T dz */
    PI_GEMM(1, 0, H, H, TB, 1, v->hs, H, v->dz, H, 0, v->g_rec, H);
    PI_GEMM(1, 0, I, H, TB, 1, v->x, I, v->dz, H, 0, v->g_in, H);
    /* encoder: dW_h0 (P+D, H) = init^T dh0; db_h0 = column sums */
    PI_GEMM(1, 0, PD, H, B, 1, v->init, PD, v->dh0, H, 0, v->g_h0, H);
    if (m->bias) PI(col_sums)(v->dh0, B, H, v->gb_h0);
    else memset(v->gb_h0, 0, H * sizeof *v->gb_h0);
}

#undef PI_STEP_GEMM
#undef PI
#undef PI_CAT
#undef PI_CAT2
