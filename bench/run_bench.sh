#!/bin/sh
# Runs every benchmark program. Each prints engram's time and its ratio to a reference
# measured in the same invocation (a naive kernel, NumPy or PyTorch when present).
BUILD=${1:-build}
rc=0
# engram parallelises with OpenMP over fixed work items; OpenBLAS (the default BLAS) must
# not add threads of its own inside them. References set their own.
export OPENBLAS_NUM_THREADS=1
for b in "$BUILD"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || rc=1
done
exit $rc
