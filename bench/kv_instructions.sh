#!/usr/bin/env bash
# CPU cost per operation of the key-value benchmark's mcring client
# (bench/src/kv.rs), counted in instructions by callgrind: the same for the
# same binary and inputs whatever else the machine does, so two revisions
# compare on a busy machine where ops/s do not. Per operation = (count at
# 2N ops - count at N ops) / N, so startup and the preload cancel out.
#
#   bench/kv_instructions.sh [BASELINE_KV]   BASELINE_KV: a kv binary built
#                                            from another revision
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BASE="${1:-}"
source scripts/memcached.sh
trap stop_memcacheds EXIT
cargo build -q --release -p mcring-bench --bin kv
SERVERS=()
for _ in 1 2 3; do
  start_memcached
  SERVERS+=("127.0.0.1:$STARTED_PORT")
done

instructions() { # binary op ops servers...
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    awk '/Collected :/ { print $NF }'
}
per_op() { # binary op n servers...
  local bin=$1 op=$2 n=$3; shift 3
  local one two
  one=$(instructions "$bin" "$op" "$n" "$@")
  two=$(instructions "$bin" "$op" $((2 * n)) "$@")
  echo $(((two - one) / n))
}

printf '%-6s %-8s %12s' op servers mcring
[[ -n $BASE ]] && printf ' %12s %8s' base mc/base
printf '\n'
for op in get set mget; do
  n=4000; [[ $op == mget ]] && n=400
  for count in 1 3; do
    set -- "${SERVERS[@]:0:$count}"
    mc=$(per_op target/release/kv "$op" "$n" "$@")
    printf '%-6s %-8s %12d' "$op" "$count" "$mc"
    if [[ -n $BASE ]]; then
      base=$(per_op "$BASE" "$op" "$n" "$@")
      awk -v m="$mc" -v b="$base" 'BEGIN { printf " %12d %8.3f", b, m / b }'
    fi
    printf '\n'
  done
done
echo "(instructions per operation in the client process; mget = 100 keys per call)"
