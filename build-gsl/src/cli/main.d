build-gsl/src/cli/main.o: src/cli/main.c src/cli/cli.h \
 include/engram/config.h include/engram/engram.h \
 include/engram/experiment.h include/engram/run.h include/engram/image.h \
 include/engram/learner.h include/engram/task.h
src/cli/cli.h:
include/engram/config.h:
include/engram/engram.h:
include/engram/experiment.h:
include/engram/run.h:
include/engram/image.h:
include/engram/learner.h:
include/engram/task.h:
