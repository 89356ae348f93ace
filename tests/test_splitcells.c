/* test_splitcells.c: the track-cell classes and the splitter permutation test
 * (splitcells.h) on synthetic units whose answer is known by construction. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/rng.h"
#include "engram/splitcells.h"
#include "testhelp.h"

enum { L = 40 };

static void test_classes(void) {
    cells_params p = cells_defaults();
    double m[L];
    for (size_t j = 0; j < L; j++) m[j] = 0.2385 + exp(-0.5 * pow(((double)j - 17.0) / 2.0, 2));
    CHECK(cells_path_class(m, L, &p) == CELLS_PLACE, "a Gaussian bump (sd 2 of 40 positions) is a place field");
    for (size_t j = 0; j < L; j++) m[j] = 0.1 + 0.02 * (double)j;
    CHECK(cells_path_class(m, L, &p) == CELLS_RAMP, "a linear rise is a ramp");
    for (size_t j = 0; j < L; j++) m[j] = 0.9 - 0.013 * (double)j;
    CHECK(cells_path_class(m, L, &p) == CELLS_RAMP, "a linear fall is a ramp");
    for (size_t j = 0; j < L; j++) m[j] = 0.5;
    CHECK(cells_path_class(m, L, &p) == CELLS_OTHER, "a flat map is other");
    for (size_t j = 0; j < L; j++) m[j] = sin(2 * M_PI * 2.0 * (double)j / L);
    CHECK(cells_path_class(m, L, &p) == CELLS_OTHER, "two broad periods are other (half the path above half height)");
    for (size_t j = 0; j < L; j++) m[j] = exp(-0.5 * pow(((double)j - 39.0) / 1.5, 2));
    CHECK(cells_path_class(m, L, &p) == CELLS_PLACE, "a sharp field at the path's end is a place field");
    for (size_t j = 0; j < L; j++) m[j] = 0.2385 + exp(-0.5 * pow(((double)j - 17.0) / 2.0, 2));
    m[3] = m[30] = NAN;
    CHECK(cells_path_class(m, L, &p) == CELLS_PLACE, "unvisited (NaN) positions are skipped");
    m[0] = 1; m[1] = NAN;
    CHECK(cells_path_class(m, 2, &p) == CELLS_OTHER, "fewer than 3 visited positions: other");
    /* the ramp threshold against a closed form: r(j, j^2) over j = 0..9 =
     * 74.25 / sqrt(8.25 * 721.05) = 0.96269 */
    double q[10];
    for (size_t j = 0; j < 10; j++) q[j] = (double)(j * j);
    p.ramp_r = 0.9626;
    CHECK(cells_path_class(q, 10, &p) == CELLS_RAMP, "j^2 is a ramp at threshold 0.9626 (r = 0.96269)");
    p.ramp_r = 0.9628;
    CHECK(cells_path_class(q, 10, &p) != CELLS_RAMP, "j^2 is not a ramp at threshold 0.9628");
    /* unit classes: place on one path wins over a ramp on the other */
    p = cells_defaults();
    double maps[2 * 3 * L];
    for (size_t j = 0; j < L; j++) {
        maps[(0 * 3 + 0) * L + j] = exp(-0.5 * pow(((double)j - 10.0) / 2.0, 2));
        maps[(1 * 3 + 0) * L + j] = 0.01 * (double)j;
        maps[(0 * 3 + 1) * L + j] = 0.01 * (double)j;
        maps[(1 * 3 + 1) * L + j] = 0.3 - 0.005 * (double)j;
        maps[(0 * 3 + 2) * L + j] = 1.0;
        maps[(1 * 3 + 2) * L + j] = 1.0;
    }
    int cls[3];
    cells_classify(maps, 2, 3, L, &p, cls);
    CHECK(cls[0] == CELLS_PLACE && cls[1] == CELLS_RAMP && cls[2] == CELLS_OTHER,
          "unit classes: place on one path -> place (%d), ramps -> ramp (%d), flat -> other (%d)",
          cls[0], cls[1], cls[2]);
}

/* act (K, P, N) with N units: rate = base + effect[u] * label + noise sd on every position */
static void fill(double *act, size_t K, size_t P, size_t N, const int *label, const int *stratum,
                 const double *eff, const double *by_stratum, double sd, gsl_rng *r) {
    for (size_t k = 0; k < K; k++)
        for (size_t q = 0; q < P; q++)
            for (size_t u = 0; u < N; u++)
                act[(k * P + q) * N + u] = 0.385 + eff[u] * label[k] + by_stratum[u] * stratum[k] +
                                           (sd > 0 ? gsl_ran_gaussian(r, sd) : 0);
}

static void test_splitter(void) {
    enum { K = 40, P = 10, N = 203 };
    cells_params p = cells_defaults();
    static double act[K * P * N];
    int label[K], stratum[K];
    double eff[N], bys[N], range[N], d[N], pv[N], d2[N], pv2[N];
    size_t seg[5] = {3, 4, 5, 6, 7};
    for (size_t k = 0; k < K; k++) { label[k] = (int)(k % 2); stratum[k] = 0; }
    for (size_t u = 0; u < N; u++) { eff[u] = 0; bys[u] = 0; range[u] = 1; }
    eff[0] = 0.5;   /* a splitter: 0.5 of its range, noise sd 0.05 */
    eff[1] = 0.03;  /* separated, but below min_effect */
    gsl_rng *r = rng_stream_alloc(7, "test", 0);
    fill(act, K, P, N, label, stratum, eff, bys, 0.05, r);
    for (size_t k = 0; k < K; k++) /* unit 2: identical on every trial */
        for (size_t q = 0; q < P; q++) act[(k * P + q) * N + 2] = 0.77;
    gsl_rng *rs = rng_stream_alloc(7, "shuffle", 0);
    int st = cells_splitter(act, K, P, N, label, stratum, seg, 5, range, &p, rs, d, pv);
    CHECK(st == ENGRAM_OK, "splitter statistics computed");
    CHECK_CLOSE(d[0], 0.5, 0.05, "effect of a 0.5-range splitter");
    CHECK(pv[0] == 1.0 / 201.0, "perfectly separated labels: p = 1 / (1 + 200) (%.6g)", pv[0]);
    CHECK(pv[0] < p.alpha && d[0] >= p.min_effect, "unit 0 is a splitter");
    CHECK(pv[1] < p.alpha && d[1] < p.min_effect, "unit 1 beyond the null (p %.3g) but effect %.3g < 0.1", pv[1], d[1]);
    CHECK(d[2] == 0 && pv[2] == 1, "identical trials: effect 0, p 1");
    /* calibration: 200 pure-noise units, p roughly uniform: about 5 % below 0.05 */
    size_t low = 0;
    for (size_t u = 3; u < N; u++) low += pv[u] < 0.05;
    CHECK(low >= 2 && low <= 20, "noise units with p < 0.05: %zu of 200 (expected about 10)", low);
    /* same seed, same p */
    gsl_rng_free(rs);
    rs = rng_stream_alloc(7, "shuffle", 0);
    cells_splitter(act, K, P, N, label, stratum, seg, 5, range, &p, rs, d2, pv2);
    CHECK(!memcmp(pv, pv2, sizeof pv) && !memcmp(d, d2, sizeof d), "same seed, same statistics");
    /* a stratum effect confounded with the labels: stratum 0 has 15 trials of label 0 and
     * 5 of label 1, stratum 1 the reverse; the unit only follows the stratum */
    for (size_t k = 0; k < K; k++) {
        stratum[k] = k >= 20;
        label[k] = k < 20 ? (k % 4 == 0) : (k % 4 != 0);
    }
    for (size_t u = 0; u < N; u++) { eff[u] = 0; bys[u] = 0; }
    bys[0] = 0.5;
    fill(act, K, P, N, label, stratum, eff, bys, 0.05, r);
    cells_splitter(act, K, P, N, label, stratum, seg, 5, range, &p, rs, d, pv);
    CHECK(pv[0] > 0.05, "stratified shuffle: a stratum-only unit is no splitter (p %.3g)", pv[0]);
    int flat[K];
    for (size_t k = 0; k < K; k++) flat[k] = 0;
    cells_splitter(act, K, P, N, label, flat, seg, 5, range, &p, rs, d, pv);
    CHECK(pv[0] < 0.05, "unstratified shuffle calls it a splitter (p %.3g): strata matter", pv[0]);
    /* unvisited positions are skipped: NaN on one trial's segment */
    for (size_t u = 0; u < N; u++) act[(0 * P + 4) * N + u] = NAN;
    st = cells_splitter(act, K, P, N, label, stratum, seg, 5, range, &p, rs, d, pv);
    CHECK(st == ENGRAM_OK && isfinite(d[0]), "a NaN (unvisited) trial position is skipped");
    /* errors */
    for (size_t k = 0; k < K; k++) label[k] = 0;
    CHECK(cells_splitter(act, K, P, N, label, stratum, seg, 5, range, &p, rs, d, pv) == ENGRAM_EINVAL,
          "one label only refused: %s", engram_error());
    label[1] = 1;
    size_t bad[1] = {P};
    CHECK(cells_splitter(act, K, P, N, label, stratum, bad, 1, range, &p, rs, d, pv) == ENGRAM_EINVAL,
          "segment outside the positions refused: %s", engram_error());
    p.n_shuffle = 0;
    CHECK(cells_splitter(act, K, P, N, label, stratum, seg, 5, range, &p, rs, d, pv) == ENGRAM_EINVAL,
          "n_shuffle 0 refused: %s", engram_error());
    gsl_rng_free(r);
    gsl_rng_free(rs);
}

static const test_case tests[] = {
    {"classes", test_classes},
    {"splitter", test_splitter},
    {NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
