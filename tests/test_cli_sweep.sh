#!/bin/sh
# engram sweep, collect and compare's seed ranges: bad input gives one stderr line and
# exit 2; a grid point gives the same bytes as the equivalent engram run; random search
# draws reproducible values inside the ranges; re-running runs only what is missing;
# --print-tasks lines complete a sweep; collect writes the table and the figure; compare
# shards over seed ranges with the same bytes. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
E="$BUILD/engram"
T=$(mktemp -d /tmp/engram-sweep-XXXXXX)
passed=0; failed=0
. "$(dirname "$0")/cli_lib.sh" # ok, bad, expect
spec() { cp experiments/memory-capacity.ini "$T/$1.ini"; printf '\n[sweep]\n%b\n' "$2" >>"$T/$1.ini"; }

# --- bad input ---
expect 2 "sweep without a specification" -- "$E" sweep
printf '[run]\nexperiment = memory-capacity\n' >"$T/nosweep.ini"
expect 2 "specification without [sweep]" -- "$E" sweep "$T/nosweep.ini" --out "$T/x"
spec badopt 'reservoir.n = 10, 20\nsamplez = 3'
expect 2 "unknown [sweep] option" -- "$E" sweep "$T/badopt.ini" --out "$T/x"
grep -q 'badopt.ini:[0-9]*: unknown \[sweep\] option' "$T/err" && ok "message names file and line" || bad "message: $(cat "$T/err")"
spec badseeds 'reservoir.n = 10\nseeds = 5-2'
expect 2 "reversed seed range" -- "$E" sweep "$T/badseeds.ini" --out "$T/x"
spec dupseeds 'reservoir.n = 10\nseeds = 1,2,1'
expect 2 "seed listed twice" -- "$E" sweep "$T/dupseeds.ini" --out "$T/x"
spec badlog 'readout.ridge = loguniform(0, 1)\nsamples = 2'
expect 2 "loguniform with LO = 0" -- "$E" sweep "$T/badlog.ini" --out "$T/x"
spec nosamples 'readout.ridge = uniform(0.1, 1)'
expect 2 "random key without samples" -- "$E" sweep "$T/nosamples.ini" --out "$T/x"
spec badval 'reservoir.n = 10, -5'
expect 2 "out-of-range swept value refused before anything runs" -- "$E" sweep "$T/badval.ini" --out "$T/x"
spec badkey 'reservoir.nosuchkey = 1, 2'
expect 2 "unknown swept key" -- "$E" sweep "$T/badkey.ini" --out "$T/x"
[ ! -e "$T/x" ] && ok "nothing written for a refused sweep" || bad "refused sweep wrote $T/x"
expect 2 "--point on a specification file" -- "$E" sweep "$T/badval.ini" --point 0
expect 2 "bad --jobs" -- "$E" sweep "$T/badval.ini" --jobs 0
expect 2 "collect of a directory that is not a sweep" -- "$E" collect "$T"
expect 2 "compare with a reversed seed range" -- "$E" compare anbn --quick --rules bptt --seeds 3-1 --out "$T/x"
expect 2 "compare with a bad seed list" -- "$E" compare anbn --quick --rules bptt --seeds 1,x --out "$T/x"

# --- a grid sweep ---
spec grid 'reservoir.n = 10, 20\nseeds = 1,3\nquick = true'
"$E" sweep "$T/grid.ini" --out "$T/g" --jobs 2 >"$T/g.out" 2>"$T/g.err"; rc=$?
[ $rc -eq 0 ] && [ "$(sed 1d "$T/g/manifest.csv" | grep -c ',ok$')" -eq 4 ] && ok "grid sweep: 4 points ok" \
    || bad "grid sweep: exit $rc $(tail -n 2 "$T/g.err")"
[ "$(sed -n 1p "$T/g/manifest.csv")" = "point,dir,reservoir.n,seed,status" ] && [ "$(sed -n 4p "$T/g/manifest.csv")" = "2,20-seed1,20,1,ok" ] \
    && ok "manifest: point, dir, key, seed, status (grid-major, seeds inner)" || bad "manifest: $(cat "$T/g/manifest.csv")"
grep -q '^n = 20$' "$T/g/20-seed3/config.ini" && grep -q '^seed = 3$' "$T/g/20-seed3/config.ini" \
    && ok "a point's config.ini holds its value and seed" || bad "20-seed3 config"
! grep -q '^\[sweep\]' "$T/g/base.ini" && ok "base.ini is the specification without [sweep]" || bad "base.ini has [sweep]"
"$E" run experiments/memory-capacity.ini --quick --quiet --set reservoir.n=20 --seed 3 --threads 1 --out "$T/direct" >/dev/null 2>&1
same=1
for a in "$T/direct"/*.npy; do cmp -s "$a" "$T/g/20-seed3/$(basename "$a")" || same=0; done
[ $same -eq 1 ] && ok "point 20-seed3 has the same bytes as engram run --set reservoir.n=20 --seed 3" || bad "point differs from a direct run"
"$E" sweep "$T/grid.ini" --out "$T/g" >"$T/g2.out" 2>"$T/g2.err"
grep -q '4 points, 0 to run' "$T/g2.err" && ok "re-running a finished sweep runs nothing" || bad "re-run: $(cat "$T/g2.err")"
rm -rf "$T/g/10-seed3"; rm -f "$T/g/20-seed1/summary.json"
"$E" sweep "$T/g" >"$T/g3.out" 2>"$T/g3.err"
grep -q '4 points, 2 to run' "$T/g3.err" && [ -s "$T/g/10-seed3/summary.json" ] && [ -s "$T/g/20-seed1/summary.json" ] \
    && ok "engram sweep DIR re-runs only the missing and failed points" || bad "re-run DIR: $(cat "$T/g3.err")"
spec grid2 'reservoir.n = 10, 30\nseeds = 1,3\nquick = true'
expect 2 "a different sweep into the same directory" -- "$E" sweep "$T/grid2.ini" --out "$T/g"

# --- collect ---
"$E" collect "$T/g" >"$T/c.out" 2>&1; rc=$?
[ $rc -eq 0 ] && [ "$(head -n 1 "$T/g/collect.csv")" = "point,dir,reservoir.n,seed,status,memory_capacity,kmax,n_res,readout,wall_s" ] \
    && [ "$(wc -l <"$T/g/collect.csv")" -eq 5 ] && ok "collect.csv: keys, seed, status, final metrics, wall_s for 4 points" \
    || bad "collect: exit $rc $(cat "$T/c.out") $(head -n 1 "$T/g/collect.csv")"
mc=$(sed -n 's/.*"memory_capacity": \([^,]*\),.*/\1/p' "$T/g/20-seed3/summary.json")
grep -q "^3,20-seed3,20,3,ok,$mc," "$T/g/collect.csv" && ok "collect.csv row equals the point's summary.json ($mc)" || bad "collect row for 20-seed3"
head -c 8 "$T/g/collect.png" | od -An -c | grep -q 'P   N   G' && ok "collect.png is a PNG (memory_capacity vs reservoir.n)" || bad "no collect.png"
"$E" collect "$T/g" --metric n_res --key reservoir.n --out "$T/t.csv" --plot "$T/t.png" >/dev/null 2>&1 && [ -s "$T/t.png" ] && [ -s "$T/t.csv" ] \
    && ok "collect --metric --key --out --plot" || bad "collect with options"
expect 2 "collect --key that is not swept" -- "$E" collect "$T/g" --key reservoir.leak

# --- random search ---
spec rnd 'readout.ridge = loguniform(1e-10, 1e-4)\nreservoir.spectral_radius = uniform(0.5, 0.9)\ntask.kmax = randint(5, 9)\nsamples = 3\nsampler_seed = 7\nseeds = 1-2\nquick = true'
"$E" sweep "$T/rnd.ini" --out "$T/r1" --print-tasks >"$T/tasks" 2>"$T/err"
[ "$(wc -l <"$T/tasks")" -eq 6 ] && ok "--print-tasks: one line per point (6)" || bad "--print-tasks: $(cat "$T/tasks" "$T/err")"
sh "$T/tasks" >/dev/null 2>&1
"$E" sweep "$T/r1" >/dev/null 2>"$T/err"
grep -q '6 points, 0 to run' "$T/err" && ok "running the printed tasks completes the sweep" || bad "after tasks: $(cat "$T/err")"
awk -F, 'NR > 1 { if (!($3 >= 1e-10 && $3 <= 1e-4 && $4 >= 0.5 && $4 <= 0.9 && $5 >= 5 && $5 <= 9 && $5 == int($5))) bad = 1 }
         END { exit bad }' "$T/r1/manifest.csv" && ok "random values inside their ranges, randint integral" || bad "random values: $(cat "$T/r1/manifest.csv")"
[ "$(cut -d, -f3-5 "$T/r1/manifest.csv" | sed 1d | sort -u | wc -l)" -eq 3 ] && ok "3 samples, each shared by its 2 seeds" || bad "samples: $(cat "$T/r1/manifest.csv")"
"$E" sweep "$T/rnd.ini" --out "$T/r2" --print-tasks >/dev/null 2>&1
cut -d, -f1-6 "$T/r1/manifest.csv" >"$T/m1"; cut -d, -f1-6 "$T/r2/manifest.csv" >"$T/m2"
cmp -s "$T/m1" "$T/m2" && ok "the same sampler_seed draws the same values" || bad "sampler not reproducible"
sed 's/sampler_seed = 7/sampler_seed = 8/' "$T/rnd.ini" >"$T/rnd8.ini"
"$E" sweep "$T/rnd8.ini" --out "$T/r3" --print-tasks >/dev/null 2>&1
cut -d, -f1-6 "$T/r3/manifest.csv" >"$T/m3"
! cmp -s "$T/m1" "$T/m3" && ok "another sampler_seed draws other values" || bad "sampler ignores its seed"

# --- Slurm without Slurm, and the default thread count ---
expect 1 "--slurm where sbatch is missing" -- env PATH=/nonexistent "$E" sweep "$T/g" --slurm --force --quiet
th() { sed -n 's/.*"threads": \([0-9]*\).*/\1/p' "$T/th/summary.json"; }
env -u OMP_NUM_THREADS SLURM_CPUS_PER_TASK=1 "$E" run mackey-glass --quick --quiet --force --out "$T/th" >/dev/null 2>&1
a=$(th)
env OMP_NUM_THREADS=2 SLURM_CPUS_PER_TASK=1 "$E" run mackey-glass --quick --quiet --force --out "$T/th" >/dev/null 2>&1
b=$(th)
[ "$a" = 1 ] && [ "$b" = 2 ] && ok "default threads: SLURM_CPUS_PER_TASK=1 gives 1, OMP_NUM_THREADS=2 takes precedence" \
    || bad "default threads: $a with SLURM_CPUS_PER_TASK=1, $b with OMP_NUM_THREADS=2"

# --- compare over seed ranges ---
"$E" compare anbn --quick --quiet --rules bptt,fa --seeds 11-12 --out "$T/cmp1" >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && [ "$(cut -d, -f1-2 "$T/cmp1/comparison.csv" | tr '\n' ' ')" = "rule,seed bptt,11 bptt,12 fa,11 fa,12 " ] \
    && ok "compare --seeds 11-12: rows for seeds 11 and 12" || bad "compare 11-12: exit $rc $(cat "$T/cmp1/comparison.csv")"
"$E" compare anbn --quick --quiet --rules bptt --seeds 1,3,5 --out "$T/cmp2" >/dev/null 2>&1
[ "$(cut -d, -f2 "$T/cmp2/comparison.csv" | sed 1d | tr '\n' ' ')" = "1 3 5 " ] && ok "compare --seeds 1,3,5" || bad "compare 1,3,5: $(cat "$T/cmp2/comparison.csv")"
"$E" compare anbn --quick --quiet --rules bptt --seeds 2 --out "$T/cmp3" >/dev/null 2>&1
[ "$(cut -d, -f2 "$T/cmp3/comparison.csv" | sed 1d | tr '\n' ' ')" = "1 2 " ] && ok "compare --seeds 2 still means seeds 1..2" || bad "compare --seeds 2"
same=1
"$E" run anbn --quick --quiet --seed 3 --threads 1 --out "$T/anbn3" >/dev/null 2>&1
for a in "$T/anbn3"/*.npy; do cmp -s "$a" "$T/cmp2/bptt-seed3/$(basename "$a")" || same=0; done
[ $same -eq 1 ] && ok "a shard's run (bptt seed 3 of --seeds 1,3,5) equals engram run anbn --seed 3" || bad "shard run differs"
rm "$T/cmp2/comparison.csv" "$T/cmp2/bptt-seed5/summary.json"
"$E" compare anbn --quick --rules bptt --seeds 1,3,5 --out "$T/cmp2" >/dev/null 2>"$T/err"
grep -q '\[1/1\] point 2 bptt-seed5' "$T/err" && ok "an interrupted compare run again runs only its missing run" || bad "compare resume: $(cat "$T/err")"
rm "$T/cmp2/comparison.csv"
"$E" compare anbn --quick --rules bptt --seeds 1,3,5 --set train.lr=0.02 --out "$T/cmp2" >/dev/null 2>"$T/err"
grep -q '\[3/3\]' "$T/err" && grep -q '^lr = 0.02$' "$T/cmp2/bptt-seed1/config.ini" \
    && ok "a compare with other settings in the same directory runs every run again" || bad "compare rerun: $(cat "$T/err")"
"$E" collect "$T/cmp2" >/dev/null 2>&1 && grep -q '^1,bptt-seed3,bptt,3,ok,' "$T/cmp2/collect.csv" \
    && ok "a compare directory is a sweep: engram collect reads it" || bad "collect of a compare dir"

rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
