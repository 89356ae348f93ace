/* run.h: what an experiment run writes, and the pieces every run loop reuses.
 *
 * A run lives in one output directory (SPEC.md, "What a run writes"):
 *   config.ini    the resolved configuration (written by the engine before the run)
 *   metrics.csv   one row per evaluation point: step, the experiment's columns, wall_s
 *   summary.json  final metrics plus experiment, rule, seed, version, threads, wall_s,
 *                 status; also printed as the last line of stdout
 *   *.npy, *.png  arrays and figures
 *   checkpoint.bin  (long runs) magic, format version, named blobs, checksum
 *
 * An experiment's run function receives a run_ctx, reads its configuration from
 * ctx->cfg, writes metrics rows and arrays through the helpers here, adds its final
 * metrics with run_summary_*(), and returns a status. The engine (cli) writes
 * summary.json after the function returns, with status "ok", or "diverged" when the
 * function returned ENGRAM_EDIVERGED.
 *
 * Resuming: when ctx->resuming is set, the run function loads checkpoint.bin (with
 * ckpt_load) and continues from its step; run_metrics_begin() then keeps the rows of
 * metrics.csv up to that step and appends after them, so the finished files equal
 * those of an uninterrupted run.
 *
 * Checkpoint file layout (little-endian): "ENGRAMCK" (8 bytes), u32 format version,
 * u32 length + experiment name, i64 step, u32 blob count, then per blob u32 name
 * length + name, u64 size + bytes, then u64 FNV-1a checksum of everything before it.
 */
#ifndef ENGRAM_RUN_H
#define ENGRAM_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "engram/config.h"

#define RUN_MAX_COLUMNS 64
#define RUN_MAX_SUMMARY 64

typedef struct run_ctx {
    config *cfg;            /* resolved configuration (owned by the engine) */
    const char *experiment; /* experiment name */
    const char *rule;       /* value of train.rule, or "" */
    char out_dir[1024];
    uint64_t seed;
    int threads;
    int quiet;
    int resuming;            /* set by `engram resume` */
    double t_start;          /* engram_wall_time() at start */
    double wall_offset;      /* wall seconds already spent before a resume */
    /* metrics.csv */
    FILE *metrics;
    size_t n_columns;
    /* summary fields (filled by run_summary_*) */
    size_t n_summary;
    char summary_key[RUN_MAX_SUMMARY][48];
    char summary_val[RUN_MAX_SUMMARY][96];
    /* progress */
    double last_progress;
    char path_buf[1200];
} run_ctx;

/* Returns out_dir/name in a buffer owned by ctx, overwritten by the next call. */
const char *run_path(run_ctx *ctx, const char *name);

/* Creates dir (and parents) if missing. An existing directory that holds a
 * config.ini or summary.json is refused unless force is set. Returns ENGRAM_OK,
 * ENGRAM_EINVAL (exists) or ENGRAM_EIO (cannot create or write). */
int run_dir_prepare(const char *dir, int force);

/* Opens metrics.csv with header "step,<columns...>,wall_s". When ctx->resuming,
 * keeps the existing rows whose step <= keep_until_step and appends after them.
 * Returns ENGRAM_OK or ENGRAM_EIO. */
int run_metrics_begin(run_ctx *ctx, const char *const *columns, size_t n_columns,
                      long keep_until_step);

/* Appends one row: step, vals[0..n_columns-1] (%.10g, "nan" allowed), wall seconds. */
int run_metrics_row(run_ctx *ctx, long step, const double *vals);

/* Wall seconds of this run so far, including time before a resume. */
double run_wall(const run_ctx *ctx);

/* Summary fields (added in order; a key set twice keeps the last value). */
void run_summary_real(run_ctx *ctx, const char *key, double v);
void run_summary_int(run_ctx *ctx, const char *key, long v);
void run_summary_str(run_ctx *ctx, const char *key, const char *v);

/* Returns the value text of a summary key already set, or NULL. */
const char *run_summary_get(const run_ctx *ctx, const char *key);

/* Writes summary.json (engine fields first, then the run's fields) and, unless
 * print is 0, prints it on one line to stdout. status_text is "ok" or "diverged". */
int run_summary_write(run_ctx *ctx, const char *status_text, int print);

/* Progress on stderr: on a terminal a redrawn line, otherwise a plain line at most
 * every 5 seconds; nothing when ctx->quiet. Shows step/total, rate and ETA and the
 * caller's message. */
void run_progress(run_ctx *ctx, long step, long total, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Ends a progress line (newline on a terminal). */
void run_progress_done(run_ctx *ctx);

/* Writes an array as out_dir/name (.npy). */
int run_write_npy(run_ctx *ctx, const char *name, const double *data, size_t ndim,
                  const size_t *shape);

/* Reads a CSV file with a header row (such as metrics.csv): *names (C,) and *vals
 * (R, C), row-major, are malloc'd (free with run_csv_free); empty or unparsable cells
 * are NaN. Returns ENGRAM_OK, ENGRAM_EIO (cannot read), ENGRAM_EINVAL (empty file) or
 * ENGRAM_ENOMEM. */
int run_csv_read(const char *path, char ***names, size_t *ncol, double **vals, size_t *nrow);

/* Frees what run_csv_read returned; NULL arguments are no-ops. */
void run_csv_free(char **names, size_t ncol, double *vals);

/* A named byte blob of a checkpoint. */
typedef struct ckpt_blob {
    const char *name;
    void *data;
    size_t size;
} ckpt_blob;

#define CKPT_FORMAT_VERSION 1u

/* Writes a checkpoint atomically (temporary file, then rename). */
int ckpt_save(const char *path, const char *experiment, long step, const ckpt_blob *blobs,
              size_t n_blobs);

/* Reads a checkpoint into the given blobs, whose names and sizes must match the
 * file's exactly (in order). Returns ENGRAM_OK, ENGRAM_EIO (missing) or
 * ENGRAM_EFORMAT (bad magic, version, experiment, names, sizes, truncation or
 * checksum), with a one-line message. After a failure the blobs may be partly
 * overwritten: treat a failed load as fatal for the state it was loading into. */
int ckpt_load(const char *path, const char *experiment, long *step, ckpt_blob *blobs,
              size_t n_blobs);

#endif
