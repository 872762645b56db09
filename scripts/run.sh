#!/usr/bin/env bash
# Quick start: install dependencies, build, and run berthd in the foreground
# with the default configuration (/etc/berth/daemon.json if present, socket
# /run/berth.sock). Extra arguments go to berthd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
echo "berthd: export DOCKER_HOST=unix:///run/berth.sock to use it with docker"
exec build/berthd "$@"
