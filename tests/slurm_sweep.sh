#!/bin/sh
# Sweeps through every backend give the same bytes: a 12-point sweep (3 spectral radii x
# 4 seeds of memory-capacity --quick) run with --local, interrupted and re-run, through
# `--print-tasks | parallel`, and with --slurm on a real single-node Slurm cluster started
# on localhost (scripts/slurm-local.sh); then a Slurm job cancelled mid-run resumes its
# points from their checkpoints on resubmission. Compares every .npy and metrics.csv
# without its wall_s column. Needs slurm-wlm, munge and parallel (install-deps.sh --slurm).
# Ends with "N passed, N failed"; exit 1 on any mismatch.
BUILD=${BUILD:-build}
E="$(pwd)/$BUILD/engram"
T=$(mktemp -d /tmp/engram-slurm-XXXXXX)
C="$T/cluster"
passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   $*"; }
bad()  { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
    sh scripts/slurm-local.sh stop "$C" || true
    rm -rf "$T"
}
trap finish EXIT
trap 'exit 1' INT TERM

# same A B: every point of sweep A has the same .npy files and metrics (minus wall_s) in B.
same() {
    n=0; diff=0
    for d in "$1"/*seed*; do
        p=$(basename "$d")
        [ -s "$2/$p/summary.json" ] || { diff=$((diff + 1)); echo "  $p: missing in $2"; continue; }
        for a in "$d"/*.npy; do
            n=$((n + 1))
            cmp -s "$a" "$2/$p/$(basename "$a")" || { diff=$((diff + 1)); echo "  $p/$(basename "$a") differs"; }
        done
        sed 's/,[^,]*$//' "$d/metrics.csv" >"$T/m1"; sed 's/,[^,]*$//' "$2/$p/metrics.csv" >"$T/m2"
        n=$((n + 1))
        cmp -s "$T/m1" "$T/m2" || { diff=$((diff + 1)); echo "  $p/metrics.csv differs"; }
    done
    echo "$n files compared, $diff differ"
    [ "$diff" -eq 0 ] && [ "$n" -gt 0 ]
}

cp experiments/memory-capacity.ini "$T/mc.ini"
printf '\n[sweep]\nreservoir.spectral_radius = 0.5, 0.8, 0.95\nseeds = 1-4\nquick = true\n' >>"$T/mc.ini"

# 1. --local, the reference.
"$E" sweep "$T/mc.ini" --out "$T/local" --jobs 2 --quiet >"$T/out" 2>&1 \
    && [ "$(grep -c ',ok$' "$T/local/manifest.csv")" -eq 12 ] \
    && ok "--local: 12 points ok" || bad "--local sweep: $(tail -n 3 "$T/out")"

# 2. Interrupted after some points, then re-run: only the missing points run.
"$E" sweep "$T/mc.ini" --out "$T/cut" --jobs 1 >"$T/cut.out" 2>&1 &
pid=$!
i=0
while [ "$(ls "$T"/cut/*/summary.json 2>/dev/null | wc -l)" -lt 5 ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done
kill -TERM $pid; wait $pid; rc=$?
done_before=$(ls "$T"/cut/*/summary.json 2>/dev/null | wc -l)
touch "$T/marker"
[ "$rc" -ne 0 ] && [ "$done_before" -ge 5 ] && [ "$done_before" -lt 12 ] \
    && ok "interrupted local sweep: exit $rc with $done_before of 12 points done" \
    || bad "interrupt: exit $rc, $done_before points done ($(tail -n 1 "$T/cut.out"))"
"$E" sweep "$T/mc.ini" --out "$T/cut" --jobs 2 >"$T/cut2.out" 2>&1; rc=$?
want=$((12 - done_before))
grep -q "12 points, $want to run" "$T/cut2.out" && [ $rc -eq 0 ] \
    && ok "re-run runs only the $want missing points" || bad "re-run: exit $rc, $(head -n 1 "$T/cut2.out") (want $want to run)"
rerun=$(find "$T/cut" -name summary.json -newer "$T/marker" | wc -l)
[ "$rerun" -eq "$want" ] && ok "re-run rewrote $rerun summaries, left the $done_before finished points alone" \
    || bad "re-run rewrote $rerun summaries (want $want)"
same "$T/local" "$T/cut" && ok "interrupted + re-run sweep: same bytes as --local" || bad "interrupted sweep differs from --local"

# 3. --print-tasks | parallel.
"$E" sweep "$T/mc.ini" --out "$T/par" --print-tasks >"$T/tasks" 2>"$T/err"
[ "$(wc -l <"$T/tasks")" -eq 12 ] && ok "--print-tasks: 12 command lines" || bad "--print-tasks: $(wc -l <"$T/tasks") lines $(cat "$T/err")"
parallel -j 2 --joblog "$T/joblog" <"$T/tasks" >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && ok "parallel ran the 12 tasks" || bad "parallel exit $rc"
same "$T/local" "$T/par" && ok "--print-tasks | parallel: same bytes as --local" || bad "parallel sweep differs from --local"

# 4. --slurm on a single-node cluster on localhost.
if ! sh scripts/slurm-local.sh start "$C"; then
    bad "could not start the local Slurm cluster"
    echo "$passed passed, $failed failed"; exit 1
fi
export SLURM_CONF="$C/slurm.conf"
t0=$(date +%s)
timeout 240 "$E" sweep "$T/mc.ini" --out "$T/slurm" --slurm --wait --max-running 4 >"$T/slurm.out" 2>&1; rc=$?
[ $rc -eq 0 ] && ok "--slurm --wait: 12 points in $(( $(date +%s) - t0 )) s" || bad "--slurm: exit $rc, $(tail -n 3 "$T/slurm.out")"
same "$T/local" "$T/slurm" && ok "--slurm: same bytes as --local" || bad "Slurm sweep differs from --local"
grep -q '"threads": 1' "$T/slurm/0.5-seed1/summary.json" && ok "Slurm tasks ran on their --cpus-per-task (1 thread)" \
    || bad "Slurm task threads: $(cat "$T/slurm/0.5-seed1/summary.json")"

# 5. A Slurm job cancelled mid-run; the resubmission resumes from the checkpoints.
cp experiments/anbn.ini "$T/anbn.ini"
printf '\n[run]\ncheckpoint_every = 100\n[sweep]\ntrain.lr = 0.01\nseeds = 1-2\n' >>"$T/anbn.ini"
"$E" sweep "$T/anbn.ini" --out "$T/anbn-local" --jobs 2 --quiet >/dev/null 2>&1
"$E" sweep "$T/anbn.ini" --out "$T/anbn-slurm" --slurm --max-running 2 >"$T/sub.out" 2>&1
job=$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' "$T/sub.out")
i=0
while [ "$(ls "$T"/anbn-slurm/*/checkpoint.bin 2>/dev/null | wc -l)" -lt 2 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
[ -n "$job" ] && scancel "$job"
i=0
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
"$E" sweep "$T/anbn-slurm" --print-tasks >/dev/null 2>&1
partial=$(grep -c ',partial$' "$T/anbn-slurm/manifest.csv")
[ "$partial" -ge 1 ] && ok "cancelled Slurm job (job $job) left $partial points partial (checkpoint, no summary)" \
    || bad "cancel: $partial partial points: $(cat "$T/anbn-slurm/manifest.csv")"
timeout 240 "$E" sweep "$T/anbn-slurm" --slurm --wait >"$T/resub.out" 2>&1; rc=$?
[ $rc -eq 0 ] && ok "resubmitted sweep finished" || bad "resubmission: exit $rc, $(tail -n 3 "$T/resub.out")"
grep -q 'resuming from its checkpoint' "$T"/anbn-slurm/logs/slurm-*.log 2>/dev/null \
    && ok "the resubmitted tasks resumed from checkpoints ($(grep -h 'resuming' "$T"/anbn-slurm/logs/slurm-*.log | wc -l) points)" \
    || bad "no task resumed from a checkpoint"
same "$T/anbn-local" "$T/anbn-slurm" && ok "cancelled and resumed on Slurm: same bytes as an uninterrupted local sweep" \
    || bad "resumed Slurm sweep differs"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
