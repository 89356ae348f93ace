/* npy.h: NumPy .npy files (format 1.0, little-endian '<f8', C order).
 *
 * engram writes every array a figure is drawn from as .npy, which numpy.load() reads.
 * Reading accepts only what engram writes ('<f8', C order, version 1.0 or 2.0) and
 * refuses anything else (truncated, foreign, Fortran order, other dtypes) with a
 * one-line message and ENGRAM_EFORMAT.
 *
 * Example:
 *     size_t shape[2] = {T, N};
 *     npy_write("states.npy", x, 2, shape);
 *     double *y; size_t nd, sh[NPY_MAX_DIMS];
 *     if (npy_read("states.npy", &y, &nd, sh) == ENGRAM_OK) { ...; free(y); }
 */
#ifndef ENGRAM_NPY_H
#define ENGRAM_NPY_H

#include <stddef.h>

#define NPY_MAX_DIMS 8

/* Writes data of the given shape (ndim <= NPY_MAX_DIMS; ndim 0 is a scalar) to path.
 * Writes to a temporary file and renames it, so an existing file is never left half
 * written. Returns ENGRAM_OK or ENGRAM_EIO / ENGRAM_EINVAL. */
int npy_write(const char *path, const double *data, size_t ndim, const size_t *shape);

/* Reads path; on success *data is a malloc'd block the caller frees, *ndim and
 * shape[0..ndim-1] are set. Returns ENGRAM_OK, ENGRAM_EIO (missing/unreadable) or
 * ENGRAM_EFORMAT (truncated or not an engram-compatible array). */
int npy_read(const char *path, double **data, size_t *ndim, size_t *shape);

#endif
