build-gsl/src/experiments/anbn.o: src/experiments/anbn.c \
 include/engram/anbn.h include/engram/experiment.h \
 include/engram/config.h include/engram/run.h include/engram/task.h \
 include/engram/engram.h include/engram/image.h include/engram/learner.h \
 include/engram/r2n2.h include/engram/cache.h include/engram/rng.h
include/engram/anbn.h:
include/engram/experiment.h:
include/engram/config.h:
include/engram/run.h:
include/engram/task.h:
include/engram/engram.h:
include/engram/image.h:
include/engram/learner.h:
include/engram/r2n2.h:
include/engram/cache.h:
include/engram/rng.h:
