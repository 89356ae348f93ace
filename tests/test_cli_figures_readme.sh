#!/bin/sh
# Every image the README shows is written by `make figures`: for each README image
# figures/NAME.png, scripts/figures.sh (or scripts/analysis-figures.sh, which it runs)
# has a `put FILE NAME` or `render NAME ...` line, figures/NAME.png and the vector copy
# figures/svg/NAME.svg are in the tree, and figures/ holds no PNG that the README does
# not show. A grep, no run. Ends with "N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
T=$(mktemp -d /tmp/engram-cli-figreadme-XXXXXX)
passed=0; failed=0
. tests/cli_lib.sh # ok, bad

grep -o '](figures/[^)]*)' README.md | sed 's/^](figures\///; s/)$//' | sort -u >"$T/shown"
[ -s "$T/shown" ] && ok "README shows $(wc -l <"$T/shown") figures" || bad "no figures/ image in README.md"
grep -v '\.png$' "$T/shown" >"$T/notpng"
[ -s "$T/notpng" ] && bad "README images not PNG: $(tr '\n' ' ' <"$T/notpng")" || ok "every README image is a PNG"
sed -n 's/^ *put [^ ]* \([A-Za-z0-9_.-]*\).*/\1/p; s/^ *render \([A-Za-z0-9_.-]*\) .*/\1/p' \
    scripts/figures.sh scripts/analysis-figures.sh | sort -u >"$T/written"
missing=""; nosvg=""; absent=""
while read -r f; do
    n=${f%.png}
    grep -qx "$n" "$T/written" || missing="$missing $n"
    [ -s "figures/$f" ] || absent="$absent $f"
    [ -s "figures/svg/$n.svg" ] || nosvg="$nosvg $n.svg"
done <"$T/shown"
[ -z "$missing" ] && ok "every README image is written by scripts/figures.sh" \
    || bad "README images that scripts/figures.sh does not write:$missing"
[ -z "$absent" ] && ok "every README image is in figures/" || bad "README images missing from figures/:$absent"
[ -z "$nosvg" ] && ok "every README image has its SVG in figures/svg/" || bad "no SVG in figures/svg/ for:$nosvg"
stale=""
for p in figures/*.png; do
    [ -e "$p" ] || continue
    grep -qx "$(basename "$p")" "$T/shown" || stale="$stale $(basename "$p")"
done
[ -z "$stale" ] && ok "figures/ holds only images the README shows" || bad "figures/ PNGs the README does not show:$stale"
extra=""
while read -r n; do grep -qx "$n.png" "$T/shown" || extra="$extra $n"; done <"$T/written"
[ -z "$extra" ] && ok "scripts/figures.sh writes no figure the README does not show" \
    || bad "written by scripts/figures.sh but not in the README:$extra"
rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
