build-gsl/src/engine/error.o: src/engine/error.c include/engram/engram.h
include/engram/engram.h:
