build-gsl/src/gridcells/pathint.o: src/gridcells/pathint.c \
 include/engram/engram.h include/engram/rng.h include/engram/pathint.h \
 include/engram/lstm.h
include/engram/engram.h:
include/engram/rng.h:
include/engram/pathint.h:
include/engram/lstm.h:
