/* png.c: images in memory and PNG files through libpng's simplified API (image.h).
 *
 * png_image does its own setjmp/longjmp error handling and frees everything it
 * allocated on failure, so every error path here is a plain return.
 */
#include "engram/image.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engram/engram.h"

/* Largest image (in pixels) that is allocated or read: guards against corrupt headers
 * and absurd requests (2^28 pixels = 768 MiB of RGB). */
#define IMAGE_MAX_PIXELS ((size_t)1 << 28)

/* ------------------------------------------------------------------ allocation */

/* Allocates a white width x height image; NULL (with engram_error() set) on a zero or
 * absurd size or when memory runs out. Free with image_free. */
image *image_alloc(size_t width, size_t height) {
    if (width == 0 || height == 0 || width > IMAGE_MAX_PIXELS / height) {
        engram_fail(ENGRAM_EINVAL, "image_alloc: bad image size %zu x %zu", width, height);
        return NULL;
    }
    image *im = malloc(sizeof *im);
    if (!im) {
        engram_fail(ENGRAM_ENOMEM, "image_alloc: out of memory");
        return NULL;
    }
    im->rgb = malloc(width * height * 3);
    if (!im->rgb) {
        free(im);
        engram_fail(ENGRAM_ENOMEM, "image_alloc: out of memory for %zu x %zu", width, height);
        return NULL;
    }
    memset(im->rgb, 255, width * height * 3);
    im->width = width;
    im->height = height;
    return im;
}

/* Frees an image and its pixels; image_free(NULL) is a no-op. */
void image_free(image *im) {
    if (!im) return;
    free(im->rgb);
    free(im);
}

/* ------------------------------------------------------------------ PNG files */

/* Writes im as an 8-bit RGB PNG at path. Returns ENGRAM_OK, ENGRAM_EINVAL for a bad
 * image, or ENGRAM_EIO (message names the file and libpng's reason); a partly written
 * file is removed by libpng. */
int image_write_png(const image *im, const char *path) {
    if (!im || !im->rgb || !path || im->width == 0 || im->height == 0)
        return engram_fail(ENGRAM_EINVAL, "image_write_png: no image or no path");
    if (im->width > PNG_UINT_31_MAX / 3 || im->height > PNG_UINT_31_MAX)
        return engram_fail(ENGRAM_EINVAL, "image_write_png: image too large for PNG");
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)im->width;
    pi.height = (png_uint_32)im->height;
    pi.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&pi, path, 0, im->rgb, (png_int_32)(im->width * 3), NULL)) {
        int st = engram_fail(ENGRAM_EIO, "cannot write %s: %s", path, pi.message);
        png_image_free(&pi);
        return st;
    }
    return ENGRAM_OK;
}

/* Reads a PNG (8-bit RGB or RGBA; libpng also converts grey, palette and 16-bit
 * files) into a new RGB image, dropping alpha without compositing. Returns NULL with
 * engram_error() set: ENGRAM_EIO if the file cannot be opened, ENGRAM_EFORMAT if it is
 * not a PNG or is truncated/corrupt. */
image *image_read_png(const char *path) {
    if (!path) {
        engram_fail(ENGRAM_EINVAL, "image_read_png: no path");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        engram_fail(ENGRAM_EIO, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&pi, f)) {
        engram_fail(ENGRAM_EFORMAT, "cannot read %s: not a PNG or corrupt header (%s)", path,
                    pi.message);
        png_image_free(&pi);
        fclose(f);
        return NULL;
    }
    if (pi.width == 0 || pi.height == 0 || pi.width > IMAGE_MAX_PIXELS / pi.height) {
        engram_fail(ENGRAM_EFORMAT, "cannot read %s: image size %u x %u out of range", path,
                    (unsigned)pi.width, (unsigned)pi.height);
        png_image_free(&pi);
        fclose(f);
        return NULL;
    }
    pi.format = PNG_FORMAT_RGBA;
    size_t w = pi.width, h = pi.height;
    uint8_t *rgba = malloc(w * h * 4);
    image *im = image_alloc(w, h);
    if (!rgba || !im) {
        free(rgba);
        image_free(im);
        png_image_free(&pi);
        fclose(f);
        engram_fail(ENGRAM_ENOMEM, "cannot read %s: out of memory for %zu x %zu", path, w, h);
        return NULL;
    }
    if (!png_image_finish_read(&pi, NULL, rgba, (png_int_32)(w * 4), NULL)) {
        engram_fail(ENGRAM_EFORMAT, "cannot read %s: truncated or corrupt PNG (%s)", path,
                    pi.message);
        free(rgba);
        image_free(im);
        png_image_free(&pi);
        fclose(f);
        return NULL;
    }
    for (size_t i = 0; i < w * h; i++) memcpy(im->rgb + 3 * i, rgba + 4 * i, 3);
    free(rgba);
    png_image_free(&pi);
    fclose(f);
    return im;
}

