build-gsl/src/experiments/tmaze.o: src/experiments/tmaze.c \
 include/engram/engram.h include/engram/experiment.h \
 include/engram/config.h include/engram/run.h include/engram/image.h \
 include/engram/learner.h include/engram/task.h include/engram/r2n2.h \
 include/engram/cache.h include/engram/rng.h include/engram/tmaze.h
include/engram/engram.h:
include/engram/experiment.h:
include/engram/config.h:
include/engram/run.h:
include/engram/image.h:
include/engram/learner.h:
include/engram/task.h:
include/engram/r2n2.h:
include/engram/cache.h:
include/engram/rng.h:
include/engram/tmaze.h:
