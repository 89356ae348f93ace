#!/bin/sh
# Command-line tests of the r2n2 options: reversal modes, the one learning-rate key,
# learning-rate schedules, the shared final evaluation (anbn) and the T-maze summary.
# Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cli-r2n2-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

# column NAME of the last row of a metrics.csv
lastcol() { awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i } END { print $k }' "$1"; }
summ() { sed -n "s/.*\"$2\": \([^,}]*\).*/\1/p" "$1"; }

expect 2 "two learning rates for r2n2 refused" -- "$E" run anbn --quick --quiet --set train.rule=r2n2 \
    --set train.lr=0.003 --out "$T/lr2"
expect 2 "a decaying schedule without train.lr_every refused" -- "$E" run anbn --quick --quiet \
    --set train.lr_schedule=step --out "$T/sch"
expect 2 "fixed reversal with learned backward weights refused" -- "$E" run anbn --quick --quiet \
    --set train.rule=r2n2 --set r2n2.reversal=fixed --set r2n2.backward=learned --out "$T/fxl"

for mode in fixed segmented; do
    if "$E" run anbn --quick --quiet --threads 1 --set train.rule=r2n2 --set r2n2.cache=false \
        --set r2n2.h0=0.2 --set r2n2.reversal=$mode --set r2n2.segment=3 --out "$T/$mode" >/dev/null 2>"$T/err"; then
        r=$(lastcol "$T/$mode/metrics.csv" recon_err)
        if [ "$mode" = fixed ]; then
            [ "$r" = 0 ] && ok "fixed reversal: reconstruction error exactly 0 ($r)" \
                || bad "fixed reversal: recon_err $r"
        else
            awk -v r="$r" 'BEGIN { exit !(r < 1e-9) }' && ok "segmented reversal: recon_err $r < 1e-9" \
                || bad "segmented reversal: recon_err $r"
        fi
    else bad "anbn r2n2 reversal=$mode failed: $(cat "$T/err")"; fi
done

# the summary's accuracy is the last metrics row's (one final evaluation)
if "$E" run anbn --quick --quiet --threads 1 --set train.rule=r2n2 --set r2n2.h0=0.2 \
    --set r2n2.cache=false --set train.lr_schedule=exp --set train.lr_every=100 \
    --set train.lr_gamma=0.5 --set train.lr_min=1e-4 --out "$T/fin" >/dev/null 2>"$T/err"; then
    a=$(summ "$T/fin/summary.json" accuracy); b=$(lastcol "$T/fin/metrics.csv" accuracy)
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(a == b) }' && ok "summary accuracy $a = last row $b (h0 0.2)" \
        || bad "summary accuracy $a differs from the last row $b"
else bad "anbn with an exponential schedule failed: $(cat "$T/err")"; fi

# schedules change the run: step decay at every step gives other weights than constant
"$E" run anbn --quick --quiet --threads 1 --set train.steps=50 --out "$T/c0" >/dev/null 2>&1
"$E" run anbn --quick --quiet --threads 1 --set train.steps=50 --set train.lr_schedule=step \
    --set train.lr_every=10 --set train.lr_gamma=0.5 --out "$T/c1" >/dev/null 2>&1
l0=$(lastcol "$T/c0/metrics.csv" loss); l1=$(lastcol "$T/c1/metrics.csv" loss)
[ -n "$l0" ] && [ -n "$l1" ] && [ "$l0" != "$l1" ] && ok "bptt reads the step schedule (loss $l0 vs $l1)" \
    || bad "step schedule had no effect on bptt (loss $l0 vs $l1)"

# T-maze summary: held-out reward, chance level, last-epoch correctness
if "$E" run tmaze --quick --quiet --threads 1 --set test.heldout_trials=4 --out "$T/tm" >/dev/null 2>"$T/err"; then
    for k in reward_rate reward_rate_heldout reward_rate_chance correct_last_epoch train_correct; do
        v=$(summ "$T/tm/summary.json" $k)
        [ -n "$v" ] && ok "tmaze summary has $k ($v)" || bad "tmaze summary lacks $k"
    done
else bad "tmaze --quick failed: $(cat "$T/err")"; fi

chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
