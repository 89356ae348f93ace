build-gsl/src/experiments/gridcells.o: src/experiments/gridcells.c \
 include/engram/engram.h include/engram/config.h \
 include/engram/experiment.h include/engram/run.h \
 include/engram/gridscore.h include/engram/image.h include/engram/optim.h \
 include/engram/pathint.h include/engram/lstm.h \
 include/engram/placecells.h include/engram/rng.h \
 include/engram/trajectory.h
include/engram/engram.h:
include/engram/config.h:
include/engram/experiment.h:
include/engram/run.h:
include/engram/gridscore.h:
include/engram/image.h:
include/engram/optim.h:
include/engram/pathint.h:
include/engram/lstm.h:
include/engram/placecells.h:
include/engram/rng.h:
include/engram/trajectory.h:
