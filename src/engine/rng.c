/* rng.c: named random streams derived from the run seed (rng.h). */
#include "engram/rng.h"

/* SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer. */
static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t rng_stream_seed(uint64_t seed, const char *name, uint64_t index) {
    uint64_t h = mix64(seed);
    /* FNV-1a over the stream name, folded through the mixer. */
    uint64_t f = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        f ^= *p;
        f *= 0x100000001b3ULL;
    }
    h = mix64(h ^ f);
    h = mix64(h ^ index);
    return h;
}

void rng_stream_reset(gsl_rng *r, uint64_t seed, const char *name, uint64_t index) {
    uint64_t s = rng_stream_seed(seed, name, index);
    /* mt19937 uses 32 bits of its seed; 0 selects GSL's default seed, so avoid it. */
    unsigned long s32 = (unsigned long)((s ^ (s >> 32)) & 0xffffffffUL);
    if (s32 == 0) s32 = 0x6d2b79f5UL;
    gsl_rng_set(r, s32);
}

gsl_rng *rng_stream_alloc(uint64_t seed, const char *name, uint64_t index) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) return NULL;
    rng_stream_reset(r, seed, name, index);
    return r;
}

/* GSL's mt19937 state (gsl/rng/mt.c): the 624 words and the read position. */
enum { MT_N = 624, MT_M = 397 };
typedef struct {
    unsigned long mt[MT_N];
    int mti;
} mt_state;

/* The next block of 624 words (Matsumoto & Nishimura 1998, as GSL's mt_get; the words
 * stay below 2^32). */
static void mt_refill(unsigned long *mt) {
    const unsigned long upper = 0x80000000UL, lower = 0x7fffffffUL, magic = 0x9908b0dfUL;
    int kk;
    for (kk = 0; kk < MT_N - MT_M; kk++) {
        unsigned long y = (mt[kk] & upper) | (mt[kk + 1] & lower);
        mt[kk] = mt[kk + MT_M] ^ (y >> 1) ^ ((0 - (y & 1)) & magic);
    }
    for (; kk < MT_N - 1; kk++) {
        unsigned long y = (mt[kk] & upper) | (mt[kk + 1] & lower);
        mt[kk] = mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ ((0 - (y & 1)) & magic);
    }
    unsigned long y = (mt[MT_N - 1] & upper) | (mt[0] & lower);
    mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ ((0 - (y & 1)) & magic);
}

/* out[k] = tempered mt[k] / 2^32 for k < m (GSL's mt_get_double), in 32-bit words: the
 * same values, and a conversion that vectorises. */
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
static void mt_temper(const unsigned long *restrict mt, size_t m, double *restrict out) {
#ifdef _OPENMP
#pragma omp simd
#endif
    for (size_t k = 0; k < m; k++) {
        uint32_t y = (uint32_t)mt[k];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        /* (double)y exactly, through a signed conversion */
        out[k] = ((double)(int32_t)(y ^ 0x80000000u) + 2147483648.0) / 4294967296.0;
    }
}

void rng_uniform_fill(gsl_rng *r, double *out, size_t n) {
    if (r->type != gsl_rng_mt19937) {
        for (size_t i = 0; i < n; i++) out[i] = gsl_rng_uniform(r);
        return;
    }
    mt_state *st = r->state;
    size_t i = 0;
    while (i < n) {
        if (st->mti >= MT_N) {
            mt_refill(st->mt);
            st->mti = 0;
        }
        size_t k0 = (size_t)st->mti, m = MT_N - k0 < n - i ? MT_N - k0 : n - i;
        mt_temper(st->mt + k0, m, out + i);
        st->mti += (int)m;
        i += m;
    }
}
