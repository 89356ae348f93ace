/* r2n2.c: the R2N2 consolidator: forward dynamics, exact reversal, and learning during
 * reverse replay (see r2n2.h for the equations and shapes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_linalg.h>
#include "engram/engram.h"
#include "engram/r2n2.h"

/* Returns the released code's default parameters with zero sizes (see r2n2.h). */
r2n2_params r2n2_defaults(void) {
    r2n2_params p;
    memset(&p, 0, sizeof p);
    p.tau = 10.0;
    p.g_forward = 1.5;
    p.g_backward = 1.0;
    p.in_scale = 0.1;
    p.out_scale = 0.1;
    return p;
}

/* y (R,) = M (R, C) x (C,). Four partial sums per row in a fixed order (independent of
 * the machine's vector width), which lets the compiler overlap the additions. */
static void matvec(const double *m, size_t rows, size_t cols, const double *x, double *y) {
    for (size_t r = 0; r < rows; r++) {
        const double *row = m + r * cols;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        size_t c = 0;
        for (; c + 4 <= cols; c += 4) {
            s0 += row[c] * x[c];
            s1 += row[c + 1] * x[c + 1];
            s2 += row[c + 2] * x[c + 2];
            s3 += row[c + 3] * x[c + 3];
        }
        for (; c < cols; c++) s0 += row[c] * x[c];
        y[r] = (s0 + s1) + (s2 + s3);
    }
}

/* y (C,) = M^T x for M (R, C), x (R,) */
static void matvec_t(const double *m, size_t rows, size_t cols, const double *x, double *y) {
    memset(y, 0, cols * sizeof(double));
    for (size_t r = 0; r < rows; r++) {
        const double *row = m + r * cols;
        double xr = x[r];
        if (xr == 0.0) continue;
        for (size_t c = 0; c < cols; c++) y[c] += row[c] * xr;
    }
}

/* M (R, C) += k u (R,) v (C,)^T */
static void outer_add(double *m, size_t rows, size_t cols, double k, const double *u,
                      const double *v) {
    for (size_t r = 0; r < rows; r++) {
        double ur = k * u[r];
        if (ur == 0.0) continue;
        double *row = m + r * cols;
        for (size_t c = 0; c < cols; c++) row[c] += ur * v[c];
    }
}

static void fill_gauss(double *w, size_t n, double std, gsl_rng *r) {
    for (size_t i = 0; i < n; i++) w[i] = gsl_ran_gaussian(r, std);
}

/* Builds a consolidator with all blocks allocated once; weights drawn from r (see r2n2.h). */
r2n2_net *r2n2_alloc(const r2n2_params *p, gsl_rng *r) {
    size_t I = p->n_in, N = p->n_h, O = p->n_out;
    if (I == 0 || N == 0 || O == 0) {
        engram_fail(ENGRAM_EINVAL, "r2n2: n_in, n_h and n_out must be positive");
        return NULL;
    }
    if (!(p->tau > 1.0)) {
        engram_fail(ENGRAM_EINVAL, "r2n2: tau must exceed 1 (c = 1 - 1/tau > 0)");
        return NULL;
    }
    r2n2_net *net = calloc(1, sizeof *net);
    if (!net) goto nomem;
    net->n_in = I;
    net->n_h = N;
    net->n_out = O;
    net->tau = p->tau;
    net->d = 1.0 / p->tau;
    net->c = 1.0 - net->d;
    net->feedback = R2N2_FEEDBACK_FA;
    net->carry = R2N2_CARRY_EXACT;
    net->n_params = 2 * N * N + N * I + O * N;
    net->params = calloc(net->n_params, sizeof(double));
    net->grads = calloc(net->n_params, sizeof(double));
    net->f_ab = calloc(N * N, sizeof(double));
    net->f_ba = calloc(N * N, sizeof(double));
    net->f_bo = calloc(N * O, sizeof(double));
    net->wb_ab = calloc(N * N, sizeof(double));
    net->wb_ba = calloc(N * N, sizeof(double));
    net->ro = calloc(O, sizeof(double));
    net->re = calloc(O, sizeof(double));
    double **vecs[] = {&net->a, &net->b, &net->ga, &net->gb, &net->pa, &net->pb,
                       &net->tmp_a, &net->tmp_b, &net->gal, &net->gbl, &net->dpa, &net->dpb, &net->po};
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        *vecs[i] = calloc(N, sizeof(double));
        if (!*vecs[i]) goto nomem;
    }
    net->xtx_a = calloc((N + 1) * (N + 1), sizeof(double));
    net->xty_a = calloc((N + 1) * N, sizeof(double));
    net->xtx_b = calloc((N + 1) * (N + 1), sizeof(double));
    net->xty_b = calloc((N + 1) * N, sizeof(double));
    net->solve_work = calloc((N + 1) * (N + 1) + 2 * (N + 1), sizeof(double));
    if (!net->params || !net->grads || !net->f_ab || !net->f_ba || !net->f_bo ||
        !net->wb_ab || !net->wb_ba || !net->ro || !net->re || !net->xtx_a || !net->xty_a || !net->xtx_b ||
        !net->xty_b || !net->solve_work)
        goto nomem;
    net->w_ab = net->params;
    net->w_ba = net->w_ab + N * N;
    net->w_ia = net->w_ba + N * N;
    net->w_bo = net->w_ia + N * I;
    net->g_ab = net->grads;
    net->g_ba = net->g_ab + N * N;
    net->g_ia = net->g_ba + N * N;
    net->g_bo = net->g_ia + N * I;
    /* Initialisation as in models.py R2N2.init_ws (std = gain / sqrt(fan)). */
    fill_gauss(net->w_ab, N * N, p->g_forward / sqrt((double)N), r);
    fill_gauss(net->w_ba, N * N, p->g_forward / sqrt((double)N), r);
    fill_gauss(net->w_ia, N * I, p->in_scale / sqrt((double)N), r);
    fill_gauss(net->w_bo, O * N, p->out_scale / sqrt((double)O), r);
    fill_gauss(net->f_ab, N * N, p->g_backward / sqrt((double)N), r);
    fill_gauss(net->f_ba, N * N, p->g_backward / sqrt((double)N), r);
    fill_gauss(net->f_bo, N * O, p->g_backward / sqrt((double)O), r);
    r2n2_backward_reset(net);
    return net;
nomem:
    r2n2_free(net);
    engram_fail(ENGRAM_ENOMEM, "r2n2: out of memory");
    return NULL;
}

/* Frees a consolidator and all its blocks; NULL is a no-op. */
void r2n2_free(r2n2_net *net) {
    if (!net) return;
    free(net->params);
    free(net->grads);
    free(net->f_ab);
    free(net->f_ba);
    free(net->f_bo);
    free(net->wb_ab);
    free(net->wb_ba);
    free(net->a);
    free(net->b);
    free(net->ga);
    free(net->gb);
    free(net->pa);
    free(net->pb);
    free(net->tmp_a);
    free(net->tmp_b);
    free(net->gal);
    free(net->gbl);
    free(net->dpa);
    free(net->dpb);
    free(net->po);
    free(net->xtx_a);
    free(net->xty_a);
    free(net->xtx_b);
    free(net->xty_b);
    free(net->solve_work);
    free(net->ro);
    free(net->re);
    free(net->ia);
    free(net->ib);
    if (net->buf)
        for (size_t i = 0; i < 2 * net->n_h; i++) free(net->buf[i].limb);
    free(net->buf);
    free(net);
}

/* ---- exact fixed-point reversal (see r2n2.h) ---------------------------------- */

/* Largest |state| and |increment| on the grid: 2^20 (so products stay below 2^62). */
#define FIX_LIMIT 1048576.0

static void fix_fail(r2n2_net *net, int code, const char *what) {
    if (net->fix_status == ENGRAM_OK)
        net->fix_status = engram_fail(code, "r2n2: fixed-point reversal: %s", what);
}

/* Rounds v to the grid (integer units of 2^-R); flags values out of range. */
static int64_t fix_round(r2n2_net *net, double v) {
    if (!(fabs(v) < FIX_LIMIT)) {
        fix_fail(net, ENGRAM_EDIVERGED, "a state or increment left the range |v| < 2^20");
        return 0;
    }
    return (int64_t)llround(ldexp(v, R2N2_FIX_FRAC));
}

/* Makes room for `need` limbs. */
static int big_reserve(r2n2_net *net, r2n2_bigbuf *b, size_t need) {
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 4;
    while (cap < need) cap *= 2;
    uint32_t *l = realloc(b->limb, cap * sizeof(uint32_t));
    if (!l) { fix_fail(net, ENGRAM_ENOMEM, "out of memory for the information buffer"); return 0; }
    b->limb = l;
    b->cap = cap;
    return 1;
}

/* b <- b M + r with 0 <= r < M (push one digit of base M). */
static void big_push(r2n2_net *net, r2n2_bigbuf *b, uint64_t r, uint64_t M) {
    uint64_t carry = r;
    for (size_t k = 0; k < b->used; k++) {
        uint64_t v = (uint64_t)b->limb[k] * M + carry;
        b->limb[k] = (uint32_t)v;
        carry = v >> 32;
    }
    if (carry) {
        if (!big_reserve(net, b, b->used + 1)) return;
        b->limb[b->used++] = (uint32_t)carry;
    }
}

/* Returns b mod M and sets b <- floor(b / M) (pop one digit of base M). */
static uint64_t big_pop(r2n2_bigbuf *b, uint64_t M) {
    uint64_t rem = 0;
    for (size_t k = b->used; k-- > 0;) {
        uint64_t v = (rem << 32) | b->limb[k];
        b->limb[k] = (uint32_t)(v / M);
        rem = v % M;
    }
    while (b->used > 0 && b->limb[b->used - 1] == 0) b->used--;
    return rem;
}

/* x <- x num / den exactly, the bits lost stored in (and the bits gained taken from)
 * the buffer: r = x mod den, push r; x = (x - r) / den * num + pop (base num). The map
 * with num and den swapped is its exact inverse. */
static int64_t fix_scale(r2n2_net *net, int64_t x, r2n2_bigbuf *b, long long num, long long den) {
    int64_t r = x % den;
    if (r < 0) r += den;
    big_push(net, b, (uint64_t)r, (uint64_t)den);
    int64_t q = (x - r) / den;
    return q * num + (int64_t)big_pop(b, (uint64_t)num);
}

/* Switches to fixed-point mode (integer tau, buffers for max_steps steps). */
int r2n2_fixed_enable(r2n2_net *net, size_t max_steps) {
    size_t N = net->n_h;
    double tr = floor(net->tau + 0.5);
    if (!(net->tau >= 2.0) || fabs(net->tau - tr) > 1e-12)
        return engram_fail(ENGRAM_EINVAL, "r2n2: fixed-point reversal needs an integer tau >= 2 "
                           "(c = (tau - 1) / tau exactly), have %g", net->tau);
    if (!net->ia) net->ia = calloc(N, sizeof(int64_t));
    if (!net->ib) net->ib = calloc(N, sizeof(int64_t));
    if (!net->buf) net->buf = calloc(2 * N, sizeof(r2n2_bigbuf));
    if (!net->ia || !net->ib || !net->buf) return engram_fail(ENGRAM_ENOMEM, "r2n2: out of memory");
    net->fix_n = (long long)tr - 1;
    net->fix_d = (long long)tr;
    /* about log2(D / n) bits per step, plus one digit in flight and a margin */
    double bits = (double)max_steps * log2((double)net->fix_d / (double)net->fix_n) + 96.0;
    size_t limbs = (size_t)(bits / 32.0) + 2;
    net->fix_status = ENGRAM_OK;
    for (size_t i = 0; i < 2 * N; i++)
        if (!big_reserve(net, &net->buf[i], limbs)) return net->fix_status;
    net->fixed = 1;
    r2n2_set_state(net, net->a, net->b);
    return ENGRAM_OK;
}

/* Bits held in the information buffers. */
double r2n2_fixed_bits(const r2n2_net *net) {
    if (!net->fixed) return 0;
    double bits = 0;
    for (size_t i = 0; i < 2 * net->n_h; i++) {
        const r2n2_bigbuf *b = &net->buf[i];
        if (b->used == 0) continue;
        uint32_t top = b->limb[b->used - 1];
        int w = 0;
        while (top) { w++; top >>= 1; }
        bits += 32.0 * (double)(b->used - 1) + (double)w;
    }
    return bits;
}

/* Returns the fixed-point status (first error since the state was set). */
int r2n2_fixed_status(const r2n2_net *net) { return net->fixed ? net->fix_status : ENGRAM_OK; }

/* Fixed-point forward update of A (cur = W_BA phi(b), inp = W_IA x) or B (inp NULL). */
static void fix_forward(r2n2_net *net, int pop_b, const double *cur, const double *inp) {
    size_t N = net->n_h;
    int64_t *s = pop_b ? net->ib : net->ia;
    double *v = pop_b ? net->b : net->a;
    r2n2_bigbuf *buf = net->buf + (pop_b ? N : 0);
    for (size_t i = 0; i < N; i++) {
        int64_t inc = fix_round(net, net->d * (inp ? cur[i] + inp[i] : cur[i]));
        s[i] = fix_scale(net, s[i], buf + i, net->fix_n, net->fix_d) + inc;
        v[i] = ldexp((double)s[i], -R2N2_FIX_FRAC);
    }
}

/* Exact inverse of fix_forward with the same cur and inp. */
static void fix_reverse(r2n2_net *net, int pop_b, const double *cur, const double *inp) {
    size_t N = net->n_h;
    int64_t *s = pop_b ? net->ib : net->ia;
    double *v = pop_b ? net->b : net->a;
    r2n2_bigbuf *buf = net->buf + (pop_b ? N : 0);
    for (size_t i = 0; i < N; i++) {
        int64_t inc = fix_round(net, net->d * (inp ? cur[i] + inp[i] : cur[i]));
        s[i] = fix_scale(net, s[i] - inc, buf + i, net->fix_d, net->fix_n);
        v[i] = ldexp((double)s[i], -R2N2_FIX_FRAC);
    }
}

/* Reconstructs b_{t-1} from (a_t, b_t); net->pa must hold phi(a_t). Uses tmp_b. */
static void rec_b(r2n2_net *net) {
    size_t N = net->n_h;
    double c = net->c, d = net->d;
    if (net->fixed) {
        matvec(net->w_ab, N, N, net->pa, net->tmp_b);
        fix_reverse(net, 1, net->tmp_b, NULL);
        return;
    }
    /* b_{t-1} = (b_t + d Wb_AB phi(a_t)) / c */
    matvec(net->wb_ab, N, N, net->pa, net->tmp_b);
    for (size_t i = 0; i < N; i++) net->b[i] = (net->b[i] + d * net->tmp_b[i]) / c;
}

/* Reconstructs a_{t-1} from (a_t, b_{t-1}) and x_t; net->pb must hold phi(b_{t-1}).
 * Uses tmp_a and tmp_b. */
static void rec_a(r2n2_net *net, const double *x) {
    size_t N = net->n_h, I = net->n_in;
    double c = net->c, d = net->d;
    if (net->fixed) {
        matvec(net->w_ba, N, N, net->pb, net->tmp_a);
        matvec(net->w_ia, N, I, x, net->tmp_b);
        fix_reverse(net, 0, net->tmp_a, net->tmp_b);
        return;
    }
    /* a_{t-1} = (a_t + d Wb_BA phi(b_{t-1}) - d W_IA x_t) / c */
    matvec(net->wb_ba, N, N, net->pb, net->tmp_a);
    matvec(net->w_ia, N, I, x, net->tmp_b);
    for (size_t i = 0; i < N; i++)
        net->a[i] = (net->a[i] + d * net->tmp_a[i] - d * net->tmp_b[i]) / c;
}

/* Sets the state (a, b); a NULL population is set to zero. */
void r2n2_set_state(r2n2_net *net, const double *a, const double *b) {
    size_t N = net->n_h;
    if (a) memcpy(net->a, a, N * sizeof(double)); else memset(net->a, 0, N * sizeof(double));
    if (b) memcpy(net->b, b, N * sizeof(double)); else memset(net->b, 0, N * sizeof(double));
    if (net->fixed) {
        for (size_t i = 0; i < N; i++) {
            net->ia[i] = fix_round(net, net->a[i]);
            net->ib[i] = fix_round(net, net->b[i]);
            net->a[i] = ldexp((double)net->ia[i], -R2N2_FIX_FRAC);
            net->b[i] = ldexp((double)net->ib[i], -R2N2_FIX_FRAC);
        }
        for (size_t i = 0; i < 2 * N; i++) net->buf[i].used = 0;
        net->fix_status = ENGRAM_OK;
    }
}

/* Adds one regression sample: rates r (N,) -> current cur (N,), to (X^T X, X^T Y) with
 * an intercept column (index N). */
static void add_sample(double *xtx, double *xty, size_t N, const double *r, const double *cur) {
    for (size_t i = 0; i <= N; i++) {
        double ri = i < N ? r[i] : 1.0;
        double *row = xtx + i * (N + 1);
        for (size_t j = 0; j < N; j++) row[j] += ri * r[j];
        row[N] += ri;
        double *yrow = xty + i * N;
        for (size_t j = 0; j < N; j++) yrow[j] += ri * (-cur[j]);
    }
}

/* Advances the state by one forward step (A first, then B from the new A). */
void r2n2_forward_step(r2n2_net *net, const double *x, double *o) {
    size_t N = net->n_h, I = net->n_in;
    double c = net->c, d = net->d;
    /* A first: a_t = c a_{t-1} + d (W_BA phi(b_{t-1}) + W_IA x_t) */
    for (size_t i = 0; i < N; i++) net->pb[i] = tanh(net->b[i]);
    matvec(net->w_ba, N, N, net->pb, net->tmp_a);            /* current to A (N,) */
    if (net->collect) add_sample(net->xtx_a, net->xty_a, N, net->pb, net->tmp_a);
    matvec(net->w_ia, N, I, x, net->gal);                    /* input current (N,) */
    if (net->fixed) fix_forward(net, 0, net->tmp_a, net->gal);
    else
        for (size_t i = 0; i < N; i++)
            net->a[i] = c * net->a[i] + d * (net->tmp_a[i] + net->gal[i]);
    /* then B from the new a: b_t = c b_{t-1} + d W_AB phi(a_t) */
    for (size_t i = 0; i < N; i++) net->pa[i] = tanh(net->a[i]);
    matvec(net->w_ab, N, N, net->pa, net->tmp_b);
    if (net->collect) {
        add_sample(net->xtx_b, net->xty_b, N, net->pa, net->tmp_b);
        net->n_samples++;
    }
    if (net->fixed) fix_forward(net, 1, net->tmp_b, NULL);
    else
        for (size_t i = 0; i < N; i++) net->b[i] = c * net->b[i] + d * net->tmp_b[i];
    if (o) r2n2_output(net, o);
}

/* Writes the linear readout o = W_BO phi(b) of the current state. */
void r2n2_output(r2n2_net *net, double *o) {
    size_t N = net->n_h, O = net->n_out;
    for (size_t j = 0; j < N; j++) net->po[j] = tanh(net->b[j]);
    matvec(net->w_bo, O, N, net->po, o);
}

/* Reconstructs the previous state with the backward weights (no learning). */
void r2n2_reverse_step(r2n2_net *net, const double *x) {
    size_t N = net->n_h;
    for (size_t i = 0; i < N; i++) net->pa[i] = tanh(net->a[i]);
    rec_b(net);
    for (size_t i = 0; i < N; i++) net->pb[i] = tanh(net->b[i]);
    rec_a(net, x);
}

/* Sets the backward weights to minus the forward weights. */
void r2n2_backward_reset(r2n2_net *net) {
    size_t NN = net->n_h * net->n_h;
    for (size_t i = 0; i < NN; i++) {
        net->wb_ab[i] = -net->w_ab[i];
        net->wb_ba[i] = -net->w_ba[i];
    }
}

/* Clears the regression sums and starts collecting forward samples. */
void r2n2_backward_collect_begin(r2n2_net *net) {
    size_t N = net->n_h;
    memset(net->xtx_a, 0, (N + 1) * (N + 1) * sizeof(double));
    memset(net->xty_a, 0, (N + 1) * N * sizeof(double));
    memset(net->xtx_b, 0, (N + 1) * (N + 1) * sizeof(double));
    memset(net->xty_b, 0, (N + 1) * N * sizeof(double));
    net->n_samples = 0;
    net->collect = 1;
}

/* Solves (X^T X) beta = X^T Y by Cholesky and writes wb (N, N) with wb[j][i] =
 * beta[i][j] for i < N (the intercept row N is dropped). */
static int solve_one(size_t N, const double *xtx, const double *xty, double *work, double *wb) {
    size_t M = N + 1;
    double *A = work, *rhs = work + M * M, *sol = rhs + M;
    memcpy(A, xtx, M * M * sizeof(double));
    gsl_matrix_view av = gsl_matrix_view_array(A, M, M);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int st = gsl_linalg_cholesky_decomp1(&av.matrix);
    if (st) {
        gsl_set_error_handler(old);
        return engram_fail(ENGRAM_EINVAL, "r2n2: backward regression is singular "
                                          "(collect more varied forward samples)");
    }
    gsl_vector_view rv = gsl_vector_view_array(rhs, M), sv = gsl_vector_view_array(sol, M);
    for (size_t j = 0; j < N; j++) {
        for (size_t i = 0; i < M; i++) rhs[i] = xty[i * N + j];
        gsl_linalg_cholesky_solve(&av.matrix, &rv.vector, &sv.vector);
        for (size_t i = 0; i < N; i++) wb[j * N + i] = sol[i];
    }
    gsl_set_error_handler(old);
    return ENGRAM_OK;
}

/* Learns the backward weights by least squares on the collected samples. */
int r2n2_backward_solve(r2n2_net *net) {
    size_t N = net->n_h;
    net->collect = 0;
    if (net->n_samples < N + 1)
        return engram_fail(ENGRAM_EINVAL, "r2n2: learned backward weights need at least %zu "
                           "forward samples, have %zu", N + 1, net->n_samples);
    int st = solve_one(N, net->xtx_a, net->xty_a, net->solve_work, net->wb_ba);
    if (st == ENGRAM_OK) st = solve_one(N, net->xtx_b, net->xty_b, net->solve_work, net->wb_ab);
    return st;
}

/* Zeroes the gradient block and the carried errors before a reverse replay. */
void r2n2_grad_begin(r2n2_net *net) {
    memset(net->grads, 0, net->n_params * sizeof(double));
    memset(net->ga, 0, net->n_h * sizeof(double));
    memset(net->gb, 0, net->n_h * sizeof(double));
}

/* One reverse-replay step with learning: increments (4), carry (3), reconstruction. */
void r2n2_learn_step(r2n2_net *net, const double *x, const double *e) {
    size_t N = net->n_h, I = net->n_in, O = net->n_out;
    double c = net->c, d = net->d;
    int bp = net->feedback == R2N2_FEEDBACK_BPTT;
    /* rates and derivatives at the later state (a_t, b_t) */
    for (size_t i = 0; i < N; i++) {
        double ta = tanh(net->a[i]), tb = tanh(net->b[i]);
        net->pa[i] = ta;
        net->pb[i] = tb;
        net->dpa[i] = 1.0 - ta * ta;
        net->dpb[i] = 1.0 - tb * tb;
    }
    /* dW_BO += e_t phi(b_t)^T */
    outer_add(net->g_bo, O, N, 1.0, e, net->pb);
    /* (1) gB_l = gB_c + (F_BO e_t) .* phi'(b_t) */
    if (bp) matvec_t(net->w_bo, O, N, e, net->tmp_b);
    else matvec(net->f_bo, N, O, e, net->tmp_b);
    for (size_t i = 0; i < N; i++) net->gbl[i] = net->gb[i] + net->tmp_b[i] * net->dpb[i];
    /* (2) gA_l = gA_c + d (F_AB gB_l) .* phi'(a_t) */
    if (bp) matvec_t(net->w_ab, N, N, net->gbl, net->tmp_a);
    else matvec(net->f_ab, N, N, net->gbl, net->tmp_a);
    for (size_t i = 0; i < N; i++) net->gal[i] = net->ga[i] + d * net->tmp_a[i] * net->dpa[i];
    /* dW_AB += d gB_l phi(a_t)^T */
    outer_add(net->g_ab, N, N, d, net->gbl, net->pa);
    /* reconstruct b_{t-1} = (b_t + d Wb_AB phi(a_t)) / c */
    rec_b(net);
    for (size_t i = 0; i < N; i++) {
        double tb = tanh(net->b[i]);
        net->pb[i] = tb;               /* phi(b_{t-1}) */
        net->dpb[i] = 1.0 - tb * tb;   /* phi'(b_{t-1}) */
    }
    /* dW_BA += d gA_l phi(b_{t-1})^T; dW_IA += d gA_l x_t^T */
    outer_add(net->g_ba, N, N, d, net->gal, net->pb);
    outer_add(net->g_ia, N, I, d, net->gal, x);
    /* reconstruct a_{t-1} = (a_t + d Wb_BA phi(b_{t-1}) - d W_IA x_t) / c */
    rec_a(net, x);
    /* (3) carry */
    if (net->carry == R2N2_CARRY_EXACT) {
        if (bp) matvec_t(net->w_ba, N, N, net->gal, net->tmp_b);
        else matvec(net->f_ba, N, N, net->gal, net->tmp_b);
        for (size_t i = 0; i < N; i++) {
            net->ga[i] = c * net->gal[i];
            net->gb[i] = c * net->gbl[i] + d * net->tmp_b[i] * net->dpb[i];
        }
    } else {
        memcpy(net->ga, net->gal, N * sizeof(double));
        memcpy(net->gb, net->gbl, N * sizeof(double));
    }
}

/* The reverse replay with learning, in one pass or in re-forwarded segments. */
int r2n2_replay_reverse(r2n2_net *net, const double *x, const double *xr, size_t T,
                        const double *s0, size_t K, r2n2_error_fn err, void *ctx,
                        double *recon_err) {
    size_t N = net->n_h, I = net->n_in;
    if (K > 0 && !s0)
        return engram_fail(ENGRAM_EINVAL, "r2n2: segmented reverse replay needs the initial state");
    r2n2_grad_begin(net);
    size_t hi = T;
    while (hi > 0) {
        size_t lo = (K > 0 && hi > K) ? hi - K : 0;
        if (hi < T) {
            /* re-run the forward replay from the known start to step hi; the carried
             * errors ga, gb are not touched by forward steps */
            r2n2_set_state(net, s0, s0 + N);
            for (size_t t = 0; t < hi; t++) r2n2_forward_step(net, x + t * I, NULL);
        }
        for (size_t t = hi; t-- > lo;) {
            r2n2_output(net, net->ro);
            err(ctx, t, net->ro, net->re);
            r2n2_learn_step(net, xr + t * I, net->re);
        }
        hi = lo;
    }
    if (recon_err) {
        double m = NAN;
        if (s0) {
            m = 0;
            for (size_t i = 0; i < N; i++) {
                m = fmax(m, fabs(net->a[i] - s0[i]));
                m = fmax(m, fabs(net->b[i] - s0[N + i]));
            }
        }
        *recon_err = m;
    }
    return r2n2_fixed_status(net);
}
