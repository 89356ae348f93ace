build-gsl/src/cli/registry.o: src/cli/registry.c \
 include/engram/experiment.h include/engram/config.h include/engram/run.h \
 include/engram/anbn.h include/engram/task.h include/engram/tmaze.h \
 include/engram/esn.h
include/engram/experiment.h:
include/engram/config.h:
include/engram/run.h:
include/engram/anbn.h:
include/engram/task.h:
include/engram/tmaze.h:
include/engram/esn.h:
