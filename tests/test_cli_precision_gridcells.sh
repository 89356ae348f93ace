#!/bin/sh
# Command-line tests of run.precision for the grid-cell experiment: float32 and float64
# runs of the rate RNN agree (training loss to 1e-4 relative at a tiny size), float32
# gives byte-identical results with 1 and 2 threads, unknown values are refused with one
# clear line (the LSTM core: test_cli_precision_lstm.sh). Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-precision-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

TINY="--set train.steps=6 --set eval.every=3 --set eval.trajectories=40 --set eval.batch=20 --set train.batch=16 --set eval.null_maps=20 --set model.n_hidden=48 --set cells.n_pc=40"
for p in float64 float32; do
    for th in 1 2; do
        "$E" run gridcells-rnn --quiet --seed 5 --threads $th $TINY --set run.precision=$p --out "$T/$p-$th" >/dev/null 2>"$T/err"; rc=$?
        [ $rc -eq 0 ] && ok "gridcells-rnn run.precision=$p, $th thread(s) runs" || bad "$p $th: exit $rc $(head -c 300 "$T/err")"
    done
done
grep -q '^precision = float32' "$T/float32-1/config.ini" && ok "config.ini records precision = float32" || bad "config.ini lacks precision"
cmp -s "$T/float32-1/w_rec.npy" "$T/float32-2/w_rec.npy" && cmp -s "$T/float32-1/ratemaps.npy" "$T/float32-2/ratemaps.npy" &&
    ok "float32: byte-identical weights and rate maps with 1 and 2 threads" || bad "float32: 1 and 2 threads differ"
cmp -s "$T/float64-1/w_rec.npy" "$T/float64-2/w_rec.npy" &&
    ok "float64: byte-identical weights with 1 and 2 threads" || bad "float64: 1 and 2 threads differ"
l64=$(sed -n 's/.*"loss": \([-0-9.e]*\).*/\1/p' "$T/float64-1/summary.json")
l32=$(sed -n 's/.*"loss": \([-0-9.e]*\).*/\1/p' "$T/float32-1/summary.json")
if [ -n "$l64" ] && [ -n "$l32" ] && awk -v a="$l32" -v b="$l64" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4 * b) }'; then
    ok "float32 training loss $l32 vs float64 $l64 (within 1e-4 relative)"
else bad "float32 loss '$l32' vs float64 '$l64'"; fi
cmp -s "$T/float64-1/w_rec.npy" "$T/float32-1/w_rec.npy" && bad "float32 and float64 weights are identical (float32 not used?)" ||
    ok "float32 weights differ from float64 in the low bits (float32 products used)"
expect 2 "unknown precision refused" -- "$E" run gridcells-rnn --quiet --set run.precision=float16 --out "$T/u"
rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
