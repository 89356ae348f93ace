#!/bin/sh
# Command-line reliability: run-directory locking, --force, long and hostile paths,
# divergence, the smallest value of every size key, unique default names, keys the
# engine owns, --help, engram config, interruption and resume extension, float32 .npy.
# Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$(pwd)/$BUILD/engram"
export ENGRAM_PRESETS="$(pwd)/experiments"
T=$(mktemp -d /tmp/engram-rel-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

# --- 1. two runs into one new directory: exactly one succeeds, the other exits 2 ---
for trial in 1 2 3; do
    D="$T/race$trial"
    "$E" run anbn --quick --quiet --threads 1 --seed 1 --out "$D" >"$T/r1.out" 2>"$T/r1.err" &
    p1=$!
    "$E" run anbn --quick --quiet --threads 1 --seed 2 --set train.rule=fa --out "$D" >"$T/r2.out" 2>"$T/r2.err" &
    p2=$!
    wait $p1; c1=$?
    wait $p2; c2=$?
    if { [ $c1 -eq 0 ] && [ $c2 -eq 2 ] && [ "$(wc -l <"$T/r2.err")" -eq 1 ]; } ||
       { [ $c2 -eq 0 ] && [ $c1 -eq 2 ] && [ "$(wc -l <"$T/r1.err")" -eq 1 ]; }; then
        ok "race $trial: one run ($c1, $c2): $(cat "$T/r1.err" "$T/r2.err" | head -c 200)"
    else bad "race $trial: exits $c1 and $c2: $(cat "$T/r1.err" "$T/r2.err" | head -c 300)"; fi
    seed=$(sed -n 's/.*"seed": \([0-9]*\).*/\1/p' "$D/summary.json")
    grep -q "^seed = $seed\$" "$D/config.ini" && ok "race $trial: config.ini and summary.json from the same run" ||
        bad "race $trial: config.ini and summary.json disagree"
done
# The loser was refused either while the winner ran (naming its pid) or after it finished.
msg=$(cat "$T/r1.err" "$T/r2.err")
printf '%s' "$msg" | grep -Eq "in use by engram process [0-9]+$|already holds a run" &&
    ok "the refusal names the holder's pid or the finished run" || bad "refusal message: $msg"

# --- 2. --force clears the old checkpoint; a checkpoint from another configuration is refused ---
D="$T/force"
"$E" run anbn --quick --quiet --set run.checkpoint_every=100 --out "$D" >/dev/null 2>&1
[ -f "$D/checkpoint.bin" ] && ok "first run wrote checkpoint.bin" || bad "no checkpoint.bin"
"$E" run anbn --quick --quiet --force --seed 2 --out "$D" >/dev/null 2>&1
[ ! -f "$D/checkpoint.bin" ] && ok "--force removed the old checkpoint.bin" || bad "--force kept checkpoint.bin"
expect 2 "resume after --force without checkpoints" -- "$E" resume "$D"
"$E" run anbn --quick --quiet --set run.checkpoint_every=100 --out "$T/hash" >/dev/null 2>&1
sed -i 's/^lr = .*/lr = 0.0123/' "$T/hash/config.ini"
expect 1 "resume with an edited config.ini" -- "$E" resume "$T/hash" --quiet
grep -q "another configuration" "$T/err" && ok "message says the configuration differs" || bad "message: $(cat "$T/err")"

# --- 3. a 300-character path: run, resume, run DIR/config.ini ---
L="$T/$(printf 'a%.0s' $(seq 1 100))/$(printf 'b%.0s' $(seq 1 100))/$(printf 'c%.0s' $(seq 1 80))"
"$E" run anbn --quick --quiet --set run.checkpoint_every=100 --out "$L" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && ok "run into a ${#L}-character path" || bad "run into a long path: exit $rc $(cat "$T/err")"
awk 'length($0) > 197 { bad = 1 } END { exit bad }' "$L/config.ini" && ok "config.ini has no line over 197 characters" ||
    bad "config.ini has an overlong line"
"$E" resume "$L" --quiet >/dev/null 2>"$T/err" && ok "resume of the long path" || bad "resume long path: $(cat "$T/err")"
"$E" run "$L/config.ini" --quiet --out "$T/rerun" >/dev/null 2>"$T/err" && ok "engram run LONGPATH/config.ini" ||
    bad "run LONGPATH/config.ini: $(cat "$T/err")"
cmp -s "$L/output_probs.npy" "$T/rerun/output_probs.npy" && ok "rerun gives the same output_probs.npy" || bad "rerun differs"
expect 2 "a newline in --out" -- "$E" run mackey-glass --quick --out "$T/new
line"
[ ! -e "$T/new" ] && ok "nothing created for the refused path" || bad "a directory was created"

# --- 8. --out over 1023 characters works; over PATH_MAX is refused ---
LL="$T"; while [ ${#LL} -lt 1100 ]; do LL="$LL/$(printf 'd%.0s' $(seq 1 200))"; done
"$E" run mackey-glass --quick --quiet --out "$LL" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && [ -f "$LL/summary.json" ] && ok "run into a ${#LL}-character path lands there" ||
    bad "long --out: exit $rc $(cat "$T/err")"
HUGE=$(printf 'x%.0s' $(seq 1 5000))
expect 2 "--out of 5000 characters refused" -- "$E" run mackey-glass --quick --out "$T/$HUGE"

# --- 4. gridcells divergence (the reproduction, shortened where it does not matter) ---
"$E" run gridcells --quick --quiet --threads 1 --set train.optimizer=sgd --set train.lr=10 --set train.clip_value=0 \
    --set train.steps=60 --set eval.every=30 --set eval.trajectories=50 --out "$T/gdiv" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && ok "gridcells with lr 10 exits 1: $(tail -n 1 "$T/err")" || bad "gridcells divergence exit $rc"
grep -q '"status": "diverged"' "$T/gdiv/summary.json" && ok "summary says diverged" || bad "summary: $(cat "$T/gdiv/summary.json")"
[ ! -e "$T/gdiv/ratemaps.npy" ] && ok "no rate maps written from diverged weights" || bad "ratemaps.npy written"

# --- 5. the smallest value of every size key: runs or one-line refusal, never a signal ---
"$E" run tmaze --quick --quiet --threads 1 --set train.rule=bptt --set model.n_rec=1 --set train.max_epochs=2 \
    --out "$T/tm1" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && ok "tmaze bptt with model.n_rec=1 runs" || bad "tmaze n_rec=1: exit $rc $(cat "$T/err")"
nsig=0; nrun=0; nref=0
for x in anbn anbn-long tmaze gridcells mackey-glass narma10 memory-capacity; do
    case $x in
        anbn*) fast="--set train.steps=2 --set train.eval_every=1" ;;
        tmaze) fast="--set train.max_epochs=1 --set train.n_seq=2 --set test.trials=2" ;;
        gridcells) fast="--set train.steps=1 --set eval.every=1 --set eval.trajectories=2 --set eval.batch=2" ;;
        *) fast="" ;;
    esac
    "$E" list keys $x | awk '$2 == "int" && $1 != "run.seed" && $1 != "cells.seed" && $1 != "run.checkpoint_every" {
        r = $4; gsub(/[\[\],]/, " ", r); split(r, a, " "); print $1, a[1] }' >"$T/keys"
    # every size key at its minimum at once, then one at a time (gridcells, the slowest
    # to start, only at once and for its network and cell sizes)
    all=$(awk '{ printf "--set %s=%s ", $1, $2 }' "$T/keys")
    { echo "ALL -"; if [ $x = gridcells ]; then grep -E '^(model|cells)\.' "$T/keys"; else cat "$T/keys"; fi; } >"$T/keys2"
    while read -r key min; do
        if [ "$key" = ALL ]; then sets="$all"; else sets="--set $key=$min"; fi
        # shellcheck disable=SC2086
        "$E" run $x --quick --quiet --threads 1 $fast $sets --out "$T/min-$x-$key" >/dev/null 2>"$T/err"
        rc=$?
        lines=$(wc -l <"$T/err")
        if [ $rc -gt 128 ]; then nsig=$((nsig + 1)); bad "$x $key=$min: killed by signal $((rc - 128))"
        elif [ $rc -ne 0 ] && [ "$lines" -ne 1 ]; then nsig=$((nsig + 1)); bad "$x $key=$min: exit $rc with $lines stderr lines"
        elif [ $rc -eq 0 ]; then nrun=$((nrun + 1)); else nref=$((nref + 1)); fi
        rm -rf "$T/min-$x-$key"
    done <"$T/keys2"
done
[ $nsig -eq 0 ] && ok "smallest size keys: $nrun runs, $nref one-line refusals, no signal" || bad "$nsig size-key runs crashed"

# --- 6. a seed loop with default names ---
( cd "$T" && for s in 1 2 3; do "$E" run memory-capacity --quick --quiet --seed $s >/dev/null 2>"$T/seed$s.err" || exit 1; done ); rc=$?
n=$(ls -d "$T"/runs/memory-capacity-esn-seed* 2>/dev/null | wc -l)
[ $rc -eq 0 ] && [ "$n" -eq 3 ] && ok "seed loop: 3 runs in 3 directories" || bad "seed loop: exit $rc, $n directories $(cat "$T"/seed*.err)"
( cd "$T" && "$E" run memory-capacity --quick --quiet --seed 1 >/dev/null 2>&1 && "$E" run memory-capacity --quick --quiet --seed 1 >/dev/null 2>&1 ); rc=$?
[ $rc -eq 0 ] && ok "the same seed twice in a row gets two directories" || bad "same seed twice: exit $rc"

# --- 7. keys the engine owns ---
expect 2 "--set run.experiment refused" -- "$E" run anbn --quick --set run.experiment=tmaze --out "$T/own1"
expect 2 "--set run.version refused" -- "$E" run anbn --quick --set run.version=9 --out "$T/own2"
expect 2 "--set run.quick refused" -- "$E" run anbn --set run.quick=true --out "$T/own3"
[ ! -e "$T/own1" ] && ok "nothing written for an owned key" || bad "directory created for an owned key"

# --- rough edges ---
for c in run compare resume list config render gridscore; do
    "$E" $c --help >"$T/out" 2>"$T/err"; rc=$?
    [ $rc -eq 0 ] && grep -q "usage" "$T/out" && [ ! -s "$T/err" ] && ok "$c --help: usage on stdout, exit 0" ||
        bad "$c --help: exit $rc $(head -c 200 "$T/err")"
done
"$E" config anbn --quick --seed 7 --set train.lr=0.02 >"$T/cfg.ini" 2>"$T/err"; rc=$?
"$E" run anbn --quick --quiet --seed 7 --set train.lr=0.02 --out "$T/cfgrun" >/dev/null 2>&1
[ $rc -eq 0 ] && cmp -s "$T/cfg.ini" "$T/cfgrun/config.ini" && ok "engram config prints the config.ini run writes" ||
    bad "engram config differs from config.ini (exit $rc)"
"$E" run mackey-glass --quick --out "$T/loud" >/dev/null 2>"$T/err"
head -n 1 "$T/err" | grep -q "$T/loud" && tail -n 1 "$T/err" | grep -q "wrote $T/loud" &&
    ok "run directory printed at the start and 'wrote DIR' at the end" || bad "stderr: $(head -c 300 "$T/err")"
"$E" run gridcells --quick --threads 1 --out "$T/note" >/dev/null 2>"$T/err" &
gp=$!
sleep 2
grep -q "generating .* evaluation trajectories" "$T/err" && ok "gridcells says what it prepares within 2 s" ||
    bad "gridcells first lines: $(head -c 300 "$T/err")"
kill -TERM $gp; wait $gp; rc=$?
[ $rc -eq 143 ] && ok "SIGTERM without checkpoints ends the run at once (143)" || bad "SIGTERM exit $rc"

# SIGTERM with checkpoints: checkpoint written, resume finishes with the bytes of an uninterrupted run.
"$E" run anbn --quick --quiet --threads 1 --set train.steps=6000 --set run.checkpoint_every=100000 --out "$T/full" >/dev/null 2>&1
"$E" run anbn --quick --threads 1 --set train.steps=6000 --set run.checkpoint_every=100000 --out "$T/int" >/dev/null 2>"$T/err" &
ip=$!
sleep 1
kill -TERM $ip; wait $ip; rc=$?
if [ $rc -eq 143 ]; then
    ok "SIGTERM with checkpoints exits 143"
    grep -q "engram resume $T/int" "$T/err" && ok "says how to resume" || bad "no resume hint: $(tail -n 2 "$T/err")"
    [ -f "$T/int/checkpoint.bin" ] && ok "checkpoint written on SIGTERM" || bad "no checkpoint on SIGTERM"
    "$E" resume "$T/int" --quiet --threads 1 >/dev/null 2>"$T/err" && cmp -s "$T/full/output_probs.npy" "$T/int/output_probs.npy" &&
        cmp -s "$T/full/w_rec.npy" "$T/int/w_rec.npy" &&
        [ "$(cut -d, -f1-4 "$T/full/metrics.csv")" = "$(cut -d, -f1-4 "$T/int/metrics.csv")" ] &&
        ok "resumed run equals the uninterrupted one" || bad "resumed run differs: $(cat "$T/err")"
else
    [ $rc -eq 0 ] && ok "run finished before SIGTERM (machine fast); not checked" || bad "SIGTERM exit $rc: $(tail -n 2 "$T/err")"
fi

# resume --set train.steps extends a finished run to the bytes of a longer one.
"$E" run anbn --quick --quiet --threads 1 --set train.steps=200 --set run.checkpoint_every=50 --out "$T/ext" >/dev/null 2>&1
"$E" run anbn --quick --quiet --threads 1 --set train.steps=400 --set run.checkpoint_every=50 --out "$T/long" >/dev/null 2>&1
"$E" resume "$T/ext" --quiet --threads 1 --set train.steps=400 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && cmp -s "$T/ext/output_probs.npy" "$T/long/output_probs.npy" && cmp -s "$T/ext/config.ini" "$T/long/config.ini" &&
    [ "$(cut -d, -f1-4 "$T/ext/metrics.csv")" = "$(cut -d, -f1-4 "$T/long/metrics.csv")" ] &&
    ok "resume --set train.steps=400 equals a 400-step run" || bad "extension: exit $rc $(cat "$T/err")"
expect 2 "resume --set of another key refused" -- "$E" resume "$T/ext" --set train.lr=1

# float32 .npy written by numpy is read by gridscore and render.
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3 # Debian's, with python3-numpy
if $PY -c 'import numpy' 2>/dev/null; then
    "$E" run gridcells --quick --quiet --threads 1 --set train.steps=0 --set eval.trajectories=20 --out "$T/g0" >/dev/null 2>&1
    $PY -c "
import numpy as np
m = np.load('$T/g0/ratemaps.npy')
np.save('$T/f32.npy', m.astype('<f4'))
np.save('$T/f64r.npy', m.astype('<f4').astype('<f8'))
np.save('$T/be.npy', m.astype('>f8'))"
    "$E" gridscore "$T/f32.npy" --out "$T/s32.csv" >/dev/null 2>"$T/err" && "$E" gridscore "$T/f64r.npy" --out "$T/s64.csv" >/dev/null 2>&1 &&
        cmp -s "$T/s32.csv" "$T/s64.csv" && ok "gridscore reads numpy float32 (same scores as the widened float64)" ||
        bad "gridscore float32: $(cat "$T/err")"
    "$E" gridscore "$T/be.npy" --out "$T/sbe.csv" >/dev/null 2>&1 && "$E" gridscore "$T/g0/ratemaps.npy" --out "$T/sle.csv" >/dev/null 2>&1 &&
        cmp -s "$T/sbe.csv" "$T/sle.csv" && ok "gridscore reads big-endian float64" || bad "gridscore >f8"
    N=$(sed -n 's/^n_rec = //p' "$T/force/config.ini")
    $PY -c "
import numpy as np, sys
d = '$T/force/'; N = $N
want = {'w_rec': (N, N), 'w_in': (N, 3), 'b_rec': (N,), 'w_out': (3, N), 'b_out': (3,)}
sys.exit(0 if all(np.load(d + k + '.npy').shape == v for k, v in want.items()) else 1)" &&
        [ ! -e "$T/force/weights.npy" ] && [ ! -e "$T/force/fb_rec.npy" ] &&
        ok "anbn bptt writes w_rec (N, N), w_in (N, 3), b_rec (N,), w_out (3, N), b_out (3,), no weights.npy" ||
        bad "named weight files of anbn"
    "$E" render ratemaps "$T/f32.npy" --out "$T/f32.png" >/dev/null 2>"$T/err" && [ -s "$T/f32.png" ] &&
        ok "render reads numpy float32" || bad "render float32: $(cat "$T/err")"
else
    bad "python3-numpy missing (scripts/install-deps.sh installs it)"
fi

rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
