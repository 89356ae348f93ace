build-gsl/src/r2n2/cache.o: src/r2n2/cache.c include/engram/engram.h \
 include/engram/cache.h
include/engram/engram.h:
include/engram/cache.h:
