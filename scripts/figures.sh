#!/bin/sh
# Regenerates the figures the README shows (figures/*.png) from the acceptance-size runs,
# and figures/results.txt with every run's summary line. Runs go to $FIGURE_RUNS
# (default runs/figures). The grid-cell run trains GRID_STEPS updates (default 20000,
# about 30-60 minutes on 2 cores; GRID=0 skips the grid-cell runs); everything else takes
# about 15 minutes. FIGURE_FORMAT=svg (or pdf) writes the same figures as vector files
# into figures/svg/ (figures/pdf/) instead (`make figures FIGURE_FORMAT=svg`); the
# comparison plots of `engram compare` are PNG only.
set -e
BUILD=${1:-build}
E="$BUILD/engram"
OUT=${FIGURE_RUNS:-runs/figures}
GRID_STEPS=${GRID_STEPS:-20000}
FMT=${FIGURE_FORMAT:-png}
case "$FMT" in png) DEST=figures ;; svg|pdf) DEST=figures/$FMT; OUT=$OUT-$FMT ;;
    *) echo "figures.sh: FIGURE_FORMAT must be png, svg or pdf" >&2; exit 2 ;; esac
mkdir -p figures "$DEST" "$OUT"
RES=$DEST/results.txt
: >"$RES"
run() {
    name=$1; shift
    echo "== engram run $* --out $OUT/$name" >&2
    line=$("$E" run "$@" --set run.figure_format="$FMT" --quiet --force --out "$OUT/$name" | tail -n 1)
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

cp "$OUT/mg-nlms/learning_curve.$FMT" "$DEST/mackey-glass-nlms-learning-curve.$FMT"
cp "$OUT/mg-ridge/prediction.$FMT" "$DEST/mackey-glass-ridge-prediction.$FMT"
cp "$OUT/mc-linear/mc_curve.$FMT" "$DEST/memory-capacity-linear.$FMT"
cp "$OUT/anbn-compare/comparison.png" "$DEST/anbn-comparison.png"
cp "$OUT/anbn-long-compare/comparison.png" "$DEST/anbn-long-comparison.png"
cp "$OUT/tmaze-alternation/place_cells.$FMT" "$DEST/tmaze-place-cells.$FMT"
cp "$OUT/tmaze-alternation/ratemaps.$FMT" "$DEST/tmaze-ratemaps.$FMT"
cp "$OUT/tmaze-alternation/cache_replay_reverse.$FMT" "$DEST/tmaze-cache-reverse-replay.$FMT"
cp "$OUT/tmaze-alternation/cache_replay_forward.$FMT" "$DEST/tmaze-cache-forward-replay.$FMT"
cp "$OUT/tmaze-alternation/replays.$FMT" "$DEST/tmaze-replays-per-epoch.$FMT"
if [ "${GRID:-1}" != 0 ]; then
    "$E" render ratemaps "$OUT/gridcells/ratemaps.npy" --max-units 32 --no-csv --out "$DEST/gridcells-ratemaps.$FMT"
    "$E" render ratemaps "$OUT/gridcells-nodropout/ratemaps.npy" --max-units 32 --no-csv --out "$DEST/gridcells-ratemaps-nodropout.$FMT"
    "$E" render ratemaps "$OUT/gridcells-adam/ratemaps.npy" --max-units 32 --no-csv --out "$DEST/gridcells-ratemaps-adam.$FMT"
    cp "$OUT/gridcells/decode_error.$FMT" "$DEST/gridcells-decode-error.$FMT"
    cp "$OUT/gridcells-adam/trajectory.$FMT" "$DEST/gridcells-trajectory-adam.$FMT"
fi
echo "figures written to $DEST/; summaries in $RES"

# ---- rule comparisons on the cognitive tasks (README, Comparing rules) ----
# Self-contained: five rules, 5 seeds, the presets' budgets (2000 updates), one run per
# process on one thread; about 15 minutes per task on 2 shared cores. COGNITIVE=0 skips it.
if [ "${COGNITIVE:-1}" != 0 ]; then
    for task in decision delayed-response; do
        echo "== engram compare $task --rules bptt,fa,rflo,esn,gru --seeds 5 --threads 1" >&2
        nice -n 10 "$E" compare "$task" --rules bptt,fa,rflo,esn,gru --seeds 5 --threads 1 --quiet --force \
            --out "$OUT/$task-compare" >"$OUT/$task-compare.txt"
        sed "s/^/$task-compare: /" "$OUT/$task-compare.txt" >>"$RES"
        cp "$OUT/$task-compare/comparison.png" "figures/$task-compare.png"
    done
    echo "comparison figures written to figures/decision-compare.png, figures/delayed-response-compare.png"
fi

# T-maze track cells split by trial type at the released size: R2N2 (the tmaze-released
# preset) and a leaky BPTT rate RNN on the same preset, side by side (self-contained block).
E=${E:-build/engram}
SPLIT_OUT=${FIGURE_RUNS:-runs/figures}/tmaze-split
SPLIT_FMT=${FIGURE_FORMAT:-png}
case "$SPLIT_FMT" in png) SPLIT_DEST=figures ;; *) SPLIT_DEST=figures/$SPLIT_FMT ;; esac
mkdir -p "$SPLIT_OUT" "$SPLIT_DEST"
for rule in r2n2 bptt; do
    set -- --set run.figure_format="$SPLIT_FMT" --quiet --force --threads 1 --out "$SPLIT_OUT/$rule"
    [ "$rule" = bptt ] && set -- "$@" --set train.rule=bptt --set model.alpha=0.1 --set model.n_rec=128 --set train.lr=0.001
    echo "== engram run tmaze-released $*" >&2
    "$E" run tmaze-released "$@" | tail -n 1 | sed "s/^/tmaze-split-$rule: /" | tee -a "${SPLIT_DEST}/results.txt"
done
cp "$SPLIT_OUT/r2n2/split_place_cells.$SPLIT_FMT" "$SPLIT_DEST/tmaze-split-place-cells.$SPLIT_FMT"
cp "$SPLIT_OUT/bptt/split_place_cells.$SPLIT_FMT" "$SPLIT_DEST/tmaze-split-place-cells-bptt.$SPLIT_FMT"
