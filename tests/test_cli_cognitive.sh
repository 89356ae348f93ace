#!/bin/sh
# Command-line tests of the cognitive-task experiments: each runs (tiny settings) and
# writes its metric and figures; bad task settings give one stderr line and exit 2 (or
# 1 for a run-time refusal); 1 and 2 threads give identical arrays; a constrained run
# keeps Dale's signs. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cog-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect
Q="--quick --quiet --threads 1 --set train.steps=20 --set train.eval_every=10 --set task.test_trials=40"

for x in decision:psychometric.png decision:chronometric.png delayed-response:accuracy_by_delay.png \
         dms:accuracy_by_condition.npy romo:psychometric.png mante:psychometric.png \
         gonogo:go_output.png flipflop:flipflop.png; do
    n=${x%%:*}; f=${x#*:}
    [ -e "$T/$n/summary.json" ] || "$E" run "$n" $Q --out "$T/$n" >/dev/null 2>"$T/err.$n"
    if [ -s "$T/$n/$f" ] && [ -s "$T/$n/learning_curve.png" ] && [ -s "$T/$n/trial.png" ] && grep -q '"status": "ok"' "$T/$n/summary.json"; then
        ok "$n runs and writes $f, learning_curve.png, trial.png"
    else bad "$n: missing $f or failed run: $(head -c 300 "$T/err.$n")"; fi
done
grep -q '"accuracy_top"' "$T/decision/summary.json" && grep -q '"psy_slope"' "$T/decision/summary.json" && ok "decision summary has accuracy_top and the psychometric fit" || bad "decision summary keys"
grep -q '"colour_ctx_colour_slope"' "$T/mante/summary.json" && grep -q '"motion_ctx_motion_slope"' "$T/mante/summary.json" && ok "mante summary has both context-specific slopes" || bad "mante summary keys"
grep -q '"mse"' "$T/flipflop/summary.json" && ok "flipflop summary has mse" || bad "flipflop summary keys"
[ -s "$T/decision/w_rec.npy" ] && [ -s "$T/decision/w_out.npy" ] && ok "one .npy per named matrix (w_rec, w_out, ...)" || bad "named weight files"

expect 2 "bad coherence list" -- "$E" run decision $Q --set task.coherences=1,x --out "$T/bad1"
expect 2 "delay_min above delay_max" -- "$E" run delayed-response $Q --set task.delay_min=5000 --out "$T/bad2"
expect 2 "flip-flop with the cross-entropy loss" -- "$E" run flipflop $Q --set train.loss=xent --out "$T/bad3"
expect 2 "Dale's law with the lstm rule" -- "$E" run decision $Q --set train.rule=lstm --set model.dale=true --out "$T/bad4"
expect 2 "unknown fixed block" -- "$E" run decision $Q --set model.fixed=w_foo --out "$T/bad5"
expect 2 "missing mask file" -- "$E" run decision $Q --set model.mask_rec=$T/none.npy --out "$T/bad6"

"$E" run decision $Q --threads 1 --out "$T/t1" >/dev/null 2>&1
"$E" run decision $Q --threads 2 --out "$T/t2" >/dev/null 2>&1
cmp -s "$T/t1/w_rec.npy" "$T/t2/w_rec.npy" && cmp -s "$T/t1/psychometric.npy" "$T/t2/psychometric.npy" && ok "decision: 1 and 2 threads give identical weights and psychometric data" || bad "thread identity"
"$E" run delayed-response $Q --set train.rule=lstm --threads 1 --out "$T/l1" >/dev/null 2>&1
"$E" run delayed-response $Q --set train.rule=lstm --threads 2 --out "$T/l2" >/dev/null 2>&1
cmp -s "$T/l1/lstm_params.npy" "$T/l2/lstm_params.npy" && cmp -s "$T/l1/outputs.npy" "$T/l2/outputs.npy" && ok "lstm: 1 and 2 threads give identical parameters and outputs" || bad "lstm thread identity"
"$E" run decision $Q --set train.rule=rflo --set model.dale=true --set model.autapses=false --out "$T/dale" >/dev/null 2>"$T/err.dale"
grep -q '"status": "ok"' "$T/dale/summary.json" 2>/dev/null && grep -q 'grad_angle_deg' "$T/dale/metrics.csv" && ok "rflo with Dale's law runs and reports grad_angle_deg" || bad "dale run: $(cat "$T/err.dale")"
# resume: a run killed after its first checkpoint, resumed, ends with the same bytes
R="--quick --quiet --threads 1 --set train.steps=300 --set train.eval_every=20 --set task.test_trials=40 --set run.checkpoint_every=20"
"$E" run decision $R --out "$T/full" >/dev/null 2>&1
"$E" run decision $R --out "$T/cut" >/dev/null 2>&1 &
pid=$!
i=0; while [ ! -e "$T/cut/checkpoint.bin" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
[ ! -e "$T/cut/summary.json" ] && ok "decision run interrupted after its first checkpoint" || bad "run finished before the interruption"
"$E" resume "$T/cut" --quiet >/dev/null 2>"$T/resume.err"; rc=$?
same=1
for a in "$T/full"/*.npy; do cmp -s "$a" "$T/cut/$(basename "$a")" || { same=0; echo "  differs: $(basename "$a")"; }; done
[ $rc -eq 0 ] && [ $same -eq 1 ] && ok "decision: the resumed run ends with the same arrays as an uninterrupted one" || bad "resume exit $rc: $(cat "$T/resume.err")"
rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
