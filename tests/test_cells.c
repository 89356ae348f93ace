/* test_cells.c: the gated sequence learner (cells.h): the LSTM + readout gradient
 * against central finite differences (both losses, masked steps, items of different
 * lengths), closed-loop steps against the batched forward pass, byte identity of
 * training with 1 and 2 threads, and a checkpoint round trip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/cells.h"
#include "engram/cognitive.h"
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/learner.h"
#include "engram/rng.h"
#include "engram/run.h"
#include "testhelp.h"

/* A batch of B items of lengths T, T-2, ... with random inputs, targets and masks. */
static trial_batch *make_batch(size_t B, size_t T, size_t I, size_t O, rnn_loss_kind loss, uint64_t seed) {
    task t = {NULL, I, O, T, NULL};
    trial_batch *b = trial_batch_alloc(B, &t);
    gsl_rng *r = rng_stream_alloc(seed, "test", 0);
    for (size_t i = 0; i < B; i++) {
        b->len[i] = T - 2 * (i % 2);
        for (size_t s = 0; s < b->len[i]; s++) {
            for (size_t k = 0; k < I; k++) b->x[(i * T + s) * I + k] = gsl_rng_uniform(r) * 2.385 - 1.1;
            size_t cls = gsl_rng_uniform_int(r, O);
            for (size_t k = 0; k < O; k++)
                b->y[(i * T + s) * O + k] = loss == RNN_XENT ? (k == cls) : gsl_rng_uniform(r) - 0.4;
            b->mask[i * T + s] = s % 3 != 1; /* some steps do not count */
        }
    }
    gsl_rng_free(r);
    return b;
}

/* The cells under test: the LSTM variants and the GRU. */
typedef struct { const char *name; gated_kind kind; lstm_variant var; } cell_case;
static const cell_case cases[] = {
    {"lstm", GATED_LSTM, {0, 0}},
    {"lstm-peephole", GATED_LSTM, {1, 0}},
    {"lstm-cifg", GATED_LSTM, {0, 1}},
    {"lstm-peephole-cifg", GATED_LSTM, {1, 1}},
    {"gru", GATED_GRU, {0, 0}},
};

static void test_finite_differences(void) {
    size_t I = 3, H = 5, O = 3, B = 3, T = 6;
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
    for (int lk = 0; lk < 2; lk++) {
        const cell_case *cc = &cases[ci];
        const char *cn = cc->name;
        rnn_loss_kind loss = lk ? RNN_MSE : RNN_XENT;
        gated_net *g = gated_alloc(cc->kind, &cc->var, I, H, O, loss, 1.0, B, T, 41 + (uint64_t)lk);
        /* non-zero biases, so every parameter is exercised */
        gsl_rng *r = rng_stream_alloc(9, "test", 1);
        for (size_t k = 0; k < g->n_params; k++) g->params[k] += 0.1 * (gsl_rng_uniform(r) - 0.5);
        gsl_rng_free(r);
        trial_batch *b = make_batch(B, T, I, O, loss, 7 + (uint64_t)lk);
        gated_loss_grad(g, b);
        double *an = malloc(g->n_params * sizeof *an);
        memcpy(an, g->grads, g->n_params * sizeof *an);
        double asym = 0, eps = 1e-5, worst = 0;
        size_t counted = 0;
        for (size_t k = 0; k < g->n_params; k++) {
            double keep = g->params[k];
            g->params[k] = keep + eps;
            double lp = gated_loss(g, b);
            g->params[k] = keep - eps;
            double lm = gated_loss(g, b);
            g->params[k] = keep;
            double fd = (lp - lm) / (2 * eps);
            if (fabs(fd) + fabs(an[k]) > 0) {
                double a = fabs(fd - an[k]) / (fabs(fd) + fabs(an[k]));
                asym += a; counted++;
                if (fabs(fd - an[k]) > worst) worst = fabs(fd - an[k]);
            }
        }
        asym /= (double)(counted ? counted : 1);
        /* the coupled cell's forget columns take no part: (I + H + 1) H parameters
         * with a zero gradient both ways */
        size_t dead = cc->var.coupled ? (I + H + 1) * H : 0;
        CHECK(asym < 1e-6 && counted > (g->n_params - dead) * 9 / 10,
              "%s (%s) vs central differences, all %zu parameters: mean abs asymmetry %.3g, max |diff| %.3g",
              cn, lk ? "mse" : "xent", g->n_params, asym, worst);
        if (cc->var.coupled) {
            /* second oracle: f = 1 - i leaves W_x, W_h, b's forget columns unused */
            double mx = 0;
            for (size_t row = 0; row < I + H + 1; row++)
                for (size_t u = 0; u < H; u++) mx = fmax(mx, fabs(an[row * 4 * H + 2 * H + u]));
            CHECK(mx == 0, "%s (%s): the forget-gate columns' gradient is exactly zero (max %.3g)",
                  cn, lk ? "mse" : "xent", mx);
        }
        if (cc->var.peephole && !cc->var.coupled) {
            /* second oracle: with zero peepholes the cell is the standard one, loss and
             * gradient bit for bit (the same seed draws the same other weights) */
            gated_net *s0 = gated_alloc(GATED_LSTM, NULL, I, H, O, loss, 1.0, B, T, 41 + (uint64_t)lk);
            size_t PS = lstm_n_params(I, H), rest = g->n_params - PS - 3 * H;
            memcpy(s0->params, g->params, PS * sizeof(double));
            memcpy(s0->params + PS, g->params + PS + 3 * H, rest * sizeof(double));
            memset(g->core.w_p, 0, 3 * H * sizeof(double));
            double l1 = gated_loss_grad(g, b), l0 = gated_loss_grad(s0, b);
            int same = l1 == l0 && !memcmp(s0->grads, g->grads, PS * sizeof(double)) &&
                       !memcmp(s0->grads + PS, g->grads + PS + 3 * H, rest * sizeof(double));
            CHECK(same, "%s (%s): zero peepholes give the standard cell's loss and gradient bit for bit",
                  cn, lk ? "mse" : "xent");
            gated_free(s0);
        }
        /* closed-loop steps reproduce the batched forward pass of item 0 */
        gated_loss(g, b);
        double out[3], err = 0;
        gated_reset(g);
        for (size_t s = 0; s < b->len[0]; s++) {
            gated_step(g, b->x + s * I, out);
            for (size_t k = 0; k < O; k++) err = fmax(err, fabs(out[k] - g->o[(s * B + 0) * O + k]));
        }
        CHECK(err < 1e-12, "%s (%s): step() equals the batched forward pass: max |diff| %.3g",
              cn, lk ? "mse" : "xent", err);
        free(an);
        trial_batch_free(b);
        gated_free(g);
    }
}

static config *cells_config(void) {
    static const cfg_key *const tables[] = {config_common_keys, learner_keys, cells_keys, NULL};
    config *c = config_alloc(tables);
    /* large enough (T B H 4H >= LSTM_PARALLEL_MIN) that the recurrence runs threaded */
    config_set_value(c, "model.n_rec", "48", "test");
    config_set_value(c, "train.batch", "32", "test");
    return c;
}

/* Trains the learner on decision trials for n updates with nt threads; returns the
 * parameter block (malloc'd). */
static double *train_run(const learner_type *lt, const char *set, int nt, size_t n, size_t *P) {
#ifdef _OPENMP
    omp_set_num_threads(nt);
#else
    (void)nt;
#endif
    config *c = cells_config();
    if (set) config_set(c, set, "test");
    cog_params cp = cog_defaults(COG_DECISION);
    task *tk = cog_task_alloc(&cp);
    learner *l = lt->alloc(c, tk->n_in, tk->n_out, tk->t_max, 3);
    trial_batch *b = trial_batch_alloc(32, tk);
    gsl_rng *r = rng_stream_alloc(3, "data", 0);
    double loss;
    for (size_t s = 0; s < n; s++) {
        trial_batch_fill(b, tk, r);
        lt->train(l, b, &loss, NULL);
    }
    ckpt_blob bl[4];
    lt->blobs(l, bl, 4);
    *P = bl[0].size / sizeof(double);
    double *p = malloc(bl[0].size);
    memcpy(p, bl[0].data, bl[0].size);
    gsl_rng_free(r);
    trial_batch_free(b);
    lt->free(l);
    task_free(tk);
    config_free(c);
    return p;
}

static void test_threads(void) {
    const learner_type *lts[3] = {&learner_lstm, &learner_lstm, &learner_gru};
    const char *sets[3] = {NULL, "cells.peephole=true", NULL};
    for (int k = 0; k < 3; k++) {
        size_t P1, P2;
        double *a = train_run(lts[k], sets[k], 1, 10, &P1), *b = train_run(lts[k], sets[k], 2, 10, &P2);
        CHECK(P1 == P2 && !memcmp(a, b, P1 * sizeof(double)),
              "%s%s%s: 10 updates with 1 and with 2 threads give byte-identical parameters",
              lts[k]->name, sets[k] ? " " : "", sets[k] ? sets[k] : "");
        free(a);
        free(b);
    }
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
}

/* Saves after 5 updates, loads into a fresh learner, continues: equals 10 straight. */
static void test_checkpoint(void) {
    config *c = cells_config();
    cog_params cp = cog_defaults(COG_DECISION);
    task *tk = cog_task_alloc(&cp);
    trial_batch *b = trial_batch_alloc(32, tk);
    learner *l1 = learner_lstm.alloc(c, tk->n_in, tk->n_out, tk->t_max, 3);
    gsl_rng *r = rng_stream_alloc(3, "data", 0);
    double loss;
    for (int s = 0; s < 5; s++) { trial_batch_fill(b, tk, r); learner_lstm.train(l1, b, &loss, NULL); }
    ckpt_blob bl[4];
    size_t nb = learner_lstm.blobs(l1, bl, 4);
    const char *path = "/tmp/engram_test_cells.ckpt";
    int st = ckpt_save(path, "test", 5, bl, nb);
    learner *l2 = learner_lstm.alloc(c, tk->n_in, tk->n_out, tk->t_max, 99); /* other weights */
    ckpt_blob bl2[4];
    learner_lstm.blobs(l2, bl2, 4);
    long step = 0;
    if (st == ENGRAM_OK) st = ckpt_load(path, "test", &step, bl2, nb);
    CHECK(st == ENGRAM_OK && step == 5, "lstm: checkpoint blobs (params, Adam state) save and load");
    gsl_rng *r2 = rng_stream_alloc(3, "data", 1);
    gsl_rng_memcpy(r2, r);
    for (int s = 0; s < 5; s++) {
        trial_batch_fill(b, tk, r); learner_lstm.train(l1, b, &loss, NULL);
        trial_batch_fill(b, tk, r2); learner_lstm.train(l2, b, &loss, NULL);
    }
    CHECK(!memcmp(bl[0].data, bl2[0].data, bl[0].size), "lstm: a resumed learner continues byte-identically");
    remove(path);
    gsl_rng_free(r);
    gsl_rng_free(r2);
    learner_lstm.free(l1);
    learner_lstm.free(l2);
    trial_batch_free(b);
    task_free(tk);
    config_free(c);
}

static void test_errors(void) {
    config *c = cells_config();
    config_set(c, "cells.coupled=true", "test");
    CHECK(learner_gru.alloc(c, 3, 3, 22, 1) == NULL, "gru refuses the LSTM variants: %s", engram_error());
    config_free(c);
    CHECK(gated_alloc(GATED_GRU, NULL, 0, 4, 2, RNN_XENT, 1, 1, 1, 1) == NULL, "zero inputs rejected: %s", engram_error());
}

static const test_case tests[] = {
    {"finite_differences", test_finite_differences},
    {"threads", test_threads},
    {"checkpoint", test_checkpoint},
    {"errors", test_errors},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
