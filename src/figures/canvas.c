/* canvas.c: cairo surfaces, text, colour bars and map panels (figure.h). */
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engram/engram.h"
#include "figures/figures_impl.h"

#define FONT_FACE "DejaVu Sans"

/* Ticks are k * step; this slack absorbs the rounding of lo / step (display only). */
#define TICK_SLACK 1e-9

const double FIGURE_BLACK[3] = {0.1, 0.1, 0.1};
const double FIGURE_GREY[3] = {0.45, 0.45, 0.45};
static const double col_nan[3] = {0.86, 0.86, 0.86};
static const double col_frame[3] = {0.2, 0.2, 0.2};

const double figure_tab10[10][3] = {
    {31 / 255.0, 119 / 255.0, 180 / 255.0},  {255 / 255.0, 127 / 255.0, 14 / 255.0},
    {44 / 255.0, 160 / 255.0, 44 / 255.0},   {214 / 255.0, 39 / 255.0, 40 / 255.0},
    {148 / 255.0, 103 / 255.0, 189 / 255.0}, {140 / 255.0, 86 / 255.0, 75 / 255.0},
    {227 / 255.0, 119 / 255.0, 194 / 255.0}, {127 / 255.0, 127 / 255.0, 127 / 255.0},
    {188 / 255.0, 189 / 255.0, 34 / 255.0},  {23 / 255.0, 190 / 255.0, 207 / 255.0},
};

/* ------------------------------------------------------------------ surfaces */

figure_format figure_format_of(const char *path) {
    size_t n = path ? strlen(path) : 0;
    if (n >= 4 && !strcasecmp(path + n - 4, ".svg")) return FIGURE_SVG;
    if (n >= 4 && !strcasecmp(path + n - 4, ".pdf")) return FIGURE_PDF;
    return FIGURE_PNG;
}

/* Same font and metrics on every surface: DejaVu Sans, no metric hinting. */
static void set_font(cairo_t *cr, double size, int bold) {
    cairo_select_font_face(cr, FONT_FACE, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static void set_font_options(cairo_t *cr) {
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
}

/* Copies an RGB24 surface into a new RGB image and writes it with libpng. */
static int write_png_surface(cairo_surface_t *s, const char *path) {
    cairo_surface_flush(s);
    size_t w = (size_t)cairo_image_surface_get_width(s);
    size_t h = (size_t)cairo_image_surface_get_height(s);
    size_t stride = (size_t)cairo_image_surface_get_stride(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    image *im = image_alloc(w, h);
    if (!im) return ENGRAM_ENOMEM;
    for (size_t y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(d + y * stride);
        uint8_t *q = im->rgb + y * w * 3;
        for (size_t x = 0; x < w; x++) { /* native-endian 0x00RRGGBB */
            q[3 * x] = (uint8_t)(row[x] >> 16);
            q[3 * x + 1] = (uint8_t)(row[x] >> 8);
            q[3 * x + 2] = (uint8_t)row[x];
        }
    }
    int st = image_write_png(im, path);
    image_free(im);
    return st;
}

/* A surface writing one file of format fmt (PNG: an image surface that the caller
 * writes with write_png_surface); NULL with engram_error() set if cairo refuses. */
static cairo_surface_t *target_surface(const char *path, figure_format fmt, double width,
                                       double height) {
    cairo_surface_t *s;
    if (fmt == FIGURE_SVG) {
        s = cairo_svg_surface_create(path, width, height);
        if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS)
            cairo_svg_surface_restrict_to_version(s, CAIRO_SVG_VERSION_1_1);
    } else if (fmt == FIGURE_PDF) {
        s = cairo_pdf_surface_create(path, width, height);
    } else {
        s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(width), (int)ceil(height));
    }
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        engram_fail(ENGRAM_EIO, "cannot write %s: %s", path,
                    cairo_status_to_string(cairo_surface_status(s)));
        cairo_surface_destroy(s);
        return NULL;
    }
    return s;
}

figure *figure_open(const char *path, double width, double height) {
    if (!path || !*path || !(width >= 16 && width <= 20000 && height >= 16 && height <= 20000)) {
        engram_fail(ENGRAM_EINVAL, "figure: size %.0f x %.0f outside 16..20000 or no path",
                    width, height);
        return NULL;
    }
    figure *f = calloc(1, sizeof *f);
    if (f) f->path = strdup(path);
    if (!f || !f->path) {
        free(f);
        engram_fail(ENGRAM_ENOMEM, "figure: out of memory");
        return NULL;
    }
    f->width = width;
    f->height = height;
    f->multi = strchr(path, FIGURE_PATH_SEP) != NULL;
    if (f->multi) {
        /* Several files of one drawing: record it, replay it into each at close. */
        cairo_rectangle_t ext = {0, 0, width, height};
        f->fmt = FIGURE_PNG;
        f->surf = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &ext);
        if (cairo_surface_status(f->surf) != CAIRO_STATUS_SUCCESS) {
            engram_fail(ENGRAM_ENOMEM, "figure: %s",
                        cairo_status_to_string(cairo_surface_status(f->surf)));
            cairo_surface_destroy(f->surf);
            f->surf = NULL;
        }
    } else {
        f->fmt = figure_format_of(path);
        f->surf = target_surface(path, f->fmt, width, height);
    }
    if (!f->surf) {
        free(f->path);
        free(f);
        return NULL;
    }
    f->cr = cairo_create(f->surf);
    set_font_options(f->cr);
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    return f;
}

/* Replays the recording rec (width x height) into the file path, format by extension. */
static int replay_to(cairo_surface_t *rec, const char *path, double width, double height) {
    figure_format fmt = figure_format_of(path);
    cairo_surface_t *s = target_surface(path, fmt, width, height);
    if (!s) return ENGRAM_EIO;
    cairo_t *cr = cairo_create(s);
    cairo_set_source_surface(cr, rec, 0, 0);
    cairo_paint(cr);
    int st = ENGRAM_OK;
    cairo_status_t cs = cairo_status(cr);
    if (cs != CAIRO_STATUS_SUCCESS)
        st = engram_fail(ENGRAM_EIO, "cannot draw %s: %s", path, cairo_status_to_string(cs));
    cairo_destroy(cr);
    if (st == ENGRAM_OK && fmt == FIGURE_PNG) st = write_png_surface(s, path);
    cairo_surface_finish(s);
    cs = cairo_surface_status(s);
    if (st == ENGRAM_OK && cs != CAIRO_STATUS_SUCCESS)
        st = engram_fail(ENGRAM_EIO, "cannot write %s: %s", path, cairo_status_to_string(cs));
    cairo_surface_destroy(s);
    if (st != ENGRAM_OK && fmt != FIGURE_PNG) remove(path);
    return st;
}

int figure_close(figure *f) {
    if (!f) return engram_fail(ENGRAM_EINVAL, "figure_close: no figure");
    int st = ENGRAM_OK;
    cairo_status_t cs = cairo_status(f->cr);
    if (cs != CAIRO_STATUS_SUCCESS)
        st = engram_fail(ENGRAM_EIO, "cannot draw %s: %s", f->path, cairo_status_to_string(cs));
    cairo_destroy(f->cr);
    if (f->multi) {
        cairo_surface_flush(f->surf); /* a finished recording could not be replayed */
        for (char *p = f->path; st == ENGRAM_OK && p;) {
            char *sep = strchr(p, FIGURE_PATH_SEP);
            if (sep) *sep = '\0';
            if (*p) st = replay_to(f->surf, p, f->width, f->height);
            p = sep ? sep + 1 : NULL;
        }
        cairo_surface_destroy(f->surf);
    } else {
        if (st == ENGRAM_OK && f->fmt == FIGURE_PNG) st = write_png_surface(f->surf, f->path);
        cairo_surface_finish(f->surf);
        cs = cairo_surface_status(f->surf);
        if (st == ENGRAM_OK && cs != CAIRO_STATUS_SUCCESS)
            st = engram_fail(ENGRAM_EIO, "cannot write %s: %s", f->path, cairo_status_to_string(cs));
        cairo_surface_destroy(f->surf);
        if (st != ENGRAM_OK && f->fmt != FIGURE_PNG) remove(f->path);
    }
    free(f->path);
    free(f);
    return st;
}

int figure_formats_parse(const char *list, unsigned *mask) {
    static const char *const names[] = {"png", "svg", "pdf"};
    unsigned m = 0;
    const char *p = list ? list : "";
    if (!*p) return engram_fail(ENGRAM_EINVAL, "empty figure format list (png, svg, pdf)");
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (len == 3 && !strncmp(p, names[i], 3)) k = i;
        if (k < 0)
            return engram_fail(ENGRAM_EINVAL, "figure format '%.*s' is not png, svg or pdf "
                               "(a list such as png,svg)", (int)(len < 40 ? len : 40), p);
        if (m & (1u << k))
            return engram_fail(ENGRAM_EINVAL, "figure format %s given twice", names[k]);
        m |= 1u << k;
        if (!comma) break;
        p = comma + 1;
    }
    if (mask) *mask = m;
    return ENGRAM_OK;
}

int figure_paths(char *buf, size_t n, const char *path, const char *formats) {
    unsigned mask;
    int st = figure_formats_parse(formats, &mask);
    if (st != ENGRAM_OK) return st;
    size_t len = strlen(path);
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : len;
    size_t used = 0;
    if (n) buf[0] = '\0';
    /* Files in the order the list gives them. */
    for (const char *p = formats; *p;) {
        const char *comma = strchr(p, ',');
        size_t flen = comma ? (size_t)(comma - p) : strlen(p);
        int w = snprintf(buf + used, n > used ? n - used : 0, "%s%.*s.%.*s",
                         used ? "\n" : "", (int)stem, path, (int)flen, p);
        if (w < 0 || used + (size_t)w >= n)
            return engram_fail(ENGRAM_EINVAL, "figure path too long: %s", path);
        used += (size_t)w;
        p = comma ? comma + 1 : p + flen;
    }
    return ENGRAM_OK;
}

/* ------------------------------------------------------------------ text */

/* A scratch context for measuring text (thread-safe: one per call). */
static cairo_t *measure_ctx(cairo_surface_t **s) {
    *s = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    cairo_t *cr = cairo_create(*s);
    set_font_options(cr);
    return cr;
}

double figure_text_width(const char *s, double size, int bold) {
    if (!s || !*s) return 0.0;
    cairo_surface_t *surf;
    cairo_t *cr = measure_ctx(&surf);
    set_font(cr, size, bold);
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    return te.x_advance;
}

/* Copies s replacing bytes outside printable ASCII by '?' (toy text wants UTF-8). */
static void clean_text(const char *s, char *out, size_t n) {
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    out[i] = '\0';
}

void figure_text(figure *f, double x, double y, const char *s, double size, int bold,
                 double ax, double ay, const double rgb[3]) {
    if (!f || !s || !*s) return;
    char buf[1024];
    clean_text(s, buf, sizeof buf);
    cairo_t *cr = f->cr;
    set_font(cr, size, bold);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    cairo_text_extents_t te;
    cairo_text_extents(cr, buf, &te);
    /* Box: advance width by ascent + descent; baseline ascent below the top. */
    double bx = x - ax * te.x_advance, by = y - ay * (fe.ascent + fe.descent) + fe.ascent;
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_move_to(cr, bx, by);
    cairo_show_text(cr, buf);
    cairo_new_path(cr);
}

void figure_text_up(figure *f, double x, double y, const char *s, double size,
                    const double rgb[3]) {
    if (!f || !s || !*s) return;
    cairo_save(f->cr);
    cairo_translate(f->cr, x, y);
    cairo_rotate(f->cr, -M_PI / 2);
    figure_text(f, 0, 0, s, size, 0, 0.5, 0.5, rgb);
    cairo_restore(f->cr);
}

double figure_fit_text(const char *s, double size, double min_size, double max_w, char *out,
                       size_t n) {
    if (n == 0) return size;
    snprintf(out, n, "%s", s ? s : "");
    if (!out[0]) return size;
    for (double z = size; z >= min_size - 1e-9; z -= 0.5)
        if (figure_text_width(out, z, 0) <= max_w) return z;
    size_t len = strlen(out);
    while (len > 0) {
        len--;
        out[len] = '\0';
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s...", out);
        if (figure_text_width(tmp, min_size, 0) <= max_w || len == 0) {
            snprintf(out, n, "%s", tmp);
            break;
        }
    }
    return min_size;
}

double figure_title_layout(const char *title, const char *subtitle, double max_w,
                           double scale, figure_title *L) {
    memset(L, 0, sizeof *L);
    double big = 15.0 * scale, small = 11.0 * scale;
    L->size = big;
    L->sub_size = 11.0 * scale;
    if (title && title[0]) {
        char t[512];
        clean_text(title, t, sizeof t);
        L->n_lines = 1;
        snprintf(L->line[0], sizeof L->line[0], "%s", t);
        double z = big;
        while (z > small && figure_text_width(t, z, 1) > max_w) z -= 0.5;
        L->size = z;
        if (figure_text_width(t, z, 1) > max_w) {
            /* Two lines: the space that best balances them. */
            size_t n = strlen(t), best = 0;
            double best_w = INFINITY;
            for (size_t i = 1; i + 1 < n; i++) {
                if (t[i] != ' ') continue;
                char a[512];
                memcpy(a, t, i);
                a[i] = '\0';
                double w = fmax(figure_text_width(a, z, 1), figure_text_width(t + i + 1, z, 1));
                if (w < best_w) {
                    best_w = w;
                    best = i;
                }
            }
            if (best) {
                L->n_lines = 2;
                memcpy(L->line[0], t, best);
                L->line[0][best] = '\0';
                snprintf(L->line[1], sizeof L->line[1], "%s", t + best + 1);
            }
            for (int k = 0; k < L->n_lines; k++) {
                if (figure_text_width(L->line[k], z, 1) <= max_w) continue;
                size_t len = strlen(L->line[k]);
                while (len > 0) {
                    L->line[k][--len] = '\0';
                    char tmp[520];
                    snprintf(tmp, sizeof tmp, "%s...", L->line[k]);
                    if (figure_text_width(tmp, z, 1) <= max_w) {
                        snprintf(L->line[k], sizeof L->line[k], "%s", tmp);
                        break;
                    }
                }
            }
        }
        L->height += 6.0 * scale + L->n_lines * 1.25 * L->size;
    }
    if (subtitle && subtitle[0]) {
        L->sub_size = figure_fit_text(subtitle, 11.0 * scale, 8.0 * scale, max_w, L->sub,
                                      sizeof L->sub);
        L->height += (L->height > 0 ? 2.0 : 6.0) * scale + 1.3 * L->sub_size;
    }
    if (L->height > 0) L->height += 4.0 * scale;
    return L->height;
}

void figure_title_draw(figure *f, const figure_title *L, double cx, double y) {
    if (L->height <= 0) return;
    double scale = L->sub_size / 11.0 > 0 ? L->size / 15.0 : 1.0;
    if (L->n_lines) {
        y += 6.0 * scale;
        for (int k = 0; k < L->n_lines; k++) {
            figure_text(f, cx, y, L->line[k], L->size, 1, 0.5, 0.0, FIGURE_BLACK);
            y += 1.25 * L->size;
        }
    } else {
        y += 6.0 * scale;
    }
    if (L->sub[0]) {
        y += 2.0 * scale;
        figure_text(f, cx, y, L->sub, L->sub_size, 0, 0.5, 0.0, FIGURE_GREY);
    }
}

/* ------------------------------------------------------------------ shapes */

void figure_line(figure *f, double x0, double y0, double x1, double y1, double lw,
                 const double rgb[3], double alpha) {
    if (!f || !(isfinite(x0) && isfinite(y0) && isfinite(x1) && isfinite(y1))) return;
    cairo_set_source_rgba(f->cr, rgb[0], rgb[1], rgb[2], alpha);
    cairo_set_line_width(f->cr, lw);
    cairo_set_line_cap(f->cr, CAIRO_LINE_CAP_BUTT);
    cairo_move_to(f->cr, x0, y0);
    cairo_line_to(f->cr, x1, y1);
    cairo_stroke(f->cr);
}

void figure_circle(figure *f, double cx, double cy, double r, double lw, const double rgb[3]) {
    if (!f || !(isfinite(cx) && isfinite(cy) && r > 0)) return;
    cairo_new_sub_path(f->cr);
    cairo_arc(f->cr, cx, cy, r, 0, 2 * M_PI);
    cairo_set_source_rgb(f->cr, rgb[0], rgb[1], rgb[2]);
    if (lw > 0) {
        cairo_set_line_width(f->cr, lw);
        cairo_stroke(f->cr);
    } else {
        cairo_fill(f->cr);
    }
}

void figure_rect(figure *f, double x, double y, double w, double h, const double fill[3],
                 const double stroke[3], double lw) {
    if (!f) return;
    if (fill) {
        cairo_rectangle(f->cr, x, y, w, h);
        cairo_set_source_rgb(f->cr, fill[0], fill[1], fill[2]);
        cairo_fill(f->cr);
    }
    if (stroke) {
        cairo_rectangle(f->cr, x, y, w, h);
        cairo_set_source_rgb(f->cr, stroke[0], stroke[1], stroke[2]);
        cairo_set_line_width(f->cr, lw);
        cairo_stroke(f->cr);
    }
}

/* ------------------------------------------------------------------ maps */

size_t figure_range(const double *z, size_t n, double *lo, double *hi) {
    size_t k = 0;
    *lo = NAN;
    *hi = NAN;
    for (size_t i = 0; i < n; i++) {
        double v = z[i];
        if (!isfinite(v)) continue;
        if (k == 0 || v < *lo) *lo = v;
        if (k == 0 || v > *hi) *hi = v;
        k++;
    }
    return k;
}

double fig_unit(double v, double lo, double hi) {
    if (isnan(v)) return NAN;
    if (isinf(v)) return v > 0 ? 1.0 : 0.0;
    if (hi > lo) return (v - lo) / (hi - lo);
    return 0.5;
}

void figure_map(figure *f, double x, double y, double w, double h, const double *z,
                size_t rows, size_t cols, image_cmap cmap, double lo, double hi, int disc) {
    if (!f || !z || rows == 0 || cols == 0 || !(w > 0 && h > 0)) return;
    if (rows > 32767 || cols > 32767) return; /* cairo's image size limit */
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)cols, (int)rows);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return;
    }
    cairo_surface_flush(img);
    unsigned char *d = cairo_image_surface_get_data(img);
    size_t stride = (size_t)cairo_image_surface_get_stride(img);
    size_t finite = 0;
    double cr0 = (double)(rows - 1) / 2, cc0 = (double)(cols - 1) / 2;
    double rad = fmin(cr0, cc0) + 1.0;
    for (size_t r = 0; r < rows; r++) {
        uint32_t *row = (uint32_t *)(void *)(d + r * stride);
        for (size_t c = 0; c < cols; c++) {
            double v = z[r * cols + c];
            uint32_t px;
            if (disc && hypot((double)r - cr0, (double)c - cc0) > rad) {
                px = 0xffffffffu;
            } else if (isnan(v)) {
                px = 0; /* transparent: the grey background shows */
            } else {
                uint8_t rgb[3];
                image_cmap_rgb(cmap, fig_unit(v, lo, hi), rgb);
                px = 0xff000000u | (uint32_t)rgb[0] << 16 | (uint32_t)rgb[1] << 8 | rgb[2];
                if (isfinite(v)) finite++;
            }
            row[c] = px;
        }
    }
    cairo_surface_mark_dirty(img);
    cairo_t *cr = f->cr;
    cairo_save(cr);
    if (disc) {
        cairo_rectangle(cr, x, y, w, h);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_fill(cr);
        cairo_new_sub_path(cr);
        cairo_arc(cr, x + w / 2, y + h / 2, fmin(w, h) / 2 * rad / (fmin(cr0, cc0) + 0.5 + 1e-9),
                  0, 2 * M_PI);
        cairo_clip(cr);
    }
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgb(cr, col_nan[0], col_nan[1], col_nan[2]);
    cairo_fill(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, w / (double)cols, h / (double)rows);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    if (finite == 0) {
        double size = fmin(14.0, fmax(7.0, fmin(w / 5.0, h / 2.5)));
        figure_text(f, x + w / 2, y + h / 2, "no data", size, 0, 0.5, 0.5, FIGURE_BLACK);
    }
}

/* ------------------------------------------------------------------ colour bar */

/* Colour-bar tick labels: the ends with 3 significant digits. */
static void cb_label(double v, char *buf, size_t n) {
    if (fabs(v) < 1e-300) v = 0.0;
    snprintf(buf, n, "%.3g", v);
}

double figure_colorbar_width(double lo, double hi, const char *label, double scale) {
    char a[32], b[32];
    double ts = 10.0 * scale, w = 0;
    if (isnan(lo) || isnan(hi)) {
        w = figure_text_width("no data", ts, 0);
    } else {
        fig_axis ax;
        fig_axis_linear(&ax, lo, hi, 5, 0.0, 0.0);
        w = fig_axis_label_width(&ax, ts);
        cb_label(lo, a, sizeof a);
        cb_label(hi, b, sizeof b);
        w = fmax(w, fmax(figure_text_width(a, ts, 0), figure_text_width(b, ts, 0)));
    }
    return 14.0 * scale + 4.0 * scale + w + (label && label[0] ? 8.0 * scale + 12.0 * scale : 0) +
           4.0 * scale;
}

void figure_colorbar(figure *f, double x, double y, double h, image_cmap cmap, double lo,
                     double hi, const char *label, double scale) {
    if (!f) return;
    double bw = 14.0 * scale, ts = 10.0 * scale;
    cairo_t *cr = f->cr;
    int nodata = isnan(lo) || isnan(hi);
    if (nodata) {
        figure_rect(f, x, y, bw, h, col_nan, NULL, 0);
    } else {
        cairo_pattern_t *g = cairo_pattern_create_linear(0, y + h, 0, y);
        for (int k = 0; k <= 32; k++) {
            uint8_t rgb[3];
            image_cmap_rgb(cmap, k / 32.0, rgb);
            cairo_pattern_add_color_stop_rgb(g, k / 32.0, rgb[0] / 255.0, rgb[1] / 255.0,
                                             rgb[2] / 255.0);
        }
        cairo_rectangle(cr, x, y, bw, h);
        cairo_set_source(cr, g);
        cairo_fill(cr);
        cairo_pattern_destroy(g);
    }
    figure_rect(f, x, y, bw, h, NULL, col_frame, 0.8 * scale);
    double lx = x + bw + 4.0 * scale, maxw = 0;
    char buf[64];
    if (nodata) {
        figure_text(f, lx, y + h / 2, "no data", ts, 0, 0.0, 0.5, FIGURE_BLACK);
        maxw = figure_text_width("no data", ts, 0);
    } else if (!(hi > lo)) {
        cb_label(lo, buf, sizeof buf);
        figure_text(f, lx, y + h / 2, buf, ts, 0, 0.0, 0.5, FIGURE_BLACK);
        figure_line(f, x + bw, y + h / 2, x + bw + 3 * scale, y + h / 2, 0.8 * scale, col_frame, 1);
        maxw = figure_text_width(buf, ts, 0);
    } else {
        /* Labelled ends, then 1-2-5 ticks that keep a label's height away from them. */
        double yy[2] = {y + h, y};
        double vv[2] = {lo, hi};
        for (int k = 0; k < 2; k++) {
            cb_label(vv[k], buf, sizeof buf);
            figure_line(f, x + bw, yy[k], x + bw + 3 * scale, yy[k], 0.8 * scale, col_frame, 1);
            figure_text(f, lx, yy[k], buf, ts, 0, 0.0, k == 0 ? 0.8 : 0.2, FIGURE_BLACK);
            maxw = fmax(maxw, figure_text_width(buf, ts, 0));
        }
        fig_axis ax;
        fig_axis_linear(&ax, lo, hi, h > 160 * scale ? 5 : 3, 0.0, 0.0);
        long k0, k1;
        fig_axis_ticks(&ax, &k0, &k1);
        for (long k = k0; k <= k1; k++) {
            double v = (double)k * ax.step;
            double py = y + h - (v - lo) / (hi - lo) * h;
            if (py < y + 1.6 * ts || py > y + h - 1.6 * ts) continue;
            fig_axis_label(&ax, v, buf, sizeof buf);
            figure_line(f, x + bw, py, x + bw + 3 * scale, py, 0.8 * scale, col_frame, 1);
            figure_text(f, lx, py, buf, ts, 0, 0.0, 0.5, FIGURE_BLACK);
            maxw = fmax(maxw, figure_text_width(buf, ts, 0));
        }
    }
    if (label && label[0]) {
        char fit[512];
        double z = figure_fit_text(label, 10.0 * scale, 7.0 * scale, h, fit, sizeof fit);
        figure_text_up(f, lx + maxw + 8.0 * scale + 6.0 * scale, y + h / 2, fit, z, FIGURE_BLACK);
    }
}

/* ------------------------------------------------------------------ axes */

/* The "nice number" 1, 2 or 5 x 10^e nearest x (Heckbert, Graphics Gems, 1990). */
static double nice_num(double x) {
    double e = floor(log10(x)), f = x / pow(10.0, e);
    double nf = f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0;
    return nf * pow(10.0, e);
}

double fig_next_step(double step) {
    double e = floor(log10(step)), f = step / pow(10.0, e);
    double nf = f < 1.5 ? 2.0 : f < 3.5 ? 5.0 : 10.0;
    return nf * pow(10.0, e);
}

void fig_axis_linear(fig_axis *a, double lo, double hi, int target, double pad,
                     double min_step) {
    a->log = 0;
    if (!(isfinite(lo) && isfinite(hi))) {
        lo = 0.0;
        hi = 1.0;
    }
    if (hi <= lo) { /* degenerate: widen by 10% of |lo| (or 1) each way */
        double d = lo != 0.0 ? fabs(lo) * 0.1 : 1.0;
        lo -= d;
        hi += d;
    }
    double span = hi - lo;
    if (!isfinite(span) || fabs(lo) > 1e300 || fabs(hi) > 1e300) {
        lo = 0.0; /* beyond double arithmetic (e.g. -DBL_MAX..DBL_MAX) */
        hi = 1.0;
        span = 1.0;
    }
    lo -= pad * span;
    hi += pad * span;
    double step = nice_num((hi - lo) / (target > 1 ? target - 1 : 1));
    if (step < min_step) step = min_step;
    if (!(isfinite(step) && step > 0.0 && fabs(lo / step) < 1e15 && fabs(hi / step) < 1e15)) {
        lo = 0.0;
        hi = 1.0;
        step = 0.2;
    }
    a->lo = lo;
    a->hi = hi;
    a->step = step;
}

void fig_axis_log10(fig_axis *a, double lo, double hi) {
    a->log = 1;
    if (!(isfinite(lo) && isfinite(hi))) {
        lo = 0.0;
        hi = 1.0;
    }
    a->lo = floor(lo + TICK_SLACK);
    a->hi = ceil(hi - TICK_SLACK);
    if (a->hi <= a->lo) a->hi = a->lo + 1.0;
    double decades = a->hi - a->lo;
    a->step = decades <= 8.0 ? 1.0 : ceil(decades / 8.0);
}

void fig_axis_ticks(const fig_axis *a, long *k0, long *k1) {
    *k0 = (long)ceil(a->lo / a->step - TICK_SLACK);
    *k1 = (long)floor(a->hi / a->step + TICK_SLACK);
}

void fig_axis_label(const fig_axis *a, double t, char *buf, size_t n) {
    if (a->log) {
        snprintf(buf, n, "%ld", lround(t));
        return;
    }
    double m = fmax(fabs(a->lo), fabs(a->hi));
    if (m >= 1e6 || a->step < 1e-4) {
        snprintf(buf, n, "%.3g", t);
        return;
    }
    int dec = a->step >= 1.0 ? 0 : (int)ceil(-log10(a->step) - TICK_SLACK);
    if (fabs(t) < 0.5 * a->step) t = 0.0; /* no "-0.00" */
    snprintf(buf, n, "%.*f", dec, t);
}

double fig_log_label_width(long e, double size) {
    char b[32];
    snprintf(b, sizeof b, "%ld", e);
    return figure_text_width("10", size, 0) + figure_text_width(b, 0.7 * size, 0);
}

void fig_log_label(figure *f, double x, double y, long e, double size, double ax, double ay) {
    char b[32];
    snprintf(b, sizeof b, "%ld", e);
    double w = fig_log_label_width(e, size), w10 = figure_text_width("10", size, 0);
    double x0 = x - ax * w;
    figure_text(f, x0, y, "10", size, 0, 0.0, ay, FIGURE_BLACK);
    figure_text(f, x0 + w10, y - 0.35 * size, b, 0.7 * size, 0, 0.0, ay, FIGURE_BLACK);
}

double fig_axis_label_width(const fig_axis *a, double size) {
    long k0, k1;
    char buf[64];
    double w = 0;
    fig_axis_ticks(a, &k0, &k1);
    for (long k = k0; k <= k1; k++) {
        double lw;
        if (a->log) {
            lw = fig_log_label_width(lround((double)k * a->step), size);
        } else {
            fig_axis_label(a, (double)k * a->step, buf, sizeof buf);
            lw = figure_text_width(buf, size, 0);
        }
        if (lw > w) w = lw;
    }
    return w;
}
