/* cli.h: sub-commands of the engram program implemented outside main.c. Each takes the
 * arguments after the sub-command name (argv[0] is the sub-command) and returns the
 * process exit code (0 ok, 1 run failure, 2 usage), printing one line on stderr on error. */
#ifndef ENGRAM_CLI_H
#define ENGRAM_CLI_H

#include <stddef.h>

/* engram render WHAT FILE.npy --out FILE.png [--cmap jet|viridis] */
int cmd_render(int argc, char **argv);

/* engram gridscore FILE.npy [--out FILE.csv] */
int cmd_gridscore(int argc, char **argv);

/* engram sweep SPEC.ini|DIR [--local|--slurm|--print-tasks] ... (cmd_sweep.c) */
int cmd_sweep(int argc, char **argv);

/* engram collect DIR [--metric NAME] [--key SECTION.KEY] [--out FILE.csv] [--plot FILE.png] */
int cmd_collect(int argc, char **argv);

/* The default thread count of a run: OMP_NUM_THREADS when set, else SLURM_CPUS_PER_TASK
 * inside a Slurm allocation, else the number of processors. */
int cli_default_threads(void);

/* Parses a seed list: "K" (the seeds 1..K), "A-B" (A..B) or a comma list of seeds and
 * ranges ("1,3,5", "1-3,7"), at most max seeds, none twice, into seeds[0..*n-1].
 * Returns ENGRAM_OK or ENGRAM_EINVAL with a one-line message. */
int sweep_parse_seeds(const char *text, long *seeds, size_t max, size_t *n);

/* Runs `engram compare`'s runs as a sweep in directory out: base configuration target
 * (preset or .ini), train.rule over rules[0..n_rules-1], seeds[0..n_seeds-1], the
 * --set assignments, --quick; jobs points at a time, one thread each, each in
 * out/RULE-seedS. Points already done are kept unless force. Failed points are not an
 * error here (sweep_point_result reports them); returns ENGRAM_OK, or a status when
 * the sweep could not be set up or was interrupted. */
int sweep_compare(const char *target, const char *const *rules, size_t n_rules, const long *seeds,
                  size_t n_seeds, const char *const *sets, size_t n_sets, int quick, int jobs, int quiet,
                  int force, const char *out);

/* Reads a finished run directory: the summary value of `metric` and of
 * steps_to_criterion ("" when absent) and wall_s; on failure, the run's error line
 * from the sweep's log. Returns ENGRAM_OK, ENGRAM_EDIVERGED, or ENGRAM_EIO (no
 * summary: the run failed). */
int sweep_point_result(const char *dir, const char *metric, char *value, size_t value_n, char *steps,
                       size_t steps_n, double *wall, char *err, size_t err_n);
/* engram analyze RUN_DIR record|pca|lesion|perturb|tuning|fixedpoints|encode [options] */
int cmd_analyze(int argc, char **argv);

#endif
