#!/usr/bin/env bash
# Memory: RSS of a client process over 10 million mixed operations (others:
# 1 million), mcring (C, engine, Python) against libmemcached and pylibmc.
# See bench/scale/memory.py.
#
#   bench/memory.sh [--ops 10000000] [--short-ops 1000000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/scale/memory.py "$@"
