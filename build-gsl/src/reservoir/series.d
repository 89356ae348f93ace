build-gsl/src/reservoir/series.o: src/reservoir/series.c \
 include/engram/engram.h include/engram/series.h
include/engram/engram.h:
include/engram/series.h:
