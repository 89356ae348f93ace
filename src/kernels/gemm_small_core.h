/* gemm_small_core.h: the body of the small-M product (kern_gemm.h), included by gemm.c
 * once per instruction set and type with:
 *
 *     SG(x)           the name x with this instantiation's suffix
 *     SG_REAL         float or double
 *     SG_V, SG_W      the vector type and its number of lanes
 *     SG_MR, SG_NV    the register tile: SG_MR rows by SG_NV vectors of columns
 *     SG_MASK         a lane mask; SG_MASK_N(n) selects lanes 0..n-1 (0 < n < SG_W)
 *     SG_ZERO(), SG_SET1(x), SG_LOAD(p), SG_LOADM(p, m) (0 in lanes off the mask, which
 *     are not read), SG_STORE(p, v), SG_STOREM(p, m, v), SG_FMA(a, b, c) = a b + c rounded
 *     once, SG_MUL(a, b), SG_ADD(a, b)
 *
 * Each C element owns one lane of one accumulator for the whole k loop: acc = fma(a_ik,
 * b_kj, acc) for k = 0..K-1 in order, then c = alpha acc (+ beta c, two roundings of
 * products and one of the sum, as the reference writes it). So neither the tile shape,
 * the vector width nor the split of C changes a bit. The caller compiles this with the
 * instruction set enabled and with ISO C's floating-point contraction off (-std=c11),
 * so SG_MUL and SG_ADD stay separate instructions. */

/* One tile of C: rows 0..mr-1, vectors 0..nv-1 of columns, the last one under mask m
 * when `masked`. mr, nv and masked are constants at every call (the switch below), so
 * the loops unroll and the accumulators live in registers. */
static inline __attribute__((always_inline)) void SG(tile)(const int mr, const int nv, const int masked,
                                                         SG_MASK m, size_t K, SG_REAL alpha,
                                                         const SG_REAL *a, size_t lda, const SG_REAL *b,
                                                         size_t ldb, SG_REAL beta, SG_REAL *c, size_t ldc) {
    SG_V acc[SG_MR][SG_NV];
#pragma GCC unroll 8
    for (int i = 0; i < SG_MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < SG_NV; v++) acc[i][v] = SG_ZERO();
    for (size_t k = 0; k < K; k++) {
        const SG_REAL *bk = b + k * ldb; /* row k of B, columns of this tile */
        SG_V bv[SG_NV];
#pragma GCC unroll 8
        for (int v = 0; v < SG_NV; v++)
            if (v < nv) bv[v] = masked && v == nv - 1 ? SG_LOADM(bk + v * SG_W, m) : SG_LOAD(bk + v * SG_W);
#pragma GCC unroll 8
        for (int i = 0; i < SG_MR; i++)
            if (i < mr) {
                const SG_V ai = SG_SET1(a[i * lda + k]);
#pragma GCC unroll 8
                for (int v = 0; v < SG_NV; v++)
                    if (v < nv) acc[i][v] = SG_FMA(ai, bv[v], acc[i][v]);
            }
    }
    const SG_V va = SG_SET1(alpha), vb = SG_SET1(beta);
#pragma GCC unroll 8
    for (int i = 0; i < SG_MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < SG_NV; v++)
            if (i < mr && v < nv) {
                SG_REAL *ci = c + i * ldc + v * SG_W;
                const int part = masked && v == nv - 1;
                SG_V r = SG_MUL(va, acc[i][v]);
                if (beta != 0) r = SG_ADD(r, SG_MUL(vb, part ? SG_LOADM(ci, m) : SG_LOAD(ci)));
                if (part) SG_STOREM(ci, m, r);
                else SG_STORE(ci, r);
            }
}

/* The tile for run-time mr (1..SG_MR), nv (1..SG_NV) and masked. */
static void SG(tile_any)(int mr, int nv, int masked, SG_MASK m, size_t K, SG_REAL alpha, const SG_REAL *a,
                         size_t lda, const SG_REAL *b, size_t ldb, SG_REAL beta, SG_REAL *c, size_t ldc) {
#define SG_CASE(MR_, NV_)                                                                           \
    case (MR_) * 16 + (NV_):                                                                        \
        if (masked) SG(tile)(MR_, NV_, 1, m, K, alpha, a, lda, b, ldb, beta, c, ldc);               \
        else SG(tile)(MR_, NV_, 0, m, K, alpha, a, lda, b, ldb, beta, c, ldc);                      \
        return;
#if SG_NV == 2
#define SG_CASES(MR_) SG_CASE(MR_, 1) SG_CASE(MR_, 2)
#elif SG_NV == 4
#define SG_CASES(MR_) SG_CASE(MR_, 1) SG_CASE(MR_, 2) SG_CASE(MR_, 3) SG_CASE(MR_, 4)
#else
#error "gemm_small_core.h: SG_NV is 2 or 4"
#endif
#if SG_MR != 6
#error "gemm_small_core.h: SG_MR is 6"
#endif
    switch (mr * 16 + nv) {
        SG_CASES(1) SG_CASES(2) SG_CASES(3) SG_CASES(4) SG_CASES(5) SG_CASES(6)
    default: return; /* unreachable: 1 <= mr <= SG_MR, 1 <= nv <= SG_NV */
    }
#undef SG_CASES
#undef SG_CASE
}

/* C (M, N) = alpha A (M, K) B (K, N) + beta C, tiles of SG_NV vectors of columns (the
 * outer loop: a K x SG_NV SG_W panel of B is reused by every row tile) by row tiles of
 * nearly equal heights <= SG_MR (25 rows: five of 5, not four of 6 and one of 1). */
static void SG(gemm)(size_t M, size_t N, size_t K, SG_REAL alpha, const SG_REAL *a, size_t lda,
                     const SG_REAL *b, size_t ldb, SG_REAL beta, SG_REAL *c, size_t ldc) {
    if (M == 0 || N == 0) return;
    const size_t nb = SG_NV * SG_W, n_rt = (M + SG_MR - 1) / SG_MR;
    const size_t q = M / n_rt, r = M % n_rt; /* row tiles: r of q + 1 rows, then q rows */
    for (size_t j0 = 0; j0 < N; j0 += nb) {
        const size_t nw = N - j0 < nb ? N - j0 : nb, tail = nw % SG_W;
        const int nv = (int)((nw + SG_W - 1) / SG_W);
        /* the last vector of a partial tile is masked: columns past N are not read */
        const SG_MASK m = SG_MASK_N(tail ? tail : 1);
        for (size_t t = 0, i0 = 0; t < n_rt; i0 += q + (t < r), t++)
            SG(tile_any)((int)(q + (t < r)), nv, tail != 0, m, K, alpha, a + i0 * lda, lda, b + j0, ldb,
                         beta, c + i0 * ldc + j0, ldc);
    }
}
