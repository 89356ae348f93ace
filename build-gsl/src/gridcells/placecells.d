build-gsl/src/gridcells/placecells.o: src/gridcells/placecells.c \
 include/engram/engram.h include/engram/placecells.h
include/engram/engram.h:
include/engram/placecells.h:
