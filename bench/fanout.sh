#!/usr/bin/env bash
# Fan-out width: a 1,000-key multi-get over 10, 50 and 200 servers; mcring
# (engine, libmcring, Python) against libmemcached, pylibmc and the floor,
# calls/s and p50/p99 latency; at the widest width also the engine with
# fanout_window=N (100 and 20 by default). See bench/scale/fanout.py.
#
#   bench/fanout.sh [--rounds N] [--widths 10,50,200] [--windows 100,20]
#                   [--clients floor,libmemcached,engine,libmcring,py-mcring,py-pylibmc]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/scale/fanout.py "$@"
