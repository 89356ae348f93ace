build-gsl/src/r2n2/learner_r2n2.o: src/r2n2/learner_r2n2.c \
 include/engram/engram.h include/engram/optim.h include/engram/rng.h \
 include/engram/r2n2.h include/engram/config.h include/engram/learner.h \
 include/engram/task.h include/engram/run.h include/engram/cache.h
include/engram/engram.h:
include/engram/optim.h:
include/engram/rng.h:
include/engram/r2n2.h:
include/engram/config.h:
include/engram/learner.h:
include/engram/task.h:
include/engram/run.h:
include/engram/cache.h:
