#!/usr/bin/env bash
# Single-thread get, set and 100-key multi-get on 1 and 3 servers: mcring
# against libmemcached (C) and a raw-socket C client (the floor), in the same
# run. Servers and clients are pinned to one core (taskset -c 0; CPU=N picks
# another) so the ratios show CPU cost rather than cross-core wake-ups. Each
# figure is the median of ROUNDS runs (default 3).
#
# Then the same workloads over TLS (three memcached -Z servers, certificates
# made by tests/tls/make-pki.sh): mcring over TLS against mcring in
# plaintext; the cost of a new connection in plaintext, over TLS with session
# resumption and with a full handshake; and, in Python, mcring.Client with
# tls=true against pymemcache with an ssl.SSLContext (the one peer with TLS).
# TLS=0 skips that part, PLAIN=0 the first; the Python rows need maturin and
# pymemcache (the project's venv) and are skipped without them.
#
#   bench/kv.sh [ROUNDS]
#
# MCRING_BASE=PATH adds another build of target/release/kv (an earlier
# revision, copied aside) as a column of its own, run in turn with this one,
# and the ratio mcring/base: what a change costs, measured in one run
# (MCRING_BASELINE=PATH is the same).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS="${1:-3}"
MCRING_BASE="${MCRING_BASE:-${MCRING_BASELINE:-}}"
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

CPU="${CPU:-0}"
MEMCACHED_WRAP="taskset -c $CPU" MEMCACHED_THREADS=1
SERVERS=()
for _ in 1 2 3; do
  start_memcached
  SERVERS+=("127.0.0.1:$STARTED_PORT")
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # client op ops servers...
  local client=$1 op=$2 ops=$3; shift 3
  for _ in $(seq "$ROUNDS"); do taskset -c "$CPU" "$client" "$op" "$ops" "$@"; done | median
}
# Both builds round by round, so load that comes and goes hits both alike.
run_pair() { # op ops servers... -> "mcring base"
  local op=$1 ops=$2; shift 2
  for _ in $(seq "$ROUNDS"); do
    echo "$(taskset -c "$CPU" target/release/kv "$op" "$ops" "$@") $(taskset -c "$CPU" "$MCRING_BASE" "$op" "$ops" "$@")"
  done >"$WORK/pair"
  echo "$(cut -d' ' -f1 "$WORK/pair" | median) $(cut -d' ' -f2 "$WORK/pair" | median)"
}

if [[ "${PLAIN:-1}" == 1 ]]; then
  if [[ -n "${MCRING_BASE:-}" ]]; then
    printf '%-6s %-8s %10s %10s %10s %10s %8s %8s %8s\n' \
      op servers floor libmc mcring base lm/floor mc/floor mc/base
  else
    printf '%-6s %-8s %10s %10s %10s %8s %8s\n' op servers floor libmc mcring lm/floor mc/floor
  fi
fi
for op in get set mget; do
  [[ "${PLAIN:-1}" == 1 ]] || break
  ops=$OPS_SINGLE; [[ $op == mget ]] && ops=$OPS_MULTI
  for n in 1 3; do
    set -- "${SERVERS[@]:0:$n}"
    floor=$(run "$WORK/floor" "$op" "$ops" "$@")
    lm=$(run "$WORK/libmemcached" "$op" "$ops" "$@")
    if [[ -n "${MCRING_BASE:-}" ]]; then
      read -r mc base <<<"$(run_pair "$op" "$ops" "$@")"
      awk -v op="$op" -v n="$n" -v f="$floor" -v l="$lm" -v m="$mc" -v b="$base" \
        'BEGIN { printf "%-6s %-8s %10d %10d %10d %10d %8.2f %8.2f %8.3f\n", op, n, f, l, m, b, l/f, m/f, m/b }'
    else
      mc=$(run target/release/kv "$op" "$ops" "$@")
      awk -v op="$op" -v n="$n" -v f="$floor" -v l="$lm" -v m="$mc" \
        'BEGIN { printf "%-6s %-8s %10d %10d %10d %8.2f %8.2f\n", op, n, f, l, m, l/f, m/f }'
    fi
  done
done
if [[ "${PLAIN:-1}" == 1 ]]; then
  if [[ -n "${MCRING_BASE:-}" ]]; then
    printf '%-6s %-8s %10s %10s %10s %10s %8s %8s %8s\n' \
      op servers floor libmc mcring base lm/floor mc/floor mc/base
  else
    printf '%-6s %-8s %10s %10s %10s %8s %8s\n' op servers floor libmc mcring lm/floor mc/floor
  fi
fi

# Over TLS: three memcached -Z servers, the same client in plaintext and over
# TLS in one run, and the cost of a new connection (each call reconnects:
# a resumed session over TLS).
if [[ "${TLS:-1}" == 1 ]]; then
  bash tests/tls/make-pki.sh "$WORK/pki" >/dev/null
  CA="$WORK/pki/ca.pem"
  TLS_SERVERS=()
  MEMCACHED_EXTRA="-Z -o ssl_chain_cert=$WORK/pki/server.pem,ssl_key=$WORK/pki/server.key"
  for _ in 1 2 3; do
    start_memcached
    TLS_SERVERS+=("127.0.0.1:$STARTED_PORT")
  done
  MEMCACHED_EXTRA=
  printf '\n%-8s %-8s %10s %10s %9s\n' op servers plaintext tls tls/plain
  for spec in "get 1 $OPS_SINGLE" "set 1 $OPS_SINGLE" "mget 3 $OPS_MULTI" "connect 1 $((OPS_SINGLE / 20))"; do
    read -r op n ops <<<"$spec"
    plain=$(run target/release/kv "$op" "$ops" "${SERVERS[@]:0:$n}")
    tls=$(KV_MCRING_OPTIONS="tls=true tls_ca=$CA" run target/release/kv "$op" "$ops" "${TLS_SERVERS[@]:0:$n}")
    awk -v op="$op" -v n="$n" -v p="$plain" -v t="$tls" \
      'BEGIN { printf "%-8s %-8s %10d %10d %9.2f\n", op, n, p, t, t/p }'
  done
  # Python: mcring.Client against pymemcache with an ssl.SSLContext, when
  # the project's venv has both (bench/python/run.sh installs mcring there).
  if [[ -x .venv/bin/python ]] && .venv/bin/python -c 'import mcring, pymemcache' 2>/dev/null; then
    echo
    taskset -c "$CPU" .venv/bin/python bench/python/kv_tls.py --ca "$CA" "${TLS_SERVERS[@]}"
  else
    echo "(Python TLS rows skipped: the venv lacks mcring or pymemcache; run bench/python/run.sh first)"
  fi
fi
