/* bench_rnn.c: one training step of the rate RNN (hidden 128, input 3, output 3,
 * T = 100, batch 32, softmax cross-entropy, Adam) for the rules bptt, fa and rflo,
 * with 1 and 2 OpenMP threads, against the same BPTT step in PyTorch (bench/rnn_ref.py,
 * run with /usr/bin/python3 in this invocation with torch.set_num_threads(k)).
 * Prints per thread count and rule: engram seconds per step, the reference's, and the
 * ratio reference / engram (> 1: engram faster). Run from the repository root.
 * The gradient-angle diagnostic is off (train.grad_angle = false): it would add a full
 * BPTT pass to fa and rflo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/learner.h"
#include "engram/rng.h"
#include "engram/task.h"

enum { N_REC = 128, N_IN = 3, N_OUT = 3, T_LEN = 100, BATCH = 32, REPS = 15 };

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds of one train() step of rule `name` (after 2 warm-up steps). */
static double time_rule(const char *name, const config *cfg, const trial_batch *b) {
    const learner_type *lt = learner_type_find(name);
    if (!lt) return -1;
    learner *l = lt->alloc(cfg, N_IN, N_OUT, T_LEN, 1);
    if (!l) return -1;
    double loss, extra[LEARNER_MAX_EXTRA], t[REPS];
    for (int k = 0; k < 2; k++) lt->train(l, b, &loss, extra);
    for (int k = 0; k < REPS; k++) {
        double t0 = engram_wall_time();
        lt->train(l, b, &loss, extra);
        t[k] = engram_wall_time() - t0;
    }
    lt->free(l);
    qsort(t, REPS, sizeof t[0], cmp_double);
    return t[REPS / 2];
}

/* Seconds per step of the PyTorch reference with k threads; -1 and a message if skipped. */
static double time_torch(int k) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/rnn_ref.py %d %d %d %d %d %d %d 2>&1",
             N_REC, N_IN, N_OUT, T_LEN, BATCH, k, REPS);
    FILE *p = popen(cmd, "r");
    if (!p) { printf("reference skipped: cannot run /usr/bin/python3\n"); return -1; }
    char line[512];
    double s = -1;
    while (fgets(line, sizeof line, p)) {
        if (sscanf(line, "seconds_per_step %lf", &s) == 1) continue;
        printf("reference: %s", line);
    }
    pclose(p);
    return s;
}

int main(void) {
    static const cfg_key *const tables[] = {config_common_keys, learner_keys, NULL};
    config *cfg = config_alloc(tables);
    const char *sets[] = {"model.n_rec=128", "train.batch=32", "train.optimizer=adam",
                          "train.lr=0.001", "train.loss=xent", "train.grad_angle=false",
                          "fa.mode=full", NULL};
    for (int k = 0; sets[k]; k++)
        if (config_set(cfg, sets[k], "bench") != ENGRAM_OK) {
            fprintf(stderr, "bench_rnn: %s\n", engram_error());
            return 1;
        }
    task tk = {NULL, N_IN, N_OUT, T_LEN, NULL};
    trial_batch *b = trial_batch_alloc(BATCH, &tk);
    gsl_rng *r = rng_stream_alloc(1, "bench", 0);
    for (size_t i = 0; i < BATCH; i++) {
        b->len[i] = T_LEN;
        for (size_t t = 0; t < T_LEN; t++) {
            b->x[(i * T_LEN + t) * N_IN + gsl_rng_uniform_int(r, N_IN)] = 1;
            b->y[(i * T_LEN + t) * N_OUT + gsl_rng_uniform_int(r, N_OUT)] = 1;
            b->mask[i * T_LEN + t] = 1;
        }
    }
    gsl_rng_free(r);
    printf("bench_rnn: one training step, hidden %d, input %d, output %d, T %d, batch %d, "
           "xent + Adam, median of %d\n", N_REC, N_IN, N_OUT, T_LEN, BATCH, REPS);
    static const char *const rules[] = {"bptt", "fa", "rflo"};
    for (int threads = 1; threads <= 2; threads++) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#else
        if (threads > 1) break;
#endif
        double ref = time_torch(threads);
        for (int k = 0; k < 3; k++) {
            double s = time_rule(rules[k], cfg, b);
            if (ref > 0)
                printf("threads %d  %-5s engram %8.3f ms   torch bptt %8.3f ms   ratio torch/engram %.2f\n",
                       threads, rules[k], 1e3 * s, 1e3 * ref, ref / s);
            else
                printf("threads %d  %-5s engram %8.3f ms   (torch reference skipped)\n", threads,
                       rules[k], 1e3 * s);
        }
    }
    trial_batch_free(b);
    config_free(cfg);
    return 0;
}
