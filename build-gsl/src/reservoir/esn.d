build-gsl/src/reservoir/esn.o: src/reservoir/esn.c \
 include/engram/engram.h include/engram/esn.h include/engram/rng.h
include/engram/engram.h:
include/engram/esn.h:
include/engram/rng.h:
