/* run.c: run directories, metrics.csv, summary.json, progress and checkpoints (run.h). */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "engram/engram.h"
#include "engram/npy.h"
#include "engram/run.h"

const char *run_path(run_ctx *ctx, const char *name) {
    int n = snprintf(ctx->path_buf, sizeof ctx->path_buf, "%s/%s", ctx->out_dir, name);
    assert(n > 0 && (size_t)n < sizeof ctx->path_buf); /* out_dir <= RUN_DIR_MAX, names short */
    (void)n;
    return ctx->path_buf;
}

int run_dir_check(const char *dir) {
    size_t n = strlen(dir);
    if (n == 0) return engram_fail(ENGRAM_EINVAL, "empty output directory name");
    if (n > RUN_DIR_MAX)
        return engram_fail(ENGRAM_EINVAL, "output directory name is %zu bytes long (at most %d)",
                           n, RUN_DIR_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)dir[i];
        if (ch < 0x20 || ch == 0x7f)
            return engram_fail(ENGRAM_EINVAL, "output directory name contains control character "
                               "0x%02x at byte %zu (newlines and tabs are refused)", ch, i);
    }
    return ENGRAM_OK;
}

static int mkdir_p(const char *dir) {
    char *buf = strdup(dir);
    if (!buf) { errno = ENOMEM; return -1; }
    int rc = 0;
    for (char *p = buf + 1; *p && rc == 0; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) rc = -1;
        *p = '/';
    }
    if (rc == 0 && mkdir(buf, 0777) != 0 && errno != EEXIST) rc = -1;
    free(buf);
    return rc;
}

/* Joins dir and name into a malloc'd string (NULL when out of memory). */
static char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int path_exists(const char *dir, const char *name) {
    char *p = path_join(dir, name);
    int r = p && access(p, F_OK) == 0;
    free(p);
    return r;
}

int run_dir_lock(run_ctx *ctx) {
    if (ctx->lock_fd) return ENGRAM_OK;
    const char *path = run_path(ctx, ".lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return engram_fail(ENGRAM_EIO, "cannot create lock file %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        /* the holder writes its pid just after taking the lock: give it a moment */
        ssize_t r = 0;
        for (int tries = 0; tries < 50 && (r = pread(fd, pid, sizeof pid - 1, 0)) <= 0; tries++)
            usleep(2000);
        close(fd);
        if (e != EWOULDBLOCK)
            return engram_fail(ENGRAM_EIO, "cannot lock %s: %s", path, strerror(e));
        if (r > 0) pid[r] = '\0';
        long holder = strtol(pid, NULL, 10);
        if (holder > 0)
            return engram_fail(ENGRAM_EINVAL, "output directory %s is in use by engram process %ld",
                               ctx->out_dir, holder);
        return engram_fail(ENGRAM_EINVAL, "output directory %s is in use by another engram process",
                           ctx->out_dir);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        close(fd);
        return engram_fail(ENGRAM_EIO, "cannot write lock file %s", path);
    }
    ctx->lock_fd = fd + 1;
    return ENGRAM_OK;
}

void run_dir_unlock(run_ctx *ctx) {
    if (!ctx->lock_fd) return;
    close(ctx->lock_fd - 1); /* closing the descriptor releases the flock */
    ctx->lock_fd = 0;
}

/* 1 when name ends in one of the extensions of a file engram writes. */
static int engram_file(const char *name) {
    static const char *const exact[] = {"config.ini", "metrics.csv", "summary.json",
                                        "checkpoint.bin", "checkpoint.bin.tmp", "comparison.csv",
                                        "gridscores.csv", "ratemaps_order.csv", NULL};
    for (size_t i = 0; exact[i]; i++)
        if (!strcmp(name, exact[i])) return 1;
    static const char *const ext[] = {".npy", ".png", ".svg", ".pdf", ".npy.tmp", NULL};
    size_t n = strlen(name);
    for (size_t i = 0; ext[i]; i++) {
        size_t k = strlen(ext[i]);
        if (n > k && !strcmp(name + n - k, ext[i])) return 1;
    }
    return 0;
}

/* 1 when name looks like a subdirectory engram compare writes: RULE-seedN. */
static int compare_subdir(const char *name) {
    const char *p = strstr(name, "-seed");
    if (!p || p == name) return 0;
    p += 5;
    if (!*p) return 0;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

int run_dir_clear(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return engram_fail(ENGRAM_EIO, "cannot read directory %s: %s", dir, strerror(errno));
    int st = ENGRAM_OK;
    for (struct dirent *de; st == ENGRAM_OK && (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        char *p = path_join(dir, de->d_name);
        if (!p) { st = engram_fail(ENGRAM_ENOMEM, "out of memory"); break; }
        struct stat sb;
        if (lstat(p, &sb) == 0) {
            if (S_ISREG(sb.st_mode) && engram_file(de->d_name)) {
                if (unlink(p) != 0)
                    st = engram_fail(ENGRAM_EIO, "cannot remove %s: %s", p, strerror(errno));
            } else if (S_ISDIR(sb.st_mode) && compare_subdir(de->d_name)) {
                st = run_dir_clear(p);
                char *lock = path_join(p, ".lock");
                if (lock) unlink(lock);
                free(lock);
                rmdir(p); /* stays when it holds other files */
            }
        }
        free(p);
    }
    closedir(d);
    return st;
}

int run_dir_prepare(run_ctx *ctx, int force) {
    const char *dir = ctx->out_dir;
    int st = run_dir_check(dir);
    if (st != ENGRAM_OK) return st;
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return engram_fail(ENGRAM_EIO, "output path %s exists and is not a directory", dir);
    } else if (mkdir_p(dir) != 0) {
        return engram_fail(ENGRAM_EIO, "cannot create output directory %s: %s", dir, strerror(errno));
    }
    if (access(dir, W_OK) != 0)
        return engram_fail(ENGRAM_EIO, "output directory %s is not writable: %s", dir, strerror(errno));
    /* Lock first, then look: another run may have finished in between. */
    st = run_dir_lock(ctx);
    if (st != ENGRAM_OK) return st;
    int has_run = path_exists(dir, "config.ini") || path_exists(dir, "summary.json");
    if (has_run && !force) {
        run_dir_unlock(ctx);
        return engram_fail(ENGRAM_EINVAL,
                           "output directory %s already holds a run (use --force to overwrite, "
                           "or engram resume %s)", dir, dir);
    }
    if (has_run || path_exists(dir, "comparison.csv")) {
        st = run_dir_clear(dir);
        if (st != ENGRAM_OK) { run_dir_unlock(ctx); return st; }
    }
    return ENGRAM_OK;
}

int run_dir_make_unique(const char *parent, const char *base, char *buf, size_t n) {
    if (mkdir_p(parent) != 0)
        return engram_fail(ENGRAM_EIO, "cannot create directory %s: %s", parent, strerror(errno));
    for (long k = 1; k < 100000; k++) {
        int len = k == 1 ? snprintf(buf, n, "%s/%s", parent, base)
                         : snprintf(buf, n, "%s/%s-%ld", parent, base, k);
        if (len < 0 || (size_t)len >= n)
            return engram_fail(ENGRAM_EINVAL, "output directory name %s/%s is too long", parent, base);
        if (mkdir(buf, 0777) == 0) return ENGRAM_OK;
        if (errno != EEXIST)
            return engram_fail(ENGRAM_EIO, "cannot create output directory %s: %s", buf, strerror(errno));
    }
    return engram_fail(ENGRAM_EIO, "no free output directory name %s/%s-N", parent, base);
}

double run_wall(const run_ctx *ctx) { return ctx->wall_offset + (engram_wall_time() - ctx->t_start); }

int run_metrics_begin(run_ctx *ctx, const char *const *columns, size_t n_columns,
                      long keep_until_step) {
    const char *path = run_path(ctx, "metrics.csv");
    char *kept = NULL;
    size_t kept_len = 0;
    if (ctx->resuming) {
        /* Keep the header and the rows up to the checkpoint's step. */
        FILE *in = fopen(path, "r");
        if (in) {
            char line[8192];
            size_t cap = 1 << 16;
            kept = malloc(cap);
            if (!kept) { fclose(in); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
            int first = 1;
            while (fgets(line, sizeof line, in)) {
                if (!first) {
                    char *end;
                    long step = strtol(line, &end, 10);
                    if (end == line || step > keep_until_step) continue;
                }
                first = 0;
                size_t l = strlen(line);
                if (kept_len + l + 1 > cap) {
                    cap = 2 * (kept_len + l + 1);
                    char *k2 = realloc(kept, cap);
                    if (!k2) { free(kept); fclose(in); return engram_fail(ENGRAM_ENOMEM, "out of memory"); }
                    kept = k2;
                }
                memcpy(kept + kept_len, line, l);
                kept_len += l;
            }
            fclose(in);
        }
    }
    ctx->metrics = fopen(path, "w");
    if (!ctx->metrics) { free(kept); return engram_fail(ENGRAM_EIO, "cannot write %s", path); }
    ctx->n_columns = n_columns;
    if (kept_len) {
        fwrite(kept, 1, kept_len, ctx->metrics);
    } else {
        fprintf(ctx->metrics, "step");
        for (size_t i = 0; i < n_columns; i++) fprintf(ctx->metrics, ",%s", columns[i]);
        fprintf(ctx->metrics, ",wall_s\n");
    }
    free(kept);
    fflush(ctx->metrics);
    return ENGRAM_OK;
}

int run_metrics_row(run_ctx *ctx, long step, const double *vals) {
    if (!ctx->metrics) return engram_fail(ENGRAM_EIO, "metrics.csv is not open");
    fprintf(ctx->metrics, "%ld", step);
    for (size_t i = 0; i < ctx->n_columns; i++) fprintf(ctx->metrics, ",%.10g", vals[i]);
    fprintf(ctx->metrics, ",%.3f\n", run_wall(ctx));
    if (fflush(ctx->metrics) != 0) return engram_fail(ENGRAM_EIO, "cannot write metrics.csv");
    return ENGRAM_OK;
}

static void summary_set(run_ctx *ctx, const char *key, const char *val) {
    size_t i;
    for (i = 0; i < ctx->n_summary; i++)
        if (strcmp(ctx->summary_key[i], key) == 0) break;
    if (i == ctx->n_summary) {
        if (ctx->n_summary == RUN_MAX_SUMMARY) return;
        ctx->n_summary++;
        snprintf(ctx->summary_key[i], sizeof ctx->summary_key[i], "%s", key);
    }
    snprintf(ctx->summary_val[i], sizeof ctx->summary_val[i], "%s", val);
}

void run_summary_real(run_ctx *ctx, const char *key, double v) {
    char buf[64];
    if (isfinite(v)) snprintf(buf, sizeof buf, "%.10g", v);
    else snprintf(buf, sizeof buf, "null"); /* JSON has no NaN */
    summary_set(ctx, key, buf);
}

void run_summary_int(run_ctx *ctx, const char *key, long v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    summary_set(ctx, key, buf);
}

void run_summary_str(run_ctx *ctx, const char *key, const char *v) {
    char buf[96];
    size_t j = 0;
    buf[j++] = '"';
    for (const char *p = v; *p && j < sizeof buf - 3; p++) {
        if (*p == '"' || *p == '\\') buf[j++] = '\\';
        buf[j++] = (*p >= 32) ? *p : ' ';
    }
    buf[j++] = '"';
    buf[j] = '\0';
    summary_set(ctx, key, buf);
}

const char *run_summary_get(const run_ctx *ctx, const char *key) {
    for (size_t i = 0; i < ctx->n_summary; i++)
        if (strcmp(ctx->summary_key[i], key) == 0) return ctx->summary_val[i];
    return NULL;
}

int run_summary_write(run_ctx *ctx, const char *status_text, int print) {
    char line[RUN_MAX_SUMMARY * 160 + 512];
    int n = snprintf(line, sizeof line,
                     "{\"experiment\": \"%s\", \"rule\": \"%s\", \"seed\": %llu, \"version\": \"%s\", "
                     "\"threads\": %d, \"wall_s\": %.3f, \"status\": \"%s\"",
                     ctx->experiment, ctx->rule ? ctx->rule : "", (unsigned long long)ctx->seed,
                     ENGRAM_VERSION, ctx->threads, run_wall(ctx), status_text);
    for (size_t i = 0; i < ctx->n_summary && n < (int)sizeof line - 200; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, ", \"%s\": %s", ctx->summary_key[i],
                      ctx->summary_val[i]);
    snprintf(line + n, sizeof line - (size_t)n, "}");
    const char *path = run_path(ctx, "summary.json");
    FILE *f = fopen(path, "w");
    if (!f) return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    fprintf(f, "%s\n", line);
    if (fclose(f) != 0) return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    if (print) {
        printf("%s\n", line);
        fflush(stdout);
    }
    return ENGRAM_OK;
}

void run_progress(run_ctx *ctx, long step, long total, const char *fmt, ...) {
    if (ctx->quiet) return;
    double now = engram_wall_time();
    int tty = isatty(fileno(stderr));
    if (step < total && now - ctx->last_progress < (tty ? 0.2 : 5.0)) return;
    ctx->last_progress = now;
    /* Rate over the last few progress lines only (a ring of 8 samples), so setup time
     * and early slow or fast phases do not distort the estimate. */
    size_t cap = sizeof ctx->rate_t / sizeof ctx->rate_t[0];
    size_t oldest = ctx->n_rate < cap ? 0 : ctx->n_rate % cap;
    double rate = 0;
    if (ctx->n_rate > 0) {
        double dt = now - ctx->rate_t[oldest];
        long ds = step - ctx->rate_s[oldest];
        if (dt > 0 && ds > 0) rate = (double)ds / dt;
    }
    ctx->rate_t[ctx->n_rate % cap] = now;
    ctx->rate_s[ctx->n_rate % cap] = step;
    ctx->n_rate++;
    char msg[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char eta[48] = "ETA -";
    if (rate > 0) {
        double e = (double)(total - step) / rate;
        if (e < 120) snprintf(eta, sizeof eta, "ETA %.0fs", e);
        else if (e < 7200) snprintf(eta, sizeof eta, "ETA %.0fmin", e / 60);
        else snprintf(eta, sizeof eta, "ETA %.1fh", e / 3600);
    }
    fprintf(stderr, "%s%s %ld/%ld (%.1f%%) %.3g/s %s %s%s", tty ? "\r" : "",
            ctx->experiment, step, total, total ? 100.0 * (double)step / (double)total : 100.0,
            rate, eta, msg, tty ? "\033[K" : "\n");
    fflush(stderr);
}

void run_progress_done(run_ctx *ctx) {
    if (!ctx->quiet && isatty(fileno(stderr)) && ctx->last_progress > 0) fputc('\n', stderr);
    ctx->last_progress = 0;
}

void run_note(run_ctx *ctx, const char *fmt, ...) {
    if (ctx->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", ctx->experiment);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

static volatile sig_atomic_t stop_signal;

/* The first signal is recorded for the run loop; a second one ends the process with the
 * default action (signal and raise are async-signal-safe). */
static void on_stop_signal(int sig) {
    if (stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
}

void run_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int run_stop_signal(void) { return (int)stop_signal; }

int run_write_params(run_ctx *ctx, const char *prefix, const double *params,
                     const param_view *views, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t count = 1;
        for (size_t d = 0; d < views[i].ndim; d++) count *= views[i].shape[d];
        if (!engram_all_finite(params + views[i].offset, count))
            return engram_fail(ENGRAM_EDIVERGED, "parameter %s is not finite (training diverged); "
                               "no weights written", views[i].name);
    }
    for (size_t i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s%s.npy", prefix ? prefix : "", views[i].name);
        int st = npy_write(run_path(ctx, name), params + views[i].offset, views[i].ndim,
                           views[i].shape);
        if (st != ENGRAM_OK) return st;
    }
    return ENGRAM_OK;
}

int run_write_npy(run_ctx *ctx, const char *name, const double *data, size_t ndim,
                  const size_t *shape) {
    return npy_write(run_path(ctx, name), data, ndim, shape);
}

/* ---- CSV files (metrics.csv) ---- */

int run_csv_read(const char *path, char ***names, size_t *ncol, double **vals, size_t *nrow) {
    FILE *f = fopen(path, "r");
    if (!f) return engram_fail(ENGRAM_EIO, "cannot read %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    if (len <= 0) {
        free(line); fclose(f);
        return engram_fail(ENGRAM_EINVAL, "%s is empty; expected a CSV header row", path);
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    size_t C = 1;
    for (char *p = line; *p; p++) C += *p == ',';
    char **nm = calloc(C, sizeof *nm);
    size_t c = 0;
    for (char *tok = line, *next; tok && nm; tok = next, c++) {
        next = strchr(tok, ',');
        if (next) *next++ = 0;
        nm[c] = strdup(tok);
    }
    size_t R = 0, rcap = 64;
    double *v = malloc(rcap * C * sizeof *v);
    while (nm && v && (len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        if (R == rcap) {
            rcap *= 2;
            double *nv = realloc(v, rcap * C * sizeof *v);
            if (!nv) { free(v); v = NULL; break; }
            v = nv;
        }
        char *tok = line;
        for (size_t k = 0; k < C; k++) {
            char *next = tok ? strchr(tok, ',') : NULL;
            if (next) *next++ = 0;
            double x = NAN;
            if (tok && *tok) {
                char *end;
                x = strtod(tok, &end);
                if (*end) x = NAN;
            }
            v[R * C + k] = x;
            tok = next;
        }
        R++;
    }
    free(line);
    fclose(f);
    if (!nm || !v) {
        if (nm) for (size_t k = 0; k < C; k++) free(nm[k]);
        free(nm); free(v);
        return engram_fail(ENGRAM_ENOMEM, "out of memory reading %s", path);
    }
    *names = nm;
    *ncol = C;
    *vals = v;
    *nrow = R;
    return ENGRAM_OK;
}

void run_csv_free(char **names, size_t ncol, double *vals) {
    if (names)
        for (size_t c = 0; c < ncol; c++) free(names[c]);
    free(names);
    free(vals);
}

/* ---- checkpoints ---- */

static const char ckpt_magic[8] = {'E', 'N', 'G', 'R', 'A', 'M', 'C', 'K'};

typedef struct hasher {
    uint64_t h;
    FILE *f;
    int ok;
} hasher;

static void h_update(hasher *s, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        s->h ^= b[i];
        s->h *= 0x100000001b3ULL;
    }
}

static void w_bytes(hasher *s, const void *p, size_t n) {
    if (s->ok && n && fwrite(p, 1, n, s->f) != n) s->ok = 0;
    h_update(s, p, n);
}

static void w_u32(hasher *s, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    w_bytes(s, b, 4);
}

static void w_u64(hasher *s, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(s, b, 8);
}

static int ckpt_write(const char *path, const char *experiment, uint64_t config_hash, long step,
                      const ckpt_blob *blobs, size_t n_blobs) {
    char *tmp = malloc(strlen(path) + 5);
    if (!tmp) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    sprintf(tmp, "%s.tmp", path);
    hasher s = {0xcbf29ce484222325ULL, fopen(tmp, "wb"), 1};
    if (!s.f) { free(tmp); return engram_fail(ENGRAM_EIO, "cannot write checkpoint %s", path); }
    w_bytes(&s, ckpt_magic, 8);
    w_u32(&s, CKPT_FORMAT_VERSION);
    w_u32(&s, (uint32_t)strlen(experiment));
    w_bytes(&s, experiment, strlen(experiment));
    w_u64(&s, config_hash);
    w_u64(&s, (uint64_t)step);
    w_u32(&s, (uint32_t)n_blobs);
    for (size_t i = 0; i < n_blobs; i++) {
        w_u32(&s, (uint32_t)strlen(blobs[i].name));
        w_bytes(&s, blobs[i].name, strlen(blobs[i].name));
        w_u64(&s, (uint64_t)blobs[i].size);
        w_bytes(&s, blobs[i].data, blobs[i].size);
    }
    uint64_t sum = s.h;
    w_u64(&s, sum);
    int ok = s.ok;
    ok = (fclose(s.f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return engram_fail(ENGRAM_EIO, "cannot write checkpoint %s", path);
    }
    free(tmp);
    return ENGRAM_OK;
}

int ckpt_save(const char *path, const char *experiment, long step, const ckpt_blob *blobs,
              size_t n_blobs) {
    return ckpt_write(path, experiment, 0, step, blobs, n_blobs);
}

int run_ckpt_save(run_ctx *ctx, long step, const ckpt_blob *blobs, size_t n_blobs) {
    return ckpt_write(run_path(ctx, "checkpoint.bin"), ctx->experiment, ctx->config_hash, step,
                      blobs, n_blobs);
}

typedef struct reader {
    FILE *f;
    uint64_t h;
    int ok;
} reader;

static void r_bytes(reader *r, void *p, size_t n) {
    if (!r->ok) return;
    if (n && fread(p, 1, n, r->f) != n) { r->ok = 0; return; }
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        r->h ^= b[i];
        r->h *= 0x100000001b3ULL;
    }
}

static uint32_t r_u32(reader *r) {
    unsigned char b[4] = {0};
    r_bytes(r, b, 4);
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static uint64_t r_u64(reader *r) {
    unsigned char b[8] = {0};
    r_bytes(r, b, 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static int ckpt_read(const char *path, const char *experiment, uint64_t config_hash, long *step,
                     ckpt_blob *blobs, size_t n_blobs, const char *growable) {
    reader r = {fopen(path, "rb"), 0xcbf29ce484222325ULL, 1};
    if (!r.f) return engram_fail(ENGRAM_EIO, "cannot open checkpoint %s", path);
    int st = ENGRAM_EFORMAT;
    char magic[8], name[256];
    r_bytes(&r, magic, 8);
    if (!r.ok || memcmp(magic, ckpt_magic, 8) != 0) {
        engram_fail(st, "%s is not an engram checkpoint (bad magic number)", path);
        goto out;
    }
    uint32_t ver = r_u32(&r);
    if (r.ok && ver != CKPT_FORMAT_VERSION) {
        engram_fail(st, "%s: checkpoint format version %u, this engram reads version %u", path,
                    ver, CKPT_FORMAT_VERSION);
        goto out;
    }
    uint32_t len = r_u32(&r);
    if (!r.ok || len >= sizeof name) { engram_fail(st, "%s: truncated or corrupt checkpoint", path); goto out; }
    r_bytes(&r, name, len);
    name[len] = '\0';
    /* Lengths too: a name with an embedded NUL must not pass as the expected one. */
    if (r.ok && (len != strlen(experiment) || memcmp(name, experiment, len) != 0)) {
        engram_fail(st, "%s: checkpoint of experiment '%s', expected '%s'", path, name, experiment);
        goto out;
    }
    uint64_t hash = r_u64(&r);
    if (r.ok && hash != config_hash) {
        engram_fail(st, "%s: checkpoint was written with another configuration than %s "
                    "(config.ini changed or belongs to another run); refusing to resume", path,
                    "config.ini");
        goto out;
    }
    *step = (long)r_u64(&r);
    uint32_t nb = r_u32(&r);
    if (r.ok && nb != n_blobs) {
        engram_fail(st, "%s: checkpoint has %u blocks, expected %zu (different model configuration?)",
                    path, nb, n_blobs);
        goto out;
    }
    for (size_t i = 0; r.ok && i < n_blobs; i++) {
        len = r_u32(&r);
        if (!r.ok) break;
        if (len >= sizeof name) { /* was a silent break: the checksum then passed (fuzz_ckpt.c) */
            engram_fail(st, "%s: block %zu has a %u-byte name (corrupt checkpoint)", path, i, len);
            goto out;
        }
        r_bytes(&r, name, len);
        name[len] = '\0';
        uint64_t size = r_u64(&r);
        if (!r.ok) break;
        if (len != strlen(blobs[i].name) || memcmp(name, blobs[i].name, len) != 0 ||
            (size != blobs[i].size &&
             !(growable && !strcmp(growable, blobs[i].name) && size < blobs[i].size))) {
            engram_fail(st, "%s: block %zu is '%s' of %llu bytes, expected '%s' of %zu bytes "
                        "(different model configuration?)", path, i, name,
                        (unsigned long long)size, blobs[i].name, blobs[i].size);
            goto out;
        }
        r_bytes(&r, blobs[i].data, (size_t)size);
    }
    uint64_t expect = r.h;
    uint64_t sum = r_u64(&r);
    if (!r.ok) { engram_fail(st, "%s: truncated checkpoint", path); goto out; }
    if (sum != expect) { engram_fail(st, "%s: checkpoint checksum mismatch (corrupt file)", path); goto out; }
    if (fgetc(r.f) != EOF) { engram_fail(st, "%s: trailing bytes after checkpoint", path); goto out; }
    st = ENGRAM_OK;
out:
    fclose(r.f);
    return st;
}

int ckpt_load(const char *path, const char *experiment, long *step, ckpt_blob *blobs,
              size_t n_blobs) {
    return ckpt_read(path, experiment, 0, step, blobs, n_blobs, NULL);
}

int run_ckpt_load(run_ctx *ctx, long *step, ckpt_blob *blobs, size_t n_blobs,
                  const char *growable) {
    return ckpt_read(run_path(ctx, "checkpoint.bin"), ctx->experiment, ctx->config_hash, step,
                     blobs, n_blobs, growable);
}
