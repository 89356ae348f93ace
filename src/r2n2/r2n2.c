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
        !net->wb_ab || !net->wb_ba || !net->xtx_a || !net->xty_a || !net->xtx_b ||
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
    free(net);
}

/* Sets the state (a, b); a NULL population is set to zero. */
void r2n2_set_state(r2n2_net *net, const double *a, const double *b) {
    size_t N = net->n_h;
    if (a) memcpy(net->a, a, N * sizeof(double)); else memset(net->a, 0, N * sizeof(double));
    if (b) memcpy(net->b, b, N * sizeof(double)); else memset(net->b, 0, N * sizeof(double));
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
    for (size_t i = 0; i < N; i++)
        net->a[i] = c * net->a[i] + d * (net->tmp_a[i] + net->gal[i]);
    /* then B from the new a: b_t = c b_{t-1} + d W_AB phi(a_t) */
    for (size_t i = 0; i < N; i++) net->pa[i] = tanh(net->a[i]);
    matvec(net->w_ab, N, N, net->pa, net->tmp_b);
    if (net->collect) {
        add_sample(net->xtx_b, net->xty_b, N, net->pa, net->tmp_b);
        net->n_samples++;
    }
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
    size_t N = net->n_h, I = net->n_in;
    double c = net->c, d = net->d;
    /* b_{t-1} = (b_t + d Wb_AB phi(a_t)) / c */
    for (size_t i = 0; i < N; i++) net->pa[i] = tanh(net->a[i]);
    matvec(net->wb_ab, N, N, net->pa, net->tmp_b);
    for (size_t i = 0; i < N; i++) net->b[i] = (net->b[i] + d * net->tmp_b[i]) / c;
    /* a_{t-1} = (a_t + d Wb_BA phi(b_{t-1}) - d W_IA x_t) / c */
    for (size_t i = 0; i < N; i++) net->pb[i] = tanh(net->b[i]);
    matvec(net->wb_ba, N, N, net->pb, net->tmp_a);
    matvec(net->w_ia, N, I, x, net->gal);
    for (size_t i = 0; i < N; i++)
        net->a[i] = (net->a[i] + d * net->tmp_a[i] - d * net->gal[i]) / c;
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
    matvec(net->wb_ab, N, N, net->pa, net->tmp_b);
    for (size_t i = 0; i < N; i++) net->b[i] = (net->b[i] + d * net->tmp_b[i]) / c;
    for (size_t i = 0; i < N; i++) {
        double tb = tanh(net->b[i]);
        net->pb[i] = tb;               /* phi(b_{t-1}) */
        net->dpb[i] = 1.0 - tb * tb;   /* phi'(b_{t-1}) */
    }
    /* dW_BA += d gA_l phi(b_{t-1})^T; dW_IA += d gA_l x_t^T */
    outer_add(net->g_ba, N, N, d, net->gal, net->pb);
    outer_add(net->g_ia, N, I, d, net->gal, x);
    /* reconstruct a_{t-1} = (a_t + d Wb_BA phi(b_{t-1}) - d W_IA x_t) / c */
    matvec(net->wb_ba, N, N, net->pb, net->tmp_a);
    matvec(net->w_ia, N, I, x, net->tmp_b);
    for (size_t i = 0; i < N; i++)
        net->a[i] = (net->a[i] + d * net->tmp_a[i] - d * net->tmp_b[i]) / c;
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
