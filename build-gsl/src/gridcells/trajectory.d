build-gsl/src/gridcells/trajectory.o: src/gridcells/trajectory.c \
 include/engram/engram.h include/engram/trajectory.h \
 include/engram/config.h
include/engram/engram.h:
include/engram/trajectory.h:
include/engram/config.h:
