#!/usr/bin/env bash
# Where a request's time goes, for the known gaps (get on 1 and 3 servers,
# 100-key multi-get on 1 and 3 servers): per client, ops/s, CPU time per
# operation (client user/system, server), syscalls and instructions per
# operation. See bench/scale/profile.py.
#
#   bench/profile.sh [--ops 100000] [--workloads get1,get3,mget1,mget3] [--clients floor,engine,...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/scale/profile.py "$@"
