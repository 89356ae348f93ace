#!/bin/sh
# python/engram.py reads every file of a --quick run of each experiment (arrays, metrics,
# summary, configuration, tables, figures, checkpoint) and the table of a sweep, checked
# against what the program printed and wrote. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-py-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect
# Debian's python3 (with python3-numpy); PYTHON overrides.
PY=${PYTHON:-python3}
"$PY" -c 'import numpy' 2>/dev/null || PY=/usr/bin/python3
if ! "$PY" -c 'import numpy' 2>/dev/null; then
    bad "python3 with numpy is needed (apt-get install python3-numpy)"
    echo "$passed passed, $failed failed"; exit 1
fi

for x in $("$E" list experiments | grep -v ' preset of ' | cut -d' ' -f1); do
    extra=
    case $x in
        anbn) extra="--set run.checkpoint_every=50" ;;           # a checkpoint.bin to read
        gridcells) extra="--set train.steps=20 --set eval.every=10" ;; # a shorter --quick
    esac
    # shellcheck disable=SC2086
    if "$E" run "$x" --quick --quiet --threads 1 $extra --out "$T/$x" >"$T/$x.out" 2>"$T/$x.err"; then
        tail -n 1 "$T/$x.out" >"$T/$x.last"
    else
        bad "$x --quick failed: $(tail -n 2 "$T/$x.err")"; continue
    fi
    out=$(PYTHONPATH=python "$PY" - "$T/$x" "$T/$x.last" <<'PY' 2>&1
import json, os, sys
import numpy as np
import engram
d, last = sys.argv[1], sys.argv[2]
r = engram.load_run(d)
problems = []
seen = {"config.ini", "metrics.csv", "summary.json"}
seen |= {k + ".npy" for k in r.arrays} | {k + ".csv" for k in r.tables} | {k + ".png" for k in r.figures}
if r.checkpoint is not None:
    seen.add("checkpoint.bin")
files = {os.path.relpath(os.path.join(a, f), d) for a, _, fs in os.walk(d) for f in fs if f != ".lock"}
if files != seen or r.other:
    problems.append(f"not read: {sorted(files - seen)} {r.other}")
if r.summary != json.load(open(last)):
    problems.append("summary differs from the last stdout line")
if r.config["run"]["experiment"] != r.summary["experiment"] or r.config["run"]["seed"] != r.summary["seed"]:
    problems.append("config and summary disagree on experiment or seed")
header = open(os.path.join(d, "metrics.csv")).readline().strip().split(",")
rows = sum(1 for _ in open(os.path.join(d, "metrics.csv"))) - 1
if list(r.metrics) != header or any(len(c) != rows for c in r.metrics.values()) or header[-1] != "wall_s":
    problems.append(f"metrics columns {list(r.metrics)} vs {header}, {rows} rows")
for name, a in r.arrays.items():
    if a.dtype != np.float64 or a.size == 0:
        problems.append(f"{name}: dtype {a.dtype}, size {a.size}")
for name, (path, (w, h)) in r.figures.items():
    if w < 16 or h < 16:
        problems.append(f"{name}.png is {w}x{h}")
if r.checkpoint is not None and r.checkpoint["experiment"] != r.summary["experiment"]:
    problems.append(f"checkpoint of {r.checkpoint['experiment']}")
if r.summary["experiment"] == "memory-capacity":
    # MC is the sum over delays of r^2 (Jaeger 2001); mc_r2.npy holds the terms.
    mc = float(np.sum(r["mc_r2"]))
    if abs(mc - r.summary["memory_capacity"]) > 1e-6 * max(1.0, mc):
        problems.append(f"sum(mc_r2) = {mc} != memory_capacity {r.summary['memory_capacity']}")
print("; ".join(problems) if problems else
      f"{len(r.arrays)} arrays, {len(r.metrics)} metric columns x {rows} rows, {len(r.tables)} tables, "
      f"{len(r.figures)} figures{', checkpoint at step %d' % r.checkpoint['step'] if r.checkpoint else ''}")
sys.exit(1 if problems else 0)
PY
)
    [ $? -eq 0 ] && ok "load_run($x --quick): $out" || bad "load_run($x): $out"
done

# A sweep's table, before and after engram collect.
cp experiments/memory-capacity.ini "$T/mc.ini"
printf '\n[sweep]\nreservoir.n = 10, 20\nseeds = 1,3\nquick = true\n' >>"$T/mc.ini"
"$E" sweep "$T/mc.ini" --out "$T/sw" --quiet >/dev/null 2>&1 || bad "sweep for load_sweep failed"
PYTHONPATH=python "$PY" -c '
import sys, engram
t = engram.load_sweep(sys.argv[1])
print(",".join(t["dir"]), ",".join("%.6f" % v for v in t["memory_capacity"]))' "$T/sw" >"$T/before" 2>&1
"$E" collect "$T/sw" >/dev/null 2>&1
PYTHONPATH=python "$PY" -c '
import sys, json, engram
t = engram.load_sweep(sys.argv[1])
print(",".join(t["dir"]), ",".join("%.6f" % v for v in t["memory_capacity"]))
want = [json.load(open(sys.argv[1] + "/" + d + "/summary.json"))["memory_capacity"] for d in t["dir"]]
assert list(t["reservoir.n"]) == [10, 10, 20, 20] and list(t["seed"]) == [1, 3, 1, 3], t
assert list(t["memory_capacity"]) == want' "$T/sw" >"$T/after" 2>&1; rc=$?
[ $rc -eq 0 ] && ok "load_sweep: collect.csv has every point's keys, seed and memory_capacity" || bad "load_sweep: $(tail -n 2 "$T/after")"
cmp -s "$T/before" "$T/after" && ok "load_sweep without collect.csv gives the same table ($(cut -c1-60 "$T/after"))" \
    || bad "load_sweep before/after collect: $(cat "$T/before") vs $(cat "$T/after")"

rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
