build-gsl/src/cli/cmd_grid.o: src/cli/cmd_grid.c src/cli/cli.h \
 include/engram/engram.h include/engram/gridscore.h \
 include/engram/image.h include/engram/npy.h include/engram/run.h \
 include/engram/config.h
src/cli/cli.h:
include/engram/engram.h:
include/engram/gridscore.h:
include/engram/image.h:
include/engram/npy.h:
include/engram/run.h:
include/engram/config.h:
