/* rules.c: the table of learning rules that sequence experiments can train, and the named
 * matrices of each rule's saved parameter blobs. It knows the models, so it lives above them. */
#include <math.h>
#include <string.h>
#include "engram/learner.h"
#include "engram/rnn.h"
#include "engram/r2n2.h"
#include "engram/cells.h"

/* Each rule's type object lives beside its model (src/rnn/, src/r2n2/). */
static const learner_type *const learner_table[] = {
    /* entries are added as the rules are implemented */
    &learner_bptt, &learner_fa, &learner_rflo, &learner_esn,
    &learner_r2n2,
    &learner_lstm, &learner_gru,
    NULL,
};

const learner_type *learner_type_find(const char *name) {
    for (size_t i = 0; learner_table[i]; i++)
        if (strcmp(learner_table[i]->name, name) == 0) return learner_table[i];
    return NULL;
}

/* The N >= 1 with a N^2 + b N + c = P exactly, or 0. */
static size_t solve_n(double a, double b, double c, size_t P) {
    double x = (-b + sqrt(b * b - 4 * a * (c - (double)P))) / (2 * a);
    for (size_t n = x > 2 ? (size_t)x - 1 : 1; n <= (size_t)x + 1; n++)
        if ((size_t)(a * (double)n * (double)n + b * (double)n + c) == P) return n;
    return 0;
}

size_t learner_param_views(const ckpt_blob *blob, size_t n_in, size_t n_out, param_view *v) {
    size_t P = blob->size / sizeof(double), I = n_in, O = n_out, N;
    if (!strcmp(blob->name, "rnn.params")) {
        /* P = N N + N I + N + O N + O (rnn.h) */
        if (!(N = solve_n(1, (double)(I + 1 + O), (double)O, P))) return 0;
        v[0] = (param_view){"w_rec", 0, 2, {N, N, 0}};
        v[1] = (param_view){"w_in", N * N, 2, {N, I, 0}};
        v[2] = (param_view){"b_rec", N * N + N * I, 1, {N, 0, 0}};
        v[3] = (param_view){"w_out", N * N + N * I + N, 2, {O, N, 0}};
        v[4] = (param_view){"b_out", N * N + N * I + N + O * N, 1, {O, 0, 0}};
        return 5;
    }
    if (!strcmp(blob->name, "rnn.feedback")) {
        /* fb_out (N, O) then fb_rec (N, N) */
        if (!(N = solve_n(1, (double)O, 0, P))) return 0;
        v[0] = (param_view){"fb_out", 0, 2, {N, O, 0}};
        v[1] = (param_view){"fb_rec", N * O, 2, {N, N, 0}};
        return 2;
    }
    if (!strcmp(blob->name, "r2n2.params")) {
        /* P = 2 N N + N I + O N (r2n2.h) */
        if (!(N = solve_n(2, (double)(I + O), 0, P))) return 0;
        v[0] = (param_view){"w_ab", 0, 2, {N, N, 0}};
        v[1] = (param_view){"w_ba", N * N, 2, {N, N, 0}};
        v[2] = (param_view){"w_ia", 2 * N * N, 2, {N, I, 0}};
        v[3] = (param_view){"w_bo", 2 * N * N + N * I, 2, {O, N, 0}};
        return 4;
    }
    return 0;
}
