build-gsl/src/engine/optim.o: src/engine/optim.c include/engram/engram.h \
 include/engram/optim.h
include/engram/engram.h:
include/engram/optim.h:
