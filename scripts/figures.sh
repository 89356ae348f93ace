#!/bin/sh
# Regenerates the figures the README shows (figures/*.png) from the acceptance-size runs,
# and figures/results.txt with every run's summary line. Runs go to $FIGURE_RUNS
# (default runs/figures). The grid-cell run trains GRID_STEPS updates (default 20000,
# about 30-60 minutes on 2 cores; GRID=0 skips the grid-cell runs); everything else takes
# about 15 minutes.
set -e
BUILD=${1:-build}
E="$BUILD/engram"
OUT=${FIGURE_RUNS:-runs/figures}
GRID_STEPS=${GRID_STEPS:-20000}
mkdir -p figures "$OUT"
RES=figures/results.txt
: >"$RES"
run() {
    name=$1; shift
    echo "== engram run $* --out $OUT/$name" >&2
    line=$("$E" run "$@" --quiet --force --out "$OUT/$name" | tail -n 1)
    echo "$name: $line" | tee -a "$RES"
}
run mg-ridge mackey-glass
run mg-nlms mackey-glass --set readout.kind=nlms
run narma10 narma10
run mc-linear memory-capacity
run mc-tanh memory-capacity --set reservoir.activation=tanh --set reservoir.n=100
echo "== engram compare anbn --rules r2n2,bptt,fa,rflo,esn --seeds 5" >&2
"$E" compare anbn --rules r2n2,bptt,fa,rflo,esn --seeds 5 --quiet --force --out "$OUT/anbn-compare" >"$OUT/anbn-compare.txt"
sed 's/^/anbn-compare: /' "$OUT/anbn-compare.txt" >>"$RES"
echo "== engram compare anbn-long --rules r2n2,bptt,fa,rflo,esn --seeds 3" >&2
"$E" compare anbn-long --rules r2n2,bptt,fa,rflo,esn --seeds 3 --quiet --force --out "$OUT/anbn-long-compare" >"$OUT/anbn-long-compare.txt"
sed 's/^/anbn-long-compare: /' "$OUT/anbn-long-compare.txt" >>"$RES"
run tmaze-alternation tmaze
run tmaze-cued tmaze --set task.variant=cued
if [ "${GRID:-1}" != 0 ]; then
    run gridcells gridcells --set train.steps="$GRID_STEPS" --set run.checkpoint_every=2000
    run gridcells-nodropout gridcells --set train.steps="$GRID_STEPS" --set run.checkpoint_every=2000 --set model.dropout=0
    run gridcells-adam gridcells --set train.steps=$((GRID_STEPS / 2)) --set run.checkpoint_every=2000 \
        --set train.optimizer=adam --set train.lr=1e-3 --set train.clip_value=0
fi

cp "$OUT/mg-nlms/learning_curve.png" figures/mackey-glass-nlms-learning-curve.png
cp "$OUT/mg-ridge/prediction.png" figures/mackey-glass-ridge-prediction.png
cp "$OUT/mc-linear/mc_curve.png" figures/memory-capacity-linear.png
cp "$OUT/anbn-compare/comparison.png" figures/anbn-comparison.png
cp "$OUT/anbn-long-compare/comparison.png" figures/anbn-long-comparison.png
cp "$OUT/tmaze-alternation/place_cells.png" figures/tmaze-place-cells.png
cp "$OUT/tmaze-alternation/ratemaps.png" figures/tmaze-ratemaps.png
cp "$OUT/tmaze-alternation/cache_replay_reverse.png" figures/tmaze-cache-reverse-replay.png
cp "$OUT/tmaze-alternation/cache_replay_forward.png" figures/tmaze-cache-forward-replay.png
cp "$OUT/tmaze-alternation/replays.png" figures/tmaze-replays-per-epoch.png
if [ "${GRID:-1}" != 0 ]; then
    "$E" render ratemaps "$OUT/gridcells/ratemaps.npy" --max-units 32 --no-csv --out figures/gridcells-ratemaps.png
    "$E" render ratemaps "$OUT/gridcells-nodropout/ratemaps.npy" --max-units 32 --no-csv --out figures/gridcells-ratemaps-nodropout.png
    "$E" render ratemaps "$OUT/gridcells-adam/ratemaps.npy" --max-units 32 --no-csv --out figures/gridcells-ratemaps-adam.png
    cp "$OUT/gridcells/decode_error.png" figures/gridcells-decode-error.png
    cp "$OUT/gridcells-adam/trajectory.png" figures/gridcells-trajectory-adam.png
fi
echo "figures written to figures/; summaries in $RES"
