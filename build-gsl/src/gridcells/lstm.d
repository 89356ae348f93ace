build-gsl/src/gridcells/lstm.o: src/gridcells/lstm.c \
 include/engram/lstm.h
include/engram/lstm.h:
