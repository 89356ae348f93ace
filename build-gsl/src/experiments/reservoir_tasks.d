build-gsl/src/experiments/reservoir_tasks.o: \
 src/experiments/reservoir_tasks.c include/engram/engram.h \
 include/engram/esn.h include/engram/experiment.h include/engram/config.h \
 include/engram/run.h include/engram/image.h include/engram/readout.h \
 include/engram/rng.h include/engram/series.h
include/engram/engram.h:
include/engram/esn.h:
include/engram/experiment.h:
include/engram/config.h:
include/engram/run.h:
include/engram/image.h:
include/engram/readout.h:
include/engram/rng.h:
include/engram/series.h:
