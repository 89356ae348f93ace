/* cogtask.c: what the cognitive tasks share (cognitive.h): defaults, names, epoch
 * lengths, allocation, the dispatching trial function and the fixation/target
 * layout. Each family's generator lives in its own file. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <stdio.h>
#include "engram/cognitive.h"
#include "engram/config.h"
#include <gsl/gsl_randist.h>
#include "engram/engram.h"

static const char *const cog_names[COG_N_KINDS] = {
    "decision", "delayed_response", "dms", "romo", "mante", "gonogo", "flipflop",
};

static const task_type *const cog_types[COG_N_KINDS] = {
    &decision_task_type, &delayed_response_task_type, &dms_task_type, &romo_task_type,
    &mante_task_type, &gonogo_task_type, &flipflop_task_type,
};

static size_t (*const cog_gens[COG_N_KINDS])(const cog_params *, gsl_rng *, double *, double *,
                                             double *, cog_info *) = {
    decision_trial, delayed_response_trial, dms_trial, romo_trial, mante_trial, gonogo_trial,
    flipflop_trial,
};

const char *cog_kind_name(cog_kind kind) {
    return kind < COG_N_KINDS ? cog_names[kind] : "?";
}

int cog_kind_parse(const char *name, cog_kind *kind) {
    for (int k = 0; k < COG_N_KINDS; k++)
        if (strcmp(name, cog_names[k]) == 0) { *kind = (cog_kind)k; return 0; }
    return -1;
}

cog_params cog_defaults(cog_kind kind) {
    cog_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.dt = 100;
    p.n_choices = 2;
    switch (kind) {
    case COG_DECISION: /* NeuroGym PerceptualDecisionMaking timing and coherences */
        p.fixation = 100; p.stimulus = 2000; p.decision = 100; p.sigma = 0.6;
        p.n_levels = 5;
        p.levels[0] = 0; p.levels[1] = 6.4; p.levels[2] = 12.8; p.levels[3] = 25.6;
        p.levels[4] = 51.2;
        break;
    case COG_DELAYED_RESPONSE:
        p.fixation = 300; p.stimulus = 500; p.delay_min = 1000; p.delay_max = 3000;
        p.decision = 300; p.sigma = 0.1; p.n_choices = 4;
        break;
    case COG_DMS: /* NeuroGym DelayMatchSample timing */
        p.fixation = 300; p.stimulus = 500; p.delay_min = p.delay_max = 1000;
        p.stimulus2 = 500; p.decision = 900; p.sigma = 0.1; p.n_choices = 4;
        break;
    case COG_ROMO:
        p.fixation = 100; p.stimulus = 500; p.delay_min = 1000; p.delay_max = 2000;
        p.stimulus2 = 500; p.decision = 300; p.sigma = 0.05;
        p.n_levels = 7;
        for (size_t i = 0; i < 7; i++) p.levels[i] = 10 + 4 * (double)i; /* 10..34 Hz */
        p.n_deltas = 2; p.deltas[0] = 4; p.deltas[1] = 8;
        break;
    case COG_MANTE: /* NeuroGym ContextDecisionMaking timing and coherences */
        p.fixation = 300; p.stimulus = 750; p.delay_min = 300; p.delay_max = 1000;
        p.decision = 100; p.sigma = 0.5;
        p.n_levels = 3; p.levels[0] = 5; p.levels[1] = 15; p.levels[2] = 50;
        break;
    case COG_GONOGO: /* NeuroGym GoNogo timing */
        p.fixation = 0; p.stimulus = 500; p.delay_min = p.delay_max = 500; p.decision = 500;
        p.sigma = 0.1;
        break;
    case COG_FLIPFLOP:
        p.steps = 100; p.p_pulse = 0.05;
        break;
    default:
        break;
    }
    return p;
}

size_t cog_steps(double ms, double dt) {
    if (ms <= 0) return 0;
    double s = floor(ms / dt + 0.5);
    return s < 1 ? 1 : (size_t)s;
}

static void cog_sizes(const cog_params *p, size_t *n_in, size_t *n_out) {
    switch (p->kind) {
    case COG_DECISION: *n_in = 3; *n_out = 3; break;
    case COG_DELAYED_RESPONSE: *n_in = 1 + p->n_choices; *n_out = 1 + p->n_choices; break;
    case COG_DMS: *n_in = 1 + p->n_choices; *n_out = 3; break;
    case COG_ROMO: *n_in = 2; *n_out = 3; break;
    case COG_MANTE: *n_in = 7; *n_out = 3; break;
    case COG_GONOGO: *n_in = 3; *n_out = 2; break;
    default: *n_in = 3; *n_out = 3; break;
    }
}

task *cog_task_alloc(const cog_params *p) {
    if ((int)p->kind < 0 || p->kind >= COG_N_KINDS) {
        engram_fail(ENGRAM_EINVAL, "cognitive task: unknown family");
        return NULL;
    }
    const char *nm = cog_names[p->kind];
    size_t t_max;
    if (p->kind == COG_FLIPFLOP) {
        if (p->steps < 2 || p->steps > 100000 || !(p->p_pulse >= 0 && p->p_pulse <= 1)) {
            engram_fail(ENGRAM_EINVAL, "%s: need 2 <= task.steps <= 100000 and 0 <= task.p_pulse <= 1",
                        nm);
            return NULL;
        }
        t_max = p->steps;
    } else {
        if (!(p->dt > 0) || !(p->stimulus > 0) || !(p->decision > 0) || p->fixation < 0 ||
            p->delay_min < 0 || p->delay_min > p->delay_max || !(p->sigma >= 0) ||
            ((p->kind == COG_DMS || p->kind == COG_ROMO) && !(p->stimulus2 > 0))) {
            engram_fail(ENGRAM_EINVAL, "%s: need task.dt, task.stimulus, task.decision (and "
                        "task.stimulus2) > 0, task.fixation >= 0, 0 <= task.delay_min <= "
                        "task.delay_max and task.sigma >= 0", nm);
            return NULL;
        }
        if ((p->kind == COG_DECISION || p->kind == COG_MANTE || p->kind == COG_ROMO) &&
            (p->n_levels < 1 || p->n_levels > COG_MAX_LEVELS)) {
            engram_fail(ENGRAM_EINVAL, "%s: need 1 to %d levels in task.%s", nm, COG_MAX_LEVELS,
                        p->kind == COG_ROMO ? "frequencies" : "coherences");
            return NULL;
        }
        for (size_t i = 0; i < p->n_levels; i++)
            if (!(p->levels[i] >= 0 && p->levels[i] <= (p->kind == COG_ROMO ? 1000 : 100))) {
                engram_fail(ENGRAM_EINVAL, "%s: task.%s must lie in [0, %s]", nm,
                            p->kind == COG_ROMO ? "frequencies" : "coherences",
                            p->kind == COG_ROMO ? "1000" : "100");
                return NULL;
            }
        if (p->kind == COG_ROMO) {
            if (p->n_deltas < 1 || p->n_deltas > COG_MAX_LEVELS) {
                engram_fail(ENGRAM_EINVAL, "romo: need 1 to %d values in task.deltas", COG_MAX_LEVELS);
                return NULL;
            }
            for (size_t i = 0; i < p->n_deltas; i++)
                if (!(p->deltas[i] > 0)) {
                    engram_fail(ENGRAM_EINVAL, "romo: task.deltas must be > 0");
                    return NULL;
                }
        }
        if ((p->kind == COG_DELAYED_RESPONSE || p->kind == COG_DMS) &&
            (p->n_choices < 2 || p->n_choices > 64)) {
            engram_fail(ENGRAM_EINVAL, "%s: need 2 <= task.n_choices <= 64", nm);
            return NULL;
        }
        t_max = cog_steps(p->fixation, p->dt) + cog_steps(p->stimulus, p->dt) +
                cog_steps(p->delay_max, p->dt) + cog_steps(p->stimulus2, p->dt) +
                cog_steps(p->decision, p->dt);
        if (t_max > 100000) {
            engram_fail(ENGRAM_ERANGE, "%s: trials longer than 100000 steps (lower the durations "
                        "or raise task.dt)", nm);
            return NULL;
        }
    }
    task *t = calloc(1, sizeof *t);
    cog_params *q = malloc(sizeof *q);
    if (!t || !q) {
        free(t);
        free(q);
        engram_fail(ENGRAM_ENOMEM, "%s: out of memory", nm);
        return NULL;
    }
    *q = *p;
    t->type = cog_types[p->kind];
    cog_sizes(p, &t->n_in, &t->n_out);
    t->t_max = t_max;
    t->params = q;
    return t;
}

const cog_params *cog_task_params(const task *t) {
    for (int k = 0; k < COG_N_KINDS; k++)
        if (t->type == cog_types[k]) return t->params;
    return NULL;
}

size_t cog_trial(const task *t, gsl_rng *r, double *x, double *y, double *mask, cog_info *info) {
    const cog_params *p = cog_task_params(t);
    assert(p);
    cog_info tmp;
    size_t T = cog_gens[p->kind](p, r, x, y, mask, info ? info : &tmp);
    assert(T >= 1 && T <= t->t_max);
    return T;
}

void cog_fixation_and_targets(const cog_params *p, size_t n_in, size_t n_out, size_t t_resp,
                              size_t T, int answer, double *x, double *y, double *mask) {
    for (size_t t = 0; t < t_resp; t++) {
        x[t * n_in] = 1.0;
        if (p->mask_all) {
            y[t * n_out] = 1.0;
            mask[t] = 1.0;
        }
    }
    for (size_t t = t_resp; t < T; t++) {
        y[t * n_out + (size_t)answer] = 1.0;
        mask[t] = 1.0;
    }
}

size_t cog_draw_delay(const cog_params *p, gsl_rng *r) {
    size_t lo = cog_steps(p->delay_min, p->dt), hi = cog_steps(p->delay_max, p->dt);
    return lo + (size_t)gsl_rng_uniform_int(r, hi - lo + 1);
}

void cog_add_noise(const cog_params *p, gsl_rng *r, double *x, size_t n_in, size_t t0,
                   size_t t1, size_t c0, size_t c1) {
    if (!(p->sigma > 0)) return;
    for (size_t t = t0; t < t1; t++)
        for (size_t c = c0; c < c1; c++) x[t * n_in + c] += gsl_ran_gaussian(r, p->sigma);
}

/* Parses "a,b,c" into at most max values; returns the count, or -1 on a bad list. */
static long cog_parse_list(const char *s, double *v, size_t max) {
    size_t n = 0;
    const char *c = s;
    while (*c) {
        char *end;
        double x = strtod(c, &end);
        if (end == c || !isfinite(x) || n >= max) return -1;
        v[n++] = x;
        while (*end == ' ') end++;
        if (*end == ',') end++;
        else if (*end) return -1;
        c = end;
        while (*c == ' ') c++;
    }
    return (long)n;
}

int cog_params_from_config(const config *cfg, cog_kind kind, cog_params *p) {
    *p = cog_defaults(kind);
    static const struct { const char *key; size_t off; } reals[] = {
        {"task.dt", offsetof(cog_params, dt)}, {"task.fixation", offsetof(cog_params, fixation)},
        {"task.stimulus", offsetof(cog_params, stimulus)},
        {"task.delay_min", offsetof(cog_params, delay_min)},
        {"task.delay_max", offsetof(cog_params, delay_max)},
        {"task.stimulus2", offsetof(cog_params, stimulus2)},
        {"task.decision", offsetof(cog_params, decision)}, {"task.sigma", offsetof(cog_params, sigma)},
        {"task.p_pulse", offsetof(cog_params, p_pulse)},
    };
    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++)
        if (config_has(cfg, reals[k].key))
            *(double *)((char *)p + reals[k].off) = config_real(cfg, reals[k].key);
    if (config_has(cfg, "task.n_choices")) p->n_choices = (size_t)config_int(cfg, "task.n_choices");
    if (config_has(cfg, "task.steps")) p->steps = (size_t)config_int(cfg, "task.steps");
    if (config_has(cfg, "task.mask")) p->mask_all = strcmp(config_str(cfg, "task.mask"), "all") == 0;
    const char *lk = config_has(cfg, "task.coherences") ? "task.coherences"
                   : config_has(cfg, "task.frequencies") ? "task.frequencies" : NULL;
    if (lk) {
        long n = cog_parse_list(config_str(cfg, lk), p->levels, COG_MAX_LEVELS);
        if (n < 1)
            return engram_fail(ENGRAM_EINVAL, "%s: expected 1 to %d comma-separated numbers, got '%s'",
                               lk, COG_MAX_LEVELS, config_str(cfg, lk));
        p->n_levels = (size_t)n;
    }
    if (config_has(cfg, "task.deltas")) {
        long n = cog_parse_list(config_str(cfg, "task.deltas"), p->deltas, COG_MAX_LEVELS);
        if (n < 1)
            return engram_fail(ENGRAM_EINVAL, "task.deltas: expected 1 to %d comma-separated numbers, "
                               "got '%s'", COG_MAX_LEVELS, config_str(cfg, "task.deltas"));
        p->n_deltas = (size_t)n;
    }
    return ENGRAM_OK;
}
