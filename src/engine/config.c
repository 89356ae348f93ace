/* config.c: typed configuration registry with INI files parsed by inih (config.h). */
#include <assert.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "engram/config.h"
#include "engram/engram.h"

const cfg_key config_common_keys[] = {
    {"run.experiment", CFG_STR, "", 0, 0, NULL, "experiment this configuration belongs to"},
    {"run.seed", CFG_INT, "1", 0, 4294967295.0, NULL, "seed of every random stream of the run"},
    {"run.quick", CFG_BOOL, "false", 0, 0, NULL, "shrunk demo-sized run (set by --quick)"},
    {"run.version", CFG_STR, ENGRAM_VERSION, 0, 0, NULL,
     "engram version that wrote this configuration (informative)"},
    {"run.checkpoint_every", CFG_INT, "0", 0, 1e12, NULL,
     "write checkpoint.bin every this many updates (0: never)"},
    {"run.figure_format", CFG_LIST, "png", 0, 0, "png|svg|pdf",
     "file formats of the run's figures, e.g. png or png,svg (png raster; svg, pdf vector)"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

#define CFG_VALUE_MAX 256

typedef struct cfg_entry {
    const cfg_key *key;
    char text[CFG_VALUE_MAX];
} cfg_entry;

struct config {
    size_t n;
    cfg_entry *e;
};

static cfg_entry *find(const config *c, const char *name) {
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].key->name, name) == 0) return &c->e[i];
    return NULL;
}

config *config_alloc(const cfg_key *const *tables) {
    size_t n = 0;
    for (size_t t = 0; tables[t]; t++)
        for (const cfg_key *k = tables[t]; k->name; k++) n++;
    config *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->e = calloc(n ? n : 1, sizeof *c->e);
    if (!c->e) { free(c); return NULL; }
    for (size_t t = 0; tables[t]; t++)
        for (const cfg_key *k = tables[t]; k->name; k++) {
            if (find(c, k->name)) continue;
            c->e[c->n].key = k;
            snprintf(c->e[c->n].text, CFG_VALUE_MAX, "%s", k->def);
            c->n++;
        }
    return c;
}

void config_free(config *c) {
    if (!c) return;
    free(c->e);
    free(c);
}

static int parse_bool(const char *s, int *v) {
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1") || !strcasecmp(s, "on")) { *v = 1; return 1; }
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0") || !strcasecmp(s, "off")) { *v = 0; return 1; }
    return 0;
}

static int parse_real(const char *s, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (end == s || errno == ERANGE) return 0;
    while (*end == ' ' || *end == '\t') end++;
    return *end == '\0' && isfinite(*v);
}

static int parse_int(const char *s, long *v) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || errno == ERANGE) return 0;
    while (*end == ' ' || *end == '\t') end++;
    if (*end != '\0') return 0;
    *v = (long)x;
    return 1;
}

static int enum_has(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* Checks `value` against key k; returns ENGRAM_OK or writes a message (no origin). */
static int check_value(const cfg_key *k, const char *value, char *msg, size_t msglen) {
    double r;
    long i;
    int b;
    switch (k->type) {
    case CFG_INT:
        if (!parse_int(value, &i)) {
            snprintf(msg, msglen, "%s = '%s' is not an integer", k->name, value);
            return ENGRAM_EINVAL;
        }
        if ((double)i < k->min || (double)i > k->max) {
            snprintf(msg, msglen, "%s = %ld is out of range [%.15g, %.15g]", k->name, i, k->min, k->max);
            return ENGRAM_EINVAL;
        }
        return ENGRAM_OK;
    case CFG_REAL:
        if (!parse_real(value, &r)) {
            snprintf(msg, msglen, "%s = '%s' is not a finite number", k->name, value);
            return ENGRAM_EINVAL;
        }
        if (r < k->min || r > k->max) {
            snprintf(msg, msglen, "%s = %.15g is out of range [%.15g, %.15g]", k->name, r, k->min, k->max);
            return ENGRAM_EINVAL;
        }
        return ENGRAM_OK;
    case CFG_BOOL:
        if (!parse_bool(value, &b)) {
            snprintf(msg, msglen, "%s = '%s' is not a boolean (true or false)", k->name, value);
            return ENGRAM_EINVAL;
        }
        return ENGRAM_OK;
    case CFG_ENUM:
        if (!enum_has(k->choices, value)) {
            snprintf(msg, msglen, "%s = '%s' is not one of %s", k->name, value, k->choices);
            return ENGRAM_EINVAL;
        }
        return ENGRAM_OK;
    case CFG_LIST: {
        /* Distinct choices separated by commas: "png,svg". */
        char tok[CFG_VALUE_MAX];
        const char *p = value;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            snprintf(tok, sizeof tok, "%.*s", (int)(len < sizeof tok ? len : sizeof tok - 1), p);
            if (!enum_has(k->choices, tok)) {
                snprintf(msg, msglen, "%s = '%s': '%s' is not one of %s (a comma-separated "
                         "list of them)", k->name, value, tok, k->choices);
                return ENGRAM_EINVAL;
            }
            for (const char *q = value; q < p;) { /* an earlier token equal to tok */
                const char *qc = strchr(q, ',');
                if ((size_t)(qc - q) == len && !strncmp(q, tok, len)) {
                    snprintf(msg, msglen, "%s = '%s': '%s' given twice", k->name, value, tok);
                    return ENGRAM_EINVAL;
                }
                q = qc + 1;
            }
            if (!comma) break;
            p = comma + 1;
        }
        return ENGRAM_OK;
    }
    case CFG_STR:
        if (strlen(value) >= CFG_VALUE_MAX) {
            snprintf(msg, msglen, "%s: value longer than %d characters", k->name, CFG_VALUE_MAX - 1);
            return ENGRAM_EINVAL;
        }
        return ENGRAM_OK;
    }
    return ENGRAM_EINVAL;
}

static int section_known(const config *c, const char *section) {
    size_t n = strlen(section);
    for (size_t i = 0; i < c->n; i++)
        if (strncmp(c->e[i].key->name, section, n) == 0 && c->e[i].key->name[n] == '.') return 1;
    return 0;
}

/* Sets a value; msg receives the reason on failure. */
static int set_value(config *c, const char *name, const char *value, char *msg, size_t msglen) {
    cfg_entry *e = find(c, name);
    if (!e) {
        const char *dot = strchr(name, '.');
        if (!dot) {
            snprintf(msg, msglen, "'%s' is not a section.key name", name);
        } else {
            char section[128];
            snprintf(section, sizeof section, "%.*s", (int)(dot - name), name);
            if (!section_known(c, section))
                snprintf(msg, msglen, "unknown section [%s] (see: engram list keys EXPERIMENT)", section);
            else
                snprintf(msg, msglen, "unknown key '%s' (see: engram list keys EXPERIMENT)", name);
        }
        return ENGRAM_EINVAL;
    }
    /* Trim surrounding spaces. */
    while (*value == ' ' || *value == '\t') value++;
    char buf[CFG_VALUE_MAX];
    if (strlen(value) >= sizeof buf) {
        snprintf(msg, msglen, "%s: value too long", name);
        return ENGRAM_EINVAL;
    }
    snprintf(buf, sizeof buf, "%s", value);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r')) buf[--n] = '\0';
    /* Refuse what config_write could not write as one INI line that config_load reads
     * back unchanged (config.ini must repeat the run; found by tests/fuzz/fuzz_config.c):
     * control characters (a newline would start a line of its own), ';' first or after
     * a blank (inih's inline comment), a "key = value" line longer than inih reads. */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            snprintf(msg, msglen, "%s: value contains control character 0x%02x", name, ch);
            return ENGRAM_EINVAL;
        }
        if (ch == ';' && (i == 0 || buf[i - 1] == ' ' || buf[i - 1] == '\t')) {
            snprintf(msg, msglen, "%s: ';' at the start of a value or after a blank starts a "
                     "comment in a configuration file", name);
            return ENGRAM_EINVAL;
        }
    }
    const char *dot = strchr(e->key->name, '.');
    if (strlen(dot ? dot + 1 : e->key->name) + 3 + n > INI_MAX_LINE - 2) {
        snprintf(msg, msglen, "%s: value too long for a configuration line (%d characters)",
                 name, INI_MAX_LINE - 2);
        return ENGRAM_EINVAL;
    }
    int st = check_value(e->key, buf, msg, msglen);
    if (st != ENGRAM_OK) return st;
    snprintf(e->text, CFG_VALUE_MAX, "%s", buf);
    return ENGRAM_OK;
}

int config_set_value(config *c, const char *name, const char *value, const char *origin) {
    char msg[400];
    if (set_value(c, name, value, msg, sizeof msg) != ENGRAM_OK)
        return engram_fail(ENGRAM_EINVAL, "%s: %s", origin, msg);
    return ENGRAM_OK;
}

int config_set(config *c, const char *assignment, const char *origin) {
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return engram_fail(ENGRAM_EINVAL, "%s '%s': expected SECTION.KEY=VALUE", origin, assignment);
    char name[160];
    size_t len = (size_t)(eq - assignment);
    while (len && assignment[len - 1] == ' ') len--;
    if (len >= sizeof name)
        return engram_fail(ENGRAM_EINVAL, "%s '%s': key too long", origin, assignment);
    memcpy(name, assignment, len);
    name[len] = '\0';
    return config_set_value(c, name, eq + 1, origin);
}

typedef struct load_state {
    config *c;
    FILE *f;
    int line;      /* lines read so far */
    int fail_line; /* line of the first value the handler refused, 0 if none */
    char msg[400];
    int failed;
} load_state;

/* inih stream reader that counts lines, so a refused value is told from a syntax error.
 * inih would split a line longer than its buffer and read the tail as a line of its own
 * (found by tests/fuzz/fuzz_config.c): the rest of a long comment is skipped, any other
 * long line stops the parse with a message. */
static char *config_ini_reader(char *str, int num, void *stream) {
    load_state *s = stream;
    str[num - 1] = 'x'; /* fgets writes its '\0' here only when it filled the buffer */
    char *r = fgets(str, num, s->f);
    if (!r) return NULL;
    s->line++;
    if (str[num - 1] != '\0' || str[num - 2] == '\n') return r;
    int ch = fgetc(s->f);
    if (ch == EOF || ch == '\n') return r; /* the line fitted exactly */
    const char *p = r;
    if (s->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* inih skips a BOM */
    p += strspn(p, " \t\v\f\r");
    if (*p == ';' || *p == '#') {
        while (ch != EOF && ch != '\n') ch = fgetc(s->f);
        return r;
    }
    if (!s->failed) {
        snprintf(s->msg, sizeof s->msg, "line longer than %d characters", num - 2);
        s->failed = 1;
        s->fail_line = s->line;
    }
    return NULL;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value) {
    load_state *s = user;
    if (s->failed) return 0;
    char full[300];
    snprintf(full, sizeof full, "%s.%s", section, name);
    if (!*section) {
        snprintf(s->msg, sizeof s->msg, "key '%s' is outside any [section]", name);
        s->failed = 1;
        s->fail_line = s->line;
        return 0;
    }
    if (set_value(s->c, full, value, s->msg, sizeof s->msg) != ENGRAM_OK) {
        s->failed = 1;
        s->fail_line = s->line;
        return 0;
    }
    return 1;
}

int config_load(config *c, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return engram_fail(ENGRAM_EIO, "cannot open configuration file %s", path);
    load_state s = {c, f, 0, 0, "", 0};
    int line = ini_parse_stream(config_ini_reader, &s, config_ini_handler, &s);
    fclose(f);
    if (line == 0 && !s.failed) return ENGRAM_OK;
    if (line < 0) return engram_fail(ENGRAM_EIO, "cannot read configuration file %s", path);
    if (s.failed && (line == 0 || s.fail_line == line))
        return engram_fail(ENGRAM_EINVAL, "%s:%d: %s", path, s.fail_line, s.msg);
    return engram_fail(ENGRAM_EINVAL, "%s:%d: syntax error (expected [section] or key = value)",
                       path, line);
}

long config_int(const config *c, const char *name) {
    cfg_entry *e = find(c, name);
    assert(e && e->key->type == CFG_INT);
    long v = 0;
    parse_int(e->text, &v);
    return v;
}

double config_real(const config *c, const char *name) {
    cfg_entry *e = find(c, name);
    assert(e && (e->key->type == CFG_REAL || e->key->type == CFG_INT));
    double v = 0;
    parse_real(e->text, &v);
    return v;
}

int config_bool(const config *c, const char *name) {
    cfg_entry *e = find(c, name);
    assert(e && e->key->type == CFG_BOOL);
    int v = 0;
    parse_bool(e->text, &v);
    return v;
}

const char *config_str(const config *c, const char *name) {
    cfg_entry *e = find(c, name);
    assert(e && (e->key->type == CFG_STR || e->key->type == CFG_ENUM || e->key->type == CFG_LIST));
    return e->text;
}

int config_has(const config *c, const char *name) { return find(c, name) != NULL; }

static const char *type_name(cfg_type t) {
    static const char *const names[] = {"int", "real", "bool", "string", "choice", "list"};
    return names[t];
}

int config_fprint(const config *c, FILE *f) {
    /* The path is not written here: it may be longer than an INI line or hold
     * characters a comment cannot (every line stays below INI_MAX_LINE). */
    fprintf(f, "# engram %s resolved configuration; `engram run DIR/config.ini` repeats "
            "this run.\n", ENGRAM_VERSION);
    /* Sections in order of first appearance. */
    for (size_t i = 0; i < c->n; i++) {
        const char *name = c->e[i].key->name;
        size_t slen = (size_t)(strchr(name, '.') - name);
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strncmp(c->e[j].key->name, name, slen + 1) == 0;
        if (seen) continue;
        fprintf(f, "\n[%.*s]\n", (int)slen, name);
        for (size_t j = i; j < c->n; j++) {
            const char *nj = c->e[j].key->name;
            if (strncmp(nj, name, slen + 1) != 0) continue;
            fprintf(f, "# %s\n%s = %s\n", c->e[j].key->help, nj + slen + 1, c->e[j].text);
        }
    }
    return ferror(f) ? ENGRAM_EIO : ENGRAM_OK;
}

int config_write(const config *c, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    int st = config_fprint(c, f);
    if (fclose(f) != 0 || st != ENGRAM_OK) return engram_fail(ENGRAM_EIO, "cannot write %s", path);
    return ENGRAM_OK;
}

uint64_t config_hash(const config *c, const char *const *skip) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
    for (size_t i = 0; i < c->n; i++) {
        const char *name = c->e[i].key->name;
        int skipped = 0;
        for (size_t k = 0; skip && skip[k] && !skipped; k++) skipped = !strcmp(skip[k], name);
        if (skipped) continue;
        const char *parts[2] = {name, c->e[i].text};
        for (int p = 0; p < 2; p++)
            for (const unsigned char *b = (const unsigned char *)parts[p];; b++) {
                h ^= *b; /* the terminating NUL separates name and value */
                h *= 0x100000001b3ULL;
                if (!*b) break;
            }
    }
    return h ? h : 1; /* 0 means "no hash" in a checkpoint */
}

void config_print_keys(const config *c, FILE *f) {
    for (size_t i = 0; i < c->n; i++) {
        const cfg_key *k = c->e[i].key;
        char range[200] = "";
        if (k->type == CFG_INT || k->type == CFG_REAL)
            snprintf(range, sizeof range, "[%.6g, %.6g]", k->min, k->max);
        else if (k->type == CFG_ENUM)
            snprintf(range, sizeof range, "{%s}", k->choices);
        else if (k->type == CFG_LIST)
            snprintf(range, sizeof range, "{%s},...", k->choices);
        fprintf(f, "%-28s %-6s %-12s %-22s %s\n", k->name, type_name(k->type), c->e[i].text,
                range, k->help);
    }
}
