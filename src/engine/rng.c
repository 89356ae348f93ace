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
