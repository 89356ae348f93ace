#!/bin/sh
# The quick demo of every experiment: each runs with --quick into runs/demo/NAME and
# writes its figures there. Stops at the first failure.
set -e
BUILD=${1:-build}
OUT=${2:-runs/demo}
for exp in $("$BUILD/engram" list experiments | awk '{print $1}'); do
    echo "== engram run $exp --quick --out $OUT/$exp"
    "$BUILD/engram" run "$exp" --quick --quiet --force --out "$OUT/$exp" | tail -n 1
done
if "$BUILD/engram" list experiments | grep -q '^anbn '; then
    echo "== engram compare anbn --quick --rules (every available rule) --seeds 2"
    rules=$("$BUILD/engram" list rules | grep -v 'not available' | awk '{print $1}' | paste -sd, -)
    "$BUILD/engram" compare anbn --quick --quiet --force --rules "$rules" --seeds 2 --out "$OUT/compare-anbn" | tail -n 1
fi
echo "figures:"
find "$OUT" \( -name '*.png' -o -name '*.svg' -o -name '*.pdf' \) | sort
