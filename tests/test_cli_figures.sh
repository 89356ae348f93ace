#!/bin/sh
# Command-line tests of figure output: `engram render --out` writes PNG, SVG or PDF by
# the extension; run.figure_format makes a run write its figures as SVG; a bad format is
# refused with one line. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cli-fig-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

# The memory-capacity quick run writes a 1-D array to render as a curve.
"$E" run memory-capacity --quick --quiet --force --out "$T/mc" >/dev/null 2>"$T/err"
[ -s "$T/mc/mc_r2.npy" ] && ok "quick run wrote mc_r2.npy" || bad "quick run: $(head -c 300 "$T/err")"
for ext in png svg pdf; do
    "$E" render curve "$T/mc/mc_r2.npy" --out "$T/curve.$ext" 2>"$T/err"; rc=$?
    case $ext in
        png) head -c 8 "$T/curve.png" | od -An -c | grep -q 'P   N   G' ; good=$? ;;
        svg) grep -q '<svg' "$T/curve.svg" && tail -c 20 "$T/curve.svg" | grep -q '</svg>'; good=$? ;;
        pdf) head -c 5 "$T/curve.pdf" | grep -q '%PDF-' && tail -c 8 "$T/curve.pdf" | grep -q '%%EOF'; good=$? ;;
    esac
    [ $rc -eq 0 ] && [ $good -eq 0 ] && ok "render curve --out curve.$ext: well-formed $ext" \
        || bad "render curve --out curve.$ext: exit $rc $(head -c 300 "$T/err")"
done
"$E" run mackey-glass --quick --quiet --force --set run.figure_format=svg --out "$T/mg" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && [ -s "$T/mg/prediction.svg" ] && [ ! -e "$T/mg/prediction.png" ] \
    && ok "run.figure_format=svg: prediction.svg, no PNG" || bad "run.figure_format=svg: exit $rc $(ls "$T/mg")"
"$E" run mackey-glass --quick --quiet --force --set run.figure_format=gif --out "$T/mg2" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && ok "run.figure_format=gif refused (exit 2: $(cat "$T/err"))" \
    || bad "run.figure_format=gif: exit $rc, $(head -c 300 "$T/err")"
"$E" render curve "$T/mc/mc_r2.npy" --out /nonexistent_dir_engram/x.svg 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && ok "unwritable SVG: exit 1, one line" || bad "unwritable SVG: exit $rc"
rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
