build-gsl/src/gridcells/gridscore.o: src/gridcells/gridscore.c \
 include/engram/engram.h include/engram/gridscore.h \
 include/engram/image.h
include/engram/engram.h:
include/engram/gridscore.h:
include/engram/image.h:
