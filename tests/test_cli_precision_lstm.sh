#!/bin/sh
# Command-line tests of run.precision = float32 for the grid-cell LSTM core
# (gridcells-lstm): float32 runs with 1 and 2 threads give byte-identical weights, rate
# maps and decoded positions; float32 and float64 training losses agree to 1e-4 relative
# at a tiny size (the float64 model is the gradient-checked one); float32 weights differ
# from float64 in the low bits (the float path ran); the gated learners, which have no
# float32 path, and unknown precisions are refused with one clear line. Ends with
# "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-precision-lstm-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

TINY="--set train.steps=6 --set eval.every=3 --set eval.trajectories=40 --set eval.batch=20 --set train.batch=16 --set eval.null_maps=20 --set model.n_hidden=24 --set model.n_g=40 --set cells.n_pc=40"
for p in float64 float32; do
    for th in 1 2; do
        [ $p = float64 ] && [ $th = 2 ] && continue
        "$E" run gridcells-lstm --quiet --seed 3 --threads $th $TINY --set run.precision=$p --out "$T/$p-$th" >/dev/null 2>"$T/err"; rc=$?
        [ $rc -eq 0 ] && ok "gridcells-lstm run.precision=$p, $th thread(s) runs" || bad "$p $th: exit $rc $(head -c 300 "$T/err")"
    done
done
grep -q '^precision = float32' "$T/float32-1/config.ini" && ok "config.ini records precision = float32" || bad "config.ini lacks precision"
same=1
for f in w_rec.npy w_in.npy w_g.npy w_out.npy b_lstm.npy ratemaps.npy decoded.npy gridscores.csv; do
    cmp -s "$T/float32-1/$f" "$T/float32-2/$f" || { same=0; echo "  differs: $f"; }
done
[ $same -eq 1 ] && ok "float32: byte-identical weights, rate maps, decoded positions and scores with 1 and 2 threads" ||
    bad "float32: 1 and 2 threads differ"
l64=$(sed -n 's/.*"loss": \([-0-9.e]*\).*/\1/p' "$T/float64-1/summary.json")
l32=$(sed -n 's/.*"loss": \([-0-9.e]*\).*/\1/p' "$T/float32-1/summary.json")
if [ -n "$l64" ] && [ -n "$l32" ] && awk -v a="$l32" -v b="$l64" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4 * b) }'; then
    ok "float32 training loss $l32 vs float64 $l64 (within 1e-4 relative)"
else bad "float32 loss '$l32' vs float64 '$l64'"; fi
cmp -s "$T/float64-1/w_rec.npy" "$T/float32-1/w_rec.npy" && bad "float32 and float64 weights are identical (float32 not used?)" ||
    ok "float32 weights differ from float64 in the low bits (float32 products used)"
expect 2 "gated learner lstm with float32 refused" -- "$E" run decision --quiet --set train.rule=lstm --set run.precision=float32 --set train.steps=1 --out "$T/g"
expect 2 "gated learner gru with float32 refused" -- "$E" run decision --quiet --set train.rule=gru --set run.precision=float32 --set train.steps=1 --out "$T/g2"
expect 2 "unknown precision refused" -- "$E" run gridcells-lstm --quiet --set run.precision=float16 --out "$T/u"
rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
