#!/bin/sh
# The analyses of trained networks that the README shows: a bptt-trained AnBn network
# (seeds 1-3) through pca, lesion, fixedpoints and encode; figures of seed 1 copied to
# figures/, the JSON summaries to figures/analysis-results.txt. Then the grid-unit
# lesions of the quick gridcells-rnn run (256 units, 1000 updates: about 6 CPU-minutes
# of training and 4 of lesions) into figures/analysis-gridcells-lesion*.png.
#   sh scripts/analysis-figures.sh [BUILD]
set -e
BUILD=${1:-build}
E="$BUILD/engram"
OUT=${OUT:-runs/analysis}
RES=figures/analysis-results.txt
mkdir -p "$OUT" figures
: >"$RES"
for s in 1 2 3; do
    R="$OUT/anbn-bptt-seed$s"
    "$E" run anbn --set train.rule=bptt --seed "$s" --out "$R" --force --quiet --threads 1 >>"$RES"
    for a in pca lesion tuning; do "$E" analyze "$R" "$a" --trials 100 >>"$RES"; done
    for i in -1 0 1 2; do "$E" analyze "$R" fixedpoints --input "$i" --starts 200 >>"$RES"; done
    "$E" analyze "$R" fixedpoints --input 0 --starts 200 >/dev/null
    "$E" analyze "$R" encode --synthetic --targets 20 --repeats 4 --noise 1 >>"$RES"
    "$E" analyze "$R" encode --synthetic --targets 20 --repeats 4 --noise 1 --average --trials 200 >>"$RES"
done
R="$OUT/anbn-bptt-seed1"
"$E" analyze "$R" fixedpoints --input 0 --starts 200 >/dev/null
cp "$R/analysis/pca/trajectories.png" figures/analysis-anbn-pca.png
cp "$R/analysis/lesion/lesion.png" figures/analysis-anbn-lesion.png
cp "$R/analysis/fixedpoints/fixedpoints.png" figures/analysis-anbn-fixedpoints.png
cp "$R/analysis/encode/encode.png" figures/analysis-anbn-encode.png

G="$OUT/gridcells-rnn-quick"
"$E" run gridcells-rnn --quick --out "$G" --force --quiet --threads 1 >>"$RES"
"$E" analyze "$G" lesion --trials 500 --k 17 >>"$RES"
cp "$G/analysis/lesion/lesion_groups.png" figures/analysis-gridcells-lesion.png
cp "$G/analysis/lesion/lesion.png" figures/analysis-gridcells-lesion-units.png
echo "figures written to figures/analysis-*.png; summaries in $RES"
