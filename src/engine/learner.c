/* learner.c: the pieces every learner and every sequence experiment share: the divergence
 * checks of train(), closed-loop test items, parameter files and the training loop. (The
 * rule table and the named-weight layouts know the models, so they live above them, in
 * src/experiments/rules.c.) */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "engram/engram.h"
#include "engram/learner.h"
#include "engram/optim.h"

size_t learner_run_item(const learner_type *lt, learner *l, const trial_batch *b, size_t i,
                        double *out, double *act) {
    size_t T = b->len[i], O = b->n_out;
    lt->reset(l);
    for (size_t t = 0; t < T; t++) {
        lt->step(l, b->x + (i * b->t_max + t) * b->n_in, out + t * O);
        if (act) {
            size_t n;
            const double *h = lt->state(l, &n);
            memcpy(act + t * n, h, n * sizeof *h);
        }
    }
    return T;
}

int learner_check_loss(const char *name, double loss, double max_loss) {
    if (!isfinite(loss))
        return engram_fail(ENGRAM_EDIVERGED, "%s: the training loss became non-finite "
                           "(lower train.lr or set train.clip_norm)", name);
    if (max_loss > 0 && loss > max_loss)
        return engram_fail(ENGRAM_EDIVERGED, "%s: the training loss %g exceeds train.max_loss = %g "
                           "(lower train.lr or set train.clip_norm)", name, loss, max_loss);
    return ENGRAM_OK;
}

int learner_check_update(const char *name, int rc, const double *params, size_t n) {
    if (rc != ENGRAM_OK)
        return engram_fail(rc, "%s: non-finite update, training diverged "
                           "(lower train.lr or set train.clip_norm)", name);
    if (!engram_all_finite(params, n))
        return engram_fail(ENGRAM_EDIVERGED, "%s: non-finite weights, training diverged "
                           "(lower train.lr or set train.clip_norm)", name);
    return ENGRAM_OK;
}

int learner_wants_float32(const config *cfg) {
    return config_has(cfg, "run.precision") && strcmp(config_str(cfg, "run.precision"), "float32") == 0;
}

size_t learner_optim_blobs(const optim *o, const char *const names[3], ckpt_blob *out) {
    out[0] = (ckpt_blob){names[0], (void *)&o->t, sizeof o->t};
    out[1] = (ckpt_blob){names[1], o->m, o->n * sizeof(double)};
    out[2] = (ckpt_blob){names[2], o->v, o->n * sizeof(double)};
    return 3;
}

int learner_write_params(run_ctx *ctx, const char *rule, const ckpt_blob *blobs, size_t nb,
                         size_t n_in, size_t n_out) {
    int st = ENGRAM_OK, named = 0;
    for (size_t k = 0; st == ENGRAM_OK && k < nb; k++) {
        param_view pv[5];
        size_t nv = learner_param_views(&blobs[k], n_in, n_out, pv);
        if (nv) named = 1;
        if (!strcmp(blobs[k].name, "rnn.feedback") && !strcmp(rule, "bptt")) nv = 0; /* unused */
        if (nv) st = run_write_params(ctx, NULL, blobs[k].data, pv, nv);
    }
    if (st != ENGRAM_OK || named || nb == 0 || blobs[0].size == 0 || blobs[0].size % sizeof(double))
        return st;
    char name[80];
    snprintf(name, sizeof name, "%s.npy", blobs[0].name);
    for (char *c = name; *c && strcmp(c, ".npy"); c++) if (*c == '.') *c = '_';
    size_t sh[1] = {blobs[0].size / sizeof(double)};
    return run_write_npy(ctx, name, blobs[0].data, 1, sh);
}

/* Writes the summary of a run that stopped at update step with status st. */
static void loop_summary_stop(run_ctx *ctx, const learner_loop *lp, long step, double loss) {
    run_summary_real(ctx, "accuracy", lp->acc);
    run_summary_int(ctx, "steps_to_criterion", (long)lp->state[LEARNER_S_CRIT]);
    run_summary_real(ctx, "loss", loss);
    run_summary_int(ctx, "diverged_at", step);
}

int learner_loop_run(run_ctx *ctx, learner_loop *lp, long step) {
    double *S = lp->state;
    int st;
    if (ctx->resuming) step++; /* the checkpoint's step was evaluated before it was saved */
    for (;; step++) {
        if (step > lp->steps) break; /* resumed from the checkpoint of a finished run */
        if (run_stop_signal() && step > 0) { /* SIGINT/SIGTERM: everything of step - 1 is done */
            *lp->wall = run_wall(ctx);
            st = run_ckpt_save(ctx, step - 1, lp->blobs, lp->nb);
            return st != ENGRAM_OK ? st : engram_fail(ENGRAM_EINTR, "%s: interrupted after update "
                                                      "%ld, checkpoint saved", lp->name, step - 1);
        }
        if (step > 0) {
            double loss, extra[LEARNER_MAX_EXTRA];
            for (size_t k = 0; k < LEARNER_MAX_EXTRA; k++) extra[k] = NAN;
            trial_batch_fill(lp->batch, lp->tk, lp->data);
            st = lp->lt->train(lp->l, lp->batch, &loss, extra);
            if (st == ENGRAM_OK && !isfinite(loss))
                st = engram_fail(ENGRAM_EDIVERGED, "%s: %s: non-finite training loss at update %ld "
                                 "(lower train.lr or set train.clip_norm)", lp->name, lp->rule, step);
            if (st != ENGRAM_OK) {
                if (st == ENGRAM_EDIVERGED) {
                    char msg[512];
                    snprintf(msg, sizeof msg, "%s", engram_error());
                    loop_summary_stop(ctx, lp, step, NAN);
                    engram_fail(st, "%s: diverged at update %ld: %s", lp->name, step, msg);
                }
                return st;
            }
            S[LEARNER_S_LOSS_SUM] += loss;
            S[LEARNER_S_LOSS_N] += 1;
            for (size_t k = 0; k < lp->n_extra; k++) S[LEARNER_S_EXTRA + k] = extra[k];
        }
        if (step % lp->eval_every != 0 && step != lp->steps) continue;
        double row[16 + LEARNER_MAX_EXTRA];
        assert(lp->n_cols + 1 + lp->n_extra <= sizeof row / sizeof row[0]);
        lp->eval(lp->eval_arg, step, step >= lp->steps, row, &lp->acc, &lp->score, &lp->loss);
        size_t c = lp->n_cols;
        row[c++] = S[LEARNER_S_LOSS_N] > 0 ? S[LEARNER_S_LOSS_SUM] / S[LEARNER_S_LOSS_N] : NAN;
        for (size_t k = 0; k < lp->n_extra; k++) row[c + k] = S[LEARNER_S_EXTRA + k];
        S[LEARNER_S_LOSS_SUM] = S[LEARNER_S_LOSS_N] = 0;
        int met = lp->lower_better ? lp->score <= lp->criterion : lp->score >= lp->criterion;
        if (S[LEARNER_S_CRIT] < 0 && met) S[LEARNER_S_CRIT] = (double)step;
        size_t e = (size_t)S[LEARNER_S_N_EVAL];
        if (e < lp->n_eval_max) {
            lp->curve[e * 3] = (double)step;
            lp->curve[e * 3 + 1] = lp->loss;
            lp->curve[e * 3 + 2] = lp->score;
            S[LEARNER_S_N_EVAL] = (double)(e + 1);
        }
        st = run_metrics_row(ctx, step, row);
        if (st != ENGRAM_OK) return st;
        if (!isfinite(lp->loss)) { /* xent: a target probability underflowed to 0 */
            loop_summary_stop(ctx, lp, step, lp->loss);
            return engram_fail(ENGRAM_EDIVERGED, "%s: %s: non-finite test loss at update %ld "
                               "(lower train.lr or set train.clip_norm)", lp->name, lp->rule, step);
        }
        run_progress(ctx, step, lp->steps, "%s %.3f, test loss %.4f", lp->score_name, lp->score,
                     lp->loss);
        /* also at the last update, so that resume --set train.steps=N can extend the run */
        if (lp->ckpt_every > 0 &&
            (step - (long)S[LEARNER_S_LAST_CKPT] >= lp->ckpt_every || step >= lp->steps)) {
            S[LEARNER_S_LAST_CKPT] = (double)step;
            *lp->wall = run_wall(ctx);
            st = run_ckpt_save(ctx, step, lp->blobs, lp->nb);
            if (st != ENGRAM_OK) return st;
        }
        if (step >= lp->steps) break;
    }
    run_progress_done(ctx);
    return ENGRAM_OK;
}
