#!/usr/bin/env bash
# The client's CPU cost of TLS, in instructions (callgrind), so it can be
# measured on a busy machine where wall-clock rates are noise: get, set and
# a 100-key multi-get in plaintext and over TLS, and a new connection in
# plaintext, over TLS with session resumption and with a full handshake.
# Each figure is (instructions of 2N calls - instructions of N calls) / N,
# so start-up and the first connection drop out. The server's own cost is
# not counted (bench/kv.sh shows the rates with both).
#
#   bench/tls_cpu.sh [N]      (default 2000; connections use N/10)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${1:-2000}"
WORK="$(mktemp -d)"
source scripts/memcached.sh
cleanup() {
  stop_memcacheds
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build -q --release -p mcring-bench --bin kv
bash tests/tls/make-pki.sh "$WORK/pki" >/dev/null
CA="$WORK/pki/ca.pem"
start_memcached
PLAIN="127.0.0.1:$STARTED_PORT"
MEMCACHED_EXTRA="-Z -o ssl_chain_cert=$WORK/pki/server.pem,ssl_key=$WORK/pki/server.key"
start_memcached
TLS="127.0.0.1:$STARTED_PORT tls=true tls_ca=$CA"
MEMCACHED_EXTRA=

instructions() { # op ops config...
  local out="$WORK/callgrind.out"
  # shellcheck disable=SC2086 # the config is several tokens
  valgrind --tool=callgrind --callgrind-out-file="$out" target/release/kv "$@" >/dev/null 2>&1
  awk '/^summary:/ { print $2 }' "$out"
}
per_call() { # op n config...
  local op=$1 n=$2; shift 2
  local one two
  one=$(instructions "$op" "$n" "$@")
  two=$(instructions "$op" $((2 * n)) "$@")
  echo $(((two - one) / n))
}

printf '%-8s %12s %12s %9s\n' op plain tls tls/plain
for op in get set mget; do
  n=$N; [[ $op == mget ]] && n=$((N / 10))
  # shellcheck disable=SC2086
  p=$(per_call "$op" "$n" $PLAIN)
  # shellcheck disable=SC2086
  t=$(per_call "$op" "$n" $TLS)
  awk -v op="$op" -v p="$p" -v t="$t" 'BEGIN { printf "%-8s %12d %12d %9.2f\n", op, p, t, t/p }'
done
echo "(mcring client, instructions per call; mget = 100 keys)"

echo
c=$((N / 10))
# shellcheck disable=SC2086
get_p=$(per_call get "$N" $PLAIN)
# shellcheck disable=SC2086
get_t=$(per_call get "$N" $TLS)
# shellcheck disable=SC2086
conn_p=$(per_call connect "$c" $PLAIN)
# shellcheck disable=SC2086
conn_r=$(per_call connect "$c" $TLS)
# shellcheck disable=SC2086
conn_f=$(per_call connect "$c" $TLS tls_resumption=false)
printf '%-28s %14s\n' "new connection" "instructions"
printf '%-28s %14d\n' "plaintext" $((conn_p - get_p))
printf '%-28s %14d\n' "TLS, session resumed" $((conn_r - get_t))
printf '%-28s %14d\n' "TLS, full handshake" $((conn_f - get_t))
echo "(the client's instructions for one new connection, beyond the get it carries)"
