build-gsl/src/engine/task.o: src/engine/task.c include/engram/task.h
include/engram/task.h:
