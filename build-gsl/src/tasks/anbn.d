build-gsl/src/tasks/anbn.o: src/tasks/anbn.c include/engram/anbn.h \
 include/engram/experiment.h include/engram/config.h include/engram/run.h \
 include/engram/task.h include/engram/engram.h
include/engram/anbn.h:
include/engram/experiment.h:
include/engram/config.h:
include/engram/run.h:
include/engram/task.h:
include/engram/engram.h:
