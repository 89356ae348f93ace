/* bench_rnn.c: one training step of the rate RNN (hidden 128, input 3, output 3,
 * T = 100, batch 32, softmax cross-entropy, Adam) for the rules bptt, fa and rflo in
 * float64 and float32 (run.precision), with 1 and 2 OpenMP threads, against the same
 * BPTT step in PyTorch float64 and float32 (bench/rnn_ref.py, one /usr/bin/python3
 * process kept open and asked for each timing in turn).
 *
 * The timings are interleaved: ROUNDS rounds, each timing every configuration of engram
 * and of the reference (the median of REPS steps), and the figure printed is the median
 * over rounds, so that load from other processes falls on all of them alike. Prints per
 * thread count, rule and precision: engram milliseconds per step, its GFLOP/s (the
 * step's multiply-adds, counted below, over its time) and the fraction of the machine's
 * GEMM peak measured in this run (dgemm or sgemm, 1024^3, one independent product per
 * thread), and the ratios reference / engram (> 1: engram faster). Run from the
 * repository root. The gradient-angle diagnostic is off (train.grad_angle = false): it
 * would add a full BPTT pass to fa and rflo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_rng.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/learner.h"
#include "engram/rng.h"
#include "engram/task.h"
#include "bench_peak.h"

enum { N_REC = 128, N_IN = 3, N_OUT = 3, T_LEN = 100, BATCH = 32, REPS = 5, ROUNDS = 7,
       N_RULES = 3, N_PREC = 2, MAX_THREADS = 2, PEAK_N = 1024 };

static const char *const rules[N_RULES] = {"bptt", "fa", "rflo"};
static const char *const precs[N_PREC] = {"float64", "float32"};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof v[0], cmp_double);
    return v[n / 2];
}

/* Floating-point operations of one step (2 per multiply-add of the products): forward
 * W h, U x and V h; backward fb_out e and fb_rec da (bptt, fa) or fb_out e only (rflo);
 * the weight gradients dW, dU, dV. */
static double step_flops(int rule) {
    double bt = (double)BATCH * T_LEN, n = N_REC;
    double fwd = 2 * bt * (n * n + n * N_IN + n * N_OUT);
    double grads = 2 * bt * (n * n + n * N_IN + n * N_OUT);
    double bwd = rule == 2 ? 2 * bt * n * N_OUT : 2 * bt * (n * N_OUT + n * n);
    return fwd + bwd + grads;
}

/* The PyTorch reference process: requests on `in`, answers on `out`. */
typedef struct { pid_t pid; FILE *in, *out; } torch_ref;

/* Starts bench/rnn_ref.py; 0 and a message if it cannot run or has no torch. */
static int torch_start(torch_ref *r) {
    int to_child[2], from_child[2];
    if (pipe(to_child) || pipe(from_child)) return 0;
    r->pid = fork();
    if (r->pid < 0) return 0;
    if (r->pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[1]);
        close(from_child[0]);
        char a[5][16];
        int v[5] = {N_REC, N_IN, N_OUT, T_LEN, BATCH};
        for (int k = 0; k < 5; k++) snprintf(a[k], sizeof a[k], "%d", v[k]);
        execl("/usr/bin/python3", "python3", "bench/rnn_ref.py", a[0], a[1], a[2], a[3], a[4],
              (char *)NULL);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    r->in = fdopen(to_child[1], "w");
    r->out = fdopen(from_child[0], "r");
    char line[512];
    if (!r->in || !r->out || !fgets(line, sizeof line, r->out)) {
        printf("reference skipped: cannot run /usr/bin/python3 bench/rnn_ref.py\n");
        return 0;
    }
    if (strncmp(line, "ready", 5) != 0) {
        printf("reference skipped: %s", line);
        return 0;
    }
    printf("reference: PyTorch %s", line + 12);
    return 1;
}

static double torch_time(torch_ref *r, int prec, int threads) {
    char line[512];
    double s = -1;
    fprintf(r->in, "%s %d %d\n", precs[prec], threads, REPS);
    fflush(r->in);
    if (fgets(line, sizeof line, r->out)) sscanf(line, "seconds_per_step %lf", &s);
    return s;
}

static void torch_stop(torch_ref *r) {
    if (r->in) fclose(r->in);
    if (r->out) fclose(r->out);
    if (r->pid > 0) waitpid(r->pid, NULL, 0);
}

/* Median seconds of REPS train() steps. */
static double time_steps(const learner_type *lt, learner *l, const trial_batch *b) {
    double loss, extra[LEARNER_MAX_EXTRA], t[REPS];
    for (int k = 0; k < REPS; k++) {
        double t0 = engram_wall_time();
        lt->train(l, b, &loss, extra);
        t[k] = engram_wall_time() - t0;
    }
    return median(t, REPS);
}

int main(void) {
    static const cfg_key *const tables[] = {config_common_keys, learner_keys, NULL};
    const char *sets[] = {"model.n_rec=128", "train.batch=32", "train.optimizer=adam",
                          "train.lr=0.001", "train.loss=xent", "train.grad_angle=false",
                          "fa.mode=full", NULL};
    config *cfg[N_PREC];
    for (int p = 0; p < N_PREC; p++) {
        cfg[p] = config_alloc(tables);
        char prec[64];
        snprintf(prec, sizeof prec, "run.precision=%s", precs[p]);
        for (int k = 0; k < 8; k++)
            if (config_set(cfg[p], k < 7 ? sets[k] : prec, "bench") != ENGRAM_OK) {
                fprintf(stderr, "bench_rnn: %s\n", engram_error());
                return 1;
            }
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
#ifdef _OPENMP
    int max_threads = MAX_THREADS;
#else
    int max_threads = 1;
#endif
    printf("bench_rnn: one training step, hidden %d, input %d, output %d, T %d, batch %d, "
           "xent + Adam; medians over %d interleaved rounds of the median of %d steps\n",
           N_REC, N_IN, N_OUT, T_LEN, BATCH, ROUNDS, REPS);
    double peak[MAX_THREADS][N_PREC];
    for (int th = 1; th <= max_threads; th++)
        for (int p = 0; p < N_PREC; p++) peak[th - 1][p] = bench_gemm_peak(PEAK_N, th, p);
    for (int th = 1; th <= max_threads; th++)
        printf("GEMM peak (%d^3, %d thread%s, one product each): dgemm %.1f GFLOP/s, sgemm %.1f GFLOP/s\n",
               PEAK_N, th, th > 1 ? "s" : "", peak[th - 1][0], peak[th - 1][1]);
    learner *l[N_RULES][N_PREC];
    const learner_type *lt[N_RULES];
    for (int k = 0; k < N_RULES; k++) {
        lt[k] = learner_type_find(rules[k]);
        for (int p = 0; p < N_PREC; p++) {
            l[k][p] = lt[k] ? lt[k]->alloc(cfg[p], N_IN, N_OUT, T_LEN, 1) : NULL;
            if (!l[k][p]) { fprintf(stderr, "bench_rnn: %s\n", engram_error()); return 1; }
            double loss, extra[LEARNER_MAX_EXTRA];
            for (int w = 0; w < 2; w++) lt[k]->train(l[k][p], b, &loss, extra); /* warm-up */
        }
    }
    torch_ref ref = {0, NULL, NULL};
    int have_ref = torch_start(&ref);
    static double e[MAX_THREADS][N_RULES][N_PREC][ROUNDS], tr[MAX_THREADS][N_PREC][ROUNDS];
    for (int round = 0; round < ROUNDS; round++)
        for (int th = 1; th <= max_threads; th++) {
#ifdef _OPENMP
            omp_set_num_threads(th);
#endif
            for (int p = 0; p < N_PREC; p++)
                tr[th - 1][p][round] = have_ref ? torch_time(&ref, p, th) : -1;
            for (int k = 0; k < N_RULES; k++)
                for (int p = 0; p < N_PREC; p++)
                    e[th - 1][k][p][round] = time_steps(lt[k], l[k][p], b);
        }
    torch_stop(&ref);
    for (int th = 1; th <= max_threads; th++) {
        double ref_s[N_PREC];
        for (int p = 0; p < N_PREC; p++) ref_s[p] = median(tr[th - 1][p], ROUNDS);
        if (have_ref)
            printf("threads %d  torch bptt: float64 %.3f ms, float32 %.3f ms\n", th, 1e3 * ref_s[0],
                   1e3 * ref_s[1]);
        double bptt_s[N_PREC] = {0, 0};
        for (int k = 0; k < N_RULES; k++)
            for (int p = 0; p < N_PREC; p++) {
                double s = median(e[th - 1][k][p], ROUNDS);
                if (k == 0) bptt_s[p] = s;
                double gf = step_flops(k) / s / 1e9;
                printf("threads %d  %-4s %s  engram %7.3f ms  %5.1f GFLOP/s (%4.1f %% of %s peak)",
                       th, rules[k], precs[p], 1e3 * s, gf, 100 * gf / peak[th - 1][p],
                       p ? "sgemm" : "dgemm");
                if (have_ref)
                    printf("  torch/engram: f64 %.2f, f32 %.2f", ref_s[0] / s, ref_s[1] / s);
                if (k > 0) printf("  %s/bptt %.2f", rules[k], s / bptt_s[p]);
                printf("\n");
            }
    }
    for (int k = 0; k < N_RULES; k++)
        for (int p = 0; p < N_PREC; p++) lt[k]->free(l[k][p]);
    trial_batch_free(b);
    for (int p = 0; p < N_PREC; p++) config_free(cfg[p]);
    return 0;
}
