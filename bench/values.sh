#!/usr/bin/env bash
# Value size: get and set of 10 KB, 100 KB and 1 MB values, raw and compressed,
# mcring (engine, C, Python, PHP) against libmemcached, pylibmc, php-memcached
# and the floor, bytes/s. See bench/scale/values.py.
#
#   bench/values.sh [--rounds N] [--sizes 10240,102400,1048576]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/scale/values.py "$@"
