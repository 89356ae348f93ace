#!/bin/sh
# Runs the named test programs from $BUILD/tests, then every tests/test_cli*.sh, and
# closes with one "N passed, N failed" line over everything. Exit status 1 on any failure.
BUILD=${BUILD:-build}
passed=0; failed=0; broken=""
for t in "$@"; do
    out=$("$BUILD/tests/$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(FAIL|# )' | grep -v '^# ' || true
    line=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        echo "$t: crashed or printed no count (exit $rc); last lines:"
        printf '%s\n' "$out" | tail -n 15
        failed=$((failed + 1)); broken="$broken $t"; continue
    fi
    echo "$t: $p passed, $f failed"
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); broken="$broken $t"; fi
done
if [ "$BUILD" = build-asan ]; then
    echo "tests/test_cli*.sh: run by make test, not under the sanitizers"
else
    for script in tests/test_cli*.sh; do
        name=$(basename "$script")
        out=$(BUILD=$BUILD sh "$script" 2>&1)
        printf '%s\n' "$out" | grep '^FAIL' || true
        line=$(printf '%s\n' "$out" | tail -n 1)
        p=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
        f=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
        if [ -z "$p" ]; then echo "$name printed no count"; failed=$((failed + 1)); broken="$broken $name";
        else echo "$name: $p passed, $f failed"; passed=$((passed + p)); failed=$((failed + f)); fi
    done
fi
[ -n "$broken" ] && echo "broken:$broken"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
