#!/bin/sh
# Command-line tests of the grid-cell statistics and presets: engram gridscore --null,
# the gridcells-rnn and gridcells-lstm presets (and their --quick forms) at tiny sizes,
# the summary keys and per-matrix weight files they write, 1- vs 2-thread identity of
# the rate-RNN core. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-gridstats-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

TINY="--set train.steps=4 --set eval.every=2 --set eval.trajectories=40 --set eval.batch=20 --set train.batch=8 --set eval.null_maps=50"
"$E" run gridcells-rnn --quiet --seed 3 --threads 1 $TINY --set model.n_hidden=32 --set cells.n_pc=32 --out "$T/r1" >/dev/null 2>"$T/e1"; rc=$?
[ $rc -eq 0 ] && ok "gridcells-rnn runs at a tiny size" || bad "gridcells-rnn: exit $rc $(head -c 300 "$T/e1")"
for k in grid_units grid_units_0_8 null_p99 untrained_p99 units_above_0_8 units_above_1_0 median_stability decode_error_cm max_score60 steps; do
    grep -q "\"$k\"" "$T/r1/summary.json" 2>/dev/null && ok "summary has $k" || bad "summary lacks $k"
done
for f in w_enc.npy w_in.npy w_rec.npy w_out.npy gridstats.csv ratemaps.png; do
    [ -s "$T/r1/$f" ] && ok "rate-RNN run writes $f" || bad "rate-RNN run lacks $f"
done
grep -q '^kind = rnn' "$T/r1/config.ini" && ok "config.ini records model.kind = rnn" || bad "config.ini lacks kind = rnn"
"$E" run gridcells-rnn --quiet --seed 3 --threads 2 $TINY --set model.n_hidden=32 --set cells.n_pc=32 --out "$T/r2" >/dev/null 2>&1
cmp -s "$T/r1/w_rec.npy" "$T/r2/w_rec.npy" && cmp -s "$T/r1/ratemaps.npy" "$T/r2/ratemaps.npy" &&
    ok "rate RNN: same seed gives byte-identical weights and maps with 1 and 2 threads" ||
    bad "rate RNN: 1 and 2 threads differ"
"$E" run gridcells-rnn --quick --quiet --threads 1 --set train.steps=2 --set eval.every=2 --set eval.trajectories=20 --set eval.batch=20 --set train.batch=4 --out "$T/q" >/dev/null 2>&1
grep -q '^n_hidden = 256' "$T/q/config.ini" && ! grep -q '^pc_sigma = 0.2$' "$T/q/config.ini" &&
    ok "gridcells-rnn --quick: 256 units, the DoS recipe kept" || bad "gridcells-rnn --quick config: $(grep -E '^(n_hidden|pc_sigma)' "$T/q/config.ini" | tr '\n' ' ')"
"$E" run gridcells --quick --quiet --threads 1 --set train.steps=2 --set eval.every=2 --set eval.trajectories=10 --out "$T/b" >/dev/null 2>&1
grep -q '^pc_sigma = 0.2$' "$T/b/config.ini" && grep -q '^kind = lstm' "$T/b/config.ini" &&
    ok "gridcells --quick keeps the Banino demo (LSTM, sigma 0.2)" || bad "gridcells --quick changed"
"$E" run gridcells-lstm --quiet --threads 1 $TINY --set model.n_hidden=16 --set model.n_g=24 --set cells.n_pc=32 --out "$T/l" >/dev/null 2>"$T/el"; rc=$?
[ $rc -eq 0 ] && [ -s "$T/l/w_g.npy" ] && grep -q '^g_activation = relu' "$T/l/config.ini" &&
    ok "gridcells-lstm runs (ReLU g, w_g.npy written)" || bad "gridcells-lstm: exit $rc $(head -c 300 "$T/el")"
expect 2 "an unknown model.activation" -- "$E" run gridcells-rnn --set model.activation=sigmoid --out "$T/bad"
# gridscore --null on the run's maps
"$E" gridscore "$T/r1/ratemaps.npy" --null 60 --seed 2 --out "$T/gs.csv" 2>"$T/gs.err"; rc=$?
[ $rc -eq 0 ] && grep -q '99th' "$T/gs.err" && head -1 "$T/gs.csv" | grep -q 'spacing_bins,orientation_deg,ellipticity' &&
    ok "gridscore --null prints the null percentiles; CSV has the lattice columns" || bad "gridscore --null: exit $rc $(cat "$T/gs.err")"
expect 2 "gridscore --null without a count" -- "$E" gridscore "$T/r1/ratemaps.npy" --null
expect 2 "gridscore --null 0" -- "$E" gridscore "$T/r1/ratemaps.npy" --null 0
rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
