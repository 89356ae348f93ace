/* test_tasks.c: invariants of the cognitive tasks' trial generators (cognitive.h):
 * epoch timing, the distribution of coherences and conditions, the correct answer,
 * targets and masks, and the error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engram/cognitive.h"
#include "engram/engram.h"
#include "engram/rng.h"
#include "testhelp.h"

typedef struct trial_buf {
    task *t;
    double *x, *y, *m;
} trial_buf;

static trial_buf buf_alloc(const cog_params *p) {
    trial_buf b = {cog_task_alloc(p), NULL, NULL, NULL};
    if (b.t) {
        b.x = malloc(b.t->t_max * b.t->n_in * sizeof(double));
        b.y = malloc(b.t->t_max * b.t->n_out * sizeof(double));
        b.m = malloc(b.t->t_max * sizeof(double));
    }
    return b;
}

static void buf_free(trial_buf *b) {
    task_free(b->t);
    free(b->x);
    free(b->y);
    free(b->m);
}

static size_t buf_trial(trial_buf *b, gsl_rng *r, cog_info *in) {
    memset(b->x, 0, b->t->t_max * b->t->n_in * sizeof(double));
    memset(b->y, 0, b->t->t_max * b->t->n_out * sizeof(double));
    memset(b->m, 0, b->t->t_max * sizeof(double));
    return cog_trial(b->t, r, b->x, b->y, b->m, in);
}

/* Checks the fixation input, targets and mask of a trial: fixation 1 on [0, t_resp),
 * 0 after; target one-hot `answer` with mask 1 on [t_resp, T); before t_resp mask 0
 * (response) or 1 with target class 0 (all). Returns 1 if all hold. */
static int layout_ok(const trial_buf *b, const cog_info *in, size_t T, int mask_all) {
    size_t I = b->t->n_in, O = b->t->n_out;
    for (size_t t = 0; t < T; t++) {
        if (b->x[t * I] != (t < in->t_resp ? 1.0 : 0.0)) return 0;
        int resp = t >= in->t_resp;
        if (b->m[t] != (resp || mask_all ? 1.0 : 0.0)) return 0;
        for (size_t k = 0; k < O; k++) {
            double want = resp ? (k == (size_t)in->answer) : (mask_all && k == 0);
            if (b->y[t * O + k] != want) return 0;
        }
    }
    return 1;
}

/* Binomial count check: |k - n p| within 5 standard deviations. */
static int binom_ok(double k, double n, double p) {
    return fabs(k - n * p) <= 5 * sqrt(n * p * (1 - p)) + 1e-9;
}

static void test_steps(void) {
    CHECK(cog_steps(2000, 100) == 20, "2000 ms at dt 100 is 20 steps");
    CHECK(cog_steps(150, 100) == 2 && cog_steps(149, 100) == 1, "round to nearest step");
    CHECK(cog_steps(10, 100) == 1, "a positive epoch lasts at least one step");
    CHECK(cog_steps(0, 100) == 0, "an empty epoch lasts no step");
    cog_kind k;
    CHECK(cog_kind_parse("mante", &k) == 0 && k == COG_MANTE, "family names parse");
    CHECK(cog_kind_parse("nope", &k) == -1, "unknown family rejected");
}

static void test_decision(void) {
    cog_params p = cog_defaults(COG_DECISION);
    p.sigma = 0;
    trial_buf b = buf_alloc(&p);
    CHECK(b.t && b.t->n_in == 3 && b.t->n_out == 3 && b.t->t_max == 22,
          "decision: I = O = 3, t_max = 1 + 20 + 1 = 22 (NeuroGym timing)");
    gsl_rng *r = rng_stream_alloc(7, "test", 0);
    double cnt[5] = {0}, n2 = 0;
    int ok_layout = 1, ok_stim = 1, ok_ans = 1, ok_T = 1;
    size_t n = 5000;
    for (size_t i = 0; i < n; i++) {
        cog_info in;
        size_t T = buf_trial(&b, r, &in);
        ok_T &= T == 22 && in.t_stim == 1 && in.t_resp == 21 && in.len == T;
        ok_layout &= layout_ok(&b, &in, T, 0);
        double c = fabs(in.cond[0]);
        for (size_t k = 0; k < 5; k++) if (c == p.levels[k]) cnt[k]++;
        n2 += in.answer == 2;
        for (size_t t = 0; t < T; t++) {
            double e1 = b.x[t * 3 + 1], e2 = b.x[t * 3 + 2];
            int in_stim = t >= in.t_stim && t < in.t_resp;
            if (!in_stim) ok_stim &= e1 == 0 && e2 == 0;
            else {
                /* channel g carries 0.5 + c/200: the sign of e2 - e1 is the signed coherence */
                ok_stim &= fabs((e2 - e1) - in.cond[0] / 100.0) < 1e-12 && fabs(e1 + e2 - 1) < 1e-12;
                if (c > 0) ok_ans &= (e2 > e1) == (in.answer == 2);
            }
        }
        ok_ans &= (in.cond[0] > 0 && in.answer == 2) || (in.cond[0] < 0 && in.answer == 1) ||
                  (in.cond[0] == 0 && (in.answer == 1 || in.answer == 2));
    }
    CHECK(ok_T, "decision: epochs at steps [0,1) fixation, [1,21) stimulus, [21,22) decision");
    CHECK(ok_layout, "decision: fixation on until the decision epoch; target and mask only there");
    CHECK(ok_stim, "decision: evidence only in the stimulus epoch, 0.5 +- c/200");
    CHECK(ok_ans, "decision: the answer is the choice with the larger evidence (sign of the signed coherence)");
    int uni = 1;
    for (size_t k = 0; k < 5; k++) uni &= binom_ok(cnt[k], (double)n, 0.2);
    CHECK(uni, "decision: coherences uniform over the 5 levels (%.0f %.0f %.0f %.0f %.0f of %zu)",
          cnt[0], cnt[1], cnt[2], cnt[3], cnt[4], n);
    CHECK(binom_ok(n2, (double)n, 0.5), "decision: choices balanced (%.0f of %zu are choice 2)", n2, n);
    /* noise: the per-step std of a stimulus channel */
    p.sigma = 0.6;
    trial_buf bn = buf_alloc(&p);
    double s = 0, ss = 0, cn = 0;
    for (size_t i = 0; i < 2000; i++) {
        cog_info in;
        buf_trial(&bn, r, &in);
        for (size_t t = in.t_stim; t < in.t_resp; t++) {
            double e = bn.x[t * 3 + 1] - (in.answer == 1 ? 0.5 + fabs(in.cond[0]) / 200 : 0.5 - fabs(in.cond[0]) / 200);
            s += e; ss += e * e; cn++;
        }
    }
    double sd = sqrt(ss / cn - (s / cn) * (s / cn));
    CHECK(fabs(sd - 0.6) < 0.01, "decision: noise std per step %.4f vs sigma 0.6", sd);
    /* mask = all */
    p.sigma = 0;
    p.mask_all = 1;
    trial_buf ba = buf_alloc(&p);
    cog_info in;
    size_t T = buf_trial(&ba, r, &in);
    CHECK(layout_ok(&ba, &in, T, 1), "decision: task.mask = all counts every step, fixate before the response");
    /* the task's fill() (trial_batch_fill) draws the same trials as cog_trial */
    gsl_rng *r1 = rng_stream_alloc(3, "data", 0), *r2 = rng_stream_alloc(3, "data", 0);
    trial_batch *tb = trial_batch_alloc(4, ba.t);
    trial_batch_fill(tb, ba.t, r1);
    int same = 1;
    for (size_t i = 0; i < 4; i++) {
        size_t Ti = buf_trial(&ba, r2, &in);
        same &= Ti == tb->len[i] && !memcmp(ba.x, tb->x + i * tb->t_max * 3, Ti * 3 * sizeof(double));
    }
    CHECK(same, "decision: trial_batch_fill equals cog_trial draw for draw");
    trial_batch_free(tb);
    gsl_rng_free(r1);
    gsl_rng_free(r2);
    buf_free(&b);
    buf_free(&bn);
    buf_free(&ba);
    gsl_rng_free(r);
}

static void test_mante(void) {
    cog_params p = cog_defaults(COG_MANTE);
    p.sigma = 0;
    trial_buf b = buf_alloc(&p);
    CHECK(b.t && b.t->n_in == 7 && b.t->n_out == 3, "mante: I = 7, O = 3");
    gsl_rng *r = rng_stream_alloc(11, "test", 0);
    int ok_layout = 1, ok_ans = 1, ok_ctx = 1, ok_go = 1, ok_stim = 1;
    double nctx = 0, cntm[3] = {0}, pos = 0;
    size_t n = 4000, dmin = 100, dmax = 0;
    for (size_t i = 0; i < n; i++) {
        cog_info in;
        size_t T = buf_trial(&b, r, &in);
        ok_layout &= layout_ok(&b, &in, T, 0);
        int ctx = (int)in.cond[2];
        nctx += ctx;
        double rel = in.cond[ctx];
        ok_ans &= (rel > 0) == (in.answer == 2);
        for (size_t k = 0; k < 3; k++) cntm[k] += fabs(in.cond[0]) == p.levels[k];
        pos += in.cond[1] > 0;
        size_t ns = cog_steps(p.stimulus, p.dt), d = in.t_resp - in.t_stim - ns;
        if (d < dmin) dmin = d;
        if (d > dmax) dmax = d;
        for (size_t t = 0; t < T; t++) {
            ok_ctx &= b.x[t * 7 + 5] == (ctx == 0) && b.x[t * 7 + 6] == (ctx == 1);
            int stim = t >= in.t_stim && t < in.t_stim + ns;
            if (stim) {
                ok_stim &= fabs(b.x[t * 7 + 2] - b.x[t * 7 + 1] - in.cond[0] / 100) < 1e-12;
                ok_stim &= fabs(b.x[t * 7 + 4] - b.x[t * 7 + 3] - in.cond[1] / 100) < 1e-12;
            } else {
                ok_stim &= b.x[t * 7 + 1] == 0 && b.x[t * 7 + 2] == 0 && b.x[t * 7 + 3] == 0 && b.x[t * 7 + 4] == 0;
            }
        }
        /* the go cue: fixation on through stimulus and delay, off exactly at the response */
        ok_go &= b.x[(in.t_resp - 1) * 7] == 1 && b.x[in.t_resp * 7] == 0 && in.t_resp > in.t_stim + ns - 1;
    }
    CHECK(ok_layout, "mante: fixation, targets and mask laid out as the response epoch says");
    CHECK(ok_go, "mante: fixation stays on through the stimulus and the delay; its offset is the go cue");
    CHECK(ok_ans, "mante: the answer is the sign of the coherence of the cued modality");
    CHECK(ok_ctx, "mante: the context cue is one-hot on every step of the trial");
    CHECK(ok_stim, "mante: motion and colour evidence only in the stimulus epoch");
    CHECK(binom_ok(nctx, (double)n, 0.5), "mante: contexts balanced (%.0f of %zu colour)", nctx, n);
    CHECK(binom_ok(pos, (double)n, 0.5), "mante: colour coherence signs balanced");
    int uni = 1;
    for (size_t k = 0; k < 3; k++) uni &= binom_ok(cntm[k], (double)n, 1.0 / 3);
    CHECK(uni, "mante: motion coherences uniform over the 3 levels");
    CHECK(dmin == 3 && dmax == 10, "mante: delays span 300..1000 ms = 3..10 steps (saw %zu..%zu)", dmin, dmax);
    buf_free(&b);
    gsl_rng_free(r);
}

static void test_delayed_response(void) {
    cog_params p = cog_defaults(COG_DELAYED_RESPONSE);
    p.sigma = 0;
    trial_buf b = buf_alloc(&p);
    CHECK(b.t && b.t->n_in == 5 && b.t->n_out == 5 && b.t->t_max == 3 + 5 + 30 + 3,
          "delayed response: I = O = 1 + K, t_max = 3 + 5 + 30 + 3");
    gsl_rng *r = rng_stream_alloc(5, "test", 0);
    int ok = 1, ok_cue = 1;
    double loc[4] = {0};
    size_t n = 4000, dmin = 1000, dmax = 0;
    for (size_t i = 0; i < n; i++) {
        cog_info in;
        size_t T = buf_trial(&b, r, &in);
        ok &= layout_ok(&b, &in, T, 0) && in.answer == 1 + (int)in.cond[0];
        loc[(size_t)in.cond[0]]++;
        size_t d = (size_t)in.cond[1];
        if (d < dmin) dmin = d;
        if (d > dmax) dmax = d;
        ok &= T == 3 + 5 + d + 3 && in.t_stim == 3 && in.t_resp == 8 + d;
        for (size_t t = 0; t < T; t++)
            for (size_t k = 0; k < 4; k++) {
                double want = t >= 3 && t < 8 && k == (size_t)in.cond[0];
                ok_cue &= b.x[t * 5 + 1 + k] == want;
            }
    }
    CHECK(ok, "delayed response: T = fixation + cue + delay + decision; the answer is the cued location");
    CHECK(ok_cue, "delayed response: the cue is shown only in the cue epoch, nothing during the delay");
    CHECK(dmin == 10 && dmax == 30, "delayed response: delays span 10..30 steps (saw %zu..%zu)", dmin, dmax);
    int uni = 1;
    for (size_t k = 0; k < 4; k++) uni &= binom_ok(loc[k], (double)n, 0.25);
    CHECK(uni, "delayed response: locations uniform");
    buf_free(&b);
    gsl_rng_free(r);
}

static void test_dms(void) {
    cog_params p = cog_defaults(COG_DMS);
    p.sigma = 0;
    trial_buf b = buf_alloc(&p);
    CHECK(b.t && b.t->n_in == 5 && b.t->n_out == 3, "dms: I = 1 + K, O = 3");
    gsl_rng *r = rng_stream_alloc(9, "test", 0);
    int ok = 1;
    double match = 0, other[4][4] = {{0}};
    size_t n = 8000;
    for (size_t i = 0; i < n; i++) {
        cog_info in;
        size_t T = buf_trial(&b, r, &in);
        size_t s = (size_t)in.cond[0], te = (size_t)in.cond[1];
        ok &= layout_ok(&b, &in, T, 0) && in.answer == (s == te ? 1 : 2);
        ok &= T == 3 + 5 + 10 + 5 + 9;
        ok &= b.x[4 * 5 + 1 + s] == 1 && b.x[(3 + 5 + 10 + 1) * 5 + 1 + te] == 1;
        ok &= b.x[(3 + 5 + 2) * 5 + 1 + s] == 0; /* nothing in the delay */
        match += s == te;
        if (s != te) other[s][te]++;
    }
    CHECK(ok, "dms: sample, then test after the delay; the answer is match iff test = sample");
    CHECK(binom_ok(match, (double)n, 0.5), "dms: match trials with probability 1/2 (%.0f of %zu)", match, n);
    int uni = 1;
    for (size_t s = 0; s < 4; s++)
        for (size_t t = 0; t < 4; t++)
            if (s != t) uni &= binom_ok(other[s][t], (double)n, 0.5 / 12);
    CHECK(uni, "dms: non-match tests uniform over the other stimuli");
    buf_free(&b);
    gsl_rng_free(r);
}

static void test_romo(void) {
    cog_params p = cog_defaults(COG_ROMO);
    p.sigma = 0;
    trial_buf b = buf_alloc(&p);
    CHECK(b.t && b.t->n_in == 2 && b.t->n_out == 3, "romo: I = 2, O = 3");
    gsl_rng *r = rng_stream_alloc(13, "test", 0);
    int ok = 1;
    double gt = 0, f1c[7] = {0};
    size_t n = 7000;
    for (size_t i = 0; i < n; i++) {
        cog_info in;
        size_t T = buf_trial(&b, r, &in);
        double f1 = in.cond[0], f2 = in.cond[1], d = fabs(f2 - f1);
        ok &= layout_ok(&b, &in, T, 0) && in.answer == (f1 > f2 ? 1 : 2);
        ok &= d == 4 || d == 8;
        ok &= fabs(b.x[in.t_stim * 2 + 1] - f1 / 40) < 1e-15 && fabs(b.x[(in.t_resp - 1) * 2 + 1] - f2 / 40) < 1e-15;
        ok &= b.x[(in.t_stim + 5) * 2 + 1] == 0; /* the delay is silent */
        gt += f1 > f2;
        for (size_t k = 0; k < 7; k++) f1c[k] += f1 == 10 + 4 * (double)k;
    }
    CHECK(ok, "romo: f1 and f2 = f1 +- delta shown as f/40; the answer is 1 iff f1 > f2");
    CHECK(binom_ok(gt, (double)n, 0.5), "romo: f1 > f2 on half the trials");
    int uni = 1;
    for (size_t k = 0; k < 7; k++) uni &= binom_ok(f1c[k], (double)n, 1.0 / 7);
    CHECK(uni, "romo: f1 uniform over the frequencies");
    buf_free(&b);
    gsl_rng_free(r);
}

static void test_gonogo(void) {
    cog_params p = cog_defaults(COG_GONOGO);
    p.sigma = 0;
    trial_buf b = buf_alloc(&p);
    CHECK(b.t && b.t->n_in == 3 && b.t->n_out == 2 && b.t->t_max == 15, "gonogo: I = 3, O = 2, T = 0 + 5 + 5 + 5");
    gsl_rng *r = rng_stream_alloc(17, "test", 0);
    int ok = 1;
    double go = 0;
    size_t n = 4000;
    for (size_t i = 0; i < n; i++) {
        cog_info in;
        size_t T = buf_trial(&b, r, &in);
        int g = (int)in.cond[0];
        ok &= layout_ok(&b, &in, T, 0) && in.answer == g && in.t_stim == 0 && in.t_resp == 10;
        ok &= b.x[1 + (g ? 0 : 1)] == 1 && b.x[1 + (g ? 1 : 0)] == 0;
        go += g;
    }
    CHECK(ok, "gonogo: go trials answer class 1, no-go trials keep fixating (class 0) in the response epoch");
    CHECK(binom_ok(go, (double)n, 0.5), "gonogo: go with probability 1/2");
    buf_free(&b);
    gsl_rng_free(r);
}

static void test_flipflop(void) {
    cog_params p = cog_defaults(COG_FLIPFLOP);
    trial_buf b = buf_alloc(&p);
    CHECK(b.t && b.t->n_in == 3 && b.t->n_out == 3 && b.t->t_max == 100, "flipflop: I = O = 3, T = 100");
    gsl_rng *r = rng_stream_alloc(19, "test", 0);
    int ok = 1;
    double pulses = 0, slots = 0, pos = 0;
    for (size_t i = 0; i < 300; i++) {
        cog_info in;
        size_t T = buf_trial(&b, r, &in);
        ok &= T == 100 && in.answer == -1;
        double last[3] = {0, 0, 0};
        for (size_t t = 0; t < T; t++) {
            ok &= b.m[t] == 1;
            for (size_t k = 0; k < 3; k++) {
                double v = b.x[t * 3 + k];
                ok &= v == 0 || v == 1 || v == -1;
                if (t == 0) ok &= v != 0;
                if (v != 0) last[k] = v;
                if (t > 0) { pulses += v != 0; slots++; pos += v > 0; }
                ok &= b.y[t * 3 + k] == last[k];
            }
        }
    }
    CHECK(ok, "flipflop: every channel pulsed at step 0; target = sign of the last pulse; mask 1");
    CHECK(binom_ok(pulses, slots, 0.05), "flipflop: pulse rate %.4f vs p_pulse 0.05", pulses / slots);
    CHECK(binom_ok(pos, pulses, 0.5), "flipflop: pulse signs balanced");
    buf_free(&b);
    gsl_rng_free(r);
}

static void test_errors(void) {
    cog_params p = cog_defaults(COG_DECISION);
    p.dt = 0;
    CHECK(!cog_task_alloc(&p), "dt = 0 rejected: %s", engram_error());
    p = cog_defaults(COG_DELAYED_RESPONSE);
    p.delay_min = 4000;
    CHECK(!cog_task_alloc(&p), "delay_min > delay_max rejected: %s", engram_error());
    p = cog_defaults(COG_DMS);
    p.n_choices = 1;
    CHECK(!cog_task_alloc(&p), "one stimulus rejected: %s", engram_error());
    p = cog_defaults(COG_DECISION);
    p.n_levels = 0;
    CHECK(!cog_task_alloc(&p), "no coherence rejected: %s", engram_error());
    p = cog_defaults(COG_DECISION);
    p.levels[1] = 150;
    CHECK(!cog_task_alloc(&p), "coherence above 100 %% rejected: %s", engram_error());
    p = cog_defaults(COG_ROMO);
    p.deltas[0] = 0;
    CHECK(!cog_task_alloc(&p), "zero delta rejected: %s", engram_error());
    p = cog_defaults(COG_FLIPFLOP);
    p.p_pulse = 2;
    CHECK(!cog_task_alloc(&p), "p_pulse > 1 rejected: %s", engram_error());
    p = cog_defaults(COG_DECISION);
    p.dt = 1e-3;
    CHECK(!cog_task_alloc(&p), "over-long trials rejected: %s", engram_error());
}

static const test_case tests[] = {
    {"steps", test_steps},
    {"decision", test_decision},
    {"mante", test_mante},
    {"delayed_response", test_delayed_response},
    {"dms", test_dms},
    {"romo", test_romo},
    {"gonogo", test_gonogo},
    {"flipflop", test_flipflop},
    {"errors", test_errors},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
