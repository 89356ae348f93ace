/* optim.c: SGD, Adam, RMSProp (PyTorch and TensorFlow 1 variants); see optim.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engram/engram.h"
#include "engram/optim.h"
#include "engram/config.h"

optim_params optim_defaults(optim_kind kind) {
    optim_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    switch (kind) {
    case OPTIM_SGD: p.lr = 0.01; break;
    case OPTIM_ADAM: p.lr = 1e-3; p.beta1 = 0.9; p.beta2 = 0.999; p.eps = 1e-8; break;
    case OPTIM_RMSPROP: p.lr = 1e-3; p.rho = 0.99; p.eps = 1e-8; break;
    case OPTIM_RMSPROP_TF: p.lr = 1e-5; p.rho = 0.9; p.momentum = 0.9; p.eps = 1e-10; break;
    }
    return p;
}

int optim_kind_parse(const char *name, optim_kind *kind) {
    static const struct { const char *name; optim_kind kind; } table[] = {
        {"sgd", OPTIM_SGD}, {"adam", OPTIM_ADAM}, {"rmsprop", OPTIM_RMSPROP},
        {"rmsprop-tf", OPTIM_RMSPROP_TF}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(name, table[i].name) == 0) { *kind = table[i].kind; return ENGRAM_OK; }
    return engram_fail(ENGRAM_EINVAL, "unknown optimiser '%s' (use sgd, adam, rmsprop or rmsprop-tf)",
                       name);
}

/* Reads the learning-rate schedule keys (see optim.h). */
int optim_schedule_config(const config *cfg, optim_params *p) {
    if (!config_has(cfg, "train.lr_schedule")) return ENGRAM_OK;
    const char *k = config_str(cfg, "train.lr_schedule");
    p->lr_schedule = strcmp(k, "step") == 0 ? OPTIM_LR_STEP
                     : strcmp(k, "exp") == 0 ? OPTIM_LR_EXP : OPTIM_LR_CONSTANT;
    p->lr_every = config_real(cfg, "train.lr_every");
    p->lr_gamma = config_real(cfg, "train.lr_gamma");
    p->lr_min = config_real(cfg, "train.lr_min");
    if (p->lr_schedule != OPTIM_LR_CONSTANT && !(p->lr_every > 0))
        return engram_fail(ENGRAM_EINVAL, "train.lr_schedule = %s needs train.lr_every > 0", k);
    return ENGRAM_OK;
}

/* The scheduled learning rate at t steps taken. */
double optim_lr(const optim *o) {
    const optim_params *p = &o->p;
    double lr = p->lr;
    if (p->lr_schedule == OPTIM_LR_STEP) lr *= pow(p->lr_gamma, floor(o->t / p->lr_every));
    else if (p->lr_schedule == OPTIM_LR_EXP) lr *= pow(p->lr_gamma, o->t / p->lr_every);
    if (p->lr_schedule != OPTIM_LR_CONSTANT && lr < p->lr_min) lr = p->lr_min;
    return lr;
}

optim *optim_alloc(const optim_params *p, size_t n) {
    optim *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->p = *p;
    o->n = n;
    o->m = calloc(n ? n : 1, sizeof *o->m);
    o->v = calloc(n ? n : 1, sizeof *o->v);
    if (!o->m || !o->v) { optim_free(o); return NULL; }
    optim_reset(o);
    return o;
}

void optim_free(optim *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o);
}

void optim_reset(optim *o) {
    o->t = 0;
    memset(o->m, 0, o->n * sizeof *o->m);
    /* TF1's RMSProp initialises its mean-square slot with ones. */
    double v0 = o->p.kind == OPTIM_RMSPROP_TF ? 1.0 : 0.0;
    for (size_t i = 0; i < o->n; i++) o->v[i] = v0;
}

/* The TF1 RMSProp update over n parameters. Each line is the same IEEE operations in
 * the same order whatever the vector width (+, *, / and sqrt are correctly rounded, and
 * ISO C mode contracts nothing into FMA), so the clones give the same bits; optim.c is
 * compiled with -fno-math-errno (the Makefile) so that sqrt can be vectorised (its
 * argument v + eps is positive: g is checked finite first). */
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
static void rmsprop_tf_update(size_t n, double rho, double momentum, double eps, double lr,
                              double *restrict w, const double *restrict g,
                              double *restrict m, double *restrict v) {
#ifdef _OPENMP
#pragma omp simd
#endif
    for (size_t i = 0; i < n; i++) {
        v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
        m[i] = momentum * m[i] + lr * g[i] / sqrt(v[i] + eps);
        w[i] -= m[i];
    }
}

int optim_step(optim *o, double *w, double *g) {
    const optim_params *p = &o->p;
    size_t n = o->n;
    if (!engram_all_finite(g, n))
        return engram_fail(ENGRAM_EDIVERGED, "non-finite gradient: training diverged "
                                             "(lower the learning rate or enable clipping)");
    if (p->weight_decay != 0)
        for (size_t i = 0; i < n; i++) g[i] += p->weight_decay * w[i];
    if (p->clip_value > 0)
        for (size_t i = 0; i < n; i++) {
            if (g[i] > p->clip_value) g[i] = p->clip_value;
            else if (g[i] < -p->clip_value) g[i] = -p->clip_value;
        }
    if (p->clip_norm > 0) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += g[i] * g[i];
        double norm = sqrt(s);
        if (norm > p->clip_norm) {
            double k = p->clip_norm / norm;
            for (size_t i = 0; i < n; i++) g[i] *= k;
        }
    }
    double lr = optim_lr(o);
    o->t += 1;
    double *m = o->m, *v = o->v;
    switch (p->kind) {
    case OPTIM_SGD:
        if (p->momentum > 0) {
            for (size_t i = 0; i < n; i++) { m[i] = p->momentum * m[i] + g[i]; w[i] -= lr * m[i]; }
        } else {
            for (size_t i = 0; i < n; i++) w[i] -= lr * g[i];
        }
        break;
    case OPTIM_ADAM: {
        double c1 = 1.0 - pow(p->beta1, o->t), c2 = 1.0 - pow(p->beta2, o->t);
        for (size_t i = 0; i < n; i++) {
            m[i] = p->beta1 * m[i] + (1 - p->beta1) * g[i];
            v[i] = p->beta2 * v[i] + (1 - p->beta2) * g[i] * g[i];
            w[i] -= lr * (m[i] / c1) / (sqrt(v[i] / c2) + p->eps);
        }
        break;
    }
    case OPTIM_RMSPROP:
        for (size_t i = 0; i < n; i++) {
            v[i] = p->rho * v[i] + (1 - p->rho) * g[i] * g[i];
            double step = g[i] / (sqrt(v[i]) + p->eps);
            if (p->momentum > 0) { m[i] = p->momentum * m[i] + step; step = m[i]; }
            w[i] -= lr * step;
        }
        break;
    case OPTIM_RMSPROP_TF:
        rmsprop_tf_update(n, p->rho, p->momentum, p->eps, lr, w, g, m, v);
        break;
    }
    return ENGRAM_OK;
}
