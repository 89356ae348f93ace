#!/bin/sh
# Regenerates every figure the README shows, in one pass: PNG into figures/ and the same
# drawings as SVG into figures/svg/ (each run writes both formats, run.figure_format =
# png,svg), with every run's summary line in figures/results.txt and the analyses' in
# figures/analysis-results.txt.
#   sh scripts/figures.sh [BUILD]          (make figures)
# FIGURE_FORMAT: a list of png, svg, pdf (default png,svg); png goes to figures/, svg to
# figures/svg/, pdf to figures/pdf/ (FIGURE_FORMAT=svg writes only the vector files).
# Runs go to $FIGURE_RUNS (default runs/figures), each with --threads 1 under nice -n 10,
# in FIGURE_JOBS parallel lanes (default 2: the long AnBn comparison and gridcells-lstm
# beside everything else; 1 runs them one after the other). GRID=0 skips the grid-cell runs; GRID_STEPS sets the
# updates of the Banino run (default 4000), LSTM_STEPS those of gridcells-lstm (default
# its full 2000; 250 with FIGURE_QUICK); gridcells-rnn and its --quick form run their full schedules (1500 and 1000
# updates). COGNITIVE=0 skips the rule comparisons on decision and delayed response
# (25 runs each). Every README image path is written by a
# `put` line below (tests/test_cli_figures_readme.sh checks it).
set -e
BUILD=${1:-build}
E="$BUILD/engram"
OUT=${FIGURE_RUNS:-runs/figures}
FMT=${FIGURE_FORMAT:-png,svg}
JOBS=${FIGURE_JOBS:-2}
GRID=${GRID:-1}
GRID_STEPS=${GRID_STEPS:-4000}
LSTM_STEPS=${LSTM_STEPS:-${FIGURE_QUICK:+250}}
LSTM_STEPS=${LSTM_STEPS:-2000}
Q=${FIGURE_QUICK:+--quick}   # FIGURE_QUICK=1: every run --quick (a smoke test of this script)
FORMATS=$(echo "$FMT" | tr ',' ' ')
for f in $FORMATS; do
    case "$f" in png|svg|pdf) ;;
        *) echo "figures.sh: FIGURE_FORMAT must list png, svg or pdf (e.g. png,svg), got '$FMT'" >&2; exit 2 ;;
    esac
done
dest() { if [ "$1" = png ]; then echo figures; else echo "figures/$1"; fi; }
case ",$FMT," in *,png,*) ;; *) OUT=$OUT-$(echo "$FMT" | tr ',' '-') ;; esac
FIRST=$(echo "$FORMATS" | cut -d' ' -f1)
RES=$(dest "$FIRST")/results.txt
for f in $FORMATS; do mkdir -p "$(dest "$f")"; done
mkdir -p "$OUT"
RUN="nice -n 10 $E"

# run NAME ARGS...: engram run ARGS into $OUT/NAME; its summary line into $OUT/NAME.line.
run() {
    name=$1; shift
    echo "== engram run $* --out $OUT/$name" >&2
    line=$($RUN run "$@" $Q --threads 1 --set run.figure_format="$FMT" --quiet --force --out "$OUT/$name" | tail -n 1)
    [ -n "$line" ] || { echo "figures.sh: engram run $name failed" >&2; exit 1; }
    echo "$name: $line" >"$OUT/$name.line"
}
# compare NAME ARGS...: engram compare ARGS into $OUT/NAME; its table into $OUT/NAME.line.
compare() {
    name=$1; shift
    echo "== engram compare $* --out $OUT/$name" >&2
    $RUN compare "$@" $Q --threads 1 --set run.figure_format="$FMT" --quiet --force --out "$OUT/$name" \
        | sed "s/^/$name: /" >"$OUT/$name.line"
}
# put FILE.png NAME: copies FILE in every format to figures/NAME.png, figures/svg/NAME.svg...
put() {
    for f in $FORMATS; do cp "${1%.png}.$f" "$(dest "$f")/$2.$f"; done
}
# render NAME ARGS...: engram render ARGS straight into figures/NAME.* in every format.
render() {
    name=$1; shift
    $RUN render "$@" --format "$FMT" --out "$(dest "$FIRST")/$name.$FIRST"
    for f in $FORMATS; do
        [ "$f" = "$FIRST" ] || mv "$(dest "$FIRST")/$name.$f" "$(dest "$f")/$name.$f"
    done
}

main_lane() {
    run mg-ridge mackey-glass
    run mg-nlms mackey-glass --set readout.kind=nlms
    run narma10 narma10
    run mc-linear memory-capacity
    run mc-tanh memory-capacity --set reservoir.activation=tanh --set reservoir.n=100
    put "$OUT/mg-nlms/learning_curve.png" mackey-glass-nlms-learning-curve
    put "$OUT/mg-ridge/prediction.png" mackey-glass-ridge-prediction
    put "$OUT/mc-linear/mc_curve.png" memory-capacity-linear

    for p in decision mante delayed-response gonogo flipflop; do run "$p" "$p"; done
    put "$OUT/decision/psychometric.png" decision-psychometric
    put "$OUT/decision/chronometric.png" decision-chronometric
    put "$OUT/mante/psychometric.png" mante-psychometric
    put "$OUT/delayed-response/accuracy_by_delay.png" delayed-response-accuracy
    put "$OUT/flipflop/flipflop.png" flipflop-trial
    put "$OUT/gonogo/go_output.png" gonogo-output

    run tmaze-alternation tmaze --set test.cache_capacity=true
    run tmaze-cued tmaze --set task.variant=cued
    put "$OUT/tmaze-alternation/place_cells.png" tmaze-place-cells
    put "$OUT/tmaze-alternation/ratemaps.png" tmaze-ratemaps
    put "$OUT/tmaze-alternation/cache_replay_reverse.png" tmaze-cache-reverse-replay
    put "$OUT/tmaze-alternation/cache_replay_forward.png" tmaze-cache-forward-replay
    put "$OUT/tmaze-alternation/replays.png" tmaze-replays-per-epoch
    put "$OUT/tmaze-alternation/cache_capacity.png" tmaze-cache-capacity

    echo "== engram sweep examples/sweep-memory-capacity.ini --out $OUT/sweep-mc" >&2
    $RUN sweep examples/sweep-memory-capacity.ini $Q --local --jobs 1 --threads 1 --force \
        --out "$OUT/sweep-mc" >/dev/null
    # collect prints absolute paths; figures/results.txt keeps them relative to the tree
    $RUN collect "$OUT/sweep-mc" --format "$FMT" | sed "s|$(pwd)/||g; s/^/sweep-memory-capacity: /" \
        >"$OUT/sweep-mc.line"
    put "$OUT/sweep-mc/collect.png" sweep-memory-capacity

    compare anbn-compare anbn --rules r2n2,bptt,fa,rflo,esn --seeds 5
    put "$OUT/anbn-compare/comparison.png" anbn-comparison

    FIGURE_FORMAT=$FMT OUT=$OUT/analysis sh scripts/analysis-figures.sh "$BUILD"
    [ "$GRID" = 0 ] || rnn_runs
}

# The long AnBn comparison (one seed: R2N2 alone takes about 8 CPU-minutes), the rule
# comparisons on two cognitive tasks (five rules, 5 seeds, the presets' 2000 updates), the
# T-maze cells split by trial type at the released size (R2N2 and a leaky BPTT rate RNN on
# the tmaze-released preset) and the gated path integrator (gridcells-lstm, LSTM_STEPS of
# its 2000 updates).
long_lane() {
    compare anbn-long-compare anbn-long --rules r2n2,bptt,fa,rflo,esn --seeds 1
    put "$OUT/anbn-long-compare/comparison.png" anbn-long-comparison
    if [ "${COGNITIVE:-1}" != 0 ]; then
        compare decision-compare decision --rules bptt,fa,rflo,esn,gru --seeds 5
        put "$OUT/decision-compare/comparison.png" decision-compare
        compare delayed-response-compare delayed-response --rules bptt,fa,rflo,esn,gru --seeds 5
        put "$OUT/delayed-response-compare/comparison.png" delayed-response-compare
    fi
    run tmaze-split-r2n2 tmaze-released
    run tmaze-split-bptt tmaze-released --set train.rule=bptt --set model.alpha=0.1 --set model.n_rec=128 \
        --set train.lr=0.001
    put "$OUT/tmaze-split-r2n2/split_place_cells.png" tmaze-split-place-cells
    put "$OUT/tmaze-split-bptt/split_place_cells.png" tmaze-split-place-cells-bptt
    [ "$GRID" != 0 ] || return 0
    run gridcells-lstm gridcells-lstm --set train.steps="$LSTM_STEPS" --set eval.every=$((LSTM_STEPS / 4))
    render gridcells-lstm-ratemaps ratemaps "$OUT/gridcells-lstm/ratemaps.npy" --max-units 32 --no-csv
}

# The grid cells that emerge (Sorscher et al. 2023): gridcells-rnn's full 1500 updates and
# --quick's 1000 (float32, about 5 and 2 CPU-minutes); then the Banino run.
rnn_runs() {
    run gridcells-rnn gridcells-rnn
    render gridcells-rnn-ratemaps ratemaps "$OUT/gridcells-rnn/ratemaps.npy" --max-units 32 --no-csv
    run gridcells-rnn-quick gridcells-rnn --quick
    render gridcells-rnn-quick-ratemaps ratemaps "$OUT/gridcells-rnn-quick/ratemaps.npy" --max-units 32 --no-csv
    put "$OUT/gridcells-rnn-quick/gridscores.png" gridcells-rnn-quick-scores
    put "$OUT/gridcells-rnn-quick/gridspacing.png" gridcells-rnn-quick-spacing
    put "$OUT/gridcells-rnn-quick/gridorientation.png" gridcells-rnn-quick-orientation
    # The Banino et al. (2018) recipe at a laptop budget (its schedule is 10^6 updates).
    run gridcells gridcells --set train.steps="$GRID_STEPS" --set eval.every=$((GRID_STEPS / 2))
    render gridcells-ratemaps ratemaps "$OUT/gridcells/ratemaps.npy" --max-units 32 --no-csv
    put "$OUT/gridcells/decode_error.png" gridcells-decode-error
    put "$OUT/gridcells/trajectory.png" gridcells-trajectory
}

t0=$(date +%s)
if [ "$JOBS" -ge 2 ]; then
    long_lane & gpid=$!
    trap 'kill "$gpid" 2>/dev/null' EXIT
    main_lane
    wait "$gpid"
    trap - EXIT
else
    main_lane
    long_lane
fi
names="mg-ridge mg-nlms narma10 mc-linear mc-tanh decision mante delayed-response gonogo flipflop
       tmaze-alternation tmaze-cued sweep-mc anbn-compare anbn-long-compare tmaze-split-r2n2 tmaze-split-bptt"
[ "${COGNITIVE:-1}" = 0 ] || names="$names decision-compare delayed-response-compare"
[ "$GRID" = 0 ] || names="$names gridcells gridcells-rnn gridcells-rnn-quick gridcells-lstm"
for n in $names; do cat "$OUT/$n.line"; done >"$RES"
echo "make figures: $(( ($(date +%s) - t0) / 60 )) min wall, $JOBS lanes" | tee -a "$RES"
echo "figures written to $(for f in $FORMATS; do printf '%s/ ' "$(dest "$f")"; done); summaries in $RES"
