build-gsl/src/engine/run.o: src/engine/run.c include/engram/engram.h \
 include/engram/npy.h include/engram/run.h include/engram/config.h
include/engram/engram.h:
include/engram/npy.h:
include/engram/run.h:
include/engram/config.h:
