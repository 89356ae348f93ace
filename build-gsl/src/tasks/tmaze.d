build-gsl/src/tasks/tmaze.o: src/tasks/tmaze.c include/engram/engram.h \
 include/engram/tmaze.h include/engram/task.h
include/engram/engram.h:
include/engram/tmaze.h:
include/engram/task.h:
