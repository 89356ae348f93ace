/* rnn.c: the rate RNN's forward pass, losses, the feedback-path backward pass (BPTT and
 * feedback alignment) and RFLO's eligibility traces; see rnn.h for the equations. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_randist.h>
#ifdef _OPENMP
#include <omp.h>
#define RNN_OMP(directive) _Pragma(directive)
#else
#define RNN_OMP(directive) /* built without OpenMP (NO_OMP=1): serial */
#endif
#include "engram/engram.h"
#include "engram/kernels.h"
#include "engram/rnn.h"

/* Work is cut into chunks whose size does not depend on the thread count (batch items
 * RNN_ITEM_CHUNK at a time, weight-gradient rows RNN_ROW_CHUNK at a time), so every BLAS
 * call has the same shape with 1 or 8 threads: optimised BLAS libraries pick kernels, and
 * so summation orders, by shape, and a split that followed the thread count would change
 * the last bits of the results. Chunk k of n items is [k c, min(n, (k + 1) c)). */
#define RNN_ITEM_CHUNK 8
#define RNN_ROW_CHUNK 32
/* float32: rows of the weight gradients 64 at a time. Each weight-gradient product packs
 * all B*T rows of h_{t-1} again; halving the number of products measured 8 % off a
 * float32 step (B 32, N 128); float64 keeps 32. */
#define RNN_ITEM_CHUNK_F32 8
#define RNN_ROW_CHUNK_F32 64

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


/* The float32 buffers of a workspace: the fields of rnn_work in single precision, the
 * float copies of the parameters (P,), their gradient (P,), the feedback matrices
 * [fb_out (N, O) | fb_rec (N, N)] and the inputs (B, T, I). */
typedef struct rnn_work32 {
    float *z, *h, *h_prev, *m_t, *u_t, *v_t, *o, *logit, *d_o, *d_a, *d_h, *d_h2;
    float *p, *g, *fb, *x;
} rnn_work32;

/* The buffer fields of rnn_work / rnn_work32, for allocation and freeing. */
#define RNN_WORK_FIELDS(X) X(z) X(h) X(h_prev) X(m_t) X(u_t) X(v_t) X(o) X(logit) X(d_o) X(d_a) X(d_h) X(d_h2)

rnn_work *rnn_work_alloc_precision(const rnn *net, size_t max_batch, size_t t_max,
                                   rnn_precision precision) {
    if (max_batch == 0 || t_max == 0) {
        engram_fail(ENGRAM_EINVAL, "rnn: workspace sizes must be positive");
        return NULL;
    }
    rnn_work *w = calloc(1, sizeof *w);
    if (!w) { engram_fail(ENGRAM_ENOMEM, "rnn: out of memory"); return NULL; }
    size_t N = net->n_rec, I = net->n_in, O = net->n_out, BT = max_batch * t_max;
    w->max_batch = max_batch;
    w->t_max = t_max;
    w->precision = precision;
    /* elements of each buffer (rnn.h) */
    size_t n_z = BT * N, n_h = BT * N, n_h_prev = BT * N, n_m_t = N * N, n_u_t = I * N,
           n_v_t = O * N, n_o = BT * O, n_logit = BT * O, n_d_o = BT * O, n_d_a = BT * N,
           n_d_h = max_batch * N, n_d_h2 = max_batch * N;
    int ok = 1;
    if (precision == RNN_FLOAT32) {
        rnn_work32 *f = w->f32 = calloc(1, sizeof *f);
        ok = f != NULL;
        if (ok) {
#define RNN_ALLOC32(name) ok &= (f->name = calloc(n_##name, sizeof(float))) != NULL;
            RNN_WORK_FIELDS(RNN_ALLOC32)
#undef RNN_ALLOC32
            ok &= (f->p = calloc(net->n_params, sizeof(float))) != NULL;
            ok &= (f->g = calloc(net->n_params, sizeof(float))) != NULL;
            ok &= (f->fb = calloc(N * O + N * N, sizeof(float))) != NULL;
            ok &= (f->x = calloc(BT * I, sizeof(float))) != NULL;
        }
    } else {
#define RNN_ALLOC64(name) ok &= (w->name = calloc(n_##name, sizeof(double))) != NULL;
        RNN_WORK_FIELDS(RNN_ALLOC64)
#undef RNN_ALLOC64
    }
    if (!ok) {
        rnn_work_free(w);
        engram_fail(ENGRAM_ENOMEM, "rnn: out of memory for a workspace of %zu x %zu steps",
                    max_batch, t_max);
        return NULL;
    }
    return w;
}

rnn_work *rnn_work_alloc(const rnn *net, size_t max_batch, size_t t_max) {
    return rnn_work_alloc_precision(net, max_batch, t_max, RNN_FLOAT64);
}

void rnn_work_free(rnn_work *w) {
    if (!w) return;
#define RNN_FREE(name) free(w->name);
    RNN_WORK_FIELDS(RNN_FREE)
#undef RNN_FREE
    if (w->f32) {
        rnn_work32 *f = w->f32;
#define RNN_FREE_F(name) free(f->name);
        RNN_WORK_FIELDS(RNN_FREE_F)
#undef RNN_FREE_F
        free(f->p);
        free(f->g);
        free(f->fb);
        free(f->x);
        free(f);
    }
    free(w);
}

/* The kernels in both precisions (rnn_real.h). */
#define REAL double
#define RS(name) name##_f64
#define RWORK rnn_work
#define RGEMM cblas_dgemm
#define RCHUNK RNN_ITEM_CHUNK
#define RROWS RNN_ROW_CHUNK
#define RNN_REAL_F32 0
#include "rnn_real.h"
#undef REAL
#undef RS
#undef RWORK
#undef RGEMM
#undef RCHUNK
#undef RROWS
#undef RNN_REAL_F32
#define REAL float
#define RS(name) name##_f32
#define RWORK rnn_work32
#define RGEMM cblas_sgemm
#define RCHUNK RNN_ITEM_CHUNK_F32
#define RROWS RNN_ROW_CHUNK_F32
#define RNN_REAL_F32 1
#include "rnn_real.h"
#undef REAL
#undef RS
#undef RWORK
#undef RGEMM
#undef RCHUNK
#undef RROWS
#undef RNN_REAL_F32

static void rnn_to_float(const double *x, float *y, size_t n) {
    for (size_t k = 0; k < n; k++) y[k] = (float)x[k];
}

static void rnn_to_double(const float *x, double *y, size_t n) {
    for (size_t k = 0; k < n; k++) y[k] = x[k];
}

void rnn_forward(const rnn *net, const trial_batch *b, rnn_work *w) {
    assert(b->n_batch <= w->max_batch && b->t_max <= w->t_max);
    assert(b->n_in == net->n_in && b->n_out == net->n_out);
    if (!w->f32) {
        rnn_fwd_f64(net, net->w_rec, net->w_in, net->b_rec, net->w_out, net->b_out, b, b->x, w);
        return;
    }
    /* float32: float copies of the (float64 master) parameters and of the inputs */
    rnn_work32 *f = w->f32;
    rnn_to_float(net->params, f->p, net->n_params);
    rnn_to_float(b->x, f->x, b->n_batch * b->t_max * net->n_in);
    size_t off[4] = {(size_t)(net->w_in - net->params), (size_t)(net->b_rec - net->params),
                     (size_t)(net->w_out - net->params), (size_t)(net->b_out - net->params)};
    rnn_fwd_f32(net, f->p, f->p + off[0], f->p + off[1], f->p + off[2], f->p + off[3], b, f->x, f);
}

double rnn_loss(const rnn *net, const trial_batch *b, rnn_work *w) {
    return w->f32 ? rnn_loss_run_f32(net, b, w->f32) : rnn_loss_run_f64(net, b, w);
}

void rnn_transpose_weights(const rnn *net, double *w_rec_t, double *w_out_t) {
    size_t N = net->n_rec, O = net->n_out;
    if (w_rec_t) rnn_transpose_f64(net->w_rec, N, N, w_rec_t);
    if (w_out_t) rnn_transpose_f64(net->w_out, O, N, w_out_t);
}

void rnn_backward(const rnn *net, const trial_batch *b, rnn_work *w, const double *fb_out,
                  const double *fb_rec, size_t window, double *grads) {
    assert(b->n_batch <= w->max_batch && b->t_max <= w->t_max);
    if (!w->f32) {
        rnn_bwd_f64(net, b, b->x, w, fb_out, fb_rec, window, grads);
        return;
    }
    rnn_work32 *f = w->f32;
    size_t N = net->n_rec, O = net->n_out;
    rnn_to_float(fb_out, f->fb, N * O);
    rnn_to_float(fb_rec, f->fb + N * O, N * N);
    rnn_bwd_f32(net, b, f->x, f, f->fb, f->fb + N * O, window, f->g);
    rnn_to_double(f->g, grads, net->n_params);
}

void rnn_rflo_grad(const rnn *net, const trial_batch *b, rnn_work *w, const double *fb_out,
                   double *grads) {
    assert(b->n_batch <= w->max_batch && b->t_max <= w->t_max);
    if (!w->f32) {
        rnn_rflo_f64(net, b, b->x, w, fb_out, grads);
        return;
    }
    rnn_work32 *f = w->f32;
    rnn_to_float(fb_out, f->fb, net->n_rec * net->n_out);
    rnn_rflo_f32(net, b, f->x, f, f->fb, f->g);
    rnn_to_double(f->g, grads, net->n_params);
}

void rnn_rflo_grad_online(const rnn *net, const trial_batch *b, const rnn_work *w,
                   const double *fb_out, double *traces, double *slices, double *grads) {
    assert(!w->f32);
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
    /* a into h, then tanh in place with the batched pass's kernel, then the leak */
    for (size_t n = 0; n < N; n++) {
        double a = net->b_rec[n];
        const double *wr = net->w_rec + n * N, *u = net->w_in + n * I;
        for (size_t j = 0; j < N; j++) a += wr[j] * h_prev[j];
        for (size_t k = 0; k < I; k++) a += u[k] * x[k];
        h[n] = a;
    }
    kern_tanh(h, h, N);
    for (size_t n = 0; n < N; n++) h[n] = (1 - alpha) * h_prev[n] + alpha * h[n];
    /* logits into out, then softmax in place (rnn_output allows out == logit) */
    for (size_t k = 0; k < O; k++) {
        double s = net->b_out[k];
        const double *v = net->w_out + k * N;
        for (size_t n = 0; n < N; n++) s += v[n] * h[n];
        out[k] = s;
    }
    rnn_output_f64(net->loss, out, out, O);
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
