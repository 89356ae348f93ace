#!/bin/sh
# The analyses of trained networks that the README shows: a bptt-trained AnBn network
# (seeds 1-3) through pca, lesion, tuning, fixedpoints and encode; the figures of seed 1
# copied to figures/ (and figures/svg/ ...: FIGURE_FORMAT, default png,svg, as in
# scripts/figures.sh, which runs this script), the JSON summaries to
# figures/analysis-results.txt. Then the grid-unit lesions of the quick gridcells-rnn run
# (256 units, 1000 updates: about 2 CPU-minutes of training and 4 of lesions) into
# figures/analysis-gridcells-lesion*.png.
#   sh scripts/analysis-figures.sh [BUILD]
set -e
BUILD=${1:-build}
RUN="nice -n 10 ${BUILD}/engram"
OUT=${OUT:-runs/analysis}
FMT=${FIGURE_FORMAT:-png,svg}
FORMATS=$(echo "$FMT" | tr ',' ' ')
dest() { if [ "$1" = png ]; then echo figures; else echo "figures/$1"; fi; }
FIRST=$(echo "$FORMATS" | cut -d' ' -f1)
RES=$(dest "$FIRST")/analysis-results.txt
for f in $FORMATS; do mkdir -p "$(dest "$f")"; done
mkdir -p "$OUT"
: >"$RES"
for s in 1 2 3; do
    R="$OUT/anbn-bptt-seed$s"
    $RUN run anbn --set train.rule=bptt --seed "$s" --out "$R" --force --quiet --threads 1 >>"$RES"
    for a in pca lesion tuning; do $RUN analyze "$R" "$a" --trials 100 --format "$FMT" >>"$RES"; done
    for i in -1 1 2 0; do $RUN analyze "$R" fixedpoints --input "$i" --starts 200 --format "$FMT" >>"$RES"; done
    $RUN analyze "$R" encode --synthetic --targets 20 --repeats 4 --noise 1 --format "$FMT" >>"$RES"
    $RUN analyze "$R" encode --synthetic --targets 20 --repeats 4 --noise 1 --average --trials 200 --format "$FMT" >>"$RES"
done
# put FILE.png NAME: FILE in every format to figures/NAME.png, figures/svg/NAME.svg, ...
put() { for f in $FORMATS; do cp "${1%.png}.$f" "$(dest "$f")/$2.$f"; done; }
R="$OUT/anbn-bptt-seed1/analysis"
put "$R/pca/trajectories.png" analysis-anbn-pca
put "$R/lesion/lesion.png" analysis-anbn-lesion
put "$R/fixedpoints/fixedpoints.png" analysis-anbn-fixedpoints   # the last one: input a (0)

G="$OUT/gridcells-rnn-quick"
$RUN run gridcells-rnn --quick --out "$G" --force --quiet --threads 1 >>"$RES"
$RUN analyze "$G" lesion --trials 500 --k 17 --format "$FMT" >>"$RES"
put "$G/analysis/lesion/lesion_groups.png" analysis-gridcells-lesion
put "$G/analysis/lesion/lesion.png" analysis-gridcells-lesion-units
echo "analysis figures written; summaries in $RES" >&2
