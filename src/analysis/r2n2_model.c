/* r2n2_model.c: the R2N2 consolidator (r2n2.h) of a train.rule = r2n2 run as a
 * recurrent network for the analyses (analysis.h, "Models"). Its units are the 2N
 * states [a; b]; each step runs the float equations of r2n2.h,
 *     a_t = c a_{t-1} + d (W_BA phi(b_{t-1}) + W_IA x_t)      then the intervention on a,
 *     b_t = c b_{t-1} + d  W_AB phi(a_t)                       then the intervention on b,
 *     o_t = W_BO phi(b_t)   (softmax for cross-entropy runs),
 * from a zero state, so a silenced A unit already sends nothing to B in its own step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis_impl.h"
#include "engram/engram.h"
#include "engram/learner.h"
#include "engram/rng.h"

int analysis_r2n2_load(analysis_model *m, const char *run_dir) {
    const config *c = m->cfg;
    r2n2_params p = r2n2_defaults();
    p.n_in = m->tk->n_in;
    p.n_out = m->tk->n_out;
    p.n_h = (size_t)config_int(c, "r2n2.n_h");
    p.tau = config_real(c, "r2n2.tau");
    gsl_rng *r = rng_stream_alloc(m->seed, "analysis-r2n2", 0); /* overwritten below */
    if (!r) return engram_fail(ENGRAM_ENOMEM, "analysis: out of memory");
    m->r2 = r2n2_alloc(&p, r);
    gsl_rng_free(r);
    if (!m->r2) return ENGRAM_EINVAL;
    r2n2_net *net = m->r2;
    const size_t N = p.n_h, I = p.n_in, O = p.n_out;
    int got = analysis_read_named(run_dir, "w_ab.npy", net->w_ab, N * N);
    if (got == 1) {
        int g2 = analysis_read_named(run_dir, "w_ba.npy", net->w_ba, N * N);
        int g3 = g2 == 1 ? analysis_read_named(run_dir, "w_ia.npy", net->w_ia, N * I) : g2;
        int g4 = g3 == 1 ? analysis_read_named(run_dir, "w_bo.npy", net->w_bo, O * N) : g3;
        if (g4 != 1)
            return g4 < 0 ? -g4 : engram_fail(ENGRAM_EIO, "%s: w_ab.npy without all of w_ba.npy, "
                                              "w_ia.npy, w_bo.npy", run_dir);
    } else if (got == 0) {
        got = analysis_read_named(run_dir, "r2n2_params.npy", net->params, net->n_params);
        if (got != 1)
            return got < 0 ? -got : engram_fail(ENGRAM_EIO, "%s: no saved consolidator weights "
                                                "(w_ab.npy ... or r2n2_params.npy)", run_dir);
    } else {
        return -got;
    }
    m->net_kind = ANALYSIS_NET_R2N2;
    m->n_units = 2 * N;
    m->r2_xent = config_has(c, "train.loss") && strcmp(config_str(c, "train.loss"), "xent") == 0;
    return ENGRAM_OK;
}

int analysis_r2n2_untrained(analysis_model *m) {
    const learner_type *lt = learner_type_find("r2n2");
    if (!lt) return engram_fail(ENGRAM_ERANGE, "analysis: rule r2n2 not available");
    learner *l = lt->alloc(m->cfg, m->tk->n_in, m->tk->n_out, m->tk->t_max, m->seed);
    if (!l) return ENGRAM_EINVAL;
    ckpt_blob b[8];
    size_t nb = lt->blobs(l, b, 8);
    int st = engram_fail(ENGRAM_EFORMAT, "analysis: the r2n2 learner has no parameter block");
    for (size_t k = 0; k < nb; k++)
        if (!strcmp(b[k].name, "r2n2.params") && b[k].size == m->r2->n_params * sizeof(double)) {
            memcpy(m->r2->params, b[k].data, b[k].size);
            st = ENGRAM_OK;
        }
    lt->free(l);
    return st;
}

/* o (O,) = W_BO phi(b), then the softmax when xent. */
static void r2n2_out(const r2n2_net *net, int xent, const double *b, double *pb, double *o) {
    const size_t N = net->n_h, O = net->n_out;
    for (size_t j = 0; j < N; j++) pb[j] = tanh(b[j]);
    double mx = -INFINITY;
    for (size_t q = 0; q < O; q++) {
        double s = 0;
        for (size_t j = 0; j < N; j++) s += net->w_bo[q * N + j] * pb[j];
        o[q] = s;
        if (s > mx) mx = s;
    }
    if (xent) {
        double z = 0;
        for (size_t q = 0; q < O; q++) { o[q] = exp(o[q] - mx); z += o[q]; }
        for (size_t q = 0; q < O; q++) o[q] /= z;
    }
}

/* The intervention restricted to units [lo, lo + n) of the 2N states. */
static void r2n2_intervene(const analysis_intervention *iv, size_t t, double *h, size_t lo, size_t n) {
    if (!iv) return;
    if (iv->keep) for (size_t i = 0; i < n; i++) h[i] *= iv->keep[lo + i];
    if (iv->unit >= (long)lo && (size_t)iv->unit < lo + n && t >= iv->t0 && t < iv->t1) {
        if (iv->mode == ANALYSIS_CLAMP) h[iv->unit - (long)lo] = iv->value;
        else h[iv->unit - (long)lo] += iv->value;
    }
}

void analysis_r2n2_simulate(const analysis_model *m, const analysis_intervention *iv,
                            analysis_rec *rec) {
    const r2n2_net *net = m->r2;
    const size_t N = net->n_h, I = net->n_in, O = net->n_out, T = rec->t_max, S = 2 * N;
    const double c = net->c, d = net->d;
    double *pa = malloc(2 * N * sizeof *pa);
    if (!pa) return;
    double *pb = pa + N;
    memset(rec->act, 0, rec->n_trials * T * S * sizeof(double));
    memset(rec->out, 0, rec->n_trials * T * O * sizeof(double));
    for (size_t k = 0; k < rec->n_trials; k++)
        for (size_t t = 0; t < rec->len[k]; t++) {
            const double *x = rec->x + (k * T + t) * I;
            double *s = rec->act + (k * T + t) * S, *a = s, *b = s + N;
            const double *ap = t ? s - S : NULL, *bp = t ? s - S + N : NULL;
            for (size_t j = 0; j < N; j++) pb[j] = bp ? tanh(bp[j]) : 0.0;
            for (size_t i = 0; i < N; i++) {
                double u = 0;
                for (size_t j = 0; j < N; j++) u += net->w_ba[i * N + j] * pb[j];
                for (size_t j = 0; j < I; j++) u += net->w_ia[i * I + j] * x[j];
                a[i] = c * (ap ? ap[i] : 0.0) + d * u;
            }
            r2n2_intervene(iv, t, a, 0, N);
            for (size_t j = 0; j < N; j++) pa[j] = tanh(a[j]);
            for (size_t i = 0; i < N; i++) {
                double u = 0;
                for (size_t j = 0; j < N; j++) u += net->w_ab[i * N + j] * pa[j];
                b[i] = c * (bp ? bp[i] : 0.0) + d * u;
            }
            r2n2_intervene(iv, t, b, N, N);
            r2n2_out(net, m->r2_xent, b, pb, rec->out + (k * T + t) * O);
        }
    free(pa);
}

void analysis_r2n2_readout(const analysis_model *m, long out, double *norms) {
    const r2n2_net *net = m->r2;
    const size_t N = net->n_h, O = net->n_out;
    for (size_t i = 0; i < N; i++) norms[i] = 0; /* A reaches the output only through B */
    for (size_t j = 0; j < N; j++) {
        double s = 0;
        for (size_t q = 0; q < O; q++) s += net->w_bo[q * N + j] * net->w_bo[q * N + j];
        norms[N + j] = out >= 0 ? net->w_bo[(size_t)out * N + j] : sqrt(s);
    }
}

/* One step (a, b) -> (a', b') at constant input x. */
typedef struct r2n2_map {
    analysis_map_owned own;
    const r2n2_net *net;
    double *u;          /* (N,) W_IA x */
    double *work;       /* (4N,) phi(b), phi(a'), phi'(b), phi'(a') */
} r2n2_map;

static void r2n2_map_free(void *ctx) {
    r2n2_map *c = ctx;
    free(c->u); free(c->work); free(c);
}

static void r2n2_map_eval(const void *ctx, const double *h, double *f, double *jac) {
    const r2n2_map *c = ctx;
    const r2n2_net *net = c->net;
    const size_t N = net->n_h, S = 2 * N;
    const double cc = net->c, d = net->d;
    double *pb = c->work, *pa = pb + N, *db = pa + N, *da = db + N;
    const double *a = h, *b = h + N;
    double *fa = f, *fb = f + N;
    for (size_t j = 0; j < N; j++) { pb[j] = tanh(b[j]); db[j] = 1 - pb[j] * pb[j]; }
    for (size_t i = 0; i < N; i++) {
        double u = c->u[i];
        for (size_t j = 0; j < N; j++) u += net->w_ba[i * N + j] * pb[j];
        fa[i] = cc * a[i] + d * u;
    }
    for (size_t j = 0; j < N; j++) { pa[j] = tanh(fa[j]); da[j] = 1 - pa[j] * pa[j]; }
    for (size_t i = 0; i < N; i++) {
        double u = 0;
        for (size_t j = 0; j < N; j++) u += net->w_ab[i * N + j] * pa[j];
        fb[i] = cc * b[i] + d * u;
    }
    if (!jac) return;
    /* da'/da = c I, da'/db = d W_BA diag(phi'(b));
     * db'/da = d W_AB diag(phi'(a')) da'/da, db'/db = c I + d W_AB diag(phi'(a')) da'/db */
    memset(jac, 0, S * S * sizeof *jac);
    for (size_t i = 0; i < N; i++) {
        jac[i * S + i] = cc;
        for (size_t j = 0; j < N; j++) jac[i * S + N + j] = d * net->w_ba[i * N + j] * db[j];
    }
    for (size_t i = 0; i < N; i++) {
        double *row = jac + (N + i) * S;
        row[N + i] = cc;
        for (size_t l = 0; l < N; l++) {
            double w = d * net->w_ab[i * N + l] * da[l];
            if (w == 0) continue;
            const double *al = jac + l * S; /* row l of da'/d(a, b) */
            for (size_t j = 0; j < S; j++) row[j] += w * al[j];
        }
    }
}

int analysis_r2n2_map(const analysis_model *m, const double *x, analysis_map *map) {
    const r2n2_net *net = m->r2;
    const size_t N = net->n_h, I = net->n_in;
    r2n2_map *c = calloc(1, sizeof *c);
    if (c) { c->u = calloc(N, sizeof *c->u); c->work = malloc(4 * N * sizeof *c->work); }
    if (!c || !c->u || !c->work) {
        if (c) r2n2_map_free(c);
        return engram_fail(ENGRAM_ENOMEM, "out of memory");
    }
    c->own.free_ctx = r2n2_map_free;
    c->net = net;
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < I; k++) c->u[i] += net->w_ia[i * I + k] * x[k];
    map->n = 2 * N;
    map->eval = r2n2_map_eval;
    map->ctx = c;
    return ENGRAM_OK;
}
