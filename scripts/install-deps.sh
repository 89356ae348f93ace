#!/bin/sh
# Installs engram's build dependencies on Debian 12 (as root, or through sudo).
# Optional references for `make bench`: pass --bench to also install NumPy and PyTorch.
set -e
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
PKGS="build-essential pkg-config libgsl-dev libpng-dev libinih-dev libopenblas-dev libarpack2-dev"
if [ "$1" = "--bench" ]; then PKGS="$PKGS python3-numpy python3-torch python3-scipy python3-joblib python3-dill python3-tqdm"; fi
missing=
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q $missing
fi
