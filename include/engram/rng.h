/* rng.h: named, independent random streams derived from one run seed.
 *
 * Every random draw in engram comes from a stream obtained here. A stream is named by
 * purpose ("weights", "data", "test", "noise", "dropout", ...) and an index (the work
 * item: batch element, seed number, unit...). The stream's state is a deterministic
 * function of (seed, name, index) only, so results never depend on the thread count
 * or on the order in which streams are created.
 *
 * Example:
 *     gsl_rng *rw = rng_stream_alloc(seed, "weights", 0);
 *     double w = gsl_ran_gaussian(rw, 1.0);
 *     gsl_rng_free(rw);
 *
 * The generator is GSL's mt19937 seeded with a 32-bit value obtained by hashing
 * (seed, name, index) with SplitMix64. The caller owns the returned gsl_rng.
 */
#ifndef ENGRAM_RNG_H
#define ENGRAM_RNG_H

#include <stdint.h>
#include <gsl/gsl_rng.h>

/* Returns the derived 64-bit seed of stream (seed, name, index). */
uint64_t rng_stream_seed(uint64_t seed, const char *name, uint64_t index);

/* Allocates the stream (seed, name, index); returns NULL only if allocation fails.
 * Free with gsl_rng_free(). */
gsl_rng *rng_stream_alloc(uint64_t seed, const char *name, uint64_t index);

/* Re-seeds an existing generator as stream (seed, name, index). */
void rng_stream_reset(gsl_rng *r, uint64_t seed, const char *name, uint64_t index);

/* out[i] = gsl_rng_uniform(r) for i < n, in that order, leaving r where n calls would:
 * the same values, generated in blocks of 624 for GSL's mt19937 (the streams' type;
 * it works on the generator's state as GSL lays it out, checked against
 * gsl_rng_uniform in tests/test_engine.c) and one call at a time for any other type. */
void rng_uniform_fill(gsl_rng *r, double *out, size_t n);

#endif
