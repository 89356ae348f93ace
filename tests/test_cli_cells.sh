#!/bin/sh
# Command-line tests of the LSTM variants (cells.peephole, cells.coupled): each trains
# on delayed-response with tiny settings, the peephole block is 3H doubles longer, 1 and
# 2 threads give identical parameters, and the GRU refuses the LSTM-only keys with one
# stderr line. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cells-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect
Q="--quick --quiet --set train.steps=20 --set train.eval_every=10 --set task.test_trials=40 --set model.n_rec=16"

for v in std:"" peep:"--set cells.peephole=true" cifg:"--set cells.coupled=true" both:"--set cells.peephole=true --set cells.coupled=true"; do
    n=${v%%:*}; s=${v#*:}
    # shellcheck disable=SC2086
    "$E" run delayed-response $Q --threads 1 --set train.rule=lstm $s --out "$T/$n" >/dev/null 2>"$T/err.$n"
    if grep -q '"status": "ok"' "$T/$n/summary.json" 2>/dev/null && [ -s "$T/$n/lstm_params.npy" ]; then
        ok "lstm $n ($s) trains and writes lstm_params.npy"
    else bad "lstm $n: $(head -c 300 "$T/err.$n")"; fi
done
s0=$(wc -c <"$T/std/lstm_params.npy"); s1=$(wc -c <"$T/peep/lstm_params.npy"); s2=$(wc -c <"$T/cifg/lstm_params.npy")
[ $((s1 - s0)) -eq $((3 * 16 * 8)) ] && [ "$s2" -eq "$s0" ] && ok "peepholes add 3H doubles ($s0 -> $s1 bytes); CIFG keeps the layout" || bad "parameter sizes $s0 $s1 $s2"
cmp -s "$T/std/lstm_params.npy" "$T/peep/lstm_params.npy" && bad "peephole run equals the standard one" || ok "the peephole run differs from the standard one"
"$E" run delayed-response $Q --threads 2 --set train.rule=lstm --set cells.peephole=true --out "$T/peep2" >/dev/null 2>&1
cmp -s "$T/peep/lstm_params.npy" "$T/peep2/lstm_params.npy" && cmp -s "$T/peep/outputs.npy" "$T/peep2/outputs.npy" && ok "peephole lstm: 1 and 2 threads give identical parameters and outputs" || bad "peephole thread identity"
expect 2 "gru with cells.coupled" -- "$E" run delayed-response $Q --set train.rule=gru --set cells.coupled=true --out "$T/bad1"
expect 2 "cells.peephole not a boolean" -- "$E" run delayed-response $Q --set train.rule=lstm --set cells.peephole=maybe --out "$T/bad2"

rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
