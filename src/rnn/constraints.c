/* constraints.c: Dale's law, connectivity masks, fixed weights and no autapses for the
 * rate RNN (constraints.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engram/constraints.h"
#include "engram/engram.h"
#include "engram/npy.h"

const cfg_key rnn_constraint_keys[] = {
    {"model.dale", CFG_BOOL, "false", 0, 0, NULL, "Dale's law: each unit's outgoing weights (W, V columns) keep its sign"},
    {"model.ei_ratio", CFG_REAL, "0.8", 0, 1, NULL, "Dale: fraction of excitatory units (the first ones)"},
    {"model.autapses", CFG_BOOL, "true", 0, 0, NULL, "false: W_ii = 0"},
    {"model.rec_density", CFG_REAL, "1", 0, 1, NULL, "random recurrent connectivity mask, connection probability (1 = full)"},
    {"model.mask_in", CFG_STR, "", 0, 0, NULL, ".npy (N, I) of 0/1: input connections kept (empty = all)"},
    {"model.mask_rec", CFG_STR, "", 0, 0, NULL, ".npy (N, N) of 0/1: recurrent connections kept (empty = all)"},
    {"model.mask_out", CFG_STR, "", 0, 0, NULL, ".npy (O, N) of 0/1: output connections kept (empty = all)"},
    {"model.fixed", CFG_STR, "", 0, 0, NULL, "comma-separated untrained blocks: w_rec, w_in, b_rec, w_out, b_out"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

rnn_constraint_spec rnn_constraint_none(void) {
    rnn_constraint_spec s;
    memset(&s, 0, sizeof s);
    s.ei_ratio = 0.8;
    s.autapses = 1;
    s.rec_density = 1;
    return s;
}

void rnn_constraints_free(rnn_constraints *c) {
    if (!c) return;
    free(c->free);
    free(c->sign);
    free(c->fixed_values);
    free(c);
}

/* Checks that a mask holds only 0 and 1. */
static int mask_ok(const double *m, size_t n) {
    for (size_t k = 0; k < n; k++) if (m[k] != 0 && m[k] != 1) return 0;
    return 1;
}

rnn_constraints *rnn_constraints_alloc(const rnn *net, const rnn_constraint_spec *s, gsl_rng *r) {
    size_t N = net->n_rec, I = net->n_in, O = net->n_out, P = net->n_params;
    if (!(s->ei_ratio >= 0 && s->ei_ratio <= 1) || !(s->rec_density >= 0 && s->rec_density <= 1)) {
        engram_fail(ENGRAM_EINVAL, "constraints: model.ei_ratio and model.rec_density must lie in [0, 1]");
        return NULL;
    }
    if ((s->mask_in && !mask_ok(s->mask_in, N * I)) || (s->mask_rec && !mask_ok(s->mask_rec, N * N)) ||
        (s->mask_out && !mask_ok(s->mask_out, O * N))) {
        engram_fail(ENGRAM_EINVAL, "constraints: connectivity masks must hold only 0 and 1");
        return NULL;
    }
    rnn_constraints *c = calloc(1, sizeof *c);
    if (!c) { engram_fail(ENGRAM_ENOMEM, "constraints: out of memory"); return NULL; }
    c->n_params = P;
    c->free = malloc(P * sizeof *c->free);
    c->sign = calloc(P, sizeof *c->sign);
    c->fixed_values = calloc(P, sizeof *c->fixed_values);
    if (!c->free || !c->sign || !c->fixed_values) {
        rnn_constraints_free(c);
        engram_fail(ENGRAM_ENOMEM, "constraints: out of memory");
        return NULL;
    }
    for (size_t k = 0; k < P; k++) c->free[k] = 1;
    size_t o_w = 0, o_u = N * N, o_b = o_u + N * I, o_v = o_b + N, o_c = o_v + O * N;
    c->n_exc = (size_t)floor(s->ei_ratio * (double)N + 0.5);
    if (s->dale) {
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) c->sign[o_w + i * N + j] = j < c->n_exc ? 1 : -1;
        for (size_t k = 0; k < O; k++)
            for (size_t j = 0; j < N; j++) c->sign[o_v + k * N + j] = j < c->n_exc ? 1 : -1;
    }
    for (size_t k = 0; k < N * N; k++) {
        int keep = !s->mask_rec || s->mask_rec[k] != 0;
        if (s->rec_density < 1 && gsl_rng_uniform(r) >= s->rec_density) keep = 0;
        if (!s->autapses && k / N == k % N) keep = 0;
        if (!keep) c->free[o_w + k] = 0;
    }
    if (s->mask_in) for (size_t k = 0; k < N * I; k++) if (s->mask_in[k] == 0) c->free[o_u + k] = 0;
    if (s->mask_out) for (size_t k = 0; k < O * N; k++) if (s->mask_out[k] == 0) c->free[o_v + k] = 0;
    /* masked entries are held at zero: mark them with sign 2 (zero), fixed with 3 */
    for (size_t k = 0; k < P; k++) if (c->free[k] == 0) c->sign[k] = 2;
    struct { unsigned bit; size_t off, n; } blocks[5] = {
        {RNN_FIX_W_REC, o_w, N * N}, {RNN_FIX_W_IN, o_u, N * I}, {RNN_FIX_B_REC, o_b, N},
        {RNN_FIX_W_OUT, o_v, O * N}, {RNN_FIX_B_OUT, o_c, O},
    };
    for (size_t b = 0; b < 5; b++)
        if (s->fixed & blocks[b].bit)
            for (size_t k = blocks[b].off; k < blocks[b].off + blocks[b].n; k++)
                if (c->sign[k] != 2) { c->free[k] = 0; c->sign[k] = 3; }
    c->active = 0;
    for (size_t k = 0; k < P; k++) if (c->free[k] == 0 || c->sign[k] != 0) c->active = 1;
    return c;
}

void rnn_constraints_init(rnn_constraints *c, rnn *net) {
    size_t N = net->n_rec, O = net->n_out, NE = c->n_exc, NI = N - NE;
    double *p = net->params;
    int dale = 0;
    for (size_t k = 0; k < N * N && !dale; k++) dale = c->sign[k] == 1 || c->sign[k] == -1;
    if (dale) {
        double norm0 = 0, norm1 = 0, scale_i = NI > 0 && NE > 0 ? (double)NE / (double)NI : 1;
        for (size_t k = 0; k < N * N; k++) norm0 += p[k] * p[k];
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                double w = fabs(p[i * N + j]);
                p[i * N + j] = j < NE ? w : -scale_i * w;
            }
        for (size_t k = 0; k < N * N; k++) if (c->sign[k] == 2) p[k] = 0;
        for (size_t k = 0; k < N * N; k++) norm1 += p[k] * p[k];
        if (norm1 > 0)
            for (size_t k = 0; k < N * N; k++) p[k] *= sqrt(norm0 / norm1);
        double *v = net->w_out;
        for (size_t k = 0; k < O; k++)
            for (size_t j = 0; j < N; j++) v[k * N + j] = j < NE ? fabs(v[k * N + j]) : -fabs(v[k * N + j]);
    }
    for (size_t k = 0; k < c->n_params; k++) {
        if (c->sign[k] == 2) p[k] = 0;
        c->fixed_values[k] = p[k];
    }
}

void rnn_constraints_grad(const rnn_constraints *c, double *grads) {
    if (!c || !c->active) return;
    for (size_t k = 0; k < c->n_params; k++) grads[k] *= c->free[k];
}

void rnn_constraints_project(const rnn_constraints *c, double *params) {
    if (!c || !c->active) return;
    for (size_t k = 0; k < c->n_params; k++) {
        switch (c->sign[k]) {
        case 1: if (params[k] < 0) params[k] = 0; break;
        case -1: if (params[k] > 0) params[k] = 0; break;
        case 2: params[k] = 0; break;
        case 3: params[k] = c->fixed_values[k]; break;
        default: break;
        }
    }
}

size_t rnn_constraints_violations(const rnn_constraints *c, const double *params) {
    size_t bad = 0;
    for (size_t k = 0; k < c->n_params; k++) {
        switch (c->sign[k]) {
        case 1: bad += params[k] < 0; break;
        case -1: bad += params[k] > 0; break;
        case 2: bad += params[k] != 0; break;
        case 3: bad += params[k] != c->fixed_values[k]; break;
        default: break;
        }
    }
    return bad;
}

/* Reads one mask file of the given shape into *out (NULL when the key is empty). */
static int read_mask(const config *cfg, const char *key, size_t rows, size_t cols, double **out) {
    *out = NULL;
    if (!config_has(cfg, key) || !config_str(cfg, key)[0]) return ENGRAM_OK;
    const char *path = config_str(cfg, key);
    size_t nd, sh[NPY_MAX_DIMS];
    int st = npy_read(path, out, &nd, sh);
    if (st != ENGRAM_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", engram_error());
        return engram_fail(st, "%s: %s", key, why);
    }
    if (nd != 2 || sh[0] != rows || sh[1] != cols) {
        free(*out);
        *out = NULL;
        return engram_fail(ENGRAM_EINVAL, "%s: %s must have shape (%zu, %zu)", key, path, rows, cols);
    }
    return ENGRAM_OK;
}

int rnn_constraint_spec_read(const config *cfg, size_t n_in, size_t n_rec, size_t n_out,
                             rnn_constraint_spec *s, double *mask_store[3]) {
    *s = rnn_constraint_none();
    mask_store[0] = mask_store[1] = mask_store[2] = NULL;
    if (config_has(cfg, "model.dale")) s->dale = config_bool(cfg, "model.dale");
    if (config_has(cfg, "model.ei_ratio")) s->ei_ratio = config_real(cfg, "model.ei_ratio");
    if (config_has(cfg, "model.autapses")) s->autapses = config_bool(cfg, "model.autapses");
    if (config_has(cfg, "model.rec_density")) s->rec_density = config_real(cfg, "model.rec_density");
    int st = read_mask(cfg, "model.mask_in", n_rec, n_in, &mask_store[0]);
    if (st == ENGRAM_OK) st = read_mask(cfg, "model.mask_rec", n_rec, n_rec, &mask_store[1]);
    if (st == ENGRAM_OK) st = read_mask(cfg, "model.mask_out", n_out, n_rec, &mask_store[2]);
    if (st != ENGRAM_OK) {
        for (int k = 0; k < 3; k++) { free(mask_store[k]); mask_store[k] = NULL; }
        return st;
    }
    s->mask_in = mask_store[0];
    s->mask_rec = mask_store[1];
    s->mask_out = mask_store[2];
    if (config_has(cfg, "model.fixed")) {
        static const struct { const char *name; unsigned bit; } names[5] = {
            {"w_rec", RNN_FIX_W_REC}, {"w_in", RNN_FIX_W_IN}, {"b_rec", RNN_FIX_B_REC},
            {"w_out", RNN_FIX_W_OUT}, {"b_out", RNN_FIX_B_OUT},
        };
        const char *p = config_str(cfg, "model.fixed");
        while (*p) {
            while (*p == ' ' || *p == ',') p++;
            if (!*p) break;
            size_t len = strcspn(p, ", ");
            int found = 0;
            for (int k = 0; k < 5; k++)
                if (strlen(names[k].name) == len && !strncmp(p, names[k].name, len)) {
                    s->fixed |= names[k].bit;
                    found = 1;
                }
            if (!found) {
                for (int k = 0; k < 3; k++) { free(mask_store[k]); mask_store[k] = NULL; }
                return engram_fail(ENGRAM_EINVAL, "model.fixed: unknown block '%.*s' (w_rec, w_in, "
                                   "b_rec, w_out, b_out)", (int)len, p);
            }
            p += len;
        }
    }
    return ENGRAM_OK;
}
