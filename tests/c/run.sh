#!/usr/bin/env bash
# Runs the C tests of libmcring against an installed copy of it, with real
# memcached processes on free 127.0.0.1 ports (stopped by pid at the end).
#
#   tests/c/run.sh PREFIX    # libmcring installed in PREFIX, e.g. by
#                            # PREFIX=... scripts/install-libmcring.sh
#
# Every test program is compiled with the system cc against the installed
# header and library, `cc prog.c $(pkg-config --cflags --libs mcring)`, and
# run; then the whole suite runs again under valgrind (VALGRIND=0 skips that
# pass). One program is also linked statically against libmcring.a.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="$(cd "${1:?usage: tests/c/run.sh PREFIX}" && pwd)"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
# The prefix is not in the loader's cache.
export LD_LIBRARY_PATH="$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcring-c.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/memcached.sh"
cleanup() {
  stop_memcacheds
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n--> %s\n' "$*"; }
die() { echo "run.sh: $*" >&2; exit 1; }

say "servers"
start_memcached; port1=$STARTED_PORT
start_memcached; port2=$STARTED_PORT
start_memcached; stopped_port=$STARTED_PORT; kill -STOP "$STARTED_PID"
closed_port="$(free_port)"
export MCRING_TEST_SERVERS="127.0.0.1:$port1 127.0.0.1:$port2"
export MCRING_TEST_STOPPED="127.0.0.1:$stopped_port"
export MCRING_TEST_CLOSED="127.0.0.1:$closed_port"
echo "memcached on $port1 and $port2; stopped (SIGSTOP) on $stopped_port; closed port $closed_port"

# TLS (-Z) with a login (-Y), and TLS with a certificate of another CA.
bash "$HERE/../tls/make-pki.sh" "$WORK/pki"
export MCRING_TEST_PKI="$WORK/pki" MCRING_TEST_SECRET="c-secret-7Hq2"
printf 'app:%s\n' "$MCRING_TEST_SECRET" >"$WORK/authfile"
MEMCACHED_EXTRA="-Z -o ssl_chain_cert=$WORK/pki/server.pem,ssl_key=$WORK/pki/server.key -Y $WORK/authfile"
start_memcached; export MCRING_TEST_TLS_AUTH="127.0.0.1:$STARTED_PORT"
MEMCACHED_EXTRA="-Z -o ssl_chain_cert=$WORK/pki/server-other-ca.pem,ssl_key=$WORK/pki/server-other-ca.key"
start_memcached; export MCRING_TEST_TLS_OTHER="127.0.0.1:$STARTED_PORT"
MEMCACHED_EXTRA="-Z -o ssl_chain_cert=$WORK/pki/server-expired.pem,ssl_key=$WORK/pki/server-expired.key"
start_memcached; export MCRING_TEST_TLS_EXPIRED="127.0.0.1:$STARTED_PORT"
MEMCACHED_EXTRA="-Z -o ssl_chain_cert=$WORK/pki/server.pem,ssl_key=$WORK/pki/server.key"
MEMCACHED_EXTRA+=",ssl_ca_cert=$WORK/pki/ca.pem,ssl_verify_mode=2"
start_memcached; export MCRING_TEST_TLS_CLIENT_CERT="127.0.0.1:$STARTED_PORT"
MEMCACHED_EXTRA=
echo "TLS with a login on $MCRING_TEST_TLS_AUTH; TLS with another CA's certificate on" \
  "$MCRING_TEST_TLS_OTHER, an expired one on $MCRING_TEST_TLS_EXPIRED; client certificates" \
  "required on $MCRING_TEST_TLS_CLIENT_CERT"

say "exports and header agree"
header="$PREFIX/include/libmcring.h"
declared="$(grep -oE '\bmcring_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u)"
exported="$(nm -D --defined-only "$PREFIX/lib/libmcring.so" | awk '$2 == "T" { print $3 }' | sort -u)"
[[ "$declared" == "$exported" ]] || {
  diff <(echo "$declared") <(echo "$exported") >&2 || true
  die "functions declared in libmcring.h differ from those libmcring.so exports"
}
untested=()
for fn in $declared; do
  grep -qw "$fn" "$HERE"/*.c || untested+=("$fn")
done
((${#untested[@]} == 0)) || die "functions no C test calls: ${untested[*]}"
echo "$(wc -w <<<"$declared") functions, all exported, all called by a test"

say "build"
CFLAGS=(-std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -g -O1 -pthread)
read -ra MCRING <<<"$(pkg-config --cflags --libs mcring)"
read -ra MEMCACHED_LIB <<<"$(pkg-config --cflags --libs libmemcached)"
TESTS=(test_commands test_errors test_multi test_by_key test_threads test_fork test_shared_health test_metrics test_placement
  test_lease test_tls test_membership)
for t in "${TESTS[@]}"; do
  extra=()
  [[ "$t" == test_placement || "$t" == test_membership ]] && extra=("${MEMCACHED_LIB[@]}")
  cc "${CFLAGS[@]}" -o "$WORK/$t" "$HERE/$t.c" "${MCRING[@]}" "${extra[@]}"
done
# The same program linked statically: libmcring.a plus what it needs.
read -ra STATIC_LIBS <<<"$(pkg-config --static --libs-only-l mcring | sed 's/-lmcring//')"
cc "${CFLAGS[@]}" -I"$PREFIX/include" -o "$WORK/test_commands_static" "$HERE/test_commands.c" \
  "$PREFIX/lib/libmcring.a" "${STATIC_LIBS[@]}"
if readelf -d "$WORK/test_commands_static" | grep -q 'libmcring'; then
  die "test_commands_static links libmcring.so"
fi
echo "built ${TESTS[*]} test_commands_static"

passed=0
failed=0
run() { # name, command...
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name" >&2
  fi
}

say "run"
for t in "${TESTS[@]}" test_commands_static; do
  run "$t" "$WORK/$t"
done

if [[ "${VALGRIND:-1}" != 0 ]]; then
  say "run under valgrind"
  # The placement comparison is exhaustive above; a sample is enough here.
  export MCRING_TEST_KEYS=200
  for t in "${TESTS[@]}"; do
    run "valgrind $t" valgrind --quiet --leak-check=full --suppressions="$HERE/valgrind.supp" \
      --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
      "$WORK/$t"
  done
fi

echo
echo "C tests: $passed passed, $failed failed"
((failed == 0))
