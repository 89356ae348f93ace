/* config.h: typed configuration registry read from INI files.
 *
 * Every experiment declares its keys in tables of cfg_key (name "section.key", type,
 * default, range, one-line help). A config object holds one value per declared key,
 * starting at the defaults; values then come from INI files (parsed with inih) and
 * from "section.key=value" assignments (--set on the command line). An unknown
 * section or key, an unparsable value or a value out of range is refused with a
 * message naming the file and line (or the --set argument) and ENGRAM_EINVAL.
 *
 * Example:
 *     static const cfg_key my_keys[] = {
 *         {"model.n_rec", CFG_INT, "100", 1, 100000, NULL, "number of recurrent units"},
 *         {"train.rule", CFG_ENUM, "bptt", 0, 0, "bptt|fa|rflo", "learning rule"},
 *         {NULL}
 *     };
 *     const cfg_key *tables[] = {config_common_keys, my_keys, NULL};
 *     config *c = config_alloc(tables);
 *     if (config_load(c, "experiments/anbn.ini") != ENGRAM_OK) puts(engram_error());
 *     long n = config_int(c, "model.n_rec");
 *     config_free(c);
 *
 * Getting a key that was never declared is a programming error (assert).
 */
#ifndef ENGRAM_CONFIG_H
#define ENGRAM_CONFIG_H

#include <stdint.h>
#include <stdio.h>

/* CFG_LIST: a comma-separated list of distinct CFG_ENUM-style choices ("png,svg"). */
typedef enum { CFG_INT, CFG_REAL, CFG_BOOL, CFG_STR, CFG_ENUM, CFG_LIST } cfg_type;

typedef struct cfg_key {
    const char *name;    /* "section.key" */
    cfg_type type;
    const char *def;     /* default value as text */
    double min, max;     /* inclusive range for CFG_INT and CFG_REAL */
    const char *choices; /* CFG_ENUM, CFG_LIST: "a|b|c" */
    const char *help;    /* one line */
} cfg_key;

/* Keys every experiment has: run.experiment, run.seed, run.quick, run.version,
 * run.checkpoint_every. NULL-terminated. */
extern const cfg_key config_common_keys[];

typedef struct config config;

/* Allocates a config with every key of the NULL-terminated list of NULL-terminated
 * tables at its default. A key declared twice keeps its first declaration. Returns
 * NULL on allocation failure. */
config *config_alloc(const cfg_key *const *tables);

void config_free(config *c);

/* Reads an INI file into c. Returns ENGRAM_OK, ENGRAM_EIO (cannot open) or
 * ENGRAM_EINVAL ("FILE:LINE: ..." message). */
int config_load(config *c, const char *path);

/* Applies one "section.key=value" assignment; `origin` names where it came from in
 * error messages (for example "--set"). Returns ENGRAM_OK or ENGRAM_EINVAL. */
int config_set(config *c, const char *assignment, const char *origin);

/* Sets key `name` to the text `value`, checking type and range. */
int config_set_value(config *c, const char *name, const char *value, const char *origin);

/* Typed getters. */
long config_int(const config *c, const char *name);
double config_real(const config *c, const char *name);
int config_bool(const config *c, const char *name);
const char *config_str(const config *c, const char *name); /* CFG_STR, CFG_ENUM, CFG_LIST */

/* Returns 1 if key `name` is declared. */
int config_has(const config *c, const char *name);

/* Writes every key, grouped by section, with help text as comments. Returns
 * ENGRAM_OK or ENGRAM_EIO. */
int config_write(const config *c, const char *path);

/* Writes the configuration in config_write's INI form to an open stream. Returns
 * ENGRAM_OK or ENGRAM_EIO (stream error). */
int config_fprint(const config *c, FILE *f);

/* Prints the registry: key, type, default, range or choices, help. */
void config_print_keys(const config *c, FILE *f);

/* Returns a 64-bit FNV-1a hash of every key name and value of c except the keys named
 * in the NULL-terminated list skip (may be NULL); never 0. Two configurations with the
 * same values hash alike whatever file or option they came from. */
uint64_t config_hash(const config *c, const char *const *skip);

#endif
