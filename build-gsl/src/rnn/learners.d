build-gsl/src/rnn/learners.o: src/rnn/learners.c include/engram/engram.h \
 include/engram/optim.h include/engram/rng.h include/engram/rnn.h \
 include/engram/learner.h include/engram/config.h include/engram/task.h \
 include/engram/run.h
include/engram/engram.h:
include/engram/optim.h:
include/engram/rng.h:
include/engram/rnn.h:
include/engram/learner.h:
include/engram/config.h:
include/engram/task.h:
include/engram/run.h:
