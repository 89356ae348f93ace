/* lstm_core.h: the LSTM's forward and backward passes written once for both precisions;
 * see lstm.h for the equations, the layout and the threading rules. lstm.c includes this
 * file twice, after defining
 *     LSTM_REAL           double | float
 *     LSTM_SFX            d | s (suffix of the static functions defined here)
 *     LSTM_PARAMS         lstm_params | lstm_params_s
 *     LSTM_GEMM(...)      lstm_gemm | kern_gemm_s: the products over all T*B rows
 *     LSTM_GEMM_STEP(M, N, K, a, lda, b, ldb, beta, c, ldc)
 *                         one per-step recurrent product of an item group, C = A B + beta C
 *                         (lstm_gemm_serial | kern_gemm_nn_small_s)
 *     LSTM_SIGMOID(x, n)  x = sig(x) in place over n values
 *     LSTM_TANH(x, y, n)  y = tanh(x) over n values
 *     LSTM_COL_SUMS(a, R, N, out)   bias gradients (column sums in row order)
 *     LSTM_TRANSPOSE(a, R, C, at)
 *     LSTM_SIMD           a loop pragma (empty for float64)
 * and optionally
 *     LSTM_STEP_ALL(M, N, K, a, lda, b, ldb, beta, c, ldc)
 *                         a per-step product whose elements' bits do not depend on how
 *                         its rows are cut (kern_gemm_nn_small_s): when the groups would
 *                         not be shared among threads (lstm_step_all_rows), each step is
 *                         then one product over all B rows instead of one per item group
 *                         (the same bits, W_h streamed once per step)
 *     LSTM_FUSED_GATES    defined when LSTM_SIGMOID(x) is x = 1/2 + LSTM_TANH(x/2)/2
 *                         (float32): the cell step without peepholes then runs one tanh
 *                         pass over the gates' 4H values (the same bits)
 * Constants are written as integers (1, 0) so that they take the working type: in
 * float64 every expression is the one of the per-unit loops this file replaced (one
 * pass of libm calls per unit, in the same order of operations), so its bits are
 * unchanged; in float32 the nonlinearities run over rows of H values so they vectorise.
 * Private to lstm.c. */

#define LSTM_CAT2(a, b) a##_##b
#define LSTM_CAT(a, b) LSTM_CAT2(a, b)
#define LSTM_FN(name) LSTM_CAT(name, LSTM_SFX)

/* The gates and the new state of one item at one step. zr (4H) holds the pre-activations
 * without bias on entry (x_t W_x + h_{t-1} W_h) and the gate activations i, j, f, o on
 * exit; cprev (H) is c_{t-1}; cnew, hnew (H) receive c_t, h_t. Greff et al. 2017: the
 * peepholes p_i, p_f see c_{t-1}, p_o sees c_t; CIFG: f = 1 - i. */
static void LSTM_FN(cell_step)(const LSTM_PARAMS *p, int peep, int coupled, size_t H,
                               LSTM_REAL forget_bias, LSTM_REAL *restrict zr,
                               const LSTM_REAL *restrict cprev, LSTM_REAL *restrict cnew,
                               LSTM_REAL *restrict hnew) {
    LSTM_REAL *ai = zr, *aj = zr + H, *af = zr + 2 * H, *ao = zr + 3 * H;
    const LSTM_REAL *bi = p->b, *bj = p->b + H, *bf = p->b + 2 * H, *bo = p->b + 3 * H;
#ifdef LSTM_FUSED_GATES
    if (!peep) {
        /* The same operations as below, the four gates' nonlinearities in one tanh pass
         * over the 4H row: sig(x) = 1/2 + tanh(x/2)/2 (LSTM_FUSED_GATES' promise). */
        LSTM_SIMD
        for (size_t u = 0; u < H; u++) {
            ai[u] = (LSTM_REAL)0.5 * (ai[u] + bi[u]);
            aj[u] = aj[u] + bj[u];
            af[u] = (LSTM_REAL)0.5 * (af[u] + bf[u] + forget_bias);
            ao[u] = (LSTM_REAL)0.5 * (ao[u] + bo[u]);
        }
        LSTM_TANH(zr, zr, 4 * H);
        LSTM_SIMD
        for (size_t u = 0; u < H; u++) {
            LSTM_REAL ig = (LSTM_REAL)0.5 + (LSTM_REAL)0.5 * ai[u];
            LSTM_REAL fg = coupled ? 1 - ig : (LSTM_REAL)0.5 + (LSTM_REAL)0.5 * af[u];
            ai[u] = ig;
            af[u] = fg;
            ao[u] = (LSTM_REAL)0.5 + (LSTM_REAL)0.5 * ao[u];
            cnew[u] = fg * cprev[u] + ig * aj[u];
        }
        LSTM_TANH(cnew, hnew, H);
        LSTM_SIMD
        for (size_t u = 0; u < H; u++) hnew[u] = ao[u] * hnew[u];
        return;
    }
#endif
    /* pre-activations of i, j, f: a + b (+ forget_bias) (+ p c_{t-1}) */
    LSTM_SIMD
    for (size_t u = 0; u < H; u++) {
        ai[u] = ai[u] + bi[u];
        aj[u] = aj[u] + bj[u];
        af[u] = af[u] + bf[u] + forget_bias;
    }
    if (peep) {
        const LSTM_REAL *pi = p->w_p, *pf = p->w_p + H;
        LSTM_SIMD
        for (size_t u = 0; u < H; u++) {
            ai[u] += pi[u] * cprev[u];
            af[u] += pf[u] * cprev[u];
        }
    }
    LSTM_SIGMOID(ai, H);
    LSTM_TANH(aj, aj, H);
    if (coupled) {
        LSTM_SIMD
        for (size_t u = 0; u < H; u++) af[u] = 1 - ai[u]; /* CIFG: f = 1 - i */
    } else {
        LSTM_SIGMOID(af, H);
    }
    /* c_t = f c_{t-1} + i j */
    LSTM_SIMD
    for (size_t u = 0; u < H; u++) cnew[u] = af[u] * cprev[u] + ai[u] * aj[u];
    LSTM_SIMD
    for (size_t u = 0; u < H; u++) ao[u] = ao[u] + bo[u];
    if (peep) {
        const LSTM_REAL *po = p->w_p + 2 * H;
        LSTM_SIMD
        for (size_t u = 0; u < H; u++) ao[u] += po[u] * cnew[u];
    }
    LSTM_SIGMOID(ao, H);
    /* h_t = o tanh(c_t) */
    LSTM_TANH(cnew, hnew, H);
    LSTM_SIMD
    for (size_t u = 0; u < H; u++) hnew[u] = ao[u] * hnew[u];
}

static void LSTM_FN(forward)(const LSTM_PARAMS *p, const lstm_variant *v, size_t T, size_t B,
                             size_t I, size_t H, LSTM_REAL forget_bias, const LSTM_REAL *x,
                             LSTM_REAL *z, LSTM_REAL *hs, LSTM_REAL *cs) {
    const size_t G = 4 * H;
    const int peep = v && v->peephole, coupled = v && v->coupled;
    assert(T > 0 && B > 0 && H > 0);
    assert(!peep || p->w_p);
    /* The input term does not depend on the recurrence: one product over all T*B rows.
     * z (T*B, 4H) = x (T*B, I) W_x (I, 4H) */
    LSTM_GEMM(0, 0, T * B, G, I, 1, x, I, p->w_x, G, 0, z, G);
#ifdef LSTM_STEP_ALL
    /* On one thread (or inside a parallel region, or a small problem): one recurrent
     * product over all B rows per step, W_h streamed once, then the cell steps. The
     * product's elements do not depend on how its rows are cut (LSTM_STEP_ALL's
     * promise), so the bits are those of the grouped pass below, which runs when
     * threads can share the groups (without a barrier per step). */
    if (lstm_step_all_rows(B, (double)T * B * H * G)) {
        for (size_t t = 0; t < T; t++) {
            LSTM_REAL *zt = z + t * B * G;            /* (B, 4H) */
            const LSTM_REAL *hprev = hs + t * B * H;  /* (B, H) */
            /* a_t += h_{t-1} (B, H) W_h (H, 4H) */
            LSTM_STEP_ALL(B, G, H, hprev, H, p->w_h, G, 1, zt, G);
            for (size_t b = 0; b < B; b++)
                LSTM_FN(cell_step)(p, peep, coupled, H, forget_bias, zt + b * G,
                                   cs + (t * B + b) * H, cs + ((t + 1) * B + b) * H,
                                   hs + ((t + 1) * B + b) * H);
        }
        return;
    }
#endif
    /* Items are cut into n_groups fixed groups (sizes depend on B only); each thread
     * owns a contiguous range of groups for every step: no barrier is needed, and each
     * group's product has the same shape for any thread count. A single group (one
     * item, the closed-loop steps) or a small problem runs without a parallel region,
     * whose start-up (a scheduler time slice on a loaded machine) costs more than the
     * work; the groups are the same either way. */
    size_t n_groups = B < LSTM_CHUNKS ? B : LSTM_CHUNKS;
#ifdef _OPENMP
#pragma omp parallel if (n_groups > 1 && (double)T * B * H * G >= LSTM_PARALLEL_MIN)
#endif
    {
        size_t g0, g1;
        lstm_thread_range(n_groups, &g0, &g1);
        for (size_t t = 0; t < T; t++) {
            for (size_t gi = g0; gi < g1; gi++) {
                size_t b0, b1;
                lstm_partition(B, n_groups, gi, &b0, &b1);
                size_t nb = b1 - b0;
                LSTM_REAL *zt = z + (t * B + b0) * G;            /* (nb, 4H) */
                const LSTM_REAL *hprev = hs + (t * B + b0) * H;  /* (nb, H) */
                /* a_t += h_{t-1} (nb, H) W_h (H, 4H) */
                LSTM_GEMM_STEP(nb, G, H, hprev, H, p->w_h, G, 1, zt, G);
                for (size_t bb = 0; bb < nb; bb++)
                    LSTM_FN(cell_step)(p, peep, coupled, H, forget_bias, zt + bb * G,
                                       cs + (t * B + b0 + bb) * H,
                                       cs + ((t + 1) * B + b0 + bb) * H,
                                       hs + ((t + 1) * B + b0 + bb) * H);
            }
        }
    }
}

/* The backward step of one item: dzr (4H) receives the pre-activation gradients, dhr
 * (H) holds dL/dh_t from above on entry and the total on exit, dhn / dcn carry dL/dh_t
 * and dL/dc_t from step t+1 in and dL/dc_{t-1} out (dhn is overwritten by the caller's
 * product). tanh(c_t) is formed first over the row, in dzr's output-gate slot, which
 * each unit reads before it writes the output gate's gradient there. */
static void LSTM_FN(cell_back)(const LSTM_PARAMS *p, int peep, int coupled, size_t H,
                               const LSTM_REAL *restrict zr, const LSTM_REAL *restrict c,
                               const LSTM_REAL *restrict cprev, LSTM_REAL *restrict dzr,
                               LSTM_REAL *restrict dhr, const LSTM_REAL *restrict dhn,
                               LSTM_REAL *restrict dcn) {
    LSTM_REAL *tcs = dzr + 3 * H; /* tanh(c_t) (H), then dL/da_o */
    LSTM_TANH(c, tcs, H);
    if (!peep && !coupled) {
        LSTM_SIMD
        for (size_t u = 0; u < H; u++) {
            LSTM_REAL ig = zr[u], jg = zr[H + u], fg = zr[2 * H + u], og = zr[3 * H + u];
            /* total dL/dh_t: from the layers above plus through h_t W_h at t+1 */
            LSTM_REAL dht = dhr[u] + dhn[u];
            dhr[u] = dht;
            LSTM_REAL tc = tcs[u];
            /* dL/dc_t: through h_t = o tanh(c_t) and through c_{t+1} = f c_t + ... */
            LSTM_REAL dc = dcn[u] + dht * og * (1 - tc * tc);
            dzr[u] = dc * jg * ig * (1 - ig);               /* input gate */
            dzr[H + u] = dc * ig * (1 - jg * jg);           /* candidate */
            dzr[2 * H + u] = dc * cprev[u] * fg * (1 - fg); /* forget gate */
            dzr[3 * H + u] = dht * tc * og * (1 - og);      /* output gate */
            dcn[u] = dc * fg;                               /* dL/dc_{t-1} */
        }
        return;
    }
    const LSTM_REAL *pi = peep ? p->w_p : NULL, *pf = peep ? p->w_p + H : NULL,
                    *po = peep ? p->w_p + 2 * H : NULL;
    for (size_t u = 0; u < H; u++) {
        LSTM_REAL ig = zr[u], jg = zr[H + u], fg = zr[2 * H + u], og = zr[3 * H + u];
        LSTM_REAL dht = dhr[u] + dhn[u];
        dhr[u] = dht;
        LSTM_REAL tc = tcs[u];
        LSTM_REAL dao = dht * tc * og * (1 - og);       /* output gate */
        /* dL/dc_t: through h_t = o tanh(c_t), through c_{t+1}, and (peephole) through
         * o_t's pre-activation p_o c_t */
        LSTM_REAL dc = dcn[u] + dht * og * (1 - tc * tc);
        if (peep) dc += dao * po[u];
        LSTM_REAL df = dc * cprev[u];                   /* dL/df_t */
        LSTM_REAL di = dc * jg;                         /* dL/di_t through c_t */
        if (coupled) di -= df;                          /* and through f_t = 1 - i_t */
        LSTM_REAL dai = di * ig * (1 - ig);
        LSTM_REAL daf = coupled ? 0 : df * fg * (1 - fg);
        dzr[u] = dai;
        dzr[H + u] = dc * ig * (1 - jg * jg);           /* candidate */
        dzr[2 * H + u] = daf;
        dzr[3 * H + u] = dao;
        /* dL/dc_{t-1}: through c_t = f c_{t-1} + ..., and the peepholes of i_t, f_t */
        LSTM_REAL dcp = dc * fg;
        if (peep) dcp += dai * pi[u] + daf * pf[u];
        dcn[u] = dcp;
    }
}

static void LSTM_FN(backward)(const LSTM_PARAMS *p, LSTM_PARAMS *g, const lstm_variant *v,
                              size_t T, size_t B, size_t I, size_t H, const LSTM_REAL *x,
                              const LSTM_REAL *z, const LSTM_REAL *hs, const LSTM_REAL *cs,
                              LSTM_REAL *dh, LSTM_REAL *dz, LSTM_REAL *dh0, LSTM_REAL *dc0,
                              LSTM_REAL *w_ht) {
    const size_t G = 4 * H;
    const int peep = v && v->peephole, coupled = v && v->coupled;
    assert(T > 0 && B > 0 && H > 0);
    assert(!peep || (p->w_p && g->w_p));
    LSTM_TRANSPOSE(p->w_h, H, G, w_ht); /* (4H, H) */
#ifdef LSTM_STEP_ALL
    /* As in the forward pass: on one thread, the items' steps, then one product over all
     * B rows per step (the grouped pass's bits). */
    if (lstm_step_all_rows(B, (double)T * B * H * G)) {
        memset(dh0, 0, B * H * sizeof *dh0);
        memset(dc0, 0, B * H * sizeof *dc0);
        for (size_t tt = T; tt-- > 0;) {
            for (size_t b = 0; b < B; b++)
                LSTM_FN(cell_back)(p, peep, coupled, H, z + (tt * B + b) * G,
                                   cs + ((tt + 1) * B + b) * H, cs + (tt * B + b) * H,
                                   dz + (tt * B + b) * G, dh + (tt * B + b) * H, dh0 + b * H,
                                   dc0 + b * H);
            /* dL/dh_{t-1} = dz_t (B, 4H) W_h^T (4H, H) */
            LSTM_STEP_ALL(B, H, G, dz + tt * B * G, G, w_ht, H, 0, dh0, H);
        }
    } else
#endif
    {
        size_t n_groups = B < LSTM_CHUNKS ? B : LSTM_CHUNKS;
#ifdef _OPENMP
#pragma omp parallel if (n_groups > 1 && (double)T * B * H * G >= LSTM_PARALLEL_MIN)
#endif
        {
            /* the same fixed item groups as the forward pass */
            size_t g0, g1, i0, i1, tmp;
            lstm_thread_range(n_groups, &g0, &g1);
            lstm_partition(B, n_groups, g0, &i0, &tmp);
            lstm_partition(B, n_groups, g1 > 0 ? g1 - 1 : 0, &tmp, &i1);
            if (g1 <= g0) i1 = i0;
            /* dh0 / dc0 carry dL/dh_t and dL/dc_t from step t+1 back to step t. */
            if (i1 > i0) {
                memset(dh0 + i0 * H, 0, (i1 - i0) * H * sizeof *dh0);
                memset(dc0 + i0 * H, 0, (i1 - i0) * H * sizeof *dc0);
            }
            for (size_t tt = T; tt-- > 0 && i1 > i0;) {
                for (size_t b = i0; b < i1; b++)
                    LSTM_FN(cell_back)(p, peep, coupled, H, z + (tt * B + b) * G,
                                       cs + ((tt + 1) * B + b) * H, cs + (tt * B + b) * H,
                                       dz + (tt * B + b) * G, dh + (tt * B + b) * H, dh0 + b * H,
                                       dc0 + b * H);
                /* dL/dh_{t-1} through the recurrence, one product per item group:
                 * dz_t (nb, 4H) W_h^T (4H, H) */
                for (size_t gi = g0; gi < g1; gi++) {
                    size_t b0, b1;
                    lstm_partition(B, n_groups, gi, &b0, &b1);
                    LSTM_GEMM_STEP(b1 - b0, H, G, dz + (tt * B + b0) * G, G, w_ht, H, 0,
                                   dh0 + b0 * H, H);
                }
            }
        }
    }
    /* Weight gradients: one product over all T*B rows each.
     * dW_h (H, 4H) = hs[0..T-1]^T (H, T*B) dz (T*B, 4H);  dW_x (I, 4H) = x^T dz */
    LSTM_GEMM(1, 0, H, G, T * B, 1, hs, H, dz, G, 0, g->w_h, G);
    LSTM_GEMM(1, 0, I, G, T * B, 1, x, I, dz, G, 0, g->w_x, G);
    /* db (4H,) = column sums of dz. */
    LSTM_COL_SUMS(dz, T * B, G, g->b);
    if (peep) {
        /* dp_i = sum_{t,b} da_i c_{t-1},  dp_f = sum da_f c_{t-1},  dp_o = sum da_o c_t,
         * each unit summed in row order (the same for any thread count) */
        LSTM_REAL *gp = g->w_p;
        for (size_t u = 0; u < 3 * H; u++) gp[u] = 0;
        for (size_t r = 0; r < T * B; r++) {
            const LSTM_REAL *dzr = dz + r * G, *cp = cs + r * H, *cn = cs + (r + B) * H;
            for (size_t u = 0; u < H; u++) {
                gp[u] += dzr[u] * cp[u];
                gp[H + u] += dzr[2 * H + u] * cp[u];
                gp[2 * H + u] += dzr[3 * H + u] * cn[u];
            }
        }
    }
}

#undef LSTM_FN
#undef LSTM_CAT
#undef LSTM_CAT2
