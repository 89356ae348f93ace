#!/bin/sh
# Command-line tests of figure format lists: run.figure_format = png,svg makes one run
# write every figure as PNG and SVG (the PNG byte-identical to a png-only run's), render,
# collect, analyze and compare take the same list, and a bad list (unknown format, a
# repeat, an empty item) is refused with one line. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cli-figfmt-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

is_png() { head -c 8 "$1" 2>/dev/null | od -An -c | grep -q 'P   N   G'; }
is_svg() { grep -q '<svg' "$1" 2>/dev/null && tail -c 20 "$1" | grep -q '</svg>'; }
is_pdf() { head -c 5 "$1" 2>/dev/null | grep -q '%PDF-'; }

"$E" run mackey-glass --quick --quiet --force --out "$T/p" >/dev/null 2>"$T/err"
"$E" run mackey-glass --quick --quiet --force --set run.figure_format=png,svg --out "$T/ps" >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && is_png "$T/ps/prediction.png" && is_svg "$T/ps/prediction.svg"; then
    ok "run.figure_format=png,svg: prediction.png and prediction.svg from one run"
else bad "run.figure_format=png,svg: exit $rc, $(ls "$T/ps" | tr '\n' ' ') $(head -c 200 "$T/err")"; fi
cmp -s "$T/p/prediction.png" "$T/ps/prediction.png" && ok "the PNG of png,svg equals a png-only run's, byte for byte" \
    || bad "png,svg PNG differs from the png-only PNG"
grep -q '^figure_format = png,svg' "$T/ps/config.ini" && ok "config.ini records figure_format = png,svg" \
    || bad "config.ini: $(grep figure_format "$T/ps/config.ini")"
"$E" run mackey-glass --quick --quiet --force --set run.figure_format=svg,pdf,png --out "$T/a" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && is_svg "$T/a/prediction.svg" && is_pdf "$T/a/prediction.pdf" && is_png "$T/a/prediction.png" \
    && ok "svg,pdf,png: all three formats" || bad "svg,pdf,png: exit $rc $(ls "$T/a" | tr '\n' ' ')"
"$E" run gonogo --quick --quiet --force --set run.figure_format=png,svg --out "$T/g" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && is_png "$T/g/go_output.png" && is_svg "$T/g/go_output.svg" && is_svg "$T/g/trial.svg" \
    && ok "a cognitive task writes its figures in both formats" || bad "gonogo png,svg: exit $rc $(ls "$T/g" | tr '\n' ' ')"

for v in 'png,gif' 'svg,svg' 'png,' ',svg' '' 'PNG' 'png;svg'; do
    expect 2 "run.figure_format='$v' refused" -- "$E" run mackey-glass --quick --quiet --force \
        --set "run.figure_format=$v" --out "$T/bad"
done

"$E" render curve "$T/p/metrics.csv" --format png,svg --out "$T/curve.png" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && is_png "$T/curve.png" && is_svg "$T/curve.svg" && ok "render --format png,svg writes curve.png and curve.svg" \
    || bad "render --format png,svg: exit $rc $(head -c 200 "$T/err")"
expect 2 "render --format png,jpg refused" -- "$E" render curve "$T/p/metrics.csv" --format png,jpg --out "$T/c2.png"
expect 2 "render --format without a value refused" -- "$E" render curve "$T/p/metrics.csv" --out "$T/c3.png" --format

"$E" run anbn --quick --quiet --force --set train.rule=bptt --out "$T/an" >/dev/null 2>"$T/err"
"$E" analyze "$T/an" lesion --trials 20 --format png,svg >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && is_png "$T/an/analysis/lesion/lesion.png" && is_svg "$T/an/analysis/lesion/lesion.svg" \
    && ok "analyze --format png,svg: lesion.png and lesion.svg" || bad "analyze --format: exit $rc $(head -c 200 "$T/err")"
expect 2 "analyze --format tiff refused" -- "$E" analyze "$T/an" lesion --trials 20 --format tiff

"$E" compare anbn --quick --quiet --force --rules bptt,esn --seeds 1 --set run.figure_format=png,svg \
    --out "$T/cmp" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && is_png "$T/cmp/comparison.png" && is_svg "$T/cmp/comparison.svg" \
    && ok "compare with run.figure_format=png,svg: comparison.png and comparison.svg" \
    || bad "compare png,svg: exit $rc $(ls "$T/cmp" | tr '\n' ' ') $(head -c 200 "$T/err")"

cat >"$T/sw.ini" <<INI
[run]
experiment = memory-capacity
[sweep]
reservoir.spectral_radius = 0.5, 0.9
seeds = 1
INI
"$E" sweep "$T/sw.ini" --quick --local --jobs 1 --threads 1 --out "$T/sw" >/dev/null 2>"$T/err"
"$E" collect "$T/sw" --format png,svg >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && is_png "$T/sw/collect.png" && is_svg "$T/sw/collect.svg" && ok "collect --format png,svg" \
    || bad "collect --format: exit $rc $(head -c 200 "$T/err")"
expect 2 "collect --format png,png refused" -- "$E" collect "$T/sw" --format png,png

rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
