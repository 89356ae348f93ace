/* cli.h: sub-commands of the engram program implemented outside main.c. Each takes the
 * arguments after the sub-command name (argv[0] is the sub-command) and returns the
 * process exit code (0 ok, 1 run failure, 2 usage), printing one line on stderr on error. */
#ifndef ENGRAM_CLI_H
#define ENGRAM_CLI_H

/* engram render WHAT FILE.npy --out FILE.png [--cmap jet|viridis] */
int cmd_render(int argc, char **argv);

/* engram gridscore FILE.npy [--out FILE.csv] */
int cmd_gridscore(int argc, char **argv);

/* engram analyze RUN_DIR record|pca|lesion|perturb|tuning|fixedpoints|encode [options] */
int cmd_analyze(int argc, char **argv);

#endif
