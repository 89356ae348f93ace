build-gsl/src/engine/image.o: src/engine/image.c include/engram/image.h \
 /usr/include/libpng16/png.h /usr/include/libpng16/pnglibconf.h \
 /usr/include/libpng16/pngconf.h include/engram/engram.h \
 src/engine/font5x7.h
include/engram/image.h:
/usr/include/libpng16/png.h:
/usr/include/libpng16/pnglibconf.h:
/usr/include/libpng16/pngconf.h:
include/engram/engram.h:
src/engine/font5x7.h:
