build-gsl/src/gridcells/gridfig.o: src/gridcells/gridfig.c \
 include/engram/engram.h include/engram/gridscore.h \
 include/engram/image.h
include/engram/engram.h:
include/engram/gridscore.h:
include/engram/image.h:
