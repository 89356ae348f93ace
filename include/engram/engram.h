/* engram.h: common definitions of the engram library.
 *
 * engram simulates biologically plausible learning in recurrent neural networks:
 * reservoirs with delta-rule readouts, rate RNNs trained by BPTT, feedback-alignment
 * BPTT and RFLO, the R2N2 replay model, and a path-integrating LSTM with grid cells.
 *
 * Conventions used by every module
 * --------------------------------
 * - Numbers are `double`, sizes are `size_t`; arrays are flat, row-major blocks.
 * - Shape comments use one capital letter per dimension: T time steps, B batch items,
 *   I inputs, N recurrent units, O outputs. A batch of trials is stored (B, T, I):
 *   element (b, t, i) of x is x[(b * T + t) * I + i]. A single trial is (T, I).
 * - Library functions return an `int` status (ENGRAM_OK on success) and never exit.
 *   On failure they record a one-line message readable with engram_error().
 * - `_alloc` / `_free` pairs own memory; `_free(NULL)` is a no-op.
 * - Every random draw comes from a gsl_rng obtained from rng_stream_alloc() (rng.h).
 */
#ifndef ENGRAM_ENGRAM_H
#define ENGRAM_ENGRAM_H

#include <stddef.h>

#define ENGRAM_VERSION "0.1.0"

/* Status codes. */
enum {
    ENGRAM_OK = 0,
    ENGRAM_EINVAL = 1,    /* bad usage or configuration value */
    ENGRAM_EIO = 2,       /* file could not be read or written */
    ENGRAM_EFORMAT = 3,   /* file is truncated, foreign or of another version */
    ENGRAM_ENOMEM = 4,    /* allocation failed */
    ENGRAM_EDIVERGED = 5, /* a training run produced non-finite or exploding values */
    ENGRAM_ERANGE = 6,    /* a request is outside what the model supports */
    ENGRAM_EINTR = 7      /* stopped by SIGINT or SIGTERM (after saving a checkpoint) */
};

/* Records a printf-style one-line error message for the calling thread and returns
 * `status` unchanged, so library code can write `return engram_fail(ENGRAM_EIO, ...)`. */
int engram_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns the calling thread's last error message ("" if none). The pointer stays
 * valid until the next engram_fail() on the same thread. */
const char *engram_error(void);

/* Clears the calling thread's error message. */
void engram_error_clear(void);

/* Maps a status to the command-line exit code: 0 ok, 2 usage/configuration, 1 otherwise. */
int engram_exit_code(int status);

/* Returns 1 if all n values are finite, 0 otherwise. */
int engram_all_finite(const double *x, size_t n);

/* Wall-clock seconds from a monotonic clock (for timing only, never for results). */
double engram_wall_time(void);

#endif
