build-gsl/src/engine/rng.o: src/engine/rng.c include/engram/rng.h
include/engram/rng.h:
