#!/bin/sh
# Command-line tests of `engram analyze` on the networks beyond the rate RNN: tiny
# gridcells runs (RNN and LSTM cores), echo-state prediction runs, an r2n2 run and a
# cognitive task. Every analysis either writes its JSON line or refuses with one
# stderr line and exit 2; an echo-state run's recorded outputs on the test steps are
# its own predictions.npy (read with a numpy-free .npy reader). Ends with "N passed,
# N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cli-models-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

# analyze_ok RUN WHAT [OPTIONS]: exit 0 and one JSON line naming the analysis
analyze_ok() {
    run=$1; what=$2; shift 2
    "$E" analyze "$run" "$what" "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 1 ] && grep -q "^{\"analysis\": \"$what\"" "$T/out"; then
        ok "$(basename "$run") $what: $(head -c 160 "$T/out")"
    else bad "$(basename "$run") $what: exit $rc, stdout $(head -c 200 "$T/out"), stderr $(head -c 300 "$T/err")"; fi
}
all_analyses() {
    run=$1; shift
    for w in record pca lesion perturb tuning; do analyze_ok "$run" $w "$@"; done
    analyze_ok "$run" encode --synthetic --targets 3 "$@"
}

GRID="--set cells.n_pc=32 --set cells.n_hd=4 --set train.steps=4 --set eval.every=2 --set eval.trajectories=40 --set eval.null_maps=20 --set train.batch=8"
# shellcheck disable=SC2086
"$E" run gridcells-rnn --quick --set model.n_hidden=20 $GRID --out "$T/grnn" --quiet --threads 1 >/dev/null 2>&1 \
    && ok "a tiny gridcells RNN run" || bad "gridcells RNN run failed"
# shellcheck disable=SC2086
"$E" run gridcells-lstm --quick --set model.n_hidden=12 --set model.n_g=16 $GRID --out "$T/glstm" --quiet --threads 1 >/dev/null 2>&1 \
    && ok "a tiny gridcells LSTM run" || bad "gridcells LSTM run failed"
for f in b_enc.npy b_out.npy w_hd.npy b_hd.npy; do
    [ -s "$T/grnn/$f" ] && [ -s "$T/glstm/$f" ] || bad "gridcells did not write $f"
done
[ -s "$T/glstm/b_lstm.npy" ] && [ -s "$T/glstm/b_enc_c.npy" ] && ok "gridcells writes every parameter array" \
    || bad "the LSTM run lacks b_lstm.npy or b_enc_c.npy"
all_analyses "$T/grnn" --trials 12
analyze_ok "$T/grnn" fixedpoints --starts 10 --trials 12
all_analyses "$T/glstm" --trials 12
expect 2 "fixedpoints on the path-integrating LSTM" -- "$E" analyze "$T/glstm" fixedpoints --trials 12
"$E" analyze "$T/grnn" lesion --trials 12 >"$T/out" 2>&1
G="$T/grnn/analysis/lesion/lesion_groups.csv"
want=$(awk -F, 'NR > 1 && $NF == 1' "$T/grnn/gridstats.csv" | wc -l)
got=$(awk -F, '$1 == "grid_units" {print $2}' "$G")
[ "$got" = "$want" ] && grep -q '^random_' "$G" && grep -q '^top_score60,' "$G" && grep -q '^grid_untrained_p99,' "$G" \
    && [ -s "$T/grnn/analysis/lesion/lesion_groups.png" ] \
    && ok "grid lesion groups: the run's $want grid units, matched random draws, top score60, the untrained-p99 set" \
    || bad "grid lesion groups: grid_units k = '$got', gridstats has $want: $(cat "$G")"
head -1 "$T/grnn/analysis/record/conditions.csv" | grep -q '^trial,t,position,x,y,heading,speed,t$' \
    && ok "grid task variables: position, x, y, heading, speed, t" || bad "grid conditions header: $(head -1 "$T/grnn/analysis/record/conditions.csv")"
cp "$T/grnn/analysis/record/activity.npy" "$T/a1.npy"
"$E" analyze "$T/grnn" record --trials 12 >/dev/null 2>&1
cmp -s "$T/a1.npy" "$T/grnn/analysis/record/activity.npy" && ok "grid record: same bytes again" || bad "grid record not reproducible"

# echo-state runs: the recorded readout on the test steps is the run's own prediction
"$E" run mackey-glass --quick --set reservoir.n=40 --set data.train=600 --set data.test=200 --out "$T/mg" --quiet --threads 1 >/dev/null 2>&1
"$E" run narma10 --quick --set reservoir.n=40 --set readout.units=25 --set data.train=600 --set data.test=200 --out "$T/na" --quiet --threads 1 >/dev/null 2>&1
for r in mg na; do
    all_analyses "$T/$r"
    analyze_ok "$T/$r" fixedpoints --starts 10
    "$E" analyze "$T/$r" record >"$T/out" 2>&1
    res=$(python3 - "$T/$r/analysis/record/outputs.npy" "$T/$r/predictions.npy" "$T/$r/summary.json" "$T/out" <<'EOF'
import ast, json, struct, sys
def npy(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<H', b[8:10])[0]
    h = ast.literal_eval(b[10:10 + n].decode())
    assert h['descr'] == '<f8' and not h['fortran_order']
    k = 1
    for s in h['shape']: k *= s
    return struct.unpack('<%dd' % k, b[10 + n:10 + n + 8 * k])
out, pred = npy(sys.argv[1]), npy(sys.argv[2])
tail = out[len(out) - len(pred):]
d = max(abs(a - b) for a, b in zip(tail, pred))
m1 = json.load(open(sys.argv[3]))['nrmse_test']
m2 = json.loads(open(sys.argv[4]).read())['metric']
print('%g %d' % (d, abs(m1 - m2) <= 1e-6 * abs(m1)))
EOF
)
    d=${res% *}; same=${res#* }
    if [ -n "$res" ] && awk "BEGIN{exit !($d < 1e-9)}" && [ "$same" = 1 ]; then
        ok "$r: recorded outputs on the test steps = predictions.npy (max |diff| $d), metric = nrmse_test"
    else bad "$r: outputs vs predictions.npy: '$res'"; fi
done
"$E" run mackey-glass --quick --set reservoir.n=20 --set task.mode=generate --set reservoir.feedback_scaling=0.5 \
    --set data.train=300 --set data.test=50 --out "$T/mgg" --quiet --threads 1 >/dev/null 2>&1
expect 2 "a free-running generator" -- "$E" analyze "$T/mgg" pca
rm "$T/mg/w_out.npy"
expect 2 "an echo-state run without its readout" -- "$E" analyze "$T/mg" pca

# r2n2 on anbn, and a cognitive task with a rate RNN and with r2n2
"$E" run anbn --quick --set train.rule=r2n2 --set train.steps=20 --set train.eval_every=10 --set r2n2.n_h=8 \
    --out "$T/r2" --quiet --threads 1 >/dev/null 2>&1
all_analyses "$T/r2" --trials 20
analyze_ok "$T/r2" fixedpoints --starts 10 --trials 20
rows=$(($(wc -l <"$T/r2/analysis/lesion/lesion_units.csv") - 1))
[ "$rows" -eq 16 ] && ok "r2n2 lesion table: one row per state unit (2 x 8)" || bad "r2n2 lesion table has $rows rows"
"$E" run gonogo --quick --set train.steps=30 --set model.n_rec=12 --out "$T/gng" --quiet --threads 1 >/dev/null 2>&1
all_analyses "$T/gng" --trials 20
head -1 "$T/gng/analysis/record/conditions.csv" | grep -q '^trial,t,go,answer,epoch,t$' \
    && ok "go/no-go task variables: go, answer, epoch, t" || bad "gonogo conditions: $(head -1 "$T/gng/analysis/record/conditions.csv")"
"$E" run gonogo --quick --set train.rule=r2n2 --set r2n2.cache=false --set r2n2.n_h=6 --set train.steps=10 \
    --out "$T/gr2" --quiet --threads 1 >/dev/null 2>&1
analyze_ok "$T/gr2" lesion --trials 20
rm -f "$T/gr2/r2n2_params.npy" "$T/gr2/w_ab.npy"
expect 2 "an r2n2 run without its weights" -- "$E" analyze "$T/gr2" pca

rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
