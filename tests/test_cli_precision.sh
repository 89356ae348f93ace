#!/bin/sh
# Command-line tests of run.precision: float32 runs of the rate-RNN rules are repeatable
# (same bytes with 1 and 2 threads), stay close to the float64 run, and the rules without
# a float32 path (esn, r2n2, lstm, gru) refuse it with one line. 128 units, batch 16: the time loops
# run on two threads (B N^2 above the threshold in rnn.c). Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cli-precision-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

# column NAME of the last row of a metrics.csv
lastcol() { awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i } END { print $k }' "$1"; }

expect 2 "esn refuses run.precision = float32" -- "$E" run anbn --quick --quiet --set train.rule=esn \
    --set run.precision=float32 --out "$T/esn"
expect 2 "r2n2 refuses run.precision = float32" -- "$E" run anbn --quick --quiet --set train.rule=r2n2 \
    --set run.precision=float32 --out "$T/r2n2"
for rule in lstm gru; do
    expect 2 "$rule refuses run.precision = float32" -- "$E" run decision --quick --quiet --set train.rule=$rule \
        --set run.precision=float32 --out "$T/$rule"
done
expect 2 "an unknown precision is refused" -- "$E" run anbn --quick --quiet --set run.precision=float16 \
    --out "$T/f16"

for rule in bptt rflo; do
    ok1=1
    for th in 1 2; do
        "$E" run anbn --quick --quiet --set train.rule=$rule --set run.precision=float32 --set train.steps=60 --set model.n_rec=128 \
            --threads $th --out "$T/$rule-f32-$th" >/dev/null 2>"$T/err" || ok1=0
        cut -d, -f1-4 "$T/$rule-f32-$th/metrics.csv" >"$T/$rule-m$th" # without wall_s
    done
    "$E" run anbn --quick --quiet --set train.rule=$rule --set train.steps=60 --set model.n_rec=128 --out "$T/$rule-f64" >/dev/null 2>>"$T/err" || ok1=0
    for f in w_rec.npy w_out.npy output_probs.npy; do
        cmp -s "$T/$rule-f32-1/$f" "$T/$rule-f32-2/$f" || ok1=0
    done
    if [ $ok1 -eq 1 ] && cmp -s "$T/$rule-m1" "$T/$rule-m2"; then
        ok "$rule float32: weights, output probabilities and metrics identical with 1 and 2 threads"
    else bad "$rule float32 runs with 1 and 2 threads differ or failed: $(head -c 300 "$T/err")"; fi
    l32=$(lastcol "$T/$rule-f32-1/metrics.csv" loss); l64=$(lastcol "$T/$rule-f64/metrics.csv" loss)
    if awk -v a="$l32" -v b="$l64" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-3 * b) }'; then
        ok "$rule float32 final loss $l32 within 1e-3 relative of float64 $l64"
    else bad "$rule float32 final loss $l32 vs float64 $l64"; fi
done

chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
