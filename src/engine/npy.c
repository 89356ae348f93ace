/* npy.c: NumPy .npy format 1.0 writer ('<f8') and reader (float64 or float32, either byte
 * order, C order) (npy.h).
 * Format reference: numpy/lib/format.py ("NPY format", version 1.0 and 2.0). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engram/engram.h"
#include "engram/npy.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int npy_write(const char *path, const double *data, size_t ndim, const size_t *shape) {
    if (ndim > NPY_MAX_DIMS)
        return engram_fail(ENGRAM_EINVAL, "%s: %zu dimensions (at most %d)", path, ndim,
                           NPY_MAX_DIMS);
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (size_t i = 0; i < ndim; i++) {
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%zu,%s", shape[i],
                        (i + 1 < ndim) ? " " : "");
        count *= shape[i];
    }
    if (ndim > 1) len--; /* "(2, 3)" rather than "(2, 3,)"; a 1-tuple keeps its comma */
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    /* Pad with spaces so that magic(6)+version(2)+hlen(2)+header is a multiple of 64,
     * the header ending in '\n'. */
    size_t total = 10 + (size_t)len + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)len + pad + 1;
    char *tmp = malloc(strlen(path) + 5);
    if (!tmp) return engram_fail(ENGRAM_ENOMEM, "out of memory");
    sprintf(tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) { free(tmp); return engram_fail(ENGRAM_EIO, "cannot write %s", path); }
    unsigned char ver[4] = {1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    int ok = fwrite(npy_magic, 1, 6, f) == 6 && fwrite(ver, 1, 4, f) == 4 &&
             fwrite(dict, 1, (size_t)len, f) == (size_t)len;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    /* Data: the machine is little-endian (x86-64, aarch64); write bytes as they are. */
    ok = ok && (count == 0 || fwrite(data, sizeof(double), count, f) == count);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    }
    free(tmp);
    return ENGRAM_OK;
}

/* Finds `key` in the header dict and returns a pointer just past "'key':" and spaces. */
static const char *dict_value(const char *h, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

int npy_read(const char *path, double **data, size_t *ndim, size_t *shape) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return engram_fail(ENGRAM_EIO, "cannot open %s", path);
    unsigned char pre[10];
    char *h = NULL;
    int status = ENGRAM_EFORMAT;
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, npy_magic, 6) != 0) {
        engram_fail(status, "%s: not a .npy file", path);
        goto out;
    }
    size_t hlen;
    if (pre[6] == 1) {
        if (fread(pre + 8, 1, 2, f) != 2) { engram_fail(status, "%s: truncated header", path); goto out; }
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    } else if (pre[6] == 2) {
        unsigned char l4[4];
        if (fread(l4, 1, 4, f) != 4) { engram_fail(status, "%s: truncated header", path); goto out; }
        hlen = (size_t)l4[0] | ((size_t)l4[1] << 8) | ((size_t)l4[2] << 16) | ((size_t)l4[3] << 24);
        if (hlen > 1 << 20) { engram_fail(status, "%s: header too long", path); goto out; }
    } else {
        engram_fail(status, "%s: unsupported .npy version %d.%d", path, pre[6], pre[7]);
        goto out;
    }
    h = malloc(hlen + 1);
    if (!h) { status = engram_fail(ENGRAM_ENOMEM, "out of memory"); goto out; }
    if (fread(h, 1, hlen, f) != hlen) { engram_fail(status, "%s: truncated header", path); goto out; }
    h[hlen] = '\0';
    /* dtype: float64 or float32, either byte order ('<' little, '>' big, '=' native,
     * which is little on every machine engram builds for); float32 is widened on load. */
    const char *d = dict_value(h, "descr");
    size_t esize = 0;
    int big = 0;
    if (d && d[0] == '\'' && (d[1] == '<' || d[1] == '>' || d[1] == '=') && d[2] == 'f' &&
        (d[3] == '8' || d[3] == '4') && d[4] == '\'') {
        esize = d[3] == '8' ? 8 : 4;
        big = d[1] == '>';
    }
    if (!esize) {
        engram_fail(status, "%s: dtype is not float64 or float32 ('<f8', '>f8', '<f4', '>f4')", path);
        goto out;
    }
    const char *fo = dict_value(h, "fortran_order");
    if (!fo || strncmp(fo, "False", 5) != 0) {
        engram_fail(status, "%s: Fortran-order arrays are not supported", path);
        goto out;
    }
    const char *s = dict_value(h, "shape");
    if (!s || *s != '(') { engram_fail(status, "%s: malformed shape", path); goto out; }
    s++;
    size_t nd = 0, count = 1;
    for (;;) {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        if (!isdigit((unsigned char)*s) || nd == NPY_MAX_DIMS) {
            engram_fail(status, "%s: malformed shape", path);
            goto out;
        }
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        shape[nd++] = (size_t)v;
        if (v != 0 && count > SIZE_MAX / sizeof(double) / v) { /* also bounds count * esize */
            engram_fail(status, "%s: shape too large", path);
            goto out;
        }
        count *= (size_t)v;
        s = end;
    }
    /* Refuse a shape the file cannot hold before allocating for it, so a corrupt header
     * never costs gigabytes (found by tests/fuzz/fuzz_npy.c); a non-seekable file is left
     * to the fread below. */
    long here = ftell(f);
    if (here >= 0 && fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        if (fseek(f, here, SEEK_SET) != 0 || end < here ||
            (size_t)(end - here) / esize < count) {
            engram_fail(status, "%s: truncated data (expected %zu values)", path, count);
            goto out;
        }
    }
    *ndim = nd;
    double *buf = malloc((count ? count : 1) * sizeof *buf);
    if (!buf) { status = engram_fail(ENGRAM_ENOMEM, "%s: out of memory", path); goto out; }
    /* float32 data is read into the upper half of buf and widened from the front, so
     * each 4-byte value is converted before a wider value overwrites it. */
    unsigned char *raw = (unsigned char *)buf + (esize == 4 ? count * 4 : 0);
    if (fread(raw, esize, count, f) != count) {
        free(buf);
        engram_fail(status, "%s: truncated data (expected %zu values)", path, count);
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        unsigned char b[8];
        memcpy(b, raw + i * esize, esize);
        if (big)
            for (size_t k = 0; k < esize / 2; k++) {
                unsigned char t = b[k];
                b[k] = b[esize - 1 - k];
                b[esize - 1 - k] = t;
            }
        if (esize == 8) {
            memcpy(&buf[i], b, 8);
        } else {
            float x;
            memcpy(&x, b, 4);
            buf[i] = (double)x;
        }
    }
    if (fgetc(f) != EOF) {
        free(buf);
        engram_fail(status, "%s: trailing bytes after the data", path);
        goto out;
    }
    *data = buf;
    status = ENGRAM_OK;
out:
    free(h);
    fclose(f);
    return status;
}
