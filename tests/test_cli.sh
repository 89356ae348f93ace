#!/bin/sh
# Command-line tests: bad input gives one line on stderr and the documented exit code;
# runs write every file the README lists; the same seed gives byte-identical arrays with 1
# and 2 threads; an interrupted run resumed from its checkpoint ends with the same bytes.
# Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cli-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

has_exp() { "$E" list experiments | grep -q "^$1 "; }

# --- usage and configuration errors ---
expect 2 "unknown command" -- "$E" frobnicate
expect 2 "unknown experiment" -- "$E" run no-such-experiment
expect 2 "missing config file" -- "$E" run "$T/missing.ini"
expect 2 "unknown option" -- "$E" run anbn --bogus
expect 2 "bad --seed" -- "$E" run anbn --seed minus-one
expect 2 "bad --threads" -- "$E" run anbn --threads 0
printf '[run]\nexperiment = mackey-glass\n[nosuchsection]\nx = 1\n' >"$T/badsec.ini"
expect 2 "unknown section in a config file" -- "$E" run "$T/badsec.ini" --out "$T/r-badsec"
grep -q 'badsec.ini:4: unknown section \[nosuchsection\]' "$T/err" && ok "message names file and line" || bad "message names file and line: $(cat "$T/err")"
expect 2 "unknown key via --set" -- "$E" run mackey-glass --quick --set reservoir.nosuchkey=3 --out "$T/r-key"
expect 2 "unparsable value via --set" -- "$E" run mackey-glass --quick --set run.seed=abc --out "$T/r-val"
expect 2 "out-of-range value via --set" -- "$E" run mackey-glass --quick --set run.checkpoint_every=-5 --out "$T/r-range"
[ ! -e "$T/r-key/summary.json" ] && ok "nothing written for a refused configuration" || bad "summary written for refused config"
expect 2 "list keys of unknown experiment" -- "$E" list keys nothing
expect 2 "resume of a directory without a run" -- "$E" resume "$T"

# --- output directory errors ---
mkdir -p "$T/ro" && chmod 500 "$T/ro"
if [ "$(id -u)" -ne 0 ]; then
    expect 1 "unwritable output directory" -- "$E" run mackey-glass --quick --out "$T/ro/run"
else
    expect 1 "unwritable output directory (a path under a regular file)" -- "$E" run mackey-glass --quick --out /proc/version/run
fi

if has_exp mackey-glass; then
    "$E" run mackey-glass --quick --quiet --out "$T/mg" >"$T/mg.out" 2>"$T/mg.err"; rc=$?
    [ $rc -eq 0 ] && ok "mackey-glass --quick runs" || bad "mackey-glass --quick exit $rc: $(cat "$T/mg.err")"
    for f in config.ini metrics.csv summary.json; do
        [ -s "$T/mg/$f" ] && ok "run writes $f" || bad "run did not write $f"
    done
    ls "$T/mg"/*.npy >/dev/null 2>&1 && ok "run writes .npy arrays" || bad "no .npy arrays"
    ls "$T/mg"/*.png >/dev/null 2>&1 && ok "run writes .png figures" || bad "no .png figures"
    last=$(tail -n 1 "$T/mg.out")
    [ "$last" = "$(cat "$T/mg/summary.json")" ] && ok "last stdout line is summary.json" || bad "last stdout line differs from summary.json"
    for k in '"experiment"' '"rule"' '"seed"' '"version"' '"threads"' '"wall_s"' '"status": "ok"' '"nrmse_test"' '"readout"'; do
        grep -q "$k" "$T/mg/summary.json" && ok "summary has $k" || bad "summary lacks $k"
    done
    head -n 1 "$T/mg/metrics.csv" | grep -q '^step,.*,wall_s$' && ok "metrics.csv header step,...,wall_s" || bad "metrics header: $(head -n 1 "$T/mg/metrics.csv")"
    expect 2 "existing run directory without --force" -- "$E" run mackey-glass --quick --out "$T/mg"
    "$E" run "$T/mg/config.ini" --quiet --out "$T/mg-again" >/dev/null 2>&1 && cmp -s "$T/mg/summary.json" "$T/mg/summary.json" \
        && ok "config.ini re-runs" || bad "engram run DIR/config.ini failed"
    same=1
    for a in "$T/mg"/*.npy; do cmp -s "$a" "$T/mg-again/$(basename "$a")" || same=0; done
    [ $same -eq 1 ] && ok "re-running config.ini gives byte-identical arrays" || bad "re-run arrays differ"
    # Threads: the same seed gives byte-identical arrays and metrics with 1 and 2 threads.
    "$E" run mackey-glass --quick --quiet --threads 1 --seed 7 --out "$T/t1" >/dev/null 2>&1
    "$E" run mackey-glass --quick --quiet --threads 2 --seed 7 --out "$T/t2" >/dev/null 2>&1
    same=1
    for a in "$T/t1"/*.npy; do cmp -s "$a" "$T/t2/$(basename "$a")" || same=0; done
    cut -d, -f1-$(($(head -n1 "$T/t1/metrics.csv" | tr ',' '\n' | wc -l) - 1)) "$T/t1/metrics.csv" >"$T/m1"
    cut -d, -f1-$(($(head -n1 "$T/t2/metrics.csv" | tr ',' '\n' | wc -l) - 1)) "$T/t2/metrics.csv" >"$T/m2"
    cmp -s "$T/m1" "$T/m2" || same=0
    [ $same -eq 1 ] && ok "mackey-glass: 1 and 2 threads give identical arrays and metrics" || bad "mackey-glass thread results differ"
    # A readout that diverges: status diverged, exit 1, no NaN result.
    expect 1 "diverging LMS readout" -- "$E" run mackey-glass --quick --set readout.kind=lms --set readout.mu=1e3 --quiet --out "$T/div"
    grep -q '"status": "diverged"' "$T/div/summary.json" 2>/dev/null && ok "diverged run has status diverged" || bad "diverged status missing"
    ! grep -qi 'nan' "$T/div/summary.json" 2>/dev/null && ok "no NaN in the diverged summary" || bad "NaN in diverged summary"
fi

if has_exp anbn; then
    "$E" run anbn-long --quick --quiet --out "$T/along" >/dev/null 2>&1 && grep -q '^experiment = anbn$' "$T/along/config.ini" \
        && grep -q '^n_max = 29$' "$T/along/config.ini" && ok "a preset file (anbn-long) runs its experiment with its values" \
        || bad "preset anbn-long did not run as anbn with n_max 29"
    # Interrupted and resumed: kill the run after its first checkpoint, resume, compare.
    "$E" run anbn --quick --quiet --seed 3 --set run.checkpoint_every=20 --out "$T/full" >/dev/null 2>&1
    "$E" run anbn --quick --quiet --seed 3 --set run.checkpoint_every=20 --out "$T/cut" >/dev/null 2>&1 &
    pid=$!
    i=0; while [ ! -e "$T/cut/checkpoint.bin" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    "$E" resume "$T/cut" --quiet >/dev/null 2>"$T/resume.err"; rc=$?
    [ $rc -eq 0 ] && ok "resume of an interrupted anbn run" || bad "resume exit $rc: $(cat "$T/resume.err")"
    same=1
    for a in "$T/full"/*.npy; do cmp -s "$a" "$T/cut/$(basename "$a")" || { same=0; echo "  differs: $(basename "$a")"; }; done
    ncol=$(head -n1 "$T/full/metrics.csv" | tr ',' '\n' | wc -l)
    cut -d, -f1-$((ncol - 1)) "$T/full/metrics.csv" >"$T/m1"; cut -d, -f1-$((ncol - 1)) "$T/cut/metrics.csv" >"$T/m2"
    cmp -s "$T/m1" "$T/m2" || { same=0; echo "  metrics.csv differs"; }
    [ $same -eq 1 ] && ok "resumed run ends with the same bytes as an uninterrupted one" || bad "resumed run differs"
    # Corrupt checkpoints.
    cp -r "$T/cut" "$T/trunc"; head -c 40 "$T/cut/checkpoint.bin" >"$T/trunc/checkpoint.bin"
    expect 1 "truncated checkpoint" -- "$E" resume "$T/trunc" --quiet
    cp -r "$T/cut" "$T/foreign"; printf 'GIF89a not a checkpoint' >"$T/foreign/checkpoint.bin"
    expect 1 "foreign checkpoint" -- "$E" resume "$T/foreign" --quiet
    # compare: bad rule, refused rule, diverging rule.
    expect 2 "compare with an unknown rule" -- "$E" compare anbn --quick --rules bptt,backprop --seeds 1 --out "$T/c1"
    if has_exp mackey-glass; then
        expect 2 "compare on an experiment without rules" -- "$E" compare mackey-glass --quick --rules bptt --seeds 1 --out "$T/c2"
    fi
    "$E" compare anbn --quick --quiet --rules bptt,fa --seeds 2 --set train.lr=1e6 --out "$T/c3" >"$T/c3.out" 2>"$T/c3.err"; rc=$?
    grep -q '^bptt,1,diverged' "$T/c3/comparison.csv" 2>/dev/null && ok "diverging rule reported as diverged in comparison.csv (exit $rc)" \
        || bad "diverging compare: exit $rc, $(cat "$T/c3/comparison.csv" 2>/dev/null) $(tail -n 3 "$T/c3.err")"
    "$E" compare anbn --quick --quiet --rules bptt,fa --seeds 2 --out "$T/c4" >"$T/c4.out" 2>&1; rc=$?
    [ $rc -eq 0 ] && [ "$(wc -l <"$T/c4/comparison.csv")" -eq 5 ] && [ -s "$T/c4/comparison.png" ] \
        && ok "compare writes comparison.csv (4 runs) and comparison.png" || bad "compare: exit $rc $(tail -n 3 "$T/c4.out")"
    head -n 1 "$T/c4/comparison.csv" | grep -q '^rule,seed,status,accuracy,steps_to_criterion,wall_s$' \
        && ok "comparison.csv columns" || bad "comparison.csv header: $(head -n 1 "$T/c4/comparison.csv")"
fi

if has_exp gridcells; then
    printf 'not numpy' >"$T/foreign.npy"
    expect 1 "gridscore of a foreign .npy" -- "$E" gridscore "$T/foreign.npy"
    expect 1 "gridscore of a missing file" -- "$E" gridscore "$T/none.npy"
fi

chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
