# Shared by the tests/test_cli*.sh scripts (sourced after they set E, the engram binary, T,
# a temporary directory, and passed=0 failed=0): one line per check, counted.
ok()   { passed=$((passed + 1)); echo "ok   $*"; }
bad()  { failed=$((failed + 1)); echo "FAIL $*"; }

# expect CODE DESCRIPTION -- COMMAND...: exit code CODE and exactly one stderr line.
expect() {
    code=$1; desc=$2; shift 3
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    lines=$(wc -l <"$T/err")
    if [ "$rc" -eq "$code" ] && [ "$lines" -eq 1 ]; then ok "$desc (exit $rc: $(cat "$T/err"))"
    else bad "$desc: exit $rc (want $code), $lines stderr lines: $(head -c 400 "$T/err")"; fi
}
