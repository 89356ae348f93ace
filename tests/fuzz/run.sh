#!/bin/sh
# run.sh: build and run engram's parser fuzzers (libFuzzer + ASan + UBSan).
#
#   sh tests/fuzz/run.sh                 (from the top of the tree; `make fuzz` calls this)
#
# Environment:
#   FUZZ_SECONDS  seconds per harness (default 60); 0 only replays the committed corpus
#   FUZZ_RUNS     if set, run this many executions per harness instead of FUZZ_SECONDS
#                 (e.g. FUZZ_RUNS=1000000)
#   FUZZ_TARGETS  harnesses to run (default "npy config ckpt png")
#   FUZZ_BUILD    build directory (default build-fuzz)
#   CLANG         compiler with libFuzzer (default clang)
#
# Each harness tests/fuzz/fuzz_T.c is linked against every src/engine/*.c and
# src/figures/*.c compiled with
# the same flags (-fsanitize=fuzzer,address,undefined, UB fatal), then run for
# FUZZ_SECONDS on a copy of tests/fuzz/corpus/T in /tmp (the committed corpus is never
# modified). Any crash, leak, hang (-timeout=10 s per input), out-of-memory (-rss_limit_mb)
# or invariant violation makes the script exit 1; the input that caused it is saved as
# FUZZ_BUILD/artifacts/T-crash-* and can be replayed with FUZZ_BUILD/fuzz_T FILE.
# A new regression input goes into tests/fuzz/corpus/T/ (keep the corpus small).
set -u

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_RUNS=${FUZZ_RUNS:-}
FUZZ_TARGETS=${FUZZ_TARGETS:-"npy config ckpt png"}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
CLANG=${CLANG:-clang}

CFLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g -fno-omit-frame-pointer \
 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude -Isrc \
 $(pkg-config --cflags gsl libpng inih cairo)"
WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef"
LIBS="$(pkg-config --libs gsl libpng inih cairo) -lm"

command -v "$CLANG" >/dev/null 2>&1 || { echo "fuzz: $CLANG not found"; exit 1; }
mkdir -p "$FUZZ_BUILD/obj" "$FUZZ_BUILD/artifacts" || exit 1

# Engine sources, compiled without OpenMP (the parsers are serial) into an archive, so
# each harness pulls in only the objects it needs.
echo "fuzz: building engine sources with $CLANG -fsanitize=fuzzer,address,undefined"
for src in src/engine/*.c src/figures/*.c; do
    [ -f "$src" ] || continue
    obj="$FUZZ_BUILD/obj/$(basename "$src" .c).o"
    # shellcheck disable=SC2086
    $CLANG $CFLAGS -Wno-unknown-pragmas -c "$src" -o "$obj" || { echo "fuzz: cannot compile $src"; exit 1; }
done
rm -f "$FUZZ_BUILD/libengram_fuzz.a"
ar rcs "$FUZZ_BUILD/libengram_fuzz.a" "$FUZZ_BUILD"/obj/*.o || exit 1

# Dictionaries: the tokens a format is made of, so mutations reach past the first check.
cat > "$FUZZ_BUILD/npy.dict" <<'EOF'
"\x93NUMPY"
"\x01\x00"
"\x02\x00"
"{'descr': '<f8', 'fortran_order': False, 'shape': ("
"'descr'"
"'<f8'"
"'fortran_order'"
"False"
"True"
"'shape'"
"), }"
", "
"18446744073709551615"
"4294967296"
EOF
cat > "$FUZZ_BUILD/config.dict" <<'EOF'
"[run]"
"[model]"
"[train]"
"[data]"
"experiment"
"seed"
"quick"
"checkpoint_every"
"n_rec"
"offset"
"lr"
"decay"
"rule"
"clip"
"path"
"tag"
"run.seed="
"model.n_rec="
"train.lr="
"train.rule="
"train.clip="
"data.tag="
" = "
" ; "
"#"
"\x0a"
"\x0d\x0a"
"\xef\xbb\xbf"
"true"
"off"
"bptt"
"rflo"
"1e-9"
"2.385"
"0x1p-3"
"4294967295"
"1e12"
"-17"
EOF
cat > "$FUZZ_BUILD/ckpt.dict" <<'EOF'
"ENGRAMCK"
"\x01\x00\x00\x00"
"\x07\x00\x00\x00fuzzexp"
"\x07\x00\x00\x00weights"
"\x09\x00\x00\x00rng.state"
"\x05\x00\x00\x00empty"
"\x18\x00\x00\x00\x00\x00\x00\x00"
"\x05\x00\x00\x00\x00\x00\x00\x00"
"\x00\x00\x00\x00\x00\x00\x00\x00"
"\xff\xff\xff\xff"
EOF
cat > "$FUZZ_BUILD/png.dict" <<'EOF'
"\x89PNG\x0d\x0a\x1a\x0a"
"IHDR"
"IDAT"
"IEND"
"PLTE"
"tRNS"
"gAMA"
"sRGB"
"iCCP"
"bKGD"
"sBIT"
"cHRM"
EOF

status=0
summary=""
for t in $FUZZ_TARGETS; do
    bin="$FUZZ_BUILD/fuzz_$t"
    # shellcheck disable=SC2086
    $CLANG $CFLAGS $WARN "tests/fuzz/fuzz_$t.c" "$FUZZ_BUILD/libengram_fuzz.a" $LIBS -o "$bin" \
        || { echo "fuzz: cannot build $bin"; status=1; continue; }
    work=$(mktemp -d "/tmp/engram_fuzz_corpus_$t.XXXXXX") || exit 1
    cp "tests/fuzz/corpus/$t"/* "$work"/ 2>/dev/null
    log="$FUZZ_BUILD/fuzz_$t.log"
    if [ "$FUZZ_SECONDS" -eq 0 ]; then
        echo "fuzz: $t: replaying $(ls "$work" | wc -l) corpus inputs"
        "$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 "$work" >"$log" 2>&1
    else
        if [ -n "$FUZZ_RUNS" ]; then
            limit="-runs=$FUZZ_RUNS"
            echo "fuzz: $t: $FUZZ_RUNS executions on a copy of tests/fuzz/corpus/$t in $work"
        else
            limit="-max_total_time=$FUZZ_SECONDS"
            echo "fuzz: $t: ${FUZZ_SECONDS}s on a copy of tests/fuzz/corpus/$t in $work"
        fi
        "$bin" "$limit" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
            -dict="$FUZZ_BUILD/$t.dict" -artifact_prefix="$FUZZ_BUILD/artifacts/$t-" \
            -print_final_stats=1 "$work" >"$log" 2>&1
    fi
    rc=$?
    stats=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if [ $rc -ne 0 ]; then
        echo "fuzz: $t: FAILED (exit $rc); see $log and $FUZZ_BUILD/artifacts/"
        grep -E 'ERROR|invariant violated|SUMMARY' "$log" | head -n 5
        status=1
        summary="$summary
FAIL $t: $stats"
    else
        echo "fuzz: $t: ok: $stats${execs:+ (average $execs exec/s)}"
        summary="$summary
ok   $t: $stats${execs:+ (average $execs exec/s)}"
    fi
    rm -rf "$work"
done
echo "fuzz: summary:$summary"
[ $status -eq 0 ] && echo "fuzz: no crash, leak, hang or invariant violation" || echo "fuzz: FAILED"
exit $status
