#!/usr/bin/env bash
# Threads: 1, 2, 8, 32 threads sharing one client (C and Python)
# against libmemcached (one handle per thread), pylibmc ThreadMappedPool and the floor,
# ops/s and connections opened. See bench/scale/threads.py.
#
#   bench/threads.sh [--rounds N] [--threads 1,2,8,32] [--modes pinned,free]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/scale/threads.py "$@"
