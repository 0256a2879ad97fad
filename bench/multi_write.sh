#!/usr/bin/env bash
# set_multi / delete_multi of 1,000 keys over 1, 3 and 10 servers: mcring
# (engine, C, Python, PHP) against libmemcached's buffered writes, pylibmc,
# php-memcached and the floor (with and without noreply), calls/s.
# See bench/scale/multi_write.py.
#
#   bench/multi_write.sh [--rounds N] [--servers 1,3,10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/scale/multi_write.py "$@"
