/* fuzz_config.c: libFuzzer harness for config_load and config_set (config.h, inih).
 *
 * Each input is used twice, on fresh configs holding config_common_keys and a table with
 * every key type (int, real, bool, string, choice):
 *   1. written to a per-process file under /tmp and read with config_load;
 *   2. split at '\n' into "section.key=value" assignments applied with config_set (as
 *      --set does), then the whole input as one assignment (argv may hold newlines).
 * Besides crash-freedom (ASan/UBSan), after each step, whether or not it succeeded:
 *   - every getter returns a value inside the key's declared range (int, real), one of
 *     its choices (choice), 0 or 1 from a parsable text (bool), a string shorter than
 *     the value limit (string);
 *   - the configuration survives config_write + config_load into a fresh config with
 *     every value identical (config.ini must repeat the run).
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build and run: make fuzz FUZZ_SECONDS=60 (tests/fuzz/run.sh). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engram/config.h"
#include "engram/engram.h"

#define FUZZ_NAME "fuzz_config"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const cfg_key fuzz_keys[] = {
    {"model.n_rec", CFG_INT, "100", 1, 100000, NULL, "number of recurrent units"},
    {"model.offset", CFG_INT, "-3", -17, 23, NULL, "a small signed integer"},
    {"train.lr", CFG_REAL, "0.01", 1e-9, 10.0, NULL, "learning rate"},
    {"train.decay", CFG_REAL, "-0.25", -1.5, 2.385, NULL, "a signed real"},
    {"train.rule", CFG_ENUM, "bptt", 0, 0, "bptt|fa|rflo", "learning rule"},
    {"train.clip", CFG_BOOL, "true", 0, 0, NULL, "clip gradients"},
    {"data.path", CFG_STR, "inputs/x.npy", 0, 0, NULL, "input file"},
    {"data.tag", CFG_STR, "", 0, 0, NULL, "free text"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};
static const cfg_key *const fuzz_tables[] = {config_common_keys, fuzz_keys, NULL};

static char path_in[128], path_out[128];

static void init_paths(void) {
    if (path_in[0]) return;
    fuzz_make_path(path_in, "in.ini");
    fuzz_make_path(path_out, "out.ini");
}

/* 1 if `s` is one of the '|'-separated choices. */
static int is_choice(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, s, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* s is a comma-separated list of choices (repeats are refused by the loader). */
static int is_choice_list(const char *choices, const char *s) {
    char tok[256];
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        if (len >= sizeof tok) return 0;
        memcpy(tok, p, len);
        tok[len] = '\0';
        if (!is_choice(choices, tok)) return 0;
        if (!p[len]) return 1;
        p += len + 1;
    }
}

/* Checks every key of every table against its declaration. */
static void check_ranges(const config *c, const char *when) {
    for (size_t t = 0; fuzz_tables[t]; t++)
        for (const cfg_key *k = fuzz_tables[t]; k->name; k++) {
            switch (k->type) {
            case CFG_INT: {
                long v = config_int(c, k->name);
                FUZZ_CHECK((double)v >= k->min && (double)v <= k->max,
                           "%s: %s = %ld outside [%g, %g]", when, k->name, v, k->min, k->max);
                FUZZ_CHECK(config_real(c, k->name) == (double)v, "%s: %s int/real differ",
                           when, k->name);
                break;
            }
            case CFG_REAL: {
                double v = config_real(c, k->name);
                FUZZ_CHECK(isfinite(v) && v >= k->min && v <= k->max,
                           "%s: %s = %.17g outside [%g, %g]", when, k->name, v, k->min, k->max);
                break;
            }
            case CFG_BOOL: {
                int v = config_bool(c, k->name);
                FUZZ_CHECK(v == 0 || v == 1, "%s: %s = %d", when, k->name, v);
                break;
            }
            case CFG_ENUM:
                FUZZ_CHECK(is_choice(k->choices, config_str(c, k->name)),
                           "%s: %s = '%s' not in %s", when, k->name, config_str(c, k->name),
                           k->choices);
                break;
            case CFG_LIST:
                FUZZ_CHECK(is_choice_list(k->choices, config_str(c, k->name)),
                           "%s: %s = '%s' not a list of %s", when, k->name,
                           config_str(c, k->name), k->choices);
                break;
            case CFG_STR:
                FUZZ_CHECK(strlen(config_str(c, k->name)) < 256, "%s: %s too long", when,
                           k->name);
                break;
            }
        }
}

/* Writes c, reads it back into a fresh config, and requires identical values. */
static void check_roundtrip(const config *c, const char *when) {
    remove(path_out); /* a fresh file: ext4 flushes a file truncated and rewritten */
    FUZZ_CHECK(config_write(c, path_out) == ENGRAM_OK, "%s: config_write: %s", when,
               engram_error());
    config *d = config_alloc(fuzz_tables);
    FUZZ_CHECK(d != NULL, "out of memory");
    int st = config_load(d, path_out);
    FUZZ_CHECK(st == ENGRAM_OK, "%s: written configuration does not load: %s", when,
               engram_error());
    for (size_t t = 0; fuzz_tables[t]; t++)
        for (const cfg_key *k = fuzz_tables[t]; k->name; k++) {
            switch (k->type) {
            case CFG_INT:
                FUZZ_CHECK(config_int(c, k->name) == config_int(d, k->name),
                           "%s: %s = %ld written, %ld read back", when, k->name,
                           config_int(c, k->name), config_int(d, k->name));
                break;
            case CFG_REAL: {
                double a = config_real(c, k->name), b = config_real(d, k->name);
                FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0, "%s: %s = %.17g written, %.17g read back",
                           when, k->name, a, b);
                break;
            }
            case CFG_BOOL:
                FUZZ_CHECK(config_bool(c, k->name) == config_bool(d, k->name),
                           "%s: %s bool differs after round trip", when, k->name);
                break;
            case CFG_STR:
            case CFG_ENUM:
            case CFG_LIST:
                FUZZ_CHECK(strcmp(config_str(c, k->name), config_str(d, k->name)) == 0,
                           "%s: %s = '%s' written, '%s' read back", when, k->name,
                           config_str(c, k->name), config_str(d, k->name));
                break;
            }
        }
    config_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init_paths();
    /* 1. As an INI file. */
    remove(path_in); /* a fresh file: ext4 flushes a file truncated and rewritten */
    FILE *f = fopen(path_in, "wb");
    FUZZ_CHECK(f != NULL, "cannot create %s", path_in);
    FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size, "cannot write %s", path_in);
    FUZZ_CHECK(fclose(f) == 0, "cannot close %s", path_in);
    config *c = config_alloc(fuzz_tables);
    FUZZ_CHECK(c != NULL, "out of memory");
    int st = config_load(c, path_in);
    FUZZ_CHECK(st == ENGRAM_OK || st == ENGRAM_EINVAL, "config_load status %d", st);
    FUZZ_CHECK(st == ENGRAM_OK || engram_error()[0] != '\0', "failure without a message");
    check_ranges(c, "config_load");
    check_roundtrip(c, "config_load");
    config_free(c);

    /* 2. As --set assignments: one per line, then the whole input. */
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL, "out of memory");
    if (size) memcpy(text, data, size);
    text[size] = '\0';
    c = config_alloc(fuzz_tables);
    FUZZ_CHECK(c != NULL, "out of memory");
    char *save = NULL;
    char *lines = strdup(text);
    FUZZ_CHECK(lines != NULL, "out of memory");
    for (char *line = strtok_r(lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        st = config_set(c, line, "--set");
        FUZZ_CHECK(st == ENGRAM_OK || st == ENGRAM_EINVAL, "config_set status %d", st);
    }
    free(lines);
    check_ranges(c, "config_set lines");
    check_roundtrip(c, "config_set lines");
    st = config_set(c, text, "--set");
    FUZZ_CHECK(st == ENGRAM_OK || st == ENGRAM_EINVAL, "config_set status %d", st);
    check_ranges(c, "config_set whole");
    check_roundtrip(c, "config_set whole");
    config_free(c);
    free(text);
    return 0;
}
