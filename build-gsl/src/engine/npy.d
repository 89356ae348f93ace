build-gsl/src/engine/npy.o: src/engine/npy.c include/engram/engram.h \
 include/engram/npy.h
include/engram/engram.h:
include/engram/npy.h:
