#!/usr/bin/env bash
# Builds the mcring PHP extension and runs its tests against real memcached
# processes on free 127.0.0.1 ports (stopped by pid at the end):
#
#   php-ext/run-tests.sh          everything
#   php-ext/run-tests.sh --phpt   the .phpt tests only (no PHP-FPM pool)
#
# 1. the release libmcring and the extension built as in a checkout
#    (phpize && ./configure && make) by php-ext/build.sh, in a copy under
#    target/php-ext/ so the source tree stays clean;
# 2. the extension built with --with-mcring=PREFIX against an installed
#    libmcring, and loaded;
# 3. the .phpt tests (make test, two at a time; tests that flush the
#    servers or count their connections run alone: --CONFLICTS-- all),
#    with php-memcached loaded beside mcring for the compatibility tests;
#    then again under valgrind;
# 4. real PHP-FPM pools driven with FastCGI requests (tests/fpm/): the
#    client's connections and health, the session handler, a server that
#    recovers from a blip with its keys, and a herd on one missing key.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BUILD="$ROOT/target/php-ext"
ONLY_PHPT=0
[[ "${1:-}" == "--phpt" ]] && ONLY_PHPT=1

say() { printf '\n--> %s\n' "$*"; }
die() { echo "run-tests.sh: $*" >&2; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/memcached.sh"
cleanup() {
  stop_memcacheds
}
trap cleanup EXIT

# The count on a run-tests.php summary line: "Tests $1 : N".
summary_count() {
  grep -oE "^Tests $1 +: +[0-9]+" "$2" | grep -oE '[0-9]+$' || echo 0
}

# Prints the summary of a run-tests.php output file ($1, exit status $2);
# fails (printing it all) unless tests passed and none failed, was skipped,
# borked, leaked or warned.
summary_ok() {
  sed -n '/^Number of tests/,/^=====*$/p' "$1"
  local bad=0 what
  (($2 == 0)) && (($(summary_count passed "$1") > 0)) || bad=1
  for what in failed skipped borked leaked warned; do
    (($(summary_count "$what" "$1") == 0)) || bad=1
  done
  ((bad == 0)) || { cat "$1" >&2; return 1; }
}

# Copies the extension's sources into $1/php-ext and runs phpize there.
prepare_copy() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -r "$HERE" "$dir/php-ext"
  (cd "$dir/php-ext" && phpize >phpize.out 2>&1 || { cat phpize.out; exit 1; })
}

say "arginfo is generated from the stub"
"$HERE/gen-arginfo.sh" --check

say "build as in a checkout: phpize && ./configure && make (php-ext/build.sh)"
EXT="$("$HERE/build.sh")"
CHECKOUT="$(cd "$(dirname "$EXT")/../.." && pwd)"
# (Output captured first: grep -q ending a pipe early would fail it under pipefail.)
modules="$(php -n -d "extension=$EXT" -m)"
grep -qx mcring <<<"$modules" || die "php -m does not list mcring"
echo "built $EXT"

say "build against an installed libmcring: ./configure --with-mcring=PREFIX"
PREFIX="$BUILD/prefix"
rm -rf "$PREFIX"
PREFIX="$PREFIX" "$ROOT/scripts/install-libmcring.sh" >/dev/null
INSTALLED="$BUILD/installed"
prepare_copy "$INSTALLED"
(cd "$INSTALLED/php-ext" && ./configure --with-mcring="$PREFIX" >configure.out 2>&1 ||
  { cat configure.out; exit 1; })
make -C "$INSTALLED/php-ext" -j2 >/dev/null
modules="$(php -n -d "extension=$INSTALLED/php-ext/modules/mcring.so" -m)"
grep -qx mcring <<<"$modules" || die "the extension built with --with-mcring=PREFIX does not load"
libraries="$(ldd "$INSTALLED/php-ext/modules/mcring.so")"
grep -q "$PREFIX/lib/libmcring.so" <<<"$libraries" ||
  die "the extension built with --with-mcring=PREFIX does not use PREFIX's libmcring"
echo "built and loaded against $PREFIX"

say "servers"
start_memcached; port1=$STARTED_PORT
start_memcached; port2=$STARTED_PORT
start_memcached; port3=$STARTED_PORT
start_memcached; stopped_port=$STARTED_PORT; kill -STOP "$STARTED_PID"
closed_port="$(free_port)"
export MCRING_TEST_SERVERS="127.0.0.1:$port1 127.0.0.1:$port2 127.0.0.1:$port3"
export MCRING_TEST_STOPPED="127.0.0.1:$stopped_port"
export MCRING_TEST_CLOSED="127.0.0.1:$closed_port"
# TLS (-Z) with a login (-Y), certificates from tests/tls/make-pki.sh.
PKI="$BUILD/pki"
bash "$ROOT/tests/tls/make-pki.sh" "$PKI"
export MCRING_TEST_PKI="$PKI" MCRING_TEST_SECRET="php-secret-3Kd8"
mkdir -p "$BUILD"
printf 'app:%s\n' "$MCRING_TEST_SECRET" >"$BUILD/authfile"
MEMCACHED_EXTRA="-Z -o ssl_chain_cert=$PKI/server.pem,ssl_key=$PKI/server.key -Y $BUILD/authfile"
start_memcached; export MCRING_TEST_TLS_AUTH="127.0.0.1:$STARTED_PORT"
MEMCACHED_EXTRA="-Z -o ssl_chain_cert=$PKI/server-expired.pem,ssl_key=$PKI/server-expired.key"
start_memcached; export MCRING_TEST_TLS_EXPIRED="127.0.0.1:$STARTED_PORT"
MEMCACHED_EXTRA="-Z -o ssl_chain_cert=$PKI/server.pem,ssl_key=$PKI/server.key"
MEMCACHED_EXTRA+=",ssl_ca_cert=$PKI/ca.pem,ssl_verify_mode=2"
start_memcached; export MCRING_TEST_TLS_CLIENT_CERT="127.0.0.1:$STARTED_PORT"
MEMCACHED_EXTRA=
export MEMCACHED
# The extension, for tests that start PHP processes of their own (compat
# mode, without php-memcached).
export MCRING_TEST_EXTENSION="$EXT"
# ... and where PHP's own extensions (php-memcached, igbinary, msgpack) are.
export MCRING_TEST_EXTENSION_DIR="$(php-config --extension-dir)"
echo "memcached on $port1, $port2 and $port3; stopped (SIGSTOP) on $stopped_port; closed port $closed_port"

say ".phpt tests (make test)"
# php-memcached (and the serializers it was built with) beside mcring, for
# the tests that compare the two; `make test` adds mcring itself. Its
# serializer is PHP's serialize(), as Debian's memcached.ini sets it (and
# McRing\Memcached's default); built-in it would be igbinary.
EXT_DIR="$(php-config --extension-dir)"
PEERS="-d extension=$EXT_DIR/igbinary.so -d extension=$EXT_DIR/msgpack.so -d extension=$EXT_DIR/memcached.so -d memcached.serializer=php"
out="$BUILD/phpt.out"
set +e
make -C "$CHECKOUT/php-ext" test NO_INTERACTION=1 \
  TEST_PHP_ARGS="-q -j2 --show-diff $PEERS" >"$out" 2>&1
status=$?
set -e
summary_ok "$out" $status || die ".phpt tests failed or were skipped (full output above)"

if [[ "${VALGRIND:-1}" != 0 ]]; then
  say ".phpt tests again under valgrind (VALGRIND=0 skips this)"
  out="$BUILD/phpt-valgrind.out"
  set +e
  # (Processes a test starts, memcached servers and the compat test's PHP
  # processes, are not checked: the extension's code they run is checked
  # in the test processes themselves.)
  VALGRIND_OPTS="--suppressions=$HERE/tests/valgrind.supp --trace-children-skip=*memcached,*/php*" make -C "$CHECKOUT/php-ext" test \
    NO_INTERACTION=1 TEST_PHP_ARGS="-q -j2 -m --show-diff $PEERS" >"$out" 2>&1
  status=$?
  set -e
  if ! summary_ok "$out" $status; then
    cat "$CHECKOUT"/php-ext/tests/*.mem >&2 2>/dev/null || true
    die ".phpt tests under valgrind failed or leaked (full output above)"
  fi
fi

if ((ONLY_PHPT == 0)); then
  say "PHP-FPM pool driven with FastCGI requests"
  # The exporter reads the pool's shared metrics in the last part.
  cargo build -q --release --manifest-path "$ROOT/Cargo.toml" -p mcring-cli
  MCRING_BIN="$ROOT/target/release/mcring" php -n "$HERE/tests/fpm/pool_test.php" "$EXT"
  say "PHP-FPM sessions: locking, replicas, php-memcached's handler beside mcring's"
  php -n "$HERE/tests/fpm/session_test.php" "$EXT"
  say "PHP-FPM: a 0.4 s SIGSTOP of one server (shared health On) leaves it all its keys"
  php -n "$HERE/tests/fpm/recovery_test.php" "$EXT"
  say "PHP-FPM: a herd of 8 workers on one missing key computes once (leases), a dead winner is replaced"
  php -n "$HERE/tests/fpm/herd_test.php" "$EXT"
fi

echo
echo "PHP extension tests passed"
