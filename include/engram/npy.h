/* npy.h: NumPy .npy files (format 1.0, little-endian '<f8', C order).
 *
 * engram writes every array a figure is drawn from as .npy ('<f8'), which numpy.load()
 * reads. Reading accepts float64 and float32 in either byte order ('<f8', '>f8', '<f4',
 * '>f4', '=' as '<'), C order, format version 1.0 or 2.0, and converts to double; it
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

/* Reads path (float32 widened to double); on success *data is a malloc'd block the
 * caller frees, *ndim and
 * shape[0..ndim-1] are set. Returns ENGRAM_OK, ENGRAM_EIO (missing/unreadable) or
 * ENGRAM_EFORMAT (truncated or not an engram-compatible array). */
int npy_read(const char *path, double **data, size_t *ndim, size_t *shape);

#endif
