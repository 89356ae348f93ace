/* run.c: run directories, metrics.csv, summary.json, progress and checkpoints (run.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "engram/engram.h"
#include "engram/npy.h"
#include "engram/run.h"

const char *run_path(run_ctx *ctx, const char *name) {
    snprintf(ctx->path_buf, sizeof ctx->path_buf, "%s/%s", ctx->out_dir, name);
    return ctx->path_buf;
}

static int mkdir_p(const char *dir) {
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

int run_dir_prepare(const char *dir, int force) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return engram_fail(ENGRAM_EIO, "output path %s exists and is not a directory", dir);
        char p[1100];
        snprintf(p, sizeof p, "%s/config.ini", dir);
        int has_run = access(p, F_OK) == 0;
        snprintf(p, sizeof p, "%s/summary.json", dir);
        has_run = has_run || access(p, F_OK) == 0;
        if (has_run && !force)
            return engram_fail(ENGRAM_EINVAL,
                               "output directory %s already holds a run (use --force to overwrite, "
                               "or engram resume %s)", dir, dir);
    } else if (mkdir_p(dir) != 0) {
        return engram_fail(ENGRAM_EIO, "cannot create output directory %s: %s", dir, strerror(errno));
    }
    /* Probe that it is writable. */
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/.engram-write-test", dir);
    FILE *f = fopen(probe, "w");
    if (!f) return engram_fail(ENGRAM_EIO, "output directory %s is not writable: %s", dir, strerror(errno));
    fclose(f);
    remove(probe);
    return ENGRAM_OK;
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
    double el = now - ctx->t_start;
    char msg[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    double rate = el > 0 ? (double)step / el : 0;
    double eta = rate > 0 ? (double)(total - step) / rate : 0;
    fprintf(stderr, "%s%s %ld/%ld (%.1f%%) %.3g/s ETA %.0fs %s%s", tty ? "\r" : "",
            ctx->experiment, step, total, total ? 100.0 * (double)step / (double)total : 100.0,
            rate, eta, msg, tty ? "\033[K" : "\n");
    fflush(stderr);
}

void run_progress_done(run_ctx *ctx) {
    if (!ctx->quiet && isatty(fileno(stderr))) fputc('\n', stderr);
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

int ckpt_save(const char *path, const char *experiment, long step, const ckpt_blob *blobs,
              size_t n_blobs) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hasher s = {0xcbf29ce484222325ULL, fopen(tmp, "wb"), 1};
    if (!s.f) return engram_fail(ENGRAM_EIO, "cannot write checkpoint %s", path);
    w_bytes(&s, ckpt_magic, 8);
    w_u32(&s, CKPT_FORMAT_VERSION);
    w_u32(&s, (uint32_t)strlen(experiment));
    w_bytes(&s, experiment, strlen(experiment));
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
        return engram_fail(ENGRAM_EIO, "cannot write checkpoint %s", path);
    }
    return ENGRAM_OK;
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

int ckpt_load(const char *path, const char *experiment, long *step, ckpt_blob *blobs,
              size_t n_blobs) {
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
            size != blobs[i].size) {
            engram_fail(st, "%s: block %zu is '%s' of %llu bytes, expected '%s' of %zu bytes "
                        "(different model configuration?)", path, i, name,
                        (unsigned long long)size, blobs[i].name, blobs[i].size);
            goto out;
        }
        r_bytes(&r, blobs[i].data, blobs[i].size);
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
