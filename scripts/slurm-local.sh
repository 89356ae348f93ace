#!/bin/sh
# A single-node Slurm cluster on localhost, in a temporary directory, for tests and CI.
#
#   scripts/slurm-local.sh start DIR   write DIR/slurm.conf and a munge key, start munged,
#                                      slurmctld and slurmd, wait until the node is idle
#   scripts/slurm-local.sh stop DIR    stop each daemon by the PID recorded in DIR
#
# Then point the Slurm commands at it: export SLURM_CONF=DIR/slurm.conf.
# It installs nothing: slurm-wlm and munge come from Debian (scripts/install-deps.sh --slurm).
# Ports: SLURM_LOCAL_PORT (slurmctld, default 6817) and the next one (slurmd).
# The daemons run as the calling user (root in CI): SlurmUser is that user.
set -eu

cmd=${1:-}; dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

stop() {
    for d in slurmd slurmctld munged; do
        f="$dir/$d.pid"
        [ -s "$f" ] || continue
        pid=$(cat "$f")
        if kill "$pid" 2>/dev/null; then
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
            echo "slurm-local: stopped $d (pid $pid)"
        fi
        rm -f "$f"
    done
}

if [ "$cmd" = stop ]; then
    stop
    exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

for p in munged slurmctld slurmd sinfo; do
    command -v "$p" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
    command -v "$p" >/dev/null 2>&1 || { echo "slurm-local: $p not found (install slurm-wlm and munge)" >&2; exit 1; }
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 700 "$dir/munge"
port=${SLURM_LOCAL_PORT:-6817}
user=$(id -un)
cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)

# munge: a fresh key and a private socket.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$dir/munge/munge.key"
munged --foreground --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid.file" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" >"$dir/log/munged.out" 2>&1 &
echo $! >"$dir/munged.pid"

cat >"$dir/slurm.conf" <<EOF
ClusterName=engram-local
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid.file
SlurmdPidFile=$dir/slurmd.pid.file
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"

i=0
while [ ! -S "$dir/munge/munge.socket" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$dir/munge/munge.socket" ] || { echo "slurm-local: munged did not start: $(tail -n 3 "$dir/log/munged.log" "$dir/log/munged.out" 2>/dev/null)" >&2; stop; exit 1; }

slurmctld -D -i -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
echo $! >"$dir/slurmctld.pid"
slurmd -D -N localhost -f "$SLURM_CONF" >"$dir/log/slurmd.out" 2>&1 &
echo $! >"$dir/slurmd.pid"

# Wait (up to 60 s) for the node to be idle.
i=0
state=
while [ $i -lt 120 ]; do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.5; i=$((i + 1))
done
if [ "$state" != idle ]; then
    echo "slurm-local: the node is not idle after 60 s (state '$state'); last log lines:" >&2
    tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" "$dir/log/slurmctld.out" "$dir/log/slurmd.out" >&2 2>/dev/null || true
    stop
    exit 1
fi
echo "slurm-local: cluster up in $dir ($cpus CPUs, $mem_mb MB); export SLURM_CONF=$SLURM_CONF"
