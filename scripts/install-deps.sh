#!/bin/sh
# Installs engram's build dependencies on Debian 12 (as root, or through sudo).
# NumPy is for python/engram.py and its test. Optional: --bench adds PyTorch (references
# for `make bench`); --slurm adds Slurm, munge and GNU parallel (`make test-slurm`).
set -e
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
PKGS="build-essential pkg-config libgsl-dev libpng-dev libinih-dev libopenblas-dev libcairo2-dev fonts-dejavu-core libarpack2-dev python3-numpy"
for a in "$@"; do
    case $a in
        --bench) PKGS="$PKGS python3-torch python3-scipy python3-joblib python3-dill python3-tqdm" ;;
        --slurm) PKGS="$PKGS slurm-wlm munge parallel" ;;
        *) echo "usage: $0 [--bench] [--slurm]" >&2; exit 2 ;;
    esac
done
missing=
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q $missing
fi
