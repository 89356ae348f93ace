# engram: build, test, sanitizers, benchmarks, figures, install.
#   make                 build/libengram.a and build/engram
#   make test            every test program (tests/run_tests.sh), closing with "N passed, N failed"
#   make asan            the fast tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench           benchmarks with ratios against references run in the same invocation
#   make figures         regenerate the PNGs in figures/ that the README shows
#                        (FIGURE_FORMAT=svg|pdf: the same figures into figures/svg|pdf/)
#   make shared          build-shared/libengram.so (-fPIC objects in their own build dir)
#   make test-slurm      sweeps on a local single-node Slurm cluster give the same bytes
#   make install PREFIX=/usr/local
# Switches: NO_OMP=1 builds without OpenMP; BLAS=gsl links GSL's reference CBLAS instead of
# OpenBLAS (the default), for machines without OpenBLAS.

CC      ?= gcc
PREFIX  ?= /usr/local
DESTDIR ?=
BLAS    ?= openblas
ifeq ($(BLAS),gsl)
  BUILD ?= build-gsl
else
  BUILD ?= build
endif

WARN    = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
          -Wmissing-prototypes -Wformat=2 -Wundef
CSTD    = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
OPT     ?= -O2 -g
PKGS    = gsl libpng inih cairo
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

ifneq ($(BLAS),gsl)
  PKG_LIBS := $(filter-out -lgslcblas,$(PKG_LIBS)) -lopenblas
  BLAS_DEF = -DENGRAM_OPENBLAS
endif
ifeq ($(NO_OMP),1)
  OMP = -Wno-unknown-pragmas
else
  OMP = -fopenmp
endif

CFLAGS  += $(CSTD) $(OPT) $(WARN) $(OMP) -Iinclude -Isrc $(PKG_CFLAGS) $(BLAS_DEF) -MMD -MP \
           -DENGRAM_DATADIR='"$(PREFIX)/share/engram"'
LDLIBS  += $(PKG_LIBS) -larpack $(OMP) -lm

LIB_SRC  = $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC = $(wildcard tests/test_*.c)
TESTS    = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC = $(wildcard bench/bench_*.c)
BENCHES  = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

# Tests that finish in seconds; `make asan` runs these under the sanitizers.
FAST_TESTS ?= test_engine test_image test_kernels test_esn test_rnn test_r2n2 test_gridcells test_lstm \
              test_analysis test_analysis_models test_tasks test_constraints test_cells test_pathint

.PHONY: all test asan bench figures demo install uninstall clean tests-build shared test-slurm

all: $(BUILD)/libengram.a $(BUILD)/engram

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The optimiser's sqrt loops vectorise only without errno (src/engine/optim.c).
$(BUILD)/src/engine/optim.o: CFLAGS += -fno-math-errno

$(BUILD)/libengram.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/engram: $(BUILD)/src/cli/main.o $(BUILD)/libengram.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libengram.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

shared:
	$(MAKE) BUILD=build-shared OPT="$(OPT) -fPIC" build-shared/libengram.so

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libengram.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libengram.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

tests-build: all $(TESTS)

test: tests-build
	@BUILD=$(BUILD) sh tests/run_tests.sh $(TESTS:$(BUILD)/tests/%=%)

test-slurm: all
	@BUILD=$(BUILD) sh tests/slurm_sweep.sh

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" tests-build
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
	    sh tests/run_tests.sh $(filter $(FAST_TESTS),$(TESTS:$(BUILD)/tests/%=%))

# Coverage-guided fuzzing of every parser (clang libFuzzer + ASan + UBSan), FUZZ_RUNS
# executions per harness (or FUZZ_SECONDS each when FUZZ_RUNS is empty) on a /tmp copy
# of tests/fuzz/corpus; fails on any crash, leak, hang or violated invariant. Not part
# of `make test`. FUZZ_RUNS= FUZZ_SECONDS=0 only replays the corpus.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 1000000
.PHONY: fuzz
fuzz:
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(BUILD)/fuzz sh tests/fuzz/run.sh

bench: all $(BENCHES)
	@sh bench/run_bench.sh $(BUILD)

demo: all
	@sh scripts/demo.sh $(BUILD)

figures: all
	@FIGURE_FORMAT=$(FIGURE_FORMAT) sh scripts/figures.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/engram $(DESTDIR)$(PREFIX)/share/engram/experiments
	install -m 755 $(BUILD)/engram $(DESTDIR)$(PREFIX)/bin/engram
	install -m 644 $(BUILD)/libengram.a $(DESTDIR)$(PREFIX)/lib/libengram.a
	install -m 644 include/engram/*.h $(DESTDIR)$(PREFIX)/include/engram/
	install -m 644 experiments/*.ini $(DESTDIR)$(PREFIX)/share/engram/experiments/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/^#define ENGRAM_VERSION "\(.*\)"/\1/p' include/engram/engram.h)|g' \
	    engram.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/engram.pc

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/engram $(DESTDIR)$(PREFIX)/lib/libengram.a \
	    $(DESTDIR)$(PREFIX)/include/engram $(DESTDIR)$(PREFIX)/share/engram \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/engram.pc

clean:
	rm -rf build build-asan build-gsl build-shared

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/cli/main.d $(TESTS:=.d) $(BENCHES:=.d)
