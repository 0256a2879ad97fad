#!/usr/bin/env bash
# Memory: RSS of a client process over 10 million mixed operations (an
# operation is one key read, written or deleted; multi-key calls carry 100),
# mcring (C, engine, Python) against libmemcached and pylibmc (1 million).
# See bench/scale/memory.py.
#
#   bench/memory.sh [--ops 10000000] [--short-ops 1000000] [--multi 100]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/scale/memory.py "$@"
