build-gsl/src/reservoir/readout.o: src/reservoir/readout.c \
 include/engram/engram.h include/engram/readout.h
include/engram/engram.h:
include/engram/readout.h:
