#!/usr/bin/env bash
# What bench/kv.sh's mcring workloads cost in CPU instructions per
# operation, counted by callgrind in the client process (user space; the
# kernel's send/recv is not counted, so the per-op figures are smaller and
# their differences larger than in wall time). Counts do not depend on
# machine load, which makes them the figure for small changes on a busy
# machine; the wall-clock ratios stay bench/kv.sh's.
#
#   bench/kv_cost.sh                     this build (target/release/kv)
#   MCRING_BASE=PATH bench/kv_cost.sh    and another build, with the ratio
#
# Each figure is (Ir at N2 ops - Ir at N1 ops) / (N2 - N1), so the preload
# and start-up cancel out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N1="${N1:-2000}"
N2="${N2:-12000}"
WORK="$(mktemp -d)"
source scripts/memcached.sh
cleanup() {
  stop_memcacheds
  rm -rf "$WORK"
}
trap cleanup EXIT
command -v valgrind >/dev/null || { echo "kv_cost.sh: valgrind is needed" >&2; exit 2; }

cargo build -q --release -p mcring-bench --bin kv
MEMCACHED_THREADS=1
SERVERS=()
for _ in 1 2 3; do
  start_memcached
  SERVERS+=("127.0.0.1:$STARTED_PORT")
done

ir() { # client op ops servers... -> instructions
  local client=$1 op=$2 ops=$3; shift 3
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$client" "$op" "$ops" "$@" 2>&1 >/dev/null |
    awk '/Collected :/ { print $4 }'
}
per_op() { # client op servers...
  local client=$1 op=$2; shift 2
  local n1=$N1 n2=$N2
  [[ $op == mget ]] && n1=$((N1 / 10)) n2=$((N2 / 10))
  local a b
  a=$(ir "$client" "$op" "$n1" "$@")
  b=$(ir "$client" "$op" "$n2" "$@")
  echo $(((b - a) / (n2 - n1)))
}

if [[ -n "${MCRING_BASE:-}" ]]; then
  printf '%-6s %-8s %12s %12s %8s\n' op servers mcring base mc/base
else
  printf '%-6s %-8s %12s\n' op servers mcring
fi
for op in get set mget; do
  for n in 1 3; do
    set -- "${SERVERS[@]:0:$n}"
    mc=$(per_op target/release/kv "$op" "$@")
    if [[ -n "${MCRING_BASE:-}" ]]; then
      base=$(per_op "$MCRING_BASE" "$op" "$@")
      awk -v op="$op" -v n="$n" -v m="$mc" -v b="$base" \
        'BEGIN { printf "%-6s %-8s %12d %12d %8.3f\n", op, n, m, b, m/b }'
    else
      printf '%-6s %-8s %12d\n' "$op" "$n" "$mc"
    fi
  done
done
echo "(instructions per operation in the client, callgrind; mget = 100 keys per call)"
