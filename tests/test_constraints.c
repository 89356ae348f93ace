/* test_constraints.c: Dale's law, connectivity masks, fixed weights and no autapses
 * (constraints.h) through training with every rate-RNN rule, and the BPTT gradient
 * against central finite differences with the constraints on. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engram/cognitive.h"
#include "engram/config.h"
#include "engram/constraints.h"
#include "engram/engram.h"
#include "engram/learner.h"
#include "engram/npy.h"
#include "engram/rng.h"
#include "engram/rnn.h"
#include "testhelp.h"

static config *cons_config(void) {
    static const cfg_key *const tables[] = {config_common_keys, learner_keys, rnn_constraint_keys, NULL};
    return config_alloc(tables);
}

static void set(config *c, const char *k, const char *v) {
    if (config_set_value(c, k, v, "test") != ENGRAM_OK) printf("# cannot set %s: %s\n", k, engram_error());
}

/* Trains `rule` on the decision task for 40 updates with Dale (E/I 0.75), no autapses,
 * a 50 % recurrent mask, an input mask file and a fixed input bias, checking after
 * every update that no sign flipped, every masked weight is exactly zero and the fixed
 * block is unchanged. */
static void check_rule(const char *rule) {
    size_t I = 3, N = 16, O = 3;
    /* input mask: unit i sees input (i mod 3) only */
    double mask_in[16 * 3];
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < I; j++) mask_in[i * I + j] = j == i % 3;
    size_t sh[2] = {N, I};
    const char *mpath = "/tmp/engram_test_mask_in.npy";
    npy_write(mpath, mask_in, 2, sh);
    config *c = cons_config();
    set(c, "model.n_rec", "16");
    set(c, "model.alpha", "0.3");
    set(c, "model.dale", "true");
    set(c, "model.ei_ratio", "0.75");
    set(c, "model.autapses", "false");
    set(c, "model.rec_density", "0.5");
    set(c, "model.mask_in", mpath);
    set(c, "model.fixed", "b_rec");
    set(c, "train.batch", "8");
    set(c, "train.lr", "0.05"); /* large steps, so that unconstrained weights would cross zero */
    const learner_type *lt = learner_type_find(rule);
    learner *l = lt ? lt->alloc(c, I, O, 22, 5) : NULL;
    CHECK(l != NULL, "%s: learner with constraints allocates", rule);
    if (!l) { config_free(c); return; }
    ckpt_blob bl[8];
    lt->blobs(l, bl, 8);
    const double *p = bl[0].data;
    size_t P = bl[0].size / sizeof(double), NE = 12;
    double *p0 = malloc(P * sizeof *p0);
    memcpy(p0, p, P * sizeof *p0);
    size_t bad0 = 0, zeros = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double w = p[i * N + j];
            bad0 += j < NE ? w < 0 : w > 0;
            zeros += w == 0;
        }
    CHECK(bad0 == 0 && zeros >= N, "%s: initial W obeys Dale (%zu wrong signs) with %zu zeros (masked)", rule, bad0, zeros);
    cog_params cp = cog_defaults(COG_DECISION);
    task *tk = cog_task_alloc(&cp);
    trial_batch *b = trial_batch_alloc(8, tk);
    gsl_rng *r = rng_stream_alloc(5, "data", 0);
    size_t flips = 0, masked_nonzero = 0, fixed_moved = 0, autapse = 0, in_mask = 0;
    double moved = 0, extra[LEARNER_MAX_EXTRA] = {NAN, NAN, NAN, NAN};
    int st = ENGRAM_OK;
    for (int step = 0; step < 40 && st == ENGRAM_OK; step++) {
        trial_batch_fill(b, tk, r);
        double loss;
        st = lt->train(l, b, &loss, extra);
        for (size_t i = 0; i < N; i++) {
            for (size_t j = 0; j < N; j++) {
                double w = p[i * N + j], w0 = p0[i * N + j];
                if (w0 != 0 && ((w0 > 0 && w < 0) || (w0 < 0 && w > 0))) flips++;
                if ((j < NE && w < 0) || (j >= NE && w > 0)) flips++;
                if (w0 == 0 && w != 0) masked_nonzero++;
                if (i == j && w != 0) autapse++;
            }
            for (size_t j = 0; j < I; j++)
                if (mask_in[i * I + j] == 0 && p[N * N + i * I + j] != 0) in_mask++;
            if (p[N * N + N * I + i] != p0[N * N + N * I + i]) fixed_moved++;
        }
        for (size_t k = 0; k < O * N; k++) {
            size_t j = k % N;
            double v = p[N * N + N * I + N + k];
            if ((j < NE && v < 0) || (j >= NE && v > 0)) flips++;
        }
    }
    for (size_t k = 0; k < P; k++) moved += fabs(p[k] - p0[k]);
    CHECK(st == ENGRAM_OK, "%s: 40 constrained updates run", rule);
    CHECK(moved > 1e-3, "%s: the free weights did move (sum |dw| %.3g)", rule, moved);
    CHECK(flips == 0, "%s: no Dale sign flipped in W or V over 40 updates (%zu)", rule, flips);
    CHECK(masked_nonzero == 0 && in_mask == 0, "%s: masked recurrent and input connections stay exactly 0", rule);
    CHECK(autapse == 0, "%s: no autapse appears", rule);
    CHECK(fixed_moved == 0, "%s: the fixed block b_rec is bitwise unchanged", rule);
    if (!strcmp(rule, "fa") || !strcmp(rule, "rflo"))
        CHECK(isfinite(extra[0]) && extra[0] > 0 && extra[0] < 90,
              "%s: grad_angle_deg still reported with constraints on: %.2f", rule, extra[0]);
    free(p0);
    gsl_rng_free(r);
    trial_batch_free(b);
    task_free(tk);
    lt->free(l);
    config_free(c);
    remove(mpath);
}

static void test_rules(void) {
    check_rule("bptt");
    check_rule("fa");
    check_rule("rflo");
    check_rule("esn");
}

/* BPTT through a constrained network against central differences over the trained
 * parameters; the masked and fixed parameters get exactly zero. */
static void test_gradient(void) {
    size_t I = 3, N = 10, O = 3;
    rnn *net = rnn_alloc(I, N, O, 0.4, RNN_XENT);
    gsl_rng *r = rng_stream_alloc(21, "weights", 0);
    rnn_init(net, r, 1.2, 1.0);
    rnn_constraint_spec s = rnn_constraint_none();
    s.dale = 1; s.ei_ratio = 0.7; s.autapses = 0; s.rec_density = 0.6; s.fixed = RNN_FIX_W_IN;
    rnn_constraints *c = rnn_constraints_alloc(net, &s, r);
    rnn_constraints_init(c, net);
    CHECK(rnn_constraints_violations(c, net->params) == 0, "constrained initial weights: no violation");
    cog_params cp = cog_defaults(COG_DECISION);
    cp.stimulus = 600;
    task *tk = cog_task_alloc(&cp);
    trial_batch *b = trial_batch_alloc(3, tk);
    trial_batch_fill(b, tk, r);
    rnn_work *w = rnn_work_alloc(net, 3, tk->t_max);
    double *wt_rec = malloc(N * N * sizeof(double)), *wt_out = malloc(N * O * sizeof(double));
    rnn_transpose_weights(net, wt_rec, wt_out);
    rnn_forward(net, b, w);
    rnn_loss(net, b, w);
    rnn_backward(net, b, w, wt_out, wt_rec, 0, net->grads);
    rnn_constraints_grad(c, net->grads);
    double asym = 0, eps = 1e-5;
    size_t counted = 0, zero_ok = 1, n_free = 0;
    for (size_t k = 0; k < net->n_params; k++) {
        if (c->free[k] == 0) { zero_ok &= net->grads[k] == 0; continue; }
        n_free++;
        double keep = net->params[k];
        net->params[k] = keep + eps;
        rnn_forward(net, b, w);
        double lp = rnn_loss(net, b, w);
        net->params[k] = keep - eps;
        rnn_forward(net, b, w);
        double lm = rnn_loss(net, b, w);
        net->params[k] = keep;
        double fd = (lp - lm) / (2 * eps), an = net->grads[k];
        if (fabs(fd) + fabs(an) > 0) { asym += fabs(fd - an) / (fabs(fd) + fabs(an)); counted++; }
    }
    asym /= (double)(counted ? counted : 1);
    CHECK(asym < 1e-6 && counted > n_free / 2,
          "bptt with Dale, mask, no autapses, fixed w_in vs finite differences over %zu trained "
          "parameters: mean abs asymmetry %.3g", n_free, asym);
    CHECK(zero_ok, "masked and fixed parameters receive exactly zero gradient");
    /* projection: a wrong-signed, a masked and a moved fixed entry are repaired */
    double *pp = net->params;
    size_t e_idx = 0 * N + 1, i_idx = 0 * N + (N - 1); /* (0,1) from an E unit, (0,N-1) from an I unit */
    if (c->free[e_idx] == 0) e_idx = 2 * N + 0;
    pp[e_idx] = -0.3;
    pp[i_idx] = c->free[i_idx] ? 0.3 : pp[i_idx];
    pp[0] = 0.7;             /* autapse W_00 */
    pp[N * N] += 1.0;        /* fixed w_in */
    CHECK(rnn_constraints_violations(c, pp) >= 3, "violations counted (%zu)", rnn_constraints_violations(c, pp));
    rnn_constraints_project(c, pp);
    CHECK(rnn_constraints_violations(c, pp) == 0 && pp[0] == 0 && pp[e_idx] == 0,
          "projection restores every constraint");
    rnn_constraint_spec bad = rnn_constraint_none();
    bad.ei_ratio = 1.5;
    CHECK(rnn_constraints_alloc(net, &bad, r) == NULL, "ei_ratio > 1 rejected: %s", engram_error());
    double m2[10 * 3];
    for (size_t k = 0; k < 30; k++) m2[k] = 0.5;
    bad = rnn_constraint_none();
    bad.mask_in = m2;
    CHECK(rnn_constraints_alloc(net, &bad, r) == NULL, "a non-0/1 mask rejected: %s", engram_error());
    free(wt_rec); free(wt_out);
    rnn_work_free(w);
    trial_batch_free(b);
    task_free(tk);
    rnn_constraints_free(c);
    gsl_rng_free(r);
    rnn_free(net);
}

/* Without constraint keys the learners are unchanged: no table is active. */
static void test_inactive(void) {
    rnn *net = rnn_alloc(2, 4, 2, 1.0, RNN_MSE);
    rnn_constraint_spec s = rnn_constraint_none();
    rnn_constraints *c = rnn_constraints_alloc(net, &s, NULL);
    CHECK(c && !c->active, "the unconstrained spec builds an inactive table");
    rnn_constraints_free(c);
    rnn_free(net);
}

static const test_case tests[] = {
    {"gradient", test_gradient},
    {"rules", test_rules},
    {"inactive", test_inactive},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
