#!/bin/sh
# Command-line tests of `engram analyze`: every analysis on a short bptt AnBn run writes
# its files and one JSON line; the same seed gives the same bytes; bad input gives one
# stderr line and exit 2. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cli-analyze-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

R="$T/anbn"
"$E" run anbn --set train.rule=bptt --set train.steps=400 --set model.n_rec=24 --out "$R" --quiet --threads 1 >/dev/null 2>&1 \
    && ok "a short bptt AnBn run" || bad "bptt AnBn run failed"

# run_one WHAT FILES... [-- OPTIONS]: exit 0, one JSON line on stdout naming the analysis,
# every listed file written into RUN_DIR/analysis/WHAT/
run_one() {
    what=$1; shift
    files=""; while [ $# -gt 0 ] && [ "$1" != "--" ]; do files="$files $1"; shift; done
    [ "$1" = "--" ] && shift
    "$E" analyze "$R" "$what" "$@" >"$T/out" 2>"$T/err"; rc=$?
    miss=""
    for f in $files; do [ -s "$R/analysis/$what/$f" ] || miss="$miss $f"; done
    if [ "$rc" -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 1 ] && grep -q "^{\"analysis\": \"$what\"" "$T/out" && [ -z "$miss" ]; then
        ok "analyze $what: $(head -c 200 "$T/out")"
    else bad "analyze $what: exit $rc, missing:$miss, stdout $(head -c 200 "$T/out"), stderr $(head -c 300 "$T/err")"; fi
}
run_one record activity.npy inputs.npy outputs.npy targets.npy lengths.npy conditions.csv activity.png -- --trials 40 --seed 3
run_one pca variance_explained.csv components.npy projections.npy trajectories.png pc_timecourses.png -- --trials 40
run_one lesion lesion_units.csv lesion_groups.csv lesion.png -- --trials 40 --k 3
run_one perturb perturb.csv perturb.png -- --unit 2 --t0 1 --t1 3 --value 0.5 --mode clamp
run_one tuning tuning.csv tuning.png tuning_position.png
run_one fixedpoints fixedpoints.csv fixedpoints.png -- --input 0 --starts 40
run_one encode encode.csv encode.png synthetic_responses.npy -- --synthetic --targets 6 --repeats 4 --noise 0.5

# shapes and contents
[ "$(head -1 "$R/analysis/record/conditions.csv")" = "trial,t,count,position,symbol,counter" ] \
    && ok "conditions.csv header names the AnBn task variables" || bad "conditions.csv header: $(head -1 "$R/analysis/record/conditions.csv")"
rows=$(($(wc -l <"$R/analysis/lesion/lesion_units.csv") - 1))
[ "$rows" -eq 24 ] && ok "lesion table has one row per unit (24)" || bad "lesion table has $rows rows"
cp "$R/analysis/record/activity.npy" "$T/act1.npy"
"$E" analyze "$R" record --trials 40 --seed 3 >/dev/null 2>&1
cmp -s "$T/act1.npy" "$R/analysis/record/activity.npy" && ok "the same --seed records the same bytes" || bad "record not reproducible"
"$E" analyze "$R" record --trials 40 --seed 4 >/dev/null 2>&1
cmp -s "$T/act1.npy" "$R/analysis/record/activity.npy" && bad "another --seed records the same trials" || ok "another --seed draws other trials"
# a user response matrix: the synthetic one written above, read back
cp "$R/analysis/encode/synthetic_responses.npy" "$T/resp.npy"
"$E" analyze "$R" encode --responses "$T/resp.npy" >"$T/out" 2>"$T/err" \
    && grep -q '"repeats": 4' "$T/out" && ok "encode reads a (stimuli, targets, repeats) .npy" || bad "encode --responses: $(cat "$T/err")"

# the other rate-RNN rules load through the same path
for rule in fa rflo esn; do
    "$E" run anbn --set train.rule=$rule --set train.steps=20 --set train.eval_every=10 --set model.n_rec=12 \
        --out "$T/r-$rule" --quiet --threads 1 >/dev/null 2>&1
    "$E" analyze "$T/r-$rule" lesion --trials 8 >"$T/out" 2>"$T/err" && grep -q '"analysis": "lesion"' "$T/out" \
        && ok "analyze lesion on a $rule run" || bad "analyze lesion on a $rule run: $(cat "$T/err")"
done

# errors
expect 2 "missing analysis" -- "$E" analyze "$R"
expect 2 "unknown analysis" -- "$E" analyze "$R" nothing
expect 2 "not a run directory" -- "$E" analyze "$T/none" pca
expect 2 "unknown option" -- "$E" analyze "$R" pca --bogus 1
expect 2 "bad --trials" -- "$E" analyze "$R" pca --trials 0
expect 2 "encode without responses" -- "$E" analyze "$R" encode
expect 2 "responses with the wrong number of stimuli" -- "$E" analyze "$R" encode --responses "$T/resp.npy" --trials 7
expect 2 "--input beyond the inputs" -- "$E" analyze "$R" fixedpoints --input 9
expect 2 "--unit beyond the units" -- "$E" analyze "$R" perturb --unit 99
"$E" run memory-capacity --quick --out "$T/mc" --quiet --threads 1 >/dev/null 2>&1
expect 2 "an unsupported experiment" -- "$E" analyze "$T/mc" pca
"$E" run gonogo --quick --set train.rule=gru --set train.steps=2 --set train.eval_every=1 --out "$T/gru" --quiet --threads 1 >/dev/null 2>&1
expect 2 "an unsupported rule" -- "$E" analyze "$T/gru" pca
rm -f "$R/weights.npy" "$R/w_rec.npy"
expect 2 "a run without saved weights" -- "$E" analyze "$R" pca

rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
