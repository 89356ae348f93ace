#!/bin/sh
# Command-line tests of large reservoirs: the radius solver keys, the reported memory, the
# readout subset, and a ridge readout too large for the machine refused with one line.
# Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-cli-res-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect

key() { sed -n "s/.*\"$2\": \([^,}]*\).*/\1/p" "$1/summary.json"; }

expect 2 "unknown radius method" -- "$E" run mackey-glass --quick --set reservoir.radius_method=power --out "$T/a"
expect 1 "ridge readout over 60,000 units refused before building" -- "$E" run mackey-glass --quick --quiet \
    --set reservoir.n=60000 --out "$T/b"
grep -q "readout.units" "$T/err" && ok "the refusal names readout.units" || bad "refusal message: $(cat "$T/err")"

"$E" run mackey-glass --quick --quiet --set reservoir.n=600 --out "$T/c" >/dev/null 2>&1; rc=$?
m=$(key "$T/c" radius_method); b=$(key "$T/c" reservoir_bytes)
[ $rc -eq 0 ] && [ "$m" = '"arpack"' ] && [ "$b" -gt 100000 ] && ok "N = 600 uses ARPACK by default, reports reservoir_bytes $b" \
    || bad "N = 600: exit $rc, radius_method $m, reservoir_bytes $b"
"$E" run mackey-glass --quick --quiet --set reservoir.n=600 --set reservoir.radius_method=dense --out "$T/d" >/dev/null 2>&1
ra=$(key "$T/c" radius_raw); rd=$(key "$T/d" radius_raw)
[ -n "$ra" ] && [ "$ra" = "$rd" ] && ok "ARPACK and dense radius agree in the summary ($ra)" || bad "radius arpack $ra vs dense $rd"
"$E" run mackey-glass --quick --quiet --set reservoir.n=600 --threads 1 --out "$T/e" >/dev/null 2>&1
cmp -s "$T/c/predictions.npy" "$T/e/predictions.npy" && ok "ARPACK run: 2 and 1 threads give identical predictions" \
    || bad "ARPACK run differs with the thread count"
"$E" run mackey-glass --quick --quiet --set reservoir.n=300 --set readout.units=50 --out "$T/f" >/dev/null 2>&1; rc=$?
u=$(key "$T/f" readout_units); nr=$(key "$T/f" nrmse_test)
[ $rc -eq 0 ] && [ "$u" = 50 ] && awk "BEGIN{exit !($nr < 0.05)}" && ok "readout over 50 of 300 units: NRMSE $nr" \
    || bad "readout.units: exit $rc, units $u, NRMSE $nr"

rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
