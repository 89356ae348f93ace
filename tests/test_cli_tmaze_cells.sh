#!/bin/sh
# Command-line tests of the T-maze track-cell analysis and held-out diagnostics: every
# tmaze run writes cell_types.csv, split_activity.npy, split_place_cells.png and the
# cells_* summary counts (agreeing with the CSV), heldout.csv agrees with the held-out
# summary keys, the BPTT rate RNN gets the same outputs, and 1 and 2 threads give the
# same bytes. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-tmaze-cells-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

SMALL="--set task.variant=cued --set train.n_seq=200 --set train.max_epochs=12 --set test.trials=8 --set test.heldout_trials=6"
"$E" run tmaze --quiet --seed 1 --threads 1 $SMALL --set r2n2.n_h=16 --out "$T/r" >/dev/null 2>"$T/e"; rc=$?
[ $rc -eq 0 ] && ok "small cued r2n2 T-maze runs" || bad "tmaze: exit $rc $(head -c 300 "$T/e")"
for f in cell_types.csv split_activity.npy split_place_cells.png heldout.csv; do
    [ -s "$T/r/$f" ] && ok "writes $f" || bad "lacks $f"
done
key() { sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" "$2/summary.json"; }
n=$(($(wc -l <"$T/r/cell_types.csv") - 1))
[ "$n" -eq 32 ] && ok "cell_types.csv: one row per unit (32 = A and B)" || bad "cell_types.csv has $n rows"
sum=$(($(key cells_place "$T/r") + $(key cells_ramp "$T/r") + $(key cells_other "$T/r")))
[ "$sum" -eq 32 ] && ok "place + ramp + other = 32 units" || bad "class counts sum to $sum"
for c in place ramp other; do
    a=$(awk -F, -v c=$c 'NR > 1 && $3 == c' "$T/r/cell_types.csv" | wc -l)
    [ "$a" -eq "$(key cells_$c "$T/r")" ] && ok "cells_$c = $a rows of the CSV" || bad "cells_$c $(key cells_$c "$T/r") vs CSV $a"
done
s=$(awk -F, 'NR > 1 && $4 == 1' "$T/r/cell_types.csv" | wc -l)
[ -n "$(key cells_splitter "$T/r")" ] && [ "$s" -eq "$(key cells_splitter "$T/r")" ] &&
    ok "cells_splitter = $s splitter rows" || bad "cells_splitter '$(key cells_splitter "$T/r")' vs CSV $s"
bad_rows=$(awk -F, 'NR > 1 && $4 == 1 && !($6 < 0.05 && $5 >= 0.1)' "$T/r/cell_types.csv" | wc -l)
[ "$bad_rows" -eq 0 ] && ok "every splitter has p < 0.05 and effect >= 0.1" || bad "$bad_rows splitters break the criteria"
head -1 "$T/r/cell_types.csv" | grep -q '^unit,name,class,splitter,delay_effect,delay_p$' &&
    sed -n 2p "$T/r/cell_types.csv" | grep -q '^0,A0,' && ok "CSV columns; r2n2 units named A/B" || bad "CSV header or names"
# held-out: 6 trials, the summary's rates equal the CSV's columns
h=$(($(wc -l <"$T/r/heldout.csv") - 1))
[ "$h" -eq 6 ] && ok "heldout.csv: 6 trials" || bad "heldout.csv has $h rows"
awk -F, -v rr="$(key reward_rate_heldout "$T/r")" -v ar="$(key heldout_arm_reached "$T/r")" \
    'NR > 1 { n++; w += $6; a += ($5 >= 0) } END { exit !(n && (w / n - rr) ^ 2 < 1e-18 && (a / n - ar) ^ 2 < 1e-18) }' \
    "$T/r/heldout.csv" && ok "reward_rate_heldout and heldout_arm_reached match heldout.csv" ||
    bad "held-out summary $(key reward_rate_heldout "$T/r") / $(key heldout_arm_reached "$T/r") vs CSV"
awk -F, 'NR > 1 && $6 == 1 && $8 != -1 { bad = 1 } END { exit bad }' "$T/r/heldout.csv" &&
    ok "a rewarded held-out trial never left the correct path" || bad "rewarded trial with a first error"
"$E" run tmaze --quiet --seed 1 --threads 2 $SMALL --set r2n2.n_h=16 --out "$T/r2" >/dev/null 2>&1
cmp -s "$T/r/cell_types.csv" "$T/r2/cell_types.csv" && cmp -s "$T/r/split_activity.npy" "$T/r2/split_activity.npy" &&
    cmp -s "$T/r/heldout.csv" "$T/r2/heldout.csv" && ok "1 and 2 threads: identical cell and held-out files" ||
    bad "1 and 2 threads differ"
# the BPTT rate RNN gets the same analysis
"$E" run tmaze --quiet --seed 2 --threads 1 $SMALL --set train.rule=bptt --set model.n_rec=16 --out "$T/b" >/dev/null 2>"$T/eb"; rc=$?
[ $rc -eq 0 ] && [ -s "$T/b/split_place_cells.png" ] && sed -n 2p "$T/b/cell_types.csv" | grep -q '^0,h0,' &&
    [ "$(($(wc -l <"$T/b/cell_types.csv") - 1))" -eq 16 ] && ok "bptt run: split figure and 16 units named h0.." ||
    bad "bptt: exit $rc $(head -c 300 "$T/eb")"
# an untrained network chooses no arm: no splitter test, the key absent
"$E" run tmaze --quick --quiet --threads 1 --out "$T/q" >/dev/null 2>&1
[ -s "$T/q/cell_types.csv" ] && ! grep -q cells_splitter "$T/q/summary.json" &&
    ok "no trial reached an arm: cells_splitter left out" || bad "quick run: $(cat "$T/q/summary.json")"
# train.judge = replay (no extra pass) judges exactly as step when the replay starts where
# step() starts and sees the same inputs: rate RNNs, r2n2 with h0 = 0 and no cache
for rl in "--set train.rule=bptt --set model.n_rec=16" "--set r2n2.n_h=16 --set r2n2.cache=false"; do
    for j in step replay; do
        "$E" run tmaze --quiet --seed 4 --threads 1 $SMALL $rl --set train.judge=$j --out "$T/j-$j" >/dev/null 2>&1
        cut -d, -f1-8 "$T/j-$j/metrics.csv" >"$T/j-$j.csv"
    done
    cmp -s "$T/j-step.csv" "$T/j-replay.csv" && [ -s "$T/j-step.csv" ] &&
        ok "train.judge replay = step ($rl)" || bad "train.judge replay differs from step ($rl)"
done
expect 2 "an unknown train.judge" -- "$E" run tmaze --set train.judge=twice --out "$T/bad"
rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
