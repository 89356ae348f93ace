build-gsl/src/rnn/rnn.o: src/rnn/rnn.c include/engram/engram.h \
 include/engram/rnn.h include/engram/learner.h include/engram/config.h \
 include/engram/task.h include/engram/run.h
include/engram/engram.h:
include/engram/rnn.h:
include/engram/learner.h:
include/engram/config.h:
include/engram/task.h:
include/engram/run.h:
