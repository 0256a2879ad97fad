#!/usr/bin/env bash
# Single-thread get, set and 100-key multi-get on 1 and 3 servers: mcring
# against libmemcached (C) and a raw-socket C client (the floor), in the same
# run. Servers and clients are pinned to one core (taskset -c 0) so the ratios
# show CPU cost rather than cross-core wake-ups. Each figure is the median of
# ROUNDS runs (default 3).
#
#   bench/kv.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS="${1:-3}"
OPS_SINGLE="${OPS_SINGLE:-100000}"
OPS_MULTI="${OPS_MULTI:-10000}"
WORK="$(mktemp -d)"
source scripts/memcached.sh
cleanup() {
  stop_memcacheds
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build -q --release -p mcring-bench --bin kv
cc -O2 -o "$WORK/floor" bench/c/kv_floor.c
cc -O2 -o "$WORK/libmemcached" bench/c/kv_libmemcached.c -lmemcached

MEMCACHED_WRAP="taskset -c 0" MEMCACHED_THREADS=1
SERVERS=()
for _ in 1 2 3; do
  start_memcached
  SERVERS+=("127.0.0.1:$STARTED_PORT")
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # client op ops servers...
  local client=$1 op=$2 ops=$3; shift 3
  for _ in $(seq "$ROUNDS"); do taskset -c 0 "$client" "$op" "$ops" "$@"; done | median
}

printf '%-6s %-8s %10s %10s %10s %8s %8s\n' op servers floor libmc mcring lm/floor mc/floor
for op in get set mget; do
  ops=$OPS_SINGLE; [[ $op == mget ]] && ops=$OPS_MULTI
  for n in 1 3; do
    set -- "${SERVERS[@]:0:$n}"
    floor=$(run "$WORK/floor" "$op" "$ops" "$@")
    lm=$(run "$WORK/libmemcached" "$op" "$ops" "$@")
    mc=$(run target/release/kv "$op" "$ops" "$@")
    awk -v op="$op" -v n="$n" -v f="$floor" -v l="$lm" -v m="$mc" \
      'BEGIN { printf "%-6s %-8s %10d %10d %10d %8.2f %8.2f\n", op, n, f, l, m, l/f, m/f }'
  done
done
echo "(ops/s, median of $ROUNDS runs; mget = 100 keys per call; all pinned to CPU 0)"
