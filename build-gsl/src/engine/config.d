build-gsl/src/engine/config.o: src/engine/config.c \
 include/engram/config.h include/engram/engram.h
include/engram/config.h:
include/engram/engram.h:
