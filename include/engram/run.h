/* run.h: what an experiment run writes, and the pieces every run loop reuses.
 *
 * A run lives in one output directory (README, "What a run writes"; docs/FORMATS.md):
 *   config.ini    the resolved configuration (written by the engine before the run)
 *   metrics.csv   one row per evaluation point: step, the experiment's columns, wall_s
 *   summary.json  final metrics plus experiment, rule, seed, version, threads, wall_s,
 *                 status; also printed as the last line of stdout
 *   *.npy, *.png  arrays and figures; the trained parameters one .npy per named
 *                 matrix (run_write_params)
 *   checkpoint.bin  (long runs) magic, format version, configuration hash, named
 *                 blobs, checksum
 *   .lock         held with flock() by the process that runs in the directory, so two
 *                 runs never share one directory (the file itself stays)
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
 * Interruption: the engine turns SIGINT and SIGTERM into a flag (run_stop_signal());
 * a run function that checkpoints checks it at step boundaries, saves a checkpoint and
 * returns ENGRAM_EINTR; the engine then says how to resume and exits 130 or 143.
 *
 * Checkpoint file layout (little-endian): "ENGRAMCK" (8 bytes), u32 format version,
 * u32 length + experiment name, u64 configuration hash (config_hash of the resolved
 * configuration without the keys a resume may change; 0 from ckpt_save), i64 step,
 * u32 blob count, then per blob u32 name length + name, u64 size + bytes, then u64
 * FNV-1a checksum of everything before it.
 */
#ifndef ENGRAM_RUN_H
#define ENGRAM_RUN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "engram/config.h"

#define RUN_MAX_COLUMNS 64
#define RUN_MAX_SUMMARY 64
/* Longest output directory accepted (bytes, without the terminating NUL): room is left
 * for the longest file name a run writes below it, so every path stays below PATH_MAX. */
#define RUN_DIR_MAX (PATH_MAX - 128)

typedef struct run_ctx {
    config *cfg;            /* resolved configuration (owned by the engine) */
    const char *experiment; /* experiment name */
    const char *rule;       /* value of train.rule, or "" */
    char out_dir[RUN_DIR_MAX + 1];
    uint64_t seed;
    uint64_t config_hash;    /* config_hash of cfg, stored in and checked against checkpoints */
    int lock_fd;             /* descriptor of out_dir/.lock + 1 while locked, 0 otherwise */
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
    double rate_t[8];        /* recent (wall time, step) samples for the ETA */
    long rate_s[8];
    size_t n_rate;
    char path_buf[PATH_MAX];
} run_ctx;

/* Returns out_dir/name in a buffer owned by ctx, overwritten by the next call. */
const char *run_path(run_ctx *ctx, const char *name);

/* Checks that dir can name an output directory: not empty, at most RUN_DIR_MAX bytes,
 * no control characters (a newline would break config.ini and every tool reading the
 * path). Returns ENGRAM_OK or ENGRAM_EINVAL with a one-line message. */
int run_dir_check(const char *dir);

/* Opens ctx->out_dir for a new run: checks its name, creates it (and parents) if
 * missing, takes the directory's lock (run_dir_lock), then refuses a directory that
 * already holds a run (config.ini or summary.json) unless force is set, in which case
 * the files engram writes are removed first (run_dir_clear). Returns ENGRAM_OK,
 * ENGRAM_EINVAL (bad name, exists, locked by another process) or ENGRAM_EIO. */
int run_dir_prepare(run_ctx *ctx, int force);

/* Takes an exclusive lock on ctx->out_dir (flock on out_dir/.lock, held until
 * run_dir_unlock or the process ends) and writes this process's id into the lock file.
 * A directory another process holds is refused with ENGRAM_EINVAL and a message that
 * names that process. Returns ENGRAM_OK, ENGRAM_EINVAL or ENGRAM_EIO. */
int run_dir_lock(run_ctx *ctx);

/* Releases the lock taken by run_dir_lock; a no-op when not locked. */
void run_dir_unlock(run_ctx *ctx);

/* Removes the files an engram run or comparison writes from dir: config.ini,
 * metrics.csv, summary.json, checkpoint.bin, comparison.csv, gridscores.csv,
 * ratemaps_order.csv, every *.npy, *.png, *.svg and *.pdf, and the per-run
 * subdirectories of engram compare (RULE-seedN) holding such files. Other files and
 * the lock file stay. Returns ENGRAM_OK or ENGRAM_EIO. */
int run_dir_clear(const char *dir);

/* Makes a fresh directory parent/base, or parent/base-2, parent/base-3, ... if that
 * exists (mkdir is atomic, so concurrent callers never get the same one); writes the
 * path into buf (n bytes). Returns ENGRAM_OK, ENGRAM_EINVAL (too long) or ENGRAM_EIO. */
int run_dir_make_unique(const char *parent, const char *base, char *buf, size_t n);

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

/* Prints "<experiment>: <message>" on stderr unless ctx->quiet: what the run is
 * preparing before its first step (so a user sees something within a second). */
void run_note(run_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Installs SIGINT and SIGTERM handlers that only record the signal. */
void run_signals_install(void);

/* Returns the signal received since run_signals_install (SIGINT or SIGTERM), or 0. */
int run_stop_signal(void);

/* A named matrix inside a model's flat parameter block: params[offset ...] holds a
 * row-major array of the given shape (ndim 1..3). */
typedef struct param_view {
    const char *name;  /* file stem, e.g. "w_rec" */
    size_t offset;     /* in doubles from the start of the block */
    size_t ndim;
    size_t shape[3];
} param_view;

/* Writes params viewed through views[0..n-1] as out_dir/<prefix><name>.npy, one file
 * per view (prefix may be NULL or ""). Refuses (ENGRAM_EDIVERGED, nothing written)
 * when any viewed value is not finite. Returns ENGRAM_OK, ENGRAM_EDIVERGED or
 * ENGRAM_EIO. */
int run_write_params(run_ctx *ctx, const char *prefix, const double *params,
                     const param_view *views, size_t n);

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

/* 2: a configuration hash follows the experiment name. */
#define CKPT_FORMAT_VERSION 2u

/* Writes a checkpoint atomically (temporary file, then rename), with configuration
 * hash 0. */
int ckpt_save(const char *path, const char *experiment, long step, const ckpt_blob *blobs,
              size_t n_blobs);

/* Reads a checkpoint into the given blobs, whose names and sizes must match the
 * file's exactly (in order). Returns ENGRAM_OK, ENGRAM_EIO (missing) or
 * ENGRAM_EFORMAT (bad magic, version, experiment, names, sizes, truncation or
 * checksum), with a one-line message. After a failure the blobs may be partly
 * overwritten: treat a failed load as fatal for the state it was loading into. */
int ckpt_load(const char *path, const char *experiment, long *step, ckpt_blob *blobs,
              size_t n_blobs);

/* ckpt_save into out_dir/checkpoint.bin with ctx->experiment and ctx->config_hash. */
int run_ckpt_save(run_ctx *ctx, long step, const ckpt_blob *blobs, size_t n_blobs);

/* ckpt_load from out_dir/checkpoint.bin; also refuses (ENGRAM_EFORMAT) a checkpoint
 * whose configuration hash differs from ctx->config_hash, which means config.ini was
 * edited or belongs to another run since the checkpoint was written. The blob named
 * growable (NULL: none) may be shorter in the file than its size: a history whose
 * capacity grows with train.steps when a resume extends the run; its bytes after the
 * file's are left as they are. */
int run_ckpt_load(run_ctx *ctx, long *step, ckpt_blob *blobs, size_t n_blobs,
                  const char *growable);

#endif
