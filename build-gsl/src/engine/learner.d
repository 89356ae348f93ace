build-gsl/src/engine/learner.o: src/engine/learner.c \
 include/engram/learner.h include/engram/config.h include/engram/task.h \
 include/engram/run.h include/engram/rnn.h include/engram/r2n2.h \
 include/engram/cache.h
include/engram/learner.h:
include/engram/config.h:
include/engram/task.h:
include/engram/run.h:
include/engram/rnn.h:
include/engram/r2n2.h:
include/engram/cache.h:
